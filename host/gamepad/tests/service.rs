//! The gamepad service over real unix sockets: record layout on the wire, initial state,
//! ordering to several clients, a stalled client not blocking the others, socket lifetime,
//! and random `js,…` input.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::path::PathBuf;
use std::time::Duration;

use proptest::prelude::{Rng as _, RngExt as _};
use proptest::test_runner::{RngAlgorithm, TestRng};
use selkies_gamepad::GamepadService;
use selkies_js_wire::event::{EV_ABS, EV_KEY, EV_SYN, JS_EVENT_AXIS, JS_EVENT_BUTTON};
use selkies_js_wire::{DeviceConfig, InputEvent, JsEvent};
use selkies_proto::gamepad::{GamepadMessage, parse_js};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::time::timeout;

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("selkies-gamepad-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

async fn js(service: &GamepadService, line: &str) {
    let fields: Vec<&str> = line.split(',').skip(1).collect();
    service
        .handle(parse_js(&fields).expect("valid message"))
        .await;
}

async fn read_exact(s: &mut UnixStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    timeout(Duration::from_secs(5), s.read_exact(&mut buf))
        .await
        .expect("timely")
        .expect("read");
    buf
}

async fn js_events(s: &mut UnixStream, n: usize) -> Vec<JsEvent> {
    let bytes = read_exact(s, 8 * n).await;
    bytes
        .chunks_exact(8)
        .map(|c| JsEvent::decode(c.try_into().expect("8 bytes")))
        .collect()
}

#[tokio::test]
async fn js_socket_serves_config_state_and_changes_in_order() {
    let dir = temp_dir("js");
    let service = GamepadService::new(dir.clone());
    js(&service, "js,c,0,WGJveA==,4,17").await;
    let path = dir.join("selkies_js0.sock");
    let mut a = UnixStream::connect(&path).await.expect("connect a");
    let mut b = UnixStream::connect(&path).await.expect("connect b");
    for c in [&mut a, &mut b] {
        let rec = read_exact(c, 1348).await;
        assert_eq!(rec, DeviceConfig::xpad_js().encode_js().to_vec());
        let state = js_events(c, 19).await;
        assert!(
            state[..11]
                .iter()
                .all(|e| e.kind == JS_EVENT_BUTTON && e.value == 0)
        );
        let axes: Vec<i16> = state[11..].iter().map(|e| e.value).collect();
        assert_eq!(axes, [0, 0, -32767, 0, 0, -32767, 0, 0]);
    }
    for line in [
        "js,b,0,0,1",
        "js,a,0,2,0.25",
        "js,b,0,6,0.5",
        "js,b,0,12,1",
        "js,b,0,0,0",
    ] {
        js(&service, line).await;
    }
    for c in [&mut a, &mut b] {
        let got: Vec<(u8, u8, i16)> = js_events(c, 5)
            .await
            .iter()
            .map(|e| (e.kind, e.number, e.value))
            .collect();
        assert_eq!(
            got,
            [
                (JS_EVENT_BUTTON, 0, 1),
                (JS_EVENT_AXIS, 3, 8192),
                (JS_EVENT_AXIS, 2, 0),
                (JS_EVENT_AXIS, 7, -32767),
                (JS_EVENT_BUTTON, 0, 0)
            ]
        );
    }
    // A client connecting now gets the current state, not the rest state.
    let mut late = UnixStream::connect(&path).await.expect("connect late");
    read_exact(&mut late, 1348).await;
    let state = js_events(&mut late, 19).await;
    assert_eq!((state[11 + 3].value, state[11 + 7].value), (8192, -32767));
    js(&service, "js,d,0").await;
    assert!(!path.exists(), "js,d removes the socket");
    assert!(!dir.join("selkies_event1000.sock").exists());
    let mut rest = Vec::new();
    let n = timeout(Duration::from_secs(5), a.read_to_end(&mut rest))
        .await
        .expect("closed")
        .expect("read");
    assert_eq!(n, 0, "client sees end of stream after js,d");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn event_socket_uses_the_reported_word_size() {
    let dir = temp_dir("ev");
    let service = GamepadService::new(dir.clone());
    js(&service, "js,c,2,WGJveA==,4,17").await;
    let path = dir.join("selkies_event1002.sock");
    for word in [4usize, 8] {
        let mut c = UnixStream::connect(&path).await.expect("connect");
        let rec = read_exact(&mut c, 1354).await;
        assert_eq!(rec, DeviceConfig::xpad_event(2).encode_event().to_vec());
        c.write_all(&[word as u8]).await.expect("word byte");
        let len = if word == 4 { 16 } else { 24 };
        read_exact(&mut c, 2 * len * 19).await;
        js(
            &service,
            &format!("js,b,2,7,{}", if word == 4 { 1 } else { 0 }),
        )
        .await;
        js(
            &service,
            &format!("js,b,2,1,{}", if word == 4 { 1 } else { 0 }),
        )
        .await;
        let bytes = read_exact(&mut c, 4 * len).await;
        let evs: Vec<(u16, u16, i32)> = bytes
            .chunks_exact(len)
            .map(|r| {
                InputEvent::decode(word, r)
                    .map(|e| (e.kind, e.code, e.value))
                    .expect("event")
            })
            .collect();
        let v = i32::from(word == 4);
        assert_eq!(
            evs,
            [
                (EV_ABS, 5, 255 * v),
                (EV_SYN, 0, 0),
                (EV_KEY, 0x131, v),
                (EV_SYN, 0, 0)
            ]
        );
    }
    service.shutdown().await;
    assert!(!path.exists(), "shutdown removes the sockets");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn stalled_client_does_not_block_the_others() {
    let dir = temp_dir("slow");
    let service = GamepadService::new(dir.clone());
    js(&service, "js,c,1,WGJveA==,4,17").await;
    let path = dir.join("selkies_js1.sock");
    let _stalled = UnixStream::connect(&path).await.expect("connect stalled");
    let mut fast = UnixStream::connect(&path).await.expect("connect fast");
    read_exact(&mut fast, 1348 + 19 * 8).await;
    let reader = tokio::spawn(async move { js_events(&mut fast, 100_000).await });
    let start = std::time::Instant::now();
    for i in 0..100_000u32 {
        let v = if i % 2 == 0 { 0.5 } else { -0.5 };
        service
            .handle(GamepadMessage::Axis {
                index: 1,
                axis: 0,
                value: v,
            })
            .await;
        if i % 512 == 0 {
            tokio::task::yield_now().await;
        }
    }
    let events = reader.await.expect("reader");
    assert!(
        events
            .iter()
            .enumerate()
            .all(|(i, e)| e.value == if i % 2 == 0 { 16384 } else { -16384 })
    );
    println!("100000 events to the fast client in {:?}", start.elapsed());
    assert_eq!(
        service.client_count(1).await,
        1,
        "the stalled client was dropped"
    );
    service.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn random_messages_never_crash_the_service() {
    let dir = temp_dir("fuzz");
    let service = GamepadService::new(dir.clone());
    let mut rng = TestRng::deterministic_rng(RngAlgorithm::ChaCha);
    let kinds = ["c", "d", "b", "a", "x", ""];
    let nums = [
        "0",
        "1",
        "3",
        "4",
        "-1",
        "255",
        "99999999999",
        "0.5",
        "-0.5",
        "1e308",
        "NaN",
        "inf",
        "",
        "WGJveA==",
    ];
    let mut accepted = 0;
    for _ in 0..5000 {
        let kind = kinds[rng.random_range(0..kinds.len())];
        // Mostly the right arity, so that many messages get past the parser.
        let n = match (rng.next_u64() % 4, kind) {
            (0, _) => rng.next_u64() % 7,
            (_, "c") => 4,
            (_, "d") => 1,
            _ => 3,
        };
        let mut fields = vec![kind];
        for _ in 0..n {
            fields.push(nums[rng.random_range(0..nums.len())]);
        }
        if let Ok(msg) = parse_js(&fields) {
            accepted += 1;
            service.handle(msg).await;
        }
    }
    println!("{accepted} of 5000 random messages were valid");
    assert!(accepted > 100);
    service.shutdown().await;
    for i in 0..4 {
        assert!(!dir.join(format!("selkies_js{i}.sock")).exists());
    }
    let _ = std::fs::remove_dir_all(dir);
}
