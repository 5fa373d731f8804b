//! words: what a mail says of the ticket in its reader's language — status
//! and type names, who acted ("our team", "(staff)"), and dates in the
//! language's usual format in the desk's zone. Pure data and formatting;
//! the templates (conf/templates) hold the sentences around them.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Timelike, Utc};

use super::Language;
use super::Status;
use super::calendar::Calendar;

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
    /// A status as a reader of the language names it (in English, the
    /// names the commands take: `waiting-for-customer`).
    pub fn status(&self, s: Status) -> &'static str {
        use Status::*;
        let [fr, it] = match s {
            New => ["nouveau", "nuovo"],
            InProgress => ["en cours", "in lavorazione"],
            WaitingForCustomer => ["en attente du client", "in attesa del cliente"],
            OnHold => ["en suspens", "sospeso"],
            Closed => ["fermé", "chiuso"],
            Rejected => ["refusé", "respinto"],
        };
        self.pick([s.as_str(), fr, it])
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

    /// `queue:` before a move to another queue (issue 14).
    pub fn queue_field(&self) -> &'static str {
        self.pick(["queue:", "service :", "reparto:"])
    }

    /// An instant in the desk's zone, as the language writes dates:
    /// `2026-11-23 09:00 CET`, `23 novembre 2026 à 09:00 CET`,
    /// `23 novembre 2026 alle 09:00 CET`.
    pub fn date(&self, t: DateTime<Utc>) -> String {
        let local = self.calendar.local(t);
        let zone = local.format("%Z");
        let (d, y, h, m) = (local.day(), local.year(), local.hour(), local.minute());
        let month = local.month0() as usize;
        match self.lang {
            Language::En => self.calendar.format(t),
            Language::Fr => {
                let day = if d == 1 {
                    "1er".to_string()
                } else {
                    d.to_string()
                };
                format!("{day} {} {y} à {h:02}:{m:02} {zone}", FR_MONTHS[month])
            }
            Language::It => {
                let day = if d == 1 {
                    "1º".to_string()
                } else {
                    d.to_string()
                };
                format!("{day} {} {y} alle {h:02}:{m:02} {zone}", IT_MONTHS[month])
            }
        }
    }

    /// A day in the desk's zone, as the language writes it:
    /// `2026-11-23`, `23 novembre 2026`.
    pub fn day(&self, t: DateTime<Utc>) -> String {
        let local = self.calendar.local(t);
        let (d, y, month) = (local.day(), local.year(), local.month0() as usize);
        match self.lang {
            Language::En => local.format("%Y-%m-%d").to_string(),
            Language::Fr => format!("{d} {} {y}", FR_MONTHS[month]),
            Language::It => format!("{d} {} {y}", IT_MONTHS[month]),
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

    #[test]
    fn dates_statuses_and_types_per_language() {
        let cal = Calendar::new(chrono_tz::Europe::Paris, &[Weekday::Mon], &[]);
        let mut types = TypeNames::default();
        let name = |n: &str| BTreeMap::from([("billing".to_string(), n.to_string())]);
        types.insert("fr".into(), name("facturation"));
        types.insert("it".into(), name("fatturazione"));
        let speak = |lang| Speech {
            lang,
            calendar: &cal,
            types: &types,
        };
        #[rustfmt::skip]
        let cases = [
            (Language::En, "2026-11-23 09:00 CET", "2026-07-01 10:00 CEST", "waiting-for-customer", "billing"),
            (Language::Fr, "23 novembre 2026 à 09:00 CET", "1er juillet 2026 à 10:00 CEST", "en attente du client", "facturation"),
            (Language::It, "23 novembre 2026 alle 09:00 CET", "1º luglio 2026 alle 10:00 CEST", "in attesa del cliente", "fatturazione"),
        ];
        for (lang, winter, summer, waiting, billing) in cases {
            let s = speak(lang);
            assert_eq!(s.date(utc("2026-11-23T08:00:00Z")), winter);
            assert_eq!(s.date(utc("2026-07-01T08:00:00Z")), summer);
            assert_eq!(s.status(Status::WaitingForCustomer), waiting);
            assert_eq!(s.ticket_type("billing"), billing);
            assert_eq!(s.ticket_type("refund"), "refund", "no name: the id");
        }
        // A reason postdesk gives is translated; one a person typed is not.
        for (lang, solved) in [
            (Language::En, "we are glad it is solved"),
            (Language::Fr, "nous sommes ravis que ce soit résolu"),
            (Language::It, "siamo lieti che sia risolto"),
        ] {
            let s = speak(lang);
            assert!(s.reason(SOLVED_REASON).contains(solved), "{lang:?}");
            assert!(s.reason(SOLVED_REASON).contains("#solved"), "{lang:?}");
            assert_eq!(s.reason("duplicate of #4"), "duplicate of #4");
            assert_eq!(s.reason(""), "");
        }
        // Every status has a word in every language, and no two share one.
        for lang in Language::ALL {
            let s = speak(lang);
            let words: Vec<&str> = Status::ALL.iter().map(|st| s.status(*st)).collect();
            for (i, w) in words.iter().enumerate() {
                assert!(!words[..i].contains(w), "{lang:?}: {w} twice");
            }
        }
    }
}
