//! The knowledge base's pure rules: how an article file reads (a title
//! line, then optional `tags:` and `language:` lines, then the text), and
//! which words of a ticket are worth looking up (stop words of English,
//! French and Italian left out, so "my" or "je" never makes a match).

use std::collections::HashSet;

use super::Language;

/// One article, as read from its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Article {
    pub title: String,
    pub tags: Vec<String>,
    pub language: Option<Language>,
    pub body: String,
}

/// Why an article file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArticleError {
    #[error("it has no title line (the first line that is not empty)")]
    NoTitle,
    #[error("language {0} is not one of en, fr, it")]
    Language(String),
}

/// The longest title kept; a longer first line is text, not a title.
const MAX_TITLE: usize = 200;

impl Article {
    /// Reads an article: the first non-empty line is its title (a Markdown
    /// `#` heading or a `title:` line alike); `tags:` and `language:` lines
    /// may follow it, in any order; the rest is the text.
    pub fn parse(text: &str) -> Result<Article, ArticleError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut lines = text.lines().peekable();
        let title_line = lines
            .by_ref()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .ok_or(ArticleError::NoTitle)?;
        let title = strip_key(title_line, "title")
            .unwrap_or(title_line)
            .trim_start_matches('#')
            .trim();
        if title.is_empty() {
            return Err(ArticleError::NoTitle);
        }
        let title: String = title.chars().take(MAX_TITLE).collect();
        let mut article = Article {
            title,
            tags: Vec::new(),
            language: None,
            body: String::new(),
        };
        while let Some(line) = lines.peek() {
            let line = line.trim();
            if let Some(tags) = strip_key(line, "tags") {
                article.tags = tags
                    .split([',', ' ', ';'])
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_lowercase)
                    .collect();
            } else if let Some(code) = strip_key(line, "language") {
                let code = code.trim().to_lowercase();
                article.language =
                    Some(Language::from_code(&code).ok_or(ArticleError::Language(code))?);
            } else if !line.is_empty() {
                break;
            }
            lines.next();
        }
        article.body = lines.collect::<Vec<_>>().join("\n").trim().to_string();
        Ok(article)
    }

    /// The first `n` non-empty lines of the text, for a suggestion list.
    pub fn first_lines(body: &str, n: usize) -> Vec<&str> {
        body.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .take(n)
            .collect()
    }
}

/// A customer's answer saying a suggested article solved it: `#solved` as
/// the first line of the new text (any case).
pub fn is_solved(new_text: &str) -> bool {
    new_text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .is_some_and(|l| l.eq_ignore_ascii_case("#solved"))
}

/// The query of a staff member's `#search QUERY` mail: the first line of
/// its new text, else its subject (after any `Re:`), reading
/// `#search QUERY` (any case of `search`).
pub fn search_request<'a>(subject: &'a str, new_text: &'a str) -> Option<&'a str> {
    let query = |line: &'a str| {
        let rest = line.trim().strip_prefix('#')?;
        let (word, query) = rest.split_once(char::is_whitespace)?;
        let query = query.trim();
        (word.eq_ignore_ascii_case("search") && !query.is_empty()).then_some(query)
    };
    let first = new_text.lines().map(str::trim).find(|l| !l.is_empty());
    first.and_then(query).or_else(|| query(subject))
}

/// The name a `#kb NAME` line asks for (the whole line, any case of `kb`).
pub fn stock_line(line: &str) -> Option<&str> {
    let rest = line.trim().strip_prefix('#')?;
    let (word, name) = rest.split_once(char::is_whitespace)?;
    let name = name.trim();
    (word.eq_ignore_ascii_case("kb") && !name.is_empty() && !name.contains(char::is_whitespace))
        .then_some(name)
}

/// A staff reply with its stock answers in place: the articles named by
/// `#kb` commands (`leading`) come first, then the text, each of its own
/// `#kb NAME` lines replaced by that article. `article` gives an
/// article's text by name; every name it does not know is an error line.
pub fn merge_stock(
    leading: &[&str],
    text: &str,
    article: impl Fn(&str) -> Option<String>,
) -> Result<String, Vec<String>> {
    let mut errors = Vec::new();
    let mut fetch = |name: &str| match article(name) {
        Some(a) => a,
        None => {
            errors.push(format!(
                "#kb {name}: no article of that name in the knowledge base"
            ));
            String::new()
        }
    };
    let mut parts: Vec<String> = leading.iter().map(|n| fetch(n)).collect();
    let body: Vec<String> = text
        .lines()
        .map(|line| match stock_line(line) {
            Some(name) => fetch(name),
            None => line.to_string(),
        })
        .collect();
    let body = body.join("\n");
    if !body.trim().is_empty() {
        parts.push(body.trim_end().to_string());
    }
    if errors.is_empty() {
        Ok(parts.join("\n\n"))
    } else {
        Err(errors)
    }
}

