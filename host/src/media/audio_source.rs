//! Keeping the audio stream alive across PulseAudio restarts. The audio pipeline's source is one
//! element (`audiosrc`) in front of a fixed capsfilter; when PulseAudio dies the session swaps
//! in live silence, so the peer connection, its RTP stream and the video all carry on, and a
//! recovery task probes PulseAudio with backoff and swaps `pulsesrc` back when it answers. The
//! same task runs when PulseAudio was absent when the session started.
//!
//! The pipeline runs on the system clock (pulsesrc `provide-clock=false`): a clock provided by a
//! source that died would stop the whole pipeline. While nothing plays the capture may be paused
//! ([`super::audio_idle`]); a `pulsesrc` swapped in then starts paused.

use std::sync::atomic::Ordering;
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;
use tracing::{debug, info, warn};

use super::pipeline::{AudioPipeline, MediaError};

/// Name of the source element inside the audio pipeline.
pub const SOURCE: &str = "audiosrc";
/// Name of the capsfilter the source feeds.
pub const SOURCE_CAPS: &str = "audiosrccaps";

/// Source description: PulseAudio capture in 10 ms segments, one Opus frame each. Capture
/// wakes once a segment whether or not anything plays, and on a silent desktop (the silence
/// gate stops the encoder) those wake-ups are the audio's whole cost: 5 ms segments cost about
/// twice as much for at most 5 ms less delay on the last sample of a frame (docs/benchmarks.md
/// "Audio").
pub fn pulse_source() -> String {
    // With the virtual microphone as the default source, desktop audio is named explicitly.
    let device = crate::mic::device::capture_device()
        .map(|d| format!(" device=\"{}\"", d.replace(['"', '\\'], "")))
        .unwrap_or_default();
    format!(
        "pulsesrc name={SOURCE} provide-clock=false do-timestamp=false buffer-time=100000 \
         latency-time=10000{device}"
    )
}

/// Source description: live silence, so the stream keeps its timing without PulseAudio.
pub fn silence_source() -> String {
    format!("audiotestsrc name={SOURCE} is-live=true wave=silence")
}

/// True when a PulseAudio server answers: pulsesrc connects while going to READY. Blocks
/// (up to PulseAudio's connect timeout): call it off the async workers.
pub fn pulse_available() -> Result<(), String> {
    let probe = gst::ElementFactory::make("pulsesrc")
        .build()
        .map_err(|e| format!("pulsesrc element missing: {e}"))?;
    let res = probe.set_state(gst::State::Ready);
    let _ = probe.set_state(gst::State::Null);
    res.map(|_| ())
        .map_err(|_| "no PulseAudio server answered (check PULSE_SERVER / XDG_RUNTIME_DIR)".into())
}

impl AudioPipeline {
    /// Whether PulseAudio (not silence) feeds the stream now.
    pub fn capturing(&self) -> bool {
        self.capturing.load(Ordering::SeqCst)
    }

    /// Replace the source with the element `desc` describes, in the running pipeline. Blocks on
    /// state changes: call it off the async workers.
    pub fn replace_source(&self, desc: &str) -> Result<(), MediaError> {
        // Held through the swap so a pause cannot land on the element being replaced.
        let paused = self.pause.hold();
        let caps = self
            .pipeline
            .by_name(SOURCE_CAPS)
            .ok_or(MediaError::MissingElement(SOURCE_CAPS))?;
        if let Some(old) = self.pipeline.by_name(SOURCE) {
            let _ = old.set_state(gst::State::Null);
            old.unlink(&caps);
            let _ = self.pipeline.remove(&old);
        }
        let new = gst::parse::bin_from_description(desc, false)
            .map_err(|source| MediaError::Build {
                what: "audio source",
                source,
            })?
            .by_name(SOURCE)
            .ok_or(MediaError::MissingElement(SOURCE))?;
        if let Some(parent) = new.parent().and_then(|p| p.downcast::<gst::Bin>().ok()) {
            let _ = parent.remove(&new);
        }
        self.pipeline
            .add(&new)
            .map_err(|_| MediaError::MissingElement(SOURCE))?;
        new.link(&caps)
            .map_err(|_| MediaError::MissingElement(SOURCE_CAPS))?;
        match super::audio_idle::state_for_new(&new, *paused) {
            Some(state) => new.set_state(state).map(|_| ()),
            None => new
                .sync_state_with_parent()
                .map_err(|_| gst::StateChangeError),
        }
        .map_err(|_| MediaError::MissingElement(SOURCE))?;
        Ok(())
    }

    /// PulseAudio went away: carry on with silence.
    pub fn use_silence(&self) -> Result<(), MediaError> {
        self.capturing.store(false, Ordering::SeqCst);
        self.replace_source(&silence_source())
    }

    /// PulseAudio answers again: capture from it.
    pub fn use_pulse(&self) -> Result<(), MediaError> {
        if let Err(e) = self.replace_source(&pulse_source()) {
            // Never leave the stream without a source.
            let _ = self.replace_source(&silence_source());
            return Err(e);
        }
        self.capturing.store(true, Ordering::SeqCst);
        Ok(())
    }
}

/// Delay before the n-th probe of PulseAudio (0-based): 1, 2, 4, 8, then every 10 s.
pub fn retry_delay(attempt: u32) -> Duration {
    Duration::from_secs((1u64 << attempt.min(4)).min(10))
}

/// Run on the async runtime while a session lives: when `lost` is true PulseAudio just died
/// (the source is swapped for silence first). Probes PulseAudio with backoff on the blocking
/// pool and swaps it back in when it answers. Ends when PulseAudio is back or the pipeline stops.
pub async fn recover(audio: AudioPipeline, lost: bool) {
    if lost {
        warn!("audio: PulseAudio went away; sending silence and retrying (video is unaffected)");
        let a = audio.clone();
        match tokio::task::spawn_blocking(move || a.use_silence()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                warn!("audio: cannot switch to silence: {e}");
                return;
            }
            Err(e) => {
                warn!("audio: switch task failed: {e}");
                return;
            }
        }
    }
    let mut attempt = 0;
    loop {
        tokio::time::sleep(retry_delay(attempt)).await;
        attempt += 1;
        if audio.pipeline.current_state() != gst::State::Playing {
            debug!("audio: session ended; PulseAudio retry stopped");
            return;
        }
        let probe = tokio::task::spawn_blocking(pulse_available).await;
        if !matches!(probe, Ok(Ok(()))) {
            continue;
        }
        let a = audio.clone();
        match tokio::task::spawn_blocking(move || a.use_pulse()).await {
            Ok(Ok(())) => {
                info!(attempt, "audio: PulseAudio is back; capturing again");
                return;
            }
            Ok(Err(e)) => warn!("audio: PulseAudio answered but capture failed: {e}"),
            Err(e) => warn!("audio: switch task failed: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_ten_seconds() {
        let delays: Vec<u64> = (0..7).map(|a| retry_delay(a).as_secs()).collect();
        assert_eq!(delays, vec![1, 2, 4, 8, 10, 10, 10]);
    }
}
