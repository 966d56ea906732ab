-- Per channel (or DM recipient), what goes first: pages (0), then by the ticket's priority
-- (1 = P1 … 5 = P5), then by age. On an outage day a P1 raised behind a backlog of cards
-- reaches the channel at the next free slot of Discord's 5-per-5-s window.
ALTER TABLE outbox ADD COLUMN rank INTEGER NOT NULL DEFAULT 5 CHECK (rank BETWEEN 0 AND 9);
CREATE INDEX outbox_pending_rank ON outbox (coalesce(channel_id, -user_id, 0), rank, id) WHERE status = 'pending';
-- Is a ticket's card post still queued? (an edit ranked ahead of it is then not needed)
CREATE INDEX outbox_pending_ticket ON outbox (ticket_id) WHERE status = 'pending';
