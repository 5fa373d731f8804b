//! Signals, both ways: the running daemon listens for SIGTERM/SIGINT
//! (stop) and SIGHUP (reload), and `postdesk reload` sends that SIGHUP.

use rustix::process::{Pid, Signal, kill_process};
use tokio::sync::{mpsc, watch};

/// SIGTERM/SIGINT stop the daemon (a second one too: the drain is bounded);
/// SIGHUP asks for a reload.
pub async fn listen(stop: watch::Sender<bool>, reload: mpsc::UnboundedSender<()>) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) else {
        // Without signal handlers the daemon can still be killed; run on.
        tracing::warn!("cannot install signal handlers");
        return;
    };
    loop {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM received"),
            _ = int.recv() => tracing::info!("SIGINT received"),
            _ = hup.recv() => {
                tracing::info!("SIGHUP received");
                let _ = reload.send(());
                continue;
            }
        }
        let _ = stop.send(true);
    }
}

/// Asks the daemon with process id `pid` to reload (SIGHUP); the caller
/// has made sure that `pid` is a postdesk process.
pub fn request_reload(pid: i32) -> std::io::Result<()> {
    let pid = Pid::from_raw(pid)
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a process id"))?;
    kill_process(pid, Signal::HUP).map_err(std::io::Error::from)
}
