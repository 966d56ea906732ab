//! The Discord adapter: slash commands, buttons, modals and autocomplete become desk calls, and
//! their outcomes become interaction replies.
//!
//! Every interaction is answered within Discord's 3 seconds: the work runs, and if it has not
//! finished after [`DEFER_AFTER`] the bot defers (an ephemeral "thinking…") and edits the reply
//! when the work is committed. Replies are sent only after the commit (SPEC §5.1).

mod alerts;
mod change;
pub mod commands;
mod dispatch;
mod dm;
mod incident;
mod knowledge;
mod options;
mod problem;
mod setup;
mod ticket;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use serenity::all::{
    ConnectionStage, Context, CreateAttachment, EventHandler, GuildId, Http, Interaction, InteractionId, Ready,
    ResumedEvent, ShardStageUpdateEvent,
};
use serenity::async_trait;
use tokio::time::Instant;
use tracing::{debug, error, info, info_span, warn, Instrument};

use crate::render;
use crate::service::{Desk, Flow, ServiceError};
use crate::telemetry::Metrics;

/// How long work may run before the bot defers its reply.
pub const DEFER_AFTER: Duration = Duration::from_millis(1500);

/// Interaction callbacks in flight at once. Without a bound, a burst of thousands of
/// interactions opens as many HTTP connections to Discord at the same moment (each with its
/// buffers); 64 keeps the pool small and still answers thousands per second.
pub const MAX_CALLBACKS_IN_FLIGHT: usize = 64;

static CALLBACKS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(MAX_CALLBACKS_IN_FLIGHT);

/// Use-cases running at once. They all queue for the one database writer anyway; beyond a full
/// group-commit batch ([`crate::store::MAX_BATCH`]) more running use-cases only hold memory.
pub const MAX_WORK_IN_FLIGHT: usize = crate::store::MAX_BATCH;

static WORK_SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(MAX_WORK_IN_FLIGHT);

/// What an interaction is answered with.
#[derive(Debug)]
pub enum Response {
    /// A message (the `data` of a callback of type 4).
    Message(Value),
    /// A message with one file attached (its name and bytes), e.g. the report's chart.
    WithFile(Value, &'static str, Vec<u8>),
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
        self.desk.metrics().set_gateway_connected(true);
        info!(
            user = %ready.user.name,
            guilds = ready.guilds.len(),
            version = crate::VERSION,
            invite = %render::invite_url(ready.application.id.get()),
            "connected to Discord"
        );
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
        for guild in &ready.guilds {
            log_setup_gaps(&self.desk, guild.id).await;
        }
    }

    async fn resume(&self, _ctx: Context, _event: ResumedEvent) {
        self.desk.metrics().set_gateway_connected(true);
    }

    /// Keeps `/healthz`'s gateway check current: only a connected session is healthy.
    async fn shard_stage_update(&self, _ctx: Context, event: ShardStageUpdateEvent) {
        let up = event.new == ConnectionStage::Connected;
        if !up {
            warn!(stage = %event.new, "gateway connection lost; serenity is reconnecting");
        }
        self.desk.metrics().set_gateway_connected(up);
    }

    /// Hands the interaction to a task of its own and returns at once. serenity keeps a task
    /// (and this handler's boxed future) alive until the handler returns — about 25 KB per
    /// interaction — so holding on here until the reply is sent multiplied an outage storm's
    /// backlog into 150 MB. The task below holds only what answering needs.
    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        let arrived = Instant::now();
        let (kind, name) = describe(&interaction);
        self.desk.metrics().interaction(kind, &name);
        let span = info_span!(
            "interaction",
            id = %interaction.id(),
            kind,
            command = %name,
            guild = interaction.guild_id().map_or(0, GuildId::get),
            user = interaction_user(&interaction),
        );
        tokio::spawn(handle(self.desk.clone(), ctx.http.clone(), Box::new(interaction), arrived).instrument(span));
    }
}

