//! PulseAudio dying mid-stream, with a real PulseAudio daemon started and killed by the test:
//! the audio session carries on with silence (its peer connection and the video are untouched)
//! and captures from PulseAudio again by itself once a daemon answers on the same socket.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::pulse::{Pulse, until, use_daemon_in};
use common::watchdog::{Watchdog, step};
use gstreamer as gst;
use gstreamer::prelude::*;
use selkies_host::media::audio_source;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audio_survives_pulseaudio_restart() {
    let watchdog = Watchdog::arm(
        "audio_survives_pulseaudio_restart",
        Duration::from_secs(240),
    );
    gst::init().expect("gst init");
    let dir = tempfile::tempdir().expect("tempdir");
    use_daemon_in(dir.path());
    let mut first = Pulse::start(dir.path());

    let audio = common::audio_pipeline();
    assert!(audio.live_source && audio.capturing(), "PulseAudio is up");
    let encoded = Arc::new(AtomicU64::new(0));
    let counter = encoded.clone();
    audio
        .opusenc
        .static_pad("src")
        .expect("opusenc src")
        .add_probe(gst::PadProbeType::BUFFER, move |_, _| {
            counter.fetch_add(1, Ordering::SeqCst);
            gst::PadProbeReturn::Ok
        });
    let target = audio.clone();
    step("starting the audio session");
    let mut session = tokio::task::spawn_blocking(move || common::audio_session(&target))
        .await
        .expect("start task");
    until("audio encoded from PulseAudio", 10, || {
        encoded.load(Ordering::SeqCst) > 10
    })
    .await;

    first.kill();
    let killed_at = Instant::now();
    let lost = common::source_lost(&mut session, 15).await;
    assert!(!lost.is_empty());
    let recovery = tokio::spawn(audio_source::recover(audio.clone(), true));
    until("switched to silence", 10, || !audio.capturing()).await;
    let during_outage = encoded.load(Ordering::SeqCst);
    until("silence is encoded while PulseAudio is away", 10, || {
        encoded.load(Ordering::SeqCst) > during_outage + 50
    })
    .await;
    assert_eq!(
        audio.pipeline.current_state(),
        gst::State::Playing,
        "the session carries on"
    );

    let _second = Pulse::start(dir.path());
    let back_at = Instant::now();
    until("capturing from PulseAudio again", 40, || audio.capturing()).await;
    // A number for docs/reliability.md, not an assertion: it depends on the retry schedule.
    println!(
        "PulseAudio answered {:.1} s after it was killed; capturing again {:.2} s after that",
        back_at.duration_since(killed_at).as_secs_f64(),
        back_at.elapsed().as_secs_f64()
    );
    step("waiting for the recovery to end");
    tokio::time::timeout(Duration::from_secs(5), recovery)
        .await
        .expect("recovery ends once PulseAudio is back")
        .expect("recovery task");
    let source = audio
        .pipeline
        .by_name(audio_source::SOURCE)
        .and_then(|s| s.factory())
        .map(|f| f.name().to_string());
    assert_eq!(source.as_deref(), Some("pulsesrc"));
    let back = encoded.load(Ordering::SeqCst);
    until("audio encoded after PulseAudio returned", 10, || {
        encoded.load(Ordering::SeqCst) > back + 50
    })
    .await;
    step("stopping the session");
    tokio::task::spawn_blocking(move || session.shutdown())
        .await
        .expect("stopped");
    watchdog.done();
}
