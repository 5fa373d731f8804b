//! learn: senders' OpenPGP keys from their own mail (issue 16). A key
//! attached to a message (or in its Autocrypt header) is kept for its
//! From address only when the
//! message was genuine — from an address of an account, its From shown
//! genuine by trusted Authentication-Results or a known signature — and
//! the key carries that address; otherwise anyone could plant a key for a
//! customer and read the answers meant for them.

use chrono::{DateTime, Utc};
use pgp::composed::SignedPublicKey;

use super::Pipeline;
use crate::apply::{Incoming, Outcome};
use crate::domain::Address;
use crate::identify::{Identity, Sender};
use crate::parse::Inbound;
use crate::screen::openpgp;
use crate::store::{EventKind, HistoryEvent, LearnedKey, StoreError, Tx};

impl Pipeline {
    /// The keys learnt earlier for `inbound`'s From address.
    pub(super) fn learned_keys(
        tx: &Tx<'_>,
        inbound: &Inbound,
    ) -> Result<Vec<SignedPublicKey>, StoreError> {
        let Some(from) = &inbound.from else {
            return Ok(Vec::new());
        };
        Ok(openpgp::public_keys(&tx.read().sender_keys(&from.address)?))
    }

    /// Keeps the keys a genuine account sender's message offers for its
    /// From address, noting each new one in the ticket's history.
    pub(super) fn learn_keys(
        &self,
        tx: &mut Tx<'_>,
        msg: &Incoming<'_>,
        identity: &Identity,
        outcome: &Outcome,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let Some(from) = &msg.inbound.from else {
            return Ok(());
        };
        if !may_teach(msg.genuine, &identity.sender) {
            return Ok(());
        }
        // Keys in what the screen unwrapped (an encrypted mail's), else
        // in the message as stored; read only when one may be there.
        let mut files = msg.inbound.wrapped_keys.clone();
        if files.is_empty()
            && msg
                .inbound
                .attachments
                .iter()
                .any(crate::screen::mime::may_be_key)
        {
            files = crate::screen::attachment_files(msg.raw, &self.limits())
                .into_iter()
                .filter(|f| crate::screen::mime::may_be_key(&f.info))
                .map(|f| (f.info.content_type, f.bytes))
                .collect();
        }
        let autocrypt: Vec<&str> = msg
            .inbound
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("autocrypt"))
            .map(|(_, v)| v.as_str())
            .collect();
        for key in openpgp::offered_keys(&files, &autocrypt, &from.address) {
            let learned = tx.learn_sender_key(
                &LearnedKey {
                    address: &from.address,
                    fingerprint: &key.fingerprint,
                    armored: &key.armored,
                    message_id: &msg.inbound.message_id,
                },
                now,
            )?;
            if learned && let Some(n) = outcome.ticket() {
                tx.add_event(n, &note(&from.address, &key.fingerprint, outcome, now))?;
            }
        }
        Ok(())
    }
}

/// Whether a message may teach a key for its From address: genuine, and
/// from an address of an account (a stranger's or an unproven sender's
/// key is never taken, nor a staff member's: staff keys are the config's).
fn may_teach(genuine: bool, sender: &Sender) -> bool {
    genuine && matches!(sender, Sender::Account { .. })
}

fn note(
    address: &Address,
    fingerprint: &str,
    outcome: &Outcome,
    at: DateTime<Utc>,
) -> HistoryEvent {
    HistoryEvent {
        at,
        kind: EventKind::Note,
        actor: "postdesk".into(),
        detail: format!(
            "OpenPGP key {fingerprint} of {address} learnt from this genuine message: its signatures are checked with it, and mail about encrypted tickets is encrypted to it"
        ),
        message: outcome.message(),
        outbox: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::AccountId;
    use crate::identify::How;

    #[test]
    fn only_a_genuine_account_sender_teaches_a_key() {
        let account = Sender::Account {
            account: AccountId::parse("cust-1").unwrap(),
            how: How::Primary,
        };
        let stranger = Sender::Stranger { claimed: None };
        let claimed = Sender::Stranger {
            claimed: Some(AccountId::parse("cust-1").unwrap()),
        };
        let staff = Sender::Staff {
            name: "Alice".into(),
            address: Address::parse("alice@desk.example").unwrap(),
        };
        let cases = [
            (true, &account, true),
            (false, &account, false),
            (true, &stranger, false),
            (true, &claimed, false),
            (true, &staff, false),
        ];
        for (genuine, sender, want) in cases {
            assert_eq!(may_teach(genuine, sender), want, "{sender:?} {genuine}");
        }
    }
}
