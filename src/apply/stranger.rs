//! stranger: a sender the desk does not know (or cannot show genuine)
//! under `verify` — held, and asked to confirm by a one-time code — or
//! under `reject` — held and told.

use chrono::{DateTime, Duration, Utc};

use super::context::{Context, Incoming, Outcome};
use super::{Answer, hold_and_answer, hold_row, queue};
use crate::domain::proof::{code_hash, new_code};
use crate::domain::{Address, HoldKind, Mailbox, TicketId};
use crate::outbox::compose::{self, Recipient};
use crate::outbox::gate;
use crate::store::{StoreError, Tx};
use crate::ticket::relay::Why;

/// An unknown sender under `verify`: the message waits in quarantine, and
/// the sender gets a one-time code to confirm their address by replying.
pub(super) fn verify(
    tx: &mut Tx<'_>,
    ctx: &Context<'_>,
    msg: &Incoming<'_>,
    from: &Mailbox,
    no_answer: Option<&str>,
    refers_to: Option<TicketId>,
    known: bool,
) -> Result<Outcome, StoreError> {
    let inbound = msg.inbound;
    // A staff member asked whether a mail in their name is theirs: staff
    // side mail, still within the daily limit (a forger could send many).
    let s = &ctx.lifecycle;
    let staff_side = known && s.staff.is_staff_address(&from.address, &s.matching);
    let one = [from.address.clone()];
    let to = if staff_side {
        Recipient::Staff(&one)
    } else {
        Recipient::Customer(from)
    };
    let mut refusal = confirmation_refusal(tx, s, msg, from, to, no_answer)?;
    let code = match refusal {
        Some(_) => None,
        None => match new_code() {
            Ok(c) => Some(c),
            Err(e) => {
                refusal = Some(format!("no random numbers for a code: {e}"));
                None
            }
        },
    };
    let reason = hold_reason(from, known, refers_to, refusal.as_deref());
    let kind = if known {
        HoldKind::Unproven
    } else {
        HoldKind::Unconfirmed
    };
    let quarantine = hold_row(tx, msg, kind, &reason)?;
    let held = |answer| Outcome::Held {
        quarantine,
        reason: reason.clone(),
        answer,
    };
    // A re-delivery of a message that waits already keeps its first code.
    let Some(code) = code else {
        return Ok(held(None));
    };
    if tx.read().verification_of_quarantine(quarantine)?.is_some() {
        return Ok(held(None));
    }
    let hash = code_hash(&code);
    let expires = msg.at + ctx.verify_expiry;
    let shown = format!("{}-{}-{}", &code[..4], &code[4..8], &code[8..]);
    // An encrypted message is neither quoted nor named in clear: the
    // request carries its code alone (it cannot be sealed, which would
    // take the code out of the subject).
    let encrypted = inbound.encryption == crate::parse::Encryption::Decrypted;
    let unnamed;
    let (inbound, their_subject) = if encrypted {
        unnamed = crate::parse::Inbound {
            subject: String::new(),
            new_text: String::new(),
            text: String::new(),
            quoted: String::new(),
            ..inbound.clone()
        };
        (&unnamed, "")
    } else {
        (inbound, inbound.subject.trim())
    };
    let subject = format!(
        "{} {}",
        ctx.desk.token.format_confirm(&shown),
        their_subject
    );
    let expiry = ctx.lifecycle.speech(ctx.language).date(expires);
    let message = compose::quoted(&inbound.new_text);
    let mut mail = compose::answer(
        &ctx.desk,
        "confirm",
        ctx.language,
        from,
        inbound,
        &subject,
        &hash,
        &[
            ("code", &shown),
            ("expires", &expiry),
            ("message", &message),
            ("unknown", if known { "" } else { "yes" }),
            ("known", if known { "yes" } else { "" }),
        ],
        msg.at,
    );
    if staff_side {
        mail.audience = crate::domain::Audience::Staff;
    }
    let outbox = if encrypted {
        super::queue_as_is(tx, ctx, msg, &mail, None)?
    } else {
        queue(tx, ctx, msg, &mail, None)?
    };
    let verification =
        tx.add_verification(quarantine, &from.address, &hash, outbox, msg.at, expires)?;
    // A stranger's: a known address that could not be shown genuine (a
    // forged staff or primary address) is asked itself, and that is all.
    if let Some(t) = refers_to.filter(|_| !known) {
        // Its code's expiry, if it comes, is told on the same ticket.
        if tell_ticket(tx, ctx, t, &from.address, Some(expires), msg.at)? {
            tx.set_verification_ticket(verification, Some(t))?;
        }
    }
    Ok(held(Some(outbox)))
}

