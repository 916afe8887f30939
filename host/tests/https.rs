//! `--enable_https`: the certificate/key loading errors name the file, and a real TLS client
//! reaches `/health` through the concurrent-handshake listener.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::sync::Arc;

use rustls::pki_types::{CertificateDer, ServerName};
use selkies_host::http::{HttpState, router};
use selkies_host::rtc::RtcStore;
use selkies_host::tls::{TlsListener, server_config};
use selkies_host::ws::Signalling;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn self_signed(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf, Vec<u8>) {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("cert");
    let cert_path = dir.join("cert.pem");
    let key_path = dir.join("key.pem");
    std::fs::write(&cert_path, cert.cert.pem()).expect("write cert");
    std::fs::write(&key_path, cert.key_pair.serialize_pem()).expect("write key");
    (cert_path, key_path, cert.cert.der().to_vec())
}

#[test]
fn missing_or_bad_files_are_clear_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nope.pem");
    let err = server_config(&missing, &missing).expect_err("missing cert");
    assert!(err.to_string().contains("nope.pem"), "{err}");

    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate").expect("write");
    let err = server_config(&garbage, &garbage).expect_err("bad cert");
    assert!(err.to_string().contains("garbage.pem"), "{err}");

    let (cert, _key, _) = self_signed(dir.path());
    // Key absent: legacy looks for it inside the certificate file, which has none here.
    let err = server_config(&cert, &dir.path().join("absent.key")).expect_err("no key");
    assert!(err.to_string().contains("cert.pem"), "{err}");
}

#[tokio::test]
async fn health_over_tls() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert, key, der) = self_signed(dir.path());
    let config = server_config(&cert, &key).expect("valid cert and key");

    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = tcp.local_addr().expect("addr");
    let listener = TlsListener::new(tcp, config).expect("listener");
    let app = router(HttpState {
        turn: None,
        port: 8080,
        https: false,
        connectivity: Default::default(),
        auth: None,
        web_root: Arc::new(dir.path().to_path_buf()),
        rtc: Arc::new(RtcStore::stun_only("stun.l.google.com", 19302)),
        signalling: Signalling::new(),
        turn_user_header: "x-auth-user".into(),
        security: Default::default(),
    });
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    // A client that stalls its handshake must not block the next one.
    let _stalled = tokio::net::TcpStream::connect(addr).await.expect("connect");

    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from(der)).expect("root");
    let client = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut tls = tokio_rustls::TlsConnector::from(Arc::new(client))
        .connect(ServerName::try_from("localhost").expect("name"), tcp)
        .await
        .expect("handshake");
    tls.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut resp = Vec::new();
    tls.read_to_end(&mut resp).await.expect("read");
    let text = String::from_utf8_lossy(&resp);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.ends_with("OK\n"), "{text}");
    server.abort();
}
