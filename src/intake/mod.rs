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

mod arrival;
mod confirm;
mod keys;
mod learn;
mod lookup;
mod message_id;
mod pin;

pub use arrival::{Arrival, Fetched, RawMail, ReadLimits};
pub use keys::{KeyFileError, load as load_keys, load_smime};

/// What keeps the stages from being set up: a template or a key file.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Templates(#[from] TemplateError),
    #[error(transparent)]
    Keys(#[from] KeyFileError),
}

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{DateTime, Utc};
use tracing::{info, warn};

use crate::apply::{self, Context, Incoming, Outcome};
use crate::config::Config;

use crate::domain::HoldKind;
use crate::domain::msgid::MessageIds;
use crate::identify::{self, Admission, Release, route};
use crate::outbox::compose::Desk;
use crate::outbox::template::{TemplateError, Templates};
use crate::parse::{self, ParseError, ParseLimits};
use crate::screen::openpgp::Keyring;
use crate::screen::smime::SmimeTrust;
use crate::screen::{self, ScreenRules, Verdict};
use crate::store::{Held, Store, StoreError, Tx};
use crate::thread::ourmail;
use crate::thread::{self, Token};
use crate::ticket::QueueDesk;

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
            Taken::Applied(Outcome::Search { .. }) => "search",
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
    /// When the source held all of it (its intake latency's start).
    read_at: Option<Instant>,
}

impl<'a> Item<'a> {
    /// This message held unread: its bytes, nothing parsed from them.
    fn unread<'h>(&self, hash: &'h str, reason: &'h str, at: DateTime<Utc>) -> Held<'h>
    where
        'a: 'h,
    {
        Held {
            raw: self.raw,
            content_hash: hash,
            source: &self.mail.source,
            message_id: None,
            from: None,
            subject: None,
            reason,
            at,
        }
    }

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

/// Counts a message taken in this transaction in the intake-latency
/// histogram: from when its source held it to now, the transaction's work
/// done. A message taken before (a re-fetch) or skipped is not counted;
/// nor is one without a start (a release from quarantine).
fn record_latency(tx: &mut Tx<'_>, item: &Item<'_>, taken: &Taken) -> Result<(), StoreError> {
    let Some(read_at) = item.read_at else {
        return Ok(());
    };
    if matches!(taken, Taken::AlreadyTaken | Taken::Skipped { .. }) {
        return Ok(());
    }
    let us = i64::try_from(read_at.elapsed().as_micros()).unwrap_or(i64::MAX);
    tx.record_intake_latency(&item.mail.source, us)
}

/// Wrong confirmation codes a held message takes before it waits for staff
/// and no code is tried against it any more (issue 17).
pub const MAX_WRONG_CODES: u32 = 5;

/// Everything the stages need that is built once from the config.
#[derive(Clone)]
pub struct Pipeline {
    pub config: Arc<Config>,
    /// The first queue's token, which finds every prefix of the desk.
    pub token: Token,
    /// The desk's queues, in the config's order (never empty).
    pub queues: Arc<Vec<QueueDesk>>,
    /// The queue every message taken belongs to by its envelope
    /// (`ingest --queue NAME`, an MTA pipe per address).
    pub envelope_queue: Option<String>,
    /// The desk's Message-IDs (its secret is the database's).
    pub ids: Arc<MessageIds>,
    /// Send no automatic mail at all: importing an archive.
    pub silent: bool,
    /// The desk's OpenPGP keys (`[openpgp]`), None when not configured.
    pub keys: Arc<Option<Keyring>>,
    /// What makes an S/MIME signature proof (`[smime]`, `smime_cert`).
    pub smime: Arc<SmimeTrust>,
    /// `intake.require_proof_for`, compiled.
    proof_rules: Arc<Vec<regex::Regex>>,
    /// Messages (`source`, `id#hash`) that could not even be quarantined:
    /// left in their source and not tried again by this process.
    skipped: Arc<Mutex<HashSet<(String, String)>>>,
}

impl Pipeline {
    /// `secret` is the desk's (`Store::desk_secret`).
    pub fn new(config: Arc<Config>, secret: [u8; 32]) -> Result<Pipeline, PipelineError> {
        let queues = QueueDesk::all(&config, &[])?;
        let keys = keys::load(&config)?;
        let smime = keys::load_smime(&config)?;
        Ok(Pipeline {
            keys: Arc::new(keys),
            smime: Arc::new(smime),
            token: queues[0].token.clone(),
            queues: Arc::new(queues),
            envelope_queue: None,
            ids: Arc::new(MessageIds::new(secret, &config.service.address.domain())),
            // Checked when the config was read.
            proof_rules: Arc::new(config.intake.proof_rules().unwrap_or_default()),
            config,
            silent: false,
            skipped: Arc::default(),
        })
    }

