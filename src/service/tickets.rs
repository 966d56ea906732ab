//! Requests and the commands that work on any ticket: raise, show, comment, claim, assign,
//! hold, resume, resolve, reopen, close, cancel, priority, history, and the queue.

use serde_json::Value;

use super::major::Intake;
use super::{lifecycle, Actor, Call, Desk, Result, Standing, Work};
use crate::domain::access::{self, Act, Who};
use crate::domain::text::{self, MAX_DETAILS_CHARS, MAX_NOTE_CHARS, MAX_REASON_CHARS, MAX_SUMMARY_CHARS};
use crate::domain::{Action, HoldReason, Priority, Stage, TicketKind, TicketRef, TicketState};
use crate::render::refusals::{AgentTask, TicketError};
use crate::render::TicketDone;
use crate::render::{self, ticket_ref, Pings};
use crate::store::{self, NewTicket, QueueFilter, TicketRow};

/// Whom `/ticket assign` gives the ticket to, with what Discord told us of their roles.
#[derive(Debug, Clone)]
pub struct AssignTarget {
    /// The user.
    pub user_id: i64,
    /// Their role ids in this guild.
    pub roles: Vec<i64>,
    /// They have Manage Server.
    pub is_admin: bool,
}

/// A change to an existing ticket.
#[derive(Debug, Clone)]
pub enum TicketOp {
    /// The actor takes it.
    Claim,
    /// Give it to an agent.
    Assign(AssignTarget),
    /// Pause it.
    Hold {
        /// Why.
        reason: HoldReason,
        /// Optional note (shown to the requester when awaiting them).
        note: Option<String>,
    },
    /// Back to work.
    Resume,
    /// Fixed, with a note for the requester.
    Resolve {
        /// What was done.
        note: String,
    },
    /// The fix did not hold.
    Reopen {
        /// Why.
        reason: String,
    },
    /// Confirm a resolution.
    Close,
    /// Withdraw.
    Cancel {
        /// Why, if given.
        reason: Option<String>,
    },
    /// Change the priority.
    Priority(Priority),
    /// Add to the timeline.
    Comment(String),
}

/// The ticket after a change, and what to tell the actor.
#[derive(Debug, Clone)]
pub struct TicketOutcome {
    /// The ticket as committed.
    pub ticket: TicketRow,
    /// The confirmation for the actor.
    pub message: String,
}

/// Filters of `/queue`.
#[derive(Debug, Clone, Copy, Default)]
pub struct QueueView {
    /// Only one kind.
    pub kind: Option<TicketKind>,
    /// Only unassigned.
    pub unassigned: bool,
    /// Only mine.
    pub mine: bool,
    /// Only tickets whose running SLA clock passed its warning (75 %) or breached.
    pub breaching: bool,
}

/// Timeline entries shown by `/ticket show`.
const SHOW_TIMELINE_ROWS: i64 = 8;
/// Audit rows read for `/ticket history` (the reply shows the newest that fit).
const HISTORY_ROWS: i64 = 200;
/// Tickets listed by `/request mine` and `/queue`.
const LIST_ROWS: i64 = 50;

/// The channel where a kind's cards and notices go.
impl Work {
    /// Loads a ticket of this guild that the actor may see (incidents: on-call people too).
    /// Not found and not yours read the same, so members cannot probe for other people's
    /// tickets. Returns it with the actor as the rules see them for this ticket.
    async fn load_visible(&mut self, id: TicketRef) -> Result<(TicketRow, Who)> {
        let kind = id.kind.unwrap_or(TicketKind::Request);
        let found = store::find_ticket(conn!(self), self.guild_id, kind.as_str(), i64::from(id.number)).await?;
        let who = self.who().await?;
        let t = super::access::visible(found, id, self.user_id, who)?;
        let who = Who {
            requester: t.requester_id == self.user_id,
            ..who
        };
        Ok((t, who))
    }
}

fn need_agent(cx: &OpContext, what: AgentTask) -> Result<()> {
    if cx.works() {
        Ok(())
    } else {
        Err(TicketError::AgentsOnly(what).into())
    }
}

