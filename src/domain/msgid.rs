//! msgid: the Message-IDs postdesk gives the mail it sends, and the proof
//! that a Message-ID named in a reply is really one of ours.
//!
//! Each desk has a random secret, made when its database is created
//! (DESIGN invariant 8). A Message-ID is `<ref>.<mac>@<domain>`: `ref` is
//! derived from the secret and what caused the mail (so the same outbox row
//! rebuilt is the same mail, and two desks never share one), `mac` is an
//! HMAC-SHA256 of `ref` under the secret (so nobody without the secret can
//! make an id that verifies). `ref` alone also names the mail in the marker
//! line every mail carries in its text (see `parse::marker_line`): it
//! proves nothing, it only says where to look.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Characters of `ref`: 60 bits, enough that a desk's own refs never meet.
pub const REF_LEN: usize = 12;
/// Characters of `mac`: 80 bits of HMAC.
const MAC_LEN: usize = 16;

/// The desk's secret and mail domain; makes and checks Message-IDs.
#[derive(Clone)]
pub struct MessageIds {
    secret: [u8; 32],
    domain: String,
}

impl std::fmt::Debug for MessageIds {
    // The secret never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageIds")
            .field("domain", &self.domain)
            .finish_non_exhaustive()
    }
}

/// A Message-ID that verified: the `ref` part, which names the mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OurId {
    pub reference: String,
}

impl MessageIds {
    pub fn new(secret: [u8; 32], domain: &str) -> MessageIds {
        MessageIds {
            secret,
            domain: domain.to_ascii_lowercase(),
        }
    }

    /// A fresh random secret, for a new database.
    pub fn random_secret() -> Result<[u8; 32], getrandom::Error> {
        let mut secret = [0u8; 32];
        getrandom::getrandom(&mut secret)?;
        Ok(secret)
    }

    fn hmac(&self, label: &str, parts: &[&str]) -> [u8; 32] {
        let mut mac =
            <Hmac<Sha256> as KeyInit>::new_from_slice(&self.secret).expect("HMAC takes any key");
        mac.update(label.as_bytes());
        for p in parts {
            mac.update(&[0]);
            // Length-prefixed, so ("ab","c") and ("a","bc") differ.
            mac.update(&(p.len() as u64).to_be_bytes());
            mac.update(p.as_bytes());
        }
        mac.finalize().into_bytes().into()
    }

    /// The `ref` of the mail caused by `cause` (its kind, ticket, the event
    /// or message behind it): the same cause gives the same ref.
    pub fn reference(&self, cause: &[&str]) -> String {
        base32(&self.hmac("postdesk-ref", cause))[..REF_LEN].to_string()
    }

    /// The Message-ID (without brackets) of the mail caused by `cause`.
    pub fn make(&self, cause: &[&str]) -> String {
        let r = self.reference(cause);
        format!("{r}.{}@{}", self.mac(&r), self.domain)
    }

    fn mac(&self, reference: &str) -> String {
        base32(&self.hmac("postdesk-mid", &[reference]))[..MAC_LEN].to_string()
    }

    /// `Some` when `id` (bare or in brackets) is a Message-ID this desk
    /// made. The domain is not part of the proof: a desk that changed its
    /// address still knows its old mail.
    pub fn verify(&self, id: &str) -> Option<OurId> {
        let id = id.trim().trim_start_matches('<').trim_end_matches('>');
        let (local, _domain) = id.rsplit_once('@')?;
        // Some mail software folds case; base32 reads the same either way.
        let local = local.to_ascii_lowercase();
        let (reference, mac) = local.split_once('.')?;
        if reference.len() != REF_LEN || mac.len() != MAC_LEN || !is_base32(reference) {
            return None;
        }
        let want = self.mac(reference);
        // Constant time: the comparison must not tell how much was right.
        let same = want
            .bytes()
            .zip(mac.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        (same == 0).then(|| OurId {
            reference: reference.to_string(),
        })
    }
}

const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// RFC 4648 base32, lower case, no padding: safe in a Message-ID and in a
/// line of text, and not changed by case-folding mail software.
fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((acc >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((acc << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Whether `s` is made of the characters of a ref.
pub fn is_base32(s: &str) -> bool {
    s.bytes()
        .all(|b| ALPHABET.contains(&b.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desk(seed: u8) -> MessageIds {
        MessageIds::new([seed; 32], "desk.example")
    }

    #[test]
    fn same_cause_same_id_other_desk_other_id() {
        let a = desk(1);
        let id = a.make(&["receipt", "42", "hash"]);
        assert_eq!(id, a.make(&["receipt", "42", "hash"]));
        assert_ne!(id, a.make(&["receipt", "42", "hash2"]));
        assert_ne!(id, desk(2).make(&["receipt", "42", "hash"]));
        assert!(id.ends_with("@desk.example"));
        assert_eq!(id.len(), REF_LEN + 1 + MAC_LEN + "@desk.example".len());
    }

    #[test]
    fn only_the_desk_verifies_its_ids() {
        let a = desk(1);
        let id = a.make(&["staff-notify", "7", "c"]);
        let ours = a.verify(&id).expect("our own id");
        assert_eq!(ours.reference, id[..REF_LEN]);
        assert!(a.verify(&format!("<{id}>")).is_some());
        assert!(
            a.verify(&id.to_ascii_uppercase()).is_some(),
            "case-folded by a client"
        );
        assert!(desk(2).verify(&id).is_none(), "another desk's secret");
        // One character of the mac changed.
        let mut forged = id.clone().into_bytes();
        let i = REF_LEN + 3;
        forged[i] = if forged[i] == b'a' { b'b' } else { b'a' };
        assert!(a.verify(&String::from_utf8(forged).unwrap()).is_none());
        // The old, computable ids and junk.
        for bad in [
            "1.staff-notify.0123456789abcdef0123@desk.example",
            "",
            "@",
            "a.b@c",
            "no-at-sign",
            "ééééééééééé.éééééééééééééééé@x",
        ] {
            assert!(a.verify(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn base32_is_rfc4648() {
        assert_eq!(base32(b"f"), "my");
        assert_eq!(base32(b"foobar"), "mzxw6ytboi");
    }
}
