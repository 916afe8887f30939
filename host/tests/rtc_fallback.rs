//! TURN-REST unreachable at start: the host keeps running with the settings' configuration
//! (STUN only when no TURN server is configured) instead of failing or serving nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use clap::Parser;
use selkies_host::rtc::RtcStore;
use selkies_proto::config::{Args, HostFacts, Settings};

#[tokio::test]
async fn unreachable_turn_rest_falls_back_to_stun_only() {
    // A port nothing listens on: connection refused at once.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let args = Args::try_parse_from([
        "selkies-gstreamer".to_owned(),
        format!("--turn_rest_uri=http://127.0.0.1:{port}/turn"),
        "--json_config=/nonexistent/selkies.json".to_owned(),
        "--rtc_config_json=/nonexistent/rtc.json".to_owned(),
        "--turn_host=".to_owned(),
        "--stun_host=stun.example.test".to_owned(),
        "--stun_port=3478".to_owned(),
        "--basic_auth_password=x".to_owned(),
    ])
    .expect("args");
    let settings = Settings::resolve_with(args, &HostFacts::default()).expect("settings");
    let store = RtcStore::start(&settings).await;
    let json = store.json_for(None).expect("a configuration is served");
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    let urls = v["iceServers"].to_string();
    assert!(urls.contains("stun:stun.example.test:3478"), "{json}");
    assert!(!urls.contains("turn:"), "{json}");
}
