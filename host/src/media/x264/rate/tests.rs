//! Tests of the per-frame QP ([`super::RateControl`]) against a simulated encoder.

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
    assert!(qp > 40 && qp < moving, "{qp} vs {moving}");
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
    // What an inter frame of the same size would get in the same state (before the
    // damping of falling QPs, which applies to motion only).
    let qp = sim.rc.peek_qp(
        Duration::from_secs_f64(sim.frame as f64 / 30.0),
        MBS_1080P,
        false,
    );
    let Plan::Encode(qi) = sim.step(MBS_1080P, true).0 else {
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
    // Frames still flow, but only as the link drains: the debt (the queue) stays bounded.
    let coded = sim.log.iter().filter(|(p, _)| *p != Plan::Skip).count();
    assert!((20..200).contains(&coded), "{coded} of 300 frames coded");
    let bound = sim.rc.capacity_bits() + DEEP_DEBT_SECONDS * 1e6 + 2.0 * k * f64::from(MBS_1080P);
    assert!(
        sim.rc.fullness_bits() < bound,
        "{} bits queued",
        sim.rc.fullness_bits()
    );
    // Content wanting QP 42 at the bitrate: coded at about that QP, at the bitrate, with
    // the frame rate kept.
    let mut sim = Sim::new(4000, [100.0, 400.0]);
    let kbps = sim.run(300, MBS_1080P);
    let skips = assert_frame_rate_kept(&sim.log);
    assert!(skips <= 10, "{skips} skips");
    let late = sim.log[150..].iter().filter_map(|(p, _)| match p {
        Plan::Encode(qp) => Some(*qp),
        Plan::Skip => None,
    });
    assert!(
        late.clone().all(|qp| (38..=46).contains(&qp)),
        "{:?}",
        late.collect::<Vec<_>>()
    );
    assert!(within(kbps, 4000.0, 0.15), "{kbps} kbit/s");
}

#[test]
fn a_refining_frame_may_spend_more_than_the_bucket_and_is_never_skipped() {
    let mut rc = RateControl::new(4000, 51, 30.0, MBS_1080P);
    let t = Duration::from_secs(1);
    let normal = rc.peek_qp(t, MBS_1080P, false);
    let refine = rc.plan_refine(t, MBS_1080P);
    assert!(
        refine + 6 <= normal,
        "refine QP {refine}, a normal frame's {normal}"
    );
    // Even deep in debt it is coded (at the coarsest QP).
    rc.update(refine, MBS_1080P, false, 10_000_000);
    assert_eq!(
        rc.plan_refine(t + Duration::from_millis(33), MBS_1080P),
        QP_MAX
    );
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
            assert!(rc.fullness_bits().is_finite() && rc.fullness_bits() >= 0.0);
            assert!(rc.capacity_bits().is_finite() && rc.capacity_bits() > 0.0);
            assert!(rc.models.iter().all(|m| m.log_bpm.is_finite()));
            assert!(
                rc.models
                    .iter()
                    .all(|m| m.shape.iter().flatten().all(|d| d.is_finite()))
            );
        }
    }
}
