//! The sections of `postdesk.toml` as typed serde structs, each with its defaults beside its
//! fields: what the rest of postdesk reads, and what `check-config` prints (`Serialize`). Values
//! are parsed here, once (see `values`); rules between fields are in `validate`.
//!
//! Where the file is flatter than the value (a `[[source]]` holds the server and the password
//! beside the kind's own keys), a `…Keys` struct reads the file and `validate` builds the value.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::values::{
    self, choice, choice_opt, close_after, duration, folders, folders_opt, range, size, text_list,
};
use crate::domain::calendar::Span;
use crate::domain::lifecycle::{CloseAfter, InactivityRule, Side};
use crate::domain::{AccountId, AccountSpec, Address, Language, MatchOptions, SenderPattern};

// ---------------------------------------------------------------------------
// [service]
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields, expecting = "a [service] table")]
pub struct Service {
    pub name: String,
    pub address: Address,
    /// Other addresses that reach the desk (a second mailbox, old
    /// addresses): never participants, never mailed, mail from them is a
    /// loop.
    #[serde(with = "text_list")]
    pub aliases: Vec<Address>,
    pub ticket_prefix: String,
    #[serde(with = "choice")]
    pub default_language: Language,
    pub database: PathBuf,
    /// Template folders, searched in order before the built-in set
    /// (a file in the first that has it wins); empty: the built-in set.
    /// One folder may be written as a string.
    #[serde(with = "folders", skip_serializing_if = "Vec::is_empty")]
    pub templates: Vec<PathBuf>,
    /// Never empty; the first is the type of a new ticket.
    pub ticket_types: Vec<String>,
    /// `[service.type_names.fr] billing = "facturation"`: the name a mail
    /// in that language gives a type (else its id).
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub type_names: crate::domain::words::TypeNames,
    /// The From of announcements (`postdesk announce`); `None`: `address`.
    pub announce_from: Option<Address>,
}

impl Default for Service {
    fn default() -> Service {
        Service {
            name: "Support".into(),
            address: Address::parse("support@localhost").expect("a valid address"),
            aliases: Vec::new(),
            ticket_prefix: "SUPPORT".into(),
            default_language: Language::En,
            database: "/var/lib/postdesk/postdesk.db".into(),
            templates: Vec::new(),
            ticket_types: ["technical", "billing", "refund"]
                .map(String::from)
                .to_vec(),
            type_names: Default::default(),
            announce_from: None,
        }
    }
}

// ---------------------------------------------------------------------------
// [[queue]]
// ---------------------------------------------------------------------------

/// One `[[queue]]` as written: every key but `name` and `address` may be
/// left out, and then the desk-wide setting applies (`validate` resolves
/// it into a [`crate::domain::Queue`]). Kept for `check-config`'s output.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, expecting = "a [[queue]] table")]
pub struct QueueKeys {
    pub name: String,
    pub address: Address,
    #[serde(default, with = "text_list", skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_types: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_type: Option<String>,
    #[serde(default, with = "choice_opt", skip_serializing_if = "Option::is_none")]
    pub default_language: Option<Language>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirm_receipt: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown_sender: Option<UnknownSender>,
    /// The team's notification addresses; with `members`, its members too.
    #[serde(default, with = "text_list", skip_serializing_if = "Vec::is_empty")]
    pub notify: Vec<Address>,
    /// Names of `[[staff.member]]`s (a member may be in several queues).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
    /// Absent: the desk's `templates`.
    #[serde(default, with = "folders_opt", skip_serializing_if = "Option::is_none")]
    pub templates: Option<Vec<PathBuf>>,
    /// `[[queue.inactivity]]`; absent: the desk's `[[inactivity]]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inactivity: Option<Vec<QueueRule>>,
}

/// One `[[queue.inactivity]]` table: an `[[inactivity]]` rule.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct QueueRule(#[serde(with = "RuleDef")] pub InactivityRule);

// ---------------------------------------------------------------------------
// [[source]]
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    pub name: String,
    /// The `[[queue]]` whose mail this source holds (its envelope): a
    /// message from it is routed there whatever its To says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    #[serde(flatten)]
    pub kind: SourceKind,
}

