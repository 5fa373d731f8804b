//! pop3: a POP3 mailbox as a source (RFC 1939, CAPA and UIDL per RFC 2449,
//! STLS per RFC 2595, SASL PLAIN per RFC 5034 and RFC 4616).
//!
//! One round is one session: log in, list the messages with UIDL and LIST,
//! RETR them, commit them in batches (planned from the LIST sizes, bounded
//! in count and bytes), then DELE them (unless `leave_on_server`) and QUIT
//! so the server applies the deletions. RETR is read through [`Capped`]:
//! a message over the size limit keeps its header and the start of its
//! body, whatever the server sends.
//!
//! A message taken before — a crash between commit and QUIT — is fetched
//! again and recognised by its UIDL and content hash, then deleted: a
//! server that reuses a UIDL for another message does not lose it. With
//! `leave_on_server` every message stays, and fetching them all on every
//! poll only to recognise them would not do: there a UIDL seen before is
//! trusted (RFC 1939 section 7: a server never reuses one in a maildrop).
//! The wire parser ([`proto`]) is apart from the session and tested with
//! tables (STYLE principle 6).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;
use tracing::{debug, warn};

use crate::config::{MailServer, Secret, TlsMode};
use crate::intake::ReadLimits;
use crate::intake::Taken;
use crate::oauth::Credential;
use crate::oauth::sasl::{self, Mechanism};
use crate::source::capped::{Capped, batch_len};
use crate::source::net::{Connector, MailStream};
use crate::source::{Backoff, Round, Sink, SourceError};

/// The wire format, as pure functions over bytes.
pub mod proto {
    /// A parse that may need more bytes: `Done(value, bytes consumed)`.
    #[derive(Debug, PartialEq, Eq)]
    pub enum Parse<T> {
        Done(T, usize),
        NeedMore,
    }

    #[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
    pub enum ProtoError {
        #[error("reply line longer than {0} bytes")]
        LineTooLong(usize),
        #[error("not a POP3 status line: {0:?}")]
        NotStatus(String),
        #[error("bad UIDL line: {0:?}")]
        BadUidl(String),
        #[error("bad LIST line: {0:?}")]
        BadList(String),
    }

    /// RFC 2449 allows 512 octets for a status line; some servers put long
    /// texts in -ERR, so allow more before calling it garbage.
    pub const MAX_STATUS_LINE: usize = 4096;

