//! The knowledge base through the binary, over the 30 articles of
//! tests/knowledge (common hosting questions in English, French and
//! Italian): suggestions in the staff notification of a new ticket (the
//! right article first, in the ticket's language; nothing irrelevant;
//! `max_suggestions`), `kb list|show|reindex` following the folder,
//! `#kb NAME` relaying an article, and closed tickets that help answer
//! similar new ones — to staff only, never with an internal note, never
//! with `#nokb`.

use crate::support::outbox::{Mail, ingest, kinds, mails, new_mails, only, reply_to};
use crate::support::{Desk, customer_mail};

const TEAM: &str = "team@desk.example";

fn articles() -> String {
    format!("{}/tests/knowledge", env!("CARGO_MANIFEST_DIR"))
}

/// A desk with the test knowledge base, a team and Alice; `extra` goes
/// into `[knowledge]`.
fn kb_desk(path: &str, extra: &str) -> Desk {
    let desk = Desk::with_extra(&format!(
        r#"
[knowledge]
path = "{path}"
{extra}

[staff]
notify = ["{TEAM}"]

[[staff.member]]
name = "Alice"
address = "alice@desk.example"
"#
    ));
    let out = desk.ok(&["kb", "reindex"]);
    assert!(out.contains("article(s)"), "{out}");
    desk
}

/// The "  * title (source)" lines of a staff notification's suggestions.
fn suggested(mail: &Mail) -> Vec<String> {
    let text = mail.text();
    let Some((_, after)) = text.split_once("Possibly useful") else {
        return Vec::new();
    };
    after
        .lines()
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter(|l| l.starts_with("  * "))
        .map(String::from)
        .collect()
}

/// Opens a ticket; returns its staff notification and its receipt (the
/// mails that wait for their suggestions queued by `outbox flush`, as the
/// daemon's indexer would).
fn open(desk: &Desk, from: &str, id: &str, subject: &str, body: &str) -> (Mail, Mail) {
    let before = mails(desk).len();
    ingest(desk, &customer_mail(from, subject, id, body));
    desk.ok(&["outbox", "flush"]);
    let sent = new_mails(desk, before);
    (
        only(&sent, "staff-notify", TEAM).clone(),
        only(&sent, "receipt", from).clone(),
    )
}

#[test]
fn a_new_ticket_gets_the_right_article_first_in_its_language() {
    let desk = kb_desk(&articles(), "");
    let listed = desk.json(&["kb", "list", "--json"]);
    assert_eq!(listed.as_array().unwrap().len(), 30);

    // English: the mailbox password article first.
    let (notify, receipt) = open(
        &desk,
        "ann@customer.example",
        "k1@customer.example",
        "Forgot my mailbox password",
        "Hello, I forgot the password of my mailbox and cannot read my mail. Thanks, Ann",
    );
    let lines = suggested(&notify);
    assert!(!lines.is_empty() && lines.len() <= 3, "{lines:#?}");
    assert!(
        lines[0].contains("Reset a forgotten mailbox password (#kb mailbox-password)"),
        "{lines:#?}"
    );
    // Its first lines come with it.
    assert!(notify.text().contains("open the control panel"));
    // Suggestions to customers are off: the receipt has none.
    assert!(!receipt.text().contains("Possibly useful"));
    assert!(!receipt.text().contains("#kb"));

    // French, from a sender of no account: the French article first.
    let (notify, _) = open(
        &desk,
        "marie@client.example",
        "k2@client.example",
        "Mot de passe oublié",
        "Bonjour, j'ai oublié le mot de passe de ma boîte mail et je ne peux plus lire mes messages. Merci",
    );
    let lines = suggested(&notify);
    assert!(
        lines
            .first()
            .is_some_and(|l| l.contains("(#kb mot-de-passe-messagerie)")),
        "{lines:#?}"
    );

    // Italian.
    let (notify, _) = open(
        &desk,
        "luca@cliente.example",
        "k3@cliente.example",
        "Password dimenticata",
        "Buongiorno, ho dimenticato la password della casella di posta e non riesco a leggere la posta.",
    );
    let lines = suggested(&notify);
    assert!(
        lines
            .first()
            .is_some_and(|l| l.contains("(#kb password-casella)")),
        "{lines:#?}"
    );

    // Other topics find their article.
    for (subject, body, article) in [
        (
            "SSL certificate",
            "The browser says my site is not secure, how do I get https?",
            "#kb ssl-certificate",
        ),
        (
            "Transfer my domain",
            "I want to transfer my domain from my old registrar, where do I put the auth code?",
            "#kb domain-transfer",
        ),
    ] {
        let (notify, _) = open(
            &desk,
            "zoe@x.example",
            &format!("{article}@x"),
            subject,
            body,
        );
        let lines = suggested(&notify);
        assert!(
            lines.first().is_some_and(|l| l.contains(article)),
            "{subject}: {lines:#?}"
        );
    }
}

