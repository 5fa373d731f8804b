//! imap: an IMAP folder as a source (IMAP4rev1, RFC 3501; the client is
//! async-imap on tokio).
//!
//! Every message in the folder that is not flagged \Deleted is taken —
//! whether a person has opened it in a mail client or not, because every
//! message postdesk has taken leaves the folder: it is MOVEd (RFC 6851) to
//! `processed_folder`, or flagged \Deleted and removed with UID EXPUNGE
//! (RFC 4315) when there is none. Messages are fetched with BODY.PEEK[] so
//! the server's \Seen flag is left alone.
//!
//! The source id is `UIDVALIDITY:UID` (intake adds the content hash). A
//! message still in the folder though taken — a crash or a lost connection
//! between commit and removal — is fetched again, recognised and removed.
//! When the server changes the folder's UIDVALIDITY, every id is new; the
//! messages are fetched again and intake recognises those already stored
//! by Message-ID and content, so nothing is doubled.
//!
//! Batches are planned from RFC822.SIZE, bounded in count and bytes. A
//! message over the size limit is fetched in parts (`BODY.PEEK[]<offset.n>`,
//! RFC 3501 section 6.4.5) through [`Capped`]: its header and the start of
//! its body are kept, the rest only hashed, so it never sits in memory
//! whole. New mail is waited for with IDLE (RFC 2177) when the server has
//! it, re-issued well before the 29 minutes after which a server may drop
//! an idle client; otherwise the folder is polled.

use std::time::Duration;

use async_imap::error::Error as ImapError;
use async_imap::extensions::idle::IdleResponse;
use futures_util::TryStreamExt;
use tokio::sync::watch;
use tracing::{debug, info, warn};

use async_imap::types::UnsolicitedResponse;

use crate::config::{MailServer, Secret, TlsMode};
use crate::intake::Fetched;
use crate::intake::Taken;
use crate::oauth::Credential;
use crate::oauth::sasl::{self, Mechanism};
use crate::source::capped::{Capped, batch_len};
use crate::source::net::{Connector, MailStream};
use crate::source::{Backoff, Round, Sink, SourceError};

type Session = async_imap::Session<MailStream>;

/// RFC 2177: re-issue IDLE at least every 29 minutes.
const IDLE_RENEW: Duration = Duration::from_secs(25 * 60);
/// UIDs per FETCH; `stop` is asked between two of them.
const FETCH_GROUP: usize = 50;
/// UIDs per FETCH of sizes only.
const SIZE_GROUP: usize = 1000;
/// Bytes per partial FETCH of a message over the size limit.
const PART: u32 = 1 << 20;

/// What the source needs to know about one IMAP folder.
pub struct Folder<'a> {
    pub server: &'a MailServer,
    pub folder: &'a str,
    pub processed_folder: Option<&'a str>,
    pub idle: bool,
}

/// The server's extensions that change what postdesk sends.
#[derive(Debug, Default, Clone, Copy)]
struct Caps {
    idle: bool,
    move_: bool,
    uidplus: bool,
}

/// One connection's life: log in, then rounds until `stop` (Ok) or an
/// error (the caller backs off and calls again).
pub async fn run(
    sink: &Sink,
    conn: &Connector,
    cfg: &Folder<'_>,
    backoff: &mut Backoff,
    stop: &mut watch::Receiver<bool>,
) -> Result<(), SourceError> {
    let (mut session, caps) = open(conn, cfg.server).await?;
    let idle = cfg.idle && caps.idle;
    if cfg.idle && !caps.idle {
        info!(source = %sink.name, poll = ?cfg.server.poll, "the server has no IDLE; polling");
    }
    if let Some(processed) = cfg.processed_folder {
        // Created on first use so the operator need not; "already exists"
        // is the normal answer.
        match conn.deadline("CREATE", session.create(processed)).await? {
            Ok(()) => {
                info!(source = %sink.name, folder = processed, "created the processed folder")
            }
            Err(ImapError::No(_)) => {}
            Err(e) => return Err(imap_error(conn, e)),
        }
    }
    let mut validity = None;
    loop {
        // What the server said before this look is stale now (and the
        // channel, bounded, would drop what comes next once full).
        new_mail_reported(&session);
        let stopping = stop.clone();
        let round = collect(sink, conn, &mut session, cfg, caps, &mut validity, || {
            *stopping.borrow()
        })
        .await?;
        backoff.succeeded(&sink.name);
        sink.healthy().await;
        if *stop.borrow() {
            break;
        }
        // Mail that arrived during the round may have been announced to a
        // command of the round rather than to IDLE: look again at once
        // until a round finds nothing, and only then wait.
        if round.taken > 0 || round.removed > 0 {
            debug!(source = %sink.name, taken = round.taken, removed = round.removed, "round done");
            continue;
        }
        if new_mail_reported(&session) {
            continue;
        }
        if idle {
            session = wait_idle(conn, session, cfg.server.poll.min(IDLE_RENEW), stop).await?;
        } else {
            tokio::select! {
                _ = tokio::time::sleep(cfg.server.poll) => {}
                _ = stop.wait_for(|s| *s) => {}
            }
        }
        if *stop.borrow() {
            break;
        }
    }
    // Polite, not required: everything taken is committed and removed.
    let _ = tokio::time::timeout(Duration::from_secs(2), session.logout()).await;
    Ok(())
}

