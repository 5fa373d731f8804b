//! accounts: customer accounts as the operator declares and changes them —
//! from the config (`[[account]]`, `accounts_file`), from the shell
//! (`postdesk account …`) — and the rules that keep them consistent.
//!
//! The database is the one place identify looks accounts up (by indexed
//! address and domain keys, so thousands of accounts cost a few index
//! lookups per message). The config is applied to it by [`sync_declared`]
//! at start, and by a reload: declared accounts are owned by the config,
//! which adds, updates and removes them; authorized senders added by mail
//! or by the CLI to a declared account stay, and the config's own entries
//! cannot be removed other than in the config.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::domain::{AccountId, AccountSpec, Address, SenderPattern};
use crate::store::{Account, SenderSource, Store, StoreError, Tx};

/// Every field on one line, for the digest of the declared set.
fn canonical(spec: &AccountSpec) -> String {
    let list = |v: Vec<String>| v.join(",");
    format!(
        "{}\u{1}{}\u{1}{}\u{1}{}\u{1}{:?}\u{1}{:?}\u{1}{}\u{1}{}\u{1}{:?}\u{1}{}",
        spec.id.as_str().to_ascii_lowercase(),
        spec.name,
        spec.primary,
        list(spec.authorized.iter().map(|p| p.normalized()).collect()),
        spec.language.map(|l| l.as_str()),
        spec.parent
            .as_ref()
            .map(|p| p.as_str().to_ascii_lowercase()),
        list(spec.delegates.iter().map(|d| d.key()).collect()),
        spec.priority,
        spec.require_authentication,
        spec.pin_hash.as_deref().unwrap_or_default(),
    )
}

/// Whether the stored account already has every field of this spec
/// (authorized senders aside, which are compared per source).
fn same_fields(spec: &AccountSpec, a: &Account) -> bool {
    let mut theirs: Vec<String> = a.delegates.iter().map(|d| d.to_ascii_lowercase()).collect();
    let mut ours: Vec<String> = spec.delegates.iter().map(|d| d.key()).collect();
    theirs.sort();
    ours.sort();
    a.name == spec.name
        && a.primary == spec.primary.as_str()
        && a.language.as_deref() == spec.language.map(|l| l.as_str())
        && a.parent.as_deref().map(str::to_ascii_lowercase)
            == spec
                .parent
                .as_ref()
                .map(|p| p.as_str().to_ascii_lowercase())
        && a.priority == spec.priority
        && a.require_authentication == spec.require_authentication
        && theirs == ours
}

/// The settings entry holding the digest of the declared set last applied.
const DECLARED_STATE: &str = "declared_accounts";

/// What [`sync_declared`] changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Nothing to do: the declared set is the one applied last time.
    pub unchanged: bool,
    pub added: usize,
    pub updated: usize,
    pub removed: usize,
}

