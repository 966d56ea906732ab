//! What the desk survives: a dropped gateway, a REST storm of 429s and 5xx, and SIGKILL in the
//! middle of a burst of interactions.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::json;

use crate::support::*;

fn raise_payload(desk_fake: &FakeDiscord, summary: &str) -> (u64, serde_json::Value) {
    let id = desk_fake.snowflake();
    (
        id,
        slash(
            id,
            GUILD,
            &mia(),
            "request",
            Some("new"),
            &[s("item", "Laptop"), s("summary", summary)],
            &[],
        ),
    )
}

fn callbacks(fake: &FakeDiscord, id: u64) -> usize {
    let path = format!("/interactions/{id}/token-{id}/callback");
    fake.requests().iter().filter(|r| r.path == path).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_dropped_gateway_the_bot_resumes_applies_replays_once_and_answers() {
    let mut desk = TestDesk::start().await;
    desk.setup_basics(&ada()).await;
    let (before, p) = raise_payload(&desk.fake, "Before the drop");
    assert!(text(&desk.send(p).await).contains("REQ-1 is raised"));

    // Discord drops the connection; on RESUME it replays the last two events too.
    desk.fake.replay_overlap(2);
    desk.fake.close_gateway(4000);
    let (during, p) = raise_payload(&desk.fake, "During the drop");
    desk.fake.dispatch("INTERACTION_CREATE", p);
    desk.fake
        .wait_for(WAIT, "the resumed session to answer", |rs| {
            rs.iter()
                .find(|r| r.path == format!("/interactions/{during}/token-{during}/callback"))
                .map(|_| ())
        })
        .await;
    let (identifies, resumes) = desk.fake.gateway_counts();
    assert_eq!(
        (identifies, resumes),
        (1, 1),
        "the bot resumed rather than identifying again"
    );

    let (after, p) = raise_payload(&desk.fake, "After the resume");
    assert!(text(&desk.send(p).await).contains("REQ-3 is raised"));
    let db = desk.db().await;
    let summaries: Vec<String> = sqlx::query_scalar("SELECT title FROM tickets ORDER BY number")
        .fetch_all(&db)
        .await
        .unwrap();
    assert_eq!(summaries, ["Before the drop", "During the drop", "After the resume"]);
    for id in [before, during, after] {
        assert_eq!(callbacks(&desk.fake, id), 1, "interaction {id} answered once");
    }
    desk.fake.assert_valid();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_of_429s_and_5xx_loses_nothing_and_posts_nothing_twice() {
    let desk = TestDesk::start().await;
    desk.setup_basics(&ada()).await;
    let path = format!("/channels/{TRIAGE}/messages");
    for status in [429, 500, 429, 502, 503] {
        let body = if status == 429 {
            json!({ "message": "You are being rate limited.", "retry_after": 0.2, "global": false })
        } else {
            json!({ "message": "Service Unavailable", "code": 0 })
        };
        desk.fake.fail_next(Fault {
            method: "POST",
            path_contains: path.clone(),
            status,
            body,
        });
    }
    for i in 1..=4 {
        let (_, p) = raise_payload(&desk.fake, &format!("Storm {i}"));
        assert!(text(&desk.send(p).await).contains("is raised"));
    }
    desk.fake
        .wait_for(Duration::from_secs(60), "all four cards", |rs| {
            let ok = rs.iter().filter(|r| r.path == path && r.status == 200).count();
            (ok >= 4).then_some(())
        })
        .await;
    let posts: Vec<Recorded> = desk.fake.requests().into_iter().filter(|r| r.path == path).collect();
    let mut delivered: HashMap<String, usize> = HashMap::new();
    for p in posts.iter().filter(|p| p.status == 200) {
        *delivered.entry(p.body["nonce"].to_string()).or_default() += 1;
    }
    assert_eq!(delivered.len(), 4, "four distinct cards");
    assert!(delivered.values().all(|n| *n == 1), "each posted once: {delivered:?}");
    assert_eq!(
        posts.iter().filter(|p| p.status != 200).count(),
        5,
        "every fault was met once, none extra"
    );
    desk.fake.assert_valid();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_burst_keeps_every_answered_ticket_exactly_once() {
    const BURST: usize = 60;
    let fake = FakeDiscord::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}", dir.path().join("desk.db").display());
    let spawn = |fake: &FakeDiscord| spawn_bot(env!("CARGO_BIN_EXE_servicedesk"), fake, dir.path(), &db_url, "warn");
    let registered = |fake: &FakeDiscord| {
        fake.requests()
            .iter()
            .filter(|r| r.method == "PUT" && r.path.ends_with("/commands"))
            .count()
    };
    let mut child = spawn(&fake);
    fake.wait_for(WAIT, "registration", |rs| {
        rs.iter()
            .any(|r| r.method == "PUT" && r.path.ends_with("/commands"))
            .then_some(())
    })
    .await;
    fake.wait_connected(WAIT).await;
    // Setup through the bot itself.
    for (sub, opts) in [
        ("channel", vec![s("purpose", "triage"), ch("channel", TRIAGE)]),
        ("catalog-add", vec![s("name", "Laptop"), s("description", "A laptop")]),
    ] {
        let id = fake.snowflake();
        fake.dispatch(
            "INTERACTION_CREATE",
            slash(id, GUILD, &ada(), "setup", Some(sub), &opts, &[]),
        );
        fake.wait_for(WAIT, "setup", |rs| {
            rs.iter()
                .any(|r| r.path == format!("/interactions/{id}/token-{id}/callback"))
                .then_some(())
        })
        .await;
    }

    // A burst; SIGKILL once a third of it has been answered.
    let payloads: Vec<(u64, serde_json::Value)> = (0..BURST)
        .map(|i| raise_payload(&fake, &format!("Burst {i}")))
        .collect();
    for (_, p) in &payloads {
        fake.dispatch("INTERACTION_CREATE", p.clone());
    }
    let answered_path = |id: u64| format!("/interactions/{id}/token-{id}/callback");
    fake.wait_for(WAIT, "a third answered", |rs| {
        let n = payloads
            .iter()
            .filter(|(id, _)| rs.iter().any(|r| r.path == answered_path(*id)))
            .count();
        (n >= BURST / 3).then_some(())
    })
    .await;
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    let success: Vec<String> = payloads
        .iter()
        .enumerate()
        .filter(|(_, (id, _))| {
            fake.requests()
                .iter()
                .any(|r| r.path == answered_path(*id) && text(&r.body["data"]).contains("is raised"))
        })
        .map(|(i, _)| format!("Burst {i}"))
        .collect();
    assert!(!success.is_empty());

    // Restart on the same database; the store must be intact and every answered ticket there once.
    let before = registered(&fake);
    let mut child = spawn(&fake);
    fake.wait_for(WAIT, "re-registration", |rs| {
        (rs.iter()
            .filter(|r| r.method == "PUT" && r.path.ends_with("/commands"))
            .count()
            > before)
            .then_some(())
    })
    .await;
    fake.wait_connected(WAIT).await;
    let pool = servicedesk::store::connect(&db_url).await.unwrap();
    let ok: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(ok, "ok");
    let count = |title: String| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM tickets WHERE title = ?")
                .bind(title)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    for t in &success {
        assert_eq!(
            count(t.clone()).await,
            1,
            "{t} answered as raised, so it exists exactly once"
        );
    }
    let tickets: i64 = sqlx::query_scalar("SELECT count(*) FROM tickets")
        .fetch_one(&pool)
        .await
        .unwrap();
    let created: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'created'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(tickets, created, "the audit trail matches the tickets");

    // Replaying every interaction of the burst creates nothing twice.
    let ids: Vec<i64> = payloads.iter().map(|(id, _)| i64::try_from(*id).unwrap()).collect();
    let applied_before = {
        let mut n = 0i64;
        for id in &ids {
            n += sqlx::query_scalar::<_, i64>("SELECT count(*) FROM interactions WHERE id = ?")
                .bind(id)
                .fetch_one(&pool)
                .await
                .unwrap();
        }
        n
    };
    for (_, p) in &payloads {
        fake.dispatch("INTERACTION_CREATE", p.clone());
    }
    let burst = i64::try_from(BURST).unwrap();
    let (lo, hi) = (*ids.iter().min().unwrap(), *ids.iter().max().unwrap());
    eventually(Duration::from_secs(30), "the replay to be processed", || {
        let pool = pool.clone();
        async move {
            let (present, redelivered): (i64, i64) = sqlx::query_as(
                "SELECT count(*), coalesce(sum(redeliveries), 0) FROM interactions WHERE id BETWEEN ? AND ?",
            )
            .bind(lo)
            .bind(hi)
            .fetch_one(&pool)
            .await
            .unwrap();
            present == burst && redelivered == applied_before
        }
    })
    .await;
    for t in &success {
        assert_eq!(count(t.clone()).await, 1, "{t} after the replay");
    }
    let titles: Vec<String> = sqlx::query_scalar("SELECT title FROM tickets")
        .fetch_all(&pool)
        .await
        .unwrap();
    let mut seen = std::collections::HashSet::new();
    assert!(titles.iter().all(|t| seen.insert(t.clone())), "no ticket twice");
    child.start_kill().unwrap();
    child.wait().await.unwrap();
}
