//! OpenPGP for the screen: an encrypted message (PGP/MIME, RFC 3156, or an
//! inline `-----BEGIN PGP MESSAGE-----` block) is opened with the desk's
//! secret keys before any other rule reads it, and mail about such a ticket
//! can be encrypted (and signed) to a known key on the way out.
//!
//! Why here, after parse: the outer header must be read first (to know
//! that the message is encrypted, and who sent it); the decrypted MIME
//! entity is then given to `parse` again, under the outer header, and the
//! [`Inbound`] it yields replaces the first one, so that every later stage
//! (thread, identify, apply, the store) sees the decrypted parts. The raw
//! bytes that are stored stay those received, encrypted. No file is read
//! here: the keys come in as armoured text ([`Keyring::from_armored`]).

use std::io::Cursor;

use pgp::composed::{
    ArmorOptions, Deserializable, DetachedSignature, Message, MessageBuilder, SignedPublicKey,
    SignedSecretKey,
};
use pgp::crypto::hash::HashAlgorithm;
use pgp::crypto::sym::SymmetricKeyAlgorithm;
use pgp::types::{KeyDetails, Password};

use crate::domain::Address;
use crate::parse::{self, Encryption, Inbound, ParseLimits, Signature};
use crate::screen::mime::{reparse_under_outer, signed_entity};

const BEGIN: &str = "-----BEGIN PGP MESSAGE-----";
const END: &str = "-----END PGP MESSAGE-----";

/// A key file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{what} is not an OpenPGP secret key: {why}")]
    NotASecretKey { what: String, why: String },
    #[error("{what} is not an OpenPGP public key: {why}")]
    NotAPublicKey { what: String, why: String },
    #[error("the passphrase does not unlock {what}")]
    Locked { what: String },
    #[error("{what} has no key that can encrypt")]
    NoEncryptionKey { what: String },
}

/// The desk's secret keys (the first one signs what the desk encrypts; the
/// others are older keys kept for mail still written to them) and the
/// staff side's public key, if any.
#[derive(Default)]
pub struct Keyring {
    secrets: Vec<SignedSecretKey>,
    passphrase: String,
    staff: Option<SignedPublicKey>,
    /// Customers' public keys (`public_keys`), found by the addresses in
    /// their user ids: to check signatures and to encrypt to.
    public: Vec<SignedPublicKey>,
}

impl std::fmt::Debug for Keyring {
    // Never prints a key or the passphrase.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keyring({} secret keys)", self.secrets.len())
    }
}

