//! Mail loops end. Desks and robots exchange mail by moving files between
//! their Maildirs — the sent mail of one is the inbox of another — each
//! desk taking its inbox with `postdesk ingest --maildir --remove`, round
//! after round, until no mail moves (or a bound is hit, which fails the
//! test). The rounds and every mail that went are counted.

use std::collections::BTreeMap;

use crate::support::{ADDRESS, Desk, drop_into_maildir, files_in};
use mail_parser::MessageParser;

const OTHER: &str = "help@other.example";

/// Where mail to an address goes in the little world of a test.
enum Mailbox<'a> {
    Desk(&'a Desk),
    /// A program answering mail: given a mail, returns its answer, if any.
    Robot(&'a dyn Fn(&[u8]) -> Option<Vec<u8>>),
}

struct World<'a> {
    boxes: Vec<(&'a str, Mailbox<'a>)>,
    /// Mails delivered per recipient address.
    delivered: BTreeMap<String, usize>,
    counter: usize,
}

impl<'a> World<'a> {
    fn new(boxes: Vec<(&'a str, Mailbox<'a>)>) -> World<'a> {
        World {
            boxes,
            delivered: BTreeMap::new(),
            counter: 0,
        }
    }

    fn desks(&self) -> Vec<&'a Desk> {
        self.boxes
            .iter()
            .filter_map(|(_, b)| match b {
                Mailbox::Desk(d) => Some(*d),
                Mailbox::Robot(_) => None,
            })
            .collect()
    }

    /// Hands `raw` to the mailbox of `to` (or to nobody: it is counted).
    fn deliver(&mut self, to: &str, raw: &[u8]) -> bool {
        *self.delivered.entry(to.to_string()).or_default() += 1;
        self.counter += 1;
        let name = format!("m{:06}.test", self.counter);
        let Some((_, b)) = self.boxes.iter().find(|(a, _)| a.eq_ignore_ascii_case(to)) else {
            return false;
        };
        match b {
            Mailbox::Desk(d) => {
                drop_into_maildir(&d.path("var/inbox"), &name, raw);
                true
            }
            Mailbox::Robot(answer) => match answer(raw) {
                Some(reply) => {
                    let to = recipients(&reply);
                    for r in to {
                        self.deliver(&r, &reply);
                    }
                    true
                }
                None => false,
            },
        }
    }

    /// Runs rounds until no mail moves; returns how many rounds it took.
    fn run(&mut self, bound: usize) -> usize {
        for round in 1..=bound {
            for d in self.desks() {
                let out = d.run(
                    &[
                        "ingest",
                        "-q",
                        "--remove",
                        "--maildir",
                        d.path("var/inbox").to_str().unwrap(),
                    ],
                    b"",
                );
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            let mut moved = false;
            for d in self.desks() {
                for file in files_in(&d.path("var/sent/new")) {
                    let raw = std::fs::read(&file).unwrap();
                    let done = d.path("var/sent/cur").join(file.file_name().unwrap());
                    std::fs::rename(&file, done).unwrap();
                    for to in recipients(&raw) {
                        self.deliver(&to, &raw);
                        moved = true;
                    }
                }
            }
            if !moved {
                return round;
            }
        }
        for d in self.desks() {
            let rows = d.json(&["outbox", "list", "--json", "--limit", "100000"]);
            let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
            for m in rows.as_array().unwrap() {
                *kinds
                    .entry(format!("{} {}", m["kind"].as_str().unwrap(), m["rcpt"]))
                    .or_default() += 1;
            }
            eprintln!("outbox of {}: {kinds:?}", d.config.display());
        }
        panic!(
            "the exchange did not stop within {bound} rounds: {:?}",
            self.delivered
        );
    }

    fn count(&self, to: &str) -> usize {
        self.delivered.get(to).copied().unwrap_or(0)
    }
}

fn recipients(raw: &[u8]) -> Vec<String> {
    let m = MessageParser::default().parse(raw).expect("mail parses");
    let mut out = Vec::new();
    for list in [m.to(), m.cc()].into_iter().flatten() {
        for a in list.iter() {
            if let Some(addr) = a.address() {
                out.push(addr.to_ascii_lowercase());
            }
        }
    }
    out
}

fn header(raw: &[u8], name: &str) -> Option<String> {
    let m = MessageParser::default().parse(raw)?;
    m.header_raw(name).map(|v| v.trim().to_string())
}

