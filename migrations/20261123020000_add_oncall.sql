-- On-call schedules (up to 3 levels per guild), escalation policies, and each incident's paging
-- state with the policy copied onto it when it opened.
CREATE TABLE oncall_members (
    guild_id INTEGER NOT NULL,
    level    INTEGER NOT NULL CHECK (level BETWEEN 1 AND 3),
    user_id  INTEGER NOT NULL,
    position INTEGER NOT NULL, -- order added: the rotation order
    PRIMARY KEY (guild_id, level, user_id)
);

CREATE TABLE oncall_rotations (
    guild_id   INTEGER NOT NULL,
    level      INTEGER NOT NULL CHECK (level BETWEEN 1 AND 3),
    turn_hours INTEGER NOT NULL CHECK (turn_hours > 0),
    start_at   INTEGER NOT NULL,
    PRIMARY KEY (guild_id, level)
);

CREATE TABLE oncall_overrides (
    id         INTEGER PRIMARY KEY,
    guild_id   INTEGER NOT NULL,
    level      INTEGER NOT NULL CHECK (level BETWEEN 1 AND 3),
    user_id    INTEGER NOT NULL,
    start_at   INTEGER NOT NULL,
    end_at     INTEGER NOT NULL CHECK (end_at > start_at),
    created_at INTEGER NOT NULL
);
CREATE INDEX oncall_overrides_level ON oncall_overrides (guild_id, level, end_at);

CREATE TABLE escalation_policies (
    guild_id    INTEGER NOT NULL,
    priority    INTEGER NOT NULL CHECK (priority BETWEEN 1 AND 5),
    delay       TEXT    NOT NULL,
    ack_timeout TEXT    NOT NULL,
    rounds      INTEGER NOT NULL CHECK (rounds BETWEEN 0 AND 9),
    PRIMARY KEY (guild_id, priority)
);

ALTER TABLE tickets ADD COLUMN esc_delay TEXT;          -- policy copied at open
ALTER TABLE tickets ADD COLUMN esc_ack_timeout TEXT;
ALTER TABLE tickets ADD COLUMN esc_rounds INTEGER;
ALTER TABLE tickets ADD COLUMN esc_escalates INTEGER;   -- 0 for P4/P5: notify, never escalate
ALTER TABLE tickets ADD COLUMN page_level INTEGER;      -- last level paged
ALTER TABLE tickets ADD COLUMN page_round INTEGER;
ALTER TABLE tickets ADD COLUMN paged_user_id INTEGER;
ALTER TABLE tickets ADD COLUMN acknowledged_by INTEGER;
ALTER TABLE tickets ADD COLUMN acknowledged_at INTEGER;
ALTER TABLE tickets ADD COLUMN last_update_at INTEGER;
