//! A Maildir as a source: the daemon's local inbox (`new/`), or an archive
//! imported with `ingest --maildir` (`new/` and `cur/`).
//!
//! Files are removed only after the batch that holds them has committed;
//! a crash in between leaves files whose source ids (the file's unique
//! name and its content hash) the store already knows, so the next pass
//! removes them without a second ticket — while a new message written
//! under a name used before is taken. Each file is read through
//! [`Capped`], and a batch ends at `batch_size` files or `batch_bytes`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tracing::warn;

use crate::intake::{Fetched, Pipeline, Taken};
use crate::source::Sink;
use crate::source::capped::Capped;
use crate::store::shared::with_store;
use crate::store::{Store, StoreError};

pub struct Maildir {
    /// The source name recorded with each message's source id.
    pub name: String,
    pub dir: PathBuf,
}

/// How a drain treats the files it took.
#[derive(Debug, Clone, Copy)]
pub struct DrainOptions {
    /// Also take `cur/` (an archive), not only `new/` (an inbox).
    pub include_cur: bool,
    /// Remove each file once its batch has committed.
    pub remove: bool,
    pub batch_size: usize,
    /// A batch also ends once it holds this many bytes.
    pub batch_bytes: u64,
}

/// Totals of one drain.
#[derive(Debug, Default, Clone)]
pub struct Drained {
    pub files: usize,
    pub taken: Vec<Taken>,
    /// Files that could not be read (left in place, logged).
    pub unreadable_files: usize,
}

impl Drained {
    /// Whether the drain changed anything (took or removed a file): if
    /// not, what is left is waiting for a reason, not for another look.
    pub fn progressed(&self) -> bool {
        self.taken.iter().any(Taken::is_stored)
    }
}

impl Maildir {
    pub fn new(name: impl Into<String>, dir: impl Into<PathBuf>) -> Maildir {
        Maildir {
            name: name.into(),
            dir: dir.into(),
        }
    }

    /// Creates `tmp/`, `new/` and `cur/` if missing, so an MTA or an operator
    /// can drop mail in from the first start on.
    pub fn create_dirs(&self) -> std::io::Result<()> {
        for sub in ["tmp", "new", "cur"] {
            std::fs::create_dir_all(self.dir.join(sub))?;
        }
        Ok(())
    }

    /// The files waiting, oldest name first (Maildir names start with a time).
    pub fn pending(&self, include_cur: bool) -> std::io::Result<Vec<PathBuf>> {
        let mut files = Vec::new();
        let subs: &[&str] = if include_cur {
            &["new", "cur"]
        } else {
            &["new"]
        };
        for sub in subs {
            let dir = self.dir.join(sub);
            let entries = match std::fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && *sub == "cur" => continue,
                Err(e) => return Err(e),
            };
            for entry in entries {
                let entry = entry?;
                let name = entry.file_name();
                if name.to_string_lossy().starts_with('.') || !entry.file_type()?.is_file() {
                    continue;
                }
                files.push(entry.path());
            }
        }
        files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
        Ok(files)
    }

    /// Takes the pending files through the pipeline, `batch_size` per
    /// transaction; `progress` hears how many files are done, and `stop`
    /// is asked between batches (a shutdown waits for one commit at most).
    pub fn drain(
        &self,
        pipeline: &Pipeline,
        store: &mut Store,
        now: impl Fn() -> DateTime<Utc>,
        opts: DrainOptions,
        mut progress: impl FnMut(usize, usize),
        stop: impl Fn() -> bool,
    ) -> Result<Drained, DrainError> {
        let files = self
            .pending(opts.include_cur)
            .map_err(|source| DrainError::List {
                dir: self.dir.clone(),
                source,
            })?;
        let mut out = Drained {
            files: files.len(),
            ..Drained::default()
        };
        let limits = pipeline.read_limits();
        let mut next = 0;
        while next < files.len() {
            // One batch: files until the count or the bytes are reached.
            let mut batch: Vec<Fetched> = Vec::new();
            let mut paths = Vec::new();
            let mut held = 0u64;
            while next < files.len() && batch.len() < opts.batch_size.max(1) {
                let path = &files[next];
                // What the file will hold in memory, known before reading it.
                let expect = std::fs::metadata(path).map_or(0, |m| limits.held(m.len()));
                if !batch.is_empty() && held.saturating_add(expect) > opts.batch_bytes {
                    break;
                }
                next += 1;
                match self.read(path, limits) {
                    Ok(fetched) => {
                        held += fetched.mail.raw.len() as u64;
                        batch.push(fetched);
                        paths.push(path);
                    }
                    // Taken by someone else between listing and reading.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        warn!(source = %self.name, file = %path.display(), error = %e, "cannot read mail file; left in place");
                        out.unreadable_files += 1;
                    }
                }
            }
            let taken = pipeline.take(store, &batch, now())?;
            drop(batch);
            // Committed: now, and only now, the source copies may go.
            if opts.remove {
                for (path, t) in paths.iter().zip(&taken) {
                    if !t.is_stored() {
                        continue;
                    }
                    if let Err(e) = std::fs::remove_file(path)
                        && e.kind() != std::io::ErrorKind::NotFound
                    {
                        warn!(source = %self.name, file = %path.display(), error = %e, "stored, but cannot remove the file; it will be recognised next time");
                    }
                }
            }
            out.taken.extend(taken);
            progress(next, files.len());
            if stop() {
                break;
            }
        }
        Ok(out)
    }

    /// One file, read within the limits, with its source id.
    fn read(&self, path: &Path, limits: crate::intake::ReadLimits) -> std::io::Result<Fetched> {
        let file = std::fs::File::open(path)?;
        let read = Capped::read_all(file, limits)?;
        Ok(read.finish(self.name.clone(), Some(source_id(path))))
    }
}