impl Desk {
    /// For read-only commands on one ticket: parses the id, marks the interaction seen, and
    /// loads the ticket if the actor may see it.
    pub(super) async fn read_visible(
        &self,
        call: &Call,
        id: &str,
    ) -> Result<(TicketRow, bool, sqlx::pool::PoolConnection<sqlx::Sqlite>)> {
        let id = TicketRef::parse_full(id)?;
        let (_, standing) = self.begin_read(call).await?;
        let mut conn = self.pool.acquire().await?;
        let kind = id.kind.unwrap_or(TicketKind::Request);
        let found = store::find_ticket(&mut conn, call.actor.guild_id, kind.as_str(), i64::from(id.number)).await?;
        // Incidents are worked by whoever is on call too, agent or not.
        let on_call = kind == TicketKind::Incident
            && super::oncall::is_on_call(&mut conn, call.actor.guild_id, call.actor.user_id, self.now_ms()).await?;
        let who = standing.who(on_call);
        let responder = access::may(who, Act::Work(kind));
        // Affected users of an incident (reporters of its duplicates) may read it too.
        let affected = match &found {
            Some(t) if !responder && t.requester_id != call.actor.user_id => {
                store::is_affected(&mut conn, t.id, call.actor.user_id).await?
            }
            _ => false,
        };
        let t = super::access::visible(found, id, call.actor.user_id, Who { affected, ..who })?;
        Ok((t, responder, conn))
    }

    /// `/request new`: raises a request for a catalog item.
    pub async fn request_new(&self, call: &Call, item: &str, summary: &str, details: Option<&str>) -> Result<Intake> {
        let held = HeldRequest {
            item: text::required("item", item, text::MAX_ITEM_NAME_CHARS)?,
            summary: text::required("summary", summary, MAX_SUMMARY_CHARS)?,
            details: text::optional("details", details, MAX_DETAILS_CHARS)?,
        };
        let typed = format!("{} {}", held.summary, held.details.as_deref().unwrap_or_default());
        let found = self.find_articles(call.actor.guild_id, &typed).await?;
        let mut w = self.begin(call).await?;
        w.articles = Some(found);
        w.catalog_item(&held.item).await?;
        if !access::may(w.standing.who(false), Act::Work(TicketKind::Request)) {
            let draft = serde_json::to_string(&held).unwrap_or_default();
            if let Some(offer) = w.offer_articles(call, "request", &typed, &draft).await? {
                self.finish(w).await?;
                return Ok(Intake::Asked(offer));
            }
        }
        let (_, message) = w.open_request(&held).await?;
        self.finish(w).await?;
        Ok(Intake::Created(message))
    }

    /// `/request mine`: the actor's tickets that are not closed or cancelled.
    pub async fn request_mine(&self, call: &Call) -> Result<Value> {
        self.begin_read(call).await?;
        let mut conn = self.pool.acquire().await?;
        let rows = store::list_requester_tickets(&mut conn, call.actor.guild_id, call.actor.user_id, LIST_ROWS).await?;
        Ok(render::my_tickets(&rows, self.now_ms()))
    }

    /// `/ticket show`.
    pub async fn ticket_show(&self, call: &Call, id: &str) -> Result<Value> {
        let (t, _, mut conn) = self.read_visible(call, id).await?;
        let timeline = store::list_ticket_audit(&mut conn, t.id, SHOW_TIMELINE_ROWS).await?;
        let sla = self.sla_lines(&mut conn, &t).await?;
        let mut shown = render::ticket_details(&t, &sla, &timeline);
        let mut extra = self.duplicate_fields(&mut conn, &t).await?;
        extra.extend(self.problem_fields(&mut conn, &t).await?);
        if let Some(fields) = shown["embeds"][0]["fields"].as_array_mut() {
            let at = fields.len().saturating_sub(1); // before the timeline
            for (i, f) in extra.into_iter().enumerate() {
                fields.insert(at + i, f);
            }
        }
        Ok(shown)
    }

