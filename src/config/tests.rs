//! The config's tests: the shipped files, each rule's key and line, and round trips.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::validate::is_loopback;
use super::*;
use crate::domain::calendar::{Span, WEEKDAYS};
use crate::domain::lifecycle::{CloseAfter, Side};
use crate::domain::{Language, SenderPattern};

const EXAMPLE: &str = include_str!("../../conf/postdesk.toml");

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::from_toml(text, "t.toml", Path::new("/etc/postdesk"))
}

fn problems(text: &str) -> Vec<Problem> {
    match parse(text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.problems,
    }
}

/// Asserts exactly one problem, at `key` and `line`, whose message contains `fragment`.
#[track_caller]
fn assert_one(text: &str, key: &str, line: usize, fragment: &str) {
    let found = problems(text);
    assert!(
        matches!(&found[..], [p] if p.key == key && p.line == Some(line) && p.message.contains(fragment)),
        "expected one problem at {key} line {line} containing {fragment:?}, got {found:#?}\nin:\n{text}"
    );
}

#[test]
fn shipped_example_parses_with_the_values_its_comments_give() {
    let c = Config::from_toml(EXAMPLE, "conf/postdesk.toml", Path::new("/etc/postdesk")).unwrap();
    let s = &c.service;
    assert_eq!(s.name, "ACME Support");
    assert_eq!(s.address, Address::parse("support@acme.example").unwrap());
    assert_eq!(s.ticket_prefix, "ACME");
    assert_eq!(s.default_language, Language::En);
    assert_eq!(s.database, PathBuf::from("/var/lib/postdesk/postdesk.db"));
    assert!(s.templates.is_empty());
    assert_eq!(s.ticket_types, ["technical", "billing", "refund"]);
    assert_eq!(s.type_names["fr"]["billing"], "facturation");
    assert_eq!(s.type_names["it"]["technical"], "tecnico");
    let inbox = SourceKind::Maildir {
        path: "/var/lib/postdesk/inbox".into(),
        poll: Duration::from_secs(5),
    };
    assert_eq!(
        c.sources,
        [Source {
            name: "local".into(),
            queue: None,
            kind: inbox
        }]
    );
    let smtp = Smtp {
        host: "mail.acme.example".into(),
        port: 587,
        tls: TlsMode::Starttls,
        user: Some("support@acme.example".into()),
        password_file: Some("/etc/postdesk/smtp.pass".into()),
        auth: None,
        oauth: None,
        oauth_login: None,
        sasl: None,
        ca_file: None,
        timeout: Duration::from_secs(30),
        helo_name: None,
    };
    assert_eq!(c.transport, Transport::Smtp(smtp));
    assert_eq!(c.intake, intake_defaults());
    assert_eq!(c.outbox, outbox_defaults());
    assert_eq!(
        c.staff.notify,
        [Address::parse("support-team@acme.example").unwrap()]
    );
    let paris = Calendar::new(
        chrono_tz::Europe::Paris,
        &WEEKDAYS[..5]
            .iter()
            .map(|d| d.parse::<chrono::Weekday>().unwrap())
            .collect::<Vec<_>>(),
        &["2026-12-25", "2027-01-01"].map(|d| d.parse().unwrap()),
    )
    .with_hours(Some("09:00-18:00".parse().unwrap()));
    assert_eq!(c.calendar, paris);
    assert_eq!(c.inactivity, InactivityRule::defaults());
    assert_eq!(c.schedule.sweep.source(), DEFAULT_SWEEP);
    let ids: Vec<&str> = c.accounts.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["cust-001", "isp-01"]);
    let cust = &c.accounts[0];
    assert_eq!(cust.primary.as_str(), "admin@customer.example");
    assert_eq!(
        cust.authorized,
        SenderPattern::parse_list("ops@customer.example, customer.example").unwrap()
    );
    assert_eq!(cust.language, Some(Language::Fr));
    assert_eq!(cust.parent.as_ref().map(|p| p.as_str()), Some("isp-01"));
    assert_eq!(cust.delegates[0].as_str(), "tech@partner.example");
    assert_eq!((cust.priority, cust.require_authentication), (false, None));
    assert_eq!(c.accounts_file, None);
}

fn intake_defaults() -> Intake {
    Intake {
        confirm_receipt: true,
        max_message_size: 25 * 1024 * 1024,
        max_mime_depth: 20,
        max_mime_parts: 500,
        max_auto_replies_per_day: 10,
        max_recipients: 10,
        unmatched_automatic: UnmatchedAutomatic::Quarantine,
        batch_size: 200,
        batch_bytes: 64 << 20,
        max_stored_size: 1 << 20,
        reopen_window: Some(Duration::from_secs(30 * 86_400)),
        check_sender: true,
        unknown_sender: UnknownSender::Verify,
        verify_expiry: Duration::from_secs(7 * 86_400),
        blocked_domains: vec![],
        blocked_addresses: vec![],
        priority_domains: vec![],
        spam_header: Some(("X-Spam-Flag".into(), "YES".into())),
        authserv_id: None,
        require_authentication: false,
        case_sensitive_local_part: false,
        ignore_plus_tags: false,
        self_service: true,
        require_proof_for: vec![],
        auto_verify: false,
    }
}

fn outbox_defaults() -> Outbox {
    Outbox {
        max_attempts: 12,
        retry_initial: Duration::from_secs(60),
        retry_max: Duration::from_secs(6 * 3600),
        history_in_mail: 10,
        close_history_inline: 64 * 1024,
        announce_rate: 60,
    }
}

#[test]
fn embedded_default_is_local_and_relative_to_the_current_directory() {
    let c = Config::embedded_default();
    assert_eq!(c.origin, "embedded default");
    assert_eq!(c.service.name, "Support");
    assert_eq!(c.service.address.as_str(), "support@localhost");
    assert_eq!(c.service.ticket_prefix, "SUPPORT");
    assert_eq!(c.service.default_language, Language::En);
    assert_eq!(c.service.database, PathBuf::from("./var/postdesk.db"));
    assert_eq!(c.service.ticket_types, ["technical", "billing", "refund"]);
    let inbox = SourceKind::Maildir {
        path: "./var/inbox".into(),
        poll: Duration::from_secs(1),
    };
    assert_eq!(
        c.sources,
        [Source {
            name: "inbox".into(),
            queue: None,
            kind: inbox
        }]
    );
    assert_eq!(
        c.transport,
        Transport::Maildir {
            path: "./var/sent".into()
        }
    );
    assert_eq!(c.intake, intake_defaults());
    assert_eq!(c.outbox, outbox_defaults());
}

#[test]
fn an_empty_file_gets_the_file_defaults() {
    let c = parse("").unwrap();
    assert_eq!(
        c.service.database,
        PathBuf::from("/var/lib/postdesk/postdesk.db")
    );
    assert_eq!(c.service.address.as_str(), "support@localhost");
    assert!(
        c.sources.is_empty(),
        "no [[source]] is valid: the MTA can pipe to `postdesk ingest`"
    );
    assert_eq!(
        c.transport,
        Transport::Maildir {
            path: "/var/lib/postdesk/sent".into()
        }
    );
    let sendmail = parse("[transport]\nkind = \"sendmail\"").unwrap().transport;
    assert_eq!(
        sendmail,
        Transport::Sendmail {
            command: "/usr/sbin/sendmail".into(),
            args: vec![]
        }
    );
}

