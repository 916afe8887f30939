//! Event records (§7.A.3, §7.B) and the evdev axis ranges.
//!
//! js sockets carry Linux `struct js_event` (8 bytes). event sockets carry each event as two
//! `struct input_event` (the event, then `EV_SYN/SYN_REPORT`), laid out for the word size the
//! interposer reported (8 ⇒ 24-byte records, 4 ⇒ 16-byte records).
//!
//! The legacy branch advertised Z/RZ as 0..255 and hats as −1..1 but sent ±32767 on both
//! (docs/protocol.md §11 item 15). Here [`abs_info`] is the single source of the advertised range and
//! [`evdev_value`] converts the js-scale value into it, so what `EVIOCGABS` reports is what
//! arrives.

/// `js_event.type`: button.
pub const JS_EVENT_BUTTON: u8 = 0x01;
/// `js_event.type`: axis.
pub const JS_EVENT_AXIS: u8 = 0x02;
/// `js_event.type` flag for synthetic initial-state events (the legacy host never sets it).
pub const JS_EVENT_INIT: u8 = 0x80;
/// Size of `struct js_event`.
pub const JS_EVENT_LEN: usize = 8;

/// `EV_SYN`.
pub const EV_SYN: u16 = 0x00;
/// `EV_KEY`.
pub const EV_KEY: u16 = 0x01;
/// `EV_REL`.
pub const EV_REL: u16 = 0x02;
/// `EV_ABS`.
pub const EV_ABS: u16 = 0x03;
/// `EV_FF`.
pub const EV_FF: u16 = 0x15;
/// `SYN_REPORT`.
pub const SYN_REPORT: u16 = 0;
/// `ABS_Z` (left trigger on xpad).
pub const ABS_Z: u8 = 0x02;
/// `ABS_RZ` (right trigger on xpad).
pub const ABS_RZ: u8 = 0x05;
/// `ABS_HAT0X`.
pub const ABS_HAT0X: u8 = 0x10;
/// `ABS_HAT3Y`.
pub const ABS_HAT3Y: u8 = 0x17;
/// Full scale of js axis values (`±32767`).
pub const JS_AXIS_MAX: i32 = 32767;

/// Linux `struct js_event`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsEvent {
    /// Milliseconds, wrapping (the legacy host sends epoch ms mod 1e9).
    pub time: u32,
    /// Button 0/1 or axis −32767..32767.
    pub value: i16,
    /// [`JS_EVENT_BUTTON`] or [`JS_EVENT_AXIS`], optionally with [`JS_EVENT_INIT`].
    pub kind: u8,
    /// Button or axis number (index into the device's maps, not an evdev code).
    pub number: u8,
}

impl JsEvent {
    /// Encodes as `"IhBB"` (native endianness).
    pub fn encode(&self) -> [u8; JS_EVENT_LEN] {
        let mut out = [0u8; JS_EVENT_LEN];
        out[..4].copy_from_slice(&self.time.to_ne_bytes());
        out[4..6].copy_from_slice(&self.value.to_ne_bytes());
        out[6] = self.kind;
        out[7] = self.number;
        out
    }

    /// Decodes one record.
    pub fn decode(buf: &[u8; JS_EVENT_LEN]) -> Self {
        Self {
            time: u32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]),
            value: i16::from_ne_bytes([buf[4], buf[5]]),
            kind: buf[6],
            number: buf[7],
        }
    }
}

/// Linux `struct input_event` with a `(sec, usec)` timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputEvent {
    /// Seconds.
    pub sec: i64,
    /// Microseconds.
    pub usec: i64,
    /// `EV_*` type.
    pub kind: u16,
    /// Key or abs code.
    pub code: u16,
    /// Value in the advertised range.
    pub value: i32,
}

/// Size of one `input_event` for a word size of 4 or 8 bytes (anything else is treated as 8).
pub const fn input_event_len(word: usize) -> usize {
    if word == 4 { 16 } else { 24 }
}

impl InputEvent {
    /// Encodes as `"llHHi"` for word size 8 or `"iiHHi"` for word size 4; returns the bytes
    /// written into `out` (which must hold 24 bytes).
    pub fn encode_into(&self, word: usize, out: &mut [u8; 24]) -> usize {
        let at = if word == 4 {
            out[..4].copy_from_slice(&(self.sec as i32).to_ne_bytes());
            out[4..8].copy_from_slice(&(self.usec as i32).to_ne_bytes());
            8
        } else {
            out[..8].copy_from_slice(&self.sec.to_ne_bytes());
            out[8..16].copy_from_slice(&self.usec.to_ne_bytes());
            16
        };
        out[at..at + 2].copy_from_slice(&self.kind.to_ne_bytes());
        out[at + 2..at + 4].copy_from_slice(&self.code.to_ne_bytes());
        out[at + 4..at + 8].copy_from_slice(&self.value.to_ne_bytes());
        at + 8
    }

    /// Encodes the event followed by its `EV_SYN/SYN_REPORT/0`, as the host sends it.
    pub fn encode_with_syn(&self, word: usize) -> Vec<u8> {
        let syn = InputEvent {
            kind: EV_SYN,
            code: SYN_REPORT,
            value: 0,
            ..*self
        };
        let mut buf = [0u8; 24];
        let mut out = Vec::with_capacity(48);
        let n = self.encode_into(word, &mut buf);
        out.extend_from_slice(&buf[..n]);
        let n = syn.encode_into(word, &mut buf);
        out.extend_from_slice(&buf[..n]);
        out
    }

