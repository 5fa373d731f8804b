//! identify: who is writing, and what their message may do.
//!
//! A sender is matched against the customer accounts (DESIGN "Who is
//! writing"): an account's primary address, its authorized senders
//! (addresses, domains, `*.domain` wildcards), or — for a new ticket that
//! names a child account — the authorized senders of its ISP (parent)
//! account. The most specific match wins (primary, then address, then
//! domain, then the longest wildcard); a tie between accounts is an
//! ambiguity shown to staff, never resolved by a guess. Where the config
//! requires authentication (globally or per account), a From address
//! without a passing verdict of our own MTA (see `authres`) is a stranger.
//!
//! Then the message's admission: a follow-up is accepted from people
//! entitled to the ticket (`check_sender`), strangers follow the
//! `unknown_sender` policy, and two kinds of mail are requests rather than
//! tickets: a reply to a confirmation code, and the self-service subject
//! `authorized senders` from an account's primary address.
//!
//! Pure: the accounts come through the [`Directory`] trait (the store's
//! indexed lookups, or a map in tests), so nothing here scans all accounts.
//! Threading runs first, because who may write depends on the ticket.

use std::sync::LazyLock;

use regex::Regex;

use crate::config::{Staff, UnknownSender};
use crate::screen::authres::Auth;

use crate::domain::Language;
use crate::domain::msgid::MessageIds;
use crate::domain::{AccountId, Address, HoldKind, MatchOptions, SenderPattern, TicketId};
use crate::parse::Inbound;
use crate::thread::{Link, Thread, Token, strip_reply_prefixes};

/// A rule of an account that lets an address in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SenderRule {
    Primary(Address),
    Authorized(SenderPattern),
}

impl SenderRule {
    fn matches(&self, a: &Address, opts: &MatchOptions) -> bool {
        match self {
            SenderRule::Primary(p) => p.same_mailbox(a, opts),
            SenderRule::Authorized(p) => p.matches(a, opts),
        }
    }

    fn specificity(&self) -> (u8, usize) {
        match self {
            SenderRule::Primary(_) => (4, 0),
            SenderRule::Authorized(p) => p.specificity(),
        }
    }
}

/// A rule the directory found for an address (a candidate: identify makes
/// the exact comparison).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub account: AccountId,
    pub rule: SenderRule,
}

/// What identify needs to know of an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountFacts {
    pub id: AccountId,
    pub parent: Option<AccountId>,
    pub priority: bool,
    /// `None`: `intake.require_authentication`.
    pub require_authentication: Option<bool>,
    pub language: Option<Language>,
}

/// The accounts and tickets, as identify may ask about them. Each method is
/// an indexed lookup in the store.
pub trait Directory {
    type Error;
    /// The rules that may match `address`: primary addresses and address
    /// entries with its lookup key, entries for its domain, wildcard entries
    /// for its parent domains.
    fn grants(&self, address: &Address) -> Result<Vec<Grant>, Self::Error>;
    fn account(&self, id: &AccountId) -> Result<Option<AccountFacts>, Self::Error>;
    /// `Some(account)` when the ticket exists.
    fn ticket_account(&self, ticket: TicketId) -> Result<Option<Option<AccountId>>, Self::Error>;
    fn is_participant(&self, ticket: TicketId, who: &Address) -> Result<bool, Self::Error>;
    /// Whether one of `ids` (verified ones) is a mail postdesk sent to the
    /// customer side of `ticket`.
    fn sent_on_ticket(&self, ticket: TicketId, ids: &[String]) -> Result<bool, Self::Error>;
    /// Whether one of `ids` (verified ones) is a confirmation request
    /// postdesk sent.
    fn confirmation_sent(&self, ids: &[String]) -> Result<bool, Self::Error>;
    /// Whether one of `ids` (verified ones) is a staff-side mail postdesk
    /// sent to one of the addresses `to`.
    fn sent_to_staff(&self, ids: &[String], to: &[Address]) -> Result<bool, Self::Error>;
}

/// How a sender belongs to the account a ticket is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum How {
    Primary,
    Authorized(SenderPattern),
    /// An authorized sender of `parent` (an ISP), writing for its child.
    Parent {
        parent: AccountId,
    },
}

