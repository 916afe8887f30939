//! How a peer connection got through: the selected ICE candidate pair read out of a WebRTC
//! statistics report, as a typed [`Connectivity`] (candidate types host/srflx/prflx/relay,
//! transports udp/tcp/tls, round-trip time, the TURN server of a relayed side, bytes).
//!
//! Pure: the input is the report as JSON, either webrtcbin's `get-stats` structure converted
//! field by field (an object of stats objects keyed by id, GStreamer's dashed field names such
//! as `local-candidate-id`) or a browser's `RTCStatsReport` (an array or object of stats with
//! camelCase names such as `localCandidateId`). Field names are compared without dashes and
//! case, so one parser reads both. See docs/connectivity.md ("Connectivity report").

use std::collections::HashMap;
use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};

/// ICE candidate type (RFC 8445 §5.1.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CandidateType {
    Host,
    Srflx,
    Prflx,
    Relay,
    Unknown,
}

impl CandidateType {
    fn parse(s: &str) -> Self {
        match s.to_ascii_lowercase().as_str() {
            "host" => Self::Host,
            "srflx" | "server-reflexive" => Self::Srflx,
            "prflx" | "peer-reflexive" => Self::Prflx,
            "relay" | "relayed" => Self::Relay,
            _ => Self::Unknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Host => "host",
            Self::Srflx => "srflx",
            Self::Prflx => "prflx",
            Self::Relay => "relay",
            Self::Unknown => "unknown",
        }
    }
}

/// A transport: of a candidate (udp/tcp) or between a client and its TURN server (udp/tcp/tls).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Udp,
    Tcp,
    Tls,
    Unknown,
}

impl Transport {
    fn parse(s: &str) -> Self {
        match s.to_ascii_lowercase().as_str() {
            "udp" => Self::Udp,
            "tcp" => Self::Tcp,
            "tls" | "dtls" => Self::Tls,
            _ => Self::Unknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Udp => "udp",
            Self::Tcp => "tcp",
            Self::Tls => "tls",
            Self::Unknown => "unknown",
        }
    }
}

/// One side of the selected pair.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    #[serde(rename = "type")]
    pub kind: CandidateType,
    pub protocol: Transport,
    pub address: String,
    pub port: u16,
    /// For a local relay candidate: the transport to the TURN server (`relayProtocol`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relay_protocol: Option<Transport>,
    /// For a local relay or srflx candidate: the STUN/TURN server URL it came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl Candidate {
    pub fn endpoint(&self) -> String {
        if self.address.contains(':') {
            format!("[{}]:{}", self.address, self.port)
        } else {
            format!("{}:{}", self.address, self.port)
        }
    }
}

/// Which side of the pair goes through a TURN server, and which one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Relay {
    /// `local` (our own allocation) or `remote` (the peer's).
    pub side: &'static str,
    /// The TURN server URL when the stats name it, else the relayed transport address.
    pub server: String,
    /// Client → TURN server transport, when known (only a local relay candidate says).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Transport>,
    /// The relay is the host's embedded one (set by the host, which knows its own addresses).
    pub embedded: bool,
}

/// How one peer connection got through.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Connectivity {
    /// The stats id of the selected pair; a change of it is a change of path.
    pub pair_id: String,
    pub local: Candidate,
    pub remote: Candidate,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relay: Option<Relay>,
    /// Round-trip time in ms: the pair's current RTT, else the RTCP-measured one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rtt_ms: Option<f64>,
    pub bytes_sent: u64,
    pub bytes_received: u64,
}

impl Connectivity {
    /// True when `other` is the same path (same pair of candidates), whatever the counters say.
    pub fn same_path(&self, other: &Connectivity) -> bool {
        self.local.kind == other.local.kind
            && self.local.endpoint() == other.local.endpoint()
            && self.local.protocol == other.local.protocol
            && self.remote.endpoint() == other.remote.endpoint()
            && self.remote.kind == other.remote.kind
    }

    /// `direct` or `relayed`.
    pub fn path(&self) -> &'static str {
        if self.relay.is_some() {
            "relayed"
        } else {
            "direct"
        }
    }
}

impl fmt::Display for Connectivity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} ↔ {} {} {}",
            self.local.kind.as_str(),
            self.local.protocol.as_str(),
            self.local.endpoint(),
            self.remote.kind.as_str(),
            self.remote.protocol.as_str(),
            self.remote.endpoint(),
        )?;
        if let Some(r) = &self.relay {
            write!(f, ", relayed ({} side) via {}", r.side, r.server)?;
            if let Some(p) = r.protocol {
                write!(f, " over {}", p.as_str())?;
            }
            if r.embedded {
                f.write_str(" (embedded relay)")?;
            }
        }
        if let Some(rtt) = self.rtt_ms {
            write!(f, ", rtt {rtt:.1} ms")?;
        }
        Ok(())
    }
}

/// One stats object with its keys normalised (no dashes or underscores, lower case).
struct Stat<'a>(HashMap<String, &'a Value>);

