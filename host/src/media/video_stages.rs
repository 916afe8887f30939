//! The host's measured video stage times as a client sees them (`video_stages`, docs/protocol.md
//! §4.2): the capture thread adds how long each change waited for its capture, the stage-timing
//! probes (`stage_timing.rs`) add capture → encoder input, capture → encoded and encoded → sent.
//! Once a window of [`WINDOW`] is full, its means are published with a sequence number; each
//! connection that asked (`_stages,1`) sends every new window once. Readers never reset what they
//! read, so the peers of a shared session all see the same windows.
//!
//! Without it the client could only assume the host's part of glass-to-glass (half a frame for
//! the capture wait, half a frame for the encode), which read twice the measured total.

use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use selkies_proto::protocol::VideoStages;
use selkies_telemetry::{Metrics, Stage};

use crate::sync::lock;

/// How long a window of samples runs before its means are published.
pub const WINDOW: Duration = Duration::from_secs(1);

/// Running mean of one stage over a window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Window {
    sum_ms: f64,
    n: u32,
}

impl Window {
    fn add(&mut self, ms: f64) {
        // A buffer older than 10 s is a clock jump or a paused pipeline, not a stage time.
        if !(0.0..10_000.0).contains(&ms) {
            return;
        }
        self.sum_ms += ms;
        self.n += 1;
    }

    /// The mean since the last call, or None without samples; starts a new window.
    fn take(&mut self) -> Option<f64> {
        let out = (self.n > 0).then(|| self.sum_ms / f64::from(self.n));
        *self = Self::default();
        out
    }
}

/// Where the stage samples of one video pipeline meet.
#[derive(Default)]
pub struct StageBoard {
    inner: Mutex<Inner>,
    /// Where the capture's waits also go as a histogram (`/metrics`), once the stage-timing
    /// probes are installed; the other stages are observed by the probes themselves.
    metrics: OnceLock<Metrics>,
}

impl std::fmt::Debug for StageBoard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StageBoard")
            .field("latest", &self.latest())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
struct Inner {
    change: Window,
    to_encoder: Window,
    encoded: Window,
    sent: Window,
    frames: u32,
    since: Option<Instant>,
    /// The newest complete window and its number (1, 2, …).
    last: Option<(u64, VideoStages)>,
}

impl StageBoard {
    /// Sends the capture's waits to `metrics` too (the first call wins).
    pub fn attach_metrics(&self, metrics: Metrics) {
        let _ = self.metrics.set(metrics);
    }

    /// A change's first DAMAGE report → the start of the capture that took it.
    pub fn change_waited(&self, wait: Duration) {
        let ms = wait.as_secs_f64() * 1000.0;
        if let Some(m) = self.metrics.get() {
            m.observe_stage(Stage::ChangeToCapture, ms);
        }
        lock(&self.inner).change.add(ms);
    }

    /// Capture start → the frame at the encoder's input.
    pub fn at_encoder(&self, ms: f64) {
        lock(&self.inner).to_encoder.add(ms);
    }

    /// Encoded frame → its last packet handed on.
    pub fn sent(&self, ms: f64) {
        lock(&self.inner).sent.add(ms);
    }

    /// An encoded frame left the encoder at `now`, `ms` after its capture began (`None`: its
    /// capture time is unknown). Closes the window when it has run its length, and returns it.
    pub fn encoded(&self, ms: Option<f64>, now: Instant) -> Option<VideoStages> {
        let mut s = lock(&self.inner);
        if let Some(ms) = ms {
            s.encoded.add(ms);
        }
        s.frames = s.frames.saturating_add(1);
        let since = *s.since.get_or_insert(now);
        if now.duration_since(since) < WINDOW {
            return None;
        }
        let stages = VideoStages {
            change_to_capture_ms: s.change.take(),
            capture_to_encoder_ms: s.to_encoder.take(),
            capture_to_encoded_ms: s.encoded.take(),
            encoded_to_sent_ms: s.sent.take(),
            frames: s.frames,
        };
        let seq = s.last.map_or(1, |(n, _)| n + 1);
        s.last = Some((seq, stages));
        s.frames = 0;
        s.since = Some(now);
        Some(stages)
    }

    /// The newest complete window and its number, if one has closed.
    pub fn latest(&self) -> Option<(u64, VideoStages)> {
        lock(&self.inner).last
    }
}

/// What one connection has sent of a board: each window once, and only after the client asked.
#[derive(Debug, Default)]
pub struct StageReports {
    wanted: bool,
    sent: u64,
}

