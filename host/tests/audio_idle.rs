//! The audio capture pauses while nothing plays, with a real PulseAudio daemon started by the
//! test: with no stream on the monitored sink the `pulsesrc` is PAUSED and delivers nothing; a
//! `pacat` tone into the sink resumes it and its sound reaches the encoder; when the tone stops
//! it pauses again, and a second tone's first packet is marked `DISCONT` (the encoder re-bases
//! over the pause; source timestamps stay monotonic). Then PulseAudio is killed while paused:
//! the capture resumes so the session's recovery sees the loss, and pauses again once a new
//! daemon answers and `pulsesrc` is back.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::pulse::{Pulse, until, use_daemon_in};
use common::watchdog::{Watchdog, step};
use gstreamer as gst;
use gstreamer::prelude::*;
use selkies_host::media::pipeline::{AudioParams, AudioPipeline, build_audio};
use selkies_host::media::{audio_idle, audio_source};

/// A 440 Hz tone into `vsink` for as long as the child lives.
struct Tone(Child);

impl Tone {
    fn play(file: &Path) -> Tone {
        Tone(
            Command::new("pacat")
                .args([
                    "--raw",
                    "--format=s16le",
                    "--rate=48000",
                    "--channels=2",
                    "--device=vsink",
                ])
                .arg(file)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("pacat must be installed (pulseaudio-utils)"),
        )
    }
}

impl Drop for Tone {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `secs` of a loud stereo 440 Hz sine, raw S16LE at 48 kHz.
fn tone_file(dir: &Path, secs: u32) -> std::path::PathBuf {
    let path = dir.join(format!("tone{secs}.raw"));
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).expect("tone file"));
    for n in 0..48_000 * secs {
        let v = (f64::from(n) * 440.0 * std::f64::consts::TAU / 48_000.0).sin() * 12_000.0;
        let s = (v as i16).to_le_bytes();
        f.write_all(&[s[0], s[1], s[0], s[1]]).expect("write");
    }
    f.flush().expect("flush");
    path
}

fn source_state(audio: &AudioPipeline) -> Option<(String, gst::State)> {
    let s = audio.pipeline.by_name(audio_source::SOURCE)?;
    Some((s.factory()?.name().to_string(), s.current_state()))
}

fn pulse_in(audio: &AudioPipeline, state: gst::State) -> bool {
    source_state(audio) == Some(("pulsesrc".into(), state))
}

/// What the probes saw: buffers out of the source, the loud ones, their timestamps, and the
/// encoder's packets (the silence gate lets only sound through).
#[derive(Default)]
struct Seen {
    captured: AtomicU64,
    loud: AtomicU64,
    encoded: AtomicU64,
    encoded_discont: AtomicU64,
    backwards: AtomicBool,
    last_pts: Mutex<Option<gst::ClockTime>>,
}

