//! From an interaction to a desk call: who is acting, which use-case, with which arguments.

use serde_json::{json, Value};
use serenity::all::{ActionRowComponent, CommandInteraction, ComponentInteraction, Member, ModalInteraction};

use super::options::Opts;
use super::{outcome, Response};
use crate::domain::change::{ChangeType, Outcome as ChangeOutcome};
use crate::domain::{HoldReason, Level, Priority, TicketKind};
use crate::render;
use crate::service::NewChange;
use crate::service::{
    Actor, AssignTarget, Call, ChannelPurpose, Desk, Intake, QueueView, RolePurpose, ServiceError, TicketOp,
};

const DM_REFUSAL: &str = "The service desk works inside a server: use its commands there, not in direct messages.";

/// Discord ids fit in i64 (snowflakes are 63-bit); stored as such.
fn sf(id: u64) -> i64 {
    i64::try_from(id).unwrap_or(i64::MAX)
}

fn actor(guild: Option<serenity::all::GuildId>, member: Option<&Member>) -> Result<Actor, ServiceError> {
    let (Some(guild), Some(member)) = (guild, member) else {
        return Err(ServiceError::user(DM_REFUSAL));
    };
    let is_admin = member
        .permissions
        .is_some_and(|p| p.manage_guild() || p.administrator());
    Ok(Actor {
        guild_id: sf(guild.get()),
        user_id: sf(member.user.id.get()),
        roles: member.roles.iter().map(|r| sf(r.get())).collect(),
        is_admin,
    })
}

pub(super) fn reply(r: Result<String, ServiceError>) -> Result<Response, ServiceError> {
    r.map(|m| Response::Message(render::ephemeral(&m)))
}

pub(super) fn data(r: Result<Value, ServiceError>) -> Result<Response, ServiceError> {
    r.map(Response::Message)
}

pub(super) fn unknown(what: &str) -> Result<Response, ServiceError> {
    Err(ServiceError::user(format!(
        "This bot does not know `{what}`; its commands may be updating. Try again in a minute."
    )))
}

