//! The header of every binary WebSocket message in streaming mode: one H.264 access unit (Annex
//! B, start codes included, SPS/PPS in front of every keyframe) or one Opus packet per message.
//!
//! ```text
//! byte 0     stream id: 0 video, 1 audio
//! byte 1     flags: bit 0 keyframe, bit 1 config (the unit carries codec configuration:
//!            SPS/PPS for H.264); other bits 0
//! byte 2     codec: 1 H.264, 2 H.265, 3 VP8, 4 VP9, 5 AV1 (video); 16 Opus (audio)
//! byte 3     0 (reserved)
//! bytes 4-11 capture timestamp, µs since the Unix epoch, big-endian u64
//! bytes 12-  payload
//! ```
//!
//! Only the host sends binary messages; [`FrameHeader::parse`] is what the host applies to a
//! binary message a client sends anyway, so a hostile one gets a precise error.

/// Bytes before the payload.
pub const HEADER_LEN: usize = 12;

/// Bit 0 of byte 1.
pub const FLAG_KEYFRAME: u8 = 0x01;
/// Bit 1 of byte 1.
pub const FLAG_CONFIG: u8 = 0x02;

/// Which stream a message belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamId {
    Video = 0,
    Audio = 1,
}

/// The codec of a message's payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    H264 = 1,
    H265 = 2,
    Vp8 = 3,
    Vp9 = 4,
    Av1 = 5,
    Opus = 16,
}

impl Codec {
    fn from_byte(b: u8) -> Option<Self> {
        Some(match b {
            1 => Self::H264,
            2 => Self::H265,
            3 => Self::Vp8,
            4 => Self::Vp9,
            5 => Self::Av1,
            16 => Self::Opus,
            _ => return None,
        })
    }

    /// The stream a codec's payload belongs on.
    pub fn stream(self) -> StreamId {
        match self {
            Self::Opus => StreamId::Audio,
            _ => StreamId::Video,
        }
    }

    /// The codec of a video encoder of the registry.
    pub fn of_video(codec: crate::encoder::VideoCodec) -> Self {
        use crate::encoder::VideoCodec as V;
        match codec {
            V::H264 => Self::H264,
            V::H265 => Self::H265,
            V::Vp8 => Self::Vp8,
            V::Vp9 => Self::Vp9,
            V::Av1 => Self::Av1,
        }
    }
}

/// A media message's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    pub stream: StreamId,
    pub keyframe: bool,
    pub config: bool,
    pub codec: Codec,
    /// Capture time, µs since the Unix epoch.
    pub capture_us: u64,
}

/// Why a binary message is not a media frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("binary message of {0} bytes is shorter than the {HEADER_LEN}-byte header")]
    Truncated(usize),
    #[error("unknown stream id {0}")]
    UnknownStream(u8),
    #[error("unknown codec {0}")]
    UnknownCodec(u8),
    #[error("codec {codec:?} on the {stream:?} stream")]
    WrongStream { codec: Codec, stream: StreamId },
    #[error("reserved bits set in the header (flags {flags:#04x}, byte 3 {reserved:#04x})")]
    Reserved { flags: u8, reserved: u8 },
    #[error("binary message of {len} bytes exceeds the {max}-byte limit")]
    TooLarge { len: usize, max: usize },
}

impl FrameHeader {
    /// The header's 12 bytes.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0] = self.stream as u8;
        out[1] = if self.keyframe { FLAG_KEYFRAME } else { 0 }
            | if self.config { FLAG_CONFIG } else { 0 };
        out[2] = self.codec as u8;
        out[4..].copy_from_slice(&self.capture_us.to_be_bytes());
        out
    }

    /// Header followed by `payload`, as one message.
    pub fn message(&self, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
        out.extend_from_slice(&self.encode());
        out.extend_from_slice(payload);
        out
    }

    /// Parse a message of at most `max` bytes; returns the header and the payload.
    pub fn parse(msg: &[u8], max: usize) -> Result<(Self, &[u8]), FrameError> {
        if msg.len() > max {
            return Err(FrameError::TooLarge {
                len: msg.len(),
                max,
            });
        }
        let Some((head, payload)) = msg.split_first_chunk::<HEADER_LEN>() else {
            return Err(FrameError::Truncated(msg.len()));
        };
        let stream = match head[0] {
            0 => StreamId::Video,
            1 => StreamId::Audio,
            other => return Err(FrameError::UnknownStream(other)),
        };
        let (flags, reserved) = (head[1], head[3]);
        if flags & !(FLAG_KEYFRAME | FLAG_CONFIG) != 0 || reserved != 0 {
            return Err(FrameError::Reserved { flags, reserved });
        }
        let codec = Codec::from_byte(head[2]).ok_or(FrameError::UnknownCodec(head[2]))?;
        if codec.stream() != stream {
            return Err(FrameError::WrongStream { codec, stream });
        }
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&head[4..]);
        Ok((
            Self {
                stream,
                keyframe: flags & FLAG_KEYFRAME != 0,
                config: flags & FLAG_CONFIG != 0,
                codec,
                capture_us: u64::from_be_bytes(ts),
            },
            payload,
        ))
    }
}

