//! SLA clocks of tickets: started with the ticket, stopped, paused, re-targeted and restarted as
//! the ticket changes, with their reminder timers kept in step — all inside the ticket's
//! transaction. Also `/sla show` and the `/setup` commands for hours, holidays, targets and
//! auto-close.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{lifecycle, Call, Desk, Result, Work};
use crate::clock::{from_millis, to_millis};
use crate::domain::calendar::{self, Calendar};
use crate::domain::sla::{self, calendar_for, target_seconds, ClockKind, SlaClock, Targets};
use crate::domain::text;
use crate::domain::timer::TimerKind;
use crate::domain::{Priority, SlaDuration, TicketKind, TicketState};
use crate::render;
use crate::render::refusals::SetupError;
use crate::store::{self, ClockRow, SettingsRow, TicketRow};

/// Builds a guild's calendar from its settings and holidays.
pub(super) fn calendar_of(settings: &SettingsRow, holidays: &[(String, String)]) -> Calendar {
    let days = holidays.iter().filter_map(|(d, _)| calendar::parse_date(d).ok());
    Calendar::new(
        &settings.timezone,
        &settings.work_days,
        &settings.work_start,
        &settings.work_end,
        days,
    )
    .unwrap_or_else(|_| Calendar::default_business())
}

fn to_domain(r: &ClockRow) -> SlaClock {
    SlaClock {
        started_at: from_millis(r.started_at),
        target: r.target,
        paused_seconds: r.paused_seconds,
        paused_since: r.paused_since.map(from_millis),
        stopped_at: r.stopped_at.map(from_millis),
    }
}

fn write_back(r: &mut ClockRow, c: &SlaClock, cal: &Calendar) {
    r.target = c.target;
    r.paused_seconds = c.paused_seconds;
    r.paused_since = c.paused_since.map(to_millis);
    r.stopped_at = c.stopped_at.map(to_millis);
    r.due_at = c.due_at(cal).map(to_millis);
}

/// The timer keys of a clock.
pub(super) fn warn_key(clock_id: i64) -> String {
    format!("sla:{clock_id}:warn")
}
pub(super) fn breach_key(clock_id: i64) -> String {
    format!("sla:{clock_id}:breach")
}
pub(super) fn autoclose_key(ticket_id: i64) -> String {
    format!("autoclose:{ticket_id}")
}

impl Work {
    /// The guild's business calendar (loaded once per transaction).
    pub(super) async fn calendar(&mut self) -> Result<Calendar> {
        if self.calendar.is_none() {
            self.calendar = Some(calendar_of(&self.config.settings, &self.config.holidays));
        }
        Ok(self.calendar.clone().unwrap_or_else(Calendar::default_business))
    }

    /// The targets in force for a kind and priority (the guild's, else SPEC's defaults).
    pub(super) async fn targets(&mut self, kind: TicketKind, p: Priority) -> Result<Targets> {
        let custom = self
            .config
            .sla_targets
            .iter()
            .find(|(k, n, ..)| k == kind.as_str() && *n == i64::from(p.number()));
        let defaults = sla::default_targets(kind, p);
        Ok(match custom {
            Some((_, _, respond, resolve)) => Targets {
                respond: SlaDuration::parse(respond).unwrap_or(defaults.respond),
                resolve: SlaDuration::parse(resolve).unwrap_or(defaults.resolve),
            },
            None => defaults,
        })
    }

    /// Keeps a clock's reminder timers in step with it: a warning timer until warned, a breach
    /// timer until breached, none while paused or stopped.
    async fn sync_timers(&mut self, r: &ClockRow, c: &SlaClock, cal: &Calendar) -> Result<()> {
        let plans = [
            (warn_key(r.id), TimerKind::SlaWarn, c.warn_at(cal), r.warned_at),
            (breach_key(r.id), TimerKind::SlaBreach, c.due_at(cal), r.breached_at),
        ];
        for (key, kind, at, sent) in plans {
            match (at, sent) {
                (Some(at), None) => self.set_timer(key, kind, Some(r.ticket_id), to_millis(at), Some(r.id.to_string())),
                _ => self.cancel_timer(key),
            }
        }
        Ok(())
    }

