//! Full-text search over the tickets' mail (`ticket search`, `#search`) and
//! the raw mail of a ticket for `ticket export` / `ticket attachments`.
//!
//! The index is the FTS5 table `message_search` (sql/0011_knowledge.sql),
//! kept by triggers in the same transaction as the message it indexes.
//! Ranking is FTS5's BM25; a query a person typed is never handed to FTS5
//! as syntax: each word becomes a quoted phrase ([`match_all`]), so a stray
//! quote or `NEAR(` is a word, not an error.

use chrono::{DateTime, Utc};
use rusqlite::params;
use serde::Serialize;

use super::{Reader, Result, from_ts, ts};
use crate::domain::{Status, TicketId};

/// Words typed by a person as an FTS5 query matching all of them: each
/// word a quoted phrase (`"` doubled inside), a trailing `*` kept as a
/// prefix search. None when nothing searchable is left (only punctuation).
pub fn match_all(input: &str) -> Option<String> {
    phrases(input.split_whitespace(), " ")
}

/// Words as an FTS5 query matching any of them, ranked by how many and
/// how rare (BM25): what a ticket's text is looked up with.
pub fn match_any<'a>(words: impl IntoIterator<Item = &'a str>) -> Option<String> {
    phrases(words.into_iter(), " OR ")
}

