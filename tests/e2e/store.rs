//! Store and service tests on fresh SQLite files, without Discord.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use servicedesk::clock::ManualClock;
use servicedesk::domain::report::ReportError;
use servicedesk::domain::sla::ClockKind;
use servicedesk::domain::{Priority, SlaDuration, Stage, TicketKind, TicketState};
use servicedesk::render::refusals::{SetupError, UserError};
use servicedesk::service::{Actor, AssignTarget, Call, Desk, ServiceError, TicketOp};
use servicedesk::store::{self, NewTicket};
use sqlx::{Row, SqlitePool};
use tokio::sync::Notify;

async fn fresh() -> (SqlitePool, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    (store::connect(&url).await.unwrap(), dir)
}

fn new_ticket(guild: i64, kind: &str) -> NewTicket<'static> {
    let kind = TicketKind::from_name(kind).unwrap();
    NewTicket {
        guild_id: guild,
        kind,
        title: "t",
        details: None,
        catalog_item: None,
        service: None,
        state: Stage::Ticket(TicketState::initial(kind)),
        priority: Priority::P4,
        impact: None,
        urgency: None,
        requester_id: 7,
        at: 0,
        card_channel_id: None,
    }
}

#[tokio::test]
async fn connect_sets_wal_full_sync_foreign_keys_and_a_busy_timeout() {
    let (pool, _dir) = fresh().await;
    let mut c = pool.acquire().await.unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut *c)
        .await
        .unwrap();
    let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(&mut *c)
        .await
        .unwrap();
    let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(&mut *c)
        .await
        .unwrap();
    let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
        .fetch_one(&mut *c)
        .await
        .unwrap();
    assert_eq!((mode.as_str(), sync, fk), ("wal", 2, 1));
    assert!(busy >= 1000);
}

