//! The outbox worker: delivers the messages the bot posts on its own (cards, notices, DMs).
//!
//! Rows are written by the service in the transaction of their cause; this one loop sends them
//! in order, per channel, through serenity's request builder on the same HTTP client serenity
//! uses (serenity's own error type drops `retry_after`, which we must honour). It
//! - waits `retry_after` on 429 and retries;
//! - retries 5xx, timeouts and connection errors with exponential backoff and jitter, capped at
//!   [`BACKOFF_CAP`], for [`RETRY_FOR`] (24 hours) from the first failure, so a Discord outage
//!   loses no page; only the head of each channel or DM recipient is retried;
//! - never retries another 4xx: the row is marked failed and logged once (Discord bans IPs that
//!   cause 10,000 401/403/429 in 10 minutes);
//! - sends at most [`CHANNEL_BURST`] messages per [`CHANNEL_WINDOW`] to one channel;
//! - sends every post with a nonce derived from the row and `enforce_nonce`, so a retry after a
//!   lost response does not post twice.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use serenity::all::{ChannelId, MessageId};
use serenity::http::{Http, LightMethod, Request, Route};
use tokio::sync::{watch, Notify};
use tracing::{debug, error, info, warn};

use crate::clock::to_millis;
use crate::render::{self, Pings};
use crate::store::{self, OutboxOp, OutboxRow, SqlitePool};
use crate::telemetry::Metrics;

/// Messages allowed per channel in one window.
pub const CHANNEL_BURST: usize = 5;
/// The pacing window per channel.
pub const CHANNEL_WINDOW: Duration = Duration::from_secs(5);
/// Least time between two requests (keeps well under Discord's 50 requests/s).
pub const MIN_GAP: Duration = Duration::from_millis(25);
/// How long a message that keeps failing with 429, 5xx, timeouts or connection errors is
/// retried, from its first failure, before it is given up (SPEC §5.6: at least 24 hours).
pub const RETRY_FOR: Duration = Duration::from_secs(24 * 60 * 60);
/// First backoff step; doubles each attempt.
pub const BACKOFF_BASE: Duration = Duration::from_millis(500);
/// Longest backoff between two attempts (SPEC §5.6: 60 s).
pub const BACKOFF_CAP: Duration = Duration::from_secs(60);
/// Per-request timeout.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// Targets (channels, DM recipients) looked at per pass.
const HEADS: i64 = 1000;
/// A channel whose queue would take longer than this to drain at its pace gets digests.
pub const DIGEST_AFTER: Duration = Duration::from_secs(10);
/// How soon a thread open, a pin or a thread post looks again for the card or thread it needs.
const WAIT_FOR_CARD_MS: i64 = 500;
/// The marker on a post's body that sends it to its incident's bridge thread
/// ([`render::IN_THREAD`]).
use render::IN_THREAD;
/// Least time between the starts of two passes. Every commit that queues a message wakes the
/// worker; in a storm that is hundreds a second, and each pass reads the queue's heads.
const PASS_GAP: Duration = Duration::from_millis(10);

/// How one delivery attempt ended.
#[derive(Debug)]
enum Attempt {
    /// Delivered; the message id if Discord returned one.
    Sent(Option<i64>),
    /// Try again after this many milliseconds.
    Retry(i64, String),
    /// Do not try again.
    Fail(String),
    /// Not needed any more (an edit of a card whose post is still queued: the post shows the
    /// latest state when it goes out); leaves the queue as handled, with this note.
    Dropped(String),
    /// Discord refused it with a 4xx and this JSON error code (`50007`, `10008`, `50013`, …);
    /// not retried, but some refusals have a way around them.
    Refused(i64, String),
}

/// Discord's JSON error codes the outbox handles.
pub mod codes {
    /// Unknown channel.
    pub const UNKNOWN_CHANNEL: i64 = 10003;
    /// Unknown message (the card was deleted).
    pub const UNKNOWN_MESSAGE: i64 = 10008;
    /// Missing access (the bot cannot see the channel).
    pub const MISSING_ACCESS: i64 = 50001;
    /// Cannot send messages to this user (their DMs are closed to the server, or they blocked us).
    pub const CANNOT_DM: i64 = 50007;
    /// Missing permissions.
    pub const MISSING_PERMISSIONS: i64 = 50013;
}

