//! What apply is given (the desk's settings, the incoming message) and
//! what it tells its caller (the outcome), shared by every flow of apply.

use chrono::{DateTime, Duration, Utc};

use crate::config::UnmatchedAutomatic;
use crate::domain::proof::PinCheck;
use crate::domain::{Language, TicketId};
use crate::outbox::compose::Desk;
use crate::parse::Inbound;
use crate::thread::Link;
use crate::ticket;

/// The desk's settings that decide what a message causes.
pub struct Context<'a> {
    pub desk: Desk<'a>,
    pub language: Language,
    pub default_type: &'a str,
    pub confirm_receipt: bool,
    pub unmatched_automatic: UnmatchedAutomatic,
    /// An operator released this message from quarantine: open a ticket
    /// instead of holding it again (still without an automatic answer).
    pub released: bool,
    /// Released with `--force`: the operator judged a blocked sender a false
    /// positive, so the blocked lists do not hold it again.
    pub forced: bool,
    /// Statuses, timers, reopening (see `change` and `lifecycle`), and the
    /// rules of the one gate of automatic mail (`lifecycle.answer`).
    pub lifecycle: ticket::Settings<'a>,
    /// How long a confirmation code stays valid.
    pub verify_expiry: Duration,
    /// `intake.max_message_size`, for the size notice.
    pub max_message_size: u64,
    /// `intake.require_proof_for`: a new ticket matching one needs proof.
    pub proof_rules: &'a [regex::Regex],
    /// `intake.auto_verify`: such a ticket's primary address is asked at once.
    pub auto_verify: bool,
    /// The queue a new ticket opens in (`lifecycle.queue`'s name), and
    /// the history's line on how it was chosen and which other queues the
    /// message named, if it named any.
    pub route_note: Option<String>,
}

/// A parsed message and where it came from.
pub struct Incoming<'a> {
    pub raw: &'a [u8],
    pub inbound: &'a Inbound,
    pub source: &'a str,
    pub at: DateTime<Utc>,
    /// Its From address is genuine (trusted Authentication-Results).
    pub genuine: bool,
    /// A support PIN it gave: the account it was checked for, and how that
    /// went (its line is already cut out of `raw` and `inbound`).
    pub pin: Option<(Option<&'a str>, PinCheck)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A new ticket; `receipt` is the queued receipt's outbox row, or why none.
    Opened {
        ticket: TicketId,
        message: i64,
        receipt: Result<i64, String>,
    },
    /// Added to an existing ticket's history.
    Appended {
        ticket: TicketId,
        message: i64,
        link: Link,
    },
    /// Kept in quarantine for an operator; `answer` is the outbox row of
    /// what the sender was told (a confirmation request, a refusal), if any.
    Held {
        quarantine: i64,
        reason: String,
        answer: Option<i64>,
    },
    /// A self-service request applied to an account's authorized senders
    /// (the message is kept, under no ticket).
    Account {
        account: String,
        message: i64,
        answer: Option<i64>,
    },
    /// A reply to a confirmation request: the held messages of that sender
    /// were taken in (`released` of them), and the reply joined `ticket`.
    Confirmed {
        ticket: TicketId,
        message: i64,
        released: usize,
    },
    /// A genuine staff member's `#search` mail, answered with the result
    /// list (`answer`: its outbox row, unless the gate refused).
    Search { message: i64, answer: Option<i64> },
    /// A staff member's mail on a ticket (see `apply::staff`).
    Staff {
        ticket: TicketId,
        message: i64,
        action: StaffAction,
    },
}

/// What a staff member's mail did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaffAction {
    /// A reply, relayed to the customer side (commands applied too).
    Replied,
    /// An internal note, told to the staff side.
    Noted,
    /// Commands only, applied; nothing relayed.
    Commands,
    /// Not applied (a command not understood or refused); its author told.
    Refused,
    /// Automatic mail from a staff address: kept, nothing else.
    Automatic,
}

impl StaffAction {
    pub fn label(self) -> &'static str {
        match self {
            StaffAction::Replied => "staff reply",
            StaffAction::Noted => "staff note",
            StaffAction::Commands => "staff commands",
            StaffAction::Refused => "staff mail refused",
            StaffAction::Automatic => "staff auto-reply",
        }
    }
}

impl Outcome {
    pub fn ticket(&self) -> Option<TicketId> {
        match self {
            Outcome::Opened { ticket, .. }
            | Outcome::Appended { ticket, .. }
            | Outcome::Confirmed { ticket, .. }
            | Outcome::Staff { ticket, .. } => Some(*ticket),
            Outcome::Held { .. } | Outcome::Account { .. } | Outcome::Search { .. } => None,
        }
    }

    pub fn message(&self) -> Option<i64> {
        match self {
            Outcome::Opened { message, .. }
            | Outcome::Appended { message, .. }
            | Outcome::Account { message, .. }
            | Outcome::Search { message, .. }
            | Outcome::Confirmed { message, .. }
            | Outcome::Staff { message, .. } => Some(*message),
            Outcome::Held { .. } => None,
        }
    }

    /// Whether this outcome may have queued mail, so that the outbox
    /// sender is worth waking: said for sure where it is known, and for
    /// every message that joined a ticket (its staff notification, a
    /// bounce notice, a relay, a notice of a command).
    pub fn queued_mail(&self) -> bool {
        match self {
            // The staff notification goes even without a receipt.
            Outcome::Opened { .. } | Outcome::Appended { .. } => true,
            Outcome::Held { answer, .. }
            | Outcome::Account { answer, .. }
            | Outcome::Search { answer, .. } => answer.is_some(),
            // The released messages' receipts and notifications.
            Outcome::Confirmed { released, .. } => *released > 0,
            Outcome::Staff { action, .. } => *action != StaffAction::Automatic,
        }
    }
}
