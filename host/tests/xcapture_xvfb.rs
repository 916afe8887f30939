//! The damage-driven capture source on a real Xvfb: a colour painted on the root window reaches
//! the buffers the source pushes (stamped with running times), and `--capture=auto` falls back
//! to ximagesrc on a server without MIT-SHM while `--capture=xshm` refuses to start there;
//! for software encoders the source pushes NV12/I420 converted from the damaged rows itself; a
//! keyframe request travelling upstream into the encoder makes a static screen push a frame, and
//! releases a capture held until its peer connects; keep-alive pushes of an unchanged screen are
//! marked as repeats for the encoder's stand-in (`media/repeat_frame.rs`); repaints that change
//! no pixel push nothing, and a repaint that changes a few tells the encoder those blocks only;
//! a pointer drawn into the frames follows the pointer and leaves nothing behind. The sink keeps
//! no buffer, so the capture writes its last frame again in place, as behind a real encoder.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use selkies_host::media::xcapture::{CaptureHandle, VideoSource};
use selkies_proto::config::CaptureMode;
use selkies_proto::encoder::registry::Upload;
use selkies_x11::yuv::{BandConverter, FrameFormat, FrameLayout, Matrix};

/// Starts the xshm capture of `display` into `appsrc` and plays `pipeline`; the returned list
/// fills with copies of the buffers reaching the element named `sink`.
fn capture_into_sink(
    pipeline: &gst::Pipeline,
    source: VideoSource,
    appsrc: &gst::Element,
    display: &str,
) -> (Arc<Mutex<Vec<gst::Buffer>>>, CaptureHandle) {
    let seen: Arc<Mutex<Vec<gst::Buffer>>> = Arc::default();
    let store = seen.clone();
    let sink_pad = pipeline
        .by_name("sink")
        .unwrap()
        .static_pad("sink")
        .unwrap();
    sink_pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        if let Some(buf) = info.buffer() {
            // A copy: the capture reuses its pooled buffers once downstream lets go of them.
            store.lock().unwrap().push(buf.copy_deep().expect("copy"));
        }
        gst::PadProbeReturn::Ok
    });
    let handle = source
        .start(appsrc, Some(display), 30)
        .expect("capture thread")
        .expect("an xshm handle");
    pipeline.set_state(gst::State::Playing).expect("playing");
    (seen, handle)
}

/// BGR of the pixel at (x, y) of a BGRx buffer `width` pixels wide.
/// `source ! chain ! fakesink name=sink`, parsed; returns the pipeline and the capture appsrc.
fn launch_into_fakesink(source: &VideoSource, chain: &str) -> (gst::Pipeline, gst::Element) {
    let desc = format!(
        "{} ! {chain} ! fakesink name=sink sync=false enable-last-sample=false",
        source.launch_fragment(30)
    );
    let pipeline = gst::parse::launch(&desc)
        .expect("launch")
        .downcast::<gst::Pipeline>()
        .expect("pipeline");
    let appsrc = pipeline.by_name("x11").expect("appsrc");
    (pipeline, appsrc)
}

fn pixel(buf: &gst::BufferRef, width: usize, x: usize, y: usize) -> [u8; 3] {
    let map = buf.map_readable().expect("readable");
    let at = (y * width + x) * 4;
    [map[at], map[at + 1], map[at + 2]]
}

#[test]
fn a_painted_colour_reaches_the_pushed_frames() {
    gst::init().expect("gst init");
    let x = common::Xvfb::sized(320, 240);
    let source = VideoSource::choose(CaptureMode::Xshm, Some(&x.display)).expect("MIT-SHM");
    assert!(matches!(source, VideoSource::Xshm(_)));
    let (pipeline, appsrc) = launch_into_fakesink(&source, "identity");
    let (seen, handle) = capture_into_sink(&pipeline, source, &appsrc, &x.display);

    // The first frame comes without any damage.
    wait_first_frame(&seen);
    paint(&x.display, "#ff8000");
    let found = wait_for_colour(&seen, [0x00, 0x80, 0xff]);
    pipeline.set_state(gst::State::Null).expect("stopped");
    assert!(found, "the painted colour never reached a pushed frame");
    // The handle keeps the appsrc alive; the thread must still notice the session is over.
    let deadline = Instant::now() + Duration::from_secs(10);
    while handle.is_running() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !handle.is_running(),
        "the capture thread outlived its pipeline"
    );
    let pts: Vec<_> = seen.lock().unwrap().iter().map(|b| b.pts()).collect();
    assert!(pts.iter().all(Option::is_some), "every frame is stamped");
    assert!(
        pts.windows(2).all(|w| w[0] <= w[1]),
        "running times never go back: {pts:?}"
    );
}

