//! Data-channel tests with vectors from docs/protocol.md §4 and §12.

use super::*;
use crate::gamepad::GamepadMessage;

fn ok(text: &str) -> ClientMessage {
    match parse_client_message(text) {
        Ok(m) => m,
        Err(e) => panic!("{text:?} rejected: {e}"),
    }
}

#[test]
fn keyboard_commands() {
    assert_eq!(ok("kd,65307"), ClientMessage::KeyDown { keysym: 65307 });
    assert_eq!(ok("ku,16777215"), ClientMessage::KeyUp { keysym: 16777215 });
    assert_eq!(ok("kr"), ClientMessage::KeyReset);
}

#[test]
fn pointer_commands() {
    let ev = |x, y, mask, magnitude| PointerEvent {
        x,
        y,
        mask,
        magnitude,
    };
    // §12 wheel-down notch: two messages, bit 3 set then cleared.
    assert_eq!(
        ok("m,100,200,8,1"),
        ClientMessage::MouseAbsolute(ev(100, 200, 8, 1))
    );
    assert_eq!(
        ok("m,100,200,0,1"),
        ClientMessage::MouseAbsolute(ev(100, 200, 0, 1))
    );
    assert_eq!(
        ok("m2,-5,3,1,0"),
        ClientMessage::MouseRelative(ev(-5, 3, 1, 0))
    );
    assert_eq!(ok("p,1"), ClientMessage::PointerVisible(true));
    assert_eq!(ok("p,0"), ClientMessage::PointerVisible(false));
}

#[test]
fn settings_commands() {
    assert_eq!(ok("vb,4000"), ClientMessage::VideoBitrate { kbps: 4000 });
    assert_eq!(ok("ab,64000"), ClientMessage::AudioBitrate { bps: 64000 });
    assert_eq!(ok("_arg_fps,144"), ClientMessage::Framerate { fps: 144 });
    let res = Resolution {
        width: 1920,
        height: 1080,
    };
    assert_eq!(
        ok("_arg_resize,true,1920x1080"),
        ClientMessage::SetResize {
            enabled: true,
            resolution: Some(res)
        }
    );
    assert_eq!(
        ok("_arg_resize,False"),
        ClientMessage::SetResize {
            enabled: false,
            resolution: None
        }
    );
    assert_eq!(ok("r,1920x1080"), ClientMessage::Resize(res));
    assert_eq!(ok("s,1.25"), ClientMessage::Scale(1.25));
    assert_eq!(ok("s,2"), ClientMessage::Scale(2.0));
    assert_eq!(
        Resolution {
            width: 1001,
            height: 600
        }
        .even_rounded()
        .to_string(),
        "1002x600"
    );
}

