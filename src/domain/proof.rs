//! proof: how a ticket's requester showed that they speak for its account
//! (issue 19) — the kinds of proof, the one-time codes of confirmation
//! requests (shared with the stranger flow), and the support-PIN line a
//! customer writes into a mail (`PIN: 123456` on a line of its own).
//!
//! Pure values and rules: no store, no mail. A PIN itself never leaves
//! this module's callers in clear: it is checked against a slow hash (see
//! `accounts`) and its line is replaced before anything is stored.

use sha2::{Digest, Sha256};

/// How ownership of the account was shown, strongest reading first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofKind {
    /// The requester quoted the account's support PIN.
    Pin,
    /// The primary address answered a confirmation request (`#verify`).
    PrimaryConfirmed,
    /// The requester is the primary address, shown genuine by the trusted
    /// Authentication-Results of the desk's own MTA.
    GenuinePrimary,
}

impl ProofKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProofKind::Pin => "pin",
            ProofKind::PrimaryConfirmed => "primary-confirmed",
            ProofKind::GenuinePrimary => "genuine-primary",
        }
    }

    /// For people: the history, `ticket show`, staff mail.
    pub fn describe(self) -> &'static str {
        match self {
            ProofKind::Pin => "PIN confirmed",
            ProofKind::PrimaryConfirmed => "confirmed by the primary address",
            ProofKind::GenuinePrimary => "written by the genuine primary address",
        }
    }

    pub fn parse(s: &str) -> Option<ProofKind> {
        match s {
            "pin" => Some(ProofKind::Pin),
            "primary-confirmed" => Some(ProofKind::PrimaryConfirmed),
            "genuine-primary" => Some(ProofKind::GenuinePrimary),
            _ => None,
        }
    }
}

/// The alphabet of one-time codes: Crockford's base32, without the letters
/// people confuse with digits (I, L, O) and U.
const CODE_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A one-time code: 12 characters, 60 bits from the operating system's
/// CSPRNG (getrandom), so that guessing one is hopeless.
pub fn new_code() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 8];
    getrandom::getrandom(&mut bytes)?;
    let mut n = u64::from_le_bytes(bytes);
    Ok((0..12)
        .map(|_| {
            let c = CODE_ALPHABET[(n & 31) as usize] as char;
            n >>= 5;
            c
        })
        .collect())
}

/// A code as people read it: `ABCD-EFGH-JKMN`.
pub fn shown_code(code: &str) -> String {
    if code.len() != 12 {
        return code.to_string();
    }
    format!("{}-{}-{}", &code[..4], &code[4..8], &code[8..])
}

/// What the store keeps of a code: its SHA-256, of the code in upper case
/// without dashes.
pub fn code_hash(code: &str) -> String {
    let normal: String = code
        .chars()
        .filter(|c| *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    hex::encode(Sha256::digest(normal.as_bytes()))
}

/// Every `XXXX-XXXX-XXXX` group of code characters in `text` (any case),
/// as written: the candidates for a one-time code a reply quotes.
pub fn codes_in(text: &str) -> Vec<String> {
    let is_code = |c: char| CODE_ALPHABET.contains(&(c.to_ascii_uppercase() as u8)) && c.is_ascii();
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|w| {
            let parts: Vec<&str> = w.split('-').collect();
            parts.len() == 3 && parts.iter().all(|p| p.len() == 4 && p.chars().all(is_code))
        })
        .map(str::to_string)
        .take(20)
        .collect()
}

/// The labels a support-PIN line may start with (lower case, words
/// separated by one space), in the desk's languages.
const PIN_LABELS: &[&str] = &[
    "pin",
    "support pin",
    "code pin",
    "pin code",
    "pin de support",
    "code pin de support",
    "pin di supporto",
    "codice pin",
    "pin support",
];

/// Digits a PIN has, at least and at most.
const PIN_DIGITS: std::ops::RangeInclusive<usize> = 4..=12;

