//! Configuration: `main` finds the operator's TOML file ([`locate`]) and turns it into a typed
//! [`Config`] before any stage runs (STYLE principle 4). Two stages: serde structs that mirror the
//! file (`deny_unknown_fields`), then validation that reports every problem with key and line.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fmt::Display;
use std::net::IpAddr;
use std::ops::{Range, RangeInclusive};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use crate::domain::calendar::{Calendar, Span, WEEKDAYS};
use crate::domain::lifecycle::{CloseAfter, InactivityRule, Side};
use crate::domain::{AccountId, AccountSpec, Address, Language, MatchOptions, SenderPattern};

/// The file [`locate`] falls back to when neither `-c` nor the environment names one.
pub const SYSTEM_CONFIG: &str = "/etc/postdesk/postdesk.toml";
/// The environment variable [`locate`] reads after `-c`.
pub const CONFIG_ENV: &str = "POSTDESK_CONFIG";

/// Local and mail-server-free, so a fresh checkout runs the whole flow (DESIGN, Layout).
const EMBEDDED_DEFAULT: &str = include_str!("../conf/default.toml");

// ---------------------------------------------------------------------------
// The typed configuration every other module uses
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// "embedded default" or the file path, for messages.
    pub origin: String,
    pub service: Service,
    pub sources: Vec<Source>,
    pub transport: Transport,
    pub intake: Intake,
    pub outbox: Outbox,
    pub staff: Staff,
    pub calendar: Calendar,
    /// At most one rule per side; empty when the file says `inactivity = []`.
    pub inactivity: Vec<InactivityRule>,
    pub schedule: Schedule,
    /// Customer accounts declared in this file (`[[account]]`), then those of
    /// `accounts_file`; applied to the database at start and on every reload
    /// (see `accounts` and `daemon`).
    pub accounts: Vec<AccountSpec>,
    /// How many of `accounts` are written inline, the rest coming from
    /// `accounts_file`.
    pub inline_accounts: usize,
    pub accounts_file: Option<PathBuf>,
    /// Every address of the desk itself: `service.address`, its aliases,
    /// and the `user` of each mailbox source that is an address (unless
    /// `own_address = false`). Derived, not a key.
    pub own_addresses: Vec<Address>,
}

/// The staff side: the members, who answer tickets from their mail client
/// (recognised by address or alias), and the addresses that get the staff
/// side's mail (notifications, warnings, closes, changes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staff {
    pub notify: Vec<Address>,
    pub members: Vec<StaffMember>,
    /// Relays of staff replies to one address in 24 hours (loop guard).
    pub max_relays_per_day: u32,
}

impl Default for Staff {
    fn default() -> Staff {
        Staff {
            notify: Vec::new(),
            members: Vec::new(),
            max_relays_per_day: 50,
        }
    }
}

/// The desk's own addresses: see [`Config::own_addresses`].
fn own_addresses(service: &Service, sources: &[Source]) -> Vec<Address> {
    let mut out = vec![service.address.clone()];
    let users = sources.iter().filter_map(|s| match &s.kind {
        SourceKind::Pop3 { server, .. } | SourceKind::Imap { server, .. } if server.own_address => {
            // A Dovecot master-user login ("user*admin") opens user's box.
            let user = server.user.split('*').next().unwrap_or_default();
            Address::parse(user).ok()
        }
        _ => None,
    });
    for a in service.aliases.iter().cloned().chain(users) {
        if !out.contains(&a) {
            out.push(a);
        }
    }
    out
}

/// One `[[staff.member]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffMember {
    pub name: String,
    pub address: Address,
    /// Other addresses the member writes from.
    pub aliases: Vec<Address>,
}

impl StaffMember {
    /// The member's name and address, as `#assign` and the history show them.
    pub fn mailbox(&self) -> crate::domain::Mailbox {
        crate::domain::Mailbox {
            name: Some(self.name.clone()),
            address: self.address.clone(),
        }
    }
}

impl Staff {
    /// The member who writes from `address` (their address or an alias).
    pub fn member(&self, address: &Address, opts: &MatchOptions) -> Option<&StaffMember> {
        self.members.iter().find(|m| {
            m.address.same_mailbox(address, opts)
                || m.aliases.iter().any(|a| a.same_mailbox(address, opts))
        })
    }

    /// The member `#assign` names: by name (any case), address or alias.
    pub fn find(&self, name_or_address: &str, opts: &MatchOptions) -> Option<&StaffMember> {
        let wanted = name_or_address.trim();
        if let Ok(a) = Address::parse(wanted)
            && let Some(m) = self.member(&a, opts)
        {
            return Some(m);
        }
        self.members
            .iter()
            .find(|m| m.name.trim().eq_ignore_ascii_case(wanted))
    }

    /// Whether `address` is the staff side's: a member's address or alias,
    /// or a notification address. Customer-side mail never goes there.
    pub fn is_staff_address(&self, address: &Address, opts: &MatchOptions) -> bool {
        self.member(address, opts).is_some()
            || self.notify.iter().any(|a| a.same_mailbox(address, opts))
    }

    /// Where the staff side's mail goes: `notify`, else every member.
    pub fn recipients(&self) -> Vec<Address> {
        if !self.notify.is_empty() {
            return self.notify.clone();
        }
        let mut out: Vec<Address> = Vec::new();
        for m in &self.members {
            if !out.contains(&m.address) {
                out.push(m.address.clone());
            }
        }
        out
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// A cron expression with seconds (the `cron` crate's syntax), validated;
    /// evaluated in the calendar's time zone.
    pub sweep: String,
}

/// The sweep schedule when the config has none: every ten minutes.
pub const DEFAULT_SWEEP: &str = "0 */10 * * * *";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub name: String,
    pub address: Address,
    pub ticket_prefix: String,
    pub default_language: Language,
    pub database: PathBuf,
    /// `None`: the templates built into the binary.
    pub templates: Option<PathBuf>,
    /// Never empty; the first is the type of a new ticket.
    pub ticket_types: Vec<String>,
    /// Other addresses that reach the desk (a second mailbox, old
    /// addresses): never participants, never mailed, mail from them is a
    /// loop.
    pub aliases: Vec<Address>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub name: String,
    pub kind: SourceKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceKind {
    /// New mail is taken from `path/new`.
    Maildir { path: PathBuf, poll: Duration },
    /// A POP3 mailbox (RFC 1939): mail is deleted once committed, unless
    /// `leave_on_server`.
    Pop3 {
        server: MailServer,
        leave_on_server: bool,
    },
    /// An IMAP folder (RFC 3501): mail is moved to `processed_folder` once
    /// committed, or flagged \Deleted and expunged when there is none.
    Imap {
        server: MailServer,
        folder: String,
        processed_folder: Option<String>,
        /// Wait for new mail with IDLE (RFC 2177) when the server has it.
        idle: bool,
    },
}

impl SourceKind {
    /// The `kind` key that selects this source.
    pub fn kind(&self) -> &'static str {
        match self {
            SourceKind::Maildir { .. } => "maildir",
            SourceKind::Pop3 { .. } => "pop3",
            SourceKind::Imap { .. } => "imap",
        }
    }
}

/// How to reach and log in to a POP3 or IMAP server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailServer {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub user: String,
    pub password: Secret,
    pub ca_file: Option<PathBuf>,
    /// Connect and per-command limit; a server slower than this is "down".
    pub timeout: Duration,
    /// How often to look for new mail (for IMAP with IDLE: the longest wait
    /// between two full looks).
    pub poll: Duration,
    /// `user` is an address of the desk (when it looks like one): see
    /// `Config::own_addresses`.
    pub own_address: bool,
}

/// Where a password is read from, each time it is needed (so a rotated
/// password applies at the next connection). Never the password itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Secret {
    /// A file holding the password (mode 0600); its final line break is not part of it.
    File(PathBuf),
    /// An environment variable of the daemon (systemd `LoadCredential=`/`Environment=`).
    Env(String),
}

impl Secret {
    /// Reads the password; the error says where it looked (never the value).
    pub fn read(&self) -> Result<String, String> {
        let value = match self {
            Secret::File(path) => std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read password_file {}: {e}", path.display()))?,
            Secret::Env(name) => {
                std::env::var(name).map_err(|e| format!("password_env {name}: {e}"))?
            }
        };
        let password = value.trim_end_matches(['\r', '\n']);
        if password.is_empty() {
            return Err(match self {
                Secret::File(path) => format!("password_file {} is empty", path.display()),
                Secret::Env(name) => format!("password_env {name} is empty"),
            });
        }
        Ok(password.to_string())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// Each outgoing mail is written as a file (tests, local runs).
    Maildir {
        path: PathBuf,
    },
    Smtp(Smtp),
    /// The transport appends `-i -f SENDER -- RECIPIENTS` to `args`.
    Sendmail {
        command: PathBuf,
        args: Vec<String>,
    },
}

impl Transport {
    /// The `kind` key that selects this transport.
    pub fn kind(&self) -> &'static str {
        match self {
            Transport::Maildir { .. } => "maildir",
            Transport::Smtp(_) => "smtp",
            Transport::Sendmail { .. } => "sendmail",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Smtp {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub user: Option<String>,
    /// The password stays in its own file (mode 0600), never in the config.
    pub password_file: Option<PathBuf>,
    pub ca_file: Option<PathBuf>,
    pub timeout: Duration,
    pub helo_name: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TlsMode {
    Implicit,
    Starttls,
    /// Plain text; validation allows it only towards a loopback host.
    None,
}

impl TlsMode {
    pub const ALL: [TlsMode; 3] = [TlsMode::Implicit, TlsMode::Starttls, TlsMode::None];

    pub fn as_str(self) -> &'static str {
        match self {
            TlsMode::Implicit => "implicit",
            TlsMode::Starttls => "starttls",
            TlsMode::None => "none",
        }
    }

    /// The usual port for each mode (RFC 8314 submissions, RFC 6409, RFC 5321 relay).
    pub fn default_port(self) -> u16 {
        match self {
            TlsMode::Implicit => 465,
            TlsMode::Starttls => 587,
            TlsMode::None => 25,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intake {
    pub confirm_receipt: bool,
    /// Bytes.
    pub max_message_size: u64,
    pub max_mime_depth: usize,
    pub max_mime_parts: usize,
    pub max_auto_replies_per_day: u32,
    /// Customer-side addresses one automatic mail or relay goes to, at most.
    pub max_recipients: u32,
    pub unmatched_automatic: UnmatchedAutomatic,
    /// Messages per database transaction during bulk intake.
    pub batch_size: usize,
    /// Bytes of message held in memory for one batch (a batch ends at
    /// `batch_size` messages or this many bytes, whichever comes first).
    pub batch_bytes: u64,
    /// Of a message over `max_message_size`, how many bytes of body are
    /// kept (with its header) in the quarantine.
    pub max_stored_size: u64,
    /// How long after its close a customer's reply reopens a ticket; None:
    /// never (a reply always opens a new ticket).
    pub reopen_window: Option<Duration>,
    /// Follow-ups by subject token must come from someone entitled to the ticket.
    pub check_sender: bool,
    pub unknown_sender: UnknownSender,
    /// How long a confirmation code stays valid.
    pub verify_expiry: Duration,
    /// Domains (and `*.domain`) whose mail is quarantined unanswered.
    pub blocked_domains: Vec<SenderPattern>,
    pub blocked_addresses: Vec<Address>,
    /// Domains (and `*.domain`) whose tickets are flagged for staff.
    pub priority_domains: Vec<SenderPattern>,
    /// `(field name, value)` of the spam filter's verdict; `None`: no check.
    pub spam_header: Option<(String, String)>,
    /// The operator's MTA, whose Authentication-Results alone are trusted.
    pub authserv_id: Option<String>,
    pub require_authentication: bool,
    pub case_sensitive_local_part: bool,
    pub ignore_plus_tags: bool,
    /// Primary addresses may change their authorized senders by mail.
    pub self_service: bool,
}

impl Intake {
    pub fn match_options(&self) -> MatchOptions {
        MatchOptions {
            case_sensitive_local_part: self.case_sensitive_local_part,
            ignore_plus_tags: self.ignore_plus_tags,
        }
    }
}

/// What happens to mail from a sender who belongs to no account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnknownSender {
    /// Hold it and ask the sender to confirm their address by replying.
    Verify,
    /// Open a ticket marked "unverified sender" at once.
    Accept,
    /// Hold it and tell the sender how to write from a registered address.
    Reject,
}

impl UnknownSender {
    pub const ALL: [UnknownSender; 3] = [
        UnknownSender::Verify,
        UnknownSender::Accept,
        UnknownSender::Reject,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            UnknownSender::Verify => "verify",
            UnknownSender::Accept => "accept",
            UnknownSender::Reject => "reject",
        }
    }
}

/// What to do with automatic mail (bounce, out-of-office, list mail) that matches no ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnmatchedAutomatic {
    Quarantine,
    Ticket,
}

impl UnmatchedAutomatic {
    pub const ALL: [UnmatchedAutomatic; 2] =
        [UnmatchedAutomatic::Quarantine, UnmatchedAutomatic::Ticket];

    pub fn as_str(self) -> &'static str {
        match self {
            UnmatchedAutomatic::Quarantine => "quarantine",
            UnmatchedAutomatic::Ticket => "ticket",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outbox {
    pub max_attempts: u32,
    pub retry_initial: Duration,
    pub retry_max: Duration,
    /// History entries a mail about a ticket carries (the newest); the
    /// mail says how many earlier ones it leaves out.
    pub history_in_mail: usize,
    /// The longest whole history the close notice carries inline, in
    /// bytes; a longer one goes as the attachment history.txt.
    pub close_history_inline: u64,
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// Everything wrong with one config file, one line per problem when displayed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", render(.file, .problems))]
pub struct ConfigError {
    pub file: String,
    /// In file order; problems without a line come last.
    pub problems: Vec<Problem>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Key path such as `transport.port` or `source[1].path`; empty when unknown.
    pub key: String,
    /// 1-based.
    pub line: Option<usize>,
    pub message: String,
}

fn render(file: &str, problems: &[Problem]) -> String {
    let lines: Vec<String> = problems
        .iter()
        .map(|p| {
            let line = p.line.map(|l| format!(":{l}")).unwrap_or_default();
            let key = if p.key.is_empty() {
                String::new()
            } else {
                format!(" {}:", p.key)
            };
            format!("{file}{line}:{key} {}", p.message)
        })
        .collect();
    lines.join("\n")
}

// ---------------------------------------------------------------------------
// Stage 1: the raw layer, mirroring the file. Values that need checking stay
// strings or i64 here so that stage 2 can give its own message with the line.
// ---------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, expecting = "a [service] table")]
struct RawService {
    name: Option<String>,
    address: Option<String>,
    aliases: Option<Vec<String>>,
    ticket_prefix: Option<String>,
    default_language: Option<String>,
    database: Option<String>,
    templates: Option<String>,
    ticket_types: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, expecting = "a [[source]] table")]
struct RawSource {
    name: Option<String>,
    kind: Option<String>,
    path: Option<String>,
    poll: Option<String>,
    host: Option<String>,
    port: Option<i64>,
    tls: Option<String>,
    user: Option<String>,
    password_file: Option<String>,
    password_env: Option<String>,
    ca_file: Option<String>,
    timeout: Option<String>,
    leave_on_server: Option<bool>,
    folder: Option<String>,
    processed_folder: Option<String>,
    idle: Option<bool>,
    own_address: Option<bool>,
}

/// The keys each source kind uses, space-separated.
const SOURCE_KEYS: [(&str, &str); 3] = [
    ("maildir", "name kind path poll"),
    (
        "pop3",
        "name kind host port tls user password_file password_env ca_file timeout poll leave_on_server own_address",
    ),
    (
        "imap",
        "name kind host port tls user password_file password_env ca_file timeout poll folder processed_folder idle own_address",
    ),
];

/// One flat table for all kinds; [`TRANSPORT_KEYS`] says which keys each kind uses.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, expecting = "a [transport] table")]
struct RawTransport {
    kind: Option<String>,
    path: Option<String>,
    host: Option<String>,
    port: Option<i64>,
    tls: Option<String>,
    user: Option<String>,
    password_file: Option<String>,
    ca_file: Option<String>,
    timeout: Option<String>,
    helo_name: Option<String>,
    command: Option<String>,
    args: Option<Vec<String>>,
}

/// The keys each transport kind uses, space-separated.
const TRANSPORT_KEYS: [(&str, &str); 3] = [
    ("maildir", "kind path"),
    (
        "smtp",
        "kind host port tls user password_file ca_file timeout helo_name",
    ),
    ("sendmail", "kind command args"),
];

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, expecting = "an [intake] table")]
struct RawIntake {
    confirm_receipt: Option<bool>,
    max_message_size: Option<String>,
    max_mime_depth: Option<i64>,
    max_mime_parts: Option<i64>,
    max_auto_replies_per_day: Option<i64>,
    max_recipients: Option<i64>,
    unmatched_automatic: Option<String>,
    batch_size: Option<i64>,
    batch_bytes: Option<String>,
    max_stored_size: Option<String>,
    reopen_window: Option<RawLength>,
    check_sender: Option<bool>,
    unknown_sender: Option<String>,
    verify_expiry: Option<String>,
    blocked_domains: Option<Vec<String>>,
    blocked_addresses: Option<Vec<String>>,
    priority_domains: Option<Vec<String>>,
    spam_header: Option<String>,
    authserv_id: Option<String>,
    require_authentication: Option<bool>,
    case_sensitive_local_part: Option<bool>,
    ignore_plus_tags: Option<bool>,
    self_service: Option<bool>,
}

/// A length that may also be a number: `close_after = -1`, `reopen_window = 0`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged, expecting = "a string such as \"6 days\", or a number")]
enum RawLength {
    Text(String),
    Number(i64),
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, expecting = "a [staff] table")]
struct RawStaff {
    notify: Option<Vec<String>>,
    max_relays_per_day: Option<i64>,
    member: Option<Vec<RawStaffMember>>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, expecting = "a [[staff.member]] table")]
struct RawStaffMember {
    name: Option<String>,
    address: Option<String>,
    aliases: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, expecting = "a [calendar] table")]
