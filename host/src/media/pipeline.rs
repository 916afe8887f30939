//! Building the two host pipelines (docs/protocol.md §5): the video pipeline (screen source of
//! `xcapture.rs` → convert → encoder → payloader → webrtcbin) and the audio pipeline (pulsesrc → opusenc → payloader →
//! webrtcbin), each with its own webrtcbin, plus choosing a usable encoder from the registry.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use gstreamer as gst;
use gstreamer::prelude::*;
use tracing::{info, warn};

use super::audio_source;
use super::catalogue::{self, Codec, CodecMedia, EncoderSpec, Upload};
use super::props;
use super::rates::RateParams;
use super::video_stages::StageBoard;
use super::xcapture::{CaptureHandle, VideoSource};
use selkies_proto::config::CaptureMode;
use selkies_proto::encoder::Encoder;
use selkies_proto::encoder::registry::{fallback_order, va_device_prefix};
use selkies_x11::damage::DamageWatch;

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("no usable video encoder: {0}")]
    NoEncoder(String),
    #[error("building the {what} pipeline failed: {source}")]
    Build {
        what: &'static str,
        #[source]
        source: glib::Error,
    },
    #[error("pipeline element '{0}' is missing")]
    MissingElement(&'static str),
    #[error("screen capture: {0}")]
    Capture(String),
}

use gstreamer::glib;

/// The encoder that will actually run: its registry entry and the element factory chosen.
#[derive(Debug, Clone)]
pub struct ChosenEncoder {
    pub spec: &'static EncoderSpec,
    pub factory: String,
}

/// Pick the requested encoder, or fall down the registry's order with a log line saying why.
pub fn choose_encoder(requested: Encoder, gpu_id: u32) -> Result<ChosenEncoder, MediaError> {
    choose_encoder_accepting(requested, gpu_id, |_| true)
}

/// [`choose_encoder`] among the encoders whose codec `accept`s (what the browser decodes).
pub fn choose_encoder_accepting(
    requested: Encoder,
    gpu_id: u32,
    accept: impl Fn(Codec) -> bool,
) -> Result<ChosenEncoder, MediaError> {
    super::x264::ensure_registered();
    let mut reasons = Vec::new();
    for spec in fallback_order(requested).into_iter().map(Encoder::spec) {
        if !accept(spec.codec()) {
            let reason = format!(
                "the browser does not decode {}",
                spec.codec().encoding_name()
            );
            if !reasons.contains(&reason) {
                reasons.push(reason);
            }
            continue;
        }
        let missing: Vec<&str> = spec
            .companions()
            .iter()
            .copied()
            .filter(|e| gst::ElementFactory::find(e).is_none())
            .collect();
        let factory = spec
            .element_candidates(gpu_id)
            .into_iter()
            .find(|e| gst::ElementFactory::find(e).is_some());
        match factory {
            Some(factory) if missing.is_empty() => {
                if spec.encoder != requested {
                    warn!(
                        requested = requested.as_str(),
                        chosen = spec.name(),
                        "encoder fallback: {}; using {}",
                        reasons.join("; "),
                        spec.name()
                    );
                }
                return Ok(ChosenEncoder { spec, factory });
            }
            Some(_) => reasons.push(format!(
                "{} needs element(s) {} which are not installed",
                spec.name(),
                missing.join(", ")
            )),
            None => reasons.push(format!(
                "{} has no element ({} not found)",
                spec.name(),
                spec.elements.join("/")
            )),
        }
    }
    Err(MediaError::NoEncoder(reasons.join("; ")))
}

/// Set a property from its text form if the element has it, within the property's range
/// ([`props::set`]).
pub fn set_prop(element: &gst::Element, name: &str, text: &str) {
    props::set(element, name, text);
}

/// Apply the registry properties selected by `filter` to the encoder.
pub fn apply_encoder_props(
    encoder: &gst::Element,
    spec: &EncoderSpec,
    rates: &RateParams,
    filter: impl Fn(catalogue::Value) -> bool,
) {
    for (name, value) in spec.props.iter().filter(|(_, v)| filter(*v)) {
        set_prop(encoder, name, &rates.render(*value));
    }
}

