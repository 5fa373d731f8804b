//! Who may write, end to end through the binary: strangers and the verify
//! flow, ISP accounts writing for their children, self-service by mail,
//! genuine senders by the MTA's Authentication-Results, the screen's
//! blocked/spam/oversize/priority rules, and the follow-up rule.

use crate::support::{ADDRESS, Desk, customer_mail, mail_with, parse};

fn subject(raw: &[u8]) -> String {
    parse(raw).subject().unwrap_or_default().to_string()
}

fn to(raw: &[u8]) -> Vec<String> {
    let m = parse(raw);
    let mut out: Vec<String> = m
        .to()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.address().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    if let Some(cc) = m.cc() {
        out.extend(cc.iter().filter_map(|x| x.address().map(String::from)));
    }
    out
}

fn body(raw: &[u8]) -> String {
    parse(raw).body_text(0).unwrap_or_default().to_string()
}

fn quarantine(desk: &Desk) -> Vec<serde_json::Value> {
    desk.json(&["quarantine", "list", "--json"])
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn kinds(desk: &Desk) -> Vec<String> {
    quarantine(desk)
        .iter()
        .map(|q| q["kind"].as_str().unwrap().to_string())
        .collect()
}

/// The reply a mail client makes to `raw`: `Re:` subject, In-Reply-To, From `from`.
fn reply_to(raw: &[u8], from: &str, id: &str, text: &str) -> Vec<u8> {
    let m = parse(raw);
    let their = m.message_id().unwrap();
    let header = format!("In-Reply-To: <{their}>");
    let refs = format!("References: <{their}>");
    mail_with(
        from,
        &format!("Re: {}", m.subject().unwrap()),
        id,
        text,
        &[],
        &[&header, &refs],
    )
}

fn ingest_ok(desk: &Desk, raw: &[u8]) -> String {
    let out = desk.ingest(raw);
    assert!(
        out.status.success(),
        "ingest failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn history_texts(desk: &Desk, n: i64) -> Vec<String> {
    desk.json(&["ticket", "show", &n.to_string(), "--json"])["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["detail"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn verify_flow_held_code_ticket_and_wrong_codes_do_nothing() {
    let desk = Desk::strict("");
    let first = customer_mail(
        "new@stranger.example",
        "Printer on fire",
        "s1@stranger.example",
        "Please help.",
    );
    assert!(ingest_ok(&desk, &first).contains("held"));
    assert!(
        desk.tickets().is_empty(),
        "no ticket before the confirmation"
    );
    assert_eq!(kinds(&desk), ["unconfirmed"]);

    // One confirmation request, automatic, with the code in the subject.
    let sent = desk.sent();
    assert_eq!(sent.len(), 1);
    let confirm = &sent[0];
    let s = subject(confirm);
    assert!(
        s.starts_with("[DESK confirm ") && s.ends_with("] Printer on fire"),
        "{s}"
    );
    let code = s["[DESK confirm ".len()..s.find(']').unwrap()].to_string();
    assert_eq!(code.len(), 14, "XXXX-XXXX-XXXX: {code}");
    assert_eq!(to(confirm), ["new@stranger.example"]);
    assert_eq!(
        parse(confirm).header_raw("Auto-Submitted").map(str::trim),
        Some("auto-replied")
    );
    assert!(body(confirm).contains(&code) && body(confirm).contains("Please help."));

    // The same mail again (a re-delivery): no second code.
    assert!(ingest_ok(&desk, &first).contains("held"));
    assert_eq!(desk.sent().len(), 1);

    // A wrong code, the right code from another address: nothing happens, nothing is said.
    let wrong = mail_with(
        "new@stranger.example",
        "Re: [DESK confirm 0000-0000-0000] Printer on fire",
        "s2@stranger.example",
        "yes",
        &[],
        &[],
    );
    ingest_ok(&desk, &wrong);
    let other = mail_with(
        "thief@else.example",
        &format!("Re: [DESK confirm {code}] Printer on fire"),
        "s3@else.example",
        "yes",
        &[],
        &[],
    );
    ingest_ok(&desk, &other);
    assert!(desk.tickets().is_empty());
    assert_eq!(desk.sent().len(), 1, "a wrong code is not answered");
    assert_eq!(
        kinds(&desk),
        ["unconfirmed", "bad-confirmation", "bad-confirmation"]
    );

    // A second message of the same stranger waits too (its own code).
    let second = customer_mail(
        "new@stranger.example",
        "Also the scanner",
        "s4@stranger.example",
        "And the scanner.",
    );
    ingest_ok(&desk, &second);
    assert_eq!(desk.sent().len(), 2);

    // The reply to the first request releases both messages, into unverified tickets.
    let yes = reply_to(
        confirm,
        "New@Stranger.example",
        "s5@stranger.example",
        "It was me.",
    );
    assert!(ingest_ok(&desk, &yes).contains("confirmed"));
    let tickets = desk.tickets();
    assert_eq!(tickets.len(), 2, "{tickets:#?}");
    for t in &tickets {
        assert_eq!(t["unverified"], true, "{t}");
        assert_eq!(t["account"], serde_json::Value::Null);
    }
    let first_ticket = tickets
        .iter()
        .find(|t| t["subject"] == "Printer on fire")
        .unwrap()["number"]
        .as_i64()
        .unwrap();
    let shown = desk.json(&["ticket", "show", &first_ticket.to_string(), "--json"]);
    let texts: Vec<&str> = shown["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["direction"] == "in")
        .map(|h| h["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["Please help.", "It was me."]);
    assert!(
        history_texts(&desk, first_ticket)
            .iter()
            .any(|d| d.contains("unverified sender")),
    );
    // Receipts now went out: 2 confirmations + 2 receipts.
    let subjects: Vec<String> = desk.sent().iter().map(|m| subject(m)).collect();
    assert_eq!(
        subjects.iter().filter(|s| s.contains("[DESK #")).count(),
        2,
        "{subjects:?}"
    );
    // Only the bad confirmations are still held.
    assert_eq!(kinds(&desk), ["bad-confirmation", "bad-confirmation"]);

    // The code is used up: replaying the reply releases nothing more.
    let again = reply_to(
        confirm,
        "new@stranger.example",
        "s6@stranger.example",
        "Me again.",
    );
    ingest_ok(&desk, &again);
    assert_eq!(desk.tickets().len(), 2);
    assert_eq!(kinds(&desk).len(), 3);
}

#[test]
fn policies_accept_and_reject() {
    let desk = Desk::strict("[intake]\nunknown_sender = \"reject\"\n");
    for i in 0..3 {
        ingest_ok(
            &desk,
            &customer_mail(
                "x@nowhere.example",
                &format!("Q{i}"),
                &format!("r{i}@n.example"),
                "?",
            ),
        );
    }
    assert!(desk.tickets().is_empty());
    assert_eq!(kinds(&desk), ["rejected", "rejected", "rejected"]);
    let sent = desk.sent();
    assert_eq!(sent.len(), 1, "told once a day, however often they write");
    assert!(
        body(&sent[0]).contains("add x@nowhere.example"),
        "{}",
        body(&sent[0])
    );
    // Held, not lost: the operator may take one in, as an unverified ticket.
    let id = quarantine(&desk)[0]["id"].as_i64().unwrap().to_string();
    desk.ok(&["quarantine", "release", &id]);
    let t = desk.tickets();
    assert_eq!(
        (t.len(), &t[0]["unverified"]),
        (1, &serde_json::Value::Bool(true))
    );

    let desk = Desk::strict("[intake]\nunknown_sender = \"accept\"\n");
    ingest_ok(
        &desk,
        &customer_mail("x@nowhere.example", "Q", "a1@n.example", "?"),
    );
    let t = desk.tickets();
    assert_eq!(t[0]["unverified"], true);
    assert!(
        subject(&desk.sent()[0]).starts_with("[DESK #1]"),
        "a receipt"
    );
}

const ISP_CONFIG: &str = r#"
[[account]]
id = "isp-01"
name = "ISP One"
primary = "noc@isp.example"
authorized = ["isp.example"]

[[account]]
id = "cust-1"
primary = "admin@cust1.example"
parent = "isp-01"
language = "fr"
delegates = ["tech@partner.example"]

[[account]]
id = "cust-2"
primary = "admin@cust2.example"
"#;

#[test]
fn isp_opens_a_ticket_for_its_child_and_is_refused_for_another() {
    let desk = Desk::strict(ISP_CONFIG);
    let raw = mail_with(
        "tech@isp.example",
        "Mailbox full",
        "i1@isp.example",
        "Account: cust-1\r\n\r\nThe customer's mailbox is full.",
        &[],
        &[],
    );
    assert!(ingest_ok(&desk, &raw).contains("new ticket"));
    let t = &desk.tickets()[0];
    assert_eq!(t["account"], "cust-1");
    assert_eq!(t["requester"], "tech@isp.example");
    // Mail goes to the ISP sender and the child's delegates, in the child's language.
    let receipt = &desk.sent()[0];
    assert_eq!(to(receipt), ["tech@isp.example", "tech@partner.example"]);
    assert!(body(receipt).contains("Bonjour"), "{}", body(receipt));
    let shown = desk.json(&["ticket", "show", "1", "--json"]);
    let roles: Vec<(&str, &str)> = shown["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["address"].as_str().unwrap(), p["role"].as_str().unwrap()))
        .collect();
    assert!(
        roles.contains(&("tech@partner.example", "delegate")),
        "{roles:?}"
    );
    assert!(
        history_texts(&desk, 1)
            .iter()
            .any(|d| d.contains("child account cust-1"))
    );

    // The same in the subject.
    ingest_ok(
        &desk,
        &customer_mail(
            "noc@isp.example",
            "[account cust-1] DNS",
            "i2@isp.example",
            "x",
        ),
    );
    assert_eq!(desk.tickets().len(), 2);

    // Not a child of the ISP: refused with a clear answer, and kept.
    let raw = mail_with(
        "tech@isp.example",
        "Other customer",
        "i3@isp.example",
        "Account: cust-2\r\nHi",
        &[],
        &[],
    );
    assert!(ingest_ok(&desk, &raw).contains("held"));
    assert_eq!(desk.tickets().len(), 2);
    assert_eq!(kinds(&desk), ["refused"]);
    let answer = desk.sent().pop().unwrap();
    assert_eq!(to(&answer), ["tech@isp.example"]);
    assert!(body(&answer).contains("\"cust-2\""), "{}", body(&answer));
    // Without naming a child, the ISP writes for its own account.
    ingest_ok(
        &desk,
        &customer_mail("tech@isp.example", "Our own", "i4@isp.example", "x"),
    );
    let own = desk
        .tickets()
        .into_iter()
        .find(|t| t["subject"] == "Our own")
        .unwrap();
    assert_eq!(own["account"], "isp-01");
}

/// A dmarc=pass stamped by our MTA (authserv-id mx.desk.example), on top.
const PASS: &str = "Authentication-Results: mx.desk.example; dkim=pass header.d=acme.example; dmarc=pass header.from=acme.example";
const RECEIVED: &str = "Received: from out.acme.example by mx.desk.example with ESMTPS; Mon, 16 Nov 2026 10:00:01 +0100";

const SELF_SERVICE_CONFIG: &str = r#"
[intake]
authserv_id = "mx.desk.example"
unknown_sender = "accept"

[[account]]
id = "acme"
primary = "boss@acme.example"
authorized = ["acme.example"]
"#;

fn self_service(from: &str, id: &str, body: &str, top: &[&str]) -> Vec<u8> {
    mail_with(from, "authorized senders", id, body, top, &[])
}

fn authorized(desk: &Desk) -> Vec<String> {
    desk.json(&["account", "show", "acme", "--json"])["authorized"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn self_service_by_mail_from_the_genuine_primary_only() {
    let desk = Desk::strict(SELF_SERVICE_CONFIG);
    let request = "Hello,\r\nadd ops@partner.example, *.acme-eu.example\r\nremove acme.example\r\nlist\r\n-- \r\nThe boss";
    let out = ingest_ok(
        &desk,
        &self_service(
            "boss@acme.example",
            "ss1@acme.example",
            request,
            &[PASS, RECEIVED],
        ),
    );
    assert!(out.contains("self-service"), "{out}");
    assert!(desk.tickets().is_empty(), "a request, not a ticket");
    assert_eq!(
        authorized(&desk),
        ["ops@partner.example", "acme.example", "*.acme-eu.example"],
        "the config's entry stays"
    );
    let answer = desk.sent().pop().unwrap();
    assert_eq!(subject(&answer), "Re: authorized senders");
    let text = body(&answer);
    for line in [
        "? Hello,",
        "+ add ops@partner.example",
        "+ add *.acme-eu.example",
        "! remove acme.example",
        "= list",
        "    ops@partner.example",
    ] {
        assert!(text.contains(line), "{line:?} missing in:\n{text}");
    }
    // The new sender may now open tickets for the account.
    ingest_ok(
        &desk,
        &customer_mail("ops@partner.example", "Hi", "p1@partner.example", "x"),
    );
    assert_eq!(desk.tickets()[0]["account"], "acme");
    // Remove it again, by mail.
    ingest_ok(
        &desk,
        &self_service(
            "boss@acme.example",
            "ss2@acme.example",
            "remove ops@partner.example",
            &[PASS, RECEIVED],
        ),
    );
    assert_eq!(authorized(&desk), ["acme.example", "*.acme-eu.example"]);
    assert!(body(&desk.sent().pop().unwrap()).contains("- remove ops@partner.example"));
    let before_refusals = desk.sent().len();

    // Authorized, but not the primary address: refused, told, kept.
    ingest_ok(
        &desk,
        &self_service(
            "ops@acme.example",
            "ss3@acme.example",
            "add evil.example",
            &[PASS, RECEIVED],
        ),
    );
    assert_eq!(authorized(&desk), ["acme.example", "*.acme-eu.example"]);
    let refusal = desk.sent().pop().unwrap();
    assert_eq!(to(&refusal), ["ops@acme.example"]);
    assert!(
        body(&refusal).contains("primary address"),
        "{}",
        body(&refusal)
    );
    assert_eq!(desk.sent().len(), before_refusals + 1);

    // A forged primary: no stamp, another MTA's stamp, or a pass forged
    // below our fail. Held; the real primary address is asked, and the
    // forger hears nothing.
    let other = "Authentication-Results: mx.evil.example; dmarc=pass header.from=acme.example";
    let fail = "Authentication-Results: mx.desk.example; dmarc=fail header.from=acme.example";
    for (i, top) in [
        vec![RECEIVED],
        vec![other, RECEIVED],
        vec![fail, RECEIVED, PASS],
    ]
    .into_iter()
    .enumerate()
    {
        let raw = self_service(
            "boss@acme.example",
            &format!("forged{i}@evil.example"),
            "add evil.example",
            &top,
        );
        assert!(ingest_ok(&desk, &raw).contains("held"));
    }
    assert_eq!(authorized(&desk), ["acme.example", "*.acme-eu.example"]);
    let sent = desk.sent();
    assert_eq!(sent.len(), before_refusals + 4, "three questions");
    for question in &sent[before_refusals + 1..] {
        assert_eq!(to(question), ["boss@acme.example"]);
        assert!(
            body(question).contains("could not verify came from you"),
            "{}",
            body(question)
        );
    }
    assert_eq!(
        kinds(&desk),
        ["refused", "unproven", "unproven", "unproven"]
    );
    // The real boss, writing from a mail system that stamps nothing, says
    // yes to their own request: applied.
    ingest_ok(
        &desk,
        &self_service(
            "boss@acme.example",
            "ss4@acme.example",
            "add partner2.example",
            &[RECEIVED],
        ),
    );
    let question = desk.sent().pop().unwrap();
    assert_eq!(to(&question), ["boss@acme.example"]);
    ingest_ok(
        &desk,
        &reply_to(&question, "boss@acme.example", "yes@acme.example", "yes"),
    );
    assert_eq!(
        authorized(&desk),
        ["acme.example", "partner2.example", "*.acme-eu.example"],
        "theirs applied, the forged ones still wait"
    );
    // The account's history names each change and who made it.
    let history = desk.json(&["account", "show", "acme", "--json"])["history"].clone();
    let details: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["detail"].as_str().unwrap())
        .collect();
    assert!(
        details.contains(&"authorized ops@partner.example"),
        "{details:?}"
    );
    assert!(
        details.contains(&"revoked ops@partner.example"),
        "{details:?}"
    );
}

#[test]
fn required_authentication_trusts_only_our_own_topmost_stamps() {
    let desk = Desk::strict(
        r#"
[intake]
authserv_id = "mx.desk.example"

[[account]]
id = "acme"
primary = "boss@acme.example"
authorized = ["acme.example"]
require_authentication = true
"#,
    );
    let other = "Authentication-Results: mx.evil.example; dmarc=pass header.from=acme.example";
    let fail = "Authentication-Results: mx.desk.example; dmarc=fail header.from=acme.example";
    let cases: [(&str, Vec<&str>, bool); 4] = [
        ("trusted pass", vec![PASS, RECEIVED], true),
        (
            "pass from another authserv-id",
            vec![other, RECEIVED],
            false,
        ),
        (
            "pass forged below our stamp",
            vec![fail, RECEIVED, PASS],
            false,
        ),
        ("no stamp", vec![RECEIVED], false),
    ];
    for (i, (what, top, genuine)) in cases.into_iter().enumerate() {
        let raw = mail_with(
            "ann@acme.example",
            what,
            &format!("a{i}@acme.example"),
            "x",
            &top,
            &[],
        );
        let out = ingest_ok(&desk, &raw);
        assert_eq!(out.contains("new ticket"), genuine, "{what}: {out}");
        assert_eq!(out.contains("held"), !genuine, "{what}: {out}");
    }
    let t = desk.tickets();
    assert_eq!(t.len(), 1);
    assert_eq!(
        (&t[0]["subject"], &t[0]["account"]),
        (&"trusted pass".into(), &"acme".into())
    );
    // The forged ones are strangers: held, asked to confirm.
    assert_eq!(kinds(&desk), ["unconfirmed", "unconfirmed", "unconfirmed"]);
    assert!(
        quarantine(&desk)[0]["reason"]
            .as_str()
            .unwrap()
            .contains("unknown sender")
    );
}

#[test]
fn screen_holds_blocked_spam_and_oversize_and_flags_priority() {
    let desk = Desk::with_extra(
        "[intake]\nmax_message_size = \"20KB\"\nblocked_domains = [\"spam.example\", \"*.bad.example\"]\n\
         blocked_addresses = [\"pest@ok.example\"]\npriority_domains = [\"vip.example\"]\n",
    );
    ingest_ok(
        &desk,
        &customer_mail("ann@ok.example", "Normal", "n1@ok.example", "x"),
    );
    ingest_ok(
        &desk,
        &customer_mail("ceo@vip.example", "Urgent", "v1@vip.example", "x"),
    );
    ingest_ok(
        &desk,
        &customer_mail("ann@ok.example", "Later", "n2@ok.example", "x"),
    );
    for raw in [
        customer_mail("x@spam.example", "Buy", "b1@spam.example", "x"),
        customer_mail("x@eu.bad.example", "Buy", "b2@bad.example", "x"),
        customer_mail("Pest@ok.example", "Again", "b3@ok.example", "x"),
        mail_with(
            "ann@ok.example",
            "Cheap",
            "b4@ok.example",
            "x",
            &["X-Spam-Flag: YES"],
            &[],
        ),
    ] {
        assert!(ingest_ok(&desk, &raw).contains("held"));
    }
    let sent_before = desk.sent().len();
    // Too large: held, the sender told once; an automatic sender not at all.
    let big = "x".repeat(30 << 10);
    let large = customer_mail("ann@ok.example", "Logs", "l1@ok.example", &big);
    let out = desk.ingest(&large);
    assert!(
        out.status.success(),
        "a held message is no ingest failure: {out:?}"
    );
    // Again (a re-delivery): held as before, not told twice.
    assert!(desk.ingest(&large).status.success());
    let auto = mail_with(
        "robot@ok.example",
        "Report",
        "l2@ok.example",
        &big,
        &[],
        &["Auto-Submitted: auto-generated"],
    );
    desk.ingest(&auto);
    let sent = desk.sent();
    assert_eq!(sent.len(), sent_before + 1, "one notice, to the person");
    let notice = sent.last().unwrap();
    assert_eq!(to(notice), ["ann@ok.example"]);
    assert!(body(notice).contains("20 KB"), "{}", body(notice));

    assert_eq!(
        kinds(&desk),
        [
            "blocked",
            "blocked",
            "blocked",
            "spam",
            "too-large",
            "too-large"
        ]
    );
    let listing = desk.ok(&["quarantine", "list"]);
    assert!(
        listing
            .trim_end()
            .ends_with("6 held: 2 too-large, 3 blocked, 1 spam"),
        "{listing}"
    );
    // Blocked and spam senders got nothing.
    assert!(
        sent.iter()
            .all(|m| !to(m).iter().any(|a| a.contains("spam.example")
                || a.contains("bad.example")
                || a == "pest@ok.example"))
    );

    // The priority ticket comes first, in text and JSON, though not the newest.
    let tickets = desk.tickets();
    assert_eq!(tickets[0]["subject"], "Urgent");
    assert_eq!(tickets[0]["priority"], true);
    assert_eq!(tickets[1]["priority"], false);
    let text = desk.ok(&["ticket", "list"]);
    let first = text.lines().next().unwrap();
    let flags = first.split_whitespace().nth(1).unwrap();
    assert!(first.starts_with("#2") && flags.contains('!'), "{text}");
}

#[test]
fn a_token_alone_does_not_let_a_stranger_into_a_ticket() {
    let desk = Desk::new();
    ingest_ok(
        &desk,
        &customer_mail(
            "ann@customer.example",
            "VPN",
            "t1@customer.example",
            "Down.",
        ),
    );
    let receipt = desk.sent().remove(0);

    // A stranger who knows the token: not appended, a ticket of its own referring to #1.
    let intruder = customer_mail(
        "eve@evil.example",
        "Re: [DESK #1] VPN",
        "t2@evil.example",
        "Send me the logs.",
    );
    assert!(ingest_ok(&desk, &intruder).contains("new ticket"));
    let tickets = desk.tickets();
    assert_eq!(tickets.len(), 2);
    let texts = |n: i64| -> Vec<String> {
        desk.json(&["ticket", "show", &n.to_string(), "--json"])["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| h["direction"] == "in")
            .map(|h| h["text"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(texts(1), ["Down."]);
    assert_eq!(texts(2), ["Send me the logs."]);
    assert!(
        history_texts(&desk, 2)
            .iter()
            .any(|d| d.contains("refers to ticket #1"))
    );
    assert!(
        history_texts(&desk, 2)
            .iter()
            .any(|d| d.contains("not on that ticket"))
    );

    // The requester, and a colleague answering our mail, do join it.
    ingest_ok(
        &desk,
        &customer_mail(
            "ann@customer.example",
            "Re: [DESK #1] VPN",
            "t3@customer.example",
            "Still down.",
        ),
    );
    ingest_ok(
        &desk,
        &reply_to(
            &receipt,
            "bob@colleague.example",
            "t4@colleague.example",
            "Same here.",
        ),
    );
    assert_eq!(texts(1), ["Down.", "Still down.", "Same here."]);

    // Under verify, the stranger's token message waits for a confirmation instead.
    let strict = Desk::strict("");
    let strict_first = customer_mail(
        "ann@customer.example",
        "VPN",
        "u1@customer.example",
        "Down.",
    );
    strict.ok(&[
        "account",
        "add",
        "cust",
        "--primary",
        "ann@customer.example",
    ]);
    ingest_ok(&strict, &strict_first);
    ingest_ok(
        &strict,
        &customer_mail(
            "eve@evil.example",
            "Re: [DESK #1] VPN",
            "u2@evil.example",
            "Logs?",
        ),
    );
    assert_eq!(strict.tickets().len(), 1);
    assert_eq!(kinds(&strict), ["unconfirmed"]);

    // With check_sender = false the token alone suffices.
    let open = Desk::with_extra("[intake]\ncheck_sender = false\n");
    ingest_ok(
        &open,
        &customer_mail(
            "ann@customer.example",
            "VPN",
            "w1@customer.example",
            "Down.",
        ),
    );
    ingest_ok(
        &open,
        &customer_mail(
            "eve@evil.example",
            "Re: [DESK #1] VPN",
            "w2@evil.example",
            "Logs?",
        ),
    );
    assert_eq!(open.tickets().len(), 1);
}

#[test]
fn an_ambiguous_sender_is_shown_to_staff_and_settled_by_hand() {
    let desk = Desk::strict(
        r#"
[[account]]
id = "alpha"
primary = "a@alpha.example"
authorized = ["partner.example"]

[[account]]
id = "beta"
primary = "b@beta.example"
authorized = ["partner.example", "boss@partner.example"]
"#,
    );
    // An address entry beats a domain entry: beta.
    ingest_ok(
        &desk,
        &customer_mail("boss@partner.example", "One", "m1@partner.example", "x"),
    );
    // Domain against domain: a tie.
    ingest_ok(
        &desk,
        &customer_mail("dev@partner.example", "Two", "m2@partner.example", "x"),
    );
    let t = desk.tickets();
    let one = t.iter().find(|t| t["subject"] == "One").unwrap();
    let two = t.iter().find(|t| t["subject"] == "Two").unwrap();
    assert_eq!(one["account"], "beta");
    assert_eq!(two["account"], serde_json::Value::Null);
    assert_eq!(
        two["account_candidates"],
        serde_json::json!(["alpha", "beta"])
    );
    let n = two["number"].as_i64().unwrap().to_string();
    assert!(
        desk.ok(&["ticket", "list"])
            .lines()
            .any(|l| l.starts_with(&format!("#{n}")) && l.contains('~'))
    );
    assert!(
        desk.ok(&["ticket", "show", &n])
            .contains("sender matches alpha, beta")
    );
    desk.ok(&["ticket", "set-account", &n, "ALPHA"]);
    let shown = desk.json(&["ticket", "show", &n, "--json"]);
    assert_eq!(shown["account"], "alpha");
    assert_eq!(shown["account_candidates"], serde_json::json!([]));
    let out = desk.run(&["ticket", "set-account", &n, "nobody"], b"");
    assert_eq!(out.status.code(), Some(65));
}

/// The receipt and confirmation go From the support address, never to it.
#[test]
fn answers_never_go_to_our_own_address() {
    let desk = Desk::strict("");
    ingest_ok(
        &desk,
        &customer_mail(
            ADDRESS,
            "authorized senders",
            "o1@desk.example",
            "add x.example",
        ),
    );
    assert!(desk.sent().is_empty());
}

/// A stranger on the default desk (verify), held, and the code their
/// confirmation request carries.
fn held_stranger(desk: &Desk, from: &str, id: &str) -> (Vec<u8>, String) {
    let first = customer_mail(from, "Printer on fire", id, "Please help.");
    assert!(ingest_ok(desk, &first).contains("held"));
    let confirm = desk.sent().last().unwrap().clone();
    let s = subject(&confirm);
    assert!(s.starts_with("[DESK confirm "), "{s}");
    let code = s["[DESK confirm ".len()..s.find(']').unwrap()].to_string();
    (confirm, code)
}

/// An out-of-office (or any automatic answer) to a confirmation request
/// quotes the code and comes back from the very address: it confirms
/// nothing (issue 17, item 9), however it shows what it is. The person's
/// own reply then does.
#[test]
fn an_out_of_office_to_a_confirmation_request_confirms_nothing() {
    let desk = Desk::strict("");
    let (confirm, code) = held_stranger(&desk, "new@stranger.example", "s1@stranger.example");
    let their = parse(&confirm).message_id().unwrap().to_string();
    let threaded = [
        format!("In-Reply-To: <{their}>"),
        format!("References: <{their}>"),
    ];
    let away = format!("I am out of the office until Monday.\r\n\r\n> Your code is {code}.");
    let robots: [(&str, &str); 6] = [
        ("Automatic reply: ", "Auto-Submitted: auto-replied"),
        ("Out of Office: ", "X-Autoreply: yes"),
        ("Re: ", "X-Autogenerated: Reply"),
        ("Re: ", "X-Mail-Autoreply: yes"),
        ("Re: ", "X-Precedence: bulk"),
        ("Re: ", "X-Auto-Response-Suppress: All"),
    ];
    for (i, (prefix, field)) in robots.iter().enumerate() {
        let more: Vec<&str> = threaded
            .iter()
            .map(String::as_str)
            .chain([*field])
            .collect();
        let ooo = mail_with(
            "new@stranger.example",
            &format!("{prefix}[DESK confirm {code}] Printer on fire"),
            &format!("ooo{i}@stranger.example"),
            &away,
            &[],
            &more,
        );
        let out = ingest_ok(&desk, &ooo);
        assert!(out.contains("held"), "{field}: {out}");
        assert!(desk.tickets().is_empty(), "{field} confirmed the address");
    }
    assert_eq!(desk.sent().len(), 1, "robots are not answered");
    let held = quarantine(&desk);
    let reasons: Vec<&str> = held.iter().map(|q| q["reason"].as_str().unwrap()).collect();
    assert_eq!(held.len(), 7, "{reasons:#?}");
    assert!(
        reasons[1..].iter().all(|r| r.contains("confirms nothing")),
        "{reasons:#?}"
    );
    // The person's own answer, with the same code: confirmed.
    let yes = reply_to(
        &confirm,
        "new@stranger.example",
        "yes@stranger.example",
        "It was me.",
    );
    assert!(ingest_ok(&desk, &yes).contains("confirmed"));
    assert_eq!(desk.tickets().len(), 1);
}

/// Five wrong codes for a held message, and no sixth is tried, not even
/// the right one: the message waits for staff, the quarantine says so,
/// and the sender is told nothing (issue 17, item 9). Four wrong codes
/// and then the right one still confirm.
#[test]
fn a_sixth_code_is_not_tried_and_the_message_waits_for_staff() {
    let desk = Desk::strict("");
    let guess = |from: &str, n: usize, code: &str| {
        mail_with(
            from,
            &format!("Re: [DESK confirm {code}] Printer on fire"),
            &format!("guess{n}@{}", from.split('@').nth(1).unwrap()),
            "yes",
            &[],
            &[],
        )
    };
    // Four wrong codes (the first delivered twice: one guess), then the
    // right one: confirmed.
    let (_, code) = held_stranger(&desk, "four@stranger.example", "f0@stranger.example");
    let again = guess("four@stranger.example", 1, "AAAA-BBBB-CCC2");
    assert!(ingest_ok(&desk, &again).contains("held"));
    for n in 1..=4 {
        assert!(
            ingest_ok(&desk, &guess("four@stranger.example", n, "AAAA-BBBB-CCC2")).contains("held")
        );
    }
    assert!(ingest_ok(&desk, &guess("four@stranger.example", 5, &code)).contains("confirmed"));
    assert_eq!(desk.tickets().len(), 1);

    // Five wrong codes: the sixth, though right, is not tried.
    let (_, code) = held_stranger(&desk, "five@stranger.example", "v0@stranger.example");
    let sent = desk.sent().len();
    for n in 1..=5 {
        let wrong = format!("AAAA-BBBB-CC{n:02}");
        assert!(ingest_ok(&desk, &guess("five@stranger.example", n, &wrong)).contains("held"));
    }
    let out = ingest_ok(&desk, &guess("five@stranger.example", 6, &code));
    assert!(out.contains("held"), "{out}");
    assert_eq!(desk.tickets().len(), 1, "the sixth code released nothing");
    assert_eq!(desk.sent().len(), sent, "no word to the sender");
    let held = quarantine(&desk);
    let waiting = held
        .iter()
        .find(|q| q["kind"] == "unconfirmed" && q["from"].as_str().unwrap().contains("five@"))
        .expect("the held message is still there");
    let reason = waiting["reason"].as_str().unwrap();
    assert!(
        reason.contains("5 wrong confirmation codes") && reason.contains("waits for staff"),
        "{reason}"
    );
    let last = held.last().unwrap()["reason"].as_str().unwrap();
    assert!(last.contains("not tried"), "{last}");
    // Nothing the sender could see names the wrong codes.
    assert!(desk.sent().iter().all(|m| !body(m).contains("AAAA-BBBB")));
    // Staff take it in by hand.
    let id = waiting["id"].as_i64().unwrap().to_string();
    desk.ok(&["quarantine", "release", &id]);
    assert_eq!(desk.tickets().len(), 2);
}

/// Every spelling of a listed address is the listed address (issue 17,
/// item 9): the trailing dot, a quoted local part (bare, as mail-parser
/// reads it, and in angle brackets), upper case and IDN in Unicode or
/// punycode are blocked by `blocked_domains` and `blocked_addresses`,
/// flagged by `priority_domains`, and known as an account's primary
/// address or authorized domain.
#[test]
fn blocked_list_spellings_are_blocked_and_accounts_known() {
    let desk = Desk::strict(
        "[intake]\nblocked_domains = [\"evil.example\", \"böse.example\"]\n\
         blocked_addresses = [\"pest@ok.example\"]\npriority_domains = [\"vip.example\"]\n\n\
         [[account]]\nid = \"cust-1\"\nprimary = \"admin@customer.example\"\nauthorized = [\"bücher.example\"]\n",
    );
    let from_line = |from: &str, i: usize| {
        format!(
            "From: {from}\r\nTo: {ADDRESS}\r\nSubject: Buy now\r\nDate: Mon, 16 Nov 2026 10:00:00 +0100\r\n\
Message-ID: <b{i}@spell.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: 8bit\r\n\r\nCheap.\r\n"
        )
        .into_bytes()
    };
    let blocked = [
        "x@evil.example.",
        "<x@evil.example.>",
        "\"x\"@evil.example",
        "Eve <\"x\"@evil.example>",
        "\"x\".\"y\"@evil.example.",
        "X@EVIL.EXAMPLE",
        "Eve <X@Evil.Example.>",
        "x@böse.example",
        "x@BÖSE.EXAMPLE",
        "x@xn--bse-sna.example",
        "x@XN--BSE-SNA.example.",
        "\"Pest\"@OK.example.",
        "PEST@ok.example",
    ];
    for (i, from) in blocked.iter().enumerate() {
        let out = ingest_ok(&desk, &from_line(from, i));
        assert!(out.contains("held"), "{from}: {out}");
    }
    assert_eq!(
        kinds(&desk),
        vec!["blocked"; blocked.len()],
        "{:#?}",
        quarantine(&desk)
    );
    assert!(desk.sent().is_empty(), "a blocked sender gets nothing");
    assert!(desk.tickets().is_empty());

    // The account's primary address and its authorized IDN domain, spelled
    // otherwise: no confirmation asked, tickets for the account.
    for (i, from) in [
        "\"Admin\"@Customer.Example.",
        "ops@BÜCHER.example",
        "ops@xn--bcher-kva.example.",
    ]
    .iter()
    .enumerate()
    {
        let out = ingest_ok(&desk, &from_line(from, 100 + i));
        assert!(out.contains("new ticket"), "{from}: {out}");
    }
    let tickets = desk.tickets();
    assert_eq!(tickets.len(), 3);
    assert!(
        tickets.iter().all(|t| t["account"] == "cust-1"),
        "{tickets:#?}"
    );

    // A priority domain spelled otherwise is flagged (stranger under accept).
    let accept = Desk::with_extra("[intake]\npriority_domains = [\"vip.example\"]\n");
    ingest_ok(&accept, &from_line("\"CEO\"@VIP.Example.", 200));
    assert_eq!(accept.tickets()[0]["priority"], true);
}
