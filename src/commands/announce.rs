//! `postdesk announce`: mass mail to a selection of accounts. The
//! announcement and its recipients are recorded first; then each mail is
//! queued in its own transaction, due `60 / [outbox] announce_rate` seconds
//! after the one before, and `postdesk run` delivers them as they fall due.
//! `--resume N` after a crash queues only what was not queued.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use super::cli::AnnounceArgs;
use super::{Failure, Outcome, exit, pipeline, sync_accounts};
use crate::config::Config;
use crate::domain::clock::{Clock, SystemClock};
use crate::domain::{Address, Language};
use crate::outbox::announce::{self, Announcement};
use crate::outbox::compose::Desk;
use crate::outbox::seal;
use crate::store::{Account, Store};

pub(super) fn announce(config: &Arc<Config>, args: &AnnounceArgs) -> Outcome {
    let mut store = Store::open(&config.service.database)?;
    sync_accounts(config, &mut store)?;
    let pipeline = pipeline(config, &mut store)?;
    let desk = pipeline.desk();
    let now = SystemClock.now();
    let (id, subject, stored) = match args.resume {
        Some(n) => match store.read().announcement(n)? {
            Some((subject, bodies)) => (n, subject, bodies),
            None => {
                return Err(Failure::new(
                    exit::DATAERR,
                    format!("no announcement {n} to resume"),
                ));
            }
        },
        None => {
            let file = args.body_file.as_deref().unwrap_or(Path::new(""));
            let bodies = read_bodies(file, config.service.default_language)?;
            let subject = args.subject.clone().unwrap_or_default();
            let chosen = recipients(&store, config, args)?;
            if args.dry_run {
                return dry_run(&store, &desk, &chosen);
            }
            let id = store.write(|tx| tx.create_announcement(&subject, &bodies, &chosen, now))?;
            (id, subject, bodies)
        }
    };
    let bodies: HashMap<Language, String> = stored
        .into_iter()
        .filter_map(|(code, text)| Some((Language::from_code(&code)?, text)))
        .collect();
    let from = config
        .service
        .announce_from
        .clone()
        .unwrap_or_else(|| desk.address.clone());
    let a = Announcement {
        id,
        from: &from,
        subject: &subject,
        body: "",
    };
    let done = queue_pending(
        &mut store,
        &desk,
        &a,
        &bodies,
        (config.outbox.announce_rate, config.service.default_language),
        now,
    )?;
    store.write(|tx| tx.finish_announcement(id, now))?;
    println!(
        "announcement {id}: {} mail(s) queued, {} skipped (failing or unsubscribed){}",
        done.queued,
        done.skipped,
        match done.last {
            Some(last) => format!(", the last due {}", super::rfc3339(last)),
            None => String::new(),
        }
    );
    Ok(exit::OK)
}

struct Done {
    queued: usize,
    skipped: usize,
    last: Option<DateTime<Utc>>,
}

/// Queues every recipient of `a` not queued yet, one transaction each (a
/// crash loses nothing and doubles nothing), on the rate limit's clock
/// (see [`due`]).
fn queue_pending(
    store: &mut Store,
    desk: &Desk<'_>,
    a: &Announcement<'_>,
    bodies: &HashMap<Language, String>,
    (rate, default): (u32, Language),
    now: DateTime<Utc>,
) -> Result<Done, Failure> {
    let pending = store.read().announce_pending(a.id)?;
    let plan = store.read().announce_schedule(a.id)?;
    let mut k = plan.queued;
    let (base, base_index) = match (plan.base, plan.last) {
        // Still ahead of now: the same clock goes on.
        (Some(base), _) if due(base, k - plan.base_index, rate) >= now => (base, plan.base_index),
        // A resume after the plan ran out: a minute after the last mail,
        // so no minute holds mails of both clocks.
        (_, Some(last)) => ((last + Duration::seconds(60)).max(now), k),
        _ => (now, k),
    };
    store.write(|tx| tx.set_announce_base(a.id, base, base_index))?;
    let mut done = Done {
        queued: 0,
        skipped: 0,
        last: plan.last,
    };
    let fallback = bodies
        .get(&default)
        .or_else(|| bodies.values().next())
        .map(String::as_str)
        .unwrap_or_default();
    for r in pending {
        if excluded(store, &r.address)? {
            store.write(|tx| tx.skip_announced(r.id))?;
            done.skipped += 1;
            continue;
        }
        let lang = Language::from_code(&r.language).unwrap_or(Language::En);
        let body = bodies.get(&lang).map(String::as_str).unwrap_or(fallback);
        let at = due(base, k - base_index, rate);
        let mut mail = announce::mail(desk, &Announcement { body, ..*a }, &r.address, now);
        // Encrypted (and signed) to a recipient whose key the desk knows.
        let learned = seal::learned_for(&store.read(), &mail)?;
        if desk
            .keys
            .is_some_and(|k| k.key_for(&r.address, &learned).is_some())
        {
            mail = seal::seal(desk, &mail, None, lang, &learned);
        }
        store.write(|tx| {
            let outbox = tx.queue_mail(&mail.queued(None, true, desk.address, at))?;
            tx.mark_announced(r.id, outbox, at)
        })?;
        k += 1;
        done.queued += 1;
        done.last = Some(at);
    }
    Ok(done)
}

