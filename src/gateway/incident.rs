//! `/incident …` and `/oncall …`: typed values parsed from the options, then run.

use super::dispatch::{data, reply, sf};
use super::options::Opts;
use super::Response;
use crate::domain::Level;
use crate::render;
use crate::render::refusals::ArgError;
use crate::service::{Call, Desk, Intake, ServiceError};

/// An `/incident` subcommand with its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IncidentCommand {
    /// Report one.
    New {
        title: String,
        impact: Level,
        urgency: Level,
        details: Option<String>,
        service: Option<String>,
    },
    /// Acknowledge.
    Ack { id: String },
    /// Post progress.
    Update { id: String, note: String },
    /// Page the next level.
    Escalate { id: String },
    /// Declare a major incident.
    Major { id: String, note: Option<String> },
    /// Resolve as a duplicate of `parent`.
    Link { id: String, parent: String },
}

fn owned(o: &Opts<'_>, name: &str) -> Result<String, ServiceError> {
    Ok(o.req(name)?.to_owned())
}

impl IncidentCommand {
    /// Reads `/incident <sub>`.
    pub fn parse(o: &Opts<'_>, sub: &str) -> Result<IncidentCommand, ServiceError> {
        Ok(match sub {
            "new" => IncidentCommand::New {
                impact: o.choice("impact", &Level::ALL, Level::as_str)?,
                urgency: o.choice("urgency", &Level::ALL, Level::as_str)?,
                title: owned(o, "title")?,
                details: o.str("details").map(str::to_owned),
                service: o.str("service").map(str::to_owned),
            },
            "ack" => IncidentCommand::Ack { id: owned(o, "id")? },
            "update" => IncidentCommand::Update {
                id: owned(o, "id")?,
                note: owned(o, "note")?,
            },
            "escalate" => IncidentCommand::Escalate { id: owned(o, "id")? },
            "major" => IncidentCommand::Major {
                id: owned(o, "id")?,
                note: o.str("note").map(str::to_owned),
            },
            "link" => IncidentCommand::Link {
                id: owned(o, "id")?,
                parent: owned(o, "parent")?,
            },
            other => return Err(super::dispatch::unknown_command("incident", other)),
        })
    }

    /// Runs it.
    pub async fn run(self, desk: &Desk, call: &Call) -> Result<Response, ServiceError> {
        match self {
            IncidentCommand::New {
                title,
                impact,
                urgency,
                details,
                service,
            } => {
                let intake = desk
                    .incident_new(call, &title, impact, urgency, details.as_deref(), service.as_deref())
                    .await?;
                Ok(match intake {
                    Intake::Created(message) => Response::Message(render::ephemeral(&message)),
                    Intake::Asked(question) => Response::Message(question),
                })
            }
            IncidentCommand::Ack { id } => reply(desk.incident_ack(call, &id).await),
            IncidentCommand::Update { id, note } => reply(desk.incident_update(call, &id, &note).await),
            IncidentCommand::Escalate { id } => reply(desk.incident_escalate(call, &id).await),
            IncidentCommand::Major { id, note } => reply(desk.incident_major(call, &id, note.as_deref()).await),
            IncidentCommand::Link { id, parent } => reply(desk.incident_link(call, &id, &parent).await),
        }
    }
}

/// An `/oncall` subcommand with its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OncallCommand {
    /// Who is on call now.
    Who,
    /// Join a rotation.
    Add { level: i64, user: i64 },
    /// Leave a rotation.
    Remove { level: i64, user: i64 },
    /// Turn length and first handover.
    Rotation { level: i64, hours: i64, start: String },
    /// Someone covers for a while.
    Override {
        level: i64,
        user: i64,
        start: String,
        end: String,
    },
}

impl OncallCommand {
    /// Reads `/oncall <sub>`.
    pub fn parse(o: &Opts<'_>, sub: &str) -> Result<OncallCommand, ServiceError> {
        let level = || o.int("level").unwrap_or(0);
        let user = || o.user("user").map(sf).ok_or(ArgError::Pick("a user"));
        Ok(match sub {
            "who" => OncallCommand::Who,
            "add" => OncallCommand::Add {
                level: level(),
                user: user()?,
            },
            "remove" => OncallCommand::Remove {
                level: level(),
                user: user()?,
            },
            "rotation" => OncallCommand::Rotation {
                level: level(),
                hours: o.int("hours").unwrap_or(0),
                start: owned(o, "start")?,
            },
            "override" => OncallCommand::Override {
                level: level(),
                user: user()?,
                start: owned(o, "start")?,
                end: owned(o, "end")?,
            },
            other => return Err(super::dispatch::unknown_command("oncall", other)),
        })
    }

    /// Runs it.
    pub async fn run(self, desk: &Desk, call: &Call) -> Result<Response, ServiceError> {
        match self {
            OncallCommand::Who => data(desk.oncall_who(call).await),
            OncallCommand::Add { level, user } => reply(desk.oncall_add(call, level, user).await),
            OncallCommand::Remove { level, user } => reply(desk.oncall_remove(call, level, user).await),
            OncallCommand::Rotation { level, hours, start } => {
                reply(desk.oncall_rotation(call, level, hours, &start).await)
            }
            OncallCommand::Override {
                level,
                user,
                start,
                end,
            } => reply(desk.oncall_override(call, level, user, &start, &end).await),
        }
    }
}
