//! Major incidents, duplicates and affected users, and the drafts held by the same-issue
//! question at intake.

use sqlx::SqliteConnection;

use super::TicketRow;

/// Marks an incident major with its first status line.
pub async fn set_major(conn: &mut SqliteConnection, ticket_id: i64, at: i64, status: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE tickets SET major_at = ?, status_line = ? WHERE id = ?")
        .bind(at)
        .bind(status)
        .bind(ticket_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Sets the status line a major incident's pinned card shows.
pub async fn set_status_line(conn: &mut SqliteConnection, ticket_id: i64, status: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE tickets SET status_line = ? WHERE id = ?")
        .bind(status)
        .bind(ticket_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Remembers the bridge thread opened on a major incident's card.
pub async fn set_ticket_thread(conn: &mut SqliteConnection, ticket_id: i64, thread_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE tickets SET thread_id = ? WHERE id = ?")
        .bind(thread_id)
        .bind(ticket_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Links a duplicate to its parent.
pub async fn set_parent(conn: &mut SqliteConnection, child: i64, parent: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE tickets SET parent_id = ? WHERE id = ?")
        .bind(parent)
        .bind(child)
        .execute(conn)
        .await?;
    Ok(())
}

/// Moves `from`'s duplicates (and its affected users) to `to`.
pub async fn move_duplicates(conn: &mut SqliteConnection, from: i64, to: i64, at: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE tickets SET parent_id = ? WHERE parent_id = ?")
        .bind(to)
        .bind(from)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO affected_users (ticket_id, user_id, added_at)
         SELECT ?, user_id, ? FROM affected_users WHERE ticket_id = ? ON CONFLICT DO NOTHING",
    )
    .bind(to)
    .bind(at)
    .bind(from)
    .execute(conn)
    .await?;
    Ok(())
}

/// An incident's duplicates, oldest first.
pub async fn list_duplicates(conn: &mut SqliteConnection, parent: i64) -> Result<Vec<TicketRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        ticket_columns!(),
        " FROM tickets WHERE parent_id = ? ORDER BY number"
    ))
    .bind(parent)
    .fetch_all(conn)
    .await
}

/// Adds an affected user; `false` if they already were.
pub async fn add_affected(
    conn: &mut SqliteConnection,
    ticket_id: i64,
    user_id: i64,
    at: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO affected_users (ticket_id, user_id, added_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
    )
    .bind(ticket_id)
    .bind(user_id)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// An incident's affected users, in the order they joined.
pub async fn list_affected(conn: &mut SqliteConnection, ticket_id: i64) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT user_id FROM affected_users WHERE ticket_id = ? ORDER BY added_at, user_id")
        .bind(ticket_id)
        .fetch_all(conn)
        .await
}

/// Whether `user_id` is an affected user of the ticket.
pub async fn is_affected(conn: &mut SqliteConnection, ticket_id: i64, user_id: i64) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM affected_users WHERE ticket_id = ? AND user_id = ?)")
        .bind(ticket_id)
        .bind(user_id)
        .fetch_one(conn)
        .await
}

/// Open major incidents of a guild.
pub async fn list_open_majors(conn: &mut SqliteConnection, guild_id: i64) -> Result<Vec<TicketRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        ticket_columns!(),
        " FROM tickets INDEXED BY tickets_major
         WHERE guild_id = ? AND major_at IS NOT NULL AND state NOT IN ('resolved', 'closed', 'cancelled')
         ORDER BY major_at DESC LIMIT 25"
    ))
    .bind(guild_id)
    .fetch_all(conn)
    .await
}

/// Incidents of a guild opened since `since` and still open, newest first (at most 100).
pub async fn list_recent_open_incidents(
    conn: &mut SqliteConnection,
    guild_id: i64,
    since: i64,
) -> Result<Vec<TicketRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        ticket_columns!(),
        " FROM tickets
         WHERE guild_id = ? AND kind = 'incident' AND created_at >= ? AND parent_id IS NULL
           AND state NOT IN ('resolved', 'closed', 'cancelled')
         ORDER BY created_at DESC LIMIT 100"
    ))
    .bind(guild_id)
    .bind(since)
    .fetch_all(conn)
    .await
}

