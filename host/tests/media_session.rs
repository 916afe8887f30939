//! Pipelines and webrtcbin sessions on a real (private) Xvfb: the offer names the right codec
//! and payload type, carries the `input` data channel, separate msids and loopback candidates.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use selkies_proto::config::CaptureMode;
use std::time::Duration;

use gstreamer as gst;
use selkies_host::media::pipeline;
use selkies_host::media::rates::RateParams;
use selkies_host::session::{Session, SessionEvent};
use selkies_proto::encoder::{Encoder, VideoCodec};
use selkies_proto::sdp::{ensure_msid, munge_offer};

fn rates() -> RateParams {
    RateParams {
        video_kbps: 2000,
        framerate: 30,
        keyframe_distance: None,
        packetloss_percent: 0.0,
        cpus: 2,
    }
}

/// Wait for the offer and the candidates up to the loopback one (libnice gathers the machine's
/// interfaces in no fixed order, so the first candidate may be another address); returns
/// (offer SDP, candidates). Without a loopback candidate it gives up after 20 s and returns what
/// it has, for the caller's assertion to show.
async fn offer_of(session: &mut Session) -> (String, Vec<String>) {
    let mut offer = None;
    let mut candidates: Vec<String> = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while offer.is_none() || !candidates.iter().any(|c| c.contains("127.0.0.1")) {
        let Ok(ev) = tokio::time::timeout_at(deadline, session.events.recv()).await else {
            assert!(offer.is_some(), "no offer within 20 s");
            break;
        };
        let ev = ev.expect("session alive");
        match ev {
            SessionEvent::Offer(o) => {
                session.set_local_offer(&o);
                offer = Some(o.sdp().as_text().expect("sdp text"));
            }
            SessionEvent::IceCandidate { candidate, .. } => candidates.push(candidate),
            SessionEvent::Error(e) => panic!("session error: {e}"),
            _ => {}
        }
    }
    (offer.unwrap_or_default(), candidates)
}

async fn video_offer(encoder: &str, display: &str) -> (String, Vec<String>, &'static str) {
    let chosen =
        pipeline::choose_encoder(encoder.parse().expect("known encoder"), 0).expect("an encoder");
    let video = pipeline::build_video(&chosen, &rates(), 0, Some(display), None, CaptureMode::Auto)
        .expect("pipeline");
    let mut session = common::video_session(&video);
    let (sdp, cands) = offer_of(&mut session).await;
    (sdp, cands, chosen.spec.name())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn video_offers_for_h264_and_vp8() {
    gst::init().expect("gst init");
    let x = common::Xvfb::sized(640, 480);

    let (sdp, candidates, name) = video_offer("x264enc", &x.display).await;
    assert_eq!(name, "x264enc");
    assert!(sdp.contains("H264/90000"), "{sdp}");
    assert!(sdp.contains("a=rtpmap:97 H264/90000"), "{sdp}");
    assert!(sdp.contains("webrtc-datachannel"), "{sdp}");
    let munged = ensure_msid(&munge_offer(&sdp, VideoCodec::H264), "selkies-video");
    assert!(
        munged.contains("a=msid:selkies-video "),
        "msid missing: {munged}"
    );
    assert!(
        munged.contains("profile-level-id=42e01f") && munged.contains("packetization-mode=1"),
        "{munged}"
    );
    assert!(sdp.contains("nack pli"), "{sdp}");
    assert!(
        candidates.iter().any(|c| c.contains("127.0.0.1")),
        "no loopback candidate: {candidates:?}"
    );

    let (sdp, _, name) = video_offer("vp8enc", &x.display).await;
    assert_eq!(name, "vp8enc");
    assert!(sdp.contains("a=rtpmap:96 VP8/90000"), "{sdp}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_hardware_encoder_falls_back_to_an_installed_one() {
    gst::init().expect("gst init");
    let chosen = pipeline::choose_encoder(Encoder::Nvh264enc, 0).expect("fallback");
    assert!(gst::ElementFactory::find(&chosen.factory).is_some());
    if gst::ElementFactory::find("nvcudah264enc").is_none()
        && gst::ElementFactory::find("nvh264enc").is_none()
        && gst::ElementFactory::find("vah264enc").is_none()
    {
        assert_eq!(chosen.spec.name(), "x264enc");
    }
    // An unknown name no longer reaches the pipeline: the typed `--encoder` rejects it.
    assert!("no-such-encoder".parse::<Encoder>().is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audio_offer_is_opus_even_without_pulseaudio() {
    gst::init().expect("gst init");
    let audio = common::audio_pipeline();
    let mut session = common::audio_session(&audio);
    let (sdp, _) = offer_of(&mut session).await;
    assert!(
        sdp.contains("OPUS/48000") || sdp.contains("opus/48000"),
        "{sdp}"
    );
    let munged = ensure_msid(&munge_offer(&sdp, VideoCodec::H264), "selkies-audio");
    assert!(munged.contains("a=msid:selkies-audio "), "{munged}");
    assert!(munged.contains("a=ptime:10"), "{munged}");
    assert!(!sdp.contains("webrtc-datachannel"), "{sdp}");
}
