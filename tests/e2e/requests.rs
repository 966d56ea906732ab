//! Service requests end to end: the real bot against the fake Discord.

use serde_json::Value;
use sqlx::Row;

use crate::support::*;

fn tom() -> User {
    User::member(1_000_000_000_000_000_003, "tom")
}

/// The newest recorded POST to a channel, as (request body, message id answered).
fn last_post(desk: &TestDesk, channel: u64) -> Option<(Value, u64)> {
    let path = format!("/channels/{channel}/messages");
    desk.fake
        .requests()
        .into_iter()
        .rfind(|r| r.method == "POST" && r.path == path && r.status == 200)
        .map(|r| (r.body, r.response["id"].as_str().unwrap().parse().unwrap()))
}

async fn wait_posts(desk: &TestDesk, path: String, n: usize) -> Vec<Recorded> {
    desk.fake
        .wait_for(WAIT, &format!("{n} request(s) to {path}"), |rs| {
            let found: Vec<Recorded> = rs
                .iter()
                .filter(|r| r.path == path && r.status == 200)
                .cloned()
                .collect();
            (found.len() >= n).then_some(found)
        })
        .await
}

async fn raise(desk: &TestDesk, who: &User, summary: &str) -> Value {
    desk.cmd(
        who,
        "request",
        Some("new"),
        &[
            s("item", "Laptop"),
            s("summary", summary),
            s("details", "Since this morning"),
        ],
    )
    .await
}

async fn audit_count(desk: &mut TestDesk) -> i64 {
    let db = desk.db().await;
    sqlx::query_scalar("SELECT count(*) FROM audit_log")
        .fetch_one(&db)
        .await
        .unwrap()
}

async fn ticket_row(desk: &mut TestDesk, guild: u64, number: i64) -> sqlx::sqlite::SqliteRow {
    let db = desk.db().await;
    sqlx::query("SELECT * FROM tickets WHERE guild_id = ? AND kind = 'request' AND number = ?")
        .bind(guild as i64)
        .bind(number)
        .fetch_one(&db)
        .await
        .unwrap()
}

