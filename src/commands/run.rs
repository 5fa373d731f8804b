//! `postdesk run` (the daemon, with its exit codes) and `postdesk reload`
//! (ask the running daemon to read its config again).

use std::path::PathBuf;
use std::sync::Arc;

use super::{Failure, Outcome, exit, runtime};
use crate::config::Config;
use crate::domain::clock::SystemClock;

pub(super) fn run(config: Arc<Config>, config_path: Option<PathBuf>) -> Outcome {
    let rt = runtime()?;
    rt.block_on(async move {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let (reload, reloads) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(crate::daemon::signals::listen(stop, reload));
        // A reload reads the same file again (or, without one, the
        // embedded default, which cannot change).
        let reload_config = Box::new(move || match &config_path {
            Some(path) => Config::load(path).map_err(|e| e.to_string()),
            None => Ok(Config::embedded_default()),
        });
        let control = crate::daemon::Control {
            shutdown: stopped,
            reload: reloads,
            reload_config,
        };
        let manager = crate::daemon::systemd::ServiceManager::from_env();
        crate::daemon::serve(config, Arc::new(SystemClock), control, &manager)
            .await
            .map_err(|e| {
                use crate::daemon::DaemonError as D;
                let code = match &e {
                    D::Templates(_)
                    | D::Keys(_)
                    | D::Transport(_)
                    | D::Source { .. }
                    | D::Metrics { .. } => exit::CONFIG,
                    D::Store(s) if s.is_transient() => exit::TEMPFAIL,
                    D::Store(_) => exit::SOFTWARE,
                    D::Maildir { .. } | D::Lock { .. } => exit::IOERR,
                    D::Locked { .. } => exit::TEMPFAIL,
                };
                Failure::new(code, e.to_string())
            })
    })?;
    Ok(exit::OK)
}

/// Checks the config as the daemon would, then sends SIGHUP to the daemon
/// named in the pid file beside the database.
pub(super) fn reload(config: &Arc<Config>) -> Outcome {
    crate::daemon::check(config, false).map_err(|e| Failure::new(exit::CONFIG, e.to_string()))?;
    let pid_file = crate::daemon::pid_path(&config.service.database);
    let not_running = |why: String| {
        Failure::new(
            exit::UNAVAILABLE,
            format!(
                "no running daemon found: {why} (config: {}; under systemd use `systemctl reload postdesk`)",
                config.origin
            ),
        )
    };
    let text = std::fs::read_to_string(&pid_file)
        .map_err(|e| not_running(format!("cannot read {}: {e}", pid_file.display())))?;
    let pid: i32 = text
        .trim()
        .parse()
        .ok()
        .filter(|&p| p > 1)
        .ok_or_else(|| not_running(format!("{} holds no process id", pid_file.display())))?;
    // A stale file may name a process id that was reused by another program.
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    if comm.trim() != "postdesk" {
        return Err(not_running(format!(
            "process {pid} from {} is not postdesk (stale pid file?)",
            pid_file.display()
        )));
    }
    if let Err(e) = crate::daemon::signals::request_reload(pid) {
        return Err(not_running(format!("cannot signal process {pid}: {e}")));
    }
    println!(
        "reload requested from postdesk process {pid}; its log says whether the new configuration was taken"
    );
    Ok(exit::OK)
}