/// A slash command.
pub async fn command(desk: &Desk, http: &serenity::all::Http, cmd: &CommandInteraction) -> Response {
    let result = async {
        let call = Call {
            actor: actor(cmd.guild_id, cmd.member.as_deref())?,
            interaction_id: sf(cmd.id.get()),
        };
        let o = Opts::of(cmd);
        match (cmd.data.name.as_str(), o.sub) {
            ("alerts", Some(sub)) => super::alerts::command(desk, &call, &o, sub).await,
            ("setup", Some("show")) => data(desk.setup_show(&call).await),
            ("help", None) => help(desk, &call).await,
            ("setup", Some("deliveries")) => data(desk.deliveries(&call).await),
            ("setup", Some("channel")) => {
                let purpose = ChannelPurpose::parse(o.req("purpose")?)
                    .ok_or_else(|| ServiceError::user("Pick the purpose from the list: triage, incidents or cab."))?;
                let channel = o
                    .channel("channel")
                    .ok_or_else(|| ServiceError::user("Pick a channel."))?;
                reply(desk.setup_channel(&call, purpose, sf(channel)).await)
            }
            ("setup", Some("role")) => {
                let purpose = RolePurpose::parse(o.req("purpose")?).ok_or_else(|| {
                    ServiceError::user(
                        "Pick the purpose from the list: agent, incident-manager, cab or change-manager.",
                    )
                })?;
                let role = o.role("role").ok_or_else(|| ServiceError::user("Pick a role."))?;
                reply(desk.setup_role(&call, purpose, sf(role)).await)
            }
            ("setup", Some("catalog-add")) => {
                reply(desk.catalog_add(&call, o.req("name")?, o.req("description")?).await)
            }
            ("setup", Some("catalog-remove")) => reply(desk.catalog_remove(&call, o.req("name")?).await),
            ("setup", Some("hours")) => reply(
                desk.setup_hours(
                    &call,
                    o.req("timezone")?,
                    o.req("days")?,
                    o.req("start")?,
                    o.req("end")?,
                )
                .await,
            ),
            ("setup", Some("holiday")) => reply(desk.setup_holiday(&call, o.req("date")?, o.req("name")?).await),
            ("setup", Some("sla")) => {
                let kind = TicketKind::from_name(o.req("kind")?)
                    .ok_or_else(|| ServiceError::user("Pick the kind from the list: incident or request."))?;
                let p = Priority::parse(o.req("priority")?)
                    .ok_or_else(|| ServiceError::user("Pick a priority from P1 to P5."))?;
                reply(
                    desk.setup_sla(&call, kind, p, o.req("respond")?, o.req("resolve")?)
                        .await,
                )
            }
            ("setup", Some("autoclose")) => reply(desk.setup_autoclose(&call, o.req("after")?).await),
            ("report", None) => desk
                .report(&call, o.int("days").unwrap_or(0))
                .await
                .map(|r| Response::WithFile(r.message, render::REPORT_FILE, r.chart)),
            ("sla", Some("show")) => data(desk.sla_show(&call, o.req("id")?).await),
            ("setup", Some("escalation")) => {
                let p = Priority::parse(o.req("priority")?)
                    .ok_or_else(|| ServiceError::user("Pick a priority from P1 to P5."))?;
                let rounds = o.int("rounds").unwrap_or(-1);
                reply(
                    desk.setup_escalation(&call, p, o.req("delay")?, o.req("ack-timeout")?, rounds)
                        .await,
                )
            }
            ("incident", Some("new")) => {
                let impact = o.choice("impact", &Level::ALL, Level::as_str)?;
                let urgency = o.choice("urgency", &Level::ALL, Level::as_str)?;
                let intake = desk
                    .incident_new(
                        &call,
                        o.req("title")?,
                        impact,
                        urgency,
                        o.str("details"),
                        o.str("service"),
                    )
                    .await?;
                Ok(match intake {
                    Intake::Created(message) => Response::Message(render::ephemeral(&message)),
                    Intake::Asked(question) => Response::Message(question),
                })
            }
            ("incident", Some("major")) => reply(desk.incident_major(&call, o.req("id")?, o.str("note")).await),
            ("incident", Some("link")) => reply(desk.incident_link(&call, o.req("id")?, o.req("parent")?).await),
            ("incident", Some("ack")) => reply(desk.incident_ack(&call, o.req("id")?).await),
            ("incident", Some("update")) => reply(desk.incident_update(&call, o.req("id")?, o.req("note")?).await),
            ("incident", Some("escalate")) => reply(desk.incident_escalate(&call, o.req("id")?).await),
            ("oncall", Some("who")) => data(desk.oncall_who(&call).await),
            ("setup", Some("cab")) => {
                let rule = ChangeType::parse(o.req("rule")?)
                    .ok_or_else(|| ServiceError::user("Pick the rule from the list: normal or emergency."))?;
                reply(
                    desk.setup_cab(
                        &call,
                        rule,
                        o.req("mode")?,
                        o.int("count").unwrap_or(1),
                        o.req("voting")?,
                    )
                    .await,
                )
            }
            ("change", Some("new")) => {
                let change_type = o.choice("type", &ChangeType::ALL, ChangeType::as_str)?;
                let risk = o.choice("risk", &super::commands::RISKS, Level::as_str)?;
                let members = if change_type == ChangeType::Standard {
                    vec![]
                } else {
                    cab_members(desk, http, cmd, call.actor.guild_id).await?
                };
                let c = NewChange {
                    title: o.req("title")?,
                    change_type,
                    risk,
                    start: o.req("start")?,
                    end: o.req("end")?,
                    plan: o.req("plan")?,
                    backout: o.req("backout")?,
                };
                reply(desk.change_new(&call, c, &members).await)
            }
            ("change", Some("approve")) => reply(desk.change_vote(&call, o.req("id")?, true, None).await),
            ("change", Some("reject")) => reply(desk.change_vote(&call, o.req("id")?, false, o.str("reason")).await),
            ("change", Some("start")) => reply(desk.change_start(&call, o.req("id")?).await),
            ("change", Some("complete")) => {
                let outcome = o.choice("outcome", &ChangeOutcome::ALL, ChangeOutcome::as_str)?;
                reply(
                    desk.change_complete(&call, o.req("id")?, outcome, o.req("notes")?)
                        .await,
                )
            }
            ("change", Some("cancel")) => reply(desk.change_cancel(&call, o.req("id")?, o.str("reason")).await),
            ("change", Some("blackout")) => reply(
                desk.change_blackout(&call, o.req("start")?, o.req("end")?, o.req("reason")?)
                    .await,
            ),
            ("change", Some("calendar")) => data(desk.change_calendar(&call, o.int("days").unwrap_or(0)).await),
            ("oncall", Some(sub @ ("add" | "remove"))) => {
                let level = o.int("level").unwrap_or(0);
                let user = o.user("user").ok_or_else(|| ServiceError::user("Pick a user."))?;
                let r = if sub == "add" {
                    desk.oncall_add(&call, level, sf(user)).await
                } else {
                    desk.oncall_remove(&call, level, sf(user)).await
                };
                reply(r)
            }
            ("oncall", Some("rotation")) => reply(
                desk.oncall_rotation(
                    &call,
                    o.int("level").unwrap_or(0),
                    o.int("hours").unwrap_or(0),
                    o.req("start")?,
                )
                .await,
            ),
            ("oncall", Some("override")) => {
                let user = o.user("user").ok_or_else(|| ServiceError::user("Pick a user."))?;
                reply(
                    desk.oncall_override(
                        &call,
                        o.int("level").unwrap_or(0),
                        sf(user),
                        o.req("start")?,
                        o.req("end")?,
                    )
                    .await,
                )
            }
            ("request", Some("new")) => reply(
                desk.request_new(&call, o.req("item")?, o.req("summary")?, o.str("details"))
                    .await
                    .map(|out| out.message),
            ),
            ("request", Some("mine")) => data(desk.request_mine(&call).await),
            ("ticket", Some("show")) => data(desk.ticket_show(&call, o.req("id")?).await),
            ("ticket", Some("history")) => data(desk.ticket_history(&call, o.req("id")?).await),
            ("ticket", Some(sub)) => {
                let op = ticket_op(cmd, &o, sub)?;
                reply(desk.ticket_op(&call, o.req("id")?, op).await.map(|out| out.message))
            }
            ("queue", None) => {
                let kind = match o.str("kind") {
                    None => None,
                    Some(k) => Some(TicketKind::from_name(k).ok_or_else(|| {
                        ServiceError::user("Pick the kind from the list: request, incident or change.")
                    })?),
                };
                let view = QueueView {
                    kind,
                    unassigned: o.str("filter") == Some("unassigned"),
                    mine: o.str("filter") == Some("mine"),
                    breaching: o.str("filter") == Some("breaching"),
                };
                data(desk.queue(&call, view).await)
            }
            (name, sub) => unknown(&format!("/{name} {}", sub.unwrap_or_default())),
        }
    }
    .await;
    outcome(desk, cmd.id, result)
}

