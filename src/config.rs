//! Process configuration: the only place that reads the environment (and `.env`).
//!
//! Per-guild settings live in the database instead (see `/setup`).

use std::fmt;

use std::net::SocketAddr;

use serenity::model::id::GuildId;

use crate::telemetry::LogFormat;

/// The bot token. Its `Debug` and `Display` never show the value, so it cannot leak into logs.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value, for the one place that must send it (the HTTP client).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Everything the process needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// `DISCORD_TOKEN`.
    pub token: Secret,
    /// `DATABASE_URL`, default `sqlite://servicedesk.db`.
    pub database_url: String,
    /// `DISCORD_API_BASE`: `None` means Discord itself (with serenity's rate limiter).
    pub api_base: Option<String>,
    /// `DISCORD_GUILD_ID`: register commands to this guild only.
    pub guild_id: Option<GuildId>,
    /// `RUST_LOG`, default `info`.
    pub log_filter: String,
    /// `LOG_FORMAT`: `text` (default) or `json`.
    pub log_format: LogFormat,
    /// `HTTP_ADDR`, default `127.0.0.1:8080`; `None` when set to `off`.
    pub http_addr: Option<SocketAddr>,
}

/// A variable that is missing or malformed; `Display` is the one line printed before exit 2.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is not set.
    #[error("{0} is not set: {1}")]
    Missing(&'static str, &'static str),
    /// A variable is set to something unusable.
    #[error("{0} is malformed: {1}")]
    Malformed(&'static str, String),
}

/// Default database location.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://servicedesk.db";

/// Default address of the operators' HTTP listener.
pub const DEFAULT_HTTP_ADDR: &str = "127.0.0.1:8080";

/// `DATABASE_URL` alone (for `servicedesk backup`, which needs no token).
pub fn database_url_from_env() -> Result<String, ConfigError> {
    let _ = dotenvy::dotenv();
    database_url(|name| std::env::var(name).ok())
}

fn database_url(get: impl Fn(&str) -> Option<String>) -> Result<String, ConfigError> {
    let url = get("DATABASE_URL")
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
    if url.starts_with("sqlite:") {
        Ok(url)
    } else {
        Err(ConfigError::Malformed(
            "DATABASE_URL",
            format!("`{url}` is not a SQLite URL; use sqlite://servicedesk.db"),
        ))
    }
}

impl Config {
    /// Reads `.env` (if present) and then the environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        // A missing .env is normal; a broken one is reported by the variable it fails to set.
        let _ = dotenvy::dotenv();
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds the configuration from any lookup (the environment, or a map in tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let token = get("DISCORD_TOKEN")
            .filter(|t| !t.trim().is_empty())
            .ok_or(ConfigError::Missing(
                "DISCORD_TOKEN",
                "set it to your bot's token (Discord developer portal → your application → Bot).",
            ))?;
        let token = token.trim();
        if token.chars().any(|c| c.is_whitespace() || c.is_control()) || token.len() < 20 {
            return Err(ConfigError::Malformed(
                "DISCORD_TOKEN",
                "a bot token is one word of at least 20 characters (without the `Bot ` prefix).".into(),
            ));
        }
        let token = token.strip_prefix("Bot ").unwrap_or(token);

        let database_url = database_url(&get)?;

        let api_base = match get("DISCORD_API_BASE").filter(|v| !v.trim().is_empty()) {
            None => None,
            Some(v) => {
                let v = v.trim().trim_end_matches('/').to_owned();
                let rest = v.strip_prefix("https://").or_else(|| v.strip_prefix("http://"));
                match rest {
                    Some(host) if !host.is_empty() && !host.contains(char::is_whitespace) => {}
                    _ => {
                        return Err(ConfigError::Malformed(
                            "DISCORD_API_BASE",
                            format!("`{v}` is not an http(s) URL like https://discord.com"),
                        ))
                    }
                }
                (v != "https://discord.com").then_some(v)
            }
        };

        let guild_id = match get("DISCORD_GUILD_ID").filter(|v| !v.trim().is_empty()) {
            None => None,
            Some(v) => match v.trim().parse::<u64>() {
                Ok(n) if n > 0 => Some(GuildId::new(n)),
                _ => {
                    return Err(ConfigError::Malformed(
                        "DISCORD_GUILD_ID",
                        format!("`{v}` is not a guild id (a number like 123456789012345678)"),
                    ))
                }
            },
        };

        let log_filter = get("RUST_LOG")
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| "info".to_owned());
        if tracing_subscriber::EnvFilter::try_new(&log_filter).is_err() {
            return Err(ConfigError::Malformed(
                "RUST_LOG",
                format!("`{log_filter}` is not a tracing filter; try info or servicedesk=debug"),
            ));
        }

