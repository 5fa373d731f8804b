-- postdesk schema, migration 0003 (issue 3): customer accounts and who may
-- write for them, confirmation codes for unknown senders, ticket flags.
-- Times are Unix seconds (UTC). *_key columns hold lookup keys: lower case,
-- and for addresses without a +tag (the exact comparison is done in code).

-- Customer accounts. Ids compare without regard to case (people type them
-- into mail as `Account: CUST-001`).
CREATE TABLE accounts (
    id            TEXT    NOT NULL PRIMARY KEY COLLATE NOCASE,
    name          TEXT    NOT NULL,
    primary_addr  TEXT    NOT NULL,
    primary_key   TEXT    NOT NULL,
    language      TEXT,              -- en | fr | it; NULL: service.default_language
    parent        TEXT    COLLATE NOCASE,  -- the ISP account managing this one
    priority      INTEGER NOT NULL DEFAULT 0,
    require_auth  INTEGER,           -- NULL: intake.require_authentication
    declared      INTEGER NOT NULL DEFAULT 0,  -- 1: declared in the config, which owns it
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX accounts_primary ON accounts(primary_key);
CREATE INDEX accounts_parent ON accounts(parent);

-- Authorized senders: addresses, domains and *.domain wildcards.
CREATE TABLE account_senders (
    account   TEXT    NOT NULL COLLATE NOCASE REFERENCES accounts(id) ON DELETE CASCADE,
    pattern   TEXT    NOT NULL,  -- as shown, lower case: ops@x.example | x.example | *.x.example
    kind      TEXT    NOT NULL CHECK (kind IN ('address', 'domain', 'subdomains')),
    key       TEXT    NOT NULL,  -- address lookup key, or the domain
    source    TEXT    NOT NULL CHECK (source IN ('config', 'cli', 'mail')),
    added_at  INTEGER NOT NULL,
    PRIMARY KEY (account, pattern)
);
CREATE INDEX account_senders_key ON account_senders(kind, key);

-- Addresses that get a copy of every mail about the account's tickets.
CREATE TABLE account_delegates (
    account      TEXT NOT NULL COLLATE NOCASE REFERENCES accounts(id) ON DELETE CASCADE,
    address_key  TEXT NOT NULL,
    address      TEXT NOT NULL,
    PRIMARY KEY (account, address_key)
);

-- What happened to an account: created, changed by the config, the CLI or
-- by mail (self-service, with the message). Kept when the account goes.
CREATE TABLE account_events (
    id       INTEGER PRIMARY KEY,
    account  TEXT    NOT NULL COLLATE NOCASE,
    at       INTEGER NOT NULL,
    actor    TEXT    NOT NULL,
    detail   TEXT    NOT NULL,
    message  INTEGER REFERENCES messages(id)
);
CREATE INDEX account_events_account ON account_events(account, id);

-- One-time codes sent to unknown senders; the code itself is not stored,
-- only its SHA-256. A held message waits in quarantine for its code.
CREATE TABLE verifications (
    id          INTEGER PRIMARY KEY,
    quarantine  INTEGER NOT NULL REFERENCES quarantine(id) ON DELETE CASCADE,
    sender_key  TEXT    NOT NULL,
    code_hash   TEXT    NOT NULL UNIQUE,
    outbox      INTEGER REFERENCES outbox(id),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
);
CREATE INDEX verifications_sender ON verifications(sender_key, expires_at);
CREATE INDEX verifications_quarantine ON verifications(quarantine);
CREATE INDEX verifications_outbox ON verifications(outbox);

-- The digest of the declared accounts last applied is kept in the settings
-- table of migration 0002 (key "declared_accounts").

-- Flags for staff: a priority sender, an unverified sender, and the
-- accounts an ambiguous sender matched (JSON array) when none was chosen.
ALTER TABLE tickets ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN unverified INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN account_candidates TEXT;
CREATE INDEX tickets_account ON tickets(account);

-- Why a message is held, as a word to count by (see HoldKind).
ALTER TABLE quarantine ADD COLUMN kind TEXT;
