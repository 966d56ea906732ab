//! Use-cases: each loads what it needs, asks the domain, and stores the outcome — ticket, audit
//! rows and outbox messages — in one transaction, keyed by the interaction that asked for it.
//!
//! Called by the gateway (people) and, later, the scheduler (timers). Errors are either the
//! user's ([`ServiceError::User`], shown to them) or internal (logged, shown as a reference).

/// The use-case's connection inside the shared transaction, for a store call: taken (with the
/// interaction's claim) the first time a use-case needs one, after writing the tickets it
/// created so far. A use-case that never asks hands its effects to the writer as data.
macro_rules! conn {
    ($w:expr) => {{
        $w.ready().await?;
        $w.tx
            .as_deref_mut()
            .ok_or_else(|| $crate::service::ServiceError::broken("no turn"))?
    }};
}

mod access;
mod alerts;
mod changes;
mod config;
mod deliveries;
mod incidents;
mod knowledge;
mod major;
mod oncall;
mod ops;
mod problems;
mod report;
mod setup;
mod sla;
mod tickets;
mod timers;
mod work;

use std::sync::Arc;

use sqlx::SqlitePool;
use tokio::sync::Notify;

use crate::clock::{to_millis, Clock};
use crate::domain::access::Who;
use crate::domain::alert::SourceArgError;
use crate::domain::calendar::CalendarError;
use crate::domain::duration::DurationError;
use crate::domain::ids::IdError;
use crate::domain::knowledge::KbRefError;
use crate::domain::report::ReportError;
use crate::domain::text::TextError;
use crate::domain::{TicketState, TransitionError};
use crate::render::refusals::{
    AlertError, ArgError, ChangeError, IncidentError, KbError, ProblemError, SetupError, TicketError, UserError,
};
use crate::store::{self, NewAudit, NewOutbox, SettingsRow, TicketRow};

pub use crate::domain::oncall::{default_policy, Policy};
pub use crate::domain::vote::{default_rule, CabRule};
pub use crate::render::SettingsView;
pub use alerts::{token_hash, Accepted, Delivery, Refusal};
pub use changes::NewChange;
pub use knowledge::ArticleInput;
pub use major::Intake;
pub use ops::{Audiences, Checklist, Flow, Health, HelpAudience, SetupFacts, Step};
pub use report::Report;
pub use setup::{ChannelPurpose, RolePurpose};
pub use tickets::{AssignTarget, QueueView, TicketOp, TicketOutcome};

/// Who is acting, as Discord told us in the interaction.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The guild the interaction came from (the tenant).
    pub guild_id: i64,
    /// The member.
    pub user_id: i64,
    /// The member's role ids.
    pub roles: Vec<i64>,
    /// The member has Manage Server (or Administrator).
    pub is_admin: bool,
}

/// One interaction: the actor and the interaction id that makes the call idempotent.
#[derive(Debug, Clone)]
pub struct Call {
    /// Who.
    pub actor: Actor,
    /// Discord's interaction id.
    pub interaction_id: i64,
}

/// What can go wrong in a use-case.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The user asked for something the rules or their rights do not allow; shown to them.
    #[error(transparent)]
    User(UserError),
    /// This interaction was applied before (a re-delivery); nothing to do, nothing to say.
    #[error("interaction already applied")]
    Duplicate,
    /// Anything else; logged, and the user sees a reference only.
    #[error("database error")]
    Internal(#[from] sqlx::Error),
}

/// Shorthand for results of use-cases.
pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

impl ServiceError {
    /// One of the desk's own rules broke (say, a change reached a request's lifecycle): logged
    /// as an internal error, the user sees a reference only.
    pub fn broken(what: impl Into<String>) -> ServiceError {
        ServiceError::Internal(sqlx::Error::Protocol(what.into()))
    }
}

/// The lifecycle state of a request, incident or problem. A change has a lifecycle of its own,
/// so one here is the desk's bug, never a fallback.
pub(crate) fn lifecycle(t: &TicketRow) -> Result<TicketState> {
    t.state
        .ticket()
        .ok_or_else(|| ServiceError::broken(format!("ticket {} is a change ({})", t.id, t.state)))
}

