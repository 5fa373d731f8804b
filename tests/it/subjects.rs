//! Subjects say what a mail is (issue 11, point 6): a lifecycle notice
//! names its kind after the token, in the recipient's language; staff mail
//! about a priority ticket carries `[priority]` and `Importance: high`; a
//! new ticket's subject never carries another ticket's token.

use chrono::Duration;
use postdesk::domain::clock::{Clock, SystemClock};

use crate::support::outbox::{Mail, ingest, mails, new_mails, only, reply_to};
use crate::support::{Desk, customer_mail};

const DESK: &str = r#"
[staff]
notify = ["team@desk.example"]

[[staff.member]]
name = "Alice"
address = "alice@desk.example"

[[account]]
id = "en"
primary = "ann@en.example"

[[account]]
id = "fr"
primary = "anne@fr.example"
language = "fr"

[[account]]
id = "it"
primary = "anna@it.example"
language = "it"
"#;

/// Ann, Anne and Anna open tickets #1, #2 and #3.
fn three_tickets() -> Desk {
    let desk = Desk::with_extra(DESK);
    desk.ok(&["account", "list"]);
    for (i, who) in ["ann@en.example", "anne@fr.example", "anna@it.example"]
        .iter()
        .enumerate()
    {
        ingest(
            &desk,
            &customer_mail(who, "Printer", &format!("p{i}@example"), "On fire."),
        );
    }
    desk
}

fn subject_to<'a>(list: &'a [Mail], kind: &str, to: &str) -> (String, &'a Mail) {
    let m = only(list, kind, to);
    (m.subject(), m)
}

#[test]
fn a_reminder_and_a_close_name_their_kind_in_each_language() {
    let desk = three_tickets();
    let before = mails(&desk).len();
    // Staff silent for 3 days: the first warning of the staff rule.
    let at = (SystemClock.now() + Duration::days(3)).to_rfc3339();
    desk.ok(&["sweep", "--now", &at]);
    let warned = new_mails(&desk, before);
    for (n, to, want) in [
        (1, "ann@en.example", "Reminder: Printer"),
        (2, "anne@fr.example", "Rappel : Printer"),
        (3, "anna@it.example", "Promemoria: Printer"),
    ] {
        let (subject, _) = subject_to(&warned, "warning", to);
        assert_eq!(subject, format!("[DESK #{n}] {want}"));
    }
    let before = mails(&desk).len();
    for n in ["1", "2", "3"] {
        desk.ok(&["ticket", "close", n]);
    }
    let closed = new_mails(&desk, before);
    for (n, to, want) in [
        (1, "ann@en.example", "Closed: Printer"),
        (2, "anne@fr.example", "Fermé : Printer"),
        (3, "anna@it.example", "Chiuso: Printer"),
    ] {
        let (subject, _) = subject_to(&closed, "closed", to);
        assert_eq!(subject, format!("[DESK #{n}] {want}"));
    }
    // The staff side's, in the desk's language.
    let team: Vec<String> = closed
        .iter()
        .filter(|m| m.to("team@desk.example"))
        .map(Mail::subject)
        .collect();
    assert_eq!(team.len(), 3, "{team:?}");
    assert!(
        team.iter().all(|s| s.ends_with("] Closed: Printer")),
        "{team:?}"
    );
}

#[test]
fn staff_mail_about_a_priority_ticket_says_so_and_customer_mail_does_not() {
    let desk = three_tickets();
    let notify = mails(&desk)
        .into_iter()
        .find(|m| m.kind == "staff-notify" && m.subject().starts_with("[DESK #1]"))
        .unwrap();
    assert!(!notify.head().contains("Importance"), "{}", notify.head());
    let before = mails(&desk).len();
    ingest(
        &desk,
        &reply_to(
            &notify,
            "alice@desk.example",
            "a1@desk.example",
            "#priority high\r\nWe are on it.",
        ),
    );
    let after = new_mails(&desk, before);
    let (relay, _) = subject_to(&after, "relay", "ann@en.example");
    assert_eq!(relay, "Re: [DESK #1] Printer");
    let (copy, mail) = subject_to(&after, "staff-notify", "team@desk.example");
    assert_eq!(copy, "[DESK #1] [priority] Answered: Printer");
    assert!(mail.head().contains("Importance: high"), "{}", mail.head());

    let before = mails(&desk).len();
    desk.ok(&["ticket", "close", "1"]);
    let closed = new_mails(&desk, before);
    let (to_ann, mail) = subject_to(&closed, "closed", "ann@en.example");
    assert_eq!(to_ann, "[DESK #1] Closed: Printer");
    assert!(!mail.head().contains("Importance"), "{}", mail.head());
    let (to_team, mail) = subject_to(&closed, "closed", "team@desk.example");
    assert_eq!(to_team, "[DESK #1] [priority] Closed: Printer");
    assert!(mail.head().contains("Importance: high"), "{}", mail.head());
}

#[test]
fn a_new_ticket_never_carries_another_tickets_token() {
    let desk = Desk::with_extra(&format!("{DESK}\n[intake]\nreopen_window = 0\n"));
    desk.ok(&["account", "list"]);
    ingest(
        &desk,
        &customer_mail("ann@en.example", "Printer", "p1@en.example", "On fire."),
    );
    desk.ok(&["ticket", "close", "1"]);
    let before = mails(&desk).len();
    // Closed for good: her answer opens ticket #2.
    ingest(
        &desk,
        &customer_mail(
            "ann@en.example",
            "Re: [DESK #1] Printer",
            "p2@en.example",
            "Still on fire.",
        ),
    );
    let after = new_mails(&desk, before);
    let (receipt, _) = subject_to(&after, "receipt", "ann@en.example");
    assert_eq!(receipt, "[DESK #2] Printer");
    let (notify, _) = subject_to(&after, "staff-notify", "team@desk.example");
    assert_eq!(notify, "[DESK #2] Printer");
    assert_eq!(desk.tickets().len(), 2);
    // The next notification of ticket #2 names its kind.
    let receipt = only(&after, "receipt", "ann@en.example").clone();
    let before = mails(&desk).len();
    ingest(
        &desk,
        &reply_to(&receipt, "ann@en.example", "p3@en.example", "Any news?"),
    );
    let after = new_mails(&desk, before);
    let (notify, _) = subject_to(&after, "staff-notify", "team@desk.example");
    assert_eq!(notify, "[DESK #2] Reply: Printer");
}
