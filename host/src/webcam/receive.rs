//! The receiving half of the webcam: a receive-only VP8 transceiver on the audio session's
//! webrtcbin and, once the browser's RTP arrives (`pad-added`), the decode chain
//! `queue ! rtpvp8depay ! vp8dec ! videoconvert ! videoscale ! capsfilter ! sink`, where the sink
//! is an `appsink` publishing I420 frames to the frame hub or a `v4l2sink` on a loopback device.
//!
//! For the interposer, frames are published at the camera's own size: each application keeps
//! the size it opened the device with and the interposer scales other sizes to it
//! (docs/webcam.md, "Sizes"). A v4l2loopback device has one size for all its readers, so there
//! the size is locked to the camera's first (`videoscale` keeps later frames at it).

use std::sync::{Arc, Mutex};

use gstreamer as gst;
use gstreamer::prelude::*;
use selkies_v4l2_wire::frame::PixFmt;
use tracing::{debug, info, warn};

use super::{Sink, Webcam};

/// The payload type of the webcam's VP8: distinct from the screen's payload types (96–100).
pub const VP8_PAYLOAD: u32 = 102;

#[derive(Debug, thiserror::Error)]
pub enum ReceiveError {
    #[error("webrtcbin refused the webcam transceiver")]
    Transceiver,
    #[error("GStreamer element {0} is missing")]
    Element(String),
    #[error("linking the webcam decode chain: {0}")]
    Link(String),
}

/// Adds the receive-only transceiver to `webrtc` (before the offer is created) and arranges
/// for the decode chain to be built when the browser's track arrives.
pub fn add_receiver(
    pipeline: &gst::Pipeline,
    webrtc: &gst::Element,
    webcam: Arc<Webcam>,
) -> Result<(), ReceiveError> {
    let caps = gst::Caps::builder("application/x-rtp")
        .field("media", "video")
        .field("encoding-name", "VP8")
        .field("payload", VP8_PAYLOAD as i32)
        .field("clock-rate", 90_000i32)
        // `a=rtcp-fb:102 nack pli` in the offer: the browser then answers the depayloader's
        // keyframe requests (below), which rtpsession sends as PLI.
        .field("rtcp-fb-nack-pli", true)
        .build();
    // Built and linked on the thread that adds the pad: the browser sends padding probes even
    // before the camera is on.
    let on_src =
        move |pipeline: &gst::Pipeline, pad: &gst::Pad| match build_chain(pipeline, pad, &webcam) {
            Ok(()) => info!("webcam: receiving the browser's camera"),
            Err(e) => warn!("webcam: {e}"),
        };
    let t = crate::media::receive::recvonly(pipeline, webrtc, &caps, on_src)
        .ok_or(ReceiveError::Transceiver)?;
    t.set_property("do-nack", true);
    Ok(())
}

fn make(name: &str) -> Result<gst::Element, ReceiveError> {
    gst::ElementFactory::make(name)
        .build()
        .map_err(|_| ReceiveError::Element(name.to_owned()))
}

/// Builds and links the decode chain behind webrtcbin's new source pad. Runs on a streaming
/// thread: it only creates and links elements, it never waits.
fn build_chain(
    pipeline: &gst::Pipeline,
    pad: &gst::Pad,
    webcam: &Arc<Webcam>,
) -> Result<(), ReceiveError> {
    let queue = make("queue")?;
    queue.set_property_from_str("leaky", "downstream");
    queue.set_property("max-size-buffers", 64u32);
    let depay = make("rtpvp8depay")?;
    // After a lost packet (the leaky queue drops under load) the decoder conceals on a broken
    // reference and the picture froze until the browser's next keyframe, which it sends only
    // when asked: ask (PLI). Seen in ci/bench-webcam as colour switches that never reached the
    // application. Frames keep flowing meanwhile (`wait-for-keyframe` would stall them).
    depay.set_property("request-keyframe", true);
    let dec = make("vp8dec")?;
    let convert = make("videoconvert")?;
    let scale = make("videoscale")?;
    let filter = make("capsfilter")?;
    let (format, sink) = match &webcam.sink {
        Sink::Interposer { .. } => ("I420", appsink(webcam)?),
        Sink::Loopback { device } => {
            let s = make("v4l2sink")?;
            s.set_property("device", device.to_string_lossy().as_ref());
            s.set_property("sync", false);
            ("YUY2", s)
        }
    };
    filter.set_property(
        "caps",
        gst::Caps::builder("video/x-raw")
            .field("format", format)
            .build(),
    );
    let chain = [&queue, &depay, &dec, &convert, &scale, &filter, &sink];
    pipeline
        .add_many(chain)
        .map_err(|e| ReceiveError::Link(e.to_string()))?;
    gst::Element::link_many(chain).map_err(|e| ReceiveError::Link(e.to_string()))?;
    if matches!(webcam.sink, Sink::Loopback { .. }) {
        lock_size(&scale, &filter, format);
    }
    for e in chain {
        e.sync_state_with_parent()
            .map_err(|e| ReceiveError::Link(e.to_string()))?;
    }
    let sinkpad = queue
        .static_pad("sink")
        .ok_or_else(|| ReceiveError::Link("queue has no sink pad".into()))?;
    pad.link(&sinkpad)
        .map_err(|e| ReceiveError::Link(format!("{e:?}")))?;
    Ok(())
}