macro_rules! user_errors {
    ($($t:ty),*) => {$(
        impl From<$t> for ServiceError {
            fn from(e: $t) -> ServiceError { ServiceError::User(e.into()) }
        }
    )*};
}
user_errors!(
    UserError,
    TicketError,
    IncidentError,
    ChangeError,
    ProblemError,
    KbError,
    AlertError,
    SetupError,
    ArgError,
    IdError,
    TextError,
    TransitionError,
    ReportError,
    CalendarError,
    DurationError,
    SourceArgError,
    KbRefError
);

/// The actor's rights in a guild, from the guild's role mapping.
#[derive(Debug, Clone, Copy)]
pub struct Standing {
    /// Works every ticket (agent role, or admin).
    pub is_agent: bool,
    /// Manage Server.
    pub is_admin: bool,
    /// Edits on-call schedules and escalation (incident manager role, or admin).
    pub is_incident_manager: bool,
    /// Manages changes and blackouts (change manager role, or admin).
    pub is_change_manager: bool,
}

impl Standing {
    /// Computes the actor's rights from the settings' role mapping.
    pub fn of(actor: &Actor, settings: &SettingsRow) -> Standing {
        let has = |role: Option<i64>| role.is_some_and(|r| actor.roles.contains(&r));
        Standing {
            is_agent: actor.is_admin || has(settings.agent_role_id),
            is_admin: actor.is_admin,
            is_incident_manager: actor.is_admin || has(settings.incident_manager_role_id),
            is_change_manager: actor.is_admin || has(settings.change_manager_role_id),
        }
    }

    /// The actor as the rules of [`crate::domain::access`] see them, given whether they are
    /// on call now; nothing about a particular ticket yet.
    pub fn who(self, on_call: bool) -> Who {
        Who {
            agent: self.is_agent,
            admin: self.is_admin,
            incident_manager: self.is_incident_manager,
            change_manager: self.is_change_manager,
            on_call,
            ..Who::default()
        }
    }
}

/// The desk: the use-cases over one database.
#[derive(Clone)]
pub struct Desk {
    pool: SqlitePool,
    clock: Arc<dyn Clock>,
    outbox_wake: Arc<Notify>,
    timers_wake: Arc<Notify>,
    writer: store::Writer,
    metrics: Arc<crate::telemetry::Metrics>,
    /// Notified after an event from monitoring is committed (the intake worker listens).
    events_wake: Arc<Notify>,
    /// Events per source this second (the webhooks' rate limit).
    rates: Arc<alerts::Rates>,
    /// How long an update DM waits for later updates to fold into it.
    fold_window_ms: i64,
    /// Guilds' configuration in memory.
    config: Arc<config::ConfigCache>,
}

impl Desk {
    /// A desk over `pool`, reading time from `clock`; `outbox_wake` is notified after every
    /// commit that queued a message.
    pub fn new(pool: SqlitePool, clock: Arc<dyn Clock>, outbox_wake: Arc<Notify>) -> Desk {
        let metrics = Arc::new(crate::telemetry::Metrics::new());
        Desk {
            pool: pool.clone(),
            clock,
            outbox_wake,
            timers_wake: Arc::new(Notify::new()),
            writer: store::Writer::with_metrics(pool.clone(), metrics.clone()),
            metrics,
            events_wake: Arc::new(Notify::new()),
            rates: Arc::default(),
            fold_window_ms: major::FOLD_WINDOW_MS,
            config: Arc::default(),
        }
    }

    /// This desk with another fold window for update DMs (tests and benchmarks).
    pub fn with_fold_window(mut self, window: std::time::Duration) -> Desk {
        self.fold_window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
        self
    }

    /// This desk's metrics (shared with the gateway, the outbox and the scheduler).
    pub fn metrics(&self) -> &Arc<crate::telemetry::Metrics> {
        &self.metrics
    }

    /// Notified after every commit that wrote a timer (the scheduler listens).
    pub fn timers_wake(&self) -> Arc<Notify> {
        self.timers_wake.clone()
    }

