//! Words about delivery itself: a refused DM shown in the ticket's channel instead, and
//! `/setup deliveries` with its Retry buttons.

use serde_json::{json, Value};

use super::{ephemeral, Pings, MAX_CONTENT_CHARS};
use crate::domain::duration::human_seconds;
use crate::domain::text::truncate;
use crate::store::DeliveryRow;

/// Most rows `/setup deliveries` lists.
pub const DELIVERIES_SHOWN: usize = 15;
/// Most per-message Retry buttons (Discord allows 5 rows of 5 buttons).
const RETRY_BUTTONS: usize = 20;

/// A Retry button of `/setup deliveries`. Its `custom_id` is the protocol between this module
/// (which renders it) and the gateway (which parses it); both sides are tested together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryButton {
    /// One failed message, by outbox id.
    One(i64),
    /// Every failed message to one channel.
    Channel(i64),
}

impl RetryButton {
    /// The button's `custom_id`: `retry:<outbox id>` or `retry-channel:<channel id>`.
    pub fn custom_id(self) -> String {
        match self {
            RetryButton::One(id) => format!("retry:{id}"),
            RetryButton::Channel(c) => format!("retry-channel:{c}"),
        }
    }

    /// The button a `custom_id` names, if it is one of these.
    pub fn parse(custom_id: &str) -> Option<RetryButton> {
        let (verb, arg) = custom_id.split_once(':')?;
        let n: i64 = arg.parse().ok().filter(|n| *n > 0)?;
        match verb {
            "retry" => Some(RetryButton::One(n)),
            "retry-channel" => Some(RetryButton::Channel(n)),
            _ => None,
        }
    }
}

/// A DM Discord refused (`50007`), posted in the ticket's channel instead: the same text,
/// embeds and buttons, mentioning only its recipient.
pub fn dm_fallback(user: i64, dm: &Value) -> Value {
    let original = dm["content"].as_str().unwrap_or_default();
    let content = format!(
        "<@{user}> I could not send you this by direct message (your DMs are closed to this server), so here it is:\n{original}"
    );
    let mut body = json!({
        "content": truncate(&content, MAX_CONTENT_CHARS),
        "allowed_mentions": Pings::user(user).allowed_mentions(),
    });
    // The DM's buttons come along: they name the person they are for, so in the channel too
    // only that person can use them.
    for key in ["embeds", "components"] {
        if let Some(v) = dm.get(key).filter(|e| e.is_array()) {
            body[key] = v.clone();
        }
    }
    body
}

/// What Discord's refusal means, for the admins.
pub fn refusal_reason(error: &str) -> String {
    let code = error.split(':').next().unwrap_or_default().trim();
    let meaning = match code {
        "50013" => "the bot is missing a permission there (Send Messages, Embed Links or View Channel)",
        "50001" => "the bot cannot see the channel (View Channel)",
        "10003" => "the channel no longer exists: choose another with /setup channel",
        "50007" => "the person does not accept direct messages from this server",
        _ => return truncate(error, 200),
    };
    format!("{meaning} ({})", truncate(error, 120))
}

fn target(r: &DeliveryRow) -> String {
    match (r.channel_id, r.user_id) {
        (Some(c), _) => format!("<#{c}>"),
        (None, Some(u)) => format!("a DM to <@{u}>"),
        _ => "nowhere".to_owned(),
    }
}

/// The lines `/setup show` adds when deliveries to a channel fail: (channel, failed, error).
pub fn failing_channels(rows: &[(i64, i64, String)]) -> Vec<String> {
    rows.iter()
        .map(|(channel, n, error)| {
            format!(
                "⚠️ deliveries to <#{channel}> are failing ({n} message(s)): {} — fix it, then /setup deliveries to retry",
                refusal_reason(error)
            )
        })
        .collect()
}

