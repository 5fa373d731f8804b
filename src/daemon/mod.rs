//! daemon: `postdesk run`. One task per source, one outbox sender and the
//! inactivity sweep on its cron schedule, each with its own database
//! connection; all of them hear the shutdown signal, finish the batch or
//! mail in hand, and the daemon waits for them to drain.
//!
//! A running set of tasks is a [`Generation`], built from one config. A
//! reload (SIGHUP, `postdesk reload`) prepares a new generation from the
//! re-read config first — templates, transport, databases, TLS settings,
//! passwords — and, last, applies its declared accounts to the database;
//! only when all of that works does it stop the old one and start the new;
//! a bad new config is logged and the old one runs on.
//! A POP3 or IMAP source whose server fails backs off on its own (see
//! [`supervise`]); the other tasks never notice.
//!
//! One daemon per database: `run` holds an exclusive lock (flock(2)) on
//! the lock file beside the database for its whole life, and a second one
//! exits 75 naming the holder from the pid file (which stays informational:
//! the lock, not the pid file, decides). `postdesk ingest` takes no lock —
//! it is the MTA's pipe and runs beside the daemon. When any task finds
//! that the database file was removed or replaced under it, the daemon
//! stops with that error (exit 75): nothing it commits there would last.

pub mod systemd;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinSet;
use tracing::{error, info, warn};

use crate::config::{Config, Secret, SourceKind};
use crate::domain::clock::Clock;
use crate::intake::Pipeline;
use systemd::Notifier;
use crate::outbox::deliver::{DeliverError, Transport};
use crate::outbox::{self, RetryPolicy, SharedStore, with_store};
use crate::source::maildir::{DrainError, DrainOptions, Maildir};
use crate::source::net::{Connector, NetError};
use crate::source::{Backoff, Sink, SourceError, imap, pop3};
use crate::store::{Store, StoreError};
use crate::template::TemplateError;

