//! oauth: OAuth 2.0 sign-in for the mail servers of `source` and the SMTP
//! transport of `outbox` (XOAUTH2 / OAUTHBEARER). A [`Credential`] is one
//! `[[oauth]]` table: it hands out a current access token, renewing it
//! before it expires or when a server refused it, and keeps the tokens in
//! the token file (`store`). `postdesk oauth login` runs the device flow
//! ([`Credential::device_login`]); `postdesk oauth status` reads the file.
//!
//! The pure parts — forms, answers, renewal times (`token`), SASL messages
//! (`sasl`), the service account's JWT (`jwt`) — are apart from the HTTP
//! exchange (`http`). No token, secret or key ever reaches a message here.

mod http;
pub mod jwt;
pub mod sasl;
pub mod store;
pub mod token;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use chrono::{DateTime, Utc};

use crate::config::{Flow, OAuth};
use crate::domain::clock::{Clock, SystemClock};
use store::TokenFile;
use token::{Refusal, Tokens};

/// Why no access token could be had. Each names the `[[oauth]]` credential
/// and says what to do; none holds a secret.
#[derive(Debug, Clone, thiserror::Error)]
pub enum OAuthError {
    #[error("[[oauth]] {name} has no refresh token yet: run `postdesk oauth login {name}`")]
    NotLoggedIn { name: String },
    #[error(
        "the {provider} refresh token of [[oauth]] {name} was revoked or has expired (refused on {at}: {detail}); run `postdesk oauth login {name}`"
    )]
    GrantRevoked {
        name: String,
        provider: &'static str,
        at: String,
        detail: String,
    },
    #[error(
        "the {provider} token endpoint refused [[oauth]] {name} ({detail}): check its client_id, client_secret_file or key_file, and the app's permissions"
    )]
    ClientRefused {
        name: String,
        provider: &'static str,
        detail: String,
    },
    #[error("[[oauth]] {name}: {url} did not answer usefully: {detail}")]
    Endpoint {
        name: String,
        url: String,
        detail: String,
    },
    #[error("[[oauth]] {name}: {url} is not trusted: {detail}")]
    Untrusted {
        name: String,
        url: String,
        detail: String,
    },
    #[error("[[oauth]] {name}: {detail}")]
    Setup { name: String, detail: String },
    #[error("[[oauth]] {name}: token file {}: {detail}", path.display())]
    TokenFile {
        name: String,
        path: PathBuf,
        detail: String,
    },
}

impl OAuthError {
    /// Worth trying again at the normal pace (the endpoint was down); the
    /// others need a person, so sources back off as after a refused login.
    pub fn is_transient(&self) -> bool {
        matches!(self, OAuthError::Endpoint { .. })
    }
}

/// An access token. Its Debug and Display never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(String);

impl AccessToken {
    /// The token itself, for the SASL message only.
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessToken(…)")
    }
}

/// One lock per token file in this process: two sources sharing a
/// credential must not both spend (and rotate) the refresh token.
fn file_lock(path: &std::path::Path) -> Arc<Mutex<()>> {
    static LOCKS: OnceLock<Mutex<HashMap<PathBuf, Arc<Mutex<()>>>>> = OnceLock::new();
    let mut all = LOCKS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    all.entry(path.to_path_buf()).or_default().clone()
}

/// An `[[oauth]]` credential at work.
#[derive(Clone)]
pub struct Credential {
    spec: Arc<OAuth>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credential({})", self.spec.name)
    }
}

fn show_time(t: i64) -> String {
    DateTime::<Utc>::from_timestamp(t, 0)
        .map(|d| d.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| t.to_string())
}

impl Credential {
    pub fn new(spec: &OAuth) -> Credential {
        Credential {
            spec: Arc::new(spec.clone()),
            clock: Arc::new(SystemClock),
        }
    }

    pub fn name(&self) -> &str {
        &self.spec.name
    }

    pub fn spec(&self) -> &OAuth {
        &self.spec
    }

    fn now(&self) -> i64 {
        self.clock.now().timestamp()
    }

    fn setup(&self, detail: String) -> OAuthError {
        OAuthError::Setup {
            name: self.spec.name.clone(),
            detail,
        }
    }

    fn file_error(&self, e: std::io::Error) -> OAuthError {
        OAuthError::TokenFile {
            name: self.spec.name.clone(),
            path: self.spec.token_file.clone(),
            detail: e.to_string(),
        }
    }