/// `/setup deliveries`: messages being retried and messages failed, with why and how long ago,
/// and Retry buttons for the failed ones (each, and all of a channel).
pub fn deliveries(rows: &[DeliveryRow], now_ms: i64) -> Value {
    if rows.is_empty() {
        return ephemeral("Every message has been delivered: nothing is being retried and nothing has failed.");
    }
    let lines: Vec<String> = rows
        .iter()
        .take(DELIVERIES_SHOWN)
        .map(|r| {
            let age = human_seconds((now_ms - r.created_at).max(0) / 1000);
            let what = if r.status == "failed" { "failed" } else { "retrying" };
            let why = r.last_error.as_deref().map(refusal_reason).unwrap_or_default();
            format!(
                "`#{}` {what} · {} · {age} ago · {} attempt(s) · {why}",
                r.id,
                target(r),
                r.attempts
            )
        })
        .collect();
    let mut content = format!(
        "**Deliveries that need attention** ({} in all)\n{}",
        rows.len(),
        lines.join("\n")
    );
    if rows.len() > DELIVERIES_SHOWN {
        content.push_str(&format!("\n… and {} more", rows.len() - DELIVERIES_SHOWN));
    }
    let mut buttons: Vec<Value> = Vec::new();
    let mut channels: Vec<i64> = Vec::new();
    for r in rows.iter().filter(|r| r.status == "failed") {
        if let Some(c) = r.channel_id {
            if !channels.contains(&c) {
                channels.push(c);
            }
        }
    }
    for c in channels.iter().take(5) {
        buttons.push(retry_button(
            &format!("Retry all to channel …{}", c % 10_000),
            RetryButton::Channel(*c).custom_id(),
        ));
    }
    for r in rows
        .iter()
        .filter(|r| r.status == "failed")
        .take(RETRY_BUTTONS.saturating_sub(buttons.len()))
    {
        buttons.push(retry_button(
            &format!("Retry #{}", r.id),
            RetryButton::One(r.id).custom_id(),
        ));
    }
    let components: Vec<Value> = buttons
        .chunks(5)
        .take(5)
        .map(|row| json!({ "type": 1, "components": row }))
        .collect();
    let mut body = ephemeral(&content);
    if !components.is_empty() {
        body["components"] = Value::Array(components);
    }
    body
}

fn retry_button(label: &str, custom_id: String) -> Value {
    json!({ "type": 2, "style": 1, "label": truncate(label, 80), "custom_id": custom_id })
}

/// The outbox's note on a DM Discord refused (50007) that went to the ticket's channel.
pub fn dm_rerouted_note(why: &str, channel: i64) -> String {
    format!("DM refused (50007: {why}); delivered in <#{channel}> instead")
}

/// The reply when something failed inside the desk: a reference to find it in the log.
pub fn went_wrong(reference: &str) -> Value {
    super::ephemeral(&format!(
        "Something went wrong (ref {reference}). Nothing was changed; please try again."
    ))
}

/// The reply when a form could not be opened in time (Discord's 3 s).
pub fn form_too_slow() -> Value {
    super::ephemeral("That took too long to open a form; please click again.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retry_buttons_id_parses_back_to_the_same_button() {
        for b in [RetryButton::One(7), RetryButton::Channel(1_230_000_000_000_000_001)] {
            assert_eq!(RetryButton::parse(&b.custom_id()), Some(b));
            assert!(b.custom_id().len() <= 100);
        }
        for bad in [
            "retry:",
            "retry:-1",
            "retry:x",
            "claim:REQ-1",
            "retry-channel:0",
            "retry",
        ] {
            assert_eq!(RetryButton::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_refused_dm_in_a_channel_pings_only_its_recipient() {
        let dm = json!({ "content": "@everyone REQ-1 is resolved", "embeds": [{ "title": "REQ-1" }],
                         "components": [{ "type": 1, "components": [{ "type": 2, "style": 1, "label": "Close", "custom_id": "dm:close:1:42:REQ-1" }] }] });
        let body = dm_fallback(42, &dm);
        assert!(body["content"].as_str().unwrap().starts_with("<@42> "));
        assert_eq!(body["allowed_mentions"]["users"], json!(["42"]));
        assert_eq!(body["allowed_mentions"]["parse"], json!([]));
        assert_eq!(body["embeds"][0]["title"], "REQ-1");
        assert_eq!(
            body["components"][0]["components"][0]["custom_id"],
            "dm:close:1:42:REQ-1"
        );
    }
}
