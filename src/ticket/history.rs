//! history: a ticket's history as the mails of both sides show it — the
//! newest entries in every mail, the whole of it (inline or attached) in
//! the close notice, each part shortened to its bound.

use crate::domain::Status;
use crate::domain::lifecycle::Side;
use crate::domain::words::Speech;
use crate::outbox::compose::{self, HISTORY_FILE_MAX, HISTORY_TEXT_MAX, QUOTE_MAX, TicketView};
use crate::store::{
    EventKind, HistoryEntry, HistoryKind, HistoryMessage, MessageRole, Reader, StoreError, Ticket,
};

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
/// top). In the language of `sp`: times in the desk's zone as the
/// language writes them, status and type by their names in it.
pub fn view_for(
    read: &Reader<'_>,
    sp: &Speech<'_>,
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
        Some(m) => message_block(sp, m, HISTORY_TEXT_MAX),
        // Only changes among the newest entries: the message before them.
        None => read
            .newest_history_message(t.number, side, HISTORY_TEXT_MAX)?
            .and_then(|e| e.message)
            .map(|m| message_block(sp, &m, HISTORY_TEXT_MAX))
            .unwrap_or_default(),
    };
    let before = entries.len();
    // The file of the whole history keeps the message shown on top: it is
    // the ticket's record (read again only for a close, once).
    let whole = (skip.is_some() && matches!(extent, Extent::Whole { .. })).then(|| entries.clone());
    if let Some(skip) = skip {
        entries.retain(|e| e.message.as_ref().is_none_or(|m| m.id != skip));
    }
    let skipped = (before - entries.len()) as u64;
    // Entries the store left out (beyond HISTORY_FILE_MAX) are older still.
    let older = total.saturating_sub(entries.len() as u64 + skipped);
    let (shown, attached) = history_text(sp, &entries, if complete { 0 } else { older }, extent);
    let attached = match (attached, whole) {
        (Some(_), Some(whole)) => {
            let older = if complete { 0 } else { older };
            history_text(sp, &whole, older, extent).1
        }
        (attached, _) => attached,
    };
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
        status_name: sp.status(t.status).to_string(),
        type_name: sp.ticket_type(&t.ticket_type).to_string(),
        created: sp.date(t.created),
        latest,
        history: shown.join("\n\n"),
        earlier,
        attached_history: attached,
        references,
        priority: t.priority,
    })
}

/// The history a mail shows inline, entry by entry, and the whole one to
/// attach when `extent` says so and it is too long to show: `entries` are
/// all the store read, `left_out` how many older ones it could not.
pub(crate) fn history_text(
    sp: &Speech<'_>,
    entries: &[HistoryEntry],
    left_out: u64,
    extent: Extent,
) -> (Vec<String>, Option<String>) {
    let lines = |entries: &[HistoryEntry], max: usize| -> Vec<String> {
        entries
            .iter()
            .filter_map(|e| entry_text(sp, e, max))
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
                n => format!("{}\n\n", sp.older_left_out(n)),
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
pub(crate) fn entry_text(sp: &Speech<'_>, e: &HistoryEntry, max: usize) -> Option<String> {
    match e.shown {
        HistoryKind::Change => {
            let type_change = e.kind == EventKind::TypeChange;
            Some(format!(
                "{}  {} {}",
                sp.date(e.at),
                sp.field(type_change),
                change_words(sp, arrow(&e.detail), type_change)
            ))
        }
        _ => e.message.as_ref().map(|m| message_block(sp, m, max)),
    }
}

/// `a → b` with each side named in the language of `sp`: statuses, or
/// types by their display names; anything else as stored.
fn change_words(sp: &Speech<'_>, arrow: &str, type_change: bool) -> String {
    let name = |w: &str| -> String {
        let w = w.trim();
        match (type_change, w.parse::<Status>()) {
            (true, _) => sp.ticket_type(w).to_string(),
            (false, Ok(st)) => sp.status(st).to_string(),
            (false, Err(_)) => w.to_string(),
        }
    };
    match arrow.split_once(" → ") {
        Some((a, b)) => {
            // "closed (reopened)": the status, then the stored note.
            let (b, rest) = b.split_once(' ').unwrap_or((b, ""));
            let rest = if rest.is_empty() {
                String::new()
            } else {
                format!(" {rest}")
            };
            format!("{} → {}{rest}", name(a), name(b))
        }
        None => arrow.to_string(),
    }
}

/// A message in a history: when, who, and its text four spaces in, at
/// most `max` bytes of it.
pub(crate) fn message_block(sp: &Speech<'_>, m: &HistoryMessage, max: usize) -> String {
    let staff = m.shown_from.as_deref().filter(|n| !n.trim().is_empty());
    let from = match (m.role, staff, &m.from_name, &m.from) {
        (MessageRole::StaffNote, Some(n), ..) => format!("{n} {}", sp.note_mark()),
        (MessageRole::StaffNote, None, ..) => sp.note_mark().to_string(),
        (_, Some(n), ..) if m.role.is_staff() => format!("{n} {}", sp.staff_mark()),
        (_, _, Some(name), Some(addr)) if !name.trim().is_empty() => {
            format!("{} <{addr}>", compose::display_name(name))
        }
        (_, _, _, Some(addr)) => addr.clone(),
        _ => "?".to_string(),
    };
    let text = compose::shorten_known(&m.text, max, m.text_bytes);
    format!(
        "{}  {from}\n{}",
        sp.date(m.received_at),
        compose::indent_by(&text, "    ")
    )
}

/// The `a → b` part of a change's detail (`a → b: why`).
pub(crate) fn arrow(detail: &str) -> &str {
    detail.split_once(": ").map_or(detail, |(a, _)| a)
}

/// A customer's text as a mail quotes it: four spaces in, at most
/// [`QUOTE_MAX`] bytes of it (then the mark).
pub fn indent(text: &str) -> String {
    compose::indent_by(&compose::shorten(text, QUOTE_MAX), "    ")
}
