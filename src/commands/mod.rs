//! commands: the command line's edge. `cli` holds the clap definitions;
//! one file per subcommand group carries them out (`run` and `reload` the
//! daemon, `ingest` the MTA's pipe and archive imports, `ticket`, `sweep`,
//! `account`, `quarantine`, `outbox`, `oauth`, `check_config`), and this module
//! dispatches, loads the config and maps every failure to a sysexits code.
//! Output for people goes to stdout as text; `--json` is the scripts'
//! interface and keeps its field names stable.

mod account;
mod announce;
mod check_config;
pub mod cli;
mod ingest;
mod kb;
mod oauth;
mod outbox;
mod quarantine;
mod run;
mod search;
mod status;
mod sweep;
mod ticket;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::accounts;
use crate::config::{self, Config};
use crate::domain::clock::{Clock, SystemClock};
use crate::intake::Pipeline;
use crate::outbox::RetryPolicy;
use crate::outbox::deliver::Transport;
use crate::store::{Store, StoreError};
use cli::CliCommand;

/// sysexits(3) codes, as DESIGN.md promises them to MTAs and scripts.
pub mod exit {
    pub const OK: u8 = 0;
    /// `status`: the desk needs an operator (Nagios WARNING).
    pub const ATTENTION: u8 = 1;
    pub const USAGE: u8 = 64;
    pub const DATAERR: u8 = 65;
    pub const NOINPUT: u8 = 66;
    pub const UNAVAILABLE: u8 = 69;
    pub const SOFTWARE: u8 = 70;
    pub const IOERR: u8 = 74;
    pub const TEMPFAIL: u8 = 75;
    pub const CONFIG: u8 = 78;
}

/// A command that did not succeed: what to tell the operator, and the code.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub(super) fn new(code: u8, message: impl Into<String>) -> Failure {
        Failure {
            code,
            message: message.into(),
        }
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Failure {
        let code = if e.is_transient() {
            exit::TEMPFAIL
        } else {
            exit::SOFTWARE
        };
        Failure::new(code, e.to_string())
    }
}

pub(super) type Outcome = Result<u8, Failure>;

/// Runs one parsed command line.
pub fn dispatch(cli: cli::Cli) -> Outcome {
    // An MTA bounces the mail on any exit but 75 (EX_TEMPFAIL). When the
    // fault is ours — a broken config, a database error — `ingest` must say
    // "try again later" so the mail waits in the MTA's queue, not bounce.
    if let CliCommand::Ingest(args) = &cli.command {
        let result = load_config(cli.config.as_deref()).and_then(|c| ingest::ingest(c, args));
        return result.map_err(|f| match f.code {
            exit::CONFIG | exit::SOFTWARE | exit::IOERR => Failure::new(exit::TEMPFAIL, f.message),
            _ => f,
        });
    }
    if let CliCommand::PinHash = &cli.command {
        return account::pin_hash();
    }
    if let CliCommand::Completions { shell } = &cli.command {
        let mut command = <cli::Cli as clap::CommandFactory>::command();
        // Into memory first: clap_complete panics on a failed write (a
        // closed pipe); ours is reported.
        let mut script = Vec::new();
        clap_complete::generate(*shell, &mut command, "postdesk", &mut script);
        std::io::stdout()
            .write_all(&script)
            .map_err(|e| Failure::new(exit::IOERR, format!("cannot write: {e}")))?;
        return Ok(exit::OK);
    }
    // check-config goes on after a config that does not load: the files it
    // names are checked too, so one run reports every problem.
    if let CliCommand::CheckConfig { no_secrets } = &cli.command {
        return check_config::check_config(config_path(cli.config.as_deref()), *no_secrets);
    }
    let config = load_config(cli.config.as_deref())?;
    match cli.command {
        CliCommand::CheckConfig { .. } => unreachable!("handled above"),
        CliCommand::Run => {
            let path = config_path(cli.config.as_deref()).map(|p| absolute(&p));
            run::run(config, path)
        }
        CliCommand::Reload => run::reload(&config),
        CliCommand::Status { json } => status::status(&config, json),
        CliCommand::Ingest(_) => unreachable!("handled above"),
        CliCommand::Ticket(cmd) => ticket::ticket(&config, cmd),
        CliCommand::Outbox(cmd) => outbox::outbox(&config, cmd),
        CliCommand::Kb(cmd) => kb::kb(&config, cmd),
        CliCommand::Quarantine(cmd) => quarantine::quarantine(&config, cmd),
        CliCommand::Sweep(args) => sweep::sweep(&config, &args),
        CliCommand::Digest(args) => sweep::digest(&config, &args),
        CliCommand::Announce(args) => announce::announce(&config, &args),
        CliCommand::Account(cmd) => account::account(&config, cmd),
        CliCommand::Oauth(cmd) => oauth::oauth(&config, cmd),
        CliCommand::PinHash | CliCommand::Completions { .. } => unreachable!("handled above"),
    }
}