/// Waits (up to 5 s) for a frame pushed as the `from`th or later that satisfies `test`.
fn wait_for_frame(
    seen: &Mutex<Vec<gst::Buffer>>,
    from: usize,
    test: impl Fn(&gst::BufferRef) -> bool,
) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if seen.lock().unwrap().iter().skip(from).any(|b| test(b)) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn a_change_in_a_few_columns_is_fetched_without_disturbing_the_rest_of_its_rows() {
    gst::init().expect("gst init");
    let x = common::Xvfb::sized(320, 240);
    let source = VideoSource::choose(CaptureMode::Xshm, Some(&x.display)).expect("MIT-SHM");
    let (pipeline, appsrc) = launch_into_fakesink(&source, "identity");
    let (seen, _handle) = capture_into_sink(&pipeline, source, &appsrc, &x.display);
    wait_first_frame(&seen);
    paint(&x.display, "#ff8000");
    let orange = [0x00, 0x80, 0xff];
    assert!(wait_for_colour(&seen, orange));
    // A 40×40 solid green window at (200, 20): its damage spans a few columns of rows that
    // also hold orange to its left and right.
    let mut logo = Command::new("xlogo")
        .args(["-display", &x.display, "-geometry", "40x40+200+20"])
        .args(["-bg", "#00ff00", "-fg", "#00ff00"])
        .spawn()
        .expect("xlogo (x11-apps)");
    let green = [0x00, 0xff, 0x00];
    let both = wait_for_frame(&seen, 0, |b| {
        pixel(b, 320, 220, 40) == green
            && pixel(b, 320, 20, 40) == orange
            && pixel(b, 320, 300, 40) == orange
            && pixel(b, 320, 160, 120) == orange
    });
    let _ = logo.kill();
    let _ = logo.wait();
    // Its area is the root's again once it is gone.
    let from = seen.lock().unwrap().len();
    let restored = wait_for_frame(&seen, from, |b| {
        pixel(b, 320, 220, 40) == orange && pixel(b, 320, 20, 40) == orange
    });
    pipeline.set_state(gst::State::Null).expect("stopped");
    assert!(
        both,
        "the window's columns and the rest of its rows never showed together"
    );
    assert!(restored, "the window's area never showed the root again");
}

#[test]
fn keyframe_requests_make_a_static_screen_push_frames() {
    gst::init().expect("gst init");
    let x = common::Xvfb::sized(320, 240);
    let (pipeline, seen, _handle) = capture_following_requests(&x.display);
    wait_first_frame(&seen);
    std::thread::sleep(Duration::from_millis(300));

    // Nothing changes on screen: only keep-alive frames (one per 500 ms, so about 4 in 2 s),
    // unless the 20 requests below (one per 100 ms, each above the 33 ms frame interval) each
    // get a frame. Counts, not timings, tell the two apart.
    let sink_pad = sink_pad(&pipeline);
    let before = seen.lock().unwrap().len();
    for _ in 0..20 {
        // appsrc, at the top, does not handle it (false); the probe has seen it on the way.
        let _ = sink_pad.push_event(selkies_host::media::first_frame::keyframe_request());
        std::thread::sleep(Duration::from_millis(100));
    }
    let requested = seen.lock().unwrap().len() - before;
    // Other upstream events are not requests.
    let before = seen.lock().unwrap().len();
    for _ in 0..20 {
        let other = gst::Structure::builder("not-a-keyframe-request").build();
        let _ = sink_pad.push_event(gst::event::CustomUpstream::new(other));
        std::thread::sleep(Duration::from_millis(100));
    }
    let unrequested = seen.lock().unwrap().len() - before;
    pipeline.set_state(gst::State::Null).expect("stopped");
    assert!(
        requested >= 12,
        "20 keyframe requests on a static screen brought {requested} frames"
    );
    assert!(
        unrequested <= 8,
        "other upstream events brought {unrequested} frames in 2 s"
    );
}

