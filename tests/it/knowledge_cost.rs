//! The cost of a suggestion lookup (issue 15, DESIGN.md invariant 10): it
//! runs in intake's transaction for every new ticket, so it must not grow
//! with the knowledge base. Work is counted in SQLite virtual-machine steps
//! (`Reader::count_steps`), not wall-clock time, so a loaded machine cannot
//! make these tests pass or fail. Also: the per-term entry counts the
//! lookup picks its words by stay exact as entries come, change and go.

use chrono::{DateTime, Utc};
use postdesk::config::Knowledge;
use postdesk::domain::Language;
use postdesk::store::{KnowledgeEntry, KnowledgeKind, Store};
use postdesk::ticket::knowledge::{Audience, suggest};

fn at() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

fn article(name: &str, title: &str, body: &str, digest: &str) -> KnowledgeEntry {
    KnowledgeEntry {
        kind: KnowledgeKind::Article,
        name: name.to_string(),
        title: title.to_string(),
        tags: Vec::new(),
        language: Some("en".to_string()),
        body: body.to_string(),
        ticket: None,
        digest: digest.to_string(),
        updated: at(),
    }
}

/// A base of `fillers` notes about the words a ticket shares with many
/// entries (a quarter to a half of them each hold "backup", "mailbox",
/// "error"), each with a word of its own, and the one article that answers.
fn base(fillers: usize) -> Store {
    let mut store = Store::open_in_memory().unwrap();
    store
        .write(|tx| {
            for i in 0..fillers {
                let mut body = format!("note z{i:x}q about the server");
                for (word, every) in [("backup", 2), ("mailbox", 3), ("error", 4)] {
                    if i % every == 0 {
                        body.push(' ');
                        body.push_str(word);
                    }
                }
                tx.put_knowledge(&article(
                    &format!("note-{i}"),
                    &format!("Hosting note {i}"),
                    &body,
                    "1",
                ))?;
            }
            tx.put_knowledge(&article(
                "mailbox-password",
                "Forgotten mailbox password",
                "Reset the password of a mailbox in the control panel.",
                "1",
            ))?;
            Ok::<_, postdesk::store::StoreError>(())
        })
        .unwrap();
    store
}

const TICKET: &str = "Hello, I have forgotten the password of my mailbox. \
     The server shows an error since the backup last night.";

/// The names suggested for [`TICKET`], and the VM steps the lookup took.
fn lookup(store: &Store) -> (Vec<String>, u64) {
    let k = Knowledge {
        learn_from_closed: true,
        ..Default::default()
    };
    let (got, steps) = store.read().count_steps(|read| {
        suggest(read, &k, TICKET, Language::En, None, Audience::Staff).unwrap()
    });
    (got.into_iter().map(|s| s.entry.name).collect(), steps)
}

#[test]
fn a_suggestion_costs_no_more_in_a_base_four_times_larger() {
    // Both bases hold more entries with the ticket's common words than a
    // lookup may read; a lookup reading every entry that holds one of its
    // words takes about four times the steps in the larger base.
    let (small_names, small) = lookup(&base(3_000));
    let (large_names, large) = lookup(&base(12_000));
    assert_eq!(
        small_names.first().map(String::as_str),
        Some("mailbox-password")
    );
    assert_eq!(
        large_names.first().map(String::as_str),
        Some("mailbox-password")
    );
    println!("suggestion lookup: {small} VM steps with 3,000 entries, {large} with 12,000");
    assert!(
        large <= small + small / 4,
        "a suggestion lookup took {small} VM steps with 3,000 entries and {large} with 12,000: \
         its cost grows with the knowledge base"
    );
}

#[test]
fn term_counts_follow_entries_added_changed_and_removed() {
    let mut store = Store::open_in_memory().unwrap();
    // (name, text) as the base should be after each step.
    let steps: [&[(&str, &str)]; 4] = [
        &[
            ("a", "Problème de boîte mail"),
            ("b", "Probleme with the mailbox quota"),
            ("c", "Mailbox quota full"),
        ],
        // b changed (another digest), d added.
        &[
            ("a", "Problème de boîte mail"),
            ("b", "Backup failed"),
            ("c", "Mailbox quota full"),
            ("d", "Quota quota QUOTA"),
        ],
        // a and c removed.
        &[("b", "Backup failed"), ("d", "Quota quota QUOTA")],
        &[],
    ];
    let words: Vec<String> = [
        "probleme", "de", "boite", "mail", "with", "the", "mailbox", "quota", "full", "backup",
        "failed",
    ]
    .map(String::from)
    .to_vec();
    for (n, want) in steps.iter().enumerate() {
        store
            .write(|tx| {
                for (name, text) in want.iter() {
                    tx.put_knowledge(&article(name, text, "", text))?;
                }
                let keep: Vec<String> = want.iter().map(|(name, _)| name.to_string()).collect();
                tx.prune_articles(&keep)?;
                Ok::<_, postdesk::store::StoreError>(())
            })
            .unwrap();
        let (_, counts) = store.read().knowledge_term_counts(&words).unwrap();
        for word in &words {
            let expected = want
                .iter()
                .filter(|(_, text)| {
                    text.split_whitespace()
                        .any(|w| postdesk::domain::knowledge::index_form(w) == *word)
                })
                .count() as i64;
            let got = counts
                .iter()
                .find(|(w, _)| w == word)
                .map_or(0, |(_, c)| *c);
            assert_eq!(got, expected, "step {n}: entries holding {word}");
        }
    }
}
