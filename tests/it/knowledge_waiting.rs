//! Suggestions off intake's path (issue 15, point 6): with the knowledge
//! base on, `postdesk ingest` only records that a new ticket's staff
//! notification (and, with `suggest_to_customer`, its receipt) waits for
//! its suggestions; the daemon's indexer queues it within seconds, also
//! what waited while no daemon ran (a crash between the two, an MTA pipe),
//! and `outbox flush` does too. Nothing is lost, nothing goes twice, and a
//! later notification of the ticket never overtakes the new-ticket one.

use std::time::{Duration, Instant};

use crate::support::outbox::{Mail, ingest, kinds, mails, new_mails, only};
use crate::support::{Desk, customer_mail, wait_until};

const TEAM: &str = "team@desk.example";
const ANN: &str = "ann@customer.example";

fn kb_desk(extra: &str) -> Desk {
    Desk::with_extra(&format!(
        r#"
[knowledge]
path = "{}/tests/knowledge"
{extra}

[staff]
notify = ["{TEAM}"]

[[staff.member]]
name = "Alice"
address = "alice@desk.example"
"#,
        env!("CARGO_MANIFEST_DIR")
    ))
}

fn password_mail(id: &str) -> Vec<u8> {
    customer_mail(
        ANN,
        "Forgot my mailbox password",
        id,
        "Hello, I forgot the password of my mailbox and cannot read my mail. Thanks, Ann",
    )
}

fn of_kind<'a>(list: &'a [Mail], kind: &str) -> Vec<&'a Mail> {
    list.iter().filter(|m| m.kind == kind).collect()
}

fn lists_the_password_article(m: &Mail) -> bool {
    let text = m.text();
    text.contains("Possibly useful") && text.contains("(#kb mailbox-password)")
}

#[test]
fn ingest_leaves_the_staff_notification_to_the_indexer() {
    let desk = kb_desk("");
    desk.ok(&["kb", "reindex"]);
    ingest(&desk, &password_mail("w1@customer.example"));
    // The receipt goes at once; the notification waits.
    let now = mails(&desk);
    assert_eq!(
        kinds(&now),
        vec![("receipt".to_string(), ANN.to_string())],
        "only the receipt before the indexer"
    );
    // The operator sees what waits (postdesk status), until it goes.
    let waiting = |desk: &Desk| {
        let out = desk.run(&["status", "--json"], b"");
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        json["outbox"]["waiting"].as_i64().unwrap()
    };
    assert_eq!(waiting(&desk), 1);
    desk.ok(&["outbox", "flush"]);
    assert_eq!(waiting(&desk), 0);
    let after = mails(&desk);
    let notify = only(&after, "staff-notify", TEAM);
    assert!(lists_the_password_article(notify), "{}", notify.text());
    // Done once: another flush queues nothing more.
    desk.ok(&["outbox", "flush"]);
    assert_eq!(mails(&desk).len(), after.len());
}

/// A customer's second mail before the indexer ran: the new-ticket
/// notification (with its suggestions) is queued first, then the reply's.
#[test]
fn a_reply_never_overtakes_the_waiting_notification() {
    let desk = kb_desk("");
    desk.ok(&["kb", "reindex"]);
    ingest(&desk, &password_mail("w2@customer.example"));
    ingest(
        &desk,
        &customer_mail(
            ANN,
            "Re: [DESK #1] Forgot my mailbox password",
            "w3@customer.example",
            "I also tried the webmail, no luck.",
        ),
    );
    let list = mails(&desk);
    let staff = of_kind(&list, "staff-notify");
    assert_eq!(staff.len(), 2, "{:#?}", kinds(&list));
    assert!(lists_the_password_article(staff[0]), "{}", staff[0].text());
    assert!(!staff[1].text().contains("Possibly useful"));
    assert!(staff[1].text().contains("no luck"));
    // Nothing is left waiting.
    desk.ok(&["outbox", "flush"]);
    assert_eq!(of_kind(&mails(&desk), "staff-notify").len(), 2);
}

