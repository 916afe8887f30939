//! RTC config tests: §12 HMAC vector, §2.3 STUN list rule and JSON shape (expected text produced
//! with CPython `json.dumps(indent=2)`), source selection, parsing and webrtcbin URIs (§2.4).

use super::*;
use crate::config::TurnProtocol;

fn turn(host: &str, port: u16, protocol: TurnProtocol, tls: bool) -> TurnServer {
    TurnServer {
        host: host.into(),
        port,
        protocol,
        tls,
    }
}

#[test]
fn hmac_vector_from_reference() {
    assert_eq!(
        hmac_credential("openrelayprojectsecret", "1700000000:selkies-host"),
        "1sBmKfB9wsS7s2WrqgwL3wzHyA0="
    );
    // Keys longer than the SHA-1 block are hashed first (Python hmac: same rule).
    assert_eq!(
        hmac_credential(&"k".repeat(100), "msg"),
        "o/bpDXkrbKXtO/xVakqnPWLXyuQ="
    );
}

#[test]
fn stun_list_rule() {
    let t = turn("turn.example.org", 3478, TurnProtocol::Udp, false);
    assert_eq!(
        stun_urls("stun.l.google.com", 19302, &t),
        ["stun:stun.l.google.com:19302", "stun:turn.example.org:3478"]
    );
    assert_eq!(
        stun_urls("turn.example.org", 3478, &t),
        ["stun:turn.example.org:3478", "stun:stun.l.google.com:19302"]
    );
    assert_eq!(
        stun_urls("stun.l.google.com", 3478, &t),
        [
            "stun:stun.l.google.com:3478",
            "stun:turn.example.org:3478",
            "stun:stun.l.google.com:19302"
        ]
    );
}

#[test]
fn own_stun_list_has_no_public_fallback() {
    let t = turn("turn.example.org", 3478, TurnProtocol::Udp, false);
    assert_eq!(
        own_stun_urls("turn.example.org", 3478, &t),
        ["stun:turn.example.org:3478"]
    );
    assert_eq!(
        own_stun_urls("stun.example.org", 19302, &t),
        ["stun:stun.example.org:19302", "stun:turn.example.org:3478"]
    );
    assert_eq!(hmac_username("u", 1_700_000_000), "1700086400:u");
}

#[test]
fn hmac_config_json_matches_python_indent_2() {
    let t = turn("turn.example.org", 3478, TurnProtocol::Tcp, false);
    let cfg = hmac_turn_config(
        &t,
        "stun.example.org",
        3478,
        "s3cret",
        "alice",
        1_700_000_000,
    );
    let expected = r#"{
  "lifetimeDuration": "86400s",
  "blockStatus": "NOT_BLOCKED",
  "iceTransportPolicy": "all",
  "iceServers": [
    {
      "urls": [
        "stun:stun.example.org:3478",
        "stun:turn.example.org:3478",
        "stun:stun.l.google.com:19302"
      ]
    },
    {
      "urls": [
        "turn:turn.example.org:3478?transport=tcp"
      ],
      "username": "1700086400:alice",
      "credential": "HJX0XIkrCiQCuU88Z0oeXj+QW60="
    }
  ]
}"#;
    assert_eq!(cfg.to_json_pretty(), expected);
}

#[test]
fn tls_uses_turns_scheme() {
    let t = turn("[2001:db8::1]", 5349, TurnProtocol::Udp, true);
    let cfg = static_turn_config(&t, "stun.l.google.com", 19302, "u", "p");
    assert_eq!(
        cfg.ice_servers[1].urls,
        ["turns:[2001:db8::1]:5349?transport=udp"]
    );
}

fn settings(words: &[&str]) -> crate::config::Settings {
    use clap::{CommandFactory, FromArgMatches};
    let cmd = crate::config::Args::command().mut_args(|a| a.env(None::<&str>));
    // No random bytes here to generate a password with.
    let mut argv = vec![
        "x",
        "--json_config=/nonexistent/x.json",
        "--enable_basic_auth=false",
    ];
    argv.extend_from_slice(words);
    let m = cmd.try_get_matches_from(argv).expect("parse");
    let args = crate::config::Args::from_arg_matches(&m).expect("args");
    crate::config::Settings::resolve_with(args, &Default::default()).expect("resolve")
}

