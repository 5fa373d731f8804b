//! The marker postdesk writes as the last line of every mail it sends,
//! `[ref <ref>]`, and how to find it again in a reply however the writer's
//! client passed it on: quoted (`> [ref …]`), wrapped (`[ref` at a line end,
//! the rest on the next, quoted line), or HTML-escaped (`&#91;ref&nbsp;…&#93;`).
//! The scan is one pass over the text with bounded look-around per hit.

/// Length of a ref: 12 characters of lower-case RFC 4648 base32.
const REF_LEN: usize = 12;
/// Most bytes of spacing, quote marks or entities between the parts.
const MAX_GAP: usize = 48;

/// The marker line postdesk puts in every mail it sends: `[ref <ref>]`,
/// where <ref> is 12 chars of lower-case base32 ([a-z2-7]{12}).
pub fn marker_line(r: &str) -> String {
    format!("[ref {r}]")
}

/// The refs of the markers found in `text` (quoted or not, also when a
/// client wrapped or HTML-escaped them), in order, without repeats.
pub fn marker_refs(text: &str) -> Vec<String> {
    let mut refs: Vec<String> = Vec::new();
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(at) = text[from..].find("ref").map(|i| from + i) {
        from = at + 3;
        if !opens_before(&bytes[..at]) {
            continue;
        }
        if let Some((r, end)) = ref_after(text, at + 3)
            && !refs.iter().any(|seen| seen == r)
        {
            refs.push(r.to_string());
            from = end;
        }
    }
    refs
}

/// Does this line (quote marks allowed) end with a marker, or with the first
/// half of one wrapped onto the next line (`[ref`)? The marker is the last
/// line of our mail; a client that re-flows paragraphs may have joined it to
/// the line above, so whatever precedes it on the line is ours too.
pub(super) fn is_marker_line(line: &str) -> bool {
    let t = line.trim_end();
    if !t.contains("ref") {
        return false;
    }
    if t.ends_with("[ref") {
        return true;
    }
    let mut start = t.len().saturating_sub(2 * MAX_GAP);
    while !t.is_char_boundary(start) {
        start -= 1;
    }
    let tail = &t[start..];
    marker_refs(tail)
        .last()
        .is_some_and(|r| closes_at_end(tail, r))
}

/// Is the marker of `r` the last thing in `s`?
fn closes_at_end(s: &str, r: &str) -> bool {
    s.rfind(r).is_some_and(|at| {
        let after = s[at + r.len()..].trim();
        let after = after.strip_prefix("&nbsp;").unwrap_or(after).trim();
        CLOSERS.contains(&after)
    })
}

/// The second half of a wrapped marker: the ref and `]` alone on the line.
pub(super) fn is_marker_tail(line: &str) -> bool {
    let t = line
        .trim_start_matches(|c: char| c == '>' || c.is_whitespace())
        .trim_end();
    t.strip_suffix(']')
        .is_some_and(|r| r.len() == REF_LEN && r.bytes().all(is_base32))
}

fn is_base32(b: u8) -> bool {
    b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b)
}

/// Does an opening bracket (maybe escaped) end `before`, spaces allowed?
fn opens_before(before: &[u8]) -> bool {
    let start = before.len().saturating_sub(MAX_GAP);
    let mut b = &before[start..];
    while let Some((last, rest)) = b.split_last() {
        if *last == b' ' || *last == b'\t' {
            b = rest;
        } else {
            break;
        }
    }
    b.ends_with(b"[")
        || [&b"&#91;"[..], b"&#x5b;", b"&#x5B;", b"&lbrack;", b"&lsqb;"]
            .iter()
            .any(|e| b.ends_with(e))
}

/// After "ref": the gap, the 12 characters, the gap and the closing bracket.
/// Returns the ref and the byte offset after the bracket.
fn ref_after(text: &str, at: usize) -> Option<(&str, usize)> {
    let start = skip_gap(text, at);
    if start == at {
        return None;
    }
    let r = text.get(start..start + REF_LEN)?;
    if !r.bytes().all(is_base32) {
        return None;
    }
    let after = start + REF_LEN;
    if text[after..].starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return None;
    }
    let close = skip_gap(text, after);
    let rest = &text[close..];
    CLOSERS
        .iter()
        .find(|e| rest.starts_with(**e))
        .map(|e| (r, close + e.len()))
}

/// A closing bracket, as text or escaped.
const CLOSERS: &[&str] = &["]", "&#93;", "&#x5d;", "&#x5D;", "&rbrack;", "&rsqb;"];

/// Skips spaces, line ends with the next line's quote marks, and escaped
/// spaces, up to `MAX_GAP` bytes; returns where the gap ends.
fn skip_gap(text: &str, at: usize) -> usize {
    let mut i = at;
    let limit = (at + MAX_GAP).min(text.len());
    while i < limit {
        let rest = &text[i..];
        if let Some(e) = ["&nbsp;", "&#160;", "&#32;", "&#xa0;", "&#xA0;"]
            .iter()
            .find(|e| rest.starts_with(**e))
        {
            i += e.len();
            continue;
        }
        match rest.chars().next() {
            Some(c) if c.is_whitespace() || c == '>' => i += c.len_utf8(),
            _ => break,
        }
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_found_however_they_travel() {
        let r = "abcdefgh2345";
        assert_eq!(marker_line(r), "[ref abcdefgh2345]");
        assert_eq!(marker_refs(&marker_line(r)), vec![r]);
        let text = "Hi\n> [ref abcdefgh2345]\n>> [ref\n>> zzzzzzzz7777]\n\
                    &#91;ref&nbsp;qqqqqqqq2222&#93; [ref abcdefgh2345]";
        assert_eq!(
            marker_refs(text),
            vec!["abcdefgh2345", "zzzzzzzz7777", "qqqqqqqq2222"]
        );
        // Not refs: upper case, wrong length, no bracket, digits 0/1/8/9.
        for text in [
            "[ref ABCDEFGH2345]",
            "[ref abcdefgh234]",
            "[ref abcdefgh23456]",
            "ref abcdefgh2345]",
            "[ref abcdefgh2340]",
            "[reference abcdefgh2345]",
            "[ref",
        ] {
            assert!(marker_refs(text).is_empty(), "{text}");
        }
    }

    #[test]
    fn marker_lines() {
        assert!(is_marker_line("[ref abcdefgh2345]"));
        assert!(is_marker_line(">> [ref abcdefgh2345]"));
        assert!(is_marker_line("> [ref"));
        assert!(is_marker_tail("> abcdefgh2345]"));
        assert!(is_marker_line("-- ACME Support [ref abcdefgh2345]"));
        assert!(!is_marker_line("[ref abcdefgh2345] and more words"));
        assert!(!is_marker_line("a reference to nothing"));
    }
}