/// Written with `kind = "…"` among the other keys. Read by `read::kind_of` and [`SourceKeys`]
/// instead of serde's internally tagged enums, which buffer the table and so lose the line of
/// every key in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SourceKind {
    /// New mail is taken from `path/new`.
    Maildir {
        path: PathBuf,
        #[serde(with = "duration")]
        poll: Duration,
    },
    /// A POP3 mailbox (RFC 1939): mail is deleted once committed, unless
    /// `leave_on_server`.
    Pop3 {
        #[serde(flatten)]
        server: MailServer,
        leave_on_server: bool,
    },
    /// An IMAP folder (RFC 3501): mail is moved to `processed_folder` once
    /// committed, or flagged \Deleted and expunged when there is none.
    Imap {
        #[serde(flatten)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MailServer {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub user: String,
    #[serde(flatten)]
    pub password: Secret,
    pub ca_file: Option<PathBuf>,
    /// Connect and per-command limit; a server slower than this is "down".
    #[serde(with = "duration")]
    pub timeout: Duration,
    /// How often to look for new mail (for IMAP with IDLE: the longest wait
    /// between two full looks).
    #[serde(with = "duration")]
    pub poll: Duration,
    /// `user` is an address of the desk (when it looks like one): see
    /// `Config::own_addresses`.
    pub own_address: bool,
}

/// Where a password is read from, each time it is needed (so a rotated
/// password applies at the next connection), or the OAuth 2.0 credential
/// that signs in instead (`auth = "oauth2"`). Never the secret itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Secret {
    /// `oauth = "NAME"`: the `[[oauth]]` table of that name.
    #[serde(rename = "oauth")]
    OAuth(OAuthLogin),
    /// A file holding the password (mode 0600); its final line break is not part of it.
    #[serde(rename = "password_file")]
    File(PathBuf),
    /// An environment variable of the daemon (systemd `LoadCredential=`/`Environment=`).
    #[serde(rename = "password_env")]
    Env(String),
}

impl Secret {
    /// Reads the password; the error says where it looked (never the value).
    pub fn read(&self) -> Result<String, String> {
        let value = match self {
            Secret::OAuth(o) => {
                return Err(format!(
                    "signs in with [[oauth]] {}, not a password",
                    o.0.name
                ));
            }
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
                Secret::OAuth(_) => unreachable!("returned above"),
            });
        }
        Ok(password.to_string())
    }
}

/// A `[[source]]` table of any kind, its keys already checked against the kind (`read`). The
/// defaults that depend on the kind (port, poll) are `None` or 0 here.
#[derive(Debug, Deserialize)]
#[serde(default)]
pub(super) struct SourceKeys {
    pub name: String,
    pub path: PathBuf,
    #[serde(deserialize_with = "duration_opt")]
    pub poll: Option<Duration>,
    pub host: String,
    /// 0: the usual port for `tls`.
    #[serde(deserialize_with = "values::port")]
    pub port: u16,
    pub tls: TlsMode,
    pub user: String,
    pub password_file: Option<PathBuf>,
    pub password_env: Option<String>,
    pub auth: Option<AuthKind>,
    pub oauth: Option<String>,
    pub ca_file: Option<PathBuf>,
    #[serde(with = "duration")]
    pub timeout: Duration,
    pub leave_on_server: bool,
    pub folder: String,
    pub processed_folder: Option<String>,
    pub idle: bool,
    pub own_address: bool,
    pub queue: Option<String>,
}

impl Default for SourceKeys {
    fn default() -> SourceKeys {
        SourceKeys {
            name: String::new(),
            path: PathBuf::new(),
            poll: None,
            host: String::new(),
            port: 0,
            tls: TlsMode::Implicit,
            user: String::new(),
            password_file: None,
            password_env: None,
            auth: None,
            oauth: None,
            ca_file: None,
            timeout: Duration::from_secs(30),
            leave_on_server: false,
            folder: "INBOX".into(),
            processed_folder: None,
            idle: true,
            own_address: true,
            queue: None,
        }
    }
}

fn duration_opt<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    duration::deserialize(d).map(Some)
}

// ---------------------------------------------------------------------------
// [transport]
// ---------------------------------------------------------------------------

