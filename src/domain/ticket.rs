//! Ticket states and the transitions people may take between them (requests and incidents).
//!
//! Who may take a transition is the service's business; this module says only which transitions
//! exist, so the table below is the single source of truth for the lifecycle.

use std::fmt;

use super::change::ChangeState;
use super::ids::{TicketKind, TicketRef};

/// Where a request or incident stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TicketState {
    /// A request nobody has picked up yet.
    New,
    /// A request someone is working on.
    InProgress,
    /// Waiting on someone outside the desk; the resolution clock is paused.
    OnHold,
    /// An incident that pages on-call until acknowledged.
    Triggered,
    /// An incident someone has acknowledged.
    Acknowledged,
    /// Fixed; waits for the requester to confirm, reopen, or for auto-close.
    Resolved,
    /// Finished for good.
    Closed,
    /// Withdrawn (or a duplicate incident).
    Cancelled,
    /// A problem someone is looking into.
    Investigating,
    /// A problem whose root cause and workaround are known (a known error).
    KnownError,
}

/// What someone (or the scheduler) does to a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// An agent takes the ticket.
    Claim,
    /// Someone gives the ticket to an agent.
    Assign,
    /// Pause the ticket (with a reason).
    Hold,
    /// Resume a ticket on hold.
    Resume,
    /// Acknowledge a triggered incident.
    Acknowledge,
    /// An acknowledged incident nobody updated goes back to triggered.
    Retrigger,
    /// Mark it fixed (with a note).
    Resolve,
    /// The fix did not hold.
    Reopen,
    /// Confirm the resolution (or auto-close).
    Close,
    /// Withdraw it.
    Cancel,
    /// A problem's cause and workaround are recorded: it is a known error.
    KnownError,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 11] = [
        Action::Claim,
        Action::Assign,
        Action::Hold,
        Action::Resume,
        Action::Acknowledge,
        Action::Retrigger,
        Action::Resolve,
        Action::Reopen,
        Action::Close,
        Action::Cancel,
        Action::KnownError,
    ];
}

/// Why a ticket is on hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HoldReason {
    /// The requester owes an answer; their next comment resumes the ticket.
    AwaitingRequester,
    /// A supplier owes something.
    AwaitingVendor,
    /// Waiting for a change to be implemented.
    AwaitingChange,
}

impl HoldReason {
    /// Every reason, in the order the command offers them.
    pub const ALL: [HoldReason; 3] = [
        HoldReason::AwaitingRequester,
        HoldReason::AwaitingVendor,
        HoldReason::AwaitingChange,
    ];

    /// The name used in commands and storage.
    pub fn as_str(self) -> &'static str {
        match self {
            HoldReason::AwaitingRequester => "awaiting-requester",
            HoldReason::AwaitingVendor => "awaiting-vendor",
            HoldReason::AwaitingChange => "awaiting-change",
        }
    }

    /// Parses the stored or typed name.
    pub fn parse(s: &str) -> Option<HoldReason> {
        HoldReason::ALL.into_iter().find(|r| r.as_str() == s.trim())
    }
}

impl TicketState {
    /// Every state.
    pub const ALL: [TicketState; 10] = [
        TicketState::New,
        TicketState::InProgress,
        TicketState::OnHold,
        TicketState::Triggered,
        TicketState::Acknowledged,
        TicketState::Resolved,
        TicketState::Closed,
        TicketState::Cancelled,
        TicketState::Investigating,
        TicketState::KnownError,
    ];

