//! Conversion of ICE server URLs (RFC 7064/7065 `stun:`/`turn:` form) into the URI form that
//! webrtcbin's `stun-server`, `turn-server` and `add-turn-server` expect (docs/protocol.md §2.4).
//!
//! Fixes over the legacy converter: bracketed IPv6 hosts survive (legacy split on `:`), and the
//! user/credential are percent-encoded like Python's `quote(…, safe='')`. As in the legacy host,
//! `?transport=` is dropped; webrtcbin then offers the relay over both UDP and TCP.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::RtcConfig;

/// Python `urllib.parse.quote(s, safe='')` keeps only alphanumerics and `_.-~`.
const USERINFO: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'.')
    .remove(b'-')
    .remove(b'~');

/// Servers for webrtcbin: `stun` → `stun-server`, `turn[0]` → `turn-server`, the rest →
/// `add-turn-server`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebrtcbinServers {
    /// `stun://host:port` of the first STUN URL (webrtcbin takes only one).
    pub stun: Option<String>,
    /// `turn(s)://user:credential@host:port`.
    pub turn: Vec<String>,
    /// URLs that could not be used (e.g. `stuns:`, TURN without credentials), for logging.
    pub ignored: Vec<String>,
}

/// Scheme of an ICE URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    Stun,
    Stuns,
    Turn,
    Turns,
}

/// `scheme:host[:port][?query]` → (scheme, host (IPv6 bracketed), optional port).
pub(crate) fn split_url(url: &str) -> Option<(Scheme, String, Option<u16>)> {
    let (scheme, rest) = url.split_once(':')?;
    let scheme = match scheme.to_ascii_lowercase().as_str() {
        "stun" => Scheme::Stun,
        "stuns" => Scheme::Stuns,
        "turn" => Scheme::Turn,
        "turns" => Scheme::Turns,
        _ => return None,
    };
    // Tolerate the `turn://host` spelling some configs use.
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let hostport = rest.split_once('?').map_or(rest, |(h, _)| h);
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (addr, after) = v6.split_once(']')?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?.parse().ok()?),
        };
        (format!("[{addr}]"), port)
    } else if hostport.matches(':').count() > 1 {
        // A bare IPv6 literal cannot carry a port; bracket it for the URI.
        (format!("[{hostport}]"), None)
    } else {
        match hostport.split_once(':') {
            Some((h, p)) => (h.to_owned(), Some(p.parse().ok()?)),
            None => (hostport.to_owned(), None),
        }
    };
    if host.is_empty() || host == "[]" || host.contains(['@', '/', ' ']) {
        return None;
    }
    Some((scheme, host, port))
}

/// Converts every URL of every ICE server.
pub fn webrtcbin_servers(config: &RtcConfig) -> WebrtcbinServers {
    let mut out = WebrtcbinServers::default();
    for server in &config.ice_servers {
        for url in &server.urls {
            let Some((scheme, host, port)) = split_url(url) else {
                out.ignored.push(url.clone());
                continue;
            };
            match scheme {
                Scheme::Stun => {
                    if out.stun.is_none() {
                        out.stun = Some(format!("stun://{host}:{}", port.unwrap_or(3478)));
                    }
                }
                Scheme::Stuns => out.ignored.push(url.clone()),
                Scheme::Turn | Scheme::Turns => {
                    let (Some(user), Some(cred)) = (&server.username, &server.credential) else {
                        out.ignored.push(url.clone());
                        continue;
                    };
                    let (name, default_port) = if scheme == Scheme::Turns {
                        ("turns", 5349)
                    } else {
                        ("turn", 3478)
                    };
                    out.turn.push(format!(
                        "{name}://{}:{}@{host}:{}",
                        utf8_percent_encode(user, USERINFO),
                        utf8_percent_encode(cred, USERINFO),
                        port.unwrap_or(default_port)
                    ));
                }
            }
        }
    }
    out
}
