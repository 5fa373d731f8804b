//! Where a ticket stands, and why a message waits in quarantine.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Ticket status, spelled on the wire (JSON, CLI, database) as in DESIGN.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    New,
    InProgress,
    WaitingForCustomer,
    OnHold,
    Closed,
    Rejected,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::New,
        Status::InProgress,
        Status::WaitingForCustomer,
        Status::OnHold,
        Status::Closed,
        Status::Rejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::InProgress => "in-progress",
            Status::WaitingForCustomer => "waiting-for-customer",
            Status::OnHold => "on-hold",
            Status::Closed => "closed",
            Status::Rejected => "rejected",
        }
    }

    /// Open tickets are the ones `ticket list` shows by default.
    pub fn is_open(self) -> bool {
        !matches!(self, Status::Closed | Status::Rejected)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error(
    "unknown status {0:?} (expected one of: new, in-progress, waiting-for-customer, on-hold, closed, rejected)"
)]
pub struct UnknownStatus(pub String);

impl FromStr for Status {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        Status::ALL
            .into_iter()
            .find(|st| st.as_str() == wanted)
            .ok_or_else(|| UnknownStatus(s.to_string()))
    }
}

/// Why a message sits in quarantine, as a word scripts can count by
/// (`quarantine list --json` field `kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HoldKind {
    /// Not mail at all, or beyond the MIME parser.
    Unreadable,
    /// Over `intake.max_message_size`.
    TooLarge,
    /// From a blocked domain or address.
    Blocked,
    /// The operator's spam filter said so.
    Spam,
    /// Automatic mail matching no ticket.
    Automatic,
    /// From our own address, matching no ticket.
    Loop,
    /// No usable From address.
    NoSender,
    /// An unknown sender who has been asked to confirm their address.
    Unconfirmed,
    /// A known address (a staff member, an account's primary address)
    /// whose mail could not be shown to come from it: held until the
    /// address confirms this very message.
    Unproven,
    /// An unknown sender under `unknown_sender = "reject"`.
    Rejected,
    /// A request refused: self-service from someone else than the primary
    /// address, an account named that the sender may not write for.
    Refused,
    /// A reply to a confirmation whose code is wrong, expired or used.
    BadConfirmation,
    /// Encrypted (OpenPGP) and not decryptable with the desk's keys: the
    /// sender is told once how to write again.
    Undecryptable,
    /// Anything held before kinds were recorded.
    Other,
}

impl HoldKind {
    pub const ALL: [HoldKind; 14] = [
        HoldKind::Unreadable,
        HoldKind::TooLarge,
        HoldKind::Blocked,
        HoldKind::Spam,
        HoldKind::Automatic,
        HoldKind::Loop,
        HoldKind::NoSender,
        HoldKind::Unconfirmed,
        HoldKind::Unproven,
        HoldKind::Rejected,
        HoldKind::Refused,
        HoldKind::BadConfirmation,
        HoldKind::Undecryptable,
        HoldKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HoldKind::Unreadable => "unreadable",
            HoldKind::TooLarge => "too-large",
            HoldKind::Blocked => "blocked",
            HoldKind::Spam => "spam",
            HoldKind::Automatic => "automatic",
            HoldKind::Loop => "loop",
            HoldKind::NoSender => "no-sender",
            HoldKind::Unconfirmed => "unconfirmed",
            HoldKind::Unproven => "unproven",
            HoldKind::Rejected => "rejected",
            HoldKind::Refused => "refused",
            HoldKind::BadConfirmation => "bad-confirmation",
            HoldKind::Undecryptable => "undecryptable",
            HoldKind::Other => "other",
        }
    }

    pub fn parse(s: &str) -> HoldKind {
        HoldKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .unwrap_or(HoldKind::Other)
    }
}

impl fmt::Display for HoldKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
