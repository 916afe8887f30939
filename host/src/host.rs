//! The host's shared context: settings that never change after start-up, the live settings the
//! client may change (framerate, bitrates, resize) and their persistence to `--json_config`, the
//! chosen encoder, and the services the sessions use (signalling, RTC config, input, gamepads,
//! desktop integration, metrics).

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use gstreamer as gst;
use gstreamer::prelude::*;
use selkies_proto::config::OverlaySetting;
use selkies_proto::gamepad::GamepadMessage;

use crate::desktop::Desktop;
use crate::media::pipeline::ChosenEncoder;
use crate::media::rates::RateParams;
use crate::persist::OverlayWriter;
use crate::rtc::RtcStore;
use crate::ws::Signalling;

/// Settings fixed at start-up that the sessions need.
#[derive(Debug, Clone)]
pub struct StaticSettings {
    pub gpu_id: u32,
    pub keyframe_distance: f64,
    pub video_packetloss_percent: f64,
    pub audio_channels: u32,
    pub audio_packetloss_percent: f64,
    pub json_config: PathBuf,
    pub cpus: u32,
    /// `--webrtc_statistics_dir` when `--enable_webrtc_statistics` is on.
    pub webrtc_statistics_dir: Option<PathBuf>,
    pub uinput_mouse_socket: Option<PathBuf>,
    /// `--playout_delay_ms`; None: the header extension is not sent.
    pub playout_delay_ms: Option<u32>,
}

/// Settings the client can change at run time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LiveSettings {
    pub framerate: u32,
    pub video_kbps: u32,
    pub audio_bps: u32,
    pub resize: bool,
}

pub struct Host {
    pub settings: StaticSettings,
    live: Mutex<LiveSettings>,
    pub encoder: ChosenEncoder,
    pub signalling: Arc<Signalling>,
    pub rtc: Arc<RtcStore>,
    pub input: Option<selkies_x11::InputHandle>,
    pub gamepads: Option<selkies_gamepad::GamepadService>,
    /// Screen-change tracking for idle-frame gating; None when the server lacks DAMAGE.
    pub damage: Option<selkies_x11::damage::DamageWatch>,
    pub desktop: Desktop,
    pub metrics: selkies_telemetry::Metrics,
    /// The running audio session's opusenc, so `ab` from the video data channel can reach it.
    audio_encoder: Mutex<Option<gst::Element>>,
    /// Started with the first change (on the runtime); owns every write of `--json_config`.
    overlay: OnceLock<OverlayWriter>,
}

/// The long-lived services a host is assembled from at start-up.
pub struct Services {
    pub signalling: Arc<Signalling>,
    pub rtc: Arc<RtcStore>,
    pub input: Option<selkies_x11::InputHandle>,
    pub gamepads: Option<selkies_gamepad::GamepadService>,
    pub damage: Option<selkies_x11::damage::DamageWatch>,
    pub desktop: Desktop,
    pub metrics: selkies_telemetry::Metrics,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Host {
    pub fn new(
        settings: StaticSettings,
        live: LiveSettings,
        encoder: ChosenEncoder,
        services: Services,
    ) -> Self {
        Self {
            settings,
            live: Mutex::new(live),
            encoder,
            signalling: services.signalling,
            rtc: services.rtc,
            input: services.input,
            gamepads: services.gamepads,
            damage: services.damage,
            desktop: services.desktop,
            metrics: services.metrics,
            audio_encoder: Mutex::new(None),
            overlay: OnceLock::new(),
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

    pub fn set_audio_encoder(&self, enc: Option<gst::Element>) {
        *lock(&self.audio_encoder) = enc;
    }

    pub fn set_audio_bitrate(&self, bps: u32) {
        if let Some(enc) = lock(&self.audio_encoder).as_ref() {
            enc.set_property("bitrate", bps.clamp(4000, 650_000) as i32);
        }
    }

    pub async fn gamepad(&self, msg: GamepadMessage) {
        match &self.gamepads {
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
