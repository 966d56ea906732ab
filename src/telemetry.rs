//! What the bot tells whoever runs it: logs (text or JSON), the Prometheus metrics behind
//! `/metrics`, and whether the gateway is connected (one of `/healthz`'s checks).
//!
//! Each bot instance owns one [`Metrics`] (no global registry), so tests that run several bots
//! in one process each count only their own. The gateway, the writer, the outbox and the
//! scheduler record into it; `web` encodes it.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// How log lines are written (`LOG_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (the default).
    Text,
    /// One JSON object a line, for log shippers.
    Json,
}

/// serenity's HTTP client records each request, body included, in a span: interaction replies
/// are among them, and one of those shows a new monitoring source's token. It is held at `warn`
/// (no spans) unless the filter names it itself.
const QUIET_HTTP: &str = "serenity::http=warn";

/// The filter in force for `filter`: as given, with serenity's request spans held back.
pub fn effective_filter(filter: &str) -> String {
    if filter.contains("serenity::http") {
        filter.to_owned()
    } else if filter.trim().is_empty() {
        QUIET_HTTP.to_owned()
    } else {
        format!("{filter},{QUIET_HTTP}")
    }
}

/// Installs the process's log subscriber: `filter` in tracing's `EnvFilter` syntax.
pub fn init_logs(filter: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::new(effective_filter(filter));
    match format {
        LogFormat::Text => tracing_subscriber::fmt().with_env_filter(filter).init(),
        LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_env_filter(filter)
            .init(),
    }
}

/// An interaction's kind and command name.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct InteractionLabels {
    /// command, component, modal, autocomplete.
    pub kind: &'static str,
    /// The slash command (`incident`), or the button's action (`ack`).
    pub command: String,
}

/// One label: a use-case outcome, an outbox reason, a timer kind or a ticket kind.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// ok / refused / internal.
    pub outcome: &'static str,
}

/// Why the outbox retried or gave up on a message.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    /// rate-limited, server-error, network, refused.
    pub reason: &'static str,
}

/// A timer kind.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TimerLabels {
    /// sla_warn, escalate, …
    pub kind: String,
}

/// A ticket kind.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    /// request, incident, change.
    pub kind: String,
}

/// A monitoring webhook's answer.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EventLabels {
    /// alertmanager, grafana, events.
    pub kind: &'static str,
    /// accepted, unauthorized, invalid, rate-limited, unavailable, unsupported-type.
    pub outcome: &'static str,
}

