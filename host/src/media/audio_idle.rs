//! Pausing the desktop-audio capture while nothing plays (docs/benchmarks.md "Audio"). The
//! silence gate ([`super::silence_gate`]) stops the encoder on a silent desktop, but `pulsesrc`
//! still wakes 100 times a second to read the monitor's silence, which is most of what a silent
//! desktop's audio costs. So a watch follows PulseAudio's playback streams
//! ([`super::pulse_streams`]: `pactl subscribe`, then `pactl list`) and, once no uncorked stream
//! has played into the monitored sink for [`GRACE`], sets the source to PAUSED: `pulsesrc` corks
//! its record stream and its threads sleep. A new (or changed) stream resumes it at once, before
//! the listing confirms it: a sink-input appears before its client's first samples are mixed,
//! so nothing audible is lost.
//!
//! The first buffer after a pause is judged as after a gated stretch (the gate is closed before
//! the source plays again): sound passes marked `DISCONT`, so `opusenc` re-bases its timestamps
//! over the gap; `pulsesrc` stamps buffers from the pipeline clock, so they stay monotonic.
//! The pause is kept across the PulseAudio recovery of [`super::audio_source`] (a `pulsesrc`
//! swapped in while paused starts paused); when PulseAudio goes away the watch resumes the
//! capture (so recovery sees the source's errors) and follows again once a server answers. A
//! `pactl subscribe` left spinning by a server that died mid-event (a libpulse fault) is noticed
//! from its CPU time within [`SPIN_CHECK`] and ended the same way.
//!
//! Off with `--audio_silence_ms=0` (the user asked for continuous audio) or with
//! `SELKIES_AUDIO_IDLE_PAUSE=0`; without `pactl` or PulseAudio it logs one warning and the
//! capture runs as it always did.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use tokio::io::{AsyncBufReadExt, BufReader};
use tracing::{debug, info, warn};

use super::audio_source::{SOURCE, retry_delay};
use super::pipeline::AudioPipeline;
use super::pulse_streams::{self, Change, Facility, Playing, StreamsError};
use crate::mic::device::PactlError;

/// Environment variable that turns the pause off (`0`, `false`, `no`, `off`).
pub const DISABLE_ENV: &str = "SELKIES_AUDIO_IDLE_PAUSE";
/// How long nothing must play before the capture pauses: rides over a player moving from one
/// track's stream to the next, and lets the last mixed samples through.
pub const GRACE: Duration = Duration::from_millis(500);
/// Events closer together than this (a stream's creation is several) make one listing.
const COALESCE: Duration = Duration::from_millis(20);
/// How often the subscription's `pactl` is checked for spinning ([`pulse_streams::SpinCheck`]).
const SPIN_CHECK: Duration = Duration::from_secs(10);
/// Whether the missing-`pactl` warning was logged (once per process).
static PACTL_MISSING_WARNED: AtomicBool = AtomicBool::new(false);

/// Whether the capture is paused; the lock orders pauses against source swaps.
#[derive(Debug, Default)]
pub struct PauseState {
    paused: std::sync::Mutex<bool>,
}

impl PauseState {
    /// Whether the capture is (to be) paused now.
    pub fn paused(&self) -> bool {
        *crate::sync::lock(&self.paused)
    }

    /// Hold the state while swapping sources: a `pulsesrc` added while paused starts paused.
    pub fn hold(&self) -> std::sync::MutexGuard<'_, bool> {
        crate::sync::lock(&self.paused)
    }
}

/// What one `pactl subscribe` event asks of the watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A playback stream appeared or changed (uncorked, moved): resume now, then list.
    ResumeThenList,
    /// Something that may end playback on the monitored sink: list the streams.
    List,
    /// Not about playback (our own record stream, clients, modules).
    Nothing,
}

/// The step for one `pactl subscribe` line.
pub fn step(line: &str) -> Step {
    match pulse_streams::parse_event(line) {
        Some(e) if e.facility == Facility::SinkInput && e.change != Change::Remove => {
            Step::ResumeThenList
        }
        Some(e) if e.facility != Facility::Other => Step::List,
        _ => Step::Nothing,
    }
}

