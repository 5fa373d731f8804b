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

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::{Notify, watch};
use tracing::{error, info, warn};

use crate::change::{self, Settings};
use crate::domain::TicketId;
use crate::domain::clock::Clock;
use crate::domain::lifecycle::{self, Due, Plan};
use crate::intake::Pipeline;
use crate::store::shared::{SharedStore, with_store};
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
    let fingerprint = lifecycle::fingerprint(s.rules, s.calendar);
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
                report
                    .actions
                    .extend(page.iter().filter_map(|t| evaluate(s, t, now)));
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
            report
                .actions
                .extend(page.iter().filter_map(|t| evaluate(s, t, now)));
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
                let Some((plan, due)) = what_is_due(s, &t, now) else {
                    change::refresh_deadline(tx, s, &t)?;
                    continue;
                };
                let action = match due {
                    Due::Nothing => {
                        change::refresh_deadline(tx, s, &t)?;
                        None
                    }
                    Due::Warn { index } => {
                        let d = change::warn(tx, s, &t, &plan, index, now)?;
                        Some(action(t.number, &plan, due, d.change, d.mails, d.skipped))
                    }
                    Due::Close => change::inactivity_close(tx, s, &t, &plan, now)?
                        .map(|d| action(t.number, &plan, due, d.change, d.mails, d.skipped)),
                };
                done.extend(action);
            }
            Ok::<_, StoreError>(done)
        })?;
        report.actions.extend(done);
    }
    Ok(report)
}

/// What the rules say about `t` at `now`: its plan and what is due.
fn what_is_due(s: &Settings<'_>, t: &Ticket, now: DateTime<Utc>) -> Option<(Plan, Due)> {
    let plan = change::plan_of(s, t)?;
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
                change::refresh_deadline(tx, s, t)?;
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
    let fingerprint = lifecycle::fingerprint(s.rules, s.calendar);
    store.write(|tx| tx.set_setting(FINGERPRINT, &fingerprint))
}

// ---------------------------------------------------------------------------
// The scheduler
// ---------------------------------------------------------------------------

/// The next instant of `schedule` after `now`, evaluated in the desk's zone.
pub fn next_tick(
    schedule: &cron::Schedule,
    tz: chrono_tz::Tz,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    schedule
        .after(&now.with_timezone(&tz))
        .next()
        .map(|t| t.with_timezone(&Utc))
}

/// The daemon's sweep task: sleeps until the next tick of `[schedule]
/// sweep`, sweeps, wakes the outbox sender when mail was queued; stops when
/// `shutdown` turns true (a sweep in progress finishes its batch first).
pub async fn scheduled(
    pipeline: Pipeline,
    store: SharedStore,
    clock: Arc<dyn Clock>,
    queued: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
) {
    let config = pipeline.config.clone();
    let schedule = match config.schedule.sweep.parse::<cron::Schedule>() {
        Ok(s) => s,
        Err(e) => {
            // The config validated it; this is a defect, not a reason to stop.
            error!(error = %e, "cannot read the sweep schedule; no inactivity sweeps");
            return;
        }
    };
    let tz = config.calendar.timezone();
    info!(schedule = %config.schedule.sweep, timezone = %tz.name(), "inactivity sweeps scheduled");
    loop {
        if *shutdown.borrow() {
            return;
        }
        let Some(next) = next_tick(&schedule, tz, clock.now()) else {
            warn!("the sweep schedule fires no more");
            let _ = shutdown.wait_for(|stop| *stop).await;
            return;
        };
        let pause = (next - clock.now()).to_std().unwrap_or(StdDuration::ZERO);
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = shutdown.changed() => continue,
        }
        let now = clock.now();
        let p = pipeline.clone();
        let result = with_store(&store, move |st| {
            let s = Settings::new(&p.config, p.desk());
            sweep(st, &s, now, false)
        })
        .await;
        match result {
            Ok(report) => {
                for a in &report.actions {
                    info!(ticket = %a.ticket, rule = a.rule, action = a.action, detail = %a.detail, mails = a.mails.len(), "sweep");
                }
                if report.mails() > 0 {
                    queued.notify_one();
                }
            }
            Err(e) => warn!(error = %e, "sweep failed; the next tick tries again"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn ticks_follow_the_cron_schedule_in_the_desk_zone() {
        let every10 = cron::Schedule::from_str(crate::config::DEFAULT_SWEEP).unwrap();
        let tz = chrono_tz::Europe::Paris;
        #[rustfmt::skip]
        let cases = [
            (&every10, "2026-11-16T10:00:00+01:00", "2026-11-16T10:10:00+01:00"),
            (&every10, "2026-11-16T10:09:59+01:00", "2026-11-16T10:10:00+01:00"),
            (&every10, "2026-11-16T23:55:00+01:00", "2026-11-17T00:00:00+01:00"),
        ];
        for (s, now, want) in cases {
            assert_eq!(next_tick(s, tz, utc(now)), Some(utc(want)), "{now}");
        }
        // "At 09:00 local time on weekdays" stays 09:00 local across DST.
        let nine = cron::Schedule::from_str("0 0 9 * * Mon-Fri").unwrap();
        assert_eq!(
            next_tick(&nine, tz, utc("2026-10-23T10:00:00+02:00")),
            Some(utc("2026-10-26T09:00:00+01:00"))
        );
    }
}
