//! The desk as its users feel it, beside a bare serenity bot (the floor), each in its own process
//! against the fake Discord of the test suite:
//! 1. latency from INTERACTION_CREATE written to the first callback received, at 100 and 500
//!    interactions per second sustained (a mix of `/request new`, `/incident new`,
//!    `/ticket show` and a Claim button);
//! 2. an outage storm: `STORM` `/incident new` within one second — first responses within 3 s,
//!    the slowest, and (desk) that every incident exists once;
//! 3. resident memory idle and after the storm.
//!
//! `cargo bench --bench load` (or `-- --secs 10 --storm 2000` for a shorter run, `--storm 2000,5000` is the default, `--only servicedesk`
//! for one bot, `--settle 30` to read memory longer after the storm).

#[allow(dead_code)]
#[path = "../tests/e2e/support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::*;

const DESK: &str = env!("CARGO_BIN_EXE_servicedesk");
/// `BENCH_DESK=path` runs another build of the desk (or a wrapper such as a profiler) instead.
fn desk_bin() -> String {
    std::env::var("BENCH_DESK").unwrap_or_else(|_| DESK.to_owned())
}
const BASELINE: &str = env!("CARGO_BIN_EXE_baseline");

fn text_arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rss_mb(pid: u32) -> f64 {
    status_mb(pid, "VmRSS:")
}

/// The highest resident set the process has had.
fn peak_rss_mb(pid: u32) -> f64 {
    status_mb(pid, "VmHWM:")
}

fn status_mb(pid: u32, key: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(key)).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        .map_or(0.0, |kb| kb / 1024.0)
}

fn pct(v: &mut [Duration], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1e3
}

struct Bot {
    child: tokio::process::Child,
    fake: FakeDiscord,
    db_url: String,
    _dir: tempfile::TempDir,
}

async fn start(bin: &str) -> Bot {
    let fake = FakeDiscord::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}", dir.path().join("desk.db").display());
    let child = spawn_bot(bin, &fake, dir.path(), &db_url, "error");
    fake.wait_connected(Duration::from_secs(30)).await;
    Bot {
        child,
        fake,
        db_url,
        _dir: dir,
    }
}

/// Sends `payloads` at `rate` per second; returns each one's first-response latency.
async fn drive(fake: &FakeDiscord, payloads: Vec<Value>, rate: u64, wait: Duration) -> (Vec<Duration>, usize) {
    let from = fake.requests().len();
    let mut sent: HashMap<String, Instant> = HashMap::new();
    let per_tick = (rate / 1000).max(1);
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 * per_tick / rate));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    for chunk in payloads.chunks(per_tick as usize) {
        tick.tick().await;
        for p in chunk {
            let id = p["id"].as_str().unwrap().to_owned();
            sent.insert(format!("/interactions/{id}/token-{id}/callback"), Instant::now());
            fake.dispatch("INTERACTION_CREATE", p.clone());
        }
    }
    let deadline = Instant::now() + wait;
    let mut first: HashMap<String, Instant> = HashMap::new();
    let mut seen = from;
    while first.len() < sent.len() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let new = fake.requests_since(seen);
        seen += new.len();
        for r in new {
            if sent.contains_key(&r.path) {
                first.entry(r.path).or_insert(r.at);
            }
        }
    }
    let lat: Vec<Duration> = first.iter().map(|(k, at)| at.duration_since(sent[k])).collect();
    let missing = sent.len() - first.len();
    (lat, missing)
}

fn mix(fake: &FakeDiscord, n: usize, admin: &User, tag: &str) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let id = fake.snowflake();
            match i % 4 {
                0 => slash(
                    id,
                    GUILD,
                    admin,
                    "request",
                    Some("new"),
                    &[s("item", "Laptop"), s("summary", &format!("{tag} {i}"))],
                    &[],
                ),
                1 => slash(
                    id,
                    GUILD,
                    admin,
                    "incident",
                    Some("new"),
                    &[
                        s("title", &format!("{tag} {i}")),
                        s("impact", "low"),
                        s("urgency", "low"),
                    ],
                    &[],
                ),
                2 => slash(id, GUILD, admin, "ticket", Some("show"), &[s("id", "REQ-1")], &[]),
                _ => button(id, GUILD, admin, &format!("claim:REQ-{}", i / 4 + 1), TRIAGE, 1),
            }
        })
        .collect()
}

async fn setup(bot: &Bot, admin: &User) {
    let opts: [(&str, Vec<Opt>); 4] = [
        ("channel", vec![s("purpose", "triage"), ch("channel", TRIAGE)]),
        ("channel", vec![s("purpose", "incidents"), ch("channel", INCIDENTS)]),
        ("role", vec![s("purpose", "agent"), r("role", AGENT_ROLE)]),
        ("catalog-add", vec![s("name", "Laptop"), s("description", "A laptop")]),
    ];
    let payloads: Vec<Value> = opts
        .iter()
        .map(|(sub, o)| slash(bot.fake.snowflake(), GUILD, admin, "setup", Some(sub), o, &[]))
        .collect();
    for p in payloads {
        drive(&bot.fake, vec![p], 1, Duration::from_secs(10)).await;
    }
}

