//! Nothing gets lost (issue 17, findings 4–6) on a real server: a 3 MB
//! message in a POP3 or IMAP mailbox with a 1 MB limit is read in parts,
//! held as its header and 100 KB of body, and removed from the server; the
//! mail behind it is taken. (The local cases are in `it`'s intake_faults.)

use std::path::Path;
use std::time::Duration;

use crate::support::stack::{self, Stack};
use crate::support::{Daemon, wait_until};

fn ticket_count(db: &Path) -> i64 {
    if !db.exists() {
        return 0;
    }
    postdesk::store::Store::open(db)
        .unwrap()
        .read()
        .ticket_count()
        .unwrap()
}

/// A desk in `dir` that takes mail from `source` (a [[source]] table
/// reaching the stack's Dovecot) with a 1 MB message limit, of which
/// 100 KB of body are kept.
fn remote_desk(dir: &Path, stack: &Stack, support: &str, source: &str) -> std::path::PathBuf {
    std::fs::write(dir.join("pw"), format!("{}\n", stack.master_password)).unwrap();
    let config = dir.join("postdesk.toml");
    let text = format!(
        "[service]\nname = \"Remote\"\naddress = \"{support}\"\nticket_prefix = \"RM\"\n\
database = \"var/postdesk.db\"\n\n{source}\nuser = \"{login}\"\npassword_file = \"pw\"\n\
ca_file = \"{ca}\"\npoll = \"200ms\"\ntimeout = \"10s\"\n\n\
[transport]\nkind = \"maildir\"\npath = \"var/sent\"\n\n\
[intake]\nunknown_sender = \"accept\"\nmax_message_size = \"1MB\"\nmax_stored_size = \"100KB\"\n",
        login = stack.login(support),
        ca = stack.ca_cert.display()
    );
    std::fs::write(&config, crate::support::without_digest(&text)).unwrap();
    config
}

/// A 3 MB message and three ordinary ones in a POP3 or IMAP mailbox: the
/// three open tickets, the big one (read in parts, never whole) is held
/// as its header and 100 KB of body with its whole size, and the mailbox
/// is empty afterwards.
fn a_large_message_on_a_server_is_cut_and_removed(kind: &str, port: impl Fn(&Stack) -> u16) {
    let Some(stack) = stack::stack() else { return };
    let support = format!("{}@example.test", stack::unique(&format!("large-{kind}")));
    let head = format!(
        "From: Big <big@customer.test>\r\nTo: {support}\r\nSubject: Large\r\n\
Message-ID: <{}@customer.test>\r\nDate: Mon, 16 Nov 2026 10:00:00 +0100\r\n\r\n",
        stack::unique("large")
    );
    let mut big = head.clone().into_bytes();
    let line = format!("{}\r\n", "0123456789".repeat(7));
    while big.len() < 3 << 20 {
        big.extend_from_slice(line.as_bytes());
    }
    let mut messages = vec![big.clone()];
    for i in 0..3 {
        let id = format!("{}@customer.test", stack::unique("small"));
        messages.push(stack::mail(
            "c@customer.test",
            &support,
            &format!("Small {i}"),
            &id,
            "hello",
        ));
    }
    stack.fill_inbox(&support, &messages);

    let dir = tempfile::tempdir().unwrap();
    let source = format!(
        "[[source]]\nname = \"remote\"\nkind = \"{kind}\"\nhost = \"localhost\"\nport = {}\ntls = \"starttls\"",
        port(&stack)
    );
    let config = remote_desk(dir.path(), &stack, &support, &source);
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_postdesk"));
    cmd.arg("-c").arg(&config).env("RUST_LOG", "info");
    let d = Daemon::start(cmd, &dir.path().join("daemon.log"));
    let db = dir.path().join("var/postdesk.db");
    wait_until("3 tickets", Duration::from_secs(30), || {
        (ticket_count(&db) == 3).then_some(())
    });
    wait_until("an empty mailbox", Duration::from_secs(30), || {
        (stack.inbox_count(&support) == 0).then_some(())
    });
    let (status, _, log) = d.stop();
    assert!(status.success(), "{status:?}\n{log}");
    let store = postdesk::store::Store::open(&db).unwrap();
    let held = store.read().quarantined(false).unwrap();
    assert_eq!(held.len(), 1, "{log}");
    assert_eq!(held[0].kind, postdesk::domain::HoldKind::TooLarge);
    assert!(
        held[0].reason.contains(&big.len().to_string()),
        "{}",
        held[0].reason
    );
    let raw = store
        .read()
        .quarantine_entry(held[0].id)
        .unwrap()
        .unwrap()
        .raw;
    assert_eq!(raw, &big[..head.len() + (100 << 10)]);
}

#[test]
fn a_large_message_in_pop3_is_cut_and_removed() {
    a_large_message_on_a_server_is_cut_and_removed("pop3", |s| s.pop3_port);
}

#[test]
fn a_large_message_in_imap_is_cut_and_removed() {
    a_large_message_on_a_server_is_cut_and_removed("imap", |s| s.imap_port);
}
