//! selkies-proto: the pure protocol logic of the selkies-gstreamer host (no GStreamer, no
//! sockets, no X11). The host binary does the I/O and calls in here.
//!
//! Module map:
//! - [`config`]: legacy flags/env (`Args`), typed `Settings`, the `--json_config` overlay.
//! - [`encoder`]: the 15 legacy encoder names, their codecs and the encoder registry (elements,
//!   properties, rate formulas, fallback order, launcher preference).
//! - [`rtc_config`]: the `/turn` JSON (STUN, static and HMAC TURN credentials), parsing of
//!   user-provided RTC JSON, conversion to webrtcbin server URIs.
//! - [`signalling`]: the legacy HELLO/SESSION/ROOM signalling server as a state machine.
//! - [`protocol`]: data-channel messages (parse browser → host, format host → browser).
//! - [`gamepad`]: the `js,…` data-channel messages.
//! - [`sdp`]: munging of the host's SDP offer.
//! - [`h264`]: the H.264 stream fields the host follows and the repeat picture it sends for an
//!   unchanged screen.
//! - [`uinput_event`]: the msgpack datagrams of the `--uinput_mouse_socket` helper.
//! - [`ws_stream`]: the WebSocket transport's request, media frame header and send-queue policy.
//! - [`sharing`]: roles, share-link tokens, the member roster and per-role input filtering.

pub mod config;
pub mod encoder;
pub mod gamepad;
pub mod h264;
pub mod protocol;
pub mod rtc_config;
pub mod sdp;
pub mod sharing;
pub mod signalling;
pub mod uinput_event;
pub mod ws_stream;
