//! `selkies-gstreamer`: the host binary. Resolves the configuration, starts the services in
//! order (GStreamer, RTC config, signalling and the host peers, input, HTTP), and stops them in
//! reverse order on SIGINT/SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use selkies_host::desktop::Desktop;
use selkies_host::host::{Host, LiveSettings, Services, StaticSettings};
use selkies_host::http::{self, BasicAuth, HttpState, Security};
use selkies_host::media::{pipeline, rates};
use selkies_host::peer::{self, Kind};
use selkies_host::rtc::RtcStore;
use selkies_host::security::OriginPolicy;
use selkies_host::server::{self, Limits};
use selkies_host::tls;
use selkies_host::ws::Signalling;
use selkies_proto::config::{Args, Settings};
use tracing::{info, warn};

fn main() -> Result<()> {
    limit_malloc_arenas();
    let settings = Settings::resolve(Args::parse_from_env()).context("invalid configuration")?;
    init_logging(settings.debug);
    for w in &settings.warnings {
        warn!("{w}");
    }
    gstreamer::init().context("GStreamer could not be initialised")?;
    // X gone = exit status 75 with our own log line (docs/reliability.md, "Media and peers").
    if let Err(e) = selkies_host::desktop::watch_x_server() {
        warn!("the loss of the X server will not be detected early: {e}");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(run(settings));
    runtime.shutdown_timeout(Duration::from_secs(2));
    result
}

/// GStreamer's many threads each get a glibc malloc arena, and arenas keep freed memory, so RSS
/// grows with every session (docs/testing.md G12). Two arenas keep it flat; `MALLOC_ARENA_MAX` set by
/// the user still wins.
fn limit_malloc_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only changes allocator tuning; called before any other thread exists.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

fn init_logging(debug: bool) {
    let default = if debug { "debug" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Colour codes only on a terminal: log files and CI tails stay readable.
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
}

/// The web client: the flag/env if given, else next to the binary (tarball layout
/// `libexec/../share/selkies-web`), else the built client of a source checkout.
fn default_web_root() -> PathBuf {
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(PathBuf::from));
    let mut candidates = Vec::new();
    if let Some(dir) = &exe_dir {
        candidates.push(dir.join("../share/selkies-web"));
        // target/{debug,release}/ → <repo>/web/dist
        candidates.push(dir.join("../../web/dist"));
    }
    candidates.push(PathBuf::from("web/dist"));
    candidates
        .into_iter()
        .find(|c| c.join("index.html").is_file())
        .unwrap_or_else(|| PathBuf::from("/opt/gst-web"))
}

async fn wait_for_app(settings: &Settings) {
    if !settings.app_wait_ready {
        return;
    }
    info!(file = %settings.app_ready_file.display(), "waiting for the application to be ready");
    while !settings.app_ready_file.exists() {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn run(settings: Settings) -> Result<()> {
    wait_for_app(&settings).await;
    let chosen = pipeline::choose_encoder(settings.encoder, settings.gpu_id)
        .context("no video encoder can run on this machine")?;
    info!(encoder = chosen.spec.name(), element = %chosen.factory, "video encoder");
    let warm = chosen.clone();
    tokio::task::spawn_blocking(move || pipeline::warm_up(&warm));

    if settings.enable_cloudflare_turn {
        warn!("--enable_cloudflare_turn is not supported; STUN/TURN come from the other sources");
    }
    let rtc = Arc::new(RtcStore::start(&settings).await);
    rtc.spawn_refresh(&settings);
    spawn_turn_check(&settings);
    let signalling = Signalling::with_ws_timeout(settings.ws_timeout);
    let input = match selkies_x11::InputInjector::spawn(None) {
        Ok(handle) => Some(handle),
        Err(e) => {
            warn!("input injection disabled: {e}");
            None
        }
    };
    let damage = match selkies_x11::damage::spawn_damage_watch(None) {
        Ok(watch) => Some(watch),
        Err(e) => {
            warn!("idle-frame gating disabled (every frame is encoded): {e}");
            None
        }
    };
    let metrics = selkies_telemetry::Metrics::new();
    metrics.set_encoder(chosen.spec.name());
    metrics.set_video_bitrate_kbps(settings.video_bitrate);
    metrics.set_audio_bitrate_bps(settings.audio_bitrate);
    metrics.set_framerate(settings.framerate);
    if settings.enable_metrics_http {
        // Same interface as the web port unless --metrics_http_addr says otherwise: the
        // exporter has no authentication.
        let ip = settings
            .metrics_http_addr
            .as_deref()
            .unwrap_or(&settings.addr);
        let addr: SocketAddr = format!("{}:{}", bracket_v6(ip), settings.metrics_http_port)
            .parse()
            .with_context(|| format!("metrics address {ip} is not an IP address"))?;
        let m = metrics.clone();
        tokio::spawn(async move {
            if let Err(e) = selkies_telemetry::serve(addr, m).await {
                warn!("metrics exporter on {addr} failed: {e}");
            }
        });
        info!(%addr, "Prometheus metrics at /metrics");
    }
    let gamepads = selkies_gamepad::GamepadService::with_uinput(
        settings.js_socket_path.clone(),
        settings.enable_uinput_gamepads,
    );
    info!(mode = %gamepads.mode(), "gamepads");

    let host = Arc::new(Host::new(
        StaticSettings {
            gpu_id: settings.gpu_id,
            keyframe_distance: settings.keyframe_distance.unwrap_or(-1.0),
            video_packetloss_percent: settings.video_packetloss_percent,
            audio_channels: settings.audio_channels,
            audio_packetloss_percent: settings.audio_packetloss_percent,
            json_config: settings.json_config.clone(),
            cpus: rates::available_cpus(),
            webrtc_statistics_dir: settings
                .enable_webrtc_statistics
                .then(|| settings.webrtc_statistics_dir.clone()),
            uinput_mouse_socket: settings.uinput_mouse_socket.clone(),
            playout_delay_ms: settings.playout_delay_ms,
        },
        LiveSettings {
            framerate: settings.framerate,
            video_kbps: settings.video_bitrate,
            audio_bps: settings.audio_bitrate,
            resize: settings.enable_resize,
        },
        chosen,
        Services {
            signalling: signalling.clone(),
            rtc: rtc.clone(),
            input,
            gamepads: Some(gamepads),
            damage,
            desktop: Desktop::start(&settings),
            metrics: metrics.clone(),
        },
    ));
    let video_peer = tokio::spawn(peer::run(host.clone(), Kind::Video));
    let audio_peer = tokio::spawn(peer::run(host.clone(), Kind::Audio));

    let web_root = settings.web_root_or_else(default_web_root);
    if !web_root.join("index.html").is_file() {
        warn!(web_root = %web_root.display(), "web root has no index.html; the page will 404");
    }
    let auth = settings.enable_basic_auth.then(|| BasicAuth {
        user: settings.basic_auth_user.clone(),
        password: settings.basic_auth_password.clone(),
    });
    if settings.enable_basic_auth && settings.basic_auth_password.is_empty() {
        bail!("--enable_basic_auth=true needs a non-empty --basic_auth_password");
    }
    let app = http::router(HttpState {
        auth,
        web_root: Arc::new(web_root.clone()),
        rtc,
        signalling: signalling.clone(),
        turn_user_header: settings.turn_rest_username_auth_header.clone().into(),
        security: Arc::new(Security {
            origins: OriginPolicy::new(settings.allowed_origins.clone()),
            logins: Default::default(),
            // Our build writes build.json; another web root may rely on inline scripts.
            strict_csp: web_root.join("build.json").is_file(),
        }),
    });

    let addr: SocketAddr = format!("{}:{}", bracket_v6(&settings.addr), settings.port)
        .parse()
        .with_context(|| format!("--addr={} is not an IP address", settings.addr))?;
    let tcp = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    announce(&settings, addr, &web_root);

    let tls = if settings.enable_https {
        let key = settings.https_key.clone().unwrap_or_default();
        Some(tls::server_config(&settings.https_cert, &key).context("--enable_https")?)
    } else {
        None
    };
    let limits = Limits {
        header_read_timeout: settings.header_read_timeout,
        max_connections_per_ip: settings.max_connections_per_ip,
        shutdown_timeout: settings.shutdown_timeout,
    };
    server::serve(tcp, tls, app, signalling, limits, shutdown_signal()).await;

    info!("shutting down");
    video_peer.abort();
    audio_peer.abort();
    let _ = video_peer.await;
    let _ = audio_peer.await;
    if let Some(g) = &host.gamepads {
        g.shutdown().await;
    }
    Ok(())
}

/// Warn (once, without delaying start-up) when the configured TURN server does not answer:
/// sessions still work through host/STUN candidates, but clients that need the relay will not.
fn spawn_turn_check(settings: &Settings) {
    use selkies_host::turn_probe::{Transport, probe};
    let (Some(host), Some(port)) = (settings.turn_host.clone(), settings.turn_port) else {
        return;
    };
    let transport = match (settings.turn_tls, settings.turn_protocol) {
        (true, _) => Transport::Tls,
        (false, selkies_proto::config::TurnProtocol::Tcp) => Transport::Tcp,
        (false, selkies_proto::config::TurnProtocol::Udp) => Transport::Udp,
    };
    tokio::spawn(async move {
        match probe(&host, port, transport, Duration::from_secs(3)).await {
            Ok(()) => info!(%host, port, "TURN server answers"),
            Err(e) => warn!(
                %host,
                port,
                "TURN server unreachable ({e}); sessions fall back to direct/STUN candidates and clients that need a relay will fail"
            ),
        }
    });
}

fn bracket_v6(addr: &str) -> String {
    if addr.contains(':') && !addr.starts_with('[') {
        format!("[{addr}]")
    } else {
        addr.to_string()
    }
}

/// The one start-up message a user needs: where to connect and, when the password was
/// generated, what it is (printed once, on stdout, never logged again).
fn announce(settings: &Settings, addr: SocketAddr, web_root: &std::path::Path) {
    let scheme = if settings.enable_https {
        "https"
    } else {
        "http"
    };
    let host = if addr.ip().is_unspecified() {
        "localhost".to_string()
    } else {
        bracket_v6(&addr.ip().to_string())
    };
    info!(web_root = %web_root.display(), "serving the web client");
    println!("selkies-gstreamer: open {scheme}://{host}:{}/", addr.port());
    if settings.enable_basic_auth {
        if settings.password_generated {
            println!(
                "selkies-gstreamer: user '{}', generated password '{}' (set --basic_auth_password to choose one)",
                settings.basic_auth_user, settings.basic_auth_password
            );
        } else {
            println!("selkies-gstreamer: user '{}'", settings.basic_auth_user);
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
