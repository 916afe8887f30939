//! Damage-driven screen capture through MIT-SHM: one connection watches the root window with
//! DAMAGE, collects the damaged rectangles through an XFIXES region, and fetches only the
//! damaged row bands ([`crate::frame_rows`]) into a shared segment, from where they are copied
//! into the caller's persistent frame. The caller owns timing (coalescing, frame rate,
//! keep-alive); this type only waits, reports and copies. Another thread can end a wait early
//! through a [`Waker`] (a frame is wanted now: a keyframe request on a static screen).

use std::io;
use std::os::unix::net::UnixDatagram;
use std::sync::Arc;
use std::time::Duration;

use x11rb::connection::{Connection, RequestConnection as _};
use x11rb::protocol::Event;
use x11rb::protocol::damage::{self, ConnectionExt as _, ReportLevel};
use x11rb::protocol::shm::{self, ConnectionExt as _};
use x11rb::protocol::xfixes::{self, ConnectionExt as _};
use x11rb::protocol::xproto::{
    ChangeWindowAttributesAux, ConnectionExt as _, EventMask, ImageFormat, ImageOrder, Window,
};
use x11rb::rust_connection::RustConnection;

use crate::X11Error;
use crate::frame_rows::{self, PointerImage, Rect};
use crate::row_set;
use crate::shm_segment::{ShmSegment, wait_readable_either};

/// What [`ShmCapture::wait`] saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Waited {
    /// The screen changed; [`ShmCapture::capture_damage`] fetches the changes.
    pub damaged: bool,
    /// The bounding box of all damage not yet taken, as the last report gave it. The server
    /// reports again only when that box grows, so a scene repainting the same area over and
    /// over is reported once per take, and a change elsewhere is reported when it happens.
    pub area: Option<Rect>,
    /// The root window changed size; reopen the capture.
    pub resized: bool,
    /// A [`Waker`] asked for the wait to end.
    pub woken: bool,
}

/// Ends a [`ShmCapture::wait_or_wake`] early from any thread; cheap to clone.
#[derive(Debug, Clone)]
pub struct Waker(Arc<UnixDatagram>);

impl Waker {
    /// Wake the waiting capture (or its next wait). Never blocks: a wake-up already pending
    /// makes further ones redundant.
    pub fn wake(&self) {
        let _ = self.0.send(&[1]);
    }
}

/// The capture thread's end of a [`Waker`]; it outlives reopened captures.
#[derive(Debug)]
pub struct WakeReceiver(UnixDatagram);

impl WakeReceiver {
    /// Consume pending wake-ups; true if there were any.
    fn take(&self) -> bool {
        let mut buf = [0u8; 16];
        let mut any = false;
        while self.0.recv(&mut buf).is_ok() {
            any = true;
        }
        any
    }
}

/// A connected waker and receiver (a non-blocking socket pair).
pub fn wake_pair() -> io::Result<(Waker, WakeReceiver)> {
    let (tx, rx) = UnixDatagram::pair()?;
    tx.set_nonblocking(true)?;
    rx.set_nonblocking(true)?;
    Ok((Waker(Arc::new(tx)), WakeReceiver(rx)))
}

/// A capture of the root window of one display.
pub struct ShmCapture {
    conn: RustConnection,
    root: Window,
    width: u16,
    height: u16,
    segment: ShmSegment,
    seg: shm::Seg,
    chunk_rows: u16,
    damage: damage::Damage,
    parts: xfixes::Region,
}

impl std::fmt::Debug for ShmCapture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShmCapture")
            .field("width", &self.width)
            .field("height", &self.height)
            .finish_non_exhaustive()
    }
}

/// Rows the shared segment holds (a fetch of more is cut into pieces): an eighth of a 1080p
/// screen, 1 MiB at 1920 wide instead of a whole 8 MiB frame. It counts in the host's RSS and in
/// the X server's (docs/benchmarks.md, "Memory: size-optimised binary, smaller capture
/// segment"). Even, so 4:2:0 pieces stay aligned.
const SEGMENT_ROWS: u16 = 136;

/// Bands closer than this many rows are fetched as one (a round trip costs more than the rows).
const MERGE_GAP_ROWS: u16 = 32;

