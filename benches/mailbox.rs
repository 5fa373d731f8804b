//! Mailbox benchmark: 5,000 messages in a mailbox of the local Dovecot
//! (tests/mailstack), taken by the POP3 source and by the IMAP source —
//! fetched over TLS, committed in batches, then deleted (POP3 DELE + QUIT)
//! or expunged (IMAP) — exactly the round `postdesk run` makes. Prints
//! messages/second per protocol, the median of BENCH_RUNS runs (default 3).
//!
//! tests/run-with-mailstack.sh cargo bench --bench mailbox
//! (BENCH_MESSAGES changes the count). Without the stack it says so and
//! exits 0.

use std::io::Read;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use postdesk::config::{Config, MailServer, Secret, TlsMode};
use postdesk::domain::clock::SystemClock;
use postdesk::intake::Pipeline;
use postdesk::source::net::Connector;
use postdesk::source::{Sink, imap, pop3};
use postdesk::store::Store;

fn env(k: &str) -> String {
    std::env::var(k).unwrap_or_else(|_| panic!("{k} is not set (source DIR/mailstack.env)"))
}

fn unique() -> String {
    let mut rnd = [0u8; 4];
    std::fs::File::open("/dev/urandom")
        .unwrap()
        .read_exact(&mut rnd)
        .unwrap();
    format!("{}-{:08x}", std::process::id(), u32::from_le_bytes(rnd))
}

/// Writes `n` customer messages (1-3 KB) into `address`'s INBOX as the MTA
/// would, owned by the mail user.
fn fill(mail_root: &Path, address: &str, n: usize) {
    use std::os::unix::fs::{MetadataExt, chown};
    let meta = std::fs::metadata(mail_root).unwrap();
    let own = |p: &Path| chown(p, Some(meta.uid()), Some(meta.gid())).unwrap();
    let (local, domain) = address.split_once('@').unwrap();
    let mut dir = mail_root.to_path_buf();
    for part in [domain, local, "Maildir"] {
        dir.push(part);
        if !dir.exists() {
            std::fs::create_dir(&dir).unwrap();
            own(&dir);
        }
    }
    for sub in ["tmp", "new", "cur"] {
        if !dir.join(sub).exists() {
            std::fs::create_dir(dir.join(sub)).unwrap();
            own(&dir.join(sub));
        }
    }
    let body = "The backup failed again after the upgrade; please have a look.\r\n".repeat(50);
    let tag = unique();
    for i in 0..n {
        let raw = format!(
            "From: Customer {i} <c{}@bench.test>\r\nTo: {address}\r\nSubject: Backup {i}\r\n\
             Message-ID: <{tag}.{i}@bench.test>\r\nDate: Mon, 16 Nov 2026 10:00:00 +0100\r\n\
             MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{}",
            i % 211,
            &body[..1000 + (i * 37) % 2000]
        );
        let name = format!("{tag}.{i:06}.bench");
        let tmp = dir.join("tmp").join(&name);
        std::fs::write(&tmp, raw).unwrap();
        own(&tmp);
        std::fs::rename(&tmp, dir.join("new").join(&name)).unwrap();
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    // `cargo test --all-targets` runs this file too; only measure under
    // `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    if std::env::var_os("MAILSTACK_SMTP_PORT").is_none() {
        println!("mailbox bench skipped: no mail stack (run under tests/run-with-mailstack.sh)");
        return;
    }
    let n: usize = std::env::var("BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000);
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let mail_root = std::path::PathBuf::from(env("MAILSTACK_MAIL_ROOT"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pw"), env("MAILSTACK_MASTER_PASSWORD")).unwrap();

    let mut results = Vec::new();
    for protocol in ["pop3", "imap"] {
        let mut rates = Vec::new();
        for run in 0..runs {
            let address = format!("bench-{protocol}-{}@example.test", unique());
            fill(&mail_root, &address, n);
            let db = dir.path().join(format!("{protocol}-{run}.db"));
            let config = Config::from_toml(
                &format!(
                    "[service]\naddress = \"support@bench.test\"\ndatabase = \"{}\"\n\
                     [intake]\nconfirm_receipt = false\nunknown_sender = \"accept\"\n",
                    db.display()
                ),
                "bench",
                dir.path(),
            )
            .unwrap();
            let server = MailServer {
                host: "localhost".into(),
                port: env(if protocol == "pop3" {
                    "MAILSTACK_POP3S_PORT"
                } else {
                    "MAILSTACK_IMAPS_PORT"
                })
                .parse()
                .unwrap(),
                tls: TlsMode::Implicit,
                user: format!("{address}{}", env("MAILSTACK_MASTER_USER_SUFFIX")),
                password: Secret::File(dir.path().join("pw")),
                ca_file: Some(env("MAILSTACK_CA_CERT").into()),
                timeout: std::time::Duration::from_secs(60),
                own_address: true,
                poll: std::time::Duration::from_secs(60),
            };
            let conn = Connector::new(&server, "bench").unwrap();
            let config = Arc::new(config);
            let sink = Sink {
                name: protocol.into(),
                pipeline: Pipeline::new(config.clone(), [9; 32]).unwrap(),
                store: Arc::new(Mutex::new(Store::open(&db).unwrap())),
                clock: Arc::new(SystemClock),
                queued: Arc::new(tokio::sync::Notify::new()),
                batch_size: config.intake.batch_size,
            };
            let t = Instant::now();
            let round = rt.block_on(async {
                if protocol == "pop3" {
                    pop3::collect(&sink, &conn, &server, false, || false).await
                } else {
                    let folder = imap::Folder {
                        server: &server,
                        folder: "INBOX",
                        processed_folder: None,
                        idle: false,
                    };
                    imap::collect_once(&sink, &conn, &folder).await
                }
            });
            let secs = t.elapsed().as_secs_f64();
            let round = round.unwrap_or_else(|e| panic!("{protocol}: {e}"));
            assert_eq!((round.taken, round.removed), (n, n), "{protocol}");
            let stored = sink.store.lock().unwrap().read().message_count().unwrap();
            assert_eq!(stored, n as i64, "{protocol}: stored");
            let rate = n as f64 / secs;
            println!(
                "  {protocol} run {}: {n} messages in {secs:.2} s = {rate:.0} messages/s",
                run + 1
            );
            rates.push(rate);
        }
        results.push((protocol, median(rates)));
    }
    for (protocol, rate) in results {
        println!(
            "mailbox/{protocol}: {rate:.0} messages/s (median of {runs}, {n} messages over TLS from Dovecot: fetch, commit, delete)"
        );
    }
}
