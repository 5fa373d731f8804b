//! The reply corpus: every `NAME.eml`, `NAME.txt` or `NAME.html` under
//! tests/replies/ with its expected new text in `NAME.expected` beside it.
//! A .txt or .html file is the body of a mail and is wrapped into one; every
//! case goes through `parse::parse`, so HTML replies take the same way as in
//! the daemon (HTML → text with quote regions as `>` lines → splitter).
//! Bodies of .txt and .html cases run with LF and with CRLF line ends.
//!
//! New texts are compared line by line with whitespace runs collapsed and
//! blank lines left out: "split right" means the same lines of words.
//! The test prints the share split right and the failures, and fails below
//! 95%. With `POSTDESK_BLESS=1` it writes what it got to `NAME.failed`
//! beside each failing case.
//!
//! `cargo test --test it replies:: -- --nocapture`

use std::path::{Path, PathBuf};

use postdesk::parse::{ParseLimits, parse};

/// Share of cases that must split right.
const REQUIRED: f64 = 0.95;

fn limits() -> ParseLimits {
    ParseLimits {
        max_size: 25 << 20,
        max_depth: 20,
        max_parts: 500,
    }
}

/// The cases under `dir`, sorted: (input file, expected file).
fn cases(dir: &Path, out: &mut Vec<(PathBuf, PathBuf)>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            cases(&path, out);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("eml" | "txt" | "html")
        ) {
            out.push((path.clone(), path.with_extension("expected")));
        }
    }
}

/// A mail around a body from the corpus.
fn wrap(body: &str, html: bool) -> Vec<u8> {
    let ctype = if html { "text/html" } else { "text/plain" };
    format!(
        "From: Ann <ann@example.org>\r\nTo: support@desk.example\r\nSubject: Re: help\r\n\
         Message-ID: <case@example.org>\r\nMIME-Version: 1.0\r\n\
         Content-Type: {ctype}; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}"
    )
    .into_bytes()
}

/// The new texts `parse` finds in one case (two for LF/CRLF variants).
fn new_texts(path: &Path) -> Vec<String> {
    let raw = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let inputs = match path.extension().and_then(|e| e.to_str()) {
        Some("eml") => vec![raw],
        ext => {
            let body = String::from_utf8_lossy(&raw).replace("\r\n", "\n");
            let html = ext == Some("html");
            vec![wrap(&body, html), wrap(&body.replace('\n', "\r\n"), html)]
        }
    };
    inputs
        .iter()
        .map(|raw| match parse(raw, &limits()) {
            Ok(msg) => msg.new_text,
            Err(e) => format!("(parse error: {e})"),
        })
        .collect()
}

/// Lines of words: whitespace runs collapsed, blank lines dropped.
fn normalize(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn reply_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/replies");
    let mut all = Vec::new();
    cases(&dir, &mut all);
    assert!(all.len() >= 50, "only {} reply cases", all.len());
    let bless = std::env::var_os("POSTDESK_BLESS").is_some();
    let mut failures = Vec::new();
    for (input, expected_file) in &all {
        let name = input
            .strip_prefix(&dir)
            .unwrap_or(input)
            .display()
            .to_string();
        let Ok(expected) = std::fs::read_to_string(expected_file) else {
            failures.push(format!("{name} (no .expected file)"));
            continue;
        };
        let want = normalize(&expected);
        let got = new_texts(input);
        let Some(wrong) = got.iter().find(|g| normalize(g) != want) else {
            continue;
        };
        failures.push(name);
        if bless {
            let failed = input.with_extension("failed");
            std::fs::write(&failed, wrong).unwrap_or_else(|e| panic!("{}: {e}", failed.display()));
        }
    }
    let right = all.len() - failures.len();
    let share = right as f64 / all.len() as f64;
    println!(
        "reply corpus: {right}/{} split right ({:.1}%)",
        all.len(),
        share * 100.0
    );
    for name in &failures {
        println!("  wrong: {name}");
    }
    assert!(
        share >= REQUIRED,
        "{} of {} replies split wrong (needed {:.0}% right):\n{}",
        failures.len(),
        all.len(),
        REQUIRED * 100.0,
        failures.join("\n")
    );
}
