-- Wrong confirmation codes tried against a held message (issue 17): after
-- five, no code is tried any more and the message waits for staff
-- (`postdesk quarantine release`).
ALTER TABLE verifications ADD COLUMN failed_attempts INTEGER NOT NULL DEFAULT 0;
