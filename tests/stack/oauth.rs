//! OAuth 2.0 sign-in (issue 13) against the stack's own authorization
//! server (tests/mailstack/oauth-server.py) and Dovecot's oauth2 passdb,
//! which asks that server about every token; Postfix's submission port
//! takes XOAUTH2 through Dovecot's SASL. Every test runs `postdesk run`
//! and `postdesk oauth login` as an operator would.
//!
//! - each flow (client_credentials, refresh_token after a device login,
//!   service_account) signs in an IMAP source with IDLE, a POP3 source and
//!   the SMTP transport: mail in, receipts out;
//! - a token the server stops taking mid-run is renewed, nothing lost or
//!   doubled, and a short-lived token is renewed before it ends;
//! - a revoked grant is a named error, the other source keeps working,
//!   and a new device login is used after a reload;
//! - the transport signs in by OAUTHBEARER (announced) or XOAUTH2
//!   (`sasl`), and renews a token the server refuses, answering the error
//!   challenge first;
//! - a token endpoint with a private CA is reached with `ca_file` and
//!   named as untrusted without it; an id_token names the account;
//! - no token, secret or key in any log line (the daemons log at trace).

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::stack::{Stack, mail, stack, unique};
use crate::support::{Daemon, wait_until};
use postdesk::store::Store;

/// The stack's authorization server, with its test endpoints.
struct AuthServer {
    url: String,
}

impl AuthServer {
    fn new() -> AuthServer {
        AuthServer {
            url: std::env::var("MAILSTACK_OAUTH_URL")
                .expect("MAILSTACK_OAUTH_URL: the stack runs without its OAuth server"),
        }
    }

    fn post(&self, path: &str, form: &[(&str, &str)]) -> serde_json::Value {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let mut resp = agent
            .post(format!("{}{path}", self.url))
            .send_form(form.iter().copied())
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        let body = resp.body_mut().read_to_string().unwrap();
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"))
    }

    /// A new app registration whose client_credentials tokens open `mailbox`.
    fn client(&self, mailbox: &str, lifetime: u64) -> (String, String) {
        let life = lifetime.to_string();
        let c = self.post("/test/client", &[("mailbox", mailbox), ("lifetime", &life)]);
        (
            c["client_id"].as_str().unwrap().to_string(),
            c["client_secret"].as_str().unwrap().to_string(),
        )
    }