/// Applies the accounts declared in the config to the database, in one
/// transaction: new ones are added, changed ones updated, and declared
/// accounts no longer in the config removed (their tickets stay). Cheap
/// when nothing changed (one digest compared), so every command that takes
/// mail in may call it; a reload calls it with the new config's accounts.
pub fn sync_declared(
    store: &mut Store,
    declared: &[AccountSpec],
    now: DateTime<Utc>,
) -> Result<SyncReport, StoreError> {
    let mut hasher = Sha256::new();
    for a in declared {
        hasher.update(canonical(a).as_bytes());
        hasher.update(b"\n");
    }
    let digest = hex::encode(hasher.finalize());
    if store.read().setting(DECLARED_STATE)?.as_deref() == Some(digest.as_str()) {
        return Ok(SyncReport {
            unchanged: true,
            ..SyncReport::default()
        });
    }
    store.write(|tx| {
        let mut report = SyncReport::default();
        for spec in declared {
            let existing = tx.read().account(spec.id.as_str())?;
            match existing {
                None => {
                    tx.insert_account(spec, SenderSource::Config, now)?;
                    tx.add_account_event(
                        spec.id.as_str(),
                        now,
                        "config",
                        "declared in the config",
                        None,
                    )?;
                    report.added += 1;
                }
                Some(a) => {
                    let mut changes = Vec::new();
                    if !same_fields(spec, &a) || !a.declared {
                        let mut spec = spec.clone();
                        // Keep the id as first stored: child tables refer to it.
                        spec.id = AccountId::parse(&a.id).unwrap_or(spec.id);
                        tx.update_account(&spec, true, now)?;
                        changes.push(if a.declared {
                            "fields updated".to_string()
                        } else {
                            "now declared in the config, which owns it".to_string()
                        });
                    }
                    let (added, removed) = tx.replace_account_senders(
                        &a.id,
                        SenderSource::Config,
                        &spec.authorized,
                        now,
                    )?;
                    if !added.is_empty() {
                        changes.push(format!("authorized {}", added.join(", ")));
                    }
                    if !removed.is_empty() {
                        changes.push(format!("revoked {}", removed.join(", ")));
                    }
                    if !changes.is_empty() {
                        let detail = format!("from the config: {}", changes.join("; "));
                        tx.add_account_event(&a.id, now, "config", &detail, None)?;
                        report.updated += 1;
                    }
                }
            }
        }
        declared_pins(tx, declared, now)?;
        let wanted: std::collections::HashSet<String> = declared
            .iter()
            .map(|d| d.id.as_str().to_ascii_lowercase())
            .collect();
        for id in tx.read().declared_account_ids()? {
            if !wanted.contains(&id.to_ascii_lowercase()) {
                tx.delete_account(&id)?;
                tx.add_account_event(
                    &id,
                    now,
                    "config",
                    "removed: no longer declared in the config",
                    None,
                )?;
                report.removed += 1;
            }
        }
        tx.set_setting(DECLARED_STATE, &digest)?;
        Ok(report)
    })
}

/// The support PINs the config declares (`[[account]] pin_hash`), set
/// where the stored one differs; the config's hash is never logged.
fn declared_pins(
    tx: &mut Tx<'_>,
    declared: &[AccountSpec],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    for spec in declared {
        let Some(hash) = &spec.pin_hash else {
            continue;
        };
        let id = spec.id.as_str();
        let stored = tx.read().account_pin(id)?.and_then(|(h, _)| h);
        if stored.as_deref() != Some(hash.as_str()) {
            tx.set_account_pin(id, Some(hash))?;
            tx.add_account_event(id, now, "config", "support PIN set by the config", None)?;
        }
    }
    Ok(())
}

/// Why a change to the accounts was refused.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("no account {0:?}")]
    NotFound(String),
    #[error("account {0:?} exists already")]
    Exists(String),
    #[error(
        "account {0:?} is declared in the config ({1}); change it there (authorize and revoke may add and remove entries of its own)"
    )]
    Declared(String, String),
    #[error("{what} {parent:?} does not exist")]
    NoParent { what: String, parent: String },
    #[error("account {0:?} cannot be its own parent, not even through other accounts")]
    ParentLoop(String),
    #[error(
        "account {0:?} is the parent of {1}; give them another parent (account set ID --no-parent) first"
    )]
    HasChildren(String, String),
    #[error("{0:?} was authorized by the config; remove it there")]
    ConfigEntry(String),
    #[error(
        "require_authentication needs intake.authserv_id in the config: without it no Authentication-Results is trusted"
    )]
    NeedsAuthservId,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the CLI may check only with the config at hand.
#[derive(Debug, Clone, Default)]
pub struct Checks {
    pub authserv_configured: bool,
    /// The config file, for messages.
    pub origin: String,
}

impl Checks {
    fn spec(&self, spec: &AccountSpec) -> Result<(), AccountError> {
        if spec.require_authentication == Some(true) && !self.authserv_configured {
            return Err(AccountError::NeedsAuthservId);
        }
        Ok(())
    }
}

/// The stored account, for a change by the CLI: refused when the config owns it.
fn owned_by_cli(tx: &Tx<'_>, id: &str, checks: &Checks) -> Result<Account, AccountError> {
    let a = tx
        .read()
        .account(id)?
        .ok_or_else(|| AccountError::NotFound(id.to_string()))?;
    if a.declared {
        return Err(AccountError::Declared(a.id, checks.origin.clone()));
    }
    Ok(a)
}

