//! The RTC configuration (docs/protocol.md §2.3, §2.4, §8.2): the JSON served at `/turn` and
//! passed unchanged to `new RTCPeerConnection(config)`, how it is built from the STUN/TURN
//! settings ([`RtcSource`]), how a user-provided one is validated ([`RtcConfig::parse`]) and how
//! it becomes webrtcbin `stun-server`/`turn-server` URIs ([`webrtcbin_servers`]).

mod build;
#[cfg(test)]
mod tests;
mod webrtcbin;

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize};

pub use build::{
    DEFAULT_LIFETIME_SECS, GOOGLE_STUN, RtcSource, TurnServer, hmac_credential, hmac_turn_config,
    hmac_username, own_stun_urls, static_turn_config, stun_only_config, stun_urls, turn_config,
};
pub use webrtcbin::{WebrtcbinServers, webrtcbin_servers};

/// A user-provided RTC config that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RtcConfigError {
    #[error("RTC config is not valid JSON of the expected shape: {0}")]
    Json(#[from] serde_json::Error),
    #[error(
        "RTC config has an invalid ICE server URL {0:?} (expected stun:, stuns:, turn: or turns:)"
    )]
    BadUrl(String),
}

/// One entry of `iceServers`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct IceServer {
    /// A single string is accepted on input (as browsers do) and normalised to a list.
    #[serde(deserialize_with = "one_or_many")]
    pub urls: Vec<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub credential: Option<String>,
}

impl Serialize for IceServer {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let len = 1 + usize::from(self.username.is_some()) + usize::from(self.credential.is_some());
        let mut m = s.serialize_map(Some(len))?;
        m.serialize_entry("urls", &self.urls)?;
        if let Some(u) = &self.username {
            m.serialize_entry("username", u)?;
        }
        if let Some(c) = &self.credential {
            m.serialize_entry("credential", c)?;
        }
        m.end()
    }
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Urls {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Urls::deserialize(d)? {
        Urls::One(u) => vec![u],
        Urls::Many(v) => v,
    })
}

/// The `/turn` document. Serialises with the legacy key order
/// `lifetimeDuration, blockStatus, iceTransportPolicy, iceServers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RtcConfig {
    #[serde(default = "default_lifetime")]
    pub lifetime_duration: String,
    #[serde(default = "default_block_status")]
    pub block_status: String,
    #[serde(default = "default_policy")]
    pub ice_transport_policy: String,
    pub ice_servers: Vec<IceServer>,
}

fn default_lifetime() -> String {
    format!("{DEFAULT_LIFETIME_SECS}s")
}
fn default_block_status() -> String {
    "NOT_BLOCKED".to_owned()
}
fn default_policy() -> String {
    "all".to_owned()
}

impl RtcConfig {
    /// A config with the legacy constant fields and the given servers.
    pub fn with_servers(ice_servers: Vec<IceServer>) -> Self {
        RtcConfig {
            lifetime_duration: default_lifetime(),
            block_status: default_block_status(),
            ice_transport_policy: default_policy(),
            ice_servers,
        }
    }

    /// Parses and validates a user-provided config (`--rtc_config_json` file or a TURN-REST
    /// response). Unknown keys are ignored, as browsers do; the host should still serve the
    /// original bytes at `/turn` like the legacy host.
    pub fn parse(text: &str) -> Result<Self, RtcConfigError> {
        let cfg: RtcConfig = serde_json::from_str(text)?;
        for url in cfg.ice_servers.iter().flat_map(|s| &s.urls) {
            if webrtcbin::split_url(url).is_none() {
                return Err(RtcConfigError::BadUrl(url.clone()));
            }
        }
        Ok(cfg)
    }

    /// `json.dumps(config, indent=2)` as the legacy host serves it.
    pub fn to_json_pretty(&self) -> String {
        // Serialising plain strings/lists cannot fail; fall back to an empty object regardless.
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".to_owned())
    }
}
