//! The reads of the staff side's daily digest: what waits for staff, what
//! was held, what waits for an account's primary address. Each is one
//! indexed or bounded query with a limit, so a digest costs the same on a
//! desk of any size.

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::quarantine::{COLUMNS as HELD_COLUMNS, entry_from_row};
use super::tickets::{TICKET_COLUMNS, ticket_from_row};
use super::{QuarantineEntry, Reader, Result, Ticket, ts};

impl Reader<'_> {
    /// Up to `limit` open tickets that wait for staff (new, in-progress),
    /// of queue `queue` (any case) or of every queue, priority first, then
    /// the longest waiting; and how many there are.
    pub fn waiting_for_staff(
        &self,
        queue: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Ticket>, u64)> {
        let sql = format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE status IN ('new', 'in-progress')
                 AND (?2 IS NULL OR queue = ?2 COLLATE NOCASE)
             ORDER BY priority DESC, COALESCE(waiting_since, created_at), id LIMIT ?1"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![limit as i64, queue], ticket_from_row)?;
        let list = rows.collect::<Result<Vec<_>, _>>()?;
        let count: i64 = self.conn.query_row(
            "SELECT count(*) FROM tickets WHERE status IN ('new', 'in-progress')
                 AND (?1 IS NULL OR queue = ?1 COLLATE NOCASE)",
            params![queue],
            |r| r.get(0),
        )?;
        Ok((list, count as u64))
    }

    /// Up to `limit` messages held or quarantined since `since` and not
    /// released, oldest first.
    pub fn held_since(&self, since: DateTime<Utc>, limit: usize) -> Result<Vec<QuarantineEntry>> {
        let sql = format!(
            "SELECT {HELD_COLUMNS} FROM quarantine
             WHERE received_at >= ?1 AND released_at IS NULL ORDER BY id LIMIT ?2"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![ts(since), limit as i64], entry_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