    /// A current access token: the stored one while it is good, else a new
    /// one. `renew`: the server refused the stored one (revoked, or expired
    /// early) — get a new one whatever its expiry says.
    pub async fn token(&self, renew: bool) -> Result<AccessToken, OAuthError> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || me.token_blocking(renew))
            .await
            .map_err(|e| self.setup(format!("token task failed: {e}")))?
    }

    /// [`Credential::token`] for callers off the async runtime.
    pub fn token_blocking(&self, renew: bool) -> Result<AccessToken, OAuthError> {
        let lock = file_lock(&self.spec.token_file);
        let _held = lock.lock().unwrap_or_else(|e| e.into_inner());
        let path = &self.spec.token_file;
        let _file_held = store::lock(path).map_err(|e| self.file_error(e))?;
        let mut file = store::load(path)
            .map_err(|e| self.file_error(e))?
            .unwrap_or_default();
        let now = self.now();
        if !renew
            && let (Some(t), Some(issued), Some(expires)) =
                (&file.access_token, file.issued_at, file.expires_at)
            && !token::due(issued, expires, now)
        {
            return Ok(AccessToken(t.clone()));
        }
        match self.grant(&file, now) {
            Ok(tokens) => {
                self.keep(&mut file, tokens, now);
                store::save(path, &file).map_err(|e| self.file_error(e))?;
                Ok(AccessToken(file.access_token.clone().unwrap_or_default()))
            }
            Err(e) => {
                file.last_error = Some(e.to_string());
                file.last_error_at = Some(now);
                if matches!(e, OAuthError::GrantRevoked { .. }) {
                    // The refresh token is kept: each later try is refused
                    // the same way, so the log keeps naming the cure.
                    file.grant_refused_at = Some(now);
                    file.access_token = None;
                }
                // The error is what matters; a file that cannot take it
                // will fail the next save as well.
                let _ = store::save(path, &file);
                Err(e)
            }
        }
    }

    /// Records a grant's answer; a rotated refresh token replaces the old.
    fn keep(&self, file: &mut TokenFile, tokens: Tokens, now: i64) {
        file.access_token = Some(tokens.access_token);
        file.issued_at = Some(now);
        file.expires_at = Some(now + tokens.expires_in as i64);
        if let Some(r) = tokens.refresh_token {
            file.refresh_token = Some(r);
            file.refresh_expires_at = tokens.refresh_expires_in.map(|s| now + s as i64);
        }
        if self.spec.flow == Flow::ServiceAccount {
            file.account = self.spec.user.clone();
        } else if tokens.account.is_some() {
            // A refresh answer seldom repeats the id_token: the login's stays.
            file.account = tokens.account;
        }
        file.last_refresh = Some(now);
        file.grant_refused_at = None;
        file.last_error = None;
        file.last_error_at = None;
    }

    fn read_secret(&self) -> Result<Option<String>, OAuthError> {
        let Some(path) = &self.spec.client_secret_file else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(path).map_err(|e| {
            self.setup(format!(
                "cannot read client_secret_file {}: {e}",
                path.display()
            ))
        })?;
        let secret = text.trim_end_matches(['\r', '\n']);
        if secret.is_empty() {
            return Err(self.setup(format!("client_secret_file {} is empty", path.display())));
        }
        Ok(Some(secret.to_string()))
    }

    /// The form of this credential's grant.
    fn grant_form(&self, file: &TokenFile, now: i64) -> Result<token::Form, OAuthError> {
        let s = &self.spec;
        Ok(match s.flow {
            Flow::ClientCredentials => {
                let secret = self.read_secret()?.unwrap_or_default();
                token::client_credentials(&s.client_id, &secret, &s.scope)
            }
            Flow::RefreshToken => {
                let Some(refresh) = &file.refresh_token else {
                    return Err(OAuthError::NotLoggedIn {
                        name: s.name.clone(),
                    });
                };
                let secret = self.read_secret()?;
                token::refresh(&s.client_id, secret.as_deref(), refresh, &s.scope)
            }
            Flow::ServiceAccount => {
                let path = s
                    .key_file
                    .as_ref()
                    .ok_or_else(|| self.setup("no key_file".into()))?;
                let text = std::fs::read_to_string(path).map_err(|e| {
                    self.setup(format!("cannot read key_file {}: {e}", path.display()))
                })?;
                let key = jwt::ServiceKey::parse(&text)
                    .map_err(|e| self.setup(format!("key_file {}: {e}", path.display())))?;
                let user = s.user.as_deref().unwrap_or_default();
                let assertion = jwt::assertion(&key, user, &s.scope, &s.token_url, now)
                    .map_err(|e| self.setup(format!("key_file {}: {e}", path.display())))?;
                token::jwt_bearer(&assertion)
            }
        })
    }

    fn grant(&self, file: &TokenFile, now: i64) -> Result<Tokens, OAuthError> {
        let form = self.grant_form(file, now)?;
        let (status, body) = self.post(&self.spec.token_url, &form)?;
        token::parse_tokens(status, &body).map_err(|r| self.refused(r, now))
    }

    /// One exchange with an endpoint of this credential, trusting its `ca_file`.
    fn post(&self, url: &str, form: &token::Form) -> Result<(u16, String), OAuthError> {
        http::post_form(url, form, self.spec.ca_file.as_deref()).map_err(|e| match e {
            http::HttpError::Setup(detail) => self.setup(detail),
            http::HttpError::Untrusted(detail) => OAuthError::Untrusted {
                name: self.spec.name.clone(),
                url: url.to_string(),
                detail,
            },
            http::HttpError::Failed(detail) => OAuthError::Endpoint {
                name: self.spec.name.clone(),
                url: url.to_string(),
                detail,
            },
        })
    }

    fn endpoint(&self, detail: String) -> OAuthError {
        OAuthError::Endpoint {
            name: self.spec.name.clone(),
            url: self.spec.token_url.clone(),
            detail,
        }
    }

    fn refused(&self, r: Refusal, now: i64) -> OAuthError {
        let (name, provider) = (self.spec.name.clone(), self.spec.provider_label());
        match r {
            Refusal::Grant(detail) if self.spec.flow == Flow::RefreshToken => {
                OAuthError::GrantRevoked {
                    name,
                    provider,
                    at: show_time(now),
                    detail,
                }
            }
            Refusal::Grant(detail) | Refusal::Client(detail) | Refusal::Expired(detail) => {
                OAuthError::ClientRefused {
                    name,
                    provider,
                    detail,
                }
            }
            Refusal::Pending | Refusal::SlowDown => {
                self.endpoint("a device-flow answer to a token request".into())
            }
            Refusal::Server(detail) => self.endpoint(detail),
        }
    }

    /// `postdesk oauth login`: the device flow (RFC 8628). Prints where to
    /// go and the code to `out`, polls until the user has signed in, and
    /// stores the tokens. Blocking; for the CLI.
    pub fn device_login(&self, out: &mut dyn std::io::Write) -> Result<(), OAuthError> {
        let s = &self.spec;
        if s.flow != Flow::RefreshToken {
            return Err(self.setup(format!(
                "flow = \"{}\" needs no login: postdesk gets its tokens by itself",
                s.flow.as_str()
            )));
        }
        let device_url = s
            .device_url
            .clone()
            .ok_or_else(|| self.setup("no device_url".into()))?;
        let secret = self.read_secret()?;
        let (status, body) =
            self.post(&device_url, &token::device_start(&s.client_id, &s.scope))?;
        let start = token::parse_device(status, &body).map_err(|r| self.refused(r, self.now()))?;
        let _ = writeln!(
            out,
            "To sign in [[oauth]] {}, open {} in a browser (on any device) and enter the code {}",
            s.name, start.verification_uri, start.user_code
        );
        let _ = writeln!(
            out,
            "Waiting for the sign-in (up to {} seconds)...",
            start.expires_in
        );
        let _ = out.flush();
        let deadline = self.now() + start.expires_in as i64;
        let mut interval = start.interval;
        let form = token::device_poll(&s.client_id, secret.as_deref(), &start.device_code);
        loop {
            std::thread::sleep(std::time::Duration::from_secs(interval));
            let now = self.now();
            if now > deadline {
                return Err(self.setup(
                    "the code expired before the sign-in finished: run the login again".into(),
                ));
            }
            let (status, body) = self.post(&s.token_url, &form)?;
            match token::parse_tokens(status, &body) {
                Ok(tokens) => {
                    if tokens.refresh_token.is_none() {
                        return Err(self.setup(
                            "the provider gave no refresh token: add offline_access (Microsoft) to scope, or check the app's consent".into(),
                        ));
                    }
                    let lock = file_lock(&s.token_file);
                    let _held = lock.lock().unwrap_or_else(|e| e.into_inner());
                    let _file_held = store::lock(&s.token_file).map_err(|e| self.file_error(e))?;
                    let mut file = store::load(&s.token_file)
                        .ok()
                        .flatten()
                        .unwrap_or_default();
                    file.refresh_token = None;
                    file.grant_refused_at = None;
                    // Whoever signed in before may not be who signs in now.
                    file.account = None;
                    self.keep(&mut file, tokens, now);
                    store::save(&s.token_file, &file).map_err(|e| self.file_error(e))?;
                    let _ = writeln!(
                        out,
                        "Signed in; the tokens are in {}",
                        s.token_file.display()
                    );
                    return Ok(());
                }
                Err(Refusal::Pending) => {}
                Err(Refusal::SlowDown) => interval += 5,
                Err(Refusal::Client(d) | Refusal::Grant(d) | Refusal::Expired(d)) => {
                    return Err(self.setup(format!("the sign-in did not happen: {d}")));
                }
                Err(Refusal::Server(d)) => return Err(self.endpoint(d)),
            }
        }
    }

    /// What `postdesk oauth status` shows of this credential.
    pub fn status(&self) -> Status {
        let file = store::load(&self.spec.token_file);
        Status {
            name: self.spec.name.clone(),
            flow: self.spec.flow.as_str(),
            provider: self.spec.provider_label(),
            account: self.spec.user.clone(),
            file: file.map_err(|e| e.to_string()),
            token_file: self.spec.token_file.clone(),
            now: self.now(),
        }
    }
}

