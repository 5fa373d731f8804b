//! Is a message from a person, or from a machine that must never get an
//! automatic answer (RFC 3834)? Only the top-level headers count: a human who
//! forwards an out-of-office as an attachment is still a human.
//!
//! The signals, strongest first: a delivery-status or feedback report
//! (RFC 3464, RFC 5965); RFC 3834's `Auto-Submitted` and the de-facto
//! `Precedence`, `List-*` and vendor `X-` fields of autoresponders; the
//! null or mail-system sender. A bounce that carries none of them but says
//! what it is in its Subject ("Undeliverable:", "Unzustellbar:", "Non
//! remis :" …) is believed only when it comes from the null sender or the
//! mail system, or has no human-written text: a person whose subject is
//! "Undeliverable mail" and who writes about it is a person. Last, a
//! person's mail may ask for no automatic answer (`X-Auto-Response-Suppress`,
//! Microsoft's field): it stays a person's mail, but nothing answers it.

use std::sync::LazyLock;

use regex::Regex;

use crate::domain::{MailClass, Mailbox};

/// The top-level header fields as written (unfolded, lossy UTF-8), in order.
#[derive(Debug, Default)]
pub(super) struct Head(pub(super) Vec<(String, String)>);

impl Head {
    /// The first field of that name (field names are case-insensitive).
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

/// Everything the rules look at, already decoded by the caller.
pub(super) struct Signals<'a> {
    pub head: &'a Head,
    pub subject: &'a str,
    pub from: Option<&'a Mailbox>,
    pub return_path: Option<&'a str>,
    /// `report-type` of a top-level multipart/report ("" when it names none).
    pub report_type: Option<&'a str>,
    /// The readable text (see `body::readable_text`) and its new part.
    pub text: &'a str,
    pub new_text: &'a str,
    /// Whether the top-level message has text of its own; without it
    /// `text` is that of a message it carries (a returned original). None
    /// when only the header was read (a message too large to read whole).
    pub own_text: Option<bool>,
}

pub(super) fn classify(s: &Signals<'_>) -> MailClass {
    // A bounce usually carries auto-reply signals too (Auto-Submitted,
    // Return-Path <>); the more specific class wins.
    if let Some(reason) = bounce(s) {
        MailClass::Bounce(reason)
    } else if let Some(reason) = auto_reply(s) {
        MailClass::AutoReply(reason)
    } else if let Some(reason) = asks_no_answer(s.head) {
        MailClass::NoAutoAnswer(reason)
    } else {
        MailClass::Normal
    }
}

