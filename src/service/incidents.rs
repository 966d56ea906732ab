//! Incidents, on-call schedules and escalation: `/incident new|ack|update|escalate`, `/oncall …`,
//! `/setup escalation`, and the escalation and ack-timeout timers.
//!
//! Paging follows the incident's state the way SLA clocks do (`follow_paging`): triggered →
//! page and arm the escalation timer; acknowledged → disarm it and arm the ack timeout; on hold,
//! resolved, closed or cancelled → disarm both. The policy in force is copied onto the incident
//! when it opens.

use chrono::Duration;
use serde_json::Value;

use super::major::{HeldIncident, Intake};
use super::tickets::HeldRequest;
use super::{lifecycle, Call, Desk, Result, ServiceError, Work};
use crate::clock::{from_millis, to_millis};
use crate::domain::access::{self, Act, Who};
use crate::domain::calendar;
use crate::domain::oncall::{self, default_policy, Page, Policy, MAX_LEVELS};
use crate::domain::sla::{calendar_for, target_seconds};
use crate::domain::text::{self, MAX_DETAILS_CHARS, MAX_NOTE_CHARS, MAX_SUMMARY_CHARS};
use crate::domain::timer::TimerKind;
use crate::domain::{Action, Level, Priority, SlaDuration, Stage, TicketKind, TicketRef, TicketState};
use crate::render::refusals::IncidentError;
use crate::render::{self, ticket_ref, Pings};
use crate::store::{self, NewTicket, Paging, TicketRow};

/// Longest service name.
const MAX_SERVICE_CHARS: usize = 80;

fn escalate_key(ticket: i64) -> String {
    format!("escalate:{ticket}")
}
fn ack_timeout_key(ticket: i64) -> String {
    format!("acktimeout:{ticket}")
}

fn level_arg(level: i64) -> Result<i64> {
    if (1..=i64::from(MAX_LEVELS)).contains(&level) {
        Ok(level)
    } else {
        Err(IncidentError::NoSuchLevel(level).into())
    }
}

impl Work {
    pub(super) async fn policy(&mut self, p: Priority) -> Result<Policy> {
        let d = default_policy(p);
        let custom = self
            .config
            .escalations
            .iter()
            .find(|(n, ..)| *n == i64::from(p.number()));
        Ok(match custom {
            Some((_, delay, ack, rounds)) => Policy {
                delay: SlaDuration::parse(delay).unwrap_or(d.delay),
                ack_timeout: SlaDuration::parse(ack).unwrap_or(d.ack_timeout),
                rounds: u8::try_from(*rounds).unwrap_or(d.rounds),
                escalates: d.escalates,
            },
            None => d,
        })
    }

    /// The instant `d` after now, in `d`'s calendar.
    async fn after(&mut self, d: SlaDuration) -> Result<i64> {
        let cal = self.calendar().await?;
        let at = calendar_for(d, &cal).add_business_seconds(from_millis(self.now), target_seconds(d, &cal));
        Ok(to_millis(at))
    }

    async fn arm(&mut self, key: String, kind: TimerKind, t: &TicketRow, d: Option<SlaDuration>) -> Result<()> {
        match d {
            Some(d) => {
                let at = self.after(d).await?;
                self.set_timer(key, kind, Some(t.id), at, None);
            }
            None => self.cancel_timer(key),
        }
        Ok(())
    }

