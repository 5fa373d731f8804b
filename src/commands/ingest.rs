//! `postdesk ingest`: the MTA's pipe (files or stdin, one message each)
//! and archive imports (a Maildir, an mbox), in bounded batches.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::cli::IngestArgs;
use super::{Failure, Outcome, absolute, deliver_now, exit, pipeline, sync_accounts};
use crate::config::{self, Config};
use crate::domain::clock::{Clock, SystemClock};
use crate::intake::{Fetched, Pipeline, Taken};
use crate::source::capped::Capped;
use crate::source::maildir::{DrainOptions, Maildir};
use crate::source::mbox::MboxReader;
use crate::store::Store;

pub(super) fn ingest(config: Arc<Config>, args: &IngestArgs) -> Outcome {
    if args.remove && args.maildir.is_none() {
        return Err(Failure::new(
            exit::USAGE,
            "--remove goes with --maildir only",
        ));
    }
    if let Some(q) = &args.envelope_queue
        && config.queue(q).is_none()
    {
        let names: Vec<&str> = config.queues.iter().map(|q| q.name.as_str()).collect();
        return Err(Failure::new(
            exit::USAGE,
            format!("no queue \"{q}\"; this desk has: {}", names.join(", ")),
        ));
    }
    let config = if args.no_receipts {
        let mut c = Config::clone(&config);
        c.intake.confirm_receipt = false;
        for q in &mut c.queues {
            q.confirm_receipt = false;
        }
        Arc::new(c)
    } else {
        config
    };
    let mut store = Store::open(&config.service.database)?;
    let mut pipeline = pipeline(&config, &mut store)?;
    // An archive import writes to nobody: no receipt, no confirmation request.
    pipeline.silent = args.no_receipts;
    pipeline.envelope_queue = args.envelope_queue.clone();
    sync_accounts(&config, &mut store)?;
    let show_progress = !args.quiet && std::io::stderr().is_terminal();

    let taken: Vec<Taken> = if let Some(dir) = &args.maildir {
        ingest_maildir(
            &pipeline,
            &mut store,
            dir,
            args.remove,
            &config.intake,
            show_progress,
        )?
    } else if let Some(path) = &args.mbox {
        ingest_mbox(&pipeline, &mut store, path, &config.intake, show_progress)?
    } else {
        ingest_files(&pipeline, &mut store, &args.files, &config.intake)?
    };

    report_unreadable(&taken);
    if !args.quiet {
        print_summary(&taken);
    }
    if !args.queue_only
        && taken
            .iter()
            .any(|t| matches!(t, Taken::Applied(o) if o.queued_mail()))
    {
        deliver_now(&config, store);
    }
    // Not stored: the MTA (or the operator) must keep it and try again.
    let skipped = taken.iter().filter(|t| !t.is_stored()).count();
    if skipped > 0 {
        return Err(Failure::new(
            exit::TEMPFAIL,
            format!(
                "{skipped} message(s) could not be stored, not even in quarantine; try again later"
            ),
        ));
    }
    let unreadable = taken.iter().any(|t| matches!(t, Taken::Unreadable { .. }));
    Ok(if unreadable { exit::DATAERR } else { exit::OK })
}

/// `ingest --maildir DIR`: an archive, `new/` and `cur/`, its files removed
/// only with `--remove`.
fn ingest_maildir(
    pipeline: &Pipeline,
    store: &mut Store,
    dir: &Path,
    remove: bool,
    intake: &config::Intake,
    show_progress: bool,
) -> Result<Vec<Taken>, Failure> {
    let clock = SystemClock;
    let dir = absolute(dir);
    if !dir.join("new").is_dir() && !dir.join("cur").is_dir() {
        return Err(Failure::new(
            exit::NOINPUT,
            format!("{} is not a Maildir (no new/ or cur/)", dir.display()),
        ));
    }
    let maildir = Maildir::new(format!("maildir:{}", dir.display()), dir);
    let bar = progress_bar(
        show_progress,
        maildir.pending(true).map(|f| f.len()).unwrap_or(0),
    );
    let opts = DrainOptions {
        include_cur: true,
        remove,
        batch_size: intake.batch_size,
        batch_bytes: intake.batch_bytes,
    };
    let drained = maildir
        .drain(
            pipeline,
            store,
            || clock.now(),
            opts,
            |done, _| bar.set_position(done as u64),
            || false,
        )
        .map_err(|e| {
            Failure::new(
                if e.is_transient() {
                    exit::TEMPFAIL
                } else {
                    exit::IOERR
                },
                e.to_string(),
            )
        })?;
    bar.finish_and_clear();
    Ok(drained.taken)
}

