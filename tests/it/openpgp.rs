//! OpenPGP through the binary (issue 16), with material GnuPG and OpenSSL
//! made (tests/mail/openpgp/, see its README; one test makes fresh mail
//! with gpg at run time): PGP/MIME and inline mail decrypted into a ticket,
//! key rollover, a mail to another key quarantined and its sender told
//! once, signed mail (PGP/MIME, S/MIME) showing its content, and — the
//! heart of it — no plaintext of an encrypted message in any mail that
//! leaves: receipt, staff notification, relay, warnings, close notice.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::outbox::{Mail, ingest, mails, only, reply_to, ticket};
use crate::support::{ADDRESS, Desk};

/// What the encrypted fixtures hold; none may leave in clear.
const SECRETS: &[&str] = &[
    "PURPLE-OCTOPUS-4711",
    "SECRET-KEYFILE-99",
    "Root password",
    "4111-GREEN-FALCON-0042",
];

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mail/openpgp")
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join(name)).unwrap()
}

/// A desk with the desk's key (and the old one), staff and an account for Ann.
fn pgp_desk(staff_key: bool) -> Desk {
    pgp_desk_with(staff_key, "", "", "")
}

/// `pgp_desk` with more `[openpgp]` keys and more of `[[account]]`.
fn pgp_desk_with(staff_key: bool, openpgp: &str, account: &str, intake: &str) -> Desk {
    let staff_key = if staff_key {
        format!(
            "staff_key_file = \"{}\"\n",
            fixtures().join("team.pub.asc").display()
        )
    } else {
        String::new()
    };
    let dir = fixtures();
    let desk = Desk::with_extra(&format!(
        r#"
[openpgp]
secret_key_file = "{}"
passphrase_file = "{}"
extra_secret_keys = ["{}"]
{staff_key}{openpgp}
[intake]
authserv_id = "mx.desk.example"
{intake}

[staff]
notify = ["team@desk.example"]

[[staff.member]]
name = "Alice"
address = "alice@desk.example"

[[account]]
id = "cust-1"
name = "Customer One"
primary = "ann@customer.example"
{account}
"#,
        dir.join("desk.sec.asc").display(),
        dir.join("desk.pass").display(),
        dir.join("desk-old.sec.asc").display(),
    ));
    desk.ok(&["account", "list"]);
    desk
}

/// Every mail that left or waits to leave: the outbox rows and the files
/// in the sent Maildir.
fn everything_sent(desk: &Desk) -> Vec<(String, Vec<u8>)> {
    let mut all: Vec<(String, Vec<u8>)> = mails(desk)
        .into_iter()
        .map(|m| (format!("outbox {} to {}", m.kind, m.rcpt.join(",")), m.raw))
        .collect();
    desk.ok(&["outbox", "flush"]);
    all.extend(desk.sent().into_iter().map(|raw| ("sent".to_string(), raw)));
    all
}

/// Fails if any mail carries a secret in clear (raw bytes, and its text
/// as a client decodes it, quoted-printable or base64 undone).
fn assert_no_plaintext(desk: &Desk) {
    let all = everything_sent(desk);
    assert!(!all.is_empty(), "no mail at all: the test proves nothing");
    for (what, raw) in &all {
        assert_clear_of(what, raw, SECRETS);
    }
}

/// Fails if `raw` carries one of `words`, in its raw bytes or in its text
/// as a client decodes it (quoted-printable or base64 undone).
fn assert_clear_of(what: &str, raw: &[u8], words: &[&str]) {
    let decoded: String = {
        let m = mail_parser::MessageParser::default().parse(raw).unwrap();
        let mut s = m.subject().unwrap_or_default().to_string();
        for i in 0..m.parts.len() {
            if let Some(t) = m.body_text(i) {
                s.push_str(&t);
            }
        }
        for a in m.attachments() {
            s.push_str(&String::from_utf8_lossy(a.contents()));
        }
        s
    };
    let raw_text = String::from_utf8_lossy(raw);
    for word in words {
        assert!(
            !raw_text.contains(word) && !decoded.contains(word),
            "{what} carries {word:?} in clear:\n{raw_text}"
        );
    }
}

fn ticket_text(desk: &Desk, n: i64) -> String {
    ticket(desk, n).to_string()
}

