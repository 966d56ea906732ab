//! On-call schedules and escalation, as pure functions of the schedule and the time.
//!
//! Each of up to [`MAX_LEVELS`] levels has a rotation (users take turns of a fixed length, in the
//! order they were added, from a start instant) and overrides on top (a user for a period). Who is
//! on call at `t` depends on nothing else, so it can be asked for any instant, past or future.

use crate::domain::duration::Unit;
use crate::domain::{Priority, SlaDuration};
use chrono::{DateTime, Utc};

/// Escalation levels per guild.
pub const MAX_LEVELS: u8 = 3;

/// A rotation: users in order, each on call for `turn_seconds`, starting at `start`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// Users in the order added.
    pub users: Vec<u64>,
    /// Length of one turn.
    pub turn_seconds: i64,
    /// When the first user's first turn starts.
    pub start: DateTime<Utc>,
}

/// Someone covering a level for a period `[start, end)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    /// Who covers.
    pub user: u64,
    /// From (inclusive).
    pub start: DateTime<Utc>,
    /// Until (exclusive).
    pub end: DateTime<Utc>,
}

/// One level of the schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Level {
    /// The rotation.
    pub rotation: Rotation,
    /// Overrides, oldest first; a later one wins where they overlap.
    pub overrides: Vec<Override>,
}

impl Level {
    /// Who is on call at `t`: the latest override covering `t`, else the rotation's user for the
    /// turn containing `t` (turns repeat backwards before `start` too); nobody if the level has
    /// neither.
    pub fn on_call(&self, t: DateTime<Utc>) -> Option<u64> {
        if let Some(o) = self.overrides.iter().rev().find(|o| o.start <= t && t < o.end) {
            return Some(o.user);
        }
        let r = &self.rotation;
        if r.users.is_empty() || r.turn_seconds <= 0 {
            return None;
        }
        let turn = (t - r.start).num_seconds().div_euclid(r.turn_seconds);
        let n = i64::try_from(r.users.len()).unwrap_or(i64::MAX);
        r.users.get(usize::try_from(turn.rem_euclid(n)).unwrap_or(0)).copied()
    }
}

/// Where an incident's paging stands: the level last paged (1-based) and the round (0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Level paged.
    pub level: u8,
    /// Round: 0 is the first pass through the levels.
    pub round: u8,
}

/// The first page of an incident: the first level with someone on call, in round 0.
pub fn first_page(staffed: &[bool]) -> Option<Page> {
    (1..=MAX_LEVELS)
        .find(|l| staffed.get(usize::from(*l - 1)) == Some(&true))
        .map(|level| Page { level, round: 0 })
}

/// The page after `current`: the next staffed level; after the last, round + 1 from level 1, up to
/// `rounds` extra rounds. `None` when escalation is exhausted (or nobody is on call anywhere).
pub fn next_page(current: Page, staffed: &[bool], rounds: u8) -> Option<Page> {
    let is_staffed = |l: u8| staffed.get(usize::from(l - 1)) == Some(&true);
    if let Some(level) = (current.level + 1..=MAX_LEVELS).find(|l| is_staffed(*l)) {
        return Some(Page {
            level,
            round: current.round,
        });
    }
    if current.round < rounds {
        return first_page(staffed).map(|p| Page {
            level: p.level,
            round: current.round + 1,
        });
    }
    None
}

/// An escalation policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Wait before paging the next level.
    pub delay: SlaDuration,
    /// Acknowledged but not updated for this long → triggered again.
    pub ack_timeout: SlaDuration,
    /// Extra rounds after the last level.
    pub rounds: u8,
    /// P4/P5 notify but never escalate.
    pub escalates: bool,
}

