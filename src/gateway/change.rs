//! `/change …`: typed values parsed from the options, then run.

use serenity::all::CommandInteraction;

use super::dispatch::{data, reply, sf};
use super::options::Opts;
use super::Response;
use crate::domain::change::{ChangeType, Outcome};
use crate::domain::Level;
use crate::render::refusals::ChangeError;
use crate::service::{Call, Desk, NewChange, ServiceError};

/// A `/change` subcommand with its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeCommand {
    /// Plan one.
    New {
        title: String,
        change_type: ChangeType,
        risk: Level,
        start: String,
        end: String,
        plan: String,
        backout: String,
    },
    /// A CAB vote for.
    Approve { id: String },
    /// A CAB vote against.
    Reject { id: String, reason: Option<String> },
    /// Implementation starts.
    Start { id: String },
    /// Implementation ends.
    Complete {
        id: String,
        outcome: Outcome,
        notes: String,
    },
    /// Withdrawn.
    Cancel { id: String, reason: Option<String> },
    /// A change freeze.
    Blackout { start: String, end: String, reason: String },
    /// What is planned.
    Calendar { days: i64 },
}

fn owned(o: &Opts<'_>, name: &str) -> Result<String, ServiceError> {
    Ok(o.req(name)?.to_owned())
}

impl ChangeCommand {
    /// Reads `/change <sub>`.
    pub fn parse(o: &Opts<'_>, sub: &str) -> Result<ChangeCommand, ServiceError> {
        let id = || owned(o, "id");
        Ok(match sub {
            "new" => ChangeCommand::New {
                change_type: o.choice("type", &ChangeType::ALL, ChangeType::as_str)?,
                risk: o.choice("risk", &super::commands::RISKS, Level::as_str)?,
                title: owned(o, "title")?,
                start: owned(o, "start")?,
                end: owned(o, "end")?,
                plan: owned(o, "plan")?,
                backout: owned(o, "backout")?,
            },
            "approve" => ChangeCommand::Approve { id: id()? },
            "reject" => ChangeCommand::Reject {
                id: id()?,
                reason: o.str("reason").map(str::to_owned),
            },
            "start" => ChangeCommand::Start { id: id()? },
            "complete" => ChangeCommand::Complete {
                outcome: o.choice("outcome", &Outcome::ALL, Outcome::as_str)?,
                id: id()?,
                notes: owned(o, "notes")?,
            },
            "cancel" => ChangeCommand::Cancel {
                id: id()?,
                reason: o.str("reason").map(str::to_owned),
            },
            "blackout" => ChangeCommand::Blackout {
                start: owned(o, "start")?,
                end: owned(o, "end")?,
                reason: owned(o, "reason")?,
            },
            "calendar" => ChangeCommand::Calendar {
                days: o.int("days").unwrap_or(0),
            },
            other => return Err(super::dispatch::unknown_command("change", other)),
        })
    }

    /// Runs it; a vote that opens reads the CAB role's members from Discord first.
    pub async fn run(
        self,
        desk: &Desk,
        http: &serenity::all::Http,
        cmd: &CommandInteraction,
        call: &Call,
    ) -> Result<Response, ServiceError> {
        match self {
            ChangeCommand::New {
                title,
                change_type,
                risk,
                start,
                end,
                plan,
                backout,
            } => {
                let members = if change_type == ChangeType::Standard {
                    vec![]
                } else {
                    cab_members(desk, http, cmd, call.actor.guild_id).await?
                };
                let c = NewChange {
                    title: &title,
                    change_type,
                    risk,
                    start: &start,
                    end: &end,
                    plan: &plan,
                    backout: &backout,
                };
                reply(desk.change_new(call, c, &members).await)
            }
            ChangeCommand::Approve { id } => reply(desk.change_vote(call, &id, true, None).await),
            ChangeCommand::Reject { id, reason } => reply(desk.change_vote(call, &id, false, reason.as_deref()).await),
            ChangeCommand::Start { id } => reply(desk.change_start(call, &id).await),
            ChangeCommand::Complete { id, outcome, notes } => {
                reply(desk.change_complete(call, &id, outcome, &notes).await)
            }
            ChangeCommand::Cancel { id, reason } => reply(desk.change_cancel(call, &id, reason.as_deref()).await),
            ChangeCommand::Blackout { start, end, reason } => {
                reply(desk.change_blackout(call, &start, &end, &reason).await)
            }
            ChangeCommand::Calendar { days } => data(desk.change_calendar(call, days).await),
        }
    }
}

/// Most members read per request (Discord's maximum).
const MEMBERS_PAGE: u64 = 1000;

/// The members of the guild's CAB role, read from Discord when a vote opens. Listing members
/// needs the Server Members privileged intent enabled for the bot.
pub(super) async fn cab_members(
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
                ServiceError::from(ChangeError::MembersUnreadable)
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