    /// `+OK text`, `-ERR text`, or `+ text` (a SASL continuation).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Reply {
        Ok(String),
        Err(String),
        Continue(String),
    }

    /// One line, without its CRLF (or bare LF); `NeedMore` until the line
    /// break has arrived. `max` bounds the line (`None`: no bound).
    pub fn line(buf: &[u8], max: Option<usize>) -> Result<Parse<&[u8]>, ProtoError> {
        match buf.iter().position(|&b| b == b'\n') {
            Some(lf) => {
                let end = if lf > 0 && buf[lf - 1] == b'\r' {
                    lf - 1
                } else {
                    lf
                };
                if let Some(max) = max
                    && end > max
                {
                    return Err(ProtoError::LineTooLong(max));
                }
                Ok(Parse::Done(&buf[..end], lf + 1))
            }
            None => match max {
                Some(max) if buf.len() > max + 1 => Err(ProtoError::LineTooLong(max)),
                _ => Ok(Parse::NeedMore),
            },
        }
    }

    /// A status line. The indicators are matched without regard to case
    /// (servers differ), the text after them with stray blanks trimmed.
    pub fn reply(line: &[u8]) -> Result<Reply, ProtoError> {
        let text = String::from_utf8_lossy(line);
        let (head, rest) = match text.find([' ', '\t']) {
            Some(i) => (&text[..i], text[i..].trim()),
            None => (&text[..], ""),
        };
        let rest = rest.to_string();
        if head.eq_ignore_ascii_case("+OK") {
            Ok(Reply::Ok(rest))
        } else if head.eq_ignore_ascii_case("-ERR") {
            Ok(Reply::Err(rest))
        } else if head == "+" {
            Ok(Reply::Continue(rest))
        } else {
            Err(ProtoError::NotStatus(text.chars().take(200).collect()))
        }
    }

    /// A line of a multi-line reply: the terminating `.`, or a line with
    /// its byte-stuffing dot removed (RFC 1939 section 3).
    #[derive(Debug, PartialEq, Eq)]
    pub enum DataLine<'a> {
        End,
        Line(&'a [u8]),
    }

    pub fn data_line(line: &[u8]) -> DataLine<'_> {
        match line {
            b"." => DataLine::End,
            [b'.', rest @ ..] => DataLine::Line(rest),
            _ => DataLine::Line(line),
        }
    }

    /// `N UID` of a UIDL listing; the UID is 1-70 characters 0x21-0x7E.
    pub fn uidl_entry(line: &[u8]) -> Result<(u32, String), ProtoError> {
        let bad = || ProtoError::BadUidl(String::from_utf8_lossy(line).chars().take(200).collect());
        let text = std::str::from_utf8(line).map_err(|_| bad())?;
        let mut words = text.split_ascii_whitespace();
        let (Some(n), Some(uid), None) = (words.next(), words.next(), words.next()) else {
            return Err(bad());
        };
        let n: u32 = n.parse().map_err(|_| bad())?;
        if n == 0 || uid.len() > 70 || !uid.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
            return Err(bad());
        }
        Ok((n, uid.to_string()))
    }

    /// `N SIZE` of a LIST listing (RFC 1939 section 5); anything after the
    /// size is the server's own and ignored.
    pub fn list_entry(line: &[u8]) -> Result<(u32, u64), ProtoError> {
        let bad = || ProtoError::BadList(String::from_utf8_lossy(line).chars().take(200).collect());
        let text = std::str::from_utf8(line).map_err(|_| bad())?;
        let mut words = text.split_ascii_whitespace();
        let (Some(n), Some(size)) = (words.next(), words.next()) else {
            return Err(bad());
        };
        let n: u32 = n.parse().map_err(|_| bad())?;
        let size: u64 = size.parse().map_err(|_| bad())?;
        if n == 0 {
            return Err(bad());
        }
        Ok((n, size))
    }

    /// What a CAPA listing (RFC 2449) says, as far as postdesk cares.
    #[derive(Debug, Default, Clone, PartialEq, Eq)]
    pub struct Capabilities {
        pub stls: bool,
        pub uidl: bool,
        pub user: bool,
        pub sasl_plain: bool,
        /// Several commands may be sent before their replies (RFC 2449 6.6).
        pub pipelining: bool,
        /// Every SASL mechanism listed, upper-case.
        pub sasl: Vec<String>,
    }

    pub fn capabilities<'a>(lines: impl IntoIterator<Item = &'a [u8]>) -> Capabilities {
        let mut caps = Capabilities::default();
        for line in lines {
            let text = String::from_utf8_lossy(line).to_ascii_uppercase();
            let mut words = text.split_ascii_whitespace();
            match words.next() {
                Some("STLS") => caps.stls = true,
                Some("UIDL") => caps.uidl = true,
                Some("USER") => caps.user = true,
                Some("PIPELINING") => caps.pipelining = true,
                Some("SASL") => {
                    caps.sasl.extend(words.map(String::from));
                    caps.sasl_plain = caps.sasl.iter().any(|w| w == "PLAIN");
                }
                _ => {}
            }
        }
        caps
    }

    /// A command line; refuses CR or LF inside an argument, which would
    /// smuggle a second command (a password with a line break).
    pub fn command(verb: &str, args: &[&str]) -> Option<Vec<u8>> {
        let mut out = verb.as_bytes().to_vec();
        for a in args {
            if a.contains(['\r', '\n']) {
                return None;
            }
            out.push(b' ');
            out.extend_from_slice(a.as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        Some(out)
    }
}

use proto::{DataLine, Parse, Reply};

/// Messages asked for in one pipelined write; `stop` is asked between two
/// groups.
const RETR_GROUP: usize = 32;

/// The longest piece of a line taken from the buffer at once while reading
/// a message: a longer line is passed on in pieces, never held whole.
const SEGMENT: usize = 64 << 10;

/// A POP3 session over one connection.
pub struct Session {
    conn: Connector,
    stream: MailStream,
    buf: Vec<u8>,
    pos: usize,
    /// The server takes a group of commands before their replies.
    pipelining: bool,
}

impl Session {
    /// Connects, reads the greeting, upgrades with STLS when configured.
    pub async fn open(conn: &Connector) -> Result<Session, SourceError> {
        let stream = conn.connect().await?;
        let mut s = Session {
            conn: conn.clone(),
            stream,
            buf: Vec::with_capacity(64 * 1024),
            pos: 0,
            pipelining: false,
        };
        s.expect_ok("greeting").await?;
        if conn.tls == TlsMode::Starttls {
            // Servers hide STLS from a CAPA that fails; try it regardless.
            s.send(&["STLS"]).await?;
            s.expect_ok("STLS").await?;
            if s.pos < s.buf.len() {
                return Err(s.protocol("sent data before the TLS handshake (possible injection)"));
            }
            // Nothing read before the handshake survives it (RFC 2595 section 3.1).
            let stream = conn.start_tls(s.stream).await?;
            s = Session {
                conn: conn.clone(),
                stream,
                buf: Vec::with_capacity(64 * 1024),
                pos: 0,
                pipelining: false,
            };
        }
        Ok(s)
    }

    /// CAPA; an -ERR means a server without it (RFC 1939 only).
    pub async fn capabilities(&mut self) -> Result<proto::Capabilities, SourceError> {
        self.send(&["CAPA"]).await?;
        match self.reply("CAPA").await? {
            Reply::Ok(_) => {
                let lines = self.block(4096).await?;
                Ok(proto::capabilities(lines.split(|&b| b == b'\n')))
            }
            _ => Ok(proto::Capabilities::default()),
        }
    }

    /// SASL PLAIN when offered, else USER/PASS.
    pub async fn login(&mut self, user: &str, password: &str) -> Result<(), SourceError> {
        let caps = self.capabilities().await?;
        self.pipelining = caps.pipelining;
        let server = self.conn.server.clone();
        let refused = move |detail: String| SourceError::Login {
            server,
            user: user.to_string(),
            detail,
        };
        let reply = if caps.sasl_plain {
            let token = STANDARD.encode(format!("\0{user}\0{password}"));
            self.send(&["AUTH", "PLAIN", &token]).await?;
            self.reply("AUTH").await?
        } else {
            self.send(&["USER", user]).await?;
            match self.reply("USER").await? {
                Reply::Ok(_) => {
                    self.send(&["PASS", password]).await?;
                    self.reply("PASS").await?
                }
                other => other,
            }
        };
        match reply {
            Reply::Ok(_) => Ok(()),
            Reply::Err(text) => Err(refused(text)),
            Reply::Continue(_) => {
                // A server that ignored the initial response: cancel.
                self.send(&["*"]).await?;
                let _ = self.reply("AUTH").await;
                Err(refused(
                    "the server did not take the SASL PLAIN initial response".into(),
                ))
            }
        }
    }

    /// AUTH with an access token (RFC 5034), by the mechanism the server
    /// lists; a refused token is renewed once and tried again. The token
    /// goes on its own line after the server's `+`: with it, the AUTH line
    /// would pass POP3's 255-octet limit.
    pub async fn sign_in(&mut self, user: &str, cred: &Credential) -> Result<(), SourceError> {
        let caps = self.capabilities().await?;
        self.pipelining = caps.pipelining;
        let refused = |s: &Session, detail: String| SourceError::Login {
            server: s.conn.server.clone(),
            user: user.to_string(),
            detail,
        };
        let Some(mech) = Mechanism::choose(caps.sasl.iter().map(String::as_str)) else {
            let why = "the server lists neither SASL OAUTHBEARER nor XOAUTH2 in CAPA";
            return Err(refused(self, why.into()));
        };
        if sasl::unsafe_field(user) {
            return Err(SourceError::Password(
                "the login name contains a control character".into(),
            ));
        }
        let mut renew = false;
        loop {
            let token = cred.token(renew).await?;
            let (host, port) = (self.conn.host().to_string(), self.conn.port());
            let first = mech.initial_response(user, &host, port, token.secret());
            self.send(&["AUTH", mech.name()]).await?;
            let reply = match self.reply("AUTH").await? {
                Reply::Continue(_) => {
                    self.send(&[&STANDARD.encode(first)]).await?;
                    self.reply("AUTH").await?
                }
                other => other,
            };
            let text = match reply {
                Reply::Ok(_) => return Ok(()),
                Reply::Err(text) => text,
                Reply::Continue(_) => {
                    // The error challenge (a JSON status); answering it ends the exchange.
                    self.send(&[&STANDARD.encode(mech.after_error())]).await?;
                    match self.reply("AUTH").await? {
                        Reply::Ok(_) => return Ok(()),
                        Reply::Err(text) | Reply::Continue(text) => text,
                    }
                }
            };
            if renew {
                return Err(refused(
                    self,
                    format!(
                        "{} with a freshly renewed token of [[oauth]] {} ({text}): check that the app may open this mailbox",
                        mech.name(),
                        cred.name()
                    ),
                ));
            }
            debug!(server = %self.conn.server, mechanism = mech.name(), "the token was refused; renewing it once");
            renew = true;
        }
    }

    /// UIDL: message numbers with their unique ids, in server order.
    pub async fn uidl(&mut self) -> Result<Vec<(u32, String)>, SourceError> {
        self.send(&["UIDL"]).await?;
        match self.reply("UIDL").await? {
            Reply::Ok(_) => {}
            Reply::Err(text) | Reply::Continue(text) => {
                return Err(self.protocol(&format!(
                    "UIDL refused ({text}); postdesk needs UIDL to take each message exactly once"
                )));
            }
        }
        let block = self.block(64 << 20).await?;
        block
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| {
                let l = l.strip_suffix(b"\r").unwrap_or(l);
                proto::uidl_entry(l).map_err(|e| self.protocol(&e.to_string()))
            })
            .collect()
    }

    /// LIST: message numbers with their sizes, to plan batches.
    pub async fn list(&mut self) -> Result<Vec<(u32, u64)>, SourceError> {
        self.send(&["LIST"]).await?;
        match self.reply("LIST").await? {
            Reply::Ok(_) => {}
            Reply::Err(text) | Reply::Continue(text) => {
                return Err(self.protocol(&format!("LIST refused: {text}")));
            }
        }
        let block = self.block(64 << 20).await?;
        block
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| {
                let l = l.strip_suffix(b"\r").unwrap_or(l);
                proto::list_entry(l).map_err(|e| self.protocol(&e.to_string()))
            })
            .collect()
    }

    /// RETR: the message exactly as stored (CRLF lines, dots unstuffed),
    /// read within `limits`.
    pub async fn retr(&mut self, n: u32, limits: ReadLimits) -> Result<Capped, SourceError> {
        self.send(&["RETR", &n.to_string()]).await?;
        match self.reply("RETR").await? {
            Reply::Ok(_) => self.message(limits).await,
            Reply::Err(text) | Reply::Continue(text) => {
                Err(self.protocol(&format!("RETR {n} refused: {text}")))
            }
        }
    }

    /// RETR for several messages: one write of all the commands when the
    /// server pipelines (a round trip per group, not per message).
    pub async fn retr_many(
        &mut self,
        ns: &[u32],
        limits: ReadLimits,
    ) -> Result<Vec<Capped>, SourceError> {
        if !self.pipelining {
            let mut out = Vec::with_capacity(ns.len());
            for &n in ns {
                out.push(self.retr(n, limits).await?);
            }
            return Ok(out);
        }
        self.send_all("RETR", ns).await?;
        let mut out = Vec::with_capacity(ns.len());
        for &n in ns {
            match self.reply("RETR").await? {
                Reply::Ok(_) => out.push(self.message(limits).await?),
                Reply::Err(text) | Reply::Continue(text) => {
                    return Err(self.protocol(&format!("RETR {n} refused: {text}")));
                }
            }
        }
        Ok(out)
    }

    /// DELE for several messages, pipelined when the server allows.
    pub async fn dele_many(&mut self, ns: &[u32]) -> Result<(), SourceError> {
        if !self.pipelining {
            for &n in ns {
                self.dele(n).await?;
            }
            return Ok(());
        }
        self.send_all("DELE", ns).await?;
        for &n in ns {
            match self.reply("DELE").await? {
                Reply::Ok(_) => {}
                Reply::Err(text) | Reply::Continue(text) => {
                    return Err(self.protocol(&format!("DELE {n} refused: {text}")));
                }
            }
        }
        Ok(())
    }

    pub async fn dele(&mut self, n: u32) -> Result<(), SourceError> {
        self.send(&["DELE", &n.to_string()]).await?;
        match self.reply("DELE").await? {
            Reply::Ok(_) => Ok(()),
            Reply::Err(text) | Reply::Continue(text) => {
                Err(self.protocol(&format!("DELE {n} refused: {text}")))
            }
        }
    }

    /// QUIT: the server applies the deletions now (the UPDATE state).
    pub async fn quit(mut self) -> Result<(), SourceError> {
        self.send(&["QUIT"]).await?;
        match self.reply("QUIT").await? {
            Reply::Ok(_) => Ok(()),
            Reply::Err(text) | Reply::Continue(text) => Err(self.protocol(&format!(
                "QUIT refused, messages marked for deletion stay on the server: {text}"
            ))),
        }
    }

    // --- the wire ---------------------------------------------------------

    async fn send(&mut self, words: &[&str]) -> Result<(), SourceError> {
        let Some(line) = proto::command(words[0], &words[1..]) else {
            return Err(SourceError::Password(
                "the login name or password contains a line break".into(),
            ));
        };
        let conn = self.conn.clone();
        conn.deadline("sending a command", async {
            self.stream.write_all(&line).await?;
            self.stream.flush().await
        })
        .await?
        .map_err(|e| conn.io_error(e))?;
        Ok(())
    }

    /// `VERB n` for every n, in one write.
    async fn send_all(&mut self, verb: &str, ns: &[u32]) -> Result<(), SourceError> {
        let mut lines = Vec::with_capacity(ns.len() * 12);
        for n in ns {
            lines.extend(proto::command(verb, &[&n.to_string()]).unwrap_or_default());
        }
        let conn = self.conn.clone();
        conn.deadline("sending commands", async {
            self.stream.write_all(&lines).await?;
            self.stream.flush().await
        })
        .await?
        .map_err(|e| conn.io_error(e))?;
        Ok(())
    }

    /// Reads more bytes into the buffer; Err on EOF or timeout.
    async fn fill(&mut self, doing: &'static str) -> Result<(), SourceError> {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        // Straight into the buffer's spare room: no chunk on the stack.
        self.buf.reserve(64 * 1024);
        let conn = self.conn.clone();
        let n = conn
            .deadline(doing, self.stream.read_buf(&mut self.buf))
            .await?
            .map_err(|e| conn.io_error(e))?;
        if n == 0 {
            return Err(conn
                .io_error(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!("the server closed the connection ({doing})"),
                ))
                .into());
        }
        Ok(())
    }

    async fn reply(&mut self, doing: &'static str) -> Result<Reply, SourceError> {
        loop {
            match proto::line(&self.buf[self.pos..], Some(proto::MAX_STATUS_LINE)) {
                Ok(Parse::Done(line, used)) => {
                    let reply = proto::reply(line).map_err(|e| self.protocol(&e.to_string()));
                    self.pos += used;
                    return reply;
                }
                Ok(Parse::NeedMore) => self.fill(doing).await?,
                Err(e) => return Err(self.protocol(&e.to_string())),
            }
        }
    }

    async fn expect_ok(&mut self, doing: &'static str) -> Result<String, SourceError> {
        match self.reply(doing).await? {
            Reply::Ok(text) => Ok(text),
            Reply::Err(text) | Reply::Continue(text) => {
                Err(self.protocol(&format!("{doing} refused: {text}")))
            }
        }
    }

    /// A message (the body of a RETR reply) into a [`Capped`]: lines
    /// unstuffed and ended in CRLF, a line longer than [`SEGMENT`] passed
    /// on in pieces, so memory stays bounded whatever the server sends.
    async fn message(&mut self, limits: ReadLimits) -> Result<Capped, SourceError> {
        let mut out = Capped::new(limits);
        let mut line_start = true;
        loop {
            let avail = &self.buf[self.pos..];
            match avail.iter().position(|&b| b == b'\n') {
                Some(lf) => {
                    let line = &avail[..lf];
                    let line = line.strip_suffix(b"\r").unwrap_or(line);
                    if line_start {
                        match proto::data_line(line) {
                            DataLine::End => {
                                self.pos += lf + 1;
                                return Ok(out);
                            }
                            DataLine::Line(l) => out.push(l),
                        }
                    } else {
                        out.push(line);
                    }
                    out.push(b"\r\n");
                    self.pos += lf + 1;
                    line_start = true;
                }
                // A very long line: pass on all but its last byte (maybe
                // the CR of the CRLF still to come).
                None if avail.len() > SEGMENT => {
                    let take = avail.len() - 1;
                    let piece = &avail[..take];
                    let piece = match piece {
                        [b'.', rest @ ..] if line_start => rest,
                        _ => piece,
                    };
                    out.push(piece);
                    self.pos += take;
                    line_start = false;
                }
                None => self.fill("reading a message").await?,
            }
        }
    }

    /// The body of a multi-line reply, each line ending in CRLF.
    async fn block(&mut self, max: usize) -> Result<Vec<u8>, SourceError> {
        let mut out = Vec::new();
        loop {
            match proto::line(&self.buf[self.pos..], None) {
                Ok(Parse::Done(line, used)) => {
                    match proto::data_line(line) {
                        DataLine::End => {
                            self.pos += used;
                            return Ok(out);
                        }
                        DataLine::Line(l) => {
                            out.extend_from_slice(l);
                            out.extend_from_slice(b"\r\n");
                        }
                    }
                    self.pos += used;
                    if out.len() > max {
                        return Err(self.protocol(&format!(
                            "a reply longer than {max} bytes; giving up on this session"
                        )));
                    }
                }
                Ok(Parse::NeedMore) => self.fill("reading a multi-line reply").await?,
                Err(e) => return Err(self.protocol(&e.to_string())),
            }
        }
    }

    fn protocol(&self, detail: &str) -> SourceError {
        SourceError::Protocol {
            server: self.conn.server.clone(),
            detail: detail.to_string(),
        }
    }
}

