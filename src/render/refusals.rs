//! Why the desk said no: one enum per aggregate, each variant's `Display` the message the user
//! reads (ephemeral). Service code returns a variant; tests match variants, not sentences.
//! The domain's own refusals (ids, text, lifecycles, durations, dates) keep their words in the
//! domain, next to the rule, and travel here typed.

use thiserror::Error;

use crate::domain::alert::SourceArgError;
use crate::domain::calendar::CalendarError;
use crate::domain::change::{refusal, ChangeAction, ChangeState};
use crate::domain::duration::DurationError;
use crate::domain::ids::IdError;
use crate::domain::knowledge::{KbRef, KbRefError};
use crate::domain::oncall::MAX_LEVELS;
use crate::domain::report::ReportError;
use crate::domain::text::TextError;
use crate::domain::vote::Mode;
use crate::domain::{Priority, Stage, TicketRef, TransitionError};

/// Any refusal, by aggregate.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UserError {
    /// Requests and tickets of any kind.
    #[error(transparent)]
    Ticket(#[from] TicketError),
    /// Incidents, paging and on-call.
    #[error(transparent)]
    Incident(#[from] IncidentError),
    /// Changes and CAB votes.
    #[error(transparent)]
    Change(#[from] ChangeError),
    /// Problems and known errors.
    #[error(transparent)]
    Problem(#[from] ProblemError),
    /// Knowledge articles.
    #[error(transparent)]
    Knowledge(#[from] KbError),
    /// Monitoring sources.
    #[error(transparent)]
    Alert(#[from] AlertError),
    /// Settings, catalog, SLA targets, reports, deliveries.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// A command's options or where it was used.
    #[error(transparent)]
    Arg(#[from] ArgError),
    /// A ticket id as typed (worded by the domain, as are the variants below).
    #[error(transparent)]
    Id(#[from] IdError),
    /// A text's length or emptiness.
    #[error(transparent)]
    Text(#[from] TextError),
    /// A request's, incident's or problem's lifecycle.
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// A report's period.
    #[error(transparent)]
    Report(#[from] ReportError),
    /// A date, time, days or business hours.
    #[error(transparent)]
    Calendar(#[from] CalendarError),
    /// A duration.
    #[error(transparent)]
    Duration(#[from] DurationError),
    /// A monitoring source's name or grace.
    #[error(transparent)]
    Source(#[from] SourceArgError),
    /// An article id as typed.
    #[error(transparent)]
    KbRef(#[from] KbRefError),
}

/// What only agents may do with tickets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentTask {
    /// Claim.
    Claim,
    /// Assign.
    Assign,
    /// Hold.
    Hold,
    /// Resume.
    Resume,
    /// Resolve.
    Resolve,
    /// Priority.
    Priority,
}

impl std::fmt::Display for AgentTask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AgentTask::Claim => "Claiming tickets",
            AgentTask::Assign => "Assigning tickets",
            AgentTask::Hold => "Putting tickets on hold",
            AgentTask::Resume => "Resuming tickets",
            AgentTask::Resolve => "Resolving tickets",
            AgentTask::Priority => "Changing priority",
        })
    }
}

const AGENTS_ONLY: &str = "only service desk agents can do that. Ask an admin for the agent role if you need it.";

/// Requests and tickets of any kind.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TicketError {
    /// An agent looked for a ticket that is not in the server.
    #[error("There is no {0} in this server. Check the number with /queue.")]
    NotInServer(TicketRef),
    /// A member looked for a ticket that is not theirs (or not there: the same words).
    #[error("There is no {0} among your tickets. /request mine lists them.")]
    NotYours(TicketRef),
    /// Agents only.
    #[error("{0}: {AGENTS_ONLY}")]
    AgentsOnly(AgentTask),
    /// `/queue` by a member.
    #[error("The queue: {AGENTS_ONLY} /request mine lists your own tickets.")]
    QueueAgentsOnly,
    /// A ticket command on a change.
    #[error("{0} is a change: use the /change commands for it.")]
    IsAChange(TicketRef),
    /// Closing someone else's ticket.
    #[error("Only the requester or an agent can close {0}.")]
    CloseNotAllowed(TicketRef),
    /// Reopening someone else's ticket.
    #[error("Only the requester or an agent can reopen {0}.")]
    ReopenNotAllowed(TicketRef),
    /// Cancelling someone else's ticket (incidents: agents only).
    #[error("Only the requester or an agent can cancel {id}{}.", if *.incident { " (incidents: agents only)" } else { "" })]
    CancelNotAllowed {
        /// The ticket.
        id: TicketRef,
        /// Whether it is an incident.
        incident: bool,
    },
    /// Claiming one's own ticket again.
    #[error("{0} is already yours.")]
    AlreadyYours(TicketRef),
    /// Claiming a ticket someone has.
    #[error("{0} is already assigned to <@{1}>. Use /ticket assign to hand it over.")]
    TakenBy(TicketRef, i64),
    /// Assigning to someone who is not an agent.
    #[error("<@{1}> is not a service desk agent, so {0} cannot be assigned to them.")]
    NotAnAgent(TicketRef, i64),
    /// Assigning to whoever has it.
    #[error("{0} is already assigned to <@{1}>.")]
    AlreadyAssigned(TicketRef, i64),
    /// Priority of a finished ticket.
    #[error("{0} is {1}: only open tickets can change priority.")]
    PriorityClosed(TicketRef, Stage),
    /// The same priority again.
    #[error("{0} is already {1}.")]
    SamePriority(TicketRef, Priority),
    /// Comment on a finished ticket.
    #[error("{0} is {1}: it takes no more comments. Raise a new ticket if you need more help.")]
    NoMoreComments(TicketRef, Stage),
    /// A catalog item that is not there.
    #[error("“{0}” is not in the service catalog. Pick an item from the list as you type.")]
    NotInCatalog(String),
}

/// Incidents, paging and on-call.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IncidentError {
    /// A level outside 1..=MAX_LEVELS.
    #[error("Level {0} does not exist: levels run from 1 to {MAX_LEVELS}.")]
    NoSuchLevel(i64),
    /// A question's second answer.
    #[error("You already answered this question; nothing more was done.")]
    AlreadyChosen,
    /// Acknowledging without being paged, on call or an agent.
    #[error("Only the person paged, whoever is on call, or a service desk agent can acknowledge {0}.")]
    AckNotAllowed(TicketRef),
    /// Acknowledged twice.
    #[error("{0} is already acknowledged.")]
    AlreadyAcknowledged(TicketRef),
    /// Updates by someone not working it.
    #[error("Only whoever is on call or a service desk agent can post updates to {0}; use /ticket comment instead.")]
    UpdateNotAllowed(TicketRef),
    /// Update of a finished incident.
    #[error("{0} is {1}: updates are for open incidents.")]
    UpdateClosed(TicketRef, Stage),
    /// Escalating without the right.
    #[error("Only whoever is on call, an incident manager or an agent can escalate {0}.")]
    EscalateNotAllowed(TicketRef),
    /// Escalating a resolved incident.
    #[error("{0} is {1}: only triggered or acknowledged incidents escalate.")]
    EscalateClosed(TicketRef, Stage),
    /// Nobody to escalate to.
    #[error("Nobody is on call at any level, so {0} cannot be escalated.")]
    NobodyOnCall(TicketRef),
    /// Editing on-call without the right.
    #[error("Only incident managers and server admins can change the on-call schedule.")]
    OnCallManagersOnly,
    /// Adding someone twice.
    #[error("<@{user}> is already in level {level}'s rotation.")]
    AlreadyInRotation {
        /// Who.
        user: i64,
        /// Which level.
        level: i64,
    },
    /// Removing someone who is not there.
    #[error("<@{user}> is not in level {level}'s rotation.")]
    NotInRotation {
        /// Who.
        user: i64,
        /// Which level.
        level: i64,
    },
    /// A turn's length.
    #[error("A turn is from 1 to 8784 hours long (a year).")]
    TurnLength,
    /// An override that ends before it starts.
    #[error("The override must end after it starts ({0} – {1}).")]
    OverrideBackwards(String, String),
    /// An override in the past.
    #[error("That override is entirely in the past.")]
    OverridePast,
    /// An override longer than a year.
    #[error("An override lasts at most a year.")]
    OverrideTooLong,
    /// Escalation rounds.
    #[error("Rounds run from 0 to 9.")]
    Rounds,
    /// Declaring major without the right.
    #[error("Only incident managers and whoever is on call can declare {0} a major incident.")]
    MajorNotAllowed(TicketRef),
    /// Declaring a finished incident major.
    #[error("{0} is {1}: only open incidents become major.")]
    MajorClosed(TicketRef, Stage),
    /// Declared twice.
    #[error("{0} is a major incident already.")]
    AlreadyMajor(TicketRef),
    /// Declaring a duplicate major.
    #[error("{0} is a duplicate of {1}: declare that one major instead.")]
    MajorIsDuplicate(TicketRef, TicketRef),
    /// An incident that is not in the server.
    #[error("There is no {0} in this server.")]
    NotInServer(TicketRef),
    /// Linking an incident to itself.
    #[error("{0} cannot be a duplicate of itself.")]
    SelfDuplicate(TicketRef),
    /// Linking without the right.
    #[error("Only agents, incident managers and whoever is on call can link duplicates.")]
    LinkNotAllowed,
    /// Linking to a finished incident.
    #[error("{0} is {1}: link duplicates to an open incident.")]
    ParentClosed(TicketRef, Stage),
    /// Linking to a duplicate.
    #[error("{parent} is itself a duplicate of {grand}: link {child} to {grand} instead.")]
    ParentIsDuplicate {
        /// The one being linked.
        child: TicketRef,
        /// The one named as parent.
        parent: TicketRef,
        /// Its own parent.
        grand: TicketRef,
    },
    /// Linked twice.
    #[error("{0} is linked as a duplicate already.")]
    AlreadyLinked(TicketRef),
    /// Linking a finished incident.
    #[error("{0} is {1}: only open incidents are linked.")]
    ChildClosed(TicketRef, Stage),
}

/// Changes and CAB votes.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ChangeError {
    /// The lifecycle does not allow it now (worded by the domain).
    #[error("{}", refusal(&.id.to_string(), *.state, *.action))]
    NotNow {
        /// The change.
        id: TicketRef,
        /// Where it stands.
        state: ChangeState,
        /// What was asked.
        action: ChangeAction,
    },
    /// A standard change must be low risk.
    #[error("Standard changes are pre-approved, so they must be low risk. Raise it as a normal change for the CAB to vote on.")]
    StandardNotLow,
    /// No CAB role.
    #[error("No CAB role is set up: ask an admin to run /setup role purpose:cab.")]
    NoCabRole,
    /// Too few voters for the rule.
    #[error("The CAB rule ({rule}) needs {needed} eligible voter(s) besides you, and the CAB role has {has}. Add CAB members or change /setup cab.")]
    TooFewVoters {
        /// The rule.
        rule: Mode,
        /// Voters it needs.
        needed: usize,
        /// Voters there are.
        has: usize,
    },
    /// A change that is not in the server.
    #[error("There is no {0} in this server. /change calendar lists what is planned.")]
    NotInServer(TicketRef),
    /// A change that is not in the server (a vote's form).
    #[error("There is no {0} in this server.")]
    NotHere(TicketRef),
    /// A rejection without a reason.
    #[error("A rejection needs a reason, so the author knows what to fix.")]
    RejectNeedsReason,
    /// The author voting.
    #[error("You raised {0}, so you cannot vote on it.")]
    OwnChange(TicketRef),
    /// Someone not eligible voting.
    #[error("Only the CAB members eligible when the vote on {0} opened can vote on it.")]
    NotAVoter(TicketRef),
    /// Someone else's change.
    #[error("Only the author of {0} or a change manager can do that.")]
    AuthorOnly(TicketRef),
    /// Blackouts without the right.
    #[error("Only change managers and server admins can set blackout windows.")]
    BlackoutManagersOnly,
    /// A blackout that ends before it starts.
    #[error("The blackout must end after it starts ({0} – {1}).")]
    BlackoutBackwards(String, String),
    /// A blackout in the past.
    #[error("The blackout ended in the past ({0} {1}); blackouts are set for windows ahead.")]
    BlackoutPast(String, String),
    /// The calendar's days.
    #[error("Pick from 1 to 90 days.")]
    CalendarDays,
    /// A CAB rule for standard changes.
    #[error("Standard changes are pre-approved: pick normal or emergency.")]
    RuleForStandard,
    /// A vote mode.
    #[error("Pick the mode from the list (any, all, quorum); quorum needs a count of at least 1.")]
    BadMode,
    /// A window that ends before it starts.
    #[error("The window must end after it starts ({0} – {1}).")]
    WindowBackwards(String, String),
    /// A window in the past.
    #[error("The window starts in the past ({0} {1}); changes are planned ahead.")]
    WindowPast(String, String),
    /// Discord would not list the CAB role's members.
    #[error("I could not read the CAB role's members from Discord. The bot needs the Server Members intent (developer portal → Bot → Privileged Gateway Intents). Nothing was changed.")]
    MembersUnreadable,
}

/// Problems and known errors.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProblemError {
    /// Agents and incident managers only.
    #[error("Only service desk agents and incident managers work problems.")]
    ManagersOnly,
    /// A problem or incident that is not in the server.
    #[error("There is no {0} in this server.")]
    NotInServer(TicketRef),
    /// Linking to a finished problem.
    #[error("{0} is {1}: link incidents to an open problem.")]
    Closed(TicketRef, Stage),
    /// Linked twice.
    #[error("{0} is linked to {1} already.")]
    AlreadyLinked(TicketRef, TicketRef),
    /// An incident of another problem.
    #[error("{0} belongs to {1} already: an incident belongs to one problem. Unlink it there first.")]
    OtherProblem(TicketRef, TicketRef),
    /// Unlinking what is not linked.
    #[error("{0} is not linked to {1}.")]
    NotLinked(TicketRef, TicketRef),
    /// Findings of a finished problem.
    #[error("{0} is {1}: its findings are settled.")]
    Settled(TicketRef, Stage),
    /// A known error needs a cause and a workaround.
    #[error(
        "{0} needs a root cause (/problem rca) and a workaround (/problem workaround) before it is a known error."
    )]
    KnownErrorNeeds(TicketRef),
    /// A question's second answer.
    #[error("You already answered this question; nothing more was done.")]
    AlreadyChosen,
    /// **Create problem** clicked again.
    #[error("{0} was opened from this notice already.")]
    OpenedAlready(TicketRef),
}

/// Knowledge articles.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KbError {
    /// An article that is not in the server.
    #[error("There is no {0} in this server. /kb search finds articles.")]
    NoSuchArticle(KbRef),
    /// Agents only.
    #[error("Only service desk agents can add, edit or retire articles.")]
    AgentsOnly,
    /// Retired twice.
    #[error("{0} is retired already.")]
    AlreadyRetired(KbRef),
}

/// Monitoring sources.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AlertError {
    /// Incident managers and admins only.
    #[error("Only incident managers and server admins can manage monitoring sources.")]
    ManagersOnly,
    /// Signatures are Grafana's.
    #[error("Signatures (hmac:true) are Grafana's: only a grafana source can require them.")]
    HmacGrafanaOnly,
    /// A name taken.
    #[error("A source named `{0}` already exists. Pick another name, or /alerts source-rotate it for a new token.")]
    Exists(String),
    /// A name not there.
    #[error("There is no monitoring source named `{0}` here. /alerts source-list shows them.")]
    NoSuchSource(String),
}

