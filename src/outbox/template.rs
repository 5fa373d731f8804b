//! Mail body templates, per language: `<dir>/<lang>/<name>.txt` with
//! `{{placeholder}}` fields and `{{#flag}}…{{/flag}}` sections, shown only
//! when the flag is set (a flag is a placeholder with a non-empty value). A
//! section tag alone on its line takes the line with it, as in Mustache.
//! Loaded and checked once at start, so a missing file or a misspelt
//! placeholder is a start-up error, never a half-sent mail.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::domain::Language;
use crate::domain::calendar::Span;

/// Every template and the placeholders (and flags) it may use.
const TEMPLATES: &[(&str, &[&str])] = &[
    (
        "receipt",
        &[
            "name",
            "service",
            "address",
            "ticket",
            "token",
            "subject",
            "message",
            // knowledge base articles that may answer (a flag and a value)
            "suggestions",
        ],
    ),
    (
        "warning",
        &[
            "name",
            "service",
            "address",
            "ticket",
            "token",
            "subject",
            "status",
            "type",
            "created",
            "latest",
            "history",
            "earlier",
            "number",
            "since",
            "elapsed",
            "close_at",
            // flags
            "to_customer",
            "to_staff",
            "customer_rule",
            "staff_rule",
            "closes",
            "never_closes",
        ],
    ),
    (
        "closed",
        &[
            "name",
            "service",
            "address",
            "ticket",
            "token",
            "subject",
            "status",
            "type",
            "created",
            "latest",
            "history",
            "earlier",
            "elapsed",
            "by",
            "reason",
            "reopen_until",
            // flags
            "to_customer",
            "to_staff",
            "customer_rule",
            "staff_rule",
            "at_once",
            "by_operator",
            "by_customer",
            "can_reopen",
            "cannot_reopen",
            "history_whole",
            "history_attached",
        ],
    ),
    (
        "changed",
        &[
            "name",
            "service",
            "address",
            "ticket",
            "token",
            "subject",
            "status",
            "type",
            "created",
            "latest",
            "history",
            "earlier",
            "number",
            "change",
            "by",
            "reason",
            // flags
            "to_customer",
            "to_staff",
            "reopened",
        ],
    ),
    // To the staff side: a customer's message (new ticket, reply, reopen),
    // a staff note, or a delivery failure; the why-line is a flag.
    (
        "staff-notify",
        &[
            "service",
            "address",
            "ticket",
            "token",
            "subject",
            "status",
            "type",
            "created",
            "history",
            "earlier",
            "number",
            "customer",
            "message",
            "account",
            "assignee",
            "attachments",
            "failing",
            "failures",
            "staff",
            "copied",
            "last_answer_at",
            "proof",
            // flags
            "new_ticket",
            "customer_replied",
            "reopened",
            "note",
            "answered",
            "bounce",
            "priority",
            "unverified",
            // what a staff reply's commands changed (flags and values)
            "changed",
            "new_type",
            "new_status",
            "now_open",
            "now_closed",
            // who answered the customer last (a flag and a value)
            "last_answer_by",
            // knowledge base entries that may answer a new ticket
            "suggestions",
            "needs_proof",
            // mail held for confirmation that carried the ticket's token
            "held",
            "held_from",
            "held_until",
            // such a mail's code expired unused (a flag; told once)
            "held_expired",
            // an out-of-office from the customer since the last notification
            "away",
            "away_until",
        ],
    ),
    // A staff reply, relayed to the customer side.
    (
        "relay",
        &[
            "service",
            "address",
            "ticket",
            "token",
            "subject",
            "created",
            "history",
            "earlier",
            "staff",
            "message",
            "reopen_until",
            // flag: the staff text has no signature of its own, so the
            // staff member's name signs it
            "sign",
            // flag: the whole history is attached (a reply that closes)
            "history_attached",
            // what the reply's commands changed (flags and values)
            "changed",
            "new_type",
            "new_status",
            "now_open",
            "now_closed",
            "can_reopen",
            "cannot_reopen",
        ],
    ),
    // To a staff member: their mail was not applied, or not sent to everyone.
    (
        "staff-error",
        &[
            "name", "service", "address", "ticket", "token", "subject", "errors", "withheld",
            "failing",
        ],
    ),
    // To an unknown sender: reply to confirm your address (policy verify).
    (
        "confirm",
        &[
            "name", "service", "address", "subject", "code", "expires", "message",
            // flags: a stranger, or a known address whose mail could not
            // be shown genuine (staff, an account's primary address)
            "unknown", "known",
        ],
    ),
    // To an account's primary address: confirm a ticket (`#verify`).
    (
        "verify",
        &[
            "name",
            "service",
            "address",
            "ticket",
            "subject",
            "requester",
            "request",
            "code",
            "expires",
            // flag
            "reason",
        ],
    ),
    // To the staff side: a ticket's proof given, a wrong or locked PIN.
    (
        "proven",
        &[
            "service",
            "address",
            "ticket",
            "token",
            "subject",
            "status",
            "account",
            "proof",
            "by",
            "when",
            "message",
            "failures",
            "history",
            // flags
            "confirmed",
            "pin",
            "wrong_pin",
            "locked",
        ],
    ),
    // To an unknown sender: write from a registered address (policy reject).
    (
        "reject",
        &["name", "service", "address", "subject", "sender"],
    ),
    // The answer to a self-service request: what changed, and the list.
    (
        "senders",
        &["name", "service", "address", "account", "changes", "list"],
    ),
    // A self-service request not from an account's primary address.
    (
        "senders-refused",
        &["name", "service", "address", "subject"],
    ),
    // A ticket for an account the sender may not write for.
    (
        "account-refused",
        &["name", "service", "address", "subject", "account"],
    ),
    // To a staff member: the tickets their `#search QUERY` mail found.
    (
        "search",
        &[
            "name", "service", "address", "query", "results", "count",
            // flag: nothing found
            "none",
        ],
    ),
    // A message over intake.max_message_size.
    (
        "too-large",
        &["name", "service", "address", "subject", "size", "limit"],
    ),
    // An encrypted message the desk's keys do not open.
    ("undecryptable", &["name", "service", "address", "subject"]),
    // Mail about an encrypted ticket to a customer whose key is unknown:
    // it stands in for the whole mail, naming nothing of the ticket.
    (
        "encrypted-customer",
        &["name", "service", "address", "token"],
    ),
    // The same to the staff side without a staff key.
    (
        "encrypted-staff",
        &["service", "address", "token", "ticket"],
    ),
    // The daily digest to the staff side; each list is also its flag.
    (
        "digest",
        &[
            "service", "address", "date", "waiting", "held", "expired", "proofs", "failures",
            "sources",
        ],
    ),
];

