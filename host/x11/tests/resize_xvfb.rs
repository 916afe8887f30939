//! RandR resize against a real Xvfb started large: what RandR itself, the core protocol and
//! the standard tools (`xdpyinfo`, `xrandr`) report after each resize.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use common::{Xvfb, tool_output};
use selkies_x11::resize::{ResizeError, current_size, resize_screen};
use x11rb::connection::Connection;
use x11rb::protocol::randr::{self, ConnectionExt as _};
use x11rb::rust_connection::RustConnection;

/// What a new client sees: (screen size in the connection setup, the connected output's CRTC
/// size from RandR GetScreenResources/GetCrtcInfo, names of every mode the server knows).
/// (RandR 1.0 GetScreenInfo is not used: x11rb 0.13 fails to parse Xvfb's reply.)
fn randr_state(display: &str) -> ((u16, u16), (u16, u16), Vec<String>) {
    let (conn, screen) = RustConnection::connect(Some(display)).expect("connect");
    let s = &conn.setup().roots[screen];
    let (root, size) = (s.root, (s.width_in_pixels, s.height_in_pixels));
    let res = conn
        .randr_get_screen_resources(root)
        .expect("send")
        .reply()
        .expect("GetScreenResources");
    let mut names = Vec::new();
    let mut offset = 0;
    for m in &res.modes {
        let end = offset + usize::from(m.name_len);
        names.push(String::from_utf8_lossy(&res.names[offset..end]).into_owned());
        offset = end;
    }
    let crtc_mode = res
        .outputs
        .iter()
        .map(|&o| {
            conn.randr_get_output_info(o, res.config_timestamp)
                .expect("send")
                .reply()
                .expect("output info")
        })
        .find(|o| o.connection == randr::Connection::CONNECTED)
        .map(|o| {
            let crtc = conn
                .randr_get_crtc_info(o.crtc, res.config_timestamp)
                .expect("send")
                .reply()
                .expect("crtc info");
            (crtc.width, crtc.height)
        })
        .expect("a connected output");
    (size, crtc_mode, names)
}

fn assert_screen(display: &str, w: u16, h: u16) {
    let (screen, crtc, _) = randr_state(display);
    assert_eq!(screen, (w, h), "setup size");
    assert_eq!(crtc, (w, h), "CRTC size");
    assert_eq!(current_size(Some(display)).expect("current_size"), (w, h));
    if let Some(out) = tool_output("xdpyinfo", &[], display) {
        assert!(
            out.contains(&format!("dimensions:    {w}x{h} pixels")),
            "xdpyinfo: {out}"
        );
    }
    if let Some(out) = tool_output("xrandr", &[], display) {
        assert!(
            out.contains(&format!("current {w} x {h},")),
            "xrandr: {out}"
        );
    }
}

#[test]
fn resizes_down_to_odd_sizes_and_back_up() {
    let x = Xvfb::with_size("3840x2160");
    let d = x.display.as_str();
    assert_screen(d, 3840, 2160);

    assert_eq!(
        resize_screen(Some(d), 1280, 720).expect("1280x720"),
        (1280, 720)
    );
    assert_screen(d, 1280, 720);

    // 1366 is not a multiple of CVT's 8-pixel cell: the screen must still be exactly 1366.
    assert_eq!(
        resize_screen(Some(d), 1366, 768).expect("1366x768"),
        (1366, 768)
    );
    assert_screen(d, 1366, 768);

    // Odd sizes are rounded up to even (docs/protocol.md §4.1 `r`).
    assert_eq!(resize_screen(Some(d), 1365, 767).expect("odd"), (1366, 768));
    assert_screen(d, 1366, 768);

    assert_eq!(
        resize_screen(Some(d), 1920, 1080).expect("1080p"),
        (1920, 1080)
    );
    assert_screen(d, 1920, 1080);

    // The Xvfb's own mode is reused, not duplicated.
    assert_eq!(
        resize_screen(Some(d), 3840, 2160).expect("back"),
        (3840, 2160)
    );
    assert_screen(d, 3840, 2160);
    let (_, _, names) = randr_state(d);
    assert_eq!(
        names.iter().filter(|n| n.starts_with("3840x2160")).count(),
        1,
        "{names:?}"
    );
}

#[test]
fn modes_we_created_do_not_pile_up() {
    let x = Xvfb::with_size("2560x1600");
    let d = x.display.as_str();
    for (w, h) in [(1280, 720), (1300, 700), (1400, 900), (1024, 768)] {
        resize_screen(Some(d), w, h).expect("resize");
    }
    let (_, _, names) = randr_state(d);
    // The server's own mode plus the one in use; the three earlier ones were destroyed.
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.contains(&"1024x768".to_owned()), "{names:?}");
}

#[test]
fn physical_size_follows_so_the_dpi_stays() {
    let x = Xvfb::with_size("3840x2160");
    let d = x.display.as_str();
    resize_screen(Some(d), 1920, 1080).expect("resize");
    let (conn, screen) = RustConnection::connect(Some(d)).expect("connect");
    let s = &conn.setup().roots[screen];
    let dpi = f64::from(s.width_in_pixels) * 25.4 / f64::from(s.width_in_millimeters);
    // Xvfb's default physical size is 100 DPI (reference: xdpyinfo "100x100 dots per inch").
    assert!((dpi - 100.0).abs() < 1.0, "{dpi}");
}

#[test]
fn beyond_the_framebuffer_is_a_clear_error_and_changes_nothing() {
    let x = Xvfb::with_size("1920x1080");
    let d = x.display.as_str();
    let err = resize_screen(Some(d), 2560, 1440).expect_err("Xvfb cannot grow");
    match &err {
        ResizeError::OutOfRange {
            width: 2560,
            height: 1440,
            max_width: 1920,
            max_height: 1080,
            ..
        } => {}
        other => panic!("unexpected error {other:?}"),
    }
    assert!(err.to_string().contains("Xvfb"), "{err}");
    assert_screen(d, 1920, 1080);

    let err = resize_screen(Some(d), 0, 720).expect_err("zero width");
    assert!(matches!(err, ResizeError::InvalidSize(0, 720)), "{err:?}");
}

#[test]
fn the_legacy_maximum_applies_before_the_server_limit() {
    let x = Xvfb::with_size("3840x2160");
    let d = x.display.as_str();
    // 16000x9000 fits into 7680x4320 by the ×0.9999 rule first; that then exceeds this Xvfb.
    let err = resize_screen(Some(d), 16000, 9000).expect_err("too large");
    assert!(
        matches!(
            err,
            ResizeError::OutOfRange {
                width: 7680,
                height: 4320,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn same_size_is_a_no_op() {
    let x = Xvfb::with_size("1920x1080");
    let d = x.display.as_str();
    assert_eq!(
        resize_screen(Some(d), 1920, 1080).expect("same"),
        (1920, 1080)
    );
    let (_, _, names) = randr_state(d);
    assert_eq!(names.len(), 1, "no mode created: {names:?}");
}

#[test]
fn unreachable_display_is_an_error() {
    let err = resize_screen(Some(":4242"), 1280, 720).expect_err("no server");
    assert!(matches!(err, ResizeError::X11(_)), "{err:?}");
    assert!(current_size(Some(":4242")).is_err());
}
