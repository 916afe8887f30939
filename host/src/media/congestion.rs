//! `--congestion_control` on the video connection (docs/protocol.md §5.8): transport-wide
//! congestion control negotiated in the offer, Google Congestion Control estimating the path
//! with `rtpgccbwe` (gst-plugins-rs, shipped in the bundle), and each estimate turned into the
//! encoder's bitrate and the capture frame rate in place by the policy of [`super::abr`].
//!
//! - The payloader writes the transport-wide sequence number (`rtphdrexttwcc`) on every packet;
//!   the RTP caps announce it (`extmap-N`) and ask for `transport-cc` feedback, so both reach
//!   the offer through the transceiver's codec preferences.
//! - webrtcbin asks for an auxiliary sender per transport (`request-aux-sender`); `rtpgccbwe` is
//!   that element: it reads the browser's TWCC feedback, paces the packets and publishes its
//!   estimate in `estimated-bitrate`.
//! - Each estimate goes through the policy with the frames a second the capture really produced
//!   (a static screen yields few; the policy then keeps the picture sharp).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_rtp::prelude::*;
use selkies_telemetry::Metrics;
use tracing::{debug, info, warn};

use super::abr::{Decision, Limits, Policy};
use super::pipeline::VideoPipeline;
use super::rates::RateParams;
use crate::sync::lock;

/// The transport-wide-cc header extension's URI (`a=extmap`).
pub const TWCC_URI: &str =
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
/// The lowest extmap id this module takes: the one reserved for it in `extmap.rs`, above the
/// playout-delay and capture-time ids, so none can collide whichever is installed first.
pub const MIN_EXTMAP_ID: u32 = super::extmap::TRANSPORT_CC;
/// Shortest window over which the encoded frame rate is measured.
const SENT_WINDOW_MS: u128 = 1000;

/// The configured bitrate and frame rate, read again at each estimate so a user's `vb` or
/// frame-rate change moves the ceiling.
pub type Configured = Arc<dyn Fn() -> RateParams + Send + Sync>;

/// The lowest extmap id from `first` up that no `extmap-N` field of `caps` uses and that is above
/// every id in use (ids are allocated in order, never reused within one offer).
pub fn next_extmap_id(caps: &gst::CapsRef, first: u32) -> u32 {
    let used = caps
        .iter()
        .flat_map(|s| s.fields().collect::<Vec<_>>())
        .filter_map(|f| f.as_str().strip_prefix("extmap-")?.parse::<u32>().ok())
        .max()
        .unwrap_or(0);
    (used + 1).max(first)
}

/// Whether this GStreamer installation has what congestion control needs.
pub fn available() -> Result<(), String> {
    for name in ["rtpgccbwe", "rtphdrexttwcc"] {
        if gst::ElementFactory::find(name).is_none() {
            return Err(format!("the {name} element is not installed"));
        }
    }
    Ok(())
}

