//! net: the connection under a POP3 or IMAP source — TCP with a deadline,
//! then TLS (rustls, ring provider) from the first byte (`implicit`) or
//! after the protocol's STARTTLS/STLS (RFC 2595), or plain text to a
//! loopback server (`none`; config.rs refuses it elsewhere).
//!
//! Trust anchors are the system's roots (rustls-native-certs) plus the
//! source's `ca_file`. A failed handshake is explained in words an operator
//! can act on: a plain-text port, an unknown CA, a name mismatch.

use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::config::{MailServer, TlsMode};

/// Why a connection could not be made or used.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("cannot connect to {server}: {source}")]
    Connect { server: String, source: io::Error },
    #[error("{server} did not answer within {after:?} ({doing})")]
    Timeout {
        server: String,
        after: Duration,
        doing: &'static str,
    },
    #[error("TLS with {server} failed: {detail}")]
    Tls { server: String, detail: String },
    #[error("connection to {server} lost: {source}")]
    Io { server: String, source: io::Error },
    /// The settings themselves are unusable (ca_file, host name).
    #[error("{0}")]
    Setup(String),
}

/// A TCP connection, in clear or under TLS; what the protocol sessions
/// read and write.
#[derive(Debug)]
pub enum MailStream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl MailStream {
    pub fn is_tls(&self) -> bool {
        matches!(self, MailStream::Tls(_))
    }
}

/// Everything needed to open connections to one server, built once per
/// source task (loading the system roots takes a few milliseconds).
#[derive(Clone)]
pub struct Connector {
    pub server: String,
    host: String,
    port: u16,
    pub tls: TlsMode,
    timeout: Duration,
    tls_config: Arc<rustls::ClientConfig>,
}

impl Connector {
    pub fn new(cfg: &MailServer, key: &str) -> Result<Connector, NetError> {
        Ok(Connector {
            server: format!("{}:{}", cfg.host, cfg.port),
            host: cfg.host.clone(),
            port: cfg.port,
            tls: cfg.tls,
            timeout: cfg.timeout,
            tls_config: Arc::new(client_config(cfg.ca_file.as_deref(), key)?),
        })
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The server's name and port as configured (OAUTHBEARER names them).
    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// TCP, then TLS at once for `implicit`.
    pub async fn connect(&self) -> Result<MailStream, NetError> {
        let addr = (
            self.host.trim_start_matches('[').trim_end_matches(']'),
            self.port,
        );
        let tcp = self
            .deadline("connecting", TcpStream::connect(addr))
            .await?
            .map_err(|source| NetError::Connect {
                server: self.server.clone(),
                source,
            })?;
        // Mail protocols are request/response; Nagle only adds latency.
        let _ = tcp.set_nodelay(true);
        match self.tls {
            TlsMode::Implicit => self.start_tls(MailStream::Plain(tcp)).await,
            TlsMode::Starttls | TlsMode::None => Ok(MailStream::Plain(tcp)),
        }
    }

    /// The TLS handshake on a plain connection (after STARTTLS/STLS, or at
    /// once for implicit TLS).
    pub async fn start_tls(&self, stream: MailStream) -> Result<MailStream, NetError> {
        let MailStream::Plain(tcp) = stream else {
            return Ok(stream);
        };
        let name = ServerName::try_from(
            self.host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
        )
        .map_err(|_| {
            NetError::Setup(format!(
                "host {:?} is neither an IP address nor a DNS name, so no certificate can match it",
                self.host
            ))
        })?;
        let connector = TlsConnector::from(self.tls_config.clone());
        let tls = self
            .deadline("TLS handshake", connector.connect(name, tcp))
            .await?
            .map_err(|e| NetError::Tls {
                server: self.server.clone(),
                detail: explain_tls(&e, self.port),
            })?;
        Ok(MailStream::Tls(Box::new(tls)))
    }

    /// Runs `fut` under this server's timeout.
    pub async fn deadline<T>(
        &self,
        doing: &'static str,
        fut: impl Future<Output = T>,
    ) -> Result<T, NetError> {
        tokio::time::timeout(self.timeout, fut)
            .await
            .map_err(|_| NetError::Timeout {
                server: self.server.clone(),
                after: self.timeout,
                doing,
            })
    }

    pub fn io_error(&self, source: io::Error) -> NetError {
        NetError::Io {
            server: self.server.clone(),
            source,
        }
    }
}

/// The roots rustls trusts: the system's plus `ca_file`. `key` names the
/// config key in messages (`source[0].ca_file`).
pub fn client_config(ca_file: Option<&Path>, key: &str) -> Result<rustls::ClientConfig, NetError> {
    let mut roots = rustls::RootCertStore::empty();
    // Unreadable system certificates are skipped, as every TLS client does;
    // a private CA still works through ca_file.
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);
    if let Some(path) = ca_file {
        let bad = |why: String| NetError::Setup(format!("{key} {}: {why}", path.display()));
        let pem = std::fs::read(path).map_err(|e| bad(format!("cannot read: {e}")))?;
        let mut found = 0;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| bad(format!("not a PEM certificate file: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| bad(format!("unusable certificate: {e}")))?;
            found += 1;
        }
        if found == 0 {
            return Err(bad("no PEM certificate in it".into()));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| NetError::Setup(format!("TLS setup: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

/// Words for the handshake failures operators meet.
fn explain_tls(e: &io::Error, port: u16) -> String {
    let text = e.to_string();
    let hint = if text.contains("UnknownIssuer") {
        " (the server's certificate is not signed by a CA this machine trusts; for a private CA set ca_file)"
    } else if text.contains("NotValidForName") {
        " (the certificate does not name this host; use the host name the certificate was issued for)"
    } else if text.contains("InvalidContentType")
        || text.contains("corrupt message")
        || e.kind() == io::ErrorKind::UnexpectedEof
    {
        if port == 110 || port == 143 {
            " (the server does not speak TLS on this port: is it the plain-text port? use tls = \"starttls\")"
        } else {
            " (the server does not speak TLS on this port: is it a plain-text port? check port and tls)"
        }
    } else if text.contains("Expired") {
        " (the server's certificate has expired)"
    } else {
        ""
    };
    format!("{text}{hint}")
}

impl AsyncRead for MailStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MailStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            MailStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for MailStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MailStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            MailStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MailStream::Plain(s) => Pin::new(s).poll_flush(cx),
            MailStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MailStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            MailStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_without_certificates_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ca.pem");
        std::fs::write(&file, "just text\n").unwrap();
        let err = client_config(Some(&file), "source[0].ca_file").unwrap_err();
        assert!(
            err.to_string().contains("source[0].ca_file") && err.to_string().contains("no PEM"),
            "{err}"
        );
        let err = client_config(Some(&dir.path().join("missing.pem")), "k").unwrap_err();
        assert!(err.to_string().contains("cannot read"), "{err}");
    }

    #[test]
    fn handshake_failures_get_a_hint() {
        let plain = io::Error::new(
            io::ErrorKind::InvalidData,
            "received corrupt message of type InvalidContentType",
        );
        assert!(explain_tls(&plain, 110).contains("starttls"));
        assert!(explain_tls(&plain, 21110).contains("plain-text port"));
        let ca = io::Error::new(
            io::ErrorKind::InvalidData,
            "invalid peer certificate: UnknownIssuer",
        );
        assert!(explain_tls(&ca, 995).contains("set ca_file"));
        let other = io::Error::other("boom");
        assert_eq!(explain_tls(&other, 995), "boom");
    }
}
