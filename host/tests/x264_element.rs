//! `selkiesx264enc` (host/src/media/x264) against the real libx264 and a real H.264 decoder
//! (`openh264dec`): what it encodes decodes back to its input; the capture's damage hints are
//! what x264 skips on (a frame whose change is withheld from the hints decodes unchanged);
//! keyframe requests, bitrate changes and the refinement of a still screen behave as the host
//! relies on.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::sync::{Arc, Mutex};
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;
use selkies_host::media::x264::hints::{Damage, DamageLog, Rect};
use selkies_host::media::x264::{self, SelkiesX264Enc};
use selkies_x11::yuv::{FrameFormat, FrameLayout};

const W: u16 = 320;
const H: u16 = 240;
const BOX: u16 = 48;

fn layout() -> FrameLayout {
    FrameLayout::new(FrameFormat::Nv12, W, H)
}

/// An NV12 frame: a fine static pattern with a box at `at` whose texture depends on `seed`.
fn frame(at: Option<(u16, u16)>, seed: u32) -> Vec<u8> {
    let l = layout();
    let mut data = vec![0u8; l.size];
    let (yo, ys) = l.planes[0];
    let (uvo, uvs) = l.planes[1];
    for y in 0..usize::from(H) {
        for x in 0..usize::from(W) {
            data[yo + y * ys + x] = ((x * 7 + y * 3) ^ (x >> 3)) as u8 / 2 + 40;
        }
    }
    for y in 0..usize::from(H) / 2 {
        for x in 0..usize::from(W) {
            data[uvo + y * uvs + x] = 128 + ((x + y) & 7) as u8;
        }
    }
    if let Some((bx, by)) = at {
        for y in usize::from(by)..usize::from(by + BOX) {
            for x in usize::from(bx)..usize::from(bx + BOX) {
                let v = (x as u32 * 13 + y as u32 * 5 + seed * 29) % 160;
                data[yo + y * ys + x] = 60 + v as u8;
            }
        }
    }
    data
}

/// Noise over the whole frame: every macroblock changes, nothing predicts.
fn noise(seed: u32) -> Vec<u8> {
    let mut s = seed.wrapping_mul(2_654_435_761).max(1);
    (0..layout().size)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            s as u8
        })
        .collect()
}

struct Encoded {
    data: Vec<u8>,
    keyframe: bool,
}

struct Harness {
    pipeline: gst::Pipeline,
    src: gst::Element,
    enc: gst::Element,
    out: Arc<Mutex<Vec<Encoded>>>,
    log: Arc<Mutex<DamageLog>>,
    /// Frames the encoder has taken (encoded or skipped).
    taken: Arc<Mutex<u64>>,
    n: u64,
    pts: Duration,
}

