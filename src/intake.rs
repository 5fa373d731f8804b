//! intake: runs raw mail through parse → screen → thread → apply and commits
//! it, in batches, BEFORE the caller may remove anything from its source
//! (DESIGN invariant 1). A re-delivery (same source id, or same Message-ID
//! and content) changes nothing.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tracing::info;

use crate::apply::{self, Context, Incoming, Outcome};
use crate::config::Config;
use crate::outbox::compose::Desk;
use crate::parse::{self, ParseError, ParseLimits};
use crate::screen::{self, Rules};
use crate::store::{Held, Reader, Store, StoreError, Tx};
use crate::template::{TemplateError, Templates};
use crate::thread::{self, Known, Token};
use crate::types::TicketId;

/// One message as a source hands it over.
#[derive(Debug, Clone)]
pub struct RawMail {
    /// The source's name (`[[source]] name`, or `ingest`).
    pub source: String,
    /// The source's id for it (Maildir file name, UIDL, UID), when it has one.
    pub source_id: Option<String>,
    pub raw: Vec<u8>,
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Taken {
    Applied(Outcome),
    /// Already stored: same Message-ID and content (message row given).
    Duplicate(i64),
    /// This source id was taken before.
    AlreadyTaken,
    /// Not a readable mail at all; kept in quarantine.
    Unreadable {
        quarantine: i64,
        error: String,
    },
}

impl Taken {
    pub fn label(&self) -> &'static str {
        match self {
            Taken::Applied(Outcome::Opened { .. }) => "new ticket",
            Taken::Applied(Outcome::Appended { .. }) => "follow-up",
            Taken::Applied(Outcome::Held { .. }) => "held",
            Taken::Duplicate(_) => "duplicate",
            Taken::AlreadyTaken => "already taken",
            Taken::Unreadable { .. } => "unreadable",
        }
    }
}

/// Everything the stages need that is built once from the config.
#[derive(Clone)]
pub struct Pipeline {
    pub config: Arc<Config>,
    pub token: Token,
    pub templates: Arc<Templates>,
}

impl Pipeline {
    pub fn new(config: Arc<Config>) -> Result<Pipeline, TemplateError> {
        let templates = Templates::load(config.service.templates.as_deref())?;
        Ok(Pipeline {
            token: Token::new(&config.service.ticket_prefix),
            templates: Arc::new(templates),
            config,
        })
    }

    fn limits(&self) -> ParseLimits {
        let i = &self.config.intake;
        ParseLimits {
            max_size: usize::try_from(i.max_message_size).unwrap_or(usize::MAX),
            max_depth: i.max_mime_depth,
            max_parts: i.max_mime_parts,
        }
    }

