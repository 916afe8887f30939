//! The per-frame QP of the host's own libx264 encoder. x264 runs in constant-QP mode because its
//! own rate control costs ~1.4 ms a frame and 6.4 MiB at 1080p (docs/benchmarks.md, "Encoder:
//! x264's cost per frame"), so what the stream still needs from one is rebuilt here: the
//! congestion controller's bitrate, and a VBV-like leaky bucket bounding each frame so that a
//! large change does not queue a burst on the link. Unlike x264 it knows before encoding how much
//! of the screen changed (the capture's damage), so a small change after a quiet spell is coded
//! sharp while full-screen motion settles at the bitrate. When only an ugly QP would fit, a frame
//! may be left out instead, but never enough of them to fall below ⅔ of the frame rate.
//! Pure (stream time is passed in), so the tests drive it with a simulated encoder.

use std::time::Duration;

/// Best quality the controller asks for (a static screen converges here).
pub const QP_MIN: u8 = 18;
/// Worst.
pub const QP_MAX: u8 = 51;

/// QP the bits-per-macroblock estimates refer to.
const REF_QP: f64 = 26.0;
/// Worst QP worth a skipped frame to avoid: above it a frame looks worse than a short stutter.
const SKIP_QP: u8 = 40;
/// Bits per coded macroblock at `REF_QP` for desktop content at 1080p, [inter, intra]. Only
/// priors: the first frames of each kind replace them.
const PRIOR_BPM: [f64; 2] = [60.0, 250.0];
/// Bits of a frame that no macroblock accounts for (slice header, SEI).
const FRAME_OVERHEAD_BITS: f64 = 400.0;
/// Bits per macroblock left unchanged (its share of a skip run).
const SKIPPED_MB_BITS: f64 = 1.0;
/// Weight of a new sample: screen content changes character fast (text, then a video).
const ALPHA: f64 = 0.3;
/// Below this many coded macroblocks a frame is a partial sample (mostly edges and noise).
const FULL_SAMPLE_MBS: f64 = 64.0;
/// Bounds of the learned log2 bits per macroblock, so no sample takes the model to 0 or ∞.
const LOG_BPM_RANGE: (f64, f64) = (-4.0, 16.0);
/// Accepted nominal frame rates; anything else (0, negative, NaN) means the default.
const FPS_RANGE: (f64, f64) = (1.0, 1000.0);
const FPS_DEFAULT: f64 = 30.0;

/// What the encoder should do with a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Encode at this QP.
    Encode(u8),
    /// Leave this frame out (the bucket is in debt or only an ugly QP would fit); the encoder
    /// drops it and codes its change with the next one. Never returned for intra frames, never
    /// twice within 3 consecutive plans (so >= 2/3 of the frame rate survives: >= 20 fps at 30).
    Skip,
}

/// One frame kind's size estimate: log2 of bits per coded macroblock at `REF_QP`.
#[derive(Debug, Clone)]
struct Model {
    log_bpm: f64,
    /// Samples seen (capped): the first are averaged, not smoothed, so the prior goes at once.
    weight: f64,
}

/// Leaky-bucket rate control choosing a constant QP per frame from its coded macroblocks.
#[derive(Debug, Clone)]
pub struct RateControl {
    kbps: u32,
    buffer_ms: u32,
    fps: f64,
    total_mbs: u32,
    capacity: f64,
    fullness: f64,
    last_at: Option<Duration>,
    models: [Model; 2], // [inter, intra]
    /// Whether each of the last two plans was a Skip (bit 0: the latest).
    recent_skips: u8,
}

impl RateControl {
    /// `kbps` target bitrate (kbit/s), `buffer_ms` the leaky bucket's size in ms of that bitrate
    /// (the VBV; typically 51 ms = 1.5 frames at 30 fps), `fps` the nominal frame rate,
    /// `total_mbs` macroblocks in a frame (e.g. 120*68 = 8160 at 1080p).
    pub fn new(kbps: u32, buffer_ms: u32, fps: f64, total_mbs: u32) -> Self {
        let models = PRIOR_BPM.map(|bpm| Model {
            log_bpm: bpm.log2(),
            weight: 0.0,
        });
        let mut rc = Self {
            kbps: kbps.max(1),
            buffer_ms,
            fps: sane_fps(fps),
            total_mbs: total_mbs.max(1),
            capacity: 0.0,
            fullness: 0.0,
            last_at: None,
            models,
            recent_skips: 0,
        };
        rc.resize_bucket();
        rc
    }

