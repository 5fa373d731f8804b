//! Nothing waits unseen (issue 11, point 5) through the binary: a held
//! mail that carried a ticket's token is told on the ticket and to staff;
//! the staff side's digest lists what waits, is sent only to staff, and
//! not at all when there is nothing to tell.

use std::time::Duration;

use crate::support::outbox::{kinds, mails, new_mails, take, ticket};
use crate::support::{Desk, customer_mail};

const DESK: &str = r#"
[staff]
notify = ["team@desk.example"]

[[staff.member]]
name = "Alice"
address = "alice@desk.example"

[calendar]
timezone = "Europe/Paris"

[[account]]
id = "cust-1"
primary = "ann@customer.example"
"#;

fn desk() -> Desk {
    // unknown_sender stays "verify": strangers are held.
    let desk = Desk::strict(DESK);
    desk.ok(&["account", "list"]);
    desk
}

fn history_text(t: &serde_json::Value) -> String {
    t["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["detail"].as_str().unwrap_or_default().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_held_mail_with_a_tickets_token_is_told_on_the_ticket_and_to_staff() {
    let desk = desk();
    take(
        &desk,
        &customer_mail(
            "ann@customer.example",
            "Printer on fire",
            "ann-1@customer.example",
            "My printer is on fire.",
        ),
    );
    // A colleague of Ann's, unknown to the desk, answers with the token.
    let sent = take(
        &desk,
        &customer_mail(
            "bob@elsewhere.example",
            "Re: [DESK #1] Printer on fire",
            "bob-1@elsewhere.example",
            "It is my printer too.",
        ),
    );
    let t = ticket(&desk, 1);
    let history = history_text(&t);
    assert!(
        history.contains("mail from bob@elsewhere.example, who is not on this ticket, held"),
        "{history}"
    );
    assert!(history.contains("code valid until"), "{history}");
    // Bob is asked to confirm; the team is told, once, with who and until when.
    let held: Vec<_> = sent.iter().filter(|m| m.to("team@desk.example")).collect();
    assert_eq!(held.len(), 1, "{:#?}", kinds(&sent));
    let notice = held[0];
    assert!(
        notice.subject().starts_with("[DESK #1] Held:"),
        "{}",
        notice.subject()
    );
    let text = notice.text();
    assert!(
        text.contains("bob@elsewhere.example wrote about ticket #1 but is not on it"),
        "{text}"
    );
    assert!(
        text.contains("The confirmation code is valid until"),
        "{text}"
    );
    assert!(
        sent.iter()
            .any(|m| m.kind == "confirm" && m.to("bob@elsewhere.example"))
    );
    // Nothing of it reaches Ann.
    assert!(!sent.iter().any(|m| m.to("ann@customer.example")));
}

#[test]
fn the_digest_lists_what_waits_and_goes_to_staff_only() {
    let desk = desk();
    // Nothing at all yet: no digest.
    take(
        &desk,
        &customer_mail(
            "ann@customer.example",
            "Printer on fire",
            "ann-1@customer.example",
            "My printer is on fire.",
        ),
    );
    desk.ok(&["ticket", "set-status", "1", "waiting-for-customer"]);
    let before = mails(&desk).len();
    let out = desk.ok(&["digest"]);
    assert!(out.contains("nothing to tell"), "{out}");
    assert_eq!(mails(&desk).len(), before, "an empty digest is never sent");

    // A second ticket waits for staff, and a stranger's mail is held.
    take(
        &desk,
        &customer_mail(
            "ann@customer.example",
            "Invoice wrong",
            "ann-2@customer.example",
            "The November invoice is wrong.",
        ),
    );
    take(
        &desk,
        &customer_mail(
            "eve@stranger.example",
            "Hello",
            "eve-1@stranger.example",
            "Buy my product.",
        ),
    );
    let dry = desk.ok(&["digest", "--dry-run"]);
    assert!(dry.contains("[DESK #2]"), "{dry}");
    let before = mails(&desk).len();
    desk.ok(&["digest"]);
    let sent = new_mails(&desk, before);
    assert_eq!(
        kinds(&sent),
        [("digest".into(), "team@desk.example".into())]
    );
    let digest = &sent[0];
    // Staff only (invariant 7): no customer-side address, whoever the
    // tickets' people are.
    assert_eq!(digest.rcpt, ["team@desk.example"]);
    assert!(
        !digest.head().contains("customer.example"),
        "{}",
        digest.head()
    );
    let text = digest.text();
    for want in [
        "[DESK #2] Invoice wrong — new",
        "eve@stranger.example",
        "Hello",
        "Mail held or quarantined in the last day",
    ] {
        assert!(text.contains(want), "{want:?} missing:\n{text}");
    }
    // The ticket waiting for the customer is not listed as waiting for staff.
    assert!(!text.contains("[DESK #1]"), "{text}");
    assert!(
        digest.subject().starts_with("Digest: Test Desk"),
        "{}",
        digest.subject()
    );
    assert!(digest.head().contains("Auto-Submitted: auto-generated"));
}

/// Long after every code sent today has expired (7 days by default).
const LATER: &str = "2030-01-07T09:00:00Z";

/// Held mail whose code expired unused is told exactly once: the hold on
/// ticket #1 (it carried the token) by the sweep, as a line in the
/// ticket's history and one staff notice; the stranger's new mail in one
/// digest. Each command is a process of its own, so what a second sweep or
/// digest remembers is in the database, as after a daemon restart.
#[test]
fn an_expired_hold_is_told_once_on_its_ticket_and_once_in_a_digest() {
    let desk = desk();
    take(
        &desk,
        &customer_mail(
            "ann@customer.example",
            "Printer on fire",
            "ann-1@customer.example",
            "My printer is on fire.",
        ),
    );
    take(
        &desk,
        &customer_mail(
            "bob@elsewhere.example",
            "Re: [DESK #1] Printer on fire",
            "bob-1@elsewhere.example",
            "It is my printer too.",
        ),
    );
    take(
        &desk,
        &customer_mail(
            "eve@stranger.example",
            "Cheap toner",
            "eve-1@stranger.example",
            "Buy my toner.",
        ),
    );
    let told = |desk: &Desk| -> usize {
        history_text(&ticket(desk, 1))
            .matches("was not confirmed: its code expired")
            .count()
    };
    let notices = |sent: &[crate::support::outbox::Mail]| -> Vec<String> {
        sent.iter()
            .filter(|m| m.to("team@desk.example") && m.subject().contains("Not confirmed:"))
            .map(|m| m.text())
            .collect()
    };
    // Before the codes expire a sweep tells nothing.
    let before = mails(&desk).len();
    desk.ok(&["sweep"]);
    assert!(notices(&new_mails(&desk, before)).is_empty());
    assert_eq!(told(&desk), 0);

    // Expired: one history line and one notice to the team, about Bob only.
    let before = mails(&desk).len();
    desk.ok(&["sweep", "--now", LATER]);
    let sent = new_mails(&desk, before);
    let texts = notices(&sent);
    assert_eq!(texts.len(), 1, "{:#?}", kinds(&sent));
    assert!(
        texts[0].contains("bob@elsewhere.example wrote about ticket #1 but never confirmed"),
        "{}",
        texts[0]
    );
    assert!(!texts[0].contains("eve@"), "{}", texts[0]);
    assert!(
        !sent
            .iter()
            .any(|m| m.to("ann@customer.example") && m.text().contains("bob@"))
    );
    assert_eq!(told(&desk), 1);

    // Swept again, then later still: nothing more.
    for now in [LATER, "2030-02-01T09:00:00Z"] {
        let before = mails(&desk).len();
        desk.ok(&["sweep", "--now", now]);
        assert!(notices(&new_mails(&desk, before)).is_empty(), "{now}");
    }
    assert_eq!(told(&desk), 1);

    // The stranger's expired hold: in a dry run as often as asked, then
    // in the first digest only.
    let heading = "whose code expired unused";
    for _ in 0..2 {
        let dry = desk.ok(&["digest", "--dry-run", "--now", LATER]);
        assert!(dry.contains("eve@stranger.example"), "{dry}");
    }
    let before = mails(&desk).len();
    desk.ok(&["digest", "--now", LATER]);
    let sent = new_mails(&desk, before);
    let digest: Vec<_> = sent.iter().filter(|m| m.kind == "digest").collect();
    assert_eq!(digest.len(), 1, "{:#?}", kinds(&sent));
    let text = digest[0].text();
    assert!(text.contains(heading), "{text}");
    let listed = text.split(heading).nth(1).unwrap();
    assert!(listed.contains("eve@stranger.example"), "{text}");
    assert!(
        !listed.contains("bob@elsewhere.example"),
        "told on its ticket already: {text}"
    );
    for now in ["2030-01-07T10:00:00Z", "2030-01-08T09:00:00Z"] {
        let before = mails(&desk).len();
        desk.ok(&["digest", "--now", now]);
        for m in new_mails(&desk, before) {
            assert!(!m.text().contains(heading), "told twice:\n{}", m.text());
        }
    }
}

/// The daemon schedules the digest on weekday mornings when the config
/// says nothing, and not at all with `digest = ""` (what every test desk
/// says unless it wants one, see `support::without_digest`).
#[test]
fn the_daemon_schedules_the_digest_by_default_and_not_when_empty() {
    let desk = desk();
    let text = std::fs::read_to_string(&desk.config).unwrap();
    assert!(text.contains("digest = \"\""), "{text}");
    let daemon = desk.start();
    daemon.wait_log(&["inactivity sweeps scheduled"], Duration::from_secs(20));
    assert_eq!(daemon.log_count(&["staff digest scheduled"]), 0);
    let (status, _, log) = daemon.stop();
    assert!(status.success(), "{log}");

    std::fs::write(&desk.config, text.replace("digest = \"\"\n", "")).unwrap();
    let daemon = desk.start_logging("default.log");
    let line = daemon.wait_log(&["staff digest scheduled"], Duration::from_secs(20));
    assert!(line.contains("0 0 8 * * Mon-Fri"), "{line}");
    let (status, _, log) = daemon.stop();
    assert!(status.success(), "{log}");
}

/// `[schedule] digest` is a cron line, weekday mornings by default and
/// empty for none; a line that is no cron expression is refused with the
/// key's name.
#[test]
fn the_digest_schedule_is_checked() {
    let ok = Desk::with_extra("[schedule]\ndigest = \"0 0 8 * * Mon-Fri\"\n");
    assert!(
        ok.run(&["check-config", "--no-secrets"], b"")
            .status
            .success()
    );
    let bad = Desk::with_extra("[schedule]\ndigest = \"every morning\"\n");
    let out = bad.run(&["check-config", "--no-secrets"], b"");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("schedule.digest"), "{err}");
}

