//! The host's shared context: settings that never change after start-up, the live settings the
//! client may change (framerate, bitrates, resize) and their persistence to `--json_config`, the
//! chosen encoder, and the services the sessions use (signalling, RTC config, input, gamepads,
//! desktop integration, metrics).

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use gstreamer as gst;
use selkies_proto::config::{OverlaySetting, Settings};
use selkies_proto::gamepad::GamepadMessage;
use tracing::warn;

use crate::desktop::Desktop;
use crate::media::catalogue::Codec;
use crate::media::pipeline::{ChosenEncoder, MediaError, choose_encoder_accepting};
use crate::media::props;
use crate::media::rates::RateParams;
use crate::persist::OverlayWriter;
use crate::rtc::RtcStore;
use crate::sync::lock;
use crate::ws::Signalling;

/// Settings fixed at start-up that the sessions need: the resolved [`Settings`] themselves,
/// shared and read through `Deref` (`host.settings.gpu_id`), plus what start-up derives from
/// them. Nothing is copied field by field, so a new flag is visible here as soon as `Settings`
/// has it.
#[derive(Debug, Clone)]
pub struct StaticSettings {
    settings: Arc<Settings>,
    pub cpus: u32,
    /// `--webrtc_statistics_dir` when `--enable_webrtc_statistics` is on (shadows the plain
    /// directory of `Settings`).
    pub webrtc_statistics_dir: Option<PathBuf>,
    /// `--enable_microphone`: `Some(--microphone_default_source)` when on.
    pub microphone: Option<bool>,
}

impl StaticSettings {
    pub fn new(settings: Arc<Settings>, cpus: u32) -> Self {
        let webrtc_statistics_dir = settings
            .enable_webrtc_statistics
            .then(|| settings.webrtc_statistics_dir.clone());
        let microphone = settings
            .intake
            .enable_microphone
            .then_some(settings.intake.microphone_default_source);
        Self {
            settings,
            cpus,
            webrtc_statistics_dir,
            microphone,
        }
    }
}

impl std::ops::Deref for StaticSettings {
    type Target = Settings;

    fn deref(&self) -> &Settings {
        &self.settings
    }
}

/// Settings the client can change at run time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LiveSettings {
    pub framerate: u32,
    pub video_kbps: u32,
    pub audio_bps: u32,
    pub resize: bool,
}

const ALL_CODECS: [Codec; 5] = [Codec::H264, Codec::H265, Codec::Vp8, Codec::Vp9, Codec::Av1];

/// Whether a browser takes `codec`: what it listed in its HELLO when it did, else anything no
/// earlier browser's answer refused.
pub fn browser_takes(codec: Codec, decodes: Option<&[Codec]>, refused: &[Codec]) -> bool {
    decodes.map_or(!refused.contains(&codec), |d| d.contains(&codec))
}

/// opusenc's `bitrate` range when the element cannot be asked (bit/s).
const OPUS_BPS: (u32, u32) = (4000, 650_000);

/// `bps` fitted to what opusenc's `bitrate` accepts (read from its param spec).
pub fn fit_audio_bps(bps: u32) -> u32 {
    let (lo, hi) = props::factory_range("opusenc", "bitrate")
        .map(|(lo, hi)| (lo.max(1.0) as u32, hi.min(f64::from(u32::MAX)) as u32))
        .unwrap_or(OPUS_BPS);
    bps.clamp(lo, hi.max(lo))
}

impl LiveSettings {
    /// Values from the flags and the `--json_config` overlay, fitted to the encoders that will
    /// run: an overlay written under another encoder (`vb` 150000 under x264enc, then a restart
    /// with x265enc, which tops out at 102400) is corrected here, once, with a log line.
    pub fn fit_to(mut self, encoder: &ChosenEncoder) -> Self {
        self.video_kbps = encoder.fit_kbps(self.video_kbps, "--video_bitrate/--json_config");
        let bps = fit_audio_bps(self.audio_bps);
        if bps != self.audio_bps {
            warn!(
                asked = self.audio_bps,
                set = bps,
                "--audio_bitrate/--json_config: outside what opusenc accepts; clamped"
            );
            self.audio_bps = bps;
        }
        self.framerate = self.framerate.clamp(1, 240);
        self
    }
}

pub struct Host {
    pub settings: StaticSettings,
    live: Mutex<LiveSettings>,
    pub encoder: ChosenEncoder,
    pub services: Services,
    /// The running audio session's opusenc, so `ab` from the video data channel can reach it;
    /// claimed by the transport streaming (docs/protocol.md §13.1).
    audio_encoder: crate::media::audio_owner::Owned<gst::Element>,
    /// Started with the first change (on the runtime); owns every write of `--json_config`.
    overlay: OnceLock<OverlayWriter>,
    /// Codecs a browser's answer refused (used when a client does not list what it decodes).
    refused: Mutex<Vec<Codec>>,
    /// The last fallback chosen for browsers that refuse `encoder`'s codec, with the codecs it
    /// was chosen against, so the fallback is logged once and not per session.
    fallback: Mutex<Option<(Vec<Codec>, ChosenEncoder)>>,
}

