//! What whoever runs the bot relies on: `/healthz`, `/metrics`, the listener's refusals,
//! `backup` while tickets are written, `/help`, and `/setup show` as a checklist of every setting.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::*;

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

async fn get(desk: &TestDesk, path: &str) -> (u16, String) {
    let r = client()
        .get(format!("{}{path}", desk.http_base()))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Polls `/healthz` until it answers `status`, or panics after the wait; returns that body.
async fn healthz_becomes(desk: &TestDesk, status: u16) -> Value {
    let body = Arc::new(Mutex::new(String::new()));
    eventually(WAIT, &format!("/healthz to answer {status}"), || {
        let (url, body) = (format!("{}/healthz", desk.http_base()), body.clone());
        async move {
            let r = client().get(url).send().await.unwrap();
            let code = r.status().as_u16();
            *body.lock().unwrap() = r.text().await.unwrap();
            code == status
        }
    })
    .await;
    let text = body.lock().unwrap().clone();
    serde_json::from_str(&text).unwrap()
}

/// Parses Prometheus' text format (and OpenMetrics): every sample line is `name{labels} value`;
/// anything else is a comment. Panics on a malformed line. Returns series → value.
fn parse_metrics(text: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    let mut types = 0;
    for line in text.lines() {
        if line.starts_with("# TYPE ") {
            types += 1;
            let parts: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(parts.len(), 4, "TYPE line: {line}");
            assert!(
                [
                    "counter",
                    "gauge",
                    "histogram",
                    "summary",
                    "unknown",
                    "info",
                    "stateset",
                    "gaugehistogram"
                ]
                .contains(&parts[3]),
                "{line}"
            );
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("no value: {line}"));
        let name_end = series.find('{').unwrap_or(series.len());
        let name = &series[..name_end];
        assert!(
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "metric name: {line}"
        );
        if name_end < series.len() {
            assert!(series.ends_with('}'), "labels: {line}");
        }
        let v: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("value: {line}")),
        };
        out.insert(series.to_owned(), v);
    }
    assert!(types > 10, "every metric has its TYPE");
    out
}

