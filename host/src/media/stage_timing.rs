//! Host-side stage timings of the video pipeline, measured on every frame: capture → encoder
//! input (conversion and the queue) and capture → encoded frame at the payloader (plus the
//! encode). A frame's PTS is the running time at which `ximagesrc` captured it, so its age at the
//! encoder's input is the pipeline clock's running time minus its PTS. Encoders may shift output
//! timestamps (x264enc adds 1000 hours so DTS never goes negative), so the encoded frame is
//! matched to its input by order and PTS offset ([`Pending`]), and its age is the age it had at
//! the encoder's input plus the time the encoder held it.
//!
//! Each second (a window of the stage board, below) the means go to the log (debug) and
//! capture → encoded to the metrics (`selkies_host_latency_ms`).
//! Every frame's times also go to the `selkies_video_stage_ms` histograms, with a third stage:
//! encoded → its last RTP packet handed to webrtcbin (payloading; the payloader pushes all of a
//! frame's packets before it takes the next frame, so a frame is complete when the next one
//! arrives). Each encoded frame's wall-clock capture time is also handed to the
//! abs-capture-time header extension (`media/abs_capture_time.rs`) before it is packetised,
//! and every stage time to the pipeline's stage board (`media/video_stages.rs`), from which the
//! clients that ask get the host's part of glass-to-glass as measured.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use crate::sync::lock;
use gstreamer as gst;
use gstreamer::prelude::*;
use selkies_telemetry::{Metrics, Stage};

use super::abs_capture_time::CaptureStamps;
use super::video_stages::StageBoard;

/// Frames inside the encoder: (input PTS, when it entered, its age then in ms), oldest first.
#[derive(Debug, Default)]
pub struct Pending {
    frames: VecDeque<(u64, Instant, f64)>,
    /// Output PTS − input PTS, learnt from the first frame out.
    offset: Option<i128>,
}

/// More than this many frames inside the encoder means outputs are not being matched.
const MAX_PENDING: usize = 64;

impl Pending {
    pub fn entered(&mut self, pts: u64, at: Instant, age_ms: f64) {
        if self.frames.len() >= MAX_PENDING {
            self.frames.pop_front();
        }
        self.frames.push_back((pts, at, age_ms));
    }

    /// The capture → now age of the frame leaving with `out_pts`; frames the encoder dropped
    /// (older inputs without an output) are discarded on the way.
    pub fn left(&mut self, out_pts: u64, now: Instant) -> Option<f64> {
        let first = self.frames.front()?.0;
        let offset = *self
            .offset
            .get_or_insert(i128::from(out_pts) - i128::from(first));
        while let Some(&(pts, at, age)) = self.frames.front() {
            let expected = i128::from(pts) + offset;
            if expected > i128::from(out_pts) {
                return None;
            }
            self.frames.pop_front();
            if expected == i128::from(out_pts) {
                return Some(age + now.saturating_duration_since(at).as_secs_f64() * 1000.0);
            }
        }
        None
    }
}

#[derive(Default)]
struct Stages {
    pending: Pending,
    /// The frame being packetised: (PTS, when it reached the payloader, its last packet's
    /// hand-over to webrtcbin so far).
    sending: Option<(u64, Instant, Option<Instant>)>,
    /// Whether the session's first packet went out (a start-up milestone).
    first_packet: bool,
}

impl Stages {
    /// Encoded → sent of the frame in flight, when it had packets; `next` becomes the frame in
    /// flight.
    fn next_frame(&mut self, next: (u64, Instant)) -> Option<f64> {
        let done = self.sending.replace((next.0, next.1, None))?;
        let (_, encoded, Some(sent)) = done else {
            return None;
        };
        Some(sent.saturating_duration_since(encoded).as_secs_f64() * 1000.0)
    }

    fn packet(&mut self, pts: u64, at: Instant) {
        if !self.first_packet {
            self.first_packet = true;
            crate::milestones::mark("video", "first RTP packet to webrtcbin");
        }
        if let Some((p, _, sent)) = &mut self.sending
            && *p == pts
        {
            *sent = Some(at);
        }
    }
}

/// Age of `buffer` in ms at `pad`: the running time now minus its PTS.
fn age_ms(pad: &gst::Pad, buffer: &gst::BufferRef) -> Option<f64> {
    let element = pad.parent_element()?;
    let clock = element.clock()?;
    let base = element.base_time()?;
    let now = clock.time().checked_sub(base)?;
    let pts = buffer.pts()?;
    let age = now.nseconds() as f64 - pts.nseconds() as f64;
    Some(age / 1e6)
}