#[test]
fn smtp_port_defaults_by_tls_mode() {
    for (tls, host, port) in [
        ("implicit", "mx.example", 465),
        ("starttls", "mx.example", 587),
        ("none", "127.0.0.1", 25),
    ] {
        let text = format!("[transport]\nkind = \"smtp\"\nhost = \"{host}\"\ntls = \"{tls}\"");
        match parse(&text).unwrap().transport {
            Transport::Smtp(s) => assert_eq!(s.port, port, "tls = {tls}"),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn to_toml_round_trips() {
    let smtp_full = "[transport]\nkind = \"smtp\"\nhost = \"::1\"\ntls = \"none\"\nport = 2525\n\
                     user = \"u\"\npassword_file = \"pw\"\nca_file = \"ca.pem\"\ntimeout = \"1500ms\"\n\
                     helo_name = \"h.example\"\n[service]\ntemplates = \"tpl\"\nname = 'Say \"hi\"'";
    let sendmail = "[transport]\nkind = \"sendmail\"\ncommand = \"/usr/bin/msmtp\"\nargs = [\"-t\", \"--\"]\n\
                    [intake]\nmax_message_size = \"1000\"\nunmatched_automatic = \"ticket\"\nconfirm_receipt = false";
    let lifecycle = "inactivity = []\n[intake]\nreopen_window = 0\n[calendar]\nworking_days = [\"sun\", \"sat\"]";
    let rules = "[intake]\nreopen_window = \"45 days\"\n[[inactivity]]\nwaiting_for = \"customer\"\nclose_after = \"\"\n\
                 [[inactivity]]\nwaiting_for = \"staff\"\nwarn_after = [\"12 hours\", \"1 business day\"]\n\
                 [schedule]\nsweep = \"0 0 9 * * Mon-Fri\"";
    let staff = "[staff]\nmax_relays_per_day = 7\n[[staff.member]]\nname = \"Al\"\naddress = \"a@x.example\"\n\
                 [[staff.member]]\nname = \"Bo\"\naddress = \"b@x.example\"\naliases = [\"bo@x.example\", \"b2@x.example\"]";
    assert_eq!(parse(staff).unwrap().staff.members.len(), 2);
    let mut configs = vec![
        Config::embedded_default(),
        parse(EXAMPLE).unwrap(),
        parse(staff).unwrap(),
    ];
    configs.extend(
        [
            smtp_full, sendmail, "", POP3_FULL, IMAP_FULL, lifecycle, rules,
        ]
        .map(|t| parse(t).unwrap()),
    );
    for c in configs {
        let text = c.to_toml();
        let back = Config::from_toml(&text, &c.origin, Path::new(""))
            .unwrap_or_else(|e| panic!("to_toml output refused:\n{e}\n---\n{text}"));
        assert_eq!(back, c, "\n{text}");
    }
}

const POP3_FULL: &str = "[[source]]\nname = \"p\"\nkind = \"pop3\"\nhost = \"::1\"\nport = 1110\ntls = \"none\"\n\
    user = \"u\"\npassword_file = \"pw\"\nca_file = \"ca.pem\"\ntimeout = \"5s\"\npoll = \"2m\"\nleave_on_server = true";
const IMAP_FULL: &str = "[[source]]\nname = \"i\"\nkind = \"imap\"\nhost = \"mail.example\"\ntls = \"starttls\"\n\
    user = \"u\"\npassword_env = \"IMAP_PW\"\nfolder = \"Support\"\nprocessed_folder = \"Done\"\nidle = false";

#[test]
fn staff_are_found_by_address_alias_and_name() {
    let c = parse(
        "[staff]\nnotify = [\"team@x.example\"]\n[[staff.member]]\nname = \"Alice\"\naddress = \"alice@x.example\"\n\
         aliases = [\"a.smith@x.example\"]\n[[staff.member]]\nname = \"Bob\"\naddress = \"bob@x.example\"",
    )
    .unwrap();
    let opts = c.intake.match_options();
    let a = |s: &str| Address::parse(s).unwrap();
    let name = |s: &str| c.staff.member(&a(s), &opts).map(|m| m.name.as_str());
    assert_eq!(name("alice@x.example"), Some("Alice"));
    assert_eq!(name("A.Smith@X.example"), Some("Alice"));
    assert_eq!(name("bob@x.example"), Some("Bob"));
    assert_eq!(
        name("team@x.example"),
        None,
        "a notify address is no member"
    );
    assert_eq!(name("carol@x.example"), None);
    let find = |s: &str| c.staff.find(s, &opts).ok().map(|m| m.name.as_str());
    assert_eq!(find("bob"), Some("Bob"));
    assert_eq!(find(" ALICE "), Some("Alice"));
    assert_eq!(find("a.smith@x.example"), Some("Alice"));
    assert_eq!(find("carol"), None);
    // An unambiguous beginning of a name or an address.
    assert_eq!(find("bo"), Some("Bob"));
    assert_eq!(find("A.Sm"), Some("Alice"));
    assert!(
        c.staff.find("", &opts).is_err(),
        "nobody is named by nothing"
    );
    assert!(c.staff.is_staff_address(&a("team@x.example"), &opts));
    assert!(!c.staff.is_staff_address(&a("ann@customer.example"), &opts));
    assert_eq!(c.staff.recipients(), [a("team@x.example")]);
    // Without notify addresses, the members get the staff side's mail.
    let c = parse("[[staff.member]]\nname = \"Alice\"\naddress = \"alice@x.example\"").unwrap();
    assert_eq!(c.staff.recipients(), [a("alice@x.example")]);
}

#[test]
fn pop3_and_imap_sources_get_their_defaults() {
    let c = parse("[[source]]\nname = \"p\"\nkind = \"pop3\"\nhost = \"pop.example\"\nuser = \"u\"\npassword_file = \"pw\"\n\
                   [[source]]\nname = \"i\"\nkind = \"imap\"\nhost = \"imap.example\"\nuser = \"u\"\npassword_env = \"PW\"\ntls = \"starttls\"").unwrap();
    let server = |host: &str, port, tls, password, poll| MailServer {
        host: host.into(),
        port,
        tls,
        user: "u".into(),
        password,
        ca_file: None,
        timeout: Duration::from_secs(30),
        poll,
        own_address: true,
    };
    assert_eq!(
        c.sources[0].kind,
        SourceKind::Pop3 {
            server: server(
                "pop.example",
                995,
                TlsMode::Implicit,
                Secret::File("/etc/postdesk/pw".into()),
                Duration::from_secs(60)
            ),
            leave_on_server: false,
        }
    );
    assert_eq!(
        c.sources[1].kind,
        SourceKind::Imap {
            server: server(
                "imap.example",
                143,
                TlsMode::Starttls,
                Secret::Env("PW".into()),
                Duration::from_secs(300)
            ),
            folder: "INBOX".into(),
            processed_folder: None,
            idle: true,
        }
    );
    let c = parse(POP3_FULL).unwrap();
    let SourceKind::Pop3 { server, .. } = &c.sources[0].kind else {
        panic!()
    };
    assert_eq!((server.port, server.tls), (1110, TlsMode::None));
}

#[test]
fn secrets_are_read_without_their_line_break() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pw");
    std::fs::write(&file, "s3cret word\r\n").unwrap();
    assert_eq!(Secret::File(file.clone()).read().unwrap(), "s3cret word");
    std::fs::write(&file, "\n").unwrap();
    assert!(
        Secret::File(file.clone())
            .read()
            .unwrap_err()
            .contains("is empty")
    );
    let missing = Secret::File(dir.path().join("nope")).read().unwrap_err();
    assert!(missing.contains("cannot read password_file"), "{missing}");
    let unset = Secret::Env("POSTDESK_TEST_SURELY_UNSET_VAR".into())
        .read()
        .unwrap_err();
    assert!(unset.contains("POSTDESK_TEST_SURELY_UNSET_VAR"), "{unset}");
}

/// The example is the operator's reference: every key the module writes out for a fully
/// set config of each kind must appear in it, active or commented out.
#[test]
fn every_key_is_documented_in_the_example() {
    let full = [
        "[transport]\nkind = \"smtp\"\nhost = \"h\"\nuser = \"u\"\npassword_file = \"p\"\nca_file = \"c\"\nhelo_name = \"h\"\n[service]\ntemplates = \"t\"",
        "[transport]\nkind = \"sendmail\"",
        "[[source]]\nname = \"a\"\nkind = \"maildir\"\npath = \"p\"",
        POP3_FULL,
        IMAP_FULL,
    ];
    for text in full {
        for line in parse(text).unwrap().to_toml().lines() {
            let Some((key, _)) = line.split_once(" = ") else {
                continue;
            };
            let documented = EXAMPLE.lines().any(|l| {
                l.trim_start_matches(['#', ' '])
                    .starts_with(&format!("{key} = "))
            });
            assert!(documented, "key `{key}` is not in conf/postdesk.toml");
        }
    }
}

#[test]
fn each_validation_rule_names_key_and_line() {
    #[rustfmt::skip]
    let cases: &[(&str, &str, usize, &str)] = &[
        ("[service]\naddress = \"support\"", "service.address", 2, "not an email address"),
        ("[service]\nname = \"\"", "service.name", 2, "non-empty"),
        ("[service]\n\nticket_prefix = \"AC ME\"", "service.ticket_prefix", 3, "[PREFIX #N]"),
        ("[service]\nticket_prefix = \"ABCDEFGHIJKLMNOPQRSTU\"", "service.ticket_prefix", 2, "1-20"),
        ("[service]\ndefault_language = \"de\"", "service.default_language", 2, "\"en\", \"fr\", \"it\""),
        ("[service]\nticket_types = []", "service.ticket_types", 2, "at least one"),
        ("[service]\nticket_types = [\n\"a\",\n\"Refund\"]", "service.ticket_types[1]", 4, "lowercase"),
        ("[service]\nticket_types = [\"a\", \"b\", \"a\"]", "service.ticket_types[2]", 2, "already service.ticket_types[0]"),
        ("[service]\ndatabase = \"\"", "service.database", 2, "must not be empty"),
        ("[service]\ntype_names = { de = { technical = \"Technik\" } }", "service.type_names.de", 2, "no language of the desk"),
        ("[service]\ntype_names = { fr = { support = \"assistance\" } }", "service.type_names.fr.support", 2, "not one of service.ticket_types"),
        ("[service]\ntype_names = { fr = { billing = \" \" } }", "service.type_names.fr.billing", 2, "must not be empty"),
        ("[calendar]\nworking_hours = \"18:00-09:00\"", "calendar.working_hours", 2, "HH:MM-HH:MM"),
        ("[[source]]\nname = \"a\"\nkind = \"maildir\"\npath = \"p\"\n[[source]]\nname = \"a\"\nkind = \"maildir\"\npath = \"q\"",
            "source[1].name", 6, "already the name of source[0]"),
        ("[[source]]\nname = \"\"\nkind = \"maildir\"\npath = \"p\"", "source[0].name", 2, "must not be empty"),
        ("[[source]]\nname = \"my inbox\"\nkind = \"maildir\"\npath = \"p\"", "source[0].name", 2, "letters, digits"),
        ("[[source]]\nkind = \"maildir\"\npath = \"p\"", "source[0].name", 1, "missing"),
        ("[[source]]\nname = \"a\"\nkind = \"maildir\"", "source[0].path", 1, "missing"),
        ("[[source]]\nname = \"a\"\npath = \"p\"", "source[0].kind", 1, "missing"),
        ("[[source]]\nname = \"a\"\nkind = \"mbox\"", "source[0].kind", 3, "unknown kind"),
        ("[[source]]\nname = \"a\"\nkind = \"maildir\"\npath = \"p\"\npoll = \"0s\"", "source[0].poll", 5, "greater than zero"),
        ("[[source]]\nname = \"a\"\nkind = \"pop3\"\nuser = \"u\"\npassword_file = \"p\"", "source[0].host", 1, "missing"),
        ("[[source]]\nname = \"a\"\nkind = \"pop3\"\nuser = \"u\"\nhost = \"pop.example\"", "source[0].password_file", 1, "password_env"),
        ("[[source]]\nname = \"a\"\nkind = \"pop3\"\nuser = \"u\"\nhost = \"h\"\npassword_file = \"p\"\npassword_env = \"PW\"", "source[0].password_env", 7, "not both"),
        ("[[source]]\nname = \"a\"\nkind = \"pop3\"\nuser = \"u\"\nhost = \"h\"\npassword_env = \"PW-1\"", "source[0].password_env", 6, "environment variable name"),
        ("[[source]]\nname = \"a\"\nkind = \"pop3\"\nuser = \"u\"\nhost = \"pop.example\"\npassword_file = \"p\"\ntls = \"none\"", "source[0].tls", 7, "loopback"),
        ("[[source]]\nname = \"a\"\nkind = \"pop3\"\nuser = \"u\"\nhost = \"h\"\npassword_file = \"p\"\ntls = \"ssl\"", "source[0].tls", 7, "\"implicit\", \"starttls\", \"none\""),
        ("[[source]]\nname = \"a\"\nkind = \"pop3\"\nuser = \"u\"\nhost = \"h\"\npassword_file = \"p\"\nport = 0", "source[0].port", 7, "must be 1-65535"),
        ("[[source]]\nname = \"a\"\nkind = \"pop3\"\nuser = \"u\"\nhost = \"h\"\npassword_file = \"p\"\ntimeout = \"0s\"", "source[0].timeout", 7, "greater than zero"),
        ("[[source]]\nname = \"a\"\nkind = \"pop3\"\nuser = \"u\"\nhost = \"h\"\npassword_file = \"p\"\nidle = true", "source[0].idle", 7, "not used with kind = \"pop3\""),
        ("[[source]]\nname = \"a\"\nkind = \"pop3\"\nhost = \"h\"\npassword_file = \"p\"", "source[0].user", 1, "missing"),
        ("[[source]]\nname = \"a\"\nkind = \"imap\"\nuser = \"u\"\npassword_env = \"PW\"\nhost = \"h\"\nprocessed_folder = \"INBOX\"", "source[0].processed_folder", 7, "must differ from source[0].folder"),
        ("[[source]]\nname = \"a\"\nkind = \"imap\"\nuser = \"u\"\npassword_env = \"PW\"\nhost = \"h\"\nfolder = \"\"", "source[0].folder", 7, "folder name"),
        ("[[source]]\nname = \"a\"\nkind = \"imap\"\nuser = \"u\"\npassword_env = \"PW\"\nhost = \"h\"\nleave_on_server = true", "source[0].leave_on_server", 7, "not used with kind = \"imap\""),
        ("[[source]]\nname = \"a\"\nkind = \"imap\"\nuser = \"u\"\npassword_env = \"PW\"\nhost = \"h\"\npath = \"p\"", "source[0].path", 7, "not used with kind = \"imap\""),
        ("[transport]\nkind = \"smtp\"\nhost = \"mail.example\"\ntls = \"none\"", "transport.tls", 4, "loopback"),
        ("[transport]\nkind = \"smtp\"\nhost = \"mail.example\"\ntls = \"ssl\"", "transport.tls", 4, "\"implicit\", \"starttls\", \"none\""),
        ("[transport]\nkind = \"smtp\"", "transport.host", 1, "missing"),
        ("[transport]\nkind = \"smtp\"\nhost = \"h\"\npassword_file = \"p\"", "transport.password_file", 4, "transport.user"),
        ("[transport]\nkind = \"smtp\"\nhost = \"h\"\nuser = \"u\"", "transport.user", 4, "transport.password_file"),
        ("[transport]\nkind = \"smtp\"\nhost = \"h\"\nport = 0", "transport.port", 4, "must be 1-65535"),
        ("[transport]\nkind = \"smtp\"\nhost = \"h\"\nport = 65536", "transport.port", 4, "must be 1-65535"),
        ("[transport]\nkind = \"smtp\"\nhost = \"h\"\ntimeout = \"30\"", "transport.timeout", 4, "\"500ms\", \"60s\""),
        ("[transport]\nkind = \"smtp\"\nhost = \"h\"\nhelo_name = \"a b\"", "transport.helo_name", 4, "host name"),
        ("[transport]\nkind = \"carrier-pigeon\"", "transport.kind", 2, "\"smtp\", \"sendmail\" or \"maildir\""),
        ("[transport]\nkind = \"sendmail\"\ncommand = \"sendmail\"", "transport.command", 3, "absolute"),
        ("[transport]\nkind = \"sendmail\"\nhost = \"h\"", "transport.host", 3, "not used with kind = \"sendmail\""),
        ("[transport]\nport = 25", "transport.port", 2, "kind = \"maildir\" (the default)"),
        ("[intake]\nmax_message_size = \"0MB\"", "intake.max_message_size", 2, "greater than zero"),
        ("[intake]\nmax_message_size = \"25 megs\"", "intake.max_message_size", 2, "1 KB = 1024 bytes"),
        ("[intake]\nmax_mime_depth = 0", "intake.max_mime_depth", 2, "must be 1-1000"),
        ("[intake]\nmax_mime_parts = 0", "intake.max_mime_parts", 2, "must be 1-100000"),
        ("[intake]\nmax_auto_replies_per_day = -1", "intake.max_auto_replies_per_day", 2, "must be 0-10000"),
        ("[intake]\nbatch_size = 0", "intake.batch_size", 2, "must be 1-10000"),
        ("[intake]\nbatch_size = 10001", "intake.batch_size", 2, "must be 1-10000"),
        ("[intake]\nbatch_bytes = \"0\"", "intake.batch_bytes", 2, "greater than zero"),
        ("[intake]\nmax_stored_size = \"101MB\"", "intake.max_stored_size", 2, "at most 100MB"),
        ("[intake]\nunmatched_automatic = \"drop\"", "intake.unmatched_automatic", 2, "\"quarantine\", \"ticket\""),
        ("[outbox]\nmax_attempts = 0", "outbox.max_attempts", 2, "must be 1-1000"),
        ("[outbox]\nretry_initial = \"7h\"", "outbox.retry_initial", 2, "must not exceed outbox.retry_max (6h)"),
        ("[outbox]\nretry_max = \"0s\"", "outbox.retry_max", 2, "greater than zero"),
        ("[outbox]\nhistory_in_mail = -1", "outbox.history_in_mail", 2, "must be 0-1000"),
        ("[outbox]\nclose_history_inline = \"0KB\"", "outbox.close_history_inline", 2, "greater than zero"),
        ("[intake]\nreopen_window = \"a month\"", "intake.reopen_window", 2, "\"30d\" or \"30 days\""),
        ("[intake]\nreopen_window = 5", "intake.reopen_window", 2, "0 (never reopen)"),
        ("[intake]\nreopen_window = \"3 business days\"", "intake.reopen_window", 2, "invalid duration"),
        ("[staff]\nnotify = [\"team\"]", "staff.notify[0]", 2, "not an email address"),
        ("[staff]\nnotify = [\"a@x.example\", \"A@x.example\"]", "staff.notify[1]", 2, "already staff.notify[0]"),
        ("[staff]\nmax_relays_per_day = 0", "staff.max_relays_per_day", 2, "must be 1-10000"),
        ("[service]\naddress = \"help@x.example\"\n[staff]\nnotify = [\"Help@x.example\"]", "staff.notify[0]", 4, "the desk would mail itself"),
        ("[service]\naddress = \"help@x.example\"\n[[staff.member]]\nname = \"H\"\naddress = \"a@x.example\"\naliases = [\"help@x.example\"]", "staff.member[0].aliases[0]", 6, "the desk would mail itself"),
        ("[[staff.member]]\naddress = \"a@x.example\"", "staff.member[0].name", 1, "missing"),
        ("[[staff.member]]\nname = \"Al\"", "staff.member[0].address", 1, "missing"),
        ("[[staff.member]]\nname = \"Al\"\naddress = \"al\"", "staff.member[0].address", 3, "not an email address"),
        ("[[staff.member]]\nname = \"Al\"\naddress = \"a@x.example\"\naliases = [\"b\"]", "staff.member[0].aliases[0]", 4, "not an email address"),
        ("[[staff.member]]\nname = \"Al\"\naddress = \"a@x.example\"\n[[staff.member]]\nname = \"al\"\naddress = \"b@x.example\"", "staff.member[1].name", 5, "already staff.member[0]'s name"),
        ("[[staff.member]]\nname = \"Al\"\naddress = \"a@x.example\"\n[[staff.member]]\nname = \"Bo\"\naddress = \"c@x.example\"\naliases = [\"A@x.example\"]", "staff.member[1].aliases[0]", 7, "already staff.member[0].address"),
        ("[[staff.member]]\nname = \"Al\"\naddress = \"a@x.example\"\nphone = \"1\"", "staff.member[0].phone", 4, "unknown field"),
        ("[calendar]\ntimezone = \"Europe/Pariss\"", "calendar.timezone", 2, "IANA"),
        ("[calendar]\nworking_days = []", "calendar.working_days", 2, "at least one"),
        ("[calendar]\nworking_days = [\"mon\", \"Tuesday\"]", "calendar.working_days[1]", 2, "not a day"),
        ("[calendar]\nworking_days = [\"mon\", \"mon\"]", "calendar.working_days[1]", 2, "twice"),
        ("[calendar]\nholidays = [\"25/12/2026\"]", "calendar.holidays[0]", 2, "YYYY-MM-DD"),
        ("[calendar]\nholidays = [\"2026-02-30\"]", "calendar.holidays[0]", 2, "not a date"),
        ("[[inactivity]]\nwarn_after = [\"1 day\"]", "inactivity[0].waiting_for", 1, "missing"),
        ("[[inactivity]]\nwaiting_for = \"nobody\"", "inactivity[0].waiting_for", 2, "\"staff\", \"customer\""),
        ("[[inactivity]]\nwaiting_for = \"staff\"\nclose_after = \"6 dayz\"", "inactivity[0].close_after", 3, "\"7 business days\""),
        ("[[inactivity]]\nwaiting_for = \"staff\"\nclose_after = 6", "inactivity[0].close_after", 3, "-1 (never)"),
        ("[[inactivity]]\nwaiting_for = \"staff\"\nwarn_after = [\"0 days\"]", "inactivity[0].warn_after[0]", 3, "greater than zero"),
        ("[[inactivity]]\nwaiting_for = \"staff\"\nwarn_after = [\"4 days\", \"2 days\"]", "inactivity[0].warn_after[1]", 3, "longer than warn_after[0]"),
        ("[[inactivity]]\nwaiting_for = \"staff\"\nwarn_after = [\"7 days\"]\nclose_after = \"6 days\"", "inactivity[0].warn_after[0]", 3, "not before close_after"),
        ("[[inactivity]]\nwaiting_for = \"staff\"\nwarn_after = [\"1 day\"]\nclose_after = \"\"", "inactivity[0].warn_after[0]", 3, "closes the ticket at once"),
        ("[[inactivity]]\nwaiting_for = \"staff\"\n[[inactivity]]\nwaiting_for = \"staff\"", "inactivity[1].waiting_for", 4, "one rule per side"),
        ("[[inactivity]]\nwaiting_for = \"staff\"\nwarn_after = \"2 days\"", "inactivity[0].warn_after", 3, "invalid type"),
        ("inactivity = 3", "inactivity", 1, "[[inactivity]]"),
        ("[schedule]\nsweep = \"*/10 * * * *\"", "schedule.sweep", 2, "seconds first"),
        ("[schedule]\nsweep = \"0 0 0 30 2 *\"", "schedule.sweep", 2, "never fires"),
        ("[intake]\nunknown_sender = \"ignore\"", "intake.unknown_sender", 2, "\"verify\", \"accept\", \"reject\""),
        ("[intake]\nverify_expiry = \"0s\"", "intake.verify_expiry", 2, "greater than zero"),
        ("[intake]\nblocked_domains = [\"ok.example\", \"bad..example\"]", "intake.blocked_domains[1]", 2, "not an address, a domain"),
        ("[intake]\nblocked_domains = [\"a@b.example\"]", "intake.blocked_domains[0]", 2, "intake.blocked_addresses"),
        ("[intake]\nblocked_addresses = [\"b.example\"]", "intake.blocked_addresses[0]", 2, "not an email address"),
        ("[intake]\npriority_domains = [\"*.\"]", "intake.priority_domains[0]", 2, "not an address, a domain"),
        ("[intake]\nspam_header = \"X-Spam-Flag\"", "intake.spam_header", 2, "Field-Name: value"),
        ("[intake]\nauthserv_id = \"mx example\"", "intake.authserv_id", 2, "one word"),
        ("[intake]\nrequire_authentication = true", "intake.require_authentication", 2, "needs intake.authserv_id"),
        ("[[account]]\nprimary = \"a@x.example\"", "account[0].id", 1, "missing"),
        ("[[account]]\nid = \"a b\"\nprimary = \"a@x.example\"", "account[0].id", 2, "not an account id"),
        ("[[account]]\nid = \"a\"", "account[0].primary", 1, "missing"),
        ("[[account]]\nid = \"a\"\nprimary = \"x\"", "account[0].primary", 3, "not an email address"),
        ("[[account]]\nid = \"a\"\nprimary = \"a@x.example\"\nauthorized = [\"ok.example, bad..x\"]", "account[0].authorized[0]", 4, "not an address"),
        ("[[account]]\nid = \"a\"\nprimary = \"a@x.example\"\nlanguage = \"de\"", "account[0].language", 4, "\"en\", \"fr\", \"it\""),
        ("[[account]]\nid = \"a\"\nprimary = \"a@x.example\"\nparent = \"isp\"", "account[0].parent", 4, "not a declared account"),
        ("[[account]]\nid = \"a\"\nprimary = \"a@x.example\"\nparent = \"A\"", "account[0].parent", 4, "its own parent"),
        ("[[account]]\nid = \"a\"\nprimary = \"a@x.example\"\n[[account]]\nid = \"A\"\nprimary = \"b@x.example\"", "account[1].id", 5, "already the id of account[0]"),
        ("[[account]]\nid = \"a\"\nprimary = \"a@x.example\"\nrequire_authentication = true", "account[0].require_authentication", 4, "needs intake.authserv_id"),
        ("[[account]]\nid = \"a\"\nprimary = \"a@x.example\"\ndelegates = [\"nope\"]", "account[0].delegates[0]", 4, "not an email address"),
        ("[[account]]\nid = \"a\"\nprimary = \"a@x.example\"\naccounts_file = \"x\"", "account[0].accounts_file", 4, "top-level key"),
        ("accounts_file = \"\"", "accounts_file", 1, "must not be empty"),
    ];
    for &(text, key, line, fragment) in cases {
        assert_one(text, key, line, fragment);
    }
}

/// accounts_file: read with the config, its problems named by its own
/// file and line, its ids unique with the inline ones.
#[test]
fn accounts_file_is_read_and_checked_with_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("accounts.toml");
    std::fs::write(
        &file,
        "[[account]]\nid = \"isp\"\nprimary = \"noc@isp.example\"\nauthorized = [\"isp.example\"]\n\
         [[account]]\nid = \"child\"\nprimary = \"c@c.example\"\nparent = \"isp\"\n",
    )
    .unwrap();
    let text = "accounts_file = \"accounts.toml\"\n[intake]\nauthserv_id = \"mx.example\"\n\
                [[account]]\nid = \"inline\"\nprimary = \"i@i.example\"\nparent = \"isp\"\nrequire_authentication = true\n";
    let c = Config::from_toml(text, "t.toml", dir.path()).unwrap();
    let ids: Vec<&str> = c.accounts.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["inline", "isp", "child"]);
    assert_eq!(c.inline_accounts, 1);
    assert_eq!(c.accounts_file.as_deref(), Some(file.as_path()));
    // The effective config names the file and repeats only the inline account.
    let out = c.to_toml();
    assert!(
        out.contains("accounts_file = ") && out.matches("[[account]]").count() == 1,
        "{out}"
    );
    assert_eq!(Config::from_toml(&out, "t.toml", dir.path()).unwrap(), c);

    // A problem in the file: reported at accounts_file, with the file's line.
    std::fs::write(
        &file,
        "[[account]]\nid = \"isp\"\n\nprimary = \"not-an-address\"\n",
    )
    .unwrap();
    let found = problems_in(text, dir.path());
    assert!(
        matches!(&found[..], [p] if p.key == "accounts_file" && p.line == Some(1)
            && p.message.contains("accounts.toml:4: account[0].primary: not an email address")),
        "{found:#?}"
    );
    // The same id inline and in the file.
    std::fs::write(
        &file,
        "[[account]]\nid = \"INLINE\"\nprimary = \"x@x.example\"\n",
    )
    .unwrap();
    let found = problems_in(text, dir.path());
    assert!(
        found
            .iter()
            .any(|p| p.key == "accounts_file"
                && p.message.contains("already the id of account[0]")),
        "{found:#?}"
    );
    // Only accounts in an accounts file; a missing file is named.
    std::fs::write(&file, "[service]\nname = \"x\"\n").unwrap();
    let found = problems_in(text, dir.path());
    assert!(
        found
            .iter()
            .any(|p| p.message.contains("[[account]] tables only")),
        "{found:#?}"
    );
    std::fs::remove_file(&file).unwrap();
    let found = problems_in(text, dir.path());
    assert!(
        found.iter().any(|p| p.message.contains("cannot read")),
        "{found:#?}"
    );
}

