//! screen: the rules a parsed message passes before it may touch a ticket.
//! Decides what is held back for an operator (too large, blocked sender,
//! spam verdict, no sender), whether the message may be answered
//! automatically (RFC 3834), whether its ticket is flagged for staff
//! (priority domains), and whether its From address is genuine, by the
//! operator's own MTA's Authentication-Results (RFC 8601, see `authres`)
//! or a signature by a key or certificate the desk knows (`openpgp`,
//! `smime`, which also open encrypted and opaque signed mail first).

pub mod authres;
pub mod mime;
pub mod openpgp;
pub mod smime;

use crate::domain::{Address, HoldKind, MatchOptions, SenderPattern};
use crate::parse::{Encryption, Inbound, Signature};
use authres::Auth;

/// The attachments of a stored message as its ticket shows them: those of
/// the content an opaque S/MIME signature wraps (see `smime`), else the
/// message's own. For the stages that pass a message's files on.
pub fn attachment_files(
    raw: &[u8],
    limits: &crate::parse::ParseLimits,
) -> Vec<crate::parse::AttachmentFile> {
    match smime::unwrapped(raw) {
        Some(inner) => crate::parse::attachment_files(&inner, limits),
        None => crate::parse::attachment_files(raw, limits),
    }
}

/// The header every mail postdesk sends carries, with the support address.
pub const LOOP_HEADER: &str = "X-Postdesk-Loop";

/// What the screen lets through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Goes on to threading and identification.
    Pass {
        /// Why no automatic mail may answer it, if that is so.
        no_answer: Option<String>,
        /// From a priority domain: the ticket is flagged for staff.
        priority: bool,
        /// Whether the From address is genuine.
        auth: Auth,
    },
    /// Kept in quarantine for an operator, with the reason. A message held
    /// as [`HoldKind::TooLarge`] or [`HoldKind::Undecryptable`] also gets its sender told (once, and not
    /// when it is automatic).
    Hold { kind: HoldKind, reason: String },
}

impl Verdict {
    /// The authentication verdict, or `NotChecked` for a held message.
    pub fn auth(&self) -> Auth {
        match self {
            Verdict::Pass { auth, .. } => auth.clone(),
            Verdict::Hold { .. } => Auth::NotChecked,
        }
    }
}

/// The rules' inputs from the config.
pub struct ScreenRules<'a> {
    /// The desk's own addresses (`Config::own_addresses`): mail claiming to
    /// come from one is never answered, and mail carrying one in our loop
    /// header is our own coming back.
    pub own: &'a [Address],
    /// `intake.max_message_size`, bytes.
    pub max_size: u64,
    pub blocked_domains: &'a [SenderPattern],
    pub blocked_addresses: &'a [Address],
    pub priority_domains: &'a [SenderPattern],
    /// `(field name, value)` of the spam filter's verdict.
    pub spam_header: Option<(&'a str, &'a str)>,
    pub authserv_id: Option<&'a str>,
    pub matching: MatchOptions,
}

