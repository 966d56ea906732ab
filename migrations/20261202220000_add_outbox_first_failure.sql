-- When a message's delivery first failed with a retryable error (5xx, timeout, connection
-- error, 429), in the outbox worker's clock (unix ms). Such a message is retried until 24 hours
-- after this, so a Discord outage loses no page; then it is failed and shown to the admins.
ALTER TABLE outbox ADD COLUMN first_failure_at INTEGER;

-- Failed messages per guild and channel: /setup show warns about them, /setup deliveries lists
-- them with a Retry button.
CREATE INDEX outbox_failed ON outbox (guild_id, channel_id) WHERE status = 'failed';
