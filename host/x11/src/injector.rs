//! The injector thread: owns one X connection, executes the keyboard and mouse plans with
//! XTest, keeps the keymap model current (MappingNotify), and batches flushes.

use std::sync::mpsc::{Receiver, Sender};

use x11rb::connection::{Connection, RequestConnection};
use x11rb::protocol::Event;
use x11rb::protocol::xproto::{self, ConnectionExt as _, Mapping, Window};
use x11rb::protocol::xtest::{self, ConnectionExt as _};
use x11rb::rust_connection::RustConnection;

use crate::InputCommand;
use crate::error::X11Error;
use crate::keyboard::{KeyAction, Keyboard, Snapshot};
use crate::keymap::{KeymapTable, ModifierKeys};
use crate::mouse::{ButtonEvent, ButtonTracker, Motion};

/// What travels over the channel.
pub(crate) enum Msg {
    Command(InputCommand),
    /// Answer once everything before it has been processed by the X server.
    Sync(Sender<()>),
}

/// Upper bound on messages handled between two flushes, so a steady stream of mouse motion
/// still reaches the server promptly.
const MAX_BATCH: usize = 256;

pub(crate) struct Injector {
    conn: RustConnection,
    root: Window,
    table: KeymapTable,
    mods: ModifierKeys,
    keyboard: Keyboard,
    mouse: ButtonTracker,
}

impl Injector {
    /// Connects and loads the keymap; runs on the caller's thread so errors reach it.
    pub(crate) fn connect(display: Option<&str>) -> Result<Self, X11Error> {
        let (conn, _, root) = crate::conn::connect(display)?;
        if conn
            .extension_information(xtest::X11_EXTENSION_NAME)?
            .is_none()
        {
            return Err(X11Error::NoXTest);
        }
        conn.xtest_get_version(2, 2)?.reply()?;
        let table = fetch_keymap(&conn)?;
        let mods = fetch_modifiers(&conn, &table)?;
        let keyboard = Keyboard::new(&table);
        tracing::debug!(
            root,
            spare_keycodes = keyboard.spare_count(),
            "X input injector connected"
        );
        let mut injector = Self {
            conn,
            root,
            table,
            mods,
            keyboard,
            mouse: ButtonTracker::default(),
        };
        // Like the legacy host, start from a clean slate: a previous instance that died with
        // keys down (Ctrl, Shift...) would otherwise leave them stuck for the next user.
        injector.release_all()?;
        injector.conn.flush()?;
        Ok(injector)
    }

    /// The thread body: until every handle is dropped or the connection dies.
    pub(crate) fn run(mut self, rx: Receiver<Msg>) {
        while let Ok(first) = rx.recv() {
            let mut syncs = Vec::new();
            let result = self.batch(first, &rx, &mut syncs);
            if let Err(err) = result {
                if err.is_fatal() {
                    // Dropping `syncs` tells waiters the thread stopped.
                    tracing::error!(%err, "X input injection stopped");
                    return;
                }
                tracing::warn!(%err, "X input request refused");
            }
            for done in syncs {
                // The waiter may have timed out and gone; nothing to do then.
                let _ = done.send(());
            }
        }
        if let Err(err) = self.shutdown() {
            tracing::warn!(%err, "cleanup of X input state failed");
        }
    }

    fn batch(
        &mut self,
        first: Msg,
        rx: &Receiver<Msg>,
        syncs: &mut Vec<Sender<()>>,
    ) -> Result<(), X11Error> {
        self.poll_events()?;
        let mut next = Some(first);
        let mut handled = 0;
        while let Some(msg) = next.take() {
            match msg {
                Msg::Command(cmd) => self.command(cmd)?,
                Msg::Sync(done) => syncs.push(done),
            }
            handled += 1;
            if handled < MAX_BATCH {
                next = rx.try_recv().ok();
            }
        }
        if syncs.is_empty() {
            self.conn.flush()?;
        } else {
            // A round trip: the server has processed every request before it.
            self.conn.get_input_focus()?.reply()?;
        }
        Ok(())
    }

    fn command(&mut self, cmd: InputCommand) -> Result<(), X11Error> {
        match cmd {
            InputCommand::Mouse {
                relative,
                x,
                y,
                mask,
                magnitude,
            } => {
                let plan = self.mouse.plan(relative, x, y, mask, magnitude);
                tracing::debug!(?plan, "mouse");
                if let Some(motion) = plan.motion {
                    self.motion(motion)?;
                }
                self.buttons(&plan.buttons)
            }
            InputCommand::Key { keysym, down } => {
                let actions = if down {
                    let snap = self.snapshot()?;
                    self.keyboard
                        .key_down(&mut self.table, &self.mods, &snap, keysym)
                } else {
                    self.keyboard.key_up(&self.table, keysym)
                };
                tracing::debug!(keysym, down, ?actions, "key");
                self.keys(&actions)
            }
            InputCommand::ReleaseAll => self.release_all(),
        }
    }

