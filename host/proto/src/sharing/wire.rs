//! The JSON messages of the sharing socket (`/share/ws`, docs/protocol.md "Sharing"). Every
//! message has a `type`; the SDP and ICE messages are the legacy envelopes
//! (`crate::signalling::Envelope`, no `type` key), so [`parse_command`] tells them apart.

use serde::{Deserialize, Serialize};

use super::{DropCounters, Member};

/// Longest command accepted (an SDP answer is sent as an envelope, not a command).
pub const MAX_COMMAND_LEN: usize = 4096;

/// What a browser sends on the sharing socket, besides SDP/ICE envelopes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    /// First message: the display name shown to the others.
    Hello {
        #[serde(default)]
        name: String,
    },
    /// Owner: give member `uid` the role `role` (`controller`, `viewer`, `player1`, …).
    SetRole { uid: String, role: String },
    /// Owner: mint a link for `role` valid `ttl` seconds (default one hour).
    Mint {
        role: String,
        #[serde(default)]
        ttl: Option<u64>,
    },
    /// Owner: revoke link `link` and disconnect whoever joined with it.
    Revoke { link: String },
    /// Owner: replace the secret; every link dies and every guest is disconnected.
    Rotate,
    /// Owner: disconnect member `uid`.
    Kick { uid: String },
}

/// Why a text frame is not a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("message too long")]
    TooLong,
    #[error("not a sharing command: {0}")]
    Invalid(String),
}

/// `Ok(None)`: a JSON object without `type` (an SDP/ICE envelope for the session).
pub fn parse_command(text: &str) -> Result<Option<Command>, CommandError> {
    if text.len() > MAX_COMMAND_LEN && text.contains("\"type\"") && !text.contains("\"sdp\"") {
        return Err(CommandError::TooLong);
    }
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| CommandError::Invalid(e.to_string()))?;
    if value.get("type").is_none() {
        return Ok(None);
    }
    if text.len() > MAX_COMMAND_LEN {
        return Err(CommandError::TooLong);
    }
    serde_json::from_value(value)
        .map(Some)
        .map_err(|e| CommandError::Invalid(e.to_string()))
}

/// One member as the others see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberView {
    pub uid: String,
    pub role: String,
    pub name: String,
}

impl From<&Member> for MemberView {
    fn from(m: &Member) -> Self {
        Self {
            uid: m.uid.clone(),
            role: m.role.to_string(),
            name: m.name.clone(),
        }
    }
}

/// One minted link as the owner sees it (the token itself is shown once, at minting).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkView {
    pub id: String,
    pub role: String,
    pub expires: u64,
    pub revoked: bool,
}

/// Messages dropped by role, per category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DropView {
    pub input: u64,
    pub clipboard: u64,
    pub settings: u64,
    pub gamepad: u64,
}

impl From<DropCounters> for DropView {
    fn from(c: DropCounters) -> Self {
        Self {
            input: c.input,
            clipboard: c.clipboard,
            settings: c.settings,
            gamepad: c.gamepad,
        }
    }
}

/// What the host sends on the sharing socket, besides SDP/ICE envelopes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Notice {
    /// Answer to `hello`: who you are.
    Welcome {
        uid: String,
        role: String,
        name: String,
    },
    /// Everyone connected, sent to all members on every change.
    Roster {
        members: Vec<MemberView>,
        max_viewers: usize,
        dropped: DropView,
    },
    /// Your role changed.
    Role { role: String },
    /// Owner: a link was minted (the only time the token is shown).
    Link {
        id: String,
        role: String,
        expires: u64,
        token: String,
    },
    /// Owner: the minted links.
    Links { links: Vec<LinkView> },
    /// A refusal; `code` is stable for programs, `message` for people.
    Error { code: String, message: String },
}

impl Notice {
    pub fn error(code: &str, message: impl std::fmt::Display) -> Self {
        Notice::Error {
            code: code.to_owned(),
            message: message.to_string(),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_and_envelopes() {
        assert_eq!(
            parse_command(r#"{"type":"hello","name":"Ann"}"#),
            Ok(Some(Command::Hello { name: "Ann".into() }))
        );
        assert_eq!(
            parse_command(r#"{"type":"set_role","uid":"g2","role":"controller"}"#),
            Ok(Some(Command::SetRole {
                uid: "g2".into(),
                role: "controller".into()
            }))
        );
        assert_eq!(
            parse_command(r#"{"type":"mint","role":"viewer"}"#),
            Ok(Some(Command::Mint {
                role: "viewer".into(),
                ttl: None
            }))
        );
        assert_eq!(
            parse_command(r#"{"type":"rotate"}"#),
            Ok(Some(Command::Rotate))
        );
        assert_eq!(
            parse_command(r#"{"sdp":{"type":"answer","sdp":"v=0"}}"#),
            Ok(None)
        );
        for bad in [
            "",
            "HELLO 1",
            r#"{"type":"root"}"#,
            r#"{"type":"kick"}"#,
            r#"{"type":"hello","extra":1}"#,
        ] {
            assert!(
                matches!(parse_command(bad), Err(CommandError::Invalid(_))),
                "{bad}"
            );
        }
        let long = format!(r#"{{"type":"hello","name":"{}"}}"#, "x".repeat(5000));
        assert_eq!(parse_command(&long), Err(CommandError::TooLong));
    }

    #[test]
    fn notices_serialise_with_their_type() {
        assert_eq!(
            Notice::Role {
                role: "viewer".into()
            }
            .to_json(),
            r#"{"type":"role","role":"viewer"}"#
        );
        assert_eq!(
            Notice::error("full", "the desktop is full").to_json(),
            r#"{"type":"error","code":"full","message":"the desktop is full"}"#
        );
    }
}