/// The file the config comes from, or None for the embedded default.
fn config_path(cli: Option<&Path>) -> Option<PathBuf> {
    let env = std::env::var_os(config::CONFIG_ENV);
    config::locate(cli, env.as_deref(), |p| p.exists())
}

fn load_config(cli: Option<&Path>) -> Result<Arc<Config>, Failure> {
    let config = match config_path(cli) {
        Some(path) => Config::load(&path).map_err(|e| Failure::new(exit::CONFIG, e.to_string()))?,
        None => Config::embedded_default(),
    };
    Ok(Arc::new(config))
}

/// The stages for `config` on the desk whose database `store` is.
pub(super) fn pipeline(config: &Arc<Config>, store: &mut Store) -> Result<Pipeline, Failure> {
    let secret = store.desk_secret()?;
    let mut p = Pipeline::new(config.clone(), secret)
        .map_err(|e| Failure::new(exit::CONFIG, e.to_string()))?;
    p.learn_prefixes(store, SystemClock.now())
        .map_err(|e| match e {
            crate::intake::PrefixError::Store(e) => Failure::from(e),
            other => Failure::new(exit::CONFIG, other.to_string()),
        })?;
    Ok(p)
}

/// Applies the config's declared accounts to the database (cheap when they
/// did not change): every command that takes mail in or shows accounts
/// sees the accounts the config declares.
pub(super) fn sync_accounts(config: &Config, store: &mut Store) -> Result<(), Failure> {
    let report = accounts::sync_declared(store, &config.accounts, SystemClock.now())?;
    if !report.unchanged && (report.added + report.updated + report.removed) > 0 {
        tracing::info!(
            added = report.added,
            updated = report.updated,
            removed = report.removed,
            "declared accounts applied"
        );
    }
    Ok(())
}

/// The database for a command that only works on what is there: a missing
/// file means a wrong config or directory, not a new desk to create.
pub(super) fn open_store(config: &Config) -> Result<Store, Failure> {
    let db = &config.service.database;
    if !db.exists() {
        return Err(Failure::new(
            exit::NOINPUT,
            format!(
                "no database at {} (config: {}); nothing has been taken in yet",
                db.display(),
                config.origin
            ),
        ));
    }
    Ok(Store::open(db)?)
}

pub(super) fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            Failure::new(
                exit::SOFTWARE,
                format!("cannot start the async runtime: {e}"),
            )
        })
}

pub(super) fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Delivers what is due, once; whatever fails stays queued for the daemon.
pub(super) fn deliver_now(config: &Config, store: Store) {
    let transport = match Transport::from_config(&config.transport) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("postdesk: mail queued, not sent: {e}");
            return;
        }
    };
    let Ok(rt) = runtime() else { return };
    let store = Arc::new(Mutex::new(store));
    let policy = RetryPolicy::from_config(&config.outbox);
    if let Err(e) = rt.block_on(crate::outbox::deliver_due(
        &store,
        &transport,
        &SystemClock,
        &policy,
        || false,
    )) {
        eprintln!("postdesk: mail queued, delivery interrupted: {e}");
    }
}

pub(super) fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub(super) fn print_json<T: Serialize>(v: &T) -> Outcome {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, v)
        .map_err(|e| Failure::new(exit::IOERR, e.to_string()))?;
    let _ = writeln!(out);
    Ok(exit::OK)
}