/// A Maildir file's unique name, without the `:2,FLAGS` info part that
/// changes when a client marks it read.
pub fn source_id(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match name.split_once(':') {
        Some((unique, _)) => unique.to_string(),
        None => name,
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DrainError {
    #[error("cannot list Maildir {dir}: {source}")]
    List {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl DrainError {
    pub fn is_transient(&self) -> bool {
        match self {
            DrainError::List { .. } => true,
            DrainError::Store(e) => e.is_transient(),
        }
    }
}

/// After a database error the watch waits this long before it tries again.
const ERROR_PAUSE: Duration = Duration::from_secs(5);

/// The daemon's loop for a Maildir source: drains `new/` into intake, then
/// waits `poll` (or not at all while mail keeps coming) until `shutdown`.
/// Ends with the store's error only when the database file was replaced
/// under it: nothing committed there would last, so the daemon stops.
pub async fn run(
    maildir: Maildir,
    poll: Duration,
    sink: Sink,
    batch_bytes: u64,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), StoreError> {
    let maildir = Arc::new(maildir);
    // Health is written when it says something new (first round, mail
    // taken, recovered), not at every poll of a local directory.
    let mut recorded_ok = false;
    loop {
        if *shutdown.borrow() {
            return Ok(());
        }
        let (m, p, c) = (maildir.clone(), sink.pipeline.clone(), sink.clock.clone());
        let stopping = shutdown.clone();
        let opts = DrainOptions {
            include_cur: false,
            remove: true,
            batch_size: sink.batch_size,
            batch_bytes,
        };
        let result = with_store(&sink.store, move |s| {
            m.drain(&p, s, || c.now(), opts, |_, _| {}, || *stopping.borrow())
        })
        .await;
        let pause = match result {
            Ok(d) => {
                if d.taken
                    .iter()
                    .any(|t| matches!(t, Taken::Applied(o) if o.queued_mail()))
                {
                    sink.queued.notify_one();
                }
                // More may have arrived while we worked: look again at once
                // (not for files left in place because they cannot be read
                // or stored).
                if !recorded_ok || !d.taken.is_empty() {
                    sink.healthy().await;
                    recorded_ok = true;
                }
                if d.progressed() { Duration::ZERO } else { poll }
            }
            Err(DrainError::Store(e)) if e.is_replaced() => return Err(e),
            Err(e) => {
                warn!(source = %maildir.name, error = %e, "intake failed; the mail stays in the Maildir");
                sink.unhealthy(e.to_string(), ERROR_PAUSE).await;
                recorded_ok = false;
                ERROR_PAUSE
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = shutdown.changed() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_id_drops_the_flags() {
        assert_eq!(
            source_id(Path::new("/m/cur/1700.M1P2.host:2,S")),
            "1700.M1P2.host"
        );
        assert_eq!(
            source_id(Path::new("/m/new/1700.M1P2.host")),
            "1700.M1P2.host"
        );
    }
}
