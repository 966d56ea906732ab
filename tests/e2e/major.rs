//! The outage day in chat: major incidents with their bridge thread and pinned status,
//! duplicates linked to their parent, affected users, and the same-issue question at intake.

use chrono::Utc;
use serde_json::Value;

use crate::support::*;

/// The incident-manager role of the test guild.
const IM_ROLE: u64 = 1_220_000_000_000_000_009;

fn carl() -> User {
    User::member(1_000_000_000_000_000_021, "carl")
}

fn dana() -> User {
    User::member(1_000_000_000_000_000_022, "dana")
}

async fn outage_desk(desk: TestDesk) -> TestDesk {
    desk.setup_basics(&ada()).await;
    let r = desk
        .cmd(
            &ada(),
            "setup",
            Some("role"),
            &[s("purpose", "incident-manager"), r("role", IM_ROLE)],
        )
        .await;
    assert!(!text(&r).contains("Only"), "{}", text(&r));
    desk.put_on_call(1, &bob()).await;
    desk
}

async fn column(desk: &mut TestDesk, number: i64, sql: &str) -> Option<i64> {
    let db = desk.db().await;
    sqlx::query_scalar(&format!(
        "SELECT {sql} FROM tickets WHERE kind = 'incident' AND number = ?"
    ))
    .bind(number)
    .fetch_one(&db)
    .await
    .unwrap()
}

async fn state(desk: &mut TestDesk, number: i64) -> String {
    let db = desk.db().await;
    sqlx::query_scalar("SELECT state FROM tickets WHERE kind = 'incident' AND number = ?")
        .bind(number)
        .fetch_one(&db)
        .await
        .unwrap()
}

fn requests(desk: &TestDesk, method: &str, path: &str) -> Vec<Recorded> {
    desk.fake
        .requests()
        .into_iter()
        .filter(|r| r.method == method && r.path == path && r.status < 300)
        .collect()
}

/// `user` reports an incident (medium impact and urgency: P3) and gets the reply.
async fn report(desk: &TestDesk, user: &User, title: &str, service: Option<&str>) -> (u64, Value) {
    let mut opts = vec![s("title", title), s("impact", "medium"), s("urgency", "medium")];
    if let Some(service) = service {
        opts.push(s("service", service));
    }
    let id = desk.fake.snowflake();
    let reply = desk
        .send(slash(id, GUILD, user, "incident", Some("new"), &opts, &[]))
        .await;
    (id, reply)
}

