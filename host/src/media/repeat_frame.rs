//! Repeat pictures in place of encoding an unchanged screen again (docs/architecture.md,
//! "Keep-alive frames"; the H.264 side is `selkies_proto::h264::repeat`).
//!
//! A static desktop still sends a frame every 500 ms so the browser does not ask for a keyframe,
//! and x264 spends ~6 ms of CPU on each 1080p one to find that nothing changed. The damage-driven
//! capture marks such a push, a copy of the frame it pushed last, with
//! [`gst::BufferFlags::DROPPABLE`]. A probe on the encoder's sink pad takes that frame away from
//! the encoder and pushes a repeat picture (every macroblock skipped) on the encoder's source pad
//! instead. It runs in the streaming thread that feeds the encoder, and x264enc with
//! `tune=zerolatency` pushes each encoded frame before it returns, so the repeat picture lands in
//! order after the encoder's last frame.
//!
//! A probe on the source pad follows every picture that leaves (the encoder's and the repeats)
//! and learns the encoder's timestamp offset (x264enc adds 1000 hours). The encoder is left to
//! encode the frame whenever a repeat cannot be written (`Unrepeatable`: right after a repeat,
//! before the first picture, an unsupported stream), while a keyframe request is pending, and
//! when the frame before it never reached the encoder: the capture numbers its frames in the
//! buffer offset, and a gap means the leaky queue in front of the encoder dropped one, whose
//! change the encoder has not seen.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use gstreamer as gst;
use gstreamer::prelude::*;
use selkies_proto::h264::StreamState;
use tracing::debug;

use crate::sync::lock;

/// What the probes share.
#[derive(Debug, Default)]
struct State {
    stream: StreamState,
    /// The encoder's output PTS minus its input PTS, once a frame has gone through.
    pts_offset: Option<i128>,
    /// The PTS of the last frame that reached the encoder.
    last_input: Option<gst::ClockTime>,
    /// The capture's sequence number (buffer offset) of that frame.
    last_sequence: Option<u64>,
    /// A keyframe was requested and has not left the encoder yet.
    keyframe_pending: bool,
}

/// How many frames went each way; for logs and tests.
#[derive(Debug, Default)]
pub struct RepeatCounts {
    /// Unchanged frames sent as repeat pictures.
    pub repeated: AtomicU64,
    /// Unchanged frames the encoder had to encode.
    pub encoded: AtomicU64,
}

