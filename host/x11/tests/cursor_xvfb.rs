//! The cursor watcher against a real Xvfb: a client sets root-window cursors (ARGB through
//! RENDER, and an all-transparent bitmap cursor) and the watcher must report each shape.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Xvfb;
use selkies_x11::{CursorImage, spawn_cursor_watcher};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::sync::mpsc::error::TryRecvError;
use x11rb::connection::Connection;
use x11rb::protocol::render::{ConnectionExt as _, CreatePictureAux, PictType};
use x11rb::protocol::xproto::{
    ChangeWindowAttributesAux, ConnectionExt as _, Cursor, ImageFormat, Window,
};
use x11rb::rust_connection::RustConnection;

const WAIT: Duration = Duration::from_secs(10);

/// A client that sets the root window's cursor (the pointer rests on the bare root).
struct Painter {
    conn: RustConnection,
    root: Window,
}

impl Painter {
    fn new(display: &str) -> Self {
        let (conn, screen) = RustConnection::connect(Some(display)).expect("connect");
        let root = conn.setup().roots[screen].root;
        Self { conn, root }
    }

    /// An ARGB cursor of `w`×`h` premultiplied pixels, made through RENDER.
    fn argb_cursor(&self, w: u16, h: u16, hot: (u16, u16), pixels: &[u32]) -> Cursor {
        let formats = self
            .conn
            .render_query_pict_formats()
            .expect("formats")
            .reply()
            .expect("formats");
        let format = formats
            .formats
            .iter()
            .find(|f| {
                f.type_ == PictType::DIRECT
                    && f.depth == 32
                    && f.direct.alpha_mask == 0xff
                    && f.direct.alpha_shift == 24
                    && f.direct.red_shift == 16
            })
            .expect("ARGB32 picture format")
            .id;
        let pixmap = self.conn.generate_id().expect("id");
        self.conn
            .create_pixmap(32, pixmap, self.root, w, h)
            .expect("pixmap");
        let gc = self.conn.generate_id().expect("id");
        self.conn
            .create_gc(gc, pixmap, &Default::default())
            .expect("gc");
        let data: Vec<u8> = pixels.iter().flat_map(|p| p.to_ne_bytes()).collect();
        self.conn
            .put_image(ImageFormat::Z_PIXMAP, pixmap, gc, w, h, 0, 0, 0, 32, &data)
            .expect("put image");
        let picture = self.conn.generate_id().expect("id");
        self.conn
            .render_create_picture(picture, pixmap, format, &CreatePictureAux::new())
            .expect("picture");
        let cursor = self.conn.generate_id().expect("id");
        self.conn
            .render_create_cursor(cursor, picture, hot.0, hot.1)
            .expect("cursor");
        cursor
    }

    /// A cursor whose mask is all zero: nothing is drawn.
    fn blank_cursor(&self) -> Cursor {
        let pixmap = self.conn.generate_id().expect("id");
        self.conn
            .create_pixmap(1, pixmap, self.root, 1, 1)
            .expect("pixmap");
        let gc = self.conn.generate_id().expect("id");
        self.conn
            .create_gc(gc, pixmap, &Default::default())
            .expect("gc");
        self.conn
            .put_image(
                ImageFormat::Z_PIXMAP,
                pixmap,
                gc,
                1,
                1,
                0,
                0,
                0,
                1,
                &[0, 0, 0, 0],
            )
            .expect("put image");
        let cursor = self.conn.generate_id().expect("id");
        self.conn
            .create_cursor(cursor, pixmap, pixmap, 0, 0, 0, 0, 0, 0, 0, 0)
            .expect("cursor");
        cursor
    }

    fn show(&self, cursor: Cursor) {
        let aux = ChangeWindowAttributesAux::new().cursor(cursor);
        self.conn
            .change_window_attributes(self.root, &aux)
            .expect("set cursor");
        self.conn
            .get_input_focus()
            .expect("sync")
            .reply()
            .expect("sync");
    }
}

