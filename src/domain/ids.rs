//! Ticket kinds and their human ids (`REQ-7`, `INC-3`, `CHG-12`, `PRB-2`), numbered per guild
//! and kind.

use std::fmt;

/// The three kinds of ticket the desk keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TicketKind {
    /// A service request (request fulfilment).
    Request,
    /// An incident (incident management).
    Incident,
    /// A change (change enablement).
    Change,
    /// A problem: the cause behind incidents (problem management).
    Problem,
}

impl TicketKind {
    /// Every kind, in display order.
    pub const ALL: [TicketKind; 4] = [
        TicketKind::Request,
        TicketKind::Incident,
        TicketKind::Change,
        TicketKind::Problem,
    ];

    /// The prefix of the human id.
    pub fn prefix(self) -> &'static str {
        match self {
            TicketKind::Request => "REQ",
            TicketKind::Incident => "INC",
            TicketKind::Change => "CHG",
            TicketKind::Problem => "PRB",
        }
    }

    /// The name stored in the database and used in command choices.
    pub fn as_str(self) -> &'static str {
        match self {
            TicketKind::Request => "request",
            TicketKind::Incident => "incident",
            TicketKind::Change => "change",
            TicketKind::Problem => "problem",
        }
    }

    /// Parses the stored name.
    pub fn from_name(name: &str) -> Option<TicketKind> {
        TicketKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    fn from_prefix(prefix: &str) -> Option<TicketKind> {
        TicketKind::ALL
            .into_iter()
            .find(|k| k.prefix().eq_ignore_ascii_case(prefix))
    }
}

/// A stored kind name the desk does not know (the row cannot be read).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown ticket kind {0:?}")]
pub struct UnknownKind(pub String);

impl TryFrom<String> for TicketKind {
    type Error = UnknownKind;
    fn try_from(s: String) -> Result<TicketKind, UnknownKind> {
        TicketKind::from_name(&s).ok_or(UnknownKind(s))
    }
}

impl fmt::Display for TicketKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A ticket id as a person types it. The kind may be missing (`7`) where a command implies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TicketRef {
    /// The kind, if the text named one.
    pub kind: Option<TicketKind>,
    /// The number within the guild and kind, from 1.
    pub number: u32,
}

/// Why a typed ticket id was refused; the text is shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Not of the form `REQ-7`, `INC-3`, `CHG-12` or a bare number.
    #[error("`{0}` is not a ticket id: use the form REQ-7, INC-3 or CHG-12.")]
    Malformed(String),
    /// The id names a kind the command does not work on.
    #[error("{found} is not an id this command takes: use {prefix}-{number} (or just {number}).")]
    WrongKind {
        /// The id as typed, normalised.
        found: String,
        /// The number typed.
        number: u32,
        /// The prefix of the kind the command needs.
        prefix: &'static str,
    },
    /// A bare number where the command cannot tell the kind.
    #[error("`{0}` needs its prefix here: write REQ-{0}, INC-{0} or CHG-{0}.")]
    NeedsKind(u32),
}

/// Longest id text we look at; anything longer is malformed without further work.
const MAX_ID_CHARS: usize = 20;

impl TicketRef {
    /// A full id of a known kind.
    pub fn new(kind: TicketKind, number: u32) -> TicketRef {
        TicketRef {
            kind: Some(kind),
            number,
        }
    }

    /// Parses `REQ-7`, `req-7`, `REQ7`, `#7` or `7` (surrounding spaces ignored).
    pub fn parse(text: &str) -> Result<TicketRef, IdError> {
        let malformed = || IdError::Malformed(text.chars().take(MAX_ID_CHARS).collect());
        let t = text.trim();
        if t.is_empty() || t.len() > MAX_ID_CHARS {
            return Err(malformed());
        }
        let t = t.strip_prefix('#').unwrap_or(t);
        let split = t.find(|c: char| c.is_ascii_digit()).ok_or_else(malformed)?;
        let (prefix, digits) = t.split_at(split);
        let bare = prefix.is_empty();
        let prefix = prefix.strip_suffix('-').unwrap_or(prefix);
        let kind = if bare {
            None
        } else {
            Some(TicketKind::from_prefix(prefix).ok_or_else(malformed)?)
        };
        if !digits.bytes().all(|b| b.is_ascii_digit()) || digits.starts_with('0') {
            return Err(malformed());
        }
        let number: u32 = digits.parse().map_err(|_| malformed())?;
        Ok(TicketRef { kind, number })
    }

    /// Parses an id for a command that works on one kind only; a bare number takes that kind.
    pub fn parse_as(text: &str, kind: TicketKind) -> Result<TicketRef, IdError> {
        let r = TicketRef::parse(text)?;
        match r.kind {
            None => Ok(TicketRef::new(kind, r.number)),
            Some(k) if k == kind => Ok(r),
            Some(_) => Err(IdError::WrongKind {
                found: r.to_string(),
                number: r.number,
                prefix: kind.prefix(),
            }),
        }
    }

    /// Parses an id for a command that works on any kind: the prefix is required.
    pub fn parse_full(text: &str) -> Result<TicketRef, IdError> {
        let r = TicketRef::parse(text)?;
        match r.kind {
            Some(_) => Ok(r),
            None => Err(IdError::NeedsKind(r.number)),
        }
    }
}

impl fmt::Display for TicketRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            Some(k) => write!(f, "{}-{}", k.prefix(), self.number),
            None => write!(f, "{}", self.number),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_the_forms_people_type() {
        assert_eq!(
            TicketRef::parse("REQ-7").unwrap(),
            TicketRef::new(TicketKind::Request, 7)
        );
        assert_eq!(
            TicketRef::parse(" req-7 ").unwrap(),
            TicketRef::new(TicketKind::Request, 7)
        );
        assert_eq!(
            TicketRef::parse("inc12").unwrap(),
            TicketRef::new(TicketKind::Incident, 12)
        );
        assert_eq!(TicketRef::parse("#7").unwrap().number, 7);
        assert_eq!(TicketRef::parse("7").unwrap().kind, None);
    }

    #[test]
    fn refuses_what_is_not_an_id() {
        for bad in [
            "",
            "REQ-",
            "REQ-0",
            "REQ-07",
            "XYZ-1",
            "REQ--1",
            "REQ-1a",
            "REQ 1",
            "-1",
            "99999999999",
        ] {
            assert!(TicketRef::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn a_bare_number_takes_the_implied_kind_and_a_wrong_prefix_is_refused() {
        assert_eq!(
            TicketRef::parse_as("3", TicketKind::Incident).unwrap(),
            TicketRef::new(TicketKind::Incident, 3)
        );
        let err = TicketRef::parse_as("REQ-3", TicketKind::Incident).unwrap_err();
        assert_eq!(
            err.to_string(),
            "REQ-3 is not an id this command takes: use INC-3 (or just 3)."
        );
        assert!(TicketRef::parse_full("3").is_err());
    }

    proptest! {
        #[test]
        fn parsing_never_panics(s in ".{0,40}") {
            let _ = TicketRef::parse(&s);
        }

        #[test]
        fn display_round_trips(kind in 0usize..3, number in 1u32..=u32::MAX) {
            let r = TicketRef::new(TicketKind::ALL[kind], number);
            prop_assert_eq!(TicketRef::parse(&r.to_string()).unwrap(), r);
            prop_assert_eq!(TicketRef::parse(&r.to_string().to_lowercase()).unwrap(), r);
        }
    }
}
