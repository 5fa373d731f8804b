//! apply: turns one screened, threaded, identified message into its state
//! change and the mail that change causes, inside the caller's transaction
//! (the transactional outbox of DESIGN invariant 2).
//!
//! Every automatic mail postdesk queues — here the receipt, confirmation
//! request, refusal, self-service answer and size notice; in `change` the
//! lifecycle's warning, close and "ticket changed" notices — passes one
//! gate, [`gate::answer_refusal`]: never to automatic mail (RFC 3834), nothing
//! during a silent import, and at most `max_auto_replies_per_day` to one
//! customer address.
//!
//! A new ticket and every customer follow-up are told to the staff side
//! (`relay::to_staff`); a bounce about our mail is filed and told
//! (`bounce`); a staff member's mail on a ticket goes to `staff`.

mod bounce;
mod context;
mod proof;
mod search;
mod self_service;
mod staff;
pub mod staff_commands;
mod stranger;

pub use crate::domain::proof::code_hash;
pub use context::{Context, Incoming, Outcome, StaffAction};
pub use staff::Staffer;

use crate::config::UnmatchedAutomatic;
use crate::ticket;

use crate::domain::Language;
use crate::domain::{AccountId, Address, HoldKind, MailClass, Mailbox, TicketId};
use crate::identify::{Admission, Identity, Opening, Sender};
use crate::outbox::compose::{self, Outgoing, Recipient};
use crate::outbox::{announce, gate, seal};
use crate::parse::Encryption;
use crate::screen::Verdict;
use crate::store::{EventKind, Held, HistoryEvent, NewMessage, NewTicket, StoreError, Ticket, Tx};
use crate::thread::{Link, Thread};
use crate::ticket::relay::{self, Shown, Why};

/// Carries out one message: held by the screen, a request that is no
/// ticket, a follow-up of a ticket, or a new one.
pub fn apply(
    tx: &mut Tx<'_>,
    ctx: &Context<'_>,
    msg: &Incoming<'_>,
    verdict: &Verdict,
    thread: &Thread,
    who: &Identity,
) -> Result<Outcome, StoreError> {
    let inbound = msg.inbound;
    announce_bounce(tx, ctx, msg)?;
    let (no_answer, flagged) = match verdict {
        Verdict::Hold {
            kind: HoldKind::TooLarge,
            reason,
        } => return too_large(tx, ctx, msg, reason),
        Verdict::Hold {
            kind: HoldKind::Undecryptable,
            reason,
        } => return undecryptable(tx, ctx, msg, reason),
        Verdict::Hold { kind, reason } => return hold(tx, msg, *kind, reason),
        Verdict::Pass {
            no_answer,
            priority,
            ..
        } => (no_answer.as_deref(), *priority),
    };
    let from = match &inbound.from {
        Some(from) => from,
        None => return hold(tx, msg, HoldKind::NoSender, "no valid From address"),
    };
    // An announcement's List-Unsubscribe mailto (or a reply saying the
    // same): only the address's own token counts, so nobody unsubscribes
    // someone else. Kept, as every message is, with the reason.
    if announce::is_unsubscribe(&ctx.desk, &from.address, &inbound.subject) {
        tx.unsubscribe(&from.address, msg.at)?;
        let reason = format!(
            "unsubscribe request: no more announcements to {}",
            from.address
        );
        return hold(tx, msg, HoldKind::Refused, &reason);
    }
    if let Some(outcome) = no_ticket(tx, ctx, msg, from, no_answer, who)? {
        return Ok(outcome);
    }
    // Identify may refuse the follow-up that threading found: then the
    // message is a new one (a stranger's, or for the sender's own account).
    match (&who.admission, thread) {
        (Admission::FollowUp, Thread::FollowUp { ticket, link }) => {
            follow_up(tx, ctx, msg, from, no_answer, flagged, who, (*ticket, link))
        }
        _ => unthreaded(tx, ctx, msg, from, no_answer, flagged, who),
    }
}