/// A held mail carried the token of ticket `t`: a line in its history and
/// a short notice to staff (who wrote, until when the code is valid), so
/// nothing about a ticket waits unseen in quarantine.
fn tell_ticket(
    tx: &mut Tx<'_>,
    ctx: &Context<'_>,
    t: TicketId,
    from: &Address,
    until: Option<DateTime<Utc>>,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    if tx.read().ticket(t)?.is_none() {
        return Ok(false);
    }
    let s = &ctx.lifecycle;
    let line = match until {
        Some(u) => format!(
            "mail from {from}, who is not on this ticket, held until the address confirms it (code valid until {})",
            s.calendar.format(u)
        ),
        None => format!(
            "mail from {from}, who is not on this ticket, held (see postdesk quarantine list)"
        ),
    };
    crate::ticket::note(tx, t, at, &line)?;
    crate::ticket::relay::to_staff(tx, s, t, Why::Held { from, until }, None, at)?;
    Ok(true)
}

/// Why a message waits for its sender's confirmation, for the quarantine
/// and staff.
fn hold_reason(
    from: &Mailbox,
    known: bool,
    refers_to: Option<TicketId>,
    refusal: Option<&str>,
) -> String {
    let mut reason = if known {
        format!(
            "{} is known, but this mail could not be shown to come from it: held until the address confirms it",
            from.address
        )
    } else {
        format!(
            "unknown sender {}: held until they confirm their address",
            from.address
        )
    };
    if let Some(t) = refers_to {
        reason.push_str(&format!(
            " (the message carried the token of ticket #{t}, which it is not on)"
        ));
    }
    if let Some(why) = refusal {
        reason.push_str(&format!("; no confirmation sent: {why}"));
    }
    reason
}

/// Why no confirmation request may go to `from`, if that is so: the gate
/// of automatic mail; a staff member's request counts against the daily
/// limit like a customer's, as a forger could send many.
fn confirmation_refusal(
    tx: &Tx<'_>,
    s: &crate::ticket::Settings<'_>,
    msg: &Incoming<'_>,
    from: &Mailbox,
    to: Recipient<'_>,
    no_answer: Option<&str>,
) -> Result<Option<String>, StoreError> {
    let staff_side = matches!(to, Recipient::Staff(_));
    let refusal = gate::answer_refusal(tx, &s.answer, msg.at, to, no_answer)?;
    if refusal.is_some() || !staff_side {
        return Ok(refusal);
    }
    gate::daily_limit(tx, &s.answer, &from.address, msg.at)
}

/// An unknown sender under `reject`: held, and told how to write — once a
/// day at most, however often they write.
pub(super) fn reject(
    tx: &mut Tx<'_>,
    ctx: &Context<'_>,
    msg: &Incoming<'_>,
    from: &Mailbox,
    no_answer: Option<&str>,
    refers_to: Option<TicketId>,
) -> Result<Outcome, StoreError> {
    let mut reason = format!(
        "unknown sender {} (intake.unknown_sender = \"reject\")",
        from.address
    );
    if let Some(t) = refers_to {
        reason.push_str(&format!(" with the token of ticket #{t}"));
    }
    let told_today =
        tx.read()
            .mails_of_kind_to(&from.address, "reject", msg.at - Duration::hours(24))?
            > 0;
    let no_answer = match no_answer {
        Some(why) => Some(why.to_string()),
        None if told_today => Some("told how to write to us in the last 24 hours already".into()),
        None => None,
    };
    let sender = from.address.to_string();
    let answer = Answer {
        template: "reject",
        lang: ctx.language,
        vars: &[("sender", &sender)],
        cause: None,
    };
    let outcome = hold_and_answer(
        tx,
        ctx,
        msg,
        from,
        no_answer.as_deref(),
        HoldKind::Rejected,
        &reason,
        &answer,
    )?;
    if let Some(t) = refers_to {
        tell_ticket(tx, ctx, t, &from.address, None, msg.at)?;
    }
    Ok(outcome)
}
