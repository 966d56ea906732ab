//! A digest: when a channel is too far behind to post a card per ticket within seconds, one
//! message lists many new tickets (id, priority, title, reporter), with select menus that open
//! a ticket's card and buttons for whoever picks it.

use serde_json::{json, Value};

use super::{requester, ticket_ref, truncate, Pings};
use crate::store::TicketRow;

/// Most tickets one digest carries: two embeds of 30 lines stay inside Discord's 6,000
/// characters per message, and three select menus of at most 25 options offer them all.
pub const DIGEST_MAX: usize = 60;
const LINES_PER_EMBED: usize = 30;
const OPTIONS_PER_SELECT: usize = 25;
const TITLE_CHARS: usize = 40;

/// The `custom_id` of a digest's select menus: `digest:<n>`.
pub const DIGEST_SELECT: &str = "digest";

/// The digest message for `tickets` (at most [`DIGEST_MAX`]); it pings nobody.
pub fn digest(tickets: &[TicketRow]) -> Value {
    let tickets = &tickets[..tickets.len().min(DIGEST_MAX)];
    let lines: Vec<String> = tickets
        .iter()
        .map(|t| {
            format!(
                "**{}** {} · {} · {}",
                ticket_ref(t),
                t.priority,
                truncate(&t.title, TITLE_CHARS),
                requester(t)
            )
        })
        .collect();
    let embeds: Vec<Value> = lines
        .chunks(LINES_PER_EMBED)
        .map(|chunk| json!({ "description": chunk.join("\n"), "color": 0x0095_a5a6 }))
        .collect();
    let rows: Vec<Value> = tickets
        .chunks(OPTIONS_PER_SELECT)
        .enumerate()
        .map(|(i, chunk)| {
            let options: Vec<Value> = chunk
                .iter()
                .map(|t| {
                    let id = ticket_ref(t).to_string();
                    json!({ "label": truncate(&format!("{id} · {}", t.title), 100), "value": id })
                })
                .collect();
            json!({ "type": 1, "components": [{
                "type": 3, "custom_id": format!("{DIGEST_SELECT}:{i}"),
                "placeholder": "Open a ticket of this digest", "options": options,
                "min_values": 1, "max_values": 1,
            }] })
        })
        .collect();
    json!({
        "content": format!(
            "🗂️ {} new tickets, listed together while this channel catches up. Pick one to work it.",
            tickets.len()
        ),
        "embeds": embeds,
        "components": rows,
        "allowed_mentions": Pings::none().allowed_mentions(),
    })
}

/// Whether a `custom_id` is a digest's select menu.
pub fn is_digest_select(custom_id: &str) -> bool {
    custom_id
        .split_once(':')
        .is_some_and(|(verb, n)| verb == DIGEST_SELECT && n.parse::<u8>().is_ok())
}