#[test]
fn nothing_irrelevant_is_suggested() {
    let desk = kb_desk(&articles(), "");
    for (i, (subject, body)) in [
        (
            "Lunch on Friday",
            "Our cat prefers tuna sandwiches to salad; shall we meet at noon?",
        ),
        ("Question", "Hello, thanks for your help. Best regards"),
        ("", ""),
        ("Réunion", "Bonjour, la réunion de jeudi est annulée. Merci"),
    ]
    .into_iter()
    .enumerate()
    {
        let (notify, _) = open(
            &desk,
            "ann@customer.example",
            &format!("n{i}@customer.example"),
            subject,
            body,
        );
        assert_eq!(suggested(&notify), Vec::<String>::new(), "{subject}");
        assert!(!notify.text().contains("Possibly useful"), "{subject}");
    }
}

#[test]
fn max_suggestions_is_respected() {
    // A ticket that matches many articles (mail, password, DNS, domain,
    // SSL, FTP, database, quota).
    let body = "My mailbox password, the DNS records of my domain, the SSL certificate, \
FTP access, the MySQL database backup and the disk quota: all of it is broken.";
    for (max, most) in [
        ("max_suggestions = 1", 1),
        ("", 3),
        ("max_suggestions = 5", 5),
    ] {
        let desk = kb_desk(&articles(), max);
        let (notify, _) = open(
            &desk,
            "ann@customer.example",
            "m1@customer.example",
            "Everything",
            body,
        );
        let lines = suggested(&notify);
        assert_eq!(lines.len(), most, "{max}: {lines:#?}");
    }
    let desk = kb_desk(&articles(), "max_suggestions = 0");
    let (notify, _) = open(
        &desk,
        "ann@customer.example",
        "m2@customer.example",
        "Everything",
        body,
    );
    assert!(suggested(&notify).is_empty());
}

#[test]
fn kb_reindex_follows_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/knowledge");
    for name in ["mailbox-password.md", "dns-records.md", "ftp-access.md"] {
        std::fs::copy(src.join(name), dir.path().join(name)).unwrap();
    }
    let desk = kb_desk(dir.path().to_str().unwrap(), "");
    let out = desk.ok(&["kb", "list"]);
    assert_eq!(out.lines().count(), 3, "{out}");
    assert!(out.contains("mailbox-password"), "{out}");

    // Unchanged: nothing written.
    let out = desk.ok(&["kb", "reindex"]);
    assert!(
        out.starts_with("3 article(s): 0 new or changed, 0 removed"),
        "{out}"
    );

    // One changed, one removed, one added, two bad ones skipped by name.
    std::fs::write(
        dir.path().join("dns-records.md"),
        "DNS zone editing\ntags: dns\nlanguage: en\n\nUse the zone editor now.\n",
    )
    .unwrap();
    std::fs::remove_file(dir.path().join("ftp-access.md")).unwrap();
    std::fs::write(
        dir.path().join("webmail.txt"),
        "Webmail address\n\nGo to webmail.example.\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("empty.md"), "\n\n").unwrap();
    std::fs::write(
        dir.path().join("german.md"),
        "Titel\nlanguage: de\n\nText\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.pdf"), "not an article").unwrap();
    let out = desk.ok(&["kb", "reindex"]);
    assert!(
        out.starts_with("3 article(s): 2 new or changed, 1 removed"),
        "{out}"
    );
    assert!(out.contains("empty.md: it has no title line"), "{out}");
    assert!(
        out.contains("german.md: language de is not one of en, fr, it"),
        "{out}"
    );
    assert!(!out.contains("notes.pdf"), "{out}");

    let shown = desk.ok(&["kb", "show", "dns-records"]);
    assert!(
        shown.starts_with("DNS zone editing\ntags: dns\nlanguage: en\n"),
        "{shown}"
    );
    assert!(shown.contains("Use the zone editor now."));
    let out = desk.run(&["kb", "show", "ftp-access"], b"");
    assert_eq!(out.status.code(), Some(65));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no knowledge base entry"));
}

