use super::*;

/// The defaults of `[intake]` in the configuration.
fn limits() -> ParseLimits {
    ParseLimits {
        max_size: 25 << 20,
        max_depth: 20,
        max_parts: 500,
    }
}

/// Parses a message written with `\n` line ends, as most mail on disk is.
fn parsed(raw: &str) -> Inbound {
    parse(raw.as_bytes(), &limits()).unwrap_or_else(|e| panic!("{e}: {raw:?}"))
}

fn class_of(headers: &str, body: &str) -> MailClass {
    parsed(&format!("{headers}\n\n{body}\n")).class
}

const PERSON: &str = "From: Ann Example <ann@example.com>\nTo: help@desk.example\nSubject: Printer on fire\nMessage-ID: <1@example.com>";

fn auto(reason: &str) -> MailClass {
    MailClass::AutoReply(reason.into())
}

fn bounce(reason: &str) -> MailClass {
    MailClass::Bounce(reason.into())
}

#[test]
fn classification_by_top_level_headers() {
    let from_me = "From: ann@example.com";
    let cases: &[(&str, MailClass)] = &[
        (PERSON, MailClass::Normal),
        (
            &format!("{PERSON}\nAuto-Submitted: auto-replied"),
            auto("Auto-Submitted: auto-replied"),
        ),
        (
            &format!("{PERSON}\nAuto-Submitted: auto-generated (warning)"),
            auto("Auto-Submitted: auto-generated"),
        ),
        (&format!("{PERSON}\nAuto-Submitted: no"), MailClass::Normal),
        (
            &format!("{PERSON}\nAuto-Submitted: No (a person wrote this)"),
            MailClass::Normal,
        ),
        (
            &format!("{PERSON}\nPrecedence: bulk"),
            auto("Precedence: bulk"),
        ),
        (
            &format!("{PERSON}\nPrecedence: JUNK"),
            auto("Precedence: junk"),
        ),
        (
            &format!("{PERSON}\nPrecedence: list"),
            auto("Precedence: list"),
        ),
        (
            &format!("{PERSON}\nPrecedence: first-class"),
            MailClass::Normal,
        ),
        (
            &format!("{PERSON}\nList-Id: Help <help.lists.example>"),
            auto("List-Id"),
        ),
        (
            &format!("{PERSON}\nList-Unsubscribe: <mailto:u@lists.example>"),
            auto("List-Unsubscribe"),
        ),
        (
            &format!("Return-Path: <>\n{PERSON}"),
            auto("Return-Path: <>"),
        ),
        (
            &format!("Return-Path: <ann@example.com>\n{PERSON}"),
            MailClass::Normal,
        ),
        (&format!("{PERSON}\nX-Autoreply: yes"), auto("X-Autoreply")),
        (
            &format!("{PERSON}\nX-Autorespond: yes"),
            auto("X-Autorespond"),
        ),
        (
            &format!("{PERSON}\nX-MS-Exchange-Inbox-Rules-Loop: ann@example.com"),
            auto("X-MS-Exchange-Inbox-Rules-Loop"),
        ),
        // A request not to be answered automatically, set on human Outlook
        // mail too: a person's mail that nothing answers.
        (
            &format!("{PERSON}\nX-Auto-Response-Suppress: All"),
            MailClass::NoAutoAnswer(
                "X-Auto-Response-Suppress: All: the sender asks for no automatic answer".into(),
            ),
        ),
        (
            "From: MAILER-DAEMON@mx.example\nSubject: Hello",
            auto("From: MAILER-DAEMON"),
        ),
        (
            "From: postmaster@mx.example\nSubject: Warning: message delayed",
            bounce("From: postmaster, failure subject"),
        ),
        (
            "From: Mail Delivery System <Mailer-Daemon@mx.example>\nSubject: Mail delivery failed: returning message",
            bounce("Subject: Mail delivery failed, from Mailer-Daemon"),
        ),
        (
            &format!("{from_me}\nX-Failed-Recipients: bob@example.org"),
            bounce("X-Failed-Recipients"),
        ),
        (
            &format!("{from_me}\nX-MS-Exchange-Message-Is-Ndr: "),
            bounce("X-MS-Exchange-Message-Is-Ndr"),
        ),
        // A person talking about a bounce is still a person.
        (
            &format!("{from_me}\nSubject: Re: Undeliverable: Printer on fire"),
            MailClass::Normal,
        ),
        // Subject words are believed from a person only without text of
        // their own (the "Hello." every case here has is theirs).
        (
            &format!("{from_me}\nSubject: Undeliverable: Printer on fire"),
            MailClass::Normal,
        ),
        (
            &format!("{from_me}\nSubject: Automatic reply: Printer on fire"),
            auto("Subject: Automatic reply"),
        ),
        (
            &format!("{from_me}\nSubject: Auto reply: x"),
            auto("Subject: Auto reply"),
        ),
        (
            &format!("{from_me}\nSubject: AutoReply: x"),
            auto("Subject: AutoReply"),
        ),
        (
            &format!("{from_me}\nSubject: Out of Office: x"),
            auto("Subject: Out of Office"),
        ),
        (
            &format!("{from_me}\nSubject: Abwesenheitsnotiz: x"),
            auto("Subject: Abwesenheitsnotiz"),
        ),
        (
            &format!("{from_me}\nSubject: =?UTF-8?Q?R=C3=A9ponse_automatique_:_x?="),
            auto("Subject: Réponse automatique"),
        ),
        (
            &format!("{from_me}\nSubject: Risposta automatica: x"),
            auto("Subject: Risposta automatica"),
        ),
        (
            &format!("{from_me}\nSubject: =?UTF-8?Q?Automatyczna_odpowied=C5=BA:_x?="),
            auto("Subject: Automatyczna odpowiedź"),
        ),
        (
            &format!("{from_me}\nSubject: Read: Printer on fire"),
            auto("Subject: Read"),
        ),
        (
            &format!("{from_me}\nSubject: [support.example #42] AutoReply: x"),
            auto("Subject: AutoReply"),
        ),
        (
            &format!("{from_me}\nSubject: [support.example #42] Resolved: x"),
            auto("Subject: ticket-system notification"),
        ),
        (
            &format!("{from_me}\nSubject: Automatic replies stopped working"),
            MailClass::Normal,
        ),
        (
            &format!("{from_me}\nSubject: Reading list"),
            MailClass::Normal,
        ),
        (
            "From: Shop <noreply@shop.example>\nSubject: Your order",
            auto("From: no-reply address noreply@shop.example"),
        ),
        (
            "From: no-reply@shop.example",
            auto("From: no-reply address no-reply@shop.example"),
        ),
        (
            "From: DoNotReply@shop.example",
            auto("From: no-reply address DoNotReply@shop.example"),
        ),
        (
            "From: do_not_reply@shop.example",
            auto("From: no-reply address do_not_reply@shop.example"),
        ),
        ("From: noreen@example.com", MailClass::Normal),
        // A display name alone does not make a robot (it backs up a bounce's subject only).
        ("From: Postmaster <john@isp.example>", MailClass::Normal),
        (
            "From: Mail Delivery System <john@isp.example>\nSubject: Hello",
            MailClass::Normal,
        ),
        (
            "From: Mail Delivery System <john@isp.example>\nSubject: Warning: message delayed",
            bounce("From: Mail Delivery System, failure subject"),
        ),
        (
            "From: <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@contoso.example>\nSubject: Hello",
            auto("From: MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e"),
        ),
        (
            &format!("{PERSON}\nX-Mandrill-User: md_1"),
            auto("X-Mandrill-User (bulk sender)"),
        ),
    ];
    for (headers, want) in cases {
        assert_eq!(&class_of(headers, "Hello."), want, "{headers}");
    }
}

