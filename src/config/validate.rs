//! The rules between values, once each section has read (`read`): what one key cannot say on
//! its own — unique names and ids, a port that follows the TLS mode, plain text only towards
//! loopback, a warning before its close — and the paths resolved against the file's directory.
//! Each problem names the key and its line; all of them are reported at once.

use std::collections::HashMap;
use std::fmt::Display;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::queues::DeskWide;
use super::read::{Kind, Sections};
use super::schema::{
    AuthKind, CalendarKeys, Intake, Knowledge, MailServer, OAuth, OpenPgp, Outbox, Secret, Service,
    Smime, Source, SourceKeys, SourceKind, Staff, Transport,
};
use super::values::{format_duration, format_size, word};
use super::{Config, Loader, accounts_file};
use crate::domain::calendar::Calendar;
use crate::domain::lifecycle::{CloseAfter, InactivityRule};
use crate::domain::{AccountSpec, Address, Language, Queue, SenderPattern};

/// The most of a too-large message's body kept in the quarantine
/// (`intake.max_stored_size`): it is stored in one database value.
const MAX_STORED_SIZE: u64 = 100 << 20;

/// Where an account was written, for messages.
pub(super) struct Place {
    /// `account[3]`.
    pub key: String,
    /// The accounts file, or `None` for the main file.
    pub file: Option<String>,
}

impl Place {
    fn describe(&self) -> String {
        match &self.file {
            None => self.key.clone(),
            Some(f) => format!("{} of {f}", self.key),
        }
    }
}

