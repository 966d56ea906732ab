//! SLA clocks, SLA target overrides, holidays and the durable timers.

use sqlx::SqliteConnection;

use crate::domain::sla::ClockKind;
use crate::domain::timer::TimerKind;
use crate::domain::SlaDuration;

/// A stored SLA clock.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClockRow {
    /// Row id.
    pub id: i64,
    /// Tenant.
    pub guild_id: i64,
    /// The ticket.
    pub ticket_id: i64,
    /// Response or resolution; a stored name that does not decode fails the read.
    #[sqlx(try_from = "String")]
    pub clock: ClockKind,
    /// 1, 2, … (a reopen starts a new resolution cycle).
    pub cycle: i64,
    /// The target as configured (`4bh`); one that does not parse fails the read.
    #[sqlx(try_from = "String")]
    pub target: SlaDuration,
    /// Started (unix ms).
    pub started_at: i64,
    /// Paused time so far, in the target's calendar.
    pub paused_seconds: i64,
    /// Paused since (unix ms).
    pub paused_since: Option<i64>,
    /// Stopped (unix ms).
    pub stopped_at: Option<i64>,
    /// Breach instant while running (unix ms).
    pub due_at: Option<i64>,
    /// The 75 % warning went out (unix ms).
    pub warned_at: Option<i64>,
    /// The breach notice went out (unix ms).
    pub breached_at: Option<i64>,
}

/// One INSERT of clocks with their ids (given by [`super::Ids`]) onto `q`.
pub(super) fn push_clock_rows<'a>(q: &mut sqlx::QueryBuilder<'a, sqlx::Sqlite>, clocks: Vec<&'a ClockRow>) {
    q.push(
        "INSERT INTO sla_clocks (id, guild_id, ticket_id, clock, cycle, target, started_at, paused_seconds,
                                 paused_since, stopped_at, due_at, warned_at, breached_at) ",
    );
    q.push_values(clocks, |mut b, c| {
        b.push_bind(c.id)
            .push_bind(c.guild_id)
            .push_bind(c.ticket_id)
            .push_bind(c.clock.as_str())
            .push_bind(c.cycle)
            .push_bind(c.target.to_string())
            .push_bind(c.started_at)
            .push_bind(c.paused_seconds)
            .push_bind(c.paused_since)
            .push_bind(c.stopped_at)
            .push_bind(c.due_at)
            .push_bind(c.warned_at)
            .push_bind(c.breached_at);
    });
}

/// Stores a clock with its id (given by [`super::Ids`]).
pub async fn insert_clock_row(conn: &mut SqliteConnection, clock: &ClockRow) -> Result<(), sqlx::Error> {
    let mut q = sqlx::QueryBuilder::new("");
    push_clock_rows(&mut q, vec![clock]);
    q.build().execute(conn).await?;
    Ok(())
}