/// The long-lived services a host is assembled from at start-up.
pub struct Services {
    pub signalling: Arc<Signalling>,
    pub rtc: Arc<RtcStore>,
    pub input: Option<selkies_x11::InputHandle>,
    pub gamepads: Option<selkies_gamepad::GamepadService>,
    /// Screen-change tracking for idle-frame gating; None when the server lacks DAMAGE.
    pub damage: Option<selkies_x11::damage::DamageWatch>,
    pub desktop: Desktop,
    pub metrics: selkies_telemetry::Metrics,
    /// Desktop sharing: share links, members, the fan-out of the owner's stream.
    pub sharing: Arc<crate::sharing::Sharing>,
    /// `--enable_webcam`: the browser's camera sink (docs/webcam.md); None when disabled.
    pub webcam: Option<Arc<crate::webcam::Webcam>>,
}

impl Host {
    pub fn new(
        settings: StaticSettings,
        live: LiveSettings,
        encoder: ChosenEncoder,
        services: Services,
    ) -> Self {
        Self {
            live: Mutex::new(live.fit_to(&encoder)),
            settings,
            encoder,
            services,
            audio_encoder: Default::default(),
            overlay: OnceLock::new(),
            refused: Mutex::new(Vec::new()),
            fallback: Mutex::new(None),
        }
    }

    pub fn live(&self) -> LiveSettings {
        *lock(&self.live)
    }

    pub fn rates(&self) -> RateParams {
        rates_of(&self.settings, &self.live())
    }

    /// Change live settings and return the rate parameters that follow from them.
    pub fn update_live(&self, f: impl FnOnce(&mut LiveSettings)) -> RateParams {
        let mut live = lock(&self.live);
        f(&mut live);
        rates_of(&self.settings, &live)
    }

    /// Write a changed value back to the JSON overlay so it survives a restart. Queued to the
    /// one coalescing writer; the data channel never waits for the disk, and a failed write
    /// (warned once) leaves the live value in force.
    pub fn persist(&self, setting: OverlaySetting) {
        self.overlay
            .get_or_init(|| OverlayWriter::spawn(self.settings.json_config.clone()))
            .persist(setting);
    }

    /// Make `enc` the encoder `ab` reaches while the returned lease lives (the newest live
    /// claim wins; a late drop of an older one changes nothing).
    pub fn claim_audio_encoder(
        &self,
        enc: gst::Element,
    ) -> crate::media::audio_owner::Lease<gst::Element> {
        self.audio_encoder.claim(enc)
    }

    /// How many transports hold an audio-encoder claim (one while streaming, for a moment two
    /// during a switch, zero when nobody streams).
    pub fn audio_encoder_claims(&self) -> usize {
        self.audio_encoder.live_claims()
    }

    /// Change the running audio session's bitrate, within opusenc's range.
    pub fn set_audio_bitrate(&self, bps: u32) {
        self.audio_encoder
            .with(|enc| props::set(enc, "bitrate", &bps.to_string()));
    }

    /// A browser refused `codec` in its answer: later sessions of clients that do not list
    /// their codecs use a fallback.
    pub fn refuse_codec(&self, codec: Codec) {
        let mut refused = lock(&self.refused);
        if !refused.contains(&codec) {
            refused.push(codec);
        }
    }

    /// The encoder for a session with a browser that decodes `decodes` (from its HELLO; None
    /// when it did not say): `--encoder` when the browser takes its codec, else the first
    /// encoder of the fallback order whose codec it takes, logged once.
    pub fn session_encoder(&self, decodes: Option<&[Codec]>) -> Result<ChosenEncoder, MediaError> {
        let refused = lock(&self.refused).clone();
        let takes = |c: Codec| browser_takes(c, decodes, &refused);
        if takes(self.encoder.spec.codec()) {
            return Ok(self.encoder.clone());
        }
        let unusable: Vec<Codec> = ALL_CODECS.into_iter().filter(|c| !takes(*c)).collect();
        let mut cached = lock(&self.fallback);
        if let Some((against, chosen)) = cached.as_ref()
            && *against == unusable
        {
            return Ok(chosen.clone());
        }
        let chosen =
            choose_encoder_accepting(self.encoder.spec.encoder, self.settings.gpu_id, takes)?;
        *cached = Some((unusable, chosen.clone()));
        Ok(chosen)
    }

    pub async fn gamepad(&self, msg: GamepadMessage) {
        match &self.services.gamepads {
            Some(g) => g.handle(msg).await,
            None => tracing::debug!("gamepad message ignored: gamepad service not running"),
        }
    }
}

fn rates_of(s: &StaticSettings, live: &LiveSettings) -> RateParams {
    RateParams {
        video_kbps: live.video_kbps,
        framerate: live.framerate,
        keyframe_distance: s.keyframe_distance,
        packetloss_percent: s.video_packetloss_percent,
        cpus: s.cpus,
    }
}
