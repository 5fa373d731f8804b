//! Command-line behaviour an operator and an MTA rely on: where the config
//! comes from, what a broken one does, and the exit codes.

use crate::support::{Desk, customer_mail};

#[test]
fn check_config_prints_the_effective_config_or_the_errors() {
    let desk = Desk::new();
    let out = desk.ok(&["check-config"]);
    assert!(out.contains("ticket_prefix = \"DESK\""), "{out}");
    assert!(
        out.contains("max_auto_replies_per_day = 10"),
        "defaults are filled in: {out}"
    );
    let staffless = desk.run(&["check-config"], b"");
    let note = String::from_utf8_lossy(&staffless.stderr);
    assert!(
        note.contains("told to nobody"),
        "a desk without staff addresses is pointed out: {note}"
    );
    let with_staff = Desk::with_extra("[staff]\nnotify = [\"team@desk.example\"]\n");
    let quiet = with_staff.run(&["check-config"], b"");
    assert!(quiet.status.success());
    assert!(
        !String::from_utf8_lossy(&quiet.stderr).contains("told to nobody"),
        "{quiet:?}"
    );
    // No authserv-id: the operator is told what that means for staff mail.
    assert!(
        String::from_utf8_lossy(&quiet.stderr).contains("authserv_id is not set"),
        "{quiet:?}"
    );
    let trusted = Desk::with_extra(
        "[staff]\nnotify = [\"team@desk.example\"]\n[intake]\nauthserv_id = \"mx.desk.example\"\n",
    );
    let out = trusted.run(&["check-config"], b"");
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("authserv_id"),
        "{out:?}"
    );

    std::fs::write(&desk.config, "[service]\naddress = \"support@desk.example\"\n\n[transport]\nkind = \"smtp\"\nhost = \"mx.example\"\nport = 99999\ncolour = \"blue\"\n").unwrap();
    let out = desk.run(&["check-config"], b"");
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("postdesk.toml:"), "the file is named: {err}");
    assert!(
        err.contains("transport.colour") || err.contains("colour"),
        "unknown key named: {err}"
    );
}

#[test]
fn a_broken_config_makes_ingest_say_try_again_not_bounce() {
    let desk = Desk::new();
    std::fs::write(&desk.config, "[service]\nticket_prefix = \"bad prefix!\"\n").unwrap();
    let out = desk.ingest(&customer_mail("a@a.example", "x", "x@a.example", "x"));
    assert_eq!(out.status.code(), Some(75), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("ticket_prefix"));
}

