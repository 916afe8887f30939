//! A whole host started in-process through `selkies_host::startup` (HTTP, `/ws`, the host's own
//! peers, a real Xvfb and x264enc): a browser's HELLO gets an SDP offer that a webrtcbin in the
//! test answers until the data channel opens and carries a setting change, our client's second tab
//! with the same takeover token takes the session over (docs/security.md), a session that fails
//! on a bad answer leaves the peer serving the next client, and a peer task that panics (the
//! test-only fault of docs/testing.md) is restarted while the host keeps serving.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_sdp as gst_sdp;
use gstreamer_webrtc as gst_webrtc;
use selkies_host::supervise;
use selkies_proto::signalling::Envelope;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

const TOKEN: &str = "0123456789abcdef0123456789abcdef";
/// The signalling text that makes the peer receiving it panic (`supervise::INJECT_PANIC_ENV`).
const PANIC_TRIGGER: &str = "TEST-FAULT peer task panic";

async fn start_host() -> common::TestHost {
    common::start_host(&[]).await
}

async fn connect(addr: SocketAddr, token: Option<&str>) -> Ws {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .expect("ws");
    ws.send(Message::text(common::hello(token)))
        .await
        .expect("HELLO");
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

/// One test, so that one Xvfb serves every scenario and `DISPLAY` (process-wide) is set before
/// any host thread reads it; the server is a local, stopped even when a scenario fails.
#[test]
fn whole_host_scenarios() {
    gst::init().expect("gst init");
    let x = common::Xvfb::sized(1280, 720);
    // SAFETY: the only test of this binary sets it before starting a host.
    unsafe { std::env::set_var("DISPLAY", &x.display) };
    // SAFETY: as above; the trigger is read once, by the first peer that receives a text.
    unsafe { std::env::set_var(supervise::INJECT_PANIC_ENV, PANIC_TRIGGER) };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        hello_gets_an_offer_and_the_same_token_takes_over().await;
        a_failed_session_leaves_the_peer_serving_the_next_client().await;
        a_panicking_peer_task_is_restarted_and_the_host_keeps_serving().await;
        an_answering_peer_gets_the_data_channel_and_its_setting_is_persisted().await;
    });
    // Every task (and the pipelines and X connections they hold) ends with the runtime; only
    // then may the X server go, or a client still connected to it would exit the process.
    drop(runtime);
    drop(x);
}

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
    let offer = next_client_offer(host.addr)
        .await
        .expect("the peer serves a new client after a failed session");
    assert!(offer.contains("m=video"), "{offer}");
    host.stop().await;
}

async fn a_panicking_peer_task_is_restarted_and_the_host_keeps_serving() {
    let host = start_host().await;
    let mut doomed = connect(host.addr, None).await;
    next_offer(&mut doomed).await;
    // The video peer's task panics on this text: its session and pipeline go with it, and the
    // supervisor runs the task again after its backoff.
    doomed
        .send(Message::text(PANIC_TRIGGER))
        .await
        .expect("trigger");
    drop(doomed);
    assert_eq!(
        health(host.addr).await,
        200,
        "/health answers after the panic"
    );
    let offer = next_client_offer(host.addr)
        .await
        .expect("the restarted peer serves a new client");
    assert!(offer.contains("m=video"), "{offer}");
    assert_eq!(health(host.addr).await, 200);
    host.stop().await;
}

/// The status code of `GET /health`.
async fn health(addr: SocketAddr) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .expect("request");
    let mut text = String::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_string(&mut text))
        .await
        .expect("/health within 10 s")
        .expect("response");
    common::status_code(&text)
}

