//! Refusals handled, not dropped (SPEC §5.6): a refused DM goes to the ticket's channel, a
//! deleted card is posted again, a channel the bot may not post in is shown to the admins with
//! a Retry button.

use serde_json::json;

use crate::support::*;

async fn raise(desk: &TestDesk) {
    let r = desk.raise_request(&mia(), "A laptop, please").await;
    assert!(r.contains("REQ-1"), "{r}");
}

/// Discord will refuse the next DM to `who` as it does when their DMs are closed (50007).
fn refuse_next_dm(desk: &TestDesk, who: &User) {
    desk.fake.fail_next(Fault {
        method: "POST",
        path_contains: format!("/channels/{}/messages", dm_channel(who.id)),
        status: 403,
        body: json!({ "message": "Cannot send messages to this user", "code": 50007 }),
    });
}

fn triage_path() -> String {
    format!("/channels/{TRIAGE}/messages")
}

/// Cards (and other posts naming REQ-1) delivered to triage.
fn delivered_to_triage(desk: &TestDesk) -> usize {
    desk.count(|r| r.method == "POST" && r.path == triage_path() && r.status == 200 && text(&r.body).contains("REQ-1"))
}

/// `who` clicks the Retry button `custom_id` on the reply to `/setup deliveries` in `guild`.
async fn click_retry(desk: &TestDesk, guild: u64, who: &User, custom_id: &str, command_id: u64) -> String {
    let click = button_on_reply(desk.fake.snowflake(), guild, who, custom_id, TRIAGE, command_id);
    text(&desk.send(click).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_dm_is_posted_in_the_tickets_channel_mentioning_only_that_person() {
    let mut desk = TestDesk::start().await;
    desk.setup_basics(&ada()).await;
    raise(&desk).await;
    desk.drain().await;
    refuse_next_dm(&desk, &mia());
    let r = desk
        .cmd(
            &bob(),
            "ticket",
            Some("comment"),
            &[s("id", "REQ-1"), s("text", "@everyone which model?")],
        )
        .await;
    assert!(!text(&r).contains("went wrong"), "{}", text(&r));
    let fallback = desk
        .fake
        .wait_for(WAIT, "the DM shown in triage instead", |rs| {
            rs.iter()
                .find(|r| {
                    r.path == triage_path() && r.status == 200 && text(&r.body).contains("could not send you this")
                })
                .cloned()
        })
        .await;
    let body = &fallback.body;
    assert!(text(body).starts_with(&format!("<@{}>", mia().id)), "{body}");
    assert!(text(body).contains("which model?"), "the message itself: {body}");
    let am = &body["allowed_mentions"];
    assert_eq!(am["users"], json!([mia().id.to_string()]), "only Mia is pinged");
    assert_eq!((am["roles"].clone(), am["parse"].clone()), (json!([]), json!([])));
    desk.drain().await;
    let db = desk.db().await;
    let (status, note): (String, String) =
        sqlx::query_as("SELECT status, last_error FROM outbox WHERE user_id = ? ORDER BY id DESC LIMIT 1")
            .bind(i64::try_from(mia().id).unwrap())
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(status, "sent", "handled, not failed");
    assert!(note.contains("50007") && note.contains(&TRIAGE.to_string()), "{note}");
    let dm_posts = desk.count(|r| r.path == format!("/channels/{}/messages", dm_channel(mia().id)));
    assert_eq!(dm_posts, 1, "the refused DM is not retried");

    // A refused resolution DM keeps its buttons in the channel, and they work there, for Mia.
    desk.fake.set_members(GUILD, &[ada(), bob(), mia()]);
    refuse_next_dm(&desk, &mia());
    let r = desk
        .cmd(
            &bob(),
            "ticket",
            Some("resolve"),
            &[s("id", "REQ-1"), s("note", "Ordered")],
        )
        .await;
    assert!(text(&r).contains("is resolved"), "{}", text(&r));
    desk.drain().await;
    let resolved = desk
        .fake
        .requests()
        .into_iter()
        .rfind(|r| r.path == triage_path() && text(&r.body).contains("could not send you this"))
        .unwrap()
        .body;
    let close = format!("dm:close:{GUILD}:{}:REQ-1", mia().id);
    assert!(custom_ids(&resolved).contains(&close), "{resolved}");
    let by_bob = desk
        .send(button(desk.fake.snowflake(), GUILD, &bob(), &close, TRIAGE, 9))
        .await;
    assert!(text(&by_bob).contains("sent to someone else"), "{}", text(&by_bob));
    let by_mia = desk
        .send(button(desk.fake.snowflake(), GUILD, &mia(), &close, TRIAGE, 9))
        .await;
    assert!(!text(&by_mia).contains("went wrong"), "{}", text(&by_mia));
    let state: String = sqlx::query_scalar("SELECT state FROM tickets")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(state, "closed");
    desk.fake.assert_valid();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_card_is_posted_again_and_later_edits_go_to_the_new_message() {
    let mut desk = TestDesk::start().await;
    desk.setup_basics(&ada()).await;
    raise(&desk).await;
    desk.drain().await;
    let db = desk.db().await;
    let first: i64 = sqlx::query_scalar("SELECT card_message_id FROM tickets WHERE card_message_id IS NOT NULL")
        .fetch_one(&db)
        .await
        .unwrap();
    desk.fake.fail_next(Fault {
        method: "PATCH",
        path_contains: format!("/channels/{TRIAGE}/messages/{first}"),
        status: 404,
        body: json!({ "message": "Unknown Message", "code": 10008 }),
    });
    let r = desk.cmd(&bob(), "ticket", Some("claim"), &[s("id", "REQ-1")]).await;
    assert!(text(&r).contains("You claimed REQ-1"), "{}", text(&r));
    desk.drain().await;
    let second: i64 = sqlx::query_scalar("SELECT card_message_id FROM tickets")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_ne!(first, second, "the ticket remembers the new card");
    let reposts = delivered_to_triage(&desk);
    let trail: Vec<String> = desk
        .fake
        .requests()
        .iter()
        .filter(|r| r.path.contains(&TRIAGE.to_string()))
        .map(|r| format!("{} {} {} {}", r.method, r.path, r.status, r.body["content"]))
        .collect();
    assert_eq!(reposts, 2, "the card was posted again, once: {trail:#?}");
    let r = desk
        .cmd(
            &bob(),
            "ticket",
            Some("hold"),
            &[s("id", "REQ-1"), s("reason", "awaiting-vendor")],
        )
        .await;
    assert!(!text(&r).contains("went wrong"), "{}", text(&r));
    desk.drain().await;
    let to_new = desk
        .count(|r| r.method == "PATCH" && r.path == format!("/channels/{TRIAGE}/messages/{second}") && r.status == 200);
    assert_eq!(to_new, 1, "the next edit goes to the new card");
    desk.fake.assert_valid();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_the_bot_may_not_post_in_is_shown_to_the_admins_and_retry_delivers_once() {
    let mut desk = TestDesk::start().await;
    desk.setup_basics(&ada()).await;
    desk.fake.fail_next(Fault {
        method: "POST",
        path_contains: triage_path(),
        status: 403,
        body: json!({ "message": "Missing Permissions", "code": 50013 }),
    });
    raise(&desk).await;
    desk.drain().await;

    let shown = text(&desk.cmd(&ada(), "setup", Some("show"), &[]).await);
    assert!(
        shown.contains(&format!("deliveries to <#{TRIAGE}> are failing (1 message(s))"))
            && shown.contains("missing a permission"),
        "{shown}"
    );
    let command_id = desk.fake.snowflake();
    let listed = desk
        .send(slash(command_id, GUILD, &ada(), "setup", Some("deliveries"), &[], &[]))
        .await;
    let listing = text(&listed);
    assert!(
        listing.contains("failed") && listing.contains(&format!("<#{TRIAGE}>")),
        "{listing}"
    );
    let buttons: Vec<String> = listed["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .map(|b| b["custom_id"].as_str().unwrap().to_owned())
        .collect();
    let one = buttons
        .iter()
        .find(|b| b.starts_with("retry:"))
        .expect("a Retry button")
        .clone();
    assert!(buttons.contains(&format!("retry-channel:{TRIAGE}")), "{buttons:?}");

    // A member may not retry, and an admin of another server finds nothing to retry.
    let refused = click_retry(&desk, GUILD, &mia(), &one, command_id).await;
    assert!(refused.contains("Only server admins"), "{}", refused);
    let stranger = User::admin(1_000_000_000_000_000_077, "zed");
    let elsewhere = click_retry(&desk, OTHER_GUILD, &stranger, &one, command_id).await;
    assert!(elsewhere.contains("nothing failed to retry"), "{}", elsewhere);
    desk.drain().await;
    assert_eq!(
        desk.count(|r| r.method == "POST" && r.path == triage_path() && r.status == 200),
        0,
        "nothing was retried yet"
    );

    // The permission is back (the fake no longer refuses): Retry delivers it, once.
    let retried = click_retry(&desk, GUILD, &ada(), &one, command_id).await;
    assert!(retried.contains("queued again"), "{}", retried);
    desk.drain().await;
    let delivered = delivered_to_triage(&desk);
    assert_eq!(delivered, 1);
    let again = click_retry(&desk, GUILD, &ada(), &one, command_id).await;
    assert!(again.contains("nothing failed to retry"), "a second click does nothing");
    desk.drain().await;
    assert_eq!(delivered_to_triage(&desk), 1, "delivered once");
    let clear = text(&desk.cmd(&ada(), "setup", Some("show"), &[]).await);
    assert!(!clear.contains("are failing"), "{clear}");
    let nothing = text(&desk.cmd(&ada(), "setup", Some("deliveries"), &[]).await);
    assert!(nothing.contains("Every message has been delivered"), "{nothing}");
    desk.fake.assert_valid();
}
