//! source: where raw mail comes from. Each source hands over raw bytes with
//! a source id and removes a message only after intake has committed it.
//!
//! `maildir` and `mbox` are local; `pop3` and `imap` are mail servers,
//! reached through `net`. Each of `maildir`, `pop3` and `imap` has its
//! own `run` loop for the daemon; the loops share [`Sink`] (the way into
//! intake), and the remote ones [`SourceError`] (what makes the daemon
//! back off). All of
//! them read a message through [`capped::Capped`], so a message's size
//! never decides how much memory postdesk takes, and make batches bounded
//! in count (`intake.batch_size`) and bytes (`intake.batch_bytes`).

pub mod capped;
pub mod imap;
pub mod maildir;
pub mod mbox;
pub mod net;
pub mod pop3;

use std::collections::HashSet;
use std::sync::Arc;

use tokio::sync::Notify;

use crate::domain::clock::Clock;
use crate::intake::{Fetched, Pipeline, ReadLimits, Taken};
use crate::store::StoreError;
use crate::store::shared::{SharedStore, with_store};

pub use net::NetError;

/// Why a round with a mail server ended early. Every one of them is worth
/// another try later (the daemon backs off); none loses mail, because mail
/// leaves the server only after its commit.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Net(#[from] NetError),
    #[error("{server} refused the login as {user}: {detail}")]
    Login {
        server: String,
        user: String,
        detail: String,
    },
    #[error("{server}: {detail}")]
    Protocol { server: String, detail: String },
    #[error("{0}")]
    Password(String),
    #[error("database: {0}")]
    Store(#[from] StoreError),
    #[error(transparent)]
    OAuth(#[from] crate::oauth::OAuthError),
}

impl SourceError {
    /// A login refused: retrying at the normal pace would only lock the
    /// account, so the daemon waits longer.
    pub fn is_login(&self) -> bool {
        match self {
            SourceError::Login { .. } | SourceError::Password(_) => true,
            SourceError::OAuth(e) => !e.is_transient(),
            _ => false,
        }
    }
}

/// What one round with a server did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    /// Messages fetched and committed.
    pub taken: usize,
    /// Messages removed from the server (taken now or earlier).
    pub removed: usize,
}

/// The way from a source's daemon loop into intake: its name (recorded with each
/// source id), the pipeline and the task's own database connection.
#[derive(Clone)]
pub struct Sink {
    pub name: String,
    pub pipeline: Pipeline,
    pub store: SharedStore,
    pub clock: Arc<dyn Clock>,
    /// Woken when intake queued mail, so the sender does not wait its poll.
    pub queued: Arc<Notify>,
    pub batch_size: usize,
}

impl Sink {
    /// Which of `ids` this source has taken a message under before,
    /// whatever its content: for a source that leaves mail on the server
    /// and cannot fetch every message again only to recognise it.
    pub async fn seen(&self, ids: Vec<String>) -> Result<HashSet<String>, StoreError> {
        let name = self.name.clone();
        with_store(&self.store, move |s| {
            let read = s.read();
            let mut seen = HashSet::new();
            for id in ids {
                if read.source_id_seen(&name, &id)? {
                    seen.insert(id);
                }
            }
            Ok(seen)
        })
        .await
    }

    /// Commits a batch; the caller may then remove from the server every
    /// message whose [`Taken::is_stored`] says so.
    pub async fn take(&self, batch: Vec<Fetched>) -> Result<Vec<Taken>, StoreError> {
        let (pipeline, clock) = (self.pipeline.clone(), self.clock.clone());
        let taken = with_store(&self.store, move |s| pipeline.take(s, &batch, clock.now())).await?;
        if taken
            .iter()
            .any(|t| matches!(t, Taken::Applied(o) if o.queued_mail()))
        {
            self.queued.notify_one();
        }
        Ok(taken)
    }

    /// Records that the source finished a round (for `postdesk status`).
    /// A database error here is only logged: health is a report, and the
    /// next round writes it again.
    pub async fn healthy(&self) {
        let (name, at) = (self.name.clone(), self.clock.now());
        let done = with_store(&self.store, move |s| {
            s.write_relaxed(|tx| tx.source_ok(&name, at))
        })
        .await;
        if let Err(e) = done {
            tracing::warn!(source = %self.name, error = %e, "cannot record the source's health");
        }
    }

    /// Records that a round failed with `error`; the next try is in `wait`.
    pub async fn unhealthy(&self, error: String, wait: std::time::Duration) {
        let (name, at) = (self.name.clone(), self.clock.now());
        let next = at + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
        let done = with_store(&self.store, move |s| {
            s.write_relaxed(|tx| tx.source_failed(&name, at, &error, next))
        })
        .await;
        if let Err(e) = done {
            tracing::warn!(source = %self.name, error = %e, "cannot record the source's health");
        }
    }

    /// How much of a message to read and keep.
    pub fn limits(&self) -> ReadLimits {
        self.pipeline.read_limits()
    }

    /// Bytes one batch may hold (`intake.batch_bytes`).
    pub fn batch_bytes(&self) -> u64 {
        self.pipeline.config.intake.batch_bytes
    }

    /// A message read, as intake takes it.
    pub fn fetched(&self, source_id: String, read: capped::Capped) -> Fetched {
        read.finish(self.name.clone(), Some(source_id))
    }
}

/// Exponential backoff for a source whose server failed: each failure
/// doubles the wait up to `max`; a successful round starts over.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: std::time::Duration,
    max: std::time::Duration,
    next: std::time::Duration,
    failures: u32,
    /// A round has succeeded once: the first success is worth a line, so
    /// an operator sees the mailbox works without waiting for mail.
    connected: bool,
}

impl Backoff {
    pub fn new(initial: std::time::Duration, max: std::time::Duration) -> Backoff {
        Backoff {
            initial,
            max,
            next: initial,
            failures: 0,
            connected: false,
        }
    }

    /// Records a failure; returns how long to wait before the next try.
    pub fn failed(&mut self) -> std::time::Duration {
        let wait = self.next;
        self.next = self.next.saturating_mul(2).min(self.max);
        self.failures += 1;
        wait
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Records a successful round, and says so the first time and once
    /// after failures.
    pub fn succeeded(&mut self, source: &str) {
        if !self.connected {
            tracing::info!(source = %source, failures = self.failures, "connected and logged in");
        } else if self.failures > 0 {
            tracing::info!(source = %source, failures = self.failures, "connected again");
        }
        self.connected = true;
        self.failures = 0;
        self.next = self.initial;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn backoff_doubles_up_to_the_cap_and_starts_over_after_success() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(10));
        let waits: Vec<u64> = (0..6).map(|_| b.failed().as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 10, 10]);
        assert_eq!(b.failures(), 6);
        b.succeeded("s");
        assert_eq!((b.failed().as_secs(), b.failures()), (1, 1));
    }
}
