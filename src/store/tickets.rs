//! Tickets, their numbering and their comments.

use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

use crate::domain::{Priority, Stage, TicketKind};

/// A stored ticket (request, incident, problem or change).
#[derive(Debug, Clone)]
pub struct TicketRow {
    /// Row id; never shown to people (they see `REQ-7`).
    pub id: i64,
    /// Tenant.
    pub guild_id: i64,
    /// What kind of ticket; a stored name that does not decode fails the read (never a
    /// fallback).
    pub kind: TicketKind,
    /// Number within guild and kind.
    pub number: i64,
    /// Summary or title.
    pub title: String,
    /// Longer description.
    pub details: Option<String>,
    /// Catalog item (requests).
    pub catalog_item: Option<String>,
    /// Affected service (incidents).
    pub service: Option<String>,
    /// Where it stands; a stored name that is not a state of its kind fails the read.
    pub state: Stage,
    /// P1..P5; a stored number outside 1..=5 fails the read.
    pub priority: Priority,
    /// Incident impact.
    pub impact: Option<String>,
    /// Incident urgency.
    pub urgency: Option<String>,
    /// Who raised it.
    pub requester_id: i64,
    /// Who works it.
    pub assignee_id: Option<i64>,
    /// Why on hold.
    pub hold_reason: Option<String>,
    /// The latest resolution note.
    pub resolution_note: Option<String>,
    /// Opened (unix ms).
    pub created_at: i64,
    /// Last change (unix ms).
    pub updated_at: i64,
    /// First agent action (unix ms).
    pub first_response_at: Option<i64>,
    /// Last resolution (unix ms).
    pub resolved_at: Option<i64>,
    /// Closed (unix ms).
    pub closed_at: Option<i64>,
    /// Channel of the card post.
    pub card_channel_id: Option<i64>,
    /// Message id of the card post.
    pub card_message_id: Option<i64>,
    /// The monitoring source that raised it (its reporter), if any.
    pub alert_source: Option<String>,
    /// What the card says of its alerts ("2 of 3 firing: …").
    pub alert_status: Option<String>,
    /// The card's link buttons, JSON `[[label, url], …]`.
    pub links: Option<String>,
    /// The incident this one duplicates.
    pub parent_id: Option<i64>,
    /// When it was declared a major incident.
    pub major_at: Option<i64>,
    /// A major incident's bridge thread (on its card).
    pub thread_id: Option<i64>,
    /// A major incident's latest status, shown on its pinned card.
    pub status_line: Option<String>,
    /// Shown in a digest instead of a card of its own (the channel was behind).
    pub in_digest: bool,
    /// The articles its card offers agents ("KB-3 · title" lines).
    pub kb_suggestions: Option<String>,
    /// The problem an incident belongs to.
    pub problem_id: Option<i64>,
    /// A problem's root cause.
    pub cause: Option<String>,
    /// A problem's workaround.
    pub workaround: Option<String>,
    /// A problem's fix.
    pub fix: Option<String>,
    /// The alert that raised an incident (`alertname`), if monitoring did.
    pub alert_name: Option<String>,
}

impl TicketRow {
    /// Its place in a channel's delivery queue (the priority's number: P1 first).
    pub fn rank(&self) -> i64 {
        i64::from(self.priority.number())
    }
}

/// Decoded by hand because a row's state is read in the light of its kind.
impl<'r> sqlx::FromRow<'r, SqliteRow> for TicketRow {
    fn from_row(row: &'r SqliteRow) -> sqlx::Result<TicketRow> {
        let bad = |index: &str, e: Box<dyn std::error::Error + Send + Sync>| sqlx::Error::ColumnDecode {
            index: index.to_owned(),
            source: e,
        };
        let kind = TicketKind::try_from(row.try_get::<String, _>("kind")?).map_err(|e| bad("kind", e.into()))?;
        let state = Stage::decode(kind, row.try_get("state")?).map_err(|e| bad("state", e.into()))?;
        let priority = Priority::try_from(row.try_get::<i64, _>("priority")?).map_err(|e| bad("priority", e.into()))?;
        Ok(TicketRow {
            kind,
            state,
            priority,
            id: row.try_get("id")?,
            guild_id: row.try_get("guild_id")?,
            number: row.try_get("number")?,
            title: row.try_get("title")?,
            details: row.try_get("details")?,
            catalog_item: row.try_get("catalog_item")?,
            service: row.try_get("service")?,
            impact: row.try_get("impact")?,
            urgency: row.try_get("urgency")?,
            requester_id: row.try_get("requester_id")?,
            assignee_id: row.try_get("assignee_id")?,
            hold_reason: row.try_get("hold_reason")?,
            resolution_note: row.try_get("resolution_note")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
            first_response_at: row.try_get("first_response_at")?,
            resolved_at: row.try_get("resolved_at")?,
            closed_at: row.try_get("closed_at")?,
            card_channel_id: row.try_get("card_channel_id")?,
            card_message_id: row.try_get("card_message_id")?,
            alert_source: row.try_get("alert_source")?,
            alert_status: row.try_get("alert_status")?,
            links: row.try_get("links")?,
            parent_id: row.try_get("parent_id")?,
            major_at: row.try_get("major_at")?,
            thread_id: row.try_get("thread_id")?,
            status_line: row.try_get("status_line")?,
            in_digest: row.try_get("in_digest")?,
            kb_suggestions: row.try_get("kb_suggestions")?,
            problem_id: row.try_get("problem_id")?,
            cause: row.try_get("cause")?,
            workaround: row.try_get("workaround")?,
            fix: row.try_get("fix")?,
            alert_name: row.try_get("alert_name")?,
        })
    }
}

