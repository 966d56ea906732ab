//! Business-hours arithmetic: a calendar of working days, hours and holidays in an IANA time
//! zone, and the two functions SLA clocks need — how much business time lies between two
//! instants, and which instant lies a given business time after another.
//!
//! Working hours are local wall-clock times, so daylight-saving changes come from the time zone
//! database: a day's 09:00–17:00 is always 09:00–17:00 on the office clock.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// Minutes in a day; a working day may end at 24:00.
const DAY_MINUTES: u32 = 24 * 60;
/// How far the arithmetic walks before giving up (a calendar with almost no working days).
const MAX_DAYS_WALKED: i64 = 366 * 30;
/// Weekday names as people write them, Monday first.
const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// A business calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    tz: Tz,
    /// Working weekdays, Monday first.
    days: [bool; 7],
    /// Start of the working day, minutes after local midnight.
    start: u32,
    /// End of the working day, minutes after local midnight (up to 1440).
    end: u32,
    holidays: BTreeSet<NaiveDate>,
}

/// Why calendar settings were refused; shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// Not an IANA zone name.
    #[error("`{0}` is not a time zone: use an IANA name like Europe/Berlin, America/New_York or UTC.")]
    TimeZone(String),
    /// Not a list of weekdays.
    #[error("`{0}` is not a list of working days: write mon-fri, or days and ranges like mon,wed,fri or sun-thu.")]
    Days(String),
    /// Not a time of day.
    #[error("`{0}` is not a time of day: write HH:MM, like 09:00 or 17:30 (24:00 for midnight at the end).")]
    Time(String),
    /// End not after start.
    #[error("The working day must end after it starts ({0}–{1}); overnight shifts are not supported.")]
    Order(String, String),
    /// Not a date.
    #[error("`{0}` is not a date: write YYYY-MM-DD, like 2026-12-25.")]
    Date(String),
    /// Not a date and time.
    #[error("`{0}` is not a date and time: write YYYY-MM-DD HH:MM, like 2026-12-25 09:00.")]
    DateTime(String),
    /// A local time that does not exist (clocks jump over it).
    #[error("{0} does not exist in {1} (the clocks skip it for daylight saving); pick another time.")]
    Skipped(String, String),
}

impl Calendar {
    /// Builds a calendar from its parts as stored or typed.
    pub fn new(
        tz: &str,
        days: &str,
        start: &str,
        end: &str,
        holidays: impl IntoIterator<Item = NaiveDate>,
    ) -> Result<Calendar, CalendarError> {
        let tz: Tz = tz
            .trim()
            .parse()
            .map_err(|_| CalendarError::TimeZone(tz.trim().chars().take(60).collect()))?;
        let days = parse_days(days)?;
        let (s, e) = (parse_time(start)?, parse_time(end)?);
        if s >= e || s >= DAY_MINUTES {
            return Err(CalendarError::Order(start.trim().into(), end.trim().into()));
        }
        Ok(Calendar {
            tz,
            days,
            start: s,
            end: e,
            holidays: holidays.into_iter().collect(),
        })
    }

    /// Every day, all day, in UTC: business time equals wall-clock time.
    pub fn always() -> Calendar {
        Calendar {
            tz: Tz::UTC,
            days: [true; 7],
            start: 0,
            end: DAY_MINUTES,
            holidays: BTreeSet::new(),
        }
    }

    /// The SPEC default: Monday to Friday, 09:00–17:00 UTC.
    pub fn default_business() -> Calendar {
        Calendar::new("UTC", "mon-fri", "09:00", "17:00", []).unwrap_or_else(|_| Calendar::always())
    }

    /// The time zone.
    pub fn tz(&self) -> Tz {
        self.tz
    }

    /// Length of one working day in seconds (the unit of `bd` durations).
    pub fn day_seconds(&self) -> i64 {
        i64::from(self.end - self.start) * 60
    }

