//! The webcam socket's records. The host sends frames, each a 40-byte little-endian header
//! followed by `payload_len` bytes of tightly packed pixels:
//!
//! | offset | field | |
//! |---|---|---|
//! | 0 | magic `SWF1` | |
//! | 4 | fourcc | V4L2 code of the payload (`YU12`, `YUYV`, `NV12`) |
//! | 8 | width, 12 height | pixels, even, 2..=[`MAX_DIM`] |
//! | 16 | seq | u64, counts frames from the host's side |
//! | 24 | timestamp | u64, microseconds of the host's monotonic clock at capture |
//! | 32 | payload_len | u32, 0 (a format announcement) or exactly the frame's size |
//! | 36 | reserved | 0 |
//!
//! The interposer sends credits: `SWC1` + u32 count, one frame allowed per credit. The host
//! announces the format (payload 0) as soon as a client connects and it knows it, then sends a
//! frame per credit. Nothing here panics on any input: every check is a [`WireError`].

/// Length of a frame header.
pub const HEADER_LEN: usize = 40;
/// Length of a credit record.
pub const CREDIT_LEN: usize = 8;
/// Largest width or height accepted (larger is garbage or an attack, not a webcam).
pub const MAX_DIM: u32 = 4096;
/// Most credits one record may grant (a client never queues more buffers than this).
pub const MAX_CREDITS: u32 = 64;

const FRAME_MAGIC: [u8; 4] = *b"SWF1";
const CREDIT_MAGIC: [u8; 4] = *b"SWC1";

/// A V4L2 fourcc as the kernel spells it (`v4l2_fourcc(a, b, c, d)`).
pub const fn fourcc(c: &[u8; 4]) -> u32 {
    u32::from_le_bytes(*c)
}

/// The pixel formats the socket carries and the interposer offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PixFmt {
    /// Planar Y, U, V 4:2:0 (`YU12`, GStreamer `I420`).
    I420,
    /// Packed Y0 U Y1 V 4:2:2 (`YUYV`, GStreamer `YUY2`).
    Yuyv,
    /// Planar Y then interleaved UV 4:2:0 (`NV12`).
    Nv12,
}

impl PixFmt {
    pub const ALL: [PixFmt; 3] = [PixFmt::Yuyv, PixFmt::I420, PixFmt::Nv12];

    pub const fn code(self) -> u32 {
        match self {
            PixFmt::I420 => fourcc(b"YU12"),
            PixFmt::Yuyv => fourcc(b"YUYV"),
            PixFmt::Nv12 => fourcc(b"NV12"),
        }
    }

    pub fn from_code(code: u32) -> Option<PixFmt> {
        PixFmt::ALL.into_iter().find(|f| f.code() == code)
    }

    /// The description `VIDIOC_ENUM_FMT` gives (at most 31 bytes).
    pub const fn description(self) -> &'static str {
        match self {
            PixFmt::I420 => "Planar YUV 4:2:0",
            PixFmt::Yuyv => "YUYV 4:2:2",
            PixFmt::Nv12 => "Y/UV 4:2:0",
        }
    }

    /// Bytes per line of the first plane.
    pub const fn bytes_per_line(self, width: u32) -> u32 {
        match self {
            PixFmt::Yuyv => width * 2,
            PixFmt::I420 | PixFmt::Nv12 => width,
        }
    }

    /// Size of one tightly packed frame; None when it would overflow.
    pub fn frame_size(self, width: u32, height: u32) -> Option<u32> {
        let px = width.checked_mul(height)?;
        match self {
            PixFmt::Yuyv => px.checked_mul(2),
            PixFmt::I420 | PixFmt::Nv12 => px.checked_add(px / 2),
        }
    }
}

/// Why bytes from the socket are not a valid record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireError {
    /// Fewer bytes than a header or credit record.
    Truncated { got: usize, need: usize },
    /// The record does not start with the expected magic.
    BadMagic([u8; 4]),
    /// A fourcc this format does not carry.
    UnknownFourcc(u32),
    /// Width or height zero, odd or larger than [`MAX_DIM`].
    BadSize { width: u32, height: u32 },
    /// `payload_len` is neither 0 nor the frame's size.
    PayloadMismatch { got: u32, expected: u32 },
    /// A credit record granting 0 or more than [`MAX_CREDITS`].
    BadCredit(u32),
}