    /// The writer (the outbox's writes take turns in it too).
    pub fn writer(&self) -> &store::Writer {
        &self.writer
    }

    /// The pool (for the workers).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    fn now_ms(&self) -> i64 {
        to_millis(self.clock.now())
    }

    /// Starts a write. The interaction id is claimed (so a re-delivery is refused as
    /// [`ServiceError::Duplicate`] and nothing of it is written) with the use-case's first store
    /// call, or with its effects if it needs none: the guild's configuration comes from memory,
    /// and the writer's counters number what it creates.
    async fn begin(&self, call: &Call) -> Result<Work> {
        let now = self.now_ms();
        let guild = call.actor.guild_id;
        let (tx, config) = match self.config.get(guild).filter(|_| self.writer.ids().ready()) {
            Some(config) => (None, config),
            None => {
                let (mut tx, fresh) = self.writer.turn_claiming(&claim(call, now)).await?;
                if !fresh {
                    return Err(redelivered(tx, call.interaction_id).await);
                }
                let config = self.config_of(&mut tx, guild, now).await?;
                (Some(tx), config)
            }
        };
        let standing = Standing::of(&call.actor, &config.settings);
        let lazy = tx.is_none();
        let (user, interaction) = (call.actor.user_id, Some(call.interaction_id));
        let mut w = Work::new(tx, self.writer.clone(), guild, user, interaction, now, config, standing);
        w.claim = lazy.then(|| claim(call, now));
        w.fold_window_ms = self.fold_window_ms;
        Ok(w)
    }

    /// Starts a write by the desk itself (a timer firing): no interaction, no actor.
    async fn begin_system(&self, guild_id: i64) -> Result<Work> {
        let mut tx = self.writer.turn().await?;
        let now = self.now_ms();
        let config = self.config_of(&mut tx, guild_id, now).await?;
        let standing = Standing {
            is_agent: true,
            is_admin: false,
            is_incident_manager: false,
            is_change_manager: false,
        };
        let mut w = Work::new(Some(tx), self.writer.clone(), guild_id, 0, None, now, config, standing);
        w.fold_window_ms = self.fold_window_ms;
        Ok(w)
    }

    /// Marks a read-only interaction as seen, so a re-delivery is not answered twice, and
    /// returns the actor's settings and standing.
    async fn begin_read(&self, call: &Call) -> Result<(SettingsRow, Standing)> {
        // The claim is a write: it goes through the group commit like any other, as data
        // when memory has the guild's configuration.
        let now = self.now_ms();
        if let Some(config) = self.config.get(call.actor.guild_id) {
            return match self
                .writer
                .apply(Some(claim(call, now)), store::Effects::default())
                .await?
            {
                store::Applied::Committed => Ok((config.settings.clone(), Standing::of(&call.actor, &config.settings))),
                store::Applied::Redelivered => Err(ServiceError::Duplicate),
            };
        }
        let (mut turn, fresh) = self.writer.turn_claiming(&claim(call, now)).await?;
        if !fresh {
            return Err(redelivered(turn, call.interaction_id).await);
        }
        let settings = self
            .config_of(&mut turn, call.actor.guild_id, now)
            .await?
            .settings
            .clone();
        turn.finish().await?;
        let standing = Standing::of(&call.actor, &settings);
        Ok((settings, standing))
    }

    /// A guild's configuration: from memory, or loaded on `conn` (the writer's, so it includes
    /// whatever the batch changed) and kept.
    async fn config_of(
        &self,
        conn: &mut store::SqliteConnection,
        guild_id: i64,
        now: i64,
    ) -> Result<Arc<store::GuildConfig>> {
        if let Some(config) = self.config.get(guild_id) {
            return Ok(config);
        }
        let generation = self.config.generation();
        let config = Arc::new(store::load_guild_config(conn, guild_id, now).await?);
        self.config.put(guild_id, config.clone(), generation);
        Ok(config)
    }

    async fn finish(&self, mut work: Work) -> Result<()> {
        let config_changed = work.config_changed;
        let effects = work.effects();
        let done = match work.tx.take() {
            Some(mut tx) => match store::write_effects(&mut tx, &effects).await {
                Ok(()) => tx.finish_released().await.map_err(ServiceError::from),
                Err(e) => Err(e.into()),
            },
            None => match self.writer.apply(work.claim, effects).await {
                Ok(store::Applied::Committed) => Ok(()),
                Ok(store::Applied::Redelivered) => Err(ServiceError::Duplicate),
                Err(e) => Err(e.into()),
            },
        };
        if config_changed {
            // Committed or not, what memory holds may now be wrong.
            self.config.forget();
        }
        done?;
        let (queued, timers) = (work.queued, work.timers_changed);
        if queued {
            self.outbox_wake.notify_one();
        }
        if timers {
            self.timers_wake.notify_one();
        }
        Ok(())
    }
}

