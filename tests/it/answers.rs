//! One mail per staff action, and the team sees every answer (issue 11,
//! points 1 and 2), compared on the fields that matter: a staff reply that
//! changes the ticket reaches the customer as one mail — the answer, the
//! line of what changed, the history — and a copy of it, marked as an
//! answer, reaches the rest of the staff side; a change without a reply
//! still sends its own notices; later notifications say who answered last.

use crate::support::outbox::{Mail, ingest, kinds, mails, only, reply_to, take, ticket};
use crate::support::{ADDRESS, Desk, customer_mail};
use serde_json::Value;

const TEAM: &str = r#"
[staff]
notify = ["team@desk.example"]

[[staff.member]]
name = "Alice"
address = "alice@desk.example"
aliases = ["a.smith@desk.example"]

[[staff.member]]
name = "Bob"
address = "bob@desk.example"
"#;

const ANN: &str = "ann@customer.example";
const QUESTION: &str = "My invoice of November is wrong.";
const ANSWER: &str = "Hello Ann,\r\nthe corrected invoice is on its way.";

/// A desk with `staff` as its `[staff]` table; Ann has opened ticket #1.
/// Returns the desk and the team's notification of it.
fn opened(staff: &str) -> (Desk, Mail) {
    let desk = Desk::with_extra(staff);
    ingest(
        &desk,
        &customer_mail(ANN, "Wrong invoice", "open-1@customer.example", QUESTION),
    );
    let notify = mails(&desk)
        .into_iter()
        .find(|m| m.kind == "staff-notify")
        .expect("the staff notification");
    (desk, notify)
}

