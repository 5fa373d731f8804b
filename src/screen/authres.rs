//! authres: reads `Authentication-Results` header fields (RFC 8601) and
//! decides whether a message's From address is genuine.
//!
//! From is easy to forge; the operator's own MTA checks DKIM, SPF and DMARC
//! and records the outcome in an `Authentication-Results` field stamped with
//! its `authserv-id`. Anyone can write such a field into a message before it
//! reaches that MTA, so postdesk trusts only:
//!
//! 1. fields whose authserv-id is the configured `intake.authserv_id`
//!    (compared without regard to case); every other field is ignored;
//! 2. and of those, only the **topmost run**: walking the header from the
//!    top, trusted fields are collected until the first `Received` field
//!    that comes *after* one of them. That `Received` field is the hop by
//!    which the message reached our MTA; everything below it was written
//!    before our MTA saw the message, whatever authserv-id it claims.
//!    (`Received` fields above the first trusted field are our own later
//!    hops, e.g. the LMTP delivery into the mailbox postdesk reads.)
//! 3. Within the run, the topmost `dmarc` result decides. Without any
//!    `dmarc` result, a `dkim=pass` whose signing domain (`header.d`, else
//!    the domain of `header.i`) is aligned with the From domain decides
//!    (relaxed alignment: equal, or one a subdomain of the other).
//!
//! The MTA should also remove fields carrying its own authserv-id from
//! incoming mail (RFC 8601 section 5); postdesk does not rely on it.

use crate::domain::Address;

/// One parsed `Authentication-Results` field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthResults {
    pub authserv_id: String,
    /// Empty for `authserv-id; none`.
    pub results: Vec<MethodResult>,
}

/// One `resinfo`: `method=result [reason=...] [ptype.property=value ...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodResult {
    /// Lower case, without a `/version`.
    pub method: String,
    /// Lower case.
    pub result: String,
    pub reason: Option<String>,
    /// `(ptype.property in lower case, value)`, in order.
    pub properties: Vec<(String, String)>,
}

impl MethodResult {
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthResError {
    #[error("no authserv-id")]
    NoAuthservId,
    #[error("unbalanced quotes or comments")]
    Unbalanced,
    #[error("result {0:?} is not method=result")]
    BadResult(String),
}

/// Parses the value of one `Authentication-Results` field (unfolded).
pub fn parse(value: &str) -> Result<AuthResults, AuthResError> {
    let text = strip_comments(value)?;
    let mut segments = split_outside_quotes(&text, ';').into_iter();
    let head = segments.next().unwrap_or_default();
    // `authserv-id [version]`: the id is a token or a quoted string.
    let authserv_id = words(&head)
        .into_iter()
        .next()
        .map(|w| unquote(&w))
        .filter(|w| !w.is_empty())
        .ok_or(AuthResError::NoAuthservId)?;
    let mut results = Vec::new();
    for seg in segments {
        let seg = seg.trim();
        if seg.is_empty() || seg.eq_ignore_ascii_case("none") {
            continue;
        }
        results.push(resinfo(seg)?);
    }
    Ok(AuthResults {
        authserv_id,
        results,
    })
}

/// `method[/version] = result` then `name = value` pairs, blanks allowed
/// around `=`, `.` and `/` (CFWS in the grammar).
fn resinfo(seg: &str) -> Result<MethodResult, AuthResError> {
    let pairs = pairs(seg).ok_or_else(|| AuthResError::BadResult(seg.to_string()))?;
    let mut pairs = pairs.into_iter();
    let (method, result) = pairs
        .next()
        .ok_or_else(|| AuthResError::BadResult(seg.to_string()))?;
    let method = method
        .split('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if method.is_empty() || result.is_empty() {
        return Err(AuthResError::BadResult(seg.to_string()));
    }
    let mut out = MethodResult {
        method,
        result: result.to_ascii_lowercase(),
        reason: None,
        properties: Vec::new(),
    };
    for (name, value) in pairs {
        let name = name.to_ascii_lowercase();
        if name == "reason" {
            out.reason = Some(value);
        } else {
            out.properties.push((name, value));
        }
    }
    Ok(out)
}

/// `a = b  c.d = "e f"` → [(a, b), (c.d, e f)]; `None` when a name has no value.
fn pairs(seg: &str) -> Option<Vec<(String, String)>> {
    let chars: Vec<char> = seg.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    let skip_blanks = |i: &mut usize| {
        while *i < chars.len() && chars[*i].is_whitespace() {
            *i += 1;
        }
    };
    loop {
        skip_blanks(&mut i);
        if i >= chars.len() {
            return Some(out);
        }
        // The name runs to the '='; blanks inside it (around '.' or '/') drop out.
        let mut name = String::new();
        while i < chars.len() && chars[i] != '=' {
            if !chars[i].is_whitespace() {
                name.push(chars[i]);
            } else {
                // A blank not next to '.' or '/' ends a name without value.
                let mut j = i;
                while j < chars.len() && chars[j].is_whitespace() {
                    j += 1;
                }
                let next = chars.get(j).copied();
                let prev = name.chars().last();
                let joins =
                    matches!(next, Some('.' | '/' | '=')) || matches!(prev, Some('.' | '/'));
                if !joins {
                    return None;
                }
            }
            i += 1;
        }
        if i >= chars.len() || name.is_empty() {
            return None;
        }
        i += 1; // '='
        skip_blanks(&mut i);
        let mut value = String::new();
        if chars.get(i) == Some(&'"') {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' && i + 1 < chars.len() {
                    i += 1;
                }
                value.push(chars[i]);
                i += 1;
            }
            i += 1;
        } else {
            while i < chars.len() && !chars[i].is_whitespace() {
                value.push(chars[i]);
                i += 1;
            }
        }
        out.push((name, value));
    }
}

