//! staffmail: a staff member's mail on a ticket — a reply to relay to the
//! customer side, an internal note, commands, or several of these — carried
//! out in the caller's transaction, all or nothing.
//!
//! The `#command` lines at the top of the new text (see `mailcmd`) are read
//! first; a line that is not understood refuses the whole mail. Then, in
//! one savepoint: the commands that decide who gets the reply and what it
//! says (`#drop`, `#account`, `#assign`, `#priority`); then, for a reply,
//! the reply stored, the commands that change the ticket's state
//! (`#status`, `#close`, `#reject`, `#reopen`, `#hold`, `#type`) carried
//! out through `change` with their notices held back, and the reply
//! relayed with a line of what they changed — one mail to the customer
//! side, and its copy to the rest of the staff side (`[staff]
//! copy_replies`) — then `#merge`. A note or a mail of commands only is
//! stored first, and its commands send their own "ticket changed" and
//! close notices. A command the ticket's state refuses
//! (`#reopen` on an open ticket, `#merge` into a missing ticket …) undoes
//! everything, relay included. A refused mail is kept on the ticket, shown
//! to nobody, and its author gets the errors by mail.
//!
//! Automatic mail from a staff address (an out-of-office answering a
//! notification) is kept and nothing else: no commands are read, nothing
//! is relayed, nobody is told — so it cannot start a loop.

use chrono::{DateTime, Utc};

use super::context::{Incoming, Outcome, StaffAction};
use crate::apply::staff_commands::{self, StaffCommand};
use crate::domain::lifecycle::LifecycleEvent;
use crate::domain::{Mailbox, Status, TicketId};
use crate::store::{EventKind, HistoryEvent, MessageRole, NewMessage, StoreError, Tx};
use crate::ticket::proof::ProofError;
use crate::ticket::relay::{self, Changed, Relayed, Reply, Shown, Why};
use crate::ticket::{self, Author, ChangeError, Made, Settings, Sides, TicketChange};

/// Who wrote the mail: a staff member (`[[staff.member]]`).
#[derive(Debug, Clone, Copy)]
pub struct Staffer<'a> {
    pub name: &'a str,
    /// The address the mail came from (the member's address or an alias).
    pub from: &'a Mailbox,
}

