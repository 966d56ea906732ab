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
//! `scheduler/` fires durable timers (SLA reminders, auto-close) from the same database.
//! `render` builds every message body; `config` reads the environment; `clock` is injected.

pub mod app;
pub mod chart;
pub mod clock;
pub mod config;
pub mod domain;
pub mod gateway;
pub mod outbox;
pub mod render;
pub mod scheduler;
pub mod service;
pub mod store;
