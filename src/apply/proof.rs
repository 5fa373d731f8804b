//! What a customer's message proves about ownership of its ticket's
//! account (issue 19): the genuine primary address writing, a support PIN
//! it gave (checked by intake), and — for a new ticket — whether a rule of
//! `intake.require_proof_for` asks for proof, and with `auto_verify` the
//! request to the primary address sent at once.

use super::context::{Context, Incoming};
use crate::domain::proof::ProofKind;
use crate::domain::{Mailbox, TicketId};
use crate::identify::{How, Identity, Sender};
use crate::store::{StoreError, Tx};
use crate::ticket::{self, proof};

/// Carries out what message `msg` on ticket `n` proves; `new`: it opened
/// the ticket (the rules of `require_proof_for` apply).
pub(super) fn of_message(
    tx: &mut Tx<'_>,
    ctx: &Context<'_>,
    msg: &Incoming<'_>,
    from: &Mailbox,
    who: &Identity,
    (n, message): (TicketId, i64),
    new: bool,
) -> Result<(), StoreError> {
    let s = &ctx.lifecycle;
    let t = ticket::reload(tx, n)?;
    let same = |a: &str| {
        t.account
            .as_deref()
            .is_some_and(|b| b.eq_ignore_ascii_case(a))
    };
    if let Some((Some(account), check)) = msg.pin
        && same(account)
    {
        let given = proof::PinGiven {
            account,
            check,
            text: &msg.inbound.new_text,
            cause: &format!("pin|{message}"),
        };
        proof::pin_given(tx, s, n, from, &given, msg.at)?;
    } else if let Some((Some(account), _)) = msg.pin {
        let line = format!(
            "a support PIN given by {} for account {account}, not this ticket's: not taken as proof",
            from.address
        );
        ticket::note(tx, n, msg.at, &line)?;
    }
    let primary = matches!(&who.sender,
        Sender::Account { account, how: How::Primary } if same(account.as_str()));
    // A PIN may have proven it just now: a proof given stays as given.
    if primary && msg.genuine && ticket::reload(tx, n)?.proof == "none" {
        tx.set_ticket_proof(n, ProofKind::GenuinePrimary, from.address.as_str(), msg.at)?;
        let line = format!(
            "written by the genuine primary address {} (trusted Authentication-Results): ownership shown",
            from.address
        );
        ticket::note(tx, n, msg.at, &line)?;
    }
    if new {
        needs_proof(tx, ctx, msg, n)?;
    }
    Ok(())
}

/// A new ticket whose subject or text matches `intake.require_proof_for`
/// is marked; with `auto_verify` and no proof yet, its primary address is
/// asked at once.
fn needs_proof(
    tx: &mut Tx<'_>,
    ctx: &Context<'_>,
    msg: &Incoming<'_>,
    n: TicketId,
) -> Result<(), StoreError> {
    let text = format!("{}\n{}", msg.inbound.subject, msg.inbound.new_text);
    let Some(rule) = ctx.proof_rules.iter().find(|r| r.is_match(&text)) else {
        return Ok(());
    };
    tx.set_needs_proof(n, true)?;
    let pattern = rule.as_str().trim_start_matches("(?i)");
    ticket::note(
        tx,
        n,
        msg.at,
        &format!("needs proof of ownership: matches intake.require_proof_for ({pattern})"),
    )?;
    let t = ticket::reload(tx, n)?;
    if !ctx.auto_verify || t.proof != "none" {
        return Ok(());
    }
    let reason = "the request is one that needs proof (intake.require_proof_for)";
    match proof::request(
        tx,
        &ctx.lifecycle,
        n,
        "postdesk (intake.auto_verify)",
        Some(reason),
        msg.at,
    ) {
        Ok(line) => ticket::note(tx, n, msg.at, &line),
        Err(proof::ProofError::Store(e)) => Err(e),
        Err(proof::ProofError::Refused(why)) => ticket::note(
            tx,
            n,
            msg.at,
            &format!("no automatic verification request: {why}"),
        ),
    }
}