    /// Checks what `new` would load (the templates), for `check-config`.
    pub fn check(config: &Config) -> Result<(), TemplateError> {
        Templates::load(&config.service.templates)?;
        QueueDesk::all(config, &[]).map(|_| ())
    }

    /// Records the subject-token prefixes of the config as used, and makes
    /// every prefix the desk ever used find its tickets (a queue's prefix
    /// changed since some mail went out).
    pub fn learn_prefixes(
        &mut self,
        store: &mut Store,
        now: DateTime<Utc>,
    ) -> Result<(), PrefixError> {
        let c = &self.config;
        let mut ours: Vec<&str> = c.queues.iter().map(|q| q.ticket_prefix.as_str()).collect();
        ours.push(&c.service.ticket_prefix);
        // A write only when the config names a prefix not recorded yet:
        // `ingest` runs once per message under an MTA pipe.
        let mut known = store.read().prefixes()?;
        if ours.iter().any(|p| !known.iter().any(|k| k == p)) {
            store.write(|tx| tx.remember_prefixes(&ours, now))?;
            known = store.read().prefixes()?;
        }
        // Only the tokens change: the templates loaded by `new` stay.
        match Arc::get_mut(&mut self.queues) {
            Some(queues) => QueueDesk::learn(queues, c, &known),
            None => self.queues = Arc::new(QueueDesk::all(c, &known)?),
        }
        self.token = self.queues[0].token.clone();
        Ok(())
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

    /// Who the desk is, for the mail it writes: its first queue.
    pub fn desk(&self) -> Desk<'_> {
        self.queues[0].desk(&self.ids, self.keys.as_ref().as_ref())
    }

    /// What a change of a ticket needs of the desk: the one view of the
    /// config that apply, the sweep and the operator's commands share;
    /// [`crate::ticket::Settings::for_ticket`] gives a ticket's queue's.
    pub fn settings(&self) -> crate::ticket::Settings<'_> {
        let mut settings = crate::ticket::Settings::new(&self.config, self.desk());
        settings.queues = &self.queues;
        settings.answer.silent = self.silent;
        settings.for_queue(&self.queues[0])
    }

    /// The settings of a message's stages for queue `q`.
    fn context_for<'a>(&'a self, q: &'a QueueDesk) -> Context<'a> {
        let mut ctx = self.context();
        ctx.lifecycle = ctx.lifecycle.for_queue(q);
        ctx.desk = ctx.lifecycle.desk;
        ctx.language = q.queue.default_language;
        ctx.default_type = &q.queue.default_type;
        ctx.confirm_receipt = q.queue.confirm_receipt;
        ctx
    }

