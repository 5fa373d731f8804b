//! Where does the new part of a reply end and the quoted history begin?
//! Table-driven: each client family leaves its own marker line.

use std::sync::LazyLock;

use regex::Regex;

/// How a marker line has to be confirmed by the lines after it.
enum Rule {
    /// The line alone starts the history.
    Line,
    /// An attribution ("On … wrote:"), which Gmail and Apple Mail wrap over up
    /// to three lines: the regex must match the joined lines.
    Attribution,
    /// A short attribution ("Bob wrote:"), trusted only right before `>` lines.
    BeforeQuote,
    /// Only when an Outlook header block follows (the `____` rule).
    BeforeHeaderBlock,
}

/// "wrote" in attributions: en, fr, de, it, es, pt, nl, sv/da/no, ru, pl, cs.
const WROTE: &str = r"(?:wrote|a\s+écrit|schrieb|ha\s+scritto|escribió|escreveu|schreef|skrev|написала?|пишет|napisała?|napsala?)";

static MARKERS: LazyLock<Vec<(Rule, Regex)>> = LazyLock::new(|| {
    let table = [
        (
            Rule::Line,
            r"(?i)^-{2,}\s*(?:original message|message d'origine|ursprüngliche nachricht|messaggio originale|mensaje original|mensagem original|oorspronkelijk bericht|原始邮件|原始郵件)\s*-{2,}$",
        ),
        (
            Rule::Line,
            r"(?i)^(?:-{2,}\s*(?:forwarded message|weitergeleitete nachricht|message transféré|messaggio inoltrato|mensaje reenviado|mensagem encaminhada|doorgestuurd bericht)\s*-{2,}|begin forwarded message\s*:|anfang der weitergeleiteten nachricht\s*:|début du message réexpédié\s*:)$",
        ),
        (
            Rule::Attribution,
            &format!(
                r"^(?:-+\s*)?(?:On|Le|Am|Il|El|Em|Op|Den|På|W dniu|Dne)\s.+\s(?i:{WROTE})(?:\s.*)?:$"
            ),
        ),
        // Android and localized clients lead with the date: "02.04.2012 14:20 … написал:".
        (
            Rule::Attribution,
            &format!(r"^\d{{1,4}}[./-]\d{{1,2}}[./-]\d{{1,4}}\s.+\s(?i:{WROTE})\s*:$"),
        ),
        (Rule::BeforeQuote, &format!(r"(?i)^\S.*\s{WROTE}\s*:$")),
        (Rule::BeforeQuote, r"^Quoting\s.+:$"),
        (Rule::BeforeHeaderBlock, r"^_{10,}$"),
    ];
    table
        .into_iter()
        .map(|(rule, re)| (rule, Regex::new(re).expect("static regex")))
        .collect()
});

/// An Outlook header block, localized (Gmail renders the bold labels as
/// `*From:*`; CJK Outlook uses full-width colons): a From line, then within a
/// few lines a date line and an addressee or subject line.
static BLOCK_FROM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\*?(?:From|De|Von|Da|Van|Från|Fra|Od|发件人|寄件者|差出人|보낸 사람)\s?[:：]")
        .expect("static regex")
});
static BLOCK_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\*?(?:sent|date|envoyé|gesendet|datum|inviato|data|enviado|fecha|verzonden|skickat|sendt|发送时间|日期|寄件日期|送信日時|보낸 날짜)\s?[:：]")
        .expect("static regex")
});
static BLOCK_TO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\*?(?:to|à|a|an|para|aan|till?|subject|objet|betreff|oggetto|asunto|assunto|onderwerp|ämne|emne|收件人|主题|收件者|主旨|宛先|件名|받는 사람|제목)\s?[:：]")
        .expect("static regex")
});

/// What a mailing list appends under everything ("____\nlist mailing list\n…").
static LIST_FOOTER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)mailing list|listinfo|unsubscribe").expect("static regex"));

/// Lines after a `From:` within which the rest of an Outlook block must appear.
const BLOCK_SPAN: usize = 6;
/// Longest attribution we join from wrapped lines.
const MAX_ATTRIBUTION: usize = 400;
/// Longest list footer, in lines.
const FOOTER_SPAN: usize = 8;

/// One line: byte offset in the text, content without line end or edge spaces.
type Line<'a> = (usize, &'a str);

