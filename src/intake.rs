//! intake: runs raw mail through parse → screen → thread → identify → apply
//! and commits it, in batches, BEFORE the caller may remove anything from
//! its source (DESIGN invariant 1). A re-delivery (same source id, or same
//! Message-ID and content) changes nothing.
//!
//! Threading runs before identify because who may write depends on the
//! ticket (check_sender, the ticket's account). A reply to a confirmation
//! request is taken in here: it releases its sender's held messages, which
//! go through the stages again.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tracing::{info, warn};

use crate::apply::{self, Context, Incoming, Outcome};
use crate::config::{Config, Language};
use crate::msgid::MessageIds;
use crate::identify::{self, AccountFacts, Admission, Directory, Grant, Release, Rule};
use crate::outbox::compose::Desk;
use crate::parse::{self, ParseError, ParseLimits};
use crate::screen::{self, Rules, Verdict};
use crate::store::{Held, Reader, Store, StoreError, Tx, Verification};
use crate::template::{TemplateError, Templates};
use crate::thread::{self, Known, Token};
use crate::types::{AccountId, Address, HoldKind, SenderPattern, TicketId};

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
            Taken::Applied(Outcome::Account { .. }) => "self-service",
            Taken::Applied(Outcome::Confirmed { .. }) => "confirmed",
            Taken::Applied(Outcome::Staff { action, .. }) => action.label(),
            Taken::Duplicate(_) => "duplicate",
            Taken::AlreadyTaken => "already taken",
            Taken::Unreadable { .. } => "unreadable",
        }
    }
}

/// Wrong confirmation codes a held message takes before it waits for staff
/// and no code is tried against it any more (issue 17).
pub const MAX_WRONG_CODES: u32 = 5;

/// Everything the stages need that is built once from the config.
#[derive(Clone)]
pub struct Pipeline {
    pub config: Arc<Config>,
    pub token: Token,
    pub templates: Arc<Templates>,
    /// The desk's Message-IDs (its secret is the database's).
    pub ids: Arc<MessageIds>,
    /// Send no automatic mail at all: importing an archive.
    pub silent: bool,
}

impl Pipeline {
    /// `secret` is the desk's (`Store::desk_secret`).
    pub fn new(config: Arc<Config>, secret: [u8; 32]) -> Result<Pipeline, TemplateError> {
        let templates = Templates::load(config.service.templates.as_deref())?;
        Ok(Pipeline {
            token: Token::new(&config.service.ticket_prefix),
            templates: Arc::new(templates),
            ids: Arc::new(MessageIds::new(secret, &config.service.address.domain())),
            config,
            silent: false,
        })
    }

