-- postdesk schema, version 1: messages, tickets, history, outbox, quarantine.
-- Times are Unix seconds (UTC). Addresses in *_key columns are lower-cased.

-- Every message exactly as received, with the fields parse extracted.
CREATE TABLE messages (
    id            INTEGER PRIMARY KEY,
    received_at   INTEGER NOT NULL,
    source        TEXT    NOT NULL,
    message_id    TEXT    NOT NULL,
    content_hash  TEXT    NOT NULL,
    size          INTEGER NOT NULL,
    raw           BLOB    NOT NULL,
    ticket_id     INTEGER REFERENCES tickets(id),
    from_addr     TEXT,
    from_name     TEXT,
    subject       TEXT    NOT NULL,
    sent_date     INTEGER,
    class         TEXT    NOT NULL,
    class_reason  TEXT,
    in_reply_to   TEXT    NOT NULL,  -- JSON array of bare Message-IDs
    refs          TEXT    NOT NULL,  -- JSON array of bare Message-IDs
    recipients    TEXT    NOT NULL,  -- JSON: {"to": [...], "cc": [...], "reply_to": [...]}
    body_text     TEXT    NOT NULL,
    new_text      TEXT    NOT NULL,
    quoted_text   TEXT    NOT NULL,
    attachments   TEXT    NOT NULL,  -- JSON array of {name, content_type, size}
    warnings      TEXT    NOT NULL   -- JSON array of strings
);
CREATE UNIQUE INDEX messages_identity ON messages(message_id, content_hash);
CREATE INDEX messages_ticket ON messages(ticket_id);

-- Source ids (Maildir file names, UIDLs, UIDs) already taken, so a re-fetch
-- after a crash is recognised.
CREATE TABLE source_ids (
    source      TEXT    NOT NULL,
    source_id   TEXT    NOT NULL,
    taken_at    INTEGER NOT NULL,
    message     INTEGER REFERENCES messages(id),
    quarantine  INTEGER REFERENCES quarantine(id),
    PRIMARY KEY (source, source_id)
);

CREATE TABLE tickets (
    id                INTEGER PRIMARY KEY,  -- the public ticket number
    subject           TEXT    NOT NULL,
    status            TEXT    NOT NULL CHECK (status IN ('new', 'in-progress',
                          'waiting-for-customer', 'on-hold', 'closed', 'rejected')),
    type              TEXT    NOT NULL,
    account           TEXT,
    requester         TEXT    NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    last_customer_at  INTEGER,
    last_staff_at     INTEGER
);
CREATE INDEX tickets_status ON tickets(status, updated_at);

CREATE TABLE participants (
    ticket_id    INTEGER NOT NULL REFERENCES tickets(id),
    address_key  TEXT    NOT NULL,
    address      TEXT    NOT NULL,
    name         TEXT,
    role         TEXT    NOT NULL,  -- requester | cc | staff
    added_at     INTEGER NOT NULL,
    PRIMARY KEY (ticket_id, address_key)
);

-- One row per event in a ticket's life, in order.
CREATE TABLE events (
    id         INTEGER PRIMARY KEY,
    ticket_id  INTEGER NOT NULL REFERENCES tickets(id),
    at         INTEGER NOT NULL,
    kind       TEXT    NOT NULL,  -- message-in | mail-out | status-change | note
    actor      TEXT    NOT NULL,
    message    INTEGER REFERENCES messages(id),
    outbox     INTEGER REFERENCES outbox(id),
    detail     TEXT    NOT NULL
);
CREATE INDEX events_ticket ON events(ticket_id, id);

-- The transactional outbox: a mail is queued with its final bytes and
-- Message-ID in the same transaction as the change that caused it.
CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY,
    ticket_id        INTEGER REFERENCES tickets(id),
    kind             TEXT    NOT NULL,
    automatic        INTEGER NOT NULL,  -- counts towards max_auto_replies_per_day
    message_id       TEXT    NOT NULL UNIQUE,
    mail_from        TEXT    NOT NULL,  -- envelope sender, '' for <>
    rcpt             TEXT    NOT NULL,  -- JSON array of addresses
    rcpt_key         TEXT    NOT NULL,  -- first recipient, lower-cased
    subject          TEXT    NOT NULL,
    raw              BLOB    NOT NULL,
    status           TEXT    NOT NULL CHECK (status IN ('queued', 'sent', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    claimed_by       TEXT,              -- "host/pid" of the sender holding the lease
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    sent_at          INTEGER
);
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
CREATE INDEX outbox_auto ON outbox(rcpt_key, created_at) WHERE automatic = 1;
CREATE INDEX outbox_ticket ON outbox(ticket_id);

-- Mail that could not be read, or that policy holds back: kept, with why.
CREATE TABLE quarantine (
    id            INTEGER PRIMARY KEY,
    received_at   INTEGER NOT NULL,
    source        TEXT    NOT NULL,
    content_hash  TEXT    NOT NULL,
    message_id    TEXT,
    from_addr     TEXT,
    subject       TEXT,
    reason        TEXT    NOT NULL,
    raw           BLOB    NOT NULL,
    released_at   INTEGER,
    released_to   INTEGER REFERENCES messages(id)
);
CREATE INDEX quarantine_hash ON quarantine(content_hash);