/// Takes a staff member's mail on ticket `n` (threaded `how`, for the
/// history).
pub fn staff_mail(
    tx: &mut Tx<'_>,
    s: &Settings<'_>,
    msg: &Incoming<'_>,
    who: Staffer<'_>,
    n: TicketId,
    how: &str,
) -> Result<Outcome, StoreError> {
    let inbound = msg.inbound;
    let at = msg.at;
    let message = tx.insert_message(&NewMessage {
        raw: msg.raw,
        inbound,
        source: msg.source,
        ticket: Some(n),
        received_at: at,
    })?;
    let done = |action| {
        Ok(Outcome::Staff {
            ticket: n,
            message,
            action,
        })
    };
    if inbound.class.is_automatic() {
        tx.set_message_role(message, MessageRole::StaffAuto, None, Some(who.name))?;
        let detail = format!(
            "automatic mail from staff member {} ({}: {}), threaded {how}: kept; no commands read, nothing relayed",
            who.from.address,
            inbound.class.label(),
            inbound.class.reason().unwrap_or_default()
        );
        staff_event(tx, n, at, EventKind::StaffNote, who, detail, message)?;
        return done(StaffAction::Automatic);
    }

    let own = own_words(tx, s, n, inbound)?;
    let commands = match staff_commands::parse_commands(&own, s.ticket_types) {
        Ok(c) => c,
        Err(errors) => {
            let lines: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
            return refuse(tx, s, msg, who, n, message, &lines);
        }
    };
    let is_note = commands.commands.contains(&StaffCommand::Note);
    // `#kb NAME`: the article's text merged with the staff text.
    let stock: Vec<&str> = commands
        .commands
        .iter()
        .filter_map(|c| match c {
            StaffCommand::Kb(name) => Some(name.as_str()),
            _ => None,
        })
        .collect();
    let text = match ticket::knowledge::stock_answer(&tx.read(), &stock, &commands.text)? {
        Ok(text) => text.trim().to_string(),
        Err(lines) => return refuse(tx, s, msg, who, n, message, &lines),
    };
    let author = Author {
        who: who.name,
        reason: None,
    };

    let applied = tx.all_or_nothing(|tx| {
        let numbered: Vec<(usize, &StaffCommand)> = commands.commands.iter().enumerate().collect();
        let (first, then): (Vec<_>, Vec<_>) =
            numbered.into_iter().partition(|(_, c)| before_the_reply(c));
        // 1. Who gets the reply and what it says.
        for (i, c) in first {
            command(tx, s, n, c, author, at).map_err(|e| e.numbered(i + 1, c))?;
        }
        // `#queue` moved it: the reply leaves from the new queue.
        let s = &s.for_ticket(&ticket::reload(tx, n)?);
        if !is_note && !text.is_empty() {
            // 2–3. A reply: one mail that says what its commands changed.
            return reply_and_change(tx, s, msg, who, (n, message), how, &text, &then);
        }
        // 2. The mail itself: a note, or commands only.
        let action = record(tx, s, msg, who, (n, message), how, &text, is_note)?;
        // 3. The ticket's state, in order, each change with its notices;
        // the first command refused undoes it all.
        for (i, c) in then {
            command(tx, s, n, c, author, at).map_err(|e| e.numbered(i + 1, c))?;
        }
        Ok((action, Relayed::default()))
    });

    match applied {
        Err(CommandError::Store(e)) => Err(e),
        Err(CommandError::Refused(error)) => refuse(tx, s, msg, who, n, message, &[error]),
        Ok((action, relayed)) => {
            let s = &s.for_ticket(&ticket::reload(tx, n)?);
            if is_note {
                let shown = Shown {
                    message,
                    raw: msg.raw,
                    from: who.from,
                    text: &text,
                    attachments: &inbound.attachments,
                };
                relay::to_staff(tx, s, n, Why::Note { staff: who.name }, Some(shown), at)?;
            }
            if !relayed.withheld.is_empty() || !relayed.failing.is_empty() {
                relay::to_staff_member(tx, s, n, (msg.inbound, msg.at), who.from, &[], &relayed)?;
            }
            done(action)
        }
    }
}

/// Records a staff member's mail on ticket `n` that is no reply: an
/// internal note, or commands only. Neither moves the ticket's clock.
#[allow(clippy::too_many_arguments)]
fn record(
    tx: &mut Tx<'_>,
    s: &Settings<'_>,
    msg: &Incoming<'_>,
    who: Staffer<'_>,
    (n, message): (TicketId, i64),
    how: &str,
    text: &str,
    is_note: bool,
) -> Result<StaffAction, StoreError> {
    let at = msg.at;
    if is_note {
        tx.set_message_role(message, MessageRole::StaffNote, Some(text), Some(who.name))?;
        let detail = format!("internal note by {}, threaded {how}", who.from);
        staff_event(tx, n, at, EventKind::StaffNote, who, detail, message)?;
        ticket::staff_event(tx, s, n, LifecycleEvent::StaffNote, who.name, at)?;
        tx.touch_ticket(n, at, true)?;
        return Ok(StaffAction::Noted);
    }
    tx.set_message_role(
        message,
        MessageRole::StaffCommands,
        Some(""),
        Some(who.name),
    )?;
    let detail = format!("commands by {}, threaded {how}: nothing relayed", who.from);
    staff_event(tx, n, at, EventKind::StaffNote, who, detail, message)?;
    Ok(StaffAction::Commands)
}

