//! The real mail stack (tests/mailstack: Dovecot + Postfix on 127.0.0.1) as
//! the `stack` tests meet it: its ports and files (from the MAILSTACK_*
//! variables of `DIR/mailstack.env`, which tests/run-with-mailstack.sh
//! exports), addresses, mail sent by SMTP, mail dropped straight into a
//! server Maildir, mailboxes read back over IMAP.
//!
//! Every test uses its own addresses: Postfix accepts any recipient and
//! Dovecot's master user opens any mailbox, so tests never share one. The
//! one test that stops the servers takes the stack alone
//! ([`stack_alone`]); every other test shares it ([`stack`]).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// What start.sh wrote into mailstack.env, and this test's turn at it.
#[derive(Debug, Clone)]
pub struct Stack {
    pub dir: PathBuf,
    pub host: String,
    pub smtp_port: u16,
    pub smtps_port: u16,
    pub submission_port: u16,
    pub pop3_port: u16,
    pub pop3s_port: u16,
    pub imap_port: u16,
    pub imaps_port: u16,
    pub ca_cert: PathBuf,
    pub mail_root: PathBuf,
    pub master_suffix: String,
    pub master_password: String,
    /// support@example.test's password (SMTP AUTH on submission).
    pub support_password: String,
    /// Postfix's config directory, for its own `sendmail -C`.
    pub postfix_config: Option<PathBuf>,
    _turn: Arc<Turn>,
}

/// Shared turns for the tests that use the servers, an exclusive one for
/// the test that stops them: a reader-writer gate whose guard is Send (the
/// stack crosses `.await`s in the transport tests).
static GATE: (Mutex<i32>, Condvar) = (Mutex::new(0), Condvar::new());

#[derive(Debug)]
struct Turn {
    exclusive: bool,
}

impl Turn {
    fn take(exclusive: bool) -> Turn {
        let (lock, cv) = &GATE;
        let mut holders = lock.lock().unwrap_or_else(|e| e.into_inner());
        // > 0: that many shared turns; -1: one exclusive turn.
        while if exclusive {
            *holders != 0
        } else {
            *holders < 0
        } {
            holders = cv.wait(holders).unwrap_or_else(|e| e.into_inner());
        }
        *holders = if exclusive { -1 } else { *holders + 1 };
        Turn { exclusive }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let (lock, cv) = &GATE;
        let mut holders = lock.lock().unwrap_or_else(|e| e.into_inner());
        *holders = if self.exclusive { 0 } else { *holders - 1 };
        cv.notify_all();
    }
}

/// The running stack, shared with the other tests, or None (after saying
/// so) when there is none and none is required; POSTDESK_REQUIRE_MAILSTACK=1
/// makes a missing stack a failure.
pub fn stack() -> Option<Stack> {
    read_env(false)
}

/// The running stack for this test alone: it waits until no other test
/// uses the servers, and keeps them off until it is dropped. For a test
/// that stops and starts them.
pub fn stack_alone() -> Option<Stack> {
    read_env(true)
}

fn read_env(exclusive: bool) -> Option<Stack> {
    if std::env::var_os("MAILSTACK_SMTP_PORT").is_none() {
        if std::env::var("POSTDESK_REQUIRE_MAILSTACK").as_deref() == Ok("1") {
            panic!(
                "POSTDESK_REQUIRE_MAILSTACK=1 but MAILSTACK_SMTP_PORT is unset: the mail stack did not start"
            );
        }
        println!(
            "skipped: no mail stack (run under tests/run-with-mailstack.sh, see tests/mailstack/README.md)"
        );
        return None;
    }
    let var = |k: &str| {
        std::env::var(k).unwrap_or_else(|_| panic!("{k} is not set (source DIR/mailstack.env)"))
    };
    let port = |k: &str| var(k).parse::<u16>().unwrap_or_else(|e| panic!("{k}: {e}"));
    // MAILSTACK_USERS = "user@domain:password ..."
    let support_password = std::env::var("MAILSTACK_USERS")
        .ok()
        .and_then(|users| {
            users.split_whitespace().find_map(|u| {
                let (user, pw) = u.split_once(':')?;
                user.eq_ignore_ascii_case("support@example.test")
                    .then(|| pw.to_string())
            })
        })
        .unwrap_or_else(|| "support-pw".into());
    let turn = Arc::new(Turn::take(exclusive));
    Some(Stack {
        dir: var("MAILSTACK_DIR").into(),
        host: var("MAILSTACK_HOST"),
        smtp_port: port("MAILSTACK_SMTP_PORT"),
        smtps_port: port("MAILSTACK_SMTPS_PORT"),
        submission_port: port("MAILSTACK_SUBMISSION_PORT"),
        pop3_port: port("MAILSTACK_POP3_PORT"),
        pop3s_port: port("MAILSTACK_POP3S_PORT"),
        imap_port: port("MAILSTACK_IMAP_PORT"),
        imaps_port: port("MAILSTACK_IMAPS_PORT"),
        ca_cert: var("MAILSTACK_CA_CERT").into(),
        mail_root: var("MAILSTACK_MAIL_ROOT").into(),
        master_suffix: var("MAILSTACK_MASTER_USER_SUFFIX"),
        master_password: var("MAILSTACK_MASTER_PASSWORD"),
        support_password,
        postfix_config: std::env::var_os("MAILSTACK_POSTFIX_CONFIG").map(PathBuf::from),
        _turn: turn,
    })
}

