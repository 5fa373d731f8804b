//! store: the one owner of the database. Every SQL statement of postdesk
//! lives in this module or in `sql/` migrations.
//!
//! SQLite (bundled) is the embedded backend. The rest of the crate sees only
//! `Store` and `Tx` methods that speak domain types, so a PostgreSQL backend
//! can come later without touching the stages.
//!
//! A store opened from a path remembers which file it opened (device and
//! inode) and checks before every commit that the path still names that
//! file: SQLite goes on writing into a file that was deleted or replaced
//! under it, and a commit there would be acknowledged — a receipt sent, the
//! source copy removed — and lost when the process ends.

mod accounts;
mod announce;
mod digest;
mod health;
mod keys;
mod knowledge;
mod lifecycle;
mod messages;
mod outbox;
mod proof;
mod quarantine;
pub mod search;
pub mod shared;
mod staff;
mod tickets;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior};

pub use accounts::{
    Account, AccountBrief, AccountEvent, RuleRow, SenderEntry, SenderSource, Verification,
};
pub use announce::{AnnounceRecipient, AnnounceSchedule};
pub use digest::ExpiredHold;
pub use health::{
    DeskFigures, HeldFigure, LATENCY_BUCKETS_US, LatencyBucket, OutboxFigures, SourceHealth,
};
pub use keys::LearnedKey;
pub use knowledge::{
    KnowledgeEntry, KnowledgeKind, Lesson, SuggestQuery, Suggestion, Waiting, WaitingMail,
};
pub use lifecycle::{DueCursor, Timers};
pub use messages::{NewMessage, StoredMessage};
pub use outbox::{OutboxEntry, OutboxState, QueuedMail, SentMail};
pub use proof::{NewProofRequest, ProofRequest};
pub use quarantine::{Held, QuarantineEntry};
pub use staff::{Failing, MessageRole};
pub use tickets::{
    EventKind, HistoryEntry, HistoryEvent, HistoryKind, HistoryMessage, NewTicket, Ticket,
    TicketFilter,
};

/// Migrations, in order; `user_version` holds how many have been applied.
const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_init", include_str!("../../sql/0001_init.sql")),
    (
        "0002_lifecycle",
        include_str!("../../sql/0002_lifecycle.sql"),
    ),
    ("0003_accounts", include_str!("../../sql/0003_accounts.sql")),
    ("0004_staff", include_str!("../../sql/0004_staff.sql")),
    (
        "0005_confirm_attempts",
        include_str!("../../sql/0005_confirm_attempts.sql"),
    ),
    ("0006_history", include_str!("../../sql/0006_history.sql")),
    (
        "0007_message_ids",
        include_str!("../../sql/0007_message_ids.sql"),
    ),
    ("0008_proof", include_str!("../../sql/0008_proof.sql")),
    ("0009_queues", include_str!("../../sql/0009_queues.sql")),
    (
        "0010_knowledge",
        include_str!("../../sql/0010_knowledge.sql"),
    ),
    ("0011_openpgp", include_str!("../../sql/0011_openpgp.sql")),
    (
        "0012_source_health",
        include_str!("../../sql/0012_source_health.sql"),
    ),
    ("0013_announce", include_str!("../../sql/0013_announce.sql")),
    (
        "0014_knowledge_terms",
        include_str!("../../sql/0014_knowledge_terms.sql"),
    ),
    (
        "0015_sender_keys",
        include_str!("../../sql/0015_sender_keys.sql"),
    ),
    (
        "0016_expired_holds",
        include_str!("../../sql/0016_expired_holds.sql"),
    ),
    (
        "0017_notify_pending",
        include_str!("../../sql/0017_notify_pending.sql"),
    ),
    (
        "0018_intake_latency",
        include_str!("../../sql/0018_intake_latency.sql"),
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open database {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("cannot create the database directory {path}: {source}")]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "database schema version {found} is newer than this postdesk knows ({known}); refusing to touch it"
    )]
    TooNew { found: i64, known: i64 },
    #[error("migration {name} failed: {source}")]
    Migration {
        name: &'static str,
        source: rusqlite::Error,
    },
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The path no longer names the file this store opened: nothing may be
    /// committed (it would be lost); the process should stop and be
    /// started again on the database that is there now.
    #[error(
        "the database {path} is not the file opened at start any more ({why}); nothing was committed"
    )]
    Replaced { path: PathBuf, why: String },
}

