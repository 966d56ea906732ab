//! Firing durable timers: SLA warnings and breach notices, and auto-close. Each timer fires in
//! its own transaction that deletes it, records what happened and queues the message, so a
//! timer fires once even across crashes and restarts.

use chrono::{DateTime, Utc};

use super::sla::warn_key;
use super::Work;
use super::{Desk, Result};
use crate::clock::from_millis;
use crate::domain::duration::human_seconds;
use crate::domain::sla::{target_seconds, ClockKind, WARN_PERCENT};
use crate::domain::timer::TimerKind;
use crate::domain::{Action, TicketState};
use crate::render::{self, ticket_ref, Pings};
use crate::store::{self, TimerRow};

impl Desk {
    /// The earliest due time of any timer.
    pub async fn next_timer_due(&self) -> Result<Option<DateTime<Utc>>> {
        let mut conn = self.pool.acquire().await?;
        Ok(store::next_timer_due(&mut conn).await?.map(from_millis))
    }

    /// Fires up to `limit` timers that are due now; returns how many were due.
    ///
    /// A ticket's timers fire one after the other, in due order (a warning before its breach);
    /// different tickets' fire side by side, so the writer's group commit serves many of them
    /// with one fsync — after downtime there can be thousands.
    pub async fn run_due_timers(&self, limit: i64) -> Result<usize> {
        let now = self.now_ms();
        let due = {
            let mut conn = self.pool.acquire().await?;
            store::list_due_timers(&mut conn, now, limit).await?
        };
        let n = due.len();
        let mut lanes: Vec<Vec<TimerRow>> = Vec::new();
        let mut lane_of: std::collections::HashMap<i64, usize> = std::collections::HashMap::new();
        for timer in due {
            match timer.ticket_id.and_then(|t| lane_of.get(&t).copied()) {
                Some(i) => lanes[i].push(timer),
                None => {
                    if let Some(t) = timer.ticket_id {
                        lane_of.insert(t, lanes.len());
                    }
                    lanes.push(vec![timer]);
                }
            }
        }
        let mut running = tokio::task::JoinSet::new();
        for lane in lanes {
            let desk = self.clone();
            running.spawn(async move {
                for timer in lane {
                    if let Err(e) = desk.fire(&timer).await {
                        // Leave it (and the rest of its ticket's) in place for the next pass.
                        tracing::error!(timer = %timer.key, error = %e, "timer failed");
                        return Err(e);
                    }
                    let lag_ms = u64::try_from(desk.now_ms() - timer.due_at).unwrap_or(0);
                    desk.metrics
                        .timer_fired(timer.kind.as_str(), std::time::Duration::from_millis(lag_ms));
                }
                Ok(())
            });
        }
        super::join_lanes(running, "timer").await.map(|()| n)
    }

    /// Fires one timer in the transaction that takes it, so it fires once: one function per kind.
    async fn fire(&self, timer: &TimerRow) -> Result<()> {
        let mut w = self.begin_system(timer.guild_id).await?;
        if !store::take_timer(&mut w.tx, timer.id).await? {
            return Ok(()); // fired or cancelled meanwhile
        }
        match (timer.kind, timer.ticket_id) {
            (TimerKind::SlaWarn | TimerKind::SlaBreach, _) => self.fire_sla_reminder(&mut w, timer).await?,
            (TimerKind::Autoclose, Some(ticket)) => self.fire_autoclose(&mut w, ticket).await?,
            (TimerKind::Escalate, Some(ticket)) => self.fire_escalation(&mut w, ticket).await?,
            (TimerKind::VoteDeadline, Some(ticket)) => self.fire_vote_deadline(&mut w, ticket).await?,
            (TimerKind::VoteRemind, Some(ticket)) => self.fire_vote_reminder(&mut w, ticket).await?,
            (TimerKind::AckTimeout, Some(ticket)) => self.fire_ack_timeout(&mut w, ticket).await?,
            (TimerKind::AlertResolve, Some(ticket)) => self.fire_alert_resolve(&mut w, ticket).await?,
            (TimerKind::KbReview, _) => self.fire_kb_review(&mut w, timer).await?,
            (kind, None) => tracing::error!(timer = %timer.key, %kind, "a ticket timer without a ticket"),
        }
        self.finish(w).await
    }

