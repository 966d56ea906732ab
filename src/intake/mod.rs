//! The intake worker: applies the events monitoring sent, in arrival order, each in the
//! transaction that marks it processed.
//!
//! The listener commits an event before it answers `202`; this loop applies it afterwards. On
//! start it applies whatever was accepted but not applied before a crash, so an answered event
//! is never lost, and never applied twice.

use std::time::Duration;

use tokio::sync::watch;
use tracing::{error, info};

use crate::service::Desk;

/// Events applied per pass before the loop checks for shutdown again.
pub const BATCH: i64 = 100;
/// Longest sleep without looking at the table (a safety net; wake-ups do the real work).
pub const MAX_SLEEP: Duration = Duration::from_secs(30);

/// Runs until `stop` turns true.
pub async fn run(desk: Desk, mut stop: watch::Receiver<bool>) {
    info!("intake started");
    let wake = desk.events_wake();
    loop {
        let wait = match desk.process_events(BATCH).await {
            Ok(n) if n as i64 >= BATCH => Duration::ZERO,
            Ok(_) => MAX_SLEEP,
            Err(e) => {
                error!(error = %e, "applying monitoring events failed; retrying shortly");
                Duration::from_secs(1)
            }
        };
        if *stop.borrow() {
            break;
        }
        if wait.is_zero() {
            continue;
        }
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep(wait) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            break;
        }
    }
    info!("intake stopped");
}
