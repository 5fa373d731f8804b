//! Several support addresses, one desk (issue 14): a new message is routed
//! to the queue it was sent to (envelope, then To, then Cc), a mail to two
//! queues opens one ticket, a follow-up stays in its ticket's queue
//! whatever address it went to, `#queue` and `ticket set-queue` move a
//! ticket and its mail then leaves from the new address, and each queue
//! has its own team, language and inactivity rules.

use crate::support::Desk;
use crate::support::outbox::{Mail, ingest, mails, new_mails, reply_to};
use serde_json::Value;

const QUEUES: &str = r#"
[staff]
notify = ["team@desk.example"]

[[staff.member]]
name = "Alice"
address = "alice@desk.example"

[[staff.member]]
name = "Bea"
address = "bea@desk.example"

[[queue]]
name = "support"
address = "support@desk.example"

[[queue]]
name = "billing"
address = "billing@desk.example"
aliases = ["invoices@desk.example"]
display_name = "Desk Billing"
ticket_prefix = "BILL"
members = ["Bea"]
default_language = "fr"

[[queue.inactivity]]
waiting_for = "staff"
warn_after = ["3 hours"]
close_after = "3 days"
"#;

fn desk() -> Desk {
    Desk::with_extra(QUEUES)
}

/// A customer's new message with the given header lines.
fn mail(id: &str, top: &str, to: &str, cc: &str, subject: &str) -> Vec<u8> {
    let cc = if cc.is_empty() {
        String::new()
    } else {
        format!("Cc: {cc}\r\n")
    };
    format!(
        "{top}From: Ann <ann@customer.example>\r\nTo: {to}\r\n{cc}Subject: {subject}\r\n\
Date: Mon, 16 Nov 2026 10:00:00 +0100\r\nMessage-ID: <{id}@customer.example>\r\n\
MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello, my invoice is wrong.\r\n"
    )
    .into_bytes()
}

fn show(desk: &Desk, n: i64) -> Value {
    desk.json(&["ticket", "show", &n.to_string(), "--json"])
}

fn from_address(m: &Mail) -> String {
    let p = m.parsed();
    p.from()
        .unwrap()
        .first()
        .unwrap()
        .address()
        .unwrap()
        .to_string()
}