/// The bot's metrics (see README, "Monitoring", for what each means).
pub struct Metrics {
    registry: Registry,
    /// Interactions received, by kind and command.
    pub interactions: Family<InteractionLabels, Counter>,
    /// Seconds from an interaction's arrival to its first response (reply, modal or deferral).
    pub first_response: Histogram,
    /// Interactions answered with a deferral first ("thinking…").
    pub deferrals: Counter,
    /// Use-case outcomes: ok, refused (a user error), internal.
    pub outcomes: Family<OutcomeLabels, Counter>,
    /// Write transactions committed.
    pub commits: Counter,
    /// Use-cases per commit.
    pub batch_size: Histogram,
    /// Outbox messages delivered.
    pub outbox_sent: Counter,
    /// Outbox attempts that will be tried again, by reason.
    pub outbox_retried: Family<ReasonLabels, Counter>,
    /// Outbox messages given up on, by reason.
    pub outbox_failed: Family<ReasonLabels, Counter>,
    /// Messages waiting in the outbox (set at each scrape).
    pub outbox_pending: Gauge,
    /// Age in seconds of the oldest message that is due and not yet sent (set at each scrape).
    pub outbox_oldest_due: Gauge<f64, AtomicU64>,
    /// Timers fired, by kind.
    pub timers_fired: Family<TimerLabels, Counter>,
    /// Seconds between a timer's due time and its firing.
    pub scheduler_lag: Histogram,
    /// Open tickets by kind (set at each scrape).
    pub open_tickets: Family<KindLabels, Gauge>,
    /// 1 while the gateway session is connected (also `/healthz`'s gateway check).
    pub gateway_up: Gauge,
    /// Monitoring events by endpoint and answer.
    pub alert_events: Family<EventLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

/// Latency buckets from 0.5 ms to about 16 s.
fn latency_buckets() -> impl Iterator<Item = f64> {
    prometheus_client::metrics::histogram::exponential_buckets(0.0005, 2.0, 16)
}

impl Metrics {
    /// A fresh registry with every metric at zero.
    pub fn new() -> Metrics {
        let mut m = Metrics {
            registry: Registry::default(),
            interactions: Family::default(),
            first_response: Histogram::new(latency_buckets()),
            deferrals: Counter::default(),
            outcomes: Family::default(),
            commits: Counter::default(),
            batch_size: Histogram::new([1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]),
            outbox_sent: Counter::default(),
            outbox_retried: Family::default(),
            outbox_failed: Family::default(),
            outbox_pending: Gauge::default(),
            outbox_oldest_due: Gauge::default(),
            timers_fired: Family::default(),
            scheduler_lag: Histogram::new(latency_buckets()),
            open_tickets: Family::default(),
            gateway_up: Gauge::default(),
            alert_events: Family::default(),
        };
        let r = &mut m.registry;
        r.register(
            "servicedesk_interactions",
            "Interactions received",
            m.interactions.clone(),
        );
        r.register(
            "servicedesk_first_response_seconds",
            "Time from an interaction's arrival to its first response",
            m.first_response.clone(),
        );
        r.register(
            "servicedesk_deferrals",
            "Interactions answered with a deferral first",
            m.deferrals.clone(),
        );
        r.register("servicedesk_usecase_outcomes", "Use-case outcomes", m.outcomes.clone());
        r.register(
            "servicedesk_alert_events",
            "Monitoring webhook requests by endpoint and answer",
            m.alert_events.clone(),
        );
        r.register("servicedesk_commits", "Write transactions committed", m.commits.clone());
        r.register(
            "servicedesk_commit_batch_size",
            "Use-cases per commit",
            m.batch_size.clone(),
        );
        r.register(
            "servicedesk_outbox_sent",
            "Outbox messages delivered",
            m.outbox_sent.clone(),
        );
        r.register(
            "servicedesk_outbox_retried",
            "Outbox attempts to be retried",
            m.outbox_retried.clone(),
        );
        r.register(
            "servicedesk_outbox_failed",
            "Outbox messages given up on",
            m.outbox_failed.clone(),
        );
        r.register(
            "servicedesk_outbox_pending",
            "Messages waiting in the outbox",
            m.outbox_pending.clone(),
        );
        r.register(
            "servicedesk_outbox_oldest_due_seconds",
            "Age of the oldest due outbox message not yet sent",
            m.outbox_oldest_due.clone(),
        );
        r.register("servicedesk_timers_fired", "Timers fired", m.timers_fired.clone());
        r.register(
            "servicedesk_scheduler_lag_seconds",
            "Time between a timer's due time and its firing",
            m.scheduler_lag.clone(),
        );
        r.register("servicedesk_open_tickets", "Open tickets", m.open_tickets.clone());
        r.register(
            "servicedesk_gateway_connected",
            "1 while the gateway session is connected",
            m.gateway_up.clone(),
        );
        m
    }

    /// Counts one interaction.
    pub fn interaction(&self, kind: &'static str, command: &str) {
        self.interactions
            .get_or_create(&InteractionLabels {
                kind,
                command: command.to_owned(),
            })
            .inc();
    }

    /// Counts one use-case outcome (`ok`, `refused`, `internal`).
    pub fn outcome(&self, outcome: &'static str) {
        self.outcomes.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    /// Counts one outbox retry.
    pub fn retried(&self, reason: &'static str) {
        self.outbox_retried.get_or_create(&ReasonLabels { reason }).inc();
    }

    /// Counts one outbox message given up on.
    pub fn failed(&self, reason: &'static str) {
        self.outbox_failed.get_or_create(&ReasonLabels { reason }).inc();
    }

    /// Counts one fired timer and how late it fired.
    pub fn timer_fired(&self, kind: &str, lag: Duration) {
        self.timers_fired
            .get_or_create(&TimerLabels { kind: kind.to_owned() })
            .inc();
        self.scheduler_lag.observe(lag.as_secs_f64());
    }

    /// Records whether the gateway session is connected.
    pub fn set_gateway_connected(&self, up: bool) {
        self.gateway_up.set(i64::from(up));
    }

    /// Whether the gateway session is connected.
    pub fn gateway_connected(&self) -> bool {
        self.gateway_up.get() == 1
    }

    /// The registry in Prometheus' text exposition format (OpenMetrics 1.0).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
