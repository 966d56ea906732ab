//! One scheduler pass over a large desk: N open tickets (two SLA clocks and two reminder timers
//! each), of which `DUE` have a breach timer due now. Prints the time of the pass that fires
//! them (each in its own transaction: clock mark, audit row, outbox row; passes of up to
//! `scheduler::BATCH` until none is due, as the scheduler's loop does) and of an idle pass.
//! Then times `/report days:90` over all of them (the use-case, without Discord), and starts
//! the real bot (its own process, against the fake Discord of the tests) on that
//! database and prints its resident memory once connected: the desk's memory with N tickets.
//!
//! `cargo bench --bench scheduler -- 10000 100000` (sizes optional; default 10000 100000).
//! "bench RSS" is this process's (the desk's use-cases and pool, no serenity) after its passes,
//! with sizes run in order; "bot RSS" is the real binary's.

#[allow(dead_code)]
#[path = "../tests/e2e/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::Instant;

use chrono::{Duration, TimeZone, Utc};
use servicedesk::clock::{to_millis, ManualClock};
use servicedesk::scheduler;
use servicedesk::service::Desk;
use tokio::sync::Notify;

const DUE: i64 = 300;
const DESK: &str = env!("CARGO_BIN_EXE_servicedesk");

/// Bulk-loads `n` tickets, 2n clocks and 4n timers with set-based inserts (a recursive CTE), so
/// a million tickets load in seconds rather than row by row.
async fn load(pool: &sqlx::SqlitePool, n: i64, now: i64) {
    let mut tx = pool.begin().await.unwrap();
    sqlx::query(
        "INSERT INTO guild_settings (guild_id, triage_channel_id, agent_role_id, updated_at) VALUES (1, 10, 20, 0)",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    let far = now + 30 * 86_400_000;
    let seq = "WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?1)";
    let statements = [
        format!(
            "{seq} INSERT INTO tickets (id, guild_id, kind, number, title, state, priority, requester_id, created_at, updated_at)
             SELECT i, 1, 'request', i, 'Bench ticket', 'in progress', 4, 7, ?2 - 3600000, ?2 FROM seq"
        ),
        // clock ids: 2i (response) and 2i + 1 (resolution); the first DUE resolution clocks are due
        format!(
            "{seq} INSERT INTO sla_clocks (id, guild_id, ticket_id, clock, cycle, target, started_at, due_at)
             SELECT 2 * i + c, 1, i, CASE c WHEN 0 THEN 'response' ELSE 'resolution' END, 1, '1h', ?2 - 3600000,
                    CASE WHEN c = 1 AND i <= ?4 THEN ?2 - 1000 ELSE ?3 + i END
             FROM seq, (SELECT 0 AS c UNION ALL SELECT 1)"
        ),
        format!(
            "{seq} INSERT INTO timers (guild_id, key, kind, ticket_id, due_at, payload)
             SELECT 1, 'sla:' || (2 * i + c) || ':' || w, 'sla_' || w, i,
                    CASE WHEN c = 1 AND w = 'breach' AND i <= ?4 THEN ?2 - 1000 ELSE ?3 + i END, CAST(2 * i + c AS TEXT)
             FROM seq, (SELECT 0 AS c UNION ALL SELECT 1), (SELECT 'warn' AS w UNION ALL SELECT 'breach')"
        ),
    ];
    for sql in statements {
        sqlx::query(&sql)
            .bind(n)
            .bind(now)
            .bind(far)
            .bind(DUE)
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
}

async fn run(n: i64) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.db");
    let pool = servicedesk::store::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let start = Utc.with_ymd_and_hms(2026, 1, 5, 10, 0, 0).unwrap();
    let t = Instant::now();
    load(&pool, n, to_millis(start)).await;
    let load_secs = t.elapsed().as_secs_f64();
    let clock = ManualClock::new(start);
    let desk = Desk::new(pool.clone(), Arc::new(clock.clone()), Arc::new(Notify::new()));

    // As the scheduler's loop does: passes (of up to scheduler::BATCH timers) until none is due.
    let t = Instant::now();
    while scheduler::pass(&desk).await.unwrap().is_zero() {}
    let firing = t.elapsed();
    let fired: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(fired, DUE, "every due timer fired once");

    let mut idle = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        scheduler::pass(&desk).await.unwrap();
        idle.push(t.elapsed());
    }
    idle.sort();
    // The 90-day report over all N tickets (each opened in the period, 300 breached).
    let admin = servicedesk::service::Call {
        actor: servicedesk::service::Actor {
            guild_id: 1,
            user_id: 7,
            roles: vec![],
            is_admin: true,
        },
        interaction_id: 1,
    };
    let t = Instant::now();
    let report = desk.report(&admin, 90).await.unwrap();
    let report_ms = t.elapsed().as_secs_f64() * 1e3;
    assert!(
        report.message.to_string().contains(&format!("Opened **{n}**")),
        "the report counts every ticket"
    );
    clock.advance(Duration::seconds(1));
    let db_mb = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) as f64 / 1e6;
    let rss_mb = rss_of("self");
    pool.close().await;
    let (bot_start, bot_rss) = bot_on(dir.path(), &path).await;
    println!(
        "tickets {n:>9}  timers {:>9}  load {load_secs:>6.1} s  db {db_mb:>6.1} MB  | firing {DUE} due: {:>8.1} ms ({:.2} ms/timer)  | idle pass median {:>6.3} ms  | bench RSS {rss_mb:>6.1} MB  | report 90 days {report_ms:>7.1} ms  | bot connected in {bot_start:>4.2} s, RSS {bot_rss:>5.1} MB",
        n * 4,
        firing.as_secs_f64() * 1e3,
        firing.as_secs_f64() * 1e3 / DUE as f64,
        idle[idle.len() / 2].as_secs_f64() * 1e3,
    );
}

/// `VmRSS` of a process (`self` or a pid), in MB.
fn rss_of(pid: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Starts the real bot on the database at `db` and returns how long it took to connect and
/// its RSS a second after (its first scheduler pass has run by then).
async fn bot_on(dir: &std::path::Path, db: &std::path::Path) -> (f64, f64) {
    let fake = support::FakeDiscord::start().await;
    let t = Instant::now();
    let mut child = support::spawn_bot(DESK, &fake, dir, &format!("sqlite://{}", db.display()), "error");
    fake.wait_connected(std::time::Duration::from_secs(120)).await;
    let connected = t.elapsed().as_secs_f64();
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let rss = rss_of(&child.id().unwrap_or(0).to_string());
    let _ = child.start_kill();
    let _ = child.wait().await;
    (connected, rss)
}

fn main() {
    let sizes: Vec<i64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let sizes = if sizes.is_empty() { vec![10_000, 100_000] } else { sizes };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!(
        "scheduler pass benchmark ({} cores)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    for n in sizes {
        rt.block_on(run(n));
    }
}
