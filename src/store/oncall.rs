//! On-call schedules, escalation policies, and incidents' paging state.

use sqlx::SqliteConnection;

/// Every level's rotation members of a guild, as `(level, user)` in rotation order.
pub async fn list_guild_oncall_members(
    conn: &mut SqliteConnection,
    guild_id: i64,
) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT level, user_id FROM oncall_members WHERE guild_id = ? ORDER BY level, position")
        .bind(guild_id)
        .fetch_all(conn)
        .await
}

/// Every level's rotation of a guild, as `(level, turn_hours, start_at)`.
pub async fn list_guild_rotations(
    conn: &mut SqliteConnection,
    guild_id: i64,
) -> Result<Vec<(i64, i64, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT level, turn_hours, start_at FROM oncall_rotations WHERE guild_id = ?")
        .bind(guild_id)
        .fetch_all(conn)
        .await
}

/// Every level's overrides of a guild that end after `after`, as `(level, user, start, end)`,
/// oldest first.
pub async fn list_guild_overrides(
    conn: &mut SqliteConnection,
    guild_id: i64,
    after: i64,
) -> Result<Vec<(i64, i64, i64, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT level, user_id, start_at, end_at FROM oncall_overrides WHERE guild_id = ? AND end_at > ? ORDER BY id",
    )
    .bind(guild_id)
    .bind(after)
    .fetch_all(conn)
    .await
}

/// Adds a user at the end of a level's rotation; `false` if already there.
pub async fn insert_oncall_member(
    conn: &mut SqliteConnection,
    guild_id: i64,
    level: i64,
    user_id: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO oncall_members (guild_id, level, user_id, position)
         VALUES (?, ?, ?, (SELECT coalesce(max(position), 0) + 1 FROM oncall_members WHERE guild_id = ? AND level = ?))
         ON CONFLICT (guild_id, level, user_id) DO NOTHING",
    )
    .bind(guild_id)
    .bind(level)
    .bind(user_id)
    .bind(guild_id)
    .bind(level)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Removes a user from a level; `false` if not there.
pub async fn delete_oncall_member(
    conn: &mut SqliteConnection,
    guild_id: i64,
    level: i64,
    user_id: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM oncall_members WHERE guild_id = ? AND level = ? AND user_id = ?")
        .bind(guild_id)
        .bind(level)
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Sets a level's rotation.
pub async fn set_rotation(
    conn: &mut SqliteConnection,
    guild_id: i64,
    level: i64,
    turn_hours: i64,
    start_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO oncall_rotations (guild_id, level, turn_hours, start_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (guild_id, level) DO UPDATE SET turn_hours = excluded.turn_hours, start_at = excluded.start_at",
    )
    .bind(guild_id)
    .bind(level)
    .bind(turn_hours)
    .bind(start_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Adds an override.
pub async fn insert_override(
    conn: &mut SqliteConnection,
    guild_id: i64,
    level: i64,
    user_id: i64,
    start_at: i64,
    end_at: i64,
    at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO oncall_overrides (guild_id, level, user_id, start_at, end_at, created_at) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(guild_id)
    .bind(level)
    .bind(user_id)
    .bind(start_at)
    .bind(end_at)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// A guild's escalation policy for a priority: (delay, ack timeout, rounds).
pub async fn get_escalation(
    conn: &mut SqliteConnection,
    guild_id: i64,
    priority: i64,
) -> Result<Option<(String, String, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT delay, ack_timeout, rounds FROM escalation_policies WHERE guild_id = ? AND priority = ?")
        .bind(guild_id)
        .bind(priority)
        .fetch_optional(conn)
        .await
}

/// Sets a guild's escalation policy for a priority.
pub async fn set_escalation(
    conn: &mut SqliteConnection,
    guild_id: i64,
    priority: i64,
    delay: &str,
    ack_timeout: &str,
    rounds: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO escalation_policies (guild_id, priority, delay, ack_timeout, rounds) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (guild_id, priority) DO UPDATE SET delay = excluded.delay, ack_timeout = excluded.ack_timeout,
             rounds = excluded.rounds",
    )
    .bind(guild_id)
    .bind(priority)
    .bind(delay)
    .bind(ack_timeout)
    .bind(rounds)
    .execute(conn)
    .await?;
    Ok(())
}

/// An incident's paging state.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct Paging {
    /// Delay before the next level is paged (copied at open).
    pub esc_delay: Option<String>,
    /// Ack timeout (copied at open).
    pub esc_ack_timeout: Option<String>,
    /// Extra rounds (copied at open).
    pub esc_rounds: Option<i64>,
    /// Whether it escalates at all (P4/P5 do not).
    pub esc_escalates: Option<bool>,
    /// Last level paged.
    pub page_level: Option<i64>,
    /// Round of the last page.
    pub page_round: Option<i64>,
    /// Who was paged last.
    pub paged_user_id: Option<i64>,
    /// Who acknowledged.
    pub acknowledged_by: Option<i64>,
    /// When.
    pub acknowledged_at: Option<i64>,
    /// Last `/incident update`.
    pub last_update_at: Option<i64>,
}

/// Loads an incident's paging state.
pub async fn get_paging(conn: &mut SqliteConnection, ticket_id: i64) -> Result<Paging, sqlx::Error> {
    sqlx::query_as(
        "SELECT esc_delay, esc_ack_timeout, esc_rounds, esc_escalates, page_level, page_round, paged_user_id,
                acknowledged_by, acknowledged_at, last_update_at FROM tickets WHERE id = ?",
    )
    .bind(ticket_id)
    .fetch_one(conn)
    .await
}

/// Stores an incident's paging state.
pub async fn set_paging(conn: &mut SqliteConnection, ticket_id: i64, p: &Paging) -> Result<(), sqlx::Error> {
    let mut q = sqlx::QueryBuilder::new("");
    push_paging_updates(&mut q, [(ticket_id, p)]);
    q.build().execute(conn).await?;
    Ok(())
}

/// One UPDATE of incidents' paging state onto `q` (a ticket at most once).
pub(super) fn push_paging_updates<'a>(
    q: &mut sqlx::QueryBuilder<'a, sqlx::Sqlite>,
    rows: impl IntoIterator<Item = (i64, &'a Paging)>,
) {
    q.push(
        "WITH v (id, esc_delay, esc_ack_timeout, esc_rounds, esc_escalates, page_level, page_round, paged_user_id,
                 acknowledged_by, acknowledged_at, last_update_at) AS (",
    );
    q.push_values(rows, |mut b, (ticket_id, p)| {
        b.push_bind(ticket_id)
            .push_bind(p.esc_delay.as_deref())
            .push_bind(p.esc_ack_timeout.as_deref())
            .push_bind(p.esc_rounds)
            .push_bind(p.esc_escalates)
            .push_bind(p.page_level)
            .push_bind(p.page_round)
            .push_bind(p.paged_user_id)
            .push_bind(p.acknowledged_by)
            .push_bind(p.acknowledged_at)
            .push_bind(p.last_update_at);
    });
    q.push(
        ") UPDATE tickets SET esc_delay = v.esc_delay, esc_ack_timeout = v.esc_ack_timeout,
             esc_rounds = v.esc_rounds, esc_escalates = v.esc_escalates, page_level = v.page_level,
             page_round = v.page_round, paged_user_id = v.paged_user_id, acknowledged_by = v.acknowledged_by,
             acknowledged_at = v.acknowledged_at, last_update_at = v.last_update_at
         FROM v WHERE tickets.id = v.id",
    );
}
