-- /report reads what happened in a period: tickets opened, first answered, resolved and closed
-- then, and SLA clocks settled then (met when stopped, missed when breached). These indexes keep
-- a 90-day report of a large desk from reading every ticket. Partial indexes skip the rows a
-- column has not been set on yet, so a new ticket costs one more index entry (created_at).
CREATE INDEX tickets_created ON tickets (guild_id, kind, created_at);
CREATE INDEX tickets_first_response ON tickets (guild_id, kind, first_response_at) WHERE first_response_at IS NOT NULL;
CREATE INDEX tickets_resolved ON tickets (guild_id, kind, resolved_at) WHERE resolved_at IS NOT NULL;
CREATE INDEX tickets_closed ON tickets (guild_id, kind, closed_at) WHERE closed_at IS NOT NULL;
CREATE INDEX sla_clocks_settled ON sla_clocks (guild_id, coalesce(breached_at, stopped_at))
    WHERE coalesce(breached_at, stopped_at) IS NOT NULL;

-- A rejected or expired change is as final as a completed or cancelled one; from now on it is
-- closed when decided (the report counts changes by how they closed). Earlier ones: their last
-- update was the decision.
UPDATE tickets SET closed_at = updated_at
    WHERE kind = 'change' AND state IN ('rejected', 'expired') AND closed_at IS NULL;
