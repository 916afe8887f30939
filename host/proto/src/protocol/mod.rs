//! The data channel `input` (docs/protocol.md §4): browser → host text commands
//! ([`parse_client_message`]) and host → browser JSON messages ([`ServerMessage::to_json`],
//! [`initial_burst`]).

mod client;
pub mod clipboard;
mod error;
mod pyjson;
mod server;
#[cfg(test)]
mod tests;

pub use client::{ClientMessage, PointerEvent, Resolution, parse_client_message};
pub use error::ProtocolError;
pub use pyjson::{PyJson, float_repr};
pub use server::{
    CLIPBOARD_MAX_B64, CursorMessage, ServerMessage, SystemAction, VideoStages, initial_burst,
};

pub(crate) use client::parse_bool;
