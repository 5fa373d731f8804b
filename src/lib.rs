//! postdesk: an email-native support-ticketing daemon.
//!
//! The folders are the data flow; each may use the ones listed before it,
//! never one after it (a test in `tests/it/deps.rs` fails on any import
//! cycle between files or folders):
//!
//! ```text
//! domain/    ids, status, addresses, languages, account spec, business
//!            calendar, lifecycle table, our Message-IDs, the clock — pure
//! config/    the TOML typed by serde, cross-field validation, accounts file
//! store/     all SQL (one file per table group), the shared handle
//! parse/     raw bytes → Inbound (the only user of mail-parser); reply
//!            splitting (quote/), HTML, delivery reports, mail classes
//! accounts   the operator's account changes and the config's accounts
//!            applied to the store
//! screen/    loops, automatic mail, size, blocked, spam; genuine From
//!            (authres: Authentication-Results)
//! thread/    subject token → verified Message-IDs → follow-up | new;
//!            the texts of our mails a reply quotes (ourmail)
//! identify/  who writes (staff, account, ISP for a child, stranger), what
//!            they may do; self-service requests
//! oauth/     OAuth 2.0 sign-in for mail servers: tokens (grants, device
//!            login, service-account JWT), their file, SASL XOAUTH2 and
//!            OAUTHBEARER
//! outbox/    gate (may this mail go?), templates, compose, queue, deliver
//! ticket/    transitions (change), history, notices, relay between the
//!            two sides, the inactivity sweep
//! apply/     one message's change and the mail it causes: customer,
//!            stranger, self-service, bounce, staff mail and its #commands
//! intake/    one batch through parse → screen → thread → identify → apply,
//!            committed before the source removes anything; confirmations
//! source/    maildir, mbox, pop3, imap (each with its own loop), net
//! daemon/    generations of the config, the sweep schedule, signals,
//!            systemd, lock and pid file
//! commands/  one file per subcommand group; cli.rs holds clap only
//! ```
//!
//! `main.rs` is only the command-line entry.

pub mod accounts;
pub mod apply;
pub mod commands;
pub mod config;
pub mod daemon;
pub mod domain;
pub mod identify;
pub mod intake;
pub mod oauth;
pub mod outbox;
pub mod parse;
pub mod screen;
pub mod source;
pub mod store;
pub mod thread;
pub mod ticket;
