//! The HTTP port under hostile or broken clients, through the real accept loop
//! (`selkies_host::server`): cross-site WebSocket upgrades, failed-login flood, slow headers,
//! per-IP connection cap, shutdown with open connections, dead signalling peers, and the
//! one-viewer rule with our client's takeover token.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

#[allow(dead_code)] // the Xvfb fixture is not used here
mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::status_code as status;
use futures::{SinkExt, StreamExt};
use selkies_host::http::{HttpState, Security, router};
use selkies_host::rtc::RtcStore;
use selkies_host::server::{Limits, serve};
use selkies_host::ws::{LocalEvent, Signalling};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const AUTH: &str = "Basic dXNlcjpteXBhc3N3ZA=="; // user:mypasswd

struct Host {
    addr: SocketAddr,
    signalling: Arc<Signalling>,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<()>,
    _root: tempfile::TempDir,
}

async fn start(limits: Limits, ws_timeout: Duration, auth: bool) -> Host {
    let root = tempfile::tempdir().expect("tempdir");
    std::fs::write(root.path().join("index.html"), "<!doctype html>").expect("index");
    let signalling = Signalling::with_ws_timeout(ws_timeout);
    let app = router(HttpState {
        signalling: signalling.clone(),
        security: Arc::new(Security {
            strict_csp: true,
            ..Default::default()
        }),
        ..common::http_state(
            root.path().to_path_buf(),
            auth,
            RtcStore::stun_only("stun.l.google.com", 19302),
        )
    });
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = tcp.local_addr().expect("addr");
    let (stop, stopped) = oneshot::channel::<()>();
    let sig = signalling.clone();
    let done = tokio::spawn(async move {
        serve(tcp, None, app, sig, limits, None, async {
            let _ = stopped.await;
        })
        .await;
    });
    Host {
        addr,
        signalling,
        stop: Some(stop),
        done,
        _root: root,
    }
}

/// Sends `request` and returns the response head (status line and headers).
async fn raw(addr: SocketAddr, request: &str) -> String {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(request.as_bytes()).await.expect("write");
    let mut buf = vec![0u8; 4096];
    let n = s.read(&mut buf).await.unwrap_or(0);
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

fn upgrade_request(addr: SocketAddr, origin: Option<&str>) -> String {
    let mut r = format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Authorization: {AUTH}\r\n"
    );
    if let Some(o) = origin {
        r.push_str(&format!("Origin: {o}\r\n"));
    }
    r.push_str("\r\n");
    r
}

#[tokio::test]
async fn cross_site_websocket_is_refused() {
    let host = start(Limits::default(), Duration::from_secs(15), true).await;
    let evil = raw(
        host.addr,
        &upgrade_request(host.addr, Some("http://evil.example")),
    )
    .await;
    assert_eq!(status(&evil), 403, "{evil}");
    let own = format!("http://{}", host.addr);
    let ok = raw(host.addr, &upgrade_request(host.addr, Some(&own))).await;
    assert_eq!(status(&ok), 101, "{ok}");
    let tool = raw(host.addr, &upgrade_request(host.addr, None)).await;
    assert_eq!(status(&tool), 101, "no Origin: not a browser");
}

#[tokio::test]
async fn failed_logins_are_rate_limited_and_pages_carry_security_headers() {
    let host = start(Limits::default(), Duration::from_secs(15), true).await;
    let get = |auth: &'static str| {
        let addr = host.addr;
        async move {
            raw(
                addr,
                &format!("GET / HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\nConnection: close\r\n\r\n"),
            )
            .await
        }
    };
    let page = get(AUTH).await;
    assert_eq!(status(&page), 200);
    for h in [
        "content-security-policy: default-src 'self'",
        "frame-ancestors 'self'",
        "x-content-type-options: nosniff",
        "referrer-policy: no-referrer",
    ] {
        assert!(
            page.to_ascii_lowercase().contains(h),
            "{h} missing in {page}"
        );
    }
    for _ in 0..10 {
        assert_eq!(status(&get("Basic d3Jvbmc6d3Jvbmc=").await), 401);
    }
    let limited = get("Basic d3Jvbmc6d3Jvbmc=").await;
    assert_eq!(status(&limited), 429, "{limited}");
    assert!(
        limited.to_ascii_lowercase().contains("retry-after:"),
        "{limited}"
    );
    // While blocked even the right password waits: guessing cannot continue in the window.
    assert_eq!(status(&get(AUTH).await), 429);
}

