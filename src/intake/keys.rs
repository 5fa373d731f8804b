//! Reads the key files at start — `[openpgp]`, `[smime]` and the accounts'
//! `openpgp_key` and `smime_cert` (the edge: the screen and the outbox get
//! the keys as values, never a path).

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::screen::openpgp::{KeyError, Keyring};
use crate::screen::smime::{CertError, SmimeTrust};

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
    #[error("smime: {0}")]
    Cert(#[from] CertError),
}

fn read(key: &'static str, path: &Path) -> Result<String, KeyFileError> {
    std::fs::read_to_string(path).map_err(|source| KeyFileError::Read {
        key,
        path: path.to_path_buf(),
        source,
    })
}

/// The keyring `[openpgp]` and the accounts' `openpgp_key` name; None
/// when they name no key at all.
pub fn load(config: &Config) -> Result<Option<Keyring>, KeyFileError> {
    let c = &config.openpgp;
    let account_keys: Vec<(String, &Path)> = config
        .accounts
        .iter()
        .filter_map(|a| {
            let p = a.openpgp_key.as_deref()?;
            Some((
                format!("openpgp_key {} of account {}", p.display(), a.id),
                p,
            ))
        })
        .collect();
    if c.secret_key_file.is_none()
        && c.staff_key_file.is_none()
        && c.public_keys.is_empty()
        && account_keys.is_empty()
    {
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
    // An account's key is the operator's word as public_keys is.
    for (what, p) in account_keys {
        public.push((what, read("account.openpgp_key", p)?));
    }
    Ok(Some(Keyring::from_armored(
        &secrets,
        &passphrase,
        staff,
        &public,
    )?))
}

/// The certificates `[smime] ca_file` and the accounts' `smime_cert` name.
pub fn load_smime(config: &Config) -> Result<SmimeTrust, KeyFileError> {
    let bytes = |key, p: &Path| {
        std::fs::read(p).map_err(|source| KeyFileError::Read {
            key,
            path: p.to_path_buf(),
            source,
        })
    };
    let mut cas = Vec::new();
    if let Some(p) = &config.smime.ca_file {
        cas.push((
            format!("ca_file {}", p.display()),
            bytes("smime.ca_file", p)?,
        ));
    }
    let mut pinned = Vec::new();
    for a in &config.accounts {
        if let Some(p) = &a.smime_cert {
            pinned.push((
                format!("smime_cert {} of account {}", p.display(), a.id),
                bytes("account.smime_cert", p)?,
            ));
        }
    }
    Ok(SmimeTrust::from_pem(&cas, &pinned)?)
}
