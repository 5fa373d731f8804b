//! What kind of mail a message is, and which side of the desk a mail of
//! ours went to.
use serde::{Deserialize, Serialize};

/// What kind of mail a message is, for the loop rules: only `Normal` mail is
/// ever answered automatically (RFC 3834 section 2), and only `AutoReply`
/// and `Bounce` are a machine's.
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
    /// A person's mail, as far as anyone can tell, that asks not to be
    /// answered automatically (`X-Auto-Response-Suppress: All`): taken in
    /// like any person's mail (Exchange sets the field on human mail too),
    /// but no receipt, confirmation request or refusal answers it.
    NoAutoAnswer(String),
}

impl MailClass {
    /// Sent by a machine: never answered, no sign of life from a customer.
    pub fn is_automatic(&self) -> bool {
        matches!(self, MailClass::AutoReply(_) | MailClass::Bounce(_))
    }

    pub fn label(&self) -> &'static str {
        match self {
            MailClass::Normal => "normal",
            MailClass::AutoReply(_) => "auto-reply",
            MailClass::Bounce(_) => "bounce",
            MailClass::NoAutoAnswer(_) => "no-auto-answer",
        }
    }

    /// Why no automatic mail may answer the message (automatic, or asking
    /// for silence); None for plain mail.
    pub fn reason(&self) -> Option<&str> {
        match self {
            MailClass::Normal => None,
            MailClass::AutoReply(r) | MailClass::Bounce(r) | MailClass::NoAutoAnswer(r) => Some(r),
        }
    }

    /// Rebuilds a class from its stored label and reason.
    pub fn from_parts(label: &str, reason: Option<String>) -> MailClass {
        let reason = reason.unwrap_or_default();
        match label {
            "auto-reply" => MailClass::AutoReply(reason),
            "bounce" => MailClass::Bounce(reason),
            "no-auto-answer" => MailClass::NoAutoAnswer(reason),
            _ => MailClass::Normal,
        }
    }
}

/// Which side of the desk a mail went to. Only a customer-side mail's
/// Message-ID lets its holder into a ticket; a staff-side one proves a
/// staff member answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Audience {
    /// The customer side of a ticket, or a sender the desk answers.
    Customer,
    /// The staff: notifications, answers to staff mail, staff notices.
    Staff,
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Customer => "customer",
            Audience::Staff => "staff",
        }
    }

    pub fn parse(s: &str) -> Option<Audience> {
        match s {
            "customer" => Some(Audience::Customer),
            "staff" => Some(Audience::Staff),
            _ => None,
        }
    }
}
