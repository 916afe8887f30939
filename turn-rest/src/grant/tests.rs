//! Grant tests against testdata/vectors.json, whose expected bodies and credentials were computed
//! by CPython's hmac/hashlib/json (testdata/vectors.py), not by this crate.

use std::collections::HashMap;

use serde::Deserialize;

use super::*;

#[derive(Deserialize)]
struct Vectors {
    hmac: Vec<HmacVector>,
    responses: Vec<ResponseVector>,
}

#[derive(Deserialize)]
struct HmacVector {
    secret: String,
    username: String,
    credential: String,
}

#[derive(Deserialize)]
struct ResponseVector {
    name: String,
    env: HashMap<String, String>,
    query: String,
    form: Option<String>,
    headers: Vec<(String, String)>,
    now: u64,
    body: String,
}

fn vectors() -> Vectors {
    serde_json::from_str(include_str!("../../testdata/vectors.json")).expect("vectors.json")
}

fn config(env: &HashMap<String, String>) -> ServiceConfig {
    ServiceConfig::from_env(|k| env.get(k).cloned()).expect("vector env is valid")
}

#[test]
fn hmac_vectors() {
    let v = vectors();
    assert!(!v.hmac.is_empty());
    for h in &v.hmac {
        assert_eq!(
            hmac_credential(&h.secret, &h.username),
            h.credential,
            "{}",
            h.username
        );
    }
}

#[test]
fn response_vectors_match_python_byte_for_byte() {
    let v = vectors();
    assert!(v.responses.len() >= 10);
    for r in &v.responses {
        let inputs = Inputs::new(
            Some(&r.query),
            r.form.as_deref().map(str::as_bytes),
            r.headers.clone(),
        );
        let body = response_body(&config(&r.env), &inputs, r.now);
        assert_eq!(body, r.body, "vector {:?}", r.name);
    }
}

fn base() -> ServiceConfig {
    config(&HashMap::from([
        ("TURN_SHARED_SECRET".to_owned(), "x".to_owned()),
        ("TURN_HOST".to_owned(), "turn.example.org".to_owned()),
    ]))
}

fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn precedence_param_then_headers_then_default() {
    let c = base();
    let g =
        |q: &str, h: &[(&str, &str)]| Grant::resolve(&c, &Inputs::new(Some(q), None, headers(h)));
    assert_eq!(g("", &[]).user, DEFAULT_USER);
    assert_eq!(g("", &[("x-turn-username", "T")]).user, "t");
    assert_eq!(
        g("", &[("x-turn-username", "t"), ("X-AUTH-USER", "a")]).user,
        "a"
    );
    assert_eq!(g("username=p", &[("x-auth-user", "a")]).user, "p");
    // An empty first parameter falls through to the headers even if a later one is set.
    assert_eq!(
        g("username=&username=late", &[("x-auth-user", "a")]).user,
        "a"
    );
    assert_eq!(g("", &[]).protocol, TurnProtocol::Udp);
    assert_eq!(
        g("", &[("x-turn-protocol", "tcp")]).protocol,
        TurnProtocol::Tcp
    );
    assert_eq!(
        g("protocol=udp", &[("x-turn-protocol", "tcp")]).protocol,
        TurnProtocol::Udp
    );
    assert!(g("", &[("x-turn-tls", "TRUE")]).tls);
    assert!(!g("tls=false", &[("x-turn-tls", "true")]).tls);
}

#[test]
fn service_defaults_apply_when_the_request_is_silent() {
    let mut c = base();
    c.default_protocol = TurnProtocol::Tcp;
    c.default_tls = true;
    let g = Grant::resolve(&c, &Inputs::default());
    assert_eq!((g.protocol, g.tls), (TurnProtocol::Tcp, true));
    let cfg = g.rtc_config(&c, 0);
    assert_eq!(
        cfg.ice_servers[1].urls,
        ["turns:turn.example.org:443?transport=tcp"]
    );
    // A request can still turn them off.
    let g = Grant::resolve(
        &c,
        &Inputs::new(Some("protocol=udp&tls=false"), None, vec![]),
    );
    assert_eq!((g.protocol, g.tls), (TurnProtocol::Udp, false));
}

#[test]
fn malformed_query_bytes_do_not_panic() {
    let c = base();
    for q in ["%", "%zz", "username=%FF%FE", "&&&=", "=x", "username"] {
        let body = response_body(&c, &Inputs::new(Some(q), Some(b"\xff\xfe=%"), vec![]), 1);
        let v: serde_json::Value = serde_json::from_str(&body).expect("valid JSON");
        assert!(
            v["iceServers"][1]["username"]
                .as_str()
                .is_some_and(|u| u.starts_with("86401:"))
        );
    }
}

#[test]
fn no_public_stun_server_is_added() {
    let c = base();
    let cfg = Grant::resolve(&c, &Inputs::default()).rtc_config(&c, 0);
    let urls: Vec<&String> = cfg.ice_servers.iter().flat_map(|s| &s.urls).collect();
    assert!(
        urls.iter().all(|u| u.contains("turn.example.org")),
        "{urls:?}"
    );
}