    /// A new clock of `kind` for `t`, as stored and as the domain sees it.
    fn new_clock(
        &self,
        ticket_id: i64,
        kind: ClockKind,
        cycle: i64,
        target: SlaDuration,
        cal: &Calendar,
    ) -> (ClockRow, SlaClock) {
        let c = SlaClock::start(from_millis(self.now), target);
        let mut row = ClockRow {
            id: 0,
            guild_id: self.guild_id,
            ticket_id,
            clock: kind,
            cycle,
            target,
            started_at: self.now,
            paused_seconds: 0,
            paused_since: None,
            stopped_at: None,
            due_at: None,
            warned_at: None,
            breached_at: None,
        };
        write_back(&mut row, &c, cal);
        (row, c)
    }

    async fn start_clock(&mut self, t: &TicketRow, kind: ClockKind, cycle: i64, target: SlaDuration) -> Result<()> {
        let cal = self.calendar().await?;
        let (mut row, c) = self.new_clock(t.id, kind, cycle, target, &cal);
        row.id = self.next_clock_id().await?;
        store::insert_clock_row(conn!(self), &row).await?;
        self.sync_timers(&row, &c, &cal).await
    }

    /// Stores a new request or incident with both its clocks started, in one round trip to
    /// SQLite, and schedules the clocks' reminders.
    pub(super) async fn open_ticket(&mut self, new: &store::NewTicket<'_>) -> Result<TicketRow> {
        let (kind, p) = (new.kind, new.priority);
        let targets = self.targets(kind, p).await?;
        let cal = self.calendar().await?;
        let started: Vec<(ClockRow, SlaClock)> = ClockKind::ALL
            .iter()
            .map(|kind| self.new_clock(0, *kind, 1, targets.of(*kind), &cal))
            .collect();
        let rows = started.iter().map(|(r, _)| r.clone()).collect();
        let (t, rows) = self.create_ticket(new, rows).await?;
        for (row, (_, c)) in rows.iter().zip(&started) {
            self.sync_timers(row, c, &cal).await?;
        }
        Ok(t)
    }

    /// Applies `change` to the ticket's current clocks of `which` and re-syncs their timers.
    async fn with_clocks(
        &mut self,
        t: &TicketRow,
        which: &[ClockKind],
        change: impl Fn(&mut SlaClock, &Calendar, DateTime<Utc>),
    ) -> Result<()> {
        let cal = self.calendar().await?;
        let now = from_millis(self.now);
        for mut row in store::list_current_clocks(conn!(self), t.id).await? {
            if !which.contains(&row.clock) {
                continue;
            }
            let mut c = to_domain(&row);
            change(&mut c, &cal, now);
            write_back(&mut row, &c, &cal);
            store::update_clock(conn!(self), &row).await?;
            self.sync_timers(&row, &c, &cal).await?;
        }
        Ok(())
    }

