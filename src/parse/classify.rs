//! Is a message from a person, or from a machine that must never get an
//! automatic answer (RFC 3834)? Only the top-level headers count: a human who
//! forwards an out-of-office as an attachment is still a human.

use std::sync::LazyLock;

use regex::Regex;

use crate::types::{MailClass, Mailbox};

/// The top-level header fields as written (unfolded, lossy UTF-8), in order.
#[derive(Debug, Default)]
pub(super) struct Head(pub(super) Vec<(String, String)>);

impl Head {
    /// The first field of that name (field names are case-insensitive).
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

/// Everything the rules look at, already decoded by the caller.
pub(super) struct Signals<'a> {
    pub head: &'a Head,
    pub subject: &'a str,
    pub from: Option<&'a Mailbox>,
    pub return_path: Option<&'a str>,
    /// `report-type` of a top-level multipart/report ("" when it names none).
    pub report_type: Option<&'a str>,
}

pub(super) fn classify(s: &Signals<'_>) -> MailClass {
    // A bounce usually carries auto-reply signals too (Auto-Submitted,
    // Return-Path <>); the more specific class wins.
    if let Some(reason) = bounce(s) {
        MailClass::Bounce(reason)
    } else if let Some(reason) = auto_reply(s) {
        MailClass::AutoReply(reason)
    } else {
        MailClass::Normal
    }
}

/// Subjects that only delivery failures use, anchored so that a person's
/// "Re: Undeliverable: …" about a bounce stays Normal.
static BOUNCE_SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*(undeliver(?:ed|able)(?: mail| message)?|delivery status notification \((?:failure|delay)\)|mail delivery failed|failure notice|returned mail|delivery failure|delivery notification: delivery has failed|mail system error - returned mail|non-?delivery (?:report|notification)|message not delivered)",
    )
    .expect("static regex")
});

/// Weaker wording, trusted only from MAILER-DAEMON or postmaster.
static FAILURE_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)fail|undeliver|returned|delayed|not delivered|could not (be )?(deliver|sen[dt])|delivery (status|error|problem|notification|report)")
        .expect("static regex")
});

/// Auto-reply subject prefixes in the languages our customers write in, after
/// any `[list]` or `[host #123]` tags. The keyword must end the prefix (colon,
/// dash or end of subject), so "Automatic replies don't work" stays Normal.
static AUTO_SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*(?:\[[^\]]*\]\s*)*(auto(?:matic)?[- ]?(?:reply|response|answer)|out of (?:the )?office(?: auto-?reply)?|abwesenheitsnotiz|automatische antwort|r[ée]ponse automatique|risposta automatica|automatyczna odpowied[zź]|respuesta autom[aá]tica|resposta autom[aá]tica|automatisch antwoord|autosvar|automaattinen vastaus|read|not read|lu|non lu|gelesen|ungelesen|letto|le[ií]do|lido|gelezen)\s*(?::|-|$)",
    )
    .expect("static regex")
});

/// Status mail from another ticket system (RT's "[host #123] Resolved: …").
/// Answering it would start a ping-pong between two help desks.
static TICKET_NOTIFICATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*\[[^\]]*#\d+\]\s*(resolved|rejected|deleted)\s*:").expect("static regex")
});

static NOREPLY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(^|[._+-])(no|do[._-]?not)[._-]?reply($|[._+-])").expect("static regex")
});

/// Non-standard headers that only auto-responders set.
/// `X-Auto-Response-Suppress` is deliberately absent: it asks the receiver not
/// to answer automatically and Exchange adds it to ordinary human mail too
/// (help-desk vendors report losing real tickets by filtering on it).
const AUTO_HEADERS: &[&str] = &[
    "X-Autoreply",
    "X-Autorespond",
    "X-Autoreply-From",
    "X-Mail-Autoreply",
    "X-MS-Exchange-Inbox-Rules-Loop",
];

/// Headers of bulk-mail services (Mandrill, Mailchimp, campaign tools):
/// newsletters and transactional mail nobody reads replies to.
const BULK_HEADERS: &[&str] = &["X-Mandrill-User", "X-MC-User", "X-Campaign", "X-CampaignID"];

fn bounce(s: &Signals<'_>) -> Option<String> {
    match s.report_type {
        Some("delivery-status") => {
            return Some("multipart/report; report-type=delivery-status".into());
        }
        Some("feedback-report") => {
            return Some("feedback report (multipart/report; report-type=feedback-report)".into());
        }
        _ => {}
    }
    if s.head.has("X-Failed-Recipients") {
        return Some("X-Failed-Recipients".into());
    }
    if let Some(m) = BOUNCE_SUBJECT.find(s.subject) {
        return Some(format!("Subject: {}", m.as_str().trim()));
    }
    let daemon = daemon_sender(s.from)?;
    FAILURE_WORDS
        .is_match(s.subject)
        .then(|| format!("From: {daemon}, failure subject"))
}

fn auto_reply(s: &Signals<'_>) -> Option<String> {
    let head = s.head;
    if let Some(value) = head.get("Auto-Submitted") {
        let keyword = value.split([';', '(']).next().unwrap_or_default().trim();
        if !keyword.eq_ignore_ascii_case("no") {
            return Some(format!("Auto-Submitted: {keyword}"));
        }
    }
    match s.report_type {
        Some("disposition-notification") => {
            return Some("read receipt (report-type=disposition-notification)".into());
        }
        Some(other) => return Some(format!("multipart/report; report-type={other}")),
        None => {}
    }
    if let Some(name) = AUTO_HEADERS.iter().find(|n| head.has(n)) {
        return Some((*name).to_string());
    }
    if let Some(c) = AUTO_SUBJECT.captures(s.subject) {
        return Some(format!("Subject: {}", &c[1]));
    }
    if let Some(name) = ["List-Id", "List-Unsubscribe"].iter().find(|n| head.has(n)) {
        return Some((*name).to_string());
    }
    if let Some(p) = head.get("Precedence") {
        let p = p.trim().to_ascii_lowercase();
        if matches!(p.as_str(), "bulk" | "junk" | "list" | "auto_reply") {
            return Some(format!("Precedence: {p}"));
        }
    }
    if s.return_path == Some("") {
        return Some("Return-Path: <>".into());
    }
    if let Some(daemon) = daemon_sender(s.from) {
        return Some(format!("From: {daemon}"));
    }
    if let Some(from) = s.from.filter(|f| NOREPLY.is_match(f.address.local_part())) {
        return Some(format!("From: no-reply address {}", from.address));
    }
    if let Some(name) = BULK_HEADERS.iter().find(|n| head.has(n)) {
        return Some(format!("{name} (bulk sender)"));
    }
    TICKET_NOTIFICATION
        .is_match(s.subject)
        .then(|| "Subject: ticket-system notification".into())
}

/// The local part when From is the mail system itself.
fn daemon_sender(from: Option<&Mailbox>) -> Option<&str> {
    let local = from?.address.local_part();
    [
        "mailer-daemon",
        "mailer_daemon",
        "mailerdaemon",
        "postmaster",
    ]
    .iter()
    .any(|d| local.eq_ignore_ascii_case(d))
    .then_some(local)
}
