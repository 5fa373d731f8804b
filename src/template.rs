//! Mail body templates, per language: `<dir>/<lang>/<name>.txt` with
//! `{{placeholder}}` fields. Loaded and checked once at start, so a missing
//! file or a misspelt placeholder is a start-up error, never a half-sent mail.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::config::Language;

/// Every template and the placeholders it may use.
const TEMPLATES: &[(&str, &[&str])] = &[
    (
        "receipt",
        &[
            "name", "service", "address", "ticket", "token", "subject", "message",
        ],
    ),
    // To an unknown sender: reply to confirm your address (policy verify).
    (
        "confirm",
        &[
            "name", "service", "address", "subject", "code", "expires", "message",
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
    // A message over intake.max_message_size.
    (
        "too-large",
        &["name", "service", "address", "subject", "size", "limit"],
    ),
];

const LANGUAGES: [Language; 3] = [Language::En, Language::Fr, Language::It];

/// The built-in set, compiled in from `conf/templates`.
fn builtin(lang: Language, name: &str) -> Option<&'static str> {
    Some(match (lang, name) {
        (Language::En, "receipt") => include_str!("../conf/templates/en/receipt.txt"),
        (Language::Fr, "receipt") => include_str!("../conf/templates/fr/receipt.txt"),
        (Language::It, "receipt") => include_str!("../conf/templates/it/receipt.txt"),
        (Language::En, "confirm") => include_str!("../conf/templates/en/confirm.txt"),
        (Language::Fr, "confirm") => include_str!("../conf/templates/fr/confirm.txt"),
        (Language::It, "confirm") => include_str!("../conf/templates/it/confirm.txt"),
        (Language::En, "reject") => include_str!("../conf/templates/en/reject.txt"),
        (Language::Fr, "reject") => include_str!("../conf/templates/fr/reject.txt"),
        (Language::It, "reject") => include_str!("../conf/templates/it/reject.txt"),
        (Language::En, "senders") => include_str!("../conf/templates/en/senders.txt"),
        (Language::Fr, "senders") => include_str!("../conf/templates/fr/senders.txt"),
        (Language::It, "senders") => include_str!("../conf/templates/it/senders.txt"),
        (Language::En, "senders-refused") => {
            include_str!("../conf/templates/en/senders-refused.txt")
        }
        (Language::Fr, "senders-refused") => {
            include_str!("../conf/templates/fr/senders-refused.txt")
        }
        (Language::It, "senders-refused") => {
            include_str!("../conf/templates/it/senders-refused.txt")
        }
        (Language::En, "account-refused") => {
            include_str!("../conf/templates/en/account-refused.txt")
        }
        (Language::Fr, "account-refused") => {
            include_str!("../conf/templates/fr/account-refused.txt")
        }
        (Language::It, "account-refused") => {
            include_str!("../conf/templates/it/account-refused.txt")
        }
        (Language::En, "too-large") => include_str!("../conf/templates/en/too-large.txt"),
        (Language::Fr, "too-large") => include_str!("../conf/templates/fr/too-large.txt"),
        (Language::It, "too-large") => include_str!("../conf/templates/it/too-large.txt"),
        _ => return None,
    })
}

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
}

/// All templates of all languages, parsed.
#[derive(Debug, Clone)]
pub struct Templates {
    parsed: HashMap<(Language, &'static str), Vec<Piece>>,
}

impl Templates {
    /// The built-in templates, or those under `dir` when the config names one.
    pub fn load(dir: Option<&Path>) -> Result<Templates, TemplateError> {
        let mut parsed = HashMap::new();
        for lang in LANGUAGES {
            for &(name, fields) in TEMPLATES {
                let (origin, text) = match dir {
                    Some(dir) => {
                        let path = dir.join(lang.as_str()).join(format!("{name}.txt"));
                        let text = std::fs::read_to_string(&path).map_err(|source| {
                            TemplateError::Read {
                                path: path.clone(),
                                source,
                            }
                        })?;
                        (path.display().to_string(), text)
                    }
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
        for p in pieces {
            match p {
                Piece::Text(t) => out.push_str(t.as_str()),
                Piece::Field(f) => {
                    if let Some((_, v)) = vars.iter().find(|(k, _)| *k == f.as_str()) {
                        out.push_str(v);
                    }
                }
            }
        }
        out
    }
}

fn compile(text: &str, fields: &[&str], origin: &str) -> Result<Vec<Piece>, TemplateError> {
    let bad = |offset: usize, message: String| TemplateError::Bad {
        path: origin.to_string(),
        line: text[..offset].matches('\n').count() + 1,
        message,
    };
    let mut pieces = Vec::new();
    let mut rest = 0;
    while let Some(open) = text[rest..].find("{{").map(|i| rest + i) {
        let close = text[open..]
            .find("}}")
            .map(|i| open + i)
            .ok_or_else(|| bad(open, "'{{' without a closing '}}'".into()))?;
        let field = text[open + 2..close].trim();
        if !fields.contains(&field) {
            return Err(bad(
                open,
                format!(
                    "unknown placeholder {{{{{field}}}}}; known: {}",
                    fields.join(", ")
                ),
            ));
        }
        pieces.push(Piece::Text(text[rest..open].to_string()));
        pieces.push(Piece::Field(field.to_string()));
        rest = close + 2;
    }
    pieces.push(Piece::Text(text[rest..].to_string()));
    Ok(pieces)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_templates_compile_and_render_every_field() {
        let t = Templates::load(None).unwrap();
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
        let t = Templates::load(None).unwrap();
        for lang in LANGUAGES {
            for &(name, fields) in TEMPLATES {
                let vars: Vec<(&str, String)> =
                    fields.iter().map(|f| (*f, format!("<<{f}>>"))).collect();
                let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let out = t.render(lang, name, &vars);
                // The receipt quotes the message, so its subject is optional.
                for f in fields
                    .iter()
                    .filter(|f| (name, **f) != ("receipt", "subject"))
                {
                    assert!(
                        out.contains(&format!("<<{f}>>")),
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
    fn a_template_dir_must_hold_every_template() {
        let dir = tempfile::tempdir().unwrap();
        let e = Templates::load(Some(dir.path())).unwrap_err().to_string();
        assert!(e.contains("receipt.txt"), "{e}");
        for lang in LANGUAGES {
            let d = dir.path().join(lang.as_str());
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("receipt.txt"), "Ticket {{ ticket }} for {{name}}").unwrap();
            for name in names().filter(|n| *n != "receipt") {
                std::fs::write(d.join(format!("{name}.txt")), "Hello {{name}}").unwrap();
            }
        }
        let t = Templates::load(Some(dir.path())).unwrap();
        assert_eq!(
            t.render(Language::Fr, "receipt", &[("ticket", "9"), ("name", "Ann")]),
            "Ticket 9 for Ann"
        );
    }
}