pub fn screen(inbound: &Inbound, rules: &ScreenRules<'_>) -> Verdict {
    let hold = |kind, reason: String| Verdict::Hold { kind, reason };
    // Size first: such a message was read for its header only.
    if inbound.size as u64 > rules.max_size {
        return hold(
            HoldKind::TooLarge,
            format!(
                "too large: {} bytes, over the limit of {} bytes (intake.max_message_size)",
                inbound.size, rules.max_size
            ),
        );
    }
    // Every mail we send carries `X-Postdesk-Loop: <our address>`; one that
    // comes back with it (an alias forwarding to us, the staff list
    // including our own address, a robot resending it) is our own mail
    // going round: kept for an operator, never taken in or answered.
    if let Some((_, v)) = inbound.headers.iter().find(|(n, v)| {
        n.eq_ignore_ascii_case(LOOP_HEADER)
            && Address::parse(v).is_ok_and(|a| rules.own.contains(&a))
    }) {
        return hold(
            HoldKind::Loop,
            format!(
                "carries our own {LOOP_HEADER}: {}: a mail we sent came back (a mail loop)",
                v.trim()
            ),
        );
    }
    let Some(from) = &inbound.from else {
        // Nobody to answer and nobody to file the ticket under.
        return hold(HoldKind::NoSender, "no valid From address".into());
    };
    let address = &from.address;
    if let Some(a) = rules
        .blocked_addresses
        .iter()
        .find(|b| b.same_mailbox(address, &rules.matching))
    {
        return hold(
            HoldKind::Blocked,
            format!("blocked sender {a} (intake.blocked_addresses)"),
        );
    }
    if let Some(d) = rules
        .blocked_domains
        .iter()
        .find(|d| d.matches(address, &rules.matching))
    {
        return hold(
            HoldKind::Blocked,
            format!("blocked sender domain {d} of {address} (intake.blocked_domains)"),
        );
    }
    if let Some((name, value)) = rules.spam_header
        && inbound
            .headers
            .iter()
            .any(|(n, v)| n.eq_ignore_ascii_case(name) && v.trim().eq_ignore_ascii_case(value))
    {
        return hold(
            HoldKind::Spam,
            format!("spam: {name}: {value} (intake.spam_header)"),
        );
    }
    if let Encryption::Failed(why) = &inbound.encryption {
        return hold(
            HoldKind::Undecryptable,
            format!("encrypted and not decrypted: {why}"),
        );
    }
    let no_answer = if rules.own.contains(address) {
        Some(format!("sent from our own address {address}"))
    } else {
        inbound
            .class
            .reason()
            .map(|why| format!("{} ({why})", inbound.class.label()))
    };
    Verdict::Pass {
        no_answer,
        priority: rules
            .priority_domains
            .iter()
            .any(|d| d.matches(address, &rules.matching)),
        auth: match &inbound.signature {
            // A good signature by a known key or certificate that carries
            // the From address shows the mail is the sender's, whatever
            // the MTA saw.
            Some(
                sig @ Signature::Good {
                    of_sender: true,
                    known: true,
                    ..
                },
            ) => Auth::Pass(sig.describe()),
            _ => authres::judge(&inbound.headers, rules.authserv_id, address),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{MailClass, Mailbox};

    fn msg(from: Option<&str>, class: MailClass) -> Inbound {
        Inbound {
            from: from.map(|a| Mailbox {
                name: None,
                address: Address::parse(a).unwrap(),
            }),
            class,
            size: 1000,
            ..Inbound::default()
        }
    }

    struct Owned {
        own: Vec<Address>,
        blocked_domains: Vec<SenderPattern>,
        blocked_addresses: Vec<Address>,
        priority: Vec<SenderPattern>,
    }

    fn owned() -> Owned {
        Owned {
            own: vec![
                Address::parse("support@desk.example").unwrap(),
                Address::parse("helpdesk@pop.desk.example").unwrap(),
            ],
            blocked_domains: SenderPattern::parse_list("spam.example, *.bad.example").unwrap(),
            blocked_addresses: vec![Address::parse("pest@ok.example").unwrap()],
            priority: SenderPattern::parse_list("vip.example, *.gov.example").unwrap(),
        }
    }

    fn rules(o: &Owned) -> ScreenRules<'_> {
        ScreenRules {
            own: &o.own,
            max_size: 10_000,
            blocked_domains: &o.blocked_domains,
            blocked_addresses: &o.blocked_addresses,
            priority_domains: &o.priority,
            spam_header: Some(("X-Spam-Flag", "YES")),
            authserv_id: Some("mx.desk.example"),
            matching: MatchOptions::default(),
        }
    }

    fn kind(v: &Verdict) -> Option<HoldKind> {
        match v {
            Verdict::Hold { kind, .. } => Some(*kind),
            Verdict::Pass { .. } => None,
        }
    }

    #[test]
    fn verdicts() {
        let o = owned();
        let rules = rules(&o);
        let v = screen(&msg(Some("ann@x.example"), MailClass::Normal), &rules);
        assert!(
            matches!(
                &v,
                Verdict::Pass {
                    no_answer: None,
                    priority: false,
                    auth: Auth::NoResult
                }
            ),
            "{v:?}"
        );
        let v = screen(&msg(None, MailClass::Normal), &rules);
        assert_eq!(kind(&v), Some(HoldKind::NoSender));
        let v = screen(
            &msg(Some("SUPPORT@desk.example"), MailClass::Normal),
            &rules,
        );
        assert!(
            matches!(v, Verdict::Pass { no_answer: Some(ref r), .. } if r.contains("own address")),
            "{v:?}"
        );
        let v = screen(
            &msg(
                Some("ann@x.example"),
                MailClass::AutoReply("Precedence: bulk".into()),
            ),
            &rules,
        );
        assert!(
            matches!(v, Verdict::Pass { no_answer: Some(ref r), .. } if r.contains("Precedence: bulk")),
            "{v:?}"
        );
    }

    /// Our own loop header with our address: held as a loop; another
    /// desk's header is that desk's business.
    #[test]
    fn our_own_loop_header_holds_the_message() {
        let o = owned();
        let rules = rules(&o);
        let with = |v: &str| {
            let mut m = msg(Some("ann@x.example"), MailClass::Normal);
            m.headers = vec![("x-postdesk-loop".to_string(), v.to_string())];
            m
        };
        for v in [
            "support@desk.example",
            " SUPPORT@desk.example ",
            "<support@desk.example>",
        ] {
            let got = screen(&with(v), &rules);
            assert_eq!(kind(&got), Some(HoldKind::Loop), "{v:?}: {got:?}");
        }
        for v in ["help@other.example", "", "garbage"] {
            let got = screen(&with(v), &rules);
            assert_eq!(kind(&got), None, "{v:?}: {got:?}");
        }
    }

    /// Blocked, spam, oversize, priority: which rule holds what.
    #[test]
    fn screen_rules_table() {
        let o = owned();
        let rules = rules(&o);
        let spam = |v: &str| vec![("X-Spam-Flag".to_string(), v.to_string())];
        #[rustfmt::skip]
        type Case<'a> = (&'a str, &'a str, usize, Vec<(String, String)>, Option<HoldKind>, bool);
        let cases: Vec<Case> = vec![
            ("plain", "ann@x.example", 1000, vec![], None, false),
            (
                "blocked domain",
                "a@spam.example",
                1000,
                vec![],
                Some(HoldKind::Blocked),
                false,
            ),
            (
                "blocked domain, case",
                "a@SPAM.Example",
                1000,
                vec![],
                Some(HoldKind::Blocked),
                false,
            ),
            (
                "not a subdomain block",
                "a@eu.spam.example",
                1000,
                vec![],
                None,
                false,
            ),
            (
                "blocked wildcard",
                "a@eu.bad.example",
                1000,
                vec![],
                Some(HoldKind::Blocked),
                false,
            ),
            (
                "wildcard not the apex",
                "a@bad.example",
                1000,
                vec![],
                None,
                false,
            ),
            (
                "blocked address",
                "Pest@ok.example",
                1000,
                vec![],
                Some(HoldKind::Blocked),
                false,
            ),
            (
                "other address there",
                "nice@ok.example",
                1000,
                vec![],
                None,
                false,
            ),
            (
                "spam verdict",
                "ann@x.example",
                1000,
                spam(" yes "),
                Some(HoldKind::Spam),
                false,
            ),
            ("not spam", "ann@x.example", 1000, spam("NO"), None, false),
            (
                "too large",
                "ann@x.example",
                10_001,
                vec![],
                Some(HoldKind::TooLarge),
                false,
            ),
            ("at the limit", "ann@x.example", 10_000, vec![], None, false),
            (
                "priority domain",
                "ceo@vip.example",
                1000,
                vec![],
                None,
                true,
            ),
            (
                "priority wildcard",
                "x@tax.gov.example",
                1000,
                vec![],
                None,
                true,
            ),
            (
                "too large beats block",
                "a@spam.example",
                20_000,
                vec![],
                Some(HoldKind::TooLarge),
                false,
            ),
        ];
        for (what, from, size, headers, want_hold, want_priority) in cases {
            let mut m = msg(Some(from), MailClass::Normal);
            m.size = size;
            m.headers = headers;
            let v = screen(&m, &rules);
            assert_eq!(kind(&v), want_hold, "{what}: {v:?}");
            if let Verdict::Pass { priority, .. } = v {
                assert_eq!(priority, want_priority, "{what}");
            }
        }
    }

    #[test]
    fn authentication_is_judged_on_the_trusted_stamps() {
        let o = owned();
        let rules = rules(&o);
        let mut m = msg(Some("ann@customer.example"), MailClass::Normal);
        m.headers = vec![(
            "Authentication-Results".into(),
            "mx.desk.example; dmarc=pass header.from=customer.example".into(),
        )];
        assert!(screen(&m, &rules).auth().is_pass());
        m.headers[0].1 = "mx.other.example; dmarc=pass header.from=customer.example".into();
        assert_eq!(screen(&m, &rules).auth(), Auth::NoResult);
    }
}