    /// A ticket picked from a digest: its card, with its buttons, for the one who picked it.
    pub async fn ticket_card_for(&self, call: &Call, id: &str) -> Result<Value> {
        let (t, _, _) = self.read_visible(call, id).await?;
        let mut card = render::ticket_card(&t, &Pings::none(), &[]);
        card["flags"] = serde_json::json!(render::EPHEMERAL);
        Ok(card)
    }

    /// `/ticket history`.
    pub async fn ticket_history(&self, call: &Call, id: &str) -> Result<Value> {
        let (t, _, mut conn) = self.read_visible(call, id).await?;
        let rows = store::list_ticket_audit(&mut conn, t.id, HISTORY_ROWS).await?;
        Ok(render::ticket_history(&t, &rows))
    }

    /// Checks that the actor may resolve the ticket now (before showing the note modal).
    pub async fn check_resolvable(&self, call: &Call, id: &str) -> Result<TicketRef> {
        let (t, responder, _) = self.read_visible(call, id).await?;
        if !responder {
            return Err(TicketError::AgentsOnly(AgentTask::Resolve).into());
        }
        let id = ticket_ref(&t);
        lifecycle(&t)?.apply(t.kind, Action::Resolve, id)?;
        Ok(id)
    }

    /// `/queue`: open tickets for agents, most urgent first.
    pub async fn queue(&self, call: &Call, view: QueueView) -> Result<Value> {
        let (_, standing) = self.begin_read(call).await?;
        if !access::may(standing.who(false), Act::Queue) {
            return Err(TicketError::QueueAgentsOnly.into());
        }
        let mut conn = self.pool.acquire().await?;
        let filter = QueueFilter {
            kind: view.kind.map(TicketKind::as_str),
            unassigned: view.unassigned,
            assignee: view.mine.then_some(call.actor.user_id),
            breaching: view.breaching,
        };
        let rows = store::list_queue(&mut conn, call.actor.guild_id, filter, LIST_ROWS).await?;
        Ok(render::queue(&rows, self.now_ms()))
    }

    /// Every `/ticket` change (and the buttons): one transaction.
    pub async fn ticket_op(&self, call: &Call, id: &str, op: TicketOp) -> Result<TicketOutcome> {
        let id = TicketRef::parse_full(id)?;
        let op = validate(op)?;
        let mut w = self.begin(call).await?;
        let (mut t, who) = w.load_visible(id).await?;
        let kind = t.kind;
        if kind == TicketKind::Change {
            return Err(TicketError::IsAChange(id).into());
        }
        let cx = OpContext { id, kind, who };
        let before = t.clone();
        let t_ = &mut t;
        let done = match op {
            TicketOp::Claim => w.op_claim(t_, &cx).await?,
            TicketOp::Assign(target) => w.op_assign(t_, &cx, &target).await?,
            TicketOp::Hold { reason, note } => w.op_hold(t_, &cx, reason, note).await?,
            TicketOp::Resume => {
                need_agent(&cx, AgentTask::Resume)?;
                w.change_state(t_, Action::Resume, None).await?;
                t_.hold_reason = None;
                TicketDone::Resumed(id, t_.state)
            }
            TicketOp::Resolve { note } => w.op_resolve(t_, &cx, &note).await?,
            TicketOp::Reopen { reason } => w.op_reopen(t_, &cx, &reason).await?,
            TicketOp::Close => {
                if !access::may(cx.who, Act::Confirm(cx.kind)) {
                    return Err(TicketError::CloseNotAllowed(id).into());
                }
                w.change_state(t_, Action::Close, None).await?;
                t_.closed_at = Some(w.now);
                TicketDone::Closed(id)
            }
            TicketOp::Cancel { reason } => w.op_cancel(t_, &cx, reason).await?,
            TicketOp::Priority(p) => w.op_priority(t_, &cx, p).await?,
            TicketOp::Comment(body) => w.op_comment(t_, &cx, &body).await?,
        };
        self.commit_ticket(w, before, t, done.to_string()).await
    }