/// Who is writing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sender {
    /// A customer of `account`.
    Account { account: AccountId, how: How },
    /// Matches several accounts equally well.
    Ambiguous { accounts: Vec<AccountId> },
    /// Nobody we know; or someone whose address `claimed` an account but
    /// failed the authentication that account requires.
    Stranger { claimed: Option<AccountId> },
    /// A staff member (`[[staff.member]]`), by address or alias; genuine
    /// where an authserv-id is configured. Recognised before accounts.
    Staff { name: String, address: Address },
}

/// What a new ticket is opened with.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Opening {
    pub account: Option<AccountId>,
    /// The accounts an ambiguous sender matched (no account is set then).
    pub candidates: Vec<AccountId>,
    /// The sender belongs to no account, or failed authentication.
    pub unverified: bool,
    /// A priority account (priority domains are the screen's).
    pub priority: bool,
    pub language: Option<Language>,
    /// The ticket whose token the message carried without being entitled to it.
    pub refers_to: Option<TicketId>,
}

/// One line of a self-service message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelfServiceCommand {
    Add(SenderPattern),
    Remove(SenderPattern),
    List,
    /// Not understood; the line as written.
    Unknown(String),
}

/// What the message may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// Joins the ticket threading found.
    FollowUp,
    /// Opens a ticket.
    Open(Opening),
    /// Held until the sender confirms their address: a stranger (policy
    /// `verify`), or — `known` — a staff member or an account's primary
    /// address whose From could not be shown genuine.
    Verify {
        refers_to: Option<TicketId>,
        known: bool,
    },
    /// Held and answered with how to write (policy `reject`).
    Reject { refers_to: Option<TicketId> },
    /// Held for an operator, unanswered.
    Hold { kind: HoldKind, reason: String },
    /// Change the authorized senders of `accounts` (several: the primary
    /// address of more than one account, which must name one).
    SelfService {
        accounts: Vec<AccountId>,
        commands: Vec<SelfServiceCommand>,
    },
    /// A self-service request not from a primary address: held and answered.
    RefuseSelfService,
    /// A ticket for an account the sender may not write for: held, answered.
    RefuseAccount { named: String },
    /// A reply to a confirmation request, by its code or by its Message-ID.
    Confirm { code: Option<String> },
}

/// identify's hand-off to apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub sender: Sender,
    pub admission: Admission,
    /// For the ticket's history: what staff should know about the sender.
    pub notes: Vec<String>,
    /// The language of the sender's account, for answers.
    pub language: Option<Language>,
}

/// Why a held message is taken in again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    /// `postdesk quarantine release`.
    Operator,
    /// The sender answered the confirmation request.
    Confirmed,
}

pub struct IdentifyRules<'a> {
    pub token: &'a Token,
    pub unknown_sender: UnknownSender,
    pub check_sender: bool,
    pub require_authentication: bool,
    /// `intake.authserv_id` is set: self-service then requires a pass.
    pub authserv_configured: bool,
    pub self_service: bool,
    pub matching: MatchOptions,
    pub released: Option<Release>,
    /// The staff members.
    pub staff: &'a Staff,
    /// Tells the Message-IDs only this desk can make.
    pub ids: &'a MessageIds,
}

/// A matching account, with the sender's best rule there.
struct Member {
    facts: AccountFacts,
    rule: SenderRule,
}

impl Member {
    fn how(&self) -> How {
        match &self.rule {
            SenderRule::Primary(_) => How::Primary,
            SenderRule::Authorized(p) => How::Authorized(p.clone()),
        }
    }
}