/// Written with `kind = "…"` (default `"maildir"`); read like [`SourceKind`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
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

/// `kind = "maildir"`.
#[derive(Deserialize)]
pub(super) struct MaildirKeys {
    #[serde(default = "sent")]
    pub path: PathBuf,
}

fn sent() -> PathBuf {
    "/var/lib/postdesk/sent".into()
}

/// `kind = "sendmail"`.
#[derive(Deserialize)]
#[serde(default)]
pub(super) struct SendmailKeys {
    pub command: PathBuf,
    pub args: Vec<String>,
}

impl Default for SendmailKeys {
    fn default() -> SendmailKeys {
        SendmailKeys {
            command: "/usr/sbin/sendmail".into(),
            args: Vec::new(),
        }
    }
}

/// `kind = "smtp"`; its keys are checked against the kind before it is read (`read`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct Smtp {
    pub host: String,
    /// 0 while reading: the usual port for `tls` (see `validate`).
    #[serde(deserialize_with = "values::port")]
    pub port: u16,
    pub tls: TlsMode,
    pub user: Option<String>,
    /// The password stays in its own file (mode 0600), never in the config.
    pub password_file: Option<PathBuf>,
    /// `"oauth2"`: sign in with the `[[oauth]]` credential `oauth` names
    /// (OAUTHBEARER or XOAUTH2, see `sasl`) instead of a password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oauth: Option<String>,
    /// The credential `oauth` names, found by `validate`.
    #[serde(skip)]
    pub oauth_login: Option<OAuthLogin>,
    /// `auth = "oauth2"`: the SASL mechanism to use whatever the server
    /// announces; `None` chooses by its EHLO (OAUTHBEARER, else XOAUTH2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sasl: Option<SaslMechanism>,
    pub ca_file: Option<PathBuf>,
    #[serde(with = "duration")]
    pub timeout: Duration,
    pub helo_name: Option<String>,
}

impl Default for Smtp {
    fn default() -> Smtp {
        Smtp {
            host: String::new(),
            port: 0,
            tls: TlsMode::Starttls,
            user: None,
            password_file: None,
            auth: None,
            oauth: None,
            oauth_login: None,
            sasl: None,
            ca_file: None,
            timeout: Duration::from_secs(30),
            helo_name: None,
        }
    }
}

// ---------------------------------------------------------------------------
// [[oauth]]
// ---------------------------------------------------------------------------

/// How a mailbox login is proven: `auth` of a `[[source]]` or `[transport]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthKind {
    Password,
    Oauth2,
}

/// A token-carrying SASL mechanism, forced by `sasl` of the transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SaslMechanism {
    /// RFC 7628.
    Oauthbearer,
    /// Google's and Microsoft's older mechanism.
    Xoauth2,
}

/// Which OAuth 2.0 grant gets the access tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Flow {
    /// App-only (Microsoft 365): client id and secret, no user.
    ClientCredentials,
    /// Delegated: a refresh token from `postdesk oauth login` (device code).
    RefreshToken,
    /// Google Workspace domain-wide delegation: a JWT signed with the
    /// service account's key, for `user`.
    ServiceAccount,
}

impl Flow {
    pub fn as_str(self) -> &'static str {
        match self {
            Flow::ClientCredentials => "client_credentials",
            Flow::RefreshToken => "refresh_token",
            Flow::ServiceAccount => "service_account",
        }
    }
}

/// Whose endpoints and scopes are the defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    Microsoft,
    Google,
}

impl Provider {
    pub fn label(self) -> &'static str {
        match self {
            Provider::Microsoft => "Microsoft",
            Provider::Google => "Google",
        }
    }
}

/// One `[[oauth]]` table: a credential that sources and the transport
/// share. After `validate`, `token_url`, `scope` (and `device_url` for the
/// refresh_token flow) are filled in from the provider's defaults.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OAuth {
    pub name: String,
    pub flow: Flow,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<Provider>,
    /// For service_account: taken from `key_file` when left out.
    #[serde(default)]
    pub client_id: String,
    /// client_credentials (and confidential clients of the device flow).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_file: Option<PathBuf>,
    /// service_account: the JSON key file the provider gave out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<PathBuf>,
    #[serde(default)]
    pub scope: String,
    /// Microsoft: the directory (tenant) id or domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    #[serde(default)]
    pub token_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_url: Option<String>,
    /// service_account: the mailbox the token is for (the JWT's `sub`);
    /// for the other flows, what `oauth status` names as the account when
    /// the provider does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// PEM certificates trusted for the token and device endpoints besides
    /// the system's roots (a provider or proxy with a private CA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// Where the tokens are kept: `oauth-NAME.json` beside the database.
    #[serde(skip)]
    pub token_file: PathBuf,
}