/// Subjects of delivery failures, in the wording of the common MTAs and of
/// Outlook/Exchange, Gmail and webmail in the languages customers write in
/// (Exchange puts the translated word before the original subject:
/// "Unzustellbar: …", "Non remis : …", "Mancato recapito: …"). Anchored, so
/// that a person's "Re: Undeliverable: …" about a bounce stays Normal; and
/// believed only under [`bounce_subject_believed`]'s conditions.
static BOUNCE_SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)^\s*(?:\[[^\]]*\]\s*)*(",
        // English: Postfix, Exim, qmail, Sendmail, Exchange, Gmail, Notes, Yahoo.
        r"undeliver(?:ed|able)(?: mail| message)?|delivery status notification(?: \((?:failure|delay|error)\)|: (?:error|failure|delay))|mail delivery failed|mail delivery failure|failure notice|returned mail|delivery fail(?:ure|ed)|delivery notification: delivery has failed|delivery delayed|mail system error - returned mail|non-?deliver(?:y|able) (?:report|notification|mail|message)|message not delivered|message delivery failure|nondeliverable",
        // French.
        r"|non remis|message non remis|non distribuable|(?:message|courrier) non (?:d[ée]livr[ée]|distribu[ée])|[ée]chec de (?:la )?(?:remise|livraison|distribution)|rapport de non-remise|notification d'[ée]tat de (?:la )?remise \((?:[ée]chec|erreur)\)",
        // German.
        r"|unzustellbar(?:e (?:nachricht|e-mail|mail))?|nicht zustellbar|zustellung fehlgeschlagen|fehlgeschlagene zustellung|unzustellbare nachricht|benachrichtigung [üu]ber den zustellstatus \(fehler\)",
        // Italian.
        r"|mancato recapito|non recapitabile|(?:messaggio )?non recapitato|recapito non riuscito|impossibile recapitare|notifica (?:sullo )?stato (?:del |di )?(?:recapito|consegna) \((?:errore|non riuscit[oa])\)",
        // Spanish.
        r"|no se puede entregar|no se pudo entregar|(?:mensaje |correo )?no entregad[oa]|correo devuelto|mensaje devuelto|error (?:en la|de) entrega|entrega fallida|notificaci[óo]n de estado de (?:la )?entrega \((?:error|fallo)\)",
        // Portuguese.
        r"|n[ãa]o [ée] poss[íi]vel entregar|n[ãa]o entregue|mensagem n[ãa]o entregue|falha (?:na|de) entrega|mensagem devolvida|notifica[çc][ãa]o de status de entrega \(falha\)",
        // Dutch.
        r"|onbestelbaar(?: bericht)?|niet bezorgd|bezorging mislukt|kan niet worden bezorgd",
        // Polish.
        r"|niedostarczaln[aey]|niedostarczon[aey](?: wiadomo[śs][ćc])?|wiadomo[śs][ćc] niedostarczona|nie mo[żz]na dostarczy[ćc]|b[łl][ąa]d dostarczenia",
        // Scandinavian, Finnish, Czech, Russian, Japanese, Chinese (Exchange).
        r"|olevererbart|kan inte levereras|kan ikke leveres|ikke levert|ikke leveret|ei voi toimittaa|nedoru[čc]iteln[ée]|недоставляемое|не доставлено|недоставленное сообщение|ваше сообщение не доставлено|配信不能|无法传递|無法傳遞",
        r")\s*(?::|-|\(|$|\s)",
    ))
    .expect("static regex")
});

/// Sentences only mail systems write, in a bounce's own text: the test of
/// "no human-written text" for a bounce named by its subject alone.
static MACHINE_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)(?:(?:created|generated|sent) automatically|automatically (?:created|generated)|mail delivery (?:software|subsystem|system)",
        r"|this is the (?:mail system|qmail-send program|mailer-daemon|postfix program)",
        r"|delivery to the following recipients? (?:failed|has been delayed)|delivery has failed to these recipients",
        r"|did not reach (?:the following recipient|some or all)|could not be delivered to one or more",
        r"|the following address(?:es|\(es\))? failed|technical details of (?:permanent|temporary) failure",
        r"|diagnostic information for administrators|unable to deliver your message|remote (?:host|server) (?:said|returned)",
        r"|transcript of (?:the )?session follows|original message follows|below this line is a copy of the message|this is a copy of the message",
        // Lotus Notes / Domino.
        r"|-{3,}\s*failure reasons\s*-{3,}",
        // Exchange's and webmail's sentence in the other languages.
        r"|cr[ée]{2} automatiquement|la remise .{0,60}a [ée]chou[ée]|[ée]chec de la remise",
        r"|automatisch (?:erstellt|generiert)|die zustellung an (?:diese|folgende) empf[äa]nger",
        r"|generato automaticamente|recapito non riuscito|impossibile recapitare",
        r"|creado autom[áa]ticamente|error en la entrega a|no se pudo entregar",
        r"|(?:gerada|criada) automaticamente|falha na entrega a",
        r"|automatisch gegenereerd|bezorging .{0,60}mislukt",
        r"|wygenerowana automatycznie|automatycznie wygenerowana|nie mo[żz]na dostarczy[ćc]|dostarczenie .{0,60}nie powiod[łl]o si[ęe]",
        r"|создано автоматически|не может быть доставлено)",
    ))
    .expect("static regex")
});

/// Weaker wording, trusted only from MAILER-DAEMON or postmaster.
static FAILURE_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)fail|undeliver|returned|delayed|not delivered|could not (be )?(deliver|sen[dt])|delivery (status|error|problem|notification|report)")
        .expect("static regex")
});

