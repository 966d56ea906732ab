//! SQLite through sqlx: connecting, migrating, and every query the desk runs.
//!
//! Functions take `&mut SqliteConnection` so the service can run several of them in one
//! transaction. Nothing here decides anything; it stores what the service computed.

/// The columns a [`TicketRow`] reads, for its `SELECT`s: the table has more (paging, …), and
/// sqlx copies every selected value of every row, so `SELECT *` cost a third more per ticket.
macro_rules! ticket_columns {
    () => {
        "id, guild_id, kind, number, title, details, catalog_item, service, state, priority, impact, urgency, requester_id, assignee_id, hold_reason, resolution_note, created_at, updated_at, first_response_at, resolved_at, closed_at, card_channel_id, card_message_id, alert_source, alert_status, links, parent_id, major_at, thread_id, status_line, in_digest, kb_suggestions, problem_id, cause, workaround, fix, alert_name"
    };
}

mod alerts;
mod changes;
mod ids;
mod knowledge;
mod major;
mod oncall;
mod ops;
mod outbox;
mod report;
mod settings;
mod sla;
mod tickets;
mod writer;

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
pub use sqlx::{SqliteConnection, SqlitePool};

pub use alerts::*;
pub use changes::*;
pub use ids::Ids;
pub use knowledge::*;
pub use major::*;
pub use oncall::*;
pub use ops::*;
pub use outbox::*;
pub use report::*;
pub use settings::*;
pub use sla::*;
pub use tickets::*;
pub use writer::{Applied, Turn, Writer, MAX_BATCH, RELEASE};

/// How long a connection waits for a lock held by another before failing.
pub const BUSY_TIMEOUT_SECS: u64 = 10;

/// Embedded migrations from `migrations/`.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Opens (creating if missing) the database at `url` with WAL, `synchronous=FULL`, foreign keys
/// and a busy timeout, and applies the migrations.
pub async fn connect(url: &str) -> Result<SqlitePool, sqlx::Error> {
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(BUSY_TIMEOUT_SECS));
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        .min_connections(1)
        .connect_with(options)
        .await?;
    MIGRATOR.run(&pool).await?;
    widen_ticket_kinds(&pool).await?;
    Ok(pool)
}

/// The CHECK on `tickets.kind` as the first migration wrote it, and as it is now.
const KINDS_BEFORE: &str = "CHECK (kind IN ('request', 'incident', 'change'))";
const KINDS_NOW: &str = "CHECK (kind IN ('request', 'incident', 'change', 'problem'))";

/// Lets `tickets.kind` be `problem`. SQLite changes a CHECK only by rebuilding the table, and a
/// table other tables refer to is rebuilt with foreign keys off — which a migration's transaction
/// cannot switch — so this runs after the migrations, once, on one connection: the table's own
/// SQL with the CHECK widened, every row copied, its indexes made again, every reference checked
/// before the commit. A database rebuilt already is left alone.
async fn widen_ticket_kinds(pool: &SqlitePool) -> Result<(), sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let table: String = sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'tickets'")
        .fetch_one(&mut *conn)
        .await?;
    if !table.contains(KINDS_BEFORE) {
        return Ok(());
    }
    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tickets' AND sql IS NOT NULL",
    )
    .fetch_all(&mut *conn)
    .await?;
    let columns: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info('tickets')")
        .fetch_all(&mut *conn)
        .await?;
    let columns = columns.join(", ");
    // SQLite keeps a renamed table's name quoted in its SQL.
    let rebuilt = table
        .replacen("CREATE TABLE \"tickets\"", "CREATE TABLE tickets_rebuilt", 1)
        .replacen("CREATE TABLE tickets ", "CREATE TABLE tickets_rebuilt ", 1)
        .replace(KINDS_BEFORE, KINDS_NOW);
    sqlx::query("PRAGMA foreign_keys = OFF").execute(&mut *conn).await?;
    let done = async {
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        sqlx::query(&rebuilt).execute(&mut *tx).await?;
        sqlx::query(&format!(
            "INSERT INTO tickets_rebuilt ({columns}) SELECT {columns} FROM tickets"
        ))
        .execute(&mut *tx)
        .await?;
        sqlx::query("DROP TABLE tickets").execute(&mut *tx).await?;
        sqlx::query("ALTER TABLE tickets_rebuilt RENAME TO tickets")
            .execute(&mut *tx)
            .await?;
        for index in &indexes {
            sqlx::query(index).execute(&mut *tx).await?;
        }
        let broken: Vec<(String,)> = sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check")
            .fetch_all(&mut *tx)
            .await?;
        if !broken.is_empty() {
            return Err(sqlx::Error::Protocol(format!(
                "rebuilding tickets would break references from {broken:?}; nothing was changed"
            )));
        }
        tx.commit().await
    }
    .await;
    sqlx::query("PRAGMA foreign_keys = ON").execute(&mut *conn).await?;
    done
}

