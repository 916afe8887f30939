//! selkies-js-wire: the byte formats shared by the joystick interposer and the host's gamepad
//! servers (docs/protocol.md §7). Dependency-free and free of I/O so both sides (a cdylib
//! loaded into arbitrary games, and the tokio host) agree on every byte.
//!
//! Module map:
//! - [`config`]: the device config record sent first on every connection (1348 / 1354 bytes).
//! - [`event`]: `js_event` and `input_event` records, evdev codes and the advertised axis ranges.
//! - [`ioctl`]: decoding of joystick (`'j'`) and evdev (`'E'`) ioctl request numbers.
//! - [`paths`]: which device path maps to which socket file.

pub mod config;
pub mod event;
pub mod ioctl;
pub mod paths;

pub use config::{DeviceConfig, EV_CONFIG_LEN, JS_CONFIG_LEN};
pub use event::{AbsInfo, InputEvent, JsEvent};
pub use paths::{DeviceKind, DeviceRef};
