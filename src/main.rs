//! `servicedesk [serve|check|backup PATH|commands|--help|--version]`.
//!
//! Exit status: 0 done; 1 a runtime failure (Discord refused or unreachable, the port in use, a
//! backup that failed); 2 a configuration or usage error (one line names it).

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use servicedesk::config::{self, Config};
use servicedesk::{app, clock::SystemClock, gateway::commands, render, telemetry};

const USAGE: &str = "\
servicedesk — an ITIL service desk that lives in Discord

Usage:
  servicedesk [serve]      connect to Discord, register the slash commands, run the desk
  servicedesk check        check the configuration, the database and the token; print the
                           bot's name, application id and invite link
  servicedesk backup PATH  write a consistent copy of the database to PATH (a new file),
                           safe while the bot runs
  servicedesk commands     print the slash commands the bot registers, as JSON
  servicedesk --version    the version (and the git commit it was built from)
  servicedesk --help       this text

Environment (also read from .env; see .env.example):
  DISCORD_TOKEN     the bot's token (required for serve and check); never logged or stored
  DATABASE_URL      SQLite database, default sqlite://servicedesk.db
  DISCORD_API_BASE  Discord's REST base, default https://discord.com (a REST proxy, or a fake)
  DISCORD_GUILD_ID  register commands to this server only (instant) instead of globally
  HTTP_ADDR         listener for /healthz and /metrics, default 127.0.0.1:8080; off disables it
  RUST_LOG          log filter, default info (e.g. servicedesk=debug,serenity=warn)
  LOG_FORMAT        text (default) or json: one JSON object a line

Exit status:
  0  done
  1  a runtime failure: Discord refused the token or is unreachable, HTTP_ADDR is in use,
     the database failed, a backup could not be written
  2  a configuration or usage error: the line printed names the variable or argument
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match words.as_slice() {
        [] | ["serve"] => serve(),
        ["--help" | "-h" | "help", ..] => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        ["--version" | "-V" | "version"] => {
            println!("{}", servicedesk::version_line());
            ExitCode::SUCCESS
        }
        ["check"] => check(),
        ["backup", path] => backup(Path::new(path)),
        ["backup", ..] => usage_error("`servicedesk backup` takes one argument: the path of the new copy"),
        ["commands"] => {
            println!(
                "{}",
                serde_json::to_string_pretty(&commands::definitions()).unwrap_or_default()
            );
            ExitCode::SUCCESS
        }
        [other, ..] => usage_error(&format!("unknown command `{other}`; `servicedesk --help` lists them")),
    }
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("{message}");
    ExitCode::from(2)
}

fn config_or_exit() -> Result<Config, ExitCode> {
    Config::from_env().map_err(|e| {
        eprintln!("{e}");
        ExitCode::from(2)
    })
}

fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("cannot start the async runtime: {e}");
            ExitCode::FAILURE
        })
}

/// The configuration and a runtime, or the exit status that says why not.
fn prepare() -> Result<(Config, tokio::runtime::Runtime), ExitCode> {
    let config = config_or_exit()?;
    Ok((config, runtime()?))
}

fn serve() -> ExitCode {
    let (config, runtime) = match prepare() {
        Ok(p) => p,
        Err(code) => return code,
    };
    telemetry::init_logs(&config.log_filter, config.log_format);
    match runtime.block_on(app::run(config, Arc::new(SystemClock), shutdown_signal())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "servicedesk stopped");
            eprintln!("servicedesk stopped: {e}");
            ExitCode::FAILURE
        }
    }
}

fn check() -> ExitCode {
    let (config, runtime) = match prepare() {
        Ok(p) => p,
        Err(code) => return code,
    };
    println!("{}", servicedesk::version_line());
    println!("configuration: ok");
    match runtime.block_on(app::check(&config)) {
        Ok(r) => {
            println!("database: ok ({})", config.database_url);
            println!("bot: {} (user id {})", r.bot_name, r.bot_id);
            println!("application: {} (id {})", r.application_name, r.application_id);
            println!("invite: {}", render::invite_url(r.application_id));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("check failed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn backup(path: &Path) -> ExitCode {
    let url = match config::database_url_from_env() {
        Ok(u) => u,
        Err(e) => return usage_error(&e.to_string()),
    };
    let runtime = match runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    match runtime.block_on(app::backup(&url, path)) {
        Ok(r) => {
            println!(
                "backup written to {} ({} bytes, {} tickets, integrity ok)",
                path.display(),
                r.bytes,
                r.tickets
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("backup failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
