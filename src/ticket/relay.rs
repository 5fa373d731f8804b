//! relay: the mail between the two sides of a ticket, queued in the
//! caller's transaction — the staff notification (a customer's message,
//! a staff note, a delivery failure, to `[staff] notify`), the relay of a
//! staff reply to the customer side, and the answer to a staff member
//! whose mail was not (fully) carried out.
//!
//! The staff notification is automatic mail (`Auto-Submitted:
//! auto-generated`, so a staff member's out-of-office leaves it alone) and
//! passes the one gate of automatic mail, `gate::answer_refusal`.
//!
//! A relay is a person's answer, not automatic mail: it is not counted in
//! `max_auto_replies_per_day` and carries no `Auto-Submitted`. It still
//! never goes to an address in a loop. Precisely, a relay is withheld from
//! an address (and staff are told) when
//! - it is ours: the support address, a staff member's address or alias,
//!   a notification address;
//! - it is an automatic sender in a loop with us: in the last 24 hours it
//!   sent us `intake.max_auto_replies_per_day` automatic messages
//!   (auto-replies, bounces; at least one when that limit is 0);
//! - it already got `staff.max_relays_per_day` relays in the last 24
//!   hours: the bound of a loop of mails that all look human (a staff
//!   mail rule answering notifications, a customer robot answering relays);
//! - nothing is sent at all during a silent import.

use chrono::{DateTime, Duration, Utc};

use super::Settings;

use crate::domain::lifecycle::Side;
use crate::domain::words::Speech;
use crate::domain::{Address, Language, Mailbox, Status, TicketId};
use crate::outbox::compose::{self, Recipient, RelayMail, StaffNotice};
use crate::outbox::gate;
use crate::parse::{self, Attachment, DeliveryReport, Inbound};
use crate::store::{StoreError, Ticket, Tx, Waiting};

/// Why the staff side is told: the why-line of the notification.
#[derive(Debug, Clone, Copy)]
pub enum Why<'a> {
    NewTicket,
    CustomerReplied,
    /// A customer's reply reopened a closed ticket.
    Reopened,
    /// A staff member's internal note (`#note`).
    Note {
        staff: &'a str,
    },
    /// A staff member's reply, relayed to the customer side: the copy to
    /// the rest of the staff side (not to `author`'s own addresses), with
    /// what its commands `changed`.
    Answered {
        staff: &'a str,
        author: &'a Address,
        changed: &'a Changed,
    },
    /// A delivery-status notification about a mail of the ticket.
    Bounce {
        reports: &'a [DeliveryReport],
    },
    /// A mail that carried the ticket's token from someone not on it, held
    /// until its sender confirms the address (`until`: the code's expiry,
    /// None when no code could be sent).
    Held {
        from: &'a Address,
        until: Option<DateTime<Utc>>,
    },
    /// Such a held mail's code expired on `expired` unused: the mail stays
    /// held, and only staff can take it in now (told once, `holds`).
    HeldExpired {
        from: &'a Address,
        expired: DateTime<Utc>,
    },
}

impl Why<'_> {
    fn label(&self) -> &'static str {
        match self {
            Why::NewTicket => "new ticket",
            Why::CustomerReplied => "customer reply",
            Why::Reopened => "reopened",
            Why::Note { .. } => "staff note",
            Why::Answered { .. } => "staff answer",
            Why::Bounce { .. } => "delivery failure",
            Why::Held { .. } => "held mail",
            Why::HeldExpired { .. } => "held mail expired",
        }
    }
}

/// The stored message a notification shows on top.
#[derive(Debug, Clone, Copy)]
pub struct Shown<'a> {
    /// Its `messages` row.
    pub message: i64,
    pub raw: &'a [u8],
    pub from: &'a Mailbox,
    /// The text to show (for a staff mail: without its commands).
    pub text: &'a str,
    pub attachments: &'a [Attachment],
}

