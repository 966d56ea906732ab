//! Change enablement: `/change new|approve|reject|start|complete|cancel|blackout|calendar`, the
//! CAB vote (buttons, rules, deadline) and `/setup cab`.
//!
//! Eligible voters are fixed when the vote opens: the CAB role's members (the gateway reads them
//! from Discord) minus the change's author. Every ballot is an audit row; the decision is final.

use chrono::Duration;
use serde_json::Value;

use super::{Call, Desk, Result, ServiceError, Work};
use crate::clock::{from_millis, to_millis};
use crate::domain::access::{self, Act, Who};
use crate::domain::calendar;
use crate::domain::change::{ChangeAction, ChangeState, ChangeType, Outcome as ChangeOutcome};
use crate::domain::sla::{calendar_for, target_seconds};
use crate::domain::text::{self, MAX_DETAILS_CHARS, MAX_NOTE_CHARS, MAX_REASON_CHARS, MAX_SUMMARY_CHARS};
use crate::domain::timer::TimerKind;
use crate::domain::vote::{default_rule, Ballot, CabRule, Mode, Outcome, Tally};
use crate::domain::{Level, Priority, SlaDuration, Stage, TicketKind, TicketRef};
use crate::render::refusals::ChangeError;
use crate::render::{self, ticket_ref, Pings};
use crate::store::{self, ChangeRow, NewTicket, TicketRow};

/// What `/change new` asks for.
#[derive(Debug, Clone)]
pub struct NewChange<'a> {
    /// Title.
    pub title: &'a str,
    /// standard / normal / emergency.
    pub change_type: ChangeType,
    /// low / medium / high.
    pub risk: Level,
    /// `YYYY-MM-DD HH:MM` in the guild's time zone.
    pub start: &'a str,
    /// `YYYY-MM-DD HH:MM`.
    pub end: &'a str,
    /// Implementation plan.
    pub plan: &'a str,
    /// Backout plan.
    pub backout: &'a str,
}

fn vote_key(ticket: i64) -> String {
    format!("vote:{ticket}")
}

fn vote_reminder_key(ticket: i64) -> String {
    format!("voteremind:{ticket}")
}

/// Share of the voting window after which those who have not voted get a DM.
const REMIND_AT_PERCENT: i64 = 75;

/// A change's state; any other kind here is the desk's bug, never a fallback.
fn cstate(t: &TicketRow) -> Result<ChangeState> {
    t.state
        .change()
        .ok_or_else(|| ServiceError::broken(format!("ticket {} is not a change ({})", t.id, t.state)))
}

impl Work {
    pub(super) async fn cab_rule(&mut self, t: ChangeType) -> Result<CabRule> {
        let d = default_rule(t);
        Ok(
            match store::get_cab_rule(conn!(self), self.guild_id, t.as_str()).await? {
                Some((mode, count, voting)) => CabRule {
                    mode: Mode::from_parts(&mode, u32::try_from(count).unwrap_or(1)).unwrap_or(d.mode),
                    voting: SlaDuration::parse(&voting).unwrap_or(d.voting),
                },
                None => d,
            },
        )
    }

