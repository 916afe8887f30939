//! The data channel `input` (protocol reference §4): browser → host text commands and
//! host → browser JSON messages.

mod error;

pub use error::ProtocolError;