// The wire crate has no dependencies (the interposer is built by an older compiler for i686),
// so `Display` is written by hand rather than derived with thiserror.
impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WireError::Truncated { got, need } => {
                write!(f, "record truncated: {got} of {need} bytes")
            }
            WireError::BadMagic(m) => write!(f, "bad magic {m:02x?}"),
            WireError::UnknownFourcc(c) => write!(f, "unknown fourcc {:?}", c.to_le_bytes()),
            WireError::BadSize { width, height } => write!(f, "bad frame size {width}x{height}"),
            WireError::PayloadMismatch { got, expected } => {
                write!(f, "payload of {got} bytes, frame needs {expected}")
            }
            WireError::BadCredit(n) => write!(f, "credit of {n} out of range"),
        }
    }
}

impl std::error::Error for WireError {}

/// One frame header (or, with `payload_len == 0`, a format announcement).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    pub format: PixFmt,
    pub width: u32,
    pub height: u32,
    pub seq: u64,
    pub timestamp_us: u64,
    pub payload_len: u32,
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(w)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}

/// Whether `width`×`height` is a size the format carries.
pub fn valid_size(width: u32, height: u32) -> bool {
    (2..=MAX_DIM).contains(&width)
        && (2..=MAX_DIM).contains(&height)
        && width.is_multiple_of(2)
        && height.is_multiple_of(2)
}

impl FrameHeader {
    /// A header for a full frame of `format` at `width`×`height`.
    pub fn frame(
        format: PixFmt,
        width: u32,
        height: u32,
        seq: u64,
        timestamp_us: u64,
    ) -> Result<FrameHeader, WireError> {
        let h = FrameHeader {
            format,
            width,
            height,
            seq,
            timestamp_us,
            payload_len: 0,
        };
        let expected = h.expected_len()?;
        Ok(FrameHeader {
            payload_len: expected,
            ..h
        })
    }

    /// The size a full frame of this header's format needs.
    pub fn expected_len(&self) -> Result<u32, WireError> {
        if !valid_size(self.width, self.height) {
            return Err(WireError::BadSize {
                width: self.width,
                height: self.height,
            });
        }
        self.format
            .frame_size(self.width, self.height)
            .ok_or(WireError::BadSize {
                width: self.width,
                height: self.height,
            })
    }

    /// Whether this record is only a format announcement.
    pub fn is_announcement(&self) -> bool {
        self.payload_len == 0
    }

    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0..4].copy_from_slice(&FRAME_MAGIC);
        b[4..8].copy_from_slice(&self.format.code().to_le_bytes());
        b[8..12].copy_from_slice(&self.width.to_le_bytes());
        b[12..16].copy_from_slice(&self.height.to_le_bytes());
        b[16..24].copy_from_slice(&self.seq.to_le_bytes());
        b[24..32].copy_from_slice(&self.timestamp_us.to_le_bytes());
        b[32..36].copy_from_slice(&self.payload_len.to_le_bytes());
        b
    }

    /// Parse and validate a header from the first [`HEADER_LEN`] bytes of `b`.
    pub fn parse(b: &[u8]) -> Result<FrameHeader, WireError> {
        if b.len() < HEADER_LEN {
            return Err(WireError::Truncated {
                got: b.len(),
                need: HEADER_LEN,
            });
        }
        let mut magic = [0u8; 4];
        magic.copy_from_slice(&b[0..4]);
        if magic != FRAME_MAGIC {
            return Err(WireError::BadMagic(magic));
        }
        let code = u32_at(b, 4);
        let format = PixFmt::from_code(code).ok_or(WireError::UnknownFourcc(code))?;
        let h = FrameHeader {
            format,
            width: u32_at(b, 8),
            height: u32_at(b, 12),
            seq: u64_at(b, 16),
            timestamp_us: u64_at(b, 24),
            payload_len: u32_at(b, 32),
        };
        let expected = h.expected_len()?;
        if h.payload_len != 0 && h.payload_len != expected {
            return Err(WireError::PayloadMismatch {
                got: h.payload_len,
                expected,
            });
        }
        Ok(h)
    }
}

/// Encode a credit record granting `n` frames.
pub fn encode_credit(n: u32) -> [u8; CREDIT_LEN] {
    let mut b = [0u8; CREDIT_LEN];
    b[0..4].copy_from_slice(&CREDIT_MAGIC);
    b[4..8].copy_from_slice(&n.to_le_bytes());
    b
}