const LANGUAGES: [Language; 3] = [Language::En, Language::Fr, Language::It];

/// The built-in set: `builtin(lang, name)` is conf/templates/LANG/NAME.txt,
/// compiled in.
macro_rules! builtin_templates {
    ($($name:literal),* $(,)?) => {
        fn builtin(lang: Language, name: &str) -> Option<&'static str> {
            Some(match (lang, name) {
                $(
                    (Language::En, $name) => include_str!(concat!("../../conf/templates/en/", $name, ".txt")),
                    (Language::Fr, $name) => include_str!(concat!("../../conf/templates/fr/", $name, ".txt")),
                    (Language::It, $name) => include_str!(concat!("../../conf/templates/it/", $name, ".txt")),
                )*
                _ => return None,
            })
        }
    };
}

builtin_templates!(
    "receipt",
    "warning",
    "closed",
    "changed",
    "confirm",
    "reject",
    "senders",
    "senders-refused",
    "account-refused",
    "staff-notify",
    "relay",
    "staff-error",
    "too-large",
    "digest",
    "verify",
    "proven",
    "search",
    "undecryptable",
    "encrypted-customer",
    "encrypted-staff",
);

/// The names of all templates, for documentation and tests.
pub fn names() -> impl Iterator<Item = &'static str> {
    TEMPLATES.iter().map(|(n, _)| *n)
}

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("template {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("template folder {path}: {source}")]
    Folder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "template {path}: not a template postdesk knows (a misspelt name would never be used); known: {known}"
    )]
    Unknown { path: PathBuf, known: String },
    #[error("template {path}, line {line}: {message}")]
    Bad {
        path: String,
        line: usize,
        message: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Field(String),
    /// Shown when the named field is non-empty.
    Section(String, Vec<Piece>),
}

