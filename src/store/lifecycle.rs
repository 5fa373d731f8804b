//! The lifecycle columns of tickets (status, type, inactivity timers, the
//! indexed next deadline) and the desk's settings table.
//!
//! The sweep reads `WHERE next_deadline <= now` through the partial index
//! `tickets_deadline`, so its cost follows the number of due tickets, not
//! the size of the table.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::tickets::{TICKET_COLUMNS, ticket_from_row};
use super::{Reader, Result, Ticket, Tx, ts};
use crate::domain::{Address, MailClass, Status, TicketId};

/// A ticket's inactivity timers, as `change` computes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    pub waiting_since: Option<DateTime<Utc>>,
    pub warnings_sent: u32,
    pub next_deadline: Option<DateTime<Utc>>,
}

/// Where a paged read of due tickets stopped: the last (deadline, number).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueCursor {
    pub deadline: DateTime<Utc>,
    pub ticket: TicketId,
}

impl Tx<'_> {
    /// Sets the status; `closed_at` follows it (set on closed/rejected,
    /// cleared otherwise).
    pub fn set_status(
        &mut self,
        ticket: TicketId,
        status: Status,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.exec(
            "UPDATE tickets SET status = ?2, updated_at = max(updated_at, ?3),
                 closed_at = CASE WHEN ?2 IN ('closed', 'rejected') THEN ?3 ELSE NULL END
             WHERE id = ?1",
            params![ticket.0, status.as_str(), ts(at)],
        )?;
        Ok(())
    }

    pub fn set_ticket_type(
        &mut self,
        ticket: TicketId,
        ticket_type: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.exec(
            "UPDATE tickets SET type = ?2, updated_at = max(updated_at, ?3) WHERE id = ?1",
            params![ticket.0, ticket_type, ts(at)],
        )?;
        Ok(())
    }

    pub fn set_timers(&mut self, ticket: TicketId, t: &Timers) -> Result<()> {
        self.exec(
            "UPDATE tickets SET waiting_since = ?2, warnings_sent = ?3, next_deadline = ?4 WHERE id = ?1",
            params![
                ticket.0,
                t.waiting_since.map(ts),
                t.warnings_sent,
                t.next_deadline.map(ts)
            ],
        )?;
        Ok(())
    }

    pub fn set_reopened_from(&mut self, ticket: TicketId, old: TicketId) -> Result<()> {
        self.exec(
            "UPDATE tickets SET reopened_from = ?2 WHERE id = ?1",
            params![ticket.0, old.0],
        )?;
        Ok(())
    }

    pub fn set_setting(&mut self, key: &str, value: &str) -> Result<()> {
        self.exec(
            "INSERT INTO settings (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    /// Creates `count` bare tickets in one statement, for benchmarks and load
    /// tests: status `status`, created and waiting since `since`, next
    /// deadline `deadline`, one requester participant each, no messages.
    #[doc(hidden)]
    pub fn insert_synthetic_tickets(
        &mut self,
        count: u64,
        status: Status,
        since: DateTime<Utc>,
        deadline: Option<DateTime<Utc>>,
        requester: &Address,
    ) -> Result<()> {
        let first: i64 =
            self.tx
                .query_row("SELECT COALESCE(max(id), 0) + 1 FROM tickets", [], |r| {
                    r.get(0)
                })?;
        self.tx.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
             INSERT INTO tickets (subject, status, type, requester, created_at, updated_at,
                 last_customer_at, waiting_since, next_deadline)
             SELECT 'Synthetic ticket ' || i, ?2, 'technical', ?3, ?4, ?4, ?4, ?4, ?5 FROM n",
            params![
                count as i64,
                status.as_str(),
                requester.as_str(),
                ts(since),
                deadline.map(ts)
            ],
        )?;
        self.tx.execute(
            "INSERT INTO participants (ticket_id, address_key, address, name, role, added_at)
             SELECT id, ?2, ?3, NULL, 'requester', created_at FROM tickets WHERE id >= ?1",
            params![first, requester.key(), requester.as_str()],
        )?;
        Ok(())
    }
}