impl Keyring {
    /// `secrets`: (name for messages, armoured secret key), the desk's own
    /// first; `staff`: the same for the staff side's public key.
    pub fn from_armored(
        secrets: &[(String, String)],
        passphrase: &str,
        staff: Option<(String, String)>,
        public: &[(String, String)],
    ) -> Result<Keyring, KeyError> {
        let mut keys = Vec::new();
        for (what, text) in secrets {
            let (key, _) =
                SignedSecretKey::from_string(text).map_err(|e| KeyError::NotASecretKey {
                    what: what.clone(),
                    why: e.to_string(),
                })?;
            // A wrong passphrase shows now, not on the first encrypted mail.
            key.primary_key
                .unlock(&Password::from(passphrase), |_, _| Ok(()))
                .ok()
                .and_then(Result::ok)
                .ok_or_else(|| KeyError::Locked { what: what.clone() })?;
            keys.push(key);
        }
        let public_key = |what: &String, text: &str| {
            SignedPublicKey::from_string(text)
                .map(|(key, _)| key)
                .map_err(|e| KeyError::NotAPublicKey {
                    what: what.clone(),
                    why: e.to_string(),
                })
        };
        let staff = match staff {
            None => None,
            Some((what, text)) => {
                let key = public_key(&what, &text)?;
                if encryption_subkeys(&key).is_empty() {
                    return Err(KeyError::NoEncryptionKey { what });
                }
                Some(key)
            }
        };
        let customers = public
            .iter()
            .map(|(what, text)| public_key(what, text))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Keyring {
            secrets: keys,
            passphrase: passphrase.to_string(),
            staff,
            public: customers,
        })
    }

    /// The plaintext of one OpenPGP message, and its signature checked
    /// for `from` when it is signed (`learned`: the keys the desk learnt
    /// for `from`, beside its own).
    pub fn decrypt_signed(
        &self,
        message: &[u8],
        from: Option<&Address>,
        learned: &[SignedPublicKey],
    ) -> Result<(Vec<u8>, Option<Signature>), String> {
        if self.secrets.is_empty() {
            return Err("no [openpgp] secret_key_file is configured to decrypt it".into());
        }
        let text = std::str::from_utf8(message).ok();
        let parsed = match text.filter(|t| t.contains(BEGIN)) {
            Some(t) => Message::from_string(t).map(|(m, _)| m),
            None => Message::from_bytes(Cursor::new(message)),
        }
        .map_err(|e| format!("damaged OpenPGP message: {e}"))?;
        if !parsed.is_encrypted() {
            return Err("an OpenPGP block that is not encrypted".into());
        }
        let pw: Vec<Password> = self
            .secrets
            .iter()
            .map(|_| Password::from(self.passphrase.as_str()))
            .collect();
        let mut plain = parsed
            .decrypt_with_keys(pw.iter().collect(), self.secrets.iter().collect())
            .map_err(|e| format!("cannot be decrypted with the desk's keys ({e})"))?;
        if plain.is_compressed() {
            plain = plain
                .decompress()
                .map_err(|e| format!("damaged compressed content: {e}"))?;
        }
        let data = plain
            .as_data_vec()
            .map_err(|e| format!("damaged encrypted content: {e}"))?;
        let signature = plain.is_signed().then(|| {
            let good = self.public.iter().chain(learned).find(|key| {
                signing_keys(key)
                    .into_iter()
                    .any(|k| plain.verify(k).is_ok())
            });
            self.judge(good, from, learned)
        });
        Ok((data, signature))
    }

    /// The known keys whose user ids carry `address`.
    fn keys_of<'a>(
        &'a self,
        address: &Address,
        learned: &'a [SignedPublicKey],
    ) -> Vec<&'a SignedPublicKey> {
        self.public
            .iter()
            .chain(learned)
            .filter(|k| carries(k, address))
            .collect()
    }

    /// What a signature that verified with `good` (None: with no known
    /// key) means for a message from `from`.
    fn judge(
        &self,
        good: Option<&SignedPublicKey>,
        from: Option<&Address>,
        learned: &[SignedPublicKey],
    ) -> Signature {
        match good {
            Some(key) => Signature::Good {
                signer: describe_key(key),
                of_sender: from.is_some_and(|a| carries(key, a)),
                // Every key here is one the desk was given or learnt from
                // a genuine mail: it is known.
                known: true,
            },
            None => match from.map(|a| self.keys_of(a, learned)) {
                Some(own) if !own.is_empty() => Signature::Bad(format!(
                    "does not verify with the sender's key {}",
                    describe_key(own[0])
                )),
                _ => Signature::Unknown,
            },
        }
    }

    /// Checks a detached signature (PGP/MIME `multipart/signed`) over
    /// `data`, the signed part's bytes with CRLF line ends.
    pub fn check_detached(
        &self,
        data: &[u8],
        armored: &str,
        from: Option<&Address>,
        learned: &[SignedPublicKey],
    ) -> Signature {
        let Ok((sig, _)) = DetachedSignature::from_string(armored) else {
            return Signature::Bad("the signature part is not an OpenPGP signature".into());
        };
        let good = self.public.iter().chain(learned).find(|key| {
            sig.verify(*key, data).is_ok()
                || key
                    .public_subkeys
                    .iter()
                    .any(|sub| sig.verify(sub, data).is_ok())
        });
        self.judge(good, from, learned)
    }

    /// The customer key to encrypt to for `address`, if one is known: the
    /// config's first, then those learnt (`learned`, for that address).
    pub fn key_for<'a>(
        &'a self,
        address: &Address,
        learned: &'a [SignedPublicKey],
    ) -> Option<&'a SignedPublicKey> {
        self.keys_of(address, learned)
            .into_iter()
            .find(|k| !encryption_subkeys(k).is_empty())
    }

    /// `data` encrypted to `to` (and the desk), signed by the desk.
    pub fn encrypt_for(&self, to: &SignedPublicKey, data: &[u8]) -> Result<String, String> {
        self.encrypt_to(&[to], data)
    }

    /// `data` encrypted to the staff side's key (and to the desk's own, so
    /// that the desk can read its sent mail), signed by the desk, armoured.
    /// None without a staff key.
    pub fn encrypt_for_staff(&self, data: &[u8]) -> Option<Result<String, String>> {
        let staff = self.staff.as_ref()?;
        Some(self.encrypt_to(&[staff], data))
    }

    fn encrypt_to(&self, to: &[&SignedPublicKey], data: &[u8]) -> Result<String, String> {
        let mut rng = rand::thread_rng();
        let mut builder = MessageBuilder::from_bytes("", data.to_vec())
            .seipd_v1(&mut rng, SymmetricKeyAlgorithm::AES256);
        let own: Vec<SignedPublicKey> = self.secrets.iter().map(|k| k.to_public_key()).collect();
        let mut count = 0;
        for key in to.iter().copied().chain(own.iter().take(1)) {
            for sub in encryption_subkeys(key) {
                builder
                    .encrypt_to_key(&mut rng, sub)
                    .map_err(|e| format!("cannot encrypt: {e}"))?;
                count += 1;
            }
        }
        if count == 0 {
            return Err("no key that can encrypt".into());
        }
        if let Some(desk) = self.secrets.first() {
            builder.sign(
                &desk.primary_key,
                Password::from(self.passphrase.as_str()),
                HashAlgorithm::Sha256,
            );
        }
        builder
            .to_armored_string(&mut rng, ArmorOptions::default())
            .map_err(|e| format!("cannot encrypt: {e}"))
    }
}