/// A second desk: its own address and token.
fn other_desk(extra: &str) -> Desk {
    let desk = Desk::with_extra(extra);
    let text = std::fs::read_to_string(&desk.config).unwrap();
    let text = text
        .replace(ADDRESS, OTHER)
        .replace("ticket_prefix = \"DESK\"", "ticket_prefix = \"OTHER\"")
        .replace("name = \"Test Desk\"", "name = \"Other Desk\"");
    std::fs::write(&desk.config, text).unwrap();
    desk
}

fn mail(from: &str, to: &str, subject: &str, id: &str, extra: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: Mon, 16 Nov 2026 10:00:00 +0100\r\n\
Message-ID: <{id}>\r\n{extra}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// The answer a person or a mail rule writes to `raw`, from `me`: `Re:`,
/// threaded, `body` on top.
fn answer(raw: &[u8], me: &str, body: &str, extra: &str, n: usize) -> Vec<u8> {
    let m = MessageParser::default().parse(raw).unwrap();
    let to = m
        .reply_to()
        .or(m.from())
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .unwrap()
        .to_string();
    let id = m.message_id().unwrap_or("none");
    let subject = m.subject().unwrap_or_default();
    mail(
        me,
        &to,
        &format!("Re: {subject}"),
        &format!("answer-{n}@{}", me.split('@').nth(1).unwrap()),
        &format!("In-Reply-To: <{id}>\r\nReferences: <{id}>\r\n{extra}"),
        body,
    )
}

const STAFF: &str = r#"
[staff]
notify = ["team@desk.example"]

[[staff.member]]
name = "Alice"
address = "alice@desk.example"

[intake]
unmatched_automatic = "ticket"
"#;

/// Two postdesk desks writing to each other — the worst case, each opening
/// tickets for the other's automatic mail — and their staff answering: the
/// exchange stops after every step, with one mail each way at most.
#[test]
fn two_desks_writing_to_each_other_stop() {
    let a = Desk::with_extra(STAFF);
    let b = other_desk(&STAFF.replace("desk.example", "other.example"));
    let mut world = World::new(vec![
        (ADDRESS, Mailbox::Desk(&a)),
        (OTHER, Mailbox::Desk(&b)),
    ]);

    // B's address writes to A (someone at B forwarded a question).
    world.deliver(
        ADDRESS,
        &mail(
            OTHER,
            ADDRESS,
            "Question",
            "q1@other.example",
            "",
            "Can you help?",
        ),
    );
    let rounds = world.run(20);
    // A: ticket, receipt to B, notification to A's team. B: the receipt is
    // automatic: a ticket (unmatched_automatic = "ticket") but no answer.
    assert_eq!(world.count(OTHER), 1, "{:?}", world.delivered);
    assert_eq!(world.count(ADDRESS), 1);
    assert!(rounds <= 3, "{rounds}");
    assert_eq!(a.tickets().len(), 1);
    assert_eq!(b.tickets().len(), 1);

    // A's staff answer A's ticket: the relay goes to B, which opens a
    // ticket for it (it looks like a person's mail) and sends a receipt,
    // which A files on its ticket without answering.
    let notify = files_in(&a.path("var/sent/cur"))
        .into_iter()
        .map(|p| std::fs::read(p).unwrap())
        .find(|raw| recipients(raw) == ["team@desk.example"])
        .unwrap();
    world.deliver(
        ADDRESS,
        &answer(&notify, "alice@desk.example", "Sure, here is how.", "", 1),
    );
    world.run(20);
    assert_eq!(world.count(OTHER), 2, "the relay: {:?}", world.delivered);
    assert_eq!(world.count(ADDRESS), 3, "Alice's mail and B's receipt");
    assert_eq!(a.tickets().len(), 1);
    assert_eq!(b.tickets().len(), 2);

    // B's staff answer B's ticket: the relay goes to A, where it carries
    // A's token: a follow-up from A's customer, told to A's team only.
    let b_notify = files_in(&b.path("var/sent/cur"))
        .into_iter()
        .map(|p| std::fs::read(p).unwrap())
        .rfind(|raw| recipients(raw) == ["team@other.example"])
        .unwrap();
    world.deliver(
        OTHER,
        &answer(&b_notify, "alice@other.example", "Thanks!", "", 2),
    );
    world.run(20);
    assert_eq!(world.count(ADDRESS), 4, "B's relay: {:?}", world.delivered);
    assert_eq!(
        world.count(OTHER),
        3,
        "only Alice's mail: nothing went back"
    );
    assert_eq!(a.tickets().len(), 1);
    assert_eq!(b.tickets().len(), 2);
    // Every mail between them carried its sender's loop header.
    for d in [&a, &b] {
        for f in files_in(&d.path("var/sent/cur")) {
            let raw = std::fs::read(f).unwrap();
            assert!(header(&raw, "X-Postdesk-Loop").is_some());
        }
    }
}

/// A broken autoresponder that answers everything with a fresh subject
/// and no RFC 3834 header (it looks like a person opening a new ticket
/// each time): the receipts stop at `max_auto_replies_per_day`.
#[test]
fn an_autoresponder_answering_everything_stops_at_the_daily_limit() {
    let desk = Desk::with_extra(STAFF);
    let n = std::cell::Cell::new(0);
    let robot = |_: &[u8]| -> Option<Vec<u8>> {
        n.set(n.get() + 1);
        Some(mail(
            "robot@robot.example",
            ADDRESS,
            &format!("We received your message (case {})", n.get()),
            &format!("case-{}@robot.example", n.get()),
            "",
            "Thank you for writing to us.",
        ))
    };
    let mut world = World::new(vec![
        (ADDRESS, Mailbox::Desk(&desk)),
        ("robot@robot.example", Mailbox::Robot(&robot)),
    ]);
    world.deliver(ADDRESS, &robot(b"").unwrap());
    world.run(40);
    // Ten receipts (the default limit), then none: the eleventh ticket is
    // the last, and the robot heard nothing more.
    assert_eq!(
        world.count("robot@robot.example"),
        10,
        "{:?}",
        world.delivered
    );
    assert_eq!(desk.tickets().len(), 11);
    let t = desk.json(&["ticket", "show", "11", "--json"]);
    assert!(
        t["history"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["detail"].as_str().unwrap().contains("reach the limit")),
        "{t:#}"
    );
}

/// An autoresponder that does it right (RFC 3834 `Auto-Submitted`, the
/// subject kept) is answered by nothing: the exchange is one mail each way.
#[test]
fn a_well_behaved_autoresponder_gets_one_receipt() {
    let desk = Desk::with_extra(STAFF);
    let n = std::cell::Cell::new(0);
    let robot = |raw: &[u8]| -> Option<Vec<u8>> {
        n.set(n.get() + 1);
        Some(answer(
            raw,
            "vacation@robot.example",
            "I am away.",
            "Auto-Submitted: auto-replied\r\n",
            n.get(),
        ))
    };
    let mut world = World::new(vec![
        (ADDRESS, Mailbox::Desk(&desk)),
        ("vacation@robot.example", Mailbox::Robot(&robot)),
    ]);
    world.deliver(
        ADDRESS,
        &mail(
            "vacation@robot.example",
            ADDRESS,
            "Hello",
            "h1@robot.example",
            "",
            "Hi.",
        ),
    );
    world.run(20);
    assert_eq!(world.count("vacation@robot.example"), 1);
    assert_eq!(desk.tickets().len(), 1);
    // Its answer to the receipt is on the ticket.
    let t = desk.json(&["ticket", "show", "1", "--json"]);
    assert!(
        t["history"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["text"] == "I am away."),
        "{t:#}"
    );
}

/// The loop of mails that all look human: a staff mail rule that answers
/// every notification (a reply: relayed) and a customer robot that answers
/// every relay (a follow-up: notified). It stops at
/// `staff.max_relays_per_day`; the staff rule's answers to the desk's
/// error mails stop at `max_auto_replies_per_day`.
#[test]
fn a_loop_of_human_looking_mail_through_relays_stops() {
    let desk = Desk::with_extra(&STAFF.replace(
        "notify = [\"team@desk.example\"]",
        "notify = [\"team@desk.example\"]\nmax_relays_per_day = 5",
    ));
    let (c, s) = (std::cell::Cell::new(0), std::cell::Cell::new(0));
    let customer = |raw: &[u8]| -> Option<Vec<u8>> {
        c.set(c.get() + 1);
        Some(answer(
            raw,
            "ann@customer.example",
            "Noted, thanks.",
            "",
            c.get(),
        ))
    };
    let staff_rule = |raw: &[u8]| -> Option<Vec<u8>> {
        s.set(s.get() + 1);
        Some(answer(
            raw,
            "alice@desk.example",
            "Acknowledged.",
            "",
            1000 + s.get(),
        ))
    };
    let mut world = World::new(vec![
        (ADDRESS, Mailbox::Desk(&desk)),
        ("ann@customer.example", Mailbox::Robot(&customer)),
        // The team list is Alice, whose mail rule answers everything.
        ("team@desk.example", Mailbox::Robot(&staff_rule)),
        ("alice@desk.example", Mailbox::Robot(&staff_rule)),
    ]);
    world.deliver(
        ADDRESS,
        &mail(
            "ann@customer.example",
            ADDRESS,
            "Help",
            "h1@customer.example",
            "",
            "Help me.",
        ),
    );
    world.run(60);
    let relays = desk
        .json(&["outbox", "list", "--json", "--limit", "1000"])
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "relay")
        .count();
    assert_eq!(relays, 5, "{:?}", world.delivered);
    // Ann got her receipt and the five relays; then it stopped.
    assert_eq!(
        world.count("ann@customer.example"),
        6,
        "{:?}",
        world.delivered
    );
    // Alice's rule got the error mails about the withheld relay up to the
    // daily limit (10), then nothing.
    let errors = desk
        .json(&["outbox", "list", "--json", "--limit", "1000"])
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "staff-error")
        .count();
    assert_eq!(errors, 10, "{:?}", world.delivered);
    assert_eq!(desk.tickets().len(), 1);
}