/// An out-of-office on a ticket is one line in its history and one line in
/// the next staff notification ("away until …"), never a mail of its own,
/// and no sign of life that moves the ticket.
#[test]
fn an_out_of_office_is_told_once_in_the_next_notification() {
    let desk = desk();
    take(
        &desk,
        &customer_mail(
            "ann@customer.example",
            "Printer on fire",
            "ann-1@customer.example",
            "My printer is on fire.",
        ),
    );
    let before = ticket(&desk, 1);
    let oof = String::from_utf8(customer_mail(
        "ann@customer.example",
        "Automatic reply: [DESK #1] Printer on fire",
        "oof-1@customer.example",
        "I am out of the office until 14 December and will answer then.",
    ))
    .unwrap()
    .replace(
        "MIME-Version",
        "Auto-Submitted: auto-replied\r\nMIME-Version",
    );
    let sent = take(&desk, oof.as_bytes());
    assert!(sent.is_empty(), "a mail of its own: {:#?}", kinds(&sent));
    let after = ticket(&desk, 1);
    assert_eq!(after["status"], before["status"]);
    assert_eq!(after["waiting_since"], before["waiting_since"]);
    let lines = history_text(&after);
    assert_eq!(lines.matches("auto-reply").count(), 1, "{lines}");

    let sent = take(
        &desk,
        &customer_mail(
            "ann@customer.example",
            "Re: [DESK #1] Printer on fire",
            "ann-2@customer.example",
            "Still burning, my colleague will answer.",
        ),
    );
    let team: Vec<_> = sent.iter().filter(|m| m.to("team@desk.example")).collect();
    assert_eq!(team.len(), 1, "{:#?}", kinds(&sent));
    let text = team[0].text();
    assert!(text.contains("automatic reply (out of office)"), "{text}");
    assert!(text.contains("away until 14 December"), "{text}");
    // Told once: the next notification says nothing of it.
    let sent = take(
        &desk,
        &customer_mail(
            "ann@customer.example",
            "Re: [DESK #1] Printer on fire",
            "ann-3@customer.example",
            "Hello?",
        ),
    );
    let text = sent
        .iter()
        .find(|m| m.to("team@desk.example"))
        .unwrap()
        .text();
    assert!(!text.contains("out of office"), "{text}");
}

