//! `[[oauth]]`: the OAuth 2.0 credentials sources and the transport sign in with. Checked
//! here, with the provider's endpoints and scopes filled in, so the OAuth client (`crate::oauth`)
//! never guesses a URL; `auth`/`oauth` of a source or the transport are resolved to the table.

use std::path::Path;

use super::Loader;
use super::schema::{AuthKind, Flow, OAuth, OAuthLogin, Provider};
use super::validate::is_loopback;

/// Microsoft's scope for app-only IMAP, POP and SMTP (the permissions themselves are
/// `IMAP.AccessAsApp`, `POP.AccessAsApp` and `SMTP.SendAsApp` of the app registration).
const MICROSOFT_APP_SCOPE: &str = "https://outlook.office365.com/.default";
/// Microsoft's delegated scopes; `offline_access` asks for the refresh token.
const MICROSOFT_USER_SCOPE: &str = "offline_access https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/POP.AccessAsUser.All https://outlook.office.com/SMTP.Send";
/// Google's one scope for IMAP, POP and SMTP (also the domain-wide delegation scope).
const GOOGLE_SCOPE: &str = "https://mail.google.com/";

/// The token endpoint a provider has, when none is written.
pub(super) fn default_token_url(provider: Provider, tenant: Option<&str>) -> Option<String> {
    match provider {
        Provider::Microsoft => {
            tenant.map(|t| format!("https://login.microsoftonline.com/{t}/oauth2/v2.0/token"))
        }
        Provider::Google => Some("https://oauth2.googleapis.com/token".into()),
    }
}

/// The device-authorization endpoint (RFC 8628) a provider has.
pub(super) fn default_device_url(provider: Provider, tenant: Option<&str>) -> Option<String> {
    match provider {
        Provider::Microsoft => {
            tenant.map(|t| format!("https://login.microsoftonline.com/{t}/oauth2/v2.0/devicecode"))
        }
        Provider::Google => Some("https://oauth2.googleapis.com/device/code".into()),
    }
}

pub(super) fn default_scope(provider: Provider, flow: Flow) -> &'static str {
    match (provider, flow) {
        (Provider::Microsoft, Flow::RefreshToken) => MICROSOFT_USER_SCOPE,
        (Provider::Microsoft, _) => MICROSOFT_APP_SCOPE,
        (Provider::Google, _) => GOOGLE_SCOPE,
    }
}

