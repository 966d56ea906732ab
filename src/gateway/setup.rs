//! `/setup …`: one typed value per subcommand, parsed from the options, then run.

use super::dispatch::{data, reply, sf};
use super::options::Opts;
use super::Response;
use crate::domain::change::ChangeType;
use crate::domain::{Priority, TicketKind};
use crate::render::refusals::ArgError;
use crate::service::{Call, ChannelPurpose, Desk, RolePurpose, ServiceError};

/// A `/setup` subcommand with its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetupCommand {
    /// The checklist and every setting.
    Show,
    /// Messages being retried or failed.
    Deliveries,
    /// A desk channel.
    Channel { purpose: ChannelPurpose, channel: i64 },
    /// A desk role.
    Role { purpose: RolePurpose, role: i64 },
    /// A catalog item.
    CatalogAdd { name: String, description: String },
    /// Stop offering an item.
    CatalogRemove { name: String },
    /// Business hours.
    Hours {
        timezone: String,
        days: String,
        start: String,
        end: String,
    },
    /// A holiday.
    Holiday { date: String, name: String },
    /// SLA targets.
    Sla {
        kind: TicketKind,
        priority: Priority,
        respond: String,
        resolve: String,
    },
    /// Auto-close delay.
    Autoclose { after: String },
    /// Escalation policy.
    Escalation {
        priority: Priority,
        delay: String,
        ack_timeout: String,
        rounds: i64,
    },
    /// CAB rule.
    Cab {
        rule: ChangeType,
        mode: String,
        count: i64,
        voting: String,
    },
}

fn priority(o: &Opts<'_>) -> Result<Priority, ServiceError> {
    Priority::parse(o.req("priority")?).ok_or_else(|| ArgError::Priority.into())
}

fn owned(o: &Opts<'_>, name: &str) -> Result<String, ServiceError> {
    Ok(o.req(name)?.to_owned())
}

impl SetupCommand {
    /// Reads `/setup <sub>`; a missing or wrong option is refused by name.
    pub fn parse(o: &Opts<'_>, sub: &str) -> Result<SetupCommand, ServiceError> {
        Ok(match sub {
            "show" => SetupCommand::Show,
            "deliveries" => SetupCommand::Deliveries,
            "channel" => SetupCommand::Channel {
                purpose: ChannelPurpose::parse(o.req("purpose")?)
                    .ok_or_else(|| ArgError::NotAChoice("purpose".into(), "triage, incidents or cab".into()))?,
                channel: sf(o.channel("channel").ok_or(ArgError::Pick("a channel"))?),
            },
            "role" => SetupCommand::Role {
                purpose: RolePurpose::parse(o.req("purpose")?).ok_or_else(|| {
                    ArgError::NotAChoice(
                        "purpose".into(),
                        "agent, incident-manager, cab or change-manager".into(),
                    )
                })?,
                role: sf(o.role("role").ok_or(ArgError::Pick("a role"))?),
            },
            "catalog-add" => SetupCommand::CatalogAdd {
                name: owned(o, "name")?,
                description: owned(o, "description")?,
            },
            "catalog-remove" => SetupCommand::CatalogRemove {
                name: owned(o, "name")?,
            },
            "hours" => SetupCommand::Hours {
                timezone: owned(o, "timezone")?,
                days: owned(o, "days")?,
                start: owned(o, "start")?,
                end: owned(o, "end")?,
            },
            "holiday" => SetupCommand::Holiday {
                date: owned(o, "date")?,
                name: owned(o, "name")?,
            },
            "sla" => SetupCommand::Sla {
                kind: TicketKind::from_name(o.req("kind")?)
                    .ok_or_else(|| ArgError::NotAChoice("kind".into(), "incident or request".into()))?,
                priority: priority(o)?,
                respond: owned(o, "respond")?,
                resolve: owned(o, "resolve")?,
            },
            "autoclose" => SetupCommand::Autoclose {
                after: owned(o, "after")?,
            },
            "escalation" => SetupCommand::Escalation {
                priority: priority(o)?,
                delay: owned(o, "delay")?,
                ack_timeout: owned(o, "ack-timeout")?,
                rounds: o.int("rounds").unwrap_or(-1),
            },
            "cab" => SetupCommand::Cab {
                rule: ChangeType::parse(o.req("rule")?)
                    .ok_or_else(|| ArgError::NotAChoice("rule".into(), "normal or emergency".into()))?,
                mode: owned(o, "mode")?,
                count: o.int("count").unwrap_or(1),
                voting: owned(o, "voting")?,
            },
            other => return Err(super::dispatch::unknown_command("setup", other)),
        })
    }

    /// Runs it.
    pub async fn run(self, desk: &Desk, call: &Call) -> Result<Response, ServiceError> {
        match self {
            SetupCommand::Show => data(desk.setup_show(call).await),
            SetupCommand::Deliveries => data(desk.deliveries(call).await),
            SetupCommand::Channel { purpose, channel } => reply(desk.setup_channel(call, purpose, channel).await),
            SetupCommand::Role { purpose, role } => reply(desk.setup_role(call, purpose, role).await),
            SetupCommand::CatalogAdd { name, description } => reply(desk.catalog_add(call, &name, &description).await),
            SetupCommand::CatalogRemove { name } => reply(desk.catalog_remove(call, &name).await),
            SetupCommand::Hours {
                timezone,
                days,
                start,
                end,
            } => reply(desk.setup_hours(call, &timezone, &days, &start, &end).await),
            SetupCommand::Holiday { date, name } => reply(desk.setup_holiday(call, &date, &name).await),
            SetupCommand::Sla {
                kind,
                priority,
                respond,
                resolve,
            } => reply(desk.setup_sla(call, kind, priority, &respond, &resolve).await),
            SetupCommand::Autoclose { after } => reply(desk.setup_autoclose(call, &after).await),
            SetupCommand::Escalation {
                priority,
                delay,
                ack_timeout,
                rounds,
            } => reply(
                desk.setup_escalation(call, priority, &delay, &ack_timeout, rounds)
                    .await,
            ),
            SetupCommand::Cab {
                rule,
                mode,
                count,
                voting,
            } => reply(desk.setup_cab(call, rule, &mode, count, &voting).await),
        }
    }
}
