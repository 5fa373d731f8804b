//! `postdesk oauth login NAME` (the device flow of a refresh_token
//! credential) and `postdesk oauth status` (each credential's token file,
//! never a token).

use super::cli::OauthCommand;
use super::{Failure, Outcome, exit};
use crate::config::Config;
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
        for line in Credential::new(spec).status().lines() {
            println!("{line}");
        }
    }
    Ok(exit::OK)
}
