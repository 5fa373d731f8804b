//! Nothing gets lost (issue 17, findings 4–6), through the binary as the
//! attacker did it:
//!
//! - a new message under a Maildir name or an mbox offset used before is
//!   taken; the same bytes again are "already taken";
//! - the database directory removed under `ingest` and under `run`: exit
//!   75, nothing committed, no receipt, the mail still in its source;
//! - a second `postdesk run` on the same database: exit 75, naming the
//!   holder; `ingest` beside a daemon still works;
//! - a 1 GB (sparse) file in the inbox with 5 mails behind it: all 5 taken,
//!   the big one quarantined as header + body prefix, memory under 200 MB;
//! - a message whose commit fails (a trigger refusing it) is quarantined
//!   alone and the others are taken; one that cannot even be quarantined
//!   is left in the source and the others are taken.
//!
//! The same for a large message on a POP3 or IMAP server: `stack`'s large_mail.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use crate::support::wait_until;
use crate::support::{Desk, customer_mail, drop_into_maildir, files_in};

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

/// A desk whose database is alone in `db/`, so removing that directory
/// leaves the inbox and the sent Maildir (under `var/`) in place.
fn desk_with_db_dir() -> Desk {
    let desk = Desk::new();
    let text = std::fs::read_to_string(&desk.config).unwrap();
    let moved = text.replace(
        "database = \"var/postdesk.db\"",
        "database = \"db/postdesk.db\"",
    );
    assert_ne!(text, moved, "the test desk's database line changed");
    std::fs::write(&desk.config, moved).unwrap();
    desk
}

/// Ann's message with `tag` in its subject, text and Message-ID.
fn ann(tag: &str) -> Vec<u8> {
    customer_mail(
        "ann@customer.example",
        &format!("About {tag}"),
        &format!("{tag}@customer.example"),
        &format!("Text of {tag}."),
    )
}

// ------------------------------------------------------------ source ids

/// The README demo twice: `cp customer.eml var/inbox/new/` with another
/// message under the same name is a second ticket, not "already taken";
/// the first bytes again under that name are recognised.
#[test]
fn a_new_message_under_a_maildir_name_used_before_is_taken() {
    let desk = Desk::new();
    let db = desk.path("var/postdesk.db");
    let inbox = desk.path("var/inbox");
    let d = desk.start_logging("daemon.log");
    d.wait_log(&["postdesk running"], Duration::from_secs(10));
    let first = ann("first");
    drop_into_maildir(&inbox, "customer.eml", &first);
    wait_until("ticket 1", Duration::from_secs(10), || {
        (ticket_count(&db) == 1).then_some(())
    });
    wait_until("customer.eml taken", Duration::from_secs(10), || {
        files_in(&inbox.join("new")).is_empty().then_some(())
    });

    drop_into_maildir(&inbox, "customer.eml", &ann("second"));
    wait_until("ticket 2", Duration::from_secs(10), || {
        (ticket_count(&db) == 2).then_some(())
    });

    // The first message's bytes under the same name: taken before.
    wait_until("the second file taken", Duration::from_secs(10), || {
        files_in(&inbox.join("new")).is_empty().then_some(())
    });
    drop_into_maildir(&inbox, "customer.eml", &first);
    d.wait_log(
        &["source_id=\"customer.eml\"", "already taken"],
        Duration::from_secs(10),
    );
    wait_until("the copy removed", Duration::from_secs(10), || {
        files_in(&inbox.join("new")).is_empty().then_some(())
    });
    let (status, _, log) = d.stop();
    assert!(status.success(), "{status:?}\n{log}");
    assert_eq!(ticket_count(&db), 2, "{log}");
    assert_eq!(log.matches("outcome=\"new ticket\"").count(), 2, "{log}");
}

fn mbox(messages: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in messages {
        out.extend_from_slice(b"From ann@customer.example Mon Nov 16 10:00:00 2026\n");
        out.extend_from_slice(m);
        out.extend_from_slice(b"\n");
    }
    out
}

/// An mbox imported, emptied, filled with new mail at the same offsets and
/// imported again: the new messages are taken; the same file once more
/// is "already taken".
#[test]
fn an_mbox_emptied_and_imported_again_takes_the_new_messages() {
    let desk = Desk::new();
    let file = desk.path("archive.mbox");
    let path = file.to_str().unwrap();
    std::fs::write(&file, mbox(&[ann("m1"), ann("m2")])).unwrap();
    let out = desk.ok(&["ingest", "--mbox", path]);
    assert!(out.contains("2 new ticket"), "{out}");

    // Same lengths, so the offsets are the same as before.
    std::fs::write(&file, mbox(&[ann("m3"), ann("m4")])).unwrap();
    let out = desk.ok(&["ingest", "--mbox", path]);
    assert!(out.contains("2 new ticket"), "{out}");
    assert_eq!(desk.tickets().len(), 4);

    let out = desk.ok(&["ingest", "--mbox", path]);
    assert!(out.contains("2 already taken"), "{out}");
    assert_eq!(desk.tickets().len(), 4);
}

// ------------------------------------------------------------ the database opened