/// The keys that may have made a signature: the primary and each subkey.
fn signing_keys(key: &SignedPublicKey) -> Vec<&dyn pgp::types::VerifyingKey> {
    let mut out: Vec<&dyn pgp::types::VerifyingKey> = vec![key];
    out.extend(
        key.public_subkeys
            .iter()
            .map(|s| s as &dyn pgp::types::VerifyingKey),
    );
    out
}

/// Whether one of `key`'s user ids names `address` (`Name <address>` or
/// the bare address), in any case.
fn carries(key: &SignedPublicKey, address: &Address) -> bool {
    key.details.users.iter().any(|u| {
        let id = String::from_utf8_lossy(u.id.id()).to_string();
        let bare = match (id.rfind('<'), id.rfind('>')) {
            (Some(a), Some(b)) if a < b => id[a + 1..b].to_string(),
            _ => id.trim().to_string(),
        };
        Address::parse(&bare).is_ok_and(|a| a.key() == address.key())
    })
}

/// `Ann Customer <ann@customer.example> (fingerprint)` for staff.
fn describe_key(key: &SignedPublicKey) -> String {
    let uid = key
        .details
        .users
        .first()
        .map(|u| String::from_utf8_lossy(u.id.id()).to_string())
        .unwrap_or_default();
    format!("{uid} ({})", key.fingerprint().to_string().to_uppercase())
}

