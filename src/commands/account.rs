//! `postdesk account`: customer accounts and who may write for them. The
//! rules (what a change may do, what it records) are `accounts`'; this
//! file turns arguments into specs and results into lines.

use serde::Serialize;

use std::path::Path;

use chrono::{DateTime, Utc};

use super::cli::{self, AccountAddArgs, AccountCommand, AccountSetArgs, LanguageArg};
use super::{Failure, Outcome, exit, open_store, print_json, rfc3339, sync_accounts};
use crate::accounts::{self, AccountError, Checks, EntryChange};
use crate::config::{self, Config};
use crate::domain::clock::{Clock, SystemClock};
use crate::domain::{AccountId, AccountSpec, Address, SenderPattern};
use crate::store::Store;

impl From<AccountError> for Failure {
    fn from(e: AccountError) -> Failure {
        match e {
            AccountError::Store(e) => Failure::from(e),
            other => Failure::new(exit::DATAERR, other.to_string()),
        }
    }
}

fn checks(config: &Config) -> Checks {
    Checks {
        authserv_configured: config.intake.authserv_id.is_some(),
        origin: config.origin.clone(),
    }
}

/// Addresses, domains and `*.domains` from arguments, each of which may hold
/// several separated by commas.
fn patterns(args: &[String]) -> Result<Vec<SenderPattern>, Failure> {
    let mut out = Vec::new();
    for a in args {
        let list =
            SenderPattern::parse_list(a).map_err(|e| Failure::new(exit::USAGE, e.to_string()))?;
        out.extend(list);
    }
    Ok(out)
}

fn address(s: &str) -> Result<Address, Failure> {
    Address::parse(s).map_err(|e| Failure::new(exit::USAGE, e.to_string()))
}

fn language(l: LanguageArg) -> Option<crate::domain::Language> {
    use crate::domain::Language;
    match l {
        LanguageArg::En => Some(Language::En),
        LanguageArg::Fr => Some(Language::Fr),
        LanguageArg::It => Some(Language::It),
        LanguageArg::Default => None,
    }
}

pub(super) fn account(config: &Config, cmd: AccountCommand) -> Outcome {
    let now = SystemClock.now();
    let checks = checks(config);
    // Reading commands need a desk (or declared accounts to show); changing
    // ones may start one.
    let reading = matches!(
        cmd,
        AccountCommand::Show { .. } | AccountCommand::List { .. }
    );
    let mut store = if reading && config.accounts.is_empty() {
        open_store(config)?
    } else {
        Store::open(&config.service.database)?
    };
    sync_accounts(config, &mut store)?;
    match cmd {
        AccountCommand::Add(a) => add(&mut store, a, &checks, now),
        AccountCommand::Set(a) => set(&mut store, a, &checks, now),
        AccountCommand::Authorize { id, senders } => {
            let done = accounts::authorize(&mut store, id.as_str(), &patterns(&senders)?, now)?;
            for (p, change) in done {
                let what = match change {
                    EntryChange::Added => "authorized",
                    _ => "already authorized",
                };
                println!("{p}: {what}");
            }
            Ok(exit::OK)
        }
        AccountCommand::Revoke { id, senders } => {
            let done = accounts::revoke(&mut store, id.as_str(), &patterns(&senders)?, now)?;
            for (p, change) in done {
                let what = match change {
                    EntryChange::Removed => "revoked",
                    _ => "was not authorized",
                };
                println!("{p}: {what}");
            }
            Ok(exit::OK)
        }
        AccountCommand::Remove { id } => {
            let id = accounts::remove(&mut store, id.as_str(), &checks, now)?;
            println!("account {id} removed (its tickets keep the id)");
            Ok(exit::OK)
        }
        AccountCommand::Import { file } => import(&mut store, &file, &checks, now),
        AccountCommand::List { parent, json } => list(&store, parent, json),
        AccountCommand::Show { id, json } => show(config, &store, id, json),
    }
}

/// `account add`: a new account from its arguments.
fn add(store: &mut Store, a: AccountAddArgs, checks: &Checks, now: DateTime<Utc>) -> Outcome {
    let spec = AccountSpec {
        name: a.name.unwrap_or_else(|| a.id.to_string()),
        primary: address(&a.primary)?,
        authorized: patterns(&a.authorized)?,
        language: a.language.and_then(language),
        parent: a.parent,
        delegates: a
            .delegates
            .iter()
            .map(|d| address(d))
            .collect::<Result<_, _>>()?,
        priority: a.priority,
        require_authentication: a.require_authentication.and_then(|s| s.value()),
        pin_hash: None,
        openpgp_key: None,
        smime_cert: None,
        id: a.id,
    };
    accounts::add(store, &spec, checks, now)?;
    println!("account {} added", spec.id);
    Ok(exit::OK)
}

