//! intake: runs raw mail through parse → screen → thread → identify → apply
//! and commits it, in batches, BEFORE the caller may remove anything from
//! its source (DESIGN invariant 1). A re-delivery (same source id, or same
//! Message-ID and content) changes nothing.
//!
//! Threading runs before identify because who may write depends on the
//! ticket (check_sender, the ticket's account). A reply to a confirmation
//! request is taken in here: it releases its sender's held messages, which
//! go through the stages again.
//!
//! Nothing a sender writes can stop intake. A message over
//! `intake.max_message_size` is kept as its header and the start of its
//! body (with the whole message's size and hash), held and answered once,
//! so it never reaches the database whole. A batch whose commit fails for
//! one message's sake is taken again message by message; a message that
//! fails alone is quarantined with the error, and one that cannot even be
//! quarantined is left in its source and skipped for the rest of the
//! process's life ([`Taken::Skipped`]).
//!
//! A source id is recorded with the content hash (`id#sha256`): a new
//! message under a reused Maildir name, mbox offset, UIDL or UID is taken;
//! the same bytes under the same id are recognised (a re-fetch after a crash).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tracing::{info, warn};

use crate::apply::{self, Context, Incoming, Outcome};
use crate::config::Config;

use crate::domain::Language;
use crate::domain::msgid::MessageIds;
use crate::domain::{AccountId, Address, HoldKind, SenderPattern, TicketId};
use crate::identify::{self, AccountFacts, Admission, Directory, Grant, Release, SenderRule};
use crate::outbox::compose::Desk;
use crate::outbox::template::{TemplateError, Templates};
use crate::parse::{self, ParseError, ParseLimits};
use crate::screen::{self, ScreenRules, Verdict};
use crate::store::{Held, Reader, Store, StoreError, Tx, Verification};
use crate::thread::ourmail;
use crate::thread::{self, Known, Token};

/// One message as a source hands it over.
#[derive(Debug, Clone)]
pub struct RawMail {
    /// The source's name (`[[source]] name`, or `ingest`).
    pub source: String,
    /// The source's id for it (Maildir file name, UIDL, UID), when it has one.
    pub source_id: Option<String>,
    pub raw: Vec<u8>,
}

/// A message as a source read it, within the limits of [`ReadLimits`]:
/// `mail.raw` is all of it or — for a message over the size limit — its
/// header and the start of its body; `size` and `hash` are always those of
/// the whole message.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub mail: RawMail,
    pub size: u64,
    /// SHA-256 of the whole message, hex (as [`parse::content_hash`]).
    pub hash: String,
}

impl Fetched {
    /// `mail.raw` holds only the start of the message.
    pub fn is_cut(&self) -> bool {
        (self.mail.raw.len() as u64) < self.size
    }
}

/// What [`Pipeline::take`] takes: a [`RawMail`] (all its bytes in hand) or
/// a [`Fetched`] (read with a cap by a source).
pub trait Arrival {
    fn mail(&self) -> &RawMail;
    /// The whole message's size and content hash, when the source read it
    /// with a cap and so already knows them.
    fn whole(&self) -> Option<(u64, &str)> {
        None
    }
}

impl Arrival for RawMail {
    fn mail(&self) -> &RawMail {
        self
    }
}

impl Arrival for Fetched {
    fn mail(&self) -> &RawMail {
        &self.mail
    }
    fn whole(&self) -> Option<(u64, &str)> {
        Some((self.size, &self.hash))
    }
}

/// How much of a message intake reads and keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    /// Messages up to this many bytes are kept whole:
    /// `intake.max_message_size`, never more than the store can hold
    /// ([`crate::store::MAX_MESSAGE_BYTES`]).
    pub max_size: u64,
    /// Bytes of body kept of a larger message: `intake.max_stored_size`.
    pub keep: u64,
}

/// The header of a message is looked for in this many leading bytes (as
/// `parse::parse_head` does); without an end of header there, none is kept.
const HEAD_SCAN: usize = 256 << 10;

impl ReadLimits {
    pub fn from_config(i: &crate::config::Intake) -> ReadLimits {
        ReadLimits {
            max_size: i.max_message_size.min(crate::store::MAX_MESSAGE_BYTES),
            keep: i.max_stored_size,
        }
    }