/// Machine mail marked only by a vendor's header (issue 10, item 5): each
/// field alone makes the message automatic; "no" does not, and
/// `X-Auto-Response-Suppress` asks for silence only for the kinds of
/// answer we send.
#[test]
fn classification_by_vendor_headers() {
    let no_answer = |v: &str| {
        MailClass::NoAutoAnswer(format!(
            "X-Auto-Response-Suppress: {v}: the sender asks for no automatic answer"
        ))
    };
    #[rustfmt::skip]
    let cases: &[(&str, MailClass)] = &[
        ("X-Autogenerated: Reply",              auto("X-Autogenerated")),
        ("X-AutoGenerated: yes",                auto("X-Autogenerated")),
        ("X-AutoReply-From: ann@example.com",   auto("X-Autoreply-From")),
        ("X-Mail-Autoreply: yes",               auto("X-Mail-Autoreply")),
        ("X-Autoresponse: true",                auto("X-Autoresponse")),
        ("X-Autoresponder: vacation",           auto("X-Autoresponder")),
        ("X-Autoreply: yes",                    auto("X-Autoreply")),
        ("X-Autoreply: no",                     MailClass::Normal),
        ("X-Autogenerated: No",                 MailClass::Normal),
        ("X-Precedence: bulk",                  auto("X-Precedence: bulk")),
        ("X-Precedence: JUNK",                  auto("X-Precedence: junk")),
        ("X-Precedence: list",                  auto("X-Precedence: list")),
        ("X-Precedence: first-class",           MailClass::Normal),
        ("X-Auto-Response-Suppress: All",       no_answer("All")),
        ("X-Auto-Response-Suppress: OOF",       no_answer("OOF")),
        ("X-Auto-Response-Suppress: DR, OOF, AutoReply", no_answer("DR, OOF, AutoReply")),
        ("x-auto-response-suppress: all",       no_answer("all")),
        ("X-Auto-Response-Suppress: DR, RN, NRN", MailClass::Normal),
        ("X-Auto-Response-Suppress: None",      MailClass::Normal),
        // A robot's field beats the request for silence.
        ("X-Auto-Response-Suppress: All\nAuto-Submitted: auto-replied", auto("Auto-Submitted: auto-replied")),
    ];
    for (field, want) in cases {
        let headers = format!("{PERSON}\n{field}");
        let class = class_of(&headers, "Hello.");
        assert_eq!(&class, want, "{field}");
        // Only machines are automatic; the request for silence is a person's.
        assert_eq!(
            class.is_automatic(),
            matches!(want, MailClass::AutoReply(_)),
            "{field}"
        );
    }
}

