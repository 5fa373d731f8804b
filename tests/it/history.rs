//! Long threads through the binary (issue 17, finding 7): mail about a
//! ticket carries the newest `outbox.history_in_mail` entries of its
//! history and says how many earlier ones it leaves out; the close notice
//! attaches the whole history (history.txt) when it is longer than
//! `outbox.close_history_inline`; staff notes stay on the staff side; and a
//! 1 MB Subject or a message of megabytes comes back shortened, with a mark,
//! never with a broken character.

use crate::support;
use crate::support::outbox::{Mail, only, take};
use crate::support::{ADDRESS, Desk};

const DESK: &str = r#"
[outbox]
history_in_mail = 3
close_history_inline = "1KB"

[staff]
notify = ["team@desk.example"]

[[staff.member]]
name = "Alice"
address = "alice@desk.example"
"#;

fn desk_with(extra: &str) -> Desk {
    Desk::with_extra(extra)
}

/// Ann's message `body` with the subject `subject`.
fn from_ann(subject: &str, id: &str, body: &str) -> Vec<u8> {
    support::customer_mail("ann@customer.example", subject, id, body)
}

/// A staff member's answer to `to` (threaded under it), with `body`.
fn staff_reply(to: &Mail, id: &str, body: &str) -> Vec<u8> {
    let parsed = to.parsed();
    let their = parsed.message_id().unwrap();
    format!(
        "From: Alice <alice@desk.example>\r\nTo: {ADDRESS}\r\nSubject: Re: {}\r\n\
Date: Mon, 16 Nov 2026 11:00:00 +0100\r\nMessage-ID: <{id}>\r\nIn-Reply-To: <{their}>\r\n\
References: <{their}>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n",
        parsed.subject().unwrap_or_default()
    )
    .into_bytes()
}

/// Some 150 bytes that say which message they are.
fn words(what: &str) -> String {
    format!(
        "{what}: the nightly backup failed again with the same error; the log is attached as before and nothing else changed."
    )
}

#[test]
fn a_long_thread_mails_its_newest_entries_and_the_close_notice_attaches_the_rest() {
    let desk = desk_with(DESK);
    take(
        &desk,
        &from_ann("Backups", "open@c.example", &words("Message 0")),
    );
    // Follow-ups 1-6. The staff side's history then holds message 0,
    // follow-up 1, the change new → in-progress it caused, and 2-6.
    let mut after = Vec::new();
    for k in 1..=6 {
        let subject = "Re: [DESK #1] Backups";
        let id = format!("f{k}@c.example");
        after = take(
            &desk,
            &from_ann(subject, &id, &words(&format!("Follow-up {k}"))),
        );
    }
    let notify = only(&after, "staff-notify", "team@desk.example");
    let text = notify.text();
    let (top, history) = text.split_once("History:").unwrap();
    assert!(top.contains("Follow-up 6"), "the newest on top: {text}");
    // Under it, the three entries before it; the four older ones counted.
    for k in 3..=5 {
        assert!(history.contains(&format!("Follow-up {k}:")), "{history}");
    }
    for gone in ["Message 0", "Follow-up 1:", "Follow-up 2:", "Follow-up 6"] {
        assert!(!history.contains(gone), "{gone} in {history}");
    }
    assert!(
        history.contains("[4 earlier messages and changes in `postdesk ticket show 1`]"),
        "{history}"
    );

    // A staff note, then Alice's answer: the relay carries the customer
    // side's newest entries, never the note, and no command for staff.
    let noted = take(
        &desk,
        &staff_reply(notify, "n1@desk.example", "#note\r\nThe disk is full."),
    );
    let noted = only(&noted, "staff-notify", "team@desk.example");
    assert!(noted.text().contains("The disk is full."));
    let relayed = take(
        &desk,
        &staff_reply(notify, "r1@desk.example", "We replaced the disk."),
    );
    let relay = only(&relayed, "relay", "ann@customer.example").text();
    let (top, history) = relay.split_once("History:").unwrap();
    assert!(top.starts_with("We replaced the disk."), "{relay}");
    assert!(history.contains("Follow-up 6:") && !history.contains("Follow-up 3:"));
    assert!(
        !relay.contains("The disk is full."),
        "the note leaked: {relay}"
    );
    // Customer side: 8 entries and the reply on top: 5 left out.
    assert!(
        history.contains("[5 earlier messages and changes are not repeated here;"),
        "{history}"
    );
    assert!(!relay.contains("postdesk ticket show"), "{relay}");

    // Alice closes it. Longer than 1 KB, the whole history goes as
    // history.txt, each side's own; inline, the newest three.
    let closed = take(&desk, &staff_reply(notify, "c1@desk.example", "#close"));
    let to_ann = only(&closed, "closed", "ann@customer.example");
    let to_team = only(&closed, "closed", "team@desk.example");
    let file = to_ann.history_file().expect("history.txt for Ann");
    for k in 1..=6 {
        assert!(file.contains(&format!("Follow-up {k}:")), "{file}");
    }
    assert!(file.contains("Message 0") && file.contains("We replaced the disk."));
    assert!(
        !file.contains("The disk is full."),
        "the note leaked: {file}"
    );
    let team_file = to_team.history_file().expect("history.txt for the team");
    assert!(team_file.contains("The disk is full."), "{team_file}");
    let text = to_ann.text();
    assert!(text.contains("attached file history.txt"), "{text}");
    assert!(
        !text.contains("Message 0") && text.contains("status: waiting for the customer → closed")
    );
}

