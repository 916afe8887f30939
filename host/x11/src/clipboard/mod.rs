//! Clipboard sharing (docs/protocol.md §6.4) through the X `CLIPBOARD` selection, natively: no
//! `xsel`/`xclip` processes. One thread owns its own X connection and an unmapped window; it
//! owns the selection for text from the browser and serves it (UTF8_STRING, STRING, TEXT,
//! TARGETS, TIMESTAMP; INCR for large data), and it learns of other clients' copies through
//! XFixes selection notifications (event-driven, no polling) and reads them, INCR included.
//!
//! The handle talks to the thread over a std channel and wakes it with a `ClientMessage`
//! sent to the thread's window through the same (thread-safe) connection, so the thread can
//! sleep in `wait_for_event` and still react at once to both X and the host.

mod read;
mod serve;
mod service;
mod transfer;

use std::sync::Arc;
use std::sync::mpsc;

use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{ClientMessageEvent, ConnectionExt as _, EventMask, Window};
use x11rb::rust_connection::RustConnection;

use crate::error::X11Error;
pub use serve::selection_notify;
use service::Service;

x11rb::atom_manager! {
    /// Atoms the clipboard thread uses.
    pub(crate) Atoms: AtomsCookie {
        CLIPBOARD,
        UTF8_STRING,
        TEXT,
        TARGETS,
        TIMESTAMP,
        MULTIPLE,
        INCR,
        IMAGE_PNG: b"image/png",
        // Our own: the property that receives conversions, the property touched to learn
        // the server time, and the ClientMessage type that wakes the thread.
        SELKIES_CLIPBOARD,
        SELKIES_CLIPBOARD_TIME,
        SELKIES_CLIPBOARD_WAKE,
    }
}

/// What the handle asks of the thread.
pub(crate) enum Cmd {
    Set(String),
    /// A PNG image from the browser (our extension, docs/protocol.md §13.3).
    SetPng(Vec<u8>),
    Request,
    Stop,
}

/// The handle, the text changes and the image changes of [`ClipboardService::spawn_with_images`].
pub type WithImages = (
    ClipboardHandle,
    UnboundedReceiver<String>,
    UnboundedReceiver<Vec<u8>>,
);

/// Starts clipboard services.
#[derive(Debug)]
pub struct ClipboardService;

impl ClipboardService {
    /// Connects to `display` (or `$DISPLAY` when `None`), subscribes to `CLIPBOARD` owner
    /// changes and starts the clipboard thread. Returns the handle and the channel of texts
    /// copied by other X clients: each change whose text differs from the last one known to
    /// the browser side, and the current text after every [`ClipboardHandle::request`].
    /// Text over `max_bytes` (UTF-8 bytes) is skipped with a log line, never truncated.
    ///
    /// The thread gives up the selection and exits when the last handle is dropped.
    pub fn spawn(
        display: Option<&str>,
        max_bytes: usize,
    ) -> Result<(ClipboardHandle, UnboundedReceiver<String>), X11Error> {
        Self::spawn_inner(display, max_bytes, None)
    }

    /// [`ClipboardService::spawn`] that also serves and reads `image/png`: images other X
    /// clients copy (offered without any text target) arrive on the second channel, up to
    /// `max_bytes` like text.
    pub fn spawn_with_images(
        display: Option<&str>,
        max_bytes: usize,
    ) -> Result<WithImages, X11Error> {
        let (png_tx, png_rx) = unbounded_channel();
        let (handle, rx) = Self::spawn_inner(display, max_bytes, Some(png_tx))?;
        Ok((handle, rx, png_rx))
    }

    fn spawn_inner(
        display: Option<&str>,
        max_bytes: usize,
        png_tx: Option<tokio::sync::mpsc::UnboundedSender<Vec<u8>>>,
    ) -> Result<(ClipboardHandle, UnboundedReceiver<String>), X11Error> {
        let (conn, screen) = RustConnection::connect(display)?;
        let (tx, rx) = unbounded_channel();
        let (cmd_tx, cmd_rx) = mpsc::channel();
        let conn = Arc::new(conn);
        let mut service = Service::new(conn.clone(), screen, max_bytes, tx, cmd_rx)?;
        service.png_tx = png_tx;
        let shared = Shared {
            conn,
            window: service.window(),
            wake: service.atoms().SELKIES_CLIPBOARD_WAKE,
            tx: cmd_tx,
        };
        std::thread::Builder::new()
            .name("x11-clipboard".into())
            .spawn(move || service.run())
            .map_err(X11Error::Thread)?;
        Ok((
            ClipboardHandle {
                shared: Arc::new(shared),
            },
            rx,
        ))
    }
}

/// Sender side of the clipboard thread; clone freely, share across threads. Calls never
/// wait for the X server: they queue work and wake the thread.
#[derive(Debug, Clone)]
pub struct ClipboardHandle {
    shared: Arc<Shared>,
}

impl ClipboardHandle {
    /// Owns `CLIPBOARD` with this text (browser → host, `cw`). X clients can then paste it
    /// as UTF8_STRING, TEXT or STRING (Latin-1, `?` for what it cannot hold).
    pub fn set_text(&self, text: String) -> Result<(), X11Error> {
        self.shared.send(Cmd::Set(text))
    }

    /// Owns `CLIPBOARD` with a PNG image (served as `image/png` only).
    pub fn set_png(&self, png: Vec<u8>) -> Result<(), X11Error> {
        self.shared.send(Cmd::SetPng(png))
    }

    /// Asks for the current `CLIPBOARD` text (`cr`); it arrives on the changes channel,
    /// even when unchanged. Nothing arrives when the clipboard is empty or not text.
    pub fn request(&self) -> Result<(), X11Error> {
        self.shared.send(Cmd::Request)
    }
}

#[derive(Debug)]
struct Shared {
    conn: Arc<RustConnection>,
    window: Window,
    wake: u32,
    tx: mpsc::Sender<Cmd>,
}

impl Shared {
    fn send(&self, cmd: Cmd) -> Result<(), X11Error> {
        self.tx.send(cmd).map_err(|_| X11Error::Stopped)?;
        // An event with an empty mask goes to the window's creator: our own thread.
        let event = ClientMessageEvent::new(32, self.window, self.wake, [0u32; 5]);
        self.conn
            .send_event(false, self.window, EventMask::NO_EVENT, event)?;
        self.conn.flush()?;
        Ok(())
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        if let Err(e) = self.send(Cmd::Stop) {
            tracing::debug!(error = %e, "clipboard thread already gone");
        }
    }
}
