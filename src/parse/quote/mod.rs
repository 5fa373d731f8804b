//! Where are the writer's own words in a reply, and what is quoted history?
//!
//! The text is read as lines, each first given a role: blank, the writer's
//! (new), or quoted (`>`). Then one scan finds where unquoted history starts
//! ([`lang`] knows the attribution lines, Outlook header blocks, "Original
//! message" and forward separators, "Sent from my iPhone" lines of the
//! common clients and languages): after such a head, `>` lines are the
//! quote, and unquoted lines are history the client pasted without `>`, up
//! to the end or to postdesk's own marker line (the last line of every mail
//! postdesk sends, see [`mark`]). List footers and disclaimers under the last
//! quote are history too, so they do not turn a top-posted reply into a
//! bottom-posted one. With the mails postdesk sent that the reply answers,
//! [`ours`] also finds our text pasted without any marking.
//!
//! What remains are runs of new text between runs of history. Top-posted and
//! bottom-posted replies keep their new text only; a reply that answers
//! between two or more quotes (inline) keeps, above each answer, the last
//! few lines of the quote it answers as `> ` context, except lines of
//! postdesk's own mail. HTML mail arrives here already converted, its quote
//! regions as `>` lines (see `html`). Work is linear in the text; the
//! language checks run on the first `MAX_ANALYZED_LINES` lines only.

mod lang;
mod mark;
mod ours;

pub use mark::{marker_line, marker_refs};

use lang::{Opening, Strength};
use ours::Ours;

/// Lines (and bytes) that get the language checks; beyond, only `>` counts.
const MAX_ANALYZED_LINES: usize = 5_000;
const MAX_ANALYZED_BYTES: usize = 512 << 10;
/// Quoted lines shown above an inline answer, and the answers that get
/// them (each costs a look through our mails).
const CONTEXT_LINES: usize = 3;
const MAX_CONTEXT_BLOCKS: usize = 200;
/// Lines an Outlook header block may span.
const BLOCK_SPAN: usize = 8;
/// Lines at the end of the text looked at for footers.
const FOOTER_SPAN: usize = 40;
/// Lines after a line in which a `>` line makes a mid-line attribution worth a look.
const QUOTE_NEAR: usize = 4;

/// Splits `text` into (new text, quoted history); see [`split_reply`].
pub fn split_quoted(text: &str) -> (String, String) {
    split_reply(text, &[])
}

/// Like split_quoted, but also treats as history any text that matches one
/// of `ours` (the plain-text bodies of mails postdesk sent that the reply
/// answers): with or without `> ` prefixes, re-wrapped to another width,
/// with whitespace changed, or converted from HTML. Never drops the
/// writer's own words because a short common line ("Thanks", "Hello,")
/// happens to occur in ours: match runs of words (e.g. word n-grams), not
/// single short lines. A quoted marker line ends a block of our mail even
/// when `ours` is empty (the mail's headers and row were lost).
///
/// The new text is the writer's lines (with `> ` context above inline
/// answers); the history is every other line, in order. Line ends become
/// `\n`. A text that is all history gives an empty new text, except a bare
/// forward, whose forwarded message is what the writer sends.
pub fn split_reply(text: &str, ours: &[&str]) -> (String, String) {
    split(text, ours, false)
}

/// Like [`split_reply`], but the `> ` context above an inline answer is
/// kept even where it quotes `ours`: a customer answering our mail line by
/// line, whose staff must see what each answer answers. (A staff member's
/// reply is split with [`split_reply`], so no line of a staff-only mail
/// goes on as context.)
pub fn split_reply_keeping_context(text: &str, ours: &[&str]) -> (String, String) {
    split(text, ours, true)
}