    /// The most bytes a message of `size` bytes holds in memory once read.
    pub fn held(&self, size: u64) -> u64 {
        if size > self.max_size {
            size.min(self.keep + HEAD_SCAN as u64)
        } else {
            size
        }
    }

    /// How many leading bytes of a too-large message are kept, from its
    /// first bytes `head` (the first 256 KB suffice): the header through
    /// its blank line and `keep` bytes of body; without a header end in
    /// the first 256 KB, the first `max(keep, 256 KB)` bytes. May exceed
    /// `head.len()`.
    pub fn cut_len(&self, head: &[u8]) -> u64 {
        let head = &head[..head.len().min(HEAD_SCAN)];
        let lf = head.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
        let crlf = head
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map(|i| i + 4);
        match [lf, crlf].into_iter().flatten().min() {
            Some(end) => end as u64 + self.keep,
            None => self.keep.max(HEAD_SCAN as u64),
        }
    }
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Taken {
    Applied(Outcome),
    /// Already stored: same Message-ID and content (message row given).
    Duplicate(i64),
    /// This source id was taken before.
    AlreadyTaken,
    /// Not a readable mail at all, or one whose intake failed; kept in
    /// quarantine.
    Unreadable {
        quarantine: i64,
        error: String,
    },
    /// Failed, and could not even be quarantined: NOT stored. The source
    /// keeps it; this process does not try it again.
    Skipped {
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
            Taken::Skipped { .. } => "skipped",
        }
    }

    /// Stored (or known to be): the source may remove the message.
    pub fn is_stored(&self) -> bool {
        !matches!(self, Taken::Skipped { .. })
    }
}

/// One arrival made ready for the stages: what is stored of it, and the
/// whole message's size and hash.
struct Item<'a> {
    mail: &'a RawMail,
    /// All of `mail.raw`, or its start when the message is too large.
    raw: &'a [u8],
    size: u64,
    /// Of the whole message; computed when a source id or a cut needs it.
    hash: Option<String>,
}

