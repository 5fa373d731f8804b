//! Delivery transports: the last step of the outbox, raw bytes to the world.
//!
//! The outbox's sender task takes one queued mail — the finished RFC 5322
//! bytes plus the SMTP envelope — and hands it to a [`Transport`]. Nothing
//! here builds or edits a message (the bytes leave exactly as queued, so a
//! retry is the same mail, DESIGN invariant 2) and nothing touches the
//! database. Three ways out:
//!
//! * **Maildir** — `tmp/` → fsync → rename into `new/` → fsync `new/`, the
//!   delivery protocol of the Maildir format (cr.yp.to/proto/maildir.html).
//!   The file name comes from the outbox key, so a re-send after a crash
//!   replaces the file instead of adding a second copy.
//! * **SMTP** — lettre's `send_raw` (RFC 5321; implicit TLS per RFC 8314,
//!   STARTTLS per RFC 3207, never opportunistic); with `auth = "oauth2"`,
//!   lettre's connection driven by `smtp_oauth` (OAUTHBEARER or XOAUTH2).
//! * **sendmail** — the local MTA's `sendmail -i -f FROM -- RCPT...` with
//!   the message on stdin; exit codes read as sysexits(3).
//!
//! Every failure is a [`DeliverError`] that says whether to try again later
//! ([`DeliverError::is_transient`]) or to give up and show it to a human.

use std::fmt;
use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::config;
use crate::domain::Address;
use crate::oauth::sasl::Mechanism;
use crate::oauth::{Credential, OAuthError};

use super::smtp_oauth::{SessionError, SmtpOAuth};

/// The SMTP envelope of one outgoing mail (RFC 5321 section 3.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// Reverse-path; `None` is the null sender `<>`, used for mail that must
    /// never cause a bounce (RFC 3834 section 3.3).
    pub from: Option<Address>,
    /// Forward-paths; at least one.
    pub to: Vec<Address>,
}

/// Where outgoing mail goes; built once from `[transport]` and kept for the
/// life of the sender task.
#[derive(Debug)]
pub enum Transport {
    Maildir(MaildirTransport),
    Smtp(SmtpTransport),
    Sendmail(SendmailTransport),
}

impl Transport {
    /// Builds the transport. SMTP secrets (password file, CA file) are read
    /// here, so a bad file shows up at start-up, not at the first mail.
    pub fn from_config(cfg: &config::Transport) -> Result<Transport, DeliverError> {
        Ok(match cfg {
            config::Transport::Maildir { path } => Transport::Maildir(MaildirTransport::new(path)),
            config::Transport::Smtp(smtp) => Transport::Smtp(SmtpTransport::from_config(smtp)?),
            config::Transport::Sendmail { command, args } => {
                Transport::Sendmail(SendmailTransport::new(command, args.clone()))
            }
        })
    }

    /// Delivers `raw` to the envelope's recipients. `key` names the outbox
    /// row stably across retries; only the Maildir transport uses it (SMTP
    /// receivers recognise a retry by its Message-ID, which is fixed at
    /// queue time).
    pub async fn send(&self, env: &Envelope, raw: &[u8], key: &str) -> Result<(), DeliverError> {
        if env.to.is_empty() {
            return Err(DeliverError::NoRecipients);
        }
        match self {
            Transport::Maildir(t) => t.send(raw, key).await,
            Transport::Smtp(t) => t.send(env, raw).await,
            Transport::Sendmail(t) => t.send(env, raw).await,
        }
    }

    /// One line for logs, e.g. `smtp://mail.example:587 (starttls)`. Never
    /// contains a secret.
    pub fn describe(&self) -> String {
        match self {
            Transport::Maildir(t) => format!("maildir:{}", t.path.display()),
            Transport::Smtp(t) => t.describe.clone(),
            Transport::Sendmail(t) => t.describe(),
        }
    }
}

// ---------------------------------------------------------------- errors

/// Why a delivery failed, with enough detail for the outbox's `last_error`.
#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    #[error("the envelope has no recipients")]
    NoRecipients,
    #[error("envelope address {address:?} cannot be sent: {reason}")]
    BadAddress { address: String, reason: String },
    /// The `[transport]` settings cannot work (found at start-up).
    #[error("transport configuration: {0}")]
    Config(String),
    /// A file named by the configuration cannot be read.
    #[error("cannot read {what} {}: {source}", path.display())]
    ConfigFile {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("maildir {}: {source}", path.display())]
    Maildir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("SMTP {server}: {detail}")]
    Smtp {
        server: String,
        failure: SmtpFailure,
        detail: String,
    },
    /// No access token for `auth = "oauth2"`; the mail waits in the queue.
    #[error(transparent)]
    OAuth(OAuthError),
    #[error("sendmail {command}: {failure}")]
    Sendmail {
        command: String,
        failure: SendmailFailure,
    },
}

/// What went wrong in an SMTP session, sorted by what a retry can change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpFailure {
    /// The server refused with this reply code: 4xx try later, 5xx never.
    Reply(u16),
    /// No connection, connection lost, or no answer in time.
    Network,
    /// TLS failed on its content: a certificate we do not trust or that
    /// names another host, or a protocol alert. Only a human fixes that.
    Tls,
    /// The server lacks what we insist on: STARTTLS, a common AUTH
    /// mechanism, 8BITMIME or SMTPUTF8 for this message.
    Unsupported,
    /// The reply could not be read: cut off or garbled.
    Protocol,
}

/// How a sendmail run failed.
#[derive(Debug)]
pub enum SendmailFailure {
    /// The command could not be started.
    Spawn(io::Error),
    /// Writing the message to its stdin or waiting for it failed.
    Io(io::Error),
    /// It exited with this status; `output` is what it printed (trimmed).
    Exit { code: i32, output: String },
    /// It was killed by this signal (OOM killer, a shutdown, our deadline).
    Signal(i32),
    /// It did not finish in time and was killed.
    Timeout(Duration),
    /// It exited 0 without reading the whole message.
    ShortRead,
}

