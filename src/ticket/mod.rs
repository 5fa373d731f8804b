//! ticket: what happens to a ticket and the mail it causes, in the
//! caller's transaction — transitions of the lifecycle table (`change`),
//! the history mails carry (`history`), notices and staff notifications
//! (`notices`, `relay`), and the inactivity rules at an instant (`sweep`).
//! Used by `apply` (mail), the daemon's schedule and the operator's commands.

pub mod account;
pub mod change;
pub mod digest;
pub mod history;
pub mod holds;
pub mod knowledge;
pub mod notices;
pub mod proof;
pub mod relay;
pub mod suggested;
pub mod sweep;

use chrono::{DateTime, Duration, Utc};

use crate::config::{Config, Staff};
use crate::domain::calendar::Calendar;
use crate::domain::lifecycle::{self, InactivityRule, Plan};
use crate::domain::msgid::MessageIds;
use crate::domain::words::{Speech, TypeNames};
use crate::domain::{Address, MatchOptions, Status};
use crate::domain::{Language, Queue};
use crate::outbox::compose::Desk;
use crate::outbox::gate::AnswerRules;
use crate::outbox::template::{TemplateError, Templates};
use crate::parse::ParseLimits;
use crate::screen::openpgp::Keyring;
use crate::store::Ticket;
use crate::thread::Token;

pub use change::{
    ChangeError, Done, Made, TicketChange, answered, command, command_quiet, customer_message,
    inactivity_close, opened, plan_of, refresh_deadline, reload, reply_opens_new_ticket,
    staff_event, warn,
};
pub use history::{Extent, indent, view_for};
pub use notices::{Author, Sides};
pub use notices::{
    by_language, customer_language, customer_side, flag_failing, left_out_line, note, own_language,
    queue_mail, staff_recipients,
};

/// One queue ready to write mail: its settings, its subject token (which
/// finds every prefix of the desk) and its templates, loaded once.
pub struct QueueDesk {
    pub queue: Queue,
    pub token: Token,
    pub templates: Templates,
}

/// Every subject-token prefix of the desk: each queue's, the desk's,
/// and those it used before (`known`).
fn all_prefixes<'a>(config: &'a Config, known: &'a [String]) -> Vec<&'a str> {
    let mut prefixes: Vec<&str> = config
        .queues
        .iter()
        .map(|q| q.ticket_prefix.as_str())
        .collect();
    prefixes.push(&config.service.ticket_prefix);
    prefixes.extend(known.iter().map(String::as_str));
    prefixes
}

impl AsRef<Queue> for QueueDesk {
    fn as_ref(&self) -> &Queue {
        &self.queue
    }
}

impl QueueDesk {
    /// Every queue of `config`; `known` are the prefixes the desk used
    /// before (`Reader::prefixes`), recognised for threading.
    pub fn all(config: &Config, known: &[String]) -> Result<Vec<QueueDesk>, TemplateError> {
        let prefixes = all_prefixes(config, known);
        config
            .queues
            .iter()
            .map(|q| {
                Ok(QueueDesk {
                    token: Token::with_known(&q.ticket_prefix, &prefixes),
                    templates: Templates::load(&q.templates)?,
                    queue: q.clone(),
                })
            })
            .collect()
    }

    /// The subject tokens of `queues` (made by [`QueueDesk::all`] from
    /// `config`) made again to know `known` too; the templates stay loaded.
    pub fn learn(queues: &mut [QueueDesk], config: &Config, known: &[String]) {
        let prefixes = all_prefixes(config, known);
        for q in queues {
            q.token = Token::with_known(&q.queue.ticket_prefix, &prefixes);
        }
    }

    /// Who the queue is, for the mail it writes.
    pub fn desk<'a>(&'a self, ids: &'a MessageIds, keys: Option<&'a Keyring>) -> Desk<'a> {
        Desk {
            name: &self.queue.display_name,
            address: &self.queue.address,
            token: &self.token,
            templates: &self.templates,
            ids,
            keys,
        }
    }
}