/// Machine mail that says what it is only in a Subject, a From or a
/// vendor's header (issue 10, item 5): each kind, as (name, header lines
/// with From and Subject, body). Every sender is different, so no daily
/// limit hides an answer.
fn machine_mail() -> Vec<(&'static str, String, &'static str)> {
    let machine_text = "This message was created automatically by mail delivery software.\r\n\r\n\
A message that you sent could not be delivered to one or more of its recipients.\r\n";
    let away = "I am out of the office until Monday.";
    #[rustfmt::skip]
    let kinds: Vec<(&str, &str, &str)> = vec![
        ("Undeliverable from postmaster", "From: postmaster@mx1.example\r\nSubject: Undeliverable: Printer on fire", "Delivery failed."),
        ("DSN (Failure) from MAILER-DAEMON", "From: Mail Delivery Subsystem <mailer-daemon@mx2.example>\r\nSubject: Delivery Status Notification (Failure)", "Address not found."),
        ("Mail delivery failed, null sender", "Return-Path: <>\r\nFrom: Ann Person <ann@mx3.example>\r\nSubject: Mail delivery failed: returning message to sender", "Sorry."),
        ("Returned mail, mail system's name", "From: Mail Delivery System <bounces@mx4.example>\r\nSubject: Returned mail: see transcript for details", "See below."),
        ("Non remis from Exchange", "From: Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@mx5.example>\r\nSubject: Non remis : Printer on fire", "Échec de la remise."),
        ("Unzustellbar from postmaster", "From: postmaster@mx6.example\r\nSubject: Unzustellbar: Printer on fire", "Zustellung fehlgeschlagen."),
        ("Mancato recapito, null sender", "Return-Path: <>\r\nFrom: <robot@mx7.example>\r\nSubject: Mancato recapito: Printer on fire", "Recapito non riuscito."),
        ("No se puede entregar (es)", "From: postmaster@mx8.example\r\nSubject: No se puede entregar: Printer on fire", "Error."),
        ("Não é possível entregar (pt)", "From: postmaster@mx9.example\r\nSubject: =?UTF-8?Q?N=C3=A3o_=C3=A9_poss=C3=ADvel_entregar:_x?=", "Erro."),
        ("Onbestelbaar (nl)", "From: postmaster@mx10.example\r\nSubject: Onbestelbaar: Printer on fire", "Fout."),
        ("Niedostarczalne (pl)", "From: postmaster@mx11.example\r\nSubject: Niedostarczalne: Printer on fire", "Błąd."),
        ("Undeliverable with a mail system's text only", "From: Ann Person <ann@mx12.example>\r\nSubject: Undeliverable: Printer on fire", machine_text),
        ("X-Autogenerated", "From: <away1@robot.example>\r\nSubject: Printer on fire\r\nX-Autogenerated: Reply", away),
        ("X-AutoReply-From", "From: <away2@robot.example>\r\nSubject: Printer on fire\r\nX-AutoReply-From: away2@robot.example", away),
        ("X-Mail-Autoreply", "From: <away3@robot.example>\r\nSubject: Printer on fire\r\nX-Mail-Autoreply: yes", away),
        ("X-Autoresponse", "From: <away4@robot.example>\r\nSubject: Printer on fire\r\nX-Autoresponse: yes", away),
        ("X-Precedence: bulk", "From: <news1@robot.example>\r\nSubject: Our news\r\nX-Precedence: bulk", away),
        ("X-Precedence: junk", "From: <news2@robot.example>\r\nSubject: Our news\r\nX-Precedence: junk", away),
        ("X-Precedence: list", "From: <news3@robot.example>\r\nSubject: Our news\r\nX-Precedence: list", away),
        ("X-Auto-Response-Suppress", "From: <away5@robot.example>\r\nSubject: Printer on fire\r\nX-Auto-Response-Suppress: All", away),
    ];
    kinds
        .into_iter()
        .map(|(name, head, body)| (name, head.to_string(), body))
        .collect()
}

