//! Finding tickets and getting their mail out, through the binary:
//! `ticket search` (a word of a follow-up, a sender, an attachment's
//! name; ranked; filters; hostile query syntax), `ticket export` (mboxrd
//! and Maildir, byte for byte, hashes compared, corpus mail with From
//! lines in it) and `ticket attachments` (safe names from attackers).

use std::collections::HashSet;
use std::path::Path;

use crate::support::corpus::corpus;
use crate::support::outbox::{ingest, mails};
use crate::support::{ADDRESS, Desk, customer_mail, files_in};
use serde_json::Value;

fn search(desk: &Desk, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["ticket", "search", "--json"];
    all.extend_from_slice(args);
    desk.json(&all).as_array().cloned().unwrap()
}

fn numbers(hits: &[Value]) -> Vec<i64> {
    hits.iter().map(|h| h["number"].as_i64().unwrap()).collect()
}

/// A mail with one attachment named `file`.
fn with_attachment(from: &str, subject: &str, id: &str, body: &str, file: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: {ADDRESS}\r\nSubject: {subject}\r\nDate: Mon, 16 Nov 2026 10:00:00 +0100\r\n\
Message-ID: <{id}>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n\
--b1\r\nContent-Type: application/pdf\r\n\
Content-Disposition: attachment; filename=\"{file}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n\
JVBERi0xLjQKJcOkw7zDtsOfCg==\r\n--b1--\r\n"
    )
    .into_bytes()
}

/// Three tickets: a word only in a follow-up of #1, in the subject of #3
/// (which ranks it first), a sender and an attachment name of #2.
fn three_tickets() -> Desk {
    let desk = Desk::new();
    ingest(
        &desk,
        &customer_mail(
            "ann@customer.example",
            "Website slow",
            "s1@customer.example",
            "Our site takes ten seconds to load.",
        ),
    );
    ingest(
        &desk,
        &with_attachment(
            "Bob Other <bob@other.example>",
            "Invoice question",
            "s2@other.example",
            "See the scanned contract.",
            "contract-scan-2026.pdf",
        ),
    );
    ingest(
        &desk,
        &customer_mail(
            "carl@third.example",
            "Kangaroo logo on the kangaroo page",
            "s3@third.example",
            "The kangaroo picture is broken.",
        ),
    );
    // The follow-up of #1: the word is in no subject and no first message.
    ingest(
        &desk,
        &customer_mail(
            "ann@customer.example",
            "Re: [DESK #1] Website slow",
            "s4@customer.example",
            "Update: it only happens on the kangaroo gallery page.",
        ),
    );
    desk
}

#[test]
fn search_finds_by_follow_up_word_sender_and_attachment_name_ranked() {
    let desk = three_tickets();

    // A word: the ticket with it in its subject and text ranks first, the
    // one with it only in a follow-up after; #2 does not match.
    let hits = search(&desk, &["kangaroo"]);
    assert_eq!(numbers(&hits), [3, 1], "{hits:#?}");
    assert!(hits[0]["score"].as_f64().unwrap() > hits[1]["score"].as_f64().unwrap());
    let snippet = hits[1]["snippet"].as_str().unwrap();
    assert!(snippet.contains("**kangaroo**"), "{snippet}");
    assert_eq!(hits[1]["subject"], "Website slow");
    let listed = desk.tickets();
    let status_of = |n: i64| {
        listed
            .iter()
            .find(|t| t["number"] == n)
            .map(|t| t["status"].clone())
            .unwrap()
    };
    assert_eq!(hits[1]["status"], status_of(1));

    // By sender: the whole address, or its name.
    assert_eq!(numbers(&search(&desk, &["bob@other.example"])), [2]);
    assert_eq!(numbers(&search(&desk, &["Bob", "Other"])), [2]);
    // By attachment name, whole or by its start.
    assert_eq!(numbers(&search(&desk, &["contract-scan-2026.pdf"])), [2]);
    assert_eq!(numbers(&search(&desk, &["scan*"])), [2]);
    // All words must match.
    assert_eq!(numbers(&search(&desk, &["kangaroo", "gallery"])), [1]);
    assert!(search(&desk, &["kangaroo", "invoice"]).is_empty());

    // Filters.
    assert!(search(&desk, &["kangaroo", "--status", "closed"]).is_empty());
    let status3 = status_of(3);
    let status3 = status3.as_str().unwrap();
    assert!(numbers(&search(&desk, &["kangaroo", "--status", status3])).contains(&3));
    assert!(search(&desk, &["kangaroo", "--since", "2999-01-01"]).is_empty());
    assert_eq!(
        numbers(&search(&desk, &["kangaroo", "--since", "2000-01-01"])),
        [3, 1]
    );
    assert!(search(&desk, &["kangaroo", "--account", "nobody"]).is_empty());
    assert_eq!(numbers(&search(&desk, &["kangaroo", "--limit", "1"])), [3]);

    // The text form: one line per ticket and its snippet.
    let text = desk.ok(&["ticket", "search", "kangaroo"]);
    assert!(text.starts_with("#3  new  "), "{text}");
    assert!(text.contains("**kangaroo**"), "{text}");
}

