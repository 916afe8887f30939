//! Injection against a real Xvfb: what an X client observes after each kind of command.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use std::time::{Duration, Instant};

use common::{Observer, Xvfb};
use selkies_x11::{InputCommand, InputHandle, InputInjector};
use x11rb::connection::Connection;
use x11rb::protocol::Event;
use x11rb::protocol::xproto::ConnectionExt as _;

const WAIT: Duration = Duration::from_secs(5);

fn mouse(relative: bool, x: i32, y: i32, mask: u8, magnitude: u32) -> InputCommand {
    InputCommand::Mouse {
        relative,
        x,
        y,
        mask,
        magnitude,
    }
}

fn key(keysym: u32, down: bool) -> InputCommand {
    InputCommand::Key { keysym, down }
}

fn send_all(handle: &InputHandle, cmds: &[InputCommand]) {
    for &cmd in cmds {
        handle.send(cmd).expect("send");
    }
    handle.sync(WAIT).expect("sync");
}

/// The keysym the browser sends for a character (docs/protocol.md §4.1).
fn keysym_for(c: char) -> u32 {
    let cp = c as u32;
    if cp <= 0xff { cp } else { 0x0100_0000 | cp }
}

fn is_modifier(ks: u32) -> bool {
    (0xffe1..=0xffee).contains(&ks) || ks == 0xfe03
}

#[test]
fn absolute_and_relative_motion_move_the_pointer() {
    let x = Xvfb::start();
    let obs = Observer::new(&x.display);
    let input = InputInjector::spawn(Some(&x.display)).expect("spawn");

    send_all(&input, &[mouse(false, 321, 654, 0, 0)]);
    let (px, py, _) = obs.pointer();
    assert_eq!((px, py), (321, 654));

    send_all(&input, &[mouse(false, 1000, 500, 0, 0)]);
    send_all(&input, &[mouse(true, 3, -2, 0, 0)]);
    let (px, py, _) = obs.pointer();
    // Relative XTest motion goes through the server's pointer acceleration: the direction
    // and at least the requested distance are what is fixed.
    assert!(px >= 1003 && py <= 498, "pointer at {px},{py}");

    // Coordinates off screen are clamped by the server, never an error.
    send_all(&input, &[mouse(false, 99_999, -5, 0, 0)]);
    assert_eq!(obs.pointer().0, 1919);
}

#[test]
fn buttons_and_wheel_reach_a_client() {
    let x = Xvfb::start();
    let obs = Observer::new(&x.display);
    let input = InputInjector::spawn(Some(&x.display)).expect("spawn");

    send_all(
        &input,
        &[
            mouse(false, 100, 200, 0, 0),
            mouse(false, 100, 200, 1, 0),  // left down
            mouse(false, 100, 200, 0, 0),  // left up
            mouse(false, 100, 200, 8, 3),  // wheel down, magnitude 3
            mouse(false, 100, 200, 0, 3),  // wheel bit cleared: nothing
            mouse(false, 100, 200, 16, 0), // wheel up, magnitude 0 -> once
            mouse(false, 100, 200, 0, 0),
            mouse(false, 100, 200, 4, 0),     // right down
            mouse(false, 100, 200, 4 | 8, 1), // wheel while right held
            mouse(false, 100, 200, 4, 1),     // legacy scrolled again here
            mouse(false, 100, 200, 0, 0),
        ],
    );
    let seen: Vec<(bool, u8)> = obs
        .drain()
        .into_iter()
        .filter_map(|e| match e {
            Event::ButtonPress(b) => {
                assert_eq!((b.root_x, b.root_y, b.event), (100, 200, obs.window));
                Some((true, b.detail))
            }
            Event::ButtonRelease(b) => Some((false, b.detail)),
            _ => None,
        })
        .collect();
    let mut expected = vec![(true, 1), (false, 1)];
    expected.extend([(true, 5), (false, 5)].repeat(3));
    expected.extend([
        (true, 4),
        (false, 4),
        (true, 3),
        (true, 5),
        (false, 5),
        (false, 3),
    ]);
    assert_eq!(seen, expected);
}

#[test]
fn typed_text_decodes_to_the_sent_keysyms() {
    let x = Xvfb::start();
    let obs = Observer::new(&x.display);
    let input = InputInjector::spawn(Some(&x.display)).expect("spawn");

    // (keysym, hold Shift like the browser does while typing it)
    let mut typed: Vec<(u32, bool)> = "Hello é€中ß<|¦"
        .chars()
        .map(|c| (keysym_for(c), false))
        .collect();
    typed.extend([
        (0x3c, true),        // '<' typed as Shift+comma on a US browser: must not become '>'
        (0x31, true),        // '1' from an AZERTY browser (Shift held): Shift is lifted
        (0x41, true),        // 'A' with Shift held
        (0x0100_4e2d, true), // the CJK binding again, now reused
    ]);

    let mut decoded = Vec::new();
    for &(ks, shift) in &typed {
        let mut cmds = Vec::new();
        if shift {
            cmds.push(key(0xffe1, true));
        }
        cmds.extend([key(ks, true), key(ks, false)]);
        if shift {
            cmds.push(key(0xffe1, false));
        }
        send_all(&input, &cmds);
        // Decode each press against the keymap as it is right after the key was typed.
        for event in obs.drain() {
            if let Event::KeyPress(k) = event {
                let sym = obs.keysym_of(k.detail, u16::from(k.state));
                if !is_modifier(sym) {
                    decoded.push(sym);
                }
            }
        }
    }
    let expected: Vec<u32> = typed.iter().map(|&(ks, _)| ks).collect();
    assert_eq!(decoded, expected, "decoded {decoded:x?}");
    assert!(obs.keys_down().is_empty());
}

