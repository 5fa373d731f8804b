//! Runs `parse` over the shared real-mail corpus, which lives next to the repo
//! (`<repo>/../shared/corpus`, or wherever `POSTDESK_CORPUS` points) and is
//! never copied in. Without it these tests say "skipped" (counted in the
//! corpus summary line) and pass, unless POSTDESK_REQUIRE_CORPUS=1 (CI)
//! makes that a failure.
//!
//! `cargo test --test it corpus_parse:: -- --nocapture` prints one row per
//! message.

use std::path::PathBuf;
use std::time::Instant;

use crate::support;
use postdesk::domain::MailClass;
use postdesk::parse::{Inbound, ParseError, ParseLimits, parse};

/// Inputs that may fail to parse, with the reason. None do: even the binary-ish
/// and hostile ones (malformed/mimekit__stack-overflow.eml, 135 KB of encoded
/// words; malformed/nodemailer__htmllargecallstack.eml, 570 KB of nested
/// markup) are mail and must parse.
const EXPECTED_ERRORS: &[(&str, &str)] = &[];

/// Messages in clients/, replies/ and charsets/ that really are automatic:
/// human posts relayed by a mailing list, which carries List-Id or Precedence.
/// A list must never get our auto-acknowledgement, so these are AutoReply with
/// the reason given.
const LIST_RELAYED: &[(&str, &str)] = &[
    ("clients/notmuch__1382298795.000299_2.eml", "List-Id"),
    ("clients/notmuch__1382298793.002661_2.eml", "List-Id"),
    ("clients/notmuch__1382298805.004665_2.eml", "List-Id"),
    ("clients/usrp__0e80ae806245.eml", "List-Id"),
    ("clients/usrp__003884860872.eml", "List-Id"),
    ("clients/usrp__0210fc7a8fb3.eml", "List-Id"),
    ("clients/usrp__0899518511ca.eml", "List-Id"),
    ("clients/usrp__0041bbd8f086.eml", "List-Id"),
    ("clients/usrp__0c0282fde073.eml", "List-Id"),
    ("clients/usrp__0ea9aa4c8e4a.eml", "List-Id"),
    ("clients/usrp__020a317878ca.eml", "List-Id"),
    ("clients/usrp__06b9caefa067.eml", "List-Id"),
    ("clients/usrp__00ad2846dc3b.eml", "List-Id"),
    ("replies/spamassassin__005.eml", "List-Id"),
    ("replies/spamassassin__gb2312.2.eml", "List-Unsubscribe"),
    ("replies/notmuch__1382298775.002999_2.eml", "List-Id"),
    ("replies/usrp__02894c0e6c89.eml", "List-Id"),
    ("replies/usrp__26a569cabb8d.eml", "List-Id"),
    ("replies/usrp__15604a6b610f.eml", "List-Id"),
    ("replies/usrp__da109cadf052.eml", "List-Id"),
    ("replies/usrp__058b044dd7ca.eml", "List-Id"),
    ("replies/usrp__106a71ff6e1e.eml", "List-Id"),
    ("replies/usrp__3f41313083cb.eml", "List-Id"),
    ("replies/usrp__01af613933d9.eml", "List-Id"),
    ("charsets/spamassassin__big5-base64.1.eml", "List-Id"),
    (
        "charsets/spamassassin__iso-2022-jp.1.eml",
        "Precedence: bulk",
    ),
    (
        "charsets/spamassassin__iso-2022-jp.2.eml",
        "Precedence: list",
    ),
    ("charsets/usrp__24839e2c4b28.eml", "List-Id"),
    ("charsets/usrp__4e2adc778275.eml", "List-Id"),
    ("charsets/usrp__1bf24f25f78d.eml", "List-Id"),
    ("charsets/usrp__0fd46c305564.eml", "List-Id"),
    ("charsets/usrp__08f29d0b4c45.eml", "List-Id"),
];

/// lists/ messages that carry no list headers as delivered here, with the
/// class label they get instead.
const LISTS_EXCEPTIONS: &[(&str, &str)] = &[
    // A person's reply, Cc'd to aur-general: this copy came straight from them.
    ("lists/notmuch__52_2.eml", "normal"),
    // A Gnus user resending (Resent-*) a list message to a colleague by hand.
    ("lists/rt__nested-rfc-822.eml", "normal"),
    // Gmail invitation: automatic because From is gmail-noreply@google.com.
    (
        "lists/rubymail__raw_email_encoded_stack_level_too_deep.eml",
        "auto-reply",
    ),
];

/// The corpus's folder and its `.eml` entries (file, category), or None when
/// it is missing (said and counted by `support::corpus`).
fn corpus(test: &str) -> Option<(PathBuf, Vec<(String, String)>)> {
    let corpus = support::corpus::corpus(test)?;
    let entries = corpus
        .entries
        .into_iter()
        .filter(|(file, _)| file.ends_with(".eml"))
        .collect();
    Some((corpus.dir, entries))
}

/// The defaults of `[intake]` in the configuration.
fn limits() -> ParseLimits {
    ParseLimits {
        max_size: 25 << 20,
        max_depth: 20,
        max_parts: 500,
    }
}

fn lookup<'a>(table: &'a [(&str, &str)], file: &str) -> Option<&'a str> {
    table.iter().find(|(f, _)| *f == file).map(|(_, why)| *why)
}

