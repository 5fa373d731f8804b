-- postdesk schema, migration 0011 (issue 16): OpenPGP.
-- A message that came encrypted keeps its raw bytes as received (encrypted)
-- and its decrypted text in body_text/new_text; `encrypted` says so. A
-- ticket holding such a message is `encrypted` from then on: no mail about
-- it carries its content in clear (outbox::seal). Kept on the ticket so
-- that deciding costs one row, whatever the ticket's length.
ALTER TABLE messages ADD COLUMN encrypted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN encrypted INTEGER NOT NULL DEFAULT 0;
-- What the screen found of the message's OpenPGP signature, as staff read
-- it ("signed, good signature by …", "signed, BAD signature: …"); NULL:
-- not signed, or not checked.
ALTER TABLE messages ADD COLUMN signature TEXT;
