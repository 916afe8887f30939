//! Starting one session of a host peer: the [`StartPlan`] copied out of the host, and the
//! pipeline build and start on the blocking pool ([`open`]), video with its data channel or
//! audio with the microphone and webcam receivers. `peer.rs` runs the peer task around it.

use std::sync::Arc;

use tracing::warn;

use crate::media::pipeline::{self, AudioParams, AudioPipeline, ChosenEncoder, VideoPipeline};
use crate::media::rates::RateParams;
use crate::media::{abs_capture_time, playout_delay, stage_timing};
use crate::peer::{Kind, PeerError};
use crate::session::{IceServers, Session, SessionOptions};

/// What starting a session needs, copied out of the host so it can run on a blocking thread.
pub struct StartPlan {
    pub kind: Kind,
    pub encoder: ChosenEncoder,
    pub rates: RateParams,
    pub gpu_id: u32,
    pub damage: Option<selkies_x11::damage::DamageWatch>,
    pub ice: IceServers,
    pub video_fec_percent: u32,
    pub audio: AudioParams,
    /// `--playout_delay_ms`: the playout-delay header extension's value (None: not sent).
    pub playout_delay_ms: Option<u32>,
    /// `--capture`.
    pub capture: selkies_proto::config::CaptureMode,
    /// `--congestion_control`: the configured rates, read at each bandwidth estimate (None: off).
    pub congestion: Option<crate::media::congestion::Configured>,
    pub metrics: selkies_telemetry::Metrics,
    /// Receive the browser's microphone on the audio connection; the value: make the virtual
    /// microphone the default source (docs/microphone.md).
    pub microphone: Option<bool>,
    /// The webcam sink, when the host enables it and this client offers its camera (on the
    /// audio connection: docs/webcam.md says why).
    pub webcam: Option<Arc<crate::webcam::Webcam>>,
}

/// A started session and the pipeline handles the peer keeps.
pub enum Opened {
    Video(VideoPipeline, Session),
    Audio(AudioPipeline, Session),
}

/// The longest a new video session's capture waits for its peer connection after the first
/// frame; a slower connection (a relay far away) then gets frames as before.
const CONNECT_HOLD: std::time::Duration = std::time::Duration::from_secs(3);

/// Build and start the pipeline of `plan` on the blocking pool: building probes PulseAudio
/// and starting changes GStreamer states, both of which block (encoder threads are joined,
/// PulseAudio may take seconds to answer). The async workers keep serving HTTP and signalling.
pub async fn open(plan: StartPlan) -> Result<Opened, PeerError> {
    tokio::task::spawn_blocking(move || open_blocking(plan))
        .await
        .map_err(|e| PeerError::Signalling(format!("session start task failed: {e}")))?
}

fn open_blocking(plan: StartPlan) -> Result<Opened, PeerError> {
    match plan.kind {
        Kind::Video => {
            let video = pipeline::build_video(
                &plan.encoder,
                &plan.rates,
                plan.gpu_id,
                None,
                plan.damage.as_ref(),
                plan.capture,
            )?;
            if let Some(ms) = plan.playout_delay_ms {
                playout_delay::install(&video.pipeline, playout_delay::PlayoutDelay::fixed(ms));
            }
            let stamps = abs_capture_time::install(&video.pipeline);
            stage_timing::install(
                &video.pipeline,
                plan.metrics.clone(),
                stamps,
                video.stages.clone(),
            );
            crate::media::wire_timing::install(&video.pipeline, plan.metrics.clone());
            // After the stage timings' probe, which must still see the frames replaced here.
            video.repeat_unchanged_frames();
            // Last: it takes the next extmap id after the other header extensions.
            if let Some(configured) = plan.congestion {
                crate::media::congestion::install(&video, configured, plan.metrics.clone());
            }
            // Encode for the browser once it can receive: the host's keyframe request when the
            // connection is up releases the capture (peer.rs).
            video.hold_capture_until_wanted(CONNECT_HOLD);
            let session = Session::start(
                video.pipeline.clone(),
                video.webrtc.clone(),
                SessionOptions {
                    msid: Kind::Video.msid(),
                    data_channel: true,
                    ice: plan.ice,
                    fec_percent: plan.video_fec_percent,
                    rtp_caps: video.rtp_caps(),
                },
            )?;
            Ok(Opened::Video(video, session))
        }
        Kind::Audio => {
            // Before the pipeline: the virtual microphone may change which source is captured.
            let mic_pulse = plan.microphone.map(crate::mic::prepare);
            let audio = pipeline::build_audio(&plan.audio)?;
            if let Some(pulse) = mic_pulse {
                crate::mic::attach(&audio.pipeline, &audio.webrtc, pulse);
            }
            if let Some(w) = plan.webcam
                && let Err(e) =
                    crate::webcam::receive::add_receiver(&audio.pipeline, &audio.webrtc, w)
            {
                warn!("webcam not offered: {e}");
            }
            let session = Session::start(
                audio.pipeline.clone(),
                audio.webrtc.clone(),
                SessionOptions {
                    msid: Kind::Audio.msid(),
                    data_channel: false,
                    ice: plan.ice,
                    fec_percent: 0,
                    rtp_caps: audio.rtp_caps(),
                },
            )?;
            Ok(Opened::Audio(audio, session))
        }
    }
}