fn reason(class: &MailClass) -> &str {
    class.reason().unwrap_or("")
}

#[test]
fn corpus_parses_and_classifies() {
    let Some((dir, entries)) = corpus("corpus_parses_and_classifies") else {
        return;
    };
    assert!(
        entries.len() >= 280,
        "MANIFEST.tsv lists only {} messages",
        entries.len()
    );
    let mut failures = Vec::new();
    let mut errors = 0;
    println!(
        "{:<66} {:<10} {:<48} {:>4}  warnings",
        "file", "class", "reason", "att"
    );
    for (file, category) in &entries {
        let raw = std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let msg = match parse(&raw, &limits()) {
            Ok(msg) => msg,
            Err(e) => {
                errors += 1;
                println!("{file:<66} ERROR      {e}");
                if lookup(EXPECTED_ERRORS, file).is_none() {
                    failures.push(format!("{file}: unexpected error: {e}"));
                }
                continue;
            }
        };
        println!(
            "{file:<66} {:<10} {:<48} {:>4}  {}",
            msg.class.label(),
            reason(&msg.class),
            msg.attachments.len(),
            msg.warnings.join("; ")
        );
        if lookup(EXPECTED_ERRORS, file).is_some() {
            failures.push(format!("{file}: listed as an expected error but parses"));
        }
        if let Err(why) = check(file, category, &msg) {
            failures.push(format!("{file}: {why}"));
        }
    }
    println!("{} messages, {errors} errors", entries.len());
    assert!(
        failures.is_empty(),
        "{} corpus checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The folder's rule for one parsed message.
fn check(file: &str, category: &str, msg: &Inbound) -> Result<(), String> {
    let class = &msg.class;
    let automatic = |want: bool| {
        if class.is_automatic() == want {
            Ok(())
        } else {
            Err(format!(
                "expected {}, got {class:?}",
                if want { "automatic" } else { "normal" }
            ))
        }
    };
    match category {
        "autoreplies" if file == "autoreplies/stalwart__015.eml" => automatic(false),
        "autoreplies" | "bounces" => automatic(true),
        "clients" | "replies" | "charsets" => {
            match lookup(LIST_RELAYED, file) {
                Some(reason) if *class != MailClass::AutoReply(reason.into()) => {
                    return Err(format!("expected AutoReply({reason}), got {class:?}"));
                }
                Some(_) => {}
                None => automatic(false)?,
            }
            if category == "replies" && msg.new_text.trim().is_empty() {
                return Err("reply without new text".into());
            }
            Ok(())
        }
        "lists" => match lookup(LISTS_EXCEPTIONS, file) {
            Some(want) if class.label() == want => Ok(()),
            Some(want) => Err(format!("expected {want}, got {class:?}")),
            None if *class == MailClass::AutoReply("List-Id".into()) => Ok(()),
            None => Err(format!("expected AutoReply(List-Id), got {class:?}")),
        },
        _ => Ok(()),
    }
}

/// Truncations and byte flips of real messages: parse may refuse them but must
/// never panic (a panic fails the test). Deterministic xorshift, no new crates.
#[test]
fn corpus_mutations_never_panic() {
    let Some((dir, _)) = corpus("corpus_mutations_never_panic") else {
        return;
    };
    let samples = [
        "clients/zbateson__m0015.eml",
        "bounces/sisimai__lhost-postfix-01.eml",
        "replies/talon__outlook.eml",
        "attachments/rubymail__attachment_message_rfc822.eml",
        "charsets/rubymail__japanese_iso_2022.eml",
        "malformed/enmime__bad-final-boundary.eml",
    ];
    let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut parsed = 0;
    for sample in samples {
        let raw = std::fs::read(dir.join(sample)).unwrap_or_else(|e| panic!("{sample}: {e}"));
        for cut in (0..raw.len()).step_by(raw.len() / 97 + 1) {
            parsed += usize::from(parse(&raw[..cut], &limits()).is_ok());
        }
        for _ in 0..150 {
            let mut flipped = raw.clone();
            for _ in 0..(next() % 8 + 1) {
                let at = (next() % flipped.len() as u64) as usize;
                flipped[at] = (next() & 0xff) as u8;
            }
            parsed += usize::from(parse(&flipped, &limits()).is_ok());
        }
    }
    // Most mutants are still mail: a parser that refused everything would pass the no-panic check.
    assert!(parsed > 1000, "only {parsed} mutants parsed");
}

/// Rough speed check: `cargo test --release --test it corpus_parse_speed -- --ignored --nocapture`.
#[test]
#[ignore]
fn corpus_parse_speed() {
    let Some((dir, entries)) = corpus("corpus_parse_speed") else {
        return;
    };
    let raws: Vec<Vec<u8>> = entries
        .iter()
        .map(|(f, _)| std::fs::read(dir.join(f)).unwrap_or_default())
        .collect();
    let bytes: usize = raws.iter().map(Vec::len).sum();
    let start = Instant::now();
    let rounds = 5;
    for _ in 0..rounds {
        for raw in &raws {
            let _ =
                std::hint::black_box(parse(raw, &limits()).map_err(|e: ParseError| e.to_string()));
        }
    }
    let per_round = start.elapsed() / rounds;
    println!(
        "parsed {} messages ({:.1} MB) in {per_round:?} per round, {:?} per message",
        raws.len(),
        bytes as f64 / 1e6,
        per_round / raws.len() as u32
    );
}
