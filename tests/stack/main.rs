//! postdesk's tests against the real mail servers: Dovecot (POP3, IMAP,
//! LMTP) and Postfix (SMTP, submission) of tests/mailstack on 127.0.0.1,
//! on free ports chosen at start. One module per area.
//!
//! Run them inside a stack: `tests/run-with-mailstack.sh cargo test --test
//! stack` (as root; `bash tests/run.sh` does it for the whole suite).
//! Without one (no MAILSTACK_SMTP_PORT) every test says "skipped: no mail
//! stack" and passes, unless POSTDESK_REQUIRE_MAILSTACK=1 (CI) makes that a
//! failure. The fast tests are the other binary, `tests/it/`.

/// The helpers of `tests/it/support/`, shared by both binaries; `stack`
/// holds the servers' ports and files.
#[path = "../it/support/mod.rs"]
mod support;

mod large_mail; // a 3 MB message on a POP3/IMAP server: held cut, removed, the rest taken
mod mailbox; // POP3 and IMAP sources through `postdesk run`: round trips, IDLE, bad servers, 5,000 mails
mod oauth; // OAuth 2.0 sign-in (XOAUTH2/OAUTHBEARER) with each flow for IMAP, POP3 and SMTP; expiry, revocation, device login, no secret in logs
mod outage;
mod queues; // two addresses delivered by Postfix into one Dovecot mailbox, routed by the Delivered-To the delivery wrote
mod smtp; // the outbox's SMTP, SMTPS, submission and sendmail transports against Postfix // Dovecot and Postfix stopped mid-run: nothing lost or doubled (takes the stack alone)
