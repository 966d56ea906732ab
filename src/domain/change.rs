//! Changes: their types, risks, outcomes and lifecycle (ITIL change enablement).
//!
//! *new* → *voting* → *approved* / *rejected* / *expired*; *approved* → *scheduled* →
//! *implementing* → *completed*; *cancelled* before implementation. A *standard* change is
//! pre-approved: *new* → *scheduled*.

use std::fmt;

/// The three change types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeType {
    /// Pre-approved, low risk.
    Standard,
    /// Voted by the CAB, due after 24 h by default.
    Normal,
    /// Voted by the CAB's emergency rule, due after 1 h by default.
    Emergency,
}

impl ChangeType {
    /// Every type, in the order the command offers them.
    pub const ALL: [ChangeType; 3] = [ChangeType::Standard, ChangeType::Normal, ChangeType::Emergency];

    /// Parses the command choice.
    pub fn parse(s: &str) -> Option<ChangeType> {
        match s {
            "standard" => Some(ChangeType::Standard),
            "normal" => Some(ChangeType::Normal),
            "emergency" => Some(ChangeType::Emergency),
            _ => None,
        }
    }

    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeType::Standard => "standard",
            ChangeType::Normal => "normal",
            ChangeType::Emergency => "emergency",
        }
    }
}

/// How it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It worked.
    Successful,
    /// It failed.
    Failed,
    /// It was backed out.
    RolledBack,
}

impl Outcome {
    /// Every outcome, in the order the command offers them.
    pub const ALL: [Outcome; 3] = [Outcome::Successful, Outcome::Failed, Outcome::RolledBack];

    /// Parses the command choice.
    pub fn parse(s: &str) -> Option<Outcome> {
        match s {
            "successful" => Some(Outcome::Successful),
            "failed" => Some(Outcome::Failed),
            "rolled-back" => Some(Outcome::RolledBack),
            _ => None,
        }
    }

    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Successful => "successful",
            Outcome::Failed => "failed",
            Outcome::RolledBack => "rolled-back",
        }
    }
}

/// Where a change stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeState {
    /// Just raised.
    New,
    /// The CAB is voting.
    Voting,
    /// The CAB approved (then scheduled at once).
    Approved,
    /// The CAB rejected.
    Rejected,
    /// Nobody decided in time; never approved.
    Expired,
    /// Approved (or standard) and waiting for its window.
    Scheduled,
    /// Being carried out.
    Implementing,
    /// Done, with an outcome.
    Completed,
    /// Withdrawn before implementation.
    Cancelled,
}

/// What happens to a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeAction {
    /// Open the CAB vote.
    OpenVote,
    /// A standard change skips the vote.
    PreApprove,
    /// The vote approved.
    Approve,
    /// The vote rejected.
    Reject,
    /// The deadline passed.
    Expire,
    /// Put an approved change on the calendar.
    Schedule,
    /// `/change start`.
    Start,
    /// `/change complete`.
    Complete,
    /// `/change cancel`.
    Cancel,
}

impl ChangeState {
    const ALL: [ChangeState; 9] = [
        ChangeState::New,
        ChangeState::Voting,
        ChangeState::Approved,
        ChangeState::Rejected,
        ChangeState::Expired,
        ChangeState::Scheduled,
        ChangeState::Implementing,
        ChangeState::Completed,
        ChangeState::Cancelled,
    ];

    /// Stored and shown name.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeState::New => "new",
            ChangeState::Voting => "voting",
            ChangeState::Approved => "approved",
            ChangeState::Rejected => "rejected",
            ChangeState::Expired => "expired",
            ChangeState::Scheduled => "scheduled",
            ChangeState::Implementing => "implementing",
            ChangeState::Completed => "completed",
            ChangeState::Cancelled => "cancelled",
        }
    }

    /// From the stored name.
    pub fn parse(s: &str) -> Option<ChangeState> {
        ChangeState::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Not yet decided, done or withdrawn: someone still has work to do.
    pub fn is_open(self) -> bool {
        !matches!(
            self,
            ChangeState::Rejected | ChangeState::Expired | ChangeState::Completed | ChangeState::Cancelled
        )
    }

    /// The state after `action`, if allowed.
    pub fn next(self, action: ChangeAction) -> Option<ChangeState> {
        use ChangeAction as A;
        use ChangeState as S;
        match (self, action) {
            (S::New, A::OpenVote) => Some(S::Voting),
            (S::New, A::PreApprove) => Some(S::Scheduled),
            (S::Voting, A::Approve) => Some(S::Approved),
            (S::Voting, A::Reject) => Some(S::Rejected),
            (S::Voting, A::Expire) => Some(S::Expired),
            (S::Approved, A::Schedule) => Some(S::Scheduled),
            (S::Scheduled, A::Start) => Some(S::Implementing),
            (S::Implementing, A::Complete) => Some(S::Completed),
            (S::New | S::Voting | S::Approved | S::Scheduled, A::Cancel) => Some(S::Cancelled),
            _ => None,
        }
    }
}

impl fmt::Display for ChangeState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a change action was refused; shown to the user.
pub fn refusal(id: &str, state: ChangeState, action: ChangeAction) -> String {
    let why = match action {
        ChangeAction::Approve | ChangeAction::Reject => "the vote is closed; votes are only taken while it is voting.",
        ChangeAction::Start => "only scheduled changes can start.",
        ChangeAction::Complete => "only changes being implemented can be completed.",
        ChangeAction::Cancel => "only changes not yet implementing can be cancelled.",
        _ => "that is not possible in this state.",
    };
    format!("{id} is {state}: {why}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lifecycle_runs_from_vote_to_completion() {
        let mut s = ChangeState::New;
        for a in [
            ChangeAction::OpenVote,
            ChangeAction::Approve,
            ChangeAction::Schedule,
            ChangeAction::Start,
            ChangeAction::Complete,
        ] {
            s = s.next(a).unwrap();
        }
        assert_eq!(s, ChangeState::Completed);
    }

    #[test]
    fn an_expired_or_decided_vote_takes_no_more_votes_and_nothing_is_cancelled_once_implementing() {
        for s in [ChangeState::Expired, ChangeState::Rejected, ChangeState::Scheduled] {
            assert_eq!(s.next(ChangeAction::Approve), None);
        }
        assert_eq!(
            ChangeState::Expired.next(ChangeAction::Schedule),
            None,
            "expired is never approved"
        );
        assert_eq!(ChangeState::Implementing.next(ChangeAction::Cancel), None);
        assert_eq!(
            refusal("CHG-1", ChangeState::Scheduled, ChangeAction::Approve),
            "CHG-1 is scheduled: the vote is closed; votes are only taken while it is voting."
        );
    }
}