struct RawCalendar {
    timezone: Option<String>,
    working_days: Option<Vec<String>>,
    holidays: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, expecting = "an [[inactivity]] table")]
struct RawInactivity {
    waiting_for: Option<String>,
    warn_after: Option<Vec<String>>,
    close_after: Option<RawLength>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, expecting = "a [schedule] table")]
struct RawSchedule {
    sweep: Option<String>,
}

/// One `[[account]]` table (in this file or in `accounts_file`).
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, expecting = "an [[account]] table")]
struct RawAccount {
    id: Option<String>,
    name: Option<String>,
    primary: Option<String>,
    authorized: Option<Vec<String>>,
    language: Option<String>,
    parent: Option<String>,
    delegates: Option<Vec<String>>,
    priority: Option<bool>,
    require_authentication: Option<bool>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, expecting = "an [outbox] table")]
struct RawOutbox {
    max_attempts: Option<i64>,
    retry_initial: Option<String>,
    retry_max: Option<String>,
    history_in_mail: Option<i64>,
    close_history_inline: Option<String>,
}

const SECTIONS: &str = "service, source, transport, intake, outbox, staff, calendar, inactivity, schedule, account, and the top-level key accounts_file";

/// The sections as read. Each is deserialized on its own (rather than one derived top-level
/// struct) so that a mistake in one section does not hide the mistakes in the others. An absent
/// section is its default; `None` is a section that failed to read (already reported), which
/// is not validated further lest its defaults draw follow-up errors.
struct RawConfig {
    service: Option<RawService>,
    /// With their key path (`source[2]`), which survives a neighbour failing to read.
    sources: Vec<(String, RawSource)>,
    transport: Option<RawTransport>,
    intake: Option<RawIntake>,
    outbox: Option<RawOutbox>,
    staff: Option<RawStaff>,
    calendar: Option<RawCalendar>,
    /// None: no `[[inactivity]]` at all, the default rules apply.
    inactivity: Option<Vec<(String, RawInactivity)>>,
    schedule: Option<RawSchedule>,
    accounts: Vec<(String, RawAccount)>,
    /// With the span of its value, for messages about the file.
    accounts_file: Option<String>,
}

// ---------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------

impl Config {
    /// The built-in local configuration (`conf/default.toml`); relative paths stay relative to
    /// the current directory.
    pub fn embedded_default() -> Config {
        Config::from_toml(EMBEDDED_DEFAULT, "embedded default", Path::new(""))
            // A constant of the binary, parsed by a unit test: failing here is a build defect.
            .unwrap_or_else(|e| panic!("conf/default.toml is invalid:\n{e}"))
    }

    /// Settings that are valid but rarely what an operator means: said by
    /// `check-config` and logged when the daemon starts, never refused
    /// (a desk may run without staff while it is being set up).
    pub fn advice(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.staff.recipients().is_empty() {
            out.push(
                "[staff] has no notify address and no [[staff.member]]: new tickets and customer replies are told to nobody"
                    .to_string(),
            );
        }
        if self.intake.authserv_id.is_none() {
            out.push(
                "[intake] authserv_id is not set: no From address can be shown genuine, so mail from staff and self-service requests count only when they answer a mail of the desk, and are otherwise held until their owner confirms them; set it to the authserv-id your mail server writes in Authentication-Results"
                    .to_string(),
            );
        }
        out
    }

    /// Reads a config file; relative paths in it are taken from the file's directory.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: file.clone(),
            problems: vec![Problem {
                key: String::new(),
                line: None,
                message: format!("cannot read: {e}"),
            }],
        })?;
        // Absolute, so the paths stay right whatever the daemon's working directory later is.
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let base = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        Config::from_toml(&text, &file, &base)
    }

    /// Parses and validates `text`; `origin` names it in messages.
    pub fn from_toml(text: &str, origin: &str, base_dir: &Path) -> Result<Config, ConfigError> {
        let (doc, syntax) = DeTable::parse_recoverable(text);
        let doc = Spanned::new(doc.span(), DeValue::Table(doc.into_inner()));
        let mut l = Loader {
            text,
            doc: &doc,
            base_dir,
            problems: Vec::new(),
        };

        // Syntax: the parser recovers and goes on, but a half-read document would only give
        // misleading follow-up errors, so stop here. Recovery tends to echo one mistake several
        // times on its line: keep the first.
        if !syntax.is_empty() {
            for e in syntax {
                let span = e.span();
                let line = span.as_ref().map(|s| l.line(s.start));
                if line.is_none() || l.problems.last().is_none_or(|p| p.line != line) {
                    let key = span
                        .as_ref()
                        .and_then(|s| path_near(&doc, s.start, ""))
                        .unwrap_or_default();
                    l.at(key, span, e.message());
                }
            }
            return Err(l.into_error(origin));
        }

        let raw = l.read();
        let service = raw.service.and_then(|r| l.service(r));
        let mut sources = Vec::new();
        let mut names: HashMap<String, String> = HashMap::new();
        for (key, r) in raw.sources {
            let Some(source) = l.source(&key, r) else {
                continue;
            };
            if let Some(first) = names.get(&source.name) {
                l.fail(
                    &format!("{key}.name"),
                    format!("{:?} is already the name of {first}", source.name),
                );
            } else {
                names.insert(source.name.clone(), key);
            }
            sources.push(source);
        }
        let transport = raw.transport.and_then(|r| l.transport(r));
        let intake = raw.intake.and_then(|r| l.intake(r));
        let outbox = raw.outbox.and_then(|r| l.outbox(r));
        let staff = raw.staff.and_then(|r| l.staff(r));
        // The staff side's mail going to the support address would come
        // back to the desk: a loop by configuration.
        if let (Some(service), Some(staff)) = (&service, &staff) {
            for own in own_addresses(service, &sources) {
                l.own_address_is_no_staff(&own, staff);
            }
        }
        let calendar = raw.calendar.and_then(|r| l.calendar(r));
        let inactivity = match raw.inactivity {
            None => Some(InactivityRule::defaults()),
            Some(list) => l.inactivity(list),
        };
        let schedule = raw.schedule.and_then(|r| l.schedule(r));

        // Accounts: those written here, then those of accounts_file, checked together.
        let mut accounts: Vec<(Place, AccountSpec)> = Vec::new();
        for (key, r) in raw.accounts {
            if let Some(a) = l.account(&key, r) {
                accounts.push((Place { key, file: None }, a));
            }
        }
        let inline_accounts = accounts.len();
        let accounts_file = l.path("accounts_file", raw.accounts_file.as_deref());
        let mut file_failed = false;
        if let Some(path) = &accounts_file {
            let file = path.display().to_string();
            match read_accounts_file(path) {
                Ok(list) => accounts.extend(list.into_iter().map(|(key, a)| {
                    let place = Place {
                        key,
                        file: Some(file.clone()),
                    };
                    (place, a)
                })),
                // Its problems are reported at the accounts_file key, each naming its own line.
                Err(e) => {
                    file_failed = true;
                    for p in e.problems {
                        let line = p.line.map(|n| format!(":{n}")).unwrap_or_default();
                        let key = if p.key.is_empty() {
                            String::new()
                        } else {
                            format!(" {}:", p.key)
                        };
                        l.fail(
                            "accounts_file",
                            format!("{}{line}:{key} {}", e.file, p.message),
                        );
                    }
                }
            }
        }
        // Without the file's accounts, parents in it would look missing.
        if !file_failed {
            l.check_accounts(&accounts, intake.as_ref());
        }

        match (service, transport, intake, outbox) {
            (Some(service), Some(transport), Some(intake), Some(outbox))
                if l.problems.is_empty() =>
            {
                match (staff, calendar, inactivity, schedule) {
                    (Some(staff), Some(calendar), Some(inactivity), Some(schedule)) => Ok(Config {
                        own_addresses: own_addresses(&service, &sources),
                        origin: origin.to_string(),
                        service,
                        sources,
                        transport,
                        intake,
                        outbox,
                        staff,
                        calendar,
                        inactivity,
                        schedule,
                        accounts: accounts.into_iter().map(|(_, a)| a).collect(),
                        inline_accounts,
                        accounts_file,
                    }),
                    _ => Err(l.into_error(origin)),
                }
            }
            _ => Err(l.into_error(origin)),
        }
    }

    /// The effective configuration with every key that has a value, as TOML that
    /// [`Config::from_toml`] reads back to the same `Config` (optional keys left unset are
    /// omitted: TOML has no null). Paths are written as resolved.
    pub fn to_toml(&self) -> String {
        let mut out = format!(
            "# Effective postdesk configuration, from {:?}.\n",
            self.origin
        );
        // Top-level keys must come before the first table.
        if self.inactivity.is_empty() {
            out.push_str("inactivity = []\n");
        }
        if let Some(file) = &self.accounts_file {
            let line = toml::to_string(&AccountsFileKey {
                accounts_file: lossy(file),
            })
            .unwrap_or_default();
            out.push_str(&line);
        }
        push_section(&mut out, "[service]", &self.service.to_raw());
        for source in &self.sources {
            push_section(&mut out, "[[source]]", &source.to_raw());
        }
        push_section(&mut out, "[transport]", &self.transport.to_raw());
        push_section(&mut out, "[intake]", &self.intake.to_raw());
        push_section(&mut out, "[outbox]", &self.outbox.to_raw());
        // Members as [[staff.member]] tables of their own: serialized inside
        // [staff] they would come out as a top-level [[member]].
        let (staff, members) = staff_to_raw(&self.staff);
        push_section(&mut out, "[staff]", &staff);
        for m in &members {
            push_section(&mut out, "[[staff.member]]", m);
        }
        push_section(&mut out, "[calendar]", &calendar_to_raw(&self.calendar));
        for rule in &self.inactivity {
            push_section(&mut out, "[[inactivity]]", &rule_to_raw(rule));
        }
        push_section(
            &mut out,
            "[schedule]",
            &RawSchedule {
                sweep: Some(self.schedule.sweep.clone()),
            },
        );
        for account in &self.accounts[..self.inline_accounts] {
            push_section(&mut out, "[[account]]", &account_to_raw(account));
        }
        out
    }
}

/// `-c FILE`, else `$POSTDESK_CONFIG` (if set and non-empty), else [`SYSTEM_CONFIG`] if it
/// exists, else `None`: use [`Config::embedded_default`]. The filesystem probe is injected so
/// the precedence is testable.
pub fn locate(
    cli: Option<&Path>,
    env: Option<&OsStr>,
    etc_exists: impl Fn(&Path) -> bool,
) -> Option<PathBuf> {
    if let Some(path) = cli {
        return Some(path.to_path_buf());
    }
    if let Some(path) = env.filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let system = Path::new(SYSTEM_CONFIG);
    etc_exists(system).then(|| system.to_path_buf())
}

// ---------------------------------------------------------------------------
// Stage 2: validation
// ---------------------------------------------------------------------------

/// One pass over one document: the parsed tree (for lines), the directory relative paths
/// hang from, and every problem found so far.
struct Loader<'a> {
    text: &'a str,
    doc: &'a Spanned<DeValue<'a>>,
    base_dir: &'a Path,
    problems: Vec<Problem>,
}

