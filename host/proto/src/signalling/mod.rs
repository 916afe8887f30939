//! The legacy signalling server (docs/protocol.md §3.2) as a pure state machine.
//!
//! The socket glue feeds it connection events and performs the returned [`Action`]s. The host's
//! own video/audio peers ("0"/"2") live in-process: they register with
//! [`Hub::register_local`] and, instead of polling with `SESSION 1` every second like the
//! legacy host, are put in a session the moment the matching browser peer ("1"/"3") says
//! `HELLO`. External legacy hosts that connect over the socket and send `SESSION 1` still work.
//!
//! Decisions where the legacy server is vague or broken:
//! - `HELLO` without a uid closes with 1002 `invalid peer uid`; undecodable metadata (bad base64,
//!   bad UTF-8 or bad JSON) closes with 1002 `invalid meta` (legacy: an exception, 1011).
//! - `busy` means the *callee* is already in a session or room (legacy never reaches its busy
//!   branch and silently re-pairs a busy callee).
//! - `SESSION`/`ROOM` without an argument closes with 1002 `invalid protocol`.
//! - The other side of a session is closed with code 1000 and an empty reason, as the legacy
//!   `ws.close()`; a local peer instead gets [`Action::SessionEnded`] and stays registered.
//! - One viewer at a time (docs/security.md): a `HELLO` for a uid that is already registered
//!   gets `ERROR peer '<uid>' busy: …` before the legacy 1002 close, and `SESSION` to a busy
//!   host peer gets `ERROR peer '0' busy`. The one exception is our own client: its HELLO meta
//!   carries a random per-browser token ([`TOKEN_KEY`], kept in `localStorage`); a HELLO with
//!   the same token as the registered holder replaces it (new tab, reload, dead socket), and
//!   the old socket is closed with [`CLOSE_TAKEN_OVER`] so that tab stops reconnecting. The
//!   token is removed from the meta before it is forwarded in `SESSION_OK`.

pub mod envelope;
mod hub;
#[cfg(test)]
mod tests;

pub use envelope::{Envelope, HelloMeta};
pub use hub::{Hub, hello_claim};

/// The glue's identifier for one WebSocket (or in-process) connection.
pub type ConnId = u64;

/// Close code for protocol violations.
pub const CLOSE_PROTOCOL_ERROR: u16 = 1002;
/// Close code used when the other side of a session went away.
pub const CLOSE_NORMAL: u16 = 1000;
/// Close code (application range) for a connection replaced by a newer one of the same client.
pub const CLOSE_TAKEN_OVER: u16 = 4001;
/// Close code when the host shuts down ("going away").
pub const CLOSE_GOING_AWAY: u16 = 1001;
/// Key of the takeover token in the HELLO meta JSON.
pub const TOKEN_KEY: &str = "token";

/// Something the glue must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send a text frame (to a local peer: deliver the text to the in-process session).
    Send { to: ConnId, text: String },
    /// Close a (remote) WebSocket; the glue then calls [`Hub::on_disconnect`] for it.
    Close {
        conn: ConnId,
        code: u16,
        reason: String,
    },
    /// The session of local peer `conn` is over because `peer_uid` (its partner) left: tear
    /// down that pipeline. The local peer stays registered and is paired again when the
    /// browser returns.
    SessionEnded { conn: ConnId, peer_uid: String },
}

/// Local host peer ↔ browser peer pairs that start automatically.
pub const AUTO_SESSIONS: [(&str, &str); 2] = [("0", "1"), ("2", "3")];