/// A staff reply on ticket `n` and the commands after it (`then`): the
/// reply is stored; the commands that change the ticket's state are
/// carried out with their notices held back; the reply is relayed to the
/// customer side with a line of what they changed, and copied to the
/// rest of the staff side (`[staff] copy_replies`) with that line too —
/// one mail per side. A held notice goes only to a side that got neither
/// (no relay queued, no copy). `#merge` comes last.
/// A reply that reaches the customer moves the ticket's clock: by the
/// lifecycle table, or from the status a command set.
#[allow(clippy::too_many_arguments)]
fn reply_and_change(
    tx: &mut Tx<'_>,
    s: &Settings<'_>,
    msg: &Incoming<'_>,
    who: Staffer<'_>,
    (n, message): (TicketId, i64),
    how: &str,
    text: &str,
    then: &[(usize, &StaffCommand)],
) -> Result<(StaffAction, Relayed), CommandError> {
    let (inbound, at) = (msg.inbound, msg.at);
    let author = Author {
        who: who.name,
        reason: None,
    };
    let direct = store_reply(tx, s, who, (n, message), (how, text), inbound, at)?;
    let before = ticket::reload(tx, n)?;
    let mut made = Vec::new();
    let mut after_all = Vec::new();
    for &(i, c) in then {
        match state_change(c) {
            Some(change) => made.push(
                ticket::command_quiet(tx, s, n, &change, author, at)
                    .map_err(|e| CommandError::from(e).numbered(i + 1, c))?,
            ),
            None => after_all.push((i, c)),
        }
    }
    let changed = Changed::between(s, &before, &ticket::reload(tx, n)?);
    let reply = Reply {
        message,
        staff: who.name,
        text,
        cause: &inbound.content_hash,
        raw: msg.raw,
        attachments: &inbound.attachments,
        direct: &direct,
        changed: &changed,
    };
    let relayed = relay::to_customer(tx, s, n, &reply, at)?;
    // Only an answer the customer gets moves the clocks: one withheld from
    // everyone leaves the ticket waiting for staff, its warnings running.
    if relayed.outbox.is_some() {
        if made.iter().any(Made::sets_status) {
            ticket::answered(tx, s, n, at)?;
        } else {
            ticket::staff_event(tx, s, n, LifecycleEvent::StaffReply, who.name, at)?;
        }
    }
    tx.touch_ticket(n, at, true)?;
    // Not when the loop rules withheld the relay from everyone: a copy
    // answered by a staff mail rule would go round without end.
    let reached = relayed.outbox.is_some() || relayed.withheld.is_empty();
    let copied = s.staff.copy_replies && reached && {
        let why = Why::Answered {
            staff: who.name,
            author: &who.from.address,
            changed: &changed,
        };
        let shown = Shown {
            message,
            raw: msg.raw,
            from: who.from,
            text,
            attachments: &inbound.attachments,
        };
        relay::to_staff(tx, s, n, why, Some(shown), at)?.is_some()
    };
    let sides = Sides {
        customer: relayed.outbox.is_none(),
        staff: !copied,
    };
    for m in &made {
        m.notify(tx, s, sides, at)?;
    }
    for (i, c) in after_all {
        command(tx, s, n, c, author, at).map_err(|e| e.numbered(i + 1, c))?;
    }
    Ok((StaffAction::Replied, relayed))
}

/// Stores a staff reply on ticket `n` as one, with its history line; whom
/// the staff member wrote to directly (To, Cc) is included in the
/// customer side from now on, and returned.
fn store_reply(
    tx: &mut Tx<'_>,
    s: &Settings<'_>,
    who: Staffer<'_>,
    (n, message): (TicketId, i64),
    (how, text): (&str, &str),
    inbound: &crate::parse::Inbound,
    at: DateTime<Utc>,
) -> Result<Vec<Mailbox>, StoreError> {
    let direct: Vec<Mailbox> = inbound.to.iter().chain(&inbound.cc).cloned().collect();
    for m in &direct {
        let ours =
            s.answer.own.contains(&m.address) || s.staff.is_staff_address(&m.address, &s.matching);
        if !ours {
            include(tx, n, &m.address, at)?;
        }
    }
    tx.set_message_role(message, MessageRole::StaffReply, Some(text), Some(who.name))?;
    let detail = format!("reply by {}, threaded {how}", who.from);
    staff_event(tx, n, at, EventKind::StaffReply, who, detail, message)?;
    Ok(direct)
}

