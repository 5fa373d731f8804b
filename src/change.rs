//! change: carries out the decisions of `lifecycle` inside the caller's
//! transaction — the status, the inactivity timers (and so the indexed
//! next deadline), the history line with who and why, and the mail the
//! change causes, queued in the same transaction (DESIGN invariant 2).
//!
//! Callers: `apply` (a customer's message), `sweep` (warnings and closes),
//! the operator's `postdesk ticket …` commands, and staff replies, notes and
//! commands by mail (`staffmail`). Lifecycle mail is automatic mail: `Auto-Submitted:
//! auto-generated`, and passes the one gate of automatic mail,
//! [`apply::answer_refusal`]: never sent to the sender of a ticket a robot
//! opened, nothing during a silent import, and counted in
//! `intake.max_auto_replies_per_day` (which refuses it to a customer address
//! over the limit; the staff notification addresses are the desk's own and
//! are never limited). The customer side's mail is in the language of the
//! ticket's account (else `service.default_language`); the staff side's in
//! `service.default_language`.

use chrono::{DateTime, Duration, Utc};

use crate::apply::{self, AnswerRules};
use crate::config::{Config, Staff};
use crate::domain::calendar::{Calendar, Span};

use crate::domain::Language;
use crate::domain::lifecycle::{self, Decision, Event as LifeEvent, Plan, Rule, Side, Transition};
use crate::domain::{Address, Mailbox, MatchOptions, Status, TicketId};
use crate::outbox::compose::{
    self, Desk, HISTORY_FILE_MAX, HISTORY_TEXT_MAX, Notice, Outgoing, QUOTE_MAX, Recipient,
    TicketView,
};
use crate::parse::ParseLimits;
use crate::store::{
    Event, EventKind, HistoryEntry, HistoryKind, HistoryMessage, MessageRole, QueuedMail, Reader,
    StoreError, Ticket, Timers, Tx,
};
use crate::template::span_words;

/// Everything a change needs from the config, borrowed.
#[derive(Clone, Copy)]
pub struct Settings<'a> {
    pub desk: Desk<'a>,
    /// `service.default_language`: the staff side's, and the customer side's
    /// when the ticket's account has none.
    pub language: Language,
    pub calendar: &'a Calendar,
    pub rules: &'a [Rule],
    /// The staff side's notification addresses (`[staff] notify`).
    pub notify: &'a [Address],
    /// The staff members and notification addresses (`[staff]`).
    pub staff: &'a Staff,
    /// How addresses compare (`[intake]` case and +tag settings).
    pub matching: MatchOptions,
    /// The gate of every automatic mail (see [`apply::answer_refusal`]).
    pub answer: AnswerRules<'a>,
    /// None: a reply never reopens a closed ticket.
    pub reopen_window: Option<Duration>,
    pub ticket_types: &'a [String],
    /// `[intake]` limits, for reading a message's attachments again.
    pub limits: ParseLimits,
    /// `intake.max_recipients`: customer-side addresses per mail, at most.
    pub max_recipients: usize,
    /// `outbox.history_in_mail`: the history entries a mail carries.
    pub history_in_mail: usize,
    /// `outbox.close_history_inline`: the longest history the close notice
    /// carries inline, in bytes.
    pub close_history_inline: u64,
}

/// Who on a ticket gets the customer side's mail: the requester, the
/// account's delegates and the people a staff reply included — never those
/// who were only copied on a customer's or stranger's mail. In that order,
/// at most `max` of them; the rest are returned apart, for the history.
pub fn customer_side(
    tx: &Tx<'_>,
    s: &Settings<'_>,
    n: TicketId,
) -> Result<(Vec<Mailbox>, Vec<Address>), StoreError> {
    let rank = |role: &str| match role {
        "requester" => Some(0),
        "delegate" => Some(1),
        "included" => Some(2),
        _ => None,
    };
    let mut people: Vec<(u8, Mailbox)> = tx
        .read()
        .participants(n)?
        .into_iter()
        .filter_map(|(m, role)| rank(&role).map(|r| (r, m)))
        .filter(|(_, m)| {
            !s.answer.own.contains(&m.address) && !s.staff.is_staff_address(&m.address, &s.matching)
        })
        .collect();
    // Stable: within a rank, the order they joined in.
    people.sort_by_key(|(r, _)| *r);
    let mut people: Vec<Mailbox> = people.into_iter().map(|(_, m)| m).collect();
    let left_out = people
        .split_off(people.len().min(s.max_recipients))
        .into_iter()
        .map(|m| m.address)
        .collect();
    Ok((people, left_out))
}

/// The history line for those `customer_side` left out, if any.
pub fn left_out_line(kind: &str, left_out: &[Address]) -> Option<String> {
    (!left_out.is_empty()).then(|| {
        format!(
            "{kind} mail not sent to {} more on the ticket: at most intake.max_recipients addresses per mail ({})",
            left_out.len(),
            left_out
                .iter()
                .take(10)
                .map(Address::as_str)
                .collect::<Vec<_>>()
                .join(", ")
                + if left_out.len() > 10 { ", …" } else { "" }
        )
    })
}

