//! Event management: monitoring sources (`/alerts source-…`), accepting their events durably,
//! and applying each event once — incidents opened, updated and resolved by alerts.
//!
//! An event is checked and committed to `alert_events` before the sender hears `202`
//! ([`Desk::accept_event`]); the intake worker applies it afterwards in the transaction that
//! marks it processed ([`Desk::process_events`]), so a crash between the two only delays it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use ring::rand::SecureRandom;
use serde_json::Value;

use super::incidents::Draft;
use super::{Call, Desk, Result, ServiceError, Work};
use crate::domain::access::{self, Act};
use crate::domain::alert::{self, BadEvent, Event, EventAction, Notification, SourceKind};
use crate::domain::text::{MAX_DETAILS_CHARS, MAX_SUMMARY_CHARS};
use crate::domain::timer::TimerKind;
use crate::domain::{Action, TicketState};
use crate::render::refusals::AlertError;
use crate::render::{self, ticket_ref, Pings};
use crate::store::{self, EventRow, SourceRow, TicketRow};

/// Characters of a token (letters and digits).
pub const TOKEN_CHARS: usize = 32;

const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// A fresh random secret of [`TOKEN_CHARS`] letters and digits.
fn new_secret() -> std::result::Result<String, ServiceError> {
    let rng = ring::rand::SystemRandom::new();
    let mut out = String::with_capacity(TOKEN_CHARS);
    while out.len() < TOKEN_CHARS {
        let mut buf = [0u8; 64];
        rng.fill(&mut buf)
            .map_err(|_| ServiceError::Internal(sqlx::Error::Protocol("no system randomness".into())))?;
        // 248 = 4 × 62: rejecting the rest keeps every character equally likely.
        for b in buf.iter().filter(|b| **b < 248) {
            if out.len() < TOKEN_CHARS {
                out.push(char::from(ALPHABET[usize::from(*b % 62)]));
            }
        }
    }
    Ok(out)
}

/// Lowercase hex SHA-256 of a token: all the database keeps of it.
pub fn token_hash(token: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Equal without a timing that depends on where they differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// What a webhook request carried, as the listener read it.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    /// The endpoint it came to.
    pub kind: SourceKind,
    /// The bearer token, or the basic-auth password (Alertmanager and Grafana).
    pub token: Option<&'a str>,
    /// Grafana's `X-Grafana-Alert-Signature`.
    pub signature: Option<&'a str>,
    /// Grafana's `X-Grafana-Alert-Timestamp` (Unix seconds).
    pub timestamp: Option<&'a str>,
    /// The body as received.
    pub body: &'a [u8],
}

/// Why an event was not accepted (the listener turns each into its status code).
#[derive(Debug)]
pub enum Refusal {
    /// Missing, wrong or rotated token, or a bad signature: the same answer for all.
    Unauthorized,
    /// Not JSON, or missing what the kind needs; each problem names its field.
    Invalid(BadEvent),
    /// The source sent more than its share this second.
    TooMany {
        /// Seconds to wait.
        retry_after: u64,
    },
    /// The database failed: the sender should retry.
    Unavailable(sqlx::Error),
}

/// An accepted event.
#[derive(Debug, Clone)]
pub struct Accepted {
    /// The stored event's id.
    pub event_id: i64,
    /// Events v2: the incident's key (the sender's, or one made up for it).
    pub dedup_key: Option<String>,
}

/// Per source, the second being counted and the events in it.
#[derive(Debug, Default)]
pub struct Rates(Mutex<HashMap<i64, (Instant, u32)>>);

impl Rates {
    /// Counts one event of `source`; `false` when it is over the limit for this second.
    fn admit(&self, source: i64) -> bool {
        let now = Instant::now();
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let entry = map.entry(source).or_insert((now, 0));
        if now.duration_since(entry.0).as_secs() >= 1 {
            *entry = (now, 0);
        }
        entry.1 += 1;
        entry.1 <= alert::MAX_EVENTS_PER_SECOND
    }
}

fn resolve_key(ticket: i64) -> String {
    format!("alertresolve:{ticket}")
}

impl Desk {
    /// The rate counters (shared by clones of the desk).
    fn rates(&self) -> &Arc<Rates> {
        &self.rates
    }

