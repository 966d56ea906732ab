//! Every message the bot shows, built from stored values as Discord JSON bodies.
//!
//! The gateway uses it for interaction replies and the service for outbox messages (written in
//! the same transaction as their cause), so it sits beside both rather than inside the gateway.
//! Only this module decides whom a message pings: every body carries `allowed_mentions` with
//! `parse: []` and exactly the users and roles meant.

use serde_json::{json, Value};

use crate::domain::duration::human_seconds;
use crate::domain::text::truncate;
use crate::domain::{Priority, TicketKind, TicketRef, TicketState};
use crate::store::{AuditRow, TicketRow};

mod alerts;
mod buttons;
mod changes;
mod deliveries;
mod digest;
mod incidents;
mod knowledge;
mod major;
mod ops;
mod problems;
pub mod refusals;
mod setup;
mod tickets;
pub use alerts::*;
pub use buttons::*;
pub use changes::*;
pub use deliveries::*;
pub use digest::*;
pub use incidents::*;
pub use knowledge::*;
pub use major::*;
pub use ops::*;
pub use problems::*;
pub use setup::*;
pub use tickets::*;

/// Discord's limit on message content.
pub const MAX_CONTENT_CHARS: usize = 2000;
/// Discord's limit on an embed description.
pub const MAX_EMBED_DESCRIPTION_CHARS: usize = 4096;
/// Discord's limit on an embed field value.
pub const MAX_FIELD_VALUE_CHARS: usize = 1024;
/// Discord's limit on an embed title.
pub const MAX_EMBED_TITLE_CHARS: usize = 256;
/// Message flag: only the person who used the command sees the reply.
pub const EPHEMERAL: u64 = 1 << 6;

/// Whom a message may ping.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pings {
    /// Users to ping.
    pub users: Vec<i64>,
    /// Roles to ping.
    pub roles: Vec<i64>,
}

impl Pings {
    /// Nobody.
    pub fn none() -> Pings {
        Pings::default()
    }

    /// One user.
    pub fn user(id: i64) -> Pings {
        Pings {
            users: vec![id],
            roles: vec![],
        }
    }

    /// One role.
    pub fn role(id: i64) -> Pings {
        Pings {
            users: vec![],
            roles: vec![id],
        }
    }

    /// The `allowed_mentions` object: nothing parsed from text, only these ids.
    pub fn allowed_mentions(&self) -> Value {
        let ids = |v: &[i64]| v.iter().map(|i| Value::String(i.to_string())).collect::<Vec<_>>();
        let mut users = self.users.clone();
        users.dedup();
        json!({ "parse": [], "users": ids(&users), "roles": ids(&self.roles) })
    }

    /// The mention text to put in `content` so the pings happen.
    pub fn mention_text(&self) -> String {
        let mut parts: Vec<String> = self.users.iter().map(|u| format!("<@{u}>")).collect();
        parts.extend(self.roles.iter().map(|r| format!("<@&{r}>")));
        parts.join(" ")
    }
}

/// The human id of a stored ticket.
pub fn ticket_ref(t: &TicketRow) -> TicketRef {
    TicketRef::new(t.kind, u32::try_from(t.number).unwrap_or(0))
}

/// A ticket's colour follows its priority (P1 red … P5 grey), so a triggered P1 never looks
/// like a new P4; the state is in the text.
pub fn colour(p: Priority) -> u32 {
    match p.number() {
        1 => 0xE74C3C,
        2 => 0xE67E22,
        3 => 0xF1C40F,
        4 => 0x3498DB,
        _ => 0x95A5A6,
    }
}

/// One running SLA clock as a card shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardClock {
    /// `Response` or `Resolution`.
    pub label: &'static str,
    /// When it falls due (unix ms).
    pub due_at: i64,
    /// Paused (on hold): the due time moves out.
    pub paused: bool,
    /// Already breached.
    pub breached: bool,
}

/// Who raised a ticket: a member, or the monitoring source that raised an incident.
pub fn requester(t: &TicketRow) -> String {
    match &t.alert_source {
        Some(source) => format!("🔔 monitoring: {source}"),
        None => user_or(Some(t.requester_id), "—"),
    }
}

fn user_or(id: Option<i64>, none: &str) -> String {
    id.map_or_else(|| none.to_owned(), |u| format!("<@{u}>"))
}