impl StoreError {
    /// Locked or busy databases and I/O trouble pass; the MTA should retry.
    pub fn is_transient(&self) -> bool {
        use rusqlite::ErrorCode::*;
        let code = match self {
            StoreError::Open { source, .. } | StoreError::Sql(source) => source.sqlite_error_code(),
            StoreError::Dir { .. } | StoreError::Replaced { .. } => return true,
            _ => None,
        };
        matches!(
            code,
            Some(
                DatabaseBusy
                    | DatabaseLocked
                    | CannotOpen
                    | DiskFull
                    | SystemIoFailure
                    | OutOfMemory
            )
        )
    }
}

fn secret_from_hex(s: &str) -> Option<[u8; 32]> {
    hex::decode(s).ok()?.try_into().ok()
}

impl StoreError {
    /// The database itself is in trouble (gone, busy, full, unreadable),
    /// not one message's row: trying the messages of a batch one by one
    /// would fail the same way, so intake gives up and the source keeps them.
    pub fn is_database_fault(&self) -> bool {
        use rusqlite::ErrorCode::*;
        match self {
            StoreError::Sql(source) => matches!(
                source.sqlite_error_code(),
                Some(
                    DatabaseBusy
                        | DatabaseLocked
                        | CannotOpen
                        | DiskFull
                        | SystemIoFailure
                        | OutOfMemory
                        | ReadOnly
                        | DatabaseCorrupt
                        | NotADatabase
                        | PermissionDenied
                        | FileLockingProtocolFailed
                        | NoLargeFileSupport
                        | OperationInterrupted
                        | SchemaChanged
                )
            ),
            StoreError::Corrupt(_) => false,
            _ => true,
        }
    }

    /// The database file was removed or replaced under this process.
    pub fn is_replaced(&self) -> bool {
        matches!(self, StoreError::Replaced { .. })
    }
}

/// The largest message the store keeps whole. SQLite refuses a value or a
/// row over 1,000,000,000 bytes (SQLITE_MAX_LENGTH), and a message row holds
/// the raw bytes and up to three decoded copies of its text; intake cuts
/// anything larger, whatever `intake.max_message_size` says.
pub const MAX_MESSAGE_BYTES: u64 = 200 << 20;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A connection to the database. Each task of the daemon opens its own:
/// SQLite in WAL mode lets readers run beside the one writer.
pub struct Store {
    conn: Connection,
    /// The file opened (None in memory), checked before each commit.
    file: Option<FileIdentity>,
}

/// Which file a path named when the store opened it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileIdentity {
    path: PathBuf,
    dev: u64,
    ino: u64,
}

impl FileIdentity {
    fn of(path: &Path) -> std::io::Result<FileIdentity> {
        let meta = std::fs::metadata(path)?;
        Ok(FileIdentity {
            path: path.to_path_buf(),
            dev: meta.dev(),
            ino: meta.ino(),
        })
    }

    /// Ok while the path still names the same file.
    fn check(&self) -> Result<()> {
        let why = match FileIdentity::of(&self.path) {
            Ok(now) if now == *self => return Ok(()),
            Ok(_) => "another file is there now".to_string(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => "it was removed".to_string(),
            Err(e) => format!("it cannot be checked: {e}"),
        };
        Err(StoreError::Replaced {
            path: self.path.clone(),
            why,
        })
    }
}

/// An open write transaction. Everything a stage changes for one batch of
/// messages goes through one `Tx`, so it commits or vanishes as a whole.
pub struct Tx<'a> {
    tx: rusqlite::Transaction<'a>,
}

