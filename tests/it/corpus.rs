//! Every message of the real-mail corpus (`../shared/corpus`) through the
//! pipeline: no panic, no receipt to automatic mail, nothing lost.
//! Skipped, visibly and counted, when the corpus is not beside the
//! checkout, unless POSTDESK_REQUIRE_CORPUS=1 (CI) makes that a failure
//! (`support::corpus`).

use std::path::PathBuf;
use std::sync::Arc;

use crate::support;
use chrono::{TimeZone, Utc};
use postdesk::apply::Outcome;
use postdesk::config::Config;
use postdesk::intake::{Pipeline, RawMail, Taken};
use postdesk::store::{OutboxState, Store};

struct Entry {
    file: String,
    category: String,
    path: PathBuf,
}

fn corpus(test: &str) -> Option<Vec<Entry>> {
    let corpus = support::corpus::corpus(test)?;
    let entries: Vec<Entry> = corpus
        .entries
        .into_iter()
        .map(|(file, category)| Entry {
            path: corpus.dir.join(&file),
            file,
            category,
        })
        .collect();
    assert!(
        entries.len() > 250,
        "the corpus has several hundred messages"
    );
    Some(entries)
}

/// A desk config as a library value, with a file-free database.
fn config(unmatched_automatic: &str) -> Arc<Config> {
    let text = format!(
        "[service]\naddress = \"support@desk.example\"\nticket_prefix = \"DESK\"\ndatabase = \"x.db\"\n\
[transport]\nkind = \"maildir\"\npath = \"sent\"\n[intake]\nunmatched_automatic = \"{unmatched_automatic}\"\n\
unknown_sender = \"accept\"\n[staff]\nnotify = [\"team@desk.example\"]\n"
    );
    Arc::new(Config::from_toml(&text, "corpus test", std::path::Path::new("/nonexistent")).unwrap())
}

fn is_automatic_category(c: &str) -> bool {
    c == "autoreplies" || c == "bounces"
}