/// The claim of a call's interaction id, received at `at`.
fn claim(call: &Call, at: i64) -> store::Claim {
    store::Claim {
        interaction_id: call.interaction_id,
        guild_id: Some(call.actor.guild_id),
        user_id: call.actor.user_id,
        at,
    }
}

/// Waits for every lane of a batch (timers, monitoring events) and returns the first failure,
/// if any; `what` names the lanes in the log.
async fn join_lanes(mut running: tokio::task::JoinSet<Result<()>>, what: &str) -> Result<()> {
    let mut failed = None;
    while let Some(done) = running.join_next().await {
        match done {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failed = failed.or(Some(e)),
            Err(e) => {
                tracing::error!(error = %e, "{what} task failed");
                let e = ServiceError::Internal(sqlx::Error::Protocol(format!("{what} task: {e}")));
                failed = failed.or(Some(e));
            }
        }
    }
    failed.map_or(Ok(()), Err)
}

/// Counts a re-delivered interaction in the turn that found it; the answer is always
/// [`ServiceError::Duplicate`].
async fn redelivered(mut turn: store::Turn, interaction_id: i64) -> ServiceError {
    if let Err(e) = store::note_redelivery(&mut turn, interaction_id).await {
        return ServiceError::Internal(e);
    }
    match turn.finish().await {
        Ok(()) => ServiceError::Duplicate,
        Err(e) => ServiceError::Internal(e),
    }
}

/// One write in progress: the transaction and what every step of it needs.
struct Work {
    /// Its turn at the shared transaction, once a store call needed one ([`conn!`]).
    tx: Option<store::Turn>,
    writer: store::Writer,
    /// The interaction to claim with the first store call, or with the effects.
    claim: Option<store::Claim>,
    /// Tickets created and not yet written (see [`store::Opened`]).
    opened: Vec<store::Opened>,
    guild_id: i64,
    /// The acting user; 0 for the desk itself (then `interaction_id` is `None`).
    user_id: i64,
    interaction_id: Option<i64>,
    now: i64,
    /// The guild's configuration as this use-case began (see [`config`]).
    config: Arc<store::GuildConfig>,
    /// This use-case wrote configuration: memory forgets it when the use-case ends.
    config_changed: bool,
    standing: Standing,
    queued: bool,
    timers_changed: bool,
    calendar: Option<crate::domain::calendar::Calendar>,
    /// The guild's on-call levels, loaded once per use-case.
    oncall: Option<Vec<crate::domain::oncall::Level>>,
    /// Audit rows, outbox messages and timer changes of this use-case, written together by
    /// [`Work::flush`] just before it finishes — in the same transaction, as fewer statements.
    audits: Vec<NewAudit<'static>>,
    outbox: Vec<NewOutbox>,
    /// Per timer key, the last thing asked of it: schedule (`Some`) or cancel (`None`).
    timer_ops: std::collections::BTreeMap<String, Option<store::NewTimer>>,
    /// The monitoring source acting (for the desk's own work on an alert's behalf).
    source: Option<String>,
    /// See [`Desk::with_fold_window`].
    fold_window_ms: i64,
    /// Knowledge articles matching this use-case's text, found before it began.
    articles: Option<Vec<store::ArticleRow>>,
    /// Incidents' paging state as this use-case left it, written by [`Work::flush`].
    paging_writes: std::collections::BTreeMap<i64, store::Paging>,
}

