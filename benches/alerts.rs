//! Monitoring webhooks: how many events a second the listener accepts durably (each `202` after
//! its event is committed with `synchronous=FULL`), and the time from an alert's POST to its
//! page DM leaving the outbox — the real bot in this process, its HTTP listener, the fake
//! Discord of the test suite.
//!
//! `cargo bench --bench alerts` (optionally `-- 4000 30`: events in the burst, then alerts for
//! the latency run; defaults 2000 and 30).
//!
//! The burst: 100 sources (the limit is 50 events a second per source), 16 connections, Events
//! API v2 triggers with distinct keys, so every one opens an incident afterwards. The latency
//! run: one Alertmanager notification a second (so Discord's per-channel pacing never holds a
//! page back), each a new group.

#[allow(dead_code)]
#[path = "../tests/e2e/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use support::*;

fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i].as_secs_f64() * 1e3
}

const SOURCES: usize = 100;
const CONNECTIONS: usize = 16;

fn main() {
    let mut args = std::env::args().skip(1).filter_map(|a| a.parse::<usize>().ok());
    let burst = args.next().unwrap_or(2000);
    let n = args.next().unwrap_or(30);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let mut desk = TestDesk::start_with_http().await;
        let admin = ada();
        let oncall = User::member(1_000_000_000_000_000_011, "una");
        desk.setup_basics(&admin).await;
        desk.cmd_in(
            GUILD,
            &admin,
            "oncall",
            Some("add"),
            &[int("level", 1), u("user", oncall.id)],
            std::slice::from_ref(&oncall),
        )
        .await;
        let token_of = |reply: &serde_json::Value| text(reply).split("```").nth(1).unwrap().trim().to_owned();
        let mut tokens = Vec::new();
        for i in 0..SOURCES {
            let kind = if i == 0 { "alertmanager" } else { "events" };
            let opts = [s("name", &format!("src-{i}")), s("kind", kind)];
            tokens.push(token_of(&desk.cmd(&admin, "alerts", Some("source-add"), &opts).await));
        }
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let base = desk.http_base();

        // Latency: one alert a second, POST → 202, POST → page DM delivered.
        let am = tokens[0].clone();
        let sample: serde_json::Value =
            serde_json::from_str(include_str!("../tests/e2e/samples/alertmanager.json")).unwrap();
        let dm = format!("/channels/{}/messages", dm_channel(oncall.id));
        let (mut accepted, mut paged) = (Vec::new(), Vec::new());
        for i in 0..n {
            let mut body = sample.clone();
            let title = format!("Probe failure {i}");
            body["groupKey"] = json!(format!("{{}}:{{alertname=\"Probe{i}\"}}"));
            body["commonAnnotations"]["summary"] = json!(title);
            let sent = Instant::now();
            let r = client
                .post(format!("{base}/hooks/alertmanager"))
                .bearer_auth(&am)
                .header("content-type", "application/json")
                .body(body.to_string())
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 202);
            accepted.push(sent.elapsed());
            let at = desk
                .fake
                .wait_for(WAIT, "the page", |rs| {
                    rs.iter()
                        .find(|r| r.path == dm && r.status == 200 && text(&r.body).contains(&title))
                        .map(|r| r.at)
                })
                .await;
            paged.push(at - sent);
            tokio::time::sleep_until((sent + Duration::from_secs(1)).into()).await;
        }

        // Throughput: the burst, spread over the sources, through CONNECTIONS at a time.
        let work: Vec<(String, String)> = (0..burst)
            .map(|i| {
                let token = tokens[1 + i % (SOURCES - 1)].clone();
                let body = json!({
                    "routing_key": token, "event_action": "trigger", "dedup_key": format!("key-{i}"),
                    "payload": { "summary": format!("Event {i}"), "source": "bench", "severity": "warning" },
                });
                (token, body.to_string())
            })
            .collect();
        let work = Arc::new(tokio::sync::Mutex::new(work));
        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..CONNECTIONS {
            let (work, client, url) = (work.clone(), client.clone(), format!("{base}/v2/enqueue"));
            tasks.spawn(async move {
                let mut statuses = Vec::new();
                loop {
                    let Some((_, body)) = work.lock().await.pop() else { break };
                    let r = client
                        .post(&url)
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await
                        .unwrap();
                    statuses.push(r.status().as_u16());
                }
                statuses
            });
        }
        let mut statuses = Vec::new();
        while let Some(done) = tasks.join_next().await {
            statuses.extend(done.unwrap());
        }
        let took = started.elapsed();
        let ok = statuses.iter().filter(|s| **s == 202).count();
        let applied_from = Instant::now();
        let db = desk.db().await;
        eventually(Duration::from_secs(600), "the burst to be applied", || {
            let db = db.clone();
            async move {
                let n: i64 = sqlx::query_scalar("SELECT count(*) FROM alert_events WHERE processed_at IS NULL")
                    .fetch_one(&db)
                    .await
                    .unwrap();
                n == 0
            }
        })
        .await;
        let applied = took + applied_from.elapsed();

        println!(
            "monitoring webhooks ({} cores)",
            std::thread::available_parallelism().map_or(0, |c| c.get())
        );
        println!(
            "  burst of {burst} Events v2 triggers over {SOURCES} sources, {CONNECTIONS} connections: {ok} answered 202 in {:.2} s = {:.0} events/s accepted durably; all applied (incidents opened, pages queued) after {:.2} s",
            took.as_secs_f64(),
            ok as f64 / took.as_secs_f64(),
            applied.as_secs_f64()
        );
        println!("  latency over {n} alerts (one a second):");
        for (what, v) in [("POST answered 202", &mut accepted), ("page DM delivered", &mut paged)] {
            println!(
                "    {what:<20} p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms",
                pct(v, 0.5),
                pct(v, 0.99),
                pct(v, 1.0)
            );
        }
        assert_eq!(ok, burst, "every event of the burst accepted: {statuses:?}");
    });
}
