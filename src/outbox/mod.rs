//! outbox: the durable queue between a ticket change and the world.
//!
//! `apply` queues mail in the transaction of the change that caused it; the
//! sender here claims due rows with a lease, hands their fixed bytes to the
//! transport, and records the outcome with exponential backoff up to the
//! configured limit, one commit per mail. A crash mid-send means the lease
//! runs out (or is taken back) and the one mail in flight goes again with
//! the same bytes (same Message-ID): at least once, never lost, and never
//! more than one mail sent twice per crash.

pub mod announce;
pub mod compose;
pub mod deliver;
pub mod gate;
pub mod seal;
mod smtp_oauth;
pub mod template;

use chrono::Duration;
use tracing::{info, warn};

use crate::domain::Address;
use crate::domain::clock::Clock;
use crate::store::shared::{SharedStore, with_store};
use crate::store::{EventKind, HistoryEvent, OutboxEntry, Store, StoreError, Tx};
use deliver::{Envelope, Transport};

/// How long a claimed mail is ours before another sender may retry it; far
/// longer than any transport timeout.
const LEASE: Duration = Duration::minutes(10);
/// Mails claimed per round trip to the database.
const CLAIM_BATCH: usize = 32;

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub initial: Duration,
    pub max: Duration,
}

impl RetryPolicy {
    pub fn from_config(c: &crate::config::Outbox) -> RetryPolicy {
        let d = |s: std::time::Duration| Duration::from_std(s).unwrap_or(Duration::days(1));
        RetryPolicy {
            max_attempts: c.max_attempts,
            initial: d(c.retry_initial),
            max: d(c.retry_max),
        }
    }

    /// The delay after the `attempts`-th failure: `initial * 2^(n-1)`, capped.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let factor = 1i32 << attempts.saturating_sub(1).min(30);
        self.initial
            .checked_mul(factor)
            .map_or(self.max, |d| d.min(self.max))
    }
}

/// What one delivery round did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Round {
    pub sent: usize,
    pub retrying: usize,
    pub failed: usize,
}

/// Delivers every mail due now, in batches, until none is due or `stop()`
/// says so (checked between batches, so a shutdown waits for one batch).
pub async fn deliver_due(
    store: &SharedStore,
    transport: &Transport,
    clock: &dyn Clock,
    policy: &RetryPolicy,
    stop: impl Fn() -> bool,
) -> Result<Round, StoreError> {
    let mut round = Round::default();
    let now = clock.now();
    with_store(store, move |s| recover_abandoned(s, now)).await?;
    loop {
        let now = clock.now();
        let batch = with_store(store, move |s| {
            s.write(|tx| tx.claim_due_mail(now, now + LEASE, &SENDER_ID, CLAIM_BATCH))
        })
        .await?;
        if batch.is_empty() {
            return Ok(round);
        }
        // Each outcome is recorded (committed) before the next mail goes:
        // a crash re-sends at most the one mail in flight, with the same
        // bytes. The rest of a claimed batch is only leased, and a dead
        // sender's leases are taken back (see `recover_abandoned`). The
        // record needs no fsync: only a power cut can undo it, and then a
        // few mails go twice.
        for mail in batch {
            let outcome = send_one(transport, &mail).await;
            let now = clock.now();
            let policy = policy.clone();
            let recorded = with_store(store, move |s| {
                s.write_relaxed(|tx| record(tx, &mail, outcome, now, &policy))
            })
            .await?;
            match recorded {
                Recorded::Sent => round.sent += 1,
                Recorded::Retry => round.retrying += 1,
                Recorded::Failed => round.failed += 1,
            }
        }
        if stop() {
            return Ok(round);
        }
    }
}

/// This sender's name on the leases it takes: host and process id.
static SENDER_ID: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("{}/{}", host_name(), std::process::id()));

/// The host name from uname(2): the hardened unit (`ProcSubset=pid`) hides
/// /proc/sys, and the daemon and `postdesk ingest` must name the host alike.
fn host_name() -> String {
    let uname = rustix::system::uname();
    let name = uname.nodename().to_string_lossy();
    if name.is_empty() {
        "localhost".into()
    } else {
        name.into_owned()
    }
}