    /// Pages `page`'s level (its current on-call person): a mention in the incidents channel (or
    /// the card, for the first page), a DM, an audit row, and the next escalation timer.
    async fn page(&mut self, t: &TicketRow, paging: &mut Paging, page: Option<Page>, first: bool) -> Result<()> {
        let id = ticket_ref(t);
        let on_call = self.on_call_now().await?;
        let user = page.and_then(|p| on_call.get(usize::from(p.level - 1)).copied().flatten());
        let user = user.and_then(|u| i64::try_from(u).ok());
        paging.page_level = page.map(|p| i64::from(p.level));
        paging.page_round = page.map(|p| i64::from(p.round));
        paging.paged_user_id = user;
        let pings = user.map_or_else(Pings::none, Pings::user);
        let p = t.priority;
        match (page, user) {
            (Some(page), Some(user)) => {
                self.audit(
                    Some(t.id),
                    "page",
                    None,
                    Some(user.to_string()),
                    Some(format!("level {} round {}", page.level, page.round + 1)),
                )
                .await?;
                if !first {
                    let text = render::repaged_notice(id, &t.title, p, page);
                    self.post_page_notice(t, &text, pings).await?;
                }
                let dm = render::page_dm(id, &t.title, p, page.level);
                self.dm_with(t, user, &dm, &[render::DmAction::Ack], true).await?;
            }
            _ => {
                self.audit(Some(t.id), "page", None, None, Some("nobody is on call".into()))
                    .await?;
                if !first {
                    let text = render::nobody_else_notice(id, &t.title, p);
                    self.post_notice(t, &text, Pings::none()).await?;
                }
            }
        }
        let escalates = paging.esc_escalates.unwrap_or(false);
        let staffed: Vec<bool> = on_call.iter().map(Option::is_some).collect();
        let rounds = u8::try_from(paging.esc_rounds.unwrap_or(0)).unwrap_or(0);
        let more = page.and_then(|p| oncall::next_page(p, &staffed, rounds)).is_some();
        let delay = paging.esc_delay.as_deref().and_then(|d| SlaDuration::parse(d).ok());
        self.arm(
            escalate_key(t.id),
            TimerKind::Escalate,
            t,
            delay.filter(|_| escalates && more),
        )
        .await?;
        self.write_paging(t.id, paging);
        Ok(())
    }

    /// Pages from the top (a new, reopened or re-triggered incident).
    async fn page_from_top(&mut self, t: &TicketRow, paging: &mut Paging, first: bool) -> Result<()> {
        let staffed: Vec<bool> = self.on_call_now().await?.iter().map(Option::is_some).collect();
        self.page(t, paging, oncall::first_page(&staffed), first).await
    }

    /// Keeps paging and its timers in step with an incident's change from `before` to `t`.
    pub(super) async fn follow_paging(&mut self, before: &TicketRow, t: &TicketRow) -> Result<()> {
        if t.kind != TicketKind::Incident {
            return Ok(());
        }
        let (from, to) = (lifecycle(before)?, lifecycle(t)?);
        if from == to {
            return Ok(());
        }
        let mut paging = self.paging(t.id).await?;
        let ack_timeout = paging
            .esc_ack_timeout
            .as_deref()
            .and_then(|d| SlaDuration::parse(d).ok())
            .filter(|_| paging.esc_escalates.unwrap_or(false));
        match to {
            TicketState::Triggered => {
                self.cancel_timer(ack_timeout_key(t.id));
                self.page_from_top(t, &mut paging, false).await?;
            }
            TicketState::Acknowledged => {
                self.arm(escalate_key(t.id), TimerKind::Escalate, t, None).await?;
                self.arm(ack_timeout_key(t.id), TimerKind::AckTimeout, t, ack_timeout)
                    .await?;
            }
            _ => {
                self.arm(escalate_key(t.id), TimerKind::Escalate, t, None).await?;
                self.arm(ack_timeout_key(t.id), TimerKind::AckTimeout, t, None).await?;
            }
        }
        Ok(())
    }
}

/// What a new incident starts with, raised by a person or by monitoring.
pub(super) struct Draft<'a> {
    pub title: &'a str,
    pub details: Option<&'a str>,
    pub service: Option<&'a str>,
    pub priority: Priority,
    pub impact: Option<Level>,
    pub urgency: Option<Level>,
    /// Who reported it; 0 for monitoring.
    pub requester: i64,
    /// Raised by monitoring: the source's name, the alerts' status line, the links (JSON).
    pub alert: Option<(&'a str, Option<&'a str>, Option<String>)>,
}

