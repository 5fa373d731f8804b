//! domain: the values every stage hands the next — ticket and account ids,
//! statuses, addresses, languages, the business calendar, the lifecycle
//! table and our Message-IDs. Pure: no I/O, no config, no database.

mod account;
mod address;
mod ids;
mod language;
mod mail;
mod status;
pub mod words;

pub mod calendar;
pub mod clock;
pub mod filename;
pub mod knowledge;
pub mod lifecycle;
pub mod msgid;
pub mod proof;
pub mod queue;

pub use account::AccountSpec;
pub use address::{
    Address, BadAddress, BadPattern, Mailbox, MatchOptions, SenderPattern, canonical_domain,
};
pub use ids::{AccountId, BadAccountId, TicketId};
pub use language::{Language, choose as choose_language};
pub use mail::{Audience, MailClass};
pub use queue::{Queue, UnknownSender};
pub use status::{HoldKind, Status, UnknownStatus};

#[cfg(test)]
mod tests;
