//! S/MIME for the screen (RFC 8551, CMS RFC 5652): a signed message shows
//! its content, and its signature is checked and judged for staff.
//!
//! Two shapes: detached (`multipart/signed;
//! protocol="application/pkcs7-signature"`, the signed first part and a
//! CMS SignedData without content beside it) and opaque
//! (`application/pkcs7-mime; smime-type=signed-data`, the file smime.p7m
//! Outlook sends, whose SignedData encapsulates the whole MIME entity). An
//! opaque message is unwrapped as an OpenPGP one is decrypted: the entity
//! is parsed again under the outer header and replaces the first
//! [`Inbound`]; the raw bytes stored stay those received.
//!
//! The check: the signer's certificate (carried in the message), the
//! `messageDigest` attribute against the content's digest, and the
//! signature over the DER of the signed attributes with the certificate's
//! key (RSA PKCS #1 v1.5 or ECDSA P-256; SHA-256, SHA-384, SHA-512, and
//! SHA-1 for older clients). A certificate comes with every signature, so
//! a good one proves only that its holder signed: it vouches for the From
//! address ([`Signature::Good`] `known`) only when the certificate is the
//! account's own (`[[account]] smime_cert`) or chains, within its validity
//! dates, to a CA the operator names (`[smime] ca_file`).

use chrono::{DateTime, Utc};
use der::asn1::{ObjectIdentifier as Oid, OctetString};
use der::{Decode, Encode};
use p256::ecdsa::signature::hazmat::PrehashVerifier;
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, SubjectAltName, SubjectKeyIdentifier};

use crate::domain::Address;
use crate::parse::{Inbound, ParseLimits, Signature};
use crate::screen::mime::{
    find, reparse_under_outer, signed_entity, split_head, under_outer_header,
};

const SIGNED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.2");
const MESSAGE_DIGEST: Oid = Oid::new_unwrap("1.2.840.113549.1.9.4");
const EMAIL_ADDRESS: Oid = Oid::new_unwrap("1.2.840.113549.1.9.1");
const SUBJECT_ALT_NAME: Oid = Oid::new_unwrap("2.5.29.17");
const BASIC_CONSTRAINTS: Oid = Oid::new_unwrap("2.5.29.19");
const SUBJECT_KEY_ID: Oid = Oid::new_unwrap("2.5.29.14");
/// How deep a chain from the signer to a trusted CA may go.
const MAX_CHAIN: usize = 6;

/// A certificate file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("{what} holds no PEM certificate: {why}")]
    NotACertificate { what: String, why: String },
}

/// The certificates that make an S/MIME signature proof of the sender:
/// the accounts' own (pinned) and the CAs the operator trusts.
#[derive(Default)]
pub struct SmimeTrust {
    anchors: Vec<Certificate>,
    pinned: Vec<Certificate>,
}

impl std::fmt::Debug for SmimeTrust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SmimeTrust({} CAs, {} certificates)",
            self.anchors.len(),
            self.pinned.len()
        )
    }
}

impl SmimeTrust {
    /// `cas` and `pinned`: (name for messages, PEM text, one or more
    /// certificates).
    pub fn from_pem(
        cas: &[(String, Vec<u8>)],
        pinned: &[(String, Vec<u8>)],
    ) -> Result<SmimeTrust, CertError> {
        let read = |list: &[(String, Vec<u8>)]| -> Result<Vec<Certificate>, CertError> {
            let mut out = Vec::new();
            for (what, pem) in list {
                let certs =
                    Certificate::load_pem_chain(pem).map_err(|e| CertError::NotACertificate {
                        what: what.clone(),
                        why: e.to_string(),
                    })?;
                if certs.is_empty() {
                    return Err(CertError::NotACertificate {
                        what: what.clone(),
                        why: "no certificate in it".into(),
                    });
                }
                out.extend(certs);
            }
            Ok(out)
        };
        Ok(SmimeTrust {
            anchors: read(cas)?,
            pinned: read(pinned)?,
        })
    }

