//! Words for admins and operators: `/setup show` (every setting and the set-up checklist),
//! `/help`, and the invite link the start-up log and `servicedesk check` print.

use serde_json::{json, Value};

use super::{ephemeral_embeds, field};
use crate::domain::change::ChangeType;
use crate::domain::oncall::Policy;
use crate::domain::setup::{Checklist, Flow, Step};
use crate::domain::sla::Targets;
use crate::domain::text::truncate;
use crate::domain::vote::CabRule;
use crate::domain::{Priority, TicketKind};
use crate::store::SettingsRow;

/// The permissions the bot asks for when invited: View Channels, Send Messages, Embed Links,
/// Read Message History.
pub const INVITE_PERMISSIONS: u64 = (1 << 10) | (1 << 11) | (1 << 14) | (1 << 16);

/// The link that adds the bot to a server with the scopes and permissions it needs.
pub fn invite_url(application_id: u64) -> String {
    format!(
        "https://discord.com/oauth2/authorize?client_id={application_id}&scope=bot+applications.commands&permissions={INVITE_PERMISSIONS}"
    )
}

/// Everything `/setup show` lists.
#[derive(Debug, Clone)]
pub struct SettingsView {
    /// Channels, roles, hours, auto-close.
    pub settings: SettingsRow,
    /// Active catalog item names.
    pub catalog: Vec<String>,
    /// (YYYY-MM-DD, name), in date order.
    pub holidays: Vec<(String, String)>,
    /// SLA targets in force: (kind, priority, targets, set by the guild).
    pub sla: Vec<(TicketKind, Priority, Targets, bool)>,
    /// Escalation policies in force: (priority, policy, set by the guild).
    pub escalation: Vec<(Priority, Policy, bool)>,
    /// CAB rules in force: (change type, rule, set by the guild).
    pub cab: Vec<(ChangeType, CabRule, bool)>,
    /// The set-up checklist.
    pub checklist: Checklist,
    /// Channels whose deliveries fail: (channel, failed messages, the latest error).
    pub failing: Vec<(i64, i64, String)>,
}

/// A flow's name.
pub fn flow_name(flow: Flow) -> &'static str {
    match flow {
        Flow::Requests => "Requests",
        Flow::Incidents => "Incidents",
        Flow::Changes => "Changes",
    }
}

/// What a set-up step is, and the command that does it.
pub fn step_text(step: Step) -> &'static str {
    match step {
        Step::TriageChannel => "a triage channel — /setup channel purpose:triage",
        Step::IncidentsChannel => "an incidents channel — /setup channel purpose:incidents",
        Step::CabChannel => "a CAB channel — /setup channel purpose:cab",
        Step::AgentRole => "an agent role — /setup role purpose:agent",
        Step::CabRole => "a CAB role — /setup role purpose:cab",
        Step::CatalogItem => "a service catalog item — /setup catalog-add",
        Step::OnCall => "someone on call at level 1 — /oncall add level:1",
    }
}

/// `/setup show`: the checklist first (what each flow still needs), then every setting.
pub fn settings(v: &SettingsView) -> Value {
    ephemeral_embeds("", vec![checklist_embed(v), settings_embed(v)])
}

/// Per flow, each set-up step done or not, and deliveries that fail.
fn checklist_embed(v: &SettingsView) -> Value {
    let mut fields: Vec<Value> = Flow::ALL
        .iter()
        .map(|&flow| {
            let lines: Vec<String> = v
                .checklist
                .steps
                .iter()
                .filter(|(f, _, _)| *f == flow)
                .map(|(_, step, done)| format!("{} {}", if *done { "✅" } else { "❌" }, step_text(*step)))
                .collect();
            let ready = v.checklist.missing(flow).is_empty();
            let name = format!("{} — {}", flow_name(flow), if ready { "ready" } else { "not ready" });
            field(&name, lines.join("\n"), false)
        })
        .collect();
    if !v.failing.is_empty() {
        let lines = super::failing_channels(&v.failing);
        fields.push(field(
            "Deliveries failing",
            list_within(lines.into_iter(), super::MAX_FIELD_VALUE_CHARS),
            false,
        ));
    }
    json!({
        "title": "Set-up checklist",
        "color": if v.failing.is_empty() { 0x2ECC71 } else { 0xE67E22 },
        "fields": fields,
    })
}

