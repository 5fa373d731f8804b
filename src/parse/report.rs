//! Delivery reports: which kind, and which of our messages they are about.

use std::sync::LazyLock;

use mail_parser::{Message, MessageParser, MessagePart, MimeHeaders, PartType};
use regex::Regex;

use super::body::content_type;
use super::{OriginalRef, Scope, bare_id, one_line};

/// `report-type` of a top-level multipart/report, else inferred from its
/// machine-readable part; "" when neither says.
pub(super) fn report_type(m: &Message<'_>) -> Option<String> {
    let ct = m.parts.first()?.content_type()?;
    let is_report = ct.ctype().eq_ignore_ascii_case("multipart")
        && ct
            .subtype()
            .is_some_and(|s| s.eq_ignore_ascii_case("report"));
    if !is_report {
        return None;
    }
    if let Some(rt) = ct.attribute("report-type") {
        return Some(rt.trim().to_ascii_lowercase());
    }
    let inferred = m.parts.iter().find_map(|p| {
        let sub = p.content_type()?.subtype()?.to_ascii_lowercase();
        [
            "delivery-status",
            "feedback-report",
            "disposition-notification",
        ]
        .contains(&sub.as_str())
        .then_some(sub)
    });
    Some(inferred.unwrap_or_default())
}

/// The message a bounce or report is about: from the returned message, its
/// returned headers, an MDN's Original-Message-ID, or for plain-text bounces a
/// header block quoted in the body.
pub(super) fn original_ref(m: &Message<'_>, scope: &Scope, text: &str) -> Option<OriginalRef> {
    let parts: Vec<&MessagePart<'_>> = scope.parts(m, &m.attachments).map(|(_, p)| p).collect();
    let from_message = parts.iter().find_map(|p| match &p.body {
        PartType::Message(inner) => known(OriginalRef {
            message_id: inner.message_id().and_then(bare_id),
            subject: inner.subject().map(one_line),
        }),
        _ => None,
    });
    from_message
        .or_else(|| {
            parts.iter().find_map(|p| {
                // Returned headers only, or a returned message mail-parser could not read.
                let body = || match &p.body {
                    PartType::Text(t) | PartType::Html(t) => t.to_string(),
                    PartType::Binary(b) | PartType::InlineBinary(b) => {
                        String::from_utf8_lossy(b).into_owned()
                    }
                    PartType::Message(_) | PartType::Multipart(_) => String::new(),
                };
                match content_type(p).as_str() {
                    "text/rfc822-headers" | "message/rfc822" | "message/rfc822-headers" => {
                        header_block_ref(&body())
                    }
                    "message/disposition-notification" => known(OriginalRef {
                        message_id: ORIGINAL_MESSAGE_ID
                            .captures(&body())
                            .and_then(|c| bare_id(&c[1])),
                        subject: None,
                    }),
                    _ => None,
                }
            })
        })
        .or_else(|| quoted_header_ref(text))
}

static ORIGINAL_MESSAGE_ID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?mi)^\s*original-message-id\s*:\s*(\S+)").expect("static regex")
});

static ANCHOR_FIELD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?mi)^[ \t]*(message-id|subject)[ \t]*:").expect("static regex"));

static FIELD_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[\x21-\x39\x3b-\x7e]+[ \t]*:").expect("static regex"));

fn known(r: OriginalRef) -> Option<OriginalRef> {
    (r.message_id.is_some() || r.subject.is_some()).then_some(r)
}

fn header_block_ref(block: &str) -> Option<OriginalRef> {
    let m = MessageParser::default().parse_headers(block.as_bytes())?;
    known(OriginalRef {
        message_id: m.message_id().and_then(bare_id),
        subject: m.subject().map(one_line),
    })
}

/// A plain-text bounce quotes the returned headers in its body: take the
/// header block around the first Message-ID (else Subject) line.
fn quoted_header_ref(text: &str) -> Option<OriginalRef> {
    let anchor = ANCHOR_FIELD
        .captures_iter(text)
        .find(|c| c[1].eq_ignore_ascii_case("message-id"))
        .or_else(|| ANCHOR_FIELD.captures(text))?;
    let at = anchor.get(0)?.start();
    let lines: Vec<&str> = text.lines().collect();
    let line_no = text[..at].matches('\n').count();
    let indent = lines.get(line_no)?.len() - lines.get(line_no)?.trim_start().len();
    let in_block = |l: &str| {
        let l = l.get(indent.min(l.len())..).unwrap_or(l);
        !l.trim().is_empty() && (FIELD_LINE.is_match(l) || l.starts_with([' ', '\t']))
    };
    let start = line_no
        - lines[..line_no]
            .iter()
            .rev()
            .take_while(|l| in_block(l))
            .count();
    let end = line_no
        + 1
        + lines[line_no + 1..]
            .iter()
            .take_while(|l| in_block(l))
            .count();
    let block: Vec<&str> = lines[start..end]
        .iter()
        .map(|l| l.get(indent.min(l.len())..).unwrap_or(l))
        .collect();
    header_block_ref(&(block.join("\n") + "\n\n"))
}
