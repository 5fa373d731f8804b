//! compose: builds the bytes of the mails postdesk sends, with mail-builder
//! (never by string concatenation: a subject cannot inject a header).
//!
//! Every automatic mail carries `Auto-Submitted` (RFC 3834: `auto-replied`
//! for an answer to a message, `auto-generated` for the lifecycle notices a
//! sweep or a command sends, and the staff notifications) and
//! `X-Auto-Response-Suppress` so that other robots do not answer it. The
//! relay of a staff reply is a person's mail and carries neither. Every
//! mail, relays included, carries `X-Postdesk-Loop: <support address>`, by
//! which the screen knows our own mail when it comes back.
//!
//! What a customer wrote is shortened wherever an automatic mail quotes it
//! ([`QUOTE_MAX`], [`HISTORY_TEXT_MAX`]) and wherever it lands in a header
//! of ours ([`HEADER_TEXT_MAX`]: a 1 MB Subject, a name, a file name), cut
//! at a character with a visible mark, `[… shortened, 24 MB in all]`: a
//! receipt must not carry a 24 MB message back, nor a notice a 1 MB subject.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use mail_builder::MessageBuilder;
use mail_builder::headers::raw::Raw;

use crate::domain::Language;
use crate::domain::msgid::MessageIds;
use crate::domain::{Address, Audience, Mailbox, Status, TicketId};
use crate::outbox::template::{Templates, kind_word};
use crate::parse::{AttachmentFile, Inbound, marker_line};
use crate::screen::LOOP_HEADER;
use crate::screen::openpgp::Keyring;
use crate::store::QueuedMail;
use crate::thread::Token;

/// The longest text of a customer's message an automatic mail quotes (a
/// receipt, a confirmation request, the message on top of a staff
/// notification), in bytes.
pub const QUOTE_MAX: usize = 32 * 1024;

/// The longest text of one message in the history a mail carries, in
/// bytes: `outbox.history_in_mail` entries of it stay a few tens of KB.
pub const HISTORY_TEXT_MAX: usize = 4 * 1024;

/// The most text of a history the close notice attaches (history.txt), in
/// bytes: the newest entries, and how many older ones are left out. A
/// mail much larger would not get through many mail servers, and building
/// it would take memory in proportion to the thread.
pub const HISTORY_FILE_MAX: usize = 8 << 20;

/// The longest text we put in a header (a subject, a display name, a file
/// name), in bytes.
pub const HEADER_TEXT_MAX: usize = 200;

/// `text`, at most `max` bytes of it, cut at a character and marked
/// (`[… shortened, 24 MB in all]`, on a line of its own) when cut.
pub fn shorten(text: &str, max: usize) -> Cow<'_, str> {
    shorten_known(text, max, text.len() as u64)
}

/// [`shorten`] for a text that may itself be the start of a longer one,
/// `total` bytes in all (a text the store cut already): marked when
/// anything of the whole is left out.
pub fn shorten_known(text: &str, max: usize, total: u64) -> Cow<'_, str> {
    cut_with_mark(text, max, total, "\n")
}

/// `text` at most `max` bytes, cut at a character; `mark_before` goes
/// between what is kept and the mark.
fn cut_with_mark<'t>(text: &'t str, max: usize, total: u64, mark_before: &str) -> Cow<'t, str> {
    if text.len() <= max && total <= text.len() as u64 {
        return Cow::Borrowed(text);
    }
    let kept = text[..text.floor_char_boundary(max)].trim_end();
    let total = total.max(text.len() as u64);
    Cow::Owned(format!(
        "{kept}{mark_before}[… shortened, {} in all]",
        size_words(total)
    ))
}

/// A size as people read it: `900 bytes`, `1.5 KB`, `24 MB` (1 KB = 1024
/// bytes, as in the config).
pub fn size_words(bytes: u64) -> String {
    const UNITS: [(&str, u64); 3] = [("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)];
    let Some((unit, per)) = UNITS.into_iter().find(|(_, per)| bytes >= *per) else {
        return format!("{bytes} bytes");
    };
    let n = bytes as f64 / per as f64;
    let text = if n < 10.0 {
        format!("{n:.1}")
    } else {
        format!("{n:.0}")
    };
    format!("{} {unit}", text.strip_suffix(".0").unwrap_or(&text))
}

/// Who the desk is, for every mail it writes.
#[derive(Clone, Copy)]
pub struct Desk<'a> {
    pub name: &'a str,
    pub address: &'a Address,
    pub token: &'a Token,
    pub templates: &'a Templates,
    /// Makes the Message-IDs only this desk can make.
    pub ids: &'a MessageIds,
    /// The desk's OpenPGP keys, when `[openpgp]` is configured.
    pub keys: Option<&'a Keyring>,
}

/// A mail ready for the outbox.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub kind: &'static str,
    pub message_id: String,
    /// The ref part of the Message-ID, also named by the marker line.
    pub reference: String,
    pub subject: String,
    pub to: Vec<Address>,
    pub raw: Vec<u8>,
    /// Which side of the desk it goes to.
    pub audience: Audience,
}

impl Outgoing {
    /// This mail as the outbox queues it.
    pub fn queued<'a>(
        &'a self,
        ticket: Option<TicketId>,
        automatic: bool,
        mail_from: &'a Address,
        at: DateTime<Utc>,
    ) -> QueuedMail<'a> {
        QueuedMail {
            ticket,
            kind: self.kind,
            automatic,
            message_id: &self.message_id,
            mail_from: Some(mail_from),
            rcpt: &self.to,
            subject: &self.subject,
            raw: &self.raw,
            at,
            audience: self.audience,
            reference: &self.reference,
        }
    }
}

/// The Message-ID (and its ref) of mail `kind` about ticket `n` caused by
/// `cause`: building the same mail twice gives the same id.
fn ticket_mail_id(desk: &Desk<'_>, n: TicketId, kind: &str, cause: &str) -> (String, String) {
    let number = n.to_string();
    let cause = [kind, number.as_str(), cause];
    (desk.ids.make(&cause), desk.ids.reference(&cause))
}

/// The body with the marker line that names this mail at its end (after
/// the signature, so it is quoted with the rest): see `parse::marker_line`.
fn with_marker(body: &str, reference: &str) -> String {
    format!("{}\n\n{}\n", body.trim_end(), marker_line(reference))
}

/// The receipt for a message that opened ticket `n`; `cc` are the
/// account's delegates, who get a copy of every mail about its tickets.
#[allow(clippy::too_many_arguments)]
pub fn receipt(
    desk: &Desk<'_>,
    n: TicketId,
    inbound: &Inbound,
    to: &Mailbox,
    cc: &[Address],
    lang: Language,
    now: DateTime<Utc>,
) -> Outgoing {
    receipt_with(desk, n, inbound, (to, cc), lang, "", now)
}