/// `/help`: the registered commands whose audience includes this member, grouped by command.
async fn help(desk: &Desk, call: &Call) -> Result<Response, ServiceError> {
    let audiences = desk.audiences(call).await?;
    let groups = super::commands::usable(|audience| audiences.includes(audience));
    Ok(Response::Message(render::help(&groups)))
}

fn ticket_op(cmd: &CommandInteraction, o: &Opts<'_>, sub: &str) -> Result<TicketOp, ServiceError> {
    Ok(match sub {
        "comment" => TicketOp::Comment(o.req("text")?.to_owned()),
        "claim" => TicketOp::Claim,
        "assign" => {
            let user = o
                .user("user")
                .ok_or_else(|| ServiceError::user("Pick the agent to assign."))?;
            let member = cmd.data.resolved.members.get(&serenity::all::UserId::new(user));
            TicketOp::Assign(AssignTarget {
                user_id: sf(user),
                roles: member
                    .map(|m| m.roles.iter().map(|r| sf(r.get())).collect())
                    .unwrap_or_default(),
                is_admin: member
                    .and_then(|m| m.permissions)
                    .is_some_and(|p| p.manage_guild() || p.administrator()),
            })
        }
        "hold" => TicketOp::Hold {
            reason: o.choice("reason", &HoldReason::ALL, HoldReason::as_str)?,
            note: o.str("note").map(str::to_owned),
        },
        "resume" => TicketOp::Resume,
        "resolve" => TicketOp::Resolve {
            note: o.req("note")?.to_owned(),
        },
        "reopen" => TicketOp::Reopen {
            reason: o.req("reason")?.to_owned(),
        },
        "close" => TicketOp::Close,
        "cancel" => TicketOp::Cancel {
            reason: o.str("reason").map(str::to_owned),
        },
        "priority" => TicketOp::Priority(
            Priority::parse(o.req("priority")?).ok_or_else(|| ServiceError::user("Pick a priority from P1 to P5."))?,
        ),
        other => return Err(ServiceError::user(format!("This bot does not know `/ticket {other}`."))),
    })
}

