//! The HTTP surface: `GET /` and `POST /` answer with a fresh credential grant as
//! `application/json` (the legacy service's only route; other paths are 404, other methods 405).
//! Extracting the query, form body and headers is all this module does; the rules live in
//! [`crate::grant`].

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tracing::debug;

use crate::config::ServiceConfig;
use crate::grant::{Grant, Inputs};

/// Form bodies carry three short fields; anything much larger is not a TURN-REST request.
pub const BODY_LIMIT: usize = 16 * 1024;

/// The router for `config`; the clock is read per request.
pub fn router(config: Arc<ServiceConfig>) -> Router {
    Router::new()
        .route("/", get(grant).post(grant))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(config)
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

async fn grant(
    State(config): State<Arc<ServiceConfig>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let inputs = Inputs::new(
        query.as_deref(),
        is_form(&headers).then_some(&body[..]),
        text_headers(&headers),
    );
    let grant = Grant::resolve(&config, &inputs);
    debug!(user = %grant.user, protocol = %grant.protocol.as_str(), tls = grant.tls, "credential granted");
    let body = grant.rtc_config(&config, now_unix()).to_json_pretty();
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

/// Only a URL-encoded body is a form (multipart is not accepted: no client sends it).
fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// Header values that are not visible ASCII text are treated as absent.
fn text_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect()
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Method, Request};
    use http_body_util::BodyExt;
    use selkies_proto::rtc_config::hmac_credential;
    use tower::ServiceExt;

    use super::*;

    fn app() -> Router {
        let config = ServiceConfig::from_env(|k| match k {
            "TURN_SHARED_SECRET" => Some("topsecret".into()),
            "TURN_HOST" => Some("turn.example.org".into()),
            "TURN_PORT" => Some("3478".into()),
            _ => None,
        })
        .expect("config");
        router(Arc::new(config))
    }

    async fn call(req: Request<Body>) -> (StatusCode, Option<String>, String) {
        let resp = app().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let ctype = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        (status, ctype, String::from_utf8_lossy(&bytes).into_owned())
    }

    fn turn_entry(body: &str) -> serde_json::Value {
        let v: serde_json::Value = serde_json::from_str(body).expect("JSON body");
        v["iceServers"][1].clone()
    }

    #[tokio::test]
    async fn get_with_host_headers_answers_json_with_a_valid_credential() {
        let req = Request::get("/")
            .header("x-auth-user", "Selkies:Host")
            .header("x-turn-protocol", "tcp")
            .header("x-turn-tls", "false")
            .body(Body::empty())
            .expect("request");
        let (status, ctype, body) = call(req).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(ctype.as_deref(), Some("application/json"));
        let turn = turn_entry(&body);
        assert_eq!(turn["urls"][0], "turn:turn.example.org:3478?transport=tcp");
        let username = turn["username"].as_str().expect("username");
        let (expiry, user) = username.split_once(':').expect("<expiry>:<user>");
        assert_eq!(user, "selkies-host");
        let expiry: u64 = expiry.parse().expect("numeric expiry");
        let ahead = expiry.saturating_sub(now_unix());
        assert!((86_300..=86_400).contains(&ahead), "expiry {ahead} s ahead");
        assert_eq!(turn["credential"], hmac_credential("topsecret", username));
    }

    #[tokio::test]
    async fn post_form_body_is_read_and_other_bodies_are_not() {
        let form = |ctype: &str| {
            Request::post("/")
                .header(header::CONTENT_TYPE, ctype)
                .body(Body::from("username=FormUser&tls=true"))
                .expect("request")
        };
        let (status, _, body) =
            call(form("application/x-www-form-urlencoded; charset=utf-8")).await;
        assert_eq!(status, StatusCode::OK);
        let turn = turn_entry(&body);
        assert!(
            turn["username"]
                .as_str()
                .is_some_and(|u| u.ends_with(":formuser"))
        );
        assert_eq!(turn["urls"][0], "turns:turn.example.org:3478?transport=udp");
        let (_, _, body) = call(form("text/plain")).await;
        assert!(
            turn_entry(&body)["username"]
                .as_str()
                .is_some_and(|u| u.ends_with(":turn-rest"))
        );
    }

    #[tokio::test]
    async fn other_paths_and_methods_are_refused() {
        let req = |m: Method, path: &str| {
            Request::builder()
                .method(m)
                .uri(path)
                .body(Body::empty())
                .expect("request")
        };
        assert_eq!(
            call(req(Method::GET, "/turn")).await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            call(req(Method::PUT, "/")).await.0,
            StatusCode::METHOD_NOT_ALLOWED
        );
        assert_eq!(
            call(req(Method::DELETE, "/")).await.0,
            StatusCode::METHOD_NOT_ALLOWED
        );
    }

    #[tokio::test]
    async fn oversized_body_is_rejected_not_buffered() {
        let req = Request::post("/")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(vec![b'a'; BODY_LIMIT + 1]))
            .expect("request");
        assert_eq!(call(req).await.0, StatusCode::PAYLOAD_TOO_LARGE);
    }
}
