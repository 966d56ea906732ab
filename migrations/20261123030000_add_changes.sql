-- Change enablement: the CAB's rules, blackout windows, and each change's fields, eligible
-- voters (fixed when the vote opens) and ballots (one per voter; the latest counts).
CREATE TABLE cab_rules (
    guild_id INTEGER NOT NULL,
    rule     TEXT    NOT NULL CHECK (rule IN ('normal', 'emergency')),
    mode     TEXT    NOT NULL CHECK (mode IN ('any', 'all', 'quorum')),
    count    INTEGER NOT NULL DEFAULT 1,
    voting   TEXT    NOT NULL,
    PRIMARY KEY (guild_id, rule)
);

CREATE TABLE blackouts (
    id         INTEGER PRIMARY KEY,
    guild_id   INTEGER NOT NULL,
    start_at   INTEGER NOT NULL,
    end_at     INTEGER NOT NULL CHECK (end_at > start_at),
    reason     TEXT    NOT NULL,
    created_by INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX blackouts_window ON blackouts (guild_id, end_at);

ALTER TABLE tickets ADD COLUMN change_type TEXT;
ALTER TABLE tickets ADD COLUMN risk TEXT;
ALTER TABLE tickets ADD COLUMN window_start INTEGER;
ALTER TABLE tickets ADD COLUMN window_end INTEGER;
ALTER TABLE tickets ADD COLUMN plan TEXT;
ALTER TABLE tickets ADD COLUMN backout TEXT;
ALTER TABLE tickets ADD COLUMN outcome TEXT;
ALTER TABLE tickets ADD COLUMN vote_mode TEXT;
ALTER TABLE tickets ADD COLUMN vote_count INTEGER;
ALTER TABLE tickets ADD COLUMN vote_deadline INTEGER;
ALTER TABLE tickets ADD COLUMN conflicts TEXT;
CREATE INDEX tickets_windows ON tickets (guild_id, kind, window_end) WHERE kind = 'change';

CREATE TABLE change_voters (
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    user_id   INTEGER NOT NULL,
    PRIMARY KEY (ticket_id, user_id)
);

CREATE TABLE change_votes (
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    voter_id  INTEGER NOT NULL,
    ballot    TEXT    NOT NULL CHECK (ballot IN ('approve', 'reject')),
    reason    TEXT,
    at        INTEGER NOT NULL,
    PRIMARY KEY (ticket_id, voter_id)
);
