//! One encode, many peers. The owner's pipelines (built by `peer.rs` for the legacy browser)
//! are tapped after their payloaders: a pad probe on each `rtpcaps` capsfilter's src pad hands
//! every RTP buffer (or buffer list) to each member's `appsrc`. Each member has its own small
//! pipeline — two `appsrc`s into one `webrtcbin` — so its DTLS/SRTP, ICE, congestion and
//! retransmissions are its own while capture and encoding happen once.
//!
//! A slow member never stalls the others: its `appsrc` never blocks the probe (`block=false`)
//! and keeps at most [`VIDEO_QUEUE_BUFFERS`] packets, dropping the oldest when full
//! (`leaky-type=downstream`); its browser then sees loss and asks for a keyframe. Keyframe
//! requests of all members go through one [`KeyframeGate`]: at most one forced keyframe per
//! [`selkies_proto::sharing::keyframes::DEFAULT_INTERVAL`]. Every member gets the owner's
//! bitrate: one encode has one rate (docs/sharing.md).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_webrtc as gst_webrtc;
use selkies_proto::sharing::KeyframeGate;
use selkies_proto::sharing::keyframes::DEFAULT_INTERVAL;
use tracing::{debug, info};

use crate::media::catalogue::Codec;
use crate::media::pipeline::{AudioPipeline, MediaError, VideoPipeline};
use crate::sync::lock;

/// Per-member queue depth for video, in RTP packets (about 0.5 s at 8 Mbit/s).
pub const VIDEO_QUEUE_BUFFERS: u32 = 400;
/// Per-member queue depth for audio, in RTP packets (10 ms each: 0.5 s).
pub const AUDIO_QUEUE_BUFFERS: u32 = 50;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Media {
    Video,
    Audio,
}

/// One media kind's tap: the members' appsrcs and the caps of the owner's stream.
#[derive(Default)]
struct Tap {
    sinks: Mutex<Vec<(u64, gst::Element)>>,
    caps: Mutex<Option<gst::Caps>>,
    /// Identifies the tapped pipeline, so a stale probe stops on its own.
    generation: AtomicU64,
}

impl Tap {
    fn push(&self, buf: gst::Buffer) {
        let sinks = lock(&self.sinks);
        if sinks.is_empty() {
            return;
        }
        // The members' pipelines stamp arrival time (do-timestamp): the owner pipeline's
        // running time means nothing in theirs. The copy shares the payload memory.
        let mut b = buf.copy();
        {
            let b = b.make_mut();
            b.set_pts(gst::ClockTime::NONE);
            b.set_dts(gst::ClockTime::NONE);
        }
        for (_, src) in sinks.iter() {
            let _ = src.emit_by_name::<gst::FlowReturn>("push-buffer", &[&b]);
        }
    }
}

/// The taps on the owner's pipelines and the keyframe gate.
pub struct Fanout {
    video: Tap,
    audio: Tap,
    /// The owner's video payloader, where forced keyframe requests are sent.
    payloader: Mutex<Option<gst::Element>>,
    /// The codec of the owner's video session.
    codec: Mutex<Option<Codec>>,
    gate: Mutex<KeyframeGate>,
    forced: AtomicU64,
    requested: AtomicU64,
    next_id: AtomicU64,
}

