//! POP3 and IMAP sources against the real Dovecot and Postfix of
//! tests/mailstack, through the real `postdesk run`: the round trips a
//! customer makes, the IMAP IDLE latency, servers that refuse or cannot be
//! reached, and 5,000 messages taken exactly once.
//!
//! Without MAILSTACK_SMTP_PORT every test skips, unless
//! POSTDESK_REQUIRE_MAILSTACK=1 (CI) makes that a failure.

use std::time::{Duration, Instant};

use crate::support::stack::{Stack, mail, stack, unique};
use crate::support::{Desk, wait_until};
use postdesk::domain::TicketId;
use postdesk::store::OutboxState;

pub const PREFIX: &str = "MB";

/// Held by the 5,000-message test and by the IDLE latency measurement, so
/// the measurement never competes with the bulk run for the two cores.
static HEAVY: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn heavy() -> std::sync::MutexGuard<'static, ()> {
    HEAVY.lock().unwrap_or_else(|e| e.into_inner())
}

/// A desk in a temp directory that takes mail from `sources` and sends by
/// the stack's SMTP: config, password files (`pw`, `wrong-pw`), database
/// under var/.
fn mailbox_desk(stack: &Stack, support: &str, sources: &str, extra: &str) -> Desk {
    // The customers here belong to no account: accept them (the shipped
    // default, `verify`, would hold their mail for a confirmation).
    let extra = if extra.contains("[intake]\n") {
        extra.replacen("[intake]\n", "[intake]\nunknown_sender = \"accept\"\n", 1)
    } else {
        format!("{extra}\n[intake]\nunknown_sender = \"accept\"\n")
    };
    let text = format!(
        r#"[service]
name = "Mailbox Desk"
address = "{support}"
ticket_prefix = "{PREFIX}"
database = "var/postdesk.db"

{sources}

[transport]
kind = "smtp"
host = "127.0.0.1"
port = {smtp}
tls = "none"
timeout = "10s"

[outbox]
retry_initial = "1s"
retry_max = "2s"
{extra}
"#,
        smtp = stack.smtp_port
    );
    let desk = Desk::with_config(&text);
    std::fs::write(desk.path("pw"), format!("{}\n", stack.master_password)).unwrap();
    std::fs::write(desk.path("wrong-pw"), "not-the-password\n").unwrap();
    desk
}

/// A measurement for the test log: straight to stderr, past the test
/// harness's capture, so CI shows it on success too.
fn report(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "mailbox: {line}");
}

fn pop3_source(stack: &Stack, name: &str, support: &str) -> String {
    format!(
        r#"[[source]]
name = "{name}"
kind = "pop3"
host = "localhost"
port = {port}
tls = "implicit"
user = "{login}"
password_file = "pw"
ca_file = "{ca}"
poll = "200ms"
timeout = "10s""#,
        port = stack.pop3s_port,
        login = stack.login(support),
        ca = stack.ca_cert.display()
    )
}

fn imap_source(stack: &Stack, name: &str, support: &str, extra: &str) -> String {
    format!(
        r#"[[source]]
name = "{name}"
kind = "imap"
host = "localhost"
port = {port}
tls = "starttls"
user = "{login}"
password_file = "pw"
ca_file = "{ca}"
timeout = "10s"
{extra}"#,
        port = stack.imap_port,
        login = stack.login(support),
        ca = stack.ca_cert.display()
    )
}

/// The header `name` of a raw message (first occurrence, unfolded).
fn header(raw: &str, name: &str) -> String {
    let head = raw
        .split("\r\n\r\n")
        .next()
        .unwrap_or(raw)
        .replace("\r\n ", " ");
    head.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
        .unwrap_or_else(|| panic!("no {name} header in:\n{raw}"))
}

