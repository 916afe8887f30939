//! A plain X client playing the other side of the clipboard: it owns CLIPBOARD and serves
//! UTF8_STRING (INCR above a chunk size) the way toolkits do, or pastes (ConvertSelection,
//! INCR aware). Written straight-line and blocking, independent of the service's code.

#![allow(dead_code)] // each test binary uses a subset

use std::sync::mpsc;
use std::time::{Duration, Instant};

use x11rb::connection::Connection;
use x11rb::protocol::Event;
use x11rb::protocol::xproto::{
    Atom, AtomEnum, ChangeWindowAttributesAux, ConnectionExt as _, CreateWindowAux, EventMask,
    PropMode, Property, SelectionRequestEvent, Window, WindowClass,
};
use x11rb::rust_connection::RustConnection;
use x11rb::wrapper::ConnectionExt as _;

pub const WAIT: Duration = Duration::from_secs(10);

/// The next text the clipboard service reports to the browser side, within `WAIT`.
#[allow(dead_code)] // not every test binary reads text
pub fn recv_text(rx: &mut tokio::sync::mpsc::UnboundedReceiver<String>) -> String {
    use tokio::sync::mpsc::error::TryRecvError;
    let deadline = Instant::now() + WAIT;
    loop {
        match rx.try_recv() {
            Ok(text) => return text,
            Err(TryRecvError::Empty) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("no clipboard text: {e}"),
        }
    }
}

x11rb::atom_manager! {
    pub Atoms: AtomsCookie {
        CLIPBOARD,
        UTF8_STRING,
        TEXT,
        TARGETS,
        TIMESTAMP,
        INCR,
        MULTIPLE,
        ATOM_PAIR,
        PEER_PASTE,
        PEER_PAIRS,
        PEER_ONE,
        PEER_TWO,
    }
}

pub struct Peer {
    pub conn: RustConnection,
    pub window: Window,
    pub atoms: Atoms,
}

impl Peer {
    pub fn new(display: &str) -> Self {
        let (conn, screen) = RustConnection::connect(Some(display)).expect("peer connect");
        let root = conn.setup().roots[screen].root;
        let atoms = Atoms::new(&conn).expect("atoms").reply().expect("atoms");
        let window = conn.generate_id().expect("id");
        let aux = CreateWindowAux::new().event_mask(EventMask::PROPERTY_CHANGE);
        conn.create_window(
            0,
            window,
            root,
            0,
            0,
            1,
            1,
            0,
            WindowClass::INPUT_ONLY,
            0,
            &aux,
        )
        .expect("window");
        conn.flush().expect("flush");
        Self {
            conn,
            window,
            atoms,
        }
    }

    /// Owns CLIPBOARD with `text` on a thread that serves requests until the selection is
    /// taken away or the server goes. The receiver gets one `()` per completed INCR send.
    pub fn own(self, text: &str, chunk: usize) -> mpsc::Receiver<()> {
        let data = text.as_bytes().to_vec();
        self.conn
            .set_selection_owner(self.window, self.atoms.CLIPBOARD, x11rb::CURRENT_TIME)
            .expect("own");
        let owner = self
            .conn
            .get_selection_owner(self.atoms.CLIPBOARD)
            .expect("owner")
            .reply()
            .expect("owner");
        assert_eq!(owner.owner, self.window, "peer must own CLIPBOARD");
        let (done_tx, done_rx) = mpsc::channel();
        std::thread::spawn(move || {
            while let Ok(event) = self.conn.wait_for_event() {
                match event {
                    Event::SelectionRequest(e) => {
                        if self.answer(&e, &data, chunk).is_err() {
                            return;
                        }
                        if data.len() > chunk && e.target == self.atoms.UTF8_STRING {
                            let _ = done_tx.send(());
                        }
                    }
                    Event::SelectionClear(_) => return,
                    _ => {}
                }
            }
        });
        done_rx
    }