fn problems_in(text: &str, base: &Path) -> Vec<Problem> {
    match Config::from_toml(text, "t.toml", base) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.problems,
    }
}

/// The digest goes out on weekday mornings unless the config says
/// otherwise; `""` turns it off, and a `[schedule]` table naming only the
/// sweep keeps the default digest.
#[test]
fn the_digest_defaults_to_weekday_mornings_and_empty_turns_it_off() {
    let cases = [
        ("", Some(DEFAULT_DIGEST)),
        ("[schedule]\nsweep = \"0 0 * * * *\"", Some(DEFAULT_DIGEST)),
        ("[schedule]\ndigest = \"\"", None),
        ("[schedule]\ndigest = \"  \"", None),
        (
            "[schedule]\ndigest = \"0 30 7 * * *\"",
            Some("0 30 7 * * *"),
        ),
    ];
    for (text, want) in cases {
        let c = parse(text).unwrap();
        assert_eq!(
            c.schedule.digest.as_ref().map(|d| d.source()),
            want,
            "{text}"
        );
    }
    assert_eq!(DEFAULT_DIGEST, "0 0 8 * * Mon-Fri");
    // The default fires at 08:00 on a weekday and skips the weekend: from
    // Friday 2026-12-04 09:00 UTC the next is Monday 08:00.
    let schedule = parse("").unwrap().schedule.digest.unwrap();
    let friday = chrono::DateTime::parse_from_rfc3339("2026-12-04T09:00:00Z").unwrap();
    let next = schedule
        .after(&friday.with_timezone(&chrono::Utc))
        .next()
        .unwrap();
    assert_eq!(next.to_rfc3339(), "2026-12-07T08:00:00+00:00");
}