/// A delivery report about an announcement (a mail of no ticket): each
/// address it reports failed for good, that our verified Message-ID was
/// really sent to, is marked failing, so the next announcement skips it.
/// The report itself then goes where automatic mail of no ticket goes.
fn announce_bounce(
    tx: &mut Tx<'_>,
    ctx: &Context<'_>,
    msg: &Incoming<'_>,
) -> Result<(), StoreError> {
    let inbound = msg.inbound;
    if inbound.delivery.is_empty() {
        return Ok(());
    }
    let original = inbound
        .original
        .as_ref()
        .and_then(|o| o.message_id.as_deref())
        .filter(|id| ctx.desk.ids.verify(id).is_some())
        .map(|id| tx.read().sent_mail(id))
        .transpose()?
        .flatten()
        .filter(|m| m.kind == announce::KIND);
    let Some(original) = original else {
        return Ok(());
    };
    let failed = inbound
        .delivery
        .iter()
        .filter(|r| r.is_failure() && r.is_permanent());
    for r in failed {
        if original.rcpt.contains(&r.recipient) {
            tx.mark_failing(&r.recipient, &r.status, &r.diagnostic, None, None, msg.at)?;
        }
    }
    Ok(())
}

/// The admissions that open or join no ticket — a hold, a self-service
/// request, a refusal, a stray confirmation — carried out; None for the
/// others.
fn no_ticket(
    tx: &mut Tx<'_>,
    ctx: &Context<'_>,
    msg: &Incoming<'_>,
    from: &Mailbox,
    no_answer: Option<&str>,
    who: &Identity,
) -> Result<Option<Outcome>, StoreError> {
    let lang = who.language.unwrap_or(ctx.language);
    let outcome = match &who.admission {
        Admission::FollowUp
        | Admission::Open(_)
        | Admission::Verify { .. }
        | Admission::Reject { .. } => return Ok(None),
        Admission::Hold { kind, reason } => hold(tx, msg, *kind, reason)?,
        Admission::SelfService { accounts, commands } => {
            self_service::self_service(tx, ctx, msg, from, no_answer, lang, accounts, commands)?
        }
        Admission::RefuseSelfService => {
            let reason = format!(
                "self-service request from {}, which is no account's primary address: not applied",
                from.address
            );
            let answer = Answer {
                template: "senders-refused",
                lang,
                vars: &[],
                cause: None,
            };
            hold_and_answer(
                tx,
                ctx,
                msg,
                from,
                no_answer,
                HoldKind::Refused,
                &reason,
                &answer,
            )?
        }
        Admission::RefuseAccount { named } => {
            let reason = format!(
                "names account {named:?}, which {} may not open tickets for",
                from.address
            );
            let answer = Answer {
                template: "account-refused",
                lang,
                vars: &[("account", named)],
                cause: None,
            };
            hold_and_answer(
                tx,
                ctx,
                msg,
                from,
                no_answer,
                HoldKind::Refused,
                &reason,
                &answer,
            )?
        }
        // Intake takes confirmations in before apply; kept rather than lost.
        Admission::Confirm { .. } => hold(
            tx,
            msg,
            HoldKind::BadConfirmation,
            "a reply to a confirmation request that intake did not take in",
        )?,
    };
    Ok(Some(outcome))
}