/// Auto-reply subject prefixes in the languages our customers write in, after
/// any `[list]` or `[host #123]` tags. The keyword must end the prefix (colon,
/// dash or end of subject), so "Automatic replies don't work" stays Normal.
static AUTO_SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*(?:\[[^\]]*\]\s*)*(auto(?:matic)?[- ]?(?:reply|response|answer)|out of (?:the )?office(?: auto-?reply)?|abwesenheitsnotiz|automatische antwort|r[ée]ponse automatique|risposta automatica|automatyczna odpowied[zź]|respuesta autom[aá]tica|resposta autom[aá]tica|automatisch antwoord|autosvar|automaattinen vastaus|read|not read|lu|non lu|gelesen|ungelesen|letto|le[ií]do|lido|gelezen)\s*(?::|-|$)",
    )
    .expect("static regex")
});

/// Status mail from another ticket system (RT's "[host #123] Resolved: …").
/// Answering it would start a ping-pong between two help desks.
static TICKET_NOTIFICATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*\[[^\]]*#\d+\]\s*(resolved|rejected|deleted)\s*:").expect("static regex")
});

static NOREPLY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(^|[._+-])(no|do[._-]?not)[._-]?reply($|[._+-])").expect("static regex")
});

/// Non-standard headers that only auto-responders set (with any value but
/// "no", "false" or "0"). `X-Auto-Response-Suppress` is not one of them: it asks the
/// receiver not to answer automatically, and Exchange adds it to ordinary
/// human mail too (help-desk vendors report losing real tickets by
/// filtering on it); see [`asks_no_answer`].
const AUTO_HEADERS: &[&str] = &[
    "X-Autoreply",
    "X-Autorespond",
    "X-Autoresponse",
    "X-Autoresponder",
    "X-Autoreply-From",
    "X-Mail-Autoreply",
    "X-Autogenerated",
    "X-MS-Exchange-Inbox-Rules-Loop",
];

/// Headers of bulk-mail services (Mandrill, Mailchimp, campaign tools):
/// newsletters and transactional mail nobody reads replies to.
const BULK_HEADERS: &[&str] = &["X-Mandrill-User", "X-MC-User", "X-Campaign", "X-CampaignID"];

fn bounce(s: &Signals<'_>) -> Option<String> {
    match s.report_type {
        Some("delivery-status") => {
            return Some("multipart/report; report-type=delivery-status".into());
        }
        Some("feedback-report") => {
            return Some("feedback report (multipart/report; report-type=feedback-report)".into());
        }
        _ => {}
    }
    // Exim's and Exchange's own marks of a bounce.
    if let Some(name) = ["X-Failed-Recipients", "X-MS-Exchange-Message-Is-Ndr"]
        .iter()
        .find(|n| s.head.has(n))
    {
        return Some((*name).to_string());
    }
    if let Some(c) = BOUNCE_SUBJECT.captures(s.subject)
        && let Some(why) = bounce_subject_believed(s)
    {
        return Some(format!("Subject: {}, {why}", c[1].trim()));
    }
    let daemon = daemon_sender(s.from, true)?;
    FAILURE_WORDS
        .is_match(s.subject)
        .then(|| format!("From: {daemon}, failure subject"))
}

/// Whether a bounce subject is the mail system's and not a person's: it
/// came from the null sender or the mail system, or it has no
/// human-written text (no text of its own, or only a mail system's
/// sentences). Returns which, for the reason.
fn bounce_subject_believed(s: &Signals<'_>) -> Option<String> {
    if s.return_path == Some("") {
        return Some("null sender".into());
    }
    if let Some(daemon) = daemon_sender(s.from, true) {
        return Some(format!("from {daemon}"));
    }
    // A message too large to read is read for its header only. A bounce
    // that returns the original with its files is as large as that was,
    // and a person's mail rarely opens with a bounce's words: believed.
    let Some(own_text) = s.own_text else {
        return Some("text not read".into());
    };
    if !own_text || s.new_text.trim().is_empty() {
        return Some("no text of its own".into());
    }
    // The sentences open a bounce: the first 2 KB are enough, and bound the work.
    let mut head = s.text.len().min(2048);
    while !s.text.is_char_boundary(head) {
        head -= 1;
    }
    MACHINE_TEXT
        .is_match(&s.text[..head])
        .then(|| "a mail system's text".into())
}

