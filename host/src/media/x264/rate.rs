//! The per-frame QP of the host's own libx264 encoder. x264 runs in constant-QP mode because its
//! own rate control costs ~1.4 ms a frame and 6.4 MiB at 1080p (docs/benchmarks.md, "Encoder:
//! x264's cost per frame"), so what the stream still needs from one is rebuilt here: the
//! congestion controller's bitrate, and a VBV-like leaky bucket bounding each frame so that a
//! large change does not queue a burst on the link. Unlike x264 it knows before encoding how much
//! of the screen changed (the capture's damage), so a small change after a quiet spell is coded
//! sharp while full-screen motion settles at the bitrate. Frames are left out only when content
//! the bitrate cannot carry even at the coarsest QP has put the bucket deep in debt.
//! Pure (stream time is passed in), so the tests drive it with a simulated encoder.

use std::time::Duration;

/// Best quality the controller asks for (a static screen converges here).
pub const QP_MIN: u8 = super::ffi::QP_RANGE.0;
/// Worst.
pub const QP_MAX: u8 = super::ffi::QP_RANGE.1;

/// QP the bits-per-macroblock estimates refer to.
const REF_QP: f64 = 26.0;
/// Debt (bits beyond the bucket) above this many seconds of the bitrate skips frames without
/// the two-in-three limit.
const DEEP_DEBT_SECONDS: f64 = 0.2;
/// How far the QP may fall from one inter frame to the next while frames keep coming.
const MAX_QP_DROP: u8 = 4;
/// Frames closer together than this count as one motion (the QP falls by [`MAX_QP_DROP`]).
const MOTION_GAP: Duration = Duration::from_millis(300);
/// What a refining frame of a still screen may spend, in seconds of the bitrate.
pub const REFINE_SECONDS: f64 = 0.25;
/// Bits per coded macroblock at `REF_QP` for desktop content at 1080p, [inter, intra, refine]
/// (re-coding a still region coded coarsely: its residual only). Only
/// priors: the first frames of each kind replace them.
const PRIOR_BPM: [f64; 3] = [60.0, 250.0, 20.0];
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
/// Index of the intra frames' model.
const INTRA: usize = 1;
/// Index of the refining frames' model.
const REFINE: usize = 2;
/// QPs the shape covers (0..=63; the encoder uses at most `QP_MAX`).
const SHAPE_QPS: usize = 64;
/// Bounds of a learned deviation from the line, log2.
const SHAPE_RANGE: (f64, f64) = (-8.0, 8.0);
/// Accepted nominal frame rates; anything else (0, negative, NaN) means the default.
const FPS_RANGE: (f64, f64) = (1.0, 1000.0);
const FPS_DEFAULT: f64 = 30.0;

/// What the encoder should do with a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Encode at this QP.
    Encode(u8),
    /// Leave this frame out: the bucket is deeper in debt than the link drains in 200 ms (content
    /// the bitrate cannot carry even at the coarsest QP). The encoder drops it and codes its
    /// change with the next one. Never returned for intra frames.
    Skip,
}

/// One frame kind's size estimate: log2 of bits per coded macroblock at `REF_QP`, and how far
/// the frames actually coded at each QP were from that line (`shape`). The line's slope (bits
/// halve every 6 QP) holds for detailed content at fine QPs; at coarse QPs, and for noise, the
/// bits fall much faster as whole blocks quantise to nothing, so a level learned at QP 50
/// predicted a frame at QP 41 at two thirds of its size and the bucket overflowed every few
/// frames. The shape keeps what each QP really cost, relative to the level, so a change of
/// content moves the level and the shape stays.
#[derive(Debug, Clone)]
struct Model {
    log_bpm: f64,
    /// Learned deviation from the line at each QP (log2), None where no frame was coded yet.
    shape: [Option<f64>; SHAPE_QPS],
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
    models: [Model; 3], // [inter, intra, refine]
    /// The frame being planned is a refining one (`plan_refine_by`): its size teaches the
    /// refine model, since re-coding a still region costs far less than coding a change.
    refining: bool,
    /// QP and time of the last inter frame encoded, for [`MAX_QP_DROP`].
    last_inter: Option<(u8, Duration)>,
}

