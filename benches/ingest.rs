//! Intake benchmark: 10,000 synthetic but realistic messages (70% new
//! tickets, 30% follow-ups by token from the ticket's requester, 1–4 KB
//! bodies, some attachments) through `postdesk ingest --maildir DIR
//! --remove`, every message durable before its file is removed. Prints
//! messages/second (median of runs) and the peak resident memory of the
//! postdesk process.
//!
//! The desk has a staff notification address, so every message also
//! queues its staff notification (with the customer's files attached).
//!
//! Senders are unknown (`unknown_sender = "accept"`), or — the "accounts"
//! runs — every one matched through 10,000 accounts declared in an
//! `accounts_file` (applied to the database before the timed run), which
//! measures what the accounts cost per message (identify's indexed
//! lookups) and at start (reading the file; applying it the first time).
//!
//! `cargo bench --bench ingest` (env BENCH_MESSAGES, BENCH_RUNS to change).

use std::path::Path;
use std::process::Command;
use std::time::Instant;

const WORDS: &[&str] = &[
    "server",
    "backup",
    "invoice",
    "password",
    "mailbox",
    "DNS",
    "certificate",
    "renewal",
    "login",
    "error",
    "timeout",
    "please",
    "urgent",
    "since",
    "yesterday",
    "customer",
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
    "configuration",
    "thanks",
];

/// xorshift64*: deterministic, so every run ingests the same mail.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
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

fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for (i, c) in data.chunks(3).enumerate() {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for k in 0..4 {
            if k <= c.len() {
                out.push(T[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
        if i % 19 == 18 {
            out.push_str("\r\n");
        }
    }
    out
}

/// Writes `n` messages into `dir/new`, in the order the importer reads them.
fn generate(dir: &Path, n: usize) -> usize {
    for sub in ["tmp", "new", "cur"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    // The requester of each ticket, so that a follow-up comes from someone
    // entitled to it (intake.check_sender).
    let mut owners: Vec<u64> = Vec::new();
    let mut bytes = 0;
    for i in 0..n {
        let mut sender = rng.below(2000);
        let follow_up = !owners.is_empty() && rng.below(10) < 3;
        let subject = if follow_up {
            let t = rng.below(owners.len() as u64);
            sender = owners[t as usize];
            format!("Re: [SUPPORT #{}] Problem report", 1 + t)
        } else {
            owners.push(sender);
            format!("Problem report {i}: {}", text(&mut rng, 30).trim())
        };
        let body_len = 1024 + rng.below(3072) as usize;
        let body = text(&mut rng, body_len);
        let head = format!(
            "Return-Path: <user{sender}@customer{}.example>\r\nReceived: from mx.customer.example by mx.desk.example; Mon, 16 Nov 2026 10:00:00 +0100\r\n\
From: User {sender} <user{sender}@customer{}.example>\r\nTo: support@localhost\r\nSubject: {subject}\r\n\
Date: Mon, 16 Nov 2026 10:00:00 +0100\r\nMessage-ID: <bench-{i}@customer.example>\r\nMIME-Version: 1.0\r\n",
            sender % 300,
            sender % 300
        );
        let mail = if rng.below(10) == 0 {
            let size = 2048 + rng.below(16384) as usize;
            let blob: Vec<u8> = (0..size).map(|_| rng.next() as u8).collect();
            format!(
                "{head}Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n\
--b{i}\r\nContent-Type: application/pdf; name=\"report-{i}.pdf\"\r\nContent-Disposition: attachment; filename=\"report-{i}.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--b{i}--\r\n",
                base64(&blob)
            )
        } else {
            format!("{head}Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n")
        };
        bytes += mail.len();
        std::fs::write(
            dir.join("new")
                .join(format!("{:012}.M{i}.bench", 1_700_000_000 + i)),
            mail,
        )
        .unwrap();
    }
    bytes
}

fn peak_rss_kib() -> i64 {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    usage.ru_maxrss
}

struct Run {
    secs: f64,
    tickets: usize,
    /// Tickets filed under an account.
    with_account: usize,
}

/// Accounts in the "accounts" runs.
const ACCOUNTS: usize = 10_000;

/// An accounts file of `ACCOUNTS` accounts. The 300 customer domains the
/// generated senders write from are authorized (by domain) on accounts
/// spread among the others, each of which has a primary address, an
/// authorized address, its domain and a wildcard, so the sender tables hold
/// some 30,000 rows.
fn accounts_file(path: &Path) {
    let mut out = String::with_capacity(ACCOUNTS * 160);
    for k in 0..ACCOUNTS {
        let domain = if k % 33 == 0 && k / 33 < 300 {
            format!("customer{}.example", k / 33)
        } else {
            format!("filler{k}.example")
        };
        out.push_str(&format!(
            "[[account]]\nid = \"acct-{k}\"\nprimary = \"admin@{domain}\"\n\
             authorized = [\"ops@{domain}\", \"{domain}\", \"*.{domain}\"]\n"
        ));
    }
    std::fs::write(path, out).unwrap();
}

/// A desk config in `dir`; with `accounts`, an accounts file too.
fn desk_config(dir: &Path, batch: usize, accounts: bool) -> std::path::PathBuf {
    let config = dir.join("postdesk.toml");
    let top = if accounts {
        accounts_file(&dir.join("accounts.toml"));
        "accounts_file = \"accounts.toml\"\n"
    } else {
        ""
    };
    std::fs::write(
        &config,
        format!(
            "{top}[service]\ndatabase = \"db/postdesk.db\"\n[transport]\nkind = \"maildir\"\npath = \"sent\"\n\
             [intake]\nbatch_size = {batch}\nunknown_sender = \"accept\"\n\
             [staff]\nnotify = [\"team@desk.example\"]\n"
        ),
    )
    .unwrap();
    config
}

fn run(bin: &str, n: usize, batch: usize, queue_only: bool, accounts: bool) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("import");
    generate(&maildir, n);
    let config = desk_config(dir.path(), batch, accounts);
    if accounts {
        // Applied once, as at a desk's first start; measured on its own below.
        let empty = dir.path().join("empty");
        for sub in ["tmp", "new", "cur"] {
            std::fs::create_dir_all(empty.join(sub)).unwrap();
        }
        startup(bin, &config, &empty);
    }
    let mut cmd = Command::new(bin);
    cmd.args([
        "-c",
        config.to_str().unwrap(),
        "ingest",
        "-q",
        "--remove",
        "--maildir",
        maildir.to_str().unwrap(),
    ]);
    if queue_only {
        cmd.arg("--queue-only");
    }
    let start = Instant::now();
    let status = cmd.status().unwrap();
    let secs = start.elapsed().as_secs_f64();
    assert!(status.success(), "postdesk ingest failed: {status:?}");
    let left = std::fs::read_dir(maildir.join("new")).unwrap().count();
    assert_eq!(left, 0, "every file taken");
    let store = postdesk::store::Store::open(&dir.path().join("db/postdesk.db")).unwrap();
    assert_eq!(
        store.read().message_count().unwrap(),
        n as i64,
        "every message stored"
    );
    let tickets = store.read().tickets(&Default::default()).unwrap();
    Run {
        secs,
        tickets: tickets.len(),
        with_account: tickets.iter().filter(|t| t.account.is_some()).count(),
    }
}

/// Seconds for one `postdesk ingest` of an empty Maildir: start-up alone
/// (config and accounts file read, declared accounts checked), as each
/// message piped in by an MTA pays it.
fn startup(bin: &str, config: &Path, maildir: &Path) -> f64 {
    let start = Instant::now();
    let status = Command::new(bin)
        .args(["-c", config.to_str().unwrap(), "ingest", "-q", "--maildir"])
        .arg(maildir)
        .status()
        .unwrap();
    assert!(status.success());
    start.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    // `cargo test --benches` runs this file too; only measure under `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let bin = env!("CARGO_BIN_EXE_postdesk");
    let n: usize = std::env::var("BENCH_MESSAGES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let sample = tempfile::tempdir().unwrap();
    let bytes = generate(sample.path(), n);
    println!(
        "ingest bench: {n} messages, {:.1} MB, {runs} runs each, binary {bin}",
        bytes as f64 / 1e6
    );

    let report =
        |label: &str, n: usize, batch: usize, queue_only: bool, accounts: bool, runs: usize| {
            let results: Vec<Run> = (0..runs)
                .map(|_| run(bin, n, batch, queue_only, accounts))
                .collect();
            let rates: Vec<f64> = results.iter().map(|r| n as f64 / r.secs).collect();
            let med = median(rates.clone());
            println!(
                "{label:<52} median {med:>8.0} msg/s  (runs: {})  tickets {} ({} with an account)",
                rates
                    .iter()
                    .map(|r| format!("{r:.0}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                results[0].tickets,
                results[0].with_account,
            );
            med
        };
    // Without and with accounts, run in turns: each run leaves a large
    // database being flushed behind it, which slows whichever run is next.
    let (mut plain, mut matched) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        plain.push(run(bin, n, 200, true, false));
        matched.push(run(bin, n, 200, true, true));
    }
    let show = |label: &str, results: &[Run]| {
        let rates: Vec<f64> = results.iter().map(|r| n as f64 / r.secs).collect();
        let med = median(rates.clone());
        println!(
            "{label:<52} median {med:>8.0} msg/s  (runs: {})  tickets {} ({} with an account)",
            rates
                .iter()
                .map(|r| format!("{r:.0}"))
                .collect::<Vec<_>>()
                .join(", "),
            results[0].tickets,
            results[0].with_account,
        );
        med
    };
    let base = show("intake only (batch 200, receipts queued)", &plain);
    let with_accounts = show(
        &format!("same, senders matched among {ACCOUNTS} accounts"),
        &matched,
    );
    println!(
        "accounts cost: {:.1}% of intake throughput (reading the accounts file included)",
        100.0 * (1.0 - with_accounts / base)
    );
    report(
        "intake + receipts delivered to Maildir",
        n,
        200,
        false,
        false,
        runs,
    );
    let small = n.min(1000);
    let single = report(
        &format!("one commit per message ({small} messages)"),
        small,
        1,
        true,
        false,
        1,
    );
    println!("batching gain: {:.1}x", base / single);

    // Start-up of one `ingest`, with and without the accounts file; the
    // first start applies the 10,000 accounts to a new database.
    for accounts in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let config = desk_config(dir.path(), 200, accounts);
        let empty = dir.path().join("empty");
        for sub in ["tmp", "new", "cur"] {
            std::fs::create_dir_all(empty.join(sub)).unwrap();
        }
        let first = startup(bin, &config, &empty);
        let again: Vec<f64> = (0..7).map(|_| startup(bin, &config, &empty)).collect();
        println!(
            "ingest start-up, {:<22} first {:>7.1} ms, then median {:>6.1} ms",
            if accounts {
                format!("{ACCOUNTS} accounts:")
            } else {
                "no accounts:".to_string()
            },
            first * 1e3,
            median(again) * 1e3
        );
    }
    println!(
        "peak RSS of postdesk: {:.1} MiB",
        peak_rss_kib() as f64 / 1024.0
    );
}
