//! Pure pieces of the selection protocol (ICCCM §2): text encodings of the targets we serve
//! and read, and the bookkeeping of INCR transfers in both directions. No X connection here,
//! so every rule is unit-tested.

use std::sync::Arc;
use std::time::Instant;

/// How a property's bytes are to be read as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// `UTF8_STRING` (and `TEXT`, which we answer as UTF-8).
    Utf8,
    /// ICCCM `STRING`: ISO-8859-1.
    Latin1,
}

/// `STRING` is ISO-8859-1: characters outside it become `?`, as other X toolkits do, so a
/// Latin-1-only requestor gets something readable instead of mojibake.
pub(crate) fn to_latin1(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
        .collect()
}

/// Decodes received property bytes. Invalid UTF-8 from a misbehaving owner is replaced
/// (U+FFFD) rather than dropped: the user still gets the readable part.
pub(crate) fn decode(bytes: &[u8], encoding: Encoding) -> String {
    match encoding {
        Encoding::Latin1 => bytes.iter().map(|&b| char::from(b)).collect(),
        Encoding::Utf8 => match std::str::from_utf8(bytes) {
            Ok(s) => s.to_owned(),
            Err(e) => {
                tracing::debug!(error = %e, "clipboard owner sent invalid UTF-8; replacing");
                String::from_utf8_lossy(bytes).into_owned()
            }
        },
    }
}

/// One INCR transfer we send to a requestor: the data is cut into chunks, each written when
/// the requestor deletes the previous one, and a zero-length chunk ends it.
#[derive(Debug)]
pub(crate) struct Outgoing {
    data: Arc<[u8]>,
    offset: usize,
    done: bool,
    /// Last progress, to drop transfers whose requestor went away silently.
    pub(crate) touched: Instant,
}

impl Outgoing {
    pub(crate) fn new(data: Arc<[u8]>) -> Self {
        Self {
            data,
            offset: 0,
            done: false,
            touched: Instant::now(),
        }
    }

    /// The next chunk to write (at most `chunk` bytes; empty = the terminating chunk), or
    /// `None` once the terminator has been handed out.
    pub(crate) fn next_chunk(&mut self, chunk: usize) -> Option<&[u8]> {
        if self.done {
            return None;
        }
        self.touched = Instant::now();
        let start = self.offset;
        let end = (start + chunk.max(1)).min(self.data.len());
        self.offset = end;
        if start == end {
            self.done = true;
        }
        Some(&self.data[start..end])
    }
}

/// What to do with a chunk of an INCR transfer we receive.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Incoming {
    /// More chunks follow.
    More,
    /// The zero-length chunk arrived; here is the whole text's bytes.
    Done(Vec<u8>),
    /// Over the limit: the rest is read and discarded (so the owner is not left waiting) and
    /// nothing is delivered.
    Skipped,
}

/// An INCR transfer we receive, with the size limit applied as chunks arrive.
#[derive(Debug)]
pub(crate) struct IncrRead {
    buf: Vec<u8>,
    max_bytes: usize,
    overflowed: bool,
}

impl IncrRead {
    /// `announced` is the owner's lower bound on the size (the INCR property's value).
    pub(crate) fn new(announced: usize, max_bytes: usize) -> Self {
        let overflowed = announced > max_bytes;
        Self {
            buf: Vec::with_capacity(if overflowed { 0 } else { announced }),
            max_bytes,
            overflowed,
        }
    }

    /// Whether the limit has been crossed (the caller logs it once).
    pub(crate) fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// Whether a chunk of `len` bytes still fits under the limit (so it is worth reading).
    pub(crate) fn fits(&self, len: usize) -> bool {
        !self.overflowed && self.buf.len().saturating_add(len) <= self.max_bytes
    }

    /// A non-empty chunk that was deleted unread because it did not fit.
    pub(crate) fn discard(&mut self) -> Incoming {
        self.overflowed = true;
        self.buf = Vec::new();
        Incoming::More
    }

    pub(crate) fn push(&mut self, chunk: &[u8]) -> Incoming {
        if chunk.is_empty() {
            return if self.overflowed {
                Incoming::Skipped
            } else {
                Incoming::Done(std::mem::take(&mut self.buf))
            };
        }
        if !self.overflowed && self.buf.len() + chunk.len() > self.max_bytes {
            self.overflowed = true;
            self.buf = Vec::new();
        }
        if !self.overflowed {
            self.buf.extend_from_slice(chunk);
        }
        Incoming::More
    }
}

