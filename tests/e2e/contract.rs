//! Contracts with Discord: the registered commands (snapshot + schema), and the fake's payloads
//! (parsed by serenity's own types, so a malformed fixture cannot vanish silently).

use serde_json::{json, Value};
use serenity::all::{Event, GatewayEvent, Interaction};
use servicedesk::gateway::commands::definitions;

use crate::support::openapi::openapi;
use crate::support::*;

const SNAPSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/commands/commands.json");

#[test]
fn the_registered_commands_match_the_snapshot_in_commands_dir() {
    let now = serde_json::to_string_pretty(&definitions()).unwrap() + "\n";
    if std::env::var_os("UPDATE_SNAPSHOT").is_some() {
        std::fs::write(SNAPSHOT, &now).unwrap();
    }
    let saved = std::fs::read_to_string(SNAPSHOT).unwrap_or_default();
    assert!(
        saved == now,
        "commands/commands.json differs from what the bot registers; if the change is meant, run \
         `UPDATE_SNAPSHOT=1 cargo test the_registered_commands` and commit the file"
    );
}

#[test]
fn every_command_validates_against_discords_schema() {
    let api = openapi();
    let schema = api.schema("ApplicationCommandCreateRequest");
    assert!(schema.is_object(), "schema present");
    for cmd in definitions().as_array().unwrap() {
        let mut errors = Vec::new();
        api.validate(schema, cmd, cmd["name"].as_str().unwrap(), &mut errors);
        assert!(errors.is_empty(), "{}", errors.join("\n"));
    }
    // and the bulk request as a whole, as the bot sends it
    let errors = api.check_request(
        "PUT",
        &format!("/applications/{APP_ID}/guilds/{GUILD}/commands"),
        Some(&definitions()),
    );
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn the_validator_rejects_what_discord_would() {
    let api = openapi();
    let path = "/channels/123/messages";
    let ok = json!({ "content": "hi", "allowed_mentions": { "parse": [], "users": [], "roles": [] } });
    assert!(api.check_request("POST", path, Some(&ok)).is_empty());
    // The published schema allows 4000 characters; SPEC §7 (and the fake) hold us to 2000.
    let too_long = json!({ "content": "x".repeat(4001) });
    assert!(
        !api.check_request("POST", path, Some(&too_long)).is_empty(),
        "content over 4000"
    );
    let bad_mentions = json!({ "content": "x", "allowed_mentions": { "parse": ["everyone", "nobody"] } });
    assert!(
        !api.check_request("POST", path, Some(&bad_mentions)).is_empty(),
        "unknown parse value"
    );
    let bad_custom_id = json!({ "components": [{ "type": 1, "components": [
        { "type": 2, "style": 1, "label": "x", "custom_id": "y".repeat(101) } ] }] });
    assert!(
        !api.check_request("POST", path, Some(&bad_custom_id)).is_empty(),
        "custom_id over 100"
    );
    assert!(
        !api.check_request("POST", "/channels/abc/messages", Some(&ok))
            .is_empty(),
        "snowflake path"
    );
    assert!(!api.check_request("POST", "/no/such/route", None).is_empty());
}

fn parse(event: &Value) -> GatewayEvent {
    serde_json::from_value(event.clone()).unwrap_or_else(|e| panic!("serenity cannot parse {event}: {e}"))
}

#[test]
fn serenity_parses_every_fixture_as_the_event_it_is_meant_to_be() {
    let ready = json!({ "op": 0, "t": "READY", "s": 1, "d": ready("s1", "ws://127.0.0.1:1") });
    assert!(matches!(parse(&ready), GatewayEvent::Dispatch(1, Event::Ready(_))));

    let admin = User::admin(1, "ada");
    let agent = User::with_role(2, "bob", 42);
    let fixtures = [
        (
            slash(
                10,
                GUILD,
                &admin,
                "setup",
                Some("channel"),
                &[s("purpose", "triage"), ch("channel", TRIAGE)],
                &[],
            ),
            "command",
        ),
        (
            slash(
                11,
                GUILD,
                &admin,
                "setup",
                Some("role"),
                &[s("purpose", "agent"), r("role", 42)],
                &[],
            ),
            "command",
        ),
        (
            slash(
                12,
                GUILD,
                &agent,
                "ticket",
                Some("assign"),
                &[s("id", "REQ-1"), u("user", 2)],
                std::slice::from_ref(&agent),
            ),
            "command",
        ),
        (slash(13, GUILD, &agent, "queue", None, &[], &[]), "command"),
        (
            autocomplete(14, GUILD, &agent, "request", "new", &[s("item", "Lap")], "item"),
            "autocomplete",
        ),
        (button(15, GUILD, &agent, "claim:REQ-1", TRIAGE, 99), "component"),
        (
            button_on_reply(17, GUILD, &admin, "retry:3", TRIAGE, 10),
            "retry-component",
        ),
        (
            modal_submit(16, GUILD, &agent, "resolve-note:REQ-1", &[("note", "done")]),
            "modal",
        ),
    ];
    for (d, kind) in fixtures {
        let event = json!({ "op": 0, "t": "INTERACTION_CREATE", "s": 2, "d": d });
        let GatewayEvent::Dispatch(_, Event::InteractionCreate(ev)) = parse(&event) else {
            panic!("not an INTERACTION_CREATE: {event}");
        };
        let ok = match (&ev.interaction, kind) {
            (Interaction::Command(c), "command") => c.member.is_some() && c.guild_id.is_some(),
            (Interaction::Autocomplete(a), "autocomplete") => a.data.autocomplete().is_some(),
            (Interaction::Component(c), "component") => c.data.custom_id == "claim:REQ-1",
            (Interaction::Component(c), "retry-component") => {
                c.data.custom_id == "retry:3" && c.message.interaction_metadata.is_some()
            }
            (Interaction::Modal(m), "modal") => m.data.custom_id == "resolve-note:REQ-1",
            (Interaction::Component(c), "dm-component") => {
                c.guild_id.is_none() && c.member.is_none() && c.user.id.get() == 2
            }
            (Interaction::Modal(m), "dm-modal") => m.guild_id.is_none() && m.user.id.get() == 2,
            _ => false,
        };
        assert!(ok, "{kind} fixture parsed as {:?}", ev.interaction.kind());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[should_panic(expected = "has no option")]
async fn the_harness_refuses_interactions_for_options_the_bot_never_registered() {
    let desk = TestDesk::start().await;
    let user = User::member(5, "eve");
    desk.cmd(
        &user,
        "request",
        Some("new"),
        &[s("item", "Laptop"), s("summary", "x"), s("colour", "red")],
    )
    .await;
}

/// The crate's modules as a graph: for each top-level module of `src/` (and each submodule of
/// `service/`), the others its code names (`crate::x`, `super::x::`). Comments are skipped.
/// (from, to) module names.
type Edges = Vec<(String, String)>;

fn module_edges() -> (Edges, Edges) {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let names = |text: &str, prefix: &str| -> Vec<String> {
        text.match_indices(prefix)
            .map(|(i, _)| {
                text[i + prefix.len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect::<String>()
            })
            .filter(|n| !n.is_empty())
            .collect()
    };
    let (mut top, mut service) = (Vec::new(), Vec::new());
    for (rel, code) in sources() {
        let rel = rel.replace('\\', "/");
        let module = rel.split('/').next().unwrap().trim_end_matches(".rs").to_owned();
        let code: String = code
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        for n in names(&code, "crate::") {
            if n != module {
                top.push((module.clone(), n));
            }
        }
        if let Some(sub) = rel.strip_prefix("service/") {
            let sub = sub.trim_end_matches(".rs").to_owned();
            let mut used = names(&code, "super::");
            // `use super::{a::b, c}` names a and c
            for (i, _) in code.match_indices("use super::{") {
                let rest = &code[i + "use super::{".len()..];
                let inner = &rest[..rest.find('}').unwrap_or(0)];
                used.extend(
                    inner
                        .split(',')
                        .map(|p| p.trim().split("::").next().unwrap_or("").to_owned()),
                );
            }
            let siblings: Vec<String> = std::fs::read_dir(src.join("service"))
                .unwrap()
                .map(|e| e.unwrap().path().file_stem().unwrap().to_string_lossy().into_owned())
                .collect();
            for n in used {
                if n != sub && n != "mod" && siblings.contains(&n) {
                    service.push((sub.clone(), n));
                }
            }
        }
    }
    (top, service)
}

fn assert_acyclic(edges: &[(String, String)], what: &str) {
    use std::collections::{BTreeMap, BTreeSet};
    let mut graph: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (a, b) in edges {
        graph.entry(a).or_default().insert(b);
    }
    fn visit<'a>(
        n: &'a str,
        g: &BTreeMap<&'a str, BTreeSet<&'a str>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) {
        if done.contains(n) {
            return;
        }
        if let Some(i) = path.iter().position(|p| *p == n) {
            panic!("module cycle: {} → {n}", path[i..].join(" → "));
        }
        path.push(n);
        for m in g.get(n).into_iter().flatten() {
            visit(m, g, path, done);
        }
        path.pop();
        done.insert(n);
    }
    let mut done = BTreeSet::new();
    for n in graph.keys() {
        visit(n, &graph, &mut Vec::new(), &mut done);
    }
    assert!(!graph.is_empty(), "{what}: no edges found, the scan is broken");
}

#[test]
fn the_layers_depend_one_way_and_the_domain_is_pure() {
    let (top, service) = module_edges();
    let from = |m: &str| -> Vec<&str> { top.iter().filter(|(a, _)| a == m).map(|(_, b)| b.as_str()).collect() };
    assert!(from("domain").is_empty(), "the domain names {:?}", from("domain"));
    let domain = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/domain");
    for e in std::fs::read_dir(domain).unwrap() {
        let path = e.unwrap().path();
        let code = std::fs::read_to_string(&path).unwrap();
        for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for io in ["serenity", "sqlx", "tokio", "Utc::now", "SystemTime"] {
                assert!(!line.contains(io), "{}: the domain uses {io}: {line}", path.display());
            }
        }
    }
    for (module, never) in [
        (
            "store",
            &["service", "render", "gateway", "web", "outbox", "scheduler", "intake"][..],
        ),
        (
            "render",
            &["service", "gateway", "web", "outbox", "scheduler", "intake"][..],
        ),
        ("service", &["gateway", "web", "outbox", "scheduler", "intake"][..]),
        // The workers and the listeners go through the desk, never around it.
        ("intake", &["store", "gateway", "web", "outbox", "scheduler"][..]),
        ("web", &["store", "gateway", "outbox", "scheduler", "intake"][..]),
    ] {
        for n in never {
            assert!(!from(module).contains(n), "{module} depends on {n}");
        }
    }
    assert_acyclic(&top, "the crate's modules");
    assert_acyclic(&service, "service's modules");
}

/// Every `.rs` file under `src/`, with its path relative to `src/`.
fn sources() -> Vec<(String, String)> {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut todo = vec![src.clone()];
    let mut found = Vec::new();
    while let Some(dir) = todo.pop() {
        for e in std::fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|x| x == "rs") {
                let name = path.strip_prefix(&src).unwrap().display().to_string();
                found.push((name, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    found
}

#[test]
fn the_database_has_one_writer_and_nothing_opens_a_transaction_beside_it() {
    // A second writer (the outbox used to be one) makes the two wait for each other in
    // SQLite's busy handler, which sleeps up to 100 ms a try; and the writer's counters number
    // tickets on the understanding that nobody else inserts them.
    for (file, code) in sources() {
        if file == "store/writer.rs" || file == "store/mod.rs" {
            continue; // the writer itself; connect() and the one-off migration rebuild
        }
        for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for opening in ["Connection::begin", "pool.begin", ".begin_with(", "BEGIN IMMEDIATE"] {
                assert!(
                    !line.contains(opening),
                    "{file} opens a transaction beside the writer: {line}"
                );
            }
        }
    }
}
