//! The datagram the `--uinput_mouse_socket` helper reads (docs/protocol.md §6.3): one evdev
//! event as the msgpack map `{"args": [[type, code], value], "kwargs": {"syn": false} or {}}`,
//! byte for byte what Python's `msgpack.packb` writes for it (the helper is the legacy one).
//! Pure: the host's `uinput_mouse` module plans the events and sends the bytes.

/// evdev event types and codes the pointer-lock mouse uses (linux/input-event-codes.h).
pub const EV_KEY: u16 = 1;
pub const EV_REL: u16 = 2;
pub const REL_X: u16 = 0;
pub const REL_Y: u16 = 1;
pub const REL_WHEEL: u16 = 8;
pub const BTN_LEFT: u16 = 0x110;
pub const BTN_RIGHT: u16 = 0x111;
pub const BTN_MIDDLE: u16 = 0x112;

/// A mouse button the helper knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MouseButton {
    Left,
    Middle,
    Right,
}

/// One evdev event for the helper. `syn: Some(false)` keeps the helper from sending a
/// SYN_REPORT after it, so the next event lands in the same report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UinputEvent {
    pub ev_type: u16,
    pub code: u16,
    pub value: i32,
    pub syn: Option<bool>,
}

impl UinputEvent {
    /// Relative motion on X, not yet reported (Y follows in the same report).
    pub fn rel_x(dx: i32) -> Self {
        Self {
            ev_type: EV_REL,
            code: REL_X,
            value: dx,
            syn: Some(false),
        }
    }

    pub fn rel_y(dy: i32) -> Self {
        Self {
            ev_type: EV_REL,
            code: REL_Y,
            value: dy,
            syn: None,
        }
    }

    /// One wheel notch: +1 up, -1 down (evdev's sign).
    pub fn wheel(notches: i32) -> Self {
        Self {
            ev_type: EV_REL,
            code: REL_WHEEL,
            value: notches,
            syn: None,
        }
    }

    pub fn button(button: MouseButton, pressed: bool) -> Self {
        let code = match button {
            MouseButton::Left => BTN_LEFT,
            MouseButton::Middle => BTN_MIDDLE,
            MouseButton::Right => BTN_RIGHT,
        };
        Self {
            ev_type: EV_KEY,
            code,
            value: i32::from(pressed),
            syn: None,
        }
    }

    /// The msgpack datagram.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![0x82];
        push_str(&mut out, "args");
        out.extend_from_slice(&[0x92, 0x92]);
        push_int(&mut out, self.ev_type.into());
        push_int(&mut out, self.code.into());
        push_int(&mut out, self.value.into());
        push_str(&mut out, "kwargs");
        match self.syn {
            Some(s) => {
                out.push(0x81);
                push_str(&mut out, "syn");
                out.push(if s { 0xc3 } else { 0xc2 });
            }
            None => out.push(0x80),
        }
        out
    }
}

fn push_str(out: &mut Vec<u8>, s: &str) {
    // Every key here is a short fixstr (< 32 bytes).
    out.push(0xa0 | (s.len() as u8 & 0x1f));
    out.extend_from_slice(s.as_bytes());
}

/// msgpack integer in its smallest form, as Python's msgpack packs it.
fn push_int(out: &mut Vec<u8>, v: i64) {
    match v {
        0..=127 => out.push(v as u8),
        -32..=-1 => out.push(v as i8 as u8),
        128..=255 => out.extend_from_slice(&[0xcc, v as u8]),
        256..=65535 => {
            out.push(0xcd);
            out.extend_from_slice(&(v as u16).to_be_bytes());
        }
        65536..=0xffff_ffff => {
            out.push(0xce);
            out.extend_from_slice(&(v as u32).to_be_bytes());
        }
        -128..=-33 => out.extend_from_slice(&[0xd0, v as i8 as u8]),
        -32768..=-129 => {
            out.push(0xd1);
            out.extend_from_slice(&(v as i16).to_be_bytes());
        }
        _ => {
            out.push(0xd2);
            out.extend_from_slice(
                &(v.clamp(i32::MIN.into(), i32::MAX.into()) as i32).to_be_bytes(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_matches_python_msgpack() {
        // msgpack.packb({"args": [[2, 0], 5], "kwargs": {"syn": False}}, use_bin_type=True)
        assert_eq!(
            UinputEvent::rel_x(5).encode(),
            b"\x82\xa4args\x92\x92\x02\x00\x05\xa6kwargs\x81\xa3syn\xc2".to_vec()
        );
        // msgpack.packb({"args": [[1, 272], 1], "kwargs": {}}, use_bin_type=True)
        assert_eq!(
            UinputEvent::button(MouseButton::Left, true).encode(),
            b"\x82\xa4args\x92\x92\x01\xcd\x01\x10\x01\xa6kwargs\x80".to_vec()
        );
        // msgpack.packb({"args": [[2, 8], -1], "kwargs": {}})
        assert_eq!(
            UinputEvent::wheel(-1).encode(),
            b"\x82\xa4args\x92\x92\x02\x08\xff\xa6kwargs\x80".to_vec()
        );
        let syn_true = UinputEvent {
            syn: Some(true),
            ..UinputEvent::rel_y(0)
        };
        assert!(syn_true.encode().ends_with(b"\xa3syn\xc3"));
    }

    #[test]
    fn integers_in_their_smallest_form() {
        let mut v = Vec::new();
        for n in [-1i64, -33, -200, 200, 70000, -70000, i64::MAX] {
            push_int(&mut v, n);
        }
        assert_eq!(
            v,
            vec![
                0xff, 0xd0, 0xdf, 0xd1, 0xff, 0x38, 0xcc, 0xc8, 0xce, 0, 1, 0x11, 0x70, 0xd2, 0xff,
                0xfe, 0xee, 0x90, 0xd2, 0x7f, 0xff, 0xff, 0xff
            ]
        );
    }

    #[test]
    fn buttons_and_their_codes() {
        assert_eq!(
            UinputEvent::button(MouseButton::Middle, false).code,
            BTN_MIDDLE
        );
        assert_eq!(UinputEvent::button(MouseButton::Middle, false).value, 0);
        assert_eq!(
            UinputEvent::button(MouseButton::Right, true).code,
            BTN_RIGHT
        );
        assert_eq!(UinputEvent::rel_y(-4).syn, None);
    }
}
