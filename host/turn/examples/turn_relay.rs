//! Runs the embedded relay alone on one address, UDP and TCP on the same port, for manual tests
//! and the throughput benchmark with coturn's `turnutils_uclient`:
//!
//! `cargo run --release -p selkies-turn --example turn_relay -- 127.0.0.1:3478 SECRET [ALLOWED_PEER_IP...]`
//!
//! Allowed peers default to the listening address. TCP connections are demultiplexed on their
//! first byte exactly as the host does. The per-client and per-user quotas are raised to 512
//! so that one load generator on one address can open many allocations.

use std::net::{IpAddr, SocketAddr};

use selkies_turn::{Limits, Relay, RelayConfig, RestAuth, is_turn_first_byte};
use tokio::net::{TcpListener, UdpSocket};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let mut args = std::env::args().skip(1);
    let addr: SocketAddr = args
        .next()
        .ok_or("usage: ADDR SECRET [PEER_IP...]")?
        .parse()?;
    let secret = args.next().ok_or("usage: ADDR SECRET [PEER_IP...]")?;
    let mut peers: Vec<IpAddr> = args.map(|a| a.parse()).collect::<Result<_, _>>()?;
    if peers.is_empty() {
        peers.push(addr.ip());
    }
    let mut config = RelayConfig::new(
        RestAuth::new(secret.into_bytes(), "selkies"),
        addr.ip(),
        peers,
    );
    config.limits = Limits {
        max_allocations: 1024,
        max_allocations_per_user: 512,
        max_allocations_per_client_ip: 512,
        ..Limits::default()
    };
    let relay = Relay::start(config);
    let udp = UdpSocket::bind(addr).await?;
    let tcp = TcpListener::bind(addr).await?;
    let udp_relay = relay.clone();
    tokio::spawn(async move { udp_relay.serve_udp(udp).await });
    loop {
        let (stream, _) = tcp.accept().await?;
        let relay = relay.clone();
        tokio::spawn(async move {
            let mut first = [0u8; 1];
            if matches!(stream.peek(&mut first).await, Ok(1)) && is_turn_first_byte(first[0]) {
                let _ = relay.serve_tcp(stream).await;
            }
        });
    }
}