impl Work {
    /// Opens an incident: stored and audited, its SLA clocks started, the escalation policy in
    /// force copied onto it, its card queued in the incidents channel and on call paged.
    /// Returns it and whom it paged.
    pub(super) async fn open_incident(&mut self, d: &Draft<'_>) -> Result<(TicketRow, Option<i64>)> {
        let channel = self.config.settings.incidents_channel_id;
        let mut t = self
            .open_ticket(&NewTicket {
                guild_id: self.guild_id,
                kind: TicketKind::Incident,
                title: d.title,
                details: d.details,
                catalog_item: None,
                service: d.service,
                state: Stage::Ticket(TicketState::initial(TicketKind::Incident)),
                priority: d.priority,
                impact: d.impact.map(Level::as_str),
                urgency: d.urgency.map(Level::as_str),
                requester_id: d.requester,
                at: self.now,
                card_channel_id: channel,
            })
            .await?;
        if let Some((source, status, links)) = &d.alert {
            store::set_ticket_alerting(conn!(self), t.id, source, *status, links.as_deref()).await?;
            t.alert_source = Some((*source).to_owned());
            t.alert_status = status.map(str::to_owned);
            t.links = links.clone();
        }
        self.audit(
            Some(t.id),
            "created",
            None,
            Some(t.state.to_string()),
            Some(d.title.to_owned()),
        )
        .await?;
        let typed = format!("{} {}", d.title, d.details.unwrap_or_default());
        self.attach_suggestions(&mut t, &typed).await?;
        let policy = self.policy(d.priority).await?;
        let mut paging = Paging {
            esc_delay: Some(policy.delay.to_string()),
            esc_ack_timeout: Some(policy.ack_timeout.to_string()),
            esc_rounds: Some(i64::from(policy.rounds)),
            esc_escalates: Some(policy.escalates),
            ..Paging::default()
        };
        self.page_from_top(&t, &mut paging, true).await?;
        let paged = paging.paged_user_id;
        if let Some(channel) = channel {
            let pings = paged.map_or_else(Pings::none, Pings::user);
            self.post(channel, &t, &render::ticket_card(&t, &pings, &[]), true)
                .await?;
        }
        self.check_recurrence(&t).await?;
        Ok((t, paged))
    }
}

impl Desk {
    /// `/incident new`: created at once, or (a member's, looking like one already open) held
    /// behind the same-issue question.
    pub async fn incident_new(
        &self,
        call: &Call,
        title: &str,
        impact: Level,
        urgency: Level,
        details: Option<&str>,
        service: Option<&str>,
    ) -> Result<Intake> {
        let held = HeldIncident {
            title: text::required("title", title, MAX_SUMMARY_CHARS)?,
            impact: impact.as_str().to_owned(),
            urgency: urgency.as_str().to_owned(),
            details: text::optional("details", details, MAX_DETAILS_CHARS)?,
            service: text::optional("service", service, MAX_SERVICE_CHARS)?,
        };
        let typed = format!("{} {}", held.title, held.details.as_deref().unwrap_or_default());
        let found = self.find_articles(call.actor.guild_id, &typed).await?;
        let mut w = self.begin(call).await?;
        w.articles = Some(found);
        if let Some(question) = self.ask_same_issue(&mut w, call, &held).await? {
            self.finish(w).await?;
            return Ok(Intake::Asked(question));
        }
        if !w.may(Act::Respond).await? {
            let draft = serde_json::to_string(&held).unwrap_or_default();
            if let Some(offer) = w.offer_articles(call, "incident", &typed, &draft).await? {
                self.finish(w).await?;
                return Ok(Intake::Asked(offer));
            }
        }
        let message = self.create_incident(&mut w, &held, impact, urgency).await?;
        self.finish(w).await?;
        Ok(Intake::Created(message))
    }

