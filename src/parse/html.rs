//! HTML → readable text for HTML-only mail. mail-parser's own converter breaks
//! lines only at `<br>` and `</p>`, so Gmail's `<div>` lines and Outlook's
//! header blocks run together and quote markers cannot be found. This one keeps
//! block structure, marks `<blockquote>` lines with `>` like a plain-text
//! client would, and scans once without recursion so no nesting can hurt it.

/// Deeper blockquotes add no `>`, so hostile nesting cannot blow up the output.
const MAX_QUOTE_PREFIX: usize = 8;

/// Elements whose content is not message text.
const SKIPPED: &[&str] = &["head", "style", "script", "template", "title", "xml"];

/// Elements that sit on lines of their own.
const BLOCKS: &[&str] = &[
    "address", "article", "aside", "center", "dd", "div", "dl", "dt", "footer", "form", "header",
    "li", "ol", "section", "table", "tr", "ul",
];

/// Elements set off by a blank line.
const PARAGRAPHS: &[&str] = &["p", "h1", "h2", "h3", "h4", "h5", "h6", "pre"];

pub(super) fn html_to_text(html: &str) -> String {
    let mut out = Writer::default();
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        out.text(&rest[..lt]);
        rest = &rest[lt..];
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |end| &after[end + 3..]);
            continue;
        }
        if !rest[1..].starts_with(|c: char| c.is_ascii_alphabetic() || "/!?".contains(c)) {
            out.text("<");
            rest = &rest[1..];
            continue;
        }
        // Like a browser, a tag runs to the next `>`; with none left, no tag can
        // close any more and the rest is text (this also keeps the scan linear).
        let Some(end) = rest.find('>') else {
            break;
        };
        let tag = Tag::parse(&rest[1..end]);
        rest = &rest[end + 1..];
        if !tag.closing && SKIPPED.contains(&tag.name.as_str()) {
            rest = skip_element(rest, &tag.name);
            continue;
        }
        out.tag(&tag);
    }
    out.text(rest);
    out.finish()
}

struct Tag {
    /// Lower case; empty for `<!DOCTYPE>`, `<?xml?>` and other non-elements.
    name: String,
    closing: bool,
}

impl Tag {
    /// Parses the inside of `<...>`.
    fn parse(inner: &str) -> Tag {
        let (closing, inner) = match inner.strip_prefix('/') {
            Some(rest) => (true, rest),
            None => (false, inner),
        };
        let name = inner
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == ':' || c == '-'))
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        Tag { name, closing }
    }
}

/// Skips past `</name>`, or to the end when it never closes.
fn skip_element<'a>(s: &'a str, name: &str) -> &'a str {
    let bytes = s.as_bytes();
    let close = s.match_indices("</").map(|(i, _)| i).find(|&i| {
        bytes
            .get(i + 2..i + 2 + name.len())
            .is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes()))
    });
    close
        .and_then(|i| s[i..].find('>').map(|end| &s[i + end + 1..]))
        .unwrap_or("")
}

#[derive(Default)]
struct Writer {
    out: String,
    quote: usize,
    pre: usize,
    pending_space: bool,
}

impl Writer {
    fn text(&mut self, s: &str) {
        let mut rest = s;
        while let Some(amp) = rest.find('&') {
            self.chars(&rest[..amp]);
            rest = &rest[amp..];
            match entity(rest) {
                Some((decoded, len)) => {
                    self.chars(&decoded);
                    rest = &rest[len..];
                }
                None => {
                    self.chars("&");
                    rest = &rest[1..];
                }
            }
        }
        self.chars(rest);
    }

    fn chars(&mut self, s: &str) {
        for c in s.chars() {
            if self.pre > 0 && c == '\n' {
                self.out.push('\n');
            } else if c.is_whitespace() && (self.pre == 0 || c != '\u{a0}' && c != ' ') {
                self.pending_space = true;
            } else if !c.is_control() {
                if self.at_line_start() {
                    self.prefix();
                } else if self.pending_space {
                    self.out.push(' ');
                }
                self.pending_space = false;
                self.out.push(c);
            }
        }
    }