    /// Who the desk is, for the mail it writes.
    pub fn desk(&self) -> Desk<'_> {
        Desk {
            name: &self.config.service.name,
            address: &self.config.service.address,
            token: &self.token,
            templates: &self.templates,
        }
    }

    fn context(&self) -> Context<'_> {
        let c = &self.config;
        Context {
            desk: self.desk(),
            language: c.service.default_language,
            default_type: c
                .service
                .ticket_types
                .first()
                .map_or("technical", |t| t.as_str()),
            confirm_receipt: c.intake.confirm_receipt,
            max_auto_replies_per_day: c.intake.max_auto_replies_per_day,
            unmatched_automatic: c.intake.unmatched_automatic,
            released: false,
            lifecycle: crate::change::Settings::new(c, self.desk()),
        }
    }

    /// Takes a batch of messages in ONE transaction. On `Ok` every message
    /// is durably stored (or quarantined, or known to be a duplicate) and the
    /// caller may remove the batch from its source; on `Err` nothing changed.
    pub fn take(
        &self,
        store: &mut Store,
        batch: &[RawMail],
        now: DateTime<Utc>,
    ) -> Result<Vec<Taken>, StoreError> {
        let taken = store.write(|tx| {
            batch
                .iter()
                .map(|mail| self.take_one(tx, mail, now))
                .collect::<Result<Vec<_>, _>>()
        })?;
        for (mail, t) in batch.iter().zip(&taken) {
            log_taken(mail, t);
        }
        Ok(taken)
    }

    fn take_one(
        &self,
        tx: &mut Tx<'_>,
        mail: &RawMail,
        now: DateTime<Utc>,
    ) -> Result<Taken, StoreError> {
        if let Some(id) = &mail.source_id
            && tx.read().source_id_taken(&mail.source, id)?
        {
            return Ok(Taken::AlreadyTaken);
        }
        let taken = self.process(tx, mail, now)?;
        if let Some(id) = &mail.source_id {
            let (message, quarantine) = match &taken {
                Taken::Applied(Outcome::Held { quarantine, .. })
                | Taken::Unreadable { quarantine, .. } => (None, Some(*quarantine)),
                Taken::Applied(o) => (o.message(), None),
                Taken::Duplicate(m) => (Some(*m), None),
                Taken::AlreadyTaken => (None, None),
            };
            tx.record_source_id(&mail.source, id, message, quarantine, now)?;
        }
        Ok(taken)
    }

    /// Takes quarantined message `id` into a ticket: the operator has looked
    /// at it and wants it handled after all.
    pub fn release(
        &self,
        store: &mut Store,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<Taken, ReleaseError> {
        store.write(|tx| {
            let entry = tx
                .read()
                .quarantine_entry(id)?
                .ok_or(ReleaseError::NotFound(id))?;
            if entry.released.is_some() {
                return Err(ReleaseError::AlreadyReleased(id));
            }
            let inbound = parse::parse(&entry.raw, &self.limits())
                .map_err(|e| ReleaseError::Unreadable(e.to_string()))?;
            let mail = RawMail {
                source: entry.source.clone(),
                source_id: None,
                raw: entry.raw,
            };
            let taken = match tx
                .read()
                .message_by_identity(&inbound.message_id, &inbound.content_hash)?
            {
                Some(m) => Taken::Duplicate(m),
                None => {
                    let mut ctx = self.context();
                    ctx.released = true;
                    let taken = self.stages(tx, &ctx, &mail, inbound, now)?;
                    if let Taken::Applied(Outcome::Held { reason, .. }) = &taken {
                        return Err(ReleaseError::StillHeld(reason.clone()));
                    }
                    taken
                }
            };
            let message = match &taken {
                Taken::Applied(o) => o.message(),
                Taken::Duplicate(m) => Some(*m),
                _ => None,
            };
            tx.mark_released(id, message, now)?;
            Ok(taken)
        })
    }

    fn process(
        &self,
        tx: &mut Tx<'_>,
        mail: &RawMail,
        now: DateTime<Utc>,
    ) -> Result<Taken, StoreError> {
        let inbound = match parse::parse(&mail.raw, &self.limits()) {
            Ok(i) => i,
            Err(e) => return self.unreadable(tx, mail, &e, now),
        };
        if let Some(id) = tx
            .read()
            .message_by_identity(&inbound.message_id, &inbound.content_hash)?
        {
            return Ok(Taken::Duplicate(id));
        }
        self.stages(tx, &self.context(), mail, inbound, now)
    }

    /// screen → thread → apply for a parsed message.
    fn stages(
        &self,
        tx: &mut Tx<'_>,
        ctx: &Context<'_>,
        mail: &RawMail,
        inbound: crate::parse::Inbound,
        now: DateTime<Utc>,
    ) -> Result<Taken, StoreError> {
        let verdict = screen::screen(
            &inbound,
            &Rules {
                own_address: &self.config.service.address,
            },
        );
        let thread = thread::thread(&inbound, &self.token, &tx.read())?;
        let incoming = Incoming {
            raw: &mail.raw,
            inbound: &inbound,
            source: &mail.source,
            at: now,
        };
        let outcome = apply::apply(tx, ctx, &incoming, &verdict, &thread)?;
        Ok(Taken::Applied(outcome))
    }

    fn unreadable(
        &self,
        tx: &mut Tx<'_>,
        mail: &RawMail,
        e: &ParseError,
        now: DateTime<Utc>,
    ) -> Result<Taken, StoreError> {
        let reason = format!("unreadable: {e}");
        let quarantine = tx.quarantine(&Held {
            raw: &mail.raw,
            content_hash: &parse::content_hash(&mail.raw),
            source: &mail.source,
            message_id: None,
            from: None,
            subject: None,
            reason: &reason,
            at: now,
        })?;
        Ok(Taken::Unreadable {
            quarantine,
            error: e.to_string(),
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error("no quarantined message {0}")]
    NotFound(i64),
    #[error("quarantined message {0} was released already")]
    AlreadyReleased(i64),
    #[error("cannot release an unreadable message: {0}")]
    Unreadable(String),
    #[error("cannot open a ticket for it: {0}")]
    StillHeld(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One journal line per message taken (source, Message-ID, ticket, outcome).
fn log_taken(mail: &RawMail, t: &Taken) {
    let id = mail.source_id.as_deref().unwrap_or("-");
    let message_id = header_message_id(&mail.raw).unwrap_or_else(|| "-".into());
    let message_id = message_id.as_str();
    match t {
        Taken::Applied(o) => {
            let ticket = o
                .ticket()
                .map(|n| n.to_string())
                .unwrap_or_else(|| "-".into());
            let detail = match o {
                Outcome::Opened {
                    receipt: Err(why), ..
                } => format!("no receipt: {why}"),
                Outcome::Held { reason, .. } => reason.clone(),
                _ => String::new(),
            };
            info!(source = %mail.source, source_id = id, message_id, ticket, outcome = t.label(), detail, "message taken");
        }
        Taken::Unreadable { error, quarantine } => {
            info!(source = %mail.source, source_id = id, message_id, quarantine, outcome = t.label(), error, "message taken");
        }
        _ => {
            info!(source = %mail.source, source_id = id, message_id, outcome = t.label(), "message taken")
        }
    }
}

/// The Message-ID header as written (for the log line only; the stages use
/// parse's decoded value). A scan of the header block, unfolded, bounded.
fn header_message_id(raw: &[u8]) -> Option<String> {
    let head = &raw[..raw.len().min(64 * 1024)];
    let mut lines = head.split(|&b| b == b'\n').peekable();
    while let Some(line) = lines.next() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            return None;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        if !line[..colon]
            .trim_ascii()
            .eq_ignore_ascii_case(b"message-id")
        {
            continue;
        }
        let mut value = line[colon + 1..].to_vec();
        while let Some(next) = lines.peek()
            && next.first().is_some_and(|b| *b == b' ' || *b == b'\t')
        {
            value.extend_from_slice(next.strip_suffix(b"\r").unwrap_or(next));
            lines.next();
        }
        let text = String::from_utf8_lossy(&value);
        let text = text.trim();
        return (!text.is_empty()).then(|| text.chars().take(200).collect());
    }
    None
}

impl Known for Reader<'_> {
    type Error = StoreError;

    fn ticket_exists(&self, id: TicketId) -> Result<bool, StoreError> {
        Reader::ticket_exists(self, id)
    }

    fn ticket_of(&self, message_id: &str) -> Result<Option<TicketId>, StoreError> {
        self.ticket_of_message_id(message_id)
    }
}

#[cfg(test)]
mod log_tests {
    use super::header_message_id;

    #[test]
    fn message_id_for_the_log_line() {
        let cases: &[(&[u8], Option<&str>)] = &[
            (
                b"Subject: x\r\nMessage-ID: <a@b>\r\n\r\nbody",
                Some("<a@b>"),
            ),
            (b"message-id:\r\n <folded@b>\r\n\r\n", Some("<folded@b>")),
            (b"Subject: x\r\n\r\nMessage-ID: <in-body@b>\r\n", None),
            (b"Subject: x\n", None),
            (b"", None),
        ];
        for (raw, want) in cases {
            assert_eq!(
                header_message_id(raw).as_deref(),
                *want,
                "{:?}",
                String::from_utf8_lossy(raw)
            );
        }
    }
}