async fn click(desk: &TestDesk, user: &User, custom_id: &str, question: u64) -> String {
    let id = desk.fake.snowflake();
    text(
        &desk
            .send(button_on_reply(id, GUILD, user, custom_id, GENERAL, question))
            .await,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_major_incident_opens_a_bridge_pins_its_status_and_updates_go_to_the_thread() {
    let mut desk = outage_desk(TestDesk::start().await).await;
    desk.report_p1(&mia(), "Checkout is down").await;
    desk.drain().await;
    let card = column(&mut desk, 1, "card_message_id")
        .await
        .expect("the card is posted");

    let refused = desk.cmd(&mia(), "incident", Some("major"), &[s("id", "INC-1")]).await;
    assert!(
        text(&refused).contains("Only incident managers and whoever is on call"),
        "{}",
        text(&refused)
    );
    let done = desk
        .cmd(
            &ada(),
            "incident",
            Some("major"),
            &[s("id", "INC-1"), s("note", "Payments fail at checkout")],
        )
        .await;
    assert!(text(&done).contains("INC-1 is a major incident"), "{}", text(&done));
    desk.drain().await;

    let threads = requests(&desk, "POST", &format!("/channels/{INCIDENTS}/messages/{card}/threads"));
    assert_eq!(threads.len(), 1, "one bridge thread on the card");
    assert_eq!(threads[0].body["name"], "INC-1 Checkout is down");
    assert_eq!(
        requests(&desk, "PUT", &format!("/channels/{INCIDENTS}/pins/{card}")).len(),
        1,
        "the card is pinned"
    );
    let declared: Vec<Value> = requests(&desk, "POST", &format!("/channels/{INCIDENTS}/messages"))
        .into_iter()
        .map(|r| r.body)
        .filter(|b| text(b).contains("is a **major incident**"))
        .collect();
    assert_eq!(declared.len(), 1, "the incident managers are told once");
    assert_eq!(
        declared[0]["allowed_mentions"]["roles"],
        serde_json::json!([IM_ROLE.to_string()])
    );
    let edited = requests(&desk, "PATCH", &format!("/channels/{INCIDENTS}/messages/{card}"));
    let last = text(&edited.last().expect("the card is edited").body);
    assert!(
        last.contains("MAJOR") && last.contains("Status: Payments fail at checkout"),
        "{last}"
    );

    // An update goes to the thread and the pinned card's status, not to the busy channel.
    let thread = column(&mut desk, 1, "thread_id")
        .await
        .expect("the thread is remembered");
    let before = requests(&desk, "POST", &format!("/channels/{INCIDENTS}/messages")).len();
    let r = desk
        .cmd(
            &bob(),
            "incident",
            Some("update"),
            &[s("id", "INC-1"), s("note", "Rolled back the deploy")],
        )
        .await;
    assert!(text(&r).contains("Your update is on INC-1"), "{}", text(&r));
    desk.drain().await;
    let in_thread = requests(&desk, "POST", &format!("/channels/{thread}/messages"));
    assert_eq!(in_thread.len(), 1);
    assert!(text(&in_thread[0].body).contains("Rolled back the deploy"));
    assert!(
        in_thread[0].body.get("_in_thread").is_none(),
        "the marker never reaches Discord"
    );
    assert_eq!(
        requests(&desk, "POST", &format!("/channels/{INCIDENTS}/messages")).len(),
        before
    );
    let edited = requests(&desk, "PATCH", &format!("/channels/{INCIDENTS}/messages/{card}"));
    assert!(text(&edited.last().unwrap().body).contains("Status: Rolled back the deploy"));

    let again = desk.cmd(&ada(), "incident", Some("major"), &[s("id", "INC-1")]).await;
    assert!(text(&again).contains("a major incident already"), "{}", text(&again));
    let report = desk.cmd(&ada(), "report", None, &[int("days", 7)]).await;
    assert!(
        text(&report).contains("Major incidents: 1 declared · 0 duplicate(s) linked"),
        "{}",
        text(&report)
    );
    desk.fake.assert_valid();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_linked_duplicate_is_resolved_its_reporter_follows_the_parent_and_resolves_with_it() {
    let mut desk = outage_desk(TestDesk::start().await).await;
    desk.report_p1(&mia(), "Checkout is down").await;
    report(&desk, &carl(), "Cannot pay for my order", None).await;
    report(&desk, &dana(), "Payment page spins forever", None).await;
    desk.drain().await;

    for (opts, expect) in [
        (
            vec![s("id", "INC-2"), s("parent", "INC-2")],
            "cannot be a duplicate of itself",
        ),
        (
            vec![s("id", "INC-2"), s("parent", "INC-9")],
            "There is no INC-9 in this server",
        ),
    ] {
        let r = desk.cmd(&bob(), "incident", Some("link"), &opts).await;
        assert!(text(&r).contains(expect), "{expect}: {}", text(&r));
    }
    let member = desk
        .cmd(
            &carl(),
            "incident",
            Some("link"),
            &[s("id", "INC-2"), s("parent", "INC-1")],
        )
        .await;
    assert!(text(&member).contains("Only agents"), "{}", text(&member));
    // A parent in another server cannot be named: the other server's INC-1 cannot join our INC-3.
    let opts = [s("title", "Printer jam"), s("impact", "low"), s("urgency", "low")];
    desk.cmd_in(OTHER_GUILD, &ada(), "incident", Some("new"), &opts, &[])
        .await;
    let other = desk
        .cmd_in(
            OTHER_GUILD,
            &ada(),
            "incident",
            Some("link"),
            &[s("id", "INC-1"), s("parent", "INC-3")],
            &[],
        )
        .await;
    assert!(
        text(&other).contains("There is no INC-3 in this server"),
        "{}",
        text(&other)
    );
    for child in ["INC-2", "INC-3"] {
        let r = desk
            .cmd(
                &bob(),
                "incident",
                Some("link"),
                &[s("id", child), s("parent", "INC-1")],
            )
            .await;
        assert!(text(&r).contains("as a duplicate of INC-1"), "{}", text(&r));
    }
    desk.drain().await;
    assert_eq!(state(&mut desk, 2).await, "resolved");
    assert_eq!(
        column(&mut desk, 2, "parent_id").await,
        column(&mut desk, 1, "id").await
    );
    let told = desk.dms_to(carl().id);
    assert!(told.iter().any(|d| text(d).contains("same issue as INC-1")), "{told:?}");
    let show = desk.cmd(&bob(), "ticket", Some("show"), &[s("id", "INC-1")]).await;
    let shown = text(&show);
    assert!(
        shown.contains("Duplicates (2)") && shown.contains("INC-2") && shown.contains("INC-3"),
        "{shown}"
    );
    assert!(shown.contains("Affected users: 2"), "{shown}");
    let follows = desk.cmd(&carl(), "ticket", Some("show"), &[s("id", "INC-1")]).await;
    assert!(
        text(&follows).contains("INC-1 · Checkout is down"),
        "an affected user reads the parent: {}",
        text(&follows)
    );
    let report = desk.cmd(&ada(), "report", None, &[int("days", 7)]).await;
    assert!(
        text(&report).contains("Major incidents: 0 declared · 2 duplicate(s) linked"),
        "{}",
        text(&report)
    );
    let twice = desk
        .cmd(
            &bob(),
            "incident",
            Some("link"),
            &[s("id", "INC-2"), s("parent", "INC-1")],
        )
        .await;
    assert!(
        text(&twice).contains("linked as a duplicate already"),
        "{}",
        text(&twice)
    );

    // Carl's comes back (he reopens it); Dana closes hers. Resolving the parent resolves
    // Carl's again and leaves Dana's closed; both hear of the resolution.
    let reopened = desk
        .cmd(
            &carl(),
            "ticket",
            Some("reopen"),
            &[s("id", "INC-2"), s("reason", "Still failing")],
        )
        .await;
    assert!(text(&reopened).contains("reopened"), "{}", text(&reopened));
    let closed = desk.cmd(&dana(), "ticket", Some("close"), &[s("id", "INC-3")]).await;
    assert!(text(&closed).contains("closed"), "{}", text(&closed));
    let resolved = desk
        .cmd(
            &bob(),
            "ticket",
            Some("resolve"),
            &[s("id", "INC-1"), s("note", "Card processor fixed")],
        )
        .await;
    assert!(text(&resolved).contains("INC-1 is resolved"), "{}", text(&resolved));
    desk.drain().await;
    assert_eq!(state(&mut desk, 2).await, "resolved");
    assert_eq!(
        state(&mut desk, 3).await,
        "closed",
        "a closed duplicate is never reopened"
    );
    for user in [carl(), dana()] {
        let dms = desk.dms_to(user.id);
        assert!(
            dms.iter()
                .any(|d| text(d).contains("INC-1 “Checkout is down” is resolved: Card processor fixed")),
            "{}: {dms:?}",
            user.id
        );
    }
    desk.fake.assert_valid();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quick_updates_reach_each_affected_user_as_one_dm() {
    let options = servicedesk::app::Options {
        fold_window: Some(std::time::Duration::from_millis(1500)),
        ..Default::default()
    };
    let desk = TestDesk::start_with(options).await;
    // The outbox waits on the real clock: the desk's must agree for the fold window to hold.
    desk.clock.set(Utc::now());
    let mut desk = outage_desk(desk).await;
    desk.report_p1(&mia(), "Checkout is down").await;
    report(&desk, &carl(), "Cannot pay for my order", None).await;
    desk.cmd(
        &bob(),
        "incident",
        Some("link"),
        &[s("id", "INC-2"), s("parent", "INC-1")],
    )
    .await;
    desk.drain().await;
    let before = desk.dms_to(carl().id).len();
    for note in ["Found the cause", "Deploying the fix"] {
        desk.cmd(&bob(), "incident", Some("update"), &[s("id", "INC-1"), s("note", note)])
            .await;
    }
    let dm = desk
        .fake
        .wait_for(WAIT, "Carl's update DM", |rs| {
            rs.iter()
                .find(|r| {
                    r.path == format!("/channels/{}/messages", dm_channel(carl().id))
                        && text(&r.body).contains("Found the cause")
                })
                .map(|r| r.body.clone())
        })
        .await;
    desk.drain().await;
    assert!(
        text(&dm).contains("Deploying the fix"),
        "both updates in one DM: {}",
        text(&dm)
    );
    assert_eq!(desk.dms_to(carl().id).len(), before + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_issue_is_asked_at_intake_and_the_first_answer_is_the_only_effect() {
    let mut desk = outage_desk(TestDesk::start().await).await;
    report(&desk, &mia(), "Checkout is down", Some("Payments")).await;
    desk.cmd(&ada(), "incident", Some("major"), &[s("id", "INC-1")]).await;

    // Same service as the open major incident: asked first, nothing created.
    let (question, reply) = report(&desk, &carl(), "Shop broken", Some("payments")).await;
    assert!(is_ephemeral(&reply));
    assert!(
        text(&reply).contains("Is this INC-1 – *Checkout is down*?"),
        "{}",
        text(&reply)
    );
    let ids = custom_ids(&reply);
    assert_eq!(ids, [format!("same:{question}"), format!("same-new:{question}")]);
    assert_eq!(column(&mut desk, 2, "count(*)").await, Some(0), "nothing created yet");
    let first = click(&desk, &carl(), &ids[0], question).await;
    assert!(first.contains("you are added to INC-1"), "{first}");
    for id in &ids {
        let again = click(&desk, &carl(), id, question).await;
        assert!(again.contains("You already answered"), "{again}");
    }
    assert_eq!(column(&mut desk, 2, "count(*)").await, Some(0), "still nothing created");

    // A title like an incident of the last hour: asked; "new" creates it, once.
    let (question, reply) = report(&desk, &dana(), "checkout down!", None).await;
    assert!(text(&reply).contains("Is this INC-1"), "{}", text(&reply));
    let created = click(&desk, &dana(), &format!("same-new:{question}"), question).await;
    assert!(created.contains("INC-2 (P3) is open"), "{created}");
    let again = click(&desk, &dana(), &format!("same:{question}"), question).await;
    assert!(again.contains("You already answered"), "{again}");
    // Only the member who asked can answer.
    let (question, _) = report(&desk, &carl(), "Checkout down again", None).await;
    let theirs = click(&desk, &dana(), &format!("same-new:{question}"), question).await;
    assert!(theirs.contains("You already answered"), "{theirs}");

    // People working incidents are not asked.
    let agent = desk.report_p1(&bob(), "Checkout is down").await;
    assert!(agent.contains("is open"), "{agent}");
    let db = desk.db().await;
    let affected: i64 = sqlx::query_scalar("SELECT count(*) FROM affected_users")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(affected, 1, "Carl, once");
    let audited: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action IN ('same-issue-asked', 'affected')")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(audited, 4, "three questions and one answer are audited");
    desk.fake.assert_valid();
}
