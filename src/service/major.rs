//! The outage day: major incidents (`/incident major`), duplicates linked to their parent
//! (`/incident link`), affected users who hear updates and the resolution, and the same-issue
//! question at intake.
//!
//! A duplicate is resolved when it is linked; resolving its parent resolves those reopened
//! since ([`Work::follow_duplicates`]), never a closed or cancelled one.

use serde::{Deserialize, Serialize};

use super::{Call, Desk, Result, Work};
use crate::domain::access::Act;
use crate::domain::major::similar_titles;
use crate::domain::text::{self, MAX_NOTE_CHARS};
use crate::domain::{Action, TicketKind, TicketRef, TicketState};
use crate::render::refusals::IncidentError;
use crate::render::{self, ticket_ref, Pings};
use crate::store::{self, NewOutbox, OutboxOp, TicketRow};

/// How long an update DM to an affected user waits for later updates to fold into it.
pub const FOLD_WINDOW_MS: i64 = 30_000;
/// How far back `/incident new` looks for an open incident with a title like the new one.
pub const SAME_ISSUE_WINDOW_MS: i64 = 60 * 60 * 1000;

/// What `/incident new` was asked, held while its reporter answers the same-issue question.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct HeldIncident {
    pub title: String,
    pub impact: String,
    pub urgency: String,
    pub details: Option<String>,
    pub service: Option<String>,
}

impl Work {
    /// A DM to `user` about `t` that later ones fold into while it waits ([`FOLD_WINDOW_MS`]):
    /// several quick updates reach a person as one message.
    pub(super) async fn dm_folded(&mut self, t: &TicketRow, user: i64, text: &str) -> Result<()> {
        if user == 0 || user == self.user_id {
            return Ok(());
        }
        let key = format!("affected:{}:{user}", t.id);
        if let Some((id, payload)) = store::pending_fold(conn!(self), &key).await? {
            let mut body: serde_json::Value = serde_json::from_str(&payload).unwrap_or_default();
            let before = body["content"].as_str().unwrap_or_default().to_owned();
            let joined = format!("{before}\n{text}");
            if joined.chars().count() <= render::MAX_CONTENT_CHARS {
                body["content"] = serde_json::Value::String(joined);
                store::fold_pending(conn!(self), id, &body.to_string()).await?;
                return Ok(());
            }
        }
        let ticket = ticket_ref(t).to_string();
        let body = render::with_dm_buttons(
            render::message(text, &Pings::none()),
            self.guild_id,
            user,
            &ticket,
            &[],
            true,
        );
        self.enqueue(NewOutbox {
            guild_id: 0,
            op: OutboxOp::Dm,
            channel_id: None,
            user_id: Some(user),
            ticket_id: Some(t.id),
            is_card: false,
            payload: body.to_string(),
            rank: t.rank(),
            at: 0,
            delay_ms: self.fold_window_ms,
            fold_key: Some(key),
        })
        .await
    }

    /// Tells every affected user of `t`, one folded DM each.
    pub(super) async fn tell_affected(&mut self, t: &TicketRow, text: &str) -> Result<()> {
        for user in store::list_affected(conn!(self), t.id).await? {
            self.dm_folded(t, user, text).await?;
        }
        Ok(())
    }

    /// A major incident's update: posted in its bridge thread, and its pinned card's status.
    pub(super) async fn major_update(&mut self, t: &mut TicketRow, note: &str) -> Result<()> {
        let Some(channel) = t.card_channel_id else {
            return Ok(());
        };
        let text = render::thread_update(ticket_ref(t), self.user_id, note);
        let body = render::in_thread(render::notice(&text, &Pings::none()));
        self.post(channel, t, &body, false).await?;
        store::set_status_line(conn!(self), t.id, note).await?;
        t.status_line = Some(note.to_owned());
        self.refresh_card(t).await
    }

    /// After `t` resolved: its duplicates reopened since are resolved with it, and its
    /// affected users told.
    pub(super) async fn follow_duplicates(&mut self, before: &TicketRow, t: &TicketRow) -> Result<()> {
        let resolved_now = t.state == TicketState::Resolved && before.state != TicketState::Resolved;
        if !resolved_now || t.kind != TicketKind::Incident {
            return Ok(());
        }
        let parent = ticket_ref(t);
        for mut child in store::list_duplicates(conn!(self), t.id).await? {
            if !child.state.is_open() {
                continue; // resolved, closed or cancelled: left as it is
            }
            let was = child.clone();
            let note = render::resolved_with(parent);
            self.change_state(&mut child, Action::Resolve, Some(note.clone()))
                .await?;
            child.hold_reason = None;
            child.resolution_note = Some(note);
            child.resolved_at = Some(self.now);
            self.save_one(&was, &mut child).await?;
        }
        let note = t.resolution_note.as_deref().unwrap_or("resolved");
        let text = render::affected_resolved(parent, &t.title, note);
        self.tell_affected(t, &text).await
    }