#[test]
fn a_short_history_stays_inline_in_the_close_notice() {
    let desk = desk_with(&DESK.replace("\"1KB\"", "\"64KB\""));
    let opened = take(
        &desk,
        &from_ann("Printer", "p1@c.example", "It is on fire."),
    );
    let notify = only(&opened, "staff-notify", "team@desk.example");
    let closed = take(&desk, &staff_reply(notify, "c1@desk.example", "#close"));
    let to_ann = only(&closed, "closed", "ann@customer.example");
    assert!(to_ann.history_file().is_none(), "nothing attached");
    let text = to_ann.text();
    assert!(text.contains("The whole history of the ticket:"), "{text}");
    assert!(text.contains("It is on fire.") && !text.contains("earlier messages"));
}

#[test]
fn a_huge_subject_and_message_come_back_shortened_with_a_mark() {
    let desk = desk_with(DESK);
    // A 1 MB Subject (its 200th byte inside a "ü"), and 1.9 MB of text in
    // three-byte characters.
    let subject = format!("a{}", "ü".repeat(1 << 19));
    let body = "日本語のテキスト\r\n".repeat(80_000);
    let sent = take(&desk, &from_ann(&subject, "huge@c.example", &body));
    let receipt = only(&sent, "receipt", "ann@customer.example");
    let notify = only(&sent, "staff-notify", "team@desk.example");
    for mail in [receipt, notify] {
        assert!(
            mail.raw.len() < 100_000,
            "{}: {} bytes",
            mail.kind,
            mail.raw.len()
        );
        let parsed = mail.parsed();
        let got = parsed.subject().unwrap();
        assert!(
            got.starts_with("[DESK #1] aüü") && got.ends_with("ü [… shortened, 1 MB in all]"),
            "{}: {got}",
            mail.kind
        );
        let text = mail.text();
        let (quote, rest) = text
            .split_once("[… shortened, 1.9 MB in all]")
            .unwrap_or_else(|| panic!("{}: no mark in {text}", mail.kind));
        // Cut at a character: the last kept line is a start of the line.
        let last = quote.trim_end().lines().last().unwrap().trim();
        assert!(
            !last.is_empty() && "日本語のテキスト".starts_with(last),
            "{last:?}"
        );
        assert!(!text.contains('\u{FFFD}') && !rest.contains("テキスト"));
    }
    // Kept whole in the database all the same.
    let shown = desk.json(&["ticket", "show", "1", "--json"]);
    assert_eq!(shown["subject"].as_str().unwrap(), subject);
}
