//! The RTP header-extension ids of the video m-line, in one place so that no two extensions
//! announced in the same offer share an `a=extmap:<id>`. The one-byte header form (RFC 8285)
//! allows ids 1–14; the host announces what it writes and Chromium echoes the ones it knows.
//!
//! An id is announced by a caps field `extmap-<id>=<uri>` on the RTP capsfilter whose caps
//! become the transceiver's codec preferences ([`announce`]); the payloader writes it through an
//! `RTPHeaderExtension` object whose id is the same number.

use gstreamer as gst;

/// `http://www.webrtc.org/experiments/rtp-hdrext/playout-delay` (`media/playout_delay.rs`).
pub const PLAYOUT_DELAY: u32 = 1;
/// `http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time` (`media/abs_capture_time.rs`).
pub const ABS_CAPTURE_TIME: u32 = 2;
/// Reserved for the transport-wide congestion-control sequence number
/// (`http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01`), so that
/// congestion control can be added without renumbering what is already announced.
pub const TRANSPORT_CC: u32 = 3;

/// Every id allocated here, for the uniqueness test.
pub const ALL: [u32; 3] = [PLAYOUT_DELAY, ABS_CAPTURE_TIME, TRANSPORT_CC];

/// Adds `a=extmap:<id> <uri>` to the offer webrtcbin will make from `caps`.
pub fn announce(caps: &mut gst::Caps, id: u32, uri: &str) {
    caps.make_mut().set(format!("extmap-{id}").as_str(), uri);
}

/// Announces on the pipeline's RTP capsfilter (`rtpcaps`); false when there is none.
pub fn announce_on(pipeline: &gst::Pipeline, id: u32, uri: &str) -> bool {
    use gstreamer::prelude::*;
    let Some(filter) = pipeline.by_name("rtpcaps") else {
        return false;
    };
    if let Some(mut caps) = filter.property::<Option<gst::Caps>>("caps") {
        announce(&mut caps, id, uri);
        filter.set_property("caps", &caps);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_distinct_and_fit_the_one_byte_form() {
        for (i, a) in ALL.iter().enumerate() {
            assert!((1..=14).contains(a), "{a}");
            assert!(!ALL[i + 1..].contains(a), "{a} allocated twice");
        }
    }

    #[test]
    fn announce_sets_the_extmap_field() {
        gst::init().expect("gst init");
        let mut caps = gst::Caps::builder("application/x-rtp").build();
        announce(&mut caps, ABS_CAPTURE_TIME, "urn:x");
        announce(&mut caps, PLAYOUT_DELAY, "urn:y");
        let s = caps.structure(0).expect("structure");
        assert_eq!(s.get::<&str>("extmap-2").expect("field"), "urn:x");
        assert_eq!(s.get::<&str>("extmap-1").expect("field"), "urn:y");
    }
}