impl StageReports {
    /// `_stages,<0|1>` from the client.
    pub fn set_wanted(&mut self, wanted: bool) {
        self.wanted = wanted;
    }

    /// The window to send now: a newer one than last sent, while the client wants them.
    pub fn next(&mut self, board: &StageBoard) -> Option<VideoStages> {
        if !self.wanted {
            return None;
        }
        let (seq, stages) = board.latest()?;
        if seq == self.sent {
            return None;
        }
        self.sent = seq;
        Some(stages)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn window_means_and_resets() {
        let mut w = Window::default();
        assert_eq!(w.take(), None);
        w.add(10.0);
        w.add(30.0);
        w.add(-5.0); // before capture: a clock glitch
        w.add(20_000.0); // a paused pipeline
        assert_eq!(w.take(), Some(20.0));
        assert_eq!(w.take(), None);
    }

    #[test]
    fn a_window_publishes_the_means_of_what_it_saw() {
        let board = StageBoard::default();
        let t0 = Instant::now();
        board.change_waited(ms(1));
        board.change_waited(ms(3));
        board.at_encoder(2.0);
        board.sent(0.5);
        assert_eq!(board.encoded(Some(6.0), t0), None);
        assert_eq!(board.latest(), None, "the window has not run its length");
        assert_eq!(board.encoded(Some(8.0), t0 + ms(500)), None);
        let closed = board.encoded(None, t0 + WINDOW);
        let (seq, s) = board.latest().expect("a window closed");
        assert_eq!(seq, 1);
        assert_eq!(
            closed,
            Some(s),
            "the closing frame gets the window it closed"
        );
        assert_eq!(
            s,
            VideoStages {
                change_to_capture_ms: Some(2.0),
                capture_to_encoder_ms: Some(2.0),
                capture_to_encoded_ms: Some(7.0),
                encoded_to_sent_ms: Some(0.5),
                frames: 3,
            }
        );
    }

    #[test]
    fn a_stage_no_frame_went_through_is_unknown_not_zero() {
        let board = StageBoard::default();
        let t0 = Instant::now();
        // Keep-alives of a still screen: no change waited, no capture time known.
        board.encoded(None, t0);
        board.encoded(None, t0 + WINDOW);
        let (_, s) = board.latest().expect("a window closed");
        assert_eq!(s.change_to_capture_ms, None);
        assert_eq!(s.capture_to_encoded_ms, None);
        assert_eq!(s.frames, 2);
        // The next window starts empty: its samples are its own.
        board.change_waited(ms(4));
        board.encoded(Some(5.0), t0 + WINDOW + ms(10));
        board.encoded(None, t0 + WINDOW * 2);
        let (seq, s) = board.latest().expect("a second window");
        assert_eq!(seq, 2);
        assert_eq!(s.change_to_capture_ms, Some(4.0));
        assert_eq!(s.capture_to_encoded_ms, Some(5.0));
        assert_eq!(s.frames, 2);
    }

    #[test]
    fn the_capture_waits_reach_the_metrics_once_attached() {
        let board = StageBoard::default();
        board.change_waited(ms(3)); // before the probes: the window only
        let metrics = Metrics::new();
        board.attach_metrics(metrics.clone());
        board.change_waited(ms(3));
        let text = metrics.render();
        assert!(
            text.contains("selkies_video_stage_ms_count{stage=\"change_to_capture\"} 1"),
            "{text}"
        );
        assert!(
            text.contains(
                "selkies_video_stage_ms_bucket{stage=\"change_to_capture\",le=\"4.0\"} 1"
            ),
            "{text}"
        );
    }

    #[test]
    fn each_connection_sends_each_window_once_and_only_when_asked() {
        let board = StageBoard::default();
        let t0 = Instant::now();
        board.encoded(Some(5.0), t0);
        board.encoded(Some(5.0), t0 + WINDOW);
        let mut a = StageReports::default();
        let mut b = StageReports::default();
        assert_eq!(a.next(&board), None, "not asked for");
        a.set_wanted(true);
        b.set_wanted(true);
        assert!(a.next(&board).is_some());
        assert_eq!(a.next(&board), None, "already sent");
        // Another connection of the same session still gets the window.
        assert!(b.next(&board).is_some());
        board.encoded(Some(5.0), t0 + WINDOW * 2);
        a.set_wanted(false);
        assert_eq!(a.next(&board), None, "stopped");
        a.set_wanted(true);
        assert!(
            a.next(&board).is_some(),
            "the newest window after asking again"
        );
    }
}