/// `account set`: only the fields given change.
fn set(store: &mut Store, a: AccountSetArgs, checks: &Checks, now: DateTime<Utc>) -> Outcome {
    if a.pin || a.no_pin || a.pin_reset {
        set_pin(store, &a)?;
        let other = a.name.is_some()
            || a.primary.is_some()
            || a.language.is_some()
            || a.parent.is_some()
            || a.no_parent
            || a.delegates.is_some()
            || a.priority.is_some()
            || a.require_authentication.is_some();
        if !other {
            return Ok(exit::OK);
        }
    }
    let primary = a.primary.as_deref().map(address).transpose()?;
    let delegates = match &a.delegates {
        Some(list) => Some(
            list.split(',')
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .map(address)
                .collect::<Result<Vec<_>, _>>()?,
        ),
        None => None,
    };
    let spec = accounts::set(store, a.id.as_str(), checks, now, |s| {
        if let Some(n) = a.name {
            s.name = n;
        }
        if let Some(p) = primary {
            s.primary = p;
        }
        if let Some(l) = a.language {
            s.language = language(l);
        }
        if a.no_parent {
            s.parent = None;
        } else if let Some(p) = a.parent {
            s.parent = Some(p);
        }
        if let Some(d) = delegates {
            s.delegates = d;
        }
        if let Some(p) = a.priority {
            s.priority = p == cli::YesNo::Yes;
        }
        if let Some(r) = a.require_authentication {
            s.require_authentication = r.value();
        }
    })?;
    println!("account {} updated", spec.id);
    Ok(exit::OK)
}

fn import(store: &mut Store, file: &Path, checks: &Checks, now: DateTime<Utc>) -> Outcome {
    let specs =
        config::read_accounts_file(file).map_err(|e| Failure::new(exit::DATAERR, e.to_string()))?;
    let specs: Vec<AccountSpec> = specs.into_iter().map(|(_, s)| s).collect();
    let r = accounts::import(store, &specs, checks, now)?;
    println!(
        "{} accounts in {}: {} added, {} updated, {} unchanged",
        specs.len(),
        file.display(),
        r.added,
        r.updated,
        r.unchanged
    );
    Ok(exit::OK)
}

/// `account list`, with its flag column: `!` priority, `C` declared in
/// the config, `A` authentication required.
fn list(store: &Store, parent: Option<AccountId>, json: bool) -> Outcome {
    if let Some(p) = &parent
        && store.read().account_brief(p.as_str())?.is_none()
    {
        return Err(Failure::new(exit::DATAERR, format!("no account \"{p}\"")));
    }
    let list = store.read().accounts(parent.as_ref().map(|p| p.as_str()))?;
    if json {
        return print_json(&list);
    }
    if list.is_empty() {
        println!("no accounts");
    }
    for a in &list {
        let mut flags = String::new();
        if a.priority {
            flags.push('!');
        }
        if a.declared {
            flags.push('C');
        }
        if a.require_authentication == Some(true) {
            flags.push('A');
        }
        if flags.is_empty() {
            flags.push('-');
        }
        println!(
            "{:<16} {:<3} {:<32} {:>3} senders  parent {:<12} {}",
            a.id,
            flags,
            a.primary,
            a.authorized.len(),
            a.parent.as_deref().unwrap_or("-"),
            a.name
        );
    }
    Ok(exit::OK)
}

