//! Host configuration: legacy command-line flags and `SELKIES_*` variables ([`Args`]), typed
//! and validated [`Settings`], and the `--json_config` overlay ([`JsonOverlay`]).
//!
//! Precedence: CLI > environment > built-in default, then the overlay file overrides
//! `framerate`, `video_bitrate`, `audio_bitrate`, `enable_resize`, `encoder` and
//! `allowed_origins`.

#[macro_use]
mod flags;
mod args;
mod intake;
mod overlay;
mod settings;
#[cfg(test)]
mod tests;
mod turn_embedded;
mod validate;

pub use args::Args;
pub use intake::{IntakeArgs, IntakeSettings};
pub use overlay::{JsonOverlay, OverlayError, OverlaySetting, parse_object, temp_file_name};
pub use settings::{
    CaptureMode, ClipboardMode, HostFacts, OverlayInput, RANDOM_BYTES, Settings, TurnProtocol,
    normalize_origin, parse_clipboard_mode, parse_origins, password_from_random,
};
pub use turn_embedded::{EmbeddedTurn, EmbeddedTurnMode};

/// A configuration value that cannot be used; names the flag and the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid value {value:?} for --{flag}: {reason}")]
    Invalid {
        flag: &'static str,
        value: String,
        reason: String,
    },
    #[error("cannot generate a random Basic auth password: {0}")]
    Random(String),
    /// An option that needs another one (or a value of it) to be usable.
    #[error("{when} needs {needs}")]
    Requires {
        when: &'static str,
        needs: &'static str,
    },
    /// A command line clap refused (only from [`Settings::from_flags`]; the binary lets clap
    /// print its own message).
    #[error("{0}")]
    Flags(String),
}
