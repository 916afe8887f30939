//! Receiver-side video numbers derived from successive `_stats_video` arrays (RTCStats as
//! Chromium exposes them, docs/testing.md G13), and the glass-to-glass estimate built from them.
//!
//! `jitterBufferDelay`, `totalDecodeTime` and `totalProcessingDelay` are cumulative seconds, so
//! per-frame values need two samples: Δdelay / Δcount over the last interval. The estimate is the
//! sum of host latency (capture + encode + pay, given by the host, or one frame interval when
//! unknown), RTT/2 and per-frame receive processing (jitter buffer through decode). It leaves out display
//! refresh and compositor time, which the browser does not report, so it reads low against a
//! measured glass-to-glass figure.

use serde_json::{Map, Value};

type Report = Map<String, Value>;

/// What one `_stats_video` array says about the received video.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct VideoReceiverStats {
    /// `framesPerSecond` of the video inbound-rtp report.
    pub fps: Option<f64>,
    /// `currentRoundTripTime` of the selected candidate pair, in ms.
    pub rtt_ms: Option<f64>,
    /// Average jitter-buffer delay per frame over the last interval, in ms.
    pub jitter_buffer_ms: Option<f64>,
    /// Average decode time per frame over the last interval, in ms.
    pub decode_ms: Option<f64>,
    /// Average first-packet-to-decoded time per frame over the last interval, in ms.
    pub processing_ms: Option<f64>,
    /// Received video bitrate over the last interval, in kbit/s.
    pub bitrate_kbps: Option<f64>,
    /// Cumulative `packetsLost`.
    pub packets_lost: Option<f64>,
}