    pub(super) async fn commit_ticket(
        &self,
        mut w: Work,
        before: TicketRow,
        mut t: TicketRow,
        message: String,
    ) -> Result<TicketOutcome> {
        w.save(&before, &mut t).await?;
        self.finish(w).await?;
        Ok(TicketOutcome { ticket: t, message })
    }
}

/// Checks the text inside an op before any transaction starts.
fn validate(op: TicketOp) -> Result<TicketOp> {
    Ok(match op {
        TicketOp::Hold { reason, note } => TicketOp::Hold {
            reason,
            note: text::optional("note", note.as_deref(), MAX_NOTE_CHARS)?,
        },
        TicketOp::Resolve { note } => TicketOp::Resolve {
            note: text::required("resolution note", &note, MAX_NOTE_CHARS)?,
        },
        TicketOp::Reopen { reason } => TicketOp::Reopen {
            reason: text::required("reason", &reason, MAX_REASON_CHARS)?,
        },
        TicketOp::Cancel { reason } => TicketOp::Cancel {
            reason: text::optional("reason", reason.as_deref(), MAX_REASON_CHARS)?,
        },
        TicketOp::Comment(body) => TicketOp::Comment(text::required("comment", &body, MAX_NOTE_CHARS)?),
        other => other,
    })
}

impl Desk {
    /// Autocomplete for ticket ids: an agent's guild-wide open tickets, a member's own.
    /// Typing `REQ-1` narrows by kind and number; other text searches titles.
    pub async fn ticket_suggestions(&self, actor: &Actor, typed: &str) -> Result<Vec<(String, String)>> {
        let typed: String = typed.trim().chars().take(40).collect();
        let mut conn = self.pool.acquire().await?;
        let settings = store::get_settings(&mut conn, actor.guild_id).await?;
        let standing = Standing::of(actor, &settings);
        let (kind, digits, words) = match TicketRef::parse(&typed) {
            Ok(r) => (r.kind.map(TicketKind::as_str), r.number.to_string(), String::new()),
            Err(_) => {
                let upper = typed.to_ascii_uppercase();
                let kind = TicketKind::ALL
                    .into_iter()
                    .find(|k| !upper.is_empty() && k.prefix().starts_with(upper.trim_end_matches('-')))
                    .map(TicketKind::as_str);
                if kind.is_some() {
                    (kind, String::new(), String::new())
                } else {
                    (None, String::new(), typed.clone())
                }
            }
        };
        let requester = (!standing.is_agent).then_some(actor.user_id);
        let rows = store::search_tickets(&mut conn, actor.guild_id, requester, kind, &digits, &words, 25).await?;
        Ok(rows
            .iter()
            .map(|t| {
                let id = ticket_ref(t).to_string();
                (render::ticket_choice(ticket_ref(t), t.state, &t.title), id)
            })
            .collect())
    }
}

/// What every ticket change needs to know of its ticket and actor.
struct OpContext {
    id: TicketRef,
    kind: TicketKind,
    /// The actor as the rules see them, `requester` filled in from the ticket.
    who: Who,
}

impl OpContext {
    /// The actor works the ticket (an agent; on call, for an incident).
    fn works(&self) -> bool {
        access::may(self.who, Act::Work(self.kind))
    }
}

impl Work {
    async fn op_claim(&mut self, t: &mut TicketRow, cx: &OpContext) -> Result<TicketDone> {
        let id = cx.id;
        need_agent(cx, AgentTask::Claim)?;
        // The state first: a closed ticket is closed, whoever had it.
        lifecycle(t)?.apply(cx.kind, Action::Claim, id)?;
        match t.assignee_id {
            Some(a) if a == self.user_id => return Err(TicketError::AlreadyYours(id).into()),
            Some(a) => return Err(TicketError::TakenBy(id, a).into()),
            None => {}
        }
        self.change_state(t, Action::Claim, None).await?;
        let me = self.user_id;
        self.set_assignee(t, me).await?;
        self.responded(t);
        Ok(TicketDone::Claimed(id, t.state))
    }