#[test]
fn kb_relays_the_article_merged_with_the_staff_text() {
    let desk = kb_desk(&articles(), "");
    let (notify, _) = open(
        &desk,
        "ann@customer.example",
        "r1@customer.example",
        "Forgot my mailbox password",
        "I forgot the password of my mailbox.",
    );
    let before = mails(&desk).len();

    // The article in the middle of the text, where the line was.
    ingest(
        &desk,
        &reply_to(
            &notify,
            "Alice <alice@desk.example>",
            "alice-kb1@desk.example",
            "Hello Ann,\r\n\r\n#kb mailbox-password\r\n\r\nBest regards, Alice",
        ),
    );
    let after = new_mails(&desk, before);
    let relay = only(&after, "relay", "ann@customer.example");
    let text = relay.text();
    let hello = text.find("Hello Ann,").expect("the staff text");
    let title = text
        .find("Reset a forgotten mailbox password")
        .expect("the article's title");
    let body = text
        .find("open the control panel")
        .expect("the article's text");
    let bye = text
        .find("Best regards, Alice")
        .expect("the staff text after");
    assert!(hello < title && title < body && body < bye, "{text}");
    assert!(!text.contains("#kb"), "{text}");

    // As a command alone: the article is the answer.
    let before = mails(&desk).len();
    ingest(
        &desk,
        &reply_to(
            &notify,
            "Alice <alice@desk.example>",
            "alice-kb2@desk.example",
            "#kb ftp-access",
        ),
    );
    let after = new_mails(&desk, before);
    let relay = only(&after, "relay", "ann@customer.example");
    assert!(relay.text().contains("Connect with FTP or SFTP"));

    // An unknown article: nothing is relayed, Alice is told.
    let before = mails(&desk).len();
    ingest(
        &desk,
        &reply_to(
            &notify,
            "Alice <alice@desk.example>",
            "alice-kb3@desk.example",
            "#kb no-such-article\r\n\r\nHi",
        ),
    );
    let after = new_mails(&desk, before);
    assert_eq!(
        kinds(&after),
        [("staff-error".into(), "alice@desk.example".into())]
    );
    assert!(after[0].text().contains("no-such-article"));
}

