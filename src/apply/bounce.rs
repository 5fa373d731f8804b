//! bounce: a delivery report about mail of ours, filed on the ticket it
//! was about — the failing addresses marked, staff told — but only for
//! recipients our verified Message-ID was really sent to.

use crate::domain::{Address, Mailbox, TicketId};
use crate::parse::DeliveryReport;
use crate::store::{StoreError, Tx};
use crate::ticket::relay::{self, Shown, Why};
use crate::ticket::{self, Settings};

use super::context::Incoming;

/// A delivery-status notification filed on ticket `n` (stored already as
/// `message`): each address it reports as failed for good is marked
/// failing, the history says who failed and why, and the staff side is
/// told. Nothing is sent back. A report about the staff side's own mail
/// only goes into the history: telling staff by mail would bounce again.
pub fn bounce(
    tx: &mut Tx<'_>,
    s: &Settings<'_>,
    n: TicketId,
    message: i64,
    msg: &Incoming<'_>,
) -> Result<Option<i64>, StoreError> {
    let inbound = msg.inbound;
    // Only a report about a mail we really sent to the address counts: a
    // forged one names no Message-ID of ours, or not one sent there. The
    // rest only goes into the history.
    let original = inbound
        .original
        .as_ref()
        .and_then(|o| o.message_id.as_deref())
        .filter(|id| s.desk.ids.verify(id).is_some())
        .map(|id| tx.read().sent_mail(id))
        .transpose()?
        .flatten();
    let sent_to = |a: &Address| original.as_ref().is_some_and(|m| m.rcpt.contains(a));
    let (reports, unproven): (Vec<DeliveryReport>, Vec<DeliveryReport>) = inbound
        .delivery
        .iter()
        .filter(|r| r.is_failure())
        .cloned()
        .partition(|r| sent_to(&r.recipient));
    if !unproven.is_empty() {
        let line = format!(
            "delivery report naming {} not taken as a failure: it names no mail postdesk sent to that address",
            unproven
                .iter()
                .map(|r| r.recipient.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        ticket::note(tx, n, msg.at, &line)?;
        if reports.is_empty() {
            return Ok(None);
        }
    }
    for r in reports.iter().filter(|r| r.is_permanent()) {
        tx.mark_failing(
            &r.recipient,
            &r.status,
            &r.diagnostic,
            Some(n),
            Some(message),
            msg.at,
        )?;
    }
    let line = if reports.is_empty() {
        "delivery report: no failed recipient could be read from it".to_string()
    } else {
        format!("delivery failed: {}", relay::failure_lines(&reports).trim())
    };
    ticket::note(tx, n, msg.at, &line)?;
    let about_staff_mail = match inbound
        .original
        .as_ref()
        .and_then(|o| o.message_id.as_deref())
    {
        Some(id) => tx
            .read()
            .sent_kind(id)?
            .is_some_and(|k| k == "staff-notify" || k == "staff-error"),
        None => false,
    } || reports
        .iter()
        .any(|r| s.staff.is_staff_address(&r.recipient, &s.matching));
    if about_staff_mail {
        ticket::note(
            tx,
            n,
            msg.at,
            "the failed mail was the staff side's: staff not told by mail (it would bounce again)",
        )?;
        return Ok(None);
    }
    let from = inbound.from.clone().unwrap_or_else(|| Mailbox {
        name: None,
        address: s.desk.address.clone(),
    });
    relay::to_staff(
        tx,
        s,
        n,
        Why::Bounce { reports: &reports },
        Some(Shown {
            message,
            raw: msg.raw,
            from: &from,
            text: "",
            attachments: &[],
        }),
        msg.at,
    )
}
