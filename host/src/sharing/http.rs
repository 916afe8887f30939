//! The HTTP side of sharing. [`admit`] runs before Basic auth: a request carrying a valid share
//! link (`?share=<token>` or the `selkies_share` cookie set from it) may load the web client
//! and `/turn` without Basic credentials, and `/share/ws?share=…` always reaches the socket so
//! a bad link is refused there with a readable error. The legacy `/ws` and the owner API never
//! accept a link. [`dispatch`] serves `/share/…`:
//!
//! - `GET /share/ws` — the sharing socket ([`super::guest`]): with `?share=` a guest, else the
//!   owner (Basic auth passed);
//! - `GET /share/api/state` — members, links, drop counters (owner);
//! - `POST /share/api/links?role=viewer&ttl=3600` — mint a link (owner);
//! - `POST /share/api/revoke?link=<id>`, `POST /share/api/rotate`,
//!   `POST /share/api/role?uid=<uid>&role=<role>` — owner commands.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use selkies_proto::sharing::Role;
use selkies_proto::sharing::wire::Notice;

use super::Sharing;

/// Marks a request admitted by a share link (Basic auth is then not asked for).
#[derive(Debug, Clone)]
pub struct Admitted;

/// The link a `/share/ws` request carries.
#[derive(Debug, Clone)]
pub struct LinkToken(pub String);

const COOKIE: &str = "selkies_share";

fn query_param(query: Option<&str>, key: &str) -> Option<String> {
    query?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key && !v.is_empty()).then(|| v.to_owned())
    })
}

fn cookie(req: &Request) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            let (k, v) = c.trim().split_once('=')?;
            (k == COOKIE && !v.is_empty()).then(|| v.to_owned())
        })
}

/// Paths a link holder may fetch: the web client's files and `/turn`, never a signalling or
/// owner path.
fn link_may_fetch(path: &str) -> bool {
    !(path == "/ws"
        || path.starts_with("/ws/")
        || path.ends_with("/signalling")
        || path.ends_with("/signalling/")
        || path.starts_with("/share/"))
}

/// Middleware: puts the sharing service into every request and admits link holders.
pub async fn admit(State(sharing): State<Arc<Sharing>>, mut req: Request, next: Next) -> Response {
    req.extensions_mut().insert(sharing.clone());
    let path = req.uri().path().to_owned();
    let from_query = query_param(req.uri().query(), "share");
    if path == "/share/ws" {
        if let Some(t) = from_query {
            req.extensions_mut().insert(LinkToken(t));
            req.extensions_mut().insert(Admitted);
        }
        return next.run(req).await;
    }
    let readonly = req.method() == Method::GET || req.method() == Method::HEAD;
    let token = from_query.clone().or_else(|| cookie(&req));
    let valid = readonly
        && link_may_fetch(&path)
        && token.as_deref().is_some_and(|t| sharing.verify(t).is_ok());
    if !valid {
        return next.run(req).await;
    }
    req.extensions_mut().insert(Admitted);
    let mut resp = next.run(req).await;
    if let Some(t) = from_query {
        // The page's scripts and styles come without the query: remember the link.
        let c = format!("{COOKIE}={t}; Path=/; HttpOnly; SameSite=Strict");
        if let Ok(v) = HeaderValue::from_str(&c) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    resp
}

fn json(status: StatusCode, v: &serde_json::Value) -> Response {
    let mut r = (status, v.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    json(
        status,
        &serde_json::json!({"type": "error", "code": code, "message": message}),
    )
}

/// Serves `/share/…` (after Basic auth, or admitted by a link for `/share/ws`).
pub async fn dispatch(req: Request) -> Response {
    let Some(sharing) = req.extensions().get::<Arc<Sharing>>().cloned() else {
        return error(StatusCode::NOT_FOUND, "disabled", "sharing is not set up");
    };
    let path = req.uri().path().to_owned();
    if path == "/share/ws" {
        let token = req.extensions().get::<LinkToken>().map(|t| t.0.clone());
        let (mut parts, _) = req.into_parts();
        return match axum::extract::WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
            Ok(up) => up
                .max_message_size(1 << 20)
                .on_upgrade(move |socket| super::guest::serve(socket, sharing, token)),
            Err(rejection) => rejection.into_response(),
        };
    }
    if req.extensions().get::<Admitted>().is_some() {
        return error(StatusCode::FORBIDDEN, "not_owner", "owner only");
    }
    let q = req.uri().query().map(str::to_owned);
    let param = |k: &str| query_param(q.as_deref(), k).unwrap_or_default();
    let post = req.method() == Method::POST;
    match (path.as_str(), post) {
        ("/share/api/state", false) => json(StatusCode::OK, &sharing.state_json()),
        ("/share/api/links", true) => {
            let ttl = param("ttl").parse().ok().map(Duration::from_secs);
            match sharing.mint(&param("role"), ttl) {
                Ok(n @ Notice::Link { .. }) => json(
                    StatusCode::OK,
                    &serde_json::to_value(&n).unwrap_or_default(),
                ),
                Ok(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "internal", "no link"),
                Err(r) => error(StatusCode::BAD_REQUEST, r.code, &r.message),
            }
        }
        ("/share/api/revoke", true) => {
            let n = sharing.revoke(&param("link"));
            json(StatusCode::OK, &serde_json::json!({"disconnected": n}))
        }
        ("/share/api/rotate", true) => {
            let n = sharing.rotate();
            json(StatusCode::OK, &serde_json::json!({"disconnected": n}))
        }
        ("/share/api/role", true) => {
            match sharing.set_role(Role::Owner, &param("uid"), &param("role")) {
                Ok(()) => json(StatusCode::OK, &serde_json::json!({"ok": true})),
                Err(r) => error(StatusCode::BAD_REQUEST, r.code, &r.message),
            }
        }
        _ => error(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such sharing endpoint",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_and_paths() {
        assert_eq!(
            query_param(Some("a=1&share=xy.z"), "share").as_deref(),
            Some("xy.z")
        );
        assert_eq!(query_param(Some("share="), "share"), None);
        assert_eq!(query_param(None, "share"), None);
        for p in ["/", "/index.html", "/turn", "/assets/app.js"] {
            assert!(link_may_fetch(p), "{p}");
        }
        for p in [
            "/ws",
            "/ws/",
            "/x/signalling",
            "/share/api/state",
            "/share/ws",
        ] {
            assert!(!link_may_fetch(p), "{p}");
        }
    }
}