fn auto_reply(s: &Signals<'_>) -> Option<String> {
    let head = s.head;
    if let Some(value) = head.get("Auto-Submitted") {
        let keyword = value.split([';', '(']).next().unwrap_or_default().trim();
        if !keyword.eq_ignore_ascii_case("no") {
            return Some(format!("Auto-Submitted: {keyword}"));
        }
    }
    match s.report_type {
        Some("disposition-notification") => {
            return Some("read receipt (report-type=disposition-notification)".into());
        }
        Some(other) => return Some(format!("multipart/report; report-type={other}")),
        None => {}
    }
    if let Some(name) = AUTO_HEADERS.iter().find(|n| {
        head.get(n).is_some_and(|v| {
            !matches!(v.trim().to_ascii_lowercase().as_str(), "no" | "false" | "0")
        })
    }) {
        return Some((*name).to_string());
    }
    if let Some(c) = AUTO_SUBJECT.captures(s.subject) {
        return Some(format!("Subject: {}", &c[1]));
    }
    if let Some(name) = ["List-Id", "List-Unsubscribe"].iter().find(|n| head.has(n)) {
        return Some((*name).to_string());
    }
    // `X-Precedence` is what some list servers and bulk mailers write instead.
    for name in ["Precedence", "X-Precedence"] {
        if let Some(p) = head.get(name) {
            let p = p.trim().to_ascii_lowercase();
            if matches!(p.as_str(), "bulk" | "junk" | "list" | "auto_reply") {
                return Some(format!("{name}: {p}"));
            }
        }
    }
    if s.return_path == Some("") {
        return Some("Return-Path: <>".into());
    }
    // The address alone: a person may sign "Postmaster" on their own mail.
    if let Some(daemon) = daemon_sender(s.from, false) {
        return Some(format!("From: {daemon}"));
    }
    if let Some(from) = s.from.filter(|f| NOREPLY.is_match(f.address.local_part())) {
        return Some(format!("From: no-reply address {}", from.address));
    }
    if let Some(name) = BULK_HEADERS.iter().find(|n| head.has(n)) {
        return Some(format!("{name} (bulk sender)"));
    }
    TICKET_NOTIFICATION
        .is_match(s.subject)
        .then(|| "Subject: ticket-system notification".into())
}

/// `X-Auto-Response-Suppress` (Microsoft, [MS-OXCMAIL] 2.2.3.2.20) naming
/// the kinds of answer we would send: `All`, `AutoReply` (any automatic
/// reply) or `OOF`. `None`, or only delivery and read reports (`DR`, `NDR`,
/// `RN`, `NRN`), do not ask us for silence.
fn asks_no_answer(head: &Head) -> Option<String> {
    let value = head.get("X-Auto-Response-Suppress")?;
    value
        .split([',', ';', ' '])
        .map(str::trim)
        .any(|k| {
            ["all", "autoreply", "oof"]
                .iter()
                .any(|w| k.eq_ignore_ascii_case(w))
        })
        .then(|| {
            let shown: String = value.trim().chars().take(60).collect();
            format!("X-Auto-Response-Suppress: {shown}: the sender asks for no automatic answer")
        })
}

/// Display names mail systems sign their bounces with.
static DAEMON_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(mail(?:er)?[- _]?daemon|mail delivery (?:system|subsystem|service)|postmaster|mail administrator|mail system)\s*$")
        .expect("static regex")
});

/// Exchange's NDR sender: `MicrosoftExchange` and 32 hex digits.
static EXCHANGE_SENDER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^microsoftexchange[0-9a-f]{32}$").expect("static regex"));

/// How From says it is the mail system itself: its local part
/// (MAILER-DAEMON, postmaster, Exchange's sender) or, with `by_name`, its
/// display name ("Mail Delivery System"), which only backs up a bounce's
/// subject.
fn daemon_sender(from: Option<&Mailbox>, by_name: bool) -> Option<String> {
    let from = from?;
    let local = from.address.local_part();
    let by_address = [
        "mailer-daemon",
        "mailer_daemon",
        "mailerdaemon",
        "postmaster",
    ]
    .iter()
    .any(|d| local.eq_ignore_ascii_case(d))
        || EXCHANGE_SENDER.is_match(local);
    if by_address {
        return Some(local.to_string());
    }
    let name = from.name.as_deref().filter(|_| by_name)?;
    DAEMON_NAME.is_match(name).then(|| name.trim().to_string())
}
