//! Test support: the fake Discord, payload fixtures, the OpenAPI validator, and a harness that
//! runs the real bot (serenity included) against them on a fresh database.

pub mod fake;
pub mod fixtures;
pub mod openapi;

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use serde_json::Value;
use servicedesk::app::{self, RunError};
use servicedesk::clock::ManualClock;
use servicedesk::config::Config;
use sqlx::SqlitePool;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

#[allow(unused_imports)]
pub use fake::{FakeDiscord, Fault, Recorded};
pub use fixtures::*;

/// How long a test waits for something the bot should do at once.
pub const WAIT: Duration = Duration::from_secs(10);

/// Roles and channels of the test guild.
pub const AGENT_ROLE: u64 = 1_220_000_000_000_000_001;
/// The triage channel.
pub const TRIAGE: u64 = 1_230_000_000_000_000_001;
/// The incidents channel.
pub const INCIDENTS: u64 = 1_230_000_000_000_000_002;

struct Running {
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), RunError>>,
}

/// The real bot on a fresh database against a fresh fake Discord.
pub struct TestDesk {
    /// The fake Discord.
    pub fake: FakeDiscord,
    /// The clock the bot reads.
    pub clock: ManualClock,
    /// `sqlite://…` of this test's database.
    pub db_url: String,
    _dir: tempfile::TempDir,
    bot: Option<Running>,
    pool: Option<SqlitePool>,
    /// Knobs for the next start (outbox pacing).
    pub options: app::Options,
    /// Whether the bot serves its HTTP listener (on a free port).
    pub http: bool,
    /// Where the HTTP listener is, once the bot has bound it.
    pub http_addr: Option<std::net::SocketAddr>,
}

impl TestDesk {
    /// Starts the fake, then the bot, and waits until its commands are registered. The clock
    /// stands at Monday 5 January 2026, 10:00 UTC: inside default business hours.
    pub async fn start() -> TestDesk {
        TestDesk::start_with(app::Options::default()).await
    }

    /// Like [`TestDesk::start`] with explicit options.
    pub async fn start_with(options: app::Options) -> TestDesk {
        let mut desk = TestDesk::prepare(options).await;
        desk.start_bot().await;
        desk
    }

