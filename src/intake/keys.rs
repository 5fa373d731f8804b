//! Reads the `[openpgp]` key files at start (the edge: the screen and the
//! outbox get the keys as values, never a path).

use std::path::{Path, PathBuf};

use crate::config::OpenPgp;
use crate::screen::openpgp::{KeyError, Keyring};

#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("cannot read {key} {path}: {source}")]
    Read {
        key: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("openpgp: {0}")]
    Key(#[from] KeyError),
}

fn read(key: &'static str, path: &Path) -> Result<String, KeyFileError> {
    std::fs::read_to_string(path).map_err(|source| KeyFileError::Read {
        key,
        path: path.to_path_buf(),
        source,
    })
}

/// The keyring `[openpgp]` names; None when it names no key at all.
pub fn load(c: &OpenPgp) -> Result<Option<Keyring>, KeyFileError> {
    if c.secret_key_file.is_none() && c.staff_key_file.is_none() && c.public_keys.is_empty() {
        return Ok(None);
    }
    let mut secrets = Vec::new();
    if let Some(p) = &c.secret_key_file {
        secrets.push((
            format!("secret_key_file {}", p.display()),
            read("openpgp.secret_key_file", p)?,
        ));
    }
    for p in &c.extra_secret_keys {
        secrets.push((
            format!("extra_secret_keys {}", p.display()),
            read("openpgp.extra_secret_keys", p)?,
        ));
    }
    let passphrase = match &c.passphrase_file {
        Some(p) => read("openpgp.passphrase_file", p)?
            .lines()
            .next()
            .unwrap_or_default()
            .to_string(),
        None => String::new(),
    };
    let staff = match &c.staff_key_file {
        Some(p) => Some((
            format!("staff_key_file {}", p.display()),
            read("openpgp.staff_key_file", p)?,
        )),
        None => None,
    };
    let mut public = Vec::new();
    for p in &c.public_keys {
        public.push((
            format!("public_keys {}", p.display()),
            read("openpgp.public_keys", p)?,
        ));
    }
    Ok(Some(Keyring::from_armored(
        &secrets,
        &passphrase,
        staff,
        &public,
    )?))
}
