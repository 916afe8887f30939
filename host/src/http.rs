//! The HTTP(S) surface on one port (docs/security.md): Basic auth on every route (the
//! WebSocket upgrade included, failed logins rate-limited per IP), the signalling WebSocket on
//! `/ws` and on any path ending in `/signalling[/]` (same-origin pages only), `/health`,
//! `/turn`, `/connectivity` (how each peer connection got through), and static files from the web root; security headers on every response.

use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use tracing::{debug, warn};

use crate::rtc::RtcStore;
use crate::security::{LoginLimiter, OriginPolicy, common_headers};
use crate::ws::{self, Signalling};

/// Credentials for HTTP Basic auth.
#[derive(Clone)]
pub struct BasicAuth {
    pub user: String,
    pub password: String,
}

impl BasicAuth {
    /// Constant-time check of an `Authorization` header value.
    fn check(&self, header: &str) -> bool {
        let Some(encoded) = header
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
            .map(|(_, rest)| rest.trim())
        else {
            return false;
        };
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded) else {
            return false;
        };
        let expected = format!("{}:{}", self.user, self.password);
        constant_time_eq(&decoded, expected.as_bytes())
    }
}

/// Compares without an early exit, so the time taken does not reveal the matching prefix.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0xff);
        diff |= usize::from(x ^ y);
    }
    diff == 0
}

/// Shared state of the HTTP handlers.
#[derive(Clone)]
pub struct HttpState {
    pub auth: Option<BasicAuth>,
    pub web_root: Arc<PathBuf>,
    pub rtc: Arc<RtcStore>,
    pub signalling: Arc<Signalling>,
    /// Header whose value names the TURN user in shared-secret mode (`x-auth-user`).
    pub turn_user_header: Arc<str>,
    pub security: Arc<Security>,
    /// The embedded TURN relay, advertised in `/turn` with fresh credentials per request.
    pub turn: Option<crate::turn_relay::TurnRelay>,
    /// The listening port and whether it speaks TLS (for the relay's `turn:`/`turns:` URIs).
    pub port: u16,
    pub https: bool,
    /// The peers' selected candidate pairs, served on `/connectivity`.
    pub connectivity: selkies_telemetry::ConnectivityBoard,
}

/// The browser-facing checks (see [`crate::security`]).
#[derive(Debug, Default)]
pub struct Security {
    pub origins: OriginPolicy,
    pub logins: LoginLimiter,
    /// Send the strict Content-Security-Policy written for our client (off for another web
    /// root, which may use inline scripts).
    pub strict_csp: bool,
}

// The legacy host sends this exact (mis-quoted) challenge; clients may match it byte for byte.
const CHALLENGE: &str = "Basic realm=\"restricted, charset=\"UTF-8\"";

async fn require_auth(State(state): State<HttpState>, req: Request, next: Next) -> Response {
    let Some(auth) = &state.auth else {
        return next.run(req).await;
    };
    // A share link admits its holder to the client files and `/share/ws` (docs/sharing.md).
    if req
        .extensions()
        .get::<crate::sharing::http::Admitted>()
        .is_some()
    {
        return next.run(req).await;
    }
    // Present when served by `crate::server`; absent in in-process tests.
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let logins = &state.security.logins;
    if let Some(retry) = ip.and_then(|ip| logins.blocked(ip, Instant::now())) {
        let mut resp = text_response(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many failed logins; try again later",
            None,
        );
        let secs = retry.as_secs().max(1).to_string();
        if let Ok(v) = HeaderValue::from_str(&secs) {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return resp;
    }
    match req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        Some(value) if value.to_ascii_lowercase().contains("basic") => {
            if auth.check(value) {
                if let Some(ip) = ip {
                    logins.record_success(ip);
                }
                next.run(req).await
            } else {
                if let Some(ip) = ip {
                    logins.record_failure(ip, Instant::now());
                }
                // Unlike legacy, repeat the challenge so the browser asks again after a typo.
                text_response(StatusCode::UNAUTHORIZED, "Unauthorized", Some(CHALLENGE))
            }
        }
        _ => text_response(
            StatusCode::UNAUTHORIZED,
            "Authorization required",
            Some(CHALLENGE),
        ),
    }
}

fn text_response(status: StatusCode, body: &'static str, challenge: Option<&str>) -> Response {
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    if let Some(c) = challenge.and_then(|c| HeaderValue::from_str(c).ok()) {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, c);
    }
    resp
}

/// Security headers on every response, the 401 and 429 ones included.
async fn add_headers(State(state): State<HttpState>, req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let headers = resp.headers_mut();
    for (name, value) in common_headers(state.security.strict_csp) {
        headers.insert(name, HeaderValue::from_static(value));
    }
    resp
}

