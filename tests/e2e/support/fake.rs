//! A fake Discord on 127.0.0.1: REST under `/api/v10` and a gateway websocket.
//!
//! It records every REST request, validates each body against Discord's OpenAPI file, answers
//! with Discord's shapes, can be told to fail requests (429 with `retry_after`, 5xx, 4xx), and
//! speaks the gateway protocol serenity 0.12.5 needs: HELLO, IDENTIFY → READY, heartbeats,
//! dispatches with sequence numbers, RESUME (replaying what was missed) and reconnects.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, Notify};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message as Ws;

use super::fixtures::{self, APP_ID};
use super::openapi::openapi;

/// One REST request the bot made.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// Order of arrival.
    pub seq: u64,
    /// `GET`, `POST`, …
    pub method: String,
    /// Path without `/api/v10`, e.g. `/channels/1/messages`.
    pub path: String,
    /// JSON body (Null if none).
    pub body: Value,
    /// When it arrived.
    pub at: Instant,
    /// The status the fake answered.
    pub status: u16,
    /// The body the fake answered.
    pub response: Value,
    /// Files uploaded with a multipart request (`files[n]` parts); `body` is its `payload_json`.
    pub files: Vec<RecordedFile>,
}

/// One uploaded file of a multipart request.
#[derive(Debug, Clone)]
pub struct RecordedFile {
    /// The form field, e.g. `files[0]`.
    pub field: String,
    /// The file name the bot gave.
    pub filename: String,
    /// Its declared content type.
    pub content_type: String,
    /// The bytes.
    pub data: Vec<u8>,
}

/// Discord's upload limit for a bot without boosts: 10 MiB per file.
pub const MAX_UPLOAD_BYTES: usize = 10 * 1024 * 1024;

/// A scripted failure: the next request matching `method` and `path_contains` gets this answer.
#[derive(Debug, Clone)]
pub struct Fault {
    /// Method to match.
    pub method: &'static str,
    /// Substring of the path to match.
    pub path_contains: String,
    /// Status to answer.
    pub status: u16,
    /// Body to answer.
    pub body: Value,
}

#[derive(Default)]
struct Gateway {
    /// Every dispatch sent, for RESUME replay: (seq, payload).
    log: Vec<(u64, Value)>,
    seq: u64,
    session: Option<String>,
    current: Option<(u64, mpsc::UnboundedSender<Ctl>)>,
    connections: u64,
    identifies: u64,
    resumes: u64,
    /// On RESUME, also replay this many events the bot had already acknowledged (Discord may
    /// re-send what it is not sure arrived).
    overlap: u64,
}

enum Ctl {
    Send(Value),
    Close(u16),
    /// Drop the TCP connection with a reset (no close frame): a network failure.
    Reset,
}

struct State {
    recorded: Mutex<Vec<Recorded>>,
    violations: Mutex<Vec<String>>,
    faults: Mutex<VecDeque<Fault>>,
    changed: Notify,
    next_id: AtomicU64,
    gateway: Mutex<Gateway>,
    ws_url: Mutex<String>,
    /// Guild members, per guild, as `GET /guilds/{id}/members` lists them.
    members: Mutex<std::collections::HashMap<String, Vec<Value>>>,
    /// Tokens Discord no longer accepts (`Authorization: Bot …` answered 401).
    revoked: Mutex<Vec<String>>,
    /// While true, a RESUME is held unanswered (the connection is up, the session is not).
    hold_resume: watch::Sender<bool>,
}

/// The fake Discord. Dropping it stops nothing by itself; tests end with the runtime.
#[derive(Clone)]
pub struct FakeDiscord {
    state: Arc<State>,
    /// `http://127.0.0.1:PORT` — the bot's `DISCORD_API_BASE`.
    pub base: String,
}