/// Tells the staff side about ticket `n`: one mail to the notification
/// addresses (and the assignee; a staff member's answer not to its author),
/// with the message on top and its files attached, the ticket's details
/// and the staff side's history. Returns its outbox row, or None (and a
/// history line) when none may go.
///
/// A new ticket's notification with suggestions to look up waits (see
/// [`super::suggested`]): intake only notes it, the indexer sends it. Any
/// later notification of the ticket sends the waiting one first, so staff
/// never learn of a reply before the ticket.
pub fn to_staff(
    tx: &mut Tx<'_>,
    s: &Settings<'_>,
    n: TicketId,
    why: Why<'_>,
    shown: Option<Shown<'_>>,
    at: DateTime<Utc>,
) -> Result<Option<i64>, StoreError> {
    match (why, shown) {
        (Why::NewTicket, Some(m)) if super::suggested::staff_waits(s) => {
            tx.defer_mail(n, m.message, &Waiting::StaffNotify, at)?;
            return Ok(None);
        }
        (Why::NewTicket, _) => {}
        _ => {
            if tx.read().mail_waits(n)? {
                complete_waiting_of(tx, s, n, at)?;
            }
        }
    }
    notify_staff(tx, s, n, why, shown, at)
}

/// Sends the waiting mails of the tickets that have some, longest waiting
/// first, one transaction per ticket (at most `limit` tickets; the rest
/// at the next call): the daemon's indexer, at start and every second,
/// and `outbox flush`. `settings` are the desk's; each ticket gets its
/// queue's. Returns how many tickets were done.
pub fn complete_waiting(
    store: &mut crate::store::Store,
    settings: &Settings<'_>,
    at: DateTime<Utc>,
    limit: usize,
) -> Result<usize, StoreError> {
    let waiting = store.read().tickets_with_waiting_mail(limit)?;
    for &n in &waiting {
        store.write(|tx| {
            let t = super::reload(tx, n)?;
            complete_waiting_of(tx, &settings.for_ticket(&t), n, at)
        })?;
    }
    Ok(waiting.len())
}

/// Queues ticket `n`'s waiting mails, the receipt first, with their
/// suggestions, and takes them off the list (in the caller's transaction).
fn complete_waiting_of(
    tx: &mut Tx<'_>,
    s: &Settings<'_>,
    n: TicketId,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    for w in tx.take_waiting(n)? {
        let from = Mailbox {
            name: w.from_name.clone(),
            address: match w.from_addr.as_deref().map(Address::parse) {
                Some(Ok(a)) => a,
                // A new ticket has a sender; without one nothing can go.
                _ => continue,
            },
        };
        match &w.what {
            Waiting::StaffNotify => {
                let shown = Shown {
                    message: w.message,
                    raw: &w.raw,
                    from: &from,
                    text: &w.new_text,
                    attachments: &w.attachments,
                };
                notify_staff(tx, s, n, Why::NewTicket, Some(shown), at)?;
            }
            Waiting::Receipt { language, cc } => {
                super::suggested::receipt(tx, s, &w, &from, (language, cc), at)?
            }
        }
    }
    Ok(())
}

