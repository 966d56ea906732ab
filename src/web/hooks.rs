//! The monitoring webhooks: `POST /hooks/alertmanager`, `POST /hooks/grafana` and PagerDuty's
//! `POST /v2/enqueue`. Each reads the request's credentials and body and hands them to the desk
//! ([`Desk::accept_event`]); `202` means the event is committed.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use serde_json::json;

use crate::domain::alert::SourceKind;
use crate::service::{Accepted, Delivery, Desk, Refusal};

/// `POST /hooks/alertmanager`.
pub async fn alertmanager(State(desk): State<Desk>, headers: HeaderMap, body: Bytes) -> Response {
    hook(&desk, SourceKind::Alertmanager, &headers, &body).await
}

/// `POST /hooks/grafana`.
pub async fn grafana(State(desk): State<Desk>, headers: HeaderMap, body: Bytes) -> Response {
    hook(&desk, SourceKind::Grafana, &headers, &body).await
}

/// `POST /v2/enqueue` (PagerDuty's Events API v2).
pub async fn enqueue(State(desk): State<Desk>, headers: HeaderMap, body: Bytes) -> Response {
    hook(&desk, SourceKind::Events, &headers, &body).await
}

/// The token of `Authorization: Bearer <token>`, or the password of basic auth.
fn credentials(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    match scheme.to_ascii_lowercase().as_str() {
        "bearer" => Some(rest.trim().to_owned()),
        "basic" => {
            let decoded = base64::engine::general_purpose::STANDARD.decode(rest.trim()).ok()?;
            let text = String::from_utf8(decoded).ok()?;
            text.split_once(':').map(|(_, password)| password.to_owned())
        }
        _ => None,
    }
}

fn header_str<'a>(headers: &'a HeaderMap, names: &[&str]) -> Option<&'a str> {
    names.iter().find_map(|n| headers.get(*n).and_then(|v| v.to_str().ok()))
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
}

async fn hook(desk: &Desk, kind: SourceKind, headers: &HeaderMap, body: &[u8]) -> Response {
    let (outcome, response) = answer_hook(desk, kind, headers, body).await;
    let labels = crate::telemetry::EventLabels {
        kind: kind.as_str(),
        outcome,
    };
    desk.metrics().alert_events.get_or_create(&labels).inc();
    response
}

async fn answer_hook(desk: &Desk, kind: SourceKind, headers: &HeaderMap, body: &[u8]) -> (&'static str, Response) {
    let events = kind == SourceKind::Events;
    if !is_json(headers) {
        return (
            "unsupported-type",
            answer(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                events,
                "Content-Type must be application/json",
                &[],
            ),
        );
    }
    let token = credentials(headers);
    let delivery = Delivery {
        kind,
        token: token.as_deref(),
        // Grafana's default signature header, and the name our README suggests.
        signature: header_str(headers, &["x-grafana-alert-signature", "x-grafana-alerting-signature"]),
        timestamp: header_str(headers, &["x-grafana-alert-timestamp", "x-grafana-alerting-timestamp"]),
        body,
    };
    match desk.accept_event(delivery).await {
        Ok(accepted) => ("accepted", accepted_answer(events, &accepted)),
        Err(Refusal::Unauthorized) => (
            "unauthorized",
            answer(
                StatusCode::UNAUTHORIZED,
                events,
                "missing or unknown token: use the token /alerts source-add (or source-rotate) showed",
                &[],
            ),
        ),
        Err(Refusal::Invalid(bad)) => (
            "invalid",
            answer(StatusCode::BAD_REQUEST, events, "Event object is invalid", &bad.0),
        ),
        Err(Refusal::TooMany { retry_after }) => {
            let mut r = answer(
                StatusCode::TOO_MANY_REQUESTS,
                events,
                "this source sends more than 50 events a second: slow down",
                &[],
            );
            r.headers_mut().insert(header::RETRY_AFTER, retry_after.into());
            ("rate-limited", r)
        }
        Err(Refusal::Unavailable(e)) => {
            tracing::error!(error = %e, source_kind = %kind, "could not store a monitoring event");
            let mut r = answer(
                StatusCode::SERVICE_UNAVAILABLE,
                events,
                "the desk could not store the event; retry",
                &[],
            );
            r.headers_mut().insert(header::RETRY_AFTER, 5.into());
            ("unavailable", r)
        }
    }
}

fn accepted_answer(events: bool, a: &Accepted) -> Response {
    let body = if events {
        json!({ "status": "success", "message": "Event processed", "dedup_key": a.dedup_key })
    } else {
        json!({ "status": "success", "message": "Event accepted" })
    };
    (StatusCode::ACCEPTED, Json(body)).into_response()
}

/// A refusal: PagerDuty's shape on `/v2/enqueue`, `{ "error", "errors" }` elsewhere.
fn answer(status: StatusCode, events: bool, message: &str, errors: &[String]) -> Response {
    let body = if events {
        let label = if status == StatusCode::BAD_REQUEST {
            "invalid event"
        } else {
            "error"
        };
        json!({ "status": label, "message": message, "errors": errors })
    } else if errors.is_empty() {
        json!({ "error": message })
    } else {
        json!({ "error": format!("{message}: {}", errors.join("; ")), "errors": errors })
    };
    (status, Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(name: header::HeaderName, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, value.parse().unwrap());
        h
    }

    #[test]
    fn bearer_and_basic_both_carry_the_token() {
        assert_eq!(
            credentials(&with(header::AUTHORIZATION, "Bearer abc")).as_deref(),
            Some("abc")
        );
        // "alertmanager:s3cret"
        let basic = with(header::AUTHORIZATION, "Basic YWxlcnRtYW5hZ2VyOnMzY3JldA==");
        assert_eq!(credentials(&basic).as_deref(), Some("s3cret"));
        assert_eq!(credentials(&with(header::AUTHORIZATION, "Token abc")), None);
        assert_eq!(credentials(&HeaderMap::new()), None);
    }

    #[test]
    fn only_json_is_read() {
        assert!(is_json(&with(header::CONTENT_TYPE, "application/json; charset=utf-8")));
        assert!(!is_json(&with(header::CONTENT_TYPE, "text/plain")));
        assert!(!is_json(&HeaderMap::new()));
    }
}