/// Discord's timestamp markup, shown in each reader's own time zone.
pub fn when(ms: i64) -> String {
    format!("<t:{}:f>", ms.div_euclid(1000))
}

/// A due time or deadline: the date in each reader's zone and how far away, "in 2 hours".
pub fn due(ms: i64) -> String {
    let s = ms.div_euclid(1000);
    format!("<t:{s}:f> (<t:{s}:R>)")
}

/// A window from `start` to `end`, in each reader's zone, with how far away it starts.
pub fn window(start: i64, end: i64) -> String {
    let (s, e) = (start.div_euclid(1000), end.div_euclid(1000));
    format!("<t:{s}:f> – <t:{e}:f> (<t:{s}:R>)")
}

pub(crate) fn field(name: &str, value: impl AsRef<str>, inline: bool) -> Value {
    let v = value.as_ref();
    let v = if v.trim().is_empty() { "—" } else { v };
    json!({ "name": name, "value": truncate(v, MAX_FIELD_VALUE_CHARS), "inline": inline })
}

fn title_of(t: &TicketRow) -> String {
    truncate(&format!("{} · {}", ticket_ref(t), t.title), MAX_EMBED_TITLE_CHARS)
}

/// The embed that describes a ticket (its card, and `/ticket show`), with the due times of its
/// running SLA clocks.
pub fn ticket_embed(t: &TicketRow, clocks: &[CardClock]) -> Value {
    let mut state_text = t.state.to_string();
    if let Some(reason) = &t.hold_reason {
        state_text = format!("{state_text} ({reason})");
    }
    let p = t.priority;
    let mut fields = vec![
        field("State", state_text, true),
        field("Priority", format!("{p} ({})", p.label()), true),
        field("Requester", requester(t), true),
        field("Assignee", user_or(t.assignee_id, "unassigned"), true),
    ];
    if let Some(item) = &t.catalog_item {
        fields.push(field("Item", item, true));
    }
    if let Some(service) = &t.service {
        fields.push(field("Service", service, true));
    }
    fields.push(field("Opened", when(t.created_at), true));
    if let Some(status) = &t.alert_status {
        fields.push(field("Alerts", status, false));
    }
    if let (Some(_), Some(status)) = (t.major_at, &t.status_line) {
        fields.push(field("Status", status, false));
    }
    if let Some(articles) = &t.kb_suggestions {
        fields.push(field("Might help", articles, false));
    }
    for c in clocks {
        let value = if c.breached {
            format!("**breached** — was due {}", due(c.due_at))
        } else if c.paused {
            "paused while on hold".to_owned()
        } else {
            due(c.due_at)
        };
        fields.push(field(&format!("{} due", c.label), value, true));
    }
    if let Some(note) = &t.resolution_note {
        if t.state == TicketState::Resolved || t.state == TicketState::Closed {
            fields.push(field("Resolution", note, false));
        }
    }
    json!({
        "title": title_of(t),
        "description": truncate(t.details.as_deref().unwrap_or(""), MAX_EMBED_DESCRIPTION_CHARS),
        "color": colour(p),
        "fields": fields,
    })
}

fn button(label: &str, style: u8, custom_id: String, disabled: bool) -> Value {
    json!({ "type": 2, "style": style, "label": label, "custom_id": custom_id, "disabled": disabled })
}

/// The buttons under a ticket's card, by kind and state; none once the ticket is finished.
pub fn card_components(t: &TicketRow) -> Value {
    if !t.state.is_open() {
        return json!([]);
    }
    let id = ticket_ref(t);
    let first = match id.kind {
        Some(TicketKind::Incident) => button(
            "Acknowledge",
            1,
            CardButton::Ack(id).custom_id(),
            t.state != TicketState::Triggered,
        ),
        _ => button("Claim", 1, CardButton::Claim(id).custom_id(), t.assignee_id.is_some()),
    };
    let mut rows = vec![
        json!({ "type": 1, "components": [first, button("Resolve", 3, CardButton::Resolve(id).custom_id(), false)] }),
    ];
    let links = card_links(t);
    if !links.is_empty() {
        rows.push(json!({ "type": 1, "components": links }));
    }
    Value::Array(rows)
}

