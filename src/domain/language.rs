//! The languages the desk writes in: templates, receipts and notices come
//! in one of these, chosen per account, per sender or for the desk.

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
