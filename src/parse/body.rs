//! The readable text of a message and its list of attachments, within limits.

use std::sync::LazyLock;

use mail_parser::decoders::charsets::map::charset_decoder;
use mail_parser::parsers::MessageStream;
use mail_parser::{HeaderName, Message, MessagePart, MimeHeaders, PartType};
use regex::Regex;

use super::{Attachment, Scope, html, one_line};

/// The text/plain body parts; else the HTML ones as text; else the text of an
/// attached message (a forward with no words of its own); else a root part that
/// mail-parser could not place (e.g. a multipart without boundary).
pub(super) fn readable_text(m: &Message<'_>, scope: &Scope) -> Option<String> {
    let body: Vec<&MessagePart<'_>> = scope.parts(m, &m.text_body).map(|(_, p)| p).collect();
    let plain: Vec<&str> = body
        .iter()
        .filter_map(|p| match &p.body {
            PartType::Text(t) => Some(t.as_ref()),
            _ => None,
        })
        .collect();
    if plain.iter().any(|t| !t.trim().is_empty()) {
        return Some(join_parts(plain));
    }
    let html = body
        .iter()
        .copied()
        .chain(scope.parts(m, &m.html_body).map(|(_, p)| p))
        .filter_map(|p| match &p.body {
            PartType::Html(h) => Some(html::html_to_text(h)),
            _ => None,
        })
        .find(|t| !t.trim().is_empty());
    if html.is_some() {
        return html;
    }
    let nested = scope
        .parts(m, &m.attachments)
        .find_map(|(_, p)| match &p.body {
            PartType::Message(inner) => {
                readable_text(inner, scope).filter(|t| !t.trim().is_empty())
            }
            _ => None,
        });
    nested.or_else(|| {
        let (_, root) = scope.parts(m, &[0]).next()?;
        let unplaced = root.content_type().is_none_or(|ct| {
            ["text", "multipart"]
                .iter()
                .any(|t| ct.ctype().eq_ignore_ascii_case(t))
        });
        match &root.body {
            PartType::Text(t) if unplaced => Some(t.to_string()),
            PartType::Html(h) if unplaced => Some(html::html_to_text(h)),
            _ => None,
        }
    })
}

fn join_parts(parts: Vec<&str>) -> String {
    let mut out = String::new();
    for part in parts {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(part);
    }
    out
}

/// `\n` line ends, no NULs, no blank lines around.
pub(super) fn normalize_text(s: &str) -> String {
    s.replace("\r\n", "\n")
        .replace('\r', "\n")
        .replace('\0', "")
        .trim_start_matches('\n')
        .trim_end()
        .to_string()
}

pub(super) fn attachments(m: &Message<'_>, scope: &Scope, input: &[u8]) -> Vec<Attachment> {
    attachment_parts(m, scope)
        .map(|p| describe(p, input))
        .collect()
}

/// The attachments with their decoded contents, in the order of
/// [`attachments`]: what a staff notification attaches again.
pub(super) fn attachment_files(
    m: &Message<'_>,
    scope: &Scope,
    input: &[u8],
) -> Vec<(Attachment, Vec<u8>)> {
    attachment_parts(m, scope)
        .map(|p| {
            let bytes = match &p.body {
                PartType::Text(t) | PartType::Html(t) => t.as_bytes().to_vec(),
                PartType::Binary(b) | PartType::InlineBinary(b) => b.to_vec(),
                PartType::Message(inner) => inner
                    .parts
                    .first()
                    .and_then(|root| {
                        inner
                            .raw_message
                            .get(root.offset_header as usize..root.offset_end as usize)
                    })
                    .map(<[u8]>::to_vec)
                    .unwrap_or_default(),
                PartType::Multipart(_) => Vec::new(),
            };
            (describe(p, input), bytes)
        })
        .collect()
}

fn describe(p: &MessagePart<'_>, input: &[u8]) -> Attachment {
    Attachment {
        name: attachment_name(p, input),
        content_type: content_type(p),
        size: part_size(p),
    }
}

/// The parts that are files, not body: mail-parser's attachments within
/// limits, and a root part that is a file.
fn attachment_parts<'m, 'x>(
    m: &'m Message<'x>,
    scope: &'m Scope,
) -> impl Iterator<Item = &'m MessagePart<'x>> {
    // A single-part message whose body is a file but empty (headers only) is
    // listed nowhere by mail-parser; it is still an attachment.
    let listed = |id| {
        [&m.attachments, &m.text_body, &m.html_body]
            .iter()
            .any(|ids| ids.contains(&id))
    };
    let root = scope.parts(m, &[0]).filter(move |(_, p)| {
        let ctype = content_type(p);
        !listed(0) && !ctype.starts_with("text/") && !ctype.starts_with("multipart/")
    });
    scope
        .parts(m, &m.attachments)
        .chain(root)
        .filter(|(_, p)| !is_body_text(p))
        .map(|(_, p)| p)
}

/// A nameless inline text/plain or text/html part that mail-parser did not pick
/// as body (e.g. the HTML half of an alternative nested oddly): body, not file.
fn is_body_text(p: &MessagePart<'_>) -> bool {
    matches!(p.body, PartType::Text(_) | PartType::Html(_))
        && p.attachment_name().is_none()
        && p.content_disposition().is_none_or(|d| !d.is_attachment())
        && matches!(content_type(p).as_str(), "text/plain" | "text/html")
}