/// One session, one round, then LOGOUT: what `run` does between two
/// waits, for a one-off collection (and the mailbox bench).
pub async fn collect_once(
    sink: &Sink,
    conn: &Connector,
    cfg: &Folder<'_>,
) -> Result<Round, SourceError> {
    let (mut session, caps) = open(conn, cfg.server).await?;
    let mut validity = None;
    let round = collect(sink, conn, &mut session, cfg, caps, &mut validity, || false).await?;
    let _ = tokio::time::timeout(Duration::from_secs(2), session.logout()).await;
    Ok(round)
}

/// Connects, reads the greeting, STARTTLS when configured, logs in.
async fn open(conn: &Connector, server: &MailServer) -> Result<(Session, Caps), SourceError> {
    let password = match &server.password {
        Secret::OAuth(_) => String::new(),
        secret => secret.read().map_err(SourceError::Password)?,
    };
    let stream = conn.connect().await?;
    let mut client = async_imap::Client::new(stream);
    greeting(conn, &mut client).await?;
    if conn.tls == TlsMode::Starttls {
        conn.deadline(
            "STARTTLS",
            client.run_command_and_check_ok("STARTTLS", None),
        )
        .await?
        .map_err(|e| imap_error(conn, e))?;
        let stream = conn.start_tls(client.into_inner()).await?;
        client = async_imap::Client::new(stream);
    }
    let mut session = if let Secret::OAuth(login) = &server.password {
        sign_in(conn, server, client, &Credential::new(&login.0)).await?
    } else {
        password_login(conn, server, client, &password).await?
    };
    let caps = conn
        .deadline("CAPABILITY", session.capabilities())
        .await?
        .map_err(|e| imap_error(conn, e))?;
    let caps = Caps {
        idle: caps.has_str("IDLE"),
        move_: caps.has_str("MOVE"),
        uidplus: caps.has_str("UIDPLUS"),
    };
    Ok((session, caps))
}

async fn password_login(
    conn: &Connector,
    server: &MailServer,
    client: async_imap::Client<MailStream>,
    password: &str,
) -> Result<Session, SourceError> {
    match conn
        .deadline("LOGIN", client.login(&server.user, password))
        .await?
    {
        Ok(s) => Ok(s),
        Err((ImapError::No(text) | ImapError::Bad(text), _)) => Err(SourceError::Login {
            server: conn.server.clone(),
            user: server.user.clone(),
            detail: text,
        }),
        Err((e, _)) => Err(imap_error(conn, e)),
    }
}

/// AUTHENTICATE with an access token, by the mechanism the server
/// announces; a token the server refuses is renewed once and tried again
/// on the same connection (a token revoked or expired early).
async fn sign_in(
    conn: &Connector,
    server: &MailServer,
    mut client: async_imap::Client<MailStream>,
    cred: &Credential,
) -> Result<Session, SourceError> {
    let offered = auth_mechanisms(conn, &mut client).await?;
    let Some(mech) = Mechanism::choose(offered.iter().map(String::as_str)) else {
        return Err(SourceError::Login {
            server: conn.server.clone(),
            user: server.user.clone(),
            detail: "the server offers neither AUTH=OAUTHBEARER nor AUTH=XOAUTH2".into(),
        });
    };
    if sasl::unsafe_field(&server.user) {
        return Err(SourceError::Password(
            "the login name contains a control character".into(),
        ));
    }
    let mut renew = false;
    loop {
        let token = cred.token(renew).await?;
        let first = mech.initial_response(&server.user, conn.host(), conn.port(), token.secret());
        let auth = TokenAuth {
            first: Some(first),
            after: mech.after_error(),
        };
        match conn
            .deadline("AUTHENTICATE", client.authenticate(mech.name(), auth))
            .await?
        {
            Ok(s) => return Ok(s),
            Err((ImapError::No(_) | ImapError::Bad(_), c)) if !renew => {
                debug!(server = %conn.server, mechanism = mech.name(), "the token was refused; renewing it once");
                client = c;
                renew = true;
            }
            Err((ImapError::No(text) | ImapError::Bad(text), _)) => {
                return Err(SourceError::Login {
                    server: conn.server.clone(),
                    user: server.user.clone(),
                    detail: format!(
                        "{} with a freshly renewed token of [[oauth]] {} ({text}): check that the app may open this mailbox",
                        mech.name(),
                        cred.name()
                    ),
                });
            }
            Err((e, _)) => return Err(imap_error(conn, e)),
        }
    }
}