/// Leases held by a sender process of this host that no longer exists
/// (killed, crashed) go back to the queue at once instead of waiting for
/// the lease to run out. Leases of other hosts are left to expire.
fn recover_abandoned(
    store: &mut Store,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), StoreError> {
    let here = host_name();
    let dead: Vec<String> = store
        .read()
        .claim_owners()?
        .into_iter()
        .filter(|owner| match owner.rsplit_once('/') {
            Some((host, pid)) => host == here && *owner != *SENDER_ID && process_gone(pid),
            None => false,
        })
        .collect();
    if dead.is_empty() {
        return Ok(());
    }
    store.write(|tx| {
        for owner in &dead {
            let n = tx.release_claims(owner, now)?;
            info!(owner = %owner, mails = n, "took back mail claimed by a sender that is gone");
        }
        Ok(())
    })
}

/// Whether process `pid` of this host no longer exists. Asked with
/// kill(2) and signal 0, not by looking for /proc/PID: under the hardened
/// unit (ProtectProc=invisible with PrivateUsers=yes) the daemon does not
/// see an `ingest` of its own user started outside the unit (by the MTA)
/// in /proc, and would take back the mail that live process is sending.
/// Only "no such process" is gone; a process it may not signal exists.
fn process_gone(pid: &str) -> bool {
    // Parsed unsigned: Pid::from_raw wants a positive number.
    let raw = pid.parse::<u32>().ok().and_then(|p| i32::try_from(p).ok());
    let Some(pid) = raw.and_then(rustix::process::Pid::from_raw) else {
        return true;
    };
    rustix::process::test_kill_process(pid) == Err(rustix::io::Errno::SRCH)
}

async fn send_one(transport: &Transport, mail: &OutboxEntry) -> Result<(), deliver::DeliverError> {
    let env = Envelope {
        from: Address::parse(&mail.mail_from).ok(),
        to: mail
            .rcpt
            .iter()
            .filter_map(|a| Address::parse(a).ok())
            .collect(),
    };
    let key = format!("{}-{}", mail.id, mail.message_id);
    transport.send(&env, &mail.raw, &key).await
}

enum Recorded {
    Sent,
    Retry,
    Failed,
}

fn record(
    tx: &mut Tx<'_>,
    mail: &OutboxEntry,
    outcome: Result<(), deliver::DeliverError>,
    now: chrono::DateTime<chrono::Utc>,
    policy: &RetryPolicy,
) -> Result<Recorded, StoreError> {
    let to = mail.rcpt.join(", ");
    match outcome {
        Ok(()) => {
            tx.mark_sent(mail.id, now)?;
            info!(outbox = mail.id, message_id = %mail.message_id, %to, kind = %mail.kind, "mail sent");
            Ok(Recorded::Sent)
        }
        Err(e) if e.is_transient() && mail.attempts < policy.max_attempts => {
            let at = now + policy.backoff(mail.attempts);
            tx.mark_attempt_failed(mail.id, &e.to_string(), Some(at))?;
            warn!(outbox = mail.id, %to, attempt = mail.attempts, retry_at = %at, error = %e, "delivery failed, will retry");
            Ok(Recorded::Retry)
        }
        Err(e) => {
            let why = if e.is_transient() {
                format!("gave up after {} attempts: {e}", mail.attempts)
            } else {
                e.to_string()
            };
            tx.mark_attempt_failed(mail.id, &why, None)?;
            if let Some(ticket) = mail.ticket {
                tx.add_event(
                    ticket,
                    &HistoryEvent {
                        at: now,
                        kind: EventKind::MailOut,
                        actor: "postdesk".into(),
                        detail: format!("{} to {to} could not be delivered: {why}", mail.kind),
                        message: None,
                        outbox: Some(mail.id),
                    },
                )?;
            }
            warn!(outbox = mail.id, %to, error = %why, "delivery failed for good");
            Ok(Recorded::Failed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A live process is not gone, whoever owns it (PID 1: the kernel's
    /// init, which an unprivileged test may not signal); a reaped child
    /// and a PID that cannot be are.
    #[test]
    fn a_sender_is_gone_only_when_no_such_process_exists() {
        assert!(!process_gone(&std::process::id().to_string()));
        assert!(!process_gone("1"));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id().to_string();
        child.wait().unwrap();
        assert!(process_gone(&pid));
        for bad in ["", "x", "-1", "0", "99999999999"] {
            assert!(process_gone(bad), "{bad}");
        }
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let m = Duration::minutes;
        let p = RetryPolicy {
            max_attempts: 5,
            initial: m(1),
            max: m(60),
        };
        assert_eq!(p.backoff(1), m(1));
        assert_eq!(p.backoff(2), m(2));
        assert_eq!(p.backoff(4), m(8));
        assert_eq!(p.backoff(7), m(60));
        assert_eq!(p.backoff(500), m(60));
    }
}