impl Fanout {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            video: Tap::default(),
            audio: Tap::default(),
            payloader: Mutex::new(None),
            codec: Mutex::new(None),
            gate: Mutex::new(KeyframeGate::new(DEFAULT_INTERVAL)),
            forced: AtomicU64::new(0),
            requested: AtomicU64::new(0),
            next_id: AtomicU64::new(1),
        })
    }

    fn tap(&self, m: Media) -> &Tap {
        match m {
            Media::Video => &self.video,
            Media::Audio => &self.audio,
        }
    }

    /// Taps a freshly built owner video pipeline.
    pub fn attach_video(self: &Arc<Self>, video: &VideoPipeline) {
        *lock(&self.payloader) = video.pipeline.by_name("pay");
        *lock(&self.codec) = Some(video.chosen.spec.codec());
        self.attach(Media::Video, &video.pipeline);
    }

    /// Taps a freshly built owner audio pipeline.
    pub fn attach_audio(self: &Arc<Self>, audio: &AudioPipeline) {
        self.attach(Media::Audio, &audio.pipeline);
    }

    fn attach(self: &Arc<Self>, m: Media, pipeline: &gst::Pipeline) {
        let Some(pad) = pipeline
            .by_name("rtpcaps")
            .and_then(|c| c.static_pad("src"))
        else {
            return;
        };
        let tap = self.tap(m);
        let generation = tap.generation.fetch_add(1, Ordering::SeqCst) + 1;
        *lock(&tap.caps) = None;
        let weak = Arc::downgrade(self);
        pad.add_probe(
            gst::PadProbeType::BUFFER | gst::PadProbeType::BUFFER_LIST,
            move |pad, info| {
                let Some(me) = weak.upgrade() else {
                    return gst::PadProbeReturn::Remove;
                };
                let tap = me.tap(m);
                if tap.generation.load(Ordering::SeqCst) != generation {
                    return gst::PadProbeReturn::Remove;
                }
                if lock(&tap.caps).is_none() {
                    *lock(&tap.caps) = pad.current_caps();
                }
                match &info.data {
                    Some(gst::PadProbeData::Buffer(b)) => tap.push(b.clone()),
                    Some(gst::PadProbeData::BufferList(l)) => {
                        for b in l.iter_owned() {
                            tap.push(b);
                        }
                    }
                    _ => {}
                }
                gst::PadProbeReturn::Ok
            },
        );
        debug!(?m, "sharing: owner pipeline tapped");
    }

    /// The owner's pipelines are gone: stop the probes and forget their caps.
    pub fn detach(&self) {
        for m in [Media::Video, Media::Audio] {
            let tap = self.tap(m);
            tap.generation.fetch_add(1, Ordering::SeqCst);
            *lock(&tap.caps) = None;
        }
        *lock(&self.payloader) = None;
        *lock(&self.codec) = None;
    }

    /// The codec of the owner's video session, while it runs.
    pub fn codec(&self) -> Option<Codec> {
        *lock(&self.codec)
    }

    /// Whether the owner's stream runs (its caps are known): members can be served.
    pub fn streaming(&self) -> bool {
        lock(&self.video.caps).is_some()
    }

    fn caps(&self, m: Media) -> Option<gst::Caps> {
        lock(&self.tap(m).caps).clone()
    }

    /// A member asked for a keyframe: forward it if the gate allows.
    fn request_keyframe(&self) {
        self.requested.fetch_add(1, Ordering::Relaxed);
        if lock(&self.gate).request(Instant::now()) {
            self.force_keyframe();
        }
    }

    /// Serves a remembered request once its interval is over (called every 100 ms).
    pub fn poll_keyframes(&self) {
        if lock(&self.gate).poll(Instant::now()) {
            self.force_keyframe();
        }
    }

    fn force_keyframe(&self) {
        let Some(pay) = lock(&self.payloader).clone() else {
            return;
        };
        let Some(pad) = pay.static_pad("src") else {
            return;
        };
        // Sent into the payloader's src pad it travels upstream to the encoder, exactly as
        // the owner's own webrtcbin asks.
        pad.send_event(crate::media::first_frame::keyframe_request());
        self.forced.fetch_add(1, Ordering::Relaxed);
    }

    pub fn keyframe_stats(&self) -> serde_json::Value {
        serde_json::json!({
            "requested": self.requested.load(Ordering::Relaxed),
            "forced": self.forced.load(Ordering::Relaxed),
            "coalesced": lock(&self.gate).coalesced(),
        })
    }

    /// Builds a member's pipeline (not started) and registers its appsrcs with the taps.
    pub fn build_member(self: &Arc<Self>) -> Result<MemberMedia, MediaError> {
        let video_caps = self.caps(Media::Video).ok_or(MediaError::MissingElement(
            "the owner's video stream (nobody streams the desktop)",
        ))?;
        let audio_caps = self.caps(Media::Audio);
        let pipeline = gst::Pipeline::new();
        let webrtc = gst::ElementFactory::make("webrtcbin")
            .name("webrtc")
            .property_from_str("bundle-policy", "max-bundle")
            .property("latency", 0u32)
            .build()
            .map_err(|_| MediaError::MissingElement("webrtcbin"))?;
        pipeline
            .add(&webrtc)
            .map_err(|_| MediaError::MissingElement("webrtcbin"))?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut srcs = Vec::new();
        for (m, caps, depth) in [
            (Media::Video, Some(video_caps), VIDEO_QUEUE_BUFFERS),
            (Media::Audio, audio_caps, AUDIO_QUEUE_BUFFERS),
        ] {
            let Some(caps) = caps else { continue };
            let src = member_src(&caps, depth)?;
            pipeline
                .add(&src)
                .map_err(|_| MediaError::MissingElement("appsrc"))?;
            let sink = webrtc
                .request_pad_simple("sink_%u")
                .ok_or(MediaError::MissingElement("webrtcbin sink pad"))?;
            src.static_pad("src")
                .ok_or(MediaError::MissingElement("appsrc src pad"))
                .and_then(|p| {
                    p.link(&sink)
                        .map(|_| ())
                        .map_err(|_| MediaError::MissingElement("appsrc ! webrtcbin link"))
                })?;
            if let Some(t) =
                sink.property::<Option<gst_webrtc::WebRTCRTPTransceiver>>("transceiver")
            {
                t.set_codec_preferences(Some(&caps));
            }
            if m == Media::Video {
                self.watch_keyframe_requests(&src);
            }
            srcs.push((m, src));
        }
        Ok(MemberMedia {
            id,
            pipeline,
            webrtc,
            srcs,
            fanout: Arc::downgrade(self),
        })
    }

    /// The member's webrtcbin asks upstream for keyframes (PLI/FIR): catch them at its appsrc.
    fn watch_keyframe_requests(self: &Arc<Self>, src: &gst::Element) {
        let Some(pad) = src.static_pad("src") else {
            return;
        };
        let weak = Arc::downgrade(self);
        pad.add_probe(gst::PadProbeType::EVENT_UPSTREAM, move |_, info| {
            let is_fku = match &info.data {
                Some(gst::PadProbeData::Event(ev)) => {
                    ev.type_() == gst::EventType::CustomUpstream
                        && ev
                            .structure()
                            .is_some_and(|s| s.name() == "GstForceKeyUnit")
                }
                _ => false,
            };
            if is_fku && let Some(me) = weak.upgrade() {
                me.request_keyframe();
            }
            // The event goes on to the appsrc, which ignores it. (Dropping it here made
            // GStreamer 1.22 unref a NULL event: a CRITICAL per request.)
            gst::PadProbeReturn::Ok
        });
    }
}