#[test]
fn key_repeat_represses() {
    let x = Xvfb::start();
    let obs = Observer::new(&x.display);
    let input = InputInjector::spawn(Some(&x.display)).expect("spawn");
    // Browser auto-repeat: kd, kd, kd, ku.
    send_all(
        &input,
        &[
            key(0x61, true),
            key(0x61, true),
            key(0x61, true),
            key(0x61, false),
        ],
    );
    let presses = obs
        .drain()
        .into_iter()
        .filter(|e| matches!(e, Event::KeyPress(_)))
        .count();
    assert_eq!(presses, 3);
    assert!(obs.keys_down().is_empty());
}

#[test]
fn release_all_leaves_nothing_down() {
    let x = Xvfb::start();
    let obs = Observer::new(&x.display);
    let input = InputInjector::spawn(Some(&x.display)).expect("spawn");

    send_all(
        &input,
        &[
            key(0xffe3, true), // Control_L
            key(0xffe1, true), // Shift_L
            key(0x61, true),
            key(0xe9, true),   // bound to a spare keycode
            key(0xfe03, true), // ISO_Level3_Shift
            mouse(false, 10, 10, 1 | 4, 0),
        ],
    );
    assert_eq!(obs.keys_down().len(), 5);
    let (_, _, mask) = obs.pointer();
    assert_eq!(mask & (0x100 | 0x400), 0x100 | 0x400); // Button1Mask | Button3Mask

    send_all(&input, &[InputCommand::ReleaseAll]);
    assert!(obs.keys_down().is_empty(), "down: {:?}", obs.keys_down());
    let (_, _, mask) = obs.pointer();
    assert_eq!(mask & 0x1f00, 0, "buttons still down: {mask:#x}");

    // The button mask was reset too: pressing again is a fresh press.
    send_all(
        &input,
        &[mouse(false, 10, 10, 1, 0), mouse(false, 10, 10, 0, 0)],
    );
    let presses = obs
        .drain()
        .into_iter()
        .filter(|e| matches!(e, Event::ButtonPress(b) if b.detail == 1))
        .count();
    assert_eq!(presses, 2);
}

#[test]
fn keymap_changes_by_others_are_followed_and_bindings_restored() {
    let x = Xvfb::start();
    let obs = Observer::new(&x.display);
    let input = InputInjector::spawn(Some(&x.display)).expect("spawn");

    // Another client binds adiaeresis to keycode 97 (empty in Xvfb's map); the injector must
    // see the MappingNotify and press that key instead of borrowing a spare one.
    assert_eq!(obs.row(97).iter().filter(|&&s| s != 0).count(), 0);
    obs.conn
        .change_keyboard_mapping(1, 97, 2, &[0xe4, 0xc4])
        .expect("request")
        .check()
        .expect("bind");
    send_all(&input, &[key(0xe4, true), key(0xe4, false)]);
    let pressed: Vec<u8> = obs
        .drain()
        .into_iter()
        .filter_map(|e| match e {
            Event::KeyPress(k) => Some(k.detail),
            _ => None,
        })
        .collect();
    assert_eq!(pressed, [97]);

    // A borrowed code is restored once the last handle is gone.
    send_all(&input, &[key(0xdf, true), key(0xdf, false)]);
    assert_eq!(obs.keycodes_with(0xdf).len(), 1);
    drop(input);
    let deadline = Instant::now() + WAIT;
    while !obs.keycodes_with(0xdf).is_empty() {
        assert!(Instant::now() < deadline, "ssharp binding not restored");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The other client's binding is left alone.
    assert_eq!(obs.keycodes_with(0xe4), [97]);
    obs.conn.flush().expect("flush");
}

#[test]
fn spawn_reports_an_unreachable_display() {
    let err = InputInjector::spawn(Some(":0.bogus")).expect_err("must fail");
    assert!(err.to_string().contains("connect"), "{err}");
}

#[test]
fn handles_report_a_lost_server() {
    let x = Xvfb::start();
    let input = InputInjector::spawn(Some(&x.display)).expect("spawn");
    send_all(&input, &[mouse(false, 1, 1, 0, 0)]);
    drop(x);
    // The thread notices on its next flush, exits, and later sends fail instead of piling up.
    let deadline = Instant::now() + WAIT;
    while input.send(mouse(false, 2, 2, 0, 0)).is_ok() {
        assert!(
            Instant::now() < deadline,
            "send still accepted after the server died"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(input.sync(WAIT).is_err());
}

#[test]
fn startup_releases_keys_left_down() {
    let x = Xvfb::start();
    let obs = Observer::new(&x.display);
    let first = InputInjector::spawn(Some(&x.display)).expect("spawn");
    send_all(&first, &[key(0xffe3, true), key(0xffe1, true)]); // Control_L, Shift_L
    // Simulate a host that died with keys down: the thread is parked, not cleaned up.
    std::mem::forget(first);
    assert_eq!(obs.keys_down().len(), 2);
    let _second = InputInjector::spawn(Some(&x.display)).expect("spawn");
    let deadline = Instant::now() + WAIT;
    while !obs.keys_down().is_empty() {
        assert!(
            Instant::now() < deadline,
            "still down: {:?}",
            obs.keys_down()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}
