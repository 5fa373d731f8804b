//! An mbox archive as a source (`ingest --mbox FILE`), read as a stream so an
//! archive of any size needs memory for one batch only.
//!
//! Messages start at a `From ` line at the start of the file or after an
//! empty line (and carry a time of day); `>From ` lines are unescaped one level (mboxrd, which also
//! reads mboxo files correctly in all but pathological cases).

use std::io::BufRead;

/// Yields `(byte offset of the From_ line, message bytes)`.
pub struct MboxReader<R> {
    input: R,
    offset: u64,
    /// The From_ line that starts the next message, already read.
    pending_start: Option<u64>,
    done: bool,
}

impl<R: BufRead> MboxReader<R> {
    pub fn new(input: R) -> Self {
        MboxReader {
            input,
            offset: 0,
            pending_start: None,
            done: false,
        }
    }

    fn next_message(&mut self) -> std::io::Result<Option<(u64, Vec<u8>)>> {
        let mut line = Vec::new();
        // Find the first From_ line (anything before it is not a message).
        while self.pending_start.is_none() {
            line.clear();
            let n = self.input.read_until(b'\n', &mut line)?;
            if n == 0 {
                self.done = true;
                return Ok(None);
            }
            if is_from_line(&line) {
                self.pending_start = Some(self.offset);
            }
            self.offset += n as u64;
        }
        let start = self.pending_start.take().unwrap_or(0);
        let mut msg = Vec::new();
        let mut prev_blank = false;
        loop {
            line.clear();
            let n = self.input.read_until(b'\n', &mut line)?;
            if n == 0 {
                self.done = true;
                break;
            }
            let at = self.offset;
            self.offset += n as u64;
            if prev_blank && is_from_line(&line) {
                self.pending_start = Some(at);
                break;
            }
            prev_blank = line == b"\n" || line == b"\r\n";
            let unescaped = match line.iter().position(|&b| b != b'>') {
                Some(i) if i > 0 && line[i..].starts_with(b"From ") => &line[1..],
                _ => &line[..],
            };
            msg.extend_from_slice(unescaped);
        }
        // The blank line before the next From_ belongs to the mbox format.
        if self.pending_start.is_some() {
            if msg.ends_with(b"\r\n") {
                msg.truncate(msg.len() - 2);
            } else if msg.ends_with(b"\n") {
                msg.truncate(msg.len() - 1);
            }
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
    type Item = std::io::Result<(u64, Vec<u8>)>;

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

    fn split(s: &str) -> Vec<(u64, String)> {
        MboxReader::new(s.as_bytes())
            .map(|r| {
                let (o, m) = r.unwrap();
                (o, String::from_utf8(m).unwrap())
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
}
