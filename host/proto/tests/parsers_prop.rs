//! Property tests of every parser that reads peer, browser or file input (the same parsers the
//! AFL targets in `fuzz/` exercise for longer, see docs/reliability.md): arbitrary input never
//! panics, and well-formed input round-trips to the values it was built from.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use selkies_proto::config::JsonOverlay;
use selkies_proto::encoder::VideoCodec;
use selkies_proto::protocol::{ClientMessage, PointerEvent, PyJson, parse_client_message};
use selkies_proto::rtc_config::{IceServer, RtcConfig, webrtcbin_servers};
use selkies_proto::sdp::{ensure_msid, munge_offer};
use selkies_proto::signalling::{Action, ConnId, Hub};

/// Strings made of the data channel's alphabet, so the parser's branches are reached often.
fn wire_text() -> impl Strategy<Value = String> {
    let cmd = prop::sample::select(vec![
        "kd",
        "ku",
        "kr",
        "m",
        "m2",
        "p",
        "vb",
        "ab",
        "_arg_fps",
        "_arg_resize",
        "r",
        "s",
        "cr",
        "cw",
        "cwp",
        "js",
        "pong",
        "_f",
        "_l",
        "_stats_video",
        "_stats_audio",
        "zz",
        "",
        "c",
        "b",
        "a",
        "d",
    ]);
    let arg = prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| f.to_string()),
        "[0-9x.eE+-]{0,12}",
        "[A-Za-z0-9+/=]{0,16}",
        prop::sample::select(vec![
            "true",
            "false",
            "True",
            "TRUE",
            "NaN",
            "inf",
            "[",
            "]",
            "{}",
            "{\"a\":1}",
            "1x1",
            "1920x1080",
            "0x0",
            "-0",
            "1e400",
            "4294967296",
            "=",
            "aMOpbGxv",
            "é",
            "🙂x2",
            " ",
            ""
        ])
        .prop_map(str::to_owned),
        any::<String>(),
    ];
    (cmd, prop::collection::vec(arg, 0..6)).prop_map(|(c, args)| {
        std::iter::once(c.to_owned())
            .chain(args)
            .collect::<Vec<_>>()
            .join(",")
    })
}

proptest! {
    // Cheap cases, many of them: the data channel is the widest input a browser controls.
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    #[test]
    fn data_channel_never_panics(text in prop_oneof![wire_text(), any::<String>()]) {
        let _ = parse_client_message(&text);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn keys_round_trip(keysym: u32) {
        prop_assert_eq!(parse_client_message(&format!("kd,{keysym}")).ok(), Some(ClientMessage::KeyDown { keysym }));
        prop_assert_eq!(parse_client_message(&format!("ku,{keysym}")).ok(), Some(ClientMessage::KeyUp { keysym }));
    }

    #[test]
    fn pointer_round_trips(x: i32, y: i32, mask in 0u32..32, magnitude in 0u32..1000) {
        let ev = PointerEvent { x, y, mask, magnitude };
        prop_assert_eq!(
            parse_client_message(&format!("m,{x},{y},{mask},{magnitude}")).ok(),
            Some(ClientMessage::MouseAbsolute(ev))
        );
        prop_assert_eq!(
            parse_client_message(&format!("m2,{x},{y},{mask},{magnitude}")).ok(),
            Some(ClientMessage::MouseRelative(ev))
        );
    }

    #[test]
    fn signalling_sessions_stay_symmetric(steps in prop::collection::vec((0u64..4, signalling_frame()), 0..40)) {
        let mut hub = Hub::new();
        hub.register_local(100, "0");
        hub.register_local(102, "2");
        for (conn, frame) in steps {
            let actions = if frame == "!" { hub.on_disconnect(conn) } else { hub.on_message(conn, &frame) };
            for a in actions {
                if let Action::Close { conn, .. } = a && conn < 4 {
                    hub.on_disconnect(conn);
                }
            }
            for conn in (0..4).chain([100, 102]) {
                let Some(uid) = hub.uid_of(conn).map(str::to_owned) else { continue };
                let Some(other) = hub.partner_of(&uid) else { continue };
                let back = hub.uid_of(other).and_then(|u| hub.partner_of(u));
                prop_assert_eq!(back, Some(conn as ConnId), "session of {} is one-sided", uid);
            }
        }
    }

    #[test]
    fn json_config_never_panics(text in json_text()) {
        if let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) {
            let _ = PyJson::from_value(&value).dumps();
            if let serde_json::Value::Object(map) = &value {
                let _ = JsonOverlay::from_map(map);
            }
        }
    }

    #[test]
    fn overlay_takes_positive_framerates(fps in 1u32..10_000) {
        let map = serde_json::json!({ "framerate": fps, "video_bitrate": fps.to_string() });
        let o = JsonOverlay::from_map(map.as_object().expect("object"));
        prop_assert_eq!(o.framerate, Some(fps));
        prop_assert_eq!(o.video_bitrate, Some(fps));
        prop_assert!(o.warnings.is_empty());
    }

    #[test]
    fn rtc_config_never_panics(text in json_text()) {
        if let Ok(cfg) = RtcConfig::parse(&text) {
            let _ = webrtcbin_servers(&cfg);
        }
    }

    #[test]
    fn rtc_config_round_trips(servers in prop::collection::vec(ice_server(), 0..4)) {
        let cfg = RtcConfig::with_servers(servers);
        let again = RtcConfig::parse(&cfg.to_json_pretty());
        prop_assert_eq!(again.ok(), Some(cfg.clone()));
    }

    #[test]
    fn sdp_munging_never_panics(lines in prop::collection::vec(sdp_line(), 0..30), crlf: bool, codec in codec()) {
        let text = lines.join(if crlf { "\r\n" } else { "\n" });
        let munged = munge_offer(&text, codec);
        let _ = ensure_msid(&munged, "selkies");
    }

    #[test]
    fn msid_is_added_once(lines in prop::collection::vec(sdp_line(), 0..30)) {
        let once = ensure_msid(&lines.join("\r\n"), "selkies");
        prop_assert_eq!(ensure_msid(&once, "selkies"), once);
    }
}