#[test]
fn lifecycle_settings_and_their_defaults() {
    let c = parse("").unwrap();
    assert_eq!(c.calendar, Calendar::default());
    assert_eq!(c.inactivity, InactivityRule::defaults());
    assert_eq!(c.schedule.sweep.source(), DEFAULT_SWEEP);
    assert_eq!(c.staff, Staff::default());
    assert_eq!(
        c.intake.reopen_window,
        Some(Duration::from_secs(30 * 86_400))
    );
    for (text, want) in [
        ("0", None),
        ("\"0d\"", None),
        ("\"0 days\"", None),
        ("\"7d\"", Some(7 * 86_400)),
        ("\"7 days\"", Some(7 * 86_400)),
        ("\"36h\"", Some(36 * 3600)),
    ] {
        let c = parse(&format!("[intake]\nreopen_window = {text}")).unwrap();
        assert_eq!(
            c.intake.reopen_window,
            want.map(Duration::from_secs),
            "{text}"
        );
    }
    let c = parse("inactivity = []").unwrap();
    assert!(
        c.inactivity.is_empty(),
        "an explicit empty list means no rules"
    );
    let c = parse(
        "[[inactivity]]\nwaiting_for = \"customer\"\nclose_after = \"\"\n\
         [[inactivity]]\nwaiting_for = \"staff\"\nwarn_after = [\"3 days\", \"1 business day\"]\nclose_after = -1",
    )
    .unwrap();
    assert_eq!(
        c.inactivity,
        [
            InactivityRule {
                waiting_for: Side::Customer,
                warn_after: vec![],
                close_after: CloseAfter::Immediately
            },
            InactivityRule {
                waiting_for: Side::Staff,
                warn_after: vec![Span::Days(3), Span::BusinessDays(1)],
                close_after: CloseAfter::Never
            },
        ]
    );
    let c = parse("[[inactivity]]\nwaiting_for = \"staff\"\nclose_after = \"-1\"").unwrap();
    assert_eq!(c.inactivity[0].close_after, CloseAfter::Never);
}