/// Removes `(comments)`, nested ones too, outside quoted strings.
fn strip_comments(s: &str) -> Result<String, AuthResError> {
    let mut out = String::with_capacity(s.len());
    let (mut depth, mut quoted, mut escaped) = (0usize, false, false);
    for c in s.chars() {
        if escaped {
            escaped = false;
            if depth == 0 {
                out.push(c);
            }
            continue;
        }
        match c {
            '\\' if quoted || depth > 0 => {
                escaped = true;
                if depth == 0 {
                    out.push(c);
                }
            }
            '"' if depth == 0 => {
                quoted = !quoted;
                out.push(c);
            }
            '(' if !quoted => depth += 1,
            ')' if !quoted => {
                depth = depth.checked_sub(1).ok_or(AuthResError::Unbalanced)?;
                out.push(' ');
            }
            _ if depth > 0 => {}
            _ => out.push(c),
        }
    }
    if depth > 0 || quoted {
        return Err(AuthResError::Unbalanced);
    }
    Ok(out)
}

fn split_outside_quotes(s: &str, sep: char) -> Vec<String> {
    let mut parts = vec![String::new()];
    let (mut quoted, mut escaped) = (false, false);
    for c in s.chars() {
        let last = parts.last_mut().expect("never empty");
        if escaped {
            escaped = false;
            last.push(c);
        } else if c == '\\' && quoted {
            escaped = true;
            last.push(c);
        } else if c == '"' {
            quoted = !quoted;
            last.push(c);
        } else if c == sep && !quoted {
            parts.push(String::new());
        } else {
            last.push(c);
        }
    }
    parts
}

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(String::from).collect()
}

fn unquote(s: &str) -> String {
    s.strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or(s)
        .to_string()
}

/// Whether the From address is genuine, by the trusted fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// No `intake.authserv_id` is configured: nothing can be judged.
    NotChecked,
    /// No trusted field at all (our MTA did not stamp the message).
    NoResult,
    /// The trusted results vouch for the From domain; says which.
    Pass(String),
    /// The trusted results do not; says why.
    Fail(String),
}

impl Auth {
    pub fn is_pass(&self) -> bool {
        matches!(self, Auth::Pass(_))
    }

    /// For history lines: `dmarc=pass`, `no authentication result from mx.example`.
    pub fn describe(&self) -> String {
        match self {
            Auth::NotChecked => "not checked (no intake.authserv_id)".into(),
            Auth::NoResult => "no Authentication-Results from our MTA".into(),
            Auth::Pass(how) | Auth::Fail(how) => how.clone(),
        }
    }
}

