use super::*;
use serde_json::json;

/// webrtcbin's `get-stats` as the host converts it: one object keyed by stats id, GStreamer's
/// dashed field names, only the selected pair per transport, RTT on remote-inbound-rtp.
fn webrtcbin_relayed_remote() -> Value {
    json!({
        "peer-connection-stats": {"type": "peer-connection", "id": "peer-connection-stats"},
        "ice-candidate-pair_nicetransport0": {
            "type": "candidate-pair", "id": "ice-candidate-pair_nicetransport0",
            "local-candidate-id": "ice-candidate-local_1",
            "remote-candidate-id": "ice-candidate-remote_1"
        },
        "ice-candidate-local_1": {
            "type": "local-candidate", "id": "ice-candidate-local_1", "address": "10.77.0.1",
            "port": 40001u32, "candidate-type": "host", "protocol": "udp", "priority": 2015363327u32
        },
        "ice-candidate-remote_1": {
            "type": "remote-candidate", "id": "ice-candidate-remote_1", "address": "10.77.0.1",
            "port": 51234u32, "candidate-type": "relay", "protocol": "udp"
        },
        "rtp-remote-inbound_96": {"type": "remote-inbound-rtp", "round-trip-time": 0.0042},
        "rtp-remote-inbound_97": {"type": "remote-inbound-rtp", "round-trip-time": 0.0},
        "rtp-outbound_96": {"type": "outbound-rtp", "bytes-sent": 120000u64},
        "rtp-outbound_97": {"type": "outbound-rtp", "bytes-sent": 3000u64},
        "rtp-inbound_x": {"type": "inbound-rtp", "bytes-received": 50u64}
    })
}

/// A browser's `getStats()` as an array: camelCase, several pairs, the transport names the
/// selected one, the local side relayed over TCP.
fn chromium_relayed_local() -> Value {
    json!([
        {"id": "T01", "type": "transport", "selectedCandidatePairId": "CP2", "bytesSent": 10},
        {"id": "CP1", "type": "candidate-pair", "localCandidateId": "L1", "remoteCandidateId": "R1",
         "state": "failed", "nominated": false},
        {"id": "CP2", "type": "candidate-pair", "localCandidateId": "L2", "remoteCandidateId": "R1",
         "state": "succeeded", "nominated": true, "currentRoundTripTime": 0.003,
         "bytesSent": 2000, "bytesReceived": 900000},
        {"id": "L1", "type": "local-candidate", "candidateType": "host", "protocol": "udp",
         "address": "10.77.0.2", "port": 50000},
        {"id": "L2", "type": "local-candidate", "candidateType": "relay", "protocol": "udp",
         "address": "10.77.0.1", "port": 49152, "relayProtocol": "tcp",
         "url": "turn:10.77.0.1:18095?transport=tcp"},
        {"id": "R1", "type": "remote-candidate", "candidateType": "host", "protocol": "udp",
         "address": "10.77.0.1", "port": 40001}
    ])
}

#[test]
fn webrtcbin_report_with_a_relayed_browser() {
    let c = selected_pair(&webrtcbin_relayed_remote()).expect("a selected pair");
    assert_eq!(c.pair_id, "ice-candidate-pair_nicetransport0");
    assert_eq!(c.local.kind, CandidateType::Host);
    assert_eq!(c.local.protocol, Transport::Udp);
    assert_eq!(c.local.endpoint(), "10.77.0.1:40001");
    assert_eq!(c.remote.kind, CandidateType::Relay);
    let relay = c.relay.as_ref().expect("relayed");
    assert_eq!(relay.side, "remote");
    assert_eq!(relay.server, "10.77.0.1:51234");
    assert_eq!(relay.protocol, None);
    // The smallest non-zero RTCP RTT; a zero means "not measured yet".
    assert_eq!(c.rtt_ms, Some(4.2));
    assert_eq!((c.bytes_sent, c.bytes_received), (123_000, 50));
    assert_eq!(c.path(), "relayed");
    assert_eq!(
        c.to_string(),
        "host udp 10.77.0.1:40001 ↔ relay udp 10.77.0.1:51234, relayed (remote side) via \
         10.77.0.1:51234, rtt 4.2 ms"
    );
}

