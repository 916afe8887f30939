//! selkies-gamepad: the host side of browser gamepads (docs/protocol.md §7).
//!
//! The data-channel handler parses `js,…` messages with `selkies_proto::gamepad::parse_js` and
//! passes them to [`GamepadService::handle`]. Pads appear either as unix sockets served to the
//! LD_PRELOAD joystick interposer (`/dev/input/jsN` and `/dev/input/event100N` in unprivileged
//! containers) or, where `/dev/uinput` is writable and enabled, as real virtual devices.
//!
//! Module map:
//! - [`mapping`]: pure browser → xpad mapping and pad state (§7.A.4).
//! - [`server`]: the per-pad js and event socket servers.
//! - [`uinput`]: virtual devices through `/dev/uinput`.
//! - [`service`]: [`GamepadService`], dispatching messages to pads 0–3.

pub mod mapping;
pub mod server;
pub mod service;
pub mod uinput;

pub use service::{GamepadMode, GamepadService};