/// Rounds every `poll` until `stop` (Ok) or an error (the caller backs off
/// and calls again).
pub async fn run(
    sink: &Sink,
    conn: &Connector,
    server: &MailServer,
    leave_on_server: bool,
    backoff: &mut Backoff,
    stop: &mut watch::Receiver<bool>,
) -> Result<(), SourceError> {
    loop {
        let stopping = stop.clone();
        let round = collect(sink, conn, server, leave_on_server, || *stopping.borrow()).await?;
        backoff.succeeded(&sink.name);
        sink.healthy().await;
        if round.taken > 0 || round.removed > 0 {
            debug!(source = %sink.name, taken = round.taken, removed = round.removed, "round done");
        }
        tokio::select! {
            _ = tokio::time::sleep(server.poll) => {}
            _ = stop.wait_for(|s| *s) => {}
        }
        if *stop.borrow() {
            return Ok(());
        }
    }
}

/// One round: log in, take what is there, remove what is taken, QUIT.
/// `stop` is asked between messages; a stop commits what was fetched so far.
pub async fn collect(
    sink: &Sink,
    conn: &Connector,
    server: &MailServer,
    leave_on_server: bool,
    stop: impl Fn() -> bool,
) -> Result<Round, SourceError> {
    let mut s = if let Secret::OAuth(login) = &server.password {
        let mut s = Session::open(conn).await?;
        s.sign_in(&server.user, &Credential::new(&login.0)).await?;
        s
    } else {
        let password = server.password.read().map_err(SourceError::Password)?;
        let mut s = Session::open(conn).await?;
        s.login(&server.user, &password).await?;
        s
    };
    let mut listing = s.uidl().await?;
    let sizes: std::collections::HashMap<u32, u64> = s.list().await?.into_iter().collect();
    if leave_on_server {
        let seen = sink
            .seen(listing.iter().map(|(_, uid)| uid.clone()).collect())
            .await?;
        listing.retain(|(_, uid)| !seen.contains(uid));
    }
    let limits = sink.limits();
    let mut round = Round::default();
    let mut rest = &listing[..];
    while !rest.is_empty() {
        let n = batch_len(
            rest.iter().map(|(n, _)| sizes.get(n).copied().unwrap_or(0)),
            limits,
            sink.batch_size,
            sink.batch_bytes(),
        );
        let (chunk, tail) = rest.split_at(n.max(1));
        rest = tail;
        let mut numbers = Vec::with_capacity(chunk.len());
        let mut mails = Vec::with_capacity(chunk.len());
        for group in chunk.chunks(RETR_GROUP) {
            let ns: Vec<u32> = group.iter().map(|(n, _)| *n).collect();
            for ((n, uid), read) in group.iter().zip(s.retr_many(&ns, limits).await?) {
                numbers.push(*n);
                mails.push(sink.fetched(uid.clone(), read));
            }
            if stop() {
                rest = &[];
                break;
            }
        }
        let taken = sink.take(mails).await?;
        // Committed: now, and only now, the server copies may go (not one
        // that could not be stored: it stays for a later round).
        let done: Vec<u32> = numbers
            .iter()
            .zip(&taken)
            .filter(|(_, t)| t.is_stored())
            .map(|(n, _)| *n)
            .collect();
        round.taken += taken
            .iter()
            .filter(|t| t.is_stored() && !matches!(t, Taken::AlreadyTaken))
            .count();
        if !leave_on_server && !done.is_empty() {
            s.dele_many(&done).await?;
            round.removed += done.len();
        }
        if stop() {
            break;
        }
    }
    if let Err(e) = s.quit().await {
        // Everything is committed; the next round deletes what is left.
        warn!(source = %sink.name, error = %e, "QUIT failed; taken messages stay on the server until the next round");
    }
    Ok(round)
}