/// Sends repeat pictures for the frames marked droppable that reach `encoder` (an H.264 encoder
/// that outputs each frame before taking the next: x264enc with `tune=zerolatency`). Install it
/// after any other probe on the encoder's sink pad: a frame replaced here is not seen by probes
/// added later.
pub fn install(encoder: &gst::Element) -> Option<Arc<RepeatCounts>> {
    let sink = encoder.static_pad("sink")?;
    let src = encoder.static_pad("src")?;
    let state = Arc::new(Mutex::new(State::default()));
    let counts = Arc::new(RepeatCounts::default());

    let st = state.clone();
    super::first_frame::on_keyframe_request(encoder, move || lock(&st).keyframe_pending = true);

    let st = state.clone();
    src.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        if let Some(buffer) = info.buffer() {
            let mut st = lock(&st);
            if let Ok(map) = buffer.map_readable() {
                st.stream.observe(&map);
            }
            if !buffer.flags().contains(gst::BufferFlags::DELTA_UNIT) {
                st.keyframe_pending = false;
            }
            if let (Some(out), Some(input)) = (buffer.pts(), st.last_input) {
                st.pts_offset = Some(i128::from(out.nseconds()) - i128::from(input.nseconds()));
            }
        }
        gst::PadProbeReturn::Ok
    });

    let src = src.downgrade();
    let enc = encoder.downgrade();
    let c = counts.clone();
    sink.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        let Some(input) = info.buffer() else {
            return gst::PadProbeReturn::Ok;
        };
        let repeat = {
            let mut st = lock(&state);
            st.last_input = input.pts();
            // A frame dropped on the way (the leaky queue in front of the encoder) may have
            // carried a change the encoder never saw: then this one is no repeat of its last.
            let follows = st
                .last_sequence
                .is_some_and(|n| n.checked_add(1) == Some(input.offset()));
            st.last_sequence = Some(input.offset());
            if !input.flags().contains(gst::BufferFlags::DROPPABLE) {
                return gst::PadProbeReturn::Ok;
            }
            // An encoder that still has a coarse region to refine (selkiesx264enc after
            // motion) encodes the unchanged frame: that is how a still screen gets sharp.
            if enc.upgrade().is_some_and(|e| !settled(&e)) {
                return gst::PadProbeReturn::Ok;
            }
            follows.then(|| repeat_buffer(&st, input)).flatten()
        };
        let (Some(out), Some(src)) = (repeat, src.upgrade()) else {
            c.encoded.fetch_add(1, Ordering::Relaxed);
            return gst::PadProbeReturn::Ok;
        };
        let n = c.repeated.fetch_add(1, Ordering::Relaxed) + 1;
        if n == 1 || n.is_multiple_of(1000) {
            debug!(
                repeated = n,
                encoded = c.encoded.load(Ordering::Relaxed),
                "unchanged frames sent as repeat pictures"
            );
        }
        // The source pad's probe above sees it go by like any encoded frame. A failed push
        // (flushing, stopping) is the encoder's next push's to report.
        let _ = src.push(out);
        // Consumed here: `Handled` with the buffer taken (with `Drop`, GStreamer 1.22 and the
        // bindings would both release it).
        drop(info.take_buffer());
        gst::PadProbeReturn::Handled
    });
    Some(counts)
}

/// Whether `encoder` has nothing left to refine: its `settled` property, true for encoders
/// without one.
fn settled(encoder: &gst::Element) -> bool {
    encoder.find_property("settled").is_none() || encoder.property::<bool>("settled")
}

