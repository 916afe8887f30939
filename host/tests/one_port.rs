//! One port for everything: the real accept loop (`selkies_host::server`) with the embedded
//! TURN relay serves HTTP and TURN-over-TCP on the same TCP port and TURN-over-UDP on the same
//! port number; `/turn` advertises the relay with credentials that Debian coturn's
//! `turnutils_uclient` uses to relay to `turnutils_peer` (a UDP echo on the host's address).
//! With HTTPS on, the same port also carries TURN inside TLS (`turns:`) and HTTPS still answers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, ServerName};
use selkies_host::http::{HttpState, Security, router};
use selkies_host::rtc::RtcStore;
use selkies_host::server::{Limits, serve};
use selkies_host::turn_relay;
use selkies_host::ws::Signalling;
use selkies_proto::config::Settings;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

const UCLIENT: &str = "/usr/bin/turnutils_uclient";
const PEER: &str = "/usr/bin/turnutils_peer";

fn settings(extra: &[&str]) -> Settings {
    // No random bytes here to generate a password with.
    Settings::from_flags(&[&["--enable_basic_auth=false"], extra].concat()).expect("settings")
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

struct Started {
    addr: SocketAddr,
    user: String,
    pass: String,
    turn_json: String,
}

/// The accept loop with the relay on a port shared by TCP and UDP; `/turn` read over `get`.
async fn start(tls: Option<Arc<rustls::ServerConfig>>, root: &std::path::Path) -> Started {
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
    std::fs::write(root.join("index.html"), "<!doctype html>").unwrap();
    let signalling = Signalling::with_ws_timeout(Duration::from_secs(15));
    let https = tls.is_some();
    let app = router(HttpState {
        turn: Some(relay.clone()),
        port: addr.port(),
        https,
        connectivity: Default::default(),
        auth: None,
        web_root: Arc::new(root.to_path_buf()),
        rtc: Arc::new(RtcStore::stun_only("127.0.0.1", addr.port())),
        signalling: signalling.clone(),
        turn_user_header: "x-auth-user".into(),
        security: Arc::new(Security::default()),
    });
    let app2 = app.clone();
    tokio::spawn(serve(
        tcp,
        tls,
        app,
        signalling,
        Limits::default(),
        Some(relay),
        std::future::pending(),
    ));
    // /turn straight from the router (the transport is what the tests below exercise).
    use tower::ServiceExt;
    let req = axum::http::Request::get("/turn")
        .header("host", format!("127.0.0.1:{}", addr.port()))
        .body(axum::body::Body::empty())
        .unwrap();
    let resp = app2.oneshot(req).await.unwrap();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    let turn_json = String::from_utf8_lossy(&bytes).into_owned();
    let doc: serde_json::Value = serde_json::from_str(&turn_json).unwrap();
    let ours = doc["iceServers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["urls"].to_string().contains("transport=tcp"))
        .expect("embedded relay advertised")
        .clone();
    Started {
        addr,
        user: ours["username"].as_str().unwrap().to_owned(),
        pass: ours["credential"].as_str().unwrap().to_owned(),
        turn_json,
    }
}

/// uclient through the host's port with `flags`; returns how many echoes came back.
async fn relayed(h: &Started, peer_port: u16, flags: &[&str]) -> (u64, String) {
    let mut args: Vec<String> = vec!["20".into(), UCLIENT.into()];
    args.extend(flags.iter().map(|s| s.to_string()));
    args.extend([
        "-u".into(),
        h.user.clone(),
        "-w".into(),
        h.pass.clone(),
        "-p".into(),
        h.addr.port().to_string(),
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
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
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
    (received, text)
}

/// coturn's UDP echo peer on 127.0.0.1, killed on drop.
async fn echo_peer() -> (Killed, u16) {
    let peer_port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(PEER)
        .args(["-p", &peer_port.to_string(), "-L", "127.0.0.1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    (Killed(child), peer_port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_and_turn_share_the_port() {
    let root = tempfile::tempdir().unwrap();
    let h = start(None, root.path()).await;
    // HTTP still answers on the port.
    assert!(get(h.addr, "/health").await.starts_with("HTTP/1.1 200"));
    // /turn names the relay on this port, over UDP and TCP, no turns: without HTTPS.
    let port = h.addr.port();
    assert!(
        h.turn_json
            .contains(&format!("turn:127.0.0.1:{port}?transport=tcp")),
        "{}",
        h.turn_json
    );
    assert!(
        h.turn_json
            .contains(&format!("turn:127.0.0.1:{port}?transport=udp")),
        "{}",
        h.turn_json
    );
    assert!(!h.turn_json.contains("turns:"), "{}", h.turn_json);
    assert!(
        get(h.addr, "/turn")
            .await
            .contains(&format!("turn:127.0.0.1:{port}?transport=tcp"))
    );
    // A real TURN client relays through the HTTP port, over TCP and over UDP.
    let (_peer, peer_port) = echo_peer().await;
    for flags in [&["-t"][..], &[]] {
        let (received, text) = relayed(&h, peer_port, flags).await;
        assert!(received > 0, "nothing relayed ({flags:?}):\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_and_turn_inside_tls_share_the_port() {
    let root = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let (cert_path, key_path) = (root.path().join("c.pem"), root.path().join("k.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.key_pair.serialize_pem()).unwrap();
    let config = selkies_host::tls::server_config(&cert_path, &key_path).unwrap();
    let h = start(Some(config), root.path()).await;
    let port = h.addr.port();
    assert!(
        h.turn_json
            .contains(&format!("turns:127.0.0.1:{port}?transport=tcp")),
        "{}",
        h.turn_json
    );

    // HTTPS still answers: the byte read to tell TURN from HTTP is handed back to HTTP.
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(cert.cert.der().to_vec()))
        .unwrap();
    let client = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = TcpStream::connect(h.addr).await.unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(Arc::new(client))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    tls.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut resp = Vec::new();
    tls.read_to_end(&mut resp).await.unwrap();
    let text = String::from_utf8_lossy(&resp);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");

    // TURN inside TLS (`turns:`) and plain TURN-over-TCP both relay on the HTTPS port.
    let (_peer, peer_port) = echo_peer().await;
    for flags in [&["-t", "-S"][..], &["-t"]] {
        let (received, text) = relayed(&h, peer_port, flags).await;
        assert!(received > 0, "nothing relayed ({flags:?}):\n{text}");
    }
}