/// The subkeys of `key` flagged for encryption.
fn encryption_subkeys(key: &SignedPublicKey) -> Vec<&pgp::composed::SignedPublicSubKey> {
    key.public_subkeys
        .iter()
        .filter(|s| {
            s.signatures.iter().any(|sig| {
                let f = sig.key_flags();
                f.encrypt_comms() || f.encrypt_storage()
            }) && s.key.algorithm().can_encrypt()
        })
        .collect()
}

/// What kind of encryption the top-level Content-Type announces.
fn is_pgp_mime(inbound: &Inbound) -> bool {
    inbound.headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("content-type") && {
            let v = v.to_ascii_lowercase();
            v.trim_start().starts_with("multipart/encrypted")
                && v.contains("application/pgp-encrypted")
        }
    })
}

/// The boundary of a PGP/MIME signed message (RFC 3156 section 5).
fn pgp_signed_boundary(inbound: &Inbound) -> Option<String> {
    let (_, v) = inbound
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))?;
    let lower = v.to_ascii_lowercase();
    if !(lower.trim_start().starts_with("multipart/signed")
        && lower.contains("application/pgp-signature"))
    {
        return None;
    }
    let at = lower.find("boundary=")? + "boundary=".len();
    let rest = &v[at..];
    let b = match rest.strip_prefix('"') {
        Some(q) => q.split('"').next()?,
        None => rest.split([';', ' ']).next()?,
    };
    (!b.is_empty()).then(|| b.to_string())
}

/// The signed part as it was signed (see [`signed_entity`]) and the
/// armoured signature of the second part.
fn signed_parts(raw: &[u8], boundary: &str) -> Option<(Vec<u8>, String)> {
    let (signed, rest) = signed_entity(raw, boundary)?;
    let rest = String::from_utf8_lossy(rest);
    let (s, e) = (
        rest.find("-----BEGIN PGP SIGNATURE-----")?,
        rest.find("-----END PGP SIGNATURE-----")? + "-----END PGP SIGNATURE-----".len(),
    );
    (s < e).then(|| (signed, rest[s..e].to_string()))
}

/// The first armoured OpenPGP message in `text`, with its position.
fn armored_block(text: &str) -> Option<(usize, usize)> {
    let start = text.find(BEGIN)?;
    let end = start + text[start..].find(END)? + END.len();
    Some((start, end))
}

/// Opens `inbound` (read from `raw`) if it is encrypted: the decrypted
/// view with [`Encryption::Decrypted`], or the same message with
/// [`Encryption::Failed`] and the reason (the screen holds it). A message
/// that is not encrypted comes back as it was.
///
/// `learned`: the keys the desk learnt for the From address (see
/// [`offered_keys`]), used beside its own to check a signature.
pub fn open(
    inbound: Inbound,
    raw: &[u8],
    keys: &Keyring,
    learned: &[SignedPublicKey],
    limits: &ParseLimits,
) -> Inbound {
    if is_pgp_mime(&inbound) {
        return open_pgp_mime(inbound, raw, keys, learned, limits);
    }
    if let Some(boundary) = pgp_signed_boundary(&inbound) {
        let mut inbound = inbound;
        let from = inbound.from.as_ref().map(|f| f.address.clone());
        inbound.signature = Some(match signed_parts(raw, &boundary) {
            Some((data, sig)) => keys.check_detached(&data, &sig, from.as_ref(), learned),
            None => Signature::Bad("a multipart/signed message without its two parts".into()),
        });
        return inbound;
    }
    match armored_block(&inbound.text) {
        Some(span) => open_inline(inbound, span, keys, learned),
        None => inbound,
    }
}

/// Reads armoured public keys (the learnt ones the store keeps); one that
/// no longer reads is left out.
pub fn public_keys(armored: &[String]) -> Vec<SignedPublicKey> {
    armored
        .iter()
        .filter_map(|a| SignedPublicKey::from_string(a).ok().map(|(k, _)| k))
        .collect()
}

