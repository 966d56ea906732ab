//! The outbox against a misbehaving Discord: 429 with `retry_after`, 5xx, 4xx, and pacing.

use std::time::Duration;

use serde_json::json;
use servicedesk::app::Options;
use servicedesk::outbox::Policy;

use crate::support::*;

fn triage_posts(desk: &TestDesk) -> Vec<Recorded> {
    let path = format!("/channels/{TRIAGE}/messages");
    desk.fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == path)
        .collect()
}

async fn raise(desk: &TestDesk, summary: &str) {
    let r = desk
        .cmd(
            &mia(),
            "request",
            Some("new"),
            &[s("item", "Laptop"), s("summary", summary)],
        )
        .await;
    assert!(text(&r).contains("is raised"), "{}", text(&r));
}

/// Waits until the outbox has nothing pending (the worker recorded every result).
async fn settle(desk: &mut TestDesk) {
    let db = desk.db().await;
    eventually(WAIT, "the outbox to settle", || {
        let db = db.clone();
        async move {
            let n: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE status = 'pending'")
                .fetch_one(&db)
                .await
                .unwrap();
            n == 0
        }
    })
    .await;
}

/// A desk whose outbox sends at most `burst` messages per `window` to one channel.
async fn paced_desk(burst: usize, window: Duration) -> TestDesk {
    let desk = TestDesk::start_with(Options {
        outbox: Policy {
            channel_burst: burst,
            channel_window: window,
            min_gap: Duration::ZERO,
            ..Policy::default()
        },
        ..Options::default()
    })
    .await;
    desk.setup_basics(&ada()).await;
    desk
}

/// The requester comments `n` times on REQ-1 (each comment is a post in triage).
async fn comment_many(desk: &TestDesk, n: usize) {
    for i in 0..n {
        desk.cmd(
            &mia(),
            "ticket",
            Some("comment"),
            &[s("id", "REQ-1"), s("text", &format!("note {i}"))],
        )
        .await;
    }
}

