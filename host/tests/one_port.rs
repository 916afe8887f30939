//! One port for everything: the real accept loop (`selkies_host::server`) with the embedded
//! TURN relay serves HTTP and TURN-over-TCP on the same TCP port and TURN-over-UDP on the same
//! port number; `/turn` advertises the relay with credentials that Debian coturn's
//! `turnutils_uclient` uses to relay to `turnutils_peer` (a UDP echo on the host's address).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use selkies_host::http::{HttpState, Security, router};
use selkies_host::rtc::RtcStore;
use selkies_host::server::{Limits, serve};
use selkies_host::turn_relay;
use selkies_host::ws::Signalling;
use selkies_proto::config::{Args, HostFacts, Settings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

const UCLIENT: &str = "/usr/bin/turnutils_uclient";
const PEER: &str = "/usr/bin/turnutils_peer";

fn settings(extra: &[&str]) -> Settings {
    let mut argv = vec![
        "selkies-gstreamer",
        "--json_config=/nonexistent/selkies.json",
    ];
    argv.extend_from_slice(extra);
    Settings::resolve_with(Args::parse_from(argv), &HostFacts::default()).unwrap()
}

/// A TCP listener and a free UDP port with the same number on 127.0.0.1.
async fn same_port() -> (TcpListener, SocketAddr) {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = udp.local_addr().unwrap();
        drop(udp);
        if let Ok(tcp) = TcpListener::bind(addr).await {
            return (tcp, addr);
        }
    }
}

async fn get(addr: SocketAddr, path: &str) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
        addr.port()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_and_turn_share_the_port() {
    for bin in [UCLIENT, PEER] {
        assert!(
            std::path::Path::new(bin).exists(),
            "{bin} missing: install Debian's coturn (ci/install-deps)"
        );
    }
    let (tcp, addr) = same_port().await;
    let s = settings(&["--turn_embedded=true", "--addr=127.0.0.1"]);
    let relay = turn_relay::start(&s, addr).unwrap().expect("relay on");
    let udp_relay = relay.clone();
    tokio::spawn(async move { turn_relay::serve_udp(udp_relay, addr).await });
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("index.html"), "<!doctype html>").unwrap();
    let signalling = Signalling::with_ws_timeout(Duration::from_secs(15));
    let app = router(HttpState {
        turn: Some(relay.clone()),
        port: addr.port(),
        auth: None,
        web_root: Arc::new(root.path().to_path_buf()),
        rtc: Arc::new(RtcStore::stun_only("127.0.0.1", addr.port())),
        signalling: signalling.clone(),
        turn_user_header: "x-auth-user".into(),
        security: Arc::new(Security::default()),
    });
    tokio::spawn(serve(
        tcp,
        None,
        app,
        signalling,
        Limits::default(),
        Some(relay),
        std::future::pending(),
    ));

    // HTTP still answers on the port.
    assert!(get(addr, "/health").await.starts_with("HTTP/1.1 200"));

    // /turn names the relay on this port with credentials.
    let turn = get(addr, "/turn").await;
    let body = turn.split("\r\n\r\n").nth(1).unwrap();
    let doc: serde_json::Value = serde_json::from_str(body).unwrap();
    let ours = doc["iceServers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["urls"].to_string().contains("transport=tcp"))
        .expect("embedded relay advertised")
        .clone();
    let urls = ours["urls"].to_string();
    assert!(
        urls.contains(&format!("turn:127.0.0.1:{}?transport=tcp", addr.port())),
        "{urls}"
    );
    let user = ours["username"].as_str().unwrap().to_owned();
    let pass = ours["credential"].as_str().unwrap().to_owned();

    // A real TURN client relays through the HTTP port, over TCP and over UDP.
    let peer_port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _peer = Killed(
        Command::new(PEER)
            .args(["-p", &peer_port.to_string(), "-L", "127.0.0.1"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    for transport in [&["-t"][..], &[]] {
        let mut args: Vec<String> = vec!["20".into(), UCLIENT.into()];
        args.extend(transport.iter().map(|s| s.to_string()));
        args.extend([
            "-u".into(),
            user.clone(),
            "-w".into(),
            pass.clone(),
            "-p".into(),
            addr.port().to_string(),
            "-e".into(),
            "127.0.0.1".into(),
            "-r".into(),
            peer_port.to_string(),
            "-n".into(),
            "20".into(),
            "-l".into(),
            "200".into(),
            "127.0.0.1".into(),
        ]);
        let out = tokio::task::spawn_blocking(move || Command::new("timeout").args(&args).output())
            .await
            .unwrap()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        let received = text
            .lines()
            .rev()
            .filter_map(|l| l.split("tot_recv_msgs=").nth(1))
            .filter_map(|r| {
                r.split(|c: char| !c.is_ascii_digit())
                    .next()?
                    .parse::<u64>()
                    .ok()
            })
            .next()
            .unwrap_or(0);
        assert!(received > 0, "nothing relayed ({transport:?}):\n{text}");
    }
}