#[test]
fn a_closed_ticket_helps_answer_a_similar_new_one_for_staff_only() {
    let desk = kb_desk(
        &articles(),
        "learn_from_closed = true\nsuggest_to_customer = false",
    );

    // Ticket 1: about nothing in the knowledge base; a note, then the
    // answer that closes it.
    let (notify, _) = open(
        &desk,
        "ann@customer.example",
        "c1@customer.example",
        "Webcam flicker",
        "My webcam flickers since the camera driver update.",
    );
    ingest(
        &desk,
        &reply_to(
            &notify,
            "Alice <alice@desk.example>",
            "alice-c0@desk.example",
            "#note\r\n\r\nzebra internal remark about this customer",
        ),
    );
    ingest(
        &desk,
        &reply_to(
            &notify,
            "Alice <alice@desk.example>",
            "alice-c1@desk.example",
            "#close\r\n\r\nInstall camera driver version 5; the flicker stops.",
        ),
    );
    // Ticket 2: the same, closed with #nokb. Ticket 3: closed by the
    // operator after an internal note only.
    let (notify2, _) = open(
        &desk,
        "bob@other.example",
        "c2@other.example",
        "Webcam flicker again",
        "The webcam flickers after the camera driver update.",
    );
    ingest(
        &desk,
        &reply_to(
            &notify2,
            "Alice <alice@desk.example>",
            "alice-c2@desk.example",
            "#nokb\r\n#close\r\n\r\nPrivate workaround for Bob's camera driver.",
        ),
    );
    let (notify3, _) = open(
        &desk,
        "carl@third.example",
        "c3@third.example",
        "Webcam flicker too",
        "Webcam flicker with the camera driver.",
    );
    ingest(
        &desk,
        &reply_to(
            &notify3,
            "Alice <alice@desk.example>",
            "alice-c3@desk.example",
            "#note\r\n\r\ninternal only camera driver",
        ),
    );
    desk.ok(&["ticket", "close", "3"]);

    let out = desk.ok(&["kb", "reindex"]);
    assert!(out.contains("1 closed ticket(s) learnt from"), "{out}");
    let shown = desk.ok(&["kb", "show", "ticket-1"]);
    assert!(shown.contains("camera driver version 5"), "{shown}");
    assert!(!shown.contains("zebra"), "an internal note: {shown}");
    let list = desk.ok(&["kb", "list"]);
    assert!(
        !list.contains("ticket-2") && !list.contains("ticket-3"),
        "{list}"
    );

    // A similar new ticket from someone else: staff see ticket #1.
    let (notify, receipt) = open(
        &desk,
        "dora@fourth.example",
        "c4@fourth.example",
        "Camera flicker",
        "Since the driver update my webcam has a flicker.",
    );
    let lines = suggested(&notify);
    assert!(
        lines.first().is_some_and(|l| l.contains("(ticket #1)")),
        "{lines:#?}"
    );
    let r = receipt.text();
    assert!(!r.contains("driver version 5") && !r.contains("#1"), "{r}");
}

#[test]
fn suggestions_to_the_customer_are_articles_only() {
    let desk = kb_desk(
        &articles(),
        "learn_from_closed = true\nsuggest_to_customer = true\ncustomer_min_relevance = 0.5",
    );
    let (notify, _) = open(
        &desk,
        "ann@customer.example",
        "d1@customer.example",
        "Webcam flicker",
        "My webcam flickers since the camera driver update.",
    );
    ingest(
        &desk,
        &reply_to(
            &notify,
            "Alice <alice@desk.example>",
            "alice-d1@desk.example",
            "#close\r\n\r\nInstall camera driver version 5; the flicker stops.",
        ),
    );
    desk.ok(&["kb", "reindex"]);
    let (notify, receipt) = open(
        &desk,
        "dora@fourth.example",
        "d2@fourth.example",
        "Camera flicker and my mailbox password",
        "Since the driver update my webcam has a flicker, and I forgot my mailbox password.",
    );
    // Staff see both the past ticket and the article.
    let staff = suggested(&notify).join("\n");
    assert!(staff.contains("(ticket #1)"), "{staff}");
    // The customer sees the article only: never another customer's ticket.
    let r = receipt.text();
    assert!(r.contains("Reset a forgotten mailbox password"), "{r}");
    assert!(!r.contains("driver version 5"), "{r}");
    assert!(!r.contains("Webcam flicker"), "{r}");
    assert!(!r.contains("ticket #1") && !r.contains("ticket-1"), "{r}");
}