/// Everything a change needs from the config, borrowed: the desk-wide
/// settings, and those of one queue ([`Settings::for_ticket`]).
#[derive(Clone, Copy)]
pub struct Settings<'a> {
    pub desk: Desk<'a>,
    /// The queue whose settings these are (`None` only in unit tests).
    pub queue: Option<&'a QueueDesk>,
    /// Every queue of the desk, in the config's order.
    pub queues: &'a [QueueDesk],
    /// `service.default_language`: the staff side's, and the customer side's
    /// when the ticket's account has none.
    pub language: Language,
    pub calendar: &'a Calendar,
    pub rules: &'a [InactivityRule],
    /// The desk's `[[inactivity]]`, for a queue without rules of its own.
    pub desk_rules: &'a [InactivityRule],
    /// The staff side's addresses: the queue's team (`[[queue]] notify`
    /// and members, else `[staff] notify`, else every member).
    pub notify: &'a [Address],
    /// The staff members and notification addresses (`[staff]`).
    pub staff: &'a Staff,
    /// How addresses compare (`[intake]` case and +tag settings).
    pub matching: MatchOptions,
    /// The gate of every automatic mail (see [`gate::answer_refusal`]).
    pub answer: AnswerRules<'a>,
    /// None: a reply never reopens a closed ticket.
    pub reopen_window: Option<Duration>,
    pub ticket_types: &'a [String],
    /// `[service.type_names]`: the types' names per language.
    pub type_names: &'a TypeNames,
    /// `[intake]` limits, for reading a message's attachments again.
    pub limits: ParseLimits,
    /// `intake.max_recipients`: customer-side addresses per mail, at most.
    pub max_recipients: usize,
    /// `outbox.history_in_mail`: the history entries a mail carries.
    pub history_in_mail: usize,
    /// `outbox.close_history_inline`: the longest history the close notice
    /// carries inline, in bytes.
    pub close_history_inline: u64,
    /// `intake.verify_expiry`: how long a confirmation request stays valid.
    pub verify_expiry: Duration,
    /// `intake.authserv_id`: whose Authentication-Results show a From genuine.
    pub authserv_id: Option<&'a str>,
    /// `[knowledge]`: what new tickets' notifications suggest.
    pub knowledge: &'a crate::config::Knowledge,
}

impl<'a> Settings<'a> {
    pub fn new(config: &'a Config, desk: Desk<'a>) -> Settings<'a> {
        Settings {
            desk,
            queue: None,
            queues: &[],
            language: config.service.default_language,
            calendar: &config.calendar,
            rules: &config.inactivity,
            desk_rules: &config.inactivity,
            notify: config.queues.first().map_or(&[], |q| &q.team),
            staff: &config.staff,
            matching: config.intake.match_options(),
            answer: AnswerRules {
                own: &config.own_addresses,
                staff: &config.staff,
                matching: config.intake.match_options(),
                max_per_day: config.intake.max_auto_replies_per_day,
                silent: false,
            },
            reopen_window: config
                .intake
                .reopen_window
                .map(|d| Duration::from_std(d).unwrap_or(Duration::MAX)),
            ticket_types: &config.service.ticket_types,
            type_names: &config.service.type_names,
            limits: ParseLimits {
                max_size: usize::try_from(config.intake.max_message_size).unwrap_or(usize::MAX),
                max_depth: config.intake.max_mime_depth,
                max_parts: config.intake.max_mime_parts,
            },
            max_recipients: config.intake.max_recipients as usize,
            history_in_mail: config.outbox.history_in_mail,
            close_history_inline: config.outbox.close_history_inline,
            verify_expiry: Duration::from_std(config.intake.verify_expiry)
                .unwrap_or_else(|_| Duration::days(7)),
            authserv_id: config.intake.authserv_id.as_deref(),
            knowledge: &config.knowledge,
        }
    }

    /// These settings as queue `q` has them: its address, name, token,
    /// templates, language, team, rules and types.
    pub fn for_queue(&self, q: &'a QueueDesk) -> Settings<'a> {
        let mut s = *self;
        s.desk = q.desk(self.desk.ids, self.desk.keys);
        s.queue = Some(q);
        s.language = q.queue.default_language;
        s.rules = q.queue.inactivity.as_deref().unwrap_or(self.desk_rules);
        s.notify = &q.queue.team;
        s.ticket_types = &q.queue.ticket_types;
        s
    }

    /// The queue named `name` (any case).
    pub fn queue_named(&self, name: &str) -> Option<&'a QueueDesk> {
        let queues: &'a [QueueDesk] = self.queues;
        queues
            .iter()
            .find(|q| crate::domain::queue::same_name(&q.queue.name, name))
    }

    /// The settings of ticket `t`'s queue; a ticket whose queue the config
    /// no longer has belongs to the first.
    pub fn for_ticket(&self, t: &Ticket) -> Settings<'a> {
        match self.queue_named(&t.queue).or(self.queues.first()) {
            Some(q) => self.for_queue(q),
            None => *self,
        }
    }

    /// The rules of every queue, for the sweep's fingerprint: the desk's
    /// alone when no queue has rules of its own (so a desk of before keeps
    /// its fingerprint).
    pub fn all_rules(&self) -> Vec<InactivityRule> {
        let mut all = self.desk_rules.to_vec();
        for q in self.queues {
            if let Some(rules) = &q.queue.inactivity {
                all.extend(rules.iter().cloned());
            }
        }
        all
    }

    /// How much history mail of `kind` carries: the close notice all of it.
    pub fn extent(&self, kind: &str) -> Extent {
        if kind == "closed" {
            Extent::Whole {
                newest: self.history_in_mail,
                inline_max: self.close_history_inline,
            }
        } else {
            Extent::Newest(self.history_in_mail)
        }
    }

    /// How mail in `lang` speaks of a ticket: its words and dates.
    pub fn speech(&self, lang: Language) -> Speech<'a> {
        Speech {
            lang,
            calendar: self.calendar,
            types: self.type_names,
        }
    }

    fn plan(&self, status: Status, since: DateTime<Utc>) -> Option<Plan> {
        lifecycle::plan(self.rules, self.calendar, status, since)
    }
}