/// What a person types is never FTS5 syntax: quotes, operators, column
/// filters and brackets are words or nothing, never a failure.
#[test]
fn hostile_or_odd_queries_are_words_not_errors() {
    let desk = three_tickets();
    for q in [
        "NEAR(kangaroo",
        "kangaroo\"",
        "subject:kangaroo",
        "kangaroo)",
        "^kangaroo",
        "{kangaroo}",
    ] {
        let out = desk.run(&["ticket", "search", "--json", q], b"");
        assert!(
            out.status.success(),
            "{q}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for q in ["AND", "OR NOT", "col:x"] {
        let out = desk.run(&["ticket", "search", q], b"");
        assert!(out.status.success(), "{q}");
    }
    // Nothing searchable at all: a usage error that says so.
    for q in ["\"", "*", "()"] {
        let out = desk.run(&["ticket", "search", q], b"");
        assert_eq!(out.status.code(), Some(64), "{q}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("nothing to search for"), "{err}");
    }
}

/// Splits an mboxrd file the way any reader does: a line starting with
/// "From " opens a message; the blank line before it is the separator;
/// `>From` lines lose one `>`.
fn read_mboxrd(file: &[u8]) -> Vec<Vec<u8>> {
    let mut messages: Vec<Vec<u8>> = Vec::new();
    for line in file.split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b"From ") {
            if let Some(last) = messages.last_mut() {
                assert_eq!(last.pop(), Some(b'\n'), "a blank line before From_");
            }
            messages.push(Vec::new());
            continue;
        }
        let current = messages.last_mut().expect("the file starts with From_");
        let quotes = line.iter().take_while(|&&b| b == b'>').count();
        if quotes > 0 && line[quotes..].starts_with(b"From ") {
            current.extend_from_slice(&line[1..]);
        } else {
            current.extend_from_slice(line);
        }
    }
    messages
}

fn hashes<'a>(list: impl IntoIterator<Item = &'a Vec<u8>>) -> Vec<String> {
    let mut h: Vec<String> = list
        .into_iter()
        .map(|m| postdesk::parse::content_hash(m))
        .collect();
    h.sort();
    h
}

/// The messages of a Maildir's new/, in name order.
fn read_maildir(dir: &Path) -> Vec<Vec<u8>> {
    files_in(&dir.join("new"))
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect()
}

/// Exports ticket `n` both ways and checks each gives exactly `expected`
/// (received and sent bytes), compared by hash.
fn assert_exports(desk: &Desk, n: i64, expected: &[Vec<u8>]) {
    let mbox = desk.path(&format!("t{n}.mbox"));
    desk.ok(&[
        "ticket",
        "export",
        &n.to_string(),
        "--mbox",
        mbox.to_str().unwrap(),
    ]);
    let back = read_mboxrd(&std::fs::read(&mbox).unwrap());
    assert_eq!(
        back.len(),
        expected.len(),
        "ticket #{n}: messages in the mbox"
    );
    // An mbox cannot say that a message before another lacked its final
    // line break (the export says so on stderr; the Maildir keeps it):
    // compared with one added where it is missing.
    let ended = |list: &[Vec<u8>]| -> Vec<Vec<u8>> {
        list.iter()
            .map(|m| {
                let mut m = m.clone();
                if !m.ends_with(b"\n") {
                    m.push(b'\n');
                }
                m
            })
            .collect()
    };
    assert_eq!(
        hashes(&ended(&back)),
        hashes(&ended(expected)),
        "ticket #{n}: mbox bytes"
    );
    // Every message that had its break comes back exactly.
    let exact = hashes(&back);
    for m in expected.iter().filter(|m| m.ends_with(b"\n")) {
        assert!(
            exact.contains(&postdesk::parse::content_hash(m)),
            "ticket #{n}"
        );
    }

    // To stdout, the same file.
    let stdout = desk.run(&["ticket", "export", &n.to_string()], b"");
    assert!(stdout.status.success());
    assert_eq!(stdout.stdout, std::fs::read(&mbox).unwrap());

    let dir = desk.path(&format!("t{n}.maildir"));
    desk.ok(&[
        "ticket",
        "export",
        &n.to_string(),
        "--maildir",
        dir.to_str().unwrap(),
    ]);
    let back = read_maildir(&dir);
    assert_eq!(
        hashes(&back),
        hashes(expected),
        "ticket #{n}: Maildir bytes"
    );
}

