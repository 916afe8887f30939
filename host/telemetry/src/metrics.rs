//! The host's metric registry: the legacy Prometheus names of docs/protocol.md §9.1 (`fps`,
//! `fps_hist`, `gpu_utilization`, `latency`, `webrtc_statistics_info`, `process_*`) plus ours
//! (`selkies_*`: encoder, configured rates, connected clients, receiver-side video numbers and the
//! glass-to-glass estimate), and their rendering as Prometheus text.
//!
//! [`Metrics`] is a cloneable handle over one mutex; every setter holds it for a few field writes
//! only, so calling them from data-channel handlers is cheap.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::TelemetryError;
use crate::estimate::{VideoReceiverStats, VideoStatsTracker};
use crate::exposition::{Exposition, Histogram, MetricType, sanitize_label_name};
use crate::flatten::{FlatStats, flatten_stats};
use crate::ice_board::ConnectivityBoard;
use crate::process::ProcessStats;
use crate::stages::{Stage, StageHistograms};
use crate::stats_csv::StatsKind;

/// `fps_hist` upper bounds (legacy `FPS_HIST_BUCKETS`; `+Inf` implicit).
pub const FPS_HIST_BUCKETS: [f64; 4] = [0.0, 20.0, 40.0, 60.0];

struct State {
    fps: f64,
    fps_hist: Histogram,
    gpu_utilization: f64,
    latency: f64,
    /// Sanitised label pairs of the last posted stats array.
    webrtc_info: Vec<(String, String)>,
    encoder: Option<String>,
    video_bitrate_kbps: Option<f64>,
    audio_bitrate_bps: Option<f64>,
    framerate: Option<f64>,
    connected_clients: f64,
    host_latency_ms: Option<f64>,
    glass_to_glass_ms: Option<f64>,
    receiver: VideoReceiverStats,
    tracker: VideoStatsTracker,
    /// Sharing guests' messages dropped by their role, per category (docs/sharing.md).
    sharing_dropped: Vec<(String, f64)>,
    /// Host-side per-frame video stage times (`selkies_video_stage_ms`).
    stages: StageHistograms,
}

/// Thread-safe, cheap-to-clone handle on all metrics.
#[derive(Clone)]
pub struct Metrics {
    state: Arc<Mutex<State>>,
    connectivity: ConnectivityBoard,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Labels from flattened stats: names made legal, the first of any colliding names kept.
fn info_labels(flat: &FlatStats) -> Vec<(String, String)> {
    let mut seen = std::collections::HashSet::new();
    flat.iter()
        .filter_map(|(k, v)| {
            let name = sanitize_label_name(k);
            seen.insert(name.clone()).then(|| (name, v.to_owned()))
        })
        .collect()
}

impl Metrics {
    pub fn new() -> Self {
        let created = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        Self {
            state: Arc::new(Mutex::new(State {
                fps: 0.0,
                fps_hist: Histogram::new(&FPS_HIST_BUCKETS, created),
                gpu_utilization: 0.0,
                latency: 0.0,
                webrtc_info: Vec::new(),
                encoder: None,
                video_bitrate_kbps: None,
                audio_bitrate_bps: None,
                framerate: None,
                connected_clients: 0.0,
                host_latency_ms: None,
                glass_to_glass_ms: None,
                receiver: VideoReceiverStats::default(),
                tracker: VideoStatsTracker::new(),
                sharing_dropped: Vec::new(),
                stages: StageHistograms::new(created),
            })),
            connectivity: ConnectivityBoard::default(),
        }
    }

