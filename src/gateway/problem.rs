//! `/problem …`: typed values parsed from the options, then run.

use super::dispatch::{data, reply};
use super::options::Opts;
use super::Response;
use crate::domain::TicketState;
use crate::service::{Call, Desk, ServiceError};

/// The states `/problem list` offers.
pub const LISTED_STATES: [TicketState; 6] = [
    TicketState::New,
    TicketState::Investigating,
    TicketState::KnownError,
    TicketState::Resolved,
    TicketState::Closed,
    TicketState::Cancelled,
];

/// A `/problem` subcommand with its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProblemCommand {
    /// Open one.
    New {
        title: String,
        details: Option<String>,
        service: Option<String>,
    },
    /// Link an incident.
    Link { id: String, incident: String },
    /// Unlink an incident.
    Unlink { id: String, incident: String },
    /// Record the root cause.
    Rca { id: String, cause: String },
    /// Record the workaround.
    Workaround { id: String, text: String },
    /// It is a known error.
    KnownError { id: String },
    /// Record the fix.
    Resolve { id: String, fix: String },
    /// Show it.
    Show { id: String },
    /// List them.
    List { state: Option<TicketState> },
}

impl ProblemCommand {
    /// Reads `/problem <sub>`.
    pub fn parse(o: &Opts<'_>, sub: &str) -> Result<ProblemCommand, ServiceError> {
        let s = |name: &str| Ok::<_, ServiceError>(o.req(name)?.to_owned());
        Ok(match sub {
            "new" => ProblemCommand::New {
                title: s("title")?,
                details: o.str("details").map(str::to_owned),
                service: o.str("service").map(str::to_owned),
            },
            "link" => ProblemCommand::Link {
                id: s("id")?,
                incident: s("incident")?,
            },
            "unlink" => ProblemCommand::Unlink {
                id: s("id")?,
                incident: s("incident")?,
            },
            "rca" => ProblemCommand::Rca {
                id: s("id")?,
                cause: s("cause")?,
            },
            "workaround" => ProblemCommand::Workaround {
                id: s("id")?,
                text: s("text")?,
            },
            "known-error" => ProblemCommand::KnownError { id: s("id")? },
            "resolve" => ProblemCommand::Resolve {
                id: s("id")?,
                fix: s("fix")?,
            },
            "show" => ProblemCommand::Show { id: s("id")? },
            "list" => ProblemCommand::List {
                state: match o.str("state") {
                    None => None,
                    Some(_) => Some(o.choice("state", &LISTED_STATES, TicketState::as_str)?),
                },
            },
            other => return Err(super::dispatch::unknown_command("problem", other)),
        })
    }

    /// Runs it.
    pub async fn run(self, desk: &Desk, call: &Call) -> Result<Response, ServiceError> {
        match self {
            ProblemCommand::New {
                title,
                details,
                service,
            } => reply(
                desk.problem_new(call, &title, details.as_deref(), service.as_deref())
                    .await,
            ),
            ProblemCommand::Link { id, incident } => reply(desk.problem_link(call, &id, &incident, true).await),
            ProblemCommand::Unlink { id, incident } => reply(desk.problem_link(call, &id, &incident, false).await),
            ProblemCommand::Rca { id, cause } => reply(desk.problem_rca(call, &id, &cause).await),
            ProblemCommand::Workaround { id, text } => reply(desk.problem_workaround(call, &id, &text).await),
            ProblemCommand::KnownError { id } => reply(desk.problem_known_error(call, &id).await),
            ProblemCommand::Resolve { id, fix } => data(desk.problem_resolve(call, &id, &fix).await),
            ProblemCommand::Show { id } => data(desk.ticket_show(call, &problem_id(&id)).await),
            ProblemCommand::List { state } => data(desk.problem_list(call, state.map(TicketState::as_str)).await),
        }
    }
}

/// A bare number means a problem here (`/ticket show` would read it as a request).
fn problem_id(id: &str) -> String {
    let t = id.trim();
    if t.chars().all(|c| c.is_ascii_digit()) {
        format!("PRB-{t}")
    } else {
        t.to_owned()
    }
}
