//! Health of the desk: how each source did at its last round (written by
//! the daemon, table `source_health`), and the figures `postdesk status`
//! and the metrics endpoint read — counts only, never a message's content.

use chrono::{DateTime, Duration, Utc};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::{Reader, Result, Tx, from_ts, ts};

/// The upper bounds of the intake-latency buckets, in microseconds (the
/// last bucket, +Inf, is stored as `i64::MAX`): from a Maildir read in
/// milliseconds to a batch held up for minutes by a slow database.
pub const LATENCY_BUCKETS_US: [i64; 12] = [
    5_000,
    10_000,
    25_000,
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    10_000_000,
    60_000_000,
    300_000_000,
];

/// One row of the intake-latency histogram: a source's bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatencyBucket {
    pub source: String,
    /// The bucket's upper bound; `i64::MAX` for +Inf.
    pub le_us: i64,
    /// Messages in this bucket only (not cumulative).
    pub count: i64,
    pub sum_us: i64,
}

/// The setting keys of the last scheduled sweep.
const LAST_SWEEP_AT: &str = "last_sweep_at";
const LAST_SWEEP_MS: &str = "last_sweep_ms";

/// One source as the daemon last saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SourceHealth {
    pub source: String,
    pub last_ok: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    /// The first failure since the last success; `None` while it works.
    pub failing_since: Option<DateTime<Utc>>,
    /// Failures in a row.
    pub failures: i64,
    /// Failures ever (a counter for the metrics).
    pub failures_total: i64,
    pub next_try: Option<DateTime<Utc>>,
}

/// The outbox in numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OutboxFigures {
    pub queued: i64,
    pub oldest_queued: Option<DateTime<Utc>>,
    pub sent_total: i64,
    pub failed_total: i64,
    /// Failed for good with their last try in the 24 hours before `now`.
    pub failed_last_day: i64,
    /// New tickets' mails that wait for their suggestions (knowledge
    /// base): composed and queued by the daemon or `outbox flush`.
    pub waiting: i64,
    pub oldest_waiting: Option<DateTime<Utc>>,
}

/// Quarantined mail of one kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeldFigure {
    pub kind: String,
    pub count: i64,
    pub oldest: DateTime<Utc>,
}

/// Everything `status` and the metrics show that the database knows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DeskFigures {
    /// Shown per configured source by `daemon::health`.
    #[serde(skip)]
    pub sources: Vec<SourceHealth>,
    /// Messages taken per source and outcome (`stored`, `quarantined`,
    /// `skipped`), ever.
    pub taken: Vec<(String, String, i64)>,
    /// Messages taken per source in the 24 hours before `now`.
    #[serde(skip)]
    pub taken_last_day: Vec<(String, i64)>,
    pub outbox: OutboxFigures,
    /// Mail held in quarantine (not released), per reason, with the
    /// oldest of each.
    pub held: Vec<HeldFigure>,
    /// Tickets not closed or rejected, per status.
    pub open: Vec<(String, i64)>,
    /// The ticket waiting longest for staff, and since when.
    pub oldest_waiting_for_staff: Option<(i64, DateTime<Utc>)>,
    /// The intake-latency histogram, per source and bucket.
    #[serde(skip)]
    pub latency: Vec<LatencyBucket>,
    pub last_sweep: Option<DateTime<Utc>>,
    pub last_sweep_ms: Option<i64>,
    pub database_bytes: i64,
    pub schema_version: i64,
}