/// Whether an H.264 Annex B access unit carries a sequence parameter set (NAL type 7), which
/// the encoders put in front of every IDR with byte-stream output.
pub fn h264_has_sps(au: &[u8]) -> bool {
    let mut i = 0;
    while i + 3 < au.len() {
        if au[i] == 0 && au[i + 1] == 0 && au[i + 2] == 1 {
            if au[i + 3] & 0x1f == 7 {
                return true;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn video(keyframe: bool) -> FrameHeader {
        FrameHeader {
            stream: StreamId::Video,
            keyframe,
            config: keyframe,
            codec: Codec::H264,
            capture_us: 0x0102_0304_0506_0708,
        }
    }

    #[test]
    fn header_round_trips_with_its_payload() {
        let msg = video(true).message(b"\0\0\0\x01\x67abc");
        assert_eq!(&msg[..4], &[0, 3, 1, 0]);
        assert_eq!(&msg[4..12], &[1, 2, 3, 4, 5, 6, 7, 8]);
        let (h, p) = FrameHeader::parse(&msg, 1 << 20).expect("valid");
        assert_eq!(h, video(true));
        assert_eq!(p, b"\0\0\0\x01\x67abc");
        let audio = FrameHeader {
            stream: StreamId::Audio,
            keyframe: false,
            config: false,
            codec: Codec::Opus,
            capture_us: 7,
        };
        let msg = audio.message(&[]);
        let (h, p) = FrameHeader::parse(&msg, 64).expect("empty payload");
        assert_eq!((h, p.len()), (audio, 0));
    }

    #[test]
    fn hostile_messages_get_precise_errors() {
        let good = video(false).message(b"xyz");
        assert_eq!(
            FrameHeader::parse(&good[..11], 100),
            Err(FrameError::Truncated(11))
        );
        assert_eq!(FrameHeader::parse(&[], 100), Err(FrameError::Truncated(0)));
        assert_eq!(
            FrameHeader::parse(&good, 14),
            Err(FrameError::TooLarge { len: 15, max: 14 })
        );
        let mut bad = good.clone();
        bad[0] = 9;
        assert_eq!(
            FrameHeader::parse(&bad, 100),
            Err(FrameError::UnknownStream(9))
        );
        let mut bad = good.clone();
        bad[2] = 99;
        assert_eq!(
            FrameHeader::parse(&bad, 100),
            Err(FrameError::UnknownCodec(99))
        );
        let mut bad = good.clone();
        bad[2] = Codec::Opus as u8;
        assert!(matches!(
            FrameHeader::parse(&bad, 100),
            Err(FrameError::WrongStream { .. })
        ));
        let mut bad = good.clone();
        bad[1] = 0x80;
        assert!(matches!(
            FrameHeader::parse(&bad, 100),
            Err(FrameError::Reserved { .. })
        ));
        let mut bad = good;
        bad[3] = 1;
        assert!(matches!(
            FrameHeader::parse(&bad, 100),
            Err(FrameError::Reserved { .. })
        ));
    }

    #[test]
    fn sps_is_found_behind_either_start_code() {
        assert!(h264_has_sps(b"\0\0\0\x01\x67\x42\0\0\x01\x68"));
        assert!(h264_has_sps(b"\0\0\x01\x09\x10\0\0\x01\x27\x42"));
        assert!(!h264_has_sps(b"\0\0\0\x01\x41\x9a\x67"));
        assert!(!h264_has_sps(b"\0\0\x01"));
    }
}