/// Who sent `inbound` and what the message may do. The steps run in
/// order and the first that decides wins: a reply to a confirmation
/// request, a staff member, a self-service request, an entitled follow-up,
/// else a new ticket (or a refusal) by the sender's accounts.
pub fn identify<D: Directory>(
    inbound: &Inbound,
    auth: &Auth,
    thread: &Thread,
    dir: &D,
    rules: &IdentifyRules<'_>,
) -> Result<Identity, D::Error> {
    let Some(from) = &inbound.from else {
        return Ok(Identity {
            sender: Sender::Stranger { claimed: None },
            admission: Admission::Hold {
                kind: HoldKind::NoSender,
                reason: "no valid From address".into(),
            },
            notes: Vec::new(),
            language: None,
        });
    };
    let address = &from.address;
    // The mail of ours the message answers: only ids that verify count,
    // anybody can write a computed or copied one.
    let answered: Vec<String> = inbound
        .in_reply_to
        .iter()
        .chain(&inbound.references)
        .filter(|id| rules.ids.verify(id).is_some())
        .cloned()
        .collect();
    let mut notes = Vec::new();
    if let Some(admission) = confirmation_reply(inbound, dir, rules, &answered)? {
        let sender = Sender::Stranger { claimed: None };
        return Ok(Identity {
            sender,
            admission,
            notes,
            language: None,
        });
    }
    if let Some((sender, admission)) =
        staff_member(inbound, auth, thread, dir, rules, &answered, &mut notes)?
    {
        return Ok(Identity {
            sender,
            admission,
            notes,
            language: None,
        });
    }
    let matched = Matched::find(dir, rules, auth, address, &mut notes)?;
    if let Some(admission) = self_service(inbound, auth, rules, &matched, &mut notes) {
        return Ok(matched.identity(admission, notes));
    }
    let refers_to = match follow_up(thread, dir, rules, &matched, address, &answered)? {
        FollowUp::Entitled => return Ok(matched.identity(Admission::FollowUp, notes)),
        FollowUp::NotEntitled(ticket) => {
            notes.push(format!(
                "the message carried the token of ticket #{ticket}, but {address} is not on that ticket (intake.check_sender): not added to it"
            ));
            Some(ticket)
        }
        FollowUp::NotOne => None,
    };
    new_ticket(inbound, dir, rules, matched, address, refers_to, notes)
}

/// Step 1: A reply to a confirmation request comes first: its subject may
/// carry a ticket's token too (the held message's own).
fn confirmation_reply<D: Directory>(
    inbound: &Inbound,
    dir: &D,
    rules: &IdentifyRules<'_>,
    answered: &[String],
) -> Result<Option<Admission>, D::Error> {
    if rules.released.is_some() {
        return Ok(None);
    }
    if let Some(code) = rules.token.find_confirm(&inbound.subject) {
        return Ok(Some(Admission::Confirm { code: Some(code) }));
    }
    Ok(dir
        .confirmation_sent(answered)?
        .then_some(Admission::Confirm { code: None }))
}

/// Step 2: Staff, by address or alias, and proven: a genuine From by our MTA's
/// verdict, else an answer to a mail we sent the staff side (only the
/// staff have its Message-ID), else a confirmation by the member. An
/// automatic mail that is not proven goes on as any other sender's.
fn staff_member<D: Directory>(
    inbound: &Inbound,
    auth: &Auth,
    thread: &Thread,
    dir: &D,
    rules: &IdentifyRules<'_>,
    answered: &[String],
    notes: &mut Vec<String>,
) -> Result<Option<(Sender, Admission)>, D::Error> {
    let Some(from) = &inbound.from else {
        return Ok(None);
    };
    let address = &from.address;
    let Some(member) = rules.staff.member(address, &rules.matching) else {
        return Ok(None);
    };
    let sender = Sender::Staff {
        name: member.name.clone(),
        address: member.address.clone(),
    };
    let mut own = vec![member.address.clone()];
    own.extend(member.aliases.iter().cloned());
    own.extend(rules.staff.notify.iter().cloned());
    let genuine = rules.authserv_configured && auth.is_pass();
    // Our MTA saying the From is forged outweighs a Message-ID, which a
    // notification forwarded outside could have given away.
    let forged = matches!(auth, Auth::Fail(_));
    let proven =
        genuine || rules.released.is_some() || (!forged && dir.sent_to_staff(answered, &own)?);
    if proven {
        let admission = match thread {
            Thread::FollowUp { .. } => Admission::FollowUp,
            // A staff member writing to the desk opens a ticket like
            // anyone; customer-side mail never goes to staff addresses.
            Thread::New => Admission::Open(Opening::default()),
        };
        return Ok(Some((sender, admission)));
    }
    if !inbound.class.is_automatic() {
        notes.push(format!(
            "{address} is the address of staff member {}, but the mail answers no mail of ours to the staff and the From address is not shown genuine ({}): held until {} confirms it",
            member.name,
            auth.describe(),
            member.name
        ));
        let refers_to = match thread {
            Thread::FollowUp { ticket, .. } => Some(*ticket),
            Thread::New => None,
        };
        let admission = Admission::Verify {
            refers_to,
            known: true,
        };
        return Ok(Some((sender, admission)));
    }
    notes.push(format!(
        "automatic mail from {address}, the address of staff member {}, not shown genuine ({}): treated as any other sender",
        member.name,
        auth.describe()
    ));
    Ok(None)
}

