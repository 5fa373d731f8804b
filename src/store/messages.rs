//! Inbound messages, the source ids already taken, and the Message-ID index
//! that threading asks "which ticket does this id belong to?".

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::{Reader, Result, Tx, from_json, from_ts, json, ts};
use crate::domain::{MailClass, TicketId};
use crate::parse::{Attachment, Encryption, Inbound};

/// What intake stores for one inbound message.
pub struct NewMessage<'a> {
    pub raw: &'a [u8],
    pub inbound: &'a Inbound,
    pub source: &'a str,
    pub ticket: Option<TicketId>,
    pub received_at: DateTime<Utc>,
}

/// A stored inbound message, as `ticket show` needs it.
#[derive(Debug, Clone, Serialize)]
pub struct StoredMessage {
    pub id: i64,
    pub message_id: String,
    pub from: Option<String>,
    pub from_name: Option<String>,
    pub subject: String,
    pub received_at: DateTime<Utc>,
    pub class: MailClass,
    pub new_text: String,
    pub quoted_text: String,
    pub attachments: Vec<Attachment>,
    /// What the message is on its ticket (a staff reply, a note …).
    pub role: super::MessageRole,
    /// The text histories show, when not `new_text` (a staff reply
    /// without its command lines).
    pub shown_text: Option<String>,
    /// Who histories say wrote it, when not its From (a staff member's name).
    pub shown_from: Option<String>,
    /// It came encrypted (OpenPGP): the text is the decrypted one.
    pub encrypted: bool,
    /// Its OpenPGP signature, as checked when it came.
    pub signature: Option<String>,
}

impl StoredMessage {
    /// The text histories and `ticket show` give for it.
    pub fn text(&self) -> &str {
        self.shown_text.as_deref().unwrap_or(&self.new_text)
    }
}

pub(super) const FIRST_MESSAGE: &str =
    "SELECT message_id FROM messages WHERE ticket_id = ?1 ORDER BY id LIMIT 1";

pub(super) const NEWEST_CUSTOMER_MESSAGE: &str = "SELECT m.message_id
     FROM events e JOIN messages m ON m.id = e.message AND m.ticket_id = e.ticket_id
     WHERE e.ticket_id = ?1 AND e.shown = 'customer' ORDER BY e.id DESC LIMIT 1";

/// What [`Reader::holders_of_message_id`] finds.
pub struct Holders {
    /// A mail we sent has the id.
    pub ours: bool,
    /// (From address, raw bytes) of messages we received with it.
    pub received: Vec<(Option<String>, Vec<u8>)>,
}

impl Tx<'_> {
    pub fn insert_message(&mut self, m: &NewMessage<'_>) -> Result<i64> {
        let i = m.inbound;
        let recipients = serde_json::json!({
            "to": i.to.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
            "cc": i.cc.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
            "reply_to": i.reply_to.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
        });
        self.exec(
            "INSERT INTO messages (received_at, source, message_id, content_hash, size, raw,
                 ticket_id, from_addr, from_name, subject, sent_date, class, class_reason,
                 in_reply_to, refs, recipients, body_text, new_text, quoted_text, attachments, warnings,
                 encrypted, signature)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)",
            params![
                ts(m.received_at),
                m.source,
                i.message_id,
                i.content_hash,
                m.raw.len() as i64,
                m.raw,
                m.ticket.map(|t| t.0),
                i.from.as_ref().map(|f| f.address.as_str()),
                i.from.as_ref().and_then(|f| f.name.as_deref()),
                i.subject,
                i.date.map(ts),
                i.class.label(),
                i.class.reason(),
                json(&i.in_reply_to),
                json(&i.references),
                recipients.to_string(),
                i.text,
                i.new_text,
                i.quoted,
                json(&i.attachments),
                json(&i.warnings),
                i.encryption == Encryption::Decrypted,
                i.signature.as_ref().map(|s| s.describe()),
            ],
        )?;
        let id = self.tx.last_insert_rowid();
        if let Some(ticket) = m.ticket {
            self.mark_encrypted_ticket(id, ticket)?;
        }
        Ok(id)
    }

    /// A ticket that holds an encrypted message is encrypted from then on.
    pub(super) fn mark_encrypted_ticket(&mut self, message: i64, ticket: TicketId) -> Result<()> {
        self.exec(
            "UPDATE tickets SET encrypted = 1 WHERE id = ?2
             AND EXISTS (SELECT 1 FROM messages WHERE id = ?1 AND encrypted = 1)",
            params![message, ticket.0],
        )?;
        Ok(())
    }

    /// Remembers that `source_id` of `source` has been taken, pointing at
    /// where it went. Taking the same id twice is harmless.
    pub fn record_source_id(
        &mut self,
        source: &str,
        source_id: &str,
        message: Option<i64>,
        quarantine: Option<i64>,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.exec(
            "INSERT INTO source_ids (source, source_id, taken_at, message, quarantine)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (source, source_id) DO NOTHING",
            params![source, source_id, ts(at), message, quarantine],
        )?;
        Ok(())
    }
}

