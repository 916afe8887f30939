//! The HTTP GET of the TURN-REST service (docs/protocol.md §8.1): the host sends the configured
//! user/protocol/TLS headers to the URI's path (query dropped, like legacy) and expects the RTC
//! config JSON back. HTTP/1.1 framing (chunked bodies included) is hyper's client; this module
//! only picks the transport: plain TCP, or rustls with the system CA bundle for `https://`.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Empty, Limited};
use hyper::Request;
use hyper::body::Bytes;
use hyper::header::{ACCEPT, HOST, HeaderName, HeaderValue};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use selkies_proto::rtc_config::RtcConfig;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

#[derive(Debug, thiserror::Error)]
pub enum RestError {
    #[error("unsupported TURN-REST URI '{0}' (need http:// or https://)")]
    BadUri(String),
    #[error("TURN-REST I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("TURN-REST TLS: {0}")]
    Tls(String),
    #[error("TURN-REST timed out")]
    Timeout,
    #[error("TURN-REST answered {0}")]
    Status(String),
    #[error("TURN-REST HTTP: {0}")]
    Http(String),
    #[error("TURN-REST response is malformed: {0}")]
    Malformed(&'static str),
    #[error("TURN-REST JSON is not an RTC config: {0}")]
    Json(String),
}

/// Headers sent with every request (user, protocol, TLS).
#[derive(Debug, Clone)]
pub struct RestRequest {
    pub headers: Vec<(String, String)>,
}

#[derive(Debug)]
struct Target {
    tls: bool,
    /// Without the brackets of an IPv6 literal.
    host: String,
    port: u16,
    /// The `Host` header: the URI's authority as written.
    authority: String,
    path: String,
}

fn parse_uri(uri: &str) -> Result<Target, RestError> {
    let bad = || RestError::BadUri(uri.to_string());
    let parsed: hyper::Uri = uri.parse().map_err(|_| bad())?;
    let tls = match parsed.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(bad()),
    };
    let authority = parsed.authority().ok_or_else(bad)?;
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    if host.is_empty() {
        return Err(bad());
    }
    Ok(Target {
        tls,
        host: host.to_owned(),
        port: authority.port_u16().unwrap_or(if tls { 443 } else { 80 }),
        authority: authority.as_str().to_owned(),
        path: parsed.path().to_owned(),
    })
}

const LIMIT: usize = 1 << 20;

/// Fetch and validate an RTC config; returns the raw body (served verbatim) and its parse.
pub async fn fetch_rtc_config(
    uri: &str,
    req: &RestRequest,
) -> Result<(String, RtcConfig), RestError> {
    let target = parse_uri(uri)?;
    let body = tokio::time::timeout(Duration::from_secs(10), get(&target, req))
        .await
        .map_err(|_| RestError::Timeout)??;
    if body.trim().is_empty() {
        return Err(RestError::Malformed("empty body"));
    }
    let parsed = RtcConfig::parse(&body).map_err(|e| RestError::Json(e.to_string()))?;
    Ok((body, parsed))
}

