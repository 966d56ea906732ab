//! What changes and the CAB's votes say (the change card itself is in `mod.rs`).

use serde_json::Value;

use super::{due, ephemeral, ephemeral_embeds, fit_lines, window, MAX_EMBED_DESCRIPTION_CHARS};
use crate::domain::change::{ChangeType, Outcome as ChangeOutcome};
use crate::domain::text::truncate;
use crate::domain::vote::Mode;
use crate::domain::{Stage, TicketRef};

/// A window that overlaps another scheduled change.
pub fn overlap_conflict(number: i64, title: &str, start: i64, end: i64) -> String {
    format!(
        "overlaps CHG-{number} “{}” ({})",
        truncate(title, 60),
        window(start, end)
    )
}

/// A window that falls in a blackout.
pub fn blackout_conflict(reason: &str, start: i64, end: i64) -> String {
    format!("falls in a blackout: {} ({})", truncate(reason, 80), window(start, end))
}

/// The warning added to replies and notices of a change with conflicts (empty without).
pub fn conflicts_flag(conflicts: &[String]) -> String {
    if conflicts.is_empty() {
        String::new()
    } else {
        format!(" ⚠ {} conflict(s): {}", conflicts.len(), conflicts.join("; "))
    }
}

/// How a vote ended, for the CAB channel and the author.
pub fn vote_settled(id: TicketRef, title: &str, expired: bool, approved: bool) -> String {
    match (expired, approved) {
        (true, _) => format!(
            "⌛ {id} “{title}” expired: the CAB did not decide in time. It is not approved; raise it again if it is still needed."
        ),
        (false, true) => format!("✅ {id} “{title}” is approved by the CAB and scheduled."),
        (false, false) => format!("❌ {id} “{title}” is rejected by the CAB."),
    }
}

/// The reply to a vote; `decided` is where the change stands if this vote decided it.
pub fn vote_recorded(id: TicketRef, approvals: usize, rejections: usize, mode: Mode, decided: Option<Stage>) -> String {
    match decided {
        None => format!(
            "Your vote on {id} is in ({approvals} for, {rejections} against; rule {mode}). You can change it until the CAB decides."
        ),
        Some(state) => format!("Your vote on {id} is in, and it decided the vote: {id} is {state}."),
    }
}

/// The DM to CAB members who have not voted yet.
pub fn vote_reminder(id: TicketRef, title: &str, closes: Option<i64>) -> String {
    let closes = closes.map(due).unwrap_or_default();
    format!(
        "🗳 {id} “{title}” is waiting for your vote; the vote closes {closes}. An undecided vote expires, it is never approved."
    )
}

/// The CAB channel's notice that implementation started.
pub fn implementing_notice(id: TicketRef, title: &str, by: i64) -> String {
    format!("🔧 {id} “{title}” is being implemented by <@{by}>.")
}

/// `/change start` done.
pub fn implementing(id: TicketRef) -> String {
    format!("{id} is implementing. Finish with /change complete.")
}

/// The CAB channel's notice of a completed change.
pub fn completed_notice(id: TicketRef, title: &str, outcome: ChangeOutcome, notes: &str) -> String {
    format!("🏁 {id} “{title}” is completed: {} — {notes}", outcome.as_str())
}

/// `/change complete` done.
pub fn completed(id: TicketRef, outcome: ChangeOutcome) -> String {
    format!("{id} is completed ({}).", outcome.as_str())
}

/// The CAB channel's notice of a cancelled change.
pub fn change_cancelled_notice(id: TicketRef, title: &str, reason: Option<&str>) -> String {
    let reason = reason.map(|r| format!(": {r}")).unwrap_or_default();
    format!("🚫 {id} “{title}” is cancelled{reason}.")
}

/// `/change cancel` done.
pub fn change_cancelled(id: TicketRef) -> String {
    format!("{id} is cancelled.")
}

/// `/change blackout` done.
pub fn blackout_set(start: &str, end: &str, tz: &str, reason: &str) -> String {
    format!("No changes {start} – {end} ({tz}): {reason}. Changes planned in it are flagged in their vote.")
}

/// One line of `/change calendar`: a scheduled change.
pub fn calendar_change(number: i64, title: &str, start: i64, end: i64) -> String {
    format!("🗓 {} **CHG-{number}** {}", window(start, end), truncate(title, 60))
}

/// One line of `/change calendar`: a blackout.
pub fn calendar_blackout(reason: &str, start: i64, end: i64) -> String {
    format!("⛔ {} blackout: {}", window(start, end), truncate(reason, 80))
}

/// `/change calendar`: its lines in time order.
pub fn change_calendar(days: i64, lines: &[String]) -> Value {
    let heading = format!("Scheduled changes and blackouts, the next {days} day(s)");
    if lines.is_empty() {
        ephemeral(&format!("{heading}: nothing planned."))
    } else {
        ephemeral_embeds(
            &heading,
            vec![
                serde_json::json!({ "description": fit_lines(lines, MAX_EMBED_DESCRIPTION_CHARS), "color": 0x9B59B6 }),
            ],
        )
    }
}

/// `/setup cab` done.
pub fn cab_rule_set(rule: ChangeType, mode: Mode, voting: &str) -> String {
    format!(
        "{} changes: the CAB decides by {mode}, within {voting}. Applies to votes opened from now on.",
        rule.as_str()
    )
}

/// The CAB channel's notice of a standard change.
pub fn pre_approved_notice(id: TicketRef, title: &str, start: i64, end: i64, flag: &str) -> String {
    format!(
        "🗓 {id} “{title}” (standard, pre-approved) is scheduled for {}.{flag}",
        window(start, end)
    )
}

/// `/change new` of a standard change done.
pub fn pre_approved(id: TicketRef, flag: &str) -> String {
    format!("{id} is pre-approved and scheduled.{flag}")
}

/// `/change new` of a normal or emergency change done.
pub fn vote_opened_reply(id: TicketRef, mode: Mode, voters: usize, deadline: i64, flag: &str) -> String {
    format!(
        "{id} is up for the CAB's vote ({mode}, {voters} voter(s), until {}).{flag}",
        due(deadline)
    )
}