/// The parent must exist, and following parents up from it must not lead
/// back to `id`. Gives the parent's id as stored (`ISP-01` → `isp-01`).
fn check_parent(
    tx: &Tx<'_>,
    id: &str,
    parent: Option<&AccountId>,
) -> Result<Option<AccountId>, AccountError> {
    let Some(parent) = parent else {
        return Ok(None);
    };
    let mut canonical = None;
    let mut next = Some(parent.as_str().to_string());
    let mut steps = 0;
    while let Some(p) = next {
        if p.eq_ignore_ascii_case(id) || steps > 100 {
            return Err(AccountError::ParentLoop(id.to_string()));
        }
        let brief = tx
            .read()
            .account_brief(&p)?
            .ok_or_else(|| AccountError::NoParent {
                what: "parent account".into(),
                parent: p.clone(),
            })?;
        canonical.get_or_insert_with(|| AccountId::parse(&brief.id).unwrap_or(parent.clone()));
        next = brief.parent;
        steps += 1;
    }
    Ok(canonical)
}

/// `postdesk account add`.
pub fn add(
    store: &mut Store,
    spec: &AccountSpec,
    checks: &Checks,
    now: DateTime<Utc>,
) -> Result<(), AccountError> {
    checks.spec(spec)?;
    store.write(|tx| {
        if let Some(a) = tx.read().account_brief(spec.id.as_str())? {
            return Err(AccountError::Exists(a.id));
        }
        let mut spec = spec.clone();
        spec.parent = check_parent(tx, spec.id.as_str(), spec.parent.as_ref())?;
        tx.insert_account(&spec, SenderSource::Cli, now)?;
        tx.add_account_event(spec.id.as_str(), now, "cli", "created", None)?;
        Ok(())
    })
}

/// `postdesk account set`: `change` edits the current spec in place.
pub fn set(
    store: &mut Store,
    id: &str,
    checks: &Checks,
    now: DateTime<Utc>,
    change: impl FnOnce(&mut AccountSpec),
) -> Result<AccountSpec, AccountError> {
    store.write(|tx| {
        let a = owned_by_cli(tx, id, checks)?;
        let before = a.spec()?;
        let mut spec = before.clone();
        change(&mut spec);
        checks.spec(&spec)?;
        spec.parent = check_parent(tx, &a.id, spec.parent.as_ref())?;
        if spec != before {
            tx.update_account(&spec, false, now)?;
            tx.add_account_event(&a.id, now, "cli", &describe_change(&before, &spec), None)?;
        }
        Ok(spec)
    })
}

fn describe_change(before: &AccountSpec, after: &AccountSpec) -> String {
    let mut parts = Vec::new();
    let mut field = |name: &str, a: String, b: String| {
        if a != b {
            parts.push(format!("{name} {a} → {b}"));
        }
    };
    let opt = |o: Option<String>| o.unwrap_or_else(|| "-".into());
    field("name", before.name.clone(), after.name.clone());
    field(
        "primary",
        before.primary.to_string(),
        after.primary.to_string(),
    );
    field(
        "language",
        opt(before.language.map(|l| l.as_str().into())),
        opt(after.language.map(|l| l.as_str().into())),
    );
    field(
        "parent",
        opt(before.parent.as_ref().map(|p| p.to_string())),
        opt(after.parent.as_ref().map(|p| p.to_string())),
    );
    let list = |v: &[Address]| {
        v.iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    field("delegates", list(&before.delegates), list(&after.delegates));
    field(
        "priority",
        before.priority.to_string(),
        after.priority.to_string(),
    );
    field(
        "require_authentication",
        opt(before.require_authentication.map(|b| b.to_string())),
        opt(after.require_authentication.map(|b| b.to_string())),
    );
    if parts.is_empty() {
        "no change".into()
    } else {
        format!("changed: {}", parts.join(", "))
    }
}

/// What became of one entry of `authorize` or `revoke`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryChange {
    Added,
    Removed,
    /// Already so: present for add, absent for remove.
    Unchanged,
}

