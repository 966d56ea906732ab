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
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Outbox pacing.
    pub outbox: crate::outbox::Policy,
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
    let pool = store::connect(&config.database_url).await?;
    info!(database = %config.database_url, "database ready");
    let wake = Arc::new(Notify::new());
    let desk = Desk::new(pool.clone(), clock, wake.clone());

    let client = http_client(&config)?;
    let mut http = HttpBuilder::new(config.token.expose()).client(client.clone());
    if let Some(base) = &config.api_base {
        // serenity 0.12 builds rate-limited requests without the proxy, so it must be off here;
        // the outbox paces and honours 429s itself.
        http = http.proxy(base.clone()).ratelimiter_disabled(true);
    }
    let http = http.build();

    let handler = Handler::new(desk.clone(), config.guild_id);
    let mut discord = ClientBuilder::new_with_http(http, GatewayIntents::empty())
        .event_handler(handler)
        .await?;

    let (stop_tx, stop_rx) = watch::channel(false);
    let outbox = Outbox::new(pool.clone(), discord.http.clone(), client, wake, options.outbox);
    let outbox_task = tokio::spawn(outbox.run(stop_rx.clone()));
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
    pool.close().await;
    info!("stopped");
    result.map_err(RunError::from)
}
