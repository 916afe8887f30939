//! Host → browser data-channel messages (docs/protocol.md §4.2): `{"type": …, "data": …}`
//! serialised exactly like the legacy Python host (`json.dumps` defaults, see [`super::pyjson`]).

use base64::Engine;

use super::pyjson::PyJson;

/// Legacy cap on the base64 clipboard payload sent to the browser (§6.4).
pub const CLIPBOARD_MAX_B64: usize = 65400;

/// A cursor image as the browser expects it (§6.5).
#[derive(Debug, Clone, PartialEq)]
pub struct CursorMessage {
    /// Base64 PNG.
    pub curdata: String,
    /// XFixes cursor serial; 0 makes the browser use CSS `auto`.
    pub handle: u64,
    /// `Some("none")` for a fully transparent cursor, else `None` (JSON `null`).
    pub override_: Option<String>,
    pub hotspot_x: i32,
    pub hotspot_y: i32,
}

impl CursorMessage {
    fn to_py(&self) -> PyJson {
        PyJson::Object(vec![
            ("curdata", PyJson::Str(self.curdata.clone())),
            ("handle", PyJson::Int(self.handle as i64)),
            (
                "override",
                self.override_
                    .as_ref()
                    .map_or(PyJson::Null, |o| PyJson::Str(o.clone())),
            ),
            (
                "hotspot",
                PyJson::Object(vec![
                    ("x", PyJson::Int(self.hotspot_x.into())),
                    ("y", PyJson::Int(self.hotspot_y.into())),
                ]),
            ),
        ])
    }
}

/// The `action` of a `system` message.
#[derive(Debug, Clone, PartialEq)]
pub enum SystemAction {
    Framerate(u32),
    VideoBitrate(u32),
    AudioBitrate(u32),
    /// Spelled `True`/`False` (Python bool); the client lower-cases it.
    Resize(bool),
    Encoder(String),
    /// `resolution,<W>x<H>` after a successful resize.
    Resolution {
        width: u32,
        height: u32,
    },
    /// Understood by the client, never sent by the legacy host.
    Reload,
    /// Understood by the client, never sent by the legacy host.
    LocalScaling(bool),
}

impl SystemAction {
    /// The `action` string.
    pub fn action(&self) -> String {
        let py_bool = |b: bool| if b { "True" } else { "False" };
        match self {
            SystemAction::Framerate(v) => format!("framerate,{v}"),
            SystemAction::VideoBitrate(v) => format!("video_bitrate,{v}"),
            SystemAction::AudioBitrate(v) => format!("audio_bitrate,{v}"),
            SystemAction::Resize(b) => format!("resize,{}", py_bool(*b)),
            SystemAction::Encoder(e) => format!("encoder,{e}"),
            SystemAction::Resolution { width, height } => format!("resolution,{width}x{height}"),
            SystemAction::Reload => "reload".to_owned(),
            SystemAction::LocalScaling(b) => format!("local_scaling,{}", py_bool(*b)),
        }
    }
}

/// One host → browser message.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerMessage {
    System(SystemAction),
    /// `None` serialises as `"data": null` (no cursor seen yet).
    Cursor(Option<CursorMessage>),
    /// `{"status": …}`, e.g. `Video bitrate set to: 4000`.
    Pipeline {
        status: String,
    },
    /// Base64 of the UTF-8 clipboard text; build with [`ServerMessage::clipboard_from_text`].
    Clipboard {
        content: String,
    },
    /// One slice of a clipboard text too large for one `clipboard` message (our extension).
    ClipboardPart {
        index: u32,
        count: u32,
        content: String,
    },
    /// One slice of a PNG image from the host clipboard, for a client that sent `cio` (our
    /// extension, docs/protocol.md §13.3).
    ClipboardImagePart {
        index: u32,
        count: u32,
        content: String,
    },
    /// NVENC encoders only: load 0..1, memory in MB.
    GpuStats {
        load: f64,
        memory_total: f64,
        memory_used: f64,
    },
    SystemStats {
        cpu_percent: f64,
        mem_total: u64,
        mem_used: u64,
    },
    /// Epoch seconds with 3 decimals.
    Ping {
        start_time: f64,
    },
    /// One-way estimate (RTT/2) in milliseconds.
    LatencyMeasurement {
        latency_ms: f64,
    },
    /// The host's measured video stages over its last window, for a client that sent
    /// `_stages,1` (our extension, docs/protocol.md §4.2).
    VideoStages(VideoStages),
}

/// Mean times of the host's video stages over one window, in milliseconds; `None` (JSON
/// `null`) where no frame of the window went through that stage.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct VideoStages {
    /// First X DAMAGE report of a change → the start of its capture.
    pub change_to_capture_ms: Option<f64>,
    /// Capture start → the frame at the encoder's input.
    pub capture_to_encoder_ms: Option<f64>,
    /// Capture start → the encoded frame.
    pub capture_to_encoded_ms: Option<f64>,
    /// Encoded frame → its last RTP packet handed on.
    pub encoded_to_sent_ms: Option<f64>,
    /// Frames in the window.
    pub frames: u32,
}

impl VideoStages {
    fn to_py(self) -> PyJson {
        // Tenths of a millisecond: finer is noise, and the message stays short.
        let ms = |v: Option<f64>| {
            v.filter(|v| v.is_finite())
                .map_or(PyJson::Null, |v| PyJson::Float((v * 10.0).round() / 10.0))
        };
        PyJson::Object(vec![
            ("change_to_capture_ms", ms(self.change_to_capture_ms)),
            ("capture_to_encoder_ms", ms(self.capture_to_encoder_ms)),
            ("capture_to_encoded_ms", ms(self.capture_to_encoded_ms)),
            ("encoded_to_sent_ms", ms(self.encoded_to_sent_ms)),
            ("frames", PyJson::Int(self.frames.into())),
        ])
    }
}