/// A public key a message offers for its sender: its fingerprint (upper
/// case hex) and its armoured form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferedKey {
    pub fingerprint: String,
    pub armored: String,
}

/// The public keys a message offers for its sender: among its attachments
/// (`application/pgp-keys`, or any holding an armoured public key block)
/// and in its `Autocrypt` header fields (`autocrypt`: their values), those
/// that carry `from` in a user id and whose self-signatures verify. A key
/// for another address is never offered: it would let one sender plant a
/// key for someone else. Whether the message may teach a key at all (it
/// must be genuine) is the caller's decision.
pub fn offered_keys(
    attachments: &[(String, Vec<u8>)],
    autocrypt: &[&str],
    from: &Address,
) -> Vec<OfferedKey> {
    const BEGIN_KEY: &str = "-----BEGIN PGP PUBLIC KEY BLOCK-----";
    let mut keys: Vec<SignedPublicKey> = Vec::new();
    for (content_type, bytes) in attachments {
        let Ok(text) = std::str::from_utf8(bytes) else {
            continue;
        };
        let is_keys = content_type
            .to_ascii_lowercase()
            .starts_with("application/pgp-keys");
        if (is_keys || text.contains(BEGIN_KEY))
            && let Ok((key, _)) = SignedPublicKey::from_string(text)
        {
            keys.push(key);
        }
    }
    keys.extend(autocrypt.iter().filter_map(|v| autocrypt_key(v, from)));
    let mut out: Vec<OfferedKey> = Vec::new();
    for key in keys {
        if key.verify_bindings().is_err() || !carries(&key, from) {
            continue;
        }
        let Ok(armored) = key.to_armored_string(ArmorOptions::default()) else {
            continue;
        };
        let fingerprint = key.fingerprint().to_string().to_uppercase();
        if !out.iter().any(|k| k.fingerprint == fingerprint) {
            out.push(OfferedKey {
                fingerprint,
                armored,
            });
        }
    }
    out
}

/// The key of one `Autocrypt: addr=…; keydata=…` header value (Autocrypt
/// Level 1), when its `addr` is `from`.
fn autocrypt_key(value: &str, from: &Address) -> Option<SignedPublicKey> {
    let mut addr = None;
    let mut keydata = None;
    for attr in value.split(';') {
        let Some((k, v)) = attr.split_once('=') else {
            continue;
        };
        match k.trim().to_ascii_lowercase().as_str() {
            "addr" => addr = Address::parse(v.trim()).ok(),
            "keydata" => keydata = Some(v),
            _ => {}
        }
    }
    if addr?.key() != from.key() {
        return None;
    }
    use base64::Engine;
    let clean: String = keydata?.split_whitespace().collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(clean)
        .ok()?;
    SignedPublicKey::from_bytes(Cursor::new(bytes)).ok()
}

fn failed(mut inbound: Inbound, why: String) -> Inbound {
    inbound.encryption = Encryption::Failed(why);
    inbound
}

/// RFC 3156: the second part holds the armoured message, whose plaintext
/// is a whole MIME entity (with the sender's real Subject in it when the
/// client protects headers).
fn open_pgp_mime(
    inbound: Inbound,
    raw: &[u8],
    keys: &Keyring,
    learned: &[SignedPublicKey],
    limits: &ParseLimits,
) -> Inbound {
    let text = String::from_utf8_lossy(raw);
    let Some((start, end)) = armored_block(&text) else {
        return failed(
            inbound,
            "multipart/encrypted without an OpenPGP message in it".into(),
        );
    };
    let from = inbound.from.as_ref().map(|f| f.address.clone());
    let (plain, signature) =
        match keys.decrypt_signed(&text.as_bytes()[start..end], from.as_ref(), learned) {
            Ok(p) => p,
            Err(why) => return failed(inbound, why),
        };
    match reparse_under_outer(&inbound, raw, &plain, limits) {
        Ok(mut inner) => {
            inner.encryption = Encryption::Decrypted;
            inner.signature = signature;
            inner
        }
        Err(e) => failed(
            inbound,
            format!("the decrypted content is not readable: {e}"),
        ),
    }
}

