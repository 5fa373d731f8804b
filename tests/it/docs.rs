//! The manual pages stay in step with the code: every config key of
//! conf/postdesk.toml is in postdesk.toml(5), every command and option of
//! src/cli.rs is in postdesk(8), the examples in both pages are accepted by
//! the real parsers, and both pages format without a groff warning.

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::{CommandFactory, Parser};
use postdesk::commands::cli::Cli;
use postdesk::config::Config;

fn file(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Roff source as a reader sees the words: `\-` is `-`, font changes and
/// zero-width or non-breaking escapes are gone.
fn normalize(roff: &str) -> String {
    let mut s = roff.replace("\\-", "-");
    for esc in ["\\fB", "\\fI", "\\fR", "\\fP", "\\&"] {
        s = s.replace(esc, "");
    }
    s.replace("\\~", " ")
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// `word` occurs in `text` with no letter, digit or `_` on either side.
fn has_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(is_word_char) && !after.is_some_and(is_word_char)
    })
}

/// The heading text of a `.SH`/`.SS` line, quotes removed.
fn heading(line: &str, macro_name: &str) -> Option<String> {
    let rest = line.strip_prefix(macro_name)?.strip_prefix(' ')?;
    let rest = rest.trim();
    let rest = rest
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or(rest);
    Some(rest.replace("\"\"", "\""))
}

/// The lines under the heading for which `wanted` says yes, up to the next
/// heading of the same or a higher level; `None` without such a heading.
fn section(page: &str, levels: &[&str], wanted: impl Fn(&str) -> bool) -> Option<String> {
    let mut out: Option<Vec<&str>> = None;
    for line in page.lines() {
        let head = levels.iter().find_map(|m| heading(line, m));
        match (&mut out, head) {
            (None, Some(h)) if wanted(&h) => out = Some(Vec::new()),
            (Some(_), Some(_)) => break,
            (Some(lines), None) => lines.push(line),
            _ => {}
        }
    }
    out.map(|lines| lines.join("\n"))
}

/// The `.EX` … `.EE` blocks of `text`, as plain text.
fn examples(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in text.lines() {
        match (line.trim_end(), &mut current) {
            (".EX", None) => current = Some(Vec::new()),
            (".EE", Some(lines)) => {
                blocks.push(lines.join("\n"));
                current = None;
            }
            (l, Some(lines)) => lines.push(l),
            _ => {}
        }
    }
    blocks
}

// ------------------------------------------------------------ postdesk.toml(5)

/// Section headers (`[service]`, `[[source]]`) of conf/postdesk.toml, each
/// with the keys that appear under it, active or commented out.
fn reference_config() -> Vec<(String, Vec<String>)> {
    let mut sections: Vec<(String, Vec<String>)> = Vec::new();
    for line in file("conf/postdesk.toml").lines() {
        let line = line.trim();
        if line.starts_with('[') {
            let header = line
                .split('#')
                .next()
                .unwrap_or_default()
                .trim()
                .to_string();
            if !sections.iter().any(|(h, _)| *h == header) {
                sections.push((header, Vec::new()));
            }
            continue;
        }
        let Some((_, keys)) = sections.last_mut() else {
            continue; // the header comment names later sections in prose
        };
        let text = line.trim_start_matches(['#', ' ']);
        let key: String = text.chars().take_while(|&c| is_word_char(c)).collect();
        let rest = text[key.len()..].trim_start();
        if !key.is_empty()
            && key.starts_with(|c: char| c.is_ascii_lowercase())
            && rest.starts_with('=')
            && !rest.starts_with("==")
            && !keys.contains(&key)
        {
            keys.push(key);
        }
    }
    sections
}