/// An endpoint must be https, or http to a loopback host (a test server):
/// the client secret and the tokens cross it.
pub(super) fn endpoint_ok(url: &str) -> bool {
    if let Some(rest) = url.strip_prefix("https://") {
        return !rest.is_empty() && !rest.contains(char::is_whitespace);
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split('/').next().unwrap_or("");
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    is_loopback(host)
}

impl Loader<'_> {
    /// Checks the `[[oauth]]` tables; `database` places their token files.
    pub(super) fn oauth_tables(
        &mut self,
        list: Vec<(String, OAuth)>,
        database: Option<&Path>,
    ) -> Vec<OAuth> {
        let mut out: Vec<OAuth> = Vec::new();
        for (key, o) in list {
            let name_key = format!("{key}.name");
            let mut ok = self.check(
                !o.name.is_empty()
                    && o.name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)),
                &name_key,
                "must be letters, digits, _ . or - (sources name it, and its token file is named after it)",
            );
            if out.iter().any(|p| p.name == o.name) {
                ok = false;
                self.fail(
                    &name_key,
                    format!("\"{}\" is already an [[oauth]] name", o.name),
                );
            }
            if let Some(o) = self.one_oauth(&key, o, database).filter(|_| ok) {
                out.push(o);
            }
        }
        out
    }

    fn one_oauth(&mut self, key: &str, mut o: OAuth, database: Option<&Path>) -> Option<OAuth> {
        let at = |k: &str| format!("{key}.{k}");
        let mut ok = true;
        if o.flow != Flow::ServiceAccount {
            ok &= self.filled(&at("client_id"), &o.client_id, "the app's client id");
        }
        if o.token_url.is_empty() {
            match o
                .provider
                .and_then(|p| default_token_url(p, o.tenant.as_deref()))
            {
                Some(url) => o.token_url = url,
                None if o.provider == Some(Provider::Microsoft) => {
                    ok = false;
                    self.fail(
                        &at("tenant"),
                        "missing: Microsoft's endpoints need the directory (tenant) id or domain",
                    );
                }
                None => {
                    ok = false;
                    self.fail(
                        &at("token_url"),
                        "missing: set provider = \"microsoft\" or \"google\", or token_url",
                    );
                }
            }
        }
        let endpoint_why = "must be an https:// address (http:// only to a loopback host)";
        if !o.token_url.is_empty() {
            ok &= self.check(endpoint_ok(&o.token_url), &at("token_url"), endpoint_why);
        }
        if o.scope.is_empty() {
            match o.provider {
                Some(p) => o.scope = default_scope(p, o.flow).into(),
                None => {
                    ok = false;
                    self.fail(
                        &at("scope"),
                        "missing: no provider to take the default from",
                    );
                }
            }
        }
        match o.flow {
            Flow::ClientCredentials => {
                ok &= self.check(
                    o.client_secret_file.is_some(),
                    &at("client_secret_file"),
                    "missing: client_credentials needs the client secret (a file, mode 0600)",
                );
            }
            Flow::RefreshToken => {
                if o.device_url.is_none() {
                    o.device_url = o
                        .provider
                        .and_then(|p| default_device_url(p, o.tenant.as_deref()));
                }
                match &o.device_url {
                    Some(url) => {
                        ok &= self.check(endpoint_ok(url), &at("device_url"), endpoint_why)
                    }
                    None => {
                        ok = false;
                        self.fail(
                            &at("device_url"),
                            "missing: `postdesk oauth login` needs the device-authorization endpoint (or a provider)",
                        );
                    }
                }
            }
            Flow::ServiceAccount => {
                ok &= self.check(
                    o.key_file.is_some(),
                    &at("key_file"),
                    "missing: service_account needs the service account's JSON key file",
                );
                ok &= self.check(
                    o.user.as_deref().is_some_and(|u| u.contains('@')),
                    &at("user"),
                    "missing: the mailbox address the service account acts for",
                );
            }
        }
        let secret = self.opt_path(&at("client_secret_file"), o.client_secret_file.take());
        let keyf = self.opt_path(&at("key_file"), o.key_file.take());
        let ca_file = self.opt_path(&at("ca_file"), o.ca_file.take());
        o.client_secret_file = secret?;
        o.key_file = keyf?;
        o.ca_file = ca_file?;
        let dir = database?.parent().unwrap_or(Path::new("."));
        o.token_file = dir.join(format!("oauth-{}.json", o.name));
        ok.then_some(o)
    }

    /// The `auth`/`oauth` keys of a source or the transport: `None` for a
    /// password login, the credential for `auth = "oauth2"`. Err: reported.
    pub(super) fn oauth_login(
        &mut self,
        key: &str,
        auth: Option<AuthKind>,
        name: Option<&str>,
        tables: &[OAuth],
    ) -> Result<Option<OAuthLogin>, ()> {
        let at = |k: &str| format!("{key}.{k}");
        match (auth, name) {
            (None | Some(AuthKind::Password), None) => Ok(None),
            (Some(AuthKind::Password), Some(_)) => {
                self.fail(&at("oauth"), "only with auth = \"oauth2\"");
                Err(())
            }
            (_, Some(name)) => match tables.iter().find(|o| o.name == name) {
                Some(o) => Ok(Some(OAuthLogin(Box::new(o.clone())))),
                None => {
                    let known: Vec<String> =
                        tables.iter().map(|o| format!("\"{}\"", o.name)).collect();
                    let known = if known.is_empty() {
                        "there is no [[oauth]] table".to_string()
                    } else {
                        format!("the [[oauth]] names are {}", known.join(", "))
                    };
                    self.fail(
                        &at("oauth"),
                        format!("no [[oauth]] named \"{name}\" ({known})"),
                    );
                    Err(())
                }
            },
            (Some(AuthKind::Oauth2), None) => {
                self.fail(
                    &at("oauth"),
                    "missing: auth = \"oauth2\" needs oauth = \"NAME\" of an [[oauth]] table",
                );
                Err(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_must_be_https_or_loopback_http() {
        let cases = [
            (
                "https://login.microsoftonline.com/x/oauth2/v2.0/token",
                true,
            ),
            ("http://127.0.0.1:8080/token", true),
            ("http://localhost/token", true),
            ("http://[::1]:9/token", true),
            ("http://example.com/token", false),
            ("http://127.0.0.1.example.com/token", false),
            ("ftp://127.0.0.1/token", false),
            ("https://", false),
            ("https://a b", false),
            ("", false),
        ];
        for (url, want) in cases {
            assert_eq!(endpoint_ok(url), want, "{url}");
        }
    }

    #[test]
    fn provider_defaults() {
        assert_eq!(default_token_url(Provider::Microsoft, None), None);
        assert_eq!(
            default_token_url(Provider::Microsoft, Some("contoso.onmicrosoft.com")).as_deref(),
            Some("https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token")
        );
        assert_eq!(
            default_device_url(Provider::Google, None).as_deref(),
            Some("https://oauth2.googleapis.com/device/code")
        );
        assert_eq!(
            default_scope(Provider::Microsoft, Flow::ClientCredentials),
            MICROSOFT_APP_SCOPE
        );
        assert!(default_scope(Provider::Microsoft, Flow::RefreshToken).contains("offline_access"));
        assert_eq!(
            default_scope(Provider::Google, Flow::ServiceAccount),
            GOOGLE_SCOPE
        );
    }
}