impl Harness {
    fn new(kbps: u32) -> Self {
        gst::init().unwrap();
        assert!(
            x264::ensure_registered(),
            "libx264 build 164 is installed with GStreamer's x264 plugin"
        );
        let desc = format!(
            "appsrc name=src format=time is-live=false \
             caps=video/x-raw,format=NV12,width={W},height={H},framerate=30/1,colorimetry=bt709 \
             ! selkiesx264enc name=enc bitrate={kbps} vbv-buf-capacity=51 ! fakesink name=sink"
        );
        let pipeline = gst::parse::launch(&desc)
            .unwrap()
            .downcast::<gst::Pipeline>()
            .unwrap();
        let enc = pipeline.by_name("enc").unwrap();
        let log = Arc::new(Mutex::new(DamageLog::default()));
        enc.downcast_ref::<SelkiesX264Enc>()
            .unwrap()
            .follow_damage(log.clone());
        let out: Arc<Mutex<Vec<Encoded>>> = Arc::default();
        let store = out.clone();
        let sink = pipeline
            .by_name("sink")
            .unwrap()
            .static_pad("sink")
            .unwrap();
        sink.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if let Some(buf) = info.buffer() {
                store.lock().unwrap().push(Encoded {
                    data: buf.map_readable().unwrap().to_vec(),
                    keyframe: !buf.flags().contains(gst::BufferFlags::DELTA_UNIT),
                });
            }
            gst::PadProbeReturn::Ok
        });
        let taken: Arc<Mutex<u64>> = Arc::default();
        let count = taken.clone();
        // The chain function has run for a frame once the next frame arrives or the source pad
        // sees it: count on the way out of the encoder's sink pad (after the chain returns).
        enc.static_pad("sink")
            .unwrap()
            .add_probe(gst::PadProbeType::BUFFER, move |_, _| {
                *count.lock().unwrap() += 1;
                gst::PadProbeReturn::Ok
            });
        pipeline.set_state(gst::State::Playing).unwrap();
        Self {
            src: pipeline.by_name("src").unwrap(),
            taken,
            pipeline,
            enc,
            out,
            log,
            n: 0,
            pts: Duration::ZERO,
        }
    }

    /// Push a frame whose change since the previous one the capture reports as `damage`,
    /// `after` the previous frame.
    fn push(&mut self, data: Vec<u8>, damage: Damage, after: Duration) {
        self.log.lock().unwrap().record(self.n, damage);
        let mut buf = gst::Buffer::from_mut_slice(data);
        {
            let b = buf.get_mut().unwrap();
            self.pts += after;
            b.set_pts(gst::ClockTime::from_nseconds(self.pts.as_nanos() as u64));
            b.set_duration(gst::ClockTime::from_mseconds(33));
            b.set_offset(self.n);
        }
        self.n += 1;
        let ret = self
            .src
            .emit_by_name::<gst::FlowReturn>("push-buffer", &[&buf]);
        assert_eq!(ret, gst::FlowReturn::Ok);
    }

    /// Waits until the encoder has taken every frame pushed and finished with the last one.
    fn drain(&self) {
        for _ in 0..2000 {
            if *self.taken.lock().unwrap() == self.n {
                // The probe runs just before the chain function: let it finish.
                let pad = self.enc.static_pad("sink").unwrap();
                drop(pad.stream_lock());
                return;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        panic!("the encoder did not take {} frames", self.n);
    }

    /// Encoded units so far.
    fn units(&self) -> usize {
        self.out.lock().unwrap().len()
    }

    fn finish(self) -> Vec<Encoded> {
        let ret = self
            .src
            .emit_by_name::<gst::FlowReturn>("end-of-stream", &[]);
        assert_eq!(ret, gst::FlowReturn::Ok);
        wait_eos(&self.pipeline);
        self.pipeline.set_state(gst::State::Null).unwrap();
        std::mem::take(&mut *self.out.lock().unwrap())
    }
}

fn wait_eos(pipeline: &gst::Pipeline) {
    let bus = pipeline.bus().unwrap();
    for msg in bus.iter_timed(gst::ClockTime::from_seconds(20)) {
        match msg.view() {
            gst::MessageView::Eos(_) => return,
            gst::MessageView::Error(e) => panic!("pipeline error: {} ({:?})", e.error(), e.debug()),
            _ => {}
        }
    }
    panic!("no EOS within 20 s");
}

/// Decodes an H.264 byte stream with openh264dec; the luma plane of each picture.
fn decode(units: &[Encoded]) -> Vec<Vec<u8>> {
    let desc = "appsrc name=src format=time \
                caps=video/x-h264,stream-format=byte-stream,alignment=au \
                ! h264parse ! openh264dec ! videoconvert ! video/x-raw,format=I420 \
                ! fakesink name=sink";
    let pipeline = gst::parse::launch(desc)
        .unwrap()
        .downcast::<gst::Pipeline>()
        .unwrap();
    let got: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let store = got.clone();
    let ys = layout().planes[0].1;
    let sink = pipeline
        .by_name("sink")
        .unwrap()
        .static_pad("sink")
        .unwrap();
    sink.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        if let Some(buf) = info.buffer() {
            let map = buf.map_readable().unwrap();
            store
                .lock()
                .unwrap()
                .push(map[..ys * usize::from(H)].to_vec());
        }
        gst::PadProbeReturn::Ok
    });
    pipeline.set_state(gst::State::Playing).unwrap();
    let src = pipeline.by_name("src").unwrap();
    for (i, u) in units.iter().enumerate() {
        let mut buf = gst::Buffer::from_slice(u.data.clone());
        buf.get_mut()
            .unwrap()
            .set_pts(gst::ClockTime::from_mseconds(33 * i as u64));
        let ret = src.emit_by_name::<gst::FlowReturn>("push-buffer", &[&buf]);
        assert_eq!(ret, gst::FlowReturn::Ok);
    }
    let ret = src.emit_by_name::<gst::FlowReturn>("end-of-stream", &[]);
    assert_eq!(ret, gst::FlowReturn::Ok);
    wait_eos(&pipeline);
    pipeline.set_state(gst::State::Null).unwrap();
    std::mem::take(&mut *got.lock().unwrap())
}