impl<'a> Settings<'a> {
    pub fn new(config: &'a Config, desk: Desk<'a>) -> Settings<'a> {
        Settings {
            desk,
            language: config.service.default_language,
            calendar: &config.calendar,
            rules: &config.inactivity,
            notify: &config.staff.notify,
            staff: &config.staff,
            matching: config.intake.match_options(),
            answer: AnswerRules {
                own: &config.own_addresses,
                staff: &config.staff,
                matching: config.intake.match_options(),
                max_per_day: config.intake.max_auto_replies_per_day,
                silent: false,
            },
            reopen_window: config
                .intake
                .reopen_window
                .map(|d| Duration::from_std(d).unwrap_or(Duration::MAX)),
            ticket_types: &config.service.ticket_types,
            limits: ParseLimits {
                max_size: usize::try_from(config.intake.max_message_size).unwrap_or(usize::MAX),
                max_depth: config.intake.max_mime_depth,
                max_parts: config.intake.max_mime_parts,
            },
            max_recipients: config.intake.max_recipients as usize,
            history_in_mail: config.outbox.history_in_mail,
            close_history_inline: config.outbox.close_history_inline,
        }
    }

    /// How much history mail of `kind` carries: the close notice all of it.
    pub fn extent(&self, kind: &str) -> Extent {
        if kind == "closed" {
            Extent::Whole {
                newest: self.history_in_mail,
                inline_max: self.close_history_inline,
            }
        } else {
            Extent::Newest(self.history_in_mail)
        }
    }

    fn plan(&self, status: Status, since: DateTime<Utc>) -> Option<Plan> {
        lifecycle::plan(self.rules, self.calendar, status, since)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("no ticket #{0}")]
    NoTicket(TicketId),
    #[error("ticket #{0}: {1}")]
    Refused(TicketId, String),
    #[error("unknown ticket type {0:?}; this desk has: {1} (service.ticket_types)")]
    UnknownType(String, String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An operator's (or staff member's) command on a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    SetStatus(Status),
    Close,
    Reopen,
    SetType(String),
}

/// Who asks for a command, and why: both go into the history.
#[derive(Debug, Clone, Copy)]
pub struct Author<'a> {
    pub who: &'a str,
    pub reason: Option<&'a str>,
}

/// What a command or a sweep action did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done {
    pub ticket: TicketId,
    /// `in-progress → closed`, `type technical → billing`.
    pub change: String,
    /// Outbox rows queued.
    pub mails: Vec<i64>,
    /// Mail not sent, and why.
    pub skipped: Vec<String>,
}