fn probe(audio: &AudioPipeline) -> Arc<Seen> {
    let seen = Arc::new(Seen::default());
    let s = seen.clone();
    let caps = audio
        .pipeline
        .by_name(audio_source::SOURCE_CAPS)
        .expect("source caps");
    caps.static_pad("src").expect("caps src").add_probe(
        gst::PadProbeType::BUFFER,
        move |_, info| {
            if let Some(gst::PadProbeData::Buffer(b)) = &info.data {
                s.captured.fetch_add(1, Ordering::SeqCst);
                let mut last = s.last_pts.lock().unwrap();
                if let (Some(prev), Some(pts)) = (*last, b.pts())
                    && pts <= prev
                {
                    s.backwards.store(true, Ordering::SeqCst);
                }
                *last = b.pts().or(*last);
                if let Ok(map) = b.map_readable()
                    && map
                        .chunks_exact(2)
                        .any(|x| i16::from_le_bytes([x[0], x[1]]).unsigned_abs() > 1000)
                {
                    s.loud.fetch_add(1, Ordering::SeqCst);
                }
            }
            gst::PadProbeReturn::Ok
        },
    );
    let s = seen.clone();
    audio
        .opusenc
        .static_pad("src")
        .expect("opusenc src")
        .add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if let Some(gst::PadProbeData::Buffer(b)) = &info.data {
                s.encoded.fetch_add(1, Ordering::SeqCst);
                if b.flags().contains(gst::BufferFlags::DISCONT) {
                    s.encoded_discont.fetch_add(1, Ordering::SeqCst);
                }
            }
            gst::PadProbeReturn::Ok
        });
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capture_pauses_while_nothing_plays() {
    let limit = Duration::from_secs(240);
    let watchdog = Watchdog::arm("capture_pauses_while_nothing_plays", limit);
    gst::init().expect("gst init");
    let dir = tempfile::tempdir().expect("tempdir");
    use_daemon_in(dir.path());
    // SAFETY: as in `use_daemon_in`: no other thread of this binary reads the environment yet.
    unsafe {
        std::env::remove_var(audio_idle::DISABLE_ENV);
    }
    let pulse = Pulse::start(dir.path());
    let tone = tone_file(dir.path(), 60);
    let one_second = tone_file(dir.path(), 1);

    let params = |silence_ms| AudioParams {
        bitrate_bps: 64000,
        channels: 2,
        packetloss_percent: 0.0,
        silence_ms,
    };
    // `--audio_silence_ms=0` asks for continuous audio: no pause.
    let continuous = build_audio(&params(0)).expect("audio pipeline");
    assert!(audio_idle::watch(&continuous).is_none());
    drop(continuous);

    let audio = build_audio(&params(300)).expect("audio pipeline");
    assert!(audio.live_source);
    let seen = probe(&audio);
    let target = audio.clone();
    step("starting the audio session");
    let mut session = tokio::task::spawn_blocking(move || common::audio_session(&target))
        .await
        .expect("start task");
    let _watch = audio_idle::watch(&audio).expect("the watch runs");

    // Nothing plays: the source pauses and delivers nothing more.
    until("capture paused with nothing playing", 15, || {
        pulse_in(&audio, gst::State::Paused)
    })
    .await;
    step("reading the pause state");
    assert!(audio.pause.paused());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = seen.captured.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        seen.captured.load(Ordering::SeqCst),
        before,
        "no buffer while paused"
    );
    assert_eq!(seen.encoded.load(Ordering::SeqCst), 0, "nothing encoded");

    // A stream starts: capture resumes and its sound is encoded.
    let (loud0, enc0) = (
        seen.loud.load(Ordering::SeqCst),
        seen.encoded.load(Ordering::SeqCst),
    );
    let player = Tone::play(&tone);
    until("capture resumed for the tone", 15, || {
        pulse_in(&audio, gst::State::Playing)
    })
    .await;
    until("the tone reaches the encoder", 15, || {
        seen.loud.load(Ordering::SeqCst) > loud0 + 50
            && seen.encoded.load(Ordering::SeqCst) > enc0 + 50
    })
    .await;
    assert!(!audio.pause.paused());

    // The stream ends: capture pauses again.
    drop(player);
    until("capture paused after the tone", 15, || {
        pulse_in(&audio, gst::State::Paused)
    })
    .await;

    // A one-second tone played to its end: the first packet after this pause is marked for the
    // encoder to re-base, and none of the tone's beginning is lost to the resume.
    let (loud1, discont1) = (
        seen.loud.load(Ordering::SeqCst),
        seen.encoded_discont.load(Ordering::SeqCst),
    );
    let mut player = Tone::play(&one_second);
    step("playing a one-second tone to its end");
    let done = tokio::task::spawn_blocking(move || player.0.wait().map(|s| s.success()));
    let played = tokio::time::timeout(Duration::from_secs(15), done).await;
    assert!(
        matches!(played, Ok(Ok(Ok(true)))),
        "pacat played the tone: {played:?}"
    );
    until("a re-based packet after the pause", 15, || {
        seen.encoded_discont.load(Ordering::SeqCst) > discont1
    })
    .await;
    until("capture paused after the second tone", 15, || {
        pulse_in(&audio, gst::State::Paused)
    })
    .await;
    // 1 s is 100 buffers of 10 ms (101 when not aligned to them); allow 30 ms for rounding.
    let loud = seen.loud.load(Ordering::SeqCst) - loud1;
    println!("one-second tone: {loud} loud 10 ms buffers captured");
    assert!(
        loud >= 97,
        "the tone's start was lost: {loud} of ~100 buffers"
    );
    assert!(
        !seen.backwards.load(Ordering::SeqCst),
        "source timestamps stay monotonic across pauses"
    );
    assert_eq!(audio.pipeline.current_state(), gst::State::Playing);

    // PulseAudio dies while the capture is paused: the capture resumes, so the session's
    // recovery sees the loss and carries on with silence...
    drop(pulse);
    let lost = common::source_lost(&mut session, 20).await;
    assert!(!lost.is_empty());
    step("reading the pause state after the loss");
    assert!(!audio.pause.paused(), "capturing while PulseAudio is away");
    let recovery = tokio::spawn(audio_source::recover(audio.clone(), true));
    until("switched to silence", 10, || !audio.capturing()).await;

    // ...and once a daemon answers, pulsesrc is back and pauses again (nothing plays).
    let _pulse = Pulse::start(dir.path());
    until("capturing from PulseAudio again", 40, || audio.capturing()).await;
    step("waiting for the recovery to end");
    let _ = tokio::time::timeout(Duration::from_secs(5), recovery).await;
    until("paused again on the new daemon", 40, || {
        pulse_in(&audio, gst::State::Paused)
    })
    .await;
    let player = Tone::play(&tone);
    until("resumed on the new daemon", 15, || {
        pulse_in(&audio, gst::State::Playing)
    })
    .await;
    drop(player);
    assert_eq!(audio.pipeline.current_state(), gst::State::Playing);
    step("stopping the session");
    tokio::task::spawn_blocking(move || session.shutdown())
        .await
        .expect("stopped");
    watchdog.done();
}