impl Store {
    /// Opens (creating if needed) and migrates the database.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Dir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        // Absolute, so a later change of directory checks the same path.
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let file = FileIdentity::of(&absolute).map_err(|e| StoreError::Replaced {
            path: absolute.clone(),
            why: match e.kind() {
                std::io::ErrorKind::NotFound => "it was removed".to_string(),
                _ => format!("it cannot be checked after opening: {e}"),
            },
        })?;
        let mut store = Store::setup(conn).map_err(|e| match file.check() {
            // Removed while it was being set up: that is the cause.
            Err(replaced) => replaced,
            Ok(()) => match e {
                StoreError::Sql(source) => StoreError::Open {
                    path: path.to_path_buf(),
                    source,
                },
                other => other,
            },
        })?;
        store.file = Some(file);
        Ok(store)
    }

    /// A private in-memory database, for tests.
    pub fn open_in_memory() -> Result<Store> {
        Store::setup(Connection::open_in_memory()?)
    }

    fn setup(conn: Connection) -> Result<Store> {
        // WAL: readers never block the writer. synchronous=FULL: a commit is
        // on disk before we delete a message from its source (invariant 1);
        // intake batches commits so the fsync cost is shared.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // 16 MB of page cache (SQLite's default is 2 MB): the account and
        // sender indexes identify reads for every message stay in memory.
        conn.pragma_update(None, "cache_size", -16_384)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.set_prepared_statement_cache_capacity(256);
        let mut store = Store { conn, file: None };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&mut self) -> Result<()> {
        let known = MIGRATIONS.len() as i64;
        let found: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        if found > known {
            return Err(StoreError::TooNew { found, known });
        }
        for (i, (name, sql)) in MIGRATIONS.iter().enumerate().skip(found as usize) {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Exclusive)?;
            // Another process may have migrated while we waited for the lock.
            let now: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
            if now > i as i64 {
                continue;
            }
            tx.execute_batch(sql)
                .and_then(|_| tx.pragma_update(None, "user_version", (i + 1) as i64))
                .map_err(|source| StoreError::Migration { name, source })?;
            tx.commit()?;
        }
        Ok(())
    }

    /// The desk's secret for Message-IDs (see `msgid`), made at random the
    /// first time: a database created anew is a new desk, whose mail never
    /// shares a Message-ID with the old one's.
    pub fn desk_secret(&mut self) -> Result<[u8; 32]> {
        const KEY: &str = "desk_secret";
        self.write(|tx| {
            let found: Option<String> = tx
                .tx
                .query_row("SELECT value FROM settings WHERE key = ?1", [KEY], |r| {
                    r.get(0)
                })
                .optional()?;
            if let Some(secret) = found.as_deref().and_then(secret_from_hex) {
                return Ok(secret);
            }
            if found.is_some() {
                return Err(StoreError::Corrupt(
                    "the desk secret in the settings table is not 64 hex digits".into(),
                ));
            }
            let fresh = crate::domain::msgid::MessageIds::random_secret().map_err(|e| {
                StoreError::Corrupt(format!("no random bytes for the desk secret: {e}"))
            })?;
            tx.tx.execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2)",
                rusqlite::params![KEY, hex::encode(fresh)],
            )?;
            Ok(fresh)
        })
    }

    pub fn schema_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    /// Runs `f` in one write transaction; commits when it returns Ok.
    pub fn write<T, E>(&mut self, f: impl FnOnce(&mut Tx<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        // Checked before, too: a file replaced under the connection can make
        // its statements fail in odd ways (another database's tables seen
        // through the shared WAL index); the real cause is said instead.
        let check = |file: &Option<FileIdentity>| match file {
            Some(file) => file.check(),
            None => Ok(()),
        };
        check(&self.file)?;
        // A file removed between the check and the statement fails in
        // SQLite's words (SQLITE_READONLY_DBMOVED, an I/O error): the
        // identity is checked again, so the real cause is said.
        let file = &self.file;
        let failed = |e: rusqlite::Error| match check(file) {
            Err(replaced) => replaced,
            Ok(()) => StoreError::from(e),
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(failed)?;
        let mut tx = Tx { tx };
        let value = match f(&mut tx) {
            Ok(value) => value,
            Err(e) => {
                check(file)?;
                return Err(e);
            }
        };
        // Dropping `tx` on this error rolls everything back.
        check(file)?;
        tx.tx.commit().map_err(failed)?;
        Ok(value)
    }

    /// [`Store::write`] whose commit survives a crash of this process but
    /// not of the machine (WAL with `synchronous = NORMAL`: no fsync). For
    /// records that are safe to lose in a power cut: that a mail was sent
    /// (lost, the mail goes again — a duplicate, never a loss), unlike a
    /// message taken in before its source lets go of it (invariant 1),
    /// which always syncs.
    pub fn write_relaxed<T, E>(
        &mut self,
        f: impl FnOnce(&mut Tx<'_>) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        self.conn
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(StoreError::from)?;
        let out = self.write(f);
        // Back to syncing before anything else may write.
        self.conn
            .pragma_update(None, "synchronous", "FULL")
            .map_err(StoreError::from)?;
        out
    }

    /// Read access; reads see one consistent snapshot per statement.
    pub fn read(&self) -> Reader<'_> {
        Reader { conn: &self.conn }
    }
}

/// Read-only queries, usable on a `Store` or inside a `Tx`.
pub struct Reader<'a> {
    conn: &'a Connection,
}

impl Reader<'_> {
    /// Runs `f` and counts the SQLite virtual-machine steps its statements
    /// took: work measured apart from the machine's speed and load, so a
    /// test can tell a cost that grows with the data from one that stays
    /// flat (DESIGN.md invariant 10). Nothing else uses the progress
    /// handler; it is removed before this returns.
    pub fn count_steps<T>(&self, f: impl FnOnce(&Self) -> T) -> (T, u64) {
        let steps = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = std::sync::Arc::clone(&steps);
        self.conn.progress_handler(
            1,
            Some(move || {
                counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                false
            }),
        );
        let out = f(self);
        self.conn.progress_handler(0, None::<fn() -> bool>);
        (out, steps.load(std::sync::atomic::Ordering::Relaxed))
    }
}

