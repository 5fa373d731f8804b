//! metrics: the daemon's Prometheus endpoint (`[metrics] listen`). Each
//! scrape reads the desk's figures from the database ([`DeskFigures`]), so
//! the numbers are the same whichever process took the mail (`ingest` from
//! the MTA included) and survive a restart; counters are counts of rows
//! that are never deleted.
//!
//! The HTTP side is a minimal HTTP/1.1 responder for `GET /metrics` (one
//! request per connection, `Connection: close`), bounded in request size
//! and time: a scraper needs no more, and a stray client gets a 404 or is
//! dropped. Text exposition format 0.0.4.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tracing::{info, warn};

use crate::config::Config;
use crate::domain::clock::Clock;
use crate::store::shared::{SharedStore, with_store};
use crate::store::{DeskFigures, LATENCY_BUCKETS_US, LatencyBucket};

/// A request line and headers larger than this are not a scraper's.
const MAX_REQUEST: usize = 8 * 1024;
/// A client that has not sent its request by then is dropped.
const REQUEST_TIME: Duration = Duration::from_secs(5);

/// Serves scrapes on `listener` until `stop` turns true.
pub async fn serve(
    listener: TcpListener,
    config: watch::Receiver<Arc<Config>>,
    store: SharedStore,
    clock: Arc<dyn Clock>,
    mut stop: watch::Receiver<bool>,
) {
    if let Ok(addr) = listener.local_addr() {
        info!(listen = %addr, "serving metrics at /metrics");
    }
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|s| *s) => return,
        };
        let conn = match accepted {
            Ok((conn, _)) => conn,
            Err(e) => {
                // Out of file descriptors, most likely: breathe, go on.
                warn!(error = %e, "metrics: cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        // The config in force now: a reload may have renamed the sources.
        let config = config.borrow().clone();
        let (store, clock) = (store.clone(), clock.clone());
        // One scrape at a time is plenty; a slow client must not hold the
        // accept loop, so each connection runs on its own.
        tokio::spawn(async move {
            if let Err(e) = answer(conn, &config, &store, clock.as_ref()).await {
                tracing::debug!(error = %e, "metrics: connection ended");
            }
        });
    }
}

async fn answer(
    mut conn: TcpStream,
    config: &Arc<Config>,
    store: &SharedStore,
    clock: &dyn Clock,
) -> std::io::Result<()> {
    let head = match tokio::time::timeout(REQUEST_TIME, read_head(&mut conn)).await {
        Ok(head) => head?,
        Err(_) => return Ok(()),
    };
    let (status, kind, body) = match request_target(&head) {
        Some(("GET", "/metrics")) => {
            let now = clock.now();
            match with_store(store, move |s| s.read().desk_figures(now)).await {
                Ok(figures) => (
                    "200 OK",
                    "text/plain; version=0.0.4; charset=utf-8",
                    render(config, &figures, now),
                ),
                Err(e) => {
                    warn!(error = %e, "metrics: cannot read the database");
                    (
                        "503 Service Unavailable",
                        "text/plain",
                        "database unavailable\n".into(),
                    )
                }
            }
        }
        Some(("GET", _)) => ("404 Not Found", "text/plain", "try /metrics\n".into()),
        Some(_) => ("405 Method Not Allowed", "text/plain", "GET only\n".into()),
        None => ("400 Bad Request", "text/plain", "bad request\n".into()),
    };
    let reply = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    conn.write_all(reply.as_bytes()).await?;
    conn.shutdown().await
}

/// The request line and headers, up to the blank line (or the cap).
async fn read_head(conn: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    while head.len() < MAX_REQUEST && !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = conn.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    Ok(head)
}

/// The method and path of an HTTP/1.x request line (the query dropped).
fn request_target(head: &[u8]) -> Option<(&str, &str)> {
    let line = head.split(|&b| b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?.trim_end_matches('\r');
    let mut parts = line.split(' ');
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || !version.starts_with("HTTP/1.") {
        return None;
    }
    Some((method, target.split('?').next().unwrap_or(target)))
}

/// A label value in the exposition format: backslash, quote and newline
/// escaped (source names come from the operator, kinds from the code).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// One metric family: its HELP and TYPE lines, then `samples` as
/// `(labels, value)`.
fn family(out: &mut String, name: &str, kind: &str, help: &str, samples: &[(String, f64)]) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    for (labels, value) in samples {
        if labels.is_empty() {
            let _ = writeln!(out, "{name} {value}");
        } else {
            let _ = writeln!(out, "{name}{{{labels}}} {value}");
        }
    }
}

/// The exposition text for `figures` at `now`.
pub fn render(config: &Config, f: &DeskFigures, now: DateTime<Utc>) -> String {
    let mut out = String::new();
    let taken: Vec<(String, f64)> = f
        .taken
        .iter()
        .map(|(source, outcome, n)| {
            (
                format!(
                    "source=\"{}\",outcome=\"{}\"",
                    label(source),
                    label(outcome)
                ),
                *n as f64,
            )
        })
        .collect();
    family(
        &mut out,
        "postdesk_messages_taken_total",
        "counter",
        "Messages taken in, per source and outcome (stored, quarantined, skipped).",
        &taken,
    );
    intake_latency(&mut out, config, &f.latency);
    let transport = label(config.transport.kind());
    let o = &f.outbox;
    let mails: Vec<(String, f64)> = [
        ("queued", o.queued),
        ("sent", o.sent_total),
        ("failed", o.failed_total),
    ]
    .iter()
    .map(|(status, n)| {
        (
            format!("transport=\"{transport}\",status=\"{status}\""),
            *n as f64,
        )
    })
    .collect();
    family(
        &mut out,
        "postdesk_outbox_mails",
        "gauge",
        "Mails in the outbox per transport and status (queued is the depth; sent and failed only grow).",
        &mails,
    );
    let oldest = o
        .oldest_queued
        .map_or(0.0, |t| (now - t).num_seconds().max(0) as f64);
    family(
        &mut out,
        "postdesk_outbox_oldest_queued_seconds",
        "gauge",
        "Age of the oldest queued mail (0 when none is queued).",
        &[(format!("transport=\"{transport}\""), oldest)],
    );
    family(
        &mut out,
        "postdesk_outbox_waiting",
        "gauge",
        "New tickets' mails waiting for their suggestions before they are queued.",
        &[(String::new(), o.waiting as f64)],
    );
    let held: Vec<(String, f64)> = f
        .held
        .iter()
        .map(|h| (format!("reason=\"{}\"", label(&h.kind)), h.count as f64))
        .collect();
    family(
        &mut out,
        "postdesk_quarantine_held",
        "gauge",
        "Messages held in quarantine (not released), per reason.",
        &held,
    );
    let open: Vec<(String, f64)> = f
        .open
        .iter()
        .map(|(s, n)| (format!("status=\"{}\"", label(s)), *n as f64))
        .collect();
    family(
        &mut out,
        "postdesk_tickets_open",
        "gauge",
        "Tickets not closed or rejected, per status.",
        &open,
    );
    // Every configured source, recorded or not yet.
    let mut up = Vec::new();
    let mut failures = Vec::new();
    for source in &config.sources {
        let h = f.sources.iter().find(|h| h.source == source.name);
        let l = format!("source=\"{}\"", label(&source.name));
        let is_up = h.is_some_and(|h| h.failing_since.is_none() && h.last_ok.is_some());
        up.push((l.clone(), if is_up { 1.0 } else { 0.0 }));
        failures.push((l, h.map_or(0, |h| h.failures_total) as f64));
    }
    family(
        &mut out,
        "postdesk_source_up",
        "gauge",
        "1 when the source's last round with its server succeeded, 0 when it failed or has not run.",
        &up,
    );
    family(
        &mut out,
        "postdesk_source_failures_total",
        "counter",
        "Failed rounds with the source's server.",
        &failures,
    );
    if let (Some(at), Some(ms)) = (f.last_sweep, f.last_sweep_ms) {
        family(
            &mut out,
            "postdesk_sweep_duration_seconds",
            "gauge",
            "How long the last scheduled inactivity sweep took.",
            &[(String::new(), ms as f64 / 1000.0)],
        );
        family(
            &mut out,
            "postdesk_sweep_last_timestamp_seconds",
            "gauge",
            "When the last scheduled inactivity sweep ran (Unix time).",
            &[(String::new(), at.timestamp() as f64)],
        );
    }
    family(
        &mut out,
        "postdesk_database_bytes",
        "gauge",
        "Size of the database file.",
        &[(String::new(), f.database_bytes as f64)],
    );
    out
}

/// `postdesk_intake_latency_seconds`, a histogram per source: every
/// configured source (empty until it takes mail) and every other source
/// the database has seen (`ingest`, an mbox). A stored bucket that is no
/// longer one of [`LATENCY_BUCKETS_US`] counts in the next larger one.
fn intake_latency(out: &mut String, config: &Config, rows: &[LatencyBucket]) {
    const NAME: &str = "postdesk_intake_latency_seconds";
    let _ = writeln!(
        out,
        "# HELP {NAME} Time from postdesk holding a message (fetched, read from a Maildir, piped in) to the end of the transaction that took it, per source."
    );
    let _ = writeln!(out, "# TYPE {NAME} histogram");
    let mut sources: Vec<&str> = config.sources.iter().map(|s| s.name.as_str()).collect();
    for r in rows {
        if !sources.contains(&r.source.as_str()) {
            sources.push(&r.source);
        }
    }
    for source in sources {
        let l = label(source);
        let mine: Vec<&LatencyBucket> = rows.iter().filter(|r| r.source == source).collect();
        let mut cumulative = 0i64;
        for bound in LATENCY_BUCKETS_US {
            let lower = LATENCY_BUCKETS_US
                .iter()
                .copied()
                .filter(|b| *b < bound)
                .max();
            cumulative += mine
                .iter()
                .filter(|r| r.le_us <= bound && lower.is_none_or(|lo| r.le_us > lo))
                .map(|r| r.count)
                .sum::<i64>();
            let le = bound as f64 / 1e6;
            let _ = writeln!(
                out,
                "{NAME}_bucket{{source=\"{l}\",le=\"{le}\"}} {cumulative}"
            );
        }
        let count: i64 = mine.iter().map(|r| r.count).sum();
        let sum: i64 = mine.iter().map(|r| r.sum_us).sum();
        let _ = writeln!(out, "{NAME}_bucket{{source=\"{l}\",le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "{NAME}_sum{{source=\"{l}\"}} {}", sum as f64 / 1e6);
        let _ = writeln!(out, "{NAME}_count{{source=\"{l}\"}} {count}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines() {
        type Case<'a> = (&'a [u8], Option<(&'a str, &'a str)>);
        #[rustfmt::skip]
        let cases: [Case; 7] = [
            (b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", Some(("GET", "/metrics"))),
            (b"GET /metrics?x=1 HTTP/1.0\r\n\r\n", Some(("GET", "/metrics"))),
            (b"POST /metrics HTTP/1.1\r\n\r\n", Some(("POST", "/metrics"))),
            (b"GET / HTTP/1.1\r\n\r\n", Some(("GET", "/"))),
            (b"GET /metrics\r\n\r\n", None),
            (b"GET  /metrics HTTP/1.1\r\n\r\n", None),
            (b"\xff\xfe\r\n\r\n", None),
        ];
        for (head, want) in cases {
            assert_eq!(
                request_target(head),
                want,
                "{}",
                String::from_utf8_lossy(head)
            );
        }
    }

    #[test]
    fn labels_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    /// Cumulative buckets per source from the stored ones; a stored bound
    /// that is no longer a bucket counts in the next larger one.
    #[test]
    fn the_latency_histogram_is_cumulative_per_source() {
        let config = Config::embedded_default();
        let row = |source: &str, le_us, count, sum_us| LatencyBucket {
            source: source.into(),
            le_us,
            count,
            sum_us,
        };
        let rows = [
            row("ingest", 5_000, 2, 3_000),
            row("ingest", 7_000, 1, 6_500), // an old bound: counts under 10 ms
            row("ingest", 1_000_000, 1, 900_000),
            row("ingest", i64::MAX, 1, 400_000_000),
        ];
        let mut out = String::new();
        intake_latency(&mut out, &config, &rows);
        let value = |series: &str| -> f64 {
            out.lines()
                .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
                .unwrap_or_else(|| panic!("no {series} in\n{out}"))
        };
        let b = |le: &str| {
            value(&format!(
                "postdesk_intake_latency_seconds_bucket{{source=\"ingest\",le=\"{le}\"}}"
            ))
        };
        assert_eq!(b("0.005"), 2.0);
        assert_eq!(b("0.01"), 3.0);
        assert_eq!(b("0.5"), 3.0);
        assert_eq!(b("1"), 4.0);
        assert_eq!(b("300"), 4.0);
        assert_eq!(b("+Inf"), 5.0);
        assert_eq!(
            value("postdesk_intake_latency_seconds_count{source=\"ingest\"}"),
            5.0
        );
        let sum = value("postdesk_intake_latency_seconds_sum{source=\"ingest\"}");
        assert!((sum - 400.9095).abs() < 1e-9, "{sum}");
        assert!(
            out.contains("# TYPE postdesk_intake_latency_seconds histogram"),
            "{out}"
        );
    }
}
