-- An incident raised by monitoring keeps its alert's name, so recurrence can group by it when
-- the alert names no service (issue #15).
ALTER TABLE tickets ADD COLUMN alert_name TEXT;
CREATE INDEX tickets_alert_name ON tickets (guild_id, alert_name) WHERE alert_name IS NOT NULL;