impl OAuth {
    /// "Microsoft", "Google" or "OAuth 2.0", for messages.
    pub fn provider_label(&self) -> &'static str {
        self.provider.map(Provider::label).unwrap_or("OAuth 2.0")
    }
}

/// The credential a source or transport signs in with; written (and
/// printed by check-config) as its name only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthLogin(pub Box<OAuth>);

impl Serialize for OAuthLogin {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TlsMode {
    Implicit,
    Starttls,
    /// Plain text; validation allows it only towards a loopback host.
    None,
}

impl TlsMode {
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

// ---------------------------------------------------------------------------
// [intake]
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields, expecting = "an [intake] table")]
pub struct Intake {
    pub confirm_receipt: bool,
    /// Bytes.
    #[serde(with = "size")]
    pub max_message_size: u64,
    #[serde(deserialize_with = "range::<1, 1000, _, _>")]
    pub max_mime_depth: usize,
    #[serde(deserialize_with = "range::<1, 100_000, _, _>")]
    pub max_mime_parts: usize,
    #[serde(deserialize_with = "range::<0, 10_000, _, _>")]
    pub max_auto_replies_per_day: u32,
    /// Customer-side addresses one automatic mail or relay goes to, at most.
    #[serde(deserialize_with = "range::<1, 1000, _, _>")]
    pub max_recipients: u32,
    pub unmatched_automatic: UnmatchedAutomatic,
    /// Messages per database transaction during bulk intake.
    #[serde(deserialize_with = "range::<1, 10_000, _, _>")]
    pub batch_size: usize,
    /// Bytes of message held in memory for one batch (a batch ends at
    /// `batch_size` messages or this many bytes, whichever comes first).
    #[serde(with = "size")]
    pub batch_bytes: u64,
    /// Of a message over `max_message_size`, how many bytes of body are
    /// kept (with its header) in the quarantine.
    #[serde(with = "size")]
    pub max_stored_size: u64,
    /// How long after its close a customer's reply reopens a ticket; None:
    /// never (a reply always opens a new ticket).
    #[serde(with = "values::reopen_window")]
    pub reopen_window: Option<Duration>,
    /// Follow-ups by subject token must come from someone entitled to the ticket.
    pub check_sender: bool,
    pub unknown_sender: UnknownSender,
    /// How long a confirmation code stays valid.
    #[serde(with = "duration")]
    pub verify_expiry: Duration,
    /// Domains (and `*.domain`) whose mail is quarantined unanswered.
    #[serde(with = "text_list")]
    pub blocked_domains: Vec<SenderPattern>,
    #[serde(with = "text_list")]
    pub blocked_addresses: Vec<Address>,
    /// Domains (and `*.domain`) whose tickets are flagged for staff.
    #[serde(with = "text_list")]
    pub priority_domains: Vec<SenderPattern>,
    /// `(field name, value)` of the spam filter's verdict; `None`: no check.
    #[serde(with = "values::spam_header")]
    pub spam_header: Option<(String, String)>,
    /// The operator's MTA, whose Authentication-Results alone are trusted.
    pub authserv_id: Option<String>,
    pub require_authentication: bool,
    pub case_sensitive_local_part: bool,
    pub ignore_plus_tags: bool,
    /// Primary addresses may change their authorized senders by mail.
    pub self_service: bool,
    /// Words or regular expressions (any case) that, found in a new
    /// ticket's subject or first text, mark it "needs proof" of ownership.
    pub require_proof_for: Vec<String>,
    /// A ticket that needs proof and has none gets the `#verify` mail sent
    /// to its account's primary address at once.
    pub auto_verify: bool,
}

