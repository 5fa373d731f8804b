//! Full-text search over the tickets' mail (`ticket search`, `#search`) and
//! the raw mail of a ticket for `ticket export` / `ticket attachments`.
//!
//! The index is the FTS5 table `message_search` (sql/0010_knowledge.sql).
//! Intake only notes a new message in `message_search_pending` (in its own
//! transaction, so nothing is missed after a crash); [`Tx::index_pending`]
//! indexes them — the daemon's indexer in the background, and every
//! search first, so a search sees every message stored.
//! Ranking is FTS5's BM25; a query a person typed is never handed to FTS5
//! as syntax: each word becomes a quoted phrase ([`match_all`]), so a stray
//! quote or `NEAR(` is a word, not an error.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
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
    /// The ticket came encrypted (issue 16): its subject and snippet are
    /// plaintext that must not leave by mail.
    pub encrypted: bool,
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

/// Messages indexed per transaction of the indexer.
pub const INDEX_BATCH: usize = 500;

impl super::Tx<'_> {
    /// Indexes up to `limit` messages that the search index lacks; returns
    /// how many. A message indexed before (its shown text changed) is
    /// replaced.
    pub fn index_pending(&mut self, limit: usize) -> Result<usize> {
        self.exec(
            "CREATE TEMP TABLE IF NOT EXISTS search_batch (message INTEGER PRIMARY KEY)",
            [],
        )?;
        self.exec("DELETE FROM temp.search_batch", [])?;
        let n = self.exec(
            "INSERT INTO temp.search_batch SELECT message FROM message_search_pending
             ORDER BY message LIMIT ?1",
            params![limit as i64],
        )?;
        if n == 0 {
            return Ok(0);
        }
        self.exec(
            "DELETE FROM message_search WHERE rowid IN (SELECT message FROM temp.search_batch)",
            [],
        )?;
        self.exec(
            "INSERT INTO message_search (rowid, subject, body, people, files)
             SELECT m.id, m.subject, coalesce(m.shown_text, m.new_text),
                 coalesce(m.from_addr, '') || ' ' || coalesce(m.from_name, '') || ' '
                     || coalesce((SELECT group_concat(value, ' ') FROM json_each(m.recipients, '$.to')), '') || ' '
                     || coalesce((SELECT group_concat(value, ' ') FROM json_each(m.recipients, '$.cc')), ''),
                 coalesce((SELECT group_concat(json_extract(value, '$.name'), ' ')
                           FROM json_each(m.attachments)), '')
             FROM messages m WHERE m.id IN (SELECT message FROM temp.search_batch)",
            [],
        )?;
        self.exec(
            "DELETE FROM message_search_pending WHERE message IN (SELECT message FROM temp.search_batch)",
            [],
        )?;
        Ok(n)
    }
}

impl super::Store {
    /// Indexes every message the search index lacks, a batch per
    /// transaction (the daemon's indexer, and `ticket search` first).
    pub fn index_all_pending(&mut self) -> Result<usize> {
        let mut total = 0;
        loop {
            let n = self.write(|tx| tx.index_pending(INDEX_BATCH))?;
            total += n;
            if n < INDEX_BATCH {
                return Ok(total);
            }
        }
    }
}

