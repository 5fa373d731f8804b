//! proof: showing that a ticket's requester speaks for its account (issue
//! 19), in the caller's transaction.
//!
//! - `#verify` ([`request`]): a staff member asks the account's primary
//!   address — only it, never the requester when they differ — to confirm
//!   the ticket, by a mail in the account's language with a one-time code;
//!   at most one request is open per ticket, it expires after
//!   `intake.verify_expiry`, and the ticket's status does not move.
//! - The answer ([`answer`]): a reply naming that mail (its verified
//!   Message-ID, or the code written out) from the primary address (genuine,
//!   where an authserv-id is configured) before it expires marks the ticket
//!   "confirmed by the primary address" and tells the staff side at once.
//!   A reply from anyone else, or too late, confirms nothing (a history line
//!   says so) and goes on as an ordinary follow-up.
//! - [`tell_staff`]: the staff side's mail about a proof given, a wrong PIN
//!   or a locked PIN.
//!
//! Every step leaves a line in the ticket's history.

use chrono::{DateTime, Utc};

use super::{Settings, customer_language, note, queue_mail, staff_recipients, view_for};
use crate::domain::lifecycle::Side;
use crate::domain::proof::{self, PinCheck, ProofKind};
use crate::domain::words::Speech;
use crate::domain::{Address, Mailbox, TicketId};
use crate::outbox::compose::{self, Notice, Recipient};
use crate::outbox::gate;
use crate::parse::Inbound;
use crate::store::{NewProofRequest, StoreError, Tx};

/// Why a `#verify` was not carried out.
#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    /// The ticket or the gate refuses it; the staff member is told why.
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The lines of the request a verification mail quotes, at most.
const REQUEST_LINES: usize = 12;

/// `#verify [reason]` on ticket `n` by staff member `asked_by`: the mail to
/// the account's primary address is queued and the request recorded.
/// Returns the history line to write.
pub fn request(
    tx: &mut Tx<'_>,
    s: &Settings<'_>,
    n: TicketId,
    asked_by: &str,
    reason: Option<&str>,
    at: DateTime<Utc>,
) -> Result<String, ProofError> {
    let t = super::reload(tx, n)?;
    let Some(account) = t.account.clone() else {
        return Err(ProofError::Refused(format!(
            "ticket #{n} is filed under no account, so there is no primary address to ask; file it under one first (#account ID)"
        )));
    };
    let primary = tx
        .read()
        .account_primary(&account)?
        .and_then(|p| Address::parse(&p).ok())
        .ok_or_else(|| ProofError::Refused(format!("account {account} has no primary address")))?;
    let cal = s.calendar;
    one_at_a_time(tx, s, n, at)?;
    let to = Mailbox {
        name: None,
        address: primary.clone(),
    };
    if let Some(why) = gate::answer_refusal(tx, &s.answer, at, Recipient::Customer(&to), None)? {
        return Err(ProofError::Refused(format!(
            "no verification mail may go to {primary}: {why}"
        )));
    }
    let code = proof::new_code()
        .map_err(|e| ProofError::Refused(format!("no random numbers for a code: {e}")))?;
    let expires = at + s.verify_expiry;
    let lang = customer_language(&tx.read(), s, &t, Some(&primary))?;
    let view = view_for(
        &tx.read(),
        &s.speech(lang),
        &t,
        Side::Customer,
        None,
        s.extent("verify"),
    )?;
    let request: String = view
        .latest
        .lines()
        .take(REQUEST_LINES)
        .collect::<Vec<_>>()
        .join("\n");
    let fields: Vec<(&'static str, String)> = vec![
        ("requester", t.requester.clone()),
        ("request", request),
        ("reason", reason.unwrap_or_default().to_string()),
        ("code", proof::shown_code(&code)),
        ("expires", s.speech(lang).date(expires)),
    ];
    let seq = tx.read().last_event_id(n)?;
    let cause = format!("{seq}|{}", primary.key());
    let mail = compose::notice(
        &s.desk,
        lang,
        &Notice {
            kind: "verify",
            view: &view,
            to: Recipient::Customer(&to),
            fields: &fields,
            cause: &cause,
        },
        at,
    );
    let detail = format!("verify queued to {primary} (the account's primary address)");
    let outbox = queue_mail(tx, s, &mail, n, true, &detail, at)?;
    tx.add_proof_request(&NewProofRequest {
        ticket: n,
        primary: primary.as_str(),
        code_hash: &proof::code_hash(&code),
        outbox,
        asked_by,
        reason,
        at,
        expires,
    })?;
    let why = reason.map(|r| format!(" ({r})")).unwrap_or_default();
    Ok(format!(
        "{asked_by} asked the primary address {primary} of account {account} to confirm the ticket{why}; valid until {}",
        cal.format(expires)
    ))
}