/// The customer's side of a round trip, once the daemon has taken the first
/// message: the receipt arrives by SMTP (read back by IMAP), carries the
/// token, and a reply to it, as a mail client makes it, joins the ticket.
fn customer_replies(stack: &Stack, desk: &Desk, support: &str, customer: &str, ticket: TicketId) {
    let token = format!("[{PREFIX} #{}]", ticket.0);
    let receipt = stack.wait_for_mail(customer, "INBOX", &token, Duration::from_secs(20));
    let subject = header(&receipt, "Subject");
    assert!(subject.contains(&token), "receipt subject {subject:?}");
    assert_eq!(header(&receipt, "Auto-Submitted"), "auto-replied");
    let receipt_id = header(&receipt, "Message-ID");

    let reply_id = format!("{}@customer.test", unique("reply"));
    let reply = format!(
        "From: Customer <{customer}>\r\nTo: {support}\r\nSubject: Re: {subject}\r\n\
         Message-ID: <{reply_id}>\r\nIn-Reply-To: {receipt_id}\r\nReferences: {receipt_id}\r\n\
         Date: Mon, 16 Nov 2026 11:00:00 +0100\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nHere is the log you asked for.\r\n\r\n\
         > Thank you for writing.\r\n"
    );
    stack.send(customer, support, reply.as_bytes());
    let joined = desk.wait_ticket(&reply_id, Duration::from_secs(20));
    assert_eq!(joined, ticket, "the reply opened another ticket");
}

#[test]
fn pop3_round_trip_over_tls() {
    let Some(stack) = stack() else { return };
    let support = format!("{}@example.test", unique("desk-pop3"));
    let customer = format!("{}@example.test", unique("ann"));
    let desk = mailbox_desk(
        &stack,
        &support,
        &pop3_source(&stack, "support-pop", &support),
        "",
    );
    let daemon = desk.start();

    let first = format!("{}@customer.test", unique("first"));
    stack.send(
        &customer,
        &support,
        &mail(
            &customer,
            &support,
            "Printer on fire",
            &first,
            "It is on fire.\r\n.\r\n..really",
        ),
    );
    let ticket = desk.wait_ticket(&first, Duration::from_secs(20));
    let line = daemon.wait_log(
        &["message taken", "source=support-pop", &first],
        Duration::from_secs(5),
    );
    assert!(line.contains("new ticket"), "{line}");

    // The message went through POP3 byte for byte (dot-stuffing undone).
    let store = desk.store().unwrap();
    let stored = store.read().ticket_messages(ticket).unwrap();
    assert!(
        stored[0].new_text.contains("It is on fire.\n.\n..really"),
        "{:?}",
        stored[0].new_text
    );

    customer_replies(&stack, &desk, &support, &customer, ticket);
    wait_until(
        "the support mailbox to be empty",
        Duration::from_secs(10),
        || (stack.inbox_count(&support) == 0).then_some(()),
    );
    assert_eq!(desk.counts(), (1, 2));

    let (status, took, log) = daemon.stop();
    assert!(status.success(), "{status:?}\n{log}");
    assert!(took < Duration::from_secs(5), "stopping took {took:?}");
}

#[test]
fn imap_idle_round_trip_within_two_seconds() {
    let Some(stack) = stack() else { return };
    let _alone = heavy();
    let support = format!("{}@example.test", unique("desk-imap"));
    let customer = format!("{}@example.test", unique("bea"));
    // poll = 5m: only IDLE can explain a quick take.
    let source = imap_source(
        &stack,
        "support-imap",
        &support,
        "idle = true\npoll = \"5m\"\nprocessed_folder = \"Processed\"",
    );
    let desk = mailbox_desk(&stack, &support, &source, "");
    let daemon = desk.start_debug();

    // A first message proves the session is up and idling afterwards: once
    // the round that took it is done, the source looks once more and idles.
    let warm = format!("{}@customer.test", unique("warm"));
    stack.send(
        &customer,
        &support,
        &mail(&customer, &support, "Hello", &warm, "first"),
    );
    desk.wait_ticket(&warm, Duration::from_secs(20));
    daemon.wait_log(
        &["source=support-imap", "round done"],
        Duration::from_secs(10),
    );

    let first = format!("{}@customer.test", unique("first"));
    let raw = mail(&customer, &support, "VPN down", &first, "Nothing connects.");
    let sent = Instant::now();
    stack.send(&customer, &support, &raw);
    let accepted = sent.elapsed();
    let ticket = wait_until(
        "the IDLE'd message's ticket",
        Duration::from_secs(10),
        || desk.ticket_of(&first),
    );
    let latency = sent.elapsed();
    report(&format!(
        "IMAP IDLE latency, SMTP send -> stored ticket: {} ms (SMTP accepted after {} ms)",
        latency.as_millis(),
        accepted.as_millis()
    ));
    assert!(
        latency < Duration::from_secs(2),
        "IDLE latency {latency:?} is over 2 s"
    );

    customer_replies(&stack, &desk, &support, &customer, ticket);
    wait_until(
        "the support INBOX to be empty",
        Duration::from_secs(10),
        || (stack.inbox_count(&support) == 0).then_some(()),
    );
    // Moved, not deleted: all three are in the processed folder.
    let processed = stack.imap_read(&support, "Processed");
    assert_eq!(
        processed.len(),
        3,
        "Processed holds {} messages",
        processed.len()
    );
    assert_eq!(desk.counts(), (2, 3));

    let (status, took, log) = daemon.stop();
    assert!(status.success(), "{status:?}\n{log}");
    assert!(
        took < Duration::from_secs(5),
        "stopping an idling source took {took:?}"
    );
}

