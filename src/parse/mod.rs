//! parse: raw bytes → [`Inbound`], the decoded view of one received message
//! that every later stage works with. This is the only module that knows
//! mail-parser; MIME, charsets, mail classification and quote splitting end here.

mod away;
mod body;
mod classify;
mod html;
mod quote;
mod report;

use std::borrow::Cow;
use std::collections::HashSet;

use chrono::{DateTime, Utc};
use mail_parser::{HeaderName, HeaderValue, Message, MessageParser, MessagePart, PartType};
use serde::{Deserialize, Serialize};

use crate::domain::{Address, MailClass, Mailbox};
use classify::{Head, Signals};

pub use away::away_until;
pub use quote::{marker_line, marker_refs, split_quoted, split_reply, split_reply_keeping_context};

#[derive(Debug, Clone, Copy)]
pub struct ParseLimits {
    pub max_size: usize,
    /// Nesting below the top-level message: its root part is at depth 0, each
    /// multipart or attached message adds one.
    pub max_depth: usize,
    /// MIME parts counted over the whole tree, containers and attached
    /// messages included.
    pub max_parts: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub name: Option<String>,
    pub content_type: String,
    pub size: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OriginalRef {
    pub message_id: Option<String>,
    pub subject: Option<String>,
}

/// What a delivery-status notification says about one recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryReport {
    /// The address we wrote to (Original-Recipient, else Final-Recipient).
    pub recipient: Address,
    /// `failed`, `delayed`, `delivered`, `relayed`, `expanded`; lower case.
    pub action: String,
    /// The enhanced status code, e.g. `5.1.1`; "" when the report has none.
    pub status: String,
    /// The remote server's words (Diagnostic-Code), on one line.
    pub diagnostic: String,
}

impl DeliveryReport {
    /// A failure for good: action `failed`, or a 5.x.x status.
    pub fn is_permanent(&self) -> bool {
        self.status.starts_with('5') || (self.status.is_empty() && self.action == "failed")
    }

    /// Not delivered (yet): failed or delayed.
    pub fn is_failure(&self) -> bool {
        matches!(self.action.as_str(), "failed" | "delayed" | "") && !self.status.starts_with('2')
    }
}

#[derive(Debug, Clone, Default)]
pub struct Inbound {
    /// Without angle brackets. Derived from `content_hash` when the message
    /// has none: `<first 32 hex digits>@postdesk.invalid`.
    pub message_id: String,
    pub message_id_derived: bool,
    /// SHA-256 of the raw bytes, hex.
    pub content_hash: String,
    /// Raw length in bytes.
    pub size: usize,
    /// Decoded, on one line; "" when absent.
    pub subject: String,
    pub from: Option<Mailbox>,
    pub reply_to: Vec<Mailbox>,
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
    pub date: Option<DateTime<Utc>>,
    /// Message ids without brackets, in order, without repeats.
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    /// None without the field; "" for the null sender `<>`.
    pub return_path: Option<String>,
    /// The readable body with `\n` line ends: text/plain parts, else HTML as text.
    pub text: String,
    /// The writer's own words in `text`, wherever they sit around quotes,
    /// with `> ` context above inline answers; and the quoted history (see
    /// [`split_reply`]).
    pub new_text: String,
    pub quoted: String,
    pub attachments: Vec<Attachment>,
    /// Decided on the top-level headers only.
    pub class: MailClass,
    /// For bounces and reports: the message they are about.
    pub original: Option<OriginalRef>,
    /// For bounces: what they say about each recipient.
    pub delivery: Vec<DeliveryReport>,
    /// What was wrong with the message and how it was read anyway.
    pub warnings: Vec<String>,
    /// The top-level header fields, top-down, as (name, value unfolded on
    /// one line, not decoded): for the trace fields the screen reads
    /// (`Authentication-Results`, `Received`, a spam filter's verdict).
    pub headers: Vec<(String, String)>,
    /// Whether the message came encrypted (OpenPGP), as the screen found.
    pub encryption: Encryption,
    /// Its OpenPGP or S/MIME signature as the screen checked it; None:
    /// not signed.
    pub signature: Option<Signature>,
    /// The attachments that may be OpenPGP keys (content type, bytes) of
    /// content the screen unwrapped (decrypted, or opaque S/MIME): the
    /// stored raw bytes do not show them. A key is learnt from them only
    /// when the message proves genuine (intake's `learn`).
    pub wrapped_keys: Vec<(String, Vec<u8>)>,
}

