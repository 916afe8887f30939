//! The clipboard service against a real Xvfb and a plain X client on the other side.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod clipboard_peer;
mod common;

use std::time::{Duration, Instant};

use clipboard_peer::{Peer, WAIT, recv_text as recv};
use common::Xvfb;
use selkies_x11::ClipboardService;
use x11rb::protocol::xproto::AtomEnum;

const MIB: usize = 1024 * 1024;

/// Text of about `bytes` UTF-8 bytes with 1-, 2-, 3- and 4-byte characters throughout, so
/// a chunk boundary inside a character would be caught.
fn big_text(bytes: usize) -> String {
    let unit = "abc é ж 日本語 🎉\n";
    unit.repeat(bytes / unit.len() + 1)
}

#[test]
fn copies_by_other_clients_are_reported_once_each() {
    let x = Xvfb::start();
    let (_handle, mut rx) = ClipboardService::spawn(Some(&x.display), MIB).expect("spawn");
    let text = "Grüße, мир, 日本語 🎉";
    Peer::new(&x.display).own(text, 4096);
    assert_eq!(recv(&mut rx), text);
    // The same text copied again is no news for the browser; the next different text is.
    Peer::new(&x.display).own(text, 4096);
    Peer::new(&x.display).own("second", 4096);
    assert_eq!(recv(&mut rx), "second");
}

#[test]
fn megabyte_copy_arrives_through_incr() {
    let x = Xvfb::start();
    let (_handle, mut rx) = ClipboardService::spawn(Some(&x.display), 4 * MIB).expect("spawn");
    let text = big_text(MIB);
    let done = Peer::new(&x.display).own(&text, 64 * 1024);
    let got = recv(&mut rx);
    assert_eq!(got.len(), text.len());
    assert!(got == text, "INCR text differs");
    done.recv_timeout(WAIT)
        .expect("owner finished its INCR send");
}

#[test]
fn oversized_copies_are_skipped_not_truncated() {
    let x = Xvfb::start();
    let (_handle, mut rx) = ClipboardService::spawn(Some(&x.display), 1000).expect("spawn");
    // One property over the limit.
    Peer::new(&x.display).own(&"x".repeat(5000), 1 << 20);
    // INCR over the limit: the service must still drain it so the owner is not left hanging.
    let done = Peer::new(&x.display).own(&big_text(200_000), 4096);
    done.recv_timeout(WAIT).expect("oversized INCR drained");
    // Exactly at the limit fits.
    let fits = "y".repeat(1000);
    Peer::new(&x.display).own(&fits, 1 << 20);
    assert_eq!(recv(&mut rx), fits, "the oversized copies must not arrive");
}