impl FakeDiscord {
    /// Starts REST and gateway listeners on ephemeral ports.
    pub async fn start() -> FakeDiscord {
        let rest = TcpListener::bind("127.0.0.1:0").await.expect("bind REST");
        let ws = TcpListener::bind("127.0.0.1:0").await.expect("bind gateway");
        let rest_addr = rest.local_addr().unwrap();
        let ws_addr: SocketAddr = ws.local_addr().unwrap();
        let state = Arc::new(State {
            recorded: Mutex::new(Vec::new()),
            violations: Mutex::new(Vec::new()),
            faults: Mutex::new(VecDeque::new()),
            changed: Notify::new(),
            next_id: AtomicU64::new(1_300_000_000_000_000_000),
            gateway: Mutex::new(Gateway::default()),
            ws_url: Mutex::new(format!("ws://{ws_addr}")),
            members: Mutex::new(std::collections::HashMap::new()),
            revoked: Mutex::new(Vec::new()),
            hold_resume: watch::channel(false).0,
        });
        let s = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = rest.accept().await {
                tokio::spawn(serve_http(s.clone(), stream));
            }
        });
        let s = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = ws.accept().await {
                tokio::spawn(serve_gateway(s.clone(), stream));
            }
        });
        FakeDiscord {
            state,
            base: format!("http://{rest_addr}"),
        }
    }

    /// A fresh snowflake.
    pub fn snowflake(&self) -> u64 {
        self.state.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Everything recorded so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.recorded.lock().unwrap().clone()
    }

    /// The requests recorded from index `from` on (cheap polling for benchmarks).
    pub fn requests_since(&self, from: usize) -> Vec<Recorded> {
        let rec = self.state.recorded.lock().unwrap();
        rec.get(from..).map(<[Recorded]>::to_vec).unwrap_or_default()
    }

    /// Schema violations seen so far.
    pub fn violations(&self) -> Vec<String> {
        self.state.violations.lock().unwrap().clone()
    }

    /// Fails the test if any request broke Discord's schema.
    pub fn assert_valid(&self) {
        let v = self.violations();
        assert!(
            v.is_empty(),
            "requests that break Discord's OpenAPI schema:\n{}",
            v.join("\n")
        );
    }

    /// Sets the members the fake lists for a guild (ordered by id, as Discord pages them).
    pub fn set_members(&self, guild: u64, members: &[super::fixtures::User]) {
        let mut list: Vec<&super::fixtures::User> = members.iter().collect();
        list.sort_by_key(|m| m.id);
        let json = list.iter().map(|m| m.member_json()).collect();
        self.state.members.lock().unwrap().insert(guild.to_string(), json);
    }

    /// Queues a failure for the next matching request.
    pub fn fail_next(&self, fault: Fault) {
        self.state.faults.lock().unwrap().push_back(fault);
    }

    /// Waits until `pick` finds something in the recorded requests, or panics after `within`.
    pub async fn wait_for<T>(&self, within: Duration, what: &str, pick: impl Fn(&[Recorded]) -> Option<T>) -> T {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let notified = self.state.changed.notified();
            if let Some(t) = pick(&self.state.recorded.lock().unwrap()) {
                return t;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                if let Some(t) = pick(&self.state.recorded.lock().unwrap()) {
                    return t;
                }
                panic!("timed out after {within:?} waiting for {what}");
            }
        }
    }

    /// Sends a dispatch event (e.g. INTERACTION_CREATE) to the connected bot, or keeps it for
    /// the resume if none is connected.
    pub fn dispatch(&self, event: &str, d: Value) -> u64 {
        let mut g = self.state.gateway.lock().unwrap();
        g.seq += 1;
        let seq = g.seq;
        let payload = json!({ "op": 0, "t": event, "s": seq, "d": d });
        g.log.push((seq, payload.clone()));
        if let Some((_, tx)) = &g.current {
            let _ = tx.send(Ctl::Send(payload));
        }
        seq
    }

    /// Closes the bot's gateway connection with `code` (4000 = resume; 4004 = bad token).
    pub fn close_gateway(&self, code: u16) {
        let mut g = self.state.gateway.lock().unwrap();
        if let Some((_, tx)) = g.current.take() {
            let _ = tx.send(Ctl::Close(code));
        }
    }

    /// Drops the bot's gateway connection the way a network failure does: a TCP reset, no
    /// close frame. serenity reconnects and resumes at once.
    pub fn reset_gateway(&self) {
        let mut g = self.state.gateway.lock().unwrap();
        if let Some((_, tx)) = g.current.take() {
            let _ = tx.send(Ctl::Reset);
        }
    }

    /// While `hold` is true, RESUMEs are left unanswered: the bot's new connection is open but
    /// its session is not back. Setting it false answers the waiting RESUME.
    pub fn hold_resumes(&self, hold: bool) {
        self.state.hold_resume.send_replace(hold);
    }

    /// Makes Discord refuse `token` from now on (401), as after a reset in the developer portal.
    pub fn revoke_token(&self, token: &str) {
        self.state.revoked.lock().unwrap().push(token.to_owned());
    }

    /// On the next RESUME, replay also the last `n` events the bot already had.
    pub fn replay_overlap(&self, n: u64) {
        self.state.gateway.lock().unwrap().overlap = n;
    }

    /// How many IDENTIFYs and RESUMEs the gateway has seen.
    pub fn gateway_counts(&self) -> (u64, u64) {
        let g = self.state.gateway.lock().unwrap();
        (g.identifies, g.resumes)
    }

    /// Waits until a bot session is connected and READY (or RESUMED).
    pub async fn wait_connected(&self, within: Duration) {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let notified = self.state.changed.notified();
            if self.state.gateway.lock().unwrap().current.is_some() {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("the bot did not connect to the gateway within {within:?}");
            }
        }
    }
}

