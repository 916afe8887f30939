//! Rate parameters of the video encoder and the legacy formulas that turn them into property
//! values (docs/protocol.md §5.3): effective bitrate under FEC, GOP length, VBV sizes, threads.
//! Pure: unit-tested with the worked examples of docs/protocol.md §5.3 and §12.

use super::registry::Value;

/// Everything a rate-dependent property value is computed from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateParams {
    /// Requested video bitrate, kbit/s.
    pub video_kbps: u32,
    pub framerate: u32,
    /// GOP length in seconds; None: an infinite GOP (the legacy `--keyframe_distance=-1`).
    pub keyframe_distance: Option<f64>,
    /// Expected packet loss, percent; > 0 reserves bandwidth for ULP-FEC.
    pub packetloss_percent: f64,
    pub cpus: u32,
}

impl RateParams {
    /// B: the encoder's bitrate after the FEC reservation, kbit/s.
    pub fn effective_kbps(&self) -> u32 {
        (f64::from(self.video_kbps) / (1.0 + self.packetloss_percent / 100.0)) as u32
    }

    fn fps(&self) -> u32 {
        self.framerate.max(1)
    }

    fn infinite_gop(&self) -> bool {
        self.keyframe_distance.is_none()
    }

    /// GOP length in frames, or None for an infinite GOP.
    pub fn gop_frames(&self) -> Option<u32> {
        self.keyframe_distance
            .map(|seconds| ((f64::from(self.fps()) * seconds) as u32).max(60))
    }

    /// k: the VBV multiplier; a finite GOP needs room for keyframes.
    fn vbv_multiplier(&self) -> f64 {
        if self.infinite_gop() { 1.5 } else { 3.0 }
    }

    pub fn vbv_kbit(&self) -> u32 {
        let f = self.fps();
        ((self.effective_kbps().div_ceil(f)) as f64 * self.vbv_multiplier()) as u32
    }

    pub fn vbv_ms(&self) -> u32 {
        let f = self.fps();
        (1000u32.div_ceil(f) as f64 * self.vbv_multiplier()) as u32
    }

    fn threads(&self, cap: u32) -> u32 {
        cap.min(self.cpus.saturating_sub(1).max(1))
    }

    /// The text of a property value, parsed by GStreamer for the property's type.
    pub fn render(&self, value: Value) -> String {
        match value {
            Value::Lit(s) => s.to_string(),
            Value::Threads => self.threads(4).to_string(),
            Value::ThreadsCapped(cap) => self.threads(cap).to_string(),
            Value::Kbps => self.effective_kbps().to_string(),
            Value::Bps => (u64::from(self.effective_kbps()) * 1000).to_string(),
            Value::VbvKbit => self.vbv_kbit().to_string(),
            Value::VbvMs => self.vbv_ms().to_string(),
            Value::Gop { infinite } => match self.gop_frames() {
                Some(frames) => frames.to_string(),
                None => infinite.to_string(),
            },
        }
    }
}

/// Number of CPUs this process may run on (sched_getaffinity, like the legacy host).
pub fn available_cpus() -> u32 {
    std::thread::available_parallelism()
        .map(|n| n.get() as u32)
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `kd` < 0 is the legacy spelling of an infinite GOP, kept so the vectors read like
    /// docs/protocol.md §5.3.
    fn params(kbps: u32, fps: u32, kd: f64, loss: f64) -> RateParams {
        RateParams {
            video_kbps: kbps,
            framerate: fps,
            keyframe_distance: (kd >= 0.0).then_some(kd),
            packetloss_percent: loss,
            cpus: 2,
        }
    }

    #[test]
    fn legacy_defaults_8000_kbps_60_fps_infinite_gop() {
        let p = params(8000, 60, -1.0, 0.0);
        assert_eq!(p.effective_kbps(), 8000);
        assert_eq!(p.gop_frames(), None);
        // ceil(8000/60) = 134 → ×1.5 = 201
        assert_eq!(p.vbv_kbit(), 201);
        // ceil(1000/60) = 17 → ×1.5 = 25
        assert_eq!(p.vbv_ms(), 25);
        assert_eq!(p.render(Value::Gop { infinite: "-1" }), "-1");
    }

    #[test]
    fn finite_gop_has_a_floor_of_60_frames_and_triple_vbv() {
        let p = params(4000, 30, 1.0, 0.0);
        assert_eq!(p.gop_frames(), Some(60));
        let p = params(4000, 30, 4.0, 0.0);
        assert_eq!(p.gop_frames(), Some(120));
        // ceil(4000/30) = 134 → ×3
        assert_eq!(p.vbv_kbit(), 402);
        // ceil(1000/30) = 34 → ×3
        assert_eq!(p.vbv_ms(), 102);
    }

    #[test]
    fn fec_reserves_bandwidth() {
        let p = params(8000, 60, -1.0, 10.0);
        assert_eq!(p.effective_kbps(), 7272);
        assert_eq!(p.render(Value::Bps), "7272000");
    }

    #[test]
    fn thread_counts_follow_cpu_count() {
        let mut p = params(8000, 60, -1.0, 0.0);
        assert_eq!(p.render(Value::Threads), "1");
        p.cpus = 16;
        assert_eq!(p.render(Value::Threads), "4");
        assert_eq!(p.render(Value::ThreadsCapped(16)), "15");
    }

    #[test]
    fn zero_framerate_does_not_divide_by_zero() {
        let p = params(8000, 0, 2.0, 0.0);
        assert_eq!(p.vbv_ms(), 3000);
        assert_eq!(p.gop_frames(), Some(60));
    }
}