/// [`receipt`] listing knowledge base articles that may already answer
/// (`suggestions`: lines; empty for none), with how to say `#solved`.
pub fn receipt_with(
    desk: &Desk<'_>,
    n: TicketId,
    inbound: &Inbound,
    (to, cc): (&Mailbox, &[Address]),
    lang: Language,
    suggestions: &str,
    now: DateTime<Utc>,
) -> Outgoing {
    receipt_copy(desk, n, inbound, (to, cc), (lang, ""), suggestions, now)
}

/// [`receipt_with`] for recipients of another language than the sender's
/// (`copy`: a word that makes its Message-ID its own, e.g. the language;
/// empty for the sender's receipt). A copy is addressed as the receipt is
/// (To the sender, Cc them), so "your message" still reads as the
/// sender's, but goes to the `cc` only.
pub fn receipt_copy(
    desk: &Desk<'_>,
    n: TicketId,
    inbound: &Inbound,
    (to, cc): (&Mailbox, &[Address]),
    (lang, copy): (Language, &str),
    suggestions: &str,
    now: DateTime<Utc>,
) -> Outgoing {
    // A new ticket's subject never carries another ticket's token.
    let subject = desk
        .token
        .tag_subject(n, &one_line(&desk.token.without_tokens(&inbound.subject)));
    let name = greeting_name(to);
    let their_subject = quoted_in(lang, &shorten(&inbound.subject, HEADER_TEXT_MAX));
    let body = desk.templates.render(
        lang,
        "receipt",
        &[
            ("name", &name),
            ("service", desk.name),
            ("address", desk.address.as_str()),
            ("ticket", &format!("#{n}")),
            ("token", &desk.token.format(n)),
            ("subject", &their_subject),
            ("message", &quoted(&inbound.new_text)),
            ("suggestions", suggestions),
        ],
    );
    let cause = match copy {
        "" => inbound.content_hash.clone(),
        copy => format!("{}|{copy}", inbound.content_hash),
    };
    let (message_id, reference) = ticket_mail_id(desk, n, "receipt", &cause);
    let body = with_marker(&body, &reference);
    let raw = automatic(
        desk,
        &Parts {
            to,
            cc,
            subject: &subject,
            message_id: &message_id,
            answers: inbound,
            ticket: Some(n),
            body,
            now,
        },
    );
    let mut rcpt = match copy {
        "" => vec![to.address.clone()],
        _ => Vec::new(),
    };
    rcpt.extend(cc.iter().filter(|c| **c != to.address).cloned());
    Outgoing {
        kind: "receipt",
        message_id,
        reference,
        subject,
        to: rcpt,
        raw,
        audience: Audience::Customer,
    }
}

/// An automatic answer to `inbound` that concerns no ticket (yet): a
/// confirmation request, a refusal, a self-service answer, a size notice.
/// `kind` is also the template's name; `cause` fixes the Message-ID (the
/// same cause gives the same mail, so a re-delivery does not tell twice).
/// The template gets `name`, `service`, `address` and `subject` besides
/// `vars`.
#[allow(clippy::too_many_arguments)]
pub fn answer(
    desk: &Desk<'_>,
    kind: &'static str,
    lang: Language,
    to: &Mailbox,
    inbound: &Inbound,
    subject: &str,
    cause: &str,
    vars: &[(&str, &str)],
    now: DateTime<Utc>,
) -> Outgoing {
    let name = greeting_name(to);
    let their_subject = quoted_in(lang, &shorten(&inbound.subject, HEADER_TEXT_MAX));
    let mut all: Vec<(&str, &str)> = vec![
        ("name", &name),
        ("service", desk.name),
        ("address", desk.address.as_str()),
        ("subject", &their_subject),
    ];
    all.extend_from_slice(vars);
    let body = desk.templates.render(lang, kind, &all);
    let subject = one_line(subject);
    let key = to.address.key();
    let parts = [kind, cause, key.as_str()];
    let (message_id, reference) = (desk.ids.make(&parts), desk.ids.reference(&parts));
    let body = with_marker(&body, &reference);
    let raw = automatic(
        desk,
        &Parts {
            to,
            cc: &[],
            subject: &subject,
            message_id: &message_id,
            answers: inbound,
            ticket: None,
            body,
            now,
        },
    );
    Outgoing {
        kind,
        message_id,
        reference,
        subject,
        to: vec![to.address.clone()],
        raw,
        // The one answer to a staff member sets Staff itself.
        audience: Audience::Customer,
    }
}

/// What every mail about a ticket shows besides its reason: the details,
/// the newest message and the history, already written out in the desk's
/// time zone (see `ticket::view`).
#[derive(Debug, Clone)]
pub struct TicketView {
    pub number: TicketId,
    pub subject: String,
    pub status: Status,
    pub ticket_type: String,
    /// `status` and `ticket_type` as the mail's language names them.
    pub status_name: String,
    pub type_name: String,
    pub created: String,
    pub latest: String,
    /// The newest entries of the history (all of it for a close notice
    /// under `outbox.close_history_inline`).
    pub history: String,
    /// How many older entries `history` leaves out (0: none).
    pub earlier: u64,
    /// The whole history, for the close notice to attach as history.txt
    /// when it is too long to carry inline.
    pub attached_history: Option<String>,
    /// Message-IDs to thread under, oldest first (the ticket's first and
    /// newest messages).
    pub references: Vec<String>,
    /// A priority ticket: staff mail about it says so in its subject.
    pub priority: bool,
}

/// The template fields every mail about a ticket has for its history:
/// `history`, `earlier` (the count of entries left out, a flag), `number`
/// (the bare ticket number, for `postdesk ticket show N`).
fn history_vars(v: &TicketView) -> [(&'static str, String); 3] {
    let earlier = if v.earlier > 0 {
        v.earlier.to_string()
    } else {
        String::new()
    };
    [
        ("history", v.history.clone()),
        ("earlier", earlier),
        ("number", v.number.to_string()),
    ]
}

/// Who a notice goes to: one person of the customer side, or the staff
/// side's notification addresses together.
#[derive(Debug, Clone, Copy)]
pub enum Recipient<'a> {
    Customer(&'a Mailbox),
    Staff(&'a [Address]),
}

/// A lifecycle notice: `warning`, `closed` or `changed` (the template and
/// the outbox kind).
pub struct Notice<'a> {
    pub kind: &'static str,
    pub view: &'a TicketView,
    pub to: Recipient<'a>,
    /// The template's own fields and flags (a flag is set when non-empty).
    pub fields: &'a [(&'a str, String)],
    /// What caused this mail, unique per mail: it makes the Message-ID.
    pub cause: &'a str,
}