    /// The name used in storage and shown to people.
    pub fn as_str(self) -> &'static str {
        match self {
            TicketState::New => "new",
            TicketState::InProgress => "in progress",
            TicketState::OnHold => "on hold",
            TicketState::Triggered => "triggered",
            TicketState::Acknowledged => "acknowledged",
            TicketState::Resolved => "resolved",
            TicketState::Closed => "closed",
            TicketState::Cancelled => "cancelled",
            TicketState::Investigating => "investigating",
            TicketState::KnownError => "known-error",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<TicketState> {
        TicketState::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// The state a new ticket of this kind starts in.
    pub fn initial(kind: TicketKind) -> TicketState {
        match kind {
            TicketKind::Incident => TicketState::Triggered,
            TicketKind::Request | TicketKind::Change | TicketKind::Problem => TicketState::New,
        }
    }

    /// Open = someone still has work to do (not resolved, closed or cancelled).
    pub fn is_open(self) -> bool {
        !matches!(
            self,
            TicketState::Resolved | TicketState::Closed | TicketState::Cancelled
        )
    }

    /// Closed and cancelled tickets never change again.
    pub fn is_final(self) -> bool {
        matches!(self, TicketState::Closed | TicketState::Cancelled)
    }

    /// The state after `action`, or why the action is not possible now.
    pub fn apply(self, kind: TicketKind, action: Action, id: TicketRef) -> Result<TicketState, TransitionError> {
        next(kind, self, action).ok_or(TransitionError {
            id,
            state: self,
            action,
        })
    }
}

/// Where a stored ticket of any kind stands: changes have a lifecycle of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// A request, incident or problem.
    Ticket(TicketState),
    /// A change.
    Change(ChangeState),
}

/// A stored state name that is not a state of the row's kind (the row cannot be read).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name:?} is not a state of a {kind}")]
pub struct UnknownState {
    /// The row's kind.
    pub kind: TicketKind,
    /// The stored name.
    pub name: String,
}

impl Stage {
    /// Decodes the stored name of a ticket of `kind`; no fallback.
    pub fn decode(kind: TicketKind, name: &str) -> Result<Stage, UnknownState> {
        let stage = match kind {
            TicketKind::Change => ChangeState::parse(name).map(Stage::Change),
            _ => TicketState::parse(name)
                .filter(|s| lifecycle_has(kind, *s))
                .map(Stage::Ticket),
        };
        stage.ok_or_else(|| UnknownState {
            kind,
            name: name.to_owned(),
        })
    }

    /// The stored and shown name.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Ticket(s) => s.as_str(),
            Stage::Change(s) => s.as_str(),
        }
    }

    /// The state of a request, incident or problem; `None` for a change.
    pub fn ticket(self) -> Option<TicketState> {
        match self {
            Stage::Ticket(s) => Some(s),
            Stage::Change(_) => None,
        }
    }

    /// The state of a change; `None` for the other kinds.
    pub fn change(self) -> Option<ChangeState> {
        match self {
            Stage::Change(s) => Some(s),
            Stage::Ticket(_) => None,
        }
    }

    /// Someone still has work to do.
    pub fn is_open(self) -> bool {
        match self {
            Stage::Ticket(s) => s.is_open(),
            Stage::Change(s) => s.is_open(),
        }
    }

    /// It never changes again.
    pub fn is_final(self) -> bool {
        match self {
            Stage::Ticket(s) => s.is_final(),
            Stage::Change(s) => !s.is_open(),
        }
    }
}

/// A stored state name of a request, incident or problem, read where the kind is known to be
/// one of those (an alert group's incident); an unknown name fails the read.
impl TryFrom<String> for TicketState {
    type Error = UnknownState;
    fn try_from(name: String) -> Result<TicketState, UnknownState> {
        TicketState::parse(&name).ok_or(UnknownState {
            kind: TicketKind::Incident,
            name,
        })
    }
}

impl PartialEq<TicketState> for Stage {
    fn eq(&self, other: &TicketState) -> bool {
        *self == Stage::Ticket(*other)
    }
}

