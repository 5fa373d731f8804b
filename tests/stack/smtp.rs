//! The outbox transports against a real Postfix + Dovecot on 127.0.0.1
//! (tests/mailstack/start.sh; tests/run-with-mailstack.sh runs a command
//! with one started and stopped around it).
//!
//! Each test sends a hand-built message with a unique Message-ID and waits
//! for Dovecot to write it into the recipient's Maildir under
//! MAILSTACK_MAIL_ROOT. Without MAILSTACK_SMTP_PORT the tests skip, unless
//! POSTDESK_REQUIRE_MAILSTACK=1 (CI) makes a missing stack a failure.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::support::stack::{Stack, stack};
use crate::support::wait_until;

use postdesk::config;
use postdesk::domain::Address;
use postdesk::outbox::deliver::{DeliverError, Envelope, SmtpFailure, Transport};

fn smtp(host: &str, port: u16, tls: config::TlsMode) -> config::Smtp {
    config::Smtp {
        host: host.into(),
        port,
        tls,
        user: None,
        password_file: None,
        ca_file: None,
        timeout: Duration::from_secs(10),
        helo_name: Some("postdesk.test".into()),
        ..config::Smtp::default()
    }
}

fn transport(cfg: config::Smtp) -> Transport {
    Transport::from_config(&config::Transport::Smtp(cfg)).expect("transport config")
}

fn addr(s: &str) -> Address {
    Address::parse(s).unwrap()
}

/// A Message-ID no earlier run can have used: pid, a counter and random
/// bytes (no clock: clippy.toml keeps time in src/domain/clock.rs).
fn unique_id(test: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let mut rnd = [0u8; 8];
    std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom").unwrap(), &mut rnd).unwrap();
    format!(
        "{test}.{}.{}.{:016x}@postdesk.test",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        u64::from_le_bytes(rnd)
    )
}

/// A small message built by hand, with the lines SMTP must carry through
/// untouched: a lone dot and a dot-led line (dot-stuffing, RFC 5321 4.5.2).
fn message(from: &str, to: &str, id: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: transport test {id}\r\nMessage-ID: <{id}>\r\n\
         Auto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Hello from the outbox.\r\n.\r\n..two dots\r\nThe end.\r\n"
    )
    .into_bytes()
}

/// The text of the first mail in `md` (new/ and cur/) that contains
/// `needle`, if any. (Files belong to the mail user; root reads them.)
fn find_mail(md: &Path, needle: &str) -> Option<String> {
    ["new", "cur"].iter().find_map(|sub| {
        std::fs::read_dir(md.join(sub))
            .into_iter()
            .flatten()
            .flatten()
            .find_map(|entry| {
                std::fs::read_to_string(entry.path())
                    .ok()
                    .filter(|text| text.contains(needle))
            })
    })
}

/// Waits up to 10 s for the mail holding `id` to be delivered into `md`;
/// returns its content.
fn wait_for_delivery(md: &Path, id: &str) -> String {
    let needle = format!("<{id}>");
    wait_until(
        &format!("{id} delivered into {}", md.display()),
        Duration::from_secs(10),
        || find_mail(md, &needle),
    )
}

/// Sends one message from support@ to `to` and checks that it arrived whole.
async fn send_and_check(
    stack: &Stack,
    t: &Transport,
    test: &str,
    from: Option<&str>,
    to: &str,
) -> String {
    let id = unique_id(test);
    let raw = message("support@example.test", to, &id);
    let env = Envelope {
        from: from.map(addr),
        to: vec![addr(to)],
    };
    t.send(&env, &raw, &id).await.unwrap_or_else(|e| {
        panic!(
            "{} failed: {e} (transient: {})",
            t.describe(),
            e.is_transient()
        )
    });
    let got = wait_for_delivery(&stack.maildir(to), &id);
    // Dovecot stores LF line ends; the body must be intact otherwise.
    assert!(
        got.contains("Hello from the outbox.\n.\n..two dots\nThe end.\n"),
        "body changed in transit:\n{got}"
    );
    got
}

