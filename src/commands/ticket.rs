//! `postdesk ticket`: list and show tickets, and change one with the same
//! rules and mail as the commands staff send by mail.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::cli::{ChangeArgs, TicketCommand};
use super::{
    Failure, Outcome, deliver_now, exit, open_store, pipeline, print_json, rfc3339, sync_accounts,
};
use crate::config::Config;
use crate::domain::clock::{Clock, SystemClock};
use crate::domain::{Status, TicketId};
use crate::store::{EventKind, OutboxState, Store, StoreError, TicketFilter};
use crate::ticket::{self, Author, ChangeError};

#[derive(Serialize)]
struct HistoryLine {
    at: DateTime<Utc>,
    kind: EventKind,
    /// `in` for mail received, `out` for mail sent, absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    direction: Option<&'static str>,
    who: String,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<String>,
    /// The new text of a message received (its quoted history left out).
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    delivery: Option<OutboxState>,
    /// The message came encrypted (OpenPGP); `text` is the decrypted one.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    encrypted: bool,
    /// Its OpenPGP signature as checked (`signed, good signature by …`).
    #[serde(skip_serializing_if = "Option::is_none")]
    signature: Option<String>,
    /// The names of the message's attachments.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    attachments: Vec<String>,
}

pub(super) fn ticket(config: &Arc<Config>, cmd: TicketCommand) -> Outcome {
    let (number, command, args) = match cmd {
        TicketCommand::SetStatus {
            number,
            status,
            change,
        } => (number, ticket::TicketChange::SetStatus(status), change),
        TicketCommand::Close { number, change } => (number, ticket::TicketChange::Close, change),
        TicketCommand::Reopen { number, change } => (number, ticket::TicketChange::Reopen, change),
        TicketCommand::SetType {
            number,
            ticket_type,
            change,
        } => (number, ticket::TicketChange::SetType(ticket_type), change),
        TicketCommand::SetQueue {
            number,
            queue,
            change,
        } => (number, ticket::TicketChange::SetQueue(queue), change),
        TicketCommand::SetAccount {
            number, account, ..
        } => return set_ticket_account(config, number, account),
        TicketCommand::List {
            status,
            all,
            queue,
            json,
        } => return list(config, status, all, queue, json),
        TicketCommand::Show { number, json } => return show(config, number, json),
        search @ (TicketCommand::Search { .. }
        | TicketCommand::Export { .. }
        | TicketCommand::Attachments { .. }) => return super::search::search(config, search),
    };
    ticket_change(config, number, &command, args)
}

