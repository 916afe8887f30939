//! Reading the `CLIPBOARD` text of another X client (ICCCM §2.4): ConvertSelection to
//! UTF8_STRING (STRING as the fallback), GetProperty, and INCR for large data, with the
//! size limit applied before anything is buffered beyond it. When images are handled the owner's
//! TARGETS are asked first, and from an owner offering `image/png` besides text (a browser's or
//! LibreOffice's copied image) the text is read and delivered, then the image: clients without
//! images keep getting the text, and an image-aware client ends with the image.

use std::time::{Duration, Instant};

use x11rb::protocol::xproto::{
    Atom, AtomEnum, ConnectionExt as _, Property, PropertyNotifyEvent, SelectionNotifyEvent,
    Timestamp,
};

use super::service::Service;
use super::transfer::{Encoding, Incoming, IncrRead, decode};
use crate::error::X11Error;

/// A conversion whose owner stays silent this long is abandoned at the next occasion, so
/// a hung owner cannot block clipboard reads for good.
const STALE_READ: Duration = Duration::from_secs(5);

/// The conversion in flight.
pub(super) struct Reading {
    target: Atom,
    time: Timestamp,
    touched: Instant,
    /// Set once the owner answered with INCR.
    incr: Option<IncrRead>,
}

impl Service {
    /// Starts reading the current owner's text, or queues another read after the current one.
    pub(super) fn start_read(&mut self, time: Timestamp, forced: bool) -> Result<(), X11Error> {
        self.forced |= forced;
        if let Some(r) = &self.reading {
            if r.touched.elapsed() < STALE_READ {
                self.again = true;
                return Ok(());
            }
            tracing::warn!("clipboard owner did not answer; abandoning the read");
        }
        self.png_next = false;
        let first = if self.png_tx.is_some() {
            self.atoms.TARGETS
        } else {
            self.atoms.UTF8_STRING
        };
        self.convert_to(first, time)
    }

    fn convert_to(&mut self, target: Atom, time: Timestamp) -> Result<(), X11Error> {
        let prop = self.atoms.SELKIES_CLIPBOARD;
        // A leftover value would be mistaken for the answer.
        self.conn.delete_property(self.window, prop)?;
        self.conn
            .convert_selection(self.window, self.atoms.CLIPBOARD, target, prop, time)?;
        self.reading = Some(Reading {
            target,
            time,
            touched: Instant::now(),
            incr: None,
        });
        Ok(())
    }

    /// The owner's answer to our ConvertSelection.
    pub(super) fn on_converted(&mut self, e: &SelectionNotifyEvent) -> Result<(), X11Error> {
        let Some(reading) = &self.reading else {
            return Ok(());
        };
        if e.selection != self.atoms.CLIPBOARD || e.target != reading.target {
            return Ok(());
        }
        if e.property == x11rb::NONE {
            // Refused: older clients offer only STRING. No owner at all also lands here.
            if reading.target == self.atoms.TARGETS || reading.target == self.atoms.UTF8_STRING {
                let time = reading.time;
                let next = if reading.target == self.atoms.TARGETS {
                    self.atoms.UTF8_STRING
                } else {
                    AtomEnum::STRING.into()
                };
                return self.convert_to(next, time);
            }
            // No text at all: an image, when images are handled.
            if reading.target == u32::from(AtomEnum::STRING) && self.png_tx.is_some() {
                let time = reading.time;
                self.png_next = false;
                return self.convert_to(self.atoms.IMAGE_PNG, time);
            }
            return self.finish(None);
        }
        let prop = e.property;
        // Size first, so an oversized value is never transferred to us.
        let head = self
            .conn
            .get_property(false, self.window, prop, AtomEnum::ANY, 0, 0)?
            .reply()?;
        if head.type_ == self.atoms.INCR {
            let announced = self
                .conn
                .get_property(true, self.window, prop, AtomEnum::ANY, 0, 1)?
                .reply()?
                .value32()
                .and_then(|mut v| v.next())
                .unwrap_or(0);
            let incr = IncrRead::new(announced as usize, self.max_bytes);
            if incr.overflowed() {
                self.log_too_large(announced as usize);
            }
            // Deleting the INCR property (done above) tells the owner to send chunk one.
            if let Some(r) = &mut self.reading {
                r.incr = Some(incr);
                r.touched = Instant::now();
            }
            return Ok(());
        }
        let size = head.bytes_after as usize;
        if size > self.max_bytes {
            self.log_too_large(size);
            self.conn.delete_property(self.window, prop)?;
            return self.finish(None);
        }
        let words = u32::try_from(size.div_ceil(4)).unwrap_or(u32::MAX);
        let reply = self
            .conn
            .get_property(true, self.window, prop, AtomEnum::ANY, 0, words)?
            .reply()?;
        if let Some(r) = self
            .reading
            .as_ref()
            .filter(|r| r.target == self.atoms.TARGETS)
        {
            let time = r.time;
            let png = self.atoms.IMAGE_PNG;
            self.png_next = reply.value32().is_some_and(|mut v| v.any(|a| a == png));
            return self.convert_to(self.atoms.UTF8_STRING, time);
        }
        // Some owners (xclip -t image/png) answer any target with their one type.
        if self.reading_png() || self.is_png(reply.type_) {
            return self.finish_png(reply.value);
        }
        let encoding = self.encoding_of(reply.type_);
        self.finish(Some(decode(&reply.value, encoding)))
    }