/// An OpenPGP or S/MIME signature, checked against the keys and
/// certificates the desk knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signature {
    /// Good, by `signer` (the key's user id and fingerprint, or the
    /// certificate's address and subject); `of_sender`: the key or
    /// certificate carries the From address; `known`: the desk has it from
    /// a source it trusts (an S/MIME certificate brings itself along, and
    /// proves nothing unless it is an account's or issued by a trusted CA).
    /// Only both together vouch for the From address.
    Good {
        signer: String,
        of_sender: bool,
        known: bool,
    },
    /// A known key, and the signature does not verify with it.
    Bad(String),
    /// Signed by a key the desk does not know.
    Unknown,
}

impl Signature {
    /// For staff: `signed, good signature by …`.
    pub fn describe(&self) -> String {
        match self {
            Signature::Good {
                signer,
                of_sender,
                known,
            } => {
                let whose = match (*of_sender, *known) {
                    (false, _) => " (not the sender's key)",
                    (true, true) => "",
                    (true, false) => {
                        " (a certificate the desk does not know: no proof of the sender)"
                    }
                };
                format!("signed, good signature by {signer}{whose}")
            }
            Signature::Bad(why) => format!("signed, BAD signature: {why}"),
            Signature::Unknown => "signed by an unknown key (not checked)".into(),
        }
    }
}

/// What the screen found of a message's OpenPGP encryption (parse itself
/// leaves it `Clear`; see `screen::openpgp`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Encryption {
    #[default]
    Clear,
    /// Decrypted: the text and attachments are the plaintext's.
    Decrypted,
    /// Encrypted and not decrypted, with why.
    Failed(String),
}

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("empty message")]
    Empty,
    #[error("message of {size} bytes is over the limit of {max} bytes")]
    TooLarge { size: usize, max: usize },
    #[error("not a mail message: {0}")]
    NotAMessage(String),
}

/// Reads one raw RFC 5322 message. Broken mail (bad MIME, charsets, encodings,
/// missing headers) still parses, with a line in `warnings` per problem; only
/// input that is not mail at all is an error. Never panics.
pub fn parse(raw: &[u8], limits: &ParseLimits) -> Result<Inbound, ParseError> {
    if raw.is_empty() {
        return Err(ParseError::Empty);
    }
    if raw.len() > limits.max_size {
        return Err(ParseError::TooLarge {
            size: raw.len(),
            max: limits.max_size,
        });
    }
    let mut warnings = Vec::new();
    let input = prepare(raw, &mut warnings);
    if !has_header_field(&input) {
        return Err(ParseError::NotAMessage(
            "no header field in the first lines".into(),
        ));
    }
    isolated(raw.len(), || extract(&input, raw, limits, &warnings, true)).unwrap_or_else(|| {
        Err(ParseError::NotAMessage(
            "the MIME parser failed on this input".into(),
        ))
    })
}

/// Reads only the header of a message that is too large to read whole, so
/// that the screen can tell its sender why it was held (and not tell an
/// automatic sender). The body is not looked at; `size` and `content_hash`
/// are those of the whole message.
pub fn parse_head(raw: &[u8]) -> Result<Inbound, ParseError> {
    /// A header larger than this is not a mail header.
    const MAX_HEAD: usize = 256 << 10;
    let mut warnings = Vec::new();
    let input = prepare(&raw[..raw.len().min(MAX_HEAD)], &mut warnings);
    // The first blank line, LF or CRLF, ends the header.
    let lf = input.windows(2).position(|w| w == b"\n\n").map(|i| i + 1);
    let crlf = input
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 2);
    let end =
        [lf, crlf].into_iter().flatten().min().ok_or_else(|| {
            ParseError::NotAMessage("no end of header in the first 256 KB".into())
        })?;
    let head = &input[..end];
    if !has_header_field(head) {
        return Err(ParseError::NotAMessage(
            "no header field in the first lines".into(),
        ));
    }
    let limits = ParseLimits {
        max_size: usize::MAX,
        max_depth: 1,
        max_parts: 1,
    };
    let mut inbound = isolated(head.len(), || extract(head, raw, &limits, &warnings, false))
        .unwrap_or_else(|| {
            Err(ParseError::NotAMessage(
                "the MIME parser failed on this input".into(),
            ))
        })?;
    inbound.text.clear();
    inbound.new_text.clear();
    inbound.quoted.clear();
    inbound.attachments.clear();
    inbound
        .warnings
        .push("too large: only the header was read".into());
    Ok(inbound)
}

/// A file attached to a message, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentFile {
    pub info: Attachment,
    pub bytes: Vec<u8>,
}