    /// True if `date` is a working day (a working weekday and not a holiday).
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        self.days[date.weekday().num_days_from_monday() as usize] && !self.holidays.contains(&date)
    }

    /// The instant a local date and minute-of-day means. In a daylight-saving gap, the first
    /// instant after it; when a time repeats, the first of the two.
    fn instant(&self, date: NaiveDate, minutes: u32) -> DateTime<Utc> {
        let (date, minutes) = if minutes >= DAY_MINUTES {
            (date.succ_opt().unwrap_or(date), minutes - DAY_MINUTES)
        } else {
            (date, minutes)
        };
        let mut naive = date.and_time(NaiveTime::MIN) + Duration::minutes(i64::from(minutes));
        for _ in 0..=180 {
            match self.tz.from_local_datetime(&naive) {
                LocalResult::Single(t) => return t.with_timezone(&Utc),
                LocalResult::Ambiguous(a, _) => return a.with_timezone(&Utc),
                LocalResult::None => naive += Duration::minutes(1),
            }
        }
        Utc.from_utc_datetime(&naive)
    }

    /// The working interval of a local date, if it is a working day.
    fn interval(&self, date: NaiveDate) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        self.is_working_day(date)
            .then(|| (self.instant(date, self.start), self.instant(date, self.end)))
    }

    fn local_date(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.tz).date_naive()
    }

    /// Business seconds in `[from, to)`; 0 if `to` is not after `from`.
    pub fn business_seconds(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        if to <= from {
            return 0;
        }
        let mut total = 0;
        // The day before too: an interval ending at 24:00 belongs to the previous local date.
        let mut date = self
            .local_date(from)
            .pred_opt()
            .unwrap_or_else(|| self.local_date(from));
        let last = self.local_date(to);
        let mut walked = 0;
        while date <= last && walked < MAX_DAYS_WALKED {
            if let Some((s, e)) = self.interval(date) {
                let (a, b) = (s.max(from), e.min(to));
                if b > a {
                    total += (b - a).num_seconds();
                }
            }
            date = match date.succ_opt() {
                Some(d) => d,
                None => break,
            };
            walked += 1;
        }
        total
    }

    /// The instant `seconds` of business time after `start` (`start` itself for 0). When the
    /// result falls exactly at the end of a working day, that end is returned.
    pub fn add_business_seconds(&self, start: DateTime<Utc>, seconds: i64) -> DateTime<Utc> {
        if seconds <= 0 {
            return start;
        }
        let mut left = seconds;
        let mut date = self
            .local_date(start)
            .pred_opt()
            .unwrap_or_else(|| self.local_date(start));
        for _ in 0..MAX_DAYS_WALKED {
            if let Some((s, e)) = self.interval(date) {
                let from = s.max(start);
                if e > from {
                    let available = (e - from).num_seconds();
                    if left <= available {
                        return from + Duration::seconds(left);
                    }
                    left -= available;
                }
            }
            match date.succ_opt() {
                Some(d) => date = d,
                None => break,
            }
        }
        // A calendar with (almost) no working time: count the rest on the wall clock.
        start + Duration::seconds(left)
    }
}

impl fmt::Display for Calendar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hm = |m: u32| format!("{:02}:{:02}", m / 60, m % 60);
        write!(
            f,
            "{} {}–{} ({})",
            days_text(&self.days),
            hm(self.start),
            hm(self.end),
            self.tz.name()
        )
    }
}

/// Parses working days: `mon-fri`, `mon,wed,fri`, `sun-thu`, `sat,sun`, `mon-sun`.
pub fn parse_days(text: &str) -> Result<[bool; 7], CalendarError> {
    let bad = || CalendarError::Days(text.trim().chars().take(40).collect());
    let day = |s: &str| {
        DAY_NAMES
            .iter()
            .position(|d| d.eq_ignore_ascii_case(s.trim()))
            .ok_or_else(bad)
    };
    let mut days = [false; 7];
    for part in text.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (day(a)?, day(b)?);
                let mut i = a;
                loop {
                    days[i] = true;
                    if i == b {
                        break;
                    }
                    i = (i + 1) % 7;
                }
            }
            None => days[day(part)?] = true,
        }
    }
    if days.iter().any(|d| *d) {
        Ok(days)
    } else {
        Err(bad())
    }
}

/// Working days back in their shortest form (`mon-fri`, `mon,wed,fri`).
pub fn days_text(days: &[bool; 7]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < 7 {
        if days[i] {
            let mut j = i;
            while j + 1 < 7 && days[j + 1] {
                j += 1;
            }
            parts.push(if j > i {
                format!("{}-{}", DAY_NAMES[i], DAY_NAMES[j])
            } else {
                DAY_NAMES[i].to_owned()
            });
            i = j + 1;
        } else {
            i += 1;
        }
    }
    parts.join(",")
}

