//! Monitoring sources, their durable inbox of events, and the alert groups raised as incidents.

use sqlx::SqliteConnection;

use crate::domain::alert::{AlertStatus, SourceKind, Tracked};
use crate::domain::TicketState;

/// A stored monitoring source (its token only as a SHA-256).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SourceRow {
    /// Row id.
    pub id: i64,
    /// Tenant.
    pub guild_id: i64,
    /// Name, unique in the guild.
    pub name: String,
    /// `alertmanager`, `grafana` or `events`.
    pub kind: String,
    /// Seconds an all-resolved group waits before its incident resolves.
    pub grace_seconds: i64,
    /// Lowercase hex SHA-256 of the token.
    pub token_sha256: String,
    /// Grafana's HMAC secret, when signatures are required.
    pub hmac_secret: Option<String>,
    /// Who added it.
    pub created_by: i64,
    /// When (unix ms).
    pub created_at: i64,
    /// Latest accepted event (unix ms).
    pub last_event_at: Option<i64>,
    /// Events accepted.
    pub events_received: i64,
    /// Events that changed nothing (repeats, HA duplicates).
    pub events_deduplicated: i64,
}

impl SourceRow {
    /// Its kind (the CHECK constraint keeps the column to the three names).
    pub fn kind(&self) -> SourceKind {
        SourceKind::parse(&self.kind).unwrap_or(SourceKind::Events)
    }
}

/// What a new source starts with.
#[derive(Debug, Clone)]
pub struct NewSource<'a> {
    /// Tenant.
    pub guild_id: i64,
    /// Name.
    pub name: &'a str,
    /// Kind.
    pub kind: SourceKind,
    /// Grace in seconds.
    pub grace_seconds: i64,
    /// SHA-256 of the token (hex).
    pub token_sha256: &'a str,
    /// HMAC secret, if any.
    pub hmac_secret: Option<&'a str>,
    /// Who.
    pub created_by: i64,
    /// When.
    pub at: i64,
}

/// Adds a source; `None` when the guild already has one of that name.
pub async fn insert_source(conn: &mut SqliteConnection, s: &NewSource<'_>) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO alert_sources (guild_id, name, kind, grace_seconds, token_sha256, hmac_secret, created_by, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (guild_id, name) DO NOTHING RETURNING id",
    )
    .bind(s.guild_id)
    .bind(s.name)
    .bind(s.kind.as_str())
    .bind(s.grace_seconds)
    .bind(s.token_sha256)
    .bind(s.hmac_secret)
    .bind(s.created_by)
    .bind(s.at)
    .fetch_optional(conn)
    .await
}

/// The source whose token hashes to `sha256`, if any.
pub async fn find_source_by_token(conn: &mut SqliteConnection, sha256: &str) -> Result<Option<SourceRow>, sqlx::Error> {
    sqlx::query_as("SELECT * FROM alert_sources WHERE token_sha256 = ?")
        .bind(sha256)
        .fetch_optional(conn)
        .await
}

/// A guild's source by name.
pub async fn find_source(
    conn: &mut SqliteConnection,
    guild_id: i64,
    name: &str,
) -> Result<Option<SourceRow>, sqlx::Error> {
    sqlx::query_as("SELECT * FROM alert_sources WHERE guild_id = ? AND name = ?")
        .bind(guild_id)
        .bind(name)
        .fetch_optional(conn)
        .await
}