/// The SASL mechanisms of the server's CAPABILITY (`AUTH=...`), asked
/// after STARTTLS: what a greeting said before it may have been forged.
async fn auth_mechanisms(
    conn: &Connector,
    client: &mut async_imap::Client<MailStream>,
) -> Result<Vec<String>, SourceError> {
    use async_imap::imap_proto::{Capability, Response};
    let (tx, rx) = async_channel::bounded(16);
    conn.deadline(
        "CAPABILITY",
        client.run_command_and_check_ok("CAPABILITY", Some(tx)),
    )
    .await?
    .map_err(|e| imap_error(conn, e))?;
    let mut out = Vec::new();
    while let Ok(r) = rx.try_recv() {
        if let UnsolicitedResponse::Other(data) = r
            && let Response::Capabilities(caps) = data.parsed()
        {
            for c in caps {
                if let Capability::Auth(m) = c {
                    out.push(m.to_string());
                }
            }
        }
    }
    Ok(out)
}

/// The client side of the token exchange: the initial response, then the
/// mechanism's answer to an error challenge.
struct TokenAuth {
    first: Option<String>,
    after: &'static str,
}

impl async_imap::Authenticator for TokenAuth {
    type Response = String;

    fn process(&mut self, _challenge: &[u8]) -> String {
        self.first.take().unwrap_or_else(|| self.after.to_string())
    }
}

async fn greeting(
    conn: &Connector,
    client: &mut async_imap::Client<MailStream>,
) -> Result<(), SourceError> {
    let first = conn
        .deadline("greeting", client.read_response())
        .await?
        .map_err(|e| conn.io_error(e))?;
    let Some(first) = first else {
        return Err(conn
            .io_error(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the server closed the connection before its greeting",
            ))
            .into());
    };
    use async_imap::imap_proto::{Response, Status};
    match first.parsed() {
        Response::Data {
            status: Status::Ok | Status::PreAuth,
            ..
        } => Ok(()),
        _ => Err(SourceError::Protocol {
            server: conn.server.clone(),
            detail: format!(
                "not an IMAP greeting: {}",
                String::from_utf8_lossy(first.borrow_owner())
                    .trim_end()
                    .chars()
                    .take(200)
                    .collect::<String>()
            ),
        }),
    }
}

/// One round: select, take what is new, move or expunge what is taken.
async fn collect(
    sink: &Sink,
    conn: &Connector,
    s: &mut Session,
    cfg: &Folder<'_>,
    caps: Caps,
    last_validity: &mut Option<u32>,
    stop: impl Fn() -> bool,
) -> Result<Round, SourceError> {
    let fail = |e| imap_error(conn, e);
    let mailbox = conn
        .deadline("SELECT", s.select(cfg.folder))
        .await?
        .map_err(fail)?;
    let validity = mailbox.uid_validity.unwrap_or(0);
    if let Some(old) = *last_validity
        && old != validity
    {
        warn!(source = %sink.name, folder = cfg.folder, old, new = validity,
            "the server changed the folder's UIDVALIDITY; its messages are read again and those already stored are recognised by Message-ID and content");
    }
    *last_validity = Some(validity);
    let mut round = Round::default();
    if mailbox.exists == 0 {
        return Ok(round);
    }
    let mut uids: Vec<u32> = conn
        .deadline("UID SEARCH", s.uid_search("UNDELETED"))
        .await?
        .map_err(fail)?
        .into_iter()
        .collect();
    uids.sort_unstable();
    let sizes = sizes(conn, s, &uids).await?;
    let limits = sink.limits();
    let mut rest = &uids[..];
    while !rest.is_empty() {
        let n = batch_len(
            rest.iter().map(|u| sizes.get(u).copied().unwrap_or(0)),
            limits,
            sink.batch_size,
            sink.batch_bytes(),
        );
        let (chunk, tail) = rest.split_at(n.max(1));
        rest = tail;
        let batch = fetch_batch(sink, conn, s, chunk, &sizes, validity, &stop).await?;
        let (fetched, mails): (Vec<u32>, Vec<Fetched>) = batch.into_iter().unzip();
        let taken = sink.take(mails).await?;
        round.taken += taken
            .iter()
            .filter(|t| t.is_stored() && !matches!(t, Taken::AlreadyTaken))
            .count();
        // Committed: now, and only now, the server copies may go (not one
        // that could not be stored: it stays for a later round).
        let done: Vec<u32> = fetched
            .iter()
            .zip(&taken)
            .filter(|(_, t)| t.is_stored())
            .map(|(u, _)| *u)
            .collect();
        if !done.is_empty() {
            remove(conn, s, cfg, caps, &done).await?;
            round.removed += done.len();
        }
        if stop() {
            break;
        }
    }
    Ok(round)
}

