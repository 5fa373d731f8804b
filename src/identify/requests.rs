//! What a message asks for in words: the account it names (`[account ID]`
//! in the subject, `Account: ID` on its first line) and the self-service
//! lines of a request to change an account's authorized senders.

use std::sync::LazyLock;

use regex::Regex;

use super::SelfServiceCommand;
use crate::domain::SenderPattern;
use crate::parse::Inbound;
use crate::thread::strip_reply_prefixes;

/// `authorized senders` (or `authorised`), after any `Re:`.
pub(super) fn is_self_service_subject(subject: &str) -> bool {
    let s = strip_reply_prefixes(subject).trim();
    s.eq_ignore_ascii_case("authorized senders") || s.eq_ignore_ascii_case("authorised senders")
}

static SUBJECT_ACCOUNT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\[\s*account\s*:?\s+([A-Za-z0-9][A-Za-z0-9_.-]{0,63})\s*\]")
        .expect("static regex")
});

static BODY_ACCOUNT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^account\s*:\s*([A-Za-z0-9][A-Za-z0-9_.-]{0,63})$").expect("static regex")
});

/// The account a message names: `[account ID]` in the subject, or
/// `Account: ID` as the first line of the new text.
pub fn named_account(inbound: &Inbound) -> Option<String> {
    if let Some(c) = SUBJECT_ACCOUNT.captures(&inbound.subject) {
        return Some(c[1].to_string());
    }
    let first = inbound
        .new_text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())?;
    BODY_ACCOUNT.captures(first).map(|c| c[1].to_string())
}

/// The self-service lines of a message's new text, up to the signature:
/// `add X`, `remove X` (X: addresses, domains, `*.domain`, several allowed
/// with commas), `list`. An `Account:` line names the account and is not a
/// command. At most 100 commands.
pub fn commands(text: &str) -> Vec<SelfServiceCommand> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if line == "--" || line.starts_with("-- ") || out.len() >= 100 {
            break;
        }
        if line.is_empty() || BODY_ACCOUNT.is_match(line) {
            continue;
        }
        let (verb, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let rest = rest.trim();
        let patterns = || {
            SenderPattern::parse_list(rest)
                .ok()
                .filter(|p| !p.is_empty())
        };
        match verb.to_ascii_lowercase().as_str() {
            "add" => match patterns() {
                Some(list) => out.extend(list.into_iter().map(SelfServiceCommand::Add)),
                None => out.push(SelfServiceCommand::Unknown(line.to_string())),
            },
            "remove" | "delete" | "revoke" => match patterns() {
                Some(list) => out.extend(list.into_iter().map(SelfServiceCommand::Remove)),
                None => out.push(SelfServiceCommand::Unknown(line.to_string())),
            },
            "list" if rest.is_empty() => out.push(SelfServiceCommand::List),
            _ => out.push(SelfServiceCommand::Unknown(line.to_string())),
        }
    }
    out
}
