//! Queues against the real mail stack (issue 14): two addresses of one desk
//! delivered by Postfix into one Dovecot mailbox, taken by one IMAP source,
//! each message routed by the `Delivered-To` the delivery wrote.
//!
//! What the stack writes, checked by hand on Debian 12 (Postfix 3.7,
//! Dovecot 2.3.19): Dovecot's LMTP writes `Delivered-To` with the recipient
//! Postfix handed it after its virtual alias rewriting, and no
//! `X-Original-To` (Dovecot announces no DSN, so Postfix sends no ORCPT).
//! So tests/mailstack maps billing@ and help@queues.example.test to
//! desk+billing@ and desk+help@ (one mailbox, the address kept as a
//! +detail), and the desk's queues list those as aliases.

use std::time::Duration;

use crate::support::stack::{mail, stack, unique};
use crate::support::{Desk, wait_until};

const DOMAIN: &str = "queues.example.test";

fn queue_desk(stack: &crate::support::stack::Stack) -> Desk {
    let text = format!(
        r#"[service]
name = "Queue Desk"
address = "desk@{DOMAIN}"
ticket_prefix = "HELP"
database = "var/postdesk.db"

[[source]]
name = "desk-imap"
kind = "imap"
host = "localhost"
port = {port}
tls = "starttls"
user = "{login}"
password_file = "pw"
ca_file = "{ca}"
timeout = "10s"
poll = "500ms"

[transport]
kind = "smtp"
host = "127.0.0.1"
port = {smtp}
tls = "none"
timeout = "10s"

[staff]
notify = ["team@{DOMAIN}"]

[[queue]]
name = "help"
address = "help@{DOMAIN}"
aliases = ["desk+help@{DOMAIN}"]

[[queue]]
name = "billing"
address = "billing@{DOMAIN}"
aliases = ["desk+billing@{DOMAIN}"]
display_name = "Queue Desk Billing"
ticket_prefix = "BILL"

[intake]
unknown_sender = "accept"
"#,
        port = stack.imap_port,
        login = stack.login(&format!("desk@{DOMAIN}")),
        ca = stack.ca_cert.display(),
        smtp = stack.smtp_port,
    );
    let desk = Desk::with_config(&text);
    std::fs::write(desk.path("pw"), format!("{}\n", stack.master_password)).unwrap();
    desk
}

#[test]
fn two_addresses_one_mailbox_routed_by_delivered_to() {
    let Some(stack) = stack() else { return };
    let desk = queue_desk(&stack);
    let customer = format!("{}@customer.example.test", unique("ann").to_lowercase());
    let daemon = desk.start();

    // Sent to billing@ but its header says help@ (a Bcc, a forward): only
    // the envelope knows, and Postfix's delivery wrote it.
    let bcc_id = format!("{}@customer.example.test", unique("bcc"));
    let raw = mail(
        &customer,
        &format!("help@{DOMAIN}"),
        "Invoice",
        &bcc_id,
        "My invoice.",
    );
    stack.send(&customer, &format!("billing@{DOMAIN}"), &raw);
    // Sent to help@.
    let help_id = format!("{}@customer.example.test", unique("help"));
    let raw = mail(
        &customer,
        &format!("help@{DOMAIN}"),
        "Login",
        &help_id,
        "Cannot log in.",
    );
    stack.send(&customer, &format!("help@{DOMAIN}"), &raw);

    let billing = desk.wait_ticket(&bcc_id, Duration::from_secs(30));
    let help = desk.wait_ticket(&help_id, Duration::from_secs(30));
    let show =
        |n: postdesk::domain::TicketId| desk.json(&["ticket", "show", &n.to_string(), "--json"]);
    assert_eq!(show(billing)["queue"], "billing");
    assert_eq!(show(help)["queue"], "help");
    let history = show(billing)["history"].to_string();
    assert!(
        history.contains("queue billing (by its envelope recipient)"),
        "{history}"
    );

    // Each receipt leaves from its queue's address, through Postfix.
    let receipt = stack.wait_for_mail(
        &customer,
        "INBOX",
        &format!("[BILL #{billing}]"),
        Duration::from_secs(30),
    );
    assert!(receipt.contains(&format!("billing@{DOMAIN}")), "{receipt}");
    let from_line = receipt
        .lines()
        .find(|l| l.starts_with("From:"))
        .unwrap_or_default()
        .to_string();
    assert!(
        from_line.contains(&format!("billing@{DOMAIN}")),
        "{from_line}"
    );
    let receipt = stack.wait_for_mail(
        &customer,
        "INBOX",
        &format!("[HELP #{help}]"),
        Duration::from_secs(30),
    );
    let from_line = receipt
        .lines()
        .find(|l| l.starts_with("From:"))
        .unwrap_or_default()
        .to_string();
    assert!(from_line.contains(&format!("help@{DOMAIN}")), "{from_line}");

    // Both were taken from the one mailbox.
    wait_until("the mailbox emptied", Duration::from_secs(30), || {
        (stack.inbox_count(&format!("desk@{DOMAIN}")) == 0).then_some(())
    });
    daemon.stop();
}