/// The capture of `display` into a fakesink behind an `identity` standing in for the encoder,
/// which takes keyframe requests (x264enc: its next input becomes a keyframe); the capture
/// follows those requests.
fn capture_following_requests(
    display: &str,
) -> (gst::Pipeline, Arc<Mutex<Vec<gst::Buffer>>>, CaptureHandle) {
    let source = VideoSource::choose(CaptureMode::Xshm, Some(display)).expect("MIT-SHM");
    let (pipeline, appsrc) = launch_into_fakesink(&source, "identity name=encoder");
    let (seen, handle) = capture_into_sink(&pipeline, source, &appsrc, display);
    handle.follow_keyframe_requests(&pipeline.by_name("encoder").expect("encoder"));
    (pipeline, seen, handle)
}

/// The fakesink's pad, where upstream events (keyframe requests) are sent from.
fn sink_pad(pipeline: &gst::Pipeline) -> gst::Pad {
    pipeline
        .by_name("sink")
        .unwrap()
        .static_pad("sink")
        .unwrap()
}

/// Waits (up to 10 s) for the first pushed frame, which comes without any damage.
fn wait_first_frame(seen: &Mutex<Vec<gst::Buffer>>) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while seen.lock().unwrap().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!seen.lock().unwrap().is_empty(), "no first frame");
}

/// Paints the root window of `display` a solid colour.
fn paint(display: &str, colour: &str) {
    xsetroot(display, &["-solid", colour]);
}

/// Runs `xsetroot -display display args…`, which must succeed.
fn xsetroot(display: &str, args: &[&str]) {
    let status = Command::new("xsetroot")
        .args(["-display", display])
        .args(args)
        .status()
        .expect("xsetroot (x11-xserver-utils)");
    assert!(status.success());
}

/// Waits (up to 5 s) for a pushed frame whose centre is `bgr`.
fn wait_for_colour(seen: &Mutex<Vec<gst::Buffer>>, bgr: [u8; 3]) -> bool {
    wait_for_frame(seen, 0, |b| pixel(b, 320, 160, 120) == bgr)
}

#[test]
fn only_keep_alive_pushes_of_an_unchanged_screen_are_marked_as_repeats() {
    gst::init().expect("gst init");
    let x = common::Xvfb::sized(320, 240);
    let (pipeline, seen, _handle) = capture_following_requests(&x.display);
    wait_first_frame(&seen);
    let droppable = |b: &gst::Buffer| b.flags().contains(gst::BufferFlags::DROPPABLE);
    // The first frame goes to the encoder. (DAMAGE reports the whole screen once at the
    // start; the frame that brings is a repeat when it finds no pixel changed.)
    std::thread::sleep(Duration::from_millis(300));
    let start: Vec<bool> = seen.lock().unwrap().iter().map(droppable).collect();
    // Then ~2 keep-alives of the unchanged screen (one per 500 ms).
    std::thread::sleep(Duration::from_millis(1200));
    let quiet: Vec<bool> = seen.lock().unwrap()[start.len()..]
        .iter()
        .map(droppable)
        .collect();
    // A change, then a keyframe request on the unchanged screen.
    paint(&x.display, "#ff0000");
    assert!(wait_for_colour(&seen, [0x00, 0x00, 0xff]), "red never came");
    let changed = seen
        .lock()
        .unwrap()
        .iter()
        .rev()
        .find(|b| pixel(b, 320, 160, 120) == [0, 0, 0xff])
        .map(droppable);
    std::thread::sleep(Duration::from_millis(100));
    let before = seen.lock().unwrap().len();
    let _ = sink_pad(&pipeline).push_event(selkies_host::media::first_frame::keyframe_request());
    std::thread::sleep(Duration::from_millis(200));
    let requested: Vec<bool> = seen.lock().unwrap()[before..]
        .iter()
        .map(droppable)
        .collect();
    // Each frame carries the capture's sequence number through to the encoder, which tells a
    // frame dropped on the way (a repeat after it is then encoded instead).
    let offsets: Vec<u64> = seen.lock().unwrap().iter().map(|b| b.offset()).collect();
    pipeline.set_state(gst::State::Null).expect("stopped");
    assert!(
        offsets.windows(2).all(|w| w[1] == w[0] + 1),
        "frame numbers {offsets:?}"
    );

    assert!(!start.is_empty() && !start[0], "start: {start:?}");
    assert!(
        quiet.len() >= 2 && quiet.iter().all(|&d| d),
        "keep-alives of the unchanged screen are repeats: {quiet:?}"
    );
    assert_eq!(changed, Some(false), "a changed screen is no repeat");
    assert!(
        !requested.is_empty() && !requested[0],
        "a keyframe request's frame goes to the encoder: {requested:?}"
    );
}

