//! holds: mail held for its sender's confirmation whose code expired
//! unused, told to staff exactly once. A hold that carried a ticket's token
//! is told on that ticket when the sweep finds it expired: a line in the
//! ticket's history and a short staff notice, because someone wrote about
//! a ticket the team works on and will not be heard unless staff act. A
//! stranger's new mail is told in the next digest (`digest`), as one line
//! among the day's: most of those are spam that never answers, and a mail
//! for each would teach the team to ignore them. The store marks each told
//! in the transaction that tells it, so a second sweep, a second digest or
//! a restart tells nothing more.

use chrono::{DateTime, Utc};

use super::Settings;
use super::relay::{self, Why};
use crate::domain::Address;
use crate::store::{ExpiredHold, StoreError, Tx};

/// Expired holds told per sweep: the rest wait for the next one.
pub const PER_SWEEP: usize = 100;

/// Tells the expired holds that carried a ticket's token, each on its
/// ticket; returns how many were told.
pub fn tell_on_tickets(
    tx: &mut Tx<'_>,
    s: &Settings<'_>,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let holds = tx.read().expired_holds(now, true, PER_SWEEP)?;
    for h in &holds {
        tell_on_ticket(tx, s, h, now)?;
        tx.tell_hold_expired(h.verification, now)?;
    }
    Ok(holds.len())
}

fn tell_on_ticket(
    tx: &mut Tx<'_>,
    s: &Settings<'_>,
    h: &ExpiredHold,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let Some(n) = h.ticket else { return Ok(()) };
    let Some(t) = tx.read().ticket(n)? else {
        return Ok(());
    };
    let from = h.from.as_deref().unwrap_or("?");
    let line = format!(
        "the mail from {from} held on this ticket was not confirmed: its code expired on {}; \
         it stays held (postdesk quarantine show {})",
        s.calendar.format(h.expired),
        h.quarantine
    );
    super::note(tx, n, now, &line)?;
    // An address the store kept is one we parsed; a row without one is
    // told in the history alone.
    let Ok(address) = Address::parse(from) else {
        return Ok(());
    };
    let s = s.for_ticket(&t);
    let why = Why::HeldExpired {
        from: &address,
        expired: h.expired,
    };
    relay::to_staff(tx, &s, n, why, None, now)?;
    Ok(())
}

/// The digest's lines of the expired holds that carried no ticket's
/// token, with their verification rows (to mark told once the digest is
/// queued).
pub fn digest_lines(
    tx: &Tx<'_>,
    s: &Settings<'_>,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<(Vec<String>, Vec<i64>), StoreError> {
    let holds = tx.read().expired_holds(now, false, limit)?;
    let sp = s.speech(s.language);
    let lines = holds
        .iter()
        .map(|h| {
            format!(
                "  {}  {}  {}\n      {}",
                h.quarantine,
                h.from.as_deref().unwrap_or("?"),
                crate::outbox::compose::shorten(h.subject.as_deref().unwrap_or(""), 80),
                sp.date(h.expired)
            )
        })
        .collect();
    Ok((lines, holds.iter().map(|h| h.verification).collect()))
}
