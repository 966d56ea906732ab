//! SLA clocks and reminders: scheduler tests with a manual clock (no real waiting), and the
//! restart test end to end against the fake Discord.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::Value;
use servicedesk::clock::{to_millis, Clock, ManualClock};
use servicedesk::domain::{HoldReason, Priority, TicketKind};
use servicedesk::scheduler;
use servicedesk::service::ChannelPurpose;
use servicedesk::service::{Actor, Call, Desk, RolePurpose, TicketOp};
use sqlx::SqlitePool;
use tokio::sync::Notify;

use crate::support::*;

const AGENT: i64 = 300;
const REQUESTER: i64 = 200;
const ROLE: i64 = 900;
const CHANNEL: i64 = 4242;

/// The desk's use-cases and scheduler on a fresh database, without Discord.
struct Bench {
    desk: Desk,
    clock: ManualClock,
    pool: SqlitePool,
    _dir: tempfile::TempDir,
    n: i64,
}

fn admin() -> Actor {
    Actor {
        guild_id: 1,
        user_id: 100,
        roles: vec![],
        is_admin: true,
    }
}
fn requester() -> Actor {
    Actor {
        guild_id: 1,
        user_id: REQUESTER,
        roles: vec![],
        is_admin: false,
    }
}
fn agent() -> Actor {
    Actor {
        guild_id: 1,
        user_id: AGENT,
        roles: vec![ROLE],
        is_admin: false,
    }
}

/// Monday 5 January 2026 at h:m UTC (default business hours are Mon–Fri 09–17 UTC).
fn monday(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, h, m, 0).unwrap()
}

impl Bench {
    /// Triage channel, agent role, a catalog item, and P4 request targets of 1h / 2h (24×7).
    async fn new() -> Bench {
        let dir = tempfile::tempdir().unwrap();
        let pool = servicedesk::store::connect(&format!("sqlite://{}", dir.path().join("t.db").display()))
            .await
            .unwrap();
        let clock = ManualClock::new(monday(10, 0));
        let desk = Desk::new(pool.clone(), Arc::new(clock.clone()), Arc::new(Notify::new()));
        let mut b = Bench {
            desk,
            clock,
            pool,
            _dir: dir,
            n: 0,
        };
        let a = admin();
        let c = b.call(&a);
        b.desk.setup_channel(&c, ChannelPurpose::Triage, CHANNEL).await.unwrap();
        let c = b.call(&a);
        b.desk.setup_role(&c, RolePurpose::Agent, ROLE).await.unwrap();
        let c = b.call(&a);
        b.desk.catalog_add(&c, "Laptop", "x").await.unwrap();
        let c = b.call(&a);
        b.desk
            .setup_sla(&c, TicketKind::Request, Priority::P4, "1h", "2h")
            .await
            .unwrap();
        b
    }

    fn call(&mut self, actor: &Actor) -> Call {
        self.n += 1;
        Call {
            actor: actor.clone(),
            interaction_id: self.n,
        }
    }

    async fn raise(&mut self, summary: &str) {
        let c = self.call(&requester());
        self.desk.request_new(&c, "Laptop", summary, None).await.unwrap();
    }

    async fn op(&mut self, who: &Actor, id: &str, op: TicketOp) {
        let c = self.call(who);
        self.desk.ticket_op(&c, id, op).await.unwrap();
    }

    /// Sets the clock and runs the scheduler until nothing more is due.
    async fn at(&self, t: DateTime<Utc>) {
        self.clock.set(t);
        while scheduler::pass(&self.desk).await.unwrap().is_zero() {}
    }

    /// The reminders queued so far (⏰ warnings, 🚨 breaches), oldest first.
    async fn reminders(&self) -> Vec<String> {
        let rows: Vec<String> = sqlx::query_scalar("SELECT payload FROM outbox ORDER BY id")
            .fetch_all(&self.pool)
            .await
            .unwrap();
        rows.iter()
            .map(|p| {
                serde_json::from_str::<Value>(p).unwrap()["content"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned()
            })
            .filter(|c| c.contains('⏰') || c.contains('🚨'))
            .collect()
    }
}

fn kinds(reminders: &[String]) -> Vec<&'static str> {
    reminders
        .iter()
        .map(|r| match (r.contains('🚨'), r.contains("response")) {
            (false, true) => "warn response",
            (true, true) => "breach response",
            (false, false) => "warn resolution",
            (true, false) => "breach resolution",
        })
        .collect()
}