/// The attachments of a message with their contents (as listed in
/// [`Inbound::attachments`]), within the same limits: for a mail that
/// passes them on. Unreadable input has none.
pub fn attachment_files(raw: &[u8], limits: &ParseLimits) -> Vec<AttachmentFile> {
    if raw.is_empty() || raw.len() > limits.max_size {
        return Vec::new();
    }
    let mut warnings = Vec::new();
    let input = prepare(raw, &mut warnings);
    isolated(raw.len(), || {
        let Some(msg) = MessageParser::default().parse(&input[..]) else {
            return Vec::new();
        };
        let scope = Scope::walk(&msg, limits, &mut Vec::new());
        body::attachment_files(&msg, &scope, &input)
            .into_iter()
            .map(|(info, bytes)| AttachmentFile { info, bytes })
            .collect()
    })
    .unwrap_or_default()
}

pub fn content_hash(raw: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(raw))
}

/// Stack for the parser thread: see [`isolated`].
const STACK_BASE: usize = 8 << 20;
const STACK_PER_INPUT_BYTE: usize = 12;
const INLINE_MAX: usize = 64 << 10;

/// Runs `job` on a thread of its own. mail-parser keeps one nested `Message`
/// per message/rfc822 level and drops them recursively: 100 000 levels (under
/// 3 MB of input) overflow an 8 MB stack, which aborts the whole daemon, not
/// just this parse. A level costs at least 29 input bytes and, measured in a
/// debug build, ~260 bytes of stack, so the stack is sized from the input
/// length. It is only reserved address space until used. A panic in the
/// parser comes back as None.
///
/// Most mail is small, and a thread per message costs about a tenth of the
/// intake time: up to `INLINE_MAX` bytes (at most ~2,300 levels, ~600 KB of
/// stack) the parse runs on the caller's stack, which is at least the 2 MB
/// of a Rust or tokio blocking thread.
fn isolated<T: Send>(input_len: usize, job: impl Fn() -> T + Sync) -> Option<T> {
    if input_len <= INLINE_MAX {
        return std::panic::catch_unwind(std::panic::AssertUnwindSafe(&job)).ok();
    }
    let stack = STACK_BASE.saturating_add(input_len.saturating_mul(STACK_PER_INPUT_BYTE));
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new()
            .name("parse".into())
            .stack_size(stack);
        match thread.spawn_scoped(scope, &job) {
            Ok(handle) => handle.join().ok(),
            // No thread to be had (resource limits): parsing here beats losing the mail.
            Err(_) => std::panic::catch_unwind(std::panic::AssertUnwindSafe(&job)).ok(),
        }
    })
}

/// Undoes what keeps mail-parser from seeing the headers: a UTF-8 byte order
/// mark, leading blank lines, an mbox envelope line, and classic Mac CR-only
/// line endings.
fn prepare<'a>(raw: &'a [u8], warnings: &mut Vec<String>) -> Cow<'a, [u8]> {
    let mut input = Cow::Borrowed(raw);
    if raw.contains(&b'\r') && !raw.contains(&b'\n') {
        warnings.push("CR-only line endings, read as LF".into());
        input = Cow::Owned(
            raw.iter()
                .map(|&b| if b == b'\r' { b'\n' } else { b })
                .collect(),
        );
    }
    let mut start = if input.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    start += input[start..]
        .iter()
        .take_while(|b| matches!(b, b'\r' | b'\n'))
        .count();
    // An mbox envelope line ("From ann@x Mon Jan 1 …"), not a "From :" field.
    let envelope = input[start..]
        .strip_prefix(b"From ")
        .is_some_and(|rest| !rest.trim_ascii_start().starts_with(b":"));
    if envelope {
        start = input[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(input.len(), |nl| start + nl + 1);
    }
    match input {
        Cow::Borrowed(bytes) => Cow::Borrowed(&bytes[start..]),
        Cow::Owned(mut bytes) => {
            bytes.drain(..start);
            Cow::Owned(bytes)
        }
    }
}

/// mail-parser takes any line with a colon for a header field, so binary
/// garbage "parses". Mail has a well-formed field name (RFC 5322: printable
/// ASCII, no colon) somewhere in its header block.
fn has_header_field(input: &[u8]) -> bool {
    input
        .split(|&b| b == b'\n')
        .take(50)
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .take_while(|line| !line.is_empty())
        .any(|line| {
            line.iter().position(|&b| b == b':').is_some_and(|colon| {
                let name = line[..colon].trim_ascii_end();
                (1..=76).contains(&name.len()) && name.iter().all(|b| (0x21..=0x7e).contains(b))
            })
        })
}

