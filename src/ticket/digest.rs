//! digest: the staff side's daily digest (`[schedule] digest`), so that
//! nothing waits unseen — open tickets waiting for staff (priority first,
//! then the oldest), mail held or quarantined in the last day, requests
//! waiting for an account's primary address, mail that could not be
//! delivered, and mail sources whose rounds keep failing. One mail to the staff notification addresses, in the desk's
//! language; none when every list is empty. Staff-side mail only: it never
//! goes to a customer-side address (invariant 7).

use chrono::{DateTime, Duration, Utc};

use super::Settings;
use crate::domain::words::Speech;
use crate::outbox::compose::{self, Recipient};
use crate::outbox::gate;
use crate::store::{OutboxState, StoreError, Tx};

/// At most this many lines per list; the rest are counted.
const LIST_MAX: usize = 50;

/// The digest's lists, each line ready for the mail.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Digest {
    pub waiting: Vec<String>,
    /// Tickets waiting for staff beyond those listed.
    pub more_waiting: u64,
    pub held: Vec<String>,
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
            && self.proofs.is_empty()
            && self.failures.is_empty()
            && self.sources.is_empty()
    }
}

/// What the digest at `now` says, in the language of `sp`.
pub fn gather(
    tx: &Tx<'_>,
    s: &Settings<'_>,
    sp: &Speech<'_>,
    now: DateTime<Utc>,
) -> Result<Digest, StoreError> {
    let read = tx.read();
    let (tickets, count) = read.waiting_for_staff(LIST_MAX)?;
    let waiting = tickets
        .iter()
        .map(|t| {
            let since = t.waiting_since.unwrap_or(t.created);
            format!(
                "  {}{} {} — {}, {}",
                s.desk.token.format(t.number),
                if t.priority { " [priority]" } else { "" },
                compose::shorten(&t.subject, 80),
                sp.status(t.status),
                sp.date(since)
            )
        })
        .collect::<Vec<_>>();
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
        proofs,
        failures,
    })
}

/// Queues the digest at `now` to the staff side, unless every list is
/// empty or the staff side has no address; returns the outbox row.
pub fn send(
    tx: &mut Tx<'_>,
    s: &Settings<'_>,
    now: DateTime<Utc>,
) -> Result<Option<i64>, StoreError> {
    let to = s.staff.recipients();
    if to.is_empty() {
        return Ok(None);
    }
    let sp = s.speech(s.language);
    let d = gather(tx, s, &sp, now)?;
    if d.is_empty()
        || gate::answer_refusal(tx, &s.answer, now, Recipient::Staff(&to), None)?.is_some()
    {
        return Ok(None);
    }
    let mut waiting = d.waiting.join("\n");
    if d.more_waiting > 0 {
        waiting.push_str(&format!("\n  … +{}", d.more_waiting));
    }
    let (held, proofs, failures, sources) = (
        d.held.join("\n"),
        d.proofs.join("\n"),
        d.failures.join("\n"),
        d.sources.join("\n"),
    );
    let mail = compose::digest(
        &s.desk,
        s.language,
        &to,
        (&now.to_rfc3339(), &sp.day(now)),
        &[
            ("waiting", &waiting),
            ("held", &held),
            ("proofs", &proofs),
            ("failures", &failures),
            ("sources", &sources),
        ],
        now,
    );
    Ok(Some(tx.queue_mail(&mail.queued(
        None,
        true,
        s.desk.address,
        now,
    ))?))
}