    /// A button of the same-issue question: added as affected, or the incident created as
    /// drafted. Whichever click comes first is the question's one effect.
    pub async fn same_issue_answer(&self, call: &Call, button: render::SameIssueButton) -> Result<String> {
        let mut w = self.begin(call).await?;
        let Some((candidate_id, draft)) = store::take_draft(conn!(w), button.draft, w.guild_id, w.user_id).await?
        else {
            return Err(IncidentError::AlreadyChosen.into());
        };
        if button.same {
            let candidate = store::get_ticket(conn!(w), candidate_id).await?;
            let added = store::add_affected(conn!(w), candidate.id, w.user_id, w.now).await?;
            w.audit(
                Some(candidate.id),
                "affected",
                None,
                Some(w.user_id.to_string()),
                Some("same issue at intake".into()),
            )
            .await?;
            self.finish(w).await?;
            return Ok(render::added_as_affected(ticket_ref(&candidate), !added));
        }
        let held: HeldIncident =
            serde_json::from_str(&draft).map_err(|e| ServiceError::Internal(sqlx::Error::Decode(Box::new(e))))?;
        let impact = Level::parse(&held.impact).unwrap_or(Level::Medium);
        let urgency = Level::parse(&held.urgency).unwrap_or(Level::Medium);
        let message = self.create_incident(&mut w, &held, impact, urgency).await?;
        self.finish(w).await?;
        Ok(message)
    }

    /// Creates a person's incident in `w` and words the confirmation.
    pub(super) async fn create_incident(
        &self,
        w: &mut Work,
        held: &HeldIncident,
        impact: Level,
        urgency: Level,
    ) -> Result<String> {
        let p = Priority::from_impact_urgency(impact, urgency);
        let channel = w.config.settings.incidents_channel_id;
        let requester = w.user_id;
        let draft = Draft {
            title: &held.title,
            details: held.details.as_deref(),
            service: held.service.as_deref(),
            priority: p,
            impact: Some(impact),
            urgency: Some(urgency),
            requester,
            alert: None,
        };
        let (t, paged) = w.open_incident(&draft).await?;
        let id = ticket_ref(&t);
        Ok(render::incident_opened(id, p, channel.is_some(), paged))
    }

    /// "This solved it" or "Still need help" under the articles offered at intake: the first
    /// answer is the only effect.
    pub async fn kb_intake_answer(&self, call: &Call, button: render::KbIntakeButton) -> Result<String> {
        let mut w = self.begin(call).await?;
        let outcome = if button.solved { "solved" } else { "raised" };
        let Some((kind, draft, articles)) =
            store::answer_kb_intake(conn!(w), button.draft, w.guild_id, w.user_id, outcome, w.now).await?
        else {
            return Err(IncidentError::AlreadyChosen.into());
        };
        let ids: Vec<i64> = articles.split(',').filter_map(|s| s.parse().ok()).collect();
        if button.solved {
            store::count_deflection(conn!(w), &ids).await?;
            w.audit(None, "kb-deflected", None, Some(articles), None).await?;
            self.finish(w).await?;
            return Ok(render::KB_SOLVED.to_owned());
        }
        // The ticket's card offers agents the articles its member was offered (read by id).
        let mut offered = Vec::new();
        for id in &ids {
            offered.extend(store::get_article(conn!(w), *id).await?);
        }
        w.articles = Some(offered);
        let bad = |e: serde_json::Error| ServiceError::Internal(sqlx::Error::Decode(Box::new(e)));
        let message = if kind == "incident" {
            let held: HeldIncident = serde_json::from_str(&draft).map_err(bad)?;
            {
                let impact = Level::parse(&held.impact).unwrap_or(Level::Medium);
                let urgency = Level::parse(&held.urgency).unwrap_or(Level::Medium);
                self.create_incident(&mut w, &held, impact, urgency).await?
            }
        } else {
            let held: HeldRequest = serde_json::from_str(&draft).map_err(bad)?;
            w.open_request(&held).await?.1
        };
        self.finish(w).await?;
        Ok(message)
    }

    async fn incident_for(&self, w: &mut Work, id: &str) -> Result<TicketRow> {
        let r = TicketRef::parse_as(id, TicketKind::Incident)?;
        let found =
            store::find_ticket(conn!(w), w.guild_id, TicketKind::Incident.as_str(), i64::from(r.number)).await?;
        // Incidents are visible to everyone responding (agents, on-call) and their reporter.
        let who = w.who().await?;
        super::access::visible(found, r, w.user_id, who)
    }

