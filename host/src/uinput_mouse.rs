//! `--uinput_mouse_socket` (docs/protocol.md §6.3): pointer-lock (`m2`) motion, buttons and wheel
//! sent as msgpack datagrams to an external uinput helper, for games that read relative mouse
//! input from evdev instead of X. Absolute `m` messages keep going through XTest, as in the
//! legacy host. The wheel sign follows evdev (REL_WHEEL +1 = up), fixing the legacy inversion.

use std::io;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};

use selkies_x11::mouse::{ButtonEvent, ButtonTracker, Motion};
use tracing::debug;

const EV_KEY: u16 = 1;
const EV_REL: u16 = 2;
const REL_X: u16 = 0;
const REL_Y: u16 = 1;
const REL_WHEEL: u16 = 8;
const BTN_LEFT: u16 = 0x110;
const BTN_RIGHT: u16 = 0x111;
const BTN_MIDDLE: u16 = 0x112;

fn push_str(out: &mut Vec<u8>, s: &str) {
    // Every key here is a short fixstr (< 32 bytes).
    out.push(0xa0 | s.len() as u8);
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

/// `{"args": [[type, code], value], "kwargs": {"syn": false} or {}}`.
pub fn encode(ev_type: u16, code: u16, value: i32, syn: Option<bool>) -> Vec<u8> {
    let mut out = vec![0x82];
    push_str(&mut out, "args");
    out.extend_from_slice(&[0x92, 0x92]);
    push_int(&mut out, ev_type.into());
    push_int(&mut out, code.into());
    push_int(&mut out, value.into());
    push_str(&mut out, "kwargs");
    match syn {
        Some(s) => {
            out.push(0x81);
            push_str(&mut out, "syn");
            out.push(if s { 0xc3 } else { 0xc2 });
        }
        None => out.push(0x80),
    }
    out
}

/// The datagrams for one `m2` message, in order.
pub fn plan_datagrams(
    tracker: &mut ButtonTracker,
    dx: i32,
    dy: i32,
    mask: u8,
    magnitude: u32,
) -> Vec<Vec<u8>> {
    let plan = tracker.plan(true, dx, dy, mask, magnitude);
    let mut out = Vec::new();
    if let Some(Motion::Relative(x, y)) = plan.motion {
        // The first event is not followed by a SYN so both axes land in one report.
        out.push(encode(EV_REL, REL_X, x.into(), Some(false)));
        out.push(encode(EV_REL, REL_Y, y.into(), None));
    }
    for b in plan.buttons {
        let datagram = match b {
            ButtonEvent::Press(1) => encode(EV_KEY, BTN_LEFT, 1, None),
            ButtonEvent::Release(1) => encode(EV_KEY, BTN_LEFT, 0, None),
            ButtonEvent::Press(2) => encode(EV_KEY, BTN_MIDDLE, 1, None),
            ButtonEvent::Release(2) => encode(EV_KEY, BTN_MIDDLE, 0, None),
            ButtonEvent::Press(3) => encode(EV_KEY, BTN_RIGHT, 1, None),
            ButtonEvent::Release(3) => encode(EV_KEY, BTN_RIGHT, 0, None),
            ButtonEvent::Press(4) => encode(EV_REL, REL_WHEEL, 1, None),
            ButtonEvent::Press(5) => encode(EV_REL, REL_WHEEL, -1, None),
            _ => continue,
        };
        out.push(datagram);
    }
    out
}

/// The client end of the uinput mouse socket.
pub struct UinputMouse {
    socket: UnixDatagram,
    path: PathBuf,
    tracker: ButtonTracker,
}

impl UinputMouse {
    pub fn new(path: &Path) -> io::Result<Self> {
        let socket = UnixDatagram::unbound()?;
        // A helper that stops reading must not stall the data channel: drop instead.
        socket.set_nonblocking(true)?;
        Ok(Self {
            socket,
            path: path.to_path_buf(),
            tracker: ButtonTracker::default(),
        })
    }

    pub fn relative(&mut self, dx: i32, dy: i32, mask: u8, magnitude: u32) {
        for d in plan_datagrams(&mut self.tracker, dx, dy, mask, magnitude) {
            if let Err(e) = self.socket.send_to(&d, &self.path) {
                debug!(path = %self.path.display(), "uinput mouse datagram dropped: {e}");
            }
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
            encode(2, 0, 5, Some(false)),
            b"\x82\xa4args\x92\x92\x02\x00\x05\xa6kwargs\x81\xa3syn\xc2".to_vec()
        );
        // msgpack.packb({"args": [[1, 272], 1], "kwargs": {}}, use_bin_type=True)
        assert_eq!(
            encode(1, 0x110, 1, None),
            b"\x82\xa4args\x92\x92\x01\xcd\x01\x10\x01\xa6kwargs\x80".to_vec()
        );
        let mut v = Vec::new();
        for n in [-1i64, -33, -200, 200, 70000] {
            push_int(&mut v, n);
        }
        assert_eq!(
            v,
            vec![
                0xff, 0xd0, 0xdf, 0xd1, 0xff, 0x38, 0xcc, 0xc8, 0xce, 0, 1, 0x11, 0x70
            ]
        );
    }

    #[test]
    fn motion_buttons_and_wheel() {
        let mut t = ButtonTracker::default();
        let d = plan_datagrams(&mut t, 3, -4, 0b001, 0);
        assert_eq!(d.len(), 3);
        assert_eq!(d[0], encode(EV_REL, REL_X, 3, Some(false)));
        assert_eq!(d[1], encode(EV_REL, REL_Y, -4, None));
        assert_eq!(d[2], encode(EV_KEY, BTN_LEFT, 1, None));
        // Wheel down (browser bit 3), twice, then its release sends nothing.
        let d = plan_datagrams(&mut t, 0, 0, 0b01001, 2);
        assert_eq!(d, vec![encode(EV_REL, REL_WHEEL, -1, None); 2]);
        assert!(plan_datagrams(&mut t, 0, 0, 0b001, 0).is_empty());
    }

    #[test]
    fn datagrams_reach_a_listening_socket() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("mouse.sock");
        let server = UnixDatagram::bind(&path).expect("bind");
        let mut mouse = UinputMouse::new(&path).expect("client");
        mouse.relative(1, 2, 0, 0);
        let mut buf = [0u8; 64];
        let n = server.recv(&mut buf).expect("first datagram");
        assert_eq!(&buf[..n], encode(EV_REL, REL_X, 1, Some(false)).as_slice());
        // No listener: sending fails quietly.
        drop(server);
        mouse.relative(1, 2, 0, 0);
    }
}
