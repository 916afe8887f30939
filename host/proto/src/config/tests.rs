//! Config tests: legacy defaults (docs/protocol.md §1), precedence, typed values, deliberate differences, overlay.

use std::path::Path;

use clap::Parser;

use super::*;
use crate::encoder::Encoder;

fn facts() -> HostFacts {
    HostFacts {
        user: Some("alice".into()),
        hostname: "box:1".into(),
        xcursor_size: None,
        overlay: OverlayInput::NotRead,
        random: (0..RANDOM_BYTES).map(|i| (i * 37 % 256) as u8).collect(),
    }
}

/// [`facts`] with `text` as the `--json_config` file's contents, as the host reads it.
fn facts_with(text: &str) -> HostFacts {
    let mut f = facts();
    f.overlay = OverlayInput::Text(text.to_owned());
    f
}

/// Where the tests say the overlay is (only named in messages: resolution reads no file).
const CFG: &str = "/etc/selkies/cfg.json";

/// Parses CLI words only: the clap `env` lookups are disabled by clearing `env` per arg, so
/// the test machine's `SELKIES_*` variables cannot leak in.
fn args(words: &[&str], json_config: &Path) -> Args {
    use clap::{CommandFactory, FromArgMatches};
    let cmd = Args::command().mut_args(|a| a.env(None::<&str>));
    let mut argv = vec!["selkies-gstreamer".to_owned()];
    argv.push(format!("--json_config={}", json_config.display()));
    argv.extend(words.iter().map(|w| (*w).to_owned()));
    let m = cmd.try_get_matches_from(argv).expect("parse");
    Args::from_arg_matches(&m).expect("from matches")
}

fn resolve(words: &[&str]) -> Result<Settings, ConfigError> {
    Settings::resolve_with(
        args(words, Path::new("/nonexistent/selkies.json")),
        &facts(),
    )
}

#[test]
fn legacy_defaults_with_our_differences() {
    let s = resolve(&[]).expect("defaults resolve");
    assert_eq!(s.addr, "0.0.0.0");
    assert_eq!(s.port, 8080);
    assert_eq!(s.web_root, None);
    assert!(!s.enable_https);
    assert_eq!(
        s.https_cert,
        Path::new("/etc/ssl/certs/ssl-cert-snakeoil.pem")
    );
    assert!(s.enable_basic_auth);
    assert_eq!(s.basic_auth_user, "alice");
    // Deliberate difference: no `mypasswd`; a random one is generated and flagged.
    assert!(s.password_generated);
    assert_eq!(s.basic_auth_password.len(), 16);
    assert!(
        s.basic_auth_password
            .bytes()
            .all(|b| b.is_ascii_alphanumeric())
    );
    assert_eq!(s.rtc_config_json, Path::new("/tmp/rtc.json"));
    assert_eq!(s.turn_rest_username, "selkies-box-1");
    assert_eq!(s.turn_rest_username_auth_header, "x-auth-user");
    // Deliberate difference: no public TURN relay.
    assert_eq!((s.turn_host.as_deref(), s.turn_port), (None, None));
    assert_eq!(s.turn_shared_secret, None);
    assert_eq!(s.turn_protocol, TurnProtocol::Udp);
    assert_eq!(
        (s.stun_host.as_str(), s.stun_port),
        ("stun.l.google.com", 19302)
    );
    assert_eq!(s.js_socket_path, Path::new("/tmp"));
    assert_eq!(s.encoder, Encoder::X264enc);
    assert_eq!(
        (s.framerate, s.video_bitrate, s.audio_bitrate),
        (60, 8000, 128000)
    );
    assert_eq!(s.keyframe_distance, None);
    assert_eq!(s.audio_channels, 2);
    assert_eq!(s.enable_clipboard, ClipboardMode::Both);
    assert!(!s.enable_resize && s.enable_cursors && !s.debug_cursors);
    assert_eq!(s.cursor_size, None);
    assert_eq!(s.metrics_http_port, 8000);
    assert!(!s.debug);
    assert!(s.warnings.is_empty());
}