#[test]
fn the_customer_closes_with_solved_when_suggestions_are_on() {
    let desk = kb_desk(&articles(), "suggest_to_customer = true");
    let (_, receipt) = open(
        &desk,
        "ann@customer.example",
        "s1@customer.example",
        "Forgot my mailbox password",
        "Hello, I forgot the password of my mailbox.",
    );
    let r = receipt.text();
    assert!(r.contains("Reset a forgotten mailbox password"), "{r}");
    assert!(r.contains("#solved"), "{r}");
    assert!(!r.contains("#kb"), "staff syntax stays with staff: {r}");
    let before = mails(&desk).len();
    ingest(
        &desk,
        &reply_to(
            &receipt,
            "Ann Customer <ann@customer.example>",
            "s2@customer.example",
            "#solved",
        ),
    );
    let after = new_mails(&desk, before);
    assert_eq!(crate::support::outbox::ticket(&desk, 1)["status"], "closed");
    let closed = only(&after, "closed", "ann@customer.example");
    assert!(closed.text().contains("thank you"), "{}", closed.text());
    only(&after, "closed", TEAM);

    // Without suggest_to_customer, #solved is an ordinary reply.
    let desk = kb_desk(&articles(), "");
    let (_, receipt) = open(
        &desk,
        "ann@customer.example",
        "s3@customer.example",
        "Forgot my mailbox password",
        "Hello, I forgot the password of my mailbox.",
    );
    assert!(!receipt.text().contains("#solved"));
    ingest(
        &desk,
        &reply_to(
            &receipt,
            "Ann Customer <ann@customer.example>",
            "s4@customer.example",
            "#solved",
        ),
    );
    assert_ne!(crate::support::outbox::ticket(&desk, 1)["status"], "closed");
}

/// The thank-you of a `#solved` close speaks the customer's language (as
/// every mail to them); the staff side's copy the desk's.
#[test]
fn the_solved_thanks_is_in_the_customers_language() {
    let desk = kb_desk(
        &articles(),
        r#"suggest_to_customer = true

[[account]]
id = "c-fr"
name = "Client Un"
primary = "marie@client.example"
language = "fr"

[[account]]
id = "c-it"
name = "Cliente Uno"
primary = "luca@cliente.example"
language = "it"

[[account]]
id = "c-en"
name = "Customer One"
primary = "ann@customer.example"
language = "en"
"#,
    );
    for (n, from, subject, body, thanks) in [
        (
            1,
            "marie@client.example",
            "Mot de passe oublié",
            "Bonjour, j'ai oublié le mot de passe de ma boîte mail.",
            "nous sommes ravis que ce soit résolu",
        ),
        (
            2,
            "luca@cliente.example",
            "Password dimenticata",
            "Buongiorno, ho dimenticato la password della casella di posta.",
            "siamo lieti che sia risolto",
        ),
        (
            3,
            "ann@customer.example",
            "Forgot my mailbox password",
            "Hello, I forgot the password of my mailbox.",
            "we are glad it is solved",
        ),
    ] {
        let (_, receipt) = open(&desk, from, &format!("sol{n}@x.example"), subject, body);
        assert!(receipt.text().contains("#solved"), "{}", receipt.text());
        let before = mails(&desk).len();
        ingest(
            &desk,
            &reply_to(&receipt, from, &format!("sol{n}-r@x.example"), "#solved"),
        );
        assert_eq!(crate::support::outbox::ticket(&desk, n)["status"], "closed");
        let after = new_mails(&desk, before);
        let to_customer = only(&after, "closed", from).text();
        assert!(to_customer.contains(thanks), "{from}: {to_customer}");
        // The customer closed it: not "closed by our team".
        for ours in ["our team", "notre équipe", "nostro team"] {
            assert!(!to_customer.contains(ours), "{from}: {to_customer}");
        }
        let to_staff = only(&after, "closed", TEAM).text();
        assert!(
            to_staff.contains("The customer closed it by answering #solved."),
            "{to_staff}"
        );
    }
}