/// SPEC §7 limits that are stricter than the published schema.
fn spec_limits(body: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    for content in [&body["content"], &body["data"]["content"]] {
        if let Some(c) = content.as_str() {
            if c.chars().count() > 2000 {
                errors.push(format!("content is {} characters; SPEC allows 2000", c.chars().count()));
            }
        }
    }
    errors
}

/// Discord's rules for uploads: every `files[n]` part is listed in the payload's `attachments`
/// with id `n`, no file is larger than Discord allows, and each has a name.
fn upload_rules(body: &Value, files: &[RecordedFile]) -> Vec<String> {
    let mut errors = Vec::new();
    let listed: Vec<String> = [&body["attachments"], &body["data"]["attachments"]]
        .iter()
        .filter_map(|a| a.as_array())
        .flatten()
        .filter_map(|a| {
            a["id"]
                .as_str()
                .map(str::to_owned)
                .or_else(|| a["id"].as_u64().map(|n| n.to_string()))
        })
        .collect();
    for f in files {
        let Some(n) = f.field.strip_prefix("files[").and_then(|r| r.strip_suffix(']')) else {
            errors.push(format!("upload field {} is not files[n]", f.field));
            continue;
        };
        if !listed.iter().any(|id| id == n) {
            errors.push(format!("{} has no attachment with id {n} in the payload", f.field));
        }
        if f.data.len() > MAX_UPLOAD_BYTES {
            errors.push(format!(
                "{} is {} bytes; Discord allows {MAX_UPLOAD_BYTES}",
                f.field,
                f.data.len()
            ));
        }
        if f.filename.is_empty() {
            errors.push(format!("{} has no file name", f.field));
        }
    }
    errors
}