    /// An SLA warning (75 %) or breach notice (100 %), once per clock and cycle.
    async fn fire_sla_reminder(&self, w: &mut Work, timer: &TimerRow) -> Result<()> {
        let breach = timer.kind == TimerKind::SlaBreach;
        let clock_id = timer
            .payload
            .as_deref()
            .and_then(|p| p.parse::<i64>().ok())
            .unwrap_or(0);
        let Some(mut clock) = store::get_clock(&mut w.tx, clock_id).await? else {
            return Ok(());
        };
        if clock.stopped_at.is_some() || clock.paused_since.is_some() {
            return Ok(()); // stale: the clock moved on
        }
        let sent = if breach { clock.breached_at } else { clock.warned_at };
        if sent.is_some() {
            return Ok(()); // already sent once for this cycle
        }
        if breach {
            clock.breached_at = Some(w.now);
            // A breach also settles the warning: never warn after breaching.
            if clock.warned_at.is_none() {
                clock.warned_at = Some(w.now);
                w.cancel_timer(warn_key(clock.id));
            }
        } else {
            clock.warned_at = Some(w.now);
        }
        store::update_clock(&mut w.tx, &clock).await?;
        let t = store::get_ticket(&mut w.tx, clock.ticket_id).await?;
        let kind = ClockKind::parse(&clock.clock).unwrap_or(ClockKind::Resolution);
        let action = if breach { "sla-breach" } else { "sla-warning" };
        w.audit(
            Some(t.id),
            action,
            None,
            Some(kind.as_str().into()),
            Some(clock.target.clone()),
        )
        .await?;
        let cal = w.calendar().await?;
        let id = ticket_ref(&t);
        let due = clock.due_at.map(render::due).unwrap_or_default();
        let text = if breach {
            format!(
                "🚨 {id} “{}” breached its {} target ({}), due {due}.",
                t.title,
                kind.as_str(),
                clock.target
            )
        } else {
            let target = crate::domain::SlaDuration::parse(&clock.target)
                .map(|d| target_seconds(d, &cal))
                .unwrap_or(0);
            let left = human_seconds(target - target * WARN_PERCENT / 100);
            format!(
                "⏰ {id} “{}”: {WARN_PERCENT} % of its {} target ({}) is used — {left} left, due {due}.",
                t.title,
                kind.as_str(),
                clock.target
            )
        };
        let pings = match (t.assignee_id, w.settings.agent_role_id) {
            (Some(a), _) => Pings::user(a),
            (None, Some(role)) => Pings::role(role),
            (None, None) => Pings::none(),
        };
        w.post_actionable_notice(&t, &text, pings).await?;
        tracing::info!(ticket = %id, clock = kind.as_str(), breach, "SLA reminder");
        Ok(())
    }

    /// A resolved ticket that nobody reopened closes itself; the requester is told.
    async fn fire_autoclose(&self, w: &mut Work, ticket_id: i64) -> Result<()> {
        let mut t = store::get_ticket(&mut w.tx, ticket_id).await?;
        let state = TicketState::parse(&t.state).unwrap_or(TicketState::New);
        if state != TicketState::Resolved {
            return Ok(());
        }
        let before = t.clone();
        let why = format!("closed automatically after {}", w.settings.autoclose_after);
        w.change_state(&mut t, Action::Close, Some(why)).await?;
        t.closed_at = Some(w.now);
        w.save(&before, &mut t).await?;
        let id = ticket_ref(&t);
        let text = format!(
            "Your ticket {id} “{}” was closed automatically {} after it was resolved. Raise a new request if you still need help.",
            t.title, w.settings.autoclose_after
        );
        let requester = t.requester_id;
        w.dm(&t, requester, &text).await?;
        tracing::info!(ticket = %id, "auto-closed");
        Ok(())
    }
}
