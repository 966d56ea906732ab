-- Timer kinds are a closed set (domain::timer::TimerKind): a CHECK constraint keeps anything
-- else out, so the scheduler never meets a kind it would have to drop. SQLite adds a CHECK only
-- by rebuilding the table; the rows and the due-time index come along.
CREATE TABLE timers_checked (
    id        INTEGER PRIMARY KEY,
    guild_id  INTEGER NOT NULL,
    key       TEXT    NOT NULL UNIQUE,
    kind      TEXT    NOT NULL CHECK (kind IN ('sla_warn', 'sla_breach', 'autoclose', 'escalate', 'ack_timeout', 'vote_deadline', 'vote_remind')),
    ticket_id INTEGER REFERENCES tickets (id),
    due_at    INTEGER NOT NULL,
    payload   TEXT
);
INSERT INTO timers_checked (id, guild_id, key, kind, ticket_id, due_at, payload)
    SELECT id, guild_id, key, kind, ticket_id, due_at, payload FROM timers;
DROP TABLE timers;
ALTER TABLE timers_checked RENAME TO timers;
CREATE INDEX timers_due ON timers (due_at);
