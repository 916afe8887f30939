//! Clipboard texts of any size over the data channel. A text whose base64 fits the legacy
//! 65400-character cap travels as one legacy message (`cw` / `clipboard`), so the legacy client
//! keeps working; a larger one is split into our multi-part extension, because one SCTP message is
//! limited to 64–256 KiB by browsers:
//! - browser → host: `cwp,<index>,<count>,<b64 of one byte slice>`
//! - host → browser: `{"type": "clipboard_part", "data": {"index": i, "count": n, "content": "<b64>"}}`
//!
//! Parts travel in order on the reliable, ordered channel; each is independent base64 of a slice
//! of the UTF-8 bytes, and the text is the UTF-8 decoding of their concatenation.

use base64::Engine;

use super::server::{CLIPBOARD_MAX_B64, ServerMessage};

/// Raw bytes per part: 45 KiB → 61440 base64 characters.
pub const PART_BYTES: usize = 45 * 1024;
/// Anything larger is refused with a log line, never truncated.
pub const MAX_BYTES: usize = 16 * 1024 * 1024;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The host → browser messages that carry `text`; None when it exceeds [`MAX_BYTES`].
pub fn clipboard_messages(text: &str) -> Option<Vec<ServerMessage>> {
    let bytes = text.as_bytes();
    if bytes.len() > MAX_BYTES {
        return None;
    }
    let whole = b64(bytes);
    if whole.len() <= CLIPBOARD_MAX_B64 {
        return Some(vec![ServerMessage::Clipboard { content: whole }]);
    }
    let count = bytes.len().div_ceil(PART_BYTES) as u32;
    Some(
        bytes
            .chunks(PART_BYTES)
            .enumerate()
            .map(|(i, chunk)| ServerMessage::ClipboardPart {
                index: i as u32,
                count,
                content: b64(chunk),
            })
            .collect(),
    )
}

/// The host → browser messages that carry a PNG image (always parts, `clipboard_image`); None
/// when it exceeds [`MAX_BYTES`].
pub fn image_messages(png: &[u8]) -> Option<Vec<ServerMessage>> {
    if png.is_empty() || png.len() > MAX_BYTES {
        return None;
    }
    let count = png.len().div_ceil(PART_BYTES) as u32;
    Some(
        png.chunks(PART_BYTES)
            .enumerate()
            .map(|(i, chunk)| ServerMessage::ClipboardImagePart {
                index: i as u32,
                count,
                content: b64(chunk),
            })
            .collect(),
    )
}

/// Why a multi-part transfer was abandoned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssemblyError {
    #[error("clipboard part {index}/{count} out of sequence")]
    OutOfSequence { index: u32, count: u32 },
    #[error("clipboard text larger than {MAX_BYTES} bytes")]
    TooLarge,
    #[error("clipboard text is not UTF-8")]
    NotUtf8,
}

/// Reassembles `cwp` parts; part 0 always starts a new text.
#[derive(Debug, Default)]
pub struct ClipboardAssembler {
    expected: Option<(u32, u32)>,
    bytes: Vec<u8>,
}

impl ClipboardAssembler {
    /// Feed one part; returns the whole text once the last part arrived.
    pub fn push(
        &mut self,
        index: u32,
        count: u32,
        bytes: &[u8],
    ) -> Result<Option<String>, AssemblyError> {
        match self.push_bytes(index, count, bytes)? {
            None => Ok(None),
            Some(bytes) => String::from_utf8(bytes)
                .map(Some)
                .map_err(|_| AssemblyError::NotUtf8),
        }
    }