/// The operator's name for the history: who ran the command.
fn operator_name() -> String {
    ["SUDO_USER", "USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.trim().is_empty()))
        .map_or_else(|| "operator".to_string(), |u| format!("operator {u}"))
}

/// `ticket set-status|close|reopen|set-type`: the same rules and mails as
/// the commands staff send by mail, in one transaction.
fn ticket_change(
    config: &Arc<Config>,
    number: TicketId,
    command: &ticket::TicketChange,
    args: ChangeArgs,
) -> Outcome {
    let mut store = open_store(config)?;
    let pipeline = pipeline(config, &mut store)?;
    let now = SystemClock.now();
    let at = match args.at {
        Some(at) if at > now + chrono::Duration::minutes(1) => {
            return Err(Failure::new(
                exit::USAGE,
                format!(
                    "--at {} is in the future: a change can only be recorded once it happened",
                    rfc3339(at)
                ),
            ));
        }
        Some(at) => at,
        None => now,
    };
    // The notices speak the language of the ticket's account, as declared now.
    sync_accounts(config, &mut store)?;
    let who = operator_name();
    let settings = pipeline.settings();
    let author = Author {
        who: &who,
        reason: args.reason.as_deref().filter(|r| !r.trim().is_empty()),
    };
    let done = store
        .write(|tx| ticket::command(tx, &settings, number, command, author, at))
        .map_err(|e| match e {
            ChangeError::Store(e) => Failure::from(e),
            other => Failure::new(exit::DATAERR, other.to_string()),
        })?;
    println!("ticket #{}: {}", done.ticket, done.change);
    for why in &done.skipped {
        println!("  {why}");
    }
    println!("  {} mail(s) queued", done.mails.len());
    if !done.mails.is_empty() {
        deliver_now(config, store);
    }
    Ok(exit::OK)
}

/// `ticket list`: flagged tickets first, then by last change.
fn list(
    config: &Config,
    status: Vec<Status>,
    all: bool,
    queue: Option<String>,
    json: bool,
) -> Outcome {
    if let Some(q) = &queue
        && config.queue(q).is_none()
    {
        let names: Vec<&str> = config.queues.iter().map(|q| q.name.as_str()).collect();
        return Err(Failure::new(
            exit::USAGE,
            format!("no queue \"{q}\"; this desk has: {}", names.join(", ")),
        ));
    }
    let store = open_store(config)?;
    let read = store.read();
    let tickets = read.tickets(&TicketFilter {
        statuses: status,
        all,
        queue,
    })?;
    if json {
        return print_json(&tickets);
    }
    if tickets.is_empty() {
        println!("no tickets");
    }
    // Flagged tickets come first (the store orders them so). Each column is
    // as wide as its longest value, so any account id keeps them aligned.
    let cal = &config.calendar;
    let rows: Vec<[String; 8]> = tickets
        .iter()
        .map(|t| {
            [
                format!("#{}", t.number),
                ticket_flags(t),
                t.status.as_str().to_string(),
                t.ticket_type.to_string(),
                cal.format(t.updated),
                t.account.as_deref().unwrap_or("-").to_string(),
                t.requester.to_string(),
                t.subject.clone(),
            ]
        })
        .collect();
    for line in aligned(&rows) {
        println!("{line}");
    }
    Ok(exit::OK)
}

/// Rows as lines whose columns (all but the last) are padded to the
/// widest value, two spaces apart.
fn aligned<const N: usize>(rows: &[[String; N]]) -> Vec<String> {
    let mut widths = [0usize; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    rows.iter()
        .map(|row| {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                if i + 1 == N {
                    line.push_str(cell);
                } else {
                    line.push_str(&format!("{cell:<w$}  ", w = widths[i]));
                }
            }
            line.trim_end().to_string()
        })
        .collect()
}

/// `ticket show`: the ticket, its people (failing addresses marked) and
/// its history, as text or `--json`.
fn show(config: &Config, number: TicketId, json: bool) -> Outcome {
    let store = open_store(config)?;
    let read = store.read();
    let Some(t) = read.ticket(number)? else {
        return Err(Failure::new(exit::DATAERR, format!("no ticket #{number}")));
    };
    let history = history(&store, number)?;
    let participants = read.participants(number)?;
    if json {
        #[derive(Serialize)]
        struct Shown<'a> {
            #[serde(flatten)]
            ticket: &'a crate::store::Ticket,
            participants: Vec<serde_json::Value>,
            history: &'a [HistoryLine],
        }
        let addresses: Vec<crate::domain::Address> = participants
            .iter()
            .map(|(m, _)| m.address.clone())
            .collect();
        let failing = read.failing(&addresses)?;
        let participants = participants
                    .iter()
                    .map(|(m, role)| {
                        let f = failing.iter().find(|f| f.address == m.address);
                        serde_json::json!({"address": m.address, "name": m.name, "role": role, "failing": f})
                    })
                    .collect();
        return print_json(&Shown {
            ticket: &t,
            participants,
            history: &history,
        });
    }
    print_ticket(config, &t, number);
    let addresses: Vec<crate::domain::Address> = participants
        .iter()
        .map(|(m, _)| m.address.clone())
        .collect();
    let failing = read.failing(&addresses)?;
    let people: Vec<String> = participants
        .iter()
        .map(
            |(m, role)| match failing.iter().find(|f| f.address == m.address) {
                Some(f) => format!(
                    "{m} ({role}; FAILING since {}: {})",
                    config.calendar.format(f.at),
                    f.status
                ),
                None => format!("{m} ({role})"),
            },
        )
        .collect();
    println!("People:    {}", people.join(", "));
    print_history(&config.calendar, &history);
    Ok(exit::OK)
}