/// Sets up congestion control on a built (not yet started) video pipeline. Call before the
/// session starts, after every other header extension was announced. Without the elements it
/// logs why and leaves the pipeline as it was.
pub fn install(video: &VideoPipeline, configured: Configured, metrics: Metrics) {
    if let Err(why) = available() {
        warn!("--congestion_control: {why}; the bitrate stays fixed");
        return;
    }
    let (Some(pay), Some(filter)) = (
        video.pipeline.by_name("pay"),
        video.pipeline.by_name("rtpcaps"),
    ) else {
        warn!("--congestion_control: video pipeline without pay/rtpcaps; the bitrate stays fixed");
        return;
    };
    let ext = gst::ElementFactory::make("rtphdrexttwcc")
        .build()
        .ok()
        .and_then(|e| e.downcast::<gstreamer_rtp::RTPHeaderExtension>().ok());
    let (Some(mut caps), Some(ext)) = (filter.property::<Option<gst::Caps>>("caps"), ext) else {
        warn!("--congestion_control: no RTP caps or no TWCC extension; the bitrate stays fixed");
        return;
    };
    // emit_by_name panics on a signal the element lacks (a payloader not built on
    // RTPBasePayload).
    if gst::glib::subclass::SignalId::lookup("add-extension", pay.type_()).is_none() {
        warn!(
            payloader = %pay.factory().map(|f| f.name().to_string()).unwrap_or_default(),
            "--congestion_control: the payloader takes no header extension; the bitrate stays fixed"
        );
        return;
    }
    let id = next_extmap_id(&caps, MIN_EXTMAP_ID);
    ext.set_id(id);
    pay.emit_by_name::<()>("add-extension", &[&ext]);
    {
        let s = caps.make_mut();
        s.set(format!("extmap-{id}").as_str(), TWCC_URI);
        s.set("rtcp-fb-transport-cc", true);
    }
    filter.set_property("caps", &caps);

    // Captured frames after the idle gate: a static screen yields few, whatever their size.
    // Counted at the source, not the encoder, so frames a starved CPU drops before the encoder
    // (the leaky queue) do not look like a still screen.
    let frames = Arc::new(AtomicU64::new(0));
    if let Some(src) = video.source.static_pad("src") {
        let frames = frames.clone();
        src.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
            frames.fetch_add(1, Ordering::Relaxed);
            gst::PadProbeReturn::Ok
        });
    }
    let adapter = Arc::new(Adapter::new(video, configured, metrics, frames));
    video
        .webrtc
        .connect("request-aux-sender", false, move |_args| {
            // The signal returns an element: without one, a NULL object (never no value, which
            // glib would treat as a panic inside a C callback).
            let bwe = make_estimator(&adapter);
            if let Some(bwe) = &bwe {
                let a = adapter.clone();
                bwe.connect_notify(Some("estimated-bitrate"), move |bwe, _| {
                    let bps: u32 = bwe.property("estimated-bitrate");
                    a.on_estimate(bps);
                });
            }
            Some(bwe.to_value())
        });
    info!(
        extmap = id,
        "congestion control: TWCC feedback and rtpgccbwe on the video connection"
    );
}

/// The estimator, bounded by the policy's floor and the configured ceiling (plus the headroom
/// the policy leaves, so the encoder can reach the ceiling). It starts at the estimate that
/// gives the encoder exactly the configured bitrate: starting at the bitrate itself made the
/// policy's headroom lower the encoder by 10 % at the first estimate, on a clear path.
fn make_estimator(a: &Adapter) -> Option<gst::Element> {
    let limits = lock(&a.policy).limits();
    let kbit = |k: u32| k.saturating_mul(1000);
    let headroomed = f64::from(limits.max_kbps) / super::abr::HEADROOM;
    let max = kbit((headroomed * 1.1) as u32);
    match gst::ElementFactory::make("rtpgccbwe")
        .property("min-bitrate", kbit(limits.min_kbps()))
        .property("max-bitrate", max.max(1))
        .property("estimated-bitrate", kbit(headroomed.ceil() as u32).max(1))
        .build()
    {
        Ok(e) => Some(e),
        Err(e) => {
            warn!("--congestion_control: rtpgccbwe: {e}");
            None
        }
    }
}

/// The video pipeline's handles without strong references to the pipeline and its webrtcbin:
/// the adapter lives in webrtcbin's signal handlers, so strong ones would keep the whole pipeline
/// alive after the session. Elements do not hold their parent, so the others are safe.
struct Handles {
    pipeline: gst::glib::WeakRef<gst::Pipeline>,
    webrtc: gst::glib::WeakRef<gst::Element>,
    source: gst::Element,
    capture: Option<super::xcapture::CaptureHandle>,
    pointer_drawn: Arc<std::sync::atomic::AtomicBool>,
    fps_caps: gst::Element,
    encoder: gst::Element,
    chosen: super::pipeline::ChosenEncoder,
    stages: Arc<super::video_stages::StageBoard>,
}

impl Handles {
    fn new(v: &VideoPipeline) -> Self {
        Self {
            pipeline: v.pipeline.downgrade(),
            webrtc: v.webrtc.downgrade(),
            source: v.source.clone(),
            capture: v.capture.clone(),
            pointer_drawn: v.pointer_drawn.clone(),
            fps_caps: v.fps_caps.clone(),
            encoder: v.encoder.clone(),
            chosen: v.chosen.clone(),
            stages: v.stages.clone(),
        }
    }

    /// The pipeline's handles (for its `vb` and frame-rate setters) while it lives.
    fn get(&self) -> Option<VideoPipeline> {
        Some(VideoPipeline {
            pipeline: self.pipeline.upgrade()?,
            webrtc: self.webrtc.upgrade()?,
            source: self.source.clone(),
            capture: self.capture.clone(),
            pointer_drawn: self.pointer_drawn.clone(),
            fps_caps: self.fps_caps.clone(),
            encoder: self.encoder.clone(),
            chosen: self.chosen.clone(),
            stages: self.stages.clone(),
        })
    }
}

