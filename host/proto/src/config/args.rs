//! The raw command line: every legacy flag (docs/protocol.md §1) with its exact underscore
//! spelling, `SELKIES_*` environment variable and built-in default.
//!
//! Values stay strings here, as in the legacy argparse parser (`--enable_https=false`);
//! [`super::Settings::resolve`] turns them into typed settings. Precedence CLI > env > default
//! comes from clap's `env` support. Defaults that depend on the machine (`$USER`, hostname,
//! `$XCURSOR_SIZE`, the web root) are `Option`s resolved later, so `--help` is deterministic.

use clap::Parser;

legacy_flags! {
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
        json_config: text("SELKIES_JSON_CONFIG", "/tmp/selkies_config.json"),

        /// Listen address of the combined HTTP + WebSocket server
        addr: text("SELKIES_ADDR", "0.0.0.0"),

        /// Listen port
        port: text("SELKIES_PORT", "8080"),

        /// Directory of the web client files [default: chosen by the host]
        web_root: maybe("SELKIES_WEB_ROOT"),

        /// Serve HTTPS/WSS on the same port
        enable_https: switch("SELKIES_ENABLE_HTTPS", "false"),

        /// TLS certificate (PEM)
        https_cert: text("SELKIES_HTTPS_CERT", "/etc/ssl/certs/ssl-cert-snakeoil.pem"),

        /// TLS private key (PEM); empty or missing means the key is inside the certificate file
        https_key: text("SELKIES_HTTPS_KEY", "/etc/ssl/private/ssl-cert-snakeoil.key"),

        /// HTTP Basic authentication on every request
        enable_basic_auth: switch("SELKIES_ENABLE_BASIC_AUTH", "true"),

        /// Basic auth user [default: $USER]
        basic_auth_user: maybe("SELKIES_BASIC_AUTH_USER"),

        /// Basic auth password; empty with auth on means a random one is generated and printed
        basic_auth_password: text("SELKIES_BASIC_AUTH_PASSWORD", ""),

        /// RTC config JSON file; if it exists it overrides all other STUN/TURN settings (watched)
        rtc_config_json: text("SELKIES_RTC_CONFIG_JSON", "/tmp/rtc.json"),

        /// TURN-REST service URI to fetch the RTC config from
        turn_rest_uri: text("SELKIES_TURN_REST_URI", ""),

        /// User sent to the TURN-REST service [default: selkies-<hostname>]
        turn_rest_username: maybe("SELKIES_TURN_REST_USERNAME"),

        /// Header carrying the user (to TURN-REST, and read by /turn in shared-secret mode)
        turn_rest_username_auth_header: text("SELKIES_TURN_REST_USERNAME_AUTH_HEADER", "x-auth-user"),

        /// Header carrying the TURN protocol (udp/tcp) to TURN-REST
        turn_rest_protocol_header: text("SELKIES_TURN_REST_PROTOCOL_HEADER", "x-turn-protocol"),

        /// Header carrying TURN TLS (true/false) to TURN-REST
        turn_rest_tls_header: text("SELKIES_TURN_REST_TLS_HEADER", "x-turn-tls"),

        /// TURN host (bracket IPv6: [::1]); empty = no TURN relay
        turn_host: text("SELKIES_TURN_HOST", ""),

        /// TURN port
        turn_port: text("SELKIES_TURN_PORT", ""),

        /// TURN transport: udp or tcp (anything but tcp means udp)
        turn_protocol: text("SELKIES_TURN_PROTOCOL", "udp"),

        /// Use turns: (TLS) TURN URIs
        turn_tls: switch("SELKIES_TURN_TLS", "false"),

        /// coturn static-auth-secret for time-limited (HMAC) TURN credentials
        turn_shared_secret: text("SELKIES_TURN_SHARED_SECRET", ""),

        /// Long-term TURN username
        turn_username: text("SELKIES_TURN_USERNAME", ""),

        /// Long-term TURN password
        turn_password: text("SELKIES_TURN_PASSWORD", ""),

        /// STUN host
        stun_host: text("SELKIES_STUN_HOST", "stun.l.google.com"),

        /// STUN port
        stun_port: text("SELKIES_STUN_PORT", "19302"),

        /// Use Cloudflare Calls TURN
        enable_cloudflare_turn: switch("SELKIES_ENABLE_CLOUDFLARE_TURN", "false"),

        /// Cloudflare TURN key id
        cloudflare_turn_token_id: text("SELKIES_CLOUDFLARE_TURN_TOKEN_ID", ""),

        /// Cloudflare API bearer token
        cloudflare_turn_api_token: text("SELKIES_CLOUDFLARE_TURN_API_TOKEN", ""),

        /// Embedded TURN relay on the host's own port: auto (on when no other TURN is configured), true or false
        turn_embedded: mode("SELKIES_TURN_EMBEDDED", "auto"),

        /// Address advertised in embedded-TURN URIs instead of the host the browser used (NAT 1:1, Kubernetes hostPort)
        turn_embedded_external_ip: text("SELKIES_TURN_EMBEDDED_EXTERNAL_IP", ""),

        /// Relay ports of the embedded TURN relay, LOW-HIGH; empty for ephemeral ports
        turn_embedded_ports: text("SELKIES_TURN_EMBEDDED_PORTS", ""),

        /// Lifetime in seconds of embedded-TURN credentials minted per request
        turn_embedded_ttl: text("SELKIES_TURN_EMBEDDED_TTL", "600"),

        /// TURN-REST secret of the embedded relay; empty for a random per-process secret
        turn_embedded_secret: text("SELKIES_TURN_EMBEDDED_SECRET", ""),

        /// Wait for --app_ready_file to exist before starting
        app_wait_ready: switch("SELKIES_APP_WAIT_READY", "false"),

        /// Readiness marker file
        app_ready_file: text("SELKIES_APP_READY_FILE", "/tmp/selkies-appready"),

        /// Unix datagram socket for relative mouse events (uinput helper); empty = XTest
        uinput_mouse_socket: text("SELKIES_UINPUT_MOUSE_SOCKET", ""),

        /// Directory for the joystick interposer sockets selkies_js{0..3}.sock
        js_socket_path: text("SELKIES_JS_SOCKET_PATH", "/tmp"),

        /// Create real virtual gamepads through /dev/uinput when it is writable, instead of interposer sockets (not in the legacy host)
        enable_uinput_gamepads: switch("SELKIES_ENABLE_UINPUT_GAMEPADS", "false"),

        /// Let the browser send its camera; applications see it as /dev/video0 through the webcam interposer, or a writable v4l2loopback device (docs/webcam.md; off by default: privacy)
        enable_webcam: switch("SELKIES_ENABLE_WEBCAM", "false"),

        /// Unix socket the webcam interposer (SELKIES_WEBCAM_SOCKET) reads camera frames from
        webcam_socket_path: text("SELKIES_WEBCAM_SOCKET_PATH", "/tmp/selkies_webcam.sock"),

        /// Video encoder: nvh264enc nvh265enc nvav1enc vah264enc vah265enc vavp9enc vaav1enc x264enc openh264enc x265enc vp8enc vp9enc svtav1enc av1enc rav1enc
        encoder: text("SELKIES_ENCODER", "x264enc"),

        /// GPU index (NVENC device / VA renderD128+N)
        gpu_id: text("SELKIES_GPU_ID", "0"),

        /// Capture framerate (fps)
        framerate: text("SELKIES_FRAMERATE", "60"),

        /// Initial video bitrate (kbit/s)
        video_bitrate: text("SELKIES_VIDEO_BITRATE", "8000"),

        /// Keyframe distance in seconds; -1 = infinite GOP
        keyframe_distance: signed("SELKIES_KEYFRAME_DISTANCE", "-1"),

        /// Congestion control (GCC via rtpgccbwe + TWCC)
        congestion_control: switch("SELKIES_CONGESTION_CONTROL", "false"),

        /// Playout delay asked of the browser (ms, 0-40950, sent as the playout-delay RTP header extension on every video packet); -1 = do not send it (not in the legacy host, which always sent 0)
        playout_delay_ms: signed("SELKIES_PLAYOUT_DELAY_MS", "0"),

        /// Screen capture: auto = damage-driven MIT-SHM capture, falling back to ximagesrc where the X server lacks MIT-SHM or DAMAGE; xshm = that capture only; ximagesrc = GStreamer's clock-ticked ximagesrc (the previous default)
        capture: choice("SELKIES_CAPTURE", "auto", "auto|xshm|ximagesrc"),

        /// How browsers get the stream: auto = WebRTC, and the client falls back to streaming over the signalling WebSocket when ICE does not connect; webrtc = WebRTC only; websocket = the WebSocket only (docs/connectivity.md "Two transports")
        transport: choice("SELKIES_TRANSPORT", "auto", "auto|webrtc|websocket"),

        /// Expected video packet loss (%); > 0 enables ULP-FEC/RED
        video_packetloss_percent: text("SELKIES_VIDEO_PACKETLOSS_PERCENT", "0"),

        /// Opus bitrate (bit/s)
        audio_bitrate: text("SELKIES_AUDIO_BITRATE", "128000"),

        /// Audio channels (> 2 uses MULTIOPUS)
        audio_channels: text("SELKIES_AUDIO_CHANNELS", "2"),

        /// Expected audio packet loss (%); > 0 enables Opus in-band FEC
        audio_packetloss_percent: text("SELKIES_AUDIO_PACKETLOSS_PERCENT", "0"),

        /// Stop encoding desktop audio after this many ms of digital silence and send nothing until sound returns (its first buffer goes out at once); 0 = always encode (docs/benchmarks.md "Audio")
        audio_silence_ms: text("SELKIES_AUDIO_SILENCE_MS", "300"),

        /// Clipboard: true (both ways), false, in (browser to host only), out (host to browser only)
        enable_clipboard: text("SELKIES_ENABLE_CLIPBOARD", "true"),

        /// Resize the X screen to the browser window and set DPI
        enable_resize: switch("SELKIES_ENABLE_RESIZE", "false"),

        /// Send cursor shapes to the browser
        enable_cursors: switch("SELKIES_ENABLE_CURSORS", "true"),

        /// Log cursor changes and dump cursor PNGs
        debug_cursors: switch("SELKIES_DEBUG_CURSORS", "false"),

        /// Rescale cursor images to N x N pixels; -1 = native size [default: $XCURSOR_SIZE, else -1]
        cursor_size: maybe_signed("SELKIES_CURSOR_SIZE"),

        /// Dump client-posted WebRTC statistics to CSV
        enable_webrtc_statistics: switch("SELKIES_ENABLE_WEBRTC_STATISTICS", "false"),

        /// Directory for the statistics CSV files
        webrtc_statistics_dir: text("SELKIES_WEBRTC_STATISTICS_DIR", "/tmp"),

        /// Prometheus metrics exporter
        enable_metrics_http: switch("SELKIES_ENABLE_METRICS_HTTP", "false"),

        /// Prometheus exporter port
        metrics_http_port: text("SELKIES_METRICS_HTTP_PORT", "8000"),

        /// Listen address of the metrics exporter; empty = the same address as --addr (0.0.0.0 for all interfaces)
        metrics_http_addr: text("SELKIES_METRICS_HTTP_ADDR", ""),

        /// Extra origins (scheme://host[:port], comma-separated) allowed to open the signalling WebSocket, e.g. behind a reverse proxy; the host's own origin is always allowed
        allowed_origins: text("SELKIES_ALLOWED_ORIGINS", ""),

        /// Seconds a client may take to send the request headers before the connection is closed
        header_read_timeout: text("SELKIES_HEADER_READ_TIMEOUT", "10"),

        /// Open connections allowed per client IP address; 0 = unlimited
        max_connections_per_ip: text("SELKIES_MAX_CONNECTIONS_PER_IP", "64"),

        /// Seconds of silence (no frame, no pong) after which a signalling WebSocket is closed as dead
        ws_timeout: text("SELKIES_WS_TIMEOUT", "15"),

        /// Most browsers that may join with a share link at once (docs/sharing.md); 0 disables sharing
        max_viewers: text("SELKIES_MAX_VIEWERS", "8"),

        /// Secret that signs share links; empty: a random one per process (links die with it)
        share_secret: text("SELKIES_SHARE_SECRET", ""),

        /// Seconds to wait for open connections on SIGTERM/SIGINT before exiting anyway
        shutdown_timeout: text("SELKIES_SHUTDOWN_TIMEOUT", "3"),
    } extra {
        /// Debug logging
        #[arg(long = "debug")]
        pub debug: bool,

        /// Microphone and file transfer (docs/microphone.md, docs/files.md).
        #[command(flatten)]
        pub intake: super::intake::IntakeArgs,
    }
}

impl Args {
    /// Parses the process arguments and `SELKIES_*` environment; prints help/errors and exits
    /// like any clap program (exit code 2 on a usage error).
    pub fn parse_from_env() -> Self {
        Args::parse()
    }
}