/// The Date header as an instant; None (with a warning) when unreadable.
fn date(msg: &Message<'_>, warnings: &mut Vec<String>) -> Option<DateTime<Utc>> {
    let value = msg.header(HeaderName::Date)?;
    let date = value
        .as_datetime()
        .filter(|d| d.is_valid())
        .and_then(|d| DateTime::from_timestamp(d.to_timestamp(), 0));
    if date.is_none() {
        warnings.push("unreadable Date header".into());
    }
    date
}

/// Every header field as written (name, value on one line), in order.
fn head(msg: &Message<'_>, input: &[u8]) -> Head {
    Head(
        msg.headers()
            .iter()
            .map(|h| {
                let value = input
                    .get(h.offset_start as usize..h.offset_end as usize)
                    .unwrap_or_default();
                (
                    h.name.as_str().to_string(),
                    one_line(&String::from_utf8_lossy(value)),
                )
            })
            .collect(),
    )
}

/// `body`: whether `input` has the body (else only the header was read).
fn extract(
    input: &[u8],
    raw: &[u8],
    limits: &ParseLimits,
    early_warnings: &[String],
    body: bool,
) -> Result<Inbound, ParseError> {
    let msg = MessageParser::default()
        .parse(input)
        .ok_or_else(|| ParseError::NotAMessage("no header fields".into()))?;
    let mut warnings = early_warnings.to_vec();
    let scope = Scope::walk(&msg, limits, &mut warnings);
    let content_hash = content_hash(raw);

    let (message_id, message_id_derived) = match msg.message_id().and_then(bare_id) {
        Some(id) => (id, false),
        None => {
            warnings.push("no usable Message-ID, derived one from the content hash".into());
            (format!("{}@postdesk.invalid", &content_hash[..32]), true)
        }
    };
    let subject = msg.subject().map(one_line).unwrap_or_default();
    let from = mailboxes(&msg, HeaderName::From).into_iter().next();
    if from.is_none() {
        warnings.push("no valid From address".into());
    }
    let date = date(&msg, &mut warnings);
    let head = head(&msg, input);
    let return_path = head.get("Return-Path").map(bare_return_path);

    let text = body::normalize_text(&body::readable_text(&msg, &scope).unwrap_or_default());
    let (new_text, quoted) = split_quoted(&text);
    if text.contains('\u{FFFD}') || subject.contains('\u{FFFD}') {
        warnings.push("undecodable bytes in the subject or text, replaced by U+FFFD".into());
    }
    body::part_warnings(&msg, &scope, input, &mut warnings);

    let report_type = report::report_type(&msg);
    let class = classify::classify(&Signals {
        head: &head,
        subject: &subject,
        from: from.as_ref(),
        return_path: return_path.as_deref(),
        report_type: report_type.as_deref(),
        text: &text,
        new_text: &new_text,
        own_text: body.then(|| has_own_text(&msg, &scope)),
    });
    let original = (matches!(class, MailClass::Bounce(_)) || report_type.is_some())
        .then(|| report::original_ref(&msg, &scope, &text))
        .flatten();
    let delivery = if matches!(class, MailClass::Bounce(_)) {
        report::delivery_reports(&msg, &scope, head.get("X-Failed-Recipients"), &text)
    } else {
        Vec::new()
    };

    Ok(Inbound {
        message_id,
        message_id_derived,
        content_hash,
        size: raw.len(),
        subject,
        from,
        reply_to: mailboxes(&msg, HeaderName::ReplyTo),
        to: mailboxes(&msg, HeaderName::To),
        cc: mailboxes(&msg, HeaderName::Cc),
        date,
        in_reply_to: ids(&msg, HeaderName::InReplyTo),
        references: ids(&msg, HeaderName::References),
        return_path,
        text,
        new_text,
        quoted,
        attachments: body::attachments(&msg, &scope, input),
        class,
        original,
        delivery,
        warnings,
        // The screen reads the trace fields again; classify is done with them.
        headers: head.0,
        encryption: Encryption::Clear,
        signature: None,
        wrapped_keys: Vec::new(),
    })
}

/// The parts within `ParseLimits`, found by an explicit-stack walk so that no
/// nesting reaches our own stack. Parts are keyed by the address of the
/// `Message` they belong to (each attached message has its own part list).
struct Scope {
    allowed: HashSet<(usize, u32)>,
}

