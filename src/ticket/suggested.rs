//! suggested: a new ticket's mails that list suggestions — its staff
//! notification and, with `suggest_to_customer`, its receipt — composed
//! off intake's path. Intake notes them (a row in the ticket's own
//! transaction, sql/0017_notify_pending.sql); the daemon's indexer looks
//! the suggestions up, queues the mails and deletes the rows, in one
//! transaction per ticket (`relay::complete_waiting`), so a crash in
//! between loses nothing. Here: when a mail waits, and the receipt that
//! waited.

use chrono::{DateTime, Utc};

use super::Settings;
use crate::domain::{Address, Language, Mailbox};
use crate::outbox::compose;
use crate::store::{StoreError, Tx, WaitingMail};

/// Whether a new ticket's staff notification waits for its suggestions:
/// when the knowledge base is on and may suggest, and mail goes out at
/// all (a silent import sends nothing, later neither).
pub fn staff_waits(s: &Settings<'_>) -> bool {
    let k = s.knowledge;
    k.max_suggestions > 0 && (k.path.is_some() || k.learn_from_closed) && !s.answer.silent
}

/// Whether a new ticket's receipt waits for its articles
/// (`suggest_to_customer`, a folder of articles).
pub fn receipt_waits(s: &Settings<'_>) -> bool {
    let k = s.knowledge;
    k.suggest_to_customer && k.max_suggestions > 0 && k.path.is_some() && !s.answer.silent
}

/// The receipt that waited: as intake would have queued it (its gate was
/// passed then), with the articles above the stricter floor.
pub(super) fn receipt(
    tx: &mut Tx<'_>,
    s: &Settings<'_>,
    w: &WaitingMail,
    to: &Mailbox,
    (language, cc): (&str, &[String]),
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let n = w.ticket;
    let Ok(inbound) = crate::parse::parse(&w.raw, &s.limits) else {
        // It was read at intake: never expected. Said, not lost silently.
        let line = "no receipt: the message could not be read again for it";
        return super::note(tx, n, at, line);
    };
    let lang = Language::from_code(language).unwrap_or(s.language);
    let cc: Vec<Address> = cc.iter().filter_map(|a| Address::parse(a).ok()).collect();
    // Each delegate in their own language, as intake would have sent it.
    let t = super::reload(tx, n)?;
    let groups = {
        let read = tx.read();
        super::by_language(Some(lang), &cc, |d| {
            super::customer_language(&read, s, &t, Some(d))
        })?
    };
    for (i, (l, group)) in groups.iter().enumerate() {
        // A help, not the receipt's point: without them if the lookup fails.
        let lines = super::knowledge::receipt_lines(
            &tx.read(),
            s.knowledge,
            (&inbound.subject, &inbound.new_text),
            *l,
            n,
        )
        .unwrap_or_else(|e| {
            tracing::warn!(ticket = n.0, error = %e, "no suggested articles for a receipt");
            String::new()
        });
        let copy = if i == 0 { "" } else { l.as_str() };
        let mail = compose::receipt_copy(&s.desk, n, &inbound, (to, group), (*l, copy), &lines, at);
        let detail = match i {
            0 => format!("receipt queued to {}", to.address),
            _ => format!("receipt ({}) queued to {}", l.as_str(), list(group)),
        };
        super::queue_mail(tx, s, &mail, n, true, &detail, at)?;
    }
    Ok(())
}

fn list(addresses: &[Address]) -> String {
    let all: Vec<String> = addresses.iter().map(Address::to_string).collect();
    all.join(", ")
}