/// Why a status changes, for the history line and the mail's flags.
enum Cause<'a> {
    Customer(&'a Mailbox),
    Operator(Author<'a>),
    /// A staff member's reply or note, by mail.
    Staff {
        who: &'a str,
        what: &'static str,
    },
    Inactivity {
        side: Side,
        span: Option<Span>,
    },
}

impl Cause<'_> {
    fn who(&self) -> String {
        match self {
            Cause::Customer(m) => m.address.to_string(),
            Cause::Operator(a) => a.who.to_string(),
            Cause::Staff { who, .. } => who.to_string(),
            Cause::Inactivity { .. } => "postdesk".into(),
        }
    }

    /// For the history, which is in English whatever the mail language.
    fn why(&self) -> String {
        match self {
            Cause::Customer(m) => format!("a reply from {}", m.address),
            Cause::Operator(a) => match a.reason {
                Some(r) => r.to_string(),
                None => format!("by {}", a.who),
            },
            Cause::Staff { what, .. } => what.to_string(),
            Cause::Inactivity { side, span } => {
                let after = span.map_or("at once".to_string(), |s| format!("after {s}"));
                format!(
                    "inactivity rule for {}: closed {after} without an answer",
                    side.as_str()
                )
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------

/// A ticket just opened waits for staff from `at`.
pub fn opened(
    tx: &mut Tx<'_>,
    s: &Settings<'_>,
    ticket: TicketId,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let deadline = s.plan(Status::New, at).and_then(|p| p.next_deadline(0));
    tx.set_timers(
        ticket,
        &Timers {
            waiting_since: Some(at),
            warnings_sent: 0,
            next_deadline: deadline,
        },
    )
}

/// Whether a customer's reply at `at` to `t` must open a new ticket instead
/// (closed or rejected longer than the reopen window ago).
pub fn reply_opens_new_ticket(s: &Settings<'_>, t: &Ticket, at: DateTime<Utc>) -> bool {
    let closed_at = t.closed_at.unwrap_or(t.updated);
    let within = lifecycle::within_reopen_window(closed_at, at, s.reopen_window);
    lifecycle::decide(
        t.status,
        LifeEvent::CustomerMessage {
            within_window: within,
        },
    ) == Decision::NewTicket
}

/// A customer's message, already stored on ticket `n`: moves the ticket
/// (to in-progress, reopening it if closed) and its clock. Returns the
/// transition made, if any; the caller's staff notification says when it
/// reopened the ticket.
pub fn customer_message(
    tx: &mut Tx<'_>,
    s: &Settings<'_>,
    n: TicketId,
    from: &Mailbox,
    at: DateTime<Utc>,
) -> Result<Option<Transition>, StoreError> {
    let Some(t) = tx.read().ticket(n)? else {
        return Ok(None);
    };
    // The caller opened a new ticket when the window had passed.
    let decision = lifecycle::decide(
        t.status,
        LifeEvent::CustomerMessage {
            within_window: true,
        },
    );
    let Decision::Apply(tr) = decision else {
        return Ok(None);
    };
    let cause = Cause::Customer(from);
    transition(tx, s, &t, tr, &cause, at)?;
    Ok(Some(tr))
}

/// Staff activity on ticket `n` by `who` — `Event::StaffReply` (an answer
/// relayed to the customer) or `Event::StaffNote` — moves its status and
/// clock by the table. It queues no mail: the reply itself is the mail.
/// For the staff-mail stage; returns the transition made, if any.
pub fn staff_event(
    tx: &mut Tx<'_>,
    s: &Settings<'_>,
    n: TicketId,
    event: LifeEvent,
    who: &str,
    at: DateTime<Utc>,
) -> Result<Option<Transition>, StoreError> {
    let Some(t) = tx.read().ticket(n)? else {
        return Ok(None);
    };
    let Decision::Apply(tr) = lifecycle::decide(t.status, event) else {
        return Ok(None);
    };
    let what = match event {
        LifeEvent::StaffReply => "a staff reply",
        LifeEvent::StaffNote => "a staff note",
        _ => "staff",
    };
    transition(tx, s, &t, tr, &Cause::Staff { who, what }, at)?;
    Ok(Some(tr))
}

/// An operator's command on ticket `n`, with its mail to both sides.
pub fn command(
    tx: &mut Tx<'_>,
    s: &Settings<'_>,
    n: TicketId,
    cmd: &Command,
    author: Author<'_>,
    at: DateTime<Utc>,
) -> Result<Done, ChangeError> {
    let t = tx.read().ticket(n)?.ok_or(ChangeError::NoTicket(n))?;
    let cause = Cause::Operator(author);
    let event = match cmd {
        Command::SetType(ty) => return set_type(tx, s, &t, ty, author, at),
        Command::SetStatus(st) => LifeEvent::SetStatus(*st),
        Command::Close => LifeEvent::Close,
        Command::Reopen => LifeEvent::Reopen,
    };
    let tr = match lifecycle::decide(t.status, event) {
        Decision::Apply(tr) => tr,
        Decision::Refuse(why) => return Err(ChangeError::Refused(n, why)),
        other => {
            return Err(ChangeError::Refused(
                n,
                format!("nothing to do ({other:?})"),
            ));
        }
    };
    transition(tx, s, &t, tr, &cause, at)?;
    let after = reload(tx, n)?;
    let closed = tr.to == Status::Closed;
    let fields = |lang| {
        if closed {
            closed_fields(s, lang, &after, &cause, at)
        } else {
            changed_fields(&t, &after, &cause, tr.reopened)
        }
    };
    let kind = if closed { "closed" } else { "changed" };
    let (mails, skipped) = notify(tx, s, &after, kind, &fields, at)?;
    Ok(Done {
        ticket: n,
        change: format!("{} → {}", t.status, tr.to),
        mails,
        skipped,
    })
}

/// Sends warning `index` of `plan` for ticket `t` to both sides and
/// records it, so it is sent once.
pub fn warn(
    tx: &mut Tx<'_>,
    s: &Settings<'_>,
    t: &Ticket,
    plan: &Plan,
    index: usize,
    at: DateTime<Utc>,
) -> Result<Done, StoreError> {
    let w = plan.warnings[index];
    let fields = |lang| {
        let mut fields = vec![
            ("since", s.calendar.format(plan.since)),
            (
                "elapsed",
                w.span.map(|sp| span_words(lang, sp)).unwrap_or_default(),
            ),
            ("customer_rule", flag(plan.side == Side::Customer)),
            ("staff_rule", flag(plan.side == Side::Staff)),
            ("closes", flag(plan.close.is_some())),
            ("never_closes", flag(plan.close.is_none())),
        ];
        if let Some(c) = plan.close {
            fields.push(("close_at", s.calendar.format(c.at)));
        }
        fields
    };
    let (mails, skipped) = notify(tx, s, t, "warning", &fields, at)?;
    let warned = index as u32 + 1;
    tx.set_timers(
        t.number,
        &Timers {
            waiting_since: Some(plan.since),
            warnings_sent: warned,
            next_deadline: plan.next_deadline(warned as usize),
        },
    )?;
    Ok(Done {
        ticket: t.number,
        change: format!(
            "warning {} of {} ({} waiting for {})",
            index + 1,
            plan.warnings.len(),
            w.span.map(|sp| sp.to_string()).unwrap_or_default(),
            plan.side.as_str()
        ),
        mails,
        skipped,
    })
}

/// Closes ticket `t` because the close of `plan` is due, with the close
/// notice to both sides.
pub fn inactivity_close(
    tx: &mut Tx<'_>,
    s: &Settings<'_>,
    t: &Ticket,
    plan: &Plan,
    at: DateTime<Utc>,
) -> Result<Option<Done>, StoreError> {
    let Decision::Apply(tr) = lifecycle::decide(t.status, LifeEvent::InactivityClose) else {
        return Ok(None);
    };
    let cause = Cause::Inactivity {
        side: plan.side,
        span: plan.close.and_then(|c| c.span),
    };
    transition(tx, s, t, tr, &cause, at)?;
    let after = reload(tx, t.number)?;
    let fields = |lang| closed_fields(s, lang, &after, &cause, at);
    let (mails, skipped) = notify(tx, s, &after, "closed", &fields, at)?;
    Ok(Some(Done {
        ticket: t.number,
        change: format!("{} → closed", t.status),
        mails,
        skipped,
    }))
}

/// Writes the next deadline again from the ticket's current state: for a
/// deadline that is stale (the rules changed, or a sweep found nothing due).
pub fn refresh_deadline(tx: &mut Tx<'_>, s: &Settings<'_>, t: &Ticket) -> Result<(), StoreError> {
    let timers = timers_for(s, t.status, t.waiting_since, t.warnings_sent, t.updated);
    if timers.next_deadline != t.next_deadline || timers.waiting_since != t.waiting_since {
        tx.set_timers(t.number, &timers)?;
    }
    Ok(())
}

/// The plan of a ticket as it stands, for the sweep.
pub fn plan_of(s: &Settings<'_>, t: &Ticket) -> Option<Plan> {
    s.plan(t.status, t.waiting_since.unwrap_or(t.updated))
}

// ---------------------------------------------------------------------------
// The steps
// ---------------------------------------------------------------------------

/// The status, its history line and the clock, for a decided transition.
fn transition(
    tx: &mut Tx<'_>,
    s: &Settings<'_>,
    t: &Ticket,
    tr: Transition,
    cause: &Cause<'_>,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    if tr.to != t.status {
        tx.set_status(t.number, tr.to, at)?;
        let verb = if tr.reopened { " (reopened)" } else { "" };
        tx.add_event(
            t.number,
            &Event {
                at,
                kind: EventKind::StatusChange,
                actor: cause.who(),
                detail: format!("{} → {}{verb}: {}", t.status, tr.to, cause.why()),
                message: None,
                outbox: None,
            },
        )?;
    }
    let since = if tr.restart_clock {
        Some(at)
    } else {
        t.waiting_since
    };
    let warned = if tr.restart_clock { 0 } else { t.warnings_sent };
    tx.set_timers(t.number, &timers_for(s, tr.to, since, warned, at))
}

/// Timers for a ticket in `status`: nobody waited for, no clock.
fn timers_for(
    s: &Settings<'_>,
    status: Status,
    since: Option<DateTime<Utc>>,
    warned: u32,
    fallback: DateTime<Utc>,
) -> Timers {
    if lifecycle::waits_for(status).is_none() {
        return Timers {
            waiting_since: None,
            warnings_sent: 0,
            next_deadline: None,
        };
    }
    let since = since.unwrap_or(fallback);
    Timers {
        waiting_since: Some(since),
        warnings_sent: warned,
        next_deadline: s
            .plan(status, since)
            .and_then(|p| p.next_deadline(warned as usize)),
    }
}

fn set_type(
    tx: &mut Tx<'_>,
    s: &Settings<'_>,
    t: &Ticket,
    ty: &str,
    author: Author<'_>,
    at: DateTime<Utc>,
) -> Result<Done, ChangeError> {
    if !s.ticket_types.iter().any(|k| k == ty) {
        return Err(ChangeError::UnknownType(
            ty.to_string(),
            s.ticket_types.join(", "),
        ));
    }
    if t.ticket_type == ty {
        return Err(ChangeError::Refused(
            t.number,
            format!("type is already {ty}"),
        ));
    }
    tx.set_ticket_type(t.number, ty, at)?;
    let cause = Cause::Operator(author);
    tx.add_event(
        t.number,
        &Event {
            at,
            kind: EventKind::TypeChange,
            actor: cause.who(),
            detail: format!("{} → {ty}: {}", t.ticket_type, cause.why()),
            message: None,
            outbox: None,
        },
    )?;
    let after = reload(tx, t.number)?;
    let mut fields = changed_fields(t, &after, &cause, false);
    fields.retain(|(k, _)| *k != "change");
    fields.push(("change", format!("type: {} → {ty}", t.ticket_type)));
    let (mails, skipped) = notify(tx, s, &after, "changed", &|_| fields.clone(), at)?;
    Ok(Done {
        ticket: t.number,
        change: format!("type {} → {ty}", t.ticket_type),
        mails,
        skipped,
    })
}

pub fn reload(tx: &Tx<'_>, n: TicketId) -> Result<Ticket, StoreError> {
    tx.read()
        .ticket(n)?
        .ok_or_else(|| StoreError::Corrupt(format!("ticket #{n} vanished inside its transaction")))
}

fn flag(b: bool) -> String {
    if b { "yes".into() } else { String::new() }
}

fn changed_fields(
    before: &Ticket,
    after: &Ticket,
    cause: &Cause<'_>,
    reopened: bool,
) -> Vec<(&'static str, String)> {
    let reason = match cause {
        Cause::Operator(a) => a.reason.unwrap_or_default().to_string(),
        _ => String::new(),
    };
    vec![
        (
            "change",
            format!("status: {} → {}", before.status, after.status),
        ),
        ("by", cause.who()),
        ("reason", reason),
        ("reopened", flag(reopened)),
    ]
}

fn closed_fields(
    s: &Settings<'_>,
    lang: Language,
    after: &Ticket,
    cause: &Cause<'_>,
    at: DateTime<Utc>,
) -> Vec<(&'static str, String)> {
    let mut fields = vec![
        ("by", cause.who()),
        ("can_reopen", flag(s.reopen_window.is_some())),
        ("cannot_reopen", flag(s.reopen_window.is_none())),
    ];
    if let Some(w) = s.reopen_window {
        let closed = after.closed_at.unwrap_or(at);
        fields.push(("reopen_until", s.calendar.format(closed + w)));
    }
    match cause {
        Cause::Inactivity { side, span } => {
            fields.push(("customer_rule", flag(*side == Side::Customer)));
            fields.push(("staff_rule", flag(*side == Side::Staff)));
            // `elapsed` for a close after a length, `at_once` for close_after = "".
            match span {
                Some(sp) => fields.push(("elapsed", span_words(lang, *sp))),
                None => fields.push(("at_once", "yes".into())),
            }
        }
        Cause::Operator(a) => {
            fields.push(("by_operator", "yes".into()));
            fields.push(("reason", a.reason.unwrap_or_default().to_string()));
        }
        Cause::Staff { .. } => fields.push(("by_operator", "yes".into())),
        Cause::Customer(_) => {}
    }
    fields
}

// ---------------------------------------------------------------------------
// Mail
// ---------------------------------------------------------------------------

/// Queues notice `kind` about ticket `t` to the customer side (one mail per
/// person, in the language of the ticket's account) and the staff side (one
/// mail to every notify address, in the desk's language), each through the
/// gate of automatic mail and with its history line. `fields` gives the
/// template's fields in a language (a length is written out in words).
/// Returns the outbox rows and the mails not sent.
fn notify(
    tx: &mut Tx<'_>,
    s: &Settings<'_>,
    t: &Ticket,
    kind: &'static str,
    fields: &dyn Fn(Language) -> Vec<(&'static str, String)>,
    at: DateTime<Utc>,
) -> Result<(Vec<i64>, Vec<String>), StoreError> {
    let extent = s.extent(kind);
    let view = view_for(&tx.read(), s.calendar, t, Side::Customer, None, extent)?;
    let seq = tx.read().last_event_id(t.number)?;
    let mut queued = Vec::new();
    let mut skipped = Vec::new();

    {
        let robot = tx
            .read()
            .first_message_class(t.number)?
            .is_some_and(|c| c.is_automatic());
        let no_answer = robot
            .then_some("the ticket was opened by an automatic message; it gets no automatic mail");
        let lang = customer_language(&tx.read(), s, t)?;
        let customer_fields = fields(lang);
        let (people, left_out) = customer_side(tx, s, t.number)?;
        if let Some(line) = left_out_line(kind, &left_out) {
            note(tx, t.number, at, &line)?;
            skipped.push(line);
        }
        for person in people {
            let to = Recipient::Customer(&person);
            match apply::answer_refusal(tx, &s.answer, at, to, no_answer)? {
                Some(why) => {
                    let line = format!("no {kind} mail to {}: {why}", person.address);
                    note(tx, t.number, at, &line)?;
                    skipped.push(line);
                }
                None => {
                    let cause = format!("{seq}|{}", person.address.key());
                    let id = queue(tx, s, &view, kind, lang, &customer_fields, to, &cause, at)?;
                    flag_failing(
                        tx,
                        t.number,
                        kind,
                        std::slice::from_ref(&person.address),
                        at,
                    )?;
                    queued.push(id);
                }
            }
        }
    }
    let staff = staff_recipients(s, t);
    let to = Recipient::Staff(&staff);
    if staff.is_empty() {
        skipped.push(format!(
            "no {kind} mail to staff: [staff] has no notify address and no member"
        ));
    } else if let Some(why) = apply::answer_refusal(tx, &s.answer, at, to, None)? {
        let line = format!("no {kind} mail to staff: {why}");
        note(tx, t.number, at, &line)?;
        skipped.push(line);
    } else {
        // The staff side sees its internal notes in the history too.
        let staff_view = view_for(&tx.read(), s.calendar, t, Side::Staff, None, extent)?;
        let cause = format!("{seq}|staff");
        let id = queue(
            tx,
            s,
            &staff_view,
            kind,
            s.language,
            &fields(s.language),
            to,
            &cause,
            at,
        )?;
        queued.push(id);
    }
    Ok((queued, skipped))
}

/// Where the staff side's mail about `t` goes: `[staff] notify` (else every
/// member), and the member it is assigned to.
pub fn staff_recipients(s: &Settings<'_>, t: &Ticket) -> Vec<Address> {
    let mut to = s.staff.recipients();
    if let Some(a) = t.assignee.as_deref().and_then(|a| Address::parse(a).ok())
        && !to.contains(&a)
    {
        to.push(a);
    }
    to
}

/// A mail about ticket `n` queued to addresses a delivery report said
/// failed for good: sent anyway (the address may work again), and said
/// in the history, which staff see.
pub fn flag_failing(
    tx: &mut Tx<'_>,
    n: TicketId,
    kind: &str,
    to: &[Address],
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    for f in tx.read().failing(to)? {
        let line = format!(
            "{kind} mail queued to {}, which failed permanently on {}: {} {}",
            f.address,
            f.at.format("%Y-%m-%d %H:%M UTC"),
            f.status,
            f.diagnostic
        );
        note(tx, n, at, &line)?;
    }
    Ok(())
}

/// The language of the customer side's mail about `t`: its account's,
/// else the desk's default.
pub fn customer_language(
    read: &Reader<'_>,
    s: &Settings<'_>,
    t: &Ticket,
) -> Result<Language, StoreError> {
    let Some(account) = &t.account else {
        return Ok(s.language);
    };
    Ok(read
        .account_brief(account)?
        .and_then(|b| b.language)
        .and_then(|l| Language::from_code(&l))
        .unwrap_or(s.language))
}

#[allow(clippy::too_many_arguments)]
fn queue(
    tx: &mut Tx<'_>,
    s: &Settings<'_>,
    view: &TicketView,
    kind: &'static str,
    lang: Language,
    fields: &[(&'static str, String)],
    to: Recipient<'_>,
    cause: &str,
    at: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let mail = compose::notice(
        &s.desk,
        lang,
        &Notice {
            kind,
            view,
            to,
            fields,
            cause,
        },
        at,
    );
    let to: Vec<&str> = mail.to.iter().map(|a| a.as_str()).collect();
    let detail = format!("{kind} queued to {}", to.join(", "));
    queue_mail(tx, s, &mail, view.number, true, &detail, at)
}

/// Queues `mail` about ticket `n`, with the history line `detail` that
/// points at it (relays and notifications too, see `relay`).
pub fn queue_mail(
    tx: &mut Tx<'_>,
    s: &Settings<'_>,
    mail: &Outgoing,
    n: TicketId,
    automatic: bool,
    detail: &str,
    at: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let id = tx.queue_mail(&QueuedMail {
        ticket: Some(n),
        kind: mail.kind,
        automatic,
        message_id: &mail.message_id,
        mail_from: Some(s.desk.address),
        rcpt: &mail.to,
        subject: &mail.subject,
        raw: &mail.raw,
        at,
        audience: mail.audience,
        reference: &mail.reference,
    })?;
    tx.add_event(
        n,
        &Event {
            at,
            kind: EventKind::MailOut,
            actor: "postdesk".into(),
            detail: detail.to_string(),
            message: None,
            outbox: Some(id),
        },
    )?;
    Ok(id)
}

pub fn note(
    tx: &mut Tx<'_>,
    n: TicketId,
    at: DateTime<Utc>,
    detail: &str,
) -> Result<(), StoreError> {
    tx.add_event(
        n,
        &Event {
            at,
            kind: EventKind::Note,
            actor: "postdesk".into(),
            detail: detail.to_string(),
            message: None,
            outbox: None,
        },
    )
}

/// How much of a ticket's history a mail carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extent {
    /// The newest entries, this many (`outbox.history_in_mail`): every
    /// mail but the close notice. Reads only those entries.
    Newest(usize),
    /// All of it, for the close notice: inline up to `inline_max` bytes
    /// (`outbox.close_history_inline`), else attached as history.txt with
    /// the newest `newest` entries inline. Reads the thread (at most
    /// `HISTORY_FILE_MAX` of its text), once per close.
    Whole { newest: usize, inline_max: u64 },
}

/// What a mail shows of ticket `t` to `side`: its details, the newest
/// message from a person, and the history — the messages people wrote
/// (customers, and staff replies as relayed) and the status and type
/// changes, oldest first, as much of it as `extent` says, with the count of
/// the entries left out. Staff notes appear only on the staff side;
/// automatic messages, mail we sent and postdesk's own notes stay out (the
/// store records which entry each side sees, see `store::HistoryKind`).
/// `skip` leaves one message out of the history (the one a mail shows on
/// top). Language-neutral: times in the desk's zone, status and type by
/// their names.
pub fn view_for(
    read: &Reader<'_>,
    cal: &Calendar,
    t: &Ticket,
    side: Side,
    skip: Option<i64>,
    extent: Extent,
) -> Result<TicketView, StoreError> {
    let total = read.history_count(t.number, side)?;
    let (mut entries, complete) = match extent {
        // One more when a message is skipped: it is among the newest.
        Extent::Newest(n) => {
            let limit = Some(n + usize::from(skip.is_some()));
            (read.history(t.number, side, limit, HISTORY_TEXT_MAX)?, true)
        }
        Extent::Whole { .. } => read.history_within(t.number, side, QUOTE_MAX, HISTORY_FILE_MAX)?,
    };
    let latest = match entries.iter().rev().find_map(|e| e.message.as_ref()) {
        Some(m) => message_block(cal, m, HISTORY_TEXT_MAX),
        // Only changes among the newest entries: the message before them.
        None => read
            .newest_history_message(t.number, side, HISTORY_TEXT_MAX)?
            .and_then(|e| e.message)
            .map(|m| message_block(cal, &m, HISTORY_TEXT_MAX))
            .unwrap_or_default(),
    };
    let before = entries.len();
    if let Some(skip) = skip {
        entries.retain(|e| e.message.as_ref().is_none_or(|m| m.id != skip));
    }
    let skipped = (before - entries.len()) as u64;
    // Entries the store left out (beyond HISTORY_FILE_MAX) are older still.
    let older = total.saturating_sub(entries.len() as u64 + skipped);
    let (shown, attached) = history_text(cal, &entries, if complete { 0 } else { older }, extent);
    let earlier = total.saturating_sub(shown.len() as u64 + skipped);
    // Thread under the ticket's first message and the newest one of the
    // customer side (a staff member's own Message-ID means nothing there).
    let mut references: Vec<String> = Vec::new();
    for id in [
        read.first_message_id(t.number)?,
        read.newest_customer_message_id(t.number)?,
    ]
    .into_iter()
    .flatten()
    {
        if !references.contains(&id) {
            references.push(id);
        }
    }
    Ok(TicketView {
        number: t.number,
        subject: t.subject.clone(),
        status: t.status,
        ticket_type: t.ticket_type.clone(),
        created: cal.format(t.created),
        latest,
        history: shown.join("\n\n"),
        earlier,
        attached_history: attached,
        references,
    })
}

/// The history a mail shows inline, entry by entry, and the whole one to
/// attach when `extent` says so and it is too long to show: `entries` are
/// all the store read, `left_out` how many older ones it could not.
fn history_text(
    cal: &Calendar,
    entries: &[HistoryEntry],
    left_out: u64,
    extent: Extent,
) -> (Vec<String>, Option<String>) {
    let lines = |entries: &[HistoryEntry], max: usize| -> Vec<String> {
        entries
            .iter()
            .filter_map(|e| entry_text(cal, e, max))
            .collect()
    };
    let newest = |n: usize| &entries[entries.len().saturating_sub(n)..];
    match extent {
        Extent::Newest(n) => (lines(newest(n), HISTORY_TEXT_MAX), None),
        Extent::Whole {
            newest: n,
            inline_max,
        } => {
            let whole = lines(entries, QUOTE_MAX);
            let text = whole.join("\n\n");
            if left_out == 0 && text.len() as u64 <= inline_max {
                return (whole, None);
            }
            let head = match left_out {
                0 => String::new(),
                n => format!("[… {n} older entries left out]\n\n"),
            };
            (
                lines(newest(n), HISTORY_TEXT_MAX),
                Some(format!("{head}{text}\n")),
            )
        }
    }
}

/// One entry of a history as mails write it; None for a message's entry
/// whose message is not on the ticket.
fn entry_text(cal: &Calendar, e: &HistoryEntry, max: usize) -> Option<String> {
    match e.shown {
        HistoryKind::Change => {
            let what = if e.kind == EventKind::TypeChange {
                "type"
            } else {
                "status"
            };
            Some(format!(
                "{}  {what}: {}",
                cal.format(e.at),
                arrow(&e.detail)
            ))
        }
        _ => e.message.as_ref().map(|m| message_block(cal, m, max)),
    }
}

/// A message in a history: when, who, and its text four spaces in, at
/// most `max` bytes of it.
fn message_block(cal: &Calendar, m: &HistoryMessage, max: usize) -> String {
    let staff = m.shown_from.as_deref().filter(|n| !n.trim().is_empty());
    let from = match (m.role, staff, &m.from_name, &m.from) {
        (MessageRole::StaffNote, Some(n), ..) => format!("{n} (staff, internal note)"),
        (MessageRole::StaffNote, None, ..) => "staff (internal note)".to_string(),
        (_, Some(n), ..) if m.role.is_staff() => format!("{n} (staff)"),
        (_, _, Some(name), Some(addr)) if !name.trim().is_empty() => {
            format!("{name} <{addr}>")
        }
        (_, _, _, Some(addr)) => addr.clone(),
        _ => "?".to_string(),
    };
    let text = compose::shorten_known(&m.text, max, m.text_bytes);
    format!(
        "{}  {from}\n{}",
        cal.format(m.received_at),
        compose::indent_by(&text, "    ")
    )
}

/// The `a → b` part of a change's detail (`a → b: why`).
fn arrow(detail: &str) -> &str {
    detail.split_once(": ").map_or(detail, |(a, _)| a)
}

/// A customer's text as a mail quotes it: four spaces in, at most
/// [`QUOTE_MAX`] bytes of it (then the mark).
pub fn indent(text: &str) -> String {
    compose::indent_by(&compose::shorten(text, QUOTE_MAX), "    ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{NewTicket, Store};
    use crate::template::Templates;
    use crate::thread::Token;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn staff_events_move_status_and_clock_without_mail() {
        let config = Config::from_toml(
            "[calendar]\ntimezone = \"Europe/Paris\"\n[staff]\nnotify = [\"team@x.example\"]",
            "t",
            std::path::Path::new("/"),
        )
        .unwrap();
        let token = Token::new("T");
        let templates = Templates::load(None).unwrap();
        let ids = crate::domain::msgid::MessageIds::new([1; 32], "x.example");
        let desk = Desk {
            name: "Desk",
            address: &config.service.address,
            token: &token,
            templates: &templates,
            ids: &ids,
        };
        let s = Settings::new(&config, desk);
        let ann = Mailbox {
            name: None,
            address: Address::parse("ann@x.example").unwrap(),
        };
        let mut store = Store::open_in_memory().unwrap();
        let opened = t("2026-11-16T10:00:00+01:00");
        let n = store
            .write(|tx| {
                let n = tx.create_ticket(&NewTicket {
                    subject: "s",
                    ticket_type: "technical",
                    account: None,
                    requester: &ann,
                    at: opened,
                })?;
                opened_then_check(tx, &s, n, opened)?;
                Ok::<_, StoreError>(n)
            })
            .unwrap();
        let got = store.read().ticket(n).unwrap().unwrap();
        assert_eq!(
            got.next_deadline,
            Some(t("2026-11-18T10:00:00+01:00")),
            "staff warns on day 2"
        );

        // A note restarts the staff clock; a reply hands the ticket to the customer.
        let note_at = t("2026-11-17T09:00:00+01:00");
        let reply_at = t("2026-11-17T10:00:00+01:00");
        store
            .write(|tx| {
                let tr = staff_event(tx, &s, n, LifeEvent::StaffNote, "bob@desk.example", note_at)?;
                assert_eq!(tr.map(|t| t.to), Some(Status::New));
                let tr = staff_event(
                    tx,
                    &s,
                    n,
                    LifeEvent::StaffReply,
                    "bob@desk.example",
                    reply_at,
                )?;
                assert_eq!(tr.map(|t| t.to), Some(Status::WaitingForCustomer));
                // A second reply while waiting changes nothing.
                assert_eq!(
                    staff_event(
                        tx,
                        &s,
                        n,
                        LifeEvent::StaffReply,
                        "bob@desk.example",
                        reply_at
                    )?,
                    None
                );
                Ok::<_, StoreError>(())
            })
            .unwrap();
        let got = store.read().ticket(n).unwrap().unwrap();
        assert_eq!(got.status, Status::WaitingForCustomer);
        assert_eq!(got.waiting_since, Some(reply_at));
        assert_eq!(
            got.next_deadline,
            Some(t("2026-11-26T10:00:00+01:00")),
            "7 business days"
        );
        assert!(store.read().ticket_outbox(n).unwrap().is_empty(), "no mail");
        let events = store.read().events(n).unwrap();
        let last = events.last().unwrap();
        assert_eq!(last.actor, "bob@desk.example");
        assert!(
            last.detail
                .starts_with("new → waiting-for-customer: a staff reply"),
            "{}",
            last.detail
        );
    }

    /// Stores message `text` on ticket `n` with its history event, as the
    /// customer's or (with a role) the staff side's.
    fn message(tx: &mut Tx<'_>, n: TicketId, text: &str, role: Option<MessageRole>) -> i64 {
        let inbound = crate::parse::Inbound {
            message_id: format!("{}@customer.example", text.replace(' ', "-")),
            content_hash: text.to_string(),
            new_text: text.to_string(),
            from: Some(Mailbox {
                name: Some("Ann".into()),
                address: Address::parse("ann@x.example").unwrap(),
            }),
            ..Default::default()
        };
        let at = t("2026-11-16T10:00:00+01:00");
        let id = tx
            .insert_message(&crate::store::NewMessage {
                raw: b"raw",
                inbound: &inbound,
                source: "test",
                ticket: Some(n),
                received_at: at,
            })
            .unwrap();
        if let Some(role) = role {
            tx.set_message_role(id, role, Some(text), Some("Bob"))
                .unwrap();
        }
        let e = Event {
            at,
            kind: EventKind::MessageIn,
            actor: "ann@x.example".into(),
            detail: String::new(),
            message: Some(id),
            outbox: None,
        };
        tx.add_event(n, &e).unwrap();
        id
    }

    #[test]
    fn mails_carry_the_newest_entries_of_their_sides_history() {
        let cal = Config::from_toml(
            "[calendar]\ntimezone = \"Europe/Paris\"",
            "t",
            std::path::Path::new("/"),
        )
        .unwrap()
        .calendar;
        let mut store = Store::open_in_memory().unwrap();
        let ann = Mailbox {
            name: None,
            address: Address::parse("ann@x.example").unwrap(),
        };
        // Twelve messages; a staff note after the sixth, a change after the ninth.
        let (n, last) = store
            .write(|tx| {
                let n = tx.create_ticket(&NewTicket {
                    subject: "s",
                    ticket_type: "technical",
                    account: None,
                    requester: &ann,
                    at: t("2026-11-16T10:00:00+01:00"),
                })?;
                let mut last = 0;
                for i in 0..12 {
                    last = message(tx, n, &format!("message {i}"), None);
                    if i == 5 {
                        message(tx, n, "secret note", Some(MessageRole::StaffNote));
                    }
                    if i == 8 {
                        let change = Event {
                            at: t("2026-11-16T11:00:00+01:00"),
                            kind: EventKind::StatusChange,
                            actor: "x".into(),
                            detail: "new → in-progress: a reply".into(),
                            message: None,
                            outbox: None,
                        };
                        tx.add_event(n, &change)?;
                    }
                }
                Ok::<_, StoreError>((n, last))
            })
            .unwrap();
        let r = store.read();
        let ticket = r.ticket(n).unwrap().unwrap();
        let view = |side, skip, extent| view_for(&r, &cal, &ticket, side, skip, extent).unwrap();
        let has = |v: &TicketView, what: &str| v.history.contains(what);

        // The customer side: the newest three of its 13 entries.
        let v = view(Side::Customer, None, Extent::Newest(3));
        assert!(
            has(&v, "message 9") && has(&v, "message 11"),
            "{}",
            v.history
        );
        assert!(!has(&v, "message 8") && !has(&v, "in-progress"));
        assert_eq!(v.earlier, 10);
        assert!(v.latest.contains("message 11"), "{}", v.latest);
        assert_eq!(
            v.references,
            ["message-0@customer.example", "message-11@customer.example"]
        );
        // The staff side (14 entries), the message on top left out of it.
        let v = view(Side::Staff, Some(last), Extent::Newest(3));
        assert!(has(&v, "status: new → in-progress") && has(&v, "message 10"));
        assert!(!has(&v, "message 11"), "shown on top: {}", v.history);
        assert_eq!(v.earlier, 10);
        // The close notice: all of it inline, the note for staff only…
        let whole = |inline_max| Extent::Whole {
            newest: 3,
            inline_max,
        };
        let v = view(Side::Customer, None, whole(1 << 20));
        assert!(has(&v, "message 0") && has(&v, "message 11"));
        assert!(!has(&v, "secret note"), "{}", v.history);
        assert_eq!((v.earlier, v.attached_history.is_none()), (0, true));
        // …or attached when longer than the cap, the newest inline.
        let v = view(Side::Staff, None, whole(100));
        let file = v.attached_history.as_deref().unwrap();
        assert!(file.contains("message 0") && file.contains("Bob (staff, internal note)"));
        assert!(!has(&v, "message 8") && has(&v, "message 11"));
        assert_eq!(v.earlier, 11);
    }

    fn opened_then_check(
        tx: &mut Tx<'_>,
        s: &Settings<'_>,
        n: TicketId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        opened(tx, s, n, at)?;
        let got = tx.read().ticket(n)?.unwrap();
        assert_eq!(got.waiting_since, Some(at));
        Ok(())
    }
}
