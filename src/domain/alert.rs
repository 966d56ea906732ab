//! Event management: what monitoring sends, checked and read into what the desk acts on.
//!
//! Three wire formats arrive: Alertmanager's webhook (`"version": "4"`), Grafana's webhook
//! contact point (`"version": "1"`, the same envelope and a few more fields) and PagerDuty's
//! Events API v2. Each is checked here ([`read_notification`], [`read_event`]) so a bad body is
//! refused before it is stored, naming the field; and the rules that decide what a notification
//! changes ([`apply`]) are plain functions over plain values.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde_json::Value;

use super::duration::SlaDuration;
use super::Priority;

/// The kind of a monitoring source: which endpoint and body it speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceKind {
    /// Prometheus Alertmanager's webhook receiver.
    Alertmanager,
    /// Grafana alerting's webhook contact point.
    Grafana,
    /// PagerDuty's Events API v2 (anything that speaks it).
    Events,
}

impl SourceKind {
    /// Every kind, in the order the choice list shows them.
    pub const ALL: [SourceKind; 3] = [SourceKind::Alertmanager, SourceKind::Grafana, SourceKind::Events];

    /// The stored and typed name.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Alertmanager => "alertmanager",
            SourceKind::Grafana => "grafana",
            SourceKind::Events => "events",
        }
    }

    /// From the stored name.
    pub fn parse(s: &str) -> Option<SourceKind> {
        SourceKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The path its events are posted to.
    pub fn path(self) -> &'static str {
        match self {
            SourceKind::Alertmanager => "/hooks/alertmanager",
            SourceKind::Grafana => "/hooks/grafana",
            SourceKind::Events => "/v2/enqueue",
        }
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Longest source name.
pub const MAX_SOURCE_NAME_CHARS: usize = 32;
/// Longest grace: a day (a longer one would keep a fixed outage open for nothing).
pub const MAX_GRACE_SECONDS: i64 = 24 * 3600;
/// The grace when none is given.
pub const DEFAULT_GRACE_SECONDS: i64 = 5 * 60;
/// Events one source may send in one second before it hears 429.
pub const MAX_EVENTS_PER_SECOND: u32 = 50;
/// How far a Grafana signature's timestamp may be from now.
pub const SIGNATURE_WINDOW_SECONDS: i64 = 5 * 60;
/// Longest Events v2 summary (PagerDuty's limit).
pub const MAX_EVENT_SUMMARY_CHARS: usize = 1024;
/// Longest `dedup_key` (PagerDuty's limit).
pub const MAX_DEDUP_KEY_CHARS: usize = 255;
/// Longest group key kept (Alertmanager's are label sets; longer ones are refused).
pub const MAX_GROUP_KEY_CHARS: usize = 2048;
/// Longest URL a link button may carry (Discord's limit).
pub const MAX_LINK_URL_CHARS: usize = 512;

/// A source argument that was refused; the message is shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceArgError {
    /// Not 1–32 characters of a-z, 0-9 and `-`.
    #[error("A source name is 1 to 32 characters of a-z, 0-9 and -, like `prometheus-prod` (got `{0}`).")]
    Name(String),
    /// Not a wall-clock duration from 0m to 24h.
    #[error("The grace is a duration from 0m to 24h, like 5m or 1h (got `{0}`).")]
    Grace(String),
}

/// Checks a source name.
pub fn source_name(text: &str) -> Result<String, SourceArgError> {
    let t = text.trim();
    let ok = (1..=MAX_SOURCE_NAME_CHARS).contains(&t.chars().count())
        && t.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(t.to_owned())
    } else {
        Err(SourceArgError::Name(t.chars().take(40).collect()))
    }
}

/// Parses a grace: `0m` (or `0`) for none, else a wall-clock duration up to a day, in seconds.
pub fn grace_seconds(text: &str) -> Result<i64, SourceArgError> {
    let t = text.trim().to_ascii_lowercase();
    if matches!(t.as_str(), "0" | "0m" | "0s" | "0h") {
        return Ok(0);
    }
    SlaDuration::parse(&t)
        .ok()
        .and_then(SlaDuration::wall_seconds)
        .filter(|s| *s <= MAX_GRACE_SECONDS)
        .ok_or_else(|| SourceArgError::Grace(text.trim().chars().take(24).collect()))
}