#[tokio::test]
async fn the_audit_log_refuses_updates_and_deletes() {
    let (pool, _dir) = fresh().await;
    let mut c = pool.acquire().await.unwrap();
    store::insert_audit(
        &mut c,
        &store::NewAudit {
            guild_id: 1,
            action: "setting",
            at: 1,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let upd = sqlx::query("UPDATE audit_log SET action = 'x'").execute(&mut *c).await;
    let del = sqlx::query("DELETE FROM audit_log").execute(&mut *c).await;
    for r in [upd, del] {
        let e = r.unwrap_err().to_string();
        assert!(e.contains("append-only"), "{e}");
    }
}

/// Stores `t` as the desk does: numbered by the writer's counters (loaded on `c`), written
/// with `clocks` (given ids from the counters too).
async fn insert(
    c: &mut sqlx::SqliteConnection,
    ids: &store::Ids,
    t: &NewTicket<'_>,
    mut clocks: Vec<store::ClockRow>,
) -> store::TicketRow {
    ids.load(c).await.unwrap();
    let (id, number) = ids.ticket(t.guild_id, t.kind).unwrap();
    let ticket = store::TicketRow::opened(id, number, t);
    for k in &mut clocks {
        (k.id, k.ticket_id) = (ids.clock().unwrap(), id);
    }
    let opened = store::Opened {
        ticket: ticket.clone(),
        clocks,
    };
    store::insert_opened(c, &[opened]).await.unwrap();
    ticket
}

#[tokio::test]
async fn ticket_numbers_count_per_guild_and_kind_and_continue_after_a_restart() {
    let (pool, _dir) = fresh().await;
    let mut c = pool.acquire().await.unwrap();
    let ids = store::Ids::default();
    let mut got = vec![];
    for (g, k) in [
        (1, "request"),
        (1, "request"),
        (2, "request"),
        (1, "incident"),
        (1, "request"),
    ] {
        got.push(insert(&mut c, &ids, &new_ticket(g, k), vec![]).await.number);
    }
    assert_eq!(got, vec![1, 2, 1, 1, 3]);
    assert!(store::find_ticket(&mut c, 2, "request", 2).await.unwrap().is_none());
    // A number handed out and never stored (its use-case failed) is not handed out again.
    assert_eq!(ids.ticket(2, TicketKind::Request).map(|(_, n)| n), Some(2));
    // Counters loaded afresh (a restart) continue from what is stored.
    let restarted = store::Ids::default();
    let next = insert(&mut c, &restarted, &new_ticket(1, "request"), vec![]).await;
    assert_eq!(next.number, 4);
    let max_id: i64 = sqlx::query_scalar("SELECT max(id) FROM tickets WHERE id < ?")
        .bind(next.id)
        .fetch_one(&mut *c)
        .await
        .unwrap();
    assert_eq!(next.id, max_id + 1, "ids continue after the highest stored");
    assert_eq!(
        insert(&mut c, &restarted, &new_ticket(2, "request"), vec![])
            .await
            .number,
        2
    );
}

fn clock_row(name: &str, target: &str) -> store::ClockRow {
    store::ClockRow {
        id: 0,
        guild_id: 1,
        ticket_id: 0,
        clock: ClockKind::parse(name).unwrap(),
        cycle: 1,
        target: SlaDuration::parse(target).unwrap(),
        started_at: 0,
        paused_seconds: 0,
        paused_since: None,
        stopped_at: None,
        due_at: Some(14_400_000),
        warned_at: None,
        breached_at: None,
    }
}

#[tokio::test]
async fn a_new_ticket_is_stored_exactly_as_the_desk_built_it_with_its_own_clocks() {
    let (pool, _dir) = fresh().await;
    let mut c = pool.acquire().await.unwrap();
    let ids = store::Ids::default();
    let mut made = vec![];
    for (g, k) in [(1, "request"), (2, "request"), (1, "incident"), (1, "request")] {
        let clocks = vec![clock_row("response", "4h"), clock_row("resolution", "1bd")];
        let mut t = new_ticket(g, k);
        t.details = Some("details");
        t.card_channel_id = Some(55);
        made.push(insert(&mut c, &ids, &t, clocks).await);
    }
    assert_eq!(made.iter().map(|t| t.number).collect::<Vec<_>>(), vec![1, 1, 1, 2]);
    for t in &made {
        // Every column the row carries, as read back, is what memory had.
        let stored = store::get_ticket(&mut c, t.id).await.unwrap();
        assert_eq!(format!("{stored:?}"), format!("{t:?}"));
        let clocks = store::list_current_clocks(&mut c, t.id).await.unwrap();
        let mut names: Vec<&str> = clocks.iter().map(|k| k.clock.as_str()).collect();
        names.sort_unstable();
        assert_eq!(names, ["resolution", "response"]);
        assert!(clocks.iter().all(|k| k.ticket_id == t.id));
    }
}

#[tokio::test]
async fn an_interaction_id_is_claimed_once() {
    let (pool, _dir) = fresh().await;
    let mut c = pool.acquire().await.unwrap();
    assert!(store::claim_interaction(&mut c, 5, Some(1), 2, 0).await.unwrap());
    assert!(!store::claim_interaction(&mut c, 5, Some(1), 2, 0).await.unwrap());
}

#[tokio::test]
async fn a_refused_change_rolls_back_its_interaction_claim() {
    let (pool, _dir) = fresh().await;
    let desk = Desk::new(
        pool.clone(),
        Arc::new(ManualClock::new(Utc::now())),
        Arc::new(Notify::new()),
    );
    let call = Call {
        actor: Actor {
            guild_id: 1,
            user_id: 2,
            roles: vec![],
            is_admin: false,
        },
        interaction_id: 77,
    };
    let err = desk.catalog_add(&call, "Laptop", "x").await.unwrap_err();
    assert!(
        matches!(err, ServiceError::User(UserError::Setup(SetupError::AdminOnly))),
        "{err:?}"
    );
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM interactions")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, 0, "a refusal must not mark the interaction as applied");
}

/// Steps a request can be put through, by whom.
#[derive(Debug, Clone)]
enum Step {
    Agent(u8),
    Requester(u8),
}

fn op(i: u8) -> TicketOp {
    match i % 10 {
        0 => TicketOp::Claim,
        1 => TicketOp::Assign(AssignTarget {
            user_id: 300,
            roles: vec![900],
            is_admin: false,
        }),
        2 => TicketOp::Hold {
            reason: servicedesk::domain::HoldReason::AwaitingRequester,
            note: None,
        },
        3 => TicketOp::Resume,
        4 => TicketOp::Resolve { note: "fixed".into() },
        5 => TicketOp::Reopen { reason: "again".into() },
        6 => TicketOp::Close,
        7 => TicketOp::Cancel { reason: None },
        8 => TicketOp::Priority(servicedesk::domain::Priority::ALL[usize::from(i) % 5]),
        _ => TicketOp::Comment("hello".into()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Whatever people do to a request, its state stays in the lifecycle table and the audit
    /// trail's state rows chain from `new` to the stored state, one row per transition taken.
    #[test]
    fn audit_rows_match_the_transitions_taken(steps in proptest::collection::vec(
        prop_oneof![any::<u8>().prop_map(Step::Agent), any::<u8>().prop_map(Step::Requester)], 1..25)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let (pool, _dir) = fresh().await;
            let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 1, 5, 10, 0, 0).unwrap());
            let desk = Desk::new(pool.clone(), Arc::new(clock), Arc::new(Notify::new()));
            let admin = Actor { guild_id: 1, user_id: 100, roles: vec![], is_admin: true };
            let mut n = 1;
            let mut call = |actor: &Actor| { n += 1; Call { actor: actor.clone(), interaction_id: n } };
            desk.setup_role(&call(&admin), servicedesk::service::RolePurpose::Agent, 900).await.unwrap();
            desk.catalog_add(&call(&admin), "Laptop", "x").await.unwrap();
            let requester = Actor { guild_id: 1, user_id: 200, roles: vec![], is_admin: false };
            let agent = Actor { guild_id: 1, user_id: 300, roles: vec![900], is_admin: false };
            desk.request_new(&call(&requester), "Laptop", "broken", None).await.unwrap();
            let mut taken = 0;
            for step in &steps {
                let (who, i) = match step { Step::Agent(i) => (&agent, *i), Step::Requester(i) => (&requester, *i) };
                match desk.ticket_op(&call(who), "REQ-1", op(i)).await {
                    Ok(_) => taken += 1,
                    Err(ServiceError::User(_)) => {}
                    Err(e) => panic!("internal error: {e}"),
                }
            }
            let rows = sqlx::query("SELECT old_value, new_value FROM audit_log WHERE action = 'state' ORDER BY id")
                .fetch_all(&pool).await.unwrap();
            let mut state = "new".to_owned();
            for r in &rows {
                let (old, new): (String, String) = (r.get(0), r.get(1));
                assert_eq!(old, state, "audit chain broken");
                state = new;
            }
            let stored: String = sqlx::query_scalar("SELECT state FROM tickets").fetch_one(&pool).await.unwrap();
            assert_eq!(stored, state);
            assert!(["new", "in progress", "on hold", "resolved", "closed", "cancelled"].contains(&stored.as_str()));
            // every successful step wrote at least one audit row in its interaction
            let with_rows: i64 = sqlx::query_scalar(
                "SELECT count(DISTINCT interaction_id) FROM audit_log WHERE ticket_id IS NOT NULL AND action != 'created'")
                .fetch_one(&pool).await.unwrap();
            assert_eq!(with_rows, taken);
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_commit_keeps_finished_work_drops_refused_work_and_leaves_nobody_waiting() {
    let (pool, _dir) = fresh().await;
    let writer = store::Writer::new(pool.clone());
    let mut tasks = Vec::new();
    for i in 0..60i64 {
        let w = writer.clone();
        tasks.push(tokio::spawn(async move {
            let mut turn = w.turn().await.unwrap();
            store::upsert_holiday(&mut turn, 1, &format!("2026-01-{:02}", i % 28 + 1), &format!("day {i}"))
                .await
                .unwrap();
            store::upsert_holiday(&mut turn, 2, &format!("n{i}"), "x")
                .await
                .unwrap();
            if i % 3 == 0 {
                drop(turn); // a refusal: its savepoint is rolled back
                false
            } else {
                turn.finish().await.unwrap();
                true
            }
        }));
    }
    let mut kept = 0;
    for t in tasks {
        if tokio::time::timeout(std::time::Duration::from_secs(10), t)
            .await
            .expect("nobody waits forever")
            .unwrap()
        {
            kept += 1;
        }
    }
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM holidays WHERE guild_id = 2")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rows, kept, "exactly the finished turns' work is committed");
    let refused: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM holidays WHERE guild_id = 2 AND CAST(substr(day, 2) AS INTEGER) % 3 = 0",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(refused, 0);
    // The writer is usable afterwards, and a lone turn commits at once.
    let mut turn = writer.turn().await.unwrap();
    store::upsert_holiday(&mut turn, 3, "2026-12-25", "Christmas")
        .await
        .unwrap();
    turn.finish().await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM holidays WHERE guild_id = 3")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, 1);
}

/// Effects of one audit row about `n` (and, with `ticket`, a new ticket with that id).
fn audit_effects(n: i64, ticket: Option<i64>) -> store::Effects {
    let opened = ticket.map(|id| store::Opened {
        ticket: store::TicketRow::opened(id, id, &new_ticket(1, "request")),
        clocks: vec![],
    });
    store::Effects {
        opened: opened.into_iter().collect(),
        audits: vec![store::NewAudit {
            guild_id: 1,
            action: "comment",
            detail: Some(n.to_string()),
            ..store::NewAudit::default()
        }],
        ..store::Effects::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn use_cases_handed_over_as_data_are_written_together_once_each_and_a_bad_one_alone_fails() {
    let (pool, _dir) = fresh().await;
    let writer = store::Writer::new(pool.clone());
    // The counters load with the first transaction.
    writer.turn().await.unwrap().finish().await.unwrap();
    assert!(writer.ids().ready());
    let claim = |id: i64| store::Claim {
        interaction_id: id,
        guild_id: Some(1),
        user_id: 2,
        at: 0,
    };
    let mut tasks = Vec::new();
    for n in 0..120i64 {
        let w = writer.clone();
        // Every tenth is a re-delivery of the one before; 77 inserts a ticket whose id 76 took.
        let interaction = if n % 10 == 9 { n - 1 } else { n };
        let ticket = match n {
            76 | 77 => Some(1000),
            _ => None,
        };
        tasks.push(tokio::spawn(async move {
            (n, w.apply(Some(claim(interaction)), audit_effects(n, ticket)).await)
        }));
    }
    let (mut committed, mut redelivered, mut failed) = (vec![], 0, vec![]);
    for t in tasks {
        let (n, outcome) = tokio::time::timeout(std::time::Duration::from_secs(10), t)
            .await
            .expect("nobody waits forever")
            .unwrap();
        match outcome {
            Ok(store::Applied::Committed) => committed.push(n),
            Ok(store::Applied::Redelivered) => redelivered += 1,
            Err(_) => failed.push(n),
        }
    }
    // Of 76 and 77 (and of each re-delivered pair) whichever the writer took first wins.
    assert_eq!(failed.len(), 1, "only the second ticket with id 1000 fails: {failed:?}");
    assert!(failed[0] == 76 || failed[0] == 77);
    assert_eq!(redelivered, 12);
    assert_eq!(committed.len(), 120 - 12 - 1);
    let mut stored: Vec<i64> = sqlx::query_scalar("SELECT CAST(detail AS INTEGER) FROM audit_log ORDER BY 1")
        .fetch_all(&pool)
        .await
        .unwrap();
    stored.sort_unstable();
    committed.sort_unstable();
    assert_eq!(stored, committed, "exactly the committed use-cases' rows, once each");
    let claims: i64 = sqlx::query_scalar("SELECT count(*) FROM interactions")
        .fetch_one(&pool)
        .await
        .unwrap();
    // 108 distinct interactions; the failed one's claim went with its work, so a retry applies.
    assert_eq!(claims, 107, "one claim per distinct interaction that was written");
    let counted: i64 = sqlx::query_scalar("SELECT sum(redeliveries) FROM interactions")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(counted, 12, "each re-delivery counted");
}

#[tokio::test(flavor = "current_thread")]
async fn a_use_case_abandoned_while_it_waits_for_the_writer_neither_hangs_the_batch_nor_is_lost() {
    let (pool, _dir) = fresh().await;
    let writer = store::Writer::new(pool.clone());
    writer.turn().await.unwrap().finish().await.unwrap();
    // Someone holds the writer; a use-case queues its effects behind it (on this one-thread
    // runtime, yielding runs it up to its wait) and is then dropped, as an aborted task is.
    let held = writer.turn().await.unwrap();
    let w = writer.clone();
    let waiting = tokio::spawn(async move { w.apply(None, audit_effects(1, None)).await });
    tokio::task::yield_now().await;
    assert!(!waiting.is_finished());
    waiting.abort();
    assert!(waiting.await.unwrap_err().is_cancelled());
    // The holder finishes: it must not wait forever for a commit the abandoned job would have
    // triggered, and the job's work is written all the same (it was handed over).
    tokio::time::timeout(std::time::Duration::from_secs(10), held.finish())
        .await
        .expect("the batch is not left waiting on an abandoned use-case")
        .unwrap();
    let later = writer.apply(None, audit_effects(2, None)).await.unwrap();
    assert_eq!(later, store::Applied::Committed);
    let stored: Vec<i64> = sqlx::query_scalar("SELECT CAST(detail AS INTEGER) FROM audit_log ORDER BY 1")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(stored, vec![1, 2]);
}

#[tokio::test]
async fn the_outbox_heads_are_the_oldest_pending_message_of_each_channel_and_each_dm_recipient() {
    let (pool, _dir) = fresh().await;
    let mut c = pool.acquire().await.unwrap();
    // (channel, user): channels 10 and 11, DMs to users 10 (same number as a channel) and 12.
    let targets = [
        (Some(10), None),
        (None, Some(12)),
        (Some(10), None),
        (Some(11), None),
        (None, Some(10)),
        (None, Some(12)),
        (Some(11), Some(12)), // a post that mentions a user is still the channel's
        (Some(10), None),
    ];
    let rows: Vec<store::NewOutbox> = targets
        .iter()
        .map(|&(channel_id, user_id)| store::NewOutbox {
            guild_id: 1,
            op: if channel_id.is_some() {
                store::OutboxOp::Post
            } else {
                store::OutboxOp::Dm
            },
            channel_id,
            user_id,
            ticket_id: None,
            is_card: false,
            payload: "{}".into(),
            rank: store::RANK_OTHER,
            at: 0,
            delay_ms: 0,
            fold_key: None,
        })
        .collect();
    store::insert_outboxes(&mut c, &rows).await.unwrap();
    let ids = |heads: Vec<store::OutboxRow>| heads.into_iter().map(|r| r.id).collect::<Vec<_>>();
    let heads = store::list_outbox_heads(&mut c, 100).await.unwrap();
    assert_eq!(
        ids(heads),
        vec![1, 2, 4, 5],
        "oldest of channel 10, user 12, channel 11, user 10"
    );
    // Once a head is sent (or given up) the next of its target comes forward.
    store::mark_outbox_sent(&mut c, 1, None).await.unwrap();
    store::mark_outbox_failed(&mut c, 4, "403").await.unwrap();
    let heads = store::list_outbox_heads(&mut c, 100).await.unwrap();
    assert_eq!(ids(heads), vec![2, 3, 5, 7]);
    let heads = store::list_outbox_heads(&mut c, 2).await.unwrap();
    assert_eq!(heads.len(), 2, "at most `limit` targets");

    // A page and a P1 queued later in channel 10 go before its older P5 messages: rank, then age.
    let later = |rank| store::NewOutbox {
        rank,
        ..rows[0].clone()
    };
    store::insert_outboxes(&mut c, &[later(1), later(store::RANK_PAGE), later(1)])
        .await
        .unwrap();
    // Ids 9 (P1), 10 (page), 11 (P1) follow the eight above.
    let heads = store::list_outbox_heads(&mut c, 100).await.unwrap();
    let head_of_10 = heads.iter().find(|r| r.channel_id == Some(10)).unwrap();
    assert_eq!(
        (head_of_10.id, head_of_10.rank),
        (10, store::RANK_PAGE),
        "the page first"
    );
    store::mark_outbox_sent(&mut c, 10, None).await.unwrap();
    let heads = store::list_outbox_heads(&mut c, 100).await.unwrap();
    let head_of_10 = heads.iter().find(|r| r.channel_id == Some(10)).unwrap();
    assert_eq!(head_of_10.id, 9, "then the older of the two P1s");
}

#[tokio::test]
async fn a_report_of_another_length_is_refused_before_anything_is_written() {
    let (pool, _dir) = fresh().await;
    let desk = Desk::new(
        pool.clone(),
        Arc::new(ManualClock::new(Utc::now())),
        Arc::new(Notify::new()),
    );
    let admin = Actor {
        guild_id: 1,
        user_id: 2,
        roles: vec![],
        is_admin: true,
    };
    for days in [0, 1, 14, 31, 365, -7] {
        let call = Call {
            actor: admin.clone(),
            interaction_id: 10 + days,
        };
        match desk.report(&call, days).await {
            Err(ServiceError::User(UserError::Report(ReportError::Period))) => {}
            other => panic!("{days} days: {:?}", other.map(|r| r.message)),
        }
    }
    let claimed: i64 = sqlx::query_scalar("SELECT count(*) FROM interactions")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(claimed, 0, "a refused report claims nothing");
    let ok = desk
        .report(
            &Call {
                actor: admin,
                interaction_id: 99,
            },
            30,
        )
        .await
        .unwrap();
    assert_eq!(&ok.chart[..4], b"\x89PNG");
}

#[tokio::test]
async fn a_timer_kind_the_desk_does_not_know_cannot_be_stored() {
    let (pool, _dir) = fresh().await;
    let mut c = pool.acquire().await.unwrap();
    let refused = sqlx::query("INSERT INTO timers (guild_id, key, kind, due_at) VALUES (1, 'x:1', 'sla_nag', 0)")
        .execute(&mut *c)
        .await;
    assert!(refused.is_err(), "the CHECK constraint refuses it");
    for kind in servicedesk::domain::timer::TimerKind::ALL {
        sqlx::query("INSERT INTO timers (guild_id, key, kind, due_at) VALUES (1, ?, ?, 0)")
            .bind(format!("k:{kind}"))
            .bind(kind.as_str())
            .execute(&mut *c)
            .await
            .unwrap();
    }
    let due = store::list_due_timers(&mut c, 1, 100).await.unwrap();
    let kinds: Vec<_> = due.iter().map(|t| t.kind).collect();
    assert_eq!(
        kinds,
        servicedesk::domain::timer::TimerKind::ALL.to_vec(),
        "each decodes as itself"
    );
}

#[tokio::test]
async fn tickets_take_problems_after_the_rebuild_with_their_rows_indexes_and_references() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("d.db").display());
    let pool = servicedesk::store::connect(&url).await.unwrap();
    sqlx::query(
        "INSERT INTO tickets (guild_id, kind, number, title, state, priority, requester_id, created_at, updated_at)
         VALUES (1, 'request', 1, 'kept', 'new', 4, 5, 0, 0)",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO comments (guild_id, ticket_id, author_id, body, by_agent, created_at) VALUES (1, 1, 5, 'hi', 0, 0)")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    // Put the old CHECK back, as a database from before problems has it, rows and all.
    {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
        let sql: String = sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE name = 'tickets'")
            .fetch_one(&mut c)
            .await
            .unwrap();
        let old = sql.replace("'change', 'problem'", "'change'").replacen(
            "CREATE TABLE \"tickets\"",
            "CREATE TABLE tickets_old",
            1,
        );
        let indexes: Vec<String> = sqlx::query_scalar(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tickets' AND sql IS NOT NULL",
        )
        .fetch_all(&mut c)
        .await
        .unwrap();
        sqlx::query("PRAGMA foreign_keys = OFF").execute(&mut c).await.unwrap();
        for q in [
            old.as_str(),
            "INSERT INTO tickets_old SELECT * FROM tickets",
            "DROP TABLE tickets",
            "ALTER TABLE tickets_old RENAME TO tickets",
        ] {
            sqlx::query(q).execute(&mut c).await.unwrap();
        }
        for q in &indexes {
            sqlx::query(q).execute(&mut c).await.unwrap();
        }
        c.close().await.unwrap();
    }
    // Opening it rebuilds the table once more: the rows, the indexes and the references hold.
    let pool = servicedesk::store::connect(&url).await.unwrap();
    let sql: String = sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE name = 'tickets'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(sql.contains("'problem'"), "{sql}");
    let indexes: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tickets'")
            .fetch_all(&pool)
            .await
            .unwrap();
    for name in [
        "tickets_requester",
        "tickets_open",
        "tickets_created",
        "tickets_parent",
        "tickets_problem",
    ] {
        assert!(indexes.iter().any(|i| i == name), "{name} in {indexes:?}");
    }
    let broken: Vec<(String,)> = sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(broken.is_empty(), "{broken:?}");
    let on: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(on, 1, "foreign keys are on again");
    let kept: (String, i64) =
        sqlx::query_as("SELECT t.title, count(c.id) FROM tickets t JOIN comments c ON c.ticket_id = t.id")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(kept, ("kept".to_owned(), 1));
    sqlx::query(
        "INSERT INTO tickets (guild_id, kind, number, title, state, priority, requester_id, created_at, updated_at)
         VALUES (1, 'problem', 1, 'p', 'new', 3, 5, 0, 0)",
    )
    .execute(&pool)
    .await
    .expect("a problem is a ticket");
    let bad = sqlx::query(
        "INSERT INTO tickets (guild_id, kind, number, title, state, priority, requester_id, created_at, updated_at)
         VALUES (1, 'idea', 1, 'p', 'new', 3, 5, 0, 0)",
    )
    .execute(&pool)
    .await;
    assert!(bad.is_err(), "the CHECK still holds for anything else");
}

#[tokio::test]
async fn a_stored_state_that_is_not_its_kinds_fails_the_read_instead_of_guessing() {
    let (pool, _dir) = fresh().await;
    let mut c = pool.acquire().await.unwrap();
    let t = insert(&mut c, &store::Ids::default(), &new_ticket(1, "request"), vec![]).await;
    assert_eq!((t.state, t.priority), (Stage::Ticket(TicketState::New), Priority::P4));
    // (A priority outside 1..=5 cannot be stored: the schema's CHECK refuses it.)
    for (set, column) in [
        ("state = 'triggered'", "state"), // an incident's state on a request
        ("state = 'voting'", "state"),    // a change's
        ("state = 'bogus'", "state"),
    ] {
        sqlx::query(&format!("UPDATE tickets SET {set} WHERE id = ?"))
            .bind(t.id)
            .execute(&mut *c)
            .await
            .unwrap();
        match store::get_ticket(&mut c, t.id).await {
            Err(sqlx::Error::ColumnDecode { index, .. }) => assert_eq!(index, column, "{set}"),
            other => panic!("{set}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_stored_clock_target_that_does_not_parse_fails_the_read_instead_of_a_default() {
    let (pool, _dir) = fresh().await;
    let mut c = pool.acquire().await.unwrap();
    let mut clock = clock_row("response", "4bh");
    clock.due_at = None;
    let t = insert(&mut c, &store::Ids::default(), &new_ticket(1, "request"), vec![clock]).await;
    let ids: Vec<i64> = store::list_current_clocks(&mut c, t.id)
        .await
        .unwrap()
        .iter()
        .map(|k| k.id)
        .collect();
    let row = store::get_clock(&mut c, ids[0]).await.unwrap().unwrap();
    assert_eq!(
        (row.clock, row.target.to_string()),
        (ClockKind::Response, "4bh".to_owned())
    );
    sqlx::query("UPDATE sla_clocks SET target = 'soon' WHERE id = ?")
        .bind(ids[0])
        .execute(&mut *c)
        .await
        .unwrap();
    match store::get_clock(&mut c, ids[0]).await {
        Err(sqlx::Error::ColumnDecode { index, .. }) => assert_eq!(index, "target"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn taking_timers_takes_those_still_there_and_says_which() {
    let (pool, _dir) = fresh().await;
    let mut c = pool.acquire().await.unwrap();
    for i in 1..=5 {
        sqlx::query("INSERT INTO timers (id, guild_id, key, kind, due_at) VALUES (?, 1, ?, 'sla_breach', 0)")
            .bind(i)
            .bind(format!("sla:{i}:breach"))
            .execute(&mut *c)
            .await
            .unwrap();
    }
    // All there: every one is taken.
    assert_eq!(store::take_timers(&mut c, &[1, 2]).await.unwrap(), vec![1, 2]);
    // 1 was taken already and 9 never existed: only 3 and 4 are taken, and said to be.
    let mut taken = store::take_timers(&mut c, &[1, 3, 9, 4]).await.unwrap();
    taken.sort_unstable();
    assert_eq!(taken, vec![3, 4]);
    let left: Vec<i64> = sqlx::query_scalar("SELECT id FROM timers ORDER BY id")
        .fetch_all(&mut *c)
        .await
        .unwrap();
    assert_eq!(left, vec![5], "nothing else was deleted");
}
