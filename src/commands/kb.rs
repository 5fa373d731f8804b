//! `postdesk kb list | show | reindex`: the knowledge base as the store
//! holds it, and reading its folder again on demand.

use super::cli::KbCommand;
use super::{Failure, Outcome, exit, open_store, print_json};
use crate::config::Config;
use crate::domain::clock::{Clock, SystemClock};
use crate::store::{KnowledgeKind, Store};
use crate::ticket::knowledge::{KnowledgeError, reindex};

pub(super) fn kb(config: &Config, cmd: KbCommand) -> Outcome {
    match cmd {
        KbCommand::Reindex => {
            // The first command on a new desk may be this one.
            let mut store = Store::open(&config.service.database)?;
            let done =
                reindex(&mut store, &config.knowledge, SystemClock.now()).map_err(|e| match e {
                    KnowledgeError::Store(e) => Failure::from(e),
                    other => Failure::new(exit::NOINPUT, other.to_string()),
                })?;
            println!(
                "{} article(s): {} new or changed, {} removed; {} closed ticket(s) learnt from",
                done.articles, done.changed, done.removed, done.learnt
            );
            for p in &done.problems {
                println!("  skipped {p}");
            }
            Ok(exit::OK)
        }
        KbCommand::List { json } => {
            let store = open_store(config)?;
            let entries = store.read().knowledge_entries()?;
            if json {
                return print_json(&entries);
            }
            if entries.is_empty() {
                println!(
                    "the knowledge base is empty (knowledge.path, then `postdesk kb reindex`)"
                );
            }
            for e in &entries {
                let kind = match e.kind {
                    KnowledgeKind::Article => "article",
                    KnowledgeKind::Ticket => "ticket",
                };
                println!(
                    "{:<24}  {kind:<7}  {:<2}  {}",
                    e.name,
                    e.language.as_deref().unwrap_or("-"),
                    e.title
                );
            }
            Ok(exit::OK)
        }
        KbCommand::Show { name } => {
            let store = open_store(config)?;
            let Some(e) = store.read().knowledge_entry(&name)? else {
                return Err(Failure::new(
                    exit::DATAERR,
                    format!("no knowledge base entry named {name:?} (see `postdesk kb list`)"),
                ));
            };
            println!("{}", e.title);
            if !e.tags.is_empty() {
                println!("tags: {}", e.tags.join(", "));
            }
            if let Some(l) = &e.language {
                println!("language: {l}");
            }
            println!("\n{}", e.body);
            Ok(exit::OK)
        }
    }
}
