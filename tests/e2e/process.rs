//! The real `servicedesk` binary: configuration errors, a run against the fake Discord, SIGTERM.

use std::process::Stdio;
use std::time::Duration;

use crate::support::*;

const BIN: &str = env!("CARGO_BIN_EXE_servicedesk");
const TOKEN: &str = "MTEwMDAwMDAwMDAwMDAwMDAwMg.fake.secret-token-value-xyz";

fn run_with(vars: &[(&str, &str)]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap(); // no .env there
    let mut cmd = std::process::Command::new(BIN);
    cmd.env_clear().current_dir(dir.path());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.output().expect("run servicedesk")
}

#[test]
fn a_missing_or_malformed_variable_stops_the_start_with_one_line_and_status_2() {
    let cases: [(&[(&str, &str)], &str); 4] = [
        (&[], "DISCORD_TOKEN is not set"),
        (
            &[("DISCORD_TOKEN", TOKEN), ("DISCORD_GUILD_ID", "my-server")],
            "DISCORD_GUILD_ID is malformed",
        ),
        (
            &[("DISCORD_TOKEN", TOKEN), ("DATABASE_URL", "postgres://x")],
            "DATABASE_URL is malformed",
        ),
        (
            &[("DISCORD_TOKEN", TOKEN), ("DISCORD_API_BASE", "discord.com")],
            "DISCORD_API_BASE is malformed",
        ),
    ];
    for (vars, expected) in cases {
        let out = run_with(vars);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{expected}: {err}");
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(err.starts_with(expected), "{err}");
        assert!(!err.contains("secret-token"), "the token leaked: {err}");
    }
}

/// Starts `servicedesk serve` in `dir` against `fake` with `extra` variables, its output going
/// to `dir/log.txt`.
fn serve_logged(
    fake: &FakeDiscord,
    dir: &std::path::Path,
    extra: &[(&str, &str)],
) -> (tokio::process::Child, std::path::PathBuf) {
    let db = format!("sqlite://{}", dir.join("desk.db").display());
    let log_path = dir.join("log.txt");
    let log = std::fs::File::create(&log_path).unwrap();
    let child = tokio::process::Command::new(BIN)
        .env_clear()
        .current_dir(dir)
        .env("DISCORD_TOKEN", TOKEN)
        .env("DATABASE_URL", &db)
        .env("DISCORD_API_BASE", &fake.base)
        .env("DISCORD_GUILD_ID", GUILD.to_string())
        .env("HTTP_ADDR", "127.0.0.1:0")
        .envs(extra.iter().copied())
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log))
        .spawn()
        .expect("spawn servicedesk");
    (child, log_path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_never_logs_its_token_and_stops_on_sigterm() {
    let fake = FakeDiscord::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (mut child, log_path) = serve_logged(&fake, dir.path(), &[("RUST_LOG", "trace")]);
    fake.wait_for(WAIT, "command registration", |rs| {
        rs.iter()
            .find(|r| r.method == "PUT" && r.path.ends_with("/commands"))
            .map(|_| ())
    })
    .await;
    fake.wait_connected(WAIT).await;

    let user = User::member(5, "eve");
    let id = fake.snowflake();
    fake.dispatch(
        "INTERACTION_CREATE",
        slash(id, GUILD, &user, "request", Some("mine"), &[], &[]),
    );
    let answer = fake
        .wait_for(WAIT, "the answer", |rs| {
            rs.iter()
                .find(|r| r.path == format!("/interactions/{id}/token-{id}/callback"))
                .map(|r| r.body.clone())
        })
        .await;
    assert!(text(&answer["data"]).contains("You have no open tickets"), "{answer}");

    let pid = child.id().expect("pid").to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(15), child.wait())
        .await
        .expect("stops within 15 s of SIGTERM")
        .unwrap();
    assert!(status.success(), "clean exit after SIGTERM: {status:?}");

    let output = std::fs::read_to_string(&log_path).unwrap();
    assert!(output.contains("slash commands registered"), "{output}");
    assert!(output.contains("stopped"), "orderly shutdown logged");
    let secret = TOKEN.rsplit('.').next().unwrap();
    assert!(!output.contains(secret), "the token appears in the log at trace level");
    fake.assert_valid();
}