/// Every setting, with the defaults marked.
fn settings_embed(v: &SettingsView) -> Value {
    let s = &v.settings;
    let ch = |c: Option<i64>| c.map_or_else(|| "not set".to_owned(), |c| format!("<#{c}>"));
    let role = |r: Option<i64>| r.map_or_else(|| "not set".to_owned(), |r| format!("<@&{r}>"));
    let items = if v.catalog.is_empty() {
        "empty — add items with /setup catalog-add".to_owned()
    } else {
        v.catalog.join(", ")
    };
    let holidays = if v.holidays.is_empty() {
        "none — add one with /setup holiday".to_owned()
    } else {
        list_within(
            v.holidays.iter().map(|(day, name)| format!("{day} {name}")),
            super::MAX_FIELD_VALUE_CHARS,
        )
    };
    let mark = |custom: bool| if custom { "" } else { " (default)" };
    let sla: Vec<String> = v
        .sla
        .iter()
        .map(|(kind, p, t, custom)| {
            format!(
                "{} {p}: respond {}, resolve {}{}",
                kind.as_str(),
                t.respond,
                t.resolve,
                mark(*custom)
            )
        })
        .collect();
    let escalation: Vec<String> = v
        .escalation
        .iter()
        .map(|(p, pol, custom)| {
            if pol.escalates {
                format!(
                    "{p}: next level after {}, ack timeout {}, {} more round(s){}",
                    pol.delay,
                    pol.ack_timeout,
                    pol.rounds,
                    mark(*custom)
                )
            } else {
                format!("{p}: pages level 1 once, never escalates{}", mark(*custom))
            }
        })
        .collect();
    let cab: Vec<String> = v
        .cab
        .iter()
        .map(|(t, rule, custom)| {
            format!(
                "{}: {}, vote open {}{}",
                t.as_str(),
                rule.mode,
                rule.voting,
                mark(*custom)
            )
        })
        .collect();
    json!({
        "title": "Service desk settings",
        "color": 0x3498DB,
        "fields": [
            field("Triage channel", ch(s.triage_channel_id), true),
            field("Incidents channel", ch(s.incidents_channel_id), true),
            field("CAB channel", ch(s.cab_channel_id), true),
            field("Agent role", role(s.agent_role_id), true),
            field("Incident manager role", role(s.incident_manager_role_id), true),
            field("CAB role", role(s.cab_role_id), true),
            field("Change manager role", role(s.change_manager_role_id), true),
            field("Business hours", format!("{} {}–{} ({})", s.work_days, s.work_start, s.work_end, s.timezone), true),
            field("Auto-close after", &s.autoclose_after, true),
            field("Holidays", holidays, false),
            field("SLA targets", sla.join("\n"), false),
            field("Escalation", escalation.join("\n"), false),
            field("CAB rules", cab.join("\n"), false),
            field("Service catalog", truncate(&items, super::MAX_FIELD_VALUE_CHARS), false),
        ],
    })
}

/// Lines joined by newlines, as many as fit in `max` characters, then "… and N more".
fn list_within(lines: impl ExactSizeIterator<Item = String>, max: usize) -> String {
    let total = lines.len();
    let mut out = String::new();
    for (i, line) in lines.enumerate() {
        let more = format!("\n… and {} more", total - i);
        if out.chars().count() + line.chars().count() + 1 + more.chars().count() > max {
            out.push_str(&more);
            return out;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&line);
    }
    out
}

/// `/help`: the commands this member may use, grouped by command: (command, [(usage, what)]).
pub fn help(groups: &[(String, Vec<(String, String)>)]) -> Value {
    let fields: Vec<Value> = groups
        .iter()
        .take(25)
        .map(|(command, entries)| {
            let lines = entries.iter().map(|(usage, what)| format!("`{usage}` — {what}"));
            field(
                &format!("/{command}"),
                list_within(lines, super::MAX_FIELD_VALUE_CHARS),
                false,
            )
        })
        .collect();
    let embed = json!({
        "title": "What you can do here",
        "description": "The service desk's commands you may use in this server. Replies that concern only you are visible only to you.",
        "color": 0x3498DB,
        "fields": fields,
    });
    ephemeral_embeds("", vec![embed])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_list_is_cut_with_a_count_of_what_was_left_out() {
        let lines: Vec<String> = (0..200).map(|i| format!("2026-01-{i:03} holiday")).collect();
        let text = list_within(lines.into_iter(), 1024);
        assert!(text.chars().count() <= 1024, "{}", text.chars().count());
        assert!(text.ends_with("more"), "{text}");
        let short = list_within(vec!["a".to_owned(), "b".to_owned()].into_iter(), 1024);
        assert_eq!(short, "a\nb");
    }

    #[test]
    fn the_invite_asks_for_what_the_bot_needs() {
        assert_eq!(INVITE_PERMISSIONS, 84992);
        assert!(invite_url(42).contains("client_id=42&scope=bot+applications.commands&permissions=84992"));
    }
}