/// Parses `HH:MM` (00:00–24:00) into minutes after midnight.
pub fn parse_time(text: &str) -> Result<u32, CalendarError> {
    let t = text.trim();
    let bad = || CalendarError::Time(t.chars().take(20).collect());
    let (h, m) = t.split_once(':').ok_or_else(bad)?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 || !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if m > 59 || h > 24 || (h == 24 && m != 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Result<NaiveDate, CalendarError> {
    let t = text.trim();
    if t.len() != 10 {
        return Err(CalendarError::Date(t.chars().take(20).collect()));
    }
    NaiveDate::parse_from_str(t, "%Y-%m-%d").map_err(|_| CalendarError::Date(t.into()))
}

/// Parses `YYYY-MM-DD HH:MM` as a wall-clock time in `tz`. A time skipped by a daylight-saving
/// change is refused; a repeated one means its first occurrence.
pub fn parse_local(text: &str, tz: Tz) -> Result<DateTime<Utc>, CalendarError> {
    let t = text.trim();
    let bad = || CalendarError::DateTime(t.chars().take(30).collect());
    let (d, hm) = t.split_once(' ').ok_or_else(bad)?;
    let date = parse_date(d).map_err(|_| bad())?;
    let minutes = parse_time(hm.trim()).map_err(|_| bad())?;
    if minutes >= DAY_MINUTES {
        return Err(bad());
    }
    let naive = date.and_time(NaiveTime::MIN) + Duration::minutes(i64::from(minutes));
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(x) | LocalResult::Ambiguous(x, _) => Ok(x.with_timezone(&Utc)),
        LocalResult::None => Err(CalendarError::Skipped(t.into(), tz.name().into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn local_times_are_read_in_the_zone_and_skipped_times_refused() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        assert_eq!(parse_local("2026-07-01 09:30", berlin).unwrap(), utc(2026, 7, 1, 7, 30));
        assert!(matches!(
            parse_local("2026-03-29 02:30", berlin),
            Err(CalendarError::Skipped(..))
        ));
        for bad in [
            "2026-07-01",
            "2026-07-01 9",
            "2026-13-01 09:00",
            "01/07/2026 09:00",
            "2026-07-01 24:00",
        ] {
            assert!(parse_local(bad, berlin).is_err(), "{bad}");
        }
    }

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    fn office(tz: &str) -> Calendar {
        Calendar::new(
            tz,
            "mon-fri",
            "09:00",
            "17:00",
            [NaiveDate::from_ymd_opt(2026, 12, 25).unwrap()],
        )
        .unwrap()
    }

    #[test]
    fn four_business_hours_from_friday_afternoon_end_on_monday() {
        let cal = office("UTC");
        // Friday 2 January 2026, 15:00 → 2 h left Friday, 2 h on Monday.
        let due = cal.add_business_seconds(utc(2026, 1, 2, 15, 0), 4 * 3600);
        assert_eq!(due, utc(2026, 1, 5, 11, 0));
        assert_eq!(cal.business_seconds(utc(2026, 1, 2, 15, 0), due), 4 * 3600);
    }

    #[test]
    fn time_outside_hours_and_on_holidays_does_not_count() {
        let cal = office("UTC");
        // Christmas Day 2026 is a Friday holiday; from Thursday 16:00 to Monday 10:00 = 1 h + 1 h.
        assert_eq!(
            cal.business_seconds(utc(2026, 12, 24, 16, 0), utc(2026, 12, 28, 10, 0)),
            2 * 3600
        );
        // Saturday is nothing.
        assert_eq!(cal.business_seconds(utc(2026, 1, 3, 0, 0), utc(2026, 1, 4, 0, 0)), 0);
    }

    #[test]
    fn office_hours_follow_the_local_clock_across_daylight_saving() {
        let cal = office("Europe/Berlin");
        // Monday 30 March 2026 (after the spring change, CEST = UTC+2): 09:00 local = 07:00 UTC.
        assert_eq!(
            cal.add_business_seconds(utc(2026, 3, 30, 0, 0), 1),
            utc(2026, 3, 30, 7, 0) + Duration::seconds(1)
        );
        // Friday 27 March (CET = UTC+1): 09:00 local = 08:00 UTC.
        assert_eq!(
            cal.add_business_seconds(utc(2026, 3, 27, 0, 0), 1),
            utc(2026, 3, 27, 8, 0) + Duration::seconds(1)
        );
        let ny = office("America/New_York");
        // Across the autumn change (1 Nov 2026): Friday 30 Oct 16:00 EDT + 2 bh = Monday 2 Nov 10:00 EST.
        let due = ny.add_business_seconds(utc(2026, 10, 30, 20, 0), 2 * 3600);
        assert_eq!(due, utc(2026, 11, 2, 15, 0));
    }

    #[test]
    fn parses_days_times_and_dates() {
        assert_eq!(
            parse_days("mon-fri").unwrap(),
            [true, true, true, true, true, false, false]
        );
        assert_eq!(
            parse_days("sun-tue").unwrap(),
            [true, true, false, false, false, false, true]
        );
        assert_eq!(days_text(&parse_days("mon,wed,fri").unwrap()), "mon,wed,fri");
        assert!(parse_days("funday").is_err() && parse_days("").is_err());
        assert_eq!(parse_time("09:30").unwrap(), 570);
        assert_eq!(parse_time("24:00").unwrap(), 1440);
        for bad in ["9", "25:00", "09:60", "24:01", "-1:00", "09:5", "ab:cd"] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
        assert!(parse_date("2026-02-30").is_err() && parse_date("2026-2-3").is_err());
        assert!(Calendar::new("Mars/Olympus", "mon-fri", "09:00", "17:00", []).is_err());
        assert!(Calendar::new("UTC", "mon-fri", "17:00", "09:00", []).is_err());
    }

    fn zones() -> impl Strategy<Value = &'static str> {
        prop_oneof![
            Just("UTC"),
            Just("Europe/Berlin"),
            Just("America/New_York"),
            Just("Asia/Kolkata")
        ]
    }

    /// Instants around 2026, dense near both DST changes of Berlin and New York.
    fn instants() -> impl Strategy<Value = DateTime<Utc>> {
        let base = utc(2026, 1, 1, 0, 0).timestamp();
        prop_oneof![
            (0i64..365 * 86_400).prop_map(move |s| base + s),
            (0i64..10 * 86_400).prop_map(|s| utc(2026, 3, 24, 0, 0).timestamp() + s),
            (0i64..10 * 86_400).prop_map(|s| utc(2026, 10, 23, 0, 0).timestamp() + s),
            (0i64..10 * 86_400).prop_map(|s| utc(2026, 3, 5, 0, 0).timestamp() + s),
        ]
        .prop_map(|s| DateTime::from_timestamp(s, 0).unwrap())
    }

    fn calendars() -> impl Strategy<Value = Calendar> {
        (zones(), 0usize..4, 0u32..4, 0u32..4).prop_map(|(tz, d, s, e)| {
            let days = ["mon-fri", "sun-thu", "mon,wed,fri", "mon-sun"][d];
            let start = ["00:00", "02:30", "08:00", "09:00"][s as usize];
            let end = ["12:00", "17:00", "23:30", "24:00"][e as usize];
            let holidays = [
                NaiveDate::from_ymd_opt(2026, 3, 30).unwrap(),
                NaiveDate::from_ymd_opt(2026, 11, 2).unwrap(),
            ];
            Calendar::new(tz, days, start, end, holidays).unwrap()
        })
    }

    proptest! {
        #[test]
        fn adding_then_measuring_gives_back_the_duration(cal in calendars(), t in instants(), secs in 0i64..40 * 86_400) {
            let due = cal.add_business_seconds(t, secs);
            prop_assert!(due >= t);
            prop_assert_eq!(cal.business_seconds(t, due), secs);
        }

        #[test]
        fn adding_in_two_steps_equals_adding_once(cal in calendars(), t in instants(), a in 0i64..10 * 86_400, b in 0i64..10 * 86_400) {
            let once = cal.add_business_seconds(t, a + b);
            let twice = cal.add_business_seconds(cal.add_business_seconds(t, a), b);
            prop_assert_eq!(once, twice);
        }

        #[test]
        fn measuring_is_additive(cal in calendars(), a in instants(), b in instants(), c in instants()) {
            let mut v = [a, b, c];
            v.sort();
            prop_assert_eq!(cal.business_seconds(v[0], v[2]), cal.business_seconds(v[0], v[1]) + cal.business_seconds(v[1], v[2]));
        }

        #[test]
        fn an_all_day_every_day_calendar_is_the_wall_clock(tz in zones(), t in instants(), secs in 0i64..40 * 86_400) {
            let cal = Calendar::new(tz, "mon-sun", "00:00", "24:00", []).unwrap();
            prop_assert_eq!(cal.add_business_seconds(t, secs), t + Duration::seconds(secs));
            prop_assert_eq!(cal.business_seconds(t, t + Duration::seconds(secs)), secs);
            prop_assert_eq!(Calendar::always().add_business_seconds(t, secs), t + Duration::seconds(secs));
        }

        #[test]
        fn parsers_never_panic(s in ".{0,30}") {
            let _ = parse_days(&s);
            let _ = parse_time(&s);
            let _ = parse_date(&s);
            let _ = parse_local(&s, Tz::Europe__Berlin);
        }

        #[test]
        fn accepted_local_times_round_trip(secs in 0i64..(3 * 366 * 86_400), tz in zones()) {
            let tz: Tz = tz.parse().unwrap();
            let t = DateTime::from_timestamp(utc(2026, 1, 1, 0, 0).timestamp() + secs / 60 * 60, 0).unwrap();
            let text = t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string();
            let back = parse_local(&text, tz).unwrap();
            // a repeated hour reads as its first occurrence: equal, or one hour earlier
            prop_assert!(back == t || back == t - Duration::hours(1), "{text}: {back} vs {t}");
        }

        #[test]
        fn accepted_days_and_times_round_trip(mask in 1u8..128, h in 0u32..24, m in 0u32..60) {
            let days: [bool; 7] = std::array::from_fn(|i| mask & (1 << i) != 0);
            prop_assert_eq!(parse_days(&days_text(&days)).unwrap(), days);
            let t = format!("{h:02}:{m:02}");
            prop_assert_eq!(parse_time(&t).unwrap(), h * 60 + m);
        }
    }
}
