//! Tickets, their participants and their history (one event per row).
//!
//! The mails about a ticket carry the newest entries of its history, not
//! all of it (issue 17, finding 7: cost per message must not grow with the
//! thread). So each event records, when it is added, what it is in the
//! histories mails show (`events.shown`, a [`HistoryKind`]), each side's
//! history is read backwards through its own partial index with a LIMIT,
//! and the ticket counts the entries of each side, so "N earlier entries"
//! needs no count over the thread. Nothing here that intake runs per message
//! reads a whole thread; `events` (for `postdesk ticket show`) and
//! [`Reader::history`] with no limit (for the close notice) do, on purpose.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;

use super::{Failing, MessageRole, Reader, Result, StoreError, Tx, from_ts, ts};
use crate::domain::lifecycle::Side;
use crate::domain::{Address, MailClass, Mailbox, Status, TicketId};

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
    /// How ownership of the account was shown: `none`, `pin`,
    /// `primary-confirmed` or `genuine-primary` (see `domain::proof`).
    pub proof: String,
    /// When, and by whom (an address), the proof was given.
    pub proof_at: Option<DateTime<Utc>>,
    pub proof_by: Option<String>,
    /// A rule of `intake.require_proof_for` matched its first message.
    pub needs_proof: bool,
    /// The queue it belongs to, by name (`[[queue]] name`).
    pub queue: String,
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
pub struct HistoryEvent {
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

/// What an event is in the histories mails carry (`events.shown`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HistoryKind {
    /// A message a person of the customer side wrote.
    Customer,
    /// A staff reply, relayed to the customer side.
    Reply,
    /// A status or type change.
    Change,
    /// A staff member's internal note: the staff side's history only.
    Note,
}

impl HistoryKind {
    fn as_str(self) -> &'static str {
        match self {
            HistoryKind::Customer => "customer",
            HistoryKind::Reply => "reply",
            HistoryKind::Change => "change",
            HistoryKind::Note => "note",
        }
    }

    fn parse(s: &str) -> Option<HistoryKind> {
        Some(match s {
            "customer" => HistoryKind::Customer,
            "reply" => HistoryKind::Reply,
            "change" => HistoryKind::Change,
            "note" => HistoryKind::Note,
            _ => return None,
        })
    }

    /// What a stored message is in the histories, by its role and class;
    /// None: in none (automatic mail, staff mail that relays nothing).
    pub fn of_message(role: MessageRole, class: &MailClass) -> Option<HistoryKind> {
        match role {
            MessageRole::Customer if !class.is_automatic() => Some(HistoryKind::Customer),
            MessageRole::StaffReply => Some(HistoryKind::Reply),
            MessageRole::StaffNote => Some(HistoryKind::Note),
            _ => None,
        }
    }

    /// Whether `side`'s history shows it: notes are the staff side's only.
    pub fn seen_by(self, side: Side) -> bool {
        side == Side::Staff || self != HistoryKind::Note
    }
}

/// The condition on `events e` of `side`'s history: word for word the
/// condition of its partial index (sql/0006_history.sql), which is what
/// lets SQLite use it; neither side's condition implies the other's.
fn side_term(side: Side) -> &'static str {
    match side {
        Side::Customer => "e.shown IN ('customer', 'reply', 'change')",
        Side::Staff => "e.shown IN ('customer', 'reply', 'change', 'note')",
    }
}

/// One entry of a ticket's history as a mail shows it.
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    pub at: DateTime<Utc>,
    pub kind: EventKind,
    pub shown: HistoryKind,
    /// For a change: `a → b: why`.
    pub detail: String,
    /// The message, for a message's entry.
    pub message: Option<HistoryMessage>,
}

/// A message in a history.
#[derive(Debug, Clone)]
pub struct HistoryMessage {
    pub id: i64,
    pub message_id: String,
    pub role: MessageRole,
    pub from: Option<String>,
    pub from_name: Option<String>,
    /// Who histories say wrote it, when not its From (a staff member's name).
    pub shown_from: Option<String>,
    pub received_at: DateTime<Utc>,
    /// The text histories show (a staff reply without its commands), at
    /// most the `text_max` bytes asked for, cut at a character.
    pub text: String,
    /// The size of the whole text, in bytes: more than `text.len()` when
    /// it was cut.
    pub text_bytes: u64,
}