#[test]
fn plain_smtp_is_allowed_towards_loopback_only() {
    for host in [
        "127.0.0.1",
        "127.3.2.1",
        "::1",
        "[::1]",
        "localhost",
        "LocalHost",
    ] {
        assert!(is_loopback(host), "{host}");
    }
    for host in [
        "128.0.0.1",
        "10.0.0.1",
        "::2",
        "localhost.example",
        "mail.example",
        "",
    ] {
        assert!(!is_loopback(host), "{host}");
    }
}

#[test]
fn unknown_keys_and_sections_are_errors_with_their_line() {
    // A later version's setting must not look honoured (see the example's header).
    let text = "[intake]\nconfirm_receipt = true\nautoclose = true\n";
    assert_one(text, "intake.autoclose", 3, "unknown field `autoclose`");
    assert_one(
        "[service]\nname = \"x\"\n\n[accounts]\nfile = \"a\"",
        "accounts",
        4,
        "unknown section",
    );
    assert_one(
        "[[source]]\nname = \"a\"\nkind = \"maildir\"\npath = \"p\"\nfolders = \"x\"",
        "source[0].folders",
        5,
        "unknown field",
    );
    assert_one(
        "[[source]]\nname = \"a\"\nkind = \"maildir\"\npath = \"p\"\nfolder = \"x\"",
        "source[0].folder",
        5,
        "not used with kind = \"maildir\"",
    );
    let shown = parse(text).unwrap_err().to_string();
    assert!(
        shown.starts_with("t.toml:3: intake.autoclose: unknown field"),
        "{shown}"
    );
}