    /// Moves the clocks (and auto-close) along with a ticket's change from `before` to `t`.
    pub(super) async fn follow_clocks(&mut self, before: &TicketRow, t: &TicketRow) -> Result<()> {
        use ClockKind::{Resolution, Response};
        if matches!(t.kind, TicketKind::Problem | TicketKind::Change) {
            return Ok(()); // no service levels: problems are not what users wait on, changes have windows
        }
        if before.first_response_at.is_none() && t.first_response_at.is_some() {
            self.with_clocks(t, &[Response], |c, cal, now| c.stop(cal, now)).await?;
        }
        let (from, to) = (lifecycle(before)?, lifecycle(t)?);
        if from != to {
            match to {
                TicketState::OnHold => self.with_clocks(t, &[Resolution], |c, _, now| c.pause(now)).await?,
                TicketState::Resolved => {
                    self.with_clocks(t, &[Response, Resolution], |c, cal, now| c.stop(cal, now))
                        .await?;
                    self.schedule_autoclose(t).await?;
                }
                TicketState::Closed | TicketState::Cancelled => {
                    self.with_clocks(t, &[Response, Resolution], |c, cal, now| c.stop(cal, now))
                        .await?;
                    self.cancel_timer(autoclose_key(t.id));
                }
                _ if from == TicketState::OnHold => {
                    self.with_clocks(t, &[Resolution], |c, cal, now| c.resume(cal, now))
                        .await?;
                }
                _ if from == TicketState::Resolved => {
                    // Reopened: a new resolution cycle with the full target.
                    self.cancel_timer(autoclose_key(t.id));
                    let p = t.priority;
                    let targets = self.targets(t.kind, p).await?;
                    let cycle = store::list_current_clocks(conn!(self), t.id)
                        .await?
                        .iter()
                        .filter(|c| c.clock == Resolution)
                        .map(|c| c.cycle)
                        .max()
                        .unwrap_or(0);
                    self.start_clock(t, Resolution, cycle + 1, targets.resolve).await?;
                }
                _ => {}
            }
        }
        if before.priority != t.priority {
            // Re-target the running clocks from when they started.
            let p = t.priority;
            let targets = self.targets(t.kind, p).await?;
            self.retarget(t, targets).await?;
        }
        Ok(())
    }

    async fn retarget(&mut self, t: &TicketRow, targets: Targets) -> Result<()> {
        let cal = self.calendar().await?;
        for mut row in store::list_current_clocks(conn!(self), t.id).await? {
            let kind = row.clock;
            let mut c = to_domain(&row);
            if c.stopped_at.is_some() {
                continue;
            }
            c.target = targets.of(kind);
            write_back(&mut row, &c, &cal);
            store::update_clock(conn!(self), &row).await?;
            self.sync_timers(&row, &c, &cal).await?;
        }
        Ok(())
    }

    async fn schedule_autoclose(&mut self, t: &TicketRow) -> Result<()> {
        let after = SlaDuration::parse(&self.config.settings.autoclose_after)
            .unwrap_or(SlaDuration::new(7, crate::domain::duration::Unit::Days));
        let cal = self.calendar().await?;
        let due = calendar_for(after, &cal).add_business_seconds(from_millis(self.now), target_seconds(after, &cal));
        self.set_timer(
            autoclose_key(t.id),
            TimerKind::Autoclose,
            Some(t.id),
            to_millis(due),
            None,
        );
        Ok(())
    }
}

/// One clock as a field of `/ticket show` and `/sla show`.
fn clock_line(r: &ClockRow, cal: &Calendar, now: DateTime<Utc>) -> (String, String) {
    let c = to_domain(r);
    render::clock_line(r.clock, r.cycle, c.target, &c.status(cal, now))
}

impl Desk {
    /// The SLA lines of a ticket for `/ticket show` and `/sla show`.
    pub(super) async fn sla_lines(
        &self,
        conn: &mut sqlx::SqliteConnection,
        t: &TicketRow,
    ) -> Result<Vec<(String, String)>> {
        let settings = store::get_settings(conn, t.guild_id).await?;
        let holidays = store::list_holidays(conn, t.guild_id).await?;
        let cal = calendar_of(&settings, &holidays);
        let now = self.clock.now();
        Ok(store::list_current_clocks(conn, t.id)
            .await?
            .iter()
            .map(|r| clock_line(r, &cal, now))
            .collect())
    }

    /// `/sla show id`.
    pub async fn sla_show(&self, call: &Call, id: &str) -> Result<Value> {
        let (t, _, mut conn) = self.read_visible(call, id).await?;
        let lines = self.sla_lines(&mut conn, &t).await?;
        Ok(render::sla_details(&t, &lines))
    }

