-- Issue 14: several support addresses, one desk. Each ticket belongs to one
-- queue, by its name in the config; tickets of before belong to the queue
-- of a desk without [[queue]], named 'default' (a desk whose queues have no
-- such name takes them into its first queue).
ALTER TABLE tickets ADD COLUMN queue TEXT NOT NULL DEFAULT 'default';
CREATE INDEX tickets_queue ON tickets(queue, status);

-- Every subject-token prefix the desk has used, so a reply carrying a
-- prefix a queue has since changed still finds its ticket.
CREATE TABLE ticket_prefixes (
    prefix      TEXT    PRIMARY KEY,
    first_used  INTEGER NOT NULL
);