    /// Whether `cert` proves who signed: pinned, or issued (through the
    /// message's own intermediates) by a trusted CA; in its dates either way.
    fn knows(&self, cert: &Certificate, carried: &[Certificate], now: DateTime<Utc>) -> bool {
        if !valid_at(cert, now) {
            return false;
        }
        if self.pinned.iter().any(|p| p == cert) {
            return true;
        }
        let mut current = cert;
        for _ in 0..MAX_CHAIN {
            if self
                .anchors
                .iter()
                .any(|ca| valid_at(ca, now) && issued_by(current, ca))
            {
                return true;
            }
            // An intermediate CA the message carries, itself checked.
            let next = carried
                .iter()
                .find(|c| *c != current && is_ca(c) && valid_at(c, now) && issued_by(current, c));
            match next {
                Some(c) => current = c,
                None => return false,
            }
        }
        false
    }
}

/// The digests a signature may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hash {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    fn by_digest_oid(oid: &Oid) -> Option<Hash> {
        Some(match oid.to_string().as_str() {
            "1.3.14.3.2.26" => Hash::Sha1,
            "2.16.840.1.101.3.4.2.1" => Hash::Sha256,
            "2.16.840.1.101.3.4.2.2" => Hash::Sha384,
            "2.16.840.1.101.3.4.2.3" => Hash::Sha512,
            _ => return None,
        })
    }

    fn digest(self, data: &[u8]) -> Vec<u8> {
        use sha2_10::Digest;
        match self {
            Hash::Sha1 => sha1::Sha1::digest(data).to_vec(),
            Hash::Sha256 => sha2_10::Sha256::digest(data).to_vec(),
            Hash::Sha384 => sha2_10::Sha384::digest(data).to_vec(),
            Hash::Sha512 => sha2_10::Sha512::digest(data).to_vec(),
        }
    }

    fn pkcs1(self) -> rsa::Pkcs1v15Sign {
        match self {
            Hash::Sha1 => rsa::Pkcs1v15Sign::new::<sha1::Sha1>(),
            Hash::Sha256 => rsa::Pkcs1v15Sign::new::<sha2_10::Sha256>(),
            Hash::Sha384 => rsa::Pkcs1v15Sign::new::<sha2_10::Sha384>(),
            Hash::Sha512 => rsa::Pkcs1v15Sign::new::<sha2_10::Sha512>(),
        }
    }
}

