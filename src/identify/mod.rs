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

mod requests;
pub mod route;

use requests::is_self_service_subject;
pub use requests::{commands, named_account};

use crate::config::{Staff, UnknownSender};
use crate::screen::authres::Auth;

use crate::domain::Language;
use crate::domain::msgid::MessageIds;
use crate::domain::{AccountId, Address, HoldKind, MatchOptions, SenderPattern, TicketId};
use crate::parse::Inbound;
use crate::thread::{Link, Thread, Token};

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

#[cfg(test)]
mod tests;
