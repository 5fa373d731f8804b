//! `postdesk run` as an operator runs it under systemd: SIGHUP and
//! `postdesk reload` re-read the config (a bad one is refused and the old
//! one runs on), sd_notify messages reach $NOTIFY_SOCKET, and SIGTERM ends
//! it with exit 0 within a few seconds. Maildir sources only: no mail
//! server needed.

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

use crate::support::{Daemon, Desk, customer_mail, drop_into_maildir, wait_until};

fn ticket_count(desk: &Desk) -> usize {
    if !desk.path("var/postdesk.db").exists() {
        return 0;
    }
    // The store, not `ticket list`: the config may be broken on purpose.
    desk.open_store().read().ticket_count().unwrap() as usize
}

#[test]
fn reload_takes_a_good_config_and_refuses_a_bad_one() {
    let desk = Desk::new();
    let d = desk.start();
    d.wait_log(&["postdesk running"], Duration::from_secs(10));
    // The pid file is written just after that line: wait for it to appear.
    let pid_file = desk.path("var/postdesk.pid");
    let pid = wait_until("the pid file", Duration::from_secs(10), || {
        std::fs::read_to_string(&pid_file)
            .ok()
            .filter(|t| t.ends_with('\n'))
    });
    assert_eq!(pid.trim(), d.child.id().to_string());
    drop_into_maildir(
        &desk.path("var/inbox"),
        "one",
        &customer_mail("ann@customer.example", "First", "r1@c.example", "hi"),
    );
    wait_until("ticket 1", Duration::from_secs(10), || {
        (ticket_count(&desk) == 1).then_some(())
    });

    // A new source path, applied by `postdesk reload`.
    let text = std::fs::read_to_string(&desk.config).unwrap();
    std::fs::write(
        &desk.config,
        text.replace("path = \"var/inbox\"", "path = \"var/inbox2\""),
    )
    .unwrap();
    let out = desk.ok(&["reload"]);
    assert!(out.contains(&d.child.id().to_string()), "{out}");
    d.wait_log(&["configuration reloaded"], Duration::from_secs(10));
    drop_into_maildir(
        &desk.path("var/inbox2"),
        "two",
        &customer_mail("bob@customer.example", "Second", "r2@c.example", "hi"),
    );
    wait_until("ticket 2", Duration::from_secs(10), || {
        (ticket_count(&desk) == 2).then_some(())
    });

    // A broken config: `postdesk reload` refuses it itself (exit 78) ...
    let good = std::fs::read_to_string(&desk.config).unwrap();
    // (The test desk has an [intake] table already: unknown senders accepted.)
    assert!(good.contains("[intake]\n"), "{good}");
    std::fs::write(
        &desk.config,
        good.replacen("[intake]\n", "[intake]\nbatch_size = 0\n", 1),
    )
    .unwrap();
    let out = desk.run(&["reload"], b"");
    assert_eq!(
        out.status.code(),
        Some(78),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // ... and the daemon, sent SIGHUP anyway, keeps the running config.
    d.signal(libc::SIGHUP);
    let line = d.wait_log(&["reload refused"], Duration::from_secs(10));
    assert!(line.contains("intake.batch_size"), "{line}");
    drop_into_maildir(
        &desk.path("var/inbox2"),
        "three",
        &customer_mail("cid@customer.example", "Third", "r3@c.example", "hi"),
    );
    wait_until("ticket 3", Duration::from_secs(10), || {
        (ticket_count(&desk) == 3).then_some(())
    });

    let (status, took, log) = d.stop();
    assert!(status.success(), "{status:?}\n{log}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(!pid_file.exists(), "the pid file outlived the daemon");
    // Without a daemon, `postdesk reload` says so (EX_UNAVAILABLE).
    std::fs::write(&desk.config, good).unwrap();
    let out = desk.run(&["reload"], b"");
    assert_eq!(out.status.code(), Some(69));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no running daemon"));
}

#[test]
fn systemd_hears_ready_reloading_watchdog_and_stopping() {
    let desk = Desk::new();
    let socket = desk.path("notify.sock");
    let listener = UnixDatagram::bind(&socket).unwrap();
    listener
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut cmd = desk.command();
    cmd.env("RUST_LOG", "info")
        .env("NOTIFY_SOCKET", &socket)
        .env("WATCHDOG_USEC", "400000");
    let d = Daemon::start(cmd, &desk.path("daemon.log"));
    let mut buf = [0u8; 1024];
    let mut next = |what: &str| -> String {
        loop {
            let n = listener
                .recv(&mut buf)
                .unwrap_or_else(|e| panic!("waiting for {what}: {e}"));
            let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
            // Watchdog pings come in between everything else.
            if what == "WATCHDOG=1" || msg != "WATCHDOG=1" {
                return msg;
            }
        }
    };
    let ready = next("READY=1");
    assert!(ready.starts_with("READY=1\n"), "{ready}");
    assert!(
        ready.contains(&format!("MAINPID={}", d.child.id())),
        "{ready}"
    );
    assert_eq!(next("WATCHDOG=1"), "WATCHDOG=1");

    d.signal(libc::SIGHUP);
    let reloading = next("RELOADING=1");
    assert!(
        reloading.starts_with("RELOADING=1\nMONOTONIC_USEC="),
        "{reloading}"
    );
    assert!(next("READY=1").starts_with("READY=1"));

    d.signal(libc::SIGTERM);
    assert!(next("STOPPING=1").starts_with("STOPPING=1"));
    let (status, _, log) = d.stop_after_signal();
    assert!(status.success(), "{status:?}\n{log}");
}

/// `[[account]]` changes take effect on a reload: the daemon applies the
/// declared accounts when it takes a configuration, not only at start.
#[test]
fn reload_applies_the_declared_accounts() {
    // The shipped default for strangers: their mail waits for a confirmation.
    let desk = Desk::strict("");
    let d = desk.start();
    d.wait_log(&["postdesk running"], Duration::from_secs(10));
    let account = |id: &str| desk.open_store().read().account(id).unwrap();
    assert!(account("cust-1").is_none());

    let plain = std::fs::read_to_string(&desk.config).unwrap();
    let declared = format!(
        "{plain}\n[[account]]\nid = \"cust-1\"\nprimary = \"ann@customer.example\"\nlanguage = \"fr\"\n"
    );
    std::fs::write(&desk.config, &declared).unwrap();
    desk.ok(&["reload"]);
    wait_until(
        "cust-1 applied by the reload",
        Duration::from_secs(10),
        || account("cust-1"),
    );
    // Ann is the account's now: her mail opens a ticket for it at once.
    drop_into_maildir(
        &desk.path("var/inbox"),
        "one",
        &customer_mail("ann@customer.example", "Help", "r1@c.example", "hi"),
    );
    wait_until("ticket 1", Duration::from_secs(10), || {
        (ticket_count(&desk) == 1).then_some(())
    });
    let ticket = desk
        .open_store()
        .read()
        .ticket(postdesk::domain::TicketId(1))
        .unwrap()
        .unwrap();
    assert_eq!(ticket.account.as_deref(), Some("cust-1"));

    // Declared no more: the next reload removes it.
    std::fs::write(&desk.config, &plain).unwrap();
    desk.ok(&["reload"]);
    wait_until(
        "cust-1 removed by the reload",
        Duration::from_secs(10),
        || account("cust-1").is_none().then_some(()),
    );
    let (status, _, log) = d.stop();
    assert!(status.success(), "{status:?}\n{log}");
}
