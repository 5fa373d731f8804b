//! Tickets, their participants and their history (one event per row).

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;

use super::{Reader, Result, StoreError, Tx, from_ts, ts};
use crate::types::{Address, Mailbox, Status, TicketId};

pub struct NewTicket<'a> {
    pub subject: &'a str,
    pub ticket_type: &'a str,
    pub account: Option<&'a str>,
    pub requester: &'a Mailbox,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Ticket {
    pub number: TicketId,
    pub subject: String,
    pub status: Status,
    #[serde(rename = "type")]
    pub ticket_type: String,
    pub account: Option<String>,
    pub requester: String,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub last_customer_activity: Option<DateTime<Utc>>,
    pub last_staff_activity: Option<DateTime<Utc>>,
    /// When the current wait for one side began (lifecycle timers).
    pub waiting_since: Option<DateTime<Utc>>,
    /// Warnings sent during the current wait.
    pub warnings_sent: u32,
    /// When an inactivity rule next has something to do.
    pub next_deadline: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    /// The closed ticket this one continues (a reply after the reopen window).
    pub reopened_from: Option<TicketId>,
    /// From a priority domain or a priority account: listed first.
    pub priority: bool,
    /// Opened by a sender who belongs to no account (or failed authentication).
    pub unverified: bool,
    /// The accounts an ambiguous sender matched equally well, while staff
    /// have not chosen one (`ticket set-account`); empty otherwise.
    pub account_candidates: Vec<String>,
    /// The staff member it is assigned to (`#assign`), by address.
    pub assignee: Option<String>,
    /// The ticket this one was merged into (`#merge`).
    pub merged_into: Option<TicketId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    MessageIn,
    MailOut,
    StatusChange,
    TypeChange,
    Note,
    /// A staff reply, relayed to the customer side.
    StaffReply,
    /// A staff member's internal note (`#note`), or a staff mail that
    /// relays nothing (commands only, commands refused, automatic).
    StaffNote,
}

impl EventKind {
    fn as_str(self) -> &'static str {
        match self {
            EventKind::MessageIn => "message-in",
            EventKind::MailOut => "mail-out",
            EventKind::StatusChange => "status-change",
            EventKind::TypeChange => "type-change",
            EventKind::Note => "note",
            EventKind::StaffReply => "staff-reply",
            EventKind::StaffNote => "staff-note",
        }
    }

    fn parse(s: &str) -> Option<EventKind> {
        Some(match s {
            "message-in" => EventKind::MessageIn,
            "mail-out" => EventKind::MailOut,
            "status-change" => EventKind::StatusChange,
            "type-change" => EventKind::TypeChange,
            "note" => EventKind::Note,
            "staff-reply" => EventKind::StaffReply,
            "staff-note" => EventKind::StaffNote,
            _ => return None,
        })
    }
}

/// One line of a ticket's history.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub at: DateTime<Utc>,
    pub kind: EventKind,
    /// Who caused it: an address, or `postdesk` for automatic actions.
    pub actor: String,
    pub detail: String,
    /// The inbound message row, for `message-in`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<i64>,
    /// The outbox row, for `mail-out`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outbox: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct TicketFilter {
    /// Only these statuses; empty means the open ones.
    pub statuses: Vec<Status>,
    pub all: bool,
}

pub(super) const TICKET_COLUMNS: &str =
    "id, subject, status, type, account, requester, created_at, updated_at,
     last_customer_at, last_staff_at, waiting_since, warnings_sent, next_deadline, closed_at,
     reopened_from, priority, unverified, account_candidates, assignee, merged_into";

pub(super) fn ticket_from_row(r: &Row<'_>) -> rusqlite::Result<Ticket> {
    let status: String = r.get(2)?;
    Ok(Ticket {
        number: TicketId(r.get(0)?),
        subject: r.get(1)?,
        // The CHECK constraint keeps other spellings out of the table.
        status: status.parse().unwrap_or(Status::New),
        ticket_type: r.get(3)?,
        account: r.get(4)?,
        requester: r.get(5)?,
        created: from_ts(r.get(6)?),
        updated: from_ts(r.get(7)?),
        last_customer_activity: r.get::<_, Option<i64>>(8)?.map(from_ts),
        last_staff_activity: r.get::<_, Option<i64>>(9)?.map(from_ts),
        waiting_since: r.get::<_, Option<i64>>(10)?.map(from_ts),
        warnings_sent: r.get(11)?,
        next_deadline: r.get::<_, Option<i64>>(12)?.map(from_ts),
        closed_at: r.get::<_, Option<i64>>(13)?.map(from_ts),
        reopened_from: r.get::<_, Option<i64>>(14)?.map(TicketId),
        priority: r.get(15)?,
        unverified: r.get(16)?,
        account_candidates: r
            .get::<_, Option<String>>(17)?
            .map(|j| super::from_json(&j))
            .unwrap_or_default(),
        assignee: r.get(18)?,
        merged_into: r.get::<_, Option<i64>>(19)?.map(TicketId),
    })
}

