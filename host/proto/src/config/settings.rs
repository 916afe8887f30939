//! Typed settings: [`Settings::resolve_with`] validates the raw [`Args`] strings, applies the JSON
//! overlay and our deliberate defaults (generated Basic-auth password, no public TURN relay),
//! then checks the options that span several flags (`validate.rs`).
//! Pure: the machine's facts, the overlay file's text and the random bytes of a generated
//! password come in through [`HostFacts`], gathered by the host (`selkies_host::config_io`).

use std::path::PathBuf;

use super::overlay::{JsonOverlay, parse_object};
use super::{Args, ConfigError};
use crate::encoder::Encoder;

/// `--enable_clipboard`: which directions the clipboard is synchronised in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClipboardMode {
    /// `true`: both ways.
    Both,
    /// `in`: browser → host only.
    In,
    /// `out`: host → browser only.
    Out,
    /// `false`.
    Off,
}

impl ClipboardMode {
    /// Whether `cw` (browser → host) is honoured.
    pub fn inbound(self) -> bool {
        matches!(self, ClipboardMode::Both | ClipboardMode::In)
    }

    /// Whether the host sends its clipboard (`cr`, change monitor).
    pub fn outbound(self) -> bool {
        matches!(self, ClipboardMode::Both | ClipboardMode::Out)
    }
}

/// `--capture`: which screen capture feeds the video pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureMode {
    /// Damage-driven MIT-SHM capture where the X server allows it, else `ximagesrc`.
    Auto,
    /// Damage-driven MIT-SHM capture only (a session fails to start without it).
    Xshm,
    /// GStreamer's `ximagesrc`, ticking at the frame rate.
    Ximagesrc,
}

impl std::str::FromStr for CaptureMode {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "xshm" => Ok(Self::Xshm),
            "ximagesrc" => Ok(Self::Ximagesrc),
            _ => Err(()),
        }
    }
}

/// `--turn_protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnProtocol {
    Udp,
    Tcp,
}

impl TurnProtocol {
    /// Legacy rule: `tcp` (case-insensitive) is TCP, anything else is UDP.
    pub fn from_legacy(s: &str) -> Self {
        if s.trim().eq_ignore_ascii_case("tcp") {
            TurnProtocol::Tcp
        } else {
            TurnProtocol::Udp
        }
    }

    /// `udp` / `tcp`, as written in `?transport=`.
    pub fn as_str(self) -> &'static str {
        match self {
            TurnProtocol::Udp => "udp",
            TurnProtocol::Tcp => "tcp",
        }
    }
}

/// What the caller read of the `--json_config` file named by the arguments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum OverlayInput {
    /// Not read (tests that do not care): no overlay.
    #[default]
    NotRead,
    /// The file does not exist: no overlay.
    Missing,
    /// The file's text.
    Text(String),
    /// The file exists but could not be read: a warning, no overlay.
    Unreadable(String),
}

/// Machine facts that some legacy defaults depend on, the `--json_config` file's text and the
/// randomness of a generated password; injected so resolution is pure and testable.
#[derive(Debug, Clone, Default)]
pub struct HostFacts {
    /// `$USER`.
    pub user: Option<String>,
    /// The host name (for the default TURN-REST user `selkies-<hostname>`).
    pub hostname: String,
    /// `$XCURSOR_SIZE`.
    pub xcursor_size: Option<String>,
    /// The `--json_config` file as read by the caller.
    pub overlay: OverlayInput,
    /// Random bytes for a generated Basic-auth password ([`RANDOM_BYTES`] are plenty). Empty:
    /// no password is generated, and the host refuses to start with Basic auth and no password.
    pub random: Vec<u8>,
}

/// How many random bytes [`HostFacts::random`] should carry: 16 characters need 16 bytes below
/// 248; 64 bytes fall short of that with a probability under 10^-40.
pub const RANDOM_BYTES: usize = 64;