#[test]
fn typed_values_and_spellings() {
    let s = resolve(&[
        "--enable_https=TRUE",
        "--enable_basic_auth",
        "false",
        "--encoder=vp9enc",
        "--keyframe_distance=-1",
        "--video_packetloss_percent=2.5",
        "--enable_clipboard=out",
        "--turn_protocol=TCP",
        "--turn_port=3478",
        "--cursor_size=32",
        "--enable_resize",
        "--debug",
    ])
    .expect("resolve");
    assert!(s.enable_https);
    assert!(!s.enable_basic_auth && !s.password_generated);
    assert_eq!(s.encoder, Encoder::Vp9enc);
    assert_eq!(s.video_packetloss_percent, 2.5);
    assert_eq!(s.enable_clipboard, ClipboardMode::Out);
    assert!(s.enable_clipboard.outbound() && !s.enable_clipboard.inbound());
    assert_eq!(s.turn_protocol, TurnProtocol::Tcp);
    assert_eq!(s.turn_port, Some(3478));
    assert_eq!(s.cursor_size, Some(32));
    assert!(s.enable_resize && s.debug);
    let s = resolve(&["--keyframe_distance", "2.5", "--turn_protocol=sctp"]).expect("resolve");
    assert_eq!(s.keyframe_distance, Some(2.5));
    assert_eq!(s.turn_protocol, TurnProtocol::Udp);
    for (v, mode) in [
        ("true", ClipboardMode::Both),
        ("False", ClipboardMode::Off),
        ("IN", ClipboardMode::In),
    ] {
        assert_eq!(parse_clipboard_mode(v), Some(mode));
    }
}

#[test]
fn bad_values_name_flag_and_value() {
    let err = |w: &str| resolve(&[w]).expect_err(w).to_string();
    assert_eq!(
        err("--enable_https=yes"),
        "invalid value \"yes\" for --enable_https: expected true or false"
    );
    assert!(err("--port=99999").starts_with("invalid value \"99999\" for --port"));
    assert!(err("--encoder=h264").contains("--encoder"));
    assert!(err("--framerate=0").contains("--framerate"));
    assert!(err("--keyframe_distance=-2").contains("--keyframe_distance"));
    assert!(err("--audio_packetloss_percent=101").contains("--audio_packetloss_percent"));
    assert!(err("--enable_clipboard=both").contains("--enable_clipboard"));
    assert!(err("--cursor_size=-5").contains("--cursor_size"));
    assert!(err("--playout_delay_ms=40951").contains("--playout_delay_ms"));
    assert!(err("--playout_delay_ms=-2").contains("--playout_delay_ms"));
}

#[test]
fn playout_delay_defaults_to_zero_and_minus_one_turns_it_off() {
    let ms = |a: &[&str]| resolve(a).expect("ok").playout_delay_ms;
    assert_eq!(ms(&[]), Some(0));
    assert_eq!(ms(&["--playout_delay_ms=120"]), Some(120));
    assert_eq!(ms(&["--playout_delay_ms=-1"]), None);
}

#[test]
fn given_password_and_machine_defaults() {
    let s = resolve(&["--basic_auth_password=secret", "--basic_auth_user=bob"]).expect("ok");
    assert_eq!(
        (s.basic_auth_user.as_str(), s.basic_auth_password.as_str()),
        ("bob", "secret")
    );
    assert!(!s.password_generated);
    let mut f = facts();
    f.xcursor_size = Some("48".into());
    f.user = None;
    let s = Settings::resolve_with(args(&[], Path::new("/nonexistent")), &f).expect("ok");
    assert_eq!(s.cursor_size, Some(48));
    assert_eq!(s.basic_auth_user, "");
    // The password comes from the random bytes given, uniformly over the 62 characters.
    let bytes = [
        0, 61, 62, 247, 248, 255, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
    ];
    let a = password_from_random(&bytes).expect("16 usable bytes");
    assert_eq!(a, "A9A9BCDEFGHIJKLM");
    assert_eq!(password_from_random(&[255; 64]), None);
    assert_eq!(password_from_random(&[1; 15]), None);
    // No random bytes: no password is made up, and Basic auth without one is refused.
    let mut f = facts();
    f.random.clear();
    assert!(matches!(
        Settings::resolve_with(args(&[], Path::new("/nonexistent")), &f),
        Err(ConfigError::Requires { .. })
    ));
    f.random = vec![1; 3];
    assert!(matches!(
        Settings::resolve_with(args(&[], Path::new("/nonexistent")), &f),
        Err(ConfigError::Random(_))
    ));
    let mut f = facts();
    f.overlay = OverlayInput::Unreadable("permission denied".into());
    let s = Settings::resolve_with(args(&[], Path::new("/x.json")), &f).expect("ok");
    assert_eq!(
        s.warnings,
        ["ignoring --json_config: /x.json: permission denied"]
    );
}