/// The public-key algorithm a signature algorithm names, and the hash it
/// fixes (None: the digest algorithm's, as `rsaEncryption` leaves it).
fn signature_algorithm(oid: &Oid) -> Option<(Algo, Option<Hash>)> {
    Some(match oid.to_string().as_str() {
        "1.2.840.113549.1.1.1" => (Algo::Rsa, None),
        "1.2.840.113549.1.1.5" => (Algo::Rsa, Some(Hash::Sha1)),
        "1.2.840.113549.1.1.11" => (Algo::Rsa, Some(Hash::Sha256)),
        "1.2.840.113549.1.1.12" => (Algo::Rsa, Some(Hash::Sha384)),
        "1.2.840.113549.1.1.13" => (Algo::Rsa, Some(Hash::Sha512)),
        "1.2.840.10045.2.1" => (Algo::Ecdsa, None),
        "1.2.840.10045.4.1" => (Algo::Ecdsa, Some(Hash::Sha1)),
        "1.2.840.10045.4.3.2" => (Algo::Ecdsa, Some(Hash::Sha256)),
        "1.2.840.10045.4.3.3" => (Algo::Ecdsa, Some(Hash::Sha384)),
        "1.2.840.10045.4.3.4" => (Algo::Ecdsa, Some(Hash::Sha512)),
        _ => return None,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Algo {
    Rsa,
    Ecdsa,
}

/// Whether `signature` over `message` verifies with `cert`'s key.
fn verifies(cert: &Certificate, algo: Algo, hash: Hash, message: &[u8], signature: &[u8]) -> bool {
    let spki = &cert.tbs_certificate.subject_public_key_info;
    let digest = hash.digest(message);
    match algo {
        Algo::Rsa => {
            use rsa::pkcs8::DecodePublicKey;
            let Ok(der) = spki.to_der() else { return false };
            let Ok(key) = rsa::RsaPublicKey::from_public_key_der(&der) else {
                return false;
            };
            key.verify(hash.pkcs1(), &digest, signature).is_ok()
        }
        Algo::Ecdsa => {
            let Ok(key) =
                p256::ecdsa::VerifyingKey::from_sec1_bytes(spki.subject_public_key.raw_bytes())
            else {
                return false;
            };
            let Ok(sig) = p256::ecdsa::Signature::from_der(signature) else {
                return false;
            };
            key.verify_prehash(&digest, &sig).is_ok()
        }
    }
}

/// Whether `issuer` signed `cert` (names and signature).
fn issued_by(cert: &Certificate, issuer: &Certificate) -> bool {
    if cert.tbs_certificate.issuer != issuer.tbs_certificate.subject {
        return false;
    }
    let Some((algo, Some(hash))) = signature_algorithm(&cert.signature_algorithm.oid) else {
        return false;
    };
    let (Ok(tbs), Some(sig)) = (cert.tbs_certificate.to_der(), cert.signature.as_bytes()) else {
        return false;
    };
    verifies(issuer, algo, hash, &tbs, sig)
}

fn valid_at(cert: &Certificate, now: DateTime<Utc>) -> bool {
    let v = &cert.tbs_certificate.validity;
    let at = |t: x509_cert::time::Time| t.to_unix_duration().as_secs() as i64;
    let now = now.timestamp();
    at(v.not_before) <= now && now <= at(v.not_after)
}

fn extension<'a>(cert: &'a Certificate, oid: &Oid) -> Option<&'a [u8]> {
    cert.tbs_certificate
        .extensions
        .as_ref()?
        .iter()
        .find(|e| &e.extn_id == oid)
        .map(|e| e.extn_value.as_bytes())
}

fn is_ca(cert: &Certificate) -> bool {
    extension(cert, &BASIC_CONSTRAINTS)
        .and_then(|b| BasicConstraints::from_der(b).ok())
        .is_some_and(|b| b.ca)
}

/// The e-mail addresses a certificate is for: its subjectAltName
/// rfc822Name entries and the subject's emailAddress attributes.
fn emails(cert: &Certificate) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(san) =
        extension(cert, &SUBJECT_ALT_NAME).and_then(|b| SubjectAltName::from_der(b).ok())
    {
        for name in san.0 {
            if let GeneralName::Rfc822Name(a) = name {
                out.push(a.to_string());
            }
        }
    }
    for rdn in cert.tbs_certificate.subject.0.iter() {
        for atv in rdn.0.iter() {
            if atv.oid == EMAIL_ADDRESS
                && let Ok(s) = der::asn1::Ia5StringRef::try_from(&atv.value)
            {
                out.push(s.to_string());
            }
        }
    }
    out
}

/// `ann@customer.example (CN=Ann Customer,O=Customer)` for staff.
fn describe(cert: &Certificate) -> String {
    let subject = cert.tbs_certificate.subject.to_string();
    match emails(cert).first() {
        Some(e) => format!("S/MIME certificate {e} ({subject})"),
        None => format!("S/MIME certificate {subject}"),
    }
}

/// What the check of one SignedData found, before it is judged.
#[derive(Debug)]
enum Checked {
    /// Verified with this certificate (the message's others beside it).
    Good(Box<Certificate>, Vec<Certificate>),
    Bad(String),
    /// Nothing to check it with (no certificate, an algorithm not supported).
    Unknown,
}