impl RateControl {
    /// `kbps` target bitrate (kbit/s), `buffer_ms` the leaky bucket's size in ms of that bitrate
    /// (the VBV; typically 51 ms = 1.5 frames at 30 fps), `fps` the nominal frame rate,
    /// `total_mbs` macroblocks in a frame (e.g. 120*68 = 8160 at 1080p).
    pub fn new(kbps: u32, buffer_ms: u32, fps: f64, total_mbs: u32) -> Self {
        let models = PRIOR_BPM.map(|bpm| Model {
            log_bpm: bpm.log2(),
            shape: [None; SHAPE_QPS],
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
            last_inter: None,
            refining: false,
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

    /// [`Self::plan_by`] with the same coded macroblocks at every QP (the tests' simulated
    /// encoder).
    #[cfg(test)]
    pub fn plan(&mut self, at: Duration, coded_mbs: u32, intra: bool) -> Plan {
        self.plan_by(at, intra, &|_| coded_mbs)
    }

    /// What to do with the next frame, at stream time `at` (monotonic, e.g. the frame's PTS),
    /// `intra` for a keyframe, with `coded_at(qp)` macroblocks to code at each QP (clamped to
    /// 1..=total_mbs; a keyframe codes them all): x264 codes the changed ones, and again those
    /// last coded coarser than the frame.
    pub fn plan_by(&mut self, at: Duration, intra: bool, coded_at: &dyn Fn(u8) -> u32) -> Plan {
        self.fullness = self.drained(at);
        self.last_at = Some(at);
        self.refining = false;
        let mut qp = self.fitting_qp(self.budget(self.fullness), usize::from(intra), coded_at);
        // In motion, the QP comes down a few steps a frame: the model's slope (bits halve every
        // 6 QP) is far off at the coarse end, where x264 drops most coefficients, so a cheap
        // frame at QP 58 predicts a far too cheap one at QP 40 and the next frame overshoots.
        if let Some((last, when)) = self.last_inter
            && !intra
            && at.saturating_sub(when) < MOTION_GAP
        {
            qp = qp.max(last.saturating_sub(MAX_QP_DROP));
        }
        // Deep in debt (content the bitrate cannot carry even at the coarsest QP), frames go
        // only as the link drains: the frame rate gives way so that the queue stays bounded.
        let deep_debt = self.fullness > self.capacity + DEEP_DEBT_SECONDS * self.bits_per_sec();
        // Short of that a frame is never left out: the one after an overshoot may carry the
        // change a user waits for (a window opening), and leaving it out adds a frame interval
        // to its latency. It gets a coarse QP instead and the refining frames sharpen it later.
        if !intra && deep_debt {
            Plan::Skip
        } else {
            Plan::Encode(qp)
        }
    }

    /// [`Self::plan_refine_by`] with the same coded macroblocks at every QP.
    #[cfg(test)]
    pub fn plan_refine(&mut self, at: Duration, coded_mbs: u32) -> u8 {
        self.plan_refine_by(at, &|_| coded_mbs)
    }

    /// A frame that only refines a still screen (no change, regions coded coarsely during
    /// motion), with `coded_at(qp)` macroblocks to code at each QP: it may use up to
    /// [`REFINE_SECONDS`] of the bitrate, more than the bucket holds, since nothing waits
    /// behind it, and it is never skipped.
    pub fn plan_refine_by(&mut self, at: Duration, coded_at: &dyn Fn(u8) -> u32) -> u8 {
        self.fullness = self.drained(at);
        self.last_at = Some(at);
        let room = self.capacity.max(REFINE_SECONDS * self.bits_per_sec());
        let budget = (room - self.fullness).max(0.0);
        self.refining = true;
        self.fitting_qp(budget, REFINE, coded_at)
    }

    /// The QP [`Self::plan_by`] would choose for such a frame now, before the damping of
    /// falling QPs in motion, changing nothing.
    #[cfg(test)]
    pub fn peek_qp(&self, at: Duration, coded_mbs: u32, intra: bool) -> u8 {
        self.fitting_qp(self.budget(self.drained(at)), usize::from(intra), &|_| {
            coded_mbs
        })
    }

    /// Bits the next frame may take at bucket `fullness`: one frame interval's worth plus what
    /// brings the bucket back to half full, never more than fits. Steady motion then keeps the
    /// bucket half full, and a frame the model underestimates by up to half a bucket still
    /// fits; after a pause the first change may take 1.5 intervals' worth.
    fn budget(&self, fullness: f64) -> f64 {
        let room = (self.capacity - fullness).max(0.0);
        (self.frame_bits() + self.capacity / 2.0 - fullness)
            .clamp(0.0, room)
            .max(self.frame_bits() / 2.0)
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
    fn fitting_qp(&self, budget: f64, kind: usize, coded_at: &dyn Fn(u8) -> u32) -> u8 {
        let intra = kind == INTRA;
        (QP_MIN..=QP_MAX)
            .find(|&qp| self.estimate(qp, self.coded(coded_at(qp), intra), kind) <= budget)
            .unwrap_or(QP_MAX)
    }

    /// The frame last planned `Encode(qp)` came out `bytes` long. (Called once per encoded
    /// frame, after plan.)
    pub fn update(&mut self, qp: u8, coded_mbs: u32, intra: bool, bytes: usize) {
        if !intra && let Some(at) = self.last_at {
            self.last_inter = Some((qp.min(QP_MAX), at));
        }
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
        let q = qp.min(QP_MAX);
        let sample = (payload / f64::from(coded))
            .log2()
            .clamp(LOG_BPM_RANGE.0 - 10.0, LOG_BPM_RANGE.1 + 10.0);
        let w = (f64::from(coded) / FULL_SAMPLE_MBS).min(1.0);
        let kind = if std::mem::take(&mut self.refining) {
            REFINE
        } else {
            usize::from(intra)
        };
        let error = sample - self.log_bits_per_mb(q, kind);
        let model = &mut self.models[kind];
        model.weight = (model.weight + w).min(1.0 / ALPHA);
        let alpha = (w / model.weight).max(ALPHA * w);
        // Part of the error is the content (all QPs), the rest this QP's own cost.
        model.log_bpm = (model.log_bpm + alpha * error).clamp(LOG_BPM_RANGE.0, LOG_BPM_RANGE.1);
        let line = model.log_bpm + (REF_QP - f64::from(q)) / 6.0;
        let local = sample - line;
        let slot = &mut model.shape[usize::from(q)];
        let before = slot.unwrap_or(local);
        *slot = Some((before + w * (local - before)).clamp(SHAPE_RANGE.0, SHAPE_RANGE.1));
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

    /// Estimated bits of a frame at `qp` coding `coded` macroblocks.
    fn estimate(&self, qp: u8, coded: u32, kind: usize) -> f64 {
        self.overhead(coded) + f64::from(coded) * self.log_bits_per_mb(qp, kind).exp2()
    }

    /// log2 of the bits one coded macroblock costs at `qp`: the line (each +6 QP halves them)
    /// moved by the deviation learned at `qp`, else interpolated between the nearest QPs with
    /// one, else that of the nearest one.
    fn log_bits_per_mb(&self, qp: u8, kind: usize) -> f64 {
        let model = &self.models[kind];
        let q = usize::from(qp).min(SHAPE_QPS - 1);
        let below = (0..=q).rev().find_map(|i| model.shape[i].map(|d| (i, d)));
        let above = (q..SHAPE_QPS).find_map(|i| model.shape[i].map(|d| (i, d)));
        let deviation = match (below, above) {
            (Some((i, a)), Some((j, b))) if j > i => a + (b - a) * (q - i) as f64 / (j - i) as f64,
            (Some((_, d)), _) | (_, Some((_, d))) => d,
            (None, None) => 0.0,
        };
        model.log_bpm + (REF_QP - f64::from(qp)) / 6.0 + deviation
    }
}

fn sane_fps(fps: f64) -> f64 {
    match fps {
        fps if fps > 0.0 => fps.clamp(FPS_RANGE.0, FPS_RANGE.1),
        _ => FPS_DEFAULT,
    }
}

#[cfg(test)]
mod tests;
