//! The host's side of the connectivity report (docs/connectivity.md, "Connectivity report"):
//! webrtcbin's `get-stats` reply turned into JSON for the pure parser of
//! `selkies_telemetry::connectivity`, and what a peer does with a parsed report: store it on the
//! metrics' [`ConnectivityBoard`](selkies_telemetry::ConnectivityBoard) (served by
//! `/connectivity` and `/metrics`) and log the path at INFO when the connection first gets
//! through and whenever its selected pair changes.

use std::time::{SystemTime, UNIX_EPOCH};

use gstreamer as gst;
use gstreamer::glib;
use gstreamer::prelude::*;
use selkies_telemetry::ice_board::Change;
use selkies_telemetry::{ConnectivityBoard, selected_pair};
use serde_json::{Map, Value};
use tracing::{debug, info};

/// Asks `webrtc` for its statistics; `done` gets them as JSON (from GStreamer's thread).
pub fn request(webrtc: &gst::Element, done: impl FnOnce(Value) + Send + 'static) {
    let promise = gst::Promise::with_change_func(move |reply| match reply {
        Ok(Some(stats)) => done(structure_to_json(stats)),
        other => debug!("get-stats: no reply ({other:?})"),
    });
    webrtc.emit_by_name::<()>("get-stats", &[&None::<gst::Pad>, &promise]);
}

/// A structure as a JSON object: nested structures as objects, enums by nick (the stats
/// `type` is a `GstWebRTCStatsType`), numbers and strings as such, anything else in
/// GStreamer's serialised form.
pub fn structure_to_json(s: &gst::StructureRef) -> Value {
    let mut out = Map::new();
    for (name, value) in s.iter() {
        out.insert(name.to_string(), value_to_json(value));
    }
    Value::Object(out)
}

fn value_to_json(v: &glib::Value) -> Value {
    if let Ok(s) = v.get::<gst::Structure>() {
        return structure_to_json(&s);
    }
    if let Ok(s) = v.get::<String>() {
        return Value::String(s);
    }
    macro_rules! number {
        ($($t:ty),*) => {$(
            if let Ok(n) = v.get::<$t>() {
                return serde_json::json!(n);
            }
        )*};
    }
    number!(bool, u64, i64, u32, i32, f64, f32);
    if let Some((_, e)) = glib::EnumValue::from_value(v) {
        return Value::String(e.nick().to_owned());
    }
    v.serialize()
        .map_or(Value::Null, |s| Value::String(s.to_string()))
}

/// A peer's stats arrived: store the selected pair and log it when it is new or changed.
/// Stats without a selected pair (ICE still checking) change nothing.
pub fn on_stats(board: &ConnectivityBoard, peer: &str, stats: &Value) {
    let Some(report) = selected_pair(stats) else {
        return;
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let (entry, change) = board.update(peer, report, now);
    match change {
        Change::First => info!(
            peer,
            path = entry.path,
            "peer connection got through: {}",
            entry.report
        ),
        Change::Switched { from } => info!(
            peer,
            path = entry.path,
            "selected candidate pair changed: {} (was {from})",
            entry.report
        ),
        Change::Same => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stats_structure_becomes_json_the_parser_reads() {
        gst::init().expect("gstreamer");
        use gstreamer_webrtc::WebRTCStatsType as T;
        // As webrtcbin 1.22 writes a candidate (gstwebrtcstats.c).
        let candidate = |kind: T, id: &str, address: &str, port: u32, ctype: &str| {
            gst::Structure::builder(id)
                .field("type", kind)
                .field("id", id)
                .field("address", address)
                .field("port", port)
                .field("candidate-type", ctype)
                .field("protocol", "udp")
                .build()
        };
        let local = candidate(
            T::LocalCandidate,
            "ice-candidate-local_1",
            "10.0.0.1",
            4000,
            "host",
        );
        let remote = candidate(
            T::RemoteCandidate,
            "ice-candidate-remote_1",
            "10.0.0.2",
            5000,
            "relay",
        );
        let pair = gst::Structure::builder("ice-candidate-pair_t")
            .field("type", T::CandidatePair)
            .field("id", "ice-candidate-pair_t")
            .field("local-candidate-id", "ice-candidate-local_1")
            .field("remote-candidate-id", "ice-candidate-remote_1")
            .build();
        let rtp = gst::Structure::builder("rtp-remote-inbound-stream-stats_1")
            .field("type", T::RemoteInboundRtp)
            .field("round-trip-time", 0.004f64)
            .field("fraction-lost", 0.5f32)
            .field("is-remote", false)
            .build();
        let stats = gst::Structure::builder("application/x-webrtc-stats")
            .field("ice-candidate-local_1", local)
            .field("ice-candidate-remote_1", remote)
            .field("ice-candidate-pair_t", pair)
            .field("rtp-remote-inbound-stream-stats_1", rtp)
            .build();
        let json = structure_to_json(&stats);
        assert_eq!(json["ice-candidate-pair_t"]["type"], "candidate-pair");
        assert_eq!(json["ice-candidate-local_1"]["port"], 4000);
        assert_eq!(
            json["rtp-remote-inbound-stream-stats_1"]["is-remote"],
            false
        );
        let c = selected_pair(&json).expect("a selected pair");
        assert_eq!(c.remote.endpoint(), "10.0.0.2:5000");
        assert_eq!(c.rtt_ms, Some(4.0));

        let board = ConnectivityBoard::default();
        on_stats(&board, "video", &json);
        on_stats(&board, "video", &serde_json::json!({}));
        assert_eq!(board.snapshot().len(), 1);
    }
}
