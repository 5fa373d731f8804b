//! `#search QUERY` by mail: a staff member whose From is genuine (trusted
//! Authentication-Results, see `screen`) writes the desk a new mail whose
//! first line (or subject) is `#search QUERY`, and gets the matching
//! tickets back — to that address only, never to anyone else (invariant
//! 7: search results carry every customer's mail). The request is kept
//! under no ticket.

use crate::domain::Mailbox;
use crate::outbox::compose::{self, Recipient};
use crate::outbox::gate;
use crate::store::search::{SearchFilter, match_all};
use crate::store::{MessageRole, StoreError, Tx};

use super::{Context, Incoming, Outcome};

/// Tickets listed in the answer, at most.
const MAX_HITS: usize = 20;
/// Messages indexed before a search by mail, at most.
const MAX_CATCH_UP: usize = 20_000;

/// The query when `msg` is a `#search` request.
pub(super) fn request<'a>(msg: &Incoming<'a>) -> Option<&'a str> {
    crate::domain::knowledge::search_request(&msg.inbound.subject, &msg.inbound.new_text)
}

/// Stores the request and queues the result list to its sender.
pub(super) fn answer(
    tx: &mut Tx<'_>,
    ctx: &Context<'_>,
    msg: &Incoming<'_>,
    from: &Mailbox,
    query: &str,
) -> Result<Outcome, StoreError> {
    let message = tx.insert_message(&super::new_message(msg, None))?;
    tx.set_message_role(message, MessageRole::StaffCommands, Some(""), None)?;
    let s = &ctx.lifecycle;
    let dest = [from.address.clone()];
    let mut refusal = gate::answer_refusal(tx, &s.answer, msg.at, Recipient::Staff(&dest), None)?;
    // Like a staff-error answer: a robot at that address answering it
    // would loop with us, so the daily limit applies.
    let told = tx.read().mails_of_kind_to(
        &from.address,
        "search",
        msg.at - chrono::Duration::hours(24),
    )?;
    if refusal.is_none() && told >= s.answer.max_per_day.max(1) {
        refusal = Some("the daily limit of automatic answers to it is reached".into());
    }
    if let Some(why) = refusal {
        tracing::info!(to = %from.address, "no search answer: {why}");
        return Ok(Outcome::Search {
            message,
            answer: None,
        });
    }
    // The messages the background indexer has not reached yet, within a
    // bound (a search never stalls intake for long).
    tx.index_pending(MAX_CATCH_UP)?;
    let (results, count) = match match_all(query) {
        None => (String::new(), 0),
        Some(q) => {
            let hits = tx.read().search_tickets(
                &q,
                &SearchFilter {
                    limit: MAX_HITS,
                    ..Default::default()
                },
            )?;
            let lines: Vec<String> = hits
                .iter()
                .map(|h| {
                    // An encrypted ticket's subject and words never leave
                    // in clear (issue 16): its number only.
                    let (subject, snippet) = if h.encrypted {
                        let show = format!("postdesk ticket show {}", h.number);
                        ("(encrypted)".to_string(), format!("read it with `{show}`"))
                    } else {
                        (one_line(&h.subject), one_line(&h.snippet))
                    };
                    format!("  #{}  {}  {subject}\n      {snippet}", h.number, h.status)
                })
                .collect();
            (lines.join("\n"), hits.len())
        }
    };
    let count = count.to_string();
    let none = if results.is_empty() { "yes" } else { "" };
    let mut mail = compose::answer(
        &ctx.desk,
        "search",
        s.language,
        from,
        msg.inbound,
        &compose::re(&msg.inbound.subject),
        &msg.inbound.content_hash,
        &[
            ("query", query),
            ("results", &results),
            ("count", &count),
            ("none", none),
        ],
        msg.at,
    );
    mail.audience = crate::domain::Audience::Staff;
    let id = super::queue(tx, ctx, msg, &mail, None)?;
    Ok(Outcome::Search {
        message,
        answer: Some(id),
    })
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
