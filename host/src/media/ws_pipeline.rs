//! The pipelines of the WebSocket transport: the same screen source, converter and encoder as
//! the WebRTC video pipeline (`pipeline.rs`, the encoder from the registry), and the same
//! PulseAudio source and `opusenc`, but ending in an `appsink` that hands each encoded unit to
//! the socket task instead of a payloader and webrtcbin. H.264/H.265 leave the encoder as
//! Annex B byte-stream, one access unit per buffer (`alignment=au`), so a buffer is a message.

use gstreamer as gst;
use gstreamer::prelude::*;

use super::audio_source;
use super::catalogue::{self, Codec};
use super::pipeline::{
    AudioParams, AudioPipeline, ChosenEncoder, MediaError, VideoPipeline, finish_audio,
    finish_video, launch, pulse_or_silence,
};
use super::rates::RateParams;
use super::xcapture::VideoSource;
use selkies_proto::config::CaptureMode;
use selkies_x11::damage::DamageWatch;

/// The appsink's name in both pipelines.
pub const SINK: &str = "wssink";

/// Caps after the encoder: the WebRTC path's, with whole access units for the byte-stream codecs.
fn stream_caps(chosen: &ChosenEncoder) -> String {
    let caps = catalogue::encoder_caps(chosen.spec);
    match chosen.spec.codec() {
        Codec::H264 | Codec::H265 if !caps.contains("alignment") => {
            format!("{caps},alignment=au")
        }
        _ => caps.to_owned(),
    }
}

/// The appsink: no clock sync (frames go out as soon as they are encoded), no preroll wait,
/// and a two-buffer bound so a stalled socket task can never queue frames here.
fn sink_fragment() -> String {
    format!(
        "appsink name={SINK} emit-signals=true sync=false async=false max-buffers=2 drop=true \
         enable-last-sample=false"
    )
}

/// Build (but do not start) the video pipeline. The returned [`VideoPipeline`]'s `webrtc`
/// field holds the appsink: the element the encoded stream leaves through.
pub fn build_video(
    chosen: &ChosenEncoder,
    rates: &RateParams,
    gpu_id: u32,
    damage: Option<&DamageWatch>,
    capture: CaptureMode,
) -> Result<VideoPipeline, MediaError> {
    let threads = rates.render(catalogue::Value::Threads);
    let video_source = VideoSource::choose(capture, None)?.converting_for(chosen.spec.upload);
    let desc = format!(
        "{source} \
         ! {upload} \
         ! queue max-size-buffers=1 max-size-bytes=0 max-size-time=0 leaky=downstream \
         ! {factory} name=encoder \
         ! capsfilter caps=\"{caps}\" \
         ! {sink}",
        source = video_source.launch_fragment(rates.framerate.max(1)),
        upload =
            video_source.upload_chain(chosen.spec.upload, gpu_id, threads.parse().unwrap_or(1)),
        factory = chosen.factory,
        caps = stream_caps(chosen),
        sink = sink_fragment(),
    );
    let pipeline = launch("WebSocket video", &desc)?;
    finish_video(pipeline, SINK, video_source, None, damage, chosen, rates)
}

/// Build (but do not start) the audio pipeline: 10 ms Opus packets into the appsink. The
/// returned [`AudioPipeline`]'s `webrtc` field holds the appsink.
pub fn build_audio(params: &AudioParams) -> Result<AudioPipeline, MediaError> {
    let channels = params.channels.clamp(1, 2);
    let (source, live) = pulse_or_silence();
    let desc = format!(
        "{source} ! capsfilter name={caps} caps=audio/x-raw,rate=48000,channels={channels} \
         ! opusenc name=opusenc audio-type=restricted-lowdelay bandwidth=fullband \
         bitrate-type=cbr frame-size=10 perfect-timestamp=true bitrate={bitrate} \
         ! {sink}",
        caps = audio_source::SOURCE_CAPS,
        bitrate = params.bitrate_bps,
        sink = sink_fragment(),
    );
    let pipeline = launch("WebSocket audio", &desc)?;
    finish_audio(pipeline, SINK, live, params.silence_ms)
}

/// Ask the encoder for a keyframe with its parameter sets (the upstream force-key-unit event,
/// sent from the sink so it passes every element between).
pub fn force_keyframe(sink: &gst::Element) {
    if let Some(pad) = sink.static_pad("sink") {
        pad.push_event(super::first_frame::keyframe_request());
    }
}