/// A learnt ticket that is reopened stops teaching its answer (it did not
/// solve it after all), and teaches the new one when it closes again.
#[test]
fn a_reopened_ticket_forgets_its_lesson_until_it_closes_again() {
    let desk = kb_desk(&articles(), "learn_from_closed = true");
    let (notify, _) = open(
        &desk,
        "ann@customer.example",
        "ro1@customer.example",
        "Webcam flicker",
        "My webcam flickers since the camera driver update.",
    );
    let before = mails(&desk).len();
    ingest(
        &desk,
        &reply_to(
            &notify,
            "Alice <alice@desk.example>",
            "alice-ro1@desk.example",
            "#close\r\n\r\nInstall camera driver version 5; the flicker stops.",
        ),
    );
    // The answer that closes it is relayed to Ann (with the close in it).
    let closed = only(&new_mails(&desk, before), "relay", "ann@customer.example").clone();
    desk.ok(&["kb", "reindex"]);
    assert!(desk.ok(&["kb", "show", "ticket-1"]).contains("version 5"));

    // The customer answers the close: it is not solved.
    ingest(
        &desk,
        &reply_to(
            &closed,
            "Ann Customer <ann@customer.example>",
            "ro2@customer.example",
            "Still flickering with version 5.",
        ),
    );
    assert_ne!(crate::support::outbox::ticket(&desk, 1)["status"], "closed");
    assert!(!desk.ok(&["kb", "list"]).contains("ticket-1"));
    // A similar ticket is no longer pointed at the answer that failed.
    let (similar, _) = open(
        &desk,
        "dora@fourth.example",
        "ro3@fourth.example",
        "Camera flicker",
        "Since the driver update my webcam has a flicker.",
    );
    assert!(
        !similar.text().contains("(ticket #1)"),
        "{}",
        similar.text()
    );

    // Closed again, by the operator, with a new answer before it: learnt again.
    ingest(
        &desk,
        &reply_to(
            &notify,
            "Alice <alice@desk.example>",
            "alice-ro4@desk.example",
            "#close\r\n\r\nRoll back to camera driver version 4.",
        ),
    );
    assert_eq!(crate::support::outbox::ticket(&desk, 1)["status"], "closed");
    desk.ok(&["kb", "reindex"]);
    let shown = desk.ok(&["kb", "show", "ticket-1"]);
    assert!(shown.contains("version 4"), "{shown}");
}

/// The daemon reads the folder at start, again when a file in it changes
/// (and on reload), and learns from a ticket closed while it runs.
#[test]
fn the_daemon_reindexes_on_change_and_learns_from_closed_tickets() {
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/knowledge");
    std::fs::copy(
        src.join("dns-records.md"),
        dir.path().join("dns-records.md"),
    )
    .unwrap();
    let desk = kb_desk(dir.path().to_str().unwrap(), "learn_from_closed = true");
    let d = desk.start();
    d.wait_log(&["postdesk running"], Duration::from_secs(20));
    assert!(!desk.ok(&["kb", "list"]).contains("ssl-certificate"));

    // A file added while it runs is indexed within a few seconds.
    std::fs::copy(
        src.join("ssl-certificate.md"),
        dir.path().join("ssl-certificate.md"),
    )
    .unwrap();
    d.wait_log(
        &["knowledge base indexed", "changed=1"],
        Duration::from_secs(30),
    );
    assert!(desk.ok(&["kb", "list"]).contains("ssl-certificate"));

    // A removed one leaves.
    std::fs::remove_file(dir.path().join("dns-records.md")).unwrap();
    d.wait_log(
        &["knowledge base indexed", "removed=1"],
        Duration::from_secs(30),
    );
    assert!(!desk.ok(&["kb", "list"]).contains("dns-records"));

    // A ticket closed by staff while it runs is learnt from.
    let (notify, _) = open(
        &desk,
        "ann@customer.example",
        "dm1@customer.example",
        "Webcam flicker",
        "My webcam flickers since the camera driver update.",
    );
    ingest(
        &desk,
        &reply_to(
            &notify,
            "Alice <alice@desk.example>",
            "alice-dm1@desk.example",
            "#close\r\n\r\nInstall camera driver version 5.",
        ),
    );
    d.wait_log(
        &["closed tickets learnt from", "learnt=1"],
        Duration::from_secs(30),
    );
    assert!(desk.ok(&["kb", "list"]).contains("ticket-1"));
    d.stop();
}
