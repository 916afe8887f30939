//! Desktop integration (docs/protocol.md §5.9, §6.4, §6.5): the X clipboard both ways, cursor
//! shapes for the browser, and screen resize / DPI. The X11 work happens in `selkies_x11`'s own
//! threads; this module applies the `--enable_clipboard`/`--enable_cursors`/`--enable_resize`
//! policy and turns X events into data-channel messages.

use std::sync::{Arc, Mutex};

use crate::sync::lock;
use base64::Engine;
use selkies_proto::config::{ClipboardMode, Settings};
use selkies_proto::protocol::clipboard::{MAX_BYTES, clipboard_messages, image_messages};
use selkies_proto::protocol::{CursorMessage, ServerMessage, SystemAction};
use selkies_x11::{ClipboardHandle, ClipboardService, CursorImage};
use tokio::sync::mpsc;
use tracing::{info, warn};

/// Something on the desktop changed that the browser should learn about.
#[derive(Debug)]
pub enum DesktopEvent {
    /// Another X client copied this text.
    Clipboard(String),
    /// The pointer's shape changed.
    Cursor(Arc<CursorImage>),
    /// Another X client copied a PNG image (sent only to a client that opted in).
    ClipboardImage(Vec<u8>),
}

pub struct Desktop {
    mode: ClipboardMode,
    clipboard: Option<ClipboardHandle>,
    events: Mutex<Option<mpsc::UnboundedReceiver<DesktopEvent>>>,
    last_cursor: Mutex<Option<CursorMessage>>,
    /// The client on the current data channel sent `cio` (docs/protocol.md §13.3).
    images: std::sync::atomic::AtomicBool,
}

