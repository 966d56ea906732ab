//! What incidents, paging and on-call say.

use crate::domain::oncall::Page;
use crate::domain::{Priority, TicketRef};

/// The channel's notice when a page moves on (a later level or round).
pub fn repaged_notice(id: TicketRef, title: &str, p: Priority, page: Page) -> String {
    let round = if page.round > 0 {
        format!(", round {}", page.round + 1)
    } else {
        String::new()
    };
    format!(
        "📟 {id} “{title}” ({p}) is still unacknowledged — paging level {}{round}.",
        page.level
    )
}

/// The DM to whoever is paged (with an Acknowledge button).
pub fn page_dm(id: TicketRef, title: &str, p: Priority, level: u8) -> String {
    format!(
        "📟 You are paged for {id} “{title}” ({p}, level {level}). Acknowledge with the button below or /incident ack id:{id}."
    )
}

/// The channel's notice when a page finds nobody.
pub fn nobody_else_notice(id: TicketRef, title: &str, p: Priority) -> String {
    format!("📟 {id} “{title}” ({p}) is unacknowledged and nobody else is on call.")
}

/// The channel's notice when every level and round has been paged.
pub fn exhausted_notice(id: TicketRef, title: &str) -> String {
    format!("📟 {id} “{title}” is still unacknowledged after every level and round.")
}

/// The reply to `/incident new`: whom it paged, or what is missing.
pub fn incident_opened(id: TicketRef, p: Priority, channel: bool, paged: Option<i64>) -> String {
    match (channel, paged) {
        (true, Some(u)) => format!("{id} ({p}) is open and <@{u}> is paged."),
        (true, None) => {
            format!("{id} ({p}) is open, but nobody is on call: an incident manager should run /oncall add.")
        }
        (false, _) => format!(
            "{id} ({p}) is open. Note: no incidents channel is set up — ask an admin to run /setup channel purpose:incidents."
        ),
    }
}

/// The channel's notice of an acknowledgement.
pub fn acknowledged_notice(id: TicketRef, title: &str, by: i64) -> String {
    format!("✅ {id} “{title}” is acknowledged by <@{by}>.")
}

/// The reply to whoever acknowledged.
pub fn acknowledged(id: TicketRef, timeout: &str) -> String {
    format!("You acknowledged {id}. Post progress with /incident update within {timeout}, or it pages again.")
}

/// The channel's notice of an update.
pub fn update_notice(id: TicketRef, by: i64, note: &str) -> String {
    format!("📝 {id} update from <@{by}>: {note}")
}

/// The reply to `/incident update`.
pub fn update_posted(id: TicketRef) -> String {
    format!("Your update is on {id}.")
}

/// The reply to `/incident escalate`.
pub fn escalated(id: TicketRef, level: u8, paged: Option<i64>) -> String {
    let who = paged.map_or_else(|| "nobody".to_owned(), |u| format!("<@{u}>"));
    format!("{id}: level {level} paged ({who}).")
}

/// One level of `/oncall who`.
pub struct LevelView<'a> {
    /// Who is on call now.
    pub on_call: Option<u64>,
    /// The rotation, in turn order.
    pub rotation: &'a [u64],
    /// A turn's length.
    pub turn_hours: i64,
}

/// `/oncall who`.
pub fn oncall_who(levels: &[LevelView<'_>]) -> String {
    let mention = |u: &u64| format!("<@{u}>");
    levels
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let who = l.on_call.as_ref().map_or_else(|| "nobody".to_owned(), mention);
            let rota = if l.rotation.is_empty() {
                "no rotation".to_owned()
            } else {
                l.rotation.iter().map(mention).collect::<Vec<_>>().join(" → ")
            };
            format!(
                "**Level {}**: {who} — rotation {rota}, turns of {}h",
                i + 1,
                l.turn_hours
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `/oncall add` done.
pub fn oncall_added(user: i64, level: i64) -> String {
    format!("<@{user}> joins level {level}'s rotation, after those already in it.")
}

/// `/oncall remove` done.
pub fn oncall_removed(user: i64, level: i64) -> String {
    format!("<@{user}> leaves level {level}'s rotation.")
}

/// `/oncall rotation` done.
pub fn rotation_set(level: i64, hours: i64, start: &str, tz: &str) -> String {
    format!("Level {level} now takes turns of {hours}h from {start} ({tz}).")
}

/// `/oncall override` done.
pub fn override_set(user: i64, level: i64, start: &str, end: &str, tz: &str) -> String {
    format!("<@{user}> covers level {level} from {start} to {end} ({tz}).")
}

/// `/setup escalation` done; `escalates` is false for priorities that only notify.
pub fn escalation_set(p: Priority, delay: &str, ack: &str, rounds: i64, escalates: bool) -> String {
    let note = if escalates {
        ""
    } else {
        " (P4/P5 notify but never escalate)"
    };
    format!(
        "{p} incidents opened from now on: next level after {delay}, ack timeout {ack}, {rounds} extra round(s){note}."
    )
}