fn record(
    state: &State,
    method: &str,
    path: &str,
    body: Value,
    files: Vec<RecordedFile>,
    status: u16,
    response: &Value,
) -> u64 {
    let mut errors = openapi().check_request(method, path, (!body.is_null()).then_some(&body));
    errors.extend(spec_limits(&body).into_iter().map(|e| format!("{method} {path}: {e}")));
    errors.extend(
        upload_rules(&body, &files)
            .into_iter()
            .map(|e| format!("{method} {path}: {e}")),
    );
    if !errors.is_empty() {
        state.violations.lock().unwrap().extend(errors);
    }
    let mut rec = state.recorded.lock().unwrap();
    let seq = rec.len() as u64 + 1;
    rec.push(Recorded {
        seq,
        method: method.to_owned(),
        path: path.to_owned(),
        body,
        at: Instant::now(),
        status,
        response: response.clone(),
        files,
    });
    drop(rec);
    state.changed.notify_waiters();
    seq
}

async fn serve_http(state: Arc<State>, stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let mut parts = line.split_whitespace();
        let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
            return;
        };
        let (method, target) = (method.to_owned(), target.to_owned());
        let mut length = 0usize;
        let mut auth = String::new();
        let mut content_type = String::new();
        let mut chunked = false;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).await.unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                match k.trim().to_ascii_lowercase().as_str() {
                    "content-length" => length = v.trim().parse().unwrap_or(0),
                    "authorization" => auth = v.trim().to_owned(),
                    "content-type" => content_type = v.trim().to_owned(),
                    "transfer-encoding" => chunked = v.trim().eq_ignore_ascii_case("chunked"),
                    _ => {}
                }
            }
        }
        let body = if chunked {
            match read_chunked(&mut reader).await {
                Some(b) => b,
                None => return,
            }
        } else {
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).await.is_err() {
                return;
            }
            body
        };
        let (body, files) = match content_type.split_once("boundary=") {
            Some((kind, boundary)) if kind.starts_with("multipart/form-data") => {
                let (json, files, errors) = parse_multipart(&body, boundary.trim_matches('"'));
                if !errors.is_empty() {
                    state.violations.lock().unwrap().extend(errors);
                }
                (json, files)
            }
            _ if body.is_empty() => (Value::Null, vec![]),
            _ => (serde_json::from_slice(&body).unwrap_or(Value::Null), vec![]),
        };
        let path = target.split('?').next().unwrap_or("").to_owned();
        let query = target.split_once('?').map(|(_, q)| q.to_owned()).unwrap_or_default();
        let (status, answer) = respond(&state, &method, &path, &query, &auth, body, files);
        let text = if status == 204 {
            String::new()
        } else {
            answer.to_string()
        };
        let mut head = format!(
            "HTTP/1.1 {status} {}\r\ncontent-length: {}\r\n",
            reason(status),
            text.len()
        );
        if status != 204 {
            head.push_str("content-type: application/json\r\n");
        }
        if status == 429 {
            let secs = answer["retry_after"].as_f64().unwrap_or(1.0);
            head.push_str(&format!("retry-after: {}\r\nx-ratelimit-scope: user\r\n", secs.ceil()));
        }
        head.push_str("\r\n");
        // One write: a head and body in two segments stall ~40 ms on Nagle + delayed ACK.
        head.push_str(&text);
        if write.write_all(head.as_bytes()).await.is_err() {
            return;
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        _ => "Status",
    }
}

/// Reads a `transfer-encoding: chunked` body.
async fn read_chunked<R: tokio::io::AsyncBufRead + Unpin>(reader: &mut R) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        reader.read_line(&mut size).await.ok()?;
        let n = usize::from_str_radix(size.trim().split(';').next()?.trim(), 16).ok()?;
        let mut chunk = vec![0; n + 2]; // the chunk and its CRLF
        reader.read_exact(&mut chunk).await.ok()?;
        if n == 0 {
            return Some(body);
        }
        body.extend_from_slice(&chunk[..n]);
    }
}