/// How fast the outbox may send. The defaults are Discord-safe; tests shrink the window.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Messages allowed per channel (or DM recipient) in one window.
    pub channel_burst: usize,
    /// The pacing window.
    pub channel_window: Duration,
    /// Least time between two requests.
    pub min_gap: Duration,
    /// First backoff step after a 5xx, timeout or connection error.
    pub backoff_base: Duration,
    /// Longest backoff.
    pub backoff_cap: Duration,
    /// How long retryable failures are retried before the message is failed.
    pub retry_for: Duration,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            channel_burst: CHANNEL_BURST,
            channel_window: CHANNEL_WINDOW,
            min_gap: MIN_GAP,
            backoff_base: BACKOFF_BASE,
            backoff_cap: BACKOFF_CAP,
            retry_for: RETRY_FOR,
        }
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The worker.
pub struct Outbox {
    metrics: Arc<Metrics>,
    policy: Policy,
    pool: SqlitePool,
    /// The desk's writer: the outbox's writes take turns in its transaction, so the database
    /// has one writer and nobody waits in SQLite's busy handler.
    writer: store::Writer,
    http: Arc<Http>,
    client: reqwest::Client,
    wake: Arc<Notify>,
    sent_per_channel: HashMap<i64, VecDeque<Instant>>,
    last_request: Option<Instant>,
    /// DM channel per user: Discord returns the same channel every time, so open it once.
    dm_channels: HashMap<i64, i64>,
}

fn now_ms() -> i64 {
    // Delivery timing is about the network, not business time: always the real clock.
    to_millis(chrono::Utc::now())
}

impl Outbox {
    /// A worker sending through `http` (for its token and proxy) on `client`.
    pub fn new(
        pool: SqlitePool,
        writer: store::Writer,
        http: Arc<Http>,
        client: reqwest::Client,
        wake: Arc<Notify>,
        policy: Policy,
        metrics: Arc<Metrics>,
    ) -> Outbox {
        Outbox {
            metrics,
            policy,
            pool,
            writer,
            http,
            client,
            wake,
            sent_per_channel: HashMap::new(),
            last_request: None,
            dm_channels: HashMap::new(),
        }
    }