/// A name no earlier run used: pid, counter, random bytes (no clock:
/// clippy.toml keeps time in src/domain/clock.rs).
pub fn unique(tag: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let mut rnd = [0u8; 4];
    std::fs::File::open("/dev/urandom")
        .unwrap()
        .read_exact(&mut rnd)
        .unwrap();
    format!(
        "{tag}-{}-{}-{:08x}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        u32::from_le_bytes(rnd)
    )
}

impl Stack {
    /// The login that opens `address`'s mailbox (the master user).
    pub fn login(&self, address: &str) -> String {
        format!("{address}{}", self.master_suffix)
    }

    /// `DIR/mail/<domain>/<local>/Maildir`.
    pub fn maildir(&self, address: &str) -> PathBuf {
        let (local, domain) = address.split_once('@').unwrap();
        self.mail_root
            .join(domain.to_ascii_lowercase())
            .join(local.to_ascii_lowercase())
            .join("Maildir")
    }

    /// Files in the INBOX (new/ and cur/) of `address`.
    pub fn inbox_count(&self, address: &str) -> usize {
        let md = self.maildir(address);
        ["new", "cur"]
            .iter()
            .map(|sub| {
                std::fs::read_dir(md.join(sub))
                    .map(|d| d.count())
                    .unwrap_or(0)
            })
            .sum()
    }

