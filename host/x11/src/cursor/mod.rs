//! Cursor tracking (docs/protocol.md §6.5): a thread with its own X connection listens for XFixes
//! `DisplayCursorNotify` events on the root window, converts each new cursor shape once
//! (cached by serial) and hands it to the host over a tokio channel. Event-driven: the thread
//! sleeps in `wait_for_event` between cursor changes, nothing polls.

mod image;

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use x11rb::connection::{Connection, RequestConnection};
use x11rb::protocol::Event;
use x11rb::protocol::xfixes::{self, ConnectionExt as _, CursorNotifyMask};
use x11rb::rust_connection::RustConnection;

pub use image::{
    CursorImage, MAX_CURSOR_SIZE, argb_to_rgba, convert_cursor, encode_png, resize_premultiplied,
};

use crate::error::X11Error;

/// Distinct cursor shapes kept converted. Applications rarely use more than a few dozen;
/// the bound only matters for a client that creates cursors without end.
const CACHE_LIMIT: usize = 256;

/// Connects to `display` (or `$DISPLAY`), subscribes to cursor changes and starts the
/// watcher thread. The current cursor is sent first, then one image per cursor change (the
/// cached `Arc` again when a shape comes back). `size` resizes every cursor to
/// `size`×`size` (`--cursor_size`); `None` keeps the application's size.
///
/// The thread ends when the X connection breaks or, at the next cursor change, once the
/// receiver has been dropped.
pub fn spawn_cursor_watcher(
    display: Option<&str>,
    size: Option<u32>,
) -> Result<UnboundedReceiver<Arc<CursorImage>>, X11Error> {
    let (conn, _, root) = crate::conn::connect(display)?;
    require_xfixes(&conn)?;
    conn.xfixes_select_cursor_input(root, CursorNotifyMask::DISPLAY_CURSOR)?;
    conn.flush()?;
    let (tx, rx) = unbounded_channel();
    let watcher = Watcher {
        conn,
        size,
        cache: HashMap::new(),
        tx,
    };
    std::thread::Builder::new()
        .name("x11-cursor".into())
        .spawn(move || watcher.run())
        .map_err(X11Error::Thread)?;
    Ok(rx)
}

/// Checks for XFixes and performs its version handshake, which the extension requires before
/// any other of its requests. Version 4 brings selection and cursor notifications.
pub(crate) fn require_xfixes(conn: &RustConnection) -> Result<(), X11Error> {
    if conn
        .extension_information(xfixes::X11_EXTENSION_NAME)?
        .is_none()
    {
        return Err(X11Error::MissingExtension("XFIXES"));
    }
    conn.xfixes_query_version(4, 0)?.reply()?;
    Ok(())
}

struct Watcher {
    conn: RustConnection,
    size: Option<u32>,
    cache: HashMap<u32, Arc<CursorImage>>,
    tx: UnboundedSender<Arc<CursorImage>>,
}

impl Watcher {
    fn run(mut self) {
        match self.watch() {
            Ok(()) => tracing::debug!("cursor watcher stopped: receiver dropped"),
            Err(e) => tracing::warn!(error = %e, "cursor watcher stopped"),
        }
    }

    fn watch(&mut self) -> Result<(), X11Error> {
        match self.send_current(None) {
            Ok(true) => {}
            Ok(false) => return Ok(()),
            // The first image can be refused (BadAccess while the server sets up); the next
            // cursor change brings one, so keep watching.
            Err(e) if !e.is_fatal() => tracing::debug!(error = %e, "initial cursor image refused"),
            Err(e) => return Err(e),
        }
        loop {
            match self.conn.wait_for_event()? {
                Event::XfixesCursorNotify(e) => match self.send_current(Some(e.cursor_serial)) {
                    Ok(true) => {}
                    Ok(false) => return Ok(()),
                    // A refused GetCursorImage loses one shape, not the watcher.
                    Err(e) if !e.is_fatal() => tracing::debug!(error = %e, "cursor image refused"),
                    Err(e) => return Err(e),
                },
                // Nothing else is selected; errors of our own requests arrive as replies.
                other => tracing::trace!(event = ?other, "ignored X event"),
            }
        }
    }

    /// Sends the image for `serial` from the cache, or fetches and converts the current
    /// cursor. Returns false once nobody listens any more.
    fn send_current(&mut self, serial: Option<u32>) -> Result<bool, X11Error> {
        let cached = serial.and_then(|s| self.cache.get(&s).cloned());
        let image = match cached {
            Some(image) => image,
            None => self.fetch()?,
        };
        Ok(self.tx.send(image).is_ok())
    }

    fn fetch(&mut self) -> Result<Arc<CursorImage>, X11Error> {
        // With the X SECURITY extension, a cursor whose creator has exited (a root cursor set
        // by a short-lived tool) is refused with BadAccess; the caller logs it and goes on.
        let r = self.conn.xfixes_get_cursor_image()?.reply()?;
        // The reply's serial names the cursor shown now, which may already be newer than the
        // event that woke us; keying on it keeps the cache truthful.
        if let Some(image) = self.cache.get(&r.cursor_serial) {
            return Ok(image.clone());
        }
        let image = convert_cursor(
            r.cursor_serial,
            &r.cursor_image,
            (r.width, r.height),
            (r.xhot, r.yhot),
            self.size,
        );
        tracing::debug!(
            serial = image.serial,
            width = r.width,
            height = r.height,
            xhot = r.xhot,
            yhot = r.yhot,
            invisible = image.invisible,
            png_bytes = image.png.len(),
            "new cursor shape"
        );
        if self.cache.len() >= CACHE_LIMIT {
            self.cache.clear();
        }
        self.cache.insert(image.serial, image.clone());
        Ok(image)
    }
}