#[test]
fn a_held_capture_pushes_nothing_after_its_first_frame_until_a_keyframe_request() {
    gst::init().expect("gst init");
    let x = common::Xvfb::sized(320, 240);
    let (pipeline, seen, handle) = capture_following_requests(&x.display);
    // What a new WebRTC session does before its peer connection is up.
    handle.hold_until_wanted(Duration::from_secs(60));
    wait_first_frame(&seen);
    std::thread::sleep(Duration::from_millis(100));

    // Held: neither damage nor the keep-alive (500 ms) pushes a frame.
    let before = seen.lock().unwrap().len();
    for colour in ["#0000ff", "#00ff00", "#ff0000", "#ffffff", "#ff8000"] {
        paint(&x.display, colour);
        std::thread::sleep(Duration::from_millis(250));
    }
    let held = seen.lock().unwrap().len() - before;

    // The host's keyframe request once the peer is connected: the screen as it is now goes out.
    let _ = sink_pad(&pipeline).push_event(selkies_host::media::first_frame::keyframe_request());
    let released = wait_for_colour(&seen, [0x00, 0x80, 0xff]);
    // And from then on damage flows as usual.
    paint(&x.display, "#0080ff");
    let flowing = wait_for_colour(&seen, [0xff, 0x80, 0x00]);
    pipeline.set_state(gst::State::Null).expect("stopped");
    assert_eq!(held, 0, "frames pushed while held for 1.25 s of changes");
    assert!(
        released,
        "the keyframe request did not bring the held screen"
    );
    assert!(flowing, "damage after the release did not reach a frame");
}

#[test]
fn without_mit_shm_auto_falls_back_and_xshm_refuses() {
    gst::init().expect("gst init");
    let x = common::Xvfb::start_with(320, 240, &["-extension", "MIT-SHM"]);
    let auto = VideoSource::choose(CaptureMode::Auto, Some(&x.display)).expect("auto");
    assert!(matches!(auto, VideoSource::Ximagesrc));
    assert!(auto.launch_fragment(30).starts_with("ximagesrc"));
    let err = VideoSource::choose(CaptureMode::Xshm, Some(&x.display)).expect_err("no MIT-SHM");
    assert!(err.to_string().contains("MIT-SHM"), "{err}");
}

/// The Y, U, V of pixel (x, y) of a frame of `layout`.
fn yuv_pixel(buf: &gst::BufferRef, layout: &FrameLayout, x: usize, y: usize) -> [u8; 3] {
    let map = buf.map_readable().expect("readable");
    let p = layout.planes;
    let luma = map[p[0].0 + y * p[0].1 + x];
    match layout.format {
        FrameFormat::Nv12 => {
            let at = p[1].0 + y / 2 * p[1].1 + x / 2 * 2;
            [luma, map[at], map[at + 1]]
        }
        _ => [
            luma,
            map[p[1].0 + y / 2 * p[1].1 + x / 2],
            map[p[2].0 + y / 2 * p[2].1 + x / 2],
        ],
    }
}