    /// Owns CLIPBOARD offering each `(target, bytes)` (no INCR), TARGETS listing them all, as
    /// a browser does for a copied image (`image/png` and `UTF8_STRING`). Serves until the
    /// selection is taken away; the receiver gets each target asked for.
    pub fn own_targets(self, offers: Vec<(Atom, Vec<u8>)>) -> mpsc::Receiver<Atom> {
        self.conn
            .set_selection_owner(self.window, self.atoms.CLIPBOARD, x11rb::CURRENT_TIME)
            .expect("own");
        self.conn.flush().expect("flush");
        let (asked_tx, asked_rx) = mpsc::channel();
        std::thread::spawn(move || {
            while let Ok(event) = self.conn.wait_for_event() {
                match event {
                    Event::SelectionRequest(e) => {
                        let _ = asked_tx.send(e.target);
                        let a = self.atoms;
                        let property = if e.target == a.TARGETS {
                            let mut targets = vec![a.TARGETS];
                            targets.extend(offers.iter().map(|(t, _)| *t));
                            self.conn
                                .change_property32(
                                    PropMode::REPLACE,
                                    e.requestor,
                                    e.property,
                                    AtomEnum::ATOM,
                                    &targets,
                                )
                                .map(|_| e.property)
                        } else if let Some((t, data)) = offers.iter().find(|(t, _)| *t == e.target)
                        {
                            self.conn
                                .change_property8(
                                    PropMode::REPLACE,
                                    e.requestor,
                                    e.property,
                                    *t,
                                    data,
                                )
                                .map(|_| e.property)
                        } else {
                            Ok(x11rb::NONE)
                        };
                        let Ok(property) = property else { return };
                        let notify = selkies_x11::clipboard::selection_notify(&e, property);
                        if self
                            .conn
                            .send_event(false, e.requestor, EventMask::NO_EVENT, notify)
                            .and_then(|_| self.conn.flush())
                            .is_err()
                        {
                            return;
                        }
                    }
                    Event::SelectionClear(_) => return,
                    _ => {}
                }
            }
        });
        asked_rx
    }

    fn answer(
        &self,
        e: &SelectionRequestEvent,
        data: &[u8],
        chunk: usize,
    ) -> Result<(), Box<dyn std::error::Error>> {
        let a = self.atoms;
        let mut incr = false;
        let property = if e.target == a.TARGETS {
            let targets = [a.TARGETS, a.UTF8_STRING];
            self.conn.change_property32(
                PropMode::REPLACE,
                e.requestor,
                e.property,
                AtomEnum::ATOM,
                &targets,
            )?;
            e.property
        } else if e.target == a.UTF8_STRING && data.len() <= chunk {
            self.conn.change_property8(
                PropMode::REPLACE,
                e.requestor,
                e.property,
                a.UTF8_STRING,
                data,
            )?;
            e.property
        } else if e.target == a.UTF8_STRING {
            let aux = ChangeWindowAttributesAux::new().event_mask(EventMask::PROPERTY_CHANGE);
            self.conn.change_window_attributes(e.requestor, &aux)?;
            let size = [u32::try_from(data.len())?];
            self.conn.change_property32(
                PropMode::REPLACE,
                e.requestor,
                e.property,
                a.INCR,
                &size,
            )?;
            incr = true;
            e.property
        } else {
            x11rb::NONE
        };
        let notify = selkies_x11::clipboard::selection_notify(e, property);
        self.conn
            .send_event(false, e.requestor, EventMask::NO_EVENT, notify)?;
        // A round trip, as Xlib's XCloseDisplay does: the server may drop requests still
        // unread when it notices the connection closing, and this thread ends at the next
        // SelectionClear.
        self.conn.get_input_focus()?.reply()?;
        if !incr {
            return Ok(());
        }
        // Each deletion by the requestor asks for the next chunk; an empty one ends it.
        let mut chunks = data.chunks(chunk).chain(std::iter::once(&[][..]));
        loop {
            match self.conn.wait_for_event()? {
                Event::PropertyNotify(p)
                    if p.window == e.requestor
                        && p.atom == e.property
                        && p.state == Property::DELETE =>
                {
                    let Some(bytes) = chunks.next() else {
                        return Ok(());
                    };
                    self.conn.change_property8(
                        PropMode::REPLACE,
                        e.requestor,
                        e.property,
                        a.UTF8_STRING,
                        bytes,
                    )?;
                    self.conn.flush()?;
                    if bytes.is_empty() {
                        return Ok(());
                    }
                }
                _ => {}
            }
        }
    }

    /// Asks the CLIPBOARD owner to convert to `target` into our `prop` and returns the property
    /// its SelectionNotify names (None when it refused).
    fn convert(&self, target: Atom, prop: Atom) -> Atom {
        self.conn
            .convert_selection(
                self.window,
                self.atoms.CLIPBOARD,
                target,
                prop,
                x11rb::CURRENT_TIME,
            )
            .expect("convert");
        self.conn.flush().expect("flush");
        self.wait(|e| match e {
            Event::SelectionNotify(n) if n.requestor == self.window => Some(n.property),
            _ => None,
        })
    }

