//! Customer accounts: their authorized senders, delegates and history; the
//! lookups the identify stage makes per message (indexed, never a scan of
//! all accounts); and the confirmation codes sent to unknown senders.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::{Reader, Result, StoreError, Tx, from_ts, json, ts};
use crate::domain::{AccountId, AccountSpec, Address, Language, SenderPattern, TicketId};

/// Who put an authorized sender on an account. The config owns its own
/// entries: a start re-applies them, and neither mail nor CLI removes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SenderSource {
    Config,
    Cli,
    Mail,
}

impl SenderSource {
    pub fn as_str(self) -> &'static str {
        match self {
            SenderSource::Config => "config",
            SenderSource::Cli => "cli",
            SenderSource::Mail => "mail",
        }
    }

    fn parse(s: &str) -> SenderSource {
        match s {
            "config" => SenderSource::Config,
            "mail" => SenderSource::Mail,
            _ => SenderSource::Cli,
        }
    }
}

/// An account as `account show/list --json` prints it; the field names are
/// the scripts' interface.
#[derive(Debug, Clone, Serialize)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub primary: String,
    /// As written: `ops@customer.example`, `customer.example`, `*.customer.example`.
    pub authorized: Vec<String>,
    pub language: Option<String>,
    pub parent: Option<String>,
    pub delegates: Vec<String>,
    pub priority: bool,
    /// `null`: the `[intake]` setting applies.
    pub require_authentication: Option<bool>,
    /// Declared in the config, which owns it.
    pub declared: bool,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    /// The authorized senders with who added them and when.
    #[serde(skip)]
    pub senders: Vec<SenderEntry>,
}

