//! Durations as people write them in `/setup`: `15m`, `4h`, `3d` on the wall clock, `4bh`, `3bd`
//! in business hours and business days.

use std::fmt;

/// The unit of a [`SlaDuration`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unit {
    /// Wall-clock minutes.
    Minutes,
    /// Wall-clock hours.
    Hours,
    /// Wall-clock days (24 h).
    Days,
    /// Hours counted inside business hours only.
    BusinessHours,
    /// Whole business days (one working day's length each).
    BusinessDays,
}

impl Unit {
    fn suffix(self) -> &'static str {
        match self {
            Unit::Minutes => "m",
            Unit::Hours => "h",
            Unit::Days => "d",
            Unit::BusinessHours => "bh",
            Unit::BusinessDays => "bd",
        }
    }

    /// The largest amount accepted: about a year in every unit.
    fn max_amount(self) -> u32 {
        match self {
            Unit::Minutes => 366 * 24 * 60,
            Unit::Hours | Unit::BusinessHours => 366 * 24,
            Unit::Days | Unit::BusinessDays => 366,
        }
    }
}

/// A target or delay as configured: an amount and a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SlaDuration {
    /// How many units, from 1.
    pub amount: u32,
    /// Which unit.
    pub unit: Unit,
}

/// Why a duration was refused; shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Not a number followed by m, h, d, bh or bd.
    #[error("`{0}` is not a duration: write a number and a unit, like 15m, 4h, 3d, 4bh (business hours) or 3bd (business days).")]
    Malformed(String),
    /// Zero, or more than a year.
    #[error("`{0}` is out of range: durations run from 1m to about a year (366d).")]
    OutOfRange(String),
}

/// A stored duration is read back with the parser people's input goes through; one that does
/// not parse fails the read.
impl TryFrom<String> for SlaDuration {
    type Error = DurationError;
    fn try_from(s: String) -> Result<SlaDuration, DurationError> {
        SlaDuration::parse(&s)
    }
}

impl SlaDuration {
    /// Builds a duration; callers inside the crate use this for defaults.
    pub const fn new(amount: u32, unit: Unit) -> SlaDuration {
        SlaDuration { amount, unit }
    }

    /// Parses `15m`, `4h`, `3d`, `4bh`, `3bd` (case and surrounding spaces ignored).
    pub fn parse(text: &str) -> Result<SlaDuration, DurationError> {
        let shown: String = text.trim().chars().take(24).collect();
        let t = text.trim().to_ascii_lowercase();
        let split = t
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(|| DurationError::Malformed(shown.clone()))?;
        let (digits, suffix) = t.split_at(split);
        let unit = match suffix.trim_start() {
            "m" | "min" => Unit::Minutes,
            "h" => Unit::Hours,
            "d" => Unit::Days,
            "bh" => Unit::BusinessHours,
            "bd" => Unit::BusinessDays,
            _ => return Err(DurationError::Malformed(shown)),
        };
        if digits.is_empty() || digits.len() > 9 {
            return Err(if digits.is_empty() {
                DurationError::Malformed(shown)
            } else {
                DurationError::OutOfRange(shown)
            });
        }
        let amount: u32 = digits.parse().map_err(|_| DurationError::Malformed(shown.clone()))?;
        if amount == 0 || amount > unit.max_amount() {
            return Err(DurationError::OutOfRange(shown));
        }
        Ok(SlaDuration { amount, unit })
    }

    /// True for business-hours units.
    pub fn is_business(self) -> bool {
        matches!(self.unit, Unit::BusinessHours | Unit::BusinessDays)
    }

    /// Wall-clock length in seconds; `None` for business units, which need a calendar.
    pub fn wall_seconds(self) -> Option<i64> {
        let a = i64::from(self.amount);
        match self.unit {
            Unit::Minutes => Some(a * 60),
            Unit::Hours => Some(a * 3600),
            Unit::Days => Some(a * 86_400),
            Unit::BusinessHours | Unit::BusinessDays => None,
        }
    }
}

impl fmt::Display for SlaDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.amount, self.unit.suffix())
    }
}

/// Shows a length of seconds the way people read it: `2d 3h`, `4h 05m`, `12m`, `40s`.
pub fn human_seconds(secs: i64) -> String {
    let s = secs.abs();
    let (d, h, m) = (s / 86_400, (s % 86_400) / 3600, (s % 3600) / 60);
    let body = if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m:02}m")
    } else if m > 0 {
        format!("{m}m")
    } else {
        format!("{s}s")
    };
    if secs < 0 {
        format!("-{body}")
    } else {
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_every_unit() {
        assert_eq!(SlaDuration::parse("15m").unwrap(), SlaDuration::new(15, Unit::Minutes));
        assert_eq!(SlaDuration::parse("4H").unwrap(), SlaDuration::new(4, Unit::Hours));
        assert_eq!(SlaDuration::parse(" 3d ").unwrap(), SlaDuration::new(3, Unit::Days));
        assert_eq!(
            SlaDuration::parse("4bh").unwrap(),
            SlaDuration::new(4, Unit::BusinessHours)
        );
        assert_eq!(
            SlaDuration::parse("3bd").unwrap(),
            SlaDuration::new(3, Unit::BusinessDays)
        );
    }

    #[test]
    fn refuses_zero_huge_and_nonsense() {
        for bad in [
            "0m",
            "",
            "m",
            "15",
            "15x",
            "-5m",
            "1.5h",
            "367d",
            "99999999999m",
            "4 b h",
        ] {
            assert!(SlaDuration::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn human_seconds_reads_well() {
        assert_eq!(human_seconds(40), "40s");
        assert_eq!(human_seconds(12 * 60), "12m");
        assert_eq!(human_seconds(4 * 3600 + 5 * 60), "4h 05m");
        assert_eq!(human_seconds(2 * 86_400 + 3 * 3600), "2d 3h");
        assert_eq!(human_seconds(-90), "-1m");
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in ".{0,30}") {
            let _ = SlaDuration::parse(&s);
        }

        #[test]
        fn accepted_durations_round_trip(s in "[0-9]{1,6}(m|h|d|bh|bd)") {
            if let Ok(d) = SlaDuration::parse(&s) {
                prop_assert_eq!(SlaDuration::parse(&d.to_string()).unwrap(), d);
            }
        }
    }
}
