//! Prints what the per-second telemetry work costs: flattening + observing a Chromium-sized
//! `_stats_video` array, appending it to the CSV file, a column-change rewrite of a one-hour
//! file, and rendering `/metrics`. Run: `cargo run --release -p selkies-telemetry --example
//! bench_telemetry`.

use std::time::Instant;

use selkies_telemetry::{Metrics, StatsCsv, StatsKind};
use serde_json::{Map, Value, json};

/// Roughly what Chromium posts for the video PC: ~25 reports, ~350 fields.
fn chromium_like(t: f64, pairs: usize) -> Value {
    let mut reports = Vec::new();
    for i in 0..pairs {
        reports.push(json!({"id": format!("CP{i}"), "type": "candidate-pair", "timestamp": t,
            "state": if i == 0 { "succeeded" } else { "waiting" }, "nominated": i == 0,
            "currentRoundTripTime": 0.003, "availableIncomingBitrate": 5_000_000,
            "bytesSent": 1000 * i, "bytesReceived": 90_000_000, "requestsReceived": 10,
            "responsesSent": 10, "localCandidateId": format!("L{i}"), "remoteCandidateId": format!("R{i}")}));
        for side in ["local-candidate", "remote-candidate"] {
            reports.push(
                json!({"id": format!("{side}{i}"), "type": side, "timestamp": t,
                "address": "127.0.0.1", "port": 50000 + i, "protocol": "udp",
                "candidateType": "host", "priority": 2_122_260_223u64, "foundation": "1"}),
            );
        }
    }
    let mut inbound = Map::new();
    for (k, v) in [
        ("id", json!("IT01V")),
        ("type", json!("inbound-rtp")),
        ("kind", json!("video")),
        ("timestamp", json!(t)),
    ] {
        inbound.insert(k.into(), v);
    }
    for f in [
        "framesDecoded",
        "framesReceived",
        "framesDropped",
        "frameWidth",
        "frameHeight",
        "framesPerSecond",
        "jitterBufferDelay",
        "jitterBufferEmittedCount",
        "jitterBufferTargetDelay",
        "jitterBufferMinimumDelay",
        "totalDecodeTime",
        "totalProcessingDelay",
        "totalAssemblyTime",
        "keyFramesDecoded",
        "freezeCount",
        "pauseCount",
        "packetsLost",
        "packetsReceived",
        "bytesReceived",
        "nackCount",
        "pliCount",
        "firCount",
    ] {
        inbound.insert(f.into(), json!(t / 10.0));
    }
    reports.push(Value::Object(inbound));
    reports.push(
        json!({"id": "T01", "type": "transport", "selectedCandidatePairId": "CP0",
        "dtlsState": "connected", "bytesReceived": 90_000_000}),
    );
    Value::Array(reports)
}

fn per_call_us(n: u32, mut f: impl FnMut(u32)) -> f64 {
    let start = Instant::now();
    for i in 0..n {
        f(i);
    }
    start.elapsed().as_secs_f64() * 1e6 / f64::from(n)
}

fn main() {
    let metrics = Metrics::new();
    metrics.set_encoder("x264enc");
    let stats = chromium_like(1000.0, 8);
    let fields = selkies_telemetry::flatten_stats(&stats).map_or(0, |f| f.len());
    let us = per_call_us(2000, |i| {
        let _ = metrics.observe_stats(StatsKind::Video, &chromium_like(f64::from(i), 8));
    });
    println!("observe_stats ({fields} fields, incl. building the array): {us:.1} us/call");
    let us = per_call_us(500, |_| {
        let _ = metrics.render();
    });
    println!(
        "render /metrics ({} bytes): {us:.1} us/call",
        metrics.render().len()
    );

    let dir = std::env::temp_dir().join(format!("selkies-bench-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let mut csv = StatsCsv::new(&dir);
    let flat = selkies_telemetry::flatten_stats(&stats).unwrap_or_default();
    let us = per_call_us(3600, |_| {
        let _ = csv.write_flat(StatsKind::Video, &flat);
    });
    let size = std::fs::metadata(csv.path(StatsKind::Video)).map_or(0, |m| m.len());
    println!(
        "CSV append: {us:.1} us/row; one hour at 1 row/s = {:.1} MB",
        size as f64 / 1e6
    );
    let wider = selkies_telemetry::flatten_stats(&chromium_like(1.0, 9)).unwrap_or_default();
    let start = Instant::now();
    let outcome = csv.write_flat(StatsKind::Video, &wider);
    println!(
        "CSV column change on that one-hour file ({outcome:?}): {:.1} ms",
        start.elapsed().as_secs_f64() * 1e3
    );
    let _ = std::fs::remove_dir_all(&dir);
}
