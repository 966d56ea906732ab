//! Wiring: database → desk → outbox worker → serenity client, and an orderly shutdown.

use std::future::Future;
use std::sync::Arc;

use serenity::all::{ClientBuilder, GatewayIntents, HttpBuilder};
use tokio::sync::{watch, Notify};
use tracing::info;

use crate::clock::Clock;
use crate::config::Config;
use crate::gateway::Handler;
use crate::outbox::Outbox;
use crate::service::Desk;
use crate::store;

/// Why the bot stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The database could not be opened or migrated.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The migrations could not be applied.
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Discord refused us (bad token, …) or the gateway failed for good.
    #[error("discord: {0}")]
    Discord(#[from] serenity::Error),
    /// The HTTP client could not be built.
    #[error("http client: {0}")]
    Http(#[from] reqwest::Error),
    /// The operators' listener could not bind `HTTP_ADDR` (a port in use, say).
    #[error("{0}")]
    Listen(#[from] crate::web::ListenError),
}

/// The HTTP client shared by serenity and the outbox. Against a local base (tests, a proxy on
/// this machine) it ignores `HTTP(S)_PROXY`, so local traffic stays local.
pub fn http_client(config: &Config) -> Result<reqwest::Client, reqwest::Error> {
    let local = config.api_base.as_deref().is_some_and(|b| {
        let host = b.split("://").nth(1).unwrap_or("");
        host.starts_with("127.") || host.starts_with("localhost") || host.starts_with("[::1]")
    });
    let mut builder = reqwest::Client::builder()
        .pool_max_idle_per_host(16)
        .connect_timeout(std::time::Duration::from_secs(10));
    if local {
        builder = builder.no_proxy();
    }
    builder.build()
}

/// Knobs that are not configuration: tests and benchmarks set them.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Outbox pacing.
    pub outbox: crate::outbox::Policy,
    /// Told the address the HTTP listener bound (useful with `HTTP_ADDR=127.0.0.1:0`).
    pub http_bound: Option<tokio::sync::mpsc::UnboundedSender<std::net::SocketAddr>>,
    /// Accept monitoring events but do not apply them (a test of what a crash leaves).
    pub hold_intake: bool,
    /// How long an update DM to an affected user waits for later ones to fold into it
    /// (default 30 s).
    pub fold_window: Option<std::time::Duration>,
}

/// serenity's HTTP client for `config`: through `DISCORD_API_BASE` (with serenity's own rate
/// limiter off, see below) or to Discord itself.
pub fn discord_http(config: &Config, client: reqwest::Client) -> serenity::http::Http {
    let mut http = HttpBuilder::new(config.token.expose()).client(client);
    if let Some(base) = &config.api_base {
        // serenity 0.12 builds rate-limited requests without the proxy, so it must be off here;
        // the outbox paces and honours 429s itself.
        http = http.proxy(base.clone()).ratelimiter_disabled(true);
    }
    http.build()
}

/// Runs the bot until `shutdown` completes (or Discord ends the session for good).
pub async fn run(config: Config, clock: Arc<dyn Clock>, shutdown: impl Future<Output = ()>) -> Result<(), RunError> {
    run_with(config, clock, Options::default(), shutdown).await
}

/// [`run`] with explicit [`Options`].
pub async fn run_with(
    config: Config,
    clock: Arc<dyn Clock>,
    options: Options,
    shutdown: impl Future<Output = ()>,
) -> Result<(), RunError> {
    info!(version = %crate::version_line(), "starting");
    // Bind first: a port in use stops the start before anything else happens.
    let listener = match config.http_addr {
        Some(addr) => Some(crate::web::bind(addr).await?),
        None => None,
    };
    let pool = store::connect(&config.database_url).await?;
    info!(database = %config.database_url, "database ready");
    let wake = Arc::new(Notify::new());
    let mut desk = Desk::new(pool.clone(), clock, wake.clone());
    if let Some(window) = options.fold_window {
        desk = desk.with_fold_window(window);
    }

    let client = http_client(&config)?;
    let http = discord_http(&config, client.clone());

    let handler = Handler::new(desk.clone(), config.guild_id);
    let mut discord = ClientBuilder::new_with_http(http, GatewayIntents::empty())
        .event_handler(handler)
        .await?;

    let (stop_tx, stop_rx) = watch::channel(false);
    let web_task = listener.map(|l| serve_http(l, desk.clone(), &options, stop_rx.clone()));
    let outbox = Outbox::new(
        pool.clone(),
        desk.writer().clone(),
        discord.http.clone(),
        client,
        wake,
        options.outbox,
        desk.metrics().clone(),
    );
    let outbox_task = tokio::spawn(outbox.run(stop_rx.clone()));
    let intake_task = (!options.hold_intake).then(|| tokio::spawn(crate::intake::run(desk.clone(), stop_rx.clone())));
    let scheduler_task = tokio::spawn(crate::scheduler::run(desk, stop_rx));

    let shards = discord.shard_manager.clone();
    let result = {
        let mut start = std::pin::pin!(discord.start());
        tokio::select! {
            r = &mut start => r,
            () = shutdown => {
                info!("shutting down");
                shards.shutdown_all().await;
                start.await
            }
        }
    };
    let _ = stop_tx.send(true);
    let _ = scheduler_task.await;
    let _ = outbox_task.await;
    if let Some(intake) = intake_task {
        let _ = intake.await;
    }
    if let Some(web) = web_task {
        let _ = web.await;
    }
    pool.close().await;
    info!("stopped");
    result.map_err(RunError::from)
}

/// Serves the operators' listener until `stop` turns true; tells `options.http_bound` where.
fn serve_http(
    listener: tokio::net::TcpListener,
    desk: Desk,
    options: &Options,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    if let Ok(addr) = listener.local_addr() {
        info!(address = %addr, "HTTP listener ready: /healthz, /metrics, /hooks/alertmanager, /hooks/grafana, /v2/enqueue");
        if let Some(tell) = &options.http_bound {
            let _ = tell.send(addr);
        }
    }
    let stopped = async move {
        let _ = stop.wait_for(|s| *s).await;
    };
    tokio::spawn(crate::web::serve(listener, desk, stopped))
}

/// What `servicedesk check` learned from Discord.
#[derive(Debug, Clone)]
pub struct CheckReport {
    /// The bot user's name.
    pub bot_name: String,
    /// The bot user's id.
    pub bot_id: u64,
    /// The application's id (what the invite link names).
    pub application_id: u64,
    /// The application's name.
    pub application_name: String,
}

/// Why `servicedesk check` failed.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The database could not be opened or migrated.
    #[error("database {url}: {source}")]
    Database {
        /// `DATABASE_URL`.
        url: String,
        /// What SQLite said.
        source: RunError,
    },
    /// Discord refused the token (401/403).
    #[error("Discord refused the token ({0}): reset it in the developer portal (Bot → Reset Token) and update DISCORD_TOKEN")]
    Refused(String),
    /// Discord could not be reached, or answered with something else.
    #[error("Discord did not answer as expected: {0}")]
    Unreachable(String),
}

