-- postdesk schema, migration 0008 (issue 19): proving account ownership.
-- Times are Unix seconds (UTC).

-- How the ticket's requester showed they speak for the account: 'pin'
-- (the support PIN), 'primary-confirmed' (the primary address answered a
-- #verify request), 'genuine-primary' (the primary address itself, shown
-- genuine by the trusted Authentication-Results); NULL: no proof. With
-- who gave it and when. needs_proof: a rule of intake.require_proof_for
-- matched the ticket's first message.
ALTER TABLE tickets ADD COLUMN proof TEXT
    CHECK (proof IN ('pin', 'primary-confirmed', 'genuine-primary'));
ALTER TABLE tickets ADD COLUMN proof_at INTEGER;
ALTER TABLE tickets ADD COLUMN proof_by TEXT;
ALTER TABLE tickets ADD COLUMN needs_proof INTEGER NOT NULL DEFAULT 0;

-- Requests sent to an account's primary address to confirm a ticket
-- (#verify). The one-time code is not stored, only its SHA-256; the mail
-- is found by its outbox row (its verified Message-ID). At most one is
-- open (settled_at IS NULL and not expired) per ticket.
CREATE TABLE proof_requests (
    id            INTEGER PRIMARY KEY,
    ticket_id     INTEGER NOT NULL REFERENCES tickets(id),
    primary_addr  TEXT    NOT NULL,
    code_hash     TEXT    NOT NULL,
    outbox        INTEGER REFERENCES outbox(id),
    asked_by      TEXT    NOT NULL,
    reason        TEXT,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    settled_at    INTEGER,
    outcome       TEXT    CHECK (outcome IN ('confirmed', 'expired'))
);
CREATE INDEX proof_requests_ticket ON proof_requests(ticket_id, id);

-- The support PIN: only a slow salted hash (argon2id, PHC string format).
ALTER TABLE accounts ADD COLUMN pin_hash TEXT;
-- Set when too many wrong PINs were given; cleared by `account set --pin-reset`.
ALTER TABLE accounts ADD COLUMN pin_locked_at INTEGER;
-- Wrong PINs given for an account, counted over a day.
CREATE TABLE pin_failures (
    account  TEXT    NOT NULL COLLATE NOCASE,
    at       INTEGER NOT NULL
);
CREATE INDEX pin_failures_account ON pin_failures(account, at);