fn password_file(dir: &Path, password: &str) -> PathBuf {
    let path = dir.join("smtp.pass");
    std::fs::write(&path, format!("{password}\n")).unwrap();
    path
}

// ---------------------------------------------------------------- delivered

#[tokio::test]
async fn plain_smtp_on_loopback_delivers() {
    let Some(stack) = stack() else { return };
    let t = transport(smtp(&stack.host, stack.smtp_port, config::TlsMode::None));
    send_and_check(
        &stack,
        &t,
        "plain",
        Some("support@example.test"),
        "alice@example.test",
    )
    .await;
}

#[tokio::test]
async fn smtps_with_the_private_ca_delivers() {
    let Some(stack) = stack() else { return };
    let mut cfg = smtp("localhost", stack.smtps_port, config::TlsMode::Implicit);
    cfg.ca_file = Some(stack.ca_cert.clone());
    let t = transport(cfg);
    assert!(t.describe().contains("implicit tls"), "{}", t.describe());
    send_and_check(
        &stack,
        &t,
        "smtps",
        Some("support@example.test"),
        "bob@example.test",
    )
    .await;
}

#[tokio::test]
async fn submission_with_starttls_and_auth_delivers() {
    let Some(stack) = stack() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = smtp(
        "localhost",
        stack.submission_port,
        config::TlsMode::Starttls,
    );
    cfg.ca_file = Some(stack.ca_cert.clone());
    cfg.user = Some("support@example.test".into());
    cfg.password_file = Some(password_file(dir.path(), &stack.support_password));
    let t = transport(cfg);
    // Any recipient at any domain; read it back from its Maildir.
    send_and_check(
        &stack,
        &t,
        "submission",
        Some("support@example.test"),
        "Customer@Elsewhere.TEST",
    )
    .await;
}

#[tokio::test]
async fn null_sender_reaches_the_mailbox_as_an_empty_return_path() {
    let Some(stack) = stack() else { return };
    let t = transport(smtp(&stack.host, stack.smtp_port, config::TlsMode::None));
    let got = send_and_check(&stack, &t, "nullsender", None, "alice@example.test").await;
    assert!(
        got.starts_with("Return-Path: <>\n"),
        "{}",
        got.lines().next().unwrap_or("")
    );
}

#[tokio::test]
async fn sendmail_through_postfix_delivers() {
    let Some(stack) = stack() else { return };
    // Postfix's own sendmail, pointed at the stack's config directory with
    // -C: the extra-arguments path of the sendmail transport.
    let Some(postfix_config) = &stack.postfix_config else {
        println!("skipped: MAILSTACK_POSTFIX_CONFIG unset");
        return;
    };
    let t = Transport::from_config(&config::Transport::Sendmail {
        command: "/usr/sbin/sendmail".into(),
        args: vec!["-C".into(), postfix_config.display().to_string()],
    })
    .unwrap();
    let got = send_and_check(&stack, &t, "sendmail", None, "bob@example.test").await;
    assert!(
        got.starts_with("Return-Path: <>\n"),
        "-f \"\" is the null sender"
    );
    let got = send_and_check(
        &stack,
        &t,
        "sendmail",
        Some("support@example.test"),
        "bob@example.test",
    )
    .await;
    assert!(got.starts_with("Return-Path: <support@example.test>\n"));
}

// ---------------------------------------------------------------- refused

fn expect_err(result: Result<(), DeliverError>, what: &str) -> DeliverError {
    match result {
        Ok(()) => panic!("{what}: sent, but should have failed"),
        Err(e) => {
            println!("{what}: {e} (transient: {})", e.is_transient());
            e
        }
    }
}

fn some_envelope() -> Envelope {
    Envelope {
        from: Some(addr("support@example.test")),
        to: vec![addr("alice@example.test")],
    }
}