/// Judges `from` by the header fields (top-down, unfolded) under the rule
/// of the module documentation.
pub fn judge(headers: &[(String, String)], authserv_id: Option<&str>, from: &Address) -> Auth {
    let Some(id) = authserv_id else {
        return Auth::NotChecked;
    };
    let mut trusted = Vec::new();
    for (name, value) in headers {
        if name.eq_ignore_ascii_case("Received") {
            if !trusted.is_empty() {
                break;
            }
        } else if name.eq_ignore_ascii_case("Authentication-Results")
            && let Ok(ar) = parse(value)
            && ar.authserv_id.eq_ignore_ascii_case(id)
        {
            trusted.push(ar);
        }
    }
    if trusted.is_empty() {
        return Auth::NoResult;
    }
    let domain = from.domain();
    let results = trusted.iter().flat_map(|ar| &ar.results);

    if let Some(dmarc) = results.clone().find(|r| r.method == "dmarc") {
        // header.from names the domain DMARC was evaluated for; it must be ours.
        let for_from = dmarc
            .property("header.from")
            .is_none_or(|d| d.trim_end_matches('.').eq_ignore_ascii_case(&domain));
        return if dmarc.result == "pass" && for_from {
            Auth::Pass("dmarc=pass".into())
        } else if dmarc.result == "pass" {
            Auth::Fail(format!(
                "dmarc=pass for {}, not for the From domain {domain}",
                dmarc.property("header.from").unwrap_or_default()
            ))
        } else {
            Auth::Fail(format!("dmarc={}", dmarc.result))
        };
    }
    let aligned_dkim = results.clone().find_map(|r| {
        if r.method != "dkim" || r.result != "pass" {
            return None;
        }
        let signer = r
            .property("header.d")
            .map(str::to_string)
            .or_else(|| {
                r.property("header.i")
                    .and_then(|i| i.rsplit_once('@').map(|(_, d)| d.to_string()))
            })?
            .trim_end_matches('.')
            .to_ascii_lowercase();
        aligned(&signer, &domain).then_some(signer)
    });
    match aligned_dkim {
        Some(d) => Auth::Pass(format!("dkim=pass (d={d})")),
        None => Auth::Fail("no dmarc=pass and no dkim=pass aligned with the From domain".into()),
    }
}