fn phrases<'a>(words: impl Iterator<Item = &'a str>, join: &str) -> Option<String> {
    let parts: Vec<String> = words
        .filter_map(|w| {
            let (word, prefix) = match w.strip_suffix('*') {
                Some(stem) => (stem, true),
                None => (w, false),
            };
            // A phrase with no letter or digit has no token: FTS5 would
            // match nothing or refuse it.
            if !word.chars().any(char::is_alphanumeric) {
                return None;
            }
            let quoted = format!("\"{}\"", word.replace('"', "\"\""));
            Some(if prefix { quoted + "*" } else { quoted })
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join(join))
}

/// What `ticket search` narrows the hits to.
#[derive(Debug, Clone, Default)]
pub struct SearchFilter {
    pub statuses: Vec<Status>,
    pub account: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub limit: usize,
}

/// One ticket found: its best-matching message gives the snippet.
#[derive(Debug, Clone, Serialize)]
pub struct SearchHit {
    pub number: TicketId,
    pub subject: String,
    pub status: Status,
    pub account: Option<String>,
    pub updated: DateTime<Utc>,
    /// The matching words between `**`, in a few words of context.
    pub snippet: String,
    /// BM25 relevance (higher is better), comparable within one search.
    pub score: f64,
}

/// One mail of a ticket, as it was received or sent.
#[derive(Debug, Clone)]
pub struct RawMail {
    pub at: DateTime<Utc>,
    /// `in` (received) or `out` (sent by postdesk).
    pub direction: &'static str,
    /// The envelope-ish sender for an mbox From_ line.
    pub sender: String,
    pub raw: Vec<u8>,
}

/// Rows read before grouping by ticket: the best hits of a few hundred
/// tickets, enough for any list a person reads.
const MAX_ROWS: usize = 2_000;

impl Reader<'_> {
    /// The tickets whose mail matches `query` (an FTS5 query built by
    /// [`match_all`]), best first, one hit per ticket.
    pub fn search_tickets(&self, query: &str, filter: &SearchFilter) -> Result<Vec<SearchHit>> {
        let statuses: Vec<&str> = filter.statuses.iter().map(|s| s.as_str()).collect();
        let statuses = (!statuses.is_empty()).then(|| super::json(&statuses));
        // Weights: subject 4, new text 1, people 2, attachment names 2.
        let mut stmt = self.conn.prepare_cached(
            "SELECT t.id, t.subject, t.status, t.account, t.updated_at,
                    snippet(message_search, -1, '**', '**', '…', 12),
                    bm25(message_search, 4.0, 1.0, 2.0, 2.0) AS rank
             FROM message_search
             JOIN messages m ON m.id = message_search.rowid
             JOIN tickets t ON t.id = m.ticket_id
             WHERE message_search MATCH ?1
               AND (?2 IS NULL OR t.status IN (SELECT value FROM json_each(?2)))
               AND (?3 IS NULL OR t.account = ?3)
               AND (?4 IS NULL OR m.received_at >= ?4)
             ORDER BY rank LIMIT ?5",
        )?;
        let rows = stmt.query_map(
            params![
                query,
                statuses,
                filter.account,
                filter.since.map(ts),
                MAX_ROWS as i64
            ],
            |r| {
                let status: String = r.get(2)?;
                Ok(SearchHit {
                    number: TicketId(r.get(0)?),
                    subject: r.get(1)?,
                    status: status.parse().unwrap_or(Status::New),
                    account: r.get(3)?,
                    updated: from_ts(r.get(4)?),
                    snippet: r.get(5)?,
                    score: -r.get::<_, f64>(6)?,
                })
            },
        )?;
        let mut hits: Vec<SearchHit> = Vec::new();
        for row in rows {
            let hit = row?;
            if hits.iter().any(|h| h.number == hit.number) {
                continue;
            }
            hits.push(hit);
            if hits.len() >= filter.limit.max(1) {
                break;
            }
        }
        Ok(hits)
    }

    /// Every mail of the ticket, received and sent, in the order it came
    /// in or was queued, with its stored bytes.
    pub fn ticket_raw_mails(&self, ticket: TicketId) -> Result<Vec<RawMail>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT at, direction, sender, raw FROM (
                 SELECT received_at AS at, 0 AS side, id, 'in' AS direction,
                        coalesce(from_addr, 'MAILER-DAEMON') AS sender, raw
                 FROM messages WHERE ticket_id = ?1
                 UNION ALL
                 SELECT coalesce(sent_at, created_at), 1, id, 'out',
                        CASE mail_from WHEN '' THEN 'MAILER-DAEMON' ELSE mail_from END, raw
                 FROM outbox WHERE ticket_id = ?1)
             ORDER BY at, side, id",
        )?;
        let rows = stmt.query_map(params![ticket.0], |r| {
            let direction: String = r.get(1)?;
            Ok(RawMail {
                at: from_ts(r.get(0)?),
                direction: if direction == "in" { "in" } else { "out" },
                sender: r.get(2)?,
                raw: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The received messages of the ticket (id, raw bytes), in order: where
    /// its attachments are.
    pub fn ticket_received_raw(&self, ticket: TicketId) -> Result<Vec<(i64, Vec<u8>)>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, raw FROM messages WHERE ticket_id = ?1 ORDER BY id")?;
        let rows = stmt.query_map(params![ticket.0], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What people type, as FTS5 gets it: never syntax, always words.
    #[test]
    fn typed_queries_become_quoted_phrases() {
        for (typed, query) in [
            ("password", Some(r#""password""#)),
            ("mailbox password", Some(r#""mailbox" "password""#)),
            ("pass*", Some(r#""pass"*"#)),
            (r#"say "hi"#, Some(r#""say" """hi""#)),
            ("NEAR(a b)", Some(r#""NEAR(a" "b)""#)),
            ("a AND OR NOT", Some(r#""a" "AND" "OR" "NOT""#)),
            ("col:value", Some(r#""col:value""#)),
            ("bob@example.com", Some(r#""bob@example.com""#)),
            ("problème", Some(r#""problème""#)),
            ("*", None),
            ("\" \" ()", None),
            ("", None),
            ("   \t\n", None),
        ] {
            assert_eq!(match_all(typed).as_deref(), query, "{typed}");
        }
        assert_eq!(
            match_any(["mot", "de\"x"]).as_deref(),
            Some(r#""mot" OR "de""x""#)
        );
    }

    /// Every odd query runs in SQLite without an error.
    #[test]
    fn odd_queries_never_fail_in_sqlite() {
        let s = super::super::Store::open_in_memory().unwrap();
        for typed in [
            "\"",
            "\"\"",
            "a\"b",
            "NEAR(",
            "x:",
            "^a",
            "a -b",
            "(((",
            "{a b}",
            "a*b*",
            "+",
            "é*",
            "AND",
            "'",
            "\\",
            "\u{0}",
            "日本語",
        ] {
            if let Some(q) = match_all(typed) {
                s.read()
                    .search_tickets(
                        &q,
                        &SearchFilter {
                            limit: 5,
                            ..Default::default()
                        },
                    )
                    .unwrap_or_else(|e| panic!("{typed:?}: {e}"));
            }
        }
    }
}