/// The messages of one batch, with their UIDs: those within the size limit
/// whole, [`FETCH_GROUP`] per command, larger ones in parts.
async fn fetch_batch(
    sink: &Sink,
    conn: &Connector,
    s: &mut Session,
    chunk: &[u32],
    sizes: &std::collections::HashMap<u32, u64>,
    validity: u32,
    stop: &impl Fn() -> bool,
) -> Result<Vec<(u32, Fetched)>, SourceError> {
    let limits = sink.limits();
    let id = |uid: u32| format!("{validity}:{uid}");
    let (small, large): (Vec<u32>, Vec<u32>) = chunk
        .iter()
        .partition(|u| sizes.get(u).is_none_or(|&n| n <= limits.max_size));
    let mut batch = Vec::with_capacity(chunk.len());
    for group in small.chunks(FETCH_GROUP) {
        let messages: Vec<_> = conn
            .deadline("UID FETCH", async {
                s.uid_fetch(uid_set(group), "(UID BODY.PEEK[])")
                    .await?
                    .try_collect::<Vec<_>>()
                    .await
            })
            .await?
            .map_err(|e| imap_error(conn, e))?;
        for m in messages {
            // A FETCH without the body is a flag change another client
            // made meanwhile; the message comes in a later round.
            if let (Some(uid), Some(body)) = (m.uid, m.body()) {
                let mut read = Capped::new(limits);
                read.push(body);
                batch.push((uid, sink.fetched(id(uid), read)));
            }
        }
        if stop() {
            return Ok(batch);
        }
    }
    for &uid in &large {
        if stop() {
            break;
        }
        let size = sizes.get(&uid).copied().unwrap_or(u64::MAX);
        if let Some(read) = fetch_in_parts(conn, s, uid, size, limits).await? {
            batch.push((uid, sink.fetched(id(uid), read)));
        }
    }
    Ok(batch)
}

/// RFC822.SIZE of each of `uids`, to plan batches before fetching.
async fn sizes(
    conn: &Connector,
    s: &mut Session,
    uids: &[u32],
) -> Result<std::collections::HashMap<u32, u64>, SourceError> {
    let mut out = std::collections::HashMap::with_capacity(uids.len());
    for group in uids.chunks(SIZE_GROUP) {
        let messages: Vec<_> = conn
            .deadline("UID FETCH", async {
                s.uid_fetch(uid_set(group), "(UID RFC822.SIZE)")
                    .await?
                    .try_collect::<Vec<_>>()
                    .await
            })
            .await?
            .map_err(|e| imap_error(conn, e))?;
        for m in messages {
            if let (Some(uid), Some(size)) = (m.uid, m.size) {
                out.insert(uid, u64::from(size));
            }
        }
    }
    Ok(out)
}

/// A message of `size` bytes (RFC822.SIZE), over the size limit, [`PART`]
/// bytes per FETCH, into a [`Capped`]; None when it went away meanwhile
/// (another client).
async fn fetch_in_parts(
    conn: &Connector,
    s: &mut Session,
    uid: u32,
    size: u64,
    limits: crate::intake::ReadLimits,
) -> Result<Option<Capped>, SourceError> {
    let mut read = Capped::new(limits);
    let mut offset: u64 = 0;
    loop {
        // Not past the end: a server may answer NIL there, not "".
        if offset > 0 && offset >= size {
            return Ok(Some(read));
        }
        let query = format!("(UID BODY.PEEK[]<{offset}.{PART}>)");
        let messages: Vec<_> = conn
            .deadline("UID FETCH", async {
                s.uid_fetch(uid.to_string(), &query)
                    .await?
                    .try_collect::<Vec<_>>()
                    .await
            })
            .await?
            .map_err(|e| imap_error(conn, e))?;
        let Some(part) = messages
            .iter()
            .find(|m| m.uid == Some(uid))
            .and_then(|m| m.body())
        else {
            return Ok(None);
        };
        read.push(part);
        offset += part.len() as u64;
        if part.len() < PART as usize {
            return Ok(Some(read));
        }
    }
}

