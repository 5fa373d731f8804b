//! Long-thread benchmark (issue 17, finding 7): the cost of intake per
//! message must not grow with the length of the ticket it joins, and the
//! database must grow linearly with the messages.
//!
//! One ticket, then 10,000 follow-ups from its requester (1–4 KB of text
//! each, by token), taken through the library's intake (`Pipeline::take`,
//! what `postdesk ingest` and the daemon run) into a database on disk. The
//! desk has a staff notification address, so every follow-up also queues a
//! staff notification carrying the ticket's history. Follow-ups 1–1,000
//! and 9,001–10,000 are timed in batches of `BENCH_BATCH` (default 50, one
//! transaction each, as intake commits a batch); the others are taken
//! untimed in batches of 200. Prints the median cost per message of each
//! window and their ratio (aim: within 1.5×), the database size after
//! follow-up 1,000 and after 10,000 (aim: 10×, linear), and the size of the
//! newest staff notification at both points (flat when bounded).
//!
//! `cargo bench --bench long_thread` (env BENCH_FOLLOWUPS, BENCH_BATCH).
//! No assertion on time: the machine it runs on is whatever it is.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use postdesk::config::Config;
use postdesk::intake::{Pipeline, RawMail};
use postdesk::store::Store;

const WORDS: &[&str] = &[
    "server",
    "backup",
    "invoice",
    "password",
    "mailbox",
    "DNS",
    "renewal",
    "login",
    "error",
    "timeout",
    "please",
    "since",
    "yesterday",
    "database",
    "upgrade",
    "the",
    "a",
    "is",
    "not",
    "working",
    "again",
    "after",
    "we",
    "changed",
    "thanks",
    "über",
    "réseau",
    "città",
];

/// xorshift64*: deterministic, so every run takes the same mail.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

fn text(rng: &mut Rng, bytes: usize) -> String {
    let mut s = String::with_capacity(bytes + 80);
    let mut line = 0;
    while s.len() < bytes {
        let w = WORDS[rng.below(WORDS.len() as u64) as usize];
        s.push_str(w);
        line += w.len() + 1;
        if line > 70 {
            s.push_str("\r\n");
            line = 0;
        } else {
            s.push(' ');
        }
    }
    s
}

/// Message `i` of the thread: 0 opens ticket #1, the others follow it up.
fn mail(rng: &mut Rng, i: usize) -> RawMail {
    let subject = if i == 0 {
        "Backups fail every night".to_string()
    } else {
        "Re: [BENCH #1] Backups fail every night".to_string()
    };
    let len = 1024 + rng.below(3072) as usize;
    let body = text(rng, len);
    let raw = format!(
        "Return-Path: <ann@customer.example>\r\nFrom: Ann Customer <ann@customer.example>\r\n\
To: support@desk.example\r\nSubject: {subject}\r\nDate: Mon, 16 Nov 2026 10:00:00 +0100\r\n\
Message-ID: <thread-{i}@customer.example>\r\nMIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n"
    );
    RawMail {
        source: "bench".into(),
        source_id: None,
        raw: raw.into_bytes(),
    }
}

/// The database's bytes on disk, its write-ahead log folded in: the
/// store is closed (the last connection checkpoints and removes the log)
/// and opened again.
fn db_bytes(desk: &mut Desk, db: &Path) -> u64 {
    drop(std::mem::replace(
        &mut desk.store,
        Store::open_in_memory().unwrap(),
    ));
    let wal = db.with_extension("db-wal");
    let bytes = [db, wal.as_path()]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    desk.store = Store::open(db).unwrap();
    bytes
}