/// At most one request is open per ticket: refused while one is, and an
/// expired one is settled first.
fn one_at_a_time(
    tx: &mut Tx<'_>,
    s: &Settings<'_>,
    n: TicketId,
    at: DateTime<Utc>,
) -> Result<(), ProofError> {
    let Some(open) = tx.read().unsettled_proof_request(n)? else {
        return Ok(());
    };
    if open.expires > at {
        return Err(ProofError::Refused(format!(
            "a verification request is open already: sent to {} on {}, valid until {}",
            open.primary,
            s.calendar.format(open.created),
            s.calendar.format(open.expires)
        )));
    }
    Ok(expire(tx, s, n, open.id, open.expires, at)?)
}

/// Request `id` of ticket `n` expired unanswered: settled, and said.
fn expire(
    tx: &mut Tx<'_>,
    s: &Settings<'_>,
    n: TicketId,
    id: i64,
    expired: DateTime<Utc>,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.settle_proof_request(id, "expired", at)?;
    let line = format!(
        "the verification request expired on {} unconfirmed",
        s.calendar.format(expired)
    );
    note(tx, n, at, &line)
}

/// A follow-up of ticket `n` from `from`: when it answers the ticket's
/// open verification request, confirms the ticket if it may. Returns true
/// when it confirmed (the caller then neither moves the ticket's status
/// nor relays the message: the staff side was told here).
pub fn answer(
    tx: &mut Tx<'_>,
    s: &Settings<'_>,
    n: TicketId,
    (inbound, message): (&Inbound, i64),
    from: &Mailbox,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let Some(open) = tx.read().unsettled_proof_request(n)? else {
        return Ok(false);
    };
    let by_id = open.message_id.as_ref().is_some_and(|id| {
        inbound
            .in_reply_to
            .iter()
            .chain(&inbound.references)
            .any(|r| r == id)
    });
    let by_code = || {
        proof::codes_in(&format!("{}\n{}", inbound.subject, inbound.new_text))
            .iter()
            .any(|c| proof::code_hash(c) == open.code_hash)
    };
    if !by_id && !by_code() {
        return Ok(false);
    }
    let who = &from.address;
    if open.expires <= at {
        expire(tx, s, n, open.id, open.expires, at)?;
        let line = format!(
            "a reply from {who} to the verification request came after it expired: it confirms nothing"
        );
        note(tx, n, at, &line)?;
        return Ok(false);
    }
    let primary = Address::parse(&open.primary).ok();
    if !primary.is_some_and(|p| p.same_mailbox(who, &s.matching)) {
        let line = format!(
            "a reply from {who} to the verification request, which went to the primary address {} only: it confirms nothing",
            open.primary
        );
        note(tx, n, at, &line)?;
        return Ok(false);
    }
    let auth = crate::screen::authres::judge(&inbound.headers, s.authserv_id, who);
    if s.authserv_id.is_some() && !auth.is_pass() {
        let line = format!(
            "a reply from {who} to the verification request that could not be shown genuine ({}): it confirms nothing",
            auth.describe()
        );
        note(tx, n, at, &line)?;
        return Ok(false);
    }
    tx.settle_proof_request(open.id, "confirmed", at)?;
    tx.set_ticket_proof(n, ProofKind::PrimaryConfirmed, who.as_str(), at)?;
    let line = format!(
        "confirmed by the primary address {who}, answering the verification request {} asked for",
        open.asked_by
    );
    note(tx, n, at, &line)?;
    let told = Told {
        what: Told::CONFIRMED,
        by: who.as_str(),
        text: &inbound.new_text,
        cause: &format!("confirmed|{message}"),
        failures: 0,
    };
    tell_staff(tx, s, n, &told, at)?;
    Ok(true)
}

/// What the staff side is told about a ticket's proof.
pub struct Told<'a> {
    /// One of the flags of the `proven` template ([`Told::CONFIRMED`] …).
    pub what: &'static str,
    /// Who gave it (an address).
    pub by: &'a str,
    /// Their message's new text (any PIN line already replaced).
    pub text: &'a str,
    /// Unique per mail: makes its Message-ID.
    pub cause: &'a str,
    /// Wrong PINs within the day, for `locked`.
    pub failures: u32,
}

impl Told<'_> {
    pub const CONFIRMED: &'static str = "confirmed";
    pub const PIN: &'static str = "pin";
    pub const WRONG_PIN: &'static str = "wrong_pin";
    pub const LOCKED: &'static str = "locked";
}

