//! Device path ↔ socket file mapping (docs/protocol.md §7.A.1, §7.B): `/dev/input/js0..3` ↔ `selkies_js0..3.sock`
//! and `/dev/input/event1000..1003` ↔ `selkies_event1000..1003.sock`, both in one directory.

/// Number of gamepads served (browser `Gamepad.index` 0–3).
pub const MAX_PADS: u8 = 4;
/// First evdev node number; high enough to never collide with the kernel's own nodes.
pub const EVENT_BASE: u32 = 1000;
/// Default socket directory of both the host (`--js_socket_path`) and the interposer.
pub const DEFAULT_SOCKET_DIR: &str = "/tmp";
/// Environment variable the interposer reads to find the socket directory.
pub const SOCKET_DIR_ENV: &str = "SELKIES_INTERPOSER_SOCKET_PATH";
/// Environment variable that turns interposer logging on (`stderr`, `1` or a file path).
pub const LOG_ENV: &str = "SELKIES_INTERPOSER_LOG";

/// The two device interfaces each gamepad is exposed through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceKind {
    /// Legacy joystick API (`/dev/input/jsN`): `js_event` records, 1348-byte config.
    Js,
    /// Evdev (`/dev/input/event100N`): `input_event` pairs, 1354-byte config.
    Event,
}

/// One interposed device: kind plus pad index 0–3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeviceRef {
    /// Interface kind.
    pub kind: DeviceKind,
    /// Pad index 0–3.
    pub index: u8,
}

impl DeviceRef {
    /// Recognises an interposed device path; only exact absolute paths match, as in the
    /// legacy library, so everything else reaches the real filesystem untouched.
    pub fn from_device_path(path: &[u8]) -> Option<Self> {
        let rest = path.strip_prefix(b"/dev/input/")?;
        if let Some(n) = rest.strip_prefix(b"js") {
            return match n {
                [d @ b'0'..=b'3'] => Some(Self {
                    kind: DeviceKind::Js,
                    index: d - b'0',
                }),
                _ => None,
            };
        }
        match rest.strip_prefix(b"event100")? {
            [d @ b'0'..=b'3'] => Some(Self {
                kind: DeviceKind::Event,
                index: d - b'0',
            }),
            _ => None,
        }
    }

    /// The device path the application opens.
    pub fn device_path(&self) -> String {
        match self.kind {
            DeviceKind::Js => format!("/dev/input/js{}", self.index),
            DeviceKind::Event => format!("/dev/input/event{}", EVENT_BASE + u32::from(self.index)),
        }
    }

    /// The socket file name inside the socket directory.
    pub fn socket_name(&self) -> String {
        match self.kind {
            DeviceKind::Js => format!("selkies_js{}.sock", self.index),
            DeviceKind::Event => {
                format!("selkies_event{}.sock", EVENT_BASE + u32::from(self.index))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_exact_paths_only() {
        let js2 = DeviceRef::from_device_path(b"/dev/input/js2").unwrap();
        assert_eq!(js2.kind, DeviceKind::Js);
        assert_eq!(js2.socket_name(), "selkies_js2.sock");
        let ev = DeviceRef::from_device_path(b"/dev/input/event1003").unwrap();
        assert_eq!(ev.kind, DeviceKind::Event);
        assert_eq!(ev.index, 3);
        assert_eq!(ev.socket_name(), "selkies_event1003.sock");
        assert_eq!(ev.device_path(), "/dev/input/event1003");
        for other in [
            &b"/dev/input/js4"[..],
            b"/dev/input/js01",
            b"/dev/input/event1004",
            b"/dev/input/event100",
            b"/dev/input/event10000",
            b"dev/input/js0",
            b"/dev/input/js",
            b"/dev/input/mice",
        ] {
            assert_eq!(DeviceRef::from_device_path(other), None, "{other:?}");
        }
    }
}