#[tokio::test]
async fn the_warning_at_75_percent_and_the_breach_at_100_percent_fire_once_each() {
    let mut b = Bench::new().await;
    b.raise("Laptop is slow").await;
    b.at(monday(10, 44)).await;
    assert!(b.reminders().await.is_empty(), "nothing before 75 %");
    b.at(monday(10, 45)).await;
    assert_eq!(kinds(&b.reminders().await), ["warn response"]);
    b.at(monday(10, 50)).await; // passes again: nothing doubles
    b.at(monday(11, 0)).await;
    b.at(monday(11, 30)).await;
    b.at(monday(12, 0)).await;
    b.at(monday(18, 0)).await;
    let r = b.reminders().await;
    assert_eq!(
        kinds(&r),
        [
            "warn response",
            "breach response",
            "warn resolution",
            "breach resolution"
        ]
    );
    // Unassigned: the agent role is pinged, and only it.
    let rows: Vec<String> = sqlx::query_scalar("SELECT payload FROM outbox")
        .fetch_all(&b.pool)
        .await
        .unwrap();
    let breach: Value = serde_json::from_str(rows.iter().find(|p| p.contains('🚨')).unwrap()).unwrap();
    assert_eq!(
        breach["allowed_mentions"]["roles"],
        serde_json::json!([ROLE.to_string()])
    );
    assert_eq!(breach["allowed_mentions"]["users"], serde_json::json!([]));
    // The breach is recorded on the ticket's clock and in the audit trail.
    let breached: i64 = sqlx::query_scalar("SELECT count(*) FROM sla_clocks WHERE breached_at IS NOT NULL")
        .fetch_one(&b.pool)
        .await
        .unwrap();
    assert_eq!(breached, 2);
    let audited: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'sla-breach'")
        .fetch_one(&b.pool)
        .await
        .unwrap();
    assert_eq!(audited, 2);
}

#[tokio::test]
async fn a_pause_on_hold_moves_the_resolution_reminders_out() {
    let mut b = Bench::new().await;
    b.raise("Need software").await;
    b.op(&agent(), "REQ-1", TicketOp::Claim).await; // response met at 10:00
    b.at(monday(10, 30)).await;
    b.op(
        &agent(),
        "REQ-1",
        TicketOp::Hold {
            reason: HoldReason::AwaitingVendor,
            note: None,
        },
    )
    .await;
    b.at(monday(13, 0)).await;
    assert!(b.reminders().await.is_empty(), "paused clocks stay quiet");
    b.op(&agent(), "REQ-1", TicketOp::Resume).await; // paused 2h30: warn 14:00, due 14:30
    b.at(monday(13, 59)).await;
    assert!(b.reminders().await.is_empty());
    b.at(monday(14, 0)).await;
    assert_eq!(kinds(&b.reminders().await), ["warn resolution"]);
    b.at(monday(14, 30)).await;
    let r = b.reminders().await;
    assert_eq!(kinds(&r), ["warn resolution", "breach resolution"]);
    // Assigned: the assignee is pinged, not the role.
    let rows: Vec<String> = sqlx::query_scalar("SELECT payload FROM outbox")
        .fetch_all(&b.pool)
        .await
        .unwrap();
    let warn: Value = serde_json::from_str(rows.iter().find(|p| p.contains('⏰')).unwrap()).unwrap();
    assert_eq!(
        warn["allowed_mentions"]["users"],
        serde_json::json!([AGENT.to_string()])
    );
    assert_eq!(warn["allowed_mentions"]["roles"], serde_json::json!([]));
}