/// An interaction id to claim as a use-case begins (see [`Writer::turn_claiming`]).
#[derive(Debug, Clone, Copy)]
pub struct Claim {
    /// Discord's interaction id.
    pub interaction_id: i64,
    /// Its guild.
    pub guild_id: Option<i64>,
    /// Who sent it.
    pub user_id: i64,
    /// Now (unix ms).
    pub at: i64,
}

/// Claims an interaction id (binds: id, guild, user, received at): a row comes back only when it
/// was not claimed before.
const CLAIM_SQL: &str = "INSERT INTO interactions (id, guild_id, user_id, received_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (id) DO NOTHING RETURNING id";

/// Records that an interaction is being applied. `false` when it was applied before.
pub async fn claim_interaction(
    conn: &mut SqliteConnection,
    interaction_id: i64,
    guild_id: Option<i64>,
    user_id: i64,
    at: i64,
) -> Result<bool, sqlx::Error> {
    let claim = Claim {
        interaction_id,
        guild_id,
        user_id,
        at,
    };
    claim_with(conn, CLAIM_SQL, &claim).await
}

/// Runs `sql` (ending with [`CLAIM_SQL`]) for `claim`; `true` if the id was fresh.
async fn claim_with(conn: &mut SqliteConnection, sql: &str, claim: &Claim) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query_scalar::<_, i64>(sql)
        .bind(claim.interaction_id)
        .bind(claim.guild_id)
        .bind(claim.user_id)
        .bind(claim.at)
        .fetch_optional(conn)
        .await?
        .is_some())
}

