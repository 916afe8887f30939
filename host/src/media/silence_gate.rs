//! The audio silence gate (docs/benchmarks.md "Audio"): a desktop that plays nothing still
//! captures 100 buffers a second from the PulseAudio monitor, and encoding them costs about as
//! much as capturing. Once the monitor has been (near-)digital silence for `--audio_silence_ms`,
//! the gate stops feeding `opusenc` — nothing is sent, as with Opus DTX, on both transports —
//! and the very first buffer with sound passes at once, marked `DISCONT` so the encoder
//! re-bases its timestamps over the gap (the browser sees a timestamp jump, as after DTX).
//!
//! [`SilenceGate`] is the pure detector (S16LE samples in, a verdict out); [`install`] puts it
//! on the encoder's sink pad as a pad probe. When the capture itself was paused because nothing
//! played ([`super::audio_idle`]), [`GateCounts::close_before_next`] makes the first buffer after
//! it count as following a gated stretch: sound passes as a `DISCONT` resume, silence is dropped.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use gstreamer as gst;
use gstreamer::prelude::*;
use tracing::debug;

/// Samples at or below this magnitude count as silence: about -66 dBFS, the noise floor of
/// a 16-bit monitor with nothing playing (digital silence is 0; a resampler's dither stays
/// within a few steps).
pub const THRESHOLD: u16 = 16;

/// What to do with one buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Encode it.
    Pass,
    /// Encode it: the first sound after a gated stretch (mark it discontinuous).
    Resume,
    /// Drop it: silence for longer than the hold.
    Drop,
}

/// The detector: silence longer than `hold_ns` is dropped; anything louder than the threshold
/// passes the moment it arrives.
#[derive(Debug, Clone)]
pub struct SilenceGate {
    threshold: u16,
    hold_ns: u64,
    silent_ns: u64,
    gated: bool,
}

impl SilenceGate {
    /// A gate that closes after `hold_ms` of silence; 0 never closes.
    pub fn new(hold_ms: u32, threshold: u16) -> Self {
        Self {
            threshold,
            hold_ns: u64::from(hold_ms) * 1_000_000,
            silent_ns: 0,
            gated: false,
        }
    }

    /// Whether silence is being dropped now.
    pub fn gated(&self) -> bool {
        self.gated
    }

    /// Treat what comes next as following a gated stretch (the capture was paused): silence is
    /// dropped at once and the first sound is a [`Verdict::Resume`]. Does nothing for a zero hold.
    pub fn close(&mut self) {
        if self.hold_ns > 0 {
            self.gated = true;
            self.silent_ns = self.hold_ns;
        }
    }

    /// Judge one buffer of interleaved S16LE PCM lasting `duration_ns`.
    pub fn feed(&mut self, pcm: &[u8], duration_ns: u64) -> Verdict {
        if self.hold_ns == 0 {
            return Verdict::Pass;
        }
        let loud = pcm
            .chunks_exact(2)
            .any(|s| i16::from_le_bytes([s[0], s[1]]).unsigned_abs() > self.threshold);
        if loud {
            self.silent_ns = 0;
            return if std::mem::replace(&mut self.gated, false) {
                Verdict::Resume
            } else {
                Verdict::Pass
            };
        }
        self.silent_ns = self.silent_ns.saturating_add(duration_ns);
        if self.gated || self.silent_ns > self.hold_ns {
            self.gated = true;
            Verdict::Drop
        } else {
            Verdict::Pass
        }
    }
}

/// Buffers the gate dropped, for logs and benchmarks, and the capture pause's request.
#[derive(Debug, Default)]
pub struct GateCounts {
    pub dropped: AtomicU64,
    pub resumed: AtomicU64,
    /// Set by [`Self::close_before_next`]; the probe closes the gate before the next buffer.
    close: AtomicBool,
}

impl GateCounts {
    /// Close the gate before judging the next buffer ([`SilenceGate::close`]): called just before
    /// a paused capture resumes, while its streaming thread waits, so the next buffer is the
    /// first one after the pause.
    pub fn close_before_next(&self) {
        self.close.store(true, Ordering::SeqCst);
    }
}