async fn get(target: &Target, req: &RestRequest) -> Result<String, RestError> {
    let tcp = TcpStream::connect((target.host.as_str(), target.port)).await?;
    if target.tls {
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| RestError::Tls(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name =
            ServerName::try_from(target.host.clone()).map_err(|e| RestError::Tls(e.to_string()))?;
        let stream = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await?;
        exchange(stream, target, req).await
    } else {
        exchange(tcp, target, req).await
    }
}

/// One GET over `stream` with hyper's HTTP/1.1 client; the body is capped at 1 MiB.
async fn exchange<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(
    stream: S,
    target: &Target,
    req: &RestRequest,
) -> Result<String, RestError> {
    let http = |e: hyper::Error| RestError::Http(e.to_string());
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(http)?;
    let driver = tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!("TURN-REST connection: {e}");
        }
    });
    let mut request = Request::get(target.path.as_str())
        .header(HOST, target.authority.as_str())
        .header(ACCEPT, "application/json")
        .body(Empty::<Bytes>::new())
        .map_err(|e| RestError::Http(e.to_string()))?;
    for (k, v) in &req.headers {
        // A header that is not valid HTTP is skipped, as the legacy host's client did.
        if let (Ok(k), Ok(v)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            request.headers_mut().append(k, v);
        }
    }
    let response = sender.send_request(request).await.map_err(http)?;
    let status = response.status();
    if status.is_client_error() || status.is_server_error() {
        driver.abort();
        return Err(RestError::Status(status.to_string()));
    }
    let body = Limited::new(response.into_body(), LIMIT)
        .collect()
        .await
        .map_err(|_| RestError::Malformed("response larger than 1 MiB or cut short"))?
        .to_bytes();
    driver.abort();
    String::from_utf8(body.to_vec()).map_err(|_| RestError::Malformed("body is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn uri_parsing_drops_the_query() {
        let t = parse_uri("https://turn.example.com:8443/api/turn?x=1").expect("uri");
        assert!(t.tls);
        assert_eq!(
            (t.host.as_str(), t.port, t.path.as_str()),
            ("turn.example.com", 8443, "/api/turn")
        );
        let t = parse_uri("http://[::1]/").expect("uri");
        assert_eq!((t.host.as_str(), t.port), ("::1", 80));
        assert_eq!(t.authority, "[::1]");
        assert_eq!(parse_uri("http://h").expect("uri").path, "/");
        assert!(parse_uri("ftp://x").is_err());
        assert!(parse_uri("http://:80/").is_err());
    }

    /// Serves `response` verbatim to one connection and returns the request it read.
    async fn one_shot(response: &'static [u8]) -> (u16, tokio::task::JoinHandle<String>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.expect("accept");
            let mut buf = vec![0u8; 4096];
            let n = s.read(&mut buf).await.expect("read");
            s.write_all(response).await.expect("write");
            let _ = s.shutdown().await;
            String::from_utf8_lossy(&buf[..n]).to_string()
        });
        (port, server)
    }

    fn no_headers() -> RestRequest {
        RestRequest { headers: vec![] }
    }

    #[tokio::test]
    async fn responses_and_chunks() {
        let (port, _) = one_shot(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
              14\r\n{\"iceServers\":[{\"url\r\n1d\r\ns\":[\"stun:127.0.0.1:3478\"]}]}\r\n0\r\n\r\n",
        )
        .await;
        let (raw, cfg) = fetch_rtc_config(&format!("http://127.0.0.1:{port}/"), &no_headers())
            .await
            .expect("chunked body");
        assert_eq!(raw, r#"{"iceServers":[{"urls":["stun:127.0.0.1:3478"]}]}"#);
        assert_eq!(cfg.ice_servers.len(), 1);
        let (port, _) = one_shot(b"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n").await;
        assert!(matches!(
            fetch_rtc_config(&format!("http://127.0.0.1:{port}/"), &no_headers()).await,
            Err(RestError::Status(_))
        ));
        let (port, _) = one_shot(b"garbage").await;
        assert!(
            fetch_rtc_config(&format!("http://127.0.0.1:{port}/"), &no_headers())
                .await
                .is_err()
        );
        let (port, _) =
            one_shot(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").await;
        assert!(
            fetch_rtc_config(&format!("http://127.0.0.1:{port}/"), &no_headers())
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn fetches_from_a_local_server_with_headers() {
        let (port, server) = one_shot(
            b"HTTP/1.1 200 OK\r\nContent-Length: 49\r\n\r\n\
              {\"iceServers\":[{\"urls\":[\"stun:127.0.0.1:3478\"]}]}",
        )
        .await;
        let (raw, cfg) = fetch_rtc_config(
            &format!("http://127.0.0.1:{port}/turn?ignored=1"),
            &RestRequest {
                headers: vec![("x-auth-user".into(), "selkies-host".into())],
            },
        )
        .await
        .expect("fetch");
        assert!(raw.contains("stun:127.0.0.1:3478"));
        assert_eq!(cfg.ice_servers.len(), 1);
        let req = server.await.expect("server");
        assert!(req.starts_with("GET /turn HTTP/1.1\r\n"), "{req}");
        assert!(req.contains("x-auth-user: selkies-host\r\n"), "{req}");
    }
}