/// The outbox rows of ticket `n`, as `outbox show` gives their bytes.
fn sent_of(desk: &Desk, n: i64) -> Vec<Vec<u8>> {
    let rows = desk.json(&["outbox", "list", "--json", "--limit", "1000"]);
    rows.as_array()
        .unwrap()
        .iter()
        .filter(|r| r["ticket"].as_i64() == Some(n))
        .map(|r| {
            desk.ok(&["outbox", "show", &r["id"].to_string()])
                .into_bytes()
        })
        .collect()
}

/// Received mail with From lines in its body at several depths of
/// quoting, CRLF and LF, and the mail the desk sent: each comes back byte
/// for byte from the mbox and from the Maildir.
#[test]
fn export_gives_back_received_and_sent_mail_byte_for_byte() {
    let desk = Desk::new();
    let first = customer_mail(
        "ann@customer.example",
        "From lines inside",
        "x1@customer.example",
        "From the start of a line.\r\n>From quoted once\r\n>>From twice\r\n\r\nFrom after a blank line Mon Jan  1 00:00:00 2026\r\n",
    );
    let lf = b"From: Ann Customer <ann@customer.example>\nTo: support@desk.example\n\
Subject: Re: [DESK #1] From lines inside\nMessage-ID: <x2@customer.example>\n\
Date: Mon, 16 Nov 2026 11:00:00 +0100\n\nAn LF follow-up.\nFrom here.\n\n\n"
        .to_vec();
    ingest(&desk, &first);
    ingest(&desk, &lf);
    let sent = sent_of(&desk, 1);
    assert!(!sent.is_empty(), "the receipt at least");
    let mut expected = vec![first, lf];
    expected.extend(sent);
    assert_exports(&desk, 1, &expected);

    // Unknown ticket: a clear error.
    let out = desk.run(&["ticket", "export", "99"], b"");
    assert_eq!(out.status.code(), Some(65));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no ticket #99"));
}

/// Real mail from the corpus, some with mbox From_ lines at the top and
/// inside (an attached message): each one's ticket exports its bytes.
#[test]
fn export_of_corpus_mail_is_byte_for_byte() {
    let Some(c) = corpus("search::export_of_corpus_mail_is_byte_for_byte") else {
        return;
    };
    let desk = Desk::new();
    let mut checked = 0;
    for file in [
        "attachments/rubymail__attachment_message_rfc822.eml",
        "attachments/rubymail__attachment_with_encoded_name.eml",
        "attachments/rubymail__attachment_with_quoted_filename.eml",
        "malformed/spamassassin__bsmtp.eml",
        "lists/spamassassin__001.eml",
        "charsets/rubymail__raw_email.eml",
    ] {
        assert!(c.entries.iter().any(|(f, _)| f == file), "{file} listed");
        let raw = std::fs::read(c.dir.join(file)).unwrap();
        let before = desk.counts().0;
        let _ = desk.ingest(&raw);
        if desk.counts().0 == before {
            continue; // held or refused: no ticket to export
        }
        let n = desk
            .tickets()
            .iter()
            .map(|t| t["number"].as_i64().unwrap())
            .max()
            .unwrap();
        let mut expected = vec![raw];
        expected.extend(sent_of(&desk, n));
        assert_exports(&desk, n, &expected);
        checked += 1;
    }
    assert!(checked >= 4, "only {checked} corpus messages made tickets");
}

/// Attachment names an attacker chose become plain, distinct file names
/// inside the directory; nothing is written outside it or over a file.
#[test]
fn attachments_get_safe_distinct_names() {
    let desk = Desk::new();
    let names = [
        "../../escape.txt",
        "/etc/passwd",
        "CON.txt",
        "report.pdf",
        "report.pdf",
        "..",
        "a\u{1}b.txt",
    ];
    let mut parts = String::new();
    for name in names {
        parts.push_str(&format!(
            "--b1\r\nContent-Type: application/octet-stream\r\n\
Content-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n"
        ));
    }
    let raw = format!(
        "From: ann@customer.example\r\nTo: {ADDRESS}\r\nSubject: files\r\nMessage-ID: <f1@customer.example>\r\n\
Date: Mon, 16 Nov 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
--b1\r\nContent-Type: text/plain\r\n\r\nsee files\r\n{parts}--b1--\r\n"
    );
    ingest(&desk, raw.as_bytes());
    let dir = desk.path("out/files");
    std::fs::create_dir_all(&dir).unwrap();
    // A file already there is never overwritten.
    std::fs::write(dir.join("passwd"), b"mine").unwrap();
    desk.ok(&["ticket", "attachments", "1", "--dir", dir.to_str().unwrap()]);
    assert_eq!(std::fs::read(dir.join("passwd")).unwrap(), b"mine");
    let got: HashSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let want: HashSet<String> = [
        "passwd",
        "escape.txt",
        "passwd (2)",
        "_CON.txt",
        "report.pdf",
        "report (2).pdf",
        "attachment-6",
        // mail-parser reads the control character as a space
        "a b.txt",
    ]
    .map(String::from)
    .into();
    assert_eq!(got, want);
    for f in want.iter().filter(|f| *f != "passwd") {
        assert_eq!(std::fs::read(dir.join(f)).unwrap(), b"hello", "{f}");
    }
    // Nothing escaped the directory.
    assert!(!desk.path("out/escape.txt").exists());
    assert!(!desk.path("escape.txt").exists());
}

