//! What a durable timer does when it falls due. Stored by name in `timers.kind`, which a CHECK
//! constraint limits to these names; a row that does not decode is an internal error, never
//! silently dropped.

use std::fmt;

/// A timer's purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimerKind {
    /// 75 % of an SLA target: a warning.
    SlaWarn,
    /// 100 % of an SLA target: a breach notice.
    SlaBreach,
    /// A resolved ticket closes itself.
    Autoclose,
    /// An unacknowledged incident pages the next level.
    Escalate,
    /// An acknowledged incident nobody updated goes back to triggered.
    AckTimeout,
    /// A CAB vote's deadline: an undecided vote expires.
    VoteDeadline,
    /// 75 % of a CAB vote's window: a DM to whoever has not voted.
    VoteRemind,
    /// Every alert of a monitored incident resolved and the source's grace passed: resolve it.
    AlertResolve,
    /// A knowledge article is due for review: remind the agents once.
    KbReview,
}

impl TimerKind {
    /// Every kind (the CHECK constraint of `timers.kind` lists the same names).
    pub const ALL: [TimerKind; 9] = [
        TimerKind::SlaWarn,
        TimerKind::SlaBreach,
        TimerKind::Autoclose,
        TimerKind::Escalate,
        TimerKind::AckTimeout,
        TimerKind::VoteDeadline,
        TimerKind::VoteRemind,
        TimerKind::AlertResolve,
        TimerKind::KbReview,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            TimerKind::SlaWarn => "sla_warn",
            TimerKind::SlaBreach => "sla_breach",
            TimerKind::Autoclose => "autoclose",
            TimerKind::Escalate => "escalate",
            TimerKind::AckTimeout => "ack_timeout",
            TimerKind::VoteDeadline => "vote_deadline",
            TimerKind::VoteRemind => "vote_remind",
            TimerKind::AlertResolve => "alert_resolve",
            TimerKind::KbReview => "kb_review",
        }
    }

    /// From the stored name.
    pub fn parse(s: &str) -> Option<TimerKind> {
        TimerKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for TimerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored timer kind the desk does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown timer kind `{0}`")]
pub struct UnknownTimerKind(pub String);

impl TryFrom<String> for TimerKind {
    type Error = UnknownTimerKind;
    fn try_from(s: String) -> Result<TimerKind, UnknownTimerKind> {
        TimerKind::parse(&s).ok_or(UnknownTimerKind(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_its_stored_name() {
        for k in TimerKind::ALL {
            assert_eq!(TimerKind::parse(k.as_str()), Some(k));
            assert_eq!(TimerKind::try_from(k.as_str().to_owned()), Ok(k));
        }
        assert_eq!(
            TimerKind::try_from("sla_nag".to_owned()),
            Err(UnknownTimerKind("sla_nag".into()))
        );
    }

    #[test]
    fn the_migration_allows_exactly_these_kinds() {
        let migration = include_str!("../../migrations/20261203030000_add_kb_review_timer.sql");
        let listed: Vec<&str> = migration
            .split("CREATE TABLE timers_checked")
            .nth(1)
            .unwrap_or_default()
            .split("CHECK (kind IN (")
            .nth(1)
            .and_then(|rest| rest.split("))").next())
            .unwrap_or_default()
            .split(',')
            .map(|k| k.trim().trim_matches('\''))
            .collect();
        let names: Vec<&str> = TimerKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(listed, names);
    }
}
