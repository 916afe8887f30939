//! Receive-only transceivers for what the browser sends (its microphone, its camera): the
//! transceiver is added before negotiation, and each source pad webrtcbin adds for it is handed
//! to the caller's linking code.

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_webrtc as gst_webrtc;

/// Adds a receive-only transceiver for `caps` to `webrtc` and calls `on_src` with the pipeline
/// and each source pad webrtcbin adds. The call happens on the thread that adds the pad, so the
/// browser's first RTP finds the pad linked (an unlinked pad stops the transport's source with
/// not-linked and takes the session down). None when webrtcbin gives no transceiver.
pub fn recvonly(
    pipeline: &gst::Pipeline,
    webrtc: &gst::Element,
    caps: &gst::Caps,
    on_src: impl Fn(&gst::Pipeline, &gst::Pad) + Send + Sync + 'static,
) -> Option<gst_webrtc::WebRTCRTPTransceiver> {
    let transceiver = webrtc.emit_by_name::<Option<gst_webrtc::WebRTCRTPTransceiver>>(
        "add-transceiver",
        &[&gst_webrtc::WebRTCRTPTransceiverDirection::Recvonly, caps],
    );
    let weak = pipeline.downgrade();
    webrtc.connect_pad_added(move |_, pad| {
        if pad.direction() != gst::PadDirection::Src {
            return;
        }
        if let Some(pipeline) = weak.upgrade() {
            on_src(&pipeline, pad);
        }
    });
    transceiver
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    #[test]
    fn the_offer_has_a_recvonly_media_for_the_caps() {
        gst::init().expect("gst init");
        let pipeline = gst::Pipeline::new();
        let webrtc = gst::ElementFactory::make("webrtcbin")
            .build()
            .expect("webrtcbin");
        pipeline.add(&webrtc).expect("add");
        let caps = gst::Caps::from_str(
            "application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000",
        )
        .expect("caps");
        let t = recvonly(&pipeline, &webrtc, &caps, |_, _| {}).expect("a transceiver");
        assert_eq!(
            t.direction(),
            gst_webrtc::WebRTCRTPTransceiverDirection::Recvonly
        );
        pipeline.set_state(gst::State::Playing).expect("playing");
        let promise = gst::Promise::new();
        webrtc.emit_by_name::<()>("create-offer", &[&None::<gst::Structure>, &promise]);
        promise.wait();
        let offer = promise
            .get_reply()
            .expect("reply")
            .value("offer")
            .expect("offer")
            .get::<gst_webrtc::WebRTCSessionDescription>()
            .expect("description")
            .sdp()
            .as_text()
            .expect("text");
        pipeline.set_state(gst::State::Null).expect("stop");
        assert!(offer.contains("a=recvonly"), "{offer}");
        assert!(offer.contains("OPUS/48000"), "{offer}");
    }
}
