//! Safe file names for attachments written to disk (`ticket attachments`).
//! A name comes from a sender: it may climb out of the directory (`../`,
//! an absolute path, a Windows drive), carry NUL or control characters,
//! be a device name Windows reserves, be thousands of bytes long, or
//! repeat another attachment's name. The result is always one plain
//! component, at most [`MAX_NAME_BYTES`] long, distinct from the others.

use std::collections::HashSet;

/// Most file systems allow 255 bytes; room is left for a ` (N)` suffix.
pub const MAX_NAME_BYTES: usize = 200;

/// Names Windows gives to devices, with any extension (`con.txt` too).
const RESERVED: &[&str] = &[
    "con", "prn", "aux", "nul", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8",
    "com9", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9",
];

/// A safe name for the attachment `name` (None: it had none), the
/// `index`-th of its message (from 1), not in `taken`; it is added there.
pub fn safe_file_name(name: Option<&str>, index: usize, taken: &mut HashSet<String>) -> String {
    let base = clean(name.unwrap_or_default());
    let base = if base.is_empty() {
        format!("attachment-{index}")
    } else {
        base
    };
    let (stem, ext) = split_ext(&base);
    let mut candidate = base.clone();
    let mut n = 1;
    // Taken is compared case-insensitively: two names differing only in
    // case are one file on macOS and Windows.
    while taken.contains(&candidate.to_lowercase()) {
        n += 1;
        candidate = format!("{stem} ({n}){ext}");
    }
    taken.insert(candidate.to_lowercase());
    candidate
}

/// One component: the last part of any path, without characters that are
/// unsafe or reserved on common file systems, never `.`/`..`/hidden.
fn clean(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    // A drive prefix such as `C:` is dropped with the colon below.
    let kept: String = last
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*') {
                '_'
            } else {
                c
            }
        })
        .collect();
    let trimmed = kept
        .trim_start_matches(['.', ' ', '_'])
        .trim_end_matches(['.', ' '])
        .to_string();
    if trimmed.chars().all(|c| c == '_') {
        return String::new();
    }
    let (stem, _) = split_ext(&trimmed);
    if RESERVED.contains(&stem.to_ascii_lowercase().as_str()) {
        return shorten(&format!("_{trimmed}"));
    }
    shorten(&trimmed)
}

/// `name` cut to [`MAX_NAME_BYTES`] at a character boundary, keeping a
/// short extension.
fn shorten(name: &str) -> String {
    if name.len() <= MAX_NAME_BYTES {
        return name.to_string();
    }
    let (stem, ext) = split_ext(name);
    let ext = if ext.len() <= 16 { ext } else { "" };
    let mut cut = MAX_NAME_BYTES - ext.len();
    while !stem.is_char_boundary(cut.min(stem.len())) {
        cut -= 1;
    }
    format!("{}{ext}", &stem[..cut.min(stem.len())])
}

/// (`report`, `.pdf`) of `report.pdf`; a leading dot is no extension.
fn split_ext(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attacker_names_become_one_plain_component() {
        let long = "a".repeat(5000) + ".pdf";
        let long_utf8 = "é".repeat(300) + ".txt";
        for (raw, want) in [
            (Some("report.pdf"), "report.pdf"),
            (Some("../../etc/passwd"), "passwd"),
            (Some("/etc/shadow"), "shadow"),
            (Some("..\\..\\Windows\\system.ini"), "system.ini"),
            (Some("C:\\boot.ini"), "boot.ini"),
            (Some("C:boot.ini"), "C_boot.ini"),
            (Some(".."), "attachment-3"),
            (Some("."), "attachment-3"),
            (Some("dir/"), "attachment-3"),
            (Some(".bashrc"), "bashrc"),
            (Some("a\0b.txt"), "a_b.txt"),
            (Some("line\r\nbreak.txt"), "line__break.txt"),
            (Some("\u{1b}[31mred.txt"), "[31mred.txt"),
            (Some("CON"), "_CON"),
            (Some("nul.txt"), "_nul.txt"),
            (Some("Com1.log"), "_Com1.log"),
            (Some("console.txt"), "console.txt"),
            (Some("what?.txt"), "what_.txt"),
            (Some("trailing. . "), "trailing"),
            (Some("   "), "attachment-3"),
            (Some(""), "attachment-3"),
            (None, "attachment-3"),
            (Some("facture été.pdf"), "facture été.pdf"),
            (Some("日本語.txt"), "日本語.txt"),
        ] {
            let got = safe_file_name(raw, 3, &mut HashSet::new());
            assert_eq!(got, want, "{raw:?}");
        }
        let got = safe_file_name(Some(&long), 1, &mut HashSet::new());
        assert_eq!(got.len(), MAX_NAME_BYTES);
        assert!(got.ends_with(".pdf"));
        let got = safe_file_name(Some(&long_utf8), 1, &mut HashSet::new());
        assert!(
            got.len() <= MAX_NAME_BYTES && got.ends_with(".txt"),
            "{got}"
        );
    }

    #[test]
    fn duplicates_get_a_number_whatever_their_case() {
        let mut taken = HashSet::new();
        let names: Vec<String> = [
            Some("scan.pdf"),
            Some("scan.pdf"),
            Some("SCAN.pdf"),
            Some("../scan.pdf"),
            None,
            None,
            Some("attachment-5"),
        ]
        .iter()
        .enumerate()
        .map(|(i, n)| safe_file_name(*n, i + 1, &mut taken))
        .collect();
        assert_eq!(
            names,
            [
                "scan.pdf",
                "scan (2).pdf",
                "SCAN (3).pdf",
                "scan (4).pdf",
                "attachment-5",
                "attachment-6",
                "attachment-5 (2)",
            ]
        );
    }
}
