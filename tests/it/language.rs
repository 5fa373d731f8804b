//! Each person's language (issue 11, point 3) through the binary: a mail
//! goes in the language of its recipient's own account, else the ticket's
//! account's, else the desk's default; status and type names, "our team",
//! "(staff)" and dates are in that language too, and French and Italian
//! read as a native writes them.

use crate::support::outbox::{Mail, kinds, mails, new_mails, only, reply_to, take};
use crate::support::{Desk, customer_mail};

/// An ISP (English) and its French child account, whose technician has no
/// account of their own; French and Italian names for the ticket types.
const ISP: &str = r#"
[service]
type_names = { fr = { technical = "technique", billing = "facturation" }, it = { technical = "tecnico", billing = "fatturazione" } }

[staff]
notify = ["team@desk.example"]

[[staff.member]]
name = "Alice"
address = "alice@desk.example"

[calendar]
timezone = "Europe/Paris"

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
"#;

fn desk_with(extra: &str) -> Desk {
    // The [service] keys of `extra` go into the desk's own [service] table.
    let (service, rest) = match extra.split_once("[service]\n") {
        Some((before, after)) => {
            let (keys, rest) = after.split_once("\n\n").unwrap_or((after, ""));
            (keys.to_string(), format!("{before}{rest}"))
        }
        None => (String::new(), extra.to_string()),
    };
    let desk = Desk::with_extra(&rest);
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

/// The one mail in `list` to `to`.
fn to<'a>(list: &'a [Mail], to: &str) -> &'a Mail {
    let found: Vec<&Mail> = list.iter().filter(|m| m.to(to)).collect();
    assert_eq!(found.len(), 1, "one mail to {to} in {:#?}", kinds(list));
    found[0]
}

/// Words that must not appear in a mail of another language.
fn assert_none_of(text: &str, words: &[&str]) {
    for w in words {
        assert!(!text.contains(w), "{w:?} in:\n{text}");
    }
}

#[test]
fn an_isp_writing_in_english_for_a_french_child_account() {
    let desk = desk_with(ISP);
    let sent = take(
        &desk,
        &customer_mail(
            "noc@isp.example",
            "Site down",
            "isp-1@isp.example",
            "Account: cust-001\r\nOur customer's web site is down since 9:00.",
        ),
    );
    let t = crate::support::outbox::ticket(&desk, 1);
    assert_eq!(t["account"], "cust-001", "{t:#}");
    // The ISP's receipt is in the ISP's language.
    let receipt = only(&sent, "receipt", "noc@isp.example");
    assert!(receipt.text().starts_with("Hello "), "{}", receipt.text());

    // An operator changes the type: each customer-side person gets the
    // notice in their own language.
    let before = mails(&desk).len();
    desk.ok(&["ticket", "set-type", "1", "billing"]);
    let sent = new_mails(&desk, before);
    let isp = to(&sent, "noc@isp.example").text();
    assert!(isp.contains("type: technical → billing"), "{isp}");
    assert!(isp.contains("Changed by: our team"), "{isp}");
    let tech = to(&sent, "tech@partner.example").text();
    for want in [
        "Bonjour",
        "type : technique → facturation",
        "Modifié par : notre équipe",
        "Statut :   nouveau",
        "Type :     facturation",
    ] {
        assert!(tech.contains(want), "{want:?} missing:\n{tech}");
    }
    // A French date: day, month in words, year.
    assert!(
        [
            "janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août"
        ]
        .iter()
        .chain(&["septembre", "octobre", "novembre", "décembre"])
        .any(|m| tech.contains(m)),
        "{tech}"
    );
    // No operator's login and no English status or type reaches anyone.
    assert_none_of(&isp, &["operator"]);
    assert_none_of(
        &tech,
        &["operator", "technical", "billing", "new →", "Hello"],
    );
    // The team reads the desk's language, with who did it.
    let team = to(&sent, "team@desk.example").text();
    assert!(team.contains("Changed by: operator"), "{team}");

    // Alice answers: the relay goes to the ISP (first on the ticket) in
    // English, her name marked "(staff)" in the history the next mail
    // carries to the French technician.
    let notify = mails(&desk)
        .into_iter()
        .rfind(|m| m.to("team@desk.example"))
        .unwrap();
    take(
        &desk,
        &reply_to(
            &notify,
            "Alice <alice@desk.example>",
            "alice-1@desk.example",
            "We restarted the server.",
        ),
    );
    let before = mails(&desk).len();
    desk.ok(&["ticket", "close", "1"]);
    let sent = new_mails(&desk, before);
    let tech = to(&sent, "tech@partner.example").text();
    assert!(tech.contains("Alice (équipe)"), "{tech}");
    assert!(tech.contains("fermé"), "{tech}");
    assert_none_of(&tech, &["(staff)", "closed", "operator"]);
}

