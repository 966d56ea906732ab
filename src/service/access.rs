//! Who may see a ticket: its requester, and whoever works it (agents; on call, for incidents).
//! Not found and not yours read the same, so members cannot probe for other people's tickets.

use super::{Result, Work};
use crate::domain::access::{self, Act, Who};
use crate::domain::{TicketKind, TicketRef};
use crate::render::refusals::TicketError;
use crate::store::TicketRow;

/// The ticket if `who` may see it ([`Act::See`], `who.requester` filled in from the ticket).
pub(super) fn visible(found: Option<TicketRow>, id: TicketRef, user_id: i64, who: Who) -> Result<TicketRow> {
    let kind = id.kind.unwrap_or(TicketKind::Request);
    let works = access::may(who, Act::Work(kind));
    match found {
        Some(t)
            if access::may(
                Who {
                    requester: who.requester || t.requester_id == user_id,
                    ..who
                },
                Act::See(t.kind),
            ) =>
        {
            Ok(t)
        }
        _ if works => Err(TicketError::NotInServer(id).into()),
        _ => Err(TicketError::NotYours(id).into()),
    }
}

impl Work {
    /// The actor as the rules see them (on call from the schedule in memory).
    pub(super) async fn who(&mut self) -> Result<Who> {
        let on_call = self.actor_on_call().await?;
        Ok(self.standing.who(on_call))
    }

    /// Whether the actor may do `act`; the rule is the domain's.
    pub(super) async fn may(&mut self, act: Act) -> Result<bool> {
        Ok(access::may(self.who().await?, act))
    }
}