/// The history query of `side`, newest first; `?1` ticket, `?2` limit,
/// `?3` the longest text in characters. With `messages_only`, the entries
/// of messages only (the newest message a notice shows on top).
/// `limit` is written into the statement, not bound: SQLite plans `ORDER
/// BY … LIMIT ?` with the value bound, and re-prepares the statement each
/// time another value comes, which cost more than the query itself. The
/// few limits in use are each a statement of the cache.
fn history_sql(side: Side, messages_only: bool, limit: i64) -> String {
    let only = if messages_only {
        " AND e.message IS NOT NULL"
    } else {
        ""
    };
    format!(
        "SELECT e.at, e.kind, e.shown, e.detail, m.id, m.message_id, m.role, m.from_addr,
                m.from_name, m.shown_from, m.received_at,
                substr(COALESCE(m.shown_text, m.new_text), 1, ?2),
                octet_length(COALESCE(m.shown_text, m.new_text))
         FROM events e LEFT JOIN messages m ON m.id = e.message AND m.ticket_id = e.ticket_id
         WHERE e.ticket_id = ?1 AND {}{only}
         ORDER BY e.id DESC LIMIT {limit}",
        side_term(side)
    )
}

/// The failing addresses among a ticket's participants, in index order;
/// the limit is written in (see `history_sql`).
fn failing_participants_sql(limit: i64) -> String {
    format!(
        "SELECT f.address, f.status, f.diagnostic, f.ticket_id, f.failed_at
     FROM participants p JOIN failing_addresses f ON f.address_key = p.address_key
     WHERE p.ticket_id = ?1 ORDER BY p.address_key LIMIT {limit}"
    )
}

#[derive(Debug, Clone, Default)]
pub struct TicketFilter {
    /// Only these statuses; empty means the open ones.
    pub statuses: Vec<Status>,
    pub all: bool,
    /// Only the tickets of this queue (by name, any case).
    pub queue: Option<String>,
}