/// All templates of all languages, parsed.
#[derive(Debug, Clone)]
pub struct Templates {
    parsed: HashMap<(Language, &'static str), Vec<Piece>>,
}

impl Templates {
    /// Each template from the first of `dirs` that has it
    /// (`DIR/LANG/NAME.txt`), else the built-in one: `/etc/postdesk/templates`
    /// overrides `/usr/share/postdesk/templates` file by file. No `dirs`:
    /// the built-in set. A folder that cannot be read, or a `.txt` file in
    /// one that names no template, is an error (a typo must not fall back
    /// to another text silently).
    pub fn load(dirs: &[PathBuf]) -> Result<Templates, TemplateError> {
        for dir in dirs {
            check_folder(dir)?;
        }
        let mut parsed = HashMap::new();
        for lang in LANGUAGES {
            for &(name, fields) in TEMPLATES {
                let (origin, text) = match find(dirs, lang, name)? {
                    Some((path, text)) => (path.display().to_string(), text),
                    None => (
                        format!("built-in {}/{name}.txt", lang.as_str()),
                        builtin(lang, name).unwrap_or_default().to_string(),
                    ),
                };
                parsed.insert((lang, name), compile(&text, fields, &origin)?);
            }
        }
        Ok(Templates { parsed })
    }

    /// Renders template `name` in `lang`; `vars` must give every field the
    /// template uses (missing ones render empty, which a test would catch).
    pub fn render(&self, lang: Language, name: &str, vars: &[(&str, &str)]) -> String {
        let Some(pieces) = self.parsed.get(&(lang, name)) else {
            return String::new();
        };
        let mut out = String::new();
        render_into(&mut out, pieces, vars, lang);
        out
    }
}

/// `DIR/LANG/NAME.txt` from the first of `dirs` that has it.
fn find(
    dirs: &[PathBuf],
    lang: Language,
    name: &str,
) -> Result<Option<(PathBuf, String)>, TemplateError> {
    for dir in dirs {
        let path = dir.join(lang.as_str()).join(format!("{name}.txt"));
        match std::fs::read_to_string(&path) {
            Ok(text) => return Ok(Some((path, text))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => return Err(TemplateError::Read { path, source }),
        }
    }
    Ok(None)
}

/// A template folder must be readable, and every `.txt` file in its
/// language folders must be a template's (other files, a README, are
/// left alone).
fn check_folder(dir: &Path) -> Result<(), TemplateError> {
    let folder = |path: &Path, source| TemplateError::Folder {
        path: path.to_path_buf(),
        source,
    };
    std::fs::read_dir(dir).map_err(|e| folder(dir, e))?;
    for lang in LANGUAGES {
        let sub = dir.join(lang.as_str());
        let entries = match std::fs::read_dir(&sub) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(folder(&sub, e)),
        };
        for entry in entries {
            let path = entry.map_err(|e| folder(&sub, e))?.path();
            let Some(stem) = path
                .extension()
                .filter(|x| *x == "txt")
                .and_then(|_| path.file_stem())
            else {
                continue;
            };
            if !names().any(|n| stem == n) {
                let known: Vec<&str> = names().collect();
                return Err(TemplateError::Unknown {
                    path,
                    known: known.join(", "),
                });
            }
        }
    }
    Ok(())
}

fn render_into(out: &mut String, pieces: &[Piece], vars: &[(&str, &str)], lang: Language) {
    let value = |f: &str| vars.iter().find(|(k, _)| *k == f).map(|(_, v)| *v);
    for p in pieces {
        match p {
            Piece::Text(t) => out.push_str(t.as_str()),
            Piece::Field(f) => {
                let v = value(f).unwrap_or_default();
                if lang == Language::It {
                    elide_before(out, v);
                }
                out.push_str(v);
            }
            Piece::Section(f, inner) => {
                if value(f).is_some_and(|v| !v.is_empty()) {
                    render_into(out, inner, vars, lang);
                }
            }
        }
    }
}

/// Italian elides the article before a date that starts with a vowel
/// sound: "il 8 marzo" is written "l'8 marzo", "dal 11" "dall'11". Only
/// the template's own words before a field change, never a field's text.
fn elide_before(out: &mut String, value: &str) {
    if !(value.starts_with("8 ") || value.starts_with("11 ")) {
        return;
    }
    for (article, elided) in [("il ", "l'"), ("al ", "all'"), ("dal ", "dall'")] {
        let Some(head) = out.strip_suffix(article) else {
            continue;
        };
        if head.chars().next_back().is_some_and(char::is_alphanumeric) {
            continue;
        }
        let keep = head.len();
        out.truncate(keep);
        out.push_str(elided);
        return;
    }
}

fn compile(text: &str, fields: &[&str], origin: &str) -> Result<Vec<Piece>, TemplateError> {
    let bad = |offset: usize, message: String| TemplateError::Bad {
        path: origin.to_string(),
        line: text[..offset].matches('\n').count() + 1,
        message,
    };
    // A stack of open sections: (name, where it opened, the pieces before it).
    let mut open_sections: Vec<(String, usize, Vec<Piece>)> = Vec::new();
    let mut pieces = Vec::new();
    let mut rest = 0;
    while let Some(open) = text[rest..].find("{{").map(|i| rest + i) {
        let close = text[open..]
            .find("}}")
            .map(|i| open + i)
            .ok_or_else(|| bad(open, "'{{' without a closing '}}'".into()))?;
        let tag = text[open + 2..close].trim();
        let (kind, field) = match tag.chars().next() {
            Some(c @ ('#' | '/')) => (Some(c), tag[1..].trim()),
            _ => (None, tag),
        };
        if !fields.contains(&field) {
            return Err(bad(
                open,
                format!(
                    "unknown placeholder {{{{{field}}}}}; known: {}",
                    fields.join(", ")
                ),
            ));
        }
        // A section tag alone on its line: drop the line (its indentation
        // before, its line end after).
        let (mut before_end, mut after) = (open, close + 2);
        if kind.is_some() {
            let line_start = text[..open].rfind('\n').map_or(0, |i| i + 1);
            let line_end = text[close + 2..]
                .find('\n')
                .map_or(text.len(), |i| close + 2 + i);
            if text[line_start..open].trim().is_empty()
                && text[close + 2..line_end].trim().is_empty()
            {
                before_end = line_start;
                after = (line_end + 1).min(text.len());
            }
        }
        pieces.push(Piece::Text(text[rest..before_end].to_string()));
        match kind {
            None => pieces.push(Piece::Field(field.to_string())),
            Some('#') => {
                let outer = std::mem::take(&mut pieces);
                open_sections.push((field.to_string(), open, outer));
            }
            Some(_) => match open_sections.pop() {
                Some((name, _, mut outer)) if name == field => {
                    outer.push(Piece::Section(name, std::mem::take(&mut pieces)));
                    pieces = outer;
                }
                Some((name, _, _)) => {
                    return Err(bad(
                        open,
                        format!("{{{{/{field}}}}} closes {{{{#{name}}}}}: sections must nest"),
                    ));
                }
                None => {
                    return Err(bad(
                        open,
                        format!("{{{{/{field}}}}} without {{{{#{field}}}}}"),
                    ));
                }
            },
        }
        rest = after;
    }
    if let Some((name, at, _)) = open_sections.pop() {
        return Err(bad(at, format!("{{{{#{name}}}}} is never closed")));
    }
    pieces.push(Piece::Text(text[rest..].to_string()));
    Ok(pieces)
}

/// How the subject of a lifecycle notice or a staff notification names
/// its kind, after the token, in `lang`: `[ACME #4] Reminder: …`. None for
/// other mail.
pub fn kind_word(lang: Language, kind: &str) -> Option<&'static str> {
    // As each language writes it: French with a space before the colon.
    let words = match kind {
        "warning" => ["Reminder:", "Rappel :", "Promemoria:"],
        "closed" => ["Closed:", "Fermé :", "Chiuso:"],
        "changed" => ["Changed:", "Modifié :", "Modificato:"],
        // Staff notifications, by why they are sent (a new ticket's
        // subject is the customer's own).
        "customer reply" => ["Reply:", "Réponse :", "Risposta:"],
        "reopened" => ["Reopened:", "Rouvert :", "Riaperto:"],
        "staff note" => ["Note:", "Note :", "Nota:"],
        "staff answer" => ["Answered:", "Répondu :", "Risposto:"],
        "delivery failure" => ["Undelivered:", "Non distribué :", "Non recapitato:"],
        "held mail" => ["Held:", "Retenu :", "Trattenuto:"],
        "held mail expired" => ["Not confirmed:", "Non confirmé :", "Non confermato:"],
        "digest" => ["Digest:", "Résumé :", "Riepilogo:"],
        _ => return None,
    };
    Some(match lang {
        Language::En => words[0],
        Language::Fr => words[1],
        Language::It => words[2],
    })
}