impl ChosenEncoder {
    /// The video bitrates (kbit/s) every bitrate property of this encoder accepts, from the
    /// element's param specs; `(1, u32::MAX)` when no property says.
    pub fn kbps_range(&self) -> (u32, u32) {
        let mut lo = 1u32;
        let mut hi = u32::MAX;
        for (name, value) in self.spec.props {
            let Some(per_kbps) = value.bits_per_kbit() else {
                continue;
            };
            if let Some((min, max)) = props::factory_range(&self.factory, name) {
                lo = lo.max((min / per_kbps).ceil().clamp(1.0, f64::from(u32::MAX)) as u32);
                hi = hi.min((max / per_kbps).floor().clamp(1.0, f64::from(u32::MAX)) as u32);
            }
        }
        (lo, hi.max(lo))
    }

    /// `kbps` fitted to [`Self::kbps_range`]; the caller reports a change (a client's value
    /// through its rate-limited log, a flag's value once).
    pub fn clamp_kbps(&self, kbps: u32) -> u32 {
        let (lo, hi) = self.kbps_range();
        kbps.clamp(lo, hi)
    }

    /// `kbps` fitted to [`Self::kbps_range`], with a log line when it had to change.
    pub fn fit_kbps(&self, kbps: u32, origin: &str) -> u32 {
        let (lo, hi) = self.kbps_range();
        let fitted = kbps.clamp(lo, hi);
        if fitted != kbps {
            warn!(
                encoder = self.spec.name(),
                asked = kbps,
                set = fitted,
                "{origin}: video bitrate outside what the encoder accepts ({lo}-{hi} kbit/s); clamped"
            );
        }
        fitted
    }
}

/// Load what the first session would otherwise load while the user waits: plugin libraries
/// (encoder, capture, ICE, DTLS, SRTP, SCTP, Opus) and the process-wide DTLS certificate, which
/// GStreamer generates when the first DTLS element is created. Runs once at start-up, off the
/// async runtime.
pub fn warm_up(chosen: &ChosenEncoder) {
    let started = std::time::Instant::now();
    let names = [
        chosen.factory.as_str(),
        "webrtcbin",
        "dtlsdec",
        "dtlsenc",
        "srtpenc",
        "sctpenc",
        "nicesrc",
        "ximagesrc",
        "videoconvert",
        "opusenc",
        "rtpopuspay",
        "pulsesrc",
    ];
    for name in names {
        if let Ok(el) = gst::ElementFactory::make(name).build() {
            drop(el);
        }
    }
    tracing::debug!(
        ms = started.elapsed().as_millis() as u64,
        "media warm-up done"
    );
}

/// Handles to the elements a running video session changes at run time.
#[derive(Debug, Clone)]
pub struct VideoPipeline {
    pub pipeline: gst::Pipeline,
    pub webrtc: gst::Element,
    pub source: gst::Element,
    /// The damage-driven capture feeding `source` (an appsrc); None with ximagesrc.
    pub capture: Option<CaptureHandle>,
    /// True while ximagesrc draws the pointer: frames then change without X damage, so the
    /// idle gate must let every frame through.
    pub pointer_drawn: Arc<AtomicBool>,
    pub fps_caps: gst::Element,
    pub encoder: gst::Element,
    pub chosen: ChosenEncoder,
    /// The host's measured stage times, for clients that ask (`video_stages`).
    pub stages: Arc<StageBoard>,
}

pub(super) fn upload_chain(upload: Upload, gpu_id: u32, threads: u32) -> String {
    match upload {
        Upload::System(format) => format!(
            "videoconvert name=convert n-threads={threads} qos=true ! video/x-raw,format={format}"
        ),
        Upload::Cuda => format!(
            "cudaupload cuda-device-id={gpu_id} ! cudaconvert qos=true ! \
             video/x-raw(memory:CUDAMemory),format=NV12"
        ),
        Upload::Va => {
            let post = if gpu_id > 0 {
                format!("{}postproc", va_device_prefix(gpu_id))
            } else {
                "vapostproc".to_string()
            };
            format!("{post} scale-method=fast qos=true ! video/x-raw(memory:VAMemory),format=NV12")
        }
    }
}

