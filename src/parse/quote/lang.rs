//! The words mail clients write around quoted history, in the languages
//! postdesk's desks meet (English, French, German, Italian, Spanish,
//! Portuguese, Dutch, Polish, Swedish, Danish, Norwegian, Finnish, Russian,
//! with a few neighbours): attribution lines, Outlook's header blocks,
//! "Original message" and forward separators, "Sent from my iPhone" lines and
//! list or legal footers. Every predicate looks at one line, or a few lines
//! joined, already trimmed; the cheap checks run first so that an ordinary
//! line of text costs a few byte comparisons and no regex.

use std::sync::LazyLock;

use regex::Regex;

/// First words of "On <date>, <name> wrote:" and its translations ("W dniu",
/// "Il giorno", "No dia" start with their first word).
const LEADS: &[&str] = &[
    "on", "le", "am", "il", "el", "em", "no", "op", "den", "på", "w", "dnia", "dne", "dňa",
    "kello", "в", "vào",
];

/// The same leads as they appear after other text on a line
/// ("reply On Wed, … wrote:"), case kept, space included.
pub(super) const INLINE_LEADS: &[&str] = &[
    "On ", "Le ", "Am ", "Il ", "El ", "Em ", "Op ", "Den ", "På ", "W dniu ",
];

/// The verbs that end an attribution, lower case, as the last word(s) before
/// an optional colon: "wrote", "a écrit", "schrieb" … The regex below holds
/// the same list; this one is the cheap pre-check on the last word.
const VERB_LAST_WORDS: &[&str] = &[
    "wrote",
    "writes",
    "sent",
    "écrit",
    "ecrit",
    "schrieb",
    "scritto",
    "escribió",
    "escribio",
    "escreveu",
    "schreef",
    "geschreven",
    "geschrieben",
    "skrev",
    "kirjoitti",
    "napisał",
    "napisała",
    "napisał(a)",
    "napisał(-a)",
    "napisal",
    "napisala",
    "написал",
    "написала",
    "написал(а)",
    "написал(-а)",
    "пишет",
    "viết",
    "yazdı",
    "scris",
    "napsal",
    "napsala",
    "napísal",
    "írta",
    "pisze",
    "napisana",
];

/// The verbs of attributions, as a regex alternation.
const VERBS: &str = r"wrote|writes|sent|a\s+[ée]crit|schrieb|schreef|geschreven|geschrieben|ha\s+scritto|escribi[óo]|escreveu|skrev|kirjoitti|napisa[łl]\(-?a\)|napisa[łl]a?|napisana|написал\(-?а\)|написала?|пишет|đã\s+viết|yazdı|a\s+scris|naps[aá]la?|napísal|írta|pisze";

/// An attribution's end: one of the verbs (after a non-letter), an optional
/// colon (French puts a no-break space before it), and nothing else.
static VERB_END: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)(?:^|[^\p{{L}}])(?:{VERBS})\s*(?:[:：]\s*)?$"
    ))
    .expect("static regex")
});

/// A verb inside the line: "Ann kirjoitti 2.11.2026 klo 10.04:", "Wiadomość
/// napisana przez Ann … w dniu 02.11.2026, o godz. 10:04:".
static VERB_WITHIN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(r"(?i)(?:^|[^\p{{L}}])(?:{VERBS})(?:[^\p{{L}}]|$)")).expect("static regex")
});

/// An attribution with no verb, ending with the address and a colon:
/// "2014-10-17 11:28 GMT+03:00 Postmaster <pm@example.org>:",
/// "пн, 2 нояб. 2026 г. в 10:04, Имя <a@example.org>:", mutt's "* Bob <b@x> [date]:".
static ADDRESS_END: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:[>)\]]|@[\w.-]+)\s*[:：]$").expect("static regex"));

/// Something that makes a line a date: a year, a time, a numeric date.
static DATEISH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:19|20)\d\d\b|\d[:.h]\d\d|\d{1,4}[./-]\d{1,2}[./-]\d{1,4}")
        .expect("static regex")
});

/// Longest attribution, joined from its lines.
const MAX_ATTRIBUTION: usize = 400;
/// Content lines an attribution may be wrapped over, and blank lines within.
const ATTRIBUTION_LINES: usize = 4;
const ATTRIBUTION_BLANKS: usize = 2;

