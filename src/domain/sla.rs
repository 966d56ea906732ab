//! SLA clocks: targets by kind and priority, and the arithmetic of one clock — elapsed time,
//! due time, the 75 % warning, pauses and stops — on the wall clock or in business hours.
//!
//! A target's unit decides how it counts: `15m`, `4h`, `3d` run 24×7; `4bh`, `3bd` run in the
//! guild's business hours.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};

use super::calendar::Calendar;
use super::duration::{SlaDuration, Unit};
use super::{Priority, TicketKind};

/// The two clocks every open request and incident has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClockKind {
    /// Stops at the first agent action.
    Response,
    /// Stops at resolved; pauses on hold.
    Resolution,
}

impl ClockKind {
    /// Both, in display order.
    pub const ALL: [ClockKind; 2] = [ClockKind::Response, ClockKind::Resolution];

    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ClockKind::Response => "response",
            ClockKind::Resolution => "resolution",
        }
    }

    /// From the stored name.
    pub fn parse(s: &str) -> Option<ClockKind> {
        ClockKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A stored clock name the desk does not know (the row cannot be read).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown SLA clock {0:?}")]
pub struct UnknownClock(pub String);

impl TryFrom<String> for ClockKind {
    type Error = UnknownClock;
    fn try_from(s: String) -> Result<ClockKind, UnknownClock> {
        ClockKind::parse(&s).ok_or(UnknownClock(s))
    }
}

/// Percentage of the target at which the warning goes out.
pub const WARN_PERCENT: i64 = 75;

/// Response and resolution targets of one kind and priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Targets {
    /// Time to first response.
    pub respond: SlaDuration,
    /// Time to resolution.
    pub resolve: SlaDuration,
}

impl Targets {
    /// The target of one clock.
    pub fn of(&self, clock: ClockKind) -> SlaDuration {
        match clock {
            ClockKind::Response => self.respond,
            ClockKind::Resolution => self.resolve,
        }
    }
}

/// SPEC §4.6 defaults (the same for requests and incidents).
pub fn default_targets(_kind: TicketKind, p: Priority) -> Targets {
    use Unit::*;
    let (respond, resolve) = match p.number() {
        1 => (SlaDuration::new(15, Minutes), SlaDuration::new(4, Hours)),
        2 => (SlaDuration::new(30, Minutes), SlaDuration::new(8, Hours)),
        3 => (SlaDuration::new(4, BusinessHours), SlaDuration::new(3, BusinessDays)),
        4 => (SlaDuration::new(1, BusinessDays), SlaDuration::new(5, BusinessDays)),
        _ => (SlaDuration::new(2, BusinessDays), SlaDuration::new(10, BusinessDays)),
    };
    Targets { respond, resolve }
}

static ALWAYS: LazyLock<Calendar> = LazyLock::new(Calendar::always);

/// The calendar a target counts in.
pub fn calendar_for(target: SlaDuration, business: &Calendar) -> &Calendar {
    if target.is_business() {
        business
    } else {
        &ALWAYS
    }
}

/// The target's length in seconds of its own calendar.
pub fn target_seconds(target: SlaDuration, business: &Calendar) -> i64 {
    let a = i64::from(target.amount);
    match target.unit {
        Unit::BusinessHours => a * 3600,
        Unit::BusinessDays => a * business.day_seconds(),
        _ => target.wall_seconds().unwrap_or(0),
    }
}

/// One clock of one cycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaClock {
    /// When it started (ticket opened, or reopened for a new resolution cycle).
    pub started_at: DateTime<Utc>,
    /// Its target.
    pub target: SlaDuration,
    /// Time spent paused so far, in the target's calendar.
    pub paused_seconds: i64,
    /// Paused since, if paused now.
    pub paused_since: Option<DateTime<Utc>>,
    /// Stopped (met or not) at.
    pub stopped_at: Option<DateTime<Utc>>,
}

/// A clock as people see it (`/sla show`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockStatus {
    /// Target in seconds of its calendar.
    pub target_seconds: i64,
    /// Counted time so far.
    pub elapsed_seconds: i64,
    /// Target minus elapsed: negative = breached by that much.
    pub remaining_seconds: i64,
    /// When it falls due (None while paused or stopped).
    pub due_at: Option<DateTime<Utc>>,
    /// Paused now.
    pub paused: bool,
    /// Stopped.
    pub stopped: bool,
}

impl SlaClock {
    /// A clock started at `at`.
    pub fn start(at: DateTime<Utc>, target: SlaDuration) -> SlaClock {
        SlaClock {
            started_at: at,
            target,
            paused_seconds: 0,
            paused_since: None,
            stopped_at: None,
        }
    }

    /// Counted time at `now`.
    pub fn elapsed(&self, business: &Calendar, now: DateTime<Utc>) -> i64 {
        let cal = calendar_for(self.target, business);
        let mut end = now;
        for t in [self.stopped_at, self.paused_since].into_iter().flatten() {
            end = end.min(t);
        }
        (cal.business_seconds(self.started_at, end) - self.paused_seconds).max(0)
    }

