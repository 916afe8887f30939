//! The adaptive-bitrate policy of `--congestion_control` (docs/protocol.md §5.8): turns the
//! bandwidth estimates of `rtpgccbwe` into the video encoder's bitrate and the capture frame
//! rate. Pure (times are passed in), so every rule below is unit-tested; `congestion.rs` does the
//! GStreamer side.
//!
//! Rules, in the order they apply to one estimate:
//! - the usable video rate is the estimate less a headroom for RTX, FEC and RTCP, clamped between
//!   a floor and the configured bitrate;
//! - drops apply at once (a late drop is a freeze), at most every [`DOWN_INTERVAL_MS`];
//! - rises apply only after the estimate has stayed above the rate in force for
//!   [`UP_HOLD_MS`], so an estimate wobbling around one value does not move the encoder (a dead
//!   band of ±[`DEAD_BAND`] as well). Once a rise has been held, the climb that follows (GCC
//!   raising its estimate ~8 % a second after congestion ends) is followed after only
//!   [`CLIMB_HOLD_MS`] per step, for as long as rises keep coming within [`CLIMB_WINDOW_MS`]
//!   of each other and no drop intervenes: a fresh hold at every step had the encoder lag
//!   the estimate by a second a step, 11 s back to the ceiling after a 3 Mbit/s cap lifted;
//! - when the host sends only a few frames a second (a static screen: the idle gate lets only
//!   changes and keep-alives through), the estimate says nothing about the path, since GCC cannot
//!   probe without traffic: drops are ignored and, after the hold, the configured bitrate is
//!   restored so the still picture refines back to sharp. Frames, not bytes, tell a static screen
//!   from a simple moving one: x264 undershoots its target on simple content;
//! - the frame rate goes down before quality does: while the bits per frame at the full rate
//!   fall below [`Q_LOW`] of what the configured bitrate and frame rate give, the frame rate steps
//!   down (full, ⅘, ⅔, ½); it steps back up only once the higher rate would give [`Q_HIGH`]. The
//!   ⅘ step (24 fps of 30) is for the common case of a path a little narrower than the
//!   configured bitrate: motion stays smooth, and a stream that must hold 20 fps is not sent
//!   at exactly 20.

/// Share of the estimate left to the encoder (the rest: retransmissions, FEC, RTCP, the data
/// channel).
pub const HEADROOM: f64 = 0.9;
/// Changes smaller than this fraction of the rate in force are not made.
pub const DEAD_BAND: f64 = 0.08;
/// Minimum time between two drops.
pub const DOWN_INTERVAL_MS: u64 = 250;
/// How long a higher estimate must last before the rate rises.
pub const UP_HOLD_MS: u64 = 1000;
/// The hold of each further step of a climb (see the module's rules).
pub const CLIMB_HOLD_MS: u64 = 250;
/// A rise this soon after the previous one continues its climb.
pub const CLIMB_WINDOW_MS: u64 = 3000;
/// Below this share of the configured bits per frame, the frame rate steps down.
pub const Q_LOW: f64 = 0.5;
/// A higher frame rate comes back once it would give this share of the configured bits per frame.
pub const Q_HIGH: f64 = 0.65;
/// Sending fewer frames a second than this counts as a static screen (with a configured frame
/// rate of at least twice as many).
pub const STATIC_FPS: f64 = 5.0;

/// What the encoder and the capture run at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub kbps: u32,
    pub fps: u32,
}

/// The configured ceiling (the user's bitrate and frame rate) and the floor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_kbps: u32,
    pub max_fps: u32,
}

impl Limits {
    /// The lowest video bitrate: max(100 kbit/s, 10 % of the configured bitrate).
    pub fn min_kbps(&self) -> u32 {
        (self.max_kbps / 10).max(100).min(self.max_kbps.max(1))
    }

    /// The frame rates the policy uses, highest first: full, four fifths, two thirds, half
    /// (never below 1).
    pub fn fps_levels(&self) -> Vec<u32> {
        let full = self.max_fps.max(1);
        let mut levels = vec![
            full,
            (full * 4 / 5).max(1),
            (full * 2 / 3).max(1),
            (full / 2).max(1),
        ];
        levels.dedup();
        levels
    }

    /// Bits per frame at `kbps` and `fps`, relative to the configured bits per frame.
    fn quality(&self, kbps: u32, fps: u32) -> f64 {
        let configured = f64::from(self.max_kbps.max(1)) / f64::from(self.max_fps.max(1));
        (f64::from(kbps) / f64::from(fps.max(1))) / configured
    }
}

/// The policy's state across estimates.
#[derive(Debug, Clone)]
pub struct Policy {
    limits: Limits,
    current: Decision,
    last_down_ms: Option<u64>,
    /// Since when the estimate has asked for more than the rate in force.
    up_since_ms: Option<u64>,
    /// When the last rise was made (cleared by a drop): a climb in progress.
    last_up_ms: Option<u64>,
}

