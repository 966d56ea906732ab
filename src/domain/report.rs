//! Reports: the period a report covers, its buckets (local days, or weeks for 90 days) in the
//! guild's time zone, counting instants into them, and SLA compliance.
//!
//! Pure: the store supplies timestamps and counts, the service passes `now`; rendering and the
//! chart image live elsewhere.

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

/// The periods `/report` offers, in days.
pub const PERIODS: [u32; 3] = [7, 30, 90];

/// Why a report cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    /// Not one of [`PERIODS`].
    #[error("A report covers 7, 30 or 90 days; pick one of those.")]
    Period,
}

/// The span a report covers: whole local days, ending now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    /// How many local days (today included).
    pub days: u32,
    /// Local midnight `days - 1` days before today.
    pub from: DateTime<Utc>,
    /// Just after now (exclusive, so what happened at this very instant counts).
    pub to: DateTime<Utc>,
    /// The guild's time zone (days and labels are local).
    pub tz: Tz,
}

/// One bar group of the chart: `[start, end)`, labelled by its first local day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    /// Start (inclusive).
    pub start: DateTime<Utc>,
    /// End (exclusive).
    pub end: DateTime<Utc>,
    /// The local day it starts on.
    pub day: NaiveDate,
}

/// The first instant of local day `day` in `tz`. A zone that skips midnight (a DST change at
/// 00:00) starts that day at the first hour that exists.
pub fn local_midnight(day: NaiveDate, tz: Tz) -> DateTime<Utc> {
    (0..24)
        .find_map(|h| {
            day.and_hms_opt(h, 0, 0)
                .and_then(|t| tz.from_local_datetime(&t).earliest())
        })
        .map_or_else(
            || Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).unwrap_or_default()),
            |t| t.with_timezone(&Utc),
        )
}

impl Period {
    /// The last `days` local days up to `now`: today (so far) and the `days - 1` before it.
    pub fn ending(now: DateTime<Utc>, days: u32, tz: Tz) -> Result<Period, ReportError> {
        if !PERIODS.contains(&days) {
            return Err(ReportError::Period);
        }
        let today = now.with_timezone(&tz).date_naive();
        let first = today.checked_sub_days(Days::new(u64::from(days - 1))).unwrap_or(today);
        Ok(Period {
            days,
            from: local_midnight(first, tz),
            to: now + chrono::Duration::milliseconds(1),
            tz,
        })
    }

    /// Days per bucket: one, or a week for 90 days (13 bars instead of 90).
    pub fn bucket_days(&self) -> u32 {
        if self.days > 30 {
            7
        } else {
            1
        }
    }

    /// The chart's buckets: contiguous, the first starting at `from`, the last ending at `to`.
    pub fn buckets(&self) -> Vec<Bucket> {
        let first = self.from.with_timezone(&self.tz).date_naive();
        let step = self.bucket_days();
        let mut out = Vec::new();
        let mut day = first;
        while local_midnight(day, self.tz) < self.to {
            let next = day.checked_add_days(Days::new(u64::from(step))).unwrap_or(day);
            let start = local_midnight(day, self.tz).max(self.from);
            let end = local_midnight(next, self.tz).min(self.to);
            out.push(Bucket { start, end, day });
            if next == day {
                break;
            }
            day = next;
        }
        out
    }
}

/// How many instants fall in each bucket, from `(instant in unix ms, how many)` pairs; those
/// outside every bucket are ignored.
pub fn histogram(counted: &[(i64, i64)], buckets: &[Bucket]) -> Vec<u32> {
    let mut counts = vec![0u32; buckets.len()];
    let starts: Vec<i64> = buckets.iter().map(|b| b.start.timestamp_millis()).collect();
    for &(t, n) in counted {
        // The last bucket starting at or before t, if t is also before its end.
        let i = starts.partition_point(|&s| s <= t);
        if let Some(i) = i.checked_sub(1) {
            if t < buckets[i].end.timestamp_millis() {
                counts[i] = counts[i].saturating_add(u32::try_from(n).unwrap_or(0));
            }
        }
    }
    counts
}

