//! notices: the mail a change of a ticket causes — the customer side's
//! notices, the staff notification, the history line of what was not sent —
//! and who on a ticket gets which side's mail.

use chrono::{DateTime, Utc};

use super::Settings;
use super::history::view_for;
use crate::domain::calendar::Span;
use crate::domain::lifecycle::Side;
use crate::domain::words::Speech;
use crate::domain::{Address, Mailbox, TicketId};
use crate::domain::{Language, choose_language};
use crate::outbox::compose::{self, Notice, Outgoing, Recipient, TicketView};
use crate::outbox::gate::{self};
use crate::outbox::template::span_words;
use crate::store::{EventKind, HistoryEvent, Reader, RuleRow, StoreError, Ticket, Tx};

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

pub(crate) fn flag(b: bool) -> String {
    if b { "yes".into() } else { String::new() }
}

pub(crate) fn changed_fields(
    sp: &Speech<'_>,
    side: Side,
    before: &Ticket,
    after: &Ticket,
    cause: &Cause<'_>,
    reopened: bool,
) -> Vec<(&'static str, String)> {
    let reason = match cause {
        Cause::Operator(a) => sp.reason(a.reason.unwrap_or_default()),
        _ => String::new(),
    };
    vec![
        (
            "change",
            format!(
                "{} {} → {}",
                sp.field(false),
                sp.status(before.status),
                sp.status(after.status)
            ),
        ),
        ("by", cause.shown_by(sp, side)),
        ("reason", reason),
        ("reopened", flag(reopened)),
    ]
}

pub(crate) fn closed_fields(
    s: &Settings<'_>,
    lang: Language,
    side: Side,
    after: &Ticket,
    cause: &Cause<'_>,
    at: DateTime<Utc>,
) -> Vec<(&'static str, String)> {
    let sp = s.speech(lang);
    let mut fields = vec![
        ("by", cause.shown_by(&sp, side)),
        ("can_reopen", flag(s.reopen_window.is_some())),
        ("cannot_reopen", flag(s.reopen_window.is_none())),
    ];
    if let Some(w) = s.reopen_window {
        let closed = after.closed_at.unwrap_or(at);
        fields.push(("reopen_until", sp.date(closed + w)));
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
        // The customer's own #solved: they closed it, not "our team".
        Cause::Operator(a) if a.reason == Some(crate::domain::words::SOLVED_REASON) => {
            fields.push(("by_customer", "yes".into()));
        }
        Cause::Operator(a) => {
            fields.push(("by_operator", "yes".into()));
            fields.push(("reason", sp.reason(a.reason.unwrap_or_default())));
        }
        Cause::Staff { .. } => fields.push(("by_operator", "yes".into())),
        Cause::Customer(_) => {}
    }
    fields
}

/// Which sides of a ticket a notice goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sides {
    pub customer: bool,
    pub staff: bool,
}

impl Sides {
    pub const BOTH: Sides = Sides {
        customer: true,
        staff: true,
    };
    pub const NONE: Sides = Sides {
        customer: false,
        staff: false,
    };
}

