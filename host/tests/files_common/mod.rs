//! The harness of `files_http.rs`: a host serving the file-transfer routes over the real accept
//! loop, an HTTP/1 client, and the deterministic data the uploads carry.

#![allow(dead_code)] // each test binary uses a subset

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use selkies_host::files::{self, FileTransfer};
use selkies_host::http::{BasicAuth, HttpState, Security, router_with};
use selkies_host::rtc::RtcStore;
use selkies_host::server::{Limits, serve};
use selkies_host::ws::Signalling;
use selkies_proto::config::IntakeSettings;
use tokio::net::TcpStream;
use tokio::sync::oneshot;

pub const AUTH: &str = "Basic dXNlcjpteXBhc3N3ZA=="; // user:mypasswd
pub const MIB: u64 = 1 << 20;

/// One test at a time: the download test measures this process's RSS, which the others'
/// buffers would move.
pub static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub struct Host {
    pub addr: SocketAddr,
    pub up: PathBuf,
    pub down: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<()>,
    pub dir: tempfile::TempDir,
}

pub async fn start(enabled: bool, auth: bool, max_mb: Option<u64>) -> Host {
    start_with(enabled, auth, max_mb, None).await
}

/// [`start`] with `--file_upload_rate_kib` (in bytes per second).
pub async fn start_with(
    enabled: bool,
    auth: bool,
    max_mb: Option<u64>,
    rate_bps: Option<u64>,
) -> Host {
    let dir = tempfile::tempdir().unwrap();
    let (up, down) = (dir.path().join("up"), dir.path().join("down"));
    std::fs::create_dir_all(&down).unwrap();
    let intake = IntakeSettings {
        enable_microphone: false,
        microphone_default_source: false,
        enable_file_transfer: enabled,
        file_upload_dir: Some(up.clone()),
        file_download_dir: Some(down.clone()),
        file_upload_max_bytes: max_mb.map(|m| m * MIB),
        file_upload_rate_bps: rate_bps,
    };
    let signalling = Signalling::with_ws_timeout(Duration::from_secs(15));
    let state = HttpState {
        connectivity: Default::default(),
        turn: None,
        port: 8080,
        https: false,
        auth: auth.then(|| BasicAuth {
            user: "user".into(),
            password: "mypasswd".into(),
        }),
        web_root: Arc::new(dir.path().to_path_buf()),
        rtc: Arc::new(RtcStore::stun_only("127.0.0.1", 3478)),
        signalling: signalling.clone(),
        turn_user_header: "x-auth-user".into(),
        security: Arc::new(Security::default()),
    };
    let app = router_with(state, files::router(FileTransfer::from_settings(&intake)));
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let done = tokio::spawn(async move {
        serve(tcp, None, app, signalling, Limits::default(), None, async {
            let _ = stopped.await;
        })
        .await;
    });
    Host {
        addr,
        up,
        down,
        stop: Some(stop),
        done,
        dir,
    }
}

impl Host {
    pub async fn stop(mut self) {
        let _ = self.stop.take().map(|s| s.send(()));
        let _ = tokio::time::timeout(Duration::from_secs(10), &mut self.done).await;
    }
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: hyper::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

pub async fn send(addr: SocketAddr, method: &str, path: &str, body: Vec<u8>, auth: bool) -> Reply {
    send_with(addr, method, path, body, auth, &[]).await
}

pub async fn send_with(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Vec<u8>,
    auth: bool,
    headers: &[(&str, &str)],
) -> Reply {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string());
    if auth {
        req = req.header("authorization", AUTH);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = sender
        .send_request(req.body(Full::new(Bytes::from(body))).unwrap())
        .await
        .unwrap();
    let (parts, body) = resp.into_parts();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes().to_vec(),
    }
}

pub fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Deterministic, incompressible-looking bytes for `[offset, offset + len)` of a file, so a
/// large upload never has to be held in memory whole. Byte `i` is byte `i % 8` of the mixed
/// 64-bit word `i / 8`; generated a word at a time, because per byte this debug-built test
/// client made twice the 1 GiB of the bench (upload and comparison) at about 20 MiB/s and
/// was most of its 108 s (docs/files.md).
pub fn pattern_at(offset: u64, len: usize) -> Vec<u8> {
    let (first, last) = (offset / 8, (offset + len as u64).div_ceil(8));
    let mut out = Vec::with_capacity(((last - first) * 8) as usize);
    for w in first..last {
        let mut x = w.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        x ^= x >> 29;
        x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        out.extend_from_slice(&x.to_le_bytes());
    }
    let skip = (offset % 8) as usize;
    out.drain(..skip);
    out.truncate(len);
    out
}

/// Upload size of the resume test: 64 MiB, or `SELKIES_UPLOAD_TEST_MB` (77-intake: 1024).
pub fn upload_test_size() -> u64 {
    std::env::var("SELKIES_UPLOAD_TEST_MB")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(64)
        * MIB
}

pub async fn start_upload(h: &Host, name: &str, size: u64) -> Reply {
    let path = format!("/files/upload?name={}&size={size}", pct(name));
    send(h.addr, "POST", &path, Vec::new(), true).await
}

/// Uploads `data` in one chunk; returns the name the host gave it.
pub async fn upload(h: &Host, name: &str, data: &[u8]) -> String {
    let r = start_upload(h, name, data.len() as u64).await;
    let j = r.json();
    if data.is_empty() {
        // Nothing to send: complete at once.
        assert_eq!(
            (r.status, &j["done"]),
            (StatusCode::OK, &serde_json::json!(true))
        );
        return j["name"].as_str().unwrap().to_owned();
    }
    assert_eq!(r.status, StatusCode::CREATED, "{j:?}");
    let id = j["id"].as_str().unwrap().to_owned();
    let r = send(
        h.addr,
        "PUT",
        &format!("/files/upload/{id}?offset=0"),
        data.to_vec(),
        true,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json());
    assert_eq!(r.json()["done"], true);
    r.json()["name"].as_str().unwrap().to_owned()
}