/// The link buttons a monitored incident's card carries (source, dashboard, silence, runbook).
fn card_links(t: &TicketRow) -> Vec<Value> {
    let links: Vec<(String, String)> = t
        .links
        .as_deref()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_default();
    links
        .into_iter()
        .take(5)
        .map(|(label, url)| json!({ "type": 2, "style": 5, "label": truncate(&label, 80), "url": url }))
        .collect()
}

/// The card: the post in the triage (or incidents) channel that carries the ticket's buttons.
/// The outbox renders it again at delivery, with the clocks as they are then.
pub fn ticket_card(t: &TicketRow, pings: &Pings, clocks: &[CardClock]) -> Value {
    let id = ticket_ref(t);
    let mut content = format!("**{id}** {}", t.state);
    if t.major_at.is_some() {
        content = format!("🚨 **MAJOR** {content}");
    }
    let mention = pings.mention_text();
    if !mention.is_empty() {
        content = format!("{mention} {content}");
    }
    json!({
        "content": content,
        "embeds": [ticket_embed(t, clocks)],
        "components": card_components(t),
        "allowed_mentions": pings.allowed_mentions(),
    })
}

/// A plain message body with the given pings and optional embed.
pub fn message(content: &str, pings: &Pings) -> Value {
    json!({
        "content": truncate(content, MAX_CONTENT_CHARS),
        "allowed_mentions": pings.allowed_mentions(),
    })
}

/// A notice in a channel: mention first, then the text.
pub fn notice(text: &str, pings: &Pings) -> Value {
    let mention = pings.mention_text();
    let content = if mention.is_empty() {
        text.to_owned()
    } else {
        format!("{mention} {text}")
    };
    message(&content, pings)
}

/// A notice to act on: **Claim** while nobody has the ticket (and it is open), and a link to
/// its card once the card is posted.
pub fn actionable_notice(t: &TicketRow, text: &str, pings: &Pings, guild: i64) -> Value {
    let mut body = notice(text, pings);
    let id = ticket_ref(t);
    if t.assignee_id.is_none() && t.state.is_open() {
        body["components"] =
            json!([{ "type": 1, "components": [button("Claim", 1, CardButton::Claim(id).custom_id(), false)] }]);
    }
    if let Some(channel) = t.card_channel_id {
        add_link_button(
            &mut body,
            "Open the card",
            &discord_link(guild, channel, t.card_message_id),
        );
    }
    body
}

/// Ephemeral reply data (inside an interaction callback or a deferred edit).
pub fn ephemeral(content: &str) -> Value {
    json!({
        "content": truncate(content, MAX_CONTENT_CHARS),
        "flags": EPHEMERAL,
        "allowed_mentions": Pings::none().allowed_mentions(),
    })
}

/// Ephemeral reply with embeds.
pub fn ephemeral_embeds(content: &str, embeds: Vec<Value>) -> Value {
    let mut v = ephemeral(content);
    v["embeds"] = Value::Array(embeds.into_iter().take(10).collect());
    v
}

/// One line of the timeline, e.g. `• 12 Mar 14:02 <@1> state new → in progress`.
pub fn timeline_line(a: &AuditRow) -> String {
    let who = match (&a.actor_id, &a.actor_source) {
        (None, Some(source)) => format!("monitoring ({source})"),
        _ => user_or(a.actor_id, "the desk"),
    };
    let what = match (a.action.as_str(), &a.old_value, &a.new_value) {
        ("created", _, _) => "opened the ticket".to_owned(),
        ("comment", _, _) => "commented".to_owned(),
        ("assignee", _, Some(n)) => format!("assigned it to <@{n}>"),
        ("assignee", Some(_), None) => "unassigned it".to_owned(),
        (action, Some(o), Some(n)) => format!("{action}: {o} → {n}"),
        (action, None, Some(n)) => format!("{action}: {n}"),
        (action, _, _) => action.to_owned(),
    };
    let detail = a
        .detail
        .as_deref()
        .map(|d| format!(" — {}", truncate(d, 180)))
        .unwrap_or_default();
    format!("• {} {who} {what}{detail}", when(a.at))
}