/// Each corpus message alone on a fresh desk that opens tickets even for
/// automatic mail, so "no receipt" is tested, not hidden by the quarantine.
/// Every message that opens a ticket is told to the staff side: the
/// notification parses back and carries the message's files.
#[test]
fn every_corpus_message_goes_through_without_panic_or_wrong_receipt() {
    let Some(entries) = corpus("every_corpus_message_goes_through_without_panic_or_wrong_receipt")
    else {
        return;
    };
    let pipeline = Pipeline::new(config("ticket"), [9; 32]).unwrap();
    let now = Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap();
    let mut problems = Vec::new();
    let mut table = Vec::new();
    for e in &entries {
        let raw = std::fs::read(&e.path).unwrap();
        let mut store = Store::open_in_memory().unwrap();
        let mail = RawMail {
            source: "corpus".into(),
            source_id: Some(e.file.clone()),
            raw,
        };
        let taken = pipeline
            .take(&mut store, std::slice::from_ref(&mail), now)
            .unwrap();
        let taken = &taken[0];
        let all = store.read().outbox(Some(OutboxState::Queued), 10).unwrap();
        let (notices, queued): (Vec<_>, Vec<_>) =
            all.into_iter().partition(|o| o.kind == "staff-notify");
        let auto_known = [
            // Human reply whose *attached* message is auto-generated.
            "autoreplies/stalwart__015.eml",
        ];
        match taken {
            Taken::Applied(Outcome::Opened { .. }) | Taken::Applied(Outcome::Appended { .. }) => {
                if let Err(why) = staff_notice_ok(&store, &notices, &mail.raw) {
                    problems.push(format!("{}: staff notification: {why}", e.file));
                }
                if is_automatic_category(&e.category)
                    && !auto_known.contains(&e.file.as_str())
                    && !queued.is_empty()
                {
                    problems.push(format!("{}: automatic mail got a receipt", e.file));
                }
            }
            Taken::Applied(Outcome::Held { reason, answer, .. }) => {
                // A hold tells staff nothing and answers at most its
                // sender, in one mail (an encrypted message the desk cannot
                // open: how to write again, issue 16) — never a robot.
                let answered = match (answer, &queued[..]) {
                    (None, []) => Ok(false),
                    (Some(id), [one]) if one.id == *id && one.rcpt.len() == 1 => Ok(true),
                    _ => Err(()),
                };
                if !notices.is_empty() || answered.is_err() {
                    problems.push(format!("{}: held, yet mail was queued", e.file));
                }
                if answered == Ok(true) && is_automatic_category(&e.category) {
                    problems.push(format!("{}: an automatic mail was answered", e.file));
                }
                assert!(!reason.is_empty());
            }
            Taken::Unreadable { error, .. } => assert!(!error.is_empty()),
            other => problems.push(format!("{}: unexpected {other:?} on a fresh desk", e.file)),
        }
        // Whatever happened, the bytes are in the store, once.
        let r = store.read();
        let kept = r.message_count().unwrap() + r.quarantine_count().unwrap();
        if kept != 1 {
            problems.push(format!("{}: {kept} copies kept", e.file));
        }
        table.push(format!(
            "{:<70} {:<12} {}",
            e.file,
            taken.label(),
            queued.len()
        ));
    }
    println!("{}", table.join("\n"));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// One staff notification was queued for the message `raw`; it parses
/// back, names the team, and carries as many files as `raw` has (once
/// an opaque S/MIME signature is unwrapped).
fn staff_notice_ok(
    store: &Store,
    notices: &[postdesk::store::OutboxEntry],
    raw: &[u8],
) -> Result<(), String> {
    let [notice] = notices else {
        return Err(format!("{} queued, want 1", notices.len()));
    };
    if notice.rcpt != ["team@desk.example"] {
        return Err(format!("sent to {:?}", notice.rcpt));
    }
    let full = store.read().outbox_entry(notice.id).unwrap().unwrap();
    let back = mail_parser::MessageParser::default()
        .parse(&full.raw)
        .ok_or("does not parse back")?;
    if back.body_text(0).is_none_or(|t| !t.contains("#1")) {
        return Err("no text naming the ticket".into());
    }
    let limits = postdesk::parse::ParseLimits {
        max_size: 1 << 26,
        max_depth: 50,
        max_parts: 5000,
    };
    // As staff see them: an opaque S/MIME signature's files, not smime.p7m.
    let files = postdesk::screen::attachment_files(raw, &limits).len();
    if back.attachment_count() != files {
        return Err(format!(
            "{} files attached, the message has {files}",
            back.attachment_count()
        ));
    }
    Ok(())
}

/// The whole corpus through the binary, as one Maildir import with the
/// default policy (unknown senders are asked to confirm): count in =
/// messages stored + quarantined, and no receipt or confirmation request
/// goes to automatic mail.
#[test]
fn whole_corpus_through_ingest_maildir_loses_nothing() {
    let Some(entries) = corpus("whole_corpus_through_ingest_maildir_loses_nothing") else {
        return;
    };
    let desk = support::Desk::strict("");
    let archive = desk.path("corpus");
    for sub in ["tmp", "new", "cur"] {
        std::fs::create_dir_all(archive.join(sub)).unwrap();
    }
    for (i, e) in entries.iter().enumerate() {
        std::fs::copy(&e.path, archive.join("new").join(format!("{i:04}.corpus"))).unwrap();
    }
    let out = desk.run(
        &[
            "ingest",
            "--maildir",
            archive.to_str().unwrap(),
            "--remove",
            "--queue-only",
        ],
        b"",
    );
    // 65 tells the MTA "a message was unreadable"; it is still kept.
    assert!(matches!(out.status.code(), Some(0 | 65)), "{out:?}");
    let store = desk.open_store();
    let r = store.read();
    let stored = r.message_count().unwrap();
    let held = r.quarantine_count().unwrap();
    println!("{} in, {stored} stored, {held} quarantined", entries.len());
    // Byte-identical duplicates inside the corpus would count once; there are none.
    assert_eq!(stored + held, entries.len() as i64);
    assert!(support::files_in(&archive.join("new")).is_empty());

    // No receipt went to any message of the automatic categories.
    let receipts = r.outbox(None, 10_000).unwrap();
    for e in entries
        .iter()
        .filter(|e| is_automatic_category(&e.category))
    {
        let raw = std::fs::read(&e.path).unwrap();
        let Ok(m) = postdesk::parse::parse(
            &raw,
            &postdesk::parse::ParseLimits {
                max_size: 1 << 26,
                max_depth: 50,
                max_parts: 5000,
            },
        ) else {
            continue;
        };
        if e.file == "autoreplies/stalwart__015.eml" {
            continue;
        }
        if let Some(from) = m.from {
            let subject_hit = receipts.iter().any(|o| {
                o.subject.contains(m.subject.trim()) && o.rcpt.contains(&from.address.to_string())
            });
            assert!(
                !subject_hit,
                "{} got a receipt or confirmation request",
                e.file
            );
        }
    }
}
