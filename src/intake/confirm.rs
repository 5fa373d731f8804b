//! The reply to a confirmation request: a valid code releases what its
//! sender has waiting, each held message going through the stages again —
//! which is why this flow lives in intake, not in apply.

use tracing::warn;

use super::{MAX_WRONG_CODES, Pipeline, ReleaseError, Taken};
use crate::apply::{self, Incoming, Outcome};
use crate::domain::HoldKind;
use crate::identify::Release;
use crate::store::{StoreError, Tx, Verification};

impl Pipeline {
    /// A reply to a confirmation request. A valid code (unused, not
    /// expired, sent to this very address) releases every message the
    /// address has waiting, each into its ticket (marked "unverified
    /// sender"); the reply joins the first of them. Anything else releases
    /// nothing and is kept, unanswered: a wrong code says nothing, not even
    /// that it was wrong.
    ///
    /// Two things never confirm: an automatic message (an out-of-office
    /// quotes the code it answers, and may even come back from the right
    /// address), and any code for a message that has had
    /// [`MAX_WRONG_CODES`] wrong ones — that message waits for staff, and
    /// no code is tried against it again.
    pub(super) fn confirm(
        &self,
        tx: &mut Tx<'_>,
        msg: &Incoming<'_>,
        code: Option<&str>,
        no_answer: Option<&str>,
    ) -> Result<Outcome, StoreError> {
        let inbound = msg.inbound;
        let Some(from) = &inbound.from else {
            return apply::keep(tx, msg, HoldKind::NoSender, "no valid From address");
        };
        if let Some(why) = no_answer {
            let (kind, what) = if inbound.class.is_automatic() {
                (HoldKind::Automatic, "an automatic answer")
            } else {
                (HoldKind::BadConfirmation, "an answer nothing may answer")
            };
            let reason = format!("{what} to a confirmation request ({why}): it confirms nothing");
            return apply::keep(tx, msg, kind, &reason);
        }
        // The messages this address has waiting that codes may still release.
        let key = from.address.key();
        let waiting = tx.read().pending_verifications(&key, msg.at)?;
        let open: Vec<(i64, i64)> = waiting
            .iter()
            .filter(|v| v.failed_attempts < MAX_WRONG_CODES)
            .map(|v| (v.id, v.quarantine))
            .collect();
        if !waiting.is_empty() && open.is_empty() {
            let reason = format!(
                "a reply from {} to a confirmation request, not tried: its held messages had {MAX_WRONG_CODES} wrong codes and wait for staff",
                from.address
            );
            return apply::keep(tx, msg, HoldKind::BadConfirmation, &reason);
        }
        let found = match code {
            Some(code) => tx.read().verification_by_code(&apply::code_hash(code))?,
            None => {
                let answered: Vec<String> = inbound
                    .in_reply_to
                    .iter()
                    .chain(&inbound.references)
                    .cloned()
                    .collect();
                tx.read().verification_by_mail(&answered)?
            }
        };
        let valid = found.filter(|v| {
            v.used.is_none()
                && !v.settled
                && v.expires > msg.at
                && v.sender_key == key
                && open.iter().any(|&(id, _)| id == v.id)
        });
        let Some(valid) = valid else {
            // Only a code written out is a guess; a reply that lost its
            // subject (no code) and names no request of theirs is not, and
            // the same mail delivered again is the same guess.
            if code.is_some() && !tx.read().is_held(&inbound.content_hash)? {
                self.count_wrong_code(tx, &open)?;
            }
            let reason = format!(
                "a reply from {} to a confirmation request whose code is unknown, expired, used or not theirs: nothing released",
                from.address
            );
            return apply::keep(tx, msg, HoldKind::BadConfirmation, &reason);
        };
        self.release_confirmed(tx, msg, &valid, &open)
    }

    /// A wrong code from an address counts against each message it has
    /// waiting (`open`: verification and quarantine ids); the one that
    /// reaches [`MAX_WRONG_CODES`] is noted for staff.
    fn count_wrong_code(&self, tx: &mut Tx<'_>, open: &[(i64, i64)]) -> Result<(), StoreError> {
        for &(id, quarantine) in open {
            if tx.fail_verification(id)? < MAX_WRONG_CODES {
                continue;
            }
            let note = format!(
                "{MAX_WRONG_CODES} wrong confirmation codes: no code is tried any more, it waits for staff (postdesk quarantine release {quarantine})"
            );
            tx.note_on_quarantined(quarantine, &note)?;
            warn!(
                quarantine,
                "held message waits for staff after {MAX_WRONG_CODES} wrong confirmation codes"
            );
        }
        Ok(())
    }

    /// A valid code: a stranger's proves the address, so every message of
    /// the address that codes may still release (`open`) goes into its
    /// ticket; a known address's proves its one message only, so a
    /// forger's mail in its name waits for its own code. The reply joins
    /// the first ticket.
    fn release_confirmed(
        &self,
        tx: &mut Tx<'_>,
        msg: &Incoming<'_>,
        valid: &Verification,
        open: &[(i64, i64)],
    ) -> Result<Outcome, StoreError> {
        let unproven = |tx: &Tx<'_>, q: i64| -> Result<bool, StoreError> {
            Ok(tx
                .read()
                .quarantine_entry(q)?
                .is_some_and(|e| e.kind == HoldKind::Unproven))
        };
        let only_this = unproven(tx, valid.quarantine)?;
        let mut tickets = Vec::new();
        let mut released = 0;
        for v in tx.read().pending_verifications(&valid.sender_key, msg.at)? {
            let this = v.id == valid.id;
            if !open.iter().any(|&(id, _)| id == v.id)
                || (only_this && !this)
                || (!this && unproven(tx, v.quarantine)?)
            {
                continue;
            }
            tx.use_verification(v.id, msg.at)?;
            match self.release_in(tx, v.quarantine, Release::Confirmed, false, msg.at) {
                Ok(Taken::Applied(o)) => {
                    released += 1;
                    tickets.extend(o.ticket());
                }
                Ok(_) => {}
                Err(ReleaseError::Store(e)) => return Err(e),
                // Held again by a rule (blocked meanwhile, say): it stays in quarantine.
                Err(e) => {
                    warn!(quarantine = v.quarantine, error = %e, "confirmed message not taken in")
                }
            }
        }
        let from = msg.inbound.from.as_ref().map(|f| f.address.to_string());
        match tickets.first() {
            Some(&ticket) => {
                let detail = format!(
                    "{} confirmed their address by replying to the confirmation request",
                    from.unwrap_or_default()
                );
                let message = apply::attach(tx, msg, ticket, &detail)?;
                Ok(Outcome::Confirmed {
                    ticket,
                    message,
                    released: tickets.len(),
                })
            }
            // A confirmed request that is no ticket (self-service): the
            // answer is kept for the record, settled.
            None if released > 0 => {
                let kept = apply::keep(
                    tx,
                    msg,
                    HoldKind::Other,
                    &format!(
                        "{} confirmed a request that opens no ticket (self-service): applied",
                        from.unwrap_or_default()
                    ),
                )?;
                if let Outcome::Held { quarantine, .. } = kept {
                    tx.mark_released(quarantine, None, msg.at)?;
                }
                Ok(kept)
            }
            None => apply::keep(
                tx,
                msg,
                HoldKind::BadConfirmation,
                "a valid confirmation, but none of the held messages could be taken in (see the quarantine)",
            ),
        }
    }
}