    /// Checks what `new` would load (the templates), for `check-config`.
    pub fn check(config: &Config) -> Result<(), TemplateError> {
        Templates::load(config.service.templates.as_deref()).map(|_| ())
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
            ids: &self.ids,
        }
    }

    fn context(&self) -> Context<'_> {
        let c = &self.config;
        let mut lifecycle = crate::change::Settings::new(c, self.desk());
        lifecycle.answer.silent = self.silent;
        Context {
            desk: self.desk(),
            language: c.service.default_language,
            default_type: c
                .service
                .ticket_types
                .first()
                .map_or("technical", |t| t.as_str()),
            confirm_receipt: c.intake.confirm_receipt,
            unmatched_automatic: c.intake.unmatched_automatic,
            released: false,
            lifecycle,
            verify_expiry: chrono::Duration::from_std(c.intake.verify_expiry)
                .unwrap_or_else(|_| chrono::Duration::days(7)),
            max_message_size: c.intake.max_message_size,
        }
    }

    fn screen_rules(&self) -> Rules<'_> {
        let i = &self.config.intake;
        Rules {
            own: &self.config.own_addresses,
            max_size: i.max_message_size,
            blocked_domains: &i.blocked_domains,
            blocked_addresses: &i.blocked_addresses,
            priority_domains: &i.priority_domains,
            spam_header: i
                .spam_header
                .as_ref()
                .map(|(n, v)| (n.as_str(), v.as_str())),
            authserv_id: i.authserv_id.as_deref(),
            matching: i.match_options(),
        }
    }

    fn identify_rules(&self, released: Option<Release>) -> identify::Rules<'_> {
        let i = &self.config.intake;
        identify::Rules {
            token: &self.token,
            unknown_sender: i.unknown_sender,
            check_sender: i.check_sender,
            require_authentication: i.require_authentication,
            authserv_configured: i.authserv_id.is_some(),
            self_service: i.self_service,
            matching: i.match_options(),
            released,
            staff: &self.config.staff,
            ids: &self.ids,
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
        store.write(|tx| self.release_in(tx, id, Release::Operator, now))
    }

    /// [`Pipeline::release`] inside the caller's transaction.
    fn release_in(
        &self,
        tx: &mut Tx<'_>,
        id: i64,
        how: Release,
        now: DateTime<Utc>,
    ) -> Result<Taken, ReleaseError> {
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
                let taken = self.stages(tx, &ctx, Some(how), &mail, inbound, now)?;
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
    }

    fn process(
        &self,
        tx: &mut Tx<'_>,
        mail: &RawMail,
        now: DateTime<Utc>,
    ) -> Result<Taken, StoreError> {
        let inbound = match parse::parse(&mail.raw, &self.limits()) {
            Ok(i) => i,
            // Read the header only, so the screen can hold it and tell the sender.
            Err(e @ ParseError::TooLarge { .. }) => match parse::parse_head(&mail.raw) {
                Ok(head) => head,
                Err(_) => return self.unreadable(tx, mail, &e, now),
            },
            Err(e) => return self.unreadable(tx, mail, &e, now),
        };
        if let Some(id) = tx
            .read()
            .message_by_identity(&inbound.message_id, &inbound.content_hash)?
        {
            return Ok(Taken::Duplicate(id));
        }
        let inbound = own_message_id(tx, inbound)?;
        if inbound.message_id_derived
            && let Some(id) = tx
                .read()
                .message_by_identity(&inbound.message_id, &inbound.content_hash)?
        {
            return Ok(Taken::Duplicate(id));
        }
        self.stages(tx, &self.context(), None, mail, inbound, now)
    }

    /// screen → thread → identify → apply for a parsed message.
    fn stages(
        &self,
        tx: &mut Tx<'_>,
        ctx: &Context<'_>,
        released: Option<Release>,
        mail: &RawMail,
        inbound: crate::parse::Inbound,
        now: DateTime<Utc>,
    ) -> Result<Taken, StoreError> {
        let verdict = screen::screen(&inbound, &self.screen_rules());
        let thread = thread::thread(&inbound, &self.token, &self.ids, &tx.read())?;
        let identity = identify::identify(
            &inbound,
            &verdict.auth(),
            &thread,
            &tx.read(),
            &self.identify_rules(released),
        )?;
        let incoming = Incoming {
            raw: &mail.raw,
            inbound: &inbound,
            source: &mail.source,
            at: now,
        };
        if let (Verdict::Pass { no_answer, .. }, Admission::Confirm { code }) =
            (&verdict, &identity.admission)
        {
            let outcome = self.confirm(tx, &incoming, code.as_deref(), no_answer.as_deref())?;
            return Ok(Taken::Applied(outcome));
        }
        let outcome = apply::apply(tx, ctx, &incoming, &verdict, &thread, &identity)?;
        Ok(Taken::Applied(outcome))
    }

    /// A reply to a confirmation request. A valid code (unused, not
    /// expired, sent to this very address) releases every message the
    /// address has waiting, each into its ticket (marked "unverified
    /// sender"); the reply joins the first of them. Anything else releases
    /// nothing and is kept, unanswered: a wrong code says nothing, not even
    /// that it was wrong.
    ///
    /// Two things never confirm: an automatic message (an out-of-office
    /// quotes the code it answers, and may even come back from the right
    /// address), and any code for a message that has had
    /// [`MAX_WRONG_CODES`] wrong ones — that message waits for staff, and
    /// no code is tried against it again.
    fn confirm(
        &self,
        tx: &mut Tx<'_>,
        msg: &Incoming<'_>,
        code: Option<&str>,
        no_answer: Option<&str>,
    ) -> Result<Outcome, StoreError> {
        let inbound = msg.inbound;
        let Some(from) = &inbound.from else {
            return apply::keep(tx, msg, HoldKind::NoSender, "no valid From address");
        };
        if let Some(why) = no_answer {
            let (kind, what) = if inbound.class.is_automatic() {
                (HoldKind::Automatic, "an automatic answer")
            } else {
                (HoldKind::BadConfirmation, "an answer nothing may answer")
            };
            let reason = format!("{what} to a confirmation request ({why}): it confirms nothing");
            return apply::keep(tx, msg, kind, &reason);
        }
        // The messages this address has waiting that codes may still release.
        let key = from.address.key();
        let waiting = tx.read().pending_verifications(&key, msg.at)?;
        let open: Vec<(i64, i64)> = waiting
            .iter()
            .filter(|v| v.failed_attempts < MAX_WRONG_CODES)
            .map(|v| (v.id, v.quarantine))
            .collect();
        if !waiting.is_empty() && open.is_empty() {
            let reason = format!(
                "a reply from {} to a confirmation request, not tried: its held messages had {MAX_WRONG_CODES} wrong codes and wait for staff",
                from.address
            );
            return apply::keep(tx, msg, HoldKind::BadConfirmation, &reason);
        }
        let found = match code {
            Some(code) => tx.read().verification_by_code(&apply::code_hash(code))?,
            None => {
                let answered: Vec<String> = inbound
                    .in_reply_to
                    .iter()
                    .chain(&inbound.references)
                    .cloned()
                    .collect();
                tx.read().verification_by_mail(&answered)?
            }
        };
        let valid = found.filter(|v| {
            v.used.is_none()
                && !v.settled
                && v.expires > msg.at
                && v.sender_key == key
                && open.iter().any(|&(id, _)| id == v.id)
        });
        let Some(valid) = valid else {
            // Only a code written out is a guess; a reply that lost its
            // subject (no code) and names no request of theirs is not, and
            // the same mail delivered again is the same guess.
            if code.is_some() && !tx.read().is_held(&inbound.content_hash)? {
                self.count_wrong_code(tx, &open)?;
            }
            let reason = format!(
                "a reply from {} to a confirmation request whose code is unknown, expired, used or not theirs: nothing released",
                from.address
            );
            return apply::keep(tx, msg, HoldKind::BadConfirmation, &reason);
        };
        self.release_confirmed(tx, msg, &valid, &open)
    }

    /// A wrong code from an address counts against each message it has
    /// waiting (`open`: verification and quarantine ids); the one that
    /// reaches [`MAX_WRONG_CODES`] is noted for staff.
    fn count_wrong_code(&self, tx: &mut Tx<'_>, open: &[(i64, i64)]) -> Result<(), StoreError> {
        for &(id, quarantine) in open {
            if tx.fail_verification(id)? < MAX_WRONG_CODES {
                continue;
            }
            let note = format!(
                "{MAX_WRONG_CODES} wrong confirmation codes: no code is tried any more, it waits for staff (postdesk quarantine release {quarantine})"
            );
            tx.note_on_quarantined(quarantine, &note)?;
            warn!(
                quarantine,
                "held message waits for staff after {MAX_WRONG_CODES} wrong confirmation codes"
            );
        }
        Ok(())
    }

    /// A valid code: a stranger's proves the address, so every message of
    /// the address that codes may still release (`open`) goes into its
    /// ticket; a known address's proves its one message only, so a
    /// forger's mail in its name waits for its own code. The reply joins
    /// the first ticket.
    fn release_confirmed(
        &self,
        tx: &mut Tx<'_>,
        msg: &Incoming<'_>,
        valid: &Verification,
        open: &[(i64, i64)],
    ) -> Result<Outcome, StoreError> {
        let unproven = |tx: &Tx<'_>, q: i64| -> Result<bool, StoreError> {
            Ok(tx
                .read()
                .quarantine_entry(q)?
                .is_some_and(|e| e.kind == HoldKind::Unproven))
        };
        let only_this = unproven(tx, valid.quarantine)?;
        let mut tickets = Vec::new();
        let mut released = 0;
        for v in tx.read().pending_verifications(&valid.sender_key, msg.at)? {
            let this = v.id == valid.id;
            if !open.iter().any(|&(id, _)| id == v.id)
                || (only_this && !this)
                || (!this && unproven(tx, v.quarantine)?)
            {
                continue;
            }
            tx.use_verification(v.id, msg.at)?;
            match self.release_in(tx, v.quarantine, Release::Confirmed, msg.at) {
                Ok(Taken::Applied(o)) => {
                    released += 1;
                    tickets.extend(o.ticket());
                }
                Ok(_) => {}
                Err(ReleaseError::Store(e)) => return Err(e),
                // Held again by a rule (blocked meanwhile, say): it stays in quarantine.
                Err(e) => {
                    warn!(quarantine = v.quarantine, error = %e, "confirmed message not taken in")
                }
            }
        }
        let from = msg.inbound.from.as_ref().map(|f| f.address.to_string());
        match tickets.first() {
            Some(&ticket) => {
                let detail = format!(
                    "{} confirmed their address by replying to the confirmation request",
                    from.unwrap_or_default()
                );
                let message = apply::attach(tx, msg, ticket, &detail)?;
                Ok(Outcome::Confirmed {
                    ticket,
                    message,
                    released: tickets.len(),
                })
            }
            // A confirmed request that is no ticket (self-service): the
            // answer is kept for the record, settled.
            None if released > 0 => {
                let kept = apply::keep(
                    tx,
                    msg,
                    HoldKind::Other,
                    &format!(
                        "{} confirmed a request that opens no ticket (self-service): applied",
                        from.unwrap_or_default()
                    ),
                )?;
                if let Outcome::Held { quarantine, .. } = kept {
                    tx.mark_released(quarantine, None, msg.at)?;
                }
                Ok(kept)
            }
            None => apply::keep(
                tx,
                msg,
                HoldKind::BadConfirmation,
                "a valid confirmation, but none of the held messages could be taken in (see the quarantine)",
            ),
        }
    }

    fn unreadable(
        &self,
        tx: &mut Tx<'_>,
        mail: &RawMail,
        e: &ParseError,
        now: DateTime<Utc>,
    ) -> Result<Taken, StoreError> {
        let reason = format!("unreadable: {e}");
        let kind = match e {
            ParseError::TooLarge { .. } => HoldKind::TooLarge,
            _ => HoldKind::Unreadable,
        };
        let quarantine = tx.quarantine_as(
            &Held {
                raw: &mail.raw,
                content_hash: &parse::content_hash(&mail.raw),
                source: &mail.source,
                message_id: None,
                from: None,
                subject: None,
                reason: &reason,
                at: now,
            },
            kind,
        )?;
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
/// A message whose Message-ID another message has already (one of ours, or
/// one we received with another sender or content) gets one of its own,
/// derived from its content: it is a message of its own, never "another
/// copy" filed where the first one is.
fn own_message_id(
    tx: &Tx<'_>,
    mut inbound: parse::Inbound,
) -> Result<parse::Inbound, StoreError> {
    if inbound.message_id_derived {
        return Ok(inbound);
    }
    let from = inbound.from.as_ref().map(|f| f.address.as_str());
    if !tx.read().message_id_taken_by_another(
        &inbound.message_id,
        from,
        &inbound.subject,
        &inbound.text,
    )? {
        return Ok(inbound);
    }
    let reused = std::mem::replace(
        &mut inbound.message_id,
        format!("{}@postdesk.invalid", &inbound.content_hash[..32]),
    );
    inbound.message_id_derived = true;
    inbound.warnings.push(format!(
        "its Message-ID <{reused}> belongs to another message: given one of its own"
    ));
    Ok(inbound)
}

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

    fn received_ticket_of(&self, message_id: &str) -> Result<Option<TicketId>, StoreError> {
        Reader::received_ticket_of(self, message_id)
    }

    fn sent_ticket_of(&self, message_id: &str) -> Result<Option<TicketId>, StoreError> {
        Reader::sent_ticket_of(self, message_id)
    }

    fn merged_into(&self, id: TicketId) -> Result<Option<TicketId>, StoreError> {
        Reader::merged_into(self, id)
    }
}