/// Put a gate closing after `hold_ms` on `encoder`'s sink pad (does nothing for 0). The caps
/// before the encoder are S16LE (what `opusenc` takes); a buffer that cannot be read passes.
pub fn install(encoder: &gst::Element, hold_ms: u32) -> Option<Arc<GateCounts>> {
    if hold_ms == 0 {
        return None;
    }
    let pad = encoder.static_pad("sink")?;
    let counts = Arc::new(GateCounts::default());
    let seen = counts.clone();
    // Probes are `Fn`; only the encoder's streaming thread takes this lock.
    let gate = std::sync::Mutex::new(SilenceGate::new(hold_ms, THRESHOLD));
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        let Some(gst::PadProbeData::Buffer(buffer)) = info.data.as_mut() else {
            return gst::PadProbeReturn::Ok;
        };
        let duration = buffer
            .duration()
            .map_or(10_000_000, gst::ClockTime::nseconds);
        let verdict = match buffer.map_readable() {
            Ok(map) => {
                let mut gate = crate::sync::lock(&gate);
                if seen.close.swap(false, Ordering::SeqCst) {
                    gate.close();
                }
                gate.feed(map.as_slice(), duration)
            }
            Err(_) => Verdict::Pass,
        };
        match verdict {
            Verdict::Pass => gst::PadProbeReturn::Ok,
            Verdict::Resume => {
                seen.resumed.fetch_add(1, Ordering::Relaxed);
                debug!("audio: sound after silence, encoding again");
                buffer.make_mut().set_flags(gst::BufferFlags::DISCONT);
                gst::PadProbeReturn::Ok
            }
            Verdict::Drop => {
                if seen.dropped.fetch_add(1, Ordering::Relaxed) == 0 {
                    debug!("audio: silent monitor, encoding paused");
                }
                // gstreamer-rs (0.25) hands a buffer left in place back to GStreamer as NULL on
                // `Drop`, which GStreamer then unrefs: one CRITICAL log line per dropped buffer,
                // 100 a second. Consuming it here and answering `Handled` drops it cleanly.
                info.data = None;
                gst::PadProbeReturn::Handled
            }
        }
    });
    Some(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEN_MS: u64 = 10_000_000;

    fn pcm(samples: &[i16]) -> Vec<u8> {
        samples.iter().flat_map(|s| s.to_le_bytes()).collect()
    }

    #[test]
    fn silence_passes_for_the_hold_then_drops() {
        let mut g = SilenceGate::new(50, THRESHOLD);
        let quiet = pcm(&[0; 960]);
        let verdicts: Vec<_> = (0..8).map(|_| g.feed(&quiet, TEN_MS)).collect();
        assert_eq!(&verdicts[..5], &[Verdict::Pass; 5], "within the hold");
        assert_eq!(&verdicts[5..], &[Verdict::Drop; 3], "past the hold");
        assert!(g.gated());
    }

    #[test]
    fn the_first_sound_passes_at_once_and_marks_the_resume() {
        let mut g = SilenceGate::new(20, THRESHOLD);
        let quiet = pcm(&[0; 960]);
        for _ in 0..10 {
            g.feed(&quiet, TEN_MS);
        }
        let mut one_click = vec![0i16; 960];
        one_click[959] = 2000;
        assert_eq!(g.feed(&pcm(&one_click), TEN_MS), Verdict::Resume);
        assert!(!g.gated());
        assert_eq!(g.feed(&pcm(&[-3000; 960]), TEN_MS), Verdict::Pass);
        // A short pause inside the sound (shorter than the hold) is encoded.
        assert_eq!(g.feed(&quiet, TEN_MS), Verdict::Pass);
        assert_eq!(g.feed(&quiet, TEN_MS), Verdict::Pass);
        assert_eq!(g.feed(&quiet, TEN_MS), Verdict::Drop);
    }

    #[test]
    fn near_silence_counts_as_silence_and_extremes_as_sound() {
        let mut g = SilenceGate::new(10, THRESHOLD);
        let dither = pcm(&[16, -16, 3, -1, 0, 7]);
        assert_eq!(g.feed(&dither, TEN_MS), Verdict::Pass);
        assert_eq!(g.feed(&dither, TEN_MS), Verdict::Drop);
        assert_eq!(g.feed(&pcm(&[i16::MIN]), TEN_MS), Verdict::Resume);
        assert_eq!(g.feed(&pcm(&[17]), TEN_MS), Verdict::Pass);
    }

    #[test]
    fn a_closed_gate_drops_silence_and_resumes_on_sound() {
        let mut g = SilenceGate::new(300, THRESHOLD);
        let quiet = pcm(&[0; 960]);
        assert_eq!(g.feed(&pcm(&[900; 960]), TEN_MS), Verdict::Pass);
        // The capture was paused right after sound: nothing in between reached the gate.
        g.close();
        assert!(g.gated());
        assert_eq!(
            g.feed(&quiet, TEN_MS),
            Verdict::Drop,
            "silence after the pause"
        );
        assert_eq!(g.feed(&pcm(&[900; 960]), TEN_MS), Verdict::Resume);
        g.close();
        assert_eq!(g.feed(&pcm(&[900; 960]), TEN_MS), Verdict::Resume);
        // A zero hold never gates, closed or not.
        let mut off = SilenceGate::new(0, THRESHOLD);
        off.close();
        assert!(!off.gated());
        assert_eq!(off.feed(&quiet, TEN_MS), Verdict::Pass);
    }

    #[test]
    fn a_zero_hold_never_gates_and_odd_bytes_are_ignored() {
        let mut g = SilenceGate::new(0, THRESHOLD);
        for _ in 0..1000 {
            assert_eq!(g.feed(&[0; 7], TEN_MS), Verdict::Pass);
        }
        let mut g = SilenceGate::new(10, THRESHOLD);
        assert_eq!(g.feed(&[], TEN_MS), Verdict::Pass);
        assert_eq!(
            g.feed(&[0xff], TEN_MS),
            Verdict::Drop,
            "a lone byte is no sample"
        );
    }
}