/// One storm of `size` `/incident new` in one second: its first-response line, and (desk) how
/// long until every incident was stored, each once.
async fn storm_run(bot: &Bot, admin: &User, name: &str, size: usize) -> Vec<String> {
    let tag = format!("Storm{size}");
    let payloads: Vec<Value> = (0..size)
        .map(|i| {
            let id = bot.fake.snowflake();
            let title = format!("{tag} {i}");
            slash(
                id,
                GUILD,
                admin,
                "incident",
                Some("new"),
                &[s("title", &title), s("impact", "high"), s("urgency", "high")],
                &[],
            )
        })
        .collect();
    let began = Instant::now();
    let (mut lat, missing) = drive(&bot.fake, payloads, size as u64, Duration::from_secs(120)).await;
    let within = lat.iter().filter(|d| **d <= Duration::from_secs(3)).count();
    let mut lines = vec![format!(
        "storm {size} in 1s: first response within 3 s: {within}/{size}  p50 {:>7.1} ms  p99 {:>7.1} ms  slowest {:>7.1} ms  unanswered {missing}",
        pct(&mut lat, 0.5),
        pct(&mut lat, 0.99),
        pct(&mut lat, 1.0)
    )];
    if name == "servicedesk" {
        let pool = servicedesk::store::connect(&bot.db_url).await.unwrap();
        let like = format!("{tag} %");
        let count = |sql: &'static str| {
            let (pool, like) = (pool.clone(), like.clone());
            async move {
                sqlx::query_scalar::<_, i64>(sql)
                    .bind(like)
                    .fetch_one(&pool)
                    .await
                    .unwrap()
            }
        };
        let mut done = 0;
        while began.elapsed() < Duration::from_secs(300) {
            done = count("SELECT count(*) FROM tickets WHERE title LIKE ?").await;
            if done as usize >= size {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let distinct = count("SELECT count(DISTINCT title) FROM tickets WHERE title LIKE ?").await;
        lines.push(format!(
            "storm {size} incidents stored: {done} ({distinct} distinct) after {:.1} s",
            began.elapsed().as_secs_f64()
        ));
        pool.close().await;
    }
    lines
}

fn main() {
    let secs = arg("--secs", 30);
    let storms: Vec<usize> = text_arg("--storm")
        .unwrap_or_else(|| "2000,5000".into())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let admin = User::admin(1_000_000_000_000_000_001, "ada");
        println!("load benchmark: {secs} s per rate, storms of {storms:?}; {} cores", std::thread::available_parallelism().map_or(0, |c| c.get()));
        let mut results: Vec<(String, String)> = Vec::new();
        let only = text_arg("--only");
        let settle = arg("--settle", 10);
        let desk = desk_bin();
        for (name, bin) in [("baseline", BASELINE), ("servicedesk", desk.as_str())] {
            if only.as_deref().is_some_and(|o| o != name) {
                continue;
            }
            let mut bot = start(bin).await;
            if name == "servicedesk" {
                setup(&bot, &admin).await;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
            let pid = bot.child.id().unwrap_or(0);
            let idle = rss_mb(pid);
            for rate in [100, 500] {
                let n = (rate * secs) as usize;
                let payloads = mix(&bot.fake, n, &admin, &format!("r{rate}"));
                let (mut lat, missing) = drive(&bot.fake, payloads, rate, Duration::from_secs(60)).await;
                let line = format!(
                    "{rate}/s for {secs}s: p50 {:>7.2} ms  p99 {:>8.2} ms  max {:>8.2} ms  unanswered {missing}",
                    pct(&mut lat, 0.5),
                    pct(&mut lat, 0.99),
                    pct(&mut lat, 1.0)
                );
                println!("{name:<12} {line}");
                results.push((name.into(), line));
            }
            for &size in &storms {
                for line in storm_run(&bot, &admin, name, size).await {
                    println!("{name:<12} {line}");
                    results.push((name.into(), line));
                }
            }
            let after = rss_mb(pid);
            let peak = peak_rss_mb(pid);
            tokio::time::sleep(Duration::from_secs(settle)).await;
            let settled = rss_mb(pid);
            let line = format!(
                "RSS idle {idle:.1} MB, peak {peak:.1} MB, after the storm {after:.1} MB, {settle} s later {settled:.1} MB"
            );
            println!("{name:<12} {line}");
            results.push((name.into(), line));
            let violations = bot.fake.violations().len();
            println!("{name:<12} schema violations: {violations}");
            let _ = bot.child.start_kill();
            let _ = bot.child.wait().await;
        }
    });
}