    /// The conflicts of a window: overlapping scheduled/implementing changes and blackouts.
    async fn conflicts(&mut self, start: i64, end: i64, except: i64) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for (n, title, s, e) in store::list_overlapping_changes(conn!(self), self.guild_id, start, end).await? {
            if n != except {
                out.push(render::overlap_conflict(n, &title, s, e));
            }
        }
        for (s, e, reason) in store::list_blackouts(conn!(self), self.guild_id, start, end).await? {
            out.push(render::blackout_conflict(&reason, s, e));
        }
        Ok(out)
    }

    async fn move_change(&mut self, t: &mut TicketRow, action: ChangeAction, detail: Option<String>) -> Result<()> {
        let from = cstate(t)?;
        let id = ticket_ref(t);
        let to = from.next(action).ok_or(ChangeError::NotNow {
            id,
            state: from,
            action,
        })?;
        t.updated_at = self.now;
        self.move_to(t, Stage::Change(to), detail).await
    }

    async fn post_cab(&mut self, t: &TicketRow, body: Value, is_card: bool) -> Result<()> {
        if let Some(channel) = self.config.settings.cab_channel_id {
            self.post(channel, t, &body, is_card).await?;
        }
        Ok(())
    }

    /// Settles a vote: approved → scheduled, or rejected / expired; posts and tells the author.
    async fn settle(&mut self, t: &mut TicketRow, outcome: Outcome, expired: bool) -> Result<()> {
        let id = ticket_ref(t);
        self.cancel_timer(vote_key(t.id));
        self.cancel_timer(vote_reminder_key(t.id));
        let text = match (outcome, expired) {
            (_, true) => {
                self.move_change(t, ChangeAction::Expire, Some("the vote deadline passed".into()))
                    .await?;
                t.closed_at = Some(self.now); // final, like completed or cancelled
                render::vote_settled(id, &t.title, true, false)
            }
            (Outcome::Approved, _) => {
                self.move_change(t, ChangeAction::Approve, None).await?;
                self.move_change(t, ChangeAction::Schedule, None).await?;
                render::vote_settled(id, &t.title, false, true)
            }
            _ => {
                self.move_change(t, ChangeAction::Reject, None).await?;
                t.closed_at = Some(self.now);
                render::vote_settled(id, &t.title, false, false)
            }
        };
        self.post_cab(t, render::notice(&text, &Pings::none()), false).await?;
        let author = t.requester_id;
        self.dm(t, author, &text).await?;
        self.refresh_card(t).await
    }
}

impl Desk {
    /// `/change new`. `cab_members` are the CAB role's members as Discord listed them.
    pub async fn change_new(&self, call: &Call, c: NewChange<'_>, cab_members: &[i64]) -> Result<String> {
        let title = text::required("title", c.title, MAX_SUMMARY_CHARS)?;
        let plan = text::required("plan", c.plan, MAX_DETAILS_CHARS)?;
        let backout = text::required("backout plan", c.backout, MAX_DETAILS_CHARS)?;
        if c.change_type == ChangeType::Standard && c.risk != Level::Low {
            return Err(ChangeError::StandardNotLow.into());
        }
        let mut w = self.begin(call).await?;
        let (s, e) = w.change_window(c.start, c.end).await?;
        let rule = w.cab_rule(c.change_type).await?;
        let voters: Vec<i64> = cab_members.iter().copied().filter(|u| *u != w.user_id).collect();
        if c.change_type != ChangeType::Standard {
            if w.config.settings.cab_role_id.is_none() {
                return Err(ChangeError::NoCabRole.into());
            }
            let required = rule.mode.required(voters.len());
            if voters.is_empty() || required > voters.len() {
                return Err(ChangeError::TooFewVoters {
                    rule: rule.mode,
                    needed: required.max(1),
                    has: voters.len(),
                }
                .into());
            }
        }
        let mut t = w
            .create_ticket(
                &NewTicket {
                    guild_id: w.guild_id,
                    kind: TicketKind::Change,
                    title: &title,
                    details: Some(&plan),
                    catalog_item: None,
                    service: None,
                    state: Stage::Change(ChangeState::New),
                    priority: Priority::P3,
                    impact: None,
                    urgency: None,
                    requester_id: w.user_id,
                    at: w.now,
                    card_channel_id: None,
                },
                vec![],
            )
            .await?
            .0;
        w.audit(
            Some(t.id),
            "created",
            None,
            Some(t.state.to_string()),
            Some(title.clone()),
        )
        .await?;
        let conflicts = w.conflicts(s, e, t.number).await?;
        let change = ChangeRow {
            change_type: Some(c.change_type.as_str().into()),
            risk: Some(c.risk.as_str().into()),
            window_start: Some(s),
            window_end: Some(e),
            plan: Some(plan),
            backout: Some(backout),
            conflicts: (!conflicts.is_empty()).then(|| conflicts.join("\n")),
            ..ChangeRow::default()
        };
        let flag = render::conflicts_flag(&conflicts);
        let message = if c.change_type == ChangeType::Standard {
            w.pre_approve(&mut t, &change, &flag).await?
        } else {
            w.open_vote(&mut t, change, &voters, &rule, &flag).await?
        };
        store::update_ticket(conn!(w), &t).await?;
        self.finish(w).await?;
        Ok(message)
    }