/// A bounce without a delivery-status part, named by its Subject (issue 10,
/// item 5): believed from the null sender or the mail system, or without
/// human-written text; a person whose subject says the same and who writes
/// about it is a person.
#[test]
fn classification_of_bounces_named_by_their_subject() {
    let person = "From: Ann Example <ann@example.com>";
    let null = "Return-Path: <>\nFrom: Ann Example <ann@example.com>";
    let daemon = "From: Mail Delivery System <MAILER-DAEMON@mx.example>";
    let postmaster = "From: postmaster@mx.example";
    let exchange = "From: Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@contoso.example>";
    let signed = "From: Mail Delivery Subsystem <bounces@mx.example>";
    let human = "Hi, my mail to Bob was undeliverable, can you check his address?";
    let machine = "This message was created automatically by mail delivery software.\n\n\
                   A message that you sent could not be delivered to one or more of its\n\
                   recipients. This is a permanent error.";
    let outlook_fr = "Échec de la remise à ces destinataires ou groupes :\n\nbob@example.org";
    let outlook_de =
        "Die Zustellung an folgende Empfänger oder Gruppen ist fehlgeschlagen:\n\nbob@example.org";
    #[rustfmt::skip]
    let subjects: &[(&str, &str)] = &[
        ("Undeliverable: Printer on fire",                   "Undeliverable"),
        ("Undelivered Mail Returned to Sender",              "Undelivered Mail"),
        ("Delivery Status Notification (Failure)",           "Delivery Status Notification (Failure)"),
        ("Delivery Status Notification (Delay)",             "Delivery Status Notification (Delay)"),
        ("Mail delivery failed: returning message to sender", "Mail delivery failed"),
        ("Returned mail: see transcript for details",        "Returned mail"),
        ("failure notice",                                   "failure notice"),
        ("DELIVERY FAILURE: User bob not listed",            "DELIVERY FAILURE"),
        ("Delivery delayed: Printer on fire",                "Delivery delayed"),
        ("Non remis : Printer on fire",                      "Non remis"),
        ("Non distribuable : Printer on fire",               "Non distribuable"),
        ("Unzustellbar: Printer on fire",                    "Unzustellbar"),
        ("Nicht zustellbar: Printer on fire",                "Nicht zustellbar"),
        ("Mancato recapito: Printer on fire",                "Mancato recapito"),
        ("Non recapitabile: Printer on fire",                "Non recapitabile"),
        ("No se puede entregar: Printer on fire",            "No se puede entregar"),
        ("Mensaje no entregado",                             "Mensaje no entregado"),
        ("=?UTF-8?Q?N=C3=A3o_=C3=A9_poss=C3=ADvel_entregar:_x?=", "Não é possível entregar"),
        ("Onbestelbaar: Printer on fire",                    "Onbestelbaar"),
        ("Niedostarczalne: Printer on fire",                 "Niedostarczalne"),
        ("Olevererbart: Printer on fire",                    "Olevererbart"),
        ("Kan ikke leveres: Printer on fire",                "Kan ikke leveres"),
        ("[ext] Undeliverable: Printer on fire",             "Undeliverable"),
    ];
    for (subject, word) in subjects {
        // (From and friends, text, expected: None = Normal, Some(why) = Bounce)
        #[rustfmt::skip]
        let senders: &[(&str, &str, Option<&str>)] = &[
            (null,       human,      Some("null sender")),
            (daemon,     human,      Some("from MAILER-DAEMON")),
            (postmaster, human,      Some("from postmaster")),
            (exchange,   human,      Some("from MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e")),
            (signed,     human,      Some("from Mail Delivery Subsystem")),
            (person,     machine,    Some("a mail system's text")),
            (person,     outlook_fr, Some("a mail system's text")),
            (person,     outlook_de, Some("a mail system's text")),
            (person,     "",         Some("no text of its own")),
            (person,     human,      None),
            (person,     "Please fix it.", None),
        ];
        for (head, body, why) in senders {
            let class = class_of(&format!("{head}\nSubject: {subject}"), body);
            let want = match why {
                Some(why) => bounce(&format!("Subject: {word}, {why}")),
                None => MailClass::Normal,
            };
            assert_eq!(class, want, "{head} / {subject} / {body}");
        }
    }
    // Only the returned original, as an attachment: no text of its own.
    let attached = format!(
        "{person}\nSubject: Undeliverable: Printer on fire\nMIME-Version: 1.0\n\
         Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: message/rfc822\n\n\
         From: support@desk.example\nSubject: Printer on fire\n\nWe got your message.\n--b--"
    );
    assert_eq!(
        class_of(&attached, ""),
        bounce("Subject: Undeliverable, no text of its own")
    );
    // Subjects that only look alike stay a person's.
    for subject in [
        "Re: Undeliverable: Printer on fire",
        "Fwd: Mail delivery failed: returning message to sender",
        "My mail was undeliverable",
        "Non-remised invoice",
        "Unzustellbarkeit der Post",
    ] {
        assert_eq!(
            class_of(&format!("{person}\nSubject: {subject}"), machine),
            MailClass::Normal,
            "{subject}"
        );
    }
}

