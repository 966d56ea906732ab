//! Firing durable timers: SLA warnings and breach notices, and auto-close. Each timer fires in
//! its own transaction that deletes it, records what happened and queues the message, so a
//! timer fires once even across crashes and restarts.

use chrono::{DateTime, Utc};

use super::sla::warn_key;
use super::Work;
use super::{Desk, Result};
use crate::clock::from_millis;
use crate::domain::sla::{target_seconds, WARN_PERCENT};
use crate::domain::timer::TimerKind;
use crate::domain::{Action, TicketState};
use crate::render::{self, ticket_ref, Pings};
use crate::store::{self, ClockRow, TimerRow};

/// Fewest SLA reminders of a guild in one pass that fire as a batch.
const MIN_BATCH: usize = 2;

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
        // Round after round, each lane's next SLA reminder fires in its guild's batch; what is
        // left (other kinds, lone reminders, failed batches) fires lane by lane below.
        while self.fire_reminder_batches(&mut lanes).await > 0 {}
        let mut running = tokio::task::JoinSet::new();
        for lane in lanes.into_iter().filter(|l| !l.is_empty()) {
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

    /// Takes each lane's first timer when it is an SLA reminder and fires those of a guild
    /// together (see [`Desk::fire_sla_batch`]): after downtime, or a morning when many tickets
    /// breach at once, hundreds of reminders cost a handful of queries instead of six each. A
    /// batch that fails gives its timers back to their lanes, to fire one by one. Returns how
    /// many fired.
    async fn fire_reminder_batches(&self, lanes: &mut [Vec<TimerRow>]) -> usize {
        let mut fired = 0;
        let mut by_guild: std::collections::BTreeMap<i64, Vec<usize>> = std::collections::BTreeMap::new();
        for (i, lane) in lanes.iter().enumerate() {
            if matches!(
                lane.first().map(|t| t.kind),
                Some(TimerKind::SlaWarn | TimerKind::SlaBreach)
            ) {
                by_guild.entry(lane[0].guild_id).or_default().push(i);
            }
        }
        for (guild, members) in by_guild.into_iter().filter(|(_, m)| m.len() >= MIN_BATCH) {
            for chunk in members.chunks(store::ROWS_PER_INSERT) {
                let heads: Vec<TimerRow> = chunk.iter().map(|i| lanes[*i][0].clone()).collect();
                match self.fire_sla_batch(guild, &heads).await {
                    Ok(()) => {
                        fired += heads.len();
                        for (i, timer) in chunk.iter().zip(&heads) {
                            lanes[*i].remove(0);
                            let lag_ms = u64::try_from(self.now_ms() - timer.due_at).unwrap_or(0);
                            self.metrics
                                .timer_fired(timer.kind.as_str(), std::time::Duration::from_millis(lag_ms));
                        }
                    }
                    Err(e) => {
                        tracing::warn!(guild, error = %e, "a batch of SLA reminders failed; firing them one by one")
                    }
                }
            }
        }
        fired
    }

    /// Fires one timer in the transaction that takes it, so it fires once: one function per kind.
    async fn fire(&self, timer: &TimerRow) -> Result<()> {
        let mut w = self.begin_system(timer.guild_id).await?;
        if !store::take_timer(conn!(w), timer.id).await? {
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
        let Some(clock) = store::get_clock(conn!(w), clock_of(timer)).await? else {
            return Ok(());
        };
        let Some(clock) = mark_reminder(w, timer, clock) else {
            return Ok(());
        };
        store::update_clock(conn!(w), &clock).await?;
        let t = store::get_ticket(conn!(w), clock.ticket_id).await?;
        self.announce_reminder(w, timer.kind == TimerKind::SlaBreach, &clock, &t)
            .await
    }

    /// Several tickets' SLA reminders of one guild, fired in one transaction with a handful of
    /// queries for the lot: taken together, their clocks and tickets read together, the clocks
    /// marked sent together (only the two columns that change), the notices with the other
    /// effects. `timers` hold at most one per ticket (a ticket's next reminder waits for this one).
    async fn fire_sla_batch(&self, guild_id: i64, timers: &[TimerRow]) -> Result<()> {
        let mut w = self.begin_system(guild_id).await?;
        let ids: Vec<i64> = timers.iter().map(|t| t.id).collect();
        let taken: std::collections::HashSet<i64> = store::take_timers(conn!(w), &ids).await?.into_iter().collect();
        let timers: Vec<&TimerRow> = timers.iter().filter(|t| taken.contains(&t.id)).collect();
        let clock_ids: Vec<i64> = timers.iter().map(|t| clock_of(t)).collect();
        let mut clocks: std::collections::HashMap<i64, ClockRow> = store::get_clocks(conn!(w), &clock_ids)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        let mut marked = Vec::new();
        for timer in timers {
            let Some(clock) = clocks.remove(&clock_of(timer)) else {
                continue;
            };
            if let Some(clock) = mark_reminder(&mut w, timer, clock) {
                marked.push((timer.kind == TimerKind::SlaBreach, clock));
            }
        }
        let clocks_where =
            |breach: bool| -> Vec<i64> { marked.iter().filter(|(b, _)| *b == breach).map(|(_, c)| c.id).collect() };
        store::mark_reminders(conn!(w), w.now, &clocks_where(false), &clocks_where(true)).await?;
        let ticket_ids: Vec<i64> = marked.iter().map(|(_, c)| c.ticket_id).collect();
        let tickets: std::collections::HashMap<i64, store::TicketRow> = store::get_tickets(conn!(w), &ticket_ids)
            .await?
            .into_iter()
            .map(|t| (t.id, t))
            .collect();
        for (breach, clock) in &marked {
            if let Some(t) = tickets.get(&clock.ticket_id) {
                self.announce_reminder(&mut w, *breach, clock, t).await?;
            }
        }
        self.finish(w).await?;
        tracing::debug!(
            guild = guild_id,
            reminders = marked.len(),
            "SLA reminders fired as one batch"
        );
        Ok(())
    }

    /// Records and posts an SLA reminder of `clock` (already marked sent) on `t`.
    async fn announce_reminder(
        &self,
        w: &mut Work,
        breach: bool,
        clock: &ClockRow,
        t: &store::TicketRow,
    ) -> Result<()> {
        let kind = clock.clock;
        let action = if breach { "sla-breach" } else { "sla-warning" };
        w.audit(
            Some(t.id),
            action,
            None,
            Some(kind.as_str().into()),
            Some(clock.target.to_string()),
        )
        .await?;
        let cal = w.calendar().await?;
        let id = ticket_ref(t);
        let text = if breach {
            render::breach_notice(id, &t.title, kind, clock.target, clock.due_at)
        } else {
            let target = target_seconds(clock.target, &cal);
            let left = target - target * WARN_PERCENT / 100;
            render::warning_notice(id, &t.title, kind, clock.target, left, clock.due_at)
        };
        let pings = match (t.assignee_id, w.config.settings.agent_role_id) {
            (Some(a), _) => Pings::user(a),
            (None, Some(role)) => Pings::role(role),
            (None, None) => Pings::none(),
        };
        w.post_actionable_notice(t, &text, pings).await?;
        tracing::info!(ticket = %id, clock = kind.as_str(), breach, "SLA reminder");
        Ok(())
    }

    /// A resolved ticket that nobody reopened closes itself; the requester is told.
    async fn fire_autoclose(&self, w: &mut Work, ticket_id: i64) -> Result<()> {
        let mut t = store::get_ticket(conn!(w), ticket_id).await?;
        if t.state != TicketState::Resolved {
            return Ok(());
        }
        let before = t.clone();
        let why = format!("closed automatically after {}", w.config.settings.autoclose_after);
        w.change_state(&mut t, Action::Close, Some(why)).await?;
        t.closed_at = Some(w.now);
        w.save(&before, &mut t).await?;
        let id = ticket_ref(&t);
        let text = render::autoclosed_dm(id, &t.title, &w.config.settings.autoclose_after);
        let requester = t.requester_id;
        w.dm(&t, requester, &text).await?;
        tracing::info!(ticket = %id, "auto-closed");
        Ok(())
    }
}

/// The clock an SLA reminder timer is for (its payload).
fn clock_of(timer: &TimerRow) -> i64 {
    timer
        .payload
        .as_deref()
        .and_then(|p| p.parse::<i64>().ok())
        .unwrap_or(0)
}

/// Marks `clock` as having sent the reminder `timer` is for, or `None` when that is stale (the
/// clock stopped or paused) or was sent already for this cycle.
fn mark_reminder(w: &mut Work, timer: &TimerRow, mut clock: ClockRow) -> Option<ClockRow> {
    let breach = timer.kind == TimerKind::SlaBreach;
    if clock.stopped_at.is_some() || clock.paused_since.is_some() {
        return None; // stale: the clock moved on
    }
    let sent = if breach { clock.breached_at } else { clock.warned_at };
    if sent.is_some() {
        return None; // already sent once for this cycle
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
    Some(clock)
}
