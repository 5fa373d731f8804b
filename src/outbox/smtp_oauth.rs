//! The SMTP session of an `auth = "oauth2"` transport: connect (implicit
//! TLS or required STARTTLS, as `deliver` configures it), AUTH with an
//! access token, then the one mail. lettre's transport knows only XOAUTH2,
//! so this drives lettre's connection by hand to sign in by the mechanism
//! the server announces (OAUTHBEARER first, as the IMAP and POP3 sources
//! do) or the one `sasl` forces, and to answer a refusal's error challenge
//! as RFC 7628 section 3.2.3 says. `deliver` keeps the retry policy.

use std::fmt;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lettre::transport::smtp::client::{AsyncSmtpConnection, Tls};
use lettre::transport::smtp::commands::Ehlo;
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::response::Response;

use crate::oauth::sasl::{self, Mechanism};
use crate::oauth::{AccessToken, Credential};

/// What an `auth = "oauth2"` transport signs in with.
pub(super) struct SmtpOAuth {
    pub cred: Credential,
    pub user: String,
    pub host: String,
    pub port: u16,
    pub hello: ClientId,
    pub tls: Tls,
    /// lettre's connect timeout.
    pub timeout: Duration,
    /// `sasl` of the transport; `None`: by the server's EHLO.
    pub forced: Option<Mechanism>,
}

/// How one session ended short of handing over the mail.
#[derive(Debug)]
pub(super) enum SessionError {
    /// The server refused the token: `code` of its final reply, and what
    /// it said (the error challenge's status included).
    Refused {
        mechanism: Mechanism,
        code: u16,
        detail: String,
    },
    /// Anything else lettre reports: network, TLS, a reply to the mail.
    Smtp(lettre::transport::smtp::Error),
    /// Nothing to sign in with: the server offers no token mechanism (and
    /// none was forced), or the login name cannot go in a SASL message.
    Unusable(String),
}

impl From<lettre::transport::smtp::Error> for SessionError {
    fn from(e: lettre::transport::smtp::Error) -> SessionError {
        SessionError::Smtp(e)
    }
}

/// One SASL line (an AUTH command or an answer to a challenge). It
/// carries the token: its Debug shows nothing, and lettre (built without
/// its `tracing` feature) logs no command.
struct SaslLine(String);

impl fmt::Display for SaslLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}\r\n", self.0)
    }
}

impl fmt::Debug for SaslLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SaslLine(…)")
    }
}

impl SmtpOAuth {
    /// Connects, signs in with `token` and sends the mail; QUIT whatever
    /// happened, as lettre's own transport does after each mail.
    pub async fn session(
        &self,
        envelope: &lettre::address::Envelope,
        raw: &[u8],
        token: &AccessToken,
    ) -> Result<Mechanism, SessionError> {
        let wrapper = match &self.tls {
            Tls::Wrapper(p) => Some(p.clone()),
            _ => None,
        };
        let mut conn = AsyncSmtpConnection::connect_tokio1(
            (self.host.as_str(), self.port),
            Some(self.timeout),
            &self.hello,
            wrapper,
            None,
        )
        .await?;
        let result = self.after_connect(&mut conn, envelope, raw, token).await;
        conn.abort().await;
        result
    }

    async fn after_connect(
        &self,
        conn: &mut AsyncSmtpConnection,
        envelope: &lettre::address::Envelope,
        raw: &[u8],
        token: &AccessToken,
    ) -> Result<Mechanism, SessionError> {
        if let Tls::Required(p) = &self.tls {
            // Fails when the server does not offer STARTTLS: never in clear.
            conn.starttls(p.clone(), &self.hello).await?;
        }
        let mechanism = match self.forced {
            Some(m) => m,
            None => {
                // lettre's record of the EHLO keeps only the mechanisms it
                // implements: ask again to read the whole AUTH line.
                let ehlo = conn.command(Ehlo::new(self.hello.clone())).await?;
                let offered = auth_mechanisms(&ehlo);
                Mechanism::choose(offered.iter().map(String::as_str)).ok_or_else(|| {
                    SessionError::Unusable(if offered.is_empty() {
                        "the server announces no AUTH in its EHLO".into()
                    } else {
                        format!(
                            "the server announces neither AUTH OAUTHBEARER nor XOAUTH2 (only {}); set sasl if it takes one unannounced",
                            offered.join(" ")
                        )
                    })
                })?
            }
        };
        self.authenticate(conn, mechanism, token).await?;
        conn.send(envelope, raw).await?;
        Ok(mechanism)
    }