fn split(text: &str, ours: &[&str], keep_context: bool) -> (String, String) {
    let ours = Ours::new(ours);
    let mut reply = Reply::new(logical_lines(text));
    // Our own text first: an unquoted marker then ends a block already known.
    if !ours.is_empty() {
        reply.mark_pasted(&ours);
    }
    reply.mark_history();
    reply.mark_footer();
    reply.trim_decoration();
    let (new, quoted) = reply.render(&ours, keep_context);
    if new.is_empty() && reply.bare_forward() {
        return (reply.lines.join("\n").trim().to_string(), String::new());
    }
    (new, quoted)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Role {
    Blank,
    /// The writer's words.
    New,
    /// A `>` line.
    Quote,
    /// What opens history: attribution, header block, separator.
    Head,
    /// Other history: pasted without `>`, footers, markers, our own text.
    Rest,
}

/// The text's lines (without line ends), with a mid-line attribution
/// ("reply On Wed, … wrote:" before a quote) cut into two lines.
fn logical_lines(text: &str) -> Vec<&str> {
    let raw: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    let quoted: Vec<bool> = raw
        .iter()
        .map(|l| l.trim_start().starts_with('>'))
        .collect();
    let mut out = Vec::with_capacity(raw.len());
    for (i, &line) in raw.iter().enumerate() {
        let near = quoted.iter().skip(i + 1).take(QUOTE_NEAR).any(|&q| q);
        match (i < MAX_ANALYZED_LINES && near && !quoted[i])
            .then(|| inline_attribution(&raw, i))
            .flatten()
        {
            Some(at) => {
                out.push(line[..at].trim_end_matches(|c: char| c == '-' || c.is_whitespace()));
                out.push(&line[at..]);
            }
            None => out.push(line),
        }
    }
    out
}

/// Where an attribution starts after other text on line `i`, when it is
/// sure and a quote follows it.
fn inline_attribution(raw: &[&str], i: usize) -> Option<usize> {
    let line = raw[i];
    for lead in lang::INLINE_LEADS {
        for (at, _) in line.match_indices(lead).filter(|&(at, _)| at > 0) {
            let before = &line[..at];
            if !before.ends_with(|c: char| c.is_whitespace() || c == '-')
                || before
                    .trim_matches(|c: char| c == '-' || c.is_whitespace())
                    .is_empty()
            {
                continue;
            }
            let Some((k, Strength::Strong)) =
                lang::attribution(&line[at..], raw[i + 1..].iter().copied())
            else {
                continue;
            };
            let next = raw[i + 1 + k..].iter().find(|l| !l.trim().is_empty());
            if next.is_some_and(|l| l.trim_start().starts_with('>')) {
                return Some(at);
            }
        }
    }
    None
}

/// A head found at a line: where it ends and, for a separator phrase, which.
struct Head {
    end: usize,
    opening: Option<Opening>,
}

struct Reply<'a> {
    lines: Vec<&'a str>,
    roles: Vec<Role>,
    /// Lines before this get the language checks.
    limit: usize,
    /// The separator phrase of the first head, if it was one.
    first_opening: Option<Opening>,
    first_head_seen: bool,
    /// A marker line of ours was seen (quoted or not), or text of ours.
    marker_seen: bool,
}

impl<'a> Reply<'a> {
    fn new(lines: Vec<&'a str>) -> Self {
        let mut bytes = 0;
        let limit = lines
            .iter()
            .take(MAX_ANALYZED_LINES)
            .take_while(|l| {
                bytes += l.len() + 1;
                bytes <= MAX_ANALYZED_BYTES
            })
            .count();
        let roles = lines
            .iter()
            .map(|l| {
                let t = l.trim();
                if t.is_empty() {
                    Role::Blank
                } else if t.starts_with('>') {
                    Role::Quote
                } else {
                    Role::New
                }
            })
            .collect();
        let mut reply = Reply {
            lines,
            roles,
            limit,
            first_opening: None,
            first_head_seen: false,
            marker_seen: false,
        };
        reply.fix_quote_marks();
        reply
    }