/// A button on one of the desk's posts. The `custom_id` says what to do (`claim:REQ-3`), so
/// buttons keep working after a restart.
pub async fn component(desk: &Desk, http: &serenity::all::Http, c: &ComponentInteraction) -> Response {
    if let Some(button) = render::DmButton::parse(&c.data.custom_id).filter(|b| !b.form) {
        let result = super::dm::component(desk, http, c, button).await;
        return outcome(desk, c.id, result);
    }
    let result = async {
        let call = Call {
            actor: actor(c.guild_id, c.member.as_ref())?,
            interaction_id: sf(c.id.get()),
        };
        let (verb, id) = c
            .data
            .custom_id
            .split_once(':')
            .unwrap_or((c.data.custom_id.as_str(), ""));
        if let Some(button) = render::RetryButton::parse(&c.data.custom_id) {
            return reply(desk.retry_deliveries(&call, button).await);
        }
        if render::is_digest_select(&c.data.custom_id) {
            let picked = match &c.data.kind {
                serenity::all::ComponentInteractionDataKind::StringSelect { values } => values.first().cloned(),
                _ => None,
            };
            let picked = picked.ok_or_else(|| ServiceError::user("Pick a ticket from the list."))?;
            return data(desk.ticket_card_for(&call, &picked).await);
        }
        if let Some(button) = render::SameIssueButton::parse(&c.data.custom_id) {
            return reply(desk.same_issue_answer(&call, button).await);
        }
        match verb {
            "claim" => reply(desk.ticket_op(&call, id, TicketOp::Claim).await.map(|o| o.message)),
            "ack" => reply(desk.incident_ack(&call, id).await),
            "approve" => reply(desk.change_vote(&call, id, true, None).await),
            "reject" => {
                let id = desk.check_can_vote(&call, id).await?;
                Ok(Response::Modal(render::reject_modal(id)))
            }
            "resolve" => {
                let id = desk.check_resolvable(&call, id).await?;
                Ok(Response::Modal(render::resolve_modal(id)))
            }
            _ => unknown(&c.data.custom_id),
        }
    }
    .await;
    outcome(desk, c.id, result)
}

