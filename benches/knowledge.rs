//! Knowledge base and search benchmark (issue 15):
//!
//! 1. suggestion time per new ticket with 10,000 articles and 100,000
//!    closed tickets indexed (`ticket::knowledge::suggest`, what the staff
//!    notification of a new ticket runs; aim: under 5 ms);
//! 2. `ticket search` time over 100,000 tickets of one message each
//!    (`Reader::search_tickets`);
//! 3. ingest throughput (`postdesk ingest --maildir`) with the knowledge
//!    base on (10,000 articles, suggestions in every staff notification)
//!    and off (aim: within 10%); with it on, intake leaves the lookup to
//!    the daemon's indexer, so `outbox flush` after it is timed too (the
//!    moved work, per ticket).
//!
//! `cargo bench --bench knowledge` (env BENCH_ARTICLES, BENCH_TICKETS,
//! BENCH_MESSAGES, BENCH_RUNS); `cargo bench --bench knowledge -- --test`
//! runs it once with small numbers. No assertion on time.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use chrono::{DateTime, Utc};
use postdesk::domain::{Address, Language, Status, TicketId};
use postdesk::store::search::{SearchFilter, match_all};
use postdesk::store::{KnowledgeEntry, KnowledgeKind, NewMessage, Store};

const WORDS: &[&str] = &[
    "server",
    "backup",
    "invoice",
    "password",
    "mailbox",
    "dns",
    "certificate",
    "renewal",
    "login",
    "error",
    "timeout",
    "database",
    "upgrade",
    "domain",
    "transfer",
    "quota",
    "disk",
    "spam",
    "filter",
    "forward",
    "php",
    "version",
    "ftp",
    "upload",
    "mysql",
    "restore",
    "wordpress",
    "plugin",
    "cron",
    "redirect",
    "webmail",
    "imap",
    "smtp",
    "relay",
    "bounce",
    "ssl",
    "https",
    "cache",
    "cdn",
    "firewall",
    "port",
    "ssh",
    "key",
    "billing",
    "card",
    "refund",
    "contract",
    "migration",
    "subdomain",
    "alias",
    "mot",
    "passe",
    "boîte",
    "posta",
    "casella",
    "fattura",
    "facture",
    "réseau",
    "città",
    "über",
];

/// xorshift64*: the same data every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// `n` words: one in four from the hosting words above, the rest from a
    /// vocabulary of 20,000 made-up words drawn log-uniformly (a few
    /// common, most rare, as in real text).
    fn words(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| {
                if self.below(4) == 0 {
                    WORDS[self.below(WORDS.len())].to_string()
                } else {
                    let u = (self.next() % 1_000_000) as f64 / 1e6;
                    let rank = (u * (20_000f64).ln()).exp() as u64;
                    format!("w{rank:x}q")
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn percentile(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() - 1) as f64 * p) as usize]
}

fn article(rng: &mut Rng, i: usize) -> (String, String) {
    let lang = ["en", "fr", "it"][i % 3];
    let text = format!(
        "{} {i}\ntags: {}\nlanguage: {lang}\n\n{}\n",
        rng.words(5),
        rng.words(3).replace(' ', ", "),
        rng.words(120)
    );
    (format!("article-{i}"), text)
}

