//! sweep: applies the inactivity rules on the business calendar at one
//! instant — warnings to both sides, then the close — and the daemon's
//! scheduler that runs it on the cron schedule of `[schedule] sweep`.
//!
//! A sweep reads only the tickets whose indexed `next_deadline` has come
//! (`change` keeps that column current on every change), so its cost
//! follows the number of due tickets, not the size of the database. When
//! the rules or the calendar of the config differ from those the stored
//! deadlines were computed with (a fingerprint in the `settings` table),
//! the first sweep computes every waiting ticket's deadline again, once.
//! Each sweep also tells staff of the held mail on a ticket whose
//! confirmation code has expired (`holds`), once.

use chrono::{DateTime, Utc};
use serde::Serialize;

use tracing::info;

use crate::domain::TicketId;
use crate::domain::lifecycle::{self, Due, Plan};
use crate::ticket::{self, Settings};

use crate::store::{DueCursor, Store, StoreError, Ticket};

/// The `settings` key of the rules' fingerprint.
const FINGERPRINT: &str = "lifecycle.fingerprint";
/// Due tickets per transaction: a commit (an fsync) per batch, and a
/// daemon that never holds the write lock long.
const BATCH: usize = 250;
/// Tickets per transaction when all deadlines are computed again.
const RECOMPUTE_BATCH: usize = 5000;

/// One thing a sweep did, or would do with `--dry-run`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Action {
    pub ticket: TicketId,
    /// Whose silence: `staff` or `customer`.
    pub rule: &'static str,
    /// `warning` or `close`.
    pub action: &'static str,
    /// `warning 2 of 2 (4 days waiting for staff)`, `in-progress → closed`.
    pub detail: String,
    /// When it fell due.
    pub due: DateTime<Utc>,
    /// Outbox rows queued (none in a dry run).
    pub mails: Vec<i64>,
    /// Mails not sent, and why.
    pub skipped: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub now: DateTime<Utc>,
    pub dry_run: bool,
    /// Deadlines computed again because the rules changed.
    pub recomputed: usize,
    /// Held mail on a ticket whose code expired, told on its ticket.
    pub expired_holds: usize,
    pub actions: Vec<Action>,
}

impl Report {
    pub fn mails(&self) -> usize {
        self.actions.iter().map(|a| a.mails.len()).sum()
    }
}

/// Runs the rules at `now`. With `dry_run` nothing is written: the report
/// says what would be done.
pub fn sweep(
    store: &mut Store,
    s: &Settings<'_>,
    now: DateTime<Utc>,
    dry_run: bool,
) -> Result<Report, StoreError> {
    let mut report = Report {
        now,
        dry_run,
        ..Report::default()
    };
    let fingerprint = lifecycle::fingerprint(&s.all_rules(), s.calendar);
    let current = store.read().setting(FINGERPRINT)?.as_deref() == Some(fingerprint.as_str());
    if !current {
        if dry_run {
            // The stored deadlines do not say what the new rules would do:
            // look at every waiting ticket instead (a dry run may be slow).
            let mut after = TicketId(0);
            loop {
                let page = store.read().waiting_tickets(after, RECOMPUTE_BATCH)?;
                let Some(last) = page.last() else { break };
                after = last.number;
                report.actions.extend(
                    page.iter()
                        .filter_map(|t| evaluate(&s.for_ticket(t), t, now)),
                );
            }
            return Ok(report);
        }
        report.recomputed = recompute(store, s, &fingerprint)?;
        info!(
            tickets = report.recomputed,
            "inactivity rules changed: deadlines computed again"
        );
    }

    let mut cursor = None;
    loop {
        let page = store.read().due_tickets(now, cursor, BATCH)?;
        let Some(last) = page.last() else { break };
        cursor = Some(DueCursor {
            deadline: last.next_deadline.unwrap_or(now),
            ticket: last.number,
        });
        if dry_run {
            report.actions.extend(
                page.iter()
                    .filter_map(|t| evaluate(&s.for_ticket(t), t, now)),
            );
            continue;
        }
        let done = store.write(|tx| {
            let mut done = Vec::new();
            for t in &page {
                // Read again inside the transaction: intake may have changed
                // the ticket since the page was read.
                let Some(t) = tx.read().ticket(t.number)? else {
                    continue;
                };
                // Each ticket by its queue's rules, mail from its address.
                let s = &s.for_ticket(&t);
                let Some((plan, due)) = what_is_due(s, &t, now) else {
                    ticket::refresh_deadline(tx, s, &t)?;
                    continue;
                };
                let action = match due {
                    Due::Nothing => {
                        ticket::refresh_deadline(tx, s, &t)?;
                        None
                    }
                    Due::Warn { index } => {
                        let d = ticket::warn(tx, s, &t, &plan, index, now)?;
                        Some(action(t.number, &plan, due, d.change, d.mails, d.skipped))
                    }
                    Due::Close => ticket::inactivity_close(tx, s, &t, &plan, now)?
                        .map(|d| action(t.number, &plan, due, d.change, d.mails, d.skipped)),
                };
                done.extend(action);
            }
            Ok::<_, StoreError>(done)
        })?;
        report.actions.extend(done);
    }
    if !dry_run {
        report.expired_holds = tell_expired_holds(store, s, now)?;
    }
    Ok(report)
}

