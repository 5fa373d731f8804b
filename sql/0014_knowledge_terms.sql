-- postdesk schema, migration 0014 (issue 15, cost of suggestions): how
-- many knowledge entries hold each term, kept with the entries.
--
-- A suggestion looks up a ticket's rarest words only, so it must know how
-- many entries hold each word. fts5vocab (knowledge_terms, 0010) answers
-- that by walking the word's whole list of entries: ~180 ms per new ticket
-- with 110,000 entries, inside intake's transaction. This table answers it
-- in one index step.
CREATE TABLE knowledge_term_docs (
    term  TEXT    PRIMARY KEY,  -- as FTS5 spells it: lower case, no accents
    docs  INTEGER NOT NULL
) WITHOUT ROWID;

-- A scratch index holding one entry at a time, with knowledge_search's
-- tokenizer: its vocabulary is the entry's distinct terms exactly as FTS5
-- cuts them (no second tokenizer in Rust to drift apart). Contentless, so
-- 'delete-all' empties it in one step.
CREATE VIRTUAL TABLE knowledge_scratch USING fts5(
    title, tags, body,
    content = '',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE VIRTUAL TABLE knowledge_scratch_terms USING fts5vocab('knowledge_scratch', 'row');

CREATE TRIGGER knowledge_terms_insert AFTER INSERT ON knowledge BEGIN
    INSERT INTO knowledge_scratch (rowid, title, tags, body)
        VALUES (1, new.title, new.tags, new.body);
    INSERT INTO knowledge_term_docs (term, docs)
        SELECT term, 1 FROM knowledge_scratch_terms WHERE true
        ON CONFLICT (term) DO UPDATE SET docs = docs + 1;
    INSERT INTO knowledge_scratch (knowledge_scratch) VALUES ('delete-all');
END;

CREATE TRIGGER knowledge_terms_delete AFTER DELETE ON knowledge BEGIN
    INSERT INTO knowledge_scratch (rowid, title, tags, body)
        VALUES (1, old.title, old.tags, old.body);
    UPDATE knowledge_term_docs SET docs = docs - 1
        WHERE term IN (SELECT term FROM knowledge_scratch_terms);
    DELETE FROM knowledge_term_docs
        WHERE docs <= 0 AND term IN (SELECT term FROM knowledge_scratch_terms);
    INSERT INTO knowledge_scratch (knowledge_scratch) VALUES ('delete-all');
END;

CREATE TRIGGER knowledge_terms_update AFTER UPDATE OF title, tags, body ON knowledge BEGIN
    INSERT INTO knowledge_scratch (rowid, title, tags, body)
        VALUES (1, old.title, old.tags, old.body);
    UPDATE knowledge_term_docs SET docs = docs - 1
        WHERE term IN (SELECT term FROM knowledge_scratch_terms);
    DELETE FROM knowledge_term_docs
        WHERE docs <= 0 AND term IN (SELECT term FROM knowledge_scratch_terms);
    INSERT INTO knowledge_scratch (knowledge_scratch) VALUES ('delete-all');
    INSERT INTO knowledge_scratch (rowid, title, tags, body)
        VALUES (1, new.title, new.tags, new.body);
    INSERT INTO knowledge_term_docs (term, docs)
        SELECT term, 1 FROM knowledge_scratch_terms WHERE true
        ON CONFLICT (term) DO UPDATE SET docs = docs + 1;
    INSERT INTO knowledge_scratch (knowledge_scratch) VALUES ('delete-all');
END;

-- Entries indexed before this migration: counted once, here.
INSERT INTO knowledge_term_docs (term, docs)
    SELECT term, doc FROM knowledge_terms WHERE doc > 0;
