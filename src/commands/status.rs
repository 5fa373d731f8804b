//! `postdesk status`: the desk's health from its database — each source's
//! last round and error, the outbox, the quarantine, open tickets, the
//! database — and an exit status a monitoring check can use (0 healthy,
//! 1 something needs an operator; see `daemon::health`), and the state of
//! each OAuth credential, as `postdesk oauth status` shows it (no token).

use std::fmt::Write;

use chrono::{DateTime, Utc};

use super::{Outcome, exit, open_store, print_json, rfc3339};
use crate::config::Config;
use crate::daemon::health::{Health, assess};
use crate::domain::clock::{Clock, SystemClock};
use crate::oauth::Credential;

/// The JSON report: the health, and each OAuth credential's lines.
#[derive(serde::Serialize)]
struct Report<'a> {
    #[serde(flatten)]
    health: &'a Health,
    oauth: Vec<OauthState>,
}

#[derive(serde::Serialize)]
struct OauthState {
    name: String,
    /// What `postdesk oauth status` prints for it, one line each.
    lines: Vec<String>,
}

pub(super) fn status(config: &Config, json: bool) -> Outcome {
    let store = open_store(config)?;
    let now = SystemClock.now();
    let figures = store.read().desk_figures(now)?;
    let health = assess(config, figures, now);
    let oauth: Vec<OauthState> = config
        .oauth
        .iter()
        .map(|spec| OauthState {
            name: spec.name.clone(),
            lines: Credential::new(spec).status().lines(),
        })
        .collect();
    if json {
        print_json(&Report {
            health: &health,
            oauth,
        })?;
    } else {
        print!("{}", render(&health));
        if !oauth.is_empty() {
            println!("\noauth credentials:");
            for line in oauth.iter().flat_map(|o| &o.lines) {
                println!("  {line}");
            }
        }
    }
    Ok(if health.healthy {
        exit::OK
    } else {
        exit::ATTENTION
    })
}

fn when(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(|| "never".to_string(), rfc3339)
}

/// The report for a person, one block per part of the desk.
pub fn render(h: &Health) -> String {
    let mut out = String::new();
    let verdict = if h.healthy { "OK" } else { "ATTENTION" };
    let _ = writeln!(out, "postdesk status at {}: {verdict}", rfc3339(h.at));
    for alarm in &h.alarms {
        let _ = writeln!(out, "  ! {alarm}");
    }
    let _ = writeln!(out, "\nsources:");
    if h.sources.is_empty() {
        let _ = writeln!(out, "  none configured (mail comes by `postdesk ingest`)");
    }
    for s in &h.sources {
        let state = match s.health.failing_since {
            Some(since) => format!("FAILING since {}", rfc3339(since)),
            None if s.health.last_ok.is_some() => "up".to_string(),
            None => "not run yet".to_string(),
        };
        let _ = writeln!(out, "  {} ({}): {state}", s.name, s.kind);
        let _ = writeln!(
            out,
            "    last successful round: {}; taken in the last 24 h: {}",
            when(s.health.last_ok),
            s.taken_last_day
        );
        if let Some(error) = &s.health.last_error {
            let _ = writeln!(
                out,
                "    last error at {}: {error}",
                when(s.health.last_error_at)
            );
        }
        if s.health.failing_since.is_some() {
            let _ = writeln!(
                out,
                "    {} failures in a row; next try {}",
                s.health.failures,
                when(s.health.next_try)
            );
        }
    }
    let f = &h.figures;
    let o = &f.outbox;
    let _ = writeln!(out, "\noutbox ({}):", h.transport);
    let _ = writeln!(
        out,
        "  queued {} (oldest {}); sent {}; failed {} ({} in the last 24 h)",
        o.queued,
        when(o.oldest_queued),
        o.sent_total,
        o.failed_total,
        o.failed_last_day
    );
    if o.waiting > 0 {
        let _ = writeln!(
            out,
            "  new-ticket mails waiting for their suggestions {} (oldest {})",
            o.waiting,
            when(o.oldest_waiting)
        );
    }
    let _ = writeln!(out, "\nquarantine:");
    if f.held.is_empty() {
        let _ = writeln!(out, "  empty");
    }
    for held in &f.held {
        let _ = writeln!(
            out,
            "  {}: {} (oldest {})",
            held.kind,
            held.count,
            rfc3339(held.oldest)
        );
    }
    let _ = writeln!(out, "\ntickets open:");
    if f.open.is_empty() {
        let _ = writeln!(out, "  none");
    }
    for (status, n) in &f.open {
        let _ = writeln!(out, "  {status}: {n}");
    }
    if let Some((ticket, since)) = f.oldest_waiting_for_staff {
        let _ = writeln!(
            out,
            "  waiting longest for staff: #{ticket} since {}",
            rfc3339(since)
        );
    }
    let _ = writeln!(out, "\nlast sweep: {}", when(f.last_sweep));
    let _ = writeln!(
        out,
        "database: {} ({} bytes, schema version {})",
        h.database, f.database_bytes, f.schema_version
    );
    out
}
