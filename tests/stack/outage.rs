//! The real mail servers going away under a running `postdesk run`:
//! Dovecot stopped mid-run and started again (postdesk reconnects; nothing
//! lost, nothing doubled), and Postfix stopped (the outbox holds the
//! receipt and delivers it once Postfix is back).
//!
//! It stops servers that the other tests of this binary use, so it takes
//! the stack alone (`stack_alone`): it waits until no other test holds it,
//! and the others wait until it is done.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::stack::{Stack, mail, stack_alone, unique};
use crate::support::{Daemon, wait_until};
use postdesk::store::{OutboxState, Store};

fn port_open(stack: &Stack, port: u16) -> bool {
    std::net::TcpStream::connect((stack.host.as_str(), port)).is_ok()
}

/// Runs a server's start/stop command. Its output goes to a file, never a
/// pipe: a server's master keeps the stderr it was started with open for
/// ever, and a pipe would then never reach end of file.
fn run(cmd: &mut Command) {
    let log = tempfile::NamedTempFile::new().unwrap();
    let status = cmd
        .stdin(std::process::Stdio::null())
        .stdout(log.reopen().unwrap())
        .stderr(log.reopen().unwrap())
        .status()
        .expect("run a mail stack command");
    assert!(
        status.success(),
        "{cmd:?}: {status}\n{}",
        std::fs::read_to_string(log.path()).unwrap_or_default()
    );
}

fn dovecot(stack: &Stack, stop: bool) {
    let conf = stack.dir.join("dovecot/dovecot.conf");
    let mut cmd = Command::new("dovecot");
    cmd.arg("-c").arg(&conf);
    if stop {
        cmd.arg("stop");
    }
    run(&mut cmd);
    let want_open = !stop;
    wait_until("Dovecot's IMAP port", Duration::from_secs(15), || {
        (port_open(stack, stack.imap_port) == want_open).then_some(())
    });
}

fn postfix(stack: &Stack, action: &str) {
    run(Command::new("postfix")
        .arg("-c")
        .arg(stack.dir.join("postfix"))
        .arg(action));
    let want_open = action == "start";
    wait_until("Postfix's SMTP port", Duration::from_secs(15), || {
        (port_open(stack, stack.smtp_port) == want_open).then_some(())
    });
}

fn counts(db: &Path) -> (i64, i64) {
    if !db.exists() {
        return (0, 0);
    }
    let s = Store::open(db).unwrap();
    let r = s.read();
    (r.ticket_count().unwrap(), r.message_count().unwrap())
}