/// Whether process `pid` has `file` open (its /proc/PID/fd links).
fn has_open(pid: u32, file: &Path) -> bool {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|fds| {
            fds.flatten()
                .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|t| t == file))
        })
        .unwrap_or(false)
}

/// `postdesk ingest` has opened the database and waits for its stdin, as
/// an MTA's pipe does; the database directory is removed; then the mail
/// comes. Without the check SQLite commits into the unlinked file and the
/// receipt goes out; with it: exit 75, nothing sent, the MTA keeps the mail.
#[test]
fn the_database_removed_under_ingest_is_exit_75_and_nothing_sent() {
    let desk = desk_with_db_dir();
    let out = desk.ingest(&ann("before"));
    assert!(out.status.success(), "{out:?}");
    let db = desk.path("db/postdesk.db").canonicalize().unwrap();
    let sent_before = desk.sent().len();
    assert!(sent_before > 0, "the first message got no receipt");

    let mut child = desk
        .command()
        .arg("ingest")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until(
        "ingest has the database open",
        Duration::from_secs(10),
        || has_open(child.id(), &db).then_some(()),
    );
    std::fs::remove_dir_all(desk.path("db")).unwrap();
    use std::io::Write;
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&ann("after")).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(75), "{stderr}");
    assert!(stderr.contains("it was removed"), "{stderr}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("new ticket"));
    assert_eq!(desk.sent().len(), sent_before, "a receipt went out");
}

/// The database directory removed under `postdesk run`, then a mail
/// arrives: the daemon stops with exit 75, sends nothing, and the mail
/// stays in the inbox for the next start.
#[test]
fn the_database_removed_under_run_stops_it_with_exit_75_and_keeps_the_mail() {
    let desk = desk_with_db_dir();
    let inbox = desk.path("var/inbox");
    let d = desk.start_logging("daemon.log");
    d.wait_log(&["postdesk running"], Duration::from_secs(10));
    drop_into_maildir(&inbox, "one", &ann("one"));
    wait_until("ticket 1", Duration::from_secs(10), || {
        (ticket_count(&desk.path("db/postdesk.db")) == 1).then_some(())
    });
    wait_until("the receipt", Duration::from_secs(10), || {
        (!desk.sent().is_empty()).then_some(())
    });
    let sent_before = desk.sent().len();

    std::fs::remove_dir_all(desk.path("db")).unwrap();
    drop_into_maildir(&inbox, "two", &ann("two"));
    let (status, _, log) = d.stop_after_signal();
    assert_eq!(status.code(), Some(75), "{log}");
    assert!(log.contains("is not the file opened at start"), "{log}");
    assert_eq!(desk.sent().len(), sent_before, "mail went out:\n{log}");
    assert_eq!(
        files_in(&inbox.join("new")),
        [inbox.join("new/two")],
        "{log}"
    );
    assert_eq!(log.matches("outcome=\"new ticket\"").count(), 1, "{log}");
}

/// One daemon per database: a second `postdesk run` exits 75 and names
/// the first; `ingest` (the MTA's pipe) still works beside it.
#[test]
fn a_second_run_on_the_same_database_exits_75_naming_the_holder() {
    let desk = Desk::new();
    let first = desk.start_logging("first.log");
    first.wait_log(&["postdesk running"], Duration::from_secs(10));

    let out = desk
        .command()
        .arg("run")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(75), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "in use by another `postdesk run` (process {}",
            first.child.id()
        )),
        "{stderr}"
    );
    // The first one's pid file is still its own.
    let pid = std::fs::read_to_string(desk.path("var/postdesk.pid")).unwrap();
    assert_eq!(pid.trim(), first.child.id().to_string());

    let out = desk.ingest(&ann("piped"));
    assert!(out.status.success(), "{out:?}");
    assert_eq!(desk.tickets().len(), 1);
    let (status, _, log) = first.stop();
    assert!(status.success(), "{status:?}\n{log}");
}

// ------------------------------------------------------------ bounded memory

/// The peak resident memory of process `pid` (VmHWM), in bytes.
fn peak_memory(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM in /proc/PID/status");
    let kb: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("VmHWM value");
    kb * 1024
}

