//! The knowledge base's rows: the articles of `[knowledge] path` and what
//! closed tickets taught, with their FTS5 index `knowledge_search`
//! (sql/0010_knowledge.sql) and the BM25 lookup suggestions use.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::{Reader, Result, Tx, from_ts, ts};
use crate::domain::TicketId;

/// Where a knowledge entry comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KnowledgeKind {
    /// A file of the knowledge base folder.
    Article,
    /// A closed ticket's question and the answer that closed it.
    Ticket,
}

impl KnowledgeKind {
    fn as_str(self) -> &'static str {
        match self {
            KnowledgeKind::Article => "article",
            KnowledgeKind::Ticket => "ticket",
        }
    }
}

/// One entry of the knowledge base.
#[derive(Debug, Clone, Serialize)]
pub struct KnowledgeEntry {
    pub kind: KnowledgeKind,
    /// An article's file name without extension, or `ticket-N`.
    pub name: String,
    pub title: String,
    pub tags: Vec<String>,
    pub language: Option<String>,
    pub body: String,
    pub ticket: Option<TicketId>,
    /// A hash of the source, so an unchanged file is not written again.
    pub digest: String,
    pub updated: DateTime<Utc>,
}

/// An entry found for a text, with its BM25 relevance (higher is better).
#[derive(Debug, Clone, Serialize)]
pub struct Suggestion {
    #[serde(flatten)]
    pub entry: KnowledgeEntry,
    pub score: f64,
}

/// What a suggestion lookup may return.
#[derive(Debug, Clone)]
pub struct SuggestQuery<'a> {
    /// An FTS5 query (see `search::match_any`).
    pub query: &'a str,
    /// Entries in this language (or in none) come first.
    pub language: &'a str,
    /// Only articles: never another customer's ticket.
    pub articles_only: bool,
    /// The lowest BM25 relevance listed.
    pub floor: f64,
    pub limit: usize,
    /// A ticket never suggests itself.
    pub except: Option<TicketId>,
}

const COLUMNS: &str = "k.kind, k.name, k.title, k.tags, k.language, k.body, k.ticket_id, k.digest,
     k.updated_at";

fn entry_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<KnowledgeEntry> {
    let kind: String = r.get(0)?;
    let tags: String = r.get(3)?;
    Ok(KnowledgeEntry {
        kind: if kind == "ticket" {
            KnowledgeKind::Ticket
        } else {
            KnowledgeKind::Article
        },
        name: r.get(1)?,
        title: r.get(2)?,
        tags: tags.split_whitespace().map(String::from).collect(),
        language: r.get(4)?,
        body: r.get(5)?,
        ticket: r.get::<_, Option<i64>>(6)?.map(TicketId),
        digest: r.get(7)?,
        updated: from_ts(r.get(8)?),
    })
}

impl Tx<'_> {
    /// Adds or replaces the entry named `e.name`; false when it was there
    /// with the same digest (nothing written).
    pub fn put_knowledge(&mut self, e: &KnowledgeEntry) -> Result<bool> {
        let same: Option<String> = self
            .tx
            .prepare_cached("SELECT digest FROM knowledge WHERE name = ?1")?
            .query_row(params![e.name], |r| r.get(0))
            .optional()?;
        if same.as_deref() == Some(e.digest.as_str()) {
            return Ok(false);
        }
        self.exec(
            "INSERT INTO knowledge (kind, name, title, tags, language, body, ticket_id, digest,
                 updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, title = excluded.title,
                 tags = excluded.tags, language = excluded.language, body = excluded.body,
                 ticket_id = excluded.ticket_id, digest = excluded.digest,
                 updated_at = excluded.updated_at",
            params![
                e.kind.as_str(),
                e.name,
                e.title,
                e.tags.join(" "),
                e.language,
                e.body,
                e.ticket.map(|t| t.0),
                e.digest,
                ts(e.updated)
            ],
        )?;
        Ok(true)
    }

    /// Removes the articles whose names are not in `keep` (files deleted
    /// from the folder); returns how many.
    pub fn prune_articles(&mut self, keep: &[String]) -> Result<usize> {
        Ok(self.exec(
            "DELETE FROM knowledge WHERE kind = 'article'
             AND name NOT IN (SELECT value FROM json_each(?1))",
            params![super::json(&keep)],
        )?)
    }
}