/// A store with `tickets` closed tickets of one message each (all in the
/// search index), `articles` articles and one lesson per closed ticket.
fn fill(path: &Path, articles: usize, tickets: usize) -> Store {
    let mut store = Store::open(path).unwrap();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let at: DateTime<Utc> = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let requester = Address::parse("customer@bench.example").unwrap();
    let limits = postdesk::parse::ParseLimits {
        max_size: 1 << 20,
        max_depth: 10,
        max_parts: 100,
    };
    store
        .write(|tx| {
            tx.insert_synthetic_tickets(tickets as u64, Status::Closed, at, None, &requester)
        })
        .unwrap();
    for chunk in (1..=tickets).collect::<Vec<_>>().chunks(5_000) {
        store
            .write(|tx| {
                for &i in chunk {
                    let subject = rng.words(4);
                    let body = rng.words(150);
                    let raw = format!(
                        "From: Customer {i} <c{i}@bench.example>\r\nTo: support@desk.example\r\n\
Subject: {subject}\r\nMessage-ID: <b{i}@bench.example>\r\nDate: Mon, 16 Nov 2026 10:00:00 +0000\r\n\r\n{body}\r\n"
                    );
                    let inbound = postdesk::parse::parse(raw.as_bytes(), &limits).unwrap();
                    tx.insert_message(&NewMessage {
                        raw: raw.as_bytes(),
                        inbound: &inbound,
                        source: "bench",
                        ticket: Some(TicketId(i as i64)),
                        received_at: at,
                    })?;
                    tx.put_knowledge(&KnowledgeEntry {
                        kind: KnowledgeKind::Ticket,
                        name: format!("ticket-{i}"),
                        title: subject,
                        tags: Vec::new(),
                        language: None,
                        body: format!("{}\n\n{}", body, rng.words(60)),
                        ticket: Some(TicketId(i as i64)),
                        digest: String::new(),
                        updated: at,
                    })?;
                }
                Ok::<_, postdesk::store::StoreError>(())
            })
            .unwrap();
    }
    // What the daemon's indexer does in the background.
    let start = Instant::now();
    let indexed = store.index_all_pending().unwrap();
    println!(
        "search index: {indexed} messages indexed in {:.2} s ({:.3} ms each)",
        start.elapsed().as_secs_f64(),
        start.elapsed().as_secs_f64() * 1e3 / indexed.max(1) as f64
    );
    store
        .write(|tx| {
            for i in 0..articles {
                let (name, text) = article(&mut rng, i);
                let a = postdesk::domain::knowledge::Article::parse(&text).unwrap();
                tx.put_knowledge(&KnowledgeEntry {
                    kind: KnowledgeKind::Article,
                    name,
                    title: a.title,
                    tags: a.tags,
                    language: a.language.map(|l| l.as_str().to_string()),
                    body: a.body,
                    ticket: None,
                    digest: i.to_string(),
                    updated: at,
                })?;
            }
            Ok::<_, postdesk::store::StoreError>(())
        })
        .unwrap();
    store
}

/// A desk config in `dir`, with the knowledge base folder `kb` or none.
fn desk_config(dir: &Path, kb: Option<&Path>) -> std::path::PathBuf {
    let config = dir.join("postdesk.toml");
    let knowledge = kb
        .map(|p| format!("[knowledge]\npath = \"{}\"\n", p.display()))
        .unwrap_or_default();
    std::fs::write(
        &config,
        format!(
            "[service]\ndatabase = \"db/postdesk.db\"\n[transport]\nkind = \"maildir\"\npath = \"sent\"\n\
             [intake]\nbatch_size = 200\nunknown_sender = \"accept\"\n\
             [staff]\nnotify = [\"team@desk.example\"]\n{knowledge}"
        ),
    )
    .unwrap();
    config
}

