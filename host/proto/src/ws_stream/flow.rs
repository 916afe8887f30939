//! The send-queue policy of the WebSocket transport. The host's queue in front of a socket is
//! measured in bytes written to the queue and not yet accepted by the socket (the backlog).
//!
//! - Below `high_water` every frame goes out, and so does a frame larger than `high_water`
//!   (up to `hard_cap`) when nothing is queued: a big keyframe must be able to pass.
//! - A video frame that would take the backlog past `high_water` starts a *drop*: it and every
//!   following video frame are dropped until a keyframe arrives while the backlog is back
//!   under `low_water`; the encoder is asked for a keyframe at once (and again every
//!   `keyframe_retry_ms` while dropping), and the video bitrate is cut to `backoff` of its value
//!   (not below `min_kbps`), as the WebRTC path's congestion control would.
//! - Audio (small, and a gap is audible) is only dropped at `hard_cap`, the byte bound of the
//!   queue that no frame may pass.
//! - After `recover_after_ms` without a drop, the bitrate rises by `raise` every
//!   `recover_after_ms` until it is back at the target the user chose.
//!
//! So the queue never holds more than `hard_cap` bytes plus one text message (text — input
//! replies, clipboard — is never dropped; its size is bounded by the message limits).

/// The policy's constants.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlowConfig {
    pub high_water: usize,
    pub low_water: usize,
    pub hard_cap: usize,
    pub min_kbps: u32,
    /// Factor applied to the bitrate on each drop (0 < backoff < 1).
    pub backoff: f64,
    /// Factor applied when recovering (> 1).
    pub raise: f64,
    pub recover_after_ms: u64,
    pub keyframe_retry_ms: u64,
}

impl Default for FlowConfig {
    fn default() -> Self {
        Self {
            high_water: 1536 * 1024,
            low_water: 256 * 1024,
            hard_cap: 6 * 1024 * 1024,
            min_kbps: 500,
            backoff: 0.7,
            raise: 1.15,
            recover_after_ms: 2000,
            keyframe_retry_ms: 1000,
        }
    }
}

/// What to do with one frame, and what to tell the encoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Decision {
    pub send: bool,
    pub force_keyframe: bool,
    /// A new video bitrate for the encoder (kbit/s).
    pub set_kbps: Option<u32>,
}

/// The policy's state for one socket.
#[derive(Debug, Clone)]
pub struct FlowControl {
    cfg: FlowConfig,
    target_kbps: u32,
    kbps: u32,
    dropping: bool,
    last_keyframe_request_ms: u64,
    last_change_ms: u64,
    /// Counters, for the logs and the stats.
    pub dropped_frames: u64,
    pub drops: u64,
}

impl FlowControl {
    pub fn new(cfg: FlowConfig, target_kbps: u32, now_ms: u64) -> Self {
        Self {
            cfg,
            target_kbps,
            kbps: target_kbps,
            dropping: false,
            last_keyframe_request_ms: 0,
            last_change_ms: now_ms,
            dropped_frames: 0,
            drops: 0,
        }
    }

    /// The bitrate the policy has the encoder run at now.
    pub fn kbps(&self) -> u32 {
        self.kbps
    }

    pub fn dropping(&self) -> bool {
        self.dropping
    }

    /// The user chose a new bitrate (`vb`): it becomes the target, and the current rate when
    /// that is lower.
    pub fn set_target(&mut self, kbps: u32) {
        self.target_kbps = kbps;
        self.kbps = self.kbps.min(kbps);
    }

    /// An audio frame of `len` bytes with `backlog` bytes queued.
    pub fn on_audio(&mut self, len: usize, backlog: usize) -> Decision {
        let send = backlog + len <= self.cfg.hard_cap;
        if !send {
            self.dropped_frames += 1;
        }
        Decision {
            send,
            ..Decision::default()
        }
    }

    /// A video frame of `len` bytes with `backlog` bytes queued.
    pub fn on_video(
        &mut self,
        now_ms: u64,
        keyframe: bool,
        len: usize,
        backlog: usize,
    ) -> Decision {
        let mut d = Decision::default();
        if self.dropping {
            if keyframe && backlog + len <= self.cfg.high_water && backlog <= self.cfg.low_water {
                self.dropping = false;
                d.send = true;
                return d;
            }
            self.dropped_frames += 1;
            if now_ms.saturating_sub(self.last_keyframe_request_ms) >= self.cfg.keyframe_retry_ms
                && backlog <= self.cfg.low_water
            {
                self.last_keyframe_request_ms = now_ms;
                d.force_keyframe = true;
            }
            return d;
        }
        if backlog + len <= self.cfg.high_water || (backlog == 0 && len <= self.cfg.hard_cap) {
            d.send = true;
            return d;
        }
        // Congestion: drop up to the next keyframe and slow the encoder down.
        self.dropping = true;
        self.drops += 1;
        self.dropped_frames += 1;
        self.last_keyframe_request_ms = now_ms;
        self.last_change_ms = now_ms;
        d.force_keyframe = true;
        let lower = ((f64::from(self.kbps) * self.cfg.backoff) as u32).max(self.cfg.min_kbps);
        if lower < self.kbps {
            self.kbps = lower;
            d.set_kbps = Some(lower);
        }
        d
    }

