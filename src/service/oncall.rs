//! Who is on call: a guild's schedule loaded into the domain's levels, for paging and for
//! the rights of whoever is on call. Used by incidents (paging), tickets (who may see an
//! incident), ops (`/help`); it uses only the store and the domain.

use super::{Result, Work};
use crate::clock::from_millis;
use crate::domain::oncall::{Level as OnCallLevel, Override, Rotation, MAX_LEVELS};
use crate::store;

/// Default turn when a level has no `/oncall rotation`: a week, handing over Mondays 00:00 UTC.
const DEFAULT_TURN_HOURS: i64 = 24 * 7;
/// 1970-01-05 was a Monday: the default rotation's epoch.
const DEFAULT_ROTATION_START_MS: i64 = 4 * 86_400_000;

impl Work {
    /// The guild's on-call levels as the domain sees them (loaded once per use-case: paging
    /// asks several times).
    pub(super) async fn oncall_levels(&mut self) -> Result<Vec<OnCallLevel>> {
        if self.oncall.is_none() {
            let c = &self.config;
            self.oncall = Some(levels_of(&c.oncall_members, &c.rotations, &c.overrides, self.now));
        }
        Ok(self.oncall.clone().unwrap_or_default())
    }

    /// Who is on call now at each level.
    pub(super) async fn on_call_now(&mut self) -> Result<Vec<Option<u64>>> {
        let now = from_millis(self.now);
        Ok(self.oncall_levels().await?.iter().map(|l| l.on_call(now)).collect())
    }

    /// Whether the actor is on call at any level now.
    pub(super) async fn actor_on_call(&mut self) -> Result<bool> {
        let me = u64::try_from(self.user_id).unwrap_or(0);
        Ok(self.on_call_now().await?.contains(&Some(me)))
    }
}

/// Whether `user` is on call at any level at `now` (unix ms).
pub(super) async fn is_on_call(conn: &mut sqlx::SqliteConnection, guild: i64, user: i64, now: i64) -> Result<bool> {
    let Ok(user) = u64::try_from(user) else {
        return Ok(false);
    };
    let levels = load_levels(conn, guild, now).await?;
    Ok(levels.iter().any(|l| l.on_call(from_millis(now)) == Some(user)))
}

/// All levels of a guild's schedule, in three queries whatever the number of levels.
pub(super) async fn load_levels(conn: &mut sqlx::SqliteConnection, guild: i64, now: i64) -> Result<Vec<OnCallLevel>> {
    let members = store::list_guild_oncall_members(conn, guild).await?;
    let rotations = store::list_guild_rotations(conn, guild).await?;
    let overrides = store::list_guild_overrides(conn, guild, now).await?;
    Ok(levels_of(&members, &rotations, &overrides, now))
}

/// The domain's levels from a schedule's rows (overrides that ended by `now` left out).
fn levels_of(
    members: &[(i64, i64)],
    rotations: &[(i64, i64, i64)],
    overrides: &[(i64, i64, i64, i64)],
    now: i64,
) -> Vec<OnCallLevel> {
    (1..=i64::from(MAX_LEVELS))
        .map(|level| {
            let (turn_hours, start) = rotations
                .iter()
                .find(|(l, _, _)| *l == level)
                .map_or((DEFAULT_TURN_HOURS, DEFAULT_ROTATION_START_MS), |(_, h, s)| (*h, *s));
            OnCallLevel {
                rotation: Rotation {
                    users: members
                        .iter()
                        .filter(|(l, _)| *l == level)
                        .filter_map(|(_, u)| u64::try_from(*u).ok())
                        .collect(),
                    turn_seconds: turn_hours * 3600,
                    start: from_millis(start),
                },
                overrides: overrides
                    .iter()
                    .filter(|(l, _, _, end)| *l == level && *end > now)
                    .map(|(_, u, s, e)| Override {
                        user: u64::try_from(*u).unwrap_or(0),
                        start: from_millis(*s),
                        end: from_millis(*e),
                    })
                    .collect(),
            }
        })
        .collect()
}
