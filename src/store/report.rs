//! What `/report` reads: per kind and period, tickets opened, first answered, resolved and
//! closed, and SLA clocks settled; every query is bounded by guild and period on an index
//! (`migrations/…_index_reports.sql`).

use sqlx::SqliteConnection;

/// A kind's figures over `[from, to)` (unix ms).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KindFigures {
    /// Tickets created in the period.
    pub opened: i64,
    /// Tickets whose (latest) resolution falls in the period.
    pub resolved: i64,
    /// Mean seconds from creation to first response, of tickets first answered in the period.
    pub mean_response_secs: Option<f64>,
    /// Mean seconds from creation to resolution, of tickets resolved in the period.
    pub mean_resolution_secs: Option<f64>,
    /// SLA clocks settled in the period without a breach (stopped in time).
    pub clocks_met: i64,
    /// SLA clocks breached in the period.
    pub clocks_missed: i64,
}

/// The figures of one kind (`request`, `incident`) of a guild over `[from, to)`.
pub async fn kind_figures(
    conn: &mut SqliteConnection,
    guild_id: i64,
    kind: &str,
    from: i64,
    to: i64,
) -> Result<KindFigures, sqlx::Error> {
    // One statement (one round trip); each subquery reads its own index.
    let row: (i64, i64, Option<f64>, i64, Option<f64>, i64, i64) = sqlx::query_as(
        "SELECT
           (SELECT count(*) FROM tickets WHERE guild_id = ?1 AND kind = ?2 AND created_at >= ?3 AND created_at < ?4),
           (SELECT count(*) FROM tickets WHERE guild_id = ?1 AND kind = ?2 AND first_response_at IS NOT NULL
              AND first_response_at >= ?3 AND first_response_at < ?4),
           (SELECT avg(first_response_at - created_at) / 1000.0 FROM tickets WHERE guild_id = ?1 AND kind = ?2
              AND first_response_at IS NOT NULL AND first_response_at >= ?3 AND first_response_at < ?4),
           (SELECT count(*) FROM tickets WHERE guild_id = ?1 AND kind = ?2 AND resolved_at IS NOT NULL
              AND resolved_at >= ?3 AND resolved_at < ?4),
           (SELECT avg(resolved_at - created_at) / 1000.0 FROM tickets WHERE guild_id = ?1 AND kind = ?2
              AND resolved_at IS NOT NULL AND resolved_at >= ?3 AND resolved_at < ?4),
           (SELECT count(*) FROM sla_clocks c JOIN tickets t ON t.id = c.ticket_id
              WHERE c.guild_id = ?1 AND t.kind = ?2 AND c.breached_at IS NULL AND c.stopped_at IS NOT NULL
                AND coalesce(c.breached_at, c.stopped_at) IS NOT NULL
                AND coalesce(c.breached_at, c.stopped_at) >= ?3 AND coalesce(c.breached_at, c.stopped_at) < ?4),
           (SELECT count(*) FROM sla_clocks c JOIN tickets t ON t.id = c.ticket_id
              WHERE c.guild_id = ?1 AND t.kind = ?2 AND c.breached_at IS NOT NULL
                AND coalesce(c.breached_at, c.stopped_at) IS NOT NULL
                AND coalesce(c.breached_at, c.stopped_at) >= ?3 AND coalesce(c.breached_at, c.stopped_at) < ?4)",
    )
    .bind(guild_id)
    .bind(kind)
    .bind(from)
    .bind(to)
    .fetch_one(conn)
    .await?;
    let (opened, responded, mean_response, resolved, mean_resolution, met, missed) = row;
    Ok(KindFigures {
        opened,
        resolved,
        mean_response_secs: mean_response.filter(|_| responded > 0),
        mean_resolution_secs: mean_resolution.filter(|_| resolved > 0),
        clocks_met: met,
        clocks_missed: missed,
    })
}

/// The chart counts tickets per quarter hour, as `(quarter start in unix ms, count)`. Every
/// time zone's offset is a whole number of quarter hours, so quarters fall cleanly into local
/// days, and a period of a million tickets is at most 96 rows a day instead of a million.
const QUARTER_MS: i64 = 15 * 60 * 1000;

/// Which instant of a ticket the chart counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// When it was created.
    Opened,
    /// When it was (last) resolved.
    Resolved,
}

/// Requests and incidents of a guild opened (or resolved) in `[from, to)`, counted per quarter
/// hour.
pub async fn count_by_quarter(
    conn: &mut SqliteConnection,
    guild_id: i64,
    counted: Counted,
    from: i64,
    to: i64,
) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    // A column from a closed set, never from input.
    let column = match counted {
        Counted::Opened => "created_at",
        Counted::Resolved => "resolved_at",
    };
    sqlx::query_as(&format!(
        "SELECT {column} / ?4 * ?4, count(*) FROM tickets
         WHERE guild_id = ?1 AND kind IN ('request', 'incident') AND {column} IS NOT NULL
           AND {column} >= ?2 AND {column} < ?3
         GROUP BY 1"
    ))
    .bind(guild_id)
    .bind(from)
    .bind(to)
    .bind(QUARTER_MS)
    .fetch_all(conn)
    .await
}

/// Changes of a guild closed in `[from, to)`, counted by final state and outcome:
/// `(state, outcome, count)` — completed with its outcome, or rejected, expired, cancelled.
pub async fn list_change_closings(
    conn: &mut SqliteConnection,
    guild_id: i64,
    from: i64,
    to: i64,
) -> Result<Vec<(String, Option<String>, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT state, outcome, count(*) FROM tickets
         WHERE guild_id = ? AND kind = 'change' AND closed_at IS NOT NULL AND closed_at >= ? AND closed_at < ?
         GROUP BY state, outcome ORDER BY state, outcome",
    )
    .bind(guild_id)
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await
}

/// Major incidents declared and duplicates linked in a guild over `[from, to)`.
pub async fn outage_figures(
    conn: &mut SqliteConnection,
    guild_id: i64,
    from: i64,
    to: i64,
) -> Result<(i64, i64), sqlx::Error> {
    sqlx::query_as(
        "SELECT
           (SELECT count(*) FROM tickets INDEXED BY tickets_major WHERE guild_id = ?1 AND major_at >= ?2 AND major_at < ?3),
           (SELECT count(*) FROM audit_log WHERE guild_id = ?1 AND action = 'link' AND at >= ?2 AND at < ?3)",
    )
    .bind(guild_id)
    .bind(from)
    .bind(to)
    .fetch_one(conn)
    .await
}
