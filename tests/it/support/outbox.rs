//! The mails a test desk queued, read back through the binary (`outbox
//! list --json`, `outbox show`), and the mail a client writes in answer.

use mail_parser::{MessageParser, MimeHeaders};
use serde_json::Value;

use super::{ADDRESS, Desk};

/// One mail postdesk queued: its outbox row and its bytes.
#[derive(Debug, Clone)]
pub struct Mail {
    pub kind: String,
    pub rcpt: Vec<String>,
    pub raw: Vec<u8>,
}

impl Mail {
    pub fn parsed(&self) -> mail_parser::Message<'_> {
        MessageParser::default()
            .parse(&self.raw)
            .expect("our mail parses back")
    }

    /// The text body, with `\n` line ends.
    pub fn text(&self) -> String {
        self.parsed()
            .body_text(0)
            .unwrap_or_default()
            .replace("\r\n", "\n")
    }

    pub fn head(&self) -> String {
        let raw = String::from_utf8_lossy(&self.raw);
        raw.split("\r\n\r\n").next().unwrap_or_default().to_string()
    }

    pub fn message_id(&self) -> String {
        self.parsed().message_id().unwrap().to_string()
    }

    pub fn subject(&self) -> String {
        self.parsed().subject().unwrap_or_default().to_string()
    }

    pub fn to(&self, who: &str) -> bool {
        self.rcpt.iter().any(|r| r == who)
    }

    /// The attachment history.txt, if any.
    pub fn history_file(&self) -> Option<String> {
        self.parsed()
            .attachments()
            .find(|a| a.attachment_name() == Some("history.txt"))
            .map(|a| String::from_utf8(a.contents().to_vec()).expect("UTF-8"))
    }
}

/// Every mail postdesk queued, oldest first (none before the first message).
pub fn mails(desk: &Desk) -> Vec<Mail> {
    if !desk.path("var/postdesk.db").exists() {
        return Vec::new();
    }
    let rows = desk.json(&["outbox", "list", "--json", "--limit", "100000"]);
    let mut out: Vec<Mail> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let id = m["id"].as_i64().unwrap();
            Mail {
                kind: m["kind"].as_str().unwrap().to_string(),
                rcpt: m["rcpt"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a.as_str().unwrap().to_string())
                    .collect(),
                raw: desk.ok(&["outbox", "show", &id.to_string()]).into_bytes(),
            }
        })
        .collect();
    out.reverse();
    out
}

/// The mails queued after the first `skip`.
pub fn new_mails(desk: &Desk, skip: usize) -> Vec<Mail> {
    mails(desk).into_iter().skip(skip).collect()
}

/// (kind, recipients) of each mail, for assertions that read well.
pub fn kinds(list: &[Mail]) -> Vec<(String, String)> {
    list.iter()
        .map(|m| (m.kind.clone(), m.rcpt.join(",")))
        .collect()
}

/// `postdesk ingest` of `raw`, which must succeed.
pub fn ingest(desk: &Desk, raw: &[u8]) {
    let out = desk.ingest(raw);
    assert!(
        out.status.success(),
        "ingest failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Takes `raw` and returns the mails it caused.
pub fn take(desk: &Desk, raw: &[u8]) -> Vec<Mail> {
    let before = mails(desk).len();
    ingest(desk, raw);
    new_mails(desk, before)
}

pub fn ticket(desk: &Desk, n: i64) -> Value {
    desk.json(&["ticket", "show", &n.to_string(), "--json"])
}

/// The one mail of `kind` to `to` in `list`.
pub fn only<'a>(list: &'a [Mail], kind: &str, to: &str) -> &'a Mail {
    let found: Vec<&Mail> = list.iter().filter(|m| m.kind == kind && m.to(to)).collect();
    assert_eq!(found.len(), 1, "one {kind} to {to} in {:#?}", kinds(list));
    found[0]
}

/// A reply to `to` as a mail client writes it: `Re:` subject, threading
/// headers, the new text on top and `to` quoted below.
pub fn reply_to(to: &Mail, from: &str, id: &str, body: &str) -> Vec<u8> {
    let quoted: String = to.text().lines().map(|l| format!("> {l}\r\n")).collect();
    let their = to.message_id();
    format!(
        "From: {from}\r\nTo: {ADDRESS}\r\nSubject: Re: {}\r\nDate: Mon, 16 Nov 2026 11:00:00 +0100\r\n\
Message-ID: <{id}>\r\nIn-Reply-To: <{their}>\r\nReferences: <{their}>\r\nMIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
{body}\r\n\r\nOn Mon, 16 Nov 2026 at 10:00, Test Desk wrote:\r\n{quoted}",
        to.subject()
    )
    .into_bytes()
}