/// CPU seconds this process has used (user and system).
fn cpu_seconds() -> f64 {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

/// The size of the newest mail in the outbox (a staff notification).
fn newest_mail_bytes(store: &Store) -> usize {
    let newest = store.read().outbox(None, 1).unwrap();
    newest
        .first()
        .and_then(|e| store.read().outbox_entry(e.id).unwrap())
        .map_or(0, |e| e.raw.len())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

struct Desk {
    pipeline: Pipeline,
    store: Store,
    rng: Rng,
    next: usize,
    at: DateTime<Utc>,
}

impl Desk {
    /// Takes messages `next..next + n` in batches of `batch`: the time per
    /// message of each batch, and the CPU time per message of them all.
    fn take(&mut self, n: usize, batch: usize) -> (Vec<f64>, f64) {
        let cpu = cpu_seconds();
        let mut per_message = Vec::new();
        let end = self.next + n;
        while self.next < end {
            let size = batch.min(end - self.next);
            let mails: Vec<RawMail> = (self.next..self.next + size)
                .map(|i| mail(&mut self.rng, i))
                .collect();
            self.at += Duration::minutes(1);
            let start = Instant::now();
            self.pipeline
                .take(&mut self.store, &mails, self.at)
                .unwrap();
            per_message.push(start.elapsed().as_secs_f64() / size as f64);
            self.next += size;
        }
        (per_message, (cpu_seconds() - cpu) / n as f64)
    }
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // `cargo test --benches` runs this file too; only measure under `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let total = env("BENCH_FOLLOWUPS", 10_000).max(2_000);
    let batch = env("BENCH_BATCH", 50).max(1);
    let window = total / 10;
    let dir = tempfile::tempdir().unwrap();
    let toml = "[service]\naddress = \"support@desk.example\"\nticket_prefix = \"BENCH\"\n\
                database = \"postdesk.db\"\n[transport]\nkind = \"maildir\"\npath = \"sent\"\n\
                [intake]\nunknown_sender = \"accept\"\n\
                [staff]\nnotify = [\"team@desk.example\"]\n";
    let config = Arc::new(Config::from_toml(toml, "bench", dir.path()).unwrap());
    let db = config.service.database.clone();
    let mut desk = Desk {
        pipeline: Pipeline::new(config, [9; 32]).unwrap(),
        store: Store::open(&db).unwrap(),
        rng: Rng(0x9E37_79B9_7F4A_7C15),
        next: 0,
        at: DateTime::parse_from_rfc3339("2026-11-16T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc),
    };
    println!(
        "long-thread bench: 1 ticket, {total} follow-ups, timed in batches of {batch}; database {}",
        db.display()
    );
    desk.take(1, 1);
    let (first, cpu_first) = desk.take(window, batch);
    let mail_first = newest_mail_bytes(&desk.store);
    let db_first = db_bytes(&mut desk, &db);
    desk.take(total - 2 * window, 200);
    let (last, cpu_last) = desk.take(window, batch);
    let mail_last = newest_mail_bytes(&desk.store);
    let db_last = db_bytes(&mut desk, &db);
    assert_eq!(desk.store.read().ticket_count().unwrap(), 1, "one ticket");

    let (a, b) = (median(first), median(last));
    for (from, to, median, cpu) in [
        (1, window, a, cpu_first),
        (total - window + 1, total, b, cpu_last),
    ] {
        println!(
            "follow-ups {from:>5}-{to:<5} median {:>7.3} ms per message (CPU {:.3} ms)",
            median * 1e3,
            cpu * 1e3
        );
    }
    println!(
        "ratio last/first: {:.2}x wall, {:.2}x CPU (aim: at most 1.5x)",
        b / a,
        cpu_last / cpu_first
    );
    println!(
        "database after {window}: {:.1} MB ({:.1} KB per message); after {total}: {:.1} MB ({:.1} KB per message); ratio {:.2}x for {}x the messages",
        db_first as f64 / 1e6,
        db_first as f64 / 1e3 / (window + 1) as f64,
        db_last as f64 / 1e6,
        db_last as f64 / 1e3 / (total + 1) as f64,
        db_last as f64 / db_first as f64,
        total / window
    );
    println!(
        "newest staff notification: {mail_first} bytes after {window}, {mail_last} bytes after {total}"
    );
}
