//! A generation: the running set of tasks built from one config — one task
//! per source, one outbox sender and the inactivity sweep on its cron
//! schedule, each with its own database connection. A reload prepares the
//! next generation beside the running one and swaps them only when it is
//! ready (see [`super`]).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tracing::{error, info, warn};

use super::{DaemonError, Fatal, remote};
use crate::config::{Config, SourceKind};
use crate::domain::clock::Clock;
use crate::intake::Pipeline;
use crate::outbox::deliver::Transport;
use crate::outbox::{self, RetryPolicy};
use crate::source::maildir::{self, Maildir};
use crate::source::net::Connector;
use crate::source::{Backoff, Sink, SourceError, imap, pop3};
use crate::store::Store;
use crate::store::shared::{SharedStore, with_store};

/// The sender also looks at the queue this often, for mail queued by other
/// processes (`postdesk ingest` from the MTA).
const OUTBOX_POLL: Duration = Duration::from_secs(5);
/// The desk's health goes to the log this often.
const HEALTH_LOG: Duration = Duration::from_secs(3600);
/// After a database error a task waits this long before it tries again.
const ERROR_PAUSE: Duration = Duration::from_secs(5);
/// A mail server that failed is tried again after 1 s, 2 s, 4 s … 5 min.
const BACKOFF_INITIAL: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(300);
/// After the stop signal a source may finish the message or batch in hand
/// for this long; then it is abandoned (what it had not committed stays on
/// the server, what it had committed is recognised next time).
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Everything one config needs, checked and opened, not yet running.
pub(super) struct Prepared {
    config: Arc<Config>,
    clock: Arc<dyn Clock>,
    pipeline: Pipeline,
    transport: Arc<Transport>,
    sender_store: SharedStore,
    sweep_store: SharedStore,
    knowledge_store: SharedStore,
    health_store: SharedStore,
    sources: Vec<(crate::config::Source, Option<Connector>, SharedStore)>,
}