#[test]
fn clipboard_vector_from_reference() {
    assert_eq!(ok("cr"), ClientMessage::ClipboardRead);
    assert_eq!(
        ok("cw,aMOpbGxv"),
        ClientMessage::ClipboardWrite("héllo".into())
    );
    assert_eq!(ok("cw,"), ClientMessage::ClipboardWrite(String::new()));
    let msg = ServerMessage::clipboard_from_text("héllo").map(|m| m.to_json());
    assert_eq!(
        msg.as_deref(),
        Some(r#"{"type": "clipboard", "data": {"content": "aMOpbGxv"}}"#)
    );
    // 49050 bytes → 65400 base64 chars (the cap); one more byte → 65404.
    assert!(ServerMessage::clipboard_from_text(&"a".repeat(49050)).is_some());
    assert!(ServerMessage::clipboard_from_text(&"a".repeat(49051)).is_none());
}

#[test]
fn gamepad_is_delegated() {
    assert_eq!(
        ok("js,b,0,6,0.5"),
        ClientMessage::Gamepad(GamepadMessage::Button {
            index: 0,
            button: 6,
            value: 0.5
        })
    );
    assert_eq!(
        ok("js,d,1"),
        ClientMessage::Gamepad(GamepadMessage::Disconnect { index: 1 })
    );
}

#[test]
fn telemetry_commands() {
    assert_eq!(
        ok("pong,1700000000.123"),
        ClientMessage::Pong {
            client_time: 1700000000.123
        }
    );
    assert_eq!(ok("_f,60"), ClientMessage::ClientFps(60.0));
    assert_eq!(ok("_l,42"), ClientMessage::ClientLatency(42.0));
    let stats = r#"[{"id":"RTCInboundRTPVideoStream_1","type":"inbound-rtp","framesPerSecond":60,"kind":"video"},{"type":"transport","bytesReceived":1234}]"#;
    match ok(&format!("_stats_video,{stats}")) {
        ClientMessage::StatsVideo(v) => {
            assert_eq!(v[0]["type"], "inbound-rtp");
            assert_eq!(v[1]["bytesReceived"], 1234);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        ok("_stats_audio,[]"),
        ClientMessage::StatsAudio(serde_json::Value::Array(_))
    ));
    assert_eq!(ok("_stages,1"), ClientMessage::StageReports(true));
    assert_eq!(ok("_stages,0"), ClientMessage::StageReports(false));
}

#[test]
fn malformed_messages_are_descriptive_errors() {
    use ProtocolError::*;
    assert_eq!(parse_client_message(""), Err(Empty));
    assert_eq!(parse_client_message("zz,1"), Err(Unknown("zz".into())));
    assert_eq!(parse_client_message("kd"), Err(MissingField("keysym")));
    assert_eq!(
        parse_client_message("kd,abc"),
        Err(BadField {
            field: "keysym",
            value: "abc".into()
        })
    );
    assert_eq!(
        parse_client_message("kd,1,2"),
        Err(ExtraFields {
            command: "kd",
            extra: "2".into()
        })
    );
    assert_eq!(
        parse_client_message("m,1,2,3"),
        Err(MissingField("wheel magnitude"))
    );
    assert!(matches!(parse_client_message("p,2"), Err(BadField { .. })));
    assert!(matches!(
        parse_client_message("_stages,yes"),
        Err(BadField { .. })
    ));
    assert_eq!(
        parse_client_message("_stages"),
        Err(MissingField("stage reports"))
    );
    assert!(matches!(
        parse_client_message("_stages,1,1"),
        Err(ExtraFields { .. })
    ));
    assert!(matches!(parse_client_message("vb,0"), Err(BadField { .. })));
    assert!(matches!(
        parse_client_message("r,1920"),
        Err(BadField { .. })
    ));
    assert!(matches!(
        parse_client_message("r,0x10"),
        Err(BadField { .. })
    ));
    assert!(matches!(
        parse_client_message("s,1e3"),
        Err(BadField { .. })
    ));
    assert!(matches!(parse_client_message("s,-1"), Err(BadField { .. })));
    assert!(matches!(parse_client_message("s,.5"), Err(BadField { .. })));
    assert!(matches!(
        parse_client_message("cw,!!!"),
        Err(BadField { .. })
    ));
    // Valid base64 of invalid UTF-8 (0xff 0xfe).
    assert!(matches!(
        parse_client_message("cw,//4="),
        Err(BadField { .. })
    ));
    assert!(matches!(
        parse_client_message("pong,inf"),
        Err(BadField { .. })
    ));
    assert!(matches!(
        parse_client_message("_stats_video,[1,"),
        Err(BadField { .. })
    ));
    assert_eq!(
        parse_client_message("_stats_video"),
        Err(MissingField("stats json"))
    );
    assert!(matches!(
        parse_client_message("_arg_resize,maybe,1x1"),
        Err(BadField { .. })
    ));
    let long = "x".repeat(10_000);
    match parse_client_message(&long) {
        Err(Unknown(s)) => assert!(s.chars().count() <= 65),
        other => panic!("{other:?}"),
    }
}

#[test]
fn initial_burst_defaults_from_reference() {
    let burst = initial_burst(60, 8000, 128000, false, "x264enc", None);
    assert_eq!(
        burst,
        [
            r#"{"type": "system", "data": {"action": "framerate,60"}}"#,
            r#"{"type": "system", "data": {"action": "video_bitrate,8000"}}"#,
            r#"{"type": "system", "data": {"action": "audio_bitrate,128000"}}"#,
            r#"{"type": "system", "data": {"action": "resize,False"}}"#,
            r#"{"type": "system", "data": {"action": "encoder,x264enc"}}"#,
            r#"{"type": "cursor", "data": null}"#,
        ]
    );
    let cursor = CursorMessage {
        curdata: "iVBORw0KGgo=".into(),
        handle: 17,
        override_: Some("none".into()),
        hotspot_x: 3,
        hotspot_y: 4,
    };
    let burst = initial_burst(30, 4000, 64000, true, "nvh264enc", Some(&cursor));
    assert_eq!(
        burst[3],
        r#"{"type": "system", "data": {"action": "resize,True"}}"#
    );
    assert_eq!(
        burst[5],
        r#"{"type": "cursor", "data": {"curdata": "iVBORw0KGgo=", "handle": 17, "override": "none", "hotspot": {"x": 3, "y": 4}}}"#
    );
}

#[test]
fn every_server_message_serialises_like_python() {
    let cases = [
        (
            ServerMessage::System(SystemAction::Resolution {
                width: 1920,
                height: 1080,
            }),
            r#"{"type": "system", "data": {"action": "resolution,1920x1080"}}"#,
        ),
        (
            ServerMessage::System(SystemAction::Reload),
            r#"{"type": "system", "data": {"action": "reload"}}"#,
        ),
        (
            ServerMessage::System(SystemAction::LocalScaling(true)),
            r#"{"type": "system", "data": {"action": "local_scaling,True"}}"#,
        ),
        (
            ServerMessage::video_bitrate_status(4000),
            r#"{"type": "pipeline", "data": {"status": "Video bitrate set to: 4000"}}"#,
        ),
        (
            ServerMessage::pointer_visibility_status(true),
            r#"{"type": "pipeline", "data": {"status": "Set pointer visibility to: 1"}}"#,
        ),
        (
            ServerMessage::GpuStats {
                load: 0.25,
                memory_total: 8192.0,
                memory_used: 512.5,
            },
            r#"{"type": "gpu_stats", "data": {"load": 0.25, "memory_total": 8192.0, "memory_used": 512.5}}"#,
        ),
        (
            ServerMessage::SystemStats {
                cpu_percent: 12.5,
                mem_total: 16_000_000_000,
                mem_used: 1_000,
            },
            r#"{"type": "system_stats", "data": {"cpu_percent": 12.5, "mem_total": 16000000000, "mem_used": 1000}}"#,
        ),
        (
            ServerMessage::ping(1700000000.1234),
            r#"{"type": "ping", "data": {"start_time": 1700000000.123}}"#,
        ),
        (
            ServerMessage::latency_from_rtt(0.0123456),
            r#"{"type": "latency_measurement", "data": {"latency_ms": 6.173}}"#,
        ),
        (
            ServerMessage::VideoStages(VideoStages {
                change_to_capture_ms: Some(0.84),
                capture_to_encoder_ms: Some(1.6),
                capture_to_encoded_ms: Some(6.25),
                encoded_to_sent_ms: Some(f64::NAN),
                frames: 30,
            }),
            r#"{"type": "video_stages", "data": {"change_to_capture_ms": 0.8, "capture_to_encoder_ms": 1.6, "capture_to_encoded_ms": 6.3, "encoded_to_sent_ms": null, "frames": 30}}"#,
        ),
        (
            ServerMessage::VideoStages(VideoStages::default()),
            r#"{"type": "video_stages", "data": {"change_to_capture_ms": null, "capture_to_encoder_ms": null, "capture_to_encoded_ms": null, "encoded_to_sent_ms": null, "frames": 0}}"#,
        ),
    ];
    for (msg, want) in cases {
        assert_eq!(msg.to_json(), want);
    }
}