/// The priority an alert's severity means: `critical` P1; `error`, `major`, `high` P2;
/// `warning` P3; `info`, `low` P5; anything else, or none, P3.
pub fn severity_priority(severity: Option<&str>) -> Priority {
    match severity.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
        Some("critical") => Priority::P1,
        Some("error" | "major" | "high") => Priority::P2,
        Some("info" | "low") => Priority::P5,
        _ => Priority::P3,
    }
}

/// Why a body was refused: each problem names its field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadEvent(pub Vec<String>);

impl fmt::Display for BadEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("; "))
    }
}

/// One alert's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertStatus {
    /// Firing.
    Firing,
    /// Resolved.
    Resolved,
}

impl AlertStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Firing => "firing",
            AlertStatus::Resolved => "resolved",
        }
    }

    /// From the wire or stored name.
    pub fn parse(s: &str) -> Option<AlertStatus> {
        match s {
            "firing" => Some(AlertStatus::Firing),
            "resolved" => Some(AlertStatus::Resolved),
            _ => None,
        }
    }
}

/// One alert of an Alertmanager or Grafana notification.
#[derive(Debug, Clone, Deserialize)]
pub struct Alert {
    /// `firing` or `resolved` (checked by [`read_notification`]).
    pub status: String,
    /// Identifying labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Summary, description, runbook …
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// When this firing started (RFC 3339, as sent).
    #[serde(rename = "startsAt")]
    pub starts_at: String,
    /// When it ended (`0001-01-01T00:00:00Z` while firing).
    #[serde(rename = "endsAt", default)]
    pub ends_at: Option<String>,
    /// The expression's page in Prometheus, the rule in Grafana.
    #[serde(rename = "generatorURL", default)]
    pub generator_url: Option<String>,
    /// Alertmanager's and Grafana's identity of the alert (from its labels).
    #[serde(default)]
    pub fingerprint: Option<String>,
    /// Grafana: the dashboard.
    #[serde(rename = "dashboardURL", default)]
    pub dashboard_url: Option<String>,
    /// Grafana: the panel.
    #[serde(rename = "panelURL", default)]
    pub panel_url: Option<String>,
    /// Grafana: a silence for this alert.
    #[serde(rename = "silenceURL", default)]
    pub silence_url: Option<String>,
}

impl Alert {
    /// The alert's identity: its fingerprint, or (from a sender that omits it) its sorted labels.
    pub fn identity(&self) -> String {
        match self.fingerprint.as_deref().filter(|f| !f.is_empty()) {
            Some(f) => f.to_owned(),
            None => self
                .labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(","),
        }
    }

    /// Its name: the `alertname` label, else its identity.
    pub fn name(&self) -> String {
        self.labels.get("alertname").cloned().unwrap_or_else(|| self.identity())
    }

    fn status(&self) -> AlertStatus {
        AlertStatus::parse(&self.status).unwrap_or(AlertStatus::Firing)
    }
}

/// An Alertmanager (`"version": "4"`) or Grafana (`"version": "1"`) notification.
#[derive(Debug, Clone, Deserialize)]
pub struct Notification {
    /// The body's format version.
    pub version: String,
    /// The group this notification is about.
    #[serde(rename = "groupKey")]
    pub group_key: String,
    /// `firing` while any alert fires.
    pub status: String,
    /// The receiver (or contact point) that sent it.
    #[serde(default)]
    pub receiver: Option<String>,
    /// The group's alerts.
    pub alerts: Vec<Alert>,
    /// Labels the group is keyed by.
    #[serde(rename = "groupLabels", default)]
    pub group_labels: BTreeMap<String, String>,
    /// Labels every alert shares.
    #[serde(rename = "commonLabels", default)]
    pub common_labels: BTreeMap<String, String>,
    /// Annotations every alert shares.
    #[serde(rename = "commonAnnotations", default)]
    pub common_annotations: BTreeMap<String, String>,
    /// The sender's own address.
    #[serde(rename = "externalURL", default)]
    pub external_url: Option<String>,
    /// Alerts left out of this body (`max_alerts`).
    #[serde(rename = "truncatedAlerts", default)]
    pub truncated_alerts: u64,
    /// Grafana: the notification's title.
    #[serde(default)]
    pub title: Option<String>,
}