impl ShmCapture {
    /// Open a capture of `display` (or `$DISPLAY`). Fails with [`X11Error::MissingExtension`]
    /// when MIT-SHM, DAMAGE or XFIXES is missing or unusable (a remote X server cannot share
    /// memory with us), and when the root is not 24/32-bit little-endian BGRx.
    pub fn open(display: Option<&str>) -> Result<Self, X11Error> {
        let (conn, screen, root) = crate::conn::connect(display)?;
        for (name, ext) in [
            ("MIT-SHM", shm::X11_EXTENSION_NAME),
            ("DAMAGE", damage::X11_EXTENSION_NAME),
            ("XFIXES", xfixes::X11_EXTENSION_NAME),
        ] {
            if conn.extension_information(ext)?.is_none() {
                return Err(X11Error::MissingExtension(name));
            }
        }
        let setup = conn.setup();
        let scr = setup.roots.get(screen).ok_or(X11Error::NoScreen(screen))?;
        let bpp32 = setup
            .pixmap_formats
            .iter()
            .any(|f| f.depth == scr.root_depth && f.bits_per_pixel == 32);
        if !(scr.root_depth == 24 || scr.root_depth == 32)
            || !bpp32
            || setup.image_byte_order != ImageOrder::LSB_FIRST
        {
            return Err(X11Error::MissingExtension("32-bit BGRx root visual"));
        }
        conn.shm_query_version()?.reply()?;
        conn.damage_query_version(1, 1)?.reply()?;
        conn.xfixes_query_version(5, 0)?.reply()?;
        let geometry = conn.get_geometry(root)?.reply()?;
        let (width, height) = (geometry.width, geometry.height);

        let chunk_rows = SEGMENT_ROWS.min(height.max(1));
        let len = usize::from(width) * usize::from(chunk_rows) * 4;
        let mut segment = ShmSegment::new(len).map_err(X11Error::Thread)?;
        let seg = conn.generate_id()?;
        // A server that cannot see our segment (remote, another IPC namespace) refuses here.
        if conn.shm_attach(seg, segment.id(), false)?.check().is_err() {
            return Err(X11Error::MissingExtension(
                "MIT-SHM (segment not attachable)",
            ));
        }
        segment.remove_id();

        let damage = conn.generate_id()?;
        // Bounding-box reports, not just "non-empty": the capture learns of a change outside
        // what is already pending without taking the damage.
        conn.damage_create(damage, root, ReportLevel::BOUNDING_BOX)?;
        let parts = conn.generate_id()?;
        conn.xfixes_create_region(parts, &[])?;
        conn.change_window_attributes(
            root,
            &ChangeWindowAttributesAux::new().event_mask(EventMask::STRUCTURE_NOTIFY),
        )?;
        conn.get_input_focus()?.reply()?;
        Ok(Self {
            conn,
            root,
            width,
            height,
            segment,
            seg,
            chunk_rows,
            damage,
            parts,
        })
    }

    /// Screen width in pixels.
    pub fn width(&self) -> u16 {
        self.width
    }

    /// Screen height in pixels.
    pub fn height(&self) -> u16 {
        self.height
    }

    /// Bytes of one BGRx frame.
    pub fn frame_len(&self) -> usize {
        usize::from(self.width) * usize::from(self.height) * 4
    }

    /// Wait up to `timeout` for damage or a resize; returns at once when events are queued.
    pub fn wait(&mut self, timeout: Duration) -> Result<Waited, X11Error> {
        self.wait_for(timeout, None)
    }

    /// [`Self::wait`], also ended by a wake-up of `wake`'s [`Waker`].
    pub fn wait_or_wake(
        &mut self,
        timeout: Duration,
        wake: &WakeReceiver,
    ) -> Result<Waited, X11Error> {
        self.wait_for(timeout, Some(wake))
    }

    fn wait_for(
        &mut self,
        timeout: Duration,
        wake: Option<&WakeReceiver>,
    ) -> Result<Waited, X11Error> {
        let woken = || wake.is_some_and(WakeReceiver::take);
        let mut seen = self.drain()?;
        seen.woken = woken();
        if seen == Waited::default() {
            let other = wake.map(|w| &w.0 as &dyn std::os::fd::AsRawFd);
            let (events, wake_ready) = wait_readable_either(self.conn.stream(), other, timeout)
                .map_err(X11Error::Thread)?;
            if events {
                seen = self.drain()?;
            }
            seen.woken = wake_ready && woken();
        }
        Ok(seen)
    }

    fn drain(&mut self) -> Result<Waited, X11Error> {
        let mut seen = Waited::default();
        while let Some(event) = self.conn.poll_for_event()? {
            match event {
                Event::DamageNotify(d) => {
                    seen.damaged = true;
                    seen.area = Some(Rect {
                        x: d.area.x,
                        y: d.area.y,
                        width: d.area.width,
                        height: d.area.height,
                    });
                }
                Event::ConfigureNotify(c) if c.window == self.root => {
                    seen.resized |= c.width != self.width || c.height != self.height;
                }
                _ => {}
            }
        }
        Ok(seen)
    }

    /// Fetch the whole screen into `frame` (`frame_len()` bytes) and clear pending damage.
    pub fn capture_full(&mut self, frame: &mut [u8]) -> Result<usize, X11Error> {
        self.clear_damage()?;
        let whole = 0..self.height;
        self.copy_into(frame, std::slice::from_ref(&whole))
    }