#[test]
fn wrong_types_are_errors_with_key_and_line() {
    assert_one(
        "[transport]\nkind = \"smtp\"\nhost = \"h\"\nport = \"25\"",
        "transport.port",
        4,
        "invalid type",
    );
    assert_one(
        "[intake]\nconfirm_receipt = \"yes\"",
        "intake.confirm_receipt",
        2,
        "invalid type",
    );
    assert_one(
        "[service]\nticket_types = [\"a\",\n 2]",
        "service.ticket_types[1]",
        3,
        "invalid type",
    );
    assert_one("intake = 5", "intake", 1, "an [intake] table");
    assert_one("[source]\nname = \"a\"", "source", 1, "[[source]]");
}

#[test]
fn syntax_errors_have_a_line() {
    let found = problems("[service]\nname = \"x\"\naddress = support@x.example\n");
    assert!(
        !found.is_empty() && found.iter().all(|p| p.line == Some(3)),
        "{found:#?}"
    );
    assert_one(
        "[intake]\nbatch_size = 1\nx = = 2\n",
        "intake.x",
        3,
        "extra `=`",
    );
    let found = problems("[service]\nname = \"x\"\n[service]\n");
    assert!(
        matches!(&found[..], [p] if p.line == Some(3) && p.message.contains("duplicate")),
        "{found:#?}"
    );
}

#[test]
fn all_problems_are_reported_at_once_in_file_order() {
    let text = "\
[outbox]
max_attempts = 0
[service]
ticket_prefix = \"A B\"
colour = \"blue\"
[transport]
kind = \"smtp\"
host = \"h\"
port = 99999
[intake]
batch_size = 0
";
    let err = parse(text).unwrap_err();
    let keys: Vec<_> = err
        .problems
        .iter()
        .map(|p| (p.key.as_str(), p.line))
        .collect();
    // The unknown key stops only its own section: the rest is still validated.
    assert_eq!(
        keys,
        [
            ("outbox.max_attempts", Some(2)),
            ("service.colour", Some(5)),
            ("transport.port", Some(9)),
            ("intake.batch_size", Some(11)),
        ]
    );
    let shown = err.to_string();
    assert_eq!(shown.lines().count(), 4, "{shown}");
    assert!(
        shown.contains("\nt.toml:9: transport.port: must be 1-65535, not 99999\n"),
        "{shown}"
    );
}

#[test]
fn durations() {
    let ok = [
        ("500ms", Duration::from_millis(500)),
        ("60s", Duration::from_secs(60)),
        ("5m", Duration::from_secs(300)),
        ("2h", Duration::from_secs(7200)),
        ("1d", Duration::from_secs(86_400)),
        (" 10 s ", Duration::from_secs(10)),
        ("0s", Duration::ZERO),
    ];
    for (text, want) in ok {
        assert_eq!(parse_duration(text), Ok(want), "{text:?}");
    }
    for bad in [
        "",
        "60",
        "s",
        "1.5h",
        "-1s",
        "5 minutes",
        "1w",
        "5M",
        "99999999999999999999d",
    ] {
        let err = parse_duration(bad).unwrap_err();
        assert!(
            err.contains("\"500ms\", \"60s\", \"5m\", \"2h\" or \"1d\""),
            "{bad:?}: {err}"
        );
    }
    for d in ["1500ms", "90s", "2h", "3d", "25h", "0d"] {
        assert_eq!(format_duration(parse_duration(d).unwrap()), d);
    }
}

#[test]
fn sizes() {
    let ok = [
        ("1000", 1000),
        ("1000B", 1000),
        ("512KB", 512 * 1024),
        ("512KiB", 512 * 1024),
        ("25MB", 25 << 20),
        ("25mb", 25 << 20),
        ("1GB", 1 << 30),
        ("1 GiB", 1 << 30),
    ];
    for (text, want) in ok {
        assert_eq!(parse_size(text), Ok(want), "{text:?}");
    }
    for bad in ["", "MB", "1.5MB", "-1", "10TB", "25 megs", "99999999999GB"] {
        assert!(
            parse_size(bad).unwrap_err().contains("1 KB = 1024 bytes"),
            "{bad:?}"
        );
    }
    for s in ["1000", "512KB", "25MB", "1GB", "1025"] {
        assert_eq!(format_size(parse_size(s).unwrap()), s);
    }
}

#[test]
fn locate_precedence() {
    let cli = Some(Path::new("/cli.toml"));
    let env = Some(OsStr::new("/env.toml"));
    let empty = Some(OsStr::new(""));
    let etc = Some(PathBuf::from(SYSTEM_CONFIG));
    #[rustfmt::skip]
    let cases = [
        (cli, env, true, Some(PathBuf::from("/cli.toml"))),
        (None, env, true, Some(PathBuf::from("/env.toml"))),
        (None, empty, true, etc.clone()),
        (None, None, true, etc),
        (None, empty, false, None),
        (None, None, false, None),
    ];
    for (cli, env, exists, want) in cases {
        assert_eq!(
            locate(cli, env, |p| exists && p == Path::new(SYSTEM_CONFIG)),
            want,
            "{cli:?} {env:?} {exists}"
        );
    }
}

/// `templates` is a search path: one folder or a list, each resolved; a
/// queue's own list replaces the desk's; anything else is refused in words.
#[test]
fn templates_is_a_folder_or_a_list_of_folders() {
    let base = Path::new("/srv/pd");
    let queue = "[[queue]]\nname = \"q\"\naddress = \"q@desk.example\"\n";
    for (service, queue_line, desk_wants, queue_wants) in [
        ("", "", vec![], vec![]),
        (
            "templates = \"t\"",
            "",
            vec!["/srv/pd/t"],
            vec!["/srv/pd/t"],
        ),
        (
            "templates = [\"/etc/pd/t\", \"shared\"]",
            "",
            vec!["/etc/pd/t", "/srv/pd/shared"],
            vec!["/etc/pd/t", "/srv/pd/shared"],
        ),
        (
            "templates = [\"/etc/pd/t\"]",
            "templates = [\"billing\", \"/etc/pd/t\"]",
            vec!["/etc/pd/t"],
            vec!["/srv/pd/billing", "/etc/pd/t"],
        ),
        (
            "templates = []",
            "templates = \"b\"",
            vec![],
            vec!["/srv/pd/b"],
        ),
    ] {
        let text = format!("[service]\n{service}\n{queue}{queue_line}\n");
        let c = Config::from_toml(&text, "x", base).unwrap_or_else(|e| panic!("{text}: {e}"));
        let paths = |v: &[&str]| v.iter().map(PathBuf::from).collect::<Vec<_>>();
        assert_eq!(c.service.templates, paths(&desk_wants), "{text}");
        assert_eq!(c.queues[0].templates, paths(&queue_wants), "{text}");
    }
    for bad in [
        "templates = 5",
        "templates = [\"a\", 5]",
        "templates = \"\"",
    ] {
        let text = format!("[service]\n{bad}\n");
        let e = Config::from_toml(&text, "x", base).unwrap_err().to_string();
        assert!(e.contains("x:2: service.templates"), "{bad}: {e}");
        for debug in ["Some(", "None", "(\"", "i64", "PathBuf"] {
            assert!(!e.contains(debug), "{bad}: {e}");
        }
    }
}