/// What a new ticket starts with.
#[derive(Debug, Clone)]
pub struct NewTicket<'a> {
    /// Tenant.
    pub guild_id: i64,
    /// What kind of ticket.
    pub kind: TicketKind,
    /// Summary or title.
    pub title: &'a str,
    /// Description.
    pub details: Option<&'a str>,
    /// Catalog item.
    pub catalog_item: Option<&'a str>,
    /// Affected service.
    pub service: Option<&'a str>,
    /// Where it starts.
    pub state: Stage,
    /// Its priority.
    pub priority: Priority,
    /// Incident impact.
    pub impact: Option<&'a str>,
    /// Incident urgency.
    pub urgency: Option<&'a str>,
    /// Who raised it.
    pub requester_id: i64,
    /// Now (unix ms).
    pub at: i64,
    /// Where its card will be posted, if known when it is raised.
    pub card_channel_id: Option<i64>,
}

impl TicketRow {
    /// A new ticket as it will be stored, given its id and number (from [`super::Ids`]):
    /// everything not in `t` starts empty, as the table's defaults say.
    pub fn opened(id: i64, number: i64, t: &NewTicket<'_>) -> TicketRow {
        TicketRow {
            id,
            guild_id: t.guild_id,
            kind: t.kind,
            number,
            title: t.title.to_owned(),
            details: t.details.map(str::to_owned),
            catalog_item: t.catalog_item.map(str::to_owned),
            service: t.service.map(str::to_owned),
            state: t.state,
            priority: t.priority,
            impact: t.impact.map(str::to_owned),
            urgency: t.urgency.map(str::to_owned),
            requester_id: t.requester_id,
            assignee_id: None,
            hold_reason: None,
            resolution_note: None,
            created_at: t.at,
            updated_at: t.at,
            first_response_at: None,
            resolved_at: None,
            closed_at: None,
            card_channel_id: t.card_channel_id,
            card_message_id: None,
            alert_source: None,
            alert_status: None,
            links: None,
            parent_id: None,
            major_at: None,
            thread_id: None,
            status_line: None,
            in_digest: false,
            kb_suggestions: None,
            problem_id: None,
            cause: None,
            workaround: None,
            fix: None,
            alert_name: None,
        }
    }
}

/// A ticket a use-case created, with its first SLA clocks, not yet written: ids and number
/// come from [`super::Ids`], so the card and timers can name them before SQLite sees the row.
#[derive(Debug, Clone)]
pub struct Opened {
    /// The row, as it will be stored.
    pub ticket: TicketRow,
    /// Its clocks (their `ticket_id` is the ticket's).
    pub clocks: Vec<super::ClockRow>,
}