    /// Take the damage accumulated since the last call and fetch its rows into `frame`.
    /// Returns the number of rows copied (0: the damage was off-screen or already fetched).
    pub fn capture_damage(&mut self, frame: &mut [u8]) -> Result<usize, X11Error> {
        let (_, bands) = self.take_damage()?;
        self.copy_into(frame, &bands)
    }

    /// Forget the damage reported so far (the caller fetches the whole screen anyway).
    pub fn clear_damage(&mut self) -> Result<(), X11Error> {
        self.conn
            .damage_subtract(self.damage, x11rb::NONE, x11rb::NONE)?;
        Ok(())
    }

    /// Take the damage accumulated since the last call: the damaged rectangles, and the row
    /// bands worth fetching for them.
    pub fn take_damage(&mut self) -> Result<(Vec<Rect>, Vec<std::ops::Range<u16>>), X11Error> {
        // Moving the damage into `parts` empties the bounding box: the next damage is reported.
        self.conn
            .damage_subtract(self.damage, x11rb::NONE, self.parts)?;
        let region = self.conn.xfixes_fetch_region(self.parts)?.reply()?;
        let rects: Vec<Rect> = region
            .rectangles
            .iter()
            .map(|r| Rect {
                x: r.x,
                y: r.y,
                width: r.width,
                height: r.height,
            })
            .collect();
        let bands = frame_rows::row_bands(&rects, self.height, MERGE_GAP_ROWS);
        Ok((rects, bands))
    }

    /// Fetch the columns `cols` of `bands` from the screen, a segment-full at a time (pieces of
    /// even row counts; a narrower span fits more rows than [`Self::chunk_rows`]), and hand each
    /// piece to `sink` with its rows: the BGRx pixels of exactly those rows and columns, stride
    /// 4 × `cols.len()`, writable (the pointer may be drawn into them) until the next fetch.
    /// Stops at the first error of `sink`.
    pub fn fetch_rows<E>(
        &mut self,
        bands: &[std::ops::Range<u16>],
        cols: std::ops::Range<u16>,
        mut sink: impl FnMut(std::ops::Range<u16>, &mut [u8]) -> Result<(), E>,
    ) -> Result<Result<(), E>, X11Error> {
        let cols = cols.start.min(self.width)..cols.end.min(self.width);
        let span = cols.end.saturating_sub(cols.start);
        if span == 0 {
            return Ok(Ok(()));
        }
        let stride = usize::from(span) * 4;
        let segment = usize::from(self.width) * usize::from(self.chunk_rows) * 4;
        let fit = (segment / stride).min(usize::from(u16::MAX)) as u16 & !1;
        for band in bands {
            let band = band.start.min(self.height)..band.end.min(self.height);
            for piece in row_set::chunks(band, fit.max(self.chunk_rows)) {
                let rows = piece.end - piece.start;
                self.conn
                    .shm_get_image(
                        self.root,
                        cols.start as i16,
                        piece.start as i16,
                        span,
                        rows,
                        !0,
                        ImageFormat::Z_PIXMAP.into(),
                        self.seg,
                        0,
                    )?
                    .reply()?;
                let len = usize::from(rows) * stride;
                if let Err(e) = sink(piece, &mut self.segment.bytes_mut()[..len]) {
                    return Ok(Err(e));
                }
            }
        }
        Ok(Ok(()))
    }

    /// The most rows one fetch brings (the segment's size).
    pub fn chunk_rows(&self) -> u16 {
        self.chunk_rows
    }

    fn copy_into(
        &mut self,
        frame: &mut [u8],
        bands: &[std::ops::Range<u16>],
    ) -> Result<usize, X11Error> {
        let stride = usize::from(self.width) * 4;
        let mut rows = 0;
        let copied = self.fetch_rows(bands, 0..self.width, |piece, bytes| {
            let start = usize::from(piece.start) * stride;
            match frame.get_mut(start..start + bytes.len()) {
                Some(dst) => {
                    dst.copy_from_slice(bytes);
                    rows += usize::from(piece.end - piece.start);
                    Ok(())
                }
                None => Err(()),
            }
        })?;
        Ok(if copied.is_ok() { rows } else { 0 })
    }

    /// The pointer's current image and place, for drawing it into frames.
    pub fn pointer(&self) -> Result<PointerImage, X11Error> {
        let c = self.conn.xfixes_get_cursor_image()?.reply()?;
        Ok(PointerImage {
            x: i32::from(c.x) - i32::from(c.xhot),
            y: i32::from(c.y) - i32::from(c.yhot),
            width: c.width,
            height: c.height,
            pixels: c.cursor_image,
        })
    }
}

impl Drop for ShmCapture {
    fn drop(&mut self) {
        let _ = self.conn.shm_detach(self.seg);
        let _ = self.conn.damage_destroy(self.damage);
        let _ = self.conn.xfixes_destroy_region(self.parts);
        let _ = self.conn.flush();
    }
}
