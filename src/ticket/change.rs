//! change: carries out the decisions of `lifecycle` inside the caller's
//! transaction — the status, the inactivity timers (and so the indexed
//! next deadline), the history line with who and why, and the mail the
//! change causes, queued in the same transaction (DESIGN invariant 2).
//!
//! Callers: `apply` (a customer's message), `sweep` (warnings and closes),
//! the operator's `postdesk ticket …` commands, and staff replies, notes and
//! commands by mail (`apply::staff`). Lifecycle mail is automatic mail: `Auto-Submitted:
//! auto-generated`, and passes the one gate of automatic mail,
//! [`gate::answer_refusal`]: never sent to the sender of a ticket a robot
//! opened, nothing during a silent import, and counted in
//! `intake.max_auto_replies_per_day` (which refuses it to a customer address
//! over the limit; the staff notification addresses are the desk's own and
//! are never limited). The customer side's mail is in the language of the
//! ticket's account (else `service.default_language`); the staff side's in
//! `service.default_language`.

use chrono::{DateTime, Utc};

use super::Settings;
use super::notices::{Author, Cause, Sides, changed_fields, closed_fields, flag, notify};
use crate::domain::lifecycle::{self, Decision, LifecycleEvent, Plan, Side, Transition};
use crate::domain::{Mailbox, Status, TicketId};
use crate::outbox::template::span_words;
use crate::store::{EventKind, HistoryEvent, StoreError, Ticket, Timers, Tx};

#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("no ticket #{0}")]
    NoTicket(TicketId),
    #[error("ticket #{0}: {1}")]
    Refused(TicketId, String),
    #[error("unknown ticket type {0:?}; this desk has: {1} (service.ticket_types)")]
    UnknownType(String, String),
    #[error("no queue \"{0}\"; this desk has: {1}")]
    UnknownQueue(String, String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An operator's (or staff member's) command on a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TicketChange {
    SetStatus(Status),
    Close,
    Reopen,
    SetType(String),
    /// Move to the queue of this name (`#queue`, `ticket set-queue`).
    SetQueue(String),
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
        LifecycleEvent::CustomerMessage {
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
        LifecycleEvent::CustomerMessage {
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

/// Staff activity on ticket `n` by `who` — `LifecycleEvent::StaffReply` (an answer
/// relayed to the customer) or `LifecycleEvent::StaffNote` — moves its status and
/// clock by the table. It queues no mail: the reply itself is the mail.
/// For the staff-mail stage; returns the transition made, if any.
pub fn staff_event(
    tx: &mut Tx<'_>,
    s: &Settings<'_>,
    n: TicketId,
    event: LifecycleEvent,
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
        LifecycleEvent::StaffReply => "a staff reply",
        LifecycleEvent::StaffNote => "a staff note",
        _ => "staff",
    };
    transition(tx, s, &t, tr, &Cause::Staff { who, what }, at)?;
    Ok(Some(tr))
}

/// A staff answer reached the customer side of ticket `n` after its
/// commands set the status: the clock of whoever the ticket now waits for
/// starts from the answer (the customer's promised time counts from our
/// latest answer). Nothing happens to a ticket that waits for nobody.
pub fn answered(
    tx: &mut Tx<'_>,
    s: &Settings<'_>,
    n: TicketId,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let t = reload(tx, n)?;
    if lifecycle::waits_for(t.status).is_none() || t.waiting_since == Some(at) {
        return Ok(());
    }
    tx.set_timers(n, &timers_for(s, t.status, Some(at), 0, at))
}

/// An operator's command on ticket `n`, with its mail to both sides.
pub fn command(
    tx: &mut Tx<'_>,
    s: &Settings<'_>,
    n: TicketId,
    cmd: &TicketChange,
    author: Author<'_>,
    at: DateTime<Utc>,
) -> Result<Done, ChangeError> {
    let made = command_quiet(tx, s, n, cmd, author, at)?;
    let (mails, skipped) = made.notify(tx, s, Sides::BOTH, at)?;
    Ok(Done {
        ticket: n,
        change: made.label(),
        mails,
        skipped,
    })
}

/// A command on ticket `n` carried out, its notices not sent yet: the
/// caller tells of it in a mail of its own (a staff reply tells the
/// customer what changed), and sends [`Made::notify`] to the sides it
/// did not tell.
pub fn command_quiet<'a>(
    tx: &mut Tx<'_>,
    s: &Settings<'_>,
    n: TicketId,
    cmd: &TicketChange,
    author: Author<'a>,
    at: DateTime<Utc>,
) -> Result<Made<'a>, ChangeError> {
    let t = tx.read().ticket(n)?.ok_or(ChangeError::NoTicket(n))?;
    let s = &s.for_ticket(&t);
    let event = match cmd {
        TicketChange::SetQueue(name) => {
            let to = set_queue(tx, s, &t, name, author, at)?;
            return Ok(Made {
                before: t,
                author,
                what: MadeKind::Queue(to),
            });
        }
        TicketChange::SetType(ty) => {
            set_type(tx, s, &t, ty, author, at)?;
            return Ok(Made {
                before: t,
                author,
                what: MadeKind::Type(ty.clone()),
            });
        }
        TicketChange::SetStatus(st) => LifecycleEvent::SetStatus(*st),
        TicketChange::Close => LifecycleEvent::Close,
        TicketChange::Reopen => LifecycleEvent::Reopen,
    };
    let tr = match lifecycle::decide(t.status, event) {
        Decision::Apply(tr) => tr,
        Decision::Refuse(why) => return Err(ChangeError::Refused(n, why)),
        // Commands never open a new ticket; only a customer's reply does.
        Decision::Keep | Decision::NewTicket => {
            return Err(ChangeError::Refused(
                n,
                format!("nothing to do: it is {} already", t.status),
            ));
        }
    };
    transition(tx, s, &t, tr, &Cause::Operator(author), at)?;
    Ok(Made {
        before: t,
        author,
        what: MadeKind::Status(tr),
    })
}

