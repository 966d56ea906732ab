//! Who may see a ticket: its requester, and whoever works it (agents; on call, for incidents).
//! Not found and not yours read the same, so members cannot probe for other people's tickets.

use super::Result;
use crate::domain::TicketRef;
use crate::render::refusals::TicketError;
use crate::store::TicketRow;

/// The ticket if the actor may see it: the requester always, and anyone who `works` it.
pub(super) fn visible(found: Option<TicketRow>, id: TicketRef, user_id: i64, is_agent: bool) -> Result<TicketRow> {
    match found {
        Some(t) if is_agent || t.requester_id == user_id => Ok(t),
        _ if is_agent => Err(TicketError::NotInServer(id).into()),
        _ => Err(TicketError::NotYours(id).into()),
    }
}
