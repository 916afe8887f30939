//! The host's own H.264 encoder element on libx264 (`selkiesx264enc`), preferred over
//! GStreamer's `x264enc` for the `x264enc` encoder when libx264 build 164 loads:
//! - `ffi.rs`: libx264 through `dlopen`, and a safe encoder.
//! - `hints.rs`: frame damage → per-macroblock hints, and what each macroblock was coded at.
//! - `rate.rs`: the per-frame QP (the bitrate control x264 no longer runs).
//! - `element.rs`: the GStreamer element.
//!
//! Why and what it gains: docs/architecture.md, "Own H.264 encoder", and docs/benchmarks.md.

use std::sync::OnceLock;

use tracing::{debug, info};

pub mod element;
pub mod ffi;
pub mod hints;
pub mod rate;

pub use element::{NAME, SelkiesX264Enc};

/// The environment variable that turns the element off (`SELKIES_OWN_X264=false`: GStreamer's
/// `x264enc` encodes instead; for comparisons and as an escape hatch).
pub const ENV_OFF: &str = "SELKIES_OWN_X264";

/// Registers `selkiesx264enc` once per process (after `gst::init`); whether it is usable.
pub fn ensure_registered() -> bool {
    static DONE: OnceLock<bool> = OnceLock::new();
    *DONE.get_or_init(|| {
        if std::env::var(ENV_OFF).is_ok_and(|v| matches!(v.as_str(), "0" | "false" | "no")) {
            info!("{ENV_OFF} is off: x264enc encodes H.264 in software");
            return false;
        }
        match element::register() {
            Ok(()) => {
                debug!("{NAME} registered (libx264 build 164)");
                true
            }
            Err(e) => {
                info!("{NAME} unavailable ({e}); x264enc encodes H.264 in software");
                false
            }
        }
    })
}
