//! An mbox archive as a source (`ingest --mbox FILE`), read as a stream so an
//! archive of any size needs memory for one batch only.
//!
//! Messages start at a `From ` line at the start of the file or after an
//! empty line (and carry a time of day); `>From ` lines are unescaped one level (mboxrd, which also
//! reads mboxo files correctly in all but pathological cases).
//!
//! Each message goes through [`Capped`], and a line is read at most
//! [`SEGMENT`] bytes at a time, so neither a huge message nor a huge line
//! takes more memory than the limits allow.

use std::io::BufRead;

use crate::intake::ReadLimits;
use crate::source::capped::Capped;

/// The longest piece of a line read at once; a longer line is read in
/// pieces, of which only the first is looked at as the start of a line.
const SEGMENT: usize = 64 << 10;

/// Yields `(byte offset of the From_ line, the message read)`.
pub struct MboxReader<R> {
    input: R,
    limits: ReadLimits,
    offset: u64,
    /// The From_ line that starts the next message, already read.
    pending_start: Option<u64>,
    /// The last piece read ended a line (the next one starts a line).
    at_line_start: bool,
    done: bool,
}

impl<R: BufRead> MboxReader<R> {
    pub fn new(input: R, limits: ReadLimits) -> Self {
        MboxReader {
            input,
            limits,
            offset: 0,
            pending_start: None,
            at_line_start: true,
            done: false,
        }
    }

    /// The next piece of a line into `line` (cleared first): through its
    /// line break, or [`SEGMENT`] bytes of a longer line. Returns whether
    /// the piece starts a line; `line` is empty at the end of input.
    fn piece(&mut self, line: &mut Vec<u8>) -> std::io::Result<bool> {
        line.clear();
        let starts = self.at_line_start;
        loop {
            let buf = match self.input.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                break;
            }
            let room = SEGMENT - line.len();
            let (used, ended) = match buf.iter().take(room).position(|&b| b == b'\n') {
                Some(lf) => (lf + 1, true),
                None => (buf.len().min(room), false),
            };
            line.extend_from_slice(&buf[..used]);
            self.input.consume(used);
            if ended || line.len() >= SEGMENT {
                break;
            }
        }
        self.offset += line.len() as u64;
        self.at_line_start = line.ends_with(b"\n");
        Ok(starts)
    }

    fn next_message(&mut self) -> std::io::Result<Option<(u64, Capped)>> {
        let mut line = Vec::new();
        // Find the first From_ line (anything before it is not a message).
        while self.pending_start.is_none() {
            let at = self.offset;
            let starts = self.piece(&mut line)?;
            if line.is_empty() {
                self.done = true;
                return Ok(None);
            }
            if starts && is_from_line(&line) {
                self.pending_start = Some(at);
            }
        }
        let start = self.pending_start.take().unwrap_or(0);
        let mut msg = Capped::new(self.limits);
        // A blank line is held back: before a From_ line it belongs to the
        // mbox format, not to the message.
        let mut blank: Option<Vec<u8>> = None;
        loop {
            let at = self.offset;
            let starts = self.piece(&mut line)?;
            if line.is_empty() {
                self.done = true;
                break;
            }
            if starts && blank.is_some() && is_from_line(&line) {
                self.pending_start = Some(at);
                blank = None;
                break;
            }
            if let Some(b) = blank.take() {
                msg.push(&b);
            }
            if starts && (line == b"\n" || line == b"\r\n") {
                blank = Some(line.clone());
                continue;
            }
            let unescaped = match line.iter().position(|&b| b != b'>') {
                Some(i) if starts && i > 0 && line[i..].starts_with(b"From ") => &line[1..],
                _ => &line[..],
            };
            msg.push(unescaped);
        }
        // At the end of the file a last blank line is the message's own.
        if let Some(b) = blank.take() {
            msg.push(&b);
        }
        Ok(Some((start, msg)))
    }
}

