//! The MIME surgery the screen's OpenPGP and S/MIME steps share: a
//! wrapped entity (decrypted, or an opaque signature's content) parsed
//! again under the outer header, and the signed part of a
//! `multipart/signed` cut exactly as it was signed (RFC 1847, 3156, 8551).

use crate::parse::{self, Inbound, ParseLimits};

/// Whether an attachment may hold an OpenPGP key: typed so, or named as
/// clients name key files.
pub fn may_be_key(a: &parse::Attachment) -> bool {
    a.content_type
        .to_ascii_lowercase()
        .starts_with("application/pgp-keys")
        || a.name
            .as_deref()
            .is_some_and(|n| n.to_ascii_lowercase().ends_with(".asc"))
}

/// The MIME `entity` a message wrapped (decrypted, or an opaque S/MIME
/// signed one's content) parsed under `raw`'s outer header; the message
/// is still the one received: its identity, size, class and trace fields
/// are the outer `inbound`'s.
pub fn reparse_under_outer(
    inbound: &Inbound,
    raw: &[u8],
    entity: &[u8],
    limits: &ParseLimits,
) -> Result<Inbound, parse::ParseError> {
    let rebuilt = under_outer_header(raw, entity);
    let mut inner = parse::parse(&rebuilt, limits)?;
    if inner.attachments.iter().any(may_be_key) {
        inner.wrapped_keys = parse::attachment_files(&rebuilt, limits)
            .into_iter()
            .filter(|f| may_be_key(&f.info))
            .map(|f| (f.info.content_type, f.bytes))
            .collect();
    }
    inner.message_id = inbound.message_id.clone();
    inner.message_id_derived = inbound.message_id_derived;
    inner.content_hash = inbound.content_hash.clone();
    inner.size = inbound.size;
    inner.headers = inbound.headers.clone();
    inner.class = inbound.class.clone();
    Ok(inner)
}

/// The outer header without its MIME fields, followed by the decrypted
/// entity: of its header only the MIME fields and a protected Subject.
/// Anything else the sender wrote inside (a protected From, To,
/// Message-ID, References) is dropped: those of the outer header are the
/// ones the MTA saw and authenticated, and an inner From must never name
/// the sender of the message.
pub fn under_outer_header(raw: &[u8], entity: &[u8]) -> Vec<u8> {
    let (outer, _) = split_head(raw);
    let (inner, body) = split_head(entity);
    let inner_fields = fields(inner, |name| {
        name.starts_with("content-") || name == "subject"
    });
    let inner_subject = inner_fields
        .iter()
        .any(|f| f.to_ascii_lowercase().starts_with(b"subject:"));
    let outer_fields = fields(outer, |name| {
        !(name.starts_with("content-")
            || name == "mime-version"
            || (inner_subject && name == "subject"))
    });
    let mut out = Vec::with_capacity(raw.len() + entity.len());
    for f in outer_fields
        .iter()
        .chain([&b"MIME-Version: 1.0\r\n"[..]].iter())
        .chain(&inner_fields)
    {
        out.extend_from_slice(f);
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// A message or entity split at the first blank line (LF or CRLF): the
/// header with its last line end, and the body after the blank line.
pub fn split_head(bytes: &[u8]) -> (&[u8], &[u8]) {
    let mut at = 0;
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        if line == b"\n" || line == b"\r\n" {
            return (&bytes[..at], &bytes[at + line.len()..]);
        }
        at += line.len();
    }
    (bytes, &[])
}

/// The header fields of `head` (each with its folded lines) whose lower
/// case name `keep` accepts.
fn fields(head: &[u8], keep: impl Fn(&str) -> bool) -> Vec<&[u8]> {
    let mut out: Vec<&[u8]> = Vec::new();
    let mut start: Option<usize> = None;
    let mut kept = false;
    let mut at = 0;
    for line in head.split_inclusive(|&b| b == b'\n') {
        let continued = line.first().is_some_and(|b| *b == b' ' || *b == b'\t');
        if !continued {
            if let Some(s) = start.take()
                && kept
            {
                out.push(&head[s..at]);
            }
            let name = line.iter().position(|&b| b == b':').map(|c| {
                String::from_utf8_lossy(&line[..c])
                    .trim()
                    .to_ascii_lowercase()
            });
            kept = name.is_some_and(|n| keep(&n));
            start = Some(at);
        }
        at += line.len();
    }
    if let Some(s) = start
        && kept
    {
        out.push(&head[s..at]);
    }
    out
}

/// The signed first part of a `multipart/signed` body as it was signed
/// (its bytes between the first two delimiters, lines ended by CRLF, the
/// line end before the delimiter not included) and the rest of the body
/// after that delimiter. Bytes, not text: an 8-bit part must not change.
pub fn signed_entity<'a>(raw: &'a [u8], boundary: &str) -> Option<(Vec<u8>, &'a [u8])> {
    let delimiter = format!("\n--{boundary}");
    let d = delimiter.as_bytes();
    let first = find(raw, d)? + d.len();
    let start = first + find(&raw[first..], b"\n")? + 1;
    let end = start + find(&raw[start..], d)?;
    // The line end before the delimiter belongs to the delimiter.
    let body_end = if end > start && raw[end - 1] == b'\r' {
        end - 1
    } else {
        end
    };
    let mut signed = Vec::with_capacity(body_end - start + 64);
    for line in raw[start..body_end].split_inclusive(|&b| b == b'\n') {
        match line.strip_suffix(b"\n") {
            Some(l) => {
                signed.extend_from_slice(l.strip_suffix(b"\r").unwrap_or(l));
                signed.extend_from_slice(b"\r\n");
            }
            None => signed.extend_from_slice(line),
        }
    }
    Some((signed, &raw[end + d.len()..]))
}

