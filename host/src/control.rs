//! What the host does with each data-channel message (selkies-protocol §4): input goes to the X11
//! injector, rate changes go to the running encoders and are persisted, gamepad messages go to the
//! gamepad service, and the periodic `ping`/`system_stats` pair is produced here. Parsing and
//! formatting are `selkies_proto::protocol`'s; this module only acts.

use std::sync::Arc;
use std::time::Instant;

use selkies_proto::config::OverlaySetting;
use selkies_proto::protocol::{
    ClientMessage, PointerEvent, ServerMessage, initial_burst, parse_client_message,
};
use selkies_x11::InputCommand;
use tracing::{debug, info, warn};

use crate::host::Host;
use crate::media::pipeline::{VideoPipeline, apply_encoder_props, set_prop};
use crate::telemetry::{self, CpuSampler};

/// Per-connection state of the video peer's data channel.
pub struct Controller {
    host: Arc<Host>,
    video: VideoPipeline,
    cpu: CpuSampler,
    last_ping: Option<Instant>,
}

impl Controller {
    pub fn new(host: Arc<Host>, video: VideoPipeline) -> Self {
        Self {
            host,
            video,
            cpu: CpuSampler::default(),
            last_ping: None,
        }
    }

    /// The messages sent when the channel opens, in the legacy order (§4.2).
    pub fn on_open(&mut self) -> Vec<String> {
        let live = self.host.live();
        initial_burst(
            live.framerate,
            live.video_kbps,
            live.audio_bps,
            live.resize,
            self.video.chosen.spec.name,
            None,
        )
    }

    /// The periodic pair: `ping` then `system_stats`.
    pub fn tick(&mut self) -> Vec<String> {
        self.last_ping = Some(Instant::now());
        let (mem_total, mem_used) = telemetry::memory();
        vec![
            ServerMessage::ping(telemetry::epoch_secs()).to_json(),
            ServerMessage::SystemStats {
                cpu_percent: self.cpu.sample(),
                mem_total,
                mem_used,
            }
            .to_json(),
        ]
    }

    /// Handle one message; returns replies for the data channel. Bad input is logged, never fatal.
    pub async fn on_message(&mut self, text: &str) -> Vec<String> {
        let msg = match parse_client_message(text) {
            Ok(m) => m,
            Err(e) => {
                let shown: String = text.chars().take(80).collect();
                warn!("data channel: ignoring '{shown}': {e}");
                return Vec::new();
            }
        };
        self.dispatch(msg).await
    }

    fn input(&self, cmd: InputCommand) {
        if let Some(input) = &self.host.input
            && let Err(e) = input.send(cmd)
        {
            debug!("input not injected: {e}");
        }
    }

    fn mouse(&self, relative: bool, p: PointerEvent) {
        self.input(InputCommand::Mouse {
            relative,
            x: p.x,
            y: p.y,
            mask: (p.mask & 0xff) as u8,
            magnitude: p.magnitude,
        });
    }

    async fn dispatch(&mut self, msg: ClientMessage) -> Vec<String> {
        match msg {
            ClientMessage::KeyDown { keysym } => {
                self.input(InputCommand::Key { keysym, down: true })
            }
            ClientMessage::KeyUp { keysym } => self.input(InputCommand::Key {
                keysym,
                down: false,
            }),
            ClientMessage::KeyReset => self.input(InputCommand::ReleaseAll),
            ClientMessage::MouseAbsolute(p) => self.mouse(false, p),
            ClientMessage::MouseRelative(p) => self.mouse(true, p),
            ClientMessage::PointerVisible(visible) => {
                self.video
                    .pointer_drawn
                    .store(visible, std::sync::atomic::Ordering::Relaxed);
                set_prop(
                    &self.video.source,
                    "show-pointer",
                    if visible { "true" } else { "false" },
                );
                return vec![ServerMessage::pointer_visibility_status(visible).to_json()];
            }
            ClientMessage::VideoBitrate { kbps } => {
                let rates = self.host.update_live(|l| l.video_kbps = kbps.max(1));
                apply_encoder_props(&self.video.encoder, self.video.chosen.spec, &rates, |v| {
                    v.depends_on_bitrate()
                });
                self.host.persist(OverlaySetting::VideoBitrate(kbps));
                info!(kbps, "video bitrate changed");
                return vec![ServerMessage::video_bitrate_status(kbps).to_json()];
            }
            ClientMessage::AudioBitrate { bps } => {
                self.host.update_live(|l| l.audio_bps = bps);
                self.host.set_audio_bitrate(bps);
                self.host.persist(OverlaySetting::AudioBitrate(bps));
            }
            ClientMessage::Framerate { fps } => {
                let fps = fps.clamp(1, 240);
                let rates = self.host.update_live(|l| l.framerate = fps);
                apply_encoder_props(&self.video.encoder, self.video.chosen.spec, &rates, |v| {
                    v.depends_on_framerate()
                });
                set_prop(
                    &self.video.fps_caps,
                    "caps",
                    &format!("video/x-raw,framerate={fps}/1"),
                );
                self.host.persist(OverlaySetting::Framerate(fps));
                info!(fps, "framerate changed");
            }
            ClientMessage::SetResize { enabled, .. } => {
                self.host.update_live(|l| l.resize = enabled);
                self.host.persist(OverlaySetting::EnableResize(enabled));
            }
            ClientMessage::Pong { .. } => {
                if let Some(sent) = self.last_ping.take() {
                    return vec![
                        ServerMessage::latency_from_rtt(sent.elapsed().as_secs_f64()).to_json(),
                    ];
                }
            }
            ClientMessage::Gamepad(msg) => self.host.gamepad(msg).await,
            ClientMessage::Resize(_)
            | ClientMessage::Scale(_)
            | ClientMessage::ClipboardRead
            | ClientMessage::ClipboardWrite(_) => {
                debug!(
                    ?msg,
                    "desktop integration message not handled by this host yet"
                );
            }
            ClientMessage::ClientFps(_)
            | ClientMessage::ClientLatency(_)
            | ClientMessage::StatsVideo(_)
            | ClientMessage::StatsAudio(_) => {
                debug!("client statistics received");
            }
        }
        Vec::new()
    }
}
