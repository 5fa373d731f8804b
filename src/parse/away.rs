//! away: until when an out-of-office reply says its writer is away, in the
//! languages customers write in — one phrase for the staff notification,
//! never a date postdesk acts on.

use std::sync::LazyLock;

use regex::Regex;

static UNTIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:until|till|back on|jusqu['’]au|jusqu['’]à|de retour le|fino al|fino a|rientro il|rientrerò il)\s+([^\n.;!?]{3,60})",
    )
    .expect("static regex")
});

/// The phrase after "until" (or "jusqu'au", "fino al" …) in an
/// out-of-office `text`, cut at the end of the date; None when it says
/// none.
pub fn away_until(text: &str) -> Option<String> {
    let c = UNTIL.captures(text)?;
    let mut phrase = c[1].trim();
    for stop in [
        ",", " and ", " et ", " e ", " und ", " with ", " avec ", " con ", " (", " - ",
    ] {
        if let Some(i) = phrase.find(stop) {
            phrase = &phrase[..i];
        }
    }
    let phrase = phrase.trim();
    (!phrase.is_empty()).then(|| phrase.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_date_an_out_of_office_names() {
        #[rustfmt::skip]
        let cases = [
            ("I am out of the office until 14 December and will answer then.", Some("14 December")),
            ("Thank you for your mail. I'm away till Monday, 7 December.", Some("Monday")),
            ("Je suis absente jusqu'au 18 décembre inclus. Pour toute urgence…", Some("18 décembre inclus")),
            ("Je suis absent jusqu’au lundi 4 janvier et je lirai votre message", Some("lundi 4 janvier")),
            ("Sono fuori ufficio fino al 6 gennaio e risponderò al rientro.", Some("6 gennaio")),
            ("I am out of the office with limited access to mail.", None),
            ("", None),
        ];
        for (text, want) in cases {
            assert_eq!(away_until(text).as_deref(), want, "{text}");
        }
    }
}