    /// `/incident ack` and the Acknowledge button: the person paged, anyone on call, or an agent.
    pub async fn incident_ack(&self, call: &Call, id: &str) -> Result<String> {
        let mut w = self.begin(call).await?;
        let mut t = self.incident_for(&mut w, id).await?;
        let id = ticket_ref(&t);
        let mut paging = w.paging(t.id).await?;
        let who = Who {
            paged: paging.paged_user_id == Some(w.user_id),
            ..w.who().await?
        };
        if !access::may(who, Act::Acknowledge) {
            return Err(IncidentError::AckNotAllowed(id).into());
        }
        let before = t.clone();
        if lifecycle(&t)?.apply(TicketKind::Incident, Action::Acknowledge, id)? == lifecycle(&t)? {
            return Err(IncidentError::AlreadyAcknowledged(id).into());
        }
        w.change_state(&mut t, Action::Acknowledge, Some("acknowledged".into()))
            .await?;
        if t.assignee_id.is_none() {
            let me = w.user_id;
            w.set_assignee(&mut t, me).await?;
        }
        w.responded(&mut t);
        paging.acknowledged_by = Some(w.user_id);
        paging.acknowledged_at = Some(w.now);
        paging.last_update_at = Some(w.now);
        w.write_paging(t.id, &paging);
        let text = render::acknowledged_notice(id, &t.title, w.user_id);
        w.post_notice(&t, &text, Pings::none()).await?;
        let timeout = paging.esc_ack_timeout.clone().unwrap_or_default();
        self.commit_ticket(w, before, t, render::acknowledged(id, &timeout))
            .await
            .map(|o| o.message)
    }

    /// `/incident update id note`: posts to the timeline and the incidents channel, and resets
    /// the ack timeout.
    pub async fn incident_update(&self, call: &Call, id: &str, note: &str) -> Result<String> {
        let note = text::required("update", note, MAX_NOTE_CHARS)?;
        let mut w = self.begin(call).await?;
        let t = self.incident_for(&mut w, id).await?;
        let id = ticket_ref(&t);
        if !w.may(Act::UpdateIncident).await? {
            return Err(IncidentError::UpdateNotAllowed(id).into());
        }
        if !lifecycle(&t)?.is_open() {
            return Err(IncidentError::UpdateClosed(id, t.state).into());
        }
        w.audit(Some(t.id), "update", None, None, Some(note.clone())).await?;
        let mut paging = w.paging(t.id).await?;
        paging.last_update_at = Some(w.now);
        w.write_paging(t.id, &paging);
        if lifecycle(&t)? == TicketState::Acknowledged && paging.esc_escalates.unwrap_or(false) {
            let timeout = paging
                .esc_ack_timeout
                .as_deref()
                .and_then(|d| SlaDuration::parse(d).ok());
            w.arm(ack_timeout_key(t.id), TimerKind::AckTimeout, &t, timeout).await?;
        }
        let mut t = t;
        if t.major_at.is_some() {
            // The bridge thread and the pinned card's status, not the busy channel.
            w.major_update(&mut t, &note).await?;
        } else {
            let text = render::update_notice(id, w.user_id, &note);
            w.post_notice(&t, &text, Pings::none()).await?;
        }
        w.tell_affected(&t, &render::affected_update(id, &t.title, &note))
            .await?;
        self.finish(w).await?;
        Ok(render::update_posted(id))
    }