/// A submitted form (the resolution note).
pub async fn modal(desk: &Desk, http: &serenity::all::Http, m: &ModalInteraction) -> Response {
    if let Some(form) = render::DmButton::parse(&m.data.custom_id).filter(|b| b.form) {
        let result = super::dm::modal(desk, http, m, form).await;
        return outcome(desk, m.id, result);
    }
    let result = async {
        let call = Call {
            actor: actor(m.guild_id, m.member.as_ref())?,
            interaction_id: sf(m.id.get()),
        };
        let field = |name: &str| {
            m.data
                .components
                .iter()
                .flat_map(|row| row.components.iter())
                .find_map(|c| match c {
                    ActionRowComponent::InputText(t) if t.custom_id == name => t.value.clone(),
                    _ => None,
                })
                .unwrap_or_default()
        };
        match m.data.custom_id.split_once(':') {
            Some(("reject-reason", id)) => {
                let reason = field("reason");
                reply(desk.change_vote(&call, id, false, Some(&reason)).await)
            }
            Some(("resolve-note", id)) => {
                let op = TicketOp::Resolve { note: field("note") };
                reply(desk.ticket_op(&call, id, op).await.map(|o| o.message))
            }
            _ => unknown(&m.data.custom_id),
        }
    }
    .await;
    outcome(desk, m.id, result)
}

/// Autocomplete choices for the focused option; this guild's data only.
pub async fn autocomplete(desk: &Desk, ac: &CommandInteraction) -> Vec<Value> {
    let Ok(actor) = actor(ac.guild_id, ac.member.as_deref()) else {
        return vec![];
    };
    let Some(focused) = ac.data.autocomplete() else {
        return vec![];
    };
    let found = match focused.name {
        "item" | "name" => desk
            .catalog_suggestions(&actor, focused.value)
            .await
            .map(|names| names.into_iter().map(|n| (n.clone(), n)).collect::<Vec<_>>()),
        "id" => desk.ticket_suggestions(&actor, focused.value).await,
        "timezone" => Ok(timezones(focused.value)),
        _ => Ok(vec![]),
    };
    match found {
        Ok(list) => list
            .into_iter()
            .map(|(name, value)| json!({ "name": crate::domain::text::truncate(&name, 100), "value": value }))
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "autocomplete failed");
            vec![]
        }
    }
}

/// IANA zone names containing what was typed (case-insensitive), at most 25.
fn timezones(typed: &str) -> Vec<(String, String)> {
    let needle = typed.trim().to_ascii_lowercase();
    chrono_tz::TZ_VARIANTS
        .iter()
        .map(|tz| tz.name())
        .filter(|name| name.to_ascii_lowercase().contains(&needle))
        .take(25)
        .map(|name| (name.to_owned(), name.to_owned()))
        .collect()
}

/// Most members read per request (Discord's maximum).
const MEMBERS_PAGE: u64 = 1000;

/// The members of the guild's CAB role, read from Discord when a vote opens. Listing members
/// needs the Server Members privileged intent enabled for the bot.
async fn cab_members(
    desk: &Desk,
    http: &serenity::all::Http,
    cmd: &CommandInteraction,
    guild: i64,
) -> Result<Vec<i64>, ServiceError> {
    let Some(role) = desk.cab_role(guild).await? else {
        return Ok(vec![]);
    };
    let Some(guild_id) = cmd.guild_id else {
        return Ok(vec![]);
    };
    let mut out = Vec::new();
    let mut after: Option<u64> = None;
    loop {
        let page = http
            .get_guild_members(guild_id, Some(MEMBERS_PAGE), after)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "listing guild members failed");
                ServiceError::user(
                    "I could not read the CAB role's members from Discord. The bot needs the Server Members intent \
                 (developer portal → Bot → Privileged Gateway Intents). Nothing was changed.",
                )
            })?;
        let n = page.len();
        for m in &page {
            if m.roles.iter().any(|r| sf(r.get()) == role) {
                out.push(sf(m.user.id.get()));
            }
        }
        after = page.last().map(|m| m.user.id.get());
        if (n as u64) < MEMBERS_PAGE || after.is_none() {
            break;
        }
    }
    Ok(out)
}
