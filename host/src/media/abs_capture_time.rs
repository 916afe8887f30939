//! The absolute-capture-time RTP header extension
//! (`http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time`), written on the first
//! packet of each video frame, so that the browser knows when the frame was captured and can
//! split glass-to-glass into the host's part and its own (docs/benchmarks.md, "Per-stage
//! timings").
//!
//! Wire format (16 bytes, one-byte header form): the capture time as a 64-bit NTP timestamp
//! (UQ32.32 seconds since 1900) in the sender's NTP clock, then the estimated offset between
//! the capture clock and the sender's NTP clock (Q32.32), which is 0 here: the host captures on
//! its own clock. Sending the offset, rather than the 8-byte form without it, is what makes
//! Chromium convert it into its own clock with its RTCP-based estimate of the sender's clock and
//! expose the result as `senderCaptureTimeOffset` next to `captureTimestamp` in
//! `RTCRtpReceiver.getSynchronizationSources()`. A receiver extrapolates the value for packets
//! without it (by RTP timestamp), so one packet per frame is enough.
//!
//! The capture time comes from `media/stage_timing.rs`, which matches each encoded frame to the
//! raw frame it came from: it stores the frame's PTS and wall-clock capture time in a
//! [`CaptureStamps`] slot just before the payloader splits the frame into packets.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use gstreamer as gst;
use gstreamer::glib;
use gstreamer::prelude::*;
use gstreamer::subclass::prelude::ObjectSubclassExt;
use gstreamer_rtp as gst_rtp;
use gstreamer_rtp::prelude::*;

use crate::sync::lock;

/// The URI announced in `a=extmap`.
pub const URI: &str = "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time";
/// The extension's id (allocated in `media/extmap.rs`).
pub const EXTMAP_ID: u32 = super::extmap::ABS_CAPTURE_TIME;
/// Encoded size: timestamp and clock offset.
pub const SIZE: usize = 16;
/// Seconds from the NTP epoch (1900) to the Unix epoch (1970).
const NTP_UNIX_OFFSET_S: u64 = 2_208_988_800;

/// `t` as a 64-bit NTP timestamp (UQ32.32). Times before 1970 become 0.
pub fn ntp64(t: SystemTime) -> u64 {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    let secs = d.as_secs().wrapping_add(NTP_UNIX_OFFSET_S);
    let frac = (u64::from(d.subsec_nanos()) << 32) / 1_000_000_000;
    (secs << 32) | frac
}

/// The Unix time in ms of an NTP timestamp (for tests and logs).
pub fn ntp_to_unix_ms(ntp: u64) -> f64 {
    let secs = (ntp >> 32) as f64 - NTP_UNIX_OFFSET_S as f64;
    let frac = (ntp & 0xffff_ffff) as f64 / 4_294_967_296.0;
    (secs + frac) * 1000.0
}

/// The 16-byte body: timestamp, then a zero clock offset, both big-endian.
pub fn encode(ntp: u64) -> [u8; SIZE] {
    let mut out = [0u8; SIZE];
    out[..8].copy_from_slice(&ntp.to_be_bytes());
    out
}

/// The timestamp and optional clock offset of an 8- or 16-byte body.
pub fn decode(data: &[u8]) -> Option<(u64, Option<i64>)> {
    let ts = u64::from_be_bytes(data.get(..8)?.try_into().ok()?);
    let offset = match data.len() {
        8 => None,
        16 => Some(i64::from_be_bytes(data.get(8..16)?.try_into().ok()?)),
        _ => return None,
    };
    Some((ts, offset))
}

/// The capture time of the frame about to be packetised: (PTS at the payloader in ns, NTP
/// capture time). Written by the stage timing probe, read by the extension.
#[derive(Clone, Default)]
pub struct CaptureStamps(Arc<Mutex<Option<(u64, u64)>>>);

impl CaptureStamps {
    pub fn set(&self, pts_ns: u64, captured: SystemTime) {
        *lock(&self.0) = Some((pts_ns, ntp64(captured)));
    }

    /// The NTP capture time of the frame with `pts_ns`, if it is the one last stamped.
    pub fn get(&self, pts_ns: u64) -> Option<u64> {
        lock(&self.0).and_then(|(p, ntp)| (p == pts_ns).then_some(ntp))
    }
}

mod imp {
    use std::sync::Mutex;

    use gstreamer as gst;
    use gstreamer::glib;
    use gstreamer::subclass::prelude::*;
    use gstreamer_rtp as gst_rtp;
    use gstreamer_rtp::subclass::prelude::*;

    use crate::sync::lock;

    #[derive(Default)]
    pub struct Ext {
        pub stamps: Mutex<super::CaptureStamps>,
        /// PTS of the frame whose first packet already carries the extension.
        pub last_pts: Mutex<Option<u64>>,
    }

