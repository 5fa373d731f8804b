//! gate: the one place that decides whether a mail of ours may go to an
//! address now — every automatic mail passes [`answer_refusal`], every
//! relay of a person's answer [`relay_refusal`]. The last defence against
//! mail loops and against sending to ourselves.

use chrono::{DateTime, Duration, Utc};

use crate::config::Staff;
use crate::domain::{Address, MatchOptions};
use crate::outbox::compose::Recipient;
use crate::store::{StoreError, Tx};

/// What the gate of automatic mail ([`answer_refusal`]) goes by.
#[derive(Debug, Clone, Copy)]
pub struct AnswerRules<'a> {
    /// The desk's own addresses: never sent any mail.
    pub own: &'a [Address],
    /// The staff side: its addresses are the desk's own too, and get no
    /// customer-side mail.
    pub staff: &'a Staff,
    pub matching: MatchOptions,
    /// `intake.max_auto_replies_per_day`: automatic mails to one customer
    /// address in 24 hours.
    pub max_per_day: u32,
    /// Send no automatic mail at all (`ingest --no-receipts`, an archive).
    pub silent: bool,
}

/// Why no automatic mail may go to `to` now, if that is so — the one gate
/// of every automatic mail postdesk sends (receipt, confirmation request,
/// refusal, self-service answer, size notice, and the lifecycle's warning,
/// close and "ticket changed" notices): `no_answer` (the message is
/// automatic, or from ourselves; the ticket was opened by a robot), an
/// import that sends nothing, our own addresses (the support address, and
/// for customer-side mail the staff's addresses), and the daily limit per
/// customer address, the last line of defence against a loop with a robot
/// our header checks did not recognise. The staff side's notification
/// addresses are the desk's own: counted, never limited.
pub fn answer_refusal(
    tx: &Tx<'_>,
    rules: &AnswerRules<'_>,
    at: DateTime<Utc>,
    to: Recipient<'_>,
    no_answer: Option<&str>,
) -> Result<Option<String>, StoreError> {
    if let Some(why) = no_answer {
        return Ok(Some(why.to_string()));
    }
    if rules.silent {
        return Ok(Some(
            "no automatic mail during this import (--no-receipts)".into(),
        ));
    }
    let to = match to {
        Recipient::Staff(_) => return Ok(None),
        Recipient::Customer(m) => &m.address,
    };
    if rules.own.contains(to) {
        return Ok(Some(format!("{to} is our own address")));
    }
    if rules.staff.is_staff_address(to, &rules.matching) {
        return Ok(Some(format!(
            "{to} is a staff address ([staff]): customer mail never goes there"
        )));
    }
    daily_limit(tx, rules, to, at)
}

/// Why `to` may get no more automatic mail today, if that is so: it got
/// `intake.max_auto_replies_per_day` in the last 24 hours. Customer-side
/// mail always counts; a staff member asked to confirm a mail in their
/// name counts too, as a forger could send many.
pub fn daily_limit(
    tx: &Tx<'_>,
    rules: &AnswerRules<'_>,
    to: &Address,
    at: DateTime<Utc>,
) -> Result<Option<String>, StoreError> {
    let sent = tx.read().automatic_mails_to(to, at - Duration::hours(24))?;
    Ok((sent >= rules.max_per_day).then(|| {
        format!(
            "{sent} automatic mails to {to} in the last 24 hours reach the limit (intake.max_auto_replies_per_day)"
        )
    }))
}

/// Why no relay of a staff reply may go to `to` now, if that is so: it is
/// ours (the support address, a staff member's address or alias, a
/// notification address); it is an automatic sender in a loop with us (in
/// the last 24 hours it sent us `intake.max_auto_replies_per_day` automatic
/// messages, at least one when that limit is 0); it already got
/// `staff.max_relays_per_day` relays in the last 24 hours (the bound of a
/// loop of mails that all look human); or nothing is sent at all during a
/// silent import. A relay is a person's answer, so it is not counted
/// against the automatic-mail limit.
pub fn relay_refusal(
    tx: &Tx<'_>,
    rules: &AnswerRules<'_>,
    to: &Address,
    at: DateTime<Utc>,
) -> Result<Option<String>, StoreError> {
    if rules.silent {
        return Ok(Some("no mail during this import (--no-receipts)".into()));
    }
    if rules.own.contains(to) {
        return Ok(Some(format!("{to} is our own address")));
    }
    if rules.staff.is_staff_address(to, &rules.matching) {
        return Ok(Some(format!("{to} is a staff address ([staff])")));
    }
    let day = at - Duration::hours(24);
    let robot = tx.read().automatic_messages_from(to, day)?;
    let limit = rules.max_per_day.max(1);
    if robot >= limit {
        return Ok(Some(format!(
            "an automatic sender in a loop with us: {robot} automatic messages from it in the last 24 hours (intake.max_auto_replies_per_day = {})",
            rules.max_per_day
        )));
    }
    let relays = tx.read().mails_to(to, "relay", day)?;
    if relays >= rules.staff.max_relays_per_day {
        return Ok(Some(format!(
            "{relays} relays to it in the last 24 hours reach staff.max_relays_per_day"
        )));
    }
    Ok(None)
}
