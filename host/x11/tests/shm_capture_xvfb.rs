//! Damage-driven MIT-SHM capture against a real Xvfb: a client fills a rectangle on the root
//! window and the rectangle's pixels must show up in the captured frame buffer, while rows the
//! damage did not cover keep what the frame held before.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use std::time::{Duration, Instant};

use common::Xvfb;
use selkies_x11::shm_capture::{ShmCapture, wake_pair};
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{ConnectionExt as _, CreateGCAux, Rectangle};
use x11rb::rust_connection::RustConnection;

fn fill(display: &str, colour: u32, rect: Rectangle) {
    let (conn, screen) = RustConnection::connect(Some(display)).expect("connect");
    let root = conn.setup().roots[screen].root;
    let gc = conn.generate_id().unwrap();
    conn.create_gc(
        gc,
        root,
        &CreateGCAux::new()
            .foreground(colour)
            .subwindow_mode(x11rb::protocol::xproto::SubwindowMode::INCLUDE_INFERIORS),
    )
    .unwrap();
    conn.poly_fill_rectangle(root, gc, &[rect]).unwrap();
    conn.get_input_focus().unwrap().reply().unwrap();
}

fn pixel(frame: &[u8], width: u16, x: usize, y: usize) -> [u8; 3] {
    let at = (y * usize::from(width) + x) * 4;
    [frame[at], frame[at + 1], frame[at + 2]]
}

#[test]
fn a_drawn_rectangle_reaches_the_frame_and_only_its_rows_are_copied() {
    let x = Xvfb::with_size("640x480");
    let mut cap = ShmCapture::open(Some(&x.display)).expect("Xvfb offers MIT-SHM and DAMAGE");
    assert_eq!((cap.width(), cap.height()), (640, 480));
    let mut frame = vec![0u8; cap.frame_len()];
    cap.capture_full(&mut frame).unwrap();
    // Poison the frame: rows the damage does not cover must keep this value.
    frame.iter_mut().for_each(|b| *b = 0x55);

    let rect = Rectangle {
        x: 100,
        y: 200,
        width: 50,
        height: 20,
    };
    fill(&x.display, 0x00ff_8000, rect);

    let deadline = Instant::now() + Duration::from_secs(10);
    let mut rows = 0;
    while rows == 0 && Instant::now() < deadline {
        if cap.wait(Duration::from_millis(100)).unwrap().damaged {
            rows = cap.capture_damage(&mut frame).unwrap();
        }
    }
    assert!(rows >= 20, "damage covered {rows} rows");
    // BGRx: blue 0x00, green 0x80, red 0xff.
    assert_eq!(pixel(&frame, 640, 120, 210), [0x00, 0x80, 0xff]);
    // Same rows, outside the rectangle: fetched from the screen (the black root), not poison.
    assert_eq!(pixel(&frame, 640, 10, 210), [0, 0, 0]);
    // Rows far from the damage were not copied.
    assert_eq!(pixel(&frame, 640, 120, 10), [0x55; 3]);
    assert_eq!(pixel(&frame, 640, 120, 470), [0x55; 3]);
}

#[test]
fn the_pointer_image_is_readable() {
    let x = Xvfb::with_size("320x240");
    let cap = ShmCapture::open(Some(&x.display)).expect("open");
    let p = cap.pointer().expect("XFIXES cursor image");
    assert_eq!(p.pixels.len(), usize::from(p.width) * usize::from(p.height));
}

#[test]
fn a_waker_ends_the_wait_from_another_thread() {
    let x = Xvfb::with_size("320x240");
    let mut cap = ShmCapture::open(Some(&x.display)).expect("open");
    let (waker, wake) = wake_pair().expect("socket pair");
    // No wake-up sent: none seen (the screen's first damage may be).
    assert!(
        !cap.wait_or_wake(Duration::from_millis(50), &wake)
            .unwrap()
            .woken
    );

    // A wake-up sent before the wait is not lost.
    waker.wake();
    waker.wake();
    let seen = cap.wait_or_wake(Duration::from_secs(30), &wake).unwrap();
    assert!(seen.woken && !seen.damaged, "{seen:?}");

    // One sent while the capture waits ends the wait (well before the 30 s timeout, which would
    // report nothing).
    let w = waker.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        w.wake();
    });
    let seen = cap.wait_or_wake(Duration::from_secs(30), &wake).unwrap();
    t.join().unwrap();
    assert!(seen.woken, "{seen:?}");
    // Consumed: the next wait sees nothing again.
    assert!(
        !cap.wait_or_wake(Duration::from_millis(20), &wake)
            .unwrap()
            .woken
    );
}
