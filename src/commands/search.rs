//! `postdesk ticket search | export | attachments`: finding tickets by
//! what their mail says, and getting a ticket's mail and files out of the
//! database exactly as they came in and went out.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::cli::TicketCommand;
use super::{Failure, Outcome, exit, open_store, print_json};
use crate::config::Config;
use crate::domain::TicketId;
use crate::domain::filename::safe_file_name;
use crate::parse::ParseLimits;
use crate::source::mbox::MboxWriter;
use crate::store::search::{SearchFilter, match_all};

pub(super) fn search(config: &Config, cmd: TicketCommand) -> Outcome {
    match cmd {
        TicketCommand::Search {
            query,
            status,
            account,
            since,
            limit,
            json,
        } => {
            let filter = SearchFilter {
                statuses: status,
                account,
                since,
                limit,
            };
            find(config, &query.join(" "), &filter, json)
        }
        TicketCommand::Export {
            number,
            mbox,
            maildir,
        } => export(config, number, mbox.as_deref(), maildir.as_deref()),
        TicketCommand::Attachments { number, dir } => attachments(config, number, dir),
        _ => Err(Failure::new(exit::SOFTWARE, "not a search command")),
    }
}

/// `ticket search`: one line per ticket, best first, with the snippet.
fn find(config: &Config, typed: &str, filter: &SearchFilter, json: bool) -> Outcome {
    let Some(query) = match_all(typed) else {
        return Err(Failure::new(
            exit::USAGE,
            format!("nothing to search for in {typed:?}: give at least one word"),
        ));
    };
    let mut store = open_store(config)?;
    // What the daemon's indexer has not reached yet (or all, without one).
    store.index_all_pending()?;
    let hits = store.read().search_tickets(&query, filter)?;
    if json {
        return print_json(&hits);
    }
    if hits.is_empty() {
        println!("no ticket matches");
    }
    for h in &hits {
        println!(
            "#{}  {}  {}  {}",
            h.number,
            h.status,
            config.calendar.format(h.updated),
            h.subject
        );
        println!("    {}", one_line(&h.snippet));
    }
    Ok(exit::OK)
}

/// A snippet on one line: its line breaks and runs of spaces as one space.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `ticket export`: every mail of the ticket, in order, as stored.
fn export(
    config: &Config,
    number: TicketId,
    mbox: Option<&Path>,
    maildir: Option<&Path>,
) -> Outcome {
    let store = open_store(config)?;
    let read = store.read();
    if read.ticket(number)?.is_none() {
        return Err(Failure::new(exit::DATAERR, format!("no ticket #{number}")));
    }
    let mails = read.ticket_raw_mails(number)?;
    let io = |what: &Path, e: std::io::Error| {
        Failure::new(exit::IOERR, format!("cannot write {}: {e}", what.display()))
    };
    if let Some(dir) = maildir {
        let written = write_maildir(dir, number, &mails).map_err(|e| io(dir, e))?;
        eprintln!(
            "ticket #{number}: {written} mail(s) written to the Maildir {}",
            dir.display()
        );
        return Ok(exit::OK);
    }
    let target = mbox.map_or_else(|| PathBuf::from("-"), Path::to_path_buf);
    let out: Box<dyn Write> = match mbox {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).map_err(|e| io(path, e))?,
        )),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut writer = MboxWriter::new(out);
    for m in &mails {
        writer
            .add(&m.sender, m.at, &m.raw)
            .map_err(|e| io(&target, e))?;
    }
    let inexact = writer.inexact();
    writer.finish().map_err(|e| io(&target, e))?;
    if inexact > 0 {
        eprintln!(
            "postdesk: {inexact} mail(s) did not end with a line break and gained one in the mbox; --maildir keeps every byte"
        );
    }
    if mbox.is_some() {
        eprintln!(
            "ticket #{number}: {} mail(s) written to {}",
            mails.len(),
            target.display()
        );
    }
    Ok(exit::OK)
}

/// One file per mail in `dir/new`, written in `dir/tmp` first (the
/// Maildir way: a reader never sees half a file). Names sort in the
/// ticket's order and never collide with what is there.
fn write_maildir(
    dir: &Path,
    number: TicketId,
    mails: &[crate::store::search::RawMail],
) -> std::io::Result<usize> {
    for sub in ["tmp", "new", "cur"] {
        std::fs::create_dir_all(dir.join(sub))?;
    }
    let pid = std::process::id();
    let host = hostname();
    for (i, m) in mails.iter().enumerate() {
        let name = format!(
            "{}.P{pid}Q{:05}.{host},ticket-{number}-{}",
            m.at.timestamp(),
            i + 1,
            m.direction
        );
        let tmp = dir.join("tmp").join(&name);
        let mut f = std::fs::File::create_new(&tmp)?;
        f.write_all(&m.raw)?;
        f.sync_all()?;
        std::fs::rename(&tmp, dir.join("new").join(&name))?;
    }
    Ok(mails.len())
}

/// The host name for Maildir file names, without `/` or `:`.
fn hostname() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let clean: String = name
        .trim()
        .chars()
        .map(|c| if c == '/' || c == ':' { '_' } else { c })
        .collect();
    if clean.is_empty() {
        "localhost".into()
    } else {
        clean
    }
}

/// `ticket attachments`: every attachment of every received message,
/// named safely (see `domain::filename`), never over an existing file.
fn attachments(config: &Config, number: TicketId, dir: Option<PathBuf>) -> Outcome {
    let store = open_store(config)?;
    let read = store.read();
    if read.ticket(number)?.is_none() {
        return Err(Failure::new(exit::DATAERR, format!("no ticket #{number}")));
    }
    let dir = dir.unwrap_or_else(|| PathBuf::from(format!("ticket-{number}-attachments")));
    let io = |what: &Path, e: std::io::Error| {
        Failure::new(exit::IOERR, format!("cannot write {}: {e}", what.display()))
    };
    std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
    let i = &config.intake;
    let limits = ParseLimits {
        max_size: usize::try_from(i.max_message_size).unwrap_or(usize::MAX),
        max_depth: i.max_mime_depth,
        max_parts: i.max_mime_parts,
    };
    // Files already there count as taken: nothing is overwritten.
    let mut taken: HashSet<String> = std::fs::read_dir(&dir)
        .map_err(|e| io(&dir, e))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_lowercase())
        .collect();
    let mut n = 0;
    for (_, raw) in read.ticket_received_raw(number)? {
        for file in crate::parse::attachment_files(&raw, &limits) {
            n += 1;
            let name = safe_file_name(file.info.name.as_deref(), n, &mut taken);
            let path = dir.join(&name);
            std::fs::File::create_new(&path)
                .and_then(|mut f| f.write_all(&file.bytes))
                .map_err(|e| io(&path, e))?;
            println!(
                "{}  {} bytes  {}",
                path.display(),
                file.bytes.len(),
                file.info.content_type
            );
        }
    }
    if n == 0 {
        println!("ticket #{number} has no attachments");
    }
    Ok(exit::OK)
}
