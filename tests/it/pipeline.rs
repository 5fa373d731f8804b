//! The foundation's promise, end to end through the binary: a customer's
//! message opens one ticket and gets one receipt with the token; a reply made
//! the way a mail client makes it joins that ticket without a second
//! receipt; a second delivery of the same file changes nothing.

use crate::support;
use crate::support::{ADDRESS, Desk, customer_mail, parse};

/// A reply to our receipt as Thunderbird writes it: `Re:` subject, In-Reply-To
/// and References, the new text on top and the quoted receipt below.
fn client_reply(receipt: &[u8], body: &str, message_id: &str) -> Vec<u8> {
    let r = parse(receipt);
    let subject = r.subject().unwrap();
    let their_id = r.message_id().unwrap();
    let refs: Vec<String> = match r.references() {
        mail_parser::HeaderValue::TextList(l) => l.iter().map(|s| format!("<{s}>")).collect(),
        mail_parser::HeaderValue::Text(s) => vec![format!("<{s}>")],
        _ => vec![],
    };
    let quoted: String = r
        .body_text(0)
        .unwrap()
        .lines()
        .map(|l| format!("> {l}\r\n"))
        .collect();
    format!(
        "From: Ann Customer <ann@customer.example>\r\nTo: Test Desk <{ADDRESS}>\r\nSubject: Re: {subject}\r\n\
Date: Mon, 16 Nov 2026 11:00:00 +0100\r\nMessage-ID: <{message_id}>\r\nIn-Reply-To: <{their_id}>\r\n\
References: {} <{their_id}>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8; format=flowed\r\n\
Content-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n\r\nOn 16/11/2026 10:00, Test Desk wrote:\r\n{quoted}",
        refs.join(" ")
    )
    .into_bytes()
}

#[test]
fn message_receipt_reply_and_duplicate() {
    let desk = Desk::new();

    // 1. A new message: one ticket, one receipt with the token.
    let first = customer_mail(
        "ann@customer.example",
        "Printer on fire",
        "first@customer.example",
        "Hello,\r\nmy printer is on fire.\r\nAnn",
    );
    let out = desk.ingest(&first);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tickets = desk.tickets();
    assert_eq!(tickets.len(), 1, "{tickets:#?}");
    let t = &tickets[0];
    assert_eq!(t["number"], 1);
    assert_eq!(t["subject"], "Printer on fire");
    assert_eq!(t["status"], "new");
    for key in ["account", "created", "updated"] {
        assert!(t.get(key).is_some(), "ticket JSON lacks {key}: {t}");
    }

    let sent = desk.sent();
    assert_eq!(sent.len(), 1, "exactly one receipt");
    let receipt = parse(&sent[0]);
    assert_eq!(receipt.subject(), Some("[DESK #1] Printer on fire"));
    assert_eq!(
        receipt.to().unwrap().first().unwrap().address(),
        Some("ann@customer.example")
    );
    assert_eq!(
        receipt.from().unwrap().first().unwrap().address(),
        Some(ADDRESS)
    );
    assert_eq!(
        receipt.in_reply_to().as_text(),
        Some("first@customer.example")
    );
    assert_eq!(
        receipt.header_raw("Auto-Submitted").map(str::trim),
        Some("auto-replied")
    );
    let text = receipt.body_text(0).unwrap();
    assert!(
        text.contains("[DESK #1]") && text.contains("my printer is on fire"),
        "{text}"
    );

    // The receipt was queued with its Message-ID, and is marked sent.
    let outbox = desk.json(&["outbox", "list", "--json"]);
    assert_eq!(outbox.as_array().unwrap().len(), 1);
    assert_eq!(outbox[0]["status"], "sent");
    assert_eq!(outbox[0]["message_id"], receipt.message_id().unwrap());

    // 2. The customer answers the receipt from a mail client.
    let reply = client_reply(
        &sent[0],
        "It is out now, but it smells.",
        "second@customer.example",
    );
    let out = desk.ingest(&reply);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(desk.tickets().len(), 1, "the reply must not open a ticket");
    assert_eq!(desk.sent().len(), 1, "no second receipt");

    let shown = desk.json(&["ticket", "show", "1", "--json"]);
    let history = shown["history"].as_array().unwrap();
    let incoming: Vec<&serde_json::Value> =
        history.iter().filter(|h| h["direction"] == "in").collect();
    assert_eq!(incoming.len(), 2, "{history:#?}");
    assert_eq!(
        incoming[1]["text"], "It is out now, but it smells.",
        "only the new text, not the quote"
    );
    assert!(
        history
            .iter()
            .any(|h| h["direction"] == "out" && h["delivery"] == "sent")
    );

    // 3. The same file again, twice: nothing changes.
    for raw in [&first, &reply] {
        let out = desk.ingest(raw);
        assert!(out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("duplicate"),
            "{out:?}"
        );
    }
    let shown_again = desk.json(&["ticket", "show", "1", "--json"]);
    assert_eq!(shown_again["history"], shown["history"]);
    assert_eq!(desk.sent().len(), 1);
}

