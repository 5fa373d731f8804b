-- postdesk schema, migration 0017 (issue 15, cost of suggestions): the
-- new tickets' mails that wait for their suggestions; a reopened ticket
-- forgets what it taught.
--
-- Looking up suggestions costs milliseconds per new ticket on a large
-- knowledge base, so intake does not: with the knowledge base on, it
-- writes these rows in the ticket's own transaction (crash-safe: the
-- ticket never exists without them) and the daemon's indexer (or `postdesk
-- outbox flush`, or the ticket's next staff notification) composes each
-- mail with its suggestions, queues it and deletes its row, in one
-- transaction.
CREATE TABLE notify_pending (
    ticket_id  INTEGER NOT NULL REFERENCES tickets(id),
    -- 'staff-notify': the staff notification of the new ticket;
    -- 'receipt': the receipt, with articles (suggest_to_customer).
    kind       TEXT    NOT NULL CHECK (kind IN ('staff-notify', 'receipt')),
    -- The ticket's first message, which the mail shows or answers.
    message    INTEGER NOT NULL REFERENCES messages(id),
    -- A receipt's language and the delegates it is copied to (JSON).
    language   TEXT,
    cc         TEXT,
    since      INTEGER NOT NULL,
    PRIMARY KEY (ticket_id, kind)
);

-- A reopened ticket's answer did not solve it after all: what it taught
-- goes (whichever way it reopened: a customer's reply, #reopen, `ticket
-- reopen`, set-status), and it is learnt again when it closes again.
CREATE TRIGGER knowledge_forget_reopened AFTER UPDATE OF status ON tickets
WHEN old.status = 'closed' AND new.status <> 'closed' BEGIN
    -- By its name (ticket::knowledge names a lesson ticket-N): the unique
    -- index finds it, where ticket_id would scan every entry.
    DELETE FROM knowledge WHERE kind = 'ticket' AND name = 'ticket-' || new.id;
END;
