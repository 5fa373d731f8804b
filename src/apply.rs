//! apply: turns one screened, threaded message into its state change and the
//! mail that change causes, inside the caller's transaction (the
//! transactional outbox of DESIGN invariant 2).

use chrono::{DateTime, Duration, Utc};

use crate::change;
use crate::config::{Language, UnmatchedAutomatic};
use crate::outbox::compose::{self, Desk};
use crate::parse::Inbound;
use crate::screen::Verdict;
use crate::store::{
    Event, EventKind, Held, NewMessage, NewTicket, QueuedMail, StoreError, Ticket, Tx,
};
use crate::thread::{Link, Thread};
use crate::types::{Address, Mailbox, TicketId};

/// The desk's settings that decide what a message causes.
pub struct Context<'a> {
    pub desk: Desk<'a>,
    pub language: Language,
    pub default_type: &'a str,
    pub confirm_receipt: bool,
    pub max_auto_replies_per_day: u32,
    pub unmatched_automatic: UnmatchedAutomatic,
    /// An operator released this message from quarantine: open a ticket
    /// instead of holding it again (still without an automatic answer).
    pub released: bool,
    /// Statuses, timers, reopening (see `change` and `lifecycle`).
    pub lifecycle: change::Settings<'a>,
}

/// A parsed message and where it came from.
pub struct Incoming<'a> {
    pub raw: &'a [u8],
    pub inbound: &'a Inbound,
    pub source: &'a str,
    pub at: DateTime<Utc>,
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
    /// Kept in quarantine for an operator.
    Held { quarantine: i64, reason: String },
}

impl Outcome {
    pub fn ticket(&self) -> Option<TicketId> {
        match self {
            Outcome::Opened { ticket, .. } | Outcome::Appended { ticket, .. } => Some(*ticket),
            Outcome::Held { .. } => None,
        }
    }

    pub fn message(&self) -> Option<i64> {
        match self {
            Outcome::Opened { message, .. } | Outcome::Appended { message, .. } => Some(*message),
            Outcome::Held { .. } => None,
        }
    }

    /// Whether this outcome queued mail for the sender.
    pub fn queued_mail(&self) -> bool {
        matches!(self, Outcome::Opened { receipt: Ok(_), .. })
    }
}

pub fn apply(
    tx: &mut Tx<'_>,
    ctx: &Context<'_>,
    msg: &Incoming<'_>,
    verdict: &Verdict,
    thread: &Thread,
) -> Result<Outcome, StoreError> {
    let inbound = msg.inbound;
    let no_answer = match verdict {
        Verdict::Hold(reason) => return hold(tx, msg, reason),
        Verdict::Pass { no_answer } => no_answer.as_deref(),
    };
    let from = match &inbound.from {
        Some(from) => from,
        None => return hold(tx, msg, "no valid From address"),
    };

    match thread {
        Thread::FollowUp { ticket, link } => {
            // A person's reply to a ticket closed longer than the reopen
            // window ago opens a new ticket that refers to it (one ticket,
            // one issue). Automatic mail never reopens anything.
            let person = !inbound.class.is_automatic() && *link != Link::SameMessageId;
            if person
                && let Some(old) = tx.read().ticket(*ticket)?
                && change::reply_opens_new_ticket(&ctx.lifecycle, &old, msg.at)
            {
                return open(tx, ctx, msg, from, no_answer, Some(&old));
            }
            let message = tx.insert_message(&new_message(msg, Some(*ticket)))?;
            let how = match link {
                Link::Token => "by its subject token".to_string(),
                Link::InReplyTo(id) => format!("as a reply to <{id}>"),
                Link::References(id) => format!("by its reference to <{id}>"),
                Link::SameMessageId => "as another copy of a message already here".to_string(),
                Link::BouncedOriginal => "as a report about a mail of this ticket".to_string(),
            };
            let class = match inbound.class.reason() {
                Some(r) => format!(" [{}: {r}]", inbound.class.label()),
                None => String::new(),
            };
            tx.add_event(
                *ticket,
                &Event {
                    at: msg.at,
                    kind: EventKind::MessageIn,
                    actor: from.address.to_string(),
                    detail: format!("follow-up from {from}, threaded {how}{class}"),
                    message: Some(message),
                    outbox: None,
                },
            )?;
            // An out-of-office or a bounce is no sign of life from the customer.
            if !inbound.class.is_automatic() {
                tx.touch_ticket(*ticket, msg.at, false)?;
            }
            if person {
                change::customer_message(tx, &ctx.lifecycle, *ticket, from, msg.at)?;
            }
            Ok(Outcome::Appended {
                ticket: *ticket,
                message,
                link: link.clone(),
            })
        }
        Thread::New => {
            if ctx.released {
                return open(tx, ctx, msg, from, no_answer, None);
            }
            if inbound.class.is_automatic()
                && ctx.unmatched_automatic == UnmatchedAutomatic::Quarantine
            {
                let why = format!(
                    "automatic message ({}: {}) that matches no ticket",
                    inbound.class.label(),
                    inbound.class.reason().unwrap_or_default()
                );
                return hold(tx, msg, &why);
            }
            if from.address == *ctx.desk.address {
                return hold(
                    tx,
                    msg,
                    "from our own address and matching no ticket: a possible mail loop",
                );
            }
            open(tx, ctx, msg, from, no_answer, None)
        }
    }
}

