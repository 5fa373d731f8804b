//! seal: the last step before a mail about an encrypted ticket is queued.
//! No plaintext of an encrypted message may leave in clear (issue 16): a
//! mail to the staff side is encrypted (RFC 3156 PGP/MIME, signed by the
//! desk) when a staff key is configured; any other is replaced by a short
//! notice that names nothing of the ticket but its token; a mail to a
//! customer whose key is known (`[openpgp] public_keys`, the account's
//! `openpgp_key`, or a key learnt from the customer's genuine mail, see
//! [`learned_for`]) is encrypted to it and signed the same way. Either way the
//! subject becomes the token alone (a protected subject is plaintext too).
//!
//! Applied at the two places where mail is queued (apply's and ticket's
//! `queue`), so that every kind of mail — receipt, notification, relay,
//! warning, close notice with its history — passes it.

use mail_builder::MessageBuilder;
use mail_builder::headers::content_type::ContentType;
use mail_builder::headers::raw::Raw;
use mail_builder::mime::MimePart;

use pgp::composed::SignedPublicKey;

use crate::domain::{Audience, Language, TicketId};
use crate::outbox::compose::{Desk, Outgoing};
use crate::screen::openpgp;
use crate::store::{Reader, StoreError};

/// The keys the desk learnt for the customer `mail` is for (its first
/// recipient), for [`seal`]; none for the staff side.
pub fn learned_for(read: &Reader<'_>, mail: &Outgoing) -> Result<Vec<SignedPublicKey>, StoreError> {
    match mail.to.first() {
        Some(to) if mail.audience != Audience::Staff => {
            Ok(openpgp::public_keys(&read.sender_keys(to)?))
        }
        _ => Ok(Vec::new()),
    }
}

/// The header fields of ours a sealed mail keeps: addressing, threading
/// and the robot marks (and an announcement's List-Unsubscribe, which names
/// nothing but a token). Everything else (Subject, the MIME fields, any
/// future field that might carry content) is left out.
const KEPT: &[&str] = &[
    "from",
    "to",
    "cc",
    "reply-to",
    "date",
    "message-id",
    "in-reply-to",
    "references",
    "auto-submitted",
    "x-auto-response-suppress",
    "precedence",
    "list-unsubscribe",
    "importance",
    "x-postdesk-loop",
    "x-postdesk-ticket",
];

/// `mail` as it may leave when it concerns encrypted ticket `n` (or an
/// encrypted message of no ticket yet, `n` None); `learned`: the keys
/// learnt for its recipient ([`learned_for`]).
pub fn seal(
    desk: &Desk<'_>,
    mail: &Outgoing,
    n: Option<TicketId>,
    lang: Language,
    learned: &[SignedPublicKey],
) -> Outgoing {
    let token = match n {
        Some(n) => desk.token.format(n),
        None => String::new(),
    };
    let subject = if token.is_empty() {
        format!("[{}]", desk.name)
    } else {
        token.clone()
    };
    let kept = kept_fields(&mail.raw);
    let mut b = MessageBuilder::new();
    for (name, value) in &kept {
        b = b.header(name.clone(), Raw::new(value.clone()));
    }
    b = b.subject(subject.as_str());
    let staff = mail.audience == Audience::Staff;
    // To the staff key, or to the key of the customer the mail is for.
    let encrypted = desk.keys.and_then(|k| {
        if staff {
            k.encrypt_for_staff(&mail.raw)
        } else {
            let key = mail.to.first().and_then(|a| k.key_for(a, learned))?;
            Some(k.encrypt_for(key, &mail.raw))
        }
    });
    let b = match encrypted {
        Some(Ok(armored)) => {
            // RFC 3156 as Thunderbird writes it: 7bit parts (an encoding
            // would hide the armour from clients that look for it), CRLF.
            let armored = armored.replace("\r\n", "\n").replace('\n', "\r\n");
            b.body(MimePart::new(
                ContentType::new("multipart/encrypted")
                    .attribute("protocol", "application/pgp-encrypted"),
                vec![
                    MimePart::new("application/pgp-encrypted", "Version: 1\r\n")
                        .transfer_encoding("7bit")
                        .header(
                            "Content-Description",
                            Raw::new("PGP/MIME version identification"),
                        ),
                    MimePart::new(
                        ContentType::new("application/octet-stream")
                            .attribute("name", "encrypted.asc"),
                        armored,
                    )
                    .transfer_encoding("7bit")
                    .header("Content-Description", Raw::new("OpenPGP encrypted message"))
                    .header(
                        "Content-Disposition",
                        ContentType::new("inline").attribute("filename", "encrypted.asc"),
                    ),
                ],
            ))
        }
        // No key, or it failed: the notice, never the clear text.
        _ => {
            let number = n.map(|n| n.to_string()).unwrap_or_default();
            let name = mail.to.first().map(|a| a.to_string()).unwrap_or_default();
            let template = if staff {
                "encrypted-staff"
            } else {
                "encrypted-customer"
            };
            let body = desk.templates.render(
                lang,
                template,
                &[
                    ("name", &name),
                    ("service", desk.name),
                    ("address", desk.address.as_str()),
                    ("token", &subject),
                    ("ticket", &number),
                ],
            );
            b.text_body(body)
        }
    };
    let raw = b.write_to_vec().unwrap_or_default();
    Outgoing {
        kind: mail.kind,
        message_id: mail.message_id.clone(),
        reference: mail.reference.clone(),
        subject,
        to: mail.to.clone(),
        raw,
        audience: mail.audience,
    }
}

/// The fields of `raw`'s header named in [`KEPT`], as written (folded
/// lines joined), in order.
fn kept_fields(raw: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(raw);
    let head = text
        .split("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .split("\n\n")
        .next()
        .unwrap_or_default();
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = fields.last_mut() {
                v.push_str("\r\n");
                v.push_str(line);
            }
            continue;
        }
        if let Some((name, value)) = line.split_once(':') {
            fields.push((name.trim().to_string(), value.trim_start().to_string()));
        }
    }
    fields
        .into_iter()
        .filter(|(n, _)| KEPT.iter().any(|k| n.eq_ignore_ascii_case(k)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::kept_fields;

    #[test]
    fn only_the_addressing_fields_are_kept() {
        let raw = b"From: Desk <s@d.example>\r\nSubject: =?utf-8?q?secret?=\r\n\
            To: a@x.example,\r\n b@x.example\r\nContent-Type: text/plain\r\n\
            References: <1@d>\r\n\r\nsecret body\r\n";
        let got = kept_fields(raw);
        let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["From", "To", "References"]);
        assert_eq!(got[1].1, "a@x.example,\r\n b@x.example");
        assert!(!got.iter().any(|(_, v)| v.contains("secret")));
    }
}