/// The marks after the token of a mail about ticket `v`: `[priority]` on
/// staff mail about a priority ticket, then the kind of mail (`Reminder:`).
fn marks(v: &TicketView, to_staff: bool, kind: Option<&str>) -> String {
    let mut marks: Vec<String> = Vec::new();
    if to_staff && v.priority {
        marks.push("[priority]".into());
    }
    if let Some(word) = kind {
        marks.push(word.to_string());
    }
    marks.join(" ")
}

/// `Importance: high` on staff mail about a priority ticket.
fn importance<'x>(b: MessageBuilder<'x>, high: bool) -> MessageBuilder<'x> {
    if high {
        b.header("Importance", Raw::new("high"))
    } else {
        b
    }
}

/// A notice about a ticket, from the desk, as automatic mail: its subject
/// names its kind after the token, in `lang` (`[ACME #4] Reminder: …`).
pub fn notice(desk: &Desk<'_>, lang: Language, n: &Notice<'_>, now: DateTime<Utc>) -> Outgoing {
    let v = n.view;
    let staff_side = matches!(n.to, Recipient::Staff(_));
    let subject = desk.token.tag_subject_marked(
        v.number,
        &one_line(&v.subject),
        &marks(v, staff_side, kind_word(lang, n.kind)),
    );
    let (to, name, to_customer, to_staff) = match n.to {
        Recipient::Customer(m) => (vec![mailbox(m)], greeting_name(m), "yes", ""),
        Recipient::Staff(list) => (
            list.iter().map(|a| a.to_string().into()).collect(),
            String::new(),
            "",
            "yes",
        ),
    };
    let yes = |b: bool| if b { "yes".to_string() } else { String::new() };
    let attached = v.attached_history.is_some();
    let common = [
        ("name", name),
        ("service", desk.name.to_string()),
        ("address", desk.address.to_string()),
        ("ticket", format!("#{}", v.number)),
        ("token", desk.token.format(v.number)),
        (
            "subject",
            quoted_in(lang, &shorten(&v.subject, HEADER_TEXT_MAX)),
        ),
        ("status", v.status_name.clone()),
        ("type", v.type_name.clone()),
        ("created", v.created.clone()),
        ("latest", v.latest.clone()),
        ("to_customer", to_customer.to_string()),
        ("to_staff", to_staff.to_string()),
        ("history_attached", yes(attached)),
        ("history_whole", yes(!attached && v.earlier == 0)),
    ];
    let history = history_vars(v);
    let vars: Vec<(&str, &str)> = common
        .iter()
        .chain(history.iter())
        .chain(n.fields.iter())
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    let body = desk.templates.render(lang, n.kind, &vars);
    let (message_id, reference) = ticket_mail_id(desk, v.number, n.kind, n.cause);
    let body = with_marker(&body, &reference);
    let references: Vec<String> = v.references.iter().filter_map(|id| safe_id(id)).collect();
    let (rcpt, audience): (Vec<Address>, Audience) = match n.to {
        Recipient::Customer(m) => (vec![m.address.clone()], Audience::Customer),
        Recipient::Staff(list) => (list.to_vec(), Audience::Staff),
    };
    let mut builder = MessageBuilder::new()
        .from((desk.name, desk.address.as_str()))
        .to(mail_builder::headers::address::Address::new_list(to))
        .subject(subject.as_str())
        .message_id(message_id.as_str())
        .date(now.timestamp())
        .header("Auto-Submitted", Raw::new("auto-generated"))
        .header("X-Auto-Response-Suppress", Raw::new("All"))
        .header(LOOP_HEADER, Raw::new(desk.address.to_string()))
        .header("X-Postdesk-Ticket", Raw::new(v.number.to_string()))
        .text_body(body);
    builder = importance(builder, staff_side && v.priority);
    if let Some(last) = references.last() {
        builder = builder
            .in_reply_to(last.clone())
            .references(references.clone());
    }
    if let Some(whole) = &v.attached_history {
        builder = builder.attachment("text/plain; charset=utf-8", "history.txt", whole.clone());
    }
    let raw = builder.write_to_vec().unwrap_or_default();
    Outgoing {
        kind: n.kind,
        message_id,
        reference,
        subject,
        to: rcpt,
        raw,
        audience,
    }
}

/// How a greeting names `m`: the display name as the person writes it
/// (a directory's "Shah, Priya" is Priya Shah, never "Hello Shah,
/// Priya,"), else the address.
pub fn greeting_name(m: &Mailbox) -> String {
    match m.name.as_deref().map(display_name) {
        Some(name) if !name.is_empty() => name,
        _ => m.address.to_string(),
    }
}

/// A display name as the person writes it: quotes dropped, a directory's
/// "Last, First" (a word or two each side of one comma) turned round.
pub fn display_name(name: &str) -> String {
    let name = name.trim().trim_matches(|c| c == '"' || c == '\'').trim();
    if let Some((last, first)) = name.split_once(',') {
        let (last, first) = (last.trim(), first.trim());
        let words = |s: &str| s.split_whitespace().count();
        let plain = |s: &str| !s.is_empty() && words(s) <= 2 && !s.contains(',');
        if plain(last) && plain(first) && !first.contains('@') {
            return format!("{first} {last}");
        }
    }
    name.to_string()
}

/// A text the templates put in quotation marks, as the language nests
/// them: French templates write « … », so quotation marks inside become
/// “ ” (never « « … » »); other languages keep the text as it is.
pub fn quoted_in(lang: Language, text: &str) -> String {
    if lang != Language::Fr {
        return text.to_string();
    }
    text.replace("« ", "“")
        .replace('«', "“")
        .replace(" »", "”")
        .replace('»', "”")
}

/// The fields every mail about a ticket gives its template.
fn ticket_vars(desk: &Desk<'_>, lang: Language, v: &TicketView) -> Vec<(&'static str, String)> {
    let mut vars = vec![
        ("service", desk.name.to_string()),
        ("address", desk.address.to_string()),
        ("ticket", format!("#{}", v.number)),
        ("token", desk.token.format(v.number)),
        (
            "subject",
            quoted_in(lang, &shorten(&v.subject, HEADER_TEXT_MAX)),
        ),
        ("status", v.status_name.clone()),
        ("type", v.type_name.clone()),
        ("created", v.created.clone()),
    ];
    vars.extend(history_vars(v));
    vars
}

