//! The raw command line: every legacy flag (docs/protocol.md §1) with its exact underscore
//! spelling, `SELKIES_*` environment variable and built-in default.
//!
//! Values stay strings here, as in the legacy argparse parser (`--enable_https=false`);
//! [`super::Settings::resolve`] turns them into typed settings. Precedence CLI > env > default
//! comes from clap's `env` support. Defaults that depend on the machine (`$USER`, hostname,
//! `$XCURSOR_SIZE`, the web root) are `Option`s resolved later, so `--help` is deterministic.

use clap::Parser;

/// Raw values of every host flag.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "selkies-gstreamer",
    about = "Stream an X11 desktop and PulseAudio to a browser over WebRTC",
    long_about = None,
    // Env values may hold secrets (passwords, TURN secret): never echo them in --help.
    mut_args = |a: clap::Arg| a.hide_env_values(true),
    // Legacy argparse keeps the last value of a repeated flag; launch scripts that append user
    // flags to their defaults rely on it.
    args_override_self = true,
)]
pub struct Args {
    /// JSON overlay file; runtime changes (bitrate, framerate, resize) are persisted there
    #[arg(
        long = "json_config",
        env = "SELKIES_JSON_CONFIG",
        default_value = "/tmp/selkies_config.json"
    )]
    pub json_config: String,

    /// Listen address of the combined HTTP + WebSocket server
    #[arg(long = "addr", env = "SELKIES_ADDR", default_value = "0.0.0.0")]
    pub addr: String,

    /// Listen port
    #[arg(long = "port", env = "SELKIES_PORT", default_value = "8080")]
    pub port: String,

    /// Directory of the web client files [default: chosen by the host]
    #[arg(long = "web_root", env = "SELKIES_WEB_ROOT")]
    pub web_root: Option<String>,

    /// Serve HTTPS/WSS on the same port
    #[arg(long = "enable_https", env = "SELKIES_ENABLE_HTTPS", default_value = "false", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub enable_https: String,

    /// TLS certificate (PEM)
    #[arg(
        long = "https_cert",
        env = "SELKIES_HTTPS_CERT",
        default_value = "/etc/ssl/certs/ssl-cert-snakeoil.pem"
    )]
    pub https_cert: String,

    /// TLS private key (PEM); empty or missing means the key is inside the certificate file
    #[arg(
        long = "https_key",
        env = "SELKIES_HTTPS_KEY",
        default_value = "/etc/ssl/private/ssl-cert-snakeoil.key"
    )]
    pub https_key: String,

    /// HTTP Basic authentication on every request
    #[arg(long = "enable_basic_auth", env = "SELKIES_ENABLE_BASIC_AUTH", default_value = "true", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub enable_basic_auth: String,

    /// Basic auth user [default: $USER]
    #[arg(long = "basic_auth_user", env = "SELKIES_BASIC_AUTH_USER")]
    pub basic_auth_user: Option<String>,

    /// Basic auth password; empty with auth on means a random one is generated and printed
    #[arg(
        long = "basic_auth_password",
        env = "SELKIES_BASIC_AUTH_PASSWORD",
        default_value = ""
    )]
    pub basic_auth_password: String,

    /// RTC config JSON file; if it exists it overrides all other STUN/TURN settings (watched)
    #[arg(
        long = "rtc_config_json",
        env = "SELKIES_RTC_CONFIG_JSON",
        default_value = "/tmp/rtc.json"
    )]
    pub rtc_config_json: String,

    /// TURN-REST service URI to fetch the RTC config from
    #[arg(
        long = "turn_rest_uri",
        env = "SELKIES_TURN_REST_URI",
        default_value = ""
    )]
    pub turn_rest_uri: String,

    /// User sent to the TURN-REST service [default: selkies-<hostname>]
    #[arg(long = "turn_rest_username", env = "SELKIES_TURN_REST_USERNAME")]
    pub turn_rest_username: Option<String>,

    /// Header carrying the user (to TURN-REST, and read by /turn in shared-secret mode)
    #[arg(
        long = "turn_rest_username_auth_header",
        env = "SELKIES_TURN_REST_USERNAME_AUTH_HEADER",
        default_value = "x-auth-user"
    )]
    pub turn_rest_username_auth_header: String,

    /// Header carrying the TURN protocol (udp/tcp) to TURN-REST
    #[arg(
        long = "turn_rest_protocol_header",
        env = "SELKIES_TURN_REST_PROTOCOL_HEADER",
        default_value = "x-turn-protocol"
    )]
    pub turn_rest_protocol_header: String,

    /// Header carrying TURN TLS (true/false) to TURN-REST
    #[arg(
        long = "turn_rest_tls_header",
        env = "SELKIES_TURN_REST_TLS_HEADER",
        default_value = "x-turn-tls"
    )]
    pub turn_rest_tls_header: String,

    /// TURN host (bracket IPv6: [::1]); empty = no TURN relay
    #[arg(long = "turn_host", env = "SELKIES_TURN_HOST", default_value = "")]
    pub turn_host: String,

    /// TURN port
    #[arg(long = "turn_port", env = "SELKIES_TURN_PORT", default_value = "")]
    pub turn_port: String,

    /// TURN transport: udp or tcp (anything but tcp means udp)
    #[arg(
        long = "turn_protocol",
        env = "SELKIES_TURN_PROTOCOL",
        default_value = "udp"
    )]
    pub turn_protocol: String,

    /// Use turns: (TLS) TURN URIs
    #[arg(long = "turn_tls", env = "SELKIES_TURN_TLS", default_value = "false", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub turn_tls: String,

    /// coturn static-auth-secret for time-limited (HMAC) TURN credentials
    #[arg(
        long = "turn_shared_secret",
        env = "SELKIES_TURN_SHARED_SECRET",
        default_value = ""
    )]
    pub turn_shared_secret: String,

    /// Long-term TURN username
    #[arg(
        long = "turn_username",
        env = "SELKIES_TURN_USERNAME",
        default_value = ""
    )]
    pub turn_username: String,

    /// Long-term TURN password
    #[arg(
        long = "turn_password",
        env = "SELKIES_TURN_PASSWORD",
        default_value = ""
    )]
    pub turn_password: String,

    /// STUN host
    #[arg(
        long = "stun_host",
        env = "SELKIES_STUN_HOST",
        default_value = "stun.l.google.com"
    )]
    pub stun_host: String,

    /// STUN port
    #[arg(long = "stun_port", env = "SELKIES_STUN_PORT", default_value = "19302")]
    pub stun_port: String,

    /// Use Cloudflare Calls TURN
    #[arg(long = "enable_cloudflare_turn", env = "SELKIES_ENABLE_CLOUDFLARE_TURN", default_value = "false", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub enable_cloudflare_turn: String,

    /// Cloudflare TURN key id
    #[arg(
        long = "cloudflare_turn_token_id",
        env = "SELKIES_CLOUDFLARE_TURN_TOKEN_ID",
        default_value = ""
    )]
    pub cloudflare_turn_token_id: String,

    /// Cloudflare API bearer token
    #[arg(
        long = "cloudflare_turn_api_token",
        env = "SELKIES_CLOUDFLARE_TURN_API_TOKEN",
        default_value = ""
    )]
    pub cloudflare_turn_api_token: String,

    /// Embedded TURN relay on the host's own port: auto (on when no other TURN is configured), true or false
    #[arg(
        long = "turn_embedded",
        env = "SELKIES_TURN_EMBEDDED",
        default_value = "auto",
        value_name = "MODE",
        num_args = 0..=1,
        default_missing_value = "true"
    )]
    pub turn_embedded: String,

    /// Address advertised in embedded-TURN URIs instead of the host the browser used (NAT 1:1, Kubernetes hostPort)
    #[arg(
        long = "turn_embedded_external_ip",
        env = "SELKIES_TURN_EMBEDDED_EXTERNAL_IP",
        default_value = ""
    )]
    pub turn_embedded_external_ip: String,

    /// Relay ports of the embedded TURN relay, LOW-HIGH; empty for ephemeral ports
    #[arg(
        long = "turn_embedded_ports",
        env = "SELKIES_TURN_EMBEDDED_PORTS",
        default_value = ""
    )]
    pub turn_embedded_ports: String,

    /// Lifetime in seconds of embedded-TURN credentials minted per request
    #[arg(
        long = "turn_embedded_ttl",
        env = "SELKIES_TURN_EMBEDDED_TTL",
        default_value = "600"
    )]
    pub turn_embedded_ttl: String,

    /// TURN-REST secret of the embedded relay; empty for a random per-process secret
    #[arg(
        long = "turn_embedded_secret",
        env = "SELKIES_TURN_EMBEDDED_SECRET",
        default_value = ""
    )]
    pub turn_embedded_secret: String,

    /// Wait for --app_ready_file to exist before starting
    #[arg(long = "app_wait_ready", env = "SELKIES_APP_WAIT_READY", default_value = "false", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub app_wait_ready: String,

    /// Readiness marker file
    #[arg(
        long = "app_ready_file",
        env = "SELKIES_APP_READY_FILE",
        default_value = "/tmp/selkies-appready"
    )]
    pub app_ready_file: String,

    /// Unix datagram socket for relative mouse events (uinput helper); empty = XTest
    #[arg(
        long = "uinput_mouse_socket",
        env = "SELKIES_UINPUT_MOUSE_SOCKET",
        default_value = ""
    )]
    pub uinput_mouse_socket: String,

    /// Directory for the joystick interposer sockets selkies_js{0..3}.sock
    #[arg(
        long = "js_socket_path",
        env = "SELKIES_JS_SOCKET_PATH",
        default_value = "/tmp"
    )]
    pub js_socket_path: String,

    /// Create real virtual gamepads through /dev/uinput when it is writable, instead of interposer sockets (not in the legacy host)
    #[arg(long = "enable_uinput_gamepads", env = "SELKIES_ENABLE_UINPUT_GAMEPADS", default_value = "false", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub enable_uinput_gamepads: String,

    /// Let the browser send its camera; applications see it as /dev/video0 through the webcam interposer, or a writable v4l2loopback device (docs/webcam.md; off by default: privacy)
    #[arg(long = "enable_webcam", env = "SELKIES_ENABLE_WEBCAM", default_value = "false", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub enable_webcam: String,

    /// Unix socket the webcam interposer (SELKIES_WEBCAM_SOCKET) reads camera frames from
    #[arg(
        long = "webcam_socket_path",
        env = "SELKIES_WEBCAM_SOCKET_PATH",
        default_value = "/tmp/selkies_webcam.sock"
    )]
    pub webcam_socket_path: String,

    /// Video encoder: nvh264enc nvh265enc nvav1enc vah264enc vah265enc vavp9enc vaav1enc x264enc openh264enc x265enc vp8enc vp9enc svtav1enc av1enc rav1enc
    #[arg(long = "encoder", env = "SELKIES_ENCODER", default_value = "x264enc")]
    pub encoder: String,

    /// GPU index (NVENC device / VA renderD128+N)
    #[arg(long = "gpu_id", env = "SELKIES_GPU_ID", default_value = "0")]
    pub gpu_id: String,

    /// Capture framerate (fps)
    #[arg(long = "framerate", env = "SELKIES_FRAMERATE", default_value = "60")]
    pub framerate: String,

    /// Initial video bitrate (kbit/s)
    #[arg(
        long = "video_bitrate",
        env = "SELKIES_VIDEO_BITRATE",
        default_value = "8000"
    )]
    pub video_bitrate: String,

    /// Keyframe distance in seconds; -1 = infinite GOP
    #[arg(
        long = "keyframe_distance",
        env = "SELKIES_KEYFRAME_DISTANCE",
        default_value = "-1",
        allow_hyphen_values = true
    )]
    pub keyframe_distance: String,

    /// Congestion control (GCC via rtpgccbwe + TWCC)
    #[arg(long = "congestion_control", env = "SELKIES_CONGESTION_CONTROL", default_value = "false", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub congestion_control: String,

    /// Playout delay asked of the browser (ms, 0-40950, sent as the playout-delay RTP header extension on every video packet); -1 = do not send it (not in the legacy host, which always sent 0)
    #[arg(
        long = "playout_delay_ms",
        env = "SELKIES_PLAYOUT_DELAY_MS",
        default_value = "0",
        allow_hyphen_values = true
    )]
    pub playout_delay_ms: String,

    /// Screen capture: auto = damage-driven MIT-SHM capture, falling back to ximagesrc where the X server lacks MIT-SHM or DAMAGE; xshm = that capture only; ximagesrc = GStreamer's clock-ticked ximagesrc (the previous default)
    #[arg(
        long = "capture",
        env = "SELKIES_CAPTURE",
        default_value = "auto",
        value_name = "auto|xshm|ximagesrc"
    )]
    pub capture: String,

    /// How browsers get the stream: auto = WebRTC, and the client falls back to streaming over the signalling WebSocket when ICE does not connect; webrtc = WebRTC only; websocket = the WebSocket only (docs/connectivity.md "Two transports")
    #[arg(
        long = "transport",
        env = "SELKIES_TRANSPORT",
        default_value = "auto",
        value_name = "auto|webrtc|websocket"
    )]
    pub transport: String,

    /// Expected video packet loss (%); > 0 enables ULP-FEC/RED
    #[arg(
        long = "video_packetloss_percent",
        env = "SELKIES_VIDEO_PACKETLOSS_PERCENT",
        default_value = "0"
    )]
    pub video_packetloss_percent: String,

    /// Opus bitrate (bit/s)
    #[arg(
        long = "audio_bitrate",
        env = "SELKIES_AUDIO_BITRATE",
        default_value = "128000"
    )]
    pub audio_bitrate: String,

    /// Audio channels (> 2 uses MULTIOPUS)
    #[arg(
        long = "audio_channels",
        env = "SELKIES_AUDIO_CHANNELS",
        default_value = "2"
    )]
    pub audio_channels: String,

    /// Expected audio packet loss (%); > 0 enables Opus in-band FEC
    #[arg(
        long = "audio_packetloss_percent",
        env = "SELKIES_AUDIO_PACKETLOSS_PERCENT",
        default_value = "0"
    )]
    pub audio_packetloss_percent: String,

    /// Stop encoding desktop audio after this many ms of digital silence and send nothing until sound returns (its first buffer goes out at once); 0 = always encode (docs/benchmarks.md "Audio")
    #[arg(
        long = "audio_silence_ms",
        env = "SELKIES_AUDIO_SILENCE_MS",
        default_value = "300"
    )]
    pub audio_silence_ms: String,

    /// Clipboard: true (both ways), false, in (browser to host only), out (host to browser only)
    #[arg(
        long = "enable_clipboard",
        env = "SELKIES_ENABLE_CLIPBOARD",
        default_value = "true"
    )]
    pub enable_clipboard: String,

    /// Resize the X screen to the browser window and set DPI
    #[arg(long = "enable_resize", env = "SELKIES_ENABLE_RESIZE", default_value = "false", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub enable_resize: String,

    /// Send cursor shapes to the browser
    #[arg(long = "enable_cursors", env = "SELKIES_ENABLE_CURSORS", default_value = "true", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub enable_cursors: String,

    /// Log cursor changes and dump cursor PNGs
    #[arg(long = "debug_cursors", env = "SELKIES_DEBUG_CURSORS", default_value = "false", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub debug_cursors: String,

    /// Rescale cursor images to N x N pixels; -1 = native size [default: $XCURSOR_SIZE, else -1]
    #[arg(
        long = "cursor_size",
        env = "SELKIES_CURSOR_SIZE",
        allow_hyphen_values = true
    )]
    pub cursor_size: Option<String>,

    /// Dump client-posted WebRTC statistics to CSV
    #[arg(long = "enable_webrtc_statistics", env = "SELKIES_ENABLE_WEBRTC_STATISTICS", default_value = "false", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub enable_webrtc_statistics: String,

    /// Directory for the statistics CSV files
    #[arg(
        long = "webrtc_statistics_dir",
        env = "SELKIES_WEBRTC_STATISTICS_DIR",
        default_value = "/tmp"
    )]
    pub webrtc_statistics_dir: String,

    /// Prometheus metrics exporter
    #[arg(long = "enable_metrics_http", env = "SELKIES_ENABLE_METRICS_HTTP", default_value = "false", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub enable_metrics_http: String,

    /// Prometheus exporter port
    #[arg(
        long = "metrics_http_port",
        env = "SELKIES_METRICS_HTTP_PORT",
        default_value = "8000"
    )]
    pub metrics_http_port: String,

    /// Listen address of the metrics exporter; empty = the same address as --addr (0.0.0.0 for all interfaces)
    #[arg(
        long = "metrics_http_addr",
        env = "SELKIES_METRICS_HTTP_ADDR",
        default_value = ""
    )]
    pub metrics_http_addr: String,

    /// Extra origins (scheme://host[:port], comma-separated) allowed to open the signalling WebSocket, e.g. behind a reverse proxy; the host's own origin is always allowed
    #[arg(
        long = "allowed_origins",
        env = "SELKIES_ALLOWED_ORIGINS",
        default_value = ""
    )]
    pub allowed_origins: String,

    /// Seconds a client may take to send the request headers before the connection is closed
    #[arg(
        long = "header_read_timeout",
        env = "SELKIES_HEADER_READ_TIMEOUT",
        default_value = "10"
    )]
    pub header_read_timeout: String,

    /// Open connections allowed per client IP address; 0 = unlimited
    #[arg(
        long = "max_connections_per_ip",
        env = "SELKIES_MAX_CONNECTIONS_PER_IP",
        default_value = "64"
    )]
    pub max_connections_per_ip: String,

    /// Seconds of silence (no frame, no pong) after which a signalling WebSocket is closed as dead
    #[arg(long = "ws_timeout", env = "SELKIES_WS_TIMEOUT", default_value = "15")]
    pub ws_timeout: String,

    /// Most browsers that may join with a share link at once (docs/sharing.md); 0 disables sharing
    #[arg(long = "max_viewers", env = "SELKIES_MAX_VIEWERS", default_value = "8")]
    pub max_viewers: String,

    /// Secret that signs share links; empty: a random one per process (links die with it)
    #[arg(
        long = "share_secret",
        env = "SELKIES_SHARE_SECRET",
        default_value = ""
    )]
    pub share_secret: String,

    /// Seconds to wait for open connections on SIGTERM/SIGINT before exiting anyway
    #[arg(
        long = "shutdown_timeout",
        env = "SELKIES_SHUTDOWN_TIMEOUT",
        default_value = "3"
    )]
    pub shutdown_timeout: String,

    /// Debug logging
    #[arg(long = "debug")]
    pub debug: bool,

    /// Microphone and file transfer (docs/microphone.md, docs/files.md).
    #[command(flatten)]
    pub intake: super::intake::IntakeArgs,
}

impl Args {
    /// Parses the process arguments and `SELKIES_*` environment; prints help/errors and exits
    /// like any clap program (exit code 2 on a usage error).
    pub fn parse_from_env() -> Self {
        Args::parse()
    }
}
