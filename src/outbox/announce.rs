//! announce: the mail of an announcement (mass mail) to one recipient, and
//! the per-address unsubscribe token it carries. One mail per recipient,
//! never a list in To or Cc (DESIGN invariant 9).

use chrono::{DateTime, Utc};
use mail_builder::MessageBuilder;
use mail_builder::headers::raw::Raw;

use crate::domain::{Address, Audience};
use crate::outbox::compose::{Desk, Outgoing};
use crate::screen::LOOP_HEADER;

/// The outbox kind of an announcement mail.
pub const KIND: &str = "announce";

/// What an address writes (in the subject) to leave the announcements:
/// `unsubscribe TOKEN`, the token made only by this desk for that address.
pub fn unsubscribe_token(desk: &Desk<'_>, address: &Address) -> String {
    desk.ids.reference(&["unsubscribe", &address.key()])
}

/// Whether `subject` is an unsubscribe request from `from` carrying its
/// own token (a token made for someone else unsubscribes nobody).
pub fn is_unsubscribe(desk: &Desk<'_>, from: &Address, subject: &str) -> bool {
    let want = unsubscribe_token(desk, from);
    let mut words = subject.split_whitespace();
    while let Some(w) = words.next() {
        if w.eq_ignore_ascii_case("unsubscribe") {
            return words.next().is_some_and(|t| t == want);
        }
    }
    false
}

/// One announcement's mail.
pub struct Announcement<'a> {
    /// Its row id: with the address, it makes the Message-ID, so a mail
    /// built again after a crash is the same mail.
    pub id: i64,
    pub from: &'a Address,
    pub subject: &'a str,
    pub body: &'a str,
}

/// The mail of announcement `a` to `to`: `Precedence: bulk`,
/// `Auto-Submitted: auto-generated`, its own Message-ID, and a
/// `List-Unsubscribe` mailto to the desk with the address's token (RFC 2369).
pub fn mail(desk: &Desk<'_>, a: &Announcement<'_>, to: &Address, now: DateTime<Utc>) -> Outgoing {
    let key = to.key();
    let id = a.id.to_string();
    let cause = ["announce", id.as_str(), key.as_str()];
    let (message_id, reference) = (desk.ids.make(&cause), desk.ids.reference(&cause));
    let token = unsubscribe_token(desk, to);
    let unsubscribe = format!(
        "<mailto:{}?subject=unsubscribe%20{token}>",
        desk.address.as_str()
    );
    let body = format!(
        "{}\n\n-- \nTo receive no more announcements from {}, answer with the subject\n\"unsubscribe {token}\" (or use your mail program's unsubscribe button).\n",
        a.body.trim_end(),
        desk.name
    );
    let raw = MessageBuilder::new()
        .from((desk.name, a.from.as_str()))
        .to(to.as_str())
        .subject(a.subject)
        .message_id(message_id.as_str())
        .date(now.timestamp())
        .header("Precedence", Raw::new("bulk"))
        .header("Auto-Submitted", Raw::new("auto-generated"))
        .header("X-Auto-Response-Suppress", Raw::new("All"))
        .header("List-Unsubscribe", Raw::new(unsubscribe))
        .header(LOOP_HEADER, Raw::new(desk.address.to_string()))
        .text_body(body)
        .write_to_vec()
        .unwrap_or_default();
    Outgoing {
        kind: KIND,
        message_id,
        reference,
        subject: a.subject.to_string(),
        to: vec![to.clone()],
        raw,
        audience: Audience::Customer,
    }
}