impl fmt::Display for SendmailFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendmailFailure::Spawn(e) => write!(f, "cannot start it: {e}"),
            SendmailFailure::Io(e) => write!(f, "{e}"),
            SendmailFailure::Exit { code, output } if output.is_empty() => {
                write!(f, "exited with status {code}")
            }
            SendmailFailure::Exit { code, output } => {
                write!(f, "exited with status {code}: {output}")
            }
            SendmailFailure::Signal(sig) => write!(f, "killed by signal {sig}"),
            SendmailFailure::Timeout(d) => write!(f, "no exit within {d:?}; killed"),
            SendmailFailure::ShortRead => f.write_str("exited 0 without reading the whole message"),
        }
    }
}

/// sysexits(3) EX_TEMPFAIL: the MTA's "try again later".
const EX_TEMPFAIL: i32 = 75;

impl DeliverError {
    /// True when the same mail may go through later without anyone
    /// changing anything: network trouble, a full disk, a server's 4xx, a
    /// local MTA saying EX_TEMPFAIL. False when retrying only repeats the
    /// failure: a 5xx, a bad address, a configuration that cannot work.
    pub fn is_transient(&self) -> bool {
        match self {
            DeliverError::NoRecipients
            | DeliverError::BadAddress { .. }
            | DeliverError::Config(_)
            | DeliverError::ConfigFile { .. } => false,
            // A grant needs a person (`oauth login`), but the mail must not
            // be given up meanwhile: it waits, and goes once signed in.
            DeliverError::OAuth(_) => true,
            DeliverError::Maildir { source, .. } => !matches!(
                source.kind(),
                // The path is wrong or not ours to write: configuration.
                io::ErrorKind::PermissionDenied
                    | io::ErrorKind::NotADirectory
                    | io::ErrorKind::IsADirectory
                    | io::ErrorKind::InvalidFilename
            ),
            DeliverError::Smtp { failure, .. } => match failure {
                SmtpFailure::Reply(code) => (400..500).contains(code),
                SmtpFailure::Network | SmtpFailure::Protocol => true,
                SmtpFailure::Tls | SmtpFailure::Unsupported => false,
            },
            DeliverError::Sendmail { failure, .. } => match failure {
                // A missing or non-executable command is configuration;
                // anything else at spawn (EAGAIN, ENOMEM, EMFILE) passes.
                SendmailFailure::Spawn(e) => !matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied
                ),
                SendmailFailure::Exit { code, .. } => *code == EX_TEMPFAIL,
                SendmailFailure::Io(_)
                | SendmailFailure::Signal(_)
                | SendmailFailure::Timeout(_)
                | SendmailFailure::ShortRead => true,
            },
        }
    }
}

// ---------------------------------------------------------------- maildir

/// Writes each mail as one file into a Maildir's `new/`.
#[derive(Debug, Clone)]
pub struct MaildirTransport {
    path: PathBuf,
}

impl MaildirTransport {
    pub fn new(path: impl Into<PathBuf>) -> MaildirTransport {
        MaildirTransport { path: path.into() }
    }

    async fn send(&self, raw: &[u8], key: &str) -> Result<(), DeliverError> {
        let root = self.path.clone();
        let name = maildir_name(key);
        let raw = raw.to_vec();
        // std::fs + fsync block; one blocking task for the whole sequence
        // instead of one per tokio::fs call.
        tokio::task::spawn_blocking(move || write_maildir(&root, &name, &raw))
            .await
            .map_err(|e| DeliverError::Maildir {
                path: self.path.clone(),
                source: io::Error::other(e),
            })?
    }
}

/// The Maildir delivery sequence: the file becomes visible in `new/` only
/// complete and on disk, by one atomic rename.
fn write_maildir(root: &Path, name: &str, raw: &[u8]) -> Result<(), DeliverError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;

    let err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DeliverError::Maildir { path, source }
    };
    for sub in ["tmp", "new", "cur"] {
        let dir = root.join(sub);
        std::fs::create_dir_all(&dir).map_err(err(&dir))?;
    }
    let tmp = root.join("tmp").join(name);
    let new_dir = root.join("new");
    let dest = new_dir.join(name);

    // 1. Write and fsync in tmp/. truncate: a crash may have left a partial
    //    file of the same name behind.
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600) // mail is private; umask may only narrow it further
        .open(&tmp)
        .map_err(err(&tmp))?;
    file.write_all(raw).map_err(err(&tmp))?;
    file.sync_all().map_err(err(&tmp))?;
    drop(file);

    // 2. Rename into new/: atomic, and it replaces an earlier copy of the
    //    same outbox row. (A copy a reader already moved to cur/ is not
    //    seen; that window is a crash between this rename and the outbox
    //    marking the row sent, while a mail client runs.)
    std::fs::rename(&tmp, &dest).map_err(err(&dest))?;

    // 3. fsync new/ so the rename itself survives a power loss.
    std::fs::File::open(&new_dir)
        .and_then(|d| d.sync_all())
        .map_err(err(&new_dir))?;
    Ok(())
}