/// Checks the SignedData in `der` (a ContentInfo) over `content` (None:
/// the encapsulated content is the signed one).
fn check(der: &[u8], content: Option<&[u8]>) -> Checked {
    let Some(signed) = signed_data(der) else {
        return Checked::Bad("the signature is not a CMS SignedData".into());
    };
    let encapsulated = signed
        .encap_content_info
        .econtent
        .as_ref()
        .and_then(|c| c.decode_as::<OctetString>().ok());
    let Some(content) = content.or(encapsulated.as_ref().map(OctetString::as_bytes)) else {
        return Checked::Bad("a SignedData without the content it signs".into());
    };
    let carried: Vec<Certificate> = signed
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|c| match c {
            cms::cert::CertificateChoices::Certificate(c) => Some(c.clone()),
            _ => None,
        })
        .collect();
    let Some(info) = signed.signer_infos.0.iter().next() else {
        return Checked::Bad("a SignedData without a signer".into());
    };
    let Some(cert) = carried.iter().find(|c| is_signer(c, &info.sid)).cloned() else {
        return Checked::Unknown;
    };
    let (Some(digest_hash), Some((algo, sig_hash))) = (
        Hash::by_digest_oid(&info.digest_alg.oid),
        signature_algorithm(&info.signature_algorithm.oid),
    ) else {
        return Checked::Unknown;
    };
    let hash = sig_hash.unwrap_or(digest_hash);
    let content_digest = digest_hash.digest(content);
    // With signed attributes (every client's way) the signature is over
    // their DER, and their messageDigest must be the content's digest.
    let signed_bytes = match &info.signed_attrs {
        Some(attrs) => {
            let digest = attrs
                .iter()
                .find(|a| a.oid == MESSAGE_DIGEST)
                .and_then(|a| a.values.iter().next())
                .and_then(|v| v.decode_as::<OctetString>().ok());
            match digest {
                Some(d) if d.as_bytes() == content_digest.as_slice() => {}
                Some(_) => {
                    return Checked::Bad(
                        "the content was changed after it was signed (digest mismatch)".into(),
                    );
                }
                None => return Checked::Bad("signed attributes without messageDigest".into()),
            }
            match attrs.to_der() {
                Ok(d) => d,
                Err(e) => return Checked::Bad(format!("unreadable signed attributes: {e}")),
            }
        }
        None => content.to_vec(),
    };
    if verifies(&cert, algo, hash, &signed_bytes, info.signature.as_bytes()) {
        Checked::Good(Box::new(cert), carried)
    } else {
        Checked::Bad(format!(
            "does not verify with the key of {}",
            describe(&cert)
        ))
    }
}

fn signed_data(ber: &[u8]) -> Option<cms::signed_data::SignedData> {
    let der = ber_to_der(ber)?;
    let info = cms::content_info::ContentInfo::from_der(&der).ok()?;
    if info.content_type != SIGNED_DATA {
        return None;
    }
    info.content.decode_as().ok()
}

/// How deep BER nests before it is refused (a CMS message nests about 12).
const MAX_BER_DEPTH: usize = 48;

/// `ber` in DER's length forms: CMS producers stream (OpenSSL's detached
/// signatures, Outlook's opaque ones) with indefinite lengths and the
/// content as a constructed OCTET STRING, which a DER reader refuses.
/// Lengths become definite and a constructed OCTET STRING one primitive;
/// anything else is copied. None for input that is not BER.
fn ber_to_der(ber: &[u8]) -> Option<Vec<u8>> {
    // Bytes after the one element (a client's padding) are left out.
    let (tag, content, _) = ber_element(ber, 0)?;
    Some(encode(&tag, &content))
}