/// `postdesk account authorize`: allowed on declared accounts too (the
/// entries are the CLI's own, kept across starts).
pub fn authorize(
    store: &mut Store,
    id: &str,
    patterns: &[SenderPattern],
    now: DateTime<Utc>,
) -> Result<Vec<(SenderPattern, EntryChange)>, AccountError> {
    store.write(|tx| {
        let a = tx
            .read()
            .account_brief(id)?
            .ok_or_else(|| AccountError::NotFound(id.to_string()))?;
        let mut out = Vec::new();
        for p in patterns {
            let change = if tx.add_account_sender(&a.id, p, SenderSource::Cli, now)? {
                tx.add_account_event(&a.id, now, "cli", &format!("authorized {p}"), None)?;
                EntryChange::Added
            } else {
                EntryChange::Unchanged
            };
            out.push((p.clone(), change));
        }
        Ok(out)
    })
}

/// `postdesk account revoke`: the config's own entries are refused (all or
/// nothing).
pub fn revoke(
    store: &mut Store,
    id: &str,
    patterns: &[SenderPattern],
    now: DateTime<Utc>,
) -> Result<Vec<(SenderPattern, EntryChange)>, AccountError> {
    store.write(|tx| {
        let a = tx
            .read()
            .account_brief(id)?
            .ok_or_else(|| AccountError::NotFound(id.to_string()))?;
        let mut out = Vec::new();
        for p in patterns {
            if tx.read().account_sender_source(&a.id, p)? == Some(SenderSource::Config) {
                return Err(AccountError::ConfigEntry(p.to_string()));
            }
            let change = if tx.remove_account_sender(&a.id, p, now)? {
                tx.add_account_event(&a.id, now, "cli", &format!("revoked {p}"), None)?;
                EntryChange::Removed
            } else {
                EntryChange::Unchanged
            };
            out.push((p.clone(), change));
        }
        Ok(out)
    })
}

/// `postdesk account remove`: tickets keep the account's id.
pub fn remove(
    store: &mut Store,
    id: &str,
    checks: &Checks,
    now: DateTime<Utc>,
) -> Result<String, AccountError> {
    store.write(|tx| {
        let a = owned_by_cli(tx, id, checks)?;
        let children = tx.read().account_children(&a.id)?;
        if !children.is_empty() {
            return Err(AccountError::HasChildren(a.id, children.join(", ")));
        }
        tx.delete_account(&a.id)?;
        tx.add_account_event(&a.id, now, "cli", "removed", None)?;
        Ok(a.id)
    })
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
}

/// `postdesk account import FILE`: adds the file's accounts and updates
/// those that exist (their CLI entries become the file's; entries added by
/// mail stay), in one transaction — all or nothing. Declared accounts are
/// refused: the config owns them.
pub fn import(
    store: &mut Store,
    specs: &[AccountSpec],
    checks: &Checks,
    now: DateTime<Utc>,
) -> Result<ImportReport, AccountError> {
    for s in specs {
        checks.spec(s)?;
    }
    store.write(|tx| {
        let mut report = ImportReport::default();
        for spec in specs {
            match tx.read().account(spec.id.as_str())? {
                Some(a) if a.declared => {
                    return Err(AccountError::Declared(a.id, checks.origin.clone()));
                }
                Some(a) => {
                    let mut spec = spec.clone();
                    spec.id = AccountId::parse(&a.id).unwrap_or(spec.id);
                    let same = same_fields(&spec, &a);
                    if !same {
                        tx.update_account(&spec, false, now)?;
                    }
                    let (added, removed) = tx.replace_account_senders(
                        &a.id,
                        SenderSource::Cli,
                        &spec.authorized,
                        now,
                    )?;
                    if same && added.is_empty() && removed.is_empty() {
                        report.unchanged += 1;
                    } else {
                        tx.add_account_event(&a.id, now, "cli", "updated by import", None)?;
                        report.updated += 1;
                    }
                }
                None => {
                    tx.insert_account(spec, SenderSource::Cli, now)?;
                    tx.add_account_event(spec.id.as_str(), now, "cli", "created by import", None)?;
                    report.added += 1;
                }
            }
        }
        // Parents last: they may come later in the file.
        for spec in specs {
            if let Some(p) = &spec.parent
                && tx.read().account_brief(p.as_str())?.is_none()
            {
                return Err(AccountError::NoParent {
                    what: format!("the parent of {}", spec.id),
                    parent: p.to_string(),
                });
            }
            let canonical = check_parent(tx, spec.id.as_str(), spec.parent.as_ref())?;
            if canonical.as_ref().map(AccountId::as_str)
                != spec.parent.as_ref().map(AccountId::as_str)
            {
                let mut spelled = spec.clone();
                spelled.parent = canonical;
                tx.update_account(&spelled, false, now)?;
            }
        }
        Ok(report)
    })
}