/// A mailbox failing in silence is seen (issues 11 and 18): the digest
/// names each source failing since its last good round, with since when,
/// how often and the last error — never the source's password.
#[test]
fn the_digest_names_a_failing_source_and_never_its_password() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let desk = Desk::with_extra(&format!(
        r#"
[staff]
notify = ["team@desk.example"]

[[source]]
name = "dead-pop"
kind = "pop3"
host = "127.0.0.1"
port = {port}
tls = "none"
user = "support"
password_file = "pw"
"#
    ));
    std::fs::write(desk.path("pw"), "s3cr3t-pw\n").unwrap();
    let d = desk.start();
    d.wait_log(
        &["source=dead-pop", "mail server unavailable"],
        std::time::Duration::from_secs(10),
    );
    drop(d);
    let before = mails(&desk).len();
    desk.ok(&["digest"]);
    let sent = new_mails(&desk, before);
    assert_eq!(
        kinds(&sent),
        [("digest".into(), "team@desk.example".into())]
    );
    let text = sent[0].text();
    for want in [
        "Mail sources failing since their last successful round",
        "  dead-pop  ",
        "Connection refused",
    ] {
        assert!(text.contains(want), "{want:?} missing:\n{text}");
    }
    // The maildir source that works is not named.
    assert!(!text.contains("  inbox  "), "{text}");
    assert!(!text.contains("s3cr3t-pw"), "{text}");
    assert!(!sent[0].head().contains("s3cr3t-pw"));
}