/// A From_ line: `From <sender> <asctime date>`. Requiring a time of day
/// keeps a body line such as "From now on, ..." after an empty line (common
/// in mboxo files that did not escape it) inside its message.
fn is_from_line(line: &[u8]) -> bool {
    line.starts_with(b"From ")
        && line.windows(5).any(|w| {
            w[0].is_ascii_digit()
                && w[1].is_ascii_digit()
                && w[2] == b':'
                && w[3].is_ascii_digit()
                && w[4].is_ascii_digit()
        })
}

impl<R: BufRead> Iterator for MboxReader<R> {
    type Item = std::io::Result<(u64, Capped)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done && self.pending_start.is_none() {
            return None;
        }
        self.next_message().transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: ReadLimits = ReadLimits {
        max_size: 1 << 20,
        keep: 1 << 10,
    };

    fn split(s: &str) -> Vec<(u64, String)> {
        MboxReader::new(s.as_bytes(), LIMITS)
            .map(|r| {
                let (o, m) = r.unwrap();
                (
                    o,
                    String::from_utf8(m.finish("t".into(), None).mail.raw).unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn splits_on_from_lines_and_unescapes() {
        let mbox = "From a@x Thu Jan  1 00:00:00 2026\nSubject: one\n\nbody\n>From the start\n>>From deeper\n\n\
From b@x Thu Jan  1 00:00:01 2026\nSubject: two\n\nFrom inside a paragraph is not a separator\n";
        let got = split(mbox);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, 0);
        assert_eq!(
            got[0].1,
            "Subject: one\n\nbody\nFrom the start\n>From deeper\n"
        );
        assert_eq!(&mbox[got[1].0 as usize..got[1].0 as usize + 6], "From b");
        assert_eq!(
            got[1].1,
            "Subject: two\n\nFrom inside a paragraph is not a separator\n"
        );
    }

    #[test]
    fn empty_and_garbage_only_inputs_yield_nothing() {
        assert!(split("").is_empty());
        assert!(split("no from line here\n").is_empty());
    }

    #[test]
    fn crlf_mbox() {
        let got = split(
            "From a Thu Jan  1 00:00:00 2026\r\nSubject: a\r\n\r\nx\r\n\r\nFrom b Thu Jan  1 00:00:00 2026\r\nSubject: b\r\n\r\ny\r\n",
        );
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].1, "Subject: a\r\n\r\nx\r\n");
        assert_eq!(got[1].1, "Subject: b\r\n\r\ny\r\n");
    }

    #[test]
    fn two_blank_lines_before_a_from_line_keep_one() {
        let got = split(
            "From a Thu Jan  1 00:00:00 2026\nSubject: a\n\nx\n\n\nFrom b Thu Jan  1 00:00:00 2026\nSubject: b\n\ny\n\n",
        );
        assert_eq!(got[0].1, "Subject: a\n\nx\n\n");
        // The last blank line of the file is the message's own.
        assert_eq!(got[1].1, "Subject: b\n\ny\n\n");
    }

    /// A message of 3 MB in a single line (no line break at all), with a
    /// second message behind it: read in pieces, cut to what the limits
    /// keep, its whole size and hash counted, and the next one found.
    #[test]
    fn a_huge_one_line_message_is_cut_and_the_next_one_found() {
        let mut mbox = b"From a Thu Jan  1 00:00:00 2026\nSubject: huge\n\n".to_vec();
        let body = vec![b'x'; 3 << 20];
        mbox.extend_from_slice(&body);
        mbox.extend_from_slice(b"\n\nFrom b Thu Jan  1 00:00:00 2026\nSubject: small\n\nhi\n");
        let got: Vec<_> = MboxReader::new(&mbox[..], LIMITS)
            .map(|r| r.unwrap().1.finish("t".into(), None))
            .collect();
        assert_eq!(got.len(), 2);
        let whole = [&b"Subject: huge\n\n"[..], &body, b"\n"].concat();
        assert!(got[0].is_cut());
        assert_eq!(got[0].size, whole.len() as u64);
        assert_eq!(got[0].hash, crate::parse::content_hash(&whole));
        assert_eq!(got[0].mail.raw, &whole[..b"Subject: huge\n\n".len() + 1024]);
        assert_eq!(got[1].mail.raw, b"Subject: small\n\nhi\n");
    }
}

/// Writes messages as an mboxrd file (`ticket export --mbox`) that
/// [`MboxReader`] reads back byte for byte: every line matching
/// `^>*From ` gets one more `>`, a From_ line opens each message, and one
/// blank line separates a message from the next (none after the last).
///
/// A message whose bytes do not end with a line break can only be kept
/// exactly when it is the last one: before another message a line break
/// has to be added. [`MboxWriter::inexact`] counts those.
pub struct MboxWriter<W> {
    out: W,
    /// The previous message's last byte was a line break (None: first).
    previous_ended: Option<bool>,
    inexact: usize,
}

impl<W: std::io::Write> MboxWriter<W> {
    pub fn new(out: W) -> Self {
        MboxWriter {
            out,
            previous_ended: None,
            inexact: 0,
        }
    }