    /// The fake Discord, a fresh database and the clock, with the bot not yet started.
    async fn prepare(options: app::Options) -> TestDesk {
        // `TEST_LOG=servicedesk=debug cargo test …` shows the bot's logs for a failing test.
        let filter = std::env::var("TEST_LOG").unwrap_or_else(|_| "off".into());
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_test_writer()
            .try_init();
        let fake = FakeDiscord::start().await;
        let dir = tempfile::tempdir().expect("temp dir");
        let db_url = format!("sqlite://{}", dir.path().join("desk.db").display());
        let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 1, 5, 10, 0, 0).unwrap());
        TestDesk {
            fake,
            clock,
            db_url,
            _dir: dir,
            bot: None,
            pool: None,
            options,
            http: false,
            http_addr: None,
        }
    }

    /// Like [`TestDesk::start`], with the HTTP listener on a free port ([`TestDesk::http_addr`]).
    pub async fn start_with_http() -> TestDesk {
        TestDesk::start_with_http_options(app::Options::default()).await
    }

    /// [`TestDesk::start_with_http`] with explicit options.
    pub async fn start_with_http_options(options: app::Options) -> TestDesk {
        let mut desk = TestDesk::prepare(options).await;
        desk.http = true;
        desk.start_bot().await;
        desk
    }

    /// `http://127.0.0.1:PORT` of the bot's HTTP listener.
    pub fn http_base(&self) -> String {
        format!("http://{}", self.http_addr.expect("the bot serves HTTP"))
    }

    /// The bot's configuration for this test.
    pub fn config(&self) -> Config {
        let vars = [
            ("DISCORD_TOKEN", "fake-token-0123456789abcdefghij".to_owned()),
            ("DATABASE_URL", self.db_url.clone()),
            ("DISCORD_API_BASE", self.fake.base.clone()),
            ("DISCORD_GUILD_ID", GUILD.to_string()),
            ("RUST_LOG", "warn".to_owned()),
            ("HTTP_ADDR", if self.http { "127.0.0.1:0" } else { "off" }.to_owned()),
        ];
        Config::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())).expect("test config")
    }

    /// Starts (or restarts) the bot and waits for its command registration.
    pub async fn start_bot(&mut self) {
        assert!(self.bot.is_none(), "bot already running");
        let registered_before = self.count(|r| r.method == "PUT" && r.path.ends_with("/commands"));
        let (stop, stopped) = oneshot::channel::<()>();
        let config = self.config();
        let clock = Arc::new(self.clock.clone());
        let (bound_tx, mut bound) = tokio::sync::mpsc::unbounded_channel();
        let mut options = self.options.clone();
        if self.http {
            options.http_bound = Some(bound_tx);
        }
        let task = tokio::spawn(app::run_with(config, clock, options, async {
            let _ = stopped.await;
        }));
        self.bot = Some(Running { stop, task });
        self.fake
            .wait_for(WAIT, "command registration", |rs| {
                (rs.iter()
                    .filter(|r| r.method == "PUT" && r.path.ends_with("/commands"))
                    .count()
                    > registered_before)
                    .then_some(())
            })
            .await;
        self.fake.wait_connected(WAIT).await;
        if self.http {
            self.http_addr = tokio::time::timeout(WAIT, bound.recv())
                .await
                .expect("HTTP listener bound");
        }
    }

    /// Stops the bot in order and waits for it to finish.
    pub async fn stop_bot(&mut self) {
        let running = self.bot.take().expect("bot running");
        let _ = running.stop.send(());
        tokio::time::timeout(WAIT, running.task)
            .await
            .expect("bot stops within the wait")
            .expect("bot task")
            .expect("bot ran without error");
    }

    /// A pool on the test database, for assertions.
    pub async fn db(&mut self) -> SqlitePool {
        if self.pool.is_none() {
            self.pool = Some(servicedesk::store::connect(&self.db_url).await.expect("open test db"));
        }
        self.pool.clone().unwrap()
    }

    /// Waits until every timer due now has fired and the outbox has delivered (or given up on)
    /// everything: after that, nothing more can reach the fake until the clock moves.
    pub async fn drain(&mut self) {
        let db = self.db().await;
        let now = servicedesk::clock::to_millis(servicedesk::clock::Clock::now(&self.clock));
        eventually(WAIT, "timers and outbox to drain", || {
            let db = db.clone();
            async move {
                let (due, pending): (i64, i64) = sqlx::query_as(
                    "SELECT (SELECT count(*) FROM timers WHERE due_at <= ?),
                            (SELECT count(*) FROM outbox WHERE status = 'pending')",
                )
                .bind(now)
                .fetch_one(&db)
                .await
                .unwrap();
                due == 0 && pending == 0
            }
        })
        .await;
    }

    /// How many recorded requests match.
    pub fn count(&self, pred: impl Fn(&Recorded) -> bool) -> usize {
        self.fake.requests().iter().filter(|r| pred(r)).count()
    }

    /// Sends an interaction and returns what the user saw: the callback `data` (or the edited
    /// original after a deferral), or the whole callback body for a modal.
    pub async fn send(&self, payload: Value) -> Value {
        self.check_registered(&payload);
        let id = payload["id"].as_str().unwrap().to_owned();
        self.fake.dispatch("INTERACTION_CREATE", payload);
        let callback_path = format!("/interactions/{id}/token-{id}/callback");
        let body = self
            .fake
            .wait_for(WAIT, &format!("the answer to interaction {id}"), |rs| {
                rs.iter().find(|r| r.path == callback_path).map(|r| r.body.clone())
            })
            .await;
        match body["type"].as_u64() {
            Some(5) => {
                let edit = format!("/webhooks/{APP_ID}/token-{id}/messages/@original");
                self.fake
                    .wait_for(WAIT, "the deferred reply", |rs| {
                        rs.iter()
                            .find(|r| r.path == edit && r.method == "PATCH")
                            .map(|r| r.body.clone())
                    })
                    .await
            }
            Some(4) => body["data"].clone(),
            _ => body,
        }
    }

    /// Discord delivers command interactions only for commands the bot registered, with options
    /// of the registered names and types: a test that sends anything else is testing a command
    /// nobody can use, and fails here.
    pub fn check_registered(&self, payload: &Value) {
        if !matches!(payload["type"].as_u64(), Some(2 | 4)) {
            return;
        }
        let registered = self
            .fake
            .requests()
            .into_iter()
            .rev()
            .find(|r| r.method == "PUT" && r.path.ends_with("/commands"))
            .map(|r| r.body)
            .expect("commands registered");
        let name = payload["data"]["name"].as_str().unwrap_or("");
        let command = registered
            .as_array()
            .and_then(|cmds| cmds.iter().find(|c| c["name"] == name))
            .unwrap_or_else(|| panic!("/{name} is not a registered command"));
        let sent = payload["data"]["options"].as_array().cloned().unwrap_or_default();
        let (defined, given, path) = match sent.first() {
            Some(o) if o["type"] == 1 => {
                let sub = o["name"].as_str().unwrap_or("");
                let def = command["options"]
                    .as_array()
                    .and_then(|os| os.iter().find(|d| d["name"] == sub && d["type"] == 1))
                    .unwrap_or_else(|| panic!("/{name} {sub} is not a registered subcommand"));
                (
                    def["options"].clone(),
                    o["options"].as_array().cloned().unwrap_or_default(),
                    format!("/{name} {sub}"),
                )
            }
            _ => (command["options"].clone(), sent, format!("/{name}")),
        };
        let defined = defined.as_array().cloned().unwrap_or_default();
        for g in &given {
            let d = defined
                .iter()
                .find(|d| d["name"] == g["name"])
                .unwrap_or_else(|| panic!("{path} has no option {}", g["name"]));
            assert_eq!(d["type"], g["type"], "{path} option {} has another type", g["name"]);
            if let Some(choices) = d["choices"].as_array() {
                let v = &g["value"];
                assert!(
                    choices.iter().any(|c| &c["value"] == v),
                    "{path} option {}: `{v}` is not a choice",
                    g["name"]
                );
            }
        }
        if payload["type"] == 2 {
            for d in defined.iter().filter(|d| d["required"] == true) {
                assert!(
                    given.iter().any(|g| g["name"] == d["name"]),
                    "{path}: required option {} missing",
                    d["name"]
                );
            }
        }
    }

    /// A slash command by `user` in the test guild; returns what they saw.
    pub async fn cmd(&self, user: &User, name: &str, sub: Option<&str>, opts: &[Opt]) -> Value {
        self.cmd_in(GUILD, user, name, sub, opts, &[]).await
    }

    /// Every DM delivered to `user` so far (the bodies).
    pub fn dms_to(&self, user: u64) -> Vec<Value> {
        let path = format!("/channels/{}/messages", dm_channel(user));
        self.fake
            .requests()
            .into_iter()
            .filter(|r| r.path == path && r.status == 200)
            .map(|r| r.body)
            .collect()
    }

    /// `who` raises a request for a laptop; returns the reply's text.
    pub async fn raise_request(&self, who: &User, summary: &str) -> String {
        let r = self
            .cmd(
                who,
                "request",
                Some("new"),
                &[s("item", "Laptop"), s("summary", summary)],
            )
            .await;
        text(&r)
    }

    /// `who` reports a P1 incident (high impact, high urgency); returns the reply's text.
    pub async fn report_p1(&self, who: &User, title: &str) -> String {
        let r = self
            .cmd(
                who,
                "incident",
                Some("new"),
                &[s("title", title), s("impact", "high"), s("urgency", "high")],
            )
            .await;
        text(&r)
    }

    /// An admin puts `who` on call at `level` (`/oncall add`).
    pub async fn put_on_call(&self, level: i64, who: &User) {
        let r = self
            .cmd_in(
                GUILD,
                &ada(),
                "oncall",
                Some("add"),
                &[int("level", level), u("user", who.id)],
                std::slice::from_ref(who),
            )
            .await;
        assert!(text(&r).contains("joins level"), "{}", text(&r));
    }

    /// A slash command in any guild, with members the options resolve to.
    pub async fn cmd_in(
        &self,
        guild: u64,
        user: &User,
        name: &str,
        sub: Option<&str>,
        opts: &[Opt],
        known: &[User],
    ) -> Value {
        let id = self.fake.snowflake();
        self.send(slash(id, guild, user, name, sub, opts, known)).await
    }

    /// Admin setup the tests share: triage channel, agent role, one catalog item.
    pub async fn setup_basics(&self, admin: &User) {
        for (opts, sub) in [
            (vec![s("purpose", "triage"), ch("channel", TRIAGE)], "channel"),
            (vec![s("purpose", "incidents"), ch("channel", INCIDENTS)], "channel"),
            (vec![s("purpose", "agent"), r("role", AGENT_ROLE)], "role"),
            (
                vec![s("name", "Laptop"), s("description", "A work laptop")],
                "catalog-add",
            ),
        ] {
            let reply = self.cmd(admin, "setup", Some(sub), &opts).await;
            assert!(!text(&reply).contains("Only server admins"), "{}", text(&reply));
        }
    }
}