    /// Checks a webhook request and commits its event; `Ok` means the event is durable and the
    /// sender may hear `202`.
    pub async fn accept_event(&self, d: Delivery<'_>) -> std::result::Result<Accepted, Refusal> {
        let mut body: Value = serde_json::from_slice(d.body)
            .map_err(|e| Refusal::Invalid(BadEvent(vec![format!("the body is not JSON: {e}")])))?;
        let token = match d.kind {
            SourceKind::Events => alert::routing_key(&body),
            _ => d.token,
        };
        let token = token.filter(|t| !t.is_empty()).ok_or(Refusal::Unauthorized)?;
        let hash = token_hash(token);
        let source = {
            let mut conn = self.pool.acquire().await.map_err(Refusal::Unavailable)?;
            store::find_source_by_token(&mut conn, &hash)
                .await
                .map_err(Refusal::Unavailable)?
        };
        let source = source
            .filter(|s| same(s.token_sha256.as_bytes(), hash.as_bytes()) && s.kind() == d.kind)
            .ok_or(Refusal::Unauthorized)?;
        if let Some(secret) = &source.hmac_secret {
            self.check_signature(secret, &d)?;
        }
        if !self.rates().admit(source.id) {
            return Err(Refusal::TooMany { retry_after: 1 });
        }
        let mut dedup_key = None;
        match d.kind {
            SourceKind::Events => {
                let event = alert::read_event(&body).map_err(Refusal::Invalid)?;
                let key = match event.dedup_key {
                    Some(k) => k,
                    None => new_secret().map_err(|_| Refusal::Unavailable(sqlx::Error::PoolClosed))?,
                };
                body["dedup_key"] = Value::String(key.clone());
                dedup_key = Some(key);
            }
            kind => {
                alert::read_notification(kind, &body).map_err(Refusal::Invalid)?;
            }
        }
        let event_id = async {
            let mut turn = self.writer.turn().await?;
            let id = store::insert_event(&mut turn, &source, &body.to_string(), self.now_ms()).await?;
            turn.finish().await?;
            Ok::<i64, sqlx::Error>(id)
        }
        .await
        .map_err(Refusal::Unavailable)?;
        self.events_wake.notify_one();
        Ok(Accepted { event_id, dedup_key })
    }

    fn check_signature(&self, secret: &str, d: &Delivery<'_>) -> std::result::Result<(), Refusal> {
        let (Some(sig), Some(ts)) = (d.signature, d.timestamp) else {
            return Err(Refusal::Unauthorized);
        };
        let at: i64 = ts.trim().parse().map_err(|_| Refusal::Unauthorized)?;
        if (self.now_ms() / 1000 - at).abs() > alert::SIGNATURE_WINDOW_SECONDS {
            return Err(Refusal::Unauthorized);
        }
        let sig = hex_decode(sig).ok_or(Refusal::Unauthorized)?;
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
        let mut signed = Vec::with_capacity(ts.len() + 1 + d.body.len());
        signed.extend_from_slice(ts.trim().as_bytes());
        signed.push(b':');
        signed.extend_from_slice(d.body);
        ring::hmac::verify(&key, &signed, &sig).map_err(|_| Refusal::Unauthorized)
    }

    /// Wakes the intake worker (an event was committed).
    pub fn events_wake(&self) -> Arc<tokio::sync::Notify> {
        self.events_wake.clone()
    }

    /// Applies up to `limit` accepted events; returns how many it found.
    ///
    /// A source's events apply one after the other, in arrival order (a resolve after its
    /// trigger); different sources' side by side, so the writer's group commit serves many with
    /// one fsync.
    pub async fn process_events(&self, limit: i64) -> Result<usize> {
        let pending = {
            let mut conn = self.pool.acquire().await?;
            store::list_pending_events(&mut conn, limit).await?
        };
        let n = pending.len();
        let mut lanes: HashMap<i64, Vec<EventRow>> = HashMap::new();
        for event in pending {
            lanes.entry(event.source_id).or_default().push(event);
        }
        let mut running = tokio::task::JoinSet::new();
        for (_, lane) in lanes {
            let desk = self.clone();
            running.spawn(async move {
                for event in &lane {
                    // A failure leaves this event and the rest of its source for the next pass.
                    desk.process_event(event).await?;
                }
                Ok::<(), ServiceError>(())
            });
        }
        super::join_lanes(running, "intake").await.map(|()| n)
    }