/// The largest property we write in one piece; larger data goes INCR. Well below the
/// server's request limit, and small enough that a slow requestor does not force the server
/// to hold many megabytes per transfer.
pub(crate) fn chunk_size(max_request_bytes: usize) -> usize {
    const PREFERRED: usize = 256 * 1024;
    // 24 bytes of ChangeProperty header; keep a margin for BIG-REQUESTS framing.
    PREFERRED
        .min(max_request_bytes.saturating_sub(64))
        .max(1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_vector_round_trips() {
        // docs/protocol.md §12: `héllo` is `aMOpbGxv` in base64, i.e. these UTF-8 bytes.
        let utf8 = [0x68, 0xC3, 0xA9, 0x6C, 0x6C, 0x6F];
        assert_eq!(decode(&utf8, Encoding::Utf8), "héllo");
        assert_eq!(to_latin1("héllo"), [0x68, 0xE9, 0x6C, 0x6C, 0x6F]);
        assert_eq!(
            decode(&[0x68, 0xE9, 0x6C, 0x6C, 0x6F], Encoding::Latin1),
            "héllo"
        );
    }

    #[test]
    fn latin1_replaces_what_it_cannot_hold() {
        assert_eq!(to_latin1("a€日b"), b"a??b");
    }

    #[test]
    fn invalid_utf8_is_replaced_not_dropped() {
        assert_eq!(decode(b"ok\xFFok", Encoding::Utf8), "ok\u{FFFD}ok");
    }

    #[test]
    fn outgoing_chunks_then_terminator() {
        let mut t = Outgoing::new(Arc::from(&b"abcdefg"[..]));
        assert_eq!(t.next_chunk(3), Some(&b"abc"[..]));
        assert_eq!(t.next_chunk(3), Some(&b"def"[..]));
        assert_eq!(t.next_chunk(3), Some(&b"g"[..]));
        assert_eq!(t.next_chunk(3), Some(&b""[..]));
        assert_eq!(t.next_chunk(3), None);
        // Exact multiples still end with one empty chunk.
        let mut t = Outgoing::new(Arc::from(&b"abcd"[..]));
        let sizes: Vec<usize> = std::iter::from_fn(|| t.next_chunk(2).map(<[u8]>::len)).collect();
        assert_eq!(sizes, [2, 2, 0]);
    }

    #[test]
    fn incoming_assembles_until_empty_chunk() {
        let mut r = IncrRead::new(5, 100);
        assert_eq!(r.push(b"hel"), Incoming::More);
        assert_eq!(r.push(b"lo"), Incoming::More);
        assert_eq!(r.push(b""), Incoming::Done(b"hello".to_vec()));
    }

    #[test]
    fn incoming_over_limit_is_drained_and_skipped() {
        // The owner announced less than it sends: the limit still holds.
        let mut r = IncrRead::new(4, 6);
        assert_eq!(r.push(b"abcd"), Incoming::More);
        assert!(!r.overflowed());
        assert_eq!(r.push(b"efg"), Incoming::More);
        assert!(r.overflowed());
        assert_eq!(r.push(b"h"), Incoming::More);
        assert_eq!(r.push(b""), Incoming::Skipped);
        // A chunk judged too large before reading is discarded the same way.
        let mut r = IncrRead::new(2, 6);
        assert!(r.fits(6) && !r.fits(7));
        assert_eq!(r.push(b"ab"), Incoming::More);
        assert!(!r.fits(5));
        assert_eq!(r.discard(), Incoming::More);
        assert!(r.overflowed() && !r.fits(0));
        assert_eq!(r.push(b""), Incoming::Skipped);
        // An announced size over the limit is refused up front.
        let mut r = IncrRead::new(7, 6);
        assert!(r.overflowed());
        assert_eq!(r.push(b""), Incoming::Skipped);
        // Exactly at the limit is fine.
        let mut r = IncrRead::new(6, 6);
        assert_eq!(r.push(b"abcdef"), Incoming::More);
        assert_eq!(r.push(b""), Incoming::Done(b"abcdef".to_vec()));
    }

    #[test]
    fn chunk_size_respects_server_limit() {
        assert_eq!(chunk_size(16 * 1024 * 1024), 256 * 1024);
        assert_eq!(chunk_size(262_140), 262_076);
        assert_eq!(chunk_size(100), 1024);
    }
}