/// One element at the start of `input`: its tag bytes (a constructed
/// OCTET STRING turned primitive), its content in DER, and the bytes used.
fn ber_element(input: &[u8], depth: usize) -> Option<(Vec<u8>, Vec<u8>, usize)> {
    if depth > MAX_BER_DEPTH {
        return None;
    }
    let first = *input.first()?;
    let mut at = 1;
    if first & 0x1f == 0x1f {
        // High tag number: continuation bytes while the top bit is set.
        while *input.get(at)? & 0x80 != 0 {
            at += 1;
        }
        at += 1;
    }
    let mut tag = input[..at].to_vec();
    let constructed = first & 0x20 != 0;
    let len_byte = *input.get(at)?;
    at += 1;
    let indefinite = len_byte == 0x80;
    let length = if indefinite {
        None
    } else if len_byte & 0x80 != 0 {
        let n = usize::from(len_byte & 0x7f);
        if n > 4 {
            return None;
        }
        let bytes = input.get(at..at + n)?;
        at += n;
        Some(bytes.iter().fold(0usize, |l, b| (l << 8) | usize::from(*b)))
    } else {
        Some(usize::from(len_byte))
    };
    if !constructed {
        let len = length?;
        let content = input.get(at..at + len)?.to_vec();
        return Some((tag, content, at + len));
    }
    let mut content = Vec::new();
    let mut rest = match length {
        Some(len) => input.get(at..at + len)?,
        None => input.get(at..)?,
    };
    let octets = tag == [0x24];
    loop {
        if indefinite && rest.starts_with(&[0, 0]) {
            at += 2;
            break;
        }
        if !indefinite && rest.is_empty() {
            break;
        }
        let (child_tag, child, used) = ber_element(rest, depth + 1)?;
        if octets {
            content.extend_from_slice(&child);
        } else {
            content.extend_from_slice(&encode(&child_tag, &child));
        }
        rest = &rest[used..];
        at += used;
    }
    if octets {
        tag = vec![0x04];
    }
    Some((tag, content, at))
}

/// A DER element: tag, definite minimal length, content.
fn encode(tag: &[u8], content: &[u8]) -> Vec<u8> {
    let mut out = tag.to_vec();
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend_from_slice(&bytes);
    }
    out.extend_from_slice(content);
    out
}

fn is_signer(cert: &Certificate, sid: &cms::signed_data::SignerIdentifier) -> bool {
    use cms::signed_data::SignerIdentifier as Sid;
    match sid {
        Sid::IssuerAndSerialNumber(i) => {
            i.issuer == cert.tbs_certificate.issuer
                && i.serial_number == cert.tbs_certificate.serial_number
        }
        Sid::SubjectKeyIdentifier(ski) => extension(cert, &SUBJECT_KEY_ID)
            .and_then(|b| SubjectKeyIdentifier::from_der(b).ok())
            .is_some_and(|own| own == *ski),
    }
}

/// What a checked signature means for a message from `from`.
fn judge(
    checked: Checked,
    from: Option<&Address>,
    trust: &SmimeTrust,
    now: DateTime<Utc>,
) -> Signature {
    match checked {
        Checked::Good(cert, carried) => {
            let of_sender = from.is_some_and(|f| {
                emails(&cert)
                    .iter()
                    .any(|e| Address::parse(e).is_ok_and(|a| a.key() == f.key()))
            });
            Signature::Good {
                signer: describe(&cert),
                of_sender,
                known: trust.knows(&cert, &carried, now),
            }
        }
        Checked::Bad(why) => Signature::Bad(why),
        Checked::Unknown => Signature::Unknown,
    }
}

/// The top-level Content-Type, lower case for the type, and a parameter
/// reader over it.
fn content_type(inbound: &Inbound) -> Option<&str> {
    inbound
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.as_str())
}

/// The value of parameter `name` in a Content-Type value (quoted or not).
pub(super) fn param(value: &str, name: &str) -> Option<String> {
    for piece in value.split(';').skip(1) {
        let Some((k, v)) = piece.split_once('=') else {
            continue;
        };
        if k.trim().eq_ignore_ascii_case(name) {
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|q| q.split('"').next())
                .unwrap_or(v);
            return (!v.is_empty()).then(|| v.to_string());
        }
    }
    None
}