impl Reader<'_> {
    pub fn knowledge_entries(&self) -> Result<Vec<KnowledgeEntry>> {
        let sql = format!("SELECT {COLUMNS} FROM knowledge k ORDER BY k.kind, k.name");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map([], entry_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn knowledge_entry(&self, name: &str) -> Result<Option<KnowledgeEntry>> {
        let sql = format!("SELECT {COLUMNS} FROM knowledge k WHERE k.name = ?1");
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row(params![name], entry_from_row)
            .optional()?)
    }

    /// About how many entries there are (never fewer), and how many of them hold each of
    /// `terms` (as the index spells them: lower case, no diacritics);
    /// a term in none is left out.
    pub fn knowledge_term_counts(&self, terms: &[String]) -> Result<(i64, Vec<(String, i64)>)> {
        let total = self
            .conn
            // The highest id stands for the count: one index step, where
            // count(*) would read every entry.
            .prepare_cached("SELECT coalesce(max(id), 0) FROM knowledge")?
            .query_row([], |r| r.get(0))?;
        // One index step per term: the counts are kept with the entries
        // (sql/0014_knowledge_terms.sql), where fts5vocab would walk each
        // term's whole list of entries.
        let mut stmt = self
            .conn
            .prepare_cached("SELECT docs FROM knowledge_term_docs WHERE term = ?1")?;
        let mut counts = Vec::new();
        for term in terms {
            if let Some(n) = stmt.query_row(params![term], |r| r.get(0)).optional()? {
                counts.push((term.clone(), n));
            }
        }
        Ok((total, counts))
    }

    /// The entries that best match `q.query` above `q.floor`, those in the
    /// ticket's language (or in none) first, each group by BM25 (title
    /// weighs 3, tags 2, text 1).
    pub fn suggest(&self, q: &SuggestQuery<'_>) -> Result<Vec<Suggestion>> {
        // BM25 once per matching entry, in the innermost query; the
        // ranking reads only the small columns of each match (its text
        // comes after them in the row, so SQLite never loads it) and the
        // full entries are read for the few ranked first only.
        let sql = format!(
            "SELECT {COLUMNS}, r.score
             FROM (SELECT k.id, s.score,
                          (k.language IS NULL OR k.language = ?5) AS fits
                   FROM (SELECT rowid, -bm25(knowledge_search, 3.0, 2.0, 1.0) AS score
                         FROM knowledge_search WHERE knowledge_search MATCH ?1) s
                   JOIN knowledge k ON k.id = s.rowid
                   WHERE s.score >= ?4
                     AND (?2 = 0 OR k.kind = 'article')
                     AND (?3 IS NULL OR k.ticket_id IS NULL OR k.ticket_id <> ?3)
                   ORDER BY fits DESC, s.score DESC
                   LIMIT ?6) r
             JOIN knowledge k ON k.id = r.id
             ORDER BY r.fits DESC, r.score DESC"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(
            params![
                q.query,
                q.articles_only,
                q.except.map(|t| t.0),
                q.floor,
                q.language,
                q.limit as i64
            ],
            |r| {
                Ok(Suggestion {
                    entry: entry_from_row(r)?,
                    score: r.get(9)?,
                })
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// What a closed ticket can teach: its question and the answer that
/// closed it.
#[derive(Debug, Clone)]
pub struct Lesson {
    pub ticket: TicketId,
    pub subject: String,
    pub question: String,
    pub answer: String,
    pub closed: DateTime<Utc>,
}

impl Reader<'_> {
    /// Closed tickets not learnt from yet, oldest first, at most `limit`:
    /// those with a relayed staff reply (a history of internal notes only
    /// teaches nothing) and no `#nokb` line in any staff mail. The
    /// question is the first customer message's new text, the answer the
    /// newest staff reply as relayed (without command lines or notes).
    pub fn lessons(&self, limit: usize) -> Result<Vec<Lesson>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT t.id, t.subject, t.closed_at,
                 (SELECT m.new_text FROM messages m WHERE m.ticket_id = t.id AND m.role IS NULL
                  AND m.class NOT IN ('auto-reply', 'bounce') ORDER BY m.id LIMIT 1),
                 (SELECT coalesce(m.shown_text, m.new_text) FROM messages m
                  WHERE m.ticket_id = t.id AND m.role = 'staff-reply' ORDER BY m.id DESC LIMIT 1)
             FROM tickets t
             WHERE t.status = 'closed' AND t.merged_into IS NULL AND t.encrypted = 0
               AND NOT EXISTS (SELECT 1 FROM knowledge k WHERE k.kind = 'ticket' AND k.ticket_id = t.id)
               AND EXISTS (SELECT 1 FROM messages m WHERE m.ticket_id = t.id AND m.role = 'staff-reply')
               AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.ticket_id = t.id
                   AND m.role IN ('staff-reply', 'staff-note')
                   AND (m.new_text LIKE '#nokb%' OR m.new_text LIKE '%' || char(10) || '#nokb%'))
             ORDER BY t.closed_at, t.id LIMIT ?1",
        )?;
        let rows = stmt.query_map(params![limit as i64], |r| {
            Ok(Lesson {
                ticket: TicketId(r.get(0)?),
                subject: r.get(1)?,
                closed: from_ts(r.get::<_, Option<i64>>(2)?.unwrap_or_default()),
                question: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                answer: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// A new ticket's mail that waits for its suggestions
/// (sql/0017_notify_pending.sql).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Waiting {
    /// Its staff notification.
    StaffNotify,
    /// Its receipt, in `language`, copied to `cc` (delegates).
    Receipt { language: String, cc: Vec<String> },
}

/// A waiting mail with the ticket's first message, read back to compose it.
#[derive(Debug, Clone)]
pub struct WaitingMail {
    pub ticket: TicketId,
    pub what: Waiting,
    pub message: i64,
    pub raw: Vec<u8>,
    pub from_addr: Option<String>,
    pub from_name: Option<String>,
    pub new_text: String,
    pub attachments: Vec<crate::parse::Attachment>,
}

impl Tx<'_> {
    /// Notes that ticket `ticket`'s mail `what` (about `message`) waits
    /// for its suggestions.
    pub fn defer_mail(
        &mut self,
        ticket: TicketId,
        message: i64,
        what: &Waiting,
        since: DateTime<Utc>,
    ) -> Result<()> {
        let (kind, language, cc) = match what {
            Waiting::StaffNotify => ("staff-notify", None, None),
            Waiting::Receipt { language, cc } => {
                ("receipt", Some(language.as_str()), Some(super::json(cc)))
            }
        };
        self.exec(
            "INSERT OR IGNORE INTO notify_pending (ticket_id, kind, message, language, cc, since)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![ticket.0, kind, message, language, cc, ts(since)],
        )?;
        Ok(())
    }

    /// Takes ticket `ticket`'s waiting mails off the list, the receipt
    /// first, each with the message it shows; empty when none waits.
    pub fn take_waiting(&mut self, ticket: TicketId) -> Result<Vec<WaitingMail>> {
        let found = {
            let mut stmt = self.tx.prepare_cached(
                "SELECT p.kind, p.language, p.cc, p.message, m.raw, m.from_addr, m.from_name,
                        m.new_text, m.attachments
                 FROM notify_pending p JOIN messages m ON m.id = p.message
                 WHERE p.ticket_id = ?1 ORDER BY p.kind = 'staff-notify'",
            )?;
            let rows = stmt.query_map(params![ticket.0], |r| {
                let what = match r.get::<_, String>(0)?.as_str() {
                    "receipt" => Waiting::Receipt {
                        language: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                        cc: super::from_json(&r.get::<_, Option<String>>(2)?.unwrap_or_default()),
                    },
                    _ => Waiting::StaffNotify,
                };
                Ok(WaitingMail {
                    ticket,
                    what,
                    message: r.get(3)?,
                    raw: r.get(4)?,
                    from_addr: r.get(5)?,
                    from_name: r.get(6)?,
                    new_text: r.get(7)?,
                    attachments: super::from_json(&r.get::<_, String>(8)?),
                })
            })?;
            rows.collect::<Result<Vec<_>, _>>()?
        };
        // A row whose message is gone (never expected) goes too: nothing
        // could show it.
        self.exec(
            "DELETE FROM notify_pending WHERE ticket_id = ?1",
            params![ticket.0],
        )?;
        Ok(found)
    }
}

impl Reader<'_> {
    /// The tickets with mail that waits for its suggestions, longest
    /// waiting first, at most `limit`.
    pub fn tickets_with_waiting_mail(&self, limit: usize) -> Result<Vec<TicketId>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT ticket_id FROM notify_pending GROUP BY ticket_id
             ORDER BY min(since), ticket_id LIMIT ?1",
        )?;
        let rows = stmt.query_map(params![limit as i64], |r| Ok(TicketId(r.get(0)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Whether ticket `ticket` has mail that waits (one index step).
    pub fn mail_waits(&self, ticket: TicketId) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM notify_pending WHERE ticket_id = ?1 LIMIT 1")?
            .query_row(params![ticket.0], |_| Ok(()))
            .optional()?
            .is_some())
    }
}
