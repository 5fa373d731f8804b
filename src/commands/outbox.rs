//! `postdesk outbox`: the outgoing mail queue — list, show, deliver now,
//! queue a failed mail again.

use std::io::Write;
use std::sync::{Arc, Mutex};

use super::cli::{self, OutboxCommand};
use super::{Failure, Outcome, exit, open_store, print_json, runtime};
use crate::config::Config;
use crate::domain::clock::{Clock, SystemClock};
use crate::outbox::RetryPolicy;
use crate::outbox::deliver::Transport;
use crate::store::OutboxState;

pub(super) fn outbox(config: &Arc<Config>, cmd: OutboxCommand) -> Outcome {
    let mut store = open_store(config)?;
    match cmd {
        OutboxCommand::List {
            status,
            limit,
            json,
        } => {
            let status = status.map(|s| match s {
                cli::OutboxStatus::Queued => OutboxState::Queued,
                cli::OutboxStatus::Sent => OutboxState::Sent,
                cli::OutboxStatus::Failed => OutboxState::Failed,
            });
            let rows = store.read().outbox(status, limit)?;
            if json {
                return print_json(&rows);
            }
            if rows.is_empty() {
                println!("outbox is empty");
            }
            for m in rows {
                let state = serde_json::to_value(m.status)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default();
                let ticket = m
                    .ticket
                    .map(|t| format!("#{t}"))
                    .unwrap_or_else(|| "-".into());
                // Sent mail shows when it went; the rest when it was queued.
                let at = config.calendar.format(m.sent.unwrap_or(m.created));
                println!(
                    "{:<6} {:<7} {at}  {:<8} {:<10} {}  {}",
                    m.id,
                    state,
                    ticket,
                    m.kind,
                    m.rcpt.join(","),
                    m.subject
                );
                if let Some(err) = &m.last_error {
                    println!(
                        "       attempts {}: {err}; next {}",
                        m.attempts,
                        config.calendar.format(m.next_attempt)
                    );
                }
            }
            Ok(exit::OK)
        }
        OutboxCommand::Show { id } => {
            let Some(m) = store.read().outbox_entry(id)? else {
                return Err(Failure::new(exit::DATAERR, format!("no outbox mail {id}")));
            };
            std::io::stdout()
                .write_all(&m.raw)
                .map_err(|e| Failure::new(exit::IOERR, e.to_string()))?;
            Ok(exit::OK)
        }
        OutboxCommand::Flush => {
            // New tickets' staff notifications that wait for their
            // suggestions go with this round (a desk run without the daemon).
            if !store.read().tickets_with_waiting_mail(1)?.is_empty() {
                let pipeline = super::pipeline(config, &mut store)?;
                let settings = pipeline.settings();
                let now = SystemClock.now();
                while crate::ticket::relay::complete_waiting(&mut store, &settings, now, 100)? > 0 {
                }
            }
            let transport = Transport::from_config(&config.transport)
                .map_err(|e| Failure::new(exit::CONFIG, e.to_string()))?;
            let store = Arc::new(Mutex::new(store));
            let policy = RetryPolicy::from_config(&config.outbox);
            let round = runtime()?.block_on(crate::outbox::deliver_due(
                &store,
                &transport,
                &SystemClock,
                &policy,
                || false,
            ))?;
            println!(
                "{} sent, {} to retry, {} failed",
                round.sent, round.retrying, round.failed
            );
            Ok(if round.retrying > 0 {
                exit::TEMPFAIL
            } else {
                exit::OK
            })
        }
        OutboxCommand::Retry { id } => {
            let now = SystemClock.now();
            if store.write(|tx| tx.requeue_mail(id, now))? {
                println!("mail {id} queued again");
                Ok(exit::OK)
            } else {
                Err(Failure::new(
                    exit::DATAERR,
                    format!("no failed outbox mail {id}"),
                ))
            }
        }
    }
}