impl Account {
    /// The spec of a stored account (its senders of every source).
    pub fn spec(&self) -> Result<AccountSpec, StoreError> {
        let a = self;
        let corrupt = |e: String| StoreError::Corrupt(format!("account {}: {e}", a.id));
        Ok(AccountSpec {
            id: AccountId::parse(&a.id).map_err(|e| corrupt(e.to_string()))?,
            name: a.name.clone(),
            primary: Address::parse(&a.primary).map_err(|e| corrupt(e.to_string()))?,
            authorized: a
                .authorized
                .iter()
                .map(|p| SenderPattern::parse(p).map_err(|e| corrupt(e.to_string())))
                .collect::<Result<_, _>>()?,
            language: a
                .language
                .as_deref()
                .and_then(|l| Language::ALL.into_iter().find(|x| x.as_str() == l)),
            parent: a.parent.as_deref().and_then(|p| AccountId::parse(p).ok()),
            delegates: a
                .delegates
                .iter()
                .map(|d| Address::parse(d).map_err(|e| corrupt(e.to_string())))
                .collect::<Result<_, _>>()?,
            priority: a.priority,
            require_authentication: a.require_authentication,
            // The hash stays in the store; a spec read back carries none.
            pin_hash: None,
            // Key files are the config's, never stored.
            openpgp_key: None,
            smime_cert: None,
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SenderEntry {
    pub sender: String,
    pub kind: String,
    pub source: SenderSource,
    pub added: DateTime<Utc>,
}

/// What identify needs of an account for each message.
#[derive(Debug, Clone)]
pub struct AccountBrief {
    pub id: String,
    pub parent: Option<String>,
    pub priority: bool,
    pub require_authentication: Option<bool>,
    pub language: Option<String>,
}

/// One rule that may let an address in: `kind` is `primary`, `address`,
/// `domain` or `subdomains`; `pattern` as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleRow {
    pub account: String,
    pub kind: String,
    pub pattern: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AccountEvent {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<i64>,
}

/// A confirmation code sent to an unknown sender, waiting or done.
#[derive(Debug, Clone)]
pub struct Verification {
    pub id: i64,
    pub quarantine: i64,
    pub sender_key: String,
    pub expires: DateTime<Utc>,
    pub used: Option<DateTime<Utc>>,
    /// The held message was released (or deleted) meanwhile.
    pub settled: bool,
    /// Wrong codes its sender tried while it waited.
    pub failed_attempts: u32,
}

const ACCOUNT_COLUMNS: &str =
    "id, name, primary_addr, language, parent, priority, require_auth, declared,
     created_at, updated_at";

fn account_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Account> {
    Ok(Account {
        id: r.get(0)?,
        name: r.get(1)?,
        primary: r.get(2)?,
        authorized: Vec::new(),
        language: r.get(3)?,
        parent: r.get(4)?,
        delegates: Vec::new(),
        priority: r.get(5)?,
        require_authentication: r.get(6)?,
        declared: r.get(7)?,
        created: from_ts(r.get(8)?),
        updated: from_ts(r.get(9)?),
        senders: Vec::new(),
    })
}

fn sender_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, SenderEntry)> {
    Ok((
        r.get(0)?,
        SenderEntry {
            sender: r.get(1)?,
            kind: r.get(2)?,
            source: SenderSource::parse(&r.get::<_, String>(3)?),
            added: from_ts(r.get(4)?),
        },
    ))
}

const VERIFICATION_SELECT: &str =
    "SELECT v.id, v.quarantine, v.sender_key, v.expires_at, v.used_at,
            q.released_at IS NOT NULL, v.failed_attempts
     FROM verifications v JOIN quarantine q ON q.id = v.quarantine";

fn verification_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Verification> {
    Ok(Verification {
        id: r.get(0)?,
        quarantine: r.get(1)?,
        sender_key: r.get(2)?,
        expires: from_ts(r.get(3)?),
        used: r.get::<_, Option<i64>>(4)?.map(from_ts),
        settled: r.get(5)?,
        failed_attempts: r.get(6)?,
    })
}

impl Tx<'_> {
    /// Creates an account with its authorized senders (of `source`) and delegates.
    pub fn insert_account(
        &mut self,
        a: &AccountSpec,
        source: SenderSource,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.exec(
            "INSERT INTO accounts (id, name, primary_addr, primary_key, language, parent, priority,
                 require_auth, declared, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)",
            params![
                a.id.as_str(),
                a.name,
                a.primary.as_str(),
                a.primary.lookup_key(),
                a.language.map(|l| l.as_str()),
                a.parent.as_ref().map(|p| p.as_str()),
                a.priority,
                a.require_authentication,
                source == SenderSource::Config,
                ts(at),
            ],
        )?;
        for p in &a.authorized {
            self.add_account_sender(a.id.as_str(), p, source, at)?;
        }
        self.set_account_delegates(a.id.as_str(), &a.delegates)?;
        Ok(())
    }

    /// Sets every field of an existing account from `a` (its id stays), and
    /// whether the config owns it. Authorized senders are not touched.
    pub fn update_account(
        &mut self,
        a: &AccountSpec,
        declared: bool,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        let n = self.exec(
            "UPDATE accounts SET name = ?2, primary_addr = ?3, primary_key = ?4, language = ?5,
                 parent = ?6, priority = ?7, require_auth = ?8, declared = ?9, updated_at = ?10
             WHERE id = ?1",
            params![
                a.id.as_str(),
                a.name,
                a.primary.as_str(),
                a.primary.lookup_key(),
                a.language.map(|l| l.as_str()),
                a.parent.as_ref().map(|p| p.as_str()),
                a.priority,
                a.require_authentication,
                declared,
                ts(at),
            ],
        )?;
        self.set_account_delegates(a.id.as_str(), &a.delegates)?;
        Ok(n == 1)
    }

    pub fn set_account_delegates(&mut self, account: &str, delegates: &[Address]) -> Result<()> {
        self.exec(
            "DELETE FROM account_delegates WHERE account = ?1",
            params![account],
        )?;
        for d in delegates {
            self.exec(
                "INSERT INTO account_delegates (account, address_key, address) VALUES (?1, ?2, ?3)
                 ON CONFLICT DO NOTHING",
                params![account, d.key(), d.as_str()],
            )?;
        }
        Ok(())
    }

    /// Adds an authorized sender; `false` when the account already had it.
    pub fn add_account_sender(
        &mut self,
        account: &str,
        p: &SenderPattern,
        source: SenderSource,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        let n = self.exec(
            "INSERT INTO account_senders (account, pattern, kind, key, source, added_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (account, pattern) DO NOTHING",
            params![
                account,
                p.normalized(),
                p.kind(),
                p.lookup_key(),
                source.as_str(),
                ts(at)
            ],
        )?;
        if n == 1 {
            self.touch_account(account, at)?;
        }
        Ok(n == 1)
    }

    /// Removes an authorized sender; `false` when the account did not have it.
    pub fn remove_account_sender(
        &mut self,
        account: &str,
        p: &SenderPattern,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        let n = self.exec(
            "DELETE FROM account_senders WHERE account = ?1 AND pattern = ?2",
            params![account, p.normalized()],
        )?;
        if n == 1 {
            self.touch_account(account, at)?;
        }
        Ok(n == 1)
    }

    /// Makes the account's senders of `source` exactly `wanted` (other
    /// sources' entries stay); says what was added and removed.
    pub fn replace_account_senders(
        &mut self,
        account: &str,
        source: SenderSource,
        wanted: &[SenderPattern],
        at: DateTime<Utc>,
    ) -> Result<(Vec<String>, Vec<String>)> {
        let have: Vec<(String, SenderEntry)> = {
            let mut stmt = self.tx.prepare_cached(
                "SELECT account, pattern, kind, source, added_at FROM account_senders
                 WHERE account = ?1 ORDER BY pattern",
            )?;
            stmt.query_map(params![account], sender_from_row)?
                .collect::<Result<_, _>>()?
        };
        let wanted_keys: Vec<String> = wanted.iter().map(|p| p.normalized()).collect();
        let mut removed = Vec::new();
        for (_, e) in &have {
            if e.source == source && !wanted_keys.contains(&e.sender) {
                self.exec(
                    "DELETE FROM account_senders WHERE account = ?1 AND pattern = ?2",
                    params![account, e.sender],
                )?;
                removed.push(e.sender.clone());
            }
        }
        let mut added = Vec::new();
        for p in wanted {
            let key = p.normalized();
            match have.iter().find(|(_, e)| e.sender == key) {
                None => {
                    self.add_account_sender(account, p, source, at)?;
                    added.push(key);
                }
                // The config takes over an entry that mail or the CLI added.
                Some((_, e)) if e.source != source => {
                    self.exec(
                        "UPDATE account_senders SET source = ?3 WHERE account = ?1 AND pattern = ?2",
                        params![account, key, source.as_str()],
                    )?;
                }
                Some(_) => {}
            }
        }
        if !removed.is_empty() {
            self.touch_account(account, at)?;
        }
        Ok((added, removed))
    }

    fn touch_account(&mut self, account: &str, at: DateTime<Utc>) -> Result<()> {
        self.exec(
            "UPDATE accounts SET updated_at = max(updated_at, ?2) WHERE id = ?1",
            params![account, ts(at)],
        )?;
        Ok(())
    }

    /// Deletes an account with its senders and delegates; its history and
    /// its tickets stay. `false` when there was none.
    pub fn delete_account(&mut self, account: &str) -> Result<bool> {
        Ok(self.exec("DELETE FROM accounts WHERE id = ?1", params![account])? == 1)
    }

    pub fn add_account_event(
        &mut self,
        account: &str,
        at: DateTime<Utc>,
        actor: &str,
        detail: &str,
        message: Option<i64>,
    ) -> Result<()> {
        self.exec(
            "INSERT INTO account_events (account, at, actor, detail, message)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![account, ts(at), actor, detail, message],
        )?;
        Ok(())
    }

    /// Files a ticket under `account` (or none), settling an ambiguity.
    pub fn set_ticket_account(&mut self, ticket: TicketId, account: Option<&str>) -> Result<bool> {
        Ok(self.exec(
            "UPDATE tickets SET account = ?2, account_candidates = NULL WHERE id = ?1",
            params![ticket.0, account],
        )? == 1)
    }

    /// Records the accounts an ambiguous sender matched, for staff.
    pub fn set_ticket_candidates(&mut self, ticket: TicketId, accounts: &[String]) -> Result<()> {
        self.exec(
            "UPDATE tickets SET account_candidates = ?2 WHERE id = ?1",
            params![ticket.0, json(&accounts)],
        )?;
        Ok(())
    }

    pub fn set_ticket_flags(
        &mut self,
        ticket: TicketId,
        priority: bool,
        unverified: bool,
    ) -> Result<()> {
        self.exec(
            "UPDATE tickets SET priority = ?2, unverified = ?3 WHERE id = ?1",
            params![ticket.0, priority, unverified],
        )?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    pub fn add_verification(
        &mut self,
        quarantine: i64,
        sender: &Address,
        code_hash: &str,
        outbox: i64,
        at: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> Result<i64> {
        self.exec(
            "INSERT INTO verifications (quarantine, sender_key, code_hash, outbox, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                quarantine,
                sender.key(),
                code_hash,
                outbox,
                ts(at),
                ts(expires)
            ],
        )?;
        Ok(self.tx.last_insert_rowid())
    }

    /// Marks a code used: it never works again.
    pub fn use_verification(&mut self, id: i64, at: DateTime<Utc>) -> Result<()> {
        self.exec(
            "UPDATE verifications SET used_at = ?2 WHERE id = ?1 AND used_at IS NULL",
            params![id, ts(at)],
        )?;
        Ok(())
    }

    /// Counts one wrong code against a waiting message; returns how many
    /// it has had.
    pub fn fail_verification(&mut self, id: i64) -> Result<u32> {
        self.exec(
            "UPDATE verifications SET failed_attempts = failed_attempts + 1 WHERE id = ?1",
            params![id],
        )?;
        Ok(self
            .tx
            .prepare_cached("SELECT failed_attempts FROM verifications WHERE id = ?1")?
            .query_row(params![id], |r| r.get(0))?)
    }

    /// Adds `note` to the reason a held message is kept for (what
    /// `quarantine list` and `show` print), after a semicolon.
    pub fn note_on_quarantined(&mut self, quarantine: i64, note: &str) -> Result<()> {
        self.exec(
            "UPDATE quarantine SET reason = reason || '; ' || ?2 WHERE id = ?1",
            params![quarantine, note],
        )?;
        Ok(())
    }
}

impl Reader<'_> {
    /// The account with this id (any case), with senders and delegates.
    pub fn account(&self, id: &str) -> Result<Option<Account>> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = ?1");
        let Some(mut a) = self
            .conn
            .prepare_cached(&sql)?
            .query_row(params![id], account_from_row)
            .optional()?
        else {
            return Ok(None);
        };
        a.senders = self
            .conn
            .prepare_cached(
                "SELECT account, pattern, kind, source, added_at FROM account_senders
                 WHERE account = ?1 ORDER BY kind, pattern",
            )?
            .query_map(params![a.id], sender_from_row)?
            .map(|r| r.map(|(_, e)| e))
            .collect::<Result<_, _>>()?;
        a.authorized = a.senders.iter().map(|e| e.sender.clone()).collect();
        a.delegates = self
            .conn
            .prepare_cached(
                "SELECT address FROM account_delegates WHERE account = ?1 ORDER BY address_key",
            )?
            .query_map(params![a.id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(Some(a))
    }

    /// Every account (only the children of `parent` if given), by id. Three
    /// queries whatever the number of accounts.
    pub fn accounts(&self, parent: Option<&str>) -> Result<Vec<Account>> {
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE ?1 IS NULL OR parent = ?1 ORDER BY id"
        );
        let mut accounts: Vec<Account> = self
            .conn
            .prepare(&sql)?
            .query_map(params![parent], account_from_row)?
            .collect::<Result<_, _>>()?;
        let index: HashMap<String, usize> = accounts
            .iter()
            .enumerate()
            .map(|(i, a)| (a.id.to_ascii_lowercase(), i))
            .collect();
        let mut stmt = self.conn.prepare(
            "SELECT account, pattern, kind, source, added_at FROM account_senders ORDER BY account, kind, pattern",
        )?;
        for row in stmt.query_map([], sender_from_row)? {
            let (account, e) = row?;
            if let Some(&i) = index.get(&account.to_ascii_lowercase()) {
                accounts[i].authorized.push(e.sender.clone());
                accounts[i].senders.push(e);
            }
        }
        let mut stmt = self.conn.prepare(
            "SELECT account, address FROM account_delegates ORDER BY account, address_key",
        )?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))? {
            let (account, address) = row?;
            if let Some(&i) = index.get(&account.to_ascii_lowercase()) {
                accounts[i].delegates.push(address);
            }
        }
        Ok(accounts)
    }

    pub fn account_brief(&self, id: &str) -> Result<Option<AccountBrief>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT id, parent, priority, require_auth, language FROM accounts WHERE id = ?1",
            )?
            .query_row(params![id], |r| {
                Ok(AccountBrief {
                    id: r.get(0)?,
                    parent: r.get(1)?,
                    priority: r.get(2)?,
                    require_authentication: r.get(3)?,
                    language: r.get(4)?,
                })
            })
            .optional()?)
    }

    /// The ids of the accounts whose parent is `id`.
    pub fn account_children(&self, id: &str) -> Result<Vec<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT id FROM accounts WHERE parent = ?1 ORDER BY id")?
            .query_map(params![id], |r| r.get(0))?
            .collect::<Result<_, _>>()?)
    }

    pub fn account_delegates(&self, id: &str) -> Result<Vec<Address>> {
        let rows: Vec<String> = self
            .conn
            .prepare_cached(
                "SELECT address FROM account_delegates WHERE account = ?1 ORDER BY address_key",
            )?
            .query_map(params![id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        rows.iter()
            .map(|a| Address::parse(a).map_err(|e| StoreError::Corrupt(e.to_string())))
            .collect()
    }

    /// Where an authorized sender came from; `None` when the account lacks it.
    pub fn account_sender_source(
        &self,
        account: &str,
        p: &SenderPattern,
    ) -> Result<Option<SenderSource>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT source FROM account_senders WHERE account = ?1 AND pattern = ?2",
            )?
            .query_row(params![account, p.normalized()], |r| r.get::<_, String>(0))
            .optional()?
            .map(|s| SenderSource::parse(&s)))
    }

    /// The newest events of an account first, at most `limit`.
    pub fn account_events(&self, id: &str, limit: usize) -> Result<Vec<AccountEvent>> {
        let mut rows: Vec<AccountEvent> = self
            .conn
            .prepare_cached(
                "SELECT at, actor, detail, message FROM account_events WHERE account = ?1
                 ORDER BY id DESC LIMIT ?2",
            )?
            .query_map(params![id, limit as i64], |r| {
                Ok(AccountEvent {
                    at: from_ts(r.get(0)?),
                    actor: r.get(1)?,
                    detail: r.get(2)?,
                    message: r.get(3)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        rows.reverse();
        Ok(rows)
    }

    pub fn declared_account_ids(&self) -> Result<Vec<String>> {
        Ok(self
            .conn
            .prepare("SELECT id FROM accounts WHERE declared = 1 ORDER BY id")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?)
    }

    pub fn account_count(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM accounts", [], |r| r.get(0))?)
    }

    /// The rules that may let `address` in: primary addresses and address
    /// entries with its lookup key, entries for its domain, and wildcard
    /// entries for each parent domain. Index lookups only; identify makes
    /// the exact comparison.
    pub fn sender_rules(&self, address: &Address) -> Result<Vec<RuleRow>> {
        let parents = json(&address.parent_domains());
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, 'primary', primary_addr FROM accounts WHERE primary_key = ?1
             UNION ALL
             SELECT account, kind, pattern FROM account_senders WHERE kind = 'address' AND key = ?1
             UNION ALL
             SELECT account, kind, pattern FROM account_senders WHERE kind = 'domain' AND key = ?2
             UNION ALL
             SELECT account, kind, pattern FROM account_senders
             WHERE kind = 'subdomains' AND key IN (SELECT value FROM json_each(?3))",
        )?;
        let rows = stmt.query_map(
            params![address.lookup_key(), address.domain(), parents],
            |r| {
                Ok(RuleRow {
                    account: r.get(0)?,
                    kind: r.get(1)?,
                    pattern: r.get(2)?,
                })
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// `Some(account)` when the ticket exists (the account may be none).
    pub fn ticket_account(&self, ticket: TicketId) -> Result<Option<Option<String>>> {
        Ok(self
            .conn
            .prepare_cached("SELECT account FROM tickets WHERE id = ?1")?
            .query_row(params![ticket.0], |r| r.get(0))
            .optional()?)
    }

    pub fn is_participant(&self, ticket: TicketId, who: &Address) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM participants WHERE ticket_id = ?1 AND address_key = ?2")?
            .exists(params![ticket.0, who.key()])?)
    }

    /// Whether one of `message_ids` is a mail postdesk sent to the
    /// customer side of `ticket`.
    pub fn sent_on_ticket(&self, ticket: TicketId, message_ids: &[String]) -> Result<bool> {
        if message_ids.is_empty() {
            return Ok(false);
        }
        Ok(self
            .conn
            .prepare_cached(SENT_ON_TICKET)?
            .exists(params![ticket.0, json(&message_ids)])?)
    }

    /// Whether one of `message_ids` is a staff-side mail postdesk sent to
    /// one of the addresses `to`.
    pub fn sent_to_staff(&self, message_ids: &[String], to: &[Address]) -> Result<bool> {
        if message_ids.is_empty() || to.is_empty() {
            return Ok(false);
        }
        let keys: Vec<String> = to.iter().map(|a| a.key()).collect();
        Ok(self
            .conn
            .prepare_cached(
                "SELECT 1 FROM outbox o, json_each(o.rcpt) r
                 WHERE o.audience = 'staff'
                 AND o.message_id IN (SELECT value FROM json_each(?1))
                 AND lower(r.value) IN (SELECT value FROM json_each(?2))",
            )?
            .exists(params![json(&message_ids), json(&keys)])?)
    }

    /// Whether one of `message_ids` is a confirmation request we sent.
    pub fn confirmation_sent(&self, message_ids: &[String]) -> Result<bool> {
        if message_ids.is_empty() {
            return Ok(false);
        }
        Ok(self
            .conn
            .prepare_cached(
                "SELECT 1 FROM outbox WHERE kind = 'confirm'
                 AND message_id IN (SELECT value FROM json_each(?1))",
            )?
            .exists(params![json(&message_ids)])?)
    }

    pub fn verification_by_code(&self, code_hash: &str) -> Result<Option<Verification>> {
        let sql = format!("{VERIFICATION_SELECT} WHERE v.code_hash = ?1");
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row(params![code_hash], verification_from_row)
            .optional()?)
    }

    /// The verification whose confirmation mail has one of `message_ids`.
    pub fn verification_by_mail(&self, message_ids: &[String]) -> Result<Option<Verification>> {
        let sql = format!(
            "{VERIFICATION_SELECT} JOIN outbox o ON o.id = v.outbox
             WHERE o.message_id IN (SELECT value FROM json_each(?1)) LIMIT 1"
        );
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row(params![json(&message_ids)], verification_from_row)
            .optional()?)
    }

    pub fn verification_of_quarantine(&self, quarantine: i64) -> Result<Option<Verification>> {
        let sql = format!("{VERIFICATION_SELECT} WHERE v.quarantine = ?1 LIMIT 1");
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row(params![quarantine], verification_from_row)
            .optional()?)
    }

    /// The codes sent to `sender_key` (an address key) not used yet, still
    /// valid at `now`, whose message still waits: oldest first.
    pub fn pending_verifications(
        &self,
        sender_key: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Verification>> {
        let sql = format!(
            "{VERIFICATION_SELECT} WHERE v.sender_key = ?1 AND v.expires_at > ?2
             AND v.used_at IS NULL AND q.released_at IS NULL ORDER BY v.id"
        );
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_map(params![sender_key, ts(now)], verification_from_row)?
            .collect::<Result<_, _>>()?)
    }

    /// Automatic mails of `kind` queued to `to` since `since`.
    pub fn mails_of_kind_to(&self, to: &Address, kind: &str, since: DateTime<Utc>) -> Result<u32> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT count(*) FROM outbox WHERE rcpt_key = ?1 AND automatic = 1
                 AND created_at >= ?2 AND kind = ?3",
            )?
            .query_row(params![to.key(), ts(since), kind], |r| r.get(0))?)
    }

    pub fn outbox_has(&self, message_id: &str) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM outbox WHERE message_id = ?1")?
            .exists(params![message_id])?)
    }
}