/// What the staff member wrote, and nothing postdesk sent only to staff
/// (invariant 7): the reply split again with the mails of ours it answers
/// and the ticket's newest notes as known text, and no line of them kept
/// as context. Whatever a client quotes of a notification (the note in its
/// history, the command help), however it posts and whether or not it kept
/// the headers and the marker, is history; a note copied into another
/// mail is caught as a run of its words (a common short line is not). A
/// staff member's inline answers go on without the lines they answer.
fn own_words(
    tx: &Tx<'_>,
    s: &Settings<'_>,
    n: TicketId,
    inbound: &crate::parse::Inbound,
) -> Result<String, StoreError> {
    let mut ours = crate::thread::ourmail::texts(tx, s.desk.ids, &s.limits, inbound)?;
    // The newest notes, a bound on the work per reply.
    ours.extend(tx.read().staff_notes(n)?);
    let ours: Vec<&str> = ours.iter().map(String::as_str).collect();
    let (own, _) = crate::parse::split_reply(&inbound.text, &ours);
    // The `> ` context the splitter keeps above inline answers quotes the
    // mail answered, a staff-only one: it goes nowhere.
    Ok(own
        .lines()
        .filter(|l| !l.starts_with('>'))
        .collect::<Vec<_>>()
        .join("\n"))
}

/// Nothing applied: the mail is kept (shown to nobody) with why, and its
/// author told.
fn refuse(
    tx: &mut Tx<'_>,
    s: &Settings<'_>,
    msg: &Incoming<'_>,
    who: Staffer<'_>,
    n: TicketId,
    message: i64,
    errors: &[String],
) -> Result<Outcome, StoreError> {
    tx.set_message_role(message, MessageRole::StaffRefused, None, Some(who.name))?;
    let detail = format!(
        "mail from {} not applied, nothing relayed: {}",
        who.from,
        errors.join("; ")
    );
    staff_event(tx, n, msg.at, EventKind::StaffNote, who, detail, message)?;
    relay::to_staff_member(
        tx,
        s,
        n,
        (msg.inbound, msg.at),
        who.from,
        errors,
        &Relayed::default(),
    )?;
    Ok(Outcome::Staff {
        ticket: n,
        message,
        action: StaffAction::Refused,
    })
}

/// Whether `c` applies before the reply is relayed: it changes who gets
/// it, or what it shows.
fn before_the_reply(c: &StaffCommand) -> bool {
    matches!(
        c,
        StaffCommand::Drop(_)
            | StaffCommand::Cc(_)
            | StaffCommand::Account(_)
            | StaffCommand::Assign(_)
            | StaffCommand::Priority(_)
            | StaffCommand::Queue(_)
    )
}

/// The change of the ticket's state (status or type) command `c` asks
/// for, if it asks for one.
fn state_change(c: &StaffCommand) -> Option<TicketChange> {
    match c {
        StaffCommand::Status(st) => Some(TicketChange::SetStatus(*st)),
        StaffCommand::Close => Some(TicketChange::Close),
        StaffCommand::Reject => Some(TicketChange::SetStatus(Status::Rejected)),
        StaffCommand::Reopen => Some(TicketChange::Reopen),
        StaffCommand::Hold => Some(TicketChange::SetStatus(Status::OnHold)),
        StaffCommand::Type(t) => Some(TicketChange::SetType(t.clone())),
        StaffCommand::Queue(q) => Some(TicketChange::SetQueue(q.clone())),
        _ => None,
    }
}

