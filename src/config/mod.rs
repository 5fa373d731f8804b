//! Configuration: the first step of the flow. `main` finds the operator's TOML file
//! ([`locate`]) and [`Config::load`] turns it into a validated [`Config`] that every later stage
//! reads as typed values; none of them parses or checks a setting again (STYLE principle 4).
//!
//! `schema` holds the sections as serde structs with typed fields (`values` spells durations,
//! sizes and ranges), `read` deserializes each section of the parsed document on its own so
//! that every problem is reported at once with file, line and key, `validate` checks the rules
//! between fields, and `accounts_file` reads a file of `[[account]]` tables.

mod accounts_file;
mod oauth;
mod queues;
mod read;
mod schema;
#[cfg(test)]
mod tests;
mod validate;
mod values;

use std::ffi::OsStr;
use std::fmt::Display;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::{Serialize, Serializer};
use toml::Spanned;
use toml::de::DeValue;

pub use accounts_file::{accounts_from_toml, read_accounts_file};
pub use schema::{
    AuthKind, DEFAULT_DIGEST, DEFAULT_SWEEP, Flow, Intake, Knowledge, MailServer, Metrics, OAuth,
    OAuthLogin, OpenPgp, Outbox, Provider, QueueKeys, QueueRule, Relevance, SaslMechanism,
    Schedule, Secret, Service, Smime, Smtp, Source, SourceKind, Staff, StaffMember, StatusAlarms,
    TlsMode, Transport, UnknownSender, UnmatchedAutomatic,
};
pub use values::{format_duration, format_size, parse_duration, parse_size};

use crate::domain::calendar::Calendar;
use crate::domain::lifecycle::InactivityRule;
use crate::domain::{AccountSpec, Address, Queue};

/// The file [`locate`] falls back to when neither `-c` nor the environment names one.
pub const SYSTEM_CONFIG: &str = "/etc/postdesk/postdesk.toml";
/// The environment variable [`locate`] reads after `-c`.
pub const CONFIG_ENV: &str = "POSTDESK_CONFIG";

/// Local and mail-server-free, so a fresh checkout runs the whole flow (DESIGN, Layout).
const EMBEDDED_DEFAULT: &str = include_str!("../../conf/default.toml");

/// The validated configuration. `Serialize` writes it back as the TOML `check-config` prints
/// (top-level keys first: TOML has no way back to them after a table).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Config {
    /// "embedded default" or the file path, for messages.
    #[serde(skip)]
    pub origin: String,
    /// At most one rule per side; empty when the file says `inactivity = []`.
    #[serde(serialize_with = "no_rules", skip_serializing_if = "has_rules")]
    pub inactivity: Vec<InactivityRule>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accounts_file: Option<PathBuf>,
    pub service: Service,
    #[serde(rename = "source", skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<Source>,
    /// `[[oauth]]` credentials, provider defaults filled in.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub oauth: Vec<OAuth>,
    pub transport: Transport,
    pub intake: Intake,
    pub outbox: Outbox,
    pub knowledge: Knowledge,
    pub staff: Staff,
    #[serde(skip_serializing_if = "is_default_openpgp")]
    pub openpgp: OpenPgp,
    #[serde(skip_serializing_if = "is_default_smime")]
    pub smime: Smime,
    #[serde(serialize_with = "read::write_calendar")]
    pub calendar: Calendar,
    #[serde(skip)]
    pub schedule: Schedule,
    #[serde(skip)]
    pub status: StatusAlarms,
    #[serde(skip)]
    pub metrics: Metrics,
    /// Customer accounts declared in this file (`[[account]]`), then those of
    /// `accounts_file`; applied to the database at start and on every reload
    /// (see `accounts` and `daemon`).
    #[serde(skip)]
    pub accounts: Vec<AccountSpec>,
    /// How many of `accounts` are written inline, the rest coming from
    /// `accounts_file`.
    #[serde(skip)]
    pub inline_accounts: usize,
    /// Every address of the desk itself: `service.address`, its aliases,
    /// and the `user` of each mailbox source that is an address (unless
    /// `own_address = false`). Derived, not a key.
    #[serde(skip)]
    pub own_addresses: Vec<Address>,
    /// The desk's queues, resolved, in the file's order; never empty (a
    /// desk without `[[queue]]` has the implicit one of `[service]`).
    #[serde(skip)]
    pub queues: Vec<Queue>,
    /// `[[queue]]` as written, for `check-config`'s output.
    #[serde(skip)]
    pub queue_tables: Vec<QueueKeys>,
}

fn is_default_smime(o: &Smime) -> bool {
    *o == Smime::default()
}

fn is_default_openpgp(o: &OpenPgp) -> bool {
    *o == OpenPgp::default()
}

fn has_rules(rules: &[InactivityRule]) -> bool {
    !rules.is_empty()
}

fn no_rules<S: Serializer>(_: &[InactivityRule], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(std::iter::empty::<()>())
}