/// Tells every expired hold on a ticket, a batch per transaction.
fn tell_expired_holds(
    store: &mut Store,
    s: &Settings<'_>,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut told = 0;
    loop {
        let n = store.write(|tx| ticket::holds::tell_on_tickets(tx, s, now))?;
        told += n;
        if n < ticket::holds::PER_SWEEP {
            return Ok(told);
        }
    }
}

/// What the rules say about `t` at `now`: its plan and what is due.
fn what_is_due(s: &Settings<'_>, t: &Ticket, now: DateTime<Utc>) -> Option<(Plan, Due)> {
    let plan = ticket::plan_of(s, t)?;
    let due = plan.due(t.warnings_sent as usize, now);
    Some((plan, due))
}

/// The action a dry run reports for `t`.
fn evaluate(s: &Settings<'_>, t: &Ticket, now: DateTime<Utc>) -> Option<Action> {
    let (plan, due) = what_is_due(s, t, now)?;
    let detail = match due {
        Due::Nothing => return None,
        Due::Warn { index } => format!(
            "warning {} of {} ({} waiting for {})",
            index + 1,
            plan.warnings.len(),
            plan.warnings[index]
                .span
                .map(|sp| sp.to_string())
                .unwrap_or_default(),
            plan.side.as_str()
        ),
        Due::Close => format!("{} → closed", t.status),
    };
    Some(action(t.number, &plan, due, detail, Vec::new(), Vec::new()))
}

fn action(
    ticket: TicketId,
    plan: &Plan,
    due: Due,
    detail: String,
    mails: Vec<i64>,
    skipped: Vec<String>,
) -> Action {
    let (kind, at) = match due {
        Due::Warn { index } => ("warning", plan.warnings[index].at),
        _ => ("close", plan.close.map_or(plan.since, |c| c.at)),
    };
    Action {
        ticket,
        rule: plan.side.as_str(),
        action: kind,
        detail,
        due: at,
        mails,
        skipped,
    }
}

/// Every waiting ticket's deadline from the current rules, then the new
/// fingerprint, so this happens once per change of the rules.
fn recompute(store: &mut Store, s: &Settings<'_>, fingerprint: &str) -> Result<usize, StoreError> {
    let mut after = TicketId(0);
    let mut count = 0;
    loop {
        let page = store.read().waiting_tickets(after, RECOMPUTE_BATCH)?;
        let Some(last) = page.last() else { break };
        after = last.number;
        count += page.len();
        store.write(|tx| {
            for t in &page {
                ticket::refresh_deadline(tx, &s.for_ticket(t), t)?;
            }
            Ok::<_, StoreError>(())
        })?;
    }
    store.write(|tx| tx.set_setting(FINGERPRINT, fingerprint))?;
    Ok(count)
}

/// Marks the stored deadlines as computed with the current rules (for a
/// database built by other means, such as the benchmark's).
#[doc(hidden)]
pub fn mark_rules_current(store: &mut Store, s: &Settings<'_>) -> Result<(), StoreError> {
    let fingerprint = lifecycle::fingerprint(&s.all_rules(), s.calendar);
    store.write(|tx| tx.set_setting(FINGERPRINT, &fingerprint))
}
