//! Idle-desktop frame gating for the clock-ticked `ximagesrc` source (`--capture=ximagesrc`, or
//! no MIT-SHM; the damage-driven capture of `xcapture.rs` captures only on change and reuses
//! [`FrameGate::keepalive`]): when the X screen has not changed, captured frames are dropped
//! before conversion and encoding, so a static desktop costs almost no CPU. A frame still passes
//! shortly after every change (the capture may have raced the damage event) and at a keep-alive
//! interval (loss recovery and keyframe requests need frames to work with).
//!
//! The keep-alive interval is bounded by the browser: Chromium requests a keyframe (PLI) when no
//! decodable frame has arrived for 3 × the `rtx-time` the offer announces (750 ms for our 250 ms,
//! see `selkies_proto::sdp::RTX_TIME_MS`). A longer gap on a static screen made it ask for a
//! keyframe about twice a second, and the keyframes were most of a static desktop's bitrate.
//! Keep-alive frames of an unchanged screen encode as tiny all-skip P-frames; each still costs a
//! full x264 pass (~5 ms at 1080p), which is why the announced `rtx-time` is 250 ms rather than
//! legacy's 125 ms: half as many keep-alive frames (docs/benchmarks.md).

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use selkies_x11::damage::DamageWatch;

/// The policy, pure and testable.
#[derive(Debug, Clone, Copy)]
pub struct FrameGate {
    /// Frames keep flowing this long after the latest change.
    pub tail: Duration,
    /// At least one frame per this interval even when nothing changes.
    pub keepalive: Duration,
}

/// How long Chromium waits for a decodable frame before it asks for a keyframe: 3 × the
/// announced retransmission window (its `DetermineMaxWaitForFrame`).
pub const BROWSER_FRAME_TIMEOUT: Duration =
    Duration::from_millis(3 * selkies_proto::sdp::RTX_TIME_MS as u64);

impl Default for FrameGate {
    fn default() -> Self {
        Self {
            tail: Duration::from_millis(100),
            // Two thirds of the browser's timeout (500 ms): a keep-alive frame passes on the
            // first capture tick after the interval, and the network adds its own jitter.
            keepalive: BROWSER_FRAME_TIMEOUT * 2 / 3,
        }
    }
}

impl FrameGate {
    pub fn pass(
        &self,
        now: Instant,
        last_damage: Option<Instant>,
        last_pass: Option<Instant>,
    ) -> bool {
        let Some(last_pass) = last_pass else {
            return true;
        };
        if now.saturating_duration_since(last_pass) >= self.keepalive {
            return true;
        }
        match last_damage {
            Some(d) => d >= last_pass || now.saturating_duration_since(d) <= self.tail,
            None => false,
        }
    }
}

/// Install the gate on the capture source's output. `bypass` (the server-side pointer is drawn
/// into the frames, and pointer motion makes no damage) lets every frame through; `wanted` (a
/// keyframe was requested: `first_frame::on_keyframe_request`) lets the next one through.
pub fn install(
    source: &gst::Element,
    damage: DamageWatch,
    bypass: Arc<AtomicBool>,
    wanted: Arc<AtomicBool>,
) {
    let Some(pad) = source.static_pad("src") else {
        return;
    };
    let gate = FrameGate::default();
    let last_pass: Mutex<Option<Instant>> = Mutex::new(None);
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        let now = Instant::now();
        let mut last = crate::sync::lock(&last_pass);
        if bypass.load(Ordering::Relaxed)
            || wanted.swap(false, Ordering::Relaxed)
            || gate.pass(now, damage.last_damage(), *last)
        {
            *last = Some(now);
            gst::PadProbeReturn::Ok
        } else {
            // Consumed here and answered `Handled`, as in `silence_gate.rs`: gstreamer-rs 0.25
            // turns a `Drop` of a buffer left in place into a GStreamer-CRITICAL per frame.
            info.data = None;
            gst::PadProbeReturn::Handled
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn first_frame_always_passes() {
        let t = Instant::now();
        assert!(FrameGate::default().pass(t, None, None));
    }

    #[test]
    fn idle_screen_passes_only_keepalive_frames() {
        let g = FrameGate::default();
        let t0 = Instant::now();
        assert!(!g.pass(t0 + ms(33), None, Some(t0)));
        assert!(!g.pass(t0 + ms(483), None, Some(t0)));
        assert!(g.pass(t0 + ms(500), None, Some(t0)));
    }

    #[test]
    fn idle_gaps_stay_below_the_browser_keyframe_timeout() {
        // The longest gap the gate leaves is one keep-alive interval plus one capture tick (the
        // frame that passes is the first one after the interval), here at 15 fps, the slowest
        // common setting. With legacy's 125 ms rtx-time (a 375 ms timeout), a 500 ms interval
        // made Chromium send ~2 PLIs a second.
        let g = FrameGate::default();
        let tick = ms(1000 / 15);
        let t0 = Instant::now();
        let mut last = t0;
        let mut worst = Duration::ZERO;
        let mut t = t0;
        while t < t0 + ms(5000) {
            t += tick;
            if g.pass(t, None, Some(last)) {
                worst = worst.max(t - last);
                last = t;
            }
        }
        assert_eq!(BROWSER_FRAME_TIMEOUT, ms(750));
        // 100 ms of margin for network jitter.
        assert!(
            worst + ms(100) <= BROWSER_FRAME_TIMEOUT,
            "worst gap {worst:?}"
        );
    }

    #[test]
    fn changes_pass_with_a_tail() {
        let g = FrameGate::default();
        let t0 = Instant::now();
        // Damage after the last passed frame: the next frame carries it.
        assert!(g.pass(t0 + ms(40), Some(t0 + ms(10)), Some(t0)));
        // Damage just before the last passed frame: the tail still lets frames through.
        assert!(g.pass(t0 + ms(90), Some(t0 + ms(1)), Some(t0 + ms(66))));
        // Long after the damage and within keep-alive: dropped.
        assert!(!g.pass(t0 + ms(1200), Some(t0 + ms(1)), Some(t0 + ms(1000))));
    }
}