/// Seconds for `postdesk ingest --maildir` of `n` new tickets, then for
/// `postdesk outbox flush` (with the knowledge base on, it first does
/// what the daemon's indexer does in the background: the staff
/// notifications with their suggestions; then it delivers every mail).
fn ingest(bin: &str, n: usize, kb: Option<&Path>) -> (f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("import");
    for sub in ["tmp", "new", "cur"] {
        std::fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    let mut rng = Rng(42);
    for i in 0..n {
        let raw = format!(
            "From: c{i}@bench.example\r\nTo: support@desk.example\r\nSubject: {}\r\n\
Message-ID: <i{i}@bench.example>\r\nDate: Mon, 16 Nov 2026 10:00:00 +0000\r\n\r\n{}\r\n",
            rng.words(5),
            rng.words(200)
        );
        std::fs::write(maildir.join("new").join(format!("{i}.eml")), raw).unwrap();
    }
    let config = desk_config(dir.path(), kb);
    let status = Command::new(bin)
        .args(["-c", config.to_str().unwrap(), "kb", "reindex"])
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let start = Instant::now();
    let status = Command::new(bin)
        .args([
            "-c",
            config.to_str().unwrap(),
            "ingest",
            "-q",
            "--queue-only",
            "--remove",
        ])
        .arg("--maildir")
        .arg(&maildir)
        .status()
        .unwrap();
    assert!(status.success());
    let took = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let status = Command::new(bin)
        .args(["-c", config.to_str().unwrap(), "outbox", "flush"])
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    (took, start.elapsed().as_secs_f64())
}

fn main() {
    let test = std::env::args().any(|a| a == "--test");
    if !test && !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let small = |full: usize, small: usize| if test { small } else { full };
    let articles = env("BENCH_ARTICLES", small(10_000, 300));
    let tickets = env("BENCH_TICKETS", small(100_000, 1_000));
    let messages = env("BENCH_MESSAGES", small(2_000, 40));
    let runs = env("BENCH_RUNS", small(3, 1));

    let dir = tempfile::tempdir().unwrap();
    let start = Instant::now();
    let store = fill(&dir.path().join("kb.db"), articles, tickets);
    println!(
        "knowledge bench: {articles} articles, {tickets} closed tickets (one message and one lesson each), filled in {:.1} s",
        start.elapsed().as_secs_f64()
    );

    // 1. Suggestions for new tickets of 20-60 words.
    let k = postdesk::config::Knowledge {
        learn_from_closed: true,
        ..Default::default()
    };
    let mut rng = Rng(7);
    let mut times = Vec::new();
    let mut found = 0;
    for i in 0..200 {
        let text = format!("{}\n{}", rng.words(5), rng.words(20 + i % 40));
        let t = Instant::now();
        let got = postdesk::ticket::knowledge::suggest(
            &store.read(),
            &k,
            &text,
            Language::En,
            None,
            postdesk::ticket::knowledge::Audience::Staff,
        )
        .unwrap();
        times.push(t.elapsed().as_secs_f64() * 1e3);
        found += got.len();
    }
    println!(
        "suggestion per new ticket: median {:.2} ms, p95 {:.2} ms, max {:.2} ms ({found} suggestions for 200 tickets)",
        percentile(times.clone(), 0.5),
        percentile(times.clone(), 0.95),
        percentile(times, 1.0)
    );

    // 2. Search over the tickets' mail: one to three words.
    let mut times = Vec::new();
    for i in 0..200 {
        let query = match_all(&rng.words(1 + i % 3)).unwrap();
        let t = Instant::now();
        let hits = store
            .read()
            .search_tickets(
                &query,
                &SearchFilter {
                    limit: 20,
                    ..Default::default()
                },
            )
            .unwrap();
        times.push(t.elapsed().as_secs_f64() * 1e3);
        assert!(hits.len() <= 20);
    }
    println!(
        "ticket search (20 hits): median {:.2} ms, p95 {:.2} ms",
        percentile(times.clone(), 0.5),
        percentile(times, 0.95)
    );
    drop(store);

    // 3. Ingest with the knowledge base off and on, in turns.
    let bin = env!("CARGO_BIN_EXE_postdesk");
    let folder = dir.path().join("articles");
    std::fs::create_dir_all(&folder).unwrap();
    let mut rng = Rng(99);
    for i in 0..articles {
        let (name, text) = article(&mut rng, i);
        std::fs::write(folder.join(format!("{name}.md")), text).unwrap();
    }
    let (mut off, mut on) = (Vec::new(), Vec::new());
    let (mut flush_off, mut flush_on) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let (took, flush) = ingest(bin, messages, None);
        off.push(messages as f64 / took);
        flush_off.push(flush);
        let (took, flush) = ingest(bin, messages, Some(&folder));
        on.push(messages as f64 / took);
        flush_on.push(flush);
    }
    let (off, on) = (percentile(off, 0.5), percentile(on, 0.5));
    println!(
        "ingest of {messages} new tickets: knowledge base off {off:.0} msg/s, on ({articles} articles) {on:.0} msg/s ({:+.1}%)",
        (on / off - 1.0) * 100.0
    );
    // The work moved off intake's path, still done: not hidden.
    let (flush_off, flush_on) = (percentile(flush_off, 0.5), percentile(flush_on, 0.5));
    println!(
        "then outbox flush (knowledge base on: the staff notifications with suggestions first): off {:.2} ms/ticket, on {:.2} ms/ticket",
        flush_off * 1e3 / messages as f64,
        flush_on * 1e3 / messages as f64
    );
}