impl Loader<'_> {
    /// Checks every section that read and builds the config; `None` when a section is missing
    /// (its problems are already recorded).
    pub(super) fn validate(&mut self, s: Sections) -> Option<Config> {
        let service = s.service.and_then(|r| self.service(r));
        let oauth = self.oauth_tables(s.oauth, service.as_ref().map(|s| s.database.as_path()));
        let sources = self.sources(s.sources, &oauth);
        let transport = s.transport.and_then(|t| self.transport(t, &oauth));
        let intake = s.intake.filter(|i| self.intake(i));
        let outbox = s.outbox.filter(|o| self.outbox(o));
        let knowledge = s.knowledge.and_then(|k| self.knowledge(k));
        let staff = s.staff.and_then(|r| self.staff(r));
        // The staff side's mail going to the support address would come
        // back to the desk: a loop by configuration.
        if let (Some(service), Some(staff)) = (&service, &staff) {
            for own in own_addresses(service, &sources, &[]) {
                self.own_address_is_no_staff(&own, staff);
            }
        }
        let queue_tables: Vec<_> = s.queues.iter().map(|(_, q)| q.clone()).collect();
        let queues = match (&service, &intake, &staff) {
            (Some(service), Some(intake), Some(staff)) => {
                let desk = DeskWide {
                    service,
                    intake,
                    staff,
                };
                self.queues(s.queues, &desk)
            }
            _ => None,
        };
        if let (Some(queues), Some(staff)) = (&queues, &staff) {
            self.source_queues(&sources, queues);
            let theirs = queues.iter().skip_while(|q| q.name == Queue::IMPLICIT);
            for own in theirs.flat_map(|q| q.addresses()) {
                self.own_address_is_no_staff(own, staff);
            }
        }
        let openpgp = s.openpgp.and_then(|o| self.openpgp(o));
        let smime = s.smime.and_then(|o| {
            let ca_file = self.opt_path("smime.ca_file", o.ca_file)?;
            Some(Smime { ca_file })
        });
        let calendar = s.calendar.and_then(|c| self.calendar(c));
        let inactivity = match s.inactivity {
            None => Some(InactivityRule::defaults()),
            Some(list) => self.inactivity(list),
        };

        // Accounts: those written here, then those of accounts_file, checked together.
        let mut accounts: Vec<(Place, AccountSpec)> = Vec::new();
        for (key, a) in s.accounts {
            if let Some(mut a) = self.account(&key, a) {
                a.openpgp_key = a.openpgp_key.map(|p| self.base_dir.join(p));
                a.smime_cert = a.smime_cert.map(|p| self.base_dir.join(p));
                accounts.push((Place { key, file: None }, a));
            }
        }
        let inline_accounts = accounts.len();
        let accounts_file = s
            .accounts_file
            .and_then(|p| self.path("accounts_file", p.into()));
        // Without the file's accounts, parents in it would look missing.
        if self.read_accounts_file(accounts_file.as_deref(), &mut accounts) {
            self.check_accounts(&accounts, intake.as_ref());
        }

        let queues = queues?;
        Some(Config {
            own_addresses: own_addresses(service.as_ref()?, &sources, &queues),
            queues,
            queue_tables,
            origin: String::new(),
            service: service?,
            sources,
            oauth,
            transport: transport?,
            intake: intake?,
            outbox: outbox?,
            knowledge: knowledge?,
            staff: staff?,
            openpgp: openpgp?,
            smime: smime?,
            calendar: calendar?,
            inactivity: inactivity?,
            schedule: s.schedule?,
            status: s.status?,
            metrics: s.metrics?,
            accounts: accounts.into_iter().map(|(_, a)| a).collect(),
            inline_accounts,
            accounts_file,
        })
    }

    /// `[knowledge]`: its folder resolved like every path.
    fn knowledge(&mut self, mut k: Knowledge) -> Option<Knowledge> {
        k.path = self.opt_path("knowledge.path", k.path)?;
        Some(k)
    }

    /// A path resolved against the config file's directory.
    fn path(&mut self, key: &str, raw: PathBuf) -> Option<PathBuf> {
        if !self.check(!raw.as_os_str().is_empty(), key, "must not be empty") {
            return None;
        }
        // `components()` drops the `.` a join leaves in `/etc/postdesk/./var`.
        Some(self.base_dir.join(raw).components().collect())
    }

    pub(super) fn opt_path(&mut self, key: &str, raw: Option<PathBuf>) -> Option<Option<PathBuf>> {
        match raw {
            None => Some(None),
            Some(p) => self.path(key, p).map(Some),
        }
    }

    /// A list of paths, each resolved as [`Self::path`].
    pub(super) fn paths(&mut self, key: &str, raw: Vec<PathBuf>) -> Option<Vec<PathBuf>> {
        let resolved: Vec<Option<PathBuf>> = raw.into_iter().map(|p| self.path(key, p)).collect();
        resolved.into_iter().collect()
    }

    /// A key `read` saw present (or that has a default), which must not be blank either.
    pub(super) fn filled(&mut self, key: &str, value: &str, why: &str) -> bool {
        let ok = !value.trim().is_empty();
        self.check(ok, key, format!("must not be empty: {why}"))
    }

    fn service(&mut self, mut s: Service) -> Option<Service> {
        let mut ok = self.check(
            !s.name.trim().is_empty() && !s.name.contains(char::is_control),
            "service.name",
            "must be one non-empty line (it is the display name on every mail postdesk sends)",
        );
        ok &= self.check(
            s.ticket_prefix.len() <= 20
                && word(&s.ticket_prefix, |c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
            "service.ticket_prefix",
            "must be 1-20 characters of A-Z a-z 0-9 _ - (it goes inside the subject token [PREFIX #N])",
        );
        ok &= self.check(
            !s.ticket_types.is_empty(),
            "service.ticket_types",
            "must list at least one type (the first is the type of a new ticket)",
        );
        for (i, t) in s.ticket_types.iter().enumerate() {
            let key = format!("service.ticket_types[{i}]");
            if !word(t, |c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
            }) {
                ok = false;
                let msg =
                    format!("\"{t}\" must be lowercase a-z, 0-9 or - (staff write `#type {t}`)");
                self.fail(&key, msg);
            } else if let Some(j) = s.ticket_types[..i].iter().position(|u| u == t) {
                ok = false;
                self.fail(
                    &key,
                    format!("\"{t}\" is already service.ticket_types[{j}]"),
                );
            }
        }
        for (lang, names) in &s.type_names {
            let key = format!("service.type_names.{lang}");
            if Language::from_code(lang).is_none() {
                let codes: Vec<&str> = Language::ALL.iter().map(|l| l.as_str()).collect();
                ok = self.check(
                    false,
                    &key,
                    format!(
                        "\"{lang}\" is no language of the desk: one of {}",
                        codes.join(", ")
                    ),
                );
            }
            for (ty, name) in names {
                let key = format!("{key}.{ty}");
                if !s.ticket_types.contains(ty) {
                    ok = self.check(
                        false,
                        &key,
                        format!("\"{ty}\" is not one of service.ticket_types"),
                    );
                } else if name.trim().is_empty() {
                    ok = self.check(false, &key, "the name must not be empty");
                }
            }
        }
        let database = self.path("service.database", s.database);
        let templates = self.paths("service.templates", s.templates);
        s.database = database?;
        s.templates = templates?;
        ok.then_some(s)
    }

    fn sources(
        &mut self,
        list: Vec<(String, &'static Kind, SourceKeys)>,
        oauth: &[OAuth],
    ) -> Vec<Source> {
        let mut out = Vec::new();
        let mut names: HashMap<String, String> = HashMap::new();
        for (key, kind, k) in list {
            let name_key = format!("{key}.name");
            let why = "every source needs a name for logs and the CLI";
            if self.filled(&name_key, &k.name, why) {
                self.check(
                    word(&k.name, |c| c.is_ascii_alphanumeric() || "_.-".contains(c)),
                    &name_key,
                    "must be letters, digits, _ . or -",
                );
            }
            if let Some(first) = names.get(&k.name) {
                self.fail(
                    &name_key,
                    format!("\"{}\" is already the name of {first}", k.name),
                );
            } else {
                names.insert(k.name.clone(), key.clone());
            }
            let name = k.name.clone();
            let queue = k.queue.clone();
            if let Some(kind) = self.source(&key, kind, k, oauth) {
                out.push(Source { name, queue, kind });
            }
        }
        out
    }

    fn source(
        &mut self,
        key: &str,
        kind: &Kind,
        k: SourceKeys,
        oauth: &[OAuth],
    ) -> Option<SourceKind> {
        match kind.name {
            "maildir" => {
                let path = self.path(&format!("{key}.path"), k.path)?;
                let poll = k.poll.unwrap_or(Duration::from_secs(5));
                Some(SourceKind::Maildir { path, poll })
            }
            "pop3" => {
                let leave_on_server = k.leave_on_server;
                let server =
                    self.mail_server(key, k, (995, 110), Duration::from_secs(60), oauth)?;
                Some(SourceKind::Pop3 {
                    server,
                    leave_on_server,
                })
            }
            _ => {
                let folder_key = format!("{key}.folder");
                let folder_ok = |f: &str| !f.trim().is_empty() && !f.contains(char::is_control);
                let mut ok = self.check(folder_ok(&k.folder), &folder_key, "must be a folder name");
                if let Some(p) = &k.processed_folder {
                    let pkey = format!("{key}.processed_folder");
                    let why = "must be a folder name (leave it out to expunge instead)";
                    ok &= self.check(folder_ok(p), &pkey, why)
                        && self.check(
                            *p != k.folder,
                            &pkey,
                            format!("must differ from {folder_key} (\"{}\"): mail moved there would be taken again", k.folder),
                        );
                }
                let (folder, processed_folder, idle) =
                    (k.folder.clone(), k.processed_folder.clone(), k.idle);
                let server = self.mail_server(key, k, (993, 143), Duration::from_secs(300), oauth);
                server.filter(|_| ok).map(|server| SourceKind::Imap {
                    server,
                    folder,
                    processed_folder,
                    idle,
                })
            }
        }
    }

    /// The connection keys of a pop3 or imap source; `ports` are the
    /// defaults for implicit TLS and for starttls/none.
    fn mail_server(
        &mut self,
        key: &str,
        k: SourceKeys,
        ports: (u16, u16),
        poll: Duration,
        oauth: &[OAuth],
    ) -> Option<MailServer> {
        let at = |name: &str| format!("{key}.{name}");
        let mut ok = self.filled(&at("host"), &k.host, "the mail server to log in to");
        ok &= self.filled(&at("user"), &k.user, "the login name");
        ok &= self.plain_only_to_loopback(&at("tls"), k.tls, &k.host, "the password");
        let port = match (k.port, k.tls) {
            (0, super::TlsMode::Implicit) => ports.0,
            (0, _) => ports.1,
            (port, _) => port,
        };
        let login = self.oauth_login(key, k.auth, k.oauth.as_deref(), oauth);
        let password = match (login, k.password_file, k.password_env) {
            (Err(()), _, _) => None,
            (Ok(Some(login)), file, env) => {
                let extra = if file.is_some() {
                    Some("password_file")
                } else {
                    env.is_some().then_some("password_env")
                };
                match extra {
                    Some(extra) => {
                        self.fail(&at(extra), "not used with auth = \"oauth2\"");
                        None
                    }
                    None => Some(Secret::OAuth(login)),
                }
            }
            (Ok(None), Some(_), Some(_)) => {
                let msg = format!("set {} or password_env, not both", at("password_file"));
                self.fail(&at("password_env"), msg);
                None
            }
            (Ok(None), Some(file), None) => self.path(&at("password_file"), file).map(Secret::File),
            (Ok(None), None, Some(var)) => {
                let ok = self.check(
                    word(&var, |c| c.is_ascii_alphanumeric() || c == '_'),
                    &at("password_env"),
                    "must be an environment variable name (A-Z, 0-9, _)",
                );
                ok.then_some(Secret::Env(var))
            }
            (Ok(None), None, None) => {
                let msg = format!(
                    "missing: set password_file (a file holding the password), {} or auth = \"oauth2\"",
                    at("password_env")
                );
                self.fail(&at("password_file"), msg);
                None
            }
        };
        let ca_file = self.opt_path(&at("ca_file"), k.ca_file);
        let server = MailServer {
            host: k.host,
            port,
            tls: k.tls,
            user: k.user,
            password: password?,
            ca_file: ca_file?,
            timeout: k.timeout,
            poll: k.poll.unwrap_or(poll),
            own_address: k.own_address,
        };
        ok.then_some(server)
    }

    /// `tls = "none"` only towards a loopback host: without TLS, customers' mail and
    /// `secret` cross the network in clear.
    fn plain_only_to_loopback(
        &mut self,
        key: &str,
        tls: super::TlsMode,
        host: &str,
        secret: &str,
    ) -> bool {
        self.check(
            tls != super::TlsMode::None || is_loopback(host),
            key,
            format!(
                "\"none\" is allowed only when host is a loopback address (127.0.0.0/8, ::1, localhost): \
                 without TLS, customers' mail and {secret} cross the network in clear"
            ),
        )
    }

    fn transport(&mut self, t: Transport, oauth: &[OAuth]) -> Option<Transport> {
        match t {
            Transport::Smtp(mut s) => {
                let login = self.oauth_login("transport", s.auth, s.oauth.as_deref(), oauth);
                let Ok(login) = login else { return None };
                if let Some(login) = login {
                    let ok = self.check(
                        s.password_file.is_none(),
                        "transport.password_file",
                        "not used with auth = \"oauth2\"",
                    ) & self.check(
                        s.user.is_some(),
                        "transport.user",
                        "missing: the mailbox to sign in as (auth = \"oauth2\")",
                    );
                    s.oauth_login = Some(login);
                    s.auth = Some(AuthKind::Oauth2);
                    if s.port == 0 {
                        s.port = s.tls.default_port();
                    }
                    let ca_file = self.opt_path("transport.ca_file", s.ca_file.take());
                    s.ca_file = ca_file?;
                    let plain = self.plain_only_to_loopback(
                        "transport.tls",
                        s.tls,
                        &s.host,
                        "the access token",
                    );
                    return (ok && plain).then_some(Transport::Smtp(s));
                }
                let mut ok = self.check(
                    s.sasl.is_none(),
                    "transport.sasl",
                    "only with auth = \"oauth2\" (it names the token mechanism)",
                );
                ok &= self.filled("transport.host", &s.host, "the SMTP server to hand mail to");
                ok &= self.plain_only_to_loopback(
                    "transport.tls",
                    s.tls,
                    &s.host,
                    "the SMTP password",
                );
                if s.port == 0 {
                    s.port = s.tls.default_port();
                }
                // The pair, both ways: half a login either fails at the server or is silently unused.
                let pair = ["transport.user", "transport.password_file"];
                // When one of them was reported already, the pair rule waits for both.
                if !pair.iter().any(|k| self.dropped(k)) {
                    ok &= self.check(
                        s.user.is_some() || s.password_file.is_none(),
                        "transport.password_file",
                        "set transport.user too (user and password_file go together)",
                    );
                    ok &= self.check(
                    s.password_file.is_some() || s.user.is_none(),
                    "transport.user",
                    "set transport.password_file too (user and password_file go together; the password itself never goes in this file)",
                );
                }
                if let Some(helo) = &s.helo_name {
                    ok &= self.check(
                        word(helo, |c| c.is_ascii_graphic()),
                        "transport.helo_name",
                        "must be a host name (no spaces)",
                    );
                }
                let password_file =
                    self.opt_path("transport.password_file", s.password_file.take());
                let ca_file = self.opt_path("transport.ca_file", s.ca_file.take());
                s.password_file = password_file?;
                s.ca_file = ca_file?;
                ok.then_some(Transport::Smtp(s))
            }
            // Not resolved against the config directory, and no $PATH search: under
            // systemd the daemon's PATH is minimal, so the program must be named exactly.
            Transport::Sendmail { command, args } => self
                .check(
                    command.is_absolute(),
                    "transport.command",
                    "must be an absolute path (the daemon does not search $PATH)",
                )
                .then_some(Transport::Sendmail { command, args }),
            Transport::Maildir { path } => {
                let path = self.path("transport.path", path)?;
                Some(Transport::Maildir { path })
            }
        }
    }

    fn intake(&mut self, i: &Intake) -> bool {
        let mut ok = self.check(
            i.max_stored_size <= MAX_STORED_SIZE,
            "intake.max_stored_size",
            format!("must be at most {}", format_size(MAX_STORED_SIZE)),
        );
        let lists = [
            ("blocked_domains", &i.blocked_domains),
            ("priority_domains", &i.priority_domains),
        ];
        for (name, list) in lists {
            for (j, p) in list.iter().enumerate() {
                if let SenderPattern::Address(_) = p {
                    ok = false;
                    self.fail(
                        &format!("intake.{name}[{j}]"),
                        format!("\"{p}\" is an address: this list takes domains (x.example, *.x.example); addresses go in intake.blocked_addresses"),
                    );
                }
            }
        }
        if let Some(id) = &i.authserv_id {
            ok &= self.check(
                word(id, |c| c.is_ascii_graphic() && c != ';' && c != '"'),
                "intake.authserv_id",
                "must be the authserv-id your MTA writes in Authentication-Results, one word (usually its host name)",
            );
        }
        for (j, p) in i.require_proof_for.iter().enumerate() {
            if let Err(e) = super::schema::proof_rule(p) {
                ok = false;
                self.fail(
                    &format!("intake.require_proof_for[{j}]"),
                    format!("\"{p}\" is neither a word nor a regular expression: {e}"),
                );
            }
        }
        ok & self.check(
            !i.require_authentication || i.authserv_id.is_some() || self.dropped("intake.authserv_id"),
            "intake.require_authentication",
            "needs intake.authserv_id: without it no Authentication-Results is trusted, and every sender would be a stranger",
        )
    }

    /// `[openpgp]`: paths resolved; a passphrase or older keys need the key.
    fn openpgp(&mut self, o: OpenPgp) -> Option<OpenPgp> {
        let has_key = o.secret_key_file.is_some();
        let ok = self.check(
            has_key || (o.passphrase_file.is_none() && o.extra_secret_keys.is_empty()),
            "openpgp.secret_key_file",
            "is needed with passphrase_file and extra_secret_keys",
        );
        let secret_key_file = self.opt_path("openpgp.secret_key_file", o.secret_key_file)?;
        let passphrase_file = self.opt_path("openpgp.passphrase_file", o.passphrase_file)?;
        let staff_key_file = self.opt_path("openpgp.staff_key_file", o.staff_key_file)?;
        let extra_secret_keys = o
            .extra_secret_keys
            .into_iter()
            .map(|p| self.path("openpgp.extra_secret_keys", p))
            .collect::<Option<Vec<_>>>()?;
        let public_keys = o
            .public_keys
            .into_iter()
            .map(|p| self.path("openpgp.public_keys", p))
            .collect::<Option<Vec<_>>>()?;
        ok.then_some(OpenPgp {
            secret_key_file,
            passphrase_file,
            extra_secret_keys,
            staff_key_file,
            public_keys,
        })
    }

    fn outbox(&mut self, o: &Outbox) -> bool {
        self.check(
            o.retry_initial <= o.retry_max || self.dropped("outbox.retry_max"),
            "outbox.retry_initial",
            format!(
                "must not exceed outbox.retry_max ({})",
                format_duration(o.retry_max)
            ),
        )
    }

    fn staff(&mut self, mut s: Staff) -> Option<Staff> {
        let mut ok = true;
        for (i, a) in s.notify.iter().enumerate() {
            if let Some(j) = s.notify[..i].iter().position(|b| b == a) {
                ok = self.check(
                    false,
                    &format!("staff.notify[{i}]"),
                    format!("\"{a}\" is already staff.notify[{j}]"),
                );
            }
        }
        // Every address (or alias) names one member, so a mail is one
        // member's; names are what `#assign` takes, so they are unique too.
        let mut seen: Vec<(Address, String)> = Vec::new();
        for i in 0..s.members.len() {
            let key = format!("staff.member[{i}]");
            let name = s.members[i].name.trim().to_string();
            let why = "the name staff and customers see, and `#assign` takes";
            ok &= self.filled(&format!("{key}.name"), &name, why);
            if name.contains(char::is_control) {
                ok = self.check(false, &format!("{key}.name"), "must be one line");
            }
            if let Some(j) = s.members[..i]
                .iter()
                .position(|o| o.name.eq_ignore_ascii_case(&name))
            {
                ok = self.check(
                    false,
                    &format!("{key}.name"),
                    format!("\"{name}\" is already staff.member[{j}]'s name"),
                );
            }
            s.members[i].name = name;
            let m = &s.members[i];
            let mut all = vec![(m.address.clone(), format!("{key}.address"))];
            let aliases = m.aliases.iter().enumerate();
            all.extend(aliases.map(|(j, a)| (a.clone(), format!("{key}.aliases[{j}]"))));
            for (a, k) in all {
                if let Some((_, first)) = seen.iter().find(|(b, _)| *b == a) {
                    ok = self.check(false, &k, format!("{a} is already {first}"));
                } else {
                    seen.push((a, k));
                }
            }
        }
        ok.then_some(s)
    }

    fn own_address_is_no_staff(&mut self, own: &Address, staff: &Staff) {
        let why = format!(
            "is {own}, an address of the desk itself (service.address, service.aliases, a queue's address or alias, or a source's user): the desk would mail itself"
        );
        for (i, a) in staff.notify.iter().enumerate() {
            self.check(a != own, &format!("staff.notify[{i}]"), &why);
        }
        for (i, m) in staff.members.iter().enumerate() {
            let key = format!("staff.member[{i}]");
            self.check(m.address != *own, &format!("{key}.address"), &why);
            for (j, a) in m.aliases.iter().enumerate() {
                self.check(a != own, &format!("{key}.aliases[{j}]"), &why);
            }
        }
    }

    fn calendar(&mut self, c: CalendarKeys) -> Option<Calendar> {
        let mut ok = self.check(
            !c.working_days.is_empty(),
            "calendar.working_days",
            "must list at least one day: with no working day nothing would ever be closed",
        );
        let days: Vec<chrono::Weekday> = c.working_days.iter().map(|d| d.0).collect();
        for (i, d) in days.iter().enumerate() {
            if days[..i].contains(d) {
                let name = crate::domain::calendar::WEEKDAYS[d.num_days_from_monday() as usize];
                let key = format!("calendar.working_days[{i}]");
                ok = self.check(false, &key, format!("\"{name}\" is listed twice"));
            }
        }
        let holidays: Vec<chrono::NaiveDate> = c.holidays.iter().map(|d| d.0).collect();
        for (i, d) in holidays.iter().enumerate() {
            if holidays[..i].contains(d) {
                let key = format!("calendar.holidays[{i}]");
                ok = self.check(false, &key, format!("\"{d}\" is listed twice"));
            }
        }
        let hours = c.working_hours.map(|h| h.0);
        ok.then(|| Calendar::new(c.timezone.0, &days, &holidays).with_hours(hours))
    }

    /// The rules that read (a `None` is one that did not): each checked, one per side.
    pub(super) fn inactivity(
        &mut self,
        list: Vec<Option<(String, InactivityRule)>>,
    ) -> Option<Vec<InactivityRule>> {
        let mut ok = true;
        let mut rules: Vec<InactivityRule> = Vec::new();
        for item in list {
            let Some((key, rule)) = item else {
                ok = false;
                continue;
            };
            ok &= self.rule(&key, &rule);
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
        ok.then_some(rules)
    }

    fn rule(&mut self, key: &str, r: &InactivityRule) -> bool {
        let mut ok = true;
        for (i, &span) in r.warn_after.iter().enumerate() {
            let wkey = format!("{key}.warn_after[{i}]");
            if span.is_zero() {
                ok = self.check(false, &wkey, "must be greater than zero");
                continue;
            }
            // Ordered where the order is known without a start date; mixed
            // units are ordered per ticket (see lifecycle::plan).
            let earlier = &r.warn_after[..i];
            if let Some(j) = earlier
                .iter()
                .rposition(|p| p.comparable(span) && p.magnitude() >= span.magnitude())
            {
                let msg = format!(
                    "\"{span}\" must be longer than warn_after[{j}] ({})",
                    earlier[j]
                );
                ok = self.check(false, &wkey, msg);
            }
            match r.close_after {
                CloseAfter::Immediately => {
                    let msg = "is never sent: close_after = \"\" closes the ticket at once";
                    ok = self.check(false, &wkey, msg);
                }
                CloseAfter::After(c) if c.comparable(span) && span.magnitude() >= c.magnitude() => {
                    let msg = format!(
                        "\"{span}\" is not before close_after ({c}): the ticket is closed first"
                    );
                    ok = self.check(false, &wkey, msg);
                }
                _ => {}
            }
        }
        ok
    }

    /// One account as read: one line of name, the id when it has none.
    pub(super) fn account(&mut self, key: &str, mut a: AccountSpec) -> Option<AccountSpec> {
        if a.name.trim().is_empty() {
            a.name = a.id.to_string();
        }
        let ok = !a.name.contains(char::is_control);
        self.check(ok, &format!("{key}.name"), "must be one line")
            .then_some(a)
    }

    /// Adds the accounts of `accounts_file`; false when it cannot be read or has problems.
    /// Its problems are reported at the accounts_file key, each naming its own line.
    fn read_accounts_file(
        &mut self,
        path: Option<&Path>,
        accounts: &mut Vec<(Place, AccountSpec)>,
    ) -> bool {
        let Some(path) = path else { return true };
        match accounts_file::read_accounts_file(path) {
            Ok(list) => {
                let file = path.display().to_string();
                // Key files named in it are relative to its directory.
                let dir = path.parent().unwrap_or(Path::new("")).to_path_buf();
                accounts.extend(list.into_iter().map(|(key, mut a)| {
                    a.openpgp_key = a.openpgp_key.map(|p| dir.join(p));
                    a.smime_cert = a.smime_cert.map(|p| dir.join(p));
                    let file = Some(file.clone());
                    (Place { key, file }, a)
                }));
                true
            }
            Err(e) => {
                for p in &e.problems {
                    self.fail("accounts_file", p.show(&e.file));
                }
                false
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
                let msg = format!("\"{}\" is already the id of {}", a.id, first.describe());
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
                        "\"{parent}\" is not a declared account (a declared account's parent must be declared too)"
                    );
                    self.fail_at(place, "parent", msg);
                }
            }
            if let Some(hash) = &a.pin_hash
                && let Err(e) = crate::domain::proof::check_pin_hash(hash)
            {
                self.fail_at(place, "pin_hash", e);
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
}

/// The desk's own addresses: see [`Config::own_addresses`].
fn own_addresses(service: &Service, sources: &[Source], queues: &[Queue]) -> Vec<Address> {
    let mut out = vec![service.address.clone()];
    let users = sources.iter().filter_map(|s| match &s.kind {
        SourceKind::Pop3 { server, .. } | SourceKind::Imap { server, .. } if server.own_address => {
            // A Dovecot master-user login ("user*admin") opens user's box.
            let user = server.user.split('*').next().unwrap_or_default();
            Address::parse(user).ok()
        }
        _ => None,
    });
    let queued = queues.iter().flat_map(|q| q.addresses().cloned());
    for a in service.aliases.iter().cloned().chain(queued).chain(users) {
        if !out.contains(&a) {
            out.push(a);
        }
    }
    out
}

/// Non-empty and every character allowed.
pub(super) fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}
