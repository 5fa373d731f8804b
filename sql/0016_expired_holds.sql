-- Mail held for address confirmation whose code expired unused is told to
-- staff once (issue 11): `ticket` is the ticket whose token the held mail
-- carried (told on that ticket: a history line and a staff notice), NULL
-- for a stranger's new mail (told in the next digest); `expiry_told_at`
-- says it was told, so neither a second sweep nor a restart tells it again.
ALTER TABLE verifications ADD COLUMN ticket INTEGER REFERENCES tickets(id);
ALTER TABLE verifications ADD COLUMN expiry_told_at INTEGER;

-- Codes sent before this version are not told: those expired were in
-- their day's digest (the held list), and a migration does not read the
-- clock (time is injected) to tell them from the few still running.
UPDATE verifications SET expiry_told_at = expires_at WHERE used_at IS NULL;

CREATE INDEX verifications_expiry_untold ON verifications(expires_at)
 WHERE expiry_told_at IS NULL AND used_at IS NULL;