#[test]
fn thunderbird_pgp_mime_is_decrypted_into_a_ticket_with_its_attachment() {
    let desk = pgp_desk(false);
    ingest(&desk, &fixture("thunderbird-pgpmime.eml"));
    let show = ticket_text(&desk, 1);
    assert!(show.contains("PURPLE-OCTOPUS-4711"), "{show}");
    // The protected subject is the ticket's; the attachment is listed.
    assert!(show.contains("Root password for srv-17"), "{show}");
    assert!(show.contains("access.txt"), "{show}");
    // The raw bytes stored are those received, encrypted.
    let store = desk.open_store();
    let raw = store.read().message_raw(1).unwrap().unwrap();
    assert_eq!(raw, fixture("thunderbird-pgpmime.eml"));
    assert!(
        store
            .read()
            .ticket_encrypted(postdesk::domain::TicketId(1))
            .unwrap()
    );
    // Receipt to Ann, notification to the team: subject the token alone.
    let sent = mails(&desk);
    let receipt = only(&sent, "receipt", "ann@customer.example");
    assert_eq!(receipt.subject(), "[DESK #1]");
    let notify = only(&sent, "staff-notify", "team@desk.example");
    assert!(
        notify.text().contains("postdesk ticket show 1"),
        "{}",
        notify.text()
    );
    assert_no_plaintext(&desk);
}

#[test]
fn inline_pgp_is_decrypted_and_flagged() {
    let desk = pgp_desk(false);
    ingest(&desk, &fixture("inline.eml"));
    let show = ticket_text(&desk, 1);
    assert!(show.contains("4111-GREEN-FALCON-0042"), "{show}");
    assert!(!show.contains("BEGIN PGP MESSAGE"), "{show}");
    assert_no_plaintext(&desk);
}

#[test]
fn mail_to_the_old_key_is_read_with_extra_secret_keys() {
    let desk = pgp_desk(false);
    ingest(&desk, &fixture("old-key-pgpmime.eml"));
    assert!(ticket_text(&desk, 1).contains("PURPLE-OCTOPUS-4711"));
}

#[test]
fn mail_encrypted_to_another_key_is_quarantined_and_its_sender_told_once() {
    let desk = pgp_desk(false);
    let raw = fixture("wrong-key-pgpmime.eml");
    ingest(&desk, &raw);
    assert!(desk.tickets().is_empty());
    let list = desk.ok(&["quarantine", "list"]);
    assert!(list.contains("undecryptable"), "{list}");
    assert!(list.contains("not decrypted"), "{list}");
    let sent = mails(&desk);
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert!(sent[0].to("ann@customer.example"));
    assert!(
        sent[0].text().contains("could not decrypt"),
        "{}",
        sent[0].text()
    );
    // The same message again (a re-delivery): no second answer.
    let again = String::from_utf8(raw)
        .unwrap()
        .replace("Return-Path: <ann@customer.example>\r\n", "");
    ingest(&desk, again.as_bytes());
    assert_eq!(mails(&desk).len(), 1);
    // An automatic one is never answered.
    let robot = String::from_utf8(fixture("wrong-key-pgpmime.eml"))
        .unwrap()
        .replace("tb-pgpmime-wrong@", "robot-wrong@")
        .replace(
            "Subject: ...",
            "Subject: ...\r\nAuto-Submitted: auto-generated",
        );
    ingest(&desk, robot.as_bytes());
    assert_eq!(mails(&desk).len(), 1);
}

#[test]
fn without_keys_encrypted_mail_is_held_with_the_reason() {
    let desk = Desk::new();
    ingest(&desk, &fixture("thunderbird-pgpmime.eml"));
    assert!(desk.tickets().is_empty());
    let list = desk.ok(&["quarantine", "list"]);
    assert!(list.contains("secret_key_file"), "{list}");
}

/// The whole life of an encrypted ticket: a staff member who read it
/// quotes it in his answer; the ticket is changed, warned about and
/// closed. Nothing of it leaves in clear.
#[test]
fn no_plaintext_of_an_encrypted_ticket_ever_leaves_in_clear() {
    let desk = pgp_desk(false);
    ingest(&desk, &fixture("thunderbird-pgpmime.eml"));
    // With the knowledge base on, the notification waits for its
    // suggestions (issue 15): `outbox flush` queues it.
    desk.ok(&["outbox", "flush"]);
    let notify = only(&mails(&desk), "staff-notify", "team@desk.example").clone();
    let answer = reply_to(
        &notify,
        "Alice <alice@desk.example>",
        "alice-1@desk.example",
        "#type billing\r\nDone: PURPLE-OCTOPUS-4711 is reset, Root password changed.",
    );
    ingest(&desk, &answer);
    // Ann answers (in clear, quoting nothing secret): a follow-up.
    let relay = mails(&desk)
        .into_iter()
        .find(|m| m.to("ann@customer.example") && m.kind != "receipt")
        .expect("a mail to Ann about Alice's answer");
    let follow = reply_to(
        &relay,
        "ann@customer.example",
        "ann-2@customer.example",
        "Thanks!",
    );
    ingest(&desk, &follow);
    // Warnings and the close by the sweep, much later; then a close by hand.
    desk.ok(&["sweep", "--now", "2027-06-01T09:00:00Z"]);
    desk.ok(&["ticket", "reopen", "1"]);
    desk.ok(&["ticket", "close", "1"]);
    let kinds: Vec<String> = mails(&desk).iter().map(|m| m.kind.clone()).collect();
    assert!(kinds.len() >= 5, "{kinds:?}");
    assert_no_plaintext(&desk);
    // Staff still read it all with the command line.
    assert!(ticket_text(&desk, 1).contains("PURPLE-OCTOPUS-4711"));
}

