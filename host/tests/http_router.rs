//! The axum router in-process: Basic auth on every route (WebSocket upgrade included), static
//! files with MIME types and no escape from the web root, `/health`, and `/turn` per RTC mode.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use common::http_state as state;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use selkies_host::http::{HttpState, router};
use selkies_host::rtc::RtcStore;
use tower::ServiceExt;

const GOOD: &str = "Basic dXNlcjpteXBhc3N3ZA=="; // user:mypasswd
const BAD: &str = "Basic dXNlcjp3cm9uZw=="; // user:wrong

fn web_root() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("index.html"), "<html>hi</html>").expect("write");
    std::fs::write(dir.path().join("app.js"), "console.log(1)").expect("write");
    std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
    std::fs::write(dir.path().join("sub/manifest.webmanifest"), "{}").expect("write");
    dir
}

async fn get(state: &HttpState, path: &str, auth: Option<&str>) -> (StatusCode, String, String) {
    let mut req = Request::builder().uri(path);
    if let Some(a) = auth {
        req = req.header(header::AUTHORIZATION, a);
    }
    let resp = router(state.clone())
        .oneshot(req.body(Body::empty()).expect("request"))
        .await
        .expect("response");
    let status = resp.status();
    let ctype = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    (status, ctype, String::from_utf8_lossy(&body).into_owned())
}

/// A real WebSocket handshake over TCP (the upgrade needs a real connection); returns the status.
async fn ws_upgrade(state: &HttpState, path: &str, auth: Option<&str>) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = router(state.clone());
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut req = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    );
    if let Some(a) = auth {
        req.push_str(&format!("Authorization: {a}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).await.expect("write");
    let mut buf = [0u8; 512];
    let n = stream.read(&mut buf).await.expect("read");
    server.abort();
    let head = String::from_utf8_lossy(&buf[..n]).to_string();
    common::status_code(&head)
}

#[tokio::test]
async fn every_route_needs_credentials() {
    let root = web_root();
    let st = state(
        root.path().into(),
        true,
        RtcStore::stun_only("stun.l.google.com", 19302),
    );
    for path in [
        "/",
        "/index.html",
        "/turn",
        "/health",
        "/ws",
        "/webrtc/signalling/",
    ] {
        let (status, _, body) = get(&st, path, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(body, "Authorization required", "{path}");
        let (status, _, body) = get(&st, path, Some(BAD)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(body, "Unauthorized", "{path}");
    }
    assert_eq!(ws_upgrade(&st, "/ws", None).await, 401);
    assert_eq!(
        ws_upgrade(&st, "/ws", Some(BAD)).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn good_credentials_reach_every_route() {
    let root = web_root();
    let st = state(
        root.path().into(),
        true,
        RtcStore::stun_only("stun.l.google.com", 19302),
    );
    let (status, ctype, body) = get(&st, "/", Some(GOOD)).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "<html>hi</html>"));
    assert!(ctype.starts_with("text/html"));
    let (status, ctype, _) = get(&st, "/app.js?ts=5", Some(GOOD)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(ctype.starts_with("text/javascript"));
    let (_, ctype, _) = get(&st, "/sub/manifest.webmanifest", Some(GOOD)).await;
    assert_eq!(ctype, "application/manifest+json");
    let (status, _, body) = get(&st, "/health", Some(GOOD)).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "OK\n"));
    let (status, _, _) = get(&st, "/turn", Some(GOOD)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        ws_upgrade(&st, "/webrtc/signalling/", Some(GOOD)).await,
        101
    );
    assert_eq!(ws_upgrade(&st, "/ws", Some(GOOD)).await, 101);
}

#[tokio::test]
async fn no_auth_when_disabled() {
    let root = web_root();
    let st = state(
        root.path().into(),
        false,
        RtcStore::stun_only("stun.l.google.com", 19302),
    );
    assert_eq!(get(&st, "/health", None).await.0, StatusCode::OK);
    assert_eq!(ws_upgrade(&st, "/ws", None).await, 101);
}

/// The Cache-Control header of a GET of `path` (empty when there is none).
async fn cache_control(state: &HttpState, path: &str) -> String {
    let req = Request::builder()
        .uri(path)
        .body(Body::empty())
        .expect("request");
    let resp = router(state.clone()).oneshot(req).await.expect("response");
    assert_eq!(resp.status(), StatusCode::OK, "{path}");
    resp.headers()
        .get(header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

#[tokio::test]
async fn a_versioned_bundle_is_immutable_and_the_page_is_revalidated() {
    let root = web_root();
    let st = state(
        root.path().into(),
        false,
        RtcStore::stun_only("stun.l.google.com", 19302),
    );
    let immutable = "public, max-age=31536000, immutable";
    assert_eq!(cache_control(&st, "/app.js?v=84a47c56").await, immutable);
    assert_eq!(
        cache_control(&st, "/app.js?e2e=1&v=84a47c56").await,
        immutable
    );
    // Without a version the browser's usual rules apply; the page itself is always revalidated.
    assert_eq!(cache_control(&st, "/app.js").await, "");
    assert_eq!(cache_control(&st, "/app.js?v=").await, "");
    assert_eq!(
        cache_control(&st, "/index.html?v=84a47c56").await,
        "no-cache"
    );
    assert_eq!(cache_control(&st, "/?v=84a47c56").await, "no-cache");
}

#[tokio::test]
async fn path_traversal_is_refused() {
    let outer = tempfile::tempdir().expect("tempdir");
    let root = outer.path().join("web");
    std::fs::create_dir(&root).expect("mkdir");
    std::fs::write(root.join("index.html"), "ok").expect("write");
    std::fs::write(outer.path().join("secret.txt"), "secret").expect("write");
    std::os::unix::fs::symlink(outer.path().join("secret.txt"), root.join("link.txt"))
        .expect("symlink");
    let st = state(root, false, RtcStore::stun_only("stun.l.google.com", 19302));
    for path in [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/sub/%2E%2E/%2E%2E/secret.txt",
        "/..%2fsecret.txt",
        "/link.txt",
        "/%00",
        "/missing.js",
    ] {
        let (status, _, body) = get(&st, path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(body, "404 NOT FOUND", "{path}");
    }
}

#[tokio::test]
async fn turn_json_default_is_stun_only() {
    let root = web_root();
    let st = state(
        root.path().into(),
        false,
        RtcStore::stun_only("stun.l.google.com", 19302),
    );
    let (status, ctype, body) = get(&st, "/turn", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ctype, "application/json");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["lifetimeDuration"], "86400s");
    assert_eq!(v["blockStatus"], "NOT_BLOCKED");
    assert_eq!(v["iceTransportPolicy"], "all");
    assert_eq!(
        v["iceServers"][0]["urls"][0],
        "stun:stun.l.google.com:19302"
    );
    assert_eq!(v["iceServers"].as_array().map(Vec::len), Some(1));
}