impl<'a> Loader<'a> {
    fn line(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    /// Records a problem at a span reported by the parser or serde.
    fn at(&mut self, key: impl Into<String>, span: Option<Range<usize>>, message: impl Display) {
        let line = span.map(|s| self.line(s.start));
        self.problems.push(Problem {
            key: key.into(),
            line,
            message: message.to_string(),
        });
    }

    /// Records a validation problem; the line is the key's, or its table's when the key is
    /// absent.
    fn fail(&mut self, key: &str, message: impl Display) {
        let span = span_of(self.doc, key);
        self.at(key, span, message);
    }

    fn check(&mut self, ok: bool, key: &str, message: impl Display) -> bool {
        if !ok {
            self.fail(key, message);
        }
        ok
    }

    fn into_error(mut self, origin: &str) -> ConfigError {
        self.problems.sort_by_key(|p| p.line.unwrap_or(usize::MAX));
        ConfigError {
            file: origin.to_string(),
            problems: self.problems,
        }
    }

    // --- value helpers: absent → default; invalid → a problem and `None` -------------------

    /// Parses a string value; the default is spelled as in the file and parsed the same way.
    fn parse<T>(
        &mut self,
        key: &str,
        raw: Option<&str>,
        default: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        parse(raw.unwrap_or(default))
            .map_err(|m| self.fail(key, m))
            .ok()
    }

    fn duration(&mut self, key: &str, raw: Option<&str>, default: &str) -> Option<Duration> {
        self.parse(key, raw, default, |s| parse_duration(s).and_then(positive))
    }

    fn size(&mut self, key: &str, raw: Option<&str>, default: &str) -> Option<u64> {
        self.parse(key, raw, default, |s| parse_size(s).and_then(positive))
    }

    /// Integers are read as i64 so an out-of-range value gets this message, not serde's.
    fn int<T: TryFrom<i64>>(
        &mut self,
        key: &str,
        raw: Option<i64>,
        default: T,
        range: RangeInclusive<i64>,
    ) -> Option<T> {
        let Some(n) = raw else { return Some(default) };
        match T::try_from(n) {
            Ok(v) if range.contains(&n) => Some(v),
            _ => {
                self.fail(
                    key,
                    format!("must be {}-{}, not {n}", range.start(), range.end()),
                );
                None
            }
        }
    }

    fn required<'r>(&mut self, key: &str, raw: Option<&'r str>, why: &str) -> Option<&'r str> {
        match raw {
            Some(s) if !s.trim().is_empty() => Some(s),
            Some(_) => {
                self.fail(key, format!("must not be empty: {why}"));
                None
            }
            None => {
                self.fail(key, format!("missing: {why}"));
                None
            }
        }
    }

    /// A path resolved against the config file's directory; `None` when absent.
    fn path(&mut self, key: &str, raw: Option<&str>) -> Option<PathBuf> {
        let raw = raw?;
        if !self.check(!raw.is_empty(), key, "must not be empty") {
            return None;
        }
        // `components()` drops the `.` a join leaves in `/etc/postdesk/./var`.
        Some(self.base_dir.join(raw).components().collect())
    }

    // --- reading the sections ----------------------------------------------------------------

    fn read(&mut self) -> RawConfig {
        let mut raw = RawConfig {
            service: Some(RawService::default()),
            sources: Vec::new(),
            transport: Some(RawTransport::default()),
            intake: Some(RawIntake::default()),
            outbox: Some(RawOutbox::default()),
            staff: Some(RawStaff::default()),
            calendar: Some(RawCalendar::default()),
            inactivity: None,
            schedule: Some(RawSchedule::default()),
            accounts: Vec::new(),
            accounts_file: None,
        };
        let doc = self.doc;
        let Some(top) = doc.get_ref().as_table() else {
            return raw;
        };
        for (key, value) in top.iter() {
            match key.get_ref().as_ref() {
                "service" => raw.service = self.de("service", value),
                "source" => raw.sources = self.sources(value),
                "transport" => raw.transport = self.de("transport", value),
                "intake" => raw.intake = self.de("intake", value),
                "outbox" => raw.outbox = self.de("outbox", value),
                "staff" => raw.staff = self.de("staff", value),
                "calendar" => raw.calendar = self.de("calendar", value),
                "inactivity" => raw.inactivity = self.inactivity_tables(value),
                "schedule" => raw.schedule = self.de("schedule", value),
                "account" => raw.accounts = self.accounts(value),
                "accounts_file" => raw.accounts_file = self.de("accounts_file", value),
                other => self.at(
                    other,
                    Some(key.span()),
                    format!("unknown section (this version reads only: {SECTIONS})"),
                ),
            }
        }
        raw
    }

    /// Deserializes one value; an error is recorded under the key path its span points at.
    fn de<T: DeserializeOwned>(&mut self, key: &str, value: &Spanned<DeValue<'a>>) -> Option<T> {
        T::deserialize(ValueDeserializer::from(value.clone()))
            .map_err(|e| {
                let span = e.span();
                let path = span.as_ref().and_then(|s| path_near(value, s.start, key));
                self.at(path.unwrap_or_else(|| key.to_string()), span, e.message());
            })
            .ok()
    }

    fn sources(&mut self, value: &Spanned<DeValue<'a>>) -> Vec<(String, RawSource)> {
        let Some(list) = value.get_ref().as_array() else {
            self.at(
                "source",
                Some(value.span()),
                "must be a list of [[source]] tables",
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in list.iter().enumerate() {
            let key = format!("source[{i}]");
            if let Some(source) = self.de(&key, item) {
                out.push((key, source));
            }
        }
        out
    }

    fn accounts(&mut self, value: &Spanned<DeValue<'a>>) -> Vec<(String, RawAccount)> {
        let Some(list) = value.get_ref().as_array() else {
            self.at(
                "account",
                Some(value.span()),
                "must be a list of [[account]] tables",
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in list.iter().enumerate() {
            let key = format!("account[{i}]");
            // The one mistake worth its own words: the top-level key written under a table.
            if item.get_ref().get("accounts_file").is_some() {
                self.fail(
                    &format!("{key}.accounts_file"),
                    "accounts_file is a top-level key: write it above the first [section] of the file",
                );
            } else if let Some(account) = self.de(&key, item) {
                out.push((key, account));
            }
        }
        out
    }

    /// Refuses keys that the section accepts but that mean nothing for the chosen kind, so an
    /// operator never believes that, say, `port` applies to a sendmail transport.
    fn unused_keys(&mut self, section: &str, used: &str, kind: &str) {
        let doc = self.doc;
        // `source[2]` is the third [[source]] table.
        let table = match section.split_once('[') {
            Some((name, index)) => index
                .trim_end_matches(']')
                .parse::<usize>()
                .ok()
                .and_then(|i| doc.get_ref().get(name)?.get_ref().get(i)),
            None => doc.get_ref().get(section),
        };
        let Some(table) = table.and_then(|t| t.get_ref().as_table()) else {
            return;
        };
        for key in table.keys() {
            let key = key.get_ref();
            if !used.split(' ').any(|u| u == key.as_ref()) {
                self.fail(&format!("{section}.{key}"), format!("not used with {kind}"));
            }
        }
    }

    // --- validating the sections -------------------------------------------------------------

    fn service(&mut self, r: RawService) -> Option<Service> {
        let name = r.name.unwrap_or_else(|| "Support".into());
        self.check(
            !name.trim().is_empty() && !name.contains(char::is_control),
            "service.name",
            "must be one non-empty line (it is the display name on every mail postdesk sends)",
        );
        let address = self.parse(
            "service.address",
            r.address.as_deref(),
            "support@localhost",
            |s| Address::parse(s).map_err(|e| e.to_string()),
        );
        let prefix = r.ticket_prefix.unwrap_or_else(|| "SUPPORT".into());
        self.check(
            prefix.len() <= 20 && word(&prefix, |c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
            "service.ticket_prefix",
            "must be 1-20 characters of A-Z a-z 0-9 _ - (it goes inside the subject token [PREFIX #N])",
        );
        let language = self.parse(
            "service.default_language",
            r.default_language.as_deref(),
            "en",
            |s| choice(s, &Language::ALL, Language::as_str),
        );
        let database = self.path("service.database", r.database.as_deref());
        let templates = self.path("service.templates", r.templates.as_deref());
        let types = r.ticket_types.unwrap_or_else(|| {
            ["technical", "billing", "refund"]
                .map(String::from)
                .to_vec()
        });
        self.check(
            !types.is_empty(),
            "service.ticket_types",
            "must list at least one type (the first is the type of a new ticket)",
        );
        for (i, t) in types.iter().enumerate() {
            let key = format!("service.ticket_types[{i}]");
            if !word(t, |c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
            }) {
                self.fail(
                    &key,
                    format!("{t:?} must be lowercase a-z, 0-9 or - (staff write `#type {t}`)"),
                );
            } else if let Some(j) = types[..i].iter().position(|u| u == t) {
                self.fail(&key, format!("{t:?} is already service.ticket_types[{j}]"));
            }
        }
        let aliases = self.addresses("service.aliases", r.aliases);
        Some(Service {
            name,
            address: address?,
            ticket_prefix: prefix,
            default_language: language?,
            database: database.unwrap_or_else(|| "/var/lib/postdesk/postdesk.db".into()),
            templates,
            ticket_types: types,
            aliases: aliases?,
        })
    }

    fn source(&mut self, key: &str, r: RawSource) -> Option<Source> {
        let name_key = format!("{key}.name");
        let name = self.required(
            &name_key,
            r.name.as_deref(),
            "every source needs a name for logs and the CLI",
        );
        if let Some(n) = name {
            self.check(
                word(n, |c| c.is_ascii_alphanumeric() || "_.-".contains(c)),
                &name_key,
                "must be letters, digits, _ . or -",
            );
        }
        let kind_key = format!("{key}.kind");
        let kind = match r.kind.as_deref() {
            Some(kind) if SOURCE_KEYS.iter().any(|(k, _)| *k == kind) => kind,
            Some(other) => {
                self.fail(
                    &kind_key,
                    format!("unknown kind {other:?}: expected \"pop3\", \"imap\" or \"maildir\""),
                );
                return None;
            }
            None => {
                self.fail(
                    &kind_key,
                    "missing: expected kind = \"pop3\", \"imap\" or \"maildir\"",
                );
                return None;
            }
        };
        if let Some((_, used)) = SOURCE_KEYS.iter().find(|(k, _)| *k == kind) {
            self.unused_keys(key, used, &format!("kind = {kind:?}"));
        }
        let kind = match kind {
            "maildir" => {
                let path_key = format!("{key}.path");
                let path = self.required(
                    &path_key,
                    r.path.as_deref(),
                    "the Maildir to take new mail from",
                );
                let path = path.and_then(|p| self.path(&path_key, Some(p)));
                let poll = self.duration(&format!("{key}.poll"), r.poll.as_deref(), "5s");
                path.zip(poll)
                    .map(|(path, poll)| SourceKind::Maildir { path, poll })
            }
            "pop3" => {
                let server = self.mail_server(key, &r, (995, 110), "60s");
                server.map(|server| SourceKind::Pop3 {
                    server,
                    leave_on_server: r.leave_on_server.unwrap_or(false),
                })
            }
            _ => {
                let server = self.mail_server(key, &r, (993, 143), "5m");
                let folder = r.folder.clone().unwrap_or_else(|| "INBOX".into());
                let folder_ok = self.check(
                    !folder.trim().is_empty() && !folder.contains(char::is_control),
                    &format!("{key}.folder"),
                    "must be a folder name",
                );
                if let Some(p) = &r.processed_folder {
                    let pkey = format!("{key}.processed_folder");
                    if self.check(
                        !p.trim().is_empty() && !p.contains(char::is_control),
                        &pkey,
                        "must be a folder name (leave it out to expunge instead)",
                    ) {
                        self.check(
                            *p != folder,
                            &pkey,
                            format!("must differ from {key}.folder ({folder:?}): mail moved there would be taken again"),
                        );
                    }
                }
                server.filter(|_| folder_ok).map(|server| SourceKind::Imap {
                    server,
                    folder,
                    processed_folder: r.processed_folder.clone(),
                    idle: r.idle.unwrap_or(true),
                })
            }
        };
        Some(Source {
            name: name?.to_string(),
            kind: kind?,
        })
    }

    /// The connection keys of a pop3 or imap source; `ports` are the
    /// defaults for implicit TLS and for starttls/none.
    fn mail_server(
        &mut self,
        key: &str,
        r: &RawSource,
        ports: (u16, u16),
        poll: &str,
    ) -> Option<MailServer> {
        let k = |name: &str| format!("{key}.{name}");
        let host = self.required(
            &k("host"),
            r.host.as_deref(),
            "the mail server to log in to",
        );
        let tls = self.parse(&k("tls"), r.tls.as_deref(), "implicit", |s| {
            choice(s, &TlsMode::ALL, TlsMode::as_str)
        });
        if let (Some(TlsMode::None), Some(host)) = (tls, host) {
            self.check(
                is_loopback(host),
                &k("tls"),
                "\"none\" is allowed only when host is a loopback address (127.0.0.0/8, ::1, localhost): \
                 without TLS, customers' mail and the password cross the network in clear",
            );
        }
        let default_port = match tls {
            Some(TlsMode::Implicit) | None => ports.0,
            Some(_) => ports.1,
        };
        let port = self.int(&k("port"), r.port, default_port, 1..=65535);
        let user = self.required(&k("user"), r.user.as_deref(), "the login name");
        let password = match (&r.password_file, &r.password_env) {
            (Some(_), Some(_)) => {
                self.fail(
                    &k("password_env"),
                    format!("set {} or password_env, not both", k("password_file")),
                );
                None
            }
            (Some(file), None) => self.path(&k("password_file"), Some(file)).map(Secret::File),
            (None, Some(var)) => {
                let ok = self.check(
                    word(var, |c| c.is_ascii_alphanumeric() || c == '_'),
                    &k("password_env"),
                    "must be an environment variable name (A-Z, 0-9, _)",
                );
                ok.then(|| Secret::Env(var.clone()))
            }
            (None, None) => {
                self.fail(
                    &k("password_file"),
                    format!(
                        "missing: set password_file (a file holding the password) or {}",
                        k("password_env")
                    ),
                );
                None
            }
        };
        let ca_file = self.path(&k("ca_file"), r.ca_file.as_deref());
        let timeout = self.duration(&k("timeout"), r.timeout.as_deref(), "30s");
        let poll = self.duration(&k("poll"), r.poll.as_deref(), poll);
        Some(MailServer {
            host: host?.to_string(),
            port: port?,
            tls: tls?,
            user: user?.to_string(),
            password: password?,
            ca_file,
            timeout: timeout?,
            poll: poll?,
            own_address: r.own_address.unwrap_or(true),
        })
    }

    fn transport(&mut self, r: RawTransport) -> Option<Transport> {
        let kind = r.kind.as_deref().unwrap_or("maildir");
        let Some((_, used)) = TRANSPORT_KEYS.iter().find(|(k, _)| *k == kind) else {
            self.fail(
                "transport.kind",
                format!("must be \"smtp\", \"sendmail\" or \"maildir\", not {kind:?}"),
            );
            return None;
        };
        let what = if r.kind.is_some() {
            format!("kind = {kind:?}")
        } else {
            format!("kind = {kind:?} (the default)")
        };
        self.unused_keys("transport", used, &what);
        match kind {
            "smtp" => self.smtp(r).map(Transport::Smtp),
            "sendmail" => {
                // Not resolved against the config directory, and no $PATH search: under
                // systemd the daemon's PATH is minimal, so the program must be named exactly.
                let command = PathBuf::from(r.command.as_deref().unwrap_or("/usr/sbin/sendmail"));
                let ok = self.check(
                    command.is_absolute(),
                    "transport.command",
                    "must be an absolute path (the daemon does not search $PATH)",
                );
                let args = r.args.unwrap_or_default();
                ok.then_some(Transport::Sendmail { command, args })
            }
            _ => {
                let path = self.path("transport.path", r.path.as_deref());
                Some(Transport::Maildir {
                    path: path.unwrap_or_else(|| "/var/lib/postdesk/sent".into()),
                })
            }
        }
    }

    fn smtp(&mut self, r: RawTransport) -> Option<Smtp> {
        let host = self.required(
            "transport.host",
            r.host.as_deref(),
            "the SMTP server to hand mail to",
        );
        let tls = self.parse("transport.tls", r.tls.as_deref(), "starttls", |s| {
            choice(s, &TlsMode::ALL, TlsMode::as_str)
        });
        if let (Some(TlsMode::None), Some(host)) = (tls, host) {
            self.check(
                is_loopback(host),
                "transport.tls",
                "\"none\" is allowed only when host is a loopback address (127.0.0.0/8, ::1, localhost): \
                 without TLS, customers' mail and the SMTP password cross the network in clear",
            );
        }
        let port = self.int(
            "transport.port",
            r.port,
            tls.map_or(587, TlsMode::default_port),
            1..=65535,
        );
        // The pair, both ways: half a login either fails at the server or is silently unused.
        self.check(
            r.user.is_some() || r.password_file.is_none(),
            "transport.password_file",
            "set transport.user too (user and password_file go together)",
        );
        self.check(
            r.password_file.is_some() || r.user.is_none(),
            "transport.user",
            "set transport.password_file too (user and password_file go together; the password itself never goes in this file)",
        );
        let password_file = self.path("transport.password_file", r.password_file.as_deref());
        let ca_file = self.path("transport.ca_file", r.ca_file.as_deref());
        let timeout = self.duration("transport.timeout", r.timeout.as_deref(), "30s");
        if let Some(helo) = &r.helo_name {
            self.check(
                word(helo, |c| c.is_ascii_graphic()),
                "transport.helo_name",
                "must be a host name (no spaces)",
            );
        }
        Some(Smtp {
            host: host?.to_string(),
            port: port?,
            tls: tls?,
            user: r.user,
            password_file,
            ca_file,
            timeout: timeout?,
            helo_name: r.helo_name,
        })
    }

    fn intake(&mut self, r: RawIntake) -> Option<Intake> {
        let max_message_size = self.size(
            "intake.max_message_size",
            r.max_message_size.as_deref(),
            "25MB",
        );
        let max_mime_depth = self.int("intake.max_mime_depth", r.max_mime_depth, 20, 1..=1000);
        let max_mime_parts = self.int("intake.max_mime_parts", r.max_mime_parts, 500, 1..=100_000);
        let max_auto = self.int(
            "intake.max_auto_replies_per_day",
            r.max_auto_replies_per_day,
            10,
            0..=10_000,
        );
        let max_recipients = self.int("intake.max_recipients", r.max_recipients, 10, 1..=1000);
        let unmatched = self.parse(
            "intake.unmatched_automatic",
            r.unmatched_automatic.as_deref(),
            "quarantine",
            |s| choice(s, &UnmatchedAutomatic::ALL, UnmatchedAutomatic::as_str),
        );
        let batch_size = self.int("intake.batch_size", r.batch_size, 200, 1..=10_000);
        let batch_bytes = self.size("intake.batch_bytes", r.batch_bytes.as_deref(), "64MB");
        let max_stored_size = self.size(
            "intake.max_stored_size",
            r.max_stored_size.as_deref(),
            "1MB",
        );
        if let Some(n) = max_stored_size {
            self.check(
                n <= MAX_STORED_SIZE,
                "intake.max_stored_size",
                format!("must be at most {}", format_size(MAX_STORED_SIZE)),
            );
        }
        let reopen_window = self.reopen_window(r.reopen_window);
        let unknown_sender = self.parse(
            "intake.unknown_sender",
            r.unknown_sender.as_deref(),
            "verify",
            |s| choice(s, &UnknownSender::ALL, UnknownSender::as_str),
        );
        let verify_expiry = self.duration("intake.verify_expiry", r.verify_expiry.as_deref(), "7d");
        let blocked_domains = self.domains("intake.blocked_domains", r.blocked_domains);
        let blocked_addresses = self.addresses("intake.blocked_addresses", r.blocked_addresses);
        let priority_domains = self.domains("intake.priority_domains", r.priority_domains);
        let spam_header = match r.spam_header.as_deref() {
            None => Some(Some(("X-Spam-Flag".to_string(), "YES".to_string()))),
            Some(s) if s.trim().is_empty() => Some(None),
            Some(s) => self.parse("intake.spam_header", Some(s), "", |s| {
                parse_spam_header(s).map(Some)
            }),
        };
        let authserv_given = r.authserv_id.is_some();
        let authserv_id = r.authserv_id.filter(|id| {
            self.check(
                word(id, |c| c.is_ascii_graphic() && c != ';' && c != '"'),
                "intake.authserv_id",
                "must be the authserv-id your MTA writes in Authentication-Results, one word (usually its host name)",
            )
        });
        let require_authentication = r.require_authentication.unwrap_or(false);
        self.check(
            !require_authentication || authserv_given,
            "intake.require_authentication",
            "needs intake.authserv_id: without it no Authentication-Results is trusted, and every sender would be a stranger",
        );
        Some(Intake {
            confirm_receipt: r.confirm_receipt.unwrap_or(true),
            max_message_size: max_message_size?,
            max_mime_depth: max_mime_depth?,
            max_mime_parts: max_mime_parts?,
            max_auto_replies_per_day: max_auto?,
            max_recipients: max_recipients?,
            unmatched_automatic: unmatched?,
            batch_size: batch_size?,
            batch_bytes: batch_bytes?,
            max_stored_size: max_stored_size?,
            reopen_window: reopen_window?,
            check_sender: r.check_sender.unwrap_or(true),
            unknown_sender: unknown_sender?,
            verify_expiry: verify_expiry?,
            blocked_domains: blocked_domains?,
            blocked_addresses: blocked_addresses?,
            priority_domains: priority_domains?,
            spam_header: spam_header?,
            authserv_id,
            require_authentication,
            case_sensitive_local_part: r.case_sensitive_local_part.unwrap_or(false),
            ignore_plus_tags: r.ignore_plus_tags.unwrap_or(false),
            self_service: r.self_service.unwrap_or(true),
        })
    }

    /// A list of domains and `*.domain` wildcards; every bad entry is reported.
    fn domains(&mut self, key: &str, raw: Option<Vec<String>>) -> Option<Vec<SenderPattern>> {
        let mut out = Vec::new();
        let mut ok = true;
        for (i, entry) in raw.unwrap_or_default().iter().enumerate() {
            match SenderPattern::parse(entry) {
                Ok(SenderPattern::Address(_)) => {
                    ok = false;
                    self.fail(
                        &format!("{key}[{i}]"),
                        format!("{entry:?} is an address: this list takes domains (x.example, *.x.example); addresses go in intake.blocked_addresses"),
                    );
                }
                Ok(p) => out.push(p),
                Err(e) => {
                    ok = false;
                    self.fail(&format!("{key}[{i}]"), e);
                }
            }
        }
        ok.then_some(out)
    }

    fn addresses(&mut self, key: &str, raw: Option<Vec<String>>) -> Option<Vec<Address>> {
        let mut out = Vec::new();
        let mut ok = true;
        for (i, entry) in raw.unwrap_or_default().iter().enumerate() {
            match Address::parse(entry) {
                Ok(a) => out.push(a),
                Err(e) => {
                    ok = false;
                    self.fail(&format!("{key}[{i}]"), e);
                }
            }
        }
        ok.then_some(out)
    }

    fn account(&mut self, key: &str, r: RawAccount) -> Option<AccountSpec> {
        let id_key = format!("{key}.id");
        let id = self
            .required(&id_key, r.id.as_deref(), "every account needs an id")
            .and_then(|s| AccountId::parse(s).map_err(|e| self.fail(&id_key, e)).ok());
        let name = r.name.unwrap_or_default();
        self.check(
            !name.contains(char::is_control),
            &format!("{key}.name"),
            "must be one line",
        );
        let primary_key = format!("{key}.primary");
        let primary = self
            .required(
                &primary_key,
                r.primary.as_deref(),
                "the account's registered address",
            )
            .and_then(|s| {
                Address::parse(s)
                    .map_err(|e| self.fail(&primary_key, e))
                    .ok()
            });
        let mut authorized = Vec::new();
        let mut ok = true;
        for (i, entry) in r.authorized.unwrap_or_default().iter().enumerate() {
            match SenderPattern::parse_list(entry) {
                Ok(list) => {
                    for p in list {
                        if !authorized.contains(&p) {
                            authorized.push(p);
                        }
                    }
                }
                Err(e) => {
                    ok = false;
                    self.fail(&format!("{key}.authorized[{i}]"), e);
                }
            }
        }
        let language = match r.language.as_deref() {
            None => Some(None),
            Some(l) => self
                .parse(&format!("{key}.language"), Some(l), "", |s| {
                    choice(s, &Language::ALL, Language::as_str)
                })
                .map(Some),
        };
        let parent = match r.parent.as_deref() {
            None => Some(None),
            Some(p) => {
                let k = format!("{key}.parent");
                AccountId::parse(p)
                    .map(Some)
                    .map_err(|e| self.fail(&k, e))
                    .ok()
            }
        };
        let delegates = self.addresses(&format!("{key}.delegates"), r.delegates);
        let id = id?;
        Some(AccountSpec {
            name: if name.trim().is_empty() {
                id.to_string()
            } else {
                name
            },
            id,
            primary: primary?,
            authorized: ok.then_some(authorized)?,
            language: language?,
            parent: parent?,
            delegates: delegates?,
            priority: r.priority.unwrap_or(false),
            require_authentication: r.require_authentication,
        })
    }

    /// `"30d"` or `"30 days"` (calendar time); `0`, `"0d"` or `"0 days"`: never.
    fn reopen_window(&mut self, raw: Option<RawLength>) -> Option<Option<Duration>> {
        const KEY: &str = "intake.reopen_window";
        const HOW: &str = "expected a duration such as \"30d\" or \"30 days\", or 0 (never reopen)";
        let text = match raw {
            None => "30d".to_string(),
            Some(RawLength::Number(0)) => return Some(None),
            Some(RawLength::Number(n)) => {
                self.fail(KEY, format!("{n} is not a duration: {HOW}"));
                return None;
            }
            Some(RawLength::Text(t)) => t,
        };
        let parsed = parse_duration(&text)
            .ok()
            .or_else(|| match text.parse::<Span>() {
                Ok(Span::Days(n)) => Some(Duration::from_secs(u64::from(n) * 86_400)),
                Ok(Span::Hours(n)) => Some(Duration::from_secs(u64::from(n) * 3600)),
                Ok(Span::Minutes(n)) => Some(Duration::from_secs(u64::from(n) * 60)),
                Ok(Span::BusinessDays(_)) | Err(_) => None,
            });
        match parsed {
            Some(d) if d.is_zero() => Some(None),
            Some(d) => Some(Some(d)),
            None => {
                self.fail(KEY, format!("invalid duration {text:?}: {HOW}"));
                None
            }
        }
    }

    fn staff(&mut self, r: RawStaff) -> Option<Staff> {
        let mut notify: Vec<Address> = Vec::new();
        let mut ok = true;
        for (i, a) in r.notify.unwrap_or_default().iter().enumerate() {
            let key = format!("staff.notify[{i}]");
            match Address::parse(a) {
                Ok(addr) => match notify.iter().position(|b| *b == addr) {
                    Some(j) => {
                        ok = self.check(false, &key, format!("{a:?} is already staff.notify[{j}]"))
                    }
                    None => notify.push(addr),
                },
                Err(e) => {
                    self.fail(&key, e);
                    ok = false;
                }
            }
        }
        let max_relays = self.int(
            "staff.max_relays_per_day",
            r.max_relays_per_day,
            50,
            1..=10_000,
        );
        // Every address (or alias) names one member, so a mail is one
        // member's; names are what `#assign` takes, so they are unique too.
        let mut members: Vec<StaffMember> = Vec::new();
        let mut seen: Vec<(Address, String)> = Vec::new();
        for (i, m) in r.member.unwrap_or_default().into_iter().enumerate() {
            let key = format!("staff.member[{i}]");
            let name = self
                .required(
                    &format!("{key}.name"),
                    m.name.as_deref(),
                    "the name staff and customers see, and `#assign` takes",
                )
                .map(|n| n.trim().to_string());
            if let Some(n) = &name
                && n.contains(char::is_control)
            {
                ok = self.check(false, &format!("{key}.name"), "must be one line");
            }
            if let Some(n) = &name
                && let Some(j) = members.iter().position(|o| o.name.eq_ignore_ascii_case(n))
            {
                ok = self.check(
                    false,
                    &format!("{key}.name"),
                    format!("{n:?} is already staff.member[{j}]'s name"),
                );
            }
            let address_key = format!("{key}.address");
            let address = self
                .required(&address_key, m.address.as_deref(), "the member's address")
                .and_then(|s| {
                    Address::parse(s)
                        .map_err(|e| self.fail(&address_key, e))
                        .ok()
                });
            let aliases = self.addresses(&format!("{key}.aliases"), m.aliases);
            let (Some(name), Some(address), Some(aliases)) = (name, address, aliases) else {
                ok = false;
                continue;
            };
            let mut all = vec![(address.clone(), address_key)];
            all.extend(
                aliases
                    .iter()
                    .enumerate()
                    .map(|(j, a)| (a.clone(), format!("{key}.aliases[{j}]"))),
            );
            for (a, k) in all {
                if let Some((_, first)) = seen.iter().find(|(b, _)| *b == a) {
                    ok = self.check(false, &k, format!("{a} is already {first}"));
                } else {
                    seen.push((a, k));
                }
            }
            members.push(StaffMember {
                name,
                address,
                aliases,
            });
        }
        let max_relays_per_day = max_relays?;
        ok.then_some(Staff {
            notify,
            members,
            max_relays_per_day,
        })
    }

    fn own_address_is_no_staff(&mut self, own: &Address, staff: &Staff) {
        let why = format!(
            "{own}, an address of the desk itself (service.address, service.aliases or a source's user): the desk would mail itself"
        );
        for (i, a) in staff.notify.iter().enumerate() {
            self.check(a != own, &format!("staff.notify[{i}]"), format!("is {why}"));
        }
        for (i, m) in staff.members.iter().enumerate() {
            let key = format!("staff.member[{i}]");
            self.check(
                m.address != *own,
                &format!("{key}.address"),
                format!("is {why}"),
            );
            for (j, a) in m.aliases.iter().enumerate() {
                self.check(
                    a != own,
                    &format!("{key}.aliases[{j}]"),
                    format!("is {why}"),
                );
            }
        }
    }

    fn calendar(&mut self, r: RawCalendar) -> Option<Calendar> {
        let tz_name = r.timezone.as_deref().unwrap_or("UTC");
        let tz = tz_name.parse::<chrono_tz::Tz>().map_err(|_| {
            self.fail(
                "calendar.timezone",
                format!("unknown time zone {tz_name:?}: expected an IANA name such as \"Europe/Paris\", \"America/New_York\" or \"UTC\""),
            )
        });
        let names = r
            .working_days
            .unwrap_or_else(|| WEEKDAYS[..5].iter().map(|d| d.to_string()).collect());
        let mut days = Vec::new();
        let mut ok = self.check(
            !names.is_empty(),
            "calendar.working_days",
            "must list at least one day: with no working day nothing would ever be closed",
        );
        for (i, name) in names.iter().enumerate() {
            let key = format!("calendar.working_days[{i}]");
            match WEEKDAYS.iter().position(|d| d == name) {
                Some(n) => {
                    let day = chrono::Weekday::try_from(n as u8).unwrap_or(chrono::Weekday::Mon);
                    if days.contains(&day) {
                        ok = self.check(false, &key, format!("{name:?} is listed twice"));
                    }
                    days.push(day);
                }
                None => {
                    ok = self.check(
                        false,
                        &key,
                        format!(
                            "{name:?} is not a day: expected one of {}",
                            WEEKDAYS.join(", ")
                        ),
                    )
                }
            }
        }
        let mut holidays = Vec::new();
        for (i, text) in r.holidays.unwrap_or_default().iter().enumerate() {
            let key = format!("calendar.holidays[{i}]");
            match chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
                Ok(d) if holidays.contains(&d) => {
                    ok = self.check(false, &key, format!("{text:?} is listed twice"))
                }
                Ok(d) => holidays.push(d),
                Err(_) => {
                    ok = self.check(
                        false,
                        &key,
                        format!("{text:?} is not a date: expected YYYY-MM-DD, e.g. \"2026-12-25\""),
                    )
                }
            }
        }
        let tz = tz.ok()?;
        ok.then(|| Calendar::new(tz, &days, &holidays))
    }

    /// `[[inactivity]]` tables, or an explicit `inactivity = []` (no rules).
    fn inactivity_tables(
        &mut self,
        value: &Spanned<DeValue<'a>>,
    ) -> Option<Vec<(String, RawInactivity)>> {
        let Some(list) = value.get_ref().as_array() else {
            self.at(
                "inactivity",
                Some(value.span()),
                "must be a list of [[inactivity]] tables (or [] for no rules)",
            );
            return None;
        };
        let mut out = Vec::new();
        let mut ok = true;
        for (i, item) in list.iter().enumerate() {
            let key = format!("inactivity[{i}]");
            match self.de(&key, item) {
                Some(rule) => out.push((key, rule)),
                None => ok = false,
            }
        }
        // A table that failed to read is reported; the rest is still checked.
        if !ok {
            self.inactivity(out);
            return None;
        }
        Some(out)
    }

    fn inactivity(&mut self, list: Vec<(String, RawInactivity)>) -> Option<Vec<InactivityRule>> {
        let mut rules: Vec<InactivityRule> = Vec::new();
        let mut ok = true;
        for (key, r) in list {
            match self.rule(&key, r) {
                Some(rule) => {
                    if let Some(j) = rules.iter().position(|o| o.waiting_for == rule.waiting_for) {
                        ok = self.check(
                            false,
                            &format!("{key}.waiting_for"),
                            format!(
                                "inactivity[{j}] is already the rule for {}: one rule per side",
                                rule.waiting_for.as_str()
                            ),
                        );
                    }
                    rules.push(rule);
                }
                None => ok = false,
            }
        }
        ok.then_some(rules)
    }

    fn rule(&mut self, key: &str, r: RawInactivity) -> Option<InactivityRule> {
        let side_key = format!("{key}.waiting_for");
        let side = match r.waiting_for.as_deref() {
            Some(s) => choice(s, &Side::ALL, Side::as_str)
                .map_err(|m| self.fail(&side_key, m))
                .ok(),
            None => {
                self.fail(
                    &side_key,
                    "missing: \"staff\" or \"customer\" (whose silence the rule measures)",
                );
                None
            }
        };
        let close_key = format!("{key}.close_after");
        const HOW: &str = "expected a length such as \"6 days\" or \"14 business days\", \"\" (close at once) or -1 (never)";
        let close = match r.close_after {
            None | Some(RawLength::Number(-1)) => Some(CloseAfter::Never),
            Some(RawLength::Number(n)) => {
                self.fail(&close_key, format!("{n}: {HOW}"));
                None
            }
            Some(RawLength::Text(t)) if t.trim().is_empty() => Some(CloseAfter::Immediately),
            Some(RawLength::Text(t)) if t.trim() == "-1" => Some(CloseAfter::Never),
            Some(RawLength::Text(t)) => match t.parse::<Span>() {
                Ok(span) => Some(CloseAfter::After(span)),
                Err(e) => {
                    self.fail(&close_key, e);
                    None
                }
            },
        };
        let mut warn: Vec<Span> = Vec::new();
        let mut ok = true;
        for (i, text) in r.warn_after.unwrap_or_default().iter().enumerate() {
            let wkey = format!("{key}.warn_after[{i}]");
            let span = match text.parse::<Span>() {
                Ok(s) if s.is_zero() => {
                    ok = self.check(false, &wkey, "must be greater than zero");
                    continue;
                }
                Ok(s) => s,
                Err(e) => {
                    self.fail(&wkey, e);
                    ok = false;
                    continue;
                }
            };
            // Ordered where the order is known without a start date; mixed
            // units are ordered per ticket (see lifecycle::plan).
            if let Some(j) = warn
                .iter()
                .rposition(|p| p.comparable(span) && p.magnitude() >= span.magnitude())
            {
                ok = self.check(
                    false,
                    &wkey,
                    format!("{text:?} must be longer than warn_after[{j}] ({})", warn[j]),
                );
            }
            match close {
                Some(CloseAfter::Immediately) => {
                    ok = self.check(
                        false,
                        &wkey,
                        "is never sent: close_after = \"\" closes the ticket at once",
                    )
                }
                Some(CloseAfter::After(c))
                    if c.comparable(span) && span.magnitude() >= c.magnitude() =>
                {
                    ok = self.check(
                        false,
                        &wkey,
                        format!(
                            "{text:?} is not before close_after ({c}): the ticket is closed first"
                        ),
                    )
                }
                _ => {}
            }
            warn.push(span);
        }
        let rule = InactivityRule {
            waiting_for: side?,
            warn_after: warn,
            close_after: close?,
        };
        ok.then_some(rule)
    }

    fn schedule(&mut self, r: RawSchedule) -> Option<Schedule> {
        let sweep = r.sweep.unwrap_or_else(|| DEFAULT_SWEEP.to_string());
        match sweep.parse::<cron::Schedule>() {
            // "Ever", not "from now": validation does not read the clock.
            Ok(s)
                if s.after(&chrono::DateTime::<chrono::Utc>::UNIX_EPOCH)
                    .next()
                    .is_some() =>
            {
                Some(Schedule { sweep })
            }
            Ok(_) => {
                self.fail("schedule.sweep", format!("{sweep:?} never fires"));
                None
            }
            Err(e) => {
                self.fail(
                    "schedule.sweep",
                    format!("invalid cron expression {sweep:?} ({e}): expected 6 fields, seconds first, e.g. \"0 */10 * * * *\" (every ten minutes)"),
                );
                None
            }
        }
    }

    /// The rules between accounts: unique ids, parents that exist, and
    /// authentication only where it can be checked.
    fn check_accounts(&mut self, accounts: &[(Place, AccountSpec)], intake: Option<&Intake>) {
        let mut seen: HashMap<String, &Place> = HashMap::new();
        for (place, a) in accounts {
            let lower = a.id.as_str().to_ascii_lowercase();
            if let Some(first) = seen.get(&lower) {
                let msg = format!(
                    "{:?} is already the id of {}",
                    a.id.as_str(),
                    first.describe()
                );
                self.fail_at(place, "id", msg);
            } else {
                seen.insert(lower, place);
            }
        }
        for (place, a) in accounts {
            if let Some(parent) = &a.parent {
                if parent == &a.id {
                    self.fail_at(place, "parent", "an account cannot be its own parent");
                } else if !seen.contains_key(&parent.as_str().to_ascii_lowercase()) {
                    let msg = format!(
                        "{:?} is not a declared account (a declared account's parent must be declared too)",
                        parent.as_str()
                    );
                    self.fail_at(place, "parent", msg);
                }
            }
            let checkable = intake.is_none_or(|i| i.authserv_id.is_some());
            if a.require_authentication == Some(true) && !checkable {
                self.fail_at(
                    place,
                    "require_authentication",
                    "needs intake.authserv_id: without it no Authentication-Results is trusted",
                );
            }
        }
    }

    /// A problem with one account, in this file or in accounts_file.
    fn fail_at(&mut self, place: &Place, field: &str, message: impl Display) {
        match &place.file {
            None => self.fail(&format!("{}.{field}", place.key), message),
            Some(file) => self.fail(
                "accounts_file",
                format!("{file}: {}.{field}: {message}", place.key),
            ),
        }
    }

    fn outbox(&mut self, r: RawOutbox) -> Option<Outbox> {
        let max_attempts = self.int("outbox.max_attempts", r.max_attempts, 12, 1..=1000);
        let retry_initial = self.duration("outbox.retry_initial", r.retry_initial.as_deref(), "1m");
        let retry_max = self.duration("outbox.retry_max", r.retry_max.as_deref(), "6h");
        let history_in_mail = self.int("outbox.history_in_mail", r.history_in_mail, 10, 0..=1000);
        let close_history_inline = self.size(
            "outbox.close_history_inline",
            r.close_history_inline.as_deref(),
            "64KB",
        );
        if let (Some(initial), Some(max)) = (retry_initial, retry_max) {
            self.check(
                initial <= max,
                "outbox.retry_initial",
                format!(
                    "must not exceed outbox.retry_max ({})",
                    format_duration(max)
                ),
            );
        }
        Some(Outbox {
            max_attempts: max_attempts?,
            retry_initial: retry_initial?,
            retry_max: retry_max?,
            history_in_mail: history_in_mail?,
            close_history_inline: close_history_inline?,
        })
    }
}

/// Where an account was written, for messages.
struct Place {
    /// `account[3]`.
    key: String,
    /// The accounts file, or `None` for the main file.
    file: Option<String>,
}

impl Place {
    fn describe(&self) -> String {
        match &self.file {
            None => self.key.clone(),
            Some(f) => format!("{} of {f}", self.key),
        }
    }
}

/// Reads a file of `[[account]]` tables (`accounts_file`, `postdesk account
/// import`): each account checked on its own, and ids unique in the file.
/// Parents are not checked here: they may live elsewhere.
pub fn read_accounts_file(path: &Path) -> Result<Vec<(String, AccountSpec)>, ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: file.clone(),
        problems: vec![Problem {
            key: String::new(),
            line: None,
            message: format!("cannot read: {e}"),
        }],
    })?;
    accounts_from_toml(&text, &file)
}