/// Step 3: Who it is: the accounts whose rules let the address in (the best
/// rule per account), less those that require an authentication the mail
/// lacks; the most specific of them decide the sender.
struct Matched {
    grants: Vec<(AccountId, SenderRule)>,
    /// Most specific first.
    members: Vec<Member>,
    sender: Sender,
    language: Option<Language>,
}

impl Matched {
    fn find<D: Directory>(
        dir: &D,
        rules: &IdentifyRules<'_>,
        auth: &Auth,
        address: &Address,
        notes: &mut Vec<String>,
    ) -> Result<Matched, D::Error> {
        let grants = best_per_account(dir.grants(address)?, address, &rules.matching);
        let mut members: Vec<Member> = Vec::new();
        let mut claimed = None;
        for (account, rule) in &grants {
            let Some(facts) = dir.account(account)? else {
                continue;
            };
            let required = facts
                .require_authentication
                .unwrap_or(rules.require_authentication);
            if required && !auth.is_pass() {
                notes.push(format!(
                    "{address} matches account {account}, which requires authentication, but the From address is not genuine ({}): treated as an unknown sender",
                    auth.describe()
                ));
                claimed.get_or_insert(account.clone());
                continue;
            }
            members.push(Member {
                facts,
                rule: rule.clone(),
            });
        }
        let mut matched = Matched {
            grants,
            members,
            sender: Sender::Stranger { claimed },
            language: None,
        };
        let (sender, language) = match matched.best().as_slice() {
            [] => (None, None),
            [one] => {
                let sender = Sender::Account {
                    account: one.facts.id.clone(),
                    how: one.how(),
                };
                (Some(sender), one.facts.language)
            }
            many => {
                let accounts = many.iter().map(|m| m.facts.id.clone()).collect();
                (Some(Sender::Ambiguous { accounts }), None)
            }
        };
        if let Some(sender) = sender {
            matched.sender = sender;
        }
        matched.language = language;
        Ok(matched)
    }

    /// The members with the most specific rule.
    fn best(&self) -> Vec<&Member> {
        let top = self.members.first().map(|m| m.rule.specificity());
        self.members
            .iter()
            .filter(|m| Some(m.rule.specificity()) == top)
            .collect()
    }

    fn identity(&self, admission: Admission, notes: Vec<String>) -> Identity {
        Identity {
            sender: self.sender.clone(),
            admission,
            notes,
            language: self.language,
        }
    }
}

/// Step 4: Self-service: only an account's primary address, and only a proven
/// one: a genuine From by our MTA's verdict, else the owner of the primary
/// address confirms by answering a confirmation request.
fn self_service(
    inbound: &Inbound,
    auth: &Auth,
    rules: &IdentifyRules<'_>,
    matched: &Matched,
    notes: &mut Vec<String>,
) -> Option<Admission> {
    if rules.released == Some(Release::Operator)
        || !rules.self_service
        || inbound.class.is_automatic()
        || !is_self_service_subject(&inbound.subject)
    {
        return None;
    }
    let primaries: Vec<&AccountId> = matched
        .grants
        .iter()
        .filter(|(_, r)| matches!(r, SenderRule::Primary(_)))
        .map(|(a, _)| a)
        .collect();
    if primaries.is_empty() {
        return Some(Admission::RefuseSelfService);
    }
    let genuine = rules.authserv_configured && auth.is_pass();
    if !genuine && rules.released != Some(Release::Confirmed) {
        let address = inbound.from.as_ref().map(|f| f.address.to_string());
        notes.push(format!(
            "self-service request from {}, the primary address of {}, without a genuine From ({}): held until the address confirms it",
            address.unwrap_or_default(),
            primaries
                .iter()
                .map(|a| a.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            auth.describe()
        ));
        return Some(Admission::Verify {
            refers_to: None,
            known: true,
        });
    }
    let accounts: Vec<AccountId> = match named_account(inbound) {
        Some(named) => match primaries
            .iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(&named))
        {
            Some(a) => vec![(*a).clone()],
            None => return Some(Admission::RefuseSelfService),
        },
        None => primaries.into_iter().cloned().collect(),
    };
    Some(Admission::SelfService {
        accounts,
        commands: commands(&inbound.new_text),
    })
}

/// What step 5 found of a message threaded to a ticket.
enum FollowUp {
    Entitled,
    /// Threaded to this ticket, but its sender may not write into it.
    NotEntitled(TicketId),
    /// A new message.
    NotOne,
}

