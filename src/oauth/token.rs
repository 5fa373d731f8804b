//! The token endpoint's language (RFC 6749, RFC 8628 for the device flow,
//! RFC 7523 for a JWT grant): the form each request sends, what each answer
//! means, and when a token is due for renewal. Pure functions; the HTTP
//! exchange is in `http`, the decisions about files in `oauth`.

use serde::Deserialize;

/// A form of `key=value` pairs for an endpoint.
pub type Form = Vec<(&'static str, String)>;

/// RFC 8628's grant type for the device flow.
pub const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// RFC 7523's grant type for a signed JWT (Google service accounts).
pub const JWT_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

fn with_secret(mut form: Form, secret: Option<&str>) -> Form {
    if let Some(s) = secret {
        form.push(("client_secret", s.to_string()));
    }
    form
}

pub fn client_credentials(client_id: &str, secret: &str, scope: &str) -> Form {
    vec![
        ("grant_type", "client_credentials".into()),
        ("client_id", client_id.into()),
        ("client_secret", secret.into()),
        ("scope", scope.into()),
    ]
}

pub fn refresh(client_id: &str, secret: Option<&str>, refresh_token: &str, scope: &str) -> Form {
    let form = vec![
        ("grant_type", "refresh_token".into()),
        ("client_id", client_id.into()),
        ("refresh_token", refresh_token.into()),
        ("scope", scope.into()),
    ];
    with_secret(form, secret)
}

pub fn device_start(client_id: &str, scope: &str) -> Form {
    vec![("client_id", client_id.into()), ("scope", scope.into())]
}

pub fn device_poll(client_id: &str, secret: Option<&str>, device_code: &str) -> Form {
    let form = vec![
        ("grant_type", DEVICE_GRANT.into()),
        ("client_id", client_id.into()),
        ("device_code", device_code.into()),
    ];
    with_secret(form, secret)
}

pub fn jwt_bearer(assertion: &str) -> Form {
    vec![
        ("grant_type", JWT_GRANT.into()),
        ("assertion", assertion.into()),
    ]
}

/// A successful token answer. Its Debug never shows a token.
#[derive(Clone, PartialEq, Eq)]
pub struct Tokens {
    pub access_token: String,
    /// Seconds; providers always send it, a missing one is taken as an hour.
    pub expires_in: u64,
    /// Sent on the first grant and whenever the provider rotates it.
    pub refresh_token: Option<String>,
    /// Seconds, where the provider says (not in RFC 6749).
    pub refresh_expires_in: Option<u64>,
    /// Who signed in, from an OpenID Connect id_token (scope `openid`).
    pub account: Option<String>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("expires_in", &self.expires_in)
            .field("refresh_token", &self.refresh_token.is_some())
            .finish_non_exhaustive()
    }
}

/// An error answer (RFC 6749 section 5.2), or an answer that is no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// `invalid_grant`: the refresh token, device code or assertion is no
    /// longer good (revoked, expired, password changed).
    Grant(String),
    /// `invalid_client`, `unauthorized_client`, `invalid_scope`,
    /// `access_denied`: the app's registration or consent is wrong.
    Client(String),
    /// RFC 8628: the user has not finished yet / asks to poll slower.
    Pending,
    SlowDown,
    /// RFC 8628: the device code expired before the user approved.
    Expired(String),
    /// A server error or an answer we cannot read: worth another try.
    Server(String),
}

