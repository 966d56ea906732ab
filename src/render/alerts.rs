//! What the bot says about monitoring: `/alerts` replies and the notices of incidents raised,
//! updated and resolved by alerts. Alert text (labels, annotations, summaries) is shown as it
//! came, and pings nobody: every body here carries `allowed_mentions` with `parse: []`.

use serde_json::Value;

use super::{ephemeral, fit_lines, when, MAX_CONTENT_CHARS};
use crate::domain::alert::SourceKind;
use crate::domain::duration::human_seconds;
use crate::domain::TicketRef;
use crate::store::SourceRow;

fn how_to_send(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Alertmanager => {
            "In Alertmanager, add a `webhook_configs` receiver with this URL and `http_config: { authorization: { credentials: <token> } }` (or basic auth with the token as the password)."
        }
        SourceKind::Grafana => {
            "In Grafana, add a Webhook contact point with this URL and the token as the Authorization header's credentials (scheme Bearer), or as the basic-auth password."
        }
        SourceKind::Events => {
            "Anything that speaks PagerDuty's Events API v2 posts here with the token as `routing_key`."
        }
    }
}

/// The one reply that shows a source's token (and Grafana's HMAC secret).
pub fn source_secrets(name: &str, kind: SourceKind, token: &str, hmac_secret: Option<&str>, rotated: bool) -> Value {
    let mut lines = vec![
        if rotated {
            format!("🔑 New token for **{name}** ({kind}); the old one no longer works.")
        } else {
            format!("🔔 Source **{name}** ({kind}) is ready.")
        },
        format!(
            "Endpoint: `POST {}` on this desk's HTTP listener (`HTTP_ADDR`).",
            kind.path()
        ),
        format!("Token (shown this once; the desk keeps only its SHA-256):\n```\n{token}\n```"),
    ];
    if let Some(secret) = hmac_secret {
        lines.push(format!(
            "HMAC secret for Grafana's signature (header `X-Grafana-Alert-Signature`, timestamp header `X-Grafana-Alert-Timestamp`):\n```\n{secret}\n```"
        ));
    }
    lines.push(how_to_send(kind).to_owned());
    ephemeral(&lines.join("\n"))
}

/// `/alerts source-list`.
pub fn source_list(sources: &[(SourceRow, i64)]) -> Value {
    if sources.is_empty() {
        return ephemeral("No monitoring sources yet. Add one with /alerts source-add.");
    }
    let lines: Vec<String> = sources
        .iter()
        .map(|(s, open)| {
            let last = s.last_event_at.map_or_else(|| "never".to_owned(), when);
            let signed = if s.hmac_secret.is_some() { ", signed" } else { "" };
            format!(
                "**{}** · {}{signed} · grace {} · last event {last} · {} received, {} deduplicated · {open} open incident(s)",
                s.name,
                s.kind,
                if s.grace_seconds == 0 {
                    "none".to_owned()
                } else {
                    human_seconds(s.grace_seconds)
                },
                s.events_received,
                s.events_deduplicated,
            )
        })
        .collect();
    ephemeral(&fit_lines(&lines, MAX_CONTENT_CHARS))
}

/// `/alerts source-remove`.
pub fn source_removed(name: &str) -> String {
    format!("Source **{name}** is removed: its token no longer works. Incidents it raised stay as they are.")
}

/// The details line of an incident that recurred.
pub fn recurred(previous: TicketRef) -> String {
    format!("Recurred: last time {previous}.")
}

/// A notice: alerts joined an open incident's group.
pub fn alerts_joined(id: TicketRef, title: &str, joined: &[String], status: &str) -> String {
    let names = crate::domain::alert::cut(&joined.join(", "), 300);
    format!(
        "🔔 {id} “{title}”: {} more alert(s) firing — {names}. Now {status}.",
        joined.len()
    )
}

/// The resolution note of an incident monitoring resolved.
pub fn monitor_resolution(source: &str, by_event: bool) -> String {
    if by_event {
        format!("Monitoring ({source}) sent a resolve event.")
    } else {
        format!("Monitoring ({source}) reported every alert resolved.")
    }
}

/// A notice: monitoring resolved an incident (saying who had it, if a person did).
pub fn monitor_resolved(id: TicketRef, title: &str, note: &str, worked_by: Option<i64>) -> String {
    let worked = worked_by.map_or_else(String::new, |u| format!(" <@{u}> had it; it resolves anyway."));
    format!("✅ {id} “{title}” is resolved: {note}{worked}")
}

/// A notice: monitoring acknowledged an incident.
pub fn monitor_acknowledged(id: TicketRef, title: &str, source: &str) -> String {
    format!("✅ {id} “{title}” is acknowledged by monitoring ({source}); escalation stops.")
}