fn dsn(report_type: &str, auto_submitted: bool) -> String {
    format!(
        "From: MAILER-DAEMON@mx.example\nTo: help@desk.example\nSubject: Undelivered Mail Returned to Sender\n{}\
         MIME-Version: 1.0\nContent-Type: multipart/report; report-type={report_type}; boundary=\"b\"\n\n\
         --b\nContent-Type: text/plain\n\nI could not deliver your message.\n\n\
         --b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example\n\nFinal-Recipient: rfc822; bob@example.org\nAction: failed\nStatus: 5.1.1\n\n\
         --b\nContent-Type: message/rfc822\n\nFrom: help@desk.example\nTo: bob@example.org\nSubject: [Desk #7] We got your request\nMessage-ID: <receipt-7@desk.example>\n\nThanks.\n\
         --b--\n",
        if auto_submitted {
            "Auto-Submitted: auto-replied\n"
        } else {
            ""
        }
    )
}

#[test]
fn delivery_reports() {
    let msg = parsed(&dsn("delivery-status", true));
    assert_eq!(
        msg.class,
        bounce("multipart/report; report-type=delivery-status")
    );
    let original = msg.original.expect("the returned message is named");
    assert_eq!(
        original.message_id.as_deref(),
        Some("receipt-7@desk.example")
    );
    assert_eq!(
        original.subject.as_deref(),
        Some("[Desk #7] We got your request")
    );
    assert_eq!(msg.text, "I could not deliver your message.");

    let arf = parsed(&dsn("feedback-report", false));
    assert!(
        matches!(&arf.class, MailClass::Bounce(r) if r.contains("feedback")),
        "{:?}",
        arf.class
    );

    let mdn = parsed(
        &dsn("disposition-notification", false)
            .replace("Undelivered Mail Returned to Sender", "Read"),
    );
    assert_eq!(
        mdn.class,
        auto("read receipt (report-type=disposition-notification)")
    );
    assert!(mdn.original.is_some());
}

/// What a bounce says about each recipient: the DSN's per-recipient
/// fields (RFC 3464), else X-Failed-Recipients with the status in the text.
#[test]
fn delivery_reports_per_recipient() {
    let msg = parsed(&dsn("delivery-status", true));
    assert_eq!(
        msg.delivery,
        [DeliveryReport {
            recipient: Address::parse("bob@example.org").unwrap(),
            action: "failed".into(),
            status: "5.1.1".into(),
            diagnostic: String::new(),
        }]
    );
    assert!(msg.delivery[0].is_permanent() && msg.delivery[0].is_failure());

    let person = parsed(&format!(
        "{PERSON}\n\nStatus: 5.1.1\nFinal-Recipient: rfc822; x@y.example\n"
    ));
    assert!(person.delivery.is_empty(), "only bounces are read");

    let exim = parsed(
        "From: Mail Delivery System <Mailer-Daemon@mx.example>\nSubject: Mail delivery failed: returning message to sender\n\
         X-Failed-Recipients: ann@customer.example, bob@customer.example\nAuto-Submitted: auto-replied\n\n\
         This message was created automatically by mail delivery software.\n\n\
         A message that you sent could not be delivered to one or more of its\nrecipients.\n\n\
           ann@customer.example\n    host mx.customer.example: 550 5.2.1 Mailbox disabled\n",
    );
    let got: Vec<(String, &str, &str)> = exim
        .delivery
        .iter()
        .map(|r| {
            (
                r.recipient.to_string(),
                r.status.as_str(),
                r.diagnostic.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "ann@customer.example".into(),
                "5.2.1",
                "host mx.customer.example: 550 5.2.1 Mailbox disabled"
            ),
            (
                "bob@customer.example".into(),
                "5.2.1",
                "host mx.customer.example: 550 5.2.1 Mailbox disabled"
            ),
        ]
    );
}