/// The PIN of `line` when it is a support-PIN line: a label of
/// [`PIN_LABELS`] (any case, `-` or spaces between words), a colon, and
/// 4 to 12 digits (spaces or dashes between groups allowed), nothing else
/// but a final full stop. Prose about a PIN ("my PIN code was lost") is no
/// PIN line.
pub fn pin_of_line(line: &str) -> Option<String> {
    let line = line.trim().trim_start_matches(['*', '_']).trim();
    let (label, value) = line.split_once(':')?;
    let label: Vec<String> = label
        .split(|c: char| c.is_whitespace() || c == '-' || c == '_' || c == '*')
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    if !PIN_LABELS.contains(&label.join(" ").as_str()) {
        return None;
    }
    let value = value
        .trim()
        .trim_matches(['*', '_'])
        .trim_end_matches('.')
        .trim();
    if value.is_empty()
        || !value
            .chars()
            .all(|c| c.is_ascii_digit() || c == ' ' || c == '-')
    {
        return None;
    }
    let digits: String = value.chars().filter(char::is_ascii_digit).collect();
    PIN_DIGITS.contains(&digits.len()).then_some(digits)
}

/// The support PIN a text gives (its first PIN line), if any.
pub fn find_pin(text: &str) -> Option<String> {
    text.lines().find_map(pin_of_line)
}

/// The PIN of a support-PIN line, quoted (`> PIN: 123456`) or not: what
/// is cut out of everything kept, though only an unquoted line in the new
/// text is checked.
pub fn pin_of_any_line(line: &str) -> Option<String> {
    pin_of_line(line.trim_start_matches(|c: char| c == '>' || c.is_whitespace()))
}

/// Every PIN a text holds, quoted or not (for making sure none is left).
pub fn pins_in(text: &str) -> Vec<String> {
    let mut pins: Vec<String> = text.lines().filter_map(pin_of_any_line).collect();
    pins.sort();
    pins.dedup();
    pins
}

/// `text` with every support-PIN line, quoted or not, replaced by `with`
/// (the line end kept); unchanged when it has none.
pub fn redact_pin_lines(text: &str, with: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        if pin_of_any_line(body).is_some() {
            out.push_str(with);
            out.push_str(&line[body.len()..]);
        } else {
            out.push_str(line);
        }
    }
    out
}

/// What became of a support PIN given in a mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinCheck {
    /// It is the account's PIN.
    Matched,
    /// It is not; `failures` wrong PINs for the account within a day, and
    /// whether this one locked PIN checks for it.
    Wrong { failures: u32, locked: bool },
    /// PIN checks for the account are locked: not tried.
    Locked,
    /// The account has no PIN, or the sender speaks for no account.
    NotChecked,
    /// Only quoted in the mail (an earlier mail of theirs): not a proof,
    /// only removed.
    Quoted,
}

impl PinCheck {
    /// The line that replaces the PIN line in everything the desk keeps
    /// and sends.
    pub fn replacement(self) -> &'static str {
        match self {
            PinCheck::Matched => "[a support PIN was given here: it matched]",
            PinCheck::Wrong { .. } => "[a support PIN was given here: it did NOT match]",
            PinCheck::Locked => {
                "[a support PIN was given here: not checked, PIN checks are locked]"
            }
            PinCheck::NotChecked => {
                "[a support PIN was given here: not checked, no PIN to compare]"
            }
            PinCheck::Quoted => "[a quoted support PIN was removed here]",
        }
    }
}

/// Wrong PINs for one account within a day that lock its PIN checks.
pub const MAX_WRONG_PINS: u32 = 5;

/// Why a PIN could not be hashed.
#[derive(Debug, thiserror::Error)]
pub enum PinError {
    #[error("a support PIN is {min} to {max} digits", min = PIN_DIGITS.start(), max = PIN_DIGITS.end())]
    Form,
    #[error("no random numbers for a salt: {0}")]
    Random(String),
    #[error("argon2: {0}")]
    Hash(String),
    #[error("not an argon2id hash made by `postdesk pin-hash`")]
    BadHash,
}