/// `/ticket show`: the ticket, its SLA clocks and its latest timeline entries.
pub fn ticket_details(t: &TicketRow, sla: &[(String, String)], timeline: &[AuditRow]) -> Value {
    let mut embed = ticket_embed(t, &[]); // the SLA lines below say more
    let lines: Vec<String> = timeline.iter().map(timeline_line).collect();
    if let Some(fields) = embed["fields"].as_array_mut() {
        for (name, value) in sla {
            fields.push(field(name, value, false));
        }
        fields.push(field("Timeline", fit_lines(&lines, MAX_FIELD_VALUE_CHARS), false));
    }
    ephemeral_embeds("", vec![embed])
}

/// `/sla show`: each clock of the ticket's current cycle.
pub fn sla_details(t: &TicketRow, sla: &[(String, String)]) -> Value {
    let fields: Vec<Value> = sla.iter().map(|(n, v)| field(n, v, false)).collect();
    let description = if fields.is_empty() {
        "This ticket has no SLA clocks."
    } else {
        ""
    };
    let embed = json!({
        "title": title_of(t),
        "description": description,
        "color": colour(t.priority),
        "fields": fields,
    });
    ephemeral_embeds("", vec![embed])
}

/// Joins the last lines that fit into `max` characters (older ones are dropped first).
pub fn fit_lines(lines: &[String], max: usize) -> String {
    let mut out: Vec<&str> = Vec::new();
    let mut len = 0;
    for l in lines.iter().rev() {
        let n = l.chars().count() + 1;
        if len + n > max {
            break;
        }
        len += n;
        out.push(l);
    }
    out.reverse();
    out.join("\n")
}

/// `/ticket history`: every audit row of a ticket that fits.
pub fn ticket_history(t: &TicketRow, rows: &[AuditRow]) -> Value {
    let lines: Vec<String> = rows.iter().map(timeline_line).collect();
    let embed = json!({
        "title": title_of(t),
        "description": fit_lines(&lines, MAX_EMBED_DESCRIPTION_CHARS),
        "color": colour(t.priority),
    });
    ephemeral_embeds("", vec![embed])
}

/// One line per ticket for lists (`/request mine`, `/queue`).
pub fn ticket_line(t: &TicketRow, now_ms: i64) -> String {
    format!(
        "**{}** {} · {} · {} · {} · opened {} ago",
        ticket_ref(t),
        t.priority,
        t.state,
        truncate(&t.title, 60),
        user_or(t.assignee_id, "unassigned"),
        human_seconds((now_ms - t.created_at) / 1000),
    )
}

/// A list of tickets as an ephemeral reply.
pub fn ticket_list(heading: &str, tickets: &[TicketRow], empty: &str, now_ms: i64) -> Value {
    if tickets.is_empty() {
        return ephemeral(empty);
    }
    let lines: Vec<String> = tickets.iter().map(|t| ticket_line(t, now_ms)).collect();
    let mut body = fit_lines(&lines, MAX_EMBED_DESCRIPTION_CHARS);
    let shown = body.lines().count();
    if shown < lines.len() {
        body = format!("{body}\n… and {} more", lines.len() - shown);
    }
    ephemeral_embeds(heading, vec![json!({ "description": body, "color": 0x3498DB })])
}

/// The modal that asks for a resolution note.
pub fn resolve_modal(id: TicketRef) -> Value {
    text_modal(
        &CardForm::ResolveNote(id).custom_id(),
        &format!("Resolve {id}"),
        ModalInput {
            custom_id: "note",
            label: "Resolution note",
            max_length: crate::domain::text::MAX_NOTE_CHARS,
            placeholder: "What was done, so the requester can confirm",
        },
    )
}

/// The one text field of a form.
pub struct ModalInput {
    /// The field's id in the submission.
    pub custom_id: &'static str,
    /// Its label (≤ 45 characters).
    pub label: &'static str,
    /// Most characters.
    pub max_length: usize,
    /// Grey hint text.
    pub placeholder: &'static str,
}

/// A form (callback type 9) with one required paragraph field.
pub fn text_modal(custom_id: &str, title: &str, input: ModalInput) -> Value {
    json!({
        "type": 9,
        "data": {
            "custom_id": custom_id,
            "title": truncate(title, 45),
            "components": [{
                "type": 1,
                "components": [{
                    "type": 4,
                    "custom_id": input.custom_id,
                    "label": input.label,
                    "style": 2,
                    "min_length": 1,
                    "max_length": input.max_length,
                    "required": true,
                    "placeholder": input.placeholder
                }]
            }]
        }
    })
}

