-- postdesk schema, migration 0006 (issue 17, finding 7): flat cost per
-- message on long threads. A mail about a ticket carries the newest entries
-- of its history and says how many earlier ones it leaves out; both are
-- read through the indexes below and the counters on the ticket, never by
-- walking the whole thread.

-- What an event is in the histories mails carry: 'customer' (a message a
-- person of the customer side wrote), 'reply' (a staff reply, relayed),
-- 'change' (a status or type change), 'note' (a staff member's internal
-- note: the staff side's history only). NULL: in no mail's history (mail
-- we sent, postdesk's own notes, automatic mail, staff mail that relays
-- nothing). Set when the event is added (see src/store/tickets.rs).
ALTER TABLE events ADD COLUMN shown TEXT;

-- The newest entries of each side's history, read backwards with a LIMIT.
-- The queries name these exact conditions (a partial index serves a query
-- whose WHERE contains its condition), and neither implies the other, so
-- each side's query has its own index.
CREATE INDEX events_customer_side ON events(ticket_id, id)
    WHERE shown IN ('customer', 'reply', 'change');
CREATE INDEX events_staff_side ON events(ticket_id, id)
    WHERE shown IN ('customer', 'reply', 'change', 'note');
-- The customer's newest message: what a mail to the staff side threads under.
CREATE INDEX events_customer_messages ON events(ticket_id, id)
    WHERE shown = 'customer';

-- How many entries each side's history holds, kept with every event added
-- (and recounted when tickets are merged).
ALTER TABLE tickets ADD COLUMN history_customer INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN history_staff INTEGER NOT NULL DEFAULT 0;

-- Existing tickets: the same rules, once.
UPDATE events SET shown = 'change' WHERE kind IN ('status-change', 'type-change');
UPDATE events SET shown = (
        SELECT CASE
            WHEN m.role IS NULL AND m.class NOT IN ('auto-reply', 'bounce') THEN 'customer'
            WHEN m.role = 'staff-reply' THEN 'reply'
            WHEN m.role = 'staff-note' THEN 'note'
        END
        FROM messages m WHERE m.id = events.message AND m.ticket_id = events.ticket_id)
    WHERE kind IN ('message-in', 'staff-reply', 'staff-note') AND message IS NOT NULL;
UPDATE tickets SET
    history_customer = (SELECT count(*) FROM events e WHERE e.ticket_id = tickets.id
                        AND e.shown IN ('customer', 'reply', 'change')),
    history_staff = (SELECT count(*) FROM events e WHERE e.ticket_id = tickets.id
                     AND e.shown IN ('customer', 'reply', 'change', 'note'));
