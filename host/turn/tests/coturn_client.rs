//! The relay against a real TURN client: Debian coturn's `turnutils_uclient` allocates through
//! our driver on loopback (UDP and TCP on one port, TCP demultiplexed on its first byte as the
//! host does) and bounces messages off `turnutils_peer`, coturn's UDP echo peer. Also checks that
//! the relay is not an open relay: a peer on 127.0.0.2, not on the allow-list, is refused.
//! coturn comes from ci/install-deps.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::net::{IpAddr, SocketAddr};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use selkies_turn::{Relay, RelayConfig, RestAuth, is_turn_first_byte};
use tokio::net::{TcpListener, UdpSocket};

const SECRET: &str = "coturn-client-test-secret";
const UCLIENT: &str = "/usr/bin/turnutils_uclient";
const PEER: &str = "/usr/bin/turnutils_peer";
const HOST: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
const OTHER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 2));

fn require_coturn() {
    for bin in [UCLIENT, PEER] {
        assert!(
            std::path::Path::new(bin).exists(),
            "{bin} missing: install Debian's coturn (ci/install-deps)"
        );
    }
}

/// The relay on one port for UDP and TCP, as the host runs it.
async fn start_relay(allowed: Vec<IpAddr>) -> (Relay, u16) {
    let relay = Relay::start(RelayConfig::new(
        RestAuth::new(SECRET.as_bytes().to_vec(), "selkies"),
        HOST,
        allowed,
    ));
    let (udp, tcp) = loop {
        let udp = UdpSocket::bind((HOST, 0)).await.unwrap();
        let port = udp.local_addr().unwrap().port();
        if let Ok(tcp) = TcpListener::bind((HOST, port)).await {
            break (udp, tcp);
        }
    };
    let port = tcp.local_addr().unwrap().port();
    let r = relay.clone();
    tokio::spawn(async move { r.serve_udp(udp).await });
    let r = relay.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = tcp.accept().await {
            let r = r.clone();
            tokio::spawn(async move {
                let mut first = [0u8; 1];
                if matches!(stream.peek(&mut first).await, Ok(1)) && is_turn_first_byte(first[0]) {
                    let _ = r.serve_tcp(stream).await;
                }
            });
        }
    });
    (relay, port)
}

/// `turnutils_peer` on `ip`, killed on drop.
struct EchoPeer {
    child: Child,
    addr: SocketAddr,
}

impl EchoPeer {
    fn start(ip: IpAddr) -> Self {
        let port = std::net::UdpSocket::bind((ip, 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(PEER)
            .args(["-p", &port.to_string(), "-L", &ip.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(300));
        Self {
            child,
            addr: SocketAddr::new(ip, port),
        }
    }
}

impl Drop for EchoPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Run {
    sent: u64,
    received: u64,
    output: String,
}

/// Runs uclient to completion (bounded by `timeout`) and reads its final counters.
async fn uclient(port: u16, peer: SocketAddr, flags: &[&str], creds: &[String]) -> Run {
    let mut args: Vec<String> = vec!["20".into(), UCLIENT.into()];
    args.extend(flags.iter().map(|s| s.to_string()));
    args.extend(creds.iter().cloned());
    args.extend([
        "-p".into(),
        port.to_string(),
        "-e".into(),
        peer.ip().to_string(),
        "-r".into(),
        peer.port().to_string(),
        "-n".into(),
        "30".into(),
        "-l".into(),
        "400".into(),
        HOST.to_string(),
    ]);
    let out = tokio::task::spawn_blocking(move || Command::new("timeout").args(&args).output())
        .await
        .unwrap()
        .unwrap();
    let output =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let counter = |name: &str| -> u64 {
        output
            .lines()
            .rev()
            .filter_map(|l| l.split(&format!("{name}=")).nth(1))
            .filter_map(|rest| {
                rest.split(|c: char| !c.is_ascii_digit())
                    .next()?
                    .parse()
                    .ok()
            })
            .next()
            .unwrap_or(0)
    };
    Run {
        sent: counter("tot_send_msgs"),
        received: counter("tot_recv_msgs"),
        output,
    }
}

fn secret_flags() -> Vec<String> {
    vec!["-W".into(), SECRET.into()]
}

fn minted_flags(relay: &Relay) -> Vec<String> {
    let creds = relay.mint("uclient", 300);
    vec!["-u".into(), creds.username, "-w".into(), creds.password]
}

fn assert_echoed(run: &Run) {
    assert!(run.sent > 0, "nothing sent:\n{}", run.output);
    // Loopback UDP on a loaded 2-core machine may drop a datagram; TCP legs may not, but
    // the echo leg to the peer is UDP in every mode.
    assert!(
        run.received * 10 >= run.sent * 9,
        "sent {} received {}:\n{}",
        run.sent,
        run.received,
        run.output
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_channels_and_send_indications_echo() {
    require_coturn();
    let (relay, port) = start_relay(vec![HOST]).await;
    let peer = EchoPeer::start(HOST);
    assert_echoed(&uclient(port, peer.addr, &[], &secret_flags()).await);
    assert_echoed(&uclient(port, peer.addr, &["-s"], &minted_flags(&relay)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_channels_send_and_client_to_client_echo() {
    require_coturn();
    let (relay, port) = start_relay(vec![HOST]).await;
    let peer = EchoPeer::start(HOST);
    assert_echoed(&uclient(port, peer.addr, &["-t"], &secret_flags()).await);
    assert_echoed(&uclient(port, peer.addr, &["-t", "-s"], &minted_flags(&relay)).await);
    assert_echoed(&uclient(port, peer.addr, &["-t", "-y"], &secret_flags()).await);
    // Every TCP connection closed, so every allocation it made is gone with it.
    for _ in 0..50 {
        if relay.allocations() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(relay.allocations(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_an_open_relay() {
    require_coturn();
    let (_relay, port) = start_relay(vec![HOST]).await;
    let outsider = EchoPeer::start(OTHER);
    for flags in [&[][..], &["-s"], &["-t"], &["-t", "-s"]] {
        let run = uclient(port, outsider.addr, flags, &secret_flags()).await;
        assert_eq!(
            run.received, 0,
            "{flags:?} reached a foreign peer:\n{}",
            run.output
        );
        assert!(
            run.output.contains("403"),
            "{flags:?}: expected 403 Forbidden:\n{}",
            run.output
        );
    }
    // Skipping CreatePermission entirely does not help either: Send indications are dropped.
    let run = uclient(port, outsider.addr, &["-s", "-I"], &secret_flags()).await;
    assert_eq!(run.received, 0, "{}", run.output);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_secret_is_refused() {
    require_coturn();
    let (relay, port) = start_relay(vec![HOST]).await;
    let peer = EchoPeer::start(HOST);
    let run = uclient(
        port,
        peer.addr,
        &[],
        &["-W".into(), "not-the-secret".into()],
    )
    .await;
    assert_eq!(run.received, 0, "{}", run.output);
    assert_eq!(relay.allocations(), 0);
}
