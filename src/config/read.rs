//! From the parsed document to typed sections. Each section is deserialized on its own, so a
//! mistake in one does not hide those in the others; inside a section, each bad key is reported
//! and taken out and the rest read again, so all its mistakes come at once. Every problem gets
//! the key path (`source[1].port`) and line its span points at.

use std::ops::Range;

use serde::Serializer;
use toml::Spanned;
use toml::de::{DeValue, ValueDeserializer};

use super::Loader;
use super::schema::{
    AccountDef, CalendarKeys, Intake, Knowledge, MaildirKeys, Metrics, OAuth, OpenPgp, Outbox,
    QueueKeys, RuleDef, Schedule, SendmailKeys, Service, Smime, SourceKeys, Staff, StatusAlarms,
    Transport,
};
use super::values::{self, not_one_of};
use crate::domain::AccountSpec;
use crate::domain::calendar::Calendar;
use crate::domain::lifecycle::InactivityRule;

type Value<'a> = Spanned<DeValue<'a>>;

const SECTIONS: &str = "service, queue, source, oauth, transport, intake, outbox, knowledge, staff, openpgp, smime, calendar, inactivity, schedule, status, metrics, account, and the top-level key accounts_file";

/// The keys one `kind` of `[[source]]` or `[transport]` takes, space-separated, and those
/// among them that must be there (with why, for the message).
pub(super) struct Kind {
    pub name: &'static str,
    keys: &'static str,
    required: &'static [(&'static str, &'static str)],
}

const SOURCE_NAME: (&str, &str) = ("name", "every source needs a name for logs and the CLI");
const SERVER: [(&str, &str); 3] = [
    SOURCE_NAME,
    ("host", "the mail server to log in to"),
    ("user", "the login name"),
];

pub(super) const SOURCE_KINDS: &[Kind] = &[
    Kind {
        name: "pop3",
        keys: "name kind host port tls user password_file password_env auth oauth ca_file timeout poll leave_on_server own_address queue",
        required: &SERVER,
    },
    Kind {
        name: "imap",
        keys: "name kind host port tls user password_file password_env auth oauth ca_file timeout poll folder processed_folder idle own_address queue",
        required: &SERVER,
    },
    Kind {
        name: "maildir",
        keys: "name kind path poll queue",
        required: &[SOURCE_NAME, ("path", "the Maildir to take new mail from")],
    },
];

pub(super) const TRANSPORT_KINDS: &[Kind] = &[
    Kind {
        name: "smtp",
        keys: "kind host port tls user password_file auth oauth sasl ca_file timeout helo_name",
        required: &[("host", "the SMTP server to hand mail to")],
    },
    Kind {
        name: "sendmail",
        keys: "kind command args",
        required: &[],
    },
    Kind {
        name: "maildir",
        keys: "kind path",
        required: &[],
    },
];

/// Keys the other tables of a list must have.
const MEMBER: &[(&str, &str)] = &[
    (
        "name",
        "the name staff and customers see, and `#assign` takes",
    ),
    ("address", "the member's address"),
];
const ACCOUNT: &[(&str, &str)] = &[
    ("id", "every account needs an id"),
    ("primary", "the account's registered address"),
];
const QUEUE: &[(&str, &str)] = &[
    ("name", "what `#queue` and `ticket set-queue` take"),
    ("address", "the address customers write to"),
];
const RULE: &[(&str, &str)] = &[(
    "waiting_for",
    "\"staff\" or \"customer\" (whose silence the rule measures)",
)];

