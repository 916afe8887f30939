//! Assembling a whole host from its [`Settings`]: the encoder choice, the RTC configuration,
//! the signalling hub and the host's two peers, input, damage tracking, metrics, gamepads,
//! desktop services, the embedded TURN relay and the HTTP listener, in that order; [`Started::serve`] stops them in
//! reverse order. The binary calls [`run`] with its signal handler; integration tests call
//! [`start`] with `--port=0` and their own shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use selkies_proto::config::Settings;
use tracing::{info, warn};

use crate::desktop::Desktop;
use crate::host::{Host, LiveSettings, Services, StaticSettings};
use crate::http::{self, BasicAuth, HttpState, Security};
use crate::media::pipeline::{self, MediaError};
use crate::media::rates;
use crate::peer::{self, Kind};
use crate::rtc::RtcStore;
use crate::security::OriginPolicy;
use crate::server::{self, Limits};
use crate::tls::{self, TlsError};
use crate::turn_relay::{self, TurnRelay};
use crate::ws::Signalling;

/// Why a host could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("no video encoder can run on this machine: {0}")]
    Encoder(#[from] MediaError),
    #[error("{flag}={addr} is not an IP address")]
    Address { flag: &'static str, addr: String },
    #[error(transparent)]
    Config(#[from] selkies_proto::config::ConfigError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("--enable_https: {0}")]
    Tls(#[from] TlsError),
    #[error("--turn_embedded: {0}")]
    Turn(String),
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

/// Start every service of a host and bind its port; [`Started::serve`] then runs it. The port
/// is bound before this returns, so `--port=0` gives a test the address to connect to.
pub async fn start(settings: Settings) -> Result<Started, StartError> {
    // Resolution validated them already; settings built or changed by hand are checked again.
    settings.validate()?;
    wait_for_app(&settings).await;
    let chosen = pipeline::choose_encoder(settings.encoder, settings.gpu_id)?;
    info!(encoder = chosen.spec.name(), element = %chosen.factory, "video encoder");
    let warm = chosen.clone();
    tokio::task::spawn_blocking(move || pipeline::warm_up(&warm));

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
        let addr = socket_addr("--metrics_http_addr", ip, settings.metrics_http_port)?;
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
        StaticSettings::new(Arc::new(settings.clone()), rates::available_cpus()),
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
            sharing: crate::sharing::Sharing::new(
                settings.max_viewers,
                settings.share_secret.as_deref(),
            ),
            webcam: settings
                .enable_webcam
                .then(|| crate::webcam::Webcam::start(settings.webcam_socket_path.clone())),
        },
    ));
    let _ = signalling
        .streaming
        .set(crate::ws_transport::WsStreaming::new(
            &host,
            settings.transport,
            settings.ws_timeout,
        ));
    host.services.sharing.bind(&host);
    tokio::spawn(host.services.sharing.clone().poll_keyframes());
    if settings.intake.enable_microphone {
        // Now rather than at the first session, so apps see the microphone from the start; a
        // PulseAudio that is not up yet gets another try when a browser sends its microphone.
        let default = settings.intake.microphone_default_source;
        let _ = tokio::task::spawn_blocking(move || crate::mic::prepare(default)).await;
    }
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
    let listen = socket_addr("--addr", &settings.addr, settings.port)?;
    let turn =
        turn_relay::start(&settings, listen).map_err(|e| StartError::Turn(format!("{e:#}")))?;
    if let Some(relay) = &turn {
        let relay = relay.clone();
        tokio::spawn(async move {
            if let Err(e) = turn_relay::serve_udp(relay, listen).await {
                warn!("embedded TURN relay over UDP stopped: {e:#}");
            }
        });
    }
    if let Some(relay) = &turn {
        metrics.connectivity().set_relay_resolver(relay.resolver());
    }
    let files = crate::files::router(crate::files::FileTransfer::from_settings(&settings.intake));
    let app = http::router_with(
        HttpState {
            connectivity: metrics.connectivity().clone(),
            turn: turn.clone(),
            port: settings.port,
            https: settings.enable_https,
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
        },
        files,
    )
    .layer(axum::middleware::from_fn_with_state(
        host.services.sharing.clone(),
        crate::sharing::http::admit,
    ));

    let tls = if settings.enable_https {
        let key = settings.https_key.clone().unwrap_or_default();
        Some(tls::server_config(&settings.https_cert, &key)?)
    } else {
        None
    };
    let tcp = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| StartError::Listen {
            addr: listen,
            source,
        })?;
    let addr = tcp.local_addr().map_err(|source| StartError::Listen {
        addr: listen,
        source,
    })?;
    announce(&settings, addr, &web_root);
    let limits = Limits {
        header_read_timeout: settings.header_read_timeout,
        max_connections_per_ip: settings.max_connections_per_ip,
        shutdown_timeout: settings.shutdown_timeout,
    };
    Ok(Started {
        addr,
        host,
        tcp,
        tls,
        app,
        limits,
        turn,
        peers: [video_peer, audio_peer],
    })
}

/// A host whose services run and whose port is bound.
pub struct Started {
    /// The bound address (the real port when `--port=0`).
    pub addr: SocketAddr,
    pub host: Arc<Host>,
    tcp: tokio::net::TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    app: axum::Router,
    limits: Limits,
    turn: Option<TurnRelay>,
    peers: [tokio::task::JoinHandle<()>; 2],
}

impl Started {
    /// Serve HTTP and `/ws` until `shutdown` resolves, then stop the peers and the gamepads.
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send + 'static) {
        let signalling = self.host.services.signalling.clone();
        let sharing = self.host.services.sharing.clone();
        // Sharing sockets close with the legacy ones instead of holding up the shutdown.
        let shutdown = async move {
            shutdown.await;
            sharing.shutdown();
        };
        server::serve(
            self.tcp,
            self.tls,
            self.app,
            signalling,
            self.limits,
            self.turn,
            shutdown,
        )
        .await;
        info!("shutting down");
        for peer in &self.peers {
            peer.abort();
        }
        for peer in self.peers {
            let _ = peer.await;
        }
        if let Some(g) = &self.host.services.gamepads {
            g.shutdown().await;
        }
        let _ = tokio::task::spawn_blocking(crate::mic::device::teardown).await;
    }
}

/// Start a host from its settings and serve it until `shutdown` resolves.
pub async fn run(
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    start(settings).await?.serve(shutdown).await;
    Ok(())
}

fn socket_addr(flag: &'static str, ip: &str, port: u16) -> Result<SocketAddr, StartError> {
    format!("{}:{port}", bracket_v6(ip))
        .parse()
        .map_err(|_| StartError::Address {
            flag,
            addr: ip.to_owned(),
        })
}

/// Warn (once, without delaying start-up) when the configured TURN server does not answer:
/// sessions still work through host/STUN candidates, but clients that need the relay will not.
fn spawn_turn_check(settings: &Settings) {
    use crate::turn_probe::{Transport, probe};
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