    /// Looks for an open incident a member's new one is probably about: an open major incident
    /// of the same service, else an incident opened in the last hour with a title like it.
    async fn same_issue(&mut self, title: &str, service: Option<&str>) -> Result<Option<(TicketRow, bool)>> {
        let majors = store::list_open_majors(conn!(self), self.guild_id).await?;
        if let Some(service) = service.map(str::trim).filter(|s| !s.is_empty()) {
            let found = majors.iter().find(|m| {
                m.service
                    .as_deref()
                    .is_some_and(|s| s.trim().eq_ignore_ascii_case(service))
            });
            if let Some(m) = found {
                return Ok(Some((m.clone(), true)));
            }
        }
        let since = self.now - SAME_ISSUE_WINDOW_MS;
        let recent = store::list_recent_open_incidents(conn!(self), self.guild_id, since).await?;
        let mut like: Vec<TicketRow> = recent.into_iter().filter(|t| similar_titles(&t.title, title)).collect();
        // Major incidents first, then the newest.
        like.sort_by_key(|t| (t.major_at.is_none(), -t.created_at));
        Ok(like.into_iter().next().map(|t| {
            let major = t.major_at.is_some();
            (t, major)
        }))
    }
}

/// What `/incident new` answered: the incident, or the same-issue question first.
#[derive(Debug, Clone)]
pub enum Intake {
    /// Created; the confirmation.
    Created(String),
    /// Held: the question with its two buttons.
    Asked(serde_json::Value),
}

impl Desk {
    /// Asks the same-issue question instead of creating, when a member's new incident looks
    /// like one already open; `None` to go on and create.
    pub(super) async fn ask_same_issue(
        &self,
        w: &mut Work,
        call: &Call,
        held: &HeldIncident,
    ) -> Result<Option<serde_json::Value>> {
        if w.may(Act::Respond).await? {
            return Ok(None); // people working incidents know what is open
        }
        let Some((candidate, major)) = w.same_issue(&held.title, held.service.as_deref()).await? else {
            return Ok(None);
        };
        let draft = serde_json::to_string(held).unwrap_or_default();
        store::insert_draft(
            conn!(w),
            call.interaction_id,
            w.guild_id,
            w.user_id,
            candidate.id,
            &draft,
            w.now,
        )
        .await?;
        w.audit(
            Some(candidate.id),
            "same-issue-asked",
            None,
            Some(w.user_id.to_string()),
            Some(held.title.clone()),
        )
        .await?;
        Ok(Some(render::same_issue_question(
            call.interaction_id,
            &candidate,
            major,
        )))
    }

    /// `/incident major id [note]`: incident managers and whoever is on call.
    pub async fn incident_major(&self, call: &Call, id: &str, note: Option<&str>) -> Result<String> {
        let note = text::optional("note", note, MAX_NOTE_CHARS)?;
        let r = TicketRef::parse_as(id, TicketKind::Incident)?;
        let mut w = self.begin(call).await?;
        let allowed = w.may(Act::DeclareMajor).await?;
        let mut t = self.incident_in_guild(&mut w, r).await?;
        let id = ticket_ref(&t);
        if !allowed {
            return Err(IncidentError::MajorNotAllowed(id).into());
        }
        if !t.state.is_open() {
            return Err(IncidentError::MajorClosed(id, t.state).into());
        }
        if t.major_at.is_some() {
            return Err(IncidentError::AlreadyMajor(id).into());
        }
        if let Some(parent) = t.parent_id {
            let parent = store::get_ticket(conn!(w), parent).await?;
            return Err(IncidentError::MajorIsDuplicate(id, ticket_ref(&parent)).into());
        }
        let status = render::first_status(w.user_id, note.as_deref());
        store::set_major(conn!(w), t.id, w.now, &status).await?;
        t.major_at = Some(w.now);
        t.status_line = Some(status);
        w.audit(Some(t.id), "major", None, Some("major".into()), note.clone())
            .await?;
        let has_card = t.card_channel_id.is_some();
        if let (Some(channel), true) = (t.card_channel_id, t.in_digest) {
            // Shown in a digest so far: a major incident gets a card of its own to pin.
            store::clear_digest(conn!(w), t.id).await?;
            t.in_digest = false;
            w.post(channel, &t, &render::ticket_card(&t, &Pings::none(), &[]), true)
                .await?;
        }
        if t.card_channel_id.is_some() {
            for op in [OutboxOp::Thread, OutboxOp::Pin] {
                w.card_op(op, &t).await?;
            }
            w.refresh_card(&t).await?;
        }
        let text = render::major_declared(id, &t.title, w.user_id, note.as_deref());
        let pings = w
            .config
            .settings
            .incident_manager_role_id
            .map_or_else(Pings::none, Pings::role);
        w.post_page_notice(&t, &text, pings).await?;
        self.finish(w).await?;
        Ok(render::major_done(id, has_card))
    }

