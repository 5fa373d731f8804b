//! commands: what each CLI subcommand does, with sysexits exit codes.
//! Output for people goes to stdout as text; `--json` is the scripts'
//! interface and keeps its field names stable.

pub mod cli;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::accounts::{self, AccountError, Checks, EntryChange};
use crate::change::{self, Author, ChangeError, Settings};
use crate::config::{self, Config};
use crate::domain::AccountSpec;
use crate::domain::clock::{Clock, SystemClock};
use crate::domain::{Address, HoldKind, SenderPattern, TicketId};
use crate::intake::{Fetched, Pipeline, Taken};
use crate::outbox::deliver::Transport;
use crate::outbox::{self, RetryPolicy};
use crate::source::capped::Capped;
use crate::source::maildir::{DrainOptions, Maildir};
use crate::source::mbox::MboxReader;
use crate::store::{EventKind, OutboxState, Store, StoreError, TicketFilter};
use cli::{
    AccountCommand, ChangeArgs, Command, IngestArgs, LanguageArg, OutboxCommand, QuarantineCommand,
    SweepArgs, TicketCommand,
};

/// sysexits(3) codes, as DESIGN.md promises them to MTAs and scripts.
pub mod exit {
    pub const OK: u8 = 0;
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
    fn new(code: u8, message: impl Into<String>) -> Failure {
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

type Outcome = Result<u8, Failure>;

/// Runs one parsed command line.
pub fn dispatch(cli: cli::Cli) -> Outcome {
    // An MTA bounces the mail on any exit but 75 (EX_TEMPFAIL). When the
    // fault is ours — a broken config, a database error — `ingest` must say
    // "try again later" so the mail waits in the MTA's queue, not bounce.
    if let Command::Ingest(args) = &cli.command {
        let result = load_config(cli.config.as_deref()).and_then(|c| ingest(c, args));
        return result.map_err(|f| match f.code {
            exit::CONFIG | exit::SOFTWARE | exit::IOERR => Failure::new(exit::TEMPFAIL, f.message),
            _ => f,
        });
    }
    let config = load_config(cli.config.as_deref())?;
    match cli.command {
        Command::CheckConfig => check_config(&config),
        Command::Run => {
            let path = config_path(cli.config.as_deref()).map(|p| absolute(&p));
            run(config, path)
        }
        Command::Reload => reload(&config),
        Command::Ingest(_) => unreachable!("handled above"),
        Command::Ticket(cmd) => ticket(&config, cmd),
        Command::Outbox(cmd) => outbox_cmd(&config, cmd),
        Command::Quarantine(cmd) => quarantine(&config, cmd),
        Command::Sweep(args) => sweep(&config, &args),
        Command::Account(cmd) => account(&config, cmd),
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
fn pipeline(config: &Arc<Config>, store: &mut Store) -> Result<Pipeline, Failure> {
    let secret = store.desk_secret()?;
    Pipeline::new(config.clone(), secret).map_err(|e| Failure::new(exit::CONFIG, e.to_string()))
}

/// Applies the config's declared accounts to the database (cheap when they
/// did not change): every command that takes mail in or shows accounts
/// sees the accounts the config declares.
fn sync_accounts(config: &Config, store: &mut Store) -> Result<(), Failure> {
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
fn open_store(config: &Config) -> Result<Store, Failure> {
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

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
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

// ---------------------------------------------------------------- check-config

fn check_config(config: &Arc<Config>) -> Outcome {
    Pipeline::check(config).map_err(|e| Failure::new(exit::CONFIG, e.to_string()))?;
    Transport::from_config(&config.transport)
        .map_err(|e| Failure::new(exit::CONFIG, format!("transport: {e}")))?;
    crate::daemon::check(config, false).map_err(|e| Failure::new(exit::CONFIG, e.to_string()))?;
    for line in config.advice() {
        eprintln!("postdesk: note: {line}");
    }
    print!("{}", config.to_toml());
    Ok(exit::OK)
}

// ---------------------------------------------------------------- run

fn run(config: Arc<Config>, config_path: Option<PathBuf>) -> Outcome {
    let rt = runtime()?;
    rt.block_on(async move {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let (reload, reloads) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(crate::daemon::signals::listen(stop, reload));
        // A reload reads the same file again (or, without one, the
        // embedded default, which cannot change).
        let reload_config = Box::new(move || match &config_path {
            Some(path) => Config::load(path).map_err(|e| e.to_string()),
            None => Ok(Config::embedded_default()),
        });
        let control = crate::daemon::Control {
            shutdown: stopped,
            reload: reloads,
            reload_config,
        };
        let notifier = crate::daemon::systemd::Notifier::from_env();
        crate::daemon::serve(config, Arc::new(SystemClock), control, &notifier)
            .await
            .map_err(|e| {
                use crate::daemon::DaemonError as D;
                let code = match &e {
                    D::Templates(_) | D::Transport(_) | D::Source { .. } => exit::CONFIG,
                    D::Store(s) if s.is_transient() => exit::TEMPFAIL,
                    D::Store(_) => exit::SOFTWARE,
                    D::Maildir { .. } | D::Lock { .. } => exit::IOERR,
                    D::Locked { .. } => exit::TEMPFAIL,
                };
                Failure::new(code, e.to_string())
            })
    })?;
    Ok(exit::OK)
}

// ---------------------------------------------------------------- reload

/// Checks the config as the daemon would, then sends SIGHUP to the daemon
/// named in the pid file beside the database.
fn reload(config: &Arc<Config>) -> Outcome {
    crate::daemon::check(config, false).map_err(|e| Failure::new(exit::CONFIG, e.to_string()))?;
    let pid_file = crate::daemon::pid_path(&config.service.database);
    let not_running = |why: String| {
        Failure::new(
            exit::UNAVAILABLE,
            format!(
                "no running daemon found: {why} (config: {}; under systemd use `systemctl reload postdesk`)",
                config.origin
            ),
        )
    };
    let text = std::fs::read_to_string(&pid_file)
        .map_err(|e| not_running(format!("cannot read {}: {e}", pid_file.display())))?;
    let pid: i32 = text
        .trim()
        .parse()
        .ok()
        .filter(|&p| p > 1)
        .ok_or_else(|| not_running(format!("{} holds no process id", pid_file.display())))?;
    // A stale file may name a process id that was reused by another program.
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    if comm.trim() != "postdesk" {
        return Err(not_running(format!(
            "process {pid} from {} is not postdesk (stale pid file?)",
            pid_file.display()
        )));
    }
    if let Err(e) = crate::daemon::signals::request_reload(pid) {
        return Err(not_running(format!("cannot signal process {pid}: {e}")));
    }
    println!(
        "reload requested from postdesk process {pid}; its log says whether the new configuration was taken"
    );
    Ok(exit::OK)
}

// ---------------------------------------------------------------- ingest

fn ingest(config: Arc<Config>, args: &IngestArgs) -> Outcome {
    if args.remove && args.maildir.is_none() {
        return Err(Failure::new(
            exit::USAGE,
            "--remove goes with --maildir only",
        ));
    }
    let config = if args.no_receipts {
        let mut c = Config::clone(&config);
        c.intake.confirm_receipt = false;
        Arc::new(c)
    } else {
        config
    };
    let mut store = Store::open(&config.service.database)?;
    let mut pipeline = pipeline(&config, &mut store)?;
    // An archive import writes to nobody: no receipt, no confirmation request.
    pipeline.silent = args.no_receipts;
    sync_accounts(&config, &mut store)?;
    let clock = SystemClock;
    let show_progress = !args.quiet && std::io::stderr().is_terminal();

    let taken: Vec<Taken> = if let Some(dir) = &args.maildir {
        let dir = absolute(dir);
        if !dir.join("new").is_dir() && !dir.join("cur").is_dir() {
            return Err(Failure::new(
                exit::NOINPUT,
                format!("{} is not a Maildir (no new/ or cur/)", dir.display()),
            ));
        }
        let maildir = Maildir::new(format!("maildir:{}", dir.display()), dir);
        let bar = progress_bar(
            show_progress,
            maildir.pending(true).map(|f| f.len()).unwrap_or(0),
        );
        let opts = DrainOptions {
            include_cur: true,
            remove: args.remove,
            batch_size: config.intake.batch_size,
            batch_bytes: config.intake.batch_bytes,
        };
        let drained = maildir
            .drain(
                &pipeline,
                &mut store,
                || clock.now(),
                opts,
                |done, _| bar.set_position(done as u64),
                || false,
            )
            .map_err(|e| {
                Failure::new(
                    if e.is_transient() {
                        exit::TEMPFAIL
                    } else {
                        exit::IOERR
                    },
                    e.to_string(),
                )
            })?;
        bar.finish_and_clear();
        drained.taken
    } else if let Some(path) = &args.mbox {
        ingest_mbox(&pipeline, &mut store, path, &config.intake, show_progress)?
    } else {
        ingest_files(&pipeline, &mut store, &args.files, &config.intake)?
    };

    report_unreadable(&taken);
    if !args.quiet {
        print_summary(&taken);
    }
    if !args.queue_only
        && taken
            .iter()
            .any(|t| matches!(t, Taken::Applied(o) if o.queued_mail()))
    {
        deliver_now(&config, store);
    }
    // Not stored: the MTA (or the operator) must keep it and try again.
    let skipped = taken.iter().filter(|t| !t.is_stored()).count();
    if skipped > 0 {
        return Err(Failure::new(
            exit::TEMPFAIL,
            format!(
                "{skipped} message(s) could not be stored, not even in quarantine; try again later"
            ),
        ));
    }
    let unreadable = taken.iter().any(|t| matches!(t, Taken::Unreadable { .. }));
    Ok(if unreadable { exit::DATAERR } else { exit::OK })
}

/// `ingest [FILE|-]...`: each file (or stdin) read within the limits, in
/// batches bounded in count and bytes.
fn ingest_files(
    pipeline: &Pipeline,
    store: &mut Store,
    files: &[PathBuf],
    intake: &config::Intake,
) -> Result<Vec<Taken>, Failure> {
    let files: Vec<PathBuf> = if files.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        files.to_vec()
    };
    let limits = pipeline.read_limits();
    let mut taken = Vec::new();
    let mut batch: Vec<Fetched> = Vec::new();
    let mut held = 0u64;
    for (i, f) in files.iter().enumerate() {
        let read = if f.as_os_str() == "-" {
            Capped::read_all(std::io::stdin().lock(), limits)
        } else {
            std::fs::File::open(f).and_then(|h| Capped::read_all(h, limits))
        };
        let read = read.map_err(|e| {
            Failure::new(exit::NOINPUT, format!("cannot read {}: {e}", f.display()))
        })?;
        held += read.kept() as u64;
        batch.push(read.finish("ingest".into(), None));
        let last = i + 1 == files.len();
        if last || batch.len() >= intake.batch_size || held >= intake.batch_bytes {
            taken.extend(pipeline.take(store, &batch, SystemClock.now())?);
            batch.clear();
            held = 0;
        }
    }
    Ok(taken)
}

fn ingest_mbox(
    pipeline: &Pipeline,
    store: &mut Store,
    path: &Path,
    intake: &config::Intake,
    show_progress: bool,
) -> Result<Vec<Taken>, Failure> {
    let path = absolute(path);
    let file = std::fs::File::open(&path).map_err(|e| {
        Failure::new(
            exit::NOINPUT,
            format!("cannot read {}: {e}", path.display()),
        )
    })?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = progress_bar(show_progress, size as usize);
    let source = format!("mbox:{}", path.display());
    let mut taken = Vec::new();
    let mut batch: Vec<Fetched> = Vec::new();
    let mut held = 0u64;
    let mut reader = MboxReader::new(std::io::BufReader::new(file), pipeline.read_limits());
    loop {
        let next = reader
            .next()
            .transpose()
            .map_err(|e| Failure::new(exit::IOERR, format!("reading {}: {e}", path.display())))?;
        let finished = next.is_none();
        if let Some((offset, read)) = next {
            bar.set_position(offset);
            held += read.kept() as u64;
            batch.push(read.finish(source.clone(), Some(format!("offset:{offset}"))));
        }
        let full = batch.len() >= intake.batch_size.max(1) || held >= intake.batch_bytes;
        if full || (finished && !batch.is_empty()) {
            taken.extend(pipeline.take(store, &batch, SystemClock.now())?);
            batch.clear();
            held = 0;
        }
        if finished {
            break;
        }
    }
    bar.finish_and_clear();
    Ok(taken)
}

fn progress_bar(show: bool, len: usize) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len as u64);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {per_sec} eta {eta}")
    {
        bar.set_style(style);
    }
    bar
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Errors are said even with --quiet.
fn report_unreadable(taken: &[Taken]) {
    for t in taken {
        if let Taken::Unreadable { quarantine, error } = t {
            eprintln!("postdesk: unreadable message kept in quarantine #{quarantine}: {error}");
        }
    }
}

fn print_summary(taken: &[Taken]) {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for t in taken {
        match counts.iter_mut().find(|(l, _)| *l == t.label()) {
            Some((_, n)) => *n += 1,
            None => counts.push((t.label(), 1)),
        }
    }
    if taken.len() == 1 {
        match &taken[0] {
            Taken::Applied(o) => match o.ticket() {
                Some(n) => println!("{}: ticket #{n}", taken[0].label()),
                None => println!("{}", taken[0].label()),
            },
            t => println!("{}", t.label()),
        }
        return;
    }
    let parts: Vec<String> = counts.iter().map(|(l, n)| format!("{n} {l}")).collect();
    println!("{} messages: {}", taken.len(), parts.join(", "));
}

/// Delivers what is due, once; whatever fails stays queued for the daemon.
fn deliver_now(config: &Config, store: Store) {
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
    if let Err(e) = rt.block_on(outbox::deliver_due(
        &store,
        &transport,
        &SystemClock,
        &policy,
        || false,
    )) {
        eprintln!("postdesk: mail queued, delivery interrupted: {e}");
    }
}

// ---------------------------------------------------------------- ticket

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn print_json<T: Serialize>(v: &T) -> Outcome {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, v)
        .map_err(|e| Failure::new(exit::IOERR, e.to_string()))?;
    let _ = writeln!(out);
    Ok(exit::OK)
}

#[derive(Serialize)]
struct HistoryLine {
    at: DateTime<Utc>,
    kind: EventKind,
    /// `in` for mail received, `out` for mail sent, absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    direction: Option<&'static str>,
    who: String,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<String>,
    /// The new text of a message received (its quoted history left out).
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    delivery: Option<OutboxState>,
}

fn ticket(config: &Arc<Config>, cmd: TicketCommand) -> Outcome {
    let (number, command, args) = match cmd {
        TicketCommand::SetStatus {
            number,
            status,
            change,
        } => (number, change::Command::SetStatus(status), change),
        TicketCommand::Close { number, change } => (number, change::Command::Close, change),
        TicketCommand::Reopen { number, change } => (number, change::Command::Reopen, change),
        TicketCommand::SetType {
            number,
            ticket_type,
            change,
        } => (number, change::Command::SetType(ticket_type), change),
        TicketCommand::SetAccount {
            number, account, ..
        } => return set_ticket_account(config, number, account),
        other => return ticket_read(config, other),
    };
    ticket_change(config, number, &command, args)
}

/// The operator's name for the history: who ran the command.
fn operator_name() -> String {
    ["SUDO_USER", "USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.trim().is_empty()))
        .map_or_else(|| "operator".to_string(), |u| format!("operator {u}"))
}

/// `ticket set-status|close|reopen|set-type`: the same rules and mails as
/// the commands staff send by mail, in one transaction.
fn ticket_change(
    config: &Arc<Config>,
    number: TicketId,
    command: &change::Command,
    args: ChangeArgs,
) -> Outcome {
    let mut store = open_store(config)?;
    let pipeline = pipeline(config, &mut store)?;
    let now = SystemClock.now();
    let at = match args.at {
        Some(at) if at > now + chrono::Duration::minutes(1) => {
            return Err(Failure::new(
                exit::USAGE,
                format!(
                    "--at {} is in the future: a change can only be recorded once it happened",
                    rfc3339(at)
                ),
            ));
        }
        Some(at) => at,
        None => now,
    };
    // The notices speak the language of the ticket's account, as declared now.
    sync_accounts(config, &mut store)?;
    let who = operator_name();
    let settings = Settings::new(config, pipeline.desk());
    let author = Author {
        who: &who,
        reason: args.reason.as_deref().filter(|r| !r.trim().is_empty()),
    };
    let done = store
        .write(|tx| change::command(tx, &settings, number, command, author, at))
        .map_err(|e| match e {
            ChangeError::Store(e) => Failure::from(e),
            other => Failure::new(exit::DATAERR, other.to_string()),
        })?;
    println!("ticket #{}: {}", done.ticket, done.change);
    for why in &done.skipped {
        println!("  {why}");
    }
    println!("  {} mail(s) queued", done.mails.len());
    if !done.mails.is_empty() {
        deliver_now(config, store);
    }
    Ok(exit::OK)
}

// ---------------------------------------------------------------- sweep

fn sweep(config: &Arc<Config>, args: &SweepArgs) -> Outcome {
    let mut store = open_store(config)?;
    let pipeline = pipeline(config, &mut store)?;
    let now = args.now.unwrap_or_else(|| SystemClock.now());
    if !args.dry_run {
        // The notices speak the language of the ticket's account, as declared now.
        sync_accounts(config, &mut store)?;
    }
    let settings = Settings::new(config, pipeline.desk());
    let report = crate::sweep::sweep(&mut store, &settings, now, args.dry_run)?;
    if args.json {
        print_json(&report)?;
    } else {
        let cal = &config.calendar;
        if report.recomputed > 0 {
            println!(
                "deadlines of {} waiting ticket(s) computed with the current rules (first sweep, or the rules changed)",
                report.recomputed
            );
        }
        let verb = if args.dry_run { "would " } else { "" };
        for a in &report.actions {
            let what = match a.action {
                "warning" => format!("{verb}warn"),
                _ => format!("{verb}close"),
            };
            println!(
                "#{:<6} {:<8} {:<11} due {}  {}",
                a.ticket,
                a.rule,
                what,
                cal.format(a.due),
                a.detail
            );
            for why in &a.skipped {
                println!("        {why}");
            }
        }
        let warnings = report
            .actions
            .iter()
            .filter(|a| a.action == "warning")
            .count();
        let closes = report.actions.len() - warnings;
        println!(
            "{} at {}: {warnings} warning(s), {closes} close(s){}",
            if args.dry_run { "dry run" } else { "sweep" },
            cal.format(now),
            if args.dry_run {
                String::new()
            } else {
                format!(", {} mail(s) queued", report.mails())
            }
        );
    }
    if !args.dry_run && report.mails() > 0 {
        deliver_now(config, store);
    }
    Ok(exit::OK)
}

fn ticket_read(config: &Config, cmd: TicketCommand) -> Outcome {
    let store = open_store(config)?;
    let read = store.read();
    match cmd {
        TicketCommand::List { status, all, json } => {
            let tickets = read.tickets(&TicketFilter {
                statuses: status,
                all,
            })?;
            if json {
                return print_json(&tickets);
            }
            if tickets.is_empty() {
                println!("no tickets");
            }
            // Flagged tickets come first (the store orders them so).
            for t in tickets {
                println!(
                    "#{:<6} {:<3} {:<21} {:<12} {:<16} {:<14} {}  {}",
                    t.number,
                    ticket_flags(&t),
                    t.status.as_str(),
                    t.ticket_type,
                    t.updated.format("%Y-%m-%d %H:%M"),
                    t.account.as_deref().unwrap_or("-"),
                    t.requester,
                    t.subject
                );
            }
            Ok(exit::OK)
        }
        TicketCommand::SetStatus { .. }
        | TicketCommand::Close { .. }
        | TicketCommand::Reopen { .. }
        | TicketCommand::SetType { .. }
        | TicketCommand::SetAccount { .. } => Err(Failure::new(
            exit::SOFTWARE,
            "ticket changes are handled by ticket()",
        )),
        TicketCommand::Show { number, json } => {
            let Some(t) = read.ticket(number)? else {
                return Err(Failure::new(exit::DATAERR, format!("no ticket #{number}")));
            };
            let history = history(&store, number)?;
            let participants = read.participants(number)?;
            if json {
                #[derive(Serialize)]
                struct Shown<'a> {
                    #[serde(flatten)]
                    ticket: &'a crate::store::Ticket,
                    participants: Vec<serde_json::Value>,
                    history: &'a [HistoryLine],
                }
                let addresses: Vec<crate::domain::Address> = participants
                    .iter()
                    .map(|(m, _)| m.address.clone())
                    .collect();
                let failing = read.failing(&addresses)?;
                let participants = participants
                    .iter()
                    .map(|(m, role)| {
                        let f = failing.iter().find(|f| f.address == m.address);
                        serde_json::json!({"address": m.address, "name": m.name, "role": role, "failing": f})
                    })
                    .collect();
                return print_json(&Shown {
                    ticket: &t,
                    participants,
                    history: &history,
                });
            }
            let token = crate::thread::Token::new(&config.service.ticket_prefix).format(number);
            println!("Ticket #{number}  {token}");
            println!("Subject:   {}", t.subject);
            println!("Status:    {}    Type: {}", t.status, t.ticket_type);
            let cal = &config.calendar;
            if let (Some(side), Some(since)) = (
                crate::domain::lifecycle::waits_for(t.status),
                t.waiting_since,
            ) {
                let next = t
                    .next_deadline
                    .map(|d| format!("; next rule deadline {}", cal.format(d)))
                    .unwrap_or_default();
                println!(
                    "Waiting:   for {} since {}{next}",
                    side.as_str(),
                    cal.format(since)
                );
            }
            if let Some(closed) = t.closed_at {
                println!("Closed:    {}", cal.format(closed));
            }
            if let Some(old) = t.reopened_from {
                println!("Follows:   #{old} (a reply to it after it was closed)");
            }
            let account = match (&t.account, t.account_candidates.as_slice()) {
                (Some(a), _) => a.clone(),
                (None, []) => "-".into(),
                (None, c) => format!(
                    "- (sender matches {}: choose with `ticket set-account`)",
                    c.join(", ")
                ),
            };
            println!("Account:   {account}");
            let mut flags = Vec::new();
            if t.priority {
                flags.push("priority");
            }
            if t.unverified {
                flags.push("unverified sender");
            }
            if !flags.is_empty() {
                println!("Flags:     {}", flags.join(", "));
            }
            if let Some(a) = &t.assignee {
                println!("Assigned:  {a}");
            }
            if let Some(into) = t.merged_into {
                println!("Merged:    into #{into}");
            }
            println!(
                "Created:   {}    Updated: {}",
                rfc3339(t.created),
                rfc3339(t.updated)
            );
            let addresses: Vec<crate::domain::Address> = participants
                .iter()
                .map(|(m, _)| m.address.clone())
                .collect();
            let failing = read.failing(&addresses)?;
            let people: Vec<String> = participants
                .iter()
                .map(
                    |(m, role)| match failing.iter().find(|f| f.address == m.address) {
                        Some(f) => format!(
                            "{m} ({role}; FAILING since {}: {})",
                            rfc3339(f.at),
                            f.status
                        ),
                        None => format!("{m} ({role})"),
                    },
                )
                .collect();
            println!("People:    {}", people.join(", "));
            println!("\nHistory");
            for h in &history {
                let delivery = h
                    .delivery
                    .map(|d| {
                        format!(
                            " [{}]",
                            serde_json::to_value(d)
                                .ok()
                                .and_then(|v| v.as_str().map(String::from))
                                .unwrap_or_default()
                        )
                    })
                    .unwrap_or_default();
                println!("{}  {}  {}{}", rfc3339(h.at), h.who, h.detail, delivery);
                if let Some(text) = &h.text {
                    for line in text.lines() {
                        println!("    | {line}");
                    }
                }
            }
            Ok(exit::OK)
        }
    }
}

/// The flag column of `ticket list`: `!` priority, `?` unverified sender,
/// `~` no account chosen among several.
fn ticket_flags(t: &crate::store::Ticket) -> String {
    let mut f = String::new();
    if t.priority {
        f.push('!');
    }
    if t.unverified {
        f.push('?');
    }
    if !t.account_candidates.is_empty() {
        f.push('~');
    }
    if f.is_empty() {
        f.push('-');
    }
    f
}

fn set_ticket_account(
    config: &Config,
    number: TicketId,
    account: Option<crate::domain::AccountId>,
) -> Outcome {
    let mut store = open_store(config)?;
    sync_accounts(config, &mut store)?;
    let now = SystemClock.now();
    let done = store.write(|tx| {
        let id = match &account {
            Some(a) => match tx.read().account_brief(a.as_str())? {
                Some(b) => Some(b.id),
                None => return Ok(Err(format!("no account {a:?}"))),
            },
            None => None,
        };
        if !tx.set_ticket_account(number, id.as_deref())? {
            return Ok(Err(format!("no ticket #{number}")));
        }
        tx.add_event(
            number,
            &crate::store::Event {
                at: now,
                kind: EventKind::Note,
                actor: "cli".into(),
                detail: format!("account set to {}", id.as_deref().unwrap_or("none")),
                message: None,
                outbox: None,
            },
        )?;
        Ok::<_, StoreError>(Ok(id))
    })?;
    match done {
        Ok(id) => {
            println!(
                "ticket #{number}: account {}",
                id.as_deref().unwrap_or("none")
            );
            Ok(exit::OK)
        }
        Err(why) => Err(Failure::new(exit::DATAERR, why)),
    }
}

fn history(store: &Store, n: TicketId) -> Result<Vec<HistoryLine>, Failure> {
    let read = store.read();
    let messages = read.ticket_messages(n)?;
    let mails = read.ticket_outbox(n)?;
    let lines = read
        .events(n)?
        .into_iter()
        .map(|e| {
            let msg = e
                .message
                .and_then(|id| messages.iter().find(|m| m.id == id));
            let mail = e.outbox.and_then(|id| mails.iter().find(|m| m.id == id));
            HistoryLine {
                at: e.at,
                kind: e.kind,
                direction: match e.kind {
                    EventKind::MessageIn | EventKind::StaffReply | EventKind::StaffNote
                        if msg.is_some() =>
                    {
                        Some("in")
                    }
                    EventKind::MailOut => Some("out"),
                    _ => None,
                },
                who: e.actor,
                detail: e.detail,
                message_id: msg
                    .map(|m| m.message_id.clone())
                    .or_else(|| mail.map(|m| m.message_id.clone())),
                subject: msg
                    .map(|m| m.subject.clone())
                    .or_else(|| mail.map(|m| m.subject.clone())),
                // A staff mail as relayed: without its command lines.
                text: msg.map(|m| m.text().to_string()),
                delivery: mail.map(|m| m.status),
            }
        })
        .collect();
    Ok(lines)
}

// ---------------------------------------------------------------- outbox

fn outbox_cmd(config: &Config, cmd: OutboxCommand) -> Outcome {
    let mut store = open_store(config)?;
    match cmd {
        OutboxCommand::List {
            status,
            limit,
            json,
        } => {
            let status = status.map(|s| match s {
                cli::OutboxStatus::Queued => OutboxState::Queued,
                cli::OutboxStatus::Sent => OutboxState::Sent,
                cli::OutboxStatus::Failed => OutboxState::Failed,
            });
            let rows = store.read().outbox(status, limit)?;
            if json {
                return print_json(&rows);
            }
            if rows.is_empty() {
                println!("outbox is empty");
            }
            for m in rows {
                let state = serde_json::to_value(m.status)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default();
                let ticket = m
                    .ticket
                    .map(|t| format!("#{t}"))
                    .unwrap_or_else(|| "-".into());
                println!(
                    "{:<6} {:<7} {:<8} {:<10} {}  {}",
                    m.id,
                    state,
                    ticket,
                    m.kind,
                    m.rcpt.join(","),
                    m.subject
                );
                if let Some(err) = &m.last_error {
                    println!("       attempts {}: {err}", m.attempts);
                }
            }
            Ok(exit::OK)
        }
        OutboxCommand::Show { id } => {
            let Some(m) = store.read().outbox_entry(id)? else {
                return Err(Failure::new(exit::DATAERR, format!("no outbox mail {id}")));
            };
            std::io::stdout()
                .write_all(&m.raw)
                .map_err(|e| Failure::new(exit::IOERR, e.to_string()))?;
            Ok(exit::OK)
        }
        OutboxCommand::Flush => {
            let transport = Transport::from_config(&config.transport)
                .map_err(|e| Failure::new(exit::CONFIG, e.to_string()))?;
            let store = Arc::new(Mutex::new(store));
            let policy = RetryPolicy::from_config(&config.outbox);
            let round = runtime()?.block_on(outbox::deliver_due(
                &store,
                &transport,
                &SystemClock,
                &policy,
                || false,
            ))?;
            println!(
                "{} sent, {} to retry, {} failed",
                round.sent, round.retrying, round.failed
            );
            Ok(if round.retrying > 0 {
                exit::TEMPFAIL
            } else {
                exit::OK
            })
        }
        OutboxCommand::Retry { id } => {
            let now = SystemClock.now();
            if store.write(|tx| tx.requeue_mail(id, now))? {
                println!("mail {id} queued again");
                Ok(exit::OK)
            } else {
                Err(Failure::new(
                    exit::DATAERR,
                    format!("no failed outbox mail {id}"),
                ))
            }
        }
    }
}

// ---------------------------------------------------------------- quarantine

fn quarantine(config: &Arc<Config>, cmd: QuarantineCommand) -> Outcome {
    let mut store = open_store(config)?;
    match cmd {
        QuarantineCommand::List { all, json } => {
            let rows = store.read().quarantined(all)?;
            if json {
                return print_json(&rows);
            }
            if rows.is_empty() {
                println!("quarantine is empty");
                return Ok(exit::OK);
            }
            for q in &rows {
                println!(
                    "{:<6} {}  {:<16} {:<30} {}\n       reason: {}",
                    q.id,
                    rfc3339(q.received),
                    q.kind.as_str(),
                    q.from.as_deref().unwrap_or("-"),
                    q.subject.as_deref().unwrap_or("-"),
                    q.reason
                );
            }
            // Counted by kind, so an operator sees at a glance what the screen holds back.
            let counts: Vec<String> = HoldKind::ALL
                .iter()
                .filter_map(|k| {
                    let n = rows.iter().filter(|q| q.kind == *k).count();
                    (n > 0).then(|| format!("{n} {k}"))
                })
                .collect();
            println!("{} held: {}", rows.len(), counts.join(", "));
            Ok(exit::OK)
        }
        QuarantineCommand::Show { id } => {
            let Some(q) = store.read().quarantine_entry(id)? else {
                return Err(Failure::new(
                    exit::DATAERR,
                    format!("no quarantined message {id}"),
                ));
            };
            std::io::stdout()
                .write_all(&q.raw)
                .map_err(|e| Failure::new(exit::IOERR, e.to_string()))?;
            Ok(exit::OK)
        }
        QuarantineCommand::Release { id } => {
            let pipeline = pipeline(config, &mut store)?;
            sync_accounts(config, &mut store)?;
            let taken = pipeline
                .release(&mut store, id, SystemClock.now())
                .map_err(|e| match e {
                    crate::intake::ReleaseError::Store(e) => Failure::from(e),
                    other => Failure::new(exit::DATAERR, other.to_string()),
                })?;
            print_summary(std::slice::from_ref(&taken));
            if matches!(&taken, Taken::Applied(o) if o.queued_mail()) {
                deliver_now(config, store);
            }
            Ok(exit::OK)
        }
        QuarantineCommand::Delete { id } => {
            if store.write(|tx| tx.delete_quarantined(id))? {
                println!("quarantined message {id} deleted");
                Ok(exit::OK)
            } else {
                Err(Failure::new(
                    exit::DATAERR,
                    format!("no quarantined message {id}"),
                ))
            }
        }
    }
}

// ---------------------------------------------------------------- account

impl From<AccountError> for Failure {
    fn from(e: AccountError) -> Failure {
        match e {
            AccountError::Store(e) => Failure::from(e),
            other => Failure::new(exit::DATAERR, other.to_string()),
        }
    }
}

fn checks(config: &Config) -> Checks {
    Checks {
        authserv_configured: config.intake.authserv_id.is_some(),
        origin: config.origin.clone(),
    }
}

/// Addresses, domains and `*.domains` from arguments, each of which may hold
/// several separated by commas.
fn patterns(args: &[String]) -> Result<Vec<SenderPattern>, Failure> {
    let mut out = Vec::new();
    for a in args {
        let list =
            SenderPattern::parse_list(a).map_err(|e| Failure::new(exit::USAGE, e.to_string()))?;
        out.extend(list);
    }
    Ok(out)
}

fn address(s: &str) -> Result<Address, Failure> {
    Address::parse(s).map_err(|e| Failure::new(exit::USAGE, e.to_string()))
}

fn language(l: LanguageArg) -> Option<crate::domain::Language> {
    use crate::domain::Language;
    match l {
        LanguageArg::En => Some(Language::En),
        LanguageArg::Fr => Some(Language::Fr),
        LanguageArg::It => Some(Language::It),
        LanguageArg::Default => None,
    }
}

fn account(config: &Config, cmd: AccountCommand) -> Outcome {
    let now = SystemClock.now();
    let checks = checks(config);
    // Reading commands need a desk (or declared accounts to show); changing
    // ones may start one.
    let reading = matches!(
        cmd,
        AccountCommand::Show { .. } | AccountCommand::List { .. }
    );
    let mut store = if reading && config.accounts.is_empty() {
        open_store(config)?
    } else {
        Store::open(&config.service.database)?
    };
    sync_accounts(config, &mut store)?;
    match cmd {
        AccountCommand::Add(a) => {
            let spec = AccountSpec {
                name: a.name.unwrap_or_else(|| a.id.to_string()),
                primary: address(&a.primary)?,
                authorized: patterns(&a.authorized)?,
                language: a.language.and_then(language),
                parent: a.parent,
                delegates: a
                    .delegates
                    .iter()
                    .map(|d| address(d))
                    .collect::<Result<_, _>>()?,
                priority: a.priority,
                require_authentication: a.require_authentication.and_then(|s| s.value()),
                id: a.id,
            };
            accounts::add(&mut store, &spec, &checks, now)?;
            println!("account {} added", spec.id);
            Ok(exit::OK)
        }
        AccountCommand::Set(a) => {
            let primary = a.primary.as_deref().map(address).transpose()?;
            let delegates = match &a.delegates {
                Some(list) => Some(
                    list.split(',')
                        .map(str::trim)
                        .filter(|d| !d.is_empty())
                        .map(address)
                        .collect::<Result<Vec<_>, _>>()?,
                ),
                None => None,
            };
            let spec = accounts::set(&mut store, a.id.as_str(), &checks, now, |s| {
                if let Some(n) = a.name {
                    s.name = n;
                }
                if let Some(p) = primary {
                    s.primary = p;
                }
                if let Some(l) = a.language {
                    s.language = language(l);
                }
                if a.no_parent {
                    s.parent = None;
                } else if let Some(p) = a.parent {
                    s.parent = Some(p);
                }
                if let Some(d) = delegates {
                    s.delegates = d;
                }
                if let Some(p) = a.priority {
                    s.priority = p == cli::YesNo::Yes;
                }
                if let Some(r) = a.require_authentication {
                    s.require_authentication = r.value();
                }
            })?;
            println!("account {} updated", spec.id);
            Ok(exit::OK)
        }
        AccountCommand::Authorize { id, senders } => {
            let done = accounts::authorize(&mut store, id.as_str(), &patterns(&senders)?, now)?;
            for (p, change) in done {
                let what = match change {
                    EntryChange::Added => "authorized",
                    _ => "already authorized",
                };
                println!("{p}: {what}");
            }
            Ok(exit::OK)
        }
        AccountCommand::Revoke { id, senders } => {
            let done = accounts::revoke(&mut store, id.as_str(), &patterns(&senders)?, now)?;
            for (p, change) in done {
                let what = match change {
                    EntryChange::Removed => "revoked",
                    _ => "was not authorized",
                };
                println!("{p}: {what}");
            }
            Ok(exit::OK)
        }
        AccountCommand::Remove { id } => {
            let id = accounts::remove(&mut store, id.as_str(), &checks, now)?;
            println!("account {id} removed (its tickets keep the id)");
            Ok(exit::OK)
        }
        AccountCommand::Import { file } => {
            let specs = config::read_accounts_file(&file)
                .map_err(|e| Failure::new(exit::DATAERR, e.to_string()))?;
            let specs: Vec<AccountSpec> = specs.into_iter().map(|(_, s)| s).collect();
            let r = accounts::import(&mut store, &specs, &checks, now)?;
            println!(
                "{} accounts in {}: {} added, {} updated, {} unchanged",
                specs.len(),
                file.display(),
                r.added,
                r.updated,
                r.unchanged
            );
            Ok(exit::OK)
        }
        AccountCommand::List { parent, json } => {
            if let Some(p) = &parent
                && store.read().account_brief(p.as_str())?.is_none()
            {
                return Err(Failure::new(exit::DATAERR, format!("no account {p:?}")));
            }
            let list = store.read().accounts(parent.as_ref().map(|p| p.as_str()))?;
            if json {
                return print_json(&list);
            }
            if list.is_empty() {
                println!("no accounts");
            }
            for a in &list {
                let mut flags = String::new();
                if a.priority {
                    flags.push('!');
                }
                if a.declared {
                    flags.push('C');
                }
                if a.require_authentication == Some(true) {
                    flags.push('A');
                }
                if flags.is_empty() {
                    flags.push('-');
                }
                println!(
                    "{:<16} {:<3} {:<32} {:>3} senders  parent {:<12} {}",
                    a.id,
                    flags,
                    a.primary,
                    a.authorized.len(),
                    a.parent.as_deref().unwrap_or("-"),
                    a.name
                );
            }
            Ok(exit::OK)
        }
        AccountCommand::Show { id, json } => {
            let read = store.read();
            let Some(a) = read.account(id.as_str())? else {
                return Err(Failure::new(exit::DATAERR, format!("no account {id:?}")));
            };
            let children = read.account_children(&a.id)?;
            let history = read.account_events(&a.id, 50)?;
            if json {
                #[derive(Serialize)]
                struct Shown<'a> {
                    #[serde(flatten)]
                    account: &'a crate::store::Account,
                    children: &'a [String],
                    senders: &'a [crate::store::SenderEntry],
                    history: &'a [crate::store::AccountEvent],
                }
                return print_json(&Shown {
                    account: &a,
                    children: &children,
                    senders: &a.senders,
                    history: &history,
                });
            }
            let owner = if a.declared {
                format!("  (declared in {})", config.origin)
            } else {
                String::new()
            };
            println!("Account {}  {}{owner}", a.id, a.name);
            println!("Primary:     {}", a.primary);
            let senders: Vec<String> = a
                .senders
                .iter()
                .map(|e| format!("{} ({})", e.sender, e.source.as_str()))
                .collect();
            println!(
                "Authorized:  {}",
                if senders.is_empty() {
                    "-".into()
                } else {
                    senders.join(", ")
                }
            );
            println!(
                "Language:    {}",
                a.language
                    .as_deref()
                    .unwrap_or(config.service.default_language.as_str())
            );
            println!("Parent:      {}", a.parent.as_deref().unwrap_or("-"));
            println!(
                "Children:    {}",
                if children.is_empty() {
                    "-".into()
                } else {
                    children.join(", ")
                }
            );
            println!(
                "Delegates:   {}",
                if a.delegates.is_empty() {
                    "-".into()
                } else {
                    a.delegates.join(", ")
                }
            );
            println!("Priority:    {}", if a.priority { "yes" } else { "no" });
            let auth = match a.require_authentication {
                Some(true) => "yes".to_string(),
                Some(false) => "no".to_string(),
                None => format!(
                    "default ({})",
                    if config.intake.require_authentication {
                        "yes"
                    } else {
                        "no"
                    }
                ),
            };
            println!("Require authentication: {auth}");
            println!("\nHistory");
            for e in &history {
                println!("{}  {}  {}", rfc3339(e.at), e.actor, e.detail);
            }
            Ok(exit::OK)
        }
    }
}
