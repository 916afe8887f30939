//! A whole host started in-process through `selkies_host::startup` (HTTP, `/ws`, the host's own
//! peers, a real Xvfb and x264enc): a browser's HELLO gets an SDP offer, our client's second tab
//! with the same takeover token takes the session over (docs/security.md), a session that fails
//! on a bad answer leaves the peer serving the next client, and a live-setting change reaches
//! the `--json_config` overlay file.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::time::{Duration, Instant};

use base64::Engine;
use clap::Parser;
use futures::{SinkExt, StreamExt};
use selkies_host::startup::{self, Started};
use selkies_proto::config::{Args, HostFacts, OverlaySetting, Settings};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

const TOKEN: &str = "0123456789abcdef0123456789abcdef";

/// One Xvfb for the whole test binary: `DISPLAY` is process-wide, so it is set once, before
/// any host reads it.
fn display() {
    static START: Once = Once::new();
    START.call_once(|| {
        gstreamer::init().expect("gst init");
        let x = Box::leak(Box::new(common::Xvfb::start(1280, 720)));
        // SAFETY: set once, under `Once`, before any host of this binary starts a thread that
        // reads the environment.
        unsafe { std::env::set_var("DISPLAY", &x.display) };
    });
}

struct Running {
    addr: SocketAddr,
    host: std::sync::Arc<selkies_host::host::Host>,
    json_config: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

async fn start_host() -> Running {
    display();
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("index.html"), "<!doctype html>").expect("index");
    let json_config = dir.path().join("selkies.json");
    let args = Args::try_parse_from([
        "selkies-gstreamer".to_owned(),
        "--addr=127.0.0.1".to_owned(),
        "--port=0".to_owned(),
        "--encoder=x264enc".to_owned(),
        "--enable_basic_auth=false".to_owned(),
        "--enable_resize=false".to_owned(),
        "--stun_host=127.0.0.1".to_owned(),
        "--stun_port=3478".to_owned(),
        "--turn_host=".to_owned(),
        format!("--json_config={}", json_config.display()),
        format!("--web_root={}", dir.path().display()),
        format!(
            "--rtc_config_json={}",
            dir.path().join("rtc.json").display()
        ),
    ])
    .expect("args");
    let settings = Settings::resolve_with(args, &HostFacts::default()).expect("settings");
    let started: Started = startup::start(settings).await.expect("host starts");
    let (addr, host) = (started.addr, started.host.clone());
    let (stop, stopped) = oneshot::channel::<()>();
    let done = tokio::spawn(started.serve(async {
        let _ = stopped.await;
    }));
    Running {
        addr,
        host,
        json_config,
        stop: Some(stop),
        done,
        _dir: dir,
    }
}

impl Running {
    async fn stop(mut self) {
        let _ = self.stop.take().map(|s| s.send(()));
        tokio::time::timeout(Duration::from_secs(30), &mut self.done)
            .await
            .expect("the host stops")
            .expect("serve task");
    }
}

fn hello(token: Option<&str>) -> String {
    let mut meta = serde_json::json!({ "res": "1280x720", "scale": 1 });
    if let Some(t) = token {
        meta["token"] = t.into();
    }
    let b64 = base64::engine::general_purpose::STANDARD.encode(meta.to_string());
    format!("HELLO 1 {b64}")
}

async fn connect(addr: SocketAddr, token: Option<&str>) -> Ws {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .expect("ws");
    ws.send(Message::text(hello(token))).await.expect("HELLO");
    ws
}

/// The next SDP offer the host's video peer sends (after the server's `HELLO`).
async fn next_offer(ws: &mut Ws) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    while let Ok(Some(Ok(msg))) = tokio::time::timeout(
        deadline.saturating_duration_since(Instant::now()),
        ws.next(),
    )
    .await
    {
        let Message::Text(t) = msg else { continue };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&t) else {
            assert!(t.as_str() == "HELLO", "unexpected signalling text {t:?}");
            continue;
        };
        if v["sdp"]["type"] == "offer" {
            return v["sdp"]["sdp"].as_str().expect("sdp text").to_owned();
        }
    }
    panic!("no offer within 30 s");
}

async fn close_code(ws: &mut Ws) -> Option<u16> {
    let mut code = None;
    while let Ok(Some(Ok(msg))) = tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
        if let Message::Close(Some(c)) = msg {
            code = Some(u16::from(c.code));
        }
    }
    code
}

fn wait_for_file(path: &Path, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.contains(needle) || Instant::now() > deadline {
            return text;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hello_gets_an_offer_and_the_same_token_takes_over() {
    let host = start_host().await;
    let mut first = connect(host.addr, Some(TOKEN)).await;
    let offer = next_offer(&mut first).await;
    assert!(offer.contains("m=video"), "{offer}");
    assert!(offer.contains("H264/90000"), "{offer}");
    assert!(
        offer.contains("m=application"),
        "the data channel is offered: {offer}"
    );
    // A second tab of our client: the same token takes over; the first tab is closed with 4001.
    let mut second = connect(host.addr, Some(TOKEN)).await;
    let offer = next_offer(&mut second).await;
    assert!(offer.contains("m=video"), "{offer}");
    assert_eq!(close_code(&mut first).await, Some(4001));
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_session_leaves_the_peer_serving_the_next_client() {
    let host = start_host().await;
    let mut broken = connect(host.addr, None).await;
    next_offer(&mut broken).await;
    // An answer webrtcbin cannot apply: the peer's session fails and is dropped.
    broken
        .send(Message::text(
            serde_json::json!({"sdp": {"type": "answer", "sdp": "v=0 garbage"}}).to_string(),
        ))
        .await
        .expect("answer");
    broken
        .send(Message::text("not json at all"))
        .await
        .expect("junk");
    drop(broken);
    // The next browser is served by the same peer task.
    let mut next = None;
    for _ in 0..50 {
        let mut ws = connect(host.addr, None).await;
        if let Ok(offer) =
            tokio::time::timeout(Duration::from_secs(5), next_offer_or_refusal(&mut ws)).await
            && let Some(offer) = offer
        {
            next = Some(offer);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let offer = next.expect("the peer serves a new client after a failed session");
    assert!(offer.contains("m=video"), "{offer}");
    host.stop().await;
}

/// The offer, or None when the server refuses (`ERROR … busy` while the dropped socket is still
/// being closed).
async fn next_offer_or_refusal(ws: &mut Ws) -> Option<String> {
    while let Some(Ok(msg)) = ws.next().await {
        let Message::Text(t) = msg else { continue };
        if t.starts_with("ERROR") {
            return None;
        }
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&t)
            && v["sdp"]["type"] == "offer"
        {
            return v["sdp"]["sdp"].as_str().map(str::to_owned);
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_setting_change_is_persisted_to_the_overlay() {
    let host = start_host().await;
    host.host.update_live(|l| l.video_kbps = 4321);
    host.host.persist(OverlaySetting::VideoBitrate(4321));
    let text = wait_for_file(&host.json_config, "4321");
    let v: serde_json::Value = serde_json::from_str(&text).expect("overlay is JSON");
    assert_eq!(v["video_bitrate"], 4321, "{text}");
    host.stop().await;
}
