//! One transport at a time, both ways (docs/protocol.md §13.1), with a whole host started
//! in-process (HTTP, `/ws`, the host's own peers, a real Xvfb and x264enc): while a browser
//! streams over the WebSocket, another browser's WebRTC `HELLO` is refused with close 1013 as a
//! second streaming socket is while a browser holds the WebRTC peers; the same browser
//! switching transports back and forth (auto fallback, then a reload that connects over WebRTC)
//! replaces its own older session each time, and the host's audio-encoder handle
//! (`media::audio_owner`) has exactly one claim while a transport streams and none afterwards.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use base64::Engine;
use futures::{SinkExt, StreamExt};
use gstreamer as gst;
use selkies_host::host::Host;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

const MINE: &str = "0123456789abcdef0123456789abcdef";
const OTHER: &str = "fedcba9876543210fedcba9876543210";
const SWITCHES: usize = 3;

async fn start_host() -> common::TestHost {
    common::start_host(&["--transport=auto"]).await
}

fn meta(token: Option<&str>) -> String {
    let mut meta = serde_json::json!({ "res": "1280x720", "scale": 1, "codecs": ["H264"] });
    if let Some(t) = token {
        meta["token"] = t.into();
    }
    base64::engine::general_purpose::STANDARD.encode(meta.to_string())
}

async fn open(addr: SocketAddr, first: String) -> Ws {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .expect("ws");
    ws.send(Message::text(first)).await.expect("first frame");
    ws
}

async fn webrtc(addr: SocketAddr, uid: &str, token: Option<&str>) -> Ws {
    open(addr, format!("HELLO {uid} {}", meta(token))).await
}

async fn websocket(addr: SocketAddr, token: Option<&str>) -> Ws {
    open(addr, format!("WSSTREAM {}", meta(token))).await
}

/// Read until a binary (media) message arrives; panics on a close or after 30 s.
async fn media(ws: &mut Ws) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, ws.next()).await {
            Ok(Some(Ok(Message::Binary(_)))) => return,
            Ok(Some(Ok(Message::Close(c)))) => panic!("closed instead of streaming: {c:?}"),
            Ok(Some(Ok(_))) => {}
            other => panic!("no media within 30 s: {other:?}"),
        }
    }
}

/// Read until the host's SDP offer arrives.
async fn offer(ws: &mut Ws) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) if t.contains("\"offer\"") => return,
            Ok(Some(Ok(Message::Close(c)))) => panic!("closed instead of an offer: {c:?}"),
            Ok(Some(Ok(_))) => {}
            other => panic!("no offer within 30 s: {other:?}"),
        }
    }
}

/// The close frame (code, reason) ending the socket within 20 s, and the ERROR lines seen
/// before it (a socket that keeps talking instead, e.g. a session not refused, fails).
async fn closed(ws: &mut Ws) -> (Option<u16>, String, Vec<String>) {
    let mut errors = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while let Ok(Some(Ok(msg))) = tokio::time::timeout(
        deadline.saturating_duration_since(Instant::now()),
        ws.next(),
    )
    .await
    {
        match msg {
            Message::Text(t) if t.starts_with("ERROR") => errors.push(t.to_string()),
            Message::Close(Some(c)) => {
                return (Some(u16::from(c.code)), c.reason.to_string(), errors);
            }
            Message::Close(None) => return (None, String::new(), errors),
            _ => {}
        }
    }
    (None, String::new(), errors)
}

/// Wait (at most 15 s) until the audio-encoder handle has `n` claims; the old transport's
/// pipelines stop on the blocking pool, a moment after its socket closed.
async fn claims(host: &Host, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while host.audio_encoder_claims() != n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(host.audio_encoder_claims(), n, "audio-encoder claims");
}

async fn refused_busy(mut ws: Ws, what: &str) {
    let (code, reason, _) = closed(&mut ws).await;
    assert_eq!(code, Some(1013), "{what}: {reason}");
    assert_eq!(
        reason, "another browser is streaming from this host",
        "{what}"
    );
}

#[test]
fn one_transport_at_a_time() {
    gst::init().expect("gst init");
    let x = common::Xvfb::sized(1280, 720);
    // SAFETY: the only test of this binary sets it before starting a host.
    unsafe { std::env::set_var("DISPLAY", &x.display) };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(scenario());
    drop(runtime);
    drop(x);
}

async fn scenario() {
    let host = start_host().await;
    let addr = host.addr;
    let mut ws = websocket(addr, Some(MINE)).await;
    media(&mut ws).await;
    claims(&host.host, 1).await;

    // Another browser, or one without a token, cannot start WebRTC (video or audio) meanwhile.
    let mut other = webrtc(addr, "1", Some(OTHER)).await;
    let (code, reason, errors) = closed(&mut other).await;
    assert_eq!(code, Some(1013), "{reason}");
    assert_eq!(reason, "another browser is streaming from this host");
    assert!(
        errors.iter().any(|e| e.starts_with("ERROR peer '1' busy")),
        "{errors:?}"
    );
    refused_busy(webrtc(addr, "1", None).await, "HELLO 1 without a token").await;
    refused_busy(
        webrtc(addr, "3", Some(OTHER)).await,
        "HELLO 3 of another browser",
    )
    .await;
    media(&mut ws).await;

    for round in 0..SWITCHES {
        // The same browser reloads and connects over WebRTC: its WebSocket stream ends (4001).
        let mut video = webrtc(addr, "1", Some(MINE)).await;
        let mut audio = webrtc(addr, "3", Some(MINE)).await;
        let (code, reason, _) = closed(&mut ws).await;
        assert_eq!(code, Some(4001), "round {round}: {reason}");
        offer(&mut video).await;
        offer(&mut audio).await;
        claims(&host.host, 1).await;
        // The reverse refusal still holds.
        refused_busy(
            websocket(addr, Some(OTHER)).await,
            "WSSTREAM of another browser",
        )
        .await;
        // ICE never connects (nobody answers): the page falls back to the WebSocket.
        ws = websocket(addr, Some(MINE)).await;
        media(&mut ws).await;
        for (name, s) in [("video", &mut video), ("audio", &mut audio)] {
            let (code, reason, _) = closed(s).await;
            assert_eq!(
                code,
                Some(4001),
                "round {round}: WebRTC {name} socket: {reason}"
            );
        }
        claims(&host.host, 1).await;
    }
    ws.close(None).await.expect("close");
    drop(ws);
    claims(&host.host, 0).await;
    host.stop().await;
}