/// A change a command made, whose notices may still be sent.
#[derive(Debug, Clone)]
pub struct Made<'a> {
    /// The ticket before the change.
    before: Ticket,
    author: Author<'a>,
    what: MadeKind,
}

#[derive(Debug, Clone)]
enum MadeKind {
    Status(Transition),
    Type(String),
    /// The queue's name.
    Queue(String),
}

impl Made<'_> {
    /// Whether the change set the ticket's status (rather than its type).
    pub fn sets_status(&self) -> bool {
        matches!(self.what, MadeKind::Status(_))
    }

    /// `in-progress → closed`, `type technical → billing`.
    pub fn label(&self) -> String {
        match &self.what {
            MadeKind::Status(tr) => format!("{} → {}", self.before.status, tr.to),
            MadeKind::Type(ty) => format!("type {} → {ty}", self.before.ticket_type),
            MadeKind::Queue(q) => format!("queue {} → {q}", self.before.queue),
        }
    }

    /// Sends the change's notice ("changed", or "closed" for a close) to
    /// `sides`; returns the outbox rows and the mails not sent.
    pub fn notify(
        &self,
        tx: &mut Tx<'_>,
        s: &Settings<'_>,
        sides: Sides,
        at: DateTime<Utc>,
    ) -> Result<(Vec<i64>, Vec<String>), StoreError> {
        if sides == Sides::NONE {
            return Ok((Vec::new(), Vec::new()));
        }
        let t = &self.before;
        let after = reload(tx, t.number)?;
        // The notices leave from the ticket's queue as it is now: after a
        // move, the new team is told and the customer hears from the new
        // address.
        let s = &s.for_ticket(&after);
        let cause = Cause::Operator(self.author);
        match &self.what {
            MadeKind::Queue(q) => {
                let from = s
                    .queue_named(&t.queue)
                    .map_or(t.queue.as_str(), |d| &d.queue.display_name);
                let to = s
                    .queue_named(q)
                    .map_or(q.as_str(), |d| &d.queue.display_name);
                let fields = |lang, side| {
                    let sp = s.speech(lang);
                    let mut fields = changed_fields(&sp, side, t, &after, &cause, false);
                    fields.retain(|(k, _)| *k != "change");
                    fields.push(("change", format!("{} {from} → {to}", sp.queue_field())));
                    fields
                };
                notify(tx, s, &after, ("changed", sides), &fields, at)
            }
            MadeKind::Type(ty) => {
                let fields = |lang, side| {
                    let sp = s.speech(lang);
                    let mut fields = changed_fields(&sp, side, t, &after, &cause, false);
                    fields.retain(|(k, _)| *k != "change");
                    let change = format!(
                        "{} {} → {}",
                        sp.field(true),
                        sp.ticket_type(&t.ticket_type),
                        sp.ticket_type(ty)
                    );
                    fields.push(("change", change));
                    fields
                };
                notify(tx, s, &after, ("changed", sides), &fields, at)
            }
            MadeKind::Status(tr) => {
                let closed = tr.to == Status::Closed;
                let fields = |lang, side| {
                    if closed {
                        closed_fields(s, lang, side, &after, &cause, at)
                    } else {
                        changed_fields(&s.speech(lang), side, t, &after, &cause, tr.reopened)
                    }
                };
                let kind = if closed { "closed" } else { "changed" };
                notify(tx, s, &after, (kind, sides), &fields, at)
            }
        }
    }
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
    let fields = |lang, _side| {
        let sp = s.speech(lang);
        let mut fields = vec![
            ("since", sp.date(plan.since)),
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
            fields.push(("close_at", sp.date(c.at)));
        }
        fields
    };
    let (mails, skipped) = notify(tx, s, t, ("warning", Sides::BOTH), &fields, at)?;
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
    let Decision::Apply(tr) = lifecycle::decide(t.status, LifecycleEvent::InactivityClose) else {
        return Ok(None);
    };
    let cause = Cause::Inactivity {
        side: plan.side,
        span: plan.close.and_then(|c| c.span),
    };
    transition(tx, s, t, tr, &cause, at)?;
    let after = reload(tx, t.number)?;
    let fields = |lang, side| closed_fields(s, lang, side, &after, &cause, at);
    let (mails, skipped) = notify(tx, s, &after, ("closed", Sides::BOTH), &fields, at)?;
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
            &HistoryEvent {
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

/// Sets the type of `t` to `ty`, with its history line; no mail.
fn set_type(
    tx: &mut Tx<'_>,
    s: &Settings<'_>,
    t: &Ticket,
    ty: &str,
    author: Author<'_>,
    at: DateTime<Utc>,
) -> Result<(), ChangeError> {
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
        &HistoryEvent {
            at,
            kind: EventKind::TypeChange,
            actor: cause.who(),
            detail: format!("{} → {ty}: {}", t.ticket_type, cause.why()),
            message: None,
            outbox: None,
        },
    )?;
    Ok(())
}