/// argon2id costs (memory KiB, passes, lanes): OWASP's minimum for
/// argon2id, slow enough that a stolen database gives up no PIN cheaply.
const ARGON2_COST: (u32, u32, u32) = (19_456, 2, 1);

fn argon2_raw(pin: &str, salt: &[u8], (m, t, p): (u32, u32, u32)) -> Result<[u8; 32], PinError> {
    let params =
        argon2::Params::new(m, t, p, Some(32)).map_err(|e| PinError::Hash(e.to_string()))?;
    let a = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = [0u8; 32];
    a.hash_password_into(pin.as_bytes(), salt, &mut out)
        .map_err(|e| PinError::Hash(e.to_string()))?;
    Ok(out)
}

/// The PIN as a PHC string, `$argon2id$v=19$m=…,t=…,p=…$salt$hash`, with a
/// fresh random salt: what `[[account]] pin_hash` and the store keep.
pub fn hash_pin(pin: &str) -> Result<String, PinError> {
    use base64::Engine;
    let digits: String = pin
        .trim()
        .chars()
        .filter(|c| *c != ' ' && *c != '-')
        .collect();
    if !PIN_DIGITS.contains(&digits.len()) || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(PinError::Form);
    }
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt).map_err(|e| PinError::Random(e.to_string()))?;
    let hash = argon2_raw(&digits, &salt, ARGON2_COST)?;
    let b64 = base64::engine::general_purpose::STANDARD_NO_PAD;
    let (m, t, p) = ARGON2_COST;
    Ok(format!(
        "$argon2id$v=19$m={m},t={t},p={p}${}${}",
        b64.encode(salt),
        b64.encode(hash)
    ))
}

/// Whether `phc` reads as a hash [`hash_pin`] makes (for the config).
pub fn check_pin_hash(phc: &str) -> Result<(), PinError> {
    parse_phc(phc).map(|_| ())
}

struct Phc {
    cost: (u32, u32, u32),
    salt: Vec<u8>,
    hash: Vec<u8>,
}

fn parse_phc(phc: &str) -> Result<Phc, PinError> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD_NO_PAD;
    let parts: Vec<&str> = phc.trim().split('$').collect();
    let ["", "argon2id", "v=19", params, salt, hash] = parts.as_slice() else {
        return Err(PinError::BadHash);
    };
    let mut cost = [0u32; 3];
    for (i, (key, kv)) in ["m", "t", "p"].iter().zip(params.split(',')).enumerate() {
        let (k, v) = kv.split_once('=').ok_or(PinError::BadHash)?;
        if k != *key {
            return Err(PinError::BadHash);
        }
        cost[i] = v.parse().map_err(|_| PinError::BadHash)?;
    }
    let salt = b64.decode(salt).map_err(|_| PinError::BadHash)?;
    let hash = b64.decode(hash).map_err(|_| PinError::BadHash)?;
    if hash.len() != 32 || salt.len() < 8 || cost.contains(&0) || cost[0] > 1 << 20 || cost[1] > 16
    {
        return Err(PinError::BadHash);
    }
    Ok(Phc {
        cost: (cost[0], cost[1], cost[2]),
        salt,
        hash,
    })
}