impl Item<'_> {
    fn is_cut(&self) -> bool {
        (self.raw.len() as u64) < self.size
    }

    fn hash(&self) -> String {
        self.hash
            .clone()
            .unwrap_or_else(|| parse::content_hash(self.raw))
    }

    /// The source id as recorded: `id#hash`.
    fn key(&self) -> Option<String> {
        let id = self.mail.source_id.as_ref()?;
        Some(format!("{id}#{}", self.hash()))
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
    /// Messages (`source`, `id#hash`) that could not even be quarantined:
    /// left in their source and not tried again by this process.
    skipped: Arc<Mutex<HashSet<(String, String)>>>,
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
            skipped: Arc::default(),
        })
    }

    /// Checks what `new` would load (the templates), for `check-config`.
    pub fn check(config: &Config) -> Result<(), TemplateError> {
        Templates::load(config.service.templates.as_deref()).map(|_| ())
    }

    /// How much of a message intake reads and keeps.
    pub fn read_limits(&self) -> ReadLimits {
        ReadLimits::from_config(&self.config.intake)
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
        let mut lifecycle = crate::ticket::Settings::new(c, self.desk());
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
            max_message_size: self.read_limits().max_size,
        }
    }

    fn screen_rules(&self) -> ScreenRules<'_> {
        let i = &self.config.intake;
        ScreenRules {
            own: &self.config.own_addresses,
            // What intake keeps whole: a message cut for the store's sake
            // is held as too large even under a larger configured limit.
            max_size: self.read_limits().max_size,
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

    fn identify_rules(&self, released: Option<Release>) -> identify::IdentifyRules<'_> {
        let i = &self.config.intake;
        identify::IdentifyRules {
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
    /// caller may remove it from its source — all but those
    /// [`Taken::Skipped`]; on `Err` the database failed as a whole and
    /// nothing was stored from the batch but what `take` had stored one by
    /// one before (recognised by its source id next time).
    ///
    /// A commit that fails for one message's sake (any error that is not
    /// [`StoreError::is_database_fault`]) is taken again message by
    /// message, so one bad message never holds back the rest.
    pub fn take<A: Arrival>(
        &self,
        store: &mut Store,
        batch: &[A],
        now: DateTime<Utc>,
    ) -> Result<Vec<Taken>, StoreError> {
        let items: Vec<Item<'_>> = batch.iter().map(|a| self.item(a)).collect();
        let taken = match store.write(|tx| {
            items
                .iter()
                .map(|item| self.take_one(tx, item, now))
                .collect::<Result<Vec<_>, _>>()
        }) {
            Ok(taken) => taken,
            Err(e) if e.is_database_fault() => return Err(e),
            Err(e) => {
                if items.len() > 1 {
                    warn!(messages = items.len(), error = %e, "a batch failed; taking its messages one by one");
                }
                let mut taken = Vec::with_capacity(items.len());
                for item in &items {
                    taken.push(self.take_alone(store, item, now)?);
                }
                taken
            }
        };
        for (item, t) in items.iter().zip(&taken) {
            log_taken(item, t);
        }
        Ok(taken)
    }

    /// Reads what intake needs of an arrival: a message over the size limit
    /// is cut here when its source did not (its whole bytes in hand).
    fn item<'a, A: Arrival>(&self, arrival: &'a A) -> Item<'a> {
        let mail = arrival.mail();
        let limits = self.read_limits();
        let (size, hash) = match arrival.whole() {
            Some((size, hash)) => (size, Some(hash.to_string())),
            None => (mail.raw.len() as u64, None),
        };
        let too_large = mail.raw.len() as u64 > limits.max_size;
        let hash = match hash {
            None if too_large || mail.source_id.is_some() => Some(parse::content_hash(&mail.raw)),
            h => h,
        };
        let raw = if too_large {
            let keep = limits.cut_len(&mail.raw).min(mail.raw.len() as u64);
            &mail.raw[..keep as usize]
        } else {
            &mail.raw[..]
        };
        Item {
            mail,
            raw,
            size: size.max(raw.len() as u64),
            hash,
        }
    }

    /// One message in a transaction of its own, after its batch failed.
    fn take_alone(
        &self,
        store: &mut Store,
        item: &Item<'_>,
        now: DateTime<Utc>,
    ) -> Result<Taken, StoreError> {
        match store.write(|tx| self.take_one(tx, item, now)) {
            Ok(t) => Ok(t),
            Err(e) if e.is_database_fault() => Err(e),
            Err(e) => self.failed_alone(store, item, &e, now),
        }
    }

    /// A message whose intake fails on its own: quarantined with the
    /// error, so it leaves its source and the mail behind it goes on; if
    /// even that fails, skipped (left in the source, not tried again by
    /// this process) with a warning.
    fn failed_alone(
        &self,
        store: &mut Store,
        item: &Item<'_>,
        error: &StoreError,
        now: DateTime<Utc>,
    ) -> Result<Taken, StoreError> {
        let reason = format!("could not be taken in: {error}");
        let hash = item.hash();
        let kept = store.write(|tx| {
            let quarantine = tx.quarantine_as(
                &Held {
                    raw: item.raw,
                    content_hash: &hash,
                    source: &item.mail.source,
                    message_id: None,
                    from: None,
                    subject: None,
                    reason: &reason,
                    at: now,
                },
                HoldKind::Unreadable,
            )?;
            if let Some(key) = item.key() {
                tx.record_source_id(&item.mail.source, &key, None, Some(quarantine), now)?;
            }
            Ok::<_, StoreError>(quarantine)
        });
        match kept {
            Ok(quarantine) => Ok(Taken::Unreadable {
                quarantine,
                error: reason,
            }),
            Err(e) if e.is_database_fault() => Err(e),
            Err(e) => {
                let error = format!("{reason}; nor quarantined: {e}");
                warn!(source = %item.mail.source, source_id = item.mail.source_id.as_deref().unwrap_or("-"), error = %error,
                    "message left in its source and skipped until postdesk restarts");
                if let Some(key) = item.key()
                    && let Ok(mut skipped) = self.skipped.lock()
                {
                    skipped.insert((item.mail.source.clone(), key));
                }
                Ok(Taken::Skipped { error })
            }
        }
    }

    fn take_one(
        &self,
        tx: &mut Tx<'_>,
        item: &Item<'_>,
        now: DateTime<Utc>,
    ) -> Result<Taken, StoreError> {
        let mail = item.mail;
        let key = item.key();
        if let Some(key) = &key
            && self
                .skipped
                .lock()
                .is_ok_and(|s| s.contains(&(mail.source.clone(), key.clone())))
        {
            return Ok(Taken::Skipped {
                error:
                    "failed earlier and could not be quarantined; skipped until postdesk restarts"
                        .into(),
            });
        }
        if let (Some(id), Some(hash)) = (&mail.source_id, &item.hash)
            && tx.read().source_content_taken(&mail.source, id, hash)?
        {
            return Ok(Taken::AlreadyTaken);
        }
        let taken = self.process(tx, item, now)?;
        if let Some(key) = &key {
            let (message, quarantine) = match &taken {
                Taken::Applied(Outcome::Held { quarantine, .. })
                | Taken::Unreadable { quarantine, .. } => (None, Some(*quarantine)),
                Taken::Applied(o) => (o.message(), None),
                Taken::Duplicate(m) => (Some(*m), None),
                Taken::AlreadyTaken | Taken::Skipped { .. } => (None, None),
            };
            tx.record_source_id(&mail.source, key, message, quarantine, now)?;
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
        let taken = match tx
            .read()
            .message_by_identity(&inbound.message_id, &inbound.content_hash)?
        {
            Some(m) => Taken::Duplicate(m),
            None => {
                let mut ctx = self.context();
                ctx.released = true;
                let taken =
                    self.stages(tx, &ctx, Some(how), &entry.raw, &entry.source, inbound, now)?;
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
        item: &Item<'_>,
        now: DateTime<Utc>,
    ) -> Result<Taken, StoreError> {
        let inbound = if item.is_cut() {
            // Too large: only its header is read, so the screen can hold
            // it and tell the sender; size and hash are the whole message's.
            let too_large = ParseError::TooLarge {
                size: usize::try_from(item.size).unwrap_or(usize::MAX),
                max: usize::try_from(self.read_limits().max_size).unwrap_or(usize::MAX),
            };
            match parse::parse_head(item.raw) {
                Ok(mut head) => {
                    let hash = item.hash();
                    head.size = usize::try_from(item.size).unwrap_or(usize::MAX);
                    if head.message_id_derived {
                        head.message_id = format!("{}@postdesk.invalid", &hash[..32]);
                    }
                    head.content_hash = hash;
                    head
                }
                Err(_) => return self.unreadable(tx, item, &too_large, now),
            }
        } else {
            match parse::parse(item.raw, &self.limits()) {
                Ok(i) => i,
                // Read the header only, so the screen can hold it and tell the sender.
                Err(e @ ParseError::TooLarge { .. }) => match parse::parse_head(item.raw) {
                    Ok(head) => head,
                    Err(_) => return self.unreadable(tx, item, &e, now),
                },
                Err(e) => return self.unreadable(tx, item, &e, now),
            }
        };
        if let Some(id) = tx
            .read()
            .message_by_identity(&inbound.message_id, &inbound.content_hash)?
        {
            return Ok(Taken::Duplicate(id));
        }
        let inbound = own_message_id(tx, item.raw, inbound)?;
        if inbound.message_id_derived
            && let Some(id) = tx
                .read()
                .message_by_identity(&inbound.message_id, &inbound.content_hash)?
        {
            return Ok(Taken::Duplicate(id));
        }
        let mail = item.mail;
        self.stages(
            tx,
            &self.context(),
            None,
            item.raw,
            &mail.source,
            inbound,
            now,
        )
    }

    /// `inbound` split again with the text of the mails of ours it answers
    /// known (see `ourmail`): whatever of them it quotes, however
    /// re-wrapped or converted, is history, never new text. The lines a
    /// customer answers inline stay as context; the staff path splits a
    /// staff member's mail again without it.
    fn with_our_mail_known(
        &self,
        tx: &Tx<'_>,
        mut inbound: crate::parse::Inbound,
    ) -> Result<crate::parse::Inbound, StoreError> {
        let texts = ourmail::texts(tx, &self.ids, &self.limits(), &inbound)?;
        if texts.is_empty() {
            return Ok(inbound);
        }
        let ours: Vec<&str> = texts.iter().map(String::as_str).collect();
        let (new_text, quoted) = parse::split_reply_keeping_context(&inbound.text, &ours);
        inbound.new_text = new_text;
        inbound.quoted = quoted;
        Ok(inbound)
    }

    /// screen → thread → identify → apply for a parsed message; `raw` is
    /// what is stored of it.
    #[allow(clippy::too_many_arguments)]
    fn stages(
        &self,
        tx: &mut Tx<'_>,
        ctx: &Context<'_>,
        released: Option<Release>,
        raw: &[u8],
        source: &str,
        inbound: crate::parse::Inbound,
        now: DateTime<Utc>,
    ) -> Result<Taken, StoreError> {
        let inbound = self.with_our_mail_known(tx, inbound)?;
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
            raw,
            inbound: &inbound,
            source,
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
        item: &Item<'_>,
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
                raw: item.raw,
                content_hash: &item.hash(),
                source: &item.mail.source,
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

/// A message whose Message-ID another message has already (one of ours, or
/// one we received from another sender or with another body) gets one of
/// its own, derived from its content: it is a message of its own, never
/// "another copy" filed where the first one is. Copies of one mail that
/// came by two routes differ only in the trace fields MTAs put on top.
fn own_message_id(
    tx: &Tx<'_>,
    raw: &[u8],
    mut inbound: parse::Inbound,
) -> Result<parse::Inbound, StoreError> {
    if inbound.message_id_derived {
        return Ok(inbound);
    }
    let holders = tx.read().holders_of_message_id(&inbound.message_id)?;
    let (ours, holders) = (holders.ours, holders.received);
    if !ours && holders.is_empty() {
        return Ok(inbound);
    }
    let from = inbound.from.as_ref().map(|f| f.address.clone());
    let body = body_hash(raw);
    let copy = !ours
        && holders.iter().any(|(sender, stored)| {
            let same_sender = match (&from, sender.as_deref().map(Address::parse)) {
                (Some(a), Some(Ok(b))) => *a == b,
                (None, None) => true,
                _ => false,
            };
            same_sender && body_hash(stored) == body
        });
    if copy {
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

/// SHA-256 of a message's body (after the first blank line), line ends
/// made LF, trailing whitespace ignored.
fn body_hash(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw).replace("\r\n", "\n");
    let body = text.split_once("\n\n").map_or("", |(_, b)| b).trim_end();
    parse::content_hash(body.as_bytes())
}

/// One journal line per message taken (source, Message-ID, ticket, outcome).
fn log_taken(item: &Item<'_>, t: &Taken) {
    let mail = item.mail;
    let id = mail.source_id.as_deref().unwrap_or("-");
    let message_id = header_message_id(item.raw).unwrap_or_else(|| "-".into());
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
        // Said (at warn) where it happened.
        Taken::Skipped { .. } => {}
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
                    "primary" => SenderRule::Primary(Address::parse(&r.pattern).ok()?),
                    _ => SenderRule::Authorized(SenderPattern::parse(&r.pattern).ok()?),
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
mod limit_tests {
    use super::ReadLimits;

    #[test]
    fn what_a_cut_keeps() {
        let l = ReadLimits {
            max_size: 1000,
            keep: 10,
        };
        let cases: &[(&[u8], u64)] = &[
            (b"Subject: x\r\n\r\nbody", 14 + 10),
            (b"Subject: x\n\nbody", 12 + 10),
            // The first blank line ends the header, LF or CRLF.
            (b"A: 1\n\nB: 2\r\n\r\n", 6 + 10),
            // No end of header (yet): the first 256 KB.
            (b"Subject: x\r\n", 256 << 10),
            (b"", 256 << 10),
        ];
        for (head, want) in cases {
            assert_eq!(
                l.cut_len(head),
                *want,
                "{:?}",
                String::from_utf8_lossy(head)
            );
        }
        assert_eq!(l.held(900), 900);
        assert_eq!(l.held(5000), 5000);
        assert_eq!(l.held(1 << 30), 10 + (256 << 10));
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
