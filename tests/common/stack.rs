//! The real mail stack (tests/mailstack: Dovecot + Postfix on 127.0.0.1) as
//! the POP3/IMAP tests and the mailbox bench meet it: addresses, mail sent
//! by SMTP, mail dropped straight into a server Maildir, mailboxes read
//! back over IMAP, and a `postdesk run` child with its log.
//!
//! Every test uses its own addresses: Postfix accepts any recipient and
//! Dovecot's master user opens any mailbox, so tests never share one.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// What start.sh wrote into mailstack.env.
#[derive(Debug, Clone)]
pub struct Stack {
    pub dir: PathBuf,
    pub host: String,
    pub smtp_port: u16,
    pub pop3_port: u16,
    pub pop3s_port: u16,
    pub imap_port: u16,
    pub imaps_port: u16,
    pub ca_cert: PathBuf,
    pub mail_root: PathBuf,
    pub master_suffix: String,
    pub master_password: String,
}

/// The running stack, or None (after saying so) when there is none and
/// none is required; POSTDESK_REQUIRE_MAILSTACK=1 makes a missing stack a
/// failure.
pub fn stack() -> Option<Stack> {
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
    Some(Stack {
        dir: var("MAILSTACK_DIR").into(),
        host: var("MAILSTACK_HOST"),
        smtp_port: port("MAILSTACK_SMTP_PORT"),
        pop3_port: port("MAILSTACK_POP3_PORT"),
        pop3s_port: port("MAILSTACK_POP3S_PORT"),
        imap_port: port("MAILSTACK_IMAP_PORT"),
        imaps_port: port("MAILSTACK_IMAPS_PORT"),
        ca_cert: var("MAILSTACK_CA_CERT").into(),
        mail_root: var("MAILSTACK_MAIL_ROOT").into(),
        master_suffix: var("MAILSTACK_MASTER_USER_SUFFIX"),
        master_password: var("MAILSTACK_MASTER_PASSWORD"),
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

/// `postdesk run` as a child, its stderr in a file.
pub struct Daemon {
    pub child: Child,
    pub log: PathBuf,
}

impl Daemon {
    pub fn start(mut cmd: Command, log: &Path) -> Daemon {
        let file = std::fs::File::create(log).unwrap();
        let child = cmd
            .arg("run")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("spawn postdesk run");
        Daemon {
            child,
            log: log.to_path_buf(),
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log has a line containing every one of `parts`.
    pub fn wait_log(&self, parts: &[&str], within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let text = self.log_text();
            if let Some(line) = text.lines().find(|l| parts.iter().all(|p| l.contains(p))) {
                return line.to_string();
            }
            assert!(
                Instant::now() < deadline,
                "no log line with {parts:?} within {within:?}:\n{text}"
            );
            assert!(self.running(), "postdesk run exited early:\n{text}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn running(&self) -> bool {
        let pid = self.child.id();
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| {
                let state = s.rsplit(") ").next().unwrap_or("").chars().next();
                !matches!(state, Some('Z') | Some('X'))
            })
            .unwrap_or(false)
    }

    pub fn signal(&self, sig: i32) {
        // SAFETY: a signal to our own child, whose pid we hold.
        let rc = unsafe { libc::kill(self.child.id() as i32, sig) };
        assert_eq!(rc, 0, "kill {sig}");
    }

    /// SIGTERM, then the exit status and how long the exit took.
    pub fn stop(self) -> (std::process::ExitStatus, Duration, String) {
        self.signal(libc::SIGTERM);
        self.stop_after_signal()
    }

    /// Waits (up to 20 s) for the exit a signal already asked for.
    pub fn stop_after_signal(mut self) -> (std::process::ExitStatus, Duration, String) {
        let t = Instant::now();
        let deadline = t + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status, t.elapsed(), self.log_text());
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "postdesk run did not exit within 20 s of SIGTERM:\n{}",
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Polls `f` every 20 ms until it returns Some, up to `within`.
pub fn wait_until<T>(what: &str, within: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}