#[test]
fn pop3_starttls_leaving_mail_on_the_server_takes_it_once() {
    let Some(stack) = stack() else { return };
    let support = format!("{}@example.test", unique("desk-keep"));
    let source = format!(
        r#"[[source]]
name = "keep"
kind = "pop3"
host = "localhost"
port = {port}
tls = "starttls"
user = "{login}"
password_file = "pw"
ca_file = "{ca}"
poll = "200ms"
leave_on_server = true"#,
        port = stack.pop3_port,
        login = stack.login(&support),
        ca = stack.ca_cert.display()
    );
    let ids: Vec<String> = (0..3)
        .map(|i| format!("{}-{i}@customer.test", unique("keep")))
        .collect();
    let messages: Vec<Vec<u8>> = ids
        .iter()
        .map(|id| mail("c@customer.test", &support, "Keep me", id, "kept"))
        .collect();
    stack.fill_inbox(&support, &messages);
    let desk = mailbox_desk(
        &stack,
        &support,
        &source,
        "[intake]\nconfirm_receipt = false",
    );
    let daemon = desk.start();
    for id in &ids {
        desk.wait_ticket(id, Duration::from_secs(20));
    }
    // Several more polls (POP3 sessions, in Dovecot's log): the mail stays,
    // and nothing is taken twice.
    let sessions = stack.pop3_sessions(&support);
    wait_until("three more POP3 polls", Duration::from_secs(10), || {
        (stack.pop3_sessions(&support) >= sessions + 3).then_some(())
    });
    assert_eq!(stack.inbox_count(&support), 3);
    assert_eq!(desk.counts(), (3, 3));
    let (status, _, log) = daemon.stop();
    assert!(status.success(), "{status:?}");
    assert_eq!(log.matches("message taken").count(), 3, "{log}");
}

/// What a UIDVALIDITY change (or a mailbox restored from a backup) looks
/// like to postdesk: messages it stored before come again under source ids
/// it has never seen. They are recognised by Message-ID and content,
/// removed from the server, and make no second ticket.
#[test]
fn imap_mail_seen_before_under_new_uids_makes_no_second_ticket() {
    let Some(stack) = stack() else { return };
    let support = format!("{}@example.test", unique("desk-again"));
    let ids: Vec<String> = (0..3)
        .map(|i| format!("{}-{i}@customer.test", unique("again")))
        .collect();
    let messages: Vec<Vec<u8>> = ids
        .iter()
        .map(|id| mail("c@customer.test", &support, "Seen before", id, "same bytes"))
        .collect();
    let source = imap_source(&stack, "again", &support, "poll = \"200ms\"");
    let desk = mailbox_desk(
        &stack,
        &support,
        &source,
        "[intake]\nconfirm_receipt = false",
    );
    // Stored once already (as an earlier session under another UIDVALIDITY
    // would have), then found on the server again.
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (i, raw) in messages.iter().enumerate() {
        let f = dir.path().join(format!("{i}.eml"));
        std::fs::write(&f, raw).unwrap();
        files.push(f.display().to_string());
    }
    let mut ingest = desk.command();
    ingest
        .args(["ingest", "--queue-only", "--quiet"])
        .args(&files);
    assert!(ingest.status().unwrap().success());
    assert_eq!(desk.counts(), (3, 3));
    stack.fill_inbox(&support, &messages);

    let daemon = desk.start();
    wait_until("the mailbox to be emptied", Duration::from_secs(20), || {
        (stack.inbox_count(&support) == 0).then_some(())
    });
    let (status, _, log) = daemon.stop();
    assert!(status.success(), "{status:?}");
    assert_eq!(log.matches("outcome=\"duplicate\"").count(), 3, "{log}");
    assert_eq!(
        desk.counts(),
        (3, 3),
        "a message came back as a second ticket"
    );
}

