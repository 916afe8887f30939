//! Entry point of the embedded TURN relay (crate `selkies-turn`) for the host: decides from the
//! settings whether it runs, builds it with the host's own addresses as the only permitted
//! peers, serves TURN-over-UDP on the HTTP port number and TURN-over-TCP on connections the
//! accept loop hands over, and mints the `iceServers` entry given to a browser.
//!
//! Wiring (docs/connectivity.md): after `start`, spawn `serve_udp` on the listen address; in
//! the accept loop, peek the first byte of each plain TCP connection (and of the decrypted
//! stream under TLS) and call `serve_tcp` when [`is_turn_first_byte`] says so.

use std::net::{IpAddr, SocketAddr};

use anyhow::Context;
use selkies_proto::config::Settings;
use selkies_proto::rtc_config::IceServer;
pub use selkies_turn::is_turn_first_byte;
use selkies_turn::{Relay, RelayConfig, RestAuth, local_addresses, pick_relay_ip};
use tokio::net::{TcpStream, UdpSocket};

/// Realm of the embedded relay's credentials.
const REALM: &str = "selkies";

/// The running relay plus what is needed to advertise it.
#[derive(Clone)]
pub struct TurnRelay {
    relay: Relay,
    external_ip: Option<IpAddr>,
    ttl_secs: u64,
}

/// Whether the settings name another TURN source, which `--turn_embedded=auto` defers to (the
/// same conditions under which `RtcSource` or the TURN-REST client would produce a relay), or
/// an `--rtc_config_json` file exists (it is then served verbatim as the operator wrote it).
pub fn other_turn_configured(s: &Settings) -> bool {
    s.turn_rest_uri.is_some()
        || (s.turn_host.is_some() && s.turn_port.is_some())
        || s.enable_cloudflare_turn
        || s.rtc_config_json.is_file()
}

/// Starts the relay when the settings ask for it (`None` otherwise). Must run inside the tokio
/// runtime. `listen` is the host's `--addr`/`--port`.
pub fn start(s: &Settings, listen: SocketAddr) -> anyhow::Result<Option<TurnRelay>> {
    let cfg = &s.turn_embedded;
    if !cfg.enabled(other_turn_configured(s)) {
        return Ok(None);
    }
    let local = local_addresses().context("listing the host's addresses for TURN")?;
    let relay_ip = pick_relay_ip(listen.ip(), &local);
    let auth = match &cfg.secret {
        Some(secret) => RestAuth::new(secret.as_bytes().to_vec(), REALM),
        None => RestAuth::random(REALM),
    };
    let mut config = RelayConfig::new(auth, relay_ip, local);
    config.port_range = cfg.ports.clone();
    tracing::info!(%relay_ip, ports = ?cfg.ports, "embedded TURN relay on");
    Ok(Some(TurnRelay {
        relay: Relay::start(config),
        external_ip: cfg.external_ip,
        ttl_secs: cfg.credential_ttl_secs,
    }))
}

/// TURN-over-UDP on the same port number as HTTP; runs until the socket fails.
pub async fn serve_udp(relay: TurnRelay, listen: SocketAddr) -> anyhow::Result<()> {
    let socket = UdpSocket::bind(listen)
        .await
        .with_context(|| format!("binding TURN UDP on {listen}"))?;
    relay
        .relay
        .serve_udp(socket)
        .await
        .context("TURN UDP listener")
}

/// One TCP connection (plain, not yet read from) whose first byte is TURN framing.
pub async fn serve_tcp(relay: &TurnRelay, stream: TcpStream) -> anyhow::Result<()> {
    relay
        .relay
        .serve_tcp(stream)
        .await
        .context("TURN TCP connection")
}

/// The decrypted stream of a TLS connection (`turns:`) whose first plaintext byte(s), already
/// read by the caller into `initial`, are TURN framing; `client`/`server` are the TCP
/// connection's addresses.
pub async fn serve_stream<S>(
    relay: &TurnRelay,
    stream: S,
    initial: &[u8],
    client: SocketAddr,
    server: SocketAddr,
) -> anyhow::Result<()>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + 'static,
{
    relay
        .relay
        .serve_stream(stream, initial, client, server)
        .await
        .context("TURN-over-TLS connection")
}

