//! health: is the desk well? From the figures the store keeps
//! ([`DeskFigures`]) and the config, a [`Health`] report with the
//! conditions that need an operator (alarms). `postdesk status` prints it
//! and exits by it (Nagios convention: 0 OK, 1 needs attention), and the
//! daemon logs it every hour. Pure: the instant is given.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::config::Config;
use crate::store::{DeskFigures, SourceHealth};

/// Mail older than this, queued or held for the operator, is an alarm.
const HELD_TOO_LONG: Duration = Duration::days(1);

/// A new ticket's staff notification waits for its suggestions only
/// until the daemon's indexer runs (every second): longer means no daemon
/// (nor `outbox flush`) is sending them.
const WAITING_TOO_LONG: Duration = Duration::minutes(15);

/// Quarantine kinds that wait for the operator; the others are decisions
/// already taken (spam, blocked, loops) or wait for a sender's answer.
const NEEDS_OPERATOR: [&str; 4] = ["unreadable", "too-large", "no-sender", "other"];

/// One configured source, its health and what it took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceState {
    pub name: String,
    pub kind: &'static str,
    /// Messages taken in the 24 hours before the report.
    pub taken_last_day: i64,
    #[serde(flatten)]
    pub health: SourceHealth,
}

/// The whole report, as `status --json` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Health {
    pub at: DateTime<Utc>,
    /// True when `alarms` is empty.
    pub healthy: bool,
    /// What needs an operator, one sentence each.
    pub alarms: Vec<String>,
    pub sources: Vec<SourceState>,
    pub transport: String,
    /// The database file.
    pub database: String,
    #[serde(flatten)]
    pub figures: DeskFigures,
}