/// One `require_proof_for` entry as a regular expression.
pub fn proof_rule(p: &str) -> Result<regex::Regex, regex::Error> {
    let word = !p.is_empty() && p.chars().all(|c| c.is_alphanumeric() || c == '-');
    let re = if word {
        format!(r"(?i)\b{}\b", regex::escape(p))
    } else {
        format!("(?i){p}")
    };
    regex::RegexBuilder::new(&re).size_limit(1 << 20).build()
}

impl Default for Intake {
    fn default() -> Intake {
        Intake {
            confirm_receipt: true,
            max_message_size: 25 << 20,
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
            blocked_domains: Vec::new(),
            blocked_addresses: Vec::new(),
            priority_domains: Vec::new(),
            spam_header: Some(("X-Spam-Flag".into(), "YES".into())),
            authserv_id: None,
            require_authentication: false,
            case_sensitive_local_part: false,
            ignore_plus_tags: false,
            self_service: true,
            require_proof_for: Vec::new(),
            auto_verify: false,
        }
    }
}

impl Intake {
    /// `require_proof_for` compiled: a plain word matches as a whole word,
    /// anything else is a regular expression; both ignore case. Checked
    /// when the config is read, so an error here means none is taken.
    pub fn proof_rules(&self) -> Result<Vec<regex::Regex>, regex::Error> {
        self.require_proof_for
            .iter()
            .map(|p| proof_rule(p))
            .collect()
    }

    pub fn match_options(&self) -> MatchOptions {
        MatchOptions {
            case_sensitive_local_part: self.case_sensitive_local_part,
            ignore_plus_tags: self.ignore_plus_tags,
        }
    }
}

pub use crate::domain::UnknownSender;

/// What to do with automatic mail (bounce, out-of-office, list mail) that matches no ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnmatchedAutomatic {
    Quarantine,
    Ticket,
}

// ---------------------------------------------------------------------------
// [outbox]
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields, expecting = "an [outbox] table")]
pub struct Outbox {
    #[serde(deserialize_with = "range::<1, 1000, _, _>")]
    pub max_attempts: u32,
    #[serde(with = "duration")]
    pub retry_initial: Duration,
    #[serde(with = "duration")]
    pub retry_max: Duration,
    /// History entries a mail about a ticket carries (the newest); the
    /// mail says how many earlier ones it leaves out.
    #[serde(deserialize_with = "range::<0, 1000, _, _>")]
    pub history_in_mail: usize,
    /// The longest whole history the close notice carries inline, in
    /// bytes; a longer one goes as the attachment history.txt.
    #[serde(with = "size")]
    pub close_history_inline: u64,
    /// Announcement mails per minute at most (`postdesk announce`): each
    /// is due 60/rate seconds after the one before it.
    #[serde(deserialize_with = "range::<1, 100000, _, _>")]
    pub announce_rate: u32,
}

impl Default for Outbox {
    fn default() -> Outbox {
        Outbox {
            max_attempts: 12,
            retry_initial: Duration::from_secs(60),
            retry_max: Duration::from_secs(6 * 3600),
            history_in_mail: 10,
            close_history_inline: 64 << 10,
            announce_rate: 60,
        }
    }
}

// ---------------------------------------------------------------------------
// [knowledge]
// ---------------------------------------------------------------------------

/// The knowledge base: articles suggested to staff with each new ticket
/// (and, if wanted, to the customer in the receipt), stock answers for
/// `#kb NAME`, and what closed tickets taught.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields, expecting = "a [knowledge] table")]
pub struct Knowledge {
    /// The folder of articles (`.md` or `.txt`, one per file); `None`: no
    /// articles (closed tickets may still be learnt from).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// A closed ticket's question and the staff answer that closed it
    /// become an entry suggested to staff (never to a customer).
    pub learn_from_closed: bool,
    /// Entries listed in the staff notification of a new ticket (0: none).
    #[serde(deserialize_with = "range::<0, 20, _, _>")]
    pub max_suggestions: usize,
    /// The lowest BM25 relevance an entry needs to be suggested to staff.
    pub min_relevance: Relevance,
    /// The receipt lists the best articles (never past tickets), and the
    /// customer may close the ticket by answering `#solved`.
    pub suggest_to_customer: bool,
    /// The stricter floor for the receipt's articles.
    pub customer_min_relevance: Relevance,
}

