//! The signed JWT a Google service account trades for an access token
//! (RFC 7523; domain-wide delegation puts the mailbox in `sub`). RS256 with
//! ring, which rustls already brings: the key is the PKCS#8 PEM of the
//! service account's JSON key file.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use serde::Deserialize;

/// How long an assertion is good for: Google takes at most an hour.
const LIFETIME: i64 = 3600;

/// The fields of a service account key file that signing needs. Its Debug
/// never shows the key.
#[derive(Deserialize)]
pub struct ServiceKey {
    pub client_email: String,
    pub private_key: String,
    #[serde(default)]
    pub private_key_id: Option<String>,
}

impl std::fmt::Debug for ServiceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceKey")
            .field("client_email", &self.client_email)
            .finish_non_exhaustive()
    }
}

impl ServiceKey {
    /// Reads the JSON key file's text; the error never quotes it.
    pub fn parse(text: &str) -> Result<ServiceKey, String> {
        serde_json::from_str(text).map_err(|e| {
            format!(
                "not a service account key file (JSON with client_email and private_key): line {} column {}",
                e.line(),
                e.column()
            )
        })
    }
}

/// The DER inside a PEM block of the given label.
fn pem_body(pem: &str, label: &str) -> Result<Vec<u8>, String> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem
        .find(&begin)
        .ok_or_else(|| format!("private_key holds no {begin} block"))?;
    let rest = &pem[start + begin.len()..];
    let stop = rest
        .find(&end)
        .ok_or_else(|| format!("private_key has no {end} line"))?;
    let b64: String = rest[..stop]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    STANDARD
        .decode(b64)
        .map_err(|_| "private_key is not valid base64 PEM".to_string())
}

/// The assertion for `sub` (the mailbox), `scope`, audience `aud` (the
/// token endpoint), issued at `now` (Unix seconds).
pub fn assertion(
    key: &ServiceKey,
    sub: &str,
    scope: &str,
    aud: &str,
    now: i64,
) -> Result<String, String> {
    let der = pem_body(&key.private_key, "PRIVATE KEY")?;
    let pair = RsaKeyPair::from_pkcs8(&der)
        .map_err(|e| format!("private_key is no PKCS#8 RSA key ({e})"))?;
    let mut header = serde_json::json!({"alg": "RS256", "typ": "JWT"});
    if let Some(kid) = &key.private_key_id {
        header["kid"] = kid.clone().into();
    }
    let claims = serde_json::json!({
        "iss": key.client_email,
        "sub": sub,
        "scope": scope,
        "aud": aud,
        "iat": now,
        "exp": now + LIFETIME,
    });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut sig = vec![0; pair.public().modulus_len()];
    pair.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        signing_input.as_bytes(),
        &mut sig,
    )
    .map_err(|_| "could not sign with private_key".to_string())?;
    Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{KeyPair, RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};

    const PEM: &str = include_str!("testdata/test-only-rsa-key.pem");

    fn key(pem: &str) -> ServiceKey {
        ServiceKey {
            client_email: "svc@proj.iam.gserviceaccount.com".into(),
            private_key: pem.into(),
            private_key_id: Some("k1".into()),
        }
    }

    #[test]
    fn assertion_is_a_verifiable_rs256_jwt() {
        let k = key(PEM);
        let jwt = assertion(
            &k,
            "support@example.test",
            "https://mail.google.com/",
            "https://t/token",
            1000,
        )
        .unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header["alg"], "RS256");
        assert_eq!(header["kid"], "k1");
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["sub"], "support@example.test");
        assert_eq!(claims["iss"], "svc@proj.iam.gserviceaccount.com");
        assert_eq!(
            (claims["iat"].as_i64(), claims["exp"].as_i64()),
            (Some(1000), Some(4600))
        );
        let der = pem_body(PEM, "PRIVATE KEY").unwrap();
        let pair = RsaKeyPair::from_pkcs8(&der).unwrap();
        let public =
            UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, pair.public_key().as_ref());
        let signed = format!("{}.{}", parts[0], parts[1]);
        let sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        public
            .verify(signed.as_bytes(), &sig)
            .expect("signature verifies");
        assert!(public.verify(b"other", &sig).is_err());
    }

    #[test]
    fn bad_keys_are_named_and_never_quoted() {
        let cases = [
            ("", "no -----BEGIN PRIVATE KEY----- block"),
            (
                "-----BEGIN PRIVATE KEY-----\nAAAA",
                "no -----END PRIVATE KEY----- line",
            ),
            (
                "-----BEGIN PRIVATE KEY-----\n!!secret!!\n-----END PRIVATE KEY-----",
                "not valid base64",
            ),
            (
                "-----BEGIN PRIVATE KEY-----\nQUJDRA==\n-----END PRIVATE KEY-----",
                "no PKCS#8 RSA key",
            ),
        ];
        for (pem, want) in cases {
            let e = assertion(&key(pem), "a@b", "s", "aud", 0).unwrap_err();
            assert!(e.contains(want), "{e}");
            assert!(!e.contains("secret") && !e.contains("QUJD"), "{e}");
        }
        let e = ServiceKey::parse(r#"{"private_key":"-----BEGIN PRIVATE KEY-----sekrit"}"#)
            .unwrap_err();
        assert!(!e.contains("sekrit"), "{e}");
    }
}