/// The daily digest (`[schedule] digest`) to the staff side's addresses
/// `to`: one mail, made at instant `at` (its Message-ID) for the day
/// `date` (as the language writes it); `vars` are the template's lists.
pub fn digest(
    desk: &Desk<'_>,
    lang: Language,
    to: &[Address],
    (at, date): (&str, &str),
    vars: &[(&str, &str)],
    now: DateTime<Utc>,
) -> Outgoing {
    let cause = ["digest", at];
    let (message_id, reference) = (desk.ids.make(&cause), desk.ids.reference(&cause));
    let mut all: Vec<(&str, &str)> = vec![
        ("service", desk.name),
        ("address", desk.address.as_str()),
        ("date", date),
    ];
    all.extend_from_slice(vars);
    let body = with_marker(&desk.templates.render(lang, "digest", &all), &reference);
    let word = kind_word(lang, "digest").unwrap_or("Digest:");
    let subject = one_line(&format!("{word} {} {date}", desk.name));
    let raw = MessageBuilder::new()
        .from((desk.name, desk.address.as_str()))
        .to(mail_builder::headers::address::Address::new_list(
            to.iter().map(|a| a.to_string().into()).collect(),
        ))
        .subject(subject.as_str())
        .message_id(message_id.as_str())
        .date(now.timestamp())
        .header("Auto-Submitted", Raw::new("auto-generated"))
        .header("X-Auto-Response-Suppress", Raw::new("All"))
        .header(LOOP_HEADER, Raw::new(desk.address.to_string()))
        .text_body(body)
        .write_to_vec()
        .unwrap_or_default();
    Outgoing {
        kind: "digest",
        message_id,
        reference,
        subject,
        to: to.to_vec(),
        raw,
        audience: Audience::Staff,
    }
}

/// A staff notification: a customer's message (new ticket, reply, reopen),
/// a staff note, or a delivery failure, to the staff side.
pub struct StaffNotice<'a> {
    pub view: &'a TicketView,
    /// Whose message it shows: From is `"<about> via <service>"`.
    pub about: &'a str,
    pub to: &'a [Address],
    /// The template's own fields and flags (see `template`).
    pub fields: &'a [(&'a str, String)],
    /// What caused this mail, unique per mail: it makes the Message-ID.
    pub cause: &'a str,
    /// Why it is sent (`customer reply`, `staff answer` …): the subject
    /// names it after the token (see `template::kind_word`).
    pub why: &'a str,
    /// The customer's files, attached again.
    pub attachments: &'a [AttachmentFile],
    /// Message-IDs to thread under, oldest first.
    pub references: &'a [String],
}

/// The staff notification: from the support address under the customer's
/// name (`"Ann via ACME Support"`), Reply-To the support address so that a
/// staff member's answer comes back to the desk, automatic (their
/// out-of-office must not answer it), with the customer's files attached.
pub fn staff_notify(
    desk: &Desk<'_>,
    lang: Language,
    n: &StaffNotice<'_>,
    now: DateTime<Utc>,
) -> Outgoing {
    let v = n.view;
    let subject = desk.token.tag_subject_marked(
        v.number,
        &one_line(&v.subject),
        &marks(v, true, kind_word(lang, n.why)),
    );
    let common = ticket_vars(desk, lang, v);
    let vars: Vec<(&str, &str)> = common
        .iter()
        .chain(n.fields.iter())
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    let body = desk.templates.render(lang, "staff-notify", &vars);
    let (message_id, reference) = ticket_mail_id(desk, v.number, "staff-notify", n.cause);
    let body = with_marker(&body, &reference);
    let from = format!("{} via {}", one_line(n.about), one_line(desk.name));
    let to: Vec<mail_builder::headers::address::Address<'static>> =
        n.to.iter().map(|a| a.to_string().into()).collect();
    let mut b = MessageBuilder::new()
        .from((from.as_str(), desk.address.as_str()))
        .reply_to((desk.name, desk.address.as_str()))
        .to(mail_builder::headers::address::Address::new_list(to))
        .subject(subject.as_str())
        .message_id(message_id.as_str())
        .date(now.timestamp())
        .header("Auto-Submitted", Raw::new("auto-generated"))
        .header("X-Auto-Response-Suppress", Raw::new("All"))
        .header(LOOP_HEADER, Raw::new(desk.address.to_string()))
        .header("X-Postdesk-Ticket", Raw::new(v.number.to_string()))
        .text_body(body);
    b = thread_under(b, n.references);
    b = attach(b, n.attachments);
    b = importance(b, v.priority);
    let raw = b.write_to_vec().unwrap_or_default();
    Outgoing {
        kind: "staff-notify",
        message_id,
        reference,
        subject,
        to: n.to.to_vec(),
        raw,
        audience: Audience::Staff,
    }
}

/// A staff reply as the customer side gets it.
pub struct RelayMail<'a> {
    pub view: &'a TicketView,
    /// The staff member's name: the signature and the From name.
    pub staff: &'a str,
    pub to: &'a Mailbox,
    pub cc: &'a [Mailbox],
    /// The reply without its commands and quoted history.
    pub text: &'a str,
    pub cause: &'a str,
    /// Message-IDs to thread under, oldest first: the newest is the
    /// customer's last message, which this answers.
    pub references: &'a [String],
    /// The staff member's files, passed on.
    pub attachments: &'a [AttachmentFile],
    /// What the reply's commands changed, as the template's fields and
    /// flags (`changed`, `new_type`, `now_closed` …; none: nothing).
    pub changes: &'a [(&'static str, String)],
}