/// [`install`]'s last age when the frame could not be matched to its input.
pub const NO_AGE: u64 = u64::MAX;

/// Probes the encoder's sink pad, the payloader's (or the WebSocket appsink's) sink pad and the
/// RTP caps' source pad of the video pipeline; `stamps` (the abs-capture-time extension's) gets
/// each frame's capture time. Returns the capture → encoded age (µs) of the frame now leaving
/// the encoder's branch (set by the probe just before the payloader or appsink sees it;
/// [`NO_AGE`] when unmatched), so the WebSocket transport can stamp each frame with its real
/// capture time: the output PTS of an encoder may be shifted (x264enc) and cannot be compared
/// with the clock.
pub fn install(
    pipeline: &gst::Pipeline,
    metrics: Metrics,
    stamps: Option<CaptureStamps>,
    board: Arc<StageBoard>,
) -> Option<Arc<AtomicU64>> {
    // The WebSocket transport's pipeline ends in its appsink instead of a payloader.
    let pay = pipeline
        .by_name("pay")
        .or_else(|| pipeline.by_name(super::ws_pipeline::SINK));
    let (Some(encoder), Some(pay)) = (pipeline.by_name("encoder"), pay) else {
        tracing::warn!("video pipeline without encoder/pay: no stage timings");
        return None;
    };
    let (Some(enc_sink), Some(pay_sink)) = (encoder.static_pad("sink"), pay.static_pad("sink"))
    else {
        return None;
    };
    board.attach_metrics(metrics.clone());
    let last_age = Arc::new(AtomicU64::new(NO_AGE));
    let age_out = last_age.clone();
    let stages = Arc::new(Mutex::new(Stages::default()));
    let s = stages.clone();
    let m = metrics.clone();
    let b = board.clone();
    enc_sink.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
        let Some(buffer) = info.buffer() else {
            return gst::PadProbeReturn::Ok;
        };
        if let (Some(pts), Some(ms)) = (buffer.pts(), age_ms(pad, buffer)) {
            m.observe_stage(Stage::CaptureToEncoder, ms);
            b.at_encoder(ms);
            lock(&s).pending.entered(pts.nseconds(), Instant::now(), ms);
        }
        gst::PadProbeReturn::Ok
    });
    if let Some(src) = pipeline
        .by_name("rtpcaps")
        .and_then(|f| f.static_pad("src"))
    {
        let s = stages.clone();
        src.add_probe(
            gst::PadProbeType::BUFFER | gst::PadProbeType::BUFFER_LIST,
            move |_, info| {
                let pts = match &info.data {
                    Some(gst::PadProbeData::Buffer(b)) => b.pts(),
                    Some(gst::PadProbeData::BufferList(l)) => l.get(0).and_then(|b| b.pts()),
                    _ => None,
                };
                if let Some(pts) = pts {
                    lock(&s).packet(pts.nseconds(), Instant::now());
                }
                gst::PadProbeReturn::Ok
            },
        );
    }
    pay_sink.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        let Some(pts) = info.buffer().and_then(|b| b.pts()) else {
            return gst::PadProbeReturn::Ok;
        };
        let now = Instant::now();
        let mut st = lock(&stages);
        if let Some(ms) = st.next_frame((pts.nseconds(), now)) {
            metrics.observe_stage(Stage::EncodedToSent, ms);
            board.sent(ms);
        }
        let age = st.pending.left(pts.nseconds(), now);
        if let Some(ms) = age {
            metrics.observe_stage(Stage::CaptureToEncoded, ms);
            if let (Some(stamps), Some(captured)) = (
                &stamps,
                Duration::try_from_secs_f64(ms / 1000.0)
                    .ok()
                    .and_then(|age| SystemTime::now().checked_sub(age)),
            ) {
                stamps.set(pts.nseconds(), captured);
            }
        }
        last_age.store(
            age.map_or(NO_AGE, |ms| (ms * 1000.0) as u64),
            Ordering::Relaxed,
        );
        // Each closed window of the board also sets the host-latency gauge.
        if let Some(w) = board.encoded(age, now)
            && let Some(mean) = w.capture_to_encoded_ms
        {
            metrics.set_host_latency_ms(mean);
            tracing::debug!(
                capture_to_encoder_ms = w.capture_to_encoder_ms,
                capture_to_encoded_ms = mean,
                "video stage timings"
            );
        }
        gst::PadProbeReturn::Ok
    });
    Some(age_out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_match_inputs_across_a_pts_offset_and_drops() {
        let t0 = Instant::now();
        let ms = |n: u64| Duration::from_millis(n);
        let mut p = Pending::default();
        assert_eq!(p.left(5, t0), None);
        p.entered(100, t0, 10.0);
        p.entered(200, t0 + ms(33), 12.0);
        p.entered(300, t0 + ms(66), 11.0);
        // The encoder shifts PTS by 1000 (x264enc: 1000 hours) and held the first frame 5 ms.
        assert_eq!(p.left(1100, t0 + ms(5)), Some(15.0));
        // Frame 200 was dropped inside the encoder: 300 still matches.
        assert_eq!(p.left(1300, t0 + ms(76)), Some(21.0));
        assert_eq!(p.left(1400, t0 + ms(80)), None);
    }

    #[test]
    fn encoded_frames_report_their_capture_age() {
        gst::init().expect("gst init");
        let pipeline = gst::parse::launch(
            "videotestsrc is-live=true num-buffers=40 ! video/x-raw,width=64,height=64,framerate=30/1 \
             ! x264enc name=encoder tune=zerolatency ! rtph264pay name=pay ! capsfilter name=rtpcaps ! fakesink",
        )
        .expect("pipeline")
        .downcast::<gst::Pipeline>()
        .expect("a pipeline");
        let metrics = Metrics::new();
        let board = Arc::new(StageBoard::default());
        install(&pipeline, metrics.clone(), None, board.clone());
        pipeline.set_state(gst::State::Playing).expect("play");
        let bus = pipeline.bus().expect("bus");
        bus.timed_pop_filtered(gst::ClockTime::from_seconds(10), &[gst::MessageType::Eos])
            .expect("eos");
        pipeline.set_state(gst::State::Null).expect("stop");
        // 40 frames at 30 fps span more than the 1 s report interval: the gauge is set, to an
        // age that is positive and far below the 1000-hour offset x264enc puts on its output.
        let text = metrics.render();
        let line = text
            .lines()
            .find(|l| l.starts_with("selkies_host_latency_ms "))
            .unwrap_or_else(|| panic!("no host latency in:\n{text}"));
        let v: f64 = line
            .split(' ')
            .nth(1)
            .and_then(|v| v.parse().ok())
            .expect("value");
        assert!((0.0..5000.0).contains(&v), "{line}");
        // Every frame went into the stage histograms, including its hand-over to webrtcbin
        // (here the fakesink after the RTP caps); the last frame has no successor.
        let count = |stage: &str| -> f64 {
            let prefix = format!("selkies_video_stage_ms_count{{stage=\"{stage}\"}} ");
            text.lines()
                .find_map(|l| l.strip_prefix(prefix.as_str()))
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("no {stage} count in:\n{text}"))
        };
        assert!(count("capture_to_encoder") >= 39.0, "{text}");
        assert!(count("capture_to_encoded") >= 39.0, "{text}");
        assert!(count("encoded_to_sent") >= 38.0, "{text}");
        // The same times reached the board the clients' `video_stages` come from.
        let (_, stages) = board.latest().expect("a 1 s window closed");
        assert!(stages.frames > 0, "{stages:?}");
        let encoded = stages.capture_to_encoded_ms.expect("capture → encoded");
        assert!((0.0..5000.0).contains(&encoded), "{stages:?}");
        assert!(stages.capture_to_encoder_ms.is_some(), "{stages:?}");
        assert!(stages.encoded_to_sent_ms.is_some(), "{stages:?}");
        // Only the capture thread knows when a change was reported; videotestsrc has none.
        assert_eq!(stages.change_to_capture_ms, None);
    }

    #[test]
    fn encoded_to_sent_ends_at_the_last_packet() {
        let t0 = Instant::now();
        let ms = |n: u64| Duration::from_millis(n);
        let mut st = Stages::default();
        assert_eq!(st.next_frame((100, t0)), None);
        st.packet(100, t0 + ms(1));
        st.packet(100, t0 + ms(3));
        st.packet(99, t0 + ms(9)); // a late packet of another frame does not count
        assert_eq!(st.next_frame((200, t0 + ms(33))), Some(3.0));
        // A frame without packets (dropped downstream of the payloader) has no time.
        assert_eq!(st.next_frame((300, t0 + ms(66))), None);
    }
}
