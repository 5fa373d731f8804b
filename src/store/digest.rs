//! The reads of the staff side's daily digest: what waits for staff, what
//! was held, what waits for an account's primary address. Each is one
//! indexed or bounded query with a limit, so a digest costs the same on a
//! desk of any size.

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::quarantine::{COLUMNS as HELD_COLUMNS, entry_from_row};
use super::tickets::{TICKET_COLUMNS, ticket_from_row};
use super::{QuarantineEntry, Reader, Result, Ticket, Tx, from_ts, ts};
use crate::domain::TicketId;

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

/// A message held for its sender's confirmation whose code expired unused
/// and that staff were not told of yet (sql/0016_expired_holds.sql).
#[derive(Debug, Clone)]
pub struct ExpiredHold {
    /// The `verifications` row, told once by [`Tx::tell_hold_expired`].
    pub verification: i64,
    /// The held message's quarantine row (`postdesk quarantine show`).
    pub quarantine: i64,
    pub from: Option<String>,
    pub subject: Option<String>,
    pub received: DateTime<Utc>,
    pub expired: DateTime<Utc>,
    /// The ticket whose token the held mail carried.
    pub ticket: Option<TicketId>,
}

impl Reader<'_> {
    /// Up to `limit` held messages whose code expired unused by `now`, not
    /// released and not told yet, oldest expiry first: those that carried
    /// a ticket's token (`on_ticket`), or those that did not.
    pub fn expired_holds(
        &self,
        now: DateTime<Utc>,
        on_ticket: bool,
        limit: usize,
    ) -> Result<Vec<ExpiredHold>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT v.id, q.id, q.from_addr, q.subject, q.received_at, v.expires_at, v.ticket
             FROM verifications v JOIN quarantine q ON q.id = v.quarantine
             WHERE v.expiry_told_at IS NULL AND v.used_at IS NULL AND v.expires_at <= ?1
               AND q.released_at IS NULL AND (v.ticket IS NOT NULL) = ?2
             ORDER BY v.expires_at, v.id LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![ts(now), on_ticket, limit as i64], |r| {
            Ok(ExpiredHold {
                verification: r.get(0)?,
                quarantine: r.get(1)?,
                from: r.get(2)?,
                subject: r.get(3)?,
                received: from_ts(r.get(4)?),
                expired: from_ts(r.get(5)?),
                ticket: r.get::<_, Option<i64>>(6)?.map(TicketId),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

impl Tx<'_> {
    /// Records that the held mail of verification `id` carried ticket
    /// `ticket`'s token: its expiry is told on that ticket.
    pub fn set_verification_ticket(&mut self, id: i64, ticket: Option<TicketId>) -> Result<()> {
        self.exec(
            "UPDATE verifications SET ticket = ?2 WHERE id = ?1",
            params![id, ticket.map(|t| t.0)],
        )?;
        Ok(())
    }

    /// Marks the expiry of verification `id` told: never told again.
    pub fn tell_hold_expired(&mut self, id: i64, at: DateTime<Utc>) -> Result<()> {
        self.exec(
            "UPDATE verifications SET expiry_told_at = ?2 WHERE id = ?1 AND expiry_told_at IS NULL",
            params![id, ts(at)],
        )?;
        Ok(())
    }
}
