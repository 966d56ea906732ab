-- The outage day (issue #14): major incidents, duplicates linked to their parent, affected users,
-- the same-issue question at intake, tickets shown in a digest, and the outbox ops they need.

-- A duplicate names its parent; a major incident has its declaration, its bridge thread and the
-- status line its pinned card shows; a ticket folded into a digest has no card of its own.
ALTER TABLE tickets ADD COLUMN parent_id INTEGER REFERENCES tickets (id);
ALTER TABLE tickets ADD COLUMN major_at INTEGER;
ALTER TABLE tickets ADD COLUMN thread_id INTEGER;
ALTER TABLE tickets ADD COLUMN status_line TEXT;
ALTER TABLE tickets ADD COLUMN in_digest INTEGER NOT NULL DEFAULT 0;
CREATE INDEX tickets_parent ON tickets (parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX tickets_major ON tickets (guild_id, major_at) WHERE major_at IS NOT NULL;

-- People who reported the same outage (linked duplicates' reporters, "same issue" at intake):
-- they hear the incident's updates and its resolution.
CREATE TABLE affected_users (
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    user_id   INTEGER NOT NULL,
    added_at  INTEGER NOT NULL,
    PRIMARY KEY (ticket_id, user_id)
);

-- An /incident new held back by the same-issue question: what to create if they say "new".
-- The row is the choice's one effect: whichever button comes first takes it.
CREATE TABLE intake_drafts (
    id           INTEGER PRIMARY KEY,  -- the interaction that asked
    guild_id     INTEGER NOT NULL,
    user_id      INTEGER NOT NULL,
    candidate_id INTEGER NOT NULL REFERENCES tickets (id),
    draft        TEXT    NOT NULL,     -- JSON: title, impact, urgency, details, service
    created_at   INTEGER NOT NULL
);

-- The outbox gains two ops (open a thread on a card, pin a card) and a fold key: update DMs to
-- one person about one incident, queued while an earlier one still waits, join it.
CREATE TABLE outbox_new (
    id               INTEGER PRIMARY KEY,
    guild_id         INTEGER NOT NULL,
    op               TEXT    NOT NULL CHECK (op IN ('post', 'edit_card', 'dm', 'thread', 'pin')),
    channel_id       INTEGER,
    user_id          INTEGER,
    ticket_id        INTEGER REFERENCES tickets (id),
    is_card          INTEGER NOT NULL DEFAULT 0,
    payload          TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    next_attempt_at  INTEGER NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    status           TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    last_error       TEXT,
    message_id       INTEGER,
    first_failure_at INTEGER,
    rank             INTEGER NOT NULL DEFAULT 5 CHECK (rank BETWEEN 0 AND 9),
    fold_key         TEXT
);
INSERT INTO outbox_new (id, guild_id, op, channel_id, user_id, ticket_id, is_card, payload, created_at,
                        next_attempt_at, attempts, status, last_error, message_id, first_failure_at, rank)
    SELECT id, guild_id, op, channel_id, user_id, ticket_id, is_card, payload, created_at,
           next_attempt_at, attempts, status, last_error, message_id, first_failure_at, rank FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_pending ON outbox (status, next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_pending_target ON outbox (coalesce(channel_id, -user_id, 0), id) WHERE status = 'pending';
CREATE INDEX outbox_failed ON outbox (guild_id, channel_id) WHERE status = 'failed';
CREATE INDEX outbox_pending_rank ON outbox (coalesce(channel_id, -user_id, 0), rank, id) WHERE status = 'pending';
CREATE INDEX outbox_pending_ticket ON outbox (ticket_id) WHERE status = 'pending';
CREATE INDEX outbox_pending_fold ON outbox (fold_key) WHERE status = 'pending' AND fold_key IS NOT NULL;