/// Keeps the output size at the camera's first (even) size.
fn lock_size(scale: &gst::Element, filter: &gst::Element, format: &str) {
    let Some(pad) = scale.static_pad("sink") else {
        return;
    };
    let locked: Arc<Mutex<Option<(i32, i32)>>> = Arc::new(Mutex::new(None));
    let filter = filter.downgrade();
    let format = format.to_owned();
    pad.add_probe(gst::PadProbeType::EVENT_DOWNSTREAM, move |_, info| {
        let Some(gst::PadProbeData::Event(ev)) = &info.data else {
            return gst::PadProbeReturn::Ok;
        };
        let gst::EventView::Caps(c) = ev.view() else {
            return gst::PadProbeReturn::Ok;
        };
        let Some(s) = c.caps().structure(0) else {
            return gst::PadProbeReturn::Ok;
        };
        let (Ok(w), Ok(h)) = (s.get::<i32>("width"), s.get::<i32>("height")) else {
            return gst::PadProbeReturn::Ok;
        };
        let size = ((w & !1).max(2), (h & !1).max(2));
        let mut lock = crate::sync::lock(&locked);
        if lock.is_none() {
            debug!(width = size.0, height = size.1, "webcam size");
            *lock = Some(size);
        }
        if let (Some((lw, lh)), Some(filter)) = (*lock, filter.upgrade()) {
            filter.set_property(
                "caps",
                gst::Caps::builder("video/x-raw")
                    .field("format", format.as_str())
                    .field("width", lw)
                    .field("height", lh)
                    .build(),
            );
        }
        gst::PadProbeReturn::Ok
    });
}

/// An appsink that publishes each frame, repacked to tight I420, to the hub.
fn appsink(webcam: &Arc<Webcam>) -> Result<gst::Element, ReceiveError> {
    let sink = make("appsink")?;
    sink.set_property("sync", false);
    sink.set_property("max-buffers", 2u32);
    sink.set_property("drop", true);
    sink.set_property("emit-signals", true);
    let hub = webcam.hub.clone();
    sink.connect("new-sample", false, move |values| {
        let sink = values.first().and_then(|v| v.get::<gst::Element>().ok())?;
        let sample = sink.emit_by_name::<Option<gst::Sample>>("pull-sample", &[])?;
        if let Some(frame) = tight_i420(&sample)
            && let Err(e) = hub.publish(PixFmt::I420, frame.0, frame.1, frame.2)
        {
            debug!("webcam frame dropped: {e}");
        }
        Some(gst::FlowReturn::Ok.to_value())
    });
    Ok(sink)
}

/// The sample's I420 picture as (width, height, tightly packed bytes). GStreamer's default
/// I420 layout pads rows to 4 bytes; rows are copied out of that layout.
fn tight_i420(sample: &gst::Sample) -> Option<(u32, u32, Vec<u8>)> {
    let s = sample.caps()?.structure(0)?;
    let w = u32::try_from(s.get::<i32>("width").ok()?).ok()?;
    let h = u32::try_from(s.get::<i32>("height").ok()?).ok()?;
    let map = sample.buffer()?.map_readable().ok()?;
    repack_i420(map.as_slice(), w, h)
}

/// Copies an I420 picture laid out with GStreamer's default strides into a tight buffer; None
/// when `src` is too short or the size is odd.
pub fn repack_i420(src: &[u8], w: u32, h: u32) -> Option<(u32, u32, Vec<u8>)> {
    if !w.is_multiple_of(2) || !h.is_multiple_of(2) {
        return None;
    }
    let (w, h) = (w as usize, h as usize);
    let round4 = |n: usize| n.div_ceil(4) * 4;
    let (ys, cs) = (round4(w), round4(w / 2));
    let need = ys * h + 2 * cs * (h / 2);
    if src.len() < need {
        return None;
    }
    if ys == w && cs == w / 2 {
        return Some((w as u32, h as u32, src[..w * h * 3 / 2].to_vec()));
    }
    let mut out = Vec::with_capacity(w * h * 3 / 2);
    for row in 0..h {
        out.extend_from_slice(&src[row * ys..row * ys + w]);
    }
    for plane in 0..2 {
        let base = ys * h + plane * cs * (h / 2);
        for row in 0..h / 2 {
            out.extend_from_slice(&src[base + row * cs..base + row * cs + w / 2]);
        }
    }
    Some((w as u32, h as u32, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_rows_are_repacked_tight() {
        // 6x2: Y stride 8, chroma width 3 → stride 4.
        let mut src = vec![];
        src.extend([1, 2, 3, 4, 5, 6, 0, 0, 7, 8, 9, 10, 11, 12, 0, 0]);
        src.extend([20, 21, 22, 0]);
        src.extend([30, 31, 32, 0]);
        let (w, h, out) = repack_i420(&src, 6, 2).unwrap();
        assert_eq!((w, h), (6, 2));
        assert_eq!(
            out,
            [
                1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 20, 21, 22, 30, 31, 32
            ]
        );
        assert!(repack_i420(&src[..10], 6, 2).is_none());
        assert!(repack_i420(&src, 5, 2).is_none());
        let tight = vec![7u8; 8 * 2 * 3 / 2];
        assert_eq!(repack_i420(&tight, 8, 2).unwrap().2, tight);
    }
}