#[test]
fn the_config_comes_from_the_environment_when_no_flag_names_one() {
    let desk = Desk::new();
    desk.ingest(&customer_mail("a@a.example", "env", "env@a.example", "x"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_postdesk"))
        .args(["ticket", "list", "--json"])
        .env("POSTDESK_CONFIG", &desk.config)
        .current_dir(desk.dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list[0]["subject"], "env");
}

#[test]
fn reading_commands_do_not_create_a_database() {
    let desk = Desk::new();
    let out = desk.run(&["ticket", "list"], b"");
    assert_eq!(out.status.code(), Some(66), "{out:?}");
    assert!(!desk.path("var/postdesk.db").exists());
    let out = desk.run(&["ticket", "show", "1"], b"");
    assert_eq!(out.status.code(), Some(66));
}

#[test]
fn usage_errors_exit_64() {
    let desk = Desk::new();
    assert_eq!(
        desk.run(&["ticket", "frobnicate"], b"").status.code(),
        Some(64)
    );
    assert_eq!(
        desk.run(&["ingest", "--remove", "x.eml"], b"")
            .status
            .code(),
        Some(64)
    );
}

#[test]
fn no_receipts_import() {
    let desk = Desk::new();
    let out = desk.run(
        &["ingest", "--no-receipts"],
        &customer_mail("a@a.example", "old", "old@a.example", "x"),
    );
    assert!(out.status.success());
    assert_eq!(desk.tickets().len(), 1);
    assert!(desk.sent().is_empty());
}

/// The marks of Rust's debug format in `text`, said of `what`.
fn debug_format_in(what: &str, text: &str) -> Vec<String> {
    [
        "Some(",
        "None",
        "(\"",
        "expected i64",
        "expected a sequence",
        "{ ",
    ]
    .into_iter()
    .filter(|mark| text.contains(mark))
    .map(|mark| format!("{what}: {mark} in: {text}"))
    .collect()
}

/// What an operator reads when a command fails is words, never Rust's
/// debug format (`Some(`, `None`, `AccountId("x")`, `expected i64`):
/// every error path of the command line that a desk can reach (issue 18).
#[test]
fn errors_are_written_for_people() {
    let desk = Desk::new();
    desk.ingest(&customer_mail(
        "ann@x.example",
        "help",
        "<a1@x.example>",
        "hi",
    ));
    let bad_config = desk.path("bad.toml");
    std::fs::write(
        &bad_config,
        "[service]\nname = 5\naddress = \"nope\"\n[intake]\nmax_auto_replies_per_day = \"ten\"\nbatch_size = []\n[[source]]\nkind = \"pop3\"\nport = \"x\"\n",
    )
    .unwrap();
    let bad = bad_config.to_string_lossy().into_owned();
    let cases: Vec<Vec<&str>> = vec![
        vec!["account", "show", "nope"],
        vec!["account", "set", "nope", "--name", "x"],
        vec!["account", "remove", "nope"],
        vec!["account", "authorize", "nope", "x.example"],
        vec![
            "account",
            "add",
            "x",
            "--primary",
            "x@x.example",
            "--parent",
            "nope",
        ],
        vec!["account", "add", "bad id!", "--primary", "x@x.example"],
        vec!["account", "add", "y", "--primary", "not an address"],
        vec!["ticket", "show", "999"],
        vec!["ticket", "show", "abc"],
        vec!["ticket", "set-account", "1", "nope"],
        vec!["ticket", "set-account", "999", "--none"],
        vec!["ticket", "set-status", "1", "sleeping"],
        vec!["ticket", "set-status", "1", "in-progress"],
        vec!["ticket", "set-type", "1", "unknown-type"],
        vec!["ticket", "reopen", "1"],
        vec!["outbox", "show", "999"],
        vec!["outbox", "retry", "999"],
        vec!["quarantine", "show", "999"],
        vec!["quarantine", "release", "999"],
        vec!["quarantine", "delete", "999"],
    ];
    let mut leaks = Vec::new();
    for args in &cases {
        let out = desk.run(args, b"");
        let text = String::from_utf8_lossy(&out.stderr).into_owned()
            + &String::from_utf8_lossy(&out.stdout);
        leaks.extend(debug_format_in(
            &format!("postdesk {}", args.join(" ")),
            &text,
        ));
    }
    let out = check(&bad, &[]);
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("bad.toml:"),
        "the broken config is reported: {text}"
    );
    leaks.extend(debug_format_in("check-config", &text));
    assert!(leaks.is_empty(), "{}", leaks.join("\n"));
}

/// postdesk run on the config at `config` (not the desk's own).
fn check(config: &str, extra: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_postdesk"))
        .args(["-c", config, "check-config"])
        .args(extra)
        .env_remove("POSTDESK_CONFIG")
        .env_remove("POSTDESK_TEST_UNSET_VARIABLE")
        .output()
        .unwrap()
}

/// check-config reports every problem a start would meet in one run: a
/// bad cron line (on one line), an unset password_env, unreadable password
/// and CA files; `--no-secrets` reads no secret, so the shipped example
/// passes on a machine without its password files (issue 18).
#[test]
fn check_config_reports_every_problem_at_once() {
    let desk = Desk::new();
    let config = desk.path("many.toml");
    std::fs::write(
        &config,
        "[service]\ndatabase = \"db/x.db\"\n[schedule]\nsweep = \"0 0 25 * * *\"\n\
         [[source]]\nname = \"a\"\nkind = \"pop3\"\nhost = \"mail.example\"\nport = 995\ntls = \"implicit\"\nuser = \"u\"\npassword_env = \"POSTDESK_TEST_UNSET_VARIABLE\"\n",
    )
    .unwrap();
    let c = config.to_string_lossy().into_owned();
    let out = check(&c, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{err}");
    let cron = err
        .lines()
        .find(|l| l.contains("schedule.sweep"))
        .unwrap_or_default();
    assert!(
        cron.contains("many.toml:4") && cron.contains("Hours must be"),
        "{err}"
    );
    assert!(!err.contains("    ^"), "no caret dump: {err}");

    std::fs::write(
        &config,
        "[service]\ndatabase = \"db/x.db\"\n\
         [[source]]\nname = \"a\"\nkind = \"pop3\"\nhost = \"mail.example\"\nport = 995\ntls = \"implicit\"\nuser = \"u\"\npassword_env = \"POSTDESK_TEST_UNSET_VARIABLE\"\n\
         [[source]]\nname = \"b\"\nkind = \"imap\"\nhost = \"mail.example\"\nport = 993\ntls = \"implicit\"\nuser = \"u\"\npassword_file = \"/nonexistent/pass\"\nca_file = \"/nonexistent/ca.pem\"\n\
         [transport]\nkind = \"smtp\"\nhost = \"smtp.example\"\nport = 587\ntls = \"starttls\"\nuser = \"u\"\npassword_file = \"/nonexistent/smtp.pass\"\n",
    )
    .unwrap();
    let out = check(&c, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{err}");
    for want in [
        "POSTDESK_TEST_UNSET_VARIABLE",
        "/nonexistent/pass",
        "/nonexistent/ca.pem",
        "/nonexistent/smtp.pass",
    ] {
        assert!(err.contains(want), "{want} not reported: {err}");
    }
    let secretless = check(&c, &["--no-secrets"]);
    let err = String::from_utf8_lossy(&secretless.stderr);
    assert!(
        err.contains("/nonexistent/ca.pem"),
        "the CA file is still read: {err}"
    );
    assert!(!err.contains("/nonexistent/smtp.pass"), "{err}");

    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("conf/postdesk.toml");
    let shipped = check(&example.to_string_lossy(), &["--no-secrets"]);
    assert!(
        shipped.status.success(),
        "the shipped example: {}",
        String::from_utf8_lossy(&shipped.stderr)
    );
}

/// One `[[source]]` table with an unknown key, a bad value and two missing
/// files (password and CA): check-config reports all four in one run, each
/// as FILE:LINE: KEY, in file order; and so for the same files in a table
/// that loads, and for the transport's password file.
#[test]
fn check_config_reports_bad_keys_and_missing_files_of_one_table_with_lines() {
    let desk = Desk::new();
    let config = desk.path("four.toml");
    std::fs::write(
        &config,
        "[service]\n\
         database = \"db/x.db\"\n\
         \n\
         [[source]]\n\
         name = \"pop\"\n\
         kind = \"pop3\"\n\
         host = \"mail.example\"\n\
         colour = \"blue\"\n\
         port = \"pop3s\"\n\
         user = \"u\"\n\
         password_file = \"missing.pass\"\n\
         ca_file = \"/nonexistent/ca.pem\"\n",
    )
    .unwrap();
    let c = config.to_string_lossy().into_owned();
    let out = check(&c, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    let want = [
        ("four.toml:8: source[0].colour:", "unknown"),
        ("four.toml:9: source[0].port:", "pop3s"),
        ("four.toml:11: source[0].password_file:", "missing.pass"),
        ("four.toml:12: source[0].ca_file:", "/nonexistent/ca.pem"),
    ];
    assert_eq!(lines.len(), want.len(), "{err}");
    for ((line, (at, says)), n) in lines.iter().zip(want).zip(1..) {
        assert!(
            line.contains(at) && line.contains(says),
            "line {n}: {line}\n{err}"
        );
    }
    for debug in ["Some(", "None", "(\"", "Os {"] {
        assert!(!err.contains(debug), "debug formatting: {err}");
    }

    // A bad value elsewhere does not hide a missing templates directory
    // or accounts file.
    std::fs::write(
        &config,
        "accounts_file = \"nope.toml\"\n\
         [service]\n\
         address = \"support@@desk.example\"\n\
         templates = \"no-templates\"\n",
    )
    .unwrap();
    let out = check(&c, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 3, "{err}");
    assert!(lines[0].contains("four.toml:1: accounts_file:"), "{err}");
    assert!(lines[1].contains("four.toml:3: service.address:"), "{err}");
    assert!(
        lines[2].contains("four.toml:4: service.templates:") && lines[2].contains("no-templates"),
        "{err}"
    );

    // The same two files in a table that loads, and the transport's.
    std::fs::write(
        &config,
        "[[source]]\n\
         name = \"imap\"\n\
         kind = \"imap\"\n\
         host = \"mail.example\"\n\
         user = \"u\"\n\
         password_file = \"missing.pass\"\n\
         ca_file = \"/nonexistent/ca.pem\"\n\
         \n\
         [transport]\n\
         kind = \"smtp\"\n\
         host = \"smtp.example\"\n\
         user = \"u\"\n\
         password_file = \"/nonexistent/smtp.pass\"\n",
    )
    .unwrap();
    let out = check(&c, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 3, "{err}");
    assert!(
        lines[0].contains("four.toml:6: source[0].password_file:"),
        "{err}"
    );
    assert!(
        lines[1].contains("four.toml:7: source[0].ca_file:"),
        "{err}"
    );
    assert!(
        lines[2].contains("four.toml:13: transport.password_file:"),
        "{err}"
    );
}

/// The operator's view speaks the desk's zone, and `ticket list` keeps its
/// columns aligned whatever the length of an account id.
#[test]
fn ticket_list_shows_local_times_in_aligned_columns() {
    let desk = Desk::with_extra(
        "[calendar]\ntimezone = \"Asia/Tokyo\"\n\n[[account]]\nid = \"a-very-long-account-id-for-a-big-customer\"\nprimary = \"ann@customer.example\"\n",
    );
    for (from, subject, id) in [
        ("ann@customer.example", "Long", "l1@customer.example"),
        ("zoe@other.example", "Short", "s1@other.example"),
    ] {
        let out = desk.ingest(&customer_mail(from, subject, id, "x"));
        assert!(out.status.success(), "{out:?}");
    }
    let text = desk.ok(&["ticket", "list"]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    // The requester column starts at the same place on every line.
    let starts: Vec<usize> = lines
        .iter()
        .map(|l| {
            l.find("ann@customer.example")
                .or_else(|| l.find("zoe@other.example"))
                .unwrap()
        })
        .collect();
    assert_eq!(starts[0], starts[1], "{text}");
    // Times in Tokyo (UTC+9), named so.
    let t = &desk.tickets()[0];
    let updated = chrono::DateTime::parse_from_rfc3339(t["updated"].as_str().unwrap()).unwrap();
    let local = (updated.with_timezone(&chrono::Utc) + chrono::Duration::hours(9))
        .format("%Y-%m-%d %H:%M JST")
        .to_string();
    assert!(text.contains(&local), "{local} in {text}");
    assert!(!text.contains("UTC"), "{text}");
    let n = t["number"].to_string();
    let show = desk.ok(&["ticket", "show", &n]);
    assert!(show.contains(&local) && !show.contains('Z'), "{show}");
}

/// `quarantine list --all` marks what was released; `release --force`
/// takes in a blocked sender's message (a false positive) and says so.
#[test]
fn release_force_takes_in_a_blocked_message_and_list_all_marks_it() {
    let desk = Desk::with_extra(
        "[calendar]\ntimezone = \"Asia/Tokyo\"\n\n[intake]\nblocked_addresses = [\"pest@ok.example\"]\n",
    );
    let out = desk.ingest(&customer_mail(
        "pest@ok.example",
        "Not spam really",
        "p1@ok.example",
        "A real question.",
    ));
    assert!(out.status.success(), "{out:?}");
    let held = desk.json(&["quarantine", "list", "--json"]);
    assert_eq!(held[0]["kind"], "blocked");
    let id = held[0]["id"].to_string();
    // Without --force it is held again.
    let again = desk.run(&["quarantine", "release", &id], b"");
    assert_eq!(again.status.code(), Some(65), "{again:?}");
    assert!(desk.tickets().is_empty());

    desk.ok(&["quarantine", "release", "--force", &id]);
    let tickets = desk.tickets();
    assert_eq!(tickets.len(), 1);
    assert_eq!(tickets[0]["subject"], "Not spam really");
    let n = tickets[0]["number"].to_string();
    let show = desk.ok(&["ticket", "show", &n]);
    assert!(
        show.contains("released from quarantine with --force despite: blocked sender"),
        "{show}"
    );

    let listing = desk.ok(&["quarantine", "list"]);
    assert!(listing.contains("quarantine is empty"), "{listing}");
    let all = desk.ok(&["quarantine", "list", "--all"]);
    assert!(all.contains("RELEASED") && all.contains("JST"), "{all}");
    assert!(all.trim_end().ends_with("0 held; 1 released"), "{all}");
}