impl Tx<'_> {
    pub fn create_ticket(&mut self, t: &NewTicket<'_>) -> Result<TicketId> {
        self.exec(
            "INSERT INTO tickets (subject, status, type, account, requester, created_at, updated_at,
                 last_customer_at)
             VALUES (?1, 'new', ?2, ?3, ?4, ?5, ?5, ?5)",
            params![
                t.subject,
                t.ticket_type,
                t.account,
                t.requester.address.as_str(),
                ts(t.at)
            ],
        )?;
        let id = TicketId(self.tx.last_insert_rowid());
        self.add_participant(id, t.requester, "requester", t.at)?;
        Ok(id)
    }

    pub fn add_participant(
        &mut self,
        ticket: TicketId,
        who: &Mailbox,
        role: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.exec(
            "INSERT INTO participants (ticket_id, address_key, address, name, role, added_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (ticket_id, address_key) DO NOTHING",
            params![
                ticket.0,
                who.address.key(),
                who.address.as_str(),
                who.name,
                role,
                ts(at)
            ],
        )?;
        Ok(())
    }

    pub fn add_event(&mut self, ticket: TicketId, e: &Event) -> Result<()> {
        self.exec(
            "INSERT INTO events (ticket_id, at, kind, actor, message, outbox, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                ticket.0,
                ts(e.at),
                e.kind.as_str(),
                e.actor,
                e.message,
                e.outbox,
                e.detail
            ],
        )?;
        Ok(())
    }

    /// Marks activity by the customer side (`staff = false`) or the staff side.
    pub fn touch_ticket(&mut self, ticket: TicketId, at: DateTime<Utc>, staff: bool) -> Result<()> {
        let sql = if staff {
            "UPDATE tickets SET updated_at = max(updated_at, ?2), last_staff_at = ?2 WHERE id = ?1"
        } else {
            "UPDATE tickets SET updated_at = max(updated_at, ?2), last_customer_at = ?2 WHERE id = ?1"
        };
        self.exec(sql, params![ticket.0, ts(at)])?;
        Ok(())
    }

    /// Points a message at its ticket (a message stored before its ticket
    /// existed, or released from quarantine).
    pub fn set_message_ticket(&mut self, message: i64, ticket: TicketId) -> Result<()> {
        self.exec(
            "UPDATE messages SET ticket_id = ?2 WHERE id = ?1",
            params![message, ticket.0],
        )?;
        Ok(())
    }
}

impl Reader<'_> {
    pub fn ticket(&self, id: TicketId) -> Result<Option<Ticket>> {
        let sql = format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE id = ?1");
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row(params![id.0], ticket_from_row)
            .optional()?)
    }

    pub fn ticket_exists(&self, id: TicketId) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM tickets WHERE id = ?1")?
            .exists(params![id.0])?)
    }

    /// Tickets, flagged (priority) ones first, then newest activity first.
    pub fn tickets(&self, filter: &TicketFilter) -> Result<Vec<Ticket>> {
        let statuses: Vec<Status> = if filter.all {
            Status::ALL.to_vec()
        } else if filter.statuses.is_empty() {
            Status::ALL.into_iter().filter(|s| s.is_open()).collect()
        } else {
            filter.statuses.clone()
        };
        let marks = vec!["?"; statuses.len()].join(", ");
        let sql = format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE status IN ({marks})
             ORDER BY priority DESC, updated_at DESC, id DESC"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let wanted = statuses.iter().map(|s| s.as_str());
        let rows = stmt.query_map(rusqlite::params_from_iter(wanted), ticket_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn events(&self, ticket: TicketId) -> Result<Vec<Event>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT at, kind, actor, detail, message, outbox FROM events
             WHERE ticket_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map(params![ticket.0], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<i64>>(4)?,
                r.get::<_, Option<i64>>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (at, kind, actor, detail, message, outbox) = row?;
            let kind = EventKind::parse(&kind)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown event kind {kind:?}")))?;
            out.push(Event {
                at: from_ts(at),
                kind,
                actor,
                detail,
                message,
                outbox,
            });
        }
        Ok(out)
    }

    pub fn participants(&self, ticket: TicketId) -> Result<Vec<(Mailbox, String)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT address, name, role FROM participants WHERE ticket_id = ?1 ORDER BY added_at, address_key",
        )?;
        let rows = stmt.query_map(params![ticket.0], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (addr, name, role) = row?;
            let address = Address::parse(&addr).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            out.push((Mailbox { name, address }, role));
        }
        Ok(out)
    }

    pub fn ticket_count(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM tickets", [], |r| r.get(0))?)
    }
}
