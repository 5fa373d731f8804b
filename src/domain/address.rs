//! Email addresses, display names and sender-list patterns, compared the
//! way mail systems treat them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An email address (`local@domain`) as written by its owner, with the
/// form every comparison uses.
///
/// One mailbox has many spellings, and a sender picks the one that slips
/// past a list: `x@evil.example.` (the root's trailing dot),
/// `"x"@evil.example` (quotes a dot-atom does not need, RFC 5321 4.1.2),
/// `X@EVIL.Example`, `x@évil.example` and its punycode `x@xn--vil-9la.example`
/// (IDNA, UTS #46). All of them compare equal: the local part without
/// needless quotes, the domain in lower-case ASCII (A-labels) without the
/// trailing dot. Equality and hashing also ignore the local part's ASCII
/// case: in practice no mail system hands out `Bob@x` and `bob@x` to two
/// people, and customers type their address in whatever case they like.
/// The original spelling is kept for display and for the mail we send.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Address {
    /// As written, without the angle brackets and blanks around it.
    raw: String,
    /// The local part, unquoted; its case as written.
    local: String,
    /// Lower case, IDN labels as punycode, no trailing dot.
    domain: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an email address: {0:?}")]
pub struct BadAddress(pub String);

/// No blank, control character or address punctuation: what may stand in
/// an address part once quotes are gone.
fn clean_part(part: &str) -> bool {
    !part.is_empty()
        && part
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && !"<>()[],;\\\"@".contains(c))
}

/// The local part without its quoting: `"x"` and `"x".y` are `x` and
/// `x.y`; `\c` inside quotes is `c`. None when the quotes do not pair up.
/// What the quotes hid must still be a plain local part (see
/// [`clean_part`]): `"ann@good.example"@evil.example` is no address.
fn unquoted_local(local: &str) -> Option<String> {
    if !local.contains('"') {
        return Some(local.to_string());
    }
    let mut out = String::with_capacity(local.len());
    let mut quoted = false;
    let mut chars = local.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => quoted = !quoted,
            '\\' if quoted => out.push(chars.next()?),
            c => out.push(c),
        }
    }
    (!quoted).then_some(out)
}

/// The comparison form of a domain: trailing dots dropped, lower case, and
/// Unicode labels (or odd punycode) through IDNA's UTS #46 mapping to
/// A-labels, which also folds case and look-alike full stops (`。`). None
/// when it is no domain (empty, a leading dot, an IDNA error). Lenient
/// otherwise: it has to read what customers send, and the transport
/// refuses what cannot be delivered.
pub fn canonical_domain(domain: &str) -> Option<String> {
    let domain = domain.trim_end_matches('.');
    if !clean_part(domain) || domain.starts_with('.') {
        return None;
    }
    let is_ace = |label: &str| {
        label
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case("xn--"))
    };
    // Plain ASCII (nearly all mail) needs no IDNA tables: lower case is its mapping.
    let ascii = if domain.is_ascii() && !domain.split('.').any(is_ace) {
        domain.to_ascii_lowercase()
    } else {
        idna::domain_to_ascii_cow(domain.as_bytes(), idna::AsciiDenyList::EMPTY)
            .ok()?
            .into_owned()
    };
    let ascii = ascii.trim_end_matches('.');
    (clean_part(ascii) && !ascii.starts_with('.')).then(|| ascii.to_string())
}

impl Address {
    pub fn parse(s: &str) -> Result<Address, BadAddress> {
        let s = s
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .trim();
        let bad = || BadAddress(s.to_string());
        let (local, domain) = s.rsplit_once('@').ok_or_else(bad)?;
        let local = unquoted_local(local)
            .filter(|l| clean_part(l))
            .ok_or_else(bad)?;
        let domain = canonical_domain(domain).ok_or_else(bad)?;
        Ok(Address {
            raw: s.to_string(),
            local,
            domain,
        })
    }

    /// As written (for display, and as the address mail goes to).
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The local part without needless quotes, its case as written.
    pub fn local_part(&self) -> &str {
        &self.local
    }

    /// The domain in its comparison form: lower-case ASCII, IDN labels as
    /// punycode, no trailing dot.
    pub fn domain(&self) -> String {
        self.domain.clone()
    }

    /// The comparison key: the local part in lower case, `@`, the domain
    /// in its comparison form.
    pub fn key(&self) -> String {
        format!("{}@{}", self.local.to_ascii_lowercase(), self.domain)
    }
}

impl PartialEq for Address {
    fn eq(&self, other: &Self) -> bool {
        self.domain == other.domain && self.local.eq_ignore_ascii_case(&other.local)
    }
}
impl Eq for Address {}

impl std::hash::Hash for Address {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.key().hash(state)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl FromStr for Address {
    type Err = BadAddress;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Address::parse(s)
    }
}

impl TryFrom<String> for Address {
    type Error = BadAddress;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Address::parse(&s)
    }
}

impl From<Address> for String {
    fn from(a: Address) -> String {
        a.raw
    }
}

/// A display name with its address, as in `From: "Ann Example" <ann@x.example>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mailbox {
    pub name: Option<String>,
    pub address: Address,
}

impl fmt::Display for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(n) if !n.is_empty() => write!(f, "{n} <{}>", self.address),
            _ => write!(f, "{}", self.address),
        }
    }
}

/// How sender addresses are compared (`[intake]` settings): the domain always
/// ignores case; the local part does too unless the operator says otherwise,
/// and a `+tag` (`ann+billing@x`) may be ignored on both sides.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MatchOptions {
    pub case_sensitive_local_part: bool,
    pub ignore_plus_tags: bool,
}