    /// Pastes until the service has taken the selection and serves `target`.
    #[allow(dead_code)] // not every test binary pastes
    pub fn paste_when_owned(&self, target: Atom) -> (Atom, Vec<u8>) {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(got) = self.paste(target) {
                return got;
            }
            assert!(Instant::now() < deadline, "service never owned CLIPBOARD");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Converts CLIPBOARD to `target` like a pasting application: the property's type and
    /// bytes, or None when the owner refused.
    pub fn paste(&self, target: Atom) -> Option<(Atom, Vec<u8>)> {
        let prop = self.atoms.PEER_PASTE;
        if self.convert(target, prop) == x11rb::NONE {
            return None;
        }
        let first = self.take(prop);
        if first.0 != self.atoms.INCR {
            return Some(first);
        }
        let mut data = Vec::new();
        let mut kind = x11rb::NONE;
        loop {
            self.wait(|e| match e {
                Event::PropertyNotify(p)
                    if p.window == self.window
                        && p.atom == prop
                        && p.state == Property::NEW_VALUE =>
                {
                    Some(())
                }
                _ => None,
            });
            let (k, chunk) = self.take(prop);
            if chunk.is_empty() {
                return Some((kind, data));
            }
            kind = k;
            data.extend_from_slice(&chunk);
        }
    }

    /// MULTIPLE with (UTF8_STRING → PEER_ONE, PIXMAP → PEER_TWO): the pairs as the owner
    /// rewrote them, and PEER_ONE's bytes.
    pub fn paste_multiple(&self) -> (Vec<u32>, Vec<u8>) {
        let a = self.atoms;
        let pairs = [
            a.UTF8_STRING,
            a.PEER_ONE,
            AtomEnum::PIXMAP.into(),
            a.PEER_TWO,
        ];
        self.conn
            .change_property32(
                PropMode::REPLACE,
                self.window,
                a.PEER_PAIRS,
                a.ATOM_PAIR,
                &pairs,
            )
            .expect("pairs");
        assert_eq!(
            self.convert(a.MULTIPLE, a.PEER_PAIRS),
            a.PEER_PAIRS,
            "MULTIPLE refused"
        );
        let (_, raw) = self.take(a.PEER_PAIRS);
        let pairs = raw
            .chunks_exact(4)
            .map(|c| u32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        (pairs, self.take(a.PEER_ONE).1)
    }

    /// Starts an INCR paste and disconnects after the first chunk, like a crashing client.
    pub fn abandon_incr_paste(self) {
        let prop = self.atoms.PEER_PASTE;
        self.conn
            .convert_selection(
                self.window,
                self.atoms.CLIPBOARD,
                self.atoms.UTF8_STRING,
                prop,
                x11rb::CURRENT_TIME,
            )
            .expect("convert");
        self.conn.flush().expect("flush");
        self.wait(|e| matches!(e, Event::SelectionNotify(_)).then_some(()));
        let (kind, _) = self.take(prop);
        assert_eq!(kind, self.atoms.INCR, "large text must come INCR");
        self.wait(|e| match e {
            Event::PropertyNotify(p) if p.atom == prop && p.state == Property::NEW_VALUE => {
                Some(())
            }
            _ => None,
        });
        // Dropping the connection destroys the window mid-transfer.
    }

    /// Reads and deletes a property whole.
    fn take(&self, prop: Atom) -> (Atom, Vec<u8>) {
        let r = self
            .conn
            .get_property(true, self.window, prop, AtomEnum::ANY, 0, u32::MAX / 4)
            .expect("get")
            .reply()
            .expect("get");
        (r.type_, r.value)
    }

    fn wait<T>(&self, mut pick: impl FnMut(&Event) -> Option<T>) -> T {
        let deadline = Instant::now() + WAIT;
        loop {
            while let Some(e) = self.conn.poll_for_event().expect("poll") {
                if let Some(v) = pick(&e) {
                    return v;
                }
            }
            assert!(Instant::now() < deadline, "peer timed out waiting for X");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    pub fn owner(&self) -> Window {
        self.conn
            .get_selection_owner(self.atoms.CLIPBOARD)
            .expect("owner")
            .reply()
            .expect("owner")
            .owner
    }
}