    fn is_png(&self, kind: Atom) -> bool {
        self.png_tx.is_some() && kind == self.atoms.IMAGE_PNG
    }

    fn reading_png(&self) -> bool {
        self.reading
            .as_ref()
            .is_some_and(|r| r.target == self.atoms.IMAGE_PNG)
    }

    /// Ends an image read like [`Service::finish`] ends a text one.
    fn finish_png(&mut self, png: Vec<u8>) -> Result<(), X11Error> {
        let forced = self.forced;
        self.deliver_png(png, forced);
        self.finish(None)
    }

    /// PropertyNotify on our window: the next INCR chunk.
    pub(super) fn on_own_property(&mut self, e: &PropertyNotifyEvent) -> Result<(), X11Error> {
        if e.atom != self.atoms.SELKIES_CLIPBOARD || e.state != Property::NEW_VALUE {
            return Ok(());
        }
        if self.reading.as_ref().is_none_or(|r| r.incr.is_none()) {
            return Ok(());
        }
        // Size first: a chunk that would cross the limit is deleted unread.
        let len = self
            .conn
            .get_property(false, self.window, e.atom, AtomEnum::ANY, 0, 0)?
            .reply()?
            .bytes_after as usize;
        let fits = self
            .reading
            .as_ref()
            .and_then(|r| r.incr.as_ref())
            .is_some_and(|incr| incr.fits(len));
        // Deleting the property, read or not, is the "send the next chunk" signal.
        let (kind, chunk) = if fits || len == 0 {
            let words = u32::try_from(len.div_ceil(4)).unwrap_or(u32::MAX);
            let reply = self
                .conn
                .get_property(true, self.window, e.atom, AtomEnum::ANY, 0, words)?
                .reply()?;
            (reply.type_, Some(reply.value))
        } else {
            self.conn.delete_property(self.window, e.atom)?;
            (x11rb::NONE, None)
        };
        let encoding = self.encoding_of(kind);
        let Some(Reading {
            incr: Some(incr),
            touched,
            ..
        }) = &mut self.reading
        else {
            return Ok(());
        };
        *touched = Instant::now();
        let was_over = incr.overflowed();
        let step = match &chunk {
            Some(bytes) => incr.push(bytes),
            None => incr.discard(),
        };
        let now_over = incr.overflowed();
        match step {
            Incoming::More => {
                if !was_over && now_over {
                    self.log_too_large(self.max_bytes.saturating_add(1));
                }
                Ok(())
            }
            Incoming::Done(bytes) if self.reading_png() || self.is_png(kind) => {
                self.finish_png(bytes)
            }
            Incoming::Done(bytes) => self.finish(Some(decode(&bytes, encoding))),
            Incoming::Skipped => self.finish(None),
        }
    }

    fn encoding_of(&self, kind: Atom) -> Encoding {
        if kind == u32::from(AtomEnum::STRING) {
            Encoding::Latin1
        } else {
            Encoding::Utf8
        }
    }

    fn log_too_large(&self, at_least_bytes: usize) {
        tracing::warn!(
            at_least_bytes,
            limit = self.max_bytes,
            "X clipboard text is larger than the clipboard size limit; not sent to the browser"
        );
    }

    /// Ends the read, delivers the text, and starts the read that was queued meanwhile.
    fn finish(&mut self, text: Option<String>) -> Result<(), X11Error> {
        let time = self.reading.take().map(|r| r.time);
        let png_next = std::mem::take(&mut self.png_next);
        // With the image still to read, `forced` stays for it.
        let forced = if png_next {
            self.forced
        } else {
            std::mem::take(&mut self.forced)
        };
        match text {
            Some(text) => self.deliver(text, forced),
            None => tracing::debug!("no clipboard text to read"),
        }
        if let (true, Some(time)) = (png_next, time) {
            return self.convert_to(self.atoms.IMAGE_PNG, time);
        }
        if std::mem::take(&mut self.again) {
            // A request queued meanwhile was answered by the read that just ended; the
            // queued read is for an owner change.
            self.start_read(x11rb::CURRENT_TIME, false)?;
        }
        Ok(())
    }
}