    /// Adds one message. `sender` goes on the From_ line (spaces and
    /// control characters replaced, as the line is split on spaces).
    pub fn add(
        &mut self,
        sender: &str,
        at: chrono::DateTime<chrono::Utc>,
        raw: &[u8],
    ) -> std::io::Result<()> {
        match self.previous_ended {
            None => {}
            Some(true) => self.out.write_all(b"\n")?,
            Some(false) => {
                self.inexact += 1;
                self.out.write_all(b"\n\n")?;
            }
        }
        let sender: String = sender
            .chars()
            .map(|c| {
                if c.is_whitespace() || c.is_control() {
                    '_'
                } else {
                    c
                }
            })
            .collect();
        let sender = if sender.is_empty() {
            "MAILER-DAEMON"
        } else {
            &sender
        };
        writeln!(
            self.out,
            "From {sender} {}",
            at.format("%a %b %e %H:%M:%S %Y")
        )?;
        for line in raw.split_inclusive(|&b| b == b'\n') {
            let quotes = line.iter().take_while(|&&b| b == b'>').count();
            if line[quotes..].starts_with(b"From ") {
                self.out.write_all(b">")?;
            }
            self.out.write_all(line)?;
        }
        self.previous_ended = Some(raw.is_empty() || raw.ends_with(b"\n"));
        Ok(())
    }

    /// How many messages gained a final line break (see the type's doc).
    pub fn inexact(&self) -> usize {
        self.inexact
    }

    pub fn finish(mut self) -> std::io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod writer_tests {
    use super::*;

    /// What the writer writes, the reader gives back byte for byte: From
    /// lines at any depth of quoting, CRLF, blank lines at the end, a
    /// message that starts with "From ", a last one without a final break.
    #[test]
    fn mboxrd_round_trips_through_the_reader() {
        let at = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let messages: &[&[u8]] = &[
            b"Subject: a\n\nFrom here on\n>From quoted\n>>From deeper\nFrom 12:00\n",
            b"Subject: b\r\n\r\nFrom crlf\r\n\r\n",
            b"From the first line\nSubject: c\n\n\n\n",
            b"Subject: d\n\nno final break",
        ];
        let mut w = MboxWriter::new(Vec::new());
        for m in messages {
            w.add("a b@x.example", at, m).unwrap();
        }
        assert_eq!(w.inexact(), 0);
        let file = w.finish().unwrap();
        let limits = ReadLimits {
            max_size: 1 << 20,
            keep: 1 << 20,
        };
        let back: Vec<Vec<u8>> = MboxReader::new(&file[..], limits)
            .map(|r| r.unwrap().1.finish("t".into(), None).mail.raw)
            .collect();
        assert_eq!(back.len(), messages.len());
        for (got, want) in back.iter().zip(messages) {
            assert_eq!(String::from_utf8_lossy(got), String::from_utf8_lossy(want));
        }
        assert!(file.starts_with(b"From a_b@x.example "));
    }

    #[test]
    fn a_missing_final_break_before_another_message_is_counted() {
        let at = chrono::DateTime::from_timestamp(0, 0).unwrap();
        let mut w = MboxWriter::new(Vec::new());
        w.add("x", at, b"Subject: a\n\nno break").unwrap();
        w.add("x", at, b"Subject: b\n\nbody\n").unwrap();
        assert_eq!(w.inexact(), 1);
    }
}