#[test]
fn help_and_version_explain_the_binary() {
    for flag in ["--help", "-h", "help"] {
        let out = std::process::Command::new(BIN).arg(flag).env_clear().output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{flag}");
        for expected in [
            "servicedesk check",
            "servicedesk backup PATH",
            "DISCORD_TOKEN",
            "HTTP_ADDR",
            "LOG_FORMAT",
            "Exit status",
        ] {
            assert!(text.contains(expected), "{flag}: {expected} missing from\n{text}");
        }
    }
    let out = std::process::Command::new(BIN)
        .arg("--version")
        .env_clear()
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text.starts_with(&format!("servicedesk {}", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    if std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.git")).exists() {
        assert!(text.contains("(commit "), "built from a checkout: {text}");
    }
    let out = std::process::Command::new(BIN)
        .arg("frobnicate")
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--help"));
}

#[test]
fn a_malformed_listener_address_or_log_format_is_a_configuration_error() {
    for (name, value) in [("HTTP_ADDR", "nonsense"), ("LOG_FORMAT", "xml")] {
        let out = run_with(&[("DISCORD_TOKEN", TOKEN), (name, value)]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with(&format!("{name} is malformed")), "{err}");
    }
}

async fn check_with(fake: &FakeDiscord, db: &str) -> std::process::Output {
    tokio::process::Command::new(BIN)
        .env_clear()
        .env("DISCORD_TOKEN", TOKEN)
        .env("DATABASE_URL", db)
        .env("DISCORD_API_BASE", &fake.base)
        .arg("check")
        .output()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_names_the_bot_and_its_invite_and_fails_on_a_refused_token() {
    let fake = FakeDiscord::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("desk.db").display());
    let out = check_with(&fake, &db).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("bot: servicedesk"), "{text}");
    assert!(
        text.contains(&format!("application: Service Desk (id {APP_ID})")),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "https://discord.com/oauth2/authorize?client_id={APP_ID}&scope=bot+applications.commands&permissions=84992"
        )),
        "{text}"
    );
    assert!(
        dir.path().join("desk.db").exists(),
        "the database was created and migrated"
    );
    let asked: Vec<String> = fake
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(
        asked.contains(&"GET /users/@me".to_owned()) && asked.contains(&"GET /oauth2/applications/@me".to_owned()),
        "{asked:?}"
    );

    fake.revoke_token(TOKEN);
    let out = check_with(&fake, &db).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("Discord refused the token"), "{err}");
    assert!(!err.contains("secret-token"), "the token leaked: {err}");

    // Nothing listens there: unreachable is a runtime failure too.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let out = tokio::process::Command::new(BIN)
        .env_clear()
        .env("DISCORD_TOKEN", TOKEN)
        .env("DATABASE_URL", &db)
        .env("DISCORD_API_BASE", &base)
        .arg("check")
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Discord did not answer"));
    fake.assert_valid();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_in_use_is_one_clear_line_and_status_1() {
    let fake = FakeDiscord::start().await;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("desk.db").display());
    let out = tokio::process::Command::new(BIN)
        .env_clear()
        .env("DISCORD_TOKEN", TOKEN)
        .env("DATABASE_URL", &db)
        .env("DISCORD_API_BASE", &fake.base)
        .env("HTTP_ADDR", &addr)
        .env("RUST_LOG", "off")
        .output()
        .await
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(&format!("cannot listen on HTTP_ADDR={addr}")), "{err}");
    assert!(fake.requests().is_empty(), "nothing was sent to Discord");
}