    /// [`ClipboardAssembler::push`] for bytes that are not text (`cwip` images).
    pub fn push_bytes(
        &mut self,
        index: u32,
        count: u32,
        bytes: &[u8],
    ) -> Result<Option<Vec<u8>>, AssemblyError> {
        if index == 0 {
            self.bytes.clear();
            self.expected = Some((0, count));
        }
        match self.expected {
            Some((next, total)) if next == index && total == count => {}
            _ => {
                self.expected = None;
                self.bytes.clear();
                return Err(AssemblyError::OutOfSequence { index, count });
            }
        }
        if self.bytes.len() + bytes.len() > MAX_BYTES {
            self.expected = None;
            self.bytes.clear();
            return Err(AssemblyError::TooLarge);
        }
        self.bytes.extend_from_slice(bytes);
        if index + 1 < count {
            self.expected = Some((index + 1, count));
            return Ok(None);
        }
        self.expected = None;
        Ok(Some(std::mem::take(&mut self.bytes)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ClientMessage, parse_client_message};

    #[test]
    fn small_text_is_one_legacy_message() {
        let msgs = clipboard_messages("héllo €").expect("fits");
        assert_eq!(msgs.len(), 1);
        assert_eq!(
            msgs[0].to_json(),
            r#"{"type": "clipboard", "data": {"content": "aMOpbGxvIOKCrA=="}}"#
        );
    }

    #[test]
    fn a_megabyte_round_trips_through_parts() {
        let text: String = "日本語テキスト and ASCII ".repeat(40_000);
        assert!(text.len() > 1_000_000);
        let msgs = clipboard_messages(&text).expect("under the limit");
        assert!(msgs.len() > 1);
        let mut asm = ClipboardAssembler::default();
        let mut out = None;
        for m in &msgs {
            let ServerMessage::ClipboardPart {
                index,
                count,
                content,
            } = m
            else {
                panic!("expected parts, got {m:?}");
            };
            assert!(content.len() <= 61_440);
            // The browser sends the same slices back as `cwp` messages.
            let wire = format!("cwp,{index},{count},{content}");
            let Ok(ClientMessage::ClipboardPart {
                index,
                count,
                bytes,
            }) = parse_client_message(&wire)
            else {
                panic!("cwp did not parse");
            };
            out = asm.push(index, count, &bytes).expect("in sequence");
        }
        assert_eq!(out.as_deref(), Some(text.as_str()));
    }

    #[test]
    fn out_of_sequence_and_bad_parts_are_errors() {
        let mut asm = ClipboardAssembler::default();
        assert_eq!(
            asm.push(1, 3, b"x"),
            Err(AssemblyError::OutOfSequence { index: 1, count: 3 })
        );
        assert_eq!(asm.push(0, 2, b"a"), Ok(None));
        assert!(asm.push(0, 2, b"b").expect("restart").is_none());
        assert_eq!(asm.push(1, 2, b"c"), Ok(Some("bc".into())));
        assert_eq!(asm.push(0, 1, &[0xff]), Err(AssemblyError::NotUtf8));
        assert!(parse_client_message("cwp,2,2,YQ==").is_err());
        assert!(parse_client_message("cwp,0,0,YQ==").is_err());
        assert!(parse_client_message("cwp,0,1,!!").is_err());
        assert!(clipboard_messages(&"x".repeat(MAX_BYTES + 1)).is_none());
    }

    #[test]
    fn images_travel_as_parts_both_ways() {
        let png: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let msgs = image_messages(&png).expect("fits");
        assert_eq!(msgs.len(), 3);
        assert!(msgs[0].to_json().starts_with(
            r#"{"type": "clipboard_image", "data": {"index": 0, "count": 3, "content": ""#
        ));
        let mut a = ClipboardAssembler::default();
        let mut out = None;
        for (i, chunk) in png.chunks(PART_BYTES).enumerate() {
            let line = format!("cwip,{i},3,{}", b64(chunk));
            let Ok(ClientMessage::ClipboardImagePart {
                index,
                count,
                bytes,
            }) = parse_client_message(&line)
            else {
                panic!("{line:.40} did not parse");
            };
            out = a.push_bytes(index, count, &bytes).expect("in order");
        }
        assert_eq!(out.as_deref(), Some(png.as_slice()));
        assert_eq!(image_messages(&[]), None);
        assert!(matches!(
            parse_client_message("cio"),
            Ok(ClientMessage::ClipboardImageOptIn)
        ));
        assert!(parse_client_message("cwip,3,3,AAAA").is_err());
    }
}
