-- postdesk schema, migration 0015 (issue 16): senders' OpenPGP keys the
-- desk learnt from their mail. A key attached (application/pgp-keys) to a
-- message that was itself genuine (from an address of an account, its From
-- shown genuine) is kept for the address in its From, and only when one of
-- the key's user ids carries that address; it is then used to check the
-- sender's signatures and to encrypt mail about encrypted tickets to them.
-- One row per (address, key); a key sent again changes nothing.
CREATE TABLE sender_keys (
    id INTEGER PRIMARY KEY,
    -- As written in the From, and its lookup key (Address::key).
    address TEXT NOT NULL,
    address_key TEXT NOT NULL,
    -- Upper-case hex, for staff and to recognise a key sent again.
    fingerprint TEXT NOT NULL,
    -- The public key, ASCII-armoured.
    armored TEXT NOT NULL,
    -- The message it came with (Message-ID, without brackets).
    message_id TEXT NOT NULL,
    learned_at INTEGER NOT NULL,
    UNIQUE (address_key, fingerprint)
);