/// Writes back a clock's mutable fields.
pub async fn update_clock(conn: &mut SqliteConnection, c: &ClockRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE sla_clocks SET target = ?, paused_seconds = ?, paused_since = ?, stopped_at = ?, due_at = ?,
                warned_at = ?, breached_at = ?
         WHERE id = ?",
    )
    .bind(c.target.to_string())
    .bind(c.paused_seconds)
    .bind(c.paused_since)
    .bind(c.stopped_at)
    .bind(c.due_at)
    .bind(c.warned_at)
    .bind(c.breached_at)
    .bind(c.id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks SLA reminders sent at `at`: a warning on each of `warned`, a breach on each of
/// `breached` (which also settles a warning not yet sent). Only those two columns change, so
/// SQLite rewrites one index per clock instead of every index on the columns `update_clock`
/// writes; what the scheduler's batch stores is what `mark_reminder` decided in memory.
pub async fn mark_reminders(
    conn: &mut SqliteConnection,
    at: i64,
    warned: &[i64],
    breached: &[i64],
) -> Result<(), sqlx::Error> {
    for chunk in warned.chunks(super::ROWS_PER_INSERT) {
        let mut q = sqlx::QueryBuilder::new("UPDATE sla_clocks SET warned_at = ");
        q.push_bind(at).push(" WHERE id");
        super::push_in(&mut q, chunk);
        q.build().persistent(false).execute(&mut *conn).await?;
    }
    for chunk in breached.chunks(super::ROWS_PER_INSERT) {
        let mut q = sqlx::QueryBuilder::new("UPDATE sla_clocks SET breached_at = ");
        q.push_bind(at).push(", warned_at = coalesce(warned_at, ");
        q.push_bind(at).push(") WHERE id");
        super::push_in(&mut q, chunk);
        q.build().persistent(false).execute(&mut *conn).await?;
    }
    Ok(())
}

/// Clocks by id (those that exist), in no particular order.
pub async fn get_clocks(conn: &mut SqliteConnection, ids: &[i64]) -> Result<Vec<ClockRow>, sqlx::Error> {
    super::rows_by_id(conn, "sla_clocks", "*", ids).await
}

/// Takes several timers for firing; returns the ids of those still there (the others were fired
/// or cancelled meanwhile).
pub async fn take_timers(conn: &mut SqliteConnection, ids: &[i64]) -> Result<Vec<i64>, sqlx::Error> {
    let mut taken = Vec::new();
    for chunk in ids.chunks(super::ROWS_PER_INSERT) {
        let mut q = sqlx::QueryBuilder::new("DELETE FROM timers WHERE id");
        super::push_in(&mut q, chunk);
        q.push(" RETURNING id");
        taken.extend(q.build_query_scalar::<i64>().fetch_all(&mut *conn).await?);
    }
    Ok(taken)
}

/// The latest cycle of each clock of a ticket (response first).
pub async fn list_current_clocks(conn: &mut SqliteConnection, ticket_id: i64) -> Result<Vec<ClockRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT * FROM sla_clocks c WHERE ticket_id = ?
           AND cycle = (SELECT max(cycle) FROM sla_clocks d WHERE d.ticket_id = c.ticket_id AND d.clock = c.clock)
         ORDER BY clock DESC",
    )
    .bind(ticket_id)
    .fetch_all(conn)
    .await
}

/// One clock by id.
pub async fn get_clock(conn: &mut SqliteConnection, id: i64) -> Result<Option<ClockRow>, sqlx::Error> {
    sqlx::query_as("SELECT * FROM sla_clocks WHERE id = ?")
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// A guild's SLA target override for a kind and priority: (respond, resolve).
pub async fn get_sla_target(
    conn: &mut SqliteConnection,
    guild_id: i64,
    kind: &str,
    priority: i64,
) -> Result<Option<(String, String)>, sqlx::Error> {
    sqlx::query_as("SELECT respond, resolve FROM sla_targets WHERE guild_id = ? AND kind = ? AND priority = ?")
        .bind(guild_id)
        .bind(kind)
        .bind(priority)
        .fetch_optional(conn)
        .await
}

/// Sets a guild's SLA target for a kind and priority.
pub async fn set_sla_target(
    conn: &mut SqliteConnection,
    guild_id: i64,
    kind: &str,
    priority: i64,
    respond: &str,
    resolve: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sla_targets (guild_id, kind, priority, respond, resolve) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (guild_id, kind, priority) DO UPDATE SET respond = excluded.respond, resolve = excluded.resolve",
    )
    .bind(guild_id)
    .bind(kind)
    .bind(priority)
    .bind(respond)
    .bind(resolve)
    .execute(conn)
    .await?;
    Ok(())
}

/// A guild's holidays (YYYY-MM-DD, name), in date order.
pub async fn list_holidays(conn: &mut SqliteConnection, guild_id: i64) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as("SELECT day, name FROM holidays WHERE guild_id = ? ORDER BY day")
        .bind(guild_id)
        .fetch_all(conn)
        .await
}

/// Adds or renames a holiday.
pub async fn upsert_holiday(
    conn: &mut SqliteConnection,
    guild_id: i64,
    day: &str,
    name: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO holidays (guild_id, day, name) VALUES (?, ?, ?)
         ON CONFLICT (guild_id, day) DO UPDATE SET name = excluded.name",
    )
    .bind(guild_id)
    .bind(day)
    .bind(name)
    .execute(conn)
    .await?;
    Ok(())
}

