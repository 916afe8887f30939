//! The playout-delay RTP header extension
//! (`http://www.webrtc.org/experiments/rtp-hdrext/playout-delay`), written on every video packet.
//!
//! Chromium reads it as the bounds of its render delay. With min = max = 0 it renders each frame
//! as soon as it is decoded instead of holding it for a jitter-buffer target, which is what a
//! remote desktop wants on a LAN (docs/benchmarks.md, "Latency (issue 9 work)", has the numbers).
//! The extension is a GStreamer `RTPHeaderExtension` subclass added to the payloader, and its
//! `extmap` is announced through the RTP caps that become the transceiver's codec preferences.
//!
//! Wire format (3 bytes, fits the one-byte header form): MIN and MAX, 12 bits each, big-endian,
//! in units of 10 ms.

use gstreamer as gst;
use gstreamer::glib;
use gstreamer::prelude::*;
use gstreamer::subclass::prelude::ObjectSubclassExt;
use gstreamer_rtp as gst_rtp;
use gstreamer_rtp::prelude::*;

/// The URI announced in `a=extmap`.
pub const URI: &str = "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay";
/// The extension's id in the offer's `a=extmap:<id>` line (allocated in `media/extmap.rs`).
pub const EXTMAP_ID: u32 = super::extmap::PLAYOUT_DELAY;
/// Encoded size of the extension body.
pub const SIZE: usize = 3;
/// Largest delay the 12-bit field carries: 4095 × 10 ms.
pub const MAX_DELAY_MS: u32 = 40_950;

/// The two bounds, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PlayoutDelay {
    pub min_ms: u32,
    pub max_ms: u32,
}

impl PlayoutDelay {
    /// Both bounds set to `ms` (clamped to what the field can carry).
    pub fn fixed(ms: u32) -> Self {
        Self {
            min_ms: ms,
            max_ms: ms,
        }
    }

    /// The 3-byte body: bounds rounded down to 10 ms units and clamped to 12 bits; max is
    /// never below min.
    pub fn encode(self) -> [u8; SIZE] {
        let min = (self.min_ms.min(MAX_DELAY_MS) / 10) as u16;
        let max = ((self.max_ms.min(MAX_DELAY_MS) / 10) as u16).max(min);
        [
            (min >> 4) as u8,
            (((min & 0x0f) << 4) | (max >> 8)) as u8,
            (max & 0xff) as u8,
        ]
    }

    /// Parses a body written by [`PlayoutDelay::encode`] (or any sender).
    pub fn decode(data: &[u8]) -> Option<Self> {
        let [a, b, c] = <[u8; SIZE]>::try_from(data.get(..SIZE)?).ok()?;
        let min = (u32::from(a) << 4) | (u32::from(b) >> 4);
        let max = ((u32::from(b) & 0x0f) << 8) | u32::from(c);
        Some(Self {
            min_ms: min * 10,
            max_ms: max * 10,
        })
    }
}

mod imp {
    use std::sync::Mutex;

    use gstreamer as gst;
    use gstreamer::glib;
    use gstreamer::subclass::prelude::*;
    use gstreamer_rtp as gst_rtp;
    use gstreamer_rtp::subclass::prelude::*;

    #[derive(Default)]
    pub struct Ext {
        pub delay: Mutex<super::PlayoutDelay>,
    }

    crate::media::hdrext::header_extension! {
        imp: Ext,
        wrapper: super::PlayoutDelayExt,
        name: "SelkiesRtpHdrExtPlayoutDelay",
        long_name: "RTP playout-delay header extension",
        description: "Writes the playout-delay bounds on every packet",
        decode: super::PlayoutDelay::decode,
        write: {
            fn write(
                &self,
                _input: &gst::BufferRef,
                _flags: gst_rtp::RTPHeaderExtensionFlags,
                _output: &gst::BufferRef,
                data: &mut [u8],
            ) -> Result<usize, gst::LoggableError> {
                let body = crate::sync::lock(&self.delay).encode();
                crate::media::hdrext::put(data, &body, "playout-delay")
            }
        }
    }
}

super::hdrext::header_extension_object!(PlayoutDelayExt, delay: PlayoutDelay);