    /// Runs until `stop` turns true: delivers what is due, then sleeps until the next due row,
    /// a pacing slot, or a wake-up from a new commit.
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) {
        info!("outbox worker started");
        loop {
            let started = Instant::now();
            let wait = match self.pass().await {
                Ok(wait) => wait,
                Err(e) => {
                    error!(error = %e, "outbox pass failed");
                    Duration::from_secs(1)
                }
            };
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
                _ = stop.changed() => {}
            }
            if *stop.borrow() {
                break;
            }
            if let Some(rest) = PASS_GAP.checked_sub(started.elapsed()) {
                tokio::time::sleep(rest).await;
            }
        }
        info!("outbox worker stopped");
    }

    /// Delivers the head of every target that may send now; returns how long to sleep (zero
    /// after a delivery or a failure: the next message of that target has come forward).
    pub async fn pass(&mut self) -> Result<Duration, sqlx::Error> {
        let mut conn = self.pool.acquire().await?;
        let now = now_ms();
        let heads = store::list_outbox_heads(&mut conn, HEADS).await?;
        drop(conn);
        let mut wait = Duration::from_secs(60);
        let mut moved = false;
        for row in heads {
            if row.next_attempt_at > now {
                wait = wait.min(Duration::from_millis((row.next_attempt_at - now).unsigned_abs()));
                continue;
            }
            if let Some(slot) = self.pacing_delay(target_key(&row)) {
                wait = wait.min(slot);
                continue;
            }
            let recorded = match self.digest_for(&row).await {
                Some(cards) => {
                    let attempt = self.deliver_digest(&row, &cards).await;
                    self.record_digest(&row, attempt, &cards).await?
                }
                None => {
                    let attempt = self.deliver(&row).await;
                    self.record(&row, attempt).await?
                }
            };
            match recorded {
                Some(retry_at) => {
                    wait = wait.min(Duration::from_millis((retry_at - now_ms()).max(0).unsigned_abs()));
                }
                None => moved = true,
            }
        }
        Ok(if moved { Duration::ZERO } else { wait })
    }

    fn pacing_delay(&self, key: (bool, i64)) -> Option<Duration> {
        let sent = self.sent_per_channel.get(&key.1)?;
        if sent.len() < self.policy.channel_burst {
            return None;
        }
        let oldest = sent.front()?;
        let free_at = *oldest + self.policy.channel_window;
        free_at.checked_duration_since(Instant::now())
    }

    fn note_sent(&mut self, channel: i64) {
        let q = self.sent_per_channel.entry(channel).or_default();
        q.push_back(Instant::now());
        while q.len() > self.policy.channel_burst {
            q.pop_front();
        }
    }

    /// The cards a digest would carry instead of `row` alone: when `row` is a new-ticket card
    /// in a channel whose queue cannot drain within [`DIGEST_AFTER`] at its pace.
    async fn digest_for(&self, row: &OutboxRow) -> Option<Vec<(i64, crate::store::TicketRow)>> {
        let channel = row
            .channel_id
            .filter(|_| row.is_card && row.op == OutboxOp::Post.as_str())?;
        let per_window = self.policy.channel_burst as f64;
        let behind_at = (per_window * DIGEST_AFTER.as_secs_f64() / self.policy.channel_window.as_secs_f64()).ceil();
        let mut conn = self.pool.acquire().await.ok()?;
        let backlog = store::channel_backlog(&mut conn, channel).await.ok()?;
        if (backlog as f64) <= behind_at {
            return None;
        }
        let cards = store::digest_candidates(&mut conn, channel, now_ms(), render::DIGEST_MAX as i64)
            .await
            .ok()?;
        (cards.len() > 1 && cards.iter().any(|(id, _)| *id == row.id)).then_some(cards)
    }

    async fn deliver_digest(&mut self, row: &OutboxRow, cards: &[(i64, crate::store::TicketRow)]) -> Attempt {
        let Some(channel) = row.channel_id else {
            return Attempt::Fail("post without a channel".into());
        };
        let tickets: Vec<crate::store::TicketRow> = cards.iter().map(|(_, t)| t.clone()).collect();
        let mut body = render::digest(&tickets);
        body["nonce"] = json!(nonce(row.id));
        body["enforce_nonce"] = json!(true);
        let route = Route::ChannelMessages {
            channel_id: ChannelId::new(channel.unsigned_abs()),
        };
        self.send(channel, route, LightMethod::Post, &body).await
    }

    /// A digest sent marks every card it carried; otherwise only `row` is retried or failed
    /// (the others go in the next digest, or one by one).
    async fn record_digest(
        &mut self,
        row: &OutboxRow,
        attempt: Attempt,
        cards: &[(i64, crate::store::TicketRow)],
    ) -> Result<Option<i64>, sqlx::Error> {
        let Attempt::Sent(message_id) = attempt else {
            return self.record(row, attempt).await;
        };
        let mut turn = self.writer.turn().await?;
        let rows: Vec<(i64, i64)> = cards.iter().map(|(id, t)| (*id, t.id)).collect();
        store::mark_digested(&mut turn, &rows, row.channel_id.unwrap_or_default(), message_id).await?;
        turn.finish().await?;
        self.metrics.outbox_sent.inc();
        info!(
            outbox = row.id,
            cards = rows.len(),
            "channel behind: new tickets posted as one digest"
        );
        Ok(None)
    }

    /// Stores how an attempt went: `None` when the row left the queue (sent, or given up), else
    /// when it will be tried again (unix ms).
    async fn record(&mut self, row: &OutboxRow, attempt: Attempt) -> Result<Option<i64>, sqlx::Error> {
        // A turn of the desk's writer: its own savepoint, committed with the batch it joins.
        let mut conn = self.writer.turn().await?;
        let mut retry_at = None;
        match attempt {
            Attempt::Sent(message_id) => {
                // One turn: nobody sees a card post as sent before its message id is known.
                let tx = &mut conn;
                store::mark_outbox_sent(tx, row.id, message_id).await?;
                if let (Some(OutboxOp::Thread), Some(ticket), Some(thread)) =
                    (OutboxOp::parse(&row.op), row.ticket_id, message_id)
                {
                    store::set_ticket_thread(tx, ticket, thread).await?;
                }
                if row.is_card {
                    if let (Some(ticket), Some(channel), Some(msg)) = (row.ticket_id, row.channel_id, message_id) {
                        store::set_ticket_card(tx, ticket, channel, Some(msg)).await?;
                    }
                }
                self.metrics.outbox_sent.inc();
                debug!(outbox = row.id, op = %row.op, "delivered");
            }
            Attempt::Retry(after_ms, why)
                if within_retry_window(row.first_failure_at, now_ms(), self.policy.retry_for) =>
            {
                // 0 = no hint from Discord: back off exponentially.
                let after_ms = if after_ms > 0 {
                    after_ms
                } else {
                    backoff_ms(
                        row.attempts + 1,
                        row.id,
                        millis(self.policy.backoff_base),
                        millis(self.policy.backoff_cap),
                    )
                };
                self.metrics.retried(reason_of(&why));
                warn!(outbox = row.id, attempt = row.attempts + 1, retry_in_ms = after_ms, reason = %why, "delivery will be retried");
                let now = now_ms();
                store::mark_outbox_retry(&mut conn, row.id, now, now + after_ms, &why).await?;
                retry_at = Some(now + after_ms);
            }
            Attempt::Retry(_, why) => {
                let retried = i64::try_from(self.policy.retry_for.as_secs()).unwrap_or(i64::MAX);
                let why = format!(
                    "still failing after {} of retries: {why}",
                    crate::domain::duration::human_seconds(retried)
                );
                self.metrics.failed("retries-exhausted");
                error!(outbox = row.id, op = %row.op, channel = ?row.channel_id, user = ?row.user_id, reason = %why,
                       "message could not be delivered; kept in the outbox as failed");
                store::mark_outbox_failed(&mut conn, row.id, &why).await?;
            }
            Attempt::Dropped(note) => {
                debug!(outbox = row.id, %note, "not needed any more");
                store::mark_outbox_rerouted(&mut conn, row.id, &note).await?;
            }
            Attempt::Refused(codes::CANNOT_DM, why) if row.user_id.is_some() && row.ticket_id.is_some() => {
                match self.reroute_dm(&mut conn, row).await? {
                    Some(channel) => {
                        info!(outbox = row.id, user = ?row.user_id, channel, "DM refused (50007); posted in the ticket's channel instead");
                        let note = render::dm_rerouted_note(&why, channel);
                        store::mark_outbox_rerouted(&mut conn, row.id, &note).await?;
                        self.wake.notify_one();
                    }
                    None => {
                        self.metrics.failed("refused");
                        store::mark_outbox_failed(
                            &mut conn,
                            row.id,
                            &format!("50007: {why}; no channel to deliver it in instead"),
                        )
                        .await?;
                    }
                }
            }
            Attempt::Refused(code, why) => {
                let why = format!("{code}: {why}");
                self.metrics.failed("refused");
                error!(outbox = row.id, op = %row.op, channel = ?row.channel_id, user = ?row.user_id, reason = %why,
                       "Discord refused the message; kept in the outbox as failed (see /setup deliveries)");
                store::mark_outbox_failed(&mut conn, row.id, &why).await?;
            }
            Attempt::Fail(why) => {
                self.metrics.failed(reason_of(&why));
                error!(outbox = row.id, op = %row.op, channel = ?row.channel_id, user = ?row.user_id, reason = %why,
                       "message could not be delivered; kept in the outbox as failed");
                store::mark_outbox_failed(&mut conn, row.id, &why).await?;
            }
        }
        conn.finish().await?;
        Ok(retry_at)
    }

    async fn deliver(&mut self, row: &OutboxRow) -> Attempt {
        match OutboxOp::parse(&row.op) {
            Some(OutboxOp::Post) => {
                let Some(channel) = row.channel_id else {
                    return Attempt::Fail("post without a channel".into());
                };
                let body: Value = serde_json::from_str(&row.payload).unwrap_or_else(|_| json!({}));
                let mut body = self.fresh_card(row, body).await;
                let mut channel = channel;
                if body.as_object_mut().and_then(|b| b.remove(IN_THREAD)).is_some() {
                    match self.thread_of(row).await {
                        Ok(thread) => channel = thread,
                        Err(wait) => return wait,
                    }
                }
                body["nonce"] = json!(nonce(row.id));
                body["enforce_nonce"] = json!(true);
                self.send(
                    channel,
                    Route::ChannelMessages {
                        channel_id: ChannelId::new(channel.unsigned_abs()),
                    },
                    LightMethod::Post,
                    &body,
                )
                .await
            }
            Some(OutboxOp::EditCard) => self.edit_card(row).await,
            Some(OutboxOp::Dm) => self.dm(row).await,
            Some(OutboxOp::Thread) => self.open_thread(row).await,
            Some(OutboxOp::Pin) => self.pin_card(row).await,
            None => Attempt::Fail(format!("unknown outbox op {}", row.op)),
        }
    }

    /// The ticket of a row, loaded now.
    async fn ticket_of(&self, row: &OutboxRow) -> Result<crate::store::TicketRow, Attempt> {
        let Some(ticket_id) = row.ticket_id else {
            return Err(Attempt::Fail(format!("{} without a ticket", row.op)));
        };
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(|_| Attempt::Retry(millis(BACKOFF_BASE), "database busy".into()))?;
        store::get_ticket(&mut conn, ticket_id)
            .await
            .map_err(|e| Attempt::Fail(format!("ticket not loaded: {e}")))
    }

    /// Where a ticket's card is, once posted; a wait while its post is queued.
    async fn posted_card(&self, row: &OutboxRow) -> Result<(crate::store::TicketRow, i64, i64), Attempt> {
        let ticket = self.ticket_of(row).await?;
        if let (Some(channel), Some(message)) = (ticket.card_channel_id, ticket.card_message_id) {
            return Ok((ticket, channel, message));
        }
        let queued = async {
            let mut conn = self.pool.acquire().await?;
            store::card_post_pending(&mut conn, ticket.id).await
        }
        .await;
        match queued {
            Ok(true) => Err(Attempt::Retry(
                WAIT_FOR_CARD_MS,
                "waiting for the card to be posted".into(),
            )),
            _ => Err(Attempt::Fail("the ticket's card was never posted".into())),
        }
    }

    /// The bridge thread a post for it goes to; a wait while the thread is being opened.
    async fn thread_of(&self, row: &OutboxRow) -> Result<i64, Attempt> {
        let ticket = self.ticket_of(row).await?;
        if let Some(thread) = ticket.thread_id {
            return Ok(thread);
        }
        let queued = async {
            let mut conn = self.pool.acquire().await?;
            store::thread_pending(&mut conn, ticket.id).await
        }
        .await;
        match queued {
            Ok(true) => Err(Attempt::Retry(
                WAIT_FOR_CARD_MS,
                "waiting for the thread to be opened".into(),
            )),
            _ => Err(Attempt::Fail("the incident has no thread".into())),
        }
    }

    /// Opens a major incident's bridge: a public thread on its card.
    async fn open_thread(&mut self, row: &OutboxRow) -> Attempt {
        let (ticket, channel, message) = match self.posted_card(row).await {
            Ok(card) => card,
            Err(wait) => return wait,
        };
        if ticket.thread_id.is_some() {
            return Attempt::Dropped("the thread is open already".into());
        }
        let body = render::thread_start(&ticket);
        let route = Route::ChannelMessageThreads {
            channel_id: ChannelId::new(channel.unsigned_abs()),
            message_id: MessageId::new(message.unsigned_abs()),
        };
        self.send(channel, route, LightMethod::Post, &body).await
    }

    /// Pins a major incident's card in its channel.
    async fn pin_card(&mut self, row: &OutboxRow) -> Attempt {
        let (_, channel, message) = match self.posted_card(row).await {
            Ok(card) => card,
            Err(wait) => return wait,
        };
        let route = Route::ChannelPin {
            channel_id: ChannelId::new(channel.unsigned_abs()),
            message_id: MessageId::new(message.unsigned_abs()),
        };
        self.send(channel, route, LightMethod::Put, &Value::Null).await
    }

    async fn edit_card(&mut self, row: &OutboxRow) -> Attempt {
        let Some(ticket_id) = row.ticket_id else {
            return Attempt::Fail("card edit without a ticket".into());
        };
        let ticket = {
            let Ok(mut conn) = self.pool.acquire().await else {
                return Attempt::Retry(millis(BACKOFF_BASE), "database busy".into());
            };
            match store::get_ticket(&mut conn, ticket_id).await {
                Ok(t) => t,
                Err(e) => return Attempt::Fail(format!("ticket not loaded: {e}")),
            }
        };
        let (Some(channel), Some(message)) = (ticket.card_channel_id, ticket.card_message_id) else {
            if ticket.in_digest {
                return Attempt::Dropped("shown in a digest; picking it there shows the latest state".into());
            }
            let queued = async {
                let mut conn = self.pool.acquire().await?;
                store::card_post_pending(&mut conn, ticket_id).await
            }
            .await;
            if matches!(queued, Ok(true)) {
                // Ranked ahead of its card's post (a priority raised meanwhile): the post,
                // rendered when it goes out, already shows what this edit would.
                return Attempt::Dropped("the card is not posted yet; its post shows the latest state".into());
            }
            // The card's post failed for good; there is nothing to edit.
            return Attempt::Fail("the ticket's card was never posted".into());
        };
        // Rendered now, from the ticket as it is: a burst of changes shows the latest state.
        let body = if ticket.kind == crate::domain::TicketKind::Change {
            match self.change_card(&ticket).await {
                Ok(b) => b,
                Err(e) => return Attempt::Retry(0, format!("database: {e}")),
            }
        } else {
            match self.card_clocks(ticket.id).await {
                Ok(clocks) => render::ticket_card(&ticket, &Pings::none(), &clocks),
                Err(e) => return Attempt::Retry(0, format!("database: {e}")),
            }
        };
        let route = Route::ChannelMessage {
            channel_id: ChannelId::new(channel.unsigned_abs()),
            message_id: MessageId::new(message.unsigned_abs()),
        };
        match self.send(channel, route, LightMethod::Patch, &body).await {
            Attempt::Refused(codes::UNKNOWN_MESSAGE, why) => {
                // Someone deleted the card: post it again, and later edits go to the new one.
                info!(ticket = ticket.id, %why, "the card is gone (10008); posting it again");
                self.repost_card(row, &ticket, channel, body).await
            }
            other => other,
        }
    }

    /// Posts a ticket's card anew (after its message was deleted) and remembers the new message.
    async fn repost_card(
        &mut self,
        row: &OutboxRow,
        ticket: &crate::store::TicketRow,
        channel: i64,
        mut body: Value,
    ) -> Attempt {
        body["nonce"] = json!(nonce(row.id));
        body["enforce_nonce"] = json!(true);
        let route = Route::ChannelMessages {
            channel_id: ChannelId::new(channel.unsigned_abs()),
        };
        let attempt = self.send(channel, route, LightMethod::Post, &body).await;
        if let Attempt::Sent(Some(message)) = attempt {
            let stored = async {
                let mut turn = self.writer.turn().await?;
                store::set_ticket_card(&mut turn, ticket.id, channel, Some(message)).await?;
                turn.finish().await
            }
            .await;
            if let Err(e) = stored {
                error!(ticket = ticket.id, error = %e, "the re-posted card could not be remembered");
            }
        }
        attempt
    }

    /// Queues a refused DM as a post in the ticket's channel that mentions only its recipient;
    /// returns that channel, or `None` if the ticket's server has none set.
    async fn reroute_dm(&self, conn: &mut sqlx::SqliteConnection, row: &OutboxRow) -> Result<Option<i64>, sqlx::Error> {
        let (Some(user), Some(ticket_id)) = (row.user_id, row.ticket_id) else {
            return Ok(None);
        };
        let ticket = store::get_ticket(conn, ticket_id).await?;
        let settings = store::get_settings(conn, ticket.guild_id).await?;
        let channel = ticket.card_channel_id.or(match ticket.kind.as_str() {
            "incident" => settings.incidents_channel_id,
            "change" => settings.cab_channel_id,
            _ => settings.triage_channel_id,
        });
        let Some(channel) = channel else {
            return Ok(None);
        };
        let dm: Value = serde_json::from_str(&row.payload).unwrap_or_else(|_| json!({}));
        let body = render::dm_fallback(user, &dm);
        store::insert_outboxes(
            conn,
            &[store::NewOutbox {
                guild_id: row.guild_id,
                op: OutboxOp::Post,
                channel_id: Some(channel),
                user_id: None,
                ticket_id: Some(ticket_id),
                is_card: false,
                payload: body.to_string(),
                rank: row.rank,
                at: now_ms(),
                delay_ms: 0,
                fold_key: None,
            }],
        )
        .await?;
        Ok(Some(channel))
    }

    /// The running SLA clocks of a ticket, as its card shows them.
    async fn card_clocks(&self, ticket_id: i64) -> Result<Vec<render::CardClock>, sqlx::Error> {
        let mut conn = self.pool.acquire().await?;
        let clocks = store::list_current_clocks(&mut conn, ticket_id).await?;
        Ok(clocks
            .into_iter()
            .filter(|c| c.stopped_at.is_none())
            .filter_map(|c| {
                Some(render::CardClock {
                    label: if c.clock == crate::domain::sla::ClockKind::Response {
                        "Response"
                    } else {
                        "Resolution"
                    },
                    due_at: c.due_at?,
                    paused: c.paused_since.is_some(),
                    breached: c.breached_at.is_some(),
                })
            })
            .collect())
    }

    /// A card post, rendered again now: the ticket's state and clocks as they are at delivery
    /// (a card queued behind a backlog shows what is true when it appears); its text and pings
    /// stay as queued.
    async fn fresh_card(&self, row: &OutboxRow, mut body: Value) -> Value {
        let Some(ticket_id) = row.ticket_id.filter(|_| row.is_card) else {
            return body;
        };
        let Ok(ticket) = async {
            let mut conn = self.pool.acquire().await?;
            store::get_ticket(&mut conn, ticket_id).await
        }
        .await
        else {
            return body;
        };
        if ticket.kind == crate::domain::TicketKind::Change {
            return body;
        }
        if let Ok(clocks) = self.card_clocks(ticket_id).await {
            let fresh = render::ticket_card(&ticket, &Pings::none(), &clocks);
            body["embeds"] = fresh["embeds"].clone();
            body["components"] = fresh["components"].clone();
        }
        body
    }

    async fn change_card(&self, t: &crate::store::TicketRow) -> Result<Value, sqlx::Error> {
        let mut conn = self.pool.acquire().await?;
        let change = store::get_change(&mut conn, t.id).await?;
        let voters = store::list_voters(&mut conn, t.id).await?;
        let votes = store::list_votes(&mut conn, t.id).await?;
        Ok(render::change_card(t, &change, &voters, &votes))
    }

    async fn dm(&mut self, row: &OutboxRow) -> Attempt {
        let Some(user) = row.user_id else {
            return Attempt::Fail("DM without a user".into());
        };
        let channel = match self.dm_channels.get(&user) {
            Some(c) => *c,
            None => {
                let open = json!({ "recipient_id": user.to_string() });
                match self.request(Route::UserMeDmChannels, LightMethod::Post, &open).await {
                    Ok(v) => match v.get("id").and_then(Value::as_str).and_then(|s| s.parse::<i64>().ok()) {
                        Some(c) => {
                            self.dm_channels.insert(user, c);
                            c
                        }
                        None => return Attempt::Fail("DM channel without an id".into()),
                    },
                    Err(a) => return a,
                }
            }
        };
        let mut body: Value = serde_json::from_str(&row.payload).unwrap_or_else(|_| json!({}));
        if body
            .as_object_mut()
            .and_then(|b| b.remove(render::CARD_LINK_MARKER))
            .is_some()
        {
            self.link_card(row, &mut body).await;
        }
        body["nonce"] = json!(nonce(row.id));
        body["enforce_nonce"] = json!(true);
        let route = Route::ChannelMessages {
            channel_id: ChannelId::new(channel.unsigned_abs()),
        };
        self.send(user, route, LightMethod::Post, &body).await
    }

    /// Adds a link to the DM's ticket card, as it is now: the message once posted, its channel
    /// until then.
    async fn link_card(&self, row: &OutboxRow, body: &mut Value) {
        let Some(ticket_id) = row.ticket_id else { return };
        let ticket = async {
            let mut conn = self.pool.acquire().await?;
            store::get_ticket(&mut conn, ticket_id).await
        }
        .await;
        if let Ok(t) = ticket {
            if let Some(channel) = t.card_channel_id {
                let url = render::discord_link(t.guild_id, channel, t.card_message_id);
                render::add_card_link(body, &url);
            }
        }
    }

    async fn send(&mut self, pace_key: i64, route: Route<'_>, method: LightMethod, body: &Value) -> Attempt {
        let result = self.request(route, method, body).await;
        // Counted when the answer is in, which is never before Discord counted its arrival: the
        // window then holds on Discord's side whatever the latency.
        self.note_sent(pace_key);
        match result {
            Ok(v) => Attempt::Sent(v.get("id").and_then(Value::as_str).and_then(|s| s.parse().ok())),
            Err(a) => a,
        }
    }

    /// One HTTP request; `Err` carries the retry decision.
    async fn request(&mut self, route: Route<'_>, method: LightMethod, body: &Value) -> Result<Value, Attempt> {
        if let Some(last) = self.last_request {
            if let Some(rest) = self.policy.min_gap.checked_sub(last.elapsed()) {
                tokio::time::sleep(rest).await;
            }
        }
        self.last_request = Some(Instant::now());
        // A null body is no body (a pin).
        let bytes = match body {
            Value::Null => None,
            b => Some(serde_json::to_vec(b).map_err(|e| Attempt::Fail(e.to_string()))?),
        };
        let builder = Request::new(route, method)
            .body(bytes)
            .build(&self.client, self.http.token(), self.http.proxy.as_deref())
            .map_err(|e| Attempt::Fail(format!("request not built: {e}")))?;
        let response = match builder.timeout(REQUEST_TIMEOUT).send().await {
            Ok(r) => r,
            Err(e) => return Err(Attempt::Retry(0, format!("network: {e}"))),
        };
        let status = response.status().as_u16();
        let header_retry = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<f64>().ok());
        let text = response.text().await.unwrap_or_default();
        let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        match status {
            200..=299 => Ok(json),
            429 => {
                let secs = json
                    .get("retry_after")
                    .and_then(Value::as_f64)
                    .or(header_retry)
                    .unwrap_or(1.0);
                Err(Attempt::Retry(
                    (secs * 1000.0).ceil() as i64,
                    format!("429 rate limited for {secs}s"),
                ))
            }
            500..=599 => Err(Attempt::Retry(0, format!("{status}: {}", truncate_err(&text)))),
            _ => match json.get("code").and_then(Value::as_i64).filter(|c| *c > 0) {
                Some(code) => Err(Attempt::Refused(
                    code,
                    format!(
                        "{status} {}",
                        truncate_err(json.get("message").and_then(Value::as_str).unwrap_or(&text))
                    ),
                )),
                None => Err(Attempt::Fail(format!("{status}: {}", truncate_err(&text)))),
            },
        }
    }
}

