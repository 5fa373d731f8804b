//! Filing a ticket under an account: the one code path behind the
//! operator's `ticket set-account` and the staff's `#account`. Whoever
//! chooses the account vouches for it, so the ticket is no longer
//! "unverified"; it takes the account's priority and its delegates join
//! as participants.

use chrono::{DateTime, Utc};

use crate::domain::{Mailbox, TicketId};
use crate::store::{StoreError, Tx};

/// Why a ticket could not be filed.
#[derive(Debug, PartialEq, Eq)]
pub enum NotFiled {
    NoTicket(TicketId),
    NoAccount(String),
    Already(String),
}

impl std::fmt::Display for NotFiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotFiled::NoTicket(n) => write!(f, "no ticket #{n}"),
            NotFiled::NoAccount(a) => write!(f, "no account \"{a}\""),
            NotFiled::Already(a) => write!(f, "ticket is already filed under {a}"),
        }
    }
}

/// Files ticket `n` under account `id` (`None`: under no account) and
/// returns the history line, "filed under account X by WHO", which the
/// caller records in its own kind of event.
pub fn file_under(
    tx: &mut Tx<'_>,
    n: TicketId,
    id: Option<&str>,
    who: &str,
    at: DateTime<Utc>,
) -> Result<Result<String, NotFiled>, StoreError> {
    let Some(t) = tx.read().ticket(n)? else {
        return Ok(Err(NotFiled::NoTicket(n)));
    };
    let Some(id) = id else {
        tx.set_ticket_account(n, None)?;
        return Ok(Ok(format!("account removed by {who}")));
    };
    let Some(account) = tx.read().account_brief(id)? else {
        return Ok(Err(NotFiled::NoAccount(id.to_string())));
    };
    if t.account.as_deref() == Some(account.id.as_str()) {
        return Ok(Err(NotFiled::Already(account.id)));
    }
    tx.set_ticket_account(n, Some(&account.id))?;
    // Whoever chose the account vouches for it: no longer unverified.
    tx.set_ticket_flags(n, t.priority || account.priority, false)?;
    for d in tx.read().account_delegates(&account.id)? {
        let delegate = Mailbox {
            name: None,
            address: d,
        };
        tx.add_participant(n, &delegate, "delegate", at)?;
    }
    Ok(Ok(format!("filed under account {} by {who}", account.id)))
}
