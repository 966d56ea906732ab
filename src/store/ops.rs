//! What operators ask of the database: is it there, how far behind is the outbox, how many
//! tickets are open, and a consistent copy of it while the bot runs.

use std::path::Path;

use sqlx::SqliteConnection;

/// The outbox's backlog: messages not yet delivered, and when the oldest was queued (unix ms).
pub async fn outbox_backlog(conn: &mut SqliteConnection) -> Result<(i64, Option<i64>), sqlx::Error> {
    sqlx::query_as("SELECT COUNT(*), MIN(created_at) FROM outbox WHERE status = 'pending'")
        .fetch_one(conn)
        .await
}

/// States in which a ticket of any kind is finished.
const FINISHED: &str = "('closed', 'cancelled', 'completed', 'rejected', 'expired')";

/// Open tickets per kind, over every guild (for `/metrics`).
pub async fn count_open_tickets(conn: &mut SqliteConnection) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT kind, COUNT(*) FROM tickets WHERE state NOT IN {FINISHED} GROUP BY kind ORDER BY kind"
    ))
    .fetch_all(conn)
    .await
}

/// Writes a consistent copy of the database to `path` (`VACUUM INTO`: one read transaction, so
/// every commit before it is in the copy and none after it is half in). The file must not exist.
pub async fn backup_into(conn: &mut SqliteConnection, path: &Path) -> Result<(), sqlx::Error> {
    sqlx::query("VACUUM INTO ?")
        .bind(path.to_string_lossy().into_owned())
        .execute(conn)
        .await?;
    Ok(())
}

/// `PRAGMA integrity_check`: `ok`, or the first problems SQLite found.
pub async fn integrity_check(conn: &mut SqliteConnection) -> Result<String, sqlx::Error> {
    let rows: Vec<(String,)> = sqlx::query_as("PRAGMA integrity_check").fetch_all(conn).await?;
    Ok(rows.into_iter().map(|(r,)| r).collect::<Vec<_>>().join("; "))
}
