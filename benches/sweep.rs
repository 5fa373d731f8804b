//! Sweep benchmark: a database of 1,000,000 tickets of which 1,000 are due
//! for their first inactivity warning. Prints the time of one sweep that
//! warns those 1,000 (2,000 mails composed and queued, one per side), and
//! of a sweep with nothing due — medians over several runs, each on a
//! fresh copy of the same database.
//!
//! The 1,000 due tickets come in through the real intake (a customer's
//! mail, a receipt); the other 999,000 are bulk-inserted by a store helper,
//! waiting for staff with their deadline two days ahead.
//!
//! `cargo bench --bench sweep` (env BENCH_TICKETS, BENCH_DUE, BENCH_RUNS).
//! `cargo test --all-targets` runs this file too, without `--bench`: then
//! it builds 2,000 tickets of which 100 are due and sweeps once — the same
//! checks, in a second instead of 1,000,000 tickets in 18 s and 272 MB.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use postdesk::config::Config;
use postdesk::domain::{Address, Status};
use postdesk::intake::{Pipeline, RawMail};
use postdesk::store::Store;
use postdesk::ticket::Settings;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn config(db: &Path) -> Arc<Config> {
    let text = format!(
        "[service]\naddress = \"support@desk.example\"\nticket_prefix = \"DESK\"\ndatabase = \"{}\"\n\
         [intake]\nunknown_sender = \"accept\"\n\
         [staff]\nnotify = [\"team@desk.example\"]\n[calendar]\ntimezone = \"Europe/Paris\"\n",
        db.display()
    );
    Arc::new(Config::from_toml(&text, "bench", Path::new("/")).unwrap())
}

fn customer_mail(i: usize) -> Vec<u8> {
    format!(
        "From: Customer {i} <customer{i}@example.com>\r\nTo: support@desk.example\r\n\
Subject: Server {i} does not answer\r\nMessage-ID: <bench-{i}@example.com>\r\n\
Date: Mon, 02 Nov 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\r\nHello,\r\n\r\nserver {i} has not answered since \
this morning; the backups failed too.\r\nCould you have a look?\r\n\r\nThanks,\r\nCustomer {i}\r\n"
    )
    .into_bytes()
}

fn main() {
    // `cargo bench` passes --bench to a harness = false bench; `cargo test`
    // does not: a small run that still checks the sweep works.
    let measuring = std::env::args().any(|a| a == "--bench");
    let (total, due, runs) = if measuring {
        (1_000_000, 1_000, 7)
    } else {
        (2_000, 100, 1)
    };
    let total = env("BENCH_TICKETS", total);
    let due = env("BENCH_DUE", due).min(total);
    let runs = env("BENCH_RUNS", runs);
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("template.db");
    let config = config(&template);
    let pipeline = Pipeline::new(config.clone(), [9; 32]).unwrap();
    let settings = Settings::new(&config, pipeline.desk());

    // Opened Monday 2 November 2026, 10:00 in Paris; the staff rule warns
    // two days later. The sweep runs a minute after that.
    let opened = t("2026-11-02T10:00:00+01:00");
    let now = t("2026-11-04T10:01:00+01:00");

    // ---- build the database
    let start = Instant::now();
    let mut store = Store::open(&template).unwrap();
    let mails: Vec<RawMail> = (0..due)
        .map(|i| RawMail {
            source: "bench".into(),
            source_id: None,
            raw: customer_mail(i),
        })
        .collect();
    for batch in mails.chunks(200) {
        pipeline.take(&mut store, batch, opened).unwrap();
    }
    // The rest: waiting for staff since an hour ago, deadline two days on.
    let since = now - chrono::Duration::hours(1);
    let deadline = postdesk::domain::lifecycle::plan(
        &config.inactivity,
        &config.calendar,
        Status::InProgress,
        since,
    )
    .and_then(|p| p.next_deadline(0));
    let filler = Address::parse("someone@example.net").unwrap();
    store
        .write(|tx| {
            tx.insert_synthetic_tickets(
                (total - due) as u64,
                Status::InProgress,
                since,
                deadline,
                &filler,
            )
        })
        .unwrap();
    postdesk::ticket::sweep::mark_rules_current(&mut store, &settings).unwrap();
    assert_eq!(store.read().ticket_count().unwrap(), total as i64);
    drop(store);
    let size = std::fs::metadata(&template).map(|m| m.len()).unwrap_or(0);
    println!(
        "database: {total} tickets, {due} due, {:.0} MB, built in {:.1} s",
        size as f64 / 1e6,
        start.elapsed().as_secs_f64()
    );

    // ---- sweeps, each on a fresh copy
    let mut busy = Vec::new();
    let mut idle = Vec::new();
    let mut dry = Vec::new();
    for run in 0..runs {
        let db = dir.path().join(format!("run{run}.db"));
        std::fs::copy(&template, &db).unwrap();
        // On disk before the clock starts: otherwise the sweep's first
        // checkpoint fsync would pay for writing back the whole copy.
        std::fs::File::open(&db).unwrap().sync_all().unwrap();
        let mut store = Store::open(&db).unwrap();

        let t0 = Instant::now();
        let report = postdesk::ticket::sweep::sweep(
            &mut store,
            &settings,
            now - chrono::Duration::days(1),
            false,
        )
        .unwrap();
        idle.push(t0.elapsed());
        assert!(report.actions.is_empty());

        let t0 = Instant::now();
        let report = postdesk::ticket::sweep::sweep(&mut store, &settings, now, true).unwrap();
        dry.push(t0.elapsed());
        assert_eq!(report.actions.len(), due);

        let t0 = Instant::now();
        let report = postdesk::ticket::sweep::sweep(&mut store, &settings, now, false).unwrap();
        busy.push(t0.elapsed());
        assert_eq!(report.actions.len(), due, "every due ticket warned");
        assert_eq!(report.mails(), 2 * due, "one warning to each side");

        // Done: the same instant again finds nothing.
        let again = postdesk::ticket::sweep::sweep(&mut store, &settings, now, false).unwrap();
        assert!(again.actions.is_empty());
        drop(store);
        let _ = std::fs::remove_file(&db);
    }
    println!(
        "sweep, {due} due of {total}: median {} (min {}, max {}) over {runs} runs; {} per due ticket",
        ms(median(busy.clone())),
        ms(*busy.iter().min().unwrap()),
        ms(*busy.iter().max().unwrap()),
        format_args!(
            "{:.1} µs",
            median(busy).as_secs_f64() * 1e6 / due.max(1) as f64
        ),
    );
    println!("sweep --dry-run, {due} due: median {}", ms(median(dry)));
    println!(
        "sweep with nothing due, {total} tickets: median {} (max {})",
        ms(median(idle.clone())),
        ms(*idle.iter().max().unwrap())
    );
}
