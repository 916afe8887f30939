//! `--uinput_mouse_socket` (docs/protocol.md §6.3): pointer-lock (`m2`) motion, buttons and wheel
//! sent as msgpack datagrams to an external uinput helper, for games that read relative mouse
//! input from evdev instead of X (the datagram format is `selkies_proto::uinput_event`; this
//! module plans the events and sends them). Absolute `m` messages keep going through XTest, as
//! in the legacy host. The wheel sign follows evdev (REL_WHEEL +1 = up), fixing the legacy inversion.

use std::io;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};

use selkies_proto::uinput_event::{MouseButton, UinputEvent};
use selkies_x11::mouse::{ButtonEvent, ButtonTracker, Motion};
use tracing::debug;

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
        out.push(UinputEvent::rel_x(x.into()).encode());
        out.push(UinputEvent::rel_y(y.into()).encode());
    }
    for b in plan.buttons {
        let event = match b {
            ButtonEvent::Press(1) => UinputEvent::button(MouseButton::Left, true),
            ButtonEvent::Release(1) => UinputEvent::button(MouseButton::Left, false),
            ButtonEvent::Press(2) => UinputEvent::button(MouseButton::Middle, true),
            ButtonEvent::Release(2) => UinputEvent::button(MouseButton::Middle, false),
            ButtonEvent::Press(3) => UinputEvent::button(MouseButton::Right, true),
            ButtonEvent::Release(3) => UinputEvent::button(MouseButton::Right, false),
            ButtonEvent::Press(4) => UinputEvent::wheel(1),
            ButtonEvent::Press(5) => UinputEvent::wheel(-1),
            _ => continue,
        };
        out.push(event.encode());
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
    fn motion_buttons_and_wheel() {
        let mut t = ButtonTracker::default();
        let d = plan_datagrams(&mut t, 3, -4, 0b001, 0);
        assert_eq!(d.len(), 3);
        assert_eq!(d[0], UinputEvent::rel_x(3).encode());
        assert_eq!(d[1], UinputEvent::rel_y(-4).encode());
        assert_eq!(d[2], UinputEvent::button(MouseButton::Left, true).encode());
        // Wheel down (browser bit 3), twice, then its release sends nothing.
        let d = plan_datagrams(&mut t, 0, 0, 0b01001, 2);
        assert_eq!(d, vec![UinputEvent::wheel(-1).encode(); 2]);
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
        assert_eq!(&buf[..n], UinputEvent::rel_x(1).encode().as_slice());
        // No listener: sending fails quietly.
        drop(server);
        mouse.relative(1, 2, 0, 0);
    }
}
