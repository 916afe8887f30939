//! The fuzz targets' bodies: one function per parser that takes raw bytes and must never panic
//! (every input is something a peer, a browser, a file or an application could send). The
//! `src/bin/*` binaries hand them to AFL++; the unit test below replays the committed corpora (`cargo test --lib`:
//! the binaries only link in an AFL build).
//!
//! Beyond "no panic", each body checks what must hold for any accepted input (round trips,
//! symmetric signalling sessions), so a logic slip crashes the fuzzer too.

use selkies_js_wire::{DeviceConfig, DeviceRef, EV_CONFIG_LEN, InputEvent, JS_CONFIG_LEN, JsEvent};
use selkies_proto::encoder::VideoCodec;
use selkies_proto::protocol::{PyJson, parse_client_message};
use selkies_proto::rtc_config::{RtcConfig, webrtcbin_servers};
use selkies_proto::sdp::{ensure_msid, munge_offer};
use selkies_proto::signalling::{Action, ConnId, Hub};

/// A target body: raw input in, panics on a finding.
pub type Target = fn(&[u8]);

/// The targets by name, as `ci/fuzz` and the corpus replay test know them.
pub const TARGETS: &[(&str, Target)] = &[
    ("data_channel", data_channel),
    ("signalling", signalling),
    ("json_config", json_config),
    ("rtc_config", rtc_config),
    ("sdp", sdp),
    ("interposer_wire", interposer_wire),
    ("turn", turn),
];

/// One browser → host data-channel message (`kd,65`, `m,…`, `cw,…`, `_stats_video,[…]`…).
pub fn data_channel(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = parse_client_message(text);
}

/// Remote connections the signalling input drives (the host's own peers are 100 and 102).
const REMOTES: u64 = 4;

/// A signalling conversation: each line is `<c><text>`, where `c` picks one of four remote
/// connections (its code point mod 4) and `text` is the frame it sends; `text` = `!` closes it.
/// After every step each session must be symmetric.
pub fn signalling(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut hub = Hub::new();
    hub.register_local(100, "0");
    hub.register_local(102, "2");
    for line in text.lines() {
        let mut chars = line.chars();
        let Some(c) = chars.next() else { continue };
        let conn = ConnId::from(u32::from(c)) % REMOTES;
        let frame = chars.as_str();
        let actions = if frame == "!" {
            hub.on_disconnect(conn)
        } else {
            hub.on_message(conn, frame)
        };
        // The glue reports every remote socket it closes as disconnected.
        for a in actions {
            if let Action::Close { conn, .. } = a
                && conn < REMOTES
            {
                hub.on_disconnect(conn);
            }
        }
        for conn in (0..REMOTES).chain([100, 102]) {
            let Some(uid) = hub.uid_of(conn).map(str::to_owned) else {
                continue;
            };
            let Some(other) = hub.partner_of(&uid) else {
                continue;
            };
            let other_uid = hub.uid_of(other).map(str::to_owned);
            let back = other_uid.as_deref().and_then(|u| hub.partner_of(u));
            assert_eq!(
                back,
                Some(conn),
                "session of {uid} on {conn} is not symmetric"
            );
        }
    }
}

/// A `--json_config` file: the overlay keys, and the same JSON through the outbound
/// Python-compatible serialiser.
pub fn json_config(data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let _ = PyJson::from_value(&value).dumps();
    if let serde_json::Value::Object(map) = &value {
        let _ = selkies_proto::config::JsonOverlay::from_map(map);
    }
}

/// An RTC configuration (`--rtc_config_json`, a TURN-REST answer): what parses must serialise
/// and parse again to the same config, and convert to webrtcbin's server URIs.
pub fn rtc_config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(cfg) = RtcConfig::parse(text) else {
        return;
    };
    let _ = webrtcbin_servers(&cfg);
    let again = RtcConfig::parse(&cfg.to_json_pretty());
    assert!(
        again.is_ok(),
        "a parsed config does not parse after serialising: {again:?}"
    );
}

const CODECS: [VideoCodec; 5] = [
    VideoCodec::H264,
    VideoCodec::H265,
    VideoCodec::Vp8,
    VideoCodec::Vp9,
    VideoCodec::Av1,
];

/// An SDP offer (first byte: the codec) through the munging the host applies before sending it.
pub fn sdp(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let codec = CODECS[usize::from(pick) % CODECS.len()];
    let munged = munge_offer(text, codec);
    let _ = ensure_msid(&munged, "selkies");
}

