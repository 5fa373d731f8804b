-- Announcements (issue 16, mass mail): one row per announcement and one per
-- recipient, written before the first mail is queued; a recipient's mail is
-- queued in the same transaction that sets its outbox_id, so a run killed
-- half-way resumes with the rows still NULL and sends nobody a second copy.
CREATE TABLE announcements (
    id INTEGER PRIMARY KEY,
    subject TEXT NOT NULL,
    -- The text of each language (a JSON object, language code to text),
    -- kept so that a resume sends the rest exactly what the first got.
    bodies TEXT NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL,
    finished_at INTEGER,
    -- The rate limit's clock: the mail queued as number base_index (0 the
    -- first) is due at base_at, number k at base_at + (k - base_index) *
    -- 60 / rate seconds, rounded down. A resume that finds the plan in the
    -- past starts a new base a minute after the last mail.
    base_at INTEGER,
    base_index INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE announcement_recipients (
    id INTEGER PRIMARY KEY,
    announcement_id INTEGER NOT NULL REFERENCES announcements(id),
    account TEXT NOT NULL,
    address TEXT NOT NULL,
    address_key TEXT NOT NULL,
    language TEXT NOT NULL,
    outbox_id INTEGER,
    scheduled_at INTEGER,
    UNIQUE (announcement_id, address_key)
);

-- Addresses that asked for no more announcements (List-Unsubscribe).
CREATE TABLE announce_unsubscribed (
    address_key TEXT PRIMARY KEY,
    address TEXT NOT NULL,
    at INTEGER NOT NULL
);
