//! A minimal HTTP/1.1 GET client for the TURN-REST service (docs/protocol.md §8.1): the host
//! sends the configured user/protocol/TLS headers to the URI's path (query dropped, like legacy)
//! and expects the RTC config JSON back. Plain HTTP and HTTPS (rustls, system CA bundle).

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use selkies_proto::rtc_config::RtcConfig;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
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

struct Target {
    tls: bool,
    host: String,
    port: u16,
    path: String,
}

fn parse_uri(uri: &str) -> Result<Target, RestError> {
    let bad = || RestError::BadUri(uri.to_string());
    let (tls, rest) = if let Some(r) = uri.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = uri.strip_prefix("http://") {
        (false, r)
    } else {
        return Err(bad());
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let path = path.split(['?', '#']).next().unwrap_or("/");
    let default_port = if tls { 443 } else { 80 };
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6.split_once(']').ok_or_else(bad)?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| bad())?,
            None => default_port,
        };
        (h.to_string(), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p.parse().map_err(|_| bad())?),
            None => (authority.to_string(), default_port),
        }
    };
    if host.is_empty() {
        return Err(bad());
    }
    Ok(Target {
        tls,
        host,
        port,
        path: if path.is_empty() {
            "/".into()
        } else {
            path.into()
        },
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
    let host_header = if target.host.contains(':') {
        format!("[{}]", target.host)
    } else {
        target.host.clone()
    };
    let mut head = format!(
        "GET {} HTTP/1.1\r\nHost: {host_header}\r\nConnection: close\r\nAccept: application/json\r\n",
        target.path
    );
    for (k, v) in &req.headers {
        if !k.is_empty() && !k.contains(['\r', '\n', ':']) && !v.contains(['\r', '\n']) {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    head.push_str("\r\n");
    let raw = if target.tls {
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
        exchange(stream, head.as_bytes()).await?
    } else {
        exchange(tcp, head.as_bytes()).await?
    };
    parse_response(&raw)
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    request: &[u8],
) -> Result<Vec<u8>, RestError> {
    s.write_all(request).await?;
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = s.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
        if out.len() > LIMIT {
            return Err(RestError::Malformed("response larger than 1 MiB"));
        }
    }
    Ok(out)
}

/// Status check, header split and chunked decoding of a complete response.
fn parse_response(raw: &[u8]) -> Result<String, RestError> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or(RestError::Malformed("no header terminator"))?;
    let head = std::str::from_utf8(&raw[..split]).map_err(|_| RestError::Malformed("headers"))?;
    let body = &raw[split + 4..];
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let code: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or(RestError::Malformed("status line"))?;
    if code >= 400 {
        return Err(RestError::Status(status_line.to_string()));
    }
    let chunked = lines.any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let body = if chunked {
        dechunk(body)?
    } else {
        body.to_vec()
    };
    String::from_utf8(body).map_err(|_| RestError::Malformed("body is not UTF-8"))
}

fn dechunk(mut data: &[u8]) -> Result<Vec<u8>, RestError> {
    let mut out = Vec::new();
    loop {
        let eol = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or(RestError::Malformed("chunk size line"))?;
        let size_text =
            std::str::from_utf8(&data[..eol]).map_err(|_| RestError::Malformed("chunk size"))?;
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| RestError::Malformed("chunk size"))?;
        data = &data[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        if data.len() < size {
            return Err(RestError::Malformed("truncated chunk"));
        }
        out.extend_from_slice(&data[..size]);
        data = data.get(size + 2..).unwrap_or_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(parse_uri("ftp://x").is_err());
        assert!(parse_uri("http://:80/").is_err());
    }

    #[test]
    fn responses_and_chunks() {
        let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
        assert_eq!(parse_response(ok).expect("ok"), "{}");
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{\"\r\n3\r\na\":\r\n0\r\n\r\n";
        assert_eq!(parse_response(chunked).expect("ok"), "{\"a\":");
        assert!(matches!(
            parse_response(b"HTTP/1.1 503 Busy\r\n\r\n"),
            Err(RestError::Status(_))
        ));
        assert!(parse_response(b"garbage").is_err());
        assert!(
            parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").is_err()
        );
    }

    #[tokio::test]
    async fn fetches_from_a_local_server_with_headers() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.expect("accept");
            let mut buf = vec![0u8; 4096];
            let n = s.read(&mut buf).await.expect("read");
            let req = String::from_utf8_lossy(&buf[..n]).to_string();
            let body = r#"{"iceServers":[{"urls":["stun:127.0.0.1:3478"]}]}"#;
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            s.write_all(resp.as_bytes()).await.expect("write");
            req
        });
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