#[test]
fn env_is_used_when_cli_is_absent_and_cli_wins() {
    use clap::{CommandFactory, FromArgMatches};
    // Simulate the environment through clap's own `env` lookup under a unique variable name so
    // the test does not touch (or race on) the real SELKIES_* variables. clap reads the
    // variable when the argument is defined, so set it first.
    // SAFETY: edition 2024 marks set_var unsafe because of concurrent readers; this variable
    // name is read by this test alone.
    unsafe { std::env::set_var("SELKIES_PROTO_TEST_FRAMERATE", "30") };
    unsafe { std::env::set_var("SELKIES_PROTO_TEST_PORT", "") };
    let cmd = Args::command().mut_args(|a| {
        if a.get_id() == "framerate" {
            a.env("SELKIES_PROTO_TEST_FRAMERATE")
        } else if a.get_id() == "port" {
            a.env("SELKIES_PROTO_TEST_PORT")
        } else {
            a.env(None::<&str>)
        }
    });
    let from_env = cmd.clone().try_get_matches_from(["x"]).expect("parse");
    let from_cli = cmd
        .try_get_matches_from(["x", "--framerate=24"])
        .expect("parse");
    unsafe { std::env::remove_var("SELKIES_PROTO_TEST_FRAMERATE") };
    unsafe { std::env::remove_var("SELKIES_PROTO_TEST_PORT") };
    let fr = |m| Args::from_arg_matches(&m).expect("args").framerate;
    // An empty variable is an empty value, as in the legacy host (docs/configuration.md).
    assert_eq!(Args::from_arg_matches(&from_env).expect("args").port, "");
    assert_eq!(fr(from_env), "30");
    assert_eq!(fr(from_cli), "24");
}

#[test]
fn overlay_overrides_five_keys_and_warns_on_bad_values() {
    let path = Path::new(CFG);
    let s = Settings::resolve_with(
        args(&["--framerate=90"], path),
        &facts_with(
            r#"{"framerate": 30, "video_bitrate": "4000", "audio_bitrate": 64000,
            "enable_resize": "True", "encoder": "VP8ENC", "other": 1}"#,
        ),
    )
    .expect("ok");
    assert_eq!(
        (s.framerate, s.video_bitrate, s.audio_bitrate),
        (30, 4000, 64000)
    );
    assert!(s.enable_resize);
    assert_eq!(s.encoder, Encoder::Vp8enc);
    assert!(s.warnings.is_empty());

    let f = facts_with(r#"{"framerate": -3, "encoder": "h264"}"#);
    let s = Settings::resolve_with(args(&[], path), &f).expect("ok");
    assert_eq!((s.framerate, s.encoder), (60, Encoder::X264enc));
    assert_eq!(s.warnings.len(), 2);

    let s = Settings::resolve_with(args(&[], path), &facts_with("{not json"))
        .expect("corrupt is a warning");
    assert_eq!(s.warnings.len(), 1);
    assert!(s.warnings[0].contains("not valid JSON"), "{:?}", s.warnings);
    assert!(s.warnings[0].contains(CFG), "{:?}", s.warnings);

    for empty in ["", " \n"] {
        let s = Settings::resolve_with(args(&[], path), &facts_with(empty))
            .expect("empty is no overlay");
        assert!(s.warnings.is_empty());
    }
    let s = Settings::resolve_with(args(&[], path), &facts_with("[1]")).expect("warning");
    assert_eq!(
        s.warnings,
        [format!(
            "ignoring --json_config: {CFG} does not hold a JSON object"
        )]
    );
}

#[test]
fn updated_text_is_read_modify_write() {
    let path = Path::new(CFG);
    let mut text = None;
    for setting in [
        OverlaySetting::VideoBitrate(4000),
        OverlaySetting::Framerate(30),
        OverlaySetting::EnableResize(true),
        OverlaySetting::AudioBitrate(96000),
    ] {
        text = Some(JsonOverlay::updated_text(path, text.as_deref(), &[setting]).expect("text"));
    }
    let text = text.expect("written");
    assert!(text.ends_with("}\n"), "{text:?}");
    let o = JsonOverlay::parse(path, &text)
        .expect("parse")
        .expect("object");
    assert_eq!(
        (
            o.video_bitrate,
            o.framerate,
            o.enable_resize,
            o.audio_bitrate
        ),
        (Some(4000), Some(30), Some(true), Some(96000))
    );
    // Unknown keys survive; a corrupt or non-object file is replaced; later entries win.
    let t = JsonOverlay::updated_text(
        path,
        Some(r#"{"custom": "keep", "framerate": 5}"#),
        &[OverlaySetting::Framerate(15)],
    )
    .expect("text");
    let v: serde_json::Value = serde_json::from_str(&t).expect("json");
    assert_eq!(
        (v["custom"].as_str(), v["framerate"].as_u64()),
        (Some("keep"), Some(15))
    );
    for current in [Some("garbage"), Some("[]"), Some(""), None] {
        let t = JsonOverlay::updated_text(
            path,
            current,
            &[
                OverlaySetting::VideoBitrate(1000),
                OverlaySetting::Framerate(20),
                OverlaySetting::VideoBitrate(3000),
            ],
        )
        .expect("text");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&t).expect("json"),
            serde_json::json!({"video_bitrate": 3000, "framerate": 20}),
            "{current:?}"
        );
    }
}

