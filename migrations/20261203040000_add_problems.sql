-- Problems (issue #15) are tickets too (PRB-n), so /ticket show, comment, assign and history work
-- on them as on every kind: the problem an incident belongs to (at most one), and a problem's
-- findings. (tickets.kind's CHECK gains 'problem' in store::widen_ticket_kinds: SQLite changes a
-- CHECK only by rebuilding the table, which needs foreign keys off, which a migration's
-- transaction cannot do.)
ALTER TABLE tickets ADD COLUMN problem_id INTEGER REFERENCES tickets (id);
ALTER TABLE tickets ADD COLUMN cause TEXT;
ALTER TABLE tickets ADD COLUMN workaround TEXT;
ALTER TABLE tickets ADD COLUMN fix TEXT;
CREATE INDEX tickets_problem ON tickets (problem_id) WHERE problem_id IS NOT NULL;
-- A known-error article names the problem it was published from.
ALTER TABLE kb_articles ADD COLUMN problem_id INTEGER REFERENCES tickets (id);