impl Reader<'_> {
    /// Up to `limit` tickets whose next deadline is at or before `now`, in
    /// deadline order, after `cursor` (the last one of the previous page).
    pub fn due_tickets(
        &self,
        now: DateTime<Utc>,
        cursor: Option<DueCursor>,
        limit: usize,
    ) -> Result<Vec<Ticket>> {
        let (after_at, after_id) =
            cursor.map_or((i64::MIN, i64::MIN), |c| (ts(c.deadline), c.ticket.0));
        let sql = format!(
            "SELECT {TICKET_COLUMNS} FROM tickets
             WHERE next_deadline <= ?1 AND (next_deadline, id) > (?2, ?3)
             ORDER BY next_deadline, id LIMIT ?4"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(
            params![ts(now), after_at, after_id, limit as i64],
            ticket_from_row,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Up to `limit` tickets waiting for someone (new, in-progress,
    /// waiting-for-customer) with a number above `after`, in number order:
    /// for recomputing every deadline when the rules change.
    pub fn waiting_tickets(&self, after: TicketId, limit: usize) -> Result<Vec<Ticket>> {
        let sql = format!(
            "SELECT {TICKET_COLUMNS} FROM tickets
             WHERE id > ?1 AND status IN ('new', 'in-progress', 'waiting-for-customer')
             ORDER BY id LIMIT ?2"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![after.0, limit as i64], ticket_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The earliest next deadline of all tickets, if any.
    pub fn next_ticket_deadline(&self) -> Result<Option<DateTime<Utc>>> {
        Ok(self
            .conn
            .prepare_cached("SELECT min(next_deadline) FROM tickets")?
            .query_row([], |r| r.get::<_, Option<i64>>(0))?
            .map(super::from_ts))
    }

    pub fn setting(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT value FROM settings WHERE key = ?1")?
            .query_row(params![key], |r| r.get(0))
            .optional()?)
    }

    /// The class of the message that opened the ticket: a ticket opened by
    /// a robot (`unmatched_automatic = "ticket"`) gets no automatic mail.
    pub fn first_message_class(&self, ticket: TicketId) -> Result<Option<MailClass>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT class, class_reason FROM messages WHERE ticket_id = ?1 ORDER BY id LIMIT 1",
            )?
            .query_row(params![ticket.0], |r| {
                Ok(MailClass::from_parts(&r.get::<_, String>(0)?, r.get(1)?))
            })
            .optional()?)
    }

    /// The ticket's newest event, by row id (0: none): part of the cause of
    /// the mails a change sends, so each change's mail has its own
    /// Message-ID. One step down the `events_ticket` index, where a count
    /// of the events would walk the whole thread.
    pub fn last_event_id(&self, ticket: TicketId) -> Result<i64> {
        Ok(self
            .conn
            .prepare_cached(LAST_EVENT)?
            .query_row(params![ticket.0], |r| r.get(0))
            .optional()?
            .unwrap_or(0))
    }
}

pub(super) const LAST_EVENT: &str =
    "SELECT id FROM events WHERE ticket_id = ?1 ORDER BY id DESC LIMIT 1";

#[cfg(test)]
mod tests {
    use super::super::Store;
    use super::*;
    use crate::domain::Mailbox;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn due_tickets_come_in_deadline_order_and_page_by_cursor() {
        let mut store = Store::open_in_memory().unwrap();
        let who = Address::parse("a@x.example").unwrap();
        store
            .write(|tx| {
                tx.insert_synthetic_tickets(
                    3,
                    Status::New,
                    t("2026-01-01T00:00:00Z"),
                    Some(t("2026-01-05T00:00:00Z")),
                    &who,
                )?;
                tx.insert_synthetic_tickets(
                    2,
                    Status::New,
                    t("2026-01-01T00:00:00Z"),
                    Some(t("2026-01-03T00:00:00Z")),
                    &who,
                )?;
                tx.insert_synthetic_tickets(
                    1,
                    Status::OnHold,
                    t("2026-01-01T00:00:00Z"),
                    None,
                    &who,
                )
            })
            .unwrap();
        let r = store.read();
        let ids = |v: Vec<Ticket>| v.iter().map(|t| t.number.0).collect::<Vec<_>>();
        assert_eq!(
            ids(r.due_tickets(t("2026-01-02T00:00:00Z"), None, 10).unwrap()),
            Vec::<i64>::new()
        );
        assert_eq!(
            ids(r.due_tickets(t("2026-01-03T00:00:00Z"), None, 10).unwrap()),
            [4, 5]
        );
        let all = r.due_tickets(t("2026-01-09T00:00:00Z"), None, 10).unwrap();
        assert_eq!(ids(all.clone()), [4, 5, 1, 2, 3]);
        let page = r.due_tickets(t("2026-01-09T00:00:00Z"), None, 2).unwrap();
        let last = page.last().unwrap();
        let cursor = DueCursor {
            deadline: last.next_deadline.unwrap(),
            ticket: last.number,
        };
        assert_eq!(
            ids(r
                .due_tickets(t("2026-01-09T00:00:00Z"), Some(cursor), 2)
                .unwrap()),
            [1, 2]
        );
        assert_eq!(
            r.next_ticket_deadline().unwrap(),
            Some(t("2026-01-03T00:00:00Z"))
        );
        assert_eq!(ids(r.waiting_tickets(TicketId(2), 10).unwrap()), [3, 4, 5]);
        assert_eq!(r.participants(TicketId(6)).unwrap()[0].1, "requester");
    }

