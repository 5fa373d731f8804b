//! The knowledge base at work: reading the folder of articles into the
//! store (`kb reindex`, the daemon at start, on reload and when the folder
//! changes), learning from closed tickets, and the suggestions a new
//! ticket's staff notification lists ("Possibly useful: …").

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::config::Knowledge;
use crate::domain::knowledge::{Article, index_form, merge_stock, query_words, stock_line};
use crate::domain::{Language, TicketId};
use crate::store::search::match_any;
use crate::store::{
    KnowledgeEntry, KnowledgeKind, Reader, Store, StoreError, SuggestQuery, Suggestion,
};

/// The largest article file read; a bigger one is reported and skipped.
const MAX_ARTICLE_BYTES: u64 = 1 << 20;
/// Closed tickets learnt from per reindex: the rest wait for the next.
const LESSONS_PER_RUN: usize = 10_000;

/// What a reindex did.
#[derive(Debug, Default, Clone)]
pub struct Reindexed {
    pub articles: usize,
    pub changed: usize,
    pub removed: usize,
    pub learnt: usize,
    /// Files that could not be used, each with why.
    pub problems: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum KnowledgeError {
    #[error("cannot read the knowledge base folder {path}: {source}")]
    Folder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reads `knowledge.path` into the store (unchanged files are skipped by
/// their digest, deleted ones removed) and learns from closed tickets when
/// `learn_from_closed` is on, in one transaction.
pub fn reindex(
    store: &mut Store,
    k: &Knowledge,
    now: DateTime<Utc>,
) -> Result<Reindexed, KnowledgeError> {
    let mut done = Reindexed::default();
    let mut entries = Vec::new();
    if let Some(dir) = &k.path {
        entries = read_folder(dir, now, &mut done.problems)?;
    }
    done.articles = entries.len();
    store.write(|tx| {
        for e in &entries {
            if tx.put_knowledge(e)? {
                done.changed += 1;
            }
        }
        let names: Vec<String> = entries.iter().map(|e| e.name.clone()).collect();
        done.removed = tx.prune_articles(&names)?;
        Ok::<_, StoreError>(())
    })?;
    if k.learn_from_closed {
        done.learnt = learn(store)?;
    }
    Ok(done)
}

/// Turns closed tickets not learnt from yet into entries (see
/// [`Reader::lessons`] for which and what); returns how many.
pub fn learn(store: &mut Store) -> Result<usize, StoreError> {
    let lessons = store.read().lessons(LESSONS_PER_RUN)?;
    store.write(|tx| {
        for l in &lessons {
            tx.put_knowledge(&KnowledgeEntry {
                kind: KnowledgeKind::Ticket,
                name: format!("ticket-{}", l.ticket),
                title: l.subject.clone(),
                tags: Vec::new(),
                language: None,
                body: format!("{}\n\n{}", l.question.trim(), l.answer.trim()),
                ticket: Some(l.ticket),
                digest: String::new(),
                updated: l.closed,
            })?;
        }
        Ok::<_, StoreError>(())
    })?;
    Ok(lessons.len())
}

/// The articles of `dir` (`.md`, `.markdown`, `.txt`; not in sub-folders),
/// sorted by name; unreadable or malformed files go to `problems`.
fn read_folder(
    dir: &Path,
    now: DateTime<Utc>,
    problems: &mut Vec<String>,
) -> Result<Vec<KnowledgeEntry>, KnowledgeError> {
    let folder = |source| KnowledgeError::Folder {
        path: dir.to_path_buf(),
        source,
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(folder)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e, "md" | "markdown" | "txt"))
        })
        .collect();
    paths.sort();
    let mut entries: Vec<KnowledgeEntry> = Vec::new();
    for path in paths {
        let shown = path.display();
        let Some(name) = path
            .file_stem()
            .and_then(|s| s.to_str())
            .map(str::to_string)
        else {
            problems.push(format!("{shown}: the file name is not UTF-8"));
            continue;
        };
        match std::fs::metadata(&path) {
            Ok(m) if !m.is_file() => continue,
            Ok(m) if m.len() > MAX_ARTICLE_BYTES => {
                problems.push(format!("{shown}: larger than 1 MB, skipped"));
                continue;
            }
            Err(e) => {
                problems.push(format!("{shown}: {e}"));
                continue;
            }
            Ok(_) => {}
        }
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                problems.push(format!("{shown}: {e}"));
                continue;
            }
        };
        let Ok(text) = String::from_utf8(bytes.clone()) else {
            problems.push(format!("{shown}: not UTF-8 text, skipped"));
            continue;
        };
        if entries.iter().any(|e| e.name == name) {
            problems.push(format!("{shown}: another file already has the name {name}"));
            continue;
        }
        match Article::parse(&text) {
            Ok(a) => entries.push(KnowledgeEntry {
                kind: KnowledgeKind::Article,
                name,
                title: a.title,
                tags: a.tags,
                language: a.language.map(|l| l.as_str().to_string()),
                body: a.body,
                ticket: None,
                digest: crate::parse::content_hash(&bytes),
                updated: now,
            }),
            Err(e) => problems.push(format!("{shown}: {e}")),
        }
    }
    Ok(entries)
}

