//! Staff working from their mail client, driven only by messages through
//! the binary (`postdesk ingest`, which delivers to the sent Maildir): the
//! notification with the customer's files, the reply relayed in the
//! customer's language without its command lines (with what they changed)
//! and copied to the team, "changed" and close notices, notes that stay
//! internal, commands that apply all or nothing, Cc'd people, bounces, and
//! the loops that must stop.

use crate::support;
use crate::support::outbox::{Mail, ingest, kinds, mails, new_mails, only, reply_to, take, ticket};
use crate::support::{ADDRESS, Desk};
use mail_parser::MimeHeaders;
use serde_json::Value;

const STAFF: &str = r#"
[staff]
notify = ["team@desk.example"]

[[staff.member]]
name = "Alice"
address = "alice@desk.example"
aliases = ["a.smith@desk.example"]

[[staff.member]]
name = "Bob"
address = "bob@desk.example"

[[account]]
id = "cust-fr"
name = "Client Français"
primary = "ann@customer.example"
language = "fr"
"#;

/// The customer's first message: a text and a PDF, Cc'd to a colleague,
/// to the staff member Alice and to the desk itself.
fn first_message(cc: &str) -> Vec<u8> {
    format!(
        "From: Ann Client <ann@customer.example>\r\nTo: Test Desk <{ADDRESS}>\r\n{cc}\
Subject: Facture incorrecte\r\nDate: Mon, 16 Nov 2026 10:00:00 +0100\r\n\
Message-ID: <open-1@customer.example>\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
Bonjour,\r\nma facture de novembre est fausse.\r\nAnn\r\n\
--b1\r\nContent-Type: application/pdf; name=\"facture-11.pdf\"\r\n\
Content-Disposition: attachment; filename=\"facture-11.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n\
JVBERi0xLjQKJcOkw7zDtsOfCjEgMCBvYmoKPDwvVHlwZS9DYXRhbG9nPj4KZW5kb2JqCg==\r\n\
--b1--\r\n"
    )
    .into_bytes()
}

fn staff_desk() -> Desk {
    let desk = Desk::with_extra(STAFF);
    // The declared account is applied as any mail-taking command applies it.
    desk.ok(&["account", "list"]);
    desk
}