/// Whether `value` of [`DISABLE_ENV`] turns the pause off.
pub fn disabled_by(value: Option<&str>) -> bool {
    value.is_some_and(|v| {
        ["0", "false", "no", "off"]
            .iter()
            .any(|off| v.trim().eq_ignore_ascii_case(off))
    })
}

/// When to pause and resume, from what the listings say (pure; times are inputs).
#[derive(Debug, Clone)]
pub struct Policy {
    grace: Duration,
    paused: bool,
    idle_since: Option<Instant>,
}

impl Policy {
    pub fn new(grace: Duration, paused: bool) -> Self {
        Self {
            grace,
            paused,
            idle_since: None,
        }
    }

    /// Whether the capture should be paused now.
    pub fn paused(&self) -> bool {
        self.paused
    }

    /// A stream appeared: capture at once. True when that is a change.
    pub fn wake(&mut self) -> bool {
        self.idle_since = None;
        std::mem::replace(&mut self.paused, false)
    }

    /// A listing said whether anything plays on the monitored sink.
    pub fn listed(&mut self, playing: bool, now: Instant) {
        if playing {
            self.idle_since = None;
            self.paused = false;
        } else if !self.paused && self.idle_since.is_none() {
            self.idle_since = Some(now);
        }
    }

    /// When the capture is due to pause, if nothing plays.
    pub fn deadline(&self) -> Option<Instant> {
        self.idle_since
            .filter(|_| !self.paused)
            .map(|t| t + self.grace)
    }

    /// Pause when the grace has run out. True when that is a change.
    pub fn tick(&mut self, now: Instant) -> bool {
        if self.deadline().is_some_and(|d| d <= now) {
            self.idle_since = None;
            self.paused = true;
            return true;
        }
        false
    }
}

/// Why the source's state could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum PauseError {
    #[error("the PulseAudio source refused to go to {0:?}")]
    StateChange(gst::State),
}

fn is_pulse(source: &gst::Element) -> bool {
    source.factory().is_some_and(|f| f.name() == "pulsesrc")
}

/// The state a `pulsesrc` added to the running pipeline gets ([`AudioPipeline::replace_source`]).
pub fn state_for_new(source: &gst::Element, paused: bool) -> Option<gst::State> {
    (paused && is_pulse(source)).then_some(gst::State::Paused)
}

/// Pause or resume the PulseAudio capture. True when the source changed state; a silence
/// source (PulseAudio away) or a pipeline that is not (or no longer) playing is left alone.
/// Blocking: call it off the async workers.
pub fn set_paused(audio: &AudioPipeline, paused: bool) -> Result<bool, PauseError> {
    let mut state = audio.pause.hold();
    *state = paused;
    let Some(source) = audio.pipeline.by_name(SOURCE).filter(is_pulse) else {
        return Ok(false);
    };
    let playing = audio.pipeline.current_state() == gst::State::Playing
        && audio.pipeline.pending_state() == gst::State::VoidPending;
    let target = if paused {
        gst::State::Paused
    } else {
        gst::State::Playing
    };
    if !playing || source.current_state() == target {
        return Ok(false);
    }
    if !paused && let Some(gate) = &audio.gate {
        // The streaming thread waits for PLAYING: the next buffer is the first after the pause.
        gate.close_before_next();
    }
    if source.set_state(target).is_err() {
        if !paused {
            // PulseAudio died while the stream was corked: let the session's recovery run.
            let msg = gst::error_msg!(
                gst::ResourceError::Read,
                ["the PulseAudio capture could not resume"]
            );
            source.post_error_message(msg);
        }
        return Err(PauseError::StateChange(target));
    }
    Ok(true)
}

/// The running watch; dropping it stops the watch (and its `pactl`).
#[must_use = "the watch stops when dropped"]
pub struct Watch(tokio::task::JoinHandle<()>);

