//! Delivery reports: which kind, and which of our messages they are about.

use std::sync::LazyLock;

use mail_parser::{Message, MessageParser, MessagePart, MimeHeaders, PartType};
use regex::Regex;

use super::body::content_type;
use super::{DeliveryReport, OriginalRef, Scope, bare_id, one_line};
use crate::domain::Address;

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

/// What a bounce says about each recipient: the per-recipient fields of
/// its message/delivery-status part (RFC 3464), else — for the bounces
/// that have none — the addresses of X-Failed-Recipients with the first
/// enhanced status code (RFC 3463) of the text and the line that holds it.
pub(super) fn delivery_reports(
    m: &Message<'_>,
    scope: &Scope,
    failed_header: Option<&str>,
    text: &str,
) -> Vec<DeliveryReport> {
    let from_dsn: Vec<DeliveryReport> = scope
        .all_parts(m)
        .filter(|(_, p)| {
            matches!(
                content_type(p).as_str(),
                "message/delivery-status" | "message/global-delivery-status"
            )
        })
        .flat_map(|(_, p)| {
            let body = match &p.body {
                PartType::Text(t) | PartType::Html(t) => t.to_string(),
                PartType::Binary(b) | PartType::InlineBinary(b) => {
                    String::from_utf8_lossy(b).into_owned()
                }
                // Read as a message: its fields and body are the raw text.
                PartType::Message(_) | PartType::Multipart(_) => m
                    .raw_message
                    .get(p.offset_body as usize..p.offset_end as usize)
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default(),
            };
            dsn_fields(&body)
        })
        .collect();
    if !from_dsn.is_empty() {
        return from_dsn;
    }
    let Some(header) = failed_header else {
        return Vec::new();
    };
    let status = STATUS_CODE
        .find(text)
        .map(|c| c.as_str().to_string())
        .unwrap_or_default();
    let diagnostic = text
        .lines()
        .map(str::trim)
        .find(|l| !status.is_empty() && l.contains(&status))
        .map(|l| clip(&one_line(l)))
        .unwrap_or_default();
    header
        .split(',')
        .filter_map(|a| Address::parse(a).ok())
        .map(|recipient| DeliveryReport {
            recipient,
            action: "failed".into(),
            status: status.clone(),
            diagnostic: diagnostic.clone(),
        })
        .collect()
}

/// An enhanced status code: class 2, 4 or 5, then subject and detail.
static STATUS_CODE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b[245]\.\d{1,3}\.\d{1,3}\b").expect("static regex"));

/// The per-recipient blocks of a delivery-status body: blank-line separated
/// groups of fields (folded lines joined), each with a recipient.
pub(super) fn dsn_fields(body: &str) -> Vec<DeliveryReport> {
    let body = body.replace("\r\n", "\n");
    let mut out = Vec::new();
    for block in body.split("\n\n") {
        let mut fields: Vec<(String, String)> = Vec::new();
        for line in block.lines() {
            if line.starts_with([' ', '\t']) {
                if let Some((_, v)) = fields.last_mut() {
                    v.push(' ');
                    v.push_str(line.trim());
                }
                continue;
            }
            if let Some((name, value)) = line.split_once(':') {
                fields.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
            }
        }
        let get = |name: &str| {
            fields
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        // `rfc822; ann@x.example`: the address after the type.
        let address = |v: &str| {
            let v = v.split_once(';').map_or(v, |(_, a)| a);
            Address::parse(v.trim()).ok()
        };
        // The address we wrote to, else the one the report ended at.
        let Some(recipient) = get("original-recipient")
            .and_then(address)
            .or_else(|| get("final-recipient").and_then(address))
        else {
            continue;
        };
        out.push(DeliveryReport {
            recipient,
            action: get("action").unwrap_or_default().to_ascii_lowercase(),
            status: get("status")
                .and_then(|s| s.split_whitespace().next())
                .unwrap_or_default()
                .to_string(),
            diagnostic: clip(&one_line(get("diagnostic-code").unwrap_or_default())),
        });
    }
    out
}

/// At most 300 characters of a diagnostic, for histories and mails.
fn clip(s: &str) -> String {
    match s.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}