impl Default for Knowledge {
    fn default() -> Knowledge {
        Knowledge {
            path: None,
            learn_from_closed: false,
            max_suggestions: 3,
            min_relevance: Relevance(4.0),
            suggest_to_customer: false,
            customer_min_relevance: Relevance(8.0),
        }
    }
}

/// A BM25 relevance score (0 and up; higher is more relevant). Compared by
/// its bits, so the config stays `Eq`.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(transparent)]
pub struct Relevance(pub f64);

impl PartialEq for Relevance {
    fn eq(&self, other: &Relevance) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}

impl Eq for Relevance {}

impl<'de> Deserialize<'de> for Relevance {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Relevance, D::Error> {
        let v = f64::deserialize(d)?;
        if !(0.0..=1000.0).contains(&v) {
            return Err(serde::de::Error::custom("must be a number from 0 to 1000"));
        }
        Ok(Relevance(v))
    }
}

// ---------------------------------------------------------------------------
// [openpgp]
// ---------------------------------------------------------------------------

/// The desk's OpenPGP keys (issue 16): mail encrypted to the desk is
/// decrypted with them; mail about an encrypted ticket goes to the staff
/// side encrypted to `staff_key_file`, or says only where to read it.
/// Paths are relative to the config file's directory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields, expecting = "an [openpgp] table")]
pub struct OpenPgp {
    /// The desk's secret key, ASCII-armoured (`gpg --export-secret-keys --armor`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_key_file: Option<PathBuf>,
    /// The file holding the key's passphrase (first line); none for a key
    /// without one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passphrase_file: Option<PathBuf>,
    /// Older secret keys (same passphrase), still tried on mail written
    /// to them: key rollover.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra_secret_keys: Vec<PathBuf>,
    /// The staff side's public key, ASCII-armoured: staff-side mail about
    /// an encrypted ticket is encrypted to it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub staff_key_file: Option<PathBuf>,
    /// Customers' public keys, ASCII-armoured, one key a file, known by
    /// the addresses in their user ids: signatures by them are checked
    /// (a good one by a key of the From address makes the mail genuine),
    /// and mail about an encrypted ticket to such an address is
    /// encrypted to it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub public_keys: Vec<PathBuf>,
}

/// `[smime]`: what makes an S/MIME signature proof of the sender beyond
/// the accounts' own `smime_cert`. Paths are relative to the config
/// file's directory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields, expecting = "an [smime] table")]
pub struct Smime {
    /// The CAs (PEM, one or more certificates) whose certificates, within
    /// their validity dates, vouch for the addresses they name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
}

// ---------------------------------------------------------------------------
// [staff]
// ---------------------------------------------------------------------------

/// The staff side: the members, who answer tickets from their mail client
/// (recognised by address or alias), and the addresses that get the staff
/// side's mail (notifications, warnings, closes, changes).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields, expecting = "a [staff] table")]
pub struct Staff {
    #[serde(with = "text_list")]
    pub notify: Vec<Address>,
    /// Relays of staff replies to one address in 24 hours (loop guard).
    #[serde(deserialize_with = "range::<1, 10_000, _, _>")]
    pub max_relays_per_day: u32,
    /// Each staff reply is copied to the staff side (less its author),
    /// marked as an answer, so colleagues know the ticket was answered.
    pub copy_replies: bool,
    /// `[[staff.member]]`.
    #[serde(rename = "member", skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<StaffMember>,
}

impl Default for Staff {
    fn default() -> Staff {
        Staff {
            notify: Vec::new(),
            members: Vec::new(),
            max_relays_per_day: 50,
            copy_replies: true,
        }
    }
}

/// One `[[staff.member]]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, expecting = "a [[staff.member]] table")]
pub struct StaffMember {
    pub name: String,
    pub address: Address,
    /// Other addresses the member writes from.
    #[serde(default, with = "text_list")]
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