#[cfg(test)]
mod tests {
    use super::proto::*;
    use super::*;

    #[test]
    fn lines_need_their_line_break() {
        #[rustfmt::skip]
        type Case<'a> = (&'a [u8], Option<usize>, Result<Parse<&'a [u8]>, ProtoError>);
        let cases: &[Case] = &[
            (b"+OK hi\r\nrest", None, Ok(Parse::Done(b"+OK hi", 8))),
            (b"+OK hi\nrest", None, Ok(Parse::Done(b"+OK hi", 7))),
            (b"\r\n", None, Ok(Parse::Done(b"", 2))),
            (b"+OK hi\r", None, Ok(Parse::NeedMore)),
            (b"", None, Ok(Parse::NeedMore)),
            (b"+OK a\r\n", Some(3), Err(ProtoError::LineTooLong(3))),
            (b"+OK abcdef", Some(3), Err(ProtoError::LineTooLong(3))),
            (b"+OK", Some(3), Ok(Parse::NeedMore)),
        ];
        for (input, max, want) in cases {
            assert_eq!(
                &line(input, *max),
                want,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn status_lines() {
        let cases: &[(&[u8], Result<Reply, ()>)] = &[
            (
                b"+OK Dovecot ready.",
                Ok(Reply::Ok("Dovecot ready.".into())),
            ),
            (b"+OK", Ok(Reply::Ok(String::new()))),
            (b"+ok  spaced  ", Ok(Reply::Ok("spaced".into()))),
            (
                b"-ERR [AUTH] Authentication failed.",
                Ok(Reply::Err("[AUTH] Authentication failed.".into())),
            ),
            (b"-err", Ok(Reply::Err(String::new()))),
            (b"+ ", Ok(Reply::Continue(String::new()))),
            (b"+OKAY", Err(())),
            (b"* OK IMAP4rev1", Err(())),
            (b"", Err(())),
        ];
        for (input, want) in cases {
            let got = reply(input).map_err(|_| ());
            assert_eq!(&got, want, "{:?}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn data_lines_are_unstuffed() {
        assert_eq!(data_line(b"."), DataLine::End);
        assert_eq!(data_line(b".."), DataLine::Line(b"."));
        assert_eq!(data_line(b"..two dots"), DataLine::Line(b".two dots"));
        assert_eq!(data_line(b".x"), DataLine::Line(b"x"));
        assert_eq!(data_line(b"plain"), DataLine::Line(b"plain"));
        assert_eq!(data_line(b""), DataLine::Line(b""));
        assert_eq!(data_line(b" ."), DataLine::Line(b" ."));
    }

    #[test]
    fn uidl_entries() {
        assert_eq!(
            uidl_entry(b"1 whqtswO00WBw418f9t5JxYwZ").unwrap(),
            (1, "whqtswO00WBw418f9t5JxYwZ".into())
        );
        assert_eq!(
            uidl_entry(b" 12   00000001abcdef01 ").unwrap(),
            (12, "00000001abcdef01".into())
        );
        for bad in [
            &b"1"[..],
            b"x abc",
            b"0 abc",
            b"1 abc def",
            b"1 ab\x7fc",
            b"",
            b"-1 a",
        ] {
            assert!(
                uidl_entry(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let long = format!("3 {}", "a".repeat(71));
        assert!(uidl_entry(long.as_bytes()).is_err());
    }

    #[test]
    fn list_entries() {
        assert_eq!(list_entry(b"1 120").unwrap(), (1, 120));
        assert_eq!(list_entry(b" 7  1073741824 ").unwrap(), (7, 1 << 30));
        assert_eq!(list_entry(b"2 300 extra").unwrap(), (2, 300));
        for bad in [&b"1"[..], b"x 1", b"0 5", b"1 -5", b"1 big", b""] {
            assert!(
                list_entry(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn capa_listing() {
        let lines: Vec<&[u8]> = vec![
            b"CAPA",
            b"TOP",
            b"UIDL",
            b"RESP-CODES",
            b"PIPELINING",
            b"AUTH-RESP-CODE",
            b"USER",
            b"SASL PLAIN LOGIN",
            b"stls",
        ];
        assert_eq!(
            capabilities(lines),
            Capabilities {
                stls: true,
                uidl: true,
                user: true,
                sasl_plain: true,
                pipelining: true,
                sasl: vec!["PLAIN".into(), "LOGIN".into()],
            }
        );
        let lines: Vec<&[u8]> = vec![b"SASL LOGIN CRAM-MD5", b"IMPLEMENTATION Sample"];
        let caps = capabilities(lines);
        assert!(!caps.sasl_plain);
        assert_eq!(caps.sasl, ["LOGIN", "CRAM-MD5"]);
        let lines: Vec<&[u8]> = vec![b"SASL PLAIN xoauth2 OAUTHBEARER"];
        assert_eq!(
            capabilities(lines).sasl,
            ["PLAIN", "XOAUTH2", "OAUTHBEARER"]
        );
    }

    #[test]
    fn commands_refuse_line_breaks_in_arguments() {
        assert_eq!(command("USER", &["bob"]).unwrap(), b"USER bob\r\n");
        assert_eq!(command("QUIT", &[]).unwrap(), b"QUIT\r\n");
        assert!(command("PASS", &["x\r\nDELE 1"]).is_none());
        assert!(command("PASS", &["x\nDELE 1"]).is_none());
    }

    #[test]
    fn base64_of_sasl_tokens() {
        // The SASL PLAIN token is standard, padded base64: RFC 4648 test
        // vectors, and RFC 4616's example.
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(STANDARD.encode(input), want);
        }
        assert_eq!(
            STANDARD.encode(b"\0tim\0tanstaaftanstaaf"),
            "AHRpbQB0YW5zdGFhZnRhbnN0YWFm"
        );
    }

    // --- small fakes for what Dovecot will not do on demand (STYLE 8) ------

    use crate::config::{MailServer, Secret, TlsMode};
    use crate::source::net::Connector;
    use tokio::io::AsyncWriteExt;

    /// A server on port 0 that writes `script` to each client, then waits.
    async fn fake(script: &'static [u8]) -> Connector {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut c, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let _ = c.write_all(script).await;
                    if script.ends_with(b"CLOSE") {
                        return;
                    }
                    tokio::time::sleep(std::time::Duration::from_secs(30)).await;
                });
            }
        });
        let server = MailServer {
            host: "127.0.0.1".into(),
            port,
            tls: TlsMode::None,
            user: "u".into(),
            password: Secret::Env("UNUSED".into()),
            ca_file: None,
            timeout: std::time::Duration::from_millis(300),
            poll: std::time::Duration::from_secs(1),
            own_address: true,
        };
        Connector::new(&server, "test").unwrap()
    }

    #[tokio::test]
    async fn a_silent_server_times_out() {
        let conn = fake(b"").await;
        let err = Session::open(&conn)
            .await
            .err()
            .expect("no greeting, no session");
        assert!(
            err.to_string()
                .contains("did not answer within 300ms (greeting)"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_reply_cut_mid_line_is_a_lost_connection() {
        let conn = fake(b"+OK ready\r\n+OK 2 messages\r\n1 aaa\r\n2 bb CLOSE").await;
        let mut s = Session::open(&conn).await.unwrap();
        let err = s.uidl().await.unwrap_err();
        assert!(err.to_string().contains("closed the connection"), "{err}");
    }

    #[tokio::test]
    async fn a_non_pop3_greeting_is_a_protocol_error() {
        let conn = fake(b"* OK IMAP4rev1 ready\r\n").await;
        let err = Session::open(&conn).await.err().unwrap();
        assert!(err.to_string().contains("not a POP3 status line"), "{err}");
    }

    #[tokio::test]
    async fn user_and_pass_when_the_server_has_no_sasl_plain() {
        // Replies in the order the client asks: greeting, CAPA, USER, PASS.
        let conn = fake(b"+OK hi\r\n+OK caps\r\nUSER\r\nUIDL\r\n.\r\n+OK send pass\r\n-ERR [AUTH] bad password\r\n").await;
        let mut s = Session::open(&conn).await.unwrap();
        let err = s.login("bob", "pw").await.unwrap_err();
        assert!(err.is_login(), "{err}");
        assert!(
            err.to_string()
                .contains("refused the login as bob: [AUTH] bad password"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn retr_one_by_one_without_pipelining_unstuffs_dots() {
        let conn = fake(
            b"+OK hi\r\n+OK\r\nSASL PLAIN\r\n.\r\n+OK in\r\n\
              +OK\r\nSubject: a\r\n\r\n..dot\r\n.\r\n+OK\r\nSubject: b\r\n\r\nx\r\n.\r\n",
        )
        .await;
        let mut s = Session::open(&conn).await.unwrap();
        s.login("bob", "pw").await.unwrap();
        assert!(!s.pipelining);
        let got: Vec<Vec<u8>> = s
            .retr_many(&[1, 2], LIMITS)
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.finish("t".into(), None).mail.raw)
            .collect();
        assert_eq!(
            got,
            [
                b"Subject: a\r\n\r\n.dot\r\n".to_vec(),
                b"Subject: b\r\n\r\nx\r\n".to_vec()
            ]
        );
    }

    const LIMITS: ReadLimits = ReadLimits {
        max_size: 1 << 20,
        keep: 100,
    };

    /// A server sending a 2 MB message as one line (no line break): read
    /// in pieces and cut, its whole size counted, the session still in
    /// step for the next reply.
    #[tokio::test]
    async fn a_huge_line_in_retr_is_cut_not_held() {
        let mut script =
            b"+OK hi\r\n+OK\r\nSASL PLAIN\r\n.\r\n+OK in\r\n+OK\r\nSubject: big\r\n\r\n.".to_vec();
        script.extend(std::iter::repeat_n(b'y', 2 << 20));
        script.extend_from_slice(b"\r\n.\r\n+OK\r\nSubject: b\r\n\r\nx\r\n.\r\n");
        let conn = fake(Box::leak(script.into_boxed_slice())).await;
        let mut s = Session::open(&conn).await.unwrap();
        s.login("bob", "pw").await.unwrap();
        let got: Vec<_> = s
            .retr_many(&[1, 2], LIMITS)
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.finish("t".into(), None))
            .collect();
        assert!(got[0].is_cut());
        // The line's stuffed dot is removed; CRLF ends each line.
        assert_eq!(
            got[0].size,
            (b"Subject: big\r\n\r\n".len() + (2 << 20) + 2) as u64
        );
        assert_eq!(got[0].mail.raw.len(), b"Subject: big\r\n\r\n".len() + 100);
        assert_eq!(
            &got[0].mail.raw[b"Subject: big\r\n\r\n".len()..][..3],
            b"yyy"
        );
        assert_eq!(got[1].mail.raw, b"Subject: b\r\n\r\nx\r\n");
    }
}
