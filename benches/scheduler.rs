//! One scheduler pass over a large desk: N open tickets (two SLA clocks and two reminder timers
//! each), of which `DUE` have a breach timer due now. Prints the time of the pass that fires
//! them (each in its own transaction: clock mark, audit row, outbox row) and of an idle pass.
//!
//! `cargo bench --bench scheduler -- 10000 100000` (sizes optional; default 10000 100000).

use std::sync::Arc;
use std::time::Instant;

use chrono::{Duration, TimeZone, Utc};
use servicedesk::clock::{to_millis, ManualClock};
use servicedesk::scheduler;
use servicedesk::service::Desk;
use tokio::sync::Notify;

const DUE: i64 = 100;

async fn load(pool: &sqlx::SqlitePool, n: i64, now: i64) {
    let mut tx = pool.begin().await.unwrap();
    sqlx::query(
        "INSERT INTO guild_settings (guild_id, triage_channel_id, agent_role_id, updated_at) VALUES (1, 10, 20, 0)",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    let far = now + 30 * 86_400_000;
    for i in 1..=n {
        let due = if i <= DUE { now - 1_000 } else { far + i };
        sqlx::query(
            "INSERT INTO tickets (id, guild_id, kind, number, title, state, priority, requester_id, created_at, updated_at)
             VALUES (?, 1, 'request', ?, 'Bench ticket', 'in progress', 4, 7, ?, ?)",
        )
        .bind(i)
        .bind(i)
        .bind(now - 3_600_000)
        .bind(now)
        .execute(&mut *tx)
        .await
        .unwrap();
        for (c, clock) in [(0, "response"), (1, "resolution")] {
            let clock_id = i * 2 + c;
            sqlx::query(
                "INSERT INTO sla_clocks (id, guild_id, ticket_id, clock, cycle, target, started_at, due_at)
                 VALUES (?, 1, ?, ?, 1, '1h', ?, ?)",
            )
            .bind(clock_id)
            .bind(i)
            .bind(clock)
            .bind(now - 3_600_000)
            .bind(due)
            .execute(&mut *tx)
            .await
            .unwrap();
            // Only the resolution clock of the first DUE tickets is due; everything else is far out.
            let breach_due = if c == 1 { due } else { far + i };
            for (kind, at) in [("sla_warn", far + i), ("sla_breach", breach_due)] {
                let key = format!("sla:{clock_id}:{}", if kind == "sla_warn" { "warn" } else { "breach" });
                sqlx::query(
                    "INSERT INTO timers (guild_id, key, kind, ticket_id, due_at, payload) VALUES (1, ?, ?, ?, ?, ?)",
                )
                .bind(key)
                .bind(kind)
                .bind(i)
                .bind(at)
                .bind(clock_id.to_string())
                .execute(&mut *tx)
                .await
                .unwrap();
            }
        }
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

    let t = Instant::now();
    scheduler::pass(&desk).await.unwrap();
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
    clock.advance(Duration::seconds(1));
    let db_mb = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) as f64 / 1e6;
    println!(
        "tickets {n:>9}  timers {:>9}  load {load_secs:>6.1} s  db {db_mb:>6.1} MB  | pass firing {DUE} due: {:>8.1} ms ({:.2} ms/timer)  | idle pass median {:>6.3} ms",
        n * 4,
        firing.as_secs_f64() * 1e3,
        firing.as_secs_f64() * 1e3 / DUE as f64,
        idle[idle.len() / 2].as_secs_f64() * 1e3,
    );
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
