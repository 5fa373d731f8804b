//! `postdesk check-config`: checks what a start would check and prints the
//! effective settings.

use std::sync::Arc;

use super::{Failure, Outcome, exit};
use crate::config::Config;
use crate::intake::Pipeline;
use crate::outbox::deliver::Transport;

pub(super) fn check_config(config: &Arc<Config>) -> Outcome {
    Pipeline::check(config).map_err(|e| Failure::new(exit::CONFIG, e.to_string()))?;
    Transport::from_config(&config.transport)
        .map_err(|e| Failure::new(exit::CONFIG, format!("transport: {e}")))?;
    crate::daemon::check(config, false).map_err(|e| Failure::new(exit::CONFIG, e.to_string()))?;
    for line in config.advice() {
        eprintln!("postdesk: note: {line}");
    }
    print!("{}", config.to_toml());
    Ok(exit::OK)
}