#[test]
fn servers_stopped_mid_run_lose_and_double_nothing() {
    let Some(stack) = stack_alone() else { return };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pw"), &stack.master_password).unwrap();
    let pop_box = format!("{}@example.test", unique("out-pop3"));
    let imap_box = format!("{}@example.test", unique("out-imap"));
    let source = |name: &str, kind: &str, port: u16, address: &str, extra: &str| {
        format!(
            "[[source]]\nname = \"{name}\"\nkind = \"{kind}\"\nhost = \"localhost\"\nport = {port}\n\
             user = \"{}\"\npassword_file = \"pw\"\nca_file = \"{}\"\ntimeout = \"5s\"\n{extra}\n",
            stack.login(address),
            stack.ca_cert.display()
        )
    };
    let config = dir.path().join("postdesk.toml");
    std::fs::write(
        &config,
        crate::support::without_digest(&format!(
            "[service]\naddress = \"{imap_box}\"\nticket_prefix = \"OUT\"\ndatabase = \"var/pd.db\"\n\n{}\n{}\n\
             [transport]\nkind = \"smtp\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\ntimeout = \"5s\"\n\n\
             [outbox]\nretry_initial = \"1s\"\nretry_max = \"2s\"\nmax_attempts = 100\n\n\
             [intake]\nunknown_sender = \"accept\"\n",
            source("out-pop", "pop3", stack.pop3s_port, &pop_box, "poll = \"300ms\""),
            source("out-imap", "imap", stack.imaps_port, &imap_box, "idle = true\npoll = \"1m\""),
            stack.smtp_port
        )),
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("var")).unwrap();
    let db = dir.path().join("var/pd.db");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_postdesk"));
    cmd.arg("-c")
        .arg(&config)
        .env("RUST_LOG", "info")
        .env_remove("NOTIFY_SOCKET");
    let daemon = Daemon::start(cmd, &dir.path().join("daemon.log"));

    // Bulk mail comes from one automatic-reply-limited customer: at most 10
    // receipts go out, the rest is noted in the ticket.
    let customer = format!("{}@example.test", unique("cust"));
    let batch = |address: &str, tag: &str, n: usize| -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| {
                mail(
                    &customer,
                    address,
                    &format!("{tag} {i}"),
                    &format!("{tag}-{i}@out.test"),
                    "x",
                )
            })
            .collect()
    };
    let tag = unique("a");
    stack.fill_inbox(&pop_box, &batch(&pop_box, &format!("{tag}-pop"), 20));
    stack.fill_inbox(&imap_box, &batch(&imap_box, &format!("{tag}-imap"), 20));
    wait_until(
        "40 messages before the outage",
        Duration::from_secs(30),
        || (counts(&db).1 == 40).then_some(()),
    );

    // Each mailbox's first good round is in the log (issue 18): an operator
    // sees a new source work without waiting for mail.
    for source in ["out-pop", "out-imap"] {
        daemon.wait_log(
            &[&format!("source={source}"), "connected and logged in"],
            Duration::from_secs(10),
        );
    }

    // ---- Dovecot goes away mid-run, mail keeps arriving, Dovecot returns.
    dovecot(&stack, true);
    for source in ["out-pop", "out-imap"] {
        // Dovecot lets an IDLE session linger up to ~15 s after `stop`.
        daemon.wait_log(
            &[&format!("source={source}"), "mail server unavailable"],
            Duration::from_secs(40),
        );
    }
    let failures =
        |source: &str| daemon.log_count(&[&format!("source={source}"), "mail server unavailable"]);
    let failed = [failures("out-pop"), failures("out-imap")];
    let tag = unique("b");
    stack.fill_inbox(&pop_box, &batch(&pop_box, &format!("{tag}-pop"), 20));
    stack.fill_inbox(&imap_box, &batch(&imap_box, &format!("{tag}-imap"), 20));
    // Each source tries again, and fails, with the new mail waiting.
    for (source, n) in ["out-pop", "out-imap"].into_iter().zip(failed) {
        daemon.wait_log_count(
            &[&format!("source={source}"), "mail server unavailable"],
            n + 1,
            Duration::from_secs(40),
        );
    }
    assert_eq!(counts(&db).1, 40, "taken while Dovecot was down?");
    let back = Instant::now();
    dovecot(&stack, false);
    wait_until(
        "80 messages after the outage",
        Duration::from_secs(40),
        || (counts(&db).1 == 80).then_some(()),
    );
    println!(
        "taken again {:.1} s after Dovecot came back",
        back.elapsed().as_secs_f64()
    );
    for source in ["out-pop", "out-imap"] {
        daemon.wait_log(
            &[&format!("source={source}"), "connected again"],
            Duration::from_secs(5),
        );
    }
    wait_until("both mailboxes empty", Duration::from_secs(15), || {
        (stack.inbox_count(&pop_box) == 0 && stack.inbox_count(&imap_box) == 0).then_some(())
    });
    // Two more POP3 rounds (sessions in Dovecot's log) find nothing more
    // to take; the IMAP source idles, told at once of anything new.
    let sessions = stack.pop3_sessions(&pop_box);
    wait_until("two more POP3 rounds", Duration::from_secs(10), || {
        (stack.pop3_sessions(&pop_box) >= sessions + 2).then_some(())
    });
    assert_eq!(counts(&db), (80, 80), "nothing lost, nothing doubled");

    // ---- Postfix goes away: the receipt waits in the outbox.
    postfix(&stack, "stop");
    let late = format!("{}@example.test", unique("late"));
    let id = format!("{}@out.test", unique("late"));
    stack.fill_inbox(
        &imap_box,
        &[mail(&late, &imap_box, "Anyone there?", &id, "hello")],
    );
    let pending = wait_until(
        "a receipt that failed an attempt",
        Duration::from_secs(20),
        || {
            let s = Store::open(&db).ok()?;
            let rows = s.read().outbox(Some(OutboxState::Queued), 100).ok()?;
            rows.into_iter()
                // attempts counts a claim; last_error, a finished attempt.
                .find(|m| m.rcpt.iter().any(|r| r == &late) && m.last_error.is_some())
        },
    );
    assert!(pending.attempts >= 1, "{pending:?}");
    postfix(&stack, "start");
    let receipt = stack.wait_for_mail(&late, "INBOX", "[OUT #", Duration::from_secs(30));
    assert!(
        receipt.contains(&format!("<{}>", pending.message_id)),
        "{receipt}"
    );

    let (status, took, log) = daemon.stop();
    assert!(status.success(), "{status:?}\n{log}");
    assert!(took < Duration::from_secs(5), "{took:?}");
}