/// Relaxed alignment without a public-suffix list: the domains are equal,
/// or one is a subdomain of the other. A signature needs control of the
/// signing domain's DNS, so nobody signs as a bare `com` or `co.uk`.
fn aligned(signer: &str, from: &str) -> bool {
    let under = |a: &str, b: &str| {
        a.strip_suffix(b)
            .is_some_and(|head| head.ends_with('.') && b.contains('.'))
    };
    !signer.is_empty() && (signer == from || under(from, signer) || under(signer, from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_rfc_8601_examples_and_real_stamps() {
        let ar = parse("example.com; none").unwrap();
        assert_eq!(ar.authserv_id, "example.com");
        assert!(ar.results.is_empty());

        let ar = parse("example.com; spf=pass smtp.mailfrom=example.net").unwrap();
        assert_eq!(ar.results[0].method, "spf");
        assert_eq!(ar.results[0].result, "pass");
        assert_eq!(ar.results[0].property("smtp.mailfrom"), Some("example.net"));

        // RFC 8601 appendix B.6, with comments, a version and several results.
        let ar = parse(
            "example.com 1; auth=pass (cram-md5) smtp.auth=sender@example.net;\n \
             spf=pass smtp.mailfrom=example.net (comment (nested) here);\n \
             sender-id=pass header.from=example.net",
        )
        .unwrap();
        assert_eq!(ar.authserv_id, "example.com");
        let methods: Vec<(&str, &str)> = ar
            .results
            .iter()
            .map(|r| (r.method.as_str(), r.result.as_str()))
            .collect();
        assert_eq!(
            methods,
            [("auth", "pass"), ("spf", "pass"), ("sender-id", "pass")]
        );
        assert_eq!(
            ar.results[0].property("smtp.auth"),
            Some("sender@example.net")
        );

        // Postfix + OpenDKIM/OpenDMARC style, odd spacing, method version, reason.
        let ar = parse(
            "\"mx.acme.example\"; dkim/1 = pass (2048-bit key) header . d = customer.example \
             header.i=@customer.example header.b=\"AbC;d\"; dmarc=FAIL reason=\"p=reject; dis=none\" header.from=customer.example",
        )
        .unwrap();
        assert_eq!(ar.authserv_id, "mx.acme.example");
        assert_eq!(ar.results[0].method, "dkim");
        assert_eq!(ar.results[0].property("header.d"), Some("customer.example"));
        assert_eq!(ar.results[0].property("header.b"), Some("AbC;d"));
        assert_eq!(ar.results[1].result, "fail");
        assert_eq!(ar.results[1].reason.as_deref(), Some("p=reject; dis=none"));
    }

    #[test]
    fn bad_fields_are_errors_not_panics() {
        for bad in [
            "",
            "  ; dkim=pass",
            "mx.example; dkim",
            "mx.example; dkim=",
            "mx.example (unclosed; dkim=pass",
            "mx.example; dkim=pass header.d=\"open",
            "mx.example; dkim=pass header d=x",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} parsed: {:?}", parse(bad));
        }
    }

    fn h(fields: &[(&str, &str)]) -> Vec<(String, String)> {
        fields
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    const AR: &str = "Authentication-Results";
    const MX: &str = "mx.acme.example";

    /// The trust rule, field order and alignment, case by case.
    #[test]
    fn only_the_topmost_run_of_our_own_stamps_counts() {
        let from = Address::parse("ann@customer.example").unwrap();
        let recv_ours = (
            "Received",
            "from mx.acme.example by mail.acme.example with LMTP",
        );
        let recv_mx = (
            "Received",
            "from out.customer.example by mx.acme.example with ESMTPS",
        );
        let recv_theirs = ("Received", "from laptop by out.customer.example");
        let pass = "mx.acme.example; dmarc=pass header.from=customer.example";
        let fail = "mx.acme.example; dmarc=fail header.from=customer.example";
        #[rustfmt::skip]
        type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, Option<bool>);
        let cases: Vec<Case> = vec![
            (
                "pass from our MTA",
                vec![recv_ours, (AR, pass), recv_mx, recv_theirs],
                Some(true),
            ),
            (
                "our id in another case",
                vec![(AR, "MX.ACME.EXAMPLE; dmarc=pass"), recv_mx],
                Some(true),
            ),
            ("fail from our MTA", vec![(AR, fail), recv_mx], Some(false)),
            (
                "pass from another authserv-id",
                vec![
                    (
                        AR,
                        "mx.evil.example; dmarc=pass header.from=customer.example",
                    ),
                    recv_mx,
                ],
                None,
            ),
            (
                "forged pass below our fail",
                vec![(AR, fail), recv_mx, (AR, pass), recv_theirs],
                Some(false),
            ),
            (
                "forged dmarc below our stamp without dmarc",
                vec![
                    (
                        AR,
                        "mx.acme.example; spf=pass smtp.mailfrom=customer.example",
                    ),
                    recv_mx,
                    (AR, pass),
                ],
                Some(false),
            ),
            (
                "forged pass below our hop, we stamped nothing",
                vec![recv_mx, recv_theirs, (AR, pass)],
                Some(true),
            ),
            (
                "our fail on top wins over a copy right below",
                vec![(AR, fail), (AR, pass), recv_mx],
                Some(false),
            ),
            (
                "dmarc pass for another domain",
                vec![
                    (AR, "mx.acme.example; dmarc=pass header.from=evil.example"),
                    recv_mx,
                ],
                Some(false),
            ),
            (
                "no stamp at all",
                vec![recv_ours, recv_mx, recv_theirs],
                None,
            ),
            (
                "aligned dkim without dmarc",
                vec![
                    (AR, "mx.acme.example; dkim=pass header.d=customer.example"),
                    recv_mx,
                ],
                Some(true),
            ),
            (
                "dkim of a parent domain",
                vec![
                    (AR, "mx.acme.example; dkim=pass header.i=@example"),
                    recv_mx,
                ],
                Some(false),
            ),
            (
                "dkim from a subdomain signer",
                vec![
                    (
                        AR,
                        "mx.acme.example; dkim=pass header.d=mail.customer.example",
                    ),
                    recv_mx,
                ],
                Some(true),
            ),
            (
                "dkim pass of a third party",
                vec![
                    (
                        AR,
                        "mx.acme.example; dkim=pass header.d=mailer.example; spf=pass smtp.mailfrom=customer.example",
                    ),
                    recv_mx,
                ],
                Some(false),
            ),
            (
                "dkim fail",
                vec![
                    (AR, "mx.acme.example; dkim=fail header.d=customer.example"),
                    recv_mx,
                ],
                Some(false),
            ),
            (
                "dmarc decides over aligned dkim",
                vec![
                    (
                        AR,
                        "mx.acme.example; dkim=pass header.d=customer.example; dmarc=fail",
                    ),
                    recv_mx,
                ],
                Some(false),
            ),
            (
                "unparsable stamp ignored",
                vec![(AR, "mx.acme.example; dmarc"), recv_mx],
                None,
            ),
        ];
        for (what, fields, want) in cases {
            let got = judge(&h(&fields), Some(MX), &from);
            let got_pass = match &got {
                Auth::Pass(_) => Some(true),
                Auth::Fail(_) => Some(false),
                Auth::NoResult => None,
                Auth::NotChecked => panic!("{what}: not checked"),
            };
            assert_eq!(got_pass, want, "{what}: {got:?}");
        }
        assert_eq!(judge(&h(&[(AR, pass)]), None, &from), Auth::NotChecked);
    }

    #[test]
    fn alignment() {
        for (signer, from, want) in [
            ("customer.example", "customer.example", true),
            ("customer.example", "eu.customer.example", true),
            ("eu.customer.example", "customer.example", true),
            ("example", "customer.example", false),
            ("tomer.example", "customer.example", false),
            ("", "customer.example", false),
        ] {
            assert_eq!(aligned(signer, from), want, "{signer} / {from}");
        }
    }
}