/// A running set of tasks and the switch that stops them.
pub(super) struct Generation {
    pub(super) config: Arc<Config>,
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl Generation {
    pub(super) fn prepare(
        config: Arc<Config>,
        clock: &Arc<dyn Clock>,
    ) -> Result<Prepared, DaemonError> {
        let transport = Arc::new(Transport::from_config(&config.transport)?);
        let db = &config.service.database;
        // Open once here so a bad database stops the start, not a task later.
        let mut first = Store::open(db)?;
        let mut pipeline = Pipeline::new(config.clone(), first.desk_secret()?)?;
        pipeline
            .learn_prefixes(&mut first, clock.now())
            .map_err(|e| match e {
                crate::intake::PrefixError::Store(e) => DaemonError::Store(e),
                crate::intake::PrefixError::Templates(e) => DaemonError::Templates(e),
            })?;
        let sender_store: SharedStore = Arc::new(Mutex::new(first));
        let sweep_store: SharedStore = Arc::new(Mutex::new(Store::open(db)?));
        let health_store: SharedStore = Arc::new(Mutex::new(Store::open(db)?));
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
        // The knowledge base as the folder is now (a reload re-reads it).
        reindex_knowledge(&mut accounts_store, &config, clock.now());
        let knowledge_store: SharedStore = Arc::new(Mutex::new(accounts_store));
        Ok(Prepared {
            config,
            clock: clock.clone(),
            knowledge_store,
            pipeline,
            transport,
            sender_store,
            sweep_store,
            health_store,
            sources,
        })
    }

    pub(super) async fn stop(mut self) {
        let _ = self.stop.send(true);
        while let Some(done) = self.tasks.join_next().await {
            if let Err(e) = done {
                error!(error = %e, "a task ended abnormally");
            }
        }
    }
}

impl Prepared {
    pub(super) fn start(self, fatal: Fatal) -> Generation {
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
                let watching = maildir::run(
                    Maildir::new(source.name.clone(), path.clone()),
                    *poll,
                    sink,
                    config.intake.batch_bytes,
                    stopped.clone(),
                );
                let fatal = fatal.clone();
                tasks.spawn(async move {
                    if let Err(e) = watching.await {
                        let _ = fatal.send(e);
                    }
                });
            }
        }
        tasks.spawn(super::schedule::scheduled(
            self.pipeline.clone(),
            self.sweep_store,
            self.clock.clone(),
            queued.clone(),
            stopped.clone(),
        ));
        tasks.spawn(index_search(
            self.pipeline.clone(),
            self.knowledge_store.clone(),
            self.clock.clone(),
            queued.clone(),
            stopped.clone(),
        ));
        if config.knowledge.path.is_some() || config.knowledge.learn_from_closed {
            tasks.spawn(watch_knowledge(
                config.clone(),
                self.knowledge_store,
                self.clock.clone(),
                stopped.clone(),
            ));
        }
        tasks.spawn(log_health(
            config.clone(),
            self.health_store,
            self.clock.clone(),
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
        sink.unhealthy(error.to_string(), wait).await;
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

/// Logs the desk's health every hour (what `postdesk status` prints, in
/// one line, and each alarm as a warning), so a journal alone shows a
/// mailbox that has been failing for a while.
async fn log_health(
    config: Arc<Config>,
    store: SharedStore,
    clock: Arc<dyn Clock>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(HEALTH_LOG) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let now = clock.now();
        let figures = match with_store(&store, move |s| s.read().desk_figures(now)).await {
            Ok(f) => f,
            Err(e) => {
                warn!(error = %e, "cannot read the desk's health");
                continue;
            }
        };
        let h = super::health::assess(&config, figures, now);
        let failing = h
            .sources
            .iter()
            .filter(|s| s.health.failing_since.is_some())
            .count();
        info!(
            healthy = h.healthy,
            sources = h.sources.len(),
            failing,
            queued = h.figures.outbox.queued,
            failed_last_day = h.figures.outbox.failed_last_day,
            held = h.figures.held.iter().map(|x| x.count).sum::<i64>(),
            "desk status"
        );
        for alarm in &h.alarms {
            warn!(alarm = %alarm, "desk status: needs an operator");
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

/// How often the knowledge base folder is looked at for changes (names,
/// sizes, modification times), and closed tickets for lessons.
const KNOWLEDGE_POLL: Duration = Duration::from_secs(5);

/// Reads the knowledge base into the store; a problem is logged, never
/// fatal (suggestions are a help, not the desk's job).
fn reindex_knowledge(store: &mut Store, config: &Config, now: chrono::DateTime<chrono::Utc>) {
    let k = &config.knowledge;
    if k.path.is_none() && !k.learn_from_closed {
        return;
    }
    match crate::ticket::knowledge::reindex(store, k, now) {
        Ok(done) => {
            if done.changed + done.removed + done.learnt > 0 {
                info!(
                    articles = done.articles,
                    changed = done.changed,
                    removed = done.removed,
                    learnt = done.learnt,
                    "knowledge base indexed"
                );
            }
            for p in done.problems {
                warn!("knowledge base: skipped {p}");
            }
        }
        Err(e) => warn!(error = %e, "knowledge base not indexed"),
    }
}

/// What the folder looks like: changes when a file is added, removed or
/// written.
fn folder_signature(
    dir: &std::path::Path,
) -> Vec<(std::ffi::OsString, u64, Option<std::time::SystemTime>)> {
    let mut sig: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let m = e.metadata().ok()?;
            Some((e.file_name(), m.len(), m.modified().ok()))
        })
        .collect();
    sig.sort();
    sig
}

/// Reindexes when the folder changes, and learns from newly closed
/// tickets, until stopped. Crash-safe: what was not indexed is found again
/// at the next start.
async fn watch_knowledge(
    config: Arc<Config>,
    store: SharedStore,
    clock: Arc<dyn Clock>,
    mut shutdown: watch::Receiver<bool>,
) {
    let dir = config.knowledge.path.clone();
    let mut seen = dir.as_deref().map(folder_signature);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(KNOWLEDGE_POLL) => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
        let now = dir.as_deref().map(folder_signature);
        if now == seen {
            if config.knowledge.learn_from_closed {
                match with_store(&store, crate::ticket::knowledge::learn).await {
                    Ok(0) => {}
                    Ok(n) => info!(learnt = n, "knowledge base: closed tickets learnt from"),
                    Err(e) => warn!(error = %e, "knowledge base: cannot learn from closed tickets"),
                }
            }
            continue;
        }
        seen = now;
        let config = config.clone();
        let at = clock.now();
        with_store(&store, move |s| reindex_knowledge(s, &config, at)).await;
    }
}

/// How often the indexer looks for what intake left it: a new ticket's
/// staff notification waits at most about this long for its suggestions.
const INDEX_POLL: Duration = Duration::from_secs(1);
/// New-ticket notifications completed per round (each in its own
/// transaction), so a backlog after a long stop does not hold the store.
const NOTICES_PER_ROUND: usize = 100;

/// The indexer: sends the new tickets' staff notifications that wait for
/// their suggestions (see `ticket::suggested`), then indexes the
/// messages intake noted as not yet in the search index — at start all
/// that a crash, an import or `postdesk ingest` left, then every
/// [`INDEX_POLL`], until stopped.
async fn index_search(
    pipeline: crate::intake::Pipeline,
    store: SharedStore,
    clock: Arc<dyn Clock>,
    queued: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        if *shutdown.borrow() {
            return;
        }
        let p = pipeline.clone();
        let now = clock.now();
        let done = with_store(&store, move |s| {
            crate::ticket::relay::complete_waiting(s, &p.settings(), now, NOTICES_PER_ROUND)
        })
        .await;
        let more = match done {
            Ok(0) => false,
            Ok(n) => {
                tracing::debug!(
                    tickets = n,
                    "new-ticket notifications sent with suggestions"
                );
                queued.notify_one();
                n == NOTICES_PER_ROUND
            }
            Err(e) => {
                warn!(error = %e, "cannot send the new tickets' staff notifications");
                false
            }
        };
        match with_store(&store, |s| s.index_all_pending()).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(messages = n, "search index caught up"),
            Err(e) => warn!(error = %e, "search index: cannot index new messages"),
        }
        if more {
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(INDEX_POLL) => {}
            _ = shutdown.changed() => {}
        }
    }
}
