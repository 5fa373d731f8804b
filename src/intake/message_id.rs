//! A message's own Message-ID: one another message already has (ours, or
//! another sender's, or another body's) is replaced by one derived from
//! the content, so it can never be filed as "another copy" of that one.

use crate::domain::Address;
use crate::parse;
use crate::store::{StoreError, Tx};

/// A message whose Message-ID another message has already (one of ours, or
/// one we received from another sender or with another body) gets one of
/// its own, derived from its content: it is a message of its own, never
/// "another copy" filed where the first one is. Copies of one mail that
/// came by two routes differ only in the trace fields MTAs put on top.
pub(super) fn own_message_id(
    tx: &Tx<'_>,
    raw: &[u8],
    mut inbound: parse::Inbound,
) -> Result<parse::Inbound, StoreError> {
    if inbound.message_id_derived {
        return Ok(inbound);
    }
    let holders = tx.read().holders_of_message_id(&inbound.message_id)?;
    let (ours, holders) = (holders.ours, holders.received);
    if !ours && holders.is_empty() {
        return Ok(inbound);
    }
    let from = inbound.from.as_ref().map(|f| f.address.clone());
    let body = body_hash(raw);
    let copy = !ours
        && holders.iter().any(|(sender, stored)| {
            let same_sender = match (&from, sender.as_deref().map(Address::parse)) {
                (Some(a), Some(Ok(b))) => *a == b,
                (None, None) => true,
                _ => false,
            };
            same_sender && body_hash(stored) == body
        });
    if copy {
        return Ok(inbound);
    }
    let reused = std::mem::replace(
        &mut inbound.message_id,
        format!("{}@postdesk.invalid", &inbound.content_hash[..32]),
    );
    inbound.message_id_derived = true;
    inbound.warnings.push(format!(
        "its Message-ID <{reused}> belongs to another message: given one of its own"
    ));
    Ok(inbound)
}

/// SHA-256 of a message's body (after the first blank line), line ends
/// made LF, trailing whitespace ignored.
fn body_hash(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw).replace("\r\n", "\n");
    let body = text.split_once("\n\n").map_or("", |(_, b)| b).trim_end();
    parse::content_hash(body.as_bytes())
}