    /// The member `#assign` names: by address or alias, full name or first
    /// name (any case), else by an unambiguous prefix of a name or an
    /// address. `Err` holds the members the name could be (empty: none).
    pub fn find(
        &self,
        name_or_address: &str,
        opts: &MatchOptions,
    ) -> Result<&StaffMember, Vec<&StaffMember>> {
        let wanted = name_or_address.trim().to_lowercase();
        if wanted.is_empty() {
            return Err(Vec::new());
        }
        if let Ok(a) = Address::parse(&wanted)
            && let Some(m) = self.member(&a, opts)
        {
            return Ok(m);
        }
        let first = |m: &StaffMember| {
            let name = m.name.trim().to_lowercase();
            name.split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string()
        };
        let prefix = |m: &StaffMember| {
            m.name.trim().to_lowercase().starts_with(&wanted)
                || std::iter::once(&m.address)
                    .chain(&m.aliases)
                    .any(|a| a.as_str().to_lowercase().starts_with(&wanted))
        };
        // Steps from the most to the least exact; the first that names
        // anyone decides, and must name exactly one.
        let steps: [&dyn Fn(&StaffMember) -> bool; 3] = [
            &|m| m.name.trim().to_lowercase() == wanted,
            &|m| first(m) == wanted,
            &prefix,
        ];
        for step in steps {
            let found: Vec<&StaffMember> = self.members.iter().filter(|m| step(m)).collect();
            match found.as_slice() {
                [] => continue,
                [one] => return Ok(one),
                _ => return Err(found),
            }
        }
        Err(Vec::new())
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

// ---------------------------------------------------------------------------
// [calendar], [[inactivity]], [schedule]
// ---------------------------------------------------------------------------

/// `[calendar]` as written; `validate` makes the [`Calendar`](crate::domain::calendar::Calendar).
#[derive(Deserialize, Serialize)]
#[serde(default, deny_unknown_fields, expecting = "a [calendar] table")]
pub(super) struct CalendarKeys {
    #[serde(serialize_with = "tz_name")]
    pub timezone: values::TimeZone,
    #[serde(serialize_with = "weekdays")]
    pub working_days: Vec<values::Weekday>,
    #[serde(serialize_with = "dates")]
    pub holidays: Vec<values::Date>,
    /// None: the whole of a working day works.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "hours")]
    pub working_hours: Option<values::Hours>,
}

impl Default for CalendarKeys {
    fn default() -> CalendarKeys {
        let days = [
            chrono::Weekday::Mon,
            chrono::Weekday::Tue,
            chrono::Weekday::Wed,
        ];
        let days = days
            .into_iter()
            .chain([chrono::Weekday::Thu, chrono::Weekday::Fri]);
        CalendarKeys {
            timezone: values::TimeZone(chrono_tz::UTC),
            working_days: days.map(values::Weekday).collect(),
            holidays: Vec::new(),
            working_hours: None,
        }
    }
}

fn tz_name<S: serde::Serializer>(tz: &values::TimeZone, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(tz.0.name())
}

fn weekdays<S: serde::Serializer>(days: &[values::Weekday], s: S) -> Result<S::Ok, S::Error> {
    let names = days
        .iter()
        .map(|d| crate::domain::calendar::WEEKDAYS[d.0.num_days_from_monday() as usize]);
    s.collect_seq(names)
}

fn hours<S: serde::Serializer>(h: &Option<values::Hours>, s: S) -> Result<S::Ok, S::Error> {
    match h {
        Some(h) => s.serialize_str(&h.0.to_string()),
        None => s.serialize_none(),
    }
}

fn dates<S: serde::Serializer>(days: &[values::Date], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(days.iter().map(|d| d.0.to_string()))
}

/// One `[[inactivity]]` table, read straight into the domain's [`InactivityRule`].
#[derive(Deserialize, Serialize)]
#[serde(
    remote = "InactivityRule",
    deny_unknown_fields,
    expecting = "an [[inactivity]] table"
)]
pub(super) struct RuleDef {
    #[serde(with = "choice")]
    waiting_for: Side,
    #[serde(default, with = "text_list")]
    warn_after: Vec<Span>,
    #[serde(default = "never", with = "close_after")]
    close_after: CloseAfter,
}

fn never() -> CloseAfter {
    CloseAfter::Never
}

/// A [`InactivityRule`] for `Serialize`.
pub(super) struct RuleOut<'a>(pub &'a InactivityRule);