/// Splits `text` into (new text, quoted history). The history starts at the
/// first marker, or at a trailing run of `>` lines; the new text loses only its
/// trailing blank lines, so the two together cover `text`. A text that is all
/// history gives an empty new text. `>` quotes followed by more of the
/// writer's own text (bottom-posting, inline answers) stay in the new text.
pub fn split_quoted(text: &str) -> (String, String) {
    let mut lines: Vec<Line<'_>> = Vec::new();
    let mut offset = 0;
    for raw in text.split_inclusive('\n') {
        lines.push((offset, raw.trim()));
        offset += raw.len();
    }
    // A list footer below the quote must not hide that the quote ends the text.
    let body = Body::new(&lines[..footer_start(&lines).unwrap_or(lines.len())]);
    let marker = (0..body.lines.len()).find(|&i| body.starts_history(i));
    match marker.into_iter().chain(body.tail).min() {
        Some(i) => {
            let at = lines[i].0;
            (text[..at].trim_end().to_string(), text[at..].to_string())
        }
        None => (text.to_string(), String::new()),
    }
}

/// The lines above any list footer.
struct Body<'t, 'a> {
    lines: &'t [Line<'a>],
    /// First line of the `>` lines (blank lines allowed) that end the text.
    tail: Option<usize>,
}

impl<'t, 'a> Body<'t, 'a> {
    fn new(lines: &'t [Line<'a>]) -> Self {
        let mut tail = None;
        for (i, (_, line)) in lines.iter().enumerate().rev() {
            if line.starts_with('>') {
                tail = Some(i);
            } else if !line.is_empty() {
                break;
            }
        }
        Body { lines, tail }
    }

    fn line(&self, i: usize) -> &'a str {
        self.lines.get(i).map_or("", |(_, l)| l)
    }

    fn starts_history(&self, i: usize) -> bool {
        let line = self.line(i);
        if line.is_empty() || line.starts_with('>') {
            return false;
        }
        self.header_block(i)
            || MARKERS.iter().any(|(rule, re)| match rule {
                Rule::Line => re.is_match(line),
                Rule::Attribution => self
                    .attribution_end(i, re)
                    .is_some_and(|end| self.quote_ends_text(end + 1)),
                Rule::BeforeQuote => {
                    re.is_match(line)
                        && self
                            .next_content(i + 1)
                            .is_some_and(|j| self.line(j).starts_with('>'))
                        && self.quote_ends_text(i + 1)
                }
                Rule::BeforeHeaderBlock => {
                    re.is_match(line)
                        && self
                            .next_content(i + 1)
                            .is_some_and(|j| self.header_block(j))
                }
            })
    }

    /// Index of the last line of an attribution starting at `i`.
    fn attribution_end(&self, i: usize, re: &Regex) -> Option<usize> {
        let mut joined = String::new();
        for k in (i..self.lines.len()).take(3) {
            let l = self.line(k);
            if l.is_empty() || joined.len() > MAX_ATTRIBUTION {
                return None;
            }
            if !joined.is_empty() {
                joined.push(' ');
            }
            joined.push_str(l);
            if re.is_match(&joined) {
                return Some(k);
            }
        }
        None
    }

    /// After an attribution: true unless `>` lines are followed by more
    /// unquoted text, which makes it a bottom-posted or inline reply.
    /// Unprefixed text right after the attribution is history pasted without `>`.
    fn quote_ends_text(&self, from: usize) -> bool {
        match self.next_content(from) {
            Some(j) if self.line(j).starts_with('>') => self.tail.is_some_and(|t| j >= t),
            _ => true,
        }
    }

    fn header_block(&self, i: usize) -> bool {
        let follow = || {
            (i + 1..self.lines.len())
                .take(BLOCK_SPAN)
                .map(|j| self.line(j))
        };
        BLOCK_FROM.is_match(self.line(i))
            && follow().any(|l| BLOCK_DATE.is_match(l))
            && follow().any(|l| BLOCK_TO.is_match(l))
    }

    fn next_content(&self, from: usize) -> Option<usize> {
        (from..self.lines.len()).find(|&j| !self.line(j).is_empty())
    }
}

/// The `____` line of a mailing-list footer closing the text.
fn footer_start(lines: &[Line<'_>]) -> Option<usize> {
    let from = lines.len().saturating_sub(FOOTER_SPAN);
    let i = (from..lines.len())
        .rev()
        .find(|&i| lines[i].1.len() >= 20 && lines[i].1.bytes().all(|b| b == b'_'))?;
    let footer = &lines[i + 1..];
    (footer.iter().all(|(_, l)| !l.starts_with('>'))
        && footer.iter().any(|(_, l)| LIST_FOOTER.is_match(l)))
    .then_some(i)
}
