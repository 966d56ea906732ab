-- The outbox worker sends the oldest pending message of each target (a channel, or a user for
-- DMs: coalesce(channel_id, -user_id, 0)). This index lets it find those heads by skipping from
-- target to target, instead of reading every pending row: with thousands queued behind a paced
-- channel (an outage storm) a pass took ~10 ms and ran up to 100 times a second.
CREATE INDEX outbox_pending_target ON outbox (coalesce(channel_id, -user_id, 0), id) WHERE status = 'pending';