/// The history entries of ticket `n` of `kind`.
fn events(desk: &Desk, n: i64, kind: &str) -> Vec<Value> {
    ticket(desk, n)["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["kind"] == kind)
        .cloned()
        .collect()
}

/// Where `what` starts in `text`, which must hold it.
fn at(text: &str, what: &str) -> usize {
    text.find(what)
        .unwrap_or_else(|| panic!("{what:?} missing:\n{text}"))
}

#[test]
fn a_reply_that_closes_is_one_mail_with_the_answer_the_closed_line_and_the_history() {
    let (desk, notify) = opened(TEAM);
    let after = take(
        &desk,
        &reply_to(
            &notify,
            "Alice Smith <alice@desk.example>",
            "alice-1@desk.example",
            &format!("#close\r\n\r\n{ANSWER}"),
        ),
    );
    // One mail to Ann, one copy to the team; no separate close notice.
    assert_eq!(
        kinds(&after),
        [
            ("relay".into(), ANN.into()),
            ("staff-notify".into(), "team@desk.example".into()),
        ]
    );
    let relay = only(&after, "relay", ANN).text();
    // The answer, then the closed line, then the history.
    let answer = at(&relay, "the corrected invoice is on its way.");
    let closed = at(&relay, "This ticket is now closed; reply by ");
    let history = at(&relay, QUESTION);
    assert!(answer < closed && closed < history, "{relay}");
    assert!(relay.contains("to reopen it."), "{relay}");
    assert!(!relay.contains("#close"), "{relay}");
    // The history does not repeat the answer shown on top.
    assert_eq!(
        relay
            .matches("the corrected invoice is on its way.")
            .count(),
        1,
        "{relay}"
    );
    // A close carries the whole history, as the close notice did.
    assert!(!relay.contains("earlier messages"), "{relay}");

    let t = ticket(&desk, 1);
    assert_eq!(t["status"], "closed");
    // One status change for one command: new → closed, not via waiting.
    let changes = events(&desk, 1, "status-change");
    assert_eq!(changes.len(), 1, "{t:#}");
    assert!(
        changes[0]["detail"]
            .as_str()
            .unwrap()
            .starts_with("new → closed"),
        "{changes:#?}"
    );
    // The relay's history shows that one change.
    assert_eq!(relay.matches("status: new → closed").count(), 1, "{relay}");
}

#[test]
fn a_command_only_close_still_sends_its_notices() {
    let (desk, notify) = opened(TEAM);
    let after = take(
        &desk,
        &reply_to(
            &notify,
            "alice@desk.example",
            "alice-1@desk.example",
            "#close",
        ),
    );
    assert_eq!(
        kinds(&after),
        [
            ("closed".into(), ANN.into()),
            ("closed".into(), "team@desk.example".into()),
        ]
    );
    let closed = only(&after, "closed", ANN).text();
    assert!(closed.contains("is now closed"), "{closed}");
    // The newest message is shown on top, and not again in the history.
    assert_eq!(closed.matches(QUESTION).count(), 1, "{closed}");
    assert_eq!(events(&desk, 1, "status-change").len(), 1);
}

#[test]
fn a_reply_that_changes_type_and_status_says_both_in_one_mail() {
    let (desk, notify) = opened(TEAM);
    let after = take(
        &desk,
        &reply_to(
            &notify,
            "alice@desk.example",
            "alice-1@desk.example",
            &format!("#type billing\r\n#hold\r\n{ANSWER}"),
        ),
    );
    assert_eq!(
        kinds(&after),
        [
            ("relay".into(), ANN.into()),
            ("staff-notify".into(), "team@desk.example".into()),
        ]
    );
    let relay = after[0].text();
    let answer = at(&relay, "the corrected invoice");
    assert!(answer < at(&relay, "This ticket's type is now billing."));
    assert!(answer < at(&relay, "This ticket's status is now on hold."));
    let copy = after[1].text();
    assert!(copy.contains("The ticket's type is now billing."), "{copy}");
    assert!(
        copy.contains("The ticket's status is now on hold."),
        "{copy}"
    );
    let t = ticket(&desk, 1);
    assert_eq!(
        (&t["type"], &t["status"]),
        (&"billing".into(), &"on-hold".into())
    );
    assert_eq!(events(&desk, 1, "status-change").len(), 1, "{t:#}");
}

#[test]
fn a_reply_is_copied_to_the_team_marked_as_an_answer_not_to_its_author() {
    // No notify list: the members get the staff side's mail.
    let members = TEAM.replace("notify = [\"team@desk.example\"]\n", "");
    let (desk, notify) = opened(&members);
    assert_eq!(notify.rcpt, ["alice@desk.example", "bob@desk.example"]);
    // Alice answers from her alias: the copy goes to Bob alone.
    let after = take(
        &desk,
        &reply_to(
            &notify,
            "Alice Smith <a.smith@desk.example>",
            "alice-1@desk.example",
            ANSWER,
        ),
    );
    assert_eq!(
        kinds(&after),
        [
            ("relay".into(), ANN.into()),
            ("staff-notify".into(), "bob@desk.example".into()),
        ]
    );
    let copy = &after[1];
    let text = copy.text();
    assert!(
        text.starts_with("Alice answered the customer on ticket #1:"),
        "{text}"
    );
    assert!(
        text.contains("    the corrected invoice is on its way."),
        "{text}"
    );
    assert!(text.contains(QUESTION), "the history: {text}");
    assert!(
        !text.contains("The ticket's status"),
        "nothing changed: {text}"
    );
    let from = copy.parsed().from().unwrap().first().unwrap().clone();
    assert_eq!(from.name(), Some("Alice via Test Desk"));
    assert_eq!(from.address(), Some(ADDRESS));
    assert!(copy.head().contains("Auto-Submitted: auto-generated"));
    assert_eq!(ticket(&desk, 1)["status"], "waiting-for-customer");
}

#[test]
fn copy_replies_false_sends_no_copy_and_a_change_is_told_to_staff_by_its_notice() {
    let off = TEAM.replace(
        "notify = [\"team@desk.example\"]\n",
        "notify = [\"team@desk.example\"]\ncopy_replies = false\n",
    );
    let (desk, notify) = opened(&off);
    let after = take(
        &desk,
        &reply_to(
            &notify,
            "alice@desk.example",
            "alice-1@desk.example",
            ANSWER,
        ),
    );
    assert_eq!(kinds(&after), [("relay".into(), ANN.into())]);
    // A change with the reply: Ann still gets one mail; staff, who get no
    // copy, get the close notice.
    let after = take(
        &desk,
        &reply_to(
            &notify,
            "alice@desk.example",
            "alice-2@desk.example",
            "#close\r\nAnd it is closed.",
        ),
    );
    assert_eq!(
        kinds(&after),
        [
            ("relay".into(), ANN.into()),
            ("closed".into(), "team@desk.example".into()),
        ]
    );
    assert!(after[0].text().contains("This ticket is now closed"));
}

#[test]
fn the_next_notification_names_who_answered_last_and_when() {
    let (desk, notify) = opened(TEAM);
    assert!(!notify.text().contains("Last answer:"), "{}", notify.text());
    let after = take(
        &desk,
        &reply_to(
            &notify,
            "alice@desk.example",
            "alice-1@desk.example",
            ANSWER,
        ),
    );
    let relay = only(&after, "relay", ANN).clone();
    let after = take(
        &desk,
        &reply_to(
            &relay,
            ANN,
            "ann-2@customer.example",
            "Thank you, received.",
        ),
    );
    let text = only(&after, "staff-notify", "team@desk.example").text();
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("Last answer:"))
        .unwrap_or_else(|| panic!("no last answer line:\n{text}"));
    // Who, and when (a date in the desk's zone).
    assert!(line.contains("Alice, ") && line.contains(" 20"), "{line}");
}

#[test]
fn a_reply_that_closes_a_long_ticket_attaches_the_whole_history() {
    let desk = Desk::with_extra(&format!(
        "{TEAM}\n[outbox]\nclose_history_inline = \"1KB\"\n"
    ));
    let long = format!(
        "{QUESTION}\r\n{}",
        "The totals are off by one cent.\r\n".repeat(60)
    );
    ingest(
        &desk,
        &customer_mail(ANN, "Wrong invoice", "open-1@customer.example", &long),
    );
    let notify = mails(&desk)
        .into_iter()
        .find(|m| m.kind == "staff-notify")
        .unwrap();
    let after = take(
        &desk,
        &reply_to(
            &notify,
            "alice@desk.example",
            "alice-1@desk.example",
            &format!("#close\r\n{ANSWER}"),
        ),
    );
    let relay = only(&after, "relay", ANN);
    let text = relay.text();
    assert!(text.contains("attached file history.txt"), "{text}");
    assert!(!text.contains("earlier messages"), "{text}");
    let file = relay.history_file().expect("history.txt");
    assert!(file.contains(QUESTION), "{file}");
    assert!(file.contains("status: new → closed"), "{file}");
}
