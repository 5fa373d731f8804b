//! The command line, clap definitions only; `commands` carries them out.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};

use crate::domain::{AccountId, Status, TicketId};

#[derive(Debug, Parser)]
#[command(
    name = "postdesk",
    version,
    about = "Email-native support tickets: mail in, tickets in SQLite, answers by mail"
)]
pub struct Cli {
    /// Config file [default: $POSTDESK_CONFIG, else /etc/postdesk/postdesk.toml if present, else the embedded default]
    #[arg(short = 'c', long = "config", global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// More log output (-v: info, -vv: debug); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: CliCommand,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum CliCommand {
    /// Run the daemon: take mail from the sources, deliver the outbox.
    Run,
    /// Take messages from files, stdin (`-`), a Maildir or an mbox.
    Ingest(IngestArgs),
    /// Look at tickets.
    #[command(subcommand)]
    Ticket(TicketCommand),
    /// Look at and deliver the outgoing mail queue.
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// The knowledge base: articles suggested to staff, stock answers for `#kb NAME`.
    #[command(subcommand)]
    Kb(KbCommand),
    /// Mail held back: unreadable, or held by policy.
    #[command(subcommand)]
    Quarantine(QuarantineCommand),
    /// Apply the inactivity rules once: warn, and close what is due.
    Sweep(SweepArgs),
    /// Mail the staff side's digest once (what waits for staff, held mail,
    /// open proof requests, undelivered mail, failing sources), as
    /// `[schedule] digest` does.
    Digest(DigestArgs),
    /// Mass mail: one mail per selected account, each in its language,
    /// queued at `[outbox] announce_rate`; resumable after a crash.
    Announce(AnnounceArgs),
    /// Customer accounts and who may write for them.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Check the config and print the effective settings.
    CheckConfig {
        /// Do not read password files or password_env variables (a config
        /// written on one machine for another; the shipped example).
        #[arg(long)]
        no_secrets: bool,
    },
    /// Check the config, then ask the running daemon to re-read it (SIGHUP).
    Reload,
    /// Is the desk healthy? Sources, outbox, quarantine, tickets, database.
    /// Exit status 0 when healthy, 1 when something needs an operator (a
    /// monitoring check: Nagios/Icinga convention).
    Status {
        /// Print the report as JSON (stable field names) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Read a support PIN from the terminal or stdin and print its slow
    /// salted hash, for `[[account]] pin_hash`.
    PinHash,
    /// OAuth 2.0 sign-in of the mailboxes (`[[oauth]]` credentials).
    #[command(subcommand)]
    Oauth(OauthCommand),
    /// Print the shell completion script for SHELL (the Debian package
    /// installs those of bash, zsh and fish).
    Completions {
        /// The shell: bash, zsh, fish, elvish or powershell.
        #[arg(value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
pub enum OauthCommand {
    /// Sign in a `flow = "refresh_token"` credential with the device-code
    /// flow: prints an address and a code to enter in any browser, waits,
    /// and stores the tokens beside the database.
    Login {
        /// The `name` of the `[[oauth]]` table.
        name: String,
    },
    /// List each credential: flow, account, expiry of the access token and
    /// of the refresh grant, last refresh, last error.
    Status,
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Message files, one message each; `-` (or nothing) reads one from stdin.
    #[arg(conflicts_with_all = ["maildir", "mbox"])]
    pub files: Vec<PathBuf>,
    /// Import every message of a Maildir (new/ and cur/).
    #[arg(long, value_name = "DIR", conflicts_with = "mbox")]
    pub maildir: Option<PathBuf>,
    /// Import every message of an mbox file.
    #[arg(long, value_name = "FILE")]
    pub mbox: Option<PathBuf>,
    /// With --maildir: remove each file once it is stored.
    #[arg(long)]
    pub remove: bool,
    /// Send no automatic mail at all: no receipts, confirmation requests or notices (importing an old archive).
    #[arg(long)]
    pub no_receipts: bool,
    /// Only queue the mail this causes; leave delivery to `postdesk run`.
    #[arg(long)]
    pub queue_only: bool,
    /// The [[queue]] (by name) the messages were sent to, as the MTA knows
    /// from the envelope: they are routed there whatever their To says.
    #[arg(long = "queue", value_name = "NAME")]
    pub envelope_queue: Option<String>,
    /// Print nothing but errors (no progress bar, no summary).
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct SweepArgs {
    /// Act as if it were this instant (RFC 3339, e.g. 2026-12-01T09:00:00Z) instead of now.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub now: Option<DateTime<Utc>>,
    /// Only print what would be done; change nothing, send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// What was done as JSON instead of lines.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DigestArgs {
    /// Act as if it were this instant (RFC 3339, e.g. 2026-12-01T08:00:00Z) instead of now.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub now: Option<DateTime<Utc>>,
    /// Only print the digest; queue no mail.
    #[arg(long)]
    pub dry_run: bool,
}

/// `postdesk announce`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("who").args(["all", "account", "parent", "domain", "priority", "resume"]).required(true).multiple(true)))]
pub struct AnnounceArgs {
    /// The subject of every mail.
    #[arg(long, value_name = "TEXT", required_unless_present = "resume")]
    pub subject: Option<String>,
    /// The text: FILE, or FILE.en, FILE.fr, FILE.it for each language (an
    /// account gets its language's file, else FILE, else the default language's).
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "resume",
        conflicts_with = "resume"
    )]
    pub body_file: Option<PathBuf>,
    /// Every account.
    #[arg(long)]
    pub all: bool,
    /// This account (repeatable).
    #[arg(long, value_name = "ID")]
    pub account: Vec<String>,
    /// The customers of this ISP (accounts whose parent it is).
    #[arg(long, value_name = "ID")]
    pub parent: Option<String>,
    /// Accounts whose primary address is in this domain.
    #[arg(long, value_name = "DOMAIN")]
    pub domain: Option<String>,
    /// Priority accounts only.
    #[arg(long)]
    pub priority: bool,
    /// Also each account's delegates (one mail each).
    #[arg(long)]
    pub delegates: bool,
    /// Only print the recipients; record and send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Go on with announcement N after a crash: queue only to those not
    /// queued yet, with the subject and text it was made with.
    #[arg(long, value_name = "N")]
    pub resume: Option<i64>,
}

/// What every ticket change command takes besides the ticket.
#[derive(Debug, Args)]
pub struct ChangeArgs {
    /// Why, for the history and the mail.
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// When it happened, if earlier (RFC 3339): a change made by phone, recorded later.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub at: Option<DateTime<Utc>>,
}

#[derive(Debug, Subcommand)]
pub enum TicketCommand {
    /// List tickets, the open ones unless --status or --all says otherwise.
    List {
        /// Only tickets in this status (repeatable): new, in-progress, waiting-for-customer, on-hold, closed, rejected.
        #[arg(long, value_parser = parse_status)]
        status: Vec<Status>,
        /// Every ticket, closed and rejected ones too.
        #[arg(long, conflicts_with = "status")]
        all: bool,
        /// Only the tickets of this queue ([[queue]] name).
        #[arg(long, value_name = "QUEUE")]
        queue: Option<String>,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show a ticket and its history.
    Show {
        /// The ticket number (the N of [PREFIX #N]).
        #[arg(value_parser = parse_ticket)]
        number: TicketId,
        /// The ticket and its history as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Set a ticket's status; both sides get the "ticket changed" mail.
    SetStatus {
        /// The ticket number.
        #[arg(value_parser = parse_ticket)]
        number: TicketId,
        /// The new status: new, in-progress, waiting-for-customer, on-hold, closed, rejected.
        #[arg(value_parser = parse_status)]
        status: Status,
        #[command(flatten)]
        change: ChangeArgs,
    },
    /// Close a ticket; both sides get the close notice with its history.
    Close {
        /// The ticket number.
        #[arg(value_parser = parse_ticket)]
        number: TicketId,
        #[command(flatten)]
        change: ChangeArgs,
    },
    /// Reopen a closed or rejected ticket (to in-progress), whatever the reopen window.
    Reopen {
        /// The ticket number.
        #[arg(value_parser = parse_ticket)]
        number: TicketId,
        #[command(flatten)]
        change: ChangeArgs,
    },
    /// Set a ticket's type (one of service.ticket_types); both sides are told.
    SetType {
        /// The ticket number.
        #[arg(value_parser = parse_ticket)]
        number: TicketId,
        /// One of service.ticket_types.
        #[arg(value_name = "TYPE")]
        ticket_type: String,
        #[command(flatten)]
        change: ChangeArgs,
    },
    /// Move a ticket to another queue ([[queue]] name): the new team is
    /// told, the customer once, and its mail leaves from the new address.
    SetQueue {
        /// The ticket number.
        #[arg(value_parser = parse_ticket)]
        number: TicketId,
        /// The queue's name.
        #[arg(value_name = "QUEUE")]
        queue: String,
        #[command(flatten)]
        change: ChangeArgs,
    },
    /// File a ticket under an account (or none), e.g. when its sender
    /// matched several accounts.
    #[command(group(ArgGroup::new("target").required(true).args(["account", "none"])))]
    // clap would put the required group first; the arguments come in order.
    #[command(override_usage = "postdesk ticket set-account [OPTIONS] <NUMBER> <ACCOUNT|--none>")]
    SetAccount {
        /// The ticket number.
        #[arg(value_parser = parse_ticket)]
        number: TicketId,
        /// The account to file it under (or --none).
        #[arg(value_parser = parse_account)]
        account: Option<AccountId>,
        /// File it under no account.
        #[arg(long)]
        none: bool,
    },
    /// Search the tickets' mail (subjects, new texts, people, attachment names), best match first.
    Search {
        /// The words to find (all of them); a trailing * finds words that start so.
        #[arg(required = true, value_name = "QUERY")]
        query: Vec<String>,
        /// Only tickets in this status (repeatable).
        #[arg(long, value_parser = parse_status)]
        status: Vec<Status>,
        /// Only tickets of this account.
        #[arg(long, value_name = "ACCOUNT")]
        account: Option<String>,
        /// Only messages received since this day (YYYY-MM-DD, UTC) or instant (RFC 3339).
        #[arg(long, value_name = "DATE", value_parser = parse_since)]
        since: Option<DateTime<Utc>>,
        /// At most this many tickets.
        #[arg(long, value_name = "N", default_value_t = 20)]
        limit: usize,
        /// The hits as JSON (number, subject, status, account, updated, snippet, score).
        #[arg(long)]
        json: bool,
    },
    /// Write every mail of a ticket, received and sent, byte for byte: an mboxrd file or a Maildir (stdout: mbox).
    Export {
        /// The ticket number.
        #[arg(value_parser = parse_ticket)]
        number: TicketId,
        /// Write an mboxrd file (replaced if it exists).
        #[arg(long, value_name = "FILE", conflicts_with = "maildir")]
        mbox: Option<PathBuf>,
        /// Write one file per mail into this Maildir (created if needed).
        #[arg(long, value_name = "DIR")]
        maildir: Option<PathBuf>,
    },
    /// Write the attachments of a ticket's messages as files with safe names.
    Attachments {
        /// The ticket number.
        #[arg(value_parser = parse_ticket)]
        number: TicketId,
        /// Where to write them [default: ./ticket-N-attachments].
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum KbCommand {
    /// List the entries: articles of knowledge.path and what closed tickets taught.
    List {
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one entry by name (an article's file name without extension, or ticket-N).
    Show {
        /// The entry's name.
        name: String,
    },
    /// Read knowledge.path again now (the daemon does it on change and on reload).
    Reindex,
}

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Create an account.
    Add(AccountAddArgs),
    /// Show an account: senders, delegates, children, history.
    Show {
        /// The account id.
        #[arg(value_parser = parse_account)]
        id: AccountId,
        /// The account as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// List the accounts.
    List {
        /// Only the children of this (ISP) account.
        #[arg(long, value_name = "ID", value_parser = parse_account)]
        parent: Option<AccountId>,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Change an account's fields.
    Set(AccountSetArgs),
    /// Authorize senders: addresses, domains, *.domains (comma-separated or several).
    Authorize {
        /// The account id.
        #[arg(value_parser = parse_account)]
        id: AccountId,
        /// Addresses, domains or *.domains (comma-separated or several).
        #[arg(required = true, value_name = "SENDERS")]
        senders: Vec<String>,
    },
    /// Revoke authorized senders.
    Revoke {
        /// The account id.
        #[arg(value_parser = parse_account)]
        id: AccountId,
        /// Entries to remove, as authorize took them.
        #[arg(required = true, value_name = "SENDERS")]
        senders: Vec<String>,
    },
    /// Remove an account (its tickets keep the account's id).
    Remove {
        /// The account id.
        #[arg(value_parser = parse_account)]
        id: AccountId,
    },
    /// Add or update the accounts of a file of [[account]] tables.
    Import {
        /// A TOML file of [[account]] tables, as accounts_file takes.
        file: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct AccountAddArgs {
    /// The new account's id: 1-64 letters, digits, _ . - (cust-001).
    #[arg(value_parser = parse_account)]
    pub id: AccountId,
    /// Display name [default: the id].
    #[arg(long)]
    pub name: Option<String>,
    /// The account's registered address.
    #[arg(long, value_name = "ADDRESS")]
    pub primary: String,
    /// Authorized senders: addresses, domains, *.domains (comma-separated, repeatable).
    #[arg(long, value_name = "SENDERS")]
    pub authorized: Vec<String>,
    /// Language of the account's mail [default: service.default_language].
    #[arg(long, value_enum)]
    pub language: Option<LanguageArg>,
    /// The ISP account managing this one.
    #[arg(long, value_name = "ID", value_parser = parse_account)]
    pub parent: Option<AccountId>,
    /// An address that gets a copy of every mail about the account's tickets (repeatable).
    #[arg(long = "delegate", value_name = "ADDRESS")]
    pub delegates: Vec<String>,
    /// Flag the account's tickets for staff.
    #[arg(long)]
    pub priority: bool,
    /// Require a genuine From address [default: intake.require_authentication].
    #[arg(long, value_enum, value_name = "yes|no|default")]
    pub require_authentication: Option<Setting>,
}

#[derive(Debug, Args)]
pub struct AccountSetArgs {
    /// The account id.
    #[arg(value_parser = parse_account)]
    pub id: AccountId,
    /// A new display name.
    #[arg(long)]
    pub name: Option<String>,
    /// A new registered (primary) address.
    #[arg(long, value_name = "ADDRESS")]
    pub primary: Option<String>,
    /// `default` follows service.default_language.
    #[arg(long, value_enum)]
    pub language: Option<LanguageArg>,
    /// The ISP account that manages this one.
    #[arg(long, value_name = "ID", value_parser = parse_account, conflicts_with = "no_parent")]
    pub parent: Option<AccountId>,
    /// Make it an account of its own, managed by no ISP.
    #[arg(long)]
    pub no_parent: bool,
    /// Replace the delegates (comma-separated; "" for none).
    #[arg(long, value_name = "ADDRESSES")]
    pub delegates: Option<String>,
    /// Flag the account's tickets for staff: yes or no.
    #[arg(long, value_enum, value_name = "yes|no")]
    pub priority: Option<YesNo>,
    /// Require a genuine From address: yes, no, or default (intake.require_authentication).
    #[arg(long, value_enum, value_name = "yes|no|default")]
    pub require_authentication: Option<Setting>,
    /// Set the support PIN (4 to 12 digits), read from the terminal or
    /// stdin; only a slow salted hash is kept.
    #[arg(long, conflicts_with = "no_pin")]
    pub pin: bool,
    /// Remove the support PIN.
    #[arg(long)]
    pub no_pin: bool,
    /// Let PIN checks run again after wrong PINs locked them (the PIN stays).
    #[arg(long)]
    pub pin_reset: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LanguageArg {
    En,
    Fr,
    It,
    /// service.default_language
    Default,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum YesNo {
    Yes,
    No,
}

/// A per-account switch that may also follow the global setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Setting {
    Yes,
    No,
    Default,
}

impl Setting {
    pub fn value(self) -> Option<bool> {
        match self {
            Setting::Yes => Some(true),
            Setting::No => Some(false),
            Setting::Default => None,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// List outgoing mail, newest first.
    List {
        /// Only mail in this state.
        #[arg(long, value_enum)]
        status: Option<OutboxStatus>,
        /// At most this many mails.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Print one outgoing mail exactly as it is (or was) sent.
    Show {
        /// The outbox id (outbox list, first column).
        id: i64,
    },
    /// Deliver what is due now, once, and exit (first queueing new tickets' mails that wait for their suggestions).
    Flush,
    /// Queue a failed mail again.
    Retry {
        /// The outbox id of a failed mail.
        id: i64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutboxStatus {
    Queued,
    Sent,
    Failed,
}

#[derive(Debug, Subcommand)]
pub enum QuarantineCommand {
    /// List held messages (--all: released ones too).
    List {
        /// Released entries too.
        #[arg(long)]
        all: bool,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Print a held message's raw bytes.
    Show {
        /// The quarantine id (quarantine list, first column).
        id: i64,
    },
    /// Take a held message into a ticket after all (no receipt for automatic mail).
    Release {
        /// The quarantine id.
        id: i64,
        /// Take in a message held as blocked (a false positive) despite
        /// intake.blocked_addresses and intake.blocked_domains.
        #[arg(long)]
        force: bool,
    },
    /// Delete a held message for good.
    Delete {
        /// The quarantine id.
        id: i64,
    },
}

fn parse_status(s: &str) -> Result<Status, String> {
    s.parse()
        .map_err(|e: crate::domain::UnknownStatus| e.to_string())
}

fn parse_account(s: &str) -> Result<AccountId, String> {
    AccountId::parse(s).map_err(|e| e.to_string())
}

fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("not an RFC 3339 time ({e}): expected e.g. 2026-12-01T09:00:00Z or 2026-12-01T10:00:00+01:00"))
}

/// A day (midnight UTC) or an RFC 3339 instant.
fn parse_since(s: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(day) = chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d") {
        return Ok(day.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    parse_time(s).map_err(|_| {
        format!("not a date: {s:?} (expected e.g. 2026-12-01 or 2026-12-01T09:00:00Z)")
    })
}

fn parse_ticket(s: &str) -> Result<TicketId, String> {
    s.parse().map_err(|_| format!("not a ticket number: {s:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_the_documented_forms() {
        let c = Cli::try_parse_from([
            "postdesk",
            "-c",
            "x.toml",
            "ticket",
            "list",
            "--status",
            "in-progress",
            "--json",
        ])
        .unwrap();
        assert_eq!(c.config, Some(PathBuf::from("x.toml")));
        assert!(
            matches!(c.command, CliCommand::Ticket(TicketCommand::List { ref status, json: true, .. }) if status == &[Status::InProgress])
        );
        assert!(Cli::try_parse_from(["postdesk", "ticket", "list", "--status", "open"]).is_err());
        let c = Cli::try_parse_from(["postdesk", "ticket", "show", "#12"]).unwrap();
        assert!(matches!(
            c.command,
            CliCommand::Ticket(TicketCommand::Show {
                number: TicketId(12),
                ..
            })
        ));
        assert!(
            Cli::try_parse_from(["postdesk", "ingest", "--maildir", "d", "--mbox", "m"]).is_err()
        );
        let c = Cli::try_parse_from([
            "postdesk",
            "account",
            "add",
            "cust-001",
            "--primary",
            "a@c.example",
            "--authorized",
            "ops@c.example, c.example",
            "--delegate",
            "t@p.example",
            "--require-authentication",
            "yes",
        ])
        .unwrap();
        assert!(matches!(
            c.command,
            CliCommand::Account(AccountCommand::Add(AccountAddArgs {
                require_authentication: Some(Setting::Yes),
                ..
            }))
        ));
        assert!(
            Cli::try_parse_from([
                "postdesk",
                "account",
                "add",
                "bad id",
                "--primary",
                "a@c.example"
            ])
            .is_err()
        );
        assert!(
            Cli::try_parse_from([
                "postdesk",
                "account",
                "set",
                "x",
                "--parent",
                "p",
                "--no-parent"
            ])
            .is_err()
        );
        assert!(Cli::try_parse_from(["postdesk", "ticket", "set-account", "3"]).is_err());
        assert!(Cli::try_parse_from(["postdesk", "ticket", "set-account", "3", "acme"]).is_ok());
        assert!(Cli::try_parse_from(["postdesk", "ticket", "set-account", "3", "--none"]).is_ok());
    }

    #[test]
    fn parses_sweep_and_ticket_changes() {
        let c = Cli::try_parse_from([
            "postdesk",
            "sweep",
            "--now",
            "2026-12-01T10:00:00+01:00",
            "--dry-run",
        ])
        .unwrap();
        let CliCommand::Sweep(a) = c.command else {
            panic!()
        };
        assert!(a.dry_run);
        assert_eq!(a.now.unwrap().to_rfc3339(), "2026-12-01T09:00:00+00:00");
        assert!(Cli::try_parse_from(["postdesk", "sweep", "--now", "tomorrow"]).is_err());
        let c = Cli::try_parse_from([
            "postdesk",
            "ticket",
            "set-status",
            "#4",
            "waiting-for-customer",
            "--reason",
            "answered by phone",
        ])
        .unwrap();
        assert!(matches!(
            c.command,
            CliCommand::Ticket(TicketCommand::SetStatus {
                number: TicketId(4),
                status: Status::WaitingForCustomer,
                ..
            })
        ));
        assert!(Cli::try_parse_from(["postdesk", "ticket", "set-status", "4", "open"]).is_err());
        assert!(Cli::try_parse_from(["postdesk", "ticket", "set-type", "4", "billing"]).is_ok());
        assert!(
            Cli::try_parse_from([
                "postdesk",
                "ticket",
                "close",
                "4",
                "--at",
                "2026-11-01T10:00:00Z"
            ])
            .is_ok()
        );
    }
}
