//! The pure arithmetic of transfers: the HTTP `Range` header of downloads (one byte range,
//! RFC 9110 §14), the offset bookkeeping of resumable uploads, and the pacing of the upload
//! rate limit. No I/O, so every edge is unit-tested.

use std::time::{Duration, Instant};

/// What a `Range` header asks of a file of `len` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeRequest {
    /// No header, or one we may ignore (several ranges, another unit): the whole file.
    Whole,
    /// Bytes `start..=end`.
    Part { start: u64, end: u64 },
    /// Not satisfiable: answer 416 with `Content-Range: bytes */len`.
    Unsatisfiable,
}

/// Parses `bytes=a-b`, `bytes=a-` and `bytes=-n` against a file of `len` bytes.
pub fn parse_range(header: Option<&str>, len: u64) -> RangeRequest {
    let Some(spec) = header
        .map(str::trim)
        .and_then(|h| h.strip_prefix("bytes="))
        .map(str::trim)
    else {
        return RangeRequest::Whole;
    };
    // Multipart answers are optional (RFC 9110 §14.2): serve the whole file instead.
    if spec.contains(',') {
        return RangeRequest::Whole;
    }
    let Some((a, b)) = spec.split_once('-') else {
        return RangeRequest::Whole;
    };
    let (a, b) = (a.trim(), b.trim());
    let num = |s: &str| s.parse::<u64>().ok();
    match (a.is_empty(), b.is_empty()) {
        // Suffix: the last n bytes.
        (true, false) => match num(b) {
            Some(0) => RangeRequest::Unsatisfiable,
            Some(n) if len > 0 => RangeRequest::Part {
                start: len.saturating_sub(n),
                end: len - 1,
            },
            Some(_) => RangeRequest::Unsatisfiable,
            None => RangeRequest::Whole,
        },
        (false, true) => match num(a) {
            Some(start) if start < len => RangeRequest::Part {
                start,
                end: len - 1,
            },
            Some(_) => RangeRequest::Unsatisfiable,
            None => RangeRequest::Whole,
        },
        (false, false) => match (num(a), num(b)) {
            (Some(start), Some(end)) if start <= end && start < len => RangeRequest::Part {
                start,
                end: end.min(len - 1),
            },
            (Some(start), Some(end)) if start <= end => RangeRequest::Unsatisfiable,
            // An invalid range (last < first) is ignored.
            _ => RangeRequest::Whole,
        },
        (true, true) => RangeRequest::Whole,
    }
}

/// Why an upload chunk cannot be appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    /// The client's offset is not where the file ends (a lost chunk or a stale retry): it must
    /// ask for the offset and resume from there.
    #[error("chunk offset {given} does not match the {have} bytes received")]
    Offset { given: u64, have: u64 },
    /// The chunk would make the file longer than the size announced at the start.
    #[error("chunk goes past the announced size of {size} bytes")]
    TooLong { size: u64 },
}

/// Whether a chunk of `len` bytes (`None`: length unknown, a streamed body) sent at `offset`
/// may be appended to a partial file that holds `have` of `size` bytes.
pub fn check_chunk(offset: u64, len: Option<u64>, have: u64, size: u64) -> Result<(), ChunkError> {
    if offset != have {
        return Err(ChunkError::Offset {
            given: offset,
            have,
        });
    }
    match len {
        Some(n) if offset.checked_add(n).is_none_or(|end| end > size) => {
            Err(ChunkError::TooLong { size })
        }
        _ => Ok(()),
    }
}

/// Shared pacing of a byte rate: each transfer of `n` bytes is scheduled after the ones before
/// it, and waits until its slot. Up to [`BURST`] of slack lets short bursts through at once.
#[derive(Debug, Clone, Copy)]
pub struct Pacer {
    bytes_per_sec: u64,
    /// When the link is free again.
    next_free: Option<Instant>,
}

/// How far ahead of the schedule a transfer may run.
pub const BURST: Duration = Duration::from_millis(100);

impl Pacer {
    pub fn new(bytes_per_sec: u64) -> Self {
        Pacer {
            bytes_per_sec: bytes_per_sec.max(1),
            next_free: None,
        }
    }

    /// Books `n` bytes at `now`; returns how long the caller must wait before sending more.
    pub fn book(&mut self, n: u64, now: Instant) -> Duration {
        let start = self.next_free.filter(|t| *t > now).unwrap_or(now);
        let cost = Duration::from_secs_f64(n as f64 / self.bytes_per_sec as f64);
        let end = start + cost;
        self.next_free = Some(end);
        end.saturating_duration_since(now).saturating_sub(BURST)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RangeRequest::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range(None, 100), Whole);
        assert_eq!(
            parse_range(Some("bytes=0-9"), 100),
            Part { start: 0, end: 9 }
        );
        assert_eq!(
            parse_range(Some("bytes=90-"), 100),
            Part { start: 90, end: 99 }
        );
        assert_eq!(
            parse_range(Some("bytes=-10"), 100),
            Part { start: 90, end: 99 }
        );
        assert_eq!(
            parse_range(Some("bytes=-1000"), 100),
            Part { start: 0, end: 99 }
        );
        assert_eq!(
            parse_range(Some("bytes=50-5000"), 100),
            Part { start: 50, end: 99 }
        );
        assert_eq!(parse_range(Some("bytes=100-"), 100), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=100-200"), 100), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=-0"), 100), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=0-"), 0), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=9-1"), 100), Whole);
        assert_eq!(parse_range(Some("bytes=0-1,5-6"), 100), Whole);
        assert_eq!(parse_range(Some("items=0-1"), 100), Whole);
        assert_eq!(parse_range(Some("bytes=x-y"), 100), Whole);
        assert_eq!(parse_range(Some("bytes=-"), 100), Whole);
        assert_eq!(
            parse_range(Some("bytes=18446744073709551615-"), 100),
            Unsatisfiable
        );
    }

    #[test]
    fn chunks_must_continue_where_the_file_ends() {
        assert_eq!(check_chunk(0, Some(10), 0, 100), Ok(()));
        assert_eq!(check_chunk(90, Some(10), 90, 100), Ok(()));
        assert_eq!(check_chunk(90, None, 90, 100), Ok(()));
        assert_eq!(
            check_chunk(10, Some(10), 20, 100),
            Err(ChunkError::Offset {
                given: 10,
                have: 20
            })
        );
        assert_eq!(
            check_chunk(95, Some(10), 95, 100),
            Err(ChunkError::TooLong { size: 100 })
        );
        assert_eq!(
            check_chunk(1, Some(u64::MAX), 1, 100),
            Err(ChunkError::TooLong { size: 100 })
        );
    }

    #[test]
    fn pacing_follows_the_rate_after_a_burst() {
        let t0 = Instant::now();
        let mut p = Pacer::new(1000);
        // 50 bytes = 50 ms: inside the burst allowance.
        assert_eq!(p.book(50, t0), Duration::ZERO);
        // Another 1000 bytes end at 1.05 s; wait until 100 ms before that.
        assert_eq!(p.book(1000, t0), Duration::from_millis(950));
        // Later, after an idle second and a half, the schedule starts afresh.
        let t1 = t0 + Duration::from_millis(2500);
        assert_eq!(p.book(100, t1), Duration::ZERO);
    }
}