/// What `postdesk ingest` left (an MTA pipe without a daemon, or a crash
/// between intake and the indexer) goes when the daemon starts; a new
/// ticket taken while it runs is told to staff within seconds.
#[test]
fn the_daemon_sends_what_waits_at_start_and_within_seconds() {
    let desk = kb_desk("");
    desk.ok(&["kb", "reindex"]);
    ingest(&desk, &password_mail("w4@customer.example"));
    assert!(of_kind(&mails(&desk), "staff-notify").is_empty());

    let d = desk.start();
    let first = wait_until("the waiting notification", Duration::from_secs(30), || {
        let list = mails(&desk);
        let staff: Vec<Mail> = of_kind(&list, "staff-notify")
            .into_iter()
            .cloned()
            .collect();
        (!staff.is_empty()).then_some(staff)
    });
    assert_eq!(first.len(), 1);
    assert!(lists_the_password_article(&first[0]), "{}", first[0].text());

    let before = mails(&desk).len();
    let start = Instant::now();
    ingest(&desk, &password_mail("w5@customer.example"));
    let notify = wait_until(
        "the new ticket's notification",
        Duration::from_secs(20),
        || {
            let after = new_mails(&desk, before);
            of_kind(&after, "staff-notify")
                .first()
                .map(|m| (*m).clone())
        },
    );
    let took = start.elapsed();
    println!("new-ticket notification queued {took:?} after ingest");
    assert!(lists_the_password_article(&notify), "{}", notify.text());
    // About the indexer's poll (1 s) on an idle machine; generous here.
    assert!(took < Duration::from_secs(10), "took {took:?}");
    d.stop();
    assert_eq!(of_kind(&mails(&desk), "staff-notify").len(), 2, "once each");
}

/// `suggest_to_customer`: the receipt waits too, and goes with the
/// article; the history says it waited.
#[test]
fn the_receipt_with_articles_waits_and_goes_with_them() {
    let desk = kb_desk("suggest_to_customer = true");
    desk.ok(&["kb", "reindex"]);
    ingest(&desk, &password_mail("w6@customer.example"));
    assert!(mails(&desk).is_empty(), "{:#?}", kinds(&mails(&desk)));
    let show = desk.ok(&["ticket", "show", "1"]);
    assert!(
        show.contains("the receipt waits for its suggested articles"),
        "{show}"
    );
    desk.ok(&["outbox", "flush"]);
    let list = mails(&desk);
    assert_eq!(
        kinds(&list),
        vec![
            ("receipt".to_string(), ANN.to_string()),
            ("staff-notify".to_string(), TEAM.to_string())
        ]
    );
    let receipt = only(&list, "receipt", ANN).text();
    assert!(
        receipt.contains("Reset a forgotten mailbox password"),
        "{receipt}"
    );
    assert!(receipt.contains("#solved"), "{receipt}");
    assert!(!receipt.contains("#kb"), "{receipt}");
    assert!(only(&list, "receipt", ANN).subject().contains("[DESK #1]"));
    let show = desk.ok(&["ticket", "show", "1"]);
    assert!(show.contains(&format!("receipt queued to {ANN}")), "{show}");
}

/// Without the knowledge base nothing waits; a silent import (no mail at
/// all) leaves nothing waiting to be sent later either.
#[test]
fn nothing_waits_without_the_knowledge_base_or_in_a_silent_import() {
    let desk = Desk::with_extra(&format!("[staff]\nnotify = [\"{TEAM}\"]\n"));
    ingest(&desk, &password_mail("w7@customer.example"));
    only(&mails(&desk), "staff-notify", TEAM);

    let desk = kb_desk("suggest_to_customer = true");
    desk.ok(&["kb", "reindex"]);
    let out = desk.run(
        &["ingest", "--no-receipts"],
        &password_mail("w8@customer.example"),
    );
    assert!(out.status.success());
    desk.ok(&["outbox", "flush"]);
    assert!(mails(&desk).is_empty(), "{:#?}", kinds(&mails(&desk)));
}