/// How sure a line is to be an attribution.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Strength {
    /// "On <date>, <name> wrote:": history follows, quoted or not.
    Strong,
    /// "Bob wrote:": history only when `>` lines follow.
    Weak,
}

/// Leading and trailing decoration of separator-like lines: "---- On … wrote ----".
pub(super) fn strip_decor(line: &str) -> &str {
    line.trim_matches(|c: char| c.is_whitespace() || matches!(c, '-' | '_' | '=' | '*' | '~'))
}

/// Case-insensitive (Unicode simple lower case) equality without allocating.
fn eq_fold(a: &str, lower: &str) -> bool {
    if !first_matches(a, lower) {
        return false;
    }
    if lower.is_ascii() {
        return a.eq_ignore_ascii_case(lower);
    }
    a.chars().flat_map(char::to_lowercase).eq(lower.chars())
}

/// Case-insensitive prefix test without allocating; `lower` is lower case.
fn starts_fold(s: &str, lower: &str) -> bool {
    if lower.is_ascii() {
        return s
            .as_bytes()
            .get(..lower.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(lower.as_bytes()));
    }
    if !first_matches(s, lower) {
        return false;
    }
    let mut it = s.chars().flat_map(char::to_lowercase);
    lower.chars().all(|c| it.next() == Some(c))
}

/// The ASCII first letters of a table's words: a word whose first letter is
/// ASCII and not among them matches none (one lookup instead of a scan).
struct Firsts([bool; 128]);

impl Firsts {
    fn of<'w>(words: impl Iterator<Item = &'w str>) -> Firsts {
        let mut set = [false; 128];
        for w in words {
            if let Some(&b) = w.as_bytes().first().filter(|b| b.is_ascii()) {
                set[usize::from(b)] = true;
            }
        }
        Firsts(set)
    }

    /// False when no word of the table can match `s`.
    fn may_match(&self, s: &str) -> bool {
        match s.as_bytes().first() {
            Some(&b) if b.is_ascii() => self.0[usize::from(b.to_ascii_lowercase())],
            Some(_) => true,
            None => false,
        }
    }
}

static VERB_FIRSTS: LazyLock<Firsts> =
    LazyLock::new(|| Firsts::of(VERB_LAST_WORDS.iter().copied()));
static LEAD_FIRSTS: LazyLock<Firsts> = LazyLock::new(|| Firsts::of(LEADS.iter().copied()));
static SENT_FROM_FIRSTS: LazyLock<Firsts> =
    LazyLock::new(|| Firsts::of(SENT_FROM.iter().map(|(start, _)| *start)));

/// Could `s` start like `lower` (lower case)? The cheap first test of every
/// comparison with a table: nearly all pairs differ in the first letter, and
/// for ASCII that is one byte to compare.
fn first_matches(s: &str, lower: &str) -> bool {
    match (s.as_bytes().first(), lower.as_bytes().first()) {
        (Some(a), Some(b)) if a.is_ascii() || b.is_ascii() => a.to_ascii_lowercase() == *b,
        (Some(_), Some(_)) => {
            s.chars().next().and_then(|c| c.to_lowercase().next()) == lower.chars().next()
        }
        _ => false,
    }
}

/// Could an attribution start with this line: a lead word, a date first
/// ("2014-10-17 …", "02.04.2012 …"), or a day name then a number
/// ("ma 2.11.2026 klo …", "пн, 2 нояб.", "понедельник, 2 ноября", "mandag 2.").
fn attribution_start(line: &str) -> bool {
    let mut words = strip_decor(line).split_whitespace();
    let Some(first) = words.next() else {
        return false;
    };
    if first.starts_with(|c: char| c.is_ascii_digit()) {
        return true;
    }
    let bare = first.trim_end_matches([',', '.']);
    if LEAD_FIRSTS.may_match(bare) && LEADS.iter().any(|lead| eq_fold(bare, lead)) {
        return true;
    }
    bare.chars().count() <= 12
        && bare.chars().all(char::is_alphabetic)
        && words
            .next()
            .is_some_and(|w| w.starts_with(|c: char| c.is_ascii_digit()))
}

/// The cheap test before any regex: does the line end the way an attribution
/// ends (a colon, an address, or one of the verbs)?
fn ends_like_attribution(s: &str) -> bool {
    if s.ends_with([':', '：', '>']) {
        return true;
    }
    let last = s
        .rsplit(|c: char| c.is_whitespace() || c == '>')
        .next()
        .unwrap_or("");
    // Verbs are short: a long last word is none of them.
    last.len() <= 16
        && VERB_FIRSTS.may_match(last)
        && VERB_LAST_WORDS.iter().any(|v| eq_fold(last, v))
}