/// The relay of a staff reply to the customer side: from the support
/// address (`"Alice via ACME Support"`), signed with the staff member's
/// name, threaded to the customer's last message, in the customer's
/// language. A person's answer, so not marked automatic.
pub fn relay(desk: &Desk<'_>, lang: Language, r: &RelayMail<'_>, now: DateTime<Utc>) -> Outgoing {
    let v = r.view;
    let subject = re(&desk.token.tag_subject(
        v.number,
        crate::thread::strip_reply_prefixes(&one_line(&v.subject)),
    ));
    let mut vars = ticket_vars(desk, lang, v);
    let attached = v.attached_history.is_some();
    if attached {
        // The file has all of it: no "earlier entries" line.
        vars.retain(|(k, _)| *k != "earlier");
    }
    vars.push(("history_attached", flag(attached)));
    vars.push(("staff", r.staff.to_string()));
    vars.push(("message", r.text.trim_end().to_string()));
    vars.extend(r.changes.iter().cloned());
    // One signature: the staff client's own, else the member's name.
    let signed = r
        .text
        .lines()
        .any(|l| l == "-- " || l == "--" || l == "-- \r");
    vars.push(("sign", if signed { String::new() } else { "yes".into() }));
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let body = desk.templates.render(lang, "relay", &vars);
    let (message_id, reference) = ticket_mail_id(desk, v.number, "relay", r.cause);
    let body = with_marker(&body, &reference);
    let from = format!("{} via {}", one_line(r.staff), one_line(desk.name));
    let mut b = MessageBuilder::new()
        .from((from.as_str(), desk.address.as_str()))
        .to(mailbox(r.to))
        .subject(subject.as_str())
        .message_id(message_id.as_str())
        .date(now.timestamp())
        .header(LOOP_HEADER, Raw::new(desk.address.to_string()))
        .header("X-Postdesk-Ticket", Raw::new(v.number.to_string()))
        .text_body(body);
    let cc: Vec<_> = r.cc.iter().map(mailbox).collect();
    if !cc.is_empty() {
        b = b.cc(cc);
    }
    b = thread_under(b, r.references);
    b = attach(b, r.attachments);
    if let Some(whole) = &v.attached_history {
        b = b.attachment("text/plain; charset=utf-8", "history.txt", whole.clone());
    }
    let mut rcpt = vec![r.to.address.clone()];
    rcpt.extend(r.cc.iter().map(|m| m.address.clone()));
    let raw = b.write_to_vec().unwrap_or_default();
    Outgoing {
        kind: "relay",
        message_id,
        reference,
        subject,
        to: rcpt,
        raw,
        audience: Audience::Customer,
    }
}

/// A template flag: set ("yes") or not (empty).
fn flag(b: bool) -> String {
    if b { "yes".into() } else { String::new() }
}

/// Attaches `files` (a file without a name gets `attachment-N`).
fn attach<'x>(mut b: MessageBuilder<'x>, files: &[AttachmentFile]) -> MessageBuilder<'x> {
    for (i, f) in files.iter().enumerate() {
        let name = f
            .info
            .name
            .as_deref()
            .map(one_line)
            .unwrap_or_else(|| format!("attachment-{}", i + 1));
        b = b.attachment(f.info.content_type.clone(), name, f.bytes.clone());
    }
    b
}

/// In-Reply-To the newest of `references`, References all of them (the
/// safe ones, at most 20: the first and the newest).
fn thread_under<'x>(b: MessageBuilder<'x>, references: &[String]) -> MessageBuilder<'x> {
    let mut refs: Vec<String> = references.iter().filter_map(|id| safe_id(id)).collect();
    refs.dedup();
    if refs.len() > 20 {
        refs.drain(1..refs.len() - 19);
    }
    match refs.last() {
        Some(last) => b.in_reply_to(last.clone()).references(refs.clone()),
        None => b,
    }
}

/// `Re: ` and their subject, for answers that keep the thread.
pub fn re(subject: &str) -> String {
    let s = subject.trim();
    if s.is_empty() {
        "Re: (no subject)".into()
    } else {
        format!("Re: {s}")
    }
}

/// The customer's text, quoted the way our mails quote it (two spaces in),
/// at most [`QUOTE_MAX`] bytes of it.
pub fn quoted(text: &str) -> String {
    indent_by(&shorten(text, QUOTE_MAX), "  ")
}

/// What every automatic mail is made of.
struct Parts<'a> {
    to: &'a Mailbox,
    cc: &'a [Address],
    subject: &'a str,
    message_id: &'a str,
    /// The message answered: In-Reply-To and References point at it.
    answers: &'a Inbound,
    ticket: Option<TicketId>,
    body: String,
    now: DateTime<Utc>,
}

/// Builds an automatic mail: answers nobody's robot (RFC 3834
/// `Auto-Submitted`, Microsoft's `X-Auto-Response-Suppress`) and threads
/// under the message it answers.
fn automatic(desk: &Desk<'_>, p: &Parts<'_>) -> Vec<u8> {
    let mut b = MessageBuilder::new()
        .from((desk.name, desk.address.as_str()))
        .to(mailbox(p.to));
    let cc: Vec<mail_builder::headers::address::Address<'static>> =
        p.cc.iter()
            .filter(|c| **c != p.to.address)
            .map(|c| c.to_string().into())
            .collect();
    if !cc.is_empty() {
        b = b.cc(cc);
    }
    b = b
        .subject(p.subject)
        .message_id(p.message_id)
        .in_reply_to(safe_id(&p.answers.message_id).unwrap_or_default())
        .references(answer_references(p.answers))
        .date(p.now.timestamp())
        .header("Auto-Submitted", Raw::new("auto-replied"))
        .header("X-Auto-Response-Suppress", Raw::new("All"))
        .header(LOOP_HEADER, Raw::new(desk.address.to_string()));
    if let Some(n) = p.ticket {
        b = b.header("X-Postdesk-Ticket", Raw::new(n.to_string()));
    }
    b.text_body(p.body.clone())
        .write_to_vec()
        .unwrap_or_default()
}

/// The References of an answer: theirs, then their Message-ID (RFC 5322 3.6.4).
fn answer_references(inbound: &Inbound) -> Vec<String> {
    let mut refs: Vec<String> = inbound
        .references
        .iter()
        .chain(std::iter::once(&inbound.message_id))
        .filter_map(|id| safe_id(id))
        .collect();
    refs.dedup();
    // Long threads: keep the first and the newest, as RFC 5322 suggests.
    if refs.len() > 20 {
        refs.drain(1..refs.len() - 19);
    }
    refs
}

/// A Message-ID we may copy into a header: the parser hands them over
/// without brackets; anything with spaces or brackets inside is not one.
fn safe_id(id: &str) -> Option<String> {
    let ok = !id.is_empty()
        && id.len() < 500
        && id
            .chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '<' | '>' | '"' | '\\'));
    ok.then(|| id.to_string())
}

fn mailbox(m: &Mailbox) -> mail_builder::headers::address::Address<'static> {
    match &m.name {
        Some(n) if !n.trim().is_empty() => (one_line(n), m.address.to_string()).into(),
        _ => m.address.to_string().into(),
    }
}

/// Header text on one line: a CR or LF in a decoded subject must not become
/// a line break in ours. At most [`HEADER_TEXT_MAX`] bytes of it, and the
/// mark when cut.
fn one_line(s: &str) -> String {
    let line = s
        .split(|c: char| c.is_control())
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    cut_with_mark(&line, HEADER_TEXT_MAX, line.len() as u64, " ").into_owned()
}

