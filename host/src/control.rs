//! What the host does with each data-channel message (docs/protocol.md §4): input goes to the X11
//! injector, rate changes go to the running encoders and are persisted, clipboard / resize / DPI
//! go to the desktop, gamepad messages go to the gamepad service, client statistics go to the
//! metrics, and the periodic `ping`/`system_stats`/`gpu_stats` messages are produced here.
//! Parsing and formatting are `selkies_proto::protocol`'s; this module only acts.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use selkies_proto::config::OverlaySetting;
use selkies_proto::protocol::clipboard::ClipboardAssembler;
use selkies_proto::protocol::{
    ClientMessage, PointerEvent, ServerMessage, initial_burst, parse_client_message,
};
use selkies_telemetry::{StatsCsv, StatsKind};
use selkies_x11::InputCommand;
use tracing::{debug, info, warn};

use crate::desktop;
use crate::host::Host;
use crate::log_limit::{Summariser, quote};
use crate::media::pipeline::VideoPipeline;
use crate::media::video_stages::StageReports;
use crate::telemetry::{self, CpuSampler};
use crate::uinput_mouse::UinputMouse;

/// Per-connection state of the video peer's data channel.
pub struct Controller {
    host: Arc<Host>,
    video: VideoPipeline,
    cpu: CpuSampler,
    last_ping: Option<Instant>,
    clipboard_parts: ClipboardAssembler,
    image_parts: ClipboardAssembler,
    /// `--enable_webrtc_statistics`: this connection's CSV files.
    stats_csv: Option<Arc<Mutex<StatsCsv>>>,
    /// `--uinput_mouse_socket`: where pointer-lock (`m2`) input goes instead of XTest.
    uinput_mouse: Option<UinputMouse>,
    /// Warnings the client causes, rate-limited so it cannot control the log volume.
    complaints: Summariser,
    /// Which of the host's stage windows this client asked for and got (`_stages`).
    stage_reports: StageReports,
}

impl Controller {
    pub fn new(host: Arc<Host>, video: VideoPipeline) -> Self {
        host.services.metrics.reset_connection();
        let stats_csv = host
            .settings
            .webrtc_statistics_dir
            .as_ref()
            .map(|dir| Arc::new(Mutex::new(StatsCsv::new(dir))));
        let uinput_mouse = host.settings.uinput_mouse_socket.as_ref().and_then(|p| {
            UinputMouse::new(p)
                .map_err(|e| warn!("--uinput_mouse_socket {}: {e}", p.display()))
                .ok()
        });
        Self {
            host,
            video,
            cpu: CpuSampler::default(),
            last_ping: None,
            clipboard_parts: ClipboardAssembler::default(),
            image_parts: ClipboardAssembler::default(),
            stats_csv,
            uinput_mouse,
            complaints: Summariser::default(),
            stage_reports: StageReports::default(),
        }
    }

    /// The messages sent when the channel opens, in the legacy order (§4.2).
    pub fn on_open(&mut self) -> Vec<String> {
        // A new client: images only after it says it takes them (the legacy client never does).
        self.host.services.desktop.set_image_opt_in(false);
        let live = self.host.live();
        initial_burst(
            live.framerate,
            live.video_kbps,
            live.audio_bps,
            live.resize,
            self.video.chosen.spec.name(),
            self.host.services.desktop.last_cursor().as_ref(),
        )
    }

    /// The periodic messages: `ping`, `system_stats`, `gpu_stats` for NVIDIA encoders, and the
    /// host's newest stage window for a client that asked (`video_stages`).
    pub async fn tick(&mut self) -> Vec<String> {
        self.last_ping = Some(Instant::now());
        if let Some(summary) = self.complaints.flush(Instant::now()) {
            warn!("data channel: {summary}");
        }
        let (mem_total, mem_used) = telemetry::memory();
        let mut out = vec![
            ServerMessage::ping(telemetry::epoch_secs()).to_json(),
            ServerMessage::SystemStats {
                cpu_percent: self.cpu.sample(),
                mem_total,
                mem_used,
            }
            .to_json(),
        ];
        if let Some(stages) = self.stage_reports.next(&self.video.stages) {
            out.push(ServerMessage::VideoStages(stages).to_json());
        }
        if self.video.chosen.spec.encoder.is_nvidia() {
            let gpu = self.host.settings.gpu_id;
            if let Ok(Some(g)) =
                tokio::task::spawn_blocking(move || selkies_telemetry::gpu_stats(gpu)).await
            {
                self.host
                    .services
                    .metrics
                    .set_gpu_utilization(g.load * 100.0);
                out.push(
                    ServerMessage::GpuStats {
                        load: g.load,
                        memory_total: g.memory_total,
                        memory_used: g.memory_used,
                    }
                    .to_json(),
                );
            }
        }
        out
    }

    /// Handle one message; returns replies for the data channel. Bad input is logged, never fatal.
    pub async fn on_message(&mut self, text: &str) -> Vec<String> {
        let msg = match parse_client_message(text) {
            Ok(m) => m,
            Err(e) => {
                self.complain(format!("ignoring '{}': {e}", quote(text, 80)));
                return Vec::new();
            }
        };
        self.dispatch(msg).await
    }

    async fn resize(&mut self, width: u32, height: u32) -> Vec<String> {
        match desktop::resize(width, height).await {
            Ok(reply) => vec![reply],
            Err(e) => {
                self.complain(e);
                Vec::new()
            }
        }
    }