fn field_type(v: &Value, path: &str, want: &str, problems: &mut Vec<String>) {
    let ok = match want {
        "string" => v.is_string(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        _ => true,
    };
    if !ok {
        problems.push(format!("`{path}` must be a JSON {want}"));
    }
}

fn string_map(v: &Value, path: &str, problems: &mut Vec<String>) {
    match v {
        Value::Null => {}
        Value::Object(m) => {
            for (k, x) in m {
                if !x.is_string() {
                    problems.push(format!("`{path}.{k}` must be a string"));
                }
            }
        }
        _ => problems.push(format!("`{path}` must be a JSON object of strings")),
    }
}

/// Checks and reads an Alertmanager or Grafana notification: `version` (`"4"` for
/// Alertmanager, `"1"` for Grafana), `groupKey`, `status`, `alerts` with each alert's `status`,
/// `labels` and `startsAt`.
pub fn read_notification(kind: SourceKind, body: &Value) -> Result<Notification, BadEvent> {
    let mut problems = Vec::new();
    let Some(obj) = body.as_object() else {
        return Err(BadEvent(vec!["the body must be a JSON object".into()]));
    };
    let version = match kind {
        SourceKind::Grafana => "1",
        _ => "4",
    };
    match obj.get("version").and_then(Value::as_str) {
        Some(v) if v == version => {}
        Some(v) => problems.push(format!(
            "`version` is \"{v}\"; this endpoint reads version \"{version}\""
        )),
        None => problems.push("`version` is missing".into()),
    }
    match obj.get("groupKey").and_then(Value::as_str) {
        Some(k) if k.chars().count() > MAX_GROUP_KEY_CHARS => {
            problems.push(format!("`groupKey` is longer than {MAX_GROUP_KEY_CHARS} characters"))
        }
        Some(_) => {}
        None => problems.push("`groupKey` is missing".into()),
    }
    match obj.get("status").and_then(Value::as_str) {
        Some("firing" | "resolved") => {}
        Some(_) => problems.push("`status` must be \"firing\" or \"resolved\"".into()),
        None => problems.push("`status` is missing".into()),
    }
    for key in ["groupLabels", "commonLabels", "commonAnnotations"] {
        string_map(obj.get(key).unwrap_or(&Value::Null), key, &mut problems);
    }
    match obj.get("alerts") {
        None => problems.push("`alerts` is missing".into()),
        Some(Value::Array(alerts)) => {
            for (i, a) in alerts.iter().enumerate() {
                let at = format!("alerts[{i}]");
                match a.get("status").and_then(Value::as_str) {
                    Some("firing" | "resolved") => {}
                    _ => problems.push(format!("`{at}.status` must be \"firing\" or \"resolved\"")),
                }
                match a.get("startsAt") {
                    Some(v) => field_type(v, &format!("{at}.startsAt"), "string", &mut problems),
                    None => problems.push(format!("`{at}.startsAt` is missing")),
                }
                match a.get("labels") {
                    Some(v) => string_map(v, &format!("{at}.labels"), &mut problems),
                    None => problems.push(format!("`{at}.labels` is missing")),
                }
                string_map(
                    a.get("annotations").unwrap_or(&Value::Null),
                    &format!("{at}.annotations"),
                    &mut problems,
                );
                for key in [
                    "fingerprint",
                    "generatorURL",
                    "dashboardURL",
                    "panelURL",
                    "silenceURL",
                    "endsAt",
                ] {
                    if let Some(v) = a.get(key).filter(|v| !v.is_null()) {
                        field_type(v, &format!("{at}.{key}"), "string", &mut problems);
                    }
                }
            }
        }
        Some(_) => problems.push("`alerts` must be a JSON array".into()),
    }
    if !problems.is_empty() {
        return Err(BadEvent(problems));
    }
    serde_json::from_value(body.clone()).map_err(|e| BadEvent(vec![e.to_string()]))
}

/// What an Events v2 event asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventAction {
    /// Open (or, while open, nothing).
    Trigger,
    /// Stop paging.
    Acknowledge,
    /// It is over.
    Resolve,
}

