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