/// The head of `ticket show`: the ticket's fields, one per line.
fn print_ticket(config: &Config, t: &crate::store::Ticket, number: TicketId) {
    let queue = config.queue(&t.queue).or(config.queues.first());
    let prefix = queue.map_or(&config.service.ticket_prefix, |q| &q.ticket_prefix);
    let token = crate::thread::Token::new(prefix).format(number);
    println!("Ticket #{number}  {token}");
    println!("Subject:   {}", t.subject);
    // A desk of one queue shows none, as before queues.
    if config.queues.len() > 1 || t.queue != crate::domain::Queue::IMPLICIT {
        let address = queue
            .map(|q| format!(" <{}>", q.address))
            .unwrap_or_default();
        println!("Queue:     {}{address}", t.queue);
    }
    println!("Status:    {}    Type: {}", t.status, t.ticket_type);
    let cal = &config.calendar;
    if let (Some(side), Some(since)) = (
        crate::domain::lifecycle::waits_for(t.status),
        t.waiting_since,
    ) {
        let next = t
            .next_deadline
            .map(|d| format!("; next rule deadline {}", cal.format(d)))
            .unwrap_or_default();
        println!(
            "Waiting:   for {} since {}{next}",
            side.as_str(),
            cal.format(since)
        );
    }
    if let Some(closed) = t.closed_at {
        println!("Closed:    {}", cal.format(closed));
    }
    if let Some(old) = t.reopened_from {
        println!("Follows:   #{old} (a reply to it after it was closed)");
    }
    let account = match (&t.account, t.account_candidates.as_slice()) {
        (Some(a), _) => a.clone(),
        (None, []) => "-".into(),
        (None, c) => format!(
            "- (sender matches {}: choose with `ticket set-account`)",
            c.join(", ")
        ),
    };
    println!("Account:   {account}");
    let mut flags = Vec::new();
    if t.priority {
        flags.push("priority");
    }
    if t.unverified {
        flags.push("unverified sender");
    }
    if !flags.is_empty() {
        println!("Flags:     {}", flags.join(", "));
    }
    let proof = match crate::domain::proof::ProofKind::parse(&t.proof) {
        Some(kind) => format!(
            "{} by {} on {}",
            kind.describe(),
            t.proof_by.as_deref().unwrap_or("-"),
            t.proof_at.map(|a| cal.format(a)).unwrap_or_default()
        ),
        None if t.needs_proof => "none (NEEDS PROOF: intake.require_proof_for)".into(),
        None => "none".into(),
    };
    println!("Proof:     {proof}");
    if let Some(a) = &t.assignee {
        println!("Assigned:  {a}");
    }
    if let Some(into) = t.merged_into {
        println!("Merged:    into #{into}");
    }
    println!(
        "Created:   {}    Updated: {}",
        cal.format(t.created),
        cal.format(t.updated)
    );
}

/// The history part of `ticket show`, with each message's new text.
fn print_history(cal: &crate::domain::calendar::Calendar, history: &[HistoryLine]) {
    println!("\nHistory");
    for h in history {
        let delivery = h
            .delivery
            .map(|d| {
                format!(
                    " [{}]",
                    serde_json::to_value(d)
                        .ok()
                        .and_then(|v| v.as_str().map(String::from))
                        .unwrap_or_default()
                )
            })
            .unwrap_or_default();
        let encrypted = if h.encrypted { " [encrypted]" } else { "" };
        println!(
            "{}  {}  {}{}{}",
            cal.format(h.at),
            h.who,
            h.detail,
            delivery,
            encrypted
        );
        if let Some(sig) = &h.signature {
            println!("    {sig}");
        }
        if let Some(text) = &h.text {
            for line in text.lines() {
                println!("    | {line}");
            }
        }
        if !h.attachments.is_empty() {
            println!("    attached: {}", h.attachments.join(", "));
        }
    }
}

