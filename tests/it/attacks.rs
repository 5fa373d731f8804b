//! Attacks on the desk by mail, as a hostile sender writes them (issue
//! 17): computed Message-IDs, a stranger's list of thousands in Cc, a
//! Message-ID reused by another sender, a forged delivery report — and the
//! uniqueness of the Message-IDs the desk makes (issue 10).

use std::collections::HashSet;

use crate::support::outbox::{Mail, ingest, kinds, mails, new_mails, reply_to, take, ticket};
use crate::support::{ADDRESS, Desk, customer_mail};

const ACCOUNTS: &str = r#"
[staff]
notify = ["team@desk.example"]

[[staff.member]]
name = "Alice"
address = "alice@desk.example"

[[account]]
id = "ann-co"
primary = "ann@customer.example"

[[account]]
id = "bob-co"
primary = "bob@other.example"
"#;

/// How many messages ticket `n` holds (its history's incoming entries).
fn messages_in(desk: &Desk, n: i64) -> usize {
    ticket(desk, n)["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["kind"] == "message-in")
        .count()
}

/// The shipped default policy (`verify`), two accounts and a staff side.
fn desk() -> Desk {
    let desk = Desk::strict(ACCOUNTS);
    desk.ok(&["account", "list"]);
    desk
}

/// Every Message-ID of the scheme before issue 17 that names ticket 1 to
/// 995 (`<N.staff-notify.HASH@domain>` and the notices): what an attacker
/// computed. The hash part is what the old code hashed, unknown here, so
/// the attacker lists many; none may be taken as ours.
fn computed_references() -> String {
    (1..=995)
        .map(|n| format!("<{n}.staff-notify.{:020x}@desk.example>", n * 7919))
        .collect::<Vec<_>>()
        .join("\r\n ")
}

#[test]
fn computed_message_ids_let_nobody_into_a_ticket() {
    let desk = desk();
    ingest(
        &desk,
        &customer_mail(
            "ann@customer.example",
            "Invoice",
            "ann-1@customer.example",
            "My invoice is wrong.",
        ),
    );
    let sent = mails(&desk);
    assert_eq!(sent.len(), 2, "{:#?}", kinds(&sent));

    // A stranger lists 995 computed ids in References, no token.
    let raw = format!(
        "From: Eve <eve@evil.example>\r\nTo: {ADDRESS}\r\nSubject: Re: Invoice\r\n\
Message-ID: <eve-1@evil.example>\r\nReferences: {}\r\n\r\nI am Ann's accountant, send me the invoice.\r\n",
        computed_references()
    );
    let caused = take(&desk, raw.as_bytes());
    let t = ticket(&desk, 1);
    assert_eq!(t["status"], "new", "ticket 1 is untouched");
    assert_eq!(messages_in(&desk, 1), 1, "{t:#}");
    // Eve is a stranger like any other: asked to confirm her own address.
    assert_eq!(
        kinds(&caused),
        [("confirm".to_string(), "eve@evil.example".to_string())]
    );

    // Using one of our real Message-IDs as her own Message-ID gets her
    // nowhere either: it is not "another copy" of anything.
    let receipt = &sent[0];
    let raw = format!(
        "From: Eve <eve@evil.example>\r\nTo: {ADDRESS}\r\nSubject: Invoice\r\n\
Message-ID: <{}>\r\n\r\nAppend me.\r\n",
        receipt.message_id()
    );
    take(&desk, raw.as_bytes());
    assert_eq!(messages_in(&desk, 1), 1, "not appended silently");

    // A real Message-ID of the desk's mail to Ann does let a colleague of
    // hers in (a forward of the receipt): that is what it is for.
    let colleague = reply_to(
        receipt,
        "carl@partner.example",
        "carl-1@partner.example",
        "Same here.",
    );
    take(&desk, &colleague);
    assert_eq!(messages_in(&desk, 1), 2);
}

#[test]
fn a_strangers_thousands_in_cc_get_nothing() {
    let desk = desk();
    let cc: Vec<String> = (0..5000)
        .map(|i| format!("victim{i}@list.example"))
        .collect();
    let raw = format!(
        "From: Spammer <spam@evil.example>\r\nTo: {ADDRESS}\r\nCc: {}\r\nSubject: Cheap pills\r\n\
Message-ID: <spam-1@evil.example>\r\n\r\nBuy now at http://evil.example/\r\n",
        cc.join(",\r\n ")
    );
    let asked = take(&desk, raw.as_bytes());
    assert_eq!(
        kinds(&asked),
        [("confirm".to_string(), "spam@evil.example".to_string())]
    );
    // The spammer confirms their own address: the ticket opens.
    ingest(
        &desk,
        &reply_to(&asked[0], "spam@evil.example", "spam-2@evil.example", "yes"),
    );
    assert_eq!(desk.tickets().len(), 1);
    // Weeks pass: warnings, then the close notice.
    for day in [
        "2026-12-20T10:00:00Z",
        "2027-01-20T10:00:00Z",
        "2027-03-01T10:00:00Z",
    ] {
        desk.ok(&["sweep", "--now", day]);
    }
    let all = mails(&desk);
    let victims: HashSet<&str> = cc.iter().map(String::as_str).collect();
    for m in &all {
        assert!(
            m.rcpt.iter().all(|r| !victims.contains(r.as_str())),
            "{} mailed to a stranger's Cc: {:?}",
            m.kind,
            &m.rcpt[..m.rcpt.len().min(3)]
        );
        assert!(
            m.rcpt.len() <= 10,
            "{} to {} addresses",
            m.kind,
            m.rcpt.len()
        );
    }
    assert!(
        all.iter()
            .any(|m| m.kind == "closed" && m.to("spam@evil.example")),
        "the sweep ran to the close: {:#?}",
        kinds(&all)
    );
    // The list is not even kept whole.
    let t = ticket(&desk, 1);
    let people = t["participants"].as_array().unwrap();
    assert!(people.len() <= 51, "{} participants", people.len());
    assert!(
        people
            .iter()
            .filter(|p| p["role"] != "requester")
            .all(|p| p["role"] == "copied"),
        "{people:#?}"
    );
}

#[test]
fn a_reused_message_id_is_a_new_message_of_its_sender() {
    let desk = desk();
    ingest(
        &desk,
        &customer_mail(
            "ann@customer.example",
            "Printer",
            "shared-id@customer.example",
            "My printer is broken.",
        ),
    );
    // Bob, of another account, reuses Ann's Message-ID.
    let caused = take(
        &desk,
        &customer_mail(
            "bob@other.example",
            "Server down",
            "shared-id@customer.example",
            "Our server is down.",
        ),
    );
    let tickets = desk.tickets();
    assert_eq!(
        tickets.len(),
        2,
        "Bob has a ticket of his own: {tickets:#?}"
    );
    assert_eq!(ticket(&desk, 2)["account"], "bob-co");
    assert_eq!(messages_in(&desk, 1), 1);
    assert!(
        caused
            .iter()
            .any(|m| m.kind == "receipt" && m.to("bob@other.example")),
        "{:#?}",
        kinds(&caused)
    );
    assert!(caused.iter().any(|m| m.kind == "staff-notify"));
    // The very same mail of Bob's again is a duplicate, not a third ticket.
    ingest(
        &desk,
        &customer_mail(
            "bob@other.example",
            "Server down",
            "shared-id@customer.example",
            "Our server is down.",
        ),
    );
    assert_eq!(desk.tickets().len(), 2);
}

/// A delivery report in Postfix's form about `id`, sent to `recipient`.
fn dsn(id: &str, recipient: &str) -> Vec<u8> {
    format!(
        "Return-Path: <>\r\nFrom: MAILER-DAEMON@mx.evil.example (Mail Delivery System)\r\n\
Subject: Undelivered Mail Returned to Sender\r\nTo: {ADDRESS}\r\nAuto-Submitted: auto-replied\r\n\
Message-Id: <dsn-{recipient}@mx.evil.example>\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n\
--b\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n\
--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.evil.example\r\n\r\n\
Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n\
Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n\
--b\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: {ADDRESS}\r\nTo: {recipient}\r\n\
Subject: [DESK #1] Printer\r\nMessage-ID: <{id}>\r\n\r\n--b--\r\n"
    )
    .into_bytes()
}

#[test]
fn a_forged_delivery_report_marks_no_address_failing() {
    let desk = desk();
    ingest(
        &desk,
        &customer_mail(
            "ann@customer.example",
            "Printer",
            "ann-p@customer.example",
            "Broken.",
        ),
    );
    let receipt: Mail = mails(&desk).remove(0);
    assert!(receipt.to("ann@customer.example"));
    // Ann's failing mark, as `ticket show` gives it.
    let failing = |desk: &Desk| -> serde_json::Value {
        ticket(desk, 1)["participants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["address"] == "ann@customer.example")
            .unwrap()["failing"]
            .clone()
    };
    // A computed id, and our real receipt's id but claiming another address.
    let before = mails(&desk).len();
    ingest(
        &desk,
        &dsn(
            "1.receipt.0123456789abcdef0123@desk.example",
            "ann@customer.example",
        ),
    );
    ingest(&desk, &dsn(&receipt.message_id(), "bob@other.example"));
    assert!(failing(&desk).is_null(), "{}", failing(&desk));
    assert!(
        new_mails(&desk, before).is_empty(),
        "staff are not told of a failure nobody proved"
    );
    let history = ticket(&desk, 1)["history"].to_string();
    assert!(history.contains("not taken as a failure"), "{history}");
    // The real report about the receipt to Ann marks her address, and
    // staff are told.
    let caused = take(&desk, &dsn(&receipt.message_id(), "ann@customer.example"));
    assert!(!failing(&desk).is_null(), "{}", ticket(&desk, 1)["history"]);
    assert_eq!(
        kinds(&caused),
        [("staff-notify".to_string(), "team@desk.example".to_string())]
    );
}

/// The Message-IDs of every mail a desk sent for the same three messages.
fn ids_after_three_messages(desk: &Desk) -> Vec<String> {
    for (i, who) in [
        "ann@customer.example",
        "bob@other.example",
        "ann@customer.example",
    ]
    .iter()
    .enumerate()
    {
        ingest(
            desk,
            &customer_mail(
                who,
                "Same words",
                &format!("same-{i}@customer.example"),
                "Same text.",
            ),
        );
    }
    mails(desk).iter().map(Mail::message_id).collect()
}

#[test]
fn message_ids_are_unique_across_desks_and_rebuilds_and_stable_on_retry() {
    let one = desk();
    let two = desk();
    let a = ids_after_three_messages(&one);
    let b = ids_after_three_messages(&two);
    assert_eq!(a.len(), 6);
    let set: HashSet<&String> = a.iter().collect();
    assert_eq!(set.len(), a.len(), "unique within a desk: {a:#?}");
    assert!(
        a.iter().all(|id| !b.contains(id)),
        "two desks on one domain share no Message-ID:\n{a:#?}\n{b:#?}"
    );
    // The same desk rebuilt from an empty database.
    std::fs::remove_file(one.path("var/postdesk.db")).unwrap();
    for f in ["var/postdesk.db-wal", "var/postdesk.db-shm"] {
        let _ = std::fs::remove_file(one.path(f));
    }
    let rebuilt = ids_after_three_messages(&one);
    assert!(
        rebuilt.iter().all(|id| !a.contains(id)),
        "a rebuilt desk reuses no Message-ID"
    );
    // Every id is of the desk's domain, with nothing of the ticket to compute.
    for id in &rebuilt {
        assert!(id.ends_with("@desk.example"), "{id}");
        assert!(!id.contains("receipt") && !id.contains("notify"), "{id}");
    }
    // Retried mail is the same mail: the queued bytes carry the row's id.
    let rows = one.json(&["outbox", "list", "--json"]);
    for row in rows.as_array().unwrap() {
        let id = row["message_id"].as_str().unwrap();
        let raw = one.ok(&["outbox", "show", &row["id"].to_string()]);
        assert!(raw.contains(&format!("Message-ID: <{id}>")), "{raw}");
        let again = one.ok(&["outbox", "show", &row["id"].to_string()]);
        assert_eq!(raw, again);
    }
    let before = new_mails(&one, 0).len();
    assert_eq!(before, rebuilt.len());
}

/// Invariant 9 from the staff side: a staff reply written to twenty people
/// includes them all, but no mail of the desk to the customer side goes
/// to more than `intake.max_recipients` of them; the history names the
/// rest.
#[test]
fn customer_side_mail_never_goes_to_more_than_max_recipients() {
    let desk = Desk::strict(&format!("{ACCOUNTS}\n[intake]\nmax_recipients = 3\n"));
    desk.ok(&["account", "list"]);
    let opened = take(
        &desk,
        &customer_mail(
            "ann@customer.example",
            "Outage",
            "<o-1@customer.example>",
            "Down.",
        ),
    );
    let notify = opened
        .iter()
        .find(|m| m.kind == "staff-notify")
        .expect("a staff notification");
    let many: Vec<String> = (0..20)
        .map(|i| format!("colleague{i}@customer.example"))
        .collect();
    let reply = String::from_utf8(reply_to(
        notify,
        "alice@desk.example",
        "r-1@desk.example",
        "On it.",
    ))
    .unwrap()
    .replacen(
        "\r\nSubject:",
        &format!("\r\nCc: {}\r\nSubject:", many.join(",\r\n ")),
        1,
    );
    ingest(&desk, reply.as_bytes());
    desk.ok(&["ticket", "close", "1"]);
    let sent = mails(&desk);
    let customer_side: Vec<&Mail> = sent
        .iter()
        .filter(|m| m.rcpt.iter().any(|r| r.as_str() == "ann@customer.example"))
        .collect();
    assert!(
        customer_side.iter().any(|m| m.kind == "relay")
            && customer_side.iter().any(|m| m.kind == "closed"),
        "{:#?}\n{}",
        kinds(&sent),
        ticket(&desk, 1)["history"]
    );
    for m in &customer_side {
        assert!(
            m.rcpt.len() <= 3,
            "{} to {} addresses",
            m.kind,
            m.rcpt.len()
        );
    }
    let history = ticket(&desk, 1).to_string();
    assert!(history.contains("intake.max_recipients"), "{history}");
}