fn norm(key: &str) -> String {
    key.chars()
        .filter(|c| *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

impl<'a> Stat<'a> {
    fn new(obj: &'a Map<String, Value>) -> Self {
        Self(obj.iter().map(|(k, v)| (norm(k), v)).collect())
    }

    fn str(&self, key: &str) -> Option<&'a str> {
        self.0.get(key).and_then(|v| v.as_str())
    }

    fn num(&self, key: &str) -> Option<f64> {
        self.0.get(key).and_then(|v| v.as_f64())
    }

    fn bool(&self, key: &str) -> Option<bool> {
        self.0.get(key).and_then(|v| v.as_bool())
    }

    /// The stats type, normalised: `candidate-pair`, `local-candidate`, `inbound-rtp`…
    fn kind(&self) -> String {
        self.str("type")
            .map(|t| t.to_ascii_lowercase().replace('_', "-"))
            .unwrap_or_default()
    }

    fn candidate(&self) -> Candidate {
        Candidate {
            kind: self
                .str("candidatetype")
                .map_or(CandidateType::Unknown, CandidateType::parse),
            protocol: self
                .str("protocol")
                .map_or(Transport::Unknown, Transport::parse),
            address: self
                .str("address")
                .or_else(|| self.str("ip"))
                .unwrap_or("")
                .to_owned(),
            port: self
                .num("port")
                .filter(|p| (0.0..=65535.0).contains(p))
                .map_or(0, |p| p as u16),
            relay_protocol: self.str("relayprotocol").map(Transport::parse),
            url: self.str("url").filter(|u| !u.is_empty()).map(str::to_owned),
        }
    }
}

/// Every stats object of `report` with its id (array or object form; anything else is empty).
fn stats(report: &Value) -> Vec<(String, Stat<'_>)> {
    let items: Vec<(Option<&String>, &Value)> = match report {
        Value::Array(a) => a.iter().map(|v| (None, v)).collect(),
        Value::Object(o) => o.iter().map(|(k, v)| (Some(k), v)).collect(),
        _ => Vec::new(),
    };
    items
        .into_iter()
        .filter_map(|(key, v)| {
            let obj = v.as_object()?;
            let stat = Stat::new(obj);
            let id = stat.str("id").map(str::to_owned).or_else(|| key.cloned())?;
            Some((id, stat))
        })
        .collect()
}

/// The selected candidate pair of `report`, or `None` while there is none (ICE not connected,
/// or a report without candidate stats).
///
/// Which pair is selected: the one a `transport` stat names (`selectedCandidatePairId`), else a
/// nominated and succeeded pair (browsers), else the only pair with both candidate ids
/// (webrtcbin reports just the selected pair of each transport).
pub fn selected_pair(report: &Value) -> Option<Connectivity> {
    let all = stats(report);
    let by_id: HashMap<&str, &Stat<'_>> = all.iter().map(|(id, s)| (id.as_str(), s)).collect();
    let pairs: Vec<(&str, &Stat<'_>)> = all
        .iter()
        .filter(|(_, s)| s.kind() == "candidate-pair")
        .filter(|(_, s)| {
            s.str("localcandidateid").is_some() && s.str("remotecandidateid").is_some()
        })
        .map(|(id, s)| (id.as_str(), s))
        .collect();
    let named = all
        .iter()
        .filter(|(_, s)| s.kind() == "transport")
        .find_map(|(_, s)| s.str("selectedcandidatepairid"))
        .and_then(|id| pairs.iter().find(|(pid, _)| *pid == id).copied());
    let nominated = || {
        pairs
            .iter()
            .find(|(_, s)| s.bool("nominated") == Some(true) && s.str("state") == Some("succeeded"))
            .copied()
    };
    let only = || {
        let without_state: Vec<_> = pairs
            .iter()
            .filter(|(_, s)| s.bool("nominated").is_none() && s.str("state").is_none())
            .collect();
        (without_state.len() == 1).then(|| *without_state[0])
    };
    let (pair_id, pair) = named.or_else(nominated).or_else(only)?;
    let local = by_id.get(pair.str("localcandidateid")?)?.candidate();
    let remote = by_id.get(pair.str("remotecandidateid")?)?.candidate();
    let relay = relay_of(&local, &remote);
    let rtt_ms = pair
        .num("currentroundtriptime")
        .or_else(|| {
            // webrtcbin has no pair RTT; RTCP receiver reports measure the same path.
            all.iter()
                .filter(|(_, s)| s.kind() == "remote-inbound-rtp")
                .filter_map(|(_, s)| s.num("roundtriptime"))
                .filter(|r| *r > 0.0)
                .reduce(f64::min)
        })
        .map(|s| s * 1000.0);
    let (bytes_sent, bytes_received) = bytes(pair, &all);
    Some(Connectivity {
        pair_id: pair_id.to_owned(),
        local,
        remote,
        relay,
        rtt_ms,
        bytes_sent,
        bytes_received,
    })
}

fn relay_of(local: &Candidate, remote: &Candidate) -> Option<Relay> {
    if local.kind == CandidateType::Relay {
        return Some(Relay {
            side: "local",
            server: local.url.clone().unwrap_or_else(|| local.endpoint()),
            protocol: local.relay_protocol,
            embedded: false,
        });
    }
    (remote.kind == CandidateType::Relay).then(|| Relay {
        side: "remote",
        server: remote.endpoint(),
        protocol: None,
        embedded: false,
    })
}

/// Bytes of the pair, else the sum over the RTP streams (webrtcbin counts per stream).
fn bytes(pair: &Stat<'_>, all: &[(String, Stat<'_>)]) -> (u64, u64) {
    let count = |v: f64| {
        if v.is_finite() && v > 0.0 {
            v as u64
        } else {
            0
        }
    };
    if let (Some(s), Some(r)) = (pair.num("bytessent"), pair.num("bytesreceived")) {
        return (count(s), count(r));
    }
    let sum = |kind: &str, key: &str| -> u64 {
        all.iter()
            .filter(|(_, s)| s.kind() == kind)
            .filter_map(|(_, s)| s.num(key))
            .map(count)
            .sum()
    };
    (
        sum("outbound-rtp", "bytessent"),
        sum("inbound-rtp", "bytesreceived"),
    )
}

#[cfg(test)]
#[path = "connectivity_tests.rs"]
mod tests;