pub(super) fn by_name(bin: &gst::Pipeline, name: &'static str) -> Result<gst::Element, MediaError> {
    bin.by_name(name).ok_or(MediaError::MissingElement(name))
}

/// Parses a launch description into a pipeline; `what` names it in the error.
pub(super) fn launch(what: &'static str, desc: &str) -> Result<gst::Pipeline, MediaError> {
    gst::parse::launch(desc)
        .map_err(|source| MediaError::Build { what, source })?
        .downcast::<gst::Pipeline>()
        .map_err(|_| MediaError::MissingElement("pipeline"))
}

/// Starts the screen capture of a parsed video pipeline, sets up the encoder and names the
/// element the encoded stream leaves through (`out`: webrtcbin, or the WebSocket appsink).
/// Shared by both transports so they capture and encode alike.
pub(super) fn finish_video(
    pipeline: gst::Pipeline,
    out: &'static str,
    video_source: VideoSource,
    display: Option<&str>,
    damage: Option<&DamageWatch>,
    chosen: &ChosenEncoder,
    rates: &RateParams,
) -> Result<VideoPipeline, MediaError> {
    let source = by_name(&pipeline, "x11")?;
    let capture = video_source.start(&source, display, rates.framerate.max(1))?;
    let pointer_drawn = Arc::new(AtomicBool::new(false));
    let encoder = by_name(&pipeline, "encoder")?;
    apply_encoder_props(&encoder, chosen.spec, rates, |_| true);
    // A keyframe request must meet a frame to turn into a keyframe, even on a static screen.
    if let Some(capture) = &capture {
        capture.follow_keyframe_requests(&encoder);
        if let Some(own) = encoder.downcast_ref::<super::x264::SelkiesX264Enc>() {
            own.follow_damage(capture.damage_log());
        }
    } else {
        if let Some(display) = display {
            source.set_property("display-name", display);
        }
        if let Some(damage) = damage {
            let wanted = Arc::new(AtomicBool::new(false));
            super::idle::install(
                &source,
                damage.clone(),
                pointer_drawn.clone(),
                wanted.clone(),
            );
            super::first_frame::on_keyframe_request(&encoder, move || {
                wanted.store(true, Ordering::Relaxed);
            });
        }
    }
    info!(
        encoder = chosen.spec.name(),
        element = %chosen.factory,
        kbps = rates.effective_kbps(),
        fps = rates.framerate,
        out,
        "video pipeline built"
    );
    Ok(VideoPipeline {
        webrtc: by_name(&pipeline, out)?,
        source,
        pointer_drawn,
        fps_caps: by_name(&pipeline, "fpscaps")?,
        encoder,
        chosen: chosen.clone(),
        // The capture reports each change's wait to its own board; ximagesrc has none.
        stages: capture
            .as_ref()
            .map_or_else(Arc::default, CaptureHandle::stages),
        capture,
        pipeline,
    })
}

/// The PulseAudio monitor source when the server answers, else generated silence (so video
/// still streams); the flag says which.
pub(super) fn pulse_or_silence() -> (String, bool) {
    match audio_source::pulse_available() {
        Ok(()) => (audio_source::pulse_source(), true),
        Err(why) => {
            warn!("audio: {why}; sending silence so video still streams");
            (audio_source::silence_source(), false)
        }
    }
}

/// Installs the silence gate on `opusenc` and names the element the packets leave through.
pub(super) fn finish_audio(
    pipeline: gst::Pipeline,
    out: &'static str,
    live: bool,
    silence_ms: u32,
) -> Result<AudioPipeline, MediaError> {
    let opusenc = by_name(&pipeline, "opusenc")?;
    let gate = super::silence_gate::install(&opusenc, silence_ms);
    Ok(AudioPipeline {
        webrtc: by_name(&pipeline, out)?,
        opusenc,
        live_source: live,
        capturing: Arc::new(AtomicBool::new(live)),
        gate,
        pause: Arc::default(),
        pipeline,
    })
}

