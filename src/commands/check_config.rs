//! `postdesk check-config`: checks what a start would check and prints the
//! effective settings.

use std::sync::Arc;

use super::{Failure, Outcome, exit};
use crate::config::{Config, SourceKind};
use crate::intake::Pipeline;
use crate::outbox::deliver::Transport;
use crate::source::net::Connector;

/// Every problem a start would meet is reported in one run: the
/// templates, the OpenPGP keys, the transport, and each source's password and CA file
/// (`no_secrets`: no password is read).
pub(super) fn check_config(config: &Arc<Config>, no_secrets: bool) -> Outcome {
    let mut problems = Vec::new();
    if let Err(e) = Pipeline::check(config) {
        problems.push(e.to_string());
    }
    // The OpenPGP keys are secrets too: unlocked only when secrets are read.
    if !no_secrets && let Err(e) = crate::intake::load_keys(&config.openpgp) {
        problems.push(e.to_string());
    }
    if !no_secrets && let Err(e) = Transport::from_config(&config.transport) {
        problems.push(format!("transport: {e}"));
    }
    for (i, source) in config.sources.iter().enumerate() {
        let server = match &source.kind {
            SourceKind::Maildir { .. } => continue,
            SourceKind::Pop3 { server, .. } | SourceKind::Imap { server, .. } => server,
        };
        if !no_secrets && let Err(e) = server.password.read() {
            problems.push(format!("source {}: {e}", source.name));
        }
        if let Err(e) = Connector::new(server, &format!("source[{i}].ca_file")) {
            problems.push(format!("source {}: {e}", source.name));
        }
    }
    if let Some((last, rest)) = problems.split_last() {
        for p in rest {
            eprintln!("postdesk: {p}");
        }
        return Err(Failure::new(exit::CONFIG, last.clone()));
    }
    for line in config.advice() {
        eprintln!("postdesk: note: {line}");
    }
    print!("{}", config.to_toml());
    Ok(exit::OK)
}