impl PartialEq<ChangeState> for Stage {
    fn eq(&self, other: &ChangeState) -> bool {
        *self == Stage::Change(*other)
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether `state` is one of `kind`'s lifecycle (its start, or where a transition of the
/// table leads; the tests hold this list to the table). Checked on every row read, so a
/// match rather than a walk over the table.
fn lifecycle_has(kind: TicketKind, state: TicketState) -> bool {
    use TicketState as S;
    match kind {
        TicketKind::Request => matches!(
            state,
            S::New | S::InProgress | S::OnHold | S::Resolved | S::Closed | S::Cancelled
        ),
        TicketKind::Incident => matches!(
            state,
            S::Triggered | S::Acknowledged | S::OnHold | S::Resolved | S::Closed | S::Cancelled
        ),
        TicketKind::Problem => matches!(
            state,
            S::New | S::Investigating | S::KnownError | S::Resolved | S::Closed | S::Cancelled
        ),
        TicketKind::Change => false,
    }
}

impl fmt::Display for TicketState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The lifecycle table. `None` = not allowed.
fn next(kind: TicketKind, state: TicketState, action: Action) -> Option<TicketState> {
    use Action as A;
    use TicketState as S;
    match kind {
        TicketKind::Request => match (state, action) {
            (S::New | S::InProgress, A::Claim | A::Assign) => Some(S::InProgress),
            (S::OnHold, A::Claim | A::Assign) => Some(S::OnHold),
            (S::InProgress, A::Hold) => Some(S::OnHold),
            (S::OnHold, A::Resume) => Some(S::InProgress),
            (S::New | S::InProgress | S::OnHold, A::Resolve) => Some(S::Resolved),
            (S::New | S::InProgress | S::OnHold, A::Cancel) => Some(S::Cancelled),
            (S::Resolved, A::Reopen) => Some(S::InProgress),
            (S::Resolved, A::Close) => Some(S::Closed),
            _ => None,
        },
        TicketKind::Incident => match (state, action) {
            (S::Triggered | S::Acknowledged, A::Acknowledge | A::Claim) => Some(S::Acknowledged),
            (S::Triggered, A::Assign) => Some(S::Triggered),
            (S::Acknowledged, A::Assign) => Some(S::Acknowledged),
            (S::OnHold, A::Assign | A::Claim) => Some(S::OnHold),
            (S::Acknowledged, A::Retrigger) => Some(S::Triggered),
            (S::Acknowledged, A::Hold) => Some(S::OnHold),
            (S::OnHold, A::Resume) => Some(S::Acknowledged),
            (S::Triggered | S::Acknowledged | S::OnHold, A::Resolve) => Some(S::Resolved),
            (S::Triggered | S::Acknowledged | S::OnHold, A::Cancel) => Some(S::Cancelled),
            (S::Resolved, A::Reopen) => Some(S::Triggered),
            (S::Resolved, A::Close) => Some(S::Closed),
            _ => None,
        },
        TicketKind::Problem => match (state, action) {
            (S::New | S::Investigating, A::Claim | A::Assign) => Some(S::Investigating),
            (S::KnownError, A::Claim | A::Assign) => Some(S::KnownError),
            (S::New | S::Investigating, A::KnownError) => Some(S::KnownError),
            (S::New | S::Investigating | S::KnownError, A::Resolve) => Some(S::Resolved),
            (S::New | S::Investigating | S::KnownError, A::Cancel) => Some(S::Cancelled),
            (S::Resolved, A::Reopen) => Some(S::Investigating),
            (S::Resolved, A::Close) => Some(S::Closed),
            _ => None,
        },
        // Changes have their own lifecycle (votes, schedule); none of these actions apply.
        TicketKind::Change => None,
    }
}

/// An action the ticket's state does not allow; the text is shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{id} is {state}: {}", explain(*.action, *.state))]
pub struct TransitionError {
    /// The ticket.
    pub id: TicketRef,
    /// Its state now.
    pub state: TicketState,
    /// What was tried.
    pub action: Action,
}

fn explain(action: Action, state: TicketState) -> &'static str {
    match action {
        Action::Claim if state.is_open() => "it cannot be claimed in this state.",
        Action::Claim | Action::Assign => "only open tickets can be claimed or assigned.",
        Action::Hold if state.is_open() => "only tickets being worked on can be put on hold; claim it first.",
        Action::Hold => "only open tickets can be put on hold.",
        Action::Resume => "only tickets on hold can be resumed.",
        Action::Acknowledge => "only triggered incidents can be acknowledged.",
        Action::Retrigger => "only acknowledged incidents can be re-triggered.",
        Action::Resolve => "only open tickets can be resolved.",
        Action::KnownError => "only new or investigated problems become known errors.",
        Action::Reopen => "only resolved tickets can be reopened; raise a new ticket instead.",
        Action::Close if state.is_open() => "only resolved tickets can be closed; resolve or cancel it instead.",
        Action::Close => "it is already finished.",
        Action::Cancel => "only open tickets can be cancelled.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn id() -> TicketRef {
        TicketRef::new(TicketKind::Request, 9)
    }

    #[test]
    fn a_stored_state_decodes_only_as_a_state_of_its_kind() {
        use crate::domain::change::ChangeState;
        let ok = |k, n| Stage::decode(k, n).unwrap();
        assert_eq!(ok(TicketKind::Request, "in progress"), TicketState::InProgress);
        assert_eq!(ok(TicketKind::Incident, "triggered"), TicketState::Triggered);
        assert_eq!(ok(TicketKind::Problem, "known-error"), TicketState::KnownError);
        assert_eq!(ok(TicketKind::Change, "voting"), ChangeState::Voting);
        // The same word is a change's own state on a change, a ticket's elsewhere.
        assert_eq!(ok(TicketKind::Change, "cancelled"), ChangeState::Cancelled);
        assert_eq!(ok(TicketKind::Request, "cancelled"), TicketState::Cancelled);
        for (k, n) in [
            (TicketKind::Request, "triggered"),
            (TicketKind::Request, "known-error"),
            (TicketKind::Incident, "new"),
            (TicketKind::Change, "in progress"),
            (TicketKind::Request, "Resolved"),
            (TicketKind::Request, ""),
        ] {
            let err = Stage::decode(k, n).unwrap_err();
            assert_eq!((err.kind, err.name.as_str()), (k, n));
        }
        // Every state a lifecycle can reach, and only those, reads back as itself.
        for k in TicketKind::ALL {
            if k == TicketKind::Change {
                continue;
            }
            for s in TicketState::ALL {
                let reachable = s == TicketState::initial(k)
                    || TicketState::ALL
                        .into_iter()
                        .any(|f| Action::ALL.into_iter().any(|a| f.apply(k, a, id()) == Ok(s)));
                assert_eq!(
                    Stage::decode(k, s.as_str()).ok(),
                    reachable.then_some(Stage::Ticket(s)),
                    "{k} {s}"
                );
            }
        }
    }

    #[test]
    fn putting_a_resolved_ticket_on_hold_says_why_not() {
        let err = TicketState::Resolved
            .apply(TicketKind::Request, Action::Hold, id())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "REQ-9 is resolved: only open tickets can be put on hold."
        );
    }