/// Step 5: A follow-up: only from people entitled to the ticket.
fn follow_up<D: Directory>(
    thread: &Thread,
    dir: &D,
    rules: &IdentifyRules<'_>,
    matched: &Matched,
    address: &Address,
    answered: &[String],
) -> Result<FollowUp, D::Error> {
    let Thread::FollowUp { ticket, link } = thread else {
        return Ok(FollowUp::NotOne);
    };
    let ticket = *ticket;
    let entitled = !rules.check_sender
        // The same mail again, or a report about our own mail.
        || matches!(link, Link::SameMessageId | Link::BouncedOriginal)
        || authorized_for_ticket(dir, &matched.members, ticket)?
        || dir.is_participant(ticket, address)?
        // They received our mail about it, e.g. a colleague it was forwarded to.
        || dir.sent_on_ticket(ticket, answered)?;
    Ok(if entitled {
        FollowUp::Entitled
    } else {
        FollowUp::NotEntitled(ticket)
    })
}

/// Step 6: A new ticket: a stranger's by the `unknown_sender` policy; an
/// account's, or the child account an ISP names; several equally good
/// accounts leave the choice to staff.
fn new_ticket<D: Directory>(
    inbound: &Inbound,
    dir: &D,
    rules: &IdentifyRules<'_>,
    matched: Matched,
    address: &Address,
    refers_to: Option<TicketId>,
    mut notes: Vec<String>,
) -> Result<Identity, D::Error> {
    if matched.members.is_empty() {
        let unverified = Opening {
            unverified: true,
            refers_to,
            ..Opening::default()
        };
        let admission = match (rules.released, rules.unknown_sender) {
            (Some(_), _) | (None, UnknownSender::Accept) => Admission::Open(unverified),
            (None, UnknownSender::Verify) => Admission::Verify {
                refers_to,
                known: false,
            },
            (None, UnknownSender::Reject) => Admission::Reject { refers_to },
        };
        let sender = Sender::Stranger {
            claimed: sender_claim(&matched.sender),
        };
        return Ok(Identity {
            sender,
            admission,
            notes,
            language: matched.language,
        });
    }
    if let Some(named) = named_account(inbound) {
        match named_child(dir, &matched, &named, address, refers_to, &mut notes)? {
            Some(identity) => return Ok(identity),
            None if rules.released.is_some() => notes.push(format!(
                "named account {named:?}, which {address} may not write for: filed as if it had named none"
            )),
            None => return Ok(matched.identity(Admission::RefuseAccount { named }, notes)),
        }
    }
    let admission = match matched.best().as_slice() {
        [one] => Admission::Open(opening(&one.facts, refers_to)),
        many => {
            let accounts: Vec<AccountId> = many.iter().map(|m| m.facts.id.clone()).collect();
            notes.push(format!(
                "{address} matches accounts {} equally well: no account set; choose one with `postdesk ticket set-account`",
                accounts.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(", ")
            ));
            Admission::Open(Opening {
                candidates: accounts,
                priority: many.iter().any(|m| m.facts.priority),
                refers_to,
                ..Opening::default()
            })
        }
    };
    Ok(matched.identity(admission, notes))
}

/// An ISP names the child account it writes for (`Account:` line): the
/// ticket opens for the named account when the sender is in it or in its
/// parent. None when the sender may not write for it.
fn named_child<D: Directory>(
    dir: &D,
    matched: &Matched,
    named: &str,
    address: &Address,
    refers_to: Option<TicketId>,
    notes: &mut Vec<String>,
) -> Result<Option<Identity>, D::Error> {
    let target = match AccountId::parse(named) {
        Ok(id) => dir.account(&id)?,
        Err(_) => None,
    };
    let Some(t) = target else {
        return Ok(None);
    };
    let members = &matched.members;
    let (how, note) = if let Some(m) = members.iter().find(|m| m.facts.id == t.id) {
        (m.how(), None)
    } else if let Some(m) = t
        .parent
        .as_ref()
        .and_then(|parent| members.iter().find(|m| m.facts.id == *parent))
    {
        let note = format!(
            "opened by {address} of account {} for its child account {}",
            m.facts.id, t.id
        );
        let how = How::Parent {
            parent: m.facts.id.clone(),
        };
        (how, Some(note))
    } else {
        return Ok(None);
    };
    notes.extend(note);
    Ok(Some(Identity {
        sender: Sender::Account {
            account: t.id.clone(),
            how,
        },
        admission: Admission::Open(opening(&t, refers_to)),
        notes: std::mem::take(notes),
        language: matched.language,
    }))
}