    async fn load_change(&self, w: &mut Work, id: &str) -> Result<TicketRow> {
        let r = TicketRef::parse_as(id, TicketKind::Change)?;
        store::find_ticket(conn!(w), w.guild_id, TicketKind::Change.as_str(), i64::from(r.number))
            .await?
            .ok_or_else(|| ChangeError::NotInServer(r).into())
    }

    /// `/change approve|reject` and the Approve / Reject buttons.
    pub async fn change_vote(&self, call: &Call, id: &str, approve: bool, reason: Option<&str>) -> Result<String> {
        let reason = text::optional("reason", reason, MAX_REASON_CHARS)?;
        if !approve && reason.is_none() {
            return Err(ChangeError::RejectNeedsReason.into());
        }
        let mut w = self.begin(call).await?;
        let mut t = self.load_change(&mut w, id).await?;
        let id = ticket_ref(&t);
        if t.requester_id == w.user_id {
            return Err(ChangeError::OwnChange(id).into());
        }
        let action = if approve {
            ChangeAction::Approve
        } else {
            ChangeAction::Reject
        };
        if cstate(&t)? != ChangeState::Voting {
            return Err(ChangeError::NotNow {
                id,
                state: cstate(&t)?,
                action,
            }
            .into());
        }
        let voters = store::list_voters(conn!(w), t.id).await?;
        if !voters.contains(&w.user_id) {
            return Err(ChangeError::NotAVoter(id).into());
        }
        let ballot = if approve { "approve" } else { "reject" };
        store::upsert_vote(conn!(w), t.id, w.user_id, ballot, reason.as_deref(), w.now).await?;
        w.audit(Some(t.id), "vote", None, Some(ballot.into()), reason.clone())
            .await?;
        let change = store::get_change(conn!(w), t.id).await?;
        let mode = Mode::from_parts(
            change.vote_mode.as_deref().unwrap_or("any"),
            u32::try_from(change.vote_count.unwrap_or(1)).unwrap_or(1),
        )
        .unwrap_or(Mode::Any);
        let mut tally = Tally::default();
        for (v, b, _) in store::list_votes(conn!(w), t.id).await? {
            tally.cast(
                u64::try_from(v).unwrap_or(0),
                if b == "approve" {
                    Ballot::Approve
                } else {
                    Ballot::Reject
                },
            );
        }
        let outcome = tally.outcome(mode, voters.len());
        let (a, r) = tally.counts();
        let message = match outcome {
            Outcome::Open => {
                w.refresh_card(&t).await?;
                render::vote_recorded(id, a, r, mode, None)
            }
            decided => {
                w.settle(&mut t, decided, false).await?;
                render::vote_recorded(id, a, r, mode, Some(t.state))
            }
        };
        store::update_ticket(conn!(w), &t).await?;
        self.finish(w).await?;
        Ok(message)
    }

    /// Fires a vote deadline: a vote still open expires (never approved).
    pub(super) async fn fire_vote_deadline(&self, w: &mut Work, ticket_id: i64) -> Result<()> {
        let mut t = store::get_ticket(conn!(w), ticket_id).await?;
        if cstate(&t)? != ChangeState::Voting {
            return Ok(());
        }
        w.settle(&mut t, Outcome::Open, true).await?;
        store::update_ticket(conn!(w), &t).await?;
        Ok(())
    }

