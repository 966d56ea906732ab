//! What settings, SLA clocks and their reminders say.

use serde_json::Value;

use super::{due, ticket_list, RetryButton};
use crate::domain::duration::human_seconds;
use crate::domain::sla::{ClockKind, ClockStatus, WARN_PERCENT};
use crate::domain::{Priority, SlaDuration, TicketKind, TicketRef};
use crate::store::{SettingColumn, TicketRow};

/// A channel or role setting as the admin reads it.
pub fn setting_name(column: SettingColumn) -> &'static str {
    match column {
        SettingColumn::TriageChannel => "The triage channel",
        SettingColumn::IncidentsChannel => "The incidents channel",
        SettingColumn::CabChannel => "The CAB channel",
        SettingColumn::AgentRole => "The agent role",
        SettingColumn::IncidentManagerRole => "The incident manager role",
        SettingColumn::CabRole => "The CAB role",
        SettingColumn::ChangeManagerRole => "The change manager role",
    }
}

/// `/setup channel` done.
pub fn channel_set(column: SettingColumn, channel: i64) -> String {
    format!("{} is now <#{channel}>.", setting_name(column))
}

/// `/setup role` done.
pub fn role_set(column: SettingColumn, role: i64) -> String {
    format!("{} is now <@&{role}>.", setting_name(column))
}

/// `/setup catalog-add` done.
pub fn catalog_added(name: &str) -> String {
    format!("“{name}” is now in the service catalog.")
}

/// `/setup catalog-remove` done.
pub fn catalog_removed(name: &str) -> String {
    format!("“{name}” is no longer offered. Tickets already raised for it keep it.")
}

/// `/setup hours` done.
pub fn hours_set(calendar: &str) -> String {
    format!(
        "Business hours are now {calendar}. Clocks already running keep their due times; new clocks and re-targets use the new hours."
    )
}

/// `/setup holiday` done.
pub fn holiday_set(day: &str, name: &str) -> String {
    format!("{day} ({name}) is a holiday: business-hours clocks skip it.")
}

/// `/setup sla` done.
pub fn targets_set(kind: TicketKind, p: Priority, respond: SlaDuration, resolve: SlaDuration) -> String {
    format!(
        "{kind} {p}: respond within {respond}, resolve within {resolve}. New tickets (and priority changes) use these targets."
    )
}

/// `/setup autoclose` done.
pub fn autoclose_set(after: SlaDuration) -> String {
    format!("Resolved tickets now close themselves after {after} unless reopened (tickets resolved from now on).")
}

/// One clock as a field: `Response SLA` / `target 4h (24×7), elapsed 1h — 3h left, due …`.
pub fn clock_line(kind: ClockKind, cycle: i64, target: SlaDuration, s: &ClockStatus) -> (String, String) {
    let mut name = match kind {
        ClockKind::Response => "Response SLA".to_owned(),
        ClockKind::Resolution => "Resolution SLA".to_owned(),
    };
    if cycle > 1 {
        name = format!("{name} (cycle {cycle})");
    }
    let counted = if target.is_business() { "business time" } else { "24×7" };
    let head = format!(
        "target {target} ({counted}), elapsed {}",
        human_seconds(s.elapsed_seconds)
    );
    let tail = if s.stopped {
        if s.remaining_seconds >= 0 {
            "met".to_owned()
        } else {
            format!("missed by {}", human_seconds(-s.remaining_seconds))
        }
    } else if s.remaining_seconds < 0 {
        format!("**breached** by {}", human_seconds(-s.remaining_seconds))
    } else if s.paused {
        format!("{} left, **paused**", human_seconds(s.remaining_seconds))
    } else {
        let due = s
            .due_at
            .map(|d| format!(", due {}", due(crate::clock::to_millis(d))))
            .unwrap_or_default();
        format!("{} left{due}", human_seconds(s.remaining_seconds))
    };
    (name, format!("{head} — {tail}"))
}

/// The channel's notice of a breached clock.
pub fn breach_notice(id: TicketRef, title: &str, kind: ClockKind, target: SlaDuration, due_at: Option<i64>) -> String {
    let due_at = due_at.map(due).unwrap_or_default();
    format!(
        "🚨 {id} “{title}” breached its {} target ({target}), due {due_at}.",
        kind.as_str()
    )
}

/// The channel's notice of a clock at its warning share; `left` in seconds.
pub fn warning_notice(
    id: TicketRef,
    title: &str,
    kind: ClockKind,
    target: SlaDuration,
    left: i64,
    due_at: Option<i64>,
) -> String {
    let due_at = due_at.map(due).unwrap_or_default();
    format!(
        "⏰ {id} “{title}”: {WARN_PERCENT} % of its {} target ({target}) is used — {} left, due {due_at}.",
        kind.as_str(),
        human_seconds(left)
    )
}

/// The requester's DM when a resolved ticket closes itself.
pub fn autoclosed_dm(id: TicketRef, title: &str, after: &str) -> String {
    format!(
        "Your ticket {id} “{title}” was closed automatically {after} after it was resolved. Raise a new request if you still need help."
    )
}

/// `/request mine`.
pub fn my_tickets(rows: &[TicketRow], now: i64) -> Value {
    ticket_list(
        "Your open tickets",
        rows,
        "You have no open tickets. Raise one with /request new.",
        now,
    )
}

/// `/queue`.
pub fn queue(rows: &[TicketRow], now: i64) -> Value {
    ticket_list("Open tickets, most urgent first", rows, "The queue is empty.", now)
}

/// `/problem list`.
pub fn problem_list(rows: &[TicketRow], now: i64) -> Value {
    ticket_list("Problems", rows, "No problems in that state.", now)
}

/// `/setup deliveries` retry done: `n` messages queued again.
pub fn requeued(button: RetryButton, n: u64) -> String {
    match button {
        RetryButton::One(id) => format!("Message #{id} is queued again; it goes out in a moment."),
        RetryButton::Channel(c) => format!("{n} message(s) to <#{c}> are queued again; they go out in a moment."),
    }
}