/// `text` with `prefix` before each non-empty line; "(no text)" for none.
pub fn indent_by(text: &str, prefix: &str) -> String {
    let text = text.trim_end();
    if text.is_empty() {
        return format!("{prefix}(no text)");
    }
    text.lines()
        .map(|l| {
            if l.is_empty() {
                String::new()
            } else {
                format!("{prefix}{l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{ParseLimits, parse};

    fn limits() -> ParseLimits {
        ParseLimits {
            max_size: 1 << 20,
            max_depth: 10,
            max_parts: 100,
        }
    }

    /// What a test `Desk` borrows: support@desk.example, the token DESK,
    /// the built-in templates.
    struct Parts {
        own: Address,
        token: Token,
        templates: Templates,
        ids: MessageIds,
    }

    impl Parts {
        fn new() -> Parts {
            Parts {
                own: Address::parse("support@desk.example").unwrap(),
                token: Token::new("DESK"),
                templates: Templates::load(&[]).unwrap(),
                ids: MessageIds::new([5; 32], "desk.example"),
            }
        }

        fn desk<'a>(&'a self, name: &'a str) -> Desk<'a> {
            Desk {
                name,
                address: &self.own,
                token: &self.token,
                templates: &self.templates,
                ids: &self.ids,
                keys: None,
            }
        }
    }

    #[test]
    fn receipt_parses_back_with_threading_and_loop_headers() {
        let raw = b"From: Ann Example <ann@customer.example>\r\nTo: support@desk.example\r\n\
Subject: =?utf-8?q?Imprimante_en_panne?=\r\nMessage-ID: <m1@customer.example>\r\n\
References: <m0@customer.example>\r\n\r\nIt does not print.\r\n";
        let inbound = parse(raw, &limits()).unwrap();
        let parts = Parts::new();
        let desk = parts.desk("Desk Support");
        let to = inbound.from.clone().unwrap();
        let out = receipt(
            &desk,
            TicketId(42),
            &inbound,
            &to,
            &[],
            Language::En,
            DateTime::UNIX_EPOCH,
        );

        let back = parse(&out.raw, &limits()).unwrap();
        assert_eq!(back.subject, "[DESK #42] Imprimante en panne");
        assert_eq!(back.message_id, out.message_id);
        assert_eq!(back.in_reply_to, vec!["m1@customer.example".to_string()]);
        assert_eq!(
            back.references,
            vec![
                "m0@customer.example".to_string(),
                "m1@customer.example".to_string()
            ]
        );
        assert!(
            back.class.is_automatic(),
            "our receipt must look automatic: {:?}",
            back.class
        );
        assert!(back.text.contains("It does not print."));
        assert!(back.text.contains("[DESK #42]"));
        assert_eq!(back.to[0].address, to.address);
        // Same cause, same id: a rebuilt mail is the same mail.
        let again = receipt(
            &desk,
            TicketId(42),
            &inbound,
            &to,
            &[],
            Language::En,
            DateTime::UNIX_EPOCH,
        );
        assert_eq!(again.message_id, out.message_id);
    }

    fn view() -> TicketView {
        TicketView {
            number: TicketId(7),
            subject: "Printer\r\nBcc: victim@evil.example".into(),
            status: Status::WaitingForCustomer,
            ticket_type: "technical".into(),
            status_name: "waiting-for-customer".into(),
            type_name: "technical".into(),
            created: "2026-11-16 10:00 CET".into(),
            latest: "LATEST-TEXT".into(),
            history: "HISTORY-TEXT".into(),
            earlier: 0,
            attached_history: None,
            references: vec![
                "first@customer.example".into(),
                "last@customer.example".into(),
            ],
            priority: false,
        }
    }

    #[test]
    fn notices_are_automatic_threaded_and_parse_back() {
        let parts = Parts::new();
        let desk = parts.desk("Desk Support");
        let ann = Mailbox {
            name: Some("Ann".into()),
            address: Address::parse("ann@customer.example").unwrap(),
        };
        let team = [
            Address::parse("team@desk.example").unwrap(),
            Address::parse("lead@desk.example").unwrap(),
        ];
        let v = view();
        let fields = [
            ("customer_rule", "yes".to_string()),
            ("closes", "yes".to_string()),
            ("since", "SINCE".to_string()),
            ("elapsed", "7 business days".to_string()),
            ("close_at", "CLOSE-AT".to_string()),
        ];
        for (to, lang, kind) in [
            (Recipient::Customer(&ann), Language::En, "Reminder:"),
            (Recipient::Staff(&team), Language::Fr, "Rappel :"),
        ] {
            let out = notice(
                &desk,
                lang,
                &Notice {
                    kind: "warning",
                    view: &v,
                    to,
                    fields: &fields,
                    cause: "c1",
                },
                DateTime::UNIX_EPOCH,
            );
            let back = parse(&out.raw, &limits()).unwrap();
            assert!(back.class.is_automatic(), "{:?}", back.class);
            // The kind after the token, in the recipient's language.
            assert_eq!(
                back.subject,
                format!("[DESK #7] {kind} Printer Bcc: victim@evil.example")
            );
            assert_eq!(back.in_reply_to, vec!["last@customer.example".to_string()]);
            assert_eq!(back.references.len(), 2);
            for part in ["SINCE", "CLOSE-AT", "LATEST-TEXT", "HISTORY-TEXT"] {
                assert!(back.text.contains(part), "{part} missing:\n{}", back.text);
            }
            let raw = String::from_utf8_lossy(&out.raw);
            assert!(raw.contains("Auto-Submitted: auto-generated"), "{raw}");
            assert!(raw.contains("X-Auto-Response-Suppress: All"), "{raw}");
            let head = raw.split("\r\n\r\n").next().unwrap().to_ascii_lowercase();
            assert!(!head.contains("\nbcc:"), "{head}");
            match to {
                Recipient::Customer(_) => {
                    assert_eq!(out.to, vec![ann.address.clone()]);
                    assert!(back.text.contains("Hello Ann,"), "{}", back.text);
                    assert!(
                        back.text.contains("If we do not hear from you"),
                        "{}",
                        back.text
                    );
                }
                Recipient::Staff(_) => {
                    assert_eq!(out.to, team.to_vec());
                    assert_eq!(back.to.len(), 2);
                    assert!(
                        back.text.contains("Sans réponse du client"),
                        "{}",
                        back.text
                    );
                }
            }
        }
    }

    #[test]
    fn staff_notify_comes_from_the_desk_under_the_customer_name_with_her_files() {
        let parts = Parts::new();
        let desk = parts.desk("Desk Support");
        let team = [Address::parse("team@desk.example").unwrap()];
        let v = view();
        let files = [AttachmentFile {
            info: crate::parse::Attachment {
                name: Some("photo.png".into()),
                content_type: "image/png".into(),
                size: 4,
            },
            bytes: b"\x89PNG".to_vec(),
        }];
        let fields = [
            ("customer", "Ann <ann@customer.example>".to_string()),
            ("message", "  My printer burns.".to_string()),
            ("new_ticket", "yes".to_string()),
        ];
        let out = staff_notify(
            &desk,
            Language::En,
            &StaffNotice {
                view: &v,
                about: "Ann\r\nBcc: victim@evil.example",
                to: &team,
                fields: &fields,
                cause: "c1",
                why: "new ticket",
                attachments: &files,
                references: &v.references,
            },
            DateTime::UNIX_EPOCH,
        );
        let back = parse(&out.raw, &limits()).unwrap();
        assert_eq!(back.from.as_ref().unwrap().address, parts.own);
        assert_eq!(
            back.from.as_ref().unwrap().name.as_deref(),
            Some("Ann Bcc: victim@evil.example via Desk Support"),
            "one line, no header injected"
        );
        assert_eq!(back.reply_to[0].address, parts.own);
        assert_eq!(back.to[0].address, team[0]);
        assert!(back.class.is_automatic(), "{:?}", back.class);
        assert_eq!(back.in_reply_to, ["last@customer.example"]);
        assert_eq!(back.references.len(), 2);
        assert!(
            back.text.contains("New ticket #7 from Ann"),
            "{}",
            back.text
        );
        assert!(back.text.contains("My printer burns."), "{}", back.text);
        assert_eq!(back.attachments.len(), 1);
        assert_eq!(back.attachments[0].name.as_deref(), Some("photo.png"));
        let files_back = crate::parse::attachment_files(&out.raw, &limits());
        assert_eq!(files_back[0].bytes, b"\x89PNG");
        let raw = String::from_utf8_lossy(&out.raw);
        let head = raw.split("\r\n\r\n").next().unwrap();
        assert!(
            head.contains("X-Postdesk-Loop: support@desk.example"),
            "{head}"
        );
        assert!(!head.to_ascii_lowercase().contains("\nbcc:"), "{head}");
        assert_eq!(out.kind, "staff-notify");
    }

    #[test]
    fn a_relay_is_a_persons_answer_threaded_to_the_customer() {
        let parts = Parts::new();
        let desk = parts.desk("Desk Support");
        let ann = Mailbox {
            name: Some("Ann".into()),
            address: Address::parse("ann@customer.example").unwrap(),
        };
        let carl = Mailbox {
            name: None,
            address: Address::parse("carl@customer.example").unwrap(),
        };
        let mut v = view();
        v.subject = "Re: Printer".into();
        for lang in [Language::En, Language::Fr, Language::It] {
            let out = relay(
                &desk,
                lang,
                &RelayMail {
                    view: &v,
                    staff: "Alice",
                    to: &ann,
                    cc: std::slice::from_ref(&carl),
                    text: "It is fixed.\n",
                    cause: "hash",
                    references: &v.references,
                    attachments: &[],
                    changes: &[],
                },
                DateTime::UNIX_EPOCH,
            );
            let back = parse(&out.raw, &limits()).unwrap();
            assert!(!back.class.is_automatic(), "{:?}", back.class);
            assert_eq!(back.subject, "Re: [DESK #7] Printer");
            assert_eq!(back.from.as_ref().unwrap().address, parts.own);
            assert_eq!(
                back.from.as_ref().unwrap().name.as_deref(),
                Some("Alice via Desk Support")
            );
            assert_eq!(back.to[0].address, ann.address);
            assert_eq!(back.cc[0].address, carl.address);
            assert_eq!(back.in_reply_to, ["last@customer.example"]);
            assert!(
                back.text.starts_with("It is fixed.\n\n-- \nAlice\n"),
                "{}",
                back.text
            );
            assert!(back.text.contains("HISTORY-TEXT"), "{}", back.text);
            assert_eq!(out.to, [ann.address.clone(), carl.address.clone()]);
            let raw = String::from_utf8_lossy(&out.raw);
            assert!(raw.contains("X-Postdesk-Loop: support@desk.example"));
            assert!(!raw.contains("Auto-Submitted"));
        }
    }

    /// A relay has one signature: the staff client's own when it wrote one,
    /// else the member's name; and it ends with the marker naming it.
    #[test]
    fn a_relay_keeps_the_staff_signature_and_adds_no_second() {
        let parts = Parts::new();
        let desk = parts.desk("Desk Support");
        let ann = Mailbox {
            name: None,
            address: Address::parse("ann@customer.example").unwrap(),
        };
        let v = view();
        for (text, signatures) in [
            (
                "It is fixed.\n\n-- \nAlice Smith\nACME hosting, level 2\n",
                1,
            ),
            ("It is fixed.\n", 1),
        ] {
            let out = relay(
                &desk,
                Language::En,
                &RelayMail {
                    view: &v,
                    staff: "Alice",
                    to: &ann,
                    cc: &[],
                    text,
                    cause: text,
                    references: &v.references,
                    attachments: &[],
                    changes: &[],
                },
                DateTime::UNIX_EPOCH,
            );
            let back = parse(&out.raw, &limits()).unwrap();
            let count = back.text.lines().filter(|l| *l == "-- ").count();
            assert_eq!(count, signatures, "{}", back.text);
            assert!(back.text.contains("Alice"), "{}", back.text);
            assert!(
                back.text.trim_end().ends_with(&marker_line(&out.reference)),
                "{}",
                back.text
            );
            assert!(parts.ids.verify(&out.message_id).is_some());
            assert!(out.message_id.starts_with(&out.reference));
        }
    }

    #[test]
    fn shortening_cuts_at_a_character_and_says_how_much_there_was() {
        // "é" is two bytes: 5 bytes end inside the third one.
        assert_eq!(shorten("ééé", 5), "éé\n[… shortened, 6 bytes in all]");
        assert_eq!(shorten("ééé", 6), "ééé", "whole: no mark");
        assert_eq!(
            shorten_known("ééé", 100, 1 << 20),
            "ééé\n[… shortened, 1 MB in all]",
            "a text the store cut already"
        );
        for (bytes, words) in [
            (900, "900 bytes"),
            (1536, "1.5 KB"),
            (24 << 20, "24 MB"),
            (3 << 30, "3 GB"),
        ] {
            assert_eq!(size_words(bytes), words);
        }
        // Every cut of a mixed text is valid UTF-8 ending in the mark.
        let text = "aé日😀".repeat(50);
        for max in 0..text.len() {
            let out = shorten(&text, max);
            let kept = out.split("\n[…").next().unwrap();
            assert!(kept.len() <= max && text.starts_with(kept), "{max}: {out}");
            assert!(out.ends_with(" in all]"), "{max}: {out}");
        }
    }

    #[test]
    fn a_huge_subject_and_message_are_shortened_in_the_receipt() {
        // A 1 MB subject whose 200th byte is inside a "ü", and a 3 MB
        // message of three-byte characters.
        let mut inbound = Inbound {
            subject: format!("a{}", "ü".repeat(1 << 19)),
            message_id: "m1@customer.example".into(),
            ..Inbound::default()
        };
        inbound.new_text = "日本語のテキスト\n".repeat(1 << 17);
        let parts = Parts::new();
        let desk = parts.desk("Desk");
        let to = Mailbox {
            name: Some("Ann".into()),
            address: Address::parse("ann@customer.example").unwrap(),
        };
        let out = receipt(
            &desk,
            TicketId(9),
            &inbound,
            &to,
            &[],
            Language::En,
            DateTime::UNIX_EPOCH,
        );
        assert!(out.raw.len() < 100_000, "{} bytes", out.raw.len());
        let back = parse(&out.raw, &limits()).unwrap();
        assert!(
            back.subject.starts_with("[DESK #9] aüü")
                && back.subject.ends_with("ü [… shortened, 1 MB in all]"),
            "{}",
            back.subject
        );
        assert!(back.subject.len() < 300, "{}", back.subject.len());
        assert_eq!(out.subject, back.subject);
        // 25-byte lines: the 32 KB budget ends inside the 1311th line's
        // seventh character, so six of its eight are kept.
        let (quote, after) = back.text.split_once("\n  [… shortened, ").unwrap();
        assert!(quote.ends_with("\n  日本語のテキ"), "cut at a character");
        assert!(after.starts_with("3.1 MB in all]"), "{after}");
        assert!(!back.text.contains('\u{FFFD}'), "no broken character");
    }

    #[test]
    fn a_subject_cannot_inject_headers() {
        let mut inbound = Inbound {
            subject: "Hi\r\nBcc: victim@evil.example\r\nX-Evil: 1".into(),
            message_id: "a@b\r\nX-Evil: 2".into(),
            ..Inbound::default()
        };
        inbound.new_text = "x".into();
        let parts = Parts::new();
        let desk = parts.desk("Desk");
        let to = Mailbox {
            name: Some("Eve\r\nBcc: x@evil.example".into()),
            address: Address::parse("eve@evil.example").unwrap(),
        };
        let out = receipt(
            &desk,
            TicketId(1),
            &inbound,
            &to,
            &[],
            Language::En,
            DateTime::UNIX_EPOCH,
        );
        let text = String::from_utf8_lossy(&out.raw);
        let head = text.split("\r\n\r\n").next().unwrap();
        for line in head.lines() {
            let lower = line.to_ascii_lowercase();
            assert!(
                !lower.starts_with("bcc:") && !lower.starts_with("x-evil:"),
                "injected: {line}"
            );
        }
    }

    #[test]
    fn notices_parse_back_as_automatic_answers_with_copies_where_asked() {
        let raw = b"From: Ann <ann@customer.example>\r\nSubject: Help\r\nMessage-ID: <m1@customer.example>\r\n\r\nPlease.\r\n";
        let inbound = parse(raw, &limits()).unwrap();
        let parts = Parts::new();
        let desk = parts.desk("Desk");
        let to = inbound.from.clone().unwrap();
        let subject = format!(
            "{} {}",
            parts.token.format_confirm("AAAA-BBBB-CCCC"),
            inbound.subject
        );
        let out = answer(
            &desk,
            "confirm",
            Language::Fr,
            &to,
            &inbound,
            &subject,
            "hash-of-the-code",
            &[
                ("code", "AAAA-BBBB-CCCC"),
                ("expires", "2026-11-23"),
                ("message", "  Please."),
                ("unknown", "yes"),
            ],
            DateTime::UNIX_EPOCH,
        );
        let back = parse(&out.raw, &limits()).unwrap();
        assert_eq!(back.subject, "[DESK confirm AAAA-BBBB-CCCC] Help");
        assert!(back.class.is_automatic());
        assert_eq!(back.in_reply_to, ["m1@customer.example"]);
        assert!(
            back.text.contains("AAAA-BBBB-CCCC") && back.text.contains("Bonjour Ann"),
            "{}",
            back.text
        );
        assert_eq!(back.message_id, out.message_id);
        assert!(parts.ids.verify(&out.message_id).is_some());
        assert!(out.message_id.ends_with("@desk.example"));

        // A receipt with delegates in copy: one mail, both recipients.
        let delegate = Address::parse("tech@partner.example").unwrap();
        let out = receipt(
            &desk,
            TicketId(3),
            &inbound,
            &to,
            std::slice::from_ref(&delegate),
            Language::En,
            DateTime::UNIX_EPOCH,
        );
        let back = parse(&out.raw, &limits()).unwrap();
        assert_eq!(back.cc.len(), 1);
        assert_eq!(back.cc[0].address, delegate);
        assert_eq!(out.to, [to.address.clone(), delegate]);
    }

    #[test]
    fn greetings_name_people_as_they_write_their_names() {
        #[rustfmt::skip]
        let cases = [
            (Some("Shah, Priya"), "Priya Shah"),
            (Some("\"Rossi, Maria Grazia\""), "Maria Grazia Rossi"),
            (Some("Priya Shah"), "Priya Shah"),
            (Some("Dupont, Jean, Service Achats"), "Dupont, Jean, Service Achats"),
            (Some("ACME, Inc. Accounts Payable Team"), "ACME, Inc. Accounts Payable Team"),
            (Some("  "), "ann@customer.example"),
            (None, "ann@customer.example"),
        ];
        for (name, want) in cases {
            let m = Mailbox {
                name: name.map(String::from),
                address: Address::parse("ann@customer.example").unwrap(),
            };
            assert_eq!(greeting_name(&m), want, "{name:?}");
        }
    }

    #[test]
    fn french_quotes_nest_and_other_languages_keep_the_text() {
        #[rustfmt::skip]
        let cases = [
            (Language::Fr, "« Facture » incorrecte", "“Facture” incorrecte"),
            (Language::Fr, "Re: «urgent»", "Re: “urgent”"),
            (Language::Fr, "Facture incorrecte", "Facture incorrecte"),
            (Language::It, "« Fattura »", "« Fattura »"),
            (Language::En, "\"quoted\"", "\"quoted\""),
        ];
        for (lang, text, want) in cases {
            assert_eq!(quoted_in(lang, text), want, "{text}");
        }
    }
}