/// Judges one candidate attribution (joined lines, decoration stripped).
fn judge(joined: &str, gated: bool) -> Option<Strength> {
    if joined.len() > MAX_ATTRIBUTION || !ends_like_attribution(joined) {
        return None;
    }
    let verb = VERB_END.is_match(joined);
    let address = joined.contains('@') && ADDRESS_END.is_match(joined);
    if gated && (verb || address) && DATEISH.is_match(joined) {
        return Some(Strength::Strong);
    }
    let digit_first = joined.starts_with(|c: char| c.is_ascii_digit());
    let quoting = starts_fold(joined, "quoting ") && joined.ends_with(':');
    // The verb inside, then a date ("Ann kirjoitti 2.11.2026 klo 10.04:")
    // or a short name ("Am 02.11.26 um 10:04 schrieb Anna Beispiel:").
    let verb_within = joined.ends_with([':', '：'])
        && VERB_WITHIN.find(joined).is_some_and(|m| {
            let after = &joined[m.end()..];
            after.contains(|c: char| c.is_ascii_digit()) || after.split_whitespace().count() <= 5
        });
    let weak = ((verb || verb_within) && joined.len() <= 300)
        || address
        || quoting
        || (digit_first && joined.contains('@') && joined.ends_with('>'));
    weak.then_some(Strength::Weak)
}

/// An attribution starting with `first` and perhaps wrapped over the lines
/// of `more`: how many lines of `more` it takes, and how sure it is. A
/// wrapped attribution must start like one; a one-line "Bob wrote:" is weak.
pub(super) fn attribution<'a>(
    first: &str,
    more: impl Iterator<Item = &'a str>,
) -> Option<(usize, Strength)> {
    let first = strip_decor(first);
    if first.is_empty() || first.len() > MAX_ATTRIBUTION {
        return None;
    }
    let gated = attribution_start(first);
    if let Some(s) = judge(first, gated) {
        return Some((0, s));
    }
    if !gated {
        return None;
    }
    let mut joined = first.to_string();
    let (mut content, mut blanks) = (1, 0);
    for (k, line) in more.enumerate() {
        let line = line.trim();
        if line.is_empty() {
            blanks += 1;
            if blanks > ATTRIBUTION_BLANKS {
                return None;
            }
            continue;
        }
        content += 1;
        if content > ATTRIBUTION_LINES || joined.len() > MAX_ATTRIBUTION {
            return None;
        }
        // A sentence ended before a blank line ("On it." above the real
        // "On Mon, … wrote:"): that is a reply, not the start of a wrapped
        // attribution.
        if blanks > 0 && joined.ends_with(['.', '!', '?']) {
            return None;
        }
        joined.push(' ');
        joined.push_str(strip_decor(line));
        // A wrapped attribution is only taken when it is sure.
        if let Some(Strength::Strong) = judge(&joined, true) {
            return Some((k + 1, Strength::Strong));
        }
    }
    None
}

/// What a header field label in a quoted header block stands for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Field {
    From,
    Date,
    /// "Sent:" and its translations: a date, in words only mail clients use.
    Sent,
    To,
    Cc,
    Subject,
}

impl Field {
    /// The field's bit in a set of kinds; "Sent" and "Date" are one kind.
    pub(super) fn bit(self) -> u8 {
        match self {
            Field::Sent => 1 << (Field::Date as u8),
            f => 1 << (f as u8),
        }
    }
}