/// The flag column of `ticket list`: `!` priority, `?` unverified sender,
/// `~` no account chosen among several, `P` needs proof of ownership and
/// has none, `+` ownership proven.
fn ticket_flags(t: &crate::store::Ticket) -> String {
    let mut f = String::new();
    if t.proof != "none" {
        f.push('+');
    } else if t.needs_proof {
        f.push('P');
    }
    if t.priority {
        f.push('!');
    }
    if t.unverified {
        f.push('?');
    }
    if !t.account_candidates.is_empty() {
        f.push('~');
    }
    if f.is_empty() {
        f.push('-');
    }
    f
}

fn set_ticket_account(
    config: &Config,
    number: TicketId,
    account: Option<crate::domain::AccountId>,
) -> Outcome {
    let mut store = open_store(config)?;
    sync_accounts(config, &mut store)?;
    let now = SystemClock.now();
    let done = store.write(|tx| {
        let id = account.as_ref().map(|a| a.as_str());
        let line = match crate::ticket::account::file_under(tx, number, id, "cli", now)? {
            Ok(line) => line,
            Err(why) => return Ok(Err(why.to_string())),
        };
        tx.add_event(
            number,
            &crate::store::HistoryEvent {
                at: now,
                kind: EventKind::Note,
                actor: "cli".into(),
                detail: line,
                message: None,
                outbox: None,
            },
        )?;
        Ok::<_, StoreError>(Ok(tx.read().ticket(number)?.and_then(|t| t.account)))
    })?;
    match done {
        Ok(id) => {
            println!(
                "ticket #{number}: account {}",
                id.as_deref().unwrap_or("none")
            );
            Ok(exit::OK)
        }
        Err(why) => Err(Failure::new(exit::DATAERR, why)),
    }
}

fn history(store: &Store, n: TicketId) -> Result<Vec<HistoryLine>, Failure> {
    let read = store.read();
    let messages = read.ticket_messages(n)?;
    let mails = read.ticket_outbox(n)?;
    let lines = read
        .events(n)?
        .into_iter()
        .map(|e| {
            let msg = e
                .message
                .and_then(|id| messages.iter().find(|m| m.id == id));
            let mail = e.outbox.and_then(|id| mails.iter().find(|m| m.id == id));
            HistoryLine {
                at: e.at,
                kind: e.kind,
                direction: match e.kind {
                    EventKind::MessageIn | EventKind::StaffReply | EventKind::StaffNote
                        if msg.is_some() =>
                    {
                        Some("in")
                    }
                    EventKind::MailOut => Some("out"),
                    _ => None,
                },
                who: e.actor,
                detail: e.detail,
                message_id: msg
                    .map(|m| m.message_id.clone())
                    .or_else(|| mail.map(|m| m.message_id.clone())),
                subject: msg
                    .map(|m| m.subject.clone())
                    .or_else(|| mail.map(|m| m.subject.clone())),
                // A staff mail as relayed: without its command lines.
                text: msg.map(|m| m.text().to_string()),
                delivery: mail.map(|m| m.status),
                encrypted: msg.is_some_and(|m| m.encrypted),
                signature: msg.and_then(|m| m.signature.clone()),
                attachments: msg
                    .map(|m| {
                        m.attachments
                            .iter()
                            .map(|a| a.name.clone().unwrap_or_else(|| a.content_type.clone()))
                            .collect()
                    })
                    .unwrap_or_default(),
            }
        })
        .collect();
    Ok(lines)
}