/// The staff help texts (the notification's footer and the error reply)
/// name every command the staff parser knows, in every language: the
/// commands are read from the parser's own match, so a new one that the
/// help forgets fails here.
#[test]
fn the_staff_help_texts_name_every_staff_command() {
    let root = env!("CARGO_MANIFEST_DIR");
    let parser = std::fs::read_to_string(format!("{root}/src/apply/staff_commands.rs")).unwrap();
    let commands: Vec<&str> = parser
        .lines()
        .filter_map(|l| l.strip_prefix("        \""))
        .filter_map(|l| l.split_once("\" =>").map(|(w, _)| w))
        .collect();
    assert!(commands.len() >= 17, "{commands:?}");
    for lang in ["en", "fr", "it"] {
        for name in ["staff-notify", "staff-error"] {
            let text = std::fs::read_to_string(format!("{root}/conf/templates/{lang}/{name}.txt"))
                .unwrap();
            let words: Vec<&str> = text
                .split(|c: char| c.is_whitespace() || c == ',' || c == '.' || c == '(')
                .collect();
            for c in &commands {
                assert!(
                    words.contains(&format!("#{c}").as_str()),
                    "#{c} missing from {lang}/{name}.txt"
                );
            }
        }
    }
}

/// With `[[queue]]`s (issue 14, point 6) each queue's team gets one digest
/// of its own queue's tickets, in the queue's name and language; held
/// mail, which has no queue yet, goes once to the desk's staff addresses.
#[test]
fn with_queues_each_team_gets_its_queues_tickets_and_staff_the_rest() {
    let desk = Desk::strict(
        r#"
[staff]
notify = ["team@desk.example"]

[[staff.member]]
name = "Bea"
address = "bea@desk.example"

[[queue]]
name = "support"
address = "support@desk.example"
notify = ["helpers@desk.example"]

[[queue]]
name = "billing"
address = "billing@desk.example"
ticket_prefix = "BILL"
members = ["Bea"]
default_language = "fr"

[[account]]
id = "cust-1"
primary = "ann@customer.example"
"#,
    );
    let mail = |id: &str, from: &str, to: &str, subject: &str| {
        format!(
            "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\n\
Date: Mon, 16 Nov 2026 10:00:00 +0100\r\nMessage-ID: <{id}@customer.example>\r\n\
MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello.\r\n"
        )
        .into_bytes()
    };
    take(
        &desk,
        &mail(
            "a1",
            "ann@customer.example",
            "support@desk.example",
            "Printer on fire",
        ),
    );
    take(
        &desk,
        &mail(
            "a2",
            "ann@customer.example",
            "billing@desk.example",
            "Invoice wrong",
        ),
    );
    take(
        &desk,
        &mail(
            "e1",
            "eve@stranger.example",
            "billing@desk.example",
            "Buy my product",
        ),
    );
    let before = mails(&desk).len();
    desk.ok(&["digest"]);
    let sent = new_mails(&desk, before);
    let mut got = kinds(&sent);
    got.sort();
    assert_eq!(
        got,
        [
            ("digest".into(), "bea@desk.example".into()),
            ("digest".into(), "helpers@desk.example".into()),
            ("digest".into(), "team@desk.example".into()),
        ]
    );
    let to = |who: &str| sent.iter().find(|m| m.to(who)).unwrap().text();
    let (support, billing, staff) = (
        to("helpers@desk.example"),
        to("bea@desk.example"),
        to("team@desk.example"),
    );
    assert!(support.contains("Printer on fire"), "{support}");
    assert!(!support.contains("Invoice wrong"), "{support}");
    assert!(!support.contains("eve@stranger.example"), "{support}");
    assert!(billing.contains("[BILL #2] Invoice wrong"), "{billing}");
    assert!(billing.contains("résumé quotidien"), "{billing}");
    assert!(!billing.contains("Printer on fire"), "{billing}");
    assert!(!billing.contains("eve@stranger.example"), "{billing}");
    assert!(staff.contains("eve@stranger.example"), "{staff}");
    assert!(!staff.contains("Printer on fire"), "{staff}");
    assert!(!staff.contains("Invoice wrong"), "{staff}");
}
