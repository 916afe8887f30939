//! selkies-proto: the pure (no I/O) protocol logic of the selkies-gstreamer host.
//!
//! Module map:
//! - [`protocol`]: data-channel messages (parse browser → host, format host → browser).
//! - [`gamepad`]: the `js,…` data-channel messages (owned by the gamepad engineer).

pub mod gamepad;
pub mod protocol;
