//! The outbox table: mail queued in the same transaction as the change that
//! caused it, claimed by a sender with a lease, then marked sent or failed.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::{Reader, Result, Tx, from_json, from_ts, json, ts};
use crate::domain::{Address, Audience, TicketId};

/// A mail to queue, with its final bytes.
pub struct QueuedMail<'a> {
    pub ticket: Option<TicketId>,
    pub kind: &'a str,
    /// Automatic replies count towards the per-address daily limit.
    pub automatic: bool,
    pub message_id: &'a str,
    pub mail_from: Option<&'a Address>,
    pub rcpt: &'a [Address],
    pub subject: &'a str,
    pub raw: &'a [u8],
    pub at: DateTime<Utc>,
    /// Which side of the desk it goes to.
    pub audience: Audience,
    /// The ref part of its Message-ID (see `msgid`).
    pub reference: &'a str,
}

/// A mail postdesk sent, as a reply naming it sees it.
#[derive(Debug, Clone)]
pub struct SentMail {
    pub id: i64,
    pub ticket: Option<TicketId>,
    pub kind: String,
    /// None: queued before Message-IDs were verifiable; it grants nothing.
    pub audience: Option<Audience>,
    pub rcpt: Vec<Address>,
    pub raw: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutboxState {
    Queued,
    Sent,
    Failed,
}

/// An outbox row, without its bytes unless asked for.
#[derive(Debug, Clone, Serialize)]
pub struct OutboxEntry {
    pub id: i64,
    pub ticket: Option<TicketId>,
    pub kind: String,
    pub message_id: String,
    pub mail_from: String,
    pub rcpt: Vec<String>,
    pub subject: String,
    pub status: OutboxState,
    pub attempts: u32,
    pub next_attempt: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created: DateTime<Utc>,
    pub sent: Option<DateTime<Utc>>,
    #[serde(skip)]
    pub raw: Vec<u8>,
}

const COLUMNS: &str = "id, ticket_id, kind, message_id, mail_from, rcpt, subject, status, attempts,
     next_attempt_at, last_error, created_at, sent_at";

fn entry_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OutboxEntry> {
    let status: String = r.get(7)?;
    Ok(OutboxEntry {
        id: r.get(0)?,
        ticket: r.get::<_, Option<i64>>(1)?.map(TicketId),
        kind: r.get(2)?,
        message_id: r.get(3)?,
        mail_from: r.get(4)?,
        rcpt: from_json(&r.get::<_, String>(5)?),
        subject: r.get(6)?,
        status: match status.as_str() {
            "sent" => OutboxState::Sent,
            "failed" => OutboxState::Failed,
            _ => OutboxState::Queued,
        },
        attempts: r.get(8)?,
        next_attempt: from_ts(r.get(9)?),
        last_error: r.get(10)?,
        created: from_ts(r.get(11)?),
        sent: r.get::<_, Option<i64>>(12)?.map(from_ts),
        raw: Vec::new(),
    })
}

impl Tx<'_> {
    pub fn queue_mail(&mut self, m: &QueuedMail<'_>) -> Result<i64> {
        let rcpt: Vec<&str> = m.rcpt.iter().map(|a| a.as_str()).collect();
        self.exec(
            "INSERT INTO outbox (ticket_id, kind, automatic, message_id, mail_from, rcpt, rcpt_key,
                 subject, raw, status, next_attempt_at, created_at, audience, ref)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'queued', ?10, ?10, ?11, ?12)",
            params![
                m.ticket.map(|t| t.0),
                m.kind,
                m.automatic,
                m.message_id,
                m.mail_from.map(|a| a.as_str()).unwrap_or(""),
                json(&rcpt),
                m.rcpt.first().map(|a| a.key()).unwrap_or_default(),
                m.subject,
                m.raw,
                ts(m.at),
                m.audience.as_str(),
                m.reference,
            ],
        )?;
        Ok(self.tx.last_insert_rowid())
    }

    /// Claims up to `limit` due mails for one sender: each claimed row's next
    /// attempt moves to `lease_until`, so another sender (another process)
    /// does not take it meanwhile, and a sender that dies mid-send leaves it
    /// to be retried when the lease runs out.
    pub fn claim_due_mail(
        &mut self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        owner: &str,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>> {
        let sql = format!(
            "SELECT {COLUMNS}, raw FROM outbox WHERE status = 'queued' AND next_attempt_at <= ?1
             ORDER BY next_attempt_at, id LIMIT ?2"
        );
        let mut due = Vec::new();
        {
            let mut stmt = self.tx.prepare_cached(&sql)?;
            let rows = stmt.query_map(params![ts(now), limit as i64], |r| {
                let mut e = entry_from_row(r)?;
                e.raw = r.get(13)?;
                Ok(e)
            })?;
            for row in rows {
                due.push(row?);
            }
        }
        for e in &mut due {
            self.exec(
                "UPDATE outbox SET next_attempt_at = ?2, attempts = attempts + 1, claimed_by = ?3
                 WHERE id = ?1",
                params![e.id, ts(lease_until), owner],
            )?;
            e.attempts += 1;
        }
        Ok(due)
    }

    pub fn mark_sent(&mut self, id: i64, at: DateTime<Utc>) -> Result<()> {
        self.exec(
            "UPDATE outbox SET status = 'sent', sent_at = ?2, last_error = NULL, claimed_by = NULL
             WHERE id = ?1",
            params![id, ts(at)],
        )?;
        Ok(())
    }

    /// Records a failed attempt: retry at `retry_at`, or give up (`None`).
    pub fn mark_attempt_failed(
        &mut self,
        id: i64,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<()> {
        match retry_at {
            Some(at) => self.exec(
                "UPDATE outbox SET last_error = ?2, next_attempt_at = ?3, claimed_by = NULL WHERE id = ?1",
                params![id, error, ts(at)],
            )?,
            None => self.exec(
                "UPDATE outbox SET status = 'failed', last_error = ?2, claimed_by = NULL WHERE id = ?1",
                params![id, error],
            )?,
        };
        Ok(())
    }

    /// Hands the mails leased by `owner` (a sender that died) back to the
    /// queue, due at `now`.
    pub fn release_claims(&mut self, owner: &str, now: DateTime<Utc>) -> Result<usize> {
        Ok(self.exec(
            "UPDATE outbox SET next_attempt_at = ?2, claimed_by = NULL
             WHERE claimed_by = ?1 AND status = 'queued'",
            params![owner, ts(now)],
        )?)
    }

    /// Puts a failed mail back in the queue (`postdesk outbox retry`).
    pub fn requeue_mail(&mut self, id: i64, at: DateTime<Utc>) -> Result<bool> {
        let n = self.exec(
            "UPDATE outbox SET status = 'queued', attempts = 0, next_attempt_at = ?2
             WHERE id = ?1 AND status = 'failed'",
            params![id, ts(at)],
        )?;
        Ok(n == 1)
    }
}

fn sent_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SentMail> {
    Ok(SentMail {
        id: r.get(0)?,
        ticket: r.get::<_, Option<i64>>(1)?.map(TicketId),
        kind: r.get(2)?,
        audience: r
            .get::<_, Option<String>>(3)?
            .as_deref()
            .and_then(Audience::parse),
        rcpt: from_json::<Vec<String>>(&r.get::<_, String>(4)?)
            .iter()
            .filter_map(|a| Address::parse(a).ok())
            .collect(),
        raw: r.get(5)?,
    })
}

const SENT_COLUMNS: &str = "id, ticket_id, kind, audience, rcpt, raw";

impl Reader<'_> {
    /// The mail we queued with Message-ID `message_id` (the caller has
    /// verified that it is ours).
    pub fn sent_mail(&self, message_id: &str) -> Result<Option<SentMail>> {
        let sql = format!("SELECT {SENT_COLUMNS} FROM outbox WHERE message_id = ?1");
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row(params![message_id], sent_from_row)
            .optional()?)
    }

    /// The mail whose Message-ID has the ref `reference` (a marker line).
    pub fn sent_mail_by_ref(&self, reference: &str) -> Result<Option<SentMail>> {
        let sql = format!("SELECT {SENT_COLUMNS} FROM outbox WHERE ref = ?1 LIMIT 1");
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row(params![reference], sent_from_row)
            .optional()?)
    }

    /// How many automatic mails went (or are queued) to `to` since `since`.
    pub fn automatic_mails_to(&self, to: &Address, since: DateTime<Utc>) -> Result<u32> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT count(*) FROM outbox WHERE automatic = 1 AND rcpt_key = ?1 AND created_at >= ?2",
            )?
            .query_row(params![to.key(), ts(since)], |r| r.get(0))?)
    }

    /// The senders holding leases on queued mail.
    pub fn claim_owners(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT DISTINCT claimed_by FROM outbox WHERE status = 'queued' AND claimed_by IS NOT NULL",
        )?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// When the next queued mail is due, if any.
    pub fn next_mail_due(&self) -> Result<Option<DateTime<Utc>>> {
        Ok(self
            .conn
            .prepare_cached("SELECT min(next_attempt_at) FROM outbox WHERE status = 'queued'")?
            .query_row([], |r| r.get::<_, Option<i64>>(0))
            .optional()?
            .flatten()
            .map(from_ts))
    }

    /// Outbox rows, newest first; `status` None lists them all.
    pub fn outbox(&self, status: Option<OutboxState>, limit: usize) -> Result<Vec<OutboxEntry>> {
        let want = status.map(|s| match s {
            OutboxState::Queued => "queued",
            OutboxState::Sent => "sent",
            OutboxState::Failed => "failed",
        });
        let sql = format!(
            "SELECT {COLUMNS} FROM outbox WHERE (?1 IS NULL OR status = ?1) ORDER BY id DESC LIMIT ?2"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![want, limit as i64], entry_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn outbox_entry(&self, id: i64) -> Result<Option<OutboxEntry>> {
        let sql = format!("SELECT {COLUMNS}, raw FROM outbox WHERE id = ?1");
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row(params![id], |r| {
                let mut e = entry_from_row(r)?;
                e.raw = r.get(13)?;
                Ok(e)
            })
            .optional()?)
    }

    pub fn ticket_outbox(&self, ticket: TicketId) -> Result<Vec<OutboxEntry>> {
        let sql = format!("SELECT {COLUMNS} FROM outbox WHERE ticket_id = ?1 ORDER BY id");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![ticket.0], entry_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