    /// At 75 % of the voting window: a DM with **Approve** and **Reject** to each eligible voter
    /// who has not voted yet (once: the timer fires once, and not at all once decided).
    pub(super) async fn fire_vote_reminder(&self, w: &mut Work, ticket_id: i64) -> Result<()> {
        let t = store::get_ticket(conn!(w), ticket_id).await?;
        if cstate(&t)? != ChangeState::Voting {
            return Ok(());
        }
        let voters = store::list_voters(conn!(w), t.id).await?;
        let votes = store::list_votes(conn!(w), t.id).await?;
        let change = store::get_change(conn!(w), t.id).await?;
        let waiting: Vec<i64> = voters
            .into_iter()
            .filter(|u| !votes.iter().any(|v| v.0 == *u))
            .collect();
        let id = ticket_ref(&t);
        let text = render::vote_reminder(id, &t.title, change.vote_deadline);
        for user in &waiting {
            let actions = [render::DmAction::Approve, render::DmAction::Reject];
            w.dm_with(&t, *user, &text, &actions, true).await?;
        }
        w.audit(Some(t.id), "vote-reminder", None, Some(waiting.len().to_string()), None)
            .await?;
        Ok(())
    }

    async fn begin_change_step(&self, call: &Call, id: &str) -> Result<(Work, TicketRow)> {
        let mut w = self.begin(call).await?;
        let t = self.load_change(&mut w, id).await?;
        let who = Who {
            requester: t.requester_id == w.user_id,
            ..w.standing.who(false)
        };
        if !access::may(who, Act::ManageChange) {
            return Err(ChangeError::AuthorOnly(ticket_ref(&t)).into());
        }
        Ok((w, t))
    }

    /// `/change start id`.
    pub async fn change_start(&self, call: &Call, id: &str) -> Result<String> {
        let (mut w, mut t) = self.begin_change_step(call, id).await?;
        w.move_change(&mut t, ChangeAction::Start, None).await?;
        let id = ticket_ref(&t);
        let text = render::implementing_notice(id, &t.title, w.user_id);
        w.post_cab(&t, render::notice(&text, &Pings::none()), false).await?;
        store::update_ticket(conn!(w), &t).await?;
        w.refresh_card(&t).await?;
        self.finish(w).await?;
        Ok(render::implementing(id))
    }

    /// `/change complete id outcome notes`.
    pub async fn change_complete(&self, call: &Call, id: &str, outcome: ChangeOutcome, notes: &str) -> Result<String> {
        let notes = text::required("notes", notes, MAX_NOTE_CHARS)?;
        let (mut w, mut t) = self.begin_change_step(call, id).await?;
        w.move_change(
            &mut t,
            ChangeAction::Complete,
            Some(format!("{}: {notes}", outcome.as_str())),
        )
        .await?;
        let mut change = store::get_change(conn!(w), t.id).await?;
        change.outcome = Some(outcome.as_str().into());
        store::set_change(conn!(w), t.id, &change).await?;
        t.resolution_note = Some(notes.clone());
        t.closed_at = Some(w.now);
        let id = ticket_ref(&t);
        let text = render::completed_notice(id, &t.title, outcome, &notes);
        w.post_cab(&t, render::notice(&text, &Pings::none()), false).await?;
        store::update_ticket(conn!(w), &t).await?;
        w.refresh_card(&t).await?;
        self.finish(w).await?;
        Ok(render::completed(id, outcome))
    }

    /// `/change cancel id [reason]`.
    pub async fn change_cancel(&self, call: &Call, id: &str, reason: Option<&str>) -> Result<String> {
        let reason = text::optional("reason", reason, MAX_REASON_CHARS)?;
        let (mut w, mut t) = self.begin_change_step(call, id).await?;
        w.move_change(&mut t, ChangeAction::Cancel, reason.clone()).await?;
        w.cancel_timer(vote_key(t.id));
        t.closed_at = Some(w.now);
        let id = ticket_ref(&t);
        let text = render::change_cancelled_notice(id, &t.title, reason.as_deref());
        w.post_cab(&t, render::notice(&text, &Pings::none()), false).await?;
        store::update_ticket(conn!(w), &t).await?;
        w.refresh_card(&t).await?;
        self.finish(w).await?;
        Ok(render::change_cancelled(id))
    }