fn attachment_name(p: &MessagePart<'_>, input: &[u8]) -> Option<String> {
    let raw = raw_file_name(p, input);
    let name = match (p.attachment_name().filter(|n| !n.trim().is_empty()), raw) {
        // RFC quoting turns name="C:\TEMP\x.png" into "C:TEMPx.png"; the
        // Windows mailer meant a path, so read the raw value.
        (_, Some(raw)) if raw.contains('\\') => raw,
        (Some(parsed), _) => parsed.to_string(),
        (None, Some(raw)) => raw,
        (None, None) => match (p.content_location(), &p.body) {
            (Some(location), _) => location.to_string(),
            (None, PartType::Message(inner)) => inner.subject()?.replace(['/', '\\'], "-"),
            _ => return None,
        },
    };
    // Only the last path segment: "../../etc/x" must not steer where anyone
    // saves the file.
    let name = one_line(name.rsplit(['/', '\\']).next().unwrap_or_default());
    (!name.is_empty() && name != "." && name != "..").then_some(name)
}

static RAW_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)(?:^|;)\s*(?:file)?name\s*=\s*"([^"]*)""#).expect("static regex")
});

/// The quoted (file)name parameter as written, for the cases mail-parser
/// misreads: Windows paths, and encoded words folded onto the next line
/// (Exchange writes `filename=\r\n\t"=?iso-8859-1?Q?…?=\r\n =?…?="`).
fn raw_file_name(p: &MessagePart<'_>, input: &[u8]) -> Option<String> {
    p.headers
        .iter()
        .filter(|h| {
            matches!(
                h.name,
                HeaderName::ContentDisposition | HeaderName::ContentType
            )
        })
        .filter_map(|h| input.get(h.offset_start as usize..h.offset_end as usize))
        .find_map(|raw| {
            let unfolded = String::from_utf8_lossy(raw).replace(['\r', '\n'], "");
            let value = RAW_NAME.captures(&unfolded)?.get(1)?.as_str().to_string();
            if !value.contains("=?") {
                return Some(value);
            }
            // The header parser wants its line end.
            let line = format!("{value}\n");
            MessageStream::new(line.as_bytes())
                .parse_unstructured()
                .as_text()
                .map(str::to_string)
        })
}

pub(super) fn content_type(p: &MessagePart<'_>) -> String {
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
    };
    match p.content_type() {
        Some(ct) => match ct.subtype() {
            Some(sub) if token(ct.ctype()) && token(sub) => {
                format!("{}/{}", ct.ctype(), sub).to_ascii_lowercase()
            }
            _ => "application/octet-stream".into(),
        },
        None => match p.body {
            PartType::Message(_) => "message/rfc822".into(),
            PartType::Text(_) => "text/plain".into(),
            _ => "application/octet-stream".into(),
        },
    }
}

/// Decoded size in bytes (text parts: after charset conversion to UTF-8).
pub(super) fn part_size(p: &MessagePart<'_>) -> usize {
    match &p.body {
        PartType::Text(t) | PartType::Html(t) => t.len(),
        PartType::Binary(b) | PartType::InlineBinary(b) => b.len(),
        // An attached message keeps the whole outer raw; its root part knows its span.
        PartType::Message(inner) => inner
            .parts
            .first()
            .and_then(|root| {
                inner
                    .raw_message
                    .get(root.offset_header as usize..root.offset_end as usize)
            })
            .map_or(0, <[u8]>::len),
        PartType::Multipart(_) => 0,
    }
}

pub(super) fn part_warnings(
    m: &Message<'_>,
    scope: &Scope,
    input: &[u8],
    warnings: &mut Vec<String>,
) {
    let mut boundaries: Vec<String> = Vec::new();
    for (id, p) in scope.all_parts(m) {
        let ctype = content_type(p);
        if p.is_encoding_problem {
            warnings.push(if part_size(p) == 0 {
                format!("MIME part {id} ({ctype}) has no content")
            } else {
                format!("MIME part {id} ({ctype}) could not be decoded, kept as raw text")
            });
        }
        let Some(ct) = p.content_type() else { continue };
        let multipart = ct.ctype().eq_ignore_ascii_case("multipart");
        if multipart && !matches!(p.body, PartType::Multipart(_)) {
            warnings.push(format!(
                "MIME part {id} ({ctype}) has no usable boundary, read as text"
            ));
        }
        if let (true, Some(b)) = (multipart, ct.attribute("boundary")) {
            let closing = format!("--{b}--");
            if !boundaries.contains(&closing) {
                boundaries.push(closing);
            }
        }
        if let (PartType::Text(_) | PartType::Html(_), Some(charset)) =
            (&p.body, ct.attribute("charset"))
        {
            let lower = charset.to_ascii_lowercase();
            if charset_decoder(charset.as_bytes()).is_none()
                && !lower.contains("utf-8")
                && !lower.contains("utf8")
            {
                warnings.push(format!(
                    "MIME part {id}: unknown charset {charset:?}, read as UTF-8"
                ));
            }
        }
    }
    for closing in boundaries {
        if !input
            .windows(closing.len())
            .any(|w| w == closing.as_bytes())
        {
            warnings.push(format!(
                "multipart boundary {closing:?} never closed, read to the end"
            ));
        }
    }
}
