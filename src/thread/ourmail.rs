//! ourmail: the mails of ours a reply answers, read back so the splitter
//! can tell what the writer quoted of them (`parse::split_reply`): the
//! mails its In-Reply-To and References name with ids that verify, and
//! those whose marker line it quotes (a client that lost the headers).
//! Used by intake for every message and by the staff path again.

use crate::domain::msgid::MessageIds;
use crate::parse::{self, Inbound, ParseLimits};
use crate::store::{SentMail, StoreError, Tx};

/// The mails of ours read per message, at most: a reply answers one, and a
/// long References list must not make a message cost more.
const MOST: usize = 4;

/// The plain texts of the mails of ours `inbound` answers or quotes.
pub fn texts(
    tx: &Tx<'_>,
    ids: &MessageIds,
    limits: &ParseLimits,
    inbound: &Inbound,
) -> Result<Vec<String>, StoreError> {
    let mut rows: Vec<SentMail> = Vec::new();
    let named = inbound
        .in_reply_to
        .iter()
        .chain(inbound.references.iter().rev())
        .filter(|id| ids.verify(id).is_some());
    for id in named {
        if rows.len() >= MOST {
            break;
        }
        if let Some(m) = tx.read().sent_mail(id)?
            && !rows.iter().any(|r| r.id == m.id)
        {
            rows.push(m);
        }
    }
    for r in parse::marker_refs(&inbound.text) {
        if rows.len() >= MOST {
            break;
        }
        if let Some(m) = tx.read().sent_mail_by_ref(&r)?
            && !rows.iter().any(|x| x.id == m.id)
        {
            rows.push(m);
        }
    }
    Ok(rows
        .iter()
        .filter_map(|m| parse::parse(&m.raw, limits).ok())
        .map(|ours| ours.text)
        .collect())
}