/// The encoded buffer standing in for `input`, if a repeat may be sent now.
fn repeat_buffer(st: &State, input: &gst::BufferRef) -> Option<gst::Buffer> {
    if st.keyframe_pending {
        return None;
    }
    let offset = st.pts_offset?;
    let pts = input.pts()?;
    let au = match st.stream.repeat_picture() {
        Ok(au) => au,
        Err(why) => {
            tracing::trace!("unchanged frame encoded: {why}");
            return None;
        }
    };
    let pts = u64::try_from(i128::from(pts.nseconds()) + offset).ok()?;
    let mut out = gst::Buffer::from_mut_slice(au);
    {
        let out = out.get_mut()?;
        out.set_pts(gst::ClockTime::from_nseconds(pts));
        out.set_dts(gst::ClockTime::from_nseconds(pts));
        out.set_duration(input.duration());
        out.set_flags(gst::BufferFlags::DELTA_UNIT | gst::BufferFlags::MARKER);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    /// A buffer's bytes and flags as a sink got it.
    type Received = (Vec<u8>, gst::BufferFlags);

    /// x264enc with the host's settings, every third frame of a moving picture marked as an
    /// unchanged repeat, decoded by OpenH264: every frame decodes, each marked one shows exactly
    /// the picture before it, and the real frames after a repeat decode to their own pictures.
    #[test]
    fn repeat_pictures_decode_as_copies_of_the_picture_before() {
        gst::init().expect("gst init");
        if gst::ElementFactory::find("openh264dec").is_none() {
            panic!("openh264dec (gstreamer1.0-plugins-bad) is needed for this test");
        }
        let pipeline = gst::parse::launch(
            "videotestsrc num-buffers=34 pattern=ball \
             ! video/x-raw,format=NV12,width=320,height=240,framerate=30/1 \
             ! identity name=mark \
             ! x264enc name=encoder threads=1 sliced-threads=true speed-preset=ultrafast \
               tune=zerolatency pass=cbr bitrate=2000 key-int-max=0 bframes=0 \
               rc-lookahead=0 sync-lookahead=0 mb-tree=false dct8x8=false aud=false \
             ! video/x-h264,profile=main,stream-format=byte-stream,alignment=au \
             ! tee name=t \
             t. ! queue ! fakesink name=encoded sync=false \
             t. ! queue ! openh264dec ! video/x-raw,format=I420 ! fakesink name=decoded sync=false",
        )
        .expect("pipeline")
        .downcast::<gst::Pipeline>()
        .expect("a pipeline");
        let by = |n: &str| pipeline.by_name(n).expect(n);
        let seen = Arc::new(AtomicU32::new(0));
        let s = seen.clone();
        by("mark").static_pad("src").expect("src").add_probe(
            gst::PadProbeType::BUFFER,
            move |_, info| {
                let n = s.fetch_add(1, Ordering::SeqCst);
                // Frame 32 is lost on the way (as in the leaky queue): 33, marked, is then
                // encoded, since the picture before it may have changed.
                if n == 32 {
                    return gst::PadProbeReturn::Drop;
                }
                if n >= 3
                    && n.is_multiple_of(3)
                    && let Some(gst::PadProbeData::Buffer(b)) = &mut info.data
                {
                    b.make_mut().set_flags(gst::BufferFlags::DROPPABLE);
                }
                gst::PadProbeReturn::Ok
            },
        );
        let counts = install(&by("encoder")).expect("installed");
        // What reaches each sink, recorded by a probe (a pull thread started before the
        // pipeline plays could find the sink not yet started and stop at once).
        let record = |name: &str| {
            let got: Arc<Mutex<Vec<Received>>> = Arc::default();
            let store = got.clone();
            by(name).static_pad("sink").expect("sink pad").add_probe(
                gst::PadProbeType::BUFFER,
                move |_, info| {
                    if let Some(b) = info.buffer() {
                        let m = b.map_readable().expect("map");
                        lock(&store).push((m.to_vec(), b.flags()));
                    }
                    gst::PadProbeReturn::Ok
                },
            );
            got
        };
        let (encoded, decoded) = (record("encoded"), record("decoded"));
        pipeline.set_state(gst::State::Playing).expect("play");
        let bus = pipeline.bus().expect("bus");
        let msg = bus
            .timed_pop_filtered(
                gst::ClockTime::from_seconds(20),
                &[gst::MessageType::Eos, gst::MessageType::Error],
            )
            .expect("eos");
        assert_eq!(msg.type_(), gst::MessageType::Eos, "{msg:?}");
        pipeline.set_state(gst::State::Null).expect("stop");
        let (encoded, decoded) = (lock(&encoded).clone(), lock(&decoded).clone());

        // Frames 3, 6, … 30 were marked: ten repeats, none refused (each follows a real one);
        // 33 was marked too, but 32 before it was lost, so the encoder encoded it.
        assert_eq!(counts.repeated.load(Ordering::SeqCst), 10);
        assert_eq!(counts.encoded.load(Ordering::SeqCst), 1);
        // The source's frame numbers of what reached the encoder (32 was dropped).
        let frames: Vec<u32> = (0..34).filter(|&n| n != 32).collect();
        let repeat = |n: u32| (3..=30).contains(&n) && n.is_multiple_of(3);
        assert_eq!(encoded.len(), 33);
        assert_eq!(decoded.len(), 33, "every picture decodes");
        for (i, (au, flags)) in encoded.iter().enumerate() {
            let n = frames[i];
            assert_eq!(au.len() < 16, repeat(n), "frame {n}: {} bytes", au.len());
            assert_eq!(flags.contains(gst::BufferFlags::DELTA_UNIT), n > 0);
        }
        for i in 1..33 {
            let same = decoded[i].0 == decoded[i - 1].0;
            let (n, before) = (frames[i], frames[i - 1]);
            assert_eq!(same, repeat(n), "frame {n} against {before}");
        }
    }
}
