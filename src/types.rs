//! Domain types shared by every stage of the flow.
//!
//! Stages hand each other these values instead of strings, so a ticket number
//! cannot be confused with a row id and a status is always one of the six that
//! DESIGN.md names.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A ticket's public number, the `N` of the subject token `[PREFIX #N]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TicketId(pub i64);

impl fmt::Display for TicketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for TicketId {
    type Err = std::num::ParseIntError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim().trim_start_matches('#').parse().map(TicketId)
    }
}

/// Ticket status, spelled on the wire (JSON, CLI, database) as in DESIGN.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    New,
    InProgress,
    WaitingForCustomer,
    OnHold,
    Closed,
    Rejected,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::New,
        Status::InProgress,
        Status::WaitingForCustomer,
        Status::OnHold,
        Status::Closed,
        Status::Rejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::InProgress => "in-progress",
            Status::WaitingForCustomer => "waiting-for-customer",
            Status::OnHold => "on-hold",
            Status::Closed => "closed",
            Status::Rejected => "rejected",
        }
    }

    /// Open tickets are the ones `ticket list` shows by default.
    pub fn is_open(self) -> bool {
        !matches!(self, Status::Closed | Status::Rejected)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error(
    "unknown status {0:?} (expected one of: new, in-progress, waiting-for-customer, on-hold, closed, rejected)"
)]
pub struct UnknownStatus(pub String);

impl FromStr for Status {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        Status::ALL
            .into_iter()
            .find(|st| st.as_str() == wanted)
            .ok_or_else(|| UnknownStatus(s.to_string()))
    }
}

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

/// What kind of mail a message is, for the loop rules: only `Normal` mail is
/// ever answered automatically (RFC 3834 section 2), and only `AutoReply`
/// and `Bounce` are a machine's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "class", content = "reason", rename_all = "kebab-case")]
pub enum MailClass {
    #[default]
    Normal,
    /// An automatic message: out-of-office, list mail, notification. The
    /// string names the signal that gave it away, e.g. `Auto-Submitted: auto-replied`.
    AutoReply(String),
    /// A delivery status notification (bounce), with the signal.
    Bounce(String),
    /// A person's mail, as far as anyone can tell, that asks not to be
    /// answered automatically (`X-Auto-Response-Suppress: All`): taken in
    /// like any person's mail (Exchange sets the field on human mail too),
    /// but no receipt, confirmation request or refusal answers it.
    NoAutoAnswer(String),
}

impl MailClass {
    /// Sent by a machine: never answered, no sign of life from a customer.
    pub fn is_automatic(&self) -> bool {
        matches!(self, MailClass::AutoReply(_) | MailClass::Bounce(_))
    }