    async fn incident_in_guild(&self, w: &mut Work, r: TicketRef) -> Result<TicketRow> {
        store::find_ticket(conn!(w), w.guild_id, TicketKind::Incident.as_str(), i64::from(r.number))
            .await?
            .ok_or_else(|| IncidentError::NotInServer(r).into())
    }

    /// `/incident link id parent`: agents, incident managers and whoever is on call.
    pub async fn incident_link(&self, call: &Call, child: &str, parent: &str) -> Result<String> {
        let (c, p) = (
            TicketRef::parse_as(child, TicketKind::Incident)?,
            TicketRef::parse_as(parent, TicketKind::Incident)?,
        );
        if c.number == p.number {
            return Err(IncidentError::SelfDuplicate(c).into());
        }
        let mut w = self.begin(call).await?;
        if !w.may(Act::Respond).await? {
            return Err(IncidentError::LinkNotAllowed.into());
        }
        let mut child = self.incident_in_guild(&mut w, c).await?;
        let parent = self.incident_in_guild(&mut w, p).await?;
        if !parent.state.is_open() {
            return Err(IncidentError::ParentClosed(p, parent.state).into());
        }
        if let Some(grand) = parent.parent_id {
            let grand = store::get_ticket(conn!(w), grand).await?;
            return Err(IncidentError::ParentIsDuplicate {
                child: c,
                parent: p,
                grand: ticket_ref(&grand),
            }
            .into());
        }
        if child.parent_id.is_some() {
            return Err(IncidentError::AlreadyLinked(c).into());
        }
        if !child.state.is_open() {
            return Err(IncidentError::ChildClosed(c, child.state).into());
        }
        let before = child.clone();
        store::set_parent(conn!(w), child.id, parent.id).await?;
        store::move_duplicates(conn!(w), child.id, parent.id, w.now).await?;
        child.parent_id = Some(parent.id);
        let note = render::duplicate_note(p);
        w.change_state(&mut child, Action::Resolve, Some(note.clone())).await?;
        child.hold_reason = None;
        child.resolution_note = Some(note);
        child.resolved_at = Some(w.now);
        w.audit(Some(child.id), "link", None, Some(p.to_string()), None).await?;
        w.audit(Some(parent.id), "duplicate", None, Some(c.to_string()), None)
            .await?;
        if child.requester_id != 0 {
            store::add_affected(conn!(w), parent.id, child.requester_id, w.now).await?;
            let dm = render::linked_dm(c, p, &parent.title);
            let reporter = child.requester_id;
            w.dm(&child, reporter, &dm).await?;
        }
        let text = render::linked_notice(c, p, w.user_id);
        w.post_notice(&child, &text, Pings::none()).await?;
        w.save_one(&before, &mut child).await?;
        let affected = store::list_affected(conn!(w), parent.id).await?.len();
        self.finish(w).await?;
        Ok(render::linked_done(c, p, affected))
    }

    /// The fields `/ticket show` adds for an incident: status, duplicates, affected users.
    pub(super) async fn duplicate_fields(
        &self,
        conn: &mut sqlx::SqliteConnection,
        t: &TicketRow,
    ) -> Result<Vec<serde_json::Value>> {
        if t.kind != TicketKind::Incident {
            return Ok(Vec::new());
        }
        let duplicates = store::list_duplicates(conn, t.id).await?;
        let affected = store::list_affected(conn, t.id).await?.len();
        Ok(render::duplicate_fields(t, &duplicates, affected))
    }
}
