//! Incidents end to end: paging, escalation, acknowledgement, ack timeout, restarts.

use chrono::Duration;

use crate::support::*;

fn rep() -> User {
    User::member(1_000_000_000_000_000_002, "rex")
}
fn tom() -> User {
    User::member(1_000_000_000_000_000_003, "tom")
}
fn first() -> User {
    User::member(1_000_000_000_000_000_011, "una")
}
fn second() -> User {
    User::member(1_000_000_000_000_000_012, "dos")
}

async fn on_call_setup(desk: &TestDesk) {
    desk.setup_basics(&ada()).await;
    desk.put_on_call(1, &first()).await;
    desk.put_on_call(2, &second()).await;
}

/// Pages sent to `user` by DM so far.
fn dm_pages(desk: &TestDesk, user: u64) -> usize {
    let path = format!("/channels/{}/messages", dm_channel(user));
    desk.count(|r| r.path == path && r.status == 200 && text(&r.body).contains("You are paged"))
}

async fn open_p1(desk: &TestDesk, title: &str) -> String {
    let r = desk
        .cmd(
            &rep(),
            "incident",
            Some("new"),
            &[s("title", title), s("impact", "high"), s("urgency", "high")],
        )
        .await;
    text(&r)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unacknowledged_p1_escalates_repeats_and_stops_when_acknowledged() {
    let mut desk = TestDesk::start().await;
    on_call_setup(&desk).await;
    let (una, dos) = (first(), second());

    let reply = open_p1(&desk, "@here @everyone database down <@&1220000000000000001>").await;
    assert!(
        reply.contains("INC-1 (P1) is open") && reply.contains(&format!("<@{}> is paged", una.id)),
        "{reply}"
    );
    // The card pings the level-1 on-call person and nobody else, whatever the text says.
    let incidents = format!("/channels/{INCIDENTS}/messages");
    let card = desk
        .fake
        .wait_for(WAIT, "the incident card", |rs| {
            rs.iter().find(|r| r.path == incidents && r.status == 200).cloned()
        })
        .await;
    let am = &card.body["allowed_mentions"];
    assert_eq!(
        (am["parse"].clone(), am["roles"].clone()),
        (serde_json::json!([]), serde_json::json!([]))
    );
    assert_eq!(am["users"], serde_json::json!([una.id.to_string()]));
    assert!(card.body["content"]
        .as_str()
        .unwrap()
        .starts_with(&format!("<@{}>", una.id)));
    let card_id: u64 = card.response["id"].as_str().unwrap().parse().unwrap();
    desk.drain().await;
    assert_eq!((dm_pages(&desk, una.id), dm_pages(&desk, dos.id)), (1, 0));

    // 15 minutes without acknowledgement: level 2.
    desk.clock.advance(Duration::minutes(15));
    desk.drain().await;
    assert_eq!((dm_pages(&desk, una.id), dm_pages(&desk, dos.id)), (1, 1));
    let notice = desk
        .fake
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.path == incidents && text(&r.body).contains("📟"))
        .unwrap();
    assert_eq!(
        notice.body["allowed_mentions"]["users"],
        serde_json::json!([dos.id.to_string()])
    );
    // Another 15: the last level is passed, so round 2 starts at level 1.
    desk.clock.advance(Duration::minutes(15));
    desk.drain().await;
    assert_eq!((dm_pages(&desk, una.id), dm_pages(&desk, dos.id)), (2, 1));

    // A member who is neither on call nor an agent cannot acknowledge.
    let r = desk
        .send(button(
            desk.fake.snowflake(),
            GUILD,
            &tom(),
            "ack:INC-1",
            INCIDENTS,
            card_id,
        ))
        .await;
    assert!(
        is_ephemeral(&r) && text(&r).contains("There is no INC-1 among your tickets"),
        "{}",
        text(&r)
    );
    let r = desk.cmd(&rep(), "incident", Some("ack"), &[s("id", "1")]).await;
    assert!(text(&r).contains("Only the person paged"), "{}", text(&r));

    // Level 2 acknowledges with the button: escalation stops.
    let r = desk
        .send(button(
            desk.fake.snowflake(),
            GUILD,
            &dos,
            "ack:INC-1",
            INCIDENTS,
            card_id,
        ))
        .await;
    assert!(text(&r).contains("You acknowledged INC-1"), "{}", text(&r));
    let db = desk.db().await;
    let armed: i64 = sqlx::query_scalar("SELECT count(*) FROM timers WHERE key LIKE 'escalate:%'")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(armed, 0);
    desk.clock.advance(Duration::minutes(20));
    desk.drain().await;
    assert_eq!(
        (dm_pages(&desk, una.id), dm_pages(&desk, dos.id)),
        (2, 1),
        "no page after the acknowledgement"
    );

    // An update resets the ack timeout; then 30 minutes of silence re-triggers and pages again.
    let r = desk
        .cmd(
            &dos,
            "incident",
            Some("update"),
            &[s("id", "INC-1"), s("note", "Failing over")],
        )
        .await;
    assert!(text(&r).contains("Your update is on INC-1"), "{}", text(&r));
    desk.clock.advance(Duration::minutes(29));
    desk.drain().await;
    assert_eq!(dm_pages(&desk, una.id), 2);
    desk.clock.advance(Duration::minutes(1));
    desk.drain().await;
    assert_eq!(dm_pages(&desk, una.id), 3, "the ack timeout pages level 1 again");
    let state: String = sqlx::query_scalar("SELECT state FROM tickets")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(state, "triggered");
    // Whoever is on call sees the incident and may resolve it from the card, agent or not.
    let show = desk.cmd(&una, "ticket", Some("show"), &[s("id", "INC-1")]).await;
    assert!(text(&show).contains("State: triggered"), "{}", text(&show));
    let modal = desk
        .send(button(
            desk.fake.snowflake(),
            GUILD,
            &una,
            "resolve:INC-1",
            INCIDENTS,
            card_id,
        ))
        .await;
    assert_eq!(modal["type"], 9, "{modal}");
    let done = desk
        .send(modal_submit(
            desk.fake.snowflake(),
            GUILD,
            &una,
            "resolve-note:INC-1",
            &[("note", "Failed over")],
        ))
        .await;
    assert!(text(&done).contains("INC-1 is resolved"), "{}", text(&done));
    let armed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM timers WHERE key LIKE 'escalate:%' OR key LIKE 'acktimeout:%'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(armed, 0, "a resolved incident pages nobody");
    // The response clock stopped at the acknowledgement.
    let responded: Option<i64> = sqlx::query_scalar("SELECT stopped_at FROM sla_clocks WHERE clock = 'response'")
        .fetch_one(&db)
        .await
        .unwrap();
    assert!(responded.is_some());
    desk.fake.assert_valid();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_in_the_middle_of_an_escalation_neither_loses_nor_repeats_a_page() {
    let mut desk = TestDesk::start().await;
    on_call_setup(&desk).await;
    let (una, dos) = (first(), second());
    open_p1(&desk, "Payments failing").await;
    desk.drain().await;
    assert_eq!((dm_pages(&desk, una.id), dm_pages(&desk, dos.id)), (1, 0));

    desk.stop_bot().await;
    desk.clock.advance(Duration::minutes(16));
    desk.start_bot().await;
    desk.drain().await;
    assert_eq!(
        (dm_pages(&desk, una.id), dm_pages(&desk, dos.id)),
        (1, 1),
        "level 2 paged once after the restart"
    );

    desk.stop_bot().await;
    desk.start_bot().await;
    desk.drain().await;
    assert_eq!(
        (dm_pages(&desk, una.id), dm_pages(&desk, dos.id)),
        (1, 1),
        "a second restart pages nobody"
    );
    desk.fake.assert_valid();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p4_incidents_notify_but_never_escalate_and_oncall_edits_need_the_right_role() {
    let mut desk = TestDesk::start().await;
    on_call_setup(&desk).await;
    let (una, dos) = (first(), second());
    let r = desk
        .cmd(
            &rep(),
            "incident",
            Some("new"),
            &[
                s("title", "Typo on intranet"),
                s("impact", "low"),
                s("urgency", "medium"),
            ],
        )
        .await;
    assert!(text(&r).contains("INC-1 (P4) is open"), "{}", text(&r));
    desk.clock.advance(Duration::hours(3));
    desk.drain().await;
    assert_eq!((dm_pages(&desk, una.id), dm_pages(&desk, dos.id)), (1, 0));

    // Editing the schedule: not for members.
    let r = desk
        .cmd_in(
            GUILD,
            &tom(),
            "oncall",
            Some("add"),
            &[int("level", 1), u("user", tom().id)],
            &[tom()],
        )
        .await;
    assert!(
        text(&r).contains("Only incident managers and server admins"),
        "{}",
        text(&r)
    );
    // /oncall who shows each level.
    let r = desk.cmd(&tom(), "oncall", Some("who"), &[]).await;
    let who = text(&r);
    assert!(
        who.contains(&format!("**Level 1**: <@{}>", una.id)) && who.contains("**Level 3**: nobody"),
        "{who}"
    );
    // A bad date is refused with the expected format.
    let r = desk
        .cmd(
            &ada(),
            "oncall",
            Some("rotation"),
            &[int("level", 1), int("hours", 168), s("start", "next monday")],
        )
        .await;
    assert!(text(&r).contains("write YYYY-MM-DD HH:MM"), "{}", text(&r));
    desk.fake.assert_valid();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cards_are_coloured_by_priority_and_show_when_each_sla_falls_due() {
    let mut desk = TestDesk::start().await;
    on_call_setup(&desk).await;
    open_p1(&desk, "VPN down").await;
    let r = desk.raise_request(&rep(), "A laptop").await;
    assert!(r.contains("REQ-1"), "{r}");
    desk.drain().await;
    let card = |channel: u64| {
        desk.fake
            .requests()
            .into_iter()
            .find(|r| r.method == "POST" && r.path == format!("/channels/{channel}/messages") && r.status == 200)
            .unwrap()
            .body
    };
    let p1 = card(INCIDENTS);
    assert_eq!(p1["embeds"][0]["color"], 0xE7_4C_3C, "a P1 is red, whatever its state");
    // 2026-01-05 10:00 UTC + 15 min and + 4 h, as Discord timestamps with "in …".
    let shown = text(&p1);
    assert!(
        shown.contains("Response due: <t:1767608100:f> (<t:1767608100:R>)"),
        "{shown}"
    );
    assert!(
        shown.contains("Resolution due: <t:1767621600:f> (<t:1767621600:R>)"),
        "{shown}"
    );
    let p4 = card(TRIAGE);
    assert_eq!(p4["embeds"][0]["color"], 0x34_98_DB, "a P4 request is blue");
    let details = text(&desk.cmd(&ada(), "ticket", Some("show"), &[s("id", "INC-1")]).await);
    assert!(details.contains("due <t:1767608100:f> (<t:1767608100:R>)"), "{details}");
    desk.fake.assert_valid();
}