/// The sections as read. An absent section is its default; `None` is a section that failed to
/// read (already reported), which is not validated further lest its defaults draw follow-up
/// errors.
pub(super) struct Sections {
    pub service: Option<Service>,
    /// With their key path (`source[2]`), which survives a neighbour failing to read.
    pub sources: Vec<(String, &'static Kind, SourceKeys)>,
    /// `[[oauth]]` credentials with their key path (`oauth[0]`).
    pub oauth: Vec<(String, OAuth)>,
    pub transport: Option<Transport>,
    pub intake: Option<Intake>,
    pub outbox: Option<Outbox>,
    pub knowledge: Option<Knowledge>,
    pub staff: Option<Staff>,
    pub openpgp: Option<OpenPgp>,
    pub smime: Option<Smime>,
    pub calendar: Option<CalendarKeys>,
    /// `None`: no `[[inactivity]]` at all, the default rules apply; a `None` in the list is
    /// a rule that failed to read.
    pub inactivity: Option<Vec<Option<(String, InactivityRule)>>>,
    pub schedule: Option<Schedule>,
    /// `[[queue]]`, each with its key path; a failed one is left out.
    pub queues: Vec<(String, QueueKeys)>,
    pub status: Option<StatusAlarms>,
    pub metrics: Option<Metrics>,
    pub accounts: Vec<(String, AccountSpec)>,
    pub accounts_file: Option<String>,
}

impl<'a> Loader<'a> {
    /// Reports the parser's syntax errors; false if there were any. Recovery tends to echo one
    /// mistake several times on its line: only the first is kept when `dedup`.
    pub(super) fn syntax(&mut self, errors: Vec<toml::de::Error>, dedup: bool) -> bool {
        let ok = errors.is_empty();
        for e in errors {
            let span = e.span();
            let line = span.as_ref().map(|s| self.line(s.start));
            let repeat = self.problems.last().is_some_and(|p| p.line == line);
            if dedup && line.is_some() && repeat {
                continue;
            }
            let key = span.as_ref().and_then(|s| path_near(self.doc, s.start, ""));
            self.at(key.unwrap_or_default(), span, plain(e.message()));
            if !dedup {
                break;
            }
        }
        ok
    }

    pub(super) fn read(&mut self) -> Sections {
        let mut s = Sections {
            service: Some(Service::default()),
            sources: Vec::new(),
            oauth: Vec::new(),
            transport: Some(Transport::Maildir {
                path: "/var/lib/postdesk/sent".into(),
            }),
            intake: Some(Intake::default()),
            outbox: Some(Outbox::default()),
            knowledge: Some(Knowledge::default()),
            staff: Some(Staff::default()),
            openpgp: Some(OpenPgp::default()),
            smime: Some(Smime::default()),
            calendar: Some(CalendarKeys::default()),
            inactivity: None,
            schedule: Some(Schedule::default()),
            queues: Vec::new(),
            status: Some(StatusAlarms::default()),
            metrics: Some(Metrics::default()),
            accounts: Vec::new(),
            accounts_file: None,
        };
        let doc = self.doc;
        let Some(top) = doc.get_ref().as_table() else {
            return s;
        };
        for (key, value) in top.iter() {
            match key.get_ref().as_ref() {
                "service" => s.service = self.de("service", value),
                "queue" => s.queues = self.read_queues(value),
                "source" => s.sources = self.read_sources(value),
                "oauth" => {
                    let list = self.tables("oauth", value, |l, key, item| {
                        l.de(&key, item).map(|o| (key, o))
                    });
                    s.oauth = list.into_iter().flatten().collect();
                }
                "transport" => s.transport = self.read_transport(value),
                "intake" => s.intake = self.de("intake", value),
                "outbox" => s.outbox = self.de("outbox", value),
                "knowledge" => s.knowledge = self.de("knowledge", value),
                "staff" => s.staff = self.read_staff(value),
                "openpgp" => s.openpgp = self.de("openpgp", value),
                "smime" => s.smime = self.de("smime", value),
                "calendar" => s.calendar = self.de("calendar", value),
                "inactivity" => s.inactivity = Some(self.read_inactivity(value)),
                "schedule" => s.schedule = self.de("schedule", value),
                "status" => s.status = self.de("status", value),
                "metrics" => s.metrics = self.de("metrics", value),
                "account" => s.accounts = self.read_accounts(value),
                "accounts_file" => s.accounts_file = self.de("accounts_file", value),
                other => self.at(
                    other,
                    Some(key.span()),
                    format!("unknown section (this version reads only: {SECTIONS})"),
                ),
            }
        }
        s
    }

    pub(super) fn de<T: serde::de::DeserializeOwned>(
        &mut self,
        key: &str,
        value: &Value<'a>,
    ) -> Option<T> {
        self.de_with(key, value, T::deserialize)
    }

