//! Clipboard images (docs/protocol.md §13.3) against a real Xvfb: a PNG from the browser is
//! served as `image/png` only (through INCR when large) and the text targets are refused, and
//! the text clipboard works as before afterwards; an X owner offering both `image/png` and
//! `UTF8_STRING` (a browser's copied image) delivers its text and then its image.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod clipboard_peer;
mod common;

use std::time::{Duration, Instant};

use clipboard_peer::{Peer, WAIT, recv_text as recv};
use common::Xvfb;
use selkies_x11::ClipboardService;
use tokio::sync::mpsc::error::TryRecvError;
use x11rb::connection::Connection;
use x11rb::protocol::xproto::ConnectionExt as _;

const MIB: usize = 1024 * 1024;

fn image_png_atom(display: &str) -> u32 {
    let (conn, _) = x11rb::connect(Some(display)).expect("connect");
    let atom = conn
        .intern_atom(false, b"image/png")
        .expect("intern")
        .reply()
        .expect("reply")
        .atom;
    conn.flush().expect("flush");
    atom
}

#[test]
fn browser_png_is_served_as_image_png_only() {
    let x = Xvfb::start();
    let png_atom = image_png_atom(&x.display);
    let (handle, mut texts, _images) =
        ClipboardService::spawn_with_images(Some(&x.display), 4 * MIB).expect("spawn");
    // Not a real PNG: the clipboard carries bytes, and a megabyte exercises INCR.
    let png: Vec<u8> = (0..MIB as u32).map(|i| (i % 253) as u8).collect();
    handle.set_png(png.clone()).expect("set");
    let peer = Peer::new(&x.display);
    let (kind, bytes) = peer.paste_when_owned(png_atom);
    assert_eq!(kind, png_atom);
    assert!(bytes == png, "the image differs after INCR");
    let (_, targets) = peer.paste(peer.atoms.TARGETS).expect("targets");
    let targets: Vec<u32> = targets
        .chunks_exact(4)
        .map(|c| u32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    assert!(targets.contains(&png_atom), "{targets:?}");
    assert!(!targets.contains(&peer.atoms.UTF8_STRING), "{targets:?}");
    assert_eq!(peer.paste(peer.atoms.UTF8_STRING), None, "no text to paste");
    // Text copied elsewhere afterwards arrives as before.
    Peer::new(&x.display).own("text again", 4096);
    assert_eq!(recv(&mut texts), "text again");
}

#[test]
fn an_owner_offering_image_and_text_delivers_both() {
    let x = Xvfb::start();
    let png_atom = image_png_atom(&x.display);
    let (_handle, mut texts, mut images) =
        ClipboardService::spawn_with_images(Some(&x.display), 4 * MIB).expect("spawn");
    let png: Vec<u8> = b"\x89PNG\r\n\x1a\n not really a picture".to_vec();
    let peer = Peer::new(&x.display);
    let utf8 = peer.atoms.UTF8_STRING;
    let asked = peer.own_targets(vec![
        (png_atom, png.clone()),
        (utf8, b"https://example.invalid/cat.png".to_vec()),
    ]);
    // The text, for clients without images (the legacy client), as before.
    assert_eq!(recv(&mut texts), "https://example.invalid/cat.png");
    // Then the image, for clients that opted in.
    let deadline = Instant::now() + WAIT;
    let got = loop {
        match images.try_recv() {
            Ok(p) => break p,
            Err(TryRecvError::Empty) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("no clipboard image: {e}"),
        }
    };
    assert_eq!(got, png);
    let asked: Vec<u32> = asked.try_iter().collect();
    assert!(
        asked.contains(&png_atom) && asked.contains(&utf8),
        "{asked:?}"
    );
}