#[test]
fn relative_paths_are_resolved_against_the_base_dir() {
    let text = "[service]\ndatabase = \"./db/p.db\"\ntemplates = \"templates\"\n\
                [[source]]\nname = \"a\"\nkind = \"maildir\"\npath = \"../spool/in\"\n\
                [transport]\nkind = \"smtp\"\nhost = \"h\"\nuser = \"u\"\npassword_file = \"/abs/pw\"\nca_file = \"ca.pem\"";
    let c = Config::from_toml(text, "x", Path::new("/srv/pd")).unwrap();
    assert_eq!(c.service.database, PathBuf::from("/srv/pd/db/p.db"));
    assert_eq!(c.service.templates, [PathBuf::from("/srv/pd/templates")]);
    let SourceKind::Maildir { path, .. } = &c.sources[0].kind else {
        panic!("{:?}", c.sources[0])
    };
    assert_eq!(path, Path::new("/srv/pd/../spool/in"));
    let Transport::Smtp(smtp) = &c.transport else {
        panic!("{:?}", c.transport)
    };
    assert_eq!(smtp.password_file.as_deref(), Some(Path::new("/abs/pw")));
    assert_eq!(smtp.ca_file.as_deref(), Some(Path::new("/srv/pd/ca.pem")));
}

#[test]
fn load_takes_paths_from_the_file_directory_and_names_the_file_on_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("postdesk.toml");
    std::fs::write(&file, "[service]\ndatabase = \"var/p.db\"\n").unwrap();
    let c = Config::load(&file).unwrap();
    assert_eq!(c.origin, file.display().to_string());
    assert_eq!(c.service.database, dir.path().join("var/p.db"));

    let missing = dir.path().join("nope.toml");
    let shown = Config::load(&missing).unwrap_err().to_string();
    assert!(
        shown.starts_with(&format!("{}: cannot read:", missing.display())),
        "{shown}"
    );
}

/// A bad value stops only its own key: the section's other rules are still checked, and a
/// rule that involves the bad key waits for it (no follow-up error from its default).
#[test]
fn a_bad_value_leaves_the_rest_of_its_section_checked() {
    let keys = |text: &str| -> Vec<String> { problems(text).into_iter().map(|p| p.key).collect() };
    assert_eq!(
        keys(
            "[intake]\nverify_expiry = \"0s\"\nrequire_authentication = true\nmax_stored_size = \"2GB\""
        ),
        [
            "intake.verify_expiry",
            "intake.require_authentication",
            "intake.max_stored_size"
        ]
    );
    assert_eq!(
        keys("[outbox]\nretry_initial = \"7h\"\nretry_max = \"0s\""),
        ["outbox.retry_max"]
    );
    assert_eq!(
        keys(
            "[[source]]\nname = \"a b\"\nkind = \"pop3\"\nhost = \"h\"\nuser = \"u\"\nport = 0\nfolder = \"x\""
        ),
        // In file order: the missing password at the table's header first.
        [
            "source[0].password_file",
            "source[0].name",
            "source[0].port",
            "source[0].folder"
        ]
    );
}

const OAUTH_FULL: &str = "[service]\ndatabase = \"/srv/pd/pd.db\"\n\
    [[oauth]]\nname = \"m365\"\nflow = \"client_credentials\"\nprovider = \"microsoft\"\ntenant = \"contoso.example\"\n\
    client_id = \"cid\"\nclient_secret_file = \"m365.secret\"\nca_file = \"proxy-ca.pem\"\n\
    [[oauth]]\nname = \"dev\"\nflow = \"refresh_token\"\nprovider = \"google\"\nclient_id = \"cid2\"\n\
    [[oauth]]\nname = \"sa\"\nflow = \"service_account\"\ntoken_url = \"http://127.0.0.1:8080/token\"\n\
    key_file = \"sa.json\"\nuser = \"help@example.com\"\nscope = \"mail\"\n\
    [[source]]\nname = \"i\"\nkind = \"imap\"\nhost = \"outlook.office365.com\"\nuser = \"s@contoso.example\"\n\
    auth = \"oauth2\"\noauth = \"m365\"\n\
    [[source]]\nname = \"p\"\nkind = \"pop3\"\nhost = \"pop.gmail.com\"\nuser = \"help@example.com\"\noauth = \"sa\"\n\
    [transport]\nkind = \"smtp\"\nhost = \"smtp.gmail.com\"\nuser = \"me@example.com\"\nauth = \"oauth2\"\noauth = \"dev\"\nsasl = \"xoauth2\"";

#[test]
fn oauth_credentials_get_provider_defaults_and_are_resolved() {
    use super::{Flow, OAuthLogin};
    let c = parse(OAUTH_FULL).unwrap();
    let [m365, dev, sa] = &c.oauth[..] else {
        panic!("{:?}", c.oauth)
    };
    assert_eq!(
        m365.token_url,
        "https://login.microsoftonline.com/contoso.example/oauth2/v2.0/token"
    );
    assert_eq!(m365.scope, "https://outlook.office365.com/.default");
    assert_eq!(m365.device_url, None);
    assert_eq!(
        m365.client_secret_file.as_deref(),
        Some(Path::new("/etc/postdesk/m365.secret"))
    );
    assert_eq!(m365.token_file, PathBuf::from("/srv/pd/oauth-m365.json"));
    assert_eq!(
        m365.ca_file.as_deref(),
        Some(Path::new("/etc/postdesk/proxy-ca.pem"))
    );
    assert_eq!(dev.ca_file, None);
    assert_eq!(dev.flow, Flow::RefreshToken);
    assert_eq!(dev.token_url, "https://oauth2.googleapis.com/token");
    assert_eq!(
        dev.device_url.as_deref(),
        Some("https://oauth2.googleapis.com/device/code")
    );
    assert_eq!(dev.scope, "https://mail.google.com/");
    assert_eq!(
        (sa.token_url.as_str(), sa.scope.as_str()),
        ("http://127.0.0.1:8080/token", "mail")
    );
    let login = |i: usize| match &c.sources[i].kind {
        SourceKind::Imap { server, .. } | SourceKind::Pop3 { server, .. } => {
            server.password.clone()
        }
        SourceKind::Maildir { .. } => unreachable!(),
    };
    assert_eq!(login(0), Secret::OAuth(OAuthLogin(Box::new(m365.clone()))));
    // `oauth` alone implies auth = "oauth2".
    assert_eq!(login(1), Secret::OAuth(OAuthLogin(Box::new(sa.clone()))));
    let Transport::Smtp(smtp) = &c.transport else {
        panic!()
    };
    assert_eq!(smtp.oauth_login, Some(OAuthLogin(Box::new(dev.clone()))));
    assert_eq!(smtp.sasl, Some(super::SaslMechanism::Xoauth2));
    // check-config's output reads back to the same.
    let back = Config::from_toml(&c.to_toml(), &c.origin, Path::new("/etc/postdesk")).unwrap();
    assert_eq!(back, c, "\n{}", c.to_toml());
}