/// Splits a `multipart/form-data` body: its `payload_json` (as the request's JSON body), its
/// files, and what was malformed.
fn parse_multipart(body: &[u8], boundary: &str) -> (Value, Vec<RecordedFile>, Vec<String>) {
    let mut errors = Vec::new();
    let mut json = Value::Null;
    let mut files = Vec::new();
    let delimiter = format!("--{boundary}");
    let find = |hay: &[u8], needle: &[u8], from: usize| {
        hay.get(from..)
            .and_then(|h| h.windows(needle.len()).position(|w| w == needle))
            .map(|p| p + from)
    };
    let Some(mut at) = find(body, delimiter.as_bytes(), 0) else {
        return (json, files, vec!["multipart body without its boundary".into()]);
    };
    loop {
        at += delimiter.len();
        if body.get(at..at + 2) == Some(b"--") {
            break; // closing delimiter
        }
        at += 2; // CRLF after the delimiter
        let Some(head_end) = find(body, b"\r\n\r\n", at) else {
            errors.push("multipart part without headers".into());
            break;
        };
        let head = String::from_utf8_lossy(&body[at..head_end]).to_string();
        let content_start = head_end + 4;
        let Some(next) = find(body, format!("\r\n{delimiter}").as_bytes(), content_start) else {
            errors.push("multipart part without an end".into());
            break;
        };
        let content = &body[content_start..next];
        let header = |name: &str| {
            head.lines()
                .find(|l| l.to_ascii_lowercase().starts_with(name))
                .map(|l| l.split_once(':').map_or("", |(_, v)| v.trim()).to_owned())
                .unwrap_or_default()
        };
        let disposition = header("content-disposition");
        let param = |key: &str| {
            disposition
                .split(';')
                .map(str::trim)
                .find_map(|p| p.strip_prefix(&format!("{key}=")))
                .map(|v| v.trim_matches('"').to_owned())
        };
        let name = param("name").unwrap_or_default();
        if name == "payload_json" {
            match serde_json::from_slice(content) {
                Ok(v) => json = v,
                Err(e) => errors.push(format!("payload_json is not JSON: {e}")),
            }
        } else if let Some(filename) = param("filename") {
            files.push(RecordedFile {
                field: name,
                filename,
                content_type: header("content-type"),
                data: content.to_vec(),
            });
        } else {
            errors.push(format!("unexpected multipart field {name}"));
        }
        at = next + 2;
    }
    if json.is_null() {
        errors.push("multipart request without payload_json".into());
    }
    (json, files, errors)
}