/// Whether a message that failed first at `first_failure` (unix ms; `None`: this is its first
/// failure) may still be retried at `now`.
fn within_retry_window(first_failure: Option<i64>, now: i64, window: Duration) -> bool {
    first_failure.is_none_or(|first| now - first < millis(window))
}

/// The metrics' reason label for an attempt's error text (as `request` words them).
fn reason_of(why: &str) -> &'static str {
    if why.starts_with("429") {
        "rate-limited"
    } else if why.starts_with("network") {
        "network"
    } else if why.starts_with('5') {
        "server-error"
    } else {
        "refused"
    }
}

/// Channel rows and DM rows pace and order separately.
fn target_key(row: &OutboxRow) -> (bool, i64) {
    match row.user_id {
        Some(u) if row.channel_id.is_none() => (true, u),
        _ => (false, row.channel_id.unwrap_or(0)),
    }
}

/// Discord's nonce: at most 25 characters, unique per message we mean to post.
pub fn nonce(row_id: i64) -> String {
    format!("sd-{row_id}")
}

/// Exponential backoff with jitter for attempt `n` (1-based): `base`, 2×, 4×, … up to `cap`,
/// each between 75 % and 100 % of that step (so never above `cap`). The jitter is
/// deterministic per row and attempt (no RNG), and spreads the retries of many messages that
/// failed together.
pub fn backoff_ms(attempt: i64, jitter_seed: i64, base: i64, cap: i64) -> i64 {
    let exp = base.saturating_mul(1_i64 << (attempt - 1).clamp(0, 30));
    let capped = exp.min(cap);
    let spread = capped / 4;
    let h = (jitter_seed
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(attempt))
        >> 33;
    capped - h.rem_euclid(spread + 1)
}

