//! The HTTP listener on `HTTP_ADDR`: `GET /healthz` and `GET /metrics` for operators, and the
//! monitoring webhooks (`hooks`) that turn alerts into incidents.
//!
//! Every answer comes from the desk (`service`); nothing here touches the database itself. Requests over
//! [`MAX_BODY_BYTES`] are refused with 413 before any handler runs, and a `GET` with a body
//! with 400, so a stray or hostile client cannot make the bot buffer anything.

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use tokio::net::TcpListener;

use crate::service::Desk;

mod hooks;

/// The largest request body any route accepts (the monitoring webhooks' limit too).
pub const MAX_BODY_BYTES: u64 = 1024 * 1024;

/// Longest the oldest undelivered outbox message may wait before `/healthz` fails.
pub const OUTBOX_HEALTHY_WAIT: Duration = Duration::from_secs(5 * 60);

/// Prometheus' content type for the OpenMetrics text format.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Why the listener could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on HTTP_ADDR={addr}: {source}")]
pub struct ListenError {
    addr: SocketAddr,
    source: std::io::Error,
}

/// Binds `addr` (port 0 picks a free one; see [`TcpListener::local_addr`]).
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, ListenError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ListenError { addr, source })
}

/// Every route of the listener.
pub fn router(desk: Desk) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/hooks/alertmanager", post(hooks::alertmanager))
        .route("/hooks/grafana", post(hooks::grafana))
        .route("/v2/enqueue", post(hooks::enqueue))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES as usize))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(guard))
        .with_state(desk)
}

/// Serves `router` on `listener` until `stop` completes.
pub async fn serve(listener: TcpListener, desk: Desk, stop: impl std::future::Future<Output = ()> + Send + 'static) {
    if let Err(e) = axum::serve(listener, router(desk)).with_graceful_shutdown(stop).await {
        tracing::error!(error = %e, "the HTTP listener stopped");
    }
}

fn problem(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// Refuses bodies that are too large (by `Content-Length`) and bodies on `GET`.
async fn guard(request: Request, next: Next) -> Response {
    let headers = request.headers();
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if length.is_some_and(|n| n > MAX_BODY_BYTES) {
        return problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("request bodies are limited to {MAX_BODY_BYTES} bytes"),
        );
    }
    let has_body = length.is_some_and(|n| n > 0) || headers.contains_key(header::TRANSFER_ENCODING);
    if has_body && matches!(*request.method(), Method::GET | Method::HEAD) {
        return problem(StatusCode::BAD_REQUEST, "GET requests take no body");
    }
    next.run(request).await
}

async fn not_found() -> Response {
    problem(
        StatusCode::NOT_FOUND,
        "no such path: try /healthz, /metrics, /hooks/alertmanager, /hooks/grafana or /v2/enqueue",
    )
}

async fn method_not_allowed() -> Response {
    problem(StatusCode::METHOD_NOT_ALLOWED, "method not allowed on this path")
}

/// `200` when every check passes, else `503`; the body names each check either way.
async fn healthz(State(desk): State<Desk>) -> Response {
    let h = desk.health().await;
    let outbox_ok = h.outbox_oldest.is_none_or(|age| age < OUTBOX_HEALTHY_WAIT);
    let checks = json!({
        "database": match &h.database {
            Ok(()) => json!({ "ok": true }),
            Err(e) => json!({ "ok": false, "error": e }),
        },
        "gateway": { "ok": h.gateway },
        "outbox": {
            "ok": outbox_ok,
            "pending": h.outbox_pending,
            "oldest_wait_seconds": h.outbox_oldest.map_or(0, |d| d.as_secs()),
            "limit_seconds": OUTBOX_HEALTHY_WAIT.as_secs(),
        },
    });
    let healthy = h.database.is_ok() && h.gateway && outbox_ok;
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if healthy { "ok" } else { "failing" },
        "version": crate::version_line(),
        "checks": checks,
    });
    (status, [(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
}

/// The metrics in Prometheus' text format; the database gauges are read at each scrape.
async fn metrics(State(desk): State<Desk>) -> Response {
    if let Err(e) = desk.refresh_gauges().await {
        tracing::warn!(error = %e, "could not read the gauges for /metrics");
    }
    let text = desk.metrics().encode();
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, OPENMETRICS)
        .body(Body::from(text))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}