    /// New target bitrate, from the next plan on; the bucket's fullness is kept (clamped).
    pub fn set_kbps(&mut self, kbps: u32) {
        self.kbps = kbps.max(1);
        self.resize_bucket();
    }

    /// New bucket size in ms of the bitrate.
    pub fn set_buffer_ms(&mut self, ms: u32) {
        self.buffer_ms = ms;
        self.resize_bucket();
    }

    /// New nominal frame rate (it bounds the bucket from below and paces skips).
    pub fn set_fps(&mut self, fps: f64) {
        self.fps = sane_fps(fps);
        self.resize_bucket();
    }

    /// New macroblock count of a frame (resolution change); the learned costs carry over.
    pub fn set_total_mbs(&mut self, mbs: u32) {
        self.total_mbs = mbs.max(1);
    }

    /// What to do with the next frame, at stream time `at` (monotonic, e.g. the frame's PTS),
    /// with `coded_mbs` macroblocks to code (clamped to 1..=total_mbs; a keyframe codes them
    /// all whatever is passed), `intra` for a keyframe.
    pub fn plan(&mut self, at: Duration, coded_mbs: u32, intra: bool) -> Plan {
        self.fullness = self.drained(at);
        self.last_at = Some(at);
        let coded = self.coded(coded_mbs, intra);
        let budget = (self.capacity - self.fullness).max(0.0);
        let qp = self.fitting_qp(budget, coded, intra);
        let skip = !intra
            && self.recent_skips == 0
            && (self.fullness > self.capacity || {
                // Would one frame interval of drain let an acceptable QP fit?
                let at_skip_qp = self.estimate(SKIP_QP, coded, intra);
                let next_budget = (budget + self.frame_bits()).min(self.capacity);
                at_skip_qp > budget && at_skip_qp <= next_budget
            });
        self.recent_skips = ((self.recent_skips << 1) | u8::from(skip)) & 0b11;
        if skip { Plan::Skip } else { Plan::Encode(qp) }
    }

    /// The QP [`Self::plan`] would choose for such a frame now, changing nothing (the encoder
    /// asks first to learn which coarse regions that QP would refine, then plans with them).
    pub fn peek_qp(&self, at: Duration, coded_mbs: u32, intra: bool) -> u8 {
        let budget = (self.capacity - self.drained(at)).max(0.0);
        self.fitting_qp(budget, self.coded(coded_mbs, intra), intra)
    }

    /// The bucket's fullness at `at`: a backward step (a PTS reset) drains nothing and becomes
    /// the new origin.
    fn drained(&self, at: Duration) -> f64 {
        let elapsed = self
            .last_at
            .map_or(Duration::ZERO, |last| at.saturating_sub(last));
        (self.fullness - elapsed.as_secs_f64() * self.bits_per_sec()).max(0.0)
    }

    /// The finest QP whose estimate fits `budget`; the coarsest when none does.
    fn fitting_qp(&self, budget: f64, coded: u32, intra: bool) -> u8 {
        (QP_MIN..=QP_MAX)
            .find(|&qp| self.estimate(qp, coded, intra) <= budget)
            .unwrap_or(QP_MAX)
    }

    /// The frame last planned `Encode(qp)` came out `bytes` long. (Called once per encoded
    /// frame, after plan.)
    pub fn update(&mut self, qp: u8, coded_mbs: u32, intra: bool, bytes: usize) {
        let bits = bytes as f64 * 8.0;
        self.fullness += bits;
        if bytes == 0 {
            // x264 always writes headers: nothing out says nothing about the content.
            return;
        }
        let coded = self.coded(coded_mbs, intra);
        // A frame smaller than the modelled overhead proves the overhead wrong, not the
        // macroblocks free: they keep at least a quarter of it.
        let payload = (bits - self.overhead(coded)).max(bits / 4.0);
        let qp = f64::from(qp.min(QP_MAX));
        let sample = ((payload / f64::from(coded)).log2() + (qp - REF_QP) / 6.0)
            .clamp(LOG_BPM_RANGE.0, LOG_BPM_RANGE.1);
        let w = (f64::from(coded) / FULL_SAMPLE_MBS).min(1.0);
        let model = &mut self.models[usize::from(intra)];
        model.weight = (model.weight + w).min(1.0 / ALPHA);
        let alpha = (w / model.weight).max(ALPHA * w);
        model.log_bpm += alpha * (sample - model.log_bpm);
    }