    /// The peers' connectivity reports (rendered as the `selkies_ice_*` families).
    pub fn connectivity(&self) -> &ConnectivityBoard {
        &self.connectivity
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves plain numbers behind: still usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `_f,<fps>`: the `fps` gauge and one `fps_hist` observation.
    pub fn set_fps(&self, fps: f64) {
        let mut s = self.lock();
        s.fps = fps;
        s.fps_hist.observe(fps);
    }

    /// One frame's time in a host-side video stage (`selkies_video_stage_ms`).
    pub fn observe_stage(&self, stage: Stage, ms: f64) {
        self.lock().stages.observe(stage, ms);
    }

    /// `_l,<ms>`: the `latency` gauge.
    pub fn set_latency(&self, latency_ms: f64) {
        self.lock().latency = latency_ms;
    }

    /// `gpu_utilization` in percent (`GpuStats::load × 100`).
    pub fn set_gpu_utilization(&self, percent: f64) {
        self.lock().gpu_utilization = percent;
    }

    pub fn set_encoder(&self, name: &str) {
        self.lock().encoder = Some(name.to_owned());
    }

    pub fn set_video_bitrate_kbps(&self, kbps: u32) {
        self.lock().video_bitrate_kbps = Some(f64::from(kbps));
    }

    pub fn set_audio_bitrate_bps(&self, bps: u32) {
        self.lock().audio_bitrate_bps = Some(f64::from(bps));
    }

    pub fn set_framerate(&self, fps: u32) {
        self.lock().framerate = Some(f64::from(fps));
    }

    pub fn set_connected_clients(&self, n: usize) {
        self.lock().connected_clients = n as f64;
    }

    /// The host's own capture→payload latency, used by the glass-to-glass estimate (default: one
    /// frame interval at the configured framerate).
    pub fn set_host_latency_ms(&self, ms: f64) {
        self.lock().host_latency_ms = Some(ms);
    }

    /// Overrides the glass-to-glass gauge with a measured value; the next `_stats_video`
    /// recomputes the estimate.
    pub fn set_glass_to_glass_ms(&self, ms: f64) {
        self.lock().glass_to_glass_ms = Some(ms);
    }

    /// A new connection: receiver counters restart, so stale deltas must not be used.
    pub fn reset_connection(&self) {
        let mut s = self.lock();
        s.tracker.reset();
        s.receiver = VideoReceiverStats::default();
        s.glass_to_glass_ms = None;
    }

    /// `_stats_video` / `_stats_audio`: replaces `webrtc_statistics_info` (whichever kind came
    /// last, as legacy) and, for video, updates the receiver gauges and the glass-to-glass
    /// estimate. Returns the flattened stats for [`crate::StatsCsv::write_flat`].
    pub fn observe_stats(
        &self,
        kind: StatsKind,
        stats: &Value,
    ) -> Result<FlatStats, TelemetryError> {
        let flat = flatten_stats(stats)?;
        let labels = info_labels(&flat);
        let mut s = self.lock();
        s.webrtc_info = labels;
        if kind == StatsKind::Video {
            let r = s.tracker.update(stats);
            let host = s
                .host_latency_ms
                .or_else(|| s.framerate.filter(|f| *f > 0.0).map(|f| 1000.0 / f))
                .unwrap_or(0.0);
            if let Some(g) = r.glass_to_glass_ms(host) {
                s.glass_to_glass_ms = Some(g);
            }
            s.receiver = r;
        }
        Ok(flat)
    }

    /// Prometheus text exposition of everything, `process_*` read from /proc now.
    pub fn render(&self) -> String {
        let process = ProcessStats::read();
        let mut e = Exposition::new();
        {
            let s = self.lock();
            e.gauge("fps", "Frames per second observed by client", s.fps);
            s.fps_hist
                .write(&mut e, "fps_hist", "Histogram of FPS observed by client");
            e.gauge(
                "gpu_utilization",
                "Utilization percentage reported by GPU",
                s.gpu_utilization,
            );
            e.gauge("latency", "Latency observed by client", s.latency);
            let info = "webrtc_statistics_info";
            e.family(info, "WebRTC Statistics from the client", MetricType::Gauge);
            e.sample(
                info,
                s.webrtc_info.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                1.0,
            );
            self.render_ours(&s, &mut e);
            s.stages.write(&mut e);
        }
        self.connectivity.write(&mut e);
        process.write(&mut e);
        e.finish()
    }

    /// The running total of a sharing guest's messages dropped by role in `category`.
    pub fn set_sharing_dropped(&self, category: &str, total: u64) {
        let mut s = self.lock();
        let total = total as f64;
        match s.sharing_dropped.iter_mut().find(|(c, _)| c == category) {
            Some((_, v)) => *v = total,
            None => s.sharing_dropped.push((category.to_owned(), total)),
        }
    }

    fn render_ours(&self, s: &State, e: &mut Exposition) {
        if !s.sharing_dropped.is_empty() {
            let name = "selkies_sharing_dropped_total";
            e.family(
                name,
                "Messages from sharing guests dropped because their role does not allow them",
                MetricType::Counter,
            );
            for (category, v) in &s.sharing_dropped {
                e.sample(name, [("category", category.as_str())], *v);
            }
        }
        if let Some(enc) = &s.encoder {
            let name = "selkies_encoder_info";
            e.family(name, "Video encoder in use", MetricType::Gauge);
            e.sample(name, [("encoder", enc.as_str())], 1.0);
        }
        let optional = [
            (
                "selkies_video_bitrate_kbps",
                "Configured video bitrate in kbit/s",
                s.video_bitrate_kbps,
            ),
            (
                "selkies_audio_bitrate_bps",
                "Configured audio bitrate in bit/s",
                s.audio_bitrate_bps,
            ),
            (
                "selkies_framerate",
                "Configured video framerate in frames per second",
                s.framerate,
            ),
            (
                "selkies_host_latency_ms",
                "Host capture → encoded frame at the payloader in ms, measured (mean of the last second)",
                s.host_latency_ms,
            ),
            (
                "selkies_glass_to_glass_ms",
                "Glass-to-glass latency estimate in ms: host latency + RTT/2 + receiver processing",
                s.glass_to_glass_ms,
            ),
            (
                "selkies_client_rtt_ms",
                "Round-trip time of the selected ICE candidate pair in ms",
                s.receiver.rtt_ms,
            ),
            (
                "selkies_client_jitter_buffer_ms",
                "Client jitter-buffer delay per video frame over the last stats interval in ms",
                s.receiver.jitter_buffer_ms,
            ),
            (
                "selkies_client_decode_ms",
                "Client decode time per video frame over the last stats interval in ms",
                s.receiver.decode_ms,
            ),
            (
                "selkies_client_received_kbps",
                "Video bitrate received by the client over the last stats interval in kbit/s",
                s.receiver.bitrate_kbps,
            ),
            (
                "selkies_client_packets_lost",
                "Video packets lost as reported by the client",
                s.receiver.packets_lost,
            ),
        ];
        e.gauge(
            "selkies_connected_clients",
            "Browsers connected to the host",
            s.connected_clients,
        );
        for (name, help, v) in optional {
            if let Some(v) = v {
                e.gauge(name, help, v);
            }
        }
    }
}