/// PSNR of two luma planes, dB.
fn psnr(a: &[u8], b: &[u8]) -> f64 {
    let ys = layout().planes[0].1;
    let mut se = 0f64;
    for y in 0..usize::from(H) {
        for x in 0..usize::from(W) {
            let d = f64::from(a[y * ys + x]) - f64::from(b[y * ys + x]);
            se += d * d;
        }
    }
    let mse = se / (f64::from(W) * f64::from(H));
    10.0 * (255.0 * 255.0 / mse.max(1e-9)).log10()
}

fn luma(data: &[u8]) -> Vec<u8> {
    data[..layout().planes[0].1 * usize::from(H)].to_vec()
}

fn box_damage(from: (u16, u16), to: (u16, u16)) -> Damage {
    Damage::Rects(
        [from, to]
            .into_iter()
            .map(|(x, y)| Rect {
                x,
                y,
                width: BOX,
                height: BOX,
            })
            .collect(),
    )
}

const FRAME: Duration = Duration::from_millis(33);

#[test]
fn a_moving_box_decodes_to_the_input_and_only_hinted_changes_are_coded() {
    let mut h = Harness::new(8000);
    let mut inputs = Vec::new();
    let mut at = (10, 10);
    let first = frame(Some(at), 0);
    inputs.push(luma(&first));
    h.push(first, Damage::All, FRAME);
    for i in 1..12u32 {
        let next = (10 + (i * 19 % 250) as u16, 10 + (i * 11 % 180) as u16);
        let f = frame(Some(next), i);
        inputs.push(luma(&f));
        h.push(f, box_damage(at, next), FRAME);
        at = next;
    }
    // The screen changes, but the capture's damage says only the top left macroblock did
    // (where nothing changed): x264 must trust it and skip every macroblock, so this frame
    // decodes as the previous one. (With no damage at all it would be a refining frame, which
    // x264 analyses where the box was coded coarser than the goal.)
    let lied = frame(Some((200, 150)), 99);
    let corner = Rect {
        x: 0,
        y: 0,
        width: 16,
        height: 16,
    };
    h.push(lied, Damage::Rects(vec![corner]), FRAME);
    let units = h.finish();
    assert_eq!(units.len(), 13, "one access unit per frame");
    assert!(units[0].keyframe && units[1..].iter().all(|u| !u.keyframe));
    let decoded = decode(&units);
    assert_eq!(decoded.len(), 13);
    for (i, (d, s)) in decoded.iter().zip(&inputs).enumerate() {
        let p = psnr(d, s);
        assert!(p > 38.0, "frame {i}: PSNR {p:.1} dB");
    }
    // Where the withheld box is, the picture is the previous one (elsewhere x264 may refine
    // what earlier frames coded coarsely).
    let ys = layout().planes[0].1;
    let region = |d: &[u8]| -> Vec<u8> {
        (150..150 + usize::from(BOX))
            .flat_map(|y| d[y * ys + 200..y * ys + 200 + usize::from(BOX)].to_vec())
            .collect()
    };
    assert!(
        region(&decoded[12]) == region(&decoded[11]),
        "the withheld change was not skipped"
    );
    // A fully skipped 320x240 P-frame is a few bytes; the box frames are far larger.
    assert!(units[12].data.len() < 40, "{} bytes", units[12].data.len());
    assert!(units[5].data.len() > 200, "{} bytes", units[5].data.len());
}