fn respond(
    state: &State,
    method: &str,
    full_path: &str,
    query: &str,
    auth: &str,
    body: Value,
    files: Vec<RecordedFile>,
) -> (u16, Value) {
    let Some(path) = full_path.strip_prefix("/api/v10") else {
        return (404, json!({ "code": 0, "message": "404: Not Found" }));
    };
    if method == "GET" && path == "/gateway" {
        // Not recorded as a bot request: it is serenity's discovery, and every test has it.
        return (200, json!({ "url": state.ws_url.lock().unwrap().clone() }));
    }
    let revoked = auth
        .strip_prefix("Bot ")
        .is_some_and(|t| state.revoked.lock().unwrap().iter().any(|r| r == t));
    if !auth.starts_with("Bot ") || revoked {
        let answer = json!({ "code": 0, "message": "401: Unauthorized" });
        record(state, method, path, body, files, 401, &answer);
        return (401, answer);
    }
    let fault = {
        let mut faults = state.faults.lock().unwrap();
        let i = faults
            .iter()
            .position(|f| f.method == method && path.contains(&f.path_contains));
        i.and_then(|i| faults.remove(i))
    };
    if let Some(f) = fault {
        record(state, method, path, body, files, f.status, &f.body);
        return (f.status, f.body);
    }
    let id = || state.next_id.fetch_add(1, Ordering::Relaxed).to_string();
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (status, answer) = match (method, segs.as_slice()) {
        ("PUT", ["applications", _, "guilds", g, "commands"]) => (200, echo_commands(&body, Some(g), &id)),
        ("PUT", ["applications", _, "commands"]) => (200, echo_commands(&body, None, &id)),
        ("POST", ["interactions", _, _, "callback"]) => (204, Value::Null),
        ("PATCH", ["webhooks", _, _, "messages", "@original"]) => (200, fixtures::message(&id(), "0", &body)),
        ("POST", ["webhooks", _, _]) => (200, fixtures::message(&id(), "0", &body)),
        ("POST", ["channels", c, "messages"]) => (200, fixtures::message(&id(), c, &body)),
        ("PATCH", ["channels", c, "messages", m]) => (200, fixtures::message(m, c, &body)),
        // A thread on a message: a public thread (type 11) whose id Discord makes the
        // message's id; the fake gives it a fresh one.
        ("POST", ["channels", c, "messages", _, "threads"]) => (
            201,
            json!({ "id": id(), "type": 11, "guild_id": fixtures::GUILD.to_string(), "parent_id": c,
                    "name": body["name"].clone(), "owner_id": fixtures::APP_ID.to_string(), "flags": 0,
                    "thread_metadata": { "archived": false, "auto_archive_duration": body["auto_archive_duration"].clone(),
                                         "archive_timestamp": "2026-01-05T10:00:00+00:00", "locked": false } }),
        ),
        ("PUT", ["channels", _, "pins", _]) => (204, Value::Null),
        ("GET", ["guilds", g, "members", u]) => {
            let all = state.members.lock().unwrap().get(*g).cloned().unwrap_or_default();
            match all.into_iter().find(|m| m["user"]["id"] == *u) {
                Some(m) => (200, m),
                None => (404, json!({ "code": 10007, "message": "Unknown Member" })),
            }
        }
        ("GET", ["guilds", g, "members"]) => {
            let param = |k: &str| {
                query
                    .split('&')
                    .find_map(|kv| kv.strip_prefix(k).and_then(|v| v.strip_prefix('=')))
                    .and_then(|v| v.parse::<u64>().ok())
            };
            let (limit, after) = (param("limit").unwrap_or(1).min(1000), param("after").unwrap_or(0));
            let all = state.members.lock().unwrap().get(*g).cloned().unwrap_or_default();
            let page: Vec<Value> = all
                .into_iter()
                .filter(|m| {
                    m["user"]["id"]
                        .as_str()
                        .and_then(|i| i.parse::<u64>().ok())
                        .unwrap_or(0)
                        > after
                })
                .take(usize::try_from(limit).unwrap_or(1))
                .collect();
            (200, Value::Array(page))
        }
        ("GET", ["users", "@me"]) => (200, fixtures::bot_user()),
        ("GET", ["oauth2", "applications", "@me"]) => (200, fixtures::application()),
        ("POST", ["users", "@me", "channels"]) => {
            let user = body["recipient_id"].as_str().unwrap_or("0").to_owned();
            // A DM channel's id is stable per user, as on Discord.
            let channel = fixtures::dm_channel(user.parse().unwrap_or(0));
            (
                200,
                json!({ "id": channel.to_string(), "type": 1, "last_message_id": null, "flags": 0,
                           "recipients": [{ "id": user, "username": "someone", "discriminator": "0", "avatar": null, "global_name": null }] }),
            )
        }
        _ => (404, json!({ "code": 0, "message": "404: Not Found" })),
    };
    record(state, method, path, body, files, status, &answer);
    (status, answer)
}

fn echo_commands(body: &Value, guild: Option<&&str>, id: &dyn Fn() -> String) -> Value {
    let list = body.as_array().cloned().unwrap_or_default();
    Value::Array(
        list.into_iter()
            .map(|mut c| {
                c["id"] = json!(id());
                c["application_id"] = json!(APP_ID.to_string());
                c["version"] = json!(id());
                if let Some(g) = guild {
                    c["guild_id"] = json!(g);
                }
                c
            })
            .collect(),
    )
}

