//! Golden mails (issue 11): the mails people receive, compared with the
//! fixtures under tests/it/golden/ on the fields that matter (see
//! support/golden.rs; `GOLDEN_UPDATE=1` writes them again). Each fixture
//! was written by the real code, then read as its recipient reads it and
//! the code fixed until the mail said what it should.

use crate::support::golden::{self, check};
use crate::support::outbox::{Mail, kinds, mails, new_mails, reply_to, take, ticket};
use crate::support::{Desk, customer_mail};

/// Staff, a team address, the desk's zone; `service` keys go in [service].
fn desk(service: &str, extra: &str) -> Desk {
    let desk = Desk::with_extra(&format!(
        r#"
[staff]
notify = ["team@desk.example"]

[[staff.member]]
name = "Bruno Rossi"
address = "bruno@desk.example"

[[staff.member]]
name = "Alice"
address = "alice@desk.example"

[calendar]
timezone = "Europe/Paris"
{extra}"#
    ));
    if !service.is_empty() {
        let text = std::fs::read_to_string(&desk.config).unwrap();
        let text = text.replacen("[service]\n", &format!("[service]\n{service}\n"), 1);
        std::fs::write(&desk.config, text).unwrap();
    }
    if extra.contains("[[account]]") {
        desk.ok(&["account", "list"]);
    }
    desk
}

/// The one mail in `list` to `to` (of `kind` when given).
fn one<'a>(list: &'a [Mail], kind: Option<&str>, to: &str) -> &'a Mail {
    let found: Vec<&Mail> = list
        .iter()
        .filter(|m| m.to(to) && kind.is_none_or(|k| m.kind == k))
        .collect();
    assert_eq!(found.len(), 1, "one mail to {to} in {:#?}", kinds(list));
    found[0]
}

/// The newest mail to the team (the notification a staff member answers).
fn last_to_team(desk: &Desk) -> Mail {
    mails(desk)
        .into_iter()
        .rfind(|m| m.to("team@desk.example"))
        .expect("a staff notification")
}

/// The ticket's next deadline, for a sweep that finds it due.
fn deadline(desk: &Desk, n: i64) -> String {
    ticket(desk, n)["next_deadline"]
        .as_str()
        .unwrap_or_else(|| panic!("ticket #{n} has no deadline"))
        .to_string()
}

/// Sweeps at ticket #1's next deadline; returns the mails it caused.
fn sweep_due(desk: &Desk) -> Vec<Mail> {
    let at = deadline(desk, 1);
    let before = mails(desk).len();
    desk.ok(&["sweep", "--now", &at]);
    new_mails(desk, before)
}

/// A staff reply and what the customer makes of it: Bruno answers, the
/// team gets a copy ("Bruno Rossi answered the customer"); Ann answers,
/// Bruno closes with `#close` and a last word — Ann gets one mail, the
/// answer, one line saying the ticket is closed, and the history without
/// the answer shown on top.
#[test]
fn a_staff_reply_copied_to_the_team_and_a_reply_that_closes() {
    let desk = desk("", "");
    take(
        &desk,
        &customer_mail(
            "ann@customer.example",
            "Printer on fire",
            "ann-1@customer.example",
            "My printer is on fire. What should I do?",
        ),
    );
    let before = mails(&desk).len();
    take(
        &desk,
        &reply_to(
            &last_to_team(&desk),
            "Bruno Rossi <bruno@desk.example>",
            "bruno-1@desk.example",
            "Please unplug it and keep a safe distance. Is the fire out?",
        ),
    );
    let sent = new_mails(&desk, before);
    check(
        "answer-copied-to-team",
        one(&sent, None, "team@desk.example"),
    );
    check(
        "answer-to-customer",
        one(&sent, None, "ann@customer.example"),
    );

    let relay = one(&sent, None, "ann@customer.example").clone();
    take(
        &desk,
        &reply_to(
            &relay,
            "Ann Customer <ann@customer.example>",
            "ann-2@customer.example",
            "Yes, it is out now. Thank you!",
        ),
    );
    let before = mails(&desk).len();
    take(
        &desk,
        &reply_to(
            &last_to_team(&desk),
            "Bruno Rossi <bruno@desk.example>",
            "bruno-2@desk.example",
            "#close\r\n\r\nGlad to hear it. A technician will bring a new printer tomorrow.",
        ),
    );
    let sent = new_mails(&desk, before);
    let to_ann: Vec<&Mail> = sent
        .iter()
        .filter(|m| m.to("ann@customer.example"))
        .collect();
    assert_eq!(to_ann.len(), 1, "one mail per action: {:#?}", kinds(&sent));
    let text = to_ann[0].text();
    assert_eq!(
        text.matches("A technician will bring a new printer")
            .count(),
        1,
        "the history repeats the answer on top:\n{text}"
    );
    check("close-by-reply-to-customer", to_ann[0]);
    check(
        "close-by-reply-copied-to-team",
        one(&sent, None, "team@desk.example"),
    );
}