/// The tables after `[calendar]`, in the order the file has them: arrays of tables written
/// by the serializer would come out after every plain table.
#[derive(Serialize)]
struct Tail<'a> {
    #[serde(rename = "inactivity", skip_serializing_if = "Vec::is_empty")]
    rules: Vec<schema::RuleOut<'a>>,
    schedule: &'a Schedule,
    #[serde(rename = "queue", skip_serializing_if = "<[_]>::is_empty")]
    queues: &'a [QueueKeys],
    status: &'a StatusAlarms,
    metrics: &'a Metrics,
    #[serde(rename = "account", skip_serializing_if = "Vec::is_empty")]
    accounts: Vec<schema::AccountOut<'a>>,
}

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

impl Problem {
    /// `FILE:LINE: KEY: MESSAGE`, the line and key when known.
    fn show(&self, file: &str) -> String {
        let line = self.line.map(|l| format!(":{l}")).unwrap_or_default();
        let key = if self.key.is_empty() {
            String::new()
        } else {
            format!(" {}:", self.key)
        };
        format!("{file}{line}:{key} {}", self.message)
    }
}

fn render(file: &str, problems: &[Problem]) -> String {
    let lines: Vec<String> = problems.iter().map(|p| p.show(file)).collect();
    lines.join("\n")
}

impl ConfigError {
    /// A file that cannot be read at all.
    fn unreadable(file: String, e: std::io::Error) -> ConfigError {
        let problem = Problem {
            key: String::new(),
            line: None,
            message: format!("cannot read: {e}"),
        };
        ConfigError {
            file,
            problems: vec![problem],
        }
    }
}

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

    /// The queue named `name` (any case).
    pub fn queue(&self, name: &str) -> Option<&Queue> {
        let same = |q: &&Queue| crate::domain::queue::same_name(&q.name, name);
        self.queues.iter().find(same)
    }

    /// The queue whose mail source `source` holds (`[[source]] queue`).
    pub fn queue_of_source(&self, source: &str) -> Option<&Queue> {
        let s = self.sources.iter().find(|s| s.name == source)?;
        self.queue(s.queue.as_deref()?)
    }

    /// Reads a config file; relative paths in it are taken from the file's directory.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|e| ConfigError::unreadable(file.clone(), e))?;
        Config::from_toml(&text, &file, &base_dir(path))
    }

    /// Parses and validates `text`; `origin` names it in messages.
    pub fn from_toml(text: &str, origin: &str, base_dir: &Path) -> Result<Config, ConfigError> {
        let (doc, syntax) = toml::de::DeTable::parse_recoverable(text);
        let doc = Spanned::new(doc.span(), DeValue::Table(doc.into_inner()));
        let mut l = Loader {
            text,
            doc: &doc,
            base_dir,
            problems: Vec::new(),
            dropped: Vec::new(),
        };
        if !l.syntax(syntax, true) {
            return Err(l.into_error(origin));
        }
        let sections = l.read();
        match l.validate(sections) {
            Some(mut config) if l.problems.is_empty() => {
                config.origin = origin.to_string();
                Ok(config)
            }
            _ => Err(l.into_error(origin)),
        }
    }

    /// The effective configuration with every key that has a value, as TOML that
    /// [`Config::from_toml`] reads back to the same `Config` (optional keys left unset are
    /// omitted: TOML has no null). Paths are written as resolved.
    pub fn to_toml(&self) -> String {
        let tail = Tail {
            rules: self.inactivity.iter().map(schema::RuleOut).collect(),
            schedule: &self.schedule,
            queues: &self.queue_tables,
            status: &self.status,
            metrics: &self.metrics,
            accounts: self.accounts[..self.inline_accounts]
                .iter()
                .map(schema::AccountOut)
                .collect(),
        };
        format!(
            "# Effective postdesk configuration, from \"{}\".\n{}{}\n{}",
            self.origin,
            // A blank line before every table, as between the serializer's own.
            if self.inactivity.is_empty() || self.accounts_file.is_some() {
                ""
            } else {
                "\n"
            },
            write(self),
            write(&tail)
        )
    }
}

/// Plain tables of strings, numbers and lists always serialize; should that ever change, the
/// comment keeps the output valid TOML rather than panicking.
fn write<T: Serialize>(v: &T) -> String {
    toml::to_string(v).unwrap_or_else(|e| format!("# cannot write this part: {e}\n"))
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

/// One pass over one document: the parsed tree (for lines), the directory relative paths
/// hang from, and every problem found so far. `read` fills it from the document, `validate`
/// from the rules between values.
struct Loader<'a> {
    text: &'a str,
    doc: &'a Spanned<DeValue<'a>>,
    base_dir: &'a Path,
    problems: Vec<Problem>,
    /// Keys whose bad value was reported and replaced by the default (see `read`): rules that
    /// involve them are not checked, lest the default draw a follow-up error.
    dropped: Vec<String>,
}