/// Whether `pin` is the one `phc` was made from (constant-time compare).
pub fn pin_matches(pin: &str, phc: &str) -> bool {
    let Ok(p) = parse_phc(phc) else {
        return false;
    };
    let Ok(got) = argon2_raw(pin, &p.salt, p.cost) else {
        return false;
    };
    got.iter()
        .zip(&p.hash)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_lines_in_many_spellings() {
        let table: &[(&str, Option<&str>)] = &[
            ("PIN: 123456", Some("123456")),
            ("pin:123456", Some("123456")),
            ("  Pin :  1234  ", Some("1234")),
            ("Support PIN: 987654", Some("987654")),
            ("support-pin: 987654", Some("987654")),
            ("SUPPORT  PIN: 98 76 54", Some("987654")),
            ("Code PIN: 4321", Some("4321")),
            ("code pin : 4321.", Some("4321")),
            ("PIN di supporto: 555 111", Some("555111")),
            ("PIN DI SUPPORTO:555-111", Some("555111")),
            ("Codice PIN: 24681357", Some("24681357")),
            ("Code PIN de support: 112233", Some("112233")),
            ("PIN code: 778899", Some("778899")),
            ("**PIN:** 123456", Some("123456")),
            // Not PIN lines.
            ("my PIN code was lost", None),
            ("My PIN: I forgot it", None),
            ("PIN: 123", None),
            ("PIN: 1234567890123", None),
            ("PIN: 1234 please", None),
            ("What is my PIN? 1234", None),
            ("The PIN: see below", None),
            ("Our PIN: 123456", None),
            ("> PIN: 123456", None),
            ("PIN 123456", None),
            ("", None),
        ];
        for (line, want) in table {
            assert_eq!(pin_of_line(line).as_deref(), *want, "{line:?}");
        }
    }

    #[test]
    fn a_pin_line_is_found_on_its_own_line_and_redacted() {
        let text = "Hello,\r\nplease change the MX.\r\nSupport PIN: 123456\r\nAnn\r\n";
        assert_eq!(find_pin(text).as_deref(), Some("123456"));
        let r = redact_pin_lines(text, "[PIN given]");
        assert_eq!(
            r,
            "Hello,\r\nplease change the MX.\r\n[PIN given]\r\nAnn\r\n"
        );
        assert!(!r.contains("123456"));
        assert_eq!(find_pin("my PIN code was lost\nsorry"), None);
        // Quoted: not a PIN given, but removed all the same.
        let quoted = "Thanks\n> > PIN: 654321\n>PIN:  778899\n";
        assert_eq!(find_pin(quoted), None);
        assert_eq!(
            pins_in(quoted),
            vec!["654321".to_string(), "778899".to_string()]
        );
        assert_eq!(redact_pin_lines(quoted, "x"), "Thanks\nx\nx\n");
        assert_eq!(redact_pin_lines("no pin here", "x"), "no pin here");
    }

    #[test]
    fn a_pin_hash_is_salted_and_checks() {
        let a = hash_pin("123456").unwrap();
        let b = hash_pin("123 456").unwrap();
        assert_ne!(a, b, "salted");
        assert!(!a.contains("123456"));
        assert!(a.starts_with("$argon2id$v=19$"), "{a}");
        assert!(pin_matches("123456", &a) && pin_matches("123456", &b));
        assert!(!pin_matches("123457", &a));
        assert!(check_pin_hash(&a).is_ok());
        assert!(check_pin_hash("123456").is_err());
        assert!(!pin_matches("123456", "$argon2id$v=19$m=1,t=1,p=1$x$y"));
        assert!(matches!(hash_pin("12"), Err(PinError::Form)));
    }

    #[test]
    fn codes_are_found_in_a_reply() {
        let code = "ABCD1234EFGH";
        assert_eq!(shown_code(code), "ABCD-1234-EFGH");
        let found = codes_in("Re: [DESK #4] confirm abcd-1234-efgh, thanks");
        assert_eq!(found, vec!["abcd-1234-efgh".to_string()]);
        assert_eq!(code_hash(&found[0]), code_hash(code));
        assert!(codes_in("call 555-1234-99 or ABCD-1234").is_empty());
        let made = new_code().unwrap();
        assert_eq!(made.len(), 12);
        assert_eq!(codes_in(&shown_code(&made)).len(), 1);
    }
}
