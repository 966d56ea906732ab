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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_never_logs_its_token_and_stops_on_sigterm() {
    let fake = FakeDiscord::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("desk.db").display());
    let log_path = dir.path().join("log.txt");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = tokio::process::Command::new(BIN)
        .env_clear()
        .current_dir(dir.path())
        .env("DISCORD_TOKEN", TOKEN)
        .env("DATABASE_URL", &db)
        .env("DISCORD_API_BASE", &fake.base)
        .env("DISCORD_GUILD_ID", GUILD.to_string())
        .env("RUST_LOG", "trace")
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log))
        .spawn()
        .expect("spawn servicedesk");
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