    #[test]
    fn the_sweep_query_uses_the_deadline_index() {
        let store = Store::open_in_memory().unwrap();
        let sql = format!(
            "EXPLAIN QUERY PLAN SELECT {TICKET_COLUMNS} FROM tickets
             WHERE next_deadline <= 1 AND (next_deadline, id) > (0, 0)
             ORDER BY next_deadline, id LIMIT 10"
        );
        let plan: Vec<String> = store
            .conn
            .prepare(&sql)
            .unwrap()
            .query_map([], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            plan.iter().any(|l| l.contains("tickets_deadline")),
            "the sweep must not scan the table: {plan:?}"
        );
    }

    #[test]
    fn migration_2_starts_the_clocks_of_existing_tickets() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        // A database of schema version 1, as the foundation left it.
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(include_str!("../../sql/0001_init.sql"))
            .unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute_batch(
            "INSERT INTO tickets (id, subject, status, type, requester, created_at, updated_at, last_customer_at, last_staff_at)
             VALUES (1, 'a', 'new', 'technical', 'a@x', 100, 150, 150, NULL),
                    (2, 'b', 'waiting-for-customer', 'technical', 'a@x', 100, 300, 150, 250),
                    (3, 'c', 'closed', 'technical', 'a@x', 100, 400, 150, 250)",
        )
        .unwrap();
        drop(conn);
        let store = Store::open(&path).unwrap();
        let r = store.read();
        let get = |n| r.ticket(TicketId(n)).unwrap().unwrap();
        assert_eq!(get(1).waiting_since.map(ts), Some(150));
        assert_eq!(get(2).waiting_since.map(ts), Some(250));
        assert_eq!(get(3).waiting_since, None);
        assert_eq!(get(3).closed_at.map(ts), Some(400));
        // Deadlines wait for the first sweep (the rules are the config's).
        assert_eq!(r.next_ticket_deadline().unwrap(), None);
    }

    #[test]
    fn status_keeps_closed_at_in_step_and_settings_round_trip() {
        let mut store = Store::open_in_memory().unwrap();
        let who = Mailbox {
            name: None,
            address: Address::parse("a@x.example").unwrap(),
        };
        let n = store
            .write(|tx| {
                let n = tx.create_ticket(&crate::store::NewTicket {
                    subject: "s",
                    ticket_type: "technical",
                    account: None,
                    requester: &who,
                    at: t("2026-01-01T00:00:00Z"),
                })?;
                tx.set_status(n, Status::Closed, t("2026-01-02T00:00:00Z"))?;
                tx.set_setting("k", "v1")?;
                tx.set_setting("k", "v2")?;
                Ok::<_, crate::store::StoreError>(n)
            })
            .unwrap();
        let got = store.read().ticket(n).unwrap().unwrap();
        assert_eq!(got.closed_at, Some(t("2026-01-02T00:00:00Z")));
        assert_eq!(store.read().setting("k").unwrap().as_deref(), Some("v2"));
        store
            .write(|tx| tx.set_status(n, Status::InProgress, t("2026-01-03T00:00:00Z")))
            .unwrap();
        assert_eq!(store.read().ticket(n).unwrap().unwrap().closed_at, None);
    }
}
