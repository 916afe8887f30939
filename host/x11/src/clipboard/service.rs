//! The clipboard thread: its window, the event loop, the host's commands and selection
//! ownership. Serving requestors lives in `serve.rs`, reading other owners in `read.rs`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;
use x11rb::connection::{Connection, RequestConnection};
use x11rb::protocol::Event;
use x11rb::protocol::xfixes::{ConnectionExt as _, SelectionEventMask};
use x11rb::protocol::xproto::{
    AtomEnum, ConnectionExt as _, CreateWindowAux, EventMask, PropMode, Timestamp, Window,
    WindowClass,
};
use x11rb::rust_connection::RustConnection;

use super::read::Reading;
use super::serve::Sending;
use super::{Atoms, Cmd};
use crate::error::X11Error;

/// INCR transfers to requestors that stop deleting chunks are dropped after this long.
const STALE_TRANSFER: Duration = Duration::from_secs(30);

/// Text we own, as served.
pub(super) struct Owned {
    pub(super) text: Arc<str>,
    pub(super) utf8: Arc<[u8]>,
    /// Lazily built Latin-1 copy for `STRING` requestors.
    pub(super) latin1: Option<Arc<[u8]>>,
    pub(super) since: Timestamp,
    /// A PNG from the browser: then only `image/png` is offered (the text is empty).
    pub(super) png: Option<Arc<[u8]>>,
}

pub(crate) struct Service {
    pub(super) conn: Arc<RustConnection>,
    pub(super) window: Window,
    pub(super) atoms: Atoms,
    pub(super) max_bytes: usize,
    pub(super) chunk: usize,
    pub(super) owned: Option<Owned>,
    /// INCR sends in progress.
    pub(super) outgoing: Vec<Sending>,
    pub(super) reading: Option<Reading>,
    /// An owner change or request arrived during a read: read again when it ends.
    pub(super) again: bool,
    /// The next finished read is delivered even if unchanged (`cr`).
    pub(super) forced: bool,
    /// The text the browser side has (sent to it, or received from it).
    pub(super) last: Option<String>,
    pub(super) tx: UnboundedSender<String>,
    /// Where images read from other owners go; `None`: images are not handled.
    pub(super) png_tx: Option<UnboundedSender<Vec<u8>>>,
    /// The image the browser side has, so an unchanged one is not sent again.
    pub(super) last_png: Option<Arc<[u8]>>,
    /// The owner offers `image/png` besides text: read it once the text read ends.
    pub(super) png_next: bool,
    cmds: Receiver<Cmd>,
    /// Events read while waiting for something specific, processed next.
    backlog: VecDeque<Event>,
}

impl Service {
    /// Runs on the caller's thread so setup errors reach it.
    pub(super) fn new(
        conn: Arc<RustConnection>,
        screen: usize,
        max_bytes: usize,
        tx: UnboundedSender<String>,
        cmds: Receiver<Cmd>,
    ) -> Result<Self, X11Error> {
        let root = crate::conn::root_of(&*conn, screen)?;
        super::super::cursor::require_xfixes(&conn)?;
        let atoms = Atoms::new(&*conn)?.reply()?;
        let window = conn.generate_id()?;
        // PropertyChange: INCR chunks arriving on our window, and the server-time probe.
        let aux = CreateWindowAux::new().event_mask(EventMask::PROPERTY_CHANGE);
        conn.create_window(
            0,
            window,
            root,
            -10,
            -10,
            1,
            1,
            0,
            WindowClass::INPUT_ONLY,
            0,
            &aux,
        )?;
        conn.xfixes_select_selection_input(
            window,
            atoms.CLIPBOARD,
            SelectionEventMask::SET_SELECTION_OWNER
                | SelectionEventMask::SELECTION_WINDOW_DESTROY
                | SelectionEventMask::SELECTION_CLIENT_CLOSE,
        )?;
        let chunk = super::transfer::chunk_size(conn.maximum_request_bytes());
        conn.get_input_focus()?.reply()?;
        tracing::debug!(window, chunk, max_bytes, "X clipboard service connected");
        Ok(Self {
            conn,
            window,
            atoms,
            max_bytes,
            chunk,
            owned: None,
            outgoing: Vec::new(),
            reading: None,
            again: false,
            forced: false,
            last: None,
            tx,
            png_tx: None,
            last_png: None,
            png_next: false,
            cmds,
            backlog: VecDeque::new(),
        })
    }

    pub(super) fn window(&self) -> Window {
        self.window
    }

    pub(super) fn atoms(&self) -> &Atoms {
        &self.atoms
    }

    /// The thread body: until the last handle is dropped or the connection breaks.
    pub(super) fn run(mut self) {
        match self.event_loop() {
            Ok(()) => tracing::debug!("clipboard thread stopped"),
            Err(e) => tracing::warn!(error = %e, "clipboard thread stopped"),
        }
        // Best effort: the connection may be what failed.
        let _ = self.conn.destroy_window(self.window);
        let _ = self.conn.flush();
    }

    fn event_loop(&mut self) -> Result<(), X11Error> {
        loop {
            match self.drain_commands() {
                Ok(true) => {}
                Ok(false) => return Ok(()),
                Err(e) => tolerate(e)?,
            }
            self.conn.flush()?;
            let event = match self.backlog.pop_front() {
                Some(e) => e,
                None => self.conn.wait_for_event()?,
            };
            if let Err(e) = self.handle(event) {
                tolerate(e)?;
            }
            self.outgoing
                .retain(|s| s.out.touched.elapsed() < STALE_TRANSFER);
        }
    }