#[test]
fn the_whole_conversation_by_mail() {
    let desk = staff_desk();

    // 1. The customer opens a ticket: receipt to her, notification to the
    //    team, with her PDF attached.
    ingest(&desk, &first_message(""));
    let sent = mails(&desk);
    assert_eq!(
        kinds(&sent),
        [
            ("receipt".into(), "ann@customer.example".into()),
            ("staff-notify".into(), "team@desk.example".into())
        ]
    );
    let notify = &sent[1];
    let n = notify.parsed();
    let from = n.from().unwrap().first().unwrap();
    assert_eq!(from.name(), Some("Ann Client via Test Desk"));
    assert_eq!(from.address(), Some(ADDRESS));
    assert_eq!(
        n.reply_to().unwrap().first().unwrap().address(),
        Some(ADDRESS)
    );
    assert_eq!(notify.subject(), "[DESK #1] Facture incorrecte");
    let head = notify.head();
    assert!(head.contains("Auto-Submitted: auto-generated"), "{head}");
    assert!(
        head.contains(&format!("X-Postdesk-Loop: {ADDRESS}")),
        "{head}"
    );
    let text = notify.text();
    for want in [
        "New ticket #1 from Ann Client <ann@customer.example>.",
        "ma facture de novembre est fausse.",
        "Account:      cust-fr",
        "facture-11.pdf (application/pdf",
        "#type TYPE",
    ] {
        assert!(text.contains(want), "{want:?} missing:\n{text}");
    }
    assert_eq!(n.attachment_count(), 1);
    let pdf = n.attachment(0).unwrap();
    assert_eq!(pdf.attachment_name(), Some("facture-11.pdf"));
    assert!(pdf.contents().starts_with(b"%PDF-1.4"), "the file itself");

    // 2. Alice answers the notification, changing the type on the way.
    let answer = reply_to(
        notify,
        "Alice Smith <alice@desk.example>",
        "alice-1@desk.example",
        "#type billing\r\n\r\nBonjour Ann,\r\nnous corrigeons la facture.",
    );
    ingest(&desk, &answer);
    let after = new_mails(&desk, 2);
    // One mail to Ann (the answer, then what changed), one copy to the team.
    assert_eq!(
        kinds(&after),
        [
            ("relay".into(), "ann@customer.example".into()),
            ("staff-notify".into(), "team@desk.example".into()),
        ]
    );
    let relay = &after[0];
    let r = relay.parsed();
    let text = relay.text();
    assert!(
        text.starts_with("Bonjour Ann,\nnous corrigeons la facture."),
        "{text}"
    );
    assert!(
        !text.contains("#type"),
        "the command line is not relayed: {text}"
    );
    assert!(!text.contains("> "), "her quote is not relayed: {text}");
    assert!(text.contains("Alice\nTest Desk"), "signed: {text}");
    assert!(text.contains("Pour répondre"), "in French: {text}");
    assert!(
        text.contains("ma facture de novembre est fausse."),
        "history in our format: {text}"
    );
    let from = r.from().unwrap().first().unwrap();
    assert_eq!(from.address(), Some(ADDRESS));
    assert_eq!(from.name(), Some("Alice via Test Desk"));
    assert_eq!(relay.subject(), "Re: [DESK #1] Facture incorrecte");
    assert_eq!(r.in_reply_to().as_text(), Some("open-1@customer.example"));
    assert!(
        !relay.head().contains("Auto-Submitted"),
        "a person's answer is not automatic"
    );
    assert!(relay.head().contains("X-Postdesk-Loop"), "{}", relay.head());
    assert!(
        text.contains("Le type de ce ticket est maintenant : billing."),
        "what changed, in French: {text}"
    );
    let copy = only(&after, "staff-notify", "team@desk.example").text();
    assert!(
        copy.contains("Alice answered the customer on ticket #1:"),
        "{copy}"
    );
    assert!(copy.contains("The ticket's type is now billing."), "{copy}");
    let t = ticket(&desk, 1);
    assert_eq!(t["status"], "waiting-for-customer");
    assert_eq!(t["type"], "billing");
    let shown: Vec<&Value> = t["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["kind"] == "staff-reply")
        .collect();
    assert_eq!(shown.len(), 1, "{t:#}");
    assert_eq!(
        shown[0]["text"],
        "Bonjour Ann,\nnous corrigeons la facture."
    );

    // 3. Ann answers the relay: the team gets her new words, not her quote.
    let after = take(
        &desk,
        &reply_to(
            relay,
            "Ann Client <ann@customer.example>",
            "ann-2@customer.example",
            "Merci, j'attends la nouvelle facture.",
        ),
    );
    assert_eq!(
        kinds(&after),
        [("staff-notify".into(), "team@desk.example".into())]
    );
    let text = after[0].text();
    assert!(
        text.contains("Ann Client <ann@customer.example> replied on ticket #1."),
        "{text}"
    );
    assert!(
        text.contains("Merci, j'attends la nouvelle facture."),
        "{text}"
    );
    assert!(
        text.contains("Alice (staff)"),
        "her answer in the history: {text}"
    );
    assert_eq!(ticket(&desk, 1)["status"], "in-progress");

    // 4. Bob writes an internal note: nothing for Ann, the team is told.
    let after = take(
        &desk,
        &reply_to(
            &after[0],
            "bob@desk.example",
            "bob-1@desk.example",
            "#note\r\nAccounting says the credit note goes out Friday.",
        ),
    );
    assert_eq!(
        kinds(&after),
        [("staff-notify".into(), "team@desk.example".into())]
    );
    assert!(
        after[0].text().contains("Bob added an internal note"),
        "{}",
        after[0].text()
    );
    assert_eq!(ticket(&desk, 1)["status"], "in-progress");

    // 5. Alice closes it: both sides get the close notice with the whole
    //    history; the note stays on the staff side.
    let after = take(
        &desk,
        &reply_to(
            &after[0],
            "Alice Smith <a.smith@desk.example>",
            "alice-2@desk.example",
            "#close",
        ),
    );
    assert_eq!(
        kinds(&after),
        [
            ("closed".into(), "ann@customer.example".into()),
            ("closed".into(), "team@desk.example".into()),
        ]
    );
    let customer = after[0].text();
    for want in [
        "est maintenant fermé",
        "ma facture de novembre est fausse.",
        "nous corrigeons la facture.",
        "Merci, j'attends la nouvelle facture.",
    ] {
        assert!(customer.contains(want), "{want:?} missing:\n{customer}");
    }
    assert!(
        !customer.contains("credit note"),
        "the note leaked: {customer}"
    );
    assert!(!customer.contains("#close"), "{customer}");
    let staff = after[1].text();
    assert!(staff.contains("credit note goes out Friday"), "{staff}");
    assert!(staff.contains("nous corrigeons la facture."), "{staff}");
    assert_eq!(ticket(&desk, 1)["status"], "closed");
    // Ann got exactly: receipt, relay (with the type change), close notice.
    let to_ann: Vec<String> = mails(&desk)
        .into_iter()
        .filter(|m| m.to("ann@customer.example"))
        .map(|m| m.kind)
        .collect();
    assert_eq!(to_ann, ["receipt", "relay", "closed"]);
    // Everything we sent went out and parses back.
    assert_eq!(desk.sent().len(), mails(&desk).len());
}

#[test]
fn a_command_error_is_answered_and_nothing_is_half_applied() {
    let desk = staff_desk();
    ingest(&desk, &first_message(""));
    let notify = mails(&desk)[1].clone();

    // A line not understood: nothing at all happens, Alice is told.
    let after = take(
        &desk,
        &reply_to(
            &notify,
            "alice@desk.example",
            "bad-1@desk.example",
            "#type billing\r\n#status sleeping\r\n#frobnicate now\r\nBonjour Ann, c'est corrigé.",
        ),
    );
    assert_eq!(
        kinds(&after),
        [("staff-error".into(), "alice@desk.example".into())]
    );
    let error = after[0].text();
    assert!(
        error.contains("line 2: #status sleeping: unknown status"),
        "{error}"
    );
    assert!(
        error.contains("line 3: #frobnicate now: unknown command"),
        "{error}"
    );
    assert!(error.contains("Nothing of it was applied"), "{error}");
    assert!(after[0].head().contains("Auto-Submitted: auto-replied"));
    let t = ticket(&desk, 1);
    assert_eq!(t["type"], "technical");
    assert_eq!(t["status"], "new");

    // Every line understood, but the ticket refuses one (it is not closed):
    // the type change and the relay before it are undone too.
    let after = take(
        &desk,
        &reply_to(
            &notify,
            "alice@desk.example",
            "bad-2@desk.example",
            "#type billing\r\n#reopen\r\nBonjour Ann, c'est corrigé.",
        ),
    );
    assert_eq!(
        kinds(&after),
        [("staff-error".into(), "alice@desk.example".into())]
    );
    let error = after[0].text();
    assert!(error.contains("#reopen"), "{error}");
    assert!(error.contains("not closed"), "{error}");
    let t = ticket(&desk, 1);
    assert_eq!(t["type"], "technical", "{t:#}");
    assert_eq!(t["status"], "new");
    let history = t["history"].as_array().unwrap();
    assert!(
        !history
            .iter()
            .any(|h| h["kind"] == "type-change" || h["kind"] == "staff-reply"),
        "{t:#}"
    );
    // The refused mails are kept, marked as such.
    let refused = history
        .iter()
        .filter(|h| {
            h["detail"]
                .as_str()
                .unwrap()
                .contains("not applied, nothing relayed")
        })
        .count();
    assert_eq!(refused, 2, "{t:#}");

    // Sent again, corrected: it all applies.
    let after = take(
        &desk,
        &reply_to(
            &notify,
            "alice@desk.example",
            "good@desk.example",
            "#type billing\r\n#hold\r\nBonjour Ann, c'est corrigé.",
        ),
    );
    assert_eq!(
        kinds(&after),
        [
            ("relay".into(), "ann@customer.example".into()),
            ("staff-notify".into(), "team@desk.example".into()),
        ]
    );
    let relay = after[0].text();
    assert!(relay.contains("maintenant : billing."), "{relay}");
    // The status by its French name (issue 11, point 3).
    assert!(relay.contains("maintenant : en suspens."), "{relay}");
    let t = ticket(&desk, 1);
    assert_eq!(t["type"], "billing");
    assert_eq!(t["status"], "on-hold");
}

#[test]
fn commands_from_a_customer_are_ordinary_text() {
    let desk = staff_desk();
    ingest(&desk, &first_message(""));
    let receipt = mails(&desk)[0].clone();
    let after = take(
        &desk,
        &reply_to(
            &receipt,
            "ann@customer.example",
            "ann-cmd@customer.example",
            "#close\r\n#type refund\r\nPlease hurry.",
        ),
    );
    let t = ticket(&desk, 1);
    assert_eq!(t["status"], "in-progress");
    assert_eq!(t["type"], "technical");
    assert_eq!(
        kinds(&after),
        [("staff-notify".into(), "team@desk.example".into())]
    );
    assert!(
        after[0].text().contains("#close\n    #type refund"),
        "{}",
        after[0].text()
    );
}

#[test]
fn a_forged_staff_address_is_no_staff_where_authentication_is_checked() {
    let desk = Desk::with_extra(&format!(
        "{STAFF}\n[intake]\nauthserv_id = \"mx.desk.example\"\n"
    ));
    desk.ok(&["account", "list"]);
    ingest(&desk, &first_message(""));
    let notify = mails(&desk)[1].clone();
    // Our MTA says the From is forged: even an answer to the notification
    // (which a forwarded notification could give away) is held, and Alice
    // asked whether she wrote it.
    let forged = [
        b"Authentication-Results: mx.desk.example; dmarc=fail header.from=desk.example\r\n"
            .as_slice(),
        &reply_to(
            &notify,
            "alice@desk.example",
            "forged@evil.example",
            "#close\r\nClosing this.",
        ),
    ]
    .concat();
    let after = take(&desk, &forged);
    let t = ticket(&desk, 1);
    assert_eq!(t["status"], "new", "a forged #close closed nothing");
    assert_eq!(
        kinds(&after),
        [("confirm".into(), "alice@desk.example".into())],
        "nothing relayed; Alice asked"
    );
    assert!(
        after[0].text().contains("could not verify came from you"),
        "{}",
        after[0].text()
    );

    // The same mail, stamped genuine by our own MTA, is Alice's.
    let genuine = [
        b"Authentication-Results: mx.desk.example; dmarc=pass header.from=desk.example\r\n"
            .as_slice(),
        &reply_to(
            &notify,
            "alice@desk.example",
            "real@desk.example",
            "#close\r\nClosing this.",
        ),
    ]
    .concat();
    ingest(&desk, &genuine);
    assert_eq!(ticket(&desk, 1)["status"], "closed");
}

/// The default desk has no authserv-id: a staff From is proven by
/// answering a mail the staff got (only they have its Message-ID), or by
/// the member confirming. A forger who copies the token is held.
#[test]
fn a_forged_staff_address_is_held_until_the_member_confirms() {
    let desk = staff_desk();
    ingest(&desk, &first_message(""));
    let notify = mails(&desk)[1].clone();
    // The forger knows the token, and computes the Message-IDs of the old
    // scheme: nothing of it is ours.
    let forged = format!(
        "From: Alice <alice@desk.example>\r\nTo: {ADDRESS}\r\nSubject: Re: {}\r\n\
Message-ID: <phish@evil.example>\r\nIn-Reply-To: <1.staff-notify.0123456789abcdef0123@desk.example>\r\n\
\r\n#close\r\nPlease log in at http://evil.example/ to keep your mailbox.\r\n",
        notify.subject()
    );
    let after = take(&desk, forged.as_bytes());
    assert_eq!(ticket(&desk, 1)["status"], "new");
    assert_eq!(
        kinds(&after),
        [("confirm".into(), "alice@desk.example".into())],
        "no relay to the customer; Alice asked"
    );
    assert!(
        mails(&desk)
            .iter()
            .all(|m| !m.text().contains("evil.example/") || m.to("alice@desk.example")),
        "the phishing text reached nobody but Alice"
    );
    // Alice did write it after all: she confirms, and it is carried out.
    let confirm = &after[0];
    let yes = format!(
        "From: Alice <alice@desk.example>\r\nTo: {ADDRESS}\r\nSubject: Re: {}\r\n\
Message-ID: <yes@desk.example>\r\nIn-Reply-To: <{}>\r\n\r\nYes.\r\n",
        confirm.subject(),
        confirm.message_id()
    );
    ingest(&desk, yes.as_bytes());
    assert_eq!(ticket(&desk, 1)["status"], "closed");
}

#[test]
fn cc_on_the_first_message_are_copied_until_staff_include_them() {
    let desk = staff_desk();
    ingest(
        &desk,
        &first_message(
            "Cc: Carl <carl@customer.example>, alice@desk.example, support@desk.example\r\n",
        ),
    );
    let t = ticket(&desk, 1);
    let people = |t: &serde_json::Value| -> Vec<(String, String)> {
        t["participants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["address"].as_str().unwrap().to_string(),
                    p["role"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    assert_eq!(
        people(&t),
        [
            ("ann@customer.example".into(), "requester".into()),
            ("carl@customer.example".into(), "copied".into())
        ],
        "staff and our own address are never participants; Carl is only copied"
    );
    // The receipt went to Ann alone; the notification names Carl for staff.
    let sent = mails(&desk);
    assert_eq!(sent[0].rcpt, ["ann@customer.example"]);
    let notify = sent[1].clone();
    assert!(
        notify.text().contains("Copied by the customer")
            && notify.text().contains("carl@customer.example"),
        "{}",
        notify.text()
    );
    // A staff answer goes to Ann only.
    let before = mails(&desk).len();
    ingest(
        &desk,
        &reply_to(
            &notify,
            "alice@desk.example",
            "a1@desk.example",
            "Bonjour Ann.",
        ),
    );
    let relay = &new_mails(&desk, before)[0];
    assert_eq!(relay.kind, "relay");
    assert_eq!(relay.rcpt, ["ann@customer.example"]);

    // Alice includes Carl: he gets this answer and what follows.
    let before = mails(&desk).len();
    ingest(
        &desk,
        &reply_to(
            &notify,
            "alice@desk.example",
            "a1b@desk.example",
            "#cc carl@customer.example\r\nBonjour à tous.",
        ),
    );
    let relay = &new_mails(&desk, before)[0];
    assert_eq!(
        relay.rcpt,
        ["ann@customer.example", "carl@customer.example"]
    );
    let r = relay.parsed();
    assert_eq!(
        r.to().unwrap().first().unwrap().address(),
        Some("ann@customer.example")
    );
    assert_eq!(
        r.cc().unwrap().first().unwrap().address(),
        Some("carl@customer.example")
    );
    assert!(
        people(&ticket(&desk, 1)).contains(&("carl@customer.example".into(), "included".into()))
    );
    // #cc of a staff address is refused.
    let before = mails(&desk).len();
    ingest(
        &desk,
        &reply_to(
            &notify,
            "alice@desk.example",
            "a1c@desk.example",
            "#cc alice@desk.example\r\nx",
        ),
    );
    assert_eq!(new_mails(&desk, before)[0].kind, "staff-error");

    // Carl, a participant, may write to the ticket.
    ingest(
        &desk,
        &reply_to(
            relay,
            "carl@customer.example",
            "c1@customer.example",
            "Me too.",
        ),
    );
    assert_eq!(desk.tickets().len(), 1);

    // Dropping the requester is refused; dropping Carl works.
    let before = mails(&desk).len();
    ingest(
        &desk,
        &reply_to(
            &notify,
            "alice@desk.example",
            "a2@desk.example",
            "#drop ann@customer.example",
        ),
    );
    let after = new_mails(&desk, before);
    assert_eq!(after[0].kind, "staff-error");
    assert!(
        after[0].text().contains("cannot be dropped"),
        "{}",
        after[0].text()
    );
    ingest(
        &desk,
        &reply_to(
            &notify,
            "alice@desk.example",
            "a3@desk.example",
            "#drop carl@customer.example\r\nOnly for you now, Ann.",
        ),
    );
    let relay = mails(&desk)
        .into_iter()
        .rfind(|m| m.kind == "relay")
        .unwrap();
    assert_eq!(relay.rcpt, ["ann@customer.example"]);
}

/// Outlook and webmail clients often send HTML only: the commands and the
/// new text are read from it all the same, and the quoted part is left out.
#[test]
fn an_html_only_staff_reply_is_understood() {
    let desk = staff_desk();
    ingest(&desk, &first_message(""));
    let notify = mails(&desk)[1].clone();
    let their = notify.message_id();
    let answer = format!(
        "From: Alice <alice@desk.example>\r\nTo: {ADDRESS}\r\n\
Subject: RE: {}\r\nDate: Mon, 16 Nov 2026 11:00:00 +0100\r\n\
Message-ID: <a-html@desk.example>\r\nIn-Reply-To: <{their}>\r\nReferences: <{their}>\r\n\
MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
<html><body><div>#type billing</div><div>Bonjour Ann,</div><div><br></div>\
<div>la facture est <b>corrig&eacute;e</b>.</div>\
<div><br></div><div style=\"border-top:solid #E1E1E1 1.0pt\"><p><b>From:</b> Test Desk\
 &lt;{ADDRESS}&gt;<br><b>Sent:</b> Monday, November 16, 2026 10:00<br>\
<b>Subject:</b> {}</p></div><blockquote><p>ma facture de novembre est fausse.</p></blockquote>\
</body></html>\r\n",
        notify.subject(),
        notify.subject()
    );
    let after = take(&desk, answer.as_bytes());
    let relay = only(&after, "relay", "ann@customer.example");
    let text = relay.text();
    assert!(text.starts_with("Bonjour Ann,"), "{text}");
    assert!(text.contains("corrigée"), "{text}");
    assert!(!text.contains("#type"), "{text}");
    assert!(
        !text.contains("Sent:"),
        "the quoted part is left out: {text}"
    );
    assert_eq!(ticket(&desk, 1)["type"], "billing");
}

/// A staff reply with a file, sent to the desk and Cc'd to one participant
/// directly: the relay carries the file and skips the one who has it.
#[test]
fn a_staff_reply_passes_its_file_on_and_skips_who_it_copied_directly() {
    let desk = staff_desk();
    ingest(
        &desk,
        &first_message("Cc: Carl <carl@customer.example>\r\n"),
    );
    let notify = mails(&desk)[1].clone();
    let their = notify.message_id();
    let answer = format!(
        "From: Alice <alice@desk.example>\r\nTo: {ADDRESS}\r\nCc: carl@customer.example\r\n\
Subject: Re: {}\r\nDate: Mon, 16 Nov 2026 11:00:00 +0100\r\n\
Message-ID: <a-file@desk.example>\r\nIn-Reply-To: <{their}>\r\nReferences: <{their}>\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"s1\"\r\n\r\n\
--s1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nVoici la facture corrigée.\r\n\
--s1\r\nContent-Type: application/pdf; name=\"facture-11-v2.pdf\"\r\n\
Content-Disposition: attachment; filename=\"facture-11-v2.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n\
JVBERi0xLjQKJSBjb3JyZWN0ZWQK\r\n--s1--\r\n",
        notify.subject()
    );
    let after = take(&desk, answer.as_bytes());
    assert_eq!(
        kinds(&after),
        [
            ("relay".into(), "ann@customer.example".into()),
            ("staff-notify".into(), "team@desk.example".into()),
        ],
        "Carl got Alice's own mail: no second copy"
    );
    let r = after[0].parsed();
    assert!(
        after[0].text().starts_with("Voici la facture corrigée."),
        "{}",
        after[0].text()
    );
    assert_eq!(r.attachment_count(), 1, "her file is passed on");
    let pdf = r.attachment(0).unwrap();
    assert_eq!(pdf.attachment_name(), Some("facture-11-v2.pdf"));
    assert_eq!(pdf.contents(), b"%PDF-1.4\n% corrected\n");
    let history = ticket(&desk, 1)["history"].to_string();
    assert!(
        history.contains("relay not sent to carl@customer.example"),
        "{history}"
    );
}

#[test]
fn assign_priority_account_and_merge_by_mail() {
    let desk = Desk::with_extra(&format!(
        "{STAFF}\n[[account]]\nid = \"cust-2\"\nprimary = \"boss@two.example\"\ndelegates = [\"it@partner.example\"]\n"
    ));
    desk.ok(&["account", "list"]);
    // A stranger (accepted, unverified) and Ann.
    ingest(
        &desk,
        &support::customer_mail("zoe@two.example", "VPN down", "z1@two.example", "No VPN."),
    );
    ingest(&desk, &first_message(""));
    let notify = mails(&desk)
        .into_iter()
        .find(|m| m.kind == "staff-notify" && m.subject().contains("#1]"))
        .unwrap();
    assert!(
        notify.text().contains("UNVERIFIED SENDER"),
        "{}",
        notify.text()
    );

    ingest(
        &desk,
        &reply_to(
            &notify,
            "alice@desk.example",
            "cmd-1@desk.example",
            "#assign bob\r\n#priority high\r\n#account cust-2",
        ),
    );
    let t = ticket(&desk, 1);
    assert_eq!(t["assignee"], "bob@desk.example");
    assert_eq!(t["priority"], true);
    assert_eq!(t["account"], "cust-2");
    assert_eq!(t["unverified"], false);
    assert!(
        t["participants"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["address"] == "it@partner.example" && p["role"] == "delegate"),
        "{t:#}"
    );
    // The assignee now gets the ticket's staff mail too.
    let after = take(
        &desk,
        &support::customer_mail(
            "zoe@two.example",
            "Re: [DESK #1] VPN down",
            "z2@two.example",
            "Still down.",
        ),
    );
    assert_eq!(after[0].kind, "staff-notify");
    assert_eq!(after[0].rcpt, ["team@desk.example", "bob@desk.example"]);
    assert!(
        after[0]
            .text()
            .contains("Assigned to:  Bob <bob@desk.example>")
    );
    assert!(after[0].text().contains("PRIORITY"));

    // Unknown staff, account, ticket: refused, nothing applied.
    for (line, says) in [
        ("#assign carol", "no staff member \"carol\""),
        ("#account nobody", "no account \"nobody\""),
        ("#merge 99", "no ticket #99"),
        ("#merge 1", "into itself"),
    ] {
        let after = take(
            &desk,
            &reply_to(
                &notify,
                "alice@desk.example",
                &format!("x{}@desk.example", mails(&desk).len()),
                line,
            ),
        );
        assert_eq!(after.len(), 1, "{line}: {:#?}", kinds(&after));
        assert!(
            after[0].text().contains(says),
            "{line}: {}",
            after[0].text()
        );
    }

    // #merge: ticket 1 goes into ticket 2; later mail for #1 lands on #2.
    ingest(
        &desk,
        &reply_to(
            &notify,
            "alice@desk.example",
            "merge@desk.example",
            "#merge 2",
        ),
    );
    let one = ticket(&desk, 1);
    assert_eq!(one["status"], "closed");
    assert_eq!(one["merged_into"], 2);
    let two = ticket(&desk, 2);
    let texts: Vec<String> = two["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|h| h["text"].as_str().map(String::from))
        .collect();
    assert!(texts.iter().any(|t| t.contains("No VPN.")), "{two:#}");
    ingest(
        &desk,
        &support::customer_mail(
            "zoe@two.example",
            "Re: [DESK #1] VPN down",
            "z3@two.example",
            "After the merge.",
        ),
    );
    let two = ticket(&desk, 2);
    assert!(
        two["history"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["text"] == "After the merge."),
        "{two:#}"
    );
    assert_eq!(desk.tickets().len(), 2);
}

/// A delivery-status notification in the form Postfix writes it (as in
/// the corpus, bounces/sisimai__lhost-postfix-01.eml), about `receipt`.
fn postfix_dsn(receipt: &Mail, recipient: &str) -> Vec<u8> {
    let id = receipt.message_id();
    let subject = receipt.subject();
    format!(
        "Return-Path: <>\r\nDate: Mon, 16 Nov 2026 10:00:05 +0100 (CET)\r\n\
From: MAILER-DAEMON@mx.customer.example (Mail Delivery System)\r\n\
Subject: Undelivered Mail Returned to Sender\r\nTo: {ADDRESS}\r\nAuto-Submitted: auto-replied\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status;\r\n\
\tboundary=\"B7C2.1763283605/mx.customer.example\"\r\n\
Message-Id: <20261116090005.B7C2@mx.customer.example>\r\n\r\n\
This is a MIME-encapsulated message.\r\n\r\n\
--B7C2.1763283605/mx.customer.example\r\nContent-Description: Notification\r\n\
Content-Type: text/plain; charset=us-ascii\r\n\r\n\
This is the mail system at host mx.customer.example.\r\n\r\n\
I'm sorry to have to inform you that your message could not\r\nbe delivered to one or more recipients. It's attached below.\r\n\r\n\
<{recipient}>: host mailstore.customer.example[192.0.2.7] said: 550 5.1.1\r\n    <{recipient}>: Recipient address rejected: User unknown in virtual mailbox\r\n    table (in reply to RCPT TO command)\r\n\r\n\
--B7C2.1763283605/mx.customer.example\r\nContent-Description: Delivery report\r\n\
Content-Type: message/delivery-status\r\n\r\n\
Reporting-MTA: dns; mx.customer.example\r\nX-Postfix-Queue-ID: B7C2\r\n\
X-Postfix-Sender: rfc822; {ADDRESS}\r\nArrival-Date: Mon, 16 Nov 2026 10:00:04 +0100 (CET)\r\n\r\n\
Final-Recipient: rfc822; {recipient}\r\nOriginal-Recipient: rfc822;{recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n\
Remote-MTA: dns; mailstore.customer.example\r\n\
Diagnostic-Code: smtp; 550 5.1.1 <{recipient}>: Recipient address rejected:\r\n    User unknown in virtual mailbox table\r\n\r\n\
--B7C2.1763283605/mx.customer.example\r\nContent-Description: Undelivered Message Headers\r\n\
Content-Type: text/rfc822-headers\r\n\r\n\
From: Test Desk <{ADDRESS}>\r\nTo: {recipient}\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n\
Auto-Submitted: auto-replied\r\n\r\n\
--B7C2.1763283605/mx.customer.example--\r\n"
    )
    .into_bytes()
}

#[test]
fn a_bounce_is_filed_staff_are_told_and_the_address_is_flagged() {
    let desk = staff_desk();
    ingest(&desk, &first_message(""));
    let receipt = mails(&desk)[0].clone();
    assert_eq!(receipt.kind, "receipt");

    let after = take(&desk, &postfix_dsn(&receipt, "ann@customer.example"));
    assert_eq!(
        kinds(&after),
        [("staff-notify".into(), "team@desk.example".into())],
        "staff told, nothing sent back"
    );
    let text = after[0].text();
    for want in [
        "A mail about ticket #1 could not be delivered",
        "ann@customer.example: failed for good (5.1.1)",
        "smtp; 550 5.1.1 <ann@customer.example>: Recipient address rejected: User unknown in virtual mailbox table",
        "Nothing was sent back",
    ] {
        assert!(text.contains(want), "{want:?} missing:\n{text}");
    }
    let t = ticket(&desk, 1);
    assert_eq!(t["status"], "new", "a bounce is no sign of life");
    let history = t["history"].as_array().unwrap();
    assert!(
        history.iter().any(
            |h| h["direction"] == "in" && h["subject"] == "Undelivered Mail Returned to Sender"
        ),
        "the report is filed on the ticket: {t:#}"
    );
    assert!(
        history
            .iter()
            .any(|h| h["detail"].as_str().unwrap().contains("delivery failed:")),
        "{t:#}"
    );
    let shown = desk.ok(&["ticket", "show", "1"]);
    assert!(shown.contains("FAILING since"), "{shown}");

    // Later mail to the address still goes, flagged to staff: the relay's
    // author is told, and the next notification lists it.
    let notify = mails(&desk)[1].clone();
    let after = take(
        &desk,
        &reply_to(
            &notify,
            "alice@desk.example",
            "a1@desk.example",
            "Bonjour Ann.",
        ),
    );
    assert_eq!(
        kinds(&after),
        [
            ("relay".into(), "ann@customer.example".into()),
            ("staff-notify".into(), "team@desk.example".into()),
            ("staff-error".into(), "alice@desk.example".into()),
        ]
    );
    let error = only(&after, "staff-error", "alice@desk.example").text();
    assert!(error.contains("ann@customer.example: 5.1.1"), "{error}");
    let after = take(
        &desk,
        &support::customer_mail(
            "ann@customer.example",
            "Re: [DESK #1] Facture incorrecte",
            "ann-2@customer.example",
            "Did you write?",
        ),
    );
    assert!(
        after[0].text().contains("Failing addresses"),
        "{}",
        after[0].text()
    );
}

#[test]
fn a_bounce_of_staff_mail_is_not_mailed_to_staff_again() {
    let desk = staff_desk();
    ingest(&desk, &first_message(""));
    let notify = mails(&desk)[1].clone();
    let before = mails(&desk).len();
    ingest(&desk, &postfix_dsn(&notify, "team@desk.example"));
    assert_eq!(mails(&desk).len(), before, "no mail: it would bounce again");
    let t = ticket(&desk, 1);
    assert!(
        t["history"].as_array().unwrap().iter().any(|h| h["detail"]
            .as_str()
            .unwrap()
            .contains("staff not told by mail")),
        "{t:#}"
    );
}

#[test]
fn our_own_mail_coming_back_is_quarantined() {
    let desk = staff_desk();
    ingest(&desk, &first_message(""));
    // The team list contains the support address: the notification arrives
    // at the desk again, with our loop header.
    let notify = mails(&desk)[1].clone();
    let before = mails(&desk).len();
    ingest(&desk, &notify.raw);
    assert_eq!(mails(&desk).len(), before, "nothing answered");
    let held = desk.json(&["quarantine", "list", "--json"]);
    assert_eq!(held[0]["kind"], "loop", "{held:#}");
    assert!(
        held[0]["reason"]
            .as_str()
            .unwrap()
            .contains("X-Postdesk-Loop"),
        "{held:#}"
    );
    assert_eq!(desk.tickets().len(), 1);
}

#[test]
fn a_staff_out_of_office_is_kept_and_answered_by_nothing() {
    let desk = staff_desk();
    ingest(&desk, &first_message(""));
    let notify = mails(&desk)[1].clone();
    let oof = String::from_utf8(reply_to(
        &notify,
        "bob@desk.example",
        "oof-bob@desk.example",
        "#close\r\nI am away until Monday.",
    ))
    .unwrap()
    .replace(
        "MIME-Version",
        "Auto-Submitted: auto-replied\r\nMIME-Version",
    );
    let before = mails(&desk).len();
    ingest(&desk, oof.as_bytes());
    assert_eq!(mails(&desk).len(), before);
    assert_eq!(ticket(&desk, 1)["status"], "new", "no commands read");
}

/// A relay never goes to an automatic sender in a loop with us: after
/// `max_auto_replies_per_day` automatic messages from Ann, staff's reply
/// is withheld from her and Alice is told why.
#[test]
fn a_relay_is_withheld_from_a_robot_in_a_loop() {
    let desk = Desk::with_extra(&format!(
        "{STAFF}\n[intake]\nmax_auto_replies_per_day = 2\n"
    ));
    desk.ok(&["account", "list"]);
    ingest(&desk, &first_message(""));
    let notify = mails(&desk)[1].clone();
    for i in 0..2 {
        let oof = String::from_utf8(support::customer_mail(
            "ann@customer.example",
            "Réponse automatique : [DESK #1] Facture incorrecte",
            &format!("oof-{i}@customer.example"),
            "Je suis absente.",
        ))
        .unwrap()
        .replace(
            "MIME-Version",
            "Auto-Submitted: auto-replied\r\nMIME-Version",
        );
        ingest(&desk, oof.as_bytes());
    }
    let before = mails(&desk).len();
    ingest(
        &desk,
        &reply_to(
            &notify,
            "alice@desk.example",
            "a1@desk.example",
            "Bonjour Ann.",
        ),
    );
    let after = new_mails(&desk, before);
    assert_eq!(
        kinds(&after),
        [("staff-error".into(), "alice@desk.example".into())]
    );
    let text = after[0].text();
    assert!(text.contains("Your reply was not sent to"), "{text}");
    assert!(text.contains("an automatic sender in a loop"), "{text}");
}

/// `ticket set-account` and `#account` are one code path: the same flags
/// (unverified cleared, the account's priority) and the same delegates.
#[test]
fn set_account_and_hash_account_give_the_same_ticket() {
    let desk = Desk::with_extra(&format!(
        "{STAFF}\n[[account]]\nid = \"cust-2\"\nprimary = \"boss@two.example\"\npriority = true\ndelegates = [\"it@partner.example\"]\n"
    ));
    for (i, id) in ["z1@two.example", "z2@two.example"].iter().enumerate() {
        ingest(
            &desk,
            &support::customer_mail("zoe@two.example", &format!("VPN {i}"), id, "No VPN."),
        );
    }
    let notify = mails(&desk)
        .into_iter()
        .find(|m| m.kind == "staff-notify" && m.subject().contains("#1]"))
        .unwrap();
    ingest(
        &desk,
        &reply_to(
            &notify,
            "alice@desk.example",
            "acc@desk.example",
            "#account cust-2",
        ),
    );
    desk.ok(&["ticket", "set-account", "2", "cust-2"]);
    let state = |n: i64| {
        let t = ticket(&desk, n);
        let mut people: Vec<(Value, Value)> = t["participants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["address"].clone(), p["role"].clone()))
            .collect();
        // The same people; their order follows when each joined.
        people.sort_by_key(|(a, r)| format!("{a}{r}"));
        (
            t["account"].clone(),
            t["unverified"].clone(),
            t["priority"].clone(),
            people,
        )
    };
    let (one, two) = (state(1), state(2));
    assert_eq!(one, two);
    assert_eq!(one.0, "cust-2");
    assert_eq!(one.1, false);
    assert_eq!(one.2, true);
    assert!(
        one.3
            .iter()
            .any(|(a, r)| a == "it@partner.example" && r == "delegate")
    );
    for n in [1, 2] {
        let history = ticket(&desk, n)["history"].to_string();
        assert!(
            history.contains("filed under account cust-2 by"),
            "{history}"
        );
    }
}

/// `#assign` by first name, alias, prefix; an ambiguous prefix or an
/// unknown name is refused with the names it may take.
#[test]
fn assign_by_first_name_alias_and_prefix() {
    let desk = Desk::with_extra(
        r#"
[staff]
notify = ["team@desk.example"]

[[staff.member]]
name = "Alice Smith"
address = "alice@desk.example"
aliases = ["a.smith@desk.example"]

[[staff.member]]
name = "Albert Jones"
address = "albert@desk.example"

[[staff.member]]
name = "Bob Brown"
address = "bob@desk.example"
"#,
    );
    ingest(
        &desk,
        &support::customer_mail("zoe@two.example", "VPN", "z1@two.example", "No VPN."),
    );
    let notify = mails(&desk)
        .into_iter()
        .find(|m| m.kind == "staff-notify")
        .unwrap();
    for (i, (line, who)) in [
        ("#assign alice", "alice@desk.example"),
        ("#assign BOB", "bob@desk.example"),
        ("#assign A.Smith@desk.example", "alice@desk.example"),
        ("#assign alb", "albert@desk.example"),
        ("#assign bob brown", "bob@desk.example"),
    ]
    .iter()
    .enumerate()
    {
        ingest(
            &desk,
            &reply_to(
                &notify,
                "bob@desk.example",
                &format!("as{i}@desk.example"),
                line,
            ),
        );
        assert_eq!(ticket(&desk, 1)["assignee"], *who, "{line}");
    }
    let all = "the staff are: Alice Smith, Albert Jones, Bob Brown";
    for (line, says) in [
        ("#assign al", "\"al\" could be Alice Smith, Albert Jones"),
        ("#assign carol", "no staff member \"carol\""),
    ] {
        let after = take(
            &desk,
            &reply_to(
                &notify,
                "bob@desk.example",
                &format!("x{}@desk.example", mails(&desk).len()),
                line,
            ),
        );
        assert_eq!(after.len(), 1, "{line}: {:#?}", kinds(&after));
        let text = after[0].text();
        assert!(text.contains(says) && text.contains(all), "{line}: {text}");
        assert_eq!(ticket(&desk, 1)["assignee"], "bob@desk.example");
    }
}
