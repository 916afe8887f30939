//! The first frame a browser can decode. The video pipeline plays from before the offer is sent
//! (so the offer can be made from its caps), which means its first keyframe is encoded long
//! before DTLS is up and is dropped by webrtcbin; the first frame that reaches the browser is
//! then a delta frame it cannot decode, it answers with a PLI, and the keyframe comes one capture
//! later still (up to a keep-alive interval on a static screen). Asking the encoder for a keyframe
//! the moment the peer connection is `Connected` makes the next captured frame decodable
//! (docs/benchmarks.md, "First frame"). On a static screen there is no next captured frame
//! until the keep-alive, so the capture also follows such requests ([`on_keyframe_request`]).

use gstreamer as gst;
use gstreamer::prelude::*;

/// Sends an upstream force-key-unit event (with parameter sets) from the RTP caps filter in
/// front of webrtcbin, so it passes the payloader to the encoder; false without that filter.
pub fn request_keyframe(pipeline: &gst::Pipeline) -> bool {
    let Some(pad) = pipeline
        .by_name("rtpcaps")
        .and_then(|f| f.static_pad("sink"))
    else {
        return false;
    };
    pad.push_event(keyframe_request())
}

/// The upstream force-key-unit event every keyframe request of the host sends (with parameter
/// sets, for the next frame): what `gst_video_event_new_upstream_force_key_unit` makes.
pub fn keyframe_request() -> gst::Event {
    let s = gst::Structure::builder("GstForceKeyUnit")
        .field("running-time", u64::MAX)
        .field("all-headers", true)
        .field("count", 0u32)
        .build();
    gst::event::CustomUpstream::new(s)
}

/// Calls `f` whenever a keyframe request travels upstream into `encoder` (ours above, or the
/// payloader's answer to a browser's PLI): the encoder turns its *next input* into a keyframe,
/// and the capture must then provide one without waiting for a change or the keep-alive.
pub fn on_keyframe_request(encoder: &gst::Element, f: impl Fn() + Send + Sync + 'static) {
    let Some(pad) = encoder.static_pad("src") else {
        return;
    };
    pad.add_probe(gst::PadProbeType::EVENT_UPSTREAM, move |_, info| {
        if let Some(gst::PadProbeData::Event(ev)) = &info.data
            && is_keyframe_request(ev)
        {
            f();
        }
        gst::PadProbeReturn::Ok
    });
}

/// An upstream force-key-unit event, as `gst_video_event_new_upstream_force_key_unit` makes it.
fn is_keyframe_request(ev: &gst::Event) -> bool {
    ev.type_() == gst::EventType::CustomUpstream
        && ev
            .structure()
            .is_some_and(|s| s.name() == "GstForceKeyUnit")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn only_force_key_unit_events_are_keyframe_requests() {
        gst::init().expect("gst init");
        let fku = |name: &str| {
            gst::event::CustomUpstream::new(
                gst::Structure::builder(name)
                    .field("all-headers", true)
                    .build(),
            )
        };
        assert!(is_keyframe_request(&keyframe_request()));
        assert!(is_keyframe_request(&fku("GstForceKeyUnit")));
        assert!(!is_keyframe_request(&fku("GstSomethingElse")));
        // Downstream force-key-unit (an encoder telling its peers) is not a request to it.
        let downstream =
            gst::event::CustomDownstream::new(gst::Structure::builder("GstForceKeyUnit").build());
        assert!(!is_keyframe_request(&downstream));
        assert!(!is_keyframe_request(&gst::event::Reconfigure::new()));
    }

    #[test]
    fn the_encoder_makes_the_next_frame_a_keyframe() {
        gst::init().expect("gst init");
        let pipeline = gst::parse::launch(
            "videotestsrc num-buffers=30 ! video/x-raw,width=64,height=64,framerate=30/1 \
             ! x264enc tune=zerolatency key-int-max=1000 ! h264parse name=parse \
             ! rtph264pay name=pay ! capsfilter name=rtpcaps ! fakesink sync=false",
        )
        .expect("pipeline")
        .downcast::<gst::Pipeline>()
        .expect("a pipeline");
        let keyframes = Arc::new(AtomicU32::new(0));
        let frames = Arc::new(AtomicU32::new(0));
        let (k, f) = (keyframes.clone(), frames.clone());
        let weak = pipeline.downgrade();
        let pay_sink = pipeline
            .by_name("pay")
            .and_then(|p| p.static_pad("sink"))
            .expect("pay sink");
        pay_sink.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if let Some(b) = info.buffer() {
                if !b.flags().contains(gst::BufferFlags::DELTA_UNIT) {
                    k.fetch_add(1, Ordering::SeqCst);
                }
                // Ask once, after the first keyframe and a few delta frames.
                if f.fetch_add(1, Ordering::SeqCst) == 5
                    && let Some(p) = weak.upgrade()
                {
                    assert!(request_keyframe(&p));
                }
            }
            gst::PadProbeReturn::Ok
        });
        pipeline.set_state(gst::State::Playing).expect("play");
        let bus = pipeline.bus().expect("bus");
        bus.timed_pop_filtered(gst::ClockTime::from_seconds(20), &[gst::MessageType::Eos])
            .expect("eos");
        pipeline.set_state(gst::State::Null).expect("stop");
        assert_eq!(frames.load(Ordering::SeqCst), 30);
        assert_eq!(
            keyframes.load(Ordering::SeqCst),
            2,
            "the first and the requested one"
        );
    }
}