impl Policy {
    /// Starts at the configured bitrate and frame rate.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            current: Decision {
                kbps: limits.max_kbps,
                fps: limits.max_fps.max(1),
            },
            last_down_ms: None,
            up_since_ms: None,
            last_up_ms: None,
        }
    }

    pub fn current(&self) -> Decision {
        self.current
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// New configured values (the user's `vb` or frame rate, which the host has already put on
    /// the encoder): the rate in force is fitted under the new ceiling and returned, to be put
    /// back in force; a higher ceiling is reached through the usual hold. None when unchanged.
    pub fn set_limits(&mut self, limits: Limits) -> Option<Decision> {
        if limits == self.limits {
            return None;
        }
        self.limits = limits;
        self.current.kbps = self.current.kbps.clamp(limits.min_kbps(), limits.max_kbps);
        self.current.fps = self.fps_for(self.current.kbps).min(limits.max_fps.max(1));
        Some(self.current)
    }

    /// One estimate from the bandwidth estimator (bit/s), with the frames a second the host
    /// actually sent over the last window (None when not known yet). Returns the new decision
    /// when it changed.
    pub fn on_estimate(
        &mut self,
        now_ms: u64,
        estimate_bps: u64,
        sent_fps: Option<f64>,
    ) -> Option<Decision> {
        let l = self.limits;
        let usable = (estimate_bps as f64 * HEADROOM / 1000.0).min(f64::from(u32::MAX)) as u32;
        let static_screen =
            f64::from(l.max_fps) >= 2.0 * STATIC_FPS && sent_fps.is_some_and(|f| f < STATIC_FPS);
        // A static screen: restore the ceiling (after the hold) whatever the estimate says.
        let target = if static_screen {
            l.max_kbps
        } else {
            usable.clamp(l.min_kbps(), l.max_kbps)
        };
        let cur = f64::from(self.current.kbps);
        let t = f64::from(target);
        let kbps = if t < cur * (1.0 - DEAD_BAND) && !static_screen {
            self.up_since_ms = None;
            self.last_up_ms = None;
            let too_soon = self
                .last_down_ms
                .is_some_and(|d| now_ms.saturating_sub(d) < DOWN_INTERVAL_MS);
            if too_soon {
                return None;
            }
            self.last_down_ms = Some(now_ms);
            target
        } else if t > cur * (1.0 + DEAD_BAND)
            || (target == l.max_kbps && target > self.current.kbps)
        {
            let since = *self.up_since_ms.get_or_insert(now_ms);
            let climbing = self
                .last_up_ms
                .is_some_and(|u| now_ms.saturating_sub(u) <= CLIMB_WINDOW_MS);
            let hold = if climbing { CLIMB_HOLD_MS } else { UP_HOLD_MS };
            if now_ms.saturating_sub(since) < hold {
                return None;
            }
            self.up_since_ms = None;
            self.last_up_ms = Some(now_ms);
            target
        } else {
            self.up_since_ms = None;
            self.current.kbps
        };
        let next = Decision {
            kbps,
            fps: self.fps_for(kbps),
        };
        if next == self.current {
            return None;
        }
        self.current = next;
        Some(next)
    }

    /// The frame rate for `kbps`, stepping from the one in force with hysteresis.
    fn fps_for(&self, kbps: u32) -> u32 {
        let l = self.limits;
        let levels = l.fps_levels();
        let lowest = levels.last().copied().unwrap_or(1);
        let cur = self.current.fps;
        // Down: the highest level at or below the current one that keeps Q_LOW.
        if l.quality(kbps, cur) < Q_LOW {
            return levels
                .iter()
                .copied()
                .filter(|&f| f <= cur)
                .find(|&f| l.quality(kbps, f) >= Q_LOW)
                .unwrap_or(lowest);
        }
        // Up: the highest level above the current one that gives Q_HIGH.
        levels
            .iter()
            .copied()
            .filter(|&f| f > cur)
            .find(|&f| l.quality(kbps, f) >= Q_HIGH)
            .unwrap_or(cur)
            .min(l.max_fps.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: Limits = Limits {
        max_kbps: 4000,
        max_fps: 30,
    };

    fn d(kbps: u32, fps: u32) -> Option<Decision> {
        Some(Decision { kbps, fps })
    }

    #[test]
    fn floor_levels_and_start() {
        assert_eq!(L.min_kbps(), 400);
        let small = Limits {
            max_kbps: 500,
            max_fps: 30,
        };
        assert_eq!(small.min_kbps(), 100);
        let tiny = Limits {
            max_kbps: 50,
            max_fps: 1,
        };
        assert_eq!(tiny.min_kbps(), 50, "the floor never exceeds the ceiling");
        assert_eq!(tiny.fps_levels(), vec![1]);
        assert_eq!(L.fps_levels(), vec![30, 24, 20, 15]);
        assert_eq!(
            Policy::new(L).current(),
            Decision {
                kbps: 4000,
                fps: 30
            }
        );
    }

    #[test]
    fn drops_apply_at_once_and_are_clamped() {
        let mut p = Policy::new(L);
        // 3 Mbit/s estimate → 2700 kbit/s usable; bits per frame 0.675 of configured: 30 fps kept.
        assert_eq!(p.on_estimate(0, 3_000_000, Some(30.0)), d(2700, 30));
        // Under the floor: the floor.
        assert_eq!(p.on_estimate(1000, 10_000, Some(30.0)), d(400, 15));
        // Above the ceiling never exceeds it.
        let mut p = Policy::new(L);
        assert_eq!(p.on_estimate(0, 50_000_000, Some(30.0)), None);
    }

    #[test]
    fn drops_are_rate_limited_and_small_changes_ignored() {
        let mut p = Policy::new(L);
        assert_eq!(p.on_estimate(0, 3_000_000, Some(30.0)), d(2700, 30));
        // 100 ms later a further drop waits for the interval.
        assert_eq!(p.on_estimate(100, 2_000_000, Some(30.0)), None);
        assert_eq!(p.on_estimate(300, 2_000_000, Some(30.0)), d(1800, 24));
        // Within the dead band: nothing, either way.
        assert_eq!(p.on_estimate(2000, 2_100_000, Some(30.0)), None);
        assert_eq!(p.on_estimate(4000, 1_950_000, Some(30.0)), None);
    }

    #[test]
    fn frame_rate_goes_down_before_quality_and_comes_back_with_hysteresis() {
        let mut p = Policy::new(L);
        // 1800 kbit/s at 30 fps is 0.45 of the configured bits per frame: 24 fps gives 0.5625.
        assert_eq!(p.on_estimate(0, 2_000_000, Some(30.0)), d(1800, 24));
        // 1500 kbit/s: 24 fps would give 0.47, 20 fps 0.5625 → 20.
        assert_eq!(p.on_estimate(300, 1_666_667, Some(30.0)), d(1500, 20));
        // 1000 kbit/s: only 15 fps gives 0.5 → 15.
        assert_eq!(p.on_estimate(1000, 1_111_112, Some(30.0)), d(1000, 15));
        // Rising to 1900 kbit/s: 30 fps would give 0.475, 24 fps 0.59, 20 fps 0.71 ≥ Q_HIGH → 20
        // after the hold.
        assert_eq!(p.on_estimate(2000, 2_111_112, Some(30.0)), None);
        assert_eq!(p.on_estimate(3000, 2_111_112, Some(30.0)), d(1900, 20));
        // 2700: 30 fps would give 0.675 ≥ Q_HIGH → back to 30.
        assert_eq!(p.on_estimate(4000, 3_000_000, Some(30.0)), None);
        assert_eq!(p.on_estimate(5000, 3_000_000, Some(30.0)), d(2700, 30));
        // Hysteresis: at 24 fps, 2300 kbit/s (30 fps would give 0.575 < Q_HIGH) stays at 24;
        // the same 2300 at 30 fps (0.575 ≥ Q_LOW) stays at 30.
        let mut p = Policy::new(L);
        assert_eq!(p.on_estimate(0, 2_000_000, Some(30.0)), d(1800, 24));
        assert_eq!(p.on_estimate(1000, 2_555_556, Some(30.0)), None);
        assert_eq!(p.on_estimate(2000, 2_555_556, Some(30.0)), d(2300, 24));
        let mut p = Policy::new(L);
        assert_eq!(p.on_estimate(0, 2_555_556, Some(30.0)), d(2300, 30));
    }

    #[test]
    fn rises_wait_for_the_hold_and_reset_when_the_estimate_falls_back() {
        let mut p = Policy::new(L);
        assert_eq!(p.on_estimate(0, 2_000_000, Some(30.0)), d(1800, 24));
        assert_eq!(p.on_estimate(1000, 4_000_000, Some(30.0)), None);
        // The estimate falls back into the dead band: the hold restarts.
        assert_eq!(p.on_estimate(1500, 2_000_000, Some(30.0)), None);
        assert_eq!(p.on_estimate(2000, 4_000_000, Some(30.0)), None);
        assert_eq!(p.on_estimate(2900, 4_000_000, Some(30.0)), None);
        assert_eq!(p.on_estimate(3000, 4_000_000, Some(30.0)), d(3600, 30));
        // Recovered to the ceiling once the estimate allows it.
        assert_eq!(p.on_estimate(3100, 5_000_000, Some(30.0)), None);
        assert_eq!(p.on_estimate(4100, 5_000_000, Some(30.0)), d(4000, 30));
    }

    /// GCC's estimate climbing 8 % a second after a cap lifts, sampled every 100 ms, from 2 Mbit/s
    /// at `from_ms`: the time the encoder reaches the ceiling.
    fn ceiling_reached_ms(p: &mut Policy, from_ms: u64) -> u64 {
        for t in (from_ms..from_ms + 30_000).step_by(100) {
            let secs = (t - from_ms) as f64 / 1000.0;
            let estimate = 2_000_000.0 * 1.08f64.powf(secs);
            let usable = (estimate * HEADROOM / 1000.0) as u32;
            if let Some(dec) = p.on_estimate(t, estimate as u64, Some(30.0)) {
                assert!(
                    dec.kbps <= usable.max(L.min_kbps()),
                    "{dec:?} above {usable}"
                );
            }
            if p.current().kbps == L.max_kbps {
                return t;
            }
        }
        panic!("never back at the ceiling: {:?}", p.current());
    }

    #[test]
    fn a_held_rise_is_followed_by_a_climb_that_tracks_the_estimate() {
        let mut p = Policy::new(L);
        assert_eq!(p.on_estimate(0, 2_000_000, Some(30.0)), d(1800, 24));
        // The usable rate (0.9 × estimate) reaches 4000 kbit/s after ln(2.22)/ln(1.08) = 10.4 s.
        let reached = ceiling_reached_ms(&mut p, 1000);
        assert!(
            (11_300..=11_900).contains(&reached),
            "ceiling at {reached} ms, the estimate allowed it at 11370"
        );
        // A drop ends the climb: the next rise waits for the full hold again.
        assert_eq!(p.on_estimate(20_000, 3_000_000, Some(30.0)), d(2700, 30));
        assert_eq!(p.on_estimate(20_100, 3_600_000, Some(30.0)), None);
        assert_eq!(p.on_estimate(20_500, 3_600_000, Some(30.0)), None);
        assert_eq!(p.on_estimate(21_100, 3_600_000, Some(30.0)), d(3240, 30));
        // The next rise, within the climb's window, after the short hold.
        assert_eq!(p.on_estimate(21_200, 4_000_000, Some(30.0)), None);
        assert_eq!(p.on_estimate(21_450, 4_000_000, Some(30.0)), d(3600, 30));
        // Long after the last rise the climb is over: the full hold again.
        assert_eq!(p.on_estimate(30_000, 4_400_000, Some(30.0)), None);
        assert_eq!(p.on_estimate(30_500, 4_400_000, Some(30.0)), None);
        assert_eq!(p.on_estimate(31_000, 4_400_000, Some(30.0)), d(3960, 30));
    }

    #[test]
    fn a_static_screen_ignores_drops_and_converges_to_the_ceiling() {
        let mut p = Policy::new(L);
        assert_eq!(p.on_estimate(0, 1_000_000, Some(30.0)), d(900, 15));
        // The screen stops: the host sends a frame a second and GCC's estimate sags without traffic.
        assert_eq!(p.on_estimate(500, 300_000, Some(1.0)), None);
        assert_eq!(p.on_estimate(1500, 300_000, Some(1.0)), d(4000, 30));
        // Still static: the low estimate does not pull it down.
        assert_eq!(p.on_estimate(3000, 200_000, Some(1.0)), None);
        // Motion again on the narrow path: down at once.
        assert_eq!(p.on_estimate(4000, 1_000_000, Some(30.0)), d(900, 15));
    }

    #[test]
    fn no_oscillation_on_a_noisy_estimate() {
        // An estimate wobbling ±3 % around 2.5 Mbit/s: one change, then none.
        let mut p = Policy::new(L);
        let mut changes = 0;
        for i in 0..200u64 {
            let wobble = if i % 2 == 0 { 2_575_000 } else { 2_425_000 };
            if p.on_estimate(i * 100, wobble, Some(30.0)).is_some() {
                changes += 1;
            }
        }
        assert_eq!(changes, 1, "{:?}", p.current());
    }

    #[test]
    fn new_limits_fit_the_rate_in_force() {
        let mut p = Policy::new(L);
        assert_eq!(
            p.set_limits(Limits {
                max_kbps: 2000,
                max_fps: 30
            }),
            d(2000, 30)
        );
        assert_eq!(
            p.set_limits(Limits {
                max_kbps: 2000,
                max_fps: 30
            }),
            None
        );
        // A higher ceiling is not jumped to, and the rate in force is put back (the user's `vb`
        // set the encoder to the ceiling).
        assert_eq!(p.set_limits(L), d(2000, 30));
        // A lower frame rate: the frame rate in force never exceeds it.
        let fifteen = Limits {
            max_kbps: 4000,
            max_fps: 15,
        };
        assert_eq!(p.set_limits(fifteen), d(2000, 15));
    }
}