/// Carries out one command; [`CommandError::Refused`] when the ticket refuses it.
fn command(
    tx: &mut Tx<'_>,
    s: &Settings<'_>,
    n: TicketId,
    c: &StaffCommand,
    author: Author<'_>,
    at: DateTime<Utc>,
) -> Result<(), CommandError> {
    if let Some(cmd) = state_change(c) {
        ticket::command(tx, s, n, &cmd, author, at)?;
        return Ok(());
    }
    let t = ticket::reload(tx, n)?;
    let line = match c {
        // Handled with the mail itself.
        // Read before anything applies (the text to relay; a mark the
        // knowledge base reads when the ticket closes).
        StaffCommand::Note | StaffCommand::Kb(_) | StaffCommand::NoKb => return Ok(()),
        StaffCommand::Priority(high) => {
            if t.priority == *high {
                return Ok(());
            }
            tx.set_priority(n, *high)?;
            let level = if *high { "high" } else { "normal" };
            format!("priority set to {level} by {}", author.who)
        }
        StaffCommand::Assign(name) => {
            let m = s
                .staff
                .find(name, &s.matching)
                .map_err(|could_be| CommandError::Refused(unknown_staff(s, name, &could_be)))?;
            tx.set_assignee(n, Some(&m.address))?;
            format!("assigned to {} <{}> by {}", m.name, m.address, author.who)
        }
        StaffCommand::Account(id) => ticket::account::file_under(tx, n, Some(id), author.who, at)?
            .map_err(|e| CommandError::Refused(e.to_string()))?,
        StaffCommand::Merge(into) => return merge(tx, s, n, *into, author, at),
        StaffCommand::Drop(address) => {
            let people = tx.read().participants(n)?;
            match people.iter().find(|(m, _)| m.address == *address) {
                None => {
                    return Err(CommandError::Refused(format!(
                        "{address} is not on ticket #{n}"
                    )));
                }
                Some((_, role)) if role == "requester" => {
                    return Err(CommandError::Refused(format!(
                        "{address} opened the ticket and cannot be dropped"
                    )));
                }
                Some(_) => {}
            }
            tx.remove_participant(n, address)?;
            format!("{address} dropped from the recipients by {}", author.who)
        }
        StaffCommand::Cc(address) => {
            if s.answer.own.contains(address) || s.staff.is_staff_address(address, &s.matching) {
                return Err(CommandError::Refused(format!(
                    "{address} is an address of the desk or its staff, not of the customer side"
                )));
            }
            include(tx, n, address, at)?;
            format!("{address} included in the customer side by {}", author.who)
        }
        StaffCommand::Verify(reason) => {
            ticket::proof::request(tx, s, n, author.who, reason.as_deref(), at)?
        }
        StaffCommand::Status(_)
        | StaffCommand::Close
        | StaffCommand::Reject
        | StaffCommand::Reopen
        | StaffCommand::Hold
        | StaffCommand::Type(_)
        | StaffCommand::Queue(_) => return Ok(()),
    };
    ticket::note(tx, n, at, &line)?;
    Ok(())
}

/// Why `#assign NAME` names nobody, with the names it may take.
fn unknown_staff(s: &Settings<'_>, name: &str, could_be: &[&crate::config::StaffMember]) -> String {
    let names = |list: Vec<&str>| {
        if list.is_empty() {
            "(none configured)".to_string()
        } else {
            list.join(", ")
        }
    };
    let all = names(s.staff.members.iter().map(|m| m.name.as_str()).collect());
    if could_be.is_empty() {
        format!("no staff member \"{name}\"; the staff are: {all}")
    } else {
        let which = names(could_be.iter().map(|m| m.name.as_str()).collect());
        format!("\"{name}\" could be {which}: give more of the name; the staff are: {all}")
    }
}

