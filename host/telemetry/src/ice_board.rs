//! The last connectivity report of each of the host's peer connections, shared by the peers
//! that write it, the `/connectivity` route that serves it and the `/metrics` exposition
//! (the `selkies_ice_*` families). It also says whether a change is worth a log line: the first
//! report of a connection and every change of its selected pair.
//!
//! A relayed browser's relay address is looked up with the resolver the host installs for its
//! embedded TURN relay, which knows which client allocated it and over which transport.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde::Serialize;

use crate::connectivity::{Connectivity, Transport};
use crate::exposition::{Exposition, MetricType};

/// Maps a relayed transport address to the transport its client reached the embedded relay
/// over, when the address is one of the embedded relay's allocations.
pub type RelayResolver = Arc<dyn Fn(SocketAddr) -> Option<Transport> + Send + Sync>;

/// One peer connection's entry, as `/connectivity` serves it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeerConnectivity {
    /// `video` or `audio`.
    pub peer: String,
    pub path: &'static str,
    /// Unix time (s) this pair was first reported.
    pub since_unix: f64,
    /// How often the selected pair changed during this connection.
    pub changes: u32,
    #[serde(flatten)]
    pub report: Connectivity,
}

/// What [`ConnectivityBoard::update`] found.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// The connection's first selected pair.
    First,
    /// Another pair than before (ICE restart, a better pair nominated, a relay fallback).
    Switched { from: Box<Connectivity> },
    /// Same pair, counters refreshed.
    Same,
}

#[derive(Default)]
struct Inner {
    peers: BTreeMap<String, PeerConnectivity>,
    resolver: Option<RelayResolver>,
}

/// Cheap-to-clone handle on the reports of all peers.
#[derive(Clone, Default)]
pub struct ConnectivityBoard {
    inner: Arc<Mutex<Inner>>,
}

impl ConnectivityBoard {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Installs the embedded relay's lookup (once it runs).
    pub fn set_relay_resolver(&self, resolver: RelayResolver) {
        self.lock().resolver = Some(resolver);
    }

    /// Records `report` for `peer`; returns the report as stored (the relay resolved) and what
    /// changed.
    pub fn update(
        &self,
        peer: &str,
        mut report: Connectivity,
        now_unix: f64,
    ) -> (PeerConnectivity, Change) {
        let mut inner = self.lock();
        if let Some(relay) = report.relay.as_mut().filter(|r| r.side == "remote")
            && let Ok(addr) = relay.server.parse::<SocketAddr>()
            && let Some(transport) = inner.resolver.as_ref().and_then(|r| r(addr))
        {
            relay.embedded = true;
            relay.protocol = Some(transport);
        }
        let (change, since, changes) = match inner.peers.get(peer) {
            None => (Change::First, now_unix, 0),
            Some(old) if old.report.same_path(&report) => {
                (Change::Same, old.since_unix, old.changes)
            }
            Some(old) => (
                Change::Switched {
                    from: Box::new(old.report.clone()),
                },
                now_unix,
                old.changes + 1,
            ),
        };
        let entry = PeerConnectivity {
            peer: peer.to_owned(),
            path: report.path(),
            since_unix: since,
            changes,
            report,
        };
        inner.peers.insert(peer.to_owned(), entry.clone());
        (entry, change)
    }

    /// The connection of `peer` ended.
    pub fn clear(&self, peer: &str) {
        self.lock().peers.remove(peer);
    }

    /// Every peer's entry, by peer name.
    pub fn snapshot(&self) -> Vec<PeerConnectivity> {
        self.lock().peers.values().cloned().collect()
    }

