//! Building the RTC config from settings: STUN-only default, static long-term TURN credentials,
//! and coturn shared-secret ("TURN REST API") HMAC credentials (docs/protocol.md §8.2).

use base64::Engine;
use sha1::{Digest, Sha1};

use super::{IceServer, RtcConfig};
use crate::config::{Settings, TurnProtocol};

/// TURN credential lifetime, reported as `"lifetimeDuration": "86400s"`.
pub const DEFAULT_LIFETIME_SECS: u64 = 24 * 3600;

/// The STUN server the legacy host appends when another one is configured.
pub const GOOGLE_STUN: (&str, u16) = ("stun.l.google.com", 19302);

/// A TURN endpoint (host may be a bracketed IPv6 literal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnServer {
    pub host: String,
    pub port: u16,
    pub protocol: TurnProtocol,
    pub tls: bool,
}

impl TurnServer {
    /// `turn[s]:<host>:<port>?transport=<udp|tcp>`, the browser-facing TURN URL.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "turns" } else { "turn" };
        format!(
            "{scheme}:{}:{}?transport={}",
            self.host,
            self.port,
            self.protocol.as_str()
        )
    }
}

/// `base64(HMAC-SHA1(secret, username))`, the coturn REST-API credential.
pub fn hmac_credential(shared_secret: &str, username: &str) -> String {
    base64::engine::general_purpose::STANDARD
        .encode(hmac_sha1(shared_secret.as_bytes(), username.as_bytes()))
}

/// RFC 2104 HMAC over SHA-1 (block size 64). Written out because it is infallible for every
/// key length, whereas the `Mac` trait API returns a `Result` we would have to unwrap.
fn hmac_sha1(key: &[u8], msg: &[u8]) -> [u8; 20] {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..20].copy_from_slice(&Sha1::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| k.map(|b| b ^ byte);
    let inner = Sha1::new()
        .chain_update(pad(0x36))
        .chain_update(msg)
        .finalize();
    Sha1::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

/// The legacy STUN list rule: `stun:<turn>`; prepend `stun:<stun>` if it differs from the TURN
/// endpoint; append Google's STUN unless the STUN server already is exactly Google's.
pub fn stun_urls(stun_host: &str, stun_port: u16, turn: &TurnServer) -> Vec<String> {
    let mut urls = own_stun_urls(stun_host, stun_port, turn);
    if (stun_host, stun_port) != GOOGLE_STUN {
        urls.push(format!("stun:{}:{}", GOOGLE_STUN.0, GOOGLE_STUN.1));
    }
    urls
}

/// The legacy STUN list without the public fallback: `stun:<turn>`, preceded by `stun:<stun>`
/// when that is another endpoint. The TURN-REST service uses it so that nothing it serves points
/// at a third party the operator did not name.
pub fn own_stun_urls(stun_host: &str, stun_port: u16, turn: &TurnServer) -> Vec<String> {
    let mut urls = vec![format!("stun:{}:{}", turn.host, turn.port)];
    if stun_host != turn.host || stun_port != turn.port {
        urls.insert(0, format!("stun:{stun_host}:{stun_port}"));
    }
    urls
}

/// The default (no TURN) config: one STUN server, or none if `stun_host` is empty.
pub fn stun_only_config(stun_host: &str, stun_port: u16) -> RtcConfig {
    let servers = if stun_host.is_empty() {
        Vec::new()
    } else {
        vec![IceServer {
            urls: vec![format!("stun:{stun_host}:{stun_port}")],
            username: None,
            credential: None,
        }]
    };
    RtcConfig::with_servers(servers)
}

/// TURN with fixed long-term credentials (`--turn_username`/`--turn_password`).
pub fn static_turn_config(
    turn: &TurnServer,
    stun_host: &str,
    stun_port: u16,
    username: &str,
    password: &str,
) -> RtcConfig {
    turn_config(
        stun_urls(stun_host, stun_port, turn),
        turn,
        username,
        password,
    )
}

/// The two-entry TURN document: the given STUN list, then the TURN URL with its credentials.
pub fn turn_config(
    stun_urls: Vec<String>,
    turn: &TurnServer,
    username: &str,
    password: &str,
) -> RtcConfig {
    RtcConfig::with_servers(vec![
        IceServer {
            urls: stun_urls,
            username: None,
            credential: None,
        },
        IceServer {
            urls: vec![turn.url()],
            username: Some(username.to_owned()),
            credential: Some(password.to_owned()),
        },
    ])
}

/// The time-limited TURN username `<now + 24h>:<user>` (coturn's REST-API scheme: the expiry
/// comes first, and coturn refuses the credential once it has passed).
pub fn hmac_username(user: &str, now_unix: u64) -> String {
    format!("{}:{user}", now_unix.saturating_add(DEFAULT_LIFETIME_SECS))
}

/// TURN with time-limited HMAC credentials: username `<now + 24h>:<user>`.
pub fn hmac_turn_config(
    turn: &TurnServer,
    stun_host: &str,
    stun_port: u16,
    shared_secret: &str,
    user: &str,
    now_unix: u64,
) -> RtcConfig {
    let username = hmac_username(user, now_unix);
    let credential = hmac_credential(shared_secret, &username);
    static_turn_config(turn, stun_host, stun_port, &username, &credential)
}

/// Where the RTC config comes from once the file, TURN-REST and Cloudflare sources (which
/// need I/O and are the host's job, tried first) are ruled out: startup steps 4–6 of §1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RtcSource {
    /// Long-term credentials: the same document every time.
    Static(RtcConfig),
    /// Shared secret: a fresh credential per `/turn` request and per 60 s refresh.
    SharedSecret {
        turn: TurnServer,
        stun_host: String,
        stun_port: u16,
        secret: String,
    },
    /// No TURN configured: STUN only (our default; the legacy default was a public relay).
    StunOnly(RtcConfig),
}

