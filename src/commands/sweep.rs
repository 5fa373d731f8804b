//! `postdesk sweep`: the inactivity rules applied once, at now or at
//! `--now`, or only shown with `--dry-run`; `postdesk digest`: the staff
//! side's digest, mailed once or only shown.

use std::sync::Arc;

use super::cli::{DigestArgs, SweepArgs};
use super::{Outcome, deliver_now, exit, open_store, pipeline, print_json, sync_accounts};
use crate::config::Config;
use crate::domain::clock::{Clock, SystemClock};

pub(super) fn sweep(config: &Arc<Config>, args: &SweepArgs) -> Outcome {
    let mut store = open_store(config)?;
    let pipeline = pipeline(config, &mut store)?;
    let now = args.now.unwrap_or_else(|| SystemClock.now());
    if !args.dry_run {
        // The notices speak the language of the ticket's account, as declared now.
        sync_accounts(config, &mut store)?;
    }
    let settings = pipeline.settings();
    let report = crate::ticket::sweep::sweep(&mut store, &settings, now, args.dry_run)?;
    if args.json {
        print_json(&report)?;
    } else {
        let cal = &config.calendar;
        if report.recomputed > 0 {
            println!(
                "deadlines of {} waiting ticket(s) computed with the current rules (first sweep, or the rules changed)",
                report.recomputed
            );
        }
        if report.expired_holds > 0 {
            println!(
                "{} held mail(s) on a ticket whose confirmation code expired unused: told on the ticket and to staff",
                report.expired_holds
            );
        }
        let verb = if args.dry_run { "would " } else { "" };
        for a in &report.actions {
            let what = match a.action {
                "warning" => format!("{verb}warn"),
                _ => format!("{verb}close"),
            };
            println!(
                "#{:<6} {:<8} {:<11} due {}  {}",
                a.ticket,
                a.rule,
                what,
                cal.format(a.due),
                a.detail
            );
            for why in &a.skipped {
                println!("        {why}");
            }
        }
        let warnings = report
            .actions
            .iter()
            .filter(|a| a.action == "warning")
            .count();
        let closes = report.actions.len() - warnings;
        println!(
            "{} at {}: {warnings} warning(s), {closes} close(s){}",
            if args.dry_run { "dry run" } else { "sweep" },
            cal.format(now),
            if args.dry_run {
                String::new()
            } else {
                format!(", {} mail(s) queued", report.mails())
            }
        );
    }
    if !args.dry_run && (report.mails() > 0 || report.expired_holds > 0) {
        deliver_now(config, store);
    }
    Ok(exit::OK)
}

pub(super) fn digest(config: &Arc<Config>, args: &DigestArgs) -> Outcome {
    let mut store = open_store(config)?;
    let pipeline = pipeline(config, &mut store)?;
    let now = args.now.unwrap_or_else(|| SystemClock.now());
    let settings = pipeline.settings();
    if args.dry_run {
        let sp = settings.speech(settings.language);
        let d = store.write(|tx| {
            crate::ticket::digest::gather(
                tx,
                &settings,
                &sp,
                now,
                crate::ticket::digest::Scope::ALL,
            )
        })?;
        if d.is_empty() {
            println!("nothing to tell: no digest would be sent");
        }
        for (title, list) in [
            ("waiting for staff", &d.waiting),
            ("held in the last day", &d.held),
            ("held, code expired unused", &d.expired),
            ("proof requests", &d.proofs),
            ("undelivered", &d.failures),
            ("failing sources", &d.sources),
        ] {
            if !list.is_empty() {
                println!("{title}:\n{}", list.join("\n"));
            }
        }
        return Ok(exit::OK);
    }
    let ids = store.write(|tx| crate::ticket::digest::send(tx, &settings, now))?;
    if ids.is_empty() {
        println!("nothing to tell (or no staff address): no digest sent");
    } else {
        for id in ids {
            println!("digest queued (outbox #{id})");
        }
        deliver_now(config, store);
    }
    Ok(exit::OK)
}
