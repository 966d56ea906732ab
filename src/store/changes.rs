//! Changes: their fields, CAB rules, voters, ballots and blackout windows.

use sqlx::SqliteConnection;

/// A change's own fields (on its ticket row).
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct ChangeRow {
    /// standard / normal / emergency.
    pub change_type: Option<String>,
    /// low / medium / high.
    pub risk: Option<String>,
    /// Window start (unix ms).
    pub window_start: Option<i64>,
    /// Window end (unix ms).
    pub window_end: Option<i64>,
    /// The implementation plan.
    pub plan: Option<String>,
    /// The backout plan.
    pub backout: Option<String>,
    /// successful / failed / rolled-back.
    pub outcome: Option<String>,
    /// The vote rule in force: any / all / quorum.
    pub vote_mode: Option<String>,
    /// k for quorum.
    pub vote_count: Option<i64>,
    /// When the vote expires (unix ms).
    pub vote_deadline: Option<i64>,
    /// Conflicts found when it was raised, one per line.
    pub conflicts: Option<String>,
}

/// Loads a change's fields.
pub async fn get_change(conn: &mut SqliteConnection, ticket_id: i64) -> Result<ChangeRow, sqlx::Error> {
    sqlx::query_as(
        "SELECT change_type, risk, window_start, window_end, plan, backout, outcome, vote_mode, vote_count,
                vote_deadline, conflicts FROM tickets WHERE id = ?",
    )
    .bind(ticket_id)
    .fetch_one(conn)
    .await
}

/// Stores a change's fields.
pub async fn set_change(conn: &mut SqliteConnection, ticket_id: i64, c: &ChangeRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE tickets SET change_type = ?, risk = ?, window_start = ?, window_end = ?, plan = ?, backout = ?,
                outcome = ?, vote_mode = ?, vote_count = ?, vote_deadline = ?, conflicts = ? WHERE id = ?",
    )
    .bind(&c.change_type)
    .bind(&c.risk)
    .bind(c.window_start)
    .bind(c.window_end)
    .bind(&c.plan)
    .bind(&c.backout)
    .bind(&c.outcome)
    .bind(&c.vote_mode)
    .bind(c.vote_count)
    .bind(c.vote_deadline)
    .bind(&c.conflicts)
    .bind(ticket_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// A guild's CAB rule: (mode, count, voting duration).
pub async fn get_cab_rule(
    conn: &mut SqliteConnection,
    guild_id: i64,
    rule: &str,
) -> Result<Option<(String, i64, String)>, sqlx::Error> {
    sqlx::query_as("SELECT mode, count, voting FROM cab_rules WHERE guild_id = ? AND rule = ?")
        .bind(guild_id)
        .bind(rule)
        .fetch_optional(conn)
        .await
}

/// Sets a guild's CAB rule.
pub async fn set_cab_rule(
    conn: &mut SqliteConnection,
    guild_id: i64,
    rule: &str,
    mode: &str,
    count: i64,
    voting: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO cab_rules (guild_id, rule, mode, count, voting) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (guild_id, rule) DO UPDATE SET mode = excluded.mode, count = excluded.count, voting = excluded.voting",
    )
    .bind(guild_id)
    .bind(rule)
    .bind(mode)
    .bind(count)
    .bind(voting)
    .execute(conn)
    .await?;
    Ok(())
}

/// Fixes the eligible voters of a change.
pub async fn insert_voters(conn: &mut SqliteConnection, ticket_id: i64, users: &[i64]) -> Result<(), sqlx::Error> {
    for u in users {
        sqlx::query("INSERT OR IGNORE INTO change_voters (ticket_id, user_id) VALUES (?, ?)")
            .bind(ticket_id)
            .bind(u)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The eligible voters of a change.
pub async fn list_voters(conn: &mut SqliteConnection, ticket_id: i64) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT user_id FROM change_voters WHERE ticket_id = ? ORDER BY user_id")
        .bind(ticket_id)
        .fetch_all(conn)
        .await
}

/// Records (or replaces) a ballot.
pub async fn upsert_vote(
    conn: &mut SqliteConnection,
    ticket_id: i64,
    voter: i64,
    ballot: &str,
    reason: Option<&str>,
    at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO change_votes (ticket_id, voter_id, ballot, reason, at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (ticket_id, voter_id) DO UPDATE SET ballot = excluded.ballot, reason = excluded.reason, at = excluded.at",
    )
    .bind(ticket_id)
    .bind(voter)
    .bind(ballot)
    .bind(reason)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The ballots of a change: (voter, ballot, reason).
pub async fn list_votes(
    conn: &mut SqliteConnection,
    ticket_id: i64,
) -> Result<Vec<(i64, String, Option<String>)>, sqlx::Error> {
    sqlx::query_as("SELECT voter_id, ballot, reason FROM change_votes WHERE ticket_id = ? ORDER BY at, voter_id")
        .bind(ticket_id)
        .fetch_all(conn)
        .await
}

/// Scheduled or implementing changes of a guild whose window overlaps `[start, end)`:
/// (number, title, window start, window end).
pub async fn list_overlapping_changes(
    conn: &mut SqliteConnection,
    guild_id: i64,
    start: i64,
    end: i64,
) -> Result<Vec<(i64, String, i64, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT number, title, window_start, window_end FROM tickets
         WHERE guild_id = ? AND kind = 'change' AND state IN ('scheduled', 'implementing')
           AND window_start < ? AND window_end > ? ORDER BY window_start",
    )
    .bind(guild_id)
    .bind(end)
    .bind(start)
    .fetch_all(conn)
    .await
}

/// Blackouts of a guild overlapping `[start, end)`: (start, end, reason).
pub async fn list_blackouts(
    conn: &mut SqliteConnection,
    guild_id: i64,
    start: i64,
    end: i64,
) -> Result<Vec<(i64, i64, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT start_at, end_at, reason FROM blackouts WHERE guild_id = ? AND start_at < ? AND end_at > ? ORDER BY start_at",
    )
    .bind(guild_id)
    .bind(end)
    .bind(start)
    .fetch_all(conn)
    .await
}

/// Adds a blackout window.
pub async fn insert_blackout(
    conn: &mut SqliteConnection,
    guild_id: i64,
    start: i64,
    end: i64,
    reason: &str,
    by: i64,
    at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO blackouts (guild_id, start_at, end_at, reason, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(guild_id)
    .bind(start)
    .bind(end)
    .bind(reason)
    .bind(by)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}
