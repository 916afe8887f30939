//! Embedded TURN relay (RFC 8656 subset used by browsers) for the selkies host.
//!
//! - [`auth`]: TURN-REST credentials (`<expiry>:<user>` / base64 HMAC-SHA1).
//! - [`state`]: the pure allocation/permission/channel table and its bounds.
//! - [`server`]: the sans-IO message handler on top of both.
//! - [`framing`]: RFC 8656 §12.5 / RFC 4571-style framing of STUN and ChannelData over TCP.
//! - [`driver`]: the tokio UDP listener, relay sockets, per-TCP-connection handler, and the
//!   host's own addresses (the peer allow-list).
//!
//! Relayed traffic may only reach the peer addresses the caller allows (the host's own), so
//! the relay is never an open relay. See docs/connectivity.md.

pub mod auth;
pub mod driver;
pub mod framing;
pub mod server;
pub mod state;

pub use auth::{CredentialError, MintedCredentials, RestAuth};
pub use driver::{Relay, RelayConfig, RelayError, local_addresses, pick_relay_ip};
pub use framing::is_turn_first_byte;
pub use server::{Now, Output, Server, ServerConfig};
pub use state::{ClientKey, Limits, Transport};
