//! The slash-command contract: exactly the JSON the bot registers with Discord.
//!
//! `commands/commands.json` is a snapshot of [`definitions`]; a test regenerates it, fails on any
//! difference, and validates each command against Discord's OpenAPI schema.

use serde_json::{json, Value};

use crate::domain::alert::{SourceKind, MAX_SOURCE_NAME_CHARS};
use crate::domain::change::{ChangeType, Outcome};
use crate::domain::{HoldReason, Level};
use crate::service::HelpAudience;

/// Risk levels in the order `/change new` offers them: lowest first.
pub const RISKS: [Level; 3] = [Level::Low, Level::Medium, Level::High];

/// The names of `all`, for a choice list generated from the domain's values.
fn names<T: Copy>(all: &[T], as_str: impl Fn(T) -> &'static str) -> Vec<&'static str> {
    all.iter().map(|v| as_str(*v)).collect()
}

use crate::domain::text::{
    MAX_DETAILS_CHARS, MAX_ITEM_DESCRIPTION_CHARS, MAX_ITEM_NAME_CHARS, MAX_NOTE_CHARS, MAX_REASON_CHARS,
    MAX_SUMMARY_CHARS,
};

const SUB_COMMAND: u8 = 1;
const STRING: u8 = 3;
const INTEGER: u8 = 4;
const USER: u8 = 6;
const CHANNEL: u8 = 7;
const ROLE: u8 = 8;
const BOOLEAN: u8 = 5;
/// Interaction context "guild": the desk works inside servers only.
const CONTEXT_GUILD: u8 = 0;
/// Channel types offered for desk channels: text and announcement.
const TEXT_CHANNEL_TYPES: [u8; 2] = [0, 5];
/// The Manage Server permission bit: `/setup` is shown only to members who have it (guild
/// admins can change that in Discord; the bot checks every interaction regardless).
const MANAGE_GUILD: &str = "32";

fn command(name: &str, description: &str, options: Vec<Value>) -> Value {
    json!({
        "name": name,
        "type": 1,
        "description": description,
        "options": options,
        "contexts": [CONTEXT_GUILD],
        "integration_types": [0],
    })
}

fn sub(name: &str, description: &str, options: Vec<Value>) -> Value {
    json!({ "type": SUB_COMMAND, "name": name, "description": description, "options": options })
}

fn text(name: &str, description: &str, required: bool, max_length: usize) -> Value {
    json!({
        "type": STRING, "name": name, "description": description, "required": required,
        "min_length": 1, "max_length": max_length,
    })
}

fn autocomplete(name: &str, description: &str, max_length: usize) -> Value {
    let mut v = text(name, description, true, max_length);
    v["autocomplete"] = json!(true);
    v
}

fn choice(name: &str, description: &str, required: bool, values: &[&str]) -> Value {
    let choices: Vec<Value> = values.iter().map(|v| json!({ "name": v, "value": v })).collect();
    json!({ "type": STRING, "name": name, "description": description, "required": required, "choices": choices })
}

fn integer_choice(name: &str, description: &str, values: &[(&str, i64)]) -> Value {
    let choices: Vec<Value> = values.iter().map(|(n, v)| json!({ "name": n, "value": v })).collect();
    json!({ "type": INTEGER, "name": name, "description": description, "required": true, "choices": choices })
}

fn integer(name: &str, description: &str, min: i64, max: i64) -> Value {
    json!({ "type": INTEGER, "name": name, "description": description, "required": true,
            "min_value": min, "max_value": max })
}

fn id_option() -> Value {
    autocomplete("id", "The ticket, e.g. REQ-7", 20)
}

fn change_sub(name: &str, description: &str, mut extra: Vec<Value>) -> Value {
    let mut options = vec![autocomplete("id", "The change, e.g. CHG-7", 20)];
    options.append(&mut extra);
    sub(name, description, options)
}

fn ticket_sub(name: &str, description: &str, mut extra: Vec<Value>) -> Value {
    let mut options = vec![id_option()];
    options.append(&mut extra);
    sub(name, description, options)
}

/// Every command the bot registers, in registration order.
pub fn definitions() -> Value {
    json!([
        setup_command(),
        request_command(),
        ticket_command(),
        incident_command(),
        change_command(),
        oncall_command(),
        alerts_command(),
        queue_command(),
        report_command(),
        sla_command(),
        kb_command(),
        problem_command(),
        help_command(),
    ])
}

#[rustfmt::skip]
fn setup_command() -> Value {
    let priorities = &["P1", "P2", "P3", "P4", "P5"];
    admin_only(command("setup", "Configure the service desk for this server (admins)", vec![
        sub("show", "Show all service desk settings", vec![]),
        sub("deliveries", "Messages the bot could not deliver yet, with a Retry button", vec![]),
        sub("channel", "Choose the channel for triage, incidents or CAB votes", vec![
            choice("purpose", "What the channel is for", true, &["triage", "incidents", "cab"]),
            json!({ "type": CHANNEL, "name": "channel", "description": "The channel", "required": true,
                    "channel_types": TEXT_CHANNEL_TYPES }),
        ]),
        sub("role", "Map a desk role to a Discord role", vec![
            choice("purpose", "Which desk role", true, &["agent", "incident-manager", "cab", "change-manager"]),
            json!({ "type": ROLE, "name": "role", "description": "The Discord role", "required": true }),
        ]),
        sub("catalog-add", "Add an item to the service catalog", vec![
            text("name", "Item name, e.g. Laptop", true, MAX_ITEM_NAME_CHARS),
            text("description", "What people get", true, MAX_ITEM_DESCRIPTION_CHARS),
        ]),
        sub("catalog-remove", "Stop offering a catalog item", vec![
            autocomplete("name", "The item to remove", MAX_ITEM_NAME_CHARS),
        ]),
        sub("hours", "Business hours that business-time SLA targets count in", vec![
            autocomplete("timezone", "IANA time zone, e.g. Europe/Berlin", 60),
            text("days", "Working days, e.g. mon-fri or sun-thu", true, 40),
            text("start", "Start of the working day, HH:MM", true, 5),
            text("end", "End of the working day, HH:MM", true, 5),
        ]),
        sub("holiday", "Add a holiday: business-time clocks skip it", vec![
            text("date", "The day, YYYY-MM-DD", true, 10),
            text("name", "What it is, e.g. New Year", true, MAX_ITEM_NAME_CHARS),
        ]),
        sub("sla", "Set the SLA targets of one kind and priority", vec![
            choice("kind", "Which tickets", true, &["incident", "request"]),
            choice("priority", "Which priority", true, priorities),
            text("respond", "Time to first response: 15m, 4h, 3d (24x7) or 4bh, 3bd (business)", true, 12),
            text("resolve", "Time to resolution, same units", true, 12),
        ]),
        sub("autoclose", "How long a resolved ticket waits before closing itself", vec![
            text("after", "A duration, e.g. 7d or 5bd", true, 12),
        ]),
        sub("escalation", "Escalation of unacknowledged incidents of one priority", vec![
            choice("priority", "Which priority", true, priorities),
            text("delay", "Wait before paging the next level, e.g. 15m", true, 12),
            text("ack-timeout", "Acknowledged but no update for this long: page again, e.g. 30m", true, 12),
            integer("rounds", "Extra rounds through the levels after the last one", 0, 9),
        ]),
        sub("cab", "How the CAB decides normal or emergency changes", vec![
            choice("rule", "Which changes", true, &["normal", "emergency"]),
            choice("mode", "any: one approval; all: everyone; quorum: count approvals", true, &["any", "all", "quorum"]),
            integer("count", "Approvals needed for quorum (ignored otherwise)", 1, 25),
            text("voting", "How long the vote stays open, e.g. 24h or 1h", true, 12),
        ]),
    ]))
}

#[rustfmt::skip]
fn request_command() -> Value {
    command("request", "Service requests", vec![
        sub("new", "Ask the service desk for something from the catalog", vec![
            autocomplete("item", "What you need, from the service catalog", MAX_ITEM_NAME_CHARS),
            text("summary", "One line: what you need", true, MAX_SUMMARY_CHARS),
            text("details", "Anything the desk should know", false, MAX_DETAILS_CHARS),
        ]),
        sub("mine", "Your open tickets", vec![]),
    ])
}

#[rustfmt::skip]
fn ticket_command() -> Value {
    let user = |description: &str| json!({ "type": USER, "name": "user", "description": description, "required": true });
    let priorities = &["P1", "P2", "P3", "P4", "P5"];
    command("ticket", "Work with a ticket", vec![
        ticket_sub("show", "Show a ticket: state, priority, people, SLA, timeline", vec![]),
        ticket_sub("comment", "Add a comment to a ticket", vec![text("text", "Your comment", true, MAX_NOTE_CHARS)]),
        ticket_sub("claim", "Take a ticket (agents)", vec![]),
        ticket_sub("assign", "Give a ticket to an agent (agents)", vec![user("The agent")]),
        ticket_sub("hold", "Put a ticket on hold; its resolution clock pauses (agents)", vec![
            choice("reason", "What it waits for", true, &names(&HoldReason::ALL, HoldReason::as_str)),
            text("note", "What is needed (sent to the requester when awaiting them)", false, MAX_NOTE_CHARS),
        ]),
        ticket_sub("resume", "Take a ticket off hold (agents)", vec![]),
        ticket_sub("resolve", "Resolve a ticket with a note for the requester (agents)", vec![
            text("note", "What was done", true, MAX_NOTE_CHARS),
        ]),
        ticket_sub("reopen", "Reopen a resolved ticket", vec![text("reason", "Why it is not fixed", true, MAX_REASON_CHARS)]),
        ticket_sub("close", "Confirm a resolved ticket and close it", vec![]),
        ticket_sub("cancel", "Withdraw an open ticket", vec![text("reason", "Why", false, MAX_REASON_CHARS)]),
        ticket_sub("priority", "Change a ticket's priority (agents)", vec![
            choice("priority", "P1 critical … P5 planning", true, priorities),
        ]),
        ticket_sub("history", "The full audit trail of a ticket", vec![]),
    ])
}

#[rustfmt::skip]
fn incident_command() -> Value {
    command("incident", "Incidents: something is broken", vec![
        sub("new", "Report an incident; the on-call engineer is paged", vec![
            text("title", "What is broken, in one line", true, MAX_SUMMARY_CHARS),
            choice("impact", "How many people or how much of the service it hits", true, &names(&Level::ALL, Level::as_str)),
            choice("urgency", "How fast it hurts", true, &names(&Level::ALL, Level::as_str)),
            text("details", "What you see, since when", false, MAX_DETAILS_CHARS),
            text("service", "The affected service, e.g. VPN", false, 80),
        ]),
        ticket_sub("ack", "Acknowledge an incident you are paged for", vec![]),
        ticket_sub("update", "Post progress on an incident", vec![text("note", "The update", true, MAX_NOTE_CHARS)]),
        ticket_sub("escalate", "Page the next on-call level now", vec![]),
        ticket_sub("major", "Declare a major incident: a bridge thread, a pinned status, the incident managers told", vec![
            text("note", "What is known so far (the first status line)", false, MAX_NOTE_CHARS),
        ]),
        ticket_sub("link", "Resolve an incident as a duplicate of another: its reporter hears the other's updates", vec![
            text("parent", "The incident it duplicates, e.g. INC-12", true, 20),
        ]),
    ])
}

#[rustfmt::skip]
fn change_command() -> Value {
    command("change", "Changes and the change advisory board", vec![
        sub("new", "Plan a change; normal and emergency changes go to the CAB", vec![
            text("title", "What changes, in one line", true, MAX_SUMMARY_CHARS),
            choice("type", "standard (pre-approved, low risk), normal or emergency", true, &names(&ChangeType::ALL, ChangeType::as_str)),
            choice("risk", "How risky it is", true, &names(&RISKS, Level::as_str)),
            text("start", "Window start, YYYY-MM-DD HH:MM in the server's time zone", true, 16),
            text("end", "Window end, YYYY-MM-DD HH:MM", true, 16),
            text("plan", "How it will be done", true, MAX_DETAILS_CHARS),
            text("backout", "How to undo it if it goes wrong", true, MAX_DETAILS_CHARS),
        ]),
        change_sub("approve", "Vote for a change (CAB)", vec![]),
        change_sub("reject", "Vote against a change (CAB)", vec![text("reason", "Why", true, MAX_REASON_CHARS)]),
        change_sub("start", "Start implementing a scheduled change (author, change managers)", vec![]),
        change_sub("complete", "Finish a change with its outcome (author, change managers)", vec![
            choice("outcome", "How it went", true, &names(&Outcome::ALL, Outcome::as_str)),
            text("notes", "What happened", true, MAX_NOTE_CHARS),
        ]),
        change_sub("cancel", "Withdraw a change before implementation", vec![text("reason", "Why", false, MAX_REASON_CHARS)]),
        sub("blackout", "No changes in this window (change managers)", vec![
            text("start", "From, YYYY-MM-DD HH:MM", true, 16),
            text("end", "Until, YYYY-MM-DD HH:MM", true, 16),
            text("reason", "Why, e.g. year-end close", true, MAX_REASON_CHARS),
        ]),
        sub("calendar", "Scheduled changes and blackouts ahead", vec![integer("days", "How many days ahead", 1, 90)]),
    ])
}

#[rustfmt::skip]
fn oncall_command() -> Value {
    let user = |description: &str| json!({ "type": USER, "name": "user", "description": description, "required": true });
    command("oncall", "On-call schedule", vec![
        sub("who", "Who is on call now at each level", vec![]),
        sub("add", "Add someone to a level's rotation (incident managers)", vec![
            integer("level", "Escalation level", 1, 3),
            user("Who"),
        ]),
        sub("remove", "Remove someone from a level's rotation (incident managers)", vec![
            integer("level", "Escalation level", 1, 3),
            user("Who"),
        ]),
        sub("rotation", "Set a level's turn length and start (incident managers)", vec![
            integer("level", "Escalation level", 1, 3),
            integer("hours", "Length of one turn in hours, e.g. 168 for a week", 1, 8784),
            text("start", "First handover, YYYY-MM-DD HH:MM in the server's time zone", true, 16),
        ]),
        sub("override", "Someone covers a level for a while (incident managers)", vec![
            integer("level", "Escalation level", 1, 3),
            user("Who covers"),
            text("start", "From, YYYY-MM-DD HH:MM", true, 16),
            text("end", "Until, YYYY-MM-DD HH:MM", true, 16),
        ]),
    ])
}

#[rustfmt::skip]
fn alerts_command() -> Value {
    command("alerts", "Monitoring sources that raise incidents (incident managers)", vec![
        sub("source-add", "Add a source (Alertmanager, Grafana, Events API) and get its token", vec![
            text("name", "Name: a-z, 0-9 and -, e.g. prometheus-prod", true, MAX_SOURCE_NAME_CHARS),
            choice("kind", "What sends the events", true, &names(&SourceKind::ALL, SourceKind::as_str)),
            text("grace", "How long every alert stays resolved before the incident resolves: 5m, 0m …", false, 8),
            json!({ "type": BOOLEAN, "name": "hmac", "description": "Require Grafana's HMAC signature (grafana only)",
                    "required": false }),
        ]),
        sub("source-list", "Each source: kind, grace, last event, events, open incidents", vec![]),
        sub("source-remove", "Remove a source: its token stops working", vec![
            text("name", "The source", true, MAX_SOURCE_NAME_CHARS),
        ]),
        sub("source-rotate", "A new token for a source; the old one stops working at once", vec![
            text("name", "The source", true, MAX_SOURCE_NAME_CHARS),
        ]),
    ])
}

#[rustfmt::skip]
fn queue_command() -> Value {
    command("queue", "Open tickets for agents, soonest SLA due first", vec![
        choice("kind", "Only this kind", false, &["request", "incident", "change"]),
        choice("filter", "Narrow the list", false, &["unassigned", "mine", "breaching"]),
    ])
}

#[rustfmt::skip]
fn report_command() -> Value {
    command("report", "Desk figures and a chart for the last 7, 30 or 90 days (agents, managers)", vec![
        integer_choice("days", "How far back", &[("7 days", 7), ("30 days", 30), ("90 days", 90)]),
    ])
}

#[rustfmt::skip]
fn sla_command() -> Value {
    command("sla", "Service level clocks", vec![
        ticket_sub("show", "Each SLA clock of a ticket: target, elapsed, remaining or breached", vec![]),
    ])
}

#[rustfmt::skip]
fn kb_command() -> Value {
    let article = || text("id", "The article, e.g. KB-3", true, 12);
    command("kb", "The knowledge base: answers before tickets", vec![
        sub("add", "Write an article (agents); the answer goes in a form", vec![
            text("title", "What it answers, in one line", true, crate::domain::knowledge::MAX_TITLE_CHARS),
            text("tags", "Tags, e.g. printer, vpn", false, crate::domain::knowledge::MAX_TAGS_CHARS),
        ]),
        sub("edit", "Change an article (agents)", vec![article()]),
        sub("retire", "Stop offering an article (agents)", vec![article()]),
        sub("show", "Read an article", vec![article()]),
        sub("search", "Find articles, best matches first", vec![
            autocomplete("query", "What you are looking for", crate::domain::knowledge::MAX_TITLE_CHARS),
        ]),
    ])
}

#[rustfmt::skip]
fn problem_command() -> Value {
    let problem = || text("id", "The problem, e.g. PRB-2", true, 20);
    let incident = || text("incident", "The incident, e.g. INC-12", true, 20);
    let states = names(&super::problem::LISTED_STATES, crate::domain::TicketState::as_str);
    command("problem", "Problems: the causes behind incidents (agents, incident managers)", vec![
        sub("new", "Open a problem", vec![
            text("title", "What keeps going wrong, in one line", true, MAX_SUMMARY_CHARS),
            text("details", "What is known so far", false, MAX_DETAILS_CHARS),
            text("service", "The affected service, e.g. VPN", false, 80),
        ]),
        sub("link", "Link an incident to the problem (an incident has one problem)", vec![problem(), incident()]),
        sub("unlink", "Unlink an incident", vec![problem(), incident()]),
        sub("rca", "Record the root cause", vec![problem(), text("cause", "The root cause", true, MAX_DETAILS_CHARS)]),
        sub("workaround", "Record the workaround; its open incidents hear of it", vec![
            problem(), text("text", "The workaround", true, MAX_DETAILS_CHARS),
        ]),
        sub("known-error", "Cause and workaround known: publish a known-error article", vec![problem()]),
        sub("resolve", "Record the fix; asks whether to resolve its open incidents", vec![
            problem(), text("fix", "The fix", true, MAX_DETAILS_CHARS),
        ]),
        sub("show", "Show a problem, its findings and its incidents", vec![problem()]),
        sub("list", "Open problems, or those in one state", vec![choice("state", "Only this state", false, &states)]),
    ])
}

#[rustfmt::skip]
fn help_command() -> Value {
    command("help", "The service desk commands you may use here", vec![])
}
fn admin_only(mut command: Value) -> Value {
    command["default_member_permissions"] = json!(MANAGE_GUILD);
    command
}

/// Who a command (or subcommand) is for; `/help` lists only what the member may use. The bot
/// checks rights on every interaction; this table only decides what `/help` shows.
pub fn audience(command: &str, sub: Option<&str>) -> HelpAudience {
    use HelpAudience::*;
    match (command, sub.unwrap_or_default()) {
        ("setup", "escalation") => IncidentManagers,
        ("setup", _) => Admins,
        ("ticket", "claim" | "assign" | "hold" | "resume" | "resolve" | "priority") => Agents,
        ("incident", "ack" | "update" | "escalate" | "link") => Responders,
        ("incident", "major") => IncidentManagers,
        ("change", "approve" | "reject") => Cab,
        ("change", "blackout") => ChangeManagers,
        ("oncall", "add" | "remove" | "rotation" | "override") => IncidentManagers,
        ("alerts", _) => IncidentManagers,
        ("kb", "add" | "edit" | "retire") => Agents,
        ("problem", _) => Agents,
        ("queue", _) => Agents,
        ("report", _) => Managers,
        _ => Anyone,
    }
}

/// The registered commands a member may use, grouped by command: (command, [(usage, what)]),
/// in registration order. `may` says whether an audience includes the member.
pub fn usable(may: impl Fn(HelpAudience) -> bool) -> Vec<(String, Vec<(String, String)>)> {
    let defs = definitions();
    let mut groups = Vec::new();
    for c in defs.as_array().into_iter().flatten() {
        let name = c["name"].as_str().unwrap_or_default();
        let subs: Vec<&Value> = c["options"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|o| o["type"] == SUB_COMMAND)
            .collect();
        let description = |v: &Value| v["description"].as_str().unwrap_or_default().to_owned();
        let entries: Vec<(String, String)> = if subs.is_empty() {
            may(audience(name, None))
                .then(|| (format!("/{name}"), description(c)))
                .into_iter()
                .collect()
        } else {
            subs.into_iter()
                .filter_map(|sub| {
                    let s = sub["name"].as_str().unwrap_or_default();
                    may(audience(name, Some(s))).then(|| (format!("/{name} {s}"), description(sub)))
                })
                .collect()
        };
        if !entries.is_empty() {
            groups.push((name.to_owned(), entries));
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SPEC §7: names ≤ 32, descriptions ≤ 100, ≤ 25 options; lower case names.
    #[test]
    fn every_name_and_description_is_within_discords_limits() {
        fn check(v: &Value) {
            let name = v["name"].as_str().unwrap();
            assert!(!name.is_empty() && name.len() <= 32, "{name}");
            assert_eq!(name, name.to_lowercase(), "{name}");
            let d = v["description"].as_str().unwrap();
            assert!(!d.is_empty() && d.chars().count() <= 100, "{name}: {d}");
            if let Some(opts) = v["options"].as_array() {
                assert!(opts.len() <= 25, "{name}");
                opts.iter().for_each(check);
            }
        }
        definitions().as_array().unwrap().iter().for_each(check);
    }

    #[test]
    fn a_member_is_shown_only_what_members_may_use() {
        let member = usable(|a| a == HelpAudience::Anyone);
        let names: Vec<&str> = member.iter().map(|(c, _)| c.as_str()).collect();
        assert!(
            !names.contains(&"setup") && !names.contains(&"queue") && !names.contains(&"report"),
            "{names:?}"
        );
        let ticket = &member.iter().find(|(c, _)| c == "ticket").unwrap().1;
        assert!(ticket.iter().any(|(u, _)| u == "/ticket show"));
        assert!(!ticket.iter().any(|(u, _)| u == "/ticket claim"));
        let everything = usable(|_| true);
        let subcommands: usize = everything.iter().map(|(_, e)| e.len()).sum();
        let registered: usize = definitions()
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                c["options"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|o| o["type"] == SUB_COMMAND)
                    .count()
                    .max(1)
            })
            .sum();
        assert_eq!(subcommands, registered, "an admin with every role sees every command");
    }

    #[test]
    fn setup_is_shown_to_server_managers_only() {
        let defs = definitions();
        let setup = defs.as_array().unwrap().iter().find(|c| c["name"] == "setup").unwrap();
        assert_eq!(setup["default_member_permissions"], "32");
    }
}