/// Build (but do not start) the video pipeline.
pub fn build_video(
    chosen: &ChosenEncoder,
    rates: &RateParams,
    gpu_id: u32,
    display: Option<&str>,
    damage: Option<&DamageWatch>,
    capture: CaptureMode,
) -> Result<VideoPipeline, MediaError> {
    let threads = rates.render(catalogue::Value::Threads);
    let video_source = VideoSource::choose(capture, display)?.converting_for(chosen.spec.upload);
    let desc = format!(
        "webrtcbin name=webrtc bundle-policy=max-bundle latency=0 \
         {source} \
         ! {upload} \
         ! queue max-size-buffers=1 max-size-bytes=0 max-size-time=0 leaky=downstream \
         ! {factory} name=encoder \
         ! capsfilter caps=\"{enc_caps}\" \
         ! {pay} name=pay \
         ! capsfilter name=rtpcaps caps=\"{rtp_caps}\" \
         ! webrtc.",
        source = video_source.launch_fragment(rates.framerate.max(1)),
        upload =
            video_source.upload_chain(chosen.spec.upload, gpu_id, threads.parse().unwrap_or(1)),
        factory = chosen.factory,
        enc_caps = catalogue::encoder_caps(chosen.spec),
        pay = chosen.spec.codec().payloader(),
        rtp_caps = chosen.spec.codec().rtp_caps(),
    );
    let pipeline = launch("video", &desc)?;
    finish_video(
        pipeline,
        "webrtc",
        video_source,
        display,
        damage,
        chosen,
        rates,
    )
}

fn capsfilter_caps(pipeline: &gst::Pipeline, name: &str) -> Option<gst::Caps> {
    pipeline
        .by_name(name)?
        .property::<Option<gst::Caps>>("caps")
}

impl VideoPipeline {
    /// Change the video bitrate (`vb`): the requested kbit/s is fitted to what the encoder
    /// accepts, the rate-dependent properties are re-applied, and the bitrate in effect returned.
    pub fn set_bitrate(&self, kbps: u32, rates_for: impl FnOnce(u32) -> RateParams) -> u32 {
        let kbps = self.chosen.clamp_kbps(kbps);
        let rates = rates_for(kbps);
        apply_encoder_props(&self.encoder, self.chosen.spec, &rates, |v| {
            v.depends_on_bitrate()
        });
        kbps
    }

    /// Change the framerate: the capture caps and the framerate-dependent encoder properties.
    pub fn set_framerate(&self, rates: &RateParams) {
        apply_encoder_props(&self.encoder, self.chosen.spec, rates, |v| {
            v.depends_on_framerate()
        });
        match &self.capture {
            Some(capture) => capture.set_framerate(rates.framerate),
            None => {
                props::set(
                    &self.fps_caps,
                    "caps",
                    &format!("video/x-raw,framerate={}/1", rates.framerate.max(1)),
                );
            }
        }
    }

    /// Hold the capture after its first frame until the peer wants frames (its connection is
    /// up) or `limit` passes: see [`CaptureHandle::hold_until_wanted`]. `ximagesrc` runs on.
    pub fn hold_capture_until_wanted(&self, limit: std::time::Duration) {
        if let Some(capture) = &self.capture {
            capture.hold_until_wanted(limit);
        }
    }

    /// Send unchanged frames of the damage-driven capture as repeat pictures instead of
    /// encoding them ([`super::repeat_frame`]); x264enc and selkiesx264enc only, whose output
    /// is synchronous and CAVLC. Call it after the other probes on the encoder's input (stage timings).
    pub fn repeat_unchanged_frames(&self) {
        if self.capture.is_some() && self.chosen.spec.encoder == Encoder::X264enc {
            super::repeat_frame::install(&self.encoder);
        }
    }

    /// Whether the capture draws the pointer into the frames.
    pub fn set_pointer_visible(&self, visible: bool) {
        self.pointer_drawn
            .store(visible, std::sync::atomic::Ordering::Relaxed);
        if let Some(capture) = &self.capture {
            capture.set_pointer_drawn(visible);
            return;
        }
        props::set(
            &self.source,
            "show-pointer",
            if visible { "true" } else { "false" },
        );
    }