/// When mail number `k` of a clock started at `base` is due: `k * 60 /
/// rate` seconds later, rounded down to the second (the outbox's unit), so
/// any 60 seconds hold at most `rate` of them.
fn due(base: DateTime<Utc>, k: i64, rate: u32) -> DateTime<Utc> {
    base + Duration::seconds(k * 60 / i64::from(rate.max(1)))
}

/// An address that bounced (failing) or unsubscribed gets no announcement.
fn excluded(store: &Store, address: &Address) -> Result<bool, Failure> {
    let read = store.read();
    Ok(
        !read.failing(std::slice::from_ref(address))?.is_empty()
            || read.is_unsubscribed(address)?,
    )
}

fn dry_run(store: &Store, _desk: &Desk<'_>, chosen: &[(String, Address, String)]) -> Outcome {
    let mut skipped = 0;
    for (account, address, lang) in chosen {
        let skip = excluded(store, address)?;
        skipped += usize::from(skip);
        println!(
            "{account:<20}  {lang:<2}  {address}{}",
            if skip {
                "  (skipped: failing or unsubscribed)"
            } else {
                ""
            }
        );
    }
    println!(
        "dry run: {} recipient(s), {} would be mailed; nothing recorded or sent",
        chosen.len(),
        chosen.len() - skipped
    );
    Ok(exit::OK)
}

/// (account, address, language) of each recipient the options select.
fn recipients(
    store: &Store,
    config: &Config,
    args: &AnnounceArgs,
) -> Result<Vec<(String, Address, String)>, Failure> {
    let accounts = store.read().accounts(None)?;
    let domain = args.domain.as_deref().map(str::to_ascii_lowercase);
    let chosen = |a: &Account| -> bool {
        (args.all || args.account.is_empty() || args.account.contains(&a.id))
            && args
                .parent
                .as_ref()
                .is_none_or(|p| a.parent.as_ref() == Some(p))
            && domain.as_ref().is_none_or(|d| {
                Address::parse(&a.primary).is_ok_and(|p| p.domain().eq_ignore_ascii_case(d))
            })
            && (!args.priority || a.priority)
    };
    for id in &args.account {
        if !accounts.iter().any(|a| &a.id == id) {
            return Err(Failure::new(exit::DATAERR, format!("no account {id}")));
        }
    }
    let mut out = Vec::new();
    for a in accounts.iter().filter(|a| chosen(a)) {
        let lang = a
            .language
            .as_deref()
            .and_then(Language::from_code)
            .unwrap_or(config.service.default_language)
            .as_str()
            .to_string();
        let mut addresses = vec![a.primary.clone()];
        if args.delegates {
            addresses.extend(a.delegates.iter().cloned());
        }
        for text in addresses {
            if let Ok(address) = Address::parse(&text) {
                out.push((a.id.clone(), address, lang.clone()));
            }
        }
    }
    Ok(out)
}

/// The body of each language: FILE.en, FILE.fr, FILE.it where they exist;
/// FILE itself for the default language (and any other without its own).
fn read_bodies(file: &Path, default: Language) -> Result<BTreeMap<String, String>, Failure> {
    let read = |p: &Path| -> Result<Option<String>, Failure> {
        match std::fs::read_to_string(p) {
            Ok(t) => Ok(Some(t)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Failure::new(
                exit::NOINPUT,
                format!("cannot read {}: {e}", p.display()),
            )),
        }
    };
    let plain = read(file)?;
    let mut out = BTreeMap::new();
    for lang in Language::ALL {
        let mut name = file.as_os_str().to_owned();
        name.push(format!(".{}", lang.as_str()));
        if let Some(t) = read(Path::new(&name))?.or_else(|| plain.clone()) {
            out.insert(lang.as_str().to_string(), t);
        }
    }
    if out.is_empty() {
        return Err(Failure::new(
            exit::NOINPUT,
            format!(
                "no announcement text: neither {0} nor {0}.en, {0}.fr, {0}.it exists",
                file.display()
            ),
        ));
    }
    if !out.contains_key(default.as_str()) {
        let any = out.values().next().cloned().unwrap_or_default();
        out.insert(default.as_str().to_string(), any);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::due;
    use chrono::{DateTime, Duration, Utc};

    /// No 60-second window holds more than `rate` due times, whatever the rate.
    #[test]
    fn any_minute_holds_at_most_rate_mails() {
        let base = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        for rate in [1, 7, 59, 60, 61, 90, 600, 1000] {
            let times: Vec<_> = (0..2000).map(|k| due(base, k, rate)).collect();
            for (i, t) in times.iter().enumerate() {
                let within = times[i..]
                    .iter()
                    .take_while(|u| **u - *t < Duration::seconds(60))
                    .count();
                assert!(within <= rate as usize, "rate {rate}: {within} at {i}");
            }
        }
    }
}