    /// Applies one event in the transaction that marks it processed: once, even across crashes.
    async fn process_event(&self, event: &EventRow) -> Result<()> {
        let mut w = self.begin_system(event.guild_id).await?;
        if !store::take_event(conn!(w), event.id, w.now).await? {
            return Ok(());
        }
        let Some(source) = store::get_source(conn!(w), event.source_id).await? else {
            return self.finish(w).await;
        };
        w.source = Some(source.name.clone());
        let body: Value = serde_json::from_str(&event.body).unwrap_or(Value::Null);
        let changed = match source.kind() {
            SourceKind::Events => match alert::read_event(&body) {
                Ok(e) => w.on_event(&source, &e).await?,
                Err(e) => {
                    tracing::error!(event = event.id, error = %e, "a stored event no longer reads");
                    false
                }
            },
            kind => match alert::read_notification(kind, &body) {
                Ok(n) => w.on_notification(&source, &n).await?,
                Err(e) => {
                    tracing::error!(event = event.id, error = %e, "a stored notification no longer reads");
                    false
                }
            },
        };
        if !changed {
            store::count_deduplicated(conn!(w), source.id).await?;
        }
        self.finish(w).await
    }

    /// Fires an alert-resolve timer: the grace passed with every alert still resolved.
    pub(super) async fn fire_alert_resolve(&self, w: &mut Work, ticket_id: i64) -> Result<()> {
        let Some(group) = store::group_of_ticket(conn!(w), ticket_id).await? else {
            return Ok(());
        };
        let alerts = store::list_instances(conn!(w), group.id).await?;
        if alerts.iter().any(|a| a.status == alert::AlertStatus::Firing) {
            return Ok(()); // fired again meanwhile
        }
        let Some(source) = store::get_source(conn!(w), group.source_id).await? else {
            return Ok(());
        };
        w.source = Some(source.name.clone());
        w.monitor_resolve(ticket_id, &source.name, false).await
    }

    async fn begin_sources(&self, call: &Call) -> Result<Work> {
        let w = self.begin(call).await?;
        if !access::may(w.standing.who(false), Act::ManageSources) {
            return Err(AlertError::ManagersOnly.into());
        }
        Ok(w)
    }

    /// `/alerts source-add`: the reply shows the token once.
    pub async fn alerts_source_add(
        &self,
        call: &Call,
        name: &str,
        kind: SourceKind,
        grace: Option<&str>,
        hmac: bool,
    ) -> Result<Value> {
        let name = alert::source_name(name)?;
        let grace = match grace {
            Some(g) => alert::grace_seconds(g)?,
            None => alert::DEFAULT_GRACE_SECONDS,
        };
        if hmac && kind != SourceKind::Grafana {
            return Err(AlertError::HmacGrafanaOnly.into());
        }
        let token = new_secret()?;
        let secret = if hmac { Some(new_secret()?) } else { None };
        let mut w = self.begin_sources(call).await?;
        let hash = token_hash(&token);
        let new = store::NewSource {
            guild_id: w.guild_id,
            name: &name,
            kind,
            grace_seconds: grace,
            token_sha256: &hash,
            hmac_secret: secret.as_deref(),
            created_by: w.user_id,
            at: w.now,
        };
        if store::insert_source(conn!(w), &new).await?.is_none() {
            return Err(AlertError::Exists(name).into());
        }
        let detail = format!("{kind}, grace {grace}s{}", if hmac { ", signed" } else { "" });
        w.audit(None, "alert-source-add", None, Some(name.clone()), Some(detail))
            .await?;
        self.finish(w).await?;
        Ok(render::source_secrets(&name, kind, &token, secret.as_deref(), false))
    }

    /// `/alerts source-rotate`: a new token; the old one stops working with this commit.
    pub async fn alerts_source_rotate(&self, call: &Call, name: &str) -> Result<Value> {
        let token = new_secret()?;
        let mut w = self.begin_sources(call).await?;
        let source = self.source_named(&mut w, name).await?;
        store::set_source_token(conn!(w), source.id, &token_hash(&token)).await?;
        w.audit(None, "alert-source-rotate", None, Some(source.name.clone()), None)
            .await?;
        self.finish(w).await?;
        Ok(render::source_secrets(&source.name, source.kind(), &token, None, true))
    }