impl Work {
    #[expect(clippy::too_many_arguments, reason = "every field a use-case starts from")]
    fn new(
        tx: Option<store::Turn>,
        writer: store::Writer,
        guild_id: i64,
        user_id: i64,
        interaction_id: Option<i64>,
        now: i64,
        config: Arc<store::GuildConfig>,
        standing: Standing,
    ) -> Work {
        Work {
            tx,
            writer,
            claim: None,
            opened: Vec::new(),
            guild_id,
            user_id,
            interaction_id,
            now,
            config,
            config_changed: false,
            standing,
            queued: false,
            timers_changed: false,
            calendar: None,
            oncall: None,
            audits: Vec::new(),
            outbox: Vec::new(),
            timer_ops: std::collections::BTreeMap::new(),
            source: None,
            fold_window_ms: major::FOLD_WINDOW_MS,
            articles: None,
            paging_writes: std::collections::BTreeMap::new(),
        }
    }

    /// An incident's paging state, as this use-case left it so far.
    async fn paging(&mut self, ticket_id: i64) -> Result<store::Paging> {
        if let Some(p) = self.paging_writes.get(&ticket_id) {
            return Ok(p.clone());
        }
        Ok(store::get_paging(conn!(self), ticket_id).await?)
    }

    /// Stores an incident's paging state when this use-case finishes.
    fn write_paging(&mut self, ticket_id: i64, paging: &store::Paging) {
        self.paging_writes.insert(ticket_id, paging.clone());
    }

    /// Says this use-case writes configuration (settings, holidays, SLA targets, escalation,
    /// on-call), so memory forgets the old configuration when it ends. Every such write is
    /// preceded by it (a unit test of [`config`] reads the sources to check).
    fn configuring(&mut self) {
        self.config_changed = true;
    }

    /// Takes a turn at the shared transaction if this use-case has none yet (claiming its
    /// interaction: a re-delivery ends it as [`ServiceError::Duplicate`]), and writes the tickets
    /// it created so far, so its store calls see them.
    async fn ready(&mut self) -> Result<()> {
        if self.tx.is_none() {
            let turn = match &self.claim {
                Some(c) => {
                    let (turn, fresh) = self.writer.turn_claiming(c).await?;
                    if !fresh {
                        return Err(redelivered(turn, c.interaction_id).await);
                    }
                    turn
                }
                None => self.writer.turn().await?,
            };
            self.tx = Some(turn);
        }
        if !self.opened.is_empty() {
            let tx = self.tx.as_deref_mut().ok_or_else(|| ServiceError::broken("no turn"))?;
            store::insert_opened(tx, &self.opened).await?;
            self.opened.clear();
        }
        Ok(())
    }

    /// Creates a ticket with its first SLA `clocks`: the ticket and the clocks numbered from the
    /// writer's counters, and kept together with this use-case's effects (written with them, or
    /// before its next store call). Returns them as they will be stored.
    async fn create_ticket(
        &mut self,
        new: &store::NewTicket<'_>,
        mut clocks: Vec<store::ClockRow>,
    ) -> Result<(TicketRow, Vec<store::ClockRow>)> {
        if !self.writer.ids().ready() {
            // The counters load with the writer's first transaction.
            self.ready().await?;
        }
        let ids = self.writer.ids();
        let unloaded = || ServiceError::broken("ticket counters not loaded");
        let (id, number) = ids.ticket(new.guild_id, new.kind).ok_or_else(unloaded)?;
        for c in &mut clocks {
            (c.id, c.ticket_id) = (ids.clock().ok_or_else(unloaded)?, id);
        }
        let ticket = TicketRow::opened(id, number, new);
        self.opened.push(store::Opened {
            ticket: ticket.clone(),
            clocks: clocks.clone(),
        });
        Ok((ticket, clocks))
    }

    /// A new SLA clock's id, from the writer's counters.
    async fn next_clock_id(&mut self) -> Result<i64> {
        if let Some(id) = self.writer.ids().clock() {
            return Ok(id);
        }
        self.ready().await?;
        self.writer
            .ids()
            .clock()
            .ok_or_else(|| ServiceError::broken("clock counters not loaded"))
    }