/// RFC 2231 and encoded-word names from real mail are decoded, then made
/// safe.
#[test]
fn attachments_of_corpus_mail_have_decoded_names() {
    let Some(c) = corpus("search::attachments_of_corpus_mail_have_decoded_names") else {
        return;
    };
    let desk = Desk::new();
    let raw = std::fs::read(
        c.dir
            .join("attachments/rubymail__attachment_with_quoted_filename.eml"),
    )
    .unwrap();
    ingest(&desk, &raw);
    let dir = desk.path("files");
    let out = desk.ok(&["ticket", "attachments", "1", "--dir", dir.to_str().unwrap()]);
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(
        names.iter().any(|n| n == "Eelanalüüsi päring.jpg"),
        "{names:?}\n{out}"
    );
}

const GENUINE: &str = "Authentication-Results: mx.desk.example; dkim=pass header.d=desk.example; dmarc=pass header.from=desk.example";

/// `#search` by mail: the results go to the genuine staff member who
/// asked and to nobody else; a forged or unproven staff From, or a
/// customer, gets no result list.
#[test]
fn search_by_mail_answers_a_genuine_staff_member_only() {
    let desk = Desk::with_extra(
        "[staff]\nnotify = [\"team@desk.example\"]\n\n[[staff.member]]\nname = \"Alice\"\naddress = \"alice@desk.example\"\n\n[intake]\nauthserv_id = \"mx.desk.example\"\n",
    );
    for (i, (from, subject, body)) in [
        (
            "ann@customer.example",
            "Website slow",
            "The kangaroo gallery page is slow.",
        ),
        (
            "carl@third.example",
            "Kangaroo logo",
            "The kangaroo picture is broken.",
        ),
        ("bob@other.example", "Invoice", "Wrong amount."),
    ]
    .iter()
    .enumerate()
    {
        ingest(
            &desk,
            &customer_mail(from, subject, &format!("q{i}@x.example"), body),
        );
    }
    let tickets = desk.tickets().len();
    let before = mails(&desk).len();

    // Alice, genuine: one answer, to her only, with both tickets.
    ingest(
        &desk,
        &crate::support::mail_with(
            "alice@desk.example",
            "#search kangaroo",
            "alice-s1@desk.example",
            "",
            &[GENUINE],
            &[],
        ),
    );
    let after = crate::support::outbox::new_mails(&desk, before);
    assert_eq!(
        crate::support::outbox::kinds(&after),
        [("search".into(), "alice@desk.example".into())]
    );
    let text = after[0].text();
    assert!(text.contains("#2  new  Kangaroo logo"), "{text}");
    assert!(text.contains("#1  "), "{text}");
    assert!(!text.contains("#3  "), "{text}");
    assert!(text.contains("**kangaroo**"), "{text}");
    assert_eq!(desk.tickets().len(), tickets, "no ticket for a search");

    // The same from Alice's address without a genuine From: no list.
    let before = mails(&desk).len();
    for (i, top) in [
        &[][..],
        &["Authentication-Results: mx.desk.example; dmarc=fail header.from=desk.example"][..],
        &["Authentication-Results: mx.evil.example; dmarc=pass header.from=desk.example"][..],
    ]
    .into_iter()
    .enumerate()
    {
        let _ = desk.ingest(&crate::support::mail_with(
            "alice@desk.example",
            "#search kangaroo",
            &format!("forged-{i}@desk.example"),
            "",
            top,
            &[],
        ));
    }
    // A customer asking the same.
    ingest(
        &desk,
        &customer_mail(
            "eve@customer.example",
            "#search kangaroo",
            "eve-1@customer.example",
            "#search kangaroo",
        ),
    );
    for m in crate::support::outbox::new_mails(&desk, before) {
        assert_ne!(m.kind, "search");
        let t = m.text();
        assert!(
            !t.contains("Kangaroo logo") && !t.contains("gallery page"),
            "{} to {:?} carries other tickets: {t}",
            m.kind,
            m.rcpt
        );
    }
}