/// `key: value` (key case-insensitive) → `value`.
fn strip_key<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let (k, v) = line.split_once(':')?;
    k.trim().eq_ignore_ascii_case(key).then(|| v.trim())
}

/// At most this many words of a ticket are looked up: its subject and
/// first lines say what it is about; the cost stays flat.
pub const MAX_QUERY_WORDS: usize = 32;

/// The words of `text` worth looking up, lower-cased, each once, in order:
/// three letters or more, no stop word, no number-only token.
pub fn query_words(text: &str) -> Vec<String> {
    let mut seen = HashSet::new();
    text.split(|c: char| !c.is_alphanumeric() && c != '\'' && c != '’')
        .flat_map(|w| w.split(['\'', '’']))
        .map(str::to_lowercase)
        .filter(|w| w.chars().count() >= 3)
        .filter(|w| !w.chars().all(|c| c.is_ascii_digit()))
        .filter(|w| !STOP_WORDS.contains(&w.as_str()))
        .filter(|w| seen.insert(w.clone()))
        .take(MAX_QUERY_WORDS)
        .collect()
}

/// The language of `text` by its most common small words, when one of
/// en, fr, it clearly leads (None: too little text, or a tie).
pub fn guess_language(text: &str) -> Option<Language> {
    const MARKERS: [(Language, &[&str]); 3] = [
        (
            Language::En,
            &[
                "the", "and", "is", "my", "i", "to", "of", "it", "you", "with", "have", "can",
                "not",
            ],
        ),
        (
            Language::Fr,
            &[
                "le", "la", "les", "et", "est", "je", "mon", "ma", "de", "des", "une", "pas",
                "vous", "avec", "ne", "j", "à",
            ],
        ),
        (
            Language::It,
            &[
                "il", "lo", "gli", "e", "è", "mio", "mia", "di", "una", "non", "che", "per", "con",
                "sono", "riesco",
            ],
        ),
    ];
    let mut counts = [0usize; 3];
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
    {
        for (i, (_, words)) in MARKERS.iter().enumerate() {
            if words.contains(&word.as_str()) {
                counts[i] += 1;
            }
        }
    }
    let best = (0..3).max_by_key(|&i| counts[i])?;
    let clear = counts[best] >= 2 && (0..3).all(|i| i == best || counts[i] < counts[best]);
    clear.then_some(MARKERS[best].0)
}

/// `word` as the search index spells it: lower case, the accents of
/// French and Italian (and the other Latin-1 letters) taken off.
pub fn index_form(word: &str) -> String {
    word.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'à' | 'á' | 'â' | 'ä' | 'ã' | 'å' => 'a',
            'è' | 'é' | 'ê' | 'ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ò' | 'ó' | 'ô' | 'ö' | 'õ' => 'o',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            'ñ' => 'n',
            'ÿ' | 'ý' => 'y',
            other => other,
        })
        .collect()
}