    /// `/alerts source-remove`.
    pub async fn alerts_source_remove(&self, call: &Call, name: &str) -> Result<String> {
        let mut w = self.begin_sources(call).await?;
        let source = self.source_named(&mut w, name).await?;
        store::delete_source(conn!(w), source.id).await?;
        w.audit(None, "alert-source-remove", Some(source.name.clone()), None, None)
            .await?;
        self.finish(w).await?;
        Ok(render::source_removed(&source.name))
    }

    /// `/alerts source-list`.
    pub async fn alerts_source_list(&self, call: &Call) -> Result<Value> {
        let mut w = self.begin_sources(call).await?;
        let sources = store::list_sources(conn!(w), w.guild_id).await?;
        self.finish(w).await?;
        Ok(render::source_list(&sources))
    }

    async fn source_named(&self, w: &mut Work, name: &str) -> Result<SourceRow> {
        let shown: String = name.trim().chars().take(40).collect();
        store::find_source(conn!(w), w.guild_id, name.trim())
            .await?
            .ok_or_else(|| AlertError::NoSuchSource(shown).into())
    }
}

impl Work {
    /// An Alertmanager or Grafana notification; `false` when it changed nothing.
    async fn on_notification(&mut self, source: &SourceRow, n: &Notification) -> Result<bool> {
        let incoming = alert::incoming(n);
        let latest = store::latest_group(conn!(self), source.id, &n.group_key).await?;
        if let Some(group) = latest.as_ref().filter(|g| g.state.is_open()) {
            let known = store::list_instances(conn!(self), group.id).await?;
            let delta = alert::apply(&known, &incoming);
            if delta.is_noop() {
                return Ok(false);
            }
            store::upsert_instances(conn!(self), group.id, &delta.upserts).await?;
            let mut t = store::get_ticket(conn!(self), group.ticket_id).await?;
            let status = alert::status_line(&delta.after);
            store::set_ticket_alerting(conn!(self), t.id, &source.name, Some(&status), None).await?;
            t.alert_status = Some(status.clone());
            self.refresh_card(&t).await?;
            if !delta.joined.is_empty() {
                let text = render::alerts_joined(ticket_ref(&t), &t.title, &delta.joined, &status);
                self.post_notice(&t, &text, Pings::none()).await?;
            }
            if delta.firing() > 0 {
                self.cancel_timer(resolve_key(t.id));
            } else if !delta.resolved.is_empty() {
                self.resolve_after_grace(&t, source).await?;
            }
            return Ok(true);
        }
        if !incoming.iter().any(|a| a.status == alert::AlertStatus::Firing) {
            return Ok(false); // nothing open and nothing firing: nothing to do
        }
        let previous = match &latest {
            Some(g) => Some((store::list_instances(conn!(self), g.id).await?, g.ticket_id)),
            None => None,
        };
        if previous.as_ref().is_some_and(|(p, _)| alert::is_stale(p, &incoming)) {
            return Ok(false); // a late copy of what the last incident already saw resolve
        }
        let mut raised = alert::raised(n, MAX_SUMMARY_CHARS, MAX_DETAILS_CHARS);
        if let Some((_, ticket)) = previous {
            let before = store::get_ticket(conn!(self), ticket).await?;
            let line = render::recurred(ticket_ref(&before));
            raised.details = alert::cut(&format!("{line}\n{}", raised.details), MAX_DETAILS_CHARS);
        }
        let delta = alert::apply(&[], &incoming);
        let status = alert::status_line(&delta.after);
        let t = self.raise(source, &raised, Some(&status)).await?;
        let group = store::insert_group(conn!(self), source.id, &n.group_key, t.id, self.now).await?;
        store::upsert_instances(conn!(self), group, &delta.upserts).await?;
        Ok(true)
    }