async fn outbox_status(desk: &mut TestDesk) -> Vec<(String, i64)> {
    let db = desk.db().await;
    sqlx::query_as("SELECT status, attempts FROM outbox ORDER BY id")
        .fetch_all(&db)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_is_retried_after_retry_after_and_posts_once() {
    let mut desk = TestDesk::start().await;
    desk.setup_basics(&ada()).await;
    desk.fake.fail_next(Fault {
        method: "POST",
        path_contains: format!("/channels/{TRIAGE}/messages"),
        status: 429,
        body: json!({ "message": "You are being rate limited.", "retry_after": 0.4, "global": false }),
    });
    raise(&desk, "Rate limited").await;
    let posts = desk
        .fake
        .wait_for(WAIT, "the retry", |rs| {
            let p: Vec<Recorded> = rs
                .iter()
                .filter(|r| r.path == format!("/channels/{TRIAGE}/messages"))
                .cloned()
                .collect();
            (p.len() >= 2).then_some(p)
        })
        .await;
    assert_eq!((posts[0].status, posts[1].status), (429, 200));
    assert!(
        posts[1].at.duration_since(posts[0].at) >= Duration::from_millis(400),
        "retried before retry_after"
    );
    assert_eq!(
        posts[0].body["nonce"], posts[1].body["nonce"],
        "the retry carries the same nonce"
    );
    assert_eq!(posts[1].body["enforce_nonce"], true);
    settle(&mut desk).await;
    assert_eq!(outbox_status(&mut desk).await, vec![("sent".to_owned(), 2)]);
    assert_eq!(
        triage_posts(&desk).iter().filter(|r| r.status == 200).count(),
        1,
        "posted once"
    );
    desk.fake.assert_valid();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_5xx_is_retried_with_backoff_and_posts_once() {
    let mut desk = TestDesk::start().await;
    desk.setup_basics(&ada()).await;
    for status in [500, 502] {
        desk.fake.fail_next(Fault {
            method: "POST",
            path_contains: format!("/channels/{TRIAGE}/messages"),
            status,
            body: json!({ "message": "upstream trouble", "code": 0 }),
        });
    }
    raise(&desk, "Flaky Discord").await;
    let posts = desk
        .fake
        .wait_for(Duration::from_secs(20), "two retries", |rs| {
            let p: Vec<Recorded> = rs
                .iter()
                .filter(|r| r.path == format!("/channels/{TRIAGE}/messages"))
                .cloned()
                .collect();
            p.iter().any(|r| r.status == 200).then_some(p)
        })
        .await;
    assert_eq!(posts.iter().map(|r| r.status).collect::<Vec<_>>(), vec![500, 502, 200]);
    // Backoff grows: the second wait is longer than the first (exponential, ±25 % jitter).
    let (w1, w2) = (posts[1].at - posts[0].at, posts[2].at - posts[1].at);
    assert!(w1 >= Duration::from_millis(370) && w2 > w1, "waits {w1:?} then {w2:?}");
    settle(&mut desk).await;
    assert_eq!(outbox_status(&mut desk).await, vec![("sent".to_owned(), 3)]);
    desk.fake.assert_valid();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_403_is_not_retried_is_kept_as_failed_and_does_not_block_the_channel() {
    let mut desk = TestDesk::start().await;
    desk.setup_basics(&ada()).await;
    desk.fake.fail_next(Fault {
        method: "POST",
        path_contains: format!("/channels/{TRIAGE}/messages"),
        status: 403,
        body: json!({ "message": "Missing Permissions", "code": 50013 }),
    });
    raise(&desk, "Forbidden").await;
    raise(&desk, "Allowed").await;
    desk.fake
        .wait_for(WAIT, "the second card", |rs| {
            rs.iter()
                .find(|r| r.status == 200 && text(&r.body).contains("REQ-2"))
                .map(|_| ())
        })
        .await;
    settle(&mut desk).await;
    let posts = triage_posts(&desk);
    assert_eq!(
        posts.iter().filter(|r| text(&r.body).contains("REQ-1")).count(),
        1,
        "a 403 must not be retried"
    );
    let status = outbox_status(&mut desk).await;
    assert_eq!(status[0], ("failed".to_owned(), 1));
    assert_eq!(status[1].0, "sent");
    let db = desk.db().await;
    let err: String = sqlx::query_scalar("SELECT last_error FROM outbox WHERE status = 'failed'")
        .fetch_one(&db)
        .await
        .unwrap();
    assert!(
        err.starts_with("50013: 403"),
        "Discord's code and status are kept: {err}"
    );
    desk.fake.assert_valid();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_channel_pacing_holds_under_a_burst_of_50() {
    // The real policy is 5 per 5 s; the test keeps the burst and shrinks the window to 500 ms.
    assert_eq!(
        (Policy::default().channel_burst, Policy::default().channel_window),
        (5, Duration::from_secs(5))
    );
    let window = Duration::from_millis(500);
    let mut desk = paced_desk(5, window).await;
    raise(&desk, "Chatty").await;
    comment_many(&desk, 49).await;
    let posts = desk
        .fake
        .wait_for(Duration::from_secs(30), "50 posts", |rs| {
            let p: Vec<Recorded> = rs
                .iter()
                .filter(|r| r.path == format!("/channels/{TRIAGE}/messages") && r.status == 200)
                .cloned()
                .collect();
            (p.len() >= 50).then_some(p)
        })
        .await;
    assert_eq!(posts.len(), 50);
    for (i, p) in posts.iter().enumerate().skip(5) {
        let gap = p.at.duration_since(posts[i - 5].at);
        assert!(gap >= window, "posts {} and {i} only {gap:?} apart", i - 5);
    }
    // In order, each once.
    let nonces: std::collections::HashSet<String> = posts.iter().map(|p| p.body["nonce"].to_string()).collect();
    assert_eq!(nonces.len(), 50);
    for (i, p) in posts.iter().enumerate().skip(1) {
        assert!(
            text(&p.body).contains(&format!("note {}", i - 1)),
            "out of order at {i}"
        );
    }
    settle(&mut desk).await;
    let sent: i64 = {
        let db = desk.db().await;
        sqlx::query_scalar("SELECT count(*) FROM outbox WHERE status = 'sent'")
            .fetch_one(&db)
            .await
            .unwrap()
    };
    assert_eq!(sent, 50);
    desk.fake.assert_valid();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_with_a_long_backlog_does_not_hold_up_other_channels() {
    // Triage may take one post a minute, so everything queued for it waits; more of it than the
    // worker reads at once must not keep the incidents channel (or anyone's DMs) waiting too.
    let mut desk = paced_desk(1, Duration::from_secs(60)).await;
    raise(&desk, "Backlog").await;
    comment_many(&desk, 240).await;
    let pending: i64 = {
        let db = desk.db().await;
        sqlx::query_scalar("SELECT count(*) FROM outbox WHERE status = 'pending' AND channel_id = ?")
            .bind(TRIAGE as i64)
            .fetch_one(&db)
            .await
            .unwrap()
    };
    assert!(pending >= 240, "triage should be backed up, {pending} pending");
    let reply = desk
        .cmd(
            &mia(),
            "incident",
            Some("new"),
            &[s("title", "Printer on fire"), s("impact", "low"), s("urgency", "low")],
        )
        .await;
    assert!(text(&reply).contains("INC-1"), "{}", text(&reply));
    desk.fake
        .wait_for(Duration::from_secs(10), "the incident card", |rs| {
            rs.iter()
                .find(|r| r.path == format!("/channels/{INCIDENTS}/messages") && r.status == 200)
                .map(|_| ())
        })
        .await;
    let triage_sent = triage_posts(&desk).iter().filter(|r| r.status == 200).count();
    assert_eq!(triage_sent, 1, "triage kept its pace of one post a minute");
    desk.fake.assert_valid();
}

/// A desk whose retries are quick (milliseconds, not seconds) and give up after `retry_for`,
/// with Una on call at level 1.
async fn quick_retry_desk(retry_for: Duration) -> (TestDesk, User) {
    let desk = TestDesk::start_with(Options {
        outbox: Policy {
            min_gap: Duration::ZERO,
            // Every attempt counts against the recipient's 5-per-window pacing, as on Discord.
            channel_window: Duration::from_millis(20),
            backoff_base: Duration::from_millis(2),
            backoff_cap: Duration::from_millis(10),
            retry_for,
            ..Policy::default()
        },
        ..Options::default()
    })
    .await;
    desk.setup_basics(&ada()).await;
    let una = User::member(1_000_000_000_000_000_011, "una");
    desk.put_on_call(1, &una).await;
    (desk, una)
}

/// The next `n` DMs to `who` meet `status` (a Discord outage, as the bot sees it).
fn fail_dms(desk: &TestDesk, who: &User, n: usize, status: u16, message: &str) {
    for _ in 0..n {
        desk.fake.fail_next(Fault {
            method: "POST",
            path_contains: format!("/channels/{}/messages", dm_channel(who.id)),
            status,
            body: json!({ "message": message, "code": 0 }),
        });
    }
}

fn dm_posts(desk: &TestDesk, user: u64) -> Vec<Recorded> {
    let path = format!("/channels/{}/messages", dm_channel(user));
    desk.fake.requests().into_iter().filter(|r| r.path == path).collect()
}

async fn page_p1(desk: &TestDesk) {
    let r = desk.report_p1(&mia(), "Mail is down").await;
    assert!(r.contains("INC-1"), "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_outlasts_a_discord_outage_and_arrives_once() {
    let (mut desk, una) = quick_retry_desk(servicedesk::outbox::RETRY_FOR).await;
    // The DM route answers 503 eleven times in a row (more than the old ten attempts).
    fail_dms(&desk, &una, 11, 503, "Service Unavailable");
    page_p1(&desk).await;
    desk.fake
        .wait_for(WAIT, "the page after the outage", |rs| {
            rs.iter()
                .find(|r| r.path == format!("/channels/{}/messages", dm_channel(una.id)) && r.status == 200)
                .map(|_| ())
        })
        .await;
    settle(&mut desk).await;
    let posts = dm_posts(&desk, una.id);
    let statuses: Vec<u16> = posts.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [vec![503; 11], vec![200]].concat(),
        "eleven refusals, then one delivery"
    );
    assert!(
        posts.iter().all(|r| r.body["nonce"] == posts[0].body["nonce"]),
        "every attempt is the same message"
    );
    let db = desk.db().await;
    let (status, attempts, first_failure): (String, i64, Option<i64>) =
        sqlx::query_as("SELECT status, attempts, first_failure_at FROM outbox WHERE user_id = ?")
            .bind(i64::try_from(una.id).unwrap())
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!((status.as_str(), attempts), ("sent", 12));
    assert!(first_failure.is_some(), "the first failure is remembered");
    desk.fake.assert_valid();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_is_failed_only_when_its_retry_window_is_over() {
    let (mut desk, una) = quick_retry_desk(Duration::from_millis(150)).await;
    fail_dms(&desk, &una, 10_000, 502, "Bad Gateway");
    page_p1(&desk).await;
    settle(&mut desk).await;
    let db = desk.db().await;
    let (status, error): (String, String) = sqlx::query_as("SELECT status, last_error FROM outbox WHERE user_id = ?")
        .bind(i64::try_from(una.id).unwrap())
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(status, "failed");
    assert!(error.starts_with("still failing after"), "{error}");
    let posts = dm_posts(&desk, una.id);
    let span = posts.last().unwrap().at - posts[0].at;
    // The window counts from the first failure's answer to the last failure's answer, so the
    // requests the fake saw span it less one round trip (which a loaded machine can stretch);
    // the exact boundary is a unit test of the outbox.
    assert!(
        span >= Duration::from_millis(75),
        "retried across the window, not given up early: {span:?}"
    );
    // Never more often than the backoff allows: at least 2 ms apart at the start.
    assert!(posts.len() < 150, "{} attempts in {span:?}", posts.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_p1_raised_behind_a_backlog_of_2000_cards_goes_out_at_the_next_free_slot() {
    // Discord's own pace: 5 messages per 5 s per channel.
    let mut desk = TestDesk::start().await;
    desk.setup_basics(&ada()).await;
    let db = desk.db().await;
    // 2,000 P4 messages already queued for the incidents channel (an outage storm's cards).
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
         INSERT INTO outbox (guild_id, op, channel_id, payload, created_at, next_attempt_at, rank)
         SELECT ?, 'post', ?, json_object('content', 'backlog ' || i, 'allowed_mentions', json_object('parse', json_array())), 0, 0, 4
         FROM n",
    )
    .bind(i64::try_from(GUILD).unwrap())
    .bind(i64::try_from(INCIDENTS).unwrap())
    .execute(&db)
    .await
    .unwrap();
    let incidents = format!("/channels/{INCIDENTS}/messages");
    // Any commit wakes the outbox: it fills the channel's window with five of the backlog.
    desk.raise_request(&mia(), "A laptop").await;
    desk.fake
        .wait_for(WAIT, "the window filled by the backlog", |rs| {
            (rs.iter().filter(|r| r.path == incidents).count() >= 5).then_some(())
        })
        .await;
    let raised = std::time::Instant::now();
    let r = desk.report_p1(&mia(), "Everything is down").await;
    assert!(r.contains("INC-1"), "{r}");
    let (first_after, at) = desk
        .fake
        .wait_for(
            Duration::from_secs(15),
            "the next post in the incidents channel",
            |rs| {
                rs.iter()
                    .filter(|r| r.path == incidents && r.at > raised)
                    .map(|r| (text(&r.body), r.at))
                    .next()
            },
        )
        .await;
    assert!(
        first_after.contains("INC-1"),
        "the P1's card goes first, not the backlog: {first_after}"
    );
    // The next slot of the 5-per-5-s window (plus the scheduling of a loaded test machine).
    assert!(at - raised <= Duration::from_secs(6), "{:?}", at - raised);
    let backlog_left: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE status = 'pending' AND rank = 4")
        .fetch_one(&db)
        .await
        .unwrap();
    assert!(backlog_left > 1900, "the backlog waits its turn: {backlog_left}");
    desk.fake.assert_valid();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_raised_to_p1_while_queued_moves_up_with_its_edit_behind_it() {
    let mut desk = paced_desk(1, Duration::from_secs(3600)).await;
    let db = desk.db().await;
    // One post fills triage's window for the hour; a backlog of P5 notices waits behind it.
    desk.raise_request(&mia(), "First").await;
    desk.fake
        .wait_for(WAIT, "the first card", |rs| {
            rs.iter()
                .find(|r| r.path == format!("/channels/{TRIAGE}/messages"))
                .map(|_| ())
        })
        .await;
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50)
         INSERT INTO outbox (guild_id, op, channel_id, payload, created_at, next_attempt_at, rank)
         SELECT ?, 'post', ?, json_object('content', 'backlog ' || i), 0, 0, 5 FROM n",
    )
    .bind(i64::try_from(GUILD).unwrap())
    .bind(i64::try_from(TRIAGE).unwrap())
    .execute(&db)
    .await
    .unwrap();
    desk.raise_request(&mia(), "Second").await; // REQ-2: a P4 card, queued behind the window
    let r = desk
        .cmd(
            &bob(),
            "ticket",
            Some("priority"),
            &[s("id", "REQ-2"), s("priority", "P1")],
        )
        .await;
    assert!(text(&r).contains("now P1"), "{}", text(&r));
    let ranks: Vec<(String, i64)> = sqlx::query_as(
        "SELECT op, rank FROM outbox o JOIN tickets t ON t.id = o.ticket_id WHERE t.number = 2 AND o.status = 'pending' ORDER BY o.id",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(
        ranks,
        vec![("post".to_owned(), 1), ("edit_card".to_owned(), 1)],
        "the card and its edit are now P1's"
    );
    let (next,): (i64,) =
        sqlx::query_as("SELECT id FROM outbox WHERE status = 'pending' AND channel_id = ? ORDER BY rank, id LIMIT 1")
            .bind(i64::try_from(TRIAGE).unwrap())
            .fetch_one(&db)
            .await
            .unwrap();
    let (is_card,): (bool,) = sqlx::query_as("SELECT is_card FROM outbox WHERE id = ?")
        .bind(next)
        .fetch_one(&db)
        .await
        .unwrap();
    assert!(is_card, "REQ-2's card is next in triage, ahead of 50 older notices");
}