/// [`to_staff`], now.
fn notify_staff(
    tx: &mut Tx<'_>,
    s: &Settings<'_>,
    n: TicketId,
    why: Why<'_>,
    shown: Option<Shown<'_>>,
    at: DateTime<Utc>,
) -> Result<Option<i64>, StoreError> {
    let t = super::reload(tx, n)?;
    let mut to = super::staff_recipients(s, &t);
    if let Why::Answered { author, .. } = why {
        to.retain(|a| !same_member(s, a, author));
    }
    if to.is_empty() {
        // No staff side configured (or only the author): nothing to say,
        // and nothing lost.
        return Ok(None);
    }
    if let Some(why) = gate::answer_refusal(tx, &s.answer, at, Recipient::Staff(&to), None)? {
        super::note(tx, n, at, &format!("no staff-notify mail to staff: {why}"))?;
        return Ok(None);
    }
    let view = super::view_for(
        &tx.read(),
        &s.speech(s.language),
        &t,
        Side::Staff,
        shown.map(|m| m.message),
        s.extent("staff-notify"),
    )?;
    let fields = notify_fields(tx, s, &t, why, shown)?;
    // Read the files again only when there are some.
    let files = match shown {
        Some(m) if !m.attachments.is_empty() => crate::screen::attachment_files(m.raw, &s.limits),
        _ => Vec::new(),
    };
    let about = about(s, why, shown);
    let seq = tx.read().last_event_id(n)?;
    let cause = format!("{}|{}|{seq}", why.label(), shown.map_or(0, |m| m.message));
    let mail = compose::staff_notify(
        &s.desk,
        s.language,
        &StaffNotice {
            view: &view,
            about: &about,
            to: &to,
            fields: &fields,
            cause: &cause,
            why: why.label(),
            attachments: &files,
            references: &view.references,
        },
        at,
    );
    let detail = format!("staff-notify ({}) queued to {}", why.label(), list(&to));
    Ok(Some(super::queue_mail(tx, s, &mail, n, true, &detail, at)?))
}

/// Whether `a` is an address of the staff member who wrote from `author`
/// (that address, or their member address or an alias).
fn same_member(s: &Settings<'_>, a: &Address, author: &Address) -> bool {
    if a.same_mailbox(author, &s.matching) {
        return true;
    }
    match (
        s.staff.member(a, &s.matching),
        s.staff.member(author, &s.matching),
    ) {
        (Some(x), Some(y)) => x.address == y.address,
        _ => false,
    }
}

/// The staff-notify template's fields about ticket `t`, for `why`.
fn notify_fields(
    tx: &Tx<'_>,
    s: &Settings<'_>,
    t: &Ticket,
    why: Why<'_>,
    shown: Option<Shown<'_>>,
) -> Result<Vec<(&'static str, String)>, StoreError> {
    let yes = |b: bool| if b { "yes".to_string() } else { String::new() };
    let customer = shown.map(|m| m.from.to_string()).unwrap_or_default();
    let message = match shown {
        // A delivery report says its piece in the why-line.
        Some(m) if !matches!(why, Why::Bounce { .. }) => super::indent(m.text),
        _ => String::new(),
    };
    let attachments = shown.map(attachment_lines).unwrap_or_default();
    let (staff, failures) = match why {
        Why::Note { staff } | Why::Answered { staff, .. } => (staff.to_string(), String::new()),
        Why::Bounce { reports } => (String::new(), failure_lines(reports)),
        _ => (String::new(), String::new()),
    };
    let answered = matches!(why, Why::Answered { .. });
    // Who answered the customer last (the copy of an answer is that answer).
    let last = match answered {
        true => None,
        false => tx.read().last_staff_reply(t.number)?,
    };
    let mut fields = vec![
        ("customer", customer),
        ("message", message),
        ("account", account_line(t)),
        ("assignee", assignee_line(s, t)),
        ("attachments", attachments),
        ("failing", failing_lines(tx, &s.speech(s.language), t)?),
        ("failures", failures),
        ("staff", staff),
        ("copied", copied_lines(tx, t.number)?),
        ("new_ticket", yes(matches!(why, Why::NewTicket))),
        ("customer_replied", yes(matches!(why, Why::CustomerReplied))),
        ("reopened", yes(matches!(why, Why::Reopened))),
        ("note", yes(matches!(why, Why::Note { .. }))),
        ("answered", yes(answered)),
        ("bounce", yes(matches!(why, Why::Bounce { .. }))),
        ("priority", yes(t.priority)),
        ("unverified", yes(t.unverified)),
        (
            "last_answer_by",
            last.as_ref().map(|l| l.0.clone()).unwrap_or_default(),
        ),
        (
            "last_answer_at",
            last.map(|l| s.speech(s.language).date(l.1))
                .unwrap_or_default(),
        ),
        ("proof", super::proof::shown_proof(&s.speech(s.language), t)),
        ("needs_proof", yes(t.needs_proof && t.proof == "none")),
    ];
    // An out-of-office since the last notification: one line, here only.
    if let Some(text) = tx.read().unseen_auto_reply(t.number)? {
        fields.push(("away", "yes".into()));
        fields.push(("away_until", parse::away_until(&text).unwrap_or_default()));
    }
    if let Why::Held { from, until } = why {
        fields.push(("held", "yes".into()));
        fields.push(("held_from", from.to_string()));
        let until = until.map(|u| s.speech(s.language).date(u));
        fields.push(("held_until", until.unwrap_or_default()));
    }
    if let Why::HeldExpired { from, expired } = why {
        fields.push(("held_expired", "yes".into()));
        fields.push(("held_from", from.to_string()));
        fields.push(("held_until", s.speech(s.language).date(expired)));
    }
    if let Why::Answered { changed, .. } = why {
        fields.extend(changed.fields(&s.speech(s.language)));
    }
    if let (Why::NewTicket, Some(m)) = (why, shown) {
        // A help, not the notification's point: without them if the
        // lookup fails (the notification must go).
        let lines = staff_suggestions(tx, s, t, m.text).unwrap_or_else(|e| {
            tracing::warn!(ticket = t.number.0, error = %e, "no suggestions for a new ticket");
            String::new()
        });
        fields.push(("suggestions", lines));
    }
    Ok(fields)
}