/// Labels of Outlook's, Hotmail's and the forwarders' header blocks, lower
/// case, without the colon.
const LABELS: &[(&str, Field)] = &[
    ("from", Field::From),
    ("de", Field::From),
    ("von", Field::From),
    ("da", Field::From),
    ("van", Field::From),
    ("från", Field::From),
    ("fra", Field::From),
    ("od", Field::From),
    ("lähettäjä", Field::From),
    ("от", Field::From),
    ("expéditeur", Field::From),
    ("absender", Field::From),
    ("mittente", Field::From),
    ("remitente", Field::From),
    ("remetente", Field::From),
    ("afzender", Field::From),
    ("nadawca", Field::From),
    ("avsändare", Field::From),
    ("afsender", Field::From),
    ("avsender", Field::From),
    ("отправитель", Field::From),
    ("发件人", Field::From),
    ("寄件者", Field::From),
    ("差出人", Field::From),
    ("보낸 사람", Field::From),
    ("sent", Field::Sent),
    ("date", Field::Date),
    ("envoyé", Field::Sent),
    ("envoyé le", Field::Sent),
    ("gesendet", Field::Sent),
    ("datum", Field::Date),
    ("inviato", Field::Sent),
    ("data", Field::Date),
    ("enviado", Field::Sent),
    ("enviado el", Field::Sent),
    ("enviado em", Field::Sent),
    ("enviada em", Field::Sent),
    ("fecha", Field::Date),
    ("verzonden", Field::Sent),
    ("verstuurd", Field::Sent),
    ("skickat", Field::Sent),
    ("sendt", Field::Sent),
    ("wysłano", Field::Sent),
    ("wysłane", Field::Sent),
    ("lähetetty", Field::Sent),
    ("päivämäärä", Field::Date),
    ("отправлено", Field::Sent),
    ("дата", Field::Date),
    ("发送时间", Field::Sent),
    ("日期", Field::Date),
    ("寄件日期", Field::Sent),
    ("送信日時", Field::Sent),
    ("보낸 날짜", Field::Sent),
    ("to", Field::To),
    ("à", Field::To),
    ("a", Field::To),
    ("an", Field::To),
    ("para", Field::To),
    ("aan", Field::To),
    ("till", Field::To),
    ("til", Field::To),
    ("do", Field::To),
    ("vastaanottaja", Field::To),
    ("кому", Field::To),
    ("destinataire", Field::To),
    ("empfänger", Field::To),
    ("destinatario", Field::To),
    ("destinatário", Field::To),
    ("ontvanger", Field::To),
    ("adresat", Field::To),
    ("mottagare", Field::To),
    ("modtager", Field::To),
    ("mottaker", Field::To),
    ("收件人", Field::To),
    ("收件者", Field::To),
    ("宛先", Field::To),
    ("받는 사람", Field::To),
    ("cc", Field::Cc),
    ("copie à", Field::Cc),
    ("kopie", Field::Cc),
    ("kopia", Field::Cc),
    ("dw", Field::Cc),
    ("kopio", Field::Cc),
    ("kopi", Field::Cc),
    ("копия", Field::Cc),
    ("subject", Field::Subject),
    ("objet", Field::Subject),
    ("sujet", Field::Subject),
    ("betreff", Field::Subject),
    ("oggetto", Field::Subject),
    ("asunto", Field::Subject),
    ("assunto", Field::Subject),
    ("onderwerp", Field::Subject),
    ("ämne", Field::Subject),
    ("emne", Field::Subject),
    ("temat", Field::Subject),
    ("aihe", Field::Subject),
    ("тема", Field::Subject),
    ("主题", Field::Subject),
    ("主旨", Field::Subject),
    ("件名", Field::Subject),
    ("제목", Field::Subject),
];

/// Where the colon of a label may be, in characters.
const LABEL_SPAN: usize = 24;

/// A header field line of a quoted header block ("From: …", "*Envoyé le :* …",
/// "Von:…"): its field and whether its value holds an address.
pub(super) fn header_field(line: &str) -> Option<(Field, bool)> {
    let s = line.trim_start().trim_start_matches('*');
    // A colon (or the first byte of a full-width one) near the start, found
    // bytewise first; then the exact check by characters.
    let near = &s.as_bytes()[..s.len().min(LABEL_SPAN * 4)];
    if !near.iter().any(|&b| b == b':' || b == 0xEF) {
        return None;
    }
    let (colon, c) = s
        .char_indices()
        .take(LABEL_SPAN)
        .find(|&(_, c)| c == ':' || c == '：')?;
    let label = s[..colon].trim().trim_end_matches('*').trim();
    if label.is_empty() {
        return None;
    }
    let field = LABELS
        .iter()
        .find(|(name, _)| eq_fold(label, name))
        .map(|&(_, f)| f)?;
    Some((field, s[colon + c.len_utf8()..].contains('@')))
}

/// The fields of a header block run together on one line ("From: bob@x
/// Date: Thu, …", an HTML block without line breaks): the label words of the
/// line after its first, as bits of [`Field::bit`].
pub(super) fn fields_within(line: &str) -> u8 {
    line.split_whitespace()
        .skip(1)
        .filter_map(|w| {
            let label = w.trim_matches('*').strip_suffix([':', '：'])?;
            LABELS
                .iter()
                .find(|(name, _)| name.chars().count() > 1 && eq_fold(label, name))
                .map(|&(_, f)| f.bit())
        })
        .fold(0, |a, b| a | b)
}