impl RtcSource {
    /// Picks the source from settings: static credentials win over a shared secret; both need
    /// `--turn_host` and `--turn_port`.
    pub fn from_settings(s: &Settings) -> Self {
        let turn = match (&s.turn_host, s.turn_port) {
            (Some(host), Some(port)) => Some(TurnServer {
                host: host.clone(),
                port,
                protocol: s.turn_protocol,
                tls: s.turn_tls,
            }),
            _ => None,
        };
        match (
            turn,
            &s.turn_username,
            &s.turn_password,
            &s.turn_shared_secret,
        ) {
            (Some(turn), Some(user), Some(pass), _) => RtcSource::Static(static_turn_config(
                &turn,
                &s.stun_host,
                s.stun_port,
                user,
                pass,
            )),
            (Some(turn), _, _, Some(secret)) => RtcSource::SharedSecret {
                turn,
                stun_host: s.stun_host.clone(),
                stun_port: s.stun_port,
                secret: secret.clone(),
            },
            _ => RtcSource::StunOnly(stun_only_config(&s.stun_host, s.stun_port)),
        }
    }

    /// The config for a `/turn` request or for the host's own webrtcbin. `user` is the value of
    /// the `--turn_rest_username_auth_header` request header (HTTP) or `--turn_rest_username`
    /// (host); in shared-secret mode an absent user becomes the literal `username` (legacy).
    pub fn config(&self, user: Option<&str>, now_unix: u64) -> RtcConfig {
        match self {
            RtcSource::Static(c) | RtcSource::StunOnly(c) => c.clone(),
            RtcSource::SharedSecret {
                turn,
                stun_host,
                stun_port,
                secret,
            } => hmac_turn_config(
                turn,
                stun_host,
                *stun_port,
                secret,
                user.unwrap_or("username"),
                now_unix,
            ),
        }
    }

    /// Whether the document changes over time (the host re-generates it every 60 s).
    pub fn is_time_limited(&self) -> bool {
        matches!(self, RtcSource::SharedSecret { .. })
    }
}
