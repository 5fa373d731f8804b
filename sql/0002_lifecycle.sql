-- postdesk schema, version 2: the ticket lifecycle — inactivity timers,
-- closing and reopening.

-- When the current wait began (see src/lifecycle.rs): the clock of the
-- inactivity rule for the side the ticket waits for. NULL: nobody is waited
-- for (on hold, closed, rejected).
ALTER TABLE tickets ADD COLUMN waiting_since INTEGER;
-- How many warnings of the current wait have been sent.
ALTER TABLE tickets ADD COLUMN warnings_sent INTEGER NOT NULL DEFAULT 0;
-- The next instant a rule has something to do (warn or close); NULL: none.
-- Kept up to date on every change, so a sweep reads only what is due.
ALTER TABLE tickets ADD COLUMN next_deadline INTEGER;
-- When the ticket was last closed or rejected (the reopen window counts
-- from here).
ALTER TABLE tickets ADD COLUMN closed_at INTEGER;
-- A ticket opened by a reply to a ticket closed too long ago: that ticket.
ALTER TABLE tickets ADD COLUMN reopened_from INTEGER REFERENCES tickets(id);

CREATE INDEX tickets_deadline ON tickets(next_deadline) WHERE next_deadline IS NOT NULL;

-- Existing tickets: the wait began at the last activity of the other side.
UPDATE tickets SET waiting_since = COALESCE(last_customer_at, created_at)
    WHERE status IN ('new', 'in-progress');
UPDATE tickets SET waiting_since = COALESCE(last_staff_at, updated_at)
    WHERE status = 'waiting-for-customer';
UPDATE tickets SET closed_at = updated_at WHERE status IN ('closed', 'rejected');

-- Small named values the desk keeps about itself, e.g. the fingerprint of
-- the inactivity rules the stored deadlines were computed with.
CREATE TABLE settings (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