/// A port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn broken_servers_are_named_and_the_daemon_stays_up() {
    let Some(stack) = stack() else { return };
    let support = format!("{}@example.test", unique("desk-bad"));
    let login = stack.login(&support);
    let ca = stack.ca_cert.display().to_string();
    let sources = format!(
        r#"[[source]]
name = "wrong-password"
kind = "pop3"
host = "localhost"
port = {pop3s}
user = "{login}"
password_file = "wrong-pw"
ca_file = "{ca}"

[[source]]
name = "wrong-port"
kind = "imap"
host = "127.0.0.1"
port = {closed}
user = "{login}"
password_file = "pw"
ca_file = "{ca}"

[[source]]
name = "tls-to-plain"
kind = "imap"
host = "localhost"
port = {imap}
tls = "implicit"
user = "{login}"
password_file = "pw"
ca_file = "{ca}"

[[source]]
name = "unknown-ca"
kind = "pop3"
host = "localhost"
port = {pop3s}
user = "{login}"
password_file = "pw"

[[source]]
name = "local"
kind = "maildir"
path = "var/inbox"
poll = "100ms""#,
        pop3s = stack.pop3s_port,
        imap = stack.imap_port,
        closed = closed_port(),
    );
    let desk = mailbox_desk(&stack, &support, &sources, "");
    let daemon = desk.start();
    let within = Duration::from_secs(10);
    for (source, says) in [
        ("wrong-password", "refused the login"),
        ("wrong-port", "Connection refused"),
        ("tls-to-plain", "does not speak TLS on this port"),
        ("unknown-ca", "not signed by a CA this machine trusts"),
    ] {
        let line = daemon.wait_log(&[&format!("source={source}"), says], within);
        assert!(
            line.contains("ERROR") && line.contains("retry_in"),
            "{line}"
        );
    }
    // The daemon works on: the local source still takes mail.
    let id = format!("{}@customer.test", unique("local"));
    let md = desk.path("var/inbox");
    std::fs::write(
        md.join("tmp/one"),
        mail("c@example.test", &support, "Still here?", &id, "yes"),
    )
    .unwrap();
    std::fs::rename(md.join("tmp/one"), md.join("new/one")).unwrap();
    desk.wait_ticket(&id, Duration::from_secs(10));

    // Backing off: after ~4 s the closed port was tried a few times, not
    // dozens (1 s, 2 s, 4 s ...). A sleep on purpose: the time that passes
    // is what the count is measured against.
    std::thread::sleep(Duration::from_secs(3));
    let tries = daemon
        .log_text()
        .lines()
        .filter(|l| l.contains("source=wrong-port") && l.contains("ERROR"))
        .count();
    assert!((2..=5).contains(&tries), "{tries} tries of wrong-port");

    let (status, took, log) = daemon.stop();
    assert!(status.success(), "{status:?}\n{log}");
    assert!(took < Duration::from_secs(5), "{took:?}");
}

