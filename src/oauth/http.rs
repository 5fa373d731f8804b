//! One HTTP exchange with a token or device endpoint: a form POSTed, the
//! status and body back, whatever the status (the caller reads error
//! answers). ureq, blocking, with rustls (ring) — the `oauth` functions
//! run it on tokio's blocking pool.
//!
//! Trusted roots: the system's (rustls-native-certs, as the mail sources
//! and the SMTP transport use), plus `ca_file` of the `[[oauth]]` table for
//! a provider or proxy with a private CA. Only a machine with no system
//! certificates at all falls back to the Mozilla roots built into ureq.

use std::path::Path;
use std::time::Duration;

use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};

use super::token::Form;

/// Every exchange's limit, connect to last byte.
const TIMEOUT: Duration = Duration::from_secs(30);
/// The most of an answer read; a token answer is a few kilobytes.
const MAX_BODY: u64 = 1 << 20;

/// Why no exchange took place. `Setup` (a bad `ca_file`) and `Untrusted`
/// (the server's certificate) need a person; `Failed` may pass on the next
/// try (network, server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    Setup(String),
    Untrusted(String),
    Failed(String),
}

/// `Err`: no answer at all (network, TLS, a body too large), with a
/// message that never holds the form (it carries secrets).
pub fn post_form(
    url: &str,
    form: &Form,
    ca_file: Option<&Path>,
) -> Result<(u16, String), HttpError> {
    let tls = TlsConfig::builder()
        .root_certs(roots(ca_file).map_err(HttpError::Setup)?)
        .build();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(TIMEOUT))
        .tls_config(tls)
        .user_agent(concat!("postdesk/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let pairs = form.iter().map(|(k, v)| (*k, v.as_str()));
    let mut resp = agent
        .post(url)
        .header("Accept", "application/json")
        .send_form(pairs)
        .map_err(|e| explain(&e, ca_file.is_some()))?;
    let status = resp.status().as_u16();
    let body = resp
        .body_mut()
        .with_config()
        .limit(MAX_BODY)
        .read_to_string()
        .map_err(|e| explain(&e, ca_file.is_some()))?;
    Ok((status, body))
}

/// The system's roots and those of `ca_file`. A `ca_file` that cannot be
/// read or holds no certificate is an error: trusting nothing extra in
/// silence would surface later as an unexplained certificate refusal.
fn roots(ca_file: Option<&Path>) -> Result<RootCerts, String> {
    let mut certs: Vec<Certificate<'static>> = rustls_native_certs::load_native_certs()
        .certs
        .into_iter()
        .map(|c| Certificate::from_der(c.as_ref()).to_owned())
        .collect();
    let extra = match ca_file {
        Some(path) => read_pem(path)?,
        None => Vec::new(),
    };
    if certs.is_empty() && extra.is_empty() {
        return Ok(RootCerts::WebPki);
    }
    certs.extend(extra);
    Ok(RootCerts::from(certs))
}

fn read_pem(path: &Path) -> Result<Vec<Certificate<'static>>, String> {
    let bad = |why: String| format!("ca_file {}: {why}", path.display());
    let pem = std::fs::read(path).map_err(|e| bad(format!("cannot read it: {e}")))?;
    let mut out = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        match item {
            Ok(PemItem::Certificate(c)) => out.push(c),
            Ok(_) => {}
            Err(_) => return Err(bad("not a PEM certificate file".into())),
        }
    }
    if out.is_empty() {
        return Err(bad("no PEM certificate in it".into()));
    }
    Ok(out)
}

/// ureq's error in words for an operator. TLS failures come from rustls
/// with their Rust names (`UnknownIssuer`); they are said plainly here.
fn explain(e: &ureq::Error, has_ca_file: bool) -> HttpError {
    let tls = match e {
        ureq::Error::Rustls(r) => Some(r),
        ureq::Error::Io(io) => io
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>()),
        _ => None,
    };
    match tls {
        Some(rustls::Error::InvalidCertificate(c)) => {
            HttpError::Untrusted(certificate_words(c, has_ca_file))
        }
        Some(rustls::Error::AlertReceived(_)) => {
            HttpError::Failed("TLS handshake failed: the server ended it with an alert".into())
        }
        Some(rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. }) => {
            HttpError::Failed(
                "TLS handshake failed: the server does not speak TLS at this address (an http:// endpoint?)"
                    .into(),
            )
        }
        Some(_) => HttpError::Failed("TLS handshake failed".into()),
        None => HttpError::Failed(e.to_string()),
    }
}

fn certificate_words(c: &rustls::CertificateError, has_ca_file: bool) -> String {
    use rustls::CertificateError as C;
    let why = match c {
        C::UnknownIssuer if has_ca_file => "is not signed by a CA this machine or ca_file trusts",
        C::UnknownIssuer => {
            "is not signed by a CA this machine trusts (for a private CA, set ca_file in this [[oauth]] table)"
        }
        C::NotValidForName | C::NotValidForNameContext { .. } => {
            "does not name this host (use the host name it was issued for in the URL)"
        }
        C::Expired | C::ExpiredContext { .. } => "has expired",
        C::NotValidYet | C::NotValidYetContext { .. } => {
            "is not valid yet (is this machine's clock right?)"
        }
        C::Revoked => "was revoked",
        _ => "was refused",
    };
    format!("the server's certificate {why}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_refusals_in_words() {
        use rustls::CertificateError as C;
        let cases = [
            (
                C::UnknownIssuer,
                false,
                "set ca_file in this [[oauth]] table",
            ),
            (C::UnknownIssuer, true, "this machine or ca_file trusts"),
            (C::NotValidForName, false, "does not name this host"),
            (C::Expired, false, "has expired"),
            (C::BadEncoding, false, "was refused"),
        ];
        for (c, ca, want) in cases {
            let text = certificate_words(&c, ca);
            assert!(text.contains(want), "{text}");
            // No Rust names (UnknownIssuer, NotValidForName) reach a person.
            assert!(
                !text.contains("Issuer") && !text.contains("ForName"),
                "{text}"
            );
        }
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused_by_name() {
        let dir = std::env::temp_dir().join(format!("postdesk-http-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "just text\n").unwrap();
        let e = roots(Some(&empty)).unwrap_err();
        assert!(e.contains("empty.pem: no PEM certificate in it"), "{e}");
        let e = roots(Some(&dir.join("missing.pem"))).unwrap_err();
        assert!(e.contains("missing.pem: cannot read it"), "{e}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