/// Looks up each named Message-ID (the outbox's unique index), then its
/// ticket: the order CROSS JOIN fixes. Led by `ticket_id`, SQLite walked
/// every mail of the ticket — a long thread's whole outbox per reply.
pub(super) const SENT_ON_TICKET: &str = "SELECT 1 FROM json_each(?2) j
     CROSS JOIN outbox o ON o.message_id = j.value
     WHERE o.ticket_id = ?1 AND o.audience = 'customer'";

#[cfg(test)]
mod tests {
    use super::super::Store;

    /// Matching a sender must not scan the accounts: every table of the
    /// per-message lookups is reached through an index, whatever their size.
    #[test]
    fn sender_lookups_use_indexes_not_scans() {
        let store = Store::open_in_memory().unwrap();
        let plan = |sql: &str| -> String {
            let mut stmt = store
                .read()
                .conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap();
            let n = stmt.parameter_count();
            let rows = stmt
                .query_map(
                    rusqlite::params_from_iter(std::iter::repeat_n("[]", n)),
                    |r| r.get::<_, String>(3),
                )
                .unwrap();
            rows.map(Result::unwrap).collect::<Vec<_>>().join("\n")
        };
        for sql in [
            "SELECT id, 'primary', primary_addr FROM accounts WHERE primary_key = ?1
             UNION ALL
             SELECT account, kind, pattern FROM account_senders WHERE kind = 'address' AND key = ?1
             UNION ALL
             SELECT account, kind, pattern FROM account_senders WHERE kind = 'domain' AND key = ?2
             UNION ALL
             SELECT account, kind, pattern FROM account_senders
             WHERE kind = 'subdomains' AND key IN (SELECT value FROM json_each(?3))",
            "SELECT id, parent, priority, require_auth, language FROM accounts WHERE id = ?1",
            "SELECT 1 FROM participants WHERE ticket_id = ?1 AND address_key = ?2",
            "SELECT 1 FROM outbox WHERE ticket_id = ?1 AND message_id IN (SELECT value FROM json_each(?2))",
            "SELECT 1 FROM outbox WHERE kind = 'confirm' AND message_id IN (SELECT value FROM json_each(?1))",
        ] {
            let p = plan(sql);
            for table in ["accounts", "account_senders", "participants", "outbox"] {
                assert!(
                    !p.lines().any(|l| l.starts_with(&format!("SCAN {table}"))),
                    "{table} scanned:\n{p}\nfor {sql}"
                );
            }
        }
    }
}