#[derive(Deserialize)]
struct RawTokens {
    access_token: Option<String>,
    expires_in: Option<serde_json::Value>,
    refresh_token: Option<String>,
    refresh_token_expires_in: Option<serde_json::Value>,
    id_token: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// Seconds as a number or a numeric string (some providers send "3599").
fn seconds(v: &Option<serde_json::Value>) -> Option<u64> {
    match v.as_ref()? {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Provider text for messages: one line, at most 200 characters, no
/// control characters (it is written by the other side).
pub fn clean(text: &str) -> String {
    let one: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect();
    one.trim().to_string()
}

/// Reads a token endpoint's answer.
pub fn parse_tokens(status: u16, body: &str) -> Result<Tokens, Refusal> {
    let raw: RawTokens = match serde_json::from_str(body) {
        Ok(r) => r,
        Err(_) => {
            return Err(Refusal::Server(format!(
                "HTTP {status} with a body that is no JSON token answer"
            )));
        }
    };
    if let Some(code) = raw.error.as_deref() {
        let detail = match raw.error_description.as_deref().map(clean) {
            Some(d) if !d.is_empty() => format!("{}: {d}", clean(code)),
            _ => clean(code),
        };
        return Err(match code {
            "invalid_grant" => Refusal::Grant(detail),
            "invalid_client"
            | "unauthorized_client"
            | "invalid_scope"
            | "access_denied"
            | "unsupported_grant_type"
            | "invalid_request" => Refusal::Client(detail),
            "authorization_pending" => Refusal::Pending,
            "slow_down" => Refusal::SlowDown,
            "expired_token" => Refusal::Expired(detail),
            _ => Refusal::Server(format!("HTTP {status}: {detail}")),
        });
    }
    match raw.access_token {
        Some(t) if (200..300).contains(&status) && !t.is_empty() => Ok(Tokens {
            access_token: t,
            expires_in: seconds(&raw.expires_in).unwrap_or(3600),
            refresh_token: raw.refresh_token.filter(|r| !r.is_empty()),
            refresh_expires_in: seconds(&raw.refresh_token_expires_in),
            account: raw.id_token.as_deref().and_then(id_token_account),
        }),
        _ => Err(Refusal::Server(format!(
            "HTTP {status} without an access token"
        ))),
    }
}

/// The account an OpenID Connect id_token names: `email` (Google), else
/// `preferred_username` or `upn` (Microsoft). Its signature is not checked:
/// it came straight from the token endpoint over TLS (OpenID Connect Core
/// 3.1.3.7), and it is only shown by `oauth status`, never trusted.
pub fn id_token_account(id_token: &str) -> Option<String> {
    use base64::Engine;
    let payload = id_token.split('.').nth(1)?;
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&payload).ok()?;
    ["email", "preferred_username", "upn"]
        .iter()
        .filter_map(|k| claims[k].as_str())
        .map(clean)
        .find(|a| !a.is_empty())
}

/// The device-authorization answer (RFC 8628 section 3.2).
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceStart {
    pub device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    pub expires_in: u64,
    pub interval: u64,
}

#[derive(Deserialize)]
struct RawDevice {
    device_code: Option<String>,
    user_code: Option<String>,
    verification_uri: Option<String>,
    /// Google's older spelling.
    verification_url: Option<String>,
    expires_in: Option<serde_json::Value>,
    interval: Option<serde_json::Value>,
    error: Option<String>,
    error_description: Option<String>,
}

pub fn parse_device(status: u16, body: &str) -> Result<DeviceStart, Refusal> {
    let raw: RawDevice = serde_json::from_str(body).map_err(|_| {
        Refusal::Server(format!(
            "HTTP {status} with a body that is no JSON device answer"
        ))
    })?;
    if let Some(code) = raw.error {
        let d = raw
            .error_description
            .as_deref()
            .map(clean)
            .unwrap_or_default();
        return Err(Refusal::Client(format!("{}: {d}", clean(&code))));
    }
    match (
        raw.device_code,
        raw.user_code,
        raw.verification_uri.or(raw.verification_url),
    ) {
        (Some(device_code), Some(user_code), Some(uri)) => Ok(DeviceStart {
            device_code,
            user_code: clean(&user_code),
            verification_uri: clean(&uri),
            expires_in: seconds(&raw.expires_in).unwrap_or(900),
            interval: seconds(&raw.interval).unwrap_or(5).clamp(1, 60),
        }),
        _ => Err(Refusal::Server(format!(
            "HTTP {status}: the device answer lacks device_code, user_code or verification_uri"
        ))),
    }
}

/// Whether a token issued at `issued` (Unix seconds), good until
/// `expires`, should be renewed at `now`: within a fifth of its life (at
/// most 5 minutes, at least 1 second) of the end, a connection that logs in
/// with it might outlast it.
pub fn due(issued: i64, expires: i64, now: i64) -> bool {
    let margin = ((expires - issued) / 5).clamp(1, 300);
    now + margin >= expires
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_answers() {
        let ok = parse_tokens(
            200,
            r#"{"access_token":"A","expires_in":"3599","refresh_token":"R","token_type":"Bearer"}"#,
        )
        .unwrap();
        assert_eq!((ok.access_token.as_str(), ok.expires_in), ("A", 3599));
        assert_eq!(ok.refresh_token.as_deref(), Some("R"));
        let no_expiry = parse_tokens(200, r#"{"access_token":"A"}"#).unwrap();
        assert_eq!(
            (no_expiry.expires_in, no_expiry.refresh_token),
            (3600, None)
        );

        let cases: [(u16, &str, Refusal); 8] = [
            (
                400,
                r#"{"error":"invalid_grant","error_description":"AADSTS70000: revoked\r\nx"}"#,
                Refusal::Grant("invalid_grant: AADSTS70000: revoked  x".into()),
            ),
            (
                401,
                r#"{"error":"invalid_client"}"#,
                Refusal::Client("invalid_client".into()),
            ),
            (
                400,
                r#"{"error":"authorization_pending"}"#,
                Refusal::Pending,
            ),
            (400, r#"{"error":"slow_down"}"#, Refusal::SlowDown),
            (
                400,
                r#"{"error":"expired_token"}"#,
                Refusal::Expired("expired_token".into()),
            ),
            (
                503,
                "<html>busy</html>",
                Refusal::Server("HTTP 503 with a body that is no JSON token answer".into()),
            ),
            (
                500,
                r#"{"error":"temporarily_unavailable"}"#,
                Refusal::Server("HTTP 500: temporarily_unavailable".into()),
            ),
            (
                200,
                r#"{"access_token":""}"#,
                Refusal::Server("HTTP 200 without an access token".into()),
            ),
        ];
        for (status, body, want) in cases {
            assert_eq!(parse_tokens(status, body).unwrap_err(), want, "{body}");
        }
    }

    #[test]
    fn token_debug_hides_tokens() {
        let t = parse_tokens(
            200,
            r#"{"access_token":"SECRET1","refresh_token":"SECRET2"}"#,
        );
        let shown = format!("{:?}", t.unwrap());
        assert!(!shown.contains("SECRET"), "{shown}");
    }

    #[test]
    fn device_answers() {
        let d = parse_device(
            200,
            r#"{"device_code":"D","user_code":"ABCD-EFGH","verification_url":"https://g.co/device","expires_in":1800,"interval":0}"#,
        )
        .unwrap();
        assert_eq!(d.verification_uri, "https://g.co/device");
        assert_eq!((d.expires_in, d.interval), (1800, 1));
        assert!(parse_device(200, r#"{"user_code":"X"}"#).is_err());
        assert!(matches!(
            parse_device(400, r#"{"error":"invalid_client"}"#),
            Err(Refusal::Client(_))
        ));
    }

    #[test]
    fn renewal_is_due_near_the_end() {
        // (issued, expires, now, due)
        let cases = [
            (0, 3600, 0, false),
            (0, 3600, 3299, false),
            (0, 3600, 3300, true),
            (0, 3600, 4000, true),
            (0, 20, 15, false),
            (0, 20, 16, true),
            (0, 1, 0, true),
            (100, 50, 60, true), // expired, whatever the issue time says
        ];
        for (issued, expires, now, want) in cases {
            assert_eq!(due(issued, expires, now), want, "{issued} {expires} {now}");
        }
    }

    #[test]
    fn forms() {
        let f = refresh("c", None, "r", "s");
        assert!(!f.iter().any(|(k, _)| *k == "client_secret"));
        let f = device_poll("c", Some("x"), "d");
        assert_eq!(f[0], ("grant_type", DEVICE_GRANT.to_string()));
        assert!(f.contains(&("client_secret", "x".to_string())));
        assert_eq!(client_credentials("c", "x", "s").len(), 4);
        assert_eq!(jwt_bearer("a.b.c")[1], ("assertion", "a.b.c".to_string()));
    }

    #[test]
    fn id_token_names_the_account() {
        use base64::Engine;
        let jwt = |claims: &str| {
            let b = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims);
            format!("eyJhbGciOiJSUzI1NiJ9.{b}.c2ln")
        };
        let cases = [
            (jwt(r#"{"email":"a@g.test","sub":"1"}"#), Some("a@g.test")),
            (
                jwt(r#"{"preferred_username":"b@m.test","upn":"x@m.test"}"#),
                Some("b@m.test"),
            ),
            (jwt(r#"{"upn":"c@m.test"}"#), Some("c@m.test")),
            (jwt(r#"{"email":"","upn":"d@m.test"}"#), Some("d@m.test")),
            (
                jwt(r#"{"email":"e@x.test\r\nInjected: 1"}"#),
                Some("e@x.test  Injected: 1"),
            ),
            (jwt(r#"{"sub":"only-a-subject"}"#), None),
            ("not a jwt".to_string(), None),
            ("a.!!!.c".to_string(), None),
            (jwt("[1,2]"), None),
        ];
        for (token, want) in cases {
            assert_eq!(id_token_account(&token).as_deref(), want, "{token}");
        }
        let body = format!(
            r#"{{"access_token":"A","expires_in":60,"refresh_token":"R","id_token":"{}"}}"#,
            jwt(r#"{"email":"f@g.test"}"#)
        );
        assert_eq!(
            parse_tokens(200, &body).unwrap().account.as_deref(),
            Some("f@g.test")
        );
    }
}