    /// Deserializes one value with `f`. serde stops at the first bad key: each is reported,
    /// taken out of a copy, and the copy read again, until it reads or nothing can be taken out
    /// (a missing key, a wrong type for the whole value).
    ///
    /// A value whose only problems were bad values of plain keys is still returned, with the
    /// defaults in their place and their paths in `dropped`, so that its other rules are
    /// checked too (all problems at once). An unknown key, a bad list item or a missing key
    /// makes it `None`: a half-read value would only draw follow-up errors.
    fn de_with<T>(
        &mut self,
        key: &str,
        value: &Value<'a>,
        f: impl Fn(ValueDeserializer<'a>) -> Result<T, toml::de::Error>,
    ) -> Option<T> {
        let mut work = value.clone();
        let mut dropped = Vec::new();
        let mut usable = true;
        loop {
            let e = match f(ValueDeserializer::from(work.clone())) {
                Ok(v) => {
                    self.dropped.extend(dropped);
                    return usable.then_some(v);
                }
                Err(e) => e,
            };
            let span = e.span();
            // The original's paths: the copy's array indices shift as items go.
            let path = span.as_ref().and_then(|s| path_near(value, s.start, key));
            let (path, message) = reword(path.as_deref().unwrap_or(key), e.message());
            // A key taken out, or one `required` reported, leaves a "missing field" behind:
            // not a problem of its own.
            let missing = e.message().starts_with("missing field");
            if missing && (!dropped.is_empty() || self.problems.iter().any(|p| p.key == path)) {
                return None;
            }
            usable &= !missing && !path.ends_with(']') && !message.starts_with("unknown field");
            self.at(&path, span.clone(), message);
            dropped.push(path);
            if !span.is_some_and(|s| remove_at(&mut work, s.start)) {
                return None;
            }
        }
    }

    /// A list of tables (`[[source]]`), each read by `item` with its key path.
    fn tables<T>(
        &mut self,
        name: &str,
        value: &Value<'a>,
        mut item: impl FnMut(&mut Self, String, &Value<'a>) -> Option<T>,
    ) -> Vec<Option<T>> {
        let Some(list) = value.get_ref().as_array() else {
            let extra = if name == "inactivity" {
                " (or [] for no rules)"
            } else {
                ""
            };
            let msg = format!("must be a list of [[{name}]] tables{extra}");
            self.at(name, Some(value.span()), msg);
            return vec![None];
        };
        let items = list.iter().enumerate();
        items
            .map(|(i, v)| item(self, format!("{name}[{i}]"), v))
            .collect()
    }

    fn read_sources(&mut self, value: &Value<'a>) -> Vec<(String, &'static Kind, SourceKeys)> {
        let list = self.tables("source", value, |l, key, item| {
            // A failed source is left out; its neighbours are still checked.
            let (kind, unknown) = l.kind_of(&key, item, SOURCE_KINDS, false)?;
            let keys: SourceKeys = l.de(&key, &without(item, &unknown))?;
            unknown.is_empty().then_some((key, kind, keys))
        });
        list.into_iter().flatten().collect()
    }

    fn read_transport(&mut self, value: &Value<'a>) -> Option<Transport> {
        let (kind, unknown) = self.kind_of("transport", value, TRANSPORT_KINDS, true)?;
        let value = &without(value, &unknown);
        let transport = match kind.name {
            "smtp" => self.de("transport", value).map(Transport::Smtp),
            "sendmail" => {
                let k: SendmailKeys = self.de("transport", value)?;
                Some(Transport::Sendmail {
                    command: k.command,
                    args: k.args,
                })
            }
            _ => {
                let k: MaildirKeys = self.de("transport", value)?;
                Some(Transport::Maildir { path: k.path })
            }
        };
        transport.filter(|_| unknown.is_empty())
    }

    fn read_staff(&mut self, value: &Value<'a>) -> Option<Staff> {
        let members = value.get_ref().get("member");
        let mut ok = true;
        if let Some(list) = members.and_then(|m| m.get_ref().as_array()) {
            for (i, m) in list.iter().enumerate() {
                ok &= self.required(&format!("staff.member[{i}]"), m, MEMBER);
            }
        }
        let staff = self.de("staff", value);
        staff.filter(|_| ok)
    }

    fn read_queues(&mut self, value: &Value<'a>) -> Vec<(String, QueueKeys)> {
        let list = self.tables("queue", value, |l, key, item| {
            let present = l.required(&key, item, QUEUE);
            let queue = l.de(&key, item);
            queue.filter(|_| present).map(|q| (key, q))
        });
        list.into_iter().flatten().collect()
    }

    fn read_inactivity(&mut self, value: &Value<'a>) -> Vec<Option<(String, InactivityRule)>> {
        self.tables("inactivity", value, |l, key, item| {
            let present = l.required(&key, item, RULE);
            let rule = l.de_with(&key, item, RuleDef::deserialize);
            rule.filter(|_| present).map(|r| (key, r))
        })
    }

    pub(super) fn read_accounts(&mut self, value: &Value<'a>) -> Vec<(String, AccountSpec)> {
        let list = self.tables("account", value, |l, key, item| {
            // The one mistake worth its own words: the top-level key written under a table.
            if item.get_ref().get("accounts_file").is_some() {
                l.fail(
                    &format!("{key}.accounts_file"),
                    "accounts_file is a top-level key: write it above the first [section] of the file",
                );
                return None;
            }
            let present = l.required(&key, item, ACCOUNT);
            let account = l.de_with(&key, item, AccountDef::deserialize);
            account.filter(|_| present).map(|a| (key, a))
        });
        list.into_iter().flatten().collect()
    }

    /// Reports each key of `required` missing from the table at `key`; false if any is.
    fn required(&mut self, key: &str, table: &Value<'a>, required: &[(&str, &str)]) -> bool {
        let mut ok = true;
        for (name, why) in required {
            if table.get_ref().get(*name).is_none() {
                self.fail(&format!("{key}.{name}"), format!("missing: {why}"));
                ok = false;
            }
        }
        ok
    }

    /// The `kind` of a source or transport table, its required keys, and its keys that mean
    /// nothing for that kind (so an operator never believes that, say, `port` applies to a
    /// sendmail transport). `default`: the last kind of `kinds` when `kind` is absent.
    fn kind_of(
        &mut self,
        key: &str,
        table: &Value<'a>,
        kinds: &'static [Kind],
        default: bool,
    ) -> Option<(&'static Kind, Vec<String>)> {
        let Some(entries) = table.get_ref().as_table() else {
            // Not a table: serde says what was expected.
            let expected = if default {
                "a [transport] table"
            } else {
                "a [[source]] table"
            };
            self.at(
                key,
                Some(table.span()),
                format!("invalid type: expected {expected}"),
            );
            return None;
        };
        let names: Vec<String> = kinds.iter().map(|k| format!("\"{}\"", k.name)).collect();
        let names = match names.split_last() {
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => String::new(),
        };
        let kind_key = format!("{key}.kind");
        let given = table.get_ref().get("kind");
        let (kind, what) = match given.map(|v| v.get_ref().as_str()) {
            Some(Some(name)) => match kinds.iter().find(|k| k.name == name) {
                Some(k) => (k, format!("kind = \"{name}\"")),
                None => {
                    self.fail(
                        &kind_key,
                        format!("unknown kind \"{name}\": expected {names}"),
                    );
                    return None;
                }
            },
            Some(None) => {
                self.fail(&kind_key, format!("invalid type: expected {names}"));
                return None;
            }
            None if default => {
                let k = kinds.last()?;
                (k, format!("kind = \"{}\" (the default)", k.name))
            }
            None => {
                self.fail(&kind_key, format!("missing: expected kind = {names}"));
                return None;
            }
        };
        // A key of another kind is ignored once reported; an unknown one makes the table
        // unusable, but is returned so that the caller reads the rest for its own problems.
        let mut unknown = Vec::new();
        for name in entries.keys() {
            let name = name.get_ref().as_ref();
            if kind.keys.split(' ').any(|k| k == name) {
                continue;
            }
            let elsewhere = kinds.iter().any(|k| k.keys.split(' ').any(|k| k == name));
            if !elsewhere {
                unknown.push(name.to_string());
            }
            let msg = if elsewhere {
                format!("not used with {what}")
            } else {
                let all: Vec<String> = kind.keys.split(' ').map(|k| format!("`{k}`")).collect();
                format!("unknown field `{name}`, expected one of {}", all.join(", "))
            };
            self.fail(&format!("{key}.{name}"), msg);
        }
        self.required(key, table, kind.required)
            .then_some((kind, unknown))
    }
}

/// `table` without the keys `names` (already reported as unknown), so the
/// rest of it can still be read for its own problems.
fn without<'a>(table: &Value<'a>, names: &[String]) -> Value<'a> {
    let mut copy = table.clone();
    if let DeValue::Table(t) = copy.get_mut() {
        let keys: Vec<_> = t
            .keys()
            .filter(|k| names.iter().any(|n| n.as_str() == k.get_ref().as_ref()))
            .cloned()
            .collect();
        for k in keys {
            t.remove(&k);
        }
    }
    copy
}

/// Rewords serde's messages where ours say more: a choice lists its words the way every other
/// message quotes values, and a missing key is reported at the key.
fn reword(path: &str, message: &str) -> (String, String) {
    let ticks: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    if message.starts_with("unknown variant") && !ticks.is_empty() {
        return (path.to_string(), not_one_of(ticks[0], &ticks[1..]));
    }
    if message.starts_with("missing field") && ticks.len() == 1 {
        return (format!("{path}.{}", ticks[0]), "missing".to_string());
    }
    (path.to_string(), plain(message))
}

/// serde's words for types made the operator's: `expected i64` is "a whole
/// number", `a sequence` is "a list" (issue 18: no Rust in what people read).
pub(super) fn plain(message: &str) -> String {
    let mut out = message.to_string();
    for (rust, words) in [
        ("i64", "a whole number"),
        ("u64", "a whole number"),
        ("u32", "a whole number"),
        ("u16", "a whole number"),
        ("u8", "a whole number"),
        ("usize", "a whole number"),
        ("i32", "a whole number"),
        ("f64", "a number"),
        ("a sequence", "a list"),
        ("sequence", "a list"),
        ("a boolean", "true or false"),
        ("a map", "a table"),
        ("map", "a table"),
    ] {
        out = out
            .replace(&format!("expected {rust}"), &format!("expected {words}"))
            .replace(
                &format!("invalid type: {rust},"),
                &format!("invalid type: {words},"),
            );
    }
    out
}

/// Takes out of `node` the key or item whose key or value starts at `offset` (a bad value's
/// span starts there, an unknown key's too); false if there is none below `node`.
fn remove_at(node: &mut Value<'_>, offset: usize) -> bool {
    match node.get_mut() {
        DeValue::Table(t) => {
            let hit = t
                .iter()
                .find(|(k, v)| k.span().start == offset || v.span().start == offset)
                .map(|(k, _)| k.clone());
            if let Some(k) = hit {
                t.remove(&k);
                return true;
            }
            t.iter_mut().any(|(_, v)| remove_at(v, offset))
        }
        DeValue::Array(a) => {
            if let Some(i) = a.iter().position(|v| v.span().start == offset) {
                *a = a
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, v)| v.clone())
                    .collect();
                return true;
            }
            a.iter_mut().any(|v| remove_at(v, offset))
        }
        _ => false,
    }
}

/// The span of `path` (`source[1].path`), or of its deepest existing ancestor, so a missing key
/// is reported at its table's header. A table's span is its header line.
pub(super) fn span_of(doc: &Value<'_>, path: &str) -> Option<Range<usize>> {
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
pub(super) fn path_near(node: &Value<'_>, offset: usize, path: &str) -> Option<String> {
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
fn visit(node: &Value<'_>, path: &str, f: &mut impl FnMut(usize, &str)) {
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

/// `Config::calendar` as its `[calendar]` table.
pub(super) fn write_calendar<S: Serializer>(c: &Calendar, s: S) -> Result<S::Ok, S::Error> {
    use serde::Serialize;
    CalendarKeys {
        timezone: values::TimeZone(c.timezone()),
        working_days: c.working_days().into_iter().map(values::Weekday).collect(),
        holidays: c.holidays().map(values::Date).collect(),
        working_hours: c.working_hours().map(values::Hours),
    }
    .serialize(s)
}
