//! digest: the staff side's daily digest (`[schedule] digest`), so that
//! nothing waits unseen — open tickets waiting for staff (priority first,
//! then the oldest), mail held or quarantined in the last day, held mail
//! whose confirmation code expired unused (each told once, see `holds`),
//! requests waiting for an account's primary address, mail that could not
//! be delivered, and mail sources whose rounds keep failing. One mail to
//! the staff notification addresses, in the desk's language; none when
//! every list is empty. Staff-side mail only: it never goes to a
//! customer-side address (invariant 7).

use chrono::{DateTime, Duration, Utc};

use super::Settings;
use crate::domain::Address;
use crate::domain::words::Speech;
use crate::outbox::compose::{self, Recipient};
use crate::outbox::gate;
use crate::store::{OutboxState, Reader, StoreError, Ticket, Tx};

/// At most this many lines per list; the rest are counted.
const LIST_MAX: usize = 50;

/// The digest's lists, each line ready for the mail.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Digest {
    pub waiting: Vec<String>,
    /// Tickets waiting for staff beyond those listed.
    pub more_waiting: u64,
    pub held: Vec<String>,
    /// Held mail (no ticket's token) whose code expired unused, and the
    /// verification rows to mark told when the digest is queued.
    pub expired: Vec<String>,
    pub expired_rows: Vec<i64>,
    pub proofs: Vec<String>,
    pub failures: Vec<String>,
    /// Sources whose rounds fail since their last success (issue 18's
    /// `source_health`), so a mailbox failing in silence is seen.
    pub sources: Vec<String>,
}

impl Digest {
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
            && self.held.is_empty()
            && self.expired.is_empty()
            && self.proofs.is_empty()
            && self.failures.is_empty()
            && self.sources.is_empty()
    }
}

/// What one digest mail covers: the tickets waiting of one queue (or of
/// all), and whether it carries the desk-wide lists (held mail, proof
/// requests, undelivered mail, failing sources).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope<'q> {
    /// `None`: every queue's tickets; `Some(None)`: no ticket at all.
    pub waiting: Option<Option<&'q str>>,
    pub desk_wide: bool,
}

impl Scope<'_> {
    /// The whole desk in one mail (a desk without `[[queue]]`s).
    pub const ALL: Scope<'static> = Scope {
        waiting: None,
        desk_wide: true,
    };
}

/// What the digest at `now` says for `scope`, in the language of `sp`.
pub fn gather(
    tx: &Tx<'_>,
    s: &Settings<'_>,
    sp: &Speech<'_>,
    now: DateTime<Utc>,
    scope: Scope<'_>,
) -> Result<Digest, StoreError> {
    let read = tx.read();
    let (tickets, count) = match scope.waiting {
        None => read.waiting_for_staff(None, LIST_MAX)?,
        Some(Some(q)) => read.waiting_for_staff(Some(q), LIST_MAX)?,
        Some(None) => (Vec::new(), 0),
    };
    if !scope.desk_wide {
        return Ok(Digest {
            more_waiting: count.saturating_sub(tickets.len() as u64),
            waiting: waiting_lines(&read, &tickets, s, sp)?,
            ..Digest::default()
        });
    }
    let waiting = waiting_lines(&read, &tickets, s, sp)?;
    let held = read
        .held_since(now - Duration::days(1), LIST_MAX)?
        .iter()
        .map(|q| {
            format!(
                "  {}  {}  {}\n      {}",
                q.id,
                q.from.as_deref().unwrap_or("?"),
                compose::shorten(q.subject.as_deref().unwrap_or(""), 80),
                compose::shorten(&q.reason, 200)
            )
        })
        .collect();
    let (expired, expired_rows) = super::holds::digest_lines(tx, s, now, LIST_MAX)?;
    let proofs = read
        .pending_proof_requests(now, LIST_MAX)?
        .iter()
        .map(|p| {
            format!(
                "  {}  {}  ({}, {})",
                s.desk.token.format(p.ticket),
                p.primary,
                p.asked_by,
                sp.date(p.expires)
            )
        })
        .collect();
    let failures = read
        .outbox(Some(OutboxState::Failed), LIST_MAX)?
        .iter()
        .map(|m| {
            format!(
                "  {}  {}  {}\n      {}",
                m.id,
                m.rcpt.join(", "),
                compose::shorten(&m.subject, 80),
                compose::shorten(m.last_error.as_deref().unwrap_or(""), 200)
            )
        })
        .collect();
    let sources = read
        .source_health()?
        .iter()
        .filter_map(|h| {
            let since = h.failing_since?;
            Some(format!(
                "  {}  {}, {}×\n      {}",
                h.source,
                sp.date(since),
                h.failures,
                compose::shorten(h.last_error.as_deref().unwrap_or(""), 200)
            ))
        })
        .take(LIST_MAX)
        .collect();
    Ok(Digest {
        sources,
        more_waiting: count.saturating_sub(waiting.len() as u64),
        waiting,
        held,
        expired,
        expired_rows,
        proofs,
        failures,
    })
}