#[test]
fn a_keyframe_request_makes_the_next_frame_an_idr_with_headers() {
    let mut h = Harness::new(4000);
    for i in 0..4 {
        h.push(frame(Some((i * 10, 0)), i.into()), Damage::All, FRAME);
    }
    h.drain();
    let ev = gst::event::CustomUpstream::new(gst::Structure::new_empty("GstForceKeyUnit"));
    assert!(h.enc.static_pad("src").unwrap().send_event(ev));
    for i in 4..6 {
        h.push(frame(Some((i * 10, 0)), i.into()), Damage::All, FRAME);
    }
    let units = h.finish();
    let keys: Vec<bool> = units.iter().map(|u| u.keyframe).collect();
    assert_eq!(keys, [true, false, false, false, true, false]);
    // SPS (NAL type 7) leads the requested IDR.
    assert_eq!(units[4].data[..5], [0, 0, 0, 1, 0x67]);
}

#[test]
fn a_lower_bitrate_applies_from_the_next_frame() {
    let mut h = Harness::new(8000);
    for i in 0..30 {
        h.push(noise(i), Damage::All, FRAME);
    }
    h.drain();
    let switched = h.units();
    h.enc.set_property("bitrate", 1000u32);
    for i in 30..60 {
        h.push(noise(i), Damage::All, FRAME);
    }
    let units = h.finish();
    // Bits per second of stream (30 frames pushed a second, whether coded or skipped).
    let kbps = |u: &[Encoded], frames: f64| {
        u.iter().map(|u| u.data.len()).sum::<usize>() as f64 * 8.0 / (frames / 30.0) / 1000.0
    };
    let (before, after) = (
        kbps(&units[1..switched], 29.0),
        kbps(&units[switched..], 30.0),
    );
    assert!(
        before > 4000.0,
        "{before:.0} kbit/s at an 8000 kbit/s target"
    );
    assert!(after < 1500.0, "{after:.0} kbit/s at a 1000 kbit/s target");
}

#[test]
fn a_still_screen_after_motion_is_refined_until_settled() {
    let mut h = Harness::new(300);
    let still = frame(Some((100, 100)), 7);
    for i in 0..10 {
        h.push(noise(i), Damage::All, FRAME);
    }
    h.push(still.clone(), Damage::All, FRAME);
    h.drain();
    let coarse_at = h.units() - 1;
    assert!(!h.enc.property::<bool>("settled"), "coarse after motion");
    let mut steps = 0;
    while !h.enc.property::<bool>("settled") {
        // The keep-alive of a still screen: nothing changed, half a second later.
        h.push(
            still.clone(),
            Damage::Rects(vec![]),
            Duration::from_millis(500),
        );
        h.drain();
        steps += 1;
        assert!(steps < 30, "never settled");
    }
    let units = h.finish();
    let decoded = decode(&units);
    let coarse = psnr(&decoded[coarse_at], &luma(&still));
    let refined = psnr(decoded.last().unwrap(), &luma(&still));
    assert!(
        refined > coarse + 10.0 && refined > 38.0,
        "{coarse:.1} → {refined:.1} dB in {steps} refining frames"
    );
}

/// A window of noise (the desktop suite's `videotestsrc pattern=snow`): nothing predicts it, so
/// only coarser QPs and, deep in debt, left-out frames hold it to the bitrate.
#[test]
fn a_noise_window_is_held_to_a_low_bitrate() {
    let mut h = Harness::new(500);
    let base = frame(None, 0);
    let (yo, ys) = layout().planes[0];
    let frames = 120u32;
    for i in 0..frames {
        let mut f = base.clone();
        let n = noise(i);
        for y in 0..120 {
            f[yo + y * ys..yo + y * ys + 160].copy_from_slice(&n[y * 160..y * 160 + 160]);
        }
        let damage = Damage::Rects(vec![Rect {
            x: 0,
            y: 0,
            width: 160,
            height: 120,
        }]);
        h.push(f, damage, Duration::from_micros(16_667));
    }
    let units = h.finish();
    let seconds = f64::from(frames) / 60.0;
    let kbps = units.iter().map(|u| u.data.len()).sum::<usize>() as f64 * 8.0 / seconds / 1000.0;
    assert!(kbps < 750.0, "{kbps:.0} kbit/s at a 500 kbit/s target");
    assert!(units.len() > 40, "{} of {frames} frames coded", units.len());
}
