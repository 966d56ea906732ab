//! Buttons where the action is: **Acknowledge** on the page DM, **Close** and **Reopen** on the
//! resolution DM, a link to the card, **Claim** on SLA notices. A DM button acts in the server
//! its message came from, only for the person it was sent to.

use serde_json::Value;

use crate::support::*;

fn una() -> User {
    User::member(1_000_000_000_000_000_011, "una")
}
fn dos() -> User {
    User::member(1_000_000_000_000_000_012, "dos")
}

async fn state(desk: &mut TestDesk, kind: &str) -> String {
    let db = desk.db().await;
    sqlx::query_scalar("SELECT state FROM tickets WHERE kind = ?")
        .bind(kind)
        .fetch_one(&db)
        .await
        .unwrap()
}

async fn resolve(desk: &mut TestDesk, note: &str) {
    let r = desk
        .cmd(&bob(), "ticket", Some("resolve"), &[s("id", "REQ-1"), s("note", note)])
        .await;
    assert!(text(&r).contains("is resolved"), "{}", text(&r));
    desk.drain().await;
}

async fn click(desk: &TestDesk, who: &User, custom_id: &str) -> Value {
    desk.send(dm_button(desk.fake.snowflake(), who, custom_id, 7)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_dm_acknowledges_for_the_person_paged_and_nobody_else() {
    let mut desk = TestDesk::start().await;
    desk.setup_basics(&ada()).await;
    desk.put_on_call(1, &una()).await;
    desk.fake.set_members(GUILD, &[ada(), bob(), mia(), una(), dos()]);
    desk.fake.set_members(OTHER_GUILD, &[dos()]);
    let r = desk.report_p1(&mia(), "Mail is down").await;
    assert!(r.contains("INC-1"), "{r}");
    desk.drain().await;
    let page = desk.dms_to(una().id).pop().expect("the page DM");
    let ack = format!("dm:ack:{GUILD}:{}:INC-1", una().id);
    let found = buttons(&page);
    assert_eq!(found[0]["custom_id"], ack.as_str(), "{page}");
    assert_eq!(found[0]["label"], "Acknowledge");
    let link = found[1]["url"].as_str().expect("a link to the card");
    assert!(
        link.starts_with(&format!("https://discord.com/channels/{GUILD}/{INCIDENTS}")),
        "{link}"
    );

    let r = click(&desk, &dos(), &ack).await;
    assert!(text(&r).contains("sent to someone else"), "{}", text(&r));
    let crafted = format!("dm:ack:{OTHER_GUILD}:{}:INC-1", una().id);
    let r = click(&desk, &una(), &crafted).await;
    assert!(text(&r).contains("not a member"), "another server: {}", text(&r));
    let theirs = format!("dm:ack:{OTHER_GUILD}:{}:INC-1", dos().id);
    let r = click(&desk, &dos(), &theirs).await;
    assert!(
        text(&r).contains("INC-1"),
        "nothing of this server is reached: {}",
        text(&r)
    );
    assert_eq!(state(&mut desk, "incident").await, "triggered", "nothing changed");

    let r = click(&desk, &una(), &ack).await;
    assert!(text(&r).contains("acknowledged"), "{}", text(&r));
    assert_eq!(state(&mut desk, "incident").await, "acknowledged");
    let db = desk.db().await;
    let (actor, guild): (i64, i64) = sqlx::query_as(
        "SELECT actor_id, guild_id FROM audit_log WHERE action = 'state' AND new_value = 'acknowledged'",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(
        (actor, guild),
        (i64::try_from(una().id).unwrap(), i64::try_from(GUILD).unwrap())
    );
    desk.fake.assert_valid();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_resolution_dm_closes_or_reopens_with_a_reason_for_the_requester_only() {
    let mut desk = TestDesk::start().await;
    desk.setup_basics(&ada()).await;
    desk.fake.set_members(GUILD, &[ada(), bob(), mia()]);
    desk.raise_request(&mia(), "A laptop").await;
    resolve(&mut desk, "Ordered a ThinkPad").await;
    let dm = desk.dms_to(mia().id).pop().expect("the resolution DM");
    let ids = custom_ids(&dm);
    let (close, reopen) = (
        format!("dm:close:{GUILD}:{}:REQ-1", mia().id),
        format!("dm:reopen:{GUILD}:{}:REQ-1", mia().id),
    );
    assert_eq!(ids, vec![close.clone(), reopen.clone()], "{dm}");
    assert!(
        !text(&dm).contains("/ticket close"),
        "no command that cannot run in a DM"
    );

    let r = click(&desk, &bob(), &reopen).await;
    assert!(text(&r).contains("sent to someone else"), "{}", text(&r));
    let form = click(&desk, &mia(), &reopen).await;
    assert_eq!(form["type"], 9, "{form}");
    let form_id = form["data"]["custom_id"].as_str().unwrap().to_owned();
    assert_eq!(form_id, format!("dmf:reopen:{GUILD}:{}:REQ-1", mia().id));
    let r = desk
        .send(dm_modal_submit(
            desk.fake.snowflake(),
            &mia(),
            &form_id,
            &[("reason", "It will not boot")],
        ))
        .await;
    assert!(
        text(&r).contains("reopened") || text(&r).contains("REQ-1"),
        "{}",
        text(&r)
    );
    assert_eq!(state(&mut desk, "request").await, "in progress");

    resolve(&mut desk, "Replaced the SSD").await;
    let r = click(&desk, &mia(), &close).await;
    assert!(!text(&r).contains("went wrong"), "{}", text(&r));
    assert_eq!(state(&mut desk, "request").await, "closed");
    let r = click(&desk, &mia(), &close).await;
    assert!(text(&r).contains("closed"), "a second Close says so: {}", text(&r));
    desk.fake.assert_valid();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sla_notices_offer_claim_while_unassigned_and_link_to_the_card() {
    let mut desk = TestDesk::start().await;
    desk.setup_basics(&ada()).await;
    desk.raise_request(&mia(), "A laptop").await;
    desk.drain().await;
    // P4: respond within 1 business day; 75 % of it is 6 business hours.
    desk.clock.advance(chrono::Duration::hours(7));
    desk.drain().await;
    let warning = desk
        .fake
        .requests()
        .into_iter()
        .find(|r| r.path == format!("/channels/{TRIAGE}/messages") && text(&r.body).contains("⏰"))
        .expect("the warning")
        .body;
    let found = buttons(&warning);
    assert_eq!(found[0]["custom_id"], "claim:REQ-1", "{warning}");
    let db = desk.db().await;
    let card: i64 = sqlx::query_scalar("SELECT card_message_id FROM tickets")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(
        found[1]["url"],
        format!("https://discord.com/channels/{GUILD}/{TRIAGE}/{card}").as_str()
    );
    desk.fake.assert_valid();
}