/// A message that joins ticket `ticket`: a staff member's mail goes to
/// `staff`; a person's reply to a ticket closed too long ago opens a new
/// one; anything else is added, moves the ticket and is told to staff (a
/// bounce is filed as one).
#[allow(clippy::too_many_arguments)]
fn follow_up(
    tx: &mut Tx<'_>,
    ctx: &Context<'_>,
    msg: &Incoming<'_>,
    from: &Mailbox,
    no_answer: Option<&str>,
    flagged: bool,
    who: &Identity,
    (ticket, link): (TicketId, &Link),
) -> Result<Outcome, StoreError> {
    let inbound = msg.inbound;
    let how = match link {
        Link::Token => "by its subject token".to_string(),
        Link::InReplyTo(id) => format!("as a reply to <{id}>"),
        Link::References(id) => format!("by its reference to <{id}>"),
        Link::SameMessageId => "as another copy of a message already here".to_string(),
        Link::BouncedOriginal => "as a report about a mail of this ticket".to_string(),
    };
    // A staff member's mail: a reply to relay, a note, commands.
    if let Sender::Staff { name, .. } = &who.sender
        && *link != Link::SameMessageId
    {
        let staffer = Staffer { name, from };
        return staff::staff_mail(tx, &ctx.lifecycle, msg, staffer, ticket, &how);
    }
    // A person's reply to a ticket closed longer than the reopen
    // window ago opens a new ticket that refers to it (one ticket,
    // one issue). Automatic mail never reopens anything.
    let person = !inbound.class.is_automatic() && *link != Link::SameMessageId;
    if person
        && let Some(old) = tx.read().ticket(ticket)?
        && ticket::reply_opens_new_ticket(&ctx.lifecycle, &old, msg.at)
    {
        let o = continuation(tx, &old)?;
        return open(tx, ctx, msg, from, no_answer, &o, flagged, who, Some(&old));
    }
    let message = tx.insert_message(&new_message(msg, Some(ticket)))?;
    let class = match inbound.class.reason() {
        Some(r) => format!(" [{}: {r}]", inbound.class.label()),
        None => String::new(),
    };
    tx.add_event(
        ticket,
        &HistoryEvent {
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
        tx.touch_ticket(ticket, msg.at, false)?;
    }
    // The primary address answering a verification request (`#verify`):
    // the ticket is confirmed and staff told; its status does not move.
    if person
        && ticket::proof::answer(tx, &ctx.lifecycle, ticket, (inbound, message), from, msg.at)?
    {
        return Ok(Outcome::Appended {
            ticket,
            message,
            link: link.clone(),
        });
    }
    if person {
        proof::of_message(tx, ctx, msg, from, who, (ticket, message), false)?;
        if solved(tx, ctx, ticket, msg, from)? {
            return Ok(Outcome::Appended {
                ticket,
                message,
                link: link.clone(),
            });
        }
        let tr = ticket::customer_message(tx, &ctx.lifecycle, ticket, from, msg.at)?;
        // The customer's words go to the staff side.
        let why = match tr {
            Some(tr) if tr.reopened => Why::Reopened,
            _ => Why::CustomerReplied,
        };
        relay::to_staff(
            tx,
            &ctx.lifecycle,
            ticket,
            why,
            Some(shown(msg, message, from)),
            msg.at,
        )?;
    } else if matches!(inbound.class, MailClass::Bounce(_)) && *link != Link::SameMessageId {
        bounce::bounce(tx, &ctx.lifecycle, ticket, message, msg)?;
    }
    Ok(Outcome::Appended {
        ticket,
        message,
        link: link.clone(),
    })
}

/// A message that joins no ticket: a released one is admitted; automatic
/// mail may be held; mail from our own address is a loop; the rest is
/// admitted as its identity says.
#[allow(clippy::too_many_arguments)]
fn unthreaded(
    tx: &mut Tx<'_>,
    ctx: &Context<'_>,
    msg: &Incoming<'_>,
    from: &Mailbox,
    no_answer: Option<&str>,
    flagged: bool,
    who: &Identity,
) -> Result<Outcome, StoreError> {
    let inbound = msg.inbound;
    if ctx.released {
        return admit(tx, ctx, msg, from, no_answer, flagged, who);
    }
    if inbound.class.is_automatic() && ctx.unmatched_automatic == UnmatchedAutomatic::Quarantine {
        let why = format!(
            "automatic message ({}: {}) that matches no ticket",
            inbound.class.label(),
            inbound.class.reason().unwrap_or_default()
        );
        return hold(tx, msg, HoldKind::Automatic, &why);
    }
    if ctx.lifecycle.answer.own.contains(&from.address) {
        return hold(
            tx,
            msg,
            HoldKind::Loop,
            "from our own address and matching no ticket: a possible mail loop",
        );
    }
    admit(tx, ctx, msg, from, no_answer, flagged, who)
}

/// How many of a first message's To and Cc addresses are recorded on its
/// ticket (as copied): a stranger's list of thousands is not kept.
const COPIED_KEPT: usize = 50;

/// A new message as identify admitted it: a ticket, or held for a stranger.
fn admit(
    tx: &mut Tx<'_>,
    ctx: &Context<'_>,
    msg: &Incoming<'_>,
    from: &Mailbox,
    no_answer: Option<&str>,
    flagged: bool,
    who: &Identity,
) -> Result<Outcome, StoreError> {
    // A genuine staff member's `#search` mail is answered, not a ticket.
    if let (Sender::Staff { .. }, Admission::Open(_), true) =
        (&who.sender, &who.admission, msg.genuine)
        && let Some(query) = search::request(msg)
    {
        return search::answer(tx, ctx, msg, from, query);
    }
    match &who.admission {
        Admission::Verify { refers_to, known } => {
            stranger::verify(tx, ctx, msg, from, no_answer, *refers_to, *known)
        }
        Admission::Reject { refers_to } => {
            stranger::reject(tx, ctx, msg, from, no_answer, *refers_to)
        }
        Admission::Open(o) => open(tx, ctx, msg, from, no_answer, o, flagged, who, None),
        // Only the three above reach here; a plain ticket is the safe reading.
        _ => open(
            tx,
            ctx,
            msg,
            from,
            no_answer,
            &Opening::default(),
            flagged,
            who,
            None,
        ),
    }
}

/// What a ticket opened by a reply to `old` (closed too long ago) is filed
/// with: it continues `old`, so it takes its account (or the accounts to
/// choose from), its flags and its account's language. The sender was
/// entitled to `old`, so identify asked no more.
fn continuation(tx: &Tx<'_>, old: &Ticket) -> Result<Opening, StoreError> {
    let account = old
        .account
        .as_deref()
        .and_then(|a| AccountId::parse(a).ok());
    let language = match &account {
        Some(a) => tx
            .read()
            .account_brief(a.as_str())?
            .and_then(|b| b.language)
            .and_then(|l| Language::from_code(&l)),
        None => None,
    };
    Ok(Opening {
        account,
        candidates: old
            .account_candidates
            .iter()
            .filter_map(|a| AccountId::parse(a).ok())
            .collect(),
        unverified: old.unverified,
        priority: old.priority,
        language,
        refers_to: None,
    })
}

/// Opens a ticket: for the account identify found (its delegates become
/// participants and get a copy of the receipt), flagged for staff where
/// the screen or the account says so, with identify's notes in the history.
#[allow(clippy::too_many_arguments)]
fn open(
    tx: &mut Tx<'_>,
    ctx: &Context<'_>,
    msg: &Incoming<'_>,
    from: &Mailbox,
    no_answer: Option<&str>,
    o: &Opening,
    flagged: bool,
    who: &Identity,
    follows: Option<&Ticket>,
) -> Result<Outcome, StoreError> {
    let notes = &who.notes;
    let inbound = msg.inbound;
    // Never another ticket's token (a stranger's "Re: [ACME #1] …").
    let subject = ctx.desk.token.without_tokens(&inbound.subject);
    let subject = if subject.is_empty() {
        "(no subject)"
    } else {
        subject.as_str()
    };
    let ticket = tx.create_ticket(&NewTicket {
        subject,
        ticket_type: ctx.default_type,
        account: o.account.as_ref().map(AccountId::as_str),
        requester: from,
        at: msg.at,
    })?;
    if let Some(q) = ctx.lifecycle.queue {
        tx.set_ticket_queue(ticket, &q.queue.name)?;
    }
    ticket::opened(tx, &ctx.lifecycle, ticket, msg.at)?;
    if o.priority || flagged || o.unverified {
        tx.set_ticket_flags(ticket, o.priority || flagged, o.unverified)?;
    }
    if !o.candidates.is_empty() {
        let ids: Vec<String> = o.candidates.iter().map(|a| a.to_string()).collect();
        tx.set_ticket_candidates(ticket, &ids)?;
    }
    let message = tx.insert_message(&new_message(msg, Some(ticket)))?;
    let whose = match (&o.account, o.unverified) {
        (Some(a), _) => format!(" (account {a})"),
        (None, true) => " (unverified sender)".to_string(),
        (None, false) => String::new(),
    };
    let mut detail = format!("new ticket from {from}{whose}");
    if let Some(old) = follows {
        detail = continues(tx, ctx, msg, from, (ticket, old), &detail)?;
    }
    tx.add_event(
        ticket,
        &HistoryEvent {
            at: msg.at,
            kind: EventKind::MessageIn,
            actor: from.address.to_string(),
            detail,
            message: Some(message),
            outbox: None,
        },
    )?;
    let mut lines: Vec<String> = notes.to_vec();
    if let Some(old) = o.refers_to {
        lines.push(format!("refers to ticket #{old}"));
    }
    lines.extend(ctx.route_note.clone());
    if flagged {
        lines.push(format!(
            "priority: {} is in intake.priority_domains",
            from.address.domain()
        ));
    }
    for detail in lines {
        ticket::note(tx, ticket, msg.at, &detail)?;
    }
    let delegates = participants(tx, ctx, msg, from, o, ticket)?;
    let receipt = receipt(
        tx,
        ctx,
        msg,
        from,
        no_answer,
        o,
        (ticket, message, &delegates),
    )?;
    proof::of_message(tx, ctx, msg, from, who, (ticket, message), true)?;
    relay::to_staff(
        tx,
        &ctx.lifecycle,
        ticket,
        Why::NewTicket,
        Some(shown(msg, message, from)),
        msg.at,
    )?;
    Ok(Outcome::Opened {
        ticket,
        message,
        receipt,
    })
}

/// A new ticket that continues `old` (a reply past the reopen window):
/// both histories say so; returns the new ticket's first line.
fn continues(
    tx: &mut Tx<'_>,
    ctx: &Context<'_>,
    msg: &Incoming<'_>,
    from: &Mailbox,
    (ticket, old): (TicketId, &Ticket),
    detail: &str,
) -> Result<String, StoreError> {
    tx.set_reopened_from(ticket, old.number)?;
    let why = match ctx.lifecycle.reopen_window {
        Some(_) => "past the reopen window (intake.reopen_window)",
        None => "reopening is off (intake.reopen_window = 0)",
    };
    let detail = format!(
        "{detail}, a reply to ticket #{} ({}, {why})",
        old.number, old.status
    );
    tx.add_event(
        old.number,
        &HistoryEvent {
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
    Ok(detail)
}

/// The people of a new ticket besides its requester: the account's
/// delegates (returned: they get a copy of the receipt), and the first
/// message's To and Cc as copied.
fn participants(
    tx: &mut Tx<'_>,
    ctx: &Context<'_>,
    msg: &Incoming<'_>,
    from: &Mailbox,
    o: &Opening,
    ticket: TicketId,
) -> Result<Vec<Address>, StoreError> {
    let inbound = msg.inbound;
    let delegates = match &o.account {
        Some(a) => tx.read().account_delegates(a.as_str())?,
        None => Vec::new(),
    };
    for d in &delegates {
        let who = Mailbox {
            name: None,
            address: d.clone(),
        };
        tx.add_participant(ticket, &who, "delegate", msg.at)?;
    }
    // Everyone else the first message went to (To and Cc) is recorded as
    // copied, for staff to see; they get nothing until a staff reply
    // includes them: whoever writes must not make the desk mail a list.
    // Never the desk's own addresses or the staff's.
    let s = &ctx.lifecycle;
    for person in inbound.to.iter().chain(&inbound.cc).take(COPIED_KEPT) {
        if s.answer.own.contains(&person.address)
            || person.address == from.address
            || s.staff.is_staff_address(&person.address, &s.matching)
            || delegates.contains(&person.address)
        {
            continue;
        }
        tx.add_participant(ticket, person, "copied", msg.at)?;
    }
    let copied = inbound.to.len() + inbound.cc.len();
    if copied > COPIED_KEPT {
        let line = format!(
            "the message named {copied} addresses in To and Cc: the first {COPIED_KEPT} are recorded as copied, none gets mail"
        );
        ticket::note(tx, ticket, msg.at, &line)?;
    }
    Ok(delegates)
}

/// A customer's `#solved` (`[knowledge] suggest_to_customer`): the
/// ticket closes, both sides get the close notice with the thanks as its
/// reason. False when it is no `#solved` or the ticket cannot close (then
/// the message is an ordinary reply).
fn solved(
    tx: &mut Tx<'_>,
    ctx: &Context<'_>,
    ticket: TicketId,
    msg: &Incoming<'_>,
    from: &Mailbox,
) -> Result<bool, StoreError> {
    if !ctx.lifecycle.knowledge.suggest_to_customer
        || !crate::domain::knowledge::is_solved(&msg.inbound.new_text)
    {
        return Ok(false);
    }
    let who = from.address.to_string();
    let author = ticket::Author {
        who: &who,
        reason: Some(crate::domain::words::SOLVED_REASON),
    };
    let close = ticket::TicketChange::Close;
    match tx
        .all_or_nothing(|tx| ticket::command(tx, &ctx.lifecycle, ticket, &close, author, msg.at))
    {
        Ok(_) => Ok(true),
        Err(ticket::ChangeError::Store(e)) => Err(e),
        Err(_) => Ok(false),
    }
}

/// The receipt of a new ticket, queued with its history line: its row, or
/// why none went.
#[allow(clippy::too_many_arguments)]
fn receipt(
    tx: &mut Tx<'_>,
    ctx: &Context<'_>,
    msg: &Incoming<'_>,
    from: &Mailbox,
    no_answer: Option<&str>,
    o: &Opening,
    (ticket, message, delegates): (TicketId, i64, &[Address]),
) -> Result<Result<i64, String>, StoreError> {
    let inbound = msg.inbound;
    let s = &ctx.lifecycle;
    let own = crate::ticket::own_language(&tx.read(), &from.address)?;
    let lang = crate::domain::choose_language(own, o.language, ctx.language);
    let receipt = match receipt_refusal(tx, ctx, msg, from, no_answer)? {
        Some(why) => Err(why),
        None => {
            // The requester and at most max_recipients - 1 delegates, each
            // in their own language: one receipt per language, the
            // requester's first; the others go to their delegates only.
            let cc = &delegates[..delegates.len().min(s.max_recipients.saturating_sub(1))];
            // Articles to look up: the indexer sends it (see
            // ticket::suggested), off intake's path. An encrypted
            // message's receipt is composed here, from its decrypted text.
            if crate::ticket::suggested::receipt_waits(s)
                && inbound.encryption != Encryption::Decrypted
            {
                let what = crate::store::Waiting::Receipt {
                    language: lang.as_str().to_string(),
                    cc: cc.iter().map(|a| a.to_string()).collect(),
                };
                tx.defer_mail(ticket, message, &what, msg.at)?;
                let detail = "the receipt waits for its suggested articles (the daemon sends it)";
                ticket::note(tx, ticket, msg.at, detail)?;
                return Ok(Err(detail.to_string()));
            }
            let groups = {
                let read = tx.read();
                crate::ticket::by_language(Some(lang), cc, |d| {
                    let own = crate::ticket::own_language(&read, d)?;
                    Ok(crate::domain::choose_language(
                        own,
                        o.language,
                        ctx.language,
                    ))
                })?
            };
            let mut first = None;
            for (i, (l, group)) in groups.iter().enumerate() {
                let suggestions = crate::ticket::knowledge::receipt_lines(
                    &tx.read(),
                    s.knowledge,
                    (&inbound.subject, &inbound.new_text),
                    *l,
                    ticket,
                )?;
                let copy = if i == 0 { "" } else { l.as_str() };
                let mail = compose::receipt_copy(
                    &ctx.desk,
                    ticket,
                    inbound,
                    (from, group),
                    (*l, copy),
                    &suggestions,
                    msg.at,
                );
                let id = queue(tx, ctx, msg, &mail, Some(ticket))?;
                first = first.or(Some(id));
            }
            Ok(first.expect("the requester's receipt"))
        }
    };
    let (detail, outbox) = match &receipt {
        Ok(id) => (format!("receipt queued to {}", from.address), Some(*id)),
        Err(why) => (format!("no receipt: {why}"), None),
    };
    tx.add_event(
        ticket,
        &HistoryEvent {
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
    Ok(receipt)
}

/// A customer's stored message, as a staff notification shows it.
fn shown<'a>(msg: &Incoming<'a>, message: i64, from: &'a Mailbox) -> Shown<'a> {
    Shown {
        message,
        raw: msg.raw,
        from,
        text: &msg.inbound.new_text,
        attachments: &msg.inbound.attachments,
    }
}

/// Why no receipt may go out, if that is so: receipts may be turned off,
/// and then the gate of every automatic mail.
fn receipt_refusal(
    tx: &Tx<'_>,
    ctx: &Context<'_>,
    msg: &Incoming<'_>,
    to: &Mailbox,
    no_answer: Option<&str>,
) -> Result<Option<String>, StoreError> {
    if no_answer.is_none() && !ctx.confirm_receipt {
        return Ok(Some(
            "receipts are turned off (intake.confirm_receipt)".into(),
        ));
    }
    gate::answer_refusal(
        tx,
        &ctx.lifecycle.answer,
        msg.at,
        Recipient::Customer(to),
        no_answer,
    )
}

/// Queues `mail` as it is: one built to name nothing of an encrypted
/// message (a confirmation request, whose code is in its subject).
fn queue_as_is(
    tx: &mut Tx<'_>,
    ctx: &Context<'_>,
    msg: &Incoming<'_>,
    mail: &Outgoing,
    ticket: Option<TicketId>,
) -> Result<i64, StoreError> {
    tx.queue_mail(&mail.queued(ticket, true, ctx.desk.address, msg.at))
}

/// Queues an automatic mail answering `msg`, in the caller's transaction:
/// sealed (see `outbox::seal`) when `msg` came encrypted or its ticket
/// holds an encrypted message.
fn queue(
    tx: &mut Tx<'_>,
    ctx: &Context<'_>,
    msg: &Incoming<'_>,
    mail: &Outgoing,
    ticket: Option<TicketId>,
) -> Result<i64, StoreError> {
    let encrypted = msg.inbound.encryption == Encryption::Decrypted
        || match ticket {
            Some(n) => tx.read().ticket_encrypted(n)?,
            None => false,
        };
    if encrypted {
        let learned = seal::learned_for(&tx.read(), mail)?;
        let sealed = seal::seal(&ctx.desk, mail, ticket, ctx.language, &learned);
        return tx.queue_mail(&sealed.queued(ticket, true, ctx.desk.address, msg.at));
    }
    tx.queue_mail(&mail.queued(ticket, true, ctx.desk.address, msg.at))
}

fn hold(
    tx: &mut Tx<'_>,
    msg: &Incoming<'_>,
    kind: HoldKind,
    reason: &str,
) -> Result<Outcome, StoreError> {
    Ok(Outcome::Held {
        quarantine: hold_row(tx, msg, kind, reason)?,
        reason: reason.to_string(),
        answer: None,
    })
}

fn hold_row(
    tx: &mut Tx<'_>,
    msg: &Incoming<'_>,
    kind: HoldKind,
    reason: &str,
) -> Result<i64, StoreError> {
    let i = msg.inbound;
    tx.quarantine_as(
        &Held {
            raw: msg.raw,
            content_hash: &i.content_hash,
            source: msg.source,
            message_id: Some(&i.message_id),
            from: i.from.as_ref().map(|f| f.address.as_str()),
            subject: Some(&i.subject),
            reason,
            at: msg.at,
        },
        kind,
    )
}

/// The mail that tells a sender why their message is held.
struct Answer<'a> {
    template: &'static str,
    lang: Language,
    vars: &'a [(&'a str, &'a str)],
    /// What makes the answer the same mail again (its Message-ID): the
    /// message's content hash, unless given.
    cause: Option<&'a str>,
}

/// Holds the message and tells its sender, once: the answer's Message-ID
/// comes from the message, so a re-delivery finds it queued already.
#[allow(clippy::too_many_arguments)]
fn hold_and_answer(
    tx: &mut Tx<'_>,
    ctx: &Context<'_>,
    msg: &Incoming<'_>,
    from: &Mailbox,
    no_answer: Option<&str>,
    kind: HoldKind,
    reason: &str,
    answer: &Answer<'_>,
) -> Result<Outcome, StoreError> {
    let inbound = msg.inbound;
    let mail = compose::answer(
        &ctx.desk,
        answer.template,
        answer.lang,
        from,
        inbound,
        &compose::re(&inbound.subject),
        answer.cause.unwrap_or(&inbound.content_hash),
        answer.vars,
        msg.at,
    );
    let told = tx.read().outbox_has(&mail.message_id)?;
    let refusal = if told {
        None
    } else {
        gate::answer_refusal(
            tx,
            &ctx.lifecycle.answer,
            msg.at,
            Recipient::Customer(from),
            no_answer,
        )?
    };
    let reason = match &refusal {
        Some(why) => format!("{reason}; not answered: {why}"),
        None => reason.to_string(),
    };
    let quarantine = hold_row(tx, msg, kind, &reason)?;
    let answer = match (told, &refusal) {
        (false, None) => Some(queue(tx, ctx, msg, &mail, None)?),
        _ => None,
    };
    Ok(Outcome::Held {
        quarantine,
        reason,
        answer,
    })
}

/// Over `max_message_size`: held, and the sender told (unless automatic).
fn too_large(
    tx: &mut Tx<'_>,
    ctx: &Context<'_>,
    msg: &Incoming<'_>,
    reason: &str,
) -> Result<Outcome, StoreError> {
    let (size, limit) = (
        human_size(msg.inbound.size as u64),
        human_size(ctx.max_message_size),
    );
    let answer = Answer {
        template: "too-large",
        lang: ctx.language,
        vars: &[("size", &size), ("limit", &limit)],
        cause: None,
    };
    held_and_told(tx, ctx, msg, HoldKind::TooLarge, reason, &answer)
}

/// Encrypted and not decryptable: held with the reason, and the sender
/// told (unless automatic) how to write again. The answer names no
/// content: there is none in clear.
fn undecryptable(
    tx: &mut Tx<'_>,
    ctx: &Context<'_>,
    msg: &Incoming<'_>,
    reason: &str,
) -> Result<Outcome, StoreError> {
    let answer = Answer {
        template: "undecryptable",
        lang: ctx.language,
        vars: &[],
        // Once per message, even re-delivered with other trace fields.
        cause: Some(&msg.inbound.message_id),
    };
    held_and_told(tx, ctx, msg, HoldKind::Undecryptable, reason, &answer)
}

/// A hold whose sender is told why, unless the message is automatic or
/// comes from our own address.
fn held_and_told(
    tx: &mut Tx<'_>,
    ctx: &Context<'_>,
    msg: &Incoming<'_>,
    kind: HoldKind,
    reason: &str,
    answer: &Answer<'_>,
) -> Result<Outcome, StoreError> {
    let inbound = msg.inbound;
    let Some(from) = &inbound.from else {
        return hold(tx, msg, kind, reason);
    };
    let no_answer = if ctx.lifecycle.answer.own.contains(&from.address) {
        Some(format!("sent from our own address {}", from.address))
    } else {
        inbound
            .class
            .reason()
            .map(|why| format!("{} ({why})", inbound.class.label()))
    };
    hold_and_answer(
        tx,
        ctx,
        msg,
        from,
        no_answer.as_deref(),
        kind,
        reason,
        answer,
    )
}

/// `31.5 MB`, `120 KB`, `900 bytes` (1 KB = 1024 bytes, as in the config).
fn human_size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{} KB", b >> 10),
        b => format!("{b} bytes"),
    }
}

/// Adds a message to a ticket's history as the customer's (a reply to a
/// confirmation request joins the ticket it released).
pub fn attach(
    tx: &mut Tx<'_>,
    msg: &Incoming<'_>,
    ticket: TicketId,
    detail: &str,
) -> Result<i64, StoreError> {
    let message = tx.insert_message(&new_message(msg, Some(ticket)))?;
    let actor = msg
        .inbound
        .from
        .as_ref()
        .map_or_else(|| "-".to_string(), |f| f.address.to_string());
    tx.add_event(
        ticket,
        &HistoryEvent {
            at: msg.at,
            kind: EventKind::MessageIn,
            actor,
            detail: detail.to_string(),
            message: Some(message),
            outbox: None,
        },
    )?;
    tx.touch_ticket(ticket, msg.at, false)?;
    Ok(message)
}

/// A message that cannot become what it asked for is kept, with why.
pub fn keep(
    tx: &mut Tx<'_>,
    msg: &Incoming<'_>,
    kind: HoldKind,
    reason: &str,
) -> Result<Outcome, StoreError> {
    hold(tx, msg, kind, reason)
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