impl Loader<'_> {
    fn line(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        let breaks = self.text.as_bytes()[..end].iter().filter(|&&b| b == b'\n');
        breaks.count() + 1
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
    /// absent. A key already reported for its value is not reported again.
    fn fail(&mut self, key: &str, message: impl Display) {
        if self.dropped(key) {
            return;
        }
        let span = read::span_of(self.doc, key);
        self.at(key, span, message);
    }

    fn dropped(&self, key: &str) -> bool {
        self.dropped.iter().any(|k| k == key)
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
}

/// The directory relative paths in the config file at `path` start from:
/// the file's own, absolute, so the paths stay right whatever the daemon's
/// working directory later is.
pub fn base_dir(path: &Path) -> PathBuf {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf())
}

/// What a config names that only a run reads — a password file or
/// variable, a CA file — with its key and line: `check-config` checks
/// each of them even when the rest of the file has errors, so one run
/// reports them all (a config that does not load has no typed value to
/// take them from).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    /// `source[1].password_file`, `transport.password_file`, …
    pub key: String,
    pub line: usize,
    pub what: NamedKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamedKind {
    /// A password file, resolved against the config's directory.
    Password(PathBuf),
    /// A password in an environment variable.
    PasswordEnv(String),
    /// A CA certificate file, resolved against the config's directory.
    Ca(PathBuf),
    /// A template folder (`service.templates`, `queue[N].templates`).
    Templates(PathBuf),
}

/// Every password file, password variable, CA file and template folder
/// `text` names, in
/// file order. Values that are not strings are left to the loader, which
/// reports them.
pub fn named_files(text: &str, base_dir: &Path) -> Vec<Named> {
    let (doc, _) = toml::de::DeTable::parse_recoverable(text);
    let line = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
    let resolve = |p: &str| -> PathBuf { base_dir.join(p).components().collect() };
    let mut out = Vec::new();
    let mut scan = |table: &toml::de::DeTable<'_>, path: &str| {
        for (name, make) in [("password_file", 0u8), ("password_env", 1), ("ca_file", 2)] {
            let Some(value) = table.get(name) else {
                continue;
            };
            let Some(s) = value.get_ref().as_str() else {
                continue;
            };
            if s.is_empty() {
                continue; // refused by the loader as empty
            }
            let what = match make {
                0 => NamedKind::Password(resolve(s)),
                1 => NamedKind::PasswordEnv(s.to_string()),
                _ => NamedKind::Ca(resolve(s)),
            };
            out.push(Named {
                key: format!("{path}.{name}"),
                line: line(value.span().start),
                what,
            });
        }
    };
    let doc = doc.get_ref();
    if let Some(list) = doc.get("source").and_then(|v| v.get_ref().as_array()) {
        for (i, item) in list.iter().enumerate() {
            if let Some(table) = item.get_ref().as_table() {
                scan(table, &format!("source[{i}]"));
            }
        }
    }
    if let Some(table) = doc.get("transport").and_then(|v| v.get_ref().as_table()) {
        scan(table, "transport");
    }
    // Template folders: `service.templates` and each queue's, a string or
    // a list of strings, each folder with its own line.
    let mut folders = |table: Option<&toml::de::DeTable<'_>>, key: String| {
        let Some(value) = table.and_then(|t| t.get("templates")) else {
            return;
        };
        let list: Vec<&Spanned<DeValue<'_>>> = match value.get_ref().as_array() {
            Some(items) => items.iter().collect(),
            None => vec![value],
        };
        for item in list {
            if let Some(dir) = item.get_ref().as_str().filter(|d| !d.is_empty()) {
                out.push(Named {
                    key: key.clone(),
                    line: line(item.span().start),
                    what: NamedKind::Templates(resolve(dir)),
                });
            }
        }
    };
    folders(
        doc.get("service").and_then(|v| v.get_ref().as_table()),
        "service.templates".into(),
    );
    if let Some(list) = doc.get("queue").and_then(|v| v.get_ref().as_array()) {
        for (i, item) in list.iter().enumerate() {
            folders(item.get_ref().as_table(), format!("queue[{i}].templates"));
        }
    }
    out.sort_by_key(|n| n.line);
    out
}

impl ConfigError {
    /// The line a key is at in the file, for problems found after loading.
    pub fn line_of(text: &str, key: &str) -> Option<usize> {
        let (doc, _) = toml::de::DeTable::parse_recoverable(text);
        let doc = Spanned::new(doc.span(), DeValue::Table(doc.into_inner()));
        let span = read::span_of(&doc, key)?;
        Some(text[..span.start.min(text.len())].matches('\n').count() + 1)
    }
}

/// `FILE:LINE: KEY: MESSAGE`, as every config problem is shown.
pub fn show_problem(file: &str, key: &str, line: Option<usize>, message: &str) -> String {
    Problem {
        key: key.to_string(),
        line,
        message: message.to_string(),
    }
    .show(file)
}
