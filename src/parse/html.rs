//! HTML → readable text for HTML-only mail. mail-parser's own converter breaks
//! lines only at `<br>` and `</p>`, so Gmail's `<div>` lines and Outlook's
//! header blocks run together and quote markers cannot be found. This one keeps
//! block structure, marks quoted history with `>` like a plain-text client
//! would, and scans once without recursion so no nesting can hurt it.
//!
//! Quoted history is found by the structure each client gives it, so that the
//! reply splitter sees `>` lines whatever the language of the attribution:
//! `<blockquote>` (Apple's `type=cite`, Gmail's, Thunderbird's); the elements
//! around an attribution or a quote (Gmail's `gmail_attr`, Thunderbird's
//! `moz-cite-prefix`, Yahoo's `yahoo_quoted`, Proton's `protonmail_quote`),
//! quoted up to their end tag;
//! and Outlook's quoted header (`divRplyFwdMsg`, the `border-top:solid
//! #E1E1E1` or `#B5C4DF` rule, Outlook for Mac's `OLK_SRC_BODY_SECTION`),
//! after which the whole rest of the document is the quoted mail.

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

/// Quote regions open at once (deeper ones are not tracked, their text is
/// still quoted by the outer one).
const MAX_REGIONS: usize = 16;
/// Bytes after a Gmail attribution element searched for a forward's dashes.
const FORWARD_LOOKAHEAD: usize = 400;

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
        out.regions(&tag, rest);
        out.tag(&tag);
    }
    out.text(rest);
    out.finish()
}

struct Tag<'a> {
    /// Lower case; empty for `<!DOCTYPE>`, `<?xml?>` and other non-elements.
    name: String,
    closing: bool,
    /// `<div/>`: opens nothing.
    self_closing: bool,
    /// Everything after the name, as written.
    attrs: &'a str,
}

impl<'a> Tag<'a> {
    /// Parses the inside of `<...>`.
    fn parse(inner: &'a str) -> Tag<'a> {
        let (closing, inner) = match inner.strip_prefix('/') {
            Some(rest) => (true, rest),
            None => (false, inner),
        };
        let name_len = inner
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == ':' || c == '-'))
            .unwrap_or(inner.len());
        Tag {
            name: inner[..name_len].to_ascii_lowercase(),
            closing,
            self_closing: inner.trim_end().ends_with('/'),
            attrs: &inner[name_len..],
        }
    }

    /// The value of attribute `name` (lower case), lower-cased.
    fn attr(&self, name: &str) -> Option<String> {
        let lower = self.attrs.to_ascii_lowercase();
        let mut from = 0;
        while let Some(at) = lower[from..].find(name).map(|i| from + i) {
            from = at + name.len();
            let before_ok =
                lower[..at].ends_with(|c: char| c.is_whitespace() || c == '"' || c == '\'');
            let rest = lower[from..].trim_start();
            let (true, Some(value)) = (before_ok, rest.strip_prefix('=')) else {
                continue;
            };
            let value = value.trim_start();
            let end_quote = value.chars().next().filter(|c| *c == '"' || *c == '\'');
            let value = match end_quote {
                Some(q) => value[1..].split(q).next().unwrap_or(""),
                None => value
                    .split(|c: char| c.is_whitespace() || c == '>')
                    .next()
                    .unwrap_or(""),
            };
            return Some(value.to_string());
        }
        None
    }

    /// Does this opening tag start a region of quoted history, and of which kind?
    fn quote_region(&self) -> Option<Region> {
        if self.closing || self.self_closing || self.attrs.trim().is_empty() {
            return None;
        }
        let class = self.attr("class").unwrap_or_default();
        let classes = || class.split_whitespace();
        let quoting = |c: &str| {
            matches!(c, "moz-cite-prefix" | "gmail_attr" | "protonmail_quote")
                || c.contains("yahoo_quoted")
        };
        if classes().any(quoting) {
            return Some(Region::Element);
        }
        let id = self.attr("id").unwrap_or_default();
        if id.contains("yahoo_quoted") {
            return Some(Region::Element);
        }
        if id.ends_with("divrplyfwdmsg") || id == "olk_src_body_section" {
            return Some(Region::ToEnd);
        }
        let style: String = self
            .attr("style")
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        (style.contains("border-top:solid#e1e1e1") || style.contains("border-top:solid#b5c4df"))
            .then_some(Region::ToEnd)
    }
}

/// How far a region of quoted history reaches.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Region {
    /// To the element's end tag.
    Element,
    /// To the end of the document: Outlook puts the quoted mail after its
    /// header block, not inside an element.
    ToEnd,
}