/// The file name for an outbox key: the key itself when it is tame, else
/// its tame characters plus a hash of the whole key, so two keys never share
/// a name. Never starts with "." (Maildir readers skip dot files) and never
/// contains ":" (the Maildir info separator) or "/".
fn maildir_name(key: &str) -> String {
    const MAX_STEM: usize = 200; // file names stop at 255 bytes
    let tame: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let stem = tame.trim_start_matches('.');
    if stem == key && !stem.is_empty() && stem.len() <= MAX_STEM {
        return format!("{stem}.postdesk");
    }
    let hash = hex::encode(&Sha256::digest(key.as_bytes())[..8]);
    let stem = &stem[..stem.len().min(MAX_STEM)]; // ASCII: any cut is a char boundary
    if stem.is_empty() {
        format!("{hash}.postdesk")
    } else {
        format!("{stem}-{hash}.postdesk")
    }
}

// ---------------------------------------------------------------- SMTP

/// lettre's async SMTP client, configured once.
pub struct SmtpTransport {
    inner: AsyncSmtpTransport<Tokio1Executor>,
    /// `auth = "oauth2"`: each send builds its client from this with the
    /// current access token (lettre keeps no connection between sends).
    oauth: Option<Box<SmtpOAuth>>,
    server: String,
    describe: String,
    /// Deadline for one whole send (see [`SESSION_TIMEOUT_FACTOR`]).
    session_timeout: Duration,
}

/// lettre (tokio) applies its timeout to the TCP connect only: a server that
/// accepts and then says nothing would hold the sender task for ever. The
/// whole session — greeting, TLS, AUTH, envelope, data — must finish within
/// this many times the configured timeout.
const SESSION_TIMEOUT_FACTOR: u32 = 5;

impl fmt::Debug for SmtpTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpTransport")
            .field("server", &self.describe)
            .finish_non_exhaustive()
    }
}

impl SmtpTransport {
    pub fn from_config(cfg: &config::Smtp) -> Result<SmtpTransport, DeliverError> {
        let server = format!("{}:{}", cfg.host, cfg.port);
        let tls = match cfg.tls {
            // Loopback only; config validation guarantees it.
            config::TlsMode::None => Tls::None,
            config::TlsMode::Implicit => Tls::Wrapper(tls_parameters(cfg)?),
            // Required, never Opportunistic: a server (or a man in the
            // middle) that drops STARTTLS from its EHLO must fail the send.
            config::TlsMode::Starttls => Tls::Required(tls_parameters(cfg)?),
        };
        let hello = match &cfg.helo_name {
            Some(name) => match name.parse::<IpAddr>() {
                Ok(IpAddr::V4(ip)) => ClientId::Ipv4(ip),
                Ok(IpAddr::V6(ip)) => ClientId::Ipv6(ip),
                Err(_) => ClientId::Domain(name.clone()),
            },
            None => ClientId::default(),
        };
        // builder_dangerous: every TLS choice is made explicitly just above.
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(cfg.host.as_str())
                .port(cfg.port)
                .tls(tls.clone())
                .timeout(Some(cfg.timeout))
                .hello_name(hello.clone());
        let oauth = match (&cfg.oauth_login, &cfg.user) {
            (Some(login), Some(user)) => Some(Box::new(SmtpOAuth {
                cred: Credential::new(&login.0),
                user: user.clone(),
                host: cfg.host.clone(),
                port: cfg.port,
                hello,
                tls,
                timeout: cfg.timeout,
                forced: cfg.sasl.map(|m| match m {
                    config::SaslMechanism::Oauthbearer => Mechanism::OAuthBearer,
                    config::SaslMechanism::Xoauth2 => Mechanism::XOAuth2,
                }),
            })),
            (Some(_), None) => {
                return Err(DeliverError::Config(
                    "transport.auth = \"oauth2\" needs transport.user".into(),
                ));
            }
            (None, _) => None,
        };
        match (&cfg.user, &cfg.password_file) {
            _ if oauth.is_some() => {}
            (Some(user), Some(file)) => {
                let password = read_password(file)?;
                builder = builder.credentials(Credentials::new(user.clone(), password));
            }
            (None, None) => {}
            (Some(_), None) => {
                return Err(DeliverError::Config(
                    "transport.user is set but transport.password_file is not".into(),
                ));
            }
            (None, Some(_)) => {
                return Err(DeliverError::Config(
                    "transport.password_file is set but transport.user is not".into(),
                ));
            }
        }
        let describe = format!(
            "smtp://{server} ({}{})",
            match cfg.tls {
                config::TlsMode::Implicit => "implicit tls",
                config::TlsMode::Starttls => "starttls",
                config::TlsMode::None => "no tls",
            },
            cfg.user
                .as_deref()
                .map(|u| format!(", auth as {u}"))
                .unwrap_or_default()
        );
        Ok(SmtpTransport {
            inner: builder.build(),
            oauth,
            server,
            describe,
            session_timeout: cfg.timeout.saturating_mul(SESSION_TIMEOUT_FACTOR),
        })
    }

    async fn send(&self, env: &Envelope, raw: &[u8]) -> Result<(), DeliverError> {
        let envelope = lettre_envelope(env)?;
        let Some(o) = &self.oauth else {
            return self.send_with(&self.inner, &envelope, raw).await;
        };
        // A refused token is renewed once: it may have been revoked or
        // expired early. AUTH fails before MAIL FROM, so nothing is sent twice.
        let mut renew = false;
        loop {
            let token = o.cred.token(renew).await.map_err(DeliverError::OAuth)?;
            let session =
                tokio::time::timeout(self.session_timeout, o.session(&envelope, raw, &token));
            let error = match session.await {
                Ok(Ok(mechanism)) => {
                    tracing::debug!(server = %self.server, mechanism = mechanism.name(), "signed in and handed over the mail");
                    return Ok(());
                }
                Ok(Err(e)) => e,
                Err(_elapsed) => return Err(self.timed_out()),
            };
            match error {
                SessionError::Refused { mechanism, .. } if !renew => {
                    tracing::debug!(server = %self.server, mechanism = mechanism.name(), "the token was refused; renewing it once");
                    renew = true;
                }
                SessionError::Refused {
                    mechanism,
                    code,
                    detail,
                } => {
                    return Err(DeliverError::Smtp {
                        server: self.server.clone(),
                        failure: SmtpFailure::Reply(code),
                        detail: format!(
                            "{} refused a freshly renewed token of [[oauth]] {} ({detail}): check that the app may send as {}",
                            mechanism.name(),
                            o.cred.name(),
                            o.user
                        ),
                    });
                }
                SessionError::Smtp(e) => return Err(self.smtp_error(&e)),
                SessionError::Unusable(detail) => {
                    return Err(DeliverError::Smtp {
                        server: self.server.clone(),
                        failure: SmtpFailure::Unsupported,
                        detail,
                    });
                }
            }
        }
    }

