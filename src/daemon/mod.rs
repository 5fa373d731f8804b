//! daemon: `postdesk run`. It runs the sources, the outbox sender and the
//! sweep schedule as a [`generation`] of tasks, and a reload as a new
//! generation; it answers signals and tells systemd how it is doing.
//!
//! A running set of tasks is a generation, built from one
//! config; all of its tasks hear the shutdown signal, finish the batch or
//! mail in hand, and the daemon waits for them to drain. A reload (SIGHUP,
//! `postdesk reload`) prepares a new generation from the re-read config
//! first — templates, transport, databases, TLS settings, passwords — and,
//! last, applies its declared accounts to the database; only when all of
//! that works does it stop the old one and start the new; a bad new config
//! is logged and the old one runs on. A POP3 or IMAP source whose server
//! fails backs off on its own (see [`generation`]); the other tasks never
//! notice.
//!
//! One daemon per database ([`lock`]): `postdesk ingest` takes no lock —
//! it is the MTA's pipe and runs beside the daemon. When any task finds
//! that the database file was removed or replaced under it, the daemon
//! stops with that error (exit 75): nothing it commits there would last.

pub mod generation;
pub mod health;
pub mod lock;
pub mod metrics;
mod schedule;
pub mod signals;
pub mod systemd;

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::{mpsc, watch};
use tracing::{error, info};

use crate::config::{Config, Secret, SourceKind};
use crate::domain::clock::Clock;
use crate::intake::Pipeline;
use crate::outbox::deliver::{DeliverError, Transport};
use crate::outbox::template::TemplateError;
use crate::source::net::{Connector, NetError};
use crate::store::StoreError;
use generation::Generation;
use lock::{DaemonLock, PidFile};
pub use lock::{lock_path, pid_path};
use systemd::ServiceManager;

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Templates(#[from] TemplateError),
    #[error(transparent)]
    Keys(#[from] crate::intake::KeyFileError),
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
    #[error("cannot serve metrics on {addr} ([metrics] listen): {source}")]
    Metrics {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot lock {path}: {source}")]
    Lock {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl From<crate::intake::PipelineError> for DaemonError {
    fn from(e: crate::intake::PipelineError) -> DaemonError {
        match e {
            crate::intake::PipelineError::Templates(t) => DaemonError::Templates(t),
            crate::intake::PipelineError::Keys(k) => DaemonError::Keys(k),
        }
    }
}

/// How a task tells the daemon that the database is not the file it
/// opened any more: the daemon stops with this error.
pub(crate) type Fatal = mpsc::UnboundedSender<StoreError>;

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
    serve(
        config,
        clock,
        control,
        &ServiceManager::new(None, None, None, 0),
    )
    .await
}

/// The daemon: runs a generation of tasks, swaps it on reload, and tells
/// systemd (through `manager`) what it does.
pub async fn serve(
    config: Arc<Config>,
    clock: Arc<dyn Clock>,
    mut control: Control,
    manager: &ServiceManager,
) -> Result<(), DaemonError> {
    let _lock = DaemonLock::acquire(&config.service.database)?;
    let (fatal, mut fatal_seen) = mpsc::unbounded_channel();
    let (config_now, config_seen) = watch::channel(config.clone());
    let metrics = start_metrics(&config, config_seen, &clock, control.shutdown.clone())?;
    let mut generation = Generation::prepare(config, &clock)?.start(fatal.clone());
    let pid_file = PidFile::create(&pid_path(&generation.config.service.database));
    manager.ready("postdesk running");
    let mut watchdog = manager.watchdog().map(tokio::time::interval);
    if let Some(every) = manager.watchdog() {
        info!(every = ?every, "systemd watchdog on");
    }
    loop {
        tokio::select! {
            _ = control.shutdown.wait_for(|stop| *stop) => break,
            Some(()) = control.reload.recv() => {
                manager.reloading();
                info!("reloading the configuration");
                let prepared = (control.reload_config)()
                    .map_err(|e| e.to_string())
                    .and_then(|c| Generation::prepare(Arc::new(c), &clock).map_err(|e| e.to_string()));
                match prepared {
                    Ok(next) => {
                        generation.stop().await;
                        generation = next.start(fatal.clone());
                        config_now.send_replace(generation.config.clone());
                        info!(config = %generation.config.origin, "configuration reloaded");
                    }
                    Err(e) => error!(error = %e, "reload refused; the running configuration stays in force"),
                }
                manager.ready("postdesk running");
            }
            _ = async { match &mut watchdog { Some(w) => { w.tick().await; } None => std::future::pending().await } } => {
                manager.watchdog_ping();
            }
            Some(e) = fatal_seen.recv() => {
                error!(error = %e, "stopping: nothing more is taken in or sent until postdesk is started again");
                manager.stopping();
                generation.stop().await;
                drop(pid_file);
                return Err(DaemonError::Store(e));
            }
        }
    }
    manager.stopping();
    info!("shutting down: finishing the work in hand");
    generation.stop().await;
    if let Some(task) = metrics {
        let _ = task.await;
    }
    drop(pid_file);
    info!("stopped");
    Ok(())
}

/// Binds `[metrics] listen` (a taken port stops the start, as a bad config
/// does) and serves scrapes until `stop`. The address stays for the life
/// of the process: a reload that changes it is told so in the log.
fn start_metrics(
    config: &Arc<Config>,
    configs: watch::Receiver<Arc<Config>>,
    clock: &Arc<dyn Clock>,
    stop: watch::Receiver<bool>,
) -> Result<Option<tokio::task::JoinHandle<()>>, DaemonError> {
    let Some(addr) = config.metrics.listen else {
        return Ok(None);
    };
    let bound = std::net::TcpListener::bind(addr)
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .and_then(tokio::net::TcpListener::from_std)
        .map_err(|source| DaemonError::Metrics { addr, source })?;
    let store = crate::store::Store::open(&config.service.database)?;
    let store = Arc::new(std::sync::Mutex::new(store));
    Ok(Some(tokio::spawn(metrics::serve(
        bound,
        configs,
        store,
        clock.clone(),
        stop,
    ))))
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
pub(crate) fn remote(
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
    // An OAuth credential is not checked here: a missing or revoked grant
    // is the source's failure (it backs off), never the daemon's.
    match &server.password {
        Secret::File(_) => server.password.read().map(drop).map_err(fail)?,
        Secret::Env(_) if read_env => server.password.read().map(drop).map_err(fail)?,
        _ => {}
    }
    let conn =
        Connector::new(server, &format!("source[{index}].ca_file")).map_err(|e| match e {
            NetError::Setup(d) => fail(d),
            other => fail(other.to_string()),
        })?;
    Ok(Some(conn))
}