    /// AUTH with the initial response (RFC 4954). A refusal comes either
    /// as a 5xx at once or as a 334 error challenge, which the client
    /// answers (an empty line for XOAUTH2, %x01 for OAUTHBEARER) before the
    /// server gives its final reply.
    async fn authenticate(
        &self,
        conn: &mut AsyncSmtpConnection,
        mechanism: Mechanism,
        token: &AccessToken,
    ) -> Result<(), SessionError> {
        if sasl::unsafe_field(&self.user) {
            return Err(SessionError::Unusable(
                "transport.user contains a control character".into(),
            ));
        }
        let first = mechanism.initial_response(&self.user, &self.host, self.port, token.secret());
        let line = SaslLine(format!(
            "AUTH {} {}",
            mechanism.name(),
            STANDARD.encode(first)
        ));
        let reply = conn.command(line).await;
        let (reply, challenge) = match reply {
            Ok(r) if r.has_code(334) => {
                let said = challenge_status(&r);
                let answer = SaslLine(STANDARD.encode(mechanism.after_error()));
                (conn.command(answer).await, said)
            }
            other => (other, None),
        };
        let refused = |code: u16, text: String| {
            let detail = match &challenge {
                Some(status) => format!("{text}; its error challenge said {status}"),
                None => text,
            };
            SessionError::Refused {
                mechanism,
                code,
                detail,
            }
        };
        match reply {
            Ok(r) if r.has_code(235) => Ok(()),
            // A second challenge, or any other positive reply, is no sign-in.
            Ok(r) => {
                let code = reply_code(&r);
                Err(refused(code, format!("{code} {}", reply_text(&r))))
            }
            Err(e) => match e.status().map(u16::from) {
                // 530 (authentication required), 534 (mechanism too weak)
                // and 535 (credentials invalid) refuse the token; 454 is
                // the server's own trouble and 4xx passes with time.
                Some(code @ (530 | 534 | 535)) => Err(refused(code, e.to_string())),
                _ => Err(SessionError::Smtp(e)),
            },
        }
    }
}

fn reply_code(r: &Response) -> u16 {
    r.code().to_string().parse().unwrap_or(0)
}

fn reply_text(r: &Response) -> String {
    crate::oauth::token::clean(&r.message().collect::<Vec<_>>().join(" "))
}

/// The `status` of an error challenge (RFC 7628 section 3.2.2: base64
/// JSON such as `{"status":"invalid_token"}`), for the error message.
fn challenge_status(r: &Response) -> Option<String> {
    let text = r.first_word()?;
    let json = STANDARD.decode(text).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&json).ok()?;
    let status = crate::oauth::token::clean(v["status"].as_str()?);
    (!status.is_empty()).then_some(status)
}

/// The SASL mechanisms an EHLO reply announces: the words after `AUTH`
/// (and after the pre-RFC 4954 `AUTH=` some servers still send).
pub(super) fn auth_mechanisms(ehlo: &Response) -> Vec<String> {
    let mut out = Vec::new();
    for line in ehlo.message().skip(1) {
        out.extend(line_mechanisms(line));
    }
    out
}

