//! The error type shared by every data-channel parser (`protocol`, `gamepad`).
//!
//! Variants are deliberately generic (field name + offending value) so that other parsers in
//! this crate, such as `gamepad::parse_js`, can report malformed input without new variants.

use thiserror::Error;

/// Why a browser → host data-channel message was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProtocolError {
    /// The message was empty (or only whitespace).
    #[error("empty message")]
    Empty,
    /// The command keyword is not part of the legacy grammar.
    #[error("unknown command {0:?}")]
    Unknown(String),
    /// A required comma-separated field is absent.
    #[error("missing field {0}")]
    MissingField(&'static str),
    /// A field is present but does not parse as the expected type or range.
    #[error("bad value {value:?} for field {field}")]
    BadField {
        /// The field name as documented in the protocol reference.
        field: &'static str,
        /// The offending text, verbatim.
        value: String,
    },
    /// More fields than the command accepts.
    #[error("unexpected extra field(s) after {command}: {extra:?}")]
    ExtraFields {
        /// The command keyword.
        command: &'static str,
        /// The surplus text, verbatim.
        extra: String,
    },
}

impl ProtocolError {
    /// Shorthand for [`ProtocolError::BadField`].
    pub fn bad(field: &'static str, value: impl Into<String>) -> Self {
        ProtocolError::BadField {
            field,
            value: value.into(),
        }
    }
}
