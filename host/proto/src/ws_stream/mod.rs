//! The WebSocket transport's pure parts (docs/protocol.md "WebSocket streaming"): the request
//! that switches a signalling socket to streaming ([`request`]), the binary media frame header
//! ([`frame`]) and the send-queue policy that keeps a slow socket from growing the host's
//! memory ([`flow`]). No I/O: `host/src/ws_transport` owns the socket and the pipelines.

pub mod flow;
pub mod frame;
pub mod request;

pub use flow::{Decision, FlowConfig, FlowControl};
pub use frame::{Codec, FrameError, FrameHeader, HEADER_LEN, StreamId};
pub use request::{StreamRequest, Transport};
