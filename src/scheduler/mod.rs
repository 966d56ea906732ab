//! The scheduler: one loop over the durable timers in the database (SLA reminders, auto-close,
//! and later escalations and vote deadlines).
//!
//! It sleeps until the earliest due time, or until woken by a commit that wrote a timer (or a
//! test's manual clock jumping); on start it runs everything that fell due while the bot was
//! down. A timer fires in the transaction that deletes it, so each fires once.

use std::time::Duration;

use tokio::sync::watch;
use tracing::{error, info};

use crate::service::Desk;

/// Timers fired per pass before the loop checks for shutdown again: as many as one statement
/// of a batch carries (`store::ROWS_PER_INSERT`), so a morning's few hundred reminders are one
/// transaction.
pub const BATCH: i64 = 500;
/// Longest sleep without looking at the table (a safety net; wake-ups do the real work).
pub const MAX_SLEEP: Duration = Duration::from_secs(60);

/// Runs until `stop` turns true.
pub async fn run(desk: Desk, mut stop: watch::Receiver<bool>) {
    info!("scheduler started");
    let wake = desk.timers_wake();
    let jumps = desk.clock().jumps();
    loop {
        let wait = match pass(&desk).await {
            Ok(wait) => wait,
            Err(e) => {
                error!(error = %e, "scheduler pass failed; retrying shortly");
                Duration::from_secs(1)
            }
        };
        if wait.is_zero() {
            if *stop.borrow() {
                break;
            }
            continue;
        }
        let jumped = async {
            match &jumps {
                Some(n) => n.notified().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = wake.notified() => {}
            () = jumped => {}
            () = tokio::time::sleep(wait) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            break;
        }
    }
    info!("scheduler stopped");
}

/// Fires what is due; returns how long to sleep (zero if more is due right away).
pub async fn pass(desk: &Desk) -> Result<Duration, crate::service::ServiceError> {
    let fired = desk.run_due_timers(BATCH).await?;
    if fired as i64 >= BATCH {
        return Ok(Duration::ZERO);
    }
    let now = desk.clock().now();
    Ok(match desk.next_timer_due().await? {
        Some(due) if due <= now => Duration::ZERO,
        Some(due) => (due - now).to_std().unwrap_or(MAX_SLEEP).min(MAX_SLEEP),
        None => MAX_SLEEP,
    })
}
