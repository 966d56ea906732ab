//! The benchmark floor: a bare serenity bot that answers every interaction with one fixed
//! ephemeral message and does no database work. Same serenity build and wiring as the desk
//! (`DISCORD_TOKEN`, `DISCORD_API_BASE`), so the difference to `servicedesk` is the desk's own
//! work. Not part of the product; `benches/load.rs` runs it beside the desk.

use serde_json::json;
use serenity::all::{ClientBuilder, Context, EventHandler, GatewayIntents, HttpBuilder, Interaction};
use serenity::async_trait;

struct Bare;

#[async_trait]
impl EventHandler for Bare {
    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        let (id, token) = match &interaction {
            Interaction::Command(c) => (c.id, c.token.clone()),
            Interaction::Component(c) => (c.id, c.token.clone()),
            Interaction::Modal(m) => (m.id, m.token.clone()),
            _ => return,
        };
        let body = json!({ "type": 4, "data": { "content": "ok", "flags": 64, "allowed_mentions": { "parse": [] } } });
        let _ = ctx.http.create_interaction_response(id, &token, &body, vec![]).await;
    }
}

fn main() {
    let token = std::env::var("DISCORD_TOKEN").unwrap_or_default();
    let base = std::env::var("DISCORD_API_BASE").unwrap_or_else(|_| "https://discord.com".into());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let client = reqwest::Client::builder().no_proxy().build().expect("client");
        let http = HttpBuilder::new(token)
            .client(client)
            .proxy(base)
            .ratelimiter_disabled(true)
            .build();
        let mut bot = ClientBuilder::new_with_http(http, GatewayIntents::empty())
            .event_handler(Bare)
            .await
            .expect("client");
        let shards = bot.shard_manager.clone();
        tokio::select! {
            r = bot.start() => { let _ = r; }
            _ = tokio::signal::ctrl_c() => shards.shutdown_all().await,
        }
    });
}