#[test]
fn browser_report_uses_the_transports_selected_pair() {
    let c = selected_pair(&chromium_relayed_local()).expect("a selected pair");
    assert_eq!(c.pair_id, "CP2");
    assert_eq!(c.local.kind, CandidateType::Relay);
    assert_eq!(c.local.relay_protocol, Some(Transport::Tcp));
    let relay = c.relay.expect("relayed");
    assert_eq!(relay.side, "local");
    assert_eq!(relay.server, "turn:10.77.0.1:18095?transport=tcp");
    assert_eq!(relay.protocol, Some(Transport::Tcp));
    assert_eq!(c.rtt_ms, Some(3.0));
    assert_eq!((c.bytes_sent, c.bytes_received), (2000, 900_000));
}

#[test]
fn nominated_pair_without_a_transport_stat() {
    let mut report = chromium_relayed_local();
    report.as_array_mut().expect("array").remove(0);
    assert_eq!(
        selected_pair(&report).map(|c| c.pair_id),
        Some("CP2".into())
    );
}

#[test]
fn no_pair_before_ice_connects() {
    assert_eq!(selected_pair(&json!({})), None);
    assert_eq!(selected_pair(&json!([])), None);
    assert_eq!(selected_pair(&json!("not stats")), None);
    // webrtcbin before a pair is selected: a pair stat without candidate ids.
    let early = json!({"ice-candidate-pair_t": {"type": "candidate-pair"}});
    assert_eq!(selected_pair(&early), None);
    // Browsers list checked pairs that are not selected.
    let checking = json!([
        {"id": "CP1", "type": "candidate-pair", "localCandidateId": "L1", "remoteCandidateId": "R1",
         "state": "in-progress", "nominated": false},
        {"id": "L1", "type": "local-candidate", "candidateType": "host"},
        {"id": "R1", "type": "remote-candidate", "candidateType": "host"}
    ]);
    assert_eq!(selected_pair(&checking), None);
}

#[test]
fn a_pair_naming_missing_candidates_is_no_pair() {
    let report = json!({"p": {"type": "candidate-pair", "local-candidate-id": "x",
                              "remote-candidate-id": "y"}});
    assert_eq!(selected_pair(&report), None);
}

#[test]
fn odd_values_do_not_panic() {
    let report = json!({
        "p": {"type": "candidate-pair", "local-candidate-id": "l", "remote-candidate-id": "r",
              "bytes-sent": -5.0, "bytes-received": 1e30},
        "l": {"type": "local-candidate", "port": 70000, "candidate-type": "weird",
              "protocol": 7, "address": "fe80::1"},
        "r": {"type": "remote-candidate", "port": -1, "candidate-type": "prflx", "protocol": "TCP"}
    });
    let c = selected_pair(&report).expect("pair");
    assert_eq!(c.local.kind, CandidateType::Unknown);
    assert_eq!(c.local.protocol, Transport::Unknown);
    assert_eq!(c.local.port, 0);
    assert_eq!(c.local.endpoint(), "[fe80::1]:0");
    assert_eq!(c.remote.kind, CandidateType::Prflx);
    assert_eq!(c.remote.protocol, Transport::Tcp);
    assert_eq!(c.bytes_sent, 0);
    assert!(c.relay.is_none());
    assert_eq!(c.rtt_ms, None);
}

#[test]
fn same_path_ignores_counters() {
    let a = selected_pair(&webrtcbin_relayed_remote()).expect("pair");
    let mut b = a.clone();
    b.bytes_sent += 1000;
    b.rtt_ms = Some(9.0);
    assert!(a.same_path(&b));
    b.remote.port += 1;
    assert!(!a.same_path(&b));
}

#[test]
fn serialises_for_the_connectivity_route() {
    let c = selected_pair(&chromium_relayed_local()).expect("pair");
    let v = serde_json::to_value(&c).expect("json");
    assert_eq!(v["local"]["type"], "relay");
    assert_eq!(v["local"]["relay_protocol"], "tcp");
    assert_eq!(v["remote"]["type"], "host");
    assert_eq!(v["relay"]["side"], "local");
    assert_eq!(v["rtt_ms"], 3.0);
}