fn member_src(caps: &gst::Caps, depth: u32) -> Result<gst::Element, MediaError> {
    let src = gst::ElementFactory::make("appsrc")
        .property("caps", caps)
        .property("is-live", true)
        .property("do-timestamp", true)
        .property("block", false)
        .property("max-bytes", 0u64)
        .property_from_str("format", "time")
        .build()
        .map_err(|_| MediaError::MissingElement("appsrc"))?;
    src.set_property("max-buffers", u64::from(depth));
    src.set_property_from_str("leaky-type", "downstream");
    Ok(src)
}

/// A member's pipeline: its appsrcs are fed by the taps while it is registered.
pub struct MemberMedia {
    id: u64,
    pub pipeline: gst::Pipeline,
    pub webrtc: gst::Element,
    srcs: Vec<(Media, gst::Element)>,
    fanout: std::sync::Weak<Fanout>,
}

impl MemberMedia {
    /// Starts feeding this member (after its pipeline is PLAYING).
    pub fn connect(&self) {
        let Some(f) = self.fanout.upgrade() else {
            return;
        };
        for (m, src) in &self.srcs {
            lock(&f.tap(*m).sinks).push((self.id, src.clone()));
        }
        info!(
            member = self.id,
            "sharing: member fed from the owner's stream"
        );
        f.request_keyframe();
    }
}

impl Drop for MemberMedia {
    fn drop(&mut self) {
        if let Some(f) = self.fanout.upgrade() {
            for m in [Media::Video, Media::Audio] {
                lock(&f.tap(m).sinks).retain(|(id, _)| *id != self.id);
            }
        }
    }
}
