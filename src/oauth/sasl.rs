//! The SASL messages that carry an access token: XOAUTH2 (Google's and
//! Microsoft's) and OAUTHBEARER (RFC 7628). Pure: the sessions in `source`
//! and `outbox` send what these build (base64 is the protocol's business).

/// A token-carrying SASL mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    OAuthBearer,
    XOAuth2,
}

impl Mechanism {
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::OAuthBearer => "OAUTHBEARER",
            Mechanism::XOAuth2 => "XOAUTH2",
        }
    }

    /// What the server announces, case-insensitively: OAUTHBEARER (the
    /// standard) when there, else XOAUTH2. `None`: neither is offered.
    pub fn choose<'a>(offered: impl IntoIterator<Item = &'a str>) -> Option<Mechanism> {
        let mut best = None;
        for m in offered {
            if m.eq_ignore_ascii_case("OAUTHBEARER") {
                return Some(Mechanism::OAuthBearer);
            }
            if m.eq_ignore_ascii_case("XOAUTH2") {
                best = Some(Mechanism::XOAuth2);
            }
        }
        best
    }

    /// The client's first message (before base64). OAUTHBEARER's GS2 header
    /// names the user as authorization identity (`,` and `=` escaped, RFC
    /// 5801) and the server's host and port.
    pub fn initial_response(self, user: &str, host: &str, port: u16, token: &str) -> String {
        match self {
            Mechanism::XOAuth2 => format!("user={user}\x01auth=Bearer {token}\x01\x01"),
            Mechanism::OAuthBearer => {
                let user = user.replace('=', "=3D").replace(',', "=2C");
                format!("n,a={user},\x01host={host}\x01port={port}\x01auth=Bearer {token}\x01\x01")
            }
        }
    }

    /// The answer to the error challenge a server sends after refusing a
    /// token: empty for XOAUTH2, a lone %x01 for OAUTHBEARER (RFC 7628
    /// section 3.2.3). The server then ends the exchange with a failure.
    pub fn after_error(self) -> &'static str {
        match self {
            Mechanism::XOAuth2 => "",
            Mechanism::OAuthBearer => "\x01",
        }
    }
}

/// True when a line of user, token or host would break the message apart.
pub fn unsafe_field(s: &str) -> bool {
    s.contains(['\x01', '\r', '\n'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choose_prefers_the_standard_mechanism() {
        let cases: [(&[&str], Option<Mechanism>); 6] = [
            (&["PLAIN", "LOGIN"], None),
            (&["XOAUTH2"], Some(Mechanism::XOAuth2)),
            (&["xoauth2", "PLAIN"], Some(Mechanism::XOAuth2)),
            (&["XOAUTH2", "OAUTHBEARER"], Some(Mechanism::OAuthBearer)),
            (&["oauthbearer"], Some(Mechanism::OAuthBearer)),
            (&[], None),
        ];
        for (offered, want) in cases {
            assert_eq!(
                Mechanism::choose(offered.iter().copied()),
                want,
                "{offered:?}"
            );
        }
    }

    #[test]
    fn initial_responses() {
        let cases = [
            (
                Mechanism::XOAuth2,
                "a@b.test",
                "user=a@b.test\x01auth=Bearer T0k\x01\x01",
            ),
            (
                Mechanism::OAuthBearer,
                "a@b.test",
                "n,a=a@b.test,\x01host=imap.test\x01port=993\x01auth=Bearer T0k\x01\x01",
            ),
            (
                Mechanism::OAuthBearer,
                "odd,name=x@b.test",
                "n,a=odd=2Cname=3Dx@b.test,\x01host=imap.test\x01port=993\x01auth=Bearer T0k\x01\x01",
            ),
        ];
        for (m, user, want) in cases {
            assert_eq!(m.initial_response(user, "imap.test", 993, "T0k"), want);
        }
    }

    #[test]
    fn unsafe_fields() {
        for (s, bad) in [
            ("a@b", false),
            ("a\x01b", true),
            ("a\r\n", true),
            ("", false),
        ] {
            assert_eq!(unsafe_field(s), bad, "{s:?}");
        }
    }
}