/// An Events v2 event's `payload`.
#[derive(Debug, Clone, Deserialize)]
pub struct EventPayload {
    /// What is wrong (≤ 1024).
    pub summary: String,
    /// The affected system.
    pub source: String,
    /// `critical`, `error`, `warning` or `info`.
    pub severity: String,
    /// When it was detected.
    #[serde(default)]
    pub timestamp: Option<String>,
    /// The part of the system.
    #[serde(default)]
    pub component: Option<String>,
    /// A grouping of components.
    #[serde(default)]
    pub group: Option<String>,
    /// The class of problem.
    #[serde(default)]
    pub class: Option<String>,
    /// Anything more.
    #[serde(default)]
    pub custom_details: Option<Value>,
}

/// An Events v2 link.
#[derive(Debug, Clone, Deserialize)]
pub struct EventLink {
    /// Where.
    pub href: String,
    /// Its label.
    #[serde(default)]
    pub text: Option<String>,
}

/// A checked Events v2 event.
#[derive(Debug, Clone)]
pub struct Event {
    /// The source's token.
    pub routing_key: String,
    /// What it asks.
    pub action: EventAction,
    /// The incident's key within the source (made up for a trigger without one).
    pub dedup_key: Option<String>,
    /// Present for triggers.
    pub payload: Option<EventPayload>,
    /// Links for the card.
    pub links: Vec<EventLink>,
}

/// The routing key of an Events v2 body, if it has one (read before anything else: it is the
/// credential).
pub fn routing_key(body: &Value) -> Option<&str> {
    body.get("routing_key")
        .and_then(Value::as_str)
        .filter(|k| !k.is_empty())
}

fn blank(v: Option<&Value>) -> bool {
    v.and_then(Value::as_str).is_none_or(|s| s.trim().is_empty())
}

