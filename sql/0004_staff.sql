-- postdesk schema, migration 0004 (issue 4): staff working by mail —
-- staff replies and notes, assignment and merging, failing addresses.
-- Times are Unix seconds (UTC). *_key columns hold lower-cased addresses.
-- The outbox gains the kinds staff-notify (to the staff side), relay (a
-- staff reply to the customer side, not automatic) and staff-error (the
-- answer to a staff mail that was not applied); `kind` is free text.

-- What a stored message is on its ticket. NULL: a message of the customer
-- side (or automatic mail). 'staff-reply': relayed to the customer side;
-- 'staff-note': internal, staff only; 'staff-commands': commands only,
-- nothing relayed; 'staff-refused': commands refused, nothing applied;
-- 'staff-auto': automatic mail from a staff address.
ALTER TABLE messages ADD COLUMN role TEXT;
-- The text histories and relays show, when not new_text: a staff reply
-- without its command lines.
ALTER TABLE messages ADD COLUMN shown_text TEXT;
-- Who wrote it, as histories show it: a staff member's configured name.
ALTER TABLE messages ADD COLUMN shown_from TEXT;
-- "What did this address send us lately?": the loop guard of relays.
CREATE INDEX messages_sender ON messages(from_addr COLLATE NOCASE, received_at);

-- The staff member a ticket is assigned to (`#assign`), by address.
ALTER TABLE tickets ADD COLUMN assignee TEXT;
-- A ticket merged into another (`#merge N`): mail for it goes there.
ALTER TABLE tickets ADD COLUMN merged_into INTEGER REFERENCES tickets(id);

-- Addresses a delivery-status notification reported as permanently failed.
-- Mail to them still goes, but staff are told.
CREATE TABLE failing_addresses (
    address_key  TEXT    NOT NULL PRIMARY KEY,
    address      TEXT    NOT NULL,
    status       TEXT    NOT NULL,  -- the DSN's Status, e.g. 5.1.1
    diagnostic   TEXT    NOT NULL,  -- its Diagnostic-Code, or what the bounce said
    ticket_id    INTEGER REFERENCES tickets(id),
    message      INTEGER REFERENCES messages(id),  -- the bounce
    failed_at    INTEGER NOT NULL
);

-- The outbox rows of one kind in a window: the relays of the last day,
-- counted per recipient for staff.max_relays_per_day.
CREATE INDEX outbox_kind_time ON outbox(kind, created_at);