/// Counts a re-delivery of an interaction that was applied already (for operators and tests).
pub async fn note_redelivery(conn: &mut SqliteConnection, interaction_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE interactions SET redeliveries = redeliveries + 1 WHERE id = ?")
        .bind(interaction_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// One audit row.
#[derive(Debug, Clone, Default)]
pub struct NewAudit<'a> {
    /// Tenant.
    pub guild_id: i64,
    /// The ticket concerned, if any.
    pub ticket_id: Option<i64>,
    /// Who did it; `None` for the desk itself.
    pub actor_id: Option<i64>,
    /// When.
    pub at: i64,
    /// What: `created`, `state`, `assignee`, `priority`, `comment`, `setting` …
    pub action: &'a str,
    /// Value before.
    pub old_value: Option<String>,
    /// Value after.
    pub new_value: Option<String>,
    /// Free text (a note, a reason).
    pub detail: Option<String>,
    /// The interaction that caused it.
    pub interaction_id: Option<i64>,
    /// The monitoring source that did it (then `actor_id` is `None`).
    pub actor_source: Option<String>,
}

/// Appends an audit row.
pub async fn insert_audit(conn: &mut SqliteConnection, a: &NewAudit<'_>) -> Result<(), sqlx::Error> {
    insert_audits(conn, std::slice::from_ref(a)).await
}

/// Most rows one multi-row `INSERT` carries (SQLite allows 32,766 bound values).
pub const ROWS_PER_INSERT: usize = 500;

/// Appends audit rows, in order, one statement per [`ROWS_PER_INSERT`]. A use-case writes all
/// its rows at once: each statement is a round trip to SQLite's thread, and under load those
/// round trips, not SQLite, were what the writer spent its time on.
pub async fn insert_audits(conn: &mut SqliteConnection, rows: &[NewAudit<'_>]) -> Result<(), sqlx::Error> {
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new("");
        push_audits(&mut q, chunk);
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// What a use-case writes as it ends, after its own statements: as data, so the writer can
/// write many use-cases' together.
#[derive(Debug, Default)]
pub struct Effects {
    /// Tickets it created (numbered in memory), with their first clocks.
    pub opened: Vec<Opened>,
    /// Incidents' paging state to store.
    pub paging: Vec<(i64, Paging)>,
    /// Audit rows, in order.
    pub audits: Vec<NewAudit<'static>>,
    /// Outbox messages, in order.
    pub outbox: Vec<NewOutbox>,
    /// Keys of timers to cancel.
    pub cancel: Vec<String>,
    /// Timers to schedule (or move).
    pub set: Vec<NewTimer>,
}

impl Effects {
    /// Every list fits one statement.
    fn fits(&self) -> bool {
        let lists = [
            self.opened.len(),
            self.paging.len(),
            self.audits.len(),
            self.outbox.len(),
            self.cancel.len(),
            self.set.len(),
        ];
        lists.iter().all(|n| *n <= ROWS_PER_INSERT)
    }
}

/// Writes a use-case's effects and releases its savepoint ([`RELEASE`]; the turn then ends with
/// [`Turn::finish_released`]): in one round trip to SQLite (one query of up to eight statements)
/// when each list fits one statement, as it nearly always does; else statement by statement.
pub async fn write_effects(conn: &mut SqliteConnection, e: &Effects) -> Result<(), sqlx::Error> {
    if !e.fits() {
        for chunk in e.opened.chunks(ROWS_PER_INSERT) {
            insert_opened(&mut *conn, chunk).await?;
        }
        for chunk in e.paging.chunks(ROWS_PER_INSERT) {
            let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new("");
            oncall::push_paging_updates(&mut q, chunk.iter().map(|(id, p)| (*id, p)));
            q.build().execute(&mut *conn).await?;
        }
        insert_audits(&mut *conn, &e.audits).await?;
        insert_outboxes(&mut *conn, &e.outbox).await?;
        delete_timers(&mut *conn, &e.cancel).await?;
        upsert_timers(&mut *conn, &e.set).await?;
        sqlx::query(RELEASE).execute(conn).await?;
        return Ok(());
    }
    let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new("");
    push_effects(&mut q, &[e]);
    q.push(RELEASE);
    q.build().execute(conn).await?;
    Ok(())
}

/// The statements that write `all` (in order) onto `q`, each ending with `;`: one per table
/// for the new tickets, clocks, audit rows and messages of all of them; paging and timers one
/// statement per use-case, so a later use-case's timer change wins as it would alone.
fn push_effects<'a>(q: &mut sqlx::QueryBuilder<'a, sqlx::Sqlite>, all: &[&'a Effects]) {
    let opened: Vec<&Opened> = all.iter().flat_map(|e| &e.opened).collect();
    push_opened(q, &opened);
    // Paging, then timers: one statement each for all when no two use-cases name the same
    // ticket or key (as in a storm of new incidents); else one per use-case, in order, so a
    // later use-case's change wins as it would alone.
    let paged: Vec<i64> = all.iter().flat_map(|e| e.paging.iter().map(|(id, _)| *id)).collect();
    let keys: Vec<&str> = all
        .iter()
        .flat_map(|e| {
            e.cancel
                .iter()
                .map(String::as_str)
                .chain(e.set.iter().map(|t| t.key.as_str()))
        })
        .collect();
    let groups: Vec<&[&Effects]> = if distinct(&paged) && distinct(&keys) {
        vec![all]
    } else {
        all.chunks(1).collect()
    };
    for group in &groups {
        if group.iter().any(|e| !e.paging.is_empty()) {
            oncall::push_paging_updates(q, group.iter().flat_map(|e| e.paging.iter().map(|(id, p)| (*id, p))));
            q.push(";\n");
        }
    }
    let audits: Vec<&NewAudit<'static>> = all.iter().flat_map(|e| &e.audits).collect();
    if !audits.is_empty() {
        push_audits(q, audits);
        q.push(";\n");
    }
    let outbox: Vec<&NewOutbox> = all.iter().flat_map(|e| &e.outbox).collect();
    if !outbox.is_empty() {
        outbox::push_outboxes(q, outbox);
        q.push(";\n");
    }
    for group in groups {
        let cancel: Vec<&String> = group.iter().flat_map(|e| &e.cancel).collect();
        if !cancel.is_empty() {
            sla::push_timer_deletes(q, cancel);
            q.push(";\n");
        }
        let set: Vec<&NewTimer> = group.iter().flat_map(|e| &e.set).collect();
        if !set.is_empty() {
            sla::push_timer_upserts(q, set);
            q.push(";\n");
        }
    }
}

/// No value appears twice.
fn distinct<T: Ord + Copy>(values: &[T]) -> bool {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    sorted.windows(2).all(|w| w[0] != w[1])
}

/// Most use-cases' effects [`write_together`] puts in one query: their rows together stay
/// within one statement's [`ROWS_PER_INSERT`].
const TOGETHER_ROWS: usize = ROWS_PER_INSERT;

/// Claims `claims` and writes `all`, in one query inside a savepoint of its own: a claim that
/// was made before (a re-delivery) or any failure undoes all of it, and the caller writes them
/// one by one with [`write_alone`] instead.
pub(super) async fn write_together(
    conn: &mut SqliteConnection,
    claims: &[&Claim],
    all: &[&Effects],
) -> Result<(), sqlx::Error> {
    let rows = |f: fn(&Effects) -> usize| all.iter().map(|e| f(e)).sum::<usize>();
    let biggest = [
        claims.len(),
        rows(|e| e.opened.len() + e.opened.iter().map(|o| o.clocks.len()).sum::<usize>()),
        rows(|e| e.audits.len()),
        rows(|e| e.outbox.len()),
        rows(|e| e.paging.len()),
        rows(|e| e.cancel.len()),
        rows(|e| e.set.len()),
    ];
    if biggest.iter().any(|n| *n > TOGETHER_ROWS) || !all.iter().all(|e| e.fits()) {
        return Err(sqlx::Error::Protocol("too many rows for one query".into()));
    }
    let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new("SAVEPOINT batch;\n");
    if !claims.is_empty() {
        q.push("INSERT INTO interactions (id, guild_id, user_id, received_at) ");
        q.push_values(claims, |mut b, c| {
            b.push_bind(c.interaction_id)
                .push_bind(c.guild_id)
                .push_bind(c.user_id)
                .push_bind(c.at);
        });
        q.push(";\n");
    }
    push_effects(&mut q, all);
    q.push("RELEASE SAVEPOINT batch");
    // A batch of several is not kept prepared: its text differs with every batch's make-up, and a
    // cache of them grew the process by tens of megabytes in a storm. A batch of one (every
    // batch at a steady rate) has one of the few shapes a single use-case's effects take, and
    // preparing it anew cost about a quarter of a millisecond of each reply.
    let done = q.build().persistent(all.len() == 1).execute(&mut *conn).await;
    if let Err(e) = done {
        sqlx::query("ROLLBACK TO SAVEPOINT batch; RELEASE SAVEPOINT batch")
            .execute(&mut *conn)
            .await?;
        return Err(e);
    }
    Ok(())
}

/// Claims `claim` and writes `e` in a savepoint named `turn`: `false` (and a re-delivery
/// counted, nothing else written) if the interaction was claimed before. On an error the
/// savepoint is left open for the caller to roll back.
pub(super) async fn write_alone(
    conn: &mut SqliteConnection,
    claim: Option<&Claim>,
    e: &Effects,
) -> Result<bool, sqlx::Error> {
    let fresh = match claim {
        Some(c) => claim_with(&mut *conn, &format!("SAVEPOINT turn;\n{CLAIM_SQL}"), c).await?,
        None => {
            sqlx::query("SAVEPOINT turn").execute(&mut *conn).await?;
            true
        }
    };
    if !fresh {
        if let Some(c) = claim {
            note_redelivery(&mut *conn, c.interaction_id).await?;
        }
        sqlx::query(RELEASE).execute(&mut *conn).await?;
        return Ok(false);
    }
    write_effects(conn, e).await?;
    Ok(true)
}

/// Rows of `table` (a name written in this module's callers, never user text) by id, those that
/// exist, in no particular order: one query per [`ROWS_PER_INSERT`] ids.
async fn rows_by_id<T>(
    conn: &mut SqliteConnection,
    table: &'static str,
    columns: &'static str,
    ids: &[i64],
) -> Result<Vec<T>, sqlx::Error>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> + Send + Unpin,
{
    let mut found = Vec::new();
    for chunk in ids.chunks(ROWS_PER_INSERT) {
        let mut q = sqlx::QueryBuilder::new(format!("SELECT {columns} FROM {table} WHERE id"));
        push_in(&mut q, chunk);
        found.extend(q.build_query_as::<T>().fetch_all(&mut *conn).await?);
    }
    Ok(found)
}

/// ` IN (?, ?, …)` of `ids` onto `q`.
pub(super) fn push_in<'a>(q: &mut sqlx::QueryBuilder<'a, sqlx::Sqlite>, ids: &'a [i64]) {
    q.push(" IN (");
    let mut list = q.separated(", ");
    for id in ids {
        list.push_bind(*id);
    }
    q.push(")");
}

/// One INSERT of audit rows onto `q`.
fn push_audits<'a, 'b: 'a>(
    q: &mut sqlx::QueryBuilder<'a, sqlx::Sqlite>,
    rows: impl IntoIterator<Item = &'a NewAudit<'b>>,
) {
    q.push(
        "INSERT INTO audit_log (guild_id, ticket_id, actor_id, at, action, old_value, new_value, detail, interaction_id, actor_source) ",
    );
    q.push_values(rows, |mut b, a| {
        b.push_bind(a.guild_id)
            .push_bind(a.ticket_id)
            .push_bind(a.actor_id)
            .push_bind(a.at)
            .push_bind(a.action)
            .push_bind(a.old_value.as_deref())
            .push_bind(a.new_value.as_deref())
            .push_bind(a.detail.as_deref())
            .push_bind(a.interaction_id)
            .push_bind(a.actor_source.as_deref());
    });
}

/// A stored audit row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRow {
    /// Row id (order of writing).
    pub id: i64,
    /// Tenant.
    pub guild_id: i64,
    /// The ticket, if any.
    pub ticket_id: Option<i64>,
    /// Who; `None` = the desk.
    pub actor_id: Option<i64>,
    /// When (unix ms).
    pub at: i64,
    /// What.
    pub action: String,
    /// Before.
    pub old_value: Option<String>,
    /// After.
    pub new_value: Option<String>,
    /// Note or reason.
    pub detail: Option<String>,
    /// Causing interaction.
    pub interaction_id: Option<i64>,
    /// The monitoring source that did it, if any.
    pub actor_source: Option<String>,
}