impl Scope {
    fn walk(msg: &Message<'_>, limits: &ParseLimits, warnings: &mut Vec<String>) -> Scope {
        let mut allowed = HashSet::new();
        let (mut too_deep, mut too_many) = (false, false);
        let mut stack = vec![(msg, 0u32, 0usize)];
        while let Some((m, id, depth)) = stack.pop() {
            let Some(part) = m.parts.get(id as usize) else {
                continue;
            };
            if depth > limits.max_depth {
                too_deep = true;
                continue;
            }
            if allowed.len() >= limits.max_parts {
                too_many = true;
                break;
            }
            allowed.insert(Self::key(m, id));
            match &part.body {
                // Children always come after their parent; anything else would be a cycle.
                PartType::Multipart(children) => {
                    stack.extend(
                        children
                            .iter()
                            .rev()
                            .filter(|&&c| c > id)
                            .map(|&c| (m, c, depth + 1)),
                    );
                }
                PartType::Message(inner) => stack.push((inner, 0, depth + 1)),
                _ => {}
            }
        }
        if too_deep {
            warnings.push(format!(
                "MIME tree deeper than {} levels, deeper parts ignored",
                limits.max_depth
            ));
        }
        if too_many {
            warnings.push(format!(
                "more than {} MIME parts, the rest ignored",
                limits.max_parts
            ));
        }
        Scope { allowed }
    }

    fn key(m: &Message<'_>, id: u32) -> (usize, u32) {
        (std::ptr::from_ref(m).addr(), id)
    }

    /// The parts of `m` named by `ids` that are within limits.
    pub(super) fn parts<'m, 'x>(
        &self,
        m: &'m Message<'x>,
        ids: &'m [u32],
    ) -> impl Iterator<Item = (u32, &'m MessagePart<'x>)> {
        ids.iter()
            .filter_map(move |&id| m.parts.get(id as usize).map(|p| (id, p)))
            .filter(move |&(id, _)| self.allowed.contains(&Self::key(m, id)))
    }

    /// All parts of `m` that are within limits, in order.
    pub(super) fn all_parts<'m, 'x>(
        &self,
        m: &'m Message<'x>,
    ) -> impl Iterator<Item = (u32, &'m MessagePart<'x>)> {
        (0u32..)
            .zip(&m.parts)
            .filter(move |&(id, _)| self.allowed.contains(&Self::key(m, id)))
    }
}

/// Whether the top-level message has text of its own, not only an attached
/// message's (which `body::readable_text` falls back to).
fn has_own_text(m: &Message<'_>, scope: &Scope) -> bool {
    scope
        .parts(m, &m.text_body)
        .chain(scope.parts(m, &m.html_body))
        .any(|(_, p)| matches!(&p.body, PartType::Text(t) | PartType::Html(t) if !t.trim().is_empty()))
}

/// The valid mailboxes of a header (group members included), without repeats.
fn mailboxes(m: &Message<'_>, name: HeaderName<'_>) -> Vec<Mailbox> {
    let mut seen = HashSet::new();
    m.header_values(name)
        .filter_map(HeaderValue::as_address)
        .flat_map(|a| a.iter())
        .filter_map(|addr| {
            let written = addr.address.as_deref()?;
            let mut name = addr.name.as_deref();
            // mail-parser reads a bare quoted local part (`"x"@evil.example`)
            // as the display name and "@evil.example": put it back together,
            // so that the screen sees the address that was written.
            let address = if written.starts_with('@') {
                let quoted = format!("\"{}\"{written}", name.take()?);
                Address::parse(&quoted).ok()?
            } else {
                Address::parse(written).ok()?
            };
            seen.insert(address.key()).then(|| Mailbox {
                name: name.map(one_line).filter(|n| !n.is_empty()),
                address,
            })
        })
        .collect()
}

/// Message ids of a header, bare, in order, without repeats.
fn ids(m: &Message<'_>, name: HeaderName<'_>) -> Vec<String> {
    let mut seen = HashSet::new();
    m.header_values(name)
        .flat_map(|v| match v {
            HeaderValue::Text(t) => vec![t.as_ref()],
            HeaderValue::TextList(list) => list.iter().map(AsRef::as_ref).collect(),
            _ => Vec::new(),
        })
        .filter_map(bare_id)
        .filter(|id| seen.insert(id.clone()))
        .collect()
}

pub(super) fn bare_id(s: &str) -> Option<String> {
    let id = s
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim();
    (!id.is_empty() && !id.chars().any(|c| c.is_whitespace() || c.is_control()))
        .then(|| id.to_string())
}

/// `<>` and an empty field are the null sender ""; else the bare address.
fn bare_return_path(value: &str) -> String {
    let value = value.trim();
    match value.strip_prefix('<') {
        Some(rest) => rest
            .split('>')
            .next()
            .unwrap_or_default()
            .trim()
            .to_string(),
        None => value
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string(),
    }
}

/// Header text on one line: whitespace runs and control characters become one space.
pub(super) fn one_line(s: &str) -> String {
    s.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests;