/// An offer for a new browser, retried while the server still refuses (the previous socket is
/// being closed, or the peer is restarting).
async fn next_client_offer(addr: SocketAddr) -> Option<String> {
    for _ in 0..50 {
        let mut ws = connect(addr, None).await;
        if let Ok(Some(offer)) =
            tokio::time::timeout(Duration::from_secs(5), next_offer_or_refusal(&mut ws)).await
        {
            return Some(offer);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    None
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

/// The browser's side of a session, played by a webrtcbin in the test: it answers the host's
/// offer, trickles candidates both ways, and reports the host's data channel once it is open.
struct Answerer {
    pipeline: gst::Pipeline,
    webrtc: gst::Element,
    /// Envelopes for the host (our ICE candidates).
    outgoing: mpsc::UnboundedReceiver<String>,
    channels: mpsc::UnboundedReceiver<gst_webrtc::WebRTCDataChannel>,
}

impl Answerer {
    fn new() -> Answerer {
        let pipeline = gst::Pipeline::new();
        let webrtc = gst::ElementFactory::make("webrtcbin")
            .property_from_str("bundle-policy", "max-bundle")
            .build()
            .expect("webrtcbin");
        pipeline.add(&webrtc).expect("add");
        // libnice skips loopback unless told (docs/testing.md G1); the host is on 127.0.0.1.
        let ice = webrtc.property::<gst_webrtc::WebRTCICE>("ice-agent");
        let _ = ice.emit_by_name::<bool>("add-local-ip-address", &[&"127.0.0.1"]);
        let (tx, outgoing) = mpsc::unbounded_channel();
        webrtc.connect("on-ice-candidate", false, move |v| {
            let mline = v[1].get::<u32>().expect("mline");
            let candidate = v[2].get::<String>().expect("candidate");
            let _ = tx.send(Envelope::candidate(candidate, mline).to_json());
            None
        });
        let (dc_tx, channels) = mpsc::unbounded_channel();
        webrtc.connect("on-data-channel", false, move |v| {
            let _ = dc_tx.send(
                v[1].get::<gst_webrtc::WebRTCDataChannel>()
                    .expect("channel"),
            );
            None
        });
        let bin = pipeline.downgrade();
        webrtc.connect_pad_added(move |_, pad| {
            let Some(bin) = bin.upgrade() else { return };
            let sink = gst::ElementFactory::make("fakesink")
                .property("async", false)
                .build()
                .expect("fakesink");
            bin.add(&sink).expect("add sink");
            sink.sync_state_with_parent().expect("sink state");
            pad.link(&sink.static_pad("sink").expect("sink pad"))
                .expect("link");
        });
        pipeline.set_state(gst::State::Playing).expect("playing");
        Answerer {
            pipeline,
            webrtc,
            outgoing,
            channels,
        }
    }

    /// Apply the host's offer and return our answer envelope.
    fn answer(&self, offer: &str) -> String {
        let msg = gst_sdp::SDPMessage::parse_buffer(offer.as_bytes()).expect("offer SDP");
        let offer =
            gst_webrtc::WebRTCSessionDescription::new(gst_webrtc::WebRTCSDPType::Offer, msg);
        let promise = gst::Promise::new();
        self.webrtc
            .emit_by_name::<()>("set-remote-description", &[&offer, &promise]);
        promise.wait();
        let promise = gst::Promise::new();
        self.webrtc
            .emit_by_name::<()>("create-answer", &[&None::<gst::Structure>, &promise]);
        promise.wait();
        let answer = promise
            .get_reply()
            .expect("create-answer reply")
            .value("answer")
            .expect("answer")
            .get::<gst_webrtc::WebRTCSessionDescription>()
            .expect("answer description");
        self.webrtc
            .emit_by_name::<()>("set-local-description", &[&answer, &None::<gst::Promise>]);
        let text = answer.sdp().as_text().expect("answer text").to_string();
        serde_json::json!({"sdp": {"type": "answer", "sdp": text}}).to_string()
    }

    fn add_candidate(&self, mline: u32, candidate: &str) {
        self.webrtc
            .emit_by_name::<()>("add-ice-candidate", &[&mline, &candidate]);
    }
}

impl Drop for Answerer {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

async fn an_answering_peer_gets_the_data_channel_and_its_setting_is_persisted() {
    let host = start_host().await;
    let mut ws = connect(host.addr, Some(TOKEN)).await;
    let offer = next_offer(&mut ws).await;
    let mut answerer = Answerer::new();
    let answer = tokio::task::block_in_place(|| answerer.answer(&offer));
    ws.send(Message::text(answer)).await.expect("answer");
    let deadline = Instant::now() + Duration::from_secs(30);
    let channel = loop {
        assert!(Instant::now() < deadline, "no data channel within 30 s");
        tokio::select! {
            Some(c) = answerer.channels.recv() => break c,
            Some(out) = answerer.outgoing.recv() => {
                ws.send(Message::text(out)).await.expect("candidate");
            }
            msg = tokio::time::timeout(Duration::from_secs(1), ws.next()) => {
                if let Ok(Some(Ok(Message::Text(t)))) = msg
                    && let Ok(Envelope::Ice(ice)) = Envelope::parse(&t)
                {
                    answerer.add_candidate(ice.sdp_mline_index.unwrap_or(0), &ice.candidate);
                }
            }
        }
    };
    assert_eq!(channel.label().as_deref(), Some("input"));
    // Keep trickling while the channel finishes opening, then change a setting through it.
    let open_by = Instant::now() + Duration::from_secs(20);
    while channel.ready_state() != gst_webrtc::WebRTCDataChannelState::Open {
        assert!(Instant::now() < open_by, "data channel never opened");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    channel
        .send_string_full(Some("vb,4321"))
        .expect("send on the data channel");
    let text = wait_for_file(&host.json_config, "4321");
    let v: serde_json::Value = serde_json::from_str(&text).expect("overlay is JSON");
    assert_eq!(v["video_bitrate"], 4321, "{text}");
    drop(answerer);
    drop(ws);
    host.stop().await;
}