/// Tells the staff side about ticket `n`'s proof (`proven` template), in
/// the desk's language, through the gate of automatic mail.
pub fn tell_staff(
    tx: &mut Tx<'_>,
    s: &Settings<'_>,
    n: TicketId,
    told: &Told<'_>,
    at: DateTime<Utc>,
) -> Result<Option<i64>, StoreError> {
    let t = super::reload(tx, n)?;
    let staff = staff_recipients(s, &t);
    let to = Recipient::Staff(&staff);
    if staff.is_empty() {
        return Ok(None);
    }
    if let Some(why) = gate::answer_refusal(tx, &s.answer, at, to, None)? {
        note(tx, n, at, &format!("no proven mail to staff: {why}"))?;
        return Ok(None);
    }
    let view = view_for(
        &tx.read(),
        &s.speech(s.language),
        &t,
        Side::Staff,
        None,
        s.extent("proven"),
    )?;
    let yes = |flag: &str| {
        if flag == told.what {
            "yes".to_string()
        } else {
            String::new()
        }
    };
    let fields: Vec<(&'static str, String)> = vec![
        ("account", t.account.clone().unwrap_or_else(|| "-".into())),
        ("proof", shown_proof(&s.speech(s.language), &t)),
        ("by", told.by.to_string()),
        ("when", s.calendar.format(at)),
        ("message", super::indent(told.text.trim())),
        ("failures", told.failures.to_string()),
        (Told::CONFIRMED, yes(Told::CONFIRMED)),
        (Told::PIN, yes(Told::PIN)),
        (Told::WRONG_PIN, yes(Told::WRONG_PIN)),
        (Told::LOCKED, yes(Told::LOCKED)),
    ];
    let mail = compose::notice(
        &s.desk,
        s.language,
        &Notice {
            kind: "proven",
            view: &view,
            to,
            fields: &fields,
            cause: told.cause,
        },
        at,
    );
    let list: Vec<&str> = staff.iter().map(Address::as_str).collect();
    let detail = format!("proven ({}) queued to {}", told.what, list.join(", "));
    Ok(Some(queue_mail(tx, s, &mail, n, true, &detail, at)?))
}

/// A ticket's proof as a staff mail in the language of `sp` says it:
/// none, or what, by whom and when.
pub fn shown_proof(sp: &Speech<'_>, t: &crate::store::Ticket) -> String {
    match ProofKind::parse(&t.proof) {
        None => sp.proof(None).into(),
        Some(kind) => {
            let by = t.proof_by.as_deref().unwrap_or("-");
            let when = t.proof_at.map(|a| sp.date(a)).unwrap_or_default();
            format!("{} ({by}, {when})", sp.proof(Some(kind)))
        }
    }
}

/// A support PIN given on a ticket, as intake checked it.
pub struct PinGiven<'a> {
    pub account: &'a str,
    pub check: PinCheck,
    /// The message's new text (its PIN line already replaced).
    pub text: &'a str,
    /// Unique per message: makes the Message-ID of the staff's mail.
    pub cause: &'a str,
}

/// Records what a PIN given by `from` on ticket `n` came to: a right one
/// marks the ticket "PIN confirmed"; a wrong one is recorded and the staff
/// side told (and told that PIN checks are locked, when this one locked
/// them). Never the PIN itself.
pub fn pin_given(
    tx: &mut Tx<'_>,
    s: &Settings<'_>,
    n: TicketId,
    from: &Mailbox,
    given: &PinGiven<'_>,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let who = &from.address;
    let account = given.account;
    let (line, what, failures) = match given.check {
        PinCheck::Matched => {
            tx.set_ticket_proof(n, ProofKind::Pin, who.as_str(), at)?;
            let line = format!("PIN confirmed: {who} gave the support PIN of account {account}");
            (line, None, 0)
        }
        PinCheck::Wrong { failures, locked } => {
            let mut line =
                format!("wrong PIN given by {who} for account {account} ({failures} within a day)");
            if locked {
                line.push_str(&format!(
                    "; PIN checks for account {account} are locked until `postdesk account set {account} --pin-reset`"
                ));
            }
            let what = if locked {
                Told::LOCKED
            } else {
                Told::WRONG_PIN
            };
            (line, Some(what), failures)
        }
        PinCheck::Locked => (
            format!(
                "a support PIN given by {who} was not checked: PIN checks for account {account} are locked"
            ),
            None,
            0,
        ),
        PinCheck::NotChecked => (
            format!("a support PIN given by {who} was not checked: account {account} has no PIN"),
            None,
            0,
        ),
        // Only quoted: removed, and nothing to say.
        PinCheck::Quoted => return Ok(()),
    };
    note(tx, n, at, &line)?;
    if let Some(what) = what {
        let told = Told {
            what,
            by: who.as_str(),
            text: given.text,
            cause: given.cause,
            failures,
        };
        tell_staff(tx, s, n, &told, at)?;
    }
    Ok(())
}