    fn release_all(&mut self) -> Result<(), X11Error> {
        let snap = self.snapshot()?;
        let actions = self.keyboard.release_all(&self.table, &snap);
        let buttons = self.mouse.release_all();
        tracing::debug!(?actions, ?buttons, "release all");
        self.keys(&actions)?;
        self.buttons(&buttons)
    }

    fn shutdown(&mut self) -> Result<(), X11Error> {
        self.release_all()?;
        let restore = self.keyboard.restore_bindings(&mut self.table);
        self.keys(&restore)?;
        self.conn.get_input_focus()?.reply()?;
        Ok(())
    }

    fn motion(&self, motion: Motion) -> Result<(), X11Error> {
        let (detail, root, x, y) = match motion {
            Motion::Absolute(x, y) => (0, self.root, x, y),
            Motion::Relative(dx, dy) => (1, x11rb::NONE, dx, dy),
        };
        self.conn
            .xtest_fake_input(xproto::MOTION_NOTIFY_EVENT, detail, 0, root, x, y, 0)?;
        Ok(())
    }

    fn buttons(&self, events: &[ButtonEvent]) -> Result<(), X11Error> {
        for &event in events {
            let (kind, button) = match event {
                ButtonEvent::Press(b) => (xproto::BUTTON_PRESS_EVENT, b),
                ButtonEvent::Release(b) => (xproto::BUTTON_RELEASE_EVENT, b),
            };
            self.fake(kind, button)?;
        }
        Ok(())
    }

    fn keys(&self, actions: &[KeyAction]) -> Result<(), X11Error> {
        for action in actions {
            match action {
                KeyAction::Press(kc) => self.fake(xproto::KEY_PRESS_EVENT, *kc)?,
                KeyAction::Release(kc) => self.fake(xproto::KEY_RELEASE_EVENT, *kc)?,
                KeyAction::Bind { keycode, keysyms } => {
                    // Two columns: the planner binds a keysym to both levels; an empty list
                    // unbinds. Checked, so a refused binding is reported, not silently typed.
                    let row = [
                        keysyms.first().copied().unwrap_or(0),
                        keysyms.get(1).copied().unwrap_or(0),
                    ];
                    self.conn
                        .change_keyboard_mapping(1, *keycode, 2, &row)?
                        .check()?;
                }
            }
        }
        Ok(())
    }

    fn fake(&self, kind: u8, detail: u8) -> Result<(), X11Error> {
        self.conn
            .xtest_fake_input(kind, detail, 0, x11rb::NONE, 0, 0, 0)?;
        Ok(())
    }

    /// Modifier state and pressed keys, in one round trip.
    fn snapshot(&self) -> Result<Snapshot, X11Error> {
        let pointer = self.conn.query_pointer(self.root)?;
        let keymap = self.conn.query_keymap()?;
        let mask = u16::from(pointer.reply()?.mask);
        let down = keymap.reply()?.keys;
        Ok(Snapshot {
            state: self.mods.state_from_mask(mask),
            down,
        })
    }

    /// Applies keymap changes (ours echo back too) and logs asynchronous request errors.
    fn poll_events(&mut self) -> Result<(), X11Error> {
        while let Some(event) = self.conn.poll_for_event()? {
            match event {
                Event::MappingNotify(e) if e.request == Mapping::KEYBOARD => {
                    self.table = fetch_keymap(&self.conn)?;
                    self.keyboard.refresh(&self.table);
                    self.mods = fetch_modifiers(&self.conn, &self.table)?;
                }
                Event::MappingNotify(e) if e.request == Mapping::MODIFIER => {
                    self.mods = fetch_modifiers(&self.conn, &self.table)?;
                }
                Event::Error(e) => tracing::warn!(?e, "X error from input request"),
                _ => {}
            }
        }
        Ok(())
    }
}

fn fetch_keymap(conn: &RustConnection) -> Result<KeymapTable, X11Error> {
    let setup = conn.setup();
    let (min, max) = (setup.min_keycode, setup.max_keycode);
    let count = max.saturating_sub(min).saturating_add(1);
    let reply = conn.get_keyboard_mapping(min, count)?.reply()?;
    Ok(KeymapTable::new(
        min,
        reply.keysyms_per_keycode,
        reply.keysyms,
    ))
}

fn fetch_modifiers(conn: &RustConnection, table: &KeymapTable) -> Result<ModifierKeys, X11Error> {
    let reply = conn.get_modifier_mapping()?.reply()?;
    Ok(ModifierKeys::from_mapping(table, &reply.keycodes))
}