impl Drop for Watch {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Start pausing `audio`'s capture while nothing plays, unless it is turned off. Call on the
/// async runtime once the pipeline was started.
pub fn watch(audio: &AudioPipeline) -> Option<Watch> {
    if audio.gate.is_none() {
        debug!("audio: --audio_silence_ms=0, capturing continuously");
        return None;
    }
    if disabled_by(std::env::var(DISABLE_ENV).ok().as_deref()) {
        debug!("audio: {DISABLE_ENV} is off, capturing continuously");
        return None;
    }
    Some(Watch(tokio::spawn(run(audio.clone()))))
}

async fn apply(audio: &AudioPipeline, paused: bool) {
    let a = audio.clone();
    match tokio::task::spawn_blocking(move || set_paused(&a, paused)).await {
        Ok(Ok(true)) if paused => debug!("audio: nothing plays, capture paused"),
        Ok(Ok(true)) => debug!("audio: a stream plays, capture resumed"),
        Ok(Ok(false)) => {}
        Ok(Err(e)) => debug!("audio: {e}"),
        Err(e) => debug!("audio: pause task failed: {e}"),
    }
}

/// Follows PulseAudio for as long as the session lives (the [`Watch`] is dropped with it).
async fn run(audio: AudioPipeline) {
    // Sessions start the pipeline on the blocking pool: pause nothing before it plays.
    while audio.pipeline.current_state() != gst::State::Playing {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut warned = false;
    let mut attempt = 0;
    loop {
        let mut said = None;
        match follow(&audio, &mut said).await {
            Ok(()) => {
                debug!("audio: PulseAudio's stream events ended; capturing until it answers");
                attempt = 0;
            }
            Err(e) => {
                // PulseAudio away: audio_source.rs has warned already and retries on its own.
                // No pactl (the tarball does not ship it): once per process, not per session.
                let missing = e.pactl_missing();
                let first_missing = missing && !PACTL_MISSING_WARNED.swap(true, Ordering::Relaxed);
                if first_missing || (!missing && !warned && audio.capturing()) {
                    warn!(
                        "audio: cannot follow PulseAudio's streams ({e}); capturing continuously"
                    );
                    warned = true;
                } else {
                    debug!("audio: cannot follow PulseAudio's streams yet: {e}");
                }
                if missing {
                    // No pactl: nothing will change. Today's always-on capture.
                    apply(&audio, false).await;
                    return;
                }
            }
        }
        // PulseAudio went away: capture as before, so the source's errors reach the recovery.
        apply(&audio, false).await;
        tokio::time::sleep(retry_delay(attempt)).await;
        attempt += 1;
        if audio.pipeline.current_state() != gst::State::Playing {
            return;
        }
    }
}

/// One `pactl subscribe`: list now, then on every event that may change playback. Returns when
/// the subscription ends; an error when it cannot start or the first listing fails.
async fn follow(audio: &AudioPipeline, said: &mut Option<Playing>) -> Result<(), StreamsError> {
    let mut child = pulse_streams::subscribe()?;
    let stdout = child.stdout.take().ok_or_else(|| {
        StreamsError::Pactl(PactlError::Spawn(std::io::Error::other(
            "pactl subscribe has no stdout",
        )))
    })?;
    let mut lines = BufReader::new(stdout).lines();
    let mut spin = pulse_streams::SpinCheck::new(child.id());
    let mut check = tokio::time::interval_at((Instant::now() + SPIN_CHECK).into(), SPIN_CHECK);
    check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut policy = Policy::new(GRACE, audio.pause.paused());
    list(audio, &mut policy, said).await?;
    loop {
        let due = policy.deadline();
        let line = tokio::select! {
            line = lines.next_line() => line,
            () = async {
                match due {
                    Some(due) => tokio::time::sleep_until(due.into()).await,
                    None => std::future::pending().await,
                }
            } => {
                if policy.tick(Instant::now()) {
                    apply(audio, true).await;
                }
                continue;
            }
            _ = check.tick() => {
                if spin.busy() {
                    // Dropping the child kills it; the caller resumes the capture and retries.
                    warn!("audio: `pactl subscribe` spins at full CPU (PulseAudio went away \
                           mid-event); ending it");
                    return Ok(());
                }
                continue;
            }
        };
        let Ok(Some(line)) = line else {
            return Ok(());
        };
        let mut wanted = step(&line);
        if wanted == Step::Nothing {
            continue;
        }
        if wanted == Step::ResumeThenList && policy.wake() {
            apply(audio, false).await;
        }
        // The rest of a burst, resuming at once if a stream is among it.
        while let Ok(Ok(Some(more))) = tokio::time::timeout(COALESCE, lines.next_line()).await {
            wanted = step(&more);
            if wanted == Step::ResumeThenList && policy.wake() {
                apply(audio, false).await;
            }
        }
        if let Err(e) = list(audio, &mut policy, said).await {
            // PulseAudio is going away; the subscription ends next.
            debug!("audio: listing PulseAudio's streams: {e}");
            if policy.wake() {
                apply(audio, false).await;
            }
        }
    }
}

/// Ask what plays and apply the answer (a pause only after the grace).
async fn list(
    audio: &AudioPipeline,
    policy: &mut Policy,
    said: &mut Option<Playing>,
) -> Result<(), StreamsError> {
    let now = tokio::task::spawn_blocking(pulse_streams::playing_now)
        .await
        .map_err(|e| StreamsError::Task(e.to_string()))??;
    let playing = match &now {
        Playing::Sink { playing, .. } => *playing,
        Playing::Unknown(_) => true,
    };
    // One line when what the capture follows changes, not one per listing.
    let followed = |p: &Playing| match p {
        Playing::Sink { name, .. } => Some(name.clone()),
        Playing::Unknown(source) => Some(format!("?{source}")),
    };
    if said.as_ref().and_then(followed) != followed(&now) {
        match &now {
            Playing::Sink { name, .. } => {
                info!(sink = %name, "audio: capture pauses while nothing plays on the sink")
            }
            Playing::Unknown(source) => {
                info!(%source, "audio: capture is no sink's monitor; capturing continuously")
            }
        }
    }
    *said = Some(now);
    policy.listed(playing, Instant::now());
    if !policy.paused() {
        apply(audio, false).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_to_steps() {
        assert_eq!(step("Event 'new' on sink-input #4"), Step::ResumeThenList);
        assert_eq!(
            step("Event 'change' on sink-input #4"),
            Step::ResumeThenList
        );
        assert_eq!(step("Event 'remove' on sink-input #4"), Step::List);
        assert_eq!(step("Event 'change' on sink #0"), Step::List);
        assert_eq!(step("Event 'remove' on sink #0"), Step::List);
        assert_eq!(step("Event 'change' on server"), Step::List);
        // Our own capture's record stream and its source change with every pause: no loop.
        assert_eq!(step("Event 'change' on source-output #3"), Step::Nothing);
        assert_eq!(step("Event 'change' on source #0"), Step::Nothing);
        assert_eq!(step("Event 'new' on client #9"), Step::Nothing);
        assert_eq!(step("garbage"), Step::Nothing);
    }

    #[test]
    fn the_env_switch() {
        for off in ["0", "false", "OFF", " no "] {
            assert!(disabled_by(Some(off)), "{off}");
        }
        for on in [None, Some("1"), Some("true"), Some("")] {
            assert!(!disabled_by(on), "{on:?}");
        }
    }

    #[test]
    fn pauses_after_the_grace_and_wakes_at_once() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut p = Policy::new(GRACE, false);
        p.listed(false, t0);
        assert_eq!(p.deadline(), Some(ms(500)));
        assert!(!p.tick(ms(499)) && !p.paused(), "within the grace");
        // A later listing that still finds nothing keeps the first deadline.
        p.listed(false, ms(300));
        assert!(p.tick(ms(500)) && p.paused());
        assert_eq!(p.deadline(), None, "paused: nothing is due");
        assert!(!p.tick(ms(5000)));
        // A new stream: resume before any listing.
        assert!(p.wake() && !p.paused());
        assert!(!p.wake(), "already capturing");
        // It was on another sink: pause again after a new grace.
        p.listed(false, ms(6000));
        assert!(!p.tick(ms(6400)));
        assert!(p.tick(ms(6500)));
    }

    #[test]
    fn playback_within_the_grace_cancels_the_pause() {
        let t0 = Instant::now();
        let mut p = Policy::new(GRACE, false);
        p.listed(false, t0);
        p.listed(true, t0 + Duration::from_millis(200));
        assert_eq!(p.deadline(), None);
        assert!(!p.tick(t0 + Duration::from_secs(10)) && !p.paused());
        // A listing that finds a stream resumes a paused capture too (an uncork seen late).
        let mut q = Policy::new(GRACE, true);
        q.listed(true, t0);
        assert!(!q.paused());
    }
}