/// Words too common to say what a ticket is about (en, fr, it), and the
/// words of every mail (greetings, thanks).
const STOP_WORDS: &[&str] = &[
    // English
    "the",
    "and",
    "for",
    "are",
    "but",
    "not",
    "you",
    "your",
    "all",
    "any",
    "can",
    "had",
    "her",
    "was",
    "one",
    "our",
    "out",
    "has",
    "have",
    "him",
    "his",
    "how",
    "its",
    "may",
    "new",
    "now",
    "old",
    "see",
    "two",
    "who",
    "did",
    "get",
    "got",
    "let",
    "she",
    "too",
    "use",
    "that",
    "this",
    "with",
    "from",
    "they",
    "them",
    "then",
    "than",
    "there",
    "their",
    "what",
    "when",
    "where",
    "which",
    "while",
    "will",
    "would",
    "could",
    "should",
    "been",
    "being",
    "into",
    "just",
    "like",
    "more",
    "most",
    "much",
    "must",
    "only",
    "over",
    "some",
    "such",
    "very",
    "also",
    "about",
    "after",
    "again",
    "before",
    "because",
    "does",
    "doing",
    "each",
    "here",
    "were",
    "why",
    "yes",
    "hello",
    "dear",
    "thanks",
    "thank",
    "regards",
    "best",
    "please",
    "help",
    "need",
    "want",
    "know",
    "since",
    "today",
    "yesterday",
    "still",
    "anymore",
    "cannot",
    "can't",
    "don",
    "doesn",
    "didn",
    "isn",
    "won",
    "wasn",
    "hi",
    "team",
    "support",
    "ticket",
    "issue",
    "problem",
    // French
    "les",
    "des",
    "une",
    "est",
    "pas",
    "pour",
    "par",
    "sur",
    "dans",
    "avec",
    "que",
    "qui",
    "quoi",
    "mon",
    "mes",
    "ton",
    "tes",
    "son",
    "ses",
    "notre",
    "nos",
    "votre",
    "vos",
    "leur",
    "leurs",
    "nous",
    "vous",
    "ils",
    "elles",
    "elle",
    "lui",
    "moi",
    "toi",
    "aux",
    "ces",
    "cet",
    "cette",
    "mais",
    "ou",
    "donc",
    "car",
    "plus",
    "moins",
    "tout",
    "tous",
    "toute",
    "toutes",
    "comme",
    "fait",
    "faire",
    "peux",
    "peut",
    "pouvez",
    "veux",
    "voudrais",
    "suis",
    "sont",
    "ont",
    "avons",
    "avez",
    "été",
    "être",
    "avoir",
    "depuis",
    "aujourd",
    "hui",
    "bonjour",
    "merci",
    "cordialement",
    "madame",
    "monsieur",
    "svp",
    "plaît",
    "plait",
    "aide",
    "besoin",
    "encore",
    "très",
    "bien",
    "problème",
    "probleme",
    // Italian
    "il",
    "gli",
    "della",
    "delle",
    "degli",
    "dei",
    "del",
    "nel",
    "nella",
    "alla",
    "allo",
    "agli",
    "che",
    "chi",
    "non",
    "per",
    "con",
    "una",
    "uno",
    "sono",
    "sei",
    "siamo",
    "siete",
    "mio",
    "mia",
    "miei",
    "mie",
    "suo",
    "sua",
    "vostro",
    "vostra",
    "nostro",
    "nostra",
    "questo",
    "questa",
    "quello",
    "quella",
    "come",
    "anche",
    "più",
    "ma",
    "perché",
    "quando",
    "dove",
    "ciao",
    "buongiorno",
    "buonasera",
    "grazie",
    "saluti",
    "cordiali",
    "aiuto",
    "posso",
    "può",
    "potete",
    "vorrei",
    "ancora",
    "molto",
    "oggi",
    "ieri",
    "problema",
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Title, tags, language and text of an article, or why it is refused.
    type Expected = Result<
        (
            &'static str,
            &'static [&'static str],
            Option<Language>,
            &'static str,
        ),
        ArticleError,
    >;

    #[test]
    fn article_files_read_title_tags_language_and_text() {
        let cases: &[(&str, Expected)] = &[
            (
                "# Reset a mailbox password\ntags: mail, password\nlanguage: en\n\nOpen the panel.\nClick Reset.\n",
                Ok((
                    "Reset a mailbox password",
                    &["mail", "password"],
                    Some(Language::En),
                    "Open the panel.\nClick Reset.",
                )),
            ),
            (
                "\n\n  Title: Plain title  \n\nJust text\n",
                Ok(("Plain title", &[], None, "Just text")),
            ),
            (
                "\u{feff}Mot de passe\r\nLanguage: FR\r\nTags: mot de passe; messagerie\r\n\r\nTexte.\r\n",
                Ok((
                    "Mot de passe",
                    &["mot", "de", "passe", "messagerie"],
                    Some(Language::Fr),
                    "Texte.",
                )),
            ),
            ("Only a title", Ok(("Only a title", &[], None, ""))),
            (
                "Title\ntags:\n\nbody: with a colon",
                Ok(("Title", &[], None, "body: with a colon")),
            ),
            ("", Err(ArticleError::NoTitle)),
            ("   \n\t\n", Err(ArticleError::NoTitle)),
            ("###\nbody", Err(ArticleError::NoTitle)),
            (
                "T\nlanguage: de\n",
                Err(ArticleError::Language("de".into())),
            ),
        ];
        for (text, want) in cases {
            let got = Article::parse(text);
            match (got, want) {
                (Ok(a), Ok((title, tags, lang, body))) => {
                    assert_eq!(a.title, *title, "{text:?}");
                    assert_eq!(a.tags, *tags, "{text:?}");
                    assert_eq!(a.language, *lang, "{text:?}");
                    assert_eq!(a.body, *body, "{text:?}");
                }
                (Err(e), Err(w)) => assert_eq!(&e, w, "{text:?}"),
                (got, _) => panic!("{text:?}: unexpected {got:?}"),
            }
        }
    }

    #[test]
    fn stock_answers_merge_with_the_staff_text() {
        let article = |name: &str| match name {
            "pw" => Some("Reset a password\n\nOpen the panel.".to_string()),
            "dns" => Some("DNS\n\nEdit the zone.".to_string()),
            _ => None,
        };
        for (leading, text, want) in [
            (&[][..], "#kb pw", Ok("Reset a password\n\nOpen the panel.")),
            (
                &["pw"][..],
                "Hi Ann,\nsee above.",
                Ok("Reset a password\n\nOpen the panel.\n\nHi Ann,\nsee above."),
            ),
            (
                &[][..],
                "Hi Ann,\n\n#kb pw\n\nBest, Alice",
                Ok("Hi Ann,\n\nReset a password\n\nOpen the panel.\n\nBest, Alice"),
            ),
            (
                &[][..],
                "Hi\n  #KB dns  \nBye",
                Ok("Hi\nDNS\n\nEdit the zone.\nBye"),
            ),
            (
                &[][..],
                "text about #kb pw inside a line",
                Ok("text about #kb pw inside a line"),
            ),
            (&[][..], "#kb two words", Ok("#kb two words")),
            (
                &["nope"][..],
                "#kb gone\nHi",
                Err(vec![
                    "#kb nope: no article of that name in the knowledge base".to_string(),
                    "#kb gone: no article of that name in the knowledge base".to_string(),
                ]),
            ),
        ] {
            let got = merge_stock(leading, text, article);
            assert_eq!(got, want.map(String::from), "{text}");
        }
    }

    #[test]
    fn solved_is_the_first_line_alone() {
        for (text, want) in [
            ("#solved", true),
            ("\n  #SOLVED  \nthanks!", true),
            ("#solved!", false),
            ("Thanks\n#solved", false),
            ("not #solved", false),
            ("", false),
        ] {
            assert_eq!(is_solved(text), want, "{text:?}");
        }
    }

    #[test]
    fn search_requests_by_first_line_or_subject() {
        for (subject, text, want) in [
            (
                "anything",
                "#search mailbox password\nthanks",
                Some("mailbox password"),
            ),
            ("#search dns", "", Some("dns")),
            ("#SEARCH  ssl  cert ", "\n\n", Some("ssl  cert")),
            ("#search subject", "#search body wins", Some("body wins")),
            ("hello", "please #search this", None),
            ("#search", "#search", None),
            ("#searching x", "", None),
            ("Re: #search x", "", None),
            ("", "", None),
        ] {
            assert_eq!(search_request(subject, text), want, "{subject:?} {text:?}");
        }
    }

    #[test]
    fn index_form_drops_case_and_accents() {
        for (word, want) in [
            ("Problème", "probleme"),
            ("città", "citta"),
            ("BOÎTE", "boite"),
            ("façade", "facade"),
            ("日本", "日本"),
        ] {
            assert_eq!(index_form(word), want);
        }
    }

    #[test]
    fn the_language_of_a_text_by_its_small_words() {
        for (text, want) in [
            (
                "I forgot the password of my mailbox and I can not log in",
                Some(Language::En),
            ),
            (
                "J'ai oublié le mot de passe de ma boîte et je ne peux pas",
                Some(Language::Fr),
            ),
            (
                "Non riesco a inviare la posta dal mio dominio, è urgente",
                Some(Language::It),
            ),
            ("password", None),
            ("", None),
        ] {
            assert_eq!(guess_language(text), want, "{text}");
        }
    }

    #[test]
    fn query_words_leave_out_what_every_mail_says() {
        for (text, want) in [
            (
                "Hello, I forgot the password of my mailbox. Thanks!",
                &["forgot", "password", "mailbox"][..],
            ),
            (
                "Bonjour, j'ai oublié le mot de passe de ma boîte mail. Merci",
                &["oublié", "mot", "passe", "boîte", "mail"][..],
            ),
            (
                "Ciao, non riesco a inviare email dal mio dominio",
                &["riesco", "inviare", "email", "dal", "dominio"][..],
            ),
            ("Re: [DESK #12] 2026 404 error", &["desk", "error"][..]),
            ("", &[][..]),
            ("!!! ??? ...", &[][..]),
            ("password PASSWORD Password", &["password"][..]),
        ] {
            assert_eq!(query_words(text), want, "{text}");
        }
        let many: String = (0..100).map(|i| format!("word{i} ")).collect();
        assert_eq!(query_words(&many).len(), MAX_QUERY_WORDS);
    }
}