/// [`read_accounts_file`] on text; `origin` names it in messages.
pub fn accounts_from_toml(
    text: &str,
    origin: &str,
) -> Result<Vec<(String, AccountSpec)>, ConfigError> {
    let (doc, syntax) = DeTable::parse_recoverable(text);
    let doc = Spanned::new(doc.span(), DeValue::Table(doc.into_inner()));
    let mut l = Loader {
        text,
        doc: &doc,
        base_dir: Path::new(""),
        problems: Vec::new(),
    };
    if let Some(e) = syntax.first() {
        l.at("", e.span(), e.message());
        return Err(l.into_error(origin));
    }
    let mut raw = Vec::new();
    if let Some(top) = doc.get_ref().as_table() {
        for (key, value) in top.iter() {
            match key.get_ref().as_ref() {
                "account" => raw = l.accounts(value),
                other => l.at(
                    other,
                    Some(key.span()),
                    "unknown key: an accounts file holds [[account]] tables only",
                ),
            }
        }
    }
    let mut out: Vec<(String, AccountSpec)> = Vec::new();
    // Thousands of accounts: ids are checked through a map, not pairwise.
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (key, r) in raw {
        if let Some(a) = l.account(&key, r) {
            let lower = a.id.as_str().to_ascii_lowercase();
            if let Some(&first) = seen.get(&lower) {
                let msg = format!("{:?} is already the id of {}", a.id.as_str(), out[first].0);
                l.fail(&format!("{key}.id"), msg);
            } else {
                seen.insert(lower, out.len());
            }
            out.push((key, a));
        }
    }
    if l.problems.is_empty() {
        Ok(out)
    } else {
        Err(l.into_error(origin))
    }
}