#[test]
fn default_source_is_stun_only() {
    let src = RtcSource::from_settings(&settings(&[]));
    assert!(!src.is_time_limited());
    let cfg = src.config(None, 0);
    assert_eq!(cfg, stun_only_config("stun.l.google.com", 19302));
    assert_eq!(cfg.ice_servers.len(), 1);
    assert_eq!(cfg.ice_servers[0].urls, ["stun:stun.l.google.com:19302"]);
    assert_eq!(cfg.lifetime_duration, "86400s");
    assert_eq!(cfg.block_status, "NOT_BLOCKED");
    assert_eq!(cfg.ice_transport_policy, "all");
    // An empty STUN host disables STUN entirely (LAN-only deployments).
    assert!(stun_only_config("", 19302).ice_servers.is_empty());
}

#[test]
fn source_selection_and_header_user() {
    let base = ["--turn_host=t.example", "--turn_port=3478"];
    let secret = [&base[..], &["--turn_shared_secret=openrelayprojectsecret"]].concat();
    let src = RtcSource::from_settings(&settings(&secret));
    assert!(src.is_time_limited());
    // Header absent ⇒ literal `username` (docs/protocol.md §2.3).
    let cfg = src.config(None, 1_699_913_600);
    assert_eq!(
        cfg.ice_servers[1].username.as_deref(),
        Some("1700000000:username")
    );
    let cfg = src.config(Some("selkies-host"), 1_699_913_600);
    assert_eq!(
        cfg.ice_servers[1].credential.as_deref(),
        Some("1sBmKfB9wsS7s2WrqgwL3wzHyA0=")
    );

    let both = [&secret[..], &["--turn_username=u", "--turn_password=p"]].concat();
    match RtcSource::from_settings(&settings(&both)) {
        RtcSource::Static(c) => assert_eq!(c.ice_servers[1].credential.as_deref(), Some("p")),
        other => panic!("{other:?}"),
    }
    // A secret without a TURN host falls back to STUN only.
    let no_host = RtcSource::from_settings(&settings(&["--turn_shared_secret=x"]));
    assert!(matches!(no_host, RtcSource::StunOnly(_)));
}

#[test]
fn parse_user_config() {
    let cfg = RtcConfig::parse(
        r#"{"iceServers": [{"urls": "stun:s.example:3478"},
            {"urls": ["turn:t.example:443?transport=tcp"], "username": "u", "credential": "c"}],
            "iceTransportPolicy": "relay", "extra": true}"#,
    )
    .expect("valid");
    assert_eq!(cfg.ice_servers[0].urls, ["stun:s.example:3478"]);
    assert_eq!(cfg.ice_transport_policy, "relay");
    assert_eq!(cfg.lifetime_duration, "86400s");
    assert!(RtcConfig::parse("{").is_err());
    assert!(RtcConfig::parse("[]").is_err());
    assert!(RtcConfig::parse(r#"{"iceServers": [{"urls": 5}]}"#).is_err());
    assert!(matches!(
        RtcConfig::parse(r#"{"iceServers": [{"urls": ["http://x"]}]}"#),
        Err(RtcConfigError::BadUrl(_))
    ));
}

#[test]
fn webrtcbin_uris() {
    let cfg = RtcConfig::with_servers(vec![
        IceServer {
            urls: vec![
                "stun:[2001:db8::2]:3478".into(),
                "stun:stun.l.google.com:19302".into(),
                "stuns:secure.example".into(),
            ],
            username: None,
            credential: None,
        },
        IceServer {
            urls: vec![
                "turn:[2001:db8::1]:3478?transport=udp".into(),
                "turns:t.example?transport=tcp".into(),
                "turn:t.example:80".into(),
            ],
            username: Some("1700000000:us er+/=é~_.-".into()),
            credential: Some("1sBmKfB9wsS7s2WrqgwL3wzHyA0=".into()),
        },
        IceServer {
            urls: vec!["turn:nocreds.example:3478".into()],
            username: None,
            credential: None,
        },
    ]);
    let s = webrtcbin_servers(&cfg);
    assert_eq!(s.stun.as_deref(), Some("stun://[2001:db8::2]:3478"));
    // Userinfo encoding matches Python `quote(s, safe='')`.
    let ui = "1700000000%3Aus%20er%2B%2F%3D%C3%A9~_.-:1sBmKfB9wsS7s2WrqgwL3wzHyA0%3D";
    assert_eq!(
        s.turn,
        [
            format!("turn://{ui}@[2001:db8::1]:3478"),
            format!("turns://{ui}@t.example:5349"),
            format!("turn://{ui}@t.example:80"),
        ]
    );
    assert_eq!(
        s.ignored,
        ["stuns:secure.example", "turn:nocreds.example:3478"]
    );
    assert_eq!(
        webrtcbin_servers(&stun_only_config("", 1)),
        WebrtcbinServers::default()
    );
}