/// A 1 GB message (sparse: a header, a line of text, then zeros) first in
/// the daemon's inbox, five ordinary mails behind it. All five are taken;
/// the big one is quarantined as its header and the first 1 MB of its
/// body, with its whole size, answered once, and leaves the inbox; the
/// daemon's peak memory stays under 200 MB.
#[test]
fn a_1_gb_message_is_quarantined_cut_and_the_mail_behind_it_taken() {
    let desk = Desk::new();
    let inbox = desk.path("var/inbox");
    let head = "From: Big Sender <big@customer.example>\r\nTo: support@desk.example\r\nSubject: A huge file\r\n\
Message-ID: <huge@customer.example>\r\nDate: Mon, 16 Nov 2026 10:00:00 +0100\r\n\r\nThe start of a very long body.\r\n";
    let big = inbox.join("tmp/0001.big");
    std::fs::write(&big, head).unwrap();
    let size: u64 = 1 << 30;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&big)
        .unwrap()
        .set_len(size)
        .unwrap();
    std::fs::rename(&big, inbox.join("new/0001.big")).unwrap();
    for i in 2..=6 {
        drop_into_maildir(
            &inbox,
            &format!("000{i}.mail"),
            &ann(&format!("behind-{i}")),
        );
    }

    let d = desk.start_logging("daemon.log");
    let db = desk.path("var/postdesk.db");
    wait_until("the inbox emptied", Duration::from_secs(300), || {
        assert!(d.running(), "the daemon died:\n{}", d.log_text());
        files_in(&inbox.join("new")).is_empty().then_some(())
    });
    wait_until("5 tickets", Duration::from_secs(10), || {
        (ticket_count(&db) == 5).then_some(())
    });
    let peak = peak_memory(d.child.id());
    let (status, _, log) = d.stop();
    assert!(status.success(), "{status:?}\n{log}");
    assert!(peak < 200 << 20, "peak memory {} MB", peak >> 20);
    println!(
        "peak memory of postdesk run with a 1 GB message: {} MB",
        peak >> 20
    );

    let store = postdesk::store::Store::open(&db).unwrap();
    let held = store.read().quarantined(false).unwrap();
    assert_eq!(held.len(), 1, "{log}");
    assert_eq!(held[0].kind, postdesk::domain::HoldKind::TooLarge);
    assert!(
        held[0].reason.contains(&size.to_string()),
        "{}",
        held[0].reason
    );
    let raw = store
        .read()
        .quarantine_entry(held[0].id)
        .unwrap()
        .unwrap()
        .raw;
    assert!(raw.starts_with(head.as_bytes()));
    // The header, blank line included, and 1 MB of body.
    let header_len = head.find("\r\n\r\n").unwrap() + 4;
    assert_eq!(raw.len(), header_len + (1 << 20));
    // Answered once: the size notice to the sender.
    let notices = desk
        .sent()
        .iter()
        .filter(|m| String::from_utf8_lossy(m).contains("big@customer.example"))
        .count();
    assert_eq!(notices, 1);
}

// ------------------------------------------------------------ no poison message

/// Installs a trigger that refuses rows, as a bug or a full disk would
/// refuse one message's row (fault injection: the store has no SQL hook).
fn refuse(db: &Path, sql: &str) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch(sql).unwrap();
}

fn poison_maildir(desk: &Desk) -> std::path::PathBuf {
    let dir = desk.path("import");
    for sub in ["tmp", "new", "cur"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    for (i, tag) in ["a", "b", "poison", "c", "d"].iter().enumerate() {
        drop_into_maildir(&dir, &format!("{i}.{tag}"), &ann(tag));
    }
    dir
}

/// A message whose row the database refuses fails its batch; the batch
/// is taken again message by message, the bad one is quarantined with the
/// error and leaves the Maildir, the four others open their tickets.
#[test]
fn a_message_that_fails_alone_is_quarantined_and_the_rest_taken() {
    let desk = Desk::new();
    drop(desk.open_store());
    refuse(
        &desk.path("var/postdesk.db"),
        "CREATE TRIGGER poison BEFORE INSERT ON messages WHEN NEW.subject = 'About poison'
         BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;",
    );
    let dir = poison_maildir(&desk);
    let out = desk.run(
        &["ingest", "--maildir", dir.to_str().unwrap(), "--remove"],
        b"",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    // 65: one message is in quarantine as unreadable, as for any bad mail.
    assert_eq!(out.status.code(), Some(65), "{stderr}");
    assert!(stderr.contains("refused by the test"), "{stderr}");
    assert_eq!(desk.tickets().len(), 4);
    assert!(files_in(&dir.join("new")).is_empty());
    let held = desk.open_store().read().quarantined(false).unwrap();
    assert_eq!(held.len(), 1);
    assert!(
        held[0].reason.contains("could not be taken in"),
        "{}",
        held[0].reason
    );
}

/// When even the quarantine refuses it, the message stays in the Maildir
/// (exit 75: try again), and the four others are taken all the same.
#[test]
fn a_message_that_cannot_even_be_quarantined_stays_in_its_source() {
    let desk = Desk::new();
    drop(desk.open_store());
    refuse(
        &desk.path("var/postdesk.db"),
        "CREATE TRIGGER poison BEFORE INSERT ON messages WHEN NEW.subject = 'About poison'
         BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;
         CREATE TRIGGER poison_held BEFORE INSERT ON quarantine WHEN NEW.reason LIKE '%refused by the test%'
         BEGIN SELECT RAISE(ABORT, 'quarantine refused by the test'); END;",
    );
    let dir = poison_maildir(&desk);
    let out = desk.run(
        &["ingest", "--maildir", dir.to_str().unwrap(), "--remove"],
        b"",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(75), "{stderr}");
    assert!(
        stderr.contains("skipped until postdesk restarts"),
        "{stderr}"
    );
    assert_eq!(desk.tickets().len(), 4);
    assert_eq!(files_in(&dir.join("new")), [dir.join("new/2.poison")]);
    assert_eq!(desk.open_store().read().quarantine_count().unwrap(), 0);
}
