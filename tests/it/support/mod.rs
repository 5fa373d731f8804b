//! What the integration tests share, in one place (both binaries, `it` and
//! `stack`, include this folder):
//!
//! - [`Desk`]: a throw-away desk — a temp directory with a config, a Maildir
//!   inbox, a Maildir of sent mail and a database — driven through the real
//!   `postdesk` binary, as a one-shot command or as a [`Daemon`];
//! - mail builders ([`customer_mail`], [`mail_with`]) and [`parse`];
//! - waits: [`wait_until`] polls a condition with a deadline, and
//!   [`Daemon::wait_log`] waits for a log line — never a fixed sleep;
//! - [`outbox`]: the mails a desk queued, read back; [`golden`]: a mail
//!   compared with its fixture under tests/it/golden/; [`corpus`]: the real
//!   mail beside the checkout, skipped visibly; [`stack`]: the real mail
//!   servers of tests/mailstack.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub mod corpus;
pub mod golden;
pub mod outbox;
pub mod proof;
pub mod stack;

pub struct Desk {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
}

pub const ADDRESS: &str = "support@desk.example";
pub const PREFIX: &str = "DESK";

impl Desk {
    pub fn new() -> Desk {
        Desk::with_extra("")
    }

    /// A desk whose config has `extra` appended (e.g. an `[intake]` table).
    /// Unknown senders are accepted (`unknown_sender = "accept"`) unless
    /// `extra` says otherwise, so tests of other behaviour need no accounts;
    /// [`Desk::strict`] keeps the shipped default, `verify`.
    pub fn with_extra(extra: &str) -> Desk {
        let extra = if extra.contains("unknown_sender") {
            extra.to_string()
        } else if extra.contains("[intake]\n") {
            extra.replacen("[intake]\n", "[intake]\nunknown_sender = \"accept\"\n", 1)
        } else {
            format!("{extra}\n[intake]\nunknown_sender = \"accept\"\n")
        };
        Desk::strict(&extra)
    }

    /// A desk with `extra` appended to its config as it is: the shipped
    /// defaults, `unknown_sender = "verify"` among them, apply.
    pub fn strict(extra: &str) -> Desk {
        let text = format!(
            r#"[service]
name = "Test Desk"
address = "{ADDRESS}"
ticket_prefix = "{PREFIX}"
database = "var/postdesk.db"

[[source]]
name = "inbox"
kind = "maildir"
path = "var/inbox"
poll = "100ms"

[transport]
kind = "maildir"
path = "var/sent"
{extra}"#
        );
        let desk = Desk::with_config(&text);
        for sub in ["tmp", "new", "cur"] {
            std::fs::create_dir_all(desk.path("var/inbox").join(sub)).unwrap();
        }
        desk
    }

