//! The shared handle: how an async task (a source, the outbox sender, the
//! sweep) holds its database connection and calls it without blocking the
//! runtime.

use std::sync::{Arc, Mutex};

use super::Store;

/// A store shared by the tasks of one process; SQLite calls run on the
/// blocking pool, never on the async workers.
pub type SharedStore = Arc<Mutex<Store>>;

/// Runs `f` on the store on the blocking pool; a panic in `f` goes on in
/// the caller.
pub async fn with_store<T: Send + 'static>(
    store: &SharedStore,
    f: impl FnOnce(&mut Store) -> T + Send + 'static,
) -> T {
    let store = store.clone();
    let run = move || {
        // A panic while holding the lock poisons it; the store itself is
        // still consistent (SQLite rolled the transaction back).
        let mut guard = store.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard)
    };
    match tokio::task::spawn_blocking(run).await {
        Ok(v) => v,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}