/// 5,000 messages in each of a POP3 and an IMAP mailbox: every one taken
/// exactly once, both mailboxes empty afterwards.
#[test]
fn five_thousand_messages_each_taken_exactly_once() {
    let Some(stack) = stack() else { return };
    let _alone = heavy();
    const N: usize = 5_000;
    let pop_box = format!("{}@example.test", unique("bulk-pop3"));
    let imap_box = format!("{}@example.test", unique("bulk-imap"));
    let fill = |address: &str, tag: &str| -> Vec<String> {
        let ids: Vec<String> = (0..N).map(|i| format!("{tag}-{i}@bulk.test")).collect();
        let messages: Vec<Vec<u8>> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                mail(
                    &format!("c{}@bulk.test", i % 97),
                    address,
                    &format!("Bulk {i}"),
                    id,
                    "body",
                )
            })
            .collect();
        stack.fill_inbox(address, &messages);
        ids
    };
    let pop_ids = fill(&pop_box, &unique("p"));
    let imap_ids = fill(&imap_box, &unique("i"));
    let sources = format!(
        "{}\n\n{}",
        pop3_source(&stack, "bulk-pop", &pop_box),
        imap_source(&stack, "bulk-imap", &imap_box, "poll = \"1s\"")
    );
    let desk = mailbox_desk(
        &stack,
        "support@bulk.test",
        &sources,
        "[intake]\nconfirm_receipt = false",
    );
    let t = Instant::now();
    let daemon = desk.start();
    wait_until("10,000 messages stored", Duration::from_secs(240), || {
        (desk.counts().1 >= 2 * N as i64).then_some(())
    });
    let took = t.elapsed();
    report(&format!(
        "{} messages from POP3 + IMAP through the daemon in {:.1} s ({:.0} messages/s, debug build)",
        2 * N,
        took.as_secs_f64(),
        2.0 * N as f64 / took.as_secs_f64()
    ));
    wait_until("both mailboxes empty", Duration::from_secs(30), || {
        (stack.inbox_count(&pop_box) == 0 && stack.inbox_count(&imap_box) == 0).then_some(())
    });
    // A second look finds nothing new: still exactly N + N. A sleep on
    // purpose: it waits out the IMAP source's 1 s poll (a quiet poll
    // leaves no trace to wait for), which is the second look.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(desk.counts(), (2 * N as i64, 2 * N as i64));
    let store = desk.store().unwrap();
    for id in pop_ids.iter().chain(&imap_ids).step_by(97) {
        assert!(
            store.read().ticket_of_message_id(id).unwrap().is_some(),
            "{id} missing"
        );
    }
    let (status, _, log) = daemon.stop();
    assert!(status.success(), "{status:?}");
    let taken = log.matches("message taken").count();
    assert_eq!(taken, 2 * N, "log lines for taken messages");
}

/// The man page's second example (an IMAP source for the support address
/// and a POP3 source for a second address) against the real stack: a
/// customer writes to both addresses, staff answer, and nothing goes
/// round — the second address is the desk's own (its source's `user`), so
/// it is never a participant, never mailed, and no loop is quarantined.
#[test]
fn the_two_source_example_of_the_man_page_runs_without_a_loop() {
    let Some(stack) = stack() else { return };
    let _alone = heavy();
    let support = format!("{}@example.test", unique("support"));
    let billing = format!("{}@example.test", unique("billing"));
    let team = format!("{}@example.test", unique("team"));
    let alice = format!("{}@example.test", unique("alice"));
    let customer = format!("{}@example.test", unique("ann"));
    let sources = format!(
        "{}\n\n{}",
        imap_source(
            &stack,
            "support-imap",
            &support,
            "processed_folder = \"Processed\"\npoll = \"1s\""
        ),
        pop3_source(&stack, "billing-pop", &billing),
    );
    let staff = format!(
        "[staff]\nnotify = [\"{team}\"]\n\n[[staff.member]]\nname = \"Alice\"\naddress = \"{alice}\"\n"
    );
    let desk = mailbox_desk(&stack, &support, &sources, &staff);
    let daemon = desk.start();

    // One mail to both addresses: each mailbox gets its copy.
    let first = format!("{}@customer.test", unique("both"));
    let raw = format!(
        "From: Ann <{customer}>\r\nTo: {billing}\r\nCc: {support}\r\nSubject: Invoice and access\r\n\
Message-ID: <{first}>\r\nDate: Mon, 16 Nov 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\r\nMy invoice is wrong and I cannot log in.\r\n"
    );
    stack.send(&customer, &billing, raw.as_bytes());
    stack.send(&customer, &support, raw.as_bytes());
    let ticket = desk.wait_ticket(&first, Duration::from_secs(30));
    wait_until("both copies taken", Duration::from_secs(30), || {
        (stack.inbox_count(&billing) == 0 && stack.inbox_count(&support) == 0).then_some(())
    });

    // Alice answers the notification the team got.
    let token = format!("[{PREFIX} #{}]", ticket.0);
    let notify = stack.wait_for_mail(&team, "INBOX", &token, Duration::from_secs(30));
    let their = header(&notify, "Message-ID");
    let reply_id = format!("{}@example.test", unique("alice-reply"));
    let reply = format!(
        "From: Alice <{alice}>\r\nTo: {support}\r\nSubject: Re: {}\r\nMessage-ID: <{reply_id}>\r\n\
In-Reply-To: {their}\r\nReferences: {their}\r\nDate: Mon, 16 Nov 2026 11:00:00 +0100\r\n\
MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
Hello Ann, both are fixed.\r\n",
        header(&notify, "Subject")
    );
    stack.send(&alice, &support, reply.as_bytes());
    let relay = stack.wait_for_mail(
        &customer,
        "INBOX",
        "both are fixed",
        Duration::from_secs(30),
    );
    assert!(
        !relay.contains(&billing),
        "the relay names no desk address:\n{relay}"
    );

    // Let anything that would go round come back, then look: nothing is in
    // flight once the outbox is sent, Postfix holds nothing for the desk's
    // addresses and both their mailboxes are empty (seen twice in a row).
    let settled = || {
        let sent = desk.store().is_some_and(|s| {
            s.read()
                .outbox(Some(OutboxState::Queued), 10)
                .is_ok_and(|q| q.is_empty())
        });
        sent && [&support, &billing]
            .iter()
            .all(|a| !stack.queued_for(a) && stack.inbox_count(a) == 0)
    };
    wait_until("no mail in flight", Duration::from_secs(30), || {
        (settled() && settled()).then_some(())
    });
    let store = desk.store().unwrap();
    let read = store.read();
    let loops = read
        .quarantined(true)
        .unwrap()
        .into_iter()
        .filter(|q| q.kind == postdesk::domain::HoldKind::Loop)
        .count();
    assert_eq!(loops, 0, "no loop quarantined");
    for row in read.outbox(None, 1000).unwrap() {
        for own in [&support, &billing] {
            assert!(
                row.rcpt.iter().all(|r| !r.eq_ignore_ascii_case(own)),
                "{} mailed to the desk's own {own}",
                row.kind
            );
        }
    }
    assert_eq!(stack.inbox_count(&billing), 0, "nothing came to billing@");
    let people = read.participants(ticket).unwrap();
    assert!(
        people
            .iter()
            .all(|(m, _)| !m.address.as_str().eq_ignore_ascii_case(&billing)),
        "the second address is no participant: {people:?}"
    );
    assert_eq!(desk.counts().0, 1, "one ticket");
    let (status, _, log) = daemon.stop();
    assert!(status.success(), "{log}");
}