/// Sets the business hours of a guild.
pub async fn set_hours(
    conn: &mut SqliteConnection,
    guild_id: i64,
    timezone: &str,
    days: &str,
    start: &str,
    end: &str,
    at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO guild_settings (guild_id, timezone, work_days, work_start, work_end, updated_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (guild_id) DO UPDATE SET timezone = excluded.timezone, work_days = excluded.work_days,
             work_start = excluded.work_start, work_end = excluded.work_end, updated_at = excluded.updated_at",
    )
    .bind(guild_id)
    .bind(timezone)
    .bind(days)
    .bind(start)
    .bind(end)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Sets how long resolved tickets wait before closing themselves.
pub async fn set_autoclose(
    conn: &mut SqliteConnection,
    guild_id: i64,
    after: &str,
    at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO guild_settings (guild_id, autoclose_after, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (guild_id) DO UPDATE SET autoclose_after = excluded.autoclose_after, updated_at = excluded.updated_at",
    )
    .bind(guild_id)
    .bind(after)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// A durable timer.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TimerRow {
    /// Row id.
    pub id: i64,
    /// Tenant.
    pub guild_id: i64,
    /// Unique purpose, e.g. `sla:12:breach`, `autoclose:7`.
    pub key: String,
    /// What to do; a stored name that does not decode fails the read (never a fallback).
    #[sqlx(try_from = "String")]
    pub kind: TimerKind,
    /// The ticket concerned.
    pub ticket_id: Option<i64>,
    /// When (unix ms).
    pub due_at: i64,
    /// Extra data (e.g. the clock id).
    pub payload: Option<String>,
}

/// A timer to schedule (or reschedule: the key is unique).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTimer {
    /// Tenant.
    pub guild_id: i64,
    /// Unique purpose, e.g. `sla:12:breach`.
    pub key: String,
    /// What to do when it fires.
    pub kind: TimerKind,
    /// The ticket concerned.
    pub ticket_id: Option<i64>,
    /// When (unix ms).
    pub due_at: i64,
    /// Extra data (e.g. the clock id).
    pub payload: Option<String>,
}

/// Schedules (or reschedules) timers, one statement per [`super::ROWS_PER_INSERT`]. Keys must
/// be distinct within one call.
pub async fn upsert_timers(conn: &mut SqliteConnection, timers: &[NewTimer]) -> Result<(), sqlx::Error> {
    for chunk in timers.chunks(super::ROWS_PER_INSERT) {
        let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new("");
        push_timer_upserts(&mut q, chunk);
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// One upsert of timers onto `q`.
pub(super) fn push_timer_upserts<'a>(
    q: &mut sqlx::QueryBuilder<'a, sqlx::Sqlite>,
    timers: impl IntoIterator<Item = &'a NewTimer>,
) {
    q.push("INSERT INTO timers (guild_id, key, kind, ticket_id, due_at, payload) ");
    q.push_values(timers, |mut b, t| {
        b.push_bind(t.guild_id)
            .push_bind(t.key.as_str())
            .push_bind(t.kind.as_str())
            .push_bind(t.ticket_id)
            .push_bind(t.due_at)
            .push_bind(t.payload.as_deref());
    });
    q.push(
        " ON CONFLICT (key) DO UPDATE SET due_at = excluded.due_at, kind = excluded.kind, payload = excluded.payload",
    );
}

/// One DELETE of timers by key onto `q`.
pub(super) fn push_timer_deletes<'a>(
    q: &mut sqlx::QueryBuilder<'a, sqlx::Sqlite>,
    keys: impl IntoIterator<Item = &'a String>,
) {
    q.push("DELETE FROM timers WHERE key IN (");
    let mut list = q.separated(", ");
    for k in keys {
        list.push_bind(k.as_str());
    }
    q.push(")");
}

/// Cancels the timers with these keys (those that exist).
pub async fn delete_timers(conn: &mut SqliteConnection, keys: &[String]) -> Result<(), sqlx::Error> {
    for chunk in keys.chunks(super::ROWS_PER_INSERT) {
        let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new("");
        push_timer_deletes(&mut q, chunk);
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Takes a timer for firing: `false` if it is gone (fired or cancelled meanwhile).
pub async fn take_timer(conn: &mut SqliteConnection, id: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM timers WHERE id = ?")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Timers due by `now`, earliest first.
pub async fn list_due_timers(conn: &mut SqliteConnection, now: i64, limit: i64) -> Result<Vec<TimerRow>, sqlx::Error> {
    sqlx::query_as("SELECT * FROM timers WHERE due_at <= ? ORDER BY due_at, id LIMIT ?")
        .bind(now)
        .bind(limit)
        .fetch_all(conn)
        .await
}

/// The earliest due time of any timer.
pub async fn next_timer_due(conn: &mut SqliteConnection) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT min(due_at) FROM timers")
        .fetch_one(conn)
        .await
}
