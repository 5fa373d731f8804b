//! Senders' OpenPGP keys learnt from their genuine mail (table
//! `sender_keys`, issue 16): written by intake when such a mail offers a
//! key for its From address, read to check that sender's signatures and to
//! encrypt mail to them (see `screen::openpgp` and `outbox::seal`).

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::{Reader, Result, Tx, ts};
use crate::domain::Address;

/// One key to keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LearnedKey<'a> {
    pub address: &'a Address,
    pub fingerprint: &'a str,
    pub armored: &'a str,
    pub message_id: &'a str,
}

impl Tx<'_> {
    /// Keeps `key`; false when the address had it already.
    pub fn learn_sender_key(&mut self, key: &LearnedKey<'_>, at: DateTime<Utc>) -> Result<bool> {
        let n = self.tx.execute(
            "INSERT INTO sender_keys (address, address_key, fingerprint, armored, message_id, learned_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (address_key, fingerprint) DO NOTHING",
            params![
                key.address.as_str(),
                key.address.key(),
                key.fingerprint,
                key.armored,
                key.message_id,
                ts(at)
            ],
        )?;
        Ok(n > 0)
    }
}

impl Reader<'_> {
    /// The armoured keys learnt for `address`, newest first: a customer
    /// who sends a new key is encrypted to from then on.
    pub fn sender_keys(&self, address: &Address) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT armored FROM sender_keys WHERE address_key = ?1 ORDER BY id DESC",
        )?;
        let rows = stmt.query_map(params![address.key()], |r| r.get(0))?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }
}
