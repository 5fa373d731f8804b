//! `postdesk check-config`: checks what a start would check and prints the
//! effective settings. Every problem comes in one run, each as
//! `FILE:LINE: KEY: MESSAGE`: those of the file itself (from the loader),
//! the password files and variables and CA files it names (checked even
//! when the rest of the file has errors), then the templates, the
//! OpenPGP keys, the transport and the CA certificates of a config that loads.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

use super::{Failure, Outcome, exit};
use crate::config::{self, Config, ConfigError, Named, NamedKind, SourceKind};
use crate::intake::Pipeline;
use crate::outbox::deliver::Transport;
use crate::source::net::Connector;

/// One problem: its key, its line when known, what is wrong.
struct Found {
    key: String,
    line: Option<usize>,
    message: String,
}

/// `path`: the config file, or None for the embedded default.
/// `no_secrets`: no password is read (a config written for another machine;
/// the shipped example); CA files are still checked.
pub(super) fn check_config(path: Option<PathBuf>, no_secrets: bool) -> Outcome {
    let mut found = Vec::new();
    let (config, file, text) = match &path {
        None => (
            Some(Arc::new(Config::embedded_default())),
            String::new(),
            None,
        ),
        Some(p) => {
            let file = p.display().to_string();
            let text = std::fs::read_to_string(p)
                .map_err(|e| Failure::new(exit::CONFIG, format!("{file}: cannot read: {e}")))?;
            let config = match Config::load(p) {
                Ok(c) => Some(Arc::new(c)),
                Err(e) => {
                    found.extend(e.problems.into_iter().map(|p| Found {
                        key: p.key,
                        line: p.line,
                        message: p.message,
                    }));
                    None
                }
            };
            for named in config::named_files(&text, &config::base_dir(p)) {
                if let Some(message) = check_named(&named, no_secrets) {
                    found.push(Found {
                        key: named.key,
                        line: Some(named.line),
                        message,
                    });
                }
            }
            (config, file, Some(text))
        }
    };
    if let Some(config) = &config {
        let reported: HashSet<String> = found.iter().map(|f| f.key.clone()).collect();
        let line = |key: &str| text.as_deref().and_then(|t| ConfigError::line_of(t, key));
        for (key, message) in loaded_problems(config, no_secrets, &reported) {
            found.push(Found {
                line: line(&key),
                key,
                message,
            });
        }
    }
    // In file order, as the loader reports; problems without a line last.
    found.sort_by_key(|f| f.line.unwrap_or(usize::MAX));
    let file = if file.is_empty() {
        "embedded default".to_string()
    } else {
        file
    };
    let lines: Vec<String> = found
        .iter()
        .map(|f| config::show_problem(&file, &f.key, f.line, &f.message))
        .collect();
    if let Some((last, rest)) = lines.split_last() {
        for p in rest {
            eprintln!("postdesk: {p}");
        }
        return Err(Failure::new(exit::CONFIG, last.clone()));
    }
    let config = config.expect("a config without problems loaded");
    for line in config.advice() {
        eprintln!("postdesk: note: {line}");
    }
    print!("{}", config.to_toml());
    Ok(exit::OK)
}

/// What is wrong with one named file or variable, if anything.
fn check_named(named: &Named, no_secrets: bool) -> Option<String> {
    match &named.what {
        NamedKind::Password(path) if !no_secrets => match std::fs::read_to_string(path) {
            Err(e) => Some(format!("cannot read {}: {e}", path.display())),
            Ok(t) if t.trim_end_matches(['\r', '\n']).is_empty() => {
                Some(format!("{} is empty", path.display()))
            }
            Ok(_) => None,
        },
        NamedKind::PasswordEnv(name) if !no_secrets => match std::env::var(name) {
            Err(std::env::VarError::NotPresent) => Some(format!(
                "the variable {name} is not set here (the daemon's environment under systemd comes from Environment= or EnvironmentFile=)"
            )),
            Err(e) => Some(format!("the variable {name}: {e}")),
            Ok(v) if v.is_empty() => Some(format!("the variable {name} is empty")),
            Ok(_) => None,
        },
        NamedKind::Ca(path) => std::fs::File::open(path)
            .err()
            .map(|e| format!("cannot read {}: {e}", path.display())),
        NamedKind::Templates(dir) => match std::fs::read_dir(dir) {
            Err(e) => Some(format!(
                "cannot read the template folder {}: {e}",
                dir.display()
            )),
            Ok(_) => None,
        },
        NamedKind::Password(_) | NamedKind::PasswordEnv(_) => None,
    }
}

/// The checks that need the typed config: templates, the transport, the
/// CA certificates' content. Keys already reported (a missing file) are
/// not reported again.
fn loaded_problems(
    config: &Arc<Config>,
    no_secrets: bool,
    reported: &HashSet<String>,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if !reported.contains("service.templates")
        && let Err(e) = Pipeline::check(config)
    {
        out.push(("service.templates".to_string(), e.to_string()));
    }
    // A queue's own folders (those it inherits were checked just above).
    for (i, queue) in config.queues.iter().enumerate() {
        let key = format!("queue[{i}].templates");
        if queue.templates != config.service.templates
            && !reported.contains(&key)
            && let Err(e) = crate::outbox::template::Templates::load(&queue.templates)
        {
            out.push((key, e.to_string()));
        }
    }
    // The OpenPGP keys are secrets too: unlocked only when secrets are read.
    if !no_secrets && let Err(e) = crate::intake::load_keys(config) {
        out.push(("openpgp".to_string(), e.to_string()));
    }
    // Certificates are public: always checked.
    if let Err(e) = crate::intake::load_smime(config) {
        out.push(("smime".to_string(), e.to_string()));
    }
    if !no_secrets
        && !reported.contains("transport.password_file")
        && let Err(e) = Transport::from_config(&config.transport)
    {
        out.push(("transport".to_string(), e.to_string()));
    }
    for (i, source) in config.sources.iter().enumerate() {
        let server = match &source.kind {
            SourceKind::Maildir { .. } => continue,
            SourceKind::Pop3 { server, .. } | SourceKind::Imap { server, .. } => server,
        };
        let key = format!("source[{i}].ca_file");
        if reported.contains(&key) {
            continue;
        }
        if let Err(e) = Connector::new(server, &key) {
            // The message names the key and file itself.
            let message = e.to_string();
            let message = message
                .strip_prefix(&format!("{key} "))
                .unwrap_or(&message)
                .to_string();
            out.push((key, message));
        }
    }
    out
}