/// `postdesk status` as a monitoring check against the real Dovecot: a
/// desk whose mailbox logs in is healthy (exit 0); one whose password
/// Dovecot refuses, for longer than `source_alarm`, needs an operator
/// (exit 1), with the source named and Dovecot's refusal shown.
#[test]
fn status_exits_0_when_the_mailbox_works_and_1_when_its_login_is_refused() {
    let Some(stack) = stack() else { return };
    let support = format!("{}@example.test", unique("desk-status"));
    let good = imap_source(&stack, "support-imap", &support, "poll = \"1s\"");
    let desk = mailbox_desk(&stack, &support, &good, "");
    let daemon = desk.start();
    daemon.wait_log(
        &["source=support-imap", "connected and logged in"],
        Duration::from_secs(15),
    );
    let out = wait_until("a recorded round", Duration::from_secs(10), || {
        let out = desk.run(&["status"], b"");
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        text.contains("support-imap (imap): up")
            .then_some((out, text))
    });
    assert_eq!(out.0.status.code(), Some(0), "{}", out.1);
    assert!(out.1.contains(": OK"), "{}", out.1);
    drop(daemon);

    let refused = pop3_source(&stack, "support-pop", &support)
        .replace("password_file = \"pw\"", "password_file = \"wrong-pw\"");
    let desk = mailbox_desk(
        &stack,
        &support,
        &refused,
        "[status]\nsource_alarm = \"2s\"\n",
    );
    let daemon = desk.start();
    daemon.wait_log(
        &["source=support-pop", "login failed"],
        Duration::from_secs(15),
    );
    let (out, text) = wait_until("the alarm", Duration::from_secs(20), || {
        let out = desk.run(&["status"], b"");
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        (out.status.code() == Some(1)).then_some((out, text))
    });
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("  ! source support-pop failing since"),
        "{text}"
    );
    assert!(text.contains("support-pop (pop3): FAILING since"), "{text}");
    assert!(text.contains("refused the login"), "{text}");
    assert!(!text.contains("not-the-password"), "{text}");
    for debug in ["Some(", "None", "(\""] {
        assert!(!text.contains(debug), "debug formatting in:\n{text}");
    }
    let json: serde_json::Value =
        serde_json::from_slice(&desk.run(&["status", "--json"], b"").stdout).unwrap();
    assert_eq!(json["healthy"], false);
    assert_eq!(json["sources"][0]["name"], "support-pop");
    assert!(
        json["sources"][0]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("refused the login")),
        "{json}"
    );
    drop(daemon);
}