/// Build the router. Every request passes the auth layer first, like the legacy host.
pub fn router(state: HttpState) -> Router {
    router_with(state, crate::files::router(None))
}

/// [`router`] with the `/files` routes of file transfer (docs/files.md), behind the same
/// auth and headers.
pub fn router_with(state: HttpState, files: Router) -> Router {
    Router::new()
        .nest_service(crate::files::PREFIX, files)
        .fallback(dispatch)
        .layer(middleware::from_fn_with_state(state.clone(), require_auth))
        .layer(middleware::from_fn_with_state(state.clone(), add_headers))
        .with_state(state)
}

fn is_signalling_path(path: &str) -> bool {
    path == "/ws"
        || path == "/ws/"
        || path.ends_with("/signalling")
        || path.ends_with("/signalling/")
}

async fn dispatch(State(state): State<HttpState>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    if is_signalling_path(&path) {
        if let Some(refused) = check_origin(&state, req.headers()) {
            return refused;
        }
        let (mut parts, _body) = req.into_parts();
        return match axum::extract::WebSocketUpgrade::from_request_parts(&mut parts, &state).await {
            Ok(upgrade) => ws::upgrade(upgrade, state.signalling.clone()),
            Err(rejection) => rejection.into_response(),
        };
    }
    if path.starts_with("/share/") {
        if let Some(refused) = check_origin(&state, req.headers()) {
            return refused;
        }
        return crate::sharing::http::dispatch(req).await;
    }
    match path.as_str() {
        "/health" | "/health/" => (StatusCode::OK, "OK\n").into_response(),
        "/turn" | "/turn/" => turn(&state, req.headers()),
        "/connectivity" | "/connectivity/" => connectivity(&state),
        "/transport" | "/transport/" => crate::ws_transport::advertise(&state.signalling),
        _ if req.method() == Method::GET || req.method() == Method::HEAD => {
            let versioned = is_versioned(req.uri().query());
            static_file(&state.web_root, &path, versioned).await
        }
        _ => StatusCode::METHOD_NOT_ALLOWED.into_response(),
    }
}

/// `Some(403)` when a page on another site tries to open the signalling socket with the
/// browser's cached credentials.
fn check_origin(state: &HttpState, headers: &HeaderMap) -> Option<Response> {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let (origin, host) = (header(header::ORIGIN), header(header::HOST));
    if state.security.origins.allows(origin, host) {
        return None;
    }
    warn!(
        origin,
        host, "signalling WebSocket refused: Origin not allowed (see --allowed_origins)"
    );
    Some(text_response(
        StatusCode::FORBIDDEN,
        "Origin not allowed",
        None,
    ))
}

fn turn(state: &HttpState, headers: &HeaderMap) -> Response {
    let user = headers
        .get(state.turn_user_header.as_ref())
        .and_then(|v| v.to_str().ok());
    match state.rtc.json_for(user) {
        Some(json) => {
            let json = match &state.turn {
                Some(relay) => with_embedded_relay(&json, relay, state, headers, user),
                None => json,
            };
            fresh_json(json)
        }
        None => not_found(),
    }
}

/// `{"peers": [...]}`: the selected candidate pair of each connected peer
/// (docs/connectivity.md, "Connectivity report"). Behind Basic auth like every route here.
fn connectivity(state: &HttpState) -> Response {
    fresh_json(serde_json::json!({ "peers": state.connectivity.snapshot() }).to_string())
}

