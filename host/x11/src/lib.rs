//! selkies-x11: X11 input injection for the host.
//!
//! [`InputInjector::spawn`] opens its own X connection (pure Rust, x11rb) and starts a
//! dedicated OS thread fed by a channel; [`InputHandle`] is the cheap cloneable sender the
//! data-channel side uses. Input is injected with XTest: pointer motion and buttons from the
//! browser's mask (docs/protocol.md §6.2, with the legacy wheel bugs fixed), keys by keysym with a
//! planner that picks keycode and Shift/AltGr, and temporary bindings of spare keycodes for
//! keysyms the keymap lacks (§6.1, §4.1).
//!
//! The pure parts (keymap model, planner, keyboard and mouse state machines) are public so the
//! rest of the host and the tests can reason about them without an X server.
#![deny(unsafe_code)] // allowed only in shm_segment, the MIT-SHM memory
#![warn(missing_docs)]

pub mod block_diff;
pub mod block_map;
pub mod clipboard;
mod conn;
pub mod cursor;
pub mod cvt;
pub mod damage;
pub mod dpi;
mod error;
pub mod frame_rows;
mod injector;
pub mod keyboard;
pub mod keymap;
pub mod keysym;
pub mod mouse;
pub mod planner;
pub mod resize;
pub mod row_hash;
pub mod row_set;
pub mod shm_capture;
mod shm_segment;
pub mod yuv;

use std::sync::mpsc;
use std::time::Duration;

pub use clipboard::{ClipboardHandle, ClipboardService};
pub use cursor::{CursorImage, spawn_cursor_watcher};
pub use dpi::{DpiError, DpiReport, set_dpi};
pub use error::X11Error;
use injector::{Injector, Msg};
pub use resize::{ResizeError, current_size, resize_screen};

/// One input request from the browser, already parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputCommand {
    /// `m` (relative=false: absolute screen pixels) and `m2` (relative=true: dx,dy).
    Mouse {
        /// Absolute or relative motion.
        relative: bool,
        /// X coordinate or delta.
        x: i32,
        /// Y coordinate or delta.
        y: i32,
        /// Browser button mask (bits 0..2 buttons, 3 wheel-down, 4 wheel-up).
        mask: u8,
        /// Wheel clicks per wheel press (0 counts as 1).
        magnitude: u32,
    },
    /// `kd` (down=true) / `ku` (down=false) with an X keysym.
    Key {
        /// The keysym.
        keysym: u32,
        /// Press or release.
        down: bool,
    },
    /// `kr`: release every key and button this injector holds down.
    ReleaseAll,
}

/// Starts injectors.
#[derive(Debug)]
pub struct InputInjector;

impl InputInjector {
    /// Connects to `display` (or `$DISPLAY` when `None`), loads the keymap, and starts the
    /// injector thread. The thread releases what it holds, restores borrowed keycodes and
    /// exits when the last [`InputHandle`] is dropped.
    pub fn spawn(display: Option<&str>) -> Result<InputHandle, X11Error> {
        let injector = Injector::connect(display)?;
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("x11-input".into())
            .spawn(move || injector.run(rx))
            .map_err(X11Error::Thread)?;
        Ok(InputHandle { tx })
    }
}

/// Sender side of an injector; clone freely, share across threads.
#[derive(Debug, Clone)]
pub struct InputHandle {
    tx: mpsc::Sender<Msg>,
}

impl InputHandle {
    /// Queues a command; never blocks. Fails only when the injector thread has stopped
    /// (its X connection was lost).
    pub fn send(&self, cmd: InputCommand) -> Result<(), X11Error> {
        self.tx
            .send(Msg::Command(cmd))
            .map_err(|_| X11Error::Stopped)
    }

    /// Blocks until every command sent before has been executed by the X server, or until
    /// `timeout`. For tests and orderly shutdown, not for the input path.
    pub fn sync(&self, timeout: Duration) -> Result<(), X11Error> {
        let (done_tx, done_rx) = mpsc::channel();
        self.tx
            .send(Msg::Sync(done_tx))
            .map_err(|_| X11Error::Stopped)?;
        done_rx.recv_timeout(timeout).map_err(|e| match e {
            mpsc::RecvTimeoutError::Timeout => X11Error::Timeout,
            mpsc::RecvTimeoutError::Disconnected => X11Error::Stopped,
        })
    }
}