    /// One session by lettre's transport (password or no login).
    async fn send_with(
        &self,
        client: &AsyncSmtpTransport<Tokio1Executor>,
        envelope: &lettre::address::Envelope,
        raw: &[u8],
    ) -> Result<(), DeliverError> {
        match tokio::time::timeout(self.session_timeout, client.send_raw(envelope, raw)).await {
            Ok(Ok(_response)) => Ok(()),
            Ok(Err(e)) => Err(self.smtp_error(&e)),
            Err(_elapsed) => Err(self.timed_out()),
        }
    }

    fn smtp_error(&self, e: &lettre::transport::smtp::Error) -> DeliverError {
        DeliverError::Smtp {
            server: self.server.clone(),
            failure: classify_smtp(e),
            detail: e.to_string(),
        }
    }

    fn timed_out(&self) -> DeliverError {
        DeliverError::Smtp {
            server: self.server.clone(),
            failure: SmtpFailure::Network,
            detail: format!(
                "session not finished within {}",
                config::format_duration(self.session_timeout)
            ),
        }
    }
}

/// Trust anchors: the system roots (rustls-native-certs, lettre's default
/// store) plus the configured `ca_file` for a private CA.
fn tls_parameters(cfg: &config::Smtp) -> Result<TlsParameters, DeliverError> {
    // rustls checks the name at connect time and lettre reports a bad one as
    // a connection error, which would look transient; catch it now.
    if cfg.host.parse::<IpAddr>().is_err() && !is_dns_name(&cfg.host) {
        return Err(DeliverError::Config(format!(
            "transport.host {:?} is neither an IP address nor a DNS name, so no certificate can match it",
            cfg.host
        )));
    }
    let mut builder = TlsParameters::builder(cfg.host.clone());
    if let Some(path) = &cfg.ca_file {
        let pem = std::fs::read(path).map_err(|source| DeliverError::ConfigFile {
            what: "transport.ca_file",
            path: path.clone(),
            source,
        })?;
        let bad = |why: String| {
            DeliverError::Config(format!("transport.ca_file {}: {why}", path.display()))
        };
        // lettre accepts a PEM file with no certificate in it and would then
        // trust nothing extra; say so instead.
        if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
            return Err(bad("no PEM certificate in it".into()));
        }
        let cert = Certificate::from_pem(&pem).map_err(|e| bad(e.to_string()))?;
        builder = builder.add_root_certificate(cert);
    }
    builder
        .build()
        .map_err(|e| DeliverError::Config(format!("TLS setup for {}: {e}", cfg.host)))
}

fn is_dns_name(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

/// The password is the file's content minus its final line break (editors
/// add one; spaces are kept, they may be part of the password).
fn read_password(path: &Path) -> Result<String, DeliverError> {
    let text = std::fs::read_to_string(path).map_err(|source| DeliverError::ConfigFile {
        what: "transport.password_file",
        path: path.to_path_buf(),
        source,
    })?;
    let password = text.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        return Err(DeliverError::Config(format!(
            "transport.password_file {} is empty",
            path.display()
        )));
    }
    Ok(password.to_string())
}

fn lettre_envelope(env: &Envelope) -> Result<lettre::address::Envelope, DeliverError> {
    let convert = |a: &Address| {
        a.as_str()
            .parse::<lettre::Address>()
            .map_err(|e| DeliverError::BadAddress {
                address: a.to_string(),
                reason: e.to_string(),
            })
    };
    let from = env.from.as_ref().map(convert).transpose()?;
    let to = env.to.iter().map(convert).collect::<Result<Vec<_>, _>>()?;
    lettre::address::Envelope::new(from, to).map_err(|_| DeliverError::NoRecipients)
}

/// Sorts a lettre error by what a retry can change. lettre says "4xx/5xx",
/// "client" (we refused: no STARTTLS, no AUTH mechanism, no 8BITMIME) and
/// "response" (unreadable reply); connect, TLS handshake and I/O failures
/// all come as one kind with the io::Error inside.
fn classify_smtp(e: &lettre::transport::smtp::Error) -> SmtpFailure {
    if let Some(code) = e.status() {
        return SmtpFailure::Reply(code.into());
    }
    if e.is_timeout() {
        return SmtpFailure::Network;
    }
    if e.is_tls() {
        return SmtpFailure::Tls;
    }
    if e.is_client() {
        return SmtpFailure::Unsupported;
    }
    if e.is_response() {
        return SmtpFailure::Protocol;
    }
    // tokio-rustls reports every TLS protocol failure — an untrusted or
    // mismatched certificate, an alert from the server — as InvalidData;
    // a handshake cut by the network is a reset or an early EOF instead.
    let mut source = std::error::Error::source(e);
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<io::Error>() {
            return if io.kind() == io::ErrorKind::InvalidData {
                SmtpFailure::Tls
            } else {
                SmtpFailure::Network
            };
        }
        source = err.source();
    }
    SmtpFailure::Network
}

// ---------------------------------------------------------------- sendmail

