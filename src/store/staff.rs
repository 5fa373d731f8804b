//! What staff working by mail adds to the store: the role of a stored
//! message (a staff reply, an internal note …) and the text histories show
//! of it, assignment, merging, participants dropped, addresses that failed
//! permanently, and the counts the loop guard of relays asks for.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::{Reader, Result, Tx, from_ts, ts};
use crate::domain::{Address, TicketId};

/// What a stored message is on its ticket (`messages.role`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MessageRole {
    /// A message of the customer side (the default, stored as NULL).
    Customer,
    /// A staff reply, relayed to the customer side.
    StaffReply,
    /// An internal note (`#note`): staff only.
    StaffNote,
    /// Only commands: nothing relayed.
    StaffCommands,
    /// Commands refused: nothing applied, nothing relayed.
    StaffRefused,
    /// Automatic mail from a staff address (an out-of-office).
    StaffAuto,
}

impl MessageRole {
    pub fn as_str(self) -> Option<&'static str> {
        Some(match self {
            MessageRole::Customer => return None,
            MessageRole::StaffReply => "staff-reply",
            MessageRole::StaffNote => "staff-note",
            MessageRole::StaffCommands => "staff-commands",
            MessageRole::StaffRefused => "staff-refused",
            MessageRole::StaffAuto => "staff-auto",
        })
    }

    pub fn parse(s: Option<&str>) -> MessageRole {
        match s {
            Some("staff-reply") => MessageRole::StaffReply,
            Some("staff-note") => MessageRole::StaffNote,
            Some("staff-commands") => MessageRole::StaffCommands,
            Some("staff-refused") => MessageRole::StaffRefused,
            Some("staff-auto") => MessageRole::StaffAuto,
            _ => MessageRole::Customer,
        }
    }

    /// Written by the staff side.
    pub fn is_staff(self) -> bool {
        self != MessageRole::Customer
    }
}

/// An address a delivery report said failed for good.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failing {
    pub address: Address,
    /// The DSN's status, e.g. `5.1.1`.
    pub status: String,
    pub diagnostic: String,
    pub ticket: Option<TicketId>,
    pub at: DateTime<Utc>,
}

impl Tx<'_> {
    /// Records what a stored message is, and the text and author histories
    /// show of it.
    pub fn set_message_role(
        &mut self,
        message: i64,
        role: MessageRole,
        shown_text: Option<&str>,
        shown_from: Option<&str>,
    ) -> Result<()> {
        self.exec(
            "UPDATE messages SET role = ?2, shown_text = ?3, shown_from = ?4 WHERE id = ?1",
            params![message, role.as_str(), shown_text, shown_from],
        )?;
        Ok(())
    }

    pub fn set_assignee(&mut self, ticket: TicketId, assignee: Option<&Address>) -> Result<()> {
        self.exec(
            "UPDATE tickets SET assignee = ?2 WHERE id = ?1",
            params![ticket.0, assignee.map(|a| a.as_str())],
        )?;
        Ok(())
    }

    pub fn set_priority(&mut self, ticket: TicketId, priority: bool) -> Result<()> {
        self.exec(
            "UPDATE tickets SET priority = ?2 WHERE id = ?1",
            params![ticket.0, priority],
        )?;
        Ok(())
    }

    /// Takes `who` off the ticket's recipients; false when not on it.
    /// Makes `who` one of the ticket's customer side ("included" by
    /// staff): a person only copied so far becomes one; the requester and
    /// delegates stay what they are.
    pub fn include_participant(
        &mut self,
        ticket: TicketId,
        who: &Address,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.exec(
            "INSERT INTO participants (ticket_id, address_key, address, name, role, added_at)
             VALUES (?1, ?2, ?3, NULL, 'included', ?4)
             ON CONFLICT (ticket_id, address_key) DO UPDATE SET role = 'included'
             WHERE role IN ('copied', 'cc')",
            params![ticket.0, who.key(), who.as_str(), ts(at)],
        )?;
        Ok(())
    }

    pub fn remove_participant(&mut self, ticket: TicketId, who: &Address) -> Result<bool> {
        Ok(self.exec(
            "DELETE FROM participants WHERE ticket_id = ?1 AND address_key = ?2",
            params![ticket.0, who.key()],
        )? == 1)
    }

    /// Moves ticket `from`'s messages and their history lines to `into`
    /// (they interleave there by time, as event ids grow with time), adds
    /// its participants there, and points `from` at `into` so that later
    /// mail for it goes there.
    pub fn merge_ticket(&mut self, from: TicketId, into: TicketId) -> Result<()> {
        self.exec(
            "UPDATE messages SET ticket_id = ?2 WHERE ticket_id = ?1",
            params![from.0, into.0],
        )?;
        self.exec(
            "UPDATE tickets SET encrypted = 1 WHERE id = ?2
             AND (SELECT encrypted FROM tickets WHERE id = ?1) = 1",
            params![from.0, into.0],
        )?;
        self.exec(
            "UPDATE events SET ticket_id = ?2 WHERE ticket_id = ?1
             AND kind IN ('message-in', 'staff-reply', 'staff-note')",
            params![from.0, into.0],
        )?;
        self.exec(
            "INSERT INTO participants (ticket_id, address_key, address, name, role, added_at)
             SELECT ?2, address_key, address, name,
                    CASE role WHEN 'requester' THEN 'cc' ELSE role END, added_at
             FROM participants WHERE ticket_id = ?1
             ON CONFLICT (ticket_id, address_key) DO NOTHING",
            params![from.0, into.0],
        )?;
        self.exec(
            "UPDATE tickets SET merged_into = ?2 WHERE id = ?1",
            params![from.0, into.0],
        )?;
        // The history entries moved: each side's count of both tickets.
        self.recount_history(from)?;
        self.recount_history(into)?;
        Ok(())
    }

    /// Marks `address` as failing (the newest report wins).
    pub fn mark_failing(
        &mut self,
        address: &Address,
        status: &str,
        diagnostic: &str,
        ticket: Option<TicketId>,
        message: Option<i64>,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.exec(
            "INSERT INTO failing_addresses (address_key, address, status, diagnostic, ticket_id,
                 message, failed_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (address_key) DO UPDATE SET address = excluded.address,
                 status = excluded.status, diagnostic = excluded.diagnostic,
                 ticket_id = excluded.ticket_id, message = excluded.message,
                 failed_at = excluded.failed_at",
            params![
                address.key(),
                address.as_str(),
                status,
                diagnostic,
                ticket.map(|t| t.0),
                message,
                ts(at)
            ],
        )?;
        Ok(())
    }
}