#[test]
fn routed_by_envelope_then_to_then_cc() {
    let desk = desk();
    let cases = [
        // (Delivered-To, To, Cc, queue)
        ("", "support@desk.example", "", "support"),
        ("", "billing@desk.example", "", "billing"),
        ("", "Invoices <INVOICES@desk.example>", "", "billing"),
        (
            "Delivered-To: billing@desk.example\r\n",
            "support@desk.example",
            "",
            "billing",
        ),
        (
            "X-Original-To: billing@desk.example\r\n",
            "someone@else.example",
            "",
            "billing",
        ),
        (
            "",
            "someone@else.example",
            "billing@desk.example",
            "billing",
        ),
        ("", "someone@else.example", "", "support"),
    ];
    for (i, (envelope, to, cc, want)) in cases.iter().enumerate() {
        ingest(
            &desk,
            &mail(&format!("r{i}"), envelope, to, cc, &format!("case {i}")),
        );
        let n = i as i64 + 1;
        let t = show(&desk, n);
        assert_eq!(
            t["queue"], *want,
            "case {i}: {envelope:?} to {to:?} cc {cc:?}"
        );
        let listed = desk.json(&["ticket", "list", "--queue", want, "--json"]);
        assert!(
            listed.as_array().unwrap().iter().any(|t| t["number"] == n),
            "ticket list --queue {want} has #{n}"
        );
    }
    let billing = desk.json(&["ticket", "list", "--queue", "billing", "--json"]);
    assert_eq!(billing.as_array().unwrap().len(), 5);
    // The receipt of a billing ticket leaves from billing, with its name and token.
    let receipts: Vec<Mail> = mails(&desk)
        .into_iter()
        .filter(|m| m.kind == "receipt")
        .collect();
    assert_eq!(from_address(&receipts[0]), "support@desk.example");
    assert_eq!(from_address(&receipts[1]), "billing@desk.example");
    let name = receipts[1]
        .parsed()
        .from()
        .unwrap()
        .first()
        .unwrap()
        .name()
        .map(str::to_string);
    assert_eq!(name.as_deref(), Some("Desk Billing"));
    assert!(
        receipts[1].subject().contains("[BILL #2]"),
        "{}",
        receipts[1].subject()
    );
    // The MTA's pipe names the queue: it wins over To.
    let out = desk.run(
        &["ingest", "--queue", "billing"],
        &mail("piped", "", "support@desk.example", "", "Piped"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(show(&desk, 8)["queue"], "billing");
    let out = desk.run(
        &["ingest", "--queue", "sales"],
        &mail("x", "", "a@b.example", "", "x"),
    );
    assert_eq!(out.status.code(), Some(64));
    // An unknown queue is an error, not an empty list.
    let out = desk.run(&["ticket", "list", "--queue", "sales"], b"");
    assert_eq!(out.status.code(), Some(64));
}

#[test]
fn one_ticket_for_a_mail_to_two_queues_and_the_other_queue_is_no_participant() {
    let desk = desk();
    ingest(
        &desk,
        &mail(
            "two",
            "",
            "billing@desk.example, support@desk.example",
            "invoices@desk.example",
            "Both",
        ),
    );
    let tickets = desk.tickets();
    assert_eq!(tickets.len(), 1, "one ticket");
    let t = show(&desk, 1);
    // The first queue by the config's order.
    assert_eq!(t["queue"], "support");
    let history = t["history"].to_string();
    assert!(history.contains("also sent to queue billing"), "{history}");
    let people: Vec<String> = t["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["address"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        people,
        ["ann@customer.example"],
        "no queue address is a participant"
    );
    // Nothing went to a queue address.
    for m in mails(&desk) {
        for r in &m.rcpt {
            assert!(
                !r.ends_with("@desk.example") || r == "team@desk.example",
                "{} to {r}",
                m.kind
            );
        }
    }
}

#[test]
fn a_follow_up_to_another_queues_address_joins_its_ticket() {
    let desk = desk();
    ingest(
        &desk,
        &mail("open", "", "billing@desk.example", "", "Invoice"),
    );
    let receipt = mails(&desk)
        .into_iter()
        .find(|m| m.kind == "receipt")
        .unwrap();
    assert!(receipt.subject().contains("[BILL #1]"));
    // The customer answers, but to support@ (and with the billing token).
    let answer = format!(
        "From: Ann <ann@customer.example>\r\nTo: support@desk.example\r\nSubject: Re: {}\r\n\
Date: Mon, 16 Nov 2026 11:00:00 +0100\r\nMessage-ID: <answer@customer.example>\r\n\
In-Reply-To: <{}>\r\n\r\nHere is more.\r\n",
        receipt.subject(),
        receipt.message_id()
    );
    ingest(&desk, answer.as_bytes());
    assert_eq!(desk.tickets().len(), 1);
    assert_eq!(show(&desk, 1)["queue"], "billing");
    // Only the token, sent to the support address.
    let token_only = mail(
        "token",
        "",
        "support@desk.example",
        "",
        "Re: [BILL #1] Invoice",
    );
    ingest(&desk, &token_only);
    assert_eq!(desk.tickets().len(), 1);
    assert_eq!(show(&desk, 1)["queue"], "billing");
}

#[test]
fn queue_moves_the_ticket_and_mail_then_leaves_from_the_new_address() {
    let desk = desk();
    ingest(
        &desk,
        &mail("m1", "", "support@desk.example", "", "Wrong invoice"),
    );
    let sent = mails(&desk);
    let notify = sent.iter().find(|m| m.kind == "staff-notify").unwrap();
    // support's team is the desk's [staff] notify.
    assert_eq!(notify.rcpt, ["team@desk.example"]);
    let command = reply_to(
        notify,
        "Alice <alice@desk.example>",
        "alice-1@desk.example",
        "#queue billing\r\n",
    );
    ingest(&desk, &command);
    assert_eq!(show(&desk, 1)["queue"], "billing");
    let after = new_mails(&desk, sent.len());
    let to_ann: Vec<&Mail> = after
        .iter()
        .filter(|m| m.to("ann@customer.example"))
        .collect();
    assert_eq!(
        to_ann.len(),
        1,
        "the customer is told once: {:?}",
        after.iter().map(|m| &m.kind).collect::<Vec<_>>()
    );
    assert_eq!(from_address(to_ann[0]), "billing@desk.example");
    // In billing's language (French).
    let text = to_ann[0].text();
    assert!(
        text.contains("Bonjour") || text.contains("ticket"),
        "{text}"
    );
    // billing's team (Bea) is told.
    assert!(
        after.iter().any(|m| m.to("bea@desk.example")),
        "the new team is told"
    );

    // Later mail about the ticket leaves from billing@.
    let skip = mails(&desk).len();
    desk.ok(&["ticket", "set-status", "1", "on-hold"]);
    let later = new_mails(&desk, skip);
    assert!(!later.is_empty());
    for m in &later {
        assert_eq!(from_address(m), "billing@desk.example", "{}", m.kind);
    }

    // And back with the command line.
    let skip = mails(&desk).len();
    let out = desk.ok(&["ticket", "set-queue", "1", "support"]);
    assert!(out.contains("queue billing → support"), "{out}");
    assert_eq!(show(&desk, 1)["queue"], "support");
    let moved = new_mails(&desk, skip);
    let to_ann: Vec<&Mail> = moved
        .iter()
        .filter(|m| m.to("ann@customer.example"))
        .collect();
    assert_eq!(to_ann.len(), 1);
    assert_eq!(from_address(to_ann[0]), "support@desk.example");
    assert!(moved.iter().any(|m| m.to("team@desk.example")));
    // One number for the desk: the ticket kept it.
    assert_eq!(desk.tickets().len(), 1);
    let refused = desk.run(&["ticket", "set-queue", "1", "sales"], b"");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("billing"));
}

#[test]
fn a_queues_own_inactivity_rule_and_language() {
    let desk = desk();
    ingest(
        &desk,
        &mail("s", "", "support@desk.example", "", "Support question"),
    );
    ingest(
        &desk,
        &mail("b", "", "billing@desk.example", "", "Billing question"),
    );
    let receipts: Vec<Mail> = mails(&desk)
        .into_iter()
        .filter(|m| m.kind == "receipt")
        .collect();
    assert!(
        receipts[0].text().contains("Hello Ann"),
        "{}",
        receipts[0].text()
    );
    assert!(
        receipts[1].text().contains("Bonjour"),
        "{}",
        receipts[1].text()
    );
    // billing warns its staff after 3 hours; support's desk-wide rule waits 2 days.
    let opened = show(&desk, 2)["created"].as_str().unwrap().to_string();
    let opened = chrono::DateTime::parse_from_rfc3339(&opened).unwrap();
    let at = (opened + chrono::Duration::hours(4)).to_rfc3339();
    let skip = mails(&desk).len();
    desk.ok(&["sweep", "--now", &at]);
    let warned = new_mails(&desk, skip);
    assert!(!warned.is_empty(), "billing's own rule warned");
    for m in &warned {
        assert!(
            m.subject().contains("[BILL #2]"),
            "{} {}",
            m.kind,
            m.subject()
        );
        assert_eq!(from_address(m), "billing@desk.example");
    }
    assert!(warned.iter().any(|m| m.to("bea@desk.example")));
}

#[test]
fn a_desk_without_queues_has_one_named_default() {
    let desk = Desk::new();
    ingest(
        &desk,
        &crate::support::customer_mail("ann@customer.example", "Hi", "d1@customer.example", "x"),
    );
    assert_eq!(show(&desk, 1)["queue"], "default");
    let text = desk.ok(&["ticket", "show", "1"]);
    assert!(!text.contains("Queue:"), "{text}");
}

#[test]
fn a_prefix_the_desk_used_before_still_threads() {
    let desk = desk();
    ingest(
        &desk,
        &mail("p1", "", "billing@desk.example", "", "Invoice"),
    );
    // The operator renames billing's prefix; mail already out carries BILL.
    let text = std::fs::read_to_string(&desk.config).unwrap();
    std::fs::write(
        &desk.config,
        text.replace("ticket_prefix = \"BILL\"", "ticket_prefix = \"INV\""),
    )
    .unwrap();
    let reply = mail(
        "p2",
        "",
        "support@desk.example",
        "",
        "Re: [BILL #1] Invoice",
    );
    ingest(&desk, &reply);
    assert_eq!(desk.tickets().len(), 1, "the old prefix found the ticket");
    // New mail about it carries the new prefix.
    let skip = mails(&desk).len();
    desk.ok(&["ticket", "set-status", "1", "on-hold"]);
    let later = new_mails(&desk, skip);
    assert!(
        later.iter().all(|m| m.subject().contains("[INV #1]")),
        "{:?}",
        later.iter().map(Mail::subject).collect::<Vec<_>>()
    );
}

#[test]
fn a_sources_queue_routes_what_it_holds() {
    let desk = desk();
    // The desk's Maildir holds billing's mail only (one mailbox per address).
    let text = std::fs::read_to_string(&desk.config).unwrap();
    let text = text.replacen(
        "poll = \"100ms\"",
        "poll = \"100ms\"\nqueue = \"billing\"",
        1,
    );
    std::fs::write(&desk.config, text).unwrap();
    let daemon = desk.start();
    let raw = mail(
        "src1",
        "",
        "support@desk.example",
        "",
        "From the billing box",
    );
    crate::support::drop_into_maildir(&desk.path("var/inbox"), "1.src", &raw);
    let n = desk.wait_ticket("src1@customer.example", std::time::Duration::from_secs(20));
    daemon.stop();
    assert_eq!(show(&desk, n.0)["queue"], "billing");
}

#[test]
fn mail_from_or_marked_by_any_queue_is_a_loop() {
    let desk = desk();
    // Our loop marker with another queue's address: a mail of ours came back.
    ingest(
        &desk,
        &mail(
            "loop1",
            "X-Postdesk-Loop: billing@desk.example\r\n",
            "support@desk.example",
            "",
            "Re: x",
        ),
    );
    // Mail from a queue's alias.
    let raw = String::from_utf8(mail("loop2", "", "support@desk.example", "", "x"))
        .unwrap()
        .replace(
            "From: Ann <ann@customer.example>",
            "From: <invoices@desk.example>",
        );
    ingest(&desk, raw.as_bytes());
    assert!(desk.tickets().is_empty(), "no ticket from our own mail");
    let held = desk.json(&["quarantine", "list", "--json"]);
    let kinds: Vec<&str> = held
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["loop", "loop"], "{held}");
}
