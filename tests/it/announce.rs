//! `postdesk announce` (issue 16, mass mail) through the binary: 1,000
//! accounts in three languages each get exactly one mail in their language,
//! even when the command is killed with SIGKILL half-way and resumed; the
//! rate limit holds on the outbox's due times; failing (bounced) and
//! unsubscribed addresses get nothing; a dry run sends nothing.

use std::collections::HashMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use postdesk::domain::Address;
use postdesk::store::{OutboxEntry, StoreError};

use crate::support::outbox::{ingest, mails};
use crate::support::{ADDRESS, Desk};

/// The announcement mails queued so far.
fn announced(desk: &Desk) -> Vec<OutboxEntry> {
    let store = desk.open_store();
    let all = store.read().outbox(None, 1_000_000).unwrap();
    let mut all: Vec<OutboxEntry> = all.into_iter().filter(|e| e.kind == "announce").collect();
    all.sort_by_key(|e| e.id);
    all
}

/// Body files `news.en`, `news.fr`, `news.it` in the desk's folder.
fn bodies(desk: &Desk) -> String {
    for (lang, text) in [
        ("en", "Maintenance on Sunday night (English)."),
        ("fr", "Maintenance dimanche soir (français)."),
        ("it", "Manutenzione domenica sera (italiano)."),
    ] {
        std::fs::write(desk.path(&format!("news.{lang}")), text).unwrap();
    }
    desk.path("news").display().to_string()
}

/// Holds the store's write lock (so the announce process blocks on its
/// next commit) and SIGKILLs it meanwhile: killed between two mails.
fn kill_while_holding_the_store(desk: &Desk, child: &mut std::process::Child) {
    let mut store = desk.open_store();
    store
        .write(|_| {
            child.kill().expect("SIGKILL");
            child.wait().unwrap();
            Ok::<_, StoreError>(())
        })
        .unwrap();
}

