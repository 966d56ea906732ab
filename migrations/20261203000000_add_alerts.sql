-- Monitoring sources and the events they send (issue #12).
--
-- A source belongs to one guild; its token is kept only as a SHA-256 (hex), so the database
-- never holds a credential that could be replayed. Grafana's HMAC secret must be kept as it is:
-- checking a signature needs it.
CREATE TABLE alert_sources (
    id                  INTEGER PRIMARY KEY,
    guild_id            INTEGER NOT NULL,
    name                TEXT    NOT NULL,
    kind                TEXT    NOT NULL CHECK (kind IN ('alertmanager', 'grafana', 'events')),
    grace_seconds       INTEGER NOT NULL,
    token_sha256        TEXT    NOT NULL UNIQUE,
    hmac_secret         TEXT,
    created_by          INTEGER NOT NULL,
    created_at          INTEGER NOT NULL,
    last_event_at       INTEGER,
    events_received     INTEGER NOT NULL DEFAULT 0,
    events_deduplicated INTEGER NOT NULL DEFAULT 0,
    UNIQUE (guild_id, name)
);

-- The durable inbox: an event is committed here before the sender hears 202, and processed
-- (in the transaction that sets processed_at) afterwards — at the next start if need be.
CREATE TABLE alert_events (
    id           INTEGER PRIMARY KEY,
    source_id    INTEGER NOT NULL REFERENCES alert_sources (id) ON DELETE CASCADE,
    guild_id     INTEGER NOT NULL,
    received_at  INTEGER NOT NULL,
    body         TEXT    NOT NULL,
    processed_at INTEGER
);
CREATE INDEX alert_events_pending ON alert_events (id) WHERE processed_at IS NULL;

-- One notification group (Alertmanager/Grafana groupKey, or an Events v2 dedup_key) raised as
-- one incident; a group that fires again after its incident ended gets a new row.
CREATE TABLE alert_groups (
    id         INTEGER PRIMARY KEY,
    source_id  INTEGER NOT NULL REFERENCES alert_sources (id) ON DELETE CASCADE,
    group_key  TEXT    NOT NULL,
    ticket_id  INTEGER NOT NULL REFERENCES tickets (id),
    created_at INTEGER NOT NULL
);
CREATE INDEX alert_groups_key ON alert_groups (source_id, group_key, id);
CREATE INDEX alert_groups_ticket ON alert_groups (ticket_id);

-- The alerts of a group, by fingerprint, with the startsAt of their current firing.
CREATE TABLE alert_instances (
    group_id    INTEGER NOT NULL REFERENCES alert_groups (id) ON DELETE CASCADE,
    fingerprint TEXT    NOT NULL,
    starts_at   TEXT    NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN ('firing', 'resolved')),
    name        TEXT    NOT NULL,
    PRIMARY KEY (group_id, fingerprint)
);

-- Incidents raised by monitoring: the source's name (the reporter), the card's line about its
-- alerts ("2 of 3 firing: …"), and the links its card carries (JSON: [[label, url], …]).
ALTER TABLE tickets ADD COLUMN alert_source TEXT;
ALTER TABLE tickets ADD COLUMN alert_status TEXT;
ALTER TABLE tickets ADD COLUMN links TEXT;

-- Audit rows written for a source name it as the actor.
ALTER TABLE audit_log ADD COLUMN actor_source TEXT;

-- A new timer kind: an incident whose alerts all resolved resolves itself after the grace.
CREATE TABLE timers_checked (
    id        INTEGER PRIMARY KEY,
    guild_id  INTEGER NOT NULL,
    key       TEXT    NOT NULL UNIQUE,
    kind      TEXT    NOT NULL CHECK (kind IN ('sla_warn', 'sla_breach', 'autoclose', 'escalate', 'ack_timeout', 'vote_deadline', 'vote_remind', 'alert_resolve')),
    ticket_id INTEGER REFERENCES tickets (id),
    due_at    INTEGER NOT NULL,
    payload   TEXT
);
INSERT INTO timers_checked (id, guild_id, key, kind, ticket_id, due_at, payload)
    SELECT id, guild_id, key, kind, ticket_id, due_at, payload FROM timers;
DROP TABLE timers;
ALTER TABLE timers_checked RENAME TO timers;
CREATE INDEX timers_due ON timers (due_at);