/// `ingest [FILE|-]...`: each file (or stdin) read within the limits, in
/// batches bounded in count and bytes.
fn ingest_files(
    pipeline: &Pipeline,
    store: &mut Store,
    files: &[PathBuf],
    intake: &config::Intake,
) -> Result<Vec<Taken>, Failure> {
    let files: Vec<PathBuf> = if files.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        files.to_vec()
    };
    let limits = pipeline.read_limits();
    let mut taken = Vec::new();
    let mut batch: Vec<Fetched> = Vec::new();
    let mut held = 0u64;
    for (i, f) in files.iter().enumerate() {
        let read = if f.as_os_str() == "-" {
            Capped::read_all(std::io::stdin().lock(), limits)
        } else {
            std::fs::File::open(f).and_then(|h| Capped::read_all(h, limits))
        };
        let read = read.map_err(|e| {
            Failure::new(exit::NOINPUT, format!("cannot read {}: {e}", f.display()))
        })?;
        held += read.kept() as u64;
        batch.push(read.finish("ingest".into(), None));
        let last = i + 1 == files.len();
        if last || batch.len() >= intake.batch_size || held >= intake.batch_bytes {
            taken.extend(pipeline.take(store, &batch, SystemClock.now())?);
            batch.clear();
            held = 0;
        }
    }
    Ok(taken)
}

fn ingest_mbox(
    pipeline: &Pipeline,
    store: &mut Store,
    path: &Path,
    intake: &config::Intake,
    show_progress: bool,
) -> Result<Vec<Taken>, Failure> {
    let path = absolute(path);
    let file = std::fs::File::open(&path).map_err(|e| {
        Failure::new(
            exit::NOINPUT,
            format!("cannot read {}: {e}", path.display()),
        )
    })?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = progress_bar(show_progress, size as usize);
    let source = format!("mbox:{}", path.display());
    let mut taken = Vec::new();
    let mut batch: Vec<Fetched> = Vec::new();
    let mut held = 0u64;
    let mut reader = MboxReader::new(std::io::BufReader::new(file), pipeline.read_limits());
    loop {
        let next = reader
            .next()
            .transpose()
            .map_err(|e| Failure::new(exit::IOERR, format!("reading {}: {e}", path.display())))?;
        let finished = next.is_none();
        if let Some((offset, read)) = next {
            bar.set_position(offset);
            held += read.kept() as u64;
            batch.push(read.finish(source.clone(), Some(format!("offset:{offset}"))));
        }
        let full = batch.len() >= intake.batch_size.max(1) || held >= intake.batch_bytes;
        if full || (finished && !batch.is_empty()) {
            taken.extend(pipeline.take(store, &batch, SystemClock.now())?);
            batch.clear();
            held = 0;
        }
        if finished {
            break;
        }
    }
    bar.finish_and_clear();
    Ok(taken)
}

fn progress_bar(show: bool, len: usize) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len as u64);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {per_sec} eta {eta}")
    {
        bar.set_style(style);
    }
    bar
}

/// Errors are said even with --quiet.
fn report_unreadable(taken: &[Taken]) {
    for t in taken {
        if let Taken::Unreadable { quarantine, error } = t {
            eprintln!("postdesk: unreadable message kept in quarantine #{quarantine}: {error}");
        }
    }
}

pub(super) fn print_summary(taken: &[Taken]) {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for t in taken {
        match counts.iter_mut().find(|(l, _)| *l == t.label()) {
            Some((_, n)) => *n += 1,
            None => counts.push((t.label(), 1)),
        }
    }
    if taken.len() == 1 {
        match &taken[0] {
            Taken::Applied(o) => match o.ticket() {
                Some(n) => println!("{}: ticket #{n}", taken[0].label()),
                None => println!("{}", taken[0].label()),
            },
            t => println!("{}", t.label()),
        }
        return;
    }
    let parts: Vec<String> = counts.iter().map(|(l, n)| format!("{n} {l}")).collect();
    println!("{} messages: {}", taken.len(), parts.join(", "));
}
