//! postdesk's fast integration tests: one binary, one module per area.
//!
//! A new test goes into the area below that it is about (or a new `mod`
//! line with its comment); helpers two areas need go into `support/`.
//! Tests that need the real mail servers (Dovecot, Postfix) live in the
//! other binary, `tests/stack/`.
//!
//! ```sh
//! cargo test --test it                       # all of them
//! cargo test --test it replies:: -- --nocapture   # one area, its output shown
//! ```

/// Shared helpers: a throw-away `Desk` driven through the binary, mail
/// builders, waits with deadlines, the corpus, the mail stack's variables.
mod support;

// ---- mail in: parsing, then intake through the binary
mod accounts; // accounts: `postdesk account`, declared accounts, an accounts file of thousands, expiring codes
mod corpus; // the whole ../shared/corpus through the pipeline and `ingest --maildir`
mod corpus_parse; // parse + classify every message of ../shared/corpus (skipped, counted, when missing)
mod crash;
mod intake_faults; // nothing lost: reused Maildir names, database gone, 1 GB mail, poison messages
mod pipeline; // a customer's mail → one ticket, one receipt; replies join it; duplicates change nothing
mod replies;
mod search; // ticket search (words, senders, attachment names, ranked), export byte for byte (mboxrd, Maildir), attachments with safe names // reply splitting over the golden replies in tests/replies/ (new text vs quote)
mod senders; // who may write: strangers and the verify flow, ISP accounts, self-service by mail, Authentication-Results, screen rules // SIGKILL during intake of 2,000 messages: each stored once, each receipt sent once

// ---- tickets and answers
mod announce; // mass mail: one mail per account in its language, resumed after SIGKILL without doubling, rate limit, bounced and unsubscribed left out, dry run
mod answers; // one mail per staff action (answer + what changed + history), the team's copy of every answer
mod attacks; // hostile senders: computed or reused Message-IDs, huge Cc lists, forged reports
mod digest; // nothing waits unseen: held mail with a token told to staff, expired holds told once, the staff digest (staff only, never empty)
mod golden; // golden mails (tests/it/golden/*.eml): a reply that closes, the team's copy, an ISP for a French child, the Italian desk, reminders per language
mod history; // long threads: the history in mail, history.txt on close, huge subjects and bodies shortened
mod knowledge; // the knowledge base: suggestions to staff (and customers), kb list|show|reindex, #kb, #solved, closed tickets learnt from
mod knowledge_cost; // a suggestion lookup costs the same in a base four times larger (VM steps, not time); per-term entry counts stay exact
mod knowledge_waiting; // suggestions off intake's path: the new ticket's notification (and receipt with articles) queued by the indexer or outbox flush, in order, once, within seconds
mod language; // each person's language: the recipient's account, the ticket's, the desk's; words and dates translated
mod leak; // nothing sent only to staff (notes, notifications) reaches a customer, whatever the client quotes
mod lifecycle; // inactivity rules, sweeps, on-hold, reopening, the daemon's scheduled sweep
mod loops; // mail loops end: desks and robots exchanging mail until none moves
mod openpgp; // OpenPGP: encrypted mail in (PGP/MIME, inline, key rollover, wrong key), signed mail shown, no plaintext out; keys learnt from genuine mail
mod proof; // proving account ownership: #verify to the primary address, the support PIN, require_proof_for
mod queues; // several support addresses: routing by envelope, To and Cc, one ticket per mail, #queue and set-queue, per-queue rules
mod smime; // S/MIME signed mail (openssl-made): opaque unwrapped, signatures checked, proof only by a known certificate
mod staff; // staff answers and commands by mail, notifications, relays to the customer
mod subjects; // subjects say what a mail is: its kind in the recipient's language, [priority] for staff, no other ticket's token
mod templates; // where templates come from: a list of folders searched file by file, then the built-in set; a missing folder in check-config

// ---- running it
mod cli; // the command line: where the config comes from, a broken one, exit codes
mod daemon; // `postdesk run` under systemd: reload, sd_notify, SIGTERM within seconds
mod monitoring;
mod oauth; // `postdesk oauth login/status` before a sign-in and when it cannot happen (sign-ins: tests/stack/oauth.rs) // `postdesk status` and its exit codes, the Prometheus endpoint scraped and parsed

// ---- what ships beside the code
mod deps;
mod docs; // man pages and conf/postdesk.toml agree with the code (every key, command, example)
mod readme; // README's "Try it" runs as written
mod systemd; // systemd/postdesk.service has what it should, and systemd-analyze accepts it // src/'s file-level import graph has no cycle: dependencies run one way
