//! Problem management: problems link their incidents, record a root cause and a workaround
//! (posted on the incidents), become known errors with a knowledge article, and are resolved
//! with the choice to resolve their open incidents — never a closed one.

use serde_json::Value;

use crate::support::*;

async fn state_of(desk: &mut TestDesk, kind: &str, number: i64) -> String {
    let db = desk.db().await;
    sqlx::query_scalar("SELECT state FROM tickets WHERE kind = ? AND number = ?")
        .bind(kind)
        .bind(number)
        .fetch_one(&db)
        .await
        .unwrap()
}

async fn problem(desk: &TestDesk, sub: &str, opts: &[Opt]) -> String {
    text(&desk.cmd(&bob(), "problem", Some(sub), opts).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_problem_links_its_incidents_becomes_a_known_error_and_settles_them_when_fixed() {
    let mut desk = TestDesk::start().await;
    desk.setup_basics(&ada()).await;
    desk.report_p1(&mia(), "VPN drops at noon").await;
    desk.report_p1(&mia(), "Cannot reach the intranet from home").await;

    let refused = desk.cmd(&mia(), "problem", Some("new"), &[s("title", "Mine")]).await;
    assert!(
        text(&refused).contains("Only service desk agents and incident managers"),
        "{}",
        text(&refused)
    );
    let opened = problem(
        &desk,
        "new",
        &[s("title", "VPN gateway memory leak"), s("service", "VPN")],
    )
    .await;
    assert!(opened.contains("PRB-1 is open"), "{opened}");
    problem(&desk, "new", &[s("title", "Printer driver crashes")]).await;
    for inc in ["INC-1", "INC-2"] {
        let linked = problem(&desk, "link", &[s("id", "PRB-1"), s("incident", inc)]).await;
        assert!(linked.contains(&format!("{inc} is linked to PRB-1")), "{linked}");
    }
    let twice = problem(&desk, "link", &[s("id", "PRB-2"), s("incident", "INC-1")]).await;
    assert!(twice.contains("INC-1 belongs to PRB-1 already"), "{twice}");
    let other = desk
        .cmd_in(
            OTHER_GUILD,
            &ada(),
            "problem",
            Some("link"),
            &[s("id", "PRB-1"), s("incident", "INC-1")],
            &[],
        )
        .await;
    assert!(
        text(&other).contains("There is no PRB-1 in this server"),
        "{}",
        text(&other)
    );

    let early = problem(&desk, "known-error", &[s("id", "PRB-1")]).await;
    assert!(early.contains("needs a root cause"), "{early}");
    problem(
        &desk,
        "rca",
        &[
            s("id", "PRB-1"),
            s("cause", "The gateway leaks memory under many sessions"),
        ],
    )
    .await;
    let posted = problem(
        &desk,
        "workaround",
        &[s("id", "PRB-1"), s("text", "Restart the gateway nightly")],
    )
    .await;
    assert!(posted.contains("posted on 2 open linked incident(s)"), "{posted}");
    desk.drain().await;
    let told = desk.dms_to(mia().id);
    assert!(
        told.iter().any(|d| text(d).contains("There is a workaround for INC-1")),
        "{told:?}"
    );
    let known = problem(&desk, "known-error", &[s("id", "PRB-1")]).await;
    assert!(known.contains("PRB-1 is a known error; KB-1"), "{known}");
    assert_eq!(state_of(&mut desk, "problem", 1).await, "known-error");
    let found = text(
        &desk
            .cmd(&mia(), "kb", Some("search"), &[s("query", "gateway memory")])
            .await,
    );
    assert!(
        found.contains("KB-1") && found.contains("Known error: VPN gateway memory leak"),
        "{found}"
    );

    // INC-2 is closed before the fix: resolving the problem leaves it so.
    desk.cmd(
        &bob(),
        "ticket",
        Some("resolve"),
        &[s("id", "INC-2"), s("note", "Worked around")],
    )
    .await;
    desk.cmd(&mia(), "ticket", Some("close"), &[s("id", "INC-2")]).await;
    let id = desk.fake.snowflake();
    let opts = [s("id", "PRB-1"), s("fix", "Patched the gateway")];
    let resolved: Value = desk
        .send(slash(id, GUILD, &bob(), "problem", Some("resolve"), &opts, &[]))
        .await;
    assert!(
        text(&resolved).contains("Resolve its 1 open linked incident(s) too?"),
        "{}",
        text(&resolved)
    );
    assert_eq!(custom_ids(&resolved), ["prb-settle:1", "prb-keep:1"]);
    let click = desk.fake.snowflake();
    let settled = text(
        &desk
            .send(button_on_reply(click, GUILD, &bob(), "prb-settle:1", GENERAL, id))
            .await,
    );
    assert!(settled.contains("1 incident(s) of PRB-1 resolved"), "{settled}");
    assert_eq!(state_of(&mut desk, "incident", 1).await, "resolved");
    assert_eq!(state_of(&mut desk, "incident", 2).await, "closed");
    assert_eq!(state_of(&mut desk, "problem", 1).await, "resolved");

    // Resolved without settling: PRB-2's incident stays open.
    desk.report_p1(&mia(), "Printing fails on floor 2").await;
    problem(&desk, "link", &[s("id", "PRB-2"), s("incident", "INC-3")]).await;
    let id = desk.fake.snowflake();
    let opts = [s("id", "PRB-2"), s("fix", "Rolled back the driver")];
    desk.send(slash(id, GUILD, &bob(), "problem", Some("resolve"), &opts, &[]))
        .await;
    let click = desk.fake.snowflake();
    let kept = text(
        &desk
            .send(button_on_reply(click, GUILD, &bob(), "prb-keep:2", GENERAL, id))
            .await,
    );
    assert!(kept.contains("PRB-2's incidents stay as they are"), "{kept}");
    assert_eq!(state_of(&mut desk, "incident", 3).await, "triggered");
    let reopened = desk
        .cmd(
            &bob(),
            "ticket",
            Some("reopen"),
            &[s("id", "PRB-2"), s("reason", "Came back")],
        )
        .await;
    assert!(
        text(&reopened).contains("PRB-2 is reopened and investigating again"),
        "{}",
        text(&reopened)
    );

    // The /ticket commands work on problems as on every kind.
    let shown = text(&desk.cmd(&bob(), "problem", Some("show"), &[s("id", "1")]).await);
    for part in [
        "PRB-1 · VPN gateway memory leak",
        "Root cause: The gateway leaks",
        "Workaround: Restart",
        "Fix: Patched",
        "Incidents (2)",
    ] {
        assert!(shown.contains(part), "{part}: {shown}");
    }
    let comment = desk
        .cmd(
            &bob(),
            "ticket",
            Some("comment"),
            &[s("id", "PRB-2"), s("text", "Seen on two laptops")],
        )
        .await;
    assert!(
        text(&comment).contains("Your comment is on PRB-2"),
        "{}",
        text(&comment)
    );
    let history = text(&desk.cmd(&bob(), "ticket", Some("history"), &[s("id", "PRB-1")]).await);
    assert!(history.contains("known-error"), "{history}");
    let open = text(&desk.cmd(&bob(), "problem", Some("list"), &[]).await);
    assert!(open.contains("PRB-2") && !open.contains("PRB-1"), "{open}");
    let done = text(
        &desk
            .cmd(&bob(), "problem", Some("list"), &[s("state", "resolved")])
            .await,
    );
    assert!(done.contains("PRB-1"), "{done}");
    desk.fake.assert_valid();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_with_three_unlinked_incidents_in_a_week_is_named_once_with_a_create_problem_button() {
    let mut desk = TestDesk::start().await;
    desk.setup_basics(&ada()).await;
    let im_role = 1_220_000_000_000_000_009_u64;
    desk.cmd(
        &ada(),
        "setup",
        Some("role"),
        &[s("purpose", "incident-manager"), r("role", im_role)],
    )
    .await;
    let report = |title: &'static str, day: i64| {
        let opts = [
            s("title", title),
            s("impact", "low"),
            s("urgency", "low"),
            s("service", "Wi-Fi"),
        ];
        (opts, day)
    };
    for (title, day) in [
        ("Wi-Fi slow in hall", 0),
        ("No Wi-Fi in room 2", 2),
        ("Wi-Fi keeps dropping", 3),
        ("Wi-Fi down again", 4),
    ] {
        let (opts, _) = report(title, day);
        if day > 0 {
            desk.clock.advance(chrono::Duration::days(1));
        }
        desk.cmd(&bob(), "incident", Some("new"), &opts).await;
    }
    desk.drain().await;
    let notices: Vec<Value> = desk
        .fake
        .requests()
        .into_iter()
        .filter(|r| {
            r.path == format!("/channels/{INCIDENTS}/messages") && text(&r.body).contains("none linked to a problem")
        })
        .map(|r| r.body)
        .collect();
    assert_eq!(notices.len(), 1, "told once, at the third: {notices:?}");
    assert!(
        text(&notices[0]).contains("3 incidents of **Wi-Fi**"),
        "{}",
        text(&notices[0])
    );
    assert_eq!(
        notices[0]["allowed_mentions"]["roles"],
        serde_json::json!([im_role.to_string()])
    );
    let button = custom_ids(&notices[0])[0].clone();
    let click = |user: User| {
        let id = desk.fake.snowflake();
        desk.send(button_on_reply(id, GUILD, &user, &button, INCIDENTS, 1))
    };
    let refused = text(&click(mia()).await);
    assert!(
        refused.contains("Only service desk agents and incident managers"),
        "{refused}"
    );
    let made = text(&click(bob()).await);
    assert!(
        made.contains("PRB-1 is open with 3 linked: INC-1, INC-2, INC-3"),
        "{made}"
    );
    let again = text(&click(bob()).await);
    assert!(again.contains("PRB-1 was opened from this notice already"), "{again}");
    let db = desk.db().await;
    let linked: i64 = sqlx::query_scalar("SELECT count(*) FROM tickets WHERE problem_id IS NOT NULL")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(linked, 3);
    desk.fake.assert_valid();
}
