//! From an interaction to a desk call: who is acting, which use-case, with which arguments.

use serde_json::{json, Value};
use serenity::all::{ActionRowComponent, CommandInteraction, ComponentInteraction, Member, ModalInteraction};

use super::change::ChangeCommand;
use super::incident::{IncidentCommand, OncallCommand};
use super::knowledge::KbCommand;
use super::options::Opts;
use super::problem::ProblemCommand;
use super::setup::SetupCommand;
use super::ticket::{queue_view, RequestCommand, TicketCommand};
use super::{outcome, Response};
use crate::render::refusals::ArgError;
use crate::render::{self, CardButton, CardForm};
use crate::service::{Actor, Call, Desk, ServiceError, TicketOp};

/// Discord ids fit in i64 (snowflakes are 63-bit); stored as such.
pub(super) fn sf(id: u64) -> i64 {
    i64::try_from(id).unwrap_or(i64::MAX)
}

fn actor(guild: Option<serenity::all::GuildId>, member: Option<&Member>) -> Result<Actor, ServiceError> {
    let (Some(guild), Some(member)) = (guild, member) else {
        return Err(ArgError::NotInServer.into());
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

/// A subcommand this build does not know (Discord may still show an older registration).
pub(super) fn unknown_command(command: &str, sub: &str) -> ServiceError {
    ArgError::Unknown(format!("/{command} {sub}")).into()
}

pub(super) fn unknown(what: &str) -> Result<Response, ServiceError> {
    Err(ArgError::Unknown(what.to_owned()).into())
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
            ("setup", Some(sub)) => SetupCommand::parse(&o, sub)?.run(desk, &call).await,
            ("incident", Some(sub)) => IncidentCommand::parse(&o, sub)?.run(desk, &call).await,
            ("oncall", Some(sub)) => OncallCommand::parse(&o, sub)?.run(desk, &call).await,
            ("change", Some(sub)) => ChangeCommand::parse(&o, sub)?.run(desk, http, cmd, &call).await,
            ("request", Some(sub)) => RequestCommand::parse(&o, sub)?.run(desk, &call).await,
            ("ticket", Some(sub)) => TicketCommand::parse(cmd, &o, sub)?.run(desk, &call).await,
            ("queue", None) => data(desk.queue(&call, queue_view(&o)?).await),
            ("sla", Some("show")) => data(desk.sla_show(&call, o.req("id")?).await),
            ("report", None) => desk
                .report(&call, o.int("days").unwrap_or(0))
                .await
                .map(|r| Response::WithFile(r.message, render::REPORT_FILE, r.chart)),
            ("kb", Some(sub)) => KbCommand::parse(&o, sub)?.run(desk, &call).await,
            ("problem", Some(sub)) => ProblemCommand::parse(&o, sub)?.run(desk, &call).await,
            ("help", None) => help(desk, &call).await,
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

        if let Some(button) = render::RetryButton::parse(&c.data.custom_id) {
            return reply(desk.retry_deliveries(&call, button).await);
        }
        if render::is_digest_select(&c.data.custom_id) {
            let picked = match &c.data.kind {
                serenity::all::ComponentInteractionDataKind::StringSelect { values } => values.first().cloned(),
                _ => None,
            };
            let picked = picked.ok_or(ArgError::Pick("a ticket from the list"))?;
            return data(desk.ticket_card_for(&call, &picked).await);
        }
        if let Some(render::RecurrenceButton(notice)) = render::RecurrenceButton::parse(&c.data.custom_id) {
            return reply(desk.recurrence_problem(&call, notice).await);
        }
        if let Some(button) = render::ProblemButton::parse(&c.data.custom_id) {
            return reply(desk.problem_settle(&call, button).await);
        }
        if let Some(button) = render::KbIntakeButton::parse(&c.data.custom_id) {
            return reply(desk.kb_intake_answer(&call, button).await);
        }
        if let Some(button) = render::KbVoteButton::parse(&c.data.custom_id) {
            return reply(desk.kb_vote(&call, &button.number.to_string(), button.helpful).await);
        }
        if let Some(button) = render::SameIssueButton::parse(&c.data.custom_id) {
            return reply(desk.same_issue_answer(&call, button).await);
        }
        let Some(button) = render::CardButton::parse(&c.data.custom_id) else {
            return unknown(&c.data.custom_id);
        };
        match button {
            CardButton::Claim(id) => reply(
                desk.ticket_op(&call, &id.to_string(), TicketOp::Claim)
                    .await
                    .map(|o| o.message),
            ),
            CardButton::Ack(id) => reply(desk.incident_ack(&call, &id.to_string()).await),
            CardButton::Approve(id) => reply(desk.change_vote(&call, &id.to_string(), true, None).await),
            CardButton::Reject(id) => {
                let id = desk.check_can_vote(&call, &id.to_string()).await?;
                Ok(Response::Modal(render::reject_modal(id)))
            }
            CardButton::Resolve(id) => {
                let id = desk.check_resolvable(&call, &id.to_string()).await?;
                Ok(Response::Modal(render::resolve_modal(id)))
            }
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
        if let Some(done) = super::knowledge::form(desk, &call, &m.data.custom_id, field).await {
            return done;
        }
        match CardForm::parse(&m.data.custom_id) {
            Some(CardForm::RejectReason(id)) => {
                let reason = field("reason");
                reply(desk.change_vote(&call, &id.to_string(), false, Some(&reason)).await)
            }
            Some(CardForm::ResolveNote(id)) => {
                let op = TicketOp::Resolve { note: field("note") };
                reply(desk.ticket_op(&call, &id.to_string(), op).await.map(|o| o.message))
            }
            None => unknown(&m.data.custom_id),
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
        "query" => desk.kb_title_suggestions(&actor, focused.value).await,
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