impl<'a> Tx<'a> {
    pub fn read(&self) -> Reader<'_> {
        Reader { conn: &self.tx }
    }

    /// Runs `f` so that it happens as a whole or not at all: when it returns
    /// an error (a refusal of the caller's, or a store error), every change
    /// it made is undone (an SQL savepoint) and the transaction goes on. A
    /// staff mail's commands apply this way, all or nothing, inside the
    /// batch's transaction.
    pub fn all_or_nothing<T, E: From<StoreError>>(
        &mut self,
        f: impl FnOnce(&mut Tx<'a>) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        self.tx
            .execute_batch("SAVEPOINT all_or_nothing")
            .map_err(StoreError::from)?;
        let outcome = f(self);
        let end = match &outcome {
            Ok(_) => "RELEASE all_or_nothing",
            Err(_) => "ROLLBACK TO all_or_nothing; RELEASE all_or_nothing",
        };
        self.tx.execute_batch(end).map_err(StoreError::from)?;
        outcome
    }

    /// Runs one statement from the connection's statement cache: intake
    /// runs the same few statements thousands of times a minute.
    fn exec(&self, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize> {
        self.tx.prepare_cached(sql)?.execute(params)
    }
}

pub(crate) fn ts(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

pub(crate) fn from_ts(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).single().unwrap_or_default()
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

fn from_json<T: serde::de::DeserializeOwned + Default>(s: &str) -> T {
    serde_json::from_str(s).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_once_and_records_the_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/p.db");
        let s = Store::open(&path).unwrap();
        assert_eq!(s.schema_version().unwrap(), MIGRATIONS.len() as i64);
        drop(s);
        // Re-opening must not re-run the migration (it would fail on CREATE TABLE).
        let s = Store::open(&path).unwrap();
        assert_eq!(s.schema_version().unwrap(), MIGRATIONS.len() as i64);
    }

    /// What `all_or_nothing` undoes when its closure says no, and what it
    /// keeps when it says yes, inside one transaction.
    #[test]
    fn all_or_nothing_undoes_a_refused_part_and_keeps_the_rest() {
        let mut s = Store::open_in_memory().unwrap();
        let count = |tx: &Tx<'_>| -> i64 {
            tx.tx
                .query_row("SELECT count(*) FROM settings", [], |r| r.get(0))
                .unwrap()
        };
        s.write(|tx| {
            tx.set_setting("before", "1")?;
            let refused = tx.all_or_nothing(|tx| {
                tx.set_setting("inside", "1")?;
                Err::<(), _>(StoreError::Corrupt("no".into()))
            });
            assert!(matches!(refused, Err(StoreError::Corrupt(why)) if why == "no"));
            assert_eq!(count(tx), 1, "the refused part is undone");
            let kept = tx.all_or_nothing(|tx| {
                tx.set_setting("kept", "1")?;
                Ok::<_, StoreError>(7)
            })?;
            assert_eq!(kept, 7);
            Ok::<_, StoreError>(())
        })
        .unwrap();
        let keys: Vec<String> = ["before", "inside", "kept"]
            .into_iter()
            .filter(|k| s.read().setting(k).unwrap().is_some())
            .map(String::from)
            .collect();
        assert_eq!(keys, ["before", "kept"]);
    }

    /// The file removed, or replaced by another, under an open store: the
    /// next commit is refused and nothing of it lands anywhere.
    #[test]
    fn a_commit_into_a_removed_or_replaced_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.db");
        let mut s = Store::open(&path).unwrap();
        s.write(|tx| tx.set_setting("k", "1")).unwrap();

        std::fs::rename(&path, dir.path().join("moved.db")).unwrap();
        drop(Store::open(&path).unwrap());
        let err = s.write(|tx| tx.set_setting("k", "2")).unwrap_err();
        assert!(
            err.is_replaced() && err.is_transient() && err.is_database_fault(),
            "{err}"
        );
        assert!(
            err.to_string().contains("another file is there now"),
            "{err}"
        );
        assert_eq!(
            Store::open(&path).unwrap().read().setting("k").unwrap(),
            None
        );

        std::fs::remove_file(&path).unwrap();
        let err = s.write(|tx| tx.set_setting("k", "3")).unwrap_err();
        assert!(err.to_string().contains("it was removed"), "{err}");
    }

    #[test]
    fn refuses_a_database_from_the_future() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.db");
        drop(Store::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 999).unwrap();
        drop(conn);
        match Store::open(&path) {
            Err(StoreError::TooNew { found: 999, .. }) => {}
            Err(e) => panic!("wrong error: {e}"),
            Ok(_) => panic!("opened a future schema"),
        }
    }
}