pub(super) const TICKET_COLUMNS: &str =
    "id, subject, status, type, account, requester, created_at, updated_at,
     last_customer_at, last_staff_at, waiting_since, warnings_sent, next_deadline, closed_at,
     reopened_from, priority, unverified, account_candidates, assignee, merged_into,
     proof, proof_at, proof_by, needs_proof, queue";

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
        proof: r
            .get::<_, Option<String>>(20)?
            .unwrap_or_else(|| "none".into()),
        proof_at: r.get::<_, Option<i64>>(21)?.map(from_ts),
        proof_by: r.get(22)?,
        needs_proof: r.get(23)?,
        queue: r.get(24)?,
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

    /// Moves ticket `n` to queue `name` (its number stays).
    pub fn set_ticket_queue(&mut self, n: TicketId, name: &str) -> Result<()> {
        self.exec(
            "UPDATE tickets SET queue = ?2 WHERE id = ?1",
            params![n.0, name],
        )?;
        Ok(())
    }

    /// Records subject-token prefixes the desk uses (see [`Reader::prefixes`]).
    pub fn remember_prefixes(&mut self, prefixes: &[&str], at: DateTime<Utc>) -> Result<()> {
        for p in prefixes {
            self.exec(
                "INSERT INTO ticket_prefixes (prefix, first_used) VALUES (?1, ?2)
                 ON CONFLICT (prefix) DO NOTHING",
                params![p, ts(at)],
            )?;
        }
        Ok(())
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

    /// Adds a line to the ticket's history; an entry the mails show (see
    /// [`HistoryKind`]) is counted on the ticket, per side.
    pub fn add_event(&mut self, ticket: TicketId, e: &HistoryEvent) -> Result<()> {
        let shown = self.history_kind(ticket, e)?;
        self.exec(
            "INSERT INTO events (ticket_id, at, kind, actor, message, outbox, detail, shown)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                ticket.0,
                ts(e.at),
                e.kind.as_str(),
                e.actor,
                e.message,
                e.outbox,
                e.detail,
                shown.map(HistoryKind::as_str)
            ],
        )?;
        if let Some(k) = shown {
            self.exec(
                "UPDATE tickets SET history_customer = history_customer + ?2,
                     history_staff = history_staff + 1
                 WHERE id = ?1",
                params![ticket.0, i64::from(k.seen_by(Side::Customer))],
            )?;
        }
        Ok(())
    }

    /// What event `e` of `ticket` is in the histories. A message's entry
    /// follows its role and class as they are now: staff mail has its
    /// role recorded before its event is added.
    fn history_kind(&self, ticket: TicketId, e: &HistoryEvent) -> Result<Option<HistoryKind>> {
        match e.kind {
            EventKind::StatusChange | EventKind::TypeChange => Ok(Some(HistoryKind::Change)),
            EventKind::MailOut | EventKind::Note => Ok(None),
            EventKind::MessageIn | EventKind::StaffReply | EventKind::StaffNote => {
                let Some(id) = e.message else {
                    return Ok(None);
                };
                let row = self
                    .tx
                    .prepare_cached(
                        "SELECT role, class, class_reason FROM messages
                         WHERE id = ?1 AND ticket_id = ?2",
                    )?
                    .query_row(params![id, ticket.0], |r| {
                        Ok((
                            r.get::<_, Option<String>>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, Option<String>>(2)?,
                        ))
                    })
                    .optional()?;
                Ok(row.and_then(|(role, class, reason)| {
                    HistoryKind::of_message(
                        MessageRole::parse(role.as_deref()),
                        &MailClass::from_parts(&class, reason),
                    )
                }))
            }
        }
    }

    /// Counts the ticket's history entries again: after events moved
    /// between tickets (a merge). Walks the ticket's history once.
    pub fn recount_history(&mut self, ticket: TicketId) -> Result<()> {
        let sql = format!(
            "UPDATE tickets SET
                 history_customer = (SELECT count(*) FROM events e
                                     WHERE e.ticket_id = ?1 AND {}),
                 history_staff = (SELECT count(*) FROM events e
                                  WHERE e.ticket_id = ?1 AND {})
             WHERE id = ?1",
            side_term(Side::Customer),
            side_term(Side::Staff)
        );
        self.exec(&sql, params![ticket.0])?;
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
        self.mark_encrypted_ticket(message, ticket)
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

    /// Every subject-token prefix the desk has used, oldest first.
    pub fn prefixes(&self) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT prefix FROM ticket_prefixes ORDER BY first_used, prefix")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
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
        let in_queue = if filter.queue.is_some() {
            " AND queue = ? COLLATE NOCASE"
        } else {
            ""
        };
        let sql = format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE status IN ({marks}){in_queue}
             ORDER BY priority DESC, updated_at DESC, id DESC"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let wanted = statuses.iter().map(|s| s.as_str());
        let wanted = wanted.chain(filter.queue.as_deref());
        let rows = stmt.query_map(rusqlite::params_from_iter(wanted), ticket_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn events(&self, ticket: TicketId) -> Result<Vec<HistoryEvent>> {
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
            out.push(HistoryEvent {
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

    /// How many entries `side`'s history of the ticket holds (a counter
    /// kept on the ticket: no walk over its events).
    pub fn history_count(&self, ticket: TicketId, side: Side) -> Result<u64> {
        let column = match side {
            Side::Customer => "history_customer",
            Side::Staff => "history_staff",
        };
        let sql = format!("SELECT {column} FROM tickets WHERE id = ?1");
        let n: Option<i64> = self
            .conn
            .prepare_cached(&sql)?
            .query_row(params![ticket.0], |r| r.get(0))
            .optional()?;
        Ok(n.map_or(0, |n| u64::try_from(n).unwrap_or(0)))
    }

    /// The newest `newest` entries of `side`'s history of the ticket
    /// (None: all of them), oldest first, each message's text cut to
    /// `text_max` bytes. Reads only those entries, through the side's index.
    pub fn history(
        &self,
        ticket: TicketId,
        side: Side,
        newest: Option<usize>,
        text_max: usize,
    ) -> Result<Vec<HistoryEntry>> {
        let limit = newest.map_or(i64::MAX, |n| i64::try_from(n).unwrap_or(i64::MAX));
        let sql = history_sql(side, false, limit);
        let (mut out, _) = self.history_rows(&sql, ticket, text_max, usize::MAX)?;
        out.reverse();
        Ok(out)
    }

    /// As much of `side`'s history of the ticket as `budget` bytes of text
    /// hold, the newest entries, oldest first; and whether that is all of
    /// it. Memory stays within the budget however long the thread.
    pub fn history_within(
        &self,
        ticket: TicketId,
        side: Side,
        text_max: usize,
        budget: usize,
    ) -> Result<(Vec<HistoryEntry>, bool)> {
        let sql = history_sql(side, false, i64::MAX);
        let (mut out, complete) = self.history_rows(&sql, ticket, text_max, budget)?;
        out.reverse();
        Ok((out, complete))
    }

    /// The newest message of `side`'s history of the ticket. Walks back
    /// over the changes made since it, no further.
    pub fn newest_history_message(
        &self,
        ticket: TicketId,
        side: Side,
        text_max: usize,
    ) -> Result<Option<HistoryEntry>> {
        let sql = history_sql(side, true, 1);
        Ok(self
            .history_rows(&sql, ticket, text_max, usize::MAX)?
            .0
            .pop())
    }

    /// The rows of a history query, newest first, until `budget` bytes of
    /// text are read (then false: there was more).
    fn history_rows(
        &self,
        sql: &str,
        ticket: TicketId,
        text_max: usize,
        budget: usize,
    ) -> Result<(Vec<HistoryEntry>, bool)> {
        let chars = i64::try_from(text_max).unwrap_or(i64::MAX);
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt.query_map(params![ticket.0, chars], |r| {
            let message = match r.get::<_, Option<i64>>(4)? {
                None => None,
                Some(id) => {
                    // `substr` counts characters; the budget is in bytes.
                    let mut text: String = r.get::<_, Option<String>>(11)?.unwrap_or_default();
                    text.truncate(text.floor_char_boundary(text_max));
                    Some(HistoryMessage {
                        id,
                        message_id: r.get(5)?,
                        role: MessageRole::parse(r.get::<_, Option<String>>(6)?.as_deref()),
                        from: r.get(7)?,
                        from_name: r.get(8)?,
                        shown_from: r.get(9)?,
                        received_at: from_ts(r.get(10)?),
                        text,
                        text_bytes: r
                            .get::<_, Option<i64>>(12)?
                            .map_or(0, |n| u64::try_from(n).unwrap_or(0)),
                    })
                }
            };
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                message,
            ))
        })?;
        let mut out = Vec::new();
        let mut bytes = 0usize;
        for row in rows {
            let (at, kind, shown, detail, message) = row?;
            bytes = bytes
                .saturating_add(detail.len())
                .saturating_add(message.as_ref().map_or(0, |m| m.text.len()));
            if bytes > budget {
                return Ok((out, false));
            }
            let kind = EventKind::parse(&kind)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown event kind \"{kind}\"")))?;
            let shown = HistoryKind::parse(&shown)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown history entry \"{shown}\"")))?;
            out.push(HistoryEntry {
                at: from_ts(at),
                kind,
                shown,
                detail,
                message,
            });
        }
        Ok((out, true))
    }

    /// Up to `limit` of the ticket's participants whose address failed for
    /// good, with the report. One indexed lookup per participant.
    pub fn failing_participants(&self, ticket: TicketId, limit: usize) -> Result<Vec<Failing>> {
        let sql = failing_participants_sql(i64::try_from(limit).unwrap_or(i64::MAX));
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![ticket.0], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<i64>>(3)?,
                r.get::<_, i64>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (address, status, diagnostic, ticket, at) = row?;
            // A row that no longer parses (a hand-edited database) is left out.
            let Ok(address) = Address::parse(&address) else {
                continue;
            };
            out.push(Failing {
                address,
                status,
                diagnostic,
                ticket: ticket.map(TicketId),
                at: from_ts(at),
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

#[cfg(test)]
mod tests {
    use super::super::{NewMessage, Store, accounts::SENT_ON_TICKET, lifecycle::LAST_EVENT};
    use super::super::{messages::FIRST_MESSAGE, messages::NEWEST_CUSTOMER_MESSAGE};
    use super::*;
    use crate::parse::Inbound;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// The query plan of `sql`, one line per step.
    fn plan(store: &Store, sql: &str) -> Vec<String> {
        let mut stmt = store
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap();
        let nulls = vec![rusqlite::types::Null; stmt.parameter_count()];
        stmt.query_map(rusqlite::params_from_iter(nulls), |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn the_queries_intake_runs_per_message_read_through_an_index() {
        let store = Store::open_in_memory().unwrap();
        let cases = [
            (
                history_sql(Side::Customer, false, 10),
                "events_customer_side",
            ),
            (
                history_sql(Side::Customer, true, 10),
                "events_customer_side",
            ),
            (history_sql(Side::Staff, false, 10), "events_staff_side"),
            (history_sql(Side::Staff, true, 10), "events_staff_side"),
            (NEWEST_CUSTOMER_MESSAGE.into(), "events_customer_messages"),
            (FIRST_MESSAGE.into(), "messages_ticket"),
            (LAST_EVENT.into(), "events_ticket"),
            (
                failing_participants_sql(20),
                "sqlite_autoindex_participants_1",
            ),
            // The outbox by Message-ID (its unique index), not by ticket.
            (SENT_ON_TICKET.into(), "sqlite_autoindex_outbox_1"),
        ];
        for (sql, index) in cases {
            let plan = plan(&store, &sql);
            assert!(
                plan.iter().any(|l| l.contains(index)),
                "{index} not used: {plan:?}\n{sql}"
            );
            // A sort or a scan of a table would walk the thread.
            for line in &plan {
                let sorts = line.contains("TEMP B-TREE");
                let scans = line.starts_with("SCAN") && !line.contains("VIRTUAL TABLE");
                assert!(!sorts && !scans, "{line} in {plan:?}\n{sql}");
            }
        }
    }

    /// Ann's ticket, with a message stored on it for each `(role, class,
    /// text)`, each with its history event; returns the message rows.
    fn thread(
        tx: &mut Tx<'_>,
        n: TicketId,
        messages: &[(MessageRole, MailClass, &str)],
    ) -> Vec<i64> {
        let mut ids = Vec::new();
        for (i, (role, class, text)) in messages.iter().enumerate() {
            // Unique across calls: Message-ID and hash identify a message.
            let k = tx.read().message_count().unwrap();
            let inbound = Inbound {
                message_id: format!("m{i}.{n}.{k}@customer.example"),
                content_hash: format!("{k}"),
                class: class.clone(),
                new_text: text.to_string(),
                ..Inbound::default()
            };
            let at = t("2026-01-01T10:00:00Z") + chrono::Duration::minutes(i as i64);
            let id = tx
                .insert_message(&NewMessage {
                    raw: b"raw",
                    inbound: &inbound,
                    source: "test",
                    ticket: Some(n),
                    received_at: at,
                })
                .unwrap();
            if *role != MessageRole::Customer {
                tx.set_message_role(id, *role, Some(text), Some("Alice"))
                    .unwrap();
            }
            let kind = match role {
                MessageRole::Customer => EventKind::MessageIn,
                MessageRole::StaffReply => EventKind::StaffReply,
                _ => EventKind::StaffNote,
            };
            let e = |kind, message| HistoryEvent {
                at,
                kind,
                actor: "x".into(),
                detail: "new → in-progress: because".into(),
                message,
                outbox: None,
            };
            tx.add_event(n, &e(kind, Some(id))).unwrap();
            // Lines no history shows, between the messages.
            tx.add_event(n, &e(EventKind::MailOut, None)).unwrap();
            tx.add_event(n, &e(EventKind::Note, None)).unwrap();
            ids.push(id);
        }
        ids
    }

    fn ticket_of(tx: &mut Tx<'_>, who: &str) -> TicketId {
        tx.create_ticket(&NewTicket {
            subject: "s",
            ticket_type: "technical",
            account: None,
            requester: &Mailbox {
                name: None,
                address: Address::parse(who).unwrap(),
            },
            at: t("2026-01-01T10:00:00Z"),
        })
        .unwrap()
    }

    #[test]
    fn each_side_counts_and_reads_its_own_history() {
        use MessageRole::*;
        let mut store = Store::open_in_memory().unwrap();
        let robot = MailClass::AutoReply("Auto-Submitted: auto-replied".into());
        // "é" is two bytes: a budget of 6 bytes ends inside the fourth.
        let long = "ééééé and more";
        let (n, ids) = store
            .write(|tx| {
                let n = ticket_of(tx, "ann@x.example");
                let ids = thread(
                    tx,
                    n,
                    &[
                        (Customer, MailClass::Normal, "first"),
                        (Customer, robot.clone(), "out of office"),
                        (StaffNote, MailClass::Normal, "internal"),
                        (StaffReply, MailClass::Normal, "answer"),
                        (StaffCommands, MailClass::Normal, ""),
                        (Customer, MailClass::Normal, long),
                        (Customer, robot.clone(), "away again"),
                    ],
                );
                let change = HistoryEvent {
                    at: t("2026-01-02T10:00:00Z"),
                    kind: EventKind::StatusChange,
                    actor: "x".into(),
                    detail: "in-progress → closed: by x".into(),
                    message: None,
                    outbox: None,
                };
                tx.add_event(n, &change)?;
                Ok::<_, StoreError>((n, ids))
            })
            .unwrap();
        let r = store.read();
        // Customer side: first, answer, the long one, the change; staff
        // side: and the note. Automatic mail, commands and our own lines: none.
        assert_eq!(r.history_count(n, Side::Customer).unwrap(), 4);
        assert_eq!(r.history_count(n, Side::Staff).unwrap(), 5);
        let shown = |side, newest| -> Vec<HistoryKind> {
            r.history(n, side, newest, 100)
                .unwrap()
                .iter()
                .map(|e| e.shown)
                .collect()
        };
        use HistoryKind as K;
        assert_eq!(
            shown(Side::Customer, None),
            [K::Customer, K::Reply, K::Customer, K::Change]
        );
        assert_eq!(
            shown(Side::Staff, None),
            [K::Customer, K::Note, K::Reply, K::Customer, K::Change]
        );
        assert_eq!(
            shown(Side::Staff, Some(3)),
            [K::Reply, K::Customer, K::Change]
        );
        // The text is cut to the budget at a character; its size kept.
        let cut = r.history(n, Side::Customer, Some(2), 7).unwrap();
        let m = cut[0].message.as_ref().unwrap();
        assert_eq!((m.id, m.text.as_str()), (ids[5], "ééé"));
        assert_eq!(m.text_bytes, long.len() as u64);
        assert_eq!(cut[1].detail, "in-progress → closed: by x");
        // Within a budget of text: the newest entries that fit, and "more".
        let (part, complete) = r.history_within(n, Side::Customer, 100, 30).unwrap();
        assert_eq!((part.len(), part[0].shown, complete), (1, K::Change, false));
        let (all, complete) = r.history_within(n, Side::Customer, 100, 1 << 20).unwrap();
        assert_eq!((all.len(), complete), (4, true));
        // The newest message before the change; threading's Message-IDs.
        let newest = r
            .newest_history_message(n, Side::Customer, 100)
            .unwrap()
            .unwrap();
        assert_eq!(newest.message.unwrap().id, ids[5]);
        assert_eq!(
            r.newest_customer_message_id(n).unwrap().as_deref(),
            Some(format!("m5.{n}.5@customer.example").as_str()),
            "the robot's newer message is not the customer's"
        );
        assert_eq!(
            r.first_message_id(n).unwrap().as_deref(),
            Some(format!("m0.{n}.0@customer.example").as_str())
        );
    }

    #[test]
    fn counts_follow_rollbacks_and_merges() {
        use MessageRole::*;
        let mut store = Store::open_in_memory().unwrap();
        let (a, b) = store
            .write(|tx| {
                let a = ticket_of(tx, "ann@x.example");
                let b = ticket_of(tx, "bob@x.example");
                thread(tx, a, &[(Customer, MailClass::Normal, "a1")]);
                thread(
                    tx,
                    b,
                    &[
                        (Customer, MailClass::Normal, "b1"),
                        (StaffNote, MailClass::Normal, "b-note"),
                    ],
                );
                // Undone: neither the event nor its count stay.
                let undone = tx.all_or_nothing(|tx| {
                    thread(tx, a, &[(StaffReply, MailClass::Normal, "undone")]);
                    Err::<(), _>(StoreError::Corrupt("refused".into()))
                });
                assert!(undone.is_err());
                tx.merge_ticket(b, a)?;
                Ok::<_, StoreError>((a, b))
            })
            .unwrap();
        let r = store.read();
        let count = |n, side| r.history_count(n, side).unwrap();
        assert_eq!((count(a, Side::Customer), count(a, Side::Staff)), (2, 3));
        assert_eq!((count(b, Side::Customer), count(b, Side::Staff)), (0, 0));
        let texts: Vec<String> = r
            .history(a, Side::Staff, None, 100)
            .unwrap()
            .into_iter()
            .map(|e| e.message.unwrap().text)
            .collect();
        assert_eq!(texts, ["a1", "b1", "b-note"]);
    }

    #[test]
    fn migration_6_files_the_existing_history() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        // A database of schema version 4, with one ticket's history.
        let conn = rusqlite::Connection::open(&path).unwrap();
        for sql in [
            include_str!("../../sql/0001_init.sql"),
            include_str!("../../sql/0002_lifecycle.sql"),
            include_str!("../../sql/0003_accounts.sql"),
            include_str!("../../sql/0004_staff.sql"),
        ] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 4).unwrap();
        conn.execute_batch(
            "INSERT INTO tickets (id, subject, status, type, requester, created_at, updated_at)
                 VALUES (1, 's', 'new', 'technical', 'a@x', 1, 1);
             INSERT INTO messages (id, received_at, source, message_id, content_hash, size, raw,
                 ticket_id, subject, class, in_reply_to, refs, recipients, body_text, new_text,
                 quoted_text, attachments, warnings, role)
             VALUES (1, 1, 's', 'a@x', 'h1', 1, x'00', 1, 's', 'normal', '[]', '[]', '{}', 't', 't', '', '[]', '[]', NULL),
                    (2, 2, 's', 'b@x', 'h2', 1, x'00', 1, 's', 'auto-reply', '[]', '[]', '{}', 't', 't', '', '[]', '[]', NULL),
                    (3, 3, 's', 'c@x', 'h3', 1, x'00', 1, 's', 'normal', '[]', '[]', '{}', 't', 't', '', '[]', '[]', 'staff-note'),
                    (4, 4, 's', 'd@x', 'h4', 1, x'00', 1, 's', 'normal', '[]', '[]', '{}', 't', 't', '', '[]', '[]', 'staff-reply');
             INSERT INTO events (ticket_id, at, kind, actor, message, detail) VALUES
                 (1, 1, 'message-in', 'a', 1, ''), (1, 1, 'mail-out', 'p', NULL, ''),
                 (1, 2, 'message-in', 'a', 2, ''), (1, 3, 'staff-note', 'a', 3, ''),
                 (1, 4, 'staff-reply', 'a', 4, ''), (1, 5, 'status-change', 'a', NULL, 'x');",
        )
        .unwrap();
        drop(conn);
        let store = Store::open(&path).unwrap();
        let r = store.read();
        assert_eq!(r.history_count(TicketId(1), Side::Customer).unwrap(), 3);
        assert_eq!(r.history_count(TicketId(1), Side::Staff).unwrap(), 4);
        let kinds: Vec<HistoryKind> = r
            .history(TicketId(1), Side::Staff, None, 10)
            .unwrap()
            .iter()
            .map(|e| e.shown)
            .collect();
        use HistoryKind as K;
        assert_eq!(kinds, [K::Customer, K::Note, K::Reply, K::Change]);
    }
}