    /// `/incident escalate id`: pages the next level now.
    pub async fn incident_escalate(&self, call: &Call, id: &str) -> Result<String> {
        let mut w = self.begin(call).await?;
        let t = self.incident_for(&mut w, id).await?;
        let id = ticket_ref(&t);
        if !w.may(Act::Respond).await? {
            return Err(IncidentError::EscalateNotAllowed(id).into());
        }
        if !matches!(lifecycle(&t)?, TicketState::Triggered | TicketState::Acknowledged) {
            return Err(IncidentError::EscalateClosed(id, t.state).into());
        }
        let mut paging = w.paging(t.id).await?;
        let staffed: Vec<bool> = w.on_call_now().await?.iter().map(Option::is_some).collect();
        let current = match (paging.page_level, paging.page_round) {
            (Some(l), Some(r)) => Some(Page {
                level: u8::try_from(l).unwrap_or(1),
                round: u8::try_from(r).unwrap_or(0),
            }),
            _ => None,
        };
        // A manual escalation always finds the next level: after the last, it starts over.
        let next = current
            .and_then(|c| oncall::next_page(c, &staffed, u8::MAX))
            .or_else(|| oncall::first_page(&staffed));
        let Some(next) = next else {
            return Err(IncidentError::NobodyOnCall(id).into());
        };
        w.audit(
            Some(t.id),
            "escalate",
            None,
            Some(format!("level {}", next.level)),
            None,
        )
        .await?;
        w.page(&t, &mut paging, Some(next), false).await?;
        if lifecycle(&t)? != TicketState::Triggered {
            w.cancel_timer(escalate_key(t.id));
        }
        self.finish(w).await?;
        Ok(render::escalated(id, next.level, paging.paged_user_id))
    }

    /// Fires an escalation timer: page the next level if still triggered.
    pub(super) async fn fire_escalation(&self, w: &mut Work, ticket_id: i64) -> Result<()> {
        let t = store::get_ticket(conn!(w), ticket_id).await?;
        if lifecycle(&t)? != TicketState::Triggered {
            return Ok(());
        }
        let mut paging = w.paging(t.id).await?;
        let staffed: Vec<bool> = w.on_call_now().await?.iter().map(Option::is_some).collect();
        let rounds = u8::try_from(paging.esc_rounds.unwrap_or(0)).unwrap_or(0);
        let current = Page {
            level: u8::try_from(paging.page_level.unwrap_or(1)).unwrap_or(1),
            round: u8::try_from(paging.page_round.unwrap_or(0)).unwrap_or(0),
        };
        match oncall::next_page(current, &staffed, rounds) {
            Some(next) => w.page(&t, &mut paging, Some(next), false).await,
            None => {
                w.audit(Some(t.id), "escalation-exhausted", None, None, None).await?;
                let text = render::exhausted_notice(ticket_ref(&t), &t.title);
                let pings = w
                    .config
                    .settings
                    .incident_manager_role_id
                    .map_or_else(Pings::none, Pings::role);
                w.post_notice(&t, &text, pings).await
            }
        }
    }

    /// Fires an ack timeout: acknowledged but not updated for the timeout → triggered again.
    pub(super) async fn fire_ack_timeout(&self, w: &mut Work, ticket_id: i64) -> Result<()> {
        let mut t = store::get_ticket(conn!(w), ticket_id).await?;
        if lifecycle(&t)? != TicketState::Acknowledged {
            return Ok(());
        }
        let before = t.clone();
        w.change_state(
            &mut t,
            Action::Retrigger,
            Some("no update within the ack timeout".into()),
        )
        .await?;
        w.save(&before, &mut t).await
    }

    /// `/oncall who`.
    pub async fn oncall_who(&self, call: &Call) -> Result<Value> {
        let mut w = self.begin(call).await?;
        let levels = w.oncall_levels().await?;
        let now = from_millis(w.now);
        let views: Vec<render::LevelView<'_>> = levels
            .iter()
            .map(|l| render::LevelView {
                on_call: l.on_call(now),
                rotation: &l.rotation.users,
                turn_hours: l.rotation.turn_seconds / 3600,
            })
            .collect();
        self.finish(w).await?;
        Ok(render::ephemeral(&render::oncall_who(&views)))
    }

    async fn begin_oncall_edit(&self, call: &Call) -> Result<Work> {
        let w = self.begin(call).await?;
        if !access::may(w.standing.who(false), Act::EditOnCall) {
            return Err(IncidentError::OnCallManagersOnly.into());
        }
        Ok(w)
    }

    /// `/oncall add level user`.
    pub async fn oncall_add(&self, call: &Call, level: i64, user: i64) -> Result<String> {
        let level = level_arg(level)?;
        let mut w = self.begin_oncall_edit(call).await?;
        w.configuring();
        if !store::insert_oncall_member(conn!(w), w.guild_id, level, user).await? {
            return Err(IncidentError::AlreadyInRotation { user, level }.into());
        }
        w.audit(
            None,
            "oncall-add",
            None,
            Some(user.to_string()),
            Some(format!("level {level}")),
        )
        .await?;
        self.finish(w).await?;
        Ok(render::oncall_added(user, level))
    }