    #[test]
    fn the_request_happy_path_is_allowed() {
        let k = TicketKind::Request;
        let mut s = TicketState::initial(k);
        for a in [
            Action::Claim,
            Action::Hold,
            Action::Resume,
            Action::Resolve,
            Action::Reopen,
            Action::Resolve,
            Action::Close,
        ] {
            s = s.apply(k, a, id()).unwrap();
        }
        assert_eq!(s, TicketState::Closed);
    }

    #[test]
    fn final_states_allow_nothing() {
        for k in [TicketKind::Request, TicketKind::Incident] {
            for s in [TicketState::Closed, TicketState::Cancelled] {
                for a in Action::ALL {
                    assert!(s.apply(k, a, id()).is_err(), "{k} {s} {a:?}");
                }
            }
        }
    }

    /// The lifecycle as SPEC §4.2 writes it, kept apart from `next` on purpose.
    fn request_edges() -> Vec<(TicketState, TicketState)> {
        use TicketState::*;
        vec![
            (New, InProgress),
            (InProgress, InProgress),
            (InProgress, OnHold),
            (OnHold, OnHold),
            (OnHold, InProgress),
            (New, Resolved),
            (InProgress, Resolved),
            (OnHold, Resolved),
            (Resolved, Closed),
            (Resolved, InProgress),
            (New, Cancelled),
            (InProgress, Cancelled),
            (OnHold, Cancelled),
        ]
    }

    proptest! {
        #[test]
        fn no_sequence_of_actions_leaves_the_request_table(actions in proptest::collection::vec(0usize..Action::ALL.len(), 0..40)) {
            let k = TicketKind::Request;
            let edges = request_edges();
            let mut s = TicketState::initial(k);
            for i in actions {
                match s.apply(k, Action::ALL[i], id()) {
                    Ok(n) => {
                        prop_assert!(edges.contains(&(s, n)), "{s} -> {n} by {:?}", Action::ALL[i]);
                        s = n;
                    }
                    Err(e) => {
                        prop_assert_eq!(e.state, s);
                        prop_assert!(e.to_string().starts_with("REQ-9 is "));
                    }
                }
                prop_assert!(![TicketState::Triggered, TicketState::Acknowledged].contains(&s));
            }
        }

        #[test]
        fn incidents_never_reach_request_only_states(actions in proptest::collection::vec(0usize..Action::ALL.len(), 0..40)) {
            let k = TicketKind::Incident;
            let mut s = TicketState::initial(k);
            for i in actions {
                if let Ok(n) = s.apply(k, Action::ALL[i], id()) {
                    prop_assert!(n != TicketState::New && n != TicketState::InProgress);
                    prop_assert!(!s.is_final());
                    s = n;
                }
            }
        }
    }
}