/// Where `needle` first occurs in `hay`.
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outer_header_keeps_its_fields_and_takes_the_protected_subject() {
        let raw = b"From: a@x.example\r\nSubject: ...\r\nContent-Type: multipart/encrypted;\r\n protocol=\"application/pgp-encrypted\"\r\nMessage-ID: <1@x>\r\n\r\nbody";
        let entity = b"Content-Type: text/plain; protected-headers=\"v1\"\nSubject: Real\n\
            From: ceo@victim.example\nMessage-ID: <forged@x>\n\nsecret\n";
        let out = String::from_utf8(under_outer_header(raw, entity)).unwrap();
        assert!(out.contains("From: a@x.example"), "{out}");
        assert!(out.contains("Message-ID: <1@x>"), "{out}");
        assert!(!out.contains("Subject: ..."), "{out}");
        assert!(!out.contains("protocol="), "{out}");
        // An inner From or Message-ID never replaces the outer one.
        assert!(!out.contains("victim"), "{out}");
        assert!(!out.contains("forged"), "{out}");
        assert!(out.ends_with("Subject: Real\n\r\nsecret\n"), "{out}");
        let plain = b"Content-Type: text/plain\n\nsecret\n";
        let out = String::from_utf8(under_outer_header(raw, plain)).unwrap();
        assert!(out.contains("Subject: ..."), "{out}");
    }

    /// The signed bytes are the first part's with CRLF line ends, whatever
    /// the mail's, and its 8-bit bytes unchanged.
    #[test]
    fn the_signed_entity_is_cut_as_signed() {
        let body = b"pre\n--b1\nContent-Type: text/plain; charset=latin1\n\nh\xe9llo\n--b1\n\
Content-Type: application/pkcs7-signature\nContent-Transfer-Encoding: base64\n\naGVs\nbG8=\n--b1--\n";
        let crlf: Vec<u8> = body
            .split(|&b| b == b'\n')
            .collect::<Vec<_>>()
            .join(&b"\r\n"[..]);
        for raw in [body.to_vec(), crlf] {
            let (signed, rest) = signed_entity(&raw, "b1").unwrap();
            assert_eq!(
                signed,
                b"Content-Type: text/plain; charset=latin1\r\n\r\nh\xe9llo"
            );
            // The rest starts after the delimiter, at its line end.
            assert!(rest.starts_with(b"\n") || rest.starts_with(b"\r\n"));
        }
        assert!(signed_entity(b"no parts", "b1").is_none());
    }
}
