//! `/report`: the figures of a period and its chart, end to end through the fake Discord.

use chrono::Duration;
use serde_json::Value;

use crate::support::*;

/// Sends `/report days` as `user` in `guild`; returns the reply's data and the recorded request
/// that carried it (the callback, or the edit after a deferral).
async fn report(desk: &TestDesk, guild: u64, user: &User, days: i64) -> (Value, Recorded) {
    let id = desk.fake.snowflake();
    let data = desk
        .send(slash(id, guild, user, "report", None, &[int("days", days)], &[]))
        .await;
    let paths = [
        format!("/interactions/{id}/token-{id}/callback"),
        format!("/webhooks/{APP_ID}/token-{id}/messages/@original"),
    ];
    let carrier = desk
        .fake
        .requests()
        .into_iter()
        .rev()
        .find(|r| paths.contains(&r.path))
        .expect("the reply was recorded");
    (data, carrier)
}

fn field(data: &Value, name: &str) -> String {
    data["embeds"][0]["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["name"] == name)
        .and_then(|f| f["value"].as_str())
        .unwrap_or_else(|| panic!("no field {name} in {data}"))
        .to_owned()
}

fn assert_chart(carrier: &Recorded, data: &Value) {
    assert_eq!(carrier.files.len(), 1, "one file: {:?}", carrier.files);
    let f = &carrier.files[0];
    assert_eq!(
        (f.field.as_str(), f.filename.as_str(), f.content_type.as_str()),
        ("files[0]", "report.png", "image/png")
    );
    assert_eq!(&f.data[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    assert!(f.data.len() < 200_000, "{} bytes", f.data.len());
    assert_eq!(data["embeds"][0]["image"]["url"], "attachment://report.png");
    assert_eq!(data["attachments"][0]["id"], "0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_counts_the_period_shows_its_sla_compliance_and_attaches_a_chart() {
    let mut desk = TestDesk::start().await; // Monday 5 January 2026, 10:00 UTC
    let (ada, mia, bob) = (ada(), mia(), bob());
    desk.setup_basics(&ada).await;
    let sla = [
        s("kind", "request"),
        s("priority", "P4"),
        s("respond", "1h"),
        s("resolve", "2h"),
    ];
    desk.cmd(&ada, "setup", Some("sla"), &sla).await;
    for summary in ["One", "Two", "Three"] {
        desk.cmd(
            &mia,
            "request",
            Some("new"),
            &[s("item", "Laptop"), s("summary", summary)],
        )
        .await;
    }
    let p1 = [s("title", "Mail is down"), s("impact", "high"), s("urgency", "high")];
    desk.cmd(&mia, "incident", Some("new"), &p1).await;

    // Half an hour later REQ-1 is taken and solved, and INC-1 acknowledged — past its 15 min.
    desk.clock.advance(Duration::minutes(30));
    desk.drain().await;
    desk.cmd(&bob, "ticket", Some("claim"), &[s("id", "REQ-1")]).await;
    desk.cmd(
        &bob,
        "ticket",
        Some("resolve"),
        &[s("id", "REQ-1"), s("note", "New laptop")],
    )
    .await;
    desk.cmd(&bob, "incident", Some("ack"), &[s("id", "INC-1")]).await;
    // Three hours on, REQ-2 and REQ-3 have breached both their clocks.
    desk.clock.advance(Duration::hours(3));
    desk.drain().await;

    // A standard change, run and completed.
    let change = [
        s("title", "Rotate certificates"),
        s("type", "standard"),
        s("risk", "low"),
        s("start", "2026-01-05 14:00"),
        s("end", "2026-01-05 15:00"),
        s("plan", "Swap the certificates"),
        s("backout", "Put the old ones back"),
    ];
    desk.cmd(&ada, "change", Some("new"), &change).await;
    desk.cmd(&ada, "change", Some("start"), &[s("id", "CHG-1")]).await;
    let done = [s("id", "CHG-1"), s("outcome", "successful"), s("notes", "All green")];
    desk.cmd(&ada, "change", Some("complete"), &done).await;

    let (data, carrier) = report(&desk, GUILD, &bob, 7).await;
    assert!(is_ephemeral(&data), "{data}");
    let requests = field(&data, "Requests");
    assert!(requests.contains("Opened **3** · resolved **1**"), "{requests}");
    assert!(requests.contains("Mean time to respond: 30m"), "{requests}");
    assert!(requests.contains("Mean time to resolve: 30m"), "{requests}");
    // REQ-1's two clocks met; REQ-2's and REQ-3's four breached.
    assert!(
        requests.contains("SLA met: 33 % (2 of 6 clocks) · breaches: 4"),
        "{requests}"
    );
    let incidents = field(&data, "Incidents");
    assert!(incidents.contains("Opened **1** · resolved **0**"), "{incidents}");
    assert!(incidents.contains("Mean time to acknowledge: 30m"), "{incidents}");
    assert!(incidents.contains("Mean time to resolve: —"), "{incidents}");
    // The response clock breached at 15 min; the resolution clock (4 h) is still running.
    assert!(
        incidents.contains("SLA met: 0 % (0 of 1 clocks) · breaches: 1"),
        "{incidents}"
    );
    let changes = field(&data, "Changes closed");
    assert!(changes.contains("Successful **1** · failed **0**"), "{changes}");
    assert!(changes.contains("Rejected **0**"), "{changes}");
    assert!(text(&data).contains("the last 7 days"), "{}", text(&data));
    assert_chart(&carrier, &data);

    // Members do not see the desk's figures; nothing is attached to the refusal.
    let (refused, carrier) = report(&desk, GUILD, &mia, 7).await;
    assert!(text(&refused).contains("Reports are for agents"), "{}", text(&refused));
    assert!(is_ephemeral(&refused) && carrier.files.is_empty());

    // Another server's report counts none of this server's tickets.
    let (other, carrier) = report(&desk, OTHER_GUILD, &ada, 30).await;
    assert!(
        field(&other, "Requests").contains("Opened **0** · resolved **0**"),
        "{other}"
    );
    assert!(
        field(&other, "Incidents").contains("SLA met: no clock settled yet"),
        "{other}"
    );
    assert!(field(&other, "Changes closed").contains("Successful **0**"), "{other}");
    assert_chart(&carrier, &other);
    desk.fake.assert_valid();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_report_is_deferred_and_its_chart_arrives_with_the_edited_reply() {
    let mut desk = TestDesk::start().await;
    let ada = ada();
    desk.setup_basics(&ada).await;
    // Another writer holds the database, so claiming the interaction has to wait.
    let db = desk.db().await;
    let mut blocker = db.acquire().await.unwrap();
    sqlx::query("BEGIN IMMEDIATE").execute(&mut *blocker).await.unwrap();
    let id = desk.fake.snowflake();
    desk.fake.dispatch(
        "INTERACTION_CREATE",
        slash(id, GUILD, &ada, "report", None, &[int("days", 90)], &[]),
    );
    let callback = format!("/interactions/{id}/token-{id}/callback");
    let first = desk
        .fake
        .wait_for(WAIT, "the deferral", |rs| {
            rs.iter().find(|r| r.path == callback).cloned()
        })
        .await;
    assert_eq!(first.body["type"], 5, "{}", first.body);
    assert!(first.files.is_empty(), "nothing attached to the deferral");
    sqlx::query("ROLLBACK").execute(&mut *blocker).await.unwrap();
    drop(blocker);
    let edit = format!("/webhooks/{APP_ID}/token-{id}/messages/@original");
    let carrier = desk
        .fake
        .wait_for(WAIT, "the edited reply", |rs| {
            rs.iter().find(|r| r.path == edit && r.method == "PATCH").cloned()
        })
        .await;
    assert!(text(&carrier.body).contains("the last 90 days"), "{}", carrier.body);
    assert_chart(&carrier, &carrier.body);
    desk.fake.assert_valid();
}
