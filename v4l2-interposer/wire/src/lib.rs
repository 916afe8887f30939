//! selkies-v4l2-wire: what the webcam interposer and the host's webcam service share, with no
//! I/O and no dependencies:
//!
//! - [`frame`]: the framed records on the webcam unix socket (frame header + payload from the
//!   host, credit records from the interposer), with a parser that turns any input into a typed
//!   error (docs/webcam.md describes the format).
//! - [`abi`]: the V4L2 ioctl numbers and the byte layout of the structures the interposer
//!   answers, per target (x86_64 and i686).
//! - [`convert`]: I420 → YUYV / NV12 / I420 conversion into an application's buffer.
//! - [`scale`]: I420 scaling to the size an application negotiated.

pub mod abi;
pub mod convert;
pub mod frame;
pub mod scale;

/// Environment variable naming the webcam socket (interposer side; the host has a flag).
pub const SOCKET_ENV: &str = "SELKIES_WEBCAM_SOCKET";
/// Environment variable naming the device path the interposer presents.
pub const DEVICE_ENV: &str = "SELKIES_WEBCAM_DEVICE";
/// Environment variable turning the interposer's diagnostics on (`1`/`stderr` or a file path).
pub const LOG_ENV: &str = "SELKIES_WEBCAM_LOG";
/// The socket both sides use when nothing else is configured.
pub const DEFAULT_SOCKET: &str = "/tmp/selkies_webcam.sock";
/// The device path the interposer presents when nothing else is configured.
pub const DEFAULT_DEVICE: &str = "/dev/video0";