/// Every host setting, typed. Field names follow the legacy flags.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub json_config: PathBuf,
    pub addr: String,
    pub port: u16,
    /// `None` when neither the flag nor `SELKIES_WEB_ROOT` is given: see [`Settings::web_root_or_else`].
    pub web_root: Option<PathBuf>,
    pub enable_https: bool,
    pub https_cert: PathBuf,
    /// `None` when empty: the key is then expected inside the certificate file.
    pub https_key: Option<PathBuf>,
    pub enable_basic_auth: bool,
    pub basic_auth_user: String,
    pub basic_auth_password: String,
    /// The password was generated because auth is on and none was given: print it once.
    pub password_generated: bool,
    pub rtc_config_json: PathBuf,
    pub turn_rest_uri: Option<String>,
    /// `:` already replaced with `-` as the legacy host does.
    pub turn_rest_username: String,
    pub turn_rest_username_auth_header: String,
    pub turn_rest_protocol_header: String,
    pub turn_rest_tls_header: String,
    pub turn_host: Option<String>,
    pub turn_port: Option<u16>,
    pub turn_protocol: TurnProtocol,
    pub turn_tls: bool,
    pub turn_shared_secret: Option<String>,
    pub turn_username: Option<String>,
    pub turn_password: Option<String>,
    pub stun_host: String,
    pub stun_port: u16,
    pub enable_cloudflare_turn: bool,
    pub cloudflare_turn_token_id: Option<String>,
    pub cloudflare_turn_api_token: Option<String>,
    pub turn_embedded: super::EmbeddedTurn,
    pub app_wait_ready: bool,
    pub app_ready_file: PathBuf,
    pub uinput_mouse_socket: Option<PathBuf>,
    pub js_socket_path: PathBuf,
    pub enable_uinput_gamepads: bool,
    /// `--enable_webcam` (docs/webcam.md).
    pub enable_webcam: bool,
    pub webcam_socket_path: PathBuf,
    pub encoder: Encoder,
    pub gpu_id: u32,
    pub framerate: u32,
    /// kbit/s.
    pub video_bitrate: u32,
    /// Seconds; `None` for the legacy `-1` (infinite GOP).
    pub keyframe_distance: Option<f64>,
    pub congestion_control: bool,
    /// Milliseconds for the playout-delay header extension; `None` for `-1` (not sent).
    pub playout_delay_ms: Option<u32>,
    /// `--capture`.
    pub capture: CaptureMode,
    /// `--transport`.
    pub transport: crate::ws_stream::Transport,
    pub video_packetloss_percent: f64,
    /// bit/s.
    pub audio_bitrate: u32,
    pub audio_channels: u32,
    pub audio_packetloss_percent: f64,
    /// `--audio_silence_ms`: the silence gate's hold; 0 = off.
    pub audio_silence_ms: u32,
    pub enable_clipboard: ClipboardMode,
    pub enable_resize: bool,
    pub enable_cursors: bool,
    pub debug_cursors: bool,
    /// Pixels; `None` for the legacy `-1` (native size).
    pub cursor_size: Option<u32>,
    pub enable_webrtc_statistics: bool,
    pub webrtc_statistics_dir: PathBuf,
    pub enable_metrics_http: bool,
    pub metrics_http_port: u16,
    /// `None`: bind the exporter to `addr`.
    pub metrics_http_addr: Option<String>,
    /// Origins besides the host's own that may open the signalling WebSocket (normalised,
    /// lower-case `scheme://host[:port]`).
    pub allowed_origins: Vec<String>,
    pub header_read_timeout: std::time::Duration,
    /// `None`: unlimited.
    pub max_connections_per_ip: Option<u32>,
    pub ws_timeout: std::time::Duration,
    pub shutdown_timeout: std::time::Duration,
    /// `--max_viewers`: browsers joined with a share link at once; 0: sharing off.
    pub max_viewers: u32,
    /// `--share_secret`; None: a random secret per process.
    pub share_secret: Option<String>,
    pub debug: bool,
    /// Microphone and file transfer.
    pub intake: super::IntakeSettings,
    /// Non-fatal problems found while resolving (e.g. a corrupt `--json_config`). Resolution
    /// happens before logging is set up, so the host logs these once tracing is initialised.
    pub warnings: Vec<String>,
}

pub(super) fn invalid(flag: &'static str, value: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        flag,
        value: value.to_owned(),
        reason: reason.into(),
    }
}

fn boolean(flag: &'static str, v: &str) -> Result<bool, ConfigError> {
    crate::protocol::parse_bool(v.trim()).ok_or_else(|| invalid(flag, v, "expected true or false"))
}

fn number<T: std::str::FromStr>(flag: &'static str, v: &str) -> Result<T, ConfigError> {
    v.trim()
        .parse()
        .map_err(|_| invalid(flag, v, format!("expected {}", std::any::type_name::<T>())))
}