    async fn op_assign(&mut self, t: &mut TicketRow, cx: &OpContext, target: &AssignTarget) -> Result<TicketDone> {
        let id = cx.id;
        need_agent(cx, AgentTask::Assign)?;
        let target_standing = Standing::of(
            &Actor {
                guild_id: self.guild_id,
                user_id: target.user_id,
                roles: target.roles.clone(),
                is_admin: target.is_admin,
            },
            &self.config.settings,
        );
        if !target_standing.is_agent {
            return Err(TicketError::NotAnAgent(id, target.user_id).into());
        }
        if t.assignee_id == Some(target.user_id) {
            return Err(TicketError::AlreadyAssigned(id, target.user_id).into());
        }
        self.change_state(t, Action::Assign, None).await?;
        self.set_assignee(t, target.user_id).await?;
        self.responded(t);
        let text = render::assigned_notice(id, &t.title, target.user_id, self.user_id);
        self.post_notice(t, &text, Pings::user(target.user_id)).await?;
        Ok(TicketDone::Assigned(id, target.user_id))
    }

    async fn op_hold(
        &mut self,
        t: &mut TicketRow,
        cx: &OpContext,
        reason: HoldReason,
        note: Option<String>,
    ) -> Result<TicketDone> {
        let id = cx.id;
        need_agent(cx, AgentTask::Hold)?;
        self.change_state(t, Action::Hold, note.clone()).await?;
        t.hold_reason = Some(reason.as_str().to_owned());
        if reason == HoldReason::AwaitingRequester {
            let text = render::awaiting_requester_dm(id, &t.title, note.as_deref());
            let requester = t.requester_id;
            self.dm(t, requester, &text).await?;
        }
        Ok(TicketDone::Held(id, reason))
    }

    async fn op_resolve(&mut self, t: &mut TicketRow, cx: &OpContext, note: &str) -> Result<TicketDone> {
        let id = cx.id;
        need_agent(cx, AgentTask::Resolve)?;
        self.change_state(t, Action::Resolve, Some(note.to_owned())).await?;
        t.hold_reason = None;
        t.resolution_note = Some(note.to_owned());
        t.resolved_at = Some(self.now);
        self.responded(t);
        let text = render::resolved_dm(id, &t.title, note);
        let requester = t.requester_id;
        let actions = [render::DmAction::Close, render::DmAction::Reopen];
        self.dm_with(t, requester, &text, &actions, true).await?;
        Ok(TicketDone::Resolved(id))
    }

    async fn op_reopen(&mut self, t: &mut TicketRow, cx: &OpContext, reason: &str) -> Result<TicketDone> {
        let id = cx.id;
        if !access::may(cx.who, Act::Confirm(cx.kind)) {
            return Err(TicketError::ReopenNotAllowed(id).into());
        }
        self.change_state(t, Action::Reopen, Some(reason.to_owned())).await?;
        t.resolved_at = None;
        if cx.who.requester && !cx.works() {
            let pings = t.assignee_id.map_or_else(Pings::none, Pings::user);
            let text = render::reopened_notice(id, &t.title, reason);
            self.post_notice(t, &text, pings).await?;
        }
        Ok(TicketDone::Reopened(id, t.state))
    }

    async fn op_cancel(&mut self, t: &mut TicketRow, cx: &OpContext, reason: Option<String>) -> Result<TicketDone> {
        let id = cx.id;
        if !access::may(cx.who, Act::Cancel(cx.kind)) {
            return Err(TicketError::CancelNotAllowed {
                id,
                incident: cx.kind == TicketKind::Incident,
            }
            .into());
        }
        self.change_state(t, Action::Cancel, reason).await?;
        t.hold_reason = None;
        t.closed_at = Some(self.now);
        Ok(TicketDone::Cancelled(id))
    }