/// Parse a credit record from the first [`CREDIT_LEN`] bytes of `b`.
pub fn parse_credit(b: &[u8]) -> Result<u32, WireError> {
    if b.len() < CREDIT_LEN {
        return Err(WireError::Truncated {
            got: b.len(),
            need: CREDIT_LEN,
        });
    }
    let mut magic = [0u8; 4];
    magic.copy_from_slice(&b[0..4]);
    if magic != CREDIT_MAGIC {
        return Err(WireError::BadMagic(magic));
    }
    let n = u32_at(b, 4);
    if n == 0 || n > MAX_CREDITS {
        return Err(WireError::BadCredit(n));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> FrameHeader {
        FrameHeader::frame(PixFmt::I420, 640, 480, 7, 123_456).unwrap()
    }

    #[test]
    fn a_header_round_trips() {
        let h = header();
        assert_eq!(h.payload_len, 640 * 480 * 3 / 2);
        assert_eq!(FrameHeader::parse(&h.encode()), Ok(h));
        let ann = FrameHeader {
            payload_len: 0,
            ..h
        };
        assert!(FrameHeader::parse(&ann.encode()).unwrap().is_announcement());
    }

    #[test]
    fn truncated_input_is_an_error_at_every_length() {
        let b = header().encode();
        for n in 0..HEADER_LEN {
            assert_eq!(
                FrameHeader::parse(&b[..n]),
                Err(WireError::Truncated {
                    got: n,
                    need: HEADER_LEN
                })
            );
        }
        assert!(parse_credit(&encode_credit(1)[..7]).is_err());
    }

    #[test]
    fn oversized_and_odd_sizes_are_refused() {
        for (w, h) in [
            (8192, 480),
            (640, 4098),
            (0, 480),
            (641, 480),
            (640, 1),
            (u32::MAX, u32::MAX),
        ] {
            let mut b = header().encode();
            b[8..12].copy_from_slice(&w.to_le_bytes());
            b[12..16].copy_from_slice(&h.to_le_bytes());
            assert_eq!(
                FrameHeader::parse(&b),
                Err(WireError::BadSize {
                    width: w,
                    height: h
                }),
                "{w}x{h}"
            );
        }
        let mut b = header().encode();
        b[32..36].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            FrameHeader::parse(&b),
            Err(WireError::PayloadMismatch { .. })
        ));
        assert!(FrameHeader::frame(PixFmt::Yuyv, 4097, 2, 0, 0).is_err());
    }

    #[test]
    fn garbage_is_refused_not_panicked_on() {
        let mut b = header().encode();
        b[0] = b'X';
        assert!(matches!(
            FrameHeader::parse(&b),
            Err(WireError::BadMagic(_))
        ));
        let mut b = header().encode();
        b[4..8].copy_from_slice(b"MJPG");
        assert_eq!(
            FrameHeader::parse(&b),
            Err(WireError::UnknownFourcc(fourcc(b"MJPG")))
        );
        // A deterministic pseudo-random sweep: every input parses or errors.
        let mut x = 0x1234_5678u32;
        for _ in 0..20_000 {
            let mut g = [0u8; HEADER_LEN];
            for byte in g.iter_mut() {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                *byte = x as u8;
            }
            g[0..4].copy_from_slice(b"SWF1");
            if let Ok(h) = FrameHeader::parse(&g) {
                assert!(h.payload_len == 0 || h.payload_len == h.expected_len().unwrap());
            }
            let _ = parse_credit(&g);
        }
    }

    #[test]
    fn credits_round_trip_and_are_bounded() {
        assert_eq!(parse_credit(&encode_credit(4)), Ok(4));
        assert_eq!(
            parse_credit(&encode_credit(0)),
            Err(WireError::BadCredit(0))
        );
        assert_eq!(
            parse_credit(&encode_credit(65)),
            Err(WireError::BadCredit(65))
        );
        assert!(matches!(
            parse_credit(b"SWF1\x01\0\0\0"),
            Err(WireError::BadMagic(_))
        ));
    }

    #[test]
    fn frame_sizes_per_format() {
        assert_eq!(PixFmt::Yuyv.frame_size(640, 480), Some(614_400));
        assert_eq!(PixFmt::Nv12.frame_size(640, 480), Some(460_800));
        assert_eq!(PixFmt::from_code(fourcc(b"YU12")), Some(PixFmt::I420));
        assert_eq!(PixFmt::Yuyv.bytes_per_line(640), 1280);
    }
}
