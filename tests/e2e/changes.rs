//! Changes and the CAB end to end: votes by rule, rejection reasons, expiry across a restart,
//! conflicts, and refusals.

use chrono::Duration;
use serde_json::Value;

use crate::support::*;

const CAB_ROLE: u64 = 1_220_000_000_000_000_009;
const CAB: u64 = 1_230_000_000_000_000_009;

fn author() -> User {
    User::with_role(1_000_000_000_000_000_020, "amy", CAB_ROLE)
}
fn cab(i: u64) -> User {
    User::with_role(
        1_000_000_000_000_000_020 + i,
        ["", "cal", "cid", "cyd"][i as usize],
        CAB_ROLE,
    )
}

async fn cab_setup(desk: &TestDesk, rule: &str, mode: &str, count: i64, voting: &str) {
    desk.setup_basics(&ada()).await;
    for (sub, opts) in [
        ("channel", vec![s("purpose", "cab"), ch("channel", CAB)]),
        ("role", vec![s("purpose", "cab"), r("role", CAB_ROLE)]),
        (
            "cab",
            vec![
                s("rule", rule),
                s("mode", mode),
                int("count", count),
                s("voting", voting),
            ],
        ),
    ] {
        let reply = desk.cmd(&ada(), "setup", Some(sub), &opts).await;
        assert!(!text(&reply).contains("Only"), "{}", text(&reply));
    }
    desk.fake.set_members(
        GUILD,
        &[ada(), author(), cab(1), cab(2), cab(3), User::member(5, "eve")],
    );
}

async fn raise(desk: &TestDesk, kind: &str, risk: &str, start: &str, end: &str) -> String {
    let opts = [
        s("title", "Upgrade the database"),
        s("type", kind),
        s("risk", risk),
        s("start", start),
        s("end", end),
        s("plan", "Rolling upgrade of replicas, then failover"),
        s("backout", "Fail back to the old primary"),
    ];
    text(&desk.cmd(&author(), "change", Some("new"), &opts).await)
}

fn cab_posts(desk: &TestDesk) -> Vec<Recorded> {
    let path = format!("/channels/{CAB}/messages");
    desk.fake
        .requests()
        .into_iter()
        .filter(|r| r.path == path && r.status == 200)
        .collect()
}

async fn state(desk: &mut TestDesk) -> String {
    let db = desk.db().await;
    sqlx::query_scalar("SELECT state FROM tickets WHERE kind = 'change'")
        .fetch_one(&db)
        .await
        .unwrap()
}