/// `servicedesk check`: opens and migrates the database, then asks Discord whose token this is.
pub async fn check(config: &Config) -> Result<CheckReport, CheckError> {
    let pool = store::connect(&config.database_url)
        .await
        .map_err(|e| CheckError::Database {
            url: config.database_url.clone(),
            source: e.into(),
        })?;
    pool.close().await;
    let client = http_client(config).map_err(|e| CheckError::Unreachable(e.to_string()))?;
    let http = discord_http(config, client);
    let user = http.get_current_user().await.map_err(discord_error)?;
    let app = http.get_current_application_info().await.map_err(discord_error)?;
    Ok(CheckReport {
        bot_name: user.name.clone(),
        bot_id: user.id.get(),
        application_id: app.id.get(),
        application_name: app.name,
    })
}

fn discord_error(e: serenity::Error) -> CheckError {
    if let serenity::Error::Http(serenity::http::HttpError::UnsuccessfulRequest(r)) = &e {
        if matches!(r.status_code.as_u16(), 401 | 403) {
            return CheckError::Refused(format!("{} {}", r.status_code.as_u16(), r.error.message));
        }
    }
    CheckError::Unreachable(e.to_string())
}

/// What `servicedesk backup` wrote.
#[derive(Debug, Clone)]
pub struct BackupReport {
    /// Size of the copy in bytes.
    pub bytes: u64,
    /// Tickets in the copy.
    pub tickets: i64,
}

/// Why `servicedesk backup` failed; nothing was written (or what was written is removed).
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The target exists: backups never overwrite.
    #[error("{0} already exists; choose a new file name (backups never overwrite)")]
    Exists(String),
    /// The target's folder does not exist.
    #[error("the folder of {0} does not exist")]
    NoFolder(String),
    /// There is no database at `DATABASE_URL`.
    #[error("there is no database at {0}")]
    NoDatabase(String),
    /// SQLite failed.
    #[error("{0}")]
    Database(#[from] sqlx::Error),
    /// The copy did not pass `PRAGMA integrity_check` (it is removed).
    #[error("the copy failed its integrity check ({0}); it was removed")]
    Corrupt(String),
}

/// `servicedesk backup PATH`: a consistent copy of the database, made with `VACUUM INTO` while
/// the bot may be running, then opened and checked with `PRAGMA integrity_check`.
pub async fn backup(database_url: &str, path: &std::path::Path) -> Result<BackupReport, BackupError> {
    use sqlx::ConnectOptions;
    use std::str::FromStr;
    let shown = path.display().to_string();
    if path.exists() {
        return Err(BackupError::Exists(shown));
    }
    let folder = path.parent().filter(|p| !p.as_os_str().is_empty());
    if folder.is_some_and(|f| !f.is_dir()) {
        return Err(BackupError::NoFolder(shown));
    }
    let source = sqlx::sqlite::SqliteConnectOptions::from_str(database_url)?
        .create_if_missing(false)
        .busy_timeout(std::time::Duration::from_secs(store::BUSY_TIMEOUT_SECS));
    let mut conn = match source.connect().await {
        Ok(c) => c,
        Err(_) => return Err(BackupError::NoDatabase(database_url.to_owned())),
    };
    store::backup_into(&mut conn, path).await?;
    drop(conn);
    let copy = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(false)
        .read_only(true);
    let verified = async {
        let mut c = copy.connect().await?;
        let integrity = store::integrity_check(&mut c).await?;
        let tickets: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM tickets").fetch_one(&mut c).await?;
        Ok::<_, sqlx::Error>((integrity, tickets.0))
    }
    .await;
    match verified {
        Ok((integrity, tickets)) if integrity == "ok" => Ok(BackupReport {
            bytes: std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
            tickets,
        }),
        Ok((integrity, _)) => {
            let _ = std::fs::remove_file(path);
            Err(BackupError::Corrupt(integrity))
        }
        Err(e) => {
            let _ = std::fs::remove_file(path);
            Err(BackupError::Database(e))
        }
    }
}