async fn serve_gateway(state: Arc<State>, stream: TcpStream) {
    let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    let hello = json!({ "op": 10, "d": { "heartbeat_interval": 41250 } });
    if ws.send(Ws::Text(hello.to_string())).await.is_err() {
        return;
    }
    // IDENTIFY or RESUME
    let first = loop {
        match ws.next().await {
            Some(Ok(Ws::Text(t))) => {
                let v: Value = serde_json::from_str(&t).unwrap_or(Value::Null);
                match v["op"].as_u64() {
                    Some(2 | 6) => break v,
                    Some(1) => {
                        let _ = ws.send(Ws::Text(json!({ "op": 11 }).to_string())).await;
                    }
                    _ => {}
                }
            }
            Some(Ok(_)) => {}
            _ => return,
        }
    };
    if first["op"] == 6 {
        let mut hold = state.hold_resume.subscribe();
        let _ = hold.wait_for(|held| !*held).await;
    }
    let (tx, mut rx) = mpsc::unbounded_channel::<Ctl>();
    let ws_url = state.ws_url.lock().unwrap().clone();
    let (conn, backlog): (u64, Vec<Value>) = {
        let mut g = state.gateway.lock().unwrap();
        g.connections += 1;
        let conn = g.connections;
        let mut out = Vec::new();
        if first["op"] == 2 {
            g.identifies += 1;
            let session = format!("session-{}", g.identifies);
            g.session = Some(session.clone());
            g.seq += 1;
            let seq = g.seq;
            let ready = json!({ "op": 0, "t": "READY", "s": seq, "d": fixtures::ready(&session, &ws_url) });
            g.log.push((seq, ready.clone()));
            out.push(ready);
        } else {
            g.resumes += 1;
            let after = first["d"]["seq"].as_u64().unwrap_or(0).saturating_sub(g.overlap);
            let same = first["d"]["session_id"].as_str() == g.session.as_deref();
            if !same {
                out.push(json!({ "op": 9, "d": false })); // invalid session: identify again
            } else {
                out.extend(g.log.iter().filter(|(s, _)| *s > after).map(|(_, p)| p.clone()));
                g.seq += 1;
                let seq = g.seq;
                let resumed = json!({ "op": 0, "t": "RESUMED", "s": seq, "d": {} });
                g.log.push((seq, resumed.clone()));
                out.push(resumed);
            }
        }
        if let Some((_, old)) = g.current.replace((conn, tx)) {
            let _ = old.send(Ctl::Close(4000));
        }
        (conn, out)
    };
    for p in backlog {
        if ws.send(Ws::Text(p.to_string())).await.is_err() {
            return;
        }
    }
    state.changed.notify_waiters();
    loop {
        tokio::select! {
            incoming = ws.next() => match incoming {
                Some(Ok(Ws::Text(t))) => {
                    let v: Value = serde_json::from_str(&t).unwrap_or(Value::Null);
                    if v["op"] == 1 {
                        let _ = ws.send(Ws::Text(json!({ "op": 11 }).to_string())).await;
                    }
                }
                Some(Ok(Ws::Ping(p))) => { let _ = ws.send(Ws::Pong(p)).await; }
                Some(Ok(Ws::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
            ctl = rx.recv() => match ctl {
                Some(Ctl::Send(p)) => {
                    if ws.send(Ws::Text(p.to_string())).await.is_err() { break; }
                }
                Some(Ctl::Close(code)) => {
                    let frame = CloseFrame { code: CloseCode::from(code), reason: "fake closes".into() };
                    let _ = ws.send(Ws::Close(Some(frame))).await;
                    break;
                }
                Some(Ctl::Reset) => {
                    // SO_LINGER 0: closing sends RST, as when a network path fails mid-session.
                    #[expect(deprecated, reason = "linger 0 on a non-blocking socket does not block")]
                    let _ = ws.get_ref().set_linger(Some(Duration::ZERO));
                    break;
                }
                None => break,
            },
        }
    }
    let mut g = state.gateway.lock().unwrap();
    if g.current.as_ref().is_some_and(|(c, _)| *c == conn) {
        g.current = None;
    }
    drop(g);
    state.changed.notify_waiters();
}
