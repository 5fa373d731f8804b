//! The languages the desk writes in: templates, receipts and notices come
//! in one of these, chosen for each recipient by [`choose`].

/// A language of the shipped templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Language {
    En,
    Fr,
    It,
}

impl Language {
    pub const ALL: [Language; 3] = [Language::En, Language::Fr, Language::It];

    /// The language named `code` ("en", "fr", "it"), as the store keeps it.
    pub fn from_code(code: &str) -> Option<Language> {
        Language::ALL.into_iter().find(|l| l.as_str() == code)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Fr => "fr",
            Language::It => "it",
        }
    }
}

/// The language of a mail to one person: that person's own account's (the
/// ISP's for the ISP, the child account's for its people), else the
/// ticket's account's, else `default` — the desk's `default_language`, or
/// whatever default the caller's context has (a queue's, say).
pub fn choose(own: Option<Language>, ticket: Option<Language>, default: Language) -> Language {
    own.or(ticket).unwrap_or(default)
}

#[cfg(test)]
mod tests {
    use super::Language::*;
    use super::*;

    #[test]
    fn the_recipients_own_account_first_then_the_tickets_then_the_default() {
        #[rustfmt::skip]
        let cases = [
            // own,     ticket,   default, want
            (Some(En), Some(Fr), It, En), // the ISP writing for a French child
            (None,     Some(Fr), En, Fr), // a delegate without an account of its own
            (Some(Fr), None,     En, Fr), // a ticket without an account
            (None,     None,     It, It), // the Italian desk's default
            (None,     None,     En, En),
            (Some(It), Some(It), En, It),
        ];
        for (own, ticket, default, want) in cases {
            assert_eq!(
                choose(own, ticket, default),
                want,
                "{own:?} {ticket:?} {default:?}"
            );
        }
    }
}