    /// The instant the counted time reaches `seconds`, if the clock is running.
    fn reaches(&self, business: &Calendar, seconds: i64) -> Option<DateTime<Utc>> {
        if self.stopped_at.is_some() || self.paused_since.is_some() {
            return None;
        }
        let cal = calendar_for(self.target, business);
        Some(cal.add_business_seconds(self.started_at, seconds + self.paused_seconds))
    }

    /// When the target is reached (breach), if running.
    pub fn due_at(&self, business: &Calendar) -> Option<DateTime<Utc>> {
        self.reaches(business, target_seconds(self.target, business))
    }

    /// When 75 % of the target is reached (warning), if running.
    pub fn warn_at(&self, business: &Calendar) -> Option<DateTime<Utc>> {
        self.reaches(business, target_seconds(self.target, business) * WARN_PERCENT / 100)
    }

    /// Pauses a running clock (no-op otherwise).
    pub fn pause(&mut self, now: DateTime<Utc>) {
        if self.paused_since.is_none() && self.stopped_at.is_none() {
            self.paused_since = Some(now);
        }
    }

    /// Resumes a paused clock; the pause moves the due time out by its length.
    pub fn resume(&mut self, business: &Calendar, now: DateTime<Utc>) {
        if let Some(since) = self.paused_since.take() {
            let cal = calendar_for(self.target, business);
            self.paused_seconds += cal.business_seconds(since, now);
        }
    }

    /// Stops the clock (first response, or resolution). A paused clock stops where it paused.
    pub fn stop(&mut self, business: &Calendar, now: DateTime<Utc>) {
        if self.stopped_at.is_none() {
            self.resume(business, now);
            self.stopped_at = Some(now);
        }
    }

    /// Everything `/sla show` needs.
    pub fn status(&self, business: &Calendar, now: DateTime<Utc>) -> ClockStatus {
        let target = target_seconds(self.target, business);
        let elapsed = self.elapsed(business, now);
        ClockStatus {
            target_seconds: target,
            elapsed_seconds: elapsed,
            remaining_seconds: target - elapsed,
            due_at: self.due_at(business),
            paused: self.paused_since.is_some(),
            stopped: self.stopped_at.is_some(),
        }
    }

    /// Whether the target was met (for a stopped clock) or is still met (running).
    pub fn met(&self, business: &Calendar, now: DateTime<Utc>) -> bool {
        self.elapsed(business, now) <= target_seconds(self.target, business)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn t(d: u32, h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, d, h, m, 0).unwrap()
    }

    #[test]
    fn defaults_follow_the_spec_table() {
        let p3 = default_targets(TicketKind::Request, Priority::P3);
        assert_eq!(
            (p3.respond.to_string(), p3.resolve.to_string()),
            ("4bh".into(), "3bd".into())
        );
        let p1 = default_targets(TicketKind::Incident, Priority::P1);
        assert_eq!(
            (p1.respond.to_string(), p1.resolve.to_string()),
            ("15m".into(), "4h".into())
        );
    }

    #[test]
    fn a_p1_clock_runs_on_the_wall_clock_even_at_night() {
        let cal = Calendar::default_business();
        let c = SlaClock::start(t(3, 23, 0), SlaDuration::parse("15m").unwrap()); // a Saturday night
        assert_eq!(c.due_at(&cal), Some(t(3, 23, 15)));
        assert_eq!(c.warn_at(&cal), Some(t(3, 23, 11) + Duration::seconds(15)));
    }

    #[test]
    fn a_pause_moves_the_due_time_out_by_the_business_time_paused() {
        let cal = Calendar::default_business();
        // P3 resolution 3bd from Monday 5 Jan 10:00 → due Thursday 8 Jan 10:00.
        let mut c = SlaClock::start(t(5, 10, 0), SlaDuration::parse("3bd").unwrap());
        assert_eq!(c.due_at(&cal), Some(t(8, 10, 0)));
        c.pause(t(5, 12, 0));
        assert_eq!(c.due_at(&cal), None);
        assert_eq!(c.elapsed(&cal, t(6, 12, 0)), 2 * 3600, "paused time does not count");
        c.resume(&cal, t(6, 12, 0)); // paused one business day
        assert_eq!(c.due_at(&cal), Some(t(9, 10, 0)));
        c.stop(&cal, t(7, 9, 0));
        assert!(c.met(&cal, t(20, 0, 0)));
        assert_eq!(c.due_at(&cal), None);
    }

    #[test]
    fn status_shows_breach_as_negative_remaining() {
        let cal = Calendar::default_business();
        let c = SlaClock::start(t(5, 10, 0), SlaDuration::parse("1h").unwrap());
        let s = c.status(&cal, t(5, 11, 30));
        assert_eq!((s.elapsed_seconds, s.remaining_seconds), (5400, -1800));
        assert!(!c.met(&cal, t(5, 11, 30)));
    }
}