fn truncate_err(text: &str) -> String {
    crate::domain::text::truncate(text, 300)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_half_a_second_with_jitter_and_never_exceeds_a_minute() {
        let (base, cap) = (millis(BACKOFF_BASE), millis(BACKOFF_CAP));
        for row in 0..50 {
            for attempt in 1..=2000 {
                let nominal = base.saturating_mul(1 << (attempt - 1).min(30)).min(cap);
                let b = backoff_ms(attempt, row, base, cap);
                assert!(b >= nominal - nominal / 4 && b <= nominal, "attempt {attempt}: {b}");
            }
        }
        assert!(backoff_ms(1, 0, base, cap) <= 500);
    }

    #[test]
    fn a_message_is_retried_until_a_full_day_after_its_first_failure() {
        let day = millis(RETRY_FOR);
        assert!(
            within_retry_window(None, 5, RETRY_FOR),
            "the first failure is always retried"
        );
        assert!(within_retry_window(Some(1_000), 1_000 + day - 1, RETRY_FOR));
        assert!(!within_retry_window(Some(1_000), 1_000 + day, RETRY_FOR));
        assert!(!within_retry_window(Some(1_000), 1_000 + 2 * day, RETRY_FOR));
    }

    #[test]
    fn a_day_of_retries_is_over_a_thousand_attempts_at_the_cap() {
        // The retry window, not an attempt count, ends the retries: at 45–60 s a step, 24 h is
        // well over 1,400 attempts.
        let (base, cap) = (millis(BACKOFF_BASE), millis(BACKOFF_CAP));
        let mut waited = 0;
        let mut attempts = 0;
        while waited < millis(RETRY_FOR) {
            attempts += 1;
            waited += backoff_ms(attempts, 7, base, cap);
        }
        assert!(attempts > 1400, "{attempts}");
    }
}