#[tokio::test]
async fn wrong_password_on_submission_is_permanent() {
    let Some(stack) = stack() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = smtp(
        "localhost",
        stack.submission_port,
        config::TlsMode::Starttls,
    );
    cfg.ca_file = Some(stack.ca_cert.clone());
    cfg.user = Some("support@example.test".into());
    cfg.password_file = Some(password_file(dir.path(), "not-the-password"));
    let id = unique_id("badpw");
    let err = expect_err(
        transport(cfg)
            .send(
                &some_envelope(),
                &message("support@example.test", "alice@example.test", &id),
                &id,
            )
            .await,
        "wrong password",
    );
    assert!(
        matches!(
            err,
            DeliverError::Smtp {
                failure: SmtpFailure::Reply(535),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!err.is_transient());
}

#[tokio::test]
async fn closed_port_is_transient() {
    let Some(stack) = stack() else { return };
    // A port that was free a moment ago: bind, read it, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let id = unique_id("closed");
    let err = expect_err(
        transport(smtp(&stack.host, port, config::TlsMode::None))
            .send(
                &some_envelope(),
                &message("support@example.test", "alice@example.test", &id),
                &id,
            )
            .await,
        "closed port",
    );
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
}

#[tokio::test]
async fn tls_without_the_private_ca_is_an_untrusted_certificate_and_permanent() {
    let Some(stack) = stack() else { return };
    // Only the system roots: the stack's throwaway CA is not among them.
    // Retrying cannot help until someone configures ca_file, so permanent.
    for (port, tls) in [
        (stack.smtps_port, config::TlsMode::Implicit),
        (stack.smtp_port, config::TlsMode::Starttls),
    ] {
        let id = unique_id("noca");
        let err = expect_err(
            transport(smtp("localhost", port, tls))
                .send(
                    &some_envelope(),
                    &message("support@example.test", "alice@example.test", &id),
                    &id,
                )
                .await,
            "TLS without CA",
        );
        assert!(
            matches!(
                err,
                DeliverError::Smtp {
                    failure: SmtpFailure::Tls,
                    ..
                }
            ),
            "{tls:?}: {err:?}"
        );
        assert!(err.to_string().contains("certificate"), "{tls:?}: {err}");
        assert!(!err.is_transient(), "{tls:?}");
    }
}

#[tokio::test]
async fn smtps_by_ip_address_is_verified_against_the_ip_san() {
    let Some(stack) = stack() else { return };
    // host = "127.0.0.1": rustls checks the certificate's IP SAN, not a DNS
    // name, so operators may configure a relay by address.
    let mut cfg = smtp("127.0.0.1", stack.smtps_port, config::TlsMode::Implicit);
    cfg.ca_file = Some(stack.ca_cert.clone());
    send_and_check(
        &stack,
        &transport(cfg),
        "ip-san",
        Some("support@example.test"),
        "alice@example.test",
    )
    .await;
}

/// The whole foundation path with a real server: a customer's message piped
/// into `postdesk ingest`, the receipt relayed by Postfix (submission,
/// STARTTLS, AUTH, private CA, as an operator would configure it) into the
/// customer's mailbox.
#[test]
fn ingest_sends_the_receipt_through_real_smtp() {
    let Some(stack) = stack() else { return };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("smtp.pass"),
        format!("{}\n", stack.support_password),
    )
    .unwrap();
    let customer = format!("ann.{}@customer.test", std::process::id());
    // Ann is a customer: her account lets her write without confirming.
    let config = smtp_desk(
        dir.path(),
        &stack,
        &format!("[[account]]\nid = \"ann\"\nprimary = \"{customer}\"\n"),
    );
    let id = unique_id("e2e");
    let mail = format!(
        "From: Ann <{customer}>\r\nTo: support@example.test\r\nSubject: Quota exceeded\r\nMessage-ID: <{id}>\r\n\
Date: Mon, 16 Nov 2026 10:00:00 +0100\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nMy mailbox is full.\r\n"
    );
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_postdesk"))
        .args(["-c", config.to_str().unwrap(), "ingest"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), mail.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The receipt answers the customer's message, so it names it in In-Reply-To.
    let receipt = wait_for_delivery(&stack.maildir(&customer), &id);
    assert!(
        receipt.contains("Subject: [EX #1] Quota exceeded"),
        "{receipt}"
    );
    assert!(
        receipt.contains("Auto-Submitted: auto-replied"),
        "{receipt}"
    );
    assert!(receipt.contains("My mailbox is full."), "{receipt}");
}

/// A desk config in `dir` that sends through the stack's submission port
/// (STARTTLS, AUTH, private CA), with `extra` appended.
fn smtp_desk(dir: &Path, stack: &Stack, extra: &str) -> PathBuf {
    std::fs::write(
        dir.join("smtp.pass"),
        format!("{}\n", stack.support_password),
    )
    .unwrap();
    let config = dir.join("postdesk.toml");
    std::fs::write(
        &config,
        crate::support::without_digest(&format!(
            "[service]\nname = \"Example Support\"\naddress = \"support@example.test\"\nticket_prefix = \"EX\"\n\
database = \"postdesk.db\"\n\n[transport]\nkind = \"smtp\"\nhost = \"localhost\"\nport = {}\ntls = \"starttls\"\n\
user = \"support@example.test\"\npassword_file = \"smtp.pass\"\nca_file = \"{}\"\n{extra}",
            stack.submission_port,
            stack.ca_cert.display()
        )),
    )
    .unwrap();
    config
}

/// Pipes `mail` into `postdesk ingest`, as an MTA does; insists on success.
fn pipe_into(config: &Path, mail: &str) -> String {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_postdesk"))
        .args(["-c", config.to_str().unwrap(), "ingest"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), mail.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Waits up to 10 s for a mail in `md` whose text contains `needle`.
fn wait_for_text(md: &Path, needle: &str) -> String {
    wait_until(
        &format!("a mail with {needle:?} in {}", md.display()),
        Duration::from_secs(10),
        || find_mail(md, needle),
    )
}

/// The verify flow through a real server: a stranger's message is held, the
/// confirmation request reaches the stranger's mailbox through Postfix, and
/// the stranger's reply (to that very mail) opens the ticket, whose receipt
/// arrives the same way.
#[test]
fn a_stranger_confirms_through_real_smtp() {
    let Some(stack) = stack() else { return };
    let dir = tempfile::tempdir().unwrap();
    let config = smtp_desk(dir.path(), &stack, "");
    let stranger = format!("bob.{}@customer.test", std::process::id());
    let id = unique_id("verify");
    let mail = format!(
        "From: Bob <{stranger}>\r\nTo: support@example.test\r\nSubject: Printer\r\nMessage-ID: <{id}>\r\n\
Date: Mon, 16 Nov 2026 10:00:00 +0100\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nIt jams.\r\n"
    );
    assert!(pipe_into(&config, &mail).contains("held"));
    let md = stack.maildir(&stranger);
    let confirm = wait_for_text(&md, "[EX confirm ");
    assert!(
        confirm.contains("Auto-Submitted: auto-replied"),
        "{confirm}"
    );
    let header = |name: &str| -> String {
        confirm
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .unwrap_or_else(|| panic!("no {name} in {confirm}"))
            .trim()
            .to_string()
    };
    let (subject, their_id) = (header("Subject"), header("Message-ID"));
    // Bob's client answers it: Re:, In-Reply-To, the quote below.
    let reply = format!(
        "From: Bob <{stranger}>\r\nTo: support@example.test\r\nSubject: Re: {subject}\r\nMessage-ID: <{}>\r\n\
In-Reply-To: {their_id}\r\nDate: Mon, 16 Nov 2026 10:05:00 +0100\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
Yes, that was me.\r\n",
        unique_id("verify-reply")
    );
    assert!(pipe_into(&config, &reply).contains("confirmed"));
    let receipt = wait_for_text(&md, "[EX #1] Printer");
    assert!(receipt.contains("It jams."), "{receipt}");
}

// ---------------------------------------------------------------- crash

/// Message-IDs of the mails in a Maildir (new/ and cur/), one per file.
fn delivered_ids(md: &Path) -> Vec<String> {
    let mut ids = Vec::new();
    for sub in ["new", "cur"] {
        for entry in std::fs::read_dir(md.join(sub))
            .into_iter()
            .flatten()
            .flatten()
        {
            let Ok(text) = std::fs::read_to_string(entry.path()) else {
                continue;
            };
            if let Some(id) = text
                .lines()
                .take_while(|l| !l.is_empty())
                .find_map(|l| l.strip_prefix("Message-ID: "))
            {
                ids.push(id.trim().to_string());
            }
        }
    }
    ids
}

/// `postdesk run` is killed with SIGKILL three times while it delivers 120
/// queued receipts through the real Postfix. Each outcome is committed
/// before the next mail goes, so each kill re-sends at most the one mail
/// that was in flight: every receipt arrives, and at most one duplicate
/// per kill (a sender that recorded a claimed batch of 32 only at its end
/// re-sent up to 31).
#[test]
fn sigkill_during_smtp_delivery_resends_at_most_one_mail() {
    let Some(stack) = stack() else { return };
    const MAILS: usize = 120;
    let dir = tempfile::tempdir().unwrap();
    let customer = format!("kill.{}@customer.test", std::process::id());
    let config = smtp_desk(
        dir.path(),
        &stack,
        "[[source]]\nname = \"inbox\"\nkind = \"maildir\"\npath = \"inbox\"\npoll = \"1s\"\n\n\
[intake]\nunknown_sender = \"accept\"\nmax_auto_replies_per_day = 10000\n",
    );
    // The receipts are queued first (`--queue-only`), so that the daemon
    // finds them all due at once.
    let import = dir.path().join("import");
    for sub in ["tmp", "new", "cur"] {
        std::fs::create_dir_all(import.join(sub)).unwrap();
    }
    for i in 0..MAILS {
        let mail = format!(
            "From: Kim <{customer}>\r\nTo: support@example.test\r\nSubject: Question {i}\r\n\
Message-ID: <{}>\r\nDate: Mon, 16 Nov 2026 10:00:00 +0100\r\nContent-Type: text/plain\r\n\r\nQuestion {i}.\r\n",
            unique_id("kill")
        );
        std::fs::write(import.join("new").join(format!("{i:04}")), mail).unwrap();
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_postdesk"))
        .args([
            "-c",
            config.to_str().unwrap(),
            "ingest",
            "--queue-only",
            "--maildir",
        ])
        .arg(&import)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let md = stack.maildir(&customer);
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_postdesk"))
            .args(["-c", config.to_str().unwrap(), "run"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let wait = |what: &str, within: Duration, done: &dyn Fn() -> bool| {
        wait_until(what, within, || done().then_some(()));
    };
    let kills = [15, 50, 85];
    for at in kills {
        let mut child = run();
        wait(&format!("{at} delivered"), Duration::from_secs(60), &|| {
            delivered_ids(&md).len() >= at
        });
        child.kill().unwrap();
        child.wait().unwrap();
    }
    let mut child = run();
    let unique = || {
        let mut ids = delivered_ids(&md);
        ids.sort();
        ids.dedup();
        ids.len()
    };
    wait("every receipt delivered", Duration::from_secs(120), &|| {
        unique() >= MAILS
    });
    // Late copies still in Postfix's queue arrive within a moment: wait
    // until Postfix holds nothing more for the customer.
    wait_until(
        "Postfix's queue empty of mail to the customer",
        Duration::from_secs(30),
        || (!stack.queued_for(&customer)).then_some(()),
    );
    child.kill().unwrap();
    child.wait().unwrap();

    let ids = delivered_ids(&md);
    let mut counts = std::collections::HashMap::new();
    for id in &ids {
        *counts.entry(id.as_str()).or_insert(0usize) += 1;
    }
    let duplicates = ids.len() - counts.len();
    println!(
        "{} receipts, {} deliveries, {duplicates} duplicates after {} SIGKILLs",
        counts.len(),
        ids.len(),
        kills.len()
    );
    assert_eq!(counts.len(), MAILS);
    assert!(counts.values().all(|&n| n <= 2), "{counts:?}");
    assert!(
        duplicates <= kills.len(),
        "{duplicates} duplicates after {} kills",
        kills.len()
    );
}
