//! The pure core of the desk: ticket ids, priorities, state machines, durations and text rules.
//!
//! Nothing here talks to Discord, the database or the clock: callers pass `now` in and store
//! what comes out. That keeps every rule testable with plain values (and property tests).

pub mod access;
pub mod alert;
pub mod calendar;
pub mod change;
pub mod duration;
pub mod ids;
pub mod knowledge;
pub mod major;
pub mod oncall;
pub mod priority;
pub mod report;
pub mod setup;
pub mod sla;
pub mod text;
pub mod ticket;
pub mod timer;
pub mod vote;

pub use duration::SlaDuration;
pub use ids::{TicketKind, TicketRef};
pub use priority::{Level, Priority};
pub use ticket::{Action, HoldReason, Stage, TicketState, TransitionError, UnknownState};