fn sum(metrics: &BTreeMap<String, f64>, name: &str) -> f64 {
    metrics
        .iter()
        .filter(|(k, _)| *k == name || k.starts_with(&format!("{name}{{")))
        .map(|(_, v)| v)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_fails_while_the_gateway_is_down_and_recovers_after_the_resume() {
    let desk = TestDesk::start_with_http().await;
    let body = healthz_becomes(&desk, 200).await;
    assert_eq!(body["status"], "ok", "{body}");
    for check in ["database", "gateway", "outbox"] {
        assert_eq!(body["checks"][check]["ok"], true, "{check}: {body}");
    }

    desk.fake.hold_resumes(true);
    desk.fake.reset_gateway();
    let down = healthz_becomes(&desk, 503).await;
    assert_eq!(down["status"], "failing", "{down}");
    assert_eq!(
        down["checks"]["gateway"]["ok"], false,
        "the failing check is named: {down}"
    );
    assert_eq!(down["checks"]["database"]["ok"], true, "{down}");

    desk.fake.hold_resumes(false);
    let up = healthz_becomes(&desk, 200).await;
    assert_eq!(up["checks"]["gateway"]["ok"], true, "{up}");
    let (_, resumes) = desk.fake.gateway_counts();
    assert!(resumes >= 1, "the bot resumed its session");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_exactly_the_interactions_sent() {
    let mut desk = TestDesk::start_with_http().await;
    desk.setup_basics(&ada()).await;
    let (status, before) = get(&desk, "/metrics").await;
    assert_eq!(status, 200);
    let before = parse_metrics(&before);

    let sent = 7;
    for i in 0..sent {
        let reply = desk
            .cmd(
                &mia(),
                "request",
                Some("new"),
                &[s("item", "Laptop"), s("summary", &format!("A laptop, please ({i})"))],
            )
            .await;
        assert!(text(&reply).contains("REQ-"), "{reply}");
    }
    // A refusal counts as an interaction and as a refused use-case.
    let refused = desk.cmd(&mia(), "queue", None, &[]).await;
    assert!(!text(&refused).contains("REQ-"), "a member has no queue: {refused}");
    desk.drain().await;

    let response = client()
        .get(format!("{}/metrics", desk.http_base()))
        .send()
        .await
        .unwrap();
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let text = response.text().await.unwrap();
    assert!(text.trim_end().ends_with("# EOF"), "OpenMetrics ends with # EOF");
    let after = parse_metrics(&text);
    let grew = |name: &str| sum(&after, name) - sum(&before, name);
    assert_eq!(grew("servicedesk_interactions_total"), f64::from(sent + 1), "{text}");
    assert_eq!(
        after[r#"servicedesk_interactions_total{kind="command",command="request"}"#]
            - before
                .get(r#"servicedesk_interactions_total{kind="command",command="request"}"#)
                .copied()
                .unwrap_or(0.0),
        f64::from(sent)
    );
    assert_eq!(grew("servicedesk_first_response_seconds_count"), f64::from(sent + 1));
    assert_eq!(
        after[r#"servicedesk_usecase_outcomes_total{outcome="refused"}"#], 1.0,
        "{text}"
    );
    assert!(grew("servicedesk_commits_total") >= f64::from(sent), "{text}");
    assert_eq!(
        after[r#"servicedesk_open_tickets{kind="request"}"#],
        f64::from(sent),
        "{text}"
    );
    assert_eq!(after["servicedesk_outbox_pending"], 0.0, "drained: {text}");
    assert!(
        grew("servicedesk_outbox_sent_total") >= f64::from(sent),
        "every card was sent: {text}"
    );
    assert_eq!(after["servicedesk_gateway_connected"], 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listener_refuses_what_it_does_not_serve_and_keeps_running() {
    let desk = TestDesk::start_with_http().await;
    let base = desk.http_base();
    let c = client();
    let status = |r: reqwest::Response| r.status().as_u16();
    assert_eq!(status(c.get(format!("{base}/nope")).send().await.unwrap()), 404);
    assert_eq!(status(c.post(format!("{base}/metrics")).send().await.unwrap()), 405);
    assert_eq!(status(c.delete(format!("{base}/healthz")).send().await.unwrap()), 405);
    let with_body = c.get(format!("{base}/metrics")).body("hello").send().await.unwrap();
    assert_eq!(status(with_body), 400, "a GET with a body");
    // A client announcing 10 MB: the bot answers 413 from the headers alone, reading none of it.
    let mut raw = tokio::net::TcpStream::connect(desk.http_addr.unwrap()).await.unwrap();
    raw.write_all(
        b"POST /metrics HTTP/1.1\r\nHost: desk\r\nContent-Type: application/json\r\nContent-Length: 10485760\r\n\r\n",
    )
    .await
    .unwrap();
    let mut head = vec![0; 12];
    raw.read_exact(&mut head).await.unwrap();
    assert_eq!(&head, b"HTTP/1.1 413", "{}", String::from_utf8_lossy(&head));
    drop(raw);
    let (code, _) = get(&desk, "/healthz").await;
    assert_eq!(code, 200, "the bot keeps running");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_tickets_are_written_holds_every_confirmed_ticket() {
    let desk = Arc::new(TestDesk::start().await);
    desk.setup_basics(&ada()).await;
    let confirmed: Arc<Mutex<Vec<String>>> = Arc::default();
    let done = Arc::new(AtomicUsize::new(0));
    let writer = {
        let (desk, confirmed, done) = (desk.clone(), confirmed.clone(), done.clone());
        tokio::spawn(async move {
            for i in 0..40 {
                let reply = desk
                    .cmd(
                        &mia(),
                        "request",
                        Some("new"),
                        &[s("item", "Laptop"), s("summary", &format!("Laptop {i}"))],
                    )
                    .await;
                let t = text(&reply);
                let id = t
                    .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                    .find(|w| w.starts_with("REQ-"))
                    .unwrap_or_else(|| panic!("{t}"))
                    .to_owned();
                confirmed.lock().unwrap().push(id);
                done.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    eventually(WAIT, "some tickets confirmed", || {
        let done = done.clone();
        async move { done.load(Ordering::SeqCst) >= 10 }
    })
    .await;
    let before: Vec<String> = confirmed.lock().unwrap().clone();
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.db");
    let report = servicedesk::app::backup(&desk.db_url, &copy).await.expect("backup");
    writer.await.unwrap();

    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", copy.display()))
        .await
        .unwrap();
    let (integrity,): (String,) = sqlx::query_as("PRAGMA integrity_check").fetch_one(&pool).await.unwrap();
    assert_eq!(integrity, "ok");
    let numbers: Vec<(i64,)> = sqlx::query_as("SELECT number FROM tickets WHERE kind = 'request'")
        .fetch_all(&pool)
        .await
        .unwrap();
    let in_copy: Vec<String> = numbers.iter().map(|(n,)| format!("REQ-{n}")).collect();
    for id in &before {
        assert!(
            in_copy.contains(id),
            "{id} was confirmed before the backup but is not in it"
        );
    }
    assert_eq!(usize::try_from(report.tickets).unwrap(), in_copy.len());
    assert!(in_copy.len() <= 40);

    let again = servicedesk::app::backup(&desk.db_url, &copy).await;
    assert!(
        matches!(again, Err(servicedesk::app::BackupError::Exists(_))),
        "never overwrites"
    );
    let nowhere = servicedesk::app::backup(&desk.db_url, &dir.path().join("missing/copy.db")).await;
    assert!(matches!(nowhere, Err(servicedesk::app::BackupError::NoFolder(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_lists_what_the_member_may_use() {
    let desk = TestDesk::start().await;
    desk.setup_basics(&ada()).await;
    let member = text(&desk.cmd(&mia(), "help", None, &[]).await);
    assert!(
        member.contains("/request new") && member.contains("/ticket show"),
        "{member}"
    );
    for hidden in ["/setup show", "/ticket claim", "/queue", "/report", "/oncall add"] {
        assert!(!member.contains(hidden), "a member is shown {hidden}: {member}");
    }
    let agent = text(&desk.cmd(&bob(), "help", None, &[]).await);
    assert!(agent.contains("/ticket claim") && agent.contains("/queue"), "{agent}");
    assert!(!agent.contains("/setup show"), "{agent}");
    let admin = text(&desk.cmd(&ada(), "help", None, &[]).await);
    assert!(
        admin.contains("/setup show") && admin.contains("/setup escalation"),
        "{admin}"
    );
    desk.fake.assert_valid();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_show_is_a_checklist_of_every_setting() {
    let desk = TestDesk::start().await;
    let fresh = text(&desk.cmd(&ada(), "setup", Some("show"), &[]).await);
    assert!(fresh.contains("Requests — not ready"), "{fresh}");
    assert!(fresh.contains("❌ a triage channel"), "{fresh}");

    desk.setup_basics(&ada()).await;
    for (sub, opts) in [
        ("holiday", vec![s("date", "2026-12-24"), s("name", "Christmas Eve")]),
        ("holiday", vec![s("date", "2026-12-31"), s("name", "New Year's Eve")]),
        (
            "sla",
            vec![
                s("kind", "incident"),
                s("priority", "P1"),
                s("respond", "10m"),
                s("resolve", "2h"),
            ],
        ),
        (
            "escalation",
            vec![
                s("priority", "P2"),
                s("delay", "5m"),
                s("ack-timeout", "20m"),
                int("rounds", 3),
            ],
        ),
        (
            "cab",
            vec![
                s("rule", "normal"),
                s("mode", "quorum"),
                int("count", 2),
                s("voting", "12h"),
            ],
        ),
    ] {
        let reply = text(&desk.cmd(&ada(), "setup", Some(sub), &opts).await);
        assert!(!reply.contains("Pick") && !reply.contains("not"), "{sub}: {reply}");
    }
    let shown = text(&desk.cmd(&ada(), "setup", Some("show"), &[]).await);
    for expected in [
        "Requests — ready",
        "✅ a triage channel",
        "Incidents — not ready",
        "❌ someone on call at level 1",
        "2026-12-24 Christmas Eve",
        "2026-12-31 New Year's Eve",
        "incident P1: respond 10m, resolve 2h\n",
        "incident P2: respond 30m, resolve 8h (default)",
        "P2: next level after 5m, ack timeout 20m, 3 more round(s)\n",
        "P4: pages level 1 once, never escalates (default)",
        "normal: quorum 2, vote open 12h\n",
        "emergency: any, vote open 1h (default)",
        "Laptop",
    ] {
        assert!(shown.contains(expected), "missing {expected:?} in:\n{shown}");
    }
    let member = text(&desk.cmd(&mia(), "setup", Some("show"), &[]).await);
    assert!(member.contains("Only server admins"), "{member}");
    desk.fake.assert_valid();
}

/// Sends an interaction the harness would refuse (Discord checks required options and choices
/// against what the bot registered; a stale registration during an update does not), and returns
/// the reply's text.
async fn send_unchecked(desk: &TestDesk, payload: Value) -> String {
    let id = payload["id"].as_str().unwrap().to_owned();
    desk.fake.dispatch("INTERACTION_CREATE", payload);
    let path = format!("/interactions/{id}/token-{id}/callback");
    let body = desk
        .fake
        .wait_for(WAIT, "the answer", |rs| {
            rs.iter().find(|r| r.path == path).map(|r| r.body.clone())
        })
        .await;
    text(&body["data"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_option_or_a_choice_off_the_list_is_refused_by_name() {
    let mut desk = TestDesk::start().await;
    desk.setup_basics(&ada()).await;
    let missing = send_unchecked(
        &desk,
        slash(desk.fake.snowflake(), GUILD, &mia(), "ticket", Some("show"), &[], &[]),
    )
    .await;
    assert!(missing.contains("The option `id` is missing"), "{missing}");
    let opts = [s("title", "Printer"), s("impact", "huge"), s("urgency", "high")];
    let off_list = send_unchecked(
        &desk,
        slash(
            desk.fake.snowflake(),
            GUILD,
            &mia(),
            "incident",
            Some("new"),
            &opts,
            &[],
        ),
    )
    .await;
    assert_eq!(off_list, "Pick the impact from the list: high, medium or low.");
    let db = desk.db().await;
    let tickets: i64 = sqlx::query_scalar("SELECT count(*) FROM tickets")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(tickets, 0, "nothing was created");
}