    /// Log a problem with what the client sent, within the rate limit.
    fn complain(&mut self, what: String) {
        for line in self.complaints.note(Instant::now(), what) {
            warn!("data channel: {line}");
        }
    }

    fn input(&self, cmd: InputCommand) {
        if let Some(input) = &self.host.services.input
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
            ClientMessage::MouseRelative(p) => match self.uinput_mouse.as_mut() {
                Some(m) => m.relative(p.x, p.y, (p.mask & 0xff) as u8, p.magnitude),
                None => self.mouse(true, p),
            },
            ClientMessage::PointerVisible(visible) => {
                self.video.set_pointer_visible(visible);
                return vec![ServerMessage::pointer_visibility_status(visible).to_json()];
            }
            ClientMessage::VideoBitrate { kbps: asked } => {
                let host = &self.host;
                let kbps = self
                    .video
                    .set_bitrate(asked, |k| host.update_live(|l| l.video_kbps = k));
                if kbps != asked {
                    let (lo, hi) = self.video.chosen.kbps_range();
                    self.complain(format!(
                        "vb,{asked} outside {lo}-{hi} kbit/s for {}; using {kbps}",
                        self.video.chosen.spec.name()
                    ));
                }
                self.host.persist(OverlaySetting::VideoBitrate(kbps));
                self.host.services.metrics.set_video_bitrate_kbps(kbps);
                info!(kbps, "video bitrate changed");
                return vec![ServerMessage::video_bitrate_status(kbps).to_json()];
            }
            ClientMessage::AudioBitrate { bps: asked } => {
                let bps = crate::host::fit_audio_bps(asked);
                if bps != asked {
                    self.complain(format!(
                        "ab,{asked} outside what opusenc accepts; using {bps}"
                    ));
                }
                self.host.update_live(|l| l.audio_bps = bps);
                self.host.set_audio_bitrate(bps);
                self.host.persist(OverlaySetting::AudioBitrate(bps));
                self.host.services.metrics.set_audio_bitrate_bps(bps);
            }
            ClientMessage::Framerate { fps } => {
                let fps = fps.clamp(1, 240);
                let rates = self.host.update_live(|l| l.framerate = fps);
                self.video.set_framerate(&rates);
                self.host.persist(OverlaySetting::Framerate(fps));
                self.host.services.metrics.set_framerate(fps);
                info!(fps, "framerate changed");
            }
            ClientMessage::SetResize {
                enabled,
                resolution,
            } => {
                self.host.update_live(|l| l.resize = enabled);
                self.host.persist(OverlaySetting::EnableResize(enabled));
                if enabled && let Some(r) = resolution {
                    return self.resize(r.width, r.height).await;
                }
            }
            ClientMessage::Resize(r) => {
                if self.host.live().resize {
                    return self.resize(r.width, r.height).await;
                }
                debug!("resize request ignored: remote resize is off");
            }
            ClientMessage::Scale(ratio) => {
                if self.host.live().resize
                    && let Err(e) = desktop::set_scale(ratio).await
                {
                    self.complain(e);
                }
            }
            ClientMessage::ClipboardRead => self.host.services.desktop.request_clipboard(),
            ClientMessage::ClipboardWrite(text) => self.host.services.desktop.write_clipboard(text),
            ClientMessage::ClipboardPart {
                index,
                count,
                bytes,
            } => match self.clipboard_parts.push(index, count, &bytes) {
                Ok(Some(text)) => self.host.services.desktop.write_clipboard(text),
                Ok(None) => {}
                Err(e) => self.complain(format!("clipboard from the browser dropped: {e}")),
            },
            ClientMessage::StageReports(wanted) => self.stage_reports.set_wanted(wanted),
            ClientMessage::ClipboardImageOptIn => {
                self.host.services.desktop.set_image_opt_in(true);
            }
            ClientMessage::ClipboardImagePart {
                index,
                count,
                bytes,
            } => match self.image_parts.push_bytes(index, count, &bytes) {
                Ok(Some(png)) => self.host.services.desktop.write_clipboard_png(png),
                Ok(None) => {}
                Err(e) => self.complain(format!("clipboard image from the browser dropped: {e}")),
            },
            ClientMessage::Pong { .. } => {
                if let Some(sent) = self.last_ping.take() {
                    return vec![
                        ServerMessage::latency_from_rtt(sent.elapsed().as_secs_f64()).to_json(),
                    ];
                }
            }
            ClientMessage::Gamepad(msg) => self.host.gamepad(msg).await,
            ClientMessage::ClientFps(fps) => self.host.services.metrics.set_fps(fps),
            ClientMessage::ClientLatency(ms) => self.host.services.metrics.set_latency(ms),
            ClientMessage::StatsVideo(v) => self.client_stats(StatsKind::Video, v),
            ClientMessage::StatsAudio(v) => self.client_stats(StatsKind::Audio, v),
        }
        Vec::new()
    }

    fn client_stats(&self, kind: StatsKind, stats: serde_json::Value) {
        let flat = match self.host.services.metrics.observe_stats(kind, &stats) {
            Ok(flat) => flat,
            Err(e) => {
                debug!("client statistics ignored: {e}");
                return;
            }
        };
        if let Some(csv) = &self.stats_csv {
            let csv = csv.clone();
            tokio::task::spawn_blocking(move || {
                let mut csv = crate::sync::lock(&csv);
                if let Err(e) = csv.write_flat(kind, &flat) {
                    warn!("statistics CSV: {e}");
                }
            });
        }
    }
}