#[test]
fn reply_without_token_threads_by_references_and_token_alone_threads_too() {
    let desk = Desk::new();
    desk.ingest(&customer_mail(
        "bob@b.example",
        "VPN down",
        "v1@b.example",
        "Down.",
    ));
    let receipt = desk.sent().remove(0);
    let r = parse(&receipt);

    // A client that rewrote the subject, but kept In-Reply-To.
    let reply = String::from_utf8(client_reply(&receipt, "Still down.", "v2@b.example"))
        .unwrap()
        .replace(r.subject().unwrap(), "VPN");
    desk.ingest(reply.as_bytes());
    // A brand-new mail that only carries the token in its subject.
    desk.ingest(&customer_mail(
        "bob@b.example",
        "AW: [desk#1] more logs",
        "v3@b.example",
        "Logs.",
    ));
    // Another desk's token is not ours.
    desk.ingest(&customer_mail(
        "bob@b.example",
        "Re: [OTHER #1] hello",
        "v4@b.example",
        "Hi.",
    ));

    let tickets = desk.tickets();
    assert_eq!(tickets.len(), 2, "{tickets:#?}");
    let shown = desk.json(&["ticket", "show", "1", "--json"]);
    let texts: Vec<&str> = shown["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["direction"] == "in")
        .map(|h| h["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["Down.", "Still down.", "Logs."]);
    assert_eq!(
        desk.sent().len(),
        2,
        "receipts for the two new tickets only"
    );
}

#[test]
fn automatic_mail_gets_no_answer() {
    let desk = Desk::new();
    desk.ingest(&customer_mail(
        "carl@c.example",
        "Invoice",
        "i1@c.example",
        "Where is it?",
    ));
    assert_eq!(desk.sent().len(), 1);

    // An out-of-office answering our receipt joins the ticket, unanswered.
    let oof = String::from_utf8(customer_mail(
        "carl@c.example",
        "Automatic reply: [DESK #1] Invoice",
        "oof@c.example",
        "I am away until Monday.",
    ))
    .unwrap()
    .replace(
        "MIME-Version",
        "Auto-Submitted: auto-replied\r\nMIME-Version",
    );
    let out = desk.ingest(oof.as_bytes());
    assert!(out.status.success());
    // A newsletter that matches no ticket is held, not ticketed nor answered.
    let news = String::from_utf8(customer_mail(
        "news@list.example",
        "Our offers",
        "n1@list.example",
        "Buy!",
    ))
    .unwrap()
    .replace(
        "MIME-Version",
        "List-Id: <offers.list.example>\r\nPrecedence: bulk\r\nMIME-Version",
    );
    desk.ingest(news.as_bytes());
    // A message claiming to be from our own address, matching nothing.
    desk.ingest(&customer_mail(ADDRESS, "loop?", "own@desk.example", "x"));

    assert_eq!(
        desk.sent().len(),
        1,
        "no mail to automatic senders or ourselves"
    );
    assert_eq!(desk.tickets().len(), 1);
    let held = desk.json(&["quarantine", "list", "--json"]);
    let reasons: Vec<&str> = held
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(reasons[0].contains("automatic"), "{reasons:?}");
    assert!(reasons[1].contains("own address"), "{reasons:?}");

    // The operator releases the newsletter: it opens a ticket, still without a receipt.
    let id = held[0]["id"].as_i64().unwrap().to_string();
    desk.ok(&["quarantine", "release", &id]);
    assert_eq!(desk.tickets().len(), 2);
    assert_eq!(desk.sent().len(), 1);
    assert_eq!(
        desk.json(&["quarantine", "list", "--json"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn receipts_are_rate_limited_per_address() {
    let desk = Desk::with_extra("\n[intake]\nmax_auto_replies_per_day = 3\n");
    for i in 0..5 {
        let m = customer_mail(
            "robot@r.example",
            &format!("Alert {i}"),
            &format!("a{i}@r.example"),
            "disk full",
        );
        assert!(desk.ingest(&m).status.success());
    }
    assert_eq!(
        desk.tickets().len(),
        5,
        "every message still opens its ticket"
    );
    assert_eq!(
        desk.sent().len(),
        3,
        "but only three receipts go out in a day"
    );
    let shown = desk.json(&["ticket", "show", "5", "--json"]);
    let notes: Vec<&str> = shown["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|h| h["detail"].as_str())
        .collect();
    assert!(
        notes.iter().any(|n| n.contains("max_auto_replies_per_day")),
        "{notes:?}"
    );
}

#[test]
fn unreadable_input_exits_65_and_is_kept() {
    let desk = Desk::new();
    let garbage = b"\x00\x01\x02 this is not mail \xff\xfe";
    let out = desk.ingest(garbage);
    assert_eq!(out.status.code(), Some(65), "{out:?}");
    let held = desk.json(&["quarantine", "list", "--json"]);
    assert_eq!(held.as_array().unwrap().len(), 1);
    assert!(
        held[0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("unreadable")
    );
    let id = held[0]["id"].as_i64().unwrap().to_string();
    let shown = desk.run(&["quarantine", "show", &id], b"");
    assert_eq!(shown.stdout, garbage, "kept byte for byte");

    let empty = desk.ingest(b"");
    assert_eq!(empty.status.code(), Some(65));
}

#[test]
fn store_unavailable_exits_75_so_the_mta_retries() {
    let desk = Desk::new();
    // The database path is a directory: SQLite cannot open it.
    std::fs::create_dir_all(desk.path("var/postdesk.db")).unwrap();
    let out = desk.ingest(&customer_mail("d@d.example", "x", "x@d.example", "x"));
    assert_eq!(
        out.status.code(),
        Some(75),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn mbox_and_maildir_imports() {
    let desk = Desk::new();
    let mut mbox = Vec::new();
    for i in 0..3 {
        mbox.extend_from_slice(
            format!("From sender{i}@m.example Mon Nov 16 10:00:0{i} 2026\n").as_bytes(),
        );
        let m = customer_mail(
            &format!("s{i}@m.example"),
            &format!("mbox {i}"),
            &format!("mb{i}@m.example"),
            "From my side: hello",
        );
        mbox.extend_from_slice(&m);
        mbox.push(b'\n');
    }
    let path = desk.path("archive.mbox");
    std::fs::write(&path, &mbox).unwrap();
    let out = desk.ok(&["ingest", "--mbox", path.to_str().unwrap(), "--queue-only"]);
    assert!(out.contains("3 messages"), "{out}");
    // Again: the source ids are known, nothing new.
    desk.ok(&["ingest", "--mbox", path.to_str().unwrap(), "--queue-only"]);
    assert_eq!(desk.tickets().len(), 3);
    assert!(desk.sent().is_empty(), "--queue-only sends nothing");
    let queued = desk.json(&["outbox", "list", "--status", "queued", "--json"]);
    assert_eq!(queued.as_array().unwrap().len(), 3);

    let archive = desk.path("archive");
    for sub in ["tmp", "new", "cur"] {
        std::fs::create_dir_all(archive.join(sub)).unwrap();
    }
    support::drop_into_maildir(
        &archive,
        "1.a",
        &customer_mail("x@x.example", "md 1", "md1@x.example", "one"),
    );
    std::fs::write(
        archive.join("cur/2.b:2,S"),
        customer_mail("x@x.example", "md 2", "md2@x.example", "two"),
    )
    .unwrap();
    desk.ok(&[
        "ingest",
        "--maildir",
        archive.to_str().unwrap(),
        "--queue-only",
    ]);
    assert_eq!(desk.tickets().len(), 5);
    assert_eq!(
        support::files_in(&archive.join("new")).len(),
        1,
        "an import keeps the archive"
    );
    desk.ok(&[
        "ingest",
        "--maildir",
        archive.to_str().unwrap(),
        "--remove",
        "--queue-only",
    ]);
    assert_eq!(desk.tickets().len(), 5);
    assert!(
        support::files_in(&archive.join("new")).is_empty()
            && support::files_in(&archive.join("cur")).is_empty()
    );

    desk.ok(&["outbox", "flush"]);
    assert_eq!(desk.sent().len(), 5);
}

#[test]
fn an_encoded_subject_carries_the_token_too() {
    let desk = Desk::new();
    desk.ingest(&customer_mail(
        "eva@e.example",
        "Résiliation",
        "e1@e.example",
        "Bonjour",
    ));
    // Outlook in French: "RE: [DESK #1] Résiliation", Q-encoded, token split over words.
    let reply = String::from_utf8(customer_mail("eva@e.example", "X", "e2@e.example", "Merci"))
        .unwrap()
        .replace(
            "Subject: X",
            "Subject: =?iso-8859-1?Q?RE=A0:_[DESK_#1]_R=E9siliation?=",
        );
    desk.ingest(reply.as_bytes());
    // Base64 in UTF-8, as Gmail writes it.
    let reply = String::from_utf8(customer_mail(
        "eva@e.example",
        "X",
        "e3@e.example",
        "Encore",
    ))
    .unwrap()
    .replace(
        "Subject: X",
        "Subject: =?UTF-8?B?UmU6IFtERVNLICMxXSBSw6lzaWxpYXRpb24=?=",
    );
    desk.ingest(reply.as_bytes());
    assert_eq!(desk.tickets().len(), 1, "{:#?}", desk.tickets());
    assert_eq!(desk.sent().len(), 1);
}