impl Tx<'_> {
    /// One message of `source` taken `us` microseconds after postdesk held
    /// it: counted in its bucket of the intake-latency histogram.
    pub fn record_intake_latency(&mut self, source: &str, us: i64) -> Result<()> {
        let us = us.max(0);
        let le = LATENCY_BUCKETS_US
            .into_iter()
            .find(|b| us <= *b)
            .unwrap_or(i64::MAX);
        self.exec(
            "INSERT INTO intake_latency (source, le_us, count, sum_us) VALUES (?1, ?2, 1, ?3)
             ON CONFLICT (source, le_us)
             DO UPDATE SET count = count + 1, sum_us = sum_us + excluded.sum_us",
            params![source, le, us],
        )?;
        Ok(())
    }

    /// A source finished a round with its server.
    pub fn source_ok(&mut self, source: &str, at: DateTime<Utc>) -> Result<()> {
        self.exec(
            "INSERT INTO source_health (source, last_ok) VALUES (?1, ?2)
             ON CONFLICT (source) DO UPDATE SET last_ok = excluded.last_ok,
                 failing_since = NULL, failures = 0, next_try = NULL",
            params![source, ts(at)],
        )?;
        Ok(())
    }

    /// A source's round failed with `error`; it tries again at `next_try`.
    pub fn source_failed(
        &mut self,
        source: &str,
        at: DateTime<Utc>,
        error: &str,
        next_try: DateTime<Utc>,
    ) -> Result<()> {
        self.exec(
            "INSERT INTO source_health (source, last_error, last_error_at, failing_since,
                 failures, failures_total, next_try)
             VALUES (?1, ?2, ?3, ?3, 1, 1, ?4)
             ON CONFLICT (source) DO UPDATE SET last_error = excluded.last_error,
                 last_error_at = excluded.last_error_at,
                 failing_since = COALESCE(failing_since, excluded.failing_since),
                 failures = failures + 1, failures_total = failures_total + 1,
                 next_try = excluded.next_try",
            params![source, error, ts(at), ts(next_try)],
        )?;
        Ok(())
    }

    /// The scheduled sweep ran at `at` and took `ms` milliseconds.
    pub fn sweep_done(&mut self, at: DateTime<Utc>, ms: i64) -> Result<()> {
        self.set_setting(LAST_SWEEP_AT, &ts(at).to_string())?;
        self.set_setting(LAST_SWEEP_MS, &ms.to_string())
    }
}