    /// `/change blackout start end reason` (change managers, admins).
    pub async fn change_blackout(&self, call: &Call, start: &str, end: &str, reason: &str) -> Result<String> {
        let reason = text::required("reason", reason, MAX_REASON_CHARS)?;
        let mut w = self.begin(call).await?;
        if !access::may(w.standing.who(false), Act::SetBlackout) {
            return Err(ChangeError::BlackoutManagersOnly.into());
        }
        let tz = w.calendar().await?.tz();
        let s = calendar::parse_local(start, tz)?;
        let e = calendar::parse_local(end, tz)?;
        if e <= s {
            return Err(ChangeError::BlackoutBackwards(start.trim().to_owned(), end.trim().to_owned()).into());
        }
        if e <= from_millis(w.now) {
            return Err(ChangeError::BlackoutPast(end.trim().to_owned(), tz.name().to_owned()).into());
        }
        store::insert_blackout(
            conn!(w),
            w.guild_id,
            to_millis(s),
            to_millis(e),
            &reason,
            w.user_id,
            w.now,
        )
        .await?;
        w.audit(
            None,
            "blackout",
            None,
            Some(format!("{} – {}", start.trim(), end.trim())),
            Some(reason.clone()),
        )
        .await?;
        self.finish(w).await?;
        Ok(render::blackout_set(start.trim(), end.trim(), tz.name(), &reason))
    }

    /// `/change calendar days`.
    pub async fn change_calendar(&self, call: &Call, days: i64) -> Result<Value> {
        if !(1..=90).contains(&days) {
            return Err(ChangeError::CalendarDays.into());
        }
        self.begin_read(call).await?;
        let mut conn = self.pool.acquire().await?;
        let now = self.clock.now();
        let (from, to) = (to_millis(now), to_millis(now + Duration::days(days)));
        let mut lines: Vec<(i64, String)> = Vec::new();
        for (n, title, s, e) in store::list_overlapping_changes(&mut conn, call.actor.guild_id, from, to).await? {
            lines.push((s, render::calendar_change(n, &title, s, e)));
        }
        for (s, e, reason) in store::list_blackouts(&mut conn, call.actor.guild_id, from, to).await? {
            lines.push((s, render::calendar_blackout(&reason, s, e)));
        }
        lines.sort();
        let body: Vec<String> = lines.into_iter().map(|(_, l)| l).collect();
        Ok(render::change_calendar(days, &body))
    }

    /// `/setup cab rule mode count voting` (admins).
    pub async fn setup_cab(
        &self,
        call: &Call,
        rule: ChangeType,
        mode: &str,
        count: i64,
        voting: &str,
    ) -> Result<String> {
        if rule == ChangeType::Standard {
            return Err(ChangeError::RuleForStandard.into());
        }
        let Some(m) = Mode::from_parts(mode, u32::try_from(count).unwrap_or(0)) else {
            return Err(ChangeError::BadMode.into());
        };
        let voting = SlaDuration::parse(voting)?;
        let mut w = self.begin(call).await?;
        super::setup::require_admin(w.standing)?;
        store::set_cab_rule(
            conn!(w),
            w.guild_id,
            rule.as_str(),
            m.name(),
            count.max(1),
            &voting.to_string(),
        )
        .await?;
        w.audit(
            None,
            "cab-rule",
            None,
            Some(format!("{}: {m}, voting {voting}", rule.as_str())),
            None,
        )
        .await?;
        self.finish(w).await?;
        Ok(render::cab_rule_set(rule, m, &voting.to_string()))
    }

    /// Whether the actor may vote now (before showing the reject form).
    pub async fn check_can_vote(&self, call: &Call, id: &str) -> Result<TicketRef> {
        let r = TicketRef::parse_as(id, TicketKind::Change)?;
        let (_, _) = self.begin_read(call).await?;
        let mut conn = self.pool.acquire().await?;
        let t = store::find_ticket(
            &mut conn,
            call.actor.guild_id,
            TicketKind::Change.as_str(),
            i64::from(r.number),
        )
        .await?
        .ok_or(ChangeError::NotHere(r))?;
        if t.requester_id == call.actor.user_id {
            return Err(ChangeError::OwnChange(r).into());
        }
        if cstate(&t)? != ChangeState::Voting {
            return Err(ChangeError::NotNow {
                id: r,
                state: cstate(&t)?,
                action: ChangeAction::Reject,
            }
            .into());
        }
        if !store::list_voters(&mut conn, t.id).await?.contains(&call.actor.user_id) {
            return Err(ChangeError::NotAVoter(r).into());
        }
        Ok(r)
    }