/// The report for `config`'s desk at `now`.
pub fn assess(config: &Config, mut figures: DeskFigures, now: DateTime<Utc>) -> Health {
    let alarm_after = Duration::from_std(config.status.source_alarm).unwrap_or(Duration::MAX);
    let mut alarms = Vec::new();
    let mut sources = Vec::new();
    for source in &config.sources {
        let health = figures
            .sources
            .iter()
            .find(|h| h.source == source.name)
            .cloned()
            .unwrap_or_else(|| SourceHealth {
                source: source.name.clone(),
                ..SourceHealth::default()
            });
        if let Some(since) = health.failing_since.filter(|s| now - *s > alarm_after) {
            alarms.push(format!(
                "source {} failing since {} ({} failures in a row): {}",
                source.name,
                since.format("%Y-%m-%d %H:%M UTC"),
                health.failures,
                health.last_error.as_deref().unwrap_or("no error recorded"),
            ));
        }
        let taken_last_day = figures
            .taken_last_day
            .iter()
            .find(|(s, _)| *s == source.name)
            .map_or(0, |(_, n)| *n);
        sources.push(SourceState {
            name: source.name.clone(),
            kind: source.kind.kind(),
            taken_last_day,
            health,
        });
    }
    // The table lists what the daemon recorded; sources of an older
    // config are not this desk's concern any more.
    figures.sources.clear();

    let outbox = &figures.outbox;
    if outbox.failed_last_day > 0 {
        alarms.push(format!(
            "{} mail(s) failed for good in the last day (postdesk outbox list --status failed)",
            outbox.failed_last_day
        ));
    }
    if let Some(oldest) = outbox.oldest_queued.filter(|t| now - *t > HELD_TOO_LONG) {
        alarms.push(format!(
            "{} mail(s) queued, the oldest since {}: not delivered for over a day",
            outbox.queued,
            oldest.format("%Y-%m-%d %H:%M UTC")
        ));
    }
    if let Some(oldest) = outbox
        .oldest_waiting
        .filter(|t| now - *t > WAITING_TOO_LONG)
    {
        alarms.push(format!(
            "{} new-ticket mail(s) wait for their suggestions, the oldest since {}: is the daemon running? (postdesk outbox flush sends them)",
            outbox.waiting,
            oldest.format("%Y-%m-%d %H:%M UTC")
        ));
    }
    for held in &figures.held {
        if NEEDS_OPERATOR.contains(&held.kind.as_str()) && now - held.oldest > HELD_TOO_LONG {
            alarms.push(format!(
                "{} message(s) held in quarantine as {}, the oldest since {} (postdesk quarantine list)",
                held.count,
                held.kind,
                held.oldest.format("%Y-%m-%d %H:%M UTC")
            ));
        }
    }
    Health {
        at: now,
        healthy: alarms.is_empty(),
        alarms,
        sources,
        transport: config.transport.kind().to_string(),
        database: config.service.database.display().to_string(),
        figures,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{HeldFigure, OutboxFigures};
    use std::sync::Arc;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn config() -> Arc<Config> {
        let toml = "[[source]]\nname = \"pop\"\nkind = \"pop3\"\nhost = \"mail.example\"\n\
                    user = \"u\"\npassword_env = \"X\"\n\n[status]\nsource_alarm = \"30m\"\n";
        Arc::new(
            Config::from_toml(toml, "test.toml", std::path::Path::new("/etc/postdesk")).unwrap(),
        )
    }

    fn failing(since: &str) -> SourceHealth {
        SourceHealth {
            source: "pop".into(),
            last_error: Some("mail.example refused the login as u: [AUTHENTICATIONFAILED]".into()),
            failing_since: Some(at(since)),
            failures: 7,
            ..SourceHealth::default()
        }
    }

    #[test]
    fn alarms_follow_the_thresholds() {
        let now = at("2026-12-01T12:00:00Z");
        let held = |kind: &str, oldest: &str| HeldFigure {
            kind: kind.into(),
            count: 2,
            oldest: at(oldest),
        };
        #[rustfmt::skip]
        let cases: Vec<(&str, DeskFigures, Option<&str>)> = vec![
            ("nothing recorded", DeskFigures::default(), None),
            ("failing 29 minutes", DeskFigures { sources: vec![failing("2026-12-01T11:31:00Z")], ..Default::default() }, None),
            ("failing 31 minutes", DeskFigures { sources: vec![failing("2026-12-01T11:29:00Z")], ..Default::default() }, Some("source pop failing since 2026-12-01 11:29 UTC (7 failures in a row): mail.example refused")),
            ("a failed mail", DeskFigures { outbox: OutboxFigures { failed_last_day: 1, failed_total: 3, ..Default::default() }, ..Default::default() }, Some("1 mail(s) failed for good")),
            ("failed long ago only", DeskFigures { outbox: OutboxFigures { failed_total: 3, ..Default::default() }, ..Default::default() }, None),
            ("queued 2 days", DeskFigures { outbox: OutboxFigures { queued: 4, oldest_queued: Some(at("2026-11-29T12:00:00Z")), ..Default::default() }, ..Default::default() }, Some("4 mail(s) queued")),
            ("queued an hour", DeskFigures { outbox: OutboxFigures { queued: 4, oldest_queued: Some(at("2026-12-01T11:00:00Z")), ..Default::default() }, ..Default::default() }, None),
            ("waiting 20 minutes", DeskFigures { outbox: OutboxFigures { waiting: 2, oldest_waiting: Some(at("2026-12-01T11:40:00Z")), ..Default::default() }, ..Default::default() }, Some("2 new-ticket mail(s) wait for their suggestions, the oldest since 2026-12-01 11:40 UTC")),
            ("waiting 10 minutes", DeskFigures { outbox: OutboxFigures { waiting: 2, oldest_waiting: Some(at("2026-12-01T11:50:00Z")), ..Default::default() }, ..Default::default() }, None),
            ("unreadable for 2 days", DeskFigures { held: vec![held("unreadable", "2026-11-29T00:00:00Z")], ..Default::default() }, Some("2 message(s) held in quarantine as unreadable")),
            ("unreadable since this morning", DeskFigures { held: vec![held("unreadable", "2026-12-01T08:00:00Z")], ..Default::default() }, None),
            ("spam for a week", DeskFigures { held: vec![held("spam", "2026-11-24T00:00:00Z")], ..Default::default() }, None),
        ];
        for (name, figures, want) in cases {
            let h = assess(&config(), figures, now);
            match want {
                None => assert!(h.healthy && h.alarms.is_empty(), "{name}: {:?}", h.alarms),
                Some(text) => {
                    assert!(!h.healthy, "{name}");
                    assert!(
                        h.alarms.len() == 1 && h.alarms[0].starts_with(text),
                        "{name}: {:?}",
                        h.alarms
                    );
                }
            }
        }
    }

    #[test]
    fn every_configured_source_is_listed_even_before_its_first_round() {
        let h = assess(
            &config(),
            DeskFigures::default(),
            at("2026-12-01T12:00:00Z"),
        );
        assert_eq!(h.sources.len(), 1);
        assert_eq!(
            (h.sources[0].name.as_str(), h.sources[0].kind),
            ("pop", "pop3")
        );
        assert_eq!(h.sources[0].health.last_ok, None);
    }
}
