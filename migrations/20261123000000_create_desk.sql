-- The desk's storage. Every row belongs to one guild (tenant). Times are unix milliseconds, UTC.
-- Discord snowflakes are stored as INTEGER (they fit in i64).

-- Per-guild settings changed with /setup.
CREATE TABLE guild_settings (
    guild_id                 INTEGER PRIMARY KEY,
    triage_channel_id        INTEGER,
    incidents_channel_id     INTEGER,
    cab_channel_id           INTEGER,
    agent_role_id            INTEGER,
    incident_manager_role_id INTEGER,
    cab_role_id              INTEGER,
    change_manager_role_id   INTEGER,
    timezone                 TEXT    NOT NULL DEFAULT 'UTC',
    work_days                TEXT    NOT NULL DEFAULT 'mon-fri',
    work_start               TEXT    NOT NULL DEFAULT '09:00',
    work_end                 TEXT    NOT NULL DEFAULT '17:00',
    autoclose_after          TEXT    NOT NULL DEFAULT '7d',
    updated_at               INTEGER NOT NULL
);

CREATE TABLE holidays (
    guild_id INTEGER NOT NULL,
    day      TEXT    NOT NULL, -- YYYY-MM-DD in the guild's time zone
    name     TEXT    NOT NULL,
    PRIMARY KEY (guild_id, day)
);

-- Overrides of the SPEC's default SLA targets; absent rows mean the default.
CREATE TABLE sla_targets (
    guild_id INTEGER NOT NULL,
    kind     TEXT    NOT NULL CHECK (kind IN ('request', 'incident')),
    priority INTEGER NOT NULL CHECK (priority BETWEEN 1 AND 5),
    respond  TEXT    NOT NULL,
    resolve  TEXT    NOT NULL,
    PRIMARY KEY (guild_id, kind, priority)
);

-- The service catalog offered by /request new.
CREATE TABLE catalog_items (
    id          INTEGER PRIMARY KEY,
    guild_id    INTEGER NOT NULL,
    name        TEXT    NOT NULL COLLATE NOCASE,
    description TEXT    NOT NULL,
    active      INTEGER NOT NULL DEFAULT 1,
    created_at  INTEGER NOT NULL,
    UNIQUE (guild_id, name)
);

-- Human ids are numbered per guild and kind: REQ-1, INC-1, CHG-1.
CREATE TABLE ticket_counters (
    guild_id INTEGER NOT NULL,
    kind     TEXT    NOT NULL,
    last     INTEGER NOT NULL,
    PRIMARY KEY (guild_id, kind)
);

CREATE TABLE tickets (
    id               INTEGER PRIMARY KEY,
    guild_id         INTEGER NOT NULL,
    kind             TEXT    NOT NULL CHECK (kind IN ('request', 'incident', 'change')),
    number           INTEGER NOT NULL CHECK (number > 0),
    title            TEXT    NOT NULL,
    details          TEXT,
    catalog_item     TEXT,
    service          TEXT,
    state            TEXT    NOT NULL,
    priority         INTEGER NOT NULL CHECK (priority BETWEEN 1 AND 5),
    impact           TEXT,
    urgency          TEXT,
    requester_id     INTEGER NOT NULL,
    assignee_id      INTEGER,
    hold_reason      TEXT,
    resolution_note  TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    first_response_at INTEGER,
    resolved_at      INTEGER,
    closed_at        INTEGER,
    -- where the ticket's card (the post with its buttons) lives, once delivered
    card_channel_id  INTEGER,
    card_message_id  INTEGER,
    UNIQUE (guild_id, kind, number)
);
CREATE INDEX tickets_requester ON tickets (guild_id, requester_id, state);
CREATE INDEX tickets_open ON tickets (guild_id, kind, state);

CREATE TABLE comments (
    id         INTEGER PRIMARY KEY,
    guild_id   INTEGER NOT NULL,
    ticket_id  INTEGER NOT NULL REFERENCES tickets (id),
    author_id  INTEGER NOT NULL,
    body       TEXT    NOT NULL,
    by_agent   INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX comments_ticket ON comments (ticket_id, id);

-- Append-only: who did what, when, old -> new, by which interaction.
CREATE TABLE audit_log (
    id             INTEGER PRIMARY KEY,
    guild_id       INTEGER NOT NULL,
    ticket_id      INTEGER REFERENCES tickets (id),
    actor_id       INTEGER, -- NULL = the desk itself (scheduler)
    at             INTEGER NOT NULL,
    action         TEXT    NOT NULL,
    old_value      TEXT,
    new_value      TEXT,
    detail         TEXT,
    interaction_id INTEGER
);
CREATE INDEX audit_ticket ON audit_log (ticket_id, id);
CREATE INDEX audit_guild ON audit_log (guild_id, id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

-- Interactions already applied, so a re-delivered one (same id) is applied once.
CREATE TABLE interactions (
    id           INTEGER PRIMARY KEY,
    guild_id     INTEGER,
    user_id      INTEGER NOT NULL,
    received_at  INTEGER NOT NULL,
    redeliveries INTEGER NOT NULL DEFAULT 0 -- times it arrived again and was ignored
);

-- Durable timers: SLA reminders, escalations, vote deadlines, auto-close. One row per purpose
-- (the key), so rescheduling replaces and a duplicate cannot exist.
CREATE TABLE timers (
    id        INTEGER PRIMARY KEY,
    guild_id  INTEGER NOT NULL,
    key       TEXT    NOT NULL UNIQUE,
    kind      TEXT    NOT NULL,
    ticket_id INTEGER REFERENCES tickets (id),
    due_at    INTEGER NOT NULL,
    payload   TEXT
);
CREATE INDEX timers_due ON timers (due_at);

-- Messages the bot posts on its own, written in the same transaction as their cause and
-- delivered by the outbox worker.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    guild_id        INTEGER NOT NULL,
    op              TEXT    NOT NULL CHECK (op IN ('post', 'edit_card', 'dm')),
    channel_id      INTEGER,           -- post, edit_card
    user_id         INTEGER,           -- dm
    ticket_id       INTEGER REFERENCES tickets (id),
    is_card         INTEGER NOT NULL DEFAULT 0, -- a post that becomes the ticket's card
    payload         TEXT    NOT NULL,  -- JSON body for Discord
    created_at      INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    status          TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    last_error      TEXT,
    message_id      INTEGER
);
CREATE INDEX outbox_pending ON outbox (status, next_attempt_at) WHERE status = 'pending';