/// A source by id.
pub async fn get_source(conn: &mut SqliteConnection, id: i64) -> Result<Option<SourceRow>, sqlx::Error> {
    sqlx::query_as("SELECT * FROM alert_sources WHERE id = ?")
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// A guild's sources with how many of their incidents are open, by name.
pub async fn list_sources(conn: &mut SqliteConnection, guild_id: i64) -> Result<Vec<(SourceRow, i64)>, sqlx::Error> {
    let rows: Vec<SourceRow> = sqlx::query_as("SELECT * FROM alert_sources WHERE guild_id = ? ORDER BY name")
        .bind(guild_id)
        .fetch_all(&mut *conn)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for s in rows {
        let open: i64 = sqlx::query_scalar(
            "SELECT count(DISTINCT g.ticket_id) FROM alert_groups g JOIN tickets t ON t.id = g.ticket_id
             WHERE g.source_id = ? AND t.state NOT IN ('resolved', 'closed', 'cancelled')",
        )
        .bind(s.id)
        .fetch_one(&mut *conn)
        .await?;
        out.push((s, open));
    }
    Ok(out)
}

/// Removes a source with its events and groups (its incidents stay).
pub async fn delete_source(conn: &mut SqliteConnection, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM alert_sources WHERE id = ?")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Replaces a source's token (the old one stops working with this commit).
pub async fn set_source_token(conn: &mut SqliteConnection, id: i64, sha256: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE alert_sources SET token_sha256 = ? WHERE id = ?")
        .bind(sha256)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Stores an accepted event and counts it on its source; returns the event id.
pub async fn insert_event(
    conn: &mut SqliteConnection,
    source: &SourceRow,
    body: &str,
    at: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query("UPDATE alert_sources SET events_received = events_received + 1, last_event_at = ? WHERE id = ?")
        .bind(at)
        .bind(source.id)
        .execute(&mut *conn)
        .await?;
    sqlx::query_scalar(
        "INSERT INTO alert_events (source_id, guild_id, received_at, body) VALUES (?, ?, ?, ?) RETURNING id",
    )
    .bind(source.id)
    .bind(source.guild_id)
    .bind(at)
    .bind(body)
    .fetch_one(conn)
    .await
}

/// A stored event.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    /// Row id (arrival order).
    pub id: i64,
    /// Its source.
    pub source_id: i64,
    /// Tenant.
    pub guild_id: i64,
    /// When it was accepted.
    pub received_at: i64,
    /// The body as checked.
    pub body: String,
    /// When it was applied.
    pub processed_at: Option<i64>,
}

/// Events not yet applied, oldest first.
pub async fn list_pending_events(conn: &mut SqliteConnection, limit: i64) -> Result<Vec<EventRow>, sqlx::Error> {
    sqlx::query_as("SELECT * FROM alert_events WHERE processed_at IS NULL ORDER BY id LIMIT ?")
        .bind(limit)
        .fetch_all(conn)
        .await
}

/// Marks an event applied; `false` if it was already (another pass took it).
pub async fn take_event(conn: &mut SqliteConnection, id: i64, at: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE alert_events SET processed_at = ? WHERE id = ? AND processed_at IS NULL")
        .bind(at)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Counts an event that changed nothing.
pub async fn count_deduplicated(conn: &mut SqliteConnection, source_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE alert_sources SET events_deduplicated = events_deduplicated + 1 WHERE id = ?")
        .bind(source_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// A group raised as an incident, with that incident's state.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct GroupRow {
    /// Row id.
    pub id: i64,
    /// Its source.
    pub source_id: i64,
    /// The incident.
    pub ticket_id: i64,
    /// The incident's state.
    #[sqlx(try_from = "String")]
    pub state: TicketState,
}

/// The latest group of `key` in a source (open or not).
pub async fn latest_group(
    conn: &mut SqliteConnection,
    source_id: i64,
    key: &str,
) -> Result<Option<GroupRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT g.id, g.source_id, g.ticket_id, t.state FROM alert_groups g JOIN tickets t ON t.id = g.ticket_id
         WHERE g.source_id = ? AND g.group_key = ? ORDER BY g.id DESC LIMIT 1",
    )
    .bind(source_id)
    .bind(key)
    .fetch_optional(conn)
    .await
}

/// The group an incident was raised for.
pub async fn group_of_ticket(conn: &mut SqliteConnection, ticket_id: i64) -> Result<Option<GroupRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT g.id, g.source_id, g.ticket_id, t.state FROM alert_groups g JOIN tickets t ON t.id = g.ticket_id
         WHERE g.ticket_id = ? ORDER BY g.id DESC LIMIT 1",
    )
    .bind(ticket_id)
    .fetch_optional(conn)
    .await
}

/// Starts a group for a new incident.
pub async fn insert_group(
    conn: &mut SqliteConnection,
    source_id: i64,
    key: &str,
    ticket_id: i64,
    at: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO alert_groups (source_id, group_key, ticket_id, created_at) VALUES (?, ?, ?, ?) RETURNING id",
    )
    .bind(source_id)
    .bind(key)
    .bind(ticket_id)
    .bind(at)
    .fetch_one(conn)
    .await
}

/// A group's tracked alerts.
pub async fn list_instances(conn: &mut SqliteConnection, group_id: i64) -> Result<Vec<Tracked>, sqlx::Error> {
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT fingerprint, starts_at, status, name FROM alert_instances WHERE group_id = ? ORDER BY fingerprint",
    )
    .bind(group_id)
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(fingerprint, starts_at, status, name)| {
            let status = AlertStatus::parse(&status)
                .ok_or_else(|| sqlx::Error::Decode(format!("unknown alert status `{status}`").into()))?;
            Ok(Tracked {
                fingerprint,
                starts_at,
                status,
                name,
            })
        })
        .collect()
}

/// Writes tracked alerts (new or changed).
pub async fn upsert_instances(conn: &mut SqliteConnection, group_id: i64, rows: &[Tracked]) -> Result<(), sqlx::Error> {
    for chunk in rows.chunks(super::ROWS_PER_INSERT) {
        let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT INTO alert_instances (group_id, fingerprint, starts_at, status, name) ",
        );
        q.push_values(chunk, |mut b, a| {
            b.push_bind(group_id)
                .push_bind(&a.fingerprint)
                .push_bind(&a.starts_at)
                .push_bind(a.status.as_str())
                .push_bind(&a.name);
        });
        q.push(
            " ON CONFLICT (group_id, fingerprint) DO UPDATE SET starts_at = excluded.starts_at,
               status = excluded.status, name = excluded.name",
        );
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Sets what a monitored incident's card says of its source, alerts and links.
pub async fn set_ticket_alerting(
    conn: &mut SqliteConnection,
    ticket_id: i64,
    source: &str,
    status: Option<&str>,
    links: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE tickets SET alert_source = ?, alert_status = ?, links = coalesce(?, links) WHERE id = ?")
        .bind(source)
        .bind(status)
        .bind(links)
        .bind(ticket_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Remembers the name of the alert that raised an incident.
pub async fn set_ticket_alert_name(conn: &mut SqliteConnection, ticket_id: i64, name: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE tickets SET alert_name = ? WHERE id = ?")
        .bind(name)
        .bind(ticket_id)
        .execute(conn)
        .await?;
    Ok(())
}
