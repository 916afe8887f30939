//! The host's last video stage, `sent_to_wire` (docs/metrics.md): each frame's last RTP packet
//! from the hand-over to webrtcbin (the `rtpcaps` filter's source pad) to the moment the same
//! packet reaches the socket (`nicesink`'s sink pad), i.e. webrtcbin's RTP session, SRTP and ICE
//! agent. Without it the browser's receive path and webrtcbin's send path could only be told
//! apart by guessing (`ci/bench-e2e` printed them as one estimate).
//!
//! A frame's last packet is the one with the RTP marker bit (RFC 6184 §5.1, RFC 7741 §4.1).
//! SRTP leaves the RTP header in the clear, so the packet is recognised on the far side by its
//! SSRC and sequence number. Retransmissions (RTX) have their own SSRC and RTCP is told apart by
//! its packet type, so neither is mistaken for a video packet. A pipeline with several
//! transports (a shared session's) observes one sample per transport.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use gstreamer as gst;
use gstreamer::prelude::*;
use selkies_telemetry::{Metrics, Stage};

use crate::sync::lock;

/// The fixed part of an RTP header that names a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpId {
    pub ssrc: u32,
    pub seq: u16,
    /// The last packet of a video frame.
    pub marker: bool,
}

/// The RTP identity of `data`, or None for RTCP (RFC 5761: its second byte is 192–223, a
/// range RTP payload types avoid when multiplexed), a STUN or DTLS datagram, or anything shorter
/// than an RTP header.
pub fn rtp_id(data: &[u8]) -> Option<RtpId> {
    let header: &[u8; 12] = data.get(..12)?.try_into().ok()?;
    if header[0] >> 6 != 2 || (192..=223).contains(&header[1]) {
        return None;
    }
    Some(RtpId {
        ssrc: u32::from_be_bytes([header[8], header[9], header[10], header[11]]),
        seq: u16::from_be_bytes([header[2], header[3]]),
        marker: header[1] & 0x80 != 0,
    })
}

/// How many frames' last packets are remembered: a second at 60 fps. A packet still inside
/// webrtcbin after that is not a send-path time but a stall, which other metrics show.
const REMEMBERED: usize = 64;

/// The last packets of recent frames and when each was handed to webrtcbin.
#[derive(Debug, Default)]
pub struct Handed {
    recent: Vec<(RtpId, Instant)>,
    next: usize,
}

impl Handed {
    /// Notes a packet handed to webrtcbin; only a frame's last packet is kept.
    pub fn handed(&mut self, id: RtpId, at: Instant) {
        if !id.marker {
            return;
        }
        if self.recent.len() < REMEMBERED {
            self.recent.push((id, at));
        } else if let Some(slot) = self.recent.get_mut(self.next) {
            *slot = (id, at);
        }
        self.next = (self.next + 1) % REMEMBERED;
    }

    /// ms from the hand-over of the frame's last packet `id` to `at`, when it was handed over.
    pub fn on_wire(&self, id: RtpId, at: Instant) -> Option<f64> {
        if !id.marker {
            return None;
        }
        let (_, handed) = self
            .recent
            .iter()
            .find(|(h, _)| h.ssrc == id.ssrc && h.seq == id.seq)?;
        Some(at.saturating_duration_since(*handed).as_secs_f64() * 1000.0)
    }
}

/// Calls `f` with each frame's last packet (marker bit set) in a probe's buffer or buffer list;
/// the probes run on every packet, so nothing is collected or locked for the others.
fn each_frame_end(info: &gst::PadProbeInfo, mut f: impl FnMut(RtpId)) {
    let mut visit = |b: &gst::BufferRef| {
        if let Some(id) = b.map_readable().ok().and_then(|m| rtp_id(m.as_slice()))
            && id.marker
        {
            f(id);
        }
    };
    match &info.data {
        Some(gst::PadProbeData::Buffer(b)) => visit(b),
        Some(gst::PadProbeData::BufferList(l)) => l.iter().for_each(visit),
        _ => {}
    }
}

const DATA: gst::PadProbeType = gst::PadProbeType::BUFFER.union(gst::PadProbeType::BUFFER_LIST);