#[test]
fn dsn_fields_table() {
    /// (recipient, action, status, diagnostic)
    type Row<'a> = (&'a str, &'a str, &'a str, &'a str);
    let cases: &[(&str, &[Row])] = &[
        // Original-Recipient wins: it is the address we wrote to.
        (
            "Reporting-MTA: dns; mx\n\nFinal-Recipient: rfc822; r@mx.example\nOriginal-Recipient: rfc822;ann@x.example\n\
             Action: failed\nStatus: 5.1.1 (user unknown)\nDiagnostic-Code: smtp; 550 5.1.1 no\n   such user\n",
            &[(
                "ann@x.example",
                "failed",
                "5.1.1",
                "smtp; 550 5.1.1 no such user",
            )],
        ),
        // CRLF, two recipients, one delayed; case of field names.
        (
            "reporting-mta: dns; mx\r\n\r\nFINAL-RECIPIENT: rfc822; a@x.example\r\nAction: Failed\r\nStatus: 5.0.0\r\n\r\n\
             Final-Recipient: rfc822; b@x.example\r\nAction: delayed\r\nStatus: 4.4.1\r\n",
            &[
                ("a@x.example", "failed", "5.0.0", ""),
                ("b@x.example", "delayed", "4.4.1", ""),
            ],
        ),
        // No recipient, or not an address: nothing.
        (
            "Reporting-MTA: dns; mx\n\nAction: failed\nStatus: 5.0.0\n",
            &[],
        ),
        (
            "Final-Recipient: rfc822; not an address\nAction: failed\n",
            &[],
        ),
        ("", &[]),
    ];
    for (body, want) in cases {
        let got: Vec<(String, String, String, String)> = report::dsn_fields(body)
            .into_iter()
            .map(|r| (r.recipient.to_string(), r.action, r.status, r.diagnostic))
            .collect();
        let want: Vec<(String, String, String, String)> = want
            .iter()
            .map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string()))
            .collect();
        assert_eq!(got, want, "{body:?}");
    }
    let delayed = &report::dsn_fields(
        "Final-Recipient: rfc822; b@x.example\nAction: delayed\nStatus: 4.4.1\n",
    )[0];
    assert!(delayed.is_failure() && !delayed.is_permanent());
}

#[test]
fn automatic_signals_inside_an_attached_message_do_not_count() {
    let raw = format!(
        "{PERSON}\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b\"\n\n\
         --b\nContent-Type: text/plain\n\nSee the notification below, it is wrong.\n\
         --b\nContent-Type: message/rfc822\n\nFrom: noreply@shop.example\nAuto-Submitted: auto-generated\n\
         Precedence: bulk\nList-Id: <x.example>\nSubject: Automatic reply: x\n\nbeep\n--b--\n"
    );
    let msg = parsed(&raw);
    assert_eq!(msg.class, MailClass::Normal);
    assert!(msg.original.is_none());
    assert_eq!(msg.text, "See the notification below, it is wrong.");
    assert_eq!(
        msg.attachments,
        [Attachment {
            name: Some("Automatic reply: x".into()),
            content_type: "message/rfc822".into(),
            size: 129
        }]
    );
}

#[test]
fn plain_text_bounce_names_the_original_from_its_body() {
    let raw = "From: MAILER-DAEMON@mx.example\nSubject: failure notice\n\n\
               Sorry, I couldn't deliver your message.\n\n--- Below this line is a copy of the message.\n\n\
               Received: from desk.example\nSubject: =?UTF-8?Q?Caf=C3=A9?=\n\
               Message-ID: <receipt-9@desk.example>\nDate: Mon, 2 Jan 2023 10:00:00 +0000\n\nThanks.\n";
    let msg = parsed(raw);
    assert_eq!(
        msg.class,
        bounce("Subject: failure notice, from MAILER-DAEMON")
    );
    assert_eq!(
        msg.original,
        Some(OriginalRef {
            message_id: Some("receipt-9@desk.example".into()),
            subject: Some("Café".into())
        })
    );
}

#[test]
fn reply_text_is_split_into_new_and_quoted() {
    let msg = parsed(&format!(
        "{PERSON}\n\nIt works now.\r\n\r\nOn Mon, Jan 2, 2023 at 10:00 AM Bob <bob@example.org> wrote:\r\n> Does it?\r\n"
    ));
    assert_eq!(
        msg.text,
        "It works now.\n\nOn Mon, Jan 2, 2023 at 10:00 AM Bob <bob@example.org> wrote:\n> Does it?"
    );
    assert_eq!(msg.new_text, "It works now.");
    assert_eq!(
        msg.quoted,
        "On Mon, Jan 2, 2023 at 10:00 AM Bob <bob@example.org> wrote:\n> Does it?"
    );
}

#[test]
fn derived_message_id_is_stable_and_content_bound() {
    let raw = "From: ann@example.com\nSubject: no id\n\nhi\n";
    let (a, b) = (parsed(raw), parsed(raw));
    assert!(a.message_id_derived);
    assert_eq!(a.message_id, b.message_id);
    assert_eq!(
        a.message_id,
        format!("{}@postdesk.invalid", &content_hash(raw.as_bytes())[..32])
    );
    assert_ne!(
        parsed("From: ann@example.com\nSubject: no id\n\nho\n").message_id,
        a.message_id
    );
    assert!(a.warnings.iter().any(|w| w.contains("Message-ID")));

    let given = parsed("Message-ID:   <abc@example.com> \nFrom: ann@example.com\n\nhi\n");
    assert_eq!(
        (given.message_id.as_str(), given.message_id_derived),
        ("abc@example.com", false)
    );
    assert!(parsed("Message-ID: <>\nFrom: ann@example.com\n\nhi\n").message_id_derived);
}