/// Checks and reads an Events v2 body, with PagerDuty's wording for what is wrong.
pub fn read_event(body: &Value) -> Result<Event, BadEvent> {
    let mut problems = Vec::new();
    let Some(obj) = body.as_object() else {
        return Err(BadEvent(vec!["Event object is invalid".into()]));
    };
    let action = match obj.get("event_action").and_then(Value::as_str) {
        Some("trigger") => Some(EventAction::Trigger),
        Some("acknowledge") => Some(EventAction::Acknowledge),
        Some("resolve") => Some(EventAction::Resolve),
        Some(_) => {
            problems.push("'event_action' is invalid (must be one of: 'trigger', 'acknowledge', 'resolve')".into());
            None
        }
        None => {
            problems.push("'event_action' is missing or blank".into());
            None
        }
    };
    let dedup_key = match obj.get("dedup_key") {
        None | Some(Value::Null) => None,
        Some(Value::String(k)) if k.chars().count() > MAX_DEDUP_KEY_CHARS => {
            problems.push(format!("'dedup_key' is longer than {MAX_DEDUP_KEY_CHARS} characters"));
            None
        }
        Some(Value::String(k)) => Some(k.clone()).filter(|k| !k.is_empty()),
        Some(_) => {
            problems.push("'dedup_key' must be a string".into());
            None
        }
    };
    if matches!(action, Some(EventAction::Acknowledge | EventAction::Resolve)) && dedup_key.is_none() {
        problems.push("'dedup_key' is missing or blank".into());
    }
    let payload = obj.get("payload");
    if action == Some(EventAction::Trigger) {
        match payload {
            Some(Value::Object(p)) => {
                for key in ["summary", "source", "severity"] {
                    if blank(p.get(key)) {
                        problems.push(format!("'payload.{key}' is missing or blank"));
                    }
                }
                if let Some(s) = p.get("summary").and_then(Value::as_str) {
                    if s.chars().count() > MAX_EVENT_SUMMARY_CHARS {
                        problems.push(format!(
                            "'payload.summary' is longer than {MAX_EVENT_SUMMARY_CHARS} characters"
                        ));
                    }
                }
                if let Some(s) = p.get("severity").and_then(Value::as_str) {
                    if !matches!(s, "critical" | "error" | "warning" | "info") {
                        problems.push(
                            "'payload.severity' is invalid (must be one of: 'critical', 'error', 'warning', 'info')"
                                .into(),
                        );
                    }
                }
            }
            _ => problems.push("'payload' is missing or not an object".into()),
        }
    }
    if let Some(l) = obj.get("links").filter(|l| !l.is_null()) {
        if !l
            .as_array()
            .is_some_and(|a| a.iter().all(|x| x.get("href").is_some_and(Value::is_string)))
        {
            problems.push("'links' must be an array of objects with 'href'".into());
        }
    }
    if !problems.is_empty() {
        return Err(BadEvent(problems));
    }
    let payload = match (action, payload) {
        (Some(EventAction::Trigger), Some(p)) => {
            Some(serde_json::from_value(p.clone()).map_err(|e| BadEvent(vec![format!("'payload': {e}")]))?)
        }
        _ => None,
    };
    let links = obj
        .get("links")
        .and_then(|l| serde_json::from_value(l.clone()).ok())
        .unwrap_or_default();
    Ok(Event {
        routing_key: routing_key(body).unwrap_or_default().to_owned(),
        action: action.unwrap_or(EventAction::Trigger),
        dedup_key,
        payload,
        links,
    })
}

/// One tracked alert of a group, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracked {
    /// Identity (fingerprint).
    pub fingerprint: String,
    /// The `startsAt` of its current firing.
    pub starts_at: String,
    /// Firing or resolved.
    pub status: AlertStatus,
    /// Its name, for the card.
    pub name: String,
}

/// What a notification changes in a group's alerts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delta {
    /// Rows to write (new or changed).
    pub upserts: Vec<Tracked>,
    /// Names of alerts that joined the group firing (never seen in it before).
    pub joined: Vec<String>,
    /// Names of alerts that fire again (a new `startsAt`) after they had resolved.
    pub refired: Vec<String>,
    /// Names of alerts that resolved.
    pub resolved: Vec<String>,
    /// The group's alerts after the change.
    pub after: Vec<Tracked>,
}

impl Delta {
    /// Nothing changed: a repeat or a duplicate (an HA peer) of what is known.
    pub fn is_noop(&self) -> bool {
        self.upserts.is_empty()
    }

    /// How many of the group's alerts fire after the change.
    pub fn firing(&self) -> usize {
        self.after.iter().filter(|a| a.status == AlertStatus::Firing).count()
    }
}

/// The alerts of a notification as the group tracks them.
pub fn incoming(n: &Notification) -> Vec<Tracked> {
    n.alerts
        .iter()
        .map(|a| Tracked {
            fingerprint: a.identity(),
            starts_at: a.starts_at.clone(),
            status: a.status(),
            name: a.name(),
        })
        .collect()
}