    fn trimmed(&self, i: usize) -> &'a str {
        self.lines.get(i).map_or("", |l| l.trim())
    }

    fn next_content(&self, from: usize) -> Option<usize> {
        (from..self.lines.len()).find(|&j| self.roles[j] != Role::Blank)
    }

    /// `>` that does not quote: a link wrapped after its `<`, arrows around
    /// a link (">>> http://… <<<"); and unquoted lines that continue a quoted
    /// line the client wrapped (a link's tail, a lower-case continuation of a
    /// full-width line).
    fn fix_quote_marks(&mut self) {
        let n = self.lines.len();
        // Supercite's "name> " quotes: two such lines in a row with the same name.
        let names: Vec<Option<&str>> = self.lines.iter().map(|l| supercite_name(l)).collect();
        for i in 0..n {
            let Some(name) = names[i] else { continue };
            let same =
                |j: Option<usize>| j.and_then(|j| names.get(j).copied().flatten()) == Some(name);
            if self.roles[i] == Role::New && (same(i.checked_sub(1)) || same(Some(i + 1))) {
                self.roles[i] = Role::Quote;
            }
        }
        for i in 0..n {
            let t = self.trimmed(i);
            if self.roles[i] != Role::Quote {
                continue;
            }
            let after_open_link = i > 0 && self.roles[i - 1] == Role::New && {
                let prev = self.trimmed(i - 1);
                prev.matches('<').count() > prev.matches('>').count()
            };
            if after_open_link || (t.starts_with(">>>") && t.ends_with("<<<")) {
                self.roles[i] = Role::New;
            }
        }
        for i in 1..n.saturating_sub(1) {
            if self.roles[i] != Role::New
                || self.roles[i - 1] != Role::Quote
                || self.roles[i + 1] != Role::Quote
            {
                continue;
            }
            let t = self.trimmed(i);
            let prev = quote_content(self.lines[i - 1]);
            let first = t.chars().next().unwrap_or(' ');
            if !first.is_alphanumeric() || (prev.chars().count() >= 60 && first.is_lowercase()) {
                self.roles[i] = Role::Quote;
            }
        }
    }

    /// One scan for the heads of history, in order; see the module comment.
    fn mark_history(&mut self) {
        let n = self.lines.len();
        let mut i = 0;
        while i < n {
            if self.roles[i] == Role::Quote && mark::is_marker_line(self.lines[i]) {
                self.marker_seen = true;
            }
            if self.roles[i] != Role::New || i >= self.limit {
                i += 1;
                continue;
            }
            let line = self.lines[i];
            if mark::is_marker_line(line) {
                i = self.our_block_ends(i);
                continue;
            }
            if lang::sent_from(line) {
                self.first_head_seen = true;
                i = self.history_to_end(i);
                continue;
            }
            let Some(head) = self.head_at(i) else {
                i += 1;
                continue;
            };
            if !self.first_head_seen {
                self.first_head_seen = true;
                self.first_opening = head.opening;
            }
            for k in i..=head.end {
                if self.roles[k] != Role::Blank {
                    self.roles[k] = Role::Head;
                }
            }
            i = match self.next_content(head.end + 1) {
                Some(j) if self.roles[j] == Role::Quote => j,
                Some(_) => self.history_to_end(head.end + 1),
                None => n,
            };
        }
    }

    /// An unquoted marker line at `i` ends a block of our mail that no head
    /// announced: the lines above it, up to the previous history, are ours
    /// (they cannot be told from the writer's without the mail itself, and
    /// showing our text to the wrong side is the worse mistake).
    fn our_block_ends(&mut self, i: usize) -> usize {
        self.marker_seen = true;
        let mut k = i;
        while k > 0 && matches!(self.roles[k - 1], Role::New | Role::Blank) {
            k -= 1;
        }
        for j in k..=i {
            if self.roles[j] == Role::New {
                self.roles[j] = Role::Rest;
            }
        }
        self.after_marker(i)
    }

    /// The line after the marker at `i` (and after its wrapped second half).
    fn after_marker(&mut self, i: usize) -> usize {
        let tail = i + 1;
        if self.trimmed(i).ends_with("[ref")
            && tail < self.lines.len()
            && mark::is_marker_tail(self.lines[tail])
        {
            self.roles[tail] = Role::Rest;
            return tail + 1;
        }
        tail
    }

    /// History pasted without `>` from `from`: to the end, or to the end of
    /// our own mail (its marker line), after which the writer may go on.
    fn history_to_end(&mut self, from: usize) -> usize {
        let n = self.lines.len();
        for i in from..n {
            if self.roles[i] != Role::Blank {
                self.roles[i] = Role::Rest;
            }
            let t = self.trimmed(i);
            if !t.starts_with('>') && mark::is_marker_line(t) {
                self.marker_seen = true;
                return self.after_marker(i);
            }
        }
        n
    }

    fn head_at(&self, i: usize) -> Option<Head> {
        let line = self.lines[i];
        if lang::is_separator(line) {
            // Outlook's rule, Hotmail's dashes: only above a head.
            let j = self.next_content(i + 1).filter(|&j| j <= i + 3)?;
            return self.head_after_separator(j);
        }
        if let Some(opening) = lang::opening(line) {
            let end = self
                .next_content(i + 1)
                .filter(|&j| j <= i + 2)
                .and_then(|j| self.header_block(j))
                .unwrap_or(i);
            return Some(Head {
                end,
                opening: Some(opening),
            });
        }
        if let Some(end) = self.header_block(i) {
            return Some(Head { end, opening: None });
        }
        let (k, strength) = lang::attribution(line, self.lines[i + 1..].iter().copied())?;
        let end = i + k;
        let quote_follows = self
            .next_content(end + 1)
            .is_some_and(|j| self.roles[j] == Role::Quote);
        (strength == Strength::Strong || quote_follows).then_some(Head { end, opening: None })
    }

    fn head_after_separator(&self, j: usize) -> Option<Head> {
        if self.roles[j] != Role::New || lang::is_separator(self.lines[j]) {
            return None;
        }
        match self.header_block_after(j, true) {
            Some(end) => Some(Head { end, opening: None }),
            None => self.head_at(j),
        }
    }

    /// A quoted header block starting at `i` ("From: …", "Sent: …", "To: …",
    /// "Subject: …" in any of the languages, any order): its last line.
    fn header_block(&self, i: usize) -> Option<usize> {
        self.header_block_after(i, false)
    }

    /// A header block; under a separator rule two kinds of field suffice.
    /// Without one, three kinds with a subject, an address or a "Sent:"
    /// label, or two with an address ("From: Paris / To: London / Date: 14
    /// November" is a trip).
    fn header_block_after(&self, i: usize, ruled: bool) -> Option<usize> {
        let (first, mut address) = lang::header_field(self.lines[i])?;
        if !matches!(
            first,
            lang::Field::From | lang::Field::Date | lang::Field::Sent
        ) {
            return None;
        }
        let mut sent = first == lang::Field::Sent;
        let (mut kinds, mut end) = (first.bit() | lang::fields_within(self.lines[i]), i);
        for j in i + 1..self.lines.len().min(i + BLOCK_SPAN) {
            if self.roles[j] == Role::Blank {
                break;
            }
            match lang::header_field(self.lines[j]) {
                Some((field, at)) => {
                    kinds |= field.bit();
                    address |= at;
                    sent |= field == lang::Field::Sent;
                    end = j;
                }
                // A value wrapped onto the next line.
                None if j - end <= 2 => {}
                None => break,
            }
        }
        let count = kinds.count_ones();
        let subject = kinds & lang::Field::Subject.bit() != 0;
        let block = (ruled && count >= 2)
            || (count >= 3 && (subject || address || sent))
            || (count >= 2 && address);
        block.then_some(end)
    }

    /// Paragraphs under the last history that are a list footer or a
    /// disclaimer are history as well.
    fn mark_footer(&mut self) {
        let n = self.lines.len();
        let Some(last) = self
            .roles
            .iter()
            .rposition(|r| matches!(r, Role::Quote | Role::Head | Role::Rest))
        else {
            return;
        };
        let floor = (last + 1).max(n.saturating_sub(FOOTER_SPAN));
        let mut end = n;
        loop {
            // The last paragraph above `end`.
            let Some(stop) = (floor..end).rev().find(|&k| self.roles[k] != Role::Blank) else {
                return;
            };
            let start = (floor..=stop)
                .rev()
                .find(|&k| k == floor || self.roles[k - 1] == Role::Blank)
                .unwrap_or(floor);
            if start == floor && floor > last + 1 {
                return; // may go on above what we look at
            }
            let after_rule = (floor..start)
                .rev()
                .find(|&k| self.roles[k] != Role::Blank)
                .is_some_and(|k| lang::is_separator(self.lines[k]));
            if !self.is_footer(start, stop, after_rule) {
                return;
            }
            for k in start..=stop {
                self.roles[k] = Role::Rest;
            }
            end = start;
        }
    }

    fn is_footer(&self, start: usize, stop: usize, after_rule: bool) -> bool {
        let first = self.trimmed(start);
        if start == stop && lang::is_separator(first) {
            return true;
        }
        let text = self.lines[start..=stop].join("\n");
        if !lang::footer_words(&text) {
            return false;
        }
        let ruled = after_rule || lang::is_separator(first) || first == "--";
        ruled || text.len() >= 200 || lang::footer_words_twice(&text)
    }

    /// Unquoted runs of our own text (pasted with no head, or left after the
    /// checks above) are history.
    fn mark_pasted(&mut self, ours: &Ours) {
        let n = self.lines.len();
        let mut budget = ours::MAX_TEXT_WORDS;
        let mut i = 0;
        while i < n && budget > 0 {
            if self.roles[i] != Role::New {
                i += 1;
                continue;
            }
            let start = i;
            while i < n && matches!(self.roles[i], Role::New | Role::Blank) {
                i += 1;
            }
            let (mut seq, mut owner) = (Vec::new(), Vec::new());
            for k in start..i {
                for w in ours::words(self.lines[k]).take(budget) {
                    seq.push(w);
                    owner.push(k);
                    budget -= 1;
                }
            }
            let covered = ours.covered(&seq);
            // Per line: how many words, how many covered.
            let mut counts = vec![(0usize, 0usize); i - start];
            for (w, &k) in owner.iter().enumerate() {
                counts[k - start].0 += 1;
                counts[k - start].1 += usize::from(covered[w]);
            }
            for (k, &(all, hit)) in (start..i).zip(&counts) {
                if all > 0 && hit == all {
                    self.roles[k] = Role::Rest;
                    self.marker_seen = true;
                }
            }
        }
    }

    /// Lines of only rules or dashes at the edges of new text ("____" above
    /// an Outlook quote, "--" of a signature with nothing under it) are not
    /// the writer's words.
    fn trim_decoration(&mut self) {
        let n = self.lines.len();
        let deco = |l: &str| {
            let t = l.trim();
            !t.is_empty()
                && t.chars().all(|c| {
                    matches!(c, '-' | '_' | '=' | '*' | '~' | '#' | '.') || c.is_whitespace()
                })
        };
        let mut i = 0;
        while i < n {
            if self.roles[i] != Role::New {
                i += 1;
                continue;
            }
            let start = i;
            while i < n && matches!(self.roles[i], Role::New | Role::Blank) {
                i += 1;
            }
            let run: Vec<usize> = (start..i).filter(|&k| self.roles[k] == Role::New).collect();
            // A signature's "-- " above the signature stays.
            let lead = run
                .iter()
                .take_while(|&&k| deco(self.lines[k]) && self.lines[k].trim() != "--")
                .count();
            let trail = run[lead..]
                .iter()
                .rev()
                .take_while(|&&k| deco(self.lines[k]))
                .count();
            for &k in run[..lead].iter().chain(&run[run.len() - trail..]) {
                self.roles[k] = Role::Rest;
            }
        }
    }

    /// A text that is only a forwarded message (no words of the writer, no
    /// mail of ours in it).
    fn bare_forward(&self) -> bool {
        self.first_opening == Some(Opening::Forward) && !self.marker_seen
    }

    fn render(&self, ours: &Ours, keep_context: bool) -> (String, String) {
        let segments = self.segments();
        let answers = segments
            .windows(2)
            .filter(|w| w[0].role != Role::New && w[1].role == Role::New)
            .count();
        // Quotes up to the last quoted marker are our mail.
        let marker_at = (0..self.lines.len())
            .rev()
            .find(|&i| self.roles[i] == Role::Quote && mark::is_marker_line(self.lines[i]));
        let mut blocks = Vec::new();
        let mut in_new = vec![false; self.lines.len()];
        for (k, seg) in segments.iter().enumerate() {
            if seg.role != Role::New {
                continue;
            }
            let mut block = String::new();
            if answers >= 2 && k > 0 && blocks.len() < MAX_CONTEXT_BLOCKS {
                let quote = &segments[k - 1];
                let ours_quote = !keep_context
                    && (marker_at.is_some_and(|m| quote.first <= m)
                        || (!ours.is_empty()
                            && ours.touches(&self.lines[quote.first..=quote.last].join("\n"))));
                if quote.role == Role::Quote && !ours_quote {
                    for line in self.context(quote) {
                        if keep_context || ours.is_empty() || !ours.touches(line) {
                            block.push_str("> ");
                            block.push_str(line);
                            block.push('\n');
                        }
                    }
                }
            }
            block.push_str(&self.lines[seg.first..=seg.last].join("\n"));
            in_new[seg.first..=seg.last]
                .iter_mut()
                .for_each(|b| *b = true);
            blocks.push(block);
        }
        // The history without the new text; where that was cut out, the
        // blank lines on both sides of it become one.
        let mut quoted: Vec<&str> = Vec::new();
        for i in (0..self.lines.len()).filter(|&i| !in_new[i]) {
            let blank = self.roles[i] == Role::Blank;
            if blank && i > 0 && in_new[i - 1] && quoted.last().is_some_and(|l| l.trim().is_empty())
            {
                continue;
            }
            quoted.push(self.lines[i]);
        }
        (
            blocks.join("\n\n"),
            quoted.join("\n").trim_matches('\n').to_string(),
        )
    }

    /// The last lines of a quote's last paragraph, without their `>` marks.
    fn context(&self, quote: &Segment) -> Vec<&'a str> {
        let mut lines: Vec<&'a str> = Vec::new();
        for i in (quote.first..=quote.last).rev() {
            if self.roles[i] != Role::Quote || mark::is_marker_line(self.lines[i]) {
                continue;
            }
            let content = quote_content(self.lines[i]);
            // The quote's attribution (HTML clients quote it too) is not
            // what was answered: it ends the paragraph.
            let attribution =
                !content.is_empty() && lang::attribution(content, std::iter::empty()).is_some();
            if (content.is_empty() || attribution) && !lines.is_empty() {
                break;
            }
            if attribution {
                continue;
            }
            if !content.is_empty() {
                lines.push(content);
            }
            if lines.len() == CONTEXT_LINES {
                break;
            }
        }
        lines.reverse();
        lines
    }

    /// Runs of non-blank lines of one kind (new, quote, other history);
    /// blank lines inside a run belong to it.
    fn segments(&self) -> Vec<Segment> {
        let class = |r: Role| match r {
            Role::Head | Role::Rest => Role::Rest,
            other => other,
        };
        let mut segments: Vec<Segment> = Vec::new();
        for (i, &role) in self.roles.iter().enumerate() {
            if role == Role::Blank {
                continue;
            }
            match segments.last_mut() {
                Some(last) if last.role == class(role) => last.last = i,
                _ => segments.push(Segment {
                    role: class(role),
                    first: i,
                    last: i,
                }),
            }
        }
        segments
    }
}

struct Segment {
    /// New, Quote, or Rest for any other history.
    role: Role,
    first: usize,
    last: usize,
}

/// A quoted line without its `>` marks (or Supercite name) and the spaces around them.
fn quote_content(line: &str) -> &str {
    let t = line.trim_start();
    let t = match supercite_name(t) {
        Some(name) => &t[name.len()..],
        None => t,
    };
    t.trim_start_matches(|c: char| c == '>' || c.is_whitespace())
        .trim_end()
}

/// The name of a Supercite quote ("itojun> text"): a short word right
/// before `>` at the start of the line.
fn supercite_name(line: &str) -> Option<&str> {
    let t = line.trim_start();
    let gt = t.find('>')?;
    let name = &t[..gt];
    let after = t[gt + 1..].chars().next();
    (!name.is_empty()
        && name.len() <= 12
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
        && after.is_none_or(|c| c == ' ' || c == '\t' || c == '>'))
    .then_some(name)
}

#[cfg(test)]
mod tests;