#[test]
fn software_encoders_get_their_own_format_converted_from_the_damaged_rows() {
    gst::init().expect("gst init");
    let x = common::Xvfb::sized(320, 240);
    for (upload, format) in [
        (Upload::System("NV12"), FrameFormat::Nv12),
        (Upload::System("I420"), FrameFormat::I420),
    ] {
        let source = VideoSource::choose(CaptureMode::Xshm, Some(&x.display))
            .expect("MIT-SHM")
            .converting_for(upload);
        // No videoconvert between the capture and the encoder.
        let chain = source.upload_chain(upload, 0, 1);
        assert!(!chain.contains("videoconvert"), "{chain}");
        let (pipeline, appsrc) = launch_into_fakesink(&source, &chain);
        let caps = appsrc.property::<Option<gst::Caps>>("caps").expect("caps");
        let s = caps.structure(0).expect("structure");
        assert_eq!(s.get::<&str>("format").unwrap(), format.caps_name());
        // 240 rows: GStreamer's default for SD, which the caps state.
        assert_eq!(s.get::<&str>("colorimetry").unwrap(), "bt601");
        let (seen, _handle) = capture_into_sink(&pipeline, source, &appsrc, &x.display);

        let layout = FrameLayout::new(format, 320, 240);
        // What the converter makes of the colour, from a solid patch.
        let colour = [0x30u8, 0x80, 0xf0, 0];
        let conv = BandConverter::new(layout, Matrix::Bt601);
        let patch: Vec<u8> = colour.iter().copied().cycle().take(320 * 2 * 4).collect();
        let mut want_frame = vec![0u8; layout.size];
        conv.convert(&patch, 120..122, &mut want_frame)
            .expect("convert");
        let want = yuv_pixel(&gst::Buffer::from_slice(want_frame), &layout, 160, 120);
        let status = Command::new("xsetroot")
            .args(["-display", &x.display, "-solid", "#f08030"])
            .status()
            .expect("xsetroot (x11-xserver-utils)");
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut found = false;
        while !found && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
            found = seen.lock().unwrap().iter().any(|b| {
                b.size() == layout.size
                    && [(0, 0), (160, 120), (319, 239)]
                        .iter()
                        .all(|&(px, py)| yuv_pixel(b, &layout, px, py) == want)
            });
        }
        pipeline.set_state(gst::State::Null).expect("stopped");
        assert!(
            found,
            "{format:?}: the painted colour {want:?} never reached a frame"
        );
        // Paint it back for the next format's run.
        Command::new("xsetroot")
            .args(["-display", &x.display, "-solid", "#000000"])
            .status()
            .expect("xsetroot");
    }
}

/// An XBM bitmap `w`×`h` with the bits of `set` (a rectangle x0..x1 × y0..y1) on.
fn xbm(w: usize, h: usize, set: Option<(usize, usize, usize, usize)>) -> String {
    let row_bytes = w.div_ceil(8);
    let mut bytes = Vec::new();
    for y in 0..h {
        for bx in 0..row_bytes {
            let mut b = 0u8;
            for bit in 0..8 {
                let x = bx * 8 + bit;
                if set
                    .is_some_and(|(x0, x1, y0, y1)| (x0..x1).contains(&x) && (y0..y1).contains(&y))
                {
                    b |= 1 << bit;
                }
            }
            bytes.push(format!("0x{b:02x}"));
        }
    }
    format!(
        "#define t_width {w}\n#define t_height {h}\nstatic unsigned char t_bits[] = {{\n{}}};\n",
        bytes.join(",")
    )
}

/// Sets the root window's background to the bitmap `file` (blue on black): the whole screen is
/// repainted, and damaged, whatever the bitmap holds.
fn paint_bitmap(display: &str, file: &std::path::Path) {
    let file = file.to_str().expect("a UTF-8 temporary path");
    xsetroot(
        display,
        &["-fg", "#0000ff", "-bg", "#000000", "-bitmap", file],
    );
}

/// The capture of `display` with the screen painted green, once a green frame was pushed.
fn capture_on_green(display: &str) -> (gst::Pipeline, Arc<Mutex<Vec<gst::Buffer>>>, CaptureHandle) {
    let (pipeline, seen, handle) = capture_following_requests(display);
    wait_first_frame(&seen);
    paint(display, "#00ff00");
    assert!(
        wait_for_colour(&seen, [0x00, 0xff, 0x00]),
        "green never came"
    );
    (pipeline, seen, handle)
}