/// Applies a notification's alerts to what a group knows. A copy of something already known
/// (a repeat interval, the other peer of an HA pair, a late duplicate) changes nothing; a
/// firing alert with a `startsAt` already seen resolved is such a late copy, not a new firing.
pub fn apply(known: &[Tracked], incoming: &[Tracked]) -> Delta {
    let mut state: BTreeMap<String, Tracked> = known.iter().map(|k| (k.fingerprint.clone(), k.clone())).collect();
    let mut d = Delta::default();
    for a in incoming {
        let changed = match state.get(&a.fingerprint) {
            None => {
                if a.status == AlertStatus::Firing {
                    d.joined.push(a.name.clone());
                }
                true
            }
            Some(k) if k.starts_at == a.starts_at => match (k.status, a.status) {
                (AlertStatus::Firing, AlertStatus::Resolved) => {
                    d.resolved.push(a.name.clone());
                    true
                }
                // Same firing and status, or a late "firing" copy of a firing already over.
                _ => false,
            },
            Some(k) => match (k.status, a.status) {
                (AlertStatus::Resolved, AlertStatus::Firing) => {
                    d.refired.push(a.name.clone());
                    true
                }
                (AlertStatus::Firing, AlertStatus::Resolved) => {
                    d.resolved.push(a.name.clone());
                    true
                }
                _ => true, // a newer firing (or resolution) of the same state: keep its time
            },
        };
        if changed {
            state.insert(a.fingerprint.clone(), a.clone());
            d.upserts.push(a.clone());
        }
    }
    d.after = state.into_values().collect();
    d
}

/// Whether a notification that finds no open incident for its group is only a late copy of
/// the previous incident's alerts: every alert it reports firing was seen resolved with the
/// same `startsAt`. Then it opens nothing.
pub fn is_stale(previous: &[Tracked], incoming: &[Tracked]) -> bool {
    let firing: Vec<&Tracked> = incoming.iter().filter(|a| a.status == AlertStatus::Firing).collect();
    firing.iter().all(|a| {
        previous
            .iter()
            .any(|p| p.fingerprint == a.fingerprint && p.starts_at == a.starts_at && p.status == AlertStatus::Resolved)
    })
}

/// Cuts `text` to `max` characters, ending with `…` when cut.
pub fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
    s.push('…');
    s
}

/// A URL a link button may carry: http(s), at most Discord's 512 characters.
pub fn usable_link(url: Option<&str>) -> Option<String> {
    let u = url?.trim();
    let ok = (u.starts_with("https://") || u.starts_with("http://")) && u.len() <= MAX_LINK_URL_CHARS && u.len() > 8;
    ok.then(|| u.to_owned())
}

/// What an incident raised from a notification starts with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raised {
    /// Its title (≤ `max_title` characters).
    pub title: String,
    /// Its details: description and labels.
    pub details: String,
    /// Its priority, from `severity`.
    pub priority: Priority,
    /// The `service` label, if any (incidents are grouped by service).
    pub service: Option<String>,
    /// Link buttons: (label, URL), at most five.
    pub links: Vec<(String, String)>,
    /// The alert's name (`alertname`), for recurrence when no service is named.
    pub alert_name: Option<String>,
}

/// Reads the incident a notification raises: title from `summary` (common annotations, then
/// the first firing alert's), else `alertname`; details from `description` and the labels;
/// priority from `severity` (common labels, then the first firing alert's); links from the
/// first firing alert.
pub fn raised(n: &Notification, max_title: usize, max_details: usize) -> Raised {
    let first = n
        .alerts
        .iter()
        .find(|a| a.status() == AlertStatus::Firing)
        .or(n.alerts.first());
    let pick = |key: &str, common: &BTreeMap<String, String>, own: fn(&Alert) -> &BTreeMap<String, String>| {
        common
            .get(key)
            .or_else(|| first.and_then(|a| own(a).get(key)))
            .filter(|s| !s.trim().is_empty())
            .cloned()
    };
    let annotation = |key: &str| pick(key, &n.common_annotations, |a| &a.annotations);
    let label = |key: &str| pick(key, &n.common_labels, |a| &a.labels);
    let title = annotation("summary")
        .or_else(|| label("alertname"))
        .unwrap_or_else(|| n.group_key.clone());
    let labels = if n.common_labels.is_empty() {
        first.map(|a| a.labels.clone()).unwrap_or_default()
    } else {
        n.common_labels.clone()
    };
    let mut details = annotation("description").unwrap_or_default();
    if !labels.is_empty() {
        let list: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        if !details.is_empty() {
            details.push_str("\n\n");
        }
        details.push_str(&format!("Labels: {}", list.join(", ")));
    }
    let mut links = Vec::new();
    if let Some(a) = first {
        let candidates = [
            ("Source", a.generator_url.as_deref()),
            ("Dashboard", a.dashboard_url.as_deref()),
            ("Panel", a.panel_url.as_deref()),
            ("Silence", a.silence_url.as_deref()),
            ("Runbook", a.annotations.get("runbook_url").map(String::as_str)),
        ];
        for (label, url) in candidates {
            if let Some(u) = usable_link(url) {
                links.push((label.to_owned(), u));
            }
        }
    }
    Raised {
        title: cut(title.trim(), max_title),
        details: cut(&details, max_details),
        priority: severity_priority(label("severity").as_deref()),
        service: label("service").map(|s| cut(&s, 80)),
        links,
        alert_name: label("alertname").map(|s| cut(&s, 80)),
    }
}