/// An ISP writing in English for its French child account: the ISP reads
/// English, the child's people French, in the same ticket.
#[test]
fn an_isp_writing_in_english_for_a_french_child_account() {
    let desk = desk(
        r#"type_names = { fr = { technical = "technique", billing = "facturation" } }"#,
        r#"
[[account]]
id = "isp-01"
name = "Net ISP"
primary = "noc@isp.example"
language = "en"

[[account]]
id = "cust-001"
name = "Client Un"
primary = "admin@client.example"
language = "fr"
parent = "isp-01"
delegates = ["tech@partner.example"]
"#,
    );
    let sent = take(
        &desk,
        &customer_mail(
            "noc@isp.example",
            "Site down",
            "isp-1@isp.example",
            "Account: cust-001\r\nOur customer's web site is down since 9:00.",
        ),
    );
    check(
        "isp-receipt-en",
        one(&sent, Some("receipt"), "noc@isp.example"),
    );
    check(
        "isp-receipt-fr-child",
        one(&sent, Some("receipt"), "tech@partner.example"),
    );
    let before = mails(&desk).len();
    take(
        &desk,
        &reply_to(
            &last_to_team(&desk),
            "Alice <alice@desk.example>",
            "alice-1@desk.example",
            "#type billing\r\n\r\nWe restarted the server; the site is up again.",
        ),
    );
    let sent = new_mails(&desk, before);
    check("isp-answer-en", one(&sent, None, "noc@isp.example"));
    check(
        "isp-answer-fr-child",
        one(&sent, None, "tech@partner.example"),
    );
}

/// English words that must not be left in the Italian desk's mails to a
/// customer (its command words and the names of its tickets aside).
const ENGLISH: [&str; 26] = [
    "Hello",
    "Dear",
    "ticket is",
    "status",
    "Status",
    "Type:",
    "type:",
    "technical",
    "waiting",
    "closed",
    "Closed",
    "Reminder",
    "reply",
    "Reply",
    "our team",
    "(staff)",
    "operator",
    "History",
    "history",
    "Opened",
    "Subject",
    "message",
    "please",
    "Please",
    "earlier",
    "automatic",
];

/// `word` in `text` as a word of its own ("automatic" is not in
/// "automatica").
fn has_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// The Italian desk: receipt, answer, reminder and close, each in Italian
/// with no English word left.
#[test]
fn the_italian_desks_mails() {
    let desk = desk(
        r#"default_language = "it"
type_names = { it = { technical = "tecnico", billing = "fatturazione" } }"#,
        "",
    );
    let mut italian = Vec::new();
    let raw = String::from_utf8(customer_mail(
        "mario@cliente.example",
        "Stampante guasta",
        "m-1@cliente.example",
        "La stampante non stampa più da stamattina.",
    ))
    .unwrap()
    .replace("From: Ann Customer <", "From: Mario Bianchi <");
    let sent = take(&desk, raw.as_bytes());
    let receipt = one(&sent, Some("receipt"), "mario@cliente.example").clone();
    check("it-receipt", &receipt);
    italian.push(receipt);
    let before = mails(&desk).len();
    take(
        &desk,
        &reply_to(
            &last_to_team(&desk),
            "Bruno Rossi <bruno@desk.example>",
            "bruno-1@desk.example",
            "Buongiorno, provi a spegnerla e riaccenderla. Funziona?",
        ),
    );
    let sent = new_mails(&desk, before);
    let relay = one(&sent, None, "mario@cliente.example").clone();
    check("it-answer", &relay);
    italian.push(relay);
    let sent = sweep_due(&desk);
    let warning = one(&sent, Some("warning"), "mario@cliente.example").clone();
    check("it-reminder", &warning);
    italian.push(warning);
    let sent = sweep_due(&desk);
    let closed = one(&sent, Some("closed"), "mario@cliente.example").clone();
    check("it-closed", &closed);
    italian.push(closed);
    for m in &italian {
        let seen = format!("{}\n{}", m.subject(), golden::normalise(&m.text()));
        for w in ENGLISH {
            assert!(
                !has_word(&seen, w),
                "{w:?} in the Italian {}:\n{seen}",
                m.kind
            );
        }
    }
}