    /// `/oncall remove level user`.
    pub async fn oncall_remove(&self, call: &Call, level: i64, user: i64) -> Result<String> {
        let level = level_arg(level)?;
        let mut w = self.begin_oncall_edit(call).await?;
        w.configuring();
        if !store::delete_oncall_member(conn!(w), w.guild_id, level, user).await? {
            return Err(IncidentError::NotInRotation { user, level }.into());
        }
        w.audit(
            None,
            "oncall-remove",
            Some(user.to_string()),
            None,
            Some(format!("level {level}")),
        )
        .await?;
        self.finish(w).await?;
        Ok(render::oncall_removed(user, level))
    }

    /// `/oncall rotation level hours start`.
    pub async fn oncall_rotation(&self, call: &Call, level: i64, hours: i64, start: &str) -> Result<String> {
        let level = level_arg(level)?;
        if !(1..=24 * 366).contains(&hours) {
            return Err(IncidentError::TurnLength.into());
        }
        let mut w = self.begin_oncall_edit(call).await?;
        let tz = w.calendar().await?.tz();
        let start_at = calendar::parse_local(start, tz)?;
        w.configuring();
        store::set_rotation(conn!(w), w.guild_id, level, hours, to_millis(start_at)).await?;
        w.audit(
            None,
            "oncall-rotation",
            None,
            Some(format!("{hours}h from {start}")),
            Some(format!("level {level}")),
        )
        .await?;
        self.finish(w).await?;
        Ok(render::rotation_set(level, hours, start, tz.name()))
    }

    /// `/oncall override level user start end`.
    pub async fn oncall_override(&self, call: &Call, level: i64, user: i64, start: &str, end: &str) -> Result<String> {
        let level = level_arg(level)?;
        let mut w = self.begin_oncall_edit(call).await?;
        let tz = w.calendar().await?.tz();
        let s = calendar::parse_local(start, tz)?;
        let e = calendar::parse_local(end, tz)?;
        if e <= s {
            return Err(IncidentError::OverrideBackwards(start.to_owned(), end.to_owned()).into());
        }
        if e <= from_millis(w.now) {
            return Err(IncidentError::OverridePast.into());
        }
        if e - s > Duration::days(366) {
            return Err(IncidentError::OverrideTooLong.into());
        }
        w.configuring();
        store::insert_override(conn!(w), w.guild_id, level, user, to_millis(s), to_millis(e), w.now).await?;
        w.audit(
            None,
            "oncall-override",
            None,
            Some(user.to_string()),
            Some(format!("level {level}: {start} – {end}")),
        )
        .await?;
        self.finish(w).await?;
        Ok(render::override_set(user, level, start, end, tz.name()))
    }

    /// `/setup escalation priority delay ack-timeout rounds`.
    pub async fn setup_escalation(
        &self,
        call: &Call,
        p: Priority,
        delay: &str,
        ack: &str,
        rounds: i64,
    ) -> Result<String> {
        let delay = SlaDuration::parse(delay)?;
        let ack = SlaDuration::parse(ack)?;
        if !(0..=9).contains(&rounds) {
            return Err(IncidentError::Rounds.into());
        }
        let mut w = self.begin_oncall_edit(call).await?;
        w.configuring();
        store::set_escalation(
            conn!(w),
            w.guild_id,
            i64::from(p.number()),
            &delay.to_string(),
            &ack.to_string(),
            rounds,
        )
        .await?;
        w.audit(
            None,
            "escalation",
            None,
            Some(format!("{p}: delay {delay}, ack timeout {ack}, rounds {rounds}")),
            None,
        )
        .await?;
        self.finish(w).await?;
        Ok(render::escalation_set(
            p,
            &delay.to_string(),
            &ack.to_string(),
            rounds,
            default_policy(p).escalates,
        ))
    }
}