impl VideoReceiverStats {
    /// Glass-to-glass estimate in ms given the host's own latency; `None` without an RTT or any
    /// receive-processing figure.
    pub fn glass_to_glass_ms(&self, host_ms: f64) -> Option<f64> {
        let receive =
            self.processing_ms
                .or_else(|| match (self.jitter_buffer_ms, self.decode_ms) {
                    (None, None) => None,
                    (j, d) => Some(j.unwrap_or(0.0) + d.unwrap_or(0.0)),
                })?;
        Some(host_ms + self.rtt_ms? / 2.0 + receive)
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Counters {
    timestamp: Option<f64>,
    bytes: Option<f64>,
    jb_delay: Option<f64>,
    jb_emitted: Option<f64>,
    decode_time: Option<f64>,
    processing: Option<f64>,
    frames_decoded: Option<f64>,
}

/// Keeps the previous sample's counters to turn cumulative values into per-interval ones.
#[derive(Debug, Default)]
pub struct VideoStatsTracker {
    prev: Option<Counters>,
}

fn num(r: &Report, key: &str) -> Option<f64> {
    r.get(key).and_then(Value::as_f64)
}

fn is_type(r: &Report, ty: &str) -> bool {
    r.get("type").and_then(Value::as_str) == Some(ty)
}

fn inbound_video(reports: &[Value]) -> Option<&Report> {
    reports.iter().filter_map(Value::as_object).find(|r| {
        is_type(r, "inbound-rtp")
            && (r.get("kind").and_then(Value::as_str) == Some("video")
                || r.get("mediaType").and_then(Value::as_str) == Some("video"))
    })
}

/// The transport's selected pair, else a nominated succeeded pair.
fn selected_pair(reports: &[Value]) -> Option<&Report> {
    let objs = || reports.iter().filter_map(Value::as_object);
    let selected_id = objs()
        .filter(|r| is_type(r, "transport"))
        .find_map(|r| r.get("selectedCandidatePairId").and_then(Value::as_str));
    if let Some(id) = selected_id
        && let Some(p) = objs().find(|r| r.get("id").and_then(Value::as_str) == Some(id))
    {
        return Some(p);
    }
    objs().find(|r| {
        is_type(r, "candidate-pair")
            && r.get("nominated").and_then(Value::as_bool) == Some(true)
            && r.get("state").and_then(Value::as_str) == Some("succeeded")
    })
}

/// Δa / Δb scaled, when both counters moved forward.
fn per(
    cur: Option<f64>,
    prev: Option<f64>,
    cur_n: Option<f64>,
    prev_n: Option<f64>,
    scale: f64,
) -> Option<f64> {
    let dn = cur_n? - prev_n?;
    let dv = cur? - prev?;
    (dn > 0.0 && dv >= 0.0).then(|| dv / dn * scale)
}

impl VideoStatsTracker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets the previous sample (a new connection restarts the counters).
    pub fn reset(&mut self) {
        self.prev = None;
    }

    /// Reads one posted `_stats_video` array; non-arrays yield empty stats.
    pub fn update(&mut self, stats: &Value) -> VideoReceiverStats {
        let reports = stats.as_array().map_or(&[][..], Vec::as_slice);
        let mut out = VideoReceiverStats {
            rtt_ms: selected_pair(reports)
                .and_then(|p| num(p, "currentRoundTripTime"))
                .map(|s| s * 1000.0),
            ..VideoReceiverStats::default()
        };
        let Some(rtp) = inbound_video(reports) else {
            return out;
        };
        out.fps = num(rtp, "framesPerSecond");
        out.packets_lost = num(rtp, "packetsLost");
        let cur = Counters {
            timestamp: num(rtp, "timestamp"),
            bytes: num(rtp, "bytesReceived"),
            jb_delay: num(rtp, "jitterBufferDelay"),
            jb_emitted: num(rtp, "jitterBufferEmittedCount"),
            decode_time: num(rtp, "totalDecodeTime"),
            processing: num(rtp, "totalProcessingDelay"),
            frames_decoded: num(rtp, "framesDecoded"),
        };
        if let Some(p) = self.prev {
            out.jitter_buffer_ms = per(
                cur.jb_delay,
                p.jb_delay,
                cur.jb_emitted,
                p.jb_emitted,
                1000.0,
            );
            out.decode_ms = per(
                cur.decode_time,
                p.decode_time,
                cur.frames_decoded,
                p.frames_decoded,
                1000.0,
            );
            out.processing_ms = per(
                cur.processing,
                p.processing,
                cur.frames_decoded,
                p.frames_decoded,
                1000.0,
            );
            // RTCStats timestamps are ms: bytes·8 / ms = kbit/s.
            out.bitrate_kbps = per(cur.bytes, p.bytes, cur.timestamp, p.timestamp, 8.0);
        }
        self.prev = Some(cur);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A `_stats_video` array shaped like Chromium's (G13 field names).
    fn sample(t: f64, bytes: f64, jb: f64, emitted: f64, decode: f64, frames: f64) -> Value {
        json!([
            {"id": "T01", "type": "transport", "selectedCandidatePairId": "CPx", "bytesReceived": bytes},
            {"id": "CPy", "type": "candidate-pair", "state": "failed", "nominated": false, "currentRoundTripTime": 0.5},
            {"id": "CPx", "type": "candidate-pair", "state": "succeeded", "nominated": true, "currentRoundTripTime": 0.004},
            {"id": "IT01A", "type": "inbound-rtp", "kind": "audio", "jitterBufferDelay": 99.0},
            {"id": "IT01V", "type": "inbound-rtp", "kind": "video", "timestamp": t,
             "framesPerSecond": 30, "framesDecoded": frames, "framesReceived": frames,
             "jitterBufferDelay": jb, "jitterBufferEmittedCount": emitted,
             "totalDecodeTime": decode, "bytesReceived": bytes, "packetsLost": 2,
             "frameWidth": 1920, "frameHeight": 1080, "codecId": "CIT01_96"}
        ])
    }

    #[test]
    fn deltas_over_one_interval() {
        let mut t = VideoStatsTracker::new();
        let first = t.update(&sample(1000.0, 100_000.0, 1.0, 100.0, 0.2, 100.0));
        assert_eq!(first.fps, Some(30.0));
        assert_eq!(first.rtt_ms, Some(4.0));
        assert_eq!(first.jitter_buffer_ms, None);
        // One second later: 30 frames, 0.18 s more jitter-buffer time, 0.066 s more decode,
        // 500 000 bytes more.
        let s = t.update(&sample(2000.0, 600_000.0, 1.18, 130.0, 0.266, 130.0));
        assert!((s.jitter_buffer_ms.unwrap() - 6.0).abs() < 1e-9);
        assert!((s.decode_ms.unwrap() - 2.2).abs() < 1e-9);
        assert!((s.bitrate_kbps.unwrap() - 4000.0).abs() < 1e-9);
        assert_eq!(s.packets_lost, Some(2.0));
        // 33.3 host + 2 (RTT/2) + 6 + 2.2
        let g2g = s.glass_to_glass_ms(1000.0 / 30.0).unwrap();
        assert!((g2g - 43.533_333).abs() < 1e-3, "{g2g}");
    }

    #[test]
    fn counters_reset_give_no_negative_values() {
        let mut t = VideoStatsTracker::new();
        t.update(&sample(5000.0, 900_000.0, 9.0, 900.0, 3.0, 900.0));
        let s = t.update(&sample(1000.0, 10_000.0, 0.1, 10.0, 0.02, 10.0));
        assert_eq!(s.jitter_buffer_ms, None);
        assert_eq!(s.bitrate_kbps, None);
        assert_eq!(s.glass_to_glass_ms(10.0), None);
    }

    #[test]
    fn nominated_pair_without_transport() {
        let stats = json!([
            {"id": "CPx", "type": "candidate-pair", "state": "succeeded", "nominated": true, "currentRoundTripTime": 0.010}
        ]);
        assert_eq!(VideoStatsTracker::new().update(&stats).rtt_ms, Some(10.0));
        assert_eq!(
            VideoStatsTracker::new().update(&json!({})),
            VideoReceiverStats::default()
        );
    }
}