    async fn op_priority(&mut self, t: &mut TicketRow, cx: &OpContext, p: Priority) -> Result<TicketDone> {
        let id = cx.id;
        need_agent(cx, AgentTask::Priority)?;
        let old = t.priority;
        if !lifecycle(t)?.is_open() {
            return Err(TicketError::PriorityClosed(id, t.state).into());
        }
        if old == p {
            return Err(TicketError::SamePriority(id, p).into());
        }
        t.priority = p;
        // Its messages still queued (the card, notices) move to their new place in line.
        store::rerank_pending(conn!(self), t.id, t.rank()).await?;
        self.audit(Some(t.id), "priority", Some(old.to_string()), Some(p.to_string()), None)
            .await?;
        Ok(TicketDone::Priority { id, to: p, from: old })
    }

    async fn op_comment(&mut self, t: &mut TicketRow, cx: &OpContext, body: &str) -> Result<TicketDone> {
        let id = cx.id;
        if lifecycle(t)?.is_final() {
            return Err(TicketError::NoMoreComments(id, t.state).into());
        }
        store::insert_comment(
            conn!(self),
            self.guild_id,
            t.id,
            self.user_id,
            body,
            cx.works(),
            self.now,
        )
        .await?;
        self.audit(Some(t.id), "comment", None, None, Some(body.to_owned()))
            .await?;
        let title = t.title.clone();
        if cx.works() && !cx.who.requester {
            self.responded(t);
            let text = render::comment_dm(id, &title, self.user_id, body);
            let requester = t.requester_id;
            self.dm(t, requester, &text).await?;
            return Ok(TicketDone::Commented(id, None));
        }
        let mut resumed = None;
        if lifecycle(t)? == TicketState::OnHold
            && t.hold_reason.as_deref() == Some(HoldReason::AwaitingRequester.as_str())
        {
            self.change_state(t, Action::Resume, Some("the requester replied".into()))
                .await?;
            t.hold_reason = None;
            resumed = Some(t.state);
        }
        let pings = t.assignee_id.map_or_else(Pings::none, Pings::user);
        let text = render::comment_notice(id, &title, self.user_id, body);
        self.post_notice(t, &text, pings).await?;
        Ok(TicketDone::Commented(id, resumed))
    }
}

/// What `/request new` was asked, held while its member reads the articles offered.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(super) struct HeldRequest {
    pub item: String,
    pub summary: String,
    pub details: Option<String>,
}

impl Work {
    /// The catalog item of that name, or a refusal naming it.
    async fn catalog_item(&mut self, name: &str) -> Result<String> {
        match store::find_catalog_item(conn!(self), self.guild_id, name).await? {
            Some(item) => Ok(item.name),
            None => Err(TicketError::NotInCatalog(name.to_owned()).into()),
        }
    }

    /// Raises a request: stored and audited, its clocks started, its card queued in triage.
    pub(super) async fn open_request(&mut self, held: &HeldRequest) -> Result<(TicketRow, String)> {
        let item = self.catalog_item(&held.item).await?;
        let summary = &held.summary;
        let channel = self.config.settings.triage_channel_id;
        let mut t = self
            .open_ticket(&NewTicket {
                guild_id: self.guild_id,
                kind: TicketKind::Request,
                title: summary,
                details: held.details.as_deref(),
                catalog_item: Some(&item),
                service: None,
                state: Stage::Ticket(TicketState::initial(TicketKind::Request)),
                priority: Priority::P4,
                impact: None,
                urgency: None,
                requester_id: self.user_id,
                at: self.now,
                card_channel_id: channel,
            })
            .await?;
        self.audit(
            Some(t.id),
            "created",
            None,
            Some(t.state.to_string()),
            Some(summary.clone()),
        )
        .await?;
        let typed = format!("{summary} {}", held.details.as_deref().unwrap_or_default());
        self.attach_suggestions(&mut t, &typed).await?;
        let id = ticket_ref(&t);
        if let Some(channel) = channel {
            self.post(channel, &t, &render::ticket_card(&t, &Pings::none(), &[]), true)
                .await?;
        }
        let message = render::request_raised(id, summary, channel.is_some());
        Ok((t, message))
    }
}
