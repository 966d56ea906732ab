//! What the bot says about major incidents, duplicates and affected users, and the same-issue
//! question at intake.

use serde_json::{json, Value};

use super::{ephemeral, fit_lines, ticket_ref, truncate, MAX_FIELD_VALUE_CHARS};
use crate::domain::TicketRef;
use crate::store::TicketRow;

/// The key on a queued post's body that sends it to its incident's bridge thread (the outbox
/// takes it off before sending).
pub const IN_THREAD: &str = "_in_thread";

/// Longest thread name Discord accepts.
const MAX_THREAD_NAME_CHARS: usize = 100;

/// The body that opens a major incident's bridge thread on its card.
pub fn thread_start(t: &TicketRow) -> Value {
    let name = truncate(&format!("{} {}", ticket_ref(t), t.title), MAX_THREAD_NAME_CHARS);
    json!({ "name": name, "auto_archive_duration": 1440 })
}

/// A post for a major incident's thread.
pub fn in_thread(mut body: Value) -> Value {
    body[IN_THREAD] = json!(true);
    body
}

/// The notice that declares a major incident.
pub fn major_declared(id: TicketRef, title: &str, by: i64, note: Option<&str>) -> String {
    let note = note.map_or_else(String::new, |n| format!(": {n}"));
    format!(
        "🚨 {id} “{title}” is a **major incident**, declared by <@{by}>{note}. The bridge is the thread on its card."
    )
}

/// The first status line of a major incident.
pub fn first_status(by: i64, note: Option<&str>) -> String {
    note.map_or_else(|| format!("Declared major by <@{by}>; investigating."), str::to_owned)
}

/// `/incident major` done.
pub fn major_done(id: TicketRef, has_card: bool) -> String {
    if has_card {
        format!("{id} is a major incident: a thread opens on its card, the card is pinned with its status, and the incident managers are told.")
    } else {
        format!("{id} is a major incident. No incidents channel is set up, so there is no thread or pinned card: ask an admin to run /setup channel purpose:incidents.")
    }
}

/// An update as posted in a major incident's thread.
pub fn thread_update(id: TicketRef, by: i64, note: &str) -> String {
    format!("📝 {id} update from <@{by}>: {note}")
}

/// An update as an affected user hears it.
pub fn affected_update(id: TicketRef, title: &str, note: &str) -> String {
    format!("📝 {id} “{title}”: {note}")
}

/// A resolution as an affected user hears it.
pub fn affected_resolved(id: TicketRef, title: &str, note: &str) -> String {
    format!("✅ {id} “{title}” is resolved: {note}")
}

/// The resolution note of a duplicate.
pub fn duplicate_note(parent: TicketRef) -> String {
    format!("Duplicate of {parent}.")
}

/// The resolution note of a duplicate resolved with its parent.
pub fn resolved_with(parent: TicketRef) -> String {
    format!("Resolved with {parent}.")
}

/// The DM to the reporter of an incident linked to its parent.
pub fn linked_dm(child: TicketRef, parent: TicketRef, title: &str) -> String {
    format!("Your {child} is the same issue as {parent} “{title}”: it is closed as a duplicate, and you will hear {parent}'s updates and its resolution.")
}

/// The notice of a link.
pub fn linked_notice(child: TicketRef, parent: TicketRef, by: i64) -> String {
    format!("🔗 {child} is a duplicate of {parent} (linked by <@{by}>).")
}

/// `/incident link` done.
pub fn linked_done(child: TicketRef, parent: TicketRef, affected: usize) -> String {
    format!("{child} is resolved as a duplicate of {parent}; {parent} has {affected} affected user(s), who hear its updates.")
}

/// `/ticket show` of an incident with duplicates or affected users: extra fields.
pub fn duplicate_fields(t: &TicketRow, duplicates: &[TicketRow], affected: usize) -> Vec<Value> {
    let mut fields = Vec::new();
    if let Some(status) = &t.status_line {
        fields.push(super::field("Status", status, false));
    }
    if !duplicates.is_empty() {
        let lines: Vec<String> = duplicates
            .iter()
            .map(|d| {
                format!(
                    "{} · {} · {}",
                    ticket_ref(d),
                    truncate(&d.title, 60),
                    super::requester(d)
                )
            })
            .collect();
        let name = format!("Duplicates ({})", duplicates.len());
        fields.push(super::field(&name, fit_lines(&lines, MAX_FIELD_VALUE_CHARS), false));
    }
    if affected > 0 || t.major_at.is_some() {
        fields.push(super::field("Affected users", affected.to_string(), true));
    }
    fields
}

/// The same-issue question: nothing is created until they choose.
pub fn same_issue_question(draft_id: i64, candidate: &TicketRow, major: bool) -> Value {
    let id = ticket_ref(candidate);
    let what = if major { "a major incident" } else { "an open incident" };
    let mut v = ephemeral(&format!(
        "Is this {id} – *{}*? It is {what} already being worked on. If it is the same issue, you will hear its updates and its resolution.",
        truncate(&candidate.title, 100)
    ));
    let same = json!({ "type": 2, "style": 1, "label": "Same issue — add me",
                       "custom_id": super::SameIssueButton { draft: draft_id, same: true }.custom_id() });
    let new = json!({ "type": 2, "style": 2, "label": "No, report a new incident",
                      "custom_id": super::SameIssueButton { draft: draft_id, same: false }.custom_id() });
    v["components"] = json!([{ "type": 1, "components": [same, new] }]);
    v
}

/// "Same issue": added as affected.
pub fn added_as_affected(id: TicketRef, already: bool) -> String {
    if already {
        format!("You were already on {id}: you will hear its updates and its resolution.")
    } else {
        format!(
            "Thank you: you are added to {id} and will hear its updates and its resolution. Nothing new was opened."
        )
    }
}

/// A button of the same-issue question: `same:<draft>` adds the member to the candidate,
/// `same-new:<draft>` creates their incident as drafted. The draft is the question's interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SameIssueButton {
    /// The held draft (the interaction that asked).
    pub draft: i64,
    /// "Same issue" (else "report a new incident").
    pub same: bool,
}

impl SameIssueButton {
    /// Its `custom_id`.
    pub fn custom_id(self) -> String {
        if self.same {
            format!("same:{}", self.draft)
        } else {
            format!("same-new:{}", self.draft)
        }
    }

    /// The button a `custom_id` names, if it is one of these.
    pub fn parse(custom_id: &str) -> Option<SameIssueButton> {
        let (verb, arg) = custom_id.split_once(':')?;
        let draft: i64 = arg.parse().ok().filter(|n| *n > 0)?;
        match verb {
            "same" => Some(SameIssueButton { draft, same: true }),
            "same-new" => Some(SameIssueButton { draft, same: false }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_issue_buttons_round_trip() {
        for same in [true, false] {
            let b = SameIssueButton {
                draft: 1_300_000_000_000_000_001,
                same,
            };
            assert_eq!(SameIssueButton::parse(&b.custom_id()), Some(b));
        }
        assert_eq!(SameIssueButton::parse("same:x"), None);
        assert_eq!(SameIssueButton::parse("claim:INC-1"), None);
    }
}
