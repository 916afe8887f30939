//! Desktop sharing (docs/sharing.md): several browsers on one host, each with a role. This module
//! owns the pure parts: the roles and what each may do ([`Role`]), the signed share-link tokens
//! ([`token`]), who is connected in which role ([`roster`]), which data-channel messages each
//! role may send ([`filter`]) and the coalescing of keyframe requests ([`keyframes`]). The host
//! does the sockets and pipelines (`host/src/sharing/`).

pub mod filter;
pub mod keyframes;
pub mod roster;
pub mod token;
pub mod wire;

use std::fmt;
use std::str::FromStr;

pub use filter::{Category, DropCounters, Verdict, filter, forwards_host_message};
pub use keyframes::KeyframeGate;
pub use roster::{JoinError, Member, Roster, RosterError};
pub use token::{ShareToken, Signer, TokenError};

/// Highest player slot: pads 0–3 exist on the host (`crate::gamepad::MAX_PADS`).
pub const MAX_PLAYER: u8 = crate::gamepad::MAX_PADS - 1;

/// What a connected browser may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Everything, settings included, and hands out roles and links. The Basic-auth user.
    Owner,
    /// Keyboard, mouse and clipboard; no settings.
    Controller,
    /// Video and audio only.
    Viewer,
    /// Gamepad slot N only (the host's `/dev/input/jsN`).
    Player(u8),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role '{0}' (owner, controller, viewer, player0-player3)")]
pub struct BadRole(pub String);

impl FromStr for Role {
    type Err = BadRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "owner" => Ok(Role::Owner),
            "controller" => Ok(Role::Controller),
            "viewer" => Ok(Role::Viewer),
            _ => s
                .strip_prefix("player")
                .filter(|n| n.len() == 1)
                .and_then(|n| n.parse::<u8>().ok())
                .filter(|n| *n <= MAX_PLAYER)
                .map(Role::Player)
                .ok_or_else(|| BadRole(s.chars().take(32).collect())),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Role::Owner => f.write_str("owner"),
            Role::Controller => f.write_str("controller"),
            Role::Viewer => f.write_str("viewer"),
            Role::Player(n) => write!(f, "player{n}"),
        }
    }
}

impl Role {
    /// Keyboard and pointer input.
    pub fn may_type(self) -> bool {
        matches!(self, Role::Owner | Role::Controller)
    }

    /// Reading and writing the host clipboard.
    pub fn may_use_clipboard(self) -> bool {
        matches!(self, Role::Owner | Role::Controller)
    }

    /// Encoder and desktop settings (bitrate, framerate, resize, pointer drawing).
    pub fn may_change_settings(self) -> bool {
        self == Role::Owner
    }

    /// Handing out roles, minting and revoking links.
    pub fn may_administer(self) -> bool {
        self == Role::Owner
    }

    /// The host gamepad slot this role drives, if one (the owner drives any).
    pub fn pad_slot(self) -> Option<u8> {
        match self {
            Role::Player(n) => Some(n),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_text() {
        for r in [
            Role::Owner,
            Role::Controller,
            Role::Viewer,
            Role::Player(0),
            Role::Player(3),
        ] {
            assert_eq!(r.to_string().parse::<Role>(), Ok(r));
        }
        for bad in [
            "", "Owner", "player", "player4", "player10", "player-1", "root",
        ] {
            assert!(bad.parse::<Role>().is_err(), "{bad}");
        }
    }

    #[test]
    fn capabilities_per_role() {
        assert!(Role::Owner.may_type() && Role::Owner.may_change_settings());
        assert!(Role::Controller.may_type() && Role::Controller.may_use_clipboard());
        assert!(!Role::Controller.may_change_settings() && !Role::Controller.may_administer());
        assert!(!Role::Viewer.may_type() && !Role::Viewer.may_use_clipboard());
        assert!(!Role::Player(2).may_type() && Role::Player(2).pad_slot() == Some(2));
    }
}
