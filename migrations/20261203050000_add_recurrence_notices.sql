-- Recurrence (issue #15): when a service has had three or more incidents in 7 days, none of them
-- linked to a problem, the incident managers are told once (per service and 7 days), with a
-- Create problem button that opens one with those incidents linked.
CREATE TABLE recurrence_notices (
    id          INTEGER PRIMARY KEY,
    guild_id    INTEGER NOT NULL,
    service_key TEXT    NOT NULL,          -- the service, lower case
    service     TEXT    NOT NULL,          -- as first written
    incidents   TEXT    NOT NULL,          -- ticket ids, comma-separated
    noticed_at  INTEGER NOT NULL,
    problem_id  INTEGER REFERENCES tickets (id),
    UNIQUE (guild_id, service_key)
);
