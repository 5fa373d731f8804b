//! The ticket lifecycle through the binary: the two default inactivity rules
//! walked with `postdesk sweep --now` at each threshold, reset by activity,
//! on-hold, reopening inside and after the window, the operator's ticket
//! commands, and the daemon's scheduled sweep.
//!
//! Messages are taken in at chosen instants through the library's intake
//! (`Pipeline::take`, the code `postdesk ingest` runs), because the binary
//! stamps mail with the real time; everything else goes through the binary.

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::{Desk, customer_mail, wait_until};
use chrono::{DateTime, Utc};
use postdesk::config::Config;
use postdesk::intake::{Pipeline, RawMail};
use serde_json::Value;

const PARIS: &str = r#"
[staff]
notify = ["team@desk.example"]

[calendar]
timezone = "Europe/Paris"
"#;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Takes one message in at instant `at`, as `postdesk ingest` would.
fn take_at(desk: &Desk, raw: &[u8], at: &str) {
    let config = Arc::new(Config::load(&desk.config).unwrap());
    let mut store = desk.open_store();
    let pipeline = Pipeline::new(config, store.desk_secret().unwrap()).unwrap();
    let mail = RawMail {
        source: "test".into(),
        source_id: None,
        raw: raw.to_vec(),
    };
    pipeline.take(&mut store, &[mail], t(at)).unwrap();
}

fn first_mail(desk: &Desk, at: &str) {
    take_at(
        desk,
        &customer_mail(
            "ann@customer.example",
            "Printer on fire",
            "first@customer.example",
            "My printer is on fire.",
        ),
        at,
    );
}

fn reply(desk: &Desk, id: &str, body: &str, at: &str) {
    take_at(
        desk,
        &customer_mail(
            "ann@customer.example",
            "Re: [DESK #1] Printer on fire",
            id,
            body,
        ),
        at,
    );
}

/// Runs `postdesk sweep --now AT --json`.
fn sweep(desk: &Desk, at: &str) -> Value {
    desk.json(&["sweep", "--now", at, "--json"])
}

