//! PulseAudio dying mid-stream, with a real PulseAudio daemon started and killed by the test:
//! the audio session carries on with silence (its peer connection and the video are untouched)
//! and captures from PulseAudio again by itself once a daemon answers on the same socket.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use selkies_host::media::audio_source;
use selkies_host::session::{IceServers, Session, SessionEvent, SessionOptions};

struct Pulse(Child);

impl Pulse {
    fn start(dir: &Path) -> Pulse {
        let sock = dir.join("native");
        let _ = std::fs::remove_file(&sock);
        let child = Command::new("pulseaudio")
            .args([
                "-n",
                "--daemonize=no",
                "--exit-idle-time=-1",
                "--disallow-exit",
                "--use-pid-file=no",
                &format!(
                    "--load=module-native-protocol-unix auth-anonymous=1 socket={}",
                    sock.display()
                ),
                "--load=module-null-sink sink_name=vsink",
            ])
            .env("HOME", dir)
            .env("XDG_RUNTIME_DIR", dir)
            .env("PULSE_RUNTIME_PATH", dir.join("runtime"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("pulseaudio must be installed (ci/install-deps)");
        let pulse = Pulse(child);
        for _ in 0..100 {
            if sock.exists() && audio_source::pulse_available().is_ok() {
                return pulse;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("PulseAudio did not start");
    }

    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Pulse {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Wait (bounded) until `cond` holds.
async fn until(what: &str, secs: u64, cond: impl Fn() -> bool) {
    for _ in 0..secs * 20 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what}: not within {secs} s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audio_survives_pulseaudio_restart() {
    gst::init().expect("gst init");
    let dir = tempfile::tempdir().expect("tempdir");
    // SAFETY: set before any thread of this test binary reads the environment (one test here).
    unsafe {
        std::env::set_var(
            "PULSE_SERVER",
            format!("unix:{}", dir.path().join("native").display()),
        );
    }
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
    let (pipe, webrtc) = (audio.pipeline.clone(), audio.webrtc.clone());
    let mut session = tokio::task::spawn_blocking(move || {
        Session::start(
            pipe,
            webrtc,
            SessionOptions {
                msid: "selkies-audio",
                data_channel: false,
                ice: IceServers::default(),
                fec_percent: 0,
                rtp_caps: None,
            },
        )
    })
    .await
    .expect("start task")
    .expect("session starts");
    until("audio encoded from PulseAudio", 10, || {
        encoded.load(Ordering::SeqCst) > 10
    })
    .await;

    first.kill();
    let killed_at = Instant::now();
    let lost = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            match session.events.recv().await {
                Some(SessionEvent::SourceLost(e)) => return e,
                Some(SessionEvent::Error(e)) => panic!("the session failed instead: {e}"),
                Some(_) => {}
                None => panic!("session gone"),
            }
        }
    })
    .await
    .expect("the source loss is reported");
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
    tokio::task::spawn_blocking(move || session.shutdown())
        .await
        .expect("stopped");
}