/// The store's indexed lookups, as identify asks for them.
impl Directory for Reader<'_> {
    type Error = StoreError;

    fn grants(&self, address: &Address) -> Result<Vec<Grant>, StoreError> {
        let rows = self.sender_rules(address)?;
        // A row that no longer parses (a hand-edited database) lets nobody in.
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                let account = AccountId::parse(&r.account).ok()?;
                let rule = match r.kind.as_str() {
                    "primary" => Rule::Primary(Address::parse(&r.pattern).ok()?),
                    _ => Rule::Authorized(SenderPattern::parse(&r.pattern).ok()?),
                };
                Some(Grant { account, rule })
            })
            .collect())
    }

    fn account(&self, id: &AccountId) -> Result<Option<AccountFacts>, StoreError> {
        Ok(self.account_brief(id.as_str())?.and_then(|b| {
            Some(AccountFacts {
                id: AccountId::parse(&b.id).ok()?,
                parent: b.parent.as_deref().and_then(|p| AccountId::parse(p).ok()),
                priority: b.priority,
                require_authentication: b.require_authentication,
                language: b.language.as_deref().and_then(Language::from_code),
            })
        }))
    }

    fn ticket_account(&self, ticket: TicketId) -> Result<Option<Option<AccountId>>, StoreError> {
        Ok(Reader::ticket_account(self, ticket)?
            .map(|a| a.and_then(|id| AccountId::parse(&id).ok())))
    }

    fn is_participant(&self, ticket: TicketId, who: &Address) -> Result<bool, StoreError> {
        Reader::is_participant(self, ticket, who)
    }

    fn sent_on_ticket(&self, ticket: TicketId, ids: &[String]) -> Result<bool, StoreError> {
        Reader::sent_on_ticket(self, ticket, ids)
    }

    fn confirmation_sent(&self, ids: &[String]) -> Result<bool, StoreError> {
        Reader::confirmation_sent(self, ids)
    }

    fn sent_to_staff(&self, ids: &[String], to: &[Address]) -> Result<bool, StoreError> {
        Reader::sent_to_staff(self, ids, to)
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