#[tokio::test]
async fn resolving_cancels_the_reminders_and_auto_close_follows_a_week_later() {
    let mut b = Bench::new().await;
    b.raise("Mouse broken").await;
    b.op(
        &agent(),
        "REQ-1",
        TicketOp::Resolve {
            note: "New mouse".into(),
        },
    )
    .await;
    let sla_timers: i64 = sqlx::query_scalar("SELECT count(*) FROM timers WHERE key LIKE 'sla:%'")
        .fetch_one(&b.pool)
        .await
        .unwrap();
    assert_eq!(sla_timers, 0, "no SLA timer survives the resolution");
    b.at(monday(10, 0) + Duration::days(7) - Duration::minutes(1)).await;
    let state: String = sqlx::query_scalar("SELECT state FROM tickets")
        .fetch_one(&b.pool)
        .await
        .unwrap();
    assert_eq!(state, "resolved");
    b.at(monday(10, 0) + Duration::days(7)).await;
    let state: String = sqlx::query_scalar("SELECT state FROM tickets")
        .fetch_one(&b.pool)
        .await
        .unwrap();
    assert_eq!(state, "closed");
    assert!(b.reminders().await.is_empty());
    let auto: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE detail LIKE 'closed automatically%' AND actor_id IS NULL",
    )
    .fetch_one(&b.pool)
    .await
    .unwrap();
    assert_eq!(auto, 1);
}

#[tokio::test]
async fn reopening_starts_a_new_resolution_cycle_and_stops_auto_close() {
    let mut b = Bench::new().await;
    b.raise("VPN drops").await;
    b.op(&agent(), "REQ-1", TicketOp::Resolve { note: "Reset".into() })
        .await;
    b.at(monday(11, 0)).await;
    b.op(&requester(), "REQ-1", TicketOp::Reopen { reason: "Again".into() })
        .await; // cycle 2 from 11:00
    b.at(monday(12, 30)).await;
    assert_eq!(kinds(&b.reminders().await), ["warn resolution"]);
    b.at(monday(10, 0) + Duration::days(8)).await;
    let state: String = sqlx::query_scalar("SELECT state FROM tickets")
        .fetch_one(&b.pool)
        .await
        .unwrap();
    assert_eq!(state, "in progress", "a reopened ticket never closes itself");
    let cycles: i64 = sqlx::query_scalar("SELECT max(cycle) FROM sla_clocks WHERE clock = 'resolution'")
        .fetch_one(&b.pool)
        .await
        .unwrap();
    assert_eq!(cycles, 2);
}

#[tokio::test]
async fn a_priority_change_retargets_the_clocks_from_when_the_ticket_opened() {
    let mut b = Bench::new().await;
    b.raise("Server room hot").await; // P4: respond 1h
    b.at(monday(10, 10)).await;
    b.op(&agent(), "REQ-1", TicketOp::Priority(Priority::P2)).await; // P2 default: respond 30m, resolve 8h
    b.at(monday(10, 22)).await;
    assert!(b.reminders().await.is_empty());
    b.at(monday(10, 23)).await; // 75 % of 30m from 10:00 = 10:22:30
    assert_eq!(kinds(&b.reminders().await), ["warn response"]);
    b.at(monday(10, 30)).await;
    assert_eq!(kinds(&b.reminders().await), ["warn response", "breach response"]);
    let target: String = sqlx::query_scalar("SELECT target FROM sla_clocks WHERE clock = 'resolution'")
        .fetch_one(&b.pool)
        .await
        .unwrap();
    assert_eq!(target, "8h");
}