/// Applies the policy's decisions to one video pipeline.
struct Adapter {
    video: Handles,
    configured: Configured,
    metrics: Metrics,
    policy: Mutex<Policy>,
    frames: Arc<AtomicU64>,
    /// Start of the current frame-rate window, the frame count then, and the last rate measured.
    window: Mutex<(Instant, u64, Option<f64>)>,
    started: Instant,
}

fn limits_of(r: &RateParams) -> Limits {
    Limits {
        max_kbps: r.video_kbps.max(1),
        max_fps: r.framerate.max(1),
    }
}

impl Adapter {
    fn new(
        video: &VideoPipeline,
        configured: Configured,
        metrics: Metrics,
        frames: Arc<AtomicU64>,
    ) -> Self {
        let limits = limits_of(&configured());
        // A new session starts at the configured values; /metrics must not show the last one's.
        metrics.set_video_bitrate_kbps(limits.max_kbps);
        metrics.set_framerate(limits.max_fps);
        let policy = Mutex::new(Policy::new(limits));
        Self {
            video: Handles::new(video),
            configured,
            metrics,
            policy,
            frames,
            window: Mutex::new((Instant::now(), 0, None)),
            started: Instant::now(),
        }
    }

    /// Frames a second the capture produced over the last completed window.
    fn sent_fps(&self) -> Option<f64> {
        let mut w = lock(&self.window);
        let now = Instant::now();
        let elapsed = now.duration_since(w.0);
        if elapsed.as_millis() >= SENT_WINDOW_MS {
            let n = self.frames.load(Ordering::Relaxed);
            let fps = n.saturating_sub(w.1) as f64 / elapsed.as_secs_f64();
            *w = (now, n, Some(fps));
        }
        w.2
    }

    fn on_estimate(&self, bps: u32) {
        let base = (self.configured)();
        let sent = self.sent_fps();
        let now_ms = self.started.elapsed().as_millis() as u64;
        // A user's `vb` or frame-rate change set the encoder and capture directly: the policy's
        // values are then applied in full, whatever changed.
        let (before, decision) = {
            let mut p = lock(&self.policy);
            let before = p.current();
            let refit = p.set_limits(limits_of(&base));
            let before = if refit.is_some() { None } else { Some(before) };
            (
                before,
                p.on_estimate(now_ms, u64::from(bps), sent).or(refit),
            )
        };
        debug!(estimate_bps = bps, sent_fps = ?sent, "congestion estimate");
        if let Some(d) = decision {
            self.apply(&base, before, d);
        }
    }

    /// Puts `d` in force; `before` is what is in force now (None: unknown, set everything).
    fn apply(&self, base: &RateParams, before: Option<Decision>, d: Decision) {
        let Some(video) = self.video.get() else {
            return;
        };
        let rates = RateParams {
            video_kbps: d.kbps,
            framerate: d.fps,
            ..*base
        };
        if before.is_none_or(|b| b.fps != d.fps) {
            video.set_framerate(&rates);
        }
        let kbps = video.set_bitrate(d.kbps, |k| RateParams {
            video_kbps: k,
            ..rates
        });
        self.metrics.set_video_bitrate_kbps(kbps);
        self.metrics.set_framerate(d.fps);
        info!(
            kbps,
            fps = d.fps,
            "congestion control: video bitrate and frame rate"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extmap_ids_are_allocated_above_those_in_use() {
        gst::init().expect("gst init");
        let mut caps = gst::Caps::builder("application/x-rtp").build();
        assert_eq!(next_extmap_id(&caps, MIN_EXTMAP_ID), 3);
        caps.make_mut()
            .set("extmap-1", super::super::playout_delay::URI);
        assert_eq!(next_extmap_id(&caps, MIN_EXTMAP_ID), 3);
        caps.make_mut().set("extmap-4", "urn:example");
        assert_eq!(next_extmap_id(&caps, MIN_EXTMAP_ID), 5);
        // Not an id: ignored.
        caps.make_mut().set("extmap-x", "urn:example");
        assert_eq!(next_extmap_id(&caps, 1), 5);
    }
}