    fn handle(&mut self, event: Event) -> Result<(), X11Error> {
        match event {
            // Only a wake-up; the commands are drained at the top of the loop.
            Event::ClientMessage(_) => {}
            // Our own ownership, and owners that vanish (nothing left to read), are no news.
            Event::XfixesSelectionNotify(e)
                if e.selection == self.atoms.CLIPBOARD
                    && e.owner != self.window
                    && e.owner != x11rb::NONE =>
            {
                self.start_read(e.selection_timestamp, false)?;
            }
            Event::SelectionRequest(e) => self.serve(&e)?,
            Event::SelectionClear(e) if e.selection == self.atoms.CLIPBOARD => {
                tracing::debug!("another X client took the clipboard");
                self.owned = None;
            }
            Event::SelectionNotify(e) if e.requestor == self.window => {
                self.on_converted(&e)?;
            }
            Event::PropertyNotify(e) if e.window == self.window => self.on_own_property(&e)?,
            Event::PropertyNotify(e) => self.on_requestor_property(&e)?,
            Event::Error(e) => {
                // Typically BadWindow from a requestor that vanished mid-transfer.
                tracing::debug!(error = ?e, "X error on the clipboard connection");
                self.outgoing.retain(|s| s.requestor != e.bad_value);
            }
            _ => {}
        }
        Ok(())
    }

    /// Executes queued commands; false once the handles are gone.
    fn drain_commands(&mut self) -> Result<bool, X11Error> {
        loop {
            match self.cmds.try_recv() {
                Ok(Cmd::Set(text)) => self.own(text, None)?,
                Ok(Cmd::SetPng(png)) => self.own(String::new(), Some(Arc::from(png)))?,
                Ok(Cmd::Request) => self.request()?,
                // Stop comes from the drop of the state all handle clones share: the last one.
                Ok(Cmd::Stop) | Err(TryRecvError::Disconnected) => return Ok(false),
                Err(TryRecvError::Empty) => return Ok(true),
            }
        }
    }

    fn own(&mut self, text: String, png: Option<Arc<[u8]>>) -> Result<(), X11Error> {
        let since = self.server_time()?;
        self.conn
            .set_selection_owner(self.window, self.atoms.CLIPBOARD, since)?;
        let owner = self
            .conn
            .get_selection_owner(self.atoms.CLIPBOARD)?
            .reply()?
            .owner;
        if owner != self.window {
            tracing::warn!(owner, "could not take the X clipboard; text not shared");
            return Ok(());
        }
        tracing::debug!(
            bytes = text.len(),
            png = png.is_some(),
            "own the X clipboard"
        );
        let text: Arc<str> = Arc::from(text);
        if png.is_some() {
            self.last_png.clone_from(&png);
        } else {
            self.last = Some(text.to_string());
        }
        self.owned = Some(Owned {
            utf8: Arc::from(text.as_bytes()),
            text,
            latin1: None,
            since,
            png,
        });
        Ok(())
    }

    fn request(&mut self) -> Result<(), X11Error> {
        if let Some(owned) = &self.owned {
            if let Some(png) = owned.png.clone() {
                self.deliver_png(png.to_vec(), true);
                return Ok(());
            }
            let text = owned.text.to_string();
            self.deliver(text, true);
            return Ok(());
        }
        self.start_read(x11rb::CURRENT_TIME, true)
    }

    /// Hands text to the host unless the browser side already has it (or `forced`).
    pub(super) fn deliver(&mut self, text: String, forced: bool) {
        if text.is_empty() || (!forced && self.last.as_deref() == Some(text.as_str())) {
            return;
        }
        self.last = Some(text.clone());
        if self.tx.send(text).is_err() {
            tracing::trace!("clipboard receiver dropped; change not delivered");
        }
    }

    /// Hands an image to the host unless the browser side already has it (or `forced`).
    pub(super) fn deliver_png(&mut self, png: Vec<u8>, forced: bool) {
        let Some(tx) = &self.png_tx else { return };
        if png.is_empty() || (!forced && self.last_png.as_deref() == Some(png.as_slice())) {
            return;
        }
        self.last_png = Some(Arc::from(png.as_slice()));
        if tx.send(png).is_err() {
            tracing::trace!("clipboard image receiver dropped; change not delivered");
        }
    }

    /// A real server timestamp (ICCCM forbids CurrentTime for ownership): a zero-length
    /// append to our own property makes the server report its time in PropertyNotify.
    fn server_time(&mut self) -> Result<Timestamp, X11Error> {
        let probe = self.atoms.SELKIES_CLIPBOARD_TIME;
        self.conn.change_property(
            PropMode::APPEND,
            self.window,
            probe,
            AtomEnum::INTEGER,
            32,
            0,
            &[],
        )?;
        self.conn.flush()?;
        loop {
            match self.conn.wait_for_event()? {
                Event::PropertyNotify(e) if e.window == self.window && e.atom == probe => {
                    return Ok(e.time);
                }
                other => self.backlog.push_back(other),
            }
        }
    }
}

/// A request another client made fail (a requestor window destroyed mid-transfer, say) must
/// not end the service; only a broken connection does.
fn tolerate(e: X11Error) -> Result<(), X11Error> {
    if e.is_fatal() {
        return Err(e);
    }
    tracing::debug!(error = %e, "X request refused; clipboard service continues");
    Ok(())
}