/// Does a forward's "---------- Forwarded message ---------" come first in
/// `html`? Gmail writes it in its attribution element, which then is not a
/// quote but the forwarded mail.
fn forward_follows(html: &str) -> bool {
    let mut end = FORWARD_LOOKAHEAD.min(html.len());
    while !html.is_char_boundary(end) {
        end -= 1;
    }
    let mut rest = &html[..end];
    loop {
        rest = rest.trim_start();
        match rest.strip_prefix('<') {
            Some(tag) => match tag.find('>') {
                Some(close) => rest = &tag[close + 1..],
                None => return false,
            },
            None => return rest.starts_with("-----"),
        }
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
    /// Open `<blockquote>`s.
    quote: usize,
    /// Open element regions: the tag name and how many elements of that
    /// name are open inside it, itself included.
    regions: Vec<(String, usize)>,
    /// An Outlook quote started: the rest is quoted.
    to_end: bool,
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

    /// Follows the quote regions an element opens or closes (see the module comment).
    fn regions(&mut self, tag: &Tag<'_>, after: &str) {
        if tag.name.is_empty() || tag.self_closing {
            return;
        }
        if tag.closing {
            let mut closed = None;
            for (i, (name, open)) in self.regions.iter_mut().enumerate() {
                if *name == tag.name {
                    *open = open.saturating_sub(1);
                    if *open == 0 && closed.is_none() {
                        closed = Some(i);
                    }
                }
            }
            if let Some(i) = closed {
                self.newline();
                self.regions.truncate(i);
            }
            return;
        }
        for (name, open) in &mut self.regions {
            if *name == tag.name {
                *open += 1;
            }
        }
        match tag.quote_region() {
            Some(Region::ToEnd) => {
                self.newline();
                self.to_end = true;
            }
            Some(Region::Element)
                if self.regions.len() < MAX_REGIONS && !forward_follows(after) =>
            {
                self.newline();
                self.regions.push((tag.name.clone(), 1));
            }
            _ => {}
        }
    }

    fn prefix(&mut self) {
        let depth =
            (self.quote + self.regions.len() + usize::from(self.to_end)).min(MAX_QUOTE_PREFIX);
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

    fn tag(&mut self, tag: &Tag<'_>) {
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
    fn quote_regions_by_client_structure() {
        // Gmail: the attribution element is quoted whatever its language; text
        // after the quote inside gmail_quote (bottom-posting) is not.
        assert_eq!(
            html_to_text(
                "<div>Ok</div><div class=\"gmail_quote\"><div dir=ltr class=\"gmail_attr\">\
                 Support &lt;s@d.example&gt; \u{4e8e}2026\u{5e74} <b>x</b>:<br></div>\
                 <blockquote class=\"gmail_quote\"><div>old</div></blockquote><div>below</div></div>"
            ),
            "Ok\n> Support <s@d.example> \u{4e8e}2026\u{5e74} x:\n> old\nbelow"
        );
        // Thunderbird's cite prefix, Yahoo's quoted element with nested divs.
        assert_eq!(
            html_to_text(
                "<p>Yes</p><div class=\"moz-cite-prefix\">Ann wrote:<br></div>\
                 <blockquote type=cite>Q</blockquote><p>A</p>"
            ),
            "Yes\n\n> Ann wrote:\n> Q\n\nA"
        );
        assert_eq!(
            html_to_text(
                "<div>Top</div><div id=\"ydp1yahoo_quoted_9\" class=\"ydp1yahoo_quoted\">\
                 <div>Ann wrote:</div><div><div>old <div>older</div></div></div></div><div>after</div>"
            ),
            "Top\n> Ann wrote:\n> old\n> older\nafter"
        );
        // Outlook: from the reply header to the end, whatever the labels say.
        for opening in [
            "<div id=\"divRplyFwdMsg\" dir=\"ltr\">",
            "<div id=x_divRplyFwdMsg>",
            "<div style=\"border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm\">",
            "<div style='border:none; border-top:solid #B5C4DF 1.0pt'>",
        ] {
            let html = format!(
                "<p>Done</p>{opening}<b>\u{391}\u{3c0}\u{3cc}:</b> Ann</div><p>old</p><div>older</div>"
            );
            assert_eq!(
                html_to_text(&html),
                "Done\n\n> \u{391}\u{3c0}\u{3cc}: Ann\n\n> old\n\n> older",
                "{opening}"
            );
        }
        // A Gmail forward is the forwarded mail, not a quote.
        assert_eq!(
            html_to_text(
                "<div class=\"gmail_quote\"><div dir=\"ltr\" class=\"gmail_attr\">\
                 ---------- Forwarded message ---------<br>From: Bob</div></div>"
            ),
            "---------- Forwarded message ---------\nFrom: Bob"
        );
        // Self-closing and unbalanced markup cannot end a region early or late.
        assert_eq!(
            html_to_text("<div class=gmail_attr>a<div/>b</div>c"),
            "> a\n> b\nc"
        );
        assert_eq!(html_to_text("<div class=gmail_attr>a</span>b"), "> ab");
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
