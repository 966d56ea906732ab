//! Time from an `/incident new` interaction to its page leaving the outbox, measured against the
//! fake Discord of the test suite (the real bot, serenity included, in this process).
//!
//! One incident per second (so Discord's per-channel pacing never holds a page back), `N` of
//! them; for each, the times from the INTERACTION_CREATE being written to the fake seeing
//! (a) the interaction callback, (b) the DM to the paged engineer, (c) the card in the incidents
//! channel that mentions them.
//!
//! `cargo bench --bench paging` (optionally `-- 60` for 60 incidents; default 40).

#[allow(dead_code)]
#[path = "../tests/e2e/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use support::*;

fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i].as_secs_f64() * 1e3
}

fn main() {
    let n: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(40);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let desk = TestDesk::start().await;
        let admin = User::admin(1_000_000_000_000_000_001, "ada");
        let oncall = User::member(1_000_000_000_000_000_011, "una");
        let reporter = User::member(1_000_000_000_000_000_002, "rex");
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
        let dm = format!("/channels/{}/messages", dm_channel(oncall.id));
        let incidents = format!("/channels/{INCIDENTS}/messages");
        let (mut reply, mut page, mut card) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..n {
            let id = desk.fake.snowflake();
            let payload = slash(
                id,
                GUILD,
                &reporter,
                "incident",
                Some("new"),
                &[
                    s("title", &format!("Outage {i}")),
                    s("impact", "high"),
                    s("urgency", "high"),
                ],
                &[],
            );
            desk.check_registered(&payload);
            let sent = Instant::now();
            desk.fake.dispatch("INTERACTION_CREATE", payload);
            let callback = format!("/interactions/{id}/token-{id}/callback");
            let title = format!("Outage {i}");
            let (r, p, c) = desk
                .fake
                .wait_for(WAIT, "the page", |rs| {
                    let r = rs.iter().find(|r| r.path == callback)?.at;
                    let p = rs
                        .iter()
                        .find(|r| r.path == dm && r.status == 200 && text(&r.body).contains(&title))?
                        .at;
                    let c = rs
                        .iter()
                        .find(|r| r.path == incidents && r.status == 200 && text(&r.body).contains(&title))?
                        .at;
                    Some((r, p, c))
                })
                .await;
            reply.push(r - sent);
            page.push(p - sent);
            card.push(c - sent);
            let next = sent + Duration::from_secs(1);
            tokio::time::sleep_until(next.into()).await;
        }
        desk.fake.assert_valid();
        println!(
            "paging latency over {n} incidents (one per second; {} cores)",
            std::thread::available_parallelism().map_or(0, |c| c.get())
        );
        for (what, v) in [
            ("interaction answered", &mut reply),
            ("page DM delivered", &mut page),
            ("incident card delivered", &mut card),
        ] {
            println!(
                "  {what:<24} p50 {:>7.2} ms  p90 {:>7.2} ms  max {:>7.2} ms",
                pct(v, 0.5),
                pct(v, 0.9),
                pct(v, 1.0)
            );
        }
    });
}