/// A line of only `_`, `-`, `=`, `*` or `~` (at least four): what Outlook,
/// Hotmail and others draw above a quoted header block.
pub(super) fn is_separator(line: &str) -> bool {
    let t = line.trim();
    let mut chars = t.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    matches!(first, '_' | '-' | '=' | '*' | '~')
        && t.chars().count() >= 4
        && chars.all(|c| c == first)
}

/// Which kind of history a separator phrase opens.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Opening {
    /// "-----Original Message-----" and its translations.
    Original,
    /// "---------- Forwarded message ---------", "Begin forwarded message:".
    Forward,
}

const ORIGINAL: &[&str] = &[
    "original message",
    "original e-mail",
    "original email",
    "reply message",
    "message d'origine",
    "message d’origine",
    "message original",
    "ursprüngliche nachricht",
    "original-nachricht",
    "originalnachricht",
    "antwort nachricht",
    "messaggio originale",
    "mensaje original",
    "mensagem original",
    "oorspronkelijk bericht",
    "origineel bericht",
    "wiadomość oryginalna",
    "oryginalna wiadomość",
    "originalmeddelande",
    "ursprungligt meddelande",
    "oprindelig meddelelse",
    "original meddelelse",
    "opprinnelig melding",
    "alkuperäinen viesti",
    "исходное сообщение",
    "原始邮件",
    "原始郵件",
];

const FORWARD: &[&str] = &[
    "forwarded message",
    "forwarded message follows",
    "begin forwarded message",
    "message transféré",
    "début du message transféré",
    "début du message réexpédié",
    "message réexpédié",
    "weitergeleitete nachricht",
    "anfang der weitergeleiteten nachricht",
    "messaggio inoltrato",
    "inizio messaggio inoltrato",
    "mensaje reenviado",
    "inicio del mensaje reenviado",
    "mensagem encaminhada",
    "início da mensagem encaminhada",
    "início da mensagem reencaminhada",
    "mensagem reencaminhada",
    "doorgestuurd bericht",
    "begin doorgestuurd bericht",
    "wiadomość przekazana dalej",
    "przekazana wiadomość",
    "początek przekazywanej wiadomości",
    "vidarebefordrat meddelande",
    "videresendt meddelelse",
    "videresendt besked",
    "videresendt melding",
    "välitetty viesti",
    "пересылаемое сообщение",
    "пересланное сообщение",
    "начало переадресованного сообщения",
    "переадресованное сообщение",
];

/// "-----Original Message-----", "Begin forwarded message:" and their
/// translations, alone on their line.
pub(super) fn opening(line: &str) -> Option<Opening> {
    let t = line.trim();
    if t.len() > 100
        || !(t.starts_with(['-', '_', '=', '*']) || t.ends_with([':', '：']) || t.ends_with('-'))
    {
        return None;
    }
    let phrase = strip_decor(t).trim_end_matches([':', '：']).trim();
    if ORIGINAL.iter().any(|p| eq_fold(phrase, p)) {
        Some(Opening::Original)
    } else if FORWARD.iter().any(|p| eq_fold(phrase, p)) {
        Some(Opening::Forward)
    } else {
        None
    }
}

