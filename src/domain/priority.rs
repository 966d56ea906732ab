//! Priority P1 (critical) … P5 (planning), and the incident matrix impact × urgency.

use std::fmt;

/// Ticket priority; P1 is the most urgent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Priority(u8);

/// Impact or urgency of an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    /// High = 1 in the matrix.
    High,
    /// Medium = 2.
    Medium,
    /// Low = 3.
    Low,
}

impl Level {
    /// Every level, high first.
    pub const ALL: [Level; 3] = [Level::High, Level::Medium, Level::Low];

    /// The name used in commands and storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::High => "high",
            Level::Medium => "medium",
            Level::Low => "low",
        }
    }

    /// Parses `high`, `medium` or `low`.
    pub fn parse(s: &str) -> Option<Level> {
        Level::ALL
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(s.trim()))
    }

    fn weight(self) -> u8 {
        match self {
            Level::High => 1,
            Level::Medium => 2,
            Level::Low => 3,
        }
    }
}

impl Priority {
    /// P1, critical.
    pub const P1: Priority = Priority(1);
    /// P2, high.
    pub const P2: Priority = Priority(2);
    /// P3, moderate.
    pub const P3: Priority = Priority(3);
    /// P4, low; the default for service requests.
    pub const P4: Priority = Priority(4);
    /// P5, planning.
    pub const P5: Priority = Priority(5);
    /// Every priority, most urgent first.
    pub const ALL: [Priority; 5] = [Priority::P1, Priority::P2, Priority::P3, Priority::P4, Priority::P5];

    /// From the stored number 1..=5.
    pub fn from_number(n: i64) -> Option<Priority> {
        u8::try_from(n).ok().filter(|n| (1..=5).contains(n)).map(Priority)
    }

    /// Parses `P3`, `p3` or `3`.
    pub fn parse(s: &str) -> Option<Priority> {
        let s = s.trim();
        let digits = s.strip_prefix('P').or_else(|| s.strip_prefix('p')).unwrap_or(s);
        if digits.len() != 1 {
            return None;
        }
        digits.parse::<i64>().ok().and_then(Priority::from_number)
    }

    /// The number 1..=5.
    pub fn number(self) -> u8 {
        self.0
    }

    /// An incident's priority: impact + urgency − 1, with high = 1, medium = 2, low = 3.
    pub fn from_impact_urgency(impact: Level, urgency: Level) -> Priority {
        Priority(impact.weight() + urgency.weight() - 1)
    }

    /// A word for the priority, as service desks say it.
    pub fn label(self) -> &'static str {
        match self.0 {
            1 => "critical",
            2 => "high",
            3 => "moderate",
            4 => "low",
            _ => "planning",
        }
    }
}

/// A stored priority outside 1..=5 (the row cannot be read).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("priority {0} is not between 1 and 5")]
pub struct UnknownPriority(pub i64);

impl TryFrom<i64> for Priority {
    type Error = UnknownPriority;
    fn try_from(n: i64) -> Result<Priority, UnknownPriority> {
        Priority::from_number(n).ok_or(UnknownPriority(n))
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "P{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_matrix_runs_from_p1_to_p5() {
        use Level::*;
        let expected = [
            (High, High, 1),
            (High, Medium, 2),
            (High, Low, 3),
            (Medium, High, 2),
            (Medium, Medium, 3),
            (Medium, Low, 4),
            (Low, High, 3),
            (Low, Medium, 4),
            (Low, Low, 5),
        ];
        for (i, u, p) in expected {
            assert_eq!(Priority::from_impact_urgency(i, u).number(), p, "{i:?} x {u:?}");
        }
    }

    #[test]
    fn parses_p_names_and_refuses_others() {
        assert_eq!(Priority::parse("P1"), Some(Priority::P1));
        assert_eq!(Priority::parse("p5"), Some(Priority::P5));
        assert_eq!(Priority::parse("3"), Some(Priority::P3));
        for bad in ["P0", "P6", "PP1", "", "P10", "high"] {
            assert_eq!(Priority::parse(bad), None, "{bad}");
        }
    }

    proptest! {
        #[test]
        fn the_matrix_is_symmetric_and_monotone(i in 0usize..3, u in 0usize..3) {
            let (a, b) = (Level::ALL[i], Level::ALL[u]);
            let p = Priority::from_impact_urgency(a, b);
            prop_assert_eq!(p, Priority::from_impact_urgency(b, a));
            prop_assert!(Priority::ALL.contains(&p));
            if i < 2 {
                // a lower impact never makes an incident more urgent
                prop_assert!(Priority::from_impact_urgency(Level::ALL[i + 1], b) > p);
            }
        }

        #[test]
        fn parse_never_panics_and_round_trips(s in ".{0,8}", n in 1i64..=5) {
            let _ = Priority::parse(&s);
            let p = Priority::from_number(n).unwrap();
            prop_assert_eq!(Priority::parse(&p.to_string()), Some(p));
        }
    }
}
