//! What a source hands intake — one message, whole or cut at the read
//! limit — and the limits it reads by.

/// One message as a source hands it over.
#[derive(Debug, Clone)]
pub struct RawMail {
    /// The source's name (`[[source]] name`, or `ingest`).
    pub source: String,
    /// The source's id for it (Maildir file name, UIDL, UID), when it has one.
    pub source_id: Option<String>,
    pub raw: Vec<u8>,
}

/// A message as a source read it, within the limits of [`ReadLimits`]:
/// `mail.raw` is all of it or — for a message over the size limit — its
/// header and the start of its body; `size` and `hash` are always those of
/// the whole message.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub mail: RawMail,
    pub size: u64,
    /// SHA-256 of the whole message, hex (as [`parse::content_hash`]).
    pub hash: String,
    /// When its last byte was read: where its intake latency starts
    /// (monotonic, so neither a test's clock nor a clock step bends it).
    pub read_at: std::time::Instant,
}

impl Fetched {
    /// `mail.raw` holds only the start of the message.
    pub fn is_cut(&self) -> bool {
        (self.mail.raw.len() as u64) < self.size
    }
}

/// What [`Pipeline::take`] takes: a [`RawMail`] (all its bytes in hand) or
/// a [`Fetched`] (read with a cap by a source).
pub trait Arrival {
    fn mail(&self) -> &RawMail;
    /// The whole message's size and content hash, when the source read it
    /// with a cap and so already knows them.
    fn whole(&self) -> Option<(u64, &str)> {
        None
    }
    /// When postdesk held the whole message, if the source says.
    fn read_at(&self) -> Option<std::time::Instant> {
        None
    }
}

impl Arrival for RawMail {
    fn mail(&self) -> &RawMail {
        self
    }
}

impl Arrival for Fetched {
    fn mail(&self) -> &RawMail {
        &self.mail
    }
    fn whole(&self) -> Option<(u64, &str)> {
        Some((self.size, &self.hash))
    }
    fn read_at(&self) -> Option<std::time::Instant> {
        Some(self.read_at)
    }
}

/// How much of a message intake reads and keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    /// Messages up to this many bytes are kept whole:
    /// `intake.max_message_size`, never more than the store can hold
    /// ([`crate::store::MAX_MESSAGE_BYTES`]).
    pub max_size: u64,
    /// Bytes of body kept of a larger message: `intake.max_stored_size`.
    pub keep: u64,
}

/// The header of a message is looked for in this many leading bytes (as
/// `parse::parse_head` does); without an end of header there, none is kept.
const HEAD_SCAN: usize = 256 << 10;

impl ReadLimits {
    pub fn from_config(i: &crate::config::Intake) -> ReadLimits {
        ReadLimits {
            max_size: i.max_message_size.min(crate::store::MAX_MESSAGE_BYTES),
            keep: i.max_stored_size,
        }
    }

    /// The most bytes a message of `size` bytes holds in memory once read.
    pub fn held(&self, size: u64) -> u64 {
        if size > self.max_size {
            size.min(self.keep + HEAD_SCAN as u64)
        } else {
            size
        }
    }

    /// How many leading bytes of a too-large message are kept, from its
    /// first bytes `head` (the first 256 KB suffice): the header through
    /// its blank line and `keep` bytes of body; without a header end in
    /// the first 256 KB, the first `max(keep, 256 KB)` bytes. May exceed
    /// `head.len()`.
    pub fn cut_len(&self, head: &[u8]) -> u64 {
        let head = &head[..head.len().min(HEAD_SCAN)];
        let lf = head.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
        let crlf = head
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map(|i| i + 4);
        match [lf, crlf].into_iter().flatten().min() {
            Some(end) => end as u64 + self.keep,
            None => self.keep.max(HEAD_SCAN as u64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ReadLimits;

    #[test]
    fn what_a_cut_keeps() {
        let l = ReadLimits {
            max_size: 1000,
            keep: 10,
        };
        let cases: &[(&[u8], u64)] = &[
            (b"Subject: x\r\n\r\nbody", 14 + 10),
            (b"Subject: x\n\nbody", 12 + 10),
            // The first blank line ends the header, LF or CRLF.
            (b"A: 1\n\nB: 2\r\n\r\n", 6 + 10),
            // No end of header (yet): the first 256 KB.
            (b"Subject: x\r\n", 256 << 10),
            (b"", 256 << 10),
        ];
        for (head, want) in cases {
            assert_eq!(
                l.cut_len(head),
                *want,
                "{:?}",
                String::from_utf8_lossy(head)
            );
        }
        assert_eq!(l.held(900), 900);
        assert_eq!(l.held(5000), 5000);
        assert_eq!(l.held(1 << 30), 10 + (256 << 10));
    }
}