/// `#merge N`: ticket `n` goes into `into` — closed with that reason (its
/// customer side gets the close notice), its messages, history and people
/// moved there; later mail for it goes there.
fn merge(
    tx: &mut Tx<'_>,
    s: &Settings<'_>,
    n: TicketId,
    into: TicketId,
    author: Author<'_>,
    at: DateTime<Utc>,
) -> Result<(), CommandError> {
    if into == n {
        return Err(CommandError::Refused(
            "a ticket cannot be merged into itself".into(),
        ));
    }
    let Some(target) = tx.read().ticket(into)? else {
        return Err(CommandError::Refused(format!("no ticket #{into}")));
    };
    if let Some(further) = target.merged_into {
        return Err(CommandError::Refused(format!(
            "ticket #{into} was merged into #{further}: merge into that one"
        )));
    }
    let t = ticket::reload(tx, n)?;
    let reason = format!("merged into ticket #{into}");
    if t.status != Status::Closed {
        let closing = Author {
            who: author.who,
            reason: Some(&reason),
        };
        ticket::command(tx, s, n, &TicketChange::Close, closing, at)?;
    }
    tx.merge_ticket(n, into)?;
    ticket::note(tx, n, at, &format!("{reason} by {}", author.who))?;
    ticket::note(
        tx,
        into,
        at,
        &format!("ticket #{n} merged into this one by {}", author.who),
    )?;
    Ok(())
}

/// `who` joins the customer side of ticket `n`, at a staff member's word.
fn include(
    tx: &mut Tx<'_>,
    n: TicketId,
    who: &crate::domain::Address,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.include_participant(n, who, at)
}

/// The command as staff wrote it, for an error line.
fn shown(c: &StaffCommand) -> String {
    match c {
        StaffCommand::Status(s) => format!("#status {s}"),
        StaffCommand::Close => "#close".into(),
        StaffCommand::Reject => "#reject".into(),
        StaffCommand::Reopen => "#reopen".into(),
        StaffCommand::Hold => "#hold".into(),
        StaffCommand::Type(t) => format!("#type {t}"),
        StaffCommand::Queue(q) => format!("#queue {q}"),
        StaffCommand::Priority(h) => format!("#priority {}", if *h { "high" } else { "normal" }),
        StaffCommand::Assign(a) => format!("#assign {a}"),
        StaffCommand::Account(a) => format!("#account {a}"),
        StaffCommand::Merge(n) => format!("#merge {n}"),
        StaffCommand::Note => "#note".into(),
        StaffCommand::Drop(a) => format!("#drop {a}"),
        StaffCommand::Cc(a) => format!("#cc {a}"),
        StaffCommand::Verify(None) => "#verify".into(),
        StaffCommand::Verify(Some(r)) => format!("#verify {r}"),
        StaffCommand::Kb(name) => format!("#kb {name}"),
        StaffCommand::NoKb => "#nokb".into(),
    }
}

fn staff_event(
    tx: &mut Tx<'_>,
    n: TicketId,
    at: DateTime<Utc>,
    kind: EventKind,
    who: Staffer<'_>,
    detail: String,
    message: i64,
) -> Result<(), StoreError> {
    tx.add_event(
        n,
        &HistoryEvent {
            at,
            kind,
            actor: who.from.address.to_string(),
            detail,
            message: Some(message),
            outbox: None,
        },
    )
}

/// Why a staff command was not carried out.
#[derive(Debug, thiserror::Error)]
enum CommandError {
    /// The ticket refuses it; its author is told why, and nothing of the
    /// mail is applied.
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl CommandError {
    /// The refusal of the `index`th command of a mail, as its author reads it.
    fn numbered(self, index: usize, c: &StaffCommand) -> CommandError {
        match self {
            CommandError::Refused(why) => {
                CommandError::Refused(format!("command {index} ({}): {why}", shown(c)))
            }
            store => store,
        }
    }
}

impl From<ProofError> for CommandError {
    fn from(e: ProofError) -> CommandError {
        match e {
            ProofError::Store(e) => CommandError::Store(e),
            ProofError::Refused(why) => CommandError::Refused(why),
        }
    }
}

impl From<ChangeError> for CommandError {
    fn from(e: ChangeError) -> CommandError {
        match e {
            ChangeError::Store(e) => CommandError::Store(e),
            refused => CommandError::Refused(refused.to_string()),
        }
    }
}