#[tokio::test]
async fn business_hour_targets_skip_nights_weekends_and_holidays() {
    let mut b = Bench::new().await;
    let a = admin();
    let c = b.call(&a);
    b.desk
        .setup_sla(&c, TicketKind::Request, Priority::P4, "4bh", "1bd")
        .await
        .unwrap();
    let c = b.call(&a);
    b.desk.setup_holiday(&c, "2026-01-12", "Company day").await.unwrap();
    b.clock.set(Utc.with_ymd_and_hms(2026, 1, 9, 16, 0, 0).unwrap()); // Friday 16:00
    b.raise("Printer offline").await;
    let due: i64 = sqlx::query_scalar("SELECT due_at FROM sla_clocks WHERE clock = 'response'")
        .fetch_one(&b.pool)
        .await
        .unwrap();
    // 1h on Friday, Monday 12 Jan is a holiday, 3h on Tuesday from 09:00.
    assert_eq!(due, to_millis(Utc.with_ymd_and_hms(2026, 1, 13, 12, 0, 0).unwrap()));
    b.at(Utc.with_ymd_and_hms(2026, 1, 12, 23, 0, 0).unwrap()).await;
    assert!(b.reminders().await.is_empty(), "weekend and holiday do not count");
    b.at(Utc.with_ymd_and_hms(2026, 1, 13, 12, 0, 0).unwrap()).await;
    assert!(kinds(&b.reminders().await).contains(&"breach response"));
    let _ = b.clock.now();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminders_that_fell_due_while_the_bot_was_down_arrive_once_at_start() {
    let mut desk = TestDesk::start().await;
    let ada = ada();
    let mia = User::member(1_000_000_000_000_000_002, "mia");
    let bob = User::with_role(1_000_000_000_000_000_004, "bob", AGENT_ROLE);
    desk.setup_basics(&ada).await;
    let r = desk
        .cmd(
            &ada,
            "setup",
            Some("sla"),
            &[
                s("kind", "request"),
                s("priority", "P4"),
                s("respond", "1h"),
                s("resolve", "2h"),
            ],
        )
        .await;
    assert!(text(&r).contains("respond within 1h"), "{}", text(&r));
    for summary in ["One", "Two", "Three"] {
        desk.cmd(
            &mia,
            "request",
            Some("new"),
            &[s("item", "Laptop"), s("summary", summary)],
        )
        .await;
    }
    // REQ-3 is resolved before the stop: it must stay silent.
    desk.cmd(&bob, "ticket", Some("resolve"), &[s("id", "REQ-3"), s("note", "Done")])
        .await;
    desk.stop_bot().await;

    desk.clock.advance(Duration::hours(3)); // past every warning and breach of REQ-1 and REQ-2
    desk.start_bot().await;

    let triage = format!("/channels/{TRIAGE}/messages");
    let reminder = |r: &Recorded| {
        r.path == triage && r.status == 200 && (text(&r.body).contains('⏰') || text(&r.body).contains('🚨'))
    };
    desk.fake
        .wait_for(WAIT, "8 reminders", |rs| {
            (rs.iter().filter(|r| reminder(r)).count() >= 8).then_some(())
        })
        .await;
    // Everything due has fired and been delivered: nothing more can come.
    desk.drain().await;
    let sent: Vec<String> = desk
        .fake
        .requests()
        .iter()
        .filter(|r| reminder(r))
        .map(|r| text(&r.body))
        .collect();
    assert_eq!(sent.len(), 8, "exactly once each: {sent:#?}");
    for id in ["REQ-1", "REQ-2"] {
        let mine: Vec<String> = sent.iter().filter(|t| t.contains(id)).cloned().collect();
        assert_eq!(mine.len(), 4, "{id}: {sent:#?}");
        // Tickets catch up side by side, but each clock still warns before it breaches.
        let order = kinds(&mine);
        for clock in ["response", "resolution"] {
            let at = |k: &str| order.iter().position(|o| *o == format!("{k} {clock}"));
            assert!(at("warn") < at("breach") && at("warn").is_some(), "{id}: {order:?}");
        }
    }
    assert!(
        !sent.iter().any(|t| t.contains("REQ-3")),
        "a resolved ticket was reminded"
    );
    // Each of REQ-1's and REQ-2's clocks is stored as warned and breached at the catch-up.
    let db = desk.db().await;
    let marked: Vec<(i64, bool, bool)> = sqlx::query_as(
        "SELECT t.number, c.warned_at IS NOT NULL, c.breached_at IS NOT NULL
         FROM sla_clocks c JOIN tickets t ON t.id = c.ticket_id ORDER BY t.number, c.clock",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    let settled = |n: i64| marked.iter().filter(|(t, w, b)| *t == n && *w && *b).count();
    assert_eq!((settled(1), settled(2), settled(3)), (2, 2, 0), "{marked:?}");
    // And a second restart sends nothing again.
    desk.stop_bot().await;
    desk.start_bot().await;
    let show = desk.cmd(&bob, "sla", Some("show"), &[s("id", "REQ-1")]).await;
    assert!(text(&show).contains("breached"), "{}", text(&show));
    assert_eq!(desk.fake.requests().iter().filter(|r| reminder(r)).count(), 8);
    // The queue's breaching filter shows the breached tickets, soonest due first, not the resolved one.
    let q = text(&desk.cmd(&bob, "queue", None, &[s("filter", "breaching")]).await);
    assert!(
        q.contains("REQ-1") && q.contains("REQ-2") && !q.contains("REQ-3"),
        "{q}"
    );
    assert!(q.find("REQ-1") < q.find("REQ-2"), "{q}");
    desk.fake.assert_valid();
}