/// The language a ticket's suggestions are looked for in first: its
/// account's when it has one, else the one `text` is written in (by its
/// common words), else the desk's.
pub fn ticket_language(
    read: &Reader<'_>,
    s: &super::Settings<'_>,
    t: &crate::store::Ticket,
    text: &str,
) -> Result<Language, StoreError> {
    if let Some(account) = &t.account
        && let Some(lang) = read
            .account_brief(account)?
            .and_then(|b| b.language)
            .and_then(|l| Language::from_code(&l))
    {
        return Ok(lang);
    }
    Ok(crate::domain::knowledge::guess_language(text).unwrap_or(s.language))
}

/// The text a staff reply relays with its `#kb NAME` stock answers merged
/// in (see [`merge_stock`]): the articles of the folder only, never an
/// entry learnt from another customer's ticket. Err: error lines for the
/// staff member (an unknown name).
pub fn stock_answer(
    read: &Reader<'_>,
    leading: &[&str],
    text: &str,
) -> Result<Result<String, Vec<String>>, StoreError> {
    let mut names: Vec<&str> = leading.to_vec();
    names.extend(text.lines().filter_map(stock_line));
    let mut found = Vec::new();
    for name in names {
        if let Some(e) = read.knowledge_entry(name)?
            && e.kind == KnowledgeKind::Article
        {
            found.push((name, format!("{}\n\n{}", e.title, e.body)));
        }
    }
    Ok(merge_stock(leading, text, |name| {
        found
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, text)| text.clone())
    }))
}

/// For whom suggestions are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Articles and past tickets, above `min_relevance`.
    Staff,
    /// Articles only (never another customer's ticket), above the stricter
    /// `customer_min_relevance`.
    Customer,
}

/// The entries that may help answer a ticket about `text` in `lang`.
pub fn suggest(
    read: &Reader<'_>,
    k: &Knowledge,
    text: &str,
    lang: Language,
    ticket: Option<TicketId>,
    audience: Audience,
) -> Result<Vec<Suggestion>, StoreError> {
    if k.max_suggestions == 0 {
        return Ok(Vec::new());
    }
    let words: Vec<String> = query_words(text).iter().map(|w| index_form(w)).collect();
    let words = rarest(read, &words)?;
    let Some(query) = match_any(words.iter().map(String::as_str)) else {
        return Ok(Vec::new());
    };
    let (floor, articles_only) = match audience {
        Audience::Staff => (k.min_relevance.0, false),
        Audience::Customer => (k.customer_min_relevance.0, true),
    };
    read.suggest(&SuggestQuery {
        query: &query,
        language: lang.as_str(),
        articles_only,
        floor,
        limit: k.max_suggestions,
        except: ticket,
    })
}

/// The articles a receipt lists (`[knowledge] suggest_to_customer`), as
/// lines: articles only, never an entry learnt from another customer's
/// ticket; empty when off or none is relevant enough.
pub fn receipt_lines(
    read: &Reader<'_>,
    k: &Knowledge,
    (subject, text): (&str, &str),
    lang: Language,
    ticket: TicketId,
) -> Result<String, StoreError> {
    if !k.suggest_to_customer {
        return Ok(String::new());
    }
    let about = format!("{subject}\n{text}");
    let found = suggest(read, k, &about, lang, Some(ticket), Audience::Customer)?;
    Ok(suggestion_lines(&found, Audience::Customer))
}