/// The knowledge base's best entries for a new ticket, as lines for the
/// staff notification ("Possibly useful"); empty when none is relevant.
fn staff_suggestions(
    tx: &Tx<'_>,
    s: &Settings<'_>,
    t: &Ticket,
    text: &str,
) -> Result<String, StoreError> {
    let about = format!("{}\n{text}", t.subject);
    let lang = super::knowledge::ticket_language(&tx.read(), s, t, &about)?;
    let found = super::knowledge::suggest(
        &tx.read(),
        s.knowledge,
        &about,
        lang,
        Some(t.number),
        super::knowledge::Audience::Staff,
    )?;
    Ok(super::knowledge::suggestion_lines(
        &found,
        super::knowledge::Audience::Staff,
    ))
}

/// What the commands of a staff reply changed on its ticket, told in the
/// reply itself (to the customer side) and in its copy to the staff side,
/// in place of notices of their own. Language-neutral.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changed {
    /// The new type, when it changed.
    pub ticket_type: Option<String>,
    /// The new status, when it changed.
    pub status: Option<Status>,
    /// Closed or rejected before, open now.
    pub reopened: bool,
    /// For a close: until when a reply reopens it (None: never).
    pub reopen_until: Option<DateTime<Utc>>,
}

impl Changed {
    /// From ticket `before` to ticket `after`.
    pub fn between(s: &Settings<'_>, before: &Ticket, after: &Ticket) -> Changed {
        let status = (after.status != before.status).then_some(after.status);
        let reopen_until = match (status, s.reopen_window) {
            (Some(Status::Closed), Some(w)) => Some(after.closed_at.unwrap_or(after.updated) + w),
            _ => None,
        };
        Changed {
            ticket_type: (after.ticket_type != before.ticket_type)
                .then(|| after.ticket_type.clone()),
            status,
            reopened: !before.status.is_open() && after.status.is_open(),
            reopen_until,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.ticket_type.is_none() && self.status.is_none()
    }

    /// The fields and flags the relay and staff-notify templates write
    /// the change lines with.
    /// The template's fields, in the language of `sp`.
    pub fn fields(&self, sp: &Speech<'_>) -> Vec<(&'static str, String)> {
        let yes = |b: bool| if b { "yes".to_string() } else { String::new() };
        let closed = self.status == Some(Status::Closed);
        // Closing and reopening have lines of their own.
        let plain = self.status.filter(|_| !closed && !self.reopened);
        vec![
            ("changed", yes(!self.is_empty())),
            (
                "new_type",
                self.ticket_type
                    .as_deref()
                    .map(|t| sp.ticket_type(t).to_string())
                    .unwrap_or_default(),
            ),
            (
                "new_status",
                plain
                    .map(|st| sp.status(st).to_string())
                    .unwrap_or_default(),
            ),
            ("now_open", yes(self.reopened)),
            ("now_closed", yes(closed)),
            ("can_reopen", yes(closed && self.reopen_until.is_some())),
            ("cannot_reopen", yes(closed && self.reopen_until.is_none())),
            (
                "reopen_until",
                self.reopen_until.map(|t| sp.date(t)).unwrap_or_default(),
            ),
        ]
    }
}

/// A staff reply to relay: its stored message, who wrote it, the text.
#[derive(Debug, Clone, Copy)]
pub struct Reply<'a> {
    pub message: i64,
    /// The staff member's name: the signature.
    pub staff: &'a str,
    /// The reply without its commands and quoted history.
    pub text: &'a str,
    /// Unique per reply (the message's content hash): the Message-ID.
    pub cause: &'a str,
    /// The staff mail as received: its files are passed on.
    pub raw: &'a [u8],
    pub attachments: &'a [Attachment],
    /// Who the staff member wrote to directly (To, Cc): they have it
    /// already, and get no second copy.
    pub direct: &'a [Mailbox],
    /// What the reply's commands changed: said below the answer (and a
    /// close carries the whole history, as the close notice does).
    pub changed: &'a Changed,
}

