-- SLA clocks: one row per ticket, clock (response / resolution) and cycle (a reopen starts a new
-- resolution cycle). warned_at / breached_at are the "sent" marks of the reminders, set in the
-- same transaction as their outbox rows, so a reminder goes out once per clock and cycle.
CREATE TABLE sla_clocks (
    id             INTEGER PRIMARY KEY,
    guild_id       INTEGER NOT NULL,
    ticket_id      INTEGER NOT NULL REFERENCES tickets (id),
    clock          TEXT    NOT NULL CHECK (clock IN ('response', 'resolution')),
    cycle          INTEGER NOT NULL CHECK (cycle > 0),
    target         TEXT    NOT NULL, -- as configured: 15m, 4h, 4bh, 3bd …
    started_at     INTEGER NOT NULL,
    paused_seconds INTEGER NOT NULL DEFAULT 0,
    paused_since   INTEGER,
    stopped_at     INTEGER,
    due_at         INTEGER,          -- breach instant while running and not paused (for sorting)
    warned_at      INTEGER,
    breached_at    INTEGER,
    UNIQUE (ticket_id, clock, cycle)
);
CREATE INDEX sla_clocks_ticket ON sla_clocks (ticket_id, clock, cycle);
CREATE INDEX sla_clocks_running ON sla_clocks (guild_id, due_at) WHERE stopped_at IS NULL;
