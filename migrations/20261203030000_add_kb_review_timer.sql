-- A timer kind for knowledge: an article due for review reminds the agents once.
CREATE TABLE timers_checked (
    id        INTEGER PRIMARY KEY,
    guild_id  INTEGER NOT NULL,
    key       TEXT    NOT NULL UNIQUE,
    kind      TEXT    NOT NULL CHECK (kind IN ('sla_warn', 'sla_breach', 'autoclose', 'escalate', 'ack_timeout', 'vote_deadline', 'vote_remind', 'alert_resolve', 'kb_review')),
    ticket_id INTEGER REFERENCES tickets (id),
    due_at    INTEGER NOT NULL,
    payload   TEXT
);
INSERT INTO timers_checked (id, guild_id, key, kind, ticket_id, due_at, payload)
    SELECT id, guild_id, key, kind, ticket_id, due_at, payload FROM timers;
DROP TABLE timers;
ALTER TABLE timers_checked RENAME TO timers;
CREATE INDEX timers_due ON timers (due_at);