fn positive(flag: &'static str, v: &str) -> Result<u32, ConfigError> {
    match number::<u32>(flag, v)? {
        0 => Err(invalid(flag, v, "must be greater than 0")),
        n => Ok(n),
    }
}

fn percent(flag: &'static str, v: &str) -> Result<f64, ConfigError> {
    let p: f64 = number(flag, v)?;
    if (0.0..=100.0).contains(&p) {
        Ok(p)
    } else {
        Err(invalid(flag, v, "must be between 0 and 100"))
    }
}

/// Largest playout delay the header extension carries (12 bits of 10 ms).
pub const MAX_PLAYOUT_DELAY_MS: u32 = 40_950;

fn playout_delay(v: &str) -> Result<Option<u32>, ConfigError> {
    const FLAG: &str = "playout_delay_ms";
    match number::<i64>(FLAG, v)? {
        -1 => Ok(None),
        ms if (0..=i64::from(MAX_PLAYOUT_DELAY_MS)).contains(&ms) => Ok(Some(ms as u32)),
        _ => Err(invalid(FLAG, v, "must be -1 or between 0 and 40950")),
    }
}

/// A positive number of seconds (fractions allowed) as a duration.
fn seconds(flag: &'static str, v: &str) -> Result<std::time::Duration, ConfigError> {
    let s: f64 = number(flag, v)?;
    if s.is_finite() && s > 0.0 && s <= 86_400.0 {
        Ok(std::time::Duration::from_secs_f64(s))
    } else {
        Err(invalid(flag, v, "must be between 0 and 86400 seconds"))
    }
}

/// Normalises one origin to lower-case `scheme://host[:port]` (default ports dropped), as a
/// browser serialises the `Origin` header.
pub fn normalize_origin(origin: &str) -> Option<String> {
    let o = origin.trim().trim_end_matches('/').to_ascii_lowercase();
    let (scheme, rest) = o.split_once("://")?;
    if !matches!(scheme, "http" | "https") || rest.is_empty() || rest.contains(['/', '@', ' ']) {
        return None;
    }
    let default_port = if scheme == "http" { ":80" } else { ":443" };
    let rest = rest.strip_suffix(default_port).unwrap_or(rest);
    Some(format!("{scheme}://{rest}"))
}

/// `--allowed_origins`: comma- or space-separated origins; `*` allows any (not recommended).
pub fn parse_origins(v: &str) -> Result<Vec<String>, String> {
    v.split([',', ' '])
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|o| {
            if o == "*" {
                Ok("*".to_owned())
            } else {
                normalize_origin(o).ok_or_else(|| format!("{o:?} is not scheme://host[:port]"))
            }
        })
        .collect()
}

fn non_empty(v: &str) -> Option<String> {
    (!v.is_empty()).then(|| v.to_owned())
}

/// Parses a `--enable_clipboard` value.
pub fn parse_clipboard_mode(v: &str) -> Option<ClipboardMode> {
    let t = v.trim();
    if t.eq_ignore_ascii_case("in") {
        Some(ClipboardMode::In)
    } else if t.eq_ignore_ascii_case("out") {
        Some(ClipboardMode::Out)
    } else {
        match crate::protocol::parse_bool(t)? {
            true => Some(ClipboardMode::Both),
            false => Some(ClipboardMode::Off),
        }
    }
}

impl Settings {
    /// Resolves `flags` (without the program name) on a machine with no overlay file and no
    /// random bytes, so Basic auth needs a password flag or `--enable_basic_auth=false`: for
    /// tools and tests that only have a command line.
    pub fn from_flags(flags: &[&str]) -> Result<Settings, ConfigError> {
        use clap::Parser;
        let argv = std::iter::once("selkies-gstreamer").chain(flags.iter().copied());
        let args = Args::try_parse_from(argv).map_err(|e| ConfigError::Flags(e.to_string()))?;
        Settings::resolve_with(args, &HostFacts::default())
    }

