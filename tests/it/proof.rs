//! Proving account ownership (issue 19), through the binary unless a clock
//! must move: `#verify` asks the account's primary address (only it) and
//! its reply confirms the ticket, while a reply from anyone else or after
//! expiry confirms nothing; the support PIN (right, wrong, locked, and
//! never stored or sent in clear); `intake.require_proof_for` and
//! `auto_verify`; the genuine primary address as proof by itself.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use postdesk::config::Config;
use postdesk::intake::{Pipeline, RawMail};
use postdesk::store::Store;

use crate::support::outbox::{Mail, kinds, mails, new_mails, only, reply_to, take, ticket};
use crate::support::proof::{
    ALICE, OPS, PRIMARY, TEAM, alice_answers, proof_config, proof_desk, request, verify_mail,
};
use crate::support::{Desk, mail_with};

fn history_text(t: &serde_json::Value) -> String {
    t["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["detail"].as_str().unwrap_or_default().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn verify_asks_the_primary_address_only_and_its_reply_confirms() {
    let desk = proof_desk("");
    // The authorized sender asks for a sensitive change.
    let opened = take(
        &desk,
        &request(
            OPS,
            "mx-1@customer.example",
            "Change our MX",
            "Please point the MX of customer.example to mx.other.example.\nThanks",
        ),
    );
    assert_eq!(
        kinds(&opened),
        [
            ("receipt".into(), OPS.into()),
            ("staff-notify".into(), TEAM.into())
        ]
    );
    let status = ticket(&desk, 1)["status"].clone();

    // Alice asks for proof: one mail, to the primary address only.
    let asked = alice_answers(
        &desk,
        "#verify MX change requested\n",
        "alice-1@desk.example",
    );
    assert_eq!(kinds(&asked), [("verify".into(), PRIMARY.into())]);
    let verify = verify_mail(&asked);
    let text = verify.text();
    for want in [
        "Buongiorno",
        "#1",
        OPS,
        "point the MX of customer.example",
        "MX change requested",
    ] {
        assert!(text.contains(want), "{want:?} missing:\n{text}");
    }
    let t = ticket(&desk, 1);
    assert_eq!(t["proof"], "none");
    assert_eq!(t["status"], status, "asking moves no status");
    assert!(history_text(&t).contains("asked the primary address admin@customer.example"));

    // A second request while one is open is refused, and Alice told.
    let again = alice_answers(&desk, "#verify\n", "alice-2@desk.example");
    assert_eq!(kinds(&again), [("staff-error".into(), ALICE.into())]);
    assert!(
        again[0].text().contains("open already"),
        "{}",
        again[0].text()
    );

    // The requester answering the mail (it never reached them) confirms nothing.
    let before = mails(&desk).len();
    crate::support::outbox::ingest(
        &desk,
        &reply_to(&verify, OPS, "ops-2@customer.example", "yes, confirmed"),
    );
    let t = ticket(&desk, 1);
    assert_eq!(t["proof"], "none", "{t:#}");
    assert!(history_text(&t).contains("confirms nothing"), "{t:#}");
    assert!(
        new_mails(&desk, before).iter().all(|m| m.kind != "proven"),
        "nothing proven"
    );
    // (An ordinary customer reply, it moved the ticket as one does.)
    let status = t["status"].clone();

    // The primary address answers: confirmed, staff told, status as it was.
    let confirmed = take(
        &desk,
        &reply_to(
            &verify,
            PRIMARY,
            "admin-1@customer.example",
            "Yes, that is our request.",
        ),
    );
    assert_eq!(kinds(&confirmed), [("proven".into(), TEAM.into())]);
    let told = confirmed[0].text();
    assert!(
        told.contains("confirmed by the account's primary address"),
        "{told}"
    );
    assert!(told.contains("Yes, that is our request."), "{told}");
    let t = ticket(&desk, 1);
    assert_eq!(t["proof"], "primary-confirmed", "{t:#}");
    assert_eq!(t["proof_by"], PRIMARY);
    assert!(t["proof_at"].is_string(), "{t:#}");
    assert_eq!(t["status"], status);
    let show = desk.ok(&["ticket", "show", "1"]);
    assert!(
        show.contains("Proof:     confirmed by the primary address by admin@customer.example"),
        "{show}"
    );
}

#[test]
fn verify_on_a_ticket_without_an_account_is_refused() {
    let desk = proof_desk("");
    take(
        &desk,
        &request(
            "someone@else.example",
            "s-1@else.example",
            "Transfer my domain",
            "Please.",
        ),
    );
    let answered = alice_answers(&desk, "#verify\n", "alice-3@desk.example");
    assert_eq!(kinds(&answered), [("staff-error".into(), ALICE.into())]);
    let text = answered[0].text();
    assert!(text.contains("no account"), "{text}");
    assert!(mails(&desk).iter().all(|m| m.kind != "verify"));
}

/// A request expires after `intake.verify_expiry`: the primary's reply
/// after it confirms nothing; checked with the library and a chosen clock.
#[test]
fn a_reply_after_the_request_expired_confirms_nothing() {
    let text = format!(
        "[service]\naddress = \"support@desk.example\"\nticket_prefix = \"DESK\"\ndatabase = \"x.db\"\n{}",
        proof_config("unknown_sender = \"accept\"\nverify_expiry = \"2h\"")
    );
    let config =
        Arc::new(Config::from_toml(&text, "test", std::path::Path::new("/nonexistent")).unwrap());
    let pipeline = Pipeline::new(config.clone(), [9; 32]).unwrap();
    let t0 = Utc.with_ymd_and_hms(2026, 11, 16, 9, 0, 0).unwrap();
    let take = |store: &mut Store, raw: Vec<u8>, at| {
        let mail = RawMail {
            source: "test".into(),
            source_id: None,
            raw,
        };
        pipeline.take(store, &[mail], at).unwrap().remove(0)
    };
    let newest = |store: &Store, kind: &str| {
        let rows = store.read().outbox(None, 100).unwrap();
        let e = rows
            .into_iter()
            .filter(|e| e.kind == kind)
            .max_by_key(|e| e.id)
            .unwrap_or_else(|| panic!("no {kind} mail"));
        let raw = store.read().outbox_entry(e.id).unwrap().unwrap().raw;
        Mail {
            kind: e.kind,
            rcpt: e.rcpt,
            raw,
        }
    };
    for (late, confirms) in [
        (Duration::minutes(119), true),
        (Duration::minutes(121), false),
    ] {
        let mut store = Store::open_in_memory().unwrap();
        postdesk::accounts::sync_declared(&mut store, &config.accounts, t0).unwrap();
        take(
            &mut store,
            request(OPS, "mx-2@customer.example", "Change our MX", "Please."),
            t0,
        );
        let notify = newest(&store, "staff-notify");
        let asked = reply_to(&notify, ALICE, "alice-4@desk.example", "#verify\n");
        take(&mut store, asked, t0 + Duration::minutes(1));
        let verify = newest(&store, "verify");
        assert_eq!(verify.rcpt, vec![PRIMARY.to_string()]);
        let reply = reply_to(
            &verify,
            PRIMARY,
            &format!("late-{confirms}@customer.example"),
            "ok",
        );
        take(&mut store, reply, t0 + Duration::minutes(1) + late);
        let t = store
            .read()
            .ticket(postdesk::domain::TicketId(1))
            .unwrap()
            .unwrap();
        let want = if confirms {
            "primary-confirmed"
        } else {
            "none"
        };
        assert_eq!(t.proof, want, "after {late}");
        if confirms {
            continue;
        }
        // The expired request is settled: Alice may ask again, and the
        // answer to the new one confirms.
        let notify = newest(&store, "staff-notify");
        let again = reply_to(&notify, ALICE, "alice-5@desk.example", "#verify again\n");
        let at = t0 + Duration::minutes(130);
        take(&mut store, again, at);
        let second = newest(&store, "verify");
        assert_ne!(second.message_id(), verify.message_id());
        let reply = reply_to(&second, PRIMARY, "late-ok@customer.example", "ok");
        take(&mut store, reply, at + Duration::minutes(5));
        let t = store
            .read()
            .ticket(postdesk::domain::TicketId(1))
            .unwrap()
            .unwrap();
        assert_eq!(t.proof, "primary-confirmed");
    }
}

/// `mail_with` for a desk whose MTA stamps Authentication-Results.
fn authenticated(from: &str, id: &str, subject: &str, body: &str, result: &str) -> Vec<u8> {
    let domain = from.rsplit('@').next().unwrap();
    let ar = format!(
        "Authentication-Results: mx.desk.example; dmarc={result} header.from={domain}; spf={result} smtp.mailfrom={domain}"
    );
    mail_with(from, subject, id, body, &[&ar], &[])
}

#[test]
fn the_genuine_primary_address_is_proof_by_itself() {
    let desk = proof_desk(
        "authserv_id = \"mx.desk.example\"\nrequire_proof_for = [\"mx\", \"dns\"]\nauto_verify = true",
    );
    let sent = take(
        &desk,
        &authenticated(
            PRIMARY,
            "g-1@customer.example",
            "Change our MX",
            "Please.",
            "pass",
        ),
    );
    let t = ticket(&desk, 1);
    assert_eq!(t["proof"], "genuine-primary", "{t:#}");
    assert_eq!(t["proof_by"], PRIMARY);
    assert_eq!(t["needs_proof"], true);
    assert!(
        sent.iter().all(|m| m.kind != "verify"),
        "proven: no request"
    );
    let list = desk.ok(&["ticket", "list"]);
    assert!(
        list.lines()
            .any(|l| l.starts_with("#1 ") && l.contains('+')),
        "{list}"
    );
    // A valid PIN is proof too: no request either.
    set_pin(&desk, PIN);
    let sent = take(
        &desk,
        &authenticated(
            OPS,
            "g-2@customer.example",
            "MX again",
            &format!("PIN: {PIN}"),
            "pass",
        ),
    );
    assert!(
        sent.iter().all(|m| m.kind != "verify"),
        "{:?}",
        kinds(&sent)
    );
    assert_eq!(ticket(&desk, 2)["proof"], "pin");
    // The authorized sender, genuine or not, is not the primary address:
    // the request goes to the primary address.
    let sent = take(
        &desk,
        &authenticated(
            OPS,
            "g-3@customer.example",
            "Change our DNS",
            "Please.",
            "pass",
        ),
    );
    assert_eq!(ticket(&desk, 3)["proof"], "none");
    verify_mail(&sent);
}

#[test]
fn require_proof_for_marks_a_request_and_auto_verify_asks() {
    let desk = proof_desk("require_proof_for = [\"mx\", \"dns\", \"pass(word)?\"]");
    take(
        &desk,
        &request(OPS, "r-1@customer.example", "Change our MX", "Please."),
    );
    take(
        &desk,
        &request(
            OPS,
            "r-2@customer.example",
            "Invoice",
            "A question about my invoice.",
        ),
    );
    let t = ticket(&desk, 1);
    assert_eq!(t["needs_proof"], true, "{t:#}");
    assert_eq!(ticket(&desk, 2)["needs_proof"], false);
    let list = desk.ok(&["ticket", "list"]);
    let line = list.lines().find(|l| l.starts_with("#1 ")).unwrap();
    assert!(line.contains('P'), "{list}");
    let notify = mails(&desk)
        .into_iter()
        .find(|m| m.kind == "staff-notify")
        .unwrap()
        .text();
    assert!(notify.contains("NEEDS PROOF"), "{notify}");
    assert!(
        mails(&desk).iter().all(|m| m.kind != "verify"),
        "no auto_verify"
    );

    let desk = proof_desk("require_proof_for = [\"mx\"]\nauto_verify = true");
    let sent = take(
        &desk,
        &request(
            OPS,
            "r-3@customer.example",
            "New MX please",
            "Point it elsewhere.",
        ),
    );
    let verify = verify_mail(&sent);
    assert!(
        verify.text().contains("Point it elsewhere."),
        "{}",
        verify.text()
    );
    let confirmed = take(
        &desk,
        &reply_to(&verify, PRIMARY, "admin-2@customer.example", "ok"),
    );
    assert_eq!(kinds(&confirmed), [("proven".into(), TEAM.into())]);
    assert_eq!(ticket(&desk, 1)["proof"], "primary-confirmed");
}

#[test]
fn verify_mail_is_checked_in_every_language() {
    for lang in ["en", "fr", "it"] {
        let desk = Desk::with_extra(
            &proof_config("").replace("language = \"it\"", &format!("language = \"{lang}\"")),
        );
        desk.ok(&["account", "list"]);
        take(
            &desk,
            &request(OPS, "l-1@customer.example", "MX", "Please."),
        );
        let asked = alice_answers(&desk, "#verify\n", "alice-l@desk.example");
        let text = verify_mail(&asked).text();
        assert!(text.contains("Please."), "{lang}: {text}");
        assert!(!text.contains("{{"), "{lang}: {text}");
    }
}

const PIN: &str = "482915";

/// Sets the account's PIN as an operator does, the PIN on stdin.
fn set_pin(desk: &Desk, pin: &str) {
    let out = desk.run(
        &["account", "set", "cust-1", "--pin"],
        format!("{pin}\n").as_bytes(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains(pin));
}

/// Every byte the desk keeps or sent: the database (and its WAL), the
/// outbox and the sent Maildir.
fn everything_kept(desk: &Desk) -> Vec<(String, Vec<u8>)> {
    let mut all = Vec::new();
    for f in ["var/postdesk.db", "var/postdesk.db-wal"] {
        if let Ok(bytes) = std::fs::read(desk.path(f)) {
            all.push((f.to_string(), bytes));
        }
    }
    for (i, m) in mails(desk).into_iter().enumerate() {
        all.push((format!("outbox mail {i} ({})", m.kind), m.raw));
    }
    for (i, raw) in desk.sent().into_iter().enumerate() {
        all.push((format!("sent mail {i}"), raw));
    }
    all
}

fn assert_nowhere(desk: &Desk, secret: &str) {
    for (what, bytes) in everything_kept(desk) {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "the PIN is in {what}"
        );
    }
}

#[test]
fn the_right_pin_confirms_and_is_kept_nowhere() {
    let desk = proof_desk("");
    set_pin(&desk, PIN);
    let sent = take(
        &desk,
        &request(
            OPS,
            "pin-1@customer.example",
            "Change our MX",
            &format!("Please point the MX elsewhere.\r\nSupport PIN: {PIN}\r\nAnn"),
        ),
    );
    let t = ticket(&desk, 1);
    assert_eq!(t["proof"], "pin", "{t:#}");
    assert_eq!(t["proof_by"], OPS);
    assert!(history_text(&t).contains("PIN confirmed"), "{t:#}");
    let notify = only(&sent, "staff-notify", TEAM).text();
    assert!(notify.contains("PIN confirmed"), "{notify}");
    assert!(notify.contains("it matched"), "{notify}");
    let show = desk.ok(&["ticket", "show", "1"]);
    assert!(
        show.contains("PIN confirmed") && !show.contains(PIN),
        "{show}"
    );
    assert!(!desk.ok(&["ticket", "show", "1", "--json"]).contains(PIN));
    // The raw message kept says a PIN was given, not which.
    let store = desk.open_store();
    let raw = store.read().message_raw(1).unwrap().unwrap();
    let raw = String::from_utf8_lossy(&raw);
    assert!(
        raw.contains("a support PIN was given here: it matched"),
        "{raw}"
    );
    assert!(!raw.contains(PIN), "{raw}");
    drop(store);
    // A staff answer quoting the customer's mail carries no PIN either.
    alice_answers(&desk, "Done.\n", "alice-p@desk.example");
    // Her next mail quotes her first one, PIN line and all: cut out too.
    take(
        &desk,
        &request(
            OPS,
            "pin-2@customer.example",
            "Re: [DESK #1] Change our MX",
            &format!(
                "Any news?\r\n\r\nOn Monday, Ann wrote:\r\n> Please point the MX elsewhere.\r\n> Support PIN: {PIN}\r\n"
            ),
        ),
    );
    assert_nowhere(&desk, PIN);
}

#[test]
fn wrong_pins_are_told_and_five_lock_until_reset() {
    let desk = proof_desk("");
    set_pin(&desk, PIN);
    take(
        &desk,
        &request(OPS, "w-0@customer.example", "Change our MX", "Please."),
    );
    let follow = |i: usize, pin: &str| {
        take(
            &desk,
            &request(
                OPS,
                &format!("w-{i}@customer.example"),
                "Re: [DESK #1] Change our MX",
                &format!("PIN: {pin}"),
            ),
        )
    };
    let told = follow(1, "111111");
    let wrong = only(&told, "proven", TEAM).text();
    assert!(wrong.contains("WRONG support PIN"), "{wrong}");
    assert!(history_text(&ticket(&desk, 1)).contains("wrong PIN given by ops@customer.example"));
    for i in 2..=4 {
        follow(i, "111111");
    }
    let fifth = follow(5, "222222");
    let locked = only(&fifth, "proven", TEAM).text();
    assert!(locked.contains("LOCKED"), "{locked}");
    assert!(locked.contains("--pin-reset"), "{locked}");
    let shown = desk.ok(&["account", "show", "cust-1"]);
    assert!(shown.contains("Support PIN: set; checks LOCKED"), "{shown}");
    // Locked: even the right PIN is not checked.
    follow(6, PIN);
    let t = ticket(&desk, 1);
    assert_eq!(t["proof"], "none", "{t:#}");
    assert!(
        history_text(&t).contains("PIN checks for account cust-1 are locked"),
        "{t:#}"
    );
    // Staff reset the lock: the right PIN confirms again.
    desk.ok(&["account", "set", "cust-1", "--pin-reset"]);
    let shown = desk.ok(&["account", "show", "cust-1", "--json"]);
    assert!(shown.contains("\"support_pin\": \"set\""), "{shown}");
    follow(7, PIN);
    assert_eq!(ticket(&desk, 1)["proof"], "pin");
    for pin in [PIN, "111111", "222222"] {
        assert_nowhere(&desk, pin);
    }
}

#[test]
fn pin_hash_makes_a_hash_the_config_takes() {
    let desk = Desk::new();
    let out = desk.run(&["pin-hash"], b"135790\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hash = String::from_utf8(out.stdout).unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains("135790"));
    assert_eq!(desk.run(&["pin-hash"], b"12\n").status.code(), Some(64));

    // A declared account's pin_hash is its PIN.
    let config = proof_config("").replace(
        "language = \"it\"",
        &format!("language = \"it\"\npin_hash = \"{}\"", hash.trim()),
    );
    let desk = Desk::with_extra(&config);
    desk.ok(&["account", "list"]);
    take(
        &desk,
        &request(OPS, "ph-1@customer.example", "MX", "PIN: 135790"),
    );
    assert_eq!(ticket(&desk, 1)["proof"], "pin");
    assert_nowhere(&desk, "135790");
    // A hash that is none is refused with the key named.
    let bad = Desk::with_extra(&proof_config("").replace(
        "language = \"it\"",
        "language = \"it\"\npin_hash = \"135790\"",
    ));
    let out = bad.run(&["check-config"], b"");
    assert_eq!(out.status.code(), Some(78));
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("pin_hash"), "{said}");
}

/// The primary address's mail program lost the thread: the code written
/// out in a mail with the ticket's token confirms; where an authserv-id is
/// set, only from the genuine primary address.
#[test]
fn the_code_confirms_without_the_thread_and_only_when_genuine() {
    let desk = proof_desk("authserv_id = \"mx.desk.example\"");
    take(
        &desk,
        &authenticated(
            OPS,
            "c-1@customer.example",
            "Transfer our domain",
            "Please.",
            "pass",
        ),
    );
    let asked = alice_answers(&desk, "#verify\n", "alice-c@desk.example");
    let text = verify_mail(&asked).text();
    let code = text
        .split_whitespace()
        .find(|w| w.len() == 14 && w.matches('-').count() == 2)
        .unwrap_or_else(|| panic!("a code in:\n{text}"))
        .to_string();
    let answer = |id: &str, result: &str| {
        authenticated(
            PRIMARY,
            id,
            "Re: [DESK #1] Transfer our domain",
            &format!("Confirmed: {}", code.to_lowercase()),
            result,
        )
    };
    // Not shown genuine: nothing.
    take(&desk, &answer("c-2@customer.example", "fail"));
    let t = ticket(&desk, 1);
    assert_eq!(t["proof"], "none", "{t:#}");
    assert!(
        history_text(&t).contains("could not be shown genuine"),
        "{t:#}"
    );
    // Genuine: confirmed.
    let told = take(&desk, &answer("c-3@customer.example", "pass"));
    assert_eq!(kinds(&told), [("proven".into(), TEAM.into())]);
    assert_eq!(ticket(&desk, 1)["proof"], "primary-confirmed");
}
