//! `/setup deliveries` and its Retry buttons (admins): what the outbox could not deliver, and
//! putting it back in the queue once the cause is fixed.

use serde_json::Value;

use super::{setup::require_admin, Call, Desk, Result};
use crate::render::refusals::SetupError;
use crate::render::{self, RetryButton};
use crate::store;

/// Most rows read for `/setup deliveries`.
const DELIVERIES_READ: i64 = 200;

impl Desk {
    /// `/setup deliveries`: messages failed or being retried, with reason and age.
    pub async fn deliveries(&self, call: &Call) -> Result<Value> {
        let (_, standing) = self.begin_read(call).await?;
        require_admin(standing)?;
        let mut conn = self.pool.acquire().await?;
        let rows = store::list_deliveries(&mut conn, call.actor.guild_id, DELIVERIES_READ).await?;
        Ok(render::deliveries(&rows, self.now_ms()))
    }

    /// A Retry button: the failed message (or every failed message to the channel) goes back in
    /// the queue, audited. Only this guild's messages can be named.
    pub async fn retry_deliveries(&self, call: &Call, button: RetryButton) -> Result<String> {
        let mut w = self.begin(call).await?;
        require_admin(w.standing)?;
        let (id, channel) = match button {
            RetryButton::One(id) => (Some(id), None),
            RetryButton::Channel(c) => (None, Some(c)),
        };
        let n = store::retry_failed(conn!(w), w.guild_id, id, channel, w.now).await?;
        if n == 0 {
            return Err(SetupError::NothingToRetry.into());
        }
        w.audit(
            None,
            "delivery-retry",
            None,
            Some(n.to_string()),
            Some(button.custom_id()),
        )
        .await?;
        w.queued = true; // wakes the outbox when this commits
        self.finish(w).await?;
        Ok(render::requeued(button, n))
    }
}
