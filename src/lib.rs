//! servicedesk — an ITIL service desk that lives in Discord.
//!
//! ```text
//! Discord ──gateway──▶ gateway/ (commands, buttons, modals) ──▶ service/ (use-cases)
//!                                                                 │  one transaction:
//!                                                                 ▼  ticket + audit + outbox
//!                      outbox/ ◀── outbox table ◀──────────────── store/ (sqlx, SQLite)
//!                        │                                         ▲
//!                        └──REST──▶ Discord        domain/ (pure rules: ids, states, priority,
//!                                                  durations) used by service and render
//! ```
//! `scheduler/` fires durable timers (SLA reminders, auto-close) from the same database;
//! `intake/` applies the events monitoring posted to `web` (each committed before its `202`).
//! `render` builds every message body; `config` reads the environment; `clock` is injected.
//! `web` is the operators' HTTP listener (`/healthz`, `/metrics`); `telemetry` holds the logs'
//! set-up and the metrics every layer records into. `ARCHITECTURE.md` lists the files to touch,
//! in order, to add a command, a button, a timer kind, a route or a practice.

/// The version of this build.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The git commit this binary was built from, when it was built from a checkout.
pub const COMMIT: Option<&str> = option_env!("SERVICEDESK_COMMIT");

/// `servicedesk 0.1.0 (commit 1234abcd5678)`.
pub fn version_line() -> String {
    match COMMIT {
        Some(c) => format!("servicedesk {VERSION} (commit {c})"),
        None => format!("servicedesk {VERSION}"),
    }
}

pub mod app;
pub mod chart;
pub mod clock;
pub mod config;
pub mod domain;
pub mod gateway;
pub mod intake;
pub mod outbox;
pub mod render;
pub mod scheduler;
pub mod service;
pub mod store;
pub mod telemetry;
pub mod web;