    /// Validates `args` against the machine's `facts` and applies the `--json_config` overlay
    /// whose text `facts` carries.
    pub fn resolve_with(args: Args, facts: &HostFacts) -> Result<Settings, ConfigError> {
        let a = args;
        let keyframe_distance: f64 = number("keyframe_distance", &a.keyframe_distance)?;
        let keyframe_distance = if keyframe_distance == -1.0 {
            None
        } else if keyframe_distance.is_finite() && keyframe_distance > 0.0 {
            Some(keyframe_distance)
        } else {
            return Err(invalid(
                "keyframe_distance",
                &a.keyframe_distance,
                "must be -1 or a positive number of seconds",
            ));
        };
        let cursor_raw = a
            .cursor_size
            .clone()
            .or_else(|| facts.xcursor_size.clone().filter(|s| !s.trim().is_empty()))
            .unwrap_or_else(|| "-1".to_owned());
        let cursor_size = match number::<i64>("cursor_size", &cursor_raw)? {
            -1 => None,
            n => Some(
                u32::try_from(n)
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| invalid("cursor_size", &cursor_raw, "must be -1 or > 0"))?,
            ),
        };
        let enable_basic_auth = boolean("enable_basic_auth", &a.enable_basic_auth)?;
        let password_generated = enable_basic_auth && a.basic_auth_password.is_empty();
        let basic_auth_password = if password_generated {
            match facts.random.as_slice() {
                [] => String::new(),
                bytes => password_from_random(bytes).ok_or_else(|| {
                    ConfigError::Random(format!("{} random bytes are too few", bytes.len()))
                })?,
            }
        } else {
            a.basic_auth_password.clone()
        };
        let mut s = Settings {
            json_config: PathBuf::from(&a.json_config),
            addr: a.addr.clone(),
            port: number("port", &a.port)?,
            web_root: a.web_root.as_deref().and_then(non_empty).map(PathBuf::from),
            enable_https: boolean("enable_https", &a.enable_https)?,
            https_cert: PathBuf::from(&a.https_cert),
            https_key: non_empty(&a.https_key).map(PathBuf::from),
            enable_basic_auth,
            basic_auth_user: a
                .basic_auth_user
                .clone()
                .or_else(|| facts.user.clone())
                .unwrap_or_default(),
            basic_auth_password,
            password_generated,
            rtc_config_json: PathBuf::from(&a.rtc_config_json),
            turn_rest_uri: non_empty(&a.turn_rest_uri),
            turn_rest_username: a
                .turn_rest_username
                .clone()
                .unwrap_or_else(|| format!("selkies-{}", facts.hostname))
                .replace(':', "-"),
            turn_rest_username_auth_header: a.turn_rest_username_auth_header.clone(),
            turn_rest_protocol_header: a.turn_rest_protocol_header.clone(),
            turn_rest_tls_header: a.turn_rest_tls_header.clone(),
            turn_host: non_empty(a.turn_host.trim()),
            turn_port: match a.turn_port.trim() {
                "" => None,
                p => Some(number("turn_port", p)?),
            },
            turn_protocol: TurnProtocol::from_legacy(&a.turn_protocol),
            turn_tls: boolean("turn_tls", &a.turn_tls)?,
            turn_shared_secret: non_empty(&a.turn_shared_secret),
            turn_username: non_empty(&a.turn_username),
            turn_password: non_empty(&a.turn_password),
            stun_host: a.stun_host.trim().to_owned(),
            stun_port: number("stun_port", &a.stun_port)?,
            enable_cloudflare_turn: boolean("enable_cloudflare_turn", &a.enable_cloudflare_turn)?,
            cloudflare_turn_token_id: non_empty(&a.cloudflare_turn_token_id),
            cloudflare_turn_api_token: non_empty(&a.cloudflare_turn_api_token),
            turn_embedded: super::EmbeddedTurn::from_args(&a)?,
            app_wait_ready: boolean("app_wait_ready", &a.app_wait_ready)?,
            app_ready_file: PathBuf::from(&a.app_ready_file),
            uinput_mouse_socket: non_empty(&a.uinput_mouse_socket).map(PathBuf::from),
            js_socket_path: PathBuf::from(&a.js_socket_path),
            enable_uinput_gamepads: boolean("enable_uinput_gamepads", &a.enable_uinput_gamepads)?,
            enable_webcam: boolean("enable_webcam", &a.enable_webcam)?,
            webcam_socket_path: PathBuf::from(&a.webcam_socket_path),
            encoder: a
                .encoder
                .parse()
                .map_err(|_| invalid("encoder", &a.encoder, "unknown encoder"))?,
            gpu_id: number("gpu_id", &a.gpu_id)?,
            framerate: positive("framerate", &a.framerate)?,
            video_bitrate: positive("video_bitrate", &a.video_bitrate)?,
            keyframe_distance,
            congestion_control: boolean("congestion_control", &a.congestion_control)?,
            playout_delay_ms: playout_delay(&a.playout_delay_ms)?,
            capture: a
                .capture
                .parse()
                .map_err(|_| invalid("capture", &a.capture, "must be auto, xshm or ximagesrc"))?,
            transport: a.transport.parse().map_err(|_| {
                invalid(
                    "transport",
                    &a.transport,
                    "must be auto, webrtc or websocket",
                )
            })?,
            video_packetloss_percent: percent(
                "video_packetloss_percent",
                &a.video_packetloss_percent,
            )?,
            audio_bitrate: positive("audio_bitrate", &a.audio_bitrate)?,
            audio_channels: positive("audio_channels", &a.audio_channels)?,
            audio_packetloss_percent: percent(
                "audio_packetloss_percent",
                &a.audio_packetloss_percent,
            )?,
            audio_silence_ms: number("audio_silence_ms", &a.audio_silence_ms)?,
            enable_clipboard: parse_clipboard_mode(&a.enable_clipboard).ok_or_else(|| {
                invalid(
                    "enable_clipboard",
                    &a.enable_clipboard,
                    "expected true, false, in or out",
                )
            })?,
            enable_resize: boolean("enable_resize", &a.enable_resize)?,
            enable_cursors: boolean("enable_cursors", &a.enable_cursors)?,
            debug_cursors: boolean("debug_cursors", &a.debug_cursors)?,
            cursor_size,
            enable_webrtc_statistics: boolean(
                "enable_webrtc_statistics",
                &a.enable_webrtc_statistics,
            )?,
            webrtc_statistics_dir: PathBuf::from(&a.webrtc_statistics_dir),
            enable_metrics_http: boolean("enable_metrics_http", &a.enable_metrics_http)?,
            metrics_http_port: number("metrics_http_port", &a.metrics_http_port)?,
            metrics_http_addr: non_empty(a.metrics_http_addr.trim()),
            allowed_origins: parse_origins(&a.allowed_origins)
                .map_err(|reason| invalid("allowed_origins", &a.allowed_origins, reason))?,
            header_read_timeout: seconds("header_read_timeout", &a.header_read_timeout)?,
            max_connections_per_ip: match number::<u32>(
                "max_connections_per_ip",
                &a.max_connections_per_ip,
            )? {
                0 => None,
                n => Some(n),
            },
            ws_timeout: seconds("ws_timeout", &a.ws_timeout)?,
            max_viewers: number("max_viewers", &a.max_viewers)?,
            share_secret: non_empty(&a.share_secret),
            shutdown_timeout: seconds("shutdown_timeout", &a.shutdown_timeout)?,
            debug: a.debug,
            intake: super::IntakeSettings::from_args(&a.intake)?,
            warnings: Vec::new(),
        };
        let parsed = match &facts.overlay {
            OverlayInput::NotRead | OverlayInput::Missing => Ok(None),
            OverlayInput::Text(text) => parse_object(&s.json_config, text),
            OverlayInput::Unreadable(e) => {
                s.warnings.push(format!(
                    "ignoring --json_config: {}: {e}",
                    s.json_config.display()
                ));
                Ok(None)
            }
        };
        match parsed {
            Ok(Some(map)) => {
                JsonOverlay::from_map(&map).apply(&mut s);
                s.intake.apply_overlay(&map, &mut s.warnings);
            }
            Ok(None) => {}
            Err(e) => s.warnings.push(format!("ignoring --json_config: {e}")),
        }
        s.validate()?;
        let combinations = s.combination_warnings();
        s.warnings.extend(combinations);
        Ok(s)
    }

    /// The web root: the flag/env value if given, else the host's own default.
    pub fn web_root_or_else(&self, default: impl FnOnce() -> PathBuf) -> PathBuf {
        self.web_root.clone().unwrap_or_else(default)
    }
}

/// 16 characters from `[A-Za-z0-9]`, uniformly, from `random` (rejection sampling avoids
/// modulo bias); `None` when too few of the bytes are usable.
pub fn password_from_random(random: &[u8]) -> Option<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    const LEN: usize = 16;
    let out: String = random
        .iter()
        // 248 = 4 × 62: bytes at or above it would bias the first characters.
        .filter(|b| **b < 248)
        .take(LEN)
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect();
    (out.len() == LEN).then_some(out)
}