/// The statements that store `opened` onto `q` (each ending with `;`): the counters moved on,
/// the ticket rows, their clocks — one statement of each for all of them.
pub(super) fn push_opened<'a>(q: &mut sqlx::QueryBuilder<'a, sqlx::Sqlite>, opened: &[&'a Opened]) {
    if opened.is_empty() {
        return;
    }
    q.push("INSERT INTO ticket_counters (guild_id, kind, last) ");
    q.push_values(opened.iter().copied(), |mut b, o| {
        b.push_bind(o.ticket.guild_id)
            .push_bind(o.ticket.kind.as_str())
            .push_bind(o.ticket.number);
    });
    q.push(" ON CONFLICT (guild_id, kind) DO UPDATE SET last = max(last, excluded.last);\n");
    q.push(
        "INSERT INTO tickets (id, guild_id, kind, number, title, details, catalog_item, service, state, priority,
             impact, urgency, requester_id, assignee_id, hold_reason, resolution_note, created_at, updated_at,
             first_response_at, resolved_at, closed_at, card_channel_id, card_message_id, alert_source,
             alert_status, links, parent_id, major_at, thread_id, status_line, in_digest, kb_suggestions,
             problem_id, cause, workaround, fix, alert_name) ",
    );
    q.push_values(opened.iter().copied(), |mut b, o| {
        let t = &o.ticket;
        b.push_bind(t.id)
            .push_bind(t.guild_id)
            .push_bind(t.kind.as_str())
            .push_bind(t.number)
            .push_bind(t.title.as_str())
            .push_bind(t.details.as_deref())
            .push_bind(t.catalog_item.as_deref())
            .push_bind(t.service.as_deref())
            .push_bind(t.state.as_str())
            .push_bind(i64::from(t.priority.number()))
            .push_bind(t.impact.as_deref())
            .push_bind(t.urgency.as_deref())
            .push_bind(t.requester_id)
            .push_bind(t.assignee_id)
            .push_bind(t.hold_reason.as_deref())
            .push_bind(t.resolution_note.as_deref())
            .push_bind(t.created_at)
            .push_bind(t.updated_at)
            .push_bind(t.first_response_at)
            .push_bind(t.resolved_at)
            .push_bind(t.closed_at)
            .push_bind(t.card_channel_id)
            .push_bind(t.card_message_id)
            .push_bind(t.alert_source.as_deref())
            .push_bind(t.alert_status.as_deref())
            .push_bind(t.links.as_deref())
            .push_bind(t.parent_id)
            .push_bind(t.major_at)
            .push_bind(t.thread_id)
            .push_bind(t.status_line.as_deref())
            .push_bind(t.in_digest)
            .push_bind(t.kb_suggestions.as_deref())
            .push_bind(t.problem_id)
            .push_bind(t.cause.as_deref())
            .push_bind(t.workaround.as_deref())
            .push_bind(t.fix.as_deref())
            .push_bind(t.alert_name.as_deref());
    });
    q.push(";\n");
    let clocks: Vec<&super::ClockRow> = opened.iter().flat_map(|o| &o.clocks).collect();
    if !clocks.is_empty() {
        super::sla::push_clock_rows(q, clocks);
        q.push(";\n");
    }
}

/// Stores `opened` (tickets numbered in memory, with their clocks) in one round trip.
pub async fn insert_opened(conn: &mut SqliteConnection, opened: &[Opened]) -> Result<(), sqlx::Error> {
    let opened: Vec<&Opened> = opened.iter().collect();
    let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new("");
    push_opened(&mut q, &opened);
    q.build().execute(conn).await?;
    Ok(())
}

/// Takes the next number of a counter the writer does not keep in memory (knowledge articles,
/// `kb`: KB-1, KB-2 …). Tickets are numbered by [`super::Ids`] instead. Call inside the
/// transaction that inserts the numbered row.
pub async fn next_ticket_number(conn: &mut SqliteConnection, guild_id: i64, kind: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO ticket_counters (guild_id, kind, last) VALUES (?, ?, 1)
         ON CONFLICT (guild_id, kind) DO UPDATE SET last = last + 1
         RETURNING last",
    )
    .bind(guild_id)
    .bind(kind)
    .fetch_one(conn)
    .await
}

/// Finds a ticket by its human id, inside one guild only.
pub async fn find_ticket(
    conn: &mut SqliteConnection,
    guild_id: i64,
    kind: &str,
    number: i64,
) -> Result<Option<TicketRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        ticket_columns!(),
        " FROM tickets WHERE guild_id = ? AND kind = ? AND number = ?"
    ))
    .bind(guild_id)
    .bind(kind)
    .bind(number)
    .fetch_optional(conn)
    .await
}

/// Loads a ticket by row id.
pub async fn get_ticket(conn: &mut SqliteConnection, id: i64) -> Result<TicketRow, sqlx::Error> {
    sqlx::query_as(concat!("SELECT ", ticket_columns!(), " FROM tickets WHERE id = ?"))
        .bind(id)
        .fetch_one(conn)
        .await
}

/// Tickets by row id (those that exist), in no particular order.
pub async fn get_tickets(conn: &mut SqliteConnection, ids: &[i64]) -> Result<Vec<TicketRow>, sqlx::Error> {
    super::rows_by_id(conn, "tickets", ticket_columns!(), ids).await
}