/// Logs, for one guild, what each flow still needs set up.
async fn log_setup_gaps(desk: &Desk, guild: GuildId) {
    let guild_id = i64::try_from(guild.get()).unwrap_or(i64::MAX);
    match desk.checklist(guild_id).await {
        Ok(checklist) => {
            for flow in Flow::ALL {
                let missing: Vec<&str> = checklist.missing(flow).into_iter().map(render::step_text).collect();
                if !missing.is_empty() {
                    warn!(guild = guild.get(), flow = render::flow_name(flow), missing = %missing.join("; "), "set-up incomplete");
                }
            }
        }
        Err(e) => warn!(guild = guild.get(), error = %e, "could not read the guild's set-up"),
    }
}

/// An interaction's kind and name for metrics and logs: the slash command, or the verb of a
/// button's or form's `custom_id` (`ack` of `ack:INC-3`).
fn describe(interaction: &Interaction) -> (&'static str, String) {
    let verb = |id: &str| id.split(':').next().unwrap_or_default().to_owned();
    match interaction {
        Interaction::Command(c) => ("command", c.data.name.clone()),
        Interaction::Autocomplete(a) => ("autocomplete", a.data.name.clone()),
        Interaction::Component(c) => ("component", verb(&c.data.custom_id)),
        Interaction::Modal(m) => ("modal", verb(&m.data.custom_id)),
        _ => ("other", String::new()),
    }
}

fn interaction_user(interaction: &Interaction) -> u64 {
    match interaction {
        Interaction::Command(c) | Interaction::Autocomplete(c) => c.user.id.get(),
        Interaction::Component(c) => c.user.id.get(),
        Interaction::Modal(m) => m.user.id.get(),
        _ => 0,
    }
}

/// Works one interaction and answers it. The interaction is boxed (it is 1.5 KB inline) and its
/// use-case future is made only once a work slot is free, so while a burst queues for the
/// database each waiting interaction holds little more than its own data.
async fn handle(desk: Desk, http: Arc<Http>, interaction: Box<Interaction>, arrived: Instant) {
    let metrics = desk.metrics().clone();
    match *interaction {
        Interaction::Autocomplete(ref ac) => {
            let choices = dispatch::autocomplete(&desk, ac).await;
            let body = json!({ "type": 8, "data": { "choices": choices } });
            let sent = bounded(|| Box::pin(http.create_interaction_response(ac.id, &ac.token, &body, vec![]))).await;
            if let Err(e) = sent {
                debug!(error = %e, "autocomplete answer not delivered");
            }
        }
        Interaction::Command(ref cmd) => {
            let work = Box::pin(in_slot(|| Box::pin(dispatch::command(&desk, &http, cmd))));
            respond(&http, &metrics, arrived, cmd.id, &cmd.token, work).await;
        }
        Interaction::Component(ref c) => {
            let work = Box::pin(in_slot(|| Box::pin(dispatch::component(&desk, &http, c))));
            respond(&http, &metrics, arrived, c.id, &c.token, work).await;
        }
        Interaction::Modal(ref m) => {
            let work = Box::pin(in_slot(|| Box::pin(dispatch::modal(&desk, &http, m))));
            respond(&http, &metrics, arrived, m.id, &m.token, work).await;
        }
        other => debug!(kind = ?other.kind(), "interaction ignored"),
    }
}

/// Turns a desk result into what the user sees.
pub fn outcome(desk: &Desk, interaction: InteractionId, result: Result<Response, ServiceError>) -> Response {
    let metrics = desk.metrics();
    match result {
        Ok(r) => {
            metrics.outcome("ok");
            r
        }
        Err(ServiceError::User(msg)) => {
            metrics.outcome("refused");
            Response::Message(render::ephemeral(&msg.to_string()))
        }
        Err(ServiceError::Duplicate) => {
            info!(interaction = %interaction, "re-delivered interaction ignored");
            Response::Nothing
        }
        Err(e @ ServiceError::Internal(_)) => {
            metrics.outcome("internal");
            let cause = std::error::Error::source(&e)
                .map(ToString::to_string)
                .unwrap_or_default();
            error!(interaction = %interaction, error = %e, cause = %cause, "interaction failed");
            Response::Message(render::went_wrong(&interaction.to_string()))
        }
    }
}

