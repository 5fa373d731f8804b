//! The token file of one `[[oauth]]` credential, `oauth-NAME.json` beside
//! the database: the access token and its expiry, the refresh token (a
//! provider's rotated one replaces it at once), and what `postdesk oauth
//! status` shows. Mode 0600, replaced atomically (temporary file, fsync,
//! rename, fsync of the directory), so a crash never leaves half a token.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// What is kept. Times are Unix seconds. Its Debug never shows a token.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TokenFile {
    pub access_token: Option<String>,
    pub issued_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub refresh_token: Option<String>,
    /// When the refresh grant ends, where the provider says.
    pub refresh_expires_at: Option<i64>,
    /// The account the grant is for, where known (the device login's user
    /// is not; `user` of a service account is).
    pub account: Option<String>,
    pub last_refresh: Option<i64>,
    /// When the provider last refused the refresh token (revoked,
    /// expired); cleared by a new sign-in.
    pub grant_refused_at: Option<i64>,
    /// The last failure, already free of secrets; cleared by a success.
    pub last_error: Option<String>,
    pub last_error_at: Option<i64>,
}

impl std::fmt::Debug for TokenFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenFile")
            .field("access_token", &self.access_token.is_some())
            .field("expires_at", &self.expires_at)
            .field("refresh_token", &self.refresh_token.is_some())
            .field("last_error", &self.last_error)
            .finish_non_exhaustive()
    }
}

/// Holds the token file for one read-modify-write, across processes (the
/// daemon renewing, `postdesk oauth login` storing): an exclusive lock on
/// `oauth-NAME.lock` beside it, released when the returned file is dropped.
pub fn lock(path: &Path) -> std::io::Result<std::fs::File> {
    let f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path.with_extension("lock"))?;
    f.lock()?;
    Ok(f)
}

/// `Ok(None)`: no file yet.
pub fn load(path: &Path) -> std::io::Result<Option<TokenFile>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("not a token file (line {} column {})", e.line(), e.column()),
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

pub fn save(path: &Path, file: &TokenFile) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("oauth");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let body = serde_json::to_vec_pretty(file).map_err(std::io::Error::other)?;
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(&body)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn saves_private_and_reads_back() {
        let dir = std::env::temp_dir().join(format!("postdesk-oauth-store-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("oauth-x.json");
        assert_eq!(load(&path).unwrap(), None);
        let mut t = TokenFile {
            access_token: Some("A".into()),
            refresh_token: Some("R1".into()),
            expires_at: Some(10),
            ..TokenFile::default()
        };
        save(&path, &t).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        t.refresh_token = Some("R2".into());
        save(&path, &t).unwrap();
        assert_eq!(load(&path).unwrap(), Some(t.clone()));
        // No temporary file is left beside it.
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        // The lock excludes a second holder until the first lets go.
        let held = lock(&path).unwrap();
        let other = std::fs::File::open(path.with_extension("lock")).unwrap();
        assert!(other.try_lock().is_err());
        drop(held);
        assert!(other.try_lock().is_ok());
        std::fs::remove_file(path.with_extension("lock")).unwrap();
        assert!(!format!("{t:?}").contains("R2"));
        std::fs::write(&path, "{oops").unwrap();
        assert!(
            load(&path)
                .unwrap_err()
                .to_string()
                .contains("not a token file")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
