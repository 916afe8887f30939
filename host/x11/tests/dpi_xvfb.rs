//! DPI against a real Xvfb: RESOURCE_MANAGER as any X client (and `xrdb`) reads it back, the
//! core DPI `xdpyinfo` reports, and what is learnt from an XSETTINGS manager.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use common::{Xvfb, tool_output};
use selkies_x11::dpi::{DpiError, set_dpi};
use selkies_x11::resize::resize_screen;
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{
    AtomEnum, ConnectionExt as _, CreateWindowAux, PropMode, Window, WindowClass,
};
use x11rb::rust_connection::RustConnection;
use x11rb::wrapper::ConnectionExt as _;

fn connect(display: &str) -> (RustConnection, Window) {
    let (conn, screen) = RustConnection::connect(Some(display)).expect("connect");
    let root = conn.setup().roots[screen].root;
    (conn, root)
}

fn resource_manager(display: &str) -> String {
    let (conn, root) = connect(display);
    let reply = conn
        .get_property(
            false,
            root,
            AtomEnum::RESOURCE_MANAGER,
            AtomEnum::ANY,
            0,
            1 << 20,
        )
        .expect("send")
        .reply()
        .expect("GetProperty");
    assert_eq!(reply.type_, u32::from(AtomEnum::STRING), "property type");
    String::from_utf8(reply.value).expect("utf-8")
}

fn core_dpi(display: &str) -> f64 {
    let (conn, screen) = RustConnection::connect(Some(display)).expect("connect");
    let s = &conn.setup().roots[screen];
    f64::from(s.width_in_pixels) * 25.4 / f64::from(s.width_in_millimeters)
}

#[test]
fn merges_into_existing_resources_and_sets_the_core_dpi() {
    let x = Xvfb::with_size("1920x1080");
    let d = x.display.as_str();
    {
        let (conn, root) = connect(d);
        let existing = "*background:\tgrey\nXft.antialias:\t1\nXft.dpi:\t96\n";
        conn.change_property8(
            PropMode::REPLACE,
            root,
            AtomEnum::RESOURCE_MANAGER,
            AtomEnum::STRING,
            existing.as_bytes(),
        )
        .expect("send")
        .check()
        .expect("ChangeProperty");
    }

    let report = set_dpi(Some(d), 144, Some(32)).expect("set_dpi");
    assert!(report.physical_size_set);
    assert!(!report.xsettings_manager);
    assert_eq!(report.xsettings_dpi, None);

    assert_eq!(
        resource_manager(d),
        "*background:\tgrey\nXft.antialias:\t1\nXft.dpi:\t144\nXcursor.size:\t32\n"
    );
    assert!((core_dpi(d) - 144.0).abs() < 0.5, "{}", core_dpi(d));
    if let Some(out) = tool_output("xdpyinfo", &[], d) {
        assert!(
            out.contains("resolution:    144x144 dots per inch"),
            "{out}"
        );
    }
    if let Some(out) = tool_output("xrdb", &["-query"], d) {
        assert!(out.contains("Xft.dpi:\t144\n"), "{out}");
        assert!(out.contains("*background:\tgrey\n"), "{out}");
    }

    // Again, without a cursor size: the earlier Xcursor.size stays, Xft.dpi is not duplicated.
    set_dpi(Some(d), 192, None).expect("set_dpi");
    assert_eq!(
        resource_manager(d),
        "*background:\tgrey\nXft.antialias:\t1\nXft.dpi:\t192\nXcursor.size:\t32\n"
    );
}

#[test]
fn creates_the_property_when_there_is_none_and_resize_keeps_the_dpi() {
    let x = Xvfb::with_size("2560x1440");
    let d = x.display.as_str();
    set_dpi(Some(d), 120, None).expect("set_dpi");
    assert_eq!(resource_manager(d), "Xft.dpi:\t120\n");
    resize_screen(Some(d), 1280, 720).expect("resize");
    assert!((core_dpi(d) - 120.0).abs() < 0.5, "{}", core_dpi(d));
}

/// Becomes an XSETTINGS manager the way xsettingsd does: a window holding
/// `_XSETTINGS_SETTINGS` that owns the `_XSETTINGS_S0` selection.
fn run_xsettings_manager(display: &str, dpi_times_1024: u32) -> RustConnection {
    let (conn, root) = connect(display);
    let window = conn.generate_id().expect("id");
    conn.create_window(
        0,
        window,
        root,
        -1,
        -1,
        1,
        1,
        0,
        WindowClass::INPUT_ONLY,
        0,
        &CreateWindowAux::new(),
    )
    .expect("send")
    .check()
    .expect("CreateWindow");
    let atom = |name: &str| {
        conn.intern_atom(false, name.as_bytes())
            .expect("send")
            .reply()
            .expect("InternAtom")
            .atom
    };
    let mut settings = vec![0u8, 0, 0, 0];
    settings.extend(1u32.to_le_bytes()); // serial
    settings.extend(1u32.to_le_bytes()); // one setting
    settings.extend([0, 0]); // integer
    settings.extend(7u16.to_le_bytes());
    settings.extend(b"Xft/DPI\0");
    settings.extend(0u32.to_le_bytes());
    settings.extend(dpi_times_1024.to_le_bytes());
    let settings_atom = atom("_XSETTINGS_SETTINGS");
    conn.change_property8(
        PropMode::REPLACE,
        window,
        settings_atom,
        settings_atom,
        &settings,
    )
    .expect("send")
    .check()
    .expect("ChangeProperty");
    conn.set_selection_owner(window, atom("_XSETTINGS_S0"), x11rb::CURRENT_TIME)
        .expect("send")
        .check()
        .expect("SetSelectionOwner");
    conn
}

#[test]
fn reports_what_a_running_xsettings_manager_publishes() {
    let x = Xvfb::with_size("1280x720");
    let d = x.display.as_str();
    let manager = run_xsettings_manager(d, 96 * 1024);
    let report = set_dpi(Some(d), 144, Some(24)).expect("set_dpi");
    assert!(report.xsettings_manager);
    assert_eq!(report.xsettings_dpi, Some(96.0));
    // RESOURCE_MANAGER is written regardless: non-GTK toolkits read it.
    assert_eq!(resource_manager(d), "Xft.dpi:\t144\nXcursor.size:\t24\n");

    drop(manager);
    // The manager's exit releases the selection; the next call sees no manager.
    let report = set_dpi(Some(d), 144, None).expect("set_dpi");
    assert!(!report.xsettings_manager);
}

#[test]
fn absurd_values_are_refused_before_touching_the_server() {
    let err = set_dpi(Some(":4242"), 0, None).expect_err("dpi 0");
    assert!(
        matches!(err, DpiError::OutOfRange { dpi: 0, .. }),
        "{err:?}"
    );
    let err = set_dpi(Some(":4242"), 96, Some(0)).expect_err("cursor 0");
    assert!(matches!(err, DpiError::OutOfRange { .. }), "{err:?}");
    let err = set_dpi(Some(":4242"), 96, None).expect_err("no server");
    assert!(matches!(err, DpiError::X11(_)), "{err:?}");
}