/// A JSON body that must never be cached (credentials, live state).
fn fresh_json(body: String) -> Response {
    let mut resp = body.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// Adds the embedded relay to the `iceServers` of `json`, addressed by the host name the
/// browser used (the `Host` header), so it works behind NAT and port mappings alike.
fn with_embedded_relay(
    json: &str,
    relay: &crate::turn_relay::TurnRelay,
    state: &HttpState,
    headers: &HeaderMap,
    user: Option<&str>,
) -> String {
    let Ok(mut doc) = serde_json::from_str::<serde_json::Value>(json) else {
        return json.to_owned();
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(host_without_port)
        .unwrap_or("127.0.0.1");
    let ice = relay.ice_server(host, state.port, state.https, user.unwrap_or("selkies"));
    let entry = serde_json::json!({
        "urls": ice.urls,
        "username": ice.username,
        "credential": ice.credential,
    });
    match doc.get_mut("iceServers").and_then(|v| v.as_array_mut()) {
        Some(list) => list.push(entry),
        None => doc["iceServers"] = serde_json::json!([entry]),
    }
    serde_json::to_string_pretty(&doc).unwrap_or_else(|_| json.to_owned())
}

/// `host[:port]` or `[v6][:port]` → the host part (brackets kept for IPv6, as URIs need them).
fn host_without_port(h: &str) -> &str {
    if let Some(end) = h.find(']') {
        return &h[..=end];
    }
    h.rsplit_once(':').map_or(h, |(host, _)| host)
}

fn not_found() -> Response {
    let mut resp = (StatusCode::NOT_FOUND, "404 NOT FOUND").into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
    resp
}

/// MIME type by extension; the web client needs correct types for module scripts, wasm and
/// the PWA manifest.
pub fn mime_for(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "png" => "image/png",
        "svg" => "image/svg+xml",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "ttf" => "font/ttf",
        "wasm" => "application/wasm",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Map a request path to a file under `root`, refusing anything that could leave it.
pub fn resolve_static(root: &Path, request_path: &str) -> Option<PathBuf> {
    let decoded = percent_decode(request_path)?;
    let mut rel = PathBuf::new();
    for comp in Path::new(decoded.trim_start_matches('/')).components() {
        match comp {
            Component::Normal(part) => rel.push(part),
            Component::CurDir => {}
            _ => return None,
        }
    }
    let mut candidate = root.join(&rel);
    if rel.as_os_str().is_empty() || candidate.is_dir() {
        candidate.push("index.html");
    }
    // Symlinks inside the root may point outside it: compare canonical paths.
    let real = candidate.canonicalize().ok()?;
    let real_root = root.canonicalize().ok()?;
    (real.starts_with(&real_root) && real.is_file()).then_some(real)
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let text = String::from_utf8(out).ok()?;
    (!text.contains('\0')).then_some(text)
}

/// True when the query names a content version (`?v=<build hash>`, written into index.html by
/// the web build): that URL's content never changes, so browsers may keep it.
fn is_versioned(query: Option<&str>) -> bool {
    query.is_some_and(|q| {
        q.split('&')
            .any(|kv| kv.strip_prefix("v=").is_some_and(|v| !v.is_empty()))
    })
}

async fn static_file(root: &Path, path: &str, versioned: bool) -> Response {
    let Some(file) = resolve_static(root, path) else {
        debug!(path, "static file not found or outside the web root");
        return not_found();
    };
    match tokio::fs::read(&file).await {
        Ok(bytes) => {
            let mut resp = Response::new(Body::from(bytes));
            let headers = resp.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(mime_for(&file)),
            );
            // The page and the service worker must be revalidated so an upgrade is never stale.
            let is_entry = file
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n == "index.html" || n == "sw.js");
            if is_entry {
                headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            } else if versioned {
                // A returning page then loads its bundle from the browser's cache, not over the
                // network (docs/benchmarks.md "First frame").
                headers.insert(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                );
            }
            resp
        }
        Err(_) => not_found(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_named_version_makes_a_url_immutable() {
        assert!(is_versioned(Some("v=84a47c569402c6a0")));
        assert!(is_versioned(Some("e2e=1&v=abc")));
        assert!(!is_versioned(None));
        assert!(!is_versioned(Some("v=")));
        assert!(!is_versioned(Some("version=1")));
        assert!(!is_versioned(Some("xv=1")));
    }

    #[test]
    fn constant_time_eq_matches_only_equal_inputs() {
        assert!(constant_time_eq(b"user:pw", b"user:pw"));
        assert!(!constant_time_eq(b"user:pw", b"user:pX"));
        assert!(!constant_time_eq(b"user:pw", b"user:pw2"));
        assert!(!constant_time_eq(b"", b"x"));
    }

    #[test]
    fn basic_auth_header_parsing() {
        let auth = BasicAuth {
            user: "user".into(),
            password: "mypasswd".into(),
        };
        // base64("user:mypasswd")
        assert!(auth.check("Basic dXNlcjpteXBhc3N3ZA=="));
        assert!(auth.check("basic dXNlcjpteXBhc3N3ZA=="));
        assert!(!auth.check("Basic dXNlcjp3cm9uZw=="));
        assert!(!auth.check("Bearer dXNlcjpteXBhc3N3ZA=="));
        assert!(!auth.check("Basic !!!"));
    }

    #[test]
    fn signalling_paths() {
        assert!(is_signalling_path("/ws"));
        assert!(is_signalling_path("/webrtc/signalling/"));
        assert!(is_signalling_path("/app/x/signalling"));
        assert!(!is_signalling_path("/signalling.js"));
        assert!(!is_signalling_path("/turn"));
    }

    #[test]
    fn mime_types() {
        for (f, m) in [
            ("a.html", "text/html; charset=utf-8"),
            ("a.js", "text/javascript; charset=utf-8"),
            ("a.wasm", "application/wasm"),
            ("a.webmanifest", "application/manifest+json"),
            ("a.woff2", "font/woff2"),
            ("A.PNG", "image/png"),
            ("a.bin", "application/octet-stream"),
        ] {
            assert_eq!(mime_for(Path::new(f)), m, "{f}");
        }
    }
}