/// Starts a bot binary (`servicedesk`, or the benchmarks' baseline) in its own process against
/// `fake`, on the database `db_url`, in `dir` (so no `.env` is picked up); output discarded.
pub fn spawn_bot(
    bin: &str,
    fake: &FakeDiscord,
    dir: &std::path::Path,
    db_url: &str,
    log: &str,
) -> tokio::process::Child {
    tokio::process::Command::new(bin)
        .env_clear()
        .current_dir(dir)
        .env("DISCORD_TOKEN", "fake-token-0123456789abcdefghij")
        .env("DATABASE_URL", db_url)
        .env("DISCORD_API_BASE", &fake.base)
        .env("DISCORD_GUILD_ID", GUILD.to_string())
        .env("RUST_LOG", log)
        // The listener runs as in production, on a free port so runs never collide.
        .env("HTTP_ADDR", "127.0.0.1:0")
        // Allocator experiments (`MALLOC_ARENA_MAX=2 cargo bench …`) reach the bot unchanged.
        .envs(std::env::vars().filter(|(k, _)| k.starts_with("MALLOC_")))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {bin}: {e}"))
}

/// Every button of a message body, row by row.
pub fn buttons(body: &Value) -> Vec<Value> {
    body["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .collect()
}

/// The `custom_id`s of a message's buttons (link buttons have none).
pub fn custom_ids(body: &Value) -> Vec<String> {
    buttons(body)
        .iter()
        .filter_map(|b| b["custom_id"].as_str().map(str::to_owned))
        .collect()
}

/// Everything a person would read in a reply or message: content, embed titles, descriptions
/// and fields.
pub fn text(v: &Value) -> String {
    let mut out = v["content"].as_str().unwrap_or("").to_owned();
    for e in v["embeds"].as_array().into_iter().flatten() {
        for k in ["title", "description"] {
            if let Some(t) = e[k].as_str() {
                out.push('\n');
                out.push_str(t);
            }
        }
        for f in e["fields"].as_array().into_iter().flatten() {
            out.push_str(&format!(
                "\n{}: {}",
                f["name"].as_str().unwrap_or(""),
                f["value"].as_str().unwrap_or("")
            ));
        }
    }
    out
}

/// True if the reply is visible to its user only.
pub fn is_ephemeral(v: &Value) -> bool {
    v["flags"].as_u64().is_some_and(|f| f & 64 != 0)
}

/// Polls `check` until it returns true, or panics after `within` with `what`.
pub async fn eventually<F, Fut>(within: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {within:?} waiting for {what}"
        );
        tokio::task::yield_now().await;
    }
}
