//! screen: the loop and sanity rules a parsed message passes before it may
//! touch a ticket. Decides whether the message may be answered automatically
//! (RFC 3834) and what is held back for an operator.

use crate::parse::Inbound;
use crate::types::Address;

/// What the screen lets through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Goes on to threading; `no_answer` says why no automatic mail may
    /// answer it, if that is so.
    Pass { no_answer: Option<String> },
    /// Kept in quarantine for an operator, with the reason.
    Hold(String),
}

/// The rules' inputs from the config.
pub struct Rules<'a> {
    /// The support address: mail claiming to come from it is never answered.
    pub own_address: &'a Address,
}

pub fn screen(inbound: &Inbound, rules: &Rules<'_>) -> Verdict {
    let Some(from) = &inbound.from else {
        // Nobody to answer and nobody to file the ticket under.
        return Verdict::Hold("no valid From address".into());
    };
    let no_answer = if from.address == *rules.own_address {
        Some(format!("sent from our own address {}", rules.own_address))
    } else {
        inbound
            .class
            .reason()
            .map(|why| format!("{} ({why})", inbound.class.label()))
    };
    Verdict::Pass { no_answer }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{MailClass, Mailbox};

    fn msg(from: Option<&str>, class: MailClass) -> Inbound {
        Inbound {
            from: from.map(|a| Mailbox {
                name: None,
                address: Address::parse(a).unwrap(),
            }),
            class,
            ..Inbound::default()
        }
    }

    #[test]
    fn verdicts() {
        let own = Address::parse("support@desk.example").unwrap();
        let rules = Rules { own_address: &own };
        assert_eq!(
            screen(&msg(Some("ann@x.example"), MailClass::Normal), &rules),
            Verdict::Pass { no_answer: None }
        );
        assert_eq!(
            screen(&msg(None, MailClass::Normal), &rules),
            Verdict::Hold("no valid From address".into())
        );
        let v = screen(
            &msg(Some("SUPPORT@desk.example"), MailClass::Normal),
            &rules,
        );
        assert!(
            matches!(v, Verdict::Pass { no_answer: Some(ref r) } if r.contains("own address")),
            "{v:?}"
        );
        let v = screen(
            &msg(
                Some("ann@x.example"),
                MailClass::AutoReply("Precedence: bulk".into()),
            ),
            &rules,
        );
        assert!(
            matches!(v, Verdict::Pass { no_answer: Some(ref r) } if r.contains("Precedence: bulk")),
            "{v:?}"
        );
    }
}
