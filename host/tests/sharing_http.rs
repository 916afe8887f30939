//! The HTTP side of sharing in-process: a share link admits its holder to the client files and
//! `/turn` (and sets the cookie the page's own requests carry), never to `/ws`, signalling paths
//! or the owner API; a bad, revoked or rotated link admits nothing; the owner API works with
//! Basic auth; `/share/ws` with any link reaches the socket, which then refuses bad links itself.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use selkies_host::http::{BasicAuth, HttpState, router};
use selkies_host::rtc::RtcStore;
use selkies_host::sharing::Sharing;
use selkies_host::ws::Signalling;
use selkies_proto::sharing::wire::Notice;
use tower::ServiceExt;

const GOOD: &str = "Basic dXNlcjpteXBhc3N3ZA=="; // user:mypasswd

fn app(root: PathBuf, sharing: &Arc<Sharing>) -> axum::Router {
    let state = HttpState {
        connectivity: Default::default(),
        turn: None,
        port: 8080,
        https: false,
        auth: Some(BasicAuth {
            user: "user".into(),
            password: "mypasswd".into(),
        }),
        web_root: Arc::new(root),
        rtc: Arc::new(RtcStore::stun_only("stun.l.google.com", 19302)),
        signalling: Signalling::new(),
        turn_user_header: "x-auth-user".into(),
        security: Default::default(),
    };
    router(state).layer(axum::middleware::from_fn_with_state(
        sharing.clone(),
        selkies_host::sharing::http::admit,
    ))
}

struct Reply {
    status: StatusCode,
    cookie: Option<String>,
    body: String,
}

async fn call(app: &axum::Router, method: Method, path: &str, headers: &[(&str, &str)]) -> Reply {
    let mut req = Request::builder().method(method).uri(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = app
        .clone()
        .oneshot(req.body(Body::empty()).expect("request"))
        .await
        .expect("response");
    let status = resp.status();
    let cookie = resp
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    Reply {
        status,
        cookie,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

fn mint(sharing: &Sharing, role: &str) -> (String, String) {
    match sharing.mint(role, None).expect("mint") {
        Notice::Link { id, token, .. } => (id, token),
        other => panic!("not a link: {other:?}"),
    }
}

#[tokio::test]
async fn a_link_opens_the_page_and_turn_but_nothing_else() {
    let root = tempfile::tempdir().expect("tempdir");
    std::fs::write(root.path().join("index.html"), "<html>hi</html>").expect("write");
    std::fs::write(root.path().join("app.js"), "1").expect("write");
    let sharing = Sharing::new(4, Some("secret"));
    let app = app(root.path().into(), &sharing);
    let (id, token) = mint(&sharing, "viewer");

    // Without credentials or a link: the usual 401.
    assert_eq!(
        call(&app, Method::GET, "/", &[]).await.status,
        StatusCode::UNAUTHORIZED
    );

    let page = call(&app, Method::GET, &format!("/?share={token}"), &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    let cookie = page.cookie.expect("the link is remembered in a cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let jar = format!("selkies_share={token}");
    let js = call(&app, Method::GET, "/app.js", &[("cookie", &jar)]).await;
    assert_eq!(js.status, StatusCode::OK);
    let turn = call(&app, Method::GET, "/turn", &[("cookie", &jar)]).await;
    assert_eq!(turn.status, StatusCode::OK, "{}", turn.body);

    for path in ["/ws", "/webrtc/signalling/", "/share/api/state"] {
        let with_query = format!("{path}?share={token}");
        let r = call(&app, Method::GET, &with_query, &[("cookie", &jar)]).await;
        assert_eq!(
            r.status,
            StatusCode::UNAUTHORIZED,
            "{path} opened by a link"
        );
    }
    let mint_with_link = call(
        &app,
        Method::POST,
        &format!("/share/api/links?role=controller&share={token}"),
        &[("cookie", &jar)],
    )
    .await;
    assert_eq!(mint_with_link.status, StatusCode::UNAUTHORIZED);

    // Forged and revoked links admit nothing.
    let forged = format!("{}x", token);
    let r = call(&app, Method::GET, &format!("/?share={forged}"), &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    sharing.revoke(&id);
    let r = call(&app, Method::GET, "/app.js", &[("cookie", &jar)]).await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "a revoked link still admits"
    );
}

#[tokio::test]
async fn the_owner_api_mints_changes_roles_and_revokes() {
    let root = tempfile::tempdir().expect("tempdir");
    let sharing = Sharing::new(4, None);
    let app = app(root.path().into(), &sharing);
    let auth = [("authorization", GOOD)];

    let r = call(
        &app,
        Method::POST,
        "/share/api/links?role=player2&ttl=60",
        &auth,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let link: serde_json::Value = serde_json::from_str(&r.body).expect("json");
    assert_eq!(link["type"], "link");
    assert_eq!(link["role"], "player2");
    let token = link["token"].as_str().expect("token");
    let joined = sharing
        .join_guest(token, "pat")
        .expect("the minted link admits");

    let r = call(&app, Method::POST, "/share/api/links?role=owner", &auth).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "owner links: {}", r.body);
    let r = call(
        &app,
        Method::POST,
        &format!("/share/api/role?uid={}&role=controller", joined.uid),
        &auth,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = call(
        &app,
        Method::POST,
        "/share/api/role?uid=g99&role=viewer",
        &auth,
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    let state = call(&app, Method::GET, "/share/api/state", &auth).await;
    let state: serde_json::Value = serde_json::from_str(&state.body).expect("json");
    assert_eq!(state["members"][0]["role"], "controller");
    assert_eq!(state["max_viewers"], 4);

    let r = call(
        &app,
        Method::POST,
        &format!("/share/api/revoke?link={}", link["id"].as_str().unwrap()),
        &auth,
    )
    .await;
    assert_eq!(r.body, r#"{"disconnected":1}"#);
    let r = call(&app, Method::POST, "/share/api/rotate", &auth).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = call(&app, Method::GET, "/share/api/nope", &auth).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}