    /// Writes `messages` straight into `address`'s INBOX, as the MTA would
    /// (tmp/, then rename into new/), owned by the mail user. Much faster
    /// than SMTP for thousands of messages.
    pub fn fill_inbox(&self, address: &str, messages: &[Vec<u8>]) {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(&self.mail_root).unwrap();
        let (uid, gid) = (meta.uid(), meta.gid());
        let md = self.maildir(address);
        let mut dir = self.mail_root.clone();
        let rel = md.strip_prefix(&self.mail_root).unwrap().to_path_buf();
        for part in rel.components() {
            dir.push(part);
            if !dir.exists() {
                std::fs::create_dir(&dir).unwrap();
                std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).unwrap();
            }
        }
        for sub in ["tmp", "new", "cur"] {
            let d = md.join(sub);
            if !d.exists() {
                std::fs::create_dir(&d).unwrap();
                std::os::unix::fs::chown(&d, Some(uid), Some(gid)).unwrap();
            }
        }
        let tag = unique("fill");
        for (i, raw) in messages.iter().enumerate() {
            let name = format!("{tag}.{i:06}.postdesk-test");
            let tmp = md.join("tmp").join(&name);
            std::fs::write(&tmp, raw).unwrap();
            std::os::unix::fs::chown(&tmp, Some(uid), Some(gid)).unwrap();
            std::fs::rename(&tmp, md.join("new").join(&name)).unwrap();
        }
    }

    /// Sends one message by SMTP to the stack's Postfix (plain, loopback)
    /// and returns once Postfix has accepted it (250 after DATA).
    pub fn send(&self, from: &str, to: &str, raw: &[u8]) {
        let mut stream = TcpStream::connect((self.host.as_str(), self.smtp_port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let expect = |code: &str, reader: &mut BufReader<TcpStream>| loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            assert!(
                line.starts_with(code),
                "SMTP: expected {code}, got {line:?}"
            );
            if line.as_bytes().get(3) != Some(&b'-') {
                break;
            }
        };
        expect("220", &mut reader);
        for (cmd, code) in [
            ("EHLO postdesk.test".to_string(), "250"),
            (format!("MAIL FROM:<{from}>"), "250"),
            (format!("RCPT TO:<{to}>"), "250"),
            ("DATA".to_string(), "354"),
        ] {
            stream.write_all(format!("{cmd}\r\n").as_bytes()).unwrap();
            expect(code, &mut reader);
        }
        // Dot-stuffing (RFC 5321 4.5.2), CRLF lines.
        let text = String::from_utf8_lossy(raw).replace("\r\n", "\n");
        let mut data = String::new();
        for line in text.trim_end_matches('\n').split('\n') {
            if line.starts_with('.') {
                data.push('.');
            }
            data.push_str(line);
            data.push_str("\r\n");
        }
        data.push_str(".\r\n");
        stream.write_all(data.as_bytes()).unwrap();
        expect("250", &mut reader);
        stream.write_all(b"QUIT\r\n").unwrap();
    }

    /// Every message in `folder` of `address`'s mailbox, read over IMAP
    /// (plain, loopback) with the master login; each is fetched with
    /// BODY.PEEK[] and left where it is.
    pub fn imap_read(&self, address: &str, folder: &str) -> Vec<Vec<u8>> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            use futures_util::TryStreamExt;
            let tcp = tokio::net::TcpStream::connect((self.host.as_str(), self.imap_port))
                .await
                .unwrap();
            let mut client = async_imap::Client::new(tcp);
            client.read_response().await.unwrap();
            let mut session = client
                .login(self.login(address), &self.master_password)
                .await
                .map_err(|(e, _)| e)
                .unwrap();
            let mailbox = match session.select(folder).await {
                Ok(m) => m,
                Err(_) => return Vec::new(),
            };
            if mailbox.exists == 0 {
                return Vec::new();
            }
            let fetched: Vec<_> = session
                .fetch("1:*", "BODY.PEEK[]")
                .await
                .unwrap()
                .try_collect()
                .await
                .unwrap();
            let out = fetched
                .iter()
                .filter_map(|f| f.body().map(<[u8]>::to_vec))
                .collect();
            let _ = session.logout().await;
            out
        })
    }

    /// Whether Postfix's queue still holds a mail for `address` (incoming,
    /// active, deferred, ...): none means every mail Postfix accepted for
    /// it has been handed to Dovecot. Queue files belong to postfix; root
    /// reads them.
    pub fn queued_for(&self, address: &str) -> bool {
        fn walk(dir: &std::path::Path, needle: &[u8]) -> bool {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return false;
            };
            entries.flatten().any(|e| {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, needle)
                } else {
                    std::fs::read(&p)
                        .map(|raw| raw.windows(needle.len()).any(|w| w == needle))
                        .unwrap_or(false)
                }
            })
        }
        let spool = self.dir.join("spool/postfix");
        ["maildrop", "incoming", "active", "deferred", "hold"]
            .iter()
            .any(|q| walk(&spool.join(q), address.as_bytes()))
    }

    /// How many POP3 sessions of `address`'s mailbox have ended, by
    /// Dovecot's log (`pop3(ADDRESS)…: Disconnected: …`): one per round of
    /// a POP3 source, empty rounds included.
    pub fn pop3_sessions(&self, address: &str) -> usize {
        let who = format!("pop3({})", address.to_ascii_lowercase());
        std::fs::read_to_string(self.dir.join("log/dovecot.log"))
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(&who) && l.contains("Disconnected"))
            .count()
    }

    /// Polls `folder` of `address` until a message contains `needle`.
    pub fn wait_for_mail(
        &self,
        address: &str,
        folder: &str,
        needle: &str,
        within: Duration,
    ) -> String {
        let deadline = Instant::now() + within;
        loop {
            for m in self.imap_read(address, folder) {
                let text = String::from_utf8_lossy(&m).into_owned();
                if text.contains(needle) {
                    return text;
                }
            }
            assert!(
                Instant::now() < deadline,
                "no mail containing {needle:?} in {address} {folder} within {within:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// A plain customer message with `id` as its Message-ID (without <>).
pub fn mail(from: &str, to: &str, subject: &str, id: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Customer <{from}>\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n\
         Date: Mon, 16 Nov 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nUser-Agent: Thunderbird/128.0\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}