    /// Bits in the bucket after the last update (for logs/tests).
    pub fn fullness_bits(&self) -> f64 {
        self.fullness
    }

    /// Bucket capacity in bits.
    pub fn capacity_bits(&self) -> f64 {
        self.capacity
    }

    fn bits_per_sec(&self) -> f64 {
        f64::from(self.kbps) * 1000.0
    }

    /// Bits one frame interval drains.
    fn frame_bits(&self) -> f64 {
        self.bits_per_sec() / self.fps
    }

    /// Capacity from the settings, never under 1.5 frames so an average frame always fits. Of
    /// the fullness, what no longer fits is dropped, but debt (fullness over the old capacity)
    /// is kept: the congestion controller sets the rate several times a second, and neither
    /// should one drop turn into a run of skips nor a repeated setting forgive an overshoot.
    fn resize_bucket(&mut self) {
        let old = self.capacity;
        let ms = f64::from(self.buffer_ms) / 1000.0;
        self.capacity = (self.bits_per_sec() * ms).max(self.frame_bits() * 1.5);
        let debt = (self.fullness - old).max(0.0);
        self.fullness = self.fullness.min(self.capacity + debt);
    }

    fn coded(&self, coded_mbs: u32, intra: bool) -> u32 {
        let coded = if intra { u32::MAX } else { coded_mbs };
        coded.clamp(1, self.total_mbs)
    }

    fn overhead(&self, coded: u32) -> f64 {
        FRAME_OVERHEAD_BITS + f64::from(self.total_mbs - coded) * SKIPPED_MB_BITS
    }

    /// Estimated bits of a frame: each +6 QP halves the macroblocks' bits.
    fn estimate(&self, qp: u8, coded: u32, intra: bool) -> f64 {
        let log_bpm = self.models[usize::from(intra)].log_bpm;
        let per_mb = (log_bpm + (REF_QP - f64::from(qp)) / 6.0).exp2();
        self.overhead(coded) + f64::from(coded) * per_mb
    }
}