    pub fn label(&self) -> &'static str {
        match self {
            MailClass::Normal => "normal",
            MailClass::AutoReply(_) => "auto-reply",
            MailClass::Bounce(_) => "bounce",
            MailClass::NoAutoAnswer(_) => "no-auto-answer",
        }
    }

    /// Why no automatic mail may answer the message (automatic, or asking
    /// for silence); None for plain mail.
    pub fn reason(&self) -> Option<&str> {
        match self {
            MailClass::Normal => None,
            MailClass::AutoReply(r) | MailClass::Bounce(r) | MailClass::NoAutoAnswer(r) => Some(r),
        }
    }

    /// Rebuilds a class from its stored label and reason.
    pub fn from_parts(label: &str, reason: Option<String>) -> MailClass {
        let reason = reason.unwrap_or_default();
        match label {
            "auto-reply" => MailClass::AutoReply(reason),
            "bounce" => MailClass::Bounce(reason),
            "no-auto-answer" => MailClass::NoAutoAnswer(reason),
            _ => MailClass::Normal,
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

/// A customer account's id as the operator chose it (`cust-001`): 1-64
/// characters of letters, digits, `_ . -`, starting with a letter or digit.
/// Compared without regard to ASCII case, like the store does, because
/// people type ids into mail (`Account: CUST-001`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccountId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an account id: {0:?} (1-64 letters, digits, _ . -, starting with a letter or digit)")]
pub struct BadAccountId(pub String);

impl AccountId {
    pub fn parse(s: &str) -> Result<AccountId, BadAccountId> {
        let s = s.trim();
        let ok = (1..=64).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_alphanumeric())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
        if ok {
            Ok(AccountId(s.to_string()))
        } else {
            Err(BadAccountId(s.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl PartialEq for AccountId {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}
impl Eq for AccountId {}

impl std::hash::Hash for AccountId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.to_ascii_lowercase().hash(state)
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for AccountId {
    type Err = BadAccountId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AccountId::parse(s)
    }
}

impl TryFrom<String> for AccountId {
    type Error = BadAccountId;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        AccountId::parse(&s)
    }
}

impl From<AccountId> for String {
    fn from(a: AccountId) -> String {
        a.0
    }
}

/// Why a message sits in quarantine, as a word scripts can count by
/// (`quarantine list --json` field `kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HoldKind {
    /// Not mail at all, or beyond the MIME parser.
    Unreadable,
    /// Over `intake.max_message_size`.
    TooLarge,
    /// From a blocked domain or address.
    Blocked,
    /// The operator's spam filter said so.
    Spam,
    /// Automatic mail matching no ticket.
    Automatic,
    /// From our own address, matching no ticket.
    Loop,
    /// No usable From address.
    NoSender,
    /// An unknown sender who has been asked to confirm their address.
    Unconfirmed,
    /// A known address (a staff member, an account's primary address)
    /// whose mail could not be shown to come from it: held until the
    /// address confirms this very message.
    Unproven,
    /// An unknown sender under `unknown_sender = "reject"`.
    Rejected,
    /// A request refused: self-service from someone else than the primary
    /// address, an account named that the sender may not write for.
    Refused,
    /// A reply to a confirmation whose code is wrong, expired or used.
    BadConfirmation,
    /// Anything held before kinds were recorded.
    Other,
}

impl HoldKind {
    pub const ALL: [HoldKind; 13] = [
        HoldKind::Unreadable,
        HoldKind::TooLarge,
        HoldKind::Blocked,
        HoldKind::Spam,
        HoldKind::Automatic,
        HoldKind::Loop,
        HoldKind::NoSender,
        HoldKind::Unconfirmed,
        HoldKind::Unproven,
        HoldKind::Rejected,
        HoldKind::Refused,
        HoldKind::BadConfirmation,
        HoldKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HoldKind::Unreadable => "unreadable",
            HoldKind::TooLarge => "too-large",
            HoldKind::Blocked => "blocked",
            HoldKind::Spam => "spam",
            HoldKind::Automatic => "automatic",
            HoldKind::Loop => "loop",
            HoldKind::NoSender => "no-sender",
            HoldKind::Unconfirmed => "unconfirmed",
            HoldKind::Unproven => "unproven",
            HoldKind::Rejected => "rejected",
            HoldKind::Refused => "refused",
            HoldKind::BadConfirmation => "bad-confirmation",
            HoldKind::Other => "other",
        }
    }

    pub fn parse(s: &str) -> HoldKind {
        HoldKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .unwrap_or(HoldKind::Other)
    }
}

impl fmt::Display for HoldKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which side of the desk a mail went to. Only a customer-side mail's
/// Message-ID lets its holder into a ticket; a staff-side one proves a
/// staff member answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Audience {
    /// The customer side of a ticket, or a sender the desk answers.
    Customer,
    /// The staff: notifications, answers to staff mail, staff notices.
    Staff,
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Customer => "customer",
            Audience::Staff => "staff",
        }
    }

    pub fn parse(s: &str) -> Option<Audience> {
        match s {
            "customer" => Some(Audience::Customer),
            "staff" => Some(Audience::Staff),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trips_through_its_wire_name() {
        for st in Status::ALL {
            assert_eq!(st.as_str().parse::<Status>().unwrap(), st);
        }
        assert!("open".parse::<Status>().is_err());
        assert_eq!("In-Progress".parse::<Status>().unwrap(), Status::InProgress);
    }

    #[test]
    fn address_parsing_and_case() {
        let a = Address::parse(" <Ann@Example.COM> ").unwrap();
        assert_eq!(a.as_str(), "Ann@Example.COM");
        assert_eq!(a.domain(), "example.com");
        assert_eq!(a, Address::parse("ann@example.com").unwrap());
        for bad in [
            "",
            "ann",
            "@x.example",
            "ann@",
            "a b@x.example",
            "a@b@c",
            "a@.x",
        ] {
            assert!(Address::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    /// Every spelling of one mailbox is that mailbox (issue 17, item 9):
    /// the trailing dot, needless quotes, case, IDN in Unicode or punycode.
    #[test]
    fn address_spellings_compare_as_one_mailbox() {
        let plain = Address::parse("x@evil.example").unwrap();
        for spelling in [
            "x@evil.example.",
            "x@evil.example..",
            "\"x\"@evil.example",
            "<\"x\"@evil.example.>",
            "X@EVIL.EXAMPLE",
            "\"X\"@Evil.Example.",
        ] {
            let a = Address::parse(spelling).unwrap();
            assert_eq!(a, plain, "{spelling}");
            assert_eq!(a.key(), "x@evil.example", "{spelling}");
            assert_eq!(a.domain(), "evil.example", "{spelling}");
            assert_eq!(a.lookup_key(), "x@evil.example", "{spelling}");
        }
        // Staff, blocked addresses and authorized senders match by
        // same_mailbox, in every comparison mode.
        let strict = MatchOptions {
            case_sensitive_local_part: true,
            ignore_plus_tags: false,
        };
        let odd = Address::parse("\"x\"@EVIL.example.").unwrap();
        assert!(odd.same_mailbox(&plain, &strict) && plain.same_mailbox(&odd, &strict));
        assert!(SenderPattern::Address(plain.clone()).matches(&odd, &MatchOptions::default()));
        // The spelling is kept for display and for the mail we send.
        assert_eq!(
            Address::parse("\"X\"@Evil.Example.").unwrap().as_str(),
            "\"X\"@Evil.Example."
        );
        // Quotes hide nothing: what they held is read as if unquoted.
        assert_eq!(
            Address::parse("\"a.b\"@x.example").unwrap().local_part(),
            "a.b"
        );
        assert_eq!(
            Address::parse("\"a\".b@x.example").unwrap().local_part(),
            "a.b"
        );
        for bad in [
            "\"ann@good.example\"@evil.example",
            "\"x y\"@evil.example",
            "\"x@evil.example",
            "\"x\\\"y\"@evil.example",
            "x@.",
            "x@..",
        ] {
            assert!(Address::parse(bad).is_err(), "{bad:?} should be refused");
        }
        // IDN: Unicode and punycode are one domain, whatever the case.
        let idn = Address::parse("x@xn--vil-9la.example").unwrap();
        for spelling in [
            "x@évil.example",
            "x@ÉVIL.EXAMPLE",
            "x@XN--VIL-9LA.example",
            "x@évil。example",
        ] {
            let a = Address::parse(spelling).unwrap();
            assert_eq!(a, idn, "{spelling}");
            assert_eq!(a.domain(), "xn--vil-9la.example", "{spelling}");
        }
        assert_ne!(idn, plain);
        // Unicode domain patterns are stored in the same form.
        assert_eq!(
            SenderPattern::parse("Évil.Example.").unwrap(),
            SenderPattern::Domain("xn--vil-9la.example".into())
        );
        assert!(
            SenderPattern::parse("*.évil.example")
                .unwrap()
                .matches(&a("x@mx.xn--vil-9la.example."), &MatchOptions::default())
        );
    }

    #[test]
    fn ticket_id_accepts_a_leading_hash() {
        assert_eq!("#42".parse::<TicketId>().unwrap(), TicketId(42));
        assert!("x".parse::<TicketId>().is_err());
    }

    fn a(s: &str) -> Address {
        Address::parse(s).unwrap()
    }

    /// Who an authorized-senders entry lets in, under each comparison
    /// setting: (pattern, sender, default, case-sensitive, plus-tags ignored).
    #[test]
    fn sender_patterns_match_as_documented() {
        #[rustfmt::skip]
        let cases: &[(&str, &str, bool, bool, bool)] = &[
            // addresses: the domain never cares about case
            ("ops@customer.example",   "ops@customer.example",    true,  true,  true),
            ("ops@customer.example",   "ops@CUSTOMER.Example",    true,  true,  true),
            ("ops@customer.example",   "OPS@customer.example",    true,  false, true),
            ("Ops@customer.example",   "ops@customer.example",    true,  false, true),
            ("ops@customer.example",   "ops2@customer.example",   false, false, false),
            ("ops@customer.example",   "ops@eu.customer.example", false, false, false),
            // plus tags: only ignored when the config says so, on both sides
            ("ops@customer.example",   "ops+billing@customer.example", false, false, true),
            ("ops+billing@customer.example", "ops@customer.example",   false, false, true),
            ("ops+a@customer.example", "ops+a@customer.example",  true,  true,  true),
            ("ops+a@customer.example", "ops+b@customer.example",  false, false, true),
            ("ops@customer.example",   "+ops@customer.example",   false, false, false),
            // a domain covers itself only
            ("customer.example",       "anyone@customer.example", true,  true,  true),
            ("customer.example",       "Anyone@Customer.EXAMPLE", true,  true,  true),
            ("Customer.Example",       "x@customer.example",      true,  true,  true),
            ("customer.example",       "x@eu.customer.example",   false, false, false),
            ("customer.example",       "x@notcustomer.example",   false, false, false),
            ("customer.example",       "x@customer.example.evil", false, false, false),
            // *.domain covers subdomains at any depth, not the domain itself
            ("*.customer.example",     "x@eu.customer.example",   true,  true,  true),
            ("*.customer.example",     "x@a.eu.customer.example", true,  true,  true),
            ("*.customer.example",     "x@customer.example",      false, false, false),
            ("*.customer.example",     "x@evilcustomer.example",  false, false, false),
            ("*.customer.example",     "x@EU.Customer.Example",   true,  true,  true),
        ];
        let modes = [
            MatchOptions::default(),
            MatchOptions {
                case_sensitive_local_part: true,
                ignore_plus_tags: false,
            },
            MatchOptions {
                case_sensitive_local_part: false,
                ignore_plus_tags: true,
            },
        ];
        for &(pattern, sender, plain, sensitive, tags) in cases {
            let p = SenderPattern::parse(pattern).unwrap();
            for (opts, want) in modes.iter().zip([plain, sensitive, tags]) {
                assert_eq!(
                    p.matches(&a(sender), opts),
                    want,
                    "{pattern} vs {sender} with {opts:?}"
                );
            }
        }
    }

    #[test]
    fn sender_patterns_parse_and_refuse() {
        let list = SenderPattern::parse_list("ops@customer.example, customer.com;*.eu.x.example\n")
            .unwrap();
        assert_eq!(
            list,
            [
                SenderPattern::Address(a("ops@customer.example")),
                SenderPattern::Domain("customer.com".into()),
                SenderPattern::Subdomains("eu.x.example".into()),
            ]
        );
        assert_eq!(list[2].to_string(), "*.eu.x.example");
        for bad in [
            "",
            "*",
            "*.",
            "a..b",
            "-a.example",
            "a b.example",
            "*.*.x",
            "x@",
            "@x",
            "a.example-",
        ] {
            assert!(
                SenderPattern::parse(bad).is_err(),
                "{bad:?} should be refused"
            );
        }
        assert!(SenderPattern::parse_list("ok.example, bad..example").is_err());
        // The lookup key is wide enough for every comparison mode.
        assert_eq!(a("Ops+Billing@X.Example").lookup_key(), "ops@x.example");
        assert_eq!(
            a("x@a.eu.x.example").parent_domains(),
            ["eu.x.example", "x.example", "example"]
        );
        assert!(
            SenderPattern::parse("x@y.example").unwrap().specificity()
                > SenderPattern::parse("y.example").unwrap().specificity()
        );
        assert!(
            SenderPattern::parse("*.eu.y.example")
                .unwrap()
                .specificity()
                > SenderPattern::parse("*.y.example").unwrap().specificity()
        );
    }

    #[test]
    fn account_ids() {
        assert_eq!(
            AccountId::parse("cust-001").unwrap(),
            AccountId::parse("CUST-001").unwrap()
        );
        for bad in ["", "-x", "a b", "a/b", &"x".repeat(65)] {
            assert!(AccountId::parse(bad).is_err(), "{bad:?}");
        }
    }
}
