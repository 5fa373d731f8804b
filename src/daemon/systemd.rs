//! systemd: tells systemd how the daemon is doing, per sd_notify(3): one
//! datagram of `KEY=VALUE` lines to the unix socket named by
//! `$NOTIFY_SOCKET` (a path, or `@name` in the abstract namespace).
//!
//! `READY=1` once every task runs, `RELOADING=1` with `MONOTONIC_USEC`
//! while the configuration is read again (Type=notify-reload semantics,
//! harmless for Type=notify), `STOPPING=1` at shutdown, and `WATCHDOG=1`
//! at half of `$WATCHDOG_USEC`. Without `$NOTIFY_SOCKET` every call does
//! nothing, so the daemon runs the same outside systemd.
//!
//! Our own rather than the sd-notify crate: that crate ends every state
//! with a newline (a watchdog ping is `WATCHDOG=1\n`, which the daemon
//! tests, pinning the datagrams, refuse), reads `$NOTIFY_SOCKET` at every
//! call, and cannot be pointed at a test socket without changing the
//! process environment.

use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

use tracing::debug;

/// The service manager (systemd) as the daemon reports to it.
pub struct ServiceManager {
    target: Option<(UnixDatagram, SocketAddr)>,
    watchdog: Option<Duration>,
}

impl ServiceManager {
    /// From the environment systemd sets for a Type=notify service.
    pub fn from_env() -> ServiceManager {
        let socket = std::env::var_os("NOTIFY_SOCKET");
        let usec = std::env::var("WATCHDOG_USEC").ok();
        let pid = std::env::var("WATCHDOG_PID").ok();
        ServiceManager::new(
            socket.as_deref().and_then(|s| s.to_str()),
            usec.as_deref(),
            pid.as_deref(),
            std::process::id(),
        )
    }

    /// `socket`, `watchdog_usec` and `watchdog_pid` as the variables say.
    pub fn new(
        socket: Option<&str>,
        watchdog_usec: Option<&str>,
        watchdog_pid: Option<&str>,
        own_pid: u32,
    ) -> ServiceManager {
        let target = socket.and_then(|s| match address(s) {
            Ok(addr) => match UnixDatagram::unbound() {
                Ok(sock) => Some((sock, addr)),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot create the systemd notification socket");
                    None
                }
            },
            Err(e) => {
                tracing::warn!(socket = s, error = %e, "NOTIFY_SOCKET is unusable; not notifying systemd");
                None
            }
        });
        ServiceManager {
            watchdog: target
                .as_ref()
                .and(watchdog_interval(watchdog_usec, watchdog_pid, own_pid)),
            target,
        }
    }

    pub fn enabled(&self) -> bool {
        self.target.is_some()
    }

    /// How often to send `WATCHDOG=1`: half of systemd's timeout.
    pub fn watchdog(&self) -> Option<Duration> {
        self.watchdog
    }

    /// Sends one datagram; failures are logged at debug and otherwise
    /// ignored (systemd may be restarting; the daemon's job goes on).
    pub fn send(&self, state: &str) {
        if let Some((sock, addr)) = &self.target
            && let Err(e) = sock.send_to_addr(state.as_bytes(), addr)
        {
            debug!(error = %e, state, "systemd notification not sent");
        }
    }

    pub fn ready(&self, status: &str) {
        self.send(&format!(
            "READY=1\nSTATUS={status}\nMAINPID={}",
            std::process::id()
        ));
    }

    pub fn reloading(&self) {
        self.send(&format!(
            "RELOADING=1\nMONOTONIC_USEC={}\nSTATUS=reloading the configuration",
            monotonic_usec()
        ));
    }

    pub fn stopping(&self) {
        self.send("STOPPING=1\nSTATUS=finishing the work in hand");
    }

    pub fn watchdog_ping(&self) {
        self.send("WATCHDOG=1");
    }
}

fn address(socket: &str) -> std::io::Result<SocketAddr> {
    if let Some(name) = socket.strip_prefix('@') {
        use std::os::linux::net::SocketAddrExt;
        SocketAddr::from_abstract_name(name.as_bytes())
    } else if socket.starts_with('/') {
        SocketAddr::from_pathname(socket)
    } else {
        Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "neither an absolute path nor @abstract",
        ))
    }
}

/// Half of `WATCHDOG_USEC`, when the watchdog is meant for this process.
fn watchdog_interval(usec: Option<&str>, pid: Option<&str>, own_pid: u32) -> Option<Duration> {
    if let Some(pid) = pid
        && pid.trim().parse::<u32>().ok() != Some(own_pid)
    {
        return None;
    }
    let usec: u64 = usec?.trim().parse().ok().filter(|&u| u > 0)?;
    Some(Duration::from_micros(usec / 2))
}

/// CLOCK_MONOTONIC in microseconds, the clock systemd compares
/// `MONOTONIC_USEC` with. Not wall time: clock.rs stays the only source
/// of "now" for the mail.
fn monotonic_usec() -> u64 {
    let ts = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    (ts.tv_sec as u64) * 1_000_000 + (ts.tv_nsec as u64) / 1_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watchdog_interval_is_half_and_only_for_us() {
        let cases = [
            (Some("2000000"), None, Some(Duration::from_secs(1))),
            (Some("2000000"), Some("42"), Some(Duration::from_secs(1))),
            (Some("2000000"), Some("43"), None),
            (Some("0"), None, None),
            (Some("x"), None, None),
            (None, Some("42"), None),
        ];
        for (usec, pid, want) in cases {
            assert_eq!(watchdog_interval(usec, pid, 42), want, "{usec:?} {pid:?}");
        }
    }

    #[test]
    fn notifications_reach_the_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let listener = UnixDatagram::bind(&path).unwrap();
        let n = ServiceManager::new(path.to_str(), Some("1000000"), None, 1);
        assert!(n.enabled());
        assert_eq!(n.watchdog(), Some(Duration::from_millis(500)));
        n.ready("up");
        n.reloading();
        n.stopping();
        let mut buf = [0u8; 512];
        let mut got = Vec::new();
        for _ in 0..3 {
            let len = listener.recv(&mut buf).unwrap();
            got.push(String::from_utf8_lossy(&buf[..len]).into_owned());
        }
        assert!(got[0].starts_with("READY=1\nSTATUS=up\n"), "{got:?}");
        let usec: u64 = got[1]
            .lines()
            .find_map(|l| l.strip_prefix("MONOTONIC_USEC="))
            .unwrap()
            .parse()
            .unwrap();
        assert!(got[1].starts_with("RELOADING=1\n") && usec > 0, "{got:?}");
        assert!(got[2].starts_with("STOPPING=1"), "{got:?}");
    }

    #[test]
    fn without_a_socket_nothing_happens() {
        let n = ServiceManager::new(None, Some("1000000"), None, 1);
        assert!(!n.enabled());
        assert_eq!(n.watchdog(), None);
        n.ready("x");
        let bad = ServiceManager::new(Some("relative/path"), None, None, 1);
        assert!(!bad.enabled());
    }
}