    crate::media::hdrext::header_extension! {
        imp: Ext,
        wrapper: super::AbsCaptureTimeExt,
        name: "SelkiesRtpHdrExtAbsCaptureTime",
        long_name: "RTP absolute capture time header extension",
        description: "Writes each frame's capture time on its first packet",
        decode: super::decode,
        write: {
            fn write(
                &self,
                input: &gst::BufferRef,
                _flags: gst_rtp::RTPHeaderExtensionFlags,
                output: &gst::BufferRef,
                data: &mut [u8],
            ) -> Result<usize, gst::LoggableError> {
                let Some(pts) = input.pts().or_else(|| output.pts()).map(|p| p.nseconds()) else {
                    return Ok(0);
                };
                let mut last = lock(&self.last_pts);
                if *last == Some(pts) {
                    return Ok(0);
                }
                let Some(ntp) = lock(&self.stamps).get(pts) else {
                    return Ok(0);
                };
                let n = crate::media::hdrext::put(data, &super::encode(ntp), "abs-capture-time")?;
                *last = Some(pts);
                Ok(n)
            }
        }
    }
}

super::hdrext::header_extension_object!(AbsCaptureTimeExt, stamps: CaptureStamps);

/// Adds the extension to `payloader`; it writes the times `stamps` holds.
pub fn attach(payloader: &gst::Element, stamps: CaptureStamps) {
    super::hdrext::add_to(payloader, AbsCaptureTimeExt::new(stamps));
}

/// Puts the extension on the video pipeline's payloader (`pay`), announces it on `rtpcaps`,
/// and returns the slot the stage timing fills; None (nothing sent) without a payloader.
pub fn install(pipeline: &gst::Pipeline) -> Option<CaptureStamps> {
    let Some(pay) = pipeline.by_name("pay") else {
        tracing::warn!("video pipeline without pay: abs-capture-time extension not sent");
        return None;
    };
    let stamps = CaptureStamps::default();
    attach(&pay, stamps.clone());
    super::extmap::announce_on(pipeline, EXTMAP_ID, URI);
    tracing::debug!("abs-capture-time header extension on the first packet of each video frame");
    Some(stamps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use gstreamer_rtp::RTPBuffer;

    #[test]
    fn ntp_timestamps_are_seconds_since_1900_in_q32() {
        assert_eq!(ntp64(UNIX_EPOCH), NTP_UNIX_OFFSET_S << 32);
        let t = UNIX_EPOCH + Duration::from_millis(1_700_000_000_500);
        let ntp = ntp64(t);
        assert_eq!(ntp >> 32, 1_700_000_000 + NTP_UNIX_OFFSET_S);
        assert_eq!(ntp & 0xffff_ffff, 1 << 31); // half a second
        assert!((ntp_to_unix_ms(ntp) - 1_700_000_000_500.0).abs() < 0.001);
    }

    #[test]
    fn body_is_timestamp_then_zero_offset() {
        let body = encode(0x0102_0304_0506_0708);
        assert_eq!(body[..8], [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(body[8..], [0; 8]);
        assert_eq!(decode(&body), Some((0x0102_0304_0506_0708, Some(0))));
        assert_eq!(decode(&body[..8]), Some((0x0102_0304_0506_0708, None)));
        assert_eq!(decode(&body[..12]), None);
        assert_eq!(decode(&[]), None);
    }

    #[test]
    fn stamps_match_only_their_frame() {
        let s = CaptureStamps::default();
        assert_eq!(s.get(5), None);
        s.set(5, UNIX_EPOCH);
        assert_eq!(s.get(5), Some(NTP_UNIX_OFFSET_S << 32));
        assert_eq!(s.get(6), None);
    }

    /// Each frame's first packet carries the time stamped for it; the frame's other packets
    /// carry nothing.
    #[test]
    fn first_packet_of_each_frame_carries_the_capture_time() {
        let (pipeline, pay) = crate::media::hdrext::test_pipeline();
        let stamps = CaptureStamps::default();
        attach(&pay, stamps.clone());
        // Stamp each frame as it reaches the payloader, as stage_timing does: capture time =
        // Unix epoch + PTS.
        let s = stamps.clone();
        pay.static_pad("sink").expect("sink pad").add_probe(
            gst::PadProbeType::BUFFER,
            move |_, info| {
                if let Some(pts) = info.buffer().and_then(|b| b.pts()) {
                    s.set(
                        pts.nseconds(),
                        UNIX_EPOCH + Duration::from_nanos(pts.nseconds()),
                    );
                }
                gst::PadProbeReturn::Ok
            },
        );
        let sink = pipeline.by_name("sink").expect("sink");
        pipeline.set_state(gst::State::Playing).expect("play");
        let (mut stamped, mut bare, mut last_pts) = (0, 0, None);
        while let Some(sample) = sink.emit_by_name::<Option<gst::Sample>>("pull-sample", &[]) {
            let buf = sample.buffer().expect("buffer");
            let pts = buf.pts().expect("pts").nseconds();
            let rtp = RTPBuffer::from_buffer_readable(buf).expect("rtp");
            let ext = rtp.extension_onebyte_header(EXTMAP_ID as u8, 0);
            if last_pts != Some(pts) {
                let (ntp, offset) = decode(ext.expect("first packet stamped")).expect("body");
                assert_eq!(ntp, ntp64(UNIX_EPOCH + Duration::from_nanos(pts)));
                assert_eq!(offset, Some(0));
                stamped += 1;
                last_pts = Some(pts);
            } else {
                assert!(ext.is_none(), "a later packet of the frame is stamped too");
                bare += 1;
            }
        }
        pipeline.set_state(gst::State::Null).expect("stop");
        assert_eq!(stamped, 3);
        assert!(bare > 3, "only {bare} later packets");
    }
}
