//! Test fixtures: a private Xvfb server per test (display chosen by Xvfb itself), an observer
//! client that maps a full-screen window, receives the input events, and reads server state, and
//! a runner for optional X tools.

#![allow(dead_code)] // each test binary uses a subset

use std::process::Command;

use x11rb::connection::Connection;
use x11rb::protocol::Event;
use x11rb::protocol::xproto::{
    ConnectionExt as _, CreateWindowAux, EventMask, InputFocus, Window, WindowClass,
};
use x11rb::rust_connection::RustConnection;

mod xvfb;
pub use xvfb::Xvfb;

/// A client watching input the way an application would.
pub struct Observer {
    pub conn: RustConnection,
    pub root: Window,
    pub window: Window,
}

impl Observer {
    /// Maps an override-redirect window over the whole screen that selects key and button
    /// events, and gives it the input focus.
    pub fn new(display: &str) -> Self {
        let (conn, screen) = RustConnection::connect(Some(display)).expect("observer connect");
        let s = &conn.setup().roots[screen];
        let (root, width, height, visual) =
            (s.root, s.width_in_pixels, s.height_in_pixels, s.root_visual);
        let window = conn.generate_id().expect("id");
        let aux = CreateWindowAux::new().override_redirect(1).event_mask(
            EventMask::KEY_PRESS
                | EventMask::KEY_RELEASE
                | EventMask::BUTTON_PRESS
                | EventMask::BUTTON_RELEASE,
        );
        conn.create_window(
            0,
            window,
            root,
            0,
            0,
            width,
            height,
            0,
            WindowClass::INPUT_OUTPUT,
            visual,
            &aux,
        )
        .expect("create window");
        conn.map_window(window).expect("map");
        conn.set_input_focus(InputFocus::POINTER_ROOT, window, x11rb::CURRENT_TIME)
            .expect("focus");
        let observer = Self { conn, root, window };
        observer.round_trip();
        observer
    }

    pub fn round_trip(&self) {
        self.conn
            .get_input_focus()
            .expect("request")
            .reply()
            .expect("reply");
    }

    /// Every event already generated for us: a round trip guarantees that events produced
    /// before it (the injector synced first) are in our queue.
    pub fn drain(&self) -> Vec<Event> {
        self.round_trip();
        let mut out = Vec::new();
        while let Some(e) = self.conn.poll_for_event().expect("poll") {
            out.push(e);
        }
        out
    }

    pub fn pointer(&self) -> (i16, i16, u16) {
        let r = self
            .conn
            .query_pointer(self.root)
            .expect("request")
            .reply()
            .expect("reply");
        (r.root_x, r.root_y, u16::from(r.mask))
    }

    pub fn keys_down(&self) -> Vec<u8> {
        let keys = self
            .conn
            .query_keymap()
            .expect("request")
            .reply()
            .expect("reply")
            .keys;
        (0..=255u8)
            .filter(|&kc| keys[usize::from(kc / 8)] & (1 << (kc % 8)) != 0)
            .collect()
    }

    /// The keymap as it is now: (min keycode, keysyms per keycode, keysyms).
    pub fn keymap(&self) -> (u8, usize, Vec<u32>) {
        let setup = self.conn.setup();
        let (min, max) = (setup.min_keycode, setup.max_keycode);
        let r = self
            .conn
            .get_keyboard_mapping(min, max - min + 1)
            .expect("request")
            .reply()
            .expect("reply");
        (min, usize::from(r.keysyms_per_keycode), r.keysyms)
    }

    pub fn row(&self, keycode: u8) -> Vec<u32> {
        let (min, per, syms) = self.keymap();
        let start = usize::from(keycode - min) * per;
        syms[start..start + per].to_vec()
    }

    /// Keycodes whose row lists `ks`.
    pub fn keycodes_with(&self, ks: u32) -> Vec<u8> {
        let (min, per, syms) = self.keymap();
        syms.chunks(per)
            .enumerate()
            .filter(|(_, row)| row.contains(&ks))
            .map(|(i, _)| min + i as u8)
            .collect()
    }

    /// What an application decodes from a key event: the keysym for `keycode` under `state`
    /// in the current keymap (group 1; Shift picks the second column; the modifier holding
    /// ISO_Level3_Shift picks columns 4/5 on keys that have them).
    pub fn keysym_of(&self, keycode: u8, state: u16) -> u32 {
        let row = self.row(keycode);
        let shift = state & 1 != 0;
        let level3 = state & self.level3_mask() != 0;
        let base = if level3 && row.get(4).is_some_and(|&s| s != 0) {
            4
        } else {
            0
        };
        match row.get(base + usize::from(shift)) {
            Some(&s) if s != 0 => s,
            _ => row[base],
        }
    }

    fn level3_mask(&self) -> u16 {
        let map = self
            .conn
            .get_modifier_mapping()
            .expect("request")
            .reply()
            .expect("reply");
        let per = map.keycodes.len() / 8;
        for m in 0..8 {
            let has = map.keycodes[m * per..(m + 1) * per]
                .iter()
                .any(|&kc| kc != 0 && self.row(kc).contains(&0xfe03));
            if has {
                return 1 << m;
            }
        }
        0
    }
}

/// Runs an X client tool against `display` and returns its stdout, or `None` when the tool
/// is not installed (x11-utils / x11-xserver-utils are optional on CI machines).
pub fn tool_output(tool: &str, args: &[&str], display: &str) -> Option<String> {
    let out = Command::new(tool)
        .args(args)
        .env("DISPLAY", display)
        .output()
        .ok()?;
    assert!(out.status.success(), "{tool} {args:?} failed: {out:?}");
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}
