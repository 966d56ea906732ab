//! Event management end to end: monitoring sources, the three webhooks with the sample bodies
//! their tools document, and what each event does to incidents — through the real bot, its
//! HTTP listener and the fake Discord.

use chrono::Duration;
use serde_json::{json, Value};

use crate::support::*;

const ALERTMANAGER: &str = include_str!("samples/alertmanager.json");
const GRAFANA: &str = include_str!("samples/grafana.json");
const PAGERDUTY: &str = include_str!("samples/pagerduty-trigger.json");

fn sample(text: &str) -> Value {
    serde_json::from_str(text).expect("sample body")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// The token (or secret) in the `n`th code block of a reply.
fn code_block(reply: &Value, n: usize) -> String {
    let text = text(reply);
    text.split("```")
        .nth(2 * n + 1)
        .map(|block| block.trim().to_owned())
        .unwrap_or_else(|| panic!("no code block {n} in {text}"))
}

/// Ada (an admin) adds a source; returns its token.
async fn add_source(desk: &TestDesk, name: &str, kind: &str, extra: &[Opt]) -> String {
    let mut opts = vec![s("name", name), s("kind", kind)];
    opts.extend_from_slice(extra);
    let reply = desk.cmd(&ada(), "alerts", Some("source-add"), &opts).await;
    assert!(is_ephemeral(&reply), "{reply}");
    assert!(text(&reply).contains("is ready"), "{}", text(&reply));
    code_block(&reply, 0)
}

/// Posts `body` to `path` with a bearer token; returns status, JSON answer and headers.
async fn post(
    desk: &TestDesk,
    path: &str,
    token: Option<&str>,
    body: &Value,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let mut req = client()
        .post(format!("{}{path}", desk.http_base()))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let answer = serde_json::from_str(&r.text().await.unwrap_or_default()).unwrap_or(Value::Null);
    (status, answer, headers)
}

async fn post_am(desk: &TestDesk, token: &str, body: &Value) -> u16 {
    let (status, answer, _) = post(desk, "/hooks/alertmanager", Some(token), body).await;
    assert_eq!(status, 202, "{answer}");
    status
}

/// Waits until every accepted event is applied and everything it queued is delivered.
async fn settle(desk: &mut TestDesk) {
    let db = desk.db().await;
    eventually(WAIT, "the events to be applied", || {
        let db = db.clone();
        async move {
            let n: i64 = sqlx::query_scalar("SELECT count(*) FROM alert_events WHERE processed_at IS NULL")
                .fetch_one(&db)
                .await
                .unwrap();
            n == 0
        }
    })
    .await;
    desk.drain().await;
}

/// (number, state, priority, title, details) of every incident of `guild`.
async fn incidents(desk: &mut TestDesk, guild: u64) -> Vec<(i64, String, i64, String, Option<String>)> {
    let db = desk.db().await;
    sqlx::query_as(
        "SELECT number, state, priority, title, details FROM tickets WHERE kind = 'incident' AND guild_id = ? ORDER BY number",
    )
    .bind(guild as i64)
    .fetch_all(&db)
    .await
    .unwrap()
}

fn posts_in(desk: &TestDesk, channel: u64) -> Vec<Value> {
    let path = format!("/channels/{channel}/messages");
    desk.fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == path && r.status == 200)
        .map(|r| r.body)
        .collect()
}

fn card_edits(desk: &TestDesk) -> usize {
    desk.count(|r| r.method == "PATCH" && r.path.starts_with(&format!("/channels/{INCIDENTS}/messages/")))
}

/// A desk with the listener, the basics set up and Bob on call at level 1.
async fn monitored() -> TestDesk {
    let desk = TestDesk::start_with_http().await;
    desk.setup_basics(&ada()).await;
    desk.put_on_call(1, &bob()).await;
    desk
}