/// Runs the local MTA's sendmail interface. Written on tokio::process
/// rather than lettre's sendmail transport: lettre passes no extra
/// arguments (`-C`, `-oi` variants) and folds every exit status into one
/// error, losing EX_TEMPFAIL.
#[derive(Debug, Clone)]
pub struct SendmailTransport {
    command: PathBuf,
    args: Vec<String>,
    timeout: Duration,
}

impl SendmailTransport {
    /// A local MTA hands over to its queue in well under a second; five
    /// minutes means it is stuck (bounded work, DESIGN invariant 3).
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

    pub fn new(command: impl Into<PathBuf>, args: Vec<String>) -> SendmailTransport {
        SendmailTransport {
            command: command.into(),
            args,
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }

    /// How long one run may take before it is killed (a transient error).
    pub fn with_timeout(mut self, timeout: Duration) -> SendmailTransport {
        self.timeout = timeout;
        self
    }

    fn describe(&self) -> String {
        let mut s = format!("sendmail:{}", self.command.display());
        for a in &self.args {
            s.push(' ');
            s.push_str(a);
        }
        s
    }

    async fn send(&self, env: &Envelope, raw: &[u8]) -> Result<(), DeliverError> {
        let fail = |failure| DeliverError::Sendmail {
            command: self.command.display().to_string(),
            failure,
        };
        // `command ARGS -i -f FROM -- RCPT...`: -i so a line with a lone "."
        // does not end the message; -f "" is the null sender; "--" so that
        // no recipient can be read as an option.
        let mut cmd = tokio::process::Command::new(&self.command);
        cmd.args(&self.args)
            .arg("-i")
            .arg("-f")
            .arg(env.from.as_ref().map(Address::as_str).unwrap_or(""))
            .arg("--")
            .args(env.to.iter().map(Address::as_str))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Dropped on timeout or shutdown: do not leave it running.
            .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|e| fail(SendmailFailure::Spawn(e)))?;
        let mut stdin = child.stdin.take().expect("stdin is piped");

        // Feed stdin while collecting the output: a child that fills its
        // stderr pipe before reading all its input would otherwise block
        // both of us.
        let feed = async move {
            let res = stdin.write_all(raw).await;
            drop(stdin); // EOF: the message ends here
            res
        };
        let run = async { tokio::join!(feed, child.wait_with_output()) };
        let (fed, output) = match tokio::time::timeout(self.timeout, run).await {
            Ok(done) => done,
            // The child future is dropped here, which kills the process.
            Err(_) => return Err(fail(SendmailFailure::Timeout(self.timeout))),
        };
        let output = output.map_err(|e| fail(SendmailFailure::Io(e)))?;

        // The exit status outranks a broken pipe: a sendmail that refuses
        // with EX_TEMPFAIL often exits before reading the whole message.
        if let Some(code) = output.status.code() {
            if code != 0 {
                let text = format!(
                    "{} {}",
                    String::from_utf8_lossy(&output.stderr),
                    String::from_utf8_lossy(&output.stdout)
                );
                return Err(fail(SendmailFailure::Exit {
                    code,
                    output: summarize(&text),
                }));
            }
        } else {
            use std::os::unix::process::ExitStatusExt;
            return Err(fail(SendmailFailure::Signal(
                output.status.signal().unwrap_or(0),
            )));
        }
        match fed {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                Err(fail(SendmailFailure::ShortRead))
            }
            Err(e) => Err(fail(SendmailFailure::Io(e))),
        }
    }
}