/// One credential's state, for `postdesk oauth status`.
pub struct Status {
    pub name: String,
    pub flow: &'static str,
    pub provider: &'static str,
    pub account: Option<String>,
    pub file: Result<Option<TokenFile>, String>,
    pub token_file: PathBuf,
    pub now: i64,
}

impl Status {
    /// `key: value` lines, no token in them.
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![format!("{} ({}, {})", self.name, self.flow, self.provider)];
        let never = || "never".to_string();
        match &self.file {
            Err(e) => out.push(format!(
                "  token file:     {} ({e})",
                self.token_file.display()
            )),
            Ok(None) => {
                out.push(format!(
                    "  token file:     {} (none yet)",
                    self.token_file.display()
                ));
                if self.flow == "refresh_token" {
                    out.push(format!(
                        "  next step:      postdesk oauth login {}",
                        self.name
                    ));
                }
            }
            Ok(Some(f)) => {
                let account = f.account.clone().or(self.account.clone());
                out.push(format!(
                    "  account:        {}",
                    account.unwrap_or_else(|| "(not known)".into())
                ));
                let access = match (f.access_token.is_some(), f.expires_at) {
                    (true, Some(t)) if t > self.now => format!("valid until {}", show_time(t)),
                    (true, Some(t)) => format!("expired {}", show_time(t)),
                    _ => "none".into(),
                };
                out.push(format!("  access token:   {access}"));
                if self.flow == "refresh_token" {
                    let grant = match (f.refresh_token.is_some(), f.refresh_expires_at) {
                        _ if f.grant_refused_at.is_some() => format!(
                            "refused on {} (revoked or expired): run `postdesk oauth login {}`",
                            show_time(f.grant_refused_at.unwrap_or_default()),
                            self.name
                        ),
                        (false, _) => format!("none (run `postdesk oauth login {}`)", self.name),
                        (true, Some(t)) => format!("held, until {}", show_time(t)),
                        (true, None) => "held (the provider gives no end)".into(),
                    };
                    out.push(format!("  refresh grant:  {grant}"));
                }
                out.push(format!(
                    "  last refresh:   {}",
                    f.last_refresh.map(show_time).unwrap_or_else(never)
                ));
                let err = match (&f.last_error, f.last_error_at) {
                    (Some(e), Some(at)) => format!("{} ({e})", show_time(at)),
                    (Some(e), None) => e.clone(),
                    _ => "none".into(),
                };
                out.push(format!("  last error:     {err}"));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;

    /// A token endpoint on port 0 that answers each request with the next
    /// of `answers` (status, JSON) and records the forms it was sent.
    fn endpoint(
        answers: Vec<(u16, &'static str)>,
    ) -> (String, std::thread::JoinHandle<Vec<String>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/token", listener.local_addr().unwrap());
        let handle = std::thread::spawn(move || {
            let mut forms = Vec::new();
            for (status, body) in answers {
                let (stream, _) = listener.accept().unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut len = 0;
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap();
                    }
                    if line == "\r\n" {
                        break;
                    }
                }
                let mut form = vec![0; len];
                reader.read_exact(&mut form).unwrap();
                forms.push(String::from_utf8(form).unwrap());
                let mut stream = stream;
                write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
                .unwrap();
            }
            forms
        });
        (url, handle)
    }

    fn spec(dir: &std::path::Path, flow: Flow, url: &str) -> OAuth {
        std::fs::write(dir.join("secret"), "CLIENT-SECRET\n").unwrap();
        OAuth {
            name: "t".into(),
            flow,
            provider: None,
            client_id: "cid".into(),
            client_secret_file: Some(dir.join("secret")),
            key_file: None,
            scope: "mail".into(),
            tenant: None,
            token_url: url.into(),
            device_url: None,
            user: None,
            ca_file: None,
            token_file: dir.join("oauth-t.json"),
        }
    }

    fn tempdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("postdesk-oauth-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn refresh_keeps_the_rotated_token_and_reuses_a_good_one() {
        let dir = tempdir("rotate");
        let (url, server) = endpoint(vec![
            (
                200,
                r#"{"access_token":"A2","expires_in":3600,"refresh_token":"R2"}"#,
            ),
            (200, r#"{"access_token":"A3","expires_in":3600}"#),
        ]);
        let cred = Credential::new(&spec(&dir, Flow::RefreshToken, &url));
        let mut file = TokenFile {
            refresh_token: Some("R1".into()),
            ..TokenFile::default()
        };
        store::save(&cred.spec.token_file, &file).unwrap();
        assert_eq!(cred.token_blocking(false).unwrap().secret(), "A2");
        // Good for an hour: no request.
        assert_eq!(cred.token_blocking(false).unwrap().secret(), "A2");
        // Refused by a server: renewed, with the rotated refresh token.
        assert_eq!(cred.token_blocking(true).unwrap().secret(), "A3");
        let forms = server.join().unwrap();
        assert!(forms[0].contains("refresh_token=R1"), "{forms:?}");
        assert!(
            forms[0].contains("client_secret=CLIENT-SECRET"),
            "{forms:?}"
        );
        assert!(forms[1].contains("refresh_token=R2"), "{forms:?}");
        file = store::load(&cred.spec.token_file).unwrap().unwrap();
        // A provider that sends no new refresh token leaves the last one.
        assert_eq!(file.refresh_token.as_deref(), Some("R2"));
        assert_eq!(file.last_error, None);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn refusals_become_named_errors_without_secrets() {
        let dir = tempdir("refuse");
        let (url, server) = endpoint(vec![
            (
                400,
                r#"{"error":"invalid_grant","error_description":"AADSTS50173 revoked"}"#,
            ),
            (
                401,
                r#"{"error":"invalid_client","error_description":"bad secret"}"#,
            ),
            (503, "<html>down</html>"),
        ]);
        let rt = spec(&dir, Flow::RefreshToken, &url);
        let cc = spec(&dir, Flow::ClientCredentials, &url);
        let file = TokenFile {
            refresh_token: Some("R1".into()),
            access_token: Some("OLD".into()),
            ..TokenFile::default()
        };
        store::save(&rt.token_file, &file).unwrap();
        let e = Credential::new(&rt).token_blocking(true).unwrap_err();
        assert!(matches!(e, OAuthError::GrantRevoked { .. }), "{e}");
        let text = e.to_string();
        assert!(text.contains("was revoked or has expired"), "{text}");
        assert!(
            text.contains("invalid_grant: AADSTS50173 revoked"),
            "{text}"
        );
        assert!(text.contains("run `postdesk oauth login t`"), "{text}");
        assert!(!e.is_transient());
        let kept = store::load(&rt.token_file).unwrap().unwrap();
        assert!(kept.grant_refused_at.is_some() && kept.access_token.is_none());
        assert_eq!(kept.last_error.as_deref(), Some(text.as_str()));
        let e = Credential::new(&cc).token_blocking(false).unwrap_err();
        assert!(matches!(e, OAuthError::ClientRefused { .. }), "{e}");
        let e = Credential::new(&cc).token_blocking(false).unwrap_err();
        assert!(e.is_transient(), "{e}");
        for e in [e.to_string(), kept.last_error.unwrap_or_default()] {
            assert!(!e.contains("CLIENT-SECRET") && !e.contains("R1"), "{e}");
        }
        server.join().unwrap();
        // Nobody signed in: no request at all, and the cure named.
        std::fs::remove_file(&rt.token_file).unwrap();
        let e = Credential::new(&rt).token_blocking(false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "[[oauth]] t has no refresh token yet: run `postdesk oauth login t`"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