impl Reader<'_> {
    /// The reports of those of `addresses` that are failing.
    pub fn failing(&self, addresses: &[Address]) -> Result<Vec<Failing>> {
        let mut out = Vec::new();
        let mut stmt = self.conn.prepare_cached(
            "SELECT address, status, diagnostic, ticket_id, failed_at FROM failing_addresses
             WHERE address_key = ?1",
        )?;
        for a in addresses {
            let row = stmt
                .query_row(params![a.key()], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, Option<i64>>(3)?,
                        r.get::<_, i64>(4)?,
                    ))
                })
                .optional()?;
            if let Some((address, status, diagnostic, ticket, at)) = row {
                out.push(Failing {
                    address: Address::parse(&address).unwrap_or_else(|_| a.clone()),
                    status,
                    diagnostic,
                    ticket: ticket.map(TicketId),
                    at: from_ts(at),
                });
            }
        }
        Ok(out)
    }

    /// Automatic messages (auto-replies, bounces) received from `from` since
    /// `since`.
    pub fn automatic_messages_from(&self, from: &Address, since: DateTime<Utc>) -> Result<u32> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT count(*) FROM messages WHERE from_addr = ?1 COLLATE NOCASE
                 AND received_at >= ?2 AND class != 'normal'",
            )?
            .query_row(params![from.as_str(), ts(since)], |r| r.get(0))?)
    }

    /// Mails of `kind`, automatic or not, queued since `since` with `to`
    /// among their recipients (To or Cc).
    pub fn mails_to(&self, to: &Address, kind: &str, since: DateTime<Utc>) -> Result<u32> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT count(*) FROM outbox WHERE kind = ?2 AND created_at >= ?3
                 AND EXISTS (SELECT 1 FROM json_each(outbox.rcpt) WHERE lower(value) = ?1)",
            )?
            .query_row(params![to.key(), kind, ts(since)], |r| r.get(0))?)
    }

    /// The ticket `ticket` was merged into, if it was.
    pub fn merged_into(&self, ticket: TicketId) -> Result<Option<TicketId>> {
        Ok(self
            .conn
            .prepare_cached("SELECT merged_into FROM tickets WHERE id = ?1")?
            .query_row(params![ticket.0], |r| r.get::<_, Option<i64>>(0))
            .optional()?
            .flatten()
            .map(TicketId))
    }

    /// The kind of the mail we sent with this Message-ID, if we did.
    pub fn sent_kind(&self, message_id: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT kind FROM outbox WHERE message_id = ?1")?
            .query_row(params![message_id], |r| r.get(0))
            .optional()?)
    }
}