fn open(
    tx: &mut Tx<'_>,
    ctx: &Context<'_>,
    msg: &Incoming<'_>,
    from: &Mailbox,
    no_answer: Option<&str>,
    follows: Option<&Ticket>,
) -> Result<Outcome, StoreError> {
    let inbound = msg.inbound;
    let subject = if inbound.subject.trim().is_empty() {
        "(no subject)"
    } else {
        inbound.subject.trim()
    };
    let ticket = tx.create_ticket(&NewTicket {
        subject,
        ticket_type: ctx.default_type,
        account: None,
        requester: from,
        at: msg.at,
    })?;
    change::opened(tx, &ctx.lifecycle, ticket, msg.at)?;
    let message = tx.insert_message(&new_message(msg, Some(ticket)))?;
    let mut detail = format!("new ticket from {from}");
    if let Some(old) = follows {
        tx.set_reopened_from(ticket, old.number)?;
        let why = match ctx.lifecycle.reopen_window {
            Some(_) => "past the reopen window (intake.reopen_window)",
            None => "reopening is off (intake.reopen_window = 0)",
        };
        detail = format!(
            "{detail}, a reply to ticket #{} ({}, {why})",
            old.number, old.status
        );
        tx.add_event(
            old.number,
            &Event {
                at: msg.at,
                kind: EventKind::Note,
                actor: "postdesk".into(),
                detail: format!(
                    "a reply from {} opened ticket #{ticket} ({why})",
                    from.address
                ),
                message: None,
                outbox: None,
            },
        )?;
    }
    tx.add_event(
        ticket,
        &Event {
            at: msg.at,
            kind: EventKind::MessageIn,
            actor: from.address.to_string(),
            detail,
            message: Some(message),
            outbox: None,
        },
    )?;

    let receipt = match receipt_refusal(tx, ctx, msg, from, no_answer)? {
        Some(why) => Err(why),
        None => {
            let mail = compose::receipt(&ctx.desk, ticket, inbound, from, ctx.language, msg.at);
            let id = tx.queue_mail(&QueuedMail {
                ticket: Some(ticket),
                kind: mail.kind,
                automatic: true,
                message_id: &mail.message_id,
                mail_from: Some(ctx.desk.address),
                rcpt: &mail.to,
                subject: &mail.subject,
                raw: &mail.raw,
                at: msg.at,
            })?;
            Ok(id)
        }
    };
    let (detail, outbox) = match &receipt {
        Ok(id) => (format!("receipt queued to {}", from.address), Some(*id)),
        Err(why) => (format!("no receipt: {why}"), None),
    };
    tx.add_event(
        ticket,
        &Event {
            at: msg.at,
            kind: if outbox.is_some() {
                EventKind::MailOut
            } else {
                EventKind::Note
            },
            actor: "postdesk".into(),
            detail,
            message: None,
            outbox,
        },
    )?;
    Ok(Outcome::Opened {
        ticket,
        message,
        receipt,
    })
}

/// Why no receipt may go out, if that is so. The daily limit per address is
/// the last line of defence against a loop with a robot our header checks
/// did not recognise.
fn receipt_refusal(
    tx: &Tx<'_>,
    ctx: &Context<'_>,
    msg: &Incoming<'_>,
    to: &Mailbox,
    no_answer: Option<&str>,
) -> Result<Option<String>, StoreError> {
    if let Some(why) = no_answer {
        return Ok(Some(why.to_string()));
    }
    if !ctx.confirm_receipt {
        return Ok(Some(
            "receipts are turned off (intake.confirm_receipt)".into(),
        ));
    }
    auto_reply_limit(tx, &to.address, msg.at, ctx.max_auto_replies_per_day)
}

/// Why no more automatic mail may go to `to` at `at`, if that is so: the
/// limit of automatic mails per address in 24 hours, for receipts and every
/// other automatic mail to a customer.
pub fn auto_reply_limit(
    tx: &Tx<'_>,
    to: &Address,
    at: DateTime<Utc>,
    max_per_day: u32,
) -> Result<Option<String>, StoreError> {
    let sent = tx.read().automatic_mails_to(to, at - Duration::hours(24))?;
    if sent >= max_per_day {
        return Ok(Some(format!(
            "{sent} automatic mails to {to} in the last 24 hours reach the limit (intake.max_auto_replies_per_day)"
        )));
    }
    Ok(None)
}

fn hold(tx: &mut Tx<'_>, msg: &Incoming<'_>, reason: &str) -> Result<Outcome, StoreError> {
    let i = msg.inbound;
    let id = tx.quarantine(&Held {
        raw: msg.raw,
        content_hash: &i.content_hash,
        source: msg.source,
        message_id: Some(&i.message_id),
        from: i.from.as_ref().map(|f| f.address.as_str()),
        subject: Some(&i.subject),
        reason,
        at: msg.at,
    })?;
    Ok(Outcome::Held {
        quarantine: id,
        reason: reason.to_string(),
    })
}

fn new_message<'a>(msg: &Incoming<'a>, ticket: Option<TicketId>) -> NewMessage<'a> {
    NewMessage {
        raw: msg.raw,
        inbound: msg.inbound,
        source: msg.source,
        ticket,
        received_at: msg.at,
    }
}