/// SPEC §4.4 defaults.
pub fn default_policy(p: Priority) -> Policy {
    let delay = if p.number() <= 2 { 15 } else { 30 };
    Policy {
        delay: SlaDuration::new(delay, Unit::Minutes),
        ack_timeout: SlaDuration::new(30, Unit::Minutes),
        rounds: 2,
        escalates: p.number() <= 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};
    use proptest::prelude::*;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0).unwrap()
    }

    fn level(users: Vec<u64>, turn_hours: i64, overrides: Vec<Override>) -> Level {
        Level {
            rotation: Rotation {
                users,
                turn_seconds: turn_hours * 3600,
                start: t0(),
            },
            overrides,
        }
    }

    #[test]
    fn a_weekly_rotation_hands_over_at_the_turn() {
        let l = level(vec![1, 2, 3], 24 * 7, vec![]);
        assert_eq!(l.on_call(t0()), Some(1));
        assert_eq!(l.on_call(t0() + Duration::days(7) - Duration::seconds(1)), Some(1));
        assert_eq!(l.on_call(t0() + Duration::days(7)), Some(2));
        assert_eq!(l.on_call(t0() + Duration::days(21)), Some(1));
        assert_eq!(l.on_call(t0() - Duration::days(1)), Some(3), "turns repeat backwards");
    }

    #[test]
    fn escalation_skips_empty_levels_and_repeats_rounds() {
        let staffed = [true, false, true];
        let p = first_page(&staffed).unwrap();
        assert_eq!(p, Page { level: 1, round: 0 });
        let p = next_page(p, &staffed, 2).unwrap();
        assert_eq!(p, Page { level: 3, round: 0 });
        let p = next_page(p, &staffed, 2).unwrap();
        assert_eq!(p, Page { level: 1, round: 1 });
        let p = next_page(Page { level: 3, round: 2 }, &staffed, 2);
        assert_eq!(p, None, "after the last round");
        assert_eq!(first_page(&[false, false, false]), None);
        assert_eq!(first_page(&[false, true, false]), Some(Page { level: 2, round: 0 }));
    }

    proptest! {
        #[test]
        fn a_rotation_visits_every_user_in_order(n in 1usize..8, turn_h in 1i64..200, k in 0i64..500) {
            let users: Vec<u64> = (1..=n as u64).collect();
            let l = level(users.clone(), turn_h, vec![]);
            let at = t0() + Duration::hours(turn_h * k);
            prop_assert_eq!(l.on_call(at), Some(users[(k as usize) % n]));
            // anywhere inside the turn, the same person
            prop_assert_eq!(l.on_call(at + Duration::hours(turn_h) - Duration::seconds(1)), Some(users[(k as usize) % n]));
        }

        #[test]
        fn an_override_wins_inside_its_period_and_never_outside(
            n in 1usize..5, start_h in -100i64..100, len_h in 1i64..100, probe_h in -300i64..300,
        ) {
            let users: Vec<u64> = (1..=n as u64).collect();
            let plain = level(users.clone(), 12, vec![]);
            let o = Override { user: 99, start: t0() + Duration::hours(start_h), end: t0() + Duration::hours(start_h + len_h) };
            let with = level(users, 12, vec![o.clone()]);
            let at = t0() + Duration::hours(probe_h);
            if o.start <= at && at < o.end {
                prop_assert_eq!(with.on_call(at), Some(99));
            } else {
                prop_assert_eq!(with.on_call(at), plain.on_call(at));
            }
        }

        #[test]
        fn an_empty_level_yields_nobody(probe_h in -300i64..300) {
            prop_assert_eq!(level(vec![], 24, vec![]).on_call(t0() + Duration::hours(probe_h)), None);
        }

        #[test]
        fn escalation_only_pages_staffed_levels_and_ends(mask in 0u8..8, rounds in 0u8..4) {
            let staffed: Vec<bool> = (0..3).map(|i| mask & (1 << i) != 0).collect();
            let mut pages = Vec::new();
            let mut p = first_page(&staffed);
            while let Some(page) = p {
                prop_assert!(staffed[usize::from(page.level - 1)]);
                pages.push(page);
                p = next_page(page, &staffed, rounds);
                prop_assert!(pages.len() <= 40);
            }
            let per_round = staffed.iter().filter(|s| **s).count();
            prop_assert_eq!(pages.len(), per_round * (usize::from(rounds) + 1));
        }
    }
}