fn labels(body: &Value) -> Vec<String> {
    body["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .map(|b| b["label"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quorum_of_two_approves_refuses_the_author_and_late_votes() {
    let mut desk = TestDesk::start().await;
    cab_setup(&desk, "normal", "quorum", 2, "24h").await;
    let reply = raise(&desk, "normal", "medium", "2026-01-07 10:00", "2026-01-07 12:00").await;
    assert!(
        reply.contains("CHG-1 is up for the CAB's vote (quorum 2, 3 voter(s)"),
        "{reply}"
    );
    desk.drain().await;
    let card = cab_posts(&desk).into_iter().next().expect("the vote post");
    assert_eq!(labels(&card.body), ["Approve", "Reject"]);
    let card_id: u64 = card.response["id"].as_str().unwrap().parse().unwrap();

    let r = desk
        .send(button(
            desk.fake.snowflake(),
            GUILD,
            &author(),
            "approve:CHG-1",
            CAB,
            card_id,
        ))
        .await;
    assert!(
        text(&r).contains("You raised CHG-1, so you cannot vote on it"),
        "{}",
        text(&r)
    );
    let r = desk
        .send(button(
            desk.fake.snowflake(),
            GUILD,
            &User::member(5, "eve"),
            "approve:CHG-1",
            CAB,
            card_id,
        ))
        .await;
    assert!(text(&r).contains("Only the CAB members eligible"), "{}", text(&r));

    let r = desk
        .send(button(
            desk.fake.snowflake(),
            GUILD,
            &cab(1),
            "approve:CHG-1",
            CAB,
            card_id,
        ))
        .await;
    assert!(text(&r).contains("1 for, 0 against"), "{}", text(&r));
    assert_eq!(state(&mut desk).await, "voting", "one approval leaves it open");
    let r = desk.cmd(&cab(2), "change", Some("approve"), &[s("id", "CHG-1")]).await;
    assert!(
        text(&r).contains("it decided the vote: CHG-1 is scheduled"),
        "{}",
        text(&r)
    );
    let r = desk
        .send(button(
            desk.fake.snowflake(),
            GUILD,
            &cab(3),
            "approve:CHG-1",
            CAB,
            card_id,
        ))
        .await;
    assert_eq!(
        text(&r),
        "CHG-1 is scheduled: the vote is closed; votes are only taken while it is voting."
    );

    desk.drain().await;
    let edit_path = format!("/channels/{CAB}/messages/{card_id}");
    let last = desk
        .fake
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.path == edit_path)
        .expect("the post is updated");
    let shown = text(&last.body);
    assert!(shown.contains("State: scheduled") && shown.contains("✅ 2"), "{shown}");
    assert!(labels(&last.body).is_empty(), "no buttons after the decision");
    let db = desk.db().await;
    let votes: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'vote'")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(votes, 2, "each accepted vote is on the record, refused ones are not");
    // The calendar shows it.
    let cal = text(&desk.cmd(&cab(1), "change", Some("calendar"), &[int("days", 7)]).await);
    // 2026-01-07 10:00–12:00 UTC, in each reader's own zone, and how far away it starts.
    assert!(
        cal.contains("<t:1767780000:f> – <t:1767787200:f> (<t:1767780000:R>) **CHG-1**"),
        "{cal}"
    );
    desk.fake.assert_valid();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejection_takes_its_reason_from_the_form_and_rejects_when_quorum_is_out_of_reach() {
    let mut desk = TestDesk::start().await;
    cab_setup(&desk, "normal", "quorum", 2, "24h").await;
    raise(&desk, "normal", "high", "2026-01-08 20:00", "2026-01-08 22:00").await;
    desk.drain().await;
    let card_id: u64 = cab_posts(&desk)[0].response["id"].as_str().unwrap().parse().unwrap();

    let modal = desk
        .send(button(
            desk.fake.snowflake(),
            GUILD,
            &cab(1),
            "reject:CHG-1",
            CAB,
            card_id,
        ))
        .await;
    assert_eq!(
        (modal["type"].as_u64(), modal["data"]["custom_id"].as_str()),
        (Some(9), Some("reject-reason:CHG-1"))
    );
    let r = desk
        .send(modal_submit(
            desk.fake.snowflake(),
            GUILD,
            &cab(1),
            "reject-reason:CHG-1",
            &[("reason", "No tested backout")],
        ))
        .await;
    assert!(text(&r).contains("0 for, 1 against"), "{}", text(&r));
    // A change of mind is allowed until the decision.
    let r = desk.cmd(&cab(1), "change", Some("approve"), &[s("id", "CHG-1")]).await;
    assert!(text(&r).contains("1 for, 0 against"), "{}", text(&r));
    let r = desk
        .cmd(
            &cab(1),
            "change",
            Some("reject"),
            &[s("id", "CHG-1"), s("reason", "Second thoughts")],
        )
        .await;
    assert!(text(&r).contains("0 for, 1 against"), "{}", text(&r));
    let r = desk
        .cmd(
            &cab(2),
            "change",
            Some("reject"),
            &[s("id", "CHG-1"), s("reason", "Peak hours")],
        )
        .await;
    assert!(text(&r).contains("CHG-1 is rejected"), "{}", text(&r));
    assert_eq!(state(&mut desk).await, "rejected");
    let db = desk.db().await;
    let reasons: Vec<String> = sqlx::query_scalar("SELECT reason FROM change_votes ORDER BY voter_id")
        .fetch_all(&db)
        .await
        .unwrap();
    assert_eq!(reasons, ["Second thoughts", "Peak hours"]);
    desk.fake.assert_valid();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emergency_vote_that_expires_across_a_restart_ends_expired_once() {
    let mut desk = TestDesk::start().await;
    cab_setup(&desk, "emergency", "all", 1, "1h").await;
    let reply = raise(&desk, "emergency", "high", "2026-01-05 12:00", "2026-01-05 13:00").await;
    assert!(reply.contains("(all, 3 voter(s)"), "{reply}");
    desk.cmd(&cab(1), "change", Some("approve"), &[s("id", "CHG-1")]).await;
    desk.drain().await;
    desk.stop_bot().await;
    desk.clock.advance(Duration::minutes(61));
    desk.start_bot().await;
    desk.drain().await;
    assert_eq!(state(&mut desk).await, "expired");
    desk.stop_bot().await;
    desk.start_bot().await;
    desk.drain().await;
    let expired = cab_posts(&desk)
        .iter()
        .filter(|r| text(&r.body).contains("expired"))
        .count();
    assert_eq!(expired, 1, "exactly one expiry notice");
    let db = desk.db().await;
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE new_value = 'expired'")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(rows, 1);
    let r = desk.cmd(&cab(2), "change", Some("approve"), &[s("id", "CHG-1")]).await;
    assert!(
        text(&r).contains("CHG-1 is expired: the vote is closed"),
        "{}",
        text(&r)
    );
    desk.fake.assert_valid();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_in_a_blackout_is_flagged_and_bad_dates_write_nothing() {
    let mut desk = TestDesk::start().await;
    cab_setup(&desk, "normal", "any", 1, "24h").await;
    let r = desk
        .cmd(
            &ada(),
            "change",
            Some("blackout"),
            &[
                s("start", "2026-01-09 00:00"),
                s("end", "2026-01-10 00:00"),
                s("reason", "Payroll run"),
            ],
        )
        .await;
    assert!(
        text(&r).contains("No changes 2026-01-09 00:00 – 2026-01-10 00:00"),
        "{}",
        text(&r)
    );
    let r = desk
        .cmd(
            &cab(1),
            "change",
            Some("blackout"),
            &[
                s("start", "2026-01-11 00:00"),
                s("end", "2026-01-12 00:00"),
                s("reason", "x"),
            ],
        )
        .await;
    assert!(text(&r).contains("Only change managers"), "{}", text(&r));

    let db = desk.db().await;
    let audit_before: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log")
        .fetch_one(&db)
        .await
        .unwrap();
    for (start, end, expected) in [
        ("tomorrow 10am", "2026-01-07 12:00", "write YYYY-MM-DD HH:MM"),
        ("2026-01-07 12:00", "2026-01-07 10:00", "must end after it starts"),
        ("2026-01-01 10:00", "2026-01-01 12:00", "starts in the past"),
        ("2026-02-30 10:00", "2026-03-01 12:00", "write YYYY-MM-DD HH:MM"),
    ] {
        let r = raise(&desk, "normal", "low", start, end).await;
        assert!(r.contains(expected), "{start}: {r}");
    }
    let r = raise(&desk, "standard", "high", "2026-01-07 10:00", "2026-01-07 11:00").await;
    assert!(r.contains("must be low risk"), "{r}");
    let tickets: i64 = sqlx::query_scalar("SELECT count(*) FROM tickets")
        .fetch_one(&db)
        .await
        .unwrap();
    let audit_after: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!((tickets, audit_after), (0, audit_before), "refusals write nothing");

    let r = raise(&desk, "normal", "medium", "2026-01-09 22:00", "2026-01-09 23:00").await;
    assert!(r.contains("conflict") && r.contains("Payroll run"), "{r}");
    desk.drain().await;
    let card = cab_posts(&desk)
        .into_iter()
        .find(|p| text(&p.body).contains("CHG-1"))
        .unwrap();
    assert!(
        text(&card.body).contains("⚠ Conflicts: falls in a blackout: Payroll run"),
        "{}",
        text(&card.body)
    );
    // A standard change is pre-approved and scheduled at once; it is flagged too if it overlaps.
    let r = raise(&desk, "standard", "low", "2026-01-07 10:00", "2026-01-07 11:00").await;
    assert!(r.contains("CHG-2 is pre-approved and scheduled"), "{r}");
    desk.fake.assert_valid();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vote_pings_its_voters_and_reminds_those_who_have_not_voted_once_across_a_restart() {
    let mut desk = TestDesk::start().await;
    cab_setup(&desk, "normal", "all", 1, "4h").await;
    let reply = raise(&desk, "normal", "medium", "2026-01-06 10:00", "2026-01-06 12:00").await;
    assert!(reply.contains("(all, 3 voter(s)"), "{reply}");
    desk.drain().await;
    let post = cab_posts(&desk).into_iter().next().expect("the vote post").body;
    let mut pinged: Vec<String> = post["allowed_mentions"]["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap().to_owned())
        .collect();
    pinged.sort();
    let voters: Vec<String> = (1..=3).map(|i| cab(i).id.to_string()).collect();
    assert_eq!(pinged, voters, "exactly the eligible voters, not the author");
    assert_eq!(post["allowed_mentions"]["roles"], serde_json::json!([]));
    for v in &voters {
        assert!(text(&post).contains(&format!("<@{v}>")), "{}", text(&post));
    }

    desk.cmd(&cab(1), "change", Some("approve"), &[s("id", "CHG-1")]).await;
    desk.drain().await;
    // 75 % of the 4 h window passes while the bot is down: the reminder goes out at start.
    desk.stop_bot().await;
    desk.clock.advance(Duration::minutes(181));
    desk.start_bot().await;
    desk.drain().await;
    desk.stop_bot().await;
    desk.start_bot().await;
    desk.drain().await;
    assert!(desk.dms_to(cab(1).id).is_empty(), "cab 1 voted already");
    assert!(desk
        .dms_to(author().id)
        .iter()
        .all(|d| !text(d).contains("waiting for your vote")));
    for i in [2, 3] {
        let dms = desk.dms_to(cab(i).id);
        assert_eq!(dms.len(), 1, "one reminder for cab {i}, across the restart");
        assert!(text(&dms[0]).contains("CHG-1") && text(&dms[0]).contains("waiting for your vote"));
        let ids = custom_ids(&dms[0]);
        assert_eq!(
            ids,
            vec![
                format!("dm:approve:{GUILD}:{}:CHG-1", cab(i).id),
                format!("dm:reject:{GUILD}:{}:CHG-1", cab(i).id)
            ]
        );
    }
    // Voting from the reminder: Approve by cab 2, Reject (with its form) by cab 3.
    let approve = format!("dm:approve:{GUILD}:{}:CHG-1", cab(2).id);
    let r = desk.send(dm_button(desk.fake.snowflake(), &cab(2), &approve, 5)).await;
    assert!(
        !text(&r).contains("went wrong") && !text(&r).contains("someone else"),
        "{}",
        text(&r)
    );
    let reject = format!("dm:reject:{GUILD}:{}:CHG-1", cab(3).id);
    let form = desk.send(dm_button(desk.fake.snowflake(), &cab(3), &reject, 6)).await;
    assert_eq!(form["type"], 9, "the reject reason form: {form}");
    let form_id = form["data"]["custom_id"].as_str().unwrap().to_owned();
    let r = desk
        .send(dm_modal_submit(
            desk.fake.snowflake(),
            &cab(3),
            &form_id,
            &[("reason", "No rollback test")],
        ))
        .await;
    assert!(!text(&r).contains("went wrong"), "{}", text(&r));
    desk.drain().await;
    assert_eq!(state(&mut desk).await, "rejected");
    desk.fake.assert_valid();
}