/// The sample with its one alert resolved.
fn resolved(mut body: Value) -> Value {
    body["status"] = json!("resolved");
    body["alerts"][0]["status"] = json!("resolved");
    body["alerts"][0]["endsAt"] = json!("2023-02-06T13:20:45.828Z");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alertmanager_notification_opens_a_paged_incident_and_its_ha_twin_changes_nothing() {
    let mut desk = monitored().await;
    let token = add_source(&desk, "prom", "alertmanager", &[]).await;
    assert_eq!(token.len(), 32, "{token:?}");
    assert!(token.chars().all(|c| c.is_ascii_alphanumeric()), "{token}");
    let body = sample(ALERTMANAGER);
    post_am(&desk, &token, &body).await;
    settle(&mut desk).await;

    let list = incidents(&mut desk, GUILD).await;
    assert_eq!(list.len(), 1, "{list:?}");
    let (number, state, priority, title, details) = &list[0];
    assert_eq!(
        (*number, state.as_str(), *priority),
        (1, "triggered", 1),
        "critical is P1"
    );
    assert_eq!(title, "BlackBox Probe Failure: https://server.example.org");
    let details = details.as_deref().unwrap_or_default();
    assert!(details.contains("has been down for over 5m"), "{details}");
    assert!(details.contains("job=http_checks"), "the labels: {details}");
    assert_eq!(desk.dms_to(bob().id).len(), 1, "Bob is paged once");
    let page = &desk.dms_to(bob().id)[0];
    assert!(text(page).contains("INC-1"), "{page}");

    let card = posts_in(&desk, INCIDENTS)
        .into_iter()
        .find(|b| text(b).contains("INC-1 · BlackBox"))
        .expect("the card");
    assert!(
        text(&card).contains("monitoring: prom"),
        "the reporter is the source: {}",
        text(&card)
    );
    assert!(text(&card).contains("1 of 1 firing: ProbeFailure"), "{}", text(&card));
    let link = buttons(&card)
        .into_iter()
        .find(|b| b["style"] == 5 && b["label"] == "Source")
        .expect("a link to the generator");
    assert!(link["url"]
        .as_str()
        .unwrap()
        .starts_with("http://prometheus.example.org:9090/graph"));
    assert_eq!(card["allowed_mentions"]["parse"], json!([]), "alert text pings nobody");

    // The other Alertmanager of the HA pair sends the same notification, and the repeat
    // interval sends it again: nothing new anywhere.
    let before = desk.fake.requests().len();
    post_am(&desk, &token, &body).await;
    post_am(&desk, &token, &body).await;
    settle(&mut desk).await;
    assert_eq!(incidents(&mut desk, GUILD).await.len(), 1);
    assert_eq!(
        desk.fake.requests_since(before).len(),
        0,
        "no post, edit or DM for a duplicate"
    );
    let list = desk.cmd(&ada(), "alerts", Some("source-list"), &[]).await;
    let shown = text(&list);
    assert!(shown.contains("**prom** · alertmanager"), "{shown}");
    assert!(shown.contains("3 received, 2 deduplicated"), "{shown}");
    assert!(shown.contains("1 open incident"), "{shown}");
    assert!(!shown.contains(&token), "the token is never shown again");

    // The database keeps only the token's SHA-256.
    let db = desk.db().await;
    let stored: String = sqlx::query_scalar("SELECT token_sha256 FROM alert_sources")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(stored, servicedesk::service::token_hash(&token));
    let dump: Vec<(String,)> = sqlx::query_as("SELECT quote(body) FROM alert_events")
        .fetch_all(&db)
        .await
        .unwrap();
    assert!(dump.iter().all(|(b,)| !b.contains(&token)));
    desk.fake.assert_valid();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_joining_alert_updates_the_card_with_one_notice_and_no_new_page() {
    let mut desk = monitored().await;
    let token = add_source(&desk, "prom", "alertmanager", &[]).await;
    let mut body = sample(ALERTMANAGER);
    post_am(&desk, &token, &body).await;
    settle(&mut desk).await;
    let (edits, posts) = (card_edits(&desk), posts_in(&desk, INCIDENTS).len());

    let mut second = body["alerts"][0].clone();
    second["fingerprint"] = json!("2b41cb82ddb3a32f");
    second["labels"]["alertname"] = json!("ProbeSlow");
    second["labels"]["instance"] = json!("https://api.example.org");
    body["alerts"].as_array_mut().unwrap().push(second);
    post_am(&desk, &token, &body).await;
    post_am(&desk, &token, &body).await; // and its HA twin
    settle(&mut desk).await;

    assert_eq!(incidents(&mut desk, GUILD).await.len(), 1);
    assert_eq!(desk.dms_to(bob().id).len(), 1, "no new page");
    let new_posts: Vec<Value> = posts_in(&desk, INCIDENTS).into_iter().skip(posts).collect();
    assert_eq!(new_posts.len(), 1, "one notice: {new_posts:?}");
    assert!(
        text(&new_posts[0]).contains("1 more alert(s) firing — ProbeSlow"),
        "{}",
        text(&new_posts[0])
    );
    assert_eq!(card_edits(&desk), edits + 1, "the card shows both alerts");
    let last_edit = desk
        .fake
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.method == "PATCH")
        .unwrap();
    assert!(
        text(&last_edit.body).contains("2 of 2 firing"),
        "{}",
        text(&last_edit.body)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolved_alerts_resolve_the_incident_after_the_grace_and_a_flap_keeps_one_incident() {
    let mut desk = monitored().await;
    let token = add_source(&desk, "prom", "alertmanager", &[s("grace", "5m")]).await;
    let body = sample(ALERTMANAGER);
    post_am(&desk, &token, &body).await;
    settle(&mut desk).await;

    // Resolved, then firing again (a new startsAt) two minutes later: a flap inside the grace.
    post_am(&desk, &token, &resolved(body.clone())).await;
    settle(&mut desk).await;
    assert_eq!(
        incidents(&mut desk, GUILD).await[0].1,
        "triggered",
        "not before the grace"
    );
    desk.clock.advance(Duration::minutes(2));
    let mut again = body.clone();
    again["alerts"][0]["startsAt"] = json!("2023-02-06T13:24:00.000Z");
    post_am(&desk, &token, &again).await;
    settle(&mut desk).await;
    desk.clock.advance(Duration::minutes(10));
    settle(&mut desk).await;
    let list = incidents(&mut desk, GUILD).await;
    assert_eq!(list.len(), 1, "the flap kept one incident: {list:?}");
    assert_eq!(list[0].1, "triggered", "the new firing cancelled the resolve");

    // Bob acknowledges it; then it resolves for good: after the grace, it resolves anyway.
    let ack = desk.cmd(&bob(), "incident", Some("ack"), &[s("id", "INC-1")]).await;
    assert!(text(&ack).contains("You acknowledged INC-1"), "{}", text(&ack));
    let mut over = resolved(again.clone());
    over["alerts"][0]["startsAt"] = json!("2023-02-06T13:24:00.000Z");
    post_am(&desk, &token, &over).await;
    settle(&mut desk).await;
    desk.clock.advance(Duration::minutes(4));
    settle(&mut desk).await;
    assert_eq!(
        incidents(&mut desk, GUILD).await[0].1,
        "acknowledged",
        "4 minutes is inside 5m"
    );
    desk.clock.advance(Duration::minutes(2));
    settle(&mut desk).await;
    assert_eq!(incidents(&mut desk, GUILD).await[0].1, "resolved");
    let notice = posts_in(&desk, INCIDENTS)
        .into_iter()
        .rev()
        .find(|b| text(b).contains("is resolved"))
        .expect("a resolution notice");
    let notice = text(&notice);
    assert!(
        notice.contains("Monitoring (prom) reported every alert resolved"),
        "{notice}"
    );
    assert!(notice.contains(&format!("<@{}> had it", bob().id)), "{notice}");

    // A late copy of the last firing changes nothing; a new firing opens a new incident that
    // names the last one.
    post_am(&desk, &token, &again).await;
    settle(&mut desk).await;
    assert_eq!(incidents(&mut desk, GUILD).await.len(), 1, "a stale copy opens nothing");
    let mut recurred = body.clone();
    recurred["alerts"][0]["startsAt"] = json!("2023-02-07T08:00:00.000Z");
    post_am(&desk, &token, &recurred).await;
    settle(&mut desk).await;
    let list = incidents(&mut desk, GUILD).await;
    assert_eq!(list.len(), 2, "{list:?}");
    assert!(
        list[1]
            .4
            .as_deref()
            .unwrap_or_default()
            .starts_with("Recurred: last time INC-1."),
        "{list:?}"
    );
    assert_eq!(desk.dms_to(bob().id).len(), 2, "the recurrence pages");

    let history = desk.cmd(&bob(), "ticket", Some("history"), &[s("id", "INC-1")]).await;
    assert!(
        text(&history).contains("monitoring (prom)"),
        "the audit names the source: {}",
        text(&history)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_grace_resolves_at_once_and_a_person_resolving_early_is_not_undone() {
    let mut desk = monitored().await;
    let token = add_source(&desk, "prom", "alertmanager", &[s("grace", "0m")]).await;
    let body = sample(ALERTMANAGER);
    post_am(&desk, &token, &body).await;
    post_am(&desk, &token, &resolved(body.clone())).await;
    settle(&mut desk).await;
    assert_eq!(incidents(&mut desk, GUILD).await[0].1, "resolved");
    // The resolution DM has nobody to go to: monitoring reported it.
    assert_eq!(desk.dms_to(bob().id).len(), 1, "only the page");

    // It fires again; Bob resolves it himself before monitoring does. Monitoring's resolution
    // then finds nothing open, and changes nothing.
    let mut again = body.clone();
    again["alerts"][0]["startsAt"] = json!("2023-02-07T08:00:00.000Z");
    post_am(&desk, &token, &again).await;
    settle(&mut desk).await;
    let done = desk
        .cmd(
            &bob(),
            "ticket",
            Some("resolve"),
            &[s("id", "INC-2"), s("note", "Restarted the prober")],
        )
        .await;
    assert!(text(&done).contains("INC-2 is resolved"), "{}", text(&done));
    let mut over = resolved(again.clone());
    over["alerts"][0]["startsAt"] = json!("2023-02-07T08:00:00.000Z");
    post_am(&desk, &token, &over).await;
    settle(&mut desk).await;
    let list = incidents(&mut desk, GUILD).await;
    assert_eq!(list.len(), 2, "{list:?}");
    let db = desk.db().await;
    let note: String = sqlx::query_scalar("SELECT resolution_note FROM tickets WHERE number = 2 AND kind = 'incident'")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(note, "Restarted the prober");
    desk.fake.assert_valid();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grafana_sends_with_a_bearer_token_and_a_signed_source_needs_its_signature() {
    let mut desk = monitored().await;
    let token = add_source(&desk, "grafana", "grafana", &[]).await;
    let (status, answer, _) = post(&desk, "/hooks/grafana", Some(&token), &sample(GRAFANA)).await;
    assert_eq!(status, 202, "{answer}");
    settle(&mut desk).await;
    let list = incidents(&mut desk, GUILD).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].2, 3, "no severity label: P3");
    assert_eq!(list[0].3, "This alert was triggered for zone us-1");
    let card = posts_in(&desk, INCIDENTS)
        .into_iter()
        .find(|b| text(b).contains("INC-1 ·"))
        .unwrap();
    let labels: Vec<String> = buttons(&card)
        .iter()
        .filter(|b| b["style"] == 5)
        .map(|b| b["label"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        labels,
        ["Source", "Silence", "Runbook"],
        "empty dashboard and panel URLs are left out"
    );

    // A signed source: the reply shows a second secret, and unsigned or stale posts are 401.
    let reply = desk
        .cmd(
            &ada(),
            "alerts",
            Some("source-add"),
            &[s("name", "signed"), s("kind", "grafana"), b("hmac", true)],
        )
        .await;
    let (token, secret) = (code_block(&reply, 0), code_block(&reply, 1));
    assert_eq!(secret.len(), 32);
    let mut body = sample(GRAFANA);
    body["groupKey"] = json!("{}:{team=\"red\"}");
    let raw = body.to_string();
    let sign = |ts: &str| {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
        let tag = ring::hmac::sign(&key, format!("{ts}:{raw}").as_bytes());
        tag.as_ref().iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    let send = |sig: Option<String>, ts: String| {
        let req = client()
            .post(format!("{}/hooks/grafana", desk.http_base()))
            .header("content-type", "application/json")
            .bearer_auth(&token)
            .header("X-Grafana-Alert-Timestamp", ts)
            .body(raw.clone());
        let req = match sig {
            Some(sig) => req.header("X-Grafana-Alert-Signature", sig),
            None => req,
        };
        async move { req.send().await.unwrap().status().as_u16() }
    };
    let now = servicedesk::clock::Clock::now(&desk.clock).timestamp();
    assert_eq!(send(None, now.to_string()).await, 401, "unsigned");
    assert_eq!(
        send(Some("00".repeat(32)), now.to_string()).await,
        401,
        "wrongly signed"
    );
    let stale = (now - 600).to_string();
    assert_eq!(send(Some(sign(&stale)), stale).await, 401, "signed ten minutes ago");
    assert_eq!(send(Some(sign(&now.to_string())), now.to_string()).await, 202);
    settle(&mut desk).await;
    assert_eq!(incidents(&mut desk, GUILD).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_v2_trigger_acknowledge_and_resolve_as_pagerduty_does() {
    let mut desk = monitored().await;
    let token = add_source(&desk, "pd", "events", &[]).await;
    let mut event = sample(PAGERDUTY);
    event["routing_key"] = json!(token);
    event["payload"]["severity"] = json!("critical");
    let (status, answer, _) = post(&desk, "/v2/enqueue", None, &event).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(
        answer,
        json!({ "status": "success", "message": "Event processed", "dedup_key": "samplekeyhere" })
    );
    let (status, _, _) = post(&desk, "/v2/enqueue", None, &event).await;
    assert_eq!(status, 202, "a second trigger with the key is accepted …");
    settle(&mut desk).await;
    let list = incidents(&mut desk, GUILD).await;
    assert_eq!(list.len(), 1, "… and changes nothing: {list:?}");
    assert_eq!(
        (list[0].2, list[0].3.as_str()),
        (1, "Example alert on host1.example.com")
    );
    let details = list[0].4.clone().unwrap_or_default();
    assert!(
        details.contains("Component: postgres") && details.contains("ping time"),
        "{details}"
    );
    let db = desk.db().await;
    let escalations: i64 = sqlx::query_scalar("SELECT count(*) FROM timers WHERE kind = 'escalate'")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(escalations, 1, "P1 from an event escalates like /incident new");

    // Acknowledge: escalation stops, as with the button.
    let ack = json!({ "routing_key": token, "event_action": "acknowledge", "dedup_key": "samplekeyhere" });
    assert_eq!(post(&desk, "/v2/enqueue", None, &ack).await.0, 202);
    settle(&mut desk).await;
    assert_eq!(incidents(&mut desk, GUILD).await[0].1, "acknowledged");
    let escalations: i64 = sqlx::query_scalar("SELECT count(*) FROM timers WHERE kind = 'escalate'")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(escalations, 0);

    // Events for a key with no open incident are accepted and ignored.
    let stray = json!({ "routing_key": token, "event_action": "resolve", "dedup_key": "no-such-key" });
    assert_eq!(post(&desk, "/v2/enqueue", None, &stray).await.0, 202);
    let resolve = json!({ "routing_key": token, "event_action": "resolve", "dedup_key": "samplekeyhere" });
    assert_eq!(post(&desk, "/v2/enqueue", None, &resolve).await.0, 202);
    settle(&mut desk).await;
    let list = incidents(&mut desk, GUILD).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].1, "resolved");

    // A trigger without a key gets one, and says it.
    let mut keyless = sample(PAGERDUTY);
    keyless["routing_key"] = json!(token);
    keyless.as_object_mut().unwrap().remove("dedup_key");
    let (status, answer, _) = post(&desk, "/v2/enqueue", None, &keyless).await;
    assert_eq!(status, 202);
    assert_eq!(answer["dedup_key"].as_str().map(str::len), Some(32), "{answer}");
    settle(&mut desk).await;
    assert_eq!(incidents(&mut desk, GUILD).await[1].2, 5, "info is P5");

    // Refusals in PagerDuty's words.
    let mut bad = sample(PAGERDUTY);
    bad["routing_key"] = json!(token);
    bad["payload"].as_object_mut().unwrap().remove("summary");
    let (status, answer, _) = post(&desk, "/v2/enqueue", None, &bad).await;
    assert_eq!(status, 400);
    assert_eq!(answer["status"], "invalid event");
    assert_eq!(
        answer["errors"],
        json!(["'payload.summary' is missing or blank"]),
        "{answer}"
    );
    let mut wrong = sample(PAGERDUTY);
    wrong["routing_key"] = json!("A".repeat(32));
    assert_eq!(post(&desk, "/v2/enqueue", None, &wrong).await.0, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refusal_has_its_status_and_changes_nothing() {
    let mut desk = monitored().await;
    let token = add_source(&desk, "prom", "alertmanager", &[]).await;
    let body = sample(ALERTMANAGER);
    let base = desk.http_base();

    // Missing, wrong, another kind's endpoint: the same 401.
    assert_eq!(post(&desk, "/hooks/alertmanager", None, &body).await.0, 401);
    assert_eq!(
        post(&desk, "/hooks/alertmanager", Some(&"x".repeat(32)), &body).await.0,
        401
    );
    let (status, answer, _) = post(&desk, "/hooks/grafana", Some(&token), &sample(GRAFANA)).await;
    assert_eq!(
        status, 401,
        "an alertmanager token does not open the grafana endpoint: {answer}"
    );

    // Not JSON, or JSON without what the kind needs: 400, naming the field.
    let r = client()
        .post(format!("{base}/hooks/alertmanager"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let mut keyless = body.clone();
    keyless.as_object_mut().unwrap().remove("groupKey");
    let (status, answer, _) = post(&desk, "/hooks/alertmanager", Some(&token), &keyless).await;
    assert_eq!(status, 400);
    assert!(
        answer["error"].as_str().unwrap().contains("`groupKey` is missing"),
        "{answer}"
    );
    let mut badly = body.clone();
    badly["alerts"][0]["labels"]["severity"] = json!(5);
    let (status, answer, _) = post(&desk, "/hooks/alertmanager", Some(&token), &badly).await;
    assert_eq!(status, 400);
    assert!(
        answer["error"].as_str().unwrap().contains("alerts[0].labels.severity"),
        "{answer}"
    );

    // Not JSON by its content type: 415. Over 1 MiB: 413.
    let r = client()
        .post(format!("{base}/hooks/alertmanager"))
        .bearer_auth(&token)
        .header("content-type", "text/plain")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 415);
    let mut huge = body.clone();
    huge["commonAnnotations"]["description"] = json!("x".repeat(1024 * 1024 + 1));
    assert_eq!(post(&desk, "/hooks/alertmanager", Some(&token), &huge).await.0, 413);

    // Basic auth with the token as the password works too (Alertmanager's basic_auth).
    let r = client()
        .post(format!("{base}/hooks/alertmanager"))
        .basic_auth("alertmanager", Some(&token))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    settle(&mut desk).await;
    assert_eq!(
        incidents(&mut desk, GUILD).await.len(),
        1,
        "only the accepted one counted"
    );

    // Rotated: the old token stops at once, the new one works.
    let reply = desk
        .cmd(&ada(), "alerts", Some("source-rotate"), &[s("name", "prom")])
        .await;
    let fresh = code_block(&reply, 0);
    assert_ne!(fresh, token);
    assert_eq!(post(&desk, "/hooks/alertmanager", Some(&token), &body).await.0, 401);
    assert_eq!(post(&desk, "/hooks/alertmanager", Some(&fresh), &body).await.0, 202);

    // The database fails: 503, so the sender retries; nothing is counted as received.
    let db = desk.db().await;
    sqlx::query("ALTER TABLE alert_events RENAME TO alert_events_away")
        .execute(&db)
        .await
        .unwrap();
    let (status, _, headers) = post(&desk, "/hooks/alertmanager", Some(&fresh), &body).await;
    assert_eq!(status, 503);
    assert_eq!(headers.get("retry-after").unwrap(), "5");
    sqlx::query("ALTER TABLE alert_events_away RENAME TO alert_events")
        .execute(&db)
        .await
        .unwrap();
    let received: i64 = sqlx::query_scalar("SELECT events_received FROM alert_sources")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(received, 2, "the basic-auth one and the fresh token's one");

    // More than 50 events in a second from one source: 429 with Retry-After.
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..60 {
        let (status, _, headers) = post(&desk, "/hooks/alertmanager", Some(&fresh), &body).await;
        if status == 429 {
            retry_after = headers.get("retry-after").map(|v| v.to_str().unwrap().to_owned());
        }
        statuses.push(status);
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    assert_eq!(retry_after.as_deref(), Some("1"));

    let metrics = client()
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "servicedesk_alert_events_total{kind=\"alertmanager\",outcome=\"unsupported-type\"} 1",
        "servicedesk_alert_events_total{kind=\"alertmanager\",outcome=\"invalid\"} 3",
        "servicedesk_alert_events_total{kind=\"grafana\",outcome=\"unauthorized\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
    assert!(metrics.contains("outcome=\"rate-limited\""), "{metrics}");

    // Removed: its token is refused.
    let removed = desk
        .cmd(&ada(), "alerts", Some("source-remove"), &[s("name", "prom")])
        .await;
    assert!(text(&removed).contains("is removed"), "{}", text(&removed));
    assert_eq!(post(&desk, "/hooks/alertmanager", Some(&fresh), &body).await.0, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_incident_managers_manage_sources_and_bad_arguments_are_refused() {
    let desk = monitored().await;
    let refused = desk
        .cmd(
            &bob(),
            "alerts",
            Some("source-add"),
            &[s("name", "prom"), s("kind", "alertmanager")],
        )
        .await;
    assert!(text(&refused).contains("Only incident managers"), "{}", text(&refused));
    for (opts, expect) in [
        (
            vec![s("name", "Prom!"), s("kind", "alertmanager")],
            "1 to 32 characters",
        ),
        (
            vec![s("name", "prom"), s("kind", "alertmanager"), s("grace", "2d")],
            "from 0m to 24h",
        ),
        (
            vec![s("name", "prom"), s("kind", "alertmanager"), b("hmac", true)],
            "only a grafana source",
        ),
    ] {
        let reply = desk.cmd(&ada(), "alerts", Some("source-add"), &opts).await;
        assert!(is_ephemeral(&reply));
        assert!(text(&reply).contains(expect), "{expect}: {}", text(&reply));
    }
    add_source(&desk, "prom", "alertmanager", &[]).await;
    let again = desk
        .cmd(
            &ada(),
            "alerts",
            Some("source-add"),
            &[s("name", "prom"), s("kind", "grafana")],
        )
        .await;
    assert!(text(&again).contains("already exists"), "{}", text(&again));
    let missing = desk
        .cmd(&ada(), "alerts", Some("source-rotate"), &[s("name", "nope")])
        .await;
    assert!(
        text(&missing).contains("no monitoring source named `nope`"),
        "{}",
        text(&missing)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_acts_only_in_its_own_server() {
    let mut desk = monitored().await;
    let ours = add_source(&desk, "prom", "alertmanager", &[]).await;
    let reply = desk
        .cmd_in(
            OTHER_GUILD,
            &ada(),
            "alerts",
            Some("source-add"),
            &[s("name", "prom"), s("kind", "alertmanager")],
            &[],
        )
        .await;
    let theirs = code_block(&reply, 0);
    let body = sample(ALERTMANAGER);
    post_am(&desk, &ours, &body).await;
    settle(&mut desk).await;
    assert_eq!(incidents(&mut desk, GUILD).await.len(), 1);
    assert_eq!(
        incidents(&mut desk, OTHER_GUILD).await.len(),
        0,
        "the same group key elsewhere is untouched"
    );
    post_am(&desk, &theirs, &resolved(body.clone())).await;
    settle(&mut desk).await;
    assert_eq!(
        incidents(&mut desk, GUILD).await[0].1,
        "triggered",
        "their resolution is not ours"
    );
    post_am(&desk, &theirs, &body).await;
    settle(&mut desk).await;
    let other = incidents(&mut desk, OTHER_GUILD).await;
    assert_eq!(other.len(), 1);
    assert_eq!(other[0].0, 1, "numbered in its own server");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answered_event_survives_a_crash_before_it_is_applied() {
    let options = servicedesk::app::Options {
        hold_intake: true,
        ..Default::default()
    };
    let mut desk = TestDesk::start_with_http_options(options).await;
    desk.setup_basics(&ada()).await;
    desk.put_on_call(1, &bob()).await;
    let token = add_source(&desk, "prom", "alertmanager", &[]).await;
    post_am(&desk, &token, &sample(ALERTMANAGER)).await;
    let db = desk.db().await;
    let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM alert_events WHERE processed_at IS NULL")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(pending, 1, "committed before the 202, not yet applied");
    assert_eq!(incidents(&mut desk, GUILD).await.len(), 0);

    desk.stop_bot().await;
    desk.options.hold_intake = false;
    desk.start_bot().await;
    settle(&mut desk).await;
    assert_eq!(
        incidents(&mut desk, GUILD).await.len(),
        1,
        "applied once at the next start"
    );
    assert_eq!(desk.dms_to(bob().id).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_text_pings_nobody_and_is_cut_to_discords_limits() {
    let mut desk = monitored().await;
    let token = add_source(&desk, "prom", "alertmanager", &[]).await;
    let mut body = sample(ALERTMANAGER);
    let loud = format!(
        "@everyone <@{}> <@&{AGENT_ROLE}> {}",
        mia().id,
        "disk full ".repeat(600)
    );
    body["commonAnnotations"]["summary"] = json!(loud);
    body["commonAnnotations"]["description"] = json!(loud);
    body["alerts"][0]["labels"]["alertname"] = json!("x".repeat(5000));
    post_am(&desk, &token, &body).await;
    settle(&mut desk).await;
    let list = incidents(&mut desk, GUILD).await;
    assert_eq!(list[0].3.chars().count(), 100, "the title is cut to 100 characters");
    assert!(list[0].3.ends_with('…'));
    assert!(list[0].4.as_deref().unwrap().chars().count() <= 1500);
    let card = posts_in(&desk, INCIDENTS)
        .into_iter()
        .find(|b| text(b).contains("INC-1 ·"))
        .unwrap();
    assert_eq!(card["allowed_mentions"]["parse"], json!([]));
    assert_eq!(card["allowed_mentions"]["roles"], json!([]), "{card}");
    let users = card["allowed_mentions"]["users"].as_array().unwrap();
    assert_eq!(users, &[json!(bob().id.to_string())], "only the person paged: {card}");
    // The fake checks every body against Discord's limits (embed title, fields, content).
    desk.fake.assert_valid();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_alert_firing_for_three_groups_in_a_week_is_a_recurrence() {
    let mut desk = monitored().await;
    let token = add_source(&desk, "prom", "alertmanager", &[]).await;
    for (i, instance) in [
        "https://a.example.org",
        "https://b.example.org",
        "https://c.example.org",
        "https://d.example.org",
    ]
    .iter()
    .enumerate()
    {
        let mut body = sample(ALERTMANAGER);
        body["groupKey"] = json!(format!("{{}}:{{instance=\"{instance}\"}}"));
        body["alerts"][0]["fingerprint"] = json!(format!("f{i}"));
        post_am(&desk, &token, &body).await;
        settle(&mut desk).await;
    }
    let notices: Vec<Value> = posts_in(&desk, INCIDENTS)
        .into_iter()
        .filter(|b| text(b).contains("none linked to a problem"))
        .collect();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(
        text(&notices[0]).contains("3 incidents of **ProbeFailure**"),
        "{}",
        text(&notices[0])
    );
}
