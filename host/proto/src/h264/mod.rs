//! H.264 elementary-stream pieces the host needs without a codec library: splitting an Annex B
//! access unit into NAL units, the parameter-set and slice-header fields that say how an
//! encoder numbers its pictures ([`params`]), and the *repeat picture* ([`repeat`]): a
//! non-reference P picture whose macroblocks are all skipped, which a decoder shows as an exact
//! copy of the picture before it. The host sends one in place of encoding an unchanged screen
//! again (docs/architecture.md, "Keep-alive frames").

pub mod bits;
pub mod params;
pub mod repeat;

pub use repeat::{StreamState, Unrepeatable};

/// Bad or unsupported H.264 data. Everything here parses an encoder's output, but it is still
/// data from outside this crate, so it never panics.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum H264Error {
    #[error("H.264 data ends early")]
    Truncated,
    #[error("invalid H.264 data: {0}")]
    Invalid(&'static str),
    #[error("H.264 feature not handled: {0}")]
    Unsupported(&'static str),
    #[error("slice refers to unknown picture parameter set {0}")]
    UnknownParameterSet(u32),
}

/// NAL unit types (ITU-T H.264 table 7-1) used here.
pub mod nal_type {
    /// A coded slice of a non-IDR picture.
    pub const SLICE: u8 = 1;
    /// A coded slice of an IDR picture.
    pub const IDR: u8 = 5;
    pub const SPS: u8 = 7;
    pub const PPS: u8 = 8;
}

/// Where each NAL unit of an Annex B byte stream begins (the byte after its start code),
/// found lazily: a caller that stops early never scans the rest of a large picture.
pub fn nal_starts(stream: &[u8]) -> impl Iterator<Item = usize> + '_ {
    let mut i = 0;
    std::iter::from_fn(move || {
        while let Some(w) = stream.get(i..i + 3) {
            i += 1;
            if w == [0, 0, 1] {
                i += 2;
                return Some(i);
            }
        }
        None
    })
}

/// The NAL unit starting at `start` (from [`nal_starts`]) and ending where the next one's start
/// code begins (`next`, or the end of the stream). Zero bytes before a start code are stuffing
/// and dropped: a NAL unit never ends in a zero byte.
pub fn nal_unit(stream: &[u8], start: usize, next: Option<usize>) -> &[u8] {
    let end = next.map_or(stream.len(), |n| n.saturating_sub(3));
    let mut unit = stream.get(start..end.max(start)).unwrap_or_default();
    while let [rest @ .., 0] = unit {
        unit = rest;
    }
    unit
}

/// The NAL units of an Annex B byte stream, each without its start code (`00 00 01` or
/// `00 00 00 01`).
pub fn nal_units(stream: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut starts = nal_starts(stream).peekable();
    std::iter::from_fn(move || {
        loop {
            let start = starts.next()?;
            let unit = nal_unit(stream, start, starts.peek().copied());
            if !unit.is_empty() {
                return Some(unit);
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annex_b_streams_split_at_either_start_code() {
        let stream = [
            0, 0, 0, 1, 0x67, 0x42, 0, 0, 1, 0x68, 0xce, 0, 0, 0, 0, 1, 0x41, 0x9a, 0, 0, 3, 1,
        ];
        let units: Vec<&[u8]> = nal_units(&stream).collect();
        assert_eq!(
            units,
            [&[0x67, 0x42][..], &[0x68, 0xce], &[0x41, 0x9a, 0, 0, 3, 1]]
        );
        assert_eq!(nal_units(&[]).count(), 0);
        assert_eq!(nal_units(&[0, 0, 1]).count(), 0);
        assert_eq!(nal_units(&[1, 2, 3, 4]).count(), 0, "no start code");
    }
}
