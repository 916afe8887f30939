//! Reliability of the media half with real GStreamer elements: peer and flag values outside an
//! encoder property's range are clamped (they used to panic in glib), persisted values from
//! another encoder are fitted at load, an answer refusing the offered codec is never applied
//! (webrtcbin used to abort the process), sessions start on the blocking pool, and a panicking
//! peer task is restarted with its hub registration intact.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;
use selkies_host::host::LiveSettings;
use selkies_host::media::pipeline::{self, AudioParams};
use selkies_host::media::rates::RateParams;
use selkies_host::peer::{self, Kind, Opened, StartPlan};
use selkies_host::session::{IceServers, SessionError, SessionEvent};
use selkies_host::supervise;
use selkies_proto::config::CaptureMode;

fn rates(kbps: u32) -> RateParams {
    RateParams {
        video_kbps: kbps,
        framerate: 30,
        keyframe_distance: None,
        packetloss_percent: 0.0,
        cpus: 2,
    }
}

fn installed(factory: &str) -> pipeline::ChosenEncoder {
    gst::init().expect("gst init");
    let chosen =
        pipeline::choose_encoder(factory.parse().expect("known encoder"), 0).expect("an encoder");
    assert_eq!(
        chosen.spec.name(),
        factory,
        "{factory} is installed (ci/install-deps)"
    );
    chosen
}

#[test]
fn vb_outside_the_encoder_range_is_clamped_through_the_pipeline() {
    for (encoder, asked, max) in [
        ("x264enc", 99_999_999u32, 2_048_000u32),
        ("x265enc", 150_000, 102_400),
    ] {
        let chosen = installed(encoder);
        assert_eq!(
            chosen.kbps_range(),
            (1, max),
            "{encoder}: range from the param spec"
        );
        // Start-up with a huge --video_bitrate: built, not a panic.
        let video = pipeline::build_video(&chosen, &rates(asked), 0, None, None, CaptureMode::Auto)
            .expect("built");
        assert_eq!(
            video.encoder.property::<u32>("bitrate"),
            max,
            "{encoder} at start"
        );
        // A running pipeline (the real elements in PLAYING would need X; READY has the
        // encoder instantiated and configurable).
        video
            .pipeline
            .set_state(gst::State::Ready)
            .expect("to READY");
        video.encoder.set_property("bitrate", 1000u32);
        let mut seen = 0;
        let set = video.set_bitrate(asked, |k| {
            seen = k;
            rates(k)
        });
        assert_eq!((set, seen), (max, max), "{encoder}: vb,{asked}");
        assert_eq!(video.encoder.property::<u32>("bitrate"), max);
        assert_eq!(video.set_bitrate(0, rates), 1, "{encoder}: vb,0");
        let _ = video.pipeline.set_state(gst::State::Null);
    }
}

#[test]
fn persisted_bitrate_of_another_encoder_is_fitted_at_load() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("selkies.json");
    // Written by `vb,150000` under x264enc, then the host restarts with x265enc.
    std::fs::write(
        &path,
        r#"{"video_bitrate": 150000, "audio_bitrate": 9000000, "framerate": 60}"#,
    )
    .expect("write overlay");
    let overlay = selkies_host::overlay_file::load(&path)
        .expect("load")
        .expect("an overlay");
    let live = LiveSettings {
        framerate: overlay.framerate.unwrap_or(60),
        video_kbps: overlay.video_bitrate.unwrap_or(8000),
        audio_bps: overlay.audio_bitrate.unwrap_or(128_000),
        resize: false,
    };
    let fitted = live.fit_to(&installed("x265enc"));
    assert_eq!(fitted.video_kbps, 102_400);
    assert_eq!(fitted.audio_bps, 650_000, "opusenc's maximum");
    assert_eq!(fitted.framerate, 60);
    // Under x264enc the same value is valid and kept.
    assert_eq!(live.fit_to(&installed("x264enc")).video_kbps, 150_000);
}