    /// The `selkies_ice_*` families: one info sample per peer with the pair's description as
    /// labels, and its RTT, bytes and path changes as gauges.
    pub fn write(&self, e: &mut Exposition) {
        let peers = self.snapshot();
        if peers.is_empty() {
            return;
        }
        let info = "selkies_ice_selected_pair_info";
        e.family(
            info,
            "Selected ICE candidate pair of each peer connection (labels describe the path)",
            MetricType::Gauge,
        );
        for p in &peers {
            let r = &p.report;
            let relay = r.relay.as_ref();
            let labels = [
                ("peer", p.peer.clone()),
                ("path", p.path.to_owned()),
                ("local_type", r.local.kind.as_str().to_owned()),
                ("local_protocol", r.local.protocol.as_str().to_owned()),
                ("remote_type", r.remote.kind.as_str().to_owned()),
                ("remote_protocol", r.remote.protocol.as_str().to_owned()),
                ("relay_side", relay.map_or("", |r| r.side).to_owned()),
                (
                    "relay_server",
                    relay.map_or(String::new(), |r| r.server.clone()),
                ),
                (
                    "relay_protocol",
                    relay
                        .and_then(|r| r.protocol)
                        .map_or("", Transport::as_str)
                        .to_owned(),
                ),
                (
                    "embedded_relay",
                    relay.is_some_and(|r| r.embedded).to_string(),
                ),
            ];
            e.sample(info, labels.iter().map(|(k, v)| (*k, v.as_str())), 1.0);
        }
        type Value = fn(&PeerConnectivity) -> Option<f64>;
        let gauges: [(&str, &str, Value); 4] = [
            (
                "selkies_ice_rtt_ms",
                "Round-trip time of the selected ICE candidate pair in ms, as the host measures it",
                |p| p.report.rtt_ms,
            ),
            (
                "selkies_ice_bytes_sent",
                "Bytes the host sent on the peer connection",
                |p| Some(p.report.bytes_sent as f64),
            ),
            (
                "selkies_ice_bytes_received",
                "Bytes the host received on the peer connection",
                |p| Some(p.report.bytes_received as f64),
            ),
            (
                "selkies_ice_pair_changes",
                "Changes of the selected ICE candidate pair during the connection",
                |p| Some(f64::from(p.changes)),
            ),
        ];
        for (name, help, value) in gauges {
            e.family(name, help, MetricType::Gauge);
            for p in &peers {
                if let Some(v) = value(p) {
                    e.sample(name, [("peer", p.peer.as_str())], v);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectivity::selected_pair;
    use serde_json::json;

    fn relayed(port: u16) -> Connectivity {
        selected_pair(&json!({
            "p": {"type": "candidate-pair", "local-candidate-id": "l", "remote-candidate-id": "r"},
            "l": {"type": "local-candidate", "candidate-type": "host", "protocol": "udp",
                  "address": "10.0.0.1", "port": 4000},
            "r": {"type": "remote-candidate", "candidate-type": "relay", "protocol": "udp",
                  "address": "10.0.0.1", "port": port},
            "x": {"type": "remote-inbound-rtp", "round-trip-time": 0.002}
        }))
        .expect("pair")
    }

    #[test]
    fn first_same_switched_and_cleared() {
        let board = ConnectivityBoard::default();
        let (e, c) = board.update("video", relayed(5000), 10.0);
        assert_eq!(c, Change::First);
        assert_eq!((e.since_unix, e.changes, e.path), (10.0, 0, "relayed"));
        let (e, c) = board.update("video", relayed(5000), 11.0);
        assert_eq!(c, Change::Same);
        assert_eq!(e.since_unix, 10.0);
        let (e, c) = board.update("video", relayed(5002), 12.0);
        assert!(matches!(c, Change::Switched { from } if from.remote.port == 5000));
        assert_eq!((e.since_unix, e.changes), (12.0, 1));
        board.clear("video");
        assert!(board.snapshot().is_empty());
        assert_eq!(board.update("video", relayed(5002), 13.0).1, Change::First);
    }

    #[test]
    fn the_embedded_relay_resolves_its_allocations() {
        let board = ConnectivityBoard::default();
        let (e, _) = board.update("audio", relayed(5000), 1.0);
        assert!(!e.report.relay.as_ref().is_some_and(|r| r.embedded));
        board.set_relay_resolver(Arc::new(|a: SocketAddr| {
            (a.port() == 5000).then_some(Transport::Tcp)
        }));
        let (e, _) = board.update("audio", relayed(5000), 2.0);
        let relay = e.report.relay.expect("relayed");
        assert!(relay.embedded);
        assert_eq!(relay.protocol, Some(Transport::Tcp));
        let (e, _) = board.update("audio", relayed(6000), 3.0);
        assert!(!e.report.relay.expect("relayed").embedded);
    }

    #[test]
    fn metrics_section() {
        let board = ConnectivityBoard::default();
        let mut e = Exposition::new();
        board.write(&mut e);
        assert_eq!(e.finish(), "");
        board.update("video", relayed(5000), 1.0);
        let mut e = Exposition::new();
        board.write(&mut e);
        let text = e.finish();
        assert!(
            text.contains("# TYPE selkies_ice_selected_pair_info gauge"),
            "{text}"
        );
        assert!(
            text.contains(
                "selkies_ice_selected_pair_info{peer=\"video\",path=\"relayed\",local_type=\"host\",\
                 local_protocol=\"udp\",remote_type=\"relay\",remote_protocol=\"udp\",\
                 relay_side=\"remote\",relay_server=\"10.0.0.1:5000\",relay_protocol=\"\",\
                 embedded_relay=\"false\"} 1.0"
            ),
            "{text}"
        );
        assert!(
            text.contains("selkies_ice_rtt_ms{peer=\"video\"} 2.0"),
            "{text}"
        );
        assert!(
            text.contains("selkies_ice_pair_changes{peer=\"video\"} 0.0"),
            "{text}"
        );
    }
}
