//! Framing of TURN over a byte stream (RFC 8656 §12.5, the same idea as RFC 4571): STUN
//! messages carry their own length, ChannelData messages carry theirs and are padded to a
//! multiple of four bytes on TCP. Also the first-byte test the host's port demux uses.

/// Largest frame accepted on a stream: a STUN header or ChannelData header plus the largest
/// length field. Anything bigger cannot be described by the length field anyway.
pub const MAX_FRAME: usize = 20 + 0xFFFF + 3;

/// Whether the first byte of a fresh TCP connection means TURN-over-TCP.
///
/// Only STUN (0x00–0x01: the two top bits of a STUN message type are zero and the methods we
/// speak are below 0x0200) is accepted here, although ChannelData (0x40–0x7F) is also TURN
/// framing: a connection can only carry ChannelData after a ChannelBind made on it, so a
/// connection never *starts* with it, and 0x40–0x7F covers the ASCII letters every HTTP
/// method starts with (`G`, `P`, `H`, ...). Treating those as TURN would steal HTTP.
pub fn is_turn_first_byte(b: u8) -> bool {
    b <= 0x01
}

/// A stream carried bytes that are neither STUN nor ChannelData; the connection must close
/// because framing is lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    #[error("byte 0x{0:02x} starts neither a STUN nor a ChannelData message")]
    BadLeadByte(u8),
    #[error("STUN length {0} is not a multiple of 4")]
    BadStunLength(usize),
}

/// Length of the complete frame at the start of `buf` (padding included), or `None` if more
/// bytes are needed to know or to have it all.
pub fn frame_len(buf: &[u8]) -> Result<Option<usize>, FramingError> {
    let Some(&first) = buf.first() else {
        return Ok(None);
    };
    let Some(len_bytes) = buf.get(2..4) else {
        // Validate the lead byte early so garbage fails on its first byte.
        return match first >> 6 {
            0 | 1 => Ok(None),
            _ => Err(FramingError::BadLeadByte(first)),
        };
    };
    let len = usize::from(u16::from_be_bytes([len_bytes[0], len_bytes[1]]));
    let total = match first >> 6 {
        0 => {
            if len % 4 != 0 {
                return Err(FramingError::BadStunLength(len));
            }
            20 + len
        }
        1 => 4 + len.next_multiple_of(4),
        _ => return Err(FramingError::BadLeadByte(first)),
    };
    Ok((buf.len() >= total).then_some(total))
}

/// Reassembles frames from the reads of one stream. Holds at most one incomplete frame plus the
/// last read, because [`frame_len`] rejects a bad lead byte at once and bounds a frame's size.
#[derive(Debug, Default)]
pub struct FrameBuffer {
    buf: Vec<u8>,
}

impl FrameBuffer {
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete frame (padding included), if one is buffered.
    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>, FramingError> {
        Ok(frame_len(&self.buf)?.map(|len| self.buf.drain(..len).collect()))
    }

    /// Bytes held, for bounds checks.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }
}

/// Pads an outgoing ChannelData message for a stream; STUN messages are already aligned.
pub fn pad_for_stream(mut msg: Vec<u8>) -> Vec<u8> {
    let padded = msg.len().next_multiple_of(4);
    msg.resize(padded, 0);
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_byte_demux() {
        assert!(is_turn_first_byte(0x00));
        assert!(is_turn_first_byte(0x01));
        for b in [
            b'G', b'P', b'H', b'O', b'D', b'C', 0x16, 0x40, 0x7F, 0x80, 0x02,
        ] {
            assert!(!is_turn_first_byte(b), "{b:#x}");
        }
    }

    #[test]
    fn stun_frames() {
        let mut msg = vec![0x00, 0x03, 0x00, 0x08];
        msg.extend_from_slice(&[0; 16]);
        assert_eq!(frame_len(&msg), Ok(None));
        msg.extend_from_slice(&[0; 8]);
        assert_eq!(frame_len(&msg), Ok(Some(28)));
        msg.extend_from_slice(&[0; 5]);
        assert_eq!(frame_len(&msg), Ok(Some(28)));
        assert_eq!(
            frame_len(&[0x00, 0x03, 0x00, 0x05]),
            Err(FramingError::BadStunLength(5))
        );
    }

    #[test]
    fn channel_data_frames_are_padded() {
        let msg = [0x40, 0x00, 0x00, 0x05, 1, 2, 3, 4, 5];
        assert_eq!(frame_len(&msg), Ok(None));
        let mut padded = msg.to_vec();
        padded.extend_from_slice(&[0, 0, 0]);
        assert_eq!(frame_len(&padded), Ok(Some(12)));
        assert_eq!(pad_for_stream(msg.to_vec()), padded);
        assert_eq!(pad_for_stream(vec![0x40, 0, 0, 0]).len(), 4);
    }

    #[test]
    fn garbage_fails_on_first_byte() {
        assert_eq!(frame_len(&[0x80]), Err(FramingError::BadLeadByte(0x80)));
        assert_eq!(
            frame_len(&[0xC0, 0, 0, 0]),
            Err(FramingError::BadLeadByte(0xC0))
        );
        assert_eq!(frame_len(&[]), Ok(None));
    }

    #[test]
    fn frame_buffer_reassembles_byte_by_byte() {
        let mut stun = vec![0x00, 0x01, 0x00, 0x04];
        stun.extend_from_slice(&[7; 16]);
        stun.extend_from_slice(&[1, 2, 3, 4]);
        let cd = vec![0x40, 0x00, 0x00, 0x01, 9, 0, 0, 0];
        let stream = [stun.clone(), cd.clone(), stun.clone()].concat();
        let mut fb = FrameBuffer::default();
        let mut frames = Vec::new();
        for b in &stream {
            fb.push(std::slice::from_ref(b));
            while let Some(f) = fb.next_frame().unwrap() {
                frames.push(f);
            }
        }
        assert_eq!(frames, vec![stun.clone(), cd, stun]);
        assert_eq!(fb.buffered(), 0);
    }

    #[test]
    fn frame_buffer_fails_fast_on_garbage() {
        let mut fb = FrameBuffer::default();
        fb.push(b"\x00\x01\x00\x00");
        assert_eq!(fb.next_frame(), Ok(None));
        fb.push(&[0; 16]);
        assert!(fb.next_frame().unwrap().is_some());
        // HTTP after TURN: 'G' is a ChannelData lead byte, so "ET" (0x4554) reads as a length
        // and the buffer waits for 17 748 bytes, never more than MAX_FRAME.
        fb.push(b"GET / HTTP/1.1");
        assert_eq!(fb.next_frame(), Ok(None));
        assert!(fb.buffered() < MAX_FRAME);
        let mut fb = FrameBuffer::default();
        fb.push(&[0xFF]);
        assert_eq!(fb.next_frame(), Err(FramingError::BadLeadByte(0xFF)));
    }

    #[test]
    fn max_frame_bounds_any_length_field() {
        let stun = [0x00, 0x01, 0xFF, 0xFC];
        let cd = [0x4F, 0xFF, 0xFF, 0xFF];
        let stun_total = 20 + 0xFFFC;
        assert!(stun_total <= MAX_FRAME);
        let mut buf = cd.to_vec();
        buf.resize(MAX_FRAME, 0);
        assert_eq!(frame_len(&buf), Ok(Some(4 + 0x10000)));
        assert!(frame_len(&stun).unwrap().is_none());
    }
}
