//! postdesk: an email-native support-ticketing daemon.
//!
//! The mail flows through one module per stage (see DESIGN.md):
//!
//! ```text
//! source   maildir | mbox | pop3 | imap         raw bytes + source id
//! intake   runs the stages below and commits, THEN the source removes
//! parse    raw bytes → Inbound (mail-parser)
//! screen   loops (our own X-Postdesk-Loop), automatic mail, size, blocked,
//!          spam; genuine From (authres)
//! thread   subject token, then our Message-IDs → follow-up of N, or new
//! identify who writes (staff, account, ISP for a child, stranger) and may they
//! apply    the ticket change + the mail it causes, one transaction;
//!          a staff member's mail goes to `staffmail` (reply, note, #commands)
//! outbox   compose (mail-builder) → durable queue → deliver (lettre, maildir, sendmail)
//! ```
//!
//! The ticket lifecycle runs beside the flow: `lifecycle` holds the rules
//! (the transition table, the inactivity plans), `calendar` the business
//! calendar they count on, `change` carries decisions out with their mail
//! in the caller's transaction, and `sweep` applies the inactivity rules at
//! an instant (`postdesk sweep`, and the daemon's cron schedule).
//!
//! `relay` writes the mail between the two sides of a ticket: the staff
//! notification of a customer's message (or note, or bounce), and the
//! relay of a staff reply to the customer side, with its loop guard.
//!
//! `store` owns the database; `config` the TOML; `accounts` the customer
//! accounts; `clock` the time; `daemon` runs it all (and tells systemd);
//! `commands` is the command line (`commands::cli` its clap definitions).

pub mod accounts;
pub mod apply;
pub mod commands;
pub mod config;
pub mod daemon;
pub mod domain;
pub mod identify;
pub mod intake;
pub mod outbox;
pub mod parse;
pub mod screen;
pub mod source;
pub mod store;
pub mod thread;
pub mod ticket;