/// Probes the hand-over to webrtcbin and every `nicesink` webrtcbin creates in `pipeline`, and
/// observes `sent_to_wire` for each frame's last packet. Nothing without an `rtpcaps` element (the
/// WebSocket transport has no webrtcbin).
pub fn install(pipeline: &gst::Pipeline, metrics: Metrics) {
    let Some(src) = pipeline
        .by_name("rtpcaps")
        .and_then(|f| f.static_pad("src"))
    else {
        return;
    };
    let handed = Arc::new(Mutex::new(Handed::default()));
    let h = handed.clone();
    src.add_probe(DATA, move |_, info| {
        let now = Instant::now();
        each_frame_end(info, |id| lock(&h).handed(id, now));
        gst::PadProbeReturn::Ok
    });
    // webrtcbin makes its transports (and their nicesinks) when a description is set, after
    // this runs, so they are caught as they are added.
    pipeline.connect_deep_element_added(move |_, _, element| {
        let is_nicesink = element
            .factory()
            .is_some_and(|f| f.name().as_str() == "nicesink");
        let Some(sink) = is_nicesink.then(|| element.static_pad("sink")).flatten() else {
            return;
        };
        let handed = handed.clone();
        let metrics = metrics.clone();
        sink.add_probe(DATA, move |_, info| {
            let now = Instant::now();
            each_frame_end(info, |id| {
                if let Some(ms) = lock(&handed).on_wire(id, now) {
                    metrics.observe_stage(Stage::SentToWire, ms);
                }
            });
            gst::PadProbeReturn::Ok
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn rtp(pt_byte: u8, seq: u16, ssrc: u32) -> Vec<u8> {
        let mut p = vec![0x80, pt_byte];
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&[0, 0, 0, 1]);
        p.extend_from_slice(&ssrc.to_be_bytes());
        p.extend_from_slice(&[0xde, 0xad]);
        p
    }

    #[test]
    fn reads_rtp_and_refuses_rtcp_and_short_or_foreign_datagrams() {
        assert_eq!(
            rtp_id(&rtp(0x80 | 102, 7, 0xfeed_beef)),
            Some(RtpId {
                ssrc: 0xfeed_beef,
                seq: 7,
                marker: true
            })
        );
        assert_eq!(
            rtp_id(&rtp(102, 65535, 1)).map(|i| (i.seq, i.marker)),
            Some((65535, false))
        );
        // RTCP sender report and receiver report (200, 201), multiplexed on the same port.
        assert_eq!(rtp_id(&rtp(200, 1, 1)), None);
        assert_eq!(rtp_id(&rtp(201, 1, 1)), None);
        assert_eq!(rtp_id(&rtp(102, 1, 1)[..11]), None);
        // STUN (first two bits 00) and a DTLS record (content type 22).
        assert_eq!(
            rtp_id(&[0x00, 0x01, 0, 0, 0x21, 0x12, 0xa4, 0x42, 0, 0, 0, 0]),
            None
        );
        assert_eq!(
            rtp_id(&[22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            None
        );
        assert_eq!(rtp_id(&[]), None);
    }

    #[test]
    fn a_frames_last_packet_is_timed_from_its_hand_over() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let id = |seq, marker| RtpId {
            ssrc: 5,
            seq,
            marker,
        };
        let mut h = Handed::default();
        h.handed(id(1, false), t0);
        h.handed(id(2, true), t0 + ms(1));
        assert_eq!(
            h.on_wire(id(1, false), t0 + ms(3)),
            None,
            "not a frame's last packet"
        );
        assert_eq!(h.on_wire(id(2, true), t0 + ms(3)), Some(2.0));
        // Every transport of a shared pipeline gets its own sample.
        assert_eq!(h.on_wire(id(2, true), t0 + ms(4)), Some(3.0));
        // Same sequence number, another SSRC (a retransmission stream): not this packet.
        let rtx = RtpId {
            ssrc: 6,
            ..id(2, true)
        };
        assert_eq!(h.on_wire(rtx, t0 + ms(3)), None);
        assert_eq!(
            h.on_wire(id(9, true), t0 + ms(3)),
            None,
            "never handed over"
        );
    }

    #[test]
    fn only_the_recent_frames_are_remembered() {
        let t0 = Instant::now();
        let mut h = Handed::default();
        let id = |seq| RtpId {
            ssrc: 1,
            seq,
            marker: true,
        };
        for seq in 0..(REMEMBERED as u16 * 3) {
            h.handed(id(seq), t0);
        }
        assert_eq!(h.recent.len(), REMEMBERED);
        let last = REMEMBERED as u16 * 3 - 1;
        assert!(h.on_wire(id(last), t0).is_some());
        assert!(h.on_wire(id(last + 1 - REMEMBERED as u16), t0).is_some());
        assert!(h.on_wire(id(last - REMEMBERED as u16), t0).is_none());
    }
}