    /// Called periodically: the bitrate to raise to once the socket has kept up for a while.
    pub fn on_tick(&mut self, now_ms: u64) -> Option<u32> {
        if self.dropping
            || self.kbps >= self.target_kbps
            || now_ms.saturating_sub(self.last_change_ms) < self.cfg.recover_after_ms
        {
            return None;
        }
        self.last_change_ms = now_ms;
        let raised = ((f64::from(self.kbps) * self.cfg.raise).ceil() as u32).min(self.target_kbps);
        self.kbps = raised.max(self.kbps + 1).min(self.target_kbps);
        Some(self.kbps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KB: usize = 1024;

    fn flow() -> FlowControl {
        FlowControl::new(FlowConfig::default(), 8000, 0)
    }

    #[test]
    fn frames_flow_while_the_socket_keeps_up() {
        let mut f = flow();
        for t in 0..100 {
            let d = f.on_video(t * 16, t % 60 == 0, 40 * KB, 80 * KB);
            assert_eq!(
                d,
                Decision {
                    send: true,
                    ..Decision::default()
                }
            );
        }
        assert_eq!(f.kbps(), 8000);
        assert_eq!(f.on_tick(10_000), None);
    }

    #[test]
    fn congestion_drops_to_the_next_keyframe_forces_one_and_lowers_the_rate() {
        let mut f = flow();
        let d = f.on_video(1000, false, 40 * KB, 1520 * KB);
        assert!(!d.send && d.force_keyframe);
        assert_eq!(d.set_kbps, Some(5600));
        // Delta frames are dropped even when the socket has drained: they need the lost ones.
        assert!(!f.on_video(1016, false, 40 * KB, 0).send);
        // A keyframe while still backed up is dropped too.
        assert!(!f.on_video(1032, true, 200 * KB, 900 * KB).send);
        // The encoder is asked again once a retry period passed and the socket drained.
        let again = f.on_video(2100, false, 40 * KB, 10 * KB);
        assert!(!again.send && again.force_keyframe && again.set_kbps.is_none());
        let k = f.on_video(2116, true, 200 * KB, 10 * KB);
        assert!(k.send && !f.dropping());
        assert!(f.on_video(2132, false, 40 * KB, 210 * KB).send);
        assert_eq!((f.drops, f.dropped_frames), (1, 4));
    }

    #[test]
    fn repeated_congestion_backs_off_to_the_floor() {
        let mut f = flow();
        let mut now = 0;
        for _ in 0..20 {
            now += 100;
            f.on_video(now, false, 40 * KB, 2000 * KB);
            now += 100;
            assert!(f.on_video(now, true, 40 * KB, 0).send);
        }
        assert_eq!(f.kbps(), 500);
    }

    #[test]
    fn the_rate_recovers_in_steps_after_a_quiet_period() {
        let mut f = flow();
        f.on_video(0, false, 40 * KB, 2000 * KB);
        assert_eq!(f.kbps(), 5600);
        assert_eq!(f.on_tick(500), None, "still dropping");
        assert!(f.on_video(600, true, 40 * KB, 0).send);
        assert_eq!(f.on_tick(1500), None, "too soon after the drop");
        assert_eq!(f.on_tick(2000), Some(6440));
        assert_eq!(f.on_tick(2500), None);
        assert_eq!(f.on_tick(4000), Some(7406));
        assert_eq!(f.on_tick(6000), Some(8000));
        assert_eq!(f.on_tick(8000), None, "back at the target");
    }

    #[test]
    fn a_lower_user_target_caps_the_rate_and_recovery() {
        let mut f = flow();
        f.set_target(3000);
        assert_eq!(f.kbps(), 3000);
        assert_eq!(f.on_tick(100_000), None);
    }

    #[test]
    fn audio_is_dropped_only_at_the_hard_cap() {
        let mut f = flow();
        assert!(f.on_audio(300, 5 * 1024 * KB).send);
        assert!(!f.on_audio(300, 6 * 1024 * KB).send);
        assert_eq!(f.dropped_frames, 1);
    }

    #[test]
    fn one_oversized_keyframe_on_an_empty_queue_still_goes() {
        let mut f = flow();
        assert!(f.on_video(0, true, 2 * 1024 * KB, 0).send);
        assert!(!f.on_video(0, true, 7 * 1024 * KB, 0).send);
    }
}