#[test]
fn subjects_are_decoded_and_on_one_line() {
    let cases = [
        ("=?UTF-8?B?w4dhIG1hcmNoZSDinJM=?=", "Ça marche ✓"),
        ("=?ISO-8859-1?Q?Caf=E9_cr=E8me?=", "Café crème"),
        (
            "=?iso-8859-1?q?Caf=E9?=\n =?iso-8859-1?q?_cr=E8me?=",
            "Café crème",
        ),
        (
            "Re: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= aus   Bern",
            "Re: Grüße aus Bern",
        ),
        ("=?windows-1252?Q?=93quoted=94?=", "“quoted”"),
        (
            "a very long\n subject\n\tfolded",
            "a very long subject folded",
        ),
    ];
    for (header, want) in cases {
        assert_eq!(
            parsed(&format!("From: a@example.com\nSubject: {header}\n\nx\n")).subject,
            want
        );
    }
    assert_eq!(parsed("From: a@example.com\n\nx\n").subject, "");

    // Raw 8-bit bytes (Latin-1 "Café") in a header: lossy, no panic.
    let raw = b"From: a@example.com\nSubject: Caf\xe9 \xff\n\nx\n";
    let msg = parse(raw, &limits()).expect("parses");
    assert!(msg.subject.starts_with("Caf"), "{:?}", msg.subject);
}

#[test]
fn addresses_dates_and_ids() {
    let msg = parsed(
        "Return-Path: <bounce@example.com>\n\
         From: \"Example, Ann\" <ann@example.com>, second@example.com\n\
         Reply-To: =?UTF-8?Q?Ann_M=C3=BCller?= <reply@example.com>\n\
         To: team: bob@example.org, not an address;, carol@example.org\n\
         Cc: dave@example.org, dave@example.org\n\
         Date: Mon, 2 Jan 2023 10:00:00 +0200\n\
         In-Reply-To: <a@x>\n\
         References: <root@x> <a@x>\n <root@x>\n\nhi\n",
    );
    let from = msg.from.expect("from");
    assert_eq!(
        (from.name.as_deref(), from.address.as_str()),
        (Some("Example, Ann"), "ann@example.com")
    );
    assert_eq!(msg.reply_to[0].name.as_deref(), Some("Ann Müller"));
    let to: Vec<&str> = msg.to.iter().map(|m| m.address.as_str()).collect();
    assert_eq!(to, ["bob@example.org", "carol@example.org"]);
    assert_eq!(msg.cc.len(), 1);
    assert_eq!(
        msg.date.map(|d| d.to_rfc3339()).as_deref(),
        Some("2023-01-02T08:00:00+00:00")
    );
    assert_eq!(msg.in_reply_to, ["a@x"]);
    assert_eq!(msg.references, ["root@x", "a@x"]);
    assert_eq!(msg.return_path.as_deref(), Some("bounce@example.com"));

    assert_eq!(
        parsed("Return-Path: <>\nFrom: a@example.com\n\nx\n")
            .return_path
            .as_deref(),
        Some("")
    );
    let bare = parsed("From: nobody\nDate: yesterday-ish\n\nx\n");
    assert_eq!((bare.return_path, bare.from, bare.date), (None, None, None));
    assert!(
        bare.warnings.iter().any(|w| w.contains("From"))
            && bare.warnings.iter().any(|w| w.contains("Date"))
    );
}

#[test]
fn html_only_mail_becomes_readable_text() {
    let msg = parsed(&format!(
        "{PERSON}\nContent-Type: text/html; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\n\
         <html><head><style>p {{color:red}}</style></head><body><div>Gr=FC=DFe &amp; Dank,</div>\
         <div>Ann</div><div class=3D\"gmail_quote\">On Mon, Bob wrote:<blockquote>Is it <b>fixed</b>?</blockquote></div></body></html>\n"
    ));
    assert_eq!(
        msg.text,
        "Grüße & Dank,\nAnn\nOn Mon, Bob wrote:\n> Is it fixed?"
    );
    assert_eq!(msg.new_text, "Grüße & Dank,\nAnn");
    assert!(msg.attachments.is_empty());
}

