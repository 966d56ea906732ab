//! `/alerts …`: the monitoring sources of event management.

use super::dispatch::{data, reply, unknown};
use super::options::Opts;
use super::Response;
use crate::domain::alert::SourceKind;
use crate::service::{Call, Desk, ServiceError};

/// One `/alerts` subcommand.
pub async fn command(desk: &Desk, call: &Call, o: &Opts<'_>, sub: &str) -> Result<Response, ServiceError> {
    match sub {
        "source-add" => {
            let kind = o.choice("kind", &SourceKind::ALL, SourceKind::as_str)?;
            let hmac = o.bool("hmac").unwrap_or(false);
            data(
                desk.alerts_source_add(call, o.req("name")?, kind, o.str("grace"), hmac)
                    .await,
            )
        }
        "source-list" => data(desk.alerts_source_list(call).await),
        "source-remove" => reply(desk.alerts_source_remove(call, o.req("name")?).await),
        "source-rotate" => data(desk.alerts_source_rotate(call, o.req("name")?).await),
        other => unknown(&format!("/alerts {other}")),
    }
}