/// The local part without its `+tag` (a leading `+` is not a tag).
fn untagged(local: &str) -> &str {
    match local.find('+') {
        Some(i) if i > 0 => &local[..i],
        _ => local,
    }
}

impl Address {
    /// Whether `self` and `other` name the same mailbox under `opts`.
    pub fn same_mailbox(&self, other: &Address, opts: &MatchOptions) -> bool {
        if self.domain() != other.domain() {
            return false;
        }
        let (mut a, mut b) = (self.local_part(), other.local_part());
        if opts.ignore_plus_tags {
            (a, b) = (untagged(a), untagged(b));
        }
        if opts.case_sensitive_local_part {
            a == b
        } else {
            a.eq_ignore_ascii_case(b)
        }
    }

    /// The key the store looks addresses up by: lower case, `+tag` removed.
    /// Wider than any [`MatchOptions`], so a lookup never misses; the exact
    /// comparison is [`Address::same_mailbox`].
    pub fn lookup_key(&self) -> String {
        format!(
            "{}@{}",
            untagged(self.local_part()).to_ascii_lowercase(),
            self.domain()
        )
    }

    /// The parent domains of the address's domain, nearest first:
    /// `a.eu.x.example` → `eu.x.example`, `x.example`, `example`.
    pub fn parent_domains(&self) -> Vec<String> {
        let domain = self.domain();
        let mut out = Vec::new();
        let mut rest = domain.as_str();
        while let Some((_, up)) = rest.split_once('.') {
            out.push(up.to_string());
            rest = up;
        }
        out
    }
}

/// One entry of a sender list — authorized senders, blocked or priority
/// domains: an address, a domain (that domain only), or `*.domain` (every
/// subdomain of it, at any depth, but not the domain itself).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SenderPattern {
    Address(Address),
    /// Lower case.
    Domain(String),
    /// Lower case, without the `*.`.
    Subdomains(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "not an address, a domain or *.domain: {0:?} (examples: ops@customer.example, customer.example, *.customer.example)"
)]
pub struct BadPattern(pub String);

impl SenderPattern {
    pub fn parse(s: &str) -> Result<SenderPattern, BadPattern> {
        let s = s.trim();
        let bad = || BadPattern(s.to_string());
        if s.contains('@') {
            return Address::parse(s)
                .map(SenderPattern::Address)
                .map_err(|_| bad());
        }
        let (wild, domain) = match s.strip_prefix("*.") {
            Some(d) => (true, d),
            None => (false, s),
        };
        // The domain's comparison form, as addresses get it (IDN as punycode).
        let domain = canonical_domain(domain).ok_or_else(bad)?;
        let label_ok = |l: &str| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars()
                    .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        };
        if domain.is_empty() || !domain.split('.').all(label_ok) {
            return Err(bad());
        }
        Ok(if wild {
            SenderPattern::Subdomains(domain)
        } else {
            SenderPattern::Domain(domain)
        })
    }

    /// Several patterns separated by commas, blanks or new lines, as people
    /// write them: `ops@customer.example, customer.com`.
    pub fn parse_list(s: &str) -> Result<Vec<SenderPattern>, BadPattern> {
        s.split(|c: char| c == ',' || c == ';' || c.is_whitespace())
            .filter(|p| !p.is_empty())
            .map(SenderPattern::parse)
            .collect()
    }

    pub fn kind(&self) -> &'static str {
        match self {
            SenderPattern::Address(_) => "address",
            SenderPattern::Domain(_) => "domain",
            SenderPattern::Subdomains(_) => "subdomains",
        }
    }

    /// The store's lookup key: [`Address::lookup_key`] or the domain.
    pub fn lookup_key(&self) -> String {
        match self {
            SenderPattern::Address(a) => a.lookup_key(),
            SenderPattern::Domain(d) | SenderPattern::Subdomains(d) => d.clone(),
        }
    }

    /// The pattern's identity in a list: its spelling in lower case (so
    /// `Ops@X` and `ops@x` are one entry, `ops+a@x` and `ops+b@x` two).
    pub fn normalized(&self) -> String {
        self.to_string().to_ascii_lowercase()
    }

    pub fn matches(&self, a: &Address, opts: &MatchOptions) -> bool {
        match self {
            SenderPattern::Address(p) => p.same_mailbox(a, opts),
            SenderPattern::Domain(d) => a.domain() == *d,
            SenderPattern::Subdomains(d) => a
                .domain()
                .strip_suffix(d.as_str())
                .is_some_and(|head| head.len() > 1 && head.ends_with('.')),
        }
    }

    /// How precisely the pattern names a sender: an address beats a domain,
    /// a domain beats a wildcard, and a longer wildcard beats a shorter one.
    pub fn specificity(&self) -> (u8, usize) {
        match self {
            SenderPattern::Address(_) => (3, 0),
            SenderPattern::Domain(_) => (2, 0),
            SenderPattern::Subdomains(d) => (1, d.split('.').count()),
        }
    }
}

impl fmt::Display for SenderPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SenderPattern::Address(a) => write!(f, "{a}"),
            SenderPattern::Domain(d) => f.write_str(d),
            SenderPattern::Subdomains(d) => write!(f, "*.{d}"),
        }
    }
}

impl FromStr for SenderPattern {
    type Err = BadPattern;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SenderPattern::parse(s)
    }
}