// ---- gpg at run time

fn gpg() -> Option<Command> {
    let found = Command::new("gpg").arg("--version").output().is_ok();
    if !found {
        assert!(
            std::env::var("POSTDESK_REQUIRE_MAILSTACK").as_deref() != Ok("1"),
            "gpg is required (POSTDESK_REQUIRE_MAILSTACK=1)"
        );
        eprintln!("skipped: gpg is not installed");
        return None;
    }
    Some(Command::new("gpg"))
}

/// A throw-away GnuPG home with `keys` imported.
fn gpg_home(keys: &[&str]) -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    for key in keys {
        let out = Command::new("gpg")
            .env("GNUPGHOME", home.path())
            .args(["--batch", "--import"])
            .arg(fixtures().join(key))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    home
}

fn gpg_run(home: &Path, args: &[&str], input: &[u8]) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new("gpg")
        .env("GNUPGHOME", home)
        .args([
            "--batch",
            "--yes",
            "--trust-model",
            "always",
            "--pinentry-mode",
            "loopback",
        ])
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn fresh_mail_from_gnupg_is_decrypted() {
    if gpg().is_none() {
        return;
    }
    let home = gpg_home(&["desk.pub.asc", "ann.sec.asc"]);
    let phrase = format!("fresh-{}-phrase", std::process::id());
    let out = gpg_run(
        home.path(),
        &[
            "--passphrase",
            "",
            "--encrypt",
            "--sign",
            "--armor",
            "-u",
            "ann@customer.example",
            "-r",
            "support@desk.example",
        ],
        format!("Content-Type: text/plain; charset=utf-8\r\n\r\nThe phrase is {phrase}.\r\n")
            .as_bytes(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let armored = String::from_utf8(out.stdout).unwrap();
    let mail = format!(
        "From: Ann Customer <ann@customer.example>\r\nTo: {ADDRESS}\r\nSubject: fresh\r\n\
Message-ID: <fresh@customer.example>\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"b\"\r\n\r\n\
--b\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n\
--b\r\nContent-Type: application/octet-stream\r\n\r\n{armored}\r\n--b--\r\n"
    );
    let desk = pgp_desk(false);
    ingest(&desk, mail.as_bytes());
    assert!(ticket_text(&desk, 1).contains(&phrase));
    for (what, raw) in everything_sent(&desk) {
        assert!(!String::from_utf8_lossy(&raw).contains(&phrase), "{what}");
    }
}

#[test]
fn staff_notification_is_encrypted_to_the_staff_key_and_gnupg_reads_it() {
    if gpg().is_none() {
        return;
    }
    let desk = pgp_desk(true);
    ingest(&desk, &fixture("thunderbird-pgpmime.eml"));
    let sent = mails(&desk);
    let notify: &Mail = only(&sent, "staff-notify", "team@desk.example");
    let head = notify.head();
    assert!(head.contains("multipart/encrypted"), "{head}");
    assert_eq!(notify.subject(), "[DESK #1]");
    let raw = String::from_utf8_lossy(&notify.raw);
    let start = raw.find("-----BEGIN PGP MESSAGE-----").unwrap();
    let end = raw.find("-----END PGP MESSAGE-----").unwrap() + 25;
    let home = gpg_home(&["team.sec.asc", "desk.pub.asc"]);
    let out = gpg_run(home.path(), &["--decrypt"], raw[start..end].as_bytes());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plain = String::from_utf8_lossy(&out.stdout);
    assert!(plain.contains("PURPLE-OCTOPUS-4711"), "{plain}");
    // Signed by the desk's key: gpg says so.
    let status = String::from_utf8_lossy(&out.stderr);
    assert!(status.contains("Good signature"), "{status}");
    // The receipt to Ann (no key of hers known) stays a notice.
    assert_no_plaintext(&desk);
}

// ---- signed mail shows its content

#[test]
fn signed_mail_shows_its_content() {
    let desk = Desk::new();
    let cases = [
        (
            "signed-pgpmime.eml",
            "Please check the DNS of customer.example",
        ),
        ("smime-detached.eml", "please renew the certificate"),
        // Opaque (smime.p7m): the content is inside the CMS structure.
        ("smime-opaque.eml", "please renew the certificate"),
    ];
    for (n, (file, words)) in cases.iter().enumerate() {
        ingest(&desk, &fixture(file));
        let show = ticket_text(&desk, n as i64 + 1);
        assert!(show.contains(words), "{file}: {show}");
    }
}

/// Ann's and Mallory's public keys known to the desk.
fn known_keys() -> String {
    format!(
        "public_keys = [\"{}\", \"{}\"]\n",
        fixtures().join("ann.pub.asc").display(),
        fixtures().join("mallory.pub.asc").display()
    )
}

#[test]
fn signatures_are_checked_against_known_keys_and_shown_to_staff() {
    let desk = pgp_desk_with(false, &known_keys(), "", "");
    let cases = [
        (
            "signed-pgpmime.eml",
            "good signature by Ann Customer <ann@customer.example>",
            None,
        ),
        (
            "forged-signed.eml",
            "good signature by Mallory",
            Some("not the sender's key"),
        ),
        ("tampered-signed.eml", "BAD signature", None),
    ];
    for (n, (file, want, also)) in cases.iter().enumerate() {
        ingest(&desk, &fixture(file));
        let show = desk.ok(&["ticket", "show", &(n + 1).to_string()]);
        assert!(show.contains(want), "{file}: {show}");
        if let Some(also) = also {
            assert!(show.contains(also), "{file}: {show}");
        }
        // Signed mail always shows its content.
        assert!(show.contains("DNS of customer.example"), "{file}: {show}");
    }
    // Without the signer's key: unknown, not good.
    let desk = pgp_desk(false);
    ingest(&desk, &fixture("signed-pgpmime.eml"));
    let show = desk.ok(&["ticket", "show", "1"]);
    assert!(show.contains("unknown key"), "{show}");
}

/// require_authentication: a good signature by a key of the sender's
/// address proves the From; a good signature by someone else's key (a
/// forged From) and a bad one do not.
#[test]
fn a_good_signature_by_the_senders_key_is_proof_of_identity() {
    let desk = pgp_desk_with(false, &known_keys(), "require_authentication = true\n", "");
    for file in [
        "signed-pgpmime.eml",
        "forged-signed.eml",
        "tampered-signed.eml",
    ] {
        ingest(&desk, &fixture(file));
    }
    let tickets = desk.tickets();
    let account = |n: i64| {
        tickets
            .iter()
            .find(|t| t["number"] == n)
            .map(|t| t["account"].clone())
            .unwrap_or_default()
    };
    assert_eq!(account(1), "cust-1", "{tickets:?}");
    for n in [2, 3] {
        assert_ne!(account(n), "cust-1", "{tickets:?}");
    }
}

#[test]
fn mail_to_a_customer_whose_key_is_known_is_encrypted_to_her_and_signed() {
    if gpg().is_none() {
        return;
    }
    let desk = pgp_desk_with(false, &known_keys(), "", "");
    ingest(&desk, &fixture("thunderbird-pgpmime.eml"));
    let sent = mails(&desk);
    let receipt = only(&sent, "receipt", "ann@customer.example");
    assert!(
        receipt.head().contains("multipart/encrypted"),
        "{}",
        receipt.head()
    );
    assert_eq!(receipt.subject(), "[DESK #1]");
    let raw = String::from_utf8_lossy(&receipt.raw);
    let start = raw.find("-----BEGIN PGP MESSAGE-----").unwrap();
    let end = raw.find("-----END PGP MESSAGE-----").unwrap() + 25;
    let home = gpg_home(&["ann.sec.asc", "desk.pub.asc"]);
    let out = gpg_run(home.path(), &["--decrypt"], raw[start..end].as_bytes());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plain = String::from_utf8_lossy(&out.stdout);
    assert!(plain.contains("[DESK #1]"), "{plain}");
    let status = String::from_utf8_lossy(&out.stderr);
    assert!(status.contains("Good signature"), "{status}");
    assert_no_plaintext(&desk);
}

/// A stranger writing encrypted under `unknown_sender = "verify"`: the
/// confirmation request carries its code and nothing of the message; the
/// answer opens the ticket, decrypted.
#[test]
fn a_stranger_writing_encrypted_is_asked_to_confirm_without_the_plaintext() {
    let desk = pgp_desk_with(false, "", "", "unknown_sender = \"verify\"\n");
    let mail = String::from_utf8(fixture("thunderbird-pgpmime.eml"))
        .unwrap()
        .replace("ann@customer.example", "zoe@stranger.example");
    ingest(&desk, mail.as_bytes());
    assert!(desk.tickets().is_empty());
    let sent = mails(&desk);
    assert_eq!(sent.len(), 1, "{sent:#?}");
    let confirm = &sent[0];
    assert!(
        confirm.subject().contains("confirm"),
        "{}",
        confirm.subject()
    );
    assert_no_plaintext(&desk);
    let answer = reply_to(
        confirm,
        "zoe@stranger.example",
        "zoe-2@stranger.example",
        "yes",
    );
    ingest(&desk, &answer);
    assert_eq!(desk.tickets().len(), 1);
    assert!(ticket_text(&desk, 1).contains("PURPLE-OCTOPUS-4711"));
    assert_no_plaintext(&desk);
}

/// A key the passphrase does not unlock stops the start with a sentence
/// naming the file: check-config exits 78, ingest 75 (the MTA keeps the
/// mail until the operator fixes it); the passphrase is not shown.
#[test]
fn a_wrong_passphrase_is_a_config_error() {
    let desk = pgp_desk(false);
    let wrong = desk.path("wrong.pass");
    std::fs::write(&wrong, "not the desk passphrase\n").unwrap();
    let text = std::fs::read_to_string(&desk.config).unwrap().replace(
        &fixtures().join("desk.pass").display().to_string(),
        &wrong.display().to_string(),
    );
    std::fs::write(&desk.config, text).unwrap();
    for (args, code) in [(&["check-config"][..], 78), (&["ingest"][..], 75)] {
        let out = desk.run(args, &fixture("inline.eml"));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
        assert!(err.contains("passphrase does not unlock"), "{err}");
        assert!(err.contains("desk.sec.asc"), "{err}");
        assert!(!err.contains("not the desk passphrase"), "{err}");
    }
}

// ---- leaks closed at the merge with search and the knowledge base

/// The Authentication-Results of a genuine mail from the desk's domain.
const GENUINE: &str = "Authentication-Results: mx.desk.example; dkim=pass header.d=desk.example; dmarc=pass header.from=desk.example";

/// A staff member's `#search` by mail finds an encrypted ticket by a word
/// of its decrypted text: the answer names its number, never its
/// protected subject or a snippet of its words. A ticket in clear found
/// by the same word is listed as usual (the answer is not just empty).
#[test]
fn search_by_mail_names_an_encrypted_ticket_by_number_only() {
    let desk = pgp_desk(false);
    ingest(&desk, &fixture("thunderbird-pgpmime.eml"));
    ingest(
        &desk,
        &crate::support::customer_mail(
            "bob@other.example",
            "Quota question",
            "bob-1@other.example",
            "Please reset my mailbox quota.",
        ),
    );
    let before = mails(&desk).len();
    ingest(
        &desk,
        &crate::support::mail_with(
            "alice@desk.example",
            "#search reset",
            "alice-s1@desk.example",
            "",
            &[GENUINE],
            &[],
        ),
    );
    let after = crate::support::outbox::new_mails(&desk, before);
    let answer = only(&after, "search", "alice@desk.example");
    let text = answer.text();
    assert!(text.contains("#1  "), "{text}");
    assert!(text.contains("postdesk ticket show 1"), "{text}");
    assert!(text.contains("#2  new  Quota question"), "{text}");
    assert!(text.contains("**reset**"), "{text}");
    let mut words = SECRETS.to_vec();
    words.extend(["srv-17", "mail quota of"]);
    assert_clear_of("the #search answer", &answer.raw, &words);
    assert_no_plaintext(&desk);
}

/// With `learn_from_closed`, an encrypted ticket answered and closed is
/// not learnt: not in `kb list`, not suggested to staff for a similar new
/// ticket in clear, and its secret leaves in no mail.
#[test]
fn a_closed_encrypted_ticket_teaches_the_knowledge_base_nothing() {
    let kb = format!(
        "\n[knowledge]\npath = \"{}/tests/knowledge\"\nlearn_from_closed = true\n",
        env!("CARGO_MANIFEST_DIR")
    );
    let desk = pgp_desk_with(false, &kb, "", "");
    ingest(&desk, &fixture("thunderbird-pgpmime.eml"));
    // With the knowledge base on, the notification waits for its
    // suggestions (issue 15): `outbox flush` queues it.
    desk.ok(&["outbox", "flush"]);
    let notify = only(&mails(&desk), "staff-notify", "team@desk.example").clone();
    ingest(
        &desk,
        &reply_to(
            &notify,
            "Alice <alice@desk.example>",
            "alice-1@desk.example",
            "#close\r\n\r\nThe mail quota of srv-17 is reset; PURPLE-OCTOPUS-4711 is changed.",
        ),
    );
    let show = ticket(&desk, 1);
    assert_eq!(show["status"], "closed", "{show}");
    let out = desk.ok(&["kb", "reindex"]);
    assert!(out.contains("0 closed ticket(s) learnt from"), "{out}");
    let list = desk.ok(&["kb", "list"]);
    assert!(!list.contains("ticket-1"), "{list}");

    // A similar ticket in clear: no suggestion from ticket #1.
    let before = mails(&desk).len();
    ingest(
        &desk,
        &crate::support::customer_mail(
            "bob@other.example",
            "Mail quota of srv-17",
            "bob-1@other.example",
            "Please reset the mail quota of srv-17, the mailbox is full.",
        ),
    );
    desk.ok(&["outbox", "flush"]);
    let after = crate::support::outbox::new_mails(&desk, before);
    let notify = only(&after, "staff-notify", "team@desk.example");
    let text = notify.text();
    assert!(!text.contains("ticket #1"), "{text}");
    assert_no_plaintext(&desk);
}

// ---- keys learnt from earlier mail

/// A mail from `from` with `key` (a fixture) attached as
/// `application/pgp-keys`; `genuine`: stamped dmarc=pass by the desk's MTA.
fn key_mail(from: &str, id: &str, key: &str, genuine: bool) -> Vec<u8> {
    let domain = from.split('@').nth(1).unwrap();
    let stamp = if genuine {
        format!("Authentication-Results: mx.desk.example; dmarc=pass header.from={domain}\r\n")
    } else {
        String::new()
    };
    let armored = String::from_utf8(fixture(key))
        .unwrap()
        .replace("\r\n", "\n")
        .replace('\n', "\r\n");
    format!(
        "{stamp}From: {from}\r\nTo: {ADDRESS}\r\nSubject: my new key\r\nMessage-ID: <{id}>\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"kb\"\r\n\r\n\
--kb\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHere is my OpenPGP key, please use it.\r\n\
--kb\r\nContent-Type: application/pgp-keys; name=\"OpenPGP_key.asc\"\r\n\
Content-Disposition: attachment; filename=\"OpenPGP_key.asc\"\r\n\r\n{armored}\r\n--kb--\r\n"
    )
    .into_bytes()
}

/// Ann's key, attached to a genuine mail of hers, checks her later
/// signature and encrypts the answer to her encrypted mail (GnuPG reads it).
#[test]
fn a_key_attached_to_a_genuine_mail_checks_signatures_and_encrypts_answers() {
    if gpg().is_none() {
        return;
    }
    let desk = pgp_desk(false);
    ingest(
        &desk,
        &key_mail(
            "ann@customer.example",
            "key-1@customer.example",
            "ann.pub.asc",
            true,
        ),
    );
    let show = desk.ok(&["ticket", "show", "1"]);
    assert!(show.contains("OpenPGP key"), "{show}");
    assert!(show.contains("learnt"), "{show}");
    ingest(&desk, &fixture("signed-pgpmime.eml"));
    let show = desk.ok(&["ticket", "show", "2"]);
    assert!(
        show.contains("good signature by Ann Customer <ann@customer.example>"),
        "{show}"
    );
    ingest(&desk, &fixture("thunderbird-pgpmime.eml"));
    let sent = mails(&desk);
    let receipts: Vec<&Mail> = sent
        .iter()
        .filter(|m| m.kind == "receipt" && m.subject() == "[DESK #3]")
        .collect();
    assert_eq!(receipts.len(), 1, "{sent:#?}");
    let raw = String::from_utf8_lossy(&receipts[0].raw);
    assert!(receipts[0].head().contains("multipart/encrypted"), "{raw}");
    let start = raw.find("-----BEGIN PGP MESSAGE-----").unwrap();
    let end = raw.find("-----END PGP MESSAGE-----").unwrap() + 25;
    let home = gpg_home(&["ann.sec.asc", "desk.pub.asc"]);
    let out = gpg_run(home.path(), &["--decrypt"], raw[start..end].as_bytes());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("[DESK #3]"));
    assert_no_plaintext(&desk);
}

/// The same key offered by a sender not shown genuine, by a stranger, or
/// for another address (Ann, genuine, attaching Mallory's key) is not
/// taken: Ann's later signature stays unknown, Mallory's forged one stays
/// unknown, and the answer to Ann's encrypted mail is the notice.
#[test]
fn a_key_from_an_unproven_sender_or_for_another_address_is_not_taken() {
    let desk = pgp_desk(false);
    for (from, id, key, genuine) in [
        ("ann@customer.example", "k1@x", "ann.pub.asc", false),
        ("zoe@stranger.example", "k2@x", "ann.pub.asc", true),
        ("zoe@stranger.example", "k3@x", "mallory.pub.asc", true),
        ("ann@customer.example", "k4@x", "mallory.pub.asc", true),
    ] {
        ingest(&desk, &key_mail(from, id, key, genuine));
    }
    let all = desk.open_store();
    for who in [
        "ann@customer.example",
        "mallory@evil.example",
        "zoe@stranger.example",
    ] {
        let a = postdesk::domain::Address::parse(who).unwrap();
        assert!(all.read().sender_keys(&a).unwrap().is_empty(), "{who}");
    }
    ingest(&desk, &fixture("signed-pgpmime.eml"));
    let show = desk.ok(&["ticket", "show", "5"]);
    assert!(show.contains("unknown key"), "{show}");
    ingest(&desk, &fixture("forged-signed.eml"));
    let show = desk.ok(&["ticket", "show", "6"]);
    assert!(show.contains("unknown key"), "{show}");
    ingest(&desk, &fixture("thunderbird-pgpmime.eml"));
    let sent = mails(&desk);
    let receipt = sent
        .iter()
        .find(|m| m.kind == "receipt" && m.subject() == "[DESK #7]")
        .expect("a receipt for the encrypted mail");
    assert!(
        !receipt.head().contains("multipart/encrypted"),
        "{}",
        receipt.head()
    );
    assert_no_plaintext(&desk);
}

/// Autocrypt (Level 1): the key in the header of a genuine mail of Ann's
/// is learnt as an attached one is; the same header in a mail of hers not
/// shown genuine teaches nothing.
#[test]
fn an_autocrypt_key_of_a_genuine_mail_is_learnt() {
    // The armour's base64 body is the binary key Autocrypt carries.
    let armored = String::from_utf8(fixture("ann.pub.asc")).unwrap();
    let body = armored.split("\n\n").nth(1).unwrap();
    let keydata: String = body
        .lines()
        .take_while(|l| !l.starts_with('=') && !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .join("\r\n ");
    for (genuine, want) in [
        (true, "good signature by Ann Customer"),
        (false, "unknown key"),
    ] {
        let desk = pgp_desk(false);
        let stamp = if genuine {
            "Authentication-Results: mx.desk.example; dmarc=pass header.from=customer.example\r\n"
        } else {
            ""
        };
        let mail = format!(
            "{stamp}From: Ann Customer <ann@customer.example>\r\nTo: {ADDRESS}\r\nSubject: hello\r\n\
Message-ID: <ac-1@customer.example>\r\n\
Autocrypt: addr=ann@customer.example; prefer-encrypt=mutual; keydata=\r\n {keydata}\r\n\r\nHello.\r\n"
        );
        ingest(&desk, mail.as_bytes());
        ingest(&desk, &fixture("signed-pgpmime.eml"));
        let show = desk.ok(&["ticket", "show", "2"]);
        assert!(show.contains(want), "genuine={genuine}: {show}");
    }
}

/// An account's `openpgp_key` (in an accounts file, relative to it) is a
/// known key: Ann's signature by it is good and proves her under
/// require_authentication, and the answer to her encrypted mail is
/// encrypted to it.
#[test]
fn an_accounts_openpgp_key_checks_signatures_and_encrypts_answers() {
    let desk = pgp_desk(false);
    std::fs::create_dir_all(desk.path("accounts/keys")).unwrap();
    std::fs::copy(
        fixtures().join("ann.pub.asc"),
        desk.path("accounts/keys/ann.asc"),
    )
    .unwrap();
    std::fs::write(
        desk.path("accounts/customers.toml"),
        "[[account]]\nid = \"cust-2\"\nname = \"Customer Two\"\n\
primary = \"ann@customer.example\"\nrequire_authentication = true\n\
openpgp_key = \"keys/ann.asc\"\n",
    )
    .unwrap();
    // The same desk, Ann in the accounts file instead of inline.
    let config = std::fs::read_to_string(desk.path("postdesk.toml")).unwrap();
    let at = config.find("[[account]]").unwrap();
    std::fs::write(
        desk.path("postdesk.toml"),
        format!(
            "accounts_file = \"accounts/customers.toml\"\n{}",
            &config[..at]
        ),
    )
    .unwrap();
    desk.ok(&["check-config"]);
    ingest(&desk, &fixture("signed-pgpmime.eml"));
    ingest(&desk, &fixture("forged-signed.eml"));
    let show = desk.ok(&["ticket", "show", "1"]);
    assert!(
        show.contains("good signature by Ann Customer <ann@customer.example>"),
        "{show}"
    );
    let tickets = desk.tickets();
    let account = |n: i64| {
        tickets
            .iter()
            .find(|t| t["number"] == n)
            .map(|t| t["account"].clone())
            .unwrap_or_default()
    };
    assert_eq!(account(1), "cust-2", "{tickets:?}");
    assert_ne!(account(2), "cust-2", "{tickets:?}");
    ingest(&desk, &fixture("thunderbird-pgpmime.eml"));
    let sent = mails(&desk);
    let receipt = sent
        .iter()
        .find(|m| m.kind == "receipt" && m.subject() == "[DESK #3]")
        .expect("a receipt for the encrypted mail");
    assert!(
        receipt.head().contains("multipart/encrypted"),
        "{}",
        receipt.head()
    );
    assert_no_plaintext(&desk);
}

/// Thunderbird's way: the key attached inside the encrypted mail. Learnt
/// from the decrypted content when the mail is genuine.
#[test]
fn a_key_attached_inside_an_encrypted_genuine_mail_is_learnt() {
    if gpg().is_none() {
        return;
    }
    let home = gpg_home(&["desk.pub.asc"]);
    let key = String::from_utf8(fixture("ann.pub.asc"))
        .unwrap()
        .replace("\r\n", "\n")
        .replace('\n', "\r\n");
    let entity = format!(
        "Content-Type: multipart/mixed; boundary=\"in\"\r\n\r\n--in\r\n\
Content-Type: text/plain; charset=utf-8\r\n\r\nMy key is attached, the password is inside.\r\n\
--in\r\nContent-Type: application/pgp-keys; name=\"OpenPGP_0xANN.asc\"\r\n\
Content-Disposition: attachment; filename=\"OpenPGP_0xANN.asc\"\r\n\r\n{key}\r\n--in--\r\n"
    );
    let out = gpg_run(
        home.path(),
        &["--encrypt", "--armor", "-r", "support@desk.example"],
        entity.as_bytes(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let armored = String::from_utf8(out.stdout).unwrap();
    let mail = format!(
        "Authentication-Results: mx.desk.example; dmarc=pass header.from=customer.example\r\n\
From: Ann Customer <ann@customer.example>\r\nTo: {ADDRESS}\r\nSubject: ...\r\n\
Message-ID: <enc-key@customer.example>\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"b\"\r\n\r\n\
--b\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n\
--b\r\nContent-Type: application/octet-stream\r\n\r\n{armored}\r\n--b--\r\n"
    );
    let desk = pgp_desk(false);
    ingest(&desk, mail.as_bytes());
    let show = desk.ok(&["ticket", "show", "1"]);
    assert!(show.contains("learnt"), "{show}");
    ingest(&desk, &fixture("signed-pgpmime.eml"));
    let show = desk.ok(&["ticket", "show", "2"]);
    assert!(show.contains("good signature by Ann Customer"), "{show}");
}

/// The staff digest is no ticket's mail (the seal never sees it): an
/// encrypted ticket waiting for staff is listed by its token alone, never
/// with its protected subject; a clear ticket keeps its subject.
#[test]
fn the_digest_lists_an_encrypted_ticket_without_its_subject() {
    let desk = pgp_desk(false);
    ingest(&desk, &fixture("thunderbird-pgpmime.eml"));
    ingest(
        &desk,
        &crate::support::customer_mail(
            "bob@other.example",
            "Quota question",
            "bob-d1@other.example",
            "Please reset my mailbox quota.",
        ),
    );
    let before = mails(&desk).len();
    desk.ok(&["digest"]);
    let after = crate::support::outbox::new_mails(&desk, before);
    let digest = only(&after, "digest", "team@desk.example");
    let text = digest.text();
    assert!(text.contains("[DESK #1] (encrypted)"), "{text}");
    assert!(text.contains("Quota question"), "{text}");
    assert_clear_of("the digest", &digest.raw, SECRETS);
    assert_no_plaintext(&desk);
}