/// Words of a ticket looked up, at most: its rarest ones in the knowledge
/// base, which decide BM25's ranking.
const LOOKUP_WORDS: usize = 10;

/// Entries a lookup may read, at most, summed over its words: FTS5 walks
/// each word's list of entries (to match, and again to weigh it for BM25),
/// so this, not the size of the base, bounds a suggestion's cost
/// (DESIGN.md invariant 10). A word held by more entries than are left
/// is too common to pick out an answer in a base that large. 500: a
/// lookup's cost is about proportional to it (2,000 gave 11 ms per new
/// ticket on the bench's 110,000 entries), and the rarest words decide
/// the ranking anyway.
pub const LOOKUP_ENTRIES: i64 = 500;

/// The [`LOOKUP_WORDS`] rarest of `words` that some entry holds, leaving
/// out those that more than half of the entries hold (BM25 gives them no
/// weight), while the entries holding them stay within [`LOOKUP_ENTRIES`].
fn rarest(read: &Reader<'_>, words: &[String]) -> Result<Vec<String>, StoreError> {
    let (total, mut counts) = read.knowledge_term_counts(words)?;
    counts.retain(|(_, n)| *n > 0 && (total < 10 || *n * 2 <= total));
    Ok(within_budget(counts))
}

/// The rarest words first, while their entries add up to at most
/// [`LOOKUP_ENTRIES`] and there are at most [`LOOKUP_WORDS`].
fn within_budget(mut counts: Vec<(String, i64)>) -> Vec<String> {
    counts.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    let mut read = 0;
    counts
        .into_iter()
        .take(LOOKUP_WORDS)
        .take_while(|(_, n)| {
            read += n;
            read <= LOOKUP_ENTRIES
        })
        .map(|(w, _)| w)
        .collect()
}

/// Suggestions as the lines of a mail: the title, for staff its name (or
/// ticket number), and the first lines of its text, indented.
pub fn suggestion_lines(list: &[Suggestion], audience: Audience) -> String {
    let mut out = String::new();
    for s in list {
        let e = &s.entry;
        let source = match (audience, e.kind, e.ticket) {
            (Audience::Customer, _, _) => String::new(),
            (_, KnowledgeKind::Ticket, Some(n)) => format!(" (ticket #{n})"),
            _ => format!(" (#kb {})", e.name),
        };
        out.push_str(&format!("  * {}{source}\n", one_line(&e.title)));
        for line in Article::first_lines(&e.body, 2) {
            let line: String = line.chars().take(160).collect();
            out.push_str(&format!("      {line}\n"));
        }
    }
    out
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Words with the entries holding them, and the words looked up.
    type Case<'a> = (&'a [(&'a str, i64)], &'a [&'a str]);

    #[test]
    fn the_rarest_words_within_the_budget() {
        let c = |list: &[(&str, i64)]| -> Vec<(String, i64)> {
            list.iter().map(|(w, n)| (w.to_string(), *n)).collect()
        };
        let cases: &[Case<'_>] = &[
            (&[], &[]),
            // Rarest first; equal counts by word.
            (
                &[("mailbox", 30), ("password", 2), ("forgot", 2)],
                &["forgot", "password", "mailbox"],
            ),
            // The word that would pass the budget ends the list.
            (
                &[("a", 1), ("b", LOOKUP_ENTRIES - 1), ("c", 1)],
                &["a", "c"],
            ),
            (&[("a", LOOKUP_ENTRIES), ("b", 1)], &["b"]),
            (&[("a", 1), ("b", LOOKUP_ENTRIES - 1)], &["a", "b"]),
            // Too common for the budget: nothing is read.
            (&[("server", LOOKUP_ENTRIES + 1)], &[]),
        ];
        for (counts, want) in cases {
            assert_eq!(within_budget(c(counts)), *want, "{counts:?}");
        }
        let many: Vec<(String, i64)> = (0..30).map(|i| (format!("w{i:02}"), 1)).collect();
        assert_eq!(within_budget(many).len(), LOOKUP_WORDS);
    }
}