/// Starts of the lines phones and apps put under what was written
/// ("Sent from my iPhone"), lower case, and a word the line must end with
/// ("" for none).
const SENT_FROM: &[(&str, &str)] = &[
    ("sent from my ", ""),
    ("sent from ", "iphone"),
    ("sent from ", "ipad"),
    ("sent from ", "android"),
    ("sent from ", "mobile"),
    ("sent from ", "outlook"),
    ("sent from ", "windows"),
    ("sent from ", "mail"),
    ("sent from ", "gmail"),
    ("sent from ", "phone"),
    ("sent from ", "acompli"),
    ("sent from samsung", ""),
    ("sent from yahoo", ""),
    ("sent from blackberry", ""),
    ("sent from aol", ""),
    ("sent with ", ""),
    ("sent via ", ""),
    ("sent using ", ""),
    ("get outlook for ", ""),
    ("envoyé de mon ", ""),
    ("envoyé depuis mon ", ""),
    ("envoyé de ", "iphone"),
    ("envoyé à partir de ", ""),
    ("obtenir outlook pour ", ""),
    ("von meinem ", "gesendet"),
    ("gesendet von meinem ", ""),
    ("gesendet von ", "iphone"),
    ("gesendet mit ", ""),
    ("outlook für ", "beziehen"),
    ("outlook voor ", "downloaden"),
    ("pobierz aplikację outlook", ""),
    ("hämta outlook för ", ""),
    ("hent outlook til ", ""),
    ("få outlook for ", ""),
    ("hanki outlook", ""),
    ("скачайте outlook", ""),
    ("получить outlook для", ""),
    ("inviato da ", ""),
    ("inviato dal mio ", ""),
    ("scarica outlook per ", ""),
    ("enviado desde mi ", ""),
    ("enviado desde ", ""),
    ("obtener outlook para ", ""),
    ("enviado do meu ", ""),
    ("enviado de meu ", ""),
    ("enviado do ", ""),
    ("obter o outlook para ", ""),
    ("verzonden vanaf mijn ", ""),
    ("verstuurd vanaf mijn ", ""),
    ("verzonden met ", ""),
    ("verstuurd met ", ""),
    ("wysłane z mojego ", ""),
    ("wysłane z ", "iphone"),
    ("wysłane z ", "iphone'a"),
    ("wysłano z ", ""),
    ("skickat från min ", ""),
    ("skickades från min ", ""),
    ("sendt fra min ", ""),
    ("sendt fra ", "iphone"),
    ("lähetetty ", "iphonesta"),
    ("lähetetty ", "puhelimesta"),
    ("отправлено с ", ""),
    ("отправлено из ", ""),
];

/// Longest "Sent from …" line.
const SENT_FROM_MAX: usize = 90;

/// "Sent from my iPhone", "Envoyé de mon iPhone", "Von meinem iPhone
/// gesendet", "Get Outlook for iOS" …: the end of what the writer wrote.
pub(super) fn sent_from(line: &str) -> bool {
    let t = line.trim();
    if t.len() > SENT_FROM_MAX {
        return false;
    }
    // Most lines start with a letter no entry starts with.
    if !SENT_FROM_FIRSTS.may_match(t) || t.contains(": ") || t.split_whitespace().count() > 9 {
        return false;
    }
    let last = t
        .rsplit(|c: char| c.is_whitespace())
        .next()
        .unwrap_or("")
        .trim_end_matches(['.', '!']);
    SENT_FROM
        .iter()
        .any(|&(start, end)| starts_fold(t, start) && (end.is_empty() || eq_fold(last, end)))
}

/// Words of the footers lists and mail servers add under everything, and of
/// legal disclaimers (lower case).
const FOOTER_WORDS: &[&str] = &[
    "mailing list",
    "listinfo",
    "unsubscribe",
    "you received this message because",
    "google groups",
    "confidential",
    "disclaimer",
    "intended recipient",
    "intended solely",
    "privileged",
    "virus",
    "this e-mail and any",
    "this email and any",
    "vertraulich",
    "confidentiel",
    "riservat",
    "confidencial",
    "vertrouwelijk",
    "poufn",
    "konfidentiell",
    "fortrolig",
    "luottamuksellinen",
    "конфиденциальн",
    "désinscri",
    "abmelden",
];

/// Does this paragraph read like a list footer or a disclaimer?
pub(super) fn footer_words(paragraph: &str) -> bool {
    let lower = paragraph.to_lowercase();
    FOOTER_WORDS.iter().any(|w| lower.contains(w))
}

