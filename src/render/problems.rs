//! What the bot says about problems and known errors.

use serde_json::{json, Value};

use super::{ephemeral, field, fit_lines, ticket_ref, truncate, MAX_FIELD_VALUE_CHARS};
use crate::domain::knowledge::KbRef;
use crate::domain::TicketRef;
use crate::store::TicketRow;

/// `/problem new` done.
pub fn problem_opened(id: TicketRef) -> String {
    format!("{id} is open. Link its incidents with /problem link id:{id} incident:INC-n.")
}

/// Linked or unlinked.
pub fn problem_linked(p: TicketRef, inc: TicketRef, link: bool) -> String {
    if link {
        format!("{inc} is linked to {p}.")
    } else {
        format!("{inc} is no longer linked to {p}.")
    }
}

/// The comment a workaround leaves on a linked incident.
pub fn workaround_note(p: TicketRef, workaround: &str) -> String {
    format!("Workaround from {p}: {workaround}")
}

/// The DM to a linked incident's reporter and assignee.
pub fn workaround_dm(inc: TicketRef, title: &str, p: TicketRef, workaround: &str) -> String {
    format!("There is a workaround for {inc} “{title}” (from {p}): {workaround}")
}

/// `/problem workaround` done.
pub fn workaround_done(p: TicketRef, incidents: usize) -> String {
    format!("The workaround for {p} is recorded and posted on {incidents} open linked incident(s).")
}

/// A known-error article's body.
pub fn known_error_body(p: TicketRef, cause: &str, workaround: &str) -> String {
    format!("Cause: {cause}\n\nWorkaround: {workaround}\n\n(Known error {p}.)")
}

/// `/problem known-error` done.
pub fn known_error_done(p: TicketRef, kb: KbRef) -> String {
    format!("{p} is a known error; {kb} publishes its workaround, and intake offers it.")
}

/// The resolution note of an incident fixed with its problem.
pub fn fixed_by(p: TicketRef, fix: &str) -> String {
    format!("Fixed by {p}: {fix}")
}

/// The DM to the reporter of an incident resolved with its problem.
pub fn incident_fixed_dm(inc: TicketRef, title: &str, note: &str) -> String {
    format!("Your {inc} “{title}” is resolved. {note}")
}

/// `/problem resolve` done: the question about its open incidents, if it has any.
pub fn problem_resolved(p: TicketRef, open: &[TicketRow]) -> Value {
    if open.is_empty() {
        return ephemeral(&format!("{p} is resolved. It has no open linked incidents."));
    }
    let lines: Vec<String> = open
        .iter()
        .map(|t| format!("{} · {} · {}", ticket_ref(t), t.state, truncate(&t.title, 60)))
        .collect();
    let mut v = ephemeral(&format!(
        "{p} is resolved. Resolve its {} open linked incident(s) too?\n{}",
        open.len(),
        fit_lines(&lines, 1500)
    ));
    let settle = ProblemButton {
        problem: p.number,
        settle: true,
    };
    let keep = ProblemButton {
        problem: p.number,
        settle: false,
    };
    v["components"] = json!([{ "type": 1, "components": [
        { "type": 2, "style": 3, "label": "Resolve them too", "custom_id": settle.custom_id() },
        { "type": 2, "style": 2, "label": "Leave them open", "custom_id": keep.custom_id() },
    ] }]);
    v
}

/// "Leave them open".
pub fn left_open(p: TicketRef) -> String {
    format!("{p}'s incidents stay as they are.")
}

/// "Resolve them too" done.
pub fn settled(p: TicketRef, n: usize) -> String {
    format!("{n} incident(s) of {p} resolved; closed and cancelled ones were left as they are.")
}

/// `/ticket show` of a problem: its findings and its incidents.
pub fn problem_fields(t: &TicketRow, incidents: &[TicketRow]) -> Vec<Value> {
    let mut fields = Vec::new();
    for (name, value) in [("Root cause", &t.cause), ("Workaround", &t.workaround), ("Fix", &t.fix)] {
        if let Some(v) = value {
            fields.push(field(name, v, false));
        }
    }
    let lines: Vec<String> = incidents
        .iter()
        .map(|i| format!("{} · {} · {}", ticket_ref(i), i.state, truncate(&i.title, 60)))
        .collect();
    let name = format!("Incidents ({})", incidents.len());
    fields.push(field(&name, fit_lines(&lines, MAX_FIELD_VALUE_CHARS), false));
    fields
}

/// The notice that a service keeps having incidents, with **Create problem**.
pub fn recurrence_notice(notice: i64, service: &str, incidents: &[TicketRow], pings: &super::Pings) -> Value {
    let lines: Vec<String> = incidents
        .iter()
        .map(|t| format!("{} · {} · {}", ticket_ref(t), t.state, truncate(&t.title, 60)))
        .collect();
    let text = format!(
        "🔁 {} incidents of **{}** in the last 7 days, none linked to a problem:\n{}",
        incidents.len(),
        truncate(service, 80),
        fit_lines(&lines, 1200)
    );
    let mut v = super::notice(&text, pings);
    v["components"] = json!([{ "type": 1, "components": [
        { "type": 2, "style": 1, "label": "Create problem", "custom_id": super::RecurrenceButton(notice).custom_id() },
    ] }]);
    v
}

/// The title of a problem opened from a recurrence notice.
pub fn recurring_title(service: &str) -> String {
    truncate(&format!("Recurring incidents: {service}"), 100)
}

/// **Create problem** done.
pub fn recurrence_problem_opened(p: TicketRef, linked: &[TicketRef]) -> String {
    let list: Vec<String> = linked.iter().map(ToString::to_string).collect();
    format!("{p} is open with {} linked: {}.", linked.len(), list.join(", "))
}

/// A button of `/problem resolve`: `prb-settle:<n>` or `prb-keep:<n>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProblemButton {
    /// The problem's number.
    pub problem: u32,
    /// Resolve the linked open incidents (else leave them).
    pub settle: bool,
}

impl ProblemButton {
    /// Its `custom_id`.
    pub fn custom_id(self) -> String {
        format!(
            "{}:{}",
            if self.settle { "prb-settle" } else { "prb-keep" },
            self.problem
        )
    }

    /// The button a `custom_id` names, if it is one of these.
    pub fn parse(custom_id: &str) -> Option<ProblemButton> {
        let (verb, n) = custom_id.split_once(':')?;
        let problem = n.parse().ok().filter(|n: &u32| *n > 0)?;
        match verb {
            "prb-settle" => Some(ProblemButton { problem, settle: true }),
            "prb-keep" => Some(ProblemButton { problem, settle: false }),
            _ => None,
        }
    }
}

/// The `Problem` field of an incident's `/ticket show`.
pub fn problem_field(p: TicketRef, title: &str) -> Value {
    field("Problem", format!("{p} · {title}"), false)
}

/// `/problem rca` done.
pub fn rca_recorded(p: TicketRef) -> String {
    format!("The root cause of {p} is recorded.")
}

/// The title of a problem's known-error article.
pub fn known_error_title(problem_title: &str) -> String {
    truncate(&format!("Known error: {problem_title}"), 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_buttons_round_trip() {
        for settle in [true, false] {
            let b = ProblemButton { problem: 4, settle };
            assert_eq!(ProblemButton::parse(&b.custom_id()), Some(b));
        }
        assert_eq!(ProblemButton::parse("prb-settle:0"), None);
    }
}