/// A rule's length in words of `lang`, for the mails: "4 days", "4 jours".
pub fn span_words(lang: Language, span: Span) -> String {
    let (n, unit) = match span {
        Span::Minutes(n) => (n, 0),
        Span::Hours(n) => (n, 1),
        Span::Days(n) => (n, 2),
        Span::BusinessDays(n) => (n, 3),
    };
    const WORDS: [[(&str, &str); 4]; 3] = [
        [
            ("minute", "minutes"),
            ("hour", "hours"),
            ("day", "days"),
            ("business day", "business days"),
        ],
        [
            ("minute", "minutes"),
            ("heure", "heures"),
            ("jour", "jours"),
            ("jour ouvré", "jours ouvrés"),
        ],
        [
            ("minuto", "minuti"),
            ("ora", "ore"),
            ("giorno", "giorni"),
            ("giorno lavorativo", "giorni lavorativi"),
        ],
    ];
    let row = match lang {
        Language::En => 0,
        Language::Fr => 1,
        Language::It => 2,
    };
    let (one, many) = WORDS[row][unit];
    // French uses the singular for 0 and 1; English and Italian for 1 only.
    let singular = n == 1 || (n == 0 && lang == Language::Fr);
    format!("{n} {}", if singular { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_templates_compile_and_render_every_field() {
        let t = Templates::load(&[]).unwrap();
        for lang in LANGUAGES {
            let out = t.render(
                lang,
                "receipt",
                &[
                    ("ticket", "#7"),
                    ("token", "[X #7]"),
                    ("message", "MSG-BODY"),
                ],
            );
            assert!(
                out.contains("#7") && out.contains("[X #7]") && out.contains("MSG-BODY"),
                "{out}"
            );
            assert!(!out.contains("{{"), "{lang:?}: unrendered field in {out}");
        }
    }

    /// Every built-in template of every language uses every field it is
    /// given (a translation that drops `{{code}}` would be caught) and
    /// leaves no placeholder behind.
    #[test]
    fn every_builtin_template_uses_all_its_fields() {
        let t = Templates::load(&[]).unwrap();
        for lang in LANGUAGES {
            for &(name, fields) in TEMPLATES {
                let vars: Vec<(&str, String)> =
                    fields.iter().map(|f| (*f, format!("<<{f}>>"))).collect();
                let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let out = t.render(lang, name, &vars);
                // A flag is used as a section, {{#flag}}…{{/flag}}, whose
                // value is not shown.
                fn sections(pieces: &[Piece], out: &mut Vec<String>) {
                    for p in pieces {
                        if let Piece::Section(name, inner) = p {
                            out.push(name.clone());
                            sections(inner, out);
                        }
                    }
                }
                let mut flags = Vec::new();
                sections(&t.parsed[&(lang, name)], &mut flags);
                // The receipt quotes the message, so its subject is optional;
                // the close and change notices carry the token in their
                // subject only.
                let optional = [
                    ("receipt", "subject"),
                    ("closed", "token"),
                    ("changed", "token"),
                ];
                for f in fields.iter().filter(|f| !optional.contains(&(name, **f))) {
                    assert!(
                        out.contains(&format!("<<{f}>>")) || flags.iter().any(|n| n == f),
                        "{lang:?}/{name} lacks {{{{{f}}}}}"
                    );
                }
                assert!(
                    !out.contains("{{"),
                    "{lang:?}/{name}: unrendered field in {out}"
                );
            }
        }
    }

    #[test]
    fn unknown_placeholder_and_unclosed_braces_name_the_line() {
        let e = compile("Hi\n{{nmae}}", &["name"], "x.txt")
            .unwrap_err()
            .to_string();
        assert!(e.contains("x.txt, line 2") && e.contains("nmae"), "{e}");
        let e = compile("Hi {{name", &["name"], "x.txt")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 1") && e.contains("closing"), "{e}");
    }

    #[test]
    fn italian_elides_the_article_before_8_and_11() {
        let fields = ["d"];
        let p = compile("scaduto il {{d}}, dal {{d}}, fino al {{d}}.", &fields, "t").unwrap();
        #[rustfmt::skip]
        let cases = [
            (Language::It, "8 dicembre 2026", "scaduto l'8 dicembre 2026, dall'8 dicembre 2026, fino all'8 dicembre 2026."),
            (Language::It, "11 marzo 2026", "scaduto l'11 marzo 2026, dall'11 marzo 2026, fino all'11 marzo 2026."),
            (Language::It, "1º luglio 2026", "scaduto il 1º luglio 2026, dal 1º luglio 2026, fino al 1º luglio 2026."),
            (Language::It, "18 maggio 2026", "scaduto il 18 maggio 2026, dal 18 maggio 2026, fino al 18 maggio 2026."),
            (Language::En, "8 dicembre 2026", "scaduto il 8 dicembre 2026, dal 8 dicembre 2026, fino al 8 dicembre 2026."),
        ];
        for (lang, d, want) in cases {
            let mut out = String::new();
            render_into(&mut out, &p, &[("d", d)], lang);
            assert_eq!(out, want, "{d}");
        }
    }

    #[test]
    fn sections_show_when_their_flag_is_set_and_take_their_line() {
        let fields = ["a", "b", "name"];
        let p = compile(
            "Hi {{name}},\n{{#a}}\nA line.\n{{#b}}\n  B inside A.\n{{/b}}\n{{/a}}\ninline {{#b}}[b]{{/b}}.\nend\n",
            &fields,
            "t",
        )
        .unwrap();
        let r = |vars: &[(&str, &str)]| {
            let mut out = String::new();
            render_into(&mut out, &p, vars, Language::En);
            out
        };
        assert_eq!(r(&[("name", "Ann")]), "Hi Ann,\ninline .\nend\n");
        assert_eq!(
            r(&[("name", "Ann"), ("a", "x")]),
            "Hi Ann,\nA line.\ninline .\nend\n"
        );
        assert_eq!(
            r(&[("name", "Ann"), ("a", "x"), ("b", "y")]),
            "Hi Ann,\nA line.\n  B inside A.\ninline [b].\nend\n"
        );
        for (text, want) in [
            ("{{#a}}x", "never closed"),
            ("x{{/a}}", "without"),
            ("{{#a}}{{#b}}{{/a}}{{/b}}", "must nest"),
            ("{{#zz}}{{/zz}}", "unknown placeholder"),
        ] {
            let e = compile(text, &fields, "t").unwrap_err().to_string();
            assert!(e.contains(want), "{text}: {e}");
        }
    }

    #[test]
    fn every_builtin_template_renders_in_every_language() {
        let t = Templates::load(&[]).unwrap();
        for lang in LANGUAGES {
            for &(name, fields) in TEMPLATES {
                // Every field and flag set: every section shows.
                let vars: Vec<(&str, &str)> = fields.iter().map(|f| (*f, "VALUE")).collect();
                let out = t.render(lang, name, &vars);
                assert!(out.len() > 100, "{lang:?}/{name}: {out}");
                assert!(
                    !out.contains("{{"),
                    "{lang:?}/{name}: unrendered tag in {out}"
                );
                // No flag set: no section shows, and no stray blank lines pile up.
                fn flags(pieces: &[Piece], out: &mut Vec<String>) {
                    for p in pieces {
                        if let Piece::Section(name, inner) = p {
                            out.push(name.clone());
                            flags(inner, out);
                        }
                    }
                }
                let mut names = Vec::new();
                flags(&t.parsed[&(lang, name)], &mut names);
                let plain: Vec<(&str, &str)> = fields
                    .iter()
                    .map(|f| {
                        (
                            *f,
                            if names.iter().any(|n| n == f) {
                                ""
                            } else {
                                "VALUE"
                            },
                        )
                    })
                    .collect();
                let out = t.render(lang, name, &plain);
                assert!(
                    !out.contains("\n\n\n"),
                    "{lang:?}/{name}: blank lines pile up:\n{out}"
                );
            }
        }
    }

    #[test]
    fn spans_in_words() {
        assert_eq!(span_words(Language::En, Span::Days(1)), "1 day");
        assert_eq!(
            span_words(Language::En, Span::BusinessDays(7)),
            "7 business days"
        );
        assert_eq!(span_words(Language::Fr, Span::Days(4)), "4 jours");
        assert_eq!(
            span_words(Language::Fr, Span::BusinessDays(1)),
            "1 jour ouvré"
        );
        assert_eq!(
            span_words(Language::It, Span::BusinessDays(14)),
            "14 giorni lavorativi"
        );
        assert_eq!(span_words(Language::It, Span::Hours(1)), "1 ora");
    }

    /// The search path: a template from the first folder that has it, then
    /// the second, then the built-in one; each language on its own.
    #[test]
    fn folders_override_file_by_file_then_the_builtin_set() {
        let (first, second) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let put = |dir: &Path, lang: &str, name: &str, text: &str| {
            std::fs::create_dir_all(dir.join(lang)).unwrap();
            std::fs::write(dir.join(lang).join(format!("{name}.txt")), text).unwrap();
        };
        // receipt: in both folders (the first wins); reject: only in the
        // second; confirm: only built in. French receipt: only the second.
        put(first.path(), "en", "receipt", "FIRST receipt {{ticket}}");
        put(second.path(), "en", "receipt", "SECOND receipt {{ticket}}");
        put(second.path(), "en", "reject", "SECOND reject {{sender}}");
        put(second.path(), "fr", "receipt", "SECOND reçu {{ticket}}");
        let dirs = [first.path().to_path_buf(), second.path().to_path_buf()];
        let t = Templates::load(&dirs).unwrap();
        let builtin = Templates::load(&[]).unwrap();
        let vars = [
            ("ticket", "#9"),
            ("sender", "ann@x.example"),
            ("code", "C0DE"),
        ];
        assert_eq!(t.render(Language::En, "receipt", &vars), "FIRST receipt #9");
        assert_eq!(
            t.render(Language::En, "reject", &vars),
            "SECOND reject ann@x.example"
        );
        assert_eq!(t.render(Language::Fr, "receipt", &vars), "SECOND reçu #9");
        for (lang, name) in [
            (Language::En, "confirm"),
            (Language::Fr, "reject"),
            (Language::It, "receipt"),
        ] {
            let want = builtin.render(lang, name, &vars);
            assert!(want.len() > 50, "{name}: {want}");
            assert_eq!(t.render(lang, name, &vars), want, "{lang:?}/{name}");
        }
        // The order of the list decides.
        let t = Templates::load(&[second.path().into(), first.path().into()]).unwrap();
        assert_eq!(
            t.render(Language::En, "receipt", &vars),
            "SECOND receipt #9"
        );
    }

    #[test]
    fn a_missing_folder_a_misspelt_file_and_a_bad_field_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("nowhere");
        let e = Templates::load(&[dir.path().into(), gone.clone()])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("template folder") && e.contains("nowhere"),
            "{e}"
        );
        std::fs::create_dir_all(dir.path().join("en")).unwrap();
        // Not a template's file, but no .txt: left alone.
        std::fs::write(dir.path().join("en").join("notes.md"), "mine").unwrap();
        std::fs::write(dir.path().join("README.md"), "mine").unwrap();
        Templates::load(&[dir.path().into()]).unwrap();
        std::fs::write(dir.path().join("en").join("reciept.txt"), "x").unwrap();
        let e = Templates::load(&[dir.path().into()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("reciept.txt") && e.contains("receipt"), "{e}");
        std::fs::remove_file(dir.path().join("en").join("reciept.txt")).unwrap();
        std::fs::write(dir.path().join("en").join("receipt.txt"), "{{tikcet}}").unwrap();
        let e = Templates::load(&[dir.path().into()])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("receipt.txt, line 1") && e.contains("tikcet"),
            "{e}"
        );
    }
}