#[test]
fn a_repaint_is_judged_by_its_pixels_not_its_damage() {
    use selkies_host::media::x264::hints::{Damage, Grid};
    gst::init().expect("gst init");
    let dir = tempfile::tempdir().expect("temp dir");
    let (blank, square) = (dir.path().join("blank.xbm"), dir.path().join("square.xbm"));
    std::fs::write(&blank, xbm(320, 240, None)).unwrap();
    // 100..120 × 70..90: the blocks (6, 4), (7, 4), (6, 5), (7, 5).
    std::fs::write(&square, xbm(320, 240, Some((100, 120, 70, 90)))).unwrap();
    let x = common::Xvfb::sized(320, 240);
    let (pipeline, seen, handle) = capture_on_green(&x.display);
    paint_bitmap(&x.display, &blank);
    assert!(wait_for_colour(&seen, [0, 0, 0]), "black never came");
    std::thread::sleep(Duration::from_millis(100));

    // The same bitmap again, ten times: every repaint damages the whole screen and changes
    // no pixel, so it pushes nothing; only the keep-alives (repeats) go out meanwhile.
    let before = seen.lock().unwrap().len();
    for _ in 0..10 {
        paint_bitmap(&x.display, &blank);
        std::thread::sleep(Duration::from_millis(60));
    }
    let repaints: Vec<bool> = seen.lock().unwrap()[before..]
        .iter()
        .map(|b| b.flags().contains(gst::BufferFlags::DROPPABLE))
        .collect();

    // Then a bitmap with a small square: the whole screen is damaged again, and the frames
    // it brings say that only the square's blocks changed.
    let after = seen.lock().unwrap().last().map(|b| b.offset()).unwrap();
    paint_bitmap(&x.display, &square);
    assert!(
        wait_for_frame(&seen, 0, |b| pixel(b, 320, 110, 80) == [0xff, 0, 0]),
        "the square never came"
    );
    let upto = seen
        .lock()
        .unwrap()
        .iter()
        .find(|b| pixel(b, 320, 110, 80) == [0xff, 0, 0])
        .map(|b| b.offset())
        .unwrap();
    pipeline.set_state(gst::State::Null).expect("stopped");
    let damage = handle.damage_log().lock().unwrap().since(after, upto);

    // Keep-alives (one per 250 ms) bring two or three frames in these 600 ms; a push for each
    // repaint would be ten.
    assert!(
        repaints.len() <= 3 && repaints.iter().all(|&d| d),
        "identical repaints push nothing but keep-alives: {repaints:?}"
    );
    let Some(damage @ Damage::Rects(_)) = damage else {
        panic!("the frames' changes are known: {damage:?}");
    };
    let grid = Grid::of(320, 240);
    let changed: Vec<(usize, usize)> = grid
        .changed(&damage)
        .iter()
        .enumerate()
        .filter(|(_, c)| **c)
        .map(|(i, _)| (i % grid.columns, i / grid.columns))
        .collect();
    assert_eq!(changed, [(6, 4), (7, 4), (6, 5), (7, 5)]);
}

/// Whether any pixel of the `side`×`side` box at (`x`, `y`) of a 320-wide BGRx frame is not
/// `bgr`.
fn box_differs(b: &gst::BufferRef, x: usize, y: usize, side: usize, bgr: [u8; 3]) -> bool {
    (y..y + side).any(|row| (x..x + side).any(|col| pixel(b, 320, col, row) != bgr))
}

#[test]
fn a_drawn_pointer_follows_the_pointer_and_leaves_nothing_behind() {
    gst::init().expect("gst init");
    let x = common::Xvfb::sized(320, 240);
    let (pipeline, seen, handle) = capture_on_green(&x.display);
    let green = [0x00, 0xff, 0x00];
    let pointer_to = |px: u32, py: u32| {
        let status = Command::new("xdotool")
            .args(["mousemove", &px.to_string(), &py.to_string()])
            .env("DISPLAY", &x.display)
            .status()
            .expect("xdotool");
        assert!(status.success());
    };
    pointer_to(80, 60);
    handle.set_pointer_drawn(true);
    let from = seen.lock().unwrap().len();
    // The pointer image (Xvfb's default X-shaped cursor) is drawn around its hot spot.
    assert!(
        wait_for_frame(&seen, from, |b| box_differs(b, 72, 52, 16, green)),
        "the pointer was never drawn at (80, 60)"
    );
    pointer_to(240, 180);
    let moved = seen.lock().unwrap().len();
    let found = wait_for_frame(&seen, moved, |b| {
        box_differs(b, 232, 172, 16, green) && !box_differs(b, 64, 44, 32, green)
    });
    // A few frames later (the capture keeps fetching the pointer's rows, now hashed alike),
    // the picture is still right.
    std::thread::sleep(Duration::from_millis(300));
    let last = seen.lock().unwrap().last().cloned().unwrap();
    pipeline.set_state(gst::State::Null).expect("stopped");
    assert!(found, "the pointer did not move to (240, 180) cleanly");
    assert!(box_differs(&last, 232, 172, 16, green) && !box_differs(&last, 64, 44, 32, green));
}