fn sane_fps(fps: f64) -> f64 {
    match fps {
        fps if fps > 0.0 => fps.clamp(FPS_RANGE.0, FPS_RANGE.1),
        _ => FPS_DEFAULT,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MBS_1080P: u32 = 120 * 68;

    /// An encoder whose true cost per macroblock (bits at QP 26, [inter, intra]) the controller
    /// does not know, with ±15 % deterministic noise per frame.
    struct Sim {
        rc: RateControl,
        k: [f64; 2],
        rng: u64,
        frame: u64,
        log: Vec<(Plan, f64)>, // (plan, bits) of every plan so far
    }

    impl Sim {
        fn new(kbps: u32, k: [f64; 2]) -> Self {
            let rc = RateControl::new(kbps, 51, 30.0, MBS_1080P);
            Self {
                rc,
                k,
                rng: 0x9E37_79B9_7F4A_7C15,
                frame: 0,
                log: Vec::new(),
            }
        }

        fn noise(&mut self) -> f64 {
            self.rng ^= self.rng << 13;
            self.rng ^= self.rng >> 7;
            self.rng ^= self.rng << 17;
            0.85 + 0.3 * (self.rng >> 11) as f64 / (1u64 << 53) as f64
        }

        /// Plans and "encodes" the next 30 fps frame.
        fn step(&mut self, coded: u32, intra: bool) -> (Plan, f64) {
            let at = Duration::from_secs_f64(self.frame as f64 / 30.0);
            self.frame += 1;
            let plan = self.rc.plan(at, coded, intra);
            let mut bits = 0.0;
            if let Plan::Encode(qp) = plan {
                let coded = if intra { MBS_1080P } else { coded };
                let k = self.k[usize::from(intra)];
                bits = f64::from(coded) * k * ((26.0 - f64::from(qp)) / 6.0).exp2() * self.noise();
                self.rc.update(qp, coded, intra, (bits / 8.0) as usize);
            }
            self.log.push((plan, bits));
            (plan, bits)
        }

        /// Frames of steady motion; returns their average kbit/s.
        fn run(&mut self, frames: usize, coded: u32) -> f64 {
            let bits: f64 = (0..frames).map(|_| self.step(coded, false).1).sum();
            bits / (frames as f64 / 30.0) / 1000.0
        }
    }

    /// Three times the priors: the model has to learn.
    const K_EXPENSIVE: [f64; 2] = [180.0, 750.0];
    /// A third of the priors.
    const K_CHEAP: [f64; 2] = [20.0, 250.0 / 3.0];

    fn within(value: f64, target: f64, tolerance: f64) -> bool {
        (value - target).abs() <= target * tolerance
    }

    #[test]
    fn full_screen_motion_settles_at_the_bitrate() {
        let mut sim = Sim::new(4000, K_EXPENSIVE);
        sim.step(MBS_1080P, true);
        let mut last_5s = 0.0;
        for frame in 1..300 {
            let (_, bits) = sim.step(MBS_1080P, false);
            last_5s += if frame >= 150 { bits } else { 0.0 };
            // Once learned, no frame leaves more debt than its own overshoot (its noise).
            let over = sim.rc.fullness_bits() - sim.rc.capacity_bits();
            assert!(frame < 30 || over <= 0.3 * bits, "{over} over");
        }
        let kbps = last_5s / 5.0 / 1000.0;
        assert!(within(kbps, 4000.0, 0.15), "{kbps} kbit/s");
        // 4000 kbit/s is 16.3 bits a macroblock: QP 46.8 for this content.
        let steady = |&(p, _): &(Plan, f64)| matches!(p, Plan::Skip | Plan::Encode(44..=50));
        assert!(sim.log[150..].iter().all(steady), "{:?}", sim.log);
        let skips = sim.log.iter().filter(|(p, _)| *p == Plan::Skip).count();
        assert!(skips <= 10, "{skips} skips");
    }

    #[test]
    fn small_change_after_idle_is_sharp() {
        let mut sim = Sim::new(4000, K_EXPENSIVE);
        sim.step(MBS_1080P, true);
        sim.run(90, MBS_1080P);
        let Some(&(Plan::Encode(moving), _)) = sim.log.last() else {
            panic!("{:?}", sim.log.last());
        };
        sim.frame += 60; // 2 s without a frame
        let mut full = sim.rc.clone();
        assert_eq!(sim.step(20 * 12, false).0, Plan::Encode(QP_MIN));
        // Not trivially so: the whole screen at that moment is not, though the emptied bucket
        // gives it more than a frame of motion gets.
        let at = Duration::from_secs_f64((sim.frame - 1) as f64 / 30.0);
        let Plan::Encode(qp) = full.plan(at, MBS_1080P, false) else {
            panic!("a skip after idle");
        };
        assert!(qp > 40 && qp + 2 < moving, "{qp} vs {moving}");
    }

    #[test]
    fn bitrate_change_takes_effect_at_once() {
        let window = 40 * 23; // a 640x360 video
        let mut sim = Sim::new(4000, K_EXPENSIVE);
        sim.step(MBS_1080P, true);
        sim.run(150, window);
        sim.rc.set_kbps(1000);
        assert!(sim.rc.fullness_bits() <= sim.rc.capacity_bits());
        let low = sim.run(90, window);
        assert!(within(low, 1000.0, 0.2), "{low} kbit/s after the drop");
        sim.rc.set_kbps(4000);
        sim.run(30, window);
        let high = sim.run(60, window);
        assert!(within(high, 4000.0, 0.15), "{high} kbit/s after the rise");
    }

    #[test]
    fn keyframe_gets_a_higher_qp_and_is_never_skipped() {
        let mut sim = Sim::new(1000, K_CHEAP);
        for second in 0..4 {
            sim.step(MBS_1080P, true);
            sim.run(29, MBS_1080P);
            sim.frame += 30 * (second % 2); // a quiet second now and then
        }
        let mut inter = sim.rc.clone();
        let (Plan::Encode(qi), Plan::Encode(qp)) = (
            sim.step(MBS_1080P, true).0,
            inter.plan(Duration::from_secs(4), MBS_1080P, false),
        ) else {
            panic!("a skip where none was due");
        };
        assert!(qi > qp + 6 && qp < 45, "intra QP {qi}, inter QP {qp}");
        // Deep in debt (a frame of 8 Mbit), where an inter frame is skipped: still encoded.
        let (mut rc, t0) = (RateControl::new(1000, 51, 30.0, MBS_1080P), Duration::ZERO);
        rc.update(QP_MAX, MBS_1080P, false, 1 << 20);
        rc.set_kbps(1000); // the congestion controller repeating itself forgives no debt
        assert_eq!(rc.clone().plan(t0, MBS_1080P, false), Plan::Skip);
        assert_eq!(rc.plan(t0, MBS_1080P, true), Plan::Encode(QP_MAX));
    }

    fn assert_frame_rate_kept(log: &[(Plan, f64)]) -> usize {
        for three in log.windows(3) {
            let skips = three.iter().filter(|(p, _)| *p == Plan::Skip).count();
            assert!(skips <= 1, "{three:?}");
        }
        for second in log.chunks_exact(30) {
            let encoded = second.iter().filter(|(p, _)| *p != Plan::Skip).count();
            assert!(encoded >= 20, "{encoded} frames in a second");
        }
        log.iter().filter(|(p, _)| *p == Plan::Skip).count()
    }

    #[test]
    fn a_squeeze_keeps_two_thirds_of_the_frame_rate() {
        // At QP 51 a full screen costs 10 frames of 1000 kbit/s.
        let k = 10.0 * 1_000_000.0 / 30.0 / f64::from(MBS_1080P) * (25.0f64 / 6.0).exp2();
        let mut sim = Sim::new(1000, [k, 4.0 * k]);
        sim.run(300, MBS_1080P);
        let skips = assert_frame_rate_kept(&sim.log);
        assert!(skips >= 90, "only {skips} skips in debt");
        // Content wanting QP 42 at the bitrate: the QP 40 rule skips so that the next frame gets
        // QP <= 40, within the same bound. The link idles for part of each skipped interval (the
        // bucket holds 1.5 frames), so the bitrate comes out ~15 % under.
        let mut sim = Sim::new(4000, [100.0, 400.0]);
        let kbps = sim.run(300, MBS_1080P);
        let skips = assert_frame_rate_kept(&sim.log);
        let mut after_skip = sim.log[30..].windows(2).filter(|w| w[0].0 == Plan::Skip);
        assert!(skips >= 60 && after_skip.all(|w| matches!(w[1].0, Plan::Encode(..=40))));
        assert!(within(kbps, 4000.0, 0.2), "{kbps} kbit/s");
    }

    #[test]
    fn a_long_idle_gap_empties_the_bucket() {
        let mut sim = Sim::new(4000, K_EXPENSIVE);
        sim.run(60, MBS_1080P);
        assert!(sim.rc.fullness_bits() > 0.5 * sim.rc.capacity_bits());
        let before = sim.rc.fullness_bits();
        // Backward time drains nothing.
        sim.rc.plan(Duration::ZERO, 1, false);
        assert_eq!(sim.rc.fullness_bits(), before);
        sim.rc.plan(Duration::from_secs(10), 1, false);
        assert_eq!(sim.rc.fullness_bits(), 0.0);
        sim.rc.set_kbps(u32::MAX);
        sim.rc.update(QP_MAX, 1, false, 1000);
        sim.rc.plan(Duration::MAX, 1, false);
        assert_eq!(sim.rc.fullness_bits(), 0.0);
    }

    #[test]
    fn weird_inputs_do_not_panic() {
        let kbps = [0, 1, 4000, u32::MAX];
        let fps = [f64::NAN, -1.0, 0.0, 1e-300, 30.0, f64::INFINITY];
        let mbs = [0, 1, MBS_1080P, u32::MAX];
        let times = [5, 0, 3, u64::MAX, 1, u64::MAX];
        let bytes = [0, 1, 100_000, usize::MAX];
        let ms = [0, 51, u32::MAX];
        for i in 0..24 {
            let mut rc = RateControl::new(kbps[i / 6], ms[i % 3], fps[i % 6], mbs[i % 4]);
            for (j, &t) in times.iter().enumerate() {
                let coded = mbs[(i + j) % 4];
                let intra = j % 3 == 0;
                if let Plan::Encode(qp) = rc.plan(Duration::from_secs(t), coded, intra) {
                    assert!((QP_MIN..=QP_MAX).contains(&qp));
                }
                rc.update([0, 26, 255][j % 3], coded, intra, bytes[(i + j) % 4]);
                rc.set_kbps(kbps[j % 4]);
                rc.set_fps(fps[j % 6]);
                rc.set_buffer_ms(ms[j % 3]);
                rc.set_total_mbs(mbs[j % 4]);
                assert!(rc.fullness_bits().is_finite() && rc.fullness_bits() >= 0.0);
                assert!(rc.capacity_bits().is_finite() && rc.capacity_bits() > 0.0);
                assert!(rc.models.iter().all(|m| m.log_bpm.is_finite()));
            }
        }
    }
}