/// Queues notice `kind` about ticket `t` to the customer side (one mail per
/// person, in that person's language, see [`customer_language`]) and the staff side (one
/// mail to every notify address, in the desk's language) — those of
/// `sides` — each through the gate of automatic mail and with its history
/// line. `fields` gives the template's fields in a language (a length is
/// written out in words). The newest message is shown on top of the
/// notice, so its history leaves it out. Returns the outbox rows and the
/// mails not sent.
pub(crate) fn notify(
    tx: &mut Tx<'_>,
    s: &Settings<'_>,
    t: &Ticket,
    (kind, sides): (&'static str, Sides),
    fields: &dyn Fn(Language, Side) -> Vec<(&'static str, String)>,
    at: DateTime<Utc>,
) -> Result<(Vec<i64>, Vec<String>), StoreError> {
    let extent = s.extent(kind);
    let seq = tx.read().last_event_id(t.number)?;
    let mut queued = Vec::new();
    let mut skipped = Vec::new();

    if sides.customer {
        let top = newest_message(&tx.read(), t, Side::Customer)?;
        let robot = tx
            .read()
            .first_message_class(t.number)?
            .is_some_and(|c| c.is_automatic());
        let no_answer = robot
            .then_some("the ticket was opened by an automatic message; it gets no automatic mail");
        let (people, left_out) = customer_side(tx, s, t.number)?;
        if let Some(line) = left_out_line(kind, &left_out) {
            note(tx, t.number, at, &line)?;
            skipped.push(line);
        }
        for person in people {
            let to = Recipient::Customer(&person);
            match gate::answer_refusal(tx, &s.answer, at, to, no_answer)? {
                Some(why) => {
                    let line = format!("no {kind} mail to {}: {why}", person.address);
                    note(tx, t.number, at, &line)?;
                    skipped.push(line);
                }
                None => {
                    let cause = format!("{seq}|{}", person.address.key());
                    let lang = customer_language(&tx.read(), s, t, Some(&person.address))?;
                    let view =
                        view_for(&tx.read(), &s.speech(lang), t, Side::Customer, top, extent)?;
                    let id = queue(
                        tx,
                        s,
                        &view,
                        kind,
                        lang,
                        &fields(lang, Side::Customer),
                        to,
                        &cause,
                        at,
                    )?;
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
    if !sides.staff {
        return Ok((queued, skipped));
    }
    let staff = staff_recipients(s, t);
    let to = Recipient::Staff(&staff);
    if staff.is_empty() {
        skipped.push(format!(
            "no {kind} mail to staff: [staff] has no notify address and no member"
        ));
    } else if let Some(why) = gate::answer_refusal(tx, &s.answer, at, to, None)? {
        let line = format!("no {kind} mail to staff: {why}");
        note(tx, t.number, at, &line)?;
        skipped.push(line);
    } else {
        // The staff side sees its internal notes in the history too.
        let top = newest_message(&tx.read(), t, Side::Staff)?;
        let staff_view = view_for(
            &tx.read(),
            &s.speech(s.language),
            t,
            Side::Staff,
            top,
            extent,
        )?;
        let cause = format!("{seq}|staff");
        let id = queue(
            tx,
            s,
            &staff_view,
            kind,
            s.language,
            &fields(s.language, Side::Staff),
            to,
            &cause,
            at,
        )?;
        queued.push(id);
    }
    Ok((queued, skipped))
}

/// The newest message of `side`'s history of `t`: a notice shows it on
/// top ("Newest message"), and its history does not repeat it.
fn newest_message(read: &Reader<'_>, t: &Ticket, side: Side) -> Result<Option<i64>, StoreError> {
    Ok(read
        .newest_history_message(t.number, side, 0)?
        .and_then(|e| e.message)
        .map(|m| m.id))
}

/// Where the staff side's mail about `t` goes: its queue's team (`[staff]
/// notify`, else every member, for a desk of one queue), and the member it
/// is assigned to.
pub fn staff_recipients(s: &Settings<'_>, t: &Ticket) -> Vec<Address> {
    let mut to = s.notify.to_vec();
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

/// The language of the customer side's mail about `t` to `to`: the
/// language of `to`'s own account, else of the ticket's account, else the
/// desk's default (the choice itself is [`choose_language`]).
pub fn customer_language(
    read: &Reader<'_>,
    s: &Settings<'_>,
    t: &Ticket,
    to: Option<&Address>,
) -> Result<Language, StoreError> {
    let own = match to {
        Some(a) => own_language(read, a)?,
        None => None,
    };
    let ticket = match &t.account {
        Some(account) => account_language(read, account)?,
        None => None,
    };
    Ok(choose_language(own, ticket, s.language))
}

/// People grouped by the language each reads (`lang_of`), in the order
/// the languages first appear: each group gets one mail in its language.
/// `first`: a language whose group leads even when nobody of `people`
/// reads it (a receipt's requester, who is not in `people`).
pub fn by_language<T: Clone>(
    first: Option<Language>,
    people: &[T],
    mut lang_of: impl FnMut(&T) -> Result<Language, StoreError>,
) -> Result<Vec<(Language, Vec<T>)>, StoreError> {
    let mut groups: Vec<(Language, Vec<T>)> = first.map(|l| (l, Vec::new())).into_iter().collect();
    for p in people {
        let l = lang_of(p)?;
        match groups.iter_mut().find(|(g, _)| *g == l) {
            Some((_, group)) => group.push(p.clone()),
            None => groups.push((l, vec![p.clone()])),
        }
    }
    Ok(groups)
}

/// The language of the account `address` is its own, if it has one.
pub fn own_language(read: &Reader<'_>, address: &Address) -> Result<Option<Language>, StoreError> {
    match own_account(&read.sender_rules(address)?) {
        Some(account) => account_language(read, account),
        None => Ok(None),
    }
}

fn account_language(read: &Reader<'_>, account: &str) -> Result<Option<Language>, StoreError> {
    Ok(read
        .account_brief(account)?
        .and_then(|b| b.language)
        .and_then(|l| Language::from_code(&l)))
}

/// The account an address is its own: the one whose primary address it
/// is, else the one that authorizes it by name, else by its domain, else
/// by a parent domain — the most specific rule wins (an ISP's own address
/// over a customer domain that also lets it in).
fn own_account(rules: &[RuleRow]) -> Option<&str> {
    let rank = |kind: &str| match kind {
        "primary" => 0,
        "address" => 1,
        "domain" => 2,
        _ => 3,
    };
    rules
        .iter()
        .min_by_key(|r| rank(&r.kind))
        .map(|r| r.account.as_str())
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn queue(
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
    // An encrypted ticket's mail leaves sealed, whatever its kind.
    let sealed;
    let mail = if tx.read().ticket_encrypted(n)? {
        let learned = crate::outbox::seal::learned_for(&tx.read(), mail)?;
        sealed = crate::outbox::seal::seal(&s.desk, mail, Some(n), s.language, &learned);
        &sealed
    } else {
        mail
    };
    let id = tx.queue_mail(&mail.queued(Some(n), automatic, s.desk.address, at))?;
    tx.add_event(
        n,
        &HistoryEvent {
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
        &HistoryEvent {
            at,
            kind: EventKind::Note,
            actor: "postdesk".into(),
            detail: detail.to_string(),
            message: None,
            outbox: None,
        },
    )
}

/// Why a status changes, for the history line and the mail's flags.
pub(crate) enum Cause<'a> {
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
    /// Who made the change, as a mail to `side` says it: the customer
    /// side reads "our team" for the desk's people (never an operator's
    /// login), the staff side who it was.
    pub(crate) fn shown_by(&self, sp: &Speech<'_>, side: Side) -> String {
        match self {
            Cause::Operator(_) | Cause::Staff { .. } if side == Side::Customer => {
                sp.our_team().to_string()
            }
            _ => self.who(),
        }
    }

    pub(crate) fn who(&self) -> String {
        match self {
            Cause::Customer(m) => m.address.to_string(),
            Cause::Operator(a) => a.who.to_string(),
            Cause::Staff { who, .. } => who.to_string(),
            Cause::Inactivity { .. } => "postdesk".into(),
        }
    }

    /// For the history, which is in English whatever the mail language.
    pub(crate) fn why(&self) -> String {
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

/// Who asks for a command, and why: both go into the history.
#[derive(Debug, Clone, Copy)]
pub struct Author<'a> {
    pub who: &'a str,
    pub reason: Option<&'a str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn people_are_grouped_by_language_in_order_of_first_appearance() {
        use Language::*;
        let lang = |p: &(&str, Language)| Ok(p.1);
        type Case<'a> = (
            Option<Language>,
            &'a [(&'a str, Language)],
            &'a [(Language, &'a [&'a str])],
        );
        #[rustfmt::skip]
        let cases: [Case<'_>; 4] = [
            (None, &[], &[]),
            (Some(En), &[], &[(En, &[])]),
            (Some(En), &[("a", Fr), ("b", En), ("c", Fr)], &[(En, &["b"]), (Fr, &["a", "c"])]),
            (None, &[("a", It), ("b", En), ("c", It)], &[(It, &["a", "c"]), (En, &["b"])]),
        ];
        for (first, people, want) in cases {
            let got = by_language(first, people, lang).unwrap();
            let got: Vec<(Language, Vec<&str>)> = got
                .into_iter()
                .map(|(l, g)| (l, g.into_iter().map(|p| p.0).collect()))
                .collect();
            let want: Vec<(Language, Vec<&str>)> =
                want.iter().map(|(l, g)| (*l, g.to_vec())).collect();
            assert_eq!(got, want, "{first:?} {people:?}");
        }
    }

    fn row(account: &str, kind: &str) -> RuleRow {
        RuleRow {
            account: account.into(),
            kind: kind.into(),
            pattern: String::new(),
        }
    }

    #[test]
    fn the_most_specific_rule_names_an_addresses_own_account() {
        #[rustfmt::skip]
        type Rows<'a> = &'a [(&'a str, &'a str)];
        let cases: &[(Rows, Option<&str>)] = &[
            (&[], None),
            (&[("child", "domain"), ("isp", "primary")], Some("isp")),
            (&[("child", "subdomains"), ("isp", "address")], Some("isp")),
            (
                &[("child", "domain"), ("other", "subdomains")],
                Some("child"),
            ),
            (&[("a", "address"), ("b", "address")], Some("a")),
        ];
        for (rows, want) in cases {
            let rows: Vec<RuleRow> = rows.iter().map(|(a, k)| row(a, k)).collect();
            assert_eq!(own_account(&rows), *want, "{rows:?}");
        }
    }
}