fn line_mechanisms(line: &str) -> Vec<String> {
    let mut words = line.split_whitespace();
    let Some(first) = words.next() else {
        return Vec::new();
    };
    let upper = first.to_ascii_uppercase();
    let mut out = Vec::new();
    if let Some(rest) = upper.strip_prefix("AUTH=") {
        out.push(rest.to_string());
    } else if upper != "AUTH" {
        return out;
    }
    out.extend(words.map(str::to_ascii_uppercase));
    out.retain(|m| !m.is_empty());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announced_mechanisms() {
        let cases: [(&str, &[&str]); 7] = [
            ("AUTH PLAIN LOGIN XOAUTH2", &["PLAIN", "LOGIN", "XOAUTH2"]),
            ("auth oauthbearer xoauth2", &["OAUTHBEARER", "XOAUTH2"]),
            ("AUTH=LOGIN PLAIN", &["LOGIN", "PLAIN"]),
            ("AUTH  \t OAUTHBEARER  ", &["OAUTHBEARER"]),
            ("AUTHENTICATE XOAUTH2", &[]),
            ("SIZE 10240000", &[]),
            ("", &[]),
        ];
        for (line, want) in cases {
            assert_eq!(line_mechanisms(line), want, "{line:?}");
        }
        // The first line is the server's name, never an extension.
        let ehlo: Response =
            "250-AUTH mail.test greets you\r\n250-PIPELINING\r\n250-AUTH PLAIN OAUTHBEARER\r\n250 AUTH=PLAIN\r\n"
                .parse()
                .unwrap();
        assert_eq!(auth_mechanisms(&ehlo), ["PLAIN", "OAUTHBEARER", "PLAIN"]);
        let chosen = Mechanism::choose(auth_mechanisms(&ehlo).iter().map(String::as_str));
        assert_eq!(chosen, Some(Mechanism::OAuthBearer));
    }

    #[test]
    fn challenge_status_is_read_and_tamed() {
        let mk = |json: &str| -> Response {
            format!("334 {}\r\n", STANDARD.encode(json))
                .parse()
                .unwrap()
        };
        let cases = [
            (
                mk(r#"{"status":"invalid_token","scope":"x"}"#),
                Some("invalid_token"),
            ),
            (
                mk("{\"status\":\"bad\\r\\nInjected\"}"),
                Some("bad  Injected"),
            ),
            (mk(r#"{"schemes":"bearer"}"#), None),
            (mk("not json"), None),
            ("334 !!!\r\n".parse().unwrap(), None),
        ];
        for (r, want) in cases {
            assert_eq!(challenge_status(&r).as_deref(), want);
        }
    }

    // ------------------------------------------------------------ a fake server
    // What a real server does not show: the exact lines the client sends.

    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    /// How the fake answers AUTH.
    #[derive(Clone, Copy)]
    enum Answer {
        Accept,
        /// An error challenge, then 535 after the client's answer.
        Challenge,
        /// 535 at once.
        Refuse,
    }

    /// A one-connection SMTP server on port 0 announcing `auth` in its
    /// EHLO; returns its port and every line it received.
    async fn fake(auth: &'static str, answer: Answer) -> (u16, Arc<Mutex<Vec<String>>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        tokio::spawn(async move {
            let (sock, _) = listener.accept().await.unwrap();
            let (r, mut w) = sock.into_split();
            let mut lines = BufReader::new(r).lines();
            w.write_all(b"220 fake ESMTP\r\n").await.unwrap();
            let mut in_data = false;
            while let Ok(Some(line)) = lines.next_line().await {
                record.lock().unwrap().push(line.clone());
                if in_data {
                    if line == "." {
                        in_data = false;
                        w.write_all(b"250 2.0.0 queued\r\n").await.unwrap();
                    }
                    continue;
                }
                let verb = line.split(' ').next().unwrap_or("").to_ascii_uppercase();
                let reply: String = match verb.as_str() {
                    "EHLO" => format!("250-fake\r\n250-{auth}\r\n250 8BITMIME\r\n"),
                    "AUTH" => match answer {
                        Answer::Accept => "235 2.7.0 ok\r\n".into(),
                        Answer::Refuse => "535 5.7.8 no\r\n".into(),
                        Answer::Challenge => {
                            let json = r#"{"status":"invalid_token","schemes":"bearer"}"#;
                            format!("334 {}\r\n", STANDARD.encode(json))
                        }
                    },
                    "MAIL" | "RCPT" => "250 ok\r\n".into(),
                    "DATA" => {
                        in_data = true;
                        "354 go on\r\n".into()
                    }
                    "QUIT" => {
                        let _ = w.write_all(b"221 bye\r\n").await;
                        break;
                    }
                    // The answer to the error challenge.
                    _ => "535 5.7.8 authentication failed\r\n".into(),
                };
                w.write_all(reply.as_bytes()).await.unwrap();
            }
        });
        (port, seen)
    }

    async fn session(
        port: u16,
        forced: Option<Mechanism>,
    ) -> (Result<Mechanism, SessionError>, std::path::PathBuf) {
        let dir =
            std::env::temp_dir().join(format!("postdesk-smtp-oauth-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let token_file = dir.join("oauth-t.json");
        // The credential reads the same clock to judge the stored token.
        use crate::domain::clock::{Clock, SystemClock};
        let now = SystemClock.now().timestamp();
        let file = crate::oauth::store::TokenFile {
            access_token: Some("T0k".into()),
            issued_at: Some(now),
            expires_at: Some(now + 3600),
            ..Default::default()
        };
        crate::oauth::store::save(&token_file, &file).unwrap();
        let spec = crate::config::OAuth {
            name: "t".into(),
            flow: crate::config::Flow::ClientCredentials,
            provider: None,
            client_id: "cid".into(),
            client_secret_file: None,
            key_file: None,
            scope: "mail".into(),
            tenant: None,
            // Never asked: the stored token is good for an hour.
            token_url: "http://127.0.0.1:9/token".into(),
            device_url: None,
            user: None,
            ca_file: None,
            token_file,
        };
        let cred = Credential::new(&spec);
        let token = cred.token(false).await.unwrap();
        let o = SmtpOAuth {
            cred,
            user: "desk@acme.test".into(),
            host: "127.0.0.1".into(),
            port,
            hello: ClientId::Domain("pd.test".into()),
            tls: Tls::None,
            timeout: Duration::from_secs(5),
            forced,
        };
        let env = lettre::address::Envelope::new(
            Some("desk@acme.test".parse().unwrap()),
            vec!["ann@customer.test".parse().unwrap()],
        )
        .unwrap();
        let r = tokio::time::timeout(
            Duration::from_secs(10),
            o.session(&env, b"Subject: x\r\n\r\nhi\r\n", &token),
        )
        .await
        .expect("the session hung");
        (r, dir)
    }

    fn decoded_auth(seen: &[String]) -> (String, String) {
        let auth = seen.iter().find(|l| l.starts_with("AUTH ")).unwrap();
        let mut parts = auth.split(' ');
        let (_, mech, b64) = (parts.next(), parts.next().unwrap(), parts.next().unwrap());
        let raw = String::from_utf8(STANDARD.decode(b64).unwrap()).unwrap();
        (mech.to_string(), raw)
    }

    #[tokio::test]
    async fn signs_in_by_the_announced_mechanism_or_the_forced_one() {
        let cases = [
            (
                "AUTH PLAIN XOAUTH2 OAUTHBEARER",
                None,
                Mechanism::OAuthBearer,
            ),
            ("AUTH PLAIN XOAUTH2", None, Mechanism::XOAuth2),
            (
                "AUTH PLAIN OAUTHBEARER",
                Some(Mechanism::XOAuth2),
                Mechanism::XOAuth2,
            ),
            (
                "AUTH PLAIN",
                Some(Mechanism::OAuthBearer),
                Mechanism::OAuthBearer,
            ),
        ];
        for (auth, forced, want) in cases {
            let (port, seen) = fake(auth, Answer::Accept).await;
            let (r, dir) = session(port, forced).await;
            assert_eq!(r.unwrap(), want, "{auth}");
            let seen = seen.lock().unwrap().clone();
            let (mech, raw) = decoded_auth(&seen);
            assert_eq!(mech, want.name());
            assert_eq!(
                raw,
                want.initial_response("desk@acme.test", "127.0.0.1", port, "T0k")
            );
            // Asked what is announced only when it matters.
            let ehlos = seen.iter().filter(|l| l.starts_with("EHLO")).count();
            assert_eq!(ehlos, if forced.is_some() { 1 } else { 2 }, "{seen:?}");
            assert!(
                seen.iter().any(|l| l == "MAIL FROM:<desk@acme.test>"),
                "{seen:?}"
            );
            std::fs::remove_dir_all(dir).unwrap();
        }
    }

    #[tokio::test]
    async fn a_refusal_is_told_apart_and_the_error_challenge_answered() {
        let cases = [
            (Mechanism::OAuthBearer, Answer::Challenge, Some("AQ==")),
            (Mechanism::XOAuth2, Answer::Challenge, Some("")),
            (Mechanism::OAuthBearer, Answer::Refuse, None),
        ];
        for (m, answer, reply) in cases {
            let (port, seen) = fake("AUTH XOAUTH2 OAUTHBEARER", answer).await;
            let (r, dir) = session(port, Some(m)).await;
            let (mechanism, code, detail) = match r {
                Err(SessionError::Refused {
                    mechanism,
                    code,
                    detail,
                }) => (mechanism, code, detail),
                other => panic!("{m:?}: not refused: {other:?}"),
            };
            assert_eq!((mechanism, code), (m, 535));
            let seen = seen.lock().unwrap().clone();
            let after = seen
                .iter()
                .skip_while(|l| !l.starts_with("AUTH "))
                .nth(1)
                .cloned();
            match reply {
                Some(want) => {
                    // RFC 7628 3.2.3: %x01 (base64 AQ==), XOAUTH2: empty.
                    assert_eq!(after.as_deref(), Some(want), "{seen:?}");
                    assert!(detail.contains("said invalid_token"), "{detail}");
                }
                None => assert_eq!(after.as_deref(), Some("QUIT"), "{seen:?}"),
            }
            assert!(!seen.iter().any(|l| l.starts_with("MAIL")), "{seen:?}");
            assert!(!detail.contains("T0k"), "{detail}");
            std::fs::remove_dir_all(dir).unwrap();
        }
    }

    #[tokio::test]
    async fn no_token_mechanism_announced_is_named() {
        let (port, _) = fake("AUTH PLAIN LOGIN", Answer::Accept).await;
        let (r, dir) = session(port, None).await;
        match r {
            Err(SessionError::Unusable(d)) => assert!(
                d.contains("neither AUTH OAUTHBEARER nor XOAUTH2 (only PLAIN LOGIN)"),
                "{d}"
            ),
            other => panic!("{other:?}"),
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}