impl Reader<'_> {
    pub fn source_health(&self) -> Result<Vec<SourceHealth>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT source, last_ok, last_error, last_error_at, failing_since, failures,
                 failures_total, next_try
             FROM source_health ORDER BY source",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(SourceHealth {
                source: r.get(0)?,
                last_ok: r.get::<_, Option<i64>>(1)?.map(from_ts),
                last_error: r.get(2)?,
                last_error_at: r.get::<_, Option<i64>>(3)?.map(from_ts),
                failing_since: r.get::<_, Option<i64>>(4)?.map(from_ts),
                failures: r.get(5)?,
                failures_total: r.get(6)?,
                next_try: r.get::<_, Option<i64>>(7)?.map(from_ts),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The desk's figures as of `now`.
    pub fn desk_figures(&self, now: DateTime<Utc>) -> Result<DeskFigures> {
        let day_ago = ts(now - Duration::days(1));
        let taken = self.grouped3(
            "SELECT source, CASE WHEN message IS NOT NULL THEN 'stored'
                     WHEN quarantine IS NOT NULL THEN 'quarantined' ELSE 'skipped' END AS outcome,
                 count(*)
             FROM source_ids GROUP BY source, outcome ORDER BY source, outcome",
        )?;
        let taken_last_day = self.grouped(
            "SELECT source, count(*) FROM source_ids WHERE taken_at >= ?1
             GROUP BY source ORDER BY source",
            params![day_ago],
        )?;
        let outbox = self
            .conn
            .prepare_cached(
                // The oldest queued in a query of its own: with it the
                // counts read only the outbox_due index, never the rows
                // (whose raw mail comes before created_at).
                "SELECT count(*) FILTER (WHERE status = 'queued'),
                 (SELECT min(created_at) FROM outbox WHERE status = 'queued'),
                 count(*) FILTER (WHERE status = 'sent'),
                 count(*) FILTER (WHERE status = 'failed'),
                 count(*) FILTER (WHERE status = 'failed' AND next_attempt_at >= ?1)
             FROM outbox",
            )?
            .query_row(params![day_ago], |r| {
                Ok(OutboxFigures {
                    queued: r.get(0)?,
                    oldest_queued: r.get::<_, Option<i64>>(1)?.map(from_ts),
                    sent_total: r.get(2)?,
                    failed_total: r.get(3)?,
                    failed_last_day: r.get(4)?,
                    ..OutboxFigures::default()
                })
            })?;
        let outbox = self
            .conn
            .prepare_cached("SELECT count(*), min(since) FROM notify_pending")?
            .query_row([], |r| {
                Ok(OutboxFigures {
                    waiting: r.get(0)?,
                    oldest_waiting: r.get::<_, Option<i64>>(1)?.map(from_ts),
                    ..outbox
                })
            })?;
        let held = self
            .conn
            .prepare_cached(
                "SELECT COALESCE(kind, 'other') AS k, count(*), min(received_at) FROM quarantine
                 WHERE released_at IS NULL GROUP BY k ORDER BY k",
            )?
            .query_map([], |r| {
                Ok(HeldFigure {
                    kind: r.get(0)?,
                    count: r.get(1)?,
                    oldest: from_ts(r.get(2)?),
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        let open = self.grouped(
            "SELECT status, count(*) FROM tickets WHERE status NOT IN ('closed', 'rejected')
             GROUP BY status ORDER BY status",
            [],
        )?;
        let oldest_waiting_for_staff = self
            .conn
            .prepare_cached(
                "SELECT id, waiting_since FROM tickets
                 WHERE status IN ('new', 'in-progress') AND waiting_since IS NOT NULL
                 ORDER BY waiting_since, id LIMIT 1",
            )?
            .query_row([], |r| Ok((r.get::<_, i64>(0)?, from_ts(r.get(1)?))))
            .optional()?;
        let last_sweep = self
            .setting(LAST_SWEEP_AT)?
            .and_then(|v| v.parse().ok())
            .map(from_ts);
        let last_sweep_ms = self.setting(LAST_SWEEP_MS)?.and_then(|v| v.parse().ok());
        let pages: i64 = self
            .conn
            .pragma_query_value(None, "page_count", |r| r.get(0))?;
        let page_size: i64 = self
            .conn
            .pragma_query_value(None, "page_size", |r| r.get(0))?;
        let schema_version = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        let latency = self
            .conn
            .prepare_cached(
                "SELECT source, le_us, count, sum_us FROM intake_latency ORDER BY source, le_us",
            )?
            .query_map([], |r| {
                Ok(LatencyBucket {
                    source: r.get(0)?,
                    le_us: r.get(1)?,
                    count: r.get(2)?,
                    sum_us: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(DeskFigures {
            sources: self.source_health()?,
            latency,
            taken,
            taken_last_day,
            outbox,
            held,
            open,
            oldest_waiting_for_staff,
            last_sweep,
            last_sweep_ms,
            database_bytes: pages * page_size,
            schema_version,
        })
    }

    fn grouped(&self, sql: &str, p: impl rusqlite::Params) -> Result<Vec<(String, i64)>> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt.query_map(p, |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn grouped3(&self, sql: &str) -> Result<Vec<(String, String, i64)>> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_failure_run_keeps_its_start_and_a_success_ends_it() {
        let mut store = Store::open_in_memory().unwrap();
        let t0 = at("2026-12-01T10:00:00Z");
        let t1 = at("2026-12-01T10:05:00Z");
        let t2 = at("2026-12-01T10:20:00Z");
        store
            .write(|tx| {
                tx.source_failed("pop", t0, "refused", t0 + Duration::seconds(1))?;
                tx.source_failed("pop", t1, "refused again", t1 + Duration::seconds(2))
            })
            .unwrap();
        let h = &store.read().source_health().unwrap()[0];
        assert_eq!(h.failing_since, Some(t0));
        assert_eq!(h.last_error.as_deref(), Some("refused again"));
        assert_eq!((h.failures, h.failures_total), (2, 2));
        store.write(|tx| tx.source_ok("pop", t2)).unwrap();
        let h = &store.read().source_health().unwrap()[0];
        assert_eq!(
            (h.failing_since, h.last_ok, h.failures),
            (None, Some(t2), 0)
        );
        // The last error stays to be read; the total keeps counting.
        assert_eq!(
            (h.last_error.as_deref(), h.failures_total),
            (Some("refused again"), 2)
        );
    }

    #[test]
    fn figures_of_an_empty_desk_are_zero() {
        let store = Store::open_in_memory().unwrap();
        let f = store
            .read()
            .desk_figures(at("2026-12-01T10:00:00Z"))
            .unwrap();
        assert!(f.sources.is_empty() && f.taken.is_empty() && f.open.is_empty());
        assert_eq!(f.outbox, OutboxFigures::default());
        assert!(f.schema_version > 0);
    }

    #[test]
    fn intake_latency_lands_in_its_bucket_per_source() {
        let mut store = Store::open_in_memory().unwrap();
        store
            .write(|tx| {
                for (source, us) in [
                    ("pop", 3_000),
                    ("pop", 5_000),
                    ("pop", 5_001),
                    ("pop", 400_000_000),
                    ("ingest", 70_000),
                    ("pop", -1),
                ] {
                    tx.record_intake_latency(source, us)?;
                }
                Ok::<_, crate::store::StoreError>(())
            })
            .unwrap();
        let f = store.read().desk_figures(DateTime::UNIX_EPOCH).unwrap();
        let rows: Vec<(&str, i64, i64, i64)> = f
            .latency
            .iter()
            .map(|b| (b.source.as_str(), b.le_us, b.count, b.sum_us))
            .collect();
        assert_eq!(
            rows,
            [
                ("ingest", 100_000, 1, 70_000),
                // 3 ms, 5 ms and a negative span (counted as 0)
                ("pop", 5_000, 3, 8_000),
                ("pop", 10_000, 1, 5_001),
                ("pop", i64::MAX, 1, 400_000_000),
            ]
        );
    }
}