/// Answers the interaction, deferring first if the work is slow. While the deferral is on its
/// way the work keeps going (both are polled in this one task), so a slow callback never stalls
/// a use-case. Requests are boxed so that they take memory only while they are sent, not while
/// the interaction waits for its turn at the database.
async fn respond(
    http: &Http,
    metrics: &Metrics,
    arrived: Instant,
    id: InteractionId,
    token: &str,
    mut work: Pin<Box<dyn Future<Output = Response> + Send + '_>>,
) {
    let first = tokio::select! {
        r = &mut work => Some(r),
        () = tokio::time::sleep_until(arrived + DEFER_AFTER) => None,
    };
    let answered = || {
        let elapsed = arrived.elapsed();
        metrics.first_response.observe(elapsed.as_secs_f64());
        debug!(first_response_ms = elapsed.as_secs_f64() * 1000.0, "answered");
    };
    let sent = match first {
        Some(Response::Nothing) => return,
        Some(Response::Modal(body)) => {
            let sent = bounded(|| Box::pin(http.create_interaction_response(id, token, &body, vec![]))).await;
            answered();
            sent
        }
        Some(message) => {
            let (data, files) = message_parts(message);
            let body = json!({ "type": 4, "data": data });
            let sent = bounded(|| Box::pin(http.create_interaction_response(id, token, &body, files))).await;
            answered();
            sent
        }
        None => {
            metrics.deferrals.inc();
            let defer = json!({ "type": 5, "data": { "flags": render::EPHEMERAL } });
            let deferral = async {
                let sent = bounded(|| Box::pin(http.create_interaction_response(id, token, &defer, vec![]))).await;
                answered();
                sent
            };
            let (deferred, response) = tokio::join!(deferral, &mut work);
            if let Err(e) = deferred {
                warn!(interaction = %id, error = %e, "deferring failed");
            }
            let (mut data, files) = match response {
                Response::Nothing => return,
                Response::Modal(_) => (render::form_too_slow(), vec![]),
                message => message_parts(message),
            };
            if let Some(obj) = data.as_object_mut() {
                obj.remove("flags"); // fixed by the deferral; not editable
            }
            bounded(|| Box::pin(http.edit_original_interaction_response(token, &data, files)))
                .await
                .map(|_| ())
        }
    };
    if let Err(e) = sent {
        warn!(interaction = %id, error = %e, "reply not delivered");
    }
}

/// A message reply's data and its files.
fn message_parts(r: Response) -> (Value, Vec<CreateAttachment>) {
    match r {
        Response::Message(data) => (data, vec![]),
        Response::WithFile(data, name, bytes) => (data, vec![CreateAttachment::bytes(bytes, name)]),
        Response::Modal(_) | Response::Nothing => (render::ephemeral(""), vec![]),
    }
}

/// Runs the use-case made by `work` while holding a slot of [`MAX_WORK_IN_FLIGHT`]; the
/// use-case's future (a few KB) exists only once the slot is held.
async fn in_slot<F: Future<Output = Response>>(work: impl FnOnce() -> F) -> Response {
    let _slot = WORK_SLOTS.acquire().await;
    work().await
}

/// Runs one callback request while holding a slot of [`MAX_CALLBACKS_IN_FLIGHT`]; the request is
/// made (and its memory taken) only once the slot is held.
async fn bounded<F: Future>(request: impl FnOnce() -> F) -> F::Output {
    let _slot = CALLBACKS.acquire().await;
    request().await
}