/// The CAB vote card of a change: details, conflicts, the running tally and, while voting, the
/// Approve and Reject buttons.
pub fn change_card(
    t: &TicketRow,
    c: &crate::store::ChangeRow,
    voters: &[i64],
    votes: &[(i64, String, Option<String>)],
) -> Value {
    let id = ticket_ref(t);
    let approvals: Vec<String> = votes
        .iter()
        .filter(|v| v.1 == "approve")
        .map(|v| format!("<@{}>", v.0))
        .collect();
    let rejections: Vec<String> = votes
        .iter()
        .filter(|v| v.1 == "reject")
        .map(|v| format!("<@{}>: {}", v.0, truncate(v.2.as_deref().unwrap_or(""), 100)))
        .collect();
    let waiting: Vec<String> = voters
        .iter()
        .filter(|u| !votes.iter().any(|v| v.0 == **u))
        .map(|u| format!("<@{u}>"))
        .collect();
    let rule = match (c.vote_mode.as_deref(), c.vote_count) {
        (Some("quorum"), Some(k)) => format!("quorum {k}"),
        (Some(m), _) => m.to_owned(),
        _ => "pre-approved".to_owned(),
    };
    let mut fields = vec![
        field("State", t.state.as_str(), true),
        field("Type", c.change_type.as_deref().unwrap_or(""), true),
        field("Risk", c.risk.as_deref().unwrap_or(""), true),
        field(
            "Window",
            match (c.window_start, c.window_end) {
                (Some(s), Some(e)) => window(s, e),
                _ => String::new(),
            },
            false,
        ),
        field("Author", format!("<@{}>", t.requester_id), true),
        field("Rule", &rule, true),
        field("Vote closes", c.vote_deadline.map(due).unwrap_or_default(), true),
        field("Plan", c.plan.as_deref().unwrap_or(""), false),
        field("Backout", c.backout.as_deref().unwrap_or(""), false),
        field(
            "Tally",
            format!(
                "✅ {} {}\n❌ {} {}\n⏳ {}",
                approvals.len(),
                approvals.join(" "),
                rejections.len(),
                rejections.join("; "),
                if waiting.is_empty() {
                    "nobody".to_owned()
                } else {
                    waiting.join(" ")
                }
            ),
            false,
        ),
    ];
    if let Some(conflicts) = &c.conflicts {
        fields.push(field("⚠ Conflicts", conflicts, false));
    }
    let components = if t.state == crate::domain::change::ChangeState::Voting {
        json!([{ "type": 1, "components": [
                        button("Approve", 3, CardButton::Approve(id).custom_id(), false),
            button("Reject", 4, CardButton::Reject(id).custom_id(), false),
        ] }])
    } else {
        json!([])
    };
    json!({
        "content": format!("**{id}** {}", t.state),
        "embeds": [{ "title": title_of(t), "color": 0x9B59B6, "fields": fields }],
        "components": components,
        "allowed_mentions": Pings::none().allowed_mentions(),
    })
}

/// Most voters pinged by name when a vote opens; beyond that the CAB role is pinged (a mention
/// takes about 22 characters of the 2000 a message may have).
pub const MAX_VOTERS_PINGED: usize = 50;

/// A change card as posted when its vote opens: it pings the eligible voters, only them (or,
/// past [`MAX_VOTERS_PINGED`], the CAB role).
pub fn vote_opened(mut card: Value, voters: &[i64], cab_role: Option<i64>) -> Value {
    let pings = match cab_role {
        Some(role) if voters.len() > MAX_VOTERS_PINGED => Pings::role(role),
        _ => Pings {
            users: voters.to_vec(),
            roles: vec![],
        },
    };
    let content = card["content"].as_str().unwrap_or_default().to_owned();
    card["content"] = json!(truncate(
        &format!("{} {content} — your vote, please.", pings.mention_text()),
        MAX_CONTENT_CHARS
    ));
    card["allowed_mentions"] = pings.allowed_mentions();
    card
}