/// The audit rows of a ticket, newest last; at most `limit`, the latest ones.
pub async fn list_ticket_audit(
    conn: &mut SqliteConnection,
    ticket_id: i64,
    limit: i64,
) -> Result<Vec<AuditRow>, sqlx::Error> {
    let mut rows: Vec<AuditRow> =
        sqlx::query_as("SELECT * FROM audit_log WHERE ticket_id = ? ORDER BY id DESC LIMIT ?")
            .bind(ticket_id)
            .bind(limit)
            .fetch_all(conn)
            .await?;
    rows.reverse();
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::timer::TimerKind;

    fn timer(key: &str, due_at: i64) -> NewTimer {
        NewTimer {
            guild_id: 1,
            key: key.into(),
            kind: TimerKind::Escalate,
            ticket_id: None,
            due_at,
            payload: None,
        }
    }

    async fn due_of(conn: &mut SqliteConnection, key: &str) -> Option<i64> {
        sqlx::query_scalar("SELECT due_at FROM timers WHERE key = ?")
            .bind(key)
            .fetch_optional(conn)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn use_cases_written_together_end_as_if_written_one_after_the_other() {
        let dir = tempfile::tempdir().unwrap();
        let pool = connect(&format!("sqlite://{}", dir.path().join("t.db").display()))
            .await
            .unwrap();
        let mut c = pool.acquire().await.unwrap();
        // Keys shared between use-cases: the later one's change wins, whichever it is.
        let first = Effects {
            set: vec![timer("a", 1), timer("b", 1)],
            ..Effects::default()
        };
        let second = Effects {
            set: vec![timer("b", 2)],
            cancel: vec!["a".into()],
            ..Effects::default()
        };
        write_together(&mut c, &[], &[&first, &second]).await.unwrap();
        assert_eq!((due_of(&mut c, "a").await, due_of(&mut c, "b").await), (None, Some(2)));
        let third = Effects {
            cancel: vec!["b".into()],
            ..Effects::default()
        };
        let fourth = Effects {
            set: vec![timer("b", 4)],
            ..Effects::default()
        };
        write_together(&mut c, &[], &[&third, &fourth]).await.unwrap();
        assert_eq!(due_of(&mut c, "b").await, Some(4));
        // Distinct keys go in one statement each, with the same result.
        let fifth = Effects {
            set: vec![timer("c", 5)],
            ..Effects::default()
        };
        let sixth = Effects {
            set: vec![timer("d", 6)],
            cancel: vec!["b".into()],
            ..Effects::default()
        };
        write_together(&mut c, &[], &[&fifth, &sixth]).await.unwrap();
        let got = (
            due_of(&mut c, "b").await,
            due_of(&mut c, "c").await,
            due_of(&mut c, "d").await,
        );
        assert_eq!(got, (None, Some(5), Some(6)));
    }

    #[test]
    fn distinct_means_no_value_twice() {
        assert!(distinct::<i64>(&[]));
        assert!(distinct(&[3, 1, 2]));
        assert!(!distinct(&[3, 1, 3]));
    }
}