        let log_format = match get("LOG_FORMAT").as_deref().map(str::trim) {
            None | Some("" | "text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(ConfigError::Malformed(
                    "LOG_FORMAT",
                    format!("`{other}` is neither text nor json"),
                ))
            }
        };

        let http_addr = match get("HTTP_ADDR").as_deref().map(str::trim) {
            None | Some("") => Some(DEFAULT_HTTP_ADDR.parse().expect("default address parses")),
            Some("off") => None,
            Some(v) => Some(v.parse::<SocketAddr>().map_err(|_| {
                ConfigError::Malformed(
                    "HTTP_ADDR",
                    format!("`{v}` is not an address and port like 127.0.0.1:8080 (or `off`)"),
                )
            })?),
        };

        Ok(Config {
            token: Secret::new(token),
            database_url,
            api_base,
            guild_id,
            log_filter,
            log_format,
            http_addr,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    const TOKEN: &str = "MTIzNDU2Nzg5MDEyMzQ1Njc4.Gabcde.abcdefghijklmnopqrstuvwxyz";

    #[test]
    fn defaults_apply_when_only_the_token_is_set() {
        let c = from(&[("DISCORD_TOKEN", TOKEN)]).unwrap();
        assert_eq!(c.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(c.api_base, None);
        assert_eq!(c.guild_id, None);
        assert_eq!(c.log_filter, "info");
        assert_eq!(c.log_format, LogFormat::Text);
        assert_eq!(c.http_addr, Some("127.0.0.1:8080".parse().unwrap()));
    }

    #[test]
    fn the_listener_can_be_moved_or_turned_off() {
        let c = from(&[
            ("DISCORD_TOKEN", TOKEN),
            ("HTTP_ADDR", "0.0.0.0:9100"),
            ("LOG_FORMAT", "json"),
        ])
        .unwrap();
        assert_eq!(c.http_addr, Some("0.0.0.0:9100".parse().unwrap()));
        assert_eq!(c.log_format, LogFormat::Json);
        let c = from(&[("DISCORD_TOKEN", TOKEN), ("HTTP_ADDR", "off")]).unwrap();
        assert_eq!(c.http_addr, None);
    }

    #[test]
    fn each_bad_variable_is_named() {
        assert!(from(&[])
            .unwrap_err()
            .to_string()
            .starts_with("DISCORD_TOKEN is not set"));
        let cases = [
            ("DISCORD_TOKEN", "short"),
            ("DATABASE_URL", "postgres://x"),
            ("DISCORD_API_BASE", "ftp://x"),
            ("DISCORD_GUILD_ID", "abc"),
            ("RUST_LOG", "[[["),
            ("HTTP_ADDR", "nonsense"),
            ("HTTP_ADDR", "127.0.0.1"),
            ("LOG_FORMAT", "xml"),
        ];
        for (name, value) in cases {
            let mut pairs = vec![("DISCORD_TOKEN", TOKEN)];
            pairs.retain(|(k, _)| *k != name);
            pairs.push((name, value));
            let err = from(&pairs).unwrap_err().to_string();
            assert!(err.starts_with(name), "{err}");
        }
    }

    #[test]
    fn the_token_never_shows_in_debug_output() {
        let c = from(&[("DISCORD_TOKEN", TOKEN)]).unwrap();
        assert!(!format!("{c:?}").contains(TOKEN));
    }
}