/// Writes back the mutable fields of a ticket.
pub async fn update_ticket(conn: &mut SqliteConnection, t: &TicketRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE tickets SET state = ?, priority = ?, assignee_id = ?, hold_reason = ?, resolution_note = ?,
                updated_at = ?, first_response_at = ?, resolved_at = ?, closed_at = ?
         WHERE id = ?",
    )
    .bind(t.state.as_str())
    .bind(i64::from(t.priority.number()))
    .bind(t.assignee_id)
    .bind(&t.hold_reason)
    .bind(&t.resolution_note)
    .bind(t.updated_at)
    .bind(t.first_response_at)
    .bind(t.resolved_at)
    .bind(t.closed_at)
    .bind(t.id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Remembers where the ticket's card was posted.
pub async fn set_ticket_card(
    conn: &mut SqliteConnection,
    ticket_id: i64,
    channel_id: i64,
    message_id: Option<i64>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE tickets SET card_channel_id = ?, card_message_id = ? WHERE id = ?")
        .bind(channel_id)
        .bind(message_id)
        .bind(ticket_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The open-state names, for queries.
const OPEN_STATES: &str =
    "('new', 'in progress', 'on hold', 'triggered', 'acknowledged', 'investigating', 'known-error')";

/// A requester's tickets that are not closed or cancelled, newest first.
pub async fn list_requester_tickets(
    conn: &mut SqliteConnection,
    guild_id: i64,
    requester_id: i64,
    limit: i64,
) -> Result<Vec<TicketRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        ticket_columns!(),
        " FROM tickets
         WHERE guild_id = ? AND requester_id = ? AND state NOT IN ('closed', 'cancelled')
         ORDER BY created_at DESC LIMIT ?"
    ))
    .bind(guild_id)
    .bind(requester_id)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// Filter for the agents' queue.
#[derive(Debug, Clone, Copy, Default)]
pub struct QueueFilter<'a> {
    /// Only this kind.
    pub kind: Option<&'a str>,
    /// Only unassigned tickets.
    pub unassigned: bool,
    /// Only tickets assigned to this user.
    pub assignee: Option<i64>,
    /// Only tickets with a running clock already warned or breached.
    pub breaching: bool,
}

/// Open tickets of a guild for the queue: soonest SLA due first (tickets with no running clock
/// last), then priority, then age.
pub async fn list_queue(
    conn: &mut SqliteConnection,
    guild_id: i64,
    filter: QueueFilter<'_>,
    limit: i64,
) -> Result<Vec<TicketRow>, sqlx::Error> {
    let sql = format!(
        concat!(
            "SELECT ",
            ticket_columns!(),
            " FROM tickets t
         LEFT JOIN (SELECT ticket_id, min(due_at) AS due, max(warned_at IS NOT NULL OR breached_at IS NOT NULL) AS hot
                    FROM sla_clocks WHERE guild_id = ? AND stopped_at IS NULL GROUP BY ticket_id) c
                ON c.ticket_id = t.id
         WHERE t.guild_id = ? AND t.state IN {OPEN_STATES}
           AND (? IS NULL OR t.kind = ?)
           AND (? = 0 OR t.assignee_id IS NULL)
           AND (? IS NULL OR t.assignee_id = ?)
           AND (? = 0 OR c.hot = 1)
         ORDER BY c.due IS NULL, c.due, t.priority, t.created_at LIMIT ?"
        ),
        OPEN_STATES = OPEN_STATES
    );
    sqlx::query_as(&sql)
        .bind(guild_id)
        .bind(guild_id)
        .bind(filter.kind)
        .bind(filter.kind)
        .bind(filter.unassigned)
        .bind(filter.assignee)
        .bind(filter.assignee)
        .bind(filter.breaching)
        .bind(limit)
        .fetch_all(conn)
        .await
}

/// Adds a comment to a ticket.
pub async fn insert_comment(
    conn: &mut SqliteConnection,
    guild_id: i64,
    ticket_id: i64,
    author_id: i64,
    body: &str,
    by_agent: bool,
    at: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO comments (guild_id, ticket_id, author_id, body, by_agent, created_at)
         VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(guild_id)
    .bind(ticket_id)
    .bind(author_id)
    .bind(body)
    .bind(by_agent)
    .bind(at)
    .fetch_one(conn)
    .await
}

/// Tickets for id autocomplete: this guild, optionally one requester's, not finished, whose
/// number starts with `digits` or whose title contains `words`. Most recent first.
pub async fn search_tickets(
    conn: &mut SqliteConnection,
    guild_id: i64,
    requester_id: Option<i64>,
    kind: Option<&str>,
    digits: &str,
    words: &str,
    limit: i64,
) -> Result<Vec<TicketRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        ticket_columns!(),
        " FROM tickets
         WHERE guild_id = ? AND state NOT IN ('closed', 'cancelled')
           AND (? IS NULL OR requester_id = ?)
           AND (? IS NULL OR kind = ?)
           AND (? = '' OR CAST(number AS TEXT) LIKE ? || '%')
           AND (? = '' OR instr(lower(title), lower(?)) > 0)
         ORDER BY updated_at DESC LIMIT ?"
    ))
    .bind(guild_id)
    .bind(requester_id)
    .bind(requester_id)
    .bind(kind)
    .bind(kind)
    .bind(digits)
    .bind(digits)
    .bind(words)
    .bind(words)
    .bind(limit)
    .fetch_all(conn)
    .await
}
