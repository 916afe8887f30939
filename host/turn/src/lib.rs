//! Embedded TURN relay (RFC 8656 subset used by browsers) for the selkies host.
//!
//! - [`addrs`]: the host's own addresses (the peer allow-list) and the relay address.
//! - [`auth`]: TURN-REST credentials (`<expiry>:<user>` / base64 HMAC-SHA1).
//! - [`state`]: the pure allocation/permission/channel table and its bounds.
//! - [`server`]: the sans-IO message handler on top of both.
//! - [`framing`]: RFC 8656 §12.5 / RFC 4571-style framing of STUN and ChannelData over TCP.
//! - [`driver`]: the tokio UDP listener, relay sockets and per-TCP-connection handler.
//!
//! Relayed traffic may only reach the peer addresses the caller allows (the host's own), so
//! the relay is never an open relay. See docs/connectivity.md.

pub mod addrs;
pub mod auth;
pub mod driver;
pub mod framing;
pub mod server;
pub mod state;

pub use auth::{CredentialError, MintedCredentials, RestAuth};
pub use driver::{Relay, RelayConfig, RelayError};
pub use framing::is_turn_first_byte;
pub use server::{Now, Output, Server, ServerConfig};
pub use state::{ClientKey, Limits, Transport};