#[test]
fn temporary_names_come_from_the_random_bytes() {
    assert_eq!(
        temp_file_name(Path::new("/tmp/cfg.json"), [1, 0, 0, 0, 0, 0, 0, 0xab]),
        Path::new("/tmp/.cfg.json.ab00000000000001.tmp")
    );
    assert_ne!(
        temp_file_name(Path::new("cfg.json"), [1; 8]),
        temp_file_name(Path::new("cfg.json"), [2; 8])
    );
    assert_eq!(
        temp_file_name(Path::new("/"), [0; 8]),
        Path::new("/.selkies_config.json.0000000000000000.tmp")
    );
    assert_eq!(
        parse_object(Path::new(CFG), r#"{"a": 1}"#)
            .expect("object")
            .map(|m| m.len()),
        Some(1)
    );
    assert!(matches!(
        parse_object(Path::new(CFG), "1"),
        Err(OverlayError::NotObject { .. })
    ));
}

#[test]
fn parse_from_real_argv_shape() {
    // `Args::parse_from` is what `parse_from_env` uses; check the legacy `=` and space forms.
    let a = Args::try_parse_from(["x", "--port", "9000", "--enable_https=false"]).expect("parse");
    assert_eq!(
        (a.port.as_str(), a.enable_https.as_str()),
        ("9000", "false")
    );
    assert!(Args::try_parse_from(["x", "--enable-https=true"]).is_err());
}

#[test]
fn a_repeated_flag_takes_the_last_value_like_argparse() {
    // `ci/demo --port=8181` appends to a command line that already has --port.
    let a = Args::try_parse_from(["x", "--port=8080", "--port=8181"]).expect("parse");
    assert_eq!(a.port, "8181");
    let a = Args::try_parse_from([
        "x",
        "--enable_https=true",
        "--enable_https=false",
        "--encoder",
        "x264enc",
        "--encoder",
        "vp8enc",
        "--debug",
        "--debug",
        "--cursor_size=-1",
        "--cursor_size=32",
    ])
    .expect("parse");
    assert_eq!(
        (a.enable_https.as_str(), a.encoder.as_str(), a.debug),
        ("false", "vp8enc", true)
    );
    assert_eq!(a.cursor_size.as_deref(), Some("32"));
    // Every flag, not only these: repeat each with its default value.
    use clap::CommandFactory;
    let cmd = Args::command();
    for arg in cmd.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if matches!(long, "help" | "debug") {
            continue;
        }
        let v = arg
            .get_default_values()
            .first()
            .and_then(|v| v.to_str())
            .filter(|v| !v.is_empty())
            .unwrap_or("1")
            .to_owned();
        Args::command()
            .try_get_matches_from([
                "x".to_owned(),
                format!("--{long}={v}"),
                format!("--{long}={v}"),
            ])
            .unwrap_or_else(|e| panic!("--{long} twice: {e}"));
    }
}

#[test]
fn server_limits_and_origins() {
    let s = resolve(&[]).expect("defaults");
    assert_eq!(s.metrics_http_addr, None);
    assert!(s.allowed_origins.is_empty());
    assert_eq!(s.header_read_timeout, std::time::Duration::from_secs(10));
    assert_eq!(s.max_connections_per_ip, Some(64));
    assert_eq!(s.ws_timeout, std::time::Duration::from_secs(15));
    assert_eq!(s.shutdown_timeout, std::time::Duration::from_secs(3));
    let s = resolve(&[
        "--allowed_origins=https://Desk.Example.com:443/, http://proxy:8080",
        "--max_connections_per_ip=0",
        "--metrics_http_addr=0.0.0.0",
        "--shutdown_timeout=0.5",
    ])
    .expect("valid");
    assert_eq!(
        s.allowed_origins,
        ["https://desk.example.com", "http://proxy:8080"]
    );
    assert_eq!(s.max_connections_per_ip, None);
    assert_eq!(s.metrics_http_addr.as_deref(), Some("0.0.0.0"));
    assert_eq!(s.shutdown_timeout, std::time::Duration::from_millis(500));
    for bad in [
        "--allowed_origins=desk.example.com",
        "--allowed_origins=ftp://x",
        "--ws_timeout=0",
        "--header_read_timeout=-1",
    ] {
        assert!(resolve(&[bad]).is_err(), "{bad}");
    }
}