impl Reader<'_> {
    /// The tickets whose mail matches `query` (an FTS5 query built by
    /// [`match_all`]), best first, one hit per ticket.
    pub fn search_tickets(&self, query: &str, filter: &SearchFilter) -> Result<Vec<SearchHit>> {
        let statuses: Vec<&str> = filter.statuses.iter().map(|s| s.as_str()).collect();
        let statuses = (!statuses.is_empty()).then(|| super::json(&statuses));
        // Three steps, so a common word costs its ranking only: the index
        // alone ranks the matching messages (BM25; weights: subject 4, new
        // text 1, people 2, attachment names 2); each message, best first,
        // is then looked up with its ticket and the filters until enough
        // tickets are found; a snippet (which reads its message's text
        // again) is made for the listed hits only. The same hits as
        // ranking the joined rows, without a join or a snippet per match.
        let mut ranked = self.conn.prepare_cached(
            "SELECT rowid, bm25(message_search, 4.0, 1.0, 2.0, 2.0) AS rank
             FROM message_search WHERE message_search MATCH ?1 ORDER BY rank",
        )?;
        let mut ticket_of = self.conn.prepare_cached(
            "SELECT t.id, t.subject, t.status, t.account, t.updated_at, t.encrypted
             FROM messages m JOIN tickets t ON t.id = m.ticket_id
             WHERE m.id = ?1
               AND (?2 IS NULL OR t.status IN (SELECT value FROM json_each(?2)))
               AND (?3 IS NULL OR t.account = ?3)
               AND (?4 IS NULL OR m.received_at >= ?4)",
        )?;
        let mut rows = ranked.query(params![query])?;
        let mut hits: Vec<(SearchHit, i64)> = Vec::new();
        let mut passed = 0;
        while let Some(row) = rows.next()? {
            let (message, rank): (i64, f64) = (row.get(0)?, row.get(1)?);
            let found = ticket_of
                .query_row(
                    params![message, statuses, filter.account, filter.since.map(ts)],
                    |r| {
                        let status: String = r.get(2)?;
                        Ok(SearchHit {
                            number: TicketId(r.get(0)?),
                            subject: r.get(1)?,
                            status: status.parse().unwrap_or(Status::New),
                            account: r.get(3)?,
                            updated: from_ts(r.get(4)?),
                            snippet: String::new(),
                            score: -rank,
                            encrypted: r.get(5)?,
                        })
                    },
                )
                .optional()?;
            let Some(hit) = found else { continue };
            passed += 1;
            if !hits.iter().any(|(h, _)| h.number == hit.number) {
                hits.push((hit, message));
            }
            if hits.len() >= filter.limit.max(1) || passed >= MAX_ROWS {
                break;
            }
        }
        drop(rows);
        let mut snippet = self.conn.prepare_cached(
            "SELECT snippet(message_search, -1, '**', '**', '…', 12) FROM message_search
             WHERE message_search MATCH ?1 AND rowid = ?2",
        )?;
        let mut out = Vec::with_capacity(hits.len());
        for (mut hit, message) in hits {
            hit.snippet = snippet
                .query_row(params![query, message], |r| r.get(0))
                .optional()?
                .unwrap_or_default();
            out.push(hit);
        }
        Ok(out)
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
    use super::super::StoreError;
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

    /// Intake notes a message; the indexer indexes it once, and again when
    /// its shown text changes; a transaction that fails indexes nothing
    /// and leaves the notes for the next run.
    #[test]
    fn pending_messages_are_indexed_once_and_after_a_change() {
        use crate::parse::{ParseLimits, parse};
        let mut s = super::super::Store::open_in_memory().unwrap();
        let limits = ParseLimits {
            max_size: 1 << 20,
            max_depth: 5,
            max_parts: 10,
        };
        let raw = b"From: a@b.example\r\nSubject: kangaroo\r\nMessage-ID: <k@b.example>\r\n\r\nwombat\r\n";
        let inbound = parse(raw, &limits).unwrap();
        let at = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let requester = crate::domain::Mailbox {
            address: crate::domain::Address::parse("a@b.example").unwrap(),
            name: None,
        };
        let id = s
            .write(|tx| {
                let t = tx.create_ticket(&crate::store::NewTicket {
                    subject: "kangaroo",
                    ticket_type: "technical",
                    account: None,
                    requester: &requester,
                    at,
                })?;
                tx.insert_message(&crate::store::NewMessage {
                    raw,
                    inbound: &inbound,
                    source: "t",
                    ticket: Some(t),
                    received_at: at,
                })
            })
            .unwrap();
        let find = |s: &super::super::Store, q: &str| {
            s.read()
                .search_tickets(
                    &match_all(q).unwrap(),
                    &SearchFilter {
                        limit: 5,
                        ..Default::default()
                    },
                )
                .unwrap()
                .len()
        };
        assert_eq!(find(&s, "wombat"), 0, "not indexed by intake");
        // A failed transaction leaves the note.
        let failed: Result<(), StoreError> = s.write(|tx| {
            tx.index_pending(10)?;
            Err(StoreError::Corrupt("crash".into()))
        });
        assert!(failed.is_err());
        assert_eq!(find(&s, "wombat"), 0);
        assert_eq!(s.index_all_pending().unwrap(), 1);
        assert_eq!(find(&s, "wombat"), 1);
        assert_eq!(find(&s, "kangaroo"), 1);
        assert_eq!(s.index_all_pending().unwrap(), 0, "once");
        s.write(|tx| {
            tx.set_message_role(
                id,
                super::super::MessageRole::StaffReply,
                Some("platypus"),
                None,
            )
        })
        .unwrap();
        assert_eq!(s.index_all_pending().unwrap(), 1);
        assert_eq!(find(&s, "platypus"), 1);
        assert_eq!(find(&s, "wombat"), 0, "the old text is gone");
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