/// The MTA's complaint on one line, at most 500 characters, for logs.
fn summarize(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(500) {
        Some((cut, _)) => format!("{}…", &one_line[..cut]),
        None => one_line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn addr(s: &str) -> Address {
        Address::parse(s).unwrap()
    }

    fn envelope(from: Option<&str>, to: &[&str]) -> Envelope {
        Envelope {
            from: from.map(addr),
            to: to.iter().map(|s| addr(s)).collect(),
        }
    }

    // A message with the awkward parts: CRLF, a lone dot line, a dot-led
    // line, and bytes that are not UTF-8. Every transport must pass them on
    // unchanged.
    const RAW: &[u8] = b"From: support@acme.example\r\nTo: ann@customer.example\r\n\
Subject: [ACME #1] test\r\nMessage-ID: <1@acme.example>\r\n\r\nline one\r\n.\r\n..dots\r\n\xff\xfe\r\n";

    fn list(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    }

    // ------------------------------------------------------------ maildir

    #[tokio::test]
    async fn maildir_delivery_lands_in_new_with_the_exact_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let md = dir.path().join("sent");
        let t = Transport::from_config(&config::Transport::Maildir { path: md.clone() }).unwrap();
        t.send(
            &envelope(Some("support@acme.example"), &["ann@customer.example"]),
            RAW,
            "42-abc",
        )
        .await
        .unwrap();
        assert_eq!(list(&md.join("new")), ["42-abc.postdesk"]);
        assert!(list(&md.join("tmp")).is_empty(), "nothing left in tmp/");
        assert!(md.join("cur").is_dir(), "cur/ is created too");
        assert_eq!(std::fs::read(md.join("new/42-abc.postdesk")).unwrap(), RAW);
        let mode = std::fs::metadata(md.join("new/42-abc.postdesk"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "mail files are private");
        assert_eq!(t.describe(), format!("maildir:{}", md.display()));
    }

    #[tokio::test]
    async fn maildir_resend_of_the_same_key_replaces_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let t = Transport::Maildir(MaildirTransport::new(dir.path()));
        let env = envelope(None, &["ann@customer.example"]);
        t.send(&env, b"first attempt\r\n", "7-feed").await.unwrap();
        t.send(&env, RAW, "7-feed").await.unwrap();
        t.send(&env, RAW, "8-beef").await.unwrap();
        assert_eq!(
            list(&dir.path().join("new")),
            ["7-feed.postdesk", "8-beef.postdesk"]
        );
        assert_eq!(
            std::fs::read(dir.path().join("new/7-feed.postdesk")).unwrap(),
            RAW
        );
    }

    #[tokio::test]
    async fn maildir_under_a_plain_file_is_a_permanent_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, b"x").unwrap();
        let t = Transport::Maildir(MaildirTransport::new(&file));
        let err = t
            .send(&envelope(None, &["a@b.example"]), RAW, "1")
            .await
            .unwrap_err();
        assert!(matches!(err, DeliverError::Maildir { .. }), "{err:?}");
        assert!(!err.is_transient(), "{err}");
    }

    #[test]
    fn maildir_names_are_tame_unique_and_visible() {
        assert_eq!(maildir_name("42-abc_DEF.1"), "42-abc_DEF.1.postdesk");
        for key in [
            "../../etc/passwd",
            ".hidden",
            "a:2,S",
            "",
            "é",
            "a b",
            &"k".repeat(300),
        ] {
            let name = maildir_name(key);
            assert!(!name.starts_with('.'), "{key:?} -> {name}");
            assert!(name.len() <= 255, "{key:?} -> {name}");
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)),
                "{key:?} -> {name}"
            );
        }
        // Keys that tame to the same characters still get different names.
        assert_ne!(maildir_name("a/b"), maildir_name("a_b"));
        assert_ne!(maildir_name("a/b"), maildir_name("a:b"));
        assert_eq!(maildir_name("a/b"), maildir_name("a/b"), "deterministic");
    }

    #[test]
    fn transport_and_its_send_future_can_cross_tasks() {
        // The daemon keeps one Arc<Transport> and sends from spawned tasks.
        fn shareable<T: Send + Sync>() {}
        fn spawnable<F: std::future::Future + Send>(_: F) {}
        shareable::<Transport>();
        let t = Transport::Maildir(MaildirTransport::new("/nonexistent"));
        let env = envelope(None, &["a@b.example"]);
        spawnable(t.send(&env, RAW, "k")); // never polled
    }

    // ------------------------------------------------------------ errors

    #[test]
    fn transient_or_permanent() {
        let io = |kind| io::Error::from(kind);
        let smtp = |failure| DeliverError::Smtp {
            server: "mx:25".into(),
            failure,
            detail: String::new(),
        };
        let sendmail = |failure| DeliverError::Sendmail {
            command: "sendmail".into(),
            failure,
        };
        let exit = |code| SendmailFailure::Exit {
            code,
            output: String::new(),
        };
        let maildir = |kind| DeliverError::Maildir {
            path: "/m".into(),
            source: io(kind),
        };
        let table: Vec<(DeliverError, bool)> = vec![
            (DeliverError::NoRecipients, false),
            (
                DeliverError::BadAddress {
                    address: "x".into(),
                    reason: "y".into(),
                },
                false,
            ),
            (DeliverError::Config("bad CA file".into()), false),
            (
                DeliverError::ConfigFile {
                    what: "transport.password_file",
                    path: "/nope".into(),
                    source: io(io::ErrorKind::NotFound),
                },
                false,
            ),
            (maildir(io::ErrorKind::StorageFull), true),
            (maildir(io::ErrorKind::QuotaExceeded), true),
            (maildir(io::ErrorKind::Interrupted), true),
            (maildir(io::ErrorKind::PermissionDenied), false),
            (maildir(io::ErrorKind::NotADirectory), false),
            (smtp(SmtpFailure::Reply(421)), true),
            (smtp(SmtpFailure::Reply(450)), true),
            (smtp(SmtpFailure::Reply(452)), true),
            (smtp(SmtpFailure::Reply(535)), false),
            (smtp(SmtpFailure::Reply(550)), false),
            (smtp(SmtpFailure::Reply(554)), false),
            (smtp(SmtpFailure::Network), true),
            (smtp(SmtpFailure::Protocol), true),
            (smtp(SmtpFailure::Tls), false),
            (smtp(SmtpFailure::Unsupported), false),
            (sendmail(exit(75)), true),
            (sendmail(exit(64)), false),
            (sendmail(exit(65)), false),
            (sendmail(exit(67)), false),
            (sendmail(exit(69)), false),
            (sendmail(exit(78)), false),
            (sendmail(exit(1)), false),
            (sendmail(SendmailFailure::Signal(9)), true),
            (
                sendmail(SendmailFailure::Timeout(Duration::from_secs(1))),
                true,
            ),
            (
                sendmail(SendmailFailure::Io(io(io::ErrorKind::BrokenPipe))),
                true,
            ),
            (sendmail(SendmailFailure::ShortRead), true),
            (
                sendmail(SendmailFailure::Spawn(io(io::ErrorKind::NotFound))),
                false,
            ),
            (
                sendmail(SendmailFailure::Spawn(io(io::ErrorKind::PermissionDenied))),
                false,
            ),
            (
                sendmail(SendmailFailure::Spawn(io(io::ErrorKind::WouldBlock))),
                true,
            ),
        ];
        for (err, transient) in table {
            assert_eq!(err.is_transient(), transient, "{err:?} ({err})");
        }
    }

    #[tokio::test]
    async fn no_recipients_is_refused_by_every_transport() {
        let dir = tempfile::tempdir().unwrap();
        let transports = [
            Transport::Maildir(MaildirTransport::new(dir.path())),
            Transport::Sendmail(SendmailTransport::new("/bin/true", vec![])),
            Transport::from_config(&config::Transport::Smtp(smtp_config(1))).unwrap(),
        ];
        for t in transports {
            let err = t.send(&envelope(None, &[]), RAW, "1").await.unwrap_err();
            assert!(
                matches!(err, DeliverError::NoRecipients),
                "{}: {err:?}",
                t.describe()
            );
            assert!(!err.is_transient());
        }
        assert!(list(dir.path()).is_empty(), "nothing written");
    }

    // ------------------------------------------------------------ SMTP config

    fn smtp_config(port: u16) -> config::Smtp {
        config::Smtp {
            host: "127.0.0.1".into(),
            port,
            tls: config::TlsMode::None,
            user: None,
            password_file: None,
            auth: None,
            oauth: None,
            oauth_login: None,
            sasl: None,
            ca_file: None,
            timeout: Duration::from_millis(300),
            helo_name: Some("postdesk.test".into()),
        }
    }

    #[test]
    fn smtp_config_errors_name_the_file_and_are_permanent() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("smtp.pass");
        let mut cfg = smtp_config(25);
        cfg.user = Some("support@acme.example".into());
        cfg.password_file = Some(missing.clone());
        let err = SmtpTransport::from_config(&cfg).unwrap_err();
        assert!(
            err.to_string().contains(&*missing.to_string_lossy()),
            "{err}"
        );
        assert!(!err.is_transient());

        std::fs::write(&missing, "\n").unwrap();
        let err = SmtpTransport::from_config(&cfg).unwrap_err();
        assert!(err.to_string().contains("empty"), "{err}");

        cfg.password_file = None;
        assert!(
            SmtpTransport::from_config(&cfg).is_err(),
            "user without password_file"
        );

        let mut cfg = smtp_config(465);
        cfg.tls = config::TlsMode::Implicit;
        cfg.host = "localhost".into();
        let ca = dir.path().join("ca.pem");
        cfg.ca_file = Some(ca.clone());
        let err = SmtpTransport::from_config(&cfg).unwrap_err();
        assert!(
            err.to_string().contains(&*ca.to_string_lossy()),
            "missing CA: {err}"
        );
        for garbage in [
            &b"not a certificate\n"[..],
            b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n",
        ] {
            std::fs::write(&ca, garbage).unwrap();
            let err = SmtpTransport::from_config(&cfg).unwrap_err();
            assert!(
                err.to_string().contains(&*ca.to_string_lossy()),
                "bad CA: {err}"
            );
            assert!(!err.is_transient());
        }

        let mut cfg = smtp_config(587);
        cfg.tls = config::TlsMode::Starttls;
        cfg.host = "bad host".into();
        assert!(matches!(
            SmtpTransport::from_config(&cfg),
            Err(DeliverError::Config(_))
        ));
    }

    #[test]
    fn password_file_keeps_inner_spaces_and_drops_the_line_break() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("p");
        std::fs::write(&f, " pass word \r\n").unwrap();
        assert_eq!(read_password(&f).unwrap(), " pass word ");
    }

    #[test]
    fn describe_names_the_server_and_mode_but_no_secret() {
        let dir = tempfile::tempdir().unwrap();
        let pw = dir.path().join("p");
        std::fs::write(&pw, "s3cret\n").unwrap();
        let mut cfg = smtp_config(587);
        cfg.host = "mail.acme.example".into();
        cfg.tls = config::TlsMode::Starttls;
        cfg.user = Some("support@acme.example".into());
        cfg.password_file = Some(pw);
        let t = Transport::from_config(&config::Transport::Smtp(cfg)).unwrap();
        assert_eq!(
            t.describe(),
            "smtp://mail.acme.example:587 (starttls, auth as support@acme.example)"
        );
        assert!(!format!("{t:?}").contains("s3cret"));
        let t = Transport::from_config(&config::Transport::Smtp(smtp_config(2525))).unwrap();
        assert_eq!(t.describe(), "smtp://127.0.0.1:2525 (no tls)");
    }

    // ------------------------------------------------------------ SMTP fakes
    // Failure modes a real server does not produce on demand.

    /// A server that answers every connection with `greeting` (None: with
    /// silence) and then waits.
    async fn fake_server(greeting: Option<&'static str>) -> u16 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((mut sock, _)) = listener.accept().await {
                if let Some(g) = greeting {
                    let _ = sock.write_all(g.as_bytes()).await;
                }
                held.push(sock); // keep it open: a stall, not a close
            }
        });
        port
    }

    async fn smtp_send(port: u16) -> DeliverError {
        let t = Transport::from_config(&config::Transport::Smtp(smtp_config(port))).unwrap();
        t.send(
            &envelope(Some("support@acme.example"), &["ann@customer.example"]),
            RAW,
            "1",
        )
        .await
        .unwrap_err()
    }

    #[tokio::test]
    async fn smtp_server_that_never_greets_times_out_as_transient() {
        let port = fake_server(None).await;
        let started = std::time::Instant::now();
        let err = smtp_send(port).await;
        assert!(
            matches!(
                err,
                DeliverError::Smtp {
                    failure: SmtpFailure::Network,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.is_transient());
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "bounded by the session deadline"
        );
    }

    #[tokio::test]
    async fn smtp_greeting_codes_decide_retry() {
        let err = smtp_send(fake_server(Some("421 4.3.2 busy, come back later\r\n")).await).await;
        assert!(
            matches!(
                err,
                DeliverError::Smtp {
                    failure: SmtpFailure::Reply(421),
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.is_transient());
        let err = smtp_send(fake_server(Some("554 5.7.1 go away\r\n")).await).await;
        assert!(
            matches!(
                err,
                DeliverError::Smtp {
                    failure: SmtpFailure::Reply(554),
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(!err.is_transient());
        assert!(err.to_string().contains("go away"), "{err}");
    }

    #[tokio::test]
    async fn smtp_address_lettre_refuses_is_permanent() {
        let t = Transport::from_config(&config::Transport::Smtp(smtp_config(1))).unwrap();
        // Our Address is lenient (it has to read what customers send);
        // lettre's envelope check is strict: an empty domain label.
        let env = envelope(None, &["ann@customer..example"]);
        let err = t.send(&env, RAW, "1").await.unwrap_err();
        assert!(matches!(err, DeliverError::BadAddress { .. }), "{err:?}");
        assert!(!err.is_transient());
    }

    // ------------------------------------------------------------ sendmail

    /// A fake sendmail: a shell script with `body` after a line that records
    /// argv (one per line) and stdin next to itself.
    fn fake_sendmail(dir: &Path, body: &str) -> PathBuf {
        let path = dir.join("sendmail");
        let script = format!(
            "#!/bin/sh\nd=$(dirname \"$0\")\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > \"$d/argv\"\n{body}\n"
        );
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    fn read_lines(path: &Path) -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(String::from)
            .collect()
    }

    #[tokio::test]
    async fn sendmail_gets_args_envelope_and_exact_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let cmd = fake_sendmail(dir.path(), "cat > \"$d/stdin\"\nexit 0");
        let t = Transport::from_config(&config::Transport::Sendmail {
            command: cmd.clone(),
            args: vec!["-C".into(), "/etc/postfix-out".into()],
        })
        .unwrap();
        assert_eq!(
            t.describe(),
            format!("sendmail:{} -C /etc/postfix-out", cmd.display())
        );
        let env = envelope(
            Some("support@acme.example"),
            &["ann@customer.example", "-oQ/tmp@evil.example"],
        );
        t.send(&env, RAW, "1").await.unwrap();
        assert_eq!(
            read_lines(&dir.path().join("argv")),
            [
                "-C",
                "/etc/postfix-out",
                "-i",
                "-f",
                "support@acme.example",
                "--",
                "ann@customer.example",
                "-oQ/tmp@evil.example"
            ]
        );
        assert_eq!(std::fs::read(dir.path().join("stdin")).unwrap(), RAW);

        // The null sender is an empty -f argument.
        t.send(&envelope(None, &["ann@customer.example"]), RAW, "2")
            .await
            .unwrap();
        assert_eq!(
            read_lines(&dir.path().join("argv")),
            [
                "-C",
                "/etc/postfix-out",
                "-i",
                "-f",
                "",
                "--",
                "ann@customer.example"
            ]
        );
    }

    async fn sendmail_error(body: &str) -> DeliverError {
        let dir = tempfile::tempdir().unwrap();
        let t = SendmailTransport::new(fake_sendmail(dir.path(), body), vec![])
            .with_timeout(Duration::from_secs(2));
        Transport::Sendmail(t)
            .send(&envelope(None, &["ann@customer.example"]), RAW, "1")
            .await
            .unwrap_err()
    }

    #[tokio::test]
    async fn sendmail_exit_75_is_transient() {
        let err =
            sendmail_error("cat >/dev/null; echo 'queue file write error' >&2; exit 75").await;
        assert!(err.is_transient(), "{err}");
        assert!(err.to_string().contains("75"), "{err}");
        assert!(err.to_string().contains("queue file write error"), "{err}");
    }

    #[tokio::test]
    async fn sendmail_exit_67_is_permanent() {
        let err = sendmail_error("cat >/dev/null; echo 'unknown user' >&2; exit 67").await;
        assert!(
            matches!(
                &err,
                DeliverError::Sendmail {
                    failure: SendmailFailure::Exit { code: 67, .. },
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(!err.is_transient(), "{err}");
    }

    #[tokio::test]
    async fn sendmail_exit_status_wins_over_a_broken_pipe() {
        // Exits before reading a message bigger than the pipe buffer.
        let dir = tempfile::tempdir().unwrap();
        let t = SendmailTransport::new(fake_sendmail(dir.path(), "exit 75"), vec![]);
        let big = vec![b'x'; 1 << 20];
        let err = Transport::Sendmail(t)
            .send(&envelope(None, &["a@b.example"]), &big, "1")
            .await
            .unwrap_err();
        assert!(
            matches!(
                &err,
                DeliverError::Sendmail {
                    failure: SendmailFailure::Exit { code: 75, .. },
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.is_transient());
    }

    #[tokio::test]
    async fn sendmail_killed_by_a_signal_is_transient() {
        let err = sendmail_error("kill -KILL $$").await;
        assert!(
            matches!(
                &err,
                DeliverError::Sendmail {
                    failure: SendmailFailure::Signal(9),
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.is_transient());
    }

    #[tokio::test]
    async fn sendmail_that_hangs_is_killed_at_the_deadline() {
        let dir = tempfile::tempdir().unwrap();
        let t = SendmailTransport::new(fake_sendmail(dir.path(), "exec sleep 30"), vec![])
            .with_timeout(Duration::from_millis(300));
        let err = Transport::Sendmail(t)
            .send(&envelope(None, &["a@b.example"]), RAW, "1")
            .await
            .unwrap_err();
        assert!(
            matches!(
                &err,
                DeliverError::Sendmail {
                    failure: SendmailFailure::Timeout(_),
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.is_transient());
    }

    #[tokio::test]
    async fn sendmail_missing_command_is_permanent() {
        let dir = tempfile::tempdir().unwrap();
        let t = SendmailTransport::new(dir.path().join("no-such-sendmail"), vec![]);
        let err = Transport::Sendmail(t)
            .send(&envelope(None, &["a@b.example"]), RAW, "1")
            .await
            .unwrap_err();
        assert!(
            matches!(
                &err,
                DeliverError::Sendmail {
                    failure: SendmailFailure::Spawn(_),
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(!err.is_transient());
    }
}