#[test]
fn browser_text_is_pasteable_in_every_text_target() {
    let x = Xvfb::start();
    let (handle, _rx) = ClipboardService::spawn(Some(&x.display), MIB).expect("spawn");
    let peer = Peer::new(&x.display);
    let text = "héllo wörld ✓";
    handle.set_text(text.into()).expect("set");
    let (kind, bytes) = peer.paste_when_owned(peer.atoms.UTF8_STRING);
    assert_eq!(
        (kind, bytes.as_slice()),
        (peer.atoms.UTF8_STRING, text.as_bytes())
    );
    let (kind, bytes) = peer.paste(peer.atoms.TEXT).expect("TEXT");
    assert_eq!(
        (kind, bytes.as_slice()),
        (peer.atoms.UTF8_STRING, text.as_bytes())
    );
    let (kind, bytes) = peer.paste(AtomEnum::STRING.into()).expect("STRING");
    assert_eq!(kind, u32::from(AtomEnum::STRING));
    assert_eq!(bytes, b"h\xe9llo w\xf6rld ?", "Latin-1 with ? for the rest");
    let (kind, bytes) = peer.paste(peer.atoms.TARGETS).expect("TARGETS");
    assert_eq!(kind, u32::from(AtomEnum::ATOM));
    let targets: Vec<u32> = bytes
        .chunks_exact(4)
        .map(|c| u32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    for t in [
        peer.atoms.UTF8_STRING,
        peer.atoms.TEXT,
        AtomEnum::STRING.into(),
    ] {
        assert!(targets.contains(&t), "TARGETS lacks {t}: {targets:?}");
    }
    let (kind, bytes) = peer.paste(peer.atoms.TIMESTAMP).expect("TIMESTAMP");
    assert_eq!((kind, bytes.len()), (u32::from(AtomEnum::INTEGER), 4));
    assert!(
        peer.paste(AtomEnum::PIXMAP.into()).is_none(),
        "non-text refused"
    );
    // Replacing the text replaces what is pasted.
    handle.set_text("zwei".into()).expect("set");
    let deadline = Instant::now() + WAIT;
    while peer.paste(peer.atoms.UTF8_STRING).expect("paste").1 != b"zwei" {
        assert!(Instant::now() < deadline, "new text never served");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn megabyte_browser_text_is_served_through_incr() {
    let x = Xvfb::start();
    let (handle, _rx) = ClipboardService::spawn(Some(&x.display), MIB).expect("spawn");
    let peer = Peer::new(&x.display);
    let text = big_text(MIB);
    handle.set_text(text.clone()).expect("set");
    let (kind, bytes) = peer.paste_when_owned(peer.atoms.UTF8_STRING);
    assert_eq!(kind, peer.atoms.UTF8_STRING);
    assert_eq!(bytes.len(), text.len());
    assert!(bytes == text.as_bytes(), "INCR bytes differ");
    // A second transfer right after works too (the first one's state is gone).
    let (_, again) = peer.paste(peer.atoms.UTF8_STRING).expect("paste again");
    assert_eq!(again.len(), text.len());
}

#[test]
fn request_answers_even_when_unchanged() {
    let x = Xvfb::start();
    let (handle, mut rx) = ClipboardService::spawn(Some(&x.display), MIB).expect("spawn");
    Peer::new(&x.display).own("abc", 4096);
    assert_eq!(recv(&mut rx), "abc");
    handle.request().expect("request");
    assert_eq!(recv(&mut rx), "abc");
    // While the service owns the selection it answers from its own text.
    handle.set_text("mine".into()).expect("set");
    handle.request().expect("request");
    assert_eq!(recv(&mut rx), "mine");
    // A copy equal to what the browser sent is not echoed back; a different one is.
    Peer::new(&x.display).own("mine", 4096);
    Peer::new(&x.display).own("theirs", 4096);
    assert_eq!(recv(&mut rx), "theirs");
}

#[test]
fn dropping_the_handle_gives_up_the_selection() {
    let x = Xvfb::start();
    let (handle, _rx) = ClipboardService::spawn(Some(&x.display), MIB).expect("spawn");
    let peer = Peer::new(&x.display);
    handle.set_text("bye".into()).expect("set");
    peer.paste_when_owned(peer.atoms.UTF8_STRING);
    let clone = handle.clone();
    drop(handle);
    // A clone keeps the service alive.
    assert_eq!(peer.paste(peer.atoms.UTF8_STRING).expect("paste").1, b"bye");
    drop(clone);
    let deadline = Instant::now() + WAIT;
    while peer.owner() != x11rb::NONE {
        assert!(Instant::now() < deadline, "selection still owned");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn multiple_converts_each_pair_and_refuses_the_rest() {
    let x = Xvfb::start();
    let (handle, _rx) = ClipboardService::spawn(Some(&x.display), MIB).expect("spawn");
    let peer = Peer::new(&x.display);
    handle.set_text("multi ✓".into()).expect("set");
    peer.paste_when_owned(peer.atoms.UTF8_STRING);
    let (pairs, one) = peer.paste_multiple();
    let a = peer.atoms;
    assert_eq!(
        pairs,
        [
            a.UTF8_STRING,
            a.PEER_ONE,
            AtomEnum::PIXMAP.into(),
            x11rb::NONE
        ]
    );
    assert_eq!(one, "multi ✓".as_bytes());
}

#[test]
fn a_requestor_vanishing_mid_incr_does_not_stop_the_service() {
    let x = Xvfb::start();
    let (handle, mut rx) = ClipboardService::spawn(Some(&x.display), 4 * MIB).expect("spawn");
    let text = big_text(MIB);
    handle.set_text(text.clone()).expect("set");
    let peer = Peer::new(&x.display);
    peer.paste_when_owned(peer.atoms.TIMESTAMP);
    Peer::new(&x.display).abandon_incr_paste();
    // Still serving, INCR included, and still watching other owners.
    let (_, bytes) = peer.paste(peer.atoms.UTF8_STRING).expect("paste");
    assert!(bytes == text.as_bytes(), "INCR after an abandoned one");
    Peer::new(&x.display).own("after", 4096);
    assert_eq!(recv(&mut rx), "after");
}