/// Two different footer words: a footer even without a rule above it
/// ("Please unsubscribe me" alone is a request, not a footer).
pub(super) fn footer_words_twice(paragraph: &str) -> bool {
    let lower = paragraph.to_lowercase();
    FOOTER_WORDS.iter().filter(|w| lower.contains(*w)).count() >= 2
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> Option<Strength> {
        attribution(line, std::iter::empty()).map(|(_, s)| s)
    }

    #[test]
    fn attributions_by_language() {
        for line in [
            "On Mon, 2 Nov 2026 at 10:04, Ann <ann@example.org> wrote:",
            "On 11/2/26 10:04, Ann wrote:",
            "Le lun. 2 nov. 2026 à 10:04, Ann <ann@example.org> a écrit\u{a0}:",
            "Le 02/11/2026 à 10:04, Ann a écrit :",
            "Am Mo., 2. Nov. 2026 um 10:04 Uhr schrieb Ann <ann@example.org>:",
            "Il giorno lun 2 nov 2026 alle ore 10:04 Ann <ann@example.org> ha scritto:",
            "El lun, 2 nov 2026 a las 10:04, Ann (<ann@example.org>) escribió:",
            "Em seg., 2 de nov. de 2026 às 10:04, Ann <ann@example.org> escreveu:",
            "Op ma 2 nov. 2026 om 10:04 schreef Ann <ann@example.org>:",
            "W dniu 2.11.2026 o 10:04, Ann <ann@example.org> pisze:",
            "pon., 2 lis 2026 o 10:04 Ann <ann@example.org> napisał(a):",
            "Den mån 2 nov. 2026 kl 10:04 skrev Ann <ann@example.org>:",
            "man. 2. nov. 2026 kl. 10:04 skrev Ann <ann@example.org>:",
            "ma 2.11.2026 klo 10.04 Ann (ann@example.org) kirjoitti:",
            "пн, 2 нояб. 2026 г. в 10:04, Ann <ann@example.org>:",
            "2 нояб. 2026 г., в 10:04, Ann <ann@example.org> написал(а):",
            "---- On Mon, 02 Nov 2026 10:04:00 +0100 Ann wrote ----",
            "On Mon, 2 Nov 2026 at 10:04, Ann wrote",
        ] {
            // "pisze" is not a verb we know: the Polish line still ends in an
            // address and a colon.
            assert_eq!(one(line), Some(Strength::Strong), "{line}");
        }
        for line in ["Ann wrote:", "---- Ann wrote ----", "Quoting Ann:"] {
            assert_eq!(one(line), Some(Strength::Weak), "{line}");
        }
        for line in [
            "To be honest I wrote: help!",
            "On blah-blah-blah",
            "10/19/2017 @ 9:30 am for physical therapy",
            "Please see the attached log.",
        ] {
            assert_eq!(one(line), None, "{line}");
        }
    }

    #[test]
    fn wrapped_attributions() {
        let wrapped = |lines: &[&str]| attribution(lines[0], lines[1..].iter().copied());
        assert_eq!(
            wrapped(&[
                "On Mon, 2 Nov 2026 at 10:04, Ann Example <",
                "ann@example.org> wrote:"
            ]),
            Some((1, Strength::Strong))
        );
        assert_eq!(
            wrapped(&[
                "On Nov 30, 2011, at 12:47 PM, Somebody <",
                "416ffd3258d4d2fa4c85cfa4c44e1721d66e3e8f4@somebody.domain.com>",
                "wrote:"
            ]),
            Some((2, Strength::Strong))
        );
        assert_eq!(
            wrapped(&["Thanks a lot,", "Bob wrote:"]),
            None,
            "only a line that starts like an attribution is joined"
        );
    }

    #[test]
    fn header_fields_and_openings() {
        assert_eq!(header_field("*From:* Ann"), Some((Field::From, false)));
        assert_eq!(
            header_field("Envoyé le\u{a0}: lundi"),
            Some((Field::Sent, false))
        );
        assert_eq!(
            header_field("De : Ann <ann@example.org>"),
            Some((Field::From, true))
        );
        assert_eq!(header_field("Datum: 2.11."), Some((Field::Date, false)));
        assert_eq!(header_field("Note: the printer"), None);
        assert_eq!(
            opening("-----Original Message-----"),
            Some(Opening::Original)
        );
        assert_eq!(
            opening("-------- Message d'origine --------"),
            Some(Opening::Original)
        );
        assert_eq!(opening("Begin forwarded message:"), Some(Opening::Forward));
        assert_eq!(
            opening("---------- Forwarded message ---------"),
            Some(Opening::Forward)
        );
        assert_eq!(opening("--- Enter Feedback Below ---"), None);
        assert!(sent_from("Sent from my iPhone"));
        assert!(sent_from("Von meinem iPhone gesendet"));
        assert!(sent_from("Envoyé de mon iPhone"));
        assert!(sent_from("Get Outlook for iOS<https://aka.ms/o0ukef>"));
        assert!(!sent_from(
            "Sent from the office yesterday, it never arrived."
        ));
        assert!(!sent_from("Sent from: Ann"));
        assert!(is_separator("________________________________"));
        assert!(!is_separator("-- "));
    }
}