/// SLA compliance in whole percent, rounded down (99.5 % shows as 99 %, never as 100 %); `None`
/// when no clock settled.
pub fn compliance_percent(met: u64, missed: u64) -> Option<u64> {
    let total = met + missed;
    (total > 0).then(|| met * 100 / total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    #[test]
    fn only_seven_thirty_or_ninety_days_make_a_period() {
        for days in [0, 1, 8, 31, 365] {
            assert_eq!(
                Period::ending(at(2026, 12, 1, 12, 0), days, Tz::UTC),
                Err(ReportError::Period)
            );
        }
        assert!(Period::ending(at(2026, 12, 1, 12, 0), 30, Tz::UTC).is_ok());
    }

    #[test]
    fn a_week_is_today_and_the_six_local_days_before_it() {
        let p = Period::ending(at(2026, 12, 1, 12, 0), 7, chrono_tz::Europe::Berlin).unwrap();
        // Berlin is UTC+1 in winter: local midnight of 25 November is 23:00 UTC the day before.
        assert_eq!(p.from, at(2026, 11, 24, 23, 0));
        let b = p.buckets();
        assert_eq!(b.len(), 7);
        assert_eq!(b[6].day, NaiveDate::from_ymd_opt(2026, 12, 1).unwrap());
        assert_eq!(b[6].end, p.to);
    }

    #[test]
    fn ninety_days_are_thirteen_weekly_bars_and_days_across_dst_are_local() {
        let p = Period::ending(at(2026, 11, 30, 9, 0), 90, chrono_tz::Europe::Berlin).unwrap();
        assert_eq!(p.bucket_days(), 7);
        assert_eq!(p.buckets().len(), 13);
        // 25 October 2026 has 25 hours in Berlin; the day bucket holding it is still one local day.
        let p = Period::ending(at(2026, 11, 1, 12, 0), 30, chrono_tz::Europe::Berlin).unwrap();
        let long = p
            .buckets()
            .into_iter()
            .find(|b| b.day == NaiveDate::from_ymd_opt(2026, 10, 25).unwrap())
            .unwrap();
        assert_eq!((long.end - long.start).num_hours(), 25);
    }

    #[test]
    fn what_happens_at_the_very_instant_of_the_report_is_in_it() {
        // Midnight exactly: today is a bucket of its own, and now is counted in it.
        let now = at(2026, 12, 1, 0, 0);
        let p = Period::ending(now, 7, Tz::UTC).unwrap();
        let b = p.buckets();
        assert_eq!(b.len(), 7);
        assert_eq!(histogram(&[(now.timestamp_millis(), 1)], &b)[6], 1);
    }

    #[test]
    fn compliance_rounds_down_and_is_absent_without_clocks() {
        assert_eq!(compliance_percent(199, 1), Some(99));
        assert_eq!(compliance_percent(3, 0), Some(100));
        assert_eq!(compliance_percent(0, 2), Some(0));
        assert_eq!(compliance_percent(0, 0), None);
    }

    fn zones() -> impl Strategy<Value = Tz> {
        prop::sample::select(vec![
            Tz::UTC,
            chrono_tz::Europe::Berlin,
            chrono_tz::America::New_York,
            chrono_tz::America::Santiago,    // DST changes at midnight
            chrono_tz::Australia::Lord_Howe, // half-hour DST
            chrono_tz::Asia::Kolkata,
        ])
    }

    proptest! {
        #[test]
        fn buckets_tile_the_period_without_gaps_or_overlaps(
            secs in 1_700_000_000i64..1_900_000_000,
            days in prop::sample::select(PERIODS.to_vec()),
            tz in zones(),
        ) {
            let now = DateTime::from_timestamp(secs, 0).unwrap();
            let p = Period::ending(now, days, tz).unwrap();
            let b = p.buckets();
            prop_assert!(!b.is_empty());
            prop_assert_eq!(b[0].start, p.from);
            prop_assert_eq!(b[b.len() - 1].end, p.to);
            for w in b.windows(2) {
                prop_assert_eq!(w[0].end, w[1].start);
            }
            for x in &b {
                prop_assert!(x.start < x.end);
            }
            prop_assert_eq!(b.len(), days.div_ceil(p.bucket_days()) as usize);
        }

        #[test]
        fn every_instant_of_the_period_is_counted_once_and_none_outside(
            secs in 1_700_000_000i64..1_900_000_000,
            days in prop::sample::select(PERIODS.to_vec()),
            tz in zones(),
            offsets in prop::collection::vec(-200i64 * 86_400_000..200 * 86_400_000, 0..200),
        ) {
            let now = DateTime::from_timestamp(secs, 0).unwrap();
            let p = Period::ending(now, days, tz).unwrap();
            let times: Vec<(i64, i64)> = offsets.iter().map(|o| (now.timestamp_millis() - o, 1)).collect();
            let inside = times
                .iter()
                .filter(|&&(t, _)| t >= p.from.timestamp_millis() && t < p.to.timestamp_millis())
                .count();
            let counts = histogram(&times, &p.buckets());
            prop_assert_eq!(counts.iter().map(|&c| c as usize).sum::<usize>(), inside);
        }

        #[test]
        fn counting_by_quarter_hour_puts_each_instant_in_its_local_day(
            secs in 1_700_000_000i64..1_900_000_000,
            days in prop::sample::select(PERIODS.to_vec()),
            tz in zones(),
            offsets in prop::collection::vec(0i64..90 * 86_400_000, 0..200),
        ) {
            // What the store sends (quarter-hour starts with counts) lands in the same buckets
            // as the instants themselves: local days start on a quarter hour in every zone.
            let now = DateTime::from_timestamp(secs, 0).unwrap();
            let p = Period::ending(now, days, tz).unwrap();
            let b = p.buckets();
            let times: Vec<i64> = offsets
                .iter()
                .map(|o| now.timestamp_millis() - o)
                .filter(|&t| t >= p.from.timestamp_millis())
                .collect();
            let quarter = 15 * 60 * 1000;
            let mut by_quarter: std::collections::BTreeMap<i64, i64> = std::collections::BTreeMap::new();
            for t in &times {
                *by_quarter.entry(t.div_euclid(quarter) * quarter).or_default() += 1;
            }
            let quarters: Vec<(i64, i64)> = by_quarter.into_iter().collect();
            let exact: Vec<(i64, i64)> = times.iter().map(|&t| (t, 1)).collect();
            prop_assert_eq!(histogram(&quarters, &b), histogram(&exact, &b));
        }
    }
}
