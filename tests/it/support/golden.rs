//! Golden mails: a mail postdesk queued, compared with a fixture under
//! tests/it/golden/ on the fields that matter to the people who read it —
//! From, To, Cc, Subject, Auto-Submitted, Importance, Content-Language and
//! the text — with what changes from run to run (dates, confirmation
//! codes, Message-ID markers) replaced by a placeholder.
//!
//! A difference fails the test with a line diff and writes the mail as it
//! came out to `<fixture>.failed` beside the fixture. `GOLDEN_UPDATE=1`
//! writes the fixtures instead; a fixture so written is read, as the
//! customer would, before it is committed: it must be the mail we want.

use std::path::{Path, PathBuf};

use mail_parser::{Address, HeaderValue, MessageParser};
use regex::Regex;

use super::outbox::Mail;

/// The header fields a golden mail compares, in this order.
pub const FIELDS: [&str; 7] = [
    "From",
    "To",
    "Cc",
    "Subject",
    "Auto-Submitted",
    "Importance",
    "Content-Language",
];

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/golden")
}

/// `mail` as its golden fixture holds it: the fields that matter, a blank
/// line, the normalised text.
pub fn render(mail: &Mail) -> String {
    let parsed = MessageParser::default()
        .parse(&mail.raw)
        .expect("our mail parses back");
    let mut out = String::new();
    for name in FIELDS {
        let value = parsed
            .headers()
            .iter()
            .find(|h| h.name().eq_ignore_ascii_case(name))
            .map(|h| header_text(h.value()));
        if let Some(value) = value {
            out.push_str(&format!("{name}: {}\n", normalise(&value)));
        }
    }
    out.push('\n');
    let text = mail.text();
    out.push_str(normalise(text.trim_end()).as_str());
    out.push('\n');
    out
}

/// A header's value as a reader sees it: addresses as `Name <addr>`.
fn header_text(v: &HeaderValue<'_>) -> String {
    match v {
        HeaderValue::Text(t) => t.to_string(),
        HeaderValue::TextList(l) => l.join(", "),
        HeaderValue::Address(a) => address_text(a),
        _ => "(a field of another shape)".to_string(),
    }
}

fn address_text(a: &Address<'_>) -> String {
    a.iter()
        .map(|addr| {
            let email = addr.address().unwrap_or_default();
            match addr.name() {
                Some(n) if !n.is_empty() => format!("{n} <{email}>"),
                _ => email.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The volatile parts of a mail replaced by placeholders: dates and times
/// in every language's format, `[ref …]` markers, confirmation codes.
pub fn normalise(text: &str) -> String {
    let months = "January|February|March|April|May|June|July|August|September|October|November|December\
        |janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre\
        |gennaio|febbraio|marzo|aprile|maggio|giugno|luglio|agosto|settembre|ottobre|novembre|dicembre";
    let rules: [(String, &str); 6] = [
        // 7 December 2026, 14:05 CET / 7 décembre 2026 à 14:05 CET /
        // 7 dicembre 2026 alle 14:05 CET (and 1er, 1º).
        (
            format!(r"\b\d{{1,2}}(?:er|º)? (?:{months}) \d{{4}}(?:,| à| alle) \d{{2}}:\d{{2}} [A-Z+\-0-9]+"),
            "<DATE TIME>",
        ),
        (
            format!(r"\b\d{{1,2}}(?:er|º)? (?:{months}) \d{{4}}"),
            "<DATE>",
        ),
        // The operator's ISO format, wherever one is left.
        (
            r"\b\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?(?: ?[A-Z]{2,5}|Z|[+-]\d{2}:?\d{2})?)?"
                .to_string(),
            "<ISO DATE>",
        ),
        (r"\[ref [^\]]+\]".to_string(), "[ref <REF>]"),
        (
            r"\b[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}\b".to_string(),
            "<CODE>",
        ),
        // Elapsed times that depend on when the test runs.
        (
            r"\b\d+ (?:business days?|days?|hours?|minutes?|jours? ouvrés|jours?|heures?|giorni lavorativi|giorno lavorativo|giorni|giorno|ore|ora|minuti|minuto)\b"
                .to_string(),
            "<SPAN>",
        ),
    ];
    let mut out = text.to_string();
    for (pattern, with) in rules {
        out = Regex::new(&pattern)
            .expect("a valid pattern")
            .replace_all(&out, with)
            .into_owned();
    }
    out
}

/// Compares `mail` with the fixture `name` (tests/it/golden/NAME.eml), or
/// writes the fixture with `GOLDEN_UPDATE=1`.
pub fn check(name: &str, mail: &Mail) {
    let update = std::env::var_os("GOLDEN_UPDATE").is_some_and(|v| v == "1");
    check_in(&dir(), name, mail, update);
}

/// [`check`] with fixtures in `dir`.
pub fn check_in(dir: &Path, name: &str, mail: &Mail, update: bool) {
    let got = render(mail);
    let path = dir.join(format!("{name}.eml"));
    let failed = path.with_extension("eml.failed");
    if update {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(&path, &got).unwrap();
        let _ = std::fs::remove_file(&failed);
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}\n(GOLDEN_UPDATE=1 writes it; read it before committing)\nthe mail:\n{got}",
            path.display()
        )
    });
    // A fixture checked out with CRLF line ends is the same fixture.
    let want = want.replace("\r\n", "\n");
    if want == got {
        let _ = std::fs::remove_file(&failed);
        return;
    }
    std::fs::write(&failed, &got).unwrap();
    panic!(
        "golden mail {name} differs (- fixture, + now; the mail is in {}):\n{}",
        failed.display(),
        diff(&want, &got)
    );
}

/// A line diff of `a` and `b` (longest common subsequence): `-` lines only
/// in `a`, `+` only in `b`, unchanged lines indented.
pub fn diff(a: &str, b: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out.push_str(&format!("  {}\n", a[i]));
            (i, j) = (i + 1, j + 1);
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push_str(&format!("- {}\n", a[i]));
            i += 1;
        } else {
            out.push_str(&format!("+ {}\n", b[j]));
            j += 1;
        }
    }
    out
}