/// What became of a relay.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Relayed {
    pub outbox: Option<i64>,
    /// `address: why` of each recipient left out.
    pub withheld: Vec<String>,
    /// `address: status diagnostic` of each recipient that failed before.
    pub failing: Vec<String>,
}

/// The files of a customer's message, a line each.
fn attachment_lines(m: Shown<'_>) -> String {
    m.attachments
        .iter()
        .map(|a| {
            format!(
                "    {} ({}, {} bytes)",
                a.name.as_deref().unwrap_or("(no name)"),
                a.content_type,
                a.size
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whom a staff notification is about, for its From display name: the
/// customer (by name where they gave one), the staff member who
/// answered, else the desk.
fn about(s: &Settings<'_>, why: Why<'_>, shown: Option<Shown<'_>>) -> String {
    match (why, shown) {
        (Why::Bounce { .. }, _) => s.speech(s.language).mail_delivery().to_string(),
        (Why::Answered { staff, .. }, _) => staff.to_string(),
        (_, Some(m)) => m
            .from
            .name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| m.from.address.to_string()),
        (_, None) => s.desk.name.to_string(),
    }
}

/// Relays a staff reply on ticket `n` to the customer side: the requester
/// (To), the delegates and the other participants (Cc), minus those the
/// loop rules of this module leave out; threaded to the customer's last
/// message, in the language of the ticket's account.
pub fn to_customer(
    tx: &mut Tx<'_>,
    s: &Settings<'_>,
    n: TicketId,
    reply: &Reply<'_>,
    at: DateTime<Utc>,
) -> Result<Relayed, StoreError> {
    let t = super::reload(tx, n)?;
    let mut out = Relayed::default();
    let mut people: Vec<Mailbox> = Vec::new();
    // The requester first: they are To, the others Cc.
    let (participants, left_out) = super::customer_side(tx, s, n)?;
    if let Some(line) = super::left_out_line("relay", &left_out) {
        super::note(tx, n, at, &line)?;
        out.withheld.push(line);
    }
    for person in participants {
        if reply.direct.iter().any(|d| d.address == person.address) {
            let line = format!(
                "relay not sent to {}: the staff mail went to them directly",
                person.address
            );
            super::note(tx, n, at, &line)?;
            continue;
        }
        match gate::relay_refusal(tx, &s.answer, &person.address, at)? {
            Some(why) => out.withheld.push(format!("{}: {why}", person.address)),
            None => people.push(person),
        }
    }
    for line in &out.withheld {
        super::note(tx, n, at, &format!("relay not sent to {line}"))?;
    }
    // One mail per language, each person in their own (the ISP's English
    // beside its French child's people): the requester's first, To the
    // requester, the others of that language in Cc.
    let groups = {
        let read = tx.read();
        super::by_language(None, &people, |p| {
            super::customer_language(&read, s, &t, Some(&p.address))
        })?
    };
    for (i, (lang, group)) in groups.iter().enumerate() {
        // The first mail keeps the reply's own cause (its Message-ID); the
        // others add their language to it.
        let cause = match i {
            0 => reply.cause.to_string(),
            _ => format!("{}|{}", reply.cause, lang.as_str()),
        };
        let id = relay_in(tx, s, &t, reply, (*lang, group), &cause, at)?;
        out.outbox = out.outbox.or(Some(id.0));
        out.failing.extend(id.1);
    }
    Ok(out)
}

/// Queues the relay of `reply` in `lang` to `group` (To the first, Cc the
/// rest): its outbox row and the recipients that failed before.
fn relay_in(
    tx: &mut Tx<'_>,
    s: &Settings<'_>,
    t: &Ticket,
    reply: &Reply<'_>,
    (lang, group): (Language, &[Mailbox]),
    cause: &str,
    at: DateTime<Utc>,
) -> Result<(i64, Vec<String>), StoreError> {
    let n = t.number;
    let (first, rest) = group.split_first().expect("a group has a person");
    // A reply that closes the ticket carries what the close notice would.
    let extent = match reply.changed.status {
        Some(Status::Closed) => s.extent("closed"),
        _ => s.extent("relay"),
    };
    let view = super::view_for(
        &tx.read(),
        &s.speech(lang),
        t,
        Side::Customer,
        Some(reply.message),
        extent,
    )?;
    let changes = reply.changed.fields(&s.speech(lang));
    let files = if reply.attachments.is_empty() {
        Vec::new()
    } else {
        crate::screen::attachment_files(reply.raw, &s.limits)
    };
    let mail = compose::relay(
        &s.desk,
        lang,
        &RelayMail {
            view: &view,
            staff: reply.staff,
            to: first,
            cc: rest,
            text: reply.text,
            cause,
            references: &view.references,
            attachments: &files,
            changes: &changes,
        },
        at,
    );
    let detail = format!(
        "relay of {}'s reply queued to {}",
        reply.staff,
        list(&mail.to)
    );
    let id = super::queue_mail(tx, s, &mail, n, false, &detail, at)?;
    super::flag_failing(tx, n, "relay", &mail.to, at)?;
    let failing = tx
        .read()
        .failing(&mail.to)?
        .iter()
        .map(|f| format!("{}: {} {}", f.address, f.status, f.diagnostic))
        .collect();
    Ok((id, failing))
}

/// Tells a staff member that their mail on ticket `n` was not applied
/// (`errors`), or not sent to everyone (`withheld`), or sent to addresses
/// that failed before (`failing`): an automatic answer to their mail.
#[allow(clippy::too_many_arguments)]
pub fn to_staff_member(
    tx: &mut Tx<'_>,
    s: &Settings<'_>,
    n: TicketId,
    (inbound, at): (&Inbound, DateTime<Utc>),
    to: &Mailbox,
    errors: &[String],
    relayed: &Relayed,
) -> Result<Option<i64>, StoreError> {
    let dest = [to.address.clone()];
    let mut refusal = gate::answer_refusal(tx, &s.answer, at, Recipient::Staff(&dest), None)?;
    // The one automatic mail that answers a staff address: a mail rule or
    // robot there that answers it would loop with us, as its answer is
    // answered again. So the daily limit applies to it.
    let told = tx
        .read()
        .mails_of_kind_to(&to.address, "staff-error", at - Duration::hours(24))?;
    let limit = s.answer.max_per_day.max(1);
    if refusal.is_none() && told >= limit {
        refusal = Some(format!(
            "{told} such answers to it in the last 24 hours reach intake.max_auto_replies_per_day"
        ));
    }
    if let Some(why) = refusal {
        super::note(
            tx,
            n,
            at,
            &format!("no staff-error mail to {}: {why}", to.address),
        )?;
        return Ok(None);
    }
    let t = super::reload(tx, n)?;
    let bullets = |lines: &[String]| {
        lines
            .iter()
            .map(|l| format!("    {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let ticket = format!("#{n}");
    let token = s.desk.token.format(n);
    let (errors, withheld, failing) = (
        bullets(errors),
        bullets(&relayed.withheld),
        bullets(&relayed.failing),
    );
    let mut mail = compose::answer(
        &s.desk,
        "staff-error",
        s.language,
        to,
        inbound,
        &compose::re(&s.desk.token.tag_subject(n, &t.subject)),
        &inbound.content_hash,
        &[
            ("ticket", &ticket),
            ("token", &token),
            ("errors", &errors),
            ("withheld", &withheld),
            ("failing", &failing),
        ],
        at,
    );
    mail.audience = crate::domain::Audience::Staff;
    let detail = format!("staff-error queued to {}", to.address);
    Ok(Some(super::queue_mail(tx, s, &mail, n, true, &detail, at)?))
}

fn account_line(t: &Ticket) -> String {
    match (&t.account, t.account_candidates.as_slice()) {
        (Some(a), _) => a.clone(),
        (None, []) => "-".into(),
        (None, c) => format!("- (sender matches {})", c.join(", ")),
    }
}

fn assignee_line(s: &Settings<'_>, t: &Ticket) -> String {
    let Some(a) = t.assignee.as_deref() else {
        return String::new();
    };
    match Address::parse(a)
        .ok()
        .and_then(|a| s.staff.member(&a, &s.matching))
    {
        Some(m) => format!("{} <{}>", m.name, m.address),
        None => a.to_string(),
    }
}

/// The most failing participants a staff notification lists.
const FAILING_SHOWN: usize = 20;

/// The ticket's participants that are failing, one per line (the first
/// [`FAILING_SHOWN`]).
fn failing_lines(tx: &Tx<'_>, sp: &Speech<'_>, t: &Ticket) -> Result<String, StoreError> {
    Ok(tx
        .read()
        .failing_participants(t.number, FAILING_SHOWN)?
        .iter()
        .map(|f| {
            format!(
                "    {} {} {}: {} {}",
                f.address,
                sp.since(),
                sp.date(f.at),
                f.status,
                f.diagnostic
            )
        })
        .collect::<Vec<_>>()
        .join("\n"))
}

/// The people the customer copied, who get nothing, one per line.
fn copied_lines(tx: &Tx<'_>, n: TicketId) -> Result<String, StoreError> {
    Ok(tx
        .read()
        .participants(n)?
        .into_iter()
        .filter(|(_, role)| role == "copied")
        .map(|(m, _)| format!("    {m}"))
        .collect::<Vec<_>>()
        .join("\n"))
}

fn list(to: &[Address]) -> String {
    to.iter()
        .map(Address::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn failure_lines(reports: &[DeliveryReport]) -> String {
    reports
        .iter()
        .map(|r| {
            let kind = if r.is_permanent() {
                "failed for good"
            } else {
                "not delivered yet"
            };
            let status = if r.status.is_empty() {
                "no status".to_string()
            } else {
                r.status.clone()
            };
            let diagnostic = if r.diagnostic.is_empty() {
                String::new()
            } else {
                format!("\n      {}", r.diagnostic)
            };
            format!("    {}: {kind} ({status}){diagnostic}", r.recipient)
        })
        .collect::<Vec<_>>()
        .join("\n")
}