/// Waits for a report that satisfies `pick`, skipping others.
fn expect(
    rx: &mut UnboundedReceiver<Arc<CursorImage>>,
    pick: impl Fn(&CursorImage) -> bool,
) -> Arc<CursorImage> {
    let deadline = Instant::now() + WAIT;
    loop {
        match rx.try_recv() {
            Ok(img) if pick(&img) => return img,
            Ok(_) => {}
            Err(TryRecvError::Empty) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("no matching cursor report: {e}"),
        }
    }
}

fn decode(png_bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let mut reader = png::Decoder::new(std::io::Cursor::new(png_bytes))
        .read_info()
        .expect("png header");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("png frame");
    assert_eq!(info.color_type, png::ColorType::Rgba);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

/// 24×20: opaque red left half, half-transparent white (premultiplied) right half.
fn test_pixels() -> Vec<u32> {
    (0..20 * 24)
        .map(|i| {
            if i % 24 < 12 {
                0xFFFF_0000
            } else {
                0x8080_8080
            }
        })
        .collect()
}

#[test]
fn argb_cursor_is_reported_with_size_hotspot_and_pixels() {
    let x = Xvfb::start();
    let mut rx = spawn_cursor_watcher(Some(&x.display), None).expect("watcher");
    let first = expect(&mut rx, |_| true);
    assert!(!first.png.is_empty(), "the current cursor comes first");
    let painter = Painter::new(&x.display);
    painter.show(painter.argb_cursor(24, 20, (5, 7), &test_pixels()));
    let img = expect(&mut rx, |i| i.serial != first.serial);
    assert_eq!((img.width, img.height, img.xhot, img.yhot), (24, 20, 5, 7));
    assert!(!img.invisible);
    let (w, h, rgba) = decode(&img.png);
    assert_eq!((w, h), (24, 20));
    assert_eq!(&rgba[..4], [255, 0, 0, 255], "left half opaque red");
    let right = &rgba[4 * 23..4 * 24];
    assert_eq!(
        right,
        [255, 255, 255, 128],
        "right half straight-alpha white"
    );
}

#[test]
fn cursor_size_scales_image_and_hotspot() {
    let x = Xvfb::start();
    let mut rx = spawn_cursor_watcher(Some(&x.display), Some(48)).expect("watcher");
    let first = expect(&mut rx, |_| true);
    assert_eq!((first.width, first.height), (48, 48));
    let painter = Painter::new(&x.display);
    painter.show(painter.argb_cursor(24, 20, (5, 7), &test_pixels()));
    let img = expect(&mut rx, |i| i.serial != first.serial);
    // 5·48/24 = 10; 7·48/20 = 16.8, rounded down as the legacy host does.
    assert_eq!(
        (img.width, img.height, img.xhot, img.yhot),
        (48, 48, 10, 16)
    );
    let (w, h, rgba) = decode(&img.png);
    assert_eq!((w, h), (48, 48));
    assert_eq!(&rgba[..4], [255, 0, 0, 255]);
}

#[test]
fn blank_cursor_is_invisible_and_shapes_are_cached() {
    let x = Xvfb::start();
    let mut rx = spawn_cursor_watcher(Some(&x.display), None).expect("watcher");
    let first = expect(&mut rx, |_| true);
    let painter = Painter::new(&x.display);
    let arrow = painter.argb_cursor(24, 20, (5, 7), &test_pixels());
    painter.show(arrow);
    let visible = expect(&mut rx, |i| i.serial != first.serial);
    assert!(!visible.invisible);
    painter.show(painter.blank_cursor());
    let blank = expect(&mut rx, |i| i.serial != visible.serial);
    assert!(blank.invisible, "all-zero cursor must be flagged");
    let (_, _, rgba) = decode(&blank.png);
    assert!(rgba.iter().all(|&b| b == 0));
    // Back to the first shape: same serial, the cached image itself.
    painter.show(arrow);
    let again = expect(&mut rx, |i| i.serial == visible.serial);
    assert!(Arc::ptr_eq(&again, &visible), "cached image reused");
}
