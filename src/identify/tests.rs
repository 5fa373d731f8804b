use std::collections::HashMap;
use std::convert::Infallible;

use super::*;
use crate::domain::Mailbox;

/// The directory as a few maps; grants are every rule of every account,
/// so identify's exact comparison is what is tested.
#[derive(Default)]
struct Map {
    accounts: Vec<(AccountFacts, Address, Vec<SenderPattern>)>,
    tickets: HashMap<i64, Option<&'static str>>,
    participants: Vec<(i64, &'static str)>,
    sent: Vec<(i64, String)>,
    confirmations: Vec<String>,
    /// Staff-side mail: (Message-ID, recipient).
    staff_sent: Vec<(String, &'static str)>,
}

/// The desk's Message-IDs in these tests.
fn desk_ids() -> MessageIds {
    MessageIds::new([3; 32], "desk.example")
}

/// A Message-ID the desk made (`name` stands for its cause).
fn ours(name: &str) -> String {
    desk_ids().make(&[name])
}

fn id(s: &str) -> AccountId {
    AccountId::parse(s).unwrap()
}

impl Map {
    fn account(mut self, name: &str, primary: &str, authorized: &str) -> Map {
        self.accounts.push((
            AccountFacts {
                id: id(name),
                parent: None,
                priority: false,
                require_authentication: None,
                language: None,
            },
            Address::parse(primary).unwrap(),
            SenderPattern::parse_list(authorized).unwrap(),
        ));
        self
    }

    fn with(mut self, f: impl FnOnce(&mut AccountFacts)) -> Map {
        f(&mut self.accounts.last_mut().unwrap().0);
        self
    }
}

impl Directory for Map {
    type Error = Infallible;
    fn grants(&self, _: &Address) -> Result<Vec<Grant>, Infallible> {
        let mut out = Vec::new();
        for (facts, primary, authorized) in &self.accounts {
            out.push(Grant {
                account: facts.id.clone(),
                rule: SenderRule::Primary(primary.clone()),
            });
            for p in authorized {
                out.push(Grant {
                    account: facts.id.clone(),
                    rule: SenderRule::Authorized(p.clone()),
                });
            }
        }
        Ok(out)
    }
    fn account(&self, want: &AccountId) -> Result<Option<AccountFacts>, Infallible> {
        Ok(self
            .accounts
            .iter()
            .find(|(f, ..)| f.id == *want)
            .map(|(f, ..)| f.clone()))
    }
    fn ticket_account(&self, t: TicketId) -> Result<Option<Option<AccountId>>, Infallible> {
        Ok(self.tickets.get(&t.0).map(|a| a.map(id)))
    }
    fn is_participant(&self, t: TicketId, who: &Address) -> Result<bool, Infallible> {
        Ok(self
            .participants
            .iter()
            .any(|(n, a)| *n == t.0 && Address::parse(a).unwrap() == *who))
    }
    fn sent_on_ticket(&self, t: TicketId, ids: &[String]) -> Result<bool, Infallible> {
        Ok(self
            .sent
            .iter()
            .any(|(n, m)| *n == t.0 && ids.iter().any(|i| i == m)))
    }
    fn confirmation_sent(&self, ids: &[String]) -> Result<bool, Infallible> {
        Ok(self
            .confirmations
            .iter()
            .any(|c| ids.iter().any(|i| i == c)))
    }
    fn sent_to_staff(&self, ids: &[String], to: &[Address]) -> Result<bool, Infallible> {
        Ok(self
            .staff_sent
            .iter()
            .any(|(id, rcpt)| ids.contains(id) && to.contains(&Address::parse(rcpt).unwrap())))
    }
}

fn mail(from: &str, subject: &str, body: &str) -> Inbound {
    Inbound {
        from: Some(Mailbox {
            name: None,
            address: Address::parse(from).unwrap(),
        }),
        subject: subject.into(),
        new_text: body.into(),
        ..Inbound::default()
    }
}

struct Setup {
    token: Token,
    unknown_sender: UnknownSender,
    check_sender: bool,
    require_authentication: bool,
    authserv_configured: bool,
    matching: MatchOptions,
    released: Option<Release>,
    staff: Staff,
    ids: MessageIds,
}

impl Default for Setup {
    fn default() -> Setup {
        Setup {
            token: Token::new("DESK"),
            unknown_sender: UnknownSender::Verify,
            check_sender: true,
            require_authentication: false,
            authserv_configured: false,
            matching: MatchOptions::default(),
            released: None,
            staff: Staff::default(),
            ids: desk_ids(),
        }
    }
}

impl Setup {
    fn rules(&self) -> IdentifyRules<'_> {
        IdentifyRules {
            token: &self.token,
            unknown_sender: self.unknown_sender,
            check_sender: self.check_sender,
            require_authentication: self.require_authentication,
            authserv_configured: self.authserv_configured,
            self_service: true,
            matching: self.matching,
            released: self.released,
            staff: &self.staff,
            ids: &self.ids,
        }
    }

    fn run(&self, dir: &Map, m: &Inbound, auth: &Auth, thread: &Thread) -> Identity {
        identify(m, auth, thread, dir, &self.rules()).unwrap()
    }

    fn fresh(&self, dir: &Map, m: &Inbound) -> Identity {
        self.run(dir, m, &Auth::NotChecked, &Thread::New)
    }
}

fn opened_for(i: &Identity) -> Option<Option<String>> {
    match &i.admission {
        Admission::Open(o) => Some(o.account.as_ref().map(|a| a.to_string())),
        _ => None,
    }
}

/// Which account a new message is filed under, for senders matching
/// several accounts: the most specific rule wins, a tie is ambiguous.
#[test]
fn most_specific_match_wins_and_ties_are_ambiguous() {
    let dir = Map::default()
        .account(
            "acme",
            "boss@acme.example",
            "ops@acme.example, acme.example",
        )
        .account(
            "acme-eu",
            "eu-boss@acme.example",
            "*.acme.example, ops@acme.example",
        )
        .account("shared-a", "a@a.example", "partner.example")
        .account("shared-b", "b@b.example", "partner.example")
        .account("deep", "d@d.example", "*.eu.acme.example");
    let s = Setup::default();
    #[rustfmt::skip]
    let cases: &[(&str, Option<&str>)] = &[
        ("boss@acme.example",       Some("acme")),     // primary beats domain of acme-eu? (no: primary of acme)
        ("eu-boss@acme.example",    Some("acme-eu")),  // primary beats acme's domain rule
        ("EU-BOSS@ACME.example",    Some("acme-eu")),
        ("anyone@acme.example",     Some("acme")),     // domain: acme only
        ("x@fr.acme.example",       Some("acme-eu")),  // wildcard
        ("x@a.eu.acme.example",     Some("deep")),     // the longer wildcard
        ("x@partner.example",       None),             // a tie: no account
    ];
    for &(from, want) in cases {
        let got = s.fresh(&dir, &mail(from, "Hello", "x"));
        assert_eq!(
            opened_for(&got),
            Some(want.map(String::from)),
            "{from}: {got:?}"
        );
    }
    // ops@acme.example is an address entry of two accounts: ambiguous, shown to staff.
    let got = s.fresh(&dir, &mail("ops@acme.example", "Hello", "x"));
    assert_eq!(
        got.sender,
        Sender::Ambiguous {
            accounts: vec![id("acme"), id("acme-eu")]
        }
    );
    let Admission::Open(o) = &got.admission else {
        panic!("{got:?}")
    };
    assert_eq!(o.account, None);
    assert_eq!(o.candidates, [id("acme"), id("acme-eu")]);
    assert!(got.notes[0].contains("equally well"), "{:?}", got.notes);
    // A stranger is one.
    let got = s.fresh(&dir, &mail("who@else.example", "Hello", "x"));
    assert_eq!(got.sender, Sender::Stranger { claimed: None });
    assert_eq!(
        got.admission,
        Admission::Verify {
            refers_to: None,
            known: false
        }
    );
}

#[test]
fn plus_tags_and_case_follow_the_config() {
    let dir = Map::default().account("a", "Ann@a.example", "ops@b.example");
    let mut s = Setup::default();
    let who = |s: &Setup, from: &str| opened_for(&s.fresh(&dir, &mail(from, "x", "x")));
    assert_eq!(who(&s, "ann@A.example"), Some(Some("a".into())));
    assert_eq!(
        who(&s, "ops+urgent@b.example"),
        None,
        "a tag is a different address by default"
    );
    s.matching.ignore_plus_tags = true;
    assert_eq!(who(&s, "ops+urgent@b.example"), Some(Some("a".into())));
    s.matching.case_sensitive_local_part = true;
    assert_eq!(who(&s, "ann@a.example"), None);
    assert_eq!(who(&s, "Ann@A.EXAMPLE"), Some(Some("a".into())));
}

#[test]
fn unknown_sender_policies() {
    let dir = Map::default();
    let m = mail("who@else.example", "Hello", "x");
    let mut s = Setup::default();
    for (policy, want) in [
        (
            UnknownSender::Verify,
            Admission::Verify {
                refers_to: None,
                known: false,
            },
        ),
        (UnknownSender::Reject, Admission::Reject { refers_to: None }),
        (
            UnknownSender::Accept,
            Admission::Open(Opening {
                unverified: true,
                ..Opening::default()
            }),
        ),
    ] {
        s.unknown_sender = policy;
        assert_eq!(s.fresh(&dir, &m).admission, want, "{policy:?}");
    }
    // Released (by an operator, or by the code): a ticket, marked unverified.
    s.unknown_sender = UnknownSender::Reject;
    s.released = Some(Release::Confirmed);
    assert!(matches!(
        s.fresh(&dir, &m).admission,
        Admission::Open(Opening {
            unverified: true,
            ..
        })
    ));
}

/// Staff come before accounts, by address or alias, and only proven:
/// a genuine From where our MTA's verdict can be had, else an answer to
/// a mail we sent the staff, else a confirmation by the member.
#[test]
fn staff_are_recognised_before_accounts_and_must_be_proven() {
    use crate::config::StaffMember;
    let mut dir = Map::default().account("desk", "boss@desk.example", "desk.example");
    dir.staff_sent = vec![
        (ours("notify-3"), "team@desk.example"),
        (ours("error-3"), "alice@desk.example"),
        (ours("notify-bob"), "bob@desk.example"),
    ];
    let staff = Staff {
        notify: vec![Address::parse("team@desk.example").unwrap()],
        members: vec![StaffMember {
            name: "Alice".into(),
            address: Address::parse("alice@desk.example").unwrap(),
            aliases: vec![Address::parse("a.smith@desk.example").unwrap()],
        }],
        ..Staff::default()
    };
    let follow = Thread::FollowUp {
        ticket: TicketId(3),
        link: Link::Token,
    };
    let alice = || Sender::Staff {
        name: "Alice".into(),
        address: Address::parse("alice@desk.example").unwrap(),
    };
    let held = || Admission::Verify {
        refers_to: Some(TicketId(3)),
        known: true,
    };
    let answering = |from: &str, ids: &[String]| {
        let mut m = mail(from, "Re: x", "#close");
        m.in_reply_to = ids.to_vec();
        m
    };
    let s = Setup {
        staff: staff.clone(),
        ..Setup::default()
    };
    #[rustfmt::skip]
    let cases: Vec<(&str, Inbound, &Thread, Admission)> = vec![
        // An answer to the team's notification or to her own mail: staff,
        // on a ticket she is not on, from her address or an alias.
        ("notification", answering("alice@desk.example", &[ours("notify-3")]), &follow, Admission::FollowUp),
        ("alias", answering("A.Smith@desk.example", &[ours("notify-3")]), &follow, Admission::FollowUp),
        ("her error mail", answering("alice@desk.example", &[ours("error-3")]), &follow, Admission::FollowUp),
        ("new mail, proven", answering("alice@desk.example", &[ours("error-3")]), &Thread::New, Admission::Open(Opening::default())),
        // Nothing of ours, somebody else's, a forged id: held for her to confirm.
        ("no proof", mail("alice@desk.example", "Re: x", "#close"), &follow, held()),
        ("bob's mail", answering("alice@desk.example", &[ours("notify-bob")]), &follow, held()),
        ("forged id", answering("alice@desk.example", &["3.staff-notify.0123456789abcdef0123@desk.example".into()]), &follow, held()),
    ];
    for (what, m, thread, admission) in &cases {
        let got = s.run(&dir, m, &Auth::NotChecked, thread);
        assert_eq!(got.sender, alice(), "{what}");
        assert_eq!(&got.admission, admission, "{what}");
    }
    // Once she confirmed (or the operator released it): staff.
    let released = Setup {
        staff: staff.clone(),
        released: Some(Release::Confirmed),
        ..Setup::default()
    };
    let got = released.run(
        &dir,
        &mail("alice@desk.example", "Re: x", "#close"),
        &Auth::NotChecked,
        &follow,
    );
    assert_eq!(got.admission, Admission::FollowUp);
    // With an authserv-id: a pass is staff without more; a failure needs
    // the same proof.
    let s = Setup {
        staff,
        authserv_configured: true,
        ..Setup::default()
    };
    let plain = mail("alice@desk.example", "Re: x", "#close");
    let got = s.run(&dir, &plain, &Auth::Pass("dmarc=pass".into()), &follow);
    assert_eq!((got.sender, got.admission), (alice(), Admission::FollowUp));
    for auth in [Auth::Fail("dmarc=fail".into()), Auth::NoResult] {
        let got = s.run(&dir, &plain, &auth, &follow);
        assert_eq!(got.admission, held(), "{auth:?}");
        assert!(
            got.notes[0].contains("not shown genuine"),
            "{:?}",
            got.notes
        );
    }
    let proof = answering("alice@desk.example", &[ours("notify-3")]);
    let got = s.run(&dir, &proof, &Auth::NoResult, &follow);
    assert_eq!(got.admission, Admission::FollowUp, "unstamped, but proven");
    let got = s.run(&dir, &proof, &Auth::Fail("dmarc=fail".into()), &follow);
    assert_eq!(
        got.admission,
        held(),
        "our MTA says forged: the id is not enough"
    );
    // Automatic mail from a staff address is nobody's proof of anything.
    let mut auto = plain.clone();
    auto.class = crate::domain::MailClass::AutoReply("Auto-Submitted".into());
    let got = s.run(&dir, &auto, &Auth::NoResult, &follow);
    assert!(matches!(got.sender, Sender::Account { .. }), "{got:?}");
}

#[test]
fn required_authentication_makes_a_forged_from_a_stranger() {
    let dir = Map::default()
        .account("strict", "boss@strict.example", "strict.example")
        .with(|f| f.require_authentication = Some(true))
        .account("lax", "boss@lax.example", "")
        .with(|f| f.require_authentication = Some(false));
    let s = Setup {
        authserv_configured: true,
        ..Setup::default()
    };
    let pass = Auth::Pass("dmarc=pass".into());
    let fail = Auth::Fail("dmarc=fail".into());
    let m = mail("x@strict.example", "Hello", "x");
    let got = s.run(&dir, &m, &pass, &Thread::New);
    assert_eq!(opened_for(&got), Some(Some("strict".into())));
    for auth in [fail.clone(), Auth::NoResult] {
        let got = s.run(&dir, &m, &auth, &Thread::New);
        assert_eq!(
            got.sender,
            Sender::Stranger {
                claimed: Some(id("strict"))
            },
            "{auth:?}"
        );
        assert_eq!(
            got.admission,
            Admission::Verify {
                refers_to: None,
                known: false
            }
        );
        assert!(
            got.notes[0].contains("requires authentication"),
            "{:?}",
            got.notes
        );
    }
    // The global switch, overridden per account.
    let s = Setup {
        authserv_configured: true,
        require_authentication: true,
        ..Setup::default()
    };
    let got = s.run(
        &dir,
        &mail("boss@lax.example", "Hello", "x"),
        &fail,
        &Thread::New,
    );
    assert_eq!(opened_for(&got), Some(Some("lax".into())));
    let dir = dir.account("default", "boss@default.example", "");
    let got = s.run(
        &dir,
        &mail("boss@default.example", "Hello", "x"),
        &fail,
        &Thread::New,
    );
    assert!(matches!(got.sender, Sender::Stranger { .. }), "{got:?}");
}

#[test]
fn isp_opens_tickets_for_its_children_only() {
    let dir = Map::default()
        .account("isp-01", "noc@isp.example", "isp.example")
        .account("cust-1", "admin@cust1.example", "")
        .with(|f| {
            f.parent = Some(id("isp-01"));
            f.language = Some(Language::Fr);
            f.priority = true;
        })
        .account("cust-2", "admin@cust2.example", "");
    let s = Setup::default();
    for (subject, body) in [
        ("Mail down", "Account: cust-1\nHello, ..."),
        ("Mail down", "\n  account : CUST-1  \nHello"),
        ("[account cust-1] Mail down", "Hello"),
    ] {
        let got = s.fresh(&dir, &mail("tech@isp.example", subject, body));
        assert_eq!(
            got.sender,
            Sender::Account {
                account: id("cust-1"),
                how: How::Parent {
                    parent: id("isp-01")
                }
            },
            "{subject} / {body:?}"
        );
        let Admission::Open(o) = &got.admission else {
            panic!("{got:?}")
        };
        assert_eq!(
            (o.language, o.priority, o.unverified),
            (Some(Language::Fr), true, false)
        );
    }
    // Not a child of the ISP, or no such account: refused, whoever it is.
    for named in ["cust-2", "nobody"] {
        let got = s.fresh(
            &dir,
            &mail("tech@isp.example", "x", &format!("Account: {named}\nHi")),
        );
        assert_eq!(
            got.admission,
            Admission::RefuseAccount {
                named: named.into()
            }
        );
    }
    // The "Account:" line must be the first line: later mentions do nothing.
    let got = s.fresh(&dir, &mail("tech@isp.example", "x", "Hi\nAccount: cust-2"));
    assert_eq!(opened_for(&got), Some(Some("isp-01".into())));
    // A stranger naming an account is still a stranger.
    let got = s.fresh(&dir, &mail("x@nowhere.example", "x", "Account: cust-1"));
    assert_eq!(
        got.admission,
        Admission::Verify {
            refers_to: None,
            known: false
        }
    );
    // Released by an operator after a refusal: filed under the sender's own account.
    let released = Setup {
        released: Some(Release::Operator),
        ..Setup::default()
    };
    let got = released.fresh(&dir, &mail("tech@isp.example", "x", "Account: cust-2"));
    assert_eq!(opened_for(&got), Some(Some("isp-01".into())));
}

#[test]
fn follow_up_rule() {
    let mut dir = Map::default()
        .account("acme", "boss@acme.example", "acme.example")
        .account("isp", "noc@isp.example", "")
        .account("child", "c@child.example", "")
        .with(|f| f.parent = Some(id("isp")))
        .account("other", "x@other.example", "");
    dir.tickets = HashMap::from([(1, Some("acme")), (2, Some("child")), (3, None)]);
    dir.participants = vec![(1, "cc@friend.example")];
    dir.sent = vec![(1, ours("receipt-1"))];
    let receipt_1 = ours("receipt-1");
    let receipt_9 = ours("receipt-9");
    // The old computable form, or another desk's: they name nothing.
    let forged = "1.receipt.0123456789abcdef0123@desk.example";
    dir.sent.push((1, forged.to_string()));
    let other_desk = MessageIds::new([4; 32], "desk.example").make(&["receipt-1"]);
    dir.sent.push((1, other_desk.clone()));
    let token = |n| Thread::FollowUp {
        ticket: TicketId(n),
        link: Link::Token,
    };
    let s = Setup::default();
    let reply = |from: &str, refs: &[&str]| {
        let mut m = mail(from, "Re: [DESK #1] x", "more");
        m.references = refs.iter().map(|r| r.to_string()).collect();
        m
    };
    #[rustfmt::skip]
    let cases: Vec<(&str, Inbound, Thread, bool)> = vec![
        ("authorized for the account", reply("ann@acme.example", &[]), token(1), true),
        ("participant",                 reply("cc@friend.example", &[]), token(1), true),
        ("got our mail (References)",   reply("colleague@else.example", &[&receipt_1]), token(1), true),
        ("a computed Message-ID",       reply("evil@else.example", &[forged]), token(1), false),
        ("another desk's Message-ID",   reply("evil@else.example", &[&other_desk]), token(1), false),
        ("token alone, stranger",       reply("evil@else.example", &[]), token(1), false),
        ("our mail of another ticket",  reply("evil@else.example", &[&receipt_9]), token(1), false),
        ("ISP on a child's ticket",     reply("noc@isp.example", &[]), token(2), true),
        ("ticket without account",      reply("ann@acme.example", &[]), token(3), false),
        ("bounce of our mail",          reply("mailer-daemon@else.example", &[]),
                                        Thread::FollowUp { ticket: TicketId(1), link: Link::BouncedOriginal }, true),
    ];
    for (what, m, thread, want) in cases {
        let got = s.run(&dir, &m, &Auth::NotChecked, &thread);
        assert_eq!(
            got.admission == Admission::FollowUp,
            want,
            "{what}: {got:?}"
        );
    }
    // The stranger's token message is a stranger's message (policy), referring to the ticket.
    let got = s.run(
        &dir,
        &reply("evil@else.example", &[]),
        &Auth::NotChecked,
        &token(1),
    );
    assert_eq!(
        got.admission,
        Admission::Verify {
            refers_to: Some(TicketId(1)),
            known: false,
        }
    );
    assert!(got.notes[0].contains("not on that ticket"));
    // A customer of another account gets a ticket of their own account.
    let got = s.run(
        &dir,
        &reply("x@other.example", &[]),
        &Auth::NotChecked,
        &token(1),
    );
    let Admission::Open(o) = &got.admission else {
        panic!("{got:?}")
    };
    assert_eq!(
        (o.account.clone(), o.refers_to),
        (Some(id("other")), Some(TicketId(1)))
    );
    // check_sender = false: the token alone suffices.
    let off = Setup {
        check_sender: false,
        ..Setup::default()
    };
    let got = off.run(
        &dir,
        &reply("evil@else.example", &[]),
        &Auth::NotChecked,
        &token(1),
    );
    assert_eq!(got.admission, Admission::FollowUp);
}

#[test]
fn confirmations_are_recognised_first() {
    let dir = Map {
        confirmations: vec![ours("confirm")],
        tickets: HashMap::from([(1, None)]),
        ..Map::default()
    };
    let s = Setup::default();
    let m = mail(
        "who@else.example",
        "Re: [DESK confirm 7G4K-X2PD-9QHT] Re: [DESK #1] x",
        "yes",
    );
    let got = s.run(
        &dir,
        &m,
        &Auth::NotChecked,
        &Thread::FollowUp {
            ticket: TicketId(1),
            link: Link::Token,
        },
    );
    assert_eq!(
        got.admission,
        Admission::Confirm {
            code: Some("7G4KX2PD9QHT".into())
        }
    );
    let mut m = mail("who@else.example", "Re: mangled subject", "yes");
    m.in_reply_to = vec![ours("confirm")];
    assert_eq!(
        s.fresh(&dir, &m).admission,
        Admission::Confirm { code: None }
    );
    // Not when the held message itself is taken in again.
    let released = Setup {
        released: Some(Release::Confirmed),
        ..Setup::default()
    };
    assert!(matches!(
        released.fresh(&dir, &m).admission,
        Admission::Open(_)
    ));
}

#[test]
fn self_service_from_the_primary_only() {
    let dir = Map::default()
        .account(
            "acme",
            "boss@acme.example",
            "ops@acme.example, acme.example",
        )
        .account("acme2", "boss@acme.example", "");
    let body = "add new@acme.example, partner.example\nremove ops@acme.example\nlist\nHi there\n-- \nBoss\nadd x.example";
    // Without a genuine From, the primary address confirms first.
    let unproven = Setup::default();
    let got = unproven.fresh(
        &dir,
        &mail("boss@acme.example", "Re: Authorized Senders", body),
    );
    assert_eq!(
        got.admission,
        Admission::Verify {
            refers_to: None,
            known: true
        }
    );
    // Confirmed: applied.
    let s = Setup {
        released: Some(Release::Confirmed),
        ..Setup::default()
    };
    let got = s.fresh(
        &dir,
        &mail("boss@acme.example", "Re: Authorized Senders", body),
    );
    let want = vec![
        SelfServiceCommand::Add(SenderPattern::parse("new@acme.example").unwrap()),
        SelfServiceCommand::Add(SenderPattern::parse("partner.example").unwrap()),
        SelfServiceCommand::Remove(SenderPattern::parse("ops@acme.example").unwrap()),
        SelfServiceCommand::List,
        SelfServiceCommand::Unknown("Hi there".into()),
    ];
    assert_eq!(
        got.admission,
        Admission::SelfService {
            accounts: vec![id("acme"), id("acme2")],
            commands: want.clone()
        }
    );
    // Naming one of them.
    let got = s.fresh(
        &dir,
        &mail(
            "boss@acme.example",
            "authorized senders",
            &format!("Account: acme2\n{body}"),
        ),
    );
    assert!(
        matches!(&got.admission, Admission::SelfService { accounts, .. } if accounts == &[id("acme2")])
    );
    // Authorized, but not the primary: refused, and told.
    let got = s.fresh(&dir, &mail("ops@acme.example", "authorized senders", body));
    assert_eq!(got.admission, Admission::RefuseSelfService);
    let got = s.fresh(&dir, &mail("x@nowhere.example", "authorized senders", body));
    assert_eq!(got.admission, Admission::RefuseSelfService);
    // A forged primary where authentication can be checked: held until
    // the real primary address confirms.
    let checked = Setup {
        authserv_configured: true,
        ..Setup::default()
    };
    for auth in [Auth::Fail("dmarc=fail".into()), Auth::NoResult] {
        let got = checked.run(
            &dir,
            &mail("boss@acme.example", "authorized senders", body),
            &auth,
            &Thread::New,
        );
        assert!(
            matches!(got.admission, Admission::Verify { known: true, .. }),
            "{got:?}"
        );
    }
    let got = checked.run(
        &dir,
        &mail("boss@acme.example", "authorized senders", body),
        &Auth::Pass("dmarc=pass".into()),
        &Thread::New,
    );
    assert!(matches!(got.admission, Admission::SelfService { .. }));
    // Another subject is an ordinary ticket.
    let got = s.fresh(
        &dir,
        &mail("boss@acme.example", "authorized senders please", body),
    );
    assert!(matches!(got.admission, Admission::Open(_)));
}