    /// Decodes one record of the given word size; `None` if `buf` is too short.
    pub fn decode(word: usize, buf: &[u8]) -> Option<Self> {
        let len = input_event_len(word);
        let b = buf.get(..len)?;
        let (sec, usec, at) = if word == 4 {
            let s = i32::from_ne_bytes(b[..4].try_into().ok()?);
            let u = i32::from_ne_bytes(b[4..8].try_into().ok()?);
            (i64::from(s), i64::from(u), 8)
        } else {
            let s = i64::from_ne_bytes(b[..8].try_into().ok()?);
            let u = i64::from_ne_bytes(b[8..16].try_into().ok()?);
            (s, u, 16)
        };
        Some(Self {
            sec,
            usec,
            kind: u16::from_ne_bytes(b[at..at + 2].try_into().ok()?),
            code: u16::from_ne_bytes(b[at + 2..at + 4].try_into().ok()?),
            value: i32::from_ne_bytes(b[at + 4..at + 8].try_into().ok()?),
        })
    }
}

/// Linux `struct input_absinfo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbsInfo {
    /// Current value (reported as the rest position).
    pub value: i32,
    /// Minimum.
    pub minimum: i32,
    /// Maximum.
    pub maximum: i32,
    /// Noise filter.
    pub fuzz: i32,
    /// Dead zone.
    pub flat: i32,
    /// Units per mm; 0 for gamepads.
    pub resolution: i32,
}

impl AbsInfo {
    /// The 24-byte native encoding.
    pub fn encode(&self) -> [u8; 24] {
        let mut out = [0u8; 24];
        let fields = [
            self.value,
            self.minimum,
            self.maximum,
            self.fuzz,
            self.flat,
            self.resolution,
        ];
        for (i, f) in fields.iter().enumerate() {
            out[4 * i..4 * i + 4].copy_from_slice(&f.to_ne_bytes());
        }
        out
    }
}

/// The range advertised for an abs code; triggers and hats use the real xpad ranges so that
/// evdev readers that hard-code them (and SDL, which reads them) see a genuine pad.
pub fn abs_info(code: u8) -> AbsInfo {
    let (minimum, maximum, fuzz, flat) = match code {
        ABS_Z | ABS_RZ => (0, 255, 0, 0),
        ABS_HAT0X..=ABS_HAT3Y => (-1, 1, 0, 0),
        0x00 | 0x01 | 0x03 | 0x04 => (-JS_AXIS_MAX, JS_AXIS_MAX, 16, 128),
        _ => (-JS_AXIS_MAX, JS_AXIS_MAX, 0, 0),
    };
    AbsInfo {
        value: 0,
        minimum,
        maximum,
        fuzz,
        flat,
        resolution: 0,
    }
}

/// Converts a js-scale axis value (−32767..32767) into the range [`abs_info`] advertises.
pub fn evdev_value(code: u8, js_value: i16) -> i32 {
    let v = i32::from(js_value).clamp(-JS_AXIS_MAX, JS_AXIS_MAX);
    match code {
        // −32767..32767 → 0..255, rounding half up; exact at both ends and 0 ⇒ 128.
        ABS_Z | ABS_RZ => ((v + JS_AXIS_MAX) * 255 + JS_AXIS_MAX) / (2 * JS_AXIS_MAX),
        ABS_HAT0X..=ABS_HAT3Y => v.signum(),
        _ => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn js_event_vectors_from_reference() {
        // §12: button 0 pressed at t=123456 ms; axis 2 at −32767.
        let press = JsEvent {
            time: 123_456,
            value: 1,
            kind: JS_EVENT_BUTTON,
            number: 0,
        };
        assert_eq!(
            press.encode(),
            [0x40, 0xe2, 0x01, 0x00, 0x01, 0x00, 0x01, 0x00]
        );
        let trig = JsEvent {
            time: 123_456,
            value: -32767,
            kind: JS_EVENT_AXIS,
            number: 2,
        };
        assert_eq!(
            trig.encode(),
            [0x40, 0xe2, 0x01, 0x00, 0x01, 0x80, 0x02, 0x02]
        );
        assert_eq!(JsEvent::decode(&trig.encode()), trig);
    }

    #[test]
    fn input_event_pairs_for_both_word_sizes() {
        let ev = InputEvent {
            sec: 5,
            usec: 7,
            kind: EV_KEY,
            code: 0x130,
            value: 1,
        };
        let wide = ev.encode_with_syn(8);
        assert_eq!(wide.len(), 48);
        assert_eq!(&wide[16..24], &[0x01, 0x00, 0x30, 0x01, 1, 0, 0, 0]);
        assert_eq!(
            InputEvent::decode(8, &wide[24..]).map(|e| (e.kind, e.code, e.value)),
            Some((0, 0, 0))
        );
        let narrow = ev.encode_with_syn(4);
        assert_eq!(narrow.len(), 32);
        assert_eq!(&narrow[..8], &[5, 0, 0, 0, 7, 0, 0, 0]);
        assert_eq!(InputEvent::decode(4, &narrow), Some(ev));
    }

    #[test]
    fn advertised_ranges_contain_sent_values() {
        for code in [0u8, 1, 2, 3, 4, 5, 0x10, 0x11] {
            let info = abs_info(code);
            for js in [-32767i16, -16384, -1, 0, 1, 16384, 32767, i16::MIN] {
                let v = evdev_value(code, js);
                assert!(
                    (info.minimum..=info.maximum).contains(&v),
                    "code {code} js {js} → {v}"
                );
            }
            assert_eq!(evdev_value(code, -32767), info.minimum);
            assert_eq!(evdev_value(code, 32767), info.maximum);
        }
        assert_eq!(evdev_value(ABS_Z, 0), 128);
        assert_eq!(evdev_value(ABS_HAT0X, -32767), -1);
        assert_eq!(evdev_value(ABS_HAT0X, 0), 0);
        assert_eq!(abs_info(0).encode()[8..12], 32767i32.to_ne_bytes());
    }
}