    /// The RTP caps in front of webrtcbin, as codec preferences for an offer made before the
    /// first frame. H.264 also states packetization-mode=1 (what rtph264pay produces), which the
    /// SDP would otherwise only learn from the first buffer's caps.
    pub fn rtp_caps(&self) -> Option<gst::Caps> {
        let mut caps = capsfilter_caps(&self.pipeline, "rtpcaps")?;
        if self.chosen.spec.codec() == Codec::H264 {
            caps.make_mut().set("packetization-mode", "1");
        }
        Some(caps)
    }
}

impl AudioPipeline {
    /// The RTP caps in front of webrtcbin.
    pub fn rtp_caps(&self) -> Option<gst::Caps> {
        capsfilter_caps(&self.pipeline, "rtpcaps")
    }
}

/// Audio settings of §5.5.
#[derive(Debug, Clone, Copy)]
pub struct AudioParams {
    pub bitrate_bps: u32,
    pub channels: u32,
    pub packetloss_percent: f64,
    /// `--audio_silence_ms` ([`super::silence_gate`]); 0 = always encode.
    pub silence_ms: u32,
}

#[derive(Debug, Clone)]
pub struct AudioPipeline {
    pub pipeline: gst::Pipeline,
    pub webrtc: gst::Element,
    pub opusenc: gst::Element,
    /// False when PulseAudio was unreachable and silence is sent so the peer connection still
    /// completes (the legacy client waits for both connections).
    pub live_source: bool,
    /// Whether PulseAudio feeds the stream now ([`super::audio_source`] swaps sources).
    pub capturing: Arc<AtomicBool>,
    /// The silence gate on `opusenc`; `None` with `--audio_silence_ms=0`, which also keeps the
    /// capture from pausing ([`super::audio_idle`]).
    pub gate: Option<Arc<super::silence_gate::GateCounts>>,
    /// Whether the PulseAudio capture is paused because nothing plays ([`super::audio_idle`]);
    /// its lock also orders the pause against source swaps.
    pub pause: Arc<super::audio_idle::PauseState>,
}

/// Build (but do not start) the audio pipeline.
pub fn build_audio(params: &AudioParams) -> Result<AudioPipeline, MediaError> {
    let channels = params.channels.clamp(1, 8);
    let encoding = if channels > 2 { "MULTIOPUS" } else { "OPUS" };
    // RFC 7587: plain Opus is always announced with 2 channels, mono or stereo.
    let announced_channels = if channels > 2 { channels } else { 2 };
    // 10 ms capture segments (audio_source.rs) instead of legacy's 1 ms: the Opus encoder works
    // on 10 ms frames anyway, and capture wake-ups are most of what a silent desktop's audio costs.
    // The source is swappable (PulseAudio may come and go: audio_source.rs); the capsfilter
    // after it fixes the format for both.
    let (source, live) = pulse_or_silence();
    let source = format!(
        "{source} ! capsfilter name={} caps=audio/x-raw,rate=48000,channels={channels}",
        audio_source::SOURCE_CAPS
    );
    let fec = params.packetloss_percent > 0.0;
    let desc = format!(
        "webrtcbin name=webrtc bundle-policy=max-bundle latency=0 \
         {source} ! opusenc name=opusenc audio-type=restricted-lowdelay bandwidth=fullband \
         bitrate-type=cbr frame-size=10 perfect-timestamp=true max-payload-size=4000 \
         inband-fec={fec} packet-loss-percentage={loss} bitrate={bitrate} \
         ! rtpopuspay mtu=1200 \
         ! queue leaky=downstream flush-on-eos=true max-size-time=16000000 max-size-buffers=0 max-size-bytes=0 \
         ! capsfilter name=rtpcaps caps=\"application/x-rtp,media=audio,encoding-name={encoding},payload=111,clock-rate=48000,encoding-params=(string){announced_channels}\" \
         ! webrtc.",
        loss = params.packetloss_percent as i32,
        bitrate = params.bitrate_bps,
    );
    let pipeline = launch("audio", &desc)?;
    finish_audio(pipeline, "webrtc", live, params.silence_ms)
}
