//! thread: decides whether an inbound message continues a ticket or opens one.
//!
//! The subject token `[PREFIX #N]` wins; then the Message-IDs the message
//! answers (In-Reply-To, then References, newest first), which may name mail
//! we received or sent; then the message's own Message-ID (the same mail
//! arriving by a second route); for a bounce, the returned original.
//!
//! A Message-ID counts as one of ours only when it verifies (`msgid`): an
//! id someone computed names nothing. Threading only says which ticket a
//! message is about; whether its sender may write there is `identify`'s.

pub mod ourmail;

use std::sync::Arc;

use regex::Regex;

use crate::domain::TicketId;
use crate::domain::msgid::MessageIds;
use crate::parse::Inbound;

/// Finds and writes the subject token of one desk, e.g. `[ACME #1042]`.
#[derive(Debug, Clone)]
pub struct Token {
    prefix: String,
    pattern: Arc<Regex>,
    /// `[PREFIX confirm CODE]`: the token of a confirmation request.
    confirm: Arc<Regex>,
}

impl Token {
    /// `prefix` is validated by the config ([A-Za-z0-9_-]); it is escaped anyway.
    pub fn new(prefix: &str) -> Token {
        Token::with_known(prefix, &[])
    }

    /// A token written with `prefix` that also finds tickets named with any
    /// of `known` (the desk's other queues' prefixes, and those it used
    /// before): a ticket number is the desk's, whatever prefix carries it.
    pub fn with_known(prefix: &str, known: &[&str]) -> Token {
        let mut all = vec![regex::escape(prefix)];
        for k in known {
            let k = regex::escape(k);
            if !all.iter().any(|a| a.eq_ignore_ascii_case(&k)) {
                all.push(k);
            }
        }
        let any = all.join("|");
        // Mail clients and people mangle the token: `[acme#12]`, `[ ACME # 12 ]`,
        // `[ACME #00012]`. All of those still name ticket 12.
        let pattern = format!(r"(?i)\[\s*(?:{any})\s*#\s*0*(\d{{1,15}})\s*\]");
        let confirm = format!(
            r"(?i)\[\s*(?:{any})\s+confirm\s+([0-9a-z]{{4}})-?([0-9a-z]{{4}})-?([0-9a-z]{{4}})\s*\]"
        );
        Token {
            prefix: prefix.to_string(),
            pattern: Arc::new(Regex::new(&pattern).expect("escaped prefix makes a valid regex")),
            confirm: Arc::new(Regex::new(&confirm).expect("escaped prefix makes a valid regex")),
        }
    }

    /// The token of a confirmation request for `code`: `[ACME confirm 7G4K-X2PD-9QHT]`.
    pub fn format_confirm(&self, code: &str) -> String {
        format!("[{} confirm {}]", self.prefix, code)
    }

    /// The code of the first confirmation token in `subject`, upper case
    /// without dashes. Characters people confuse are read as the code
    /// alphabet (Crockford base32) means them: O as 0, I and L as 1.
    pub fn find_confirm(&self, subject: &str) -> Option<String> {
        let c = self.confirm.captures(subject)?;
        let code: String = (1..=3).map(|i| c[i].to_ascii_uppercase()).collect();
        Some(
            code.chars()
                .map(|ch| match ch {
                    'O' => '0',
                    'I' | 'L' => '1',
                    other => other,
                })
                .collect(),
        )
    }

    /// The first ticket number named in `subject`, if any.
    pub fn find(&self, subject: &str) -> Option<TicketId> {
        self.pattern
            .captures_iter(subject)
            .filter_map(|c| c[1].parse().ok())
            .find(|&n: &i64| n > 0)
            .map(TicketId)
    }

    /// The token for ticket `n`.
    pub fn format(&self, n: TicketId) -> String {
        format!("[{} #{}]", self.prefix, n)
    }

    /// `subject` with the token in front, unless it already carries it.
    pub fn tag_subject(&self, n: TicketId, subject: &str) -> String {
        let subject = subject.trim();
        if self.find(subject) == Some(n) {
            return subject.to_string();
        }
        let subject = if subject.is_empty() {
            "(no subject)"
        } else {
            subject
        };
        format!("{} {}", self.format(n), subject)
    }

