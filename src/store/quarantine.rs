//! Quarantine: mail that could not be read, or that policy holds back. Kept
//! with its reason until an operator releases or deletes it (invariant 6).

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::{Reader, Result, Tx, from_ts, ts};
use crate::domain::HoldKind;

#[derive(Debug, Clone, Serialize)]
pub struct QuarantineEntry {
    pub id: i64,
    pub received: DateTime<Utc>,
    pub source: String,
    pub message_id: Option<String>,
    pub from: Option<String>,
    pub subject: Option<String>,
    pub reason: String,
    /// Why, as a word to count by.
    pub kind: HoldKind,
    pub size: usize,
    pub released: Option<DateTime<Utc>>,
    #[serde(skip)]
    pub raw: Vec<u8>,
}

/// What is known about a quarantined message; unreadable mail has only bytes.
pub struct Held<'a> {
    pub raw: &'a [u8],
    pub content_hash: &'a str,
    pub source: &'a str,
    pub message_id: Option<&'a str>,
    pub from: Option<&'a str>,
    pub subject: Option<&'a str>,
    pub reason: &'a str,
    pub at: DateTime<Utc>,
}

pub(super) const COLUMNS: &str =
    "id, received_at, source, message_id, from_addr, subject, reason, length(raw), released_at,
     kind";

pub(super) fn entry_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<QuarantineEntry> {
    Ok(QuarantineEntry {
        id: r.get(0)?,
        received: from_ts(r.get(1)?),
        source: r.get(2)?,
        message_id: r.get(3)?,
        from: r.get(4)?,
        subject: r.get(5)?,
        reason: r.get(6)?,
        size: r.get::<_, i64>(7)? as usize,
        released: r.get::<_, Option<i64>>(8)?.map(from_ts),
        kind: r
            .get::<_, Option<String>>(9)?
            .map_or(HoldKind::Other, |k| HoldKind::parse(&k)),
        raw: Vec::new(),
    })
}

impl Tx<'_> {
    /// Holds a message; the same bytes held twice (a re-delivery) keep one row.
    pub fn quarantine(&mut self, h: &Held<'_>) -> Result<i64> {
        let existing: Option<i64> = self
            .tx
            .prepare_cached(
                "SELECT id FROM quarantine WHERE content_hash = ?1 AND released_at IS NULL LIMIT 1",
            )?
            .query_row(params![h.content_hash], |r| r.get(0))
            .optional()?;
        if let Some(id) = existing {
            return Ok(id);
        }
        self.exec(
            "INSERT INTO quarantine (received_at, source, content_hash, message_id, from_addr,
                 subject, reason, raw)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                ts(h.at),
                h.source,
                h.content_hash,
                h.message_id,
                h.from,
                h.subject,
                h.reason,
                h.raw
            ],
        )?;
        Ok(self.tx.last_insert_rowid())
    }

    /// [`Tx::quarantine`], recording why as a [`HoldKind`] (a re-delivery
    /// keeps the first row and its kind).
    pub fn quarantine_as(&mut self, h: &Held<'_>, kind: HoldKind) -> Result<i64> {
        let id = self.quarantine(h)?;
        self.exec(
            "UPDATE quarantine SET kind = ?2 WHERE id = ?1 AND kind IS NULL",
            params![id, kind.as_str()],
        )?;
        Ok(id)
    }

    pub fn mark_released(&mut self, id: i64, to: Option<i64>, at: DateTime<Utc>) -> Result<()> {
        self.exec(
            "UPDATE quarantine SET released_at = ?2, released_to = ?3 WHERE id = ?1",
            params![id, ts(at), to],
        )?;
        Ok(())
    }

    /// Deletes a held message for good (the operator's decision).
    pub fn delete_quarantined(&mut self, id: i64) -> Result<bool> {
        self.exec(
            "UPDATE source_ids SET quarantine = NULL WHERE quarantine = ?1",
            params![id],
        )?;
        Ok(self
            .tx
            .execute("DELETE FROM quarantine WHERE id = ?1", params![id])?
            == 1)
    }
}

impl Reader<'_> {
    /// Held messages (not yet released), oldest first; `all` adds released ones.
    pub fn quarantined(&self, all: bool) -> Result<Vec<QuarantineEntry>> {
        let sql =
            format!("SELECT {COLUMNS} FROM quarantine WHERE ?1 OR released_at IS NULL ORDER BY id");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![all], entry_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn quarantine_entry(&self, id: i64) -> Result<Option<QuarantineEntry>> {
        let sql = format!("SELECT {COLUMNS}, raw FROM quarantine WHERE id = ?1");
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row(params![id], |r| {
                let mut e = entry_from_row(r)?;
                e.raw = r.get(10)?;
                Ok(e)
            })
            .optional()?)
    }

    /// Whether these bytes are held already (not released): a re-delivery.
    pub fn is_held(&self, content_hash: &str) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT 1 FROM quarantine WHERE content_hash = ?1 AND released_at IS NULL",
            )?
            .exists(params![content_hash])?)
    }

    pub fn quarantine_count(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM quarantine", [], |r| r.get(0))?)
    }
}