/// A Chromium-style answer to `offer` that rejects the video section (port 0, left out of the
/// BUNDLE group) and accepts the data channel, as Chromium answers an H.265-only offer.
fn answer_rejecting_video(offer: &str) -> String {
    let mut out = Vec::new();
    let mut in_video = false;
    for line in offer.lines() {
        let line = line.trim_end();
        if line.starts_with("m=") {
            in_video = line.starts_with("m=video");
        }
        let line = if in_video && line.starts_with("m=video") {
            let mut parts: Vec<&str> = line.split(' ').collect();
            parts[1] = "0";
            parts.join(" ")
        } else if line.starts_with("a=group:BUNDLE") {
            line.split(' ')
                .filter(|m| !m.starts_with("video"))
                .collect::<Vec<_>>()
                .join(" ")
        } else if line == "a=sendonly" {
            "a=inactive".into()
        } else if line == "a=setup:actpass" {
            "a=setup:active".into()
        } else if line == "a=setup:active" {
            // The host's munged offer makes it the DTLS client.
            "a=setup:passive".into()
        } else if line.starts_with("a=candidate") || line.starts_with("a=ssrc") {
            continue;
        } else {
            line.to_string()
        };
        out.push(line);
    }
    out.join("\r\n") + "\r\n"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_refusing_the_video_codec_is_not_applied() {
    let x = common::Xvfb::sized(320, 240);
    let chosen = installed("x265enc");
    let video = pipeline::build_video(
        &chosen,
        &rates(2000),
        0,
        Some(&x.display),
        None,
        CaptureMode::Auto,
    )
    .expect("built");
    let mut session = common::video_session(&video);
    let offer = loop {
        match tokio::time::timeout(Duration::from_secs(20), session.events.recv())
            .await
            .expect("an offer within 20 s")
            .expect("session alive")
        {
            SessionEvent::Offer(o) => {
                session.set_local_offer(&o);
                break o.sdp().as_text().expect("sdp text");
            }
            SessionEvent::Error(e) => panic!("session error: {e}"),
            _ => {}
        }
    };
    assert!(offer.contains("H265/90000"), "{offer}");
    let answer = answer_rejecting_video(&offer);
    match session.set_answer(
        selkies_proto::signalling::envelope::SdpType::Answer,
        &answer,
    ) {
        Err(SessionError::Refused { media, codec }) => {
            assert_eq!((media.as_str(), codec.as_str()), ("video", "H265"));
        }
        other => panic!("expected a refusal, got {other:?}\n{answer}"),
    }
    // The process is still here and the session stops cleanly.
    let mut session = session;
    tokio::task::spawn_blocking(move || session.shutdown())
        .await
        .expect("stopped");
}

#[test]
fn a_session_starts_on_the_blocking_pool() {
    gst::init().expect("gst init");
    // One async worker: a session start that blocked it would keep every other task waiting.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let other_ran = Arc::new(AtomicBool::new(false));
        let flag = other_ran.clone();
        tokio::spawn(async move { flag.store(true, Ordering::SeqCst) });
        let opened = peer::open(StartPlan {
            kind: Kind::Audio,
            encoder: installed("x264enc"),
            rates: rates(2000),
            gpu_id: 0,
            damage: None,
            ice: IceServers::default(),
            video_fec_percent: 0,
            audio: AudioParams {
                bitrate_bps: 64000,
                channels: 2,
                packetloss_percent: 0.0,
                silence_ms: 0,
            },
            playout_delay_ms: None,
            capture: CaptureMode::Auto,
            congestion: None,
            metrics: selkies_telemetry::Metrics::new(),
            microphone: None,
            webcam: None,
        })
        .await
        .expect("audio session opens");
        assert!(
            other_ran.load(Ordering::SeqCst),
            "another task ran while the pipeline was being built and started"
        );
        let Opened::Audio(_, mut session) = opened else {
            panic!("an audio session");
        };
        tokio::task::spawn_blocking(move || session.shutdown())
            .await
            .expect("stopped");
    });
}

#[tokio::test]
async fn a_panicking_peer_restarts_with_its_inbox() {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<&'static str>();
    let mut state = (rx, Vec::new());
    tx.send("boom").expect("inbox open");
    tx.send("hello").expect("inbox open");
    tx.send("bye").expect("inbox open");
    supervise::supervise("test", &mut state, |(rx, seen)| {
        Box::pin(async move {
            while let Some(m) = rx.recv().await {
                match m {
                    "boom" => panic!("a bug in a peer task"),
                    "bye" => return,
                    other => seen.push(other),
                }
            }
        })
    })
    .await;
    assert_eq!(state.1, vec!["hello"], "served again after the panic");
    // The hub's side of the channel still reaches the peer.
    assert!(tx.send("later").is_ok(), "the inbox survived the panic");
}

#[test]
fn a_browser_without_h265_gets_the_h264_fallback() {
    use selkies_host::host::browser_takes;
    use selkies_host::media::catalogue::Codec;
    let x265 = installed("x265enc");
    // What Chromium lists in its HELLO: no H265.
    let chromium = [Codec::Vp8, Codec::Vp9, Codec::H264, Codec::Av1];
    let takes = |c| browser_takes(c, Some(&chromium), &[]);
    assert!(!takes(x265.spec.codec()));
    let chosen =
        pipeline::choose_encoder_accepting(x265.spec.encoder, 0, takes).expect("a fallback");
    assert_eq!(chosen.spec.name(), "x264enc");
    // A client that lists nothing: H.265 until an answer refused it.
    assert!(browser_takes(Codec::H265, None, &[]));
    assert!(!browser_takes(Codec::H265, None, &[Codec::H265]));
    assert!(browser_takes(
        Codec::H265,
        Some(&[Codec::H265]),
        &[Codec::H265]
    ));
}
