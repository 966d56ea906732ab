//! The steps every use-case shares once it holds a `Work`: a ticket's state change (the
//! domain's transition and its audit row), its first response, storing it with everything that
//! follows a change (SLA clocks, paging, card, duplicates), and the notices, DMs and card
//! operations it queues. Practice modules call these; none writes them again.

use super::{lifecycle, Result, Work};
use crate::domain::{Action, Stage, TicketKind};
use crate::render::{self, ticket_ref, Pings};
use crate::store::{self, NewOutbox, OutboxOp, TicketRow};

fn notice_channel(w: &Work, kind: TicketKind) -> Option<i64> {
    match kind {
        TicketKind::Incident | TicketKind::Problem => w.config.settings.incidents_channel_id,
        TicketKind::Change => w.config.settings.cab_channel_id,
        TicketKind::Request => w.config.settings.triage_channel_id,
    }
}

impl Work {
    pub(super) async fn post_notice(&mut self, t: &TicketRow, text: &str, pings: Pings) -> Result<()> {
        if let Some(channel) = notice_channel(self, t.kind) {
            self.post(channel, t, &render::notice(text, &pings), false).await?;
        }
        Ok(())
    }

    /// A page in the incidents channel (an escalation, a re-page): ahead of everything queued
    /// there.
    pub(super) async fn post_page_notice(&mut self, t: &TicketRow, text: &str, pings: Pings) -> Result<()> {
        if let Some(channel) = notice_channel(self, t.kind) {
            let body = render::notice(text, &pings);
            self.post_ranked(channel, t, &body, false, store::RANK_PAGE).await?;
        }
        Ok(())
    }

    /// A notice that someone should act on: **Claim** while nobody has the ticket, and a link to
    /// its card (SLA warnings and breaches).
    pub(super) async fn post_actionable_notice(&mut self, t: &TicketRow, text: &str, pings: Pings) -> Result<()> {
        if let Some(channel) = notice_channel(self, t.kind) {
            let body = render::actionable_notice(t, text, &pings, self.guild_id);
            self.post(channel, t, &body, false).await?;
        }
        Ok(())
    }

    pub(super) async fn dm(&mut self, t: &TicketRow, user_id: i64, text: &str) -> Result<()> {
        self.dm_with(t, user_id, text, &[], false).await
    }

    /// A DM with buttons that act on `t` in this guild (only `user_id` may use them) and, if
    /// `card_link`, a link to the ticket's card.
    pub(super) async fn dm_with(
        &mut self,
        t: &TicketRow,
        user_id: i64,
        text: &str,
        actions: &[render::DmAction],
        card_link: bool,
    ) -> Result<()> {
        // Nobody to tell: the actor themselves, or 0 (monitoring raised the ticket).
        if user_id == self.user_id || user_id == 0 {
            return Ok(());
        }
        let id = ticket_ref(t).to_string();
        let body = render::with_dm_buttons(
            render::message(text, &Pings::none()),
            self.guild_id,
            user_id,
            &id,
            actions,
            card_link,
        );
        self.enqueue(NewOutbox {
            guild_id: 0,
            op: OutboxOp::Dm,
            channel_id: None,
            user_id: Some(user_id),
            ticket_id: Some(t.id),
            is_card: false,
            payload: body.to_string(),
            rank: t.rank(),
            at: 0,
            delay_ms: 0,
            fold_key: None,
        })
        .await
    }

    pub(super) async fn refresh_card(&mut self, t: &TicketRow) -> Result<()> {
        self.card_op(OutboxOp::EditCard, t).await
    }

    /// Queues an operation on the ticket's card (edit, open a thread on it, pin it), rendered
    /// or resolved at delivery; nothing when the ticket has no card channel.
    pub(super) async fn card_op(&mut self, op: OutboxOp, t: &TicketRow) -> Result<()> {
        if let Some(channel) = t.card_channel_id {
            self.enqueue(NewOutbox {
                guild_id: 0,
                op,
                channel_id: Some(channel),
                user_id: None,
                ticket_id: Some(t.id),
                is_card: false,
                payload: "{}".into(),
                rank: t.rank(),
                at: 0,
                delay_ms: 0,
                fold_key: None,
            })
            .await?;
        }
        Ok(())
    }

    pub(super) async fn change_state(
        &mut self,
        t: &mut TicketRow,
        action: Action,
        detail: Option<String>,
    ) -> Result<()> {
        let from = lifecycle(t)?;
        let to = from.apply(t.kind, action, ticket_ref(t))?;
        if from != to {
            self.move_to(t, Stage::Ticket(to), detail).await?;
        } else if detail.is_some() {
            self.audit(Some(t.id), action_name(action), None, None, detail).await?;
        }
        Ok(())
    }

    /// Puts `t` in `to` with the audit row of the move (any kind's lifecycle, checked by the
    /// caller).
    pub(super) async fn move_to(&mut self, t: &mut TicketRow, to: Stage, detail: Option<String>) -> Result<()> {
        let from = std::mem::replace(&mut t.state, to);
        self.audit(
            Some(t.id),
            "state",
            Some(from.to_string()),
            Some(to.to_string()),
            detail,
        )
        .await
    }

    pub(super) async fn set_assignee(&mut self, t: &mut TicketRow, user: i64) -> Result<()> {
        let old = t.assignee_id.replace(user);
        self.audit(
            Some(t.id),
            "assignee",
            old.map(|o| o.to_string()),
            Some(user.to_string()),
            None,
        )
        .await
    }

    /// Stores a changed ticket and keeps its SLA clocks, paging, card and duplicates in step.
    pub(super) async fn save(&mut self, before: &TicketRow, t: &mut TicketRow) -> Result<()> {
        self.save_one(before, t).await?;
        self.follow_duplicates(before, t).await
    }

    /// [`Work::save`] for this ticket alone (its duplicates are not touched).
    pub(super) async fn save_one(&mut self, before: &TicketRow, t: &mut TicketRow) -> Result<()> {
        let card_changed =
            before.state != t.state || before.assignee_id != t.assignee_id || before.priority != t.priority;
        t.updated_at = self.now;
        store::update_ticket(conn!(self), t).await?;
        self.follow_clocks(before, t).await?;
        self.follow_paging(before, t).await?;
        if card_changed {
            self.refresh_card(t).await?;
        }
        Ok(())
    }

    pub(super) fn responded(&self, t: &mut TicketRow) {
        if t.first_response_at.is_none() {
            t.first_response_at = Some(self.now);
        }
    }
}

fn action_name(a: Action) -> &'static str {
    match a {
        Action::Claim => "claim",
        Action::Assign => "assign",
        Action::Hold => "hold",
        Action::Resume => "resume",
        Action::Acknowledge => "acknowledge",
        Action::Retrigger => "retrigger",
        Action::Resolve => "resolve",
        Action::Reopen => "reopen",
        Action::Close => "close",
        Action::Cancel => "cancel",
        Action::KnownError => "known-error",
    }
}
