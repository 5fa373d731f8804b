//! schedule: the daemon's sweep task — at each tick of `[schedule] sweep`
//! (a cron line, in the desk's zone) it runs the inactivity sweep, at each
//! tick of `[schedule] digest` (if set) it mails the staff digest, and it
//! wakes the outbox sender when mail was queued.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use tokio::sync::{Notify, watch};
use tracing::{info, warn};

use crate::domain::clock::Clock;
use crate::intake::Pipeline;
use crate::store::shared::{SharedStore, with_store};
use crate::ticket::sweep::sweep;

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
    let schedule = &config.schedule.sweep;
    let digest = config.schedule.digest.as_ref();
    let tz = config.calendar.timezone();
    info!(schedule = %config.schedule.sweep, timezone = %tz.name(), "inactivity sweeps scheduled");
    if let Some(d) = digest {
        info!(schedule = %d, "staff digest scheduled");
    }
    loop {
        if *shutdown.borrow() {
            return;
        }
        let now = clock.now();
        let next_sweep = next_tick(schedule, tz, now);
        let next_digest = digest.and_then(|d| next_tick(d, tz, now));
        let Some(next) = [next_sweep, next_digest].into_iter().flatten().min() else {
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
        if next_digest.is_some_and(|d| d <= now) {
            send_digest(&pipeline, &store, &queued, now).await;
        }
        if next_sweep.is_some_and(|t| t <= now) {
            run_sweep(&pipeline, &store, &queued, now).await;
        }
    }
}

async fn run_sweep(pipeline: &Pipeline, store: &SharedStore, queued: &Notify, now: DateTime<Utc>) {
    let p = pipeline.clone();
    let result = with_store(store, move |st| {
        let s = p.settings();
        let started = std::time::Instant::now();
        let report = sweep(st, &s, now, false)?;
        // For `postdesk status` and the metrics; losing it is harmless.
        let ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        if let Err(e) = st.write_relaxed(|tx| tx.sweep_done(now, ms)) {
            warn!(error = %e, "cannot record the sweep's time");
        }
        Ok::<_, crate::store::StoreError>(report)
    })
    .await;
    match result {
        Ok(report) => {
            for a in &report.actions {
                info!(ticket = %a.ticket, rule = a.rule, action = a.action, detail = %a.detail, mails = a.mails.len(), "sweep");
            }
            if report.expired_holds > 0 {
                info!(
                    held = report.expired_holds,
                    "held mail on tickets whose confirmation code expired: told"
                );
            }
            if report.mails() > 0 || report.expired_holds > 0 {
                queued.notify_one();
            }
        }
        Err(e) => warn!(error = %e, "sweep failed; the next tick tries again"),
    }
}

/// The staff side's digest at `now` (`[schedule] digest`).
async fn send_digest(
    pipeline: &Pipeline,
    store: &SharedStore,
    queued: &Notify,
    now: DateTime<Utc>,
) {
    let p = pipeline.clone();
    let result = with_store(store, move |st| {
        let s = p.settings();
        st.write(|tx| crate::ticket::digest::send(tx, &s, now))
    })
    .await;
    match result {
        Ok(ids) if ids.is_empty() => info!("staff digest: nothing to tell"),
        Ok(ids) => {
            for id in ids {
                info!(outbox = id, "staff digest queued");
            }
            queued.notify_one();
        }
        Err(e) => warn!(error = %e, "staff digest failed; the next tick tries again"),
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
