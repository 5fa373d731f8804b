//! The support PIN in an incoming mail (issue 19): a line `PIN: 123456` in
//! its new text is checked against the account its sender speaks for, then
//! replaced — in the text, the new text and the raw message intake keeps —
//! by a line saying a PIN was given and whether it matched, before anything
//! is stored, relayed or logged. The content hash of the original bytes is
//! kept (`Inbound::content_hash`): a secret at rest is worse than an
//! inexact copy.
//!
//! The raw message is cut line by line where the PIN line stands as it was
//! written (plain text, 7bit, 8bit or quoted-printable without soft breaks
//! in it); when the PIN's digits can still be found (an HTML part, say) or
//! no line could be cut (base64), the body is replaced as a whole and only
//! the header kept.

use chrono::{DateTime, Utc};

use crate::domain::proof::{self, PinCheck};
use crate::identify::{Identity, Sender};
use crate::parse::Inbound;
use crate::store::{StoreError, Tx};

/// What a mail's PIN line came to.
pub(super) struct PinGiven {
    /// The account it was checked for (none: the sender speaks for none).
    pub account: Option<String>,
    pub check: PinCheck,
    /// The raw message without the PIN.
    pub raw: Vec<u8>,
}

/// Checks and removes the PIN line of `inbound`, if it has one.
pub(super) fn take_pin(
    tx: &mut Tx<'_>,
    inbound: &mut Inbound,
    raw: &[u8],
    who: &Identity,
    at: DateTime<Utc>,
) -> Result<Option<PinGiven>, StoreError> {
    let mut pins = proof::pins_in(&inbound.text);
    pins.extend(proof::pins_in(&inbound.new_text));
    if pins.is_empty() {
        return Ok(None);
    }
    // Only a PIN line of their own, in the new text, is checked.
    let Some(pin) = proof::find_pin(&inbound.new_text) else {
        let check = PinCheck::Quoted;
        redact_inbound(inbound, check.replacement());
        return Ok(Some(PinGiven {
            account: None,
            check,
            raw: redact_raw(raw, &pins, check.replacement()),
        }));
    };
    let account = match &who.sender {
        Sender::Account { account, .. } => Some(account.to_string()),
        _ => None,
    };
    // An automatic mail (an out-of-office quoting one) proves nothing and
    // counts against nobody.
    let check = match &account {
        Some(a) if !inbound.class.is_automatic() => crate::accounts::check_pin(tx, a, &pin, at)?,
        _ => PinCheck::NotChecked,
    };
    let line = check.replacement();
    redact_inbound(inbound, line);
    let raw = redact_raw(raw, &pins, line);
    Ok(Some(PinGiven {
        account,
        check,
        raw,
    }))
}

/// Every PIN line of the parsed text replaced by `line`.
fn redact_inbound(inbound: &mut Inbound, line: &str) {
    inbound.text = proof::redact_pin_lines(&inbound.text, line);
    inbound.new_text = proof::redact_pin_lines(&inbound.new_text, line);
    inbound.quoted = proof::redact_pin_lines(&inbound.quoted, line);
}

/// `raw` without the PINs: its PIN lines replaced by `line`, or its body
/// replaced as a whole when that does not remove every trace of `pins`.
fn redact_raw(raw: &[u8], pins: &[String], line: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut cut = false;
    for l in raw.split_inclusive(|&b| b == b'\n') {
        let body = l.strip_suffix(b"\n").unwrap_or(l);
        let body = body.strip_suffix(b"\r").unwrap_or(body);
        // A quoted-printable line may end in `=` (a soft break) or carry `=20`.
        let text = String::from_utf8_lossy(body).replace("=20", " ");
        if proof::pin_of_any_line(text.trim_end_matches('=')).is_some() {
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(&l[body.len()..]);
            cut = true;
        } else {
            out.extend_from_slice(l);
        }
    }
    if cut && !pins.iter().any(|p| contains(&out, p.as_bytes())) {
        return out;
    }
    header_only(raw, line)
}

/// The header of `raw` and a body that says why it is gone.
fn header_only(raw: &[u8], line: &str) -> Vec<u8> {
    let end = find(raw, b"\r\n\r\n")
        .map(|i| i + 4)
        .or_else(|| find(raw, b"\n\n").map(|i| i + 2))
        .unwrap_or(raw.len());
    let mut out = raw[..end].to_vec();
    out.extend_from_slice(
        format!(
            "{line}\r\n[postdesk removed this message's body, which held the PIN in a form it could not cut out alone; the text as postdesk read it is kept with the ticket]\r\n"
        )
        .as_bytes(),
    );
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && find(hay, needle).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_raw_message_loses_its_pin() {
        let raw = b"From: a@x.example\r\nSubject: MX\r\n\r\nPlease.\r\nPIN: 123456\r\nAnn\r\n";
        let out = redact_raw(raw, &["123456".into()], "[PIN given]");
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "From: a@x.example\r\nSubject: MX\r\n\r\nPlease.\r\n[PIN given]\r\nAnn\r\n"
        );
        // The PIN in an HTML part too: the body goes as a whole.
        let raw = b"Subject: MX\r\n\r\nPIN: 123456\r\n<p>PIN: 123456</p>\r\n";
        let text = String::from_utf8(redact_raw(raw, &["123456".into()], "[PIN given]")).unwrap();
        assert!(text.starts_with("Subject: MX\r\n\r\n[PIN given]"), "{text}");
        assert!(!text.contains("123456"), "{text}");
        // Base64: nothing to cut line by line.
        let raw = b"Subject: MX\r\nContent-Transfer-Encoding: base64\r\n\r\nUElOOiAxMjM0NTY=\r\n";
        let text = String::from_utf8(redact_raw(raw, &["123456".into()], "[PIN]")).unwrap();
        assert!(!text.contains("UElO"), "{text}");
    }
}