/// Checks a support PIN given for `account` (issue 19): against the
/// account's slow hash, unless its PIN checks are locked. A wrong PIN is
/// recorded; the [`MAX_WRONG_PINS`]th within a day locks PIN checks for
/// the account until staff reset them (`account set --pin-reset`). The PIN
/// itself is never stored or logged.
///
/// [`MAX_WRONG_PINS`]: crate::domain::proof::MAX_WRONG_PINS
pub fn check_pin(
    tx: &mut Tx<'_>,
    account: &str,
    pin: &str,
    at: DateTime<Utc>,
) -> Result<crate::domain::proof::PinCheck, StoreError> {
    use crate::domain::proof::{MAX_WRONG_PINS, PinCheck, pin_matches};
    let Some((Some(hash), locked)) = tx.read().account_pin(account)? else {
        return Ok(PinCheck::NotChecked);
    };
    if locked {
        return Ok(PinCheck::Locked);
    }
    if pin_matches(pin, &hash) {
        return Ok(PinCheck::Matched);
    }
    tx.add_pin_failure(account, at)?;
    let failures = tx
        .read()
        .pin_failures_since(account, at - chrono::Duration::hours(24))?;
    let locked = failures >= MAX_WRONG_PINS;
    if locked {
        tx.lock_pin(account, at)?;
        tracing::warn!(
            account,
            failures,
            "support PIN checks locked after wrong PINs"
        );
    }
    Ok(PinCheck::Wrong { failures, locked })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Language;
    use chrono::TimeZone;

    fn spec(id: &str, primary: &str, authorized: &str) -> AccountSpec {
        AccountSpec {
            id: AccountId::parse(id).unwrap(),
            name: format!("Account {id}"),
            primary: Address::parse(primary).unwrap(),
            authorized: SenderPattern::parse_list(authorized).unwrap(),
            language: None,
            parent: None,
            delegates: vec![],
            priority: false,
            require_authentication: None,
            pin_hash: None,
            openpgp_key: None,
            smime_cert: None,
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 16, 9, 0, 0).unwrap()
    }

    #[test]
    fn sync_adds_updates_removes_and_keeps_entries_of_others() {
        let mut store = Store::open_in_memory().unwrap();
        let a = spec(
            "cust-001",
            "admin@customer.example",
            "ops@customer.example, customer.example",
        );
        let mut b = spec("isp-01", "noc@isp.example", "isp.example");
        b.priority = true;
        let r = sync_declared(&mut store, &[a.clone(), b.clone()], now()).unwrap();
        assert_eq!(
            (r.added, r.updated, r.removed, r.unchanged),
            (2, 0, 0, false)
        );
        // The same set again: one digest compared, nothing written.
        assert!(
            sync_declared(&mut store, &[a.clone(), b.clone()], now())
                .unwrap()
                .unchanged
        );

        // Mail adds an entry of its own to a declared account.
        store
            .write(|tx| {
                tx.add_account_sender(
                    "cust-001",
                    &SenderPattern::parse("boss@customer.example").unwrap(),
                    SenderSource::Mail,
                    now(),
                )
            })
            .unwrap();
        // The config drops one entry, changes a field, and drops account b.
        let mut a2 = spec("CUST-001", "admin@customer.example", "customer.example");
        a2.language = Some(Language::Fr);
        let r = sync_declared(&mut store, std::slice::from_ref(&a2), now()).unwrap();
        assert_eq!((r.added, r.updated, r.removed), (0, 1, 1));
        let got = store.read().account("cust-001").unwrap().unwrap();
        assert_eq!(got.id, "cust-001", "the first spelling of the id stays");
        assert_eq!(got.language.as_deref(), Some("fr"));
        assert_eq!(
            got.authorized,
            ["boss@customer.example", "customer.example"]
        );
        assert!(store.read().account("isp-01").unwrap().is_none());
        let events = store.read().account_events("isp-01", 10).unwrap();
        assert!(events.last().unwrap().detail.contains("no longer declared"));
    }

    #[test]
    fn cli_changes_respect_the_config_and_parents() {
        let mut store = Store::open_in_memory().unwrap();
        let checks = Checks::default();
        sync_declared(
            &mut store,
            &[spec("decl", "a@d.example", "d.example")],
            now(),
        )
        .unwrap();
        add(
            &mut store,
            &spec("isp", "noc@isp.example", ""),
            &checks,
            now(),
        )
        .unwrap();
        let mut child = spec("child", "c@c.example", "");
        child.parent = Some(AccountId::parse("ISP").unwrap());
        add(&mut store, &child, &checks, now()).unwrap();
        assert!(matches!(
            add(
                &mut store,
                &spec("Child", "x@x.example", ""),
                &checks,
                now()
            ),
            Err(AccountError::Exists(_))
        ));
        let mut orphan = spec("orphan", "o@o.example", "");
        orphan.parent = Some(AccountId::parse("nope").unwrap());
        assert!(matches!(
            add(&mut store, &orphan, &checks, now()),
            Err(AccountError::NoParent { .. })
        ));
        // A parent loop through two accounts.
        let e = set(&mut store, "isp", &checks, now(), |s| {
            s.parent = Some(AccountId::parse("child").unwrap())
        });
        assert!(matches!(e, Err(AccountError::ParentLoop(_))), "{e:?}");
        assert!(matches!(
            remove(&mut store, "isp", &checks, now()),
            Err(AccountError::HasChildren(..))
        ));
        // Declared: fields and the config's entries are the config's.
        assert!(matches!(
            set(&mut store, "decl", &checks, now(), |s| s.priority = true),
            Err(AccountError::Declared(..))
        ));
        let p = SenderPattern::parse("d.example").unwrap();
        assert!(matches!(
            revoke(&mut store, "decl", &[p], now()),
            Err(AccountError::ConfigEntry(_))
        ));
        let extra = SenderPattern::parse("x@elsewhere.example").unwrap();
        let done = authorize(&mut store, "decl", &[extra.clone(), extra.clone()], now()).unwrap();
        assert_eq!(done[0].1, EntryChange::Added);
        assert_eq!(done[1].1, EntryChange::Unchanged);
        let done = revoke(&mut store, "decl", &[extra], now()).unwrap();
        assert_eq!(done[0].1, EntryChange::Removed);
        // Authentication cannot be required where it cannot be checked.
        let mut strict = spec("strict", "s@s.example", "");
        strict.require_authentication = Some(true);
        assert!(matches!(
            add(&mut store, &strict, &checks, now()),
            Err(AccountError::NeedsAuthservId)
        ));
    }

    #[test]
    fn import_is_all_or_nothing() {
        let mut store = Store::open_in_memory().unwrap();
        let checks = Checks::default();
        let mut child = spec("child", "c@c.example", "c.example");
        child.parent = Some(AccountId::parse("isp").unwrap());
        let isp = spec("isp", "noc@isp.example", "isp.example");
        let r = import(&mut store, &[child.clone(), isp.clone()], &checks, now()).unwrap();
        assert_eq!(
            r,
            ImportReport {
                added: 2,
                updated: 0,
                unchanged: 0
            }
        );
        let r = import(&mut store, &[child.clone(), isp.clone()], &checks, now()).unwrap();
        assert_eq!(r.unchanged, 2);
        let mut bad = spec("bad", "b@b.example", "");
        bad.parent = Some(AccountId::parse("missing").unwrap());
        let mut renamed = isp.clone();
        renamed.name = "Changed".into();
        assert!(import(&mut store, &[renamed, bad], &checks, now()).is_err());
        assert_eq!(
            store.read().account("isp").unwrap().unwrap().name,
            "Account isp"
        );
        assert!(store.read().account("bad").unwrap().is_none());
    }
}