/// The sender also looks at the queue this often, for mail queued by other
/// processes (`postdesk ingest` from the MTA).
const OUTBOX_POLL: Duration = Duration::from_secs(5);
/// After a database error a task waits this long before it tries again.
const ERROR_PAUSE: Duration = Duration::from_secs(5);
/// A mail server that failed is tried again after 1 s, 2 s, 4 s … 5 min.
const BACKOFF_INITIAL: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(300);
/// After the stop signal a source may finish the message or batch in hand
/// for this long; then it is abandoned (what it had not committed stays on
/// the server, what it had committed is recognised next time).
const STOP_GRACE: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Templates(#[from] TemplateError),
    #[error("transport: {0}")]
    Transport(#[from] DeliverError),
    #[error("cannot prepare Maildir {dir}: {source}")]
    Maildir {
        dir: std::path::PathBuf,
        source: std::io::Error,
    },
    /// A POP3/IMAP source's settings cannot work (ca_file, password).
    #[error("source {name}: {detail}")]
    Source { name: String, detail: String },
    /// Another `postdesk run` holds the database.
    #[error(
        "the database {database} is in use by another `postdesk run` ({holder}); one daemon per database"
    )]
    Locked { database: PathBuf, holder: String },
    #[error("cannot lock {path}: {source}")]
    Lock {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// How a task tells the daemon that the database is not the file it
/// opened any more: the daemon stops with this error.
type Fatal = mpsc::UnboundedSender<StoreError>;

/// How the daemon is driven from outside: stop, reload, and how a reload
/// reads the configuration again.
pub struct Control {
    pub shutdown: watch::Receiver<bool>,
    /// One message per reload request (SIGHUP).
    pub reload: mpsc::UnboundedReceiver<()>,
    /// Reads the configuration again from where it came from.
    pub reload_config: Box<dyn Fn() -> Result<Config, String> + Send>,
}

/// Runs until `shutdown` turns true, then drains and returns.
pub async fn run(
    config: Arc<Config>,
    clock: Arc<dyn Clock>,
    shutdown: watch::Receiver<bool>,
) -> Result<(), DaemonError> {
    let (_keep, reload) = mpsc::unbounded_channel();
    let origin = config.origin.clone();
    let control = Control {
        shutdown,
        reload,
        reload_config: Box::new(move || Err(format!("cannot reload {origin} here"))),
    };
    serve(config, clock, control, &Notifier::new(None, None, None, 0)).await
}

/// The daemon: runs a generation of tasks, swaps it on reload, and tells
/// systemd (through `notifier`) what it does.
pub async fn serve(
    config: Arc<Config>,
    clock: Arc<dyn Clock>,
    mut control: Control,
    notifier: &Notifier,
) -> Result<(), DaemonError> {
    let _lock = DaemonLock::acquire(&config.service.database)?;
    let (fatal, mut fatal_seen) = mpsc::unbounded_channel();
    let mut generation = Generation::prepare(config, &clock)?.start(fatal.clone());
    let pid_file = PidFile::create(&pid_path(&generation.config.service.database));
    notifier.ready("postdesk running");
    let mut watchdog = notifier.watchdog().map(tokio::time::interval);
    if let Some(every) = notifier.watchdog() {
        info!(every = ?every, "systemd watchdog on");
    }
    loop {
        tokio::select! {
            _ = control.shutdown.wait_for(|stop| *stop) => break,
            Some(()) = control.reload.recv() => {
                notifier.reloading();
                info!("reloading the configuration");
                let prepared = (control.reload_config)()
                    .map_err(|e| e.to_string())
                    .and_then(|c| Generation::prepare(Arc::new(c), &clock).map_err(|e| e.to_string()));
                match prepared {
                    Ok(next) => {
                        generation.stop().await;
                        generation = next.start(fatal.clone());
                        info!(config = %generation.config.origin, "configuration reloaded");
                    }
                    Err(e) => error!(error = %e, "reload refused; the running configuration stays in force"),
                }
                notifier.ready("postdesk running");
            }
            _ = async { match &mut watchdog { Some(w) => { w.tick().await; } None => std::future::pending().await } } => {
                notifier.watchdog_ping();
            }
            Some(e) = fatal_seen.recv() => {
                error!(error = %e, "stopping: nothing more is taken in or sent until postdesk is started again");
                notifier.stopping();
                generation.stop().await;
                drop(pid_file);
                return Err(DaemonError::Store(e));
            }
        }
    }
    notifier.stopping();
    info!("shutting down: finishing the work in hand");
    generation.stop().await;
    drop(pid_file);
    info!("stopped");
    Ok(())
}

/// Checks what a start would check, without starting anything: templates,
/// transport, the sources' TLS and password settings. `read_env` also reads
/// `password_env` variables (only the daemon's own environment has them).
pub fn check(config: &Arc<Config>, read_env: bool) -> Result<(), DaemonError> {
    Pipeline::check(config)?;
    Transport::from_config(&config.transport)?;
    for (i, source) in config.sources.iter().enumerate() {
        remote(source, i, read_env)?;
    }
    Ok(())
}

/// The connector of a POP3/IMAP source, its password read once to prove it
/// can be.
fn remote(
    source: &crate::config::Source,
    index: usize,
    read_env: bool,
) -> Result<Option<Connector>, DaemonError> {
    let server = match &source.kind {
        SourceKind::Maildir { .. } => return Ok(None),
        SourceKind::Pop3 { server, .. } | SourceKind::Imap { server, .. } => server,
    };
    let fail = |detail: String| DaemonError::Source {
        name: source.name.clone(),
        detail,
    };
    if read_env || matches!(server.password, Secret::File(_)) {
        server.password.read().map_err(fail)?;
    }
    let conn =
        Connector::new(server, &format!("source[{index}].ca_file")).map_err(|e| match e {
            NetError::Setup(d) => fail(d),
            other => fail(other.to_string()),
        })?;
    Ok(Some(conn))
}

/// The pid file beside the database, for `postdesk reload`.
pub fn pid_path(database: &Path) -> PathBuf {
    database.with_extension("pid")
}

/// The lock file beside the database, held by the one `postdesk run`.
pub fn lock_path(database: &Path) -> PathBuf {
    database.with_extension("lock")
}

/// An exclusive lock on [`lock_path`], held for the daemon's life; the
/// kernel drops it when the process ends, however it ends, so a stale
/// lock file never blocks a start.
struct DaemonLock {
    _file: std::fs::File,
}

impl DaemonLock {
    fn acquire(database: &Path) -> Result<DaemonLock, DaemonError> {
        let path = lock_path(database);
        let fail = |source| DaemonError::Lock {
            path: path.clone(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(fail)?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(fail)?;
        match file.try_lock() {
            Ok(()) => Ok(DaemonLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => {
                let pid_file = pid_path(database);
                let holder = match std::fs::read_to_string(&pid_file) {
                    Ok(text) if text.trim().parse::<u32>().is_ok() => {
                        format!("process {}, from {}", text.trim(), pid_file.display())
                    }
                    _ => format!("its pid file {} names no process yet", pid_file.display()),
                };
                Err(DaemonError::Locked {
                    database: database.to_path_buf(),
                    holder,
                })
            }
            Err(std::fs::TryLockError::Error(e)) => Err(fail(e)),
        }
    }
}

/// Written at start, removed at a clean stop.
struct PidFile(Option<PathBuf>);

impl PidFile {
    fn create(path: &Path) -> PidFile {
        match std::fs::write(path, format!("{}\n", std::process::id())) {
            Ok(()) => PidFile(Some(path.to_path_buf())),
            Err(e) => {
                warn!(file = %path.display(), error = %e, "cannot write the pid file; `postdesk reload` will not find this daemon (send SIGHUP instead)");
                PidFile(None)
            }
        }
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        if let Some(path) = &self.0 {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Everything one config needs, checked and opened, not yet running.
struct Prepared {
    config: Arc<Config>,
    clock: Arc<dyn Clock>,
    pipeline: Pipeline,
    transport: Arc<Transport>,
    sender_store: SharedStore,
    sweep_store: SharedStore,
    sources: Vec<(crate::config::Source, Option<Connector>, SharedStore)>,
}

/// A running set of tasks and the switch that stops them.
struct Generation {
    config: Arc<Config>,
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl Generation {
    fn prepare(config: Arc<Config>, clock: &Arc<dyn Clock>) -> Result<Prepared, DaemonError> {
        let transport = Arc::new(Transport::from_config(&config.transport)?);
        let db = &config.service.database;
        // Open once here so a bad database stops the start, not a task later.
        let mut first = Store::open(db)?;
        let pipeline = Pipeline::new(config.clone(), first.desk_secret()?)?;
        let sender_store: SharedStore = Arc::new(Mutex::new(first));
        let sweep_store: SharedStore = Arc::new(Mutex::new(Store::open(db)?));
        let mut sources = Vec::new();
        for (i, source) in config.sources.iter().enumerate() {
            if let SourceKind::Maildir { path, .. } = &source.kind {
                Maildir::new(source.name.clone(), path.clone())
                    .create_dirs()
                    .map_err(|e| DaemonError::Maildir {
                        dir: path.clone(),
                        source: e,
                    })?;
            }
            let conn = remote(source, i, true)?;
            let store: SharedStore = Arc::new(Mutex::new(Store::open(db)?));
            sources.push((source.clone(), conn, store));
        }
        // The config's accounts are in the database before the first message
        // of this generation, at start and on every reload. Last, once
        // everything else has been checked: a reload refused for another
        // reason must not have applied the new config's accounts.
        let mut accounts_store = Store::open(db)?;
        let synced =
            crate::accounts::sync_declared(&mut accounts_store, &config.accounts, clock.now())?;
        info!(
            accounts = config.accounts.len(),
            unchanged = synced.unchanged,
            added = synced.added,
            updated = synced.updated,
            removed = synced.removed,
            "declared accounts applied"
        );
        Ok(Prepared {
            config,
            clock: clock.clone(),
            pipeline,
            transport,
            sender_store,
            sweep_store,
            sources,
        })
    }

    async fn stop(mut self) {
        let _ = self.stop.send(true);
        while let Some(done) = self.tasks.join_next().await {
            if let Err(e) = done {
                error!(error = %e, "a task ended abnormally");
            }
        }
    }
}

impl Prepared {
    fn start(self, fatal: Fatal) -> Generation {
        let (stop, stopped) = watch::channel(false);
        let queued = Arc::new(Notify::new());
        let mut tasks = JoinSet::new();
        let config = self.config;
        for (source, conn, store) in self.sources {
            let sink = Sink {
                name: source.name.clone(),
                pipeline: self.pipeline.clone(),
                store,
                clock: self.clock.clone(),
                queued: queued.clone(),
                batch_size: config.intake.batch_size,
            };
            if let Some(conn) = conn {
                info!(source = %source.name, kind = source.kind.kind(), server = %conn.server, tls = conn.tls.as_str(), "collecting mail");
                tasks.spawn(supervise(
                    sink,
                    conn,
                    source.kind.clone(),
                    fatal.clone(),
                    stopped.clone(),
                ));
            } else if let SourceKind::Maildir { path, poll } = &source.kind {
                info!(source = %source.name, dir = %path.display(), "watching Maildir");
                tasks.spawn(watch_maildir(
                    Maildir::new(source.name.clone(), path.clone()),
                    *poll,
                    sink.pipeline,
                    sink.store,
                    sink.clock,
                    queued.clone(),
                    (config.intake.batch_size, config.intake.batch_bytes),
                    fatal.clone(),
                    stopped.clone(),
                ));
            }
        }
        tasks.spawn(crate::sweep::scheduled(
            self.pipeline.clone(),
            self.sweep_store,
            self.clock.clone(),
            queued.clone(),
            stopped.clone(),
        ));
        info!(transport = %self.transport.describe(), "outbox sender ready");
        tasks.spawn(send_outbox(
            self.sender_store,
            self.transport,
            self.clock.clone(),
            RetryPolicy::from_config(&config.outbox),
            queued,
            fatal,
            stopped,
        ));
        for line in config.advice() {
            warn!(config = %config.origin, "{line}");
        }
        info!(config = %config.origin, "postdesk running");
        Generation {
            config,
            stop,
            tasks,
        }
    }
}

/// Keeps one POP3/IMAP source running: a session until it fails, then a
/// wait that doubles with each failure (capped), then a new session. Every
/// failure is logged with the source's name; nothing here stops the daemon.
async fn supervise(
    sink: Sink,
    conn: Connector,
    kind: SourceKind,
    fatal: Fatal,
    mut stop: watch::Receiver<bool>,
) {
    let mut backoff = Backoff::new(BACKOFF_INITIAL, BACKOFF_MAX);
    loop {
        if *stop.borrow() {
            return;
        }
        let mut session_stop = stop.clone();
        // Boxed: a session's future (TLS state, protocol buffers) is large.
        let session = Box::pin(async {
            match &kind {
                SourceKind::Pop3 {
                    server,
                    leave_on_server,
                } => {
                    pop3::run(
                        &sink,
                        &conn,
                        server,
                        *leave_on_server,
                        &mut backoff,
                        &mut session_stop,
                    )
                    .await
                }
                SourceKind::Imap {
                    server,
                    folder,
                    processed_folder,
                    idle,
                } => {
                    let folder = imap::Folder {
                        server,
                        folder,
                        processed_folder: processed_folder.as_deref(),
                        idle: *idle,
                    };
                    imap::run(&sink, &conn, &folder, &mut backoff, &mut session_stop).await
                }
                SourceKind::Maildir { .. } => Ok(()),
            }
        });
        let mut grace_stop = stop.clone();
        let result = tokio::select! {
            r = session => r,
            _ = async {
                let _ = grace_stop.wait_for(|s| *s).await;
                tokio::time::sleep(STOP_GRACE).await;
            } => {
                warn!(source = %sink.name, "did not finish within {STOP_GRACE:?} of the stop; abandoned (nothing uncommitted left the server)");
                return;
            }
        };
        let error = match result {
            Ok(()) => return,
            Err(SourceError::Store(e)) if e.is_replaced() => {
                let _ = fatal.send(e);
                return;
            }
            Err(e) => e,
        };
        let wait = backoff.failed();
        if error.is_login() {
            error!(source = %sink.name, server = %conn.server, error = %error, retry_in = ?wait, failures = backoff.failures(), "login failed");
        } else {
            error!(source = %sink.name, server = %conn.server, error = %error, retry_in = ?wait, failures = backoff.failures(), "mail server unavailable");
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn watch_maildir(
    maildir: Maildir,
    poll: Duration,
    pipeline: Pipeline,
    store: SharedStore,
    clock: Arc<dyn Clock>,
    queued: Arc<Notify>,
    (batch_size, batch_bytes): (usize, u64),
    fatal: Fatal,
    mut shutdown: watch::Receiver<bool>,
) {
    let maildir = Arc::new(maildir);
    loop {
        if *shutdown.borrow() {
            return;
        }
        let (m, p, c) = (maildir.clone(), pipeline.clone(), clock.clone());
        let stopping = shutdown.clone();
        let opts = DrainOptions {
            include_cur: false,
            remove: true,
            batch_size,
            batch_bytes,
        };
        let result = with_store(&store, move |s| {
            m.drain(&p, s, || c.now(), opts, |_, _| {}, || *stopping.borrow())
        })
        .await;
        let pause = match result {
            Ok(d) => {
                if d.taken
                    .iter()
                    .any(|t| matches!(t, crate::intake::Taken::Applied(o) if o.queued_mail()))
                {
                    queued.notify_one();
                }
                // More may have arrived while we worked: look again at once
                // (not for files left in place because they cannot be read
                // or stored).
                if d.progressed() { Duration::ZERO } else { poll }
            }
            Err(DrainError::Store(e)) if e.is_replaced() => {
                let _ = fatal.send(e);
                return;
            }
            Err(e) => {
                warn!(source = %maildir.name, error = %e, "intake failed; the mail stays in the Maildir");
                ERROR_PAUSE
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = shutdown.changed() => {}
        }
    }
}

async fn send_outbox(
    store: SharedStore,
    transport: Arc<Transport>,
    clock: Arc<dyn Clock>,
    policy: RetryPolicy,
    queued: Arc<Notify>,
    fatal: Fatal,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        if *shutdown.borrow() {
            return;
        }
        // Sleep until the next retry is due, new mail is queued, or the poll
        // interval passes — whichever comes first.
        let stopping = shutdown.clone();
        let stop = move || *stopping.borrow();
        let pause =
            match outbox::deliver_due(&store, &transport, clock.as_ref(), &policy, stop).await {
                Ok(_) => match with_store(&store, |s| s.read().next_mail_due()).await {
                    Ok(Some(due)) => (due - clock.now())
                        .to_std()
                        .unwrap_or(Duration::ZERO)
                        .min(OUTBOX_POLL),
                    Ok(None) => OUTBOX_POLL,
                    Err(e) => {
                        warn!(error = %e, "cannot read the outbox");
                        ERROR_PAUSE
                    }
                },
                Err(e) if e.is_replaced() => {
                    let _ = fatal.send(e);
                    return;
                }
                Err(e) => {
                    warn!(error = %e, "outbox delivery interrupted by a database error");
                    ERROR_PAUSE
                }
            };
        tokio::select! {
            _ = tokio::time::sleep(pause.max(Duration::from_millis(50))) => {}
            _ = queued.notified() => {}
            _ = shutdown.changed() => {}
        }
    }
}