/// The modal that asks a CAB member why they reject a change.
pub fn reject_modal(id: TicketRef) -> Value {
    text_modal(
        &CardForm::RejectReason(id).custom_id(),
        &format!("Reject {id}"),
        ModalInput {
            custom_id: "reason",
            label: "Why reject it?",
            max_length: crate::domain::text::MAX_REASON_CHARS,
            placeholder: "What the author should fix before raising it again",
        },
    )
}

/// The chart's file name in a report reply (`attachment://…` in the embed refers to it).
pub const REPORT_FILE: &str = "report.png";

fn mean_line(label: &str, secs: Option<f64>) -> String {
    match secs {
        // Rounded to whole seconds; a mean below one second (bulk tests) still reads sensibly.
        Some(s) => format!("{label}: {}", human_seconds(s.round() as i64)),
        None => format!("{label}: —"),
    }
}

/// A kind's figures, e.g. `Opened **12** · resolved **10**` and the means and SLA lines.
pub fn report_kind(f: &crate::store::KindFigures, respond_label: &str) -> String {
    let met = u64::try_from(f.clocks_met).unwrap_or(0);
    let missed = u64::try_from(f.clocks_missed).unwrap_or(0);
    let sla = match crate::domain::report::compliance_percent(met, missed) {
        Some(p) => format!("SLA met: {p} % ({met} of {} clocks) · breaches: {missed}", met + missed),
        None => "SLA met: no clock settled yet".to_owned(),
    };
    [
        format!("Opened **{}** · resolved **{}**", f.opened, f.resolved),
        mean_line(respond_label, f.mean_response_secs),
        mean_line("Mean time to resolve", f.mean_resolution_secs),
        sla,
    ]
    .join("\n")
}

/// Changes closed in the period by how they ended.
pub fn report_changes(closings: &[(String, Option<String>, i64)]) -> String {
    let count = |state: &str, outcome: Option<&str>| {
        closings
            .iter()
            .filter(|(s, o, _)| s == state && (outcome.is_none() || o.as_deref() == outcome))
            .map(|(_, _, n)| n)
            .sum::<i64>()
    };
    format!(
        "Successful **{}** · failed **{}** · rolled back **{}**\nRejected **{}** · expired **{}** · cancelled **{}**",
        count("completed", Some("successful")),
        count("completed", Some("failed")),
        count("completed", Some("rolled-back")),
        count("rejected", None),
        count("expired", None),
        count("cancelled", None),
    )
}

/// The `/report` reply: an ephemeral embed with a field per kind and the chart attached.
pub fn report(
    period: &crate::domain::report::Period,
    requests: &crate::store::KindFigures,
    incidents: &crate::store::KindFigures,
    changes: &[(String, Option<String>, i64)],
    (majors, duplicates): (i64, i64),
) -> Value {
    let local = |t: chrono::DateTime<chrono::Utc>| t.with_timezone(&period.tz).format("%-d %b %Y").to_string();
    let per = if period.bucket_days() == 1 { "day" } else { "week" };
    let embed = json!({
        "title": format!("Service desk report: the last {} days", period.days),
        "description": format!(
            "{} – {} ({}), up to now. The chart shows requests and incidents opened and resolved per {per}.",
            local(period.from),
            local(period.to - chrono::Duration::milliseconds(1)),
            period.tz.name()
        ),
        "color": 0x0058_65f2,
        "fields": [
            { "name": "Requests", "value": truncate(&report_kind(requests, "Mean time to respond"), MAX_FIELD_VALUE_CHARS), "inline": true },
            { "name": "Incidents", "value": truncate(&report_kind(incidents, "Mean time to acknowledge"), MAX_FIELD_VALUE_CHARS), "inline": true },
            { "name": "Changes closed", "value": truncate(&report_changes(changes), MAX_FIELD_VALUE_CHARS), "inline": false },
            { "name": "Major incidents", "value": format!("{majors} declared · {duplicates} duplicate(s) linked"), "inline": false },
        ],
        "image": { "url": format!("attachment://{REPORT_FILE}") },
    });
    let mut v = ephemeral_embeds("", vec![embed]);
    if let Some(obj) = v.as_object_mut() {
        obj.remove("content");
    }
    v["attachments"] = json!([{
        "id": "0",
        "filename": REPORT_FILE,
        "description": format!("Requests and incidents opened and resolved per {per}"),
    }]);
    v
}
