//! The pid file and the lock file beside the database.
//!
//! One daemon per database: `run` holds an exclusive lock (flock(2)) on
//! the lock file for its whole life, and a second one exits 75 naming the
//! holder from the pid file (which stays informational: the lock, not the
//! pid file, decides). `postdesk reload` finds the daemon through the pid
//! file.

use std::path::{Path, PathBuf};

use tracing::warn;

use super::DaemonError;

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
pub(super) struct DaemonLock {
    _file: std::fs::File,
}

impl DaemonLock {
    pub(super) fn acquire(database: &Path) -> Result<DaemonLock, DaemonError> {
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
pub(super) struct PidFile(Option<PathBuf>);

impl PidFile {
    pub(super) fn create(path: &Path) -> PidFile {
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
