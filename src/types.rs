//! Domain types shared by every stage of the flow.
//!
//! Stages hand each other these values instead of strings, so a ticket number
//! cannot be confused with a row id and a status is always one of the six that
//! DESIGN.md names.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A ticket's public number, the `N` of the subject token `[PREFIX #N]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TicketId(pub i64);

impl fmt::Display for TicketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for TicketId {
    type Err = std::num::ParseIntError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim().trim_start_matches('#').parse().map(TicketId)
    }
}

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

/// An email address (`local@domain`) as written by its owner.
///
/// Equality and hashing ignore ASCII case: in practice no mail system hands
/// out `Bob@x` and `bob@x` to two people, and customers type their address
/// in whatever case they like. The original spelling is kept for display.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Address(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an email address: {0:?}")]
pub struct BadAddress(pub String);

impl Address {
    pub fn parse(s: &str) -> Result<Address, BadAddress> {
        let s = s
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .trim();
        let bad = || BadAddress(s.to_string());
        let (local, domain) = s.rsplit_once('@').ok_or_else(bad)?;
        let clean = |part: &str| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| !c.is_whitespace() && !c.is_control() && !"<>()[],;\\".contains(c))
        };
        if !clean(local) || !clean(domain) || local.contains('@') || domain.starts_with('.') {
            return Err(bad());
        }
        Ok(Address(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map(|(l, _)| l).unwrap_or("")
    }

    /// The domain in lower case.
    pub fn domain(&self) -> String {
        self.0
            .rsplit_once('@')
            .map(|(_, d)| d.to_ascii_lowercase())
            .unwrap_or_default()
    }

    /// The comparison key: the whole address in lower case.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

impl PartialEq for Address {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}
impl Eq for Address {}

impl std::hash::Hash for Address {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.key().hash(state)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Address {
    type Err = BadAddress;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Address::parse(s)
    }
}

impl TryFrom<String> for Address {
    type Error = BadAddress;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Address::parse(&s)
    }
}

impl From<Address> for String {
    fn from(a: Address) -> String {
        a.0
    }
}

/// A display name with its address, as in `From: "Ann Example" <ann@x.example>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mailbox {
    pub name: Option<String>,
    pub address: Address,
}

impl fmt::Display for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(n) if !n.is_empty() => write!(f, "{n} <{}>", self.address),
            _ => write!(f, "{}", self.address),
        }
    }
}

/// What kind of mail a message is, for the loop rules: only `Normal` mail is
/// ever answered automatically (RFC 3834 section 2).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "class", content = "reason", rename_all = "kebab-case")]
pub enum MailClass {
    #[default]
    Normal,
    /// An automatic message: out-of-office, list mail, notification. The
    /// string names the signal that gave it away, e.g. `Auto-Submitted: auto-replied`.
    AutoReply(String),
    /// A delivery status notification (bounce), with the signal.
    Bounce(String),
}

impl MailClass {
    pub fn is_automatic(&self) -> bool {
        !matches!(self, MailClass::Normal)
    }

    pub fn label(&self) -> &'static str {
        match self {
            MailClass::Normal => "normal",
            MailClass::AutoReply(_) => "auto-reply",
            MailClass::Bounce(_) => "bounce",
        }
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            MailClass::Normal => None,
            MailClass::AutoReply(r) | MailClass::Bounce(r) => Some(r),
        }
    }

    /// Rebuilds a class from its stored label and reason.
    pub fn from_parts(label: &str, reason: Option<String>) -> MailClass {
        let reason = reason.unwrap_or_default();
        match label {
            "auto-reply" => MailClass::AutoReply(reason),
            "bounce" => MailClass::Bounce(reason),
            _ => MailClass::Normal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trips_through_its_wire_name() {
        for st in Status::ALL {
            assert_eq!(st.as_str().parse::<Status>().unwrap(), st);
        }
        assert!("open".parse::<Status>().is_err());
        assert_eq!("In-Progress".parse::<Status>().unwrap(), Status::InProgress);
    }

    #[test]
    fn address_parsing_and_case() {
        let a = Address::parse(" <Ann@Example.COM> ").unwrap();
        assert_eq!(a.as_str(), "Ann@Example.COM");
        assert_eq!(a.domain(), "example.com");
        assert_eq!(a, Address::parse("ann@example.com").unwrap());
        for bad in [
            "",
            "ann",
            "@x.example",
            "ann@",
            "a b@x.example",
            "a@b@c",
            "a@.x",
        ] {
            assert!(Address::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn ticket_id_accepts_a_leading_hash() {
        assert_eq!("#42".parse::<TicketId>().unwrap(), TicketId(42));
        assert!("x".parse::<TicketId>().is_err());
    }
}