#[test]
fn backup_refuses_an_existing_file_a_missing_folder_and_a_missing_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("desk.db").display());
    let run = |path: &std::path::Path, db: &str| {
        std::process::Command::new(BIN)
            .env_clear()
            .env("DATABASE_URL", db)
            .arg("backup")
            .arg(path)
            .output()
            .unwrap()
    };
    let existing = dir.path().join("existing.db");
    std::fs::write(&existing, b"keep me").unwrap();
    let out = run(&existing, &db);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    assert_eq!(std::fs::read(&existing).unwrap(), b"keep me", "untouched");
    let out = run(&dir.path().join("no/such/folder/copy.db"), &db);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
    let out = run(&dir.path().join("copy.db"), &db);
    assert_eq!(out.status.code(), Some(1), "no database yet");
    assert!(String::from_utf8_lossy(&out.stderr).contains("there is no database"));
    assert!(!dir.path().join("copy.db").exists());
    assert!(
        !dir.path().join("desk.db").exists(),
        "backup never creates the database"
    );
    let usage = std::process::Command::new(BIN)
        .env_clear()
        .arg("backup")
        .output()
        .unwrap();
    assert_eq!(usage.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_are_one_object_a_line_with_the_interaction_span() {
    let fake = FakeDiscord::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (mut child, log_path) = serve_logged(
        &fake,
        dir.path(),
        &[("LOG_FORMAT", "json"), ("RUST_LOG", "info,servicedesk=debug")],
    );
    fake.wait_connected(WAIT).await;
    fake.wait_for(WAIT, "command registration", |rs| {
        rs.iter()
            .find(|r| r.method == "PUT" && r.path.ends_with("/commands"))
            .map(|_| ())
    })
    .await;
    // A ticket that does not exist: the refusal is logged inside the interaction's span.
    let user = User::member(5, "eve");
    let id = fake.snowflake();
    fake.dispatch(
        "INTERACTION_CREATE",
        slash(id, GUILD, &user, "ticket", Some("show"), &[s("id", "REQ-99")], &[]),
    );
    fake.wait_for(WAIT, "the answer", |rs| {
        rs.iter()
            .find(|r| r.path.starts_with(&format!("/interactions/{id}/")))
            .map(|_| ())
    })
    .await;
    let pid = child.id().unwrap().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    tokio::time::timeout(Duration::from_secs(15), child.wait())
        .await
        .unwrap()
        .unwrap();

    let output = std::fs::read_to_string(&log_path).unwrap();
    let lines: Vec<serde_json::Value> = output
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(lines.iter().any(|l| l["fields"]["message"] == "starting"), "{output}");
    let setup = lines
        .iter()
        .find(|l| l["fields"]["message"] == "set-up incomplete")
        .unwrap_or_else(|| panic!("the start-up log names what is missing: {output}"));
    assert!(
        setup["fields"]["missing"].as_str().unwrap().contains("triage channel"),
        "{setup}"
    );
    let connected = lines
        .iter()
        .find(|l| l["fields"]["message"] == "connected to Discord")
        .unwrap();
    assert!(
        connected["fields"]["invite"]
            .as_str()
            .unwrap()
            .contains(&APP_ID.to_string()),
        "{connected}"
    );
    assert!(lines
        .iter()
        .all(|l| l["timestamp"].is_string() && l["level"].is_string()));
    let answered = lines
        .iter()
        .find(|l| l["fields"]["message"] == "answered")
        .unwrap_or_else(|| panic!("the answer is logged: {output}"));
    let span = &answered["span"];
    assert_eq!(span["name"], "interaction", "{answered}");
    assert_eq!(span["id"], id.to_string(), "{answered}");
    assert_eq!(span["command"], "ticket", "{answered}");
    assert_eq!(span["guild"], GUILD, "{answered}");
    assert_eq!(span["user"], 5, "{answered}");
}

/// `text` without terminal colour codes (`ESC [ … m`).
fn strip_colours(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The listener's address, once the binary has logged it.
async fn listener_address(log_path: &std::path::Path) -> String {
    let found = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    eventually(WAIT, "the HTTP listener's address in the log", || {
        let found = found.clone();
        async move {
            let log = strip_colours(&std::fs::read_to_string(log_path).unwrap_or_default());
            let addr = log
                .lines()
                .find(|l| l.contains("HTTP listener ready"))
                .and_then(|l| l.split("address=").nth(1))
                .and_then(|rest| rest.split_whitespace().next())
                .map(str::to_owned);
            match addr {
                Some(a) => {
                    *found.lock().unwrap() = a;
                    true
                }
                None => false,
            }
        }
    })
    .await;
    let addr = found.lock().unwrap().clone();
    addr
}

/// Waits for the answer to interaction `id` and returns its data.
async fn answer_to(fake: &FakeDiscord, id: u64) -> serde_json::Value {
    fake.wait_for(WAIT, "the answer", |rs| {
        rs.iter()
            .find(|r| r.path == format!("/interactions/{id}/token-{id}/callback"))
            .map(|r| r.body["data"].clone())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_answered_202_is_applied_once_after_kill_9_and_its_token_is_never_logged() {
    let fake = FakeDiscord::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (mut child, log_path) = serve_logged(&fake, dir.path(), &[("RUST_LOG", "trace")]);
    fake.wait_connected(WAIT).await;
    let addr = listener_address(&log_path).await;

    let id = fake.snowflake();
    let opts = [s("name", "prom"), s("kind", "alertmanager")];
    fake.dispatch(
        "INTERACTION_CREATE",
        slash(id, GUILD, &ada(), "alerts", Some("source-add"), &opts, &[]),
    );
    let reply = text(&answer_to(&fake, id).await);
    let token = reply
        .split("```")
        .nth(1)
        .map(|t| t.trim().to_owned())
        .unwrap_or_else(|| panic!("{reply}"));

    let body = include_str!("samples/alertmanager.json");
    let answer = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(format!("http://{addr}/hooks/alertmanager"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 202);
    // Killed at once: whatever the intake had done by now, the event is in the database.
    let pid = child.id().unwrap().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-KILL", &pid])
        .status()
        .unwrap()
        .success());
    child.wait().await.unwrap();
    let first_log = std::fs::read_to_string(&log_path).unwrap();

    let (mut child, log_path) = serve_logged(&fake, dir.path(), &[("RUST_LOG", "trace")]);
    eventually(WAIT, "the intake to start again", || {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        async move { log.contains("intake started") }
    })
    .await;
    let db = servicedesk::store::connect(&format!("sqlite://{}", dir.path().join("desk.db").display()))
        .await
        .unwrap();
    eventually(WAIT, "the event to be applied after the restart", || {
        let db = db.clone();
        async move {
            let (pending, incidents): (i64, i64) = sqlx::query_as(
                "SELECT (SELECT count(*) FROM alert_events WHERE processed_at IS NULL),
                        (SELECT count(*) FROM tickets WHERE kind = 'incident')",
            )
            .fetch_one(&db)
            .await
            .unwrap();
            pending == 0 && incidents >= 1
        }
    })
    .await;
    let (events, incidents): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM alert_events), (SELECT count(*) FROM tickets WHERE kind = 'incident')",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!((events, incidents), (1, 1), "one event, applied once");
    let pid = child.id().unwrap().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    child.wait().await.unwrap();
    let second_log = std::fs::read_to_string(&log_path).unwrap();
    for log in [first_log, second_log] {
        assert!(log.contains("intake started"), "{log}");
        assert!(!log.contains(&token), "the token is in the log at trace level");
    }
}