    /// A desk whose config is `text` with an empty `var/`: as it is, but
    /// for the daily digest, off unless `text` sets `digest` (see
    /// [`without_digest`]).
    pub fn with_config(text: &str) -> Desk {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("postdesk.toml");
        std::fs::write(&config, without_digest(text)).expect("write config");
        std::fs::create_dir_all(dir.path().join("var")).unwrap();
        Desk { dir, config }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn command(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_postdesk"));
        c.arg("-c")
            .arg(&self.config)
            .env_remove("POSTDESK_CONFIG")
            .env_remove("RUST_LOG");
        c
    }

    /// Runs postdesk with `args`, feeding `stdin`.
    pub fn run(&self, args: &[&str], stdin: &[u8]) -> Output {
        use std::io::Write;
        let mut child = self
            .command()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn postdesk");
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        child.wait_with_output().unwrap()
    }

    /// Runs postdesk and insists on exit 0; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args, b"");
        assert!(
            out.status.success(),
            "postdesk {args:?} failed ({:?}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Pipes one message into `postdesk ingest` (the MTA case).
    pub fn ingest(&self, raw: &[u8]) -> Output {
        self.run(&["ingest"], raw)
    }

    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        serde_json::from_str(&self.ok(args)).expect("valid JSON")
    }

    pub fn tickets(&self) -> Vec<serde_json::Value> {
        self.json(&["ticket", "list", "--all", "--json"])
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The mails in the sent Maildir, oldest file name first.
    pub fn sent(&self) -> Vec<Vec<u8>> {
        files_in(&self.path("var/sent/new"))
            .iter()
            .map(|p| std::fs::read(p).unwrap())
            .collect()
    }

    pub fn open_store(&self) -> postdesk::store::Store {
        postdesk::store::Store::open(&self.path("var/postdesk.db")).unwrap()
    }

    /// `postdesk run` as a child logging at info level into `daemon.log`.
    pub fn start(&self) -> Daemon {
        self.start_logging("daemon.log")
    }

    /// `postdesk run` as a child logging at info level into `log`.
    pub fn start_logging(&self, log: &str) -> Daemon {
        self.start_with_filter("info", log)
    }

    /// `postdesk run` with postdesk's debug lines too (a source's "round
    /// done", for a test that waits for one), into `daemon.log`.
    pub fn start_debug(&self) -> Daemon {
        self.start_with_filter("info,postdesk=debug", "daemon.log")
    }

    fn start_with_filter(&self, rust_log: &str, log: &str) -> Daemon {
        let mut cmd = self.command();
        cmd.env("RUST_LOG", rust_log).env_remove("NOTIFY_SOCKET");
        Daemon::start(cmd, &self.path(log))
    }

    /// The store, once the database exists.
    pub fn store(&self) -> Option<postdesk::store::Store> {
        let db = self.path("var/postdesk.db");
        db.exists()
            .then(|| postdesk::store::Store::open(&db).ok())
            .flatten()
    }

    /// The ticket that message `id` (no <>) went into, once it has.
    pub fn ticket_of(&self, id: &str) -> Option<postdesk::domain::TicketId> {
        self.store()?.read().ticket_of_message_id(id).ok()?
    }

    pub fn wait_ticket(&self, id: &str, within: Duration) -> postdesk::domain::TicketId {
        wait_until(&format!("a ticket for {id}"), within, || self.ticket_of(id))
    }

    /// (tickets, messages) in the store; (0, 0) before the first message.
    pub fn counts(&self) -> (i64, i64) {
        self.store()
            .map(|s| {
                let r = s.read();
                (r.ticket_count().unwrap(), r.message_count().unwrap())
            })
            .unwrap_or((0, 0))
    }
}

/// Parses one of our mails (or a test's) back with mail-parser.
pub fn parse(raw: &[u8]) -> mail_parser::Message<'_> {
    mail_parser::MessageParser::default()
        .parse(raw)
        .expect("our mail parses")
}

pub fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok()).map(|e| e.path()).collect(),
        Err(_) => Vec::new(),
    };
    v.sort();
    v
}

/// Writes a message into a Maildir the way an MTA does: tmp/, then rename.
pub fn drop_into_maildir(maildir: &Path, name: &str, raw: &[u8]) {
    let tmp = maildir.join("tmp").join(name);
    std::fs::write(&tmp, raw).unwrap();
    std::fs::rename(&tmp, maildir.join("new").join(name)).unwrap();
}