fn signalling_frame() -> impl Strategy<Value = String> {
    let uid = prop::sample::select(vec!["0", "1", "2", "3", "a", ""]);
    prop_oneof![
        (uid.clone(), prop::option::of("[A-Za-z0-9+/=]{0,12}"))
            .prop_map(|(u, m)| format!("HELLO {u} {}", m.unwrap_or_default())),
        uid.clone().prop_map(|u| format!("SESSION {u}")),
        uid.prop_map(|u| format!("ROOM {u}")),
        prop::sample::select(vec![
            "ROOM_PEER_MSG 1 x",
            "ROOM_PEER_LIST",
            "!",
            "HELLO",
            "SESSION",
            "{}"
        ])
        .prop_map(str::to_owned),
        any::<String>(),
    ]
}

fn json_text() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        "[a-z:/?=. 0-9]{0,20}".prop_map(serde_json::Value::from),
    ];
    let value = leaf.prop_recursive(3, 24, 6, |inner| {
        let key = prop::sample::select(vec![
            "framerate",
            "video_bitrate",
            "audio_bitrate",
            "enable_resize",
            "encoder",
            "iceServers",
            "urls",
            "username",
            "credential",
            "iceTransportPolicy",
            "x",
        ]);
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map(key.prop_map(str::to_owned), inner, 0..5)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    });
    prop_oneof![value.prop_map(|v| v.to_string()), any::<String>()]
}

fn ice_server() -> impl Strategy<Value = IceServer> {
    let url = (
        "(stun|turn|turns):[a-z0-9.]{1,12}",
        1u16..65535,
        prop::option::of("(udp|tcp)"),
    )
        .prop_map(|(h, p, t)| match t {
            Some(t) => format!("{h}:{p}?transport={t}"),
            None => format!("{h}:{p}"),
        });
    (
        prop::collection::vec(url, 1..3),
        prop::option::of("[ -~]{0,12}"),
        prop::option::of("[ -~]{0,12}"),
    )
        .prop_map(|(urls, username, credential)| IceServer {
            urls,
            username,
            credential,
        })
}

fn codec() -> impl Strategy<Value = VideoCodec> {
    prop::sample::select(vec![
        VideoCodec::H264,
        VideoCodec::H265,
        VideoCodec::Vp8,
        VideoCodec::Vp9,
        VideoCodec::Av1,
    ])
}

fn sdp_line() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "v=0",
            "m=video 9 UDP/TLS/RTP/SAVPF 96 97",
            "m=audio 9 UDP/TLS/RTP/SAVPF 111",
            "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
            "a=rtpmap:96 H264/90000",
            "a=rtpmap:96 H265/90000",
            "a=rtpmap:96 VP8/90000",
            "a=rtpmap:97 rtx/90000",
            "a=rtpmap:111 OPUS/48000/2",
            "a=fmtp:96 packetization-mode=1",
            "a=fmtp:97 apt=96",
            "a=fmtp:111 minptime=10",
            "a=mid:video0",
            "a=msid:s t",
            "a=rtpmap:",
            "a=fmtp:96 ",
            "m=",
        ])
        .prop_map(str::to_owned),
        "a=(rtpmap|fmtp):[0-9]{0,4} [ -~]{0,20}",
        "[ -~]{0,30}",
    ]
}
