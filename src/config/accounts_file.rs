//! A file of `[[account]]` tables: `accounts_file` in the config, and `postdesk account import`.
//! Each account is read and checked as in the config; ids must be unique in the file. Parents
//! are not checked here: they may live elsewhere.

use std::collections::HashMap;
use std::path::Path;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::{ConfigError, Loader};
use crate::domain::AccountSpec;

/// Reads an accounts file; each account comes with its key path (`account[3]`).
pub fn read_accounts_file(path: &Path) -> Result<Vec<(String, AccountSpec)>, ConfigError> {
    let file = path.display().to_string();
    let text =
        std::fs::read_to_string(path).map_err(|e| ConfigError::unreadable(file.clone(), e))?;
    accounts_from_toml(&text, &file)
}

/// [`read_accounts_file`] on text; `origin` names it in messages.
pub fn accounts_from_toml(
    text: &str,
    origin: &str,
) -> Result<Vec<(String, AccountSpec)>, ConfigError> {
    let (doc, syntax) = DeTable::parse_recoverable(text);
    let doc = Spanned::new(doc.span(), DeValue::Table(doc.into_inner()));
    let mut l = Loader {
        text,
        doc: &doc,
        base_dir: Path::new(""),
        problems: Vec::new(),
        dropped: Vec::new(),
    };
    if !l.syntax(syntax, false) {
        return Err(l.into_error(origin));
    }
    let mut read = Vec::new();
    if let Some(top) = doc.get_ref().as_table() {
        for (key, value) in top.iter() {
            match key.get_ref().as_ref() {
                "account" => read = l.read_accounts(value),
                other => l.at(
                    other,
                    Some(key.span()),
                    "unknown key: an accounts file holds [[account]] tables only",
                ),
            }
        }
    }
    let mut out: Vec<(String, AccountSpec)> = Vec::new();
    // Thousands of accounts: ids are checked through a map, not pairwise.
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (key, a) in read {
        let Some(a) = l.account(&key, a) else {
            continue;
        };
        let lower = a.id.as_str().to_ascii_lowercase();
        if let Some(&first) = seen.get(&lower) {
            let msg = format!("\"{}\" is already the id of {}", a.id, out[first].0);
            l.fail(&format!("{key}.id"), msg);
        } else {
            seen.insert(lower, out.len());
        }
        out.push((key, a));
    }
    if l.problems.is_empty() {
        Ok(out)
    } else {
        Err(l.into_error(origin))
    }
}
