//! words: what a mail says of the ticket in its reader's language — status
//! and type names, who acted ("our team", "(staff)"), and dates in the
//! language's usual format in the desk's zone. Pure data and formatting;
//! the templates (conf/templates) hold the sentences around them.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Timelike, Utc};

use super::Language;
use super::Status;
use super::calendar::Calendar;
use super::proof::ProofKind;

/// `[service.type_names.<lang>]`: a ticket type's display name, by
/// language code and type id; a type without one is shown by its id.
pub type TypeNames = BTreeMap<String, BTreeMap<String, String>>;

/// Why a ticket closed when its customer answered `#solved` (issue 15), as
/// the history says it; mails say it in their reader's language
/// ([`Speech::reason`]).
pub const SOLVED_REASON: &str =
    "the customer answered #solved: thank you, we are glad it is solved";

/// How a mail in one language speaks of a ticket.
#[derive(Debug, Clone, Copy)]
pub struct Speech<'a> {
    pub lang: Language,
    pub calendar: &'a Calendar,
    pub types: &'a TypeNames,
}

impl Speech<'_> {
    /// A status as a reader of the language names it: words, not the
    /// command words staff type (`waiting-for-customer`), which only the
    /// help texts show.
    pub fn status(&self, s: Status) -> &'static str {
        use Status::*;
        self.pick(match s {
            New => ["new", "nouveau", "nuovo"],
            InProgress => ["in progress", "en cours", "in lavorazione"],
            WaitingForCustomer => [
                "waiting for the customer",
                "en attente du client",
                "in attesa del cliente",
            ],
            OnHold => ["on hold", "en suspens", "sospeso"],
            Closed => ["closed", "fermé", "chiuso"],
            Rejected => ["rejected", "refusé", "respinto"],
        })
    }

    /// A ticket type's display name (`[service.type_names]`), else its id.
    pub fn ticket_type<'t>(&'t self, id: &'t str) -> &'t str {
        self.types
            .get(self.lang.as_str())
            .and_then(|names| names.get(id))
            .map_or(id, String::as_str)
    }

    /// After a staff member's name in a history: `Bruno (staff)`.
    pub fn staff_mark(&self) -> &'static str {
        self.pick(["(staff)", "(équipe)", "(assistenza)"])
    }

    /// After a staff member's name on an internal note (staff side only).
    pub fn note_mark(&self) -> &'static str {
        self.pick([
            "(staff, internal note)",
            "(équipe, note interne)",
            "(assistenza, nota interna)",
        ])
    }

    /// Who changed a ticket, as the customer side reads it: the desk's
    /// people, never an operator's login.
    pub fn our_team(&self) -> &'static str {
        self.pick(["our team", "notre équipe", "il nostro team"])
    }

    /// `status:` or `type:` before a change, with the language's colon
    /// (French puts a space before it).
    pub fn field(&self, type_change: bool) -> &'static str {
        match type_change {
            true => self.pick(["type:", "type :", "tipo:"]),
            false => self.pick(["status:", "statut :", "stato:"]),
        }
    }

    /// The head of a whole history whose oldest `n` entries the store
    /// could not hold.
    pub fn older_left_out(&self, n: u64) -> String {
        match self.lang {
            Language::En => format!("[… {n} older entries left out]"),
            Language::Fr => format!("[… {n} entrées plus anciennes omises]"),
            Language::It => format!("[… {n} voci più vecchie omesse]"),
        }
    }

    /// Who a staff notice about a delivery report comes from (its From
    /// name).
    pub fn mail_delivery(&self) -> &'static str {
        self.pick([
            "Mail delivery",
            "Distribution du courrier",
            "Consegna della posta",
        ])
    }

    /// `since` before a date: an address failing since then.
    pub fn since(&self) -> &'static str {
        self.pick(["since", "depuis le", "dal"])
    }

    /// How ownership of a ticket's account was shown (staff mails).
    pub fn proof(&self, kind: Option<ProofKind>) -> &'static str {
        self.pick(match kind {
            None => ["none", "aucune", "nessuna"],
            Some(ProofKind::Pin) => ["PIN confirmed", "PIN confirmé", "PIN confermato"],
            Some(ProofKind::PrimaryConfirmed) => [
                "confirmed by the primary address",
                "confirmée par l'adresse principale",
                "confermata dall'indirizzo principale",
            ],
            Some(ProofKind::GenuinePrimary) => [
                "written by the genuine primary address",
                "écrit par l'adresse principale authentique",
                "scritto dall'indirizzo principale autentico",
            ],
        })
    }

    /// `queue:` before a move to another queue (issue 14).
    pub fn queue_field(&self) -> &'static str {
        self.pick(["queue:", "service :", "reparto:"])
    }

    /// An instant in the desk's zone, as the language writes dates:
    /// `23 November 2026, 09:00 CET`, `23 novembre 2026 à 09:00 CET`,
    /// `23 novembre 2026 alle 09:00 CET`.
    pub fn date(&self, t: DateTime<Utc>) -> String {
        let local = self.calendar.local(t);
        let zone = local.format("%Z");
        let (d, y, h, m) = (local.day(), local.year(), local.hour(), local.minute());
        let month = local.month0() as usize;
        match self.lang {
            Language::En => format!("{d} {} {y}, {h:02}:{m:02} {zone}", EN_MONTHS[month]),
            Language::Fr => format!(
                "{} {} {y} à {h:02}:{m:02} {zone}",
                fr_day(d),
                FR_MONTHS[month]
            ),
            Language::It => format!(
                "{} {} {y} alle {h:02}:{m:02} {zone}",
                it_day(d),
                IT_MONTHS[month]
            ),
        }
    }

    /// A day in the desk's zone, as the language writes it:
    /// `23 November 2026`, `23 novembre 2026` (`1er`, `1º` on the first).
    pub fn day(&self, t: DateTime<Utc>) -> String {
        let local = self.calendar.local(t);
        let (d, y, month) = (local.day(), local.year(), local.month0() as usize);
        match self.lang {
            Language::En => format!("{d} {} {y}", EN_MONTHS[month]),
            Language::Fr => format!("{} {} {y}", fr_day(d), FR_MONTHS[month]),
            Language::It => format!("{} {} {y}", it_day(d), IT_MONTHS[month]),
        }
    }

    /// The reason of a change as the reader reads it: one postdesk gives
    /// itself ([`SOLVED_REASON`]) in the reader's language, one a person
    /// typed as typed.
    pub fn reason(&self, r: &str) -> String {
        match r {
            SOLVED_REASON => self
                .pick([
                    SOLVED_REASON,
                    "le client a répondu #solved : merci, nous sommes ravis que ce soit résolu",
                    "il cliente ha risposto #solved: grazie, siamo lieti che sia risolto",
                ])
                .to_string(),
            other => other.to_string(),
        }
    }

    fn pick(&self, words: [&'static str; 3]) -> &'static str {
        match self.lang {
            Language::En => words[0],
            Language::Fr => words[1],
            Language::It => words[2],
        }
    }
}

/// French writes the first of a month `1er`.
fn fr_day(d: u32) -> String {
    if d == 1 { "1er".into() } else { d.to_string() }
}

/// Italian writes the first of a month `1º`.
fn it_day(d: u32) -> String {
    if d == 1 { "1º".into() } else { d.to_string() }
}

const EN_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

const FR_MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

const IT_MONTHS: [&str; 12] = [
    "gennaio",
    "febbraio",
    "marzo",
    "aprile",
    "maggio",
    "giugno",
    "luglio",
    "agosto",
    "settembre",
    "ottobre",
    "novembre",
    "dicembre",
];

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Weekday;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn calendar() -> Calendar {
        Calendar::new(chrono_tz::Europe::Paris, &[Weekday::Mon], &[])
    }

    fn speak<'a>(lang: Language, cal: &'a Calendar, types: &'a TypeNames) -> Speech<'a> {
        Speech {
            lang,
            calendar: cal,
            types,
        }
    }

    #[test]
    fn dates_and_days_per_language_in_the_desks_zone() {
        let cal = calendar();
        let types = TypeNames::default();
        #[rustfmt::skip]
        let cases = [
            // instant (UTC),          language,     date(),                             day()
            ("2026-12-07T13:05:00Z", Language::En, "7 December 2026, 14:05 CET",       "7 December 2026"),
            ("2026-12-07T13:05:00Z", Language::Fr, "7 décembre 2026 à 14:05 CET",      "7 décembre 2026"),
            ("2026-12-07T13:05:00Z", Language::It, "7 dicembre 2026 alle 14:05 CET",   "7 dicembre 2026"),
            ("2026-07-01T08:00:00Z", Language::En, "1 July 2026, 10:00 CEST",          "1 July 2026"),
            ("2026-07-01T08:00:00Z", Language::Fr, "1er juillet 2026 à 10:00 CEST",    "1er juillet 2026"),
            ("2026-07-01T08:00:00Z", Language::It, "1º luglio 2026 alle 10:00 CEST",   "1º luglio 2026"),
            // 23:30 UTC is already the next day in Paris.
            ("2026-02-28T23:30:00Z", Language::En, "1 March 2026, 00:30 CET",          "1 March 2026"),
            ("2026-02-28T23:30:00Z", Language::Fr, "1er mars 2026 à 00:30 CET",        "1er mars 2026"),
            ("2026-02-28T23:30:00Z", Language::It, "1º marzo 2026 alle 00:30 CET",     "1º marzo 2026"),
            ("2026-11-23T08:00:00Z", Language::En, "23 November 2026, 09:00 CET",      "23 November 2026"),
        ];
        for (at, lang, date, day) in cases {
            let s = speak(lang, &cal, &types);
            assert_eq!(s.date(utc(at)), date, "{at} {lang:?}");
            assert_eq!(s.day(utc(at)), day, "{at} {lang:?}");
        }
    }

    #[test]
    fn status_names_per_language_are_words_not_commands() {
        let cal = calendar();
        let types = TypeNames::default();
        use Status::*;
        #[rustfmt::skip]
        let cases = [
            (New,                ["new",                      "nouveau",              "nuovo"]),
            (InProgress,         ["in progress",              "en cours",             "in lavorazione"]),
            (WaitingForCustomer, ["waiting for the customer", "en attente du client", "in attesa del cliente"]),
            (OnHold,             ["on hold",                  "en suspens",           "sospeso"]),
            (Closed,             ["closed",                   "fermé",                "chiuso"]),
            (Rejected,           ["rejected",                 "refusé",               "respinto"]),
        ];
        assert_eq!(cases.len(), Status::ALL.len(), "every status in the table");
        for (status, words) in cases {
            for (lang, want) in Language::ALL.into_iter().zip(words) {
                let got = speak(lang, &cal, &types).status(status);
                assert_eq!(got, want, "{lang:?} {}", status.as_str());
                assert!(!got.contains('-'), "{lang:?}: {got} is a command word");
            }
        }
        // No two statuses share a word in one language.
        for lang in Language::ALL {
            let s = speak(lang, &cal, &types);
            let words: Vec<&str> = Status::ALL.iter().map(|st| s.status(*st)).collect();
            for (i, w) in words.iter().enumerate() {
                assert!(!words[..i].contains(w), "{lang:?}: {w} twice");
            }
        }
    }

    #[test]
    fn a_reason_postdesk_gives_is_translated_one_a_person_typed_is_not() {
        let cal = calendar();
        let types = TypeNames::default();
        for (lang, solved) in [
            (Language::En, "we are glad it is solved"),
            (Language::Fr, "nous sommes ravis que ce soit résolu"),
            (Language::It, "siamo lieti che sia risolto"),
        ] {
            let s = speak(lang, &cal, &types);
            assert!(s.reason(SOLVED_REASON).contains(solved), "{lang:?}");
            assert!(s.reason(SOLVED_REASON).contains("#solved"), "{lang:?}");
            assert_eq!(s.reason("duplicate of #4"), "duplicate of #4");
            assert_eq!(s.reason(""), "");
        }
    }

    #[test]
    fn the_other_words_of_a_mail_per_language() {
        let cal = calendar();
        let types = TypeNames::default();
        #[rustfmt::skip]
        let cases = [
            (Language::En, "[… 3 older entries left out]", "since", "none", "PIN confirmed", "Mail delivery"),
            (Language::Fr, "[… 3 entrées plus anciennes omises]", "depuis le", "aucune", "PIN confirmé", "Distribution du courrier"),
            (Language::It, "[… 3 voci più vecchie omesse]", "dal", "nessuna", "PIN confermato", "Consegna della posta"),
        ];
        for (lang, left_out, since, none, pin, delivery) in cases {
            let s = speak(lang, &cal, &types);
            assert_eq!(s.older_left_out(3), left_out);
            assert_eq!(s.since(), since);
            assert_eq!(s.proof(None), none);
            assert_eq!(s.proof(Some(ProofKind::Pin)), pin);
            assert_eq!(s.mail_delivery(), delivery);
        }
    }

    #[test]
    fn type_names_per_language_else_the_id() {
        let cal = calendar();
        let mut types = TypeNames::default();
        let name = |n: &str| BTreeMap::from([("billing".to_string(), n.to_string())]);
        types.insert("fr".into(), name("facturation"));
        types.insert("it".into(), name("fatturazione"));
        for (lang, billing) in [
            (Language::En, "billing"),
            (Language::Fr, "facturation"),
            (Language::It, "fatturazione"),
        ] {
            let s = speak(lang, &cal, &types);
            assert_eq!(s.ticket_type("billing"), billing);
            assert_eq!(s.ticket_type("refund"), "refund", "no name: the id");
        }
    }
}
