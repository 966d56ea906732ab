//! `/request …`, `/ticket …` and `/queue`: typed values parsed from the options, then run.

use serenity::all::CommandInteraction;

use super::dispatch::{data, reply, sf};
use super::options::Opts;
use super::Response;
use crate::domain::{HoldReason, Priority, TicketKind};
use crate::render::refusals::ArgError;
use crate::service::{AssignTarget, Call, Desk, Intake, QueueView, ServiceError, TicketOp};

/// A `/request` subcommand with its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestCommand {
    /// Raise one.
    New {
        item: String,
        summary: String,
        details: Option<String>,
    },
    /// Your open tickets.
    Mine,
}

impl RequestCommand {
    /// Reads `/request <sub>`.
    pub fn parse(o: &Opts<'_>, sub: &str) -> Result<RequestCommand, ServiceError> {
        Ok(match sub {
            "new" => RequestCommand::New {
                item: o.req("item")?.to_owned(),
                summary: o.req("summary")?.to_owned(),
                details: o.str("details").map(str::to_owned),
            },
            "mine" => RequestCommand::Mine,
            other => return Err(super::dispatch::unknown_command("request", other)),
        })
    }

    /// Runs it.
    pub async fn run(self, desk: &Desk, call: &Call) -> Result<Response, ServiceError> {
        match self {
            RequestCommand::New { item, summary, details } => Ok(
                match desk.request_new(call, &item, &summary, details.as_deref()).await? {
                    Intake::Created(message) => Response::Message(crate::render::ephemeral(&message)),
                    Intake::Asked(offer) => Response::Message(offer),
                },
            ),
            RequestCommand::Mine => data(desk.request_mine(call).await),
        }
    }
}

/// A `/ticket` subcommand with its arguments.
#[derive(Debug, Clone)]
pub enum TicketCommand {
    /// The ticket and its timeline.
    Show { id: String },
    /// The whole audit trail.
    History { id: String },
    /// A change to it.
    Op { id: String, op: TicketOp },
}

impl TicketCommand {
    /// Reads `/ticket <sub>` (an assignee's roles come from the interaction's resolved data).
    pub fn parse(cmd: &CommandInteraction, o: &Opts<'_>, sub: &str) -> Result<TicketCommand, ServiceError> {
        let id = o.req("id")?.to_owned();
        Ok(match sub {
            "show" => TicketCommand::Show { id },
            "history" => TicketCommand::History { id },
            other => TicketCommand::Op {
                op: ticket_op(cmd, o, other)?,
                id,
            },
        })
    }

    /// Runs it.
    pub async fn run(self, desk: &Desk, call: &Call) -> Result<Response, ServiceError> {
        match self {
            TicketCommand::Show { id } => data(desk.ticket_show(call, &id).await),
            TicketCommand::History { id } => data(desk.ticket_history(call, &id).await),
            TicketCommand::Op { id, op } => reply(desk.ticket_op(call, &id, op).await.map(|out| out.message)),
        }
    }
}

/// `/queue [kind] [filter]`.
pub fn queue_view(o: &Opts<'_>) -> Result<QueueView, ServiceError> {
    let kind = match o.str("kind") {
        None => None,
        Some(k) => Some(
            TicketKind::from_name(k)
                .ok_or_else(|| ArgError::NotAChoice("kind".into(), "request, incident or change".into()))?,
        ),
    };
    Ok(QueueView {
        kind,
        unassigned: o.str("filter") == Some("unassigned"),
        mine: o.str("filter") == Some("mine"),
        breaching: o.str("filter") == Some("breaching"),
    })
}

/// The change a `/ticket <sub>` asks for (every subcommand but `show` and `history`).
fn ticket_op(cmd: &CommandInteraction, o: &Opts<'_>, sub: &str) -> Result<TicketOp, ServiceError> {
    Ok(match sub {
        "comment" => TicketOp::Comment(o.req("text")?.to_owned()),
        "claim" => TicketOp::Claim,
        "assign" => {
            let user = o.user("user").ok_or(ArgError::Pick("the agent to assign"))?;
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
        "priority" => TicketOp::Priority(Priority::parse(o.req("priority")?).ok_or(ArgError::Priority)?),
        other => return Err(ArgError::Unknown(format!("/ticket {other}")).into()),
    })
}