    /// What this use-case buffered, to be written as it ends: the tickets it created, its audit
    /// rows and outbox messages in order, and for each timer key the last thing asked of it
    /// (schedule or cancel).
    fn effects(&mut self) -> store::Effects {
        let (mut set, mut cancel) = (Vec::new(), Vec::new());
        for (key, op) in std::mem::take(&mut self.timer_ops) {
            match op {
                Some(timer) => set.push(timer),
                None => cancel.push(key),
            }
        }
        self.queued |= !self.outbox.is_empty();
        self.timers_changed |= !(set.is_empty() && cancel.is_empty());
        store::Effects {
            opened: std::mem::take(&mut self.opened),
            paging: std::mem::take(&mut self.paging_writes).into_iter().collect(),
            audits: std::mem::take(&mut self.audits),
            outbox: std::mem::take(&mut self.outbox),
            cancel,
            set,
        }
    }

    /// Schedules (or reschedules) the timer `key` when this use-case commits.
    fn set_timer(
        &mut self,
        key: String,
        kind: crate::domain::timer::TimerKind,
        ticket_id: Option<i64>,
        due_at: i64,
        payload: Option<String>,
    ) {
        let timer = store::NewTimer {
            guild_id: self.guild_id,
            key: key.clone(),
            kind,
            ticket_id,
            due_at,
            payload,
        };
        self.timer_ops.insert(key, Some(timer));
    }

    /// Cancels the timer `key` (if it exists) when this use-case commits.
    fn cancel_timer(&mut self, key: String) {
        self.timer_ops.insert(key, None);
    }

    async fn audit(
        &mut self,
        ticket_id: Option<i64>,
        action: &'static str,
        old_value: Option<String>,
        new_value: Option<String>,
        detail: Option<String>,
    ) -> Result<()> {
        let row = NewAudit {
            guild_id: self.guild_id,
            ticket_id,
            actor_id: self.interaction_id.map(|_| self.user_id),
            at: self.now,
            action,
            old_value,
            new_value,
            detail,
            interaction_id: self.interaction_id,
            actor_source: self.source.clone(),
        };
        self.audits.push(row);
        Ok(())
    }

    /// Queues a post of `body` in `channel` about ticket `t`, ranked in its channel by the
    /// ticket's priority; a card post's message id is kept on the ticket once delivered, so later
    /// changes edit it.
    async fn post(
        &mut self,
        channel: i64,
        t: &store::TicketRow,
        body: &serde_json::Value,
        is_card: bool,
    ) -> Result<()> {
        self.post_ranked(channel, t, body, is_card, t.rank()).await
    }

    /// [`Work::post`] with an explicit rank ([`store::RANK_PAGE`] for pages).
    async fn post_ranked(
        &mut self,
        channel: i64,
        t: &store::TicketRow,
        body: &serde_json::Value,
        is_card: bool,
        rank: i64,
    ) -> Result<()> {
        self.enqueue(NewOutbox {
            guild_id: 0,
            op: store::OutboxOp::Post,
            channel_id: Some(channel),
            user_id: None,
            ticket_id: Some(t.id),
            is_card,
            payload: body.to_string(),
            rank,
            at: 0,
            delay_ms: 0,
            fold_key: None,
        })
        .await
    }

    /// Queues a post in `channel` about no ticket in particular (a knowledge reminder).
    async fn post_other(&mut self, channel: i64, body: &serde_json::Value) -> Result<()> {
        self.enqueue(NewOutbox {
            guild_id: 0,
            op: store::OutboxOp::Post,
            channel_id: Some(channel),
            user_id: None,
            ticket_id: None,
            is_card: false,
            payload: body.to_string(),
            rank: store::RANK_OTHER,
            at: 0,
            delay_ms: 0,
            fold_key: None,
        })
        .await
    }

    async fn enqueue(&mut self, mut m: NewOutbox) -> Result<()> {
        m.guild_id = self.guild_id;
        m.at = self.now;
        self.outbox.push(m);
        Ok(())
    }
}