#[tokio::test]
async fn slow_headers_are_cut_and_connections_per_ip_are_capped() {
    let limits = Limits {
        header_read_timeout: Duration::from_millis(300),
        max_connections_per_ip: Some(4),
        shutdown_timeout: Duration::from_secs(1),
    };
    let host = start(limits, Duration::from_secs(15), false).await;
    // Slowloris: a request line and then nothing. The host closes the connection (EOF).
    let mut slow = TcpStream::connect(host.addr).await.expect("connect");
    slow.write_all(b"GET / HTTP/1.1\r\n").await.expect("write");
    let mut buf = [0u8; 256];
    let n = tokio::time::timeout(Duration::from_secs(10), slow.read(&mut buf))
        .await
        .expect("the host must close a slow-header connection")
        .unwrap_or(0);
    let _ = n; // hyper may answer 408 before closing; either way the socket ends.
    // Cap: four idle connections fill this IP's slots; the fifth is closed at once.
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut s = TcpStream::connect(host.addr).await.expect("connect");
        s.write_all(b"GET / HTTP/1.1\r\n").await.expect("write");
        held.push(s);
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut fifth = TcpStream::connect(host.addr).await.expect("connect");
    let _ = fifth.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    let n = tokio::time::timeout(Duration::from_secs(5), fifth.read(&mut buf))
        .await
        .expect("refused connection is closed")
        .unwrap_or(0);
    assert_eq!(n, 0, "the fifth connection got a response");
    // Slots come back when connections end.
    drop(held);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let head = raw(host.addr, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!(status(&head), 200);
}

#[tokio::test]
async fn shutdown_tells_websockets_and_does_not_wait_for_half_sent_requests() {
    let limits = Limits {
        header_read_timeout: Duration::from_secs(60),
        max_connections_per_ip: None,
        shutdown_timeout: Duration::from_millis(500),
    };
    let mut host = start(limits, Duration::from_secs(60), false).await;
    let mut half = TcpStream::connect(host.addr).await.expect("connect");
    half.write_all(b"GET / HTTP/1.1\r\n").await.expect("write");
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws", host.addr))
        .await
        .expect("ws");
    tokio::time::sleep(Duration::from_millis(50)).await;
    let _ = host.stop.take().map(|s| s.send(()));
    // The server future ends (before the fix: only when the clients went away).
    tokio::time::timeout(Duration::from_secs(10), &mut host.done)
        .await
        .expect("serve returns after --shutdown_timeout")
        .expect("serve task");
    // The browser was told, with "going away".
    let frame = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .expect("close frame");
    match frame {
        Some(Ok(Message::Close(Some(c)))) => assert_eq!(u16::from(c.code), 1001),
        other => panic!("expected close 1001, got {other:?}"),
    }
}

async fn next_session_ok(inbox: &mut tokio::sync::mpsc::UnboundedReceiver<LocalEvent>) {
    loop {
        match tokio::time::timeout(Duration::from_secs(20), inbox.recv()).await {
            Ok(Some(LocalEvent::Text(t))) if t.starts_with("SESSION_OK") => return,
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => panic!("no SESSION_OK for the host peer"),
        }
    }
}

#[tokio::test]
async fn dead_viewer_is_dropped_and_the_next_client_is_served() {
    let host = start(Limits::default(), Duration::from_millis(600), false).await;
    let (_peer, mut inbox) = host.signalling.register_local("0");
    // A viewer whose network vanishes: it completes the handshake, says HELLO, and then never
    // reads again, so it never answers a ping (a raw socket; a WebSocket library would).
    let mut dead = TcpStream::connect(host.addr).await.expect("connect");
    dead.write_all(upgrade_request(host.addr, None).as_bytes())
        .await
        .expect("write");
    let mut buf = [0u8; 1024];
    let n = dead.read(&mut buf).await.expect("read");
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 101"));
    // A masked client text frame "HELLO 1".
    let payload = b"HELLO 1";
    let mut frame = vec![0x81, 0x80 | payload.len() as u8, 1, 2, 3, 4];
    frame.extend(
        payload
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ [1, 2, 3, 4][i % 4]),
    );
    dead.write_all(&frame).await.expect("hello");
    next_session_ok(&mut inbox).await;
    // The next client: refused while the dead one holds uid 1, served once it is timed out.
    let url = format!("ws://{}/ws", host.addr);
    let mut served = false;
    for _ in 0..40 {
        let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .expect("ws");
        ws.send(Message::text(common::hello(None)))
            .await
            .expect("send");
        // The first text frame decides: `HELLO` (served) or `ERROR … busy` (refused).
        let mut refused = true;
        while let Ok(Some(Ok(msg))) = tokio::time::timeout(Duration::from_secs(5), ws.next()).await
        {
            if let Message::Text(t) = msg {
                refused = t.starts_with("ERROR");
                break;
            }
        }
        if !refused {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(served, "the dead viewer was never dropped");
    next_session_ok(&mut inbox).await;
}

#[tokio::test]
async fn same_client_takes_over_and_others_are_refused() {
    let host = start(Limits::default(), Duration::from_secs(15), false).await;
    let (_peer, mut inbox) = host.signalling.register_local("0");
    let url = format!("ws://{}/ws", host.addr);
    let token = "0123456789abcdef0123456789abcdef";
    let (mut first, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .expect("ws");
    first
        .send(Message::text(common::hello(Some(token))))
        .await
        .expect("send");
    next_session_ok(&mut inbox).await;
    // Another client (the legacy client has no token): an ERROR and a close.
    let mut req = url.as_str().into_client_request().expect("request");
    req.headers_mut().insert(
        "origin",
        format!("http://{}", host.addr).parse().expect("hv"),
    );
    let (mut other, _) = tokio_tungstenite::connect_async(req).await.expect("ws");
    other
        .send(Message::text(common::hello(None)))
        .await
        .expect("send");
    let mut got_error = false;
    while let Some(Ok(msg)) = other.next().await {
        if let Message::Text(t) = msg {
            got_error |= t.starts_with("ERROR peer '1' busy");
        }
    }
    assert!(got_error);
    // Our client again (new tab or reload): it takes over; the old tab is closed with 4001.
    let (mut second, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .expect("ws");
    second
        .send(Message::text(common::hello(Some(token))))
        .await
        .expect("send");
    next_session_ok(&mut inbox).await;
    let mut code = None;
    while let Some(Ok(msg)) = first.next().await {
        if let Message::Close(Some(c)) = msg {
            code = Some(u16::from(c.code));
        }
    }
    assert_eq!(code, Some(4001));
}

#[tokio::test]
async fn shutdown_drains_idle_connections_without_waiting_for_the_deadline() {
    // A deadline of an hour: serve() must still return once the idle keep-alive connection
    // and the WebSocket are gone, i.e. it waits for connections, not for the clock.
    let limits = Limits {
        header_read_timeout: Duration::from_secs(60),
        max_connections_per_ip: None,
        shutdown_timeout: Duration::from_secs(3600),
    };
    let mut host = start(limits, Duration::from_secs(60), false).await;
    let mut keep_alive = TcpStream::connect(host.addr).await.expect("connect");
    keep_alive
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let mut buf = [0u8; 512];
    let n = keep_alive.read(&mut buf).await.expect("response");
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws", host.addr))
        .await
        .expect("ws");
    let _ = host.stop.take().map(|s| s.send(()));
    // The client side answers the close like a browser does.
    let reader = tokio::spawn(async move { while let Some(Ok(_)) = ws.next().await {} });
    tokio::time::timeout(Duration::from_secs(30), &mut host.done)
        .await
        .expect("serve returns once idle connections are closed")
        .expect("serve task");
    let _ = reader.await;
}