/// Whether a Content-Type value is an opaque S/MIME signed message.
fn is_opaque(ct: &str) -> bool {
    matches!(
        mime_type(ct).as_str(),
        "application/pkcs7-mime" | "application/x-pkcs7-mime"
    ) && param(ct, "smime-type").is_none_or(|t| t.eq_ignore_ascii_case("signed-data"))
}

/// The content a SignedData (`ber`, a ContentInfo) encapsulates.
fn encapsulated(ber: &[u8]) -> Option<OctetString> {
    signed_data(ber)?
        .encap_content_info
        .econtent
        .and_then(|c| c.decode_as::<OctetString>().ok())
}

/// The message an opaque S/MIME signed `raw` wraps, under its outer
/// header, as the ticket shows it (for a later stage that reads a stored
/// message's attachments again); None for any other message.
pub fn unwrapped(raw: &[u8]) -> Option<Vec<u8>> {
    let head = crate::parse::parse_head(raw).ok()?;
    if !is_opaque(content_type(&head)?) {
        return None;
    }
    let (h, body) = split_head(raw);
    let entity = encapsulated(&decode_body(h, body))?;
    Some(under_outer_header(raw, entity.as_bytes()))
}

fn mime_type(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// The decoded body of the part that starts `rest` (after its delimiter
/// line), up to the next delimiter: base64 undone.
fn second_part(rest: &[u8], boundary: &str) -> Option<Vec<u8>> {
    let rest = &rest[find(rest, b"\n")? + 1..];
    let (head, body) = split_head(rest);
    let end = find(body, format!("\n--{boundary}").as_bytes()).unwrap_or(body.len());
    Some(decode_body(head, &body[..end]))
}

/// `body` undone of its transfer encoding, named in `head` (base64, which
/// every client uses for CMS, or binary).
fn decode_body(head: &[u8], body: &[u8]) -> Vec<u8> {
    let head = String::from_utf8_lossy(head).to_ascii_lowercase();
    let base64 = head
        .lines()
        .any(|l| l.starts_with("content-transfer-encoding:") && l.contains("base64"));
    if !base64 {
        return body.to_vec();
    }
    use base64::Engine;
    let clean: Vec<u8> = body
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(&clean)
        .unwrap_or_default()
}

/// Opens `inbound` (read from `raw`) if it is S/MIME signed: its signature
/// checked and judged, and an opaque one unwrapped so that the ticket
/// shows its text and attachments. Anything else comes back as it was
/// (S/MIME encryption is not read: its part stays an attachment).
pub fn open(
    mut inbound: Inbound,
    raw: &[u8],
    trust: &SmimeTrust,
    limits: &ParseLimits,
    now: DateTime<Utc>,
) -> Inbound {
    let Some(ct) = content_type(&inbound).map(str::to_string) else {
        return inbound;
    };
    let kind = mime_type(&ct);
    let from = inbound.from.as_ref().map(|f| f.address.clone());
    let protocol = param(&ct, "protocol").map(|p| p.to_ascii_lowercase());
    if kind == "multipart/signed"
        && matches!(
            protocol.as_deref(),
            Some("application/pkcs7-signature" | "application/x-pkcs7-signature")
        )
    {
        let checked = param(&ct, "boundary")
            .and_then(|b| {
                let (signed, rest) = signed_entity(raw, &b)?;
                Some((signed, second_part(rest, &b)?))
            })
            .map_or_else(
                || Checked::Bad("a multipart/signed message without its two parts".into()),
                |(signed, der)| check(&der, Some(&signed)),
            );
        inbound.signature = Some(judge(checked, from.as_ref(), trust, now));
        return inbound;
    }
    if !is_opaque(&ct) {
        return inbound;
    }
    let (head, body) = split_head(raw);
    let der = decode_body(head, body);
    let Some(entity) = encapsulated(&der) else {
        // Enveloped (encrypted) S/MIME, or not CMS at all: left as it came.
        return inbound;
    };
    let signature = judge(check(&der, None), from.as_ref(), trust, now);
    match reparse_under_outer(&inbound, raw, entity.as_bytes(), limits) {
        Ok(mut inner) => {
            inner.encryption = inbound.encryption;
            inner.signature = Some(signature);
            inner
        }
        Err(e) => {
            inbound
                .warnings
                .push(format!("S/MIME signed content not readable: {e}"));
            inbound.signature = Some(signature);
            inbound
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_read_quoted_or_not() {
        let v = "multipart/signed; protocol=\"application/x-pkcs7-signature\";\tmicalg=SHA1; boundary=\"----=_NextPart_000_0012\"";
        assert_eq!(
            param(v, "protocol").as_deref(),
            Some("application/x-pkcs7-signature")
        );
        assert_eq!(
            param(v, "BOUNDARY").as_deref(),
            Some("----=_NextPart_000_0012")
        );
        assert_eq!(param(v, "micalg").as_deref(), Some("SHA1"));
        assert_eq!(
            param(
                "application/pkcs7-mime; name=smime.p7m; smime-type=signed-data",
                "smime-type"
            )
            .as_deref(),
            Some("signed-data")
        );
        assert_eq!(param("text/plain", "boundary"), None);
    }

    /// Indefinite lengths and a constructed OCTET STRING (streamed CMS)
    /// become DER; DER stays as it is; broken input is refused.
    #[test]
    fn ber_is_read_as_der() {
        type Case<'a> = (&'a str, &'a [u8], Option<&'a [u8]>);
        let cases: [Case; 6] = [
            (
                "DER unchanged",
                &b"\x30\x03\x02\x01\x05"[..],
                Some(&b"\x30\x03\x02\x01\x05"[..]),
            ),
            (
                "indefinite sequence",
                b"\x30\x80\x02\x01\x05\x00\x00",
                Some(&b"\x30\x03\x02\x01\x05"[..]),
            ),
            (
                "constructed octets, nested indefinite",
                b"\xa0\x80\x24\x80\x04\x02ab\x04\x01c\x00\x00\x00\x00",
                Some(&b"\xa0\x05\x04\x03abc"[..]),
            ),
            (
                "long form length",
                &b"\x04\x81\x01z"[..],
                Some(&b"\x04\x01z"[..]),
            ),
            ("cut short", &b"\x30\x05\x02\x01"[..], None),
            ("unterminated", &b"\x30\x80\x02\x01\x05"[..], None),
        ];
        for (what, input, want) in cases {
            assert_eq!(ber_to_der(input).as_deref(), want, "{what}");
        }
        // Nesting beyond the bound is refused, not a stack overflow.
        let deep: Vec<u8> = std::iter::repeat_n([0x30u8, 0x80], 10_000)
            .flatten()
            .collect();
        assert_eq!(ber_to_der(&deep), None);
    }

    /// The signature part's body, base64 undone, whatever the line ends.
    #[test]
    fn the_second_part_is_decoded() {
        let body = "--b1\nContent-Type: text/plain\n\nhi\n--b1\n\
Content-Type: application/pkcs7-signature\nContent-Transfer-Encoding: base64\n\naGVs\nbG8=\n--b1--\n";
        for raw in [body.to_string(), body.replace('\n', "\r\n")] {
            let mail = format!("Subject: x\n\n{raw}");
            let (_, rest) = signed_entity(mail.as_bytes(), "b1").unwrap();
            assert_eq!(second_part(rest, "b1").unwrap(), b"hello");
        }
    }

    #[test]
    fn garbage_is_a_bad_signature_not_a_panic() {
        for der in [&b""[..], b"\x30\x03\x02\x01\x01", b"not der at all"] {
            assert!(matches!(check(der, Some(b"x")), Checked::Bad(_)));
        }
    }
}