    fn context(&self) -> Context<'_> {
        let c = &self.config;
        let lifecycle = self.settings();
        let first = &self.queues[0].queue;
        Context {
            desk: self.desk(),
            language: first.default_language,
            default_type: &first.default_type,
            confirm_receipt: first.confirm_receipt,
            unmatched_automatic: c.intake.unmatched_automatic,
            released: false,
            forced: false,
            lifecycle,
            verify_expiry: chrono::Duration::from_std(c.intake.verify_expiry)
                .unwrap_or_else(|_| chrono::Duration::days(7)),
            max_message_size: self.read_limits().max_size,
            proof_rules: &self.proof_rules,
            auto_verify: c.intake.auto_verify,
            route_note: None,
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
            let taken = items
                .iter()
                .map(|item| self.take_one(tx, item, now))
                .collect::<Result<Vec<_>, _>>()?;
            // The batch's work is done; only its commit is left.
            for (item, t) in items.iter().zip(&taken) {
                record_latency(tx, item, t)?;
            }
            Ok::<_, StoreError>(taken)
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
            read_at: arrival.read_at(),
        }
    }

    /// One message in a transaction of its own, after its batch failed.
    fn take_alone(
        &self,
        store: &mut Store,
        item: &Item<'_>,
        now: DateTime<Utc>,
    ) -> Result<Taken, StoreError> {
        let alone = store.write(|tx| {
            let t = self.take_one(tx, item, now)?;
            record_latency(tx, item, &t)?;
            Ok::<_, StoreError>(t)
        });
        match alone {
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
            let quarantine =
                tx.quarantine_as(&item.unread(&hash, &reason, now), HoldKind::Unreadable)?;
            if let Some(key) = item.key() {
                tx.record_source_id(&item.mail.source, &key, None, Some(quarantine), now)?;
            }
            record_latency(
                tx,
                item,
                &Taken::Unreadable {
                    quarantine,
                    error: String::new(),
                },
            )?;
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
    /// at it and wants it handled after all. `force` takes in a message held
    /// as blocked (a false positive) without a config edit, and says so in
    /// the ticket's history.
    pub fn release(
        &self,
        store: &mut Store,
        id: i64,
        force: bool,
        now: DateTime<Utc>,
    ) -> Result<Taken, ReleaseError> {
        store.write(|tx| self.release_in(tx, id, Release::Operator, force, now))
    }

    /// [`Pipeline::release`] inside the caller's transaction.
    fn release_in(
        &self,
        tx: &mut Tx<'_>,
        id: i64,
        how: Release,
        force: bool,
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
        let inbound = self.open(tx, inbound, &entry.raw, now)?;
        let taken = match tx
            .read()
            .message_by_identity(&inbound.message_id, &inbound.content_hash)?
        {
            Some(m) => Taken::Duplicate(m),
            None => {
                let mut ctx = self.context();
                ctx.released = true;
                ctx.forced = force;
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
        // Only a blocked hold is one the screen would repeat: noted as overridden.
        if force
            && entry.kind == HoldKind::Blocked
            && let Taken::Applied(o) = &taken
            && let Some(n) = o.ticket()
        {
            tx.add_event(
                n,
                &crate::store::HistoryEvent {
                    at: now,
                    kind: crate::store::EventKind::Note,
                    actor: "cli".into(),
                    detail: format!(
                        "released from quarantine with --force despite: {}",
                        entry.reason
                    ),
                    message,
                    outbox: None,
                },
            )?;
        }
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
        let inbound = message_id::own_message_id(tx, item.raw, inbound)?;
        let inbound = self.open(tx, inbound, item.raw, now)?;
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

    /// `inbound` decrypted when it came encrypted (see `screen::openpgp`),
    /// unwrapped when it came S/MIME signed (`screen::smime`), its
    /// signature checked; one the desk cannot open is marked so, and the
    /// screen holds it.
    fn open(
        &self,
        tx: &Tx<'_>,
        inbound: crate::parse::Inbound,
        raw: &[u8],
        now: DateTime<Utc>,
    ) -> Result<crate::parse::Inbound, StoreError> {
        static NO_KEYS: std::sync::LazyLock<Keyring> = std::sync::LazyLock::new(Keyring::default);
        let keys = self.keys.as_ref().as_ref().unwrap_or(&NO_KEYS);
        let learned = Self::learned_keys(tx, &inbound)?;
        let inbound = screen::openpgp::open(inbound, raw, keys, &learned, &self.limits());
        Ok(screen::smime::open(
            inbound,
            raw,
            &self.smime,
            &self.limits(),
            now,
        ))
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
        let mut rules = self.screen_rules();
        if ctx.forced {
            // The operator vouched for this sender: the blocked lists step aside.
            rules.blocked_domains = &[];
            rules.blocked_addresses = &[];
        }
        let verdict = screen::screen(&inbound, &rules);
        let thread = thread::thread(&inbound, &self.token, &self.ids, &tx.read())?;
        // The queue: a follow-up's is its ticket's, a new message's its route.
        let (queue, route_note) = self.queue_of(tx, &inbound, source, &thread)?;
        let mut ctx_q = self.context_for(queue);
        ctx_q.released = ctx.released;
        ctx_q.forced = ctx.forced;
        ctx_q.route_note = route_note;
        let ctx = &ctx_q;
        let mut identify_rules = self.identify_rules(released);
        identify_rules.unknown_sender = queue.queue.unknown_sender;
        let identity = identify::identify(
            &inbound,
            &verdict.auth(),
            &thread,
            &tx.read(),
            &identify_rules,
        )?;
        // A support PIN is checked, then cut out of all that is kept.
        let mut inbound = inbound;
        let pin = pin::take_pin(tx, &mut inbound, raw, &identity, now)?;
        let incoming = Incoming {
            raw: pin.as_ref().map_or(raw, |p| p.raw.as_slice()),
            inbound: &inbound,
            source,
            at: now,
            genuine: verdict.auth().is_pass(),
            pin: pin.as_ref().map(|p| (p.account.as_deref(), p.check)),
        };
        if let (Verdict::Pass { no_answer, .. }, Admission::Confirm { code }) =
            (&verdict, &identity.admission)
        {
            let outcome = self.confirm(tx, &incoming, code.as_deref(), no_answer.as_deref())?;
            return Ok(Taken::Applied(outcome));
        }
        let outcome = apply::apply(tx, ctx, &incoming, &verdict, &thread, &identity)?;
        self.learn_keys(tx, &incoming, &identity, &outcome, now)?;
        Ok(Taken::Applied(outcome))
    }

    /// The queue a message belongs to, and for a new one the history's
    /// line on its route when the desk has several queues.
    fn queue_of(
        &self,
        tx: &Tx<'_>,
        inbound: &crate::parse::Inbound,
        source: &str,
        thread: &thread::Thread,
    ) -> Result<(&QueueDesk, Option<String>), StoreError> {
        let by_name = |name: &str| {
            self.queues
                .iter()
                .find(|q| crate::domain::queue::same_name(&q.queue.name, name))
        };
        if let thread::Thread::FollowUp { ticket, .. } = thread
            && let Some(t) = tx.read().ticket(*ticket)?
        {
            return Ok((by_name(&t.queue).unwrap_or(&self.queues[0]), None));
        }
        let envelope = self.envelope_queue.as_deref().or_else(|| {
            let c = &self.config;
            c.queue_of_source(source).map(|q| q.name.as_str())
        });
        let r = route::route(
            inbound,
            &self.queues,
            envelope,
            &self.config.intake.match_options(),
        );
        let q = &self.queues[r.queue];
        if self.queues.len() < 2 {
            return Ok((q, None));
        }
        let mut note = format!("queue {} (by {})", q.queue.name, r.by.label());
        if !r.also.is_empty() {
            let names: Vec<&str> = r
                .also
                .iter()
                .map(|&i| self.queues[i].queue.name.as_str())
                .collect();
            note.push_str(&format!("; also sent to queue {}", names.join(", ")));
        }
        Ok((q, Some(note)))
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
        let quarantine = tx.quarantine_as(&item.unread(&item.hash(), &reason, now), kind)?;
        Ok(Taken::Unreadable {
            quarantine,
            error: e.to_string(),
        })
    }
}

/// Why the desk's prefixes could not be learnt.
#[derive(Debug, thiserror::Error)]
pub enum PrefixError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Templates(#[from] TemplateError),
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
