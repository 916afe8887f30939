//! The capture's own BGRx → NV12/I420 conversion (`selkies_x11::yuv`) against GStreamer's
//! `videoconvert` on its test patterns, at an SD and an HD size (BT.601 / BT.709 by
//! GStreamer's default for caps without colorimetry): every sample within ±2 except chroma
//! at sharp edges, where the two filters differ by design (see [`compare`]), and the frame
//! layout the same as the one `videoconvert` produces.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::sync::{Arc, Mutex};

use gstreamer as gst;
use gstreamer::prelude::*;
use selkies_x11::yuv::{BandConverter, FrameFormat, FrameLayout, Matrix};

/// The first buffer of `videotestsrc pattern=… ! BGRx caps [! videoconvert ! format caps]`.
fn first_frame(pattern: &str, width: u16, height: u16, convert_to: Option<&str>) -> Vec<u8> {
    let convert = convert_to
        .map(|f| format!("! videoconvert ! video/x-raw,format={f}"))
        .unwrap_or_default();
    let desc = format!(
        "videotestsrc num-buffers=1 pattern={pattern} \
         ! video/x-raw,format=BGRx,width={width},height={height} {convert} \
         ! fakesink name=sink"
    );
    let pipeline = gst::parse::launch(&desc)
        .expect("launch")
        .downcast::<gst::Pipeline>()
        .expect("pipeline");
    let got: Arc<Mutex<Option<Vec<u8>>>> = Arc::default();
    let store = got.clone();
    let pad = pipeline
        .by_name("sink")
        .unwrap()
        .static_pad("sink")
        .unwrap();
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        if let Some(buf) = info.buffer() {
            let map = buf.map_readable().expect("readable");
            store.lock().unwrap().get_or_insert_with(|| map.to_vec());
        }
        gst::PadProbeReturn::Ok
    });
    pipeline.set_state(gst::State::Playing).expect("playing");
    let bus = pipeline.bus().expect("bus");
    let msg = bus
        .timed_pop_filtered(
            gst::ClockTime::from_seconds(20),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        )
        .expect("EOS or error");
    assert!(matches!(msg.view(), gst::MessageView::Eos(_)), "{msg:?}");
    pipeline.set_state(gst::State::Null).expect("stopped");
    got.lock().unwrap().take().expect("a buffer")
}

/// Hold `ours` to `reference` within ±2: every luma sample, and every chroma sample whose
/// source rows are flat across the columns either filter reads. `videoconvert` makes 4:2:0
/// chroma with a cosited 3-tap filter (pixels 2x−1, 2x, 2x+1: weights ¼ ½ ¼), the converter
/// with a centred 2×2 box (2x, 2x+1), so at a sharp vertical edge on an odd column the two
/// differ by design, not by colour. Returns (chroma samples checked, edge samples skipped).
fn compare(
    l: &FrameLayout,
    bgrx: &[u8],
    ours: &[u8],
    reference: &[u8],
    what: &str,
) -> (usize, usize) {
    let (w, h) = (l.width, l.height);
    let luma = l.planes[1].0;
    for (i, (a, b)) in ours[..luma].iter().zip(&reference[..luma]).enumerate() {
        assert!(
            a.abs_diff(*b) <= 2,
            "{what} {w}x{h} {:?}: luma {i}: {a} vs {b}",
            l.format
        );
    }
    let px = |x: usize, y: usize| &bgrx[(y * w + x) * 4..(y * w + x) * 4 + 3];
    let (mut checked, mut edges) = (0, 0);
    for cy in 0..h / 2 {
        for cx in 0..w / 2 {
            // Both filters average the two rows alike: what matters is each row's pixels
            // being equal across the columns either filter reads.
            let flat = (2 * cy..2 * cy + 2).all(|y| {
                let first = px(2 * cx, y);
                [2 * cx.max(1) - 1, 2 * cx + 1]
                    .iter()
                    .all(|&x| px(x, y) == first)
            });
            if !flat {
                edges += 1;
                continue;
            }
            checked += 1;
            let at = match l.format {
                FrameFormat::Nv12 => vec![
                    l.planes[1].0 + cy * l.planes[1].1 + 2 * cx,
                    l.planes[1].0 + cy * l.planes[1].1 + 2 * cx + 1,
                ],
                _ => vec![
                    l.planes[1].0 + cy * l.planes[1].1 + cx,
                    l.planes[2].0 + cy * l.planes[2].1 + cx,
                ],
            };
            for i in at {
                assert!(
                    ours[i].abs_diff(reference[i]) <= 2,
                    "{what} {w}x{h} {:?}: chroma of block ({cx},{cy}): {} vs {}",
                    l.format,
                    ours[i],
                    reference[i]
                );
            }
        }
    }
    (checked, edges)
}

#[test]
fn conversion_matches_videoconvert_within_two() {
    gst::init().expect("gst init");
    for (width, height) in [(640u16, 480u16), (1280, 720)] {
        for pattern in ["smpte", "ball", "gradient", "zone-plate"] {
            let bgrx = first_frame(pattern, width, height, None);
            for format in [FrameFormat::Nv12, FrameFormat::I420] {
                let reference = first_frame(pattern, width, height, Some(format.caps_name()));
                let layout = FrameLayout::new(format, width, height);
                assert_eq!(reference.len(), layout.size, "layout of {format:?}");
                let conv = BandConverter::new(layout, Matrix::for_height(height));
                // Converted in bands, as the capture does.
                let mut ours = vec![0u8; layout.size];
                let stride = usize::from(width) * 4;
                for band in selkies_x11::row_set::chunks(0..height, 100) {
                    let src = &bgrx[usize::from(band.start) * stride..];
                    conv.convert(src, band, &mut ours).expect("convert");
                }
                let (checked, edges) = compare(&layout, &bgrx, &ours, &reference, pattern);
                // Edges are a small part of each pattern (smpte's bottom strip has the most,
                // ~8 %): the rest, most of the frame, is held to ±2.
                assert!(
                    edges * 5 < checked,
                    "{pattern} {width}x{height} {format:?}: {edges} edge samples of {checked}"
                );
            }
        }
    }
}