/// Queues the digest at `now` to the staff side; returns the outbox rows.
/// A desk without `[[queue]]`s sends one mail to the staff notification
/// addresses, as always. With queues, each queue's team gets the tickets
/// of its queue, in the queue's name and language; the desk-wide lists go
/// in one more mail to the desk's staff notification addresses, because
/// held mail, proof requests, undelivered mail and failing sources are not
/// recorded per queue (held mail has no ticket yet), and sending them to
/// every team would tell each team what it cannot act on.
pub fn send(tx: &mut Tx<'_>, s: &Settings<'_>, now: DateTime<Utc>) -> Result<Vec<i64>, StoreError> {
    let staff = s.staff.recipients();
    if s.queues.len() < 2 {
        return Ok(send_one(tx, s, &staff, now, Scope::ALL)?
            .into_iter()
            .collect());
    }
    let mut sent = Vec::new();
    for q in s.queues {
        let scope = Scope {
            waiting: Some(Some(&q.queue.name)),
            desk_wide: false,
        };
        sent.extend(send_one(tx, &s.for_queue(q), &q.queue.team, now, scope)?);
    }
    let scope = Scope {
        waiting: Some(None),
        desk_wide: true,
    };
    sent.extend(send_one(tx, s, &staff, now, scope)?);
    Ok(sent)
}

/// Queues one digest of `scope` to `to`, unless it is empty or `to` is.
fn send_one(
    tx: &mut Tx<'_>,
    s: &Settings<'_>,
    to: &[Address],
    now: DateTime<Utc>,
    scope: Scope<'_>,
) -> Result<Option<i64>, StoreError> {
    if to.is_empty() {
        return Ok(None);
    }
    let sp = s.speech(s.language);
    let d = gather(tx, s, &sp, now, scope)?;
    if d.is_empty()
        || gate::answer_refusal(tx, &s.answer, now, Recipient::Staff(to), None)?.is_some()
    {
        return Ok(None);
    }
    // One Message-ID per mail of the same instant: a queue's is its own.
    let at = match scope.waiting {
        Some(Some(q)) => format!("{}/{q}", now.to_rfc3339()),
        _ => now.to_rfc3339(),
    };
    let mut waiting = d.waiting.join("\n");
    if d.more_waiting > 0 {
        waiting.push_str(&format!("\n  … +{}", d.more_waiting));
    }
    let (held, expired, proofs, failures, sources) = (
        d.held.join("\n"),
        d.expired.join("\n"),
        d.proofs.join("\n"),
        d.failures.join("\n"),
        d.sources.join("\n"),
    );
    let mail = compose::digest(
        &s.desk,
        s.language,
        to,
        (&at, &sp.day(now)),
        &[
            ("waiting", &waiting),
            ("held", &held),
            ("expired", &expired),
            ("proofs", &proofs),
            ("failures", &failures),
            ("sources", &sources),
        ],
        now,
    );
    let id = tx.queue_mail(&mail.queued(None, true, s.desk.address, now))?;
    // Told in this mail: no later digest tells them again.
    for v in &d.expired_rows {
        tx.tell_hold_expired(*v, now)?;
    }
    Ok(Some(id))
}

/// The lines of the tickets waiting for staff. An encrypted ticket's
/// subject never leaves in clear (issue 16; the digest is no ticket's
/// mail, so `outbox::seal` never sees it): its token only, as `#search`.
fn waiting_lines(
    read: &Reader<'_>,
    tickets: &[Ticket],
    s: &Settings<'_>,
    sp: &Speech<'_>,
) -> Result<Vec<String>, StoreError> {
    tickets
        .iter()
        .map(|t| {
            let since = t.waiting_since.unwrap_or(t.created);
            let subject = if read.ticket_encrypted(t.number)? {
                "(encrypted)".to_string()
            } else {
                compose::shorten(&t.subject, 80).to_string()
            };
            Ok(format!(
                "  {}{} {} — {}, {}",
                s.desk.token.format(t.number),
                if t.priority { " [priority]" } else { "" },
                subject,
                sp.status(t.status),
                sp.date(since)
            ))
        })
        .collect()
}