/// Adds the extension to `payloader` (an `RTPBasePayload`) so each packet it writes carries it.
pub fn attach(payloader: &gst::Element, delay: PlayoutDelay) {
    super::hdrext::add_to(payloader, PlayoutDelayExt::new(delay));
}

/// The caps field that makes webrtcbin announce the extension in the offer (`a=extmap`).
pub fn announce(caps: &mut gst::Caps) {
    super::extmap::announce(caps, EXTMAP_ID, URI);
}

/// Puts the extension on the video pipeline's payloader (`pay`) and announces it on the RTP
/// capsfilter (`rtpcaps`) whose caps become the offer's codec preferences.
pub fn install(pipeline: &gst::Pipeline, delay: PlayoutDelay) {
    let (Some(pay), Some(filter)) = (pipeline.by_name("pay"), pipeline.by_name("rtpcaps")) else {
        tracing::warn!("video pipeline without pay/rtpcaps: playout-delay extension not sent");
        return;
    };
    attach(&pay, delay);
    if let Some(mut caps) = filter.property::<Option<gst::Caps>>("caps") {
        announce(&mut caps);
        filter.set_property("caps", &caps);
    }
    tracing::debug!(
        ?delay,
        "playout-delay header extension on every video packet"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use gstreamer_rtp::RTPBuffer;

    #[test]
    fn zero_delay_is_three_zero_bytes() {
        assert_eq!(PlayoutDelay::fixed(0).encode(), [0, 0, 0]);
    }

    #[test]
    fn bounds_are_12_bit_in_10ms_units() {
        // min 100 ms = 10 = 0x00a, max 2 s = 200 = 0x0c8 → 00 a0 c8
        let d = PlayoutDelay {
            min_ms: 100,
            max_ms: 2000,
        };
        assert_eq!(d.encode(), [0x00, 0xa0, 0xc8]);
        assert_eq!(PlayoutDelay::decode(&d.encode()), Some(d));
        // The largest value fills all 24 bits.
        assert_eq!(
            PlayoutDelay::fixed(MAX_DELAY_MS).encode(),
            [0xff, 0xff, 0xff]
        );
        // Beyond the field: clamped, not wrapped.
        assert_eq!(PlayoutDelay::fixed(100_000).encode(), [0xff, 0xff, 0xff]);
        // Sub-unit values round down; max below min is raised to min.
        assert_eq!(PlayoutDelay::fixed(19).encode(), [0x00, 0x10, 0x01]);
        let inverted = PlayoutDelay {
            min_ms: 50,
            max_ms: 10,
        };
        assert_eq!(
            PlayoutDelay::decode(&inverted.encode()),
            Some(PlayoutDelay::fixed(50))
        );
        assert_eq!(PlayoutDelay::decode(&[1, 2]), None);
    }

    #[test]
    fn payloader_writes_it_on_every_packet() {
        let (pipeline, pay) = crate::media::hdrext::test_pipeline();
        attach(&pay, PlayoutDelay::fixed(0));
        let sink = pipeline.by_name("sink").expect("sink");
        pipeline.set_state(gst::State::Playing).expect("play");
        let mut packets = 0;
        while let Some(sample) = sink.emit_by_name::<Option<gst::Sample>>("pull-sample", &[]) {
            let buf = sample.buffer().expect("buffer");
            let rtp = RTPBuffer::from_buffer_readable(buf).expect("rtp");
            let data = rtp
                .extension_onebyte_header(EXTMAP_ID as u8, 0)
                .expect("every packet carries the extension");
            assert_eq!(data, [0, 0, 0]);
            packets += 1;
        }
        pipeline.set_state(gst::State::Null).expect("stop");
        // Three keyframes of 300-byte packets: many packets, all checked.
        assert!(packets > 3, "only {packets} packets");
    }

    #[test]
    fn announced_in_caps() {
        gst::init().expect("gst init");
        let mut caps = gst::Caps::builder("application/x-rtp").build();
        announce(&mut caps);
        let s = caps.structure(0).expect("structure");
        assert_eq!(s.get::<&str>("extmap-1").expect("field"), URI);
    }
}