/// A plain customer message, CRLF like it comes off the wire.
pub fn customer_mail(from: &str, subject: &str, message_id: &str, body: &str) -> Vec<u8> {
    format!(
        "Return-Path: <{from}>\r\nFrom: Ann Customer <{from}>\r\nTo: {ADDRESS}\r\nSubject: {subject}\r\n\
Date: Mon, 16 Nov 2026 10:00:00 +0100\r\nMessage-ID: <{message_id}>\r\nMIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\
User-Agent: Mozilla/5.0 Thunderbird/128.0\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// A customer message with `top` header lines first, as an MTA prepends its
/// trace fields (`Received`, `Authentication-Results`), and `more` lines
/// among the sender's own fields.
pub fn mail_with(
    from: &str,
    subject: &str,
    message_id: &str,
    body: &str,
    top: &[&str],
    more: &[&str],
) -> Vec<u8> {
    let mut head = String::new();
    for line in top {
        head.push_str(line);
        head.push_str("\r\n");
    }
    let mut own = String::new();
    for line in more {
        own.push_str(line);
        own.push_str("\r\n");
    }
    format!(
        "{head}Return-Path: <{from}>\r\nFrom: <{from}>\r\nTo: {ADDRESS}\r\nSubject: {subject}\r\n\
Date: Mon, 16 Nov 2026 10:00:00 +0100\r\nMessage-ID: <{message_id}>\r\n{own}MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// `postdesk run` as a child, its stderr in a file.
pub struct Daemon {
    pub child: Child,
    pub log: PathBuf,
}

impl Daemon {
    pub fn start(mut cmd: Command, log: &Path) -> Daemon {
        let file = std::fs::File::create(log).unwrap();
        let child = cmd
            .arg("run")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("spawn postdesk run");
        Daemon {
            child,
            log: log.to_path_buf(),
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log has a line containing every one of `parts`.
    pub fn wait_log(&self, parts: &[&str], within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let text = self.log_text();
            if let Some(line) = text.lines().find(|l| parts.iter().all(|p| l.contains(p))) {
                return line.to_string();
            }
            assert!(
                Instant::now() < deadline,
                "no log line with {parts:?} within {within:?}:\n{text}"
            );
            assert!(self.running(), "postdesk run exited early:\n{text}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// How many log lines contain every one of `parts`.
    pub fn log_count(&self, parts: &[&str]) -> usize {
        self.log_text()
            .lines()
            .filter(|l| parts.iter().all(|p| l.contains(p)))
            .count()
    }

    /// Waits until `n` log lines contain every one of `parts` (a count
    /// taken before an action, plus one, waits for the next such line).
    pub fn wait_log_count(&self, parts: &[&str], n: usize, within: Duration) {
        wait_until(&format!("{n} log lines with {parts:?}"), within, || {
            assert!(
                self.running(),
                "postdesk run exited early:\n{}",
                self.log_text()
            );
            (self.log_count(parts) >= n).then_some(())
        });
    }

    pub fn running(&self) -> bool {
        let pid = self.child.id();
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| {
                let state = s.rsplit(") ").next().unwrap_or("").chars().next();
                !matches!(state, Some('Z') | Some('X'))
            })
            .unwrap_or(false)
    }

    pub fn signal(&self, sig: i32) {
        // SAFETY: a signal to our own child, whose pid we hold.
        let rc = unsafe { libc::kill(self.child.id() as i32, sig) };
        assert_eq!(rc, 0, "kill {sig}");
    }

    /// SIGTERM, then the exit status and how long the exit took.
    pub fn stop(self) -> (std::process::ExitStatus, Duration, String) {
        self.signal(libc::SIGTERM);
        self.stop_after_signal()
    }

    /// Waits (up to 20 s) for the exit a signal already asked for.
    pub fn stop_after_signal(mut self) -> (std::process::ExitStatus, Duration, String) {
        let t = Instant::now();
        let deadline = t + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status, t.elapsed(), self.log_text());
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "postdesk run did not exit within 20 s of SIGTERM:\n{}",
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Polls `f` every 20 ms until it returns Some, up to `within`: the one
/// wait of the tests (a condition with a deadline, never a fixed sleep).
/// `config` with `[schedule] digest = ""` unless it sets a digest: the
/// default mails one on weekday mornings, and a test desk whose daemon runs
/// at 08:00 on a Monday must not find an unasked digest among its mail.
pub fn without_digest(config: &str) -> String {
    let sets_digest = config.lines().any(|l| {
        let l = l.trim_start();
        l.strip_prefix("digest")
            .is_some_and(|rest| rest.trim_start().starts_with('='))
    });
    if sets_digest {
        return config.to_string();
    }
    let off = "digest = \"\"\n";
    if let Some(i) = config.find("[schedule]\n") {
        let at = i + "[schedule]\n".len();
        return format!("{}{off}{}", &config[..at], &config[at..]);
    }
    // Before the first table: after the top-level keys, and kept by a test
    // that cuts the config's tail off (an `[[account]]` removed).
    let at = config
        .match_indices('\n')
        .map(|(i, _)| i + 1)
        .chain([0])
        .filter(|&i| config[i..].starts_with('['))
        .min()
        .unwrap_or(config.len());
    let sep = if at == config.len() && !config.is_empty() && !config.ends_with('\n') {
        "\n"
    } else {
        ""
    };
    format!("{}{sep}[schedule]\n{off}\n{}", &config[..at], &config[at..])
}

pub fn wait_until<T>(what: &str, within: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}
