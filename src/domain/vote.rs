//! The change advisory board's vote rule: `any` (one approval), `all` (every eligible voter; one
//! rejection rejects), or `quorum k` (approved at k approvals; rejected as soon as k can no
//! longer be reached).

use std::collections::BTreeMap;
use std::fmt;

use crate::domain::change::ChangeType;
use crate::domain::duration::Unit;
use crate::domain::SlaDuration;

/// How a vote is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One approval approves.
    Any,
    /// Every eligible voter must approve; one rejection rejects.
    All,
    /// `k` approvals approve.
    Quorum(u32),
}

impl Mode {
    /// From the stored or typed mode and count.
    pub fn from_parts(mode: &str, count: u32) -> Option<Mode> {
        match mode {
            "any" => Some(Mode::Any),
            "all" => Some(Mode::All),
            "quorum" if count >= 1 => Some(Mode::Quorum(count)),
            _ => None,
        }
    }

    /// Stored name.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Any => "any",
            Mode::All => "all",
            Mode::Quorum(_) => "quorum",
        }
    }

    /// Approvals needed with `eligible` voters.
    pub fn required(self, eligible: usize) -> usize {
        match self {
            Mode::Any => 1,
            Mode::All => eligible,
            Mode::Quorum(k) => usize::try_from(k).unwrap_or(usize::MAX),
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mode::Quorum(k) => write!(f, "quorum {k}"),
            other => f.write_str(other.name()),
        }
    }
}

/// One voter's ballot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ballot {
    /// For.
    Approve,
    /// Against.
    Reject,
}

/// Where a vote stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Undecided.
    Open,
    /// Decided for.
    Approved,
    /// Decided against.
    Rejected,
}

/// The decision for a count of ballots among `eligible` voters.
pub fn decide(mode: Mode, eligible: usize, approvals: usize, rejections: usize) -> Outcome {
    let required = mode.required(eligible);
    if eligible == 0 || required > eligible {
        return Outcome::Rejected; // approval can never be reached
    }
    if approvals >= required {
        return Outcome::Approved;
    }
    // Approval is still reachable only if the voters who have not rejected could supply it.
    if eligible - rejections.min(eligible) < required {
        return Outcome::Rejected;
    }
    Outcome::Open
}

/// The ballots of one vote: one per voter, the latest counts (voters may change their mind until
/// the decision).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    ballots: BTreeMap<u64, Ballot>,
}

impl Tally {
    /// Records (or replaces) a voter's ballot.
    pub fn cast(&mut self, voter: u64, ballot: Ballot) {
        self.ballots.insert(voter, ballot);
    }

    /// (approvals, rejections).
    pub fn counts(&self) -> (usize, usize) {
        let a = self.ballots.values().filter(|b| **b == Ballot::Approve).count();
        (a, self.ballots.len() - a)
    }

    /// The decision under `mode` with `eligible` voters.
    pub fn outcome(&self, mode: Mode, eligible: usize) -> Outcome {
        let (a, r) = self.counts();
        decide(mode, eligible, a, r)
    }
}

/// A CAB rule as configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CabRule {
    /// any / all / quorum k.
    pub mode: Mode,
    /// How long the vote stays open.
    pub voting: SlaDuration,
}

/// Defaults: one approval; 24 h for normal changes, 1 h for emergencies.
pub fn default_rule(t: ChangeType) -> CabRule {
    let voting = if t == ChangeType::Emergency {
        SlaDuration::new(1, Unit::Hours)
    } else {
        SlaDuration::new(24, Unit::Hours)
    };
    CabRule {
        mode: Mode::Any,
        voting,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn quorum_two_of_three() {
        let m = Mode::Quorum(2);
        assert_eq!(decide(m, 3, 1, 0), Outcome::Open);
        assert_eq!(decide(m, 3, 2, 0), Outcome::Approved);
        assert_eq!(decide(m, 3, 1, 1), Outcome::Open);
        assert_eq!(
            decide(m, 3, 0, 2),
            Outcome::Rejected,
            "two rejections leave one possible approval"
        );
    }

    #[test]
    fn any_and_all() {
        assert_eq!(decide(Mode::Any, 3, 1, 2), Outcome::Approved);
        assert_eq!(decide(Mode::Any, 3, 0, 3), Outcome::Rejected);
        assert_eq!(decide(Mode::All, 3, 2, 0), Outcome::Open);
        assert_eq!(decide(Mode::All, 3, 2, 1), Outcome::Rejected);
        assert_eq!(decide(Mode::All, 3, 3, 0), Outcome::Approved);
    }

    /// The rule written out plainly, case by case, to check `decide` against.
    fn reference(mode: Mode, n: usize, a: usize, r: usize) -> Outcome {
        match mode {
            Mode::Any => {
                if a >= 1 {
                    Outcome::Approved
                } else if r == n {
                    Outcome::Rejected
                } else {
                    Outcome::Open
                }
            }
            Mode::All => {
                if r >= 1 || n == 0 {
                    Outcome::Rejected
                } else if a == n {
                    Outcome::Approved
                } else {
                    Outcome::Open
                }
            }
            Mode::Quorum(k) => {
                let k = k as usize;
                if a >= k && k <= n {
                    Outcome::Approved
                } else if n - r < k {
                    Outcome::Rejected
                } else {
                    Outcome::Open
                }
            }
        }
    }

    fn modes() -> impl Strategy<Value = Mode> {
        prop_oneof![Just(Mode::Any), Just(Mode::All), (1u32..10).prop_map(Mode::Quorum)]
    }

    proptest! {
        #[test]
        fn every_sequence_matches_the_reference_and_never_flips(
            mode in modes(),
            n in 1usize..=9,
            votes in proptest::collection::vec((0u64..9, any::<bool>()), 0..30),
        ) {
            let mut tally = Tally::default();
            let mut decided: Option<Outcome> = None;
            for (voter, approve) in votes {
                let voter = voter % n as u64;
                if decided.is_some() {
                    break; // the service refuses votes after the decision
                }
                tally.cast(voter, if approve { Ballot::Approve } else { Ballot::Reject });
                let (a, r) = tally.counts();
                let out = tally.outcome(mode, n);
                prop_assert_eq!(out, reference(mode, n, a, r), "{} n={} a={} r={}", mode, n, a, r);
                if out == Outcome::Approved {
                    prop_assert!(a >= mode.required(n), "approved without the required count");
                }
                if out != Outcome::Open {
                    decided = Some(out);
                }
            }
            // Once decided, more ballots from anyone cannot change a count-based decision's sign:
            // approval never needs more than what it had, rejection never becomes reachable again.
            if let Some(d) = decided {
                let (a, r) = tally.counts();
                prop_assert_eq!(decide(mode, n, a, r), d);
            }
        }
    }
}