/// Moves `uids` to the processed folder, or deletes them.
async fn remove(
    conn: &Connector,
    s: &mut Session,
    cfg: &Folder<'_>,
    caps: Caps,
    uids: &[u32],
) -> Result<(), SourceError> {
    let fail = |e| imap_error(conn, e);
    let set = uid_set(uids);
    if let Some(target) = cfg.processed_folder {
        if caps.move_ {
            return conn
                .deadline("UID MOVE", s.uid_mv(&set, target))
                .await?
                .map_err(fail);
        }
        conn.deadline("UID COPY", s.uid_copy(&set, target))
            .await?
            .map_err(fail)?;
    }
    conn.deadline("UID STORE", async {
        s.uid_store(&set, "+FLAGS.SILENT (\\Deleted)")
            .await?
            .try_collect::<Vec<_>>()
            .await
    })
    .await?
    .map_err(fail)?;
    // Without UIDPLUS only a plain EXPUNGE exists; it also removes what
    // another client flagged \Deleted in this folder, as that client meant.
    if caps.uidplus {
        conn.deadline("UID EXPUNGE", async {
            s.uid_expunge(&set).await?.try_collect::<Vec<_>>().await
        })
        .await?
        .map_err(fail)?;
    } else {
        conn.deadline("EXPUNGE", async {
            s.expunge().await?.try_collect::<Vec<_>>().await
        })
        .await?
        .map_err(fail)?;
    }
    Ok(())
}

/// Empties the session's channel of unsolicited responses; true when one of
/// them announced messages (EXISTS or RECENT) in the selected folder.
fn new_mail_reported(session: &Session) -> bool {
    use async_imap::types::UnsolicitedResponse as U;
    let mut seen = false;
    while let Ok(r) = session.unsolicited_responses.try_recv() {
        seen |= matches!(r, U::Exists(n) | U::Recent(n) if n > 0);
    }
    seen
}

/// IDLE until the server reports a change, `max` passes, or `stop`.
async fn wait_idle(
    conn: &Connector,
    session: Session,
    max: Duration,
    stop: &mut watch::Receiver<bool>,
) -> Result<Session, SourceError> {
    let mut handle = session.idle();
    conn.deadline("IDLE", handle.init())
        .await?
        .map_err(|e| imap_error(conn, e))?;
    {
        // Dovecot's "* OK Still here" every two minutes resets async-imap's
        // own timeout, so the renewal deadline is kept here.
        let (wait, _interrupt) = handle.wait_with_timeout(max);
        tokio::select! {
            r = wait => match r {
                Ok(IdleResponse::NewData(_)) | Ok(IdleResponse::Timeout) | Ok(IdleResponse::ManualInterrupt) => {}
                Err(e) => return Err(imap_error(conn, e)),
            },
            _ = tokio::time::sleep(max) => {}
            _ = stop.wait_for(|s| *s) => {}
        }
    }
    conn.deadline("DONE", handle.done())
        .await?
        .map_err(|e| imap_error(conn, e))
}

fn imap_error(conn: &Connector, e: ImapError) -> SourceError {
    match e {
        ImapError::Io(io) => conn.io_error(io).into(),
        ImapError::ConnectionLost => conn
            .io_error(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the server closed the connection",
            ))
            .into(),
        other => SourceError::Protocol {
            server: conn.server.clone(),
            detail: other.to_string(),
        },
    }
}

/// A UID set in IMAP syntax, runs compressed: `1:3,7,9:10`.
pub fn uid_set(uids: &[u32]) -> String {
    let mut sorted = uids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out = String::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_sets_compress_runs() {
        let cases: &[(&[u32], &str)] = &[
            (&[], ""),
            (&[5], "5"),
            (&[1, 2, 3], "1:3"),
            (&[3, 1, 2, 7, 9, 10], "1:3,7,9:10"),
            (&[4, 4, 5], "4:5"),
            (&[1, 3, 5], "1,3,5"),
            (&[u32::MAX - 1, u32::MAX], "4294967294:4294967295"),
        ];
        for (uids, want) in cases {
            assert_eq!(uid_set(uids), *want, "{uids:?}");
        }
    }
}
