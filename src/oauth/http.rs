//! One HTTP exchange with a token or device endpoint: a form POSTed, the
//! status and body back, whatever the status (the caller reads error
//! answers). ureq, blocking, with rustls (ring) — the `oauth` functions
//! run it on tokio's blocking pool.

use std::time::Duration;

use super::token::Form;

/// Every exchange's limit, connect to last byte.
const TIMEOUT: Duration = Duration::from_secs(30);
/// The most of an answer read; a token answer is a few kilobytes.
const MAX_BODY: u64 = 1 << 20;

/// `Err`: no answer at all (network, TLS, a body too large), with a
/// message that never holds the form (it carries secrets).
pub fn post_form(url: &str, form: &Form) -> Result<(u16, String), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(TIMEOUT))
        .user_agent(concat!("postdesk/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let pairs = form.iter().map(|(k, v)| (*k, v.as_str()));
    let mut resp = agent
        .post(url)
        .header("Accept", "application/json")
        .send_form(pairs)
        .map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let body = resp
        .body_mut()
        .with_config()
        .limit(MAX_BODY)
        .read_to_string()
        .map_err(|e| e.to_string())?;
    Ok((status, body))
}