/// Holds an `/incident new` until its reporter answers the same-issue question.
pub async fn insert_draft(
    conn: &mut SqliteConnection,
    id: i64,
    guild_id: i64,
    user_id: i64,
    candidate_id: i64,
    draft: &str,
    at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO intake_drafts (id, guild_id, user_id, candidate_id, draft, created_at) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(id)
    .bind(guild_id)
    .bind(user_id)
    .bind(candidate_id)
    .bind(draft)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Takes a held draft (its one use): `(candidate ticket id, draft JSON)`, if it is still there
/// and belongs to this member of this guild.
pub async fn take_draft(
    conn: &mut SqliteConnection,
    id: i64,
    guild_id: i64,
    user_id: i64,
) -> Result<Option<(i64, String)>, sqlx::Error> {
    sqlx::query_as(
        "DELETE FROM intake_drafts WHERE id = ? AND guild_id = ? AND user_id = ? RETURNING candidate_id, draft",
    )
    .bind(id)
    .bind(guild_id)
    .bind(user_id)
    .fetch_optional(conn)
    .await
}

/// Links an incident to a problem (or unlinks it, with `None`).
pub async fn set_incident_problem(
    conn: &mut SqliteConnection,
    incident: i64,
    problem: Option<i64>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE tickets SET problem_id = ? WHERE id = ?")
        .bind(problem)
        .bind(incident)
        .execute(conn)
        .await?;
    Ok(())
}

/// Records a problem's findings (cause, workaround, fix: each kept when `None`).
pub async fn set_problem_findings(
    conn: &mut SqliteConnection,
    problem: i64,
    cause: Option<&str>,
    workaround: Option<&str>,
    fix: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE tickets SET cause = coalesce(?, cause), workaround = coalesce(?, workaround), fix = coalesce(?, fix)
         WHERE id = ?",
    )
    .bind(cause)
    .bind(workaround)
    .bind(fix)
    .bind(problem)
    .execute(conn)
    .await?;
    Ok(())
}

/// The incidents linked to a problem, by number.
pub async fn list_problem_incidents(conn: &mut SqliteConnection, problem: i64) -> Result<Vec<TicketRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        ticket_columns!(),
        " FROM tickets WHERE problem_id = ? ORDER BY number"
    ))
    .bind(problem)
    .fetch_all(conn)
    .await
}

/// A guild's problems, newest first: open ones, or those in `state`.
pub async fn list_problems(
    conn: &mut SqliteConnection,
    guild_id: i64,
    state: Option<&str>,
) -> Result<Vec<TicketRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        ticket_columns!(),
        " FROM tickets WHERE guild_id = ? AND kind = 'problem'
           AND (CASE WHEN ? IS NULL THEN state NOT IN ('resolved', 'closed', 'cancelled') ELSE state = ? END)
         ORDER BY number DESC LIMIT 50"
    ))
    .bind(guild_id)
    .bind(state)
    .bind(state)
    .fetch_all(conn)
    .await
}

/// A guild's incidents of `service` (any case; or, with no service, of that alert name) opened
/// since `since` and linked to no problem.
pub async fn unlinked_incidents_of_service(
    conn: &mut SqliteConnection,
    guild_id: i64,
    service: &str,
    since: i64,
) -> Result<Vec<TicketRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        ticket_columns!(),
        " FROM tickets INDEXED BY tickets_created
         WHERE guild_id = ? AND kind = 'incident' AND created_at >= ? AND problem_id IS NULL
           AND (lower(service) = lower(?) OR (service IS NULL AND lower(alert_name) = lower(?)))
           AND parent_id IS NULL
         ORDER BY number LIMIT 25"
    ))
    .bind(guild_id)
    .bind(since)
    .bind(service)
    .bind(service)
    .fetch_all(conn)
    .await
}

/// Records that the incident managers are told of a recurring service; `Some(id)` when they
/// are to be told now (never for this service, or not since `since`).
pub async fn note_recurrence(
    conn: &mut SqliteConnection,
    guild_id: i64,
    service: &str,
    incidents: &str,
    at: i64,
    since: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO recurrence_notices (guild_id, service_key, service, incidents, noticed_at) VALUES (?, lower(?), ?, ?, ?)
         ON CONFLICT (guild_id, service_key) DO UPDATE SET incidents = excluded.incidents, noticed_at = excluded.noticed_at,
                                                        service = excluded.service, problem_id = NULL
           WHERE recurrence_notices.noticed_at < ?
         RETURNING id",
    )
    .bind(guild_id)
    .bind(service)
    .bind(service)
    .bind(incidents)
    .bind(at)
    .bind(since)
    .fetch_optional(conn)
    .await
}

/// A recurrence notice of a guild: (service, incident ids, the problem created from it).
pub async fn get_recurrence(
    conn: &mut SqliteConnection,
    id: i64,
    guild_id: i64,
) -> Result<Option<(String, String, Option<i64>)>, sqlx::Error> {
    sqlx::query_as("SELECT service, incidents, problem_id FROM recurrence_notices WHERE id = ? AND guild_id = ?")
        .bind(id)
        .bind(guild_id)
        .fetch_optional(conn)
        .await
}

/// Remembers the problem a recurrence notice's button created.
pub async fn set_recurrence_problem(conn: &mut SqliteConnection, id: i64, problem: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE recurrence_notices SET problem_id = ? WHERE id = ?")
        .bind(problem)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}
