//! `postdesk oauth login NAME` (the device flow of a refresh_token
//! credential) and `postdesk oauth status` (each credential's token file,
//! never a token).

use super::cli::OauthCommand;
use super::{Failure, Outcome, exit};
use crate::config::{Config, Secret, SourceKind, Transport};
use crate::oauth::{Credential, OAuthError};

pub(super) fn oauth(config: &Config, cmd: OauthCommand) -> Outcome {
    match cmd {
        OauthCommand::Login { name } => login(config, &name),
        OauthCommand::Status => status(config),
    }
}

fn login(config: &Config, name: &str) -> Outcome {
    let Some(spec) = config.oauth.iter().find(|o| o.name == name) else {
        let known: Vec<&str> = config.oauth.iter().map(|o| o.name.as_str()).collect();
        let known = if known.is_empty() {
            "the config has no [[oauth]] table".to_string()
        } else {
            format!("the [[oauth]] names are: {}", known.join(", "))
        };
        return Err(Failure::new(
            exit::USAGE,
            format!("no [[oauth]] named {name:?} ({known})"),
        ));
    };
    let mut out = std::io::stdout();
    Credential::new(spec).device_login(&mut out).map_err(|e| {
        let code = match e {
            OAuthError::Endpoint { .. } => exit::TEMPFAIL,
            OAuthError::TokenFile { .. } => exit::IOERR,
            _ => exit::UNAVAILABLE,
        };
        Failure::new(code, e.to_string())
    })?;
    Ok(exit::OK)
}

fn status(config: &Config) -> Outcome {
    if config.oauth.is_empty() {
        println!("no [[oauth]] credentials in {}", config.origin);
        return Ok(exit::OK);
    }
    for spec in &config.oauth {
        let mut status = Credential::new(spec).status();
        if status.account.is_none() {
            // No id_token and no `user`: the mailboxes it is configured to open.
            let logins = logins_of(config, &spec.name);
            if !logins.is_empty() {
                status.account = Some(format!("{} (as configured)", logins.join(", ")));
            }
        }
        for line in status.lines() {
            println!("{line}");
        }
        let users = users_of(config, &spec.name);
        if users.is_empty() {
            println!("  used by:        nothing (no source or transport names it)");
        } else {
            println!("  used by:        {}", users.join(", "));
        }
    }
    Ok(exit::OK)
}

/// The sources and the transport that sign in with the credential `name`,
/// with the mailbox each opens.
fn users_of(config: &Config, name: &str) -> Vec<String> {
    signers(config, name)
        .into_iter()
        .map(|(what, user)| format!("{what} ({user})"))
        .collect()
}

/// The login names the credential `name` is used with, sorted, once each.
fn logins_of(config: &Config, name: &str) -> Vec<String> {
    let mut out: Vec<String> = signers(config, name).into_iter().map(|(_, u)| u).collect();
    out.sort();
    out.dedup();
    out
}

/// (who, login name) of each source and the transport signing in with `name`.
fn signers(config: &Config, name: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for source in &config.sources {
        if let SourceKind::Pop3 { server, .. } | SourceKind::Imap { server, .. } = &source.kind
            && matches!(&server.password, Secret::OAuth(o) if o.0.name == name)
        {
            out.push((format!("source {}", source.name), server.user.clone()));
        }
    }
    if let Transport::Smtp(smtp) = &config.transport
        && smtp.oauth_login.as_ref().is_some_and(|o| o.0.name == name)
    {
        out.push((
            "transport".to_string(),
            smtp.user.clone().unwrap_or_default(),
        ));
    }
    out
}
