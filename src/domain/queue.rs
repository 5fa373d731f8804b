//! A queue: one of the desk's support addresses (support@, billing@,
//! abuse@) with its own name, team, rules and language. Resolved once from
//! the config (`[[queue]]`, each unset key taken from the desk-wide
//! setting); a desk without `[[queue]]` is one queue made of `[service]`.
//! Every ticket belongs to one queue, by name; its mail leaves from it.

use std::path::PathBuf;

use super::lifecycle::InactivityRule;
use super::{Address, Language, MatchOptions};

/// What happens to mail from a sender who belongs to no account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownSender {
    /// Hold it and ask the sender to confirm their address by replying.
    Verify,
    /// Open a ticket marked "unverified sender" at once.
    Accept,
    /// Hold it and tell the sender how to write from a registered address.
    Reject,
}

/// One queue, every setting resolved (no fallback left to look up).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queue {
    /// `[[queue]] name`, what `#queue` and `ticket set-queue` take and
    /// the tickets table records; the implicit queue is [`Queue::IMPLICIT`].
    pub name: String,
    /// Customers write here; the queue's mail leaves from here.
    pub address: Address,
    /// Other addresses of this queue (routed here too, never mailed).
    pub aliases: Vec<Address>,
    /// The display name of its mail (`service.name` when unset).
    pub display_name: String,
    /// The subject token's prefix of its tickets.
    pub ticket_prefix: String,
    /// Never empty.
    pub ticket_types: Vec<String>,
    /// One of `ticket_types`: the type of a new ticket.
    pub default_type: String,
    pub default_language: Language,
    pub confirm_receipt: bool,
    pub unknown_sender: UnknownSender,
    /// Where the staff side's mail about its tickets goes: its `notify`,
    /// else its members' addresses, else the desk's `[staff]`.
    pub team: Vec<Address>,
    /// `None`: the desk's inactivity rules.
    pub inactivity: Option<Vec<InactivityRule>>,
    /// The template folders, searched in order before the built-in set:
    /// the queue's own `templates`, else the desk's (empty: built-in only).
    pub templates: Vec<PathBuf>,
}

impl Queue {
    /// The name of the one queue of a desk without `[[queue]]`.
    pub const IMPLICIT: &'static str = "default";

    /// Whether `a` is this queue's address or one of its aliases.
    pub fn answers_to(&self, a: &Address, opts: &MatchOptions) -> bool {
        self.address.same_mailbox(a, opts) || self.aliases.iter().any(|b| b.same_mailbox(a, opts))
    }

    /// The queue's addresses, its own first.
    pub fn addresses(&self) -> impl Iterator<Item = &Address> {
        std::iter::once(&self.address).chain(&self.aliases)
    }
}

impl AsRef<Queue> for Queue {
    fn as_ref(&self) -> &Queue {
        self
    }
}

/// A queue name as written in `#queue NAME` or `--queue NAME`: any case.
pub fn same_name(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}
