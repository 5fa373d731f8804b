-- postdesk schema, migration 0007 (issues 10 and 17): Message-IDs only
-- postdesk can make, and participants who are people, not a list.
--
-- The desk's secret (settings key "desk_secret") is made by the store when
-- it opens a database that has none: see src/msgid.rs.

-- Who a queued mail went to: 'customer' (the customer side of a ticket, or
-- a sender answered) or 'staff'. Only a verified Message-ID of a
-- customer-side mail of a ticket lets its holder write into that ticket.
-- NULL: queued before this migration, with a computable Message-ID; it
-- grants nothing.
ALTER TABLE outbox ADD COLUMN audience TEXT CHECK (audience IN ('customer', 'staff'));
-- The ref part of the Message-ID, which the marker line in the mail's text
-- also names: finds the mail a reply quotes when its headers were lost.
ALTER TABLE outbox ADD COLUMN ref TEXT;
CREATE INDEX outbox_ref ON outbox(ref) WHERE ref IS NOT NULL;

-- Addresses on the To/Cc of a customer's or stranger's mail were made
-- participants ('cc') and got every automatic mail: a stranger could make
-- the desk mail thousands. They are now 'copied': recorded for staff,
-- mailed nothing until a staff reply includes them ('included').
UPDATE participants SET role = 'copied' WHERE role = 'cc';
