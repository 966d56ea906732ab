//! The Discord adapter: slash commands, buttons, modals and autocomplete become desk calls, and
//! their outcomes become interaction replies.
//!
//! Every interaction is answered within Discord's 3 seconds: the work runs, and if it has not
//! finished after [`DEFER_AFTER`] the bot defers (an ephemeral "thinking…") and edits the reply
//! when the work is committed. Replies are sent only after the commit (SPEC §5.1).

pub mod commands;
mod dispatch;
mod options;

use std::future::Future;
use std::time::Duration;

use serde_json::{json, Value};
use serenity::all::{Context, EventHandler, GuildId, Interaction, InteractionId, Ready};
use serenity::async_trait;
use tracing::{debug, error, info, warn};

use crate::render;
use crate::service::{Desk, ServiceError};

/// How long work may run before the bot defers its reply.
pub const DEFER_AFTER: Duration = Duration::from_millis(1500);

/// Interaction callbacks in flight at once. Without a bound, a burst of thousands of
/// interactions opens as many HTTP connections to Discord at the same moment (each with its
/// buffers); 64 keeps the pool small and still answers thousands per second.
pub const MAX_CALLBACKS_IN_FLIGHT: usize = 64;

static CALLBACKS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(MAX_CALLBACKS_IN_FLIGHT);

/// What an interaction is answered with.
#[derive(Debug)]
pub enum Response {
    /// A message (the `data` of a callback of type 4).
    Message(Value),
    /// A whole callback body that must be the first response (a modal).
    Modal(Value),
    /// Nothing: the interaction was a re-delivery of one already applied.
    Nothing,
}

/// The serenity event handler.
pub struct Handler {
    desk: Desk,
    guild_id: Option<GuildId>,
}

impl Handler {
    /// A handler over the desk; commands go to `guild_id` if set, else globally.
    pub fn new(desk: Desk, guild_id: Option<GuildId>) -> Handler {
        Handler { desk, guild_id }
    }
}

#[async_trait]
impl EventHandler for Handler {
    async fn ready(&self, ctx: Context, ready: Ready) {
        info!(user = %ready.user.name, guilds = ready.guilds.len(), "connected to Discord");
        let defs = commands::definitions();
        let result = match self.guild_id {
            Some(g) => ctx.http.create_guild_commands(g, &defs).await,
            None => ctx.http.create_global_commands(&defs).await,
        };
        match result {
            Ok(cmds) => {
                info!(count = cmds.len(), guild = ?self.guild_id, "slash commands registered")
            }
            Err(e) => error!(error = %e, "registering slash commands failed"),
        }
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        match interaction {
            Interaction::Autocomplete(ac) => {
                let choices = dispatch::autocomplete(&self.desk, &ac).await;
                let body = json!({ "type": 8, "data": { "choices": choices } });
                if let Err(e) = ctx
                    .http
                    .create_interaction_response(ac.id, &ac.token, &body, vec![])
                    .await
                {
                    debug!(error = %e, "autocomplete answer not delivered");
                }
            }
            Interaction::Command(cmd) => {
                let (id, token) = (cmd.id, cmd.token.clone());
                let (desk, http) = (self.desk.clone(), ctx.http.clone());
                let work = tokio::spawn(async move { dispatch::command(&desk, &http, &cmd).await });
                respond(&ctx, id, &token, work).await;
            }
            Interaction::Component(c) => {
                let (id, token) = (c.id, c.token.clone());
                let desk = self.desk.clone();
                let work = tokio::spawn(async move { dispatch::component(&desk, &c).await });
                respond(&ctx, id, &token, work).await;
            }
            Interaction::Modal(m) => {
                let (id, token) = (m.id, m.token.clone());
                let desk = self.desk.clone();
                let work = tokio::spawn(async move { dispatch::modal(&desk, &m).await });
                respond(&ctx, id, &token, work).await;
            }
            other => debug!(kind = ?other.kind(), "interaction ignored"),
        }
    }
}

/// Turns a desk result into what the user sees.
pub fn outcome(interaction: InteractionId, result: Result<Response, ServiceError>) -> Response {
    match result {
        Ok(r) => r,
        Err(ServiceError::User(msg)) => Response::Message(render::ephemeral(&msg)),
        Err(ServiceError::Duplicate) => {
            info!(interaction = %interaction, "re-delivered interaction ignored");
            Response::Nothing
        }
        Err(e @ ServiceError::Internal(_)) => {
            let cause = std::error::Error::source(&e)
                .map(ToString::to_string)
                .unwrap_or_default();
            error!(interaction = %interaction, error = %e, cause = %cause, "interaction failed");
            Response::Message(render::ephemeral(&format!(
                "Something went wrong (ref {interaction}). Nothing was changed; please try again."
            )))
        }
    }
}

/// Answers the interaction whose work runs in its own task (so it keeps going while the reply
/// is deferred or waits for a callback slot), deferring first if the work is slow.
async fn respond(ctx: &Context, id: InteractionId, token: &str, work: tokio::task::JoinHandle<Response>) {
    let joined = |r: Result<Response, tokio::task::JoinError>| {
        r.unwrap_or_else(|e| {
            error!(interaction = %id, error = %e, "interaction task failed");
            Response::Message(render::ephemeral(&format!(
                "Something went wrong (ref {id}). Nothing was changed; please try again."
            )))
        })
    };
    let mut work = work;
    let first = tokio::select! {
        r = &mut work => Some(joined(r)),
        () = tokio::time::sleep(DEFER_AFTER) => None,
    };
    let http = &ctx.http;
    let sent = match first {
        Some(Response::Nothing) => return,
        Some(Response::Message(data)) => {
            bounded(http.create_interaction_response(id, token, &json!({ "type": 4, "data": data }), vec![])).await
        }
        Some(Response::Modal(body)) => bounded(http.create_interaction_response(id, token, &body, vec![])).await,
        None => {
            let defer = json!({ "type": 5, "data": { "flags": render::EPHEMERAL } });
            if let Err(e) = bounded(http.create_interaction_response(id, token, &defer, vec![])).await {
                warn!(interaction = %id, error = %e, "deferring failed");
            }
            let data = match joined(work.await) {
                Response::Nothing => return,
                Response::Message(mut data) => {
                    if let Some(obj) = data.as_object_mut() {
                        obj.remove("flags"); // fixed by the deferral; not editable
                    }
                    data
                }
                Response::Modal(_) => render::ephemeral("That took too long to open a form; please click again."),
            };
            bounded(http.edit_original_interaction_response(token, &data, vec![]))
                .await
                .map(|_| ())
        }
    };
    if let Err(e) = sent {
        warn!(interaction = %id, error = %e, "reply not delivered");
    }
}

/// Runs one callback request while holding a slot of [`MAX_CALLBACKS_IN_FLIGHT`].
async fn bounded<F: Future>(request: F) -> F::Output {
    let _slot = CALLBACKS.acquire().await;
    request.await
}