/// `"X-Spam-Flag: YES"` → the field name and the value that means spam.
fn parse_spam_header(s: &str) -> Result<(String, String), String> {
    let bad = || {
        format!(
            "{s:?} must be \"Field-Name: value\", e.g. \"X-Spam-Flag: YES\" (or \"\" for no check)"
        )
    };
    let (name, value) = s.split_once(':').ok_or_else(bad)?;
    let (name, value) = (name.trim(), value.trim());
    if value.is_empty() || !word(name, |c| c.is_ascii_graphic() && c != ':') {
        return Err(bad());
    }
    Ok((name.to_string(), value.to_string()))
}

// ---------------------------------------------------------------------------
// Finding keys and lines in the parsed document
// ---------------------------------------------------------------------------

/// The span of `path` (`source[1].path`), or of its deepest existing ancestor, so a missing key
/// is reported at its table's header. A table's span is its header line.
fn span_of(doc: &Spanned<DeValue<'_>>, path: &str) -> Option<Range<usize>> {
    let mut node = doc;
    let mut best = None;
    for segment in path.split('.') {
        let (name, index) = match segment.split_once('[') {
            Some((name, rest)) => (name, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (segment, None),
        };
        let Some(next) = node.get_ref().get(name) else {
            break;
        };
        node = next;
        best = Some(node.span());
        if let Some(i) = index {
            let Some(item) = node.get_ref().get(i) else {
                break;
            };
            node = item;
            best = Some(node.span());
        }
    }
    best
}

/// The key path of the key or value that starts nearest before byte `offset` under `node`
/// (whose own path is `path`): the one an error at `offset` is about. For a syntax error that
/// cut a key short, this is the key or table just before it.
fn path_near(node: &Spanned<DeValue<'_>>, offset: usize, path: &str) -> Option<String> {
    let mut best: Option<(usize, String)> = None;
    // `>=`: on a tie the deeper node, visited later, wins (`source[0]` over `source`).
    visit(node, path, &mut |start, p| {
        if start <= offset && best.as_ref().is_none_or(|(b, _)| start >= *b) {
            best = Some((start, p.to_string()));
        }
    });
    best.map(|(_, p)| p)
}

/// Calls `f(start, path)` for every key and value below `node`. All of them, not only those
/// whose parent's span covers `offset`: a table's own span is just its header line.
fn visit(node: &Spanned<DeValue<'_>>, path: &str, f: &mut impl FnMut(usize, &str)) {
    if !path.is_empty() {
        f(node.span().start, path);
    }
    match node.get_ref() {
        DeValue::Table(table) => {
            for (k, v) in table.iter() {
                let child = if path.is_empty() {
                    k.get_ref().to_string()
                } else {
                    format!("{path}.{}", k.get_ref())
                };
                f(k.span().start, &child);
                visit(v, &child, f);
            }
        }
        DeValue::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                visit(v, &format!("{path}[{i}]"), f);
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------
// Value syntax: durations, sizes, choices
// ---------------------------------------------------------------------------

/// Duration units in milliseconds, and size units in bytes matched upper-cased; largest first,
/// the order [`format_scaled`] picks from. 1 KB = 1024 bytes, as in Dovecot, Exim and most
/// mail software, and KiB means the same.
const DURATION_UNITS: &[(&str, u64)] = &[
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];
const SIZE_UNITS: &[(&str, u64)] = &[
    ("GB", 1 << 30),
    ("GIB", 1 << 30),
    ("MB", 1 << 20),
    ("MIB", 1 << 20),
    ("KB", 1 << 10),
    ("KIB", 1 << 10),
    ("", 1),
    ("B", 1),
];

/// `"500ms"`, `"60s"`, `"5m"`, `"2h"`, `"1d"`: a whole number and one unit. A bare number is
/// refused because nothing says whether it means seconds or minutes.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let millis = parse_scaled(s, DURATION_UNITS);
    millis.map(Duration::from_millis).ok_or_else(|| {
        format!("invalid duration {s:?}: expected a whole number and a unit: \"500ms\", \"60s\", \"5m\", \"2h\" or \"1d\"")
    })
}

/// Bytes (`"1000"`, `"1000B"`) or a whole number of KB, MB or GB (any case; KiB, MiB, GiB too).
pub fn parse_size(s: &str) -> Result<u64, String> {
    parse_scaled(&s.to_ascii_uppercase(), SIZE_UNITS).ok_or_else(|| {
        format!("invalid size {s:?}: expected bytes (\"1000\") or a whole number with KB, MB or GB (\"512KB\", \"25MB\", \"1GB\"; 1 KB = 1024 bytes)")
    })
}

/// The shortest exact spelling, so `format → parse` is the identity. Durations below a
/// millisecond cannot come from the file and are truncated.
pub fn format_duration(d: Duration) -> String {
    format_scaled(
        u64::try_from(d.as_millis()).unwrap_or(u64::MAX),
        DURATION_UNITS,
    )
}

/// The most of a too-large message's body kept in the quarantine
/// (`intake.max_stored_size`): it is stored in one database value.
const MAX_STORED_SIZE: u64 = 100 << 20;

pub fn format_size(bytes: u64) -> String {
    format_scaled(bytes, SIZE_UNITS)
}

/// A whole number and a unit from `units`, blanks allowed around and between; `None` on any
/// other spelling or on overflow.
fn parse_scaled(s: &str, units: &[(&str, u64)]) -> Option<u64> {
    let s = s.trim();
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (_, per) = units.iter().find(|(name, _)| *name == s[end..].trim())?;
    s[..end].parse::<u64>().ok()?.checked_mul(*per)
}

/// `n` in the largest unit that divides it exactly.
fn format_scaled(n: u64, units: &[(&str, u64)]) -> String {
    let unit = units.iter().find(|(_, per)| n.is_multiple_of(*per));
    unit.map_or_else(|| n.to_string(), |(name, per)| format!("{}{name}", n / per))
}

fn positive<T: PartialEq + Default>(v: T) -> Result<T, String> {
    if v == T::default() {
        Err("must be greater than zero".to_string())
    } else {
        Ok(v)
    }
}

fn choice<T: Copy>(s: &str, all: &[T], name: fn(T) -> &'static str) -> Result<T, String> {
    all.iter().copied().find(|v| name(*v) == s).ok_or_else(|| {
        let names: Vec<String> = all.iter().map(|v| format!("{:?}", name(*v))).collect();
        format!("must be one of {}, not {s:?}", names.join(", "))
    })
}

/// Non-empty and every character allowed.
fn word(s: &str, allowed: impl Fn(char) -> bool) -> bool {
    !s.is_empty() && s.chars().all(allowed)
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

// ---------------------------------------------------------------------------
// Back to the raw layer, for to_toml
// ---------------------------------------------------------------------------

fn push_section(out: &mut String, header: &str, body: &impl Serialize) {
    // Flat tables of strings, numbers and string lists always serialize; should that ever
    // change, the comment keeps the output valid TOML rather than panicking.
    let body =
        toml::to_string(body).unwrap_or_else(|e| format!("# cannot write this section: {e}\n"));
    out.push_str(&format!("\n{header}\n{body}"));
}

fn lossy(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

impl Service {
    fn to_raw(&self) -> RawService {
        RawService {
            name: Some(self.name.clone()),
            address: Some(self.address.to_string()),
            ticket_prefix: Some(self.ticket_prefix.clone()),
            default_language: Some(self.default_language.as_str().into()),
            database: Some(lossy(&self.database)),
            templates: self.templates.as_deref().map(lossy),
            ticket_types: Some(self.ticket_types.clone()),
            aliases: Some(self.aliases.iter().map(|a| a.to_string()).collect()),
        }
    }
}

impl Source {
    fn to_raw(&self) -> RawSource {
        let mut raw = RawSource {
            name: Some(self.name.clone()),
            kind: Some(self.kind.kind().into()),
            ..RawSource::default()
        };
        let server = match &self.kind {
            SourceKind::Maildir { path, poll } => {
                raw.path = Some(lossy(path));
                raw.poll = Some(format_duration(*poll));
                return raw;
            }
            SourceKind::Pop3 {
                server,
                leave_on_server,
            } => {
                raw.leave_on_server = Some(*leave_on_server);
                server
            }
            SourceKind::Imap {
                server,
                folder,
                processed_folder,
                idle,
            } => {
                raw.folder = Some(folder.clone());
                raw.processed_folder = processed_folder.clone();
                raw.idle = Some(*idle);
                server
            }
        };
        raw.host = Some(server.host.clone());
        raw.port = Some(i64::from(server.port));
        raw.tls = Some(server.tls.as_str().into());
        raw.user = Some(server.user.clone());
        match &server.password {
            Secret::File(p) => raw.password_file = Some(lossy(p)),
            Secret::Env(v) => raw.password_env = Some(v.clone()),
        }
        raw.ca_file = server.ca_file.as_deref().map(lossy);
        raw.timeout = Some(format_duration(server.timeout));
        raw.poll = Some(format_duration(server.poll));
        raw.own_address = Some(server.own_address);
        raw
    }
}

impl Transport {
    fn to_raw(&self) -> RawTransport {
        let mut raw = RawTransport {
            kind: Some(self.kind().into()),
            ..RawTransport::default()
        };
        match self {
            Transport::Maildir { path } => raw.path = Some(lossy(path)),
            Transport::Smtp(s) => {
                raw.host = Some(s.host.clone());
                raw.port = Some(i64::from(s.port));
                raw.tls = Some(s.tls.as_str().into());
                raw.user = s.user.clone();
                raw.password_file = s.password_file.as_deref().map(lossy);
                raw.ca_file = s.ca_file.as_deref().map(lossy);
                raw.timeout = Some(format_duration(s.timeout));
                raw.helo_name = s.helo_name.clone();
            }
            Transport::Sendmail { command, args } => {
                raw.command = Some(lossy(command));
                raw.args = Some(args.clone());
            }
        }
        raw
    }
}

impl Intake {
    fn to_raw(&self) -> RawIntake {
        // usize/u32 → i64 cannot overflow within the validated ranges; saturate regardless.
        let int = |n: usize| Some(i64::try_from(n).unwrap_or(i64::MAX));
        RawIntake {
            confirm_receipt: Some(self.confirm_receipt),
            max_message_size: Some(format_size(self.max_message_size)),
            max_mime_depth: int(self.max_mime_depth),
            max_mime_parts: int(self.max_mime_parts),
            max_auto_replies_per_day: Some(i64::from(self.max_auto_replies_per_day)),
            max_recipients: Some(i64::from(self.max_recipients)),
            unmatched_automatic: Some(self.unmatched_automatic.as_str().into()),
            batch_size: int(self.batch_size),
            batch_bytes: Some(format_size(self.batch_bytes)),
            max_stored_size: Some(format_size(self.max_stored_size)),
            reopen_window: Some(match self.reopen_window {
                Some(d) => RawLength::Text(format_duration(d)),
                None => RawLength::Number(0),
            }),
            check_sender: Some(self.check_sender),
            unknown_sender: Some(self.unknown_sender.as_str().into()),
            verify_expiry: Some(format_duration(self.verify_expiry)),
            blocked_domains: Some(self.blocked_domains.iter().map(|p| p.to_string()).collect()),
            blocked_addresses: Some(
                self.blocked_addresses
                    .iter()
                    .map(|a| a.to_string())
                    .collect(),
            ),
            priority_domains: Some(
                self.priority_domains
                    .iter()
                    .map(|p| p.to_string())
                    .collect(),
            ),
            spam_header: Some(
                self.spam_header
                    .as_ref()
                    .map(|(n, v)| format!("{n}: {v}"))
                    .unwrap_or_default(),
            ),
            authserv_id: self.authserv_id.clone(),
            require_authentication: Some(self.require_authentication),
            case_sensitive_local_part: Some(self.case_sensitive_local_part),
            ignore_plus_tags: Some(self.ignore_plus_tags),
            self_service: Some(self.self_service),
        }
    }
}

fn staff_to_raw(s: &Staff) -> (RawStaff, Vec<RawStaffMember>) {
    let staff = RawStaff {
        notify: Some(s.notify.iter().map(|a| a.to_string()).collect()),
        max_relays_per_day: Some(i64::from(s.max_relays_per_day)),
        member: None,
    };
    let members = s
        .members
        .iter()
        .map(|m| RawStaffMember {
            name: Some(m.name.clone()),
            address: Some(m.address.to_string()),
            aliases: Some(m.aliases.iter().map(|a| a.to_string()).collect()),
        })
        .collect();
    (staff, members)
}

fn calendar_to_raw(c: &Calendar) -> RawCalendar {
    RawCalendar {
        timezone: Some(c.timezone().name().to_string()),
        working_days: Some(
            c.working_days()
                .iter()
                .map(|d| WEEKDAYS[d.num_days_from_monday() as usize].to_string())
                .collect(),
        ),
        holidays: Some(c.holidays().map(|d| d.to_string()).collect()),
    }
}

fn rule_to_raw(r: &InactivityRule) -> RawInactivity {
    RawInactivity {
        waiting_for: Some(r.waiting_for.as_str().to_string()),
        warn_after: Some(r.warn_after.iter().map(|s| s.to_string()).collect()),
        close_after: Some(match r.close_after {
            CloseAfter::Immediately => RawLength::Text(String::new()),
            CloseAfter::After(span) => RawLength::Text(span.to_string()),
            CloseAfter::Never => RawLength::Number(-1),
        }),
    }
}

#[derive(Serialize)]
struct AccountsFileKey {
    accounts_file: String,
}

fn account_to_raw(a: &AccountSpec) -> RawAccount {
    RawAccount {
        id: Some(a.id.to_string()),
        name: Some(a.name.clone()),
        primary: Some(a.primary.to_string()),
        authorized: Some(a.authorized.iter().map(|p| p.to_string()).collect()),
        language: a.language.map(|l| l.as_str().into()),
        parent: a.parent.as_ref().map(|p| p.to_string()),
        delegates: Some(a.delegates.iter().map(|d| d.to_string()).collect()),
        priority: Some(a.priority),
        require_authentication: a.require_authentication,
    }
}

impl Outbox {
    fn to_raw(&self) -> RawOutbox {
        RawOutbox {
            max_attempts: Some(i64::from(self.max_attempts)),
            retry_initial: Some(format_duration(self.retry_initial)),
            retry_max: Some(format_duration(self.retry_max)),
            history_in_mail: Some(i64::try_from(self.history_in_mail).unwrap_or(i64::MAX)),
            close_history_inline: Some(format_size(self.close_history_inline)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../conf/postdesk.toml");

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::from_toml(text, "t.toml", Path::new("/etc/postdesk"))
    }

    fn problems(text: &str) -> Vec<Problem> {
        match parse(text) {
            Ok(_) => panic!("accepted:\n{text}"),
            Err(e) => e.problems,
        }
    }

    /// Asserts exactly one problem, at `key` and `line`, whose message contains `fragment`.
    #[track_caller]
    fn assert_one(text: &str, key: &str, line: usize, fragment: &str) {
        let found = problems(text);
        assert!(
            matches!(&found[..], [p] if p.key == key && p.line == Some(line) && p.message.contains(fragment)),
            "expected one problem at {key} line {line} containing {fragment:?}, got {found:#?}\nin:\n{text}"
        );
    }

    #[test]
    fn shipped_example_parses_with_the_values_its_comments_give() {
        let c =
            Config::from_toml(EXAMPLE, "conf/postdesk.toml", Path::new("/etc/postdesk")).unwrap();
        let s = &c.service;
        assert_eq!(s.name, "ACME Support");
        assert_eq!(s.address, Address::parse("support@acme.example").unwrap());
        assert_eq!(s.ticket_prefix, "ACME");
        assert_eq!(s.default_language, Language::En);
        assert_eq!(s.database, PathBuf::from("/var/lib/postdesk/postdesk.db"));
        assert_eq!(s.templates, None);
        assert_eq!(s.ticket_types, ["technical", "billing", "refund"]);
        let inbox = SourceKind::Maildir {
            path: "/var/lib/postdesk/inbox".into(),
            poll: Duration::from_secs(5),
        };
        assert_eq!(
            c.sources,
            [Source {
                name: "local".into(),
                kind: inbox
            }]
        );
        let smtp = Smtp {
            host: "mail.acme.example".into(),
            port: 587,
            tls: TlsMode::Starttls,
            user: Some("support@acme.example".into()),
            password_file: Some("/etc/postdesk/smtp.pass".into()),
            ca_file: None,
            timeout: Duration::from_secs(30),
            helo_name: None,
        };
        assert_eq!(c.transport, Transport::Smtp(smtp));
        assert_eq!(c.intake, intake_defaults());
        assert_eq!(c.outbox, outbox_defaults());
        assert_eq!(
            c.staff.notify,
            [Address::parse("support-team@acme.example").unwrap()]
        );
        let paris = Calendar::new(
            chrono_tz::Europe::Paris,
            &WEEKDAYS[..5]
                .iter()
                .map(|d| d.parse::<chrono::Weekday>().unwrap())
                .collect::<Vec<_>>(),
            &["2026-12-25", "2027-01-01"].map(|d| d.parse().unwrap()),
        );
        assert_eq!(c.calendar, paris);
        assert_eq!(c.inactivity, InactivityRule::defaults());
        assert_eq!(c.schedule.sweep, DEFAULT_SWEEP);
        let ids: Vec<&str> = c.accounts.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["cust-001", "isp-01"]);
        let cust = &c.accounts[0];
        assert_eq!(cust.primary.as_str(), "admin@customer.example");
        assert_eq!(
            cust.authorized,
            SenderPattern::parse_list("ops@customer.example, customer.example").unwrap()
        );
        assert_eq!(cust.language, Some(Language::Fr));
        assert_eq!(cust.parent.as_ref().map(|p| p.as_str()), Some("isp-01"));
        assert_eq!(cust.delegates[0].as_str(), "tech@partner.example");
        assert_eq!((cust.priority, cust.require_authentication), (false, None));
        assert_eq!(c.accounts_file, None);
    }

    fn intake_defaults() -> Intake {
        Intake {
            confirm_receipt: true,
            max_message_size: 25 * 1024 * 1024,
            max_mime_depth: 20,
            max_mime_parts: 500,
            max_auto_replies_per_day: 10,
            max_recipients: 10,
            unmatched_automatic: UnmatchedAutomatic::Quarantine,
            batch_size: 200,
            batch_bytes: 64 << 20,
            max_stored_size: 1 << 20,
            reopen_window: Some(Duration::from_secs(30 * 86_400)),
            check_sender: true,
            unknown_sender: UnknownSender::Verify,
            verify_expiry: Duration::from_secs(7 * 86_400),
            blocked_domains: vec![],
            blocked_addresses: vec![],
            priority_domains: vec![],
            spam_header: Some(("X-Spam-Flag".into(), "YES".into())),
            authserv_id: None,
            require_authentication: false,
            case_sensitive_local_part: false,
            ignore_plus_tags: false,
            self_service: true,
        }
    }

    fn outbox_defaults() -> Outbox {
        Outbox {
            max_attempts: 12,
            retry_initial: Duration::from_secs(60),
            retry_max: Duration::from_secs(6 * 3600),
            history_in_mail: 10,
            close_history_inline: 64 * 1024,
        }
    }

    #[test]
    fn embedded_default_is_local_and_relative_to_the_current_directory() {
        let c = Config::embedded_default();
        assert_eq!(c.origin, "embedded default");
        assert_eq!(c.service.name, "Support");
        assert_eq!(c.service.address.as_str(), "support@localhost");
        assert_eq!(c.service.ticket_prefix, "SUPPORT");
        assert_eq!(c.service.default_language, Language::En);
        assert_eq!(c.service.database, PathBuf::from("./var/postdesk.db"));
        assert_eq!(c.service.ticket_types, ["technical", "billing", "refund"]);
        let inbox = SourceKind::Maildir {
            path: "./var/inbox".into(),
            poll: Duration::from_secs(1),
        };
        assert_eq!(
            c.sources,
            [Source {
                name: "inbox".into(),
                kind: inbox
            }]
        );
        assert_eq!(
            c.transport,
            Transport::Maildir {
                path: "./var/sent".into()
            }
        );
        assert_eq!(c.intake, intake_defaults());
        assert_eq!(c.outbox, outbox_defaults());
    }

    #[test]
    fn an_empty_file_gets_the_file_defaults() {
        let c = parse("").unwrap();
        assert_eq!(
            c.service.database,
            PathBuf::from("/var/lib/postdesk/postdesk.db")
        );
        assert_eq!(c.service.address.as_str(), "support@localhost");
        assert!(
            c.sources.is_empty(),
            "no [[source]] is valid: the MTA can pipe to `postdesk ingest`"
        );
        assert_eq!(
            c.transport,
            Transport::Maildir {
                path: "/var/lib/postdesk/sent".into()
            }
        );
        let sendmail = parse("[transport]\nkind = \"sendmail\"").unwrap().transport;
        assert_eq!(
            sendmail,
            Transport::Sendmail {
                command: "/usr/sbin/sendmail".into(),
                args: vec![]
            }
        );
    }

    #[test]
    fn smtp_port_defaults_by_tls_mode() {
        for (tls, host, port) in [
            ("implicit", "mx.example", 465),
            ("starttls", "mx.example", 587),
            ("none", "127.0.0.1", 25),
        ] {
            let text = format!("[transport]\nkind = \"smtp\"\nhost = \"{host}\"\ntls = \"{tls}\"");
            match parse(&text).unwrap().transport {
                Transport::Smtp(s) => assert_eq!(s.port, port, "tls = {tls}"),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn to_toml_round_trips() {
        let smtp_full = "[transport]\nkind = \"smtp\"\nhost = \"::1\"\ntls = \"none\"\nport = 2525\n\
                         user = \"u\"\npassword_file = \"pw\"\nca_file = \"ca.pem\"\ntimeout = \"1500ms\"\n\
                         helo_name = \"h.example\"\n[service]\ntemplates = \"tpl\"\nname = 'Say \"hi\"'";
        let sendmail = "[transport]\nkind = \"sendmail\"\ncommand = \"/usr/bin/msmtp\"\nargs = [\"-t\", \"--\"]\n\
                        [intake]\nmax_message_size = \"1000\"\nunmatched_automatic = \"ticket\"\nconfirm_receipt = false";
        let lifecycle = "inactivity = []\n[intake]\nreopen_window = 0\n[calendar]\nworking_days = [\"sun\", \"sat\"]";
        let rules = "[intake]\nreopen_window = \"45 days\"\n[[inactivity]]\nwaiting_for = \"customer\"\nclose_after = \"\"\n\
                     [[inactivity]]\nwaiting_for = \"staff\"\nwarn_after = [\"12 hours\", \"1 business day\"]\n\
                     [schedule]\nsweep = \"0 0 9 * * Mon-Fri\"";
        let staff = "[staff]\nmax_relays_per_day = 7\n[[staff.member]]\nname = \"Al\"\naddress = \"a@x.example\"\n\
                     [[staff.member]]\nname = \"Bo\"\naddress = \"b@x.example\"\naliases = [\"bo@x.example\", \"b2@x.example\"]";
        assert_eq!(parse(staff).unwrap().staff.members.len(), 2);
        let mut configs = vec![
            Config::embedded_default(),
            parse(EXAMPLE).unwrap(),
            parse(staff).unwrap(),
        ];
        configs.extend(
            [
                smtp_full, sendmail, "", POP3_FULL, IMAP_FULL, lifecycle, rules,
            ]
            .map(|t| parse(t).unwrap()),
        );
        for c in configs {
            let text = c.to_toml();
            let back = Config::from_toml(&text, &c.origin, Path::new(""))
                .unwrap_or_else(|e| panic!("to_toml output refused:\n{e}\n---\n{text}"));
            assert_eq!(back, c, "\n{text}");
        }
    }

    const POP3_FULL: &str = "[[source]]\nname = \"p\"\nkind = \"pop3\"\nhost = \"::1\"\nport = 1110\ntls = \"none\"\n\
        user = \"u\"\npassword_file = \"pw\"\nca_file = \"ca.pem\"\ntimeout = \"5s\"\npoll = \"2m\"\nleave_on_server = true";
    const IMAP_FULL: &str = "[[source]]\nname = \"i\"\nkind = \"imap\"\nhost = \"mail.example\"\ntls = \"starttls\"\n\
        user = \"u\"\npassword_env = \"IMAP_PW\"\nfolder = \"Support\"\nprocessed_folder = \"Done\"\nidle = false";

    #[test]
    fn staff_are_found_by_address_alias_and_name() {
        let c = parse(
            "[staff]\nnotify = [\"team@x.example\"]\n[[staff.member]]\nname = \"Alice\"\naddress = \"alice@x.example\"\n\
             aliases = [\"a.smith@x.example\"]\n[[staff.member]]\nname = \"Bob\"\naddress = \"bob@x.example\"",
        )
        .unwrap();
        let opts = c.intake.match_options();
        let a = |s: &str| Address::parse(s).unwrap();
        let name = |s: &str| c.staff.member(&a(s), &opts).map(|m| m.name.as_str());
        assert_eq!(name("alice@x.example"), Some("Alice"));
        assert_eq!(name("A.Smith@X.example"), Some("Alice"));
        assert_eq!(name("bob@x.example"), Some("Bob"));
        assert_eq!(
            name("team@x.example"),
            None,
            "a notify address is no member"
        );
        assert_eq!(name("carol@x.example"), None);
        let find = |s: &str| c.staff.find(s, &opts).map(|m| m.name.as_str());
        assert_eq!(find("bob"), Some("Bob"));
        assert_eq!(find(" ALICE "), Some("Alice"));
        assert_eq!(find("a.smith@x.example"), Some("Alice"));
        assert_eq!(find("carol"), None);
        assert!(c.staff.is_staff_address(&a("team@x.example"), &opts));
        assert!(!c.staff.is_staff_address(&a("ann@customer.example"), &opts));
        assert_eq!(c.staff.recipients(), [a("team@x.example")]);
        // Without notify addresses, the members get the staff side's mail.
        let c = parse("[[staff.member]]\nname = \"Alice\"\naddress = \"alice@x.example\"").unwrap();
        assert_eq!(c.staff.recipients(), [a("alice@x.example")]);
    }

    #[test]
    fn pop3_and_imap_sources_get_their_defaults() {
        let c = parse("[[source]]\nname = \"p\"\nkind = \"pop3\"\nhost = \"pop.example\"\nuser = \"u\"\npassword_file = \"pw\"\n\
                       [[source]]\nname = \"i\"\nkind = \"imap\"\nhost = \"imap.example\"\nuser = \"u\"\npassword_env = \"PW\"\ntls = \"starttls\"").unwrap();
        let server = |host: &str, port, tls, password, poll| MailServer {
            host: host.into(),
            port,
            tls,
            user: "u".into(),
            password,
            ca_file: None,
            timeout: Duration::from_secs(30),
            poll,
            own_address: true,
        };
        assert_eq!(
            c.sources[0].kind,
            SourceKind::Pop3 {
                server: server(
                    "pop.example",
                    995,
                    TlsMode::Implicit,
                    Secret::File("/etc/postdesk/pw".into()),
                    Duration::from_secs(60)
                ),
                leave_on_server: false,
            }
        );
        assert_eq!(
            c.sources[1].kind,
            SourceKind::Imap {
                server: server(
                    "imap.example",
                    143,
                    TlsMode::Starttls,
                    Secret::Env("PW".into()),
                    Duration::from_secs(300)
                ),
                folder: "INBOX".into(),
                processed_folder: None,
                idle: true,
            }
        );
        let c = parse(POP3_FULL).unwrap();
        let SourceKind::Pop3 { server, .. } = &c.sources[0].kind else {
            panic!()
        };
        assert_eq!((server.port, server.tls), (1110, TlsMode::None));
    }

    #[test]
    fn secrets_are_read_without_their_line_break() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "s3cret word\r\n").unwrap();
        assert_eq!(Secret::File(file.clone()).read().unwrap(), "s3cret word");
        std::fs::write(&file, "\n").unwrap();
        assert!(
            Secret::File(file.clone())
                .read()
                .unwrap_err()
                .contains("is empty")
        );
        let missing = Secret::File(dir.path().join("nope")).read().unwrap_err();
        assert!(missing.contains("cannot read password_file"), "{missing}");
        let unset = Secret::Env("POSTDESK_TEST_SURELY_UNSET_VAR".into())
            .read()
            .unwrap_err();
        assert!(unset.contains("POSTDESK_TEST_SURELY_UNSET_VAR"), "{unset}");
    }

    /// The example is the operator's reference: every key the module writes out for a fully
    /// set config of each kind must appear in it, active or commented out.
    #[test]
    fn every_key_is_documented_in_the_example() {
        let full = [
            "[transport]\nkind = \"smtp\"\nhost = \"h\"\nuser = \"u\"\npassword_file = \"p\"\nca_file = \"c\"\nhelo_name = \"h\"\n[service]\ntemplates = \"t\"",
            "[transport]\nkind = \"sendmail\"",
            "[[source]]\nname = \"a\"\nkind = \"maildir\"\npath = \"p\"",
            POP3_FULL,
            IMAP_FULL,
        ];
        for text in full {
            for line in parse(text).unwrap().to_toml().lines() {
                let Some((key, _)) = line.split_once(" = ") else {
                    continue;
                };
                let documented = EXAMPLE.lines().any(|l| {
                    l.trim_start_matches(['#', ' '])
                        .starts_with(&format!("{key} = "))
                });
                assert!(documented, "key `{key}` is not in conf/postdesk.toml");
            }
        }
    }

    #[test]
    fn each_validation_rule_names_key_and_line() {
        #[rustfmt::skip]
        let cases: &[(&str, &str, usize, &str)] = &[
            ("[service]\naddress = \"support\"", "service.address", 2, "not an email address"),
            ("[service]\nname = \"\"", "service.name", 2, "non-empty"),
            ("[service]\n\nticket_prefix = \"AC ME\"", "service.ticket_prefix", 3, "[PREFIX #N]"),
            ("[service]\nticket_prefix = \"ABCDEFGHIJKLMNOPQRSTU\"", "service.ticket_prefix", 2, "1-20"),
            ("[service]\ndefault_language = \"de\"", "service.default_language", 2, "\"en\", \"fr\", \"it\""),
            ("[service]\nticket_types = []", "service.ticket_types", 2, "at least one"),
            ("[service]\nticket_types = [\n\"a\",\n\"Refund\"]", "service.ticket_types[1]", 4, "lowercase"),
            ("[service]\nticket_types = [\"a\", \"b\", \"a\"]", "service.ticket_types[2]", 2, "already service.ticket_types[0]"),
            ("[service]\ndatabase = \"\"", "service.database", 2, "must not be empty"),
            ("[[source]]\nname = \"a\"\nkind = \"maildir\"\npath = \"p\"\n[[source]]\nname = \"a\"\nkind = \"maildir\"\npath = \"q\"",
                "source[1].name", 6, "already the name of source[0]"),
            ("[[source]]\nname = \"\"\nkind = \"maildir\"\npath = \"p\"", "source[0].name", 2, "must not be empty"),
            ("[[source]]\nname = \"my inbox\"\nkind = \"maildir\"\npath = \"p\"", "source[0].name", 2, "letters, digits"),
            ("[[source]]\nkind = \"maildir\"\npath = \"p\"", "source[0].name", 1, "missing"),
            ("[[source]]\nname = \"a\"\nkind = \"maildir\"", "source[0].path", 1, "missing"),
            ("[[source]]\nname = \"a\"\npath = \"p\"", "source[0].kind", 1, "missing"),
            ("[[source]]\nname = \"a\"\nkind = \"mbox\"", "source[0].kind", 3, "unknown kind"),
            ("[[source]]\nname = \"a\"\nkind = \"maildir\"\npath = \"p\"\npoll = \"0s\"", "source[0].poll", 5, "greater than zero"),
            ("[[source]]\nname = \"a\"\nkind = \"pop3\"\nuser = \"u\"\npassword_file = \"p\"", "source[0].host", 1, "missing"),
            ("[[source]]\nname = \"a\"\nkind = \"pop3\"\nuser = \"u\"\nhost = \"pop.example\"", "source[0].password_file", 1, "password_env"),
            ("[[source]]\nname = \"a\"\nkind = \"pop3\"\nuser = \"u\"\nhost = \"h\"\npassword_file = \"p\"\npassword_env = \"PW\"", "source[0].password_env", 7, "not both"),
            ("[[source]]\nname = \"a\"\nkind = \"pop3\"\nuser = \"u\"\nhost = \"h\"\npassword_env = \"PW-1\"", "source[0].password_env", 6, "environment variable name"),
            ("[[source]]\nname = \"a\"\nkind = \"pop3\"\nuser = \"u\"\nhost = \"pop.example\"\npassword_file = \"p\"\ntls = \"none\"", "source[0].tls", 7, "loopback"),
            ("[[source]]\nname = \"a\"\nkind = \"pop3\"\nuser = \"u\"\nhost = \"h\"\npassword_file = \"p\"\ntls = \"ssl\"", "source[0].tls", 7, "\"implicit\", \"starttls\", \"none\""),
            ("[[source]]\nname = \"a\"\nkind = \"pop3\"\nuser = \"u\"\nhost = \"h\"\npassword_file = \"p\"\nport = 0", "source[0].port", 7, "must be 1-65535"),
            ("[[source]]\nname = \"a\"\nkind = \"pop3\"\nuser = \"u\"\nhost = \"h\"\npassword_file = \"p\"\ntimeout = \"0s\"", "source[0].timeout", 7, "greater than zero"),
            ("[[source]]\nname = \"a\"\nkind = \"pop3\"\nuser = \"u\"\nhost = \"h\"\npassword_file = \"p\"\nidle = true", "source[0].idle", 7, "not used with kind = \"pop3\""),
            ("[[source]]\nname = \"a\"\nkind = \"pop3\"\nhost = \"h\"\npassword_file = \"p\"", "source[0].user", 1, "missing"),
            ("[[source]]\nname = \"a\"\nkind = \"imap\"\nuser = \"u\"\npassword_env = \"PW\"\nhost = \"h\"\nprocessed_folder = \"INBOX\"", "source[0].processed_folder", 7, "must differ from source[0].folder"),
            ("[[source]]\nname = \"a\"\nkind = \"imap\"\nuser = \"u\"\npassword_env = \"PW\"\nhost = \"h\"\nfolder = \"\"", "source[0].folder", 7, "folder name"),
            ("[[source]]\nname = \"a\"\nkind = \"imap\"\nuser = \"u\"\npassword_env = \"PW\"\nhost = \"h\"\nleave_on_server = true", "source[0].leave_on_server", 7, "not used with kind = \"imap\""),
            ("[[source]]\nname = \"a\"\nkind = \"imap\"\nuser = \"u\"\npassword_env = \"PW\"\nhost = \"h\"\npath = \"p\"", "source[0].path", 7, "not used with kind = \"imap\""),
            ("[transport]\nkind = \"smtp\"\nhost = \"mail.example\"\ntls = \"none\"", "transport.tls", 4, "loopback"),
            ("[transport]\nkind = \"smtp\"\nhost = \"mail.example\"\ntls = \"ssl\"", "transport.tls", 4, "\"implicit\", \"starttls\", \"none\""),
            ("[transport]\nkind = \"smtp\"", "transport.host", 1, "missing"),
            ("[transport]\nkind = \"smtp\"\nhost = \"h\"\npassword_file = \"p\"", "transport.password_file", 4, "transport.user"),
            ("[transport]\nkind = \"smtp\"\nhost = \"h\"\nuser = \"u\"", "transport.user", 4, "transport.password_file"),
            ("[transport]\nkind = \"smtp\"\nhost = \"h\"\nport = 0", "transport.port", 4, "must be 1-65535"),
            ("[transport]\nkind = \"smtp\"\nhost = \"h\"\nport = 65536", "transport.port", 4, "must be 1-65535"),
            ("[transport]\nkind = \"smtp\"\nhost = \"h\"\ntimeout = \"30\"", "transport.timeout", 4, "\"500ms\", \"60s\""),
            ("[transport]\nkind = \"smtp\"\nhost = \"h\"\nhelo_name = \"a b\"", "transport.helo_name", 4, "host name"),
            ("[transport]\nkind = \"carrier-pigeon\"", "transport.kind", 2, "\"smtp\", \"sendmail\" or \"maildir\""),
            ("[transport]\nkind = \"sendmail\"\ncommand = \"sendmail\"", "transport.command", 3, "absolute"),
            ("[transport]\nkind = \"sendmail\"\nhost = \"h\"", "transport.host", 3, "not used with kind = \"sendmail\""),
            ("[transport]\nport = 25", "transport.port", 2, "kind = \"maildir\" (the default)"),
            ("[intake]\nmax_message_size = \"0MB\"", "intake.max_message_size", 2, "greater than zero"),
            ("[intake]\nmax_message_size = \"25 megs\"", "intake.max_message_size", 2, "1 KB = 1024 bytes"),
            ("[intake]\nmax_mime_depth = 0", "intake.max_mime_depth", 2, "must be 1-1000"),
            ("[intake]\nmax_mime_parts = 0", "intake.max_mime_parts", 2, "must be 1-100000"),
            ("[intake]\nmax_auto_replies_per_day = -1", "intake.max_auto_replies_per_day", 2, "must be 0-10000"),
            ("[intake]\nbatch_size = 0", "intake.batch_size", 2, "must be 1-10000"),
            ("[intake]\nbatch_size = 10001", "intake.batch_size", 2, "must be 1-10000"),
            ("[intake]\nbatch_bytes = \"0\"", "intake.batch_bytes", 2, "greater than zero"),
            ("[intake]\nmax_stored_size = \"101MB\"", "intake.max_stored_size", 2, "at most 100MB"),
            ("[intake]\nunmatched_automatic = \"drop\"", "intake.unmatched_automatic", 2, "\"quarantine\", \"ticket\""),
            ("[outbox]\nmax_attempts = 0", "outbox.max_attempts", 2, "must be 1-1000"),
            ("[outbox]\nretry_initial = \"7h\"", "outbox.retry_initial", 2, "must not exceed outbox.retry_max (6h)"),
            ("[outbox]\nretry_max = \"0s\"", "outbox.retry_max", 2, "greater than zero"),
            ("[outbox]\nhistory_in_mail = -1", "outbox.history_in_mail", 2, "must be 0-1000"),
            ("[outbox]\nclose_history_inline = \"0KB\"", "outbox.close_history_inline", 2, "greater than zero"),
            ("[intake]\nreopen_window = \"a month\"", "intake.reopen_window", 2, "\"30d\" or \"30 days\""),
            ("[intake]\nreopen_window = 5", "intake.reopen_window", 2, "0 (never reopen)"),
            ("[intake]\nreopen_window = \"3 business days\"", "intake.reopen_window", 2, "invalid duration"),
            ("[staff]\nnotify = [\"team\"]", "staff.notify[0]", 2, "not an email address"),
            ("[staff]\nnotify = [\"a@x.example\", \"A@x.example\"]", "staff.notify[1]", 2, "already staff.notify[0]"),
            ("[staff]\nmax_relays_per_day = 0", "staff.max_relays_per_day", 2, "must be 1-10000"),
            ("[service]\naddress = \"help@x.example\"\n[staff]\nnotify = [\"Help@x.example\"]", "staff.notify[0]", 4, "the desk would mail itself"),
            ("[service]\naddress = \"help@x.example\"\n[[staff.member]]\nname = \"H\"\naddress = \"a@x.example\"\naliases = [\"help@x.example\"]", "staff.member[0].aliases[0]", 6, "the desk would mail itself"),
            ("[[staff.member]]\naddress = \"a@x.example\"", "staff.member[0].name", 1, "missing"),
            ("[[staff.member]]\nname = \"Al\"", "staff.member[0].address", 1, "missing"),
            ("[[staff.member]]\nname = \"Al\"\naddress = \"al\"", "staff.member[0].address", 3, "not an email address"),
            ("[[staff.member]]\nname = \"Al\"\naddress = \"a@x.example\"\naliases = [\"b\"]", "staff.member[0].aliases[0]", 4, "not an email address"),
            ("[[staff.member]]\nname = \"Al\"\naddress = \"a@x.example\"\n[[staff.member]]\nname = \"al\"\naddress = \"b@x.example\"", "staff.member[1].name", 5, "already staff.member[0]'s name"),
            ("[[staff.member]]\nname = \"Al\"\naddress = \"a@x.example\"\n[[staff.member]]\nname = \"Bo\"\naddress = \"c@x.example\"\naliases = [\"A@x.example\"]", "staff.member[1].aliases[0]", 7, "already staff.member[0].address"),
            ("[[staff.member]]\nname = \"Al\"\naddress = \"a@x.example\"\nphone = \"1\"", "staff.member[0].phone", 4, "unknown field"),
            ("[calendar]\ntimezone = \"Europe/Pariss\"", "calendar.timezone", 2, "IANA"),
            ("[calendar]\nworking_days = []", "calendar.working_days", 2, "at least one"),
            ("[calendar]\nworking_days = [\"mon\", \"Tuesday\"]", "calendar.working_days[1]", 2, "not a day"),
            ("[calendar]\nworking_days = [\"mon\", \"mon\"]", "calendar.working_days[1]", 2, "twice"),
            ("[calendar]\nholidays = [\"25/12/2026\"]", "calendar.holidays[0]", 2, "YYYY-MM-DD"),
            ("[calendar]\nholidays = [\"2026-02-30\"]", "calendar.holidays[0]", 2, "not a date"),
            ("[[inactivity]]\nwarn_after = [\"1 day\"]", "inactivity[0].waiting_for", 1, "missing"),
            ("[[inactivity]]\nwaiting_for = \"nobody\"", "inactivity[0].waiting_for", 2, "\"staff\", \"customer\""),
            ("[[inactivity]]\nwaiting_for = \"staff\"\nclose_after = \"6 dayz\"", "inactivity[0].close_after", 3, "\"7 business days\""),
            ("[[inactivity]]\nwaiting_for = \"staff\"\nclose_after = 6", "inactivity[0].close_after", 3, "-1 (never)"),
            ("[[inactivity]]\nwaiting_for = \"staff\"\nwarn_after = [\"0 days\"]", "inactivity[0].warn_after[0]", 3, "greater than zero"),
            ("[[inactivity]]\nwaiting_for = \"staff\"\nwarn_after = [\"4 days\", \"2 days\"]", "inactivity[0].warn_after[1]", 3, "longer than warn_after[0]"),
            ("[[inactivity]]\nwaiting_for = \"staff\"\nwarn_after = [\"7 days\"]\nclose_after = \"6 days\"", "inactivity[0].warn_after[0]", 3, "not before close_after"),
            ("[[inactivity]]\nwaiting_for = \"staff\"\nwarn_after = [\"1 day\"]\nclose_after = \"\"", "inactivity[0].warn_after[0]", 3, "closes the ticket at once"),
            ("[[inactivity]]\nwaiting_for = \"staff\"\n[[inactivity]]\nwaiting_for = \"staff\"", "inactivity[1].waiting_for", 4, "one rule per side"),
            ("[[inactivity]]\nwaiting_for = \"staff\"\nwarn_after = \"2 days\"", "inactivity[0].warn_after", 3, "invalid type"),
            ("inactivity = 3", "inactivity", 1, "[[inactivity]]"),
            ("[schedule]\nsweep = \"*/10 * * * *\"", "schedule.sweep", 2, "seconds first"),
            ("[schedule]\nsweep = \"0 0 0 30 2 *\"", "schedule.sweep", 2, "never fires"),
            ("[intake]\nunknown_sender = \"ignore\"", "intake.unknown_sender", 2, "\"verify\", \"accept\", \"reject\""),
            ("[intake]\nverify_expiry = \"0s\"", "intake.verify_expiry", 2, "greater than zero"),
            ("[intake]\nblocked_domains = [\"ok.example\", \"bad..example\"]", "intake.blocked_domains[1]", 2, "not an address, a domain"),
            ("[intake]\nblocked_domains = [\"a@b.example\"]", "intake.blocked_domains[0]", 2, "intake.blocked_addresses"),
            ("[intake]\nblocked_addresses = [\"b.example\"]", "intake.blocked_addresses[0]", 2, "not an email address"),
            ("[intake]\npriority_domains = [\"*.\"]", "intake.priority_domains[0]", 2, "not an address, a domain"),
            ("[intake]\nspam_header = \"X-Spam-Flag\"", "intake.spam_header", 2, "Field-Name: value"),
            ("[intake]\nauthserv_id = \"mx example\"", "intake.authserv_id", 2, "one word"),
            ("[intake]\nrequire_authentication = true", "intake.require_authentication", 2, "needs intake.authserv_id"),
            ("[[account]]\nprimary = \"a@x.example\"", "account[0].id", 1, "missing"),
            ("[[account]]\nid = \"a b\"\nprimary = \"a@x.example\"", "account[0].id", 2, "not an account id"),
            ("[[account]]\nid = \"a\"", "account[0].primary", 1, "missing"),
            ("[[account]]\nid = \"a\"\nprimary = \"x\"", "account[0].primary", 3, "not an email address"),
            ("[[account]]\nid = \"a\"\nprimary = \"a@x.example\"\nauthorized = [\"ok.example, bad..x\"]", "account[0].authorized[0]", 4, "not an address"),
            ("[[account]]\nid = \"a\"\nprimary = \"a@x.example\"\nlanguage = \"de\"", "account[0].language", 4, "\"en\", \"fr\", \"it\""),
            ("[[account]]\nid = \"a\"\nprimary = \"a@x.example\"\nparent = \"isp\"", "account[0].parent", 4, "not a declared account"),
            ("[[account]]\nid = \"a\"\nprimary = \"a@x.example\"\nparent = \"A\"", "account[0].parent", 4, "its own parent"),
            ("[[account]]\nid = \"a\"\nprimary = \"a@x.example\"\n[[account]]\nid = \"A\"\nprimary = \"b@x.example\"", "account[1].id", 5, "already the id of account[0]"),
            ("[[account]]\nid = \"a\"\nprimary = \"a@x.example\"\nrequire_authentication = true", "account[0].require_authentication", 4, "needs intake.authserv_id"),
            ("[[account]]\nid = \"a\"\nprimary = \"a@x.example\"\ndelegates = [\"nope\"]", "account[0].delegates[0]", 4, "not an email address"),
            ("[[account]]\nid = \"a\"\nprimary = \"a@x.example\"\naccounts_file = \"x\"", "account[0].accounts_file", 4, "top-level key"),
            ("accounts_file = \"\"", "accounts_file", 1, "must not be empty"),
        ];
        for &(text, key, line, fragment) in cases {
            assert_one(text, key, line, fragment);
        }
    }

    /// accounts_file: read with the config, its problems named by its own
    /// file and line, its ids unique with the inline ones.
    #[test]
    fn accounts_file_is_read_and_checked_with_the_config() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("accounts.toml");
        std::fs::write(
            &file,
            "[[account]]\nid = \"isp\"\nprimary = \"noc@isp.example\"\nauthorized = [\"isp.example\"]\n\
             [[account]]\nid = \"child\"\nprimary = \"c@c.example\"\nparent = \"isp\"\n",
        )
        .unwrap();
        let text = "accounts_file = \"accounts.toml\"\n[intake]\nauthserv_id = \"mx.example\"\n\
                    [[account]]\nid = \"inline\"\nprimary = \"i@i.example\"\nparent = \"isp\"\nrequire_authentication = true\n";
        let c = Config::from_toml(text, "t.toml", dir.path()).unwrap();
        let ids: Vec<&str> = c.accounts.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["inline", "isp", "child"]);
        assert_eq!(c.inline_accounts, 1);
        assert_eq!(c.accounts_file.as_deref(), Some(file.as_path()));
        // The effective config names the file and repeats only the inline account.
        let out = c.to_toml();
        assert!(
            out.contains("accounts_file = ") && out.matches("[[account]]").count() == 1,
            "{out}"
        );
        assert_eq!(Config::from_toml(&out, "t.toml", dir.path()).unwrap(), c);

        // A problem in the file: reported at accounts_file, with the file's line.
        std::fs::write(
            &file,
            "[[account]]\nid = \"isp\"\n\nprimary = \"not-an-address\"\n",
        )
        .unwrap();
        let found = problems_in(text, dir.path());
        assert!(
            matches!(&found[..], [p] if p.key == "accounts_file" && p.line == Some(1)
                && p.message.contains("accounts.toml:4: account[0].primary: not an email address")),
            "{found:#?}"
        );
        // The same id inline and in the file.
        std::fs::write(
            &file,
            "[[account]]\nid = \"INLINE\"\nprimary = \"x@x.example\"\n",
        )
        .unwrap();
        let found = problems_in(text, dir.path());
        assert!(
            found
                .iter()
                .any(|p| p.key == "accounts_file"
                    && p.message.contains("already the id of account[0]")),
            "{found:#?}"
        );
        // Only accounts in an accounts file; a missing file is named.
        std::fs::write(&file, "[service]\nname = \"x\"\n").unwrap();
        let found = problems_in(text, dir.path());
        assert!(
            found
                .iter()
                .any(|p| p.message.contains("[[account]] tables only")),
            "{found:#?}"
        );
        std::fs::remove_file(&file).unwrap();
        let found = problems_in(text, dir.path());
        assert!(
            found.iter().any(|p| p.message.contains("cannot read")),
            "{found:#?}"
        );
    }

    fn problems_in(text: &str, base: &Path) -> Vec<Problem> {
        match Config::from_toml(text, "t.toml", base) {
            Ok(_) => panic!("accepted:\n{text}"),
            Err(e) => e.problems,
        }
    }

    #[test]
    fn lifecycle_settings_and_their_defaults() {
        let c = parse("").unwrap();
        assert_eq!(c.calendar, Calendar::default());
        assert_eq!(c.inactivity, InactivityRule::defaults());
        assert_eq!(c.schedule.sweep, DEFAULT_SWEEP);
        assert_eq!(c.staff, Staff::default());
        assert_eq!(
            c.intake.reopen_window,
            Some(Duration::from_secs(30 * 86_400))
        );
        for (text, want) in [
            ("0", None),
            ("\"0d\"", None),
            ("\"0 days\"", None),
            ("\"7d\"", Some(7 * 86_400)),
            ("\"7 days\"", Some(7 * 86_400)),
            ("\"36h\"", Some(36 * 3600)),
        ] {
            let c = parse(&format!("[intake]\nreopen_window = {text}")).unwrap();
            assert_eq!(
                c.intake.reopen_window,
                want.map(Duration::from_secs),
                "{text}"
            );
        }
        let c = parse("inactivity = []").unwrap();
        assert!(
            c.inactivity.is_empty(),
            "an explicit empty list means no rules"
        );
        let c = parse(
            "[[inactivity]]\nwaiting_for = \"customer\"\nclose_after = \"\"\n\
             [[inactivity]]\nwaiting_for = \"staff\"\nwarn_after = [\"3 days\", \"1 business day\"]\nclose_after = -1",
        )
        .unwrap();
        assert_eq!(
            c.inactivity,
            [
                InactivityRule {
                    waiting_for: Side::Customer,
                    warn_after: vec![],
                    close_after: CloseAfter::Immediately
                },
                InactivityRule {
                    waiting_for: Side::Staff,
                    warn_after: vec![Span::Days(3), Span::BusinessDays(1)],
                    close_after: CloseAfter::Never
                },
            ]
        );
        let c = parse("[[inactivity]]\nwaiting_for = \"staff\"\nclose_after = \"-1\"").unwrap();
        assert_eq!(c.inactivity[0].close_after, CloseAfter::Never);
    }

    #[test]
    fn plain_smtp_is_allowed_towards_loopback_only() {
        for host in [
            "127.0.0.1",
            "127.3.2.1",
            "::1",
            "[::1]",
            "localhost",
            "LocalHost",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in [
            "128.0.0.1",
            "10.0.0.1",
            "::2",
            "localhost.example",
            "mail.example",
            "",
        ] {
            assert!(!is_loopback(host), "{host}");
        }
    }

    #[test]
    fn unknown_keys_and_sections_are_errors_with_their_line() {
        // A later version's setting must not look honoured (see the example's header).
        let text = "[intake]\nconfirm_receipt = true\nautoclose = true\n";
        assert_one(text, "intake.autoclose", 3, "unknown field `autoclose`");
        assert_one(
            "[service]\nname = \"x\"\n\n[accounts]\nfile = \"a\"",
            "accounts",
            4,
            "unknown section",
        );
        assert_one(
            "[[source]]\nname = \"a\"\nkind = \"maildir\"\npath = \"p\"\nfolders = \"x\"",
            "source[0].folders",
            5,
            "unknown field",
        );
        assert_one(
            "[[source]]\nname = \"a\"\nkind = \"maildir\"\npath = \"p\"\nfolder = \"x\"",
            "source[0].folder",
            5,
            "not used with kind = \"maildir\"",
        );
        let shown = parse(text).unwrap_err().to_string();
        assert!(
            shown.starts_with("t.toml:3: intake.autoclose: unknown field"),
            "{shown}"
        );
    }

    #[test]
    fn wrong_types_are_errors_with_key_and_line() {
        assert_one(
            "[transport]\nkind = \"smtp\"\nhost = \"h\"\nport = \"25\"",
            "transport.port",
            4,
            "invalid type",
        );
        assert_one(
            "[intake]\nconfirm_receipt = \"yes\"",
            "intake.confirm_receipt",
            2,
            "invalid type",
        );
        assert_one(
            "[service]\nticket_types = [\"a\",\n 2]",
            "service.ticket_types[1]",
            3,
            "invalid type",
        );
        assert_one("intake = 5", "intake", 1, "an [intake] table");
        assert_one("[source]\nname = \"a\"", "source", 1, "[[source]]");
    }

    #[test]
    fn syntax_errors_have_a_line() {
        let found = problems("[service]\nname = \"x\"\naddress = support@x.example\n");
        assert!(
            !found.is_empty() && found.iter().all(|p| p.line == Some(3)),
            "{found:#?}"
        );
        assert_one(
            "[intake]\nbatch_size = 1\nx = = 2\n",
            "intake.x",
            3,
            "extra `=`",
        );
        let found = problems("[service]\nname = \"x\"\n[service]\n");
        assert!(
            matches!(&found[..], [p] if p.line == Some(3) && p.message.contains("duplicate")),
            "{found:#?}"
        );
    }

    #[test]
    fn all_problems_are_reported_at_once_in_file_order() {
        let text = "\
[outbox]
max_attempts = 0
[service]
ticket_prefix = \"A B\"
colour = \"blue\"
[transport]
kind = \"smtp\"
host = \"h\"
port = 99999
[intake]
batch_size = 0
";
        let err = parse(text).unwrap_err();
        let keys: Vec<_> = err
            .problems
            .iter()
            .map(|p| (p.key.as_str(), p.line))
            .collect();
        // The unknown key stops only its own section: the rest is still validated.
        assert_eq!(
            keys,
            [
                ("outbox.max_attempts", Some(2)),
                ("service.colour", Some(5)),
                ("transport.port", Some(9)),
                ("intake.batch_size", Some(11)),
            ]
        );
        let shown = err.to_string();
        assert_eq!(shown.lines().count(), 4, "{shown}");
        assert!(
            shown.contains("\nt.toml:9: transport.port: must be 1-65535, not 99999\n"),
            "{shown}"
        );
    }

    #[test]
    fn durations() {
        let ok = [
            ("500ms", Duration::from_millis(500)),
            ("60s", Duration::from_secs(60)),
            ("5m", Duration::from_secs(300)),
            ("2h", Duration::from_secs(7200)),
            ("1d", Duration::from_secs(86_400)),
            (" 10 s ", Duration::from_secs(10)),
            ("0s", Duration::ZERO),
        ];
        for (text, want) in ok {
            assert_eq!(parse_duration(text), Ok(want), "{text:?}");
        }
        for bad in [
            "",
            "60",
            "s",
            "1.5h",
            "-1s",
            "5 minutes",
            "1w",
            "5M",
            "99999999999999999999d",
        ] {
            let err = parse_duration(bad).unwrap_err();
            assert!(
                err.contains("\"500ms\", \"60s\", \"5m\", \"2h\" or \"1d\""),
                "{bad:?}: {err}"
            );
        }
        for d in ["1500ms", "90s", "2h", "3d", "25h", "0d"] {
            assert_eq!(format_duration(parse_duration(d).unwrap()), d);
        }
    }

    #[test]
    fn sizes() {
        let ok = [
            ("1000", 1000),
            ("1000B", 1000),
            ("512KB", 512 * 1024),
            ("512KiB", 512 * 1024),
            ("25MB", 25 << 20),
            ("25mb", 25 << 20),
            ("1GB", 1 << 30),
            ("1 GiB", 1 << 30),
        ];
        for (text, want) in ok {
            assert_eq!(parse_size(text), Ok(want), "{text:?}");
        }
        for bad in ["", "MB", "1.5MB", "-1", "10TB", "25 megs", "99999999999GB"] {
            assert!(
                parse_size(bad).unwrap_err().contains("1 KB = 1024 bytes"),
                "{bad:?}"
            );
        }
        for s in ["1000", "512KB", "25MB", "1GB", "1025"] {
            assert_eq!(format_size(parse_size(s).unwrap()), s);
        }
    }

    #[test]
    fn locate_precedence() {
        let cli = Some(Path::new("/cli.toml"));
        let env = Some(OsStr::new("/env.toml"));
        let empty = Some(OsStr::new(""));
        let etc = Some(PathBuf::from(SYSTEM_CONFIG));
        #[rustfmt::skip]
        let cases = [
            (cli, env, true, Some(PathBuf::from("/cli.toml"))),
            (None, env, true, Some(PathBuf::from("/env.toml"))),
            (None, empty, true, etc.clone()),
            (None, None, true, etc),
            (None, empty, false, None),
            (None, None, false, None),
        ];
        for (cli, env, exists, want) in cases {
            assert_eq!(
                locate(cli, env, |p| exists && p == Path::new(SYSTEM_CONFIG)),
                want,
                "{cli:?} {env:?} {exists}"
            );
        }
    }

    #[test]
    fn relative_paths_are_resolved_against_the_base_dir() {
        let text = "[service]\ndatabase = \"./db/p.db\"\ntemplates = \"templates\"\n\
                    [[source]]\nname = \"a\"\nkind = \"maildir\"\npath = \"../spool/in\"\n\
                    [transport]\nkind = \"smtp\"\nhost = \"h\"\nuser = \"u\"\npassword_file = \"/abs/pw\"\nca_file = \"ca.pem\"";
        let c = Config::from_toml(text, "x", Path::new("/srv/pd")).unwrap();
        assert_eq!(c.service.database, PathBuf::from("/srv/pd/db/p.db"));
        assert_eq!(
            c.service.templates,
            Some(PathBuf::from("/srv/pd/templates"))
        );
        let SourceKind::Maildir { path, .. } = &c.sources[0].kind else {
            panic!("{:?}", c.sources[0])
        };
        assert_eq!(path, Path::new("/srv/pd/../spool/in"));
        let Transport::Smtp(smtp) = &c.transport else {
            panic!("{:?}", c.transport)
        };
        assert_eq!(smtp.password_file.as_deref(), Some(Path::new("/abs/pw")));
        assert_eq!(smtp.ca_file.as_deref(), Some(Path::new("/srv/pd/ca.pem")));
    }

    #[test]
    fn load_takes_paths_from_the_file_directory_and_names_the_file_on_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("postdesk.toml");
        std::fs::write(&file, "[service]\ndatabase = \"var/p.db\"\n").unwrap();
        let c = Config::load(&file).unwrap();
        assert_eq!(c.origin, file.display().to_string());
        assert_eq!(c.service.database, dir.path().join("var/p.db"));

        let missing = dir.path().join("nope.toml");
        let shown = Config::load(&missing).unwrap_err().to_string();
        assert!(
            shown.starts_with(&format!("{}: cannot read:", missing.display())),
            "{shown}"
        );
    }
}