/// Moves `t` to the queue named `name`; returns the queue's name as the
/// config spells it. Its timers follow the new queue's rules.
fn set_queue(
    tx: &mut Tx<'_>,
    s: &Settings<'_>,
    t: &Ticket,
    name: &str,
    author: Author<'_>,
    at: DateTime<Utc>,
) -> Result<String, ChangeError> {
    let Some(q) = s.queue_named(name) else {
        let names: Vec<&str> = s.queues.iter().map(|q| q.queue.name.as_str()).collect();
        return Err(ChangeError::UnknownQueue(
            name.to_string(),
            names.join(", "),
        ));
    };
    let to = q.queue.name.clone();
    if crate::domain::queue::same_name(&t.queue, &to) {
        return Err(ChangeError::Refused(
            t.number,
            format!("it is in queue {to} already"),
        ));
    }
    tx.set_ticket_queue(t.number, &to)?;
    let cause = Cause::Operator(author);
    tx.add_event(
        t.number,
        &HistoryEvent {
            at,
            kind: EventKind::Note,
            actor: cause.who(),
            detail: format!("queue {} → {to}: {}", t.queue, cause.why()),
            message: None,
            outbox: None,
        },
    )?;
    refresh_deadline(tx, &s.for_queue(q), &reload(tx, t.number)?)?;
    Ok(to)
}

pub fn reload(tx: &Tx<'_>, n: TicketId) -> Result<Ticket, StoreError> {
    tx.read()
        .ticket(n)?
        .ok_or_else(|| StoreError::Corrupt(format!("ticket #{n} vanished inside its transaction")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::domain::Address;
    use crate::outbox::compose::{Desk, TicketView};
    use crate::outbox::template::Templates;
    use crate::store::MessageRole;
    use crate::store::{NewTicket, Store};
    use crate::thread::Token;
    use crate::ticket::history::*;

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
        let templates = Templates::load(&[]).unwrap();
        let ids = crate::domain::msgid::MessageIds::new([1; 32], "x.example");
        let desk = Desk {
            name: "Desk",
            address: &config.service.address,
            token: &token,
            templates: &templates,
            ids: &ids,
            keys: None,
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

        // A note moves nothing; a reply hands the ticket to the customer.
        let note_at = t("2026-11-17T09:00:00+01:00");
        let reply_at = t("2026-11-17T10:00:00+01:00");
        store
            .write(|tx| {
                let tr = staff_event(
                    tx,
                    &s,
                    n,
                    LifecycleEvent::StaffNote,
                    "bob@desk.example",
                    note_at,
                )?;
                assert_eq!(tr, None, "a note is no answer");
                let tr = staff_event(
                    tx,
                    &s,
                    n,
                    LifecycleEvent::StaffReply,
                    "bob@desk.example",
                    reply_at,
                )?;
                assert_eq!(tr.map(|t| t.to), Some(Status::WaitingForCustomer));
                // A second reply while waiting restarts the customer's clock.
                let tr = staff_event(
                    tx,
                    &s,
                    n,
                    LifecycleEvent::StaffReply,
                    "bob@desk.example",
                    reply_at,
                )?;
                assert!(tr.is_some_and(|t| t.restart_clock));
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
        let e = HistoryEvent {
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
                        let change = HistoryEvent {
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
        let types = Default::default();
        let sp = crate::domain::words::Speech {
            lang: crate::domain::Language::En,
            calendar: &cal,
            types: &types,
        };
        let view = |side, skip, extent| view_for(&r, &sp, &ticket, side, skip, extent).unwrap();
        let has = |v: &TicketView, what: &str| v.history.contains(what);

        // The customer side: the newest three of its 13 entries.
        let v = view(Side::Customer, None, Extent::Newest(3));
        assert!(
            has(&v, "message 9") && has(&v, "message 11"),
            "{}",
            v.history
        );
        assert!(!has(&v, "message 8") && !has(&v, "in progress"));
        assert_eq!(v.earlier, 10);
        assert!(v.latest.contains("message 11"), "{}", v.latest);
        assert_eq!(
            v.references,
            ["message-0@customer.example", "message-11@customer.example"]
        );
        // The staff side (14 entries), the message on top left out of it.
        let v = view(Side::Staff, Some(last), Extent::Newest(3));
        assert!(has(&v, "status: new → in progress") && has(&v, "message 10"));
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