impl Reader<'_> {
    pub fn source_id_taken(&self, source: &str, source_id: &str) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM source_ids WHERE source = ?1 AND source_id = ?2")?
            .exists(params![source, source_id])?)
    }

    /// Who has Message-ID `message_id` already: one of our own mails, and
    /// (at most 8) stored messages, by sender and raw bytes. (A limit bound
    /// as a parameter makes SQLite prepare the statement again each time.) A new
    /// message with it is either another copy or a reuse.
    pub fn holders_of_message_id(&self, message_id: &str) -> Result<Holders> {
        let sent = self
            .conn
            .prepare_cached("SELECT 1 FROM outbox WHERE message_id = ?1")?
            .exists(params![message_id])?;
        let mut stmt = self
            .conn
            .prepare_cached("SELECT from_addr, raw FROM messages WHERE message_id = ?1 LIMIT 8")?;
        let rows = stmt.query_map(params![message_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(Holders {
            ours: sent,
            received: rows.collect::<Result<_, _>>()?,
        })
    }

    /// Whether `source` took these very bytes (`hash`) under `id`: the row
    /// `id#hash` intake records now, or a row of an older postdesk that
    /// recorded the bare id, when what it points at has that content.
    pub fn source_content_taken(&self, source: &str, id: &str, hash: &str) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT 1 FROM source_ids WHERE source = ?1 AND source_id = ?2 || '#' || ?3
                 UNION ALL
                 SELECT 1 FROM source_ids s
                   LEFT JOIN messages m ON m.id = s.message
                   LEFT JOIN quarantine q ON q.id = s.quarantine
                  WHERE s.source = ?1 AND s.source_id = ?2
                    AND (m.content_hash = ?3 OR q.content_hash = ?3)
                 LIMIT 1",
            )?
            .exists(params![source, id, hash])?)
    }

    /// Whether `source` took any message under `id`, whatever its content
    /// (`id` or `id#…`): for a source that cannot afford to fetch a message
    /// again only to recognise it.
    pub fn source_id_seen(&self, source: &str, id: &str) -> Result<bool> {
        // A range on the primary key, not LIKE: ids may hold % and _.
        Ok(self
            .conn
            .prepare_cached(
                "SELECT 1 FROM source_ids WHERE source = ?1 AND source_id = ?2
                 UNION ALL
                 SELECT 1 FROM source_ids WHERE source = ?1
                    AND source_id >= ?2 || '#' AND source_id < ?2 || '$'
                 LIMIT 1",
            )?
            .exists(params![source, id])?)
    }

    /// The stored message with this Message-ID and content, if any: a second
    /// delivery of the same mail.
    pub fn message_by_identity(&self, message_id: &str, content_hash: &str) -> Result<Option<i64>> {
        Ok(self
            .conn
            .prepare_cached("SELECT id FROM messages WHERE message_id = ?1 AND content_hash = ?2")?
            .query_row(params![message_id, content_hash], |r| r.get(0))
            .optional()?)
    }

    /// The ticket of the message we received with `message_id`.
    pub fn received_ticket_of(&self, message_id: &str) -> Result<Option<TicketId>> {
        let found: Option<i64> = self
            .conn
            .prepare_cached(
                "SELECT ticket_id FROM messages WHERE message_id = ?1 AND ticket_id IS NOT NULL
                 LIMIT 1",
            )?
            .query_row(params![message_id], |r| r.get(0))
            .optional()?;
        Ok(found.map(TicketId))
    }

    /// The ticket of the mail we sent with `message_id` (the caller has
    /// verified that the id is ours).
    pub fn sent_ticket_of(&self, message_id: &str) -> Result<Option<TicketId>> {
        let found: Option<i64> = self
            .conn
            .prepare_cached(
                "SELECT ticket_id FROM outbox WHERE message_id = ?1 AND ticket_id IS NOT NULL",
            )?
            .query_row(params![message_id], |r| r.get(0))
            .optional()?;
        Ok(found.map(TicketId))
    }

    /// The ticket a Message-ID belongs to, whether we received it or sent
    /// it, for tools and tests that look a mail up (threading verifies
    /// our ids first: see `thread`).
    pub fn ticket_of_message_id(&self, message_id: &str) -> Result<Option<TicketId>> {
        match self.received_ticket_of(message_id)? {
            Some(t) => Ok(Some(t)),
            None => self.sent_ticket_of(message_id),
        }
    }

    pub fn message_count(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM messages", [], |r| r.get(0))?)
    }

    /// Whether ticket `n` holds a message that came encrypted.
    pub fn ticket_encrypted(&self, n: TicketId) -> Result<bool> {
        Ok(self
            .conn
            .query_row(
                "SELECT encrypted FROM tickets WHERE id = ?1",
                params![n.0],
                |r| r.get::<_, bool>(0),
            )
            .optional()?
            .unwrap_or(false))
    }

    /// The raw bytes of a stored message.
    pub fn message_raw(&self, id: i64) -> Result<Option<Vec<u8>>> {
        Ok(self
            .conn
            .query_row("SELECT raw FROM messages WHERE id = ?1", params![id], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// The Message-ID of the ticket's first message: every mail about the
    /// ticket threads under it.
    pub fn first_message_id(&self, ticket: TicketId) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached(FIRST_MESSAGE)?
            .query_row(params![ticket.0], |r| r.get(0))
            .optional()?)
    }

    /// The Message-ID of the newest message a person of the customer side
    /// wrote on the ticket (automatic mail and the staff side's left out),
    /// through the `events_customer_messages` index.
    pub fn newest_customer_message_id(&self, ticket: TicketId) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached(NEWEST_CUSTOMER_MESSAGE)?
            .query_row(params![ticket.0], |r| r.get(0))
            .optional()?)
    }

    /// Every stored message of the ticket, for `postdesk ticket show`: it
    /// walks the whole thread, so nothing on the intake path calls it.
    /// The texts of the newest 20 internal notes of `ticket`.
    pub fn staff_notes(&self, ticket: TicketId) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT coalesce(shown_text, new_text) FROM messages
             WHERE ticket_id = ?1 AND role = 'staff-note' ORDER BY id DESC LIMIT 20",
        )?;
        let rows = stmt.query_map(params![ticket.0], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The newest staff reply on `ticket` (a reply relayed to the customer
    /// side): who wrote it, by the member's name, and when it came in.
    pub fn last_staff_reply(&self, ticket: TicketId) -> Result<Option<(String, DateTime<Utc>)>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT coalesce(shown_from, from_addr), received_at FROM messages
                 WHERE ticket_id = ?1 AND role = 'staff-reply' ORDER BY id DESC LIMIT 1",
            )?
            .query_row(params![ticket.0], |r| {
                Ok((
                    r.get::<_, Option<String>>(0)?.unwrap_or_default(),
                    from_ts(r.get(1)?),
                ))
            })
            .optional()?)
    }

    /// The text of the newest automatic reply (an out-of-office) on
    /// `ticket` that came after its last staff notification, among its 20
    /// newest history events: what the next notification tells staff,
    /// once. Bounded reads, whatever the length of the ticket.
    pub fn unseen_auto_reply(&self, ticket: TicketId) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached(
                "WITH recent AS (SELECT id, message, outbox FROM events
                                 WHERE ticket_id = ?1 ORDER BY id DESC LIMIT 20),
                      told AS (SELECT coalesce(max(r.id), 0) AS id FROM recent r
                               JOIN outbox o ON o.id = r.outbox WHERE o.kind = 'staff-notify')
                 SELECT coalesce(m.new_text, '') FROM recent r JOIN messages m ON m.id = r.message
                 WHERE m.class = 'auto-reply' AND r.id > (SELECT id FROM told)
                 ORDER BY r.id DESC LIMIT 1",
            )?
            .query_row(params![ticket.0], |r| r.get(0))
            .optional()?)
    }

    pub fn ticket_messages(&self, ticket: TicketId) -> Result<Vec<StoredMessage>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, message_id, from_addr, from_name, subject, received_at, class, class_reason,
                    new_text, quoted_text, attachments, role, shown_text, shown_from, encrypted, signature
             FROM messages WHERE ticket_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map(params![ticket.0], |r| {
            Ok(StoredMessage {
                id: r.get(0)?,
                message_id: r.get(1)?,
                from: r.get(2)?,
                from_name: r.get(3)?,
                subject: r.get(4)?,
                received_at: from_ts(r.get(5)?),
                class: MailClass::from_parts(&r.get::<_, String>(6)?, r.get(7)?),
                new_text: r.get(8)?,
                quoted_text: r.get(9)?,
                attachments: from_json(&r.get::<_, String>(10)?),
                role: super::MessageRole::parse(r.get::<_, Option<String>>(11)?.as_deref()),
                shown_text: r.get(12)?,
                shown_from: r.get(13)?,
                encrypted: r.get(14)?,
                signature: r.get(15)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::super::Store;
    use crate::parse::{ParseLimits, parse};
    use chrono::TimeZone;

    /// Source ids as an older postdesk recorded them (the bare id, the row
    /// pointing at the message) are still recognised for the same bytes,
    /// and not for other bytes under the same id; `id#hash` rows likewise.
    #[test]
    fn source_ids_are_recognised_by_content_old_and_new() {
        let mut s = Store::open_in_memory().unwrap();
        let raw = b"From: a@b.example\r\nSubject: x\r\nMessage-ID: <x@b.example>\r\n\r\nhi\r\n";
        let limits = ParseLimits {
            max_size: 1 << 20,
            max_depth: 5,
            max_parts: 10,
        };
        let inbound = parse(raw, &limits).unwrap();
        let at = chrono::Utc.timestamp_opt(1_800_000_000, 0).unwrap();
        s.write(|tx| {
            let m = tx.insert_message(&super::NewMessage {
                raw,
                inbound: &inbound,
                source: "inbox",
                ticket: None,
                received_at: at,
            })?;
            tx.record_source_id("inbox", "customer.eml", Some(m), None, at)?;
            tx.record_source_id("inbox", "new.eml#abc", None, None, at)
        })
        .unwrap();
        let r = s.read();
        let hash = &inbound.content_hash;
        assert!(
            r.source_content_taken("inbox", "customer.eml", hash)
                .unwrap()
        );
        assert!(
            !r.source_content_taken("inbox", "customer.eml", "other")
                .unwrap()
        );
        assert!(
            !r.source_content_taken("elsewhere", "customer.eml", hash)
                .unwrap()
        );
        assert!(r.source_content_taken("inbox", "new.eml", "abc").unwrap());
        assert!(!r.source_content_taken("inbox", "new.eml", "abd").unwrap());
        // Seen under any content: the bare id, or an id#hash row.
        for (id, seen) in [
            ("customer.eml", true),
            ("new.eml", true),
            ("new", false),
            ("new.em", false),
        ] {
            assert_eq!(r.source_id_seen("inbox", id).unwrap(), seen, "{id}");
        }
    }
}