#[test]
fn overlay_sets_allowed_origins() {
    let path = Path::new(CFG);
    let f = facts_with(r#"{"allowed_origins": ["https://a.example", "http://b:81"]}"#);
    let s = Settings::resolve_with(args(&[], path), &f).expect("resolve");
    assert_eq!(s.allowed_origins, ["https://a.example", "http://b:81"]);
    let f = facts_with(r#"{"allowed_origins": "https://c.example"}"#);
    let s = Settings::resolve_with(args(&[], path), &f).expect("resolve");
    assert_eq!(s.allowed_origins, ["https://c.example"]);
    let f = facts_with(r#"{"allowed_origins": 5}"#);
    let s = Settings::resolve_with(args(&[], path), &f).expect("resolve");
    assert!(s.allowed_origins.is_empty());
    assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
}

#[test]
fn capture_defaults_to_auto_and_rejects_unknown_sources() {
    let mode = |a: &[&str]| resolve(a).expect("ok").capture;
    assert_eq!(mode(&[]), CaptureMode::Auto);
    assert_eq!(mode(&["--capture=XimageSrc"]), CaptureMode::Ximagesrc);
    assert_eq!(mode(&["--capture=xshm"]), CaptureMode::Xshm);
    let e = resolve(&["--capture=v4l2"]).expect_err("unknown source");
    assert!(e.to_string().contains("capture"), "{e}");
}

#[test]
fn transport_from_flag_env_name_and_overlay() {
    let t = |a: &[&str]| resolve(a).expect("ok").transport;
    use crate::ws_stream::Transport;
    assert_eq!(t(&[]), Transport::Auto);
    assert_eq!(t(&["--transport=websocket"]), Transport::Websocket);
    assert_eq!(t(&["--transport", "WebRTC"]), Transport::Webrtc);
    let e = resolve(&["--transport=quic"]).expect_err("unknown transport");
    assert!(e.to_string().contains("transport"), "{e}");
    let map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(r#"{"transport":"websocket","framerate":30}"#).expect("json");
    let o = JsonOverlay::from_map(&map);
    assert_eq!(o.transport, Some(Transport::Websocket));
    let bad: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(r#"{"transport":7}"#).expect("json");
    assert_eq!(JsonOverlay::from_map(&bad).warnings.len(), 1);
}

#[test]
fn sharing_flags_and_overlay_key() {
    let s = resolve(&[]).expect("defaults");
    assert_eq!((s.max_viewers, s.share_secret.as_deref()), (8, None));
    let s = resolve(&["--max_viewers=0", "--share_secret=k"]).expect("ok");
    assert_eq!((s.max_viewers, s.share_secret.as_deref()), (0, Some("k")));
    assert!(resolve(&["--max_viewers=-1"]).is_err());
    let path = Path::new(CFG);
    let s =
        Settings::resolve_with(args(&[], path), &facts_with(r#"{"max_viewers": 3}"#)).expect("ok");
    assert_eq!(s.max_viewers, 3);
    let s =
        Settings::resolve_with(args(&[], path), &facts_with(r#"{"max_viewers": 0}"#)).expect("ok");
    assert_eq!(s.max_viewers, 0);
}

#[test]
fn webcam_is_off_by_default_and_on_by_flag_env_style_or_overlay() {
    let s = resolve(&[]).expect("defaults");
    assert!(
        !s.enable_webcam,
        "privacy: the camera is off unless the host enables it"
    );
    assert_eq!(s.webcam_socket_path, Path::new("/tmp/selkies_webcam.sock"));
    let s = resolve(&["--enable_webcam", "--webcam_socket_path=/run/cam.sock"]).expect("ok");
    assert!(s.enable_webcam);
    assert_eq!(s.webcam_socket_path, Path::new("/run/cam.sock"));
    assert!(resolve(&["--enable_webcam=maybe"]).is_err());

    let f = facts_with(r#"{"enable_webcam": "true"}"#);
    let s = Settings::resolve_with(args(&[], Path::new(CFG)), &f).expect("ok");
    assert!(s.enable_webcam);
}