    /// An Events v2 event; `false` when it changed nothing.
    async fn on_event(&mut self, source: &SourceRow, e: &Event) -> Result<bool> {
        let key = e.dedup_key.clone().unwrap_or_default();
        let latest = store::latest_group(conn!(self), source.id, &key).await?;
        let open = latest.filter(|g| g.state.is_open());
        match (e.action, open) {
            (EventAction::Trigger, Some(_)) => Ok(false),
            (EventAction::Trigger, None) => {
                let raised = alert::raised_by_event(e, MAX_SUMMARY_CHARS, MAX_DETAILS_CHARS);
                let t = self.raise(source, &raised, None).await?;
                store::insert_group(conn!(self), source.id, &key, t.id, self.now).await?;
                Ok(true)
            }
            (EventAction::Acknowledge, Some(g)) => self.monitor_acknowledge(g.ticket_id, &source.name).await,
            (EventAction::Resolve, Some(g)) => {
                self.monitor_resolve(g.ticket_id, &source.name, true).await?;
                Ok(true)
            }
            // Accepted and ignored, as PagerDuty does: no open incident has that key.
            (_, None) => Ok(false),
        }
    }

    /// Opens the incident an alert raises: the same as `/incident new`, reported by the source.
    async fn raise(&mut self, source: &SourceRow, r: &alert::Raised, status: Option<&str>) -> Result<TicketRow> {
        let links = (!r.links.is_empty()).then(|| serde_json::to_string(&r.links).unwrap_or_default());
        let draft = Draft {
            title: &r.title,
            details: Some(&r.details).filter(|d| !d.is_empty()).map(String::as_str),
            service: r.service.as_deref(),
            priority: r.priority,
            impact: None,
            urgency: None,
            requester: 0,
            alert: Some((&source.name, status, links)),
        };
        let mut t = self.open_incident(&draft).await?.0;
        if let Some(name) = &r.alert_name {
            store::set_ticket_alert_name(conn!(self), t.id, name).await?;
            t.alert_name = Some(name.clone());
            // open_incident looked for a recurrence before the name was known.
            if t.service.is_none() {
                self.check_recurrence(&t).await?;
            }
        }
        Ok(t)
    }

    /// Arms the resolve after the source's grace (or resolves now, with no grace).
    async fn resolve_after_grace(&mut self, t: &TicketRow, source: &SourceRow) -> Result<()> {
        if source.grace_seconds == 0 {
            return self.monitor_resolve(t.id, &source.name, false).await;
        }
        let at = self.now + source.grace_seconds * 1000;
        self.set_timer(resolve_key(t.id), TimerKind::AlertResolve, Some(t.id), at, None);
        Ok(())
    }

    /// Acknowledges for monitoring (an Events v2 `acknowledge`): escalation stops as with the
    /// button. `false` if it was not waiting for an acknowledgement.
    async fn monitor_acknowledge(&mut self, ticket_id: i64, source: &str) -> Result<bool> {
        let mut t = store::get_ticket(conn!(self), ticket_id).await?;
        if t.state != TicketState::Triggered {
            return Ok(false);
        }
        let before = t.clone();
        self.change_state(&mut t, Action::Acknowledge, Some(format!("by monitoring ({source})")))
            .await?;
        self.responded(&mut t);
        let mut paging = self.paging(t.id).await?;
        paging.acknowledged_at = Some(self.now);
        paging.last_update_at = Some(self.now);
        self.write_paging(t.id, &paging);
        let text = render::monitor_acknowledged(ticket_ref(&t), &t.title, source);
        self.post_notice(&t, &text, Pings::none()).await?;
        self.save(&before, &mut t).await?;
        Ok(true)
    }

    /// Resolves for monitoring, whoever had it; nothing if it is no longer open.
    async fn monitor_resolve(&mut self, ticket_id: i64, source: &str, by_event: bool) -> Result<()> {
        let mut t = store::get_ticket(conn!(self), ticket_id).await?;
        if !t.state.is_open() {
            return Ok(());
        }
        self.cancel_timer(resolve_key(t.id));
        let before = t.clone();
        let note = render::monitor_resolution(source, by_event);
        self.change_state(&mut t, Action::Resolve, Some(note.clone())).await?;
        t.hold_reason = None;
        t.resolution_note = Some(note.clone());
        t.resolved_at = Some(self.now);
        let text = render::monitor_resolved(ticket_ref(&t), &t.title, &note, t.assignee_id);
        self.post_notice(&t, &text, Pings::none()).await?;
        self.save(&before, &mut t).await
    }
}