impl TurnRelay {
    /// The `iceServers` entry for a browser that reached the host as `browser_host` (the
    /// `Host` header without port), on `port`. `tls` adds a `turns:` URI (TLS on the same port).
    pub fn ice_server(&self, browser_host: &str, port: u16, tls: bool, user: &str) -> IceServer {
        let host = match self.external_ip {
            Some(IpAddr::V6(ip)) => format!("[{ip}]"),
            Some(ip) => ip.to_string(),
            None => browser_host.to_owned(),
        };
        let mut urls = vec![
            format!("turn:{host}:{port}?transport=udp"),
            format!("turn:{host}:{port}?transport=tcp"),
        ];
        if tls {
            urls.push(format!("turns:{host}:{port}?transport=tcp"));
        }
        let creds = self.relay.mint(&user.replace(':', "-"), self.ttl_secs);
        IceServer {
            urls,
            username: Some(creds.username),
            credential: Some(creds.password),
        }
    }

    /// The connectivity report's lookup: which transport a browser whose relay candidate is
    /// `relayed` used to reach this relay (None: not one of our allocations).
    pub fn resolver(&self) -> selkies_telemetry::ice_board::RelayResolver {
        let relay = self.relay.clone();
        std::sync::Arc::new(move |relayed| {
            relay.client_of(relayed).map(|key| match key.transport {
                selkies_turn::Transport::Udp => selkies_telemetry::connectivity::Transport::Udp,
                selkies_turn::Transport::Tcp => selkies_telemetry::connectivity::Transport::Tcp,
            })
        })
    }

    /// Live allocations, for metrics.
    pub fn allocations(&self) -> usize {
        self.relay.allocations()
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    fn settings(extra: &[&str]) -> Settings {
        // No random bytes here to generate a password with.
        Settings::from_flags(&[&["--enable_basic_auth=false"], extra].concat()).expect("settings")
    }

    fn listen() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 8080))
    }

    #[tokio::test]
    async fn auto_defers_to_other_turn_sources() {
        assert!(start(&settings(&[]), listen()).unwrap().is_some());
        let with_coturn = settings(&["--turn_host=turn.example", "--turn_port=3478"]);
        assert!(start(&with_coturn, listen()).unwrap().is_none());
        let rest = settings(&["--turn_rest_uri=http://127.0.0.1:8008/"]);
        assert!(start(&rest, listen()).unwrap().is_none());
        // A host without a port configures no relay, so the embedded one still runs.
        assert!(
            start(&settings(&["--turn_host=turn.example"]), listen())
                .unwrap()
                .is_some()
        );
        let forced = settings(&["--turn_host=turn.example", "--turn_embedded=true"]);
        assert!(start(&forced, listen()).unwrap().is_some());
        assert!(
            start(&settings(&["--turn_embedded=false"]), listen())
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn ice_server_uses_browser_host_or_external_ip_and_valid_credentials() {
        let relay = start(
            &settings(&["--turn_embedded_secret=s", "--turn_embedded_ttl=60"]),
            listen(),
        )
        .unwrap()
        .unwrap();
        let ice = relay.ice_server("desk.example", 8443, true, "a:b");
        assert_eq!(
            ice.urls,
            [
                "turn:desk.example:8443?transport=udp",
                "turn:desk.example:8443?transport=tcp",
                "turns:desk.example:8443?transport=tcp"
            ]
        );
        let user = ice.username.unwrap();
        assert!(user.ends_with(":a-b"), "{user}");
        assert_eq!(
            ice.credential.unwrap(),
            RestAuth::new(b"s".to_vec(), REALM).password_for(&user)
        );
        let relay = start(
            &settings(&["--turn_embedded_external_ip=2001:db8::5"]),
            listen(),
        )
        .unwrap()
        .unwrap();
        let ice = relay.ice_server("ignored", 8080, false, "u");
        assert_eq!(ice.urls[0], "turn:[2001:db8::5]:8080?transport=udp");
        assert_eq!(ice.urls.len(), 2);
    }
}