/// An inline block: replaced, in the text, by its plaintext.
fn open_inline(
    mut inbound: Inbound,
    (start, end): (usize, usize),
    keys: &Keyring,
    learned: &[SignedPublicKey],
) -> Inbound {
    let from = inbound.from.as_ref().map(|f| f.address.clone());
    let (plain, signature) =
        match keys.decrypt_signed(&inbound.text.as_bytes()[start..end], from.as_ref(), learned) {
            Ok(p) => p,
            Err(why) => return failed(inbound, why),
        };
    inbound.signature = signature;
    let plain = String::from_utf8_lossy(&plain).replace("\r\n", "\n");
    let text = format!(
        "{}{}{}",
        &inbound.text[..start],
        plain.trim_end(),
        &inbound.text[end..]
    );
    let (new_text, quoted) = parse::split_quoted(&text);
    inbound.text = text;
    inbound.new_text = new_text;
    inbound.quoted = quoted;
    inbound.encryption = Encryption::Decrypted;
    inbound
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 3156: the signed bytes are the first part's, CRLF, without the
    /// line end before the boundary, whatever the line ends of the mail.
    #[test]
    fn signed_parts_are_cut_as_signed() {
        let body = "preamble\n--b1\nContent-Type: text/plain\n\nhello\n--b1\n\
            Content-Type: application/pgp-signature\n\n-----BEGIN PGP SIGNATURE-----\nabc\n\
            -----END PGP SIGNATURE-----\n--b1--\n";
        for raw in [body.to_string(), body.replace('\n', "\r\n")] {
            let mail = format!("Subject: x\n\n{raw}");
            let (data, sig) = signed_parts(mail.as_bytes(), "b1").unwrap();
            assert_eq!(data, b"Content-Type: text/plain\r\n\r\nhello");
            assert!(sig.starts_with("-----BEGIN PGP SIGNATURE-----"), "{sig}");
            assert!(sig.ends_with("-----END PGP SIGNATURE-----"), "{sig}");
        }
        assert!(signed_parts(b"Subject: x\n\nno parts", "b1").is_none());
    }

    #[test]
    fn pgp_signed_boundaries() {
        let with = |v: &str| Inbound {
            headers: vec![("Content-Type".into(), v.into())],
            ..Inbound::default()
        };
        let cases = [
            (
                "multipart/signed; micalg=pgp-sha256; protocol=\"application/pgp-signature\"; boundary=\"--x y\"",
                Some("--x y"),
            ),
            (
                "Multipart/Signed; protocol=application/pgp-signature; boundary=abc",
                Some("abc"),
            ),
            (
                "multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=abc",
                None,
            ),
            ("text/plain", None),
        ];
        for (v, want) in cases {
            assert_eq!(pgp_signed_boundary(&with(v)).as_deref(), want, "{v}");
        }
    }

    #[test]
    fn armored_blocks_are_found() {
        let cases = [
            ("no block", None),
            (
                "a\n-----BEGIN PGP MESSAGE-----\nx\n-----END PGP MESSAGE-----\nb",
                Some((2, 57)),
            ),
            ("-----BEGIN PGP MESSAGE-----\nno end", None),
        ];
        for (text, want) in cases {
            assert_eq!(armored_block(text), want, "{text}");
        }
    }

    #[test]
    fn without_keys_an_encrypted_message_fails_with_a_reason() {
        let keys = Keyring::default();
        let err = keys
            .decrypt_signed(
                b"-----BEGIN PGP MESSAGE-----\n\n-----END PGP MESSAGE-----",
                None,
                &[],
            )
            .unwrap_err();
        assert!(err.contains("secret_key_file"), "{err}");
    }
}