/// A reminder names its kind after the token, in its reader's language.
#[test]
fn a_reminder_per_language() {
    for lang in ["en", "fr", "it"] {
        let desk = desk(&format!("default_language = \"{lang}\""), "");
        take(
            &desk,
            &customer_mail(
                "ann@customer.example",
                "Printer on fire",
                "ann-1@customer.example",
                "My printer is on fire.",
            ),
        );
        take(
            &desk,
            &reply_to(
                &last_to_team(&desk),
                "Bruno Rossi <bruno@desk.example>",
                "bruno-1@desk.example",
                "Please unplug it. Is the fire out?",
            ),
        );
        let sent = sweep_due(&desk);
        let warning = one(&sent, Some("warning"), "ann@customer.example");
        check(&format!("reminder-{lang}"), warning);
        let want = match lang {
            "en" => "[DESK #1] Reminder: Printer on fire",
            "fr" => "[DESK #1] Rappel : Printer on fire",
            _ => "[DESK #1] Promemoria: Printer on fire",
        };
        assert_eq!(warning.subject(), want);
    }
}

/// The helper itself: volatile parts become placeholders, and a changed
/// line shows as one line out, one in.
#[test]
fn golden_normalises_dates_codes_and_markers_and_diffs_by_line() {
    #[rustfmt::skip]
    let cases = [
        ("opened 7 December 2026, 14:05 CET.", "opened <DATE TIME>."),
        ("le 1er juillet 2026 à 10:00 CEST", "le <DATE TIME>"),
        ("il 1º luglio 2026 alle 10:00 CEST", "il <DATE TIME>"),
        ("on 23 November 2026", "on <DATE>"),
        ("at 2026-11-23 09:00 CET", "at <ISO DATE>"),
        ("[ref ab12cd34ef56]", "[ref <REF>]"),
        ("code ABCD-2345-WXYZ", "code <CODE>"),
        ("for 3 business days", "for <SPAN>"),
        ("no date here: ticket #12", "no date here: ticket #12"),
    ];
    for (text, want) in cases {
        assert_eq!(golden::normalise(text), want, "{text}");
    }
    let d = golden::diff("a\nb\nc\n", "a\nB\nc\n");
    assert_eq!(d, "  a\n- b\n+ B\n  c\n");
}

/// A fixture that differs fails, with the mail as it came out beside it;
/// the same mail passes; CRLF line ends in a fixture do not matter.
#[test]
fn golden_fails_when_the_mail_differs() {
    let dir = tempfile::tempdir().unwrap();
    let mail = |body: &str| Mail {
        kind: "receipt".into(),
        rcpt: vec!["ann@customer.example".into()],
        raw: customer_mail("ann@customer.example", "Hi", "h-1@customer.example", body),
    };
    golden::check_in(dir.path(), "one", &mail("Same text."), true);
    golden::check_in(dir.path(), "one", &mail("Same text."), false);
    let fixture = dir.path().join("one.eml");
    let crlf = std::fs::read_to_string(&fixture)
        .unwrap()
        .replace('\n', "\r\n");
    std::fs::write(&fixture, crlf).unwrap();
    golden::check_in(dir.path(), "one", &mail("Same text."), false);
    let failed = std::panic::catch_unwind(|| {
        golden::check_in(dir.path(), "one", &mail("Other text."), false)
    });
    let message = *failed
        .expect_err("a difference fails")
        .downcast::<String>()
        .unwrap();
    assert!(message.contains("- Same text.\n+ Other text."), "{message}");
    let written = std::fs::read_to_string(dir.path().join("one.eml.failed")).unwrap();
    assert!(written.contains("Other text."), "{written}");
}