/// Python's `round(x, 3)` for the magnitudes used here (timestamps, milliseconds).
fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

impl ServerMessage {
    /// Encodes clipboard text; `None` when the base64 exceeds the legacy 65400-byte cap.
    pub fn clipboard_from_text(text: &str) -> Option<Self> {
        let content = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
        (content.len() <= CLIPBOARD_MAX_B64).then_some(ServerMessage::Clipboard { content })
    }

    /// `ping` with `start_time` rounded to milliseconds like `float("%.3f" % time.time())`.
    pub fn ping(epoch_secs: f64) -> Self {
        ServerMessage::Ping {
            start_time: round3(epoch_secs),
        }
    }

    /// `latency_measurement` from the round trip between a `ping` and its `pong`, in seconds.
    pub fn latency_from_rtt(rtt_secs: f64) -> Self {
        ServerMessage::LatencyMeasurement {
            latency_ms: round3(rtt_secs * 1000.0 / 2.0),
        }
    }

    /// The `pipeline` status sent after `vb`.
    pub fn video_bitrate_status(kbps: u32) -> Self {
        ServerMessage::Pipeline {
            status: format!("Video bitrate set to: {kbps}"),
        }
    }

    /// The `pipeline` status sent after `p`.
    pub fn pointer_visibility_status(visible: bool) -> Self {
        ServerMessage::Pipeline {
            status: format!("Set pointer visibility to: {}", u8::from(visible)),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            ServerMessage::System(_) => "system",
            ServerMessage::Cursor(_) => "cursor",
            ServerMessage::Pipeline { .. } => "pipeline",
            ServerMessage::Clipboard { .. } => "clipboard",
            ServerMessage::ClipboardPart { .. } => "clipboard_part",
            ServerMessage::ClipboardImagePart { .. } => "clipboard_image",
            ServerMessage::GpuStats { .. } => "gpu_stats",
            ServerMessage::SystemStats { .. } => "system_stats",
            ServerMessage::Ping { .. } => "ping",
            ServerMessage::LatencyMeasurement { .. } => "latency_measurement",
            ServerMessage::VideoStages(_) => "video_stages",
        }
    }

    fn data(&self) -> PyJson {
        let obj = PyJson::Object;
        match self {
            ServerMessage::System(a) => obj(vec![("action", PyJson::Str(a.action()))]),
            ServerMessage::Cursor(c) => c.as_ref().map_or(PyJson::Null, CursorMessage::to_py),
            ServerMessage::Pipeline { status } => {
                obj(vec![("status", PyJson::Str(status.clone()))])
            }
            ServerMessage::Clipboard { content } => {
                obj(vec![("content", PyJson::Str(content.clone()))])
            }
            ServerMessage::ClipboardPart {
                index,
                count,
                content,
            }
            | ServerMessage::ClipboardImagePart {
                index,
                count,
                content,
            } => obj(vec![
                ("index", PyJson::Int((*index).into())),
                ("count", PyJson::Int((*count).into())),
                ("content", PyJson::Str(content.clone())),
            ]),
            ServerMessage::GpuStats {
                load,
                memory_total,
                memory_used,
            } => obj(vec![
                ("load", PyJson::Float(*load)),
                ("memory_total", PyJson::Float(*memory_total)),
                ("memory_used", PyJson::Float(*memory_used)),
            ]),
            ServerMessage::SystemStats {
                cpu_percent,
                mem_total,
                mem_used,
            } => obj(vec![
                ("cpu_percent", PyJson::Float(*cpu_percent)),
                ("mem_total", PyJson::Int(saturating_i64(*mem_total))),
                ("mem_used", PyJson::Int(saturating_i64(*mem_used))),
            ]),
            ServerMessage::Ping { start_time } => {
                obj(vec![("start_time", PyJson::Float(*start_time))])
            }
            ServerMessage::LatencyMeasurement { latency_ms } => {
                obj(vec![("latency_ms", PyJson::Float(*latency_ms))])
            }
            ServerMessage::VideoStages(s) => s.to_py(),
        }
    }

    /// The exact text to send on the data channel.
    pub fn to_json(&self) -> String {
        PyJson::Object(vec![
            ("type", PyJson::Str(self.kind().to_owned())),
            ("data", self.data()),
        ])
        .dumps()
    }
}

fn saturating_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// The messages sent when the data channel opens, in legacy order: the five `system` settings,
/// then the last cursor seen (or `null`).
pub fn initial_burst(
    framerate: u32,
    video_bitrate_kbps: u32,
    audio_bitrate_bps: u32,
    resize: bool,
    encoder: &str,
    cursor: Option<&CursorMessage>,
) -> Vec<String> {
    [
        ServerMessage::System(SystemAction::Framerate(framerate)),
        ServerMessage::System(SystemAction::VideoBitrate(video_bitrate_kbps)),
        ServerMessage::System(SystemAction::AudioBitrate(audio_bitrate_bps)),
        ServerMessage::System(SystemAction::Resize(resize)),
        ServerMessage::System(SystemAction::Encoder(encoder.to_owned())),
        ServerMessage::Cursor(cursor.cloned()),
    ]
    .iter()
    .map(ServerMessage::to_json)
    .collect()
}