    /// How many token requests of `grant_type` the client (or service
    /// account) has made.
    fn grants(&self, client_id: &str, grant_type: &str) -> u64 {
        self.post("/test/stats", &[("client_id", client_id)])[grant_type]
            .as_u64()
            .unwrap_or(0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    ClientCredentials,
    RefreshToken,
    ServiceAccount,
}

/// One `[[oauth]]` table made for a test: its text, the secrets it
/// involves (for the log check) and the id the server counts it by.
#[derive(Clone)]
struct Credential {
    name: String,
    table: String,
    secrets: Vec<String>,
    id: String,
}

fn credential(
    auth: &AuthServer,
    dir: &Path,
    name: &str,
    flow: Flow,
    mailbox: &str,
    lifetime: u64,
) -> Credential {
    let url = &auth.url;
    match flow {
        Flow::ClientCredentials | Flow::RefreshToken => {
            let (id, secret) = auth.client(mailbox, lifetime);
            std::fs::write(dir.join(format!("{name}.secret")), format!("{secret}\n")).unwrap();
            let flow_line = if flow == Flow::ClientCredentials {
                "flow = \"client_credentials\"".to_string()
            } else {
                format!("flow = \"refresh_token\"\ndevice_url = \"{url}/device\"")
            };
            Credential {
                name: name.into(),
                table: format!(
                    "[[oauth]]\nname = \"{name}\"\n{flow_line}\ntoken_url = \"{url}/token\"\n\
                     client_id = \"{id}\"\nclient_secret_file = \"{name}.secret\"\nscope = \"mail\"\n"
                ),
                secrets: vec![secret],
                id,
            }
        }
        Flow::ServiceAccount => {
            let life = lifetime.to_string();
            let key = auth.post("/test/service-account", &[("lifetime", &life)]);
            std::fs::write(dir.join(format!("{name}.json")), key.to_string()).unwrap();
            let pem = key["private_key"].as_str().unwrap();
            // Every line of the key's body: no part of it may be logged.
            let secrets = pem
                .lines()
                .filter(|l| !l.starts_with("-----") && l.len() > 20)
                .map(String::from)
                .collect();
            Credential {
                name: name.into(),
                table: format!(
                    "[[oauth]]\nname = \"{name}\"\nflow = \"service_account\"\ntoken_url = \"{url}/token\"\n\
                     key_file = \"{name}.json\"\nuser = \"{mailbox}\"\nscope = \"https://mail.google.com/\"\n"
                ),
                secrets,
                id: key["client_email"].as_str().unwrap().to_string(),
            }
        }
    }
}

fn imap_source(stack: &Stack, name: &str, mailbox: &str, cred: &str) -> String {
    format!(
        "[[source]]\nname = \"{name}\"\nkind = \"imap\"\nhost = \"localhost\"\nport = {}\n\
         user = \"{mailbox}\"\nauth = \"oauth2\"\noauth = \"{cred}\"\nca_file = \"{}\"\n\
         timeout = \"5s\"\nidle = true\npoll = \"2m\"\n",
        stack.imaps_port,
        stack.ca_cert.display()
    )
}

fn pop3_source(stack: &Stack, name: &str, mailbox: &str, cred: &str) -> String {
    format!(
        "[[source]]\nname = \"{name}\"\nkind = \"pop3\"\nhost = \"localhost\"\nport = {}\n\
         user = \"{mailbox}\"\nauth = \"oauth2\"\noauth = \"{cred}\"\nca_file = \"{}\"\n\
         timeout = \"5s\"\npoll = \"300ms\"\n",
        stack.pop3s_port,
        stack.ca_cert.display()
    )
}

/// Submission (STARTTLS, AUTH required): a receipt that arrives proves the
/// transport signed in.
fn smtp_transport(stack: &Stack, mailbox: &str, cred: &str) -> String {
    format!(
        "[transport]\nkind = \"smtp\"\nhost = \"localhost\"\nport = {}\ntls = \"starttls\"\n\
         ca_file = \"{}\"\nuser = \"{mailbox}\"\nauth = \"oauth2\"\noauth = \"{cred}\"\ntimeout = \"5s\"\n",
        stack.submission_port,
        stack.ca_cert.display()
    )
}

/// Writes postdesk.toml; the database (and so the token files) in var/.
fn write_config(dir: &Path, service: &str, parts: &[&str]) -> PathBuf {
    let config = dir.join("postdesk.toml");
    std::fs::write(
        &config,
        crate::support::without_digest(&format!(
            "[service]\naddress = \"{service}\"\nticket_prefix = \"OA\"\ndatabase = \"var/pd.db\"\n\n{}\n\
             [outbox]\nretry_initial = \"1s\"\nretry_max = \"2s\"\nmax_attempts = 100\n\n\
             [intake]\nunknown_sender = \"accept\"\n",
            parts.join("\n")
        )),
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("var")).unwrap();
    config
}

fn postdesk(config: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_postdesk"));
    cmd.arg("-c").arg(config).env_remove("NOTIFY_SOCKET");
    cmd
}

/// `postdesk run` logging at `level` (trace: everything it can say).
fn start(config: &Path, dir: &Path, level: &str) -> Daemon {
    let mut cmd = postdesk(config);
    cmd.env("RUST_LOG", level);
    Daemon::start(cmd, &dir.join("daemon.log"))
}

/// `postdesk oauth login NAME`, the user signing in as `user` once the
/// code is printed. Returns everything the command printed.
fn device_login(config: &Path, auth: &AuthServer, name: &str, user: &str) -> String {
    let mut child = postdesk(config)
        .args(["-vv", "oauth", "login", name])
        .env("RUST_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut printed = String::new();
    let code = loop {
        let mut line = String::new();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "login ended before printing a code: {printed}"
        );
        printed.push_str(&line);
        if let Some(rest) = line.split("enter the code ").nth(1) {
            break rest.trim().to_string();
        }
    };
    assert!(printed.contains("/device/verify"), "{printed}");
    let ok = auth.post("/test/approve", &[("user_code", &code), ("user", user)]);
    assert_eq!(ok["approved"], true, "{ok}");
    out.read_to_string(&mut printed).unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "oauth login: {status}\n{printed}\n{err}");
    assert!(printed.contains("Signed in"), "{printed}");
    printed + &err
}

fn counts(db: &Path) -> (i64, i64) {
    if !db.exists() {
        return (0, 0);
    }
    let s = Store::open(db).unwrap();
    let r = s.read();
    (r.ticket_count().unwrap(), r.message_count().unwrap())
}

fn token_file(dir: &Path, name: &str) -> serde_json::Value {
    let path = dir.join(format!("var/oauth-{name}.json"));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "{} is not private", path.display());
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// No secret of `creds`, nor any token of their token files (as they are,
/// or as the SASL messages carry them, base64), in `text`.
fn assert_no_secrets(what: &str, text: &str, dir: &Path, creds: &[&Credential]) {
    use base64::Engine;
    let mut secrets: Vec<String> = Vec::new();
    for c in creds {
        secrets.extend(c.secrets.iter().cloned());
        let path = dir.join(format!("var/oauth-{}.json", c.name));
        if let Ok(raw) = std::fs::read(&path) {
            let f: serde_json::Value = serde_json::from_slice(&raw).unwrap();
            for k in ["access_token", "refresh_token"] {
                if let Some(t) = f[k].as_str() {
                    secrets.push(t.to_string());
                }
            }
        }
    }
    assert!(!secrets.is_empty());
    for s in &secrets {
        // The middle of a token is as secret as all of it.
        let probe = &s[s.len() / 4..s.len() * 3 / 4];
        assert!(!text.contains(probe), "{what} holds a secret");
        for shift in 0..3 {
            let b64 = base64::engine::general_purpose::STANDARD
                .encode(format!("{}{s}", "x".repeat(shift)));
            let b64 = &b64[8..b64.len() - 8];
            assert!(!text.contains(b64), "{what} holds a secret in base64");
        }
    }
}

fn dovecot_log(stack: &Stack) -> String {
    std::fs::read_to_string(stack.dir.join("log/dovecot.log")).unwrap_or_default()
}

fn postfix_log(stack: &Stack) -> String {
    std::fs::read_to_string(stack.dir.join("log/postfix.log")).unwrap_or_default()
}

/// Each flow: an IMAP source with IDLE, a POP3 source and the SMTP
/// transport sign in with it; mail in by both, receipts out. For the
/// refresh_token flow the daemon starts before anyone signed in: it names
/// the missing login, and uses the device login after a reload.
fn round_trip(flow: Flow) {
    let Some(stack) = stack() else { return };
    let auth = AuthServer::new();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let tag = unique("oa");
    let imap_box = format!("{tag}-imap@example.test");
    let pop_box = format!("{tag}-pop@example.test");
    let imap_cred = credential(&auth, dir, "imap-cred", flow, &imap_box, 3600);
    let pop_cred = credential(&auth, dir, "pop-cred", flow, &pop_box, 3600);
    let config = write_config(
        dir,
        &imap_box,
        &[
            &imap_source(&stack, "oa-imap", &imap_box, "imap-cred"),
            &pop3_source(&stack, "oa-pop", &pop_box, "pop-cred"),
            &imap_cred.table,
            &pop_cred.table,
            &smtp_transport(&stack, &imap_box, "imap-cred"),
        ],
    );
    let mut printed = String::new();
    let daemon = start(&config, dir, "trace");
    if flow == Flow::RefreshToken {
        daemon.wait_log(
            &[
                "source=oa-imap",
                "[[oauth]] imap-cred has no refresh token yet: run `postdesk oauth login imap-cred`",
            ],
            Duration::from_secs(20),
        );
        printed += &device_login(&config, &auth, "imap-cred", &imap_box);
        printed += &device_login(&config, &auth, "pop-cred", &pop_box);
        let refresh = token_file(dir, "imap-cred")["refresh_token"].clone();
        assert!(refresh.is_string(), "the login stored no refresh token");
        // Reload: the sources start over at once instead of waiting out
        // their back-off.
        daemon.signal(libc::SIGHUP);
    }
    for source in ["oa-imap", "oa-pop"] {
        daemon.wait_log(
            &[&format!("source={source}"), "connected and logged in"],
            Duration::from_secs(30),
        );
    }
    // Sent once the IMAP source idles: with poll = 2m, only IDLE brings it
    // in time.
    let customer = format!("{tag}-cust@example.test");
    let db = dir.join("var/pd.db");
    let subjects = [format!("{tag} by imap"), format!("{tag} by pop3")];
    stack.send(
        &customer,
        &imap_box,
        &mail(
            &customer,
            &imap_box,
            &subjects[0],
            &format!("{tag}-1@c.test"),
            "x",
        ),
    );
    stack.send(
        &customer,
        &pop_box,
        &mail(
            &customer,
            &pop_box,
            &subjects[1],
            &format!("{tag}-2@c.test"),
            "y",
        ),
    );
    wait_until("both mails taken", Duration::from_secs(30), || {
        (counts(&db) == (2, 2)).then_some(())
    });
    // The receipts went out through submission, signed in by XOAUTH2.
    for s in &subjects {
        stack.wait_for_mail(&customer, "INBOX", s, Duration::from_secs(30));
    }
    wait_until("both mailboxes emptied", Duration::from_secs(15), || {
        (stack.inbox_count(&imap_box) == 0 && stack.inbox_count(&pop_box) == 0).then_some(())
    });
    // The stored IMAP token stops working; a reload makes the source log in
    // again with it: refused, renewed, AUTHENTICATE again on the same
    // connection, and the next mail comes in by IDLE.
    auth.post("/test/expire", &[("user", &imap_box)]);
    daemon.signal(libc::SIGHUP);
    let imap_server = format!("server=localhost:{}", stack.imaps_port);
    daemon.wait_log(
        &[&imap_server, "the token was refused; renewing it once"],
        Duration::from_secs(30),
    );
    daemon.wait_log_count(
        &["source=oa-imap", "connected and logged in"],
        2,
        Duration::from_secs(30),
    );
    let third = format!("{tag} after the renewal");
    stack.send(
        &customer,
        &imap_box,
        &mail(
            &customer,
            &imap_box,
            &third,
            &format!("{tag}-3@c.test"),
            "z",
        ),
    );
    wait_until(
        "the mail after the renewal",
        Duration::from_secs(30),
        || (counts(&db).1 == 3).then_some(()),
    );
    let dovecot = dovecot_log(&stack);
    for (proto, mailbox) in [("imap-login", &imap_box), ("pop3-login", &pop_box)] {
        let want = format!("Login: user=<{mailbox}>, method=OAUTHBEARER");
        assert!(
            dovecot
                .lines()
                .any(|l| l.contains(proto) && l.contains(&want)),
            "no {proto} {want} in Dovecot's log"
        );
    }
    // Postfix (through Dovecot) announces both: the transport takes the
    // standard one, as the sources do.
    let postfix = postfix_log(&stack);
    assert!(
        postfix
            .lines()
            .any(|l| l.contains("sasl_method=OAUTHBEARER")
                && l.contains(&format!("sasl_username={imap_box}"))),
        "no OAUTHBEARER submission as {imap_box} in Postfix's log"
    );
    let grant = match flow {
        Flow::ClientCredentials => "client_credentials",
        Flow::RefreshToken => "urn:ietf:params:oauth:grant-type:device_code",
        Flow::ServiceAccount => "urn:ietf:params:oauth:grant-type:jwt-bearer",
    };
    assert!(
        auth.grants(&imap_cred.id, grant) >= 1,
        "no {grant} grant for imap-cred"
    );
    // `oauth status` lists both credentials, no token.
    let status = postdesk(&config)
        .args(["oauth", "status"])
        .output()
        .unwrap();
    let status_text = String::from_utf8_lossy(&status.stdout).into_owned();
    assert!(status.status.success(), "{status_text}");
    for name in ["imap-cred", "pop-cred"] {
        assert!(status_text.contains(name), "{status_text}");
    }
    assert!(
        status_text.contains(&format!(
            "used by:        source oa-imap ({imap_box}), transport ({imap_box})"
        )),
        "{status_text}"
    );
    assert!(
        status_text.contains("access token:   valid until"),
        "{status_text}"
    );
    // No id_token here (scope has no openid): the service account's user,
    // else the mailbox the credential is configured to open.
    let account = match flow {
        Flow::ServiceAccount => format!("account:        {imap_box}\n"),
        _ => format!("account:        {imap_box} (as configured)\n"),
    };
    assert!(status_text.contains(&account), "{status_text}");
    assert!(
        status_text.contains("last error:     none"),
        "{status_text}"
    );
    daemon.signal(libc::SIGTERM);
    let (_, _, log) = daemon.stop_after_signal();
    for (what, text) in [
        ("the daemon's log", &log),
        ("oauth login", &printed),
        ("oauth status", &status_text),
    ] {
        assert_no_secrets(what, text, dir, &[&imap_cred, &pop_cred]);
    }
    assert!(counts(&db) == (3, 3), "a message doubled");
}

#[test]
fn client_credentials_sign_in_imap_pop3_and_smtp() {
    round_trip(Flow::ClientCredentials);
}

#[test]
fn device_login_then_refresh_token_sign_in_imap_pop3_and_smtp() {
    round_trip(Flow::RefreshToken);
}

#[test]
fn service_account_sign_in_imap_pop3_and_smtp() {
    round_trip(Flow::ServiceAccount);
}

/// A token the server stops taking mid-run (expired early) is renewed on
/// the spot; a token that lives 5 s is renewed before it ends; the
/// provider's rotated refresh token is kept. 12 mails, each taken once.
#[test]
fn tokens_expiring_mid_run_are_renewed_and_nothing_is_lost_or_doubled() {
    let Some(stack) = stack() else { return };
    let auth = AuthServer::new();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let tag = unique("oa-exp");
    let imap_box = format!("{tag}-imap@example.test");
    let pop_box = format!("{tag}-pop@example.test");
    let short = credential(&auth, dir, "short", Flow::RefreshToken, &imap_box, 5);
    let long = credential(&auth, dir, "long", Flow::RefreshToken, &pop_box, 3600);
    let config = write_config(
        dir,
        &imap_box,
        &[
            &imap_source(&stack, "exp-imap", &imap_box, "short"),
            &pop3_source(&stack, "exp-pop", &pop_box, "long"),
            &short.table,
            &long.table,
            &smtp_transport(&stack, &imap_box, "short"),
        ],
    );
    device_login(&config, &auth, "short", &imap_box);
    device_login(&config, &auth, "long", &pop_box);
    let first_refresh = token_file(dir, "long")["refresh_token"].clone();
    let daemon = start(&config, dir, "info,postdesk=debug");
    for source in ["exp-imap", "exp-pop"] {
        daemon.wait_log(
            &[&format!("source={source}"), "connected and logged in"],
            Duration::from_secs(30),
        );
    }
    let db = dir.join("var/pd.db");
    let send = |i: usize| {
        let customer = format!("{tag}-c{i}@example.test");
        let to = if i.is_multiple_of(2) {
            &imap_box
        } else {
            &pop_box
        };
        let subject = format!("{tag} mail {i}");
        stack.send(
            &customer,
            to,
            &mail(&customer, to, &subject, &format!("{tag}-{i}@c.test"), "x"),
        );
        (customer, subject)
    };
    let mut sent: Vec<(String, String)> = (0..6).map(send).collect();
    wait_until("the first 6 taken", Duration::from_secs(30), || {
        (counts(&db).1 == 6).then_some(())
    });
    // The 5-second tokens run out; every token issued so far for the POP3
    // mailbox stops working.
    std::thread::sleep(Duration::from_secs(6));
    let renewals = daemon.log_count(&["the token was refused; renewing it once"]);
    auth.post("/test/expire", &[("user", &pop_box)]);
    sent.extend((6..12).map(send));
    wait_until("all 12 taken", Duration::from_secs(40), || {
        (counts(&db).1 == 12).then_some(())
    });
    daemon.wait_log_count(
        &["the token was refused; renewing it once"],
        renewals + 1,
        Duration::from_secs(10),
    );
    let pop_server = format!("server=localhost:{}", stack.pop3s_port);
    daemon.wait_log(
        &[&pop_server, "the token was refused; renewing it once"],
        Duration::from_secs(1),
    );
    for (customer, subject) in &sent {
        stack.wait_for_mail(customer, "INBOX", subject, Duration::from_secs(30));
    }
    // The 5-second token of the transport was renewed by its expiry time,
    // never presented stale (which the server would have refused).
    assert!(
        auth.grants(&short.id, "refresh_token") >= 1,
        "the short token was never renewed"
    );
    let smtp_server = format!("server=localhost:{}", stack.submission_port);
    assert_eq!(
        daemon.log_count(&[&smtp_server, "the token was refused"]),
        0,
        "the transport used an expired token"
    );
    assert!(auth.grants(&long.id, "refresh_token") >= 1);
    let now_refresh = token_file(dir, "long")["refresh_token"].clone();
    assert_ne!(
        first_refresh, now_refresh,
        "the rotated refresh token was not kept"
    );
    assert_eq!(counts(&db), (12, 12), "nothing lost, nothing doubled");
    let (_, _, log) = daemon.stop();
    assert!(
        !log.contains("refused the login"),
        "a login failed for good"
    );
    assert_no_secrets("the daemon's log", &log, dir, &[&short, &long]);
}

/// A revoked grant: the source names it and what to do, the password
/// source beside it keeps taking mail, the OAuth mailbox's mail stays on
/// the server; after a new device login and a reload it is taken.
#[test]
fn revoked_grant_is_named_and_the_other_sources_keep_running() {
    let Some(stack) = stack() else { return };
    let auth = AuthServer::new();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let tag = unique("oa-rev");
    let oauth_box = format!("{tag}-oauth@example.test");
    let pw_box = format!("{tag}-pw@example.test");
    let cred = credential(&auth, dir, "desk", Flow::RefreshToken, &oauth_box, 3600);
    std::fs::write(dir.join("pw"), &stack.master_password).unwrap();
    let password_source = format!(
        "[[source]]\nname = \"rev-pw\"\nkind = \"pop3\"\nhost = \"localhost\"\nport = {}\n\
         user = \"{}\"\npassword_file = \"pw\"\nca_file = \"{}\"\ntimeout = \"5s\"\npoll = \"300ms\"\n",
        stack.pop3s_port,
        stack.login(&pw_box),
        stack.ca_cert.display()
    );
    let config = write_config(
        dir,
        &oauth_box,
        &[
            &pop3_source(&stack, "rev-oauth", &oauth_box, "desk"),
            &password_source,
            &cred.table,
            "[transport]\nkind = \"maildir\"\npath = \"sent\"\n",
        ],
    );
    device_login(&config, &auth, "desk", &oauth_box);
    let daemon = start(&config, dir, "debug");
    daemon.wait_log(
        &["source=rev-oauth", "connected and logged in"],
        Duration::from_secs(30),
    );
    let revoked = auth.post("/test/revoke", &[("user", &oauth_box)]);
    assert_eq!(revoked["revoked"], 1, "{revoked}");
    let customer = format!("{tag}-cust@example.test");
    let db = dir.join("var/pd.db");
    stack.send(
        &customer,
        &oauth_box,
        &mail(
            &customer,
            &oauth_box,
            "to oauth",
            &format!("{tag}-1@c.test"),
            "x",
        ),
    );
    let line = daemon.wait_log(
        &[
            "source=rev-oauth",
            "the OAuth 2.0 refresh token of [[oauth]] desk was revoked or has expired",
            "run `postdesk oauth login desk`",
        ],
        Duration::from_secs(30),
    );
    assert!(line.contains("invalid_grant"), "{line}");
    // The other source still works, the daemon runs, the mail waits.
    stack.send(
        &customer,
        &pw_box,
        &mail(&customer, &pw_box, "to pw", &format!("{tag}-2@c.test"), "y"),
    );
    wait_until(
        "the password source's mail",
        Duration::from_secs(30),
        || (counts(&db).1 == 1).then_some(()),
    );
    assert!(daemon.running());
    assert_eq!(
        stack.inbox_count(&oauth_box),
        1,
        "the OAuth mailbox's mail left the server"
    );
    let status = postdesk(&config)
        .args(["oauth", "status"])
        .output()
        .unwrap();
    let status_text = String::from_utf8_lossy(&status.stdout).into_owned();
    assert!(
        status_text.contains("refresh grant:  refused on")
            && status_text.contains("(revoked or expired): run `postdesk oauth login desk`"),
        "{status_text}"
    );
    assert!(
        status_text.contains("was revoked or has expired"),
        "{status_text}"
    );
    // Signed in again: used after a reload, without a restart.
    device_login(&config, &auth, "desk", &oauth_box);
    daemon.signal(libc::SIGHUP);
    wait_until(
        "the OAuth mailbox's mail after the new login",
        Duration::from_secs(30),
        || (counts(&db).1 == 2).then_some(()),
    );
    // Removed from the server once committed (DELE, then QUIT).
    wait_until("the OAuth mailbox emptied", Duration::from_secs(10), || {
        (stack.inbox_count(&oauth_box) == 0).then_some(())
    });
    let (_, _, log) = daemon.stop();
    assert_no_secrets("the daemon's log", &log, dir, &[&cred]);
}

/// The receipt of one customer mail to `to`, sent through the transport.
fn mail_in_receipt_out(stack: &Stack, tag: &str, n: usize, to: &str, db: &Path) -> String {
    let customer = format!("{tag}-c{n}@example.test");
    let subject = format!("{tag} smtp {n}");
    stack.send(
        &customer,
        to,
        &mail(&customer, to, &subject, &format!("{tag}-{n}@c.test"), "x"),
    );
    wait_until("the mail taken", Duration::from_secs(30), || {
        (counts(db).1 == n as i64).then_some(())
    });
    stack.wait_for_mail(&customer, "INBOX", &subject, Duration::from_secs(30));
    customer
}

/// The SMTP transport alone (mail comes in by password): it signs in by
/// the mechanism Postfix (through Dovecot) announces first, OAUTHBEARER,
/// or by the one `sasl` forces; a token the server stops taking is
/// refused (after the client answered the error challenge, or Dovecot
/// would never give its final reply), renewed once, and the receipt goes
/// out once. Nothing of it in the daemon's log at trace.
fn smtp_sign_in(sasl: Option<&str>, want: &str) {
    let Some(stack) = stack() else { return };
    let auth = AuthServer::new();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let tag = unique("oa-smtp");
    let pw_box = format!("{tag}-desk@example.test");
    let smtp_box = format!("{tag}-send@example.test");
    let cred = credential(&auth, dir, "send", Flow::ClientCredentials, &smtp_box, 3600);
    std::fs::write(dir.join("pw"), &stack.master_password).unwrap();
    let source = format!(
        "[[source]]\nname = \"desk\"\nkind = \"pop3\"\nhost = \"localhost\"\nport = {}\n\
         user = \"{}\"\npassword_file = \"pw\"\nca_file = \"{}\"\ntimeout = \"5s\"\npoll = \"300ms\"\n",
        stack.pop3s_port,
        stack.login(&pw_box),
        stack.ca_cert.display()
    );
    let mut transport = smtp_transport(&stack, &smtp_box, "send");
    if let Some(m) = sasl {
        transport += &format!("sasl = \"{m}\"\n");
    }
    let config = write_config(dir, &pw_box, &[&source, &cred.table, &transport]);
    let daemon = start(&config, dir, "trace");
    let db = dir.join("var/pd.db");
    let signed_in = |postfix: &str| {
        postfix
            .lines()
            .filter(|l| {
                l.contains(&format!("sasl_method={want},"))
                    && l.contains(&format!("sasl_username={smtp_box}"))
            })
            .count()
    };
    let first = mail_in_receipt_out(&stack, &tag, 1, &pw_box, &db);
    assert_eq!(
        signed_in(&postfix_log(&stack)),
        1,
        "no {want} sign-in as {smtp_box} in Postfix's log"
    );
    // Every token issued so far for the sending mailbox dies.
    auth.post("/test/expire", &[("user", &smtp_box)]);
    let second = mail_in_receipt_out(&stack, &tag, 2, &pw_box, &db);
    let smtp_server = format!("server=localhost:{}", stack.submission_port);
    daemon.wait_log(
        &[
            &smtp_server,
            want,
            "the token was refused; renewing it once",
        ],
        Duration::from_secs(5),
    );
    let postfix = postfix_log(&stack);
    assert_eq!(signed_in(&postfix), 2, "the renewed token did not sign in");
    assert!(
        postfix
            .lines()
            .any(|l| l.contains(&format!("SASL {want} authentication failed"))),
        "Postfix logged no refused {want} token"
    );
    assert_eq!(
        auth.grants(&cred.id, "client_credentials"),
        2,
        "one token, one renewal"
    );
    // One receipt each: the refusal came before MAIL FROM.
    for customer in [&first, &second] {
        assert_eq!(stack.inbox_count(customer), 1, "{customer}");
    }
    let (_, _, log) = daemon.stop();
    assert!(
        !log.contains("refused a freshly renewed token"),
        "the renewal failed"
    );
    assert_no_secrets("the daemon's log", &log, dir, &[&cred]);
}

#[test]
fn smtp_signs_in_by_the_announced_oauthbearer_and_renews_a_refused_token() {
    smtp_sign_in(None, "OAUTHBEARER");
}

#[test]
fn smtp_signs_in_by_xoauth2_when_sasl_forces_it_and_renews_a_refused_token() {
    smtp_sign_in(Some("xoauth2"), "XOAUTH2");
}

/// A token endpoint behind a private CA (the stack's server over HTTPS):
/// without `ca_file` the source names the untrusted certificate and what
/// to do, in words; with it (after a reload) the token is fetched and the
/// source signs in. A device login over the same endpoint, scope openid:
/// `oauth status` names the account from the id_token.
#[test]
fn private_ca_token_endpoint_needs_ca_file_and_id_token_names_the_account() {
    let Some(stack) = stack() else { return };
    let auth = AuthServer::new();
    let https = std::env::var("MAILSTACK_OAUTHS_URL")
        .expect("MAILSTACK_OAUTHS_URL: the stack runs without its HTTPS OAuth server");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let tag = unique("oa-ca");
    let cc_box = format!("{tag}-cc@example.test");
    let dev_box = format!("{tag}-dev@example.test");
    let over_https = |c: Credential, ca: bool| Credential {
        table: c
            .table
            .replace(&format!("\"{}/", auth.url), &format!("\"{https}/"))
            + &if ca {
                format!("ca_file = \"{}\"\n", stack.ca_cert.display())
            } else {
                String::new()
            },
        ..c
    };
    let cc = credential(&auth, dir, "cc", Flow::ClientCredentials, &cc_box, 3600);
    let cc_untrusted = over_https(cc.clone(), false);
    let cc = over_https(cc, true);
    let mut dev = over_https(
        credential(&auth, dir, "dev", Flow::RefreshToken, &dev_box, 3600),
        true,
    );
    dev.table = dev
        .table
        .replace("scope = \"mail\"", "scope = \"openid mail\"");
    assert!(
        cc_untrusted
            .table
            .contains(&format!("token_url = \"{https}/token\""))
    );
    assert!(
        dev.table
            .contains(&format!("device_url = \"{https}/device\""))
    );
    let sources = [
        pop3_source(&stack, "ca-cc", &cc_box, "cc"),
        pop3_source(&stack, "ca-dev", &dev_box, "dev"),
    ];
    let config = write_config(
        dir,
        &dev_box,
        &[&sources[0], &sources[1], &cc_untrusted.table, &dev.table],
    );
    let printed = device_login(&config, &auth, "dev", &dev_box);
    let daemon = start(&config, dir, "trace");
    daemon.wait_log(
        &["source=ca-dev", "connected and logged in"],
        Duration::from_secs(30),
    );
    let line = daemon.wait_log(
        &[
            "source=ca-cc",
            &format!("[[oauth]] cc: {https}/token is not trusted: the server's certificate is not signed by a CA this machine trusts (for a private CA, set ca_file in this [[oauth]] table)"),
        ],
        Duration::from_secs(30),
    );
    for rust in [
        "UnknownIssuer",
        "InvalidCertificate",
        "rustls",
        "Error {",
        "io:",
    ] {
        assert!(!line.contains(rust), "Rust text in {line}");
    }
    let status = |config: &Path| {
        let out = postdesk(config).args(["oauth", "status"]).output().unwrap();
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let before = status(&config);
    assert!(
        before.contains("is not trusted: the server's certificate is not signed by a CA"),
        "{before}"
    );
    assert!(
        before.contains(&format!("account:        {dev_box}\n")),
        "the id_token's account is not shown: {before}"
    );
    // The operator adds ca_file and reloads.
    write_config(
        dir,
        &dev_box,
        &[&sources[0], &sources[1], &cc.table, &dev.table],
    );
    daemon.signal(libc::SIGHUP);
    daemon.wait_log(
        &["source=ca-cc", "connected and logged in"],
        Duration::from_secs(30),
    );
    assert!(auth.grants(&cc.id, "client_credentials") >= 1);
    let after = status(&config);
    let cc_block: String = after
        .lines()
        .skip_while(|l| !l.starts_with("cc ("))
        .take_while(|l| l.starts_with("cc (") || l.starts_with(' '))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        cc_block.contains("access token:   valid until")
            && cc_block.contains("last error:     none"),
        "{after}"
    );
    daemon.signal(libc::SIGTERM);
    let (_, _, log) = daemon.stop_after_signal();
    for (what, text) in [
        ("the daemon's log", &log),
        ("oauth login", &printed),
        ("oauth status", &after),
    ] {
        assert_no_secrets(what, text, dir, &[&cc, &dev]);
    }
}