#[test]
fn every_config_key_is_in_postdesk_toml_5() {
    let page = normalize(&file("man/postdesk.toml.5"));
    let sections = reference_config();
    let count: usize = sections.iter().map(|(_, k)| k.len()).sum();
    assert!(
        sections.len() >= 5 && count >= 25,
        "conf/postdesk.toml read wrong: {sections:?}"
    );
    let mut missing = Vec::new();
    for (header, keys) in &sections {
        // Each section has its own heading, and its keys are under it.
        let Some(text) = section(&page, &[".SH"], |h| h == header) else {
            missing.push(format!("no .SH \"{header}\" heading"));
            continue;
        };
        for key in keys {
            if !has_word(&text, key) {
                missing.push(format!("{header} {key}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "in conf/postdesk.toml but not in man/postdesk.toml.5: {missing:?}"
    );
}

#[test]
fn every_key_postdesk_toml_5_documents_exists() {
    let page = normalize(&file("man/postdesk.toml.5"));
    let mut stale = Vec::new();
    for (header, keys) in reference_config() {
        let text = section(&page, &[".SH"], |h| h == header).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        // A documented key is the tag of a .TP item: `.BR key " (type…"`.
        for pair in lines.windows(2) {
            if pair[0].trim() != ".TP" {
                continue;
            }
            let mut words = pair[1].split_whitespace();
            if matches!(words.next(), Some(".B" | ".BR")) {
                let tag = words.next().unwrap_or_default();
                if !keys.iter().any(|k| k == tag) {
                    stale.push(format!("{header} {tag}"));
                }
            }
        }
    }
    assert!(
        stale.is_empty(),
        "documented in man/postdesk.toml.5 but not in conf/postdesk.toml: {stale:?}"
    );
}

#[test]
fn postdesk_toml_5_examples_are_valid_configs() {
    let page = normalize(&file("man/postdesk.toml.5"));
    let example = section(&page, &[".SH"], |h| h == "EXAMPLE").expect("an EXAMPLE section");
    let blocks = examples(&example);
    assert!(!blocks.is_empty(), "no .EX block under EXAMPLE");
    for block in blocks {
        if let Err(e) = Config::from_toml(&block, "postdesk.toml.5", Path::new("/etc/postdesk")) {
            panic!("an example in man/postdesk.toml.5 is refused:\n{e}\n---\n{block}");
        }
    }

    // The embedded default shown is the one built in, line for line.
    let shown = section(&page, &[".SH"], |h| h == "EMBEDDED DEFAULT").expect("EMBEDDED DEFAULT");
    let shown: Vec<String> = examples(&shown)
        .concat()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    let built_in: Vec<String> = file("conf/default.toml")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect();
    assert_eq!(
        shown, built_in,
        "man/postdesk.toml.5 EMBEDDED DEFAULT differs from conf/default.toml"
    );
}

// ------------------------------------------------------------ postdesk(8)

/// Every command path (`ticket list`) with its long options, depth first.
fn commands(cmd: &clap::Command, path: &str, out: &mut Vec<(String, Vec<String>)>) {
    let longs = cmd
        .get_arguments()
        .filter(|a| !a.is_hide_set())
        .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
        .collect();
    out.push((path.to_string(), longs));
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let sub_path = format!("{path} {}", sub.get_name()).trim().to_string();
        commands(sub, &sub_path, out);
    }
}

#[test]
fn every_command_and_option_is_in_postdesk_8() {
    let page = normalize(&file("man/postdesk.8"));
    let mut all = Vec::new();
    commands(&Cli::command(), "", &mut all);
    assert!(all.len() >= 10, "{all:?}");
    let mut missing = Vec::new();
    for (path, longs) in &all {
        // The root's options are the global ones; every command has a
        // `.SS "postdesk PATH"` of its own (or a sub-subcommand's heading
        // starts with it, as `postdesk ticket show N`).
        let text = if path.is_empty() {
            section(&page, &[".SH"], |h| h == "GLOBAL OPTIONS")
        } else {
            let name = format!("postdesk {path}");
            let own = section(&page, &[".SH", ".SS"], |h| {
                h == name || h.starts_with(&format!("{name} "))
            });
            // A command whose sub-commands carry everything needs no text.
            own.or_else(|| has_word(&page, &name).then(String::new))
        };
        let Some(text) = text else {
            missing.push(format!("postdesk {path}"));
            continue;
        };
        for long in longs {
            if !has_word(&text, long) {
                missing.push(format!("postdesk {path} {long}"));
            }
        }
        // Each word of the path is named in the SYNOPSIS too.
        let synopsis = section(&page, &[".SH"], |h| h == "SYNOPSIS").unwrap_or_default();
        for word in path.split(' ').filter(|w| !w.is_empty()) {
            if !has_word(&synopsis, word) {
                missing.push(format!("SYNOPSIS: {word}"));
            }
        }
    }
    missing.dedup();
    assert!(
        missing.is_empty(),
        "in src/cli.rs but not in man/postdesk.8: {missing:?}"
    );
}

#[test]
fn postdesk_8_example_command_lines_parse() {
    let page = normalize(&file("man/postdesk.8"));
    let mut checked = 0;
    for block in examples(&page) {
        for line in block.lines() {
            // `postdesk …` at the start of a line, or in an alias's pipe.
            let cmd = match line.split_once("|/usr/bin/") {
                Some((_, piped)) => piped,
                None if line.starts_with("postdesk ") => line,
                None => continue,
            };
            let cmd = cmd.split(['<', '|', '"']).next().unwrap_or_default();
            let argv: Vec<&str> = cmd.split_whitespace().collect();
            if let Err(e) = Cli::try_parse_from(&argv) {
                panic!("man/postdesk.8 example {cmd:?} does not parse:\n{e}");
            }
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} example command lines found");
}

// ------------------------------------------------------------ groff

fn pages() -> Vec<PathBuf> {
    ["man/postdesk.8", "man/postdesk.toml.5"]
        .iter()
        .map(|p| Path::new(env!("CARGO_MANIFEST_DIR")).join(p))
        .collect()
}

#[test]
fn man_pages_format_without_groff_warnings() {
    for page in pages() {
        // groff takes a blank line or a leading space as a break without a
        // warning; man pages use .PP and .sp instead.
        let text = std::fs::read_to_string(&page).unwrap();
        for (n, line) in text.lines().enumerate() {
            assert!(
                !line.trim().is_empty() && !line.starts_with(' '),
                "{}:{}: blank line or leading space",
                page.display(),
                n + 1
            );
        }
        let out = match Command::new("groff")
            .args(["-man", "-ww", "-z"])
            .arg(&page)
            .output()
        {
            Ok(out) => out,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                println!("skipped: groff not installed ({})", page.display());
                continue;
            }
            Err(e) => panic!("cannot run groff: {e}"),
        };
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.trim().is_empty(),
            "groff -man -ww -z {}: {}\n{stderr}",
            page.display(),
            out.status
        );
    }
}

#[test]
fn the_helpers_find_what_is_missing() {
    // The checks above must be able to fail: a page without the key, the
    // option or the heading is caught.
    let page = normalize(
        ".SH \"[intake]\"\n.TP\n.BR batch_size \" (integer)\"\n.SH NEXT\nmax_mime_depth\n",
    );
    let intake = section(&page, &[".SH"], |h| h == "[intake]").unwrap();
    assert!(has_word(&intake, "batch_size"));
    assert!(!has_word(&intake, "max_mime_depth"));
    assert!(!has_word(&intake, "batch"));
    let page = normalize(
        ".SS \"postdesk outbox list\"\n.BI \\-\\-limit \" N\"\n.SS \"postdesk outbox show \\fIID\\fP\"\n",
    );
    let list = section(&page, &[".SH", ".SS"], |h| h == "postdesk outbox list").unwrap();
    assert!(has_word(&list, "--limit"));
    assert!(!has_word(&list, "--limits"));
    assert!(section(&page, &[".SS"], |h| h == "postdesk outbox show ID").is_some());
}

/// Every argument and option of every subcommand, as `(path, name)`, that
/// `--help` shows without a word of help; and every one whose values are a
/// fixed list (a clap `ValueEnum`) that `--help` does not list.
fn unexplained(cmd: &clap::Command, path: &str, out: &mut Vec<String>) {
    for a in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
        let name = a
            .get_long()
            .map(|l| format!("--{l}"))
            .unwrap_or_else(|| a.get_id().to_string());
        if matches!(name.as_str(), "--help" | "--version") {
            continue;
        }
        if a.get_help().is_none() && a.get_long_help().is_none() {
            out.push(format!("{path} {name}: no help text"));
        }
        let values = a.get_possible_values();
        if !values.is_empty() && a.is_hide_possible_values_set() {
            out.push(format!("{path} {name}: its values are hidden"));
        }
    }
    // The usage line names the arguments in the order they are given.
    let usage = cmd.clone().render_usage().to_string();
    let mut at = 0;
    for a in cmd.get_positionals() {
        let name = a
            .get_value_names()
            .and_then(|v| v.first().map(|n| n.to_string()))
            .unwrap_or_else(|| a.get_id().to_string().to_uppercase());
        match usage[at..].find(&name) {
            Some(i) => at += i + name.len(),
            None => out.push(format!("{path}: usage names {name} out of order: {usage}")),
        }
    }
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let sub_path = format!("{path} {}", sub.get_name()).trim().to_string();
        if sub.get_about().is_none() && sub.get_long_about().is_none() {
            out.push(format!("{sub_path}: no help text"));
        }
        unexplained(sub, &sub_path, out);
    }
}

/// An operator reads `--help` before the man page: every subcommand,
/// argument and option says what it is (issue 18).
#[test]
fn every_command_and_option_has_help_text() {
    let mut missing = Vec::new();
    unexplained(&Cli::command(), "postdesk", &mut missing);
    assert!(missing.is_empty(), "without help:\n{}", missing.join("\n"));
}