impl Serialize for RuleOut<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        RuleDef::serialize(self.0, s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields, expecting = "a [schedule] table")]
pub struct Schedule {
    /// A cron expression with seconds (the `cron` crate's syntax), parsed
    /// once; evaluated in the calendar's time zone.
    #[serde(with = "values::cron_schedule")]
    pub sweep: cron::Schedule,
    /// When the daemon mails the daily digest to the staff side
    /// ([`DEFAULT_DIGEST`] unless set); None (`""`): never.
    #[serde(with = "values::cron_schedule_opt")]
    pub digest: Option<cron::Schedule>,
}

/// The sweep schedule when the config has none: every ten minutes.
pub const DEFAULT_SWEEP: &str = "0 */10 * * * *";

/// The digest schedule when the config has none: weekday mornings at
/// 08:00, so a team starts its day knowing what waits (issue 11).
pub const DEFAULT_DIGEST: &str = "0 0 8 * * Mon-Fri";

impl Default for Schedule {
    fn default() -> Schedule {
        Schedule {
            sweep: DEFAULT_SWEEP.parse().expect("a valid cron expression"),
            digest: Some(DEFAULT_DIGEST.parse().expect("a valid cron expression")),
        }
    }
}

// ---------------------------------------------------------------------------
// [status], [metrics]: watching the desk
// ---------------------------------------------------------------------------

/// When `postdesk status` says the desk needs an operator (exit 1).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields, expecting = "a [status] table")]
pub struct StatusAlarms {
    /// A source failing for longer than this is an alarm; a shorter outage
    /// (a server restart) is only shown.
    #[serde(with = "duration")]
    pub source_alarm: Duration,
}

impl Default for StatusAlarms {
    fn default() -> StatusAlarms {
        StatusAlarms {
            source_alarm: Duration::from_secs(30 * 60),
        }
    }
}

/// The Prometheus endpoint of the daemon; off unless `listen` is set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields, expecting = "a [metrics] table")]
pub struct Metrics {
    /// Address and port to serve `GET /metrics` on, e.g. "127.0.0.1:9187".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<std::net::SocketAddr>,
}

// ---------------------------------------------------------------------------
// [[account]] (here or in accounts_file)
// ---------------------------------------------------------------------------

/// One `[[account]]` table, read straight into the domain's [`AccountSpec`]; `validate` gives a
/// nameless account its id as name.
#[derive(Deserialize, Serialize)]
#[serde(
    remote = "AccountSpec",
    deny_unknown_fields,
    expecting = "an [[account]] table"
)]
pub(super) struct AccountDef {
    id: AccountId,
    #[serde(default)]
    name: String,
    primary: Address,
    /// Each entry may itself be a comma-separated list; repeats are dropped.
    #[serde(
        default,
        deserialize_with = "pattern_lists",
        serialize_with = "text_list::serialize"
    )]
    authorized: Vec<SenderPattern>,
    #[serde(default, with = "choice_opt")]
    language: Option<Language>,
    #[serde(default)]
    parent: Option<AccountId>,
    #[serde(default, with = "text_list")]
    delegates: Vec<Address>,
    #[serde(default)]
    priority: bool,
    #[serde(default)]
    require_authentication: Option<bool>,
    #[serde(default, skip_serializing)]
    pin_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    openpgp_key: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    smime_cert: Option<PathBuf>,
}

/// `["ops@customer.example, customer.example", …]`, flattened, first spelling kept.
fn pattern_lists<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<SenderPattern>, D::Error> {
    struct List(Vec<SenderPattern>);
    impl<'de> Deserialize<'de> for List {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let parse = |s: &str| SenderPattern::parse_list(s).map_err(|e| e.to_string());
            values::parse_str(d, |s| parse(s).map(List))
        }
    }
    let mut out: Vec<SenderPattern> = Vec::new();
    for p in Vec::<List>::deserialize(d)?.into_iter().flat_map(|l| l.0) {
        if !out.contains(&p) {
            out.push(p);
        }
    }
    Ok(out)
}

/// An [`AccountSpec`] for `Serialize`.
pub(super) struct AccountOut<'a>(pub &'a AccountSpec);

impl Serialize for AccountOut<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        AccountDef::serialize(self.0, s)
    }
}
