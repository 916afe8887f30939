//! `selkies-turn-rest`: a drop-in for the legacy TURN-REST service. It hands out time-limited
//! coturn credentials (the "TURN REST API" shared-secret scheme) inside the RTC config JSON that
//! the host's `--turn_rest_uri` and the browser consume. See docs/turn-rest.md.
//!
//! - [`config`]: the environment variables, read once at startup (refuses to start without a
//!   secret and a TURN host).
//! - [`grant`]: request inputs → user/protocol/TLS → RTC config JSON (pure, vector-tested).
//! - [`service`]: the axum router serving `/` (GET and POST).

pub mod config;
pub mod grant;
pub mod service;