/// The interposer's wire records (first byte: which one): device paths, `input_event` and
/// `js_event` records, ioctl request numbers and the device config blocks.
pub fn interposer_wire(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    match pick % 5 {
        0 => {
            if let Some(dev) = DeviceRef::from_device_path(rest) {
                let again = DeviceRef::from_device_path(dev.device_path().as_bytes());
                assert_eq!(again, Some(dev), "device path does not round-trip");
                let _ = dev.socket_name();
            }
        }
        1 => {
            for word in [4, 8] {
                if let Some(ev) = InputEvent::decode(word, rest) {
                    let mut buf = [0u8; 24];
                    let n = ev.encode_into(word, &mut buf);
                    let back = InputEvent::decode(word, &buf[..n]);
                    assert_eq!(
                        back,
                        Some(ev),
                        "input_event does not round-trip (word {word})"
                    );
                    let _ = ev.encode_with_syn(word);
                }
            }
        }
        2 => {
            if let Some(buf) = rest.first_chunk::<8>() {
                let ev = JsEvent::decode(buf);
                assert_eq!(&ev.encode(), buf, "js_event does not round-trip");
                let _ = selkies_js_wire::event::evdev_value(ev.number, ev.value);
                let _ = selkies_js_wire::event::abs_info(ev.number);
            }
        }
        3 => {
            if let Some(req) = rest.first_chunk::<4>() {
                let req = u32::from_ne_bytes(*req);
                let _ = selkies_js_wire::ioctl::decode_js(req);
                let _ = selkies_js_wire::ioctl::decode_ev(req);
            }
        }
        _ => {
            let mut js = [0u8; JS_CONFIG_LEN];
            let n = rest.len().min(JS_CONFIG_LEN);
            js[..n].copy_from_slice(&rest[..n]);
            let cfg = DeviceConfig::decode_js(&js);
            let _ = (cfg.buttons(), cfg.axes(), cfg.encode_js());
            let mut ev = [0u8; EV_CONFIG_LEN];
            let n = rest.len().min(EV_CONFIG_LEN);
            ev[..n].copy_from_slice(&rest[..n]);
            let cfg = DeviceConfig::decode_event(&ev);
            let _ = (cfg.buttons(), cfg.axes(), cfg.encode_event());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::Path;

    /// Every committed corpus file (seeds and anything kept from a fuzzing run) passes its
    /// target, so a crash found once stays a regression test.
    #[test]
    fn every_corpus_file_passes_its_target() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
        for (name, target) in super::TARGETS {
            let dir = root.join(name);
            let mut n = 0;
            for entry in fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
                let path = entry.expect("corpus entry").path();
                target(&fs::read(&path).expect("corpus file"));
                n += 1;
            }
            assert!(n > 0, "{name}: empty corpus");
        }
    }
}

/// The embedded TURN relay's wire input: the bytes of one TCP stream, cut into frames by the
/// stream framing (STUN with its length, ChannelData padded to 4), every frame handed to the
/// sans-IO server as a client message, and the raw bytes also as a datagram from a peer. The
/// nonce is random per run, so this mostly exercises the pre-authentication surface: parsing,
/// fingerprint/integrity checks and the error answers an unauthenticated client gets.
pub fn turn(data: &[u8]) {
    use selkies_turn::framing::FrameBuffer;
    use selkies_turn::{ClientKey, Limits, Now, RestAuth, Server, ServerConfig, Transport};
    use std::net::SocketAddr;

    let mut server = Server::new(ServerConfig {
        auth: RestAuth::new(b"fuzz".to_vec(), "selkies"),
        limits: Limits::default(),
        allowed_peers: vec![[127, 0, 0, 1].into()],
    });
    let now = Now {
        mono: std::time::Instant::now(),
        unix: 1_700_000_000,
    };
    let key = ClientKey {
        transport: Transport::Tcp,
        client: SocketAddr::from(([127, 0, 0, 9], 40000)),
        server: SocketAddr::from(([127, 0, 0, 1], 8080)),
    };
    let mut bind = |_: &ClientKey| Some(SocketAddr::from(([127, 0, 0, 1], 50000)));
    let mut frames = FrameBuffer::default();
    frames.push(data);
    while let Ok(Some(frame)) = frames.next_frame() {
        let _ = server.handle_client(key.clone(), &frame, now, &mut bind);
    }
    let _ = server.handle_client(key.clone(), data, now, &mut bind);
    let relay = SocketAddr::from(([127, 0, 0, 1], 50000));
    let _ = server.handle_peer(relay, SocketAddr::from(([127, 0, 0, 1], 5000)), data, now);
}
