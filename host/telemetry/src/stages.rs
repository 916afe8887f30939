//! Host-side per-frame stage histograms of the video pipeline (`selkies_video_stage_ms`): each
//! change's wait from its damage report to its capture, and every frame's capture → encoder
//! input, capture → encoded and encoded → sent times, and each frame's last packet from webrtcbin's
//! input to its socket, observed by the capture thread and the host's stage-timing probes and
//! exported as one Prometheus histogram family labelled by stage
//! (docs/metrics.md). The 1 s mean of capture → encoded stays in `selkies_host_latency_ms`.

use crate::exposition::{Exposition, Histogram, MetricType, format_value};

/// Upper bounds in ms: fine where a good frame lands (a few ms per stage), coarse up to the
/// seconds a starved host can take.
/// The two below 1 ms are for webrtcbin's own send path, which takes ~0.1 ms.
pub const STAGE_BUCKETS_MS: [f64; 18] = [
    0.25, 0.5, 1.0, 2.0, 4.0, 6.0, 8.0, 12.0, 16.0, 20.0, 25.0, 33.0, 50.0, 75.0, 100.0, 250.0,
    500.0, 1000.0,
];

/// One stage of a video frame's way through the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// A change's first X DAMAGE report → the start of the capture that took it.
    ChangeToCapture,
    /// Capture → the encoder's input (conversion, upload, the queue).
    CaptureToEncoder,
    /// Capture → the encoded frame at the payloader (plus the encode).
    CaptureToEncoded,
    /// Encoded frame at the payloader → its last RTP packet handed to webrtcbin.
    EncodedToSent,
    /// That last packet handed to webrtcbin → the same packet handed to the socket (`nicesink`):
    /// webrtcbin's RTP session, SRTP and ICE.
    SentToWire,
}

impl Stage {
    pub const ALL: [Stage; 5] = [
        Stage::ChangeToCapture,
        Stage::CaptureToEncoder,
        Stage::CaptureToEncoded,
        Stage::EncodedToSent,
        Stage::SentToWire,
    ];

    /// The `stage` label value.
    pub fn label(self) -> &'static str {
        match self {
            Stage::ChangeToCapture => "change_to_capture",
            Stage::CaptureToEncoder => "capture_to_encoder",
            Stage::CaptureToEncoded => "capture_to_encoded",
            Stage::EncodedToSent => "encoded_to_sent",
            Stage::SentToWire => "sent_to_wire",
        }
    }
}

/// One histogram per stage.
#[derive(Clone, Debug)]
pub struct StageHistograms {
    hists: [Histogram; Stage::ALL.len()],
}

impl StageHistograms {
    pub fn new(created: f64) -> Self {
        let h = || Histogram::new(&STAGE_BUCKETS_MS, created);
        Self {
            hists: Stage::ALL.map(|_| h()),
        }
    }

    pub fn observe(&mut self, stage: Stage, ms: f64) {
        // Negative or absurd values are clock glitches or a paused pipeline, not stage times.
        if !(0.0..60_000.0).contains(&ms) {
            return;
        }
        let i = Stage::ALL.iter().position(|s| *s == stage).unwrap_or(0);
        if let Some(h) = self.hists.get_mut(i) {
            h.observe(ms);
        }
    }

    /// Writes `selkies_video_stage_ms` (nothing before the first frame).
    pub fn write(&self, e: &mut Exposition) {
        if self.hists.iter().all(|h| h.count() == 0) {
            return;
        }
        let name = "selkies_video_stage_ms";
        e.family(
            name,
            "Host-side time of each video frame per pipeline stage, ms",
            MetricType::Histogram,
        );
        let bucket = format!("{name}_bucket");
        for (stage, h) in Stage::ALL.iter().zip(&self.hists) {
            for (le, cumulative) in h.cumulative() {
                let le = le.map_or_else(|| "+Inf".to_owned(), format_value);
                e.sample(
                    &bucket,
                    [("stage", stage.label()), ("le", le.as_str())],
                    cumulative as f64,
                );
            }
            e.sample(
                &format!("{name}_count"),
                [("stage", stage.label())],
                h.count() as f64,
            );
            e.sample(&format!("{name}_sum"), [("stage", stage.label())], h.sum());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_family_labelled_by_stage() {
        let mut s = StageHistograms::new(0.0);
        let mut e = Exposition::new();
        s.write(&mut e);
        assert_eq!(e.finish(), "", "nothing before the first frame");
        s.observe(Stage::CaptureToEncoded, 7.0);
        s.observe(Stage::CaptureToEncoded, 30.0);
        s.observe(Stage::EncodedToSent, 0.5);
        s.observe(Stage::EncodedToSent, -1.0);
        let mut e = Exposition::new();
        s.write(&mut e);
        let text = e.finish();
        assert!(
            text.contains("# TYPE selkies_video_stage_ms histogram"),
            "{text}"
        );
        assert!(
            text.contains(
                "selkies_video_stage_ms_bucket{stage=\"capture_to_encoded\",le=\"8.0\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "selkies_video_stage_ms_bucket{stage=\"capture_to_encoded\",le=\"33.0\"} 2"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "selkies_video_stage_ms_bucket{stage=\"capture_to_encoded\",le=\"+Inf\"} 2"
            ),
            "{text}"
        );
        assert!(
            text.contains("selkies_video_stage_ms_count{stage=\"encoded_to_sent\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("selkies_video_stage_ms_sum{stage=\"capture_to_encoded\"} 37.0"),
            "{text}"
        );
        assert!(
            text.contains("selkies_video_stage_ms_count{stage=\"capture_to_encoder\"} 0"),
            "{text}"
        );
    }
}
