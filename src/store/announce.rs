//! Announcements (mass mail): the announcement and its recipients are
//! written first; each recipient's mail is queued in the transaction that
//! marks it queued, so a resumed run sends only to those still unmarked.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{Reader, Result, Tx, from_json, from_ts, json, ts};
use crate::domain::Address;

/// A recipient of an announcement, as chosen when it was made.
#[derive(Debug, Clone)]
pub struct AnnounceRecipient {
    pub id: i64,
    pub account: String,
    pub address: Address,
    pub language: String,
}

/// See [`Reader::announce_schedule`].
#[derive(Debug, Clone, Copy)]
pub struct AnnounceSchedule {
    pub base: Option<DateTime<Utc>>,
    pub base_index: i64,
    pub queued: i64,
    pub last: Option<DateTime<Utc>>,
}

impl Tx<'_> {
    /// Records an announcement and its recipients (account, address,
    /// language); an address listed twice counts once.
    pub fn create_announcement(
        &mut self,
        subject: &str,
        bodies: &BTreeMap<String, String>,
        recipients: &[(String, Address, String)],
        at: DateTime<Utc>,
    ) -> Result<i64> {
        self.exec(
            "INSERT INTO announcements (subject, bodies, created_at) VALUES (?1, ?2, ?3)",
            params![subject, json(bodies), ts(at)],
        )?;
        let id = self.tx.last_insert_rowid();
        for (account, address, language) in recipients {
            self.exec(
                "INSERT OR IGNORE INTO announcement_recipients
                     (announcement_id, account, address, address_key, language)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, account, address.as_str(), address.key(), language],
            )?;
        }
        Ok(id)
    }

    /// Marks a recipient's mail as queued (outbox row `outbox`, due `at`).
    pub fn mark_announced(&mut self, recipient: i64, outbox: i64, at: DateTime<Utc>) -> Result<()> {
        self.exec(
            "UPDATE announcement_recipients SET outbox_id = ?2, scheduled_at = ?3 WHERE id = ?1",
            params![recipient, outbox, ts(at)],
        )?;
        Ok(())
    }

    /// Marks a recipient as skipped (failing or unsubscribed): outbox 0.
    pub fn skip_announced(&mut self, recipient: i64) -> Result<()> {
        self.exec(
            "UPDATE announcement_recipients SET outbox_id = 0 WHERE id = ?1",
            params![recipient],
        )?;
        Ok(())
    }

    /// Starts the rate limit's clock of announcement `id` again: mail
    /// number `index` is due at `at`.
    pub fn set_announce_base(&mut self, id: i64, at: DateTime<Utc>, index: i64) -> Result<()> {
        self.exec(
            "UPDATE announcements SET base_at = ?2, base_index = ?3 WHERE id = ?1",
            params![id, ts(at), index],
        )?;
        Ok(())
    }

    pub fn finish_announcement(&mut self, id: i64, at: DateTime<Utc>) -> Result<()> {
        self.exec(
            "UPDATE announcements SET finished_at = ?2 WHERE id = ?1",
            params![id, ts(at)],
        )?;
        Ok(())
    }

    /// `address` wants no more announcements.
    pub fn unsubscribe(&mut self, address: &Address, at: DateTime<Utc>) -> Result<()> {
        self.exec(
            "INSERT OR IGNORE INTO announce_unsubscribed (address_key, address, at)
             VALUES (?1, ?2, ?3)",
            params![address.key(), address.as_str(), ts(at)],
        )?;
        Ok(())
    }
}

impl Reader<'_> {
    /// The subject and the text of each language of announcement `id`,
    /// if there is one.
    pub fn announcement(&self, id: i64) -> Result<Option<(String, BTreeMap<String, String>)>> {
        let row: Option<(String, String)> = self
            .conn
            .query_row(
                "SELECT subject, bodies FROM announcements WHERE id = ?1",
                params![id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(row.map(|(subject, bodies)| (subject, from_json(&bodies))))
    }

    /// Recipients of announcement `id` whose mail is not queued yet.
    pub fn announce_pending(&self, id: i64) -> Result<Vec<AnnounceRecipient>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, account, address, language FROM announcement_recipients
             WHERE announcement_id = ?1 AND outbox_id IS NULL ORDER BY id",
        )?;
        let rows = stmt.query_map(params![id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, account, address, language) = row?;
            // Written from a parsed Address: an unparsable one is skipped.
            if let Ok(address) = Address::parse(&address) {
                out.push(AnnounceRecipient {
                    id,
                    account,
                    address,
                    language,
                });
            }
        }
        Ok(out)
    }

    /// The rate limit's state of announcement `id`: its base (when mail
    /// number `base_index` is due), how many mails are queued, and when
    /// the latest is due.
    pub fn announce_schedule(&self, id: i64) -> Result<AnnounceSchedule> {
        Ok(self.conn.query_row(
            "SELECT a.base_at, a.base_index,
                    (SELECT count(*) FROM announcement_recipients r
                     WHERE r.announcement_id = a.id AND r.outbox_id > 0),
                    (SELECT max(scheduled_at) FROM announcement_recipients r
                     WHERE r.announcement_id = a.id)
             FROM announcements a WHERE a.id = ?1",
            params![id],
            |r| {
                Ok(AnnounceSchedule {
                    base: r.get::<_, Option<i64>>(0)?.map(from_ts),
                    base_index: r.get(1)?,
                    queued: r.get(2)?,
                    last: r.get::<_, Option<i64>>(3)?.map(from_ts),
                })
            },
        )?)
    }

    pub fn is_unsubscribed(&self, address: &Address) -> Result<bool> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM announce_unsubscribed WHERE address_key = ?1",
                params![address.key()],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }
}
