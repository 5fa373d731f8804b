//! README's "Try it" runs as written: the daemon on the embedded default
//! (its first `sh` block), then each line of the second block in a shell,
//! in a fresh directory holding `tests/mail/`, with `cargo run --release --`
//! standing for the built binary. What the lines promise is checked: the
//! receipt and the staff notification, then the staff answer (to the
//! notification) relayed to the customer without its command line.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::support::{Daemon, wait_until};
use mail_parser::MessageParser;

const CARGO_RUN: &str = "cargo run --release --";

/// The fenced `sh` blocks of README.md, in order.
fn sh_blocks() -> Vec<Vec<String>> {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let mut blocks = Vec::new();
    let mut current: Option<Vec<String>> = None;
    for line in readme.lines() {
        match (line.trim(), &mut current) {
            ("```sh", None) => current = Some(Vec::new()),
            ("```", Some(lines)) => {
                blocks.push(std::mem::take(lines));
                current = None;
            }
            (_, Some(lines)) => lines.push(line.to_string()),
            _ => {}
        }
    }
    blocks
}

/// The command of a README line: its trailing `# comment` cut, `cargo run`
/// replaced by the binary.
fn command_of(line: &str) -> String {
    let cut = match line.find(" # ") {
        Some(i) => &line[..i],
        None => line,
    };
    cut.trim()
        .replace(CARGO_RUN, env!("CARGO_BIN_EXE_postdesk"))
}

/// The mails in the sent Maildir: (recipient header, subject, text).
fn sent(dir: &Path) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for sub in ["new", "cur"] {
        let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
            continue;
        };
        for e in entries {
            let raw = std::fs::read(e.unwrap().path()).unwrap();
            let m = MessageParser::default()
                .parse(&raw)
                .expect("sent mail parses");
            let to = m
                .to()
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .unwrap_or_default()
                .to_string();
            let subject = m.subject().unwrap_or_default().to_string();
            let text = m.body_text(0).unwrap_or_default().replace("\r\n", "\n");
            out.push((to, subject, text));
        }
    }
    out
}

#[test]
fn the_readme_walkthrough_does_what_it_says() {
    if Path::new("/etc/postdesk/postdesk.toml").exists() {
        println!(
            "skipped: /etc/postdesk/postdesk.toml exists, so postdesk would not use its embedded default"
        );
        return;
    }
    let blocks = sh_blocks();
    assert!(blocks.len() >= 3, "README has the run, try and test blocks");
    assert_eq!(
        blocks[0],
        [format!("{CARGO_RUN} run")],
        "the first command runs the daemon"
    );
    assert_eq!(
        blocks.last().unwrap(),
        &["bash tests/run.sh".to_string()],
        "the last runs the tests"
    );

    let dir = tempfile::tempdir().unwrap();
    let here: PathBuf = dir.path().to_path_buf();
    let mail = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mail");
    std::fs::create_dir_all(here.join("tests/mail")).unwrap();
    for e in std::fs::read_dir(&mail).unwrap() {
        let p = e.unwrap().path();
        if !p.is_file() {
            continue; // fixtures of other tests (tests/mail/openpgp/)
        }
        std::fs::copy(&p, here.join("tests/mail").join(p.file_name().unwrap())).unwrap();
    }

    let mut cmd = Command::new(env!("CARGO_BIN_EXE_postdesk"));
    cmd.current_dir(&here)
        .env_remove("POSTDESK_CONFIG")
        .env_remove("NOTIFY_SOCKET")
        .env("RUST_LOG", "info");
    let daemon = Daemon::start(cmd, &here.join("daemon.log"));
    daemon.wait_log(&["postdesk running"], Duration::from_secs(20));
    assert!(
        !daemon.log_text().contains("told to nobody"),
        "the embedded default has a staff side"
    );

    let sent_dir = here.join("var/sent");
    let mut drops = 0;
    for line in &blocks[1] {
        let command = command_of(line);
        if command.is_empty() {
            continue;
        }
        let out = Command::new("sh")
            .arg("-c")
            .arg(&command)
            .current_dir(&here)
            .env_remove("POSTDESK_CONFIG")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "README line {line:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            daemon.log_text()
        );
        // A line that drops a mail into the inbox: a copy, or an answer.
        if command.starts_with("cp ") || command.starts_with("sh tests/mail/answer.sh") {
            drops += 1;
            // The daemon takes the file, then delivers what it caused.
            let want = if drops == 1 { 2 } else { 3 };
            wait_until(
                &format!("{want} mails in var/sent after {line:?}"),
                Duration::from_secs(20),
                || (sent(&sent_dir).len() >= want).then_some(()),
            );
            let mails = sent(&sent_dir);
            assert_eq!(mails.len(), want, "{mails:#?}");
            if drops == 1 {
                assert!(
                    mails
                        .iter()
                        .any(|(to, subject, _)| to == "ann@customer.example"
                            && subject.contains("[SUPPORT #1]")),
                    "the receipt: {mails:#?}"
                );
                assert!(
                    mails.iter().any(|(to, _, text)| to == "staff@localhost"
                        && text.contains("since this morning my mailbox says it is full")),
                    "the staff notification: {mails:#?}"
                );
            } else {
                let relay = mails
                    .iter()
                    .find(|(to, _, text)| {
                        to == "ann@customer.example" && text.contains("quota counter was stuck")
                    })
                    .unwrap_or_else(|| panic!("the relay to Ann: {mails:#?}"));
                assert!(!relay.2.contains("#priority"), "{}", relay.2);
                assert!(relay.2.contains("Sam"), "signed: {}", relay.2);
            }
        }
        if command.ends_with("ticket show 1") {
            assert!(stdout.contains("My mailbox is full"), "{stdout}");
            assert!(
                stdout.contains("Sam"),
                "the staff reply in the history: {stdout}"
            );
        }
    }
    assert_eq!(drops, 2, "the README drops two mails");
    let (status, _, log) = daemon.stop();
    assert!(status.success(), "{log}");
}