    fn at_line_start(&self) -> bool {
        self.out.is_empty() || self.out.ends_with('\n')
    }

    fn prefix(&mut self) {
        let depth = self.quote.min(MAX_QUOTE_PREFIX);
        if depth > 0 {
            self.out.extend(std::iter::repeat_n('>', depth));
            self.out.push(' ');
        }
    }

    fn newline(&mut self) {
        self.pending_space = false;
        if !self.at_line_start() {
            self.out.push('\n');
        }
    }

    fn blank_line(&mut self) {
        self.newline();
        if !self.out.is_empty() && !self.out.ends_with("\n\n") {
            self.out.push('\n');
        }
    }

    fn tag(&mut self, tag: &Tag) {
        let name = tag.name.as_str();
        match name {
            "br" => {
                self.pending_space = false;
                self.out.push('\n');
            }
            "blockquote" => {
                self.newline();
                self.quote = if tag.closing {
                    self.quote.saturating_sub(1)
                } else {
                    self.quote + 1
                };
            }
            "hr" => {
                // Outlook's plain-text rendering of the rule above a quoted header block.
                self.newline();
                self.out.push_str("________________________________\n");
            }
            "td" | "th" => self.pending_space = true,
            "li" if !tag.closing => {
                self.newline();
                self.prefix();
                self.out.push_str("* ");
            }
            _ if PARAGRAPHS.contains(&name) => {
                if name == "pre" {
                    self.pre = if tag.closing {
                        self.pre.saturating_sub(1)
                    } else {
                        self.pre + 1
                    };
                }
                self.blank_line();
            }
            _ if BLOCKS.contains(&name) => self.newline(),
            _ => {}
        }
    }

    fn finish(self) -> String {
        let mut text = String::with_capacity(self.out.len());
        let mut blank_run = 0;
        for line in self.out.lines() {
            let line = line.trim_end();
            blank_run = if line.is_empty() { blank_run + 1 } else { 0 };
            if blank_run < 2 {
                text.push_str(line);
                text.push('\n');
            }
        }
        text.trim_matches('\n').to_string()
    }
}

/// Decodes the character reference at the start of `s` ("&amp;", "&#233;",
/// "&#xE9;") into its text and the length it used.
fn entity(s: &str) -> Option<(String, usize)> {
    let end = s.bytes().take(34).position(|b| b == b';')?;
    let body = &s[1..end];
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'#') {
        return None;
    }
    let mut decoded = String::new();
    mail_parser::decoders::html::add_html_token(&mut decoded, &s.as_bytes()[..=end], false);
    // Unknown names come back verbatim: keep them as text.
    (decoded != s[..=end]).then_some((decoded, end + 1))
}

#[cfg(test)]
mod tests {
    use super::html_to_text;

    #[test]
    fn blocks_entities_and_quotes() {
        let html = "<html><head><title>t</title><style>p{x:1}</style></head><body>\
            <div>Hello&nbsp;Ann,</div><div>caf&eacute; &amp; cr&#232;me &lt;ok&gt;</div>\
            <p>Second   paragraph<br>next line</p>\
            <div class=gmail_quote>On Mon, Bob wrote:<blockquote><div>old text</div>\
            <blockquote>older</blockquote></blockquote></div><!-- hidden --></body></html>";
        assert_eq!(
            html_to_text(html),
            "Hello Ann,\ncafé & crème <ok>\n\nSecond paragraph\nnext line\n\n\
             On Mon, Bob wrote:\n> old text\n>> older"
        );
    }

    #[test]
    fn odd_markup_is_text_and_never_loops() {
        assert_eq!(
            html_to_text("a < b && c <3 &bogus; d"),
            "a < b && c <3 &bogus; d"
        );
        assert_eq!(html_to_text("<p>unclosed <b"), "unclosed <b");
        assert_eq!(html_to_text("<script>never closed"), "");
        assert_eq!(html_to_text("<pre>a\n  b</pre>c"), "a\n  b\n\nc");
        let nested = "<blockquote>".repeat(50_000) + "deep";
        assert_eq!(html_to_text(&nested), ">>>>>>>> deep");
    }
}