impl Desktop {
    /// Start the clipboard and cursor services the settings ask for; a failure disables that
    /// feature with a log line saying why, never the host.
    pub fn start(settings: &Settings) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let mode = settings.enable_clipboard;
        let clipboard = if mode == ClipboardMode::Off {
            info!("clipboard disabled (--enable_clipboard=false)");
            None
        } else {
            match ClipboardService::spawn_with_images(None, MAX_BYTES) {
                Ok((handle, mut changes, mut images)) => {
                    let text_tx = tx.clone();
                    tokio::spawn(async move {
                        while let Some(text) = changes.recv().await {
                            if text_tx.send(DesktopEvent::Clipboard(text)).is_err() {
                                break;
                            }
                        }
                    });
                    let image_tx = tx.clone();
                    tokio::spawn(async move {
                        while let Some(png) = images.recv().await {
                            if image_tx.send(DesktopEvent::ClipboardImage(png)).is_err() {
                                break;
                            }
                        }
                    });
                    Some(handle)
                }
                Err(e) => {
                    warn!("clipboard disabled: {e}");
                    None
                }
            }
        };
        if settings.enable_cursors {
            match selkies_x11::spawn_cursor_watcher(None, settings.cursor_size) {
                Ok(mut cursors) => {
                    tokio::spawn(async move {
                        while let Some(c) = cursors.recv().await {
                            if tx.send(DesktopEvent::Cursor(c)).is_err() {
                                break;
                            }
                        }
                    });
                }
                Err(e) => warn!("cursor shapes disabled: {e}"),
            }
        } else {
            info!("cursor shapes disabled (--enable_cursors=false)");
        }
        Self {
            mode,
            clipboard,
            events: Mutex::new(Some(rx)),
            last_cursor: Mutex::new(None),
            images: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The event stream; handed out once, to the video peer.
    pub fn take_events(&self) -> Option<mpsc::UnboundedReceiver<DesktopEvent>> {
        lock(&self.events).take()
    }

    /// The last cursor seen, for the initial burst of a new data channel.
    pub fn last_cursor(&self) -> Option<CursorMessage> {
        lock(&self.last_cursor).clone()
    }

    /// Turn an event into data-channel messages (empty when the policy says nothing goes out).
    pub fn messages_for(&self, event: DesktopEvent) -> Vec<String> {
        match event {
            DesktopEvent::Clipboard(text) => {
                if !self.mode.outbound() {
                    return Vec::new();
                }
                match clipboard_messages(&text) {
                    Some(msgs) => msgs.iter().map(ServerMessage::to_json).collect(),
                    None => {
                        warn!(
                            bytes = text.len(),
                            "clipboard text too large to send; skipped"
                        );
                        Vec::new()
                    }
                }
            }
            DesktopEvent::ClipboardImage(png) => {
                if !self.mode.outbound() || !self.images.load(std::sync::atomic::Ordering::SeqCst) {
                    return Vec::new();
                }
                image_messages(&png)
                    .map(|msgs| msgs.iter().map(ServerMessage::to_json).collect())
                    .unwrap_or_default()
            }
            DesktopEvent::Cursor(image) => {
                let msg = cursor_message(&image);
                *lock(&self.last_cursor) = Some(msg.clone());
                vec![ServerMessage::Cursor(Some(msg)).to_json()]
            }
        }
    }

    /// `cw`: the browser's clipboard becomes the X CLIPBOARD (when inbound is allowed).
    pub fn write_clipboard(&self, text: String) {
        if !self.mode.inbound() {
            return;
        }
        if let Some(c) = &self.clipboard
            && let Err(e) = c.set_text(text)
        {
            warn!("clipboard write failed: {e}");
        }
    }

    /// `cio` (true) or a new data channel (false): whether clipboard images go to the browser.
    pub fn set_image_opt_in(&self, on: bool) {
        self.images.store(on, std::sync::atomic::Ordering::SeqCst);
    }

    /// `cwip` reassembled: the browser's PNG becomes the X CLIPBOARD (when inbound is allowed).
    pub fn write_clipboard_png(&self, png: Vec<u8>) {
        if !self.mode.inbound() {
            return;
        }
        if let Some(c) = &self.clipboard
            && let Err(e) = c.set_png(png)
        {
            warn!("clipboard image write failed: {e}");
        }
    }

    /// `cr`: send the current X CLIPBOARD (arrives as a [`DesktopEvent::Clipboard`]).
    pub fn request_clipboard(&self) {
        if !self.mode.outbound() {
            return;
        }
        if let Some(c) = &self.clipboard
            && let Err(e) = c.request()
        {
            warn!("clipboard read failed: {e}");
        }
    }
}

/// The legacy `cursor` message for an X cursor image (§4.2, §6.5).
pub fn cursor_message(image: &CursorImage) -> CursorMessage {
    CursorMessage {
        curdata: base64::engine::general_purpose::STANDARD.encode(&image.png),
        handle: u64::from(image.serial),
        override_: image.invisible.then(|| "none".to_string()),
        hotspot_x: i32::from(image.xhot),
        hotspot_y: i32::from(image.yhot),
    }
}

/// Resize the X screen (blocking X11 work off the async runtime); returns the message that
/// tells the browser the size actually set, or why it failed (a size the client asked for: the
/// caller logs it, rate-limited).
pub async fn resize(width: u32, height: u32) -> Result<String, String> {
    let result = tokio::task::spawn_blocking(move || {
        selkies_x11::resize::resize_screen(None, width, height)
    })
    .await;
    match result {
        Ok(Ok((w, h))) => {
            info!(width = w, height = h, "screen resized");
            Ok(ServerMessage::System(SystemAction::Resolution {
                width: w.into(),
                height: h.into(),
            })
            .to_json())
        }
        Ok(Err(e)) => Err(format!("resize to {width}x{height} failed: {e}")),
        Err(e) => Err(format!("resize task failed: {e}")),
    }
}

/// Exit status when the X server goes away: EX_TEMPFAIL of sysexits.h ("try again later"). A
/// supervisor restarts the host once X is back; every other failure exits 1.
pub const EXIT_X_SERVER_LOST: i32 = 75;

type XDisplay = std::ffi::c_void;
type IoErrorHandler = unsafe extern "C" fn(*mut XDisplay) -> std::ffi::c_int;
type XOpenDisplayFn = unsafe extern "C" fn(*const std::ffi::c_char) -> *mut XDisplay;
type XSetIOErrorHandlerFn = unsafe extern "C" fn(Option<IoErrorHandler>) -> Option<IoErrorHandler>;
type XNextEventFn = unsafe extern "C" fn(*mut XDisplay, *mut std::ffi::c_long) -> std::ffi::c_int;

/// libX11's entry points, looked up at run time: ximagesrc loads the same library, and the host
/// binary itself then needs no X11 development files to build.
struct Xlib {
    open_display: XOpenDisplayFn,
    set_io_error_handler: XSetIOErrorHandlerFn,
    next_event: XNextEventFn,
}

impl Xlib {
    fn load() -> Result<Xlib, String> {
        // SAFETY: dlopen/dlsym with NUL-terminated names; the library stays loaded for the life
        // of the process (never dlclose'd), so the function pointers stay valid. Each symbol is
        // transmuted to the C signature libX11 declares for it.
        unsafe {
            let lib = libc::dlopen(c"libX11.so.6".as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL);
            if lib.is_null() {
                return Err("libX11.so.6 not found".into());
            }
            let sym = |name: &std::ffi::CStr| {
                let p = libc::dlsym(lib, name.as_ptr());
                if p.is_null() {
                    Err(format!("libX11 has no {}", name.to_string_lossy()))
                } else {
                    Ok(p)
                }
            };
            Ok(Xlib {
                open_display: std::mem::transmute::<*mut libc::c_void, XOpenDisplayFn>(sym(
                    c"XOpenDisplay",
                )?),
                set_io_error_handler: std::mem::transmute::<*mut libc::c_void, XSetIOErrorHandlerFn>(
                    sym(c"XSetIOErrorHandler")?,
                ),
                next_event: std::mem::transmute::<*mut libc::c_void, XNextEventFn>(sym(
                    c"XNextEvent",
                )?),
            })
        }
    }
}

/// Xlib calls this when any Xlib connection of the process (ximagesrc's, the watcher's) breaks,
/// and would `exit(1)` after it with only "XIO: fatal IO error". It says what happened in our
/// own words and exits with [`EXIT_X_SERVER_LOST`]. Only async-signal-safe calls: it may run on
/// any thread, and must never unwind.
unsafe extern "C" fn on_x_connection_lost(_display: *mut XDisplay) -> std::ffi::c_int {
    const LINE: &[u8] = b"ERROR selkies-gstreamer: the X server went away (display connection \
lost); exiting with status 75 so a supervisor restarts the host once X is back\n";
    // SAFETY: write(2) and _exit(2) are async-signal-safe and take no Rust-side locks.
    unsafe {
        libc::write(2, LINE.as_ptr().cast(), LINE.len());
        libc::_exit(EXIT_X_SERVER_LOST)
    }
}

/// Make the loss of the X server a clear, distinct exit ([`EXIT_X_SERVER_LOST`]): install the
/// Xlib handler, and hold one idle Xlib connection on a thread of its own so the loss is seen
/// even when no session (and so no ximagesrc) is running.
pub fn watch_x_server() -> Result<(), String> {
    let xlib = Xlib::load()?;
    // SAFETY: the handler is a plain function that never returns; setting it is process-wide
    // and done before any session creates an Xlib connection.
    unsafe {
        (xlib.set_io_error_handler)(Some(on_x_connection_lost));
    }
    // SAFETY: NULL means $DISPLAY; the pointer is only used by the thread it moves to.
    let display = unsafe { (xlib.open_display)(std::ptr::null()) };
    if display.is_null() {
        return Err("cannot open the X display ($DISPLAY)".into());
    }
    let display = display as usize;
    let next_event = xlib.next_event;
    std::thread::Builder::new()
        .name("x-watch".into())
        .spawn(move || {
            // XEvent is a union of 24 longs.
            let mut event = [0 as std::ffi::c_long; 24];
            loop {
                // SAFETY: this thread is the only user of this connection; no events are
                // selected, so this blocks until the connection breaks and the handler exits.
                unsafe {
                    next_event(display as *mut XDisplay, event.as_mut_ptr());
                }
            }
        })
        .map_err(|e| format!("cannot start the X watch thread: {e}"))?;
    Ok(())
}

/// `s,<ratio>`: DPI = 96 × ratio and cursor size = 16 × ratio, for ratios the legacy host accepts.
/// A ratio outside them is the client's mistake: returned for the caller's rate-limited log.
pub async fn set_scale(ratio: f64) -> Result<(), String> {
    if !(0.75..=2.5).contains(&ratio) {
        return Err(format!("scale {ratio} ignored: outside 0.75–2.5"));
    }
    let dpi = (96.0 * ratio) as u32;
    let cursor = (16.0 * ratio) as u32;
    match tokio::task::spawn_blocking(move || selkies_x11::dpi::set_dpi(None, dpi, Some(cursor)))
        .await
    {
        Ok(Ok(_)) => info!(dpi, cursor, "DPI set"),
        Ok(Err(e)) => warn!(dpi, "setting DPI failed: {e}"),
        Err(e) => warn!("DPI task failed: {e}"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_message_of_an_image() {
        let img = CursorImage {
            serial: 7,
            png: vec![1, 2, 3],
            width: 1,
            height: 1,
            xhot: 4,
            yhot: 5,
            invisible: false,
        };
        let msg = cursor_message(&img);
        assert_eq!(msg.curdata, "AQID");
        assert_eq!((msg.handle, msg.hotspot_x, msg.hotspot_y), (7, 4, 5));
        assert_eq!(msg.override_, None);
        let hidden = CursorImage {
            invisible: true,
            ..img
        };
        assert_eq!(cursor_message(&hidden).override_.as_deref(), Some("none"));
    }
}