    /// `subject` tagged as [`Token::tag_subject`] does, with `marks` (the
    /// kind of mail, `[priority]`) right after the token.
    pub fn tag_subject_marked(&self, n: TicketId, subject: &str, marks: &str) -> String {
        let tagged = self.tag_subject(n, subject);
        if marks.is_empty() {
            return tagged;
        }
        let token = self
            .pattern
            .captures_iter(&tagged)
            .find(|c| c[1].parse::<i64>().ok() == Some(n.0))
            .and_then(|c| c.get(0));
        match token {
            Some(m) => format!("{} {marks}{}", &tagged[..m.end()], &tagged[m.end()..]),
            None => tagged,
        }
    }

    /// `subject` without any ticket token of this desk (and then without
    /// the reply prefixes before it): the subject of a new ticket, which
    /// never carries another ticket's token. Unchanged when it has none.
    pub fn without_tokens(&self, subject: &str) -> String {
        if !self.pattern.is_match(subject) {
            return subject.trim().to_string();
        }
        let mut rest = self.pattern.replace_all(subject, " ").into_owned();
        // `Re: [ACME #1] Re: text`: the prefixes on both sides of a token.
        loop {
            let stripped = strip_reply_prefixes(&rest).to_string();
            if stripped == rest {
                break;
            }
            rest = stripped;
        }
        rest.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

/// Reply and forward prefixes in the languages our customers write in:
/// English, German (AW, WG), Nordic (SV, VS), French (TR), Italian (R, I).
static REPLY_PREFIX: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| {
    Regex::new(r"(?i)^\s*((re|fwd?|aw|wg|sv|vs|tr|r|i|antw|ref)\s*(\[\d+\]|\(\d+\))?\s*[:：]\s*)+")
        .expect("static regex")
});

/// The subject without leading `Re:`/`Fwd:`/`AW:`… chains, for display.
pub fn strip_reply_prefixes(subject: &str) -> &str {
    match REPLY_PREFIX.find(subject) {
        Some(m) => subject[m.end()..].trim(),
        None => subject.trim(),
    }
}

/// What the store knows that threading needs. Implemented by the store; a
/// map in tests.
pub trait Known {
    type Error;
    fn ticket_exists(&self, id: TicketId) -> Result<bool, Self::Error>;
    /// The ticket of a message we received with this Message-ID.
    fn received_ticket_of(&self, message_id: &str) -> Result<Option<TicketId>, Self::Error>;
    /// The ticket of the mail we sent with this Message-ID (verified by
    /// the caller).
    fn sent_ticket_of(&self, message_id: &str) -> Result<Option<TicketId>, Self::Error>;
    /// The ticket `id` was merged into (`#merge`), if it was.
    fn merged_into(&self, _id: TicketId) -> Result<Option<TicketId>, Self::Error> {
        Ok(None)
    }
}

/// How a follow-up was recognised, for the history and the logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    Token,
    InReplyTo(String),
    References(String),
    SameMessageId,
    BouncedOriginal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Thread {
    FollowUp { ticket: TicketId, link: Link },
    New,
}

/// The threading decision for one message. A follow-up of a ticket that
/// was merged into another goes to that one.
pub fn thread<K: Known>(
    inbound: &Inbound,
    token: &Token,
    ids: &MessageIds,
    known: &K,
) -> Result<Thread, K::Error> {
    let Thread::FollowUp { mut ticket, link } = find(inbound, token, ids, known)? else {
        return Ok(Thread::New);
    };
    // Merges are never into a merged ticket; the bound is for a hand-edited
    // database with a cycle.
    for _ in 0..16 {
        match known.merged_into(ticket)? {
            Some(next) if next != ticket => ticket = next,
            _ => break,
        }
    }
    Ok(Thread::FollowUp { ticket, link })
}

/// The ticket a Message-ID a message names belongs to: ours only when it
/// verifies, else a message we received.
fn ticket_of<K: Known>(
    ids: &MessageIds,
    known: &K,
    message_id: &str,
) -> Result<Option<TicketId>, K::Error> {
    if ids.verify(message_id).is_some() {
        known.sent_ticket_of(message_id)
    } else {
        known.received_ticket_of(message_id)
    }
}

fn find<K: Known>(
    inbound: &Inbound,
    token: &Token,
    ids: &MessageIds,
    known: &K,
) -> Result<Thread, K::Error> {
    let follow = |ticket, link| Ok(Thread::FollowUp { ticket, link });

    // A token naming a ticket that does not exist (a typo, another desk's
    // numbering) is ignored rather than trusted.
    if let Some(n) = token.find(&inbound.subject)
        && known.ticket_exists(n)?
    {
        return follow(n, Link::Token);
    }
    for id in &inbound.in_reply_to {
        if let Some(n) = ticket_of(ids, known, id)? {
            return follow(n, Link::InReplyTo(id.clone()));
        }
    }
    for id in inbound.references.iter().rev() {
        if let Some(n) = ticket_of(ids, known, id)? {
            return follow(n, Link::References(id.clone()));
        }
    }
    // Another copy of a message we have: intake has made sure it is the same
    // message from the same sender (a reused Message-ID gets its own).
    if !inbound.message_id_derived
        && let Some(n) = known.received_ticket_of(&inbound.message_id)?
    {
        return follow(n, Link::SameMessageId);
    }
    if let Some(orig) = &inbound.original {
        if let Some(id) = &orig.message_id
            && let Some(n) = ticket_of(ids, known, id)?
        {
            return follow(n, Link::BouncedOriginal);
        }
        if let Some(n) = orig.subject.as_deref().and_then(|s| token.find(s))
            && known.ticket_exists(n)?
        {
            return follow(n, Link::BouncedOriginal);
        }
    }
    Ok(Thread::New)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::convert::Infallible;

    use super::*;
    use crate::parse::OriginalRef;

    /// Ticket 12 got our receipt (`sent`), ticket 1 was opened by a
    /// customer message (`received`).
    struct Map {
        tickets: Vec<i64>,
        received: HashMap<String, i64>,
        sent: HashMap<String, i64>,
    }

    impl Known for Map {
        type Error = Infallible;
        fn ticket_exists(&self, id: TicketId) -> Result<bool, Infallible> {
            Ok(self.tickets.contains(&id.0))
        }
        fn received_ticket_of(&self, message_id: &str) -> Result<Option<TicketId>, Infallible> {
            Ok(self.received.get(message_id).map(|&n| TicketId(n)))
        }
        fn sent_ticket_of(&self, message_id: &str) -> Result<Option<TicketId>, Infallible> {
            Ok(self.sent.get(message_id).map(|&n| TicketId(n)))
        }
    }

    fn ids() -> MessageIds {
        MessageIds::new([7; 32], "desk.example")
    }

    /// Our receipt on ticket 12.
    fn receipt_12() -> String {
        ids().make(&["receipt", "12", "hash"])
    }

    fn known() -> Map {
        Map {
            tickets: vec![1, 12, 1042],
            received: HashMap::from([("cust-1@mail.example".to_string(), 1)]),
            sent: HashMap::from([(receipt_12(), 12)]),
        }
    }

    fn inbound(subject: &str) -> Inbound {
        Inbound {
            message_id: "new@mail.example".into(),
            subject: subject.into(),
            ..Inbound::default()
        }
    }

    /// `#merge`: ticket 12 went into 1, and 1042 into 12 (a chain a
    /// hand-edited database could make), 7 into itself (a cycle).
    struct Merged(Map);

    impl Known for Merged {
        type Error = Infallible;
        fn ticket_exists(&self, id: TicketId) -> Result<bool, Infallible> {
            self.0.ticket_exists(id)
        }
        fn received_ticket_of(&self, message_id: &str) -> Result<Option<TicketId>, Infallible> {
            self.0.received_ticket_of(message_id)
        }
        fn sent_ticket_of(&self, message_id: &str) -> Result<Option<TicketId>, Infallible> {
            self.0.sent_ticket_of(message_id)
        }
        fn merged_into(&self, id: TicketId) -> Result<Option<TicketId>, Infallible> {
            Ok(match id.0 {
                12 => Some(TicketId(1)),
                1042 => Some(TicketId(12)),
                7 => Some(TicketId(7)),
                _ => None,
            })
        }
    }

    #[test]
    fn a_follow_up_of_a_merged_ticket_goes_where_it_was_merged() {
        let t = Token::new("ACME");
        let mut map = known();
        map.tickets.push(7);
        let k = Merged(map);
        for (subject, want) in [
            ("Re: [ACME #12] x", Some(1)),
            ("Re: [ACME #1042] x", Some(1)),
            ("Re: [ACME #1] x", Some(1)),
            ("Re: [ACME #7] x", Some(7)),
            ("Re: nothing", None),
        ] {
            let got = match thread(&inbound(subject), &t, &ids(), &k).unwrap() {
                Thread::FollowUp { ticket, link } => {
                    assert_eq!(link, Link::Token);
                    Some(ticket.0)
                }
                Thread::New => None,
            };
            assert_eq!(got, want, "{subject}");
        }
    }

    #[test]
    fn token_is_found_through_mangled_prefixes() {
        let t = Token::new("ACME");
        let cases: &[(&str, Option<i64>)] = &[
            ("[ACME #1042] Printer on fire", Some(1042)),
            ("Re: [ACME #1042] Printer on fire", Some(1042)),
            ("RE: AW: Fwd: SV: WG: TR: R: [ACME #12] x", Some(12)),
            ("Re:Re:[acme #12]", Some(12)),
            ("Re: [ACME#12] no space", Some(12)),
            ("Re: [ ACME # 12 ] spaces", Some(12)),
            ("Antw: Printer [ACME #0012] leading zeros", Some(12)),
            ("Réf. : Problème [Acme #7] accentué", Some(7)),
            ("Re: [OTHER #12] another desk", None),
            ("Re: [ACMEX #12] longer prefix", None),
            ("Re: ACME #12 without brackets", None),
            ("[ACME #] no number", None),
            ("[ACME #0] zero", None),
            ("[ACME #99999999999999999999] overflow", None),
            ("", None),
            ("Fwd: [OTHER #3] [ACME #5] two tokens", Some(5)),
        ];
        for (subject, want) in cases {
            assert_eq!(t.find(subject), want.map(TicketId), "subject {subject:?}");
        }
    }

    #[test]
    fn confirmation_tokens() {
        let t = Token::new("ACME");
        let token = t.format_confirm("7G4K-X2PD-9QHT");
        assert_eq!(token, "[ACME confirm 7G4K-X2PD-9QHT]");
        for (subject, want) in [
            (
                "Re: [ACME confirm 7G4K-X2PD-9QHT] Printer",
                Some("7G4KX2PD9QHT"),
            ),
            ("AW: [acme CONFIRM 7g4k-x2pd-9qht]", Some("7G4KX2PD9QHT")),
            ("[ACME confirm 7G4KX2PD9QHT]", Some("7G4KX2PD9QHT")),
            ("[ACME confirm 7G4K-X2PD-9QHO]", Some("7G4KX2PD9QH0")),
            ("[ACME confirm 7G4K-X2PD]", None),
            ("[OTHER confirm 7G4K-X2PD-9QHT]", None),
            ("[ACME #12] confirm 7G4K-X2PD-9QHT", None),
        ] {
            assert_eq!(t.find_confirm(subject).as_deref(), want, "{subject}");
        }
        // A confirmation token is not a ticket token.
        assert_eq!(t.find(&token), None);
    }

    #[test]
    fn prefix_is_a_literal_not_a_pattern() {
        let t = Token::new("A.C");
        assert_eq!(t.find("[A.C #3]"), Some(TicketId(3)));
        assert_eq!(t.find("[ABC #3]"), None);
    }

    #[test]
    fn tag_subject_adds_the_token_once() {
        let t = Token::new("SUPPORT");
        assert_eq!(t.tag_subject(TicketId(4), "Help"), "[SUPPORT #4] Help");
        assert_eq!(
            t.tag_subject(TicketId(4), "Re: [SUPPORT #4] Help"),
            "Re: [SUPPORT #4] Help"
        );
        assert_eq!(
            t.tag_subject(TicketId(4), "  "),
            "[SUPPORT #4] (no subject)"
        );
    }

    #[test]
    fn marks_go_after_the_token_and_a_new_subject_loses_other_tokens() {
        let t = Token::new("SUPPORT");
        let n = TicketId(4);
        assert_eq!(
            t.tag_subject_marked(n, "Help", "[priority] Reminder:"),
            "[SUPPORT #4] [priority] Reminder: Help"
        );
        assert_eq!(
            t.tag_subject_marked(n, "Re: [support#4] Help", "Closed:"),
            "Re: [support#4] Closed: Help"
        );
        assert_eq!(t.tag_subject_marked(n, "Help", ""), "[SUPPORT #4] Help");
        for (subject, want) in [
            ("Re: [SUPPORT #1] Printer", "Printer"),
            ("AW: [SUPPORT #1] Re: Printer", "Printer"),
            ("Printer [SUPPORT #12] again", "Printer again"),
            ("Re: Printer", "Re: Printer"),
            ("[OTHER #1] Printer", "[OTHER #1] Printer"),
        ] {
            assert_eq!(t.without_tokens(subject), want, "{subject}");
        }
    }

    #[test]
    fn reply_prefix_chains_are_stripped() {
        assert_eq!(strip_reply_prefixes("Re: AW: Fwd: Hello"), "Hello");
        assert_eq!(strip_reply_prefixes("RE[2]: SV:Hello"), "Hello");
        assert_eq!(strip_reply_prefixes("Rechnung offen"), "Rechnung offen");
        assert_eq!(strip_reply_prefixes("Iris: hello"), "Iris: hello");
    }

    #[test]
    fn threading_order() {
        let t = Token::new("ACME");
        let k = known();
        let follow = |n, link| Thread::FollowUp {
            ticket: TicketId(n),
            link,
        };

        assert_eq!(
            thread(&inbound("Hello"), &t, &ids(), &k).unwrap(),
            Thread::New
        );
        assert_eq!(
            thread(&inbound("Re: [ACME #12] x"), &t, &ids(), &k).unwrap(),
            follow(12, Link::Token)
        );
        // A token for a ticket that does not exist opens a new one.
        assert_eq!(
            thread(&inbound("[ACME #77] x"), &t, &ids(), &k).unwrap(),
            Thread::New
        );

        let mut m = inbound("Re: x");
        m.in_reply_to = vec![receipt_12()];
        assert_eq!(
            thread(&m, &t, &ids(), &k).unwrap(),
            follow(12, Link::InReplyTo(receipt_12()))
        );

        // The token beats the references.
        m.subject = "Re: [ACME #1] x".into();
        assert_eq!(thread(&m, &t, &ids(), &k).unwrap(), follow(1, Link::Token));

        // References are read newest (last) first.
        let mut m = inbound("Re: x");
        m.references = vec!["cust-1@mail.example".into(), receipt_12()];
        assert_eq!(
            thread(&m, &t, &ids(), &k).unwrap(),
            follow(12, Link::References(receipt_12()))
        );

        let mut m = inbound("x");
        m.message_id = "cust-1@mail.example".into();
        assert_eq!(
            thread(&m, &t, &ids(), &k).unwrap(),
            follow(1, Link::SameMessageId)
        );
        m.message_id_derived = true;
        assert_eq!(thread(&m, &t, &ids(), &k).unwrap(), Thread::New);

        let mut m = inbound("Undelivered Mail Returned to Sender");
        m.original = Some(OriginalRef {
            message_id: Some(receipt_12()),
            subject: None,
        });
        assert_eq!(
            thread(&m, &t, &ids(), &k).unwrap(),
            follow(12, Link::BouncedOriginal)
        );
        m.original = Some(OriginalRef {
            message_id: None,
            subject: Some("[ACME #1042] Printer".into()),
        });
        assert_eq!(
            thread(&m, &t, &ids(), &k).unwrap(),
            follow(1042, Link::BouncedOriginal)
        );
    }

    #[test]
    fn a_message_id_names_our_mail_only_when_it_verifies() {
        let t = Token::new("ACME");
        let mut k = known();
        // Rows a database of an older version holds: computable ids.
        k.sent.insert(
            "12.staff-notify.0123456789abcdef0123@desk.example".into(),
            12,
        );
        let other_desk = MessageIds::new([8; 32], "desk.example").make(&["receipt", "12", "hash"]);
        k.sent.insert(other_desk.clone(), 12);
        for id in [
            "12.staff-notify.0123456789abcdef0123@desk.example".to_string(),
            other_desk,
        ] {
            let mut m = inbound("Re: x");
            m.references = vec![id.clone()];
            assert_eq!(thread(&m, &t, &ids(), &k).unwrap(), Thread::New, "{id}");
            // Nor does someone who takes it for their own Message-ID get in.
            let mut m = inbound("x");
            m.message_id = id.clone();
            assert_eq!(thread(&m, &t, &ids(), &k).unwrap(), Thread::New, "{id}");
        }
        // Our own id as somebody's Message-ID is not "another copy" either.
        let mut m = inbound("x");
        m.message_id = receipt_12();
        assert_eq!(thread(&m, &t, &ids(), &k).unwrap(), Thread::New);
    }
}
