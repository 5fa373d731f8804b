//! A throw-away desk for integration tests: a temp directory with a config,
//! a Maildir inbox, a Maildir of sent mail and a database, driven through
//! the real `postdesk` binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub mod outbox;

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
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("postdesk.toml");
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
        std::fs::write(&config, text).expect("write config");
        for sub in ["tmp", "new", "cur"] {
            std::fs::create_dir_all(dir.path().join("var/inbox").join(sub)).unwrap();
        }
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

/// The corpus of real mail beside the checkout (`../shared/corpus`), or
/// `$POSTDESK_CORPUS`; None (and a note) when it is not there.
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("POSTDESK_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    if dir.join("MANIFEST.tsv").is_file() {
        Some(dir)
    } else {
        eprintln!(
            "skipped: corpus not found at {} (set POSTDESK_CORPUS)",
            dir.display()
        );
        None
    }
}