fn buttons(body: &Value) -> Vec<(String, bool)> {
    body["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .map(|b| {
            (
                b["label"].as_str().unwrap_or("").to_owned(),
                b["disabled"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_goes_from_raised_to_closed_through_buttons_comments_and_a_reopen() {
    let mut desk = TestDesk::start().await;
    let (ada, mia, bob) = (ada(), mia(), bob());
    desk.setup_basics(&ada).await;

    // The member raises a request: a private confirmation, and a card in triage.
    let reply = raise(&desk, &mia, "My laptop will not boot").await;
    assert!(is_ephemeral(&reply));
    assert!(text(&reply).contains("REQ-1 is raised"), "{}", text(&reply));
    let triage = format!("/channels/{TRIAGE}/messages");
    wait_posts(&desk, triage.clone(), 1).await;
    let (card, card_id) = last_post(&desk, TRIAGE).unwrap();
    assert!(
        text(&card).contains("REQ-1 · My laptop will not boot"),
        "{}",
        text(&card)
    );
    assert_eq!(buttons(&card), vec![("Claim".into(), false), ("Resolve".into(), false)]);
    assert_eq!(card["allowed_mentions"]["parse"], serde_json::json!([]));
    assert!(card["nonce"].is_string() && card["enforce_nonce"] == true);

    // The agent claims it with the button; the card shows the new state.
    let claim = desk
        .send(button(
            desk.fake.snowflake(),
            GUILD,
            &bob,
            "claim:REQ-1",
            TRIAGE,
            card_id,
        ))
        .await;
    assert!(text(&claim).contains("You claimed REQ-1"), "{}", text(&claim));
    let edit_path = format!("/channels/{TRIAGE}/messages/{card_id}");
    let edits = wait_posts(&desk, edit_path.clone(), 1).await;
    assert!(
        text(&edits[0].body).contains("State: in progress"),
        "{}",
        text(&edits[0].body)
    );
    assert_eq!(buttons(&edits[0].body)[0], ("Claim".into(), true));

    // They exchange comments: the member's reaches triage pinging the agent only; the agent's
    // reaches the member by DM.
    let c1 = desk
        .cmd(
            &mia,
            "ticket",
            Some("comment"),
            &[s("id", "REQ-1"), s("text", "It shows a blue screen")],
        )
        .await;
    assert!(text(&c1).contains("Your comment is on REQ-1"));
    let notices = wait_posts(&desk, triage.clone(), 2).await;
    let notice = &notices[1].body;
    assert!(text(notice).contains("It shows a blue screen"));
    assert_eq!(
        notice["allowed_mentions"]["users"],
        serde_json::json!([bob.id.to_string()])
    );
    let c2 = desk
        .cmd(
            &bob,
            "ticket",
            Some("comment"),
            &[s("id", "req-1"), s("text", "Hold the power button for 10 s")],
        )
        .await;
    assert!(text(&c2).contains("Your comment is on REQ-1"));
    let dm_path = format!("/channels/{}/messages", dm_channel(mia.id));
    let dms = wait_posts(&desk, dm_path.clone(), 1).await;
    assert!(text(&dms[0].body).contains("Hold the power button"));

    // Resolve with the button opens a modal; submitting it resolves with the note.
    let modal = desk
        .send(button(
            desk.fake.snowflake(),
            GUILD,
            &bob,
            "resolve:REQ-1",
            TRIAGE,
            card_id,
        ))
        .await;
    assert_eq!(modal["type"], 9, "a modal: {modal}");
    assert_eq!(modal["data"]["custom_id"], "resolve-note:REQ-1");
    let done = desk
        .send(modal_submit(
            desk.fake.snowflake(),
            GUILD,
            &bob,
            "resolve-note:REQ-1",
            &[("note", "Reseated the RAM")],
        ))
        .await;
    assert!(text(&done).contains("REQ-1 is resolved"), "{}", text(&done));
    let dms = wait_posts(&desk, dm_path.clone(), 2).await;
    assert!(text(&dms[1].body).contains("Reseated the RAM"));

    // The member reopens; the agent resolves again; the member closes.
    let re = desk
        .cmd(
            &mia,
            "ticket",
            Some("reopen"),
            &[s("id", "REQ-1"), s("reason", "It broke again")],
        )
        .await;
    assert!(text(&re).contains("REQ-1 is reopened"), "{}", text(&re));
    let again = desk
        .cmd(
            &bob,
            "ticket",
            Some("resolve"),
            &[s("id", "REQ-1"), s("note", "Replaced the disk")],
        )
        .await;
    assert!(text(&again).contains("REQ-1 is resolved"), "{}", text(&again));
    let closed = desk.cmd(&mia, "ticket", Some("close"), &[s("id", "REQ-1")]).await;
    assert!(text(&closed).contains("REQ-1 is closed"), "{}", text(&closed));

    // The card ends closed, without buttons.
    let final_card = desk
        .fake
        .wait_for(WAIT, "the card to show closed", |rs| {
            rs.iter()
                .rfind(|r| r.path == edit_path)
                .filter(|r| text(&r.body).contains("State: closed"))
                .map(|r| r.body.clone())
        })
        .await;
    assert!(buttons(&final_card).is_empty());

    // The member sees the whole story.
    let show = desk.cmd(&mia, "ticket", Some("show"), &[s("id", "REQ-1")]).await;
    let shown = text(&show);
    assert!(is_ephemeral(&show));
    for needle in [
        "State: closed",
        "Priority: P4",
        "Assignee: <@",
        "Replaced the disk",
        "Timeline",
    ] {
        assert!(shown.contains(needle), "{needle} missing in {shown}");
    }

    // The audit trail has exactly the transitions taken, in order.
    let db = desk.db().await;
    let states: Vec<(String, String)> =
        sqlx::query("SELECT old_value, new_value FROM audit_log WHERE action = 'state' ORDER BY id")
            .fetch_all(&db)
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
    let expected = [
        ("new", "in progress"),
        ("in progress", "resolved"),
        ("resolved", "in progress"),
        ("in progress", "resolved"),
        ("resolved", "closed"),
    ];
    assert_eq!(states, expected.map(|(a, b)| (a.to_owned(), b.to_owned())).to_vec());
    let row = ticket_row(&mut desk, GUILD, 1).await;
    assert_eq!(row.get::<String, _>("state"), "closed");
    assert_eq!(row.get::<Option<i64>, _>("assignee_id"), Some(bob.id as i64));
    desk.fake.assert_valid();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_without_the_right_are_refused_and_nothing_changes() {
    let mut desk = TestDesk::start().await;
    let (ada, mia, tom, bob) = (ada(), mia(), tom(), bob());
    desk.setup_basics(&ada).await;
    raise(&desk, &mia, "Need a monitor").await;
    wait_posts(&desk, format!("/channels/{TRIAGE}/messages"), 1).await;
    let (_, card_id) = last_post(&desk, TRIAGE).unwrap();
    let before = audit_count(&mut desk).await;

    // A member who is not an agent clicks Claim on someone else's ticket.
    let r = desk
        .send(button(
            desk.fake.snowflake(),
            GUILD,
            &tom,
            "claim:REQ-1",
            TRIAGE,
            card_id,
        ))
        .await;
    assert!(is_ephemeral(&r));
    assert!(
        text(&r).contains("There is no REQ-1 among your tickets"),
        "{}",
        text(&r)
    );
    // The requester cannot claim their own ticket either.
    let r = desk.cmd(&mia, "ticket", Some("claim"), &[s("id", "REQ-1")]).await;
    assert!(text(&r).contains("only service desk agents"), "{}", text(&r));
    // A member cannot view another member's ticket.
    let r = desk.cmd(&tom, "ticket", Some("show"), &[s("id", "REQ-1")]).await;
    assert!(
        is_ephemeral(&r) && text(&r).contains("There is no REQ-1 among your tickets"),
        "{}",
        text(&r)
    );
    // A member cannot read the queue or change settings.
    let r = desk.cmd(&tom, "queue", None, &[]).await;
    assert!(text(&r).contains("only service desk agents"), "{}", text(&r));
    let r = desk
        .cmd(
            &bob,
            "setup",
            Some("role"),
            &[s("purpose", "agent"), crate::support::r("role", 5)],
        )
        .await;
    assert!(text(&r).contains("Only server admins"), "{}", text(&r));
    // Unknown and malformed ids.
    let r = desk.cmd(&bob, "ticket", Some("show"), &[s("id", "REQ-99")]).await;
    assert!(text(&r).contains("There is no REQ-99 in this server"), "{}", text(&r));
    let r = desk.cmd(&bob, "ticket", Some("claim"), &[s("id", "laptop")]).await;
    assert!(text(&r).contains("is not a ticket id"), "{}", text(&r));
    let r = desk.cmd(&bob, "ticket", Some("claim"), &[s("id", "1")]).await;
    assert!(text(&r).contains("needs its prefix"), "{}", text(&r));
    // Assigning to someone who is not an agent.
    let r = desk
        .cmd_in(
            GUILD,
            &bob,
            "ticket",
            Some("assign"),
            &[s("id", "REQ-1"), u("user", tom.id)],
            std::slice::from_ref(&tom),
        )
        .await;
    assert!(text(&r).contains("is not a service desk agent"), "{}", text(&r));

    assert_eq!(
        audit_count(&mut desk).await,
        before,
        "a refusal wrote to the audit trail"
    );
    let row = ticket_row(&mut desk, GUILD, 1).await;
    assert_eq!(row.get::<String, _>("state"), "new");
    assert_eq!(row.get::<Option<i64>, _>("assignee_id"), None);
    desk.fake.assert_valid();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_clear_private_error_and_writes_nothing() {
    let mut desk = TestDesk::start().await;
    let (ada, mia, bob) = (ada(), mia(), bob());
    desk.setup_basics(&ada).await;

    // A summary over 100 characters.
    let long = "x".repeat(101);
    let r = desk
        .cmd(
            &mia,
            "request",
            Some("new"),
            &[s("item", "Laptop"), s("summary", &long)],
        )
        .await;
    assert!(is_ephemeral(&r));
    assert!(
        text(&r).contains("The summary is 101 characters long; the limit is 100"),
        "{}",
        text(&r)
    );
    // An item not in the catalog.
    let r = desk
        .cmd(
            &mia,
            "request",
            Some("new"),
            &[s("item", "Yacht"), s("summary", "Please")],
        )
        .await;
    assert!(text(&r).contains("is not in the service catalog"), "{}", text(&r));
    let db = desk.db().await;
    let tickets: i64 = sqlx::query_scalar("SELECT count(*) FROM tickets")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(tickets, 0);

    raise(&desk, &mia, "Keyboard sticks").await;
    let before = audit_count(&mut desk).await;
    // Resolve without a note (blank in the modal, or only spaces in the command).
    let r = desk
        .send(modal_submit(
            desk.fake.snowflake(),
            GUILD,
            &bob,
            "resolve-note:REQ-1",
            &[("note", "   ")],
        ))
        .await;
    assert!(text(&r).contains("The resolution note is empty"), "{}", text(&r));
    let r = desk
        .cmd(&bob, "ticket", Some("resolve"), &[s("id", "REQ-1"), s("note", " ")])
        .await;
    assert!(text(&r).contains("The resolution note is empty"), "{}", text(&r));
    assert_eq!(audit_count(&mut desk).await, before);

    // A closed ticket cannot be put on hold.
    desk.cmd(
        &bob,
        "ticket",
        Some("resolve"),
        &[s("id", "REQ-1"), s("note", "Cleaned it")],
    )
    .await;
    desk.cmd(&mia, "ticket", Some("close"), &[s("id", "REQ-1")]).await;
    let before = audit_count(&mut desk).await;
    let r = desk
        .cmd(
            &bob,
            "ticket",
            Some("hold"),
            &[s("id", "REQ-1"), s("reason", "awaiting-vendor")],
        )
        .await;
    assert!(is_ephemeral(&r));
    assert_eq!(text(&r), "REQ-1 is closed: only open tickets can be put on hold.");
    assert_eq!(audit_count(&mut desk).await, before);
    desk.fake.assert_valid();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_from_users_never_pings_anyone() {
    let desk = TestDesk::start().await;
    let (ada, mia, bob) = (ada(), mia(), bob());
    desk.setup_basics(&ada).await;
    let evil = "@everyone @here <@&1220000000000000001> <@1000000000000000001> laptop";
    raise(&desk, &mia, evil).await;
    desk.cmd(&bob, "ticket", Some("claim"), &[s("id", "REQ-1")]).await;
    desk.cmd(&mia, "ticket", Some("comment"), &[s("id", "REQ-1"), s("text", evil)])
        .await;
    let posts = wait_posts(&desk, format!("/channels/{TRIAGE}/messages"), 2).await;
    for p in &posts {
        let am = &p.body["allowed_mentions"];
        assert_eq!(am["parse"], serde_json::json!([]), "parse must be empty: {am}");
        assert_eq!(am["roles"], serde_json::json!([]), "no role may be pinged: {am}");
    }
    // The comment notice pings the assignee and nobody else, whatever the text says.
    assert_eq!(
        posts[1].body["allowed_mentions"]["users"],
        serde_json::json!([bob.id.to_string()])
    );
    assert_eq!(posts[0].body["allowed_mentions"]["users"], serde_json::json!([]));
    // Every interaction reply too.
    for r in desk.fake.requests().iter().filter(|r| r.path.ends_with("/callback")) {
        if r.body["type"] == 4 {
            assert_eq!(
                r.body["data"]["allowed_mentions"]["parse"],
                serde_json::json!([]),
                "{}",
                r.body
            );
        }
    }
    desk.fake.assert_valid();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_interaction_delivered_twice_is_applied_once() {
    let mut desk = TestDesk::start().await;
    let (ada, mia) = (ada(), mia());
    desk.setup_basics(&ada).await;
    let id = desk.fake.snowflake();
    let payload = slash(
        id,
        GUILD,
        &mia,
        "request",
        Some("new"),
        &[s("item", "Laptop"), s("summary", "Twice")],
        &[],
    );
    let first = desk.send(payload.clone()).await;
    assert!(text(&first).contains("REQ-1 is raised"));
    desk.fake.dispatch("INTERACTION_CREATE", payload);
    // Wait until the bot has seen the second delivery (it counts re-deliveries), then check.
    let db = desk.db().await;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let n: i64 = sqlx::query_scalar("SELECT redeliveries FROM interactions WHERE id = ?")
            .bind(id as i64)
            .fetch_one(&db)
            .await
            .unwrap();
        if n == 1 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the re-delivery was never seen");
        tokio::task::yield_now().await;
    }
    let tickets: i64 = sqlx::query_scalar("SELECT count(*) FROM tickets")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(tickets, 1);
    let callbacks = desk.count(|r| r.path == format!("/interactions/{id}/token-{id}/callback"));
    assert_eq!(callbacks, 1, "answered once");
    desk.fake.assert_valid();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guilds_never_see_or_touch_each_other() {
    let mut desk = TestDesk::start().await;
    let (ada, mia, bob) = (ada(), mia(), bob());
    desk.setup_basics(&ada).await;
    // The other guild has its own catalog and two requests.
    for opts in [vec![s("name", "Secret item"), s("description", "Only there")]] {
        desk.cmd_in(OTHER_GUILD, &ada, "setup", Some("catalog-add"), &opts, &[])
            .await;
    }
    for summary in ["Other one", "Other two"] {
        let r = desk
            .cmd_in(
                OTHER_GUILD,
                &mia,
                "request",
                Some("new"),
                &[s("item", "Secret item"), s("summary", summary)],
                &[],
            )
            .await;
        assert!(text(&r).contains("is raised"), "{}", text(&r));
    }
    raise(&desk, &mia, "Here").await;

    // Numbers are per guild: this guild has only REQ-1.
    let r = desk.cmd(&bob, "ticket", Some("show"), &[s("id", "REQ-2")]).await;
    assert!(text(&r).contains("There is no REQ-2 in this server"), "{}", text(&r));
    // Acting on REQ-1 here changes only this guild's REQ-1.
    desk.cmd(&bob, "ticket", Some("claim"), &[s("id", "REQ-1")]).await;
    let other = ticket_row(&mut desk, OTHER_GUILD, 1).await;
    assert_eq!(other.get::<String, _>("state"), "new");
    // Items of the other guild cannot be requested here, nor offered by autocomplete.
    let r = desk
        .cmd(
            &mia,
            "request",
            Some("new"),
            &[s("item", "Secret item"), s("summary", "Sneaky")],
        )
        .await;
    assert!(text(&r).contains("is not in the service catalog"));
    let ac_id = desk.fake.snowflake();
    desk.fake.dispatch(
        "INTERACTION_CREATE",
        autocomplete(ac_id, GUILD, &mia, "request", "new", &[s("item", "")], "item"),
    );
    let choices = desk
        .fake
        .wait_for(WAIT, "autocomplete", |rs| {
            rs.iter()
                .find(|r| r.path == format!("/interactions/{ac_id}/token-{ac_id}/callback"))
                .map(|r| r.body.clone())
        })
        .await;
    let names: Vec<&str> = choices["data"]["choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["Laptop"]);
    // And a button whose id names a ticket acts in the guild it was clicked in.
    let r = desk
        .send(button(desk.fake.snowflake(), GUILD, &bob, "claim:REQ-2", TRIAGE, 1))
        .await;
    assert!(text(&r).contains("There is no REQ-2 in this server"), "{}", text(&r));
    desk.fake.assert_valid();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buttons_keep_working_after_the_bot_restarts() {
    let mut desk = TestDesk::start().await;
    let (ada, mia, bob) = (ada(), mia(), bob());
    desk.setup_basics(&ada).await;
    raise(&desk, &mia, "Printer jams").await;
    wait_posts(&desk, format!("/channels/{TRIAGE}/messages"), 1).await;
    let (_, card_id) = last_post(&desk, TRIAGE).unwrap();

    desk.stop_bot().await;
    desk.start_bot().await;

    let r = desk
        .send(button(
            desk.fake.snowflake(),
            GUILD,
            &bob,
            "claim:REQ-1",
            TRIAGE,
            card_id,
        ))
        .await;
    assert!(text(&r).contains("You claimed REQ-1"), "{}", text(&r));
    let edits = wait_posts(&desk, format!("/channels/{TRIAGE}/messages/{card_id}"), 1).await;
    assert!(text(&edits[0].body).contains("State: in progress"));
    desk.fake.assert_valid();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_work_is_deferred_within_three_seconds_and_answered_after_the_commit() {
    let mut desk = TestDesk::start().await;
    let (ada, mia) = (ada(), mia());
    desk.setup_basics(&ada).await;

    // Another writer holds the database: the bot's transaction has to wait for it.
    let db = desk.db().await;
    let mut blocker = db.acquire().await.unwrap();
    sqlx::query("BEGIN IMMEDIATE").execute(&mut *blocker).await.unwrap();

    let id = desk.fake.snowflake();
    let sent = std::time::Instant::now();
    desk.fake.dispatch(
        "INTERACTION_CREATE",
        slash(
            id,
            GUILD,
            &mia,
            "request",
            Some("new"),
            &[s("item", "Laptop"), s("summary", "Slow day")],
            &[],
        ),
    );
    let callback = format!("/interactions/{id}/token-{id}/callback");
    let first = desk
        .fake
        .wait_for(WAIT, "the deferral", |rs| {
            rs.iter().find(|r| r.path == callback).cloned()
        })
        .await;
    assert_eq!(first.body["type"], 5, "deferred: {}", first.body);
    assert!(is_ephemeral(&first.body["data"]));
    assert!(
        first.at.duration_since(sent) < std::time::Duration::from_secs(3),
        "first response after 3 s"
    );
    // Nothing may claim success while the work is not committed.
    let original = format!("/webhooks/{APP_ID}/token-{id}/messages/@original");
    assert_eq!(desk.count(|r| r.path == original), 0);

    sqlx::query("COMMIT").execute(&mut *blocker).await.unwrap();
    drop(blocker);
    let edit = desk
        .fake
        .wait_for(WAIT, "the edited reply", |rs| {
            rs.iter().find(|r| r.path == original).map(|r| r.body.clone())
        })
        .await;
    assert!(text(&edit).contains("REQ-1 is raised"), "{edit}");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM tickets")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(n, 1);
    desk.fake.assert_valid();
}