/// The Italian desk: nothing in a customer's mail is left in English.
#[test]
fn the_italian_desks_mails_have_no_english_word_left() {
    let desk = desk_with(
        r#"
[service]
default_language = "it"
type_names = { it = { technical = "tecnico", billing = "fatturazione", refund = "rimborso" } }

[staff]
notify = ["team@desk.example"]

[calendar]
timezone = "Europe/Rome"
"#,
    );
    let sent = take(
        &desk,
        &customer_mail(
            "mario@cliente.example",
            "Stampante guasta",
            "m-1@cliente.example",
            "La stampante non stampa.",
        ),
    );
    let receipt = only(&sent, "receipt", "mario@cliente.example").text();
    assert!(receipt.starts_with("Gentile Ann Customer"), "{receipt}");
    let before = mails(&desk).len();
    desk.ok(&["ticket", "set-status", "1", "waiting-for-customer"]);
    desk.ok(&["ticket", "set-type", "1", "billing"]);
    desk.ok(&["ticket", "close", "1"]);
    let sent = new_mails(&desk, before);
    let english = [
        "status",
        "type:",
        "technical",
        "billing",
        "waiting-for-customer",
        "new →",
        "closed",
        "operator",
        "our team",
        "(staff)",
        "Hello",
        "2026-",
    ];
    let customer: Vec<&Mail> = sent
        .iter()
        .filter(|m| m.to("mario@cliente.example"))
        .collect();
    assert_eq!(customer.len(), 3, "{:#?}", kinds(&sent));
    for m in customer {
        let text = m.text();
        assert_none_of(&text, &english);
        assert!(text.contains("nostro team"), "{text}");
    }
    // A reminder's subject in Italian too (see tests/it/subjects.rs for all).
    let closed = to(
        &sent
            .iter()
            .filter(|m| m.kind == "closed")
            .cloned()
            .collect::<Vec<_>>(),
        "mario@cliente.example",
    )
    .subject();
    assert!(closed.starts_with("[DESK #1] Chiuso:"), "{closed}");
}

/// French texts nest their quotation marks and greet people by the name
/// they write (not a directory's "Shah, Priya").
#[test]
fn french_mails_read_as_a_native_writes_them() {
    let desk = desk_with(
        r#"
[service]
default_language = "fr"

[staff]
notify = ["team@desk.example"]
"#,
    );
    let raw = String::from_utf8(customer_mail(
        "priya@client.example",
        "« Facture » incorrecte",
        "p-1@client.example",
        "Ma facture est fausse.",
    ))
    .unwrap()
    .replace("From: Ann Customer <", "From: \"Shah, Priya\" <");
    take(&desk, raw.as_bytes());
    let before = mails(&desk).len();
    desk.ok(&["ticket", "close", "1"]);
    let sent = new_mails(&desk, before);
    let text = to(&sent, "priya@client.example").text();
    assert!(text.starts_with("Bonjour Priya Shah,"), "{text}");
    assert!(text.contains("« “Facture” incorrecte »"), "{text}");
    assert_none_of(&text, &["« «", "» »", "Shah, Priya"]);
}