    /// The guild's CAB role, for the gateway to list its members.
    pub async fn cab_role(&self, guild_id: i64) -> Result<Option<i64>> {
        let mut conn = self.pool.acquire().await?;
        Ok(store::get_settings(&mut conn, guild_id).await?.cab_role_id)
    }
}

impl Work {
    /// A change window from `start` and `end` in the guild's time zone: after now, end after
    /// start; unix ms.
    async fn change_window(&mut self, start: &str, end: &str) -> Result<(i64, i64)> {
        let tz = self.calendar().await?.tz();
        let from = calendar::parse_local(start, tz)?;
        let to = calendar::parse_local(end, tz)?;
        if to <= from {
            return Err(ChangeError::WindowBackwards(start.trim().to_owned(), end.trim().to_owned()).into());
        }
        if from <= from_millis(self.now) {
            return Err(ChangeError::WindowPast(start.trim().to_owned(), tz.name().to_owned()).into());
        }
        Ok((to_millis(from), to_millis(to)))
    }

    /// A standard change: pre-approved and scheduled, announced in the CAB channel.
    async fn pre_approve(&mut self, t: &mut TicketRow, change: &ChangeRow, flag: &str) -> Result<String> {
        let id = ticket_ref(t);
        self.move_change(
            t,
            ChangeAction::PreApprove,
            Some("standard change: pre-approved".into()),
        )
        .await?;
        store::set_change(conn!(self), t.id, change).await?;
        let (s, e) = (
            change.window_start.unwrap_or_default(),
            change.window_end.unwrap_or_default(),
        );
        let text = render::pre_approved_notice(id, &t.title, s, e, flag);
        self.post_cab(t, render::notice(&text, &Pings::none()), false).await?;
        Ok(render::pre_approved(id, flag))
    }

    /// A normal or emergency change: the CAB's vote opens, with its deadline and reminder.
    async fn open_vote(
        &mut self,
        t: &mut TicketRow,
        mut change: ChangeRow,
        voters: &[i64],
        rule: &CabRule,
        flag: &str,
    ) -> Result<String> {
        let id = ticket_ref(t);
        self.move_change(
            t,
            ChangeAction::OpenVote,
            Some(format!("{} voter(s), rule {}", voters.len(), rule.mode)),
        )
        .await?;
        let cal = self.calendar().await?;
        let deadline = calendar_for(rule.voting, &cal)
            .add_business_seconds(from_millis(self.now), target_seconds(rule.voting, &cal));
        change.vote_mode = Some(rule.mode.name().into());
        change.vote_count = Some(match rule.mode {
            Mode::Quorum(k) => i64::from(k),
            _ => 1,
        });
        change.vote_deadline = Some(to_millis(deadline));
        store::set_change(conn!(self), t.id, &change).await?;
        store::insert_voters(conn!(self), t.id, voters).await?;
        self.set_timer(
            vote_key(t.id),
            TimerKind::VoteDeadline,
            Some(t.id),
            to_millis(deadline),
            None,
        );
        let remind_at = self.now + (to_millis(deadline) - self.now) * REMIND_AT_PERCENT / 100;
        self.set_timer(
            vote_reminder_key(t.id),
            TimerKind::VoteRemind,
            Some(t.id),
            remind_at,
            None,
        );
        if let Some(channel) = self.config.settings.cab_channel_id {
            store::set_ticket_card(conn!(self), t.id, channel, None).await?;
            t.card_channel_id = Some(channel);
        }
        let role = self.config.settings.cab_role_id;
        let body = render::vote_opened(render::change_card(t, &change, voters, &[]), voters, role);
        self.post_cab(t, body, true).await?;
        Ok(render::vote_opened_reply(
            id,
            rule.mode,
            voters.len(),
            to_millis(deadline),
            flag,
        ))
    }
}