#[test]
fn oauth_rules_name_key_and_problem() {
    let cc = "[[oauth]]\nname = \"a\"\nflow = \"client_credentials\"\nprovider = \"microsoft\"\n\
              tenant = \"t\"\nclient_id = \"c\"\nclient_secret_file = \"s\"\n";
    let imap =
        "[[source]]\nname = \"i\"\nkind = \"imap\"\nhost = \"h.example\"\nuser = \"u@h.example\"\n";
    let cases: Vec<(String, &str, &str)> = vec![
        (
            "[[oauth]]\nname = \"a\"\nflow = \"client_credentials\"\nprovider = \"microsoft\"\nclient_id = \"c\"\nclient_secret_file = \"s\"".into(),
            "oauth[0].tenant",
            "directory (tenant)",
        ),
        (
            "[[oauth]]\nname = \"a\"\nflow = \"refresh_token\"\nclient_id = \"c\"".into(),
            "oauth[0].token_url",
            "set provider",
        ),
        (
            "[[oauth]]\nname = \"a\"\nflow = \"refresh_token\"\nclient_id = \"c\"\ntoken_url = \"http://login.example/t\"\nscope = \"s\"\ndevice_url = \"https://login.example/d\"".into(),
            "oauth[0].token_url",
            "https://",
        ),
        (
            "[[oauth]]\nname = \"a\"\nflow = \"refresh_token\"\nclient_id = \"c\"\ntoken_url = \"https://login.example/t\"\nscope = \"s\"".into(),
            "oauth[0].device_url",
            "device-authorization",
        ),
        (
            "[[oauth]]\nname = \"a\"\nflow = \"client_credentials\"\nprovider = \"google\"\nclient_id = \"c\"".into(),
            "oauth[0].client_secret_file",
            "client secret",
        ),
        (
            "[[oauth]]\nname = \"a\"\nflow = \"service_account\"\nprovider = \"google\"\nuser = \"u@x.example\"".into(),
            "oauth[0].key_file",
            "JSON key",
        ),
        (
            "[[oauth]]\nname = \"a\"\nflow = \"service_account\"\nprovider = \"google\"\nkey_file = \"k.json\"".into(),
            "oauth[0].user",
            "mailbox address",
        ),
        (
            "[[oauth]]\nname = \"a b\"\nflow = \"client_credentials\"\nprovider = \"google\"\nclient_id = \"c\"\nclient_secret_file = \"s\"".into(),
            "oauth[0].name",
            "letters, digits",
        ),
        (format!("{cc}{}", cc.replace("[[oauth]]", "\n[[oauth]]")), "oauth[1].name", "already an [[oauth]] name"),
        (
            "[[oauth]]\nname = \"a\"\nflow = \"device\"\nclient_id = \"c\"".into(),
            "oauth[0].flow",
            "client_credentials",
        ),
        (format!("{cc}{imap}auth = \"oauth2\"\n"), "source[0].oauth", "needs oauth = \"NAME\""),
        (format!("{cc}{imap}oauth = \"b\"\n"), "source[0].oauth", "no [[oauth]] named \"b\" (the [[oauth]] names are \"a\")"),
        (format!("{imap}oauth = \"b\"\n"), "source[0].oauth", "there is no [[oauth]] table"),
        (
            format!("{cc}{imap}oauth = \"a\"\npassword_file = \"pw\"\n"),
            "source[0].password_file",
            "not used with auth = \"oauth2\"",
        ),
        (format!("{cc}{imap}auth = \"password\"\noauth = \"a\"\n"), "source[0].oauth", "only with auth = \"oauth2\""),
        (
            format!("{cc}[transport]\nkind = \"smtp\"\nhost = \"h.example\"\nauth = \"oauth2\"\noauth = \"a\"\n"),
            "transport.user",
            "mailbox to sign in as",
        ),
        (
            format!("{cc}[transport]\nkind = \"smtp\"\nhost = \"h.example\"\nuser = \"u\"\npassword_file = \"pw\"\noauth = \"a\"\n"),
            "transport.password_file",
            "not used with auth = \"oauth2\"",
        ),
        (
            "[transport]\nkind = \"smtp\"\nhost = \"h.example\"\nsasl = \"xoauth2\"\n".into(),
            "transport.sasl",
            "only with auth = \"oauth2\"",
        ),
        (
            format!("{cc}[transport]\nkind = \"smtp\"\nhost = \"h.example\"\nuser = \"u\"\noauth = \"a\"\nsasl = \"plain\"\n"),
            "transport.sasl",
            "oauthbearer",
        ),
    ];
    for (text, key, fragment) in cases {
        let found = problems(&text);
        assert!(
            found
                .iter()
                .any(|p| p.key == key && p.line.is_some() && p.message.contains(fragment)),
            "want {key}: …{fragment}… for\n{text}\ngot {found:#?}"
        );
    }
}

/// `[[queue]]`: each key left out is the desk-wide setting; without any the
/// desk is one queue made of `[service]`; addresses are the desk's own.
#[test]
fn queues_fall_back_to_the_desk_wide_settings() {
    let desk = "[service]\nname = \"Desk\"\naddress = \"support@d.example\"\nticket_prefix = \"D\"\ndefault_language = \"it\"\n\
[intake]\nconfirm_receipt = false\nunknown_sender = \"reject\"\n\
[staff]\nnotify = [\"team@d.example\"]\n[[staff.member]]\nname = \"Bea\"\naddress = \"bea@d.example\"\n";
    let c = parse(desk).unwrap();
    assert_eq!(c.queues.len(), 1);
    let q = &c.queues[0];
    assert_eq!(
        (
            q.name.as_str(),
            q.address.as_str(),
            q.display_name.as_str(),
            q.ticket_prefix.as_str()
        ),
        ("default", "support@d.example", "Desk", "D")
    );
    assert_eq!(
        (q.default_language, q.confirm_receipt),
        (Language::It, false)
    );
    assert_eq!(q.unknown_sender, UnknownSender::Reject);
    assert_eq!(q.team, [Address::parse("team@d.example").unwrap()]);

    let text = format!(
        "{desk}[[queue]]\nname = \"billing\"\naddress = \"billing@d.example\"\naliases = [\"invoices@d.example\"]\n\
members = [\"bea\"]\ndefault_language = \"fr\"\nticket_types = [\"billing\", \"refund\"]\ndefault_type = \"refund\"\n\
[[queue.inactivity]]\nwaiting_for = \"staff\"\nclose_after = \"3 days\"\n\
[[queue]]\nname = \"abuse\"\naddress = \"abuse@d.example\"\nconfirm_receipt = true\n"
    );
    let c = parse(&text).unwrap();
    let [billing, abuse] = &c.queues[..] else {
        panic!("two queues")
    };
    assert_eq!(billing.display_name, "Desk");
    assert_eq!(billing.default_language, Language::Fr);
    assert_eq!(billing.default_type, "refund");
    assert_eq!(billing.team, [Address::parse("bea@d.example").unwrap()]);
    assert_eq!(billing.inactivity.as_ref().map(Vec::len), Some(1));
    assert_eq!(
        abuse.team,
        [Address::parse("team@d.example").unwrap()],
        "no team: the desk's"
    );
    assert!(abuse.confirm_receipt && !billing.confirm_receipt);
    assert_eq!(
        (abuse.ticket_types.len(), abuse.inactivity.is_none()),
        (3, true)
    );
    for own in [
        "support@d.example",
        "billing@d.example",
        "invoices@d.example",
        "abuse@d.example",
    ] {
        assert!(
            c.own_addresses.contains(&Address::parse(own).unwrap()),
            "{own}"
        );
    }
    // Written out and read back the same.
    assert_eq!(parse(&c.to_toml()).unwrap().queues, c.queues);
}

#[test]
fn queue_mistakes_name_their_key() {
    let head = "[staff]\n[[staff.member]]\nname = \"Bea\"\naddress = \"bea@d.example\"\n";
    let cases: &[(&str, &str, &str)] = &[
        ("[[queue]]\nname = \"a\"\n", "queue[0].address", "missing"),
        (
            "[[queue]]\nname = \"a b\"\naddress = \"a@d.example\"\n",
            "queue[0].name",
            "letters",
        ),
        (
            "[[queue]]\nname = \"a\"\naddress = \"a@d.example\"\n[[queue]]\nname = \"A\"\naddress = \"b@d.example\"\n",
            "queue[1].name",
            "already",
        ),
        (
            "[[queue]]\nname = \"a\"\naddress = \"a@d.example\"\n[[queue]]\nname = \"b\"\naddress = \"x@d.example\"\naliases = [\"a@d.example\"]\n",
            "queue[1].aliases[0]",
            "already queue[0].address",
        ),
        (
            "[[queue]]\nname = \"a\"\naddress = \"a@d.example\"\nmembers = [\"Zed\"]\n",
            "queue[0].members[0]",
            "Zed",
        ),
        (
            "[[queue]]\nname = \"a\"\naddress = \"a@d.example\"\ndefault_type = \"x\"\n",
            "queue[0].default_type",
            "not one of",
        ),
        (
            "[[queue]]\nname = \"a\"\naddress = \"bea@d.example\"\n",
            "staff.member[0].address",
            "desk itself",
        ),
        (
            "[[queue]]\nname = \"a\"\naddress = \"a@d.example\"\n[[source]]\nname = \"s\"\nkind = \"maildir\"\npath = \"p\"\nqueue = \"b\"\n",
            "source[0].queue",
            "no queue",
        ),
    ];
    for (text, key, fragment) in cases {
        let found = problems(&format!("{head}{text}"));
        assert!(
            found
                .iter()
                .any(|p| p.key == *key && p.message.contains(fragment)),
            "{text}: want {key} ~ {fragment}, got {found:?}"
        );
    }
}