/// Reads the incident an Events v2 trigger raises.
pub fn raised_by_event(e: &Event, max_title: usize, max_details: usize) -> Raised {
    let p = e.payload.as_ref();
    let title = p.map(|p| p.summary.trim().to_owned()).unwrap_or_default();
    let mut lines = Vec::new();
    if let Some(p) = p {
        if p.summary.chars().count() > max_title {
            lines.push(p.summary.clone());
        }
        lines.push(format!("Source: {}", p.source));
        for (k, v) in [("Component", &p.component), ("Group", &p.group), ("Class", &p.class)] {
            if let Some(v) = v {
                lines.push(format!("{k}: {v}"));
            }
        }
        if let Some(d) = p.custom_details.as_ref().filter(|d| !d.is_null()) {
            let text = match d {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            lines.push(format!("Details: {text}"));
        }
    }
    let links = e
        .links
        .iter()
        .filter_map(|l| {
            let label = l.text.as_deref().filter(|t| !t.trim().is_empty()).unwrap_or("Link");
            usable_link(Some(&l.href)).map(|u| (cut(label, 80), u))
        })
        .take(5)
        .collect();
    Raised {
        title: cut(&title, max_title),
        details: cut(&lines.join("\n"), max_details),
        priority: severity_priority(p.map(|p| p.severity.as_str())),
        service: p.and_then(|p| p.component.clone()).map(|s| cut(&s, 80)),
        links,
        alert_name: p.and_then(|p| p.class.clone()).map(|s| cut(&s, 80)),
    }
}

/// The card's line about a group's alerts: "2 of 3 firing: HighCPU, DiskFull".
pub fn status_line(after: &[Tracked]) -> String {
    let firing: Vec<&str> = after
        .iter()
        .filter(|a| a.status == AlertStatus::Firing)
        .map(|a| a.name.as_str())
        .collect();
    if firing.is_empty() {
        return format!("all {} resolved", after.len());
    }
    let mut names: Vec<&str> = firing.clone();
    names.dedup();
    let shown = cut(&names.join(", "), 300);
    format!("{} of {} firing: {shown}", firing.len(), after.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(fp: &str, starts: &str, status: AlertStatus) -> Tracked {
        Tracked {
            fingerprint: fp.into(),
            starts_at: starts.into(),
            status,
            name: format!("alert-{fp}"),
        }
    }

    use AlertStatus::{Firing, Resolved};

    #[test]
    fn a_repeat_changes_nothing_and_a_resolution_is_seen() {
        let known = [t("a", "1", Firing), t("b", "1", Firing)];
        assert!(apply(&known, &[t("a", "1", Firing), t("b", "1", Firing)]).is_noop());
        let d = apply(&known, &[t("a", "1", Resolved), t("b", "1", Firing)]);
        assert_eq!(d.resolved, ["alert-a"]);
        assert_eq!(d.firing(), 1);
    }

    #[test]
    fn a_new_alert_joins_and_a_new_firing_refires() {
        let known = [t("a", "1", Resolved)];
        let d = apply(&known, &[t("a", "2", Firing), t("c", "1", Firing)]);
        assert_eq!(d.refired, ["alert-a"]);
        assert_eq!(d.joined, ["alert-c"]);
        assert_eq!(d.firing(), 2);
    }

    #[test]
    fn a_late_firing_copy_after_the_resolution_changes_nothing() {
        let known = [t("a", "1", Resolved)];
        assert!(apply(&known, &[t("a", "1", Firing)]).is_noop());
        assert!(is_stale(&known, &[t("a", "1", Firing)]));
        assert!(!is_stale(&known, &[t("a", "2", Firing)]));
        assert!(!is_stale(&[t("a", "1", Firing)], &[t("a", "1", Firing)]));
    }

    fn tracked() -> impl Strategy<Value = Tracked> {
        (0..4u8, 0..3u8, any::<bool>())
            .prop_map(|(f, s, r)| t(&f.to_string(), &s.to_string(), if r { Resolved } else { Firing }))
    }

    proptest! {
        /// Sending the same notification again (an HA peer, a repeat) is always a no-op.
        #[test]
        fn applying_twice_is_applying_once(known in proptest::collection::vec(tracked(), 0..6),
                                           incoming in proptest::collection::vec(tracked(), 0..6)) {
            let mut known = known;
            known.sort_by(|a, b| a.fingerprint.cmp(&b.fingerprint));
            known.dedup_by(|a, b| a.fingerprint == b.fingerprint);
            let mut incoming = incoming;
            incoming.sort_by(|a, b| a.fingerprint.cmp(&b.fingerprint));
            incoming.dedup_by(|a, b| a.fingerprint == b.fingerprint);
            let once = apply(&known, &incoming);
            let twice = apply(&once.after, &incoming);
            prop_assert!(twice.is_noop(), "{:?}", twice);
            prop_assert_eq!(twice.after, once.after);
        }
    }

    #[test]
    fn severities_map_to_priorities() {
        assert_eq!(severity_priority(Some("critical")), Priority::P1);
        assert_eq!(severity_priority(Some("HIGH")), Priority::P2);
        assert_eq!(severity_priority(Some("warning")), Priority::P3);
        assert_eq!(severity_priority(Some("info")), Priority::P5);
        assert_eq!(severity_priority(None), Priority::P3);
    }

    #[test]
    fn names_and_graces_are_checked() {
        assert_eq!(source_name("prom-1").unwrap(), "prom-1");
        assert!(source_name("Prom").is_err());
        assert!(source_name("").is_err());
        assert!(source_name(&"a".repeat(33)).is_err());
        assert_eq!(grace_seconds("0m").unwrap(), 0);
        assert_eq!(grace_seconds("5m").unwrap(), 300);
        assert!(grace_seconds("25h").is_err());
        assert!(grace_seconds("4bh").is_err());
    }

    #[test]
    fn events_are_refused_with_the_field_named() {
        let e =
            read_event(&serde_json::json!({"routing_key": "k", "event_action": "trigger", "payload": {"source": "x"}}))
                .unwrap_err();
        assert!(e.0.contains(&"'payload.summary' is missing or blank".to_owned()), "{e}");
        assert!(
            e.0.contains(&"'payload.severity' is missing or blank".to_owned()),
            "{e}"
        );
        let e = read_event(&serde_json::json!({"routing_key": "k", "event_action": "resolve"})).unwrap_err();
        assert_eq!(e.0, ["'dedup_key' is missing or blank"]);
    }

    #[test]
    fn a_notification_without_its_group_key_is_refused() {
        let e = read_notification(
            SourceKind::Alertmanager,
            &serde_json::json!({"version": "4", "status": "firing", "alerts": [{"status": "firing", "labels": {}, "startsAt": "x"}]}),
        )
        .unwrap_err();
        assert_eq!(e.0, ["`groupKey` is missing"]);
    }

    #[test]
    fn cut_keeps_short_text_and_marks_a_cut() {
        assert_eq!(cut("abc", 3), "abc");
        assert_eq!(cut("abcd", 3), "ab…");
    }
}
