-- postdesk schema, migration 0010 (issue 15): full-text search over the
-- tickets' mail, and the knowledge base whose entries are suggested to
-- staff (and, if the operator wants, to the customer).
--
-- Both indexes are SQLite FTS5 tables kept by triggers, so an index entry
-- commits with the row it indexes (a crash leaves no gap to catch up on).
-- unicode61 with remove_diacritics 2 lets "probleme" find "problème".

-- What `ticket search` and `#search` look through: per received message,
-- its subject, its new text (not the quote of older mail), who wrote and
-- got it, and its attachments' names. The rowid is messages.id; the
-- ticket is looked up at query time (a merge moves messages).
CREATE VIRTUAL TABLE message_search USING fts5(
    subject, body, people, files,
    tokenize = 'unicode61 remove_diacritics 2'
);

-- Intake only notes which messages the index lacks (a cheap row in the
-- same transaction: crash-safe); the daemon's indexer, `ticket search`
-- and `#search` index them (see src/store/search.rs), so tokenizing a
-- message's text stays off intake's critical section.
CREATE TABLE message_search_pending (
    message  INTEGER PRIMARY KEY
);

CREATE TRIGGER message_search_insert AFTER INSERT ON messages BEGIN
    INSERT OR IGNORE INTO message_search_pending (message) VALUES (new.id);
END;

-- A staff mail's shown text (without its command lines) is set after the
-- insert: it is indexed again.
CREATE TRIGGER message_search_shown AFTER UPDATE OF shown_text ON messages BEGIN
    INSERT OR IGNORE INTO message_search_pending (message) VALUES (new.id);
END;

CREATE TRIGGER message_search_delete AFTER DELETE ON messages BEGIN
    DELETE FROM message_search WHERE rowid = old.id;
    DELETE FROM message_search_pending WHERE message = old.id;
END;

-- Messages stored before this migration: indexed by the indexer, at start.
INSERT INTO message_search_pending (message) SELECT id FROM messages;

-- The knowledge base: the articles of `[knowledge] path` (kind 'article',
-- name = file name without extension) and, with learn_from_closed, what
-- closed tickets taught (kind 'ticket', name = 'ticket-N'). `digest`
-- (hash of the file) lets a reindex skip what did not change.
CREATE TABLE knowledge (
    id          INTEGER PRIMARY KEY,
    kind        TEXT    NOT NULL CHECK (kind IN ('article', 'ticket')),
    name        TEXT    NOT NULL UNIQUE,
    title       TEXT    NOT NULL,
    tags        TEXT    NOT NULL,  -- space-separated
    language    TEXT,              -- en | fr | it, NULL: any
    body        TEXT    NOT NULL,
    ticket_id   INTEGER REFERENCES tickets(id),
    digest      TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE VIRTUAL TABLE knowledge_search USING fts5(
    title, tags, body,
    content = 'knowledge', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER knowledge_insert AFTER INSERT ON knowledge BEGIN
    INSERT INTO knowledge_search (rowid, title, tags, body)
        VALUES (new.id, new.title, new.tags, new.body);
END;
CREATE TRIGGER knowledge_delete AFTER DELETE ON knowledge BEGIN
    INSERT INTO knowledge_search (knowledge_search, rowid, title, tags, body)
        VALUES ('delete', old.id, old.title, old.tags, old.body);
END;
CREATE TRIGGER knowledge_update AFTER UPDATE ON knowledge BEGIN
    INSERT INTO knowledge_search (knowledge_search, rowid, title, tags, body)
        VALUES ('delete', old.id, old.title, old.tags, old.body);
    INSERT INTO knowledge_search (rowid, title, tags, body)
        VALUES (new.id, new.title, new.tags, new.body);
END;

-- How many entries hold each term: suggestions look up a ticket's rarest
-- words only, so the cost stays flat as the knowledge base grows.
CREATE VIRTUAL TABLE knowledge_terms USING fts5vocab('knowledge_search', 'row');