fn show(config: &Config, store: &Store, id: AccountId, json: bool) -> Outcome {
    let read = store.read();
    let Some(a) = read.account(id.as_str())? else {
        return Err(Failure::new(exit::DATAERR, format!("no account \"{id}\"")));
    };
    let children = read.account_children(&a.id)?;
    let history = read.account_events(&a.id, 50)?;
    // Whether there is a support PIN, never anything of it.
    let support_pin = match read.account_pin(&a.id)? {
        Some((Some(_), true)) => "locked",
        Some((Some(_), false)) => "set",
        _ => "none",
    };
    if json {
        #[derive(Serialize)]
        struct Shown<'a> {
            #[serde(flatten)]
            account: &'a crate::store::Account,
            support_pin: &'a str,
            children: &'a [String],
            senders: &'a [crate::store::SenderEntry],
            history: &'a [crate::store::AccountEvent],
        }
        return print_json(&Shown {
            account: &a,
            support_pin,
            children: &children,
            senders: &a.senders,
            history: &history,
        });
    }
    let owner = if a.declared {
        format!("  (declared in {})", config.origin)
    } else {
        String::new()
    };
    println!("Account {}  {}{owner}", a.id, a.name);
    println!("Primary:     {}", a.primary);
    let senders: Vec<String> = a
        .senders
        .iter()
        .map(|e| format!("{} ({})", e.sender, e.source.as_str()))
        .collect();
    println!(
        "Authorized:  {}",
        if senders.is_empty() {
            "-".into()
        } else {
            senders.join(", ")
        }
    );
    println!(
        "Language:    {}",
        a.language
            .as_deref()
            .unwrap_or(config.service.default_language.as_str())
    );
    println!("Parent:      {}", a.parent.as_deref().unwrap_or("-"));
    println!(
        "Children:    {}",
        if children.is_empty() {
            "-".into()
        } else {
            children.join(", ")
        }
    );
    println!(
        "Delegates:   {}",
        if a.delegates.is_empty() {
            "-".into()
        } else {
            a.delegates.join(", ")
        }
    );
    println!("Priority:    {}", if a.priority { "yes" } else { "no" });
    let auth = match a.require_authentication {
        Some(true) => "yes".to_string(),
        Some(false) => "no".to_string(),
        None => format!(
            "default ({})",
            if config.intake.require_authentication {
                "yes"
            } else {
                "no"
            }
        ),
    };
    println!("Require authentication: {auth}");
    let pin = match support_pin {
        "locked" => "set; checks LOCKED after wrong PINs (account set --pin-reset)",
        other => other,
    };
    println!("Support PIN: {pin}");
    println!("\nHistory");
    for e in &history {
        println!("{}  {}  {}", rfc3339(e.at), e.actor, e.detail);
    }
    Ok(exit::OK)
}

/// `account set --pin | --no-pin | --pin-reset`: the support PIN (read
/// from the terminal or stdin, kept only as a slow salted hash) and the
/// lock of PIN checks. The PIN is never printed or logged.
fn set_pin(store: &mut Store, a: &AccountSetArgs) -> Result<(), Failure> {
    let id = a.id.as_str();
    let hash = if a.pin {
        let pin = read_pin()?;
        Some(
            crate::domain::proof::hash_pin(&pin)
                .map_err(|e| Failure::new(exit::USAGE, e.to_string()))?,
        )
    } else {
        None
    };
    let found = store.write(|tx| {
        if a.pin || a.no_pin {
            tx.set_account_pin(id, hash.as_deref())
        } else {
            tx.reset_pin_lock(id)
        }
    })?;
    if !found {
        return Err(Failure::new(exit::DATAERR, format!("no account \"{id}\"")));
    }
    let what = match (a.pin, a.no_pin) {
        (true, _) => "support PIN set",
        (_, true) => "support PIN removed",
        _ => "PIN checks reset",
    };
    println!("account {id}: {what}");
    Ok(())
}

/// One line from stdin: the PIN. On a terminal, asked for without echo.
fn read_pin() -> Result<String, Failure> {
    use std::io::{BufRead, IsTerminal, Write};
    let stdin = std::io::stdin();
    let tty = stdin.is_terminal();
    if tty {
        eprint!("Support PIN: ");
        let _ = std::io::stderr().flush();
    }
    let echo = tty.then(no_echo).flatten();
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    if let Some(old) = echo {
        let _ = rustix::termios::tcsetattr(
            std::io::stdin(),
            rustix::termios::OptionalActions::Now,
            &old,
        );
        eprintln!();
    }
    read.map_err(|e| Failure::new(exit::IOERR, format!("cannot read the PIN: {e}")))?;
    let pin = line.trim().to_string();
    if pin.is_empty() {
        return Err(Failure::new(exit::USAGE, "no PIN given on stdin"));
    }
    Ok(pin)
}

/// Turns the terminal's echo off; returns its settings to restore.
fn no_echo() -> Option<rustix::termios::Termios> {
    use rustix::termios::{LocalModes, OptionalActions, tcgetattr, tcsetattr};
    let old = tcgetattr(std::io::stdin()).ok()?;
    let mut quiet = old.clone();
    quiet.local_modes.remove(LocalModes::ECHO);
    tcsetattr(std::io::stdin(), OptionalActions::Now, &quiet).ok()?;
    Some(old)
}

/// `postdesk pin-hash`: a PIN from the terminal or stdin, its hash printed.
pub(super) fn pin_hash() -> Outcome {
    let pin = read_pin()?;
    let hash = crate::domain::proof::hash_pin(&pin)
        .map_err(|e| Failure::new(exit::USAGE, e.to_string()))?;
    println!("{hash}");
    Ok(exit::OK)
}