    /// `/setup hours timezone days start end`.
    pub async fn setup_hours(&self, call: &Call, tz: &str, days: &str, start: &str, end: &str) -> Result<String> {
        let cal = Calendar::new(tz, days, start, end, [])?;
        let days_text = calendar::days_text(&calendar::parse_days(days)?);
        let mut w = self.begin(call).await?;
        super::setup::require_admin(w.standing)?;
        let old = format!(
            "{} {}–{} ({})",
            w.config.settings.work_days,
            w.config.settings.work_start,
            w.config.settings.work_end,
            w.config.settings.timezone
        );
        w.configuring();
        store::set_hours(
            conn!(w),
            w.guild_id,
            cal.tz().name(),
            &days_text,
            start.trim(),
            end.trim(),
            w.now,
        )
        .await?;
        w.audit(
            None,
            "setting",
            Some(old),
            Some(cal.to_string()),
            Some("business hours".into()),
        )
        .await?;
        self.finish(w).await?;
        Ok(render::hours_set(&cal.to_string()))
    }

    /// `/setup holiday date name`.
    pub async fn setup_holiday(&self, call: &Call, date: &str, name: &str) -> Result<String> {
        let day = calendar::parse_date(date)?;
        let name = text::required("holiday name", name, text::MAX_ITEM_NAME_CHARS)?;
        let mut w = self.begin(call).await?;
        super::setup::require_admin(w.standing)?;
        let day_text = day.format("%Y-%m-%d").to_string();
        w.configuring();
        store::upsert_holiday(conn!(w), w.guild_id, &day_text, &name).await?;
        w.audit(None, "holiday", None, Some(day_text.clone()), Some(name.clone()))
            .await?;
        self.finish(w).await?;
        Ok(render::holiday_set(&day_text, &name))
    }

    /// `/setup sla kind priority respond resolve`.
    pub async fn setup_sla(
        &self,
        call: &Call,
        kind: TicketKind,
        p: Priority,
        respond: &str,
        resolve: &str,
    ) -> Result<String> {
        if kind == TicketKind::Change {
            return Err(SetupError::NoChangeTargets.into());
        }
        let respond = SlaDuration::parse(respond)?;
        let resolve = SlaDuration::parse(resolve)?;
        let mut w = self.begin(call).await?;
        super::setup::require_admin(w.standing)?;
        let old = w.targets(kind, p).await?;
        w.configuring();
        store::set_sla_target(
            conn!(w),
            w.guild_id,
            kind.as_str(),
            i64::from(p.number()),
            &respond.to_string(),
            &resolve.to_string(),
        )
        .await?;
        w.audit(
            None,
            "sla-target",
            Some(format!("{kind} {p}: respond {} resolve {}", old.respond, old.resolve)),
            Some(format!("{kind} {p}: respond {respond} resolve {resolve}")),
            None,
        )
        .await?;
        self.finish(w).await?;
        Ok(render::targets_set(kind, p, respond, resolve))
    }

    /// `/setup autoclose after`.
    pub async fn setup_autoclose(&self, call: &Call, after: &str) -> Result<String> {
        let after = SlaDuration::parse(after)?;
        let mut w = self.begin(call).await?;
        super::setup::require_admin(w.standing)?;
        let old = w.config.settings.autoclose_after.clone();
        w.configuring();
        store::set_autoclose(conn!(w), w.guild_id, &after.to_string(), w.now).await?;
        w.audit(
            None,
            "setting",
            Some(old),
            Some(after.to_string()),
            Some("autoclose_after".into()),
        )
        .await?;
        self.finish(w).await?;
        Ok(render::autoclose_set(after))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timer_keys_are_unique_per_purpose() {
        assert_ne!(warn_key(1), breach_key(1));
        assert_ne!(breach_key(1), breach_key(2));
        assert_eq!(autoclose_key(7), "autoclose:7");
    }
}
