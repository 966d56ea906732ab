//! What requests and ticket operations say: the reply to whoever acted, the notice in the
//! channel, the DM to the requester.

use std::fmt;

use crate::domain::{HoldReason, Priority, Stage, TicketRef};

/// What a ticket operation did, as the one who asked reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TicketDone {
    /// Claimed; where it stands now.
    Claimed(TicketRef, Stage),
    /// Assigned to someone.
    Assigned(TicketRef, i64),
    /// On hold, and why.
    Held(TicketRef, HoldReason),
    /// Off hold.
    Resumed(TicketRef, Stage),
    /// Resolved; the requester is told.
    Resolved(TicketRef),
    /// Reopened; where it stands now.
    Reopened(TicketRef, Stage),
    /// Closed.
    Closed(TicketRef),
    /// Cancelled.
    Cancelled(TicketRef),
    /// A new priority.
    Priority {
        /// The ticket.
        id: TicketRef,
        /// Now.
        to: Priority,
        /// Before.
        from: Priority,
    },
    /// A comment; the ticket resumed if it waited on the requester.
    Commented(TicketRef, Option<Stage>),
}

impl fmt::Display for TicketDone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TicketDone::Claimed(id, state) => write!(f, "You claimed {id}. It is {state}."),
            TicketDone::Assigned(id, user) => write!(f, "{id} is assigned to <@{user}>."),
            TicketDone::Held(id, reason) => write!(
                f,
                "{id} is on hold ({}). Its resolution clock is paused.",
                reason.as_str()
            ),
            TicketDone::Resumed(id, state) => write!(f, "{id} is {state} again."),
            TicketDone::Resolved(id) => write!(
                f,
                "{id} is resolved. The requester is told and can confirm or reopen it."
            ),
            TicketDone::Reopened(id, state) => write!(f, "{id} is reopened and {state} again."),
            TicketDone::Closed(id) => write!(f, "{id} is closed. Thank you!"),
            TicketDone::Cancelled(id) => write!(f, "{id} is cancelled."),
            TicketDone::Priority { id, to, from } => write!(f, "{id} is now {to} (was {from})."),
            TicketDone::Commented(id, None) => write!(f, "Your comment is on {id}."),
            TicketDone::Commented(id, Some(state)) => write!(f, "Your comment is on {id}. {id} is {state} again."),
        }
    }
}

/// The channel's notice of an assignment.
pub fn assigned_notice(id: TicketRef, title: &str, to: i64, by: i64) -> String {
    format!("{id} “{title}” is assigned to <@{to}> by <@{by}>.")
}

/// The requester's DM when the desk waits on them.
pub fn awaiting_requester_dm(id: TicketRef, title: &str, ask: Option<&str>) -> String {
    let ask = ask.unwrap_or("The service desk needs more information from you.");
    format!(
        "Your ticket {id} “{title}” is waiting for you: {ask}\nReply with /ticket comment id:{id} and it goes back to the desk."
    )
}

/// The requester's DM when their ticket is resolved (with Close and Reopen buttons).
pub fn resolved_dm(id: TicketRef, title: &str, note: &str) -> String {
    format!(
        "Your ticket {id} “{title}” is resolved: {note}\nIf that fixes it, press Close; if not, Reopen and say what still does not work."
    )
}

/// The channel's notice when a requester reopens.
pub fn reopened_notice(id: TicketRef, title: &str, reason: &str) -> String {
    format!("{id} “{title}” was reopened by its requester: {reason}")
}

/// The requester's DM of an agent's comment.
pub fn comment_dm(id: TicketRef, title: &str, by: i64, body: &str) -> String {
    format!("<@{by}> commented on your ticket {id} “{title}”: {body}")
}

/// The channel's notice of a requester's comment.
pub fn comment_notice(id: TicketRef, title: &str, by: i64, body: &str) -> String {
    format!("<@{by}> commented on {id} “{title}”: {body}")
}

/// One line of the ticket id autocomplete.
pub fn ticket_choice(id: TicketRef, state: Stage, title: &str) -> String {
    format!("{id} · {state} · {title}")
}

/// The reply to `/request new`; `triage` says whether agents were told.
pub fn request_raised(id: TicketRef, summary: &str, triage: bool) -> String {
    if triage {
        format!("{id} is raised: “{summary}”. The service desk will pick it up; follow it with /ticket show id:{id}.")
    } else {
        format!(
            "{id} is raised: “{summary}”. Note: no triage channel is set up, so agents are not notified yet — ask an admin to run /setup channel purpose:triage."
        )
    }
}