/// HTML-only replies are split on their structure, even when the
/// attribution or the header labels are in words no rule knows.
#[test]
fn html_only_replies_split_on_structure() {
    let gmail = parsed(&format!(
        "{PERSON}\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n\
         <div dir=3D\"ltr\">#close<br>Fixed.</div><br><div class=3D\"gmail_quote\"><div dir=3D\"ltr\" =\n\
         class=3D\"gmail_attr\">Support &lt;s@d.example&gt; =E4=BA=8E2026=E5=B9=B411=E6=9C=882=E6=97=A5 =\n\
         =E5=86=99=E9=81=93=EF=BC=9A<br></div><blockquote class=3D\"gmail_quote\">#note secret</blockquote></div>\n"
    ));
    assert_eq!(gmail.new_text, "#close\nFixed.");
    assert!(gmail.quoted.contains("#note secret"), "{}", gmail.quoted);
    let outlook = parsed(&format!(
        "{PERSON}\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=\"b\"\n\n\
         --b\nContent-Type: text/plain; charset=utf-8\n\n \n\
         --b\nContent-Type: text/html; charset=utf-8\n\n\
         <div>Done</div><hr><div id=\"divRplyFwdMsg\"><b>\u{391}\u{3c0}\u{3cc}:</b> Support<br>\
         <b>\u{398}\u{3ad}\u{3bc}\u{3b1}:</b> x</div><div>#note secret</div>\n--b--\n"
    ));
    assert_eq!(outlook.new_text, "Done");
    assert!(
        outlook.quoted.contains("#note secret"),
        "{}",
        outlook.quoted
    );
}

#[test]
fn alternative_prefers_plain_text_and_lists_files() {
    let msg = parsed(&format!(
        "{PERSON}\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"m\"\n\n\
         --m\nContent-Type: multipart/related; boundary=\"r\"\n\n\
         --r\nContent-Type: multipart/alternative; boundary=\"a\"\n\n\
         --a\nContent-Type: text/plain; charset=utf-8\n\nPlain words.\n\
         --a\nContent-Type: text/html\n\n<p>HTML words <img src=\"cid:logo\"></p>\n--a--\n\
         --r\nContent-Type: image/png\nContent-ID: <logo>\nContent-Disposition: inline\nContent-Transfer-Encoding: base64\n\niVBORw0KGgo=\n--r--\n\
         --m\nContent-Type: text/plain; name=\"../../etc/passwd\"\nContent-Disposition: attachment; filename=\"../../etc/passwd\"\n\nroot\n\
         --m\nContent-Type: application/octet-stream; name=\"C:\\TEMP\\report.pdf\"\n\n%PDF\n\
         --m\nContent-Type: APPLICATION/X-Thing\nContent-Disposition: attachment; filename*=UTF-8''na%C3%AFve%20plan.txt\n\nx\n\
         --m\nContent-Disposition: attachment\n\nno type\n--m--\n"
    ));
    assert_eq!(msg.text, "Plain words.");
    let got: Vec<(Option<&str>, &str, usize)> = msg
        .attachments
        .iter()
        .map(|a| (a.name.as_deref(), a.content_type.as_str(), a.size))
        .collect();
    assert_eq!(
        got,
        [
            (None, "image/png", 8),
            (Some("passwd"), "text/plain", 4),
            (Some("report.pdf"), "application/octet-stream", 4),
            (Some("naïve plan.txt"), "application/x-thing", 1),
            (None, "text/plain", 7),
        ]
    );
}

