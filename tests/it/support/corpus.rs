//! The corpus of real mail beside the checkout (`../shared/corpus`, or
//! `$POSTDESK_CORPUS`): never copied in, so a fresh clone has none.
//!
//! A test that needs it asks [`corpus`] and returns when it gets None; it
//! is then counted as skipped, said at once on stderr (past the harness's
//! capture, so `cargo test` shows it), and the binary ends with one
//! summary line such as
//! `corpus: 0 messages checked, 3 tests skipped: ../shared/corpus missing`.
//! Under `POSTDESK_REQUIRE_CORPUS=1` (CI) a missing corpus fails the test.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The corpus: its folder and its MANIFEST.tsv rows (file, category).
pub struct Corpus {
    pub dir: PathBuf,
    pub entries: Vec<(String, String)>,
}

/// What the tests of this process did with the corpus, for the summary.
#[derive(Default)]
struct Tally {
    ran: usize,
    messages: usize,
    skipped: usize,
    /// Failed for want of the corpus (POSTDESK_REQUIRE_CORPUS=1).
    failed: usize,
    missing: Option<PathBuf>,
}

static TALLY: Mutex<Option<Tally>> = Mutex::new(None);

/// Where the corpus is looked for.
pub fn corpus_dir() -> PathBuf {
    std::env::var_os("POSTDESK_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"))
}

/// The corpus for the test `test`, or None — said and counted — when it is
/// missing; a panic instead under POSTDESK_REQUIRE_CORPUS=1.
pub fn corpus(test: &str) -> Option<Corpus> {
    let dir = corpus_dir();
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).ok();
    let mut tally = TALLY.lock().unwrap_or_else(|e| e.into_inner());
    if tally.is_none() {
        *tally = Some(Tally::default());
        // SAFETY: registers a plain extern "C" function, once.
        unsafe { libc::atexit(summary) };
    }
    let tally = tally.as_mut().unwrap();
    let Some(manifest) = manifest else {
        tally.missing = Some(dir.clone());
        if std::env::var("POSTDESK_REQUIRE_CORPUS").as_deref() == Ok("1") {
            tally.failed += 1;
            panic!(
                "POSTDESK_REQUIRE_CORPUS=1 but the corpus is missing: no {}",
                dir.join("MANIFEST.tsv").display()
            );
        }
        tally.skipped += 1;
        let _ = writeln!(
            std::io::stderr(),
            "corpus: {test} skipped: {} missing (set POSTDESK_CORPUS)",
            dir.display()
        );
        return None;
    };
    let entries: Vec<(String, String)> = manifest
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut cols = line.split('\t');
            Some((cols.next()?.to_string(), cols.next()?.to_string()))
        })
        .collect();
    tally.ran += 1;
    tally.messages += entries.len();
    Some(Corpus { dir, entries })
}

/// The summary line, when the process ends (after the harness's own).
extern "C" fn summary() {
    let tally = TALLY.lock().unwrap_or_else(|e| e.into_inner());
    let Some(t) = tally.as_ref() else { return };
    let mut line = format!(
        "corpus: {} messages checked by {} tests, {} tests skipped",
        t.messages, t.ran, t.skipped
    );
    if t.failed > 0 {
        line.push_str(&format!(
            ", {} failed (POSTDESK_REQUIRE_CORPUS=1)",
            t.failed
        ));
    }
    if let Some(dir) = &t.missing {
        line.push_str(&format!(": {} missing", dir.display()));
    }
    let _ = writeln!(std::io::stderr(), "{line}");
}
