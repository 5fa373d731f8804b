//! self_service: an account's primary address changes the account's
//! authorized senders by mail (`add`, `remove`, `list`), and is answered.

use super::context::{Context, Incoming, Outcome};
use super::{new_message, queue};
use crate::domain::{AccountId, Language, Mailbox};
use crate::identify::SelfServiceCommand;
use crate::outbox::compose::{self, Recipient};
use crate::outbox::gate;
use crate::store::{SenderSource, StoreError, Tx};
use crate::thread::strip_reply_prefixes;

/// A self-service request from an account's primary address: applies the
/// commands, keeps the message (under no ticket) with the account's
/// history, and answers with what changed and the resulting list.
#[allow(clippy::too_many_arguments)]
pub(super) fn self_service(
    tx: &mut Tx<'_>,
    ctx: &Context<'_>,
    msg: &Incoming<'_>,
    from: &Mailbox,
    no_answer: Option<&str>,
    lang: Language,
    accounts: &[AccountId],
    commands: &[SelfServiceCommand],
) -> Result<Outcome, StoreError> {
    let message = tx.insert_message(&new_message(msg, None))?;
    let actor = format!("mail:{}", from.address);
    // One account, or several the primary address must choose from.
    let target = match accounts {
        [one] => Some(one.as_str()),
        _ => None,
    };
    let (mut lines, added, removed) = carry_out(tx, msg, (message, &actor), target, commands)?;
    if lines.is_empty() {
        lines.push("  = list".into());
    }
    let listing = listing(tx, accounts)?;
    let ids: Vec<&str> = accounts.iter().map(AccountId::as_str).collect();
    let summary = format!(
        "self-service request by mail from {}: {added} added, {removed} removed",
        from.address
    );
    for account in &ids {
        tx.add_account_event(account, msg.at, &actor, &summary, Some(message))?;
    }
    let account_list = ids.join(", ");
    let changes = lines.join("\n");
    let mail = compose::answer(
        &ctx.desk,
        "senders",
        lang,
        from,
        msg.inbound,
        &compose::re(strip_reply_prefixes(&msg.inbound.subject)),
        &msg.inbound.content_hash,
        &[
            ("account", &account_list),
            ("changes", &changes),
            ("list", &listing),
        ],
        msg.at,
    );
    let answer = match gate::answer_refusal(
        tx,
        &ctx.lifecycle.answer,
        msg.at,
        Recipient::Customer(from),
        no_answer,
    )? {
        Some(_) => None,
        None => Some(queue(tx, ctx, msg, &mail, None)?),
    };
    Ok(Outcome::Account {
        account: account_list,
        message,
        answer,
    })
}

/// Carries out the commands on `target` (none when the primary address
/// must first choose among its accounts): one line per command, marked
/// `+` added, `-` removed, `=` unchanged, `!` refused, `?` not understood;
/// and how many were added and removed.
fn carry_out(
    tx: &mut Tx<'_>,
    msg: &Incoming<'_>,
    (message, actor): (i64, &str),
    target: Option<&str>,
    commands: &[SelfServiceCommand],
) -> Result<(Vec<String>, usize, usize), StoreError> {
    let mut lines = Vec::new();
    let (mut added, mut removed) = (0, 0);
    for c in commands {
        let (mark, text) = match (c, target) {
            (SelfServiceCommand::Unknown(line), _) => ('?', line.clone()),
            (SelfServiceCommand::List, _) => ('=', "list".to_string()),
            (SelfServiceCommand::Add(p), None) => ('!', format!("add {p}")),
            (SelfServiceCommand::Remove(p), None) => ('!', format!("remove {p}")),
            (SelfServiceCommand::Add(p), Some(account)) => {
                if tx.add_account_sender(account, p, SenderSource::Mail, msg.at)? {
                    added += 1;
                    let detail = format!("authorized {p}");
                    tx.add_account_event(account, msg.at, actor, &detail, Some(message))?;
                    ('+', format!("add {p}"))
                } else {
                    ('=', format!("add {p}"))
                }
            }
            (SelfServiceCommand::Remove(p), Some(account)) => {
                match tx.read().account_sender_source(account, p)? {
                    None => ('=', format!("remove {p}")),
                    // The desk's configuration owns its entries.
                    Some(SenderSource::Config) => ('!', format!("remove {p}")),
                    Some(_) => {
                        tx.remove_account_sender(account, p, msg.at)?;
                        removed += 1;
                        let detail = format!("revoked {p}");
                        tx.add_account_event(account, msg.at, actor, &detail, Some(message))?;
                        ('-', format!("remove {p}"))
                    }
                }
            }
        };
        lines.push(format!("  {mark} {text}"));
    }
    Ok((lines, added, removed))
}

/// The authorized senders of `accounts`, as the answer lists them.
fn listing(tx: &Tx<'_>, accounts: &[AccountId]) -> Result<String, StoreError> {
    let mut list = Vec::new();
    for account in accounts {
        let entries = tx
            .read()
            .account(account.as_str())?
            .map(|a| a.authorized)
            .unwrap_or_default();
        if accounts.len() > 1 {
            list.push(format!("  {account}:"));
        }
        if entries.is_empty() {
            list.push("    -".into());
        }
        for e in entries {
            list.push(format!("    {e}"));
        }
    }
    Ok(list.join("\n"))
}
