//! Proof of account ownership (issue 19): a ticket's proof, the requests
//! sent to an account's primary address (`#verify`), and the support PIN
//! of an account — its slow hash, the wrong PINs given, the lock.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{Reader, Result, Tx, from_ts, ts};
use crate::domain::TicketId;
use crate::domain::proof::ProofKind;

/// A request sent to an account's primary address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofRequest {
    pub id: i64,
    pub ticket: TicketId,
    /// The primary address it went to.
    pub primary: String,
    pub code_hash: String,
    /// The Message-ID of the mail (bare), when it was queued.
    pub message_id: Option<String>,
    pub asked_by: String,
    pub created: DateTime<Utc>,
    pub expires: DateTime<Utc>,
    pub settled: Option<DateTime<Utc>>,
}

pub struct NewProofRequest<'a> {
    pub ticket: TicketId,
    pub primary: &'a str,
    pub code_hash: &'a str,
    pub outbox: i64,
    pub asked_by: &'a str,
    pub reason: Option<&'a str>,
    pub at: DateTime<Utc>,
    pub expires: DateTime<Utc>,
}

/// The columns [`proof_from_row`] reads, `p` the request, `o` its mail.
const PROOF_COLUMNS: &str = "p.id, p.ticket_id, p.primary_addr, p.code_hash, o.message_id, \
     p.asked_by, p.created_at, p.expires_at, p.settled_at";

fn proof_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ProofRequest> {
    Ok(ProofRequest {
        id: r.get(0)?,
        ticket: TicketId(r.get(1)?),
        primary: r.get(2)?,
        code_hash: r.get(3)?,
        message_id: r.get(4)?,
        asked_by: r.get(5)?,
        created: from_ts(r.get(6)?),
        expires: from_ts(r.get(7)?),
        settled: r.get::<_, Option<i64>>(8)?.map(from_ts),
    })
}

impl Reader<'_> {
    /// The newest unsettled request of ticket `n` (expired or not).
    pub fn unsettled_proof_request(&self, n: TicketId) -> Result<Option<ProofRequest>> {
        let sql = format!(
            "SELECT {PROOF_COLUMNS} FROM proof_requests p LEFT JOIN outbox o ON o.id = p.outbox
             WHERE p.ticket_id = ?1 AND p.settled_at IS NULL
             ORDER BY p.id DESC LIMIT 1"
        );
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row(params![n.0], proof_from_row)
            .optional()?)
    }

    /// Up to `limit` requests to an account's primary address (`#verify`)
    /// neither settled nor expired at `now`, oldest first (the digest).
    pub fn pending_proof_requests(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<ProofRequest>> {
        let sql = format!(
            "SELECT {PROOF_COLUMNS} FROM proof_requests p LEFT JOIN outbox o ON o.id = p.outbox
             WHERE p.settled_at IS NULL AND p.expires_at > ?1
             ORDER BY p.id LIMIT ?2"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![ts(now), limit as i64], proof_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The primary address of account `id`, as stored.
    pub fn account_primary(&self, id: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT primary_addr FROM accounts WHERE id = ?1")?
            .query_row(params![id], |r| r.get(0))
            .optional()?)
    }

    /// The support PIN's hash of account `id`, and whether PIN checks are
    /// locked; None when there is no such account.
    pub fn account_pin(&self, id: &str) -> Result<Option<(Option<String>, bool)>> {
        Ok(self
            .conn
            .prepare_cached("SELECT pin_hash, pin_locked_at FROM accounts WHERE id = ?1")?
            .query_row(params![id], |r| {
                Ok((r.get(0)?, r.get::<_, Option<i64>>(1)?.is_some()))
            })
            .optional()?)
    }

    /// Wrong PINs given for account `id` since `since`.
    pub fn pin_failures_since(&self, id: &str, since: DateTime<Utc>) -> Result<u32> {
        Ok(self
            .conn
            .prepare_cached("SELECT count(*) FROM pin_failures WHERE account = ?1 AND at >= ?2")?
            .query_row(params![id, ts(since)], |r| r.get(0))?)
    }
}

impl Tx<'_> {
    pub fn add_proof_request(&mut self, p: &NewProofRequest<'_>) -> Result<i64> {
        self.exec(
            "INSERT INTO proof_requests (ticket_id, primary_addr, code_hash, outbox, asked_by,
                 reason, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                p.ticket.0,
                p.primary,
                p.code_hash,
                p.outbox,
                p.asked_by,
                p.reason,
                ts(p.at),
                ts(p.expires)
            ],
        )?;
        Ok(self.tx.last_insert_rowid())
    }

    /// Request `id` is settled: `outcome` is `confirmed` or `expired`.
    pub fn settle_proof_request(
        &mut self,
        id: i64,
        outcome: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.exec(
            "UPDATE proof_requests SET settled_at = ?2, outcome = ?3 WHERE id = ?1",
            params![id, ts(at), outcome],
        )?;
        Ok(())
    }

    /// Ticket `n` is proven `kind`, by `by` at `at`.
    pub fn set_ticket_proof(
        &mut self,
        n: TicketId,
        kind: ProofKind,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.exec(
            "UPDATE tickets SET proof = ?2, proof_by = ?3, proof_at = ?4 WHERE id = ?1",
            params![n.0, kind.as_str(), by, ts(at)],
        )?;
        Ok(())
    }

    pub fn set_needs_proof(&mut self, n: TicketId, needs: bool) -> Result<()> {
        self.exec(
            "UPDATE tickets SET needs_proof = ?2 WHERE id = ?1",
            params![n.0, needs],
        )?;
        Ok(())
    }

    /// Sets (Some) or removes (None) the support PIN's hash of account
    /// `id`; either way the wrong PINs are forgotten and the lock lifted.
    /// False when there is no such account.
    pub fn set_account_pin(&mut self, id: &str, hash: Option<&str>) -> Result<bool> {
        let n = self.exec(
            "UPDATE accounts SET pin_hash = ?2, pin_locked_at = NULL WHERE id = ?1",
            params![id, hash],
        )?;
        self.reset_pin_failures(id)?;
        Ok(n > 0)
    }

    /// Lifts the lock of PIN checks of account `id` and forgets its wrong
    /// PINs, keeping the PIN. False when there is no such account.
    pub fn reset_pin_lock(&mut self, id: &str) -> Result<bool> {
        let n = self.exec(
            "UPDATE accounts SET pin_locked_at = NULL WHERE id = ?1",
            params![id],
        )?;
        self.reset_pin_failures(id)?;
        Ok(n > 0)
    }

    fn reset_pin_failures(&mut self, id: &str) -> Result<()> {
        self.exec("DELETE FROM pin_failures WHERE account = ?1", params![id])?;
        Ok(())
    }

    /// A wrong PIN for account `id`.
    pub fn add_pin_failure(&mut self, id: &str, at: DateTime<Utc>) -> Result<()> {
        self.exec(
            "INSERT INTO pin_failures (account, at) VALUES (?1, ?2)",
            params![id, ts(at)],
        )?;
        Ok(())
    }

    /// PIN checks of account `id` stop until staff reset them.
    pub fn lock_pin(&mut self, id: &str, at: DateTime<Utc>) -> Result<()> {
        self.exec(
            "UPDATE accounts SET pin_locked_at = ?2 WHERE id = ?1",
            params![id, ts(at)],
        )?;
        Ok(())
    }
}