#[test]
fn a_thousand_accounts_get_one_mail_each_even_after_sigkill_and_resume() {
    let desk = Desk::new();
    let langs = ["en", "fr", "it"];
    let mut file = String::new();
    for i in 0..1000 {
        file.push_str(&format!(
            "[[account]]\nid = \"acct-{i}\"\nname = \"Customer {i}\"\nprimary = \"user{i}@customer{}.example\"\nlanguage = \"{}\"\n\n",
            i % 7,
            langs[i % 3]
        ));
    }
    std::fs::write(desk.path("accounts.toml"), file).unwrap();
    desk.ok(&[
        "account",
        "import",
        desk.path("accounts.toml").to_str().unwrap(),
    ]);
    let body = bodies(&desk);

    let mut child = desk
        .command()
        .args([
            "announce",
            "--subject",
            "Maintenance",
            "--body-file",
            &body,
            "--all",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while announced(&desk).len() < 100 {
        assert!(start.elapsed() < Duration::from_secs(120), "too slow");
        std::thread::sleep(Duration::from_millis(20));
    }
    kill_while_holding_the_store(&desk, &mut child);
    let at_kill = announced(&desk).len();
    assert!((100..1000).contains(&at_kill), "killed at {at_kill}");

    let out = desk.ok(&["announce", "--resume", "1"]);
    assert!(out.contains("announcement 1:"), "{out}");
    let all = announced(&desk);
    assert_eq!(all.len(), 1000, "{out}");
    let mut per: HashMap<String, usize> = HashMap::new();
    for e in &all {
        assert_eq!(e.rcpt.len(), 1, "one recipient per mail: {:?}", e.rcpt);
        *per.entry(e.rcpt[0].clone()).or_default() += 1;
    }
    assert_eq!(per.len(), 1000);
    assert!(per.values().all(|n| *n == 1));

    // Each in the account's language, with the bulk headers.
    let store = desk.open_store();
    // The first three went before the kill, the last three after the resume.
    for (i, want) in [
        (0, "English"),
        (1, "français"),
        (2, "italiano"),
        (997, "français"),
        (998, "italiano"),
        (999, "English"),
    ] {
        let e = all
            .iter()
            .find(|e| e.rcpt[0] == format!("user{i}@customer{}.example", i % 7))
            .unwrap();
        let raw = store.read().sent_mail(&e.message_id).unwrap().unwrap().raw;
        let text = String::from_utf8_lossy(&raw);
        let parsed = crate::support::parse(&raw);
        assert!(parsed.body_text(0).unwrap().contains(want), "{text}");
        for h in [
            "Precedence: bulk",
            "Auto-Submitted: auto-generated",
            "List-Unsubscribe: <mailto:support@desk.example?subject=unsubscribe%20",
        ] {
            assert!(text.contains(h), "{h}: {text}");
        }
    }

    // The rate limit (60 a minute by default), on the due times: no
    // 60-second window holds more than 60 mails.
    let mut due: Vec<DateTime<Utc>> = all.iter().map(|e| e.next_attempt).collect();
    due.sort();
    for w in due.windows(61) {
        assert!(
            w[60] - w[0] >= chrono::Duration::seconds(60),
            "61 mails due within {} s",
            (w[60] - w[0]).num_milliseconds() as f64 / 1000.0
        );
    }
    // Resuming again sends nothing more.
    desk.ok(&["announce", "--resume", "1"]);
    assert_eq!(announced(&desk).len(), 1000);
}

#[test]
fn the_rate_follows_announce_rate() {
    let desk = Desk::with_extra(
        "[outbox]\nannounce_rate = 30\n\n[[account]]\nid = \"a\"\nname = \"A\"\nprimary = \"a@customer.example\"\n\n[[account]]\nid = \"b\"\nname = \"B\"\nprimary = \"b@customer.example\"\n\n[[account]]\nid = \"c\"\nname = \"C\"\nprimary = \"c@customer.example\"\n",
    );
    let body = bodies(&desk);
    desk.ok(&["announce", "--subject", "S", "--body-file", &body, "--all"]);
    let mut due: Vec<DateTime<Utc>> = announced(&desk).iter().map(|e| e.next_attempt).collect();
    due.sort();
    assert_eq!(due.len(), 3);
    // 30 a minute: one every two seconds.
    for w in due.windows(2) {
        assert_eq!(w[1] - w[0], chrono::Duration::seconds(2), "{due:?}");
    }
}

/// Ann, Bob (his address bounced) and Carl, who unsubscribes with the
/// List-Unsubscribe of the first announcement.
#[test]
fn bounced_and_unsubscribed_addresses_get_nothing_and_a_dry_run_sends_nothing() {
    let mut cfg = String::new();
    for who in ["ann", "bob", "carl"] {
        cfg.push_str(&format!(
            "[[account]]\nid = \"{who}\"\nname = \"{who}\"\nprimary = \"{who}@customer.example\"\n\n"
        ));
    }
    let desk = Desk::with_extra(&cfg);
    let body = bodies(&desk);
    desk.ok(&["account", "list"]);
    let mut store = desk.open_store();
    store
        .write(|tx| {
            tx.mark_failing(
                &Address::parse("bob@customer.example").unwrap(),
                "5.1.1",
                "user unknown",
                None,
                None,
                postdesk::domain::clock::Clock::now(&postdesk::domain::clock::SystemClock),
            )
        })
        .unwrap();
    drop(store);

    let out = desk.ok(&[
        "announce",
        "--subject",
        "One",
        "--body-file",
        &body,
        "--all",
    ]);
    assert!(out.contains("2 mail(s) queued, 1 skipped"), "{out}");
    let first = announced(&desk);
    let to: Vec<&str> = first.iter().map(|e| e.rcpt[0].as_str()).collect();
    assert_eq!(to, ["ann@customer.example", "carl@customer.example"]);

    // Carl's client follows List-Unsubscribe; Ann's address with Carl's
    // token (someone forging it) unsubscribes nobody.
    let store = desk.open_store();
    let raw = store
        .read()
        .sent_mail(&first[1].message_id)
        .unwrap()
        .unwrap()
        .raw;
    let text = String::from_utf8_lossy(&raw).to_string();
    let token = text
        .split("subject=unsubscribe%20")
        .nth(1)
        .unwrap()
        .split('>')
        .next()
        .unwrap()
        .to_string();
    for (from, id) in [("carl", "u1"), ("ann", "u2")] {
        let mail = format!(
            "From: {from}@customer.example\r\nTo: {ADDRESS}\r\nSubject: unsubscribe {token}\r\n\
Message-ID: <{id}@customer.example>\r\nDate: Mon, 16 Nov 2026 10:00:00 +0100\r\n\r\n\r\n"
        );
        ingest(&desk, mail.as_bytes());
    }
    let held = desk.ok(&["quarantine", "list"]);
    assert!(
        held.contains("no more announcements to carl@customer.example"),
        "{held}"
    );
    assert!(!held.contains("announcements to ann@"), "{held}");

    // The dry run lists all three, marks two skipped, queues nothing.
    let before = mails(&desk).len();
    let out = desk.ok(&[
        "announce",
        "--subject",
        "Two",
        "--body-file",
        &body,
        "--all",
        "--dry-run",
    ]);
    assert!(out.contains("3 recipient(s), 1 would be mailed"), "{out}");
    assert_eq!(mails(&desk).len(), before);
    assert_eq!(announced(&desk).len(), 2);

    let out = desk.ok(&[
        "announce",
        "--subject",
        "Two",
        "--body-file",
        &body,
        "--all",
    ]);
    assert!(out.contains("1 mail(s) queued, 2 skipped"), "{out}");
    let second: Vec<String> = announced(&desk)[2..]
        .iter()
        .map(|e| e.rcpt[0].clone())
        .collect();
    assert_eq!(second, ["ann@customer.example"]);
}

/// A recipient whose OpenPGP key the desk knows gets the announcement
/// encrypted to it (PGP/MIME), the unsubscribe link still in the header;
/// the others get it in clear.
#[test]
fn an_announcement_is_encrypted_to_a_recipient_whose_key_is_known() {
    let keys = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mail/openpgp");
    let desk = Desk::with_extra(&format!(
        "[openpgp]\nsecret_key_file = \"{}\"\npassphrase_file = \"{}\"\npublic_keys = [\"{}\"]\n\n\
[[account]]\nid = \"ann\"\nname = \"Ann\"\nprimary = \"ann@customer.example\"\n\n\
[[account]]\nid = \"bob\"\nname = \"Bob\"\nprimary = \"bob@other.example\"\n",
        keys.join("desk.sec.asc").display(),
        keys.join("desk.pass").display(),
        keys.join("ann.pub.asc").display(),
    ));
    let body = bodies(&desk);
    desk.ok(&[
        "announce",
        "--subject",
        "Maintenance",
        "--body-file",
        &body,
        "--all",
    ]);
    let store = desk.open_store();
    let raw_to = |who: &str| {
        let e = announced(&desk)
            .into_iter()
            .find(|e| e.rcpt[0] == who)
            .unwrap();
        let raw = store.read().sent_mail(&e.message_id).unwrap().unwrap().raw;
        String::from_utf8_lossy(&raw).to_string()
    };
    let ann = raw_to("ann@customer.example");
    assert!(ann.contains("multipart/encrypted"), "{ann}");
    assert!(ann.contains("-----BEGIN PGP MESSAGE-----"), "{ann}");
    assert!(ann.contains("List-Unsubscribe: <mailto:"), "{ann}");
    assert!(!ann.contains("Maintenance on Sunday"), "{ann}");
    let bob = raw_to("bob@other.example");
    assert!(bob.contains("Maintenance on Sunday"), "{bob}");
    assert!(!bob.contains("multipart/encrypted"), "{bob}");
}

/// A customer answering an announcement opens an ordinary ticket.
#[test]
fn a_reply_to_an_announcement_opens_a_ticket() {
    let desk = Desk::with_extra(
        "[[account]]\nid = \"ann\"\nname = \"Ann\"\nprimary = \"ann@customer.example\"\n",
    );
    let body = bodies(&desk);
    desk.ok(&[
        "announce",
        "--subject",
        "Maintenance",
        "--body-file",
        &body,
        "--all",
    ]);
    let e = announced(&desk).remove(0);
    let raw = desk
        .open_store()
        .read()
        .sent_mail(&e.message_id)
        .unwrap()
        .unwrap()
        .raw;
    let mail = crate::support::outbox::Mail {
        kind: e.kind.clone(),
        rcpt: e.rcpt.clone(),
        raw,
    };
    let answer = crate::support::outbox::reply_to(
        &mail,
        "ann@customer.example",
        "ann-r1@customer.example",
        "Will my site be down the whole night?",
    );
    ingest(&desk, &answer);
    let tickets = desk.tickets();
    assert_eq!(tickets.len(), 1, "{tickets:?}");
    assert_eq!(tickets[0]["account"], "ann", "{tickets:?}");
}

/// A delivery report for an announcement in the desk's own words (our
/// Message-ID), naming `recipient` as failed for good.
fn dsn(message_id: &str, recipient: &str, n: u32) -> Vec<u8> {
    format!(
        "Return-Path: <>\r\nFrom: MAILER-DAEMON@mx.customer.example (Mail Delivery System)\r\n\
Subject: Undelivered Mail Returned to Sender\r\nTo: {ADDRESS}\r\nAuto-Submitted: auto-replied\r\n\
Message-Id: <dsn-{n}@mx.customer.example>\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n\
--b\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n\
--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.customer.example\r\n\r\n\
Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n\
Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n\
--b\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: {ADDRESS}\r\nTo: {recipient}\r\n\
Subject: Maintenance\r\nMessage-ID: <{message_id}>\r\n\r\n--b--\r\n"
    )
    .into_bytes()
}

/// A bounce of an announcement marks the address failing and the next
/// announcement skips it; a report naming an address the mail was not
/// sent to marks nothing.
#[test]
fn a_bounced_announcement_marks_the_address_failing() {
    let desk = Desk::with_extra(
        "[[account]]\nid = \"ann\"\nname = \"Ann\"\nprimary = \"ann@customer.example\"\n\n\
[[account]]\nid = \"bob\"\nname = \"Bob\"\nprimary = \"bob@customer.example\"\n",
    );
    let body = bodies(&desk);
    desk.ok(&[
        "announce",
        "--subject",
        "One",
        "--body-file",
        &body,
        "--all",
    ]);
    let first = announced(&desk);
    let to_bob = first
        .iter()
        .find(|e| e.rcpt[0] == "bob@customer.example")
        .unwrap();
    // Bob's mail bounces; a report on Bob's mail naming Ann is not believed.
    ingest(&desk, &dsn(&to_bob.message_id, "bob@customer.example", 1));
    ingest(&desk, &dsn(&to_bob.message_id, "ann@customer.example", 2));
    let out = desk.ok(&[
        "announce",
        "--subject",
        "Two",
        "--body-file",
        &body,
        "--all",
    ]);
    assert!(out.contains("1 mail(s) queued, 1 skipped"), "{out}");
    let second: Vec<String> = announced(&desk)[2..]
        .iter()
        .map(|e| e.rcpt[0].clone())
        .collect();
    assert_eq!(second, ["ann@customer.example"]);
}
