//! daemon: `postdesk run`. One task per source and one outbox sender, each
//! with its own database connection; all of them hear the shutdown signal,
//! finish the batch or mail in hand, and the daemon waits for them to drain.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tracing::{error, info, warn};

use crate::clock::Clock;
use crate::config::{Config, SourceKind};
use crate::intake::Pipeline;
use crate::outbox::deliver::{DeliverError, Transport};
use crate::outbox::{self, RetryPolicy, SharedStore, with_store};
use crate::source::maildir::{DrainOptions, Maildir};
use crate::store::{Store, StoreError};
use crate::template::TemplateError;

/// The sender also looks at the queue this often, for mail queued by other
/// processes (`postdesk ingest` from the MTA).
const OUTBOX_POLL: Duration = Duration::from_secs(5);
/// After a database error a task waits this long before it tries again.
const ERROR_PAUSE: Duration = Duration::from_secs(5);

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
}

/// Runs until `shutdown` turns true, then drains and returns.
pub async fn run(
    config: Arc<Config>,
    clock: Arc<dyn Clock>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), DaemonError> {
    let pipeline = Pipeline::new(config.clone())?;
    let transport = Arc::new(Transport::from_config(&config.transport)?);
    let db = &config.service.database;
    // Open once here so a bad database stops the start, not a task later.
    let mut store = Store::open(db)?;
    // The config's accounts are in the database before the first message.
    let synced = crate::accounts::sync_declared(&mut store, &config.accounts, clock.now())?;
    info!(
        accounts = config.accounts.len(),
        added = synced.added,
        updated = synced.updated,
        removed = synced.removed,
        "declared accounts applied"
    );
    let sender_store: SharedStore = Arc::new(Mutex::new(store));
    let queued = Arc::new(Notify::new());
    let mut tasks = JoinSet::new();

    for source in &config.sources {
        let SourceKind::Maildir { path, poll } = &source.kind;
        let maildir = Maildir::new(source.name.clone(), path.clone());
        maildir.create_dirs().map_err(|e| DaemonError::Maildir {
            dir: path.clone(),
            source: e,
        })?;
        let store: SharedStore = Arc::new(Mutex::new(Store::open(db)?));
        info!(source = %source.name, dir = %path.display(), "watching Maildir");
        tasks.spawn(watch_maildir(
            maildir,
            *poll,
            pipeline.clone(),
            store,
            clock.clone(),
            queued.clone(),
            config.intake.batch_size,
            shutdown.clone(),
        ));
    }
    info!(transport = %transport.describe(), "outbox sender ready");
    tasks.spawn(send_outbox(
        sender_store,
        transport,
        clock.clone(),
        RetryPolicy::from_config(&config.outbox),
        queued,
        shutdown.clone(),
    ));
    info!(config = %config.origin, "postdesk running");

    let _ = shutdown.wait_for(|stop| *stop).await;
    info!("shutting down: finishing the work in hand");
    while let Some(done) = tasks.join_next().await {
        if let Err(e) = done {
            error!(error = %e, "a task ended abnormally");
        }
    }
    info!("stopped");
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn watch_maildir(
    maildir: Maildir,
    poll: Duration,
    pipeline: Pipeline,
    store: SharedStore,
    clock: Arc<dyn Clock>,
    queued: Arc<Notify>,
    batch_size: usize,
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
                // (not for files left in place because they cannot be read).
                if d.taken.is_empty() {
                    poll
                } else {
                    Duration::ZERO
                }
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
