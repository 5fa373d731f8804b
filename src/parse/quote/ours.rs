//! Recognising postdesk's own mail inside a reply by its words, whatever the
//! writer's client did to the lines: `> ` prefixes, re-wrapping to another
//! width, changed whitespace, HTML converted back to text. Both sides are cut
//! into words (runs of letters and digits, lower case); the mails postdesk
//! sent give a set of hashed word 4-grams (w-shingling, as near-duplicate
//! detection does), and a stretch of the reply is ours only when a run of at
//! least `MIN_RUN` consecutive words is covered by those 4-grams. A short
//! common line ("Thanks", "Hello,") is never a run of its own, so the writer's
//! own words are not dropped because they happen to occur in ours.

use std::collections::HashSet;

/// Words per shingle.
const N: usize = 4;
/// Fewest consecutive covered words that make a stretch ours.
const MIN_RUN: usize = 8;
/// Bytes of each mail of ours that are indexed (its top: what a reply quotes first).
const MAX_OURS_BYTES: usize = 256 << 10;
/// Words of the reply that are compared (bounded work on huge replies).
pub(super) const MAX_TEXT_WORDS: usize = 50_000;

/// FNV-1a over the lower-cased characters of one word.
fn word_hash(word: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for c in word.chars().flat_map(char::to_lowercase) {
        let mut buf = [0u8; 4];
        for &b in c.encode_utf8(&mut buf).as_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// The words of `s`, as hashes.
pub(super) fn words(s: &str) -> impl Iterator<Item = u64> + '_ {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(word_hash)
}

fn shingle(window: &[u64]) -> u64 {
    window.iter().fold(0x9e37_79b9_7f4a_7c15_u64, |h, &w| {
        (h ^ w).rotate_left(23).wrapping_mul(0xff51_afd7_ed55_8ccd)
    })
}

/// The shingles of the mails postdesk sent, and their words as one line
/// each, for the substring test on short quoted lines.
pub(super) struct Ours {
    shingles: HashSet<u64>,
    /// Each mail's words, lower case, joined by single spaces and wrapped in spaces.
    flat: Vec<String>,
}

impl Ours {
    pub(super) fn new(ours: &[&str]) -> Ours {
        let mut shingles = HashSet::new();
        let mut flat = Vec::new();
        for mail in ours {
            let mail = prefix(mail, MAX_OURS_BYTES);
            let hashes: Vec<u64> = words(mail).collect();
            shingles.extend(hashes.windows(N).map(shingle));
            flat.push(flatten(mail));
        }
        Ours { shingles, flat }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.flat.is_empty()
    }

    /// Which of `seq`'s words lie in a stretch of at least `MIN_RUN`
    /// consecutive words covered by our shingles.
    pub(super) fn covered(&self, seq: &[u64]) -> Vec<bool> {
        let mut hit = vec![false; seq.len()];
        for (i, window) in seq.windows(N).enumerate() {
            if self.shingles.contains(&shingle(window)) {
                hit[i..i + N].iter_mut().for_each(|h| *h = true);
            }
        }
        let mut start = 0;
        while start < hit.len() {
            let len = hit[start..].iter().take_while(|&&h| h).count();
            if len > 0 && len < MIN_RUN {
                hit[start..start + len].iter_mut().for_each(|h| *h = false);
            }
            start += len.max(1);
        }
        hit
    }

    /// Does any shingle of these words occur in ours, or, with fewer words
    /// than a shingle, do the words occur in this order in one of ours? For
    /// quoted text, where showing a line of ours would be the harm.
    pub(super) fn touches(&self, text: &str) -> bool {
        let seq: Vec<u64> = words(text).collect();
        if seq.len() >= N {
            return seq.windows(N).any(|w| self.shingles.contains(&shingle(w)));
        }
        let needle = flatten(text);
        needle.trim().is_empty() || self.flat.iter().any(|f| f.contains(&needle))
    }
}

/// The words of `s`, lower case, each followed and preceded by one space.
fn flatten(s: &str) -> String {
    let mut out = String::from(" ");
    for w in s
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        out.extend(w.chars().flat_map(char::to_lowercase));
        out.push(' ');
    }
    out
}

/// At most `max` bytes of `s`, cut at a character boundary.
fn prefix(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOTE: &str = "Alice added an internal note to ticket #7 (not sent to the customer).\n\n\
                        #note discount negotiated, do not mention it to the customer\n";

    #[test]
    fn runs_of_words_match_and_short_lines_do_not() {
        let ours = Ours::new(&[NOTE]);
        let rewrapped: Vec<u64> =
            words("Alice added an internal note\nto ticket #7 (not sent to\nthe customer).")
                .collect();
        assert!(ours.covered(&rewrapped).iter().all(|&c| c));
        let mine: Vec<u64> = words("Thanks, the customer. Not sent to the customer yet").collect();
        assert!(ours.covered(&mine).iter().all(|&c| !c));
        assert!(ours.touches("> discount negotiated, do"));
        assert!(ours.touches("not mention"));
        assert!(!ours.touches("the printer is on fire"));
    }
}