fn sender_claim(sender: &Sender) -> Option<AccountId> {
    match sender {
        Sender::Stranger { claimed } => claimed.clone(),
        _ => None,
    }
}

fn opening(facts: &AccountFacts, refers_to: Option<TicketId>) -> Opening {
    Opening {
        account: Some(facts.id.clone()),
        priority: facts.priority,
        language: facts.language,
        refers_to,
        ..Opening::default()
    }
}

/// Whether one of the sender's accounts is the ticket's account, or the
/// ISP (parent) of it.
fn authorized_for_ticket<D: Directory>(
    dir: &D,
    members: &[Member],
    ticket: TicketId,
) -> Result<bool, D::Error> {
    let Some(account) = dir.ticket_account(ticket)?.flatten() else {
        return Ok(false);
    };
    if members.iter().any(|m| m.facts.id == account) {
        return Ok(true);
    }
    let parent = dir.account(&account)?.and_then(|a| a.parent);
    Ok(parent.is_some_and(|p| members.iter().any(|m| m.facts.id == p)))
}

/// The grants that really match, reduced to the best rule per account,
/// most specific first (ties in account order, for a stable result).
fn best_per_account(
    grants: Vec<Grant>,
    address: &Address,
    opts: &MatchOptions,
) -> Vec<(AccountId, SenderRule)> {
    let mut best: Vec<(AccountId, SenderRule)> = Vec::new();
    for g in grants.into_iter().filter(|g| g.rule.matches(address, opts)) {
        match best.iter_mut().find(|(a, _)| *a == g.account) {
            Some((_, rule)) if g.rule.specificity() > rule.specificity() => *rule = g.rule,
            Some(_) => {}
            None => best.push((g.account, g.rule)),
        }
    }
    best.sort_by(|(a, ra), (b, rb)| {
        rb.specificity().cmp(&ra.specificity()).then_with(|| {
            a.as_str()
                .to_ascii_lowercase()
                .cmp(&b.as_str().to_ascii_lowercase())
        })
    });
    best
}

/// `authorized senders` (or `authorised`), after any `Re:`.
fn is_self_service_subject(subject: &str) -> bool {
    let s = strip_reply_prefixes(subject).trim();
    s.eq_ignore_ascii_case("authorized senders") || s.eq_ignore_ascii_case("authorised senders")
}

static SUBJECT_ACCOUNT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\[\s*account\s*:?\s+([A-Za-z0-9][A-Za-z0-9_.-]{0,63})\s*\]")
        .expect("static regex")
});

static BODY_ACCOUNT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^account\s*:\s*([A-Za-z0-9][A-Za-z0-9_.-]{0,63})$").expect("static regex")
});

/// The account a message names: `[account ID]` in the subject, or
/// `Account: ID` as the first line of the new text.
pub fn named_account(inbound: &Inbound) -> Option<String> {
    if let Some(c) = SUBJECT_ACCOUNT.captures(&inbound.subject) {
        return Some(c[1].to_string());
    }
    let first = inbound
        .new_text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())?;
    BODY_ACCOUNT.captures(first).map(|c| c[1].to_string())
}

/// The self-service lines of a message's new text, up to the signature:
/// `add X`, `remove X` (X: addresses, domains, `*.domain`, several allowed
/// with commas), `list`. An `Account:` line names the account and is not a
/// command. At most 100 commands.
pub fn commands(text: &str) -> Vec<SelfServiceCommand> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if line == "--" || line.starts_with("-- ") || out.len() >= 100 {
            break;
        }
        if line.is_empty() || BODY_ACCOUNT.is_match(line) {
            continue;
        }
        let (verb, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let rest = rest.trim();
        let patterns = || {
            SenderPattern::parse_list(rest)
                .ok()
                .filter(|p| !p.is_empty())
        };
        match verb.to_ascii_lowercase().as_str() {
            "add" => match patterns() {
                Some(list) => out.extend(list.into_iter().map(SelfServiceCommand::Add)),
                None => out.push(SelfServiceCommand::Unknown(line.to_string())),
            },
            "remove" | "delete" | "revoke" => match patterns() {
                Some(list) => out.extend(list.into_iter().map(SelfServiceCommand::Remove)),
                None => out.push(SelfServiceCommand::Unknown(line.to_string())),
            },
            "list" if rest.is_empty() => out.push(SelfServiceCommand::List),
            _ => out.push(SelfServiceCommand::Unknown(line.to_string())),
        }
    }
    out
}

#[cfg(test)]
mod tests {
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
}
