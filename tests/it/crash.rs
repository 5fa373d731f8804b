//! Crash safety (DESIGN invariant 1): `postdesk run` is killed with SIGKILL
//! while it takes 2,000 messages from its Maildir inbox; after restarts
//! every message is stored exactly once, `new/` is empty, and every receipt
//! went out exactly once.

use std::collections::HashSet;
use std::process::{Child, Stdio};
use std::time::Duration;

use crate::support::{Desk, customer_mail, drop_into_maildir, files_in, wait_until};

const MESSAGES: usize = 2000;

fn start(desk: &Desk) -> Child {
    desk.command()
        .arg("run")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start postdesk run")
}

fn stored(desk: &Desk) -> i64 {
    // The daemon holds the database; a reader in WAL mode does not disturb it.
    desk.open_store().read().message_count().unwrap_or(0)
}

#[test]
fn sigkill_during_intake_loses_and_duplicates_nothing() {
    let desk = Desk::new();
    let inbox = desk.path("var/inbox");
    for i in 0..MESSAGES {
        let m = customer_mail(
            &format!("c{i}@crash.example"),
            &format!("Crash test {i}"),
            &format!("crash-{i}@crash.example"),
            &format!(
                "Message number {i}.\r\n{}",
                "Some realistic text. ".repeat(40)
            ),
        );
        drop_into_maildir(
            &inbox,
            &format!("{:010}.M{i}P1.test", 1_700_000_000 + i),
            &m,
        );
    }
    // Open the database once so the daemon's first seconds are spent on mail.
    drop(desk.open_store());

    // Kill it three times at different depths of the inbox.
    for kill_at in [300, 900, 1500] {
        let mut child = start(&desk);
        wait_until("intake progress", Duration::from_secs(120), || {
            (stored(&desk) >= kill_at as i64).then_some(())
        });
        child.kill().expect("SIGKILL");
        child.wait().unwrap();
    }

    // A last run to the end, stopped politely.
    let mut child = start(&desk);
    wait_until("an empty inbox", Duration::from_secs(120), || {
        files_in(&inbox.join("new")).is_empty().then_some(())
    });
    let store = desk.open_store();
    wait_until("every receipt delivered", Duration::from_secs(60), || {
        store
            .read()
            .outbox(Some(postdesk::store::OutboxState::Queued), 10)
            .map(|q| q.is_empty())
            .unwrap_or(false)
            .then_some(())
    });
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "SIGTERM must end the daemon with 0: {status:?}"
    );

    // Every message exactly once.
    let read = store.read();
    assert_eq!(read.message_count().unwrap(), MESSAGES as i64);
    assert_eq!(
        read.ticket_count().unwrap(),
        MESSAGES as i64,
        "each is its own new ticket"
    );
    assert!(files_in(&inbox.join("new")).is_empty());

    // Every receipt exactly once in the sent Maildir, one per ticket.
    let sent = files_in(&desk.path("var/sent/new"));
    let subjects: HashSet<String> = sent
        .iter()
        .map(|p| {
            let raw = std::fs::read(p).unwrap();
            let m = mail_parser::MessageParser::default().parse(&raw).unwrap();
            m.subject().unwrap().to_string()
        })
        .collect();
    assert_eq!(
        sent.len(),
        MESSAGES,
        "one receipt per ticket, no duplicate file"
    );
    assert_eq!(subjects.len(), MESSAGES);
}