/// Settings, catalog, SLA targets, reports, deliveries.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SetupError {
    /// Admins only.
    #[error("Only server admins (the Manage Server permission) can change or view the desk's settings.")]
    AdminOnly,
    /// A setting set to what it is.
    #[error("{0} is already set to that.")]
    Unchanged(String),
    /// A catalog item that is there.
    #[error("The catalog already has “{0}”. Remove it first to change it.")]
    InCatalog(String),
    /// A catalog item that is not there.
    #[error("The catalog has no “{0}”. /setup show lists what it has.")]
    NotInCatalog(String),
    /// SLA targets for changes.
    #[error("Changes have no SLA clocks; pick incident or request.")]
    NoChangeTargets,
    /// Reports are for those who run the desk.
    #[error("Reports are for agents, incident managers and change managers.")]
    ReportsNotAllowed,
    /// Nothing failed there any more.
    #[error("There is nothing failed to retry there any more: /setup deliveries shows what is left.")]
    NothingToRetry,
}

/// A command's options, or where it was used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ArgError {
    /// Used in a DM.
    #[error("The service desk works inside a server: use its commands there, not in direct messages.")]
    NotInServer,
    /// A command this build does not know.
    #[error("This bot does not know `{0}`; its commands may be updating. Try again in a minute.")]
    Unknown(String),
    /// A required option left out.
    #[error("The option `{0}` is missing; fill it in and try again.")]
    Missing(String),
    /// A choice that is not one of the list.
    #[error("Pick the {0} from the list: {1}.")]
    NotAChoice(String, String),
    /// A pick that did not come with the interaction.
    #[error("Pick {0}.")]
    Pick(&'static str),
    /// A priority.
    #[error("Pick a priority from P1 to P5.")]
    Priority,
    /// A DM button meant for someone else.
    #[error("This button was sent to someone else: only they can use it.")]
    NotYourButton,
    /// A DM button of a server one left.
    #[error("You are not a member of the server this message came from any more, so it cannot act there.")]
    NotAMember,
    /// A form the desk does not send.
    #[error("This form is not one the desk sends.")]
    UnknownForm,
}