/// (ticket, rule, action) of each thing a sweep did.
fn actions(report: &Value) -> Vec<(i64, String, String)> {
    report["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["ticket"].as_i64().unwrap(),
                a["rule"].as_str().unwrap().to_string(),
                a["action"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn ticket(desk: &Desk, n: i64) -> Value {
    desk.json(&["ticket", "show", &n.to_string(), "--json"])
}

/// Outbox rows, oldest first: (kind, recipients, id) — the lifecycle's
/// mail; the staff notifications of customer messages (tests/it/staff.rs) are
/// left out.
fn outbox(desk: &Desk) -> Vec<(String, String, i64)> {
    let mut rows: Vec<(String, String, i64)> = desk
        .json(&["outbox", "list", "--json", "--limit", "1000"])
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let rcpt: Vec<&str> = m["rcpt"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap())
                .collect();
            (
                m["kind"].as_str().unwrap().to_string(),
                rcpt.join(","),
                m["id"].as_i64().unwrap(),
            )
        })
        .filter(|(kind, _, _)| kind != "staff-notify")
        .collect();
    rows.reverse();
    rows
}

fn kinds_since(desk: &Desk, skip: usize) -> Vec<(String, String)> {
    outbox(desk)
        .into_iter()
        .skip(skip)
        .map(|(k, r, _)| (k, r))
        .collect()
}

fn both(kind: &str) -> Vec<(String, String)> {
    vec![
        (kind.to_string(), "ann@customer.example".to_string()),
        (kind.to_string(), "team@desk.example".to_string()),
    ]
}

/// Outbox mail `id` as its head (raw) and its text body (decoded).
fn raw_mail(desk: &Desk, id: i64) -> String {
    let raw = desk.ok(&["outbox", "show", &id.to_string()]);
    let head = raw.split("\r\n\r\n").next().unwrap().to_string();
    let parsed = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .expect("our mail parses");
    format!("{head}\n\n{}", parsed.body_text(0).unwrap())
}

#[test]
fn staff_rule_warns_on_days_2_and_4_and_closes_on_day_6_but_not_on_a_saturday() {
    let desk = Desk::with_extra(PARIS);
    // Sunday 2 November 2025, 10:00 in Paris: day 6 is a Saturday.
    first_mail(&desk, "2025-11-02T10:00:00+01:00");
    assert_eq!(
        kinds_since(&desk, 0),
        [("receipt".into(), "ann@customer.example".into())]
    );

    assert!(actions(&sweep(&desk, "2025-11-04T09:59:59+01:00")).is_empty());
    // Day 2: the first warning, to both sides.
    let r = sweep(&desk, "2025-11-04T10:00:00+01:00");
    assert_eq!(actions(&r), [(1, "staff".into(), "warning".into())]);
    assert_eq!(kinds_since(&desk, 1), both("warning"));
    // Once per threshold.
    assert!(actions(&sweep(&desk, "2025-11-04T10:05:00+01:00")).is_empty());
    assert!(actions(&sweep(&desk, "2025-11-06T09:59:00+01:00")).is_empty());
    // Day 4: the second warning.
    let r = sweep(&desk, "2025-11-06T10:00:00+01:00");
    assert_eq!(actions(&r), [(1, "staff".into(), "warning".into())]);
    assert_eq!(kinds_since(&desk, 3), both("warning"));
    let (_, _, id) = outbox(&desk)[3].clone();
    let mail = raw_mail(&desk, id);
    assert!(mail.contains("Auto-Submitted: auto-generated"), "{mail}");
    assert!(mail.contains("since 2 November 2025, 10:00 CET"), "{mail}");
    assert!(mail.contains("4 days"), "{mail}");
    assert!(
        mail.contains("10 November 2025, 00:00 CET"),
        "says when it closes: {mail}"
    );
    assert!(
        mail.contains("My printer is on fire."),
        "newest message: {mail}"
    );

    // Day 6 is Saturday: nothing closes on a non-working day…
    assert!(actions(&sweep(&desk, "2025-11-08T10:00:00+01:00")).is_empty());
    assert!(actions(&sweep(&desk, "2025-11-09T23:59:59+01:00")).is_empty());
    assert_eq!(ticket(&desk, 1)["status"], "new");
    // …it closes at the start of Monday.
    let r = sweep(&desk, "2025-11-10T00:00:00+01:00");
    assert_eq!(actions(&r), [(1, "staff".into(), "close".into())]);
    let shown = ticket(&desk, 1);
    assert_eq!(shown["status"], "closed");
    assert_eq!(shown["next_deadline"], Value::Null);
    assert_eq!(kinds_since(&desk, 5), both("closed"));
    let (_, _, id) = outbox(&desk)[5].clone();
    let notice = raw_mail(&desk, id);
    assert!(notice.contains("is now closed"), "{notice}");
    assert!(notice.contains("6 days"), "{notice}");
    assert!(notice.contains("whole history"), "{notice}");
    assert!(
        notice.contains("status: new"),
        "the history shows the close: {notice}"
    );
    // Closed: no more rules.
    assert!(actions(&sweep(&desk, "2026-06-01T00:00:00+02:00")).is_empty());
}

#[test]
fn customer_rule_warns_after_7_and_closes_after_14_business_days() {
    // 11 November (Armistice) is a holiday in this desk's calendar.
    let desk = Desk::with_extra(&format!("{PARIS}holidays = [\"2025-11-11\"]\n"));
    first_mail(&desk, "2025-11-03T09:00:00+01:00");
    // Staff answered by phone at 10:00; the operator records it.
    let out = desk.ok(&[
        "ticket",
        "set-status",
        "1",
        "waiting-for-customer",
        "--at",
        "2025-11-03T10:00:00+01:00",
        "--reason",
        "answered by phone",
    ]);
    assert!(out.contains("new → waiting-for-customer"), "{out}");
    assert_eq!(kinds_since(&desk, 1), both("changed"));
    let mails = outbox(&desk).len();

    // 7 business days from Monday 10:00, the 11th off: Thursday 13th, 10:00.
    assert!(actions(&sweep(&desk, "2025-11-13T09:59:59+01:00")).is_empty());
    let r = sweep(&desk, "2025-11-13T10:00:00+01:00");
    assert_eq!(actions(&r), [(1, "customer".into(), "warning".into())]);
    assert_eq!(kinds_since(&desk, mails), both("warning"));
    let (_, _, id) = outbox(&desk)[mails].clone();
    let mail = raw_mail(&desk, id);
    assert!(mail.contains("7 business days"), "{mail}");
    assert!(
        mail.contains("24 November 2025, 10:00 CET"),
        "the close date: {mail}"
    );
    // 14 business days: Monday 24th, 10:00.
    assert!(actions(&sweep(&desk, "2025-11-24T09:59:59+01:00")).is_empty());
    let r = sweep(&desk, "2025-11-24T10:00:00+01:00");
    assert_eq!(actions(&r), [(1, "customer".into(), "close".into())]);
    assert_eq!(ticket(&desk, 1)["status"], "closed");
}

#[test]
fn activity_by_the_side_waited_for_resets_its_clock_and_automatic_mail_does_not() {
    let desk = Desk::with_extra(PARIS);
    first_mail(&desk, "2025-11-03T09:00:00+01:00");
    desk.ok(&[
        "ticket",
        "set-status",
        "1",
        "waiting-for-customer",
        "--at",
        "2025-11-03T10:00:00+01:00",
    ]);
    // An out-of-office on Wednesday: stored on the ticket, nothing else.
    let oof = String::from_utf8(customer_mail(
        "ann@customer.example",
        "Automatic reply: [DESK #1] Printer on fire",
        "oof@customer.example",
        "I am away.",
    ))
    .unwrap()
    .replace(
        "MIME-Version",
        "Auto-Submitted: auto-replied\r\nMIME-Version",
    );
    take_at(&desk, oof.as_bytes(), "2025-11-05T08:00:00+01:00");
    let shown = ticket(&desk, 1);
    assert_eq!(shown["status"], "waiting-for-customer");
    assert_eq!(shown["waiting_since"], "2025-11-03T09:00:00Z");
    // So the customer warning still comes 7 business days after the answer.
    let r = sweep(&desk, "2025-11-12T10:00:00+01:00");
    assert_eq!(actions(&r), [(1, "customer".into(), "warning".into())]);

    // The customer answers on Friday at noon: waiting for staff from then.
    reply(
        &desk,
        "r1@customer.example",
        "Still burning.",
        "2025-11-14T12:00:00+01:00",
    );
    let shown = ticket(&desk, 1);
    assert_eq!(shown["status"], "in-progress");
    assert_eq!(shown["waiting_since"], "2025-11-14T11:00:00Z");
    assert_eq!(shown["warnings_sent"], 0);
    // The old customer close (24th) is gone; the staff rule counts from Friday noon.
    assert!(actions(&sweep(&desk, "2025-11-16T11:59:59+01:00")).is_empty());
    let r = sweep(&desk, "2025-11-16T12:00:00+01:00");
    assert_eq!(actions(&r), [(1, "staff".into(), "warning".into())]);
    // A second customer message does not reset the staff clock.
    reply(
        &desk,
        "r2@customer.example",
        "Hello?",
        "2025-11-17T09:00:00+01:00",
    );
    let r = sweep(&desk, "2025-11-18T12:00:00+01:00");
    assert_eq!(actions(&r), [(1, "staff".into(), "warning".into())]);
    let r = sweep(&desk, "2025-11-20T12:00:00+01:00");
    assert_eq!(actions(&r), [(1, "staff".into(), "close".into())]);
}

#[test]
fn on_hold_stops_the_timers() {
    let desk = Desk::with_extra(PARIS);
    first_mail(&desk, "2025-11-03T09:00:00+01:00");
    desk.ok(&[
        "ticket",
        "set-status",
        "1",
        "on-hold",
        "--at",
        "2025-11-03T10:00:00+01:00",
    ]);
    let shown = ticket(&desk, 1);
    assert_eq!(shown["next_deadline"], Value::Null);
    assert!(actions(&sweep(&desk, "2026-01-31T10:00:00+01:00")).is_empty());
    assert_eq!(ticket(&desk, 1)["status"], "on-hold");
    // Taken off hold: the staff clock starts afresh.
    desk.ok(&[
        "ticket",
        "set-status",
        "1",
        "in-progress",
        "--at",
        "2025-11-20T10:00:00+01:00",
    ]);
    assert!(actions(&sweep(&desk, "2025-11-22T09:59:59+01:00")).is_empty());
    let r = sweep(&desk, "2025-11-22T10:00:00+01:00");
    assert_eq!(actions(&r), [(1, "staff".into(), "warning".into())]);
}

#[test]
fn a_reply_within_the_window_reopens_and_after_it_opens_a_new_ticket() {
    let desk = Desk::with_extra(PARIS);
    first_mail(&desk, "2025-11-03T09:00:00+01:00");
    desk.ok(&[
        "ticket",
        "close",
        "1",
        "--at",
        "2025-11-04T10:00:00+01:00",
        "--reason",
        "fixed",
    ]);
    assert_eq!(kinds_since(&desk, 1), both("closed"));
    let (_, _, id) = outbox(&desk)[1].clone();
    let notice = raw_mail(&desk, id);
    assert!(notice.contains("Reason: fixed"), "{notice}");
    assert!(
        notice.contains("by 4 December 2025, 10:00 CET"),
        "reopen deadline: {notice}"
    );

    // An out-of-office does not reopen.
    let oof = String::from_utf8(customer_mail(
        "ann@customer.example",
        "Automatic reply: [DESK #1] Printer on fire",
        "oof@customer.example",
        "I am away.",
    ))
    .unwrap()
    .replace(
        "MIME-Version",
        "Auto-Submitted: auto-replied\r\nMIME-Version",
    );
    take_at(&desk, oof.as_bytes(), "2025-11-05T08:00:00+01:00");
    assert_eq!(ticket(&desk, 1)["status"], "closed");

    // 30 days after the close, to the second: reopened, staff told.
    let mails = outbox(&desk).len();
    reply(
        &desk,
        "r1@customer.example",
        "It is back.",
        "2025-12-04T10:00:00+01:00",
    );
    assert_eq!(desk.tickets().len(), 1);
    let shown = ticket(&desk, 1);
    assert_eq!(shown["status"], "in-progress");
    assert!(
        shown["history"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["detail"]
                .as_str()
                .unwrap()
                .contains("closed → in-progress (reopened)")),
        "{shown:#}"
    );
    // Staff are told by the notification of the reply, which says it
    // reopened the ticket (no second "changed" mail).
    assert!(kinds_since(&desk, mails).is_empty());
    let all = desk.json(&["outbox", "list", "--json"]);
    let newest = &all[0];
    assert_eq!(newest["kind"], "staff-notify");
    assert_eq!(newest["rcpt"][0], "team@desk.example");
    let notice = raw_mail(&desk, newest["id"].as_i64().unwrap());
    assert!(notice.contains("which was closed: it is open"), "{notice}");
    assert!(notice.contains("It is back."), "{notice}");
    // Timers run again: staff warned 2 days later.
    let r = sweep(&desk, "2025-12-06T10:00:00+01:00");
    assert_eq!(actions(&r), [(1, "staff".into(), "warning".into())]);

    // Closed again; a reply 30 days and one second later opens ticket #2.
    desk.ok(&["ticket", "close", "1", "--at", "2025-12-08T10:00:00+01:00"]);
    reply(
        &desk,
        "r2@customer.example",
        "Again!",
        "2026-01-07T10:00:01+01:00",
    );
    let tickets = desk.tickets();
    assert_eq!(tickets.len(), 2, "{tickets:#?}");
    assert_eq!(ticket(&desk, 1)["status"], "closed");
    let new = ticket(&desk, 2);
    assert_eq!(new["status"], "new");
    assert_eq!(new["reopened_from"], 1);
    let first_line = new["history"][0]["detail"].as_str().unwrap();
    assert!(first_line.contains("a reply to ticket #1"), "{first_line}");
    assert_eq!(new["history"][0]["text"], "Again!");
    let old = ticket(&desk, 1);
    assert!(
        old["history"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["detail"].as_str().unwrap().contains("opened ticket #2")),
        "{old:#}"
    );
    // The new ticket has its receipt.
    assert_eq!(outbox(&desk).last().unwrap().0, "receipt");
}

#[test]
fn reopen_window_0_never_reopens() {
    let desk = Desk::with_extra(&format!("{PARIS}\n[intake]\nreopen_window = 0\n"));
    first_mail(&desk, "2025-11-03T09:00:00+01:00");
    desk.ok(&["ticket", "close", "1", "--at", "2025-11-03T10:00:00+01:00"]);
    reply(
        &desk,
        "r1@customer.example",
        "One more thing.",
        "2025-11-03T10:01:00+01:00",
    );
    assert_eq!(desk.tickets().len(), 2);
    assert_eq!(ticket(&desk, 2)["reopened_from"], 1);
    // The operator can still reopen by hand.
    let out = desk.ok(&["ticket", "reopen", "1"]);
    assert!(out.contains("closed → in-progress"), "{out}");
}

#[test]
fn operator_commands_follow_the_rules_and_say_no_clearly() {
    let desk = Desk::with_extra(PARIS);
    first_mail(&desk, "2025-11-03T09:00:00+01:00");
    let out = desk.ok(&[
        "ticket",
        "set-type",
        "1",
        "billing",
        "--reason",
        "it is an invoice",
    ]);
    assert!(out.contains("type technical → billing"), "{out}");
    assert_eq!(kinds_since(&desk, 1), both("changed"));
    let (_, _, id) = outbox(&desk)[1].clone();
    let mail = raw_mail(&desk, id);
    assert!(mail.contains("type: technical → billing"), "{mail}");
    assert!(mail.contains("Reason: it is an invoice"), "{mail}");
    assert_eq!(ticket(&desk, 1)["type"], "billing");

    for (args, code, says) in [
        (
            &["ticket", "set-type", "1", "billing"][..],
            65,
            "already billing",
        ),
        (
            &["ticket", "set-type", "1", "hardware"][..],
            65,
            "technical, billing, refund",
        ),
        (&["ticket", "reopen", "1"][..], 65, "not closed"),
        (&["ticket", "set-status", "1", "new"][..], 65, "already new"),
        (&["ticket", "close", "9"][..], 65, "no ticket #9"),
        (
            &["ticket", "close", "1", "--at", "2999-01-01T00:00:00Z"][..],
            64,
            "future",
        ),
        (
            &["ticket", "set-status", "1", "open"][..],
            64,
            "unknown status",
        ),
    ] {
        let out = desk.run(args, b"");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    desk.ok(&["ticket", "close", "1"]);
    let out = desk.run(&["ticket", "close", "1"], b"");
    assert_eq!(out.status.code(), Some(65));
    desk.ok(&["ticket", "reopen", "1", "--reason", "customer called"]);
    assert_eq!(ticket(&desk, 1)["status"], "in-progress");
}

#[test]
fn dry_run_says_what_it_would_do_and_changes_nothing() {
    let desk = Desk::with_extra(PARIS);
    first_mail(&desk, "2025-11-03T09:00:00+01:00");
    let before = outbox(&desk).len();
    let text = desk.ok(&["sweep", "--now", "2025-11-05T09:00:00+01:00", "--dry-run"]);
    assert!(text.contains("#1") && text.contains("would warn"), "{text}");
    assert!(text.contains("due 2025-11-05 09:00 CET"), "{text}");
    assert_eq!(outbox(&desk).len(), before);
    assert_eq!(ticket(&desk, 1)["warnings_sent"], 0);
    let text = desk.ok(&["sweep", "--now", "2025-11-05T09:00:00+01:00"]);
    assert!(
        text.contains("1 warning(s), 0 close(s), 2 mail(s) queued"),
        "{text}"
    );
}

#[test]
fn the_daily_limit_and_robots_keep_warnings_from_customers_but_not_from_staff() {
    let desk = Desk::with_extra(&format!(
        "{PARIS}\n[intake]\nmax_auto_replies_per_day = 1\nunmatched_automatic = \"ticket\"\n"
    ));
    // Ann got her receipt: that is her one automatic mail of the day.
    first_mail(&desk, "2025-11-03T09:00:00+01:00");
    // A robot's mail opened ticket #2.
    let robot = String::from_utf8(customer_mail(
        "noreply@robot.example",
        "Your order",
        "o1@robot.example",
        "Thanks for your order.",
    ))
    .unwrap()
    .replace(
        "MIME-Version",
        "Auto-Submitted: auto-generated\r\nMIME-Version",
    );
    take_at(&desk, robot.as_bytes(), "2025-11-03T09:00:00+01:00");
    let before = outbox(&desk).len();
    let r = sweep(&desk, "2025-11-05T09:00:00+01:00");
    assert_eq!(actions(&r).len(), 2);
    let sent = kinds_since(&desk, before);
    // The receipt is more than 24 hours old: Ann and the team get their
    // warning; the robot's ticket warns the team only.
    assert_eq!(
        sent,
        [
            ("warning".to_string(), "ann@customer.example".to_string()),
            ("warning".to_string(), "team@desk.example".to_string()),
            ("warning".to_string(), "team@desk.example".to_string()),
        ]
    );
    let skipped: Vec<&str> = r["actions"][1]["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(skipped[0].contains("automatic message"), "{skipped:?}");

    // Within one day the limit bites: the operator's change mail to Ann is
    // refused, the team's goes.
    let before = outbox(&desk).len();
    let out = desk.ok(&[
        "ticket",
        "set-type",
        "1",
        "refund",
        "--at",
        "2025-11-05T09:30:00+01:00",
    ]);
    assert!(out.contains("reach the limit"), "{out}");
    assert_eq!(
        kinds_since(&desk, before),
        [("changed".to_string(), "team@desk.example".to_string())]
    );
}

#[test]
fn the_daemon_sweeps_on_its_cron_schedule_and_stops_on_sigterm() {
    let desk = Desk::with_extra(
        r#"
[staff]
notify = ["team@desk.example"]

[calendar]
working_days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

[[inactivity]]
waiting_for = "customer"
close_after = ""

[schedule]
sweep = "* * * * * *"
"#,
    );
    first_mail(&desk, "2025-11-03T09:00:00+01:00");
    // Answered now: with close_after = "" the ticket is due at once.
    desk.ok(&["ticket", "set-status", "1", "waiting-for-customer"]);
    let mut child = desk
        .command()
        .arg("run")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    wait_until("the daemon's sweep", Duration::from_secs(20), || {
        (ticket(&desk, 1)["status"] == "closed").then_some(())
    });
    // The close notices are delivered by the daemon's sender.
    wait_until(
        "the close notice",
        Duration::from_secs(20).saturating_sub(start.elapsed()),
        || {
            outbox(&desk)
                .iter()
                .any(|(k, _, _)| k == "closed")
                .then_some(())
        },
    );
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    // close_after = "": the notice says the answer closed it.
    let (_, _, id) = outbox(&desk)
        .into_iter()
        .find(|(k, r, _)| k == "closed" && r.starts_with("ann@"))
        .unwrap();
    let notice = raw_mail(&desk, id);
    assert!(notice.contains("We have answered your request"), "{notice}");
}

#[test]
fn changed_rules_apply_to_waiting_tickets_at_the_next_sweep() {
    let desk = Desk::with_extra(PARIS);
    first_mail(&desk, "2025-11-03T09:00:00+01:00");
    assert!(actions(&sweep(&desk, "2025-11-04T09:00:00+01:00")).is_empty());
    // The operator shortens the staff rule to one day.
    let text = std::fs::read_to_string(&desk.config).unwrap();
    std::fs::write(
        &desk.config,
        format!("{text}\n[[inactivity]]\nwaiting_for = \"staff\"\nwarn_after = [\"1 day\"]\nclose_after = \"3 days\"\n"),
    )
    .unwrap();
    // A dry run already sees the new rules, and changes nothing.
    let r = desk.json(&[
        "sweep",
        "--now",
        "2025-11-04T09:00:00+01:00",
        "--dry-run",
        "--json",
    ]);
    assert_eq!(actions(&r), [(1, "staff".into(), "warning".into())]);
    assert_eq!(
        ticket(&desk, 1)["next_deadline"],
        "2025-11-05T08:00:00Z",
        "the old deadline stays"
    );
    // The real sweep computes the deadlines again, then acts on them.
    let r = sweep(&desk, "2025-11-04T09:00:00+01:00");
    assert_eq!(r["recomputed"], 1);
    assert_eq!(actions(&r), [(1, "staff".into(), "warning".into())]);
    assert_eq!(
        ticket(&desk, 1)["next_deadline"],
        "2025-11-06T08:00:00Z",
        "the close, day 3"
    );
    // No customer rule any more: answered tickets never close.
    desk.ok(&[
        "ticket",
        "set-status",
        "1",
        "waiting-for-customer",
        "--at",
        "2025-11-04T10:00:00+01:00",
    ]);
    assert_eq!(ticket(&desk, 1)["next_deadline"], Value::Null);
    assert!(actions(&sweep(&desk, "2026-06-01T00:00:00+02:00")).is_empty());
}

/// The customer side's notices speak the language of the ticket's account
/// (lengths in words included); the staff side's the desk's default.
#[test]
fn notices_to_an_account_customer_are_in_the_account_language() {
    let desk = Desk::with_extra(&format!(
        "{PARIS}\n[[account]]\nid = \"cust-fr\"\nprimary = \"ann@customer.example\"\nlanguage = \"fr\"\n"
    ));
    // Applied as the daemon or any mail-taking command applies them.
    desk.ok(&["account", "list"]);
    first_mail(&desk, "2025-11-03T10:00:00+01:00");
    assert_eq!(ticket(&desk, 1)["account"], "cust-fr");
    let r = sweep(&desk, "2025-11-05T10:00:00+01:00");
    assert_eq!(actions(&r), [(1, "staff".into(), "warning".into())]);
    let rows = outbox(&desk);
    assert_eq!(kinds_since(&desk, 1), both("warning"));
    let customer = raw_mail(&desk, rows[1].2);
    assert!(customer.contains("Bonjour"), "{customer}");
    assert!(customer.contains("2 jours"), "{customer}");
    let staff = raw_mail(&desk, rows[2].2);
    assert!(staff.contains("Hello,"), "{staff}");
    assert!(staff.contains("2 days"), "{staff}");

    desk.ok(&["ticket", "close", "1", "--reason", "done"]);
    let rows = outbox(&desk);
    assert_eq!(kinds_since(&desk, 3), both("closed"));
    let customer = raw_mail(&desk, rows[3].2);
    assert!(customer.contains("est maintenant fermé"), "{customer}");
    let staff = raw_mail(&desk, rows[4].2);
    assert!(staff.contains("is now closed"), "{staff}");
}

/// A reply after the reopen window opens a ticket that continues the old
/// one: same account, same flags. A silent import (`--no-receipts`) that
/// reopens a ticket sends nobody anything, the staff side included.
#[test]
fn a_late_reply_keeps_the_account_and_a_silent_import_tells_nobody() {
    let desk = Desk::strict(&format!(
        "{PARIS}\n[[account]]\nid = \"cust-1\"\nprimary = \"ann@customer.example\"\npriority = true\n"
    ));
    desk.ok(&["account", "list"]);
    first_mail(&desk, "2025-11-03T09:00:00+01:00");
    desk.ok(&["ticket", "close", "1", "--at", "2025-11-04T10:00:00+01:00"]);
    reply(
        &desk,
        "late@customer.example",
        "Again!",
        "2025-12-05T10:00:00+01:00",
    );
    let new = ticket(&desk, 2);
    assert_eq!(new["reopened_from"], 1);
    assert_eq!(new["account"], "cust-1");
    assert_eq!(new["priority"], true);
    assert_eq!(new["unverified"], false);

    // Closed again, then a reply inside the window comes in by a silent import.
    desk.ok(&["ticket", "close", "2"]);
    let every_mail = |d: &Desk| {
        d.json(&["outbox", "list", "--json", "--limit", "1000"])
            .as_array()
            .unwrap()
            .len()
    };
    let mails = every_mail(&desk);
    let raw = customer_mail(
        "ann@customer.example",
        "Re: [DESK #2] Printer on fire",
        "quiet@customer.example",
        "Still broken.",
    );
    let out = desk.run(&["ingest", "--no-receipts", "--queue-only"], &raw);
    assert!(out.status.success(), "{out:?}");
    let shown = ticket(&desk, 2);
    assert_eq!(shown["status"], "in-progress");
    assert_eq!(every_mail(&desk), mails, "a silent import sent mail");
    assert!(
        shown["history"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["detail"]
                .as_str()
                .unwrap()
                .contains("no staff-notify mail to staff: no automatic mail during this import")),
        "{shown:#}"
    );
}

// ---------------------------------------------------------------------------
// The clocks the customer was promised (issue 11, point 4)
// ---------------------------------------------------------------------------

const WITH_ALICE: &str = r#"
[staff]
notify = ["team@desk.example"]

[[staff.member]]
name = "Alice"
address = "alice@desk.example"

[calendar]
timezone = "Europe/Paris"
"#;

/// Alice's mail on ticket 1 with `body` (a reply, a `#note`, commands), at
/// `at`, answering the newest mail the team got (which shows it genuine).
fn alice(desk: &Desk, id: &str, body: &str, at: &str) {
    let to_team = crate::support::outbox::mails(desk)
        .into_iter()
        .rfind(|m| m.to("team@desk.example"))
        .expect("a mail to the team");
    let their = to_team.message_id();
    let raw = format!(
        "From: Alice <alice@desk.example>\r\nTo: support@desk.example\r\n\
Subject: Re: [DESK #1] Printer on fire\r\nDate: Mon, 3 Nov 2025 10:00:00 +0100\r\n\
Message-ID: <{id}>\r\nIn-Reply-To: <{their}>\r\nReferences: <{their}>\r\n\
MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n"
    );
    take_at(desk, raw.as_bytes(), at);
}

/// Two answers three days apart, then silence: the customer's warning comes
/// 7 business days after the second and says when we answered.
#[test]
fn the_customer_clock_restarts_at_every_staff_answer() {
    let desk = Desk::with_extra(WITH_ALICE);
    first_mail(&desk, "2025-11-03T09:00:00+01:00");
    alice(
        &desk,
        "a1@desk.example",
        "Unplug it.",
        "2025-11-03T10:00:00+01:00",
    );
    assert_eq!(ticket(&desk, 1)["status"], "waiting-for-customer");
    alice(
        &desk,
        "a2@desk.example",
        "And call the fire brigade.",
        "2025-11-06T10:00:00+01:00",
    );
    let shown = ticket(&desk, 1);
    assert_eq!(shown["waiting_since"], "2025-11-06T09:00:00Z");
    // 7 business days after the first answer: nothing.
    assert!(actions(&sweep(&desk, "2025-11-12T10:00:00+01:00")).is_empty());
    // 7 business days after the second (Monday 17th, 10:00): the warning.
    assert!(actions(&sweep(&desk, "2025-11-17T09:59:59+01:00")).is_empty());
    let before = outbox(&desk).len();
    let r = sweep(&desk, "2025-11-17T10:00:00+01:00");
    assert_eq!(actions(&r), [(1, "customer".into(), "warning".into())]);
    let rows = outbox(&desk);
    let (kind, to, id) = rows[before].clone();
    assert_eq!(
        (kind.as_str(), to.as_str()),
        ("warning", "ann@customer.example")
    );
    let mail = raw_mail(&desk, id);
    assert!(
        mail.contains("We answered you on 6 November 2025, 10:00 CET"),
        "{mail}"
    );
    // The close is 7 business days after the warning (14 after the answer).
    assert!(actions(&sweep(&desk, "2025-11-26T09:59:59+01:00")).is_empty());
    let r = sweep(&desk, "2025-11-26T10:00:00+01:00");
    assert_eq!(actions(&r), [(1, "customer".into(), "close".into())]);
}

/// While the customer waits for staff, an internal note or a mail of
/// commands only postpones nothing: the staff warnings and the close come
/// on the days they would have.
#[test]
fn a_note_or_commands_during_staff_silence_leave_the_warnings_unchanged() {
    let desk = Desk::with_extra(WITH_ALICE);
    first_mail(&desk, "2025-11-03T09:00:00+01:00");
    alice(
        &desk,
        "n1@desk.example",
        "#note\nLooking into it, do not tell her yet.",
        "2025-11-04T09:00:00+01:00",
    );
    alice(
        &desk,
        "c1@desk.example",
        "#type billing\n#status in-progress",
        "2025-11-04T12:00:00+01:00",
    );
    let shown = ticket(&desk, 1);
    assert_eq!(shown["status"], "in-progress");
    assert_eq!(shown["waiting_since"], "2025-11-03T08:00:00Z");
    assert!(actions(&sweep(&desk, "2025-11-05T08:59:59+01:00")).is_empty());
    let r = sweep(&desk, "2025-11-05T09:00:00+01:00");
    assert_eq!(actions(&r), [(1, "staff".into(), "warning".into())]);
    alice(
        &desk,
        "n2@desk.example",
        "#note\nStill looking.",
        "2025-11-06T09:00:00+01:00",
    );
    let r = sweep(&desk, "2025-11-07T09:00:00+01:00");
    assert_eq!(actions(&r), [(1, "staff".into(), "warning".into())]);
    let r = sweep(&desk, "2025-11-10T00:00:00+01:00");
    assert_eq!(actions(&r), [(1, "staff".into(), "close".into())]);
}

/// `[calendar] working_hours`: a warning due in the evening goes out the
/// next working morning at the start of the hours; a close due on a
/// Sunday at the start of Monday's hours, not at 00:00.
#[test]
fn working_hours_move_warnings_and_closes_to_the_next_working_period() {
    let desk = Desk::with_extra(&format!("{PARIS}working_hours = \"09:00-18:00\"\n"));
    // Monday 20:00.
    first_mail(&desk, "2025-11-03T20:00:00+01:00");
    assert!(actions(&sweep(&desk, "2025-11-05T20:00:00+01:00")).is_empty());
    assert!(actions(&sweep(&desk, "2025-11-06T08:59:59+01:00")).is_empty());
    let r = sweep(&desk, "2025-11-06T09:00:00+01:00");
    assert_eq!(actions(&r), [(1, "staff".into(), "warning".into())]);
    // Day 6 is Sunday 20:00; Monday 00:00 is outside the hours too.
    assert!(actions(&sweep(&desk, "2025-11-10T00:00:00+01:00")).is_empty());
    assert!(actions(&sweep(&desk, "2025-11-10T08:59:59+01:00")).is_empty());
    let r = sweep(&desk, "2025-11-10T09:00:00+01:00");
    assert_eq!(actions(&r), [(1, "staff".into(), "close".into())]);
    // A time that is no period is refused with the key's name.
    let bad = Desk::with_extra(&format!("{PARIS}working_hours = \"18:00-09:00\"\n"));
    let out = bad.run(&["check-config"], b"");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("calendar.working_hours"), "{err}");
}