/// Each kind of machine mail gets nothing from the desk: no receipt
/// (`accept`), no confirmation request (the default, `verify`), no
/// refusal (`reject`), no too-large notice. A person's mail in the same
/// run, whose subject says "Undeliverable" and who writes about it, is
/// answered on each desk: the desks do answer. (A message too large to
/// read is judged by its header: there the person's subject does not open
/// with a bounce's words.)
#[test]
fn machine_mail_named_by_subject_from_or_header_gets_no_answer() {
    let person_text = "Hi, my mail to your sales team was undeliverable. Can you check?";
    let desks = [
        ("verify", Desk::strict(""), "confirmation request"),
        ("accept", Desk::with_extra(""), "receipt"),
        (
            "reject",
            Desk::strict("[intake]\nunknown_sender = \"reject\"\n"),
            "refusal",
        ),
        (
            "too large",
            Desk::with_extra("[intake]\nmax_message_size = \"3KB\"\n"),
            "too-large notice",
        ),
    ];
    for (policy, desk, answer) in &desks {
        let (padding, person) = if *policy == "too large" {
            let padding = format!("\r\n{}", "padding line\r\n".repeat(300));
            (padding, "About undeliverable mail")
        } else {
            (String::new(), "Undeliverable mail")
        };
        let person = format!("From: Bob Person <bob@customer.example>\r\nSubject: {person}");
        for (i, (name, head, body)) in machine_mail().iter().enumerate() {
            let raw = format!(
                "{head}\r\nTo: {ADDRESS}\r\nDate: Mon, 16 Nov 2026 10:00:00 +0100\r\n\
Message-ID: <m{i}@machine.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: 8bit\r\n\r\n{body}{padding}\r\n"
            );
            let out = desk.ingest(raw.as_bytes());
            assert!(out.status.success(), "{policy}, {name}: {out:?}");
            let sent = desk.sent();
            assert!(
                sent.is_empty(),
                "{policy}: {name} got a {answer}:\n{}",
                String::from_utf8_lossy(&sent[0])
            );
        }
        // The person is answered: with the same machinery, the same desk.
        let raw = format!(
            "{person}\r\nTo: {ADDRESS}\r\nDate: Mon, 16 Nov 2026 10:00:00 +0100\r\n\
Message-ID: <bob1@customer.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
{person_text}{padding}\r\n"
        );
        assert!(desk.ingest(raw.as_bytes()).status.success());
        let sent = desk.sent();
        assert_eq!(sent.len(), 1, "{policy}: the person gets a {answer}");
        assert_eq!(
            recipients(&sent[0]),
            ["bob@customer.example"],
            "{policy}: {answer}"
        );
    }
    // Under accept, the mail that only asks for no automatic answer is a
    // person's: a ticket, unanswered. The robots' mail opens none.
    let accept = &desks[1].1;
    let mut subjects: Vec<String> = accept
        .tickets()
        .iter()
        .map(|t| t["subject"].as_str().unwrap().to_string())
        .collect();
    subjects.sort();
    assert_eq!(subjects, ["Printer on fire", "Undeliverable mail"]);
}