#[test]
fn errors_are_only_for_non_mail() {
    assert!(matches!(parse(b"", &limits()), Err(ParseError::Empty)));
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    assert!(matches!(
        parse(&garbage, &limits()),
        Err(ParseError::NotAMessage(_))
    ));
    assert!(matches!(
        parse(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", &limits()),
        Err(ParseError::NotAMessage(_))
    ));
    assert!(matches!(
        parse(b"just some words\nand more words\n", &limits()),
        Err(ParseError::NotAMessage(_))
    ));
    let small = ParseLimits {
        max_size: 10,
        ..limits()
    };
    assert!(matches!(
        parse(b"From: a@example.com\n\nhello\n", &small),
        Err(ParseError::TooLarge { size: 27, max: 10 })
    ));
    // Broken but readable mail parses, with warnings.
    let broken = parsed(
        "Subject: no from\nContent-Type: multipart/mixed; boundary=\"b\"\n\n--b\nContent-Type: text/plain; charset=fakescii\n\nstill readable\n--b\nContent-Transfer-Encoding: base64\nContent-Type: application/pdf\n\n!!!not base64!!!\n",
    );
    assert_eq!(broken.text, "still readable");
    assert!(
        broken.warnings.iter().any(|w| w.contains("fakescii")),
        "{:?}",
        broken.warnings
    );
    assert!(
        broken.warnings.iter().any(|w| w.contains("never closed")),
        "{:?}",
        broken.warnings
    );
    assert!(
        broken.warnings.iter().any(|w| w.contains("From")),
        "{:?}",
        broken.warnings
    );
}

#[test]
fn odd_framing_is_undone() {
    let cr_only = parsed("From: a@example.com\rSubject: old Mac\r\rline one\rline two\r");
    assert_eq!(
        (cr_only.subject.as_str(), cr_only.text.as_str()),
        ("old Mac", "line one\nline two")
    );
    assert!(cr_only.warnings.iter().any(|w| w.contains("CR-only")));

    let mbox = parsed(
        "From ann@example.com Mon Jan  2 10:00:00 2023\nFrom: ann@example.com\nSubject: mbox\n\nhi\n",
    );
    assert_eq!(
        mbox.from.map(|f| f.address.to_string()).as_deref(),
        Some("ann@example.com")
    );
    let bom = parsed("\u{feff}From: ann@example.com\nSubject: bom\n\nhi\n");
    assert_eq!(bom.subject, "bom");
}

fn nested_rfc822(levels: usize) -> String {
    let mut raw = String::from("From: ann@example.com\nSubject: deep\n");
    raw.push_str(&"Content-Type: message/rfc822\n\n".repeat(levels));
    raw + "Subject: inner\n\nhello\n"
}

#[test]
fn limits_trim_instead_of_failing() {
    let many = format!(
        "{PERSON}\nContent-Type: multipart/mixed; boundary=\"b\"\n\n--b\n\nbody\n{}--b--\n",
        "--b\nContent-Type: image/png; name=\"x.png\"\n\nx\n".repeat(20)
    );
    let few = ParseLimits {
        max_parts: 6,
        ..limits()
    };
    let msg = parse(many.as_bytes(), &few).expect("parses");
    assert_eq!(msg.text, "body");
    assert_eq!(msg.attachments.len(), 4);
    assert!(
        msg.warnings.iter().any(|w| w.contains("more than 6")),
        "{:?}",
        msg.warnings
    );

    let shallow = ParseLimits {
        max_depth: 2,
        ..limits()
    };
    let msg = parse(nested_rfc822(5).as_bytes(), &shallow).expect("parses");
    assert!(
        msg.warnings.iter().any(|w| w.contains("deeper than 2")),
        "{:?}",
        msg.warnings
    );
}

/// 60 000 nested message/rfc822 levels overflow a default stack inside
/// mail-parser (abort, not panic); parse must survive them.
#[test]
fn hostile_nesting_does_not_blow_the_stack() {
    let raw = nested_rfc822(60_000);
    let msg = parse(raw.as_bytes(), &limits()).expect("parses");
    assert!(msg.warnings.iter().any(|w| w.contains("deeper than")));
    let html = format!(
        "{PERSON}\nContent-Type: text/html\n\n{}deep",
        "<div><blockquote>".repeat(100_000)
    );
    assert!(parsed(&html).text.ends_with("deep"));
}

/// Truncations and random byte flips of a message must never panic.
#[test]
fn mutated_input_never_panics() {
    let sample = dsn("delivery-status", true);
    let mut seed = 0x2545_F491_4F6C_DD1D_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut ok = 0;
    for cut in 0..sample.len() {
        ok += usize::from(parse(&sample.as_bytes()[..cut], &limits()).is_ok());
    }
    for _ in 0..500 {
        let mut raw = sample.clone().into_bytes();
        for _ in 0..(next() % 6 + 1) {
            let at = (next() % raw.len() as u64) as usize;
            raw[at] = (next() & 0xff) as u8;
        }
        ok += usize::from(parse(&raw, &limits()).is_ok());
    }
    assert!(ok > 700, "only {ok} mutants parsed");
}

/// The real bounces of the shared corpus that have no delivery-status
/// part, disguised as a person's mail (From a person, no Return-Path,
/// X-Failed-Recipients or Auto-Submitted): each is still a bounce, by its
/// subject and its mail system's text. Google Groups' Japanese notice is
/// the one whose text we do not read. Skipped without the corpus.
#[test]
fn corpus_bounces_disguised_as_a_person_are_still_bounces() {
    let dir = std::env::var_os("POSTDESK_CORPUS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus")
        });
    let Ok(entries) = std::fs::read_dir(dir.join("bounces")) else {
        assert!(
            std::env::var("POSTDESK_REQUIRE_CORPUS").as_deref() != Ok("1"),
            "POSTDESK_REQUIRE_CORPUS=1 but there is no corpus at {}",
            dir.display()
        );
        eprintln!("skipped: no corpus at {}", dir.display());
        return;
    };
    let mut checked = 0;
    for entry in entries {
        let path = entry.unwrap().path();
        let raw = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let original = parse(raw.as_bytes(), &limits()).unwrap();
        let has_dsn = original
            .class
            .reason()
            .is_some_and(|r| r.contains("report-type"));
        if has_dsn || name.contains("googlegroups") {
            continue;
        }
        let mut disguised = String::new();
        let mut head = true;
        for line in raw.split_inclusive('\n') {
            head &= !line.trim().is_empty();
            let field = line.to_ascii_lowercase();
            if head
                && ["return-path", "x-failed", "auto-submitted"]
                    .iter()
                    .any(|f| field.starts_with(f))
            {
                continue;
            }
            if head && field.starts_with("from:") {
                disguised.push_str("From: Ann <ann@example.com>\n");
                continue;
            }
            disguised.push_str(line);
        }
        let class = parse(disguised.as_bytes(), &limits()).unwrap().class;
        assert!(
            matches!(&class, MailClass::Bounce(r) if r.ends_with("a mail system's text")),
            "{name}: {class:?}"
        );
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} bounces without a report");
}
