//! capped: reads one message within intake's limits, whatever its size.
//!
//! Every source hands its bytes to a [`Capped`] as they arrive (a file in
//! 64 KB reads, a POP3 RETR line by line, an IMAP FETCH in parts). Up to
//! `intake.max_message_size` all of them are kept; past it only the header
//! and the first `intake.max_stored_size` bytes of the body stay (see
//! [`ReadLimits::cut_len`]), while the size and the SHA-256 of the whole
//! message are still counted. Memory per message is therefore bounded by
//! the config, not by what a sender writes (DESIGN invariant 10).

use std::io::Read;

use sha2::{Digest, Sha256};

use crate::intake::{Fetched, RawMail, ReadLimits};

/// Bytes read from a file or stdin at a time.
const READ_CHUNK: usize = 64 << 10;

/// One message being read.
pub struct Capped {
    limits: ReadLimits,
    kept: Vec<u8>,
    size: u64,
    hasher: Sha256,
    /// Set once the message is over the limit: how many leading bytes stay.
    cut_at: Option<u64>,
}

impl Capped {
    pub fn new(limits: ReadLimits) -> Capped {
        Capped {
            limits,
            kept: Vec::new(),
            size: 0,
            hasher: Sha256::new(),
            cut_at: None,
        }
    }

    /// The next bytes of the message.
    pub fn push(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
        self.size += bytes.len() as u64;
        match self.cut_at {
            None => {
                self.kept.extend_from_slice(bytes);
                if self.size > self.limits.max_size {
                    // Over the limit: from now on only the start is kept.
                    let cut = self.limits.cut_len(&self.kept);
                    self.cut_at = Some(cut);
                    if (self.kept.len() as u64) > cut {
                        self.kept.truncate(cut as usize);
                    }
                    self.kept.shrink_to_fit();
                }
            }
            Some(cut) => {
                let room = cut.saturating_sub(self.kept.len() as u64);
                let take = bytes.len().min(usize::try_from(room).unwrap_or(usize::MAX));
                self.kept.extend_from_slice(&bytes[..take]);
            }
        }
    }

    /// Bytes held in memory for this message so far.
    pub fn kept(&self) -> usize {
        self.kept.len()
    }

    /// Bytes of the whole message so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Reads `input` to its end.
    pub fn read_all(mut input: impl Read, limits: ReadLimits) -> std::io::Result<Capped> {
        let mut capped = Capped::new(limits);
        let mut buf = vec![0u8; READ_CHUNK];
        loop {
            match input.read(&mut buf) {
                Ok(0) => return Ok(capped),
                Ok(n) => capped.push(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// The message as intake takes it.
    pub fn finish(self, source: String, source_id: Option<String>) -> Fetched {
        Fetched {
            mail: RawMail {
                source,
                source_id,
                raw: self.kept,
            },
            size: self.size,
            hash: hex::encode(self.hasher.finalize()),
            read_at: std::time::Instant::now(),
        }
    }
}

/// Plans batches: how many of the next messages (their sizes as the
/// source announces them) go into one batch of at most `count` messages
/// and `bytes` bytes held — at least one. A message over the size limit
/// counts as what is kept of it.
pub fn batch_len(
    sizes: impl IntoIterator<Item = u64>,
    limits: ReadLimits,
    count: usize,
    bytes: u64,
) -> usize {
    let mut n = 0;
    let mut held = 0u64;
    for size in sizes {
        let size = limits.held(size);
        if n >= count.max(1) || (n > 0 && held.saturating_add(size) > bytes) {
            break;
        }
        n += 1;
        held = held.saturating_add(size);
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::content_hash;

    const LIMITS: ReadLimits = ReadLimits {
        max_size: 100,
        keep: 10,
    };

    fn read(bytes: &[u8], chunk: usize) -> Fetched {
        let mut c = Capped::new(LIMITS);
        for part in bytes.chunks(chunk.max(1)) {
            c.push(part);
        }
        c.finish("s".into(), None)
    }

    #[test]
    fn a_message_within_the_limit_is_kept_whole_in_any_chunking() {
        let msg = b"Subject: x\r\n\r\nshort body\r\n";
        for chunk in [1, 3, 7, 1000] {
            let f = read(msg, chunk);
            assert_eq!(f.mail.raw, msg);
            assert!(!f.is_cut());
            assert_eq!(f.size, msg.len() as u64);
            assert_eq!(f.hash, content_hash(msg));
        }
    }

    #[test]
    fn a_larger_one_keeps_header_and_body_start_with_the_whole_size_and_hash() {
        let mut msg = b"Subject: big\r\nFrom: a@b.example\r\n\r\n".to_vec();
        let head = msg.len();
        msg.extend(std::iter::repeat_n(b'x', 5000));
        for chunk in [1, 64, 101, 6000] {
            let f = read(&msg, chunk);
            assert!(f.is_cut(), "chunk {chunk}");
            assert_eq!(f.mail.raw, &msg[..head + 10], "chunk {chunk}");
            assert_eq!(f.size, msg.len() as u64);
            assert_eq!(f.hash, content_hash(&msg));
        }
    }

    #[test]
    fn without_an_end_of_header_the_first_256_kb_stay() {
        let msg = vec![b'a'; 300 << 10];
        let f = read(&msg, 4096);
        assert_eq!(f.mail.raw.len(), 256 << 10);
        assert_eq!(f.size, msg.len() as u64);
    }

    #[test]
    fn read_all_reads_a_reader_to_its_end() {
        let msg = vec![b'z'; 400_000];
        let c = Capped::read_all(&msg[..], LIMITS).unwrap();
        assert_eq!((c.size(), c.kept()), (400_000, 256 << 10));
    }

    #[test]
    fn batches_stop_at_the_count_or_the_bytes_and_hold_at_least_one() {
        let limits = ReadLimits {
            max_size: 1000,
            keep: 100,
        };
        let cases: &[(&[u64], usize, u64, usize)] = &[
            (&[10, 10, 10], 2, 1000, 2),
            (&[400, 400, 400], 10, 1000, 2),
            (&[5000, 5000], 10, 1000, 1),
            (&[], 10, 1000, 0),
            (&[10], 0, 0, 1),
            // Too large: counts as what is kept (header room + keep).
            (&[1 << 40, 10], 10, 300 << 10, 2),
        ];
        for (sizes, count, bytes, want) in cases {
            assert_eq!(
                batch_len(sizes.iter().copied(), limits, *count, *bytes),
                *want,
                "{sizes:?} {count} {bytes}"
            );
        }
    }
}
