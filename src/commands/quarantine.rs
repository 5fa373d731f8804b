//! `postdesk quarantine`: the mail held back (unreadable, or held by
//! policy) — list, show, release into a ticket, delete.

use std::io::Write;
use std::sync::Arc;

use super::cli::QuarantineCommand;
use super::ingest::print_summary;
use super::{Failure, Outcome, deliver_now, exit, open_store, pipeline, print_json, sync_accounts};
use crate::config::Config;
use crate::domain::HoldKind;
use crate::domain::clock::{Clock, SystemClock};
use crate::intake::Taken;

pub(super) fn quarantine(config: &Arc<Config>, cmd: QuarantineCommand) -> Outcome {
    let mut store = open_store(config)?;
    match cmd {
        QuarantineCommand::List { all, json } => {
            let rows = store.read().quarantined(all)?;
            if json {
                return print_json(&rows);
            }
            if rows.is_empty() {
                println!("quarantine is empty");
                return Ok(exit::OK);
            }
            for q in &rows {
                // `--all` lists released items too: marked, with when.
                let released = q
                    .released
                    .map(|at| format!("\n       RELEASED {}", config.calendar.format(at)))
                    .unwrap_or_default();
                println!(
                    "{:<6} {}  {:<16} {:<30} {}\n       reason: {}{released}",
                    q.id,
                    config.calendar.format(q.received),
                    q.kind.as_str(),
                    q.from.as_deref().unwrap_or("-"),
                    q.subject.as_deref().unwrap_or("-"),
                    q.reason
                );
            }
            // Counted by kind, so an operator sees at a glance what the screen holds back.
            let held: Vec<_> = rows.iter().filter(|q| q.released.is_none()).collect();
            let counts: Vec<String> = HoldKind::ALL
                .iter()
                .filter_map(|k| {
                    let n = held.iter().filter(|q| q.kind == *k).count();
                    (n > 0).then(|| format!("{n} {k}"))
                })
                .collect();
            let mut total = format!("{} held", held.len());
            if !counts.is_empty() {
                total.push_str(&format!(": {}", counts.join(", ")));
            }
            if held.len() < rows.len() {
                total.push_str(&format!("; {} released", rows.len() - held.len()));
            }
            println!("{total}");
            Ok(exit::OK)
        }
        QuarantineCommand::Show { id } => {
            let Some(q) = store.read().quarantine_entry(id)? else {
                return Err(Failure::new(
                    exit::DATAERR,
                    format!("no quarantined message {id}"),
                ));
            };
            std::io::stdout()
                .write_all(&q.raw)
                .map_err(|e| Failure::new(exit::IOERR, e.to_string()))?;
            Ok(exit::OK)
        }
        QuarantineCommand::Release { id, force } => {
            let pipeline = pipeline(config, &mut store)?;
            sync_accounts(config, &mut store)?;
            let taken = pipeline
                .release(&mut store, id, force, SystemClock.now())
                .map_err(|e| match e {
                    crate::intake::ReleaseError::Store(e) => Failure::from(e),
                    other => Failure::new(exit::DATAERR, other.to_string()),
                })?;
            print_summary(std::slice::from_ref(&taken));
            if matches!(&taken, Taken::Applied(o) if o.queued_mail()) {
                deliver_now(config, store);
            }
            Ok(exit::OK)
        }
        QuarantineCommand::Delete { id } => {
            if store.write(|tx| tx.delete_quarantined(id))? {
                println!("quarantined message {id} deleted");
                Ok(exit::OK)
            } else {
                Err(Failure::new(
                    exit::DATAERR,
                    format!("no quarantined message {id}"),
                ))
            }
        }
    }
}
