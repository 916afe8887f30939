//! [`GamepadService`]: what the data-channel handler calls with each parsed `js,…` message.
//! It owns the per-pad servers (socket mode) or virtual devices (uinput mode) for pads 0–3.

use std::path::{Path, PathBuf};

use selkies_proto::gamepad::GamepadMessage;
use tokio::sync::Mutex;

use crate::mapping::{JsUpdate, map_axis, map_button};
use crate::server::PadServer;
use crate::uinput::{UINPUT_PATH, UinputPad, uinput_writable};

/// How browser gamepads reach applications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GamepadMode {
    /// Unix sockets for the LD_PRELOAD interposer, in this directory.
    Sockets(PathBuf),
    /// Virtual devices created through `/dev/uinput`.
    Uinput,
}

impl std::fmt::Display for GamepadMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GamepadMode::Sockets(dir) => write!(f, "interposer sockets in {}", dir.display()),
            GamepadMode::Uinput => write!(f, "uinput virtual gamepads"),
        }
    }
}

enum Pad {
    Socket(PadServer),
    Uinput(Box<UinputPad>),
}

/// Gamepads 0–3 of one host.
pub struct GamepadService {
    mode: GamepadMode,
    pads: Mutex<[Option<Pad>; 4]>,
}

impl GamepadService {
    /// Socket mode: servers under `socket_dir` (the host's `--js_socket_path`).
    pub fn new(socket_dir: PathBuf) -> Self {
        Self::with_uinput(socket_dir, false)
    }

    /// Like [`Self::new`], but uses `/dev/uinput` instead when `use_uinput` is set and the node
    /// is writable; otherwise falls back to sockets with a warning. See [`Self::mode`].
    pub fn with_uinput(socket_dir: PathBuf, use_uinput: bool) -> Self {
        let mode = if use_uinput && uinput_writable(Path::new(UINPUT_PATH)) {
            GamepadMode::Uinput
        } else {
            if use_uinput {
                tracing::warn!("{UINPUT_PATH} is not writable; using interposer sockets instead");
            }
            GamepadMode::Sockets(socket_dir)
        };
        tracing::info!("gamepads: {mode}");
        Self {
            mode,
            pads: Mutex::new([None, None, None, None]),
        }
    }

    /// The mode in use.
    pub fn mode(&self) -> &GamepadMode {
        &self.mode
    }

    /// Applies one browser message. Never waits on a client; errors are logged, not returned,
    /// because the browser cannot act on them.
    pub async fn handle(&self, msg: GamepadMessage) {
        match msg {
            GamepadMessage::Connect {
                index,
                name,
                num_axes,
                num_buttons,
            } => {
                tracing::info!(index, name, num_axes, num_buttons, "gamepad connected");
                self.connect(index).await;
            }
            GamepadMessage::Disconnect { index } => {
                tracing::info!(index, "gamepad disconnected");
                let pad = self
                    .pads
                    .lock()
                    .await
                    .get_mut(usize::from(index))
                    .and_then(Option::take);
                if let Some(Pad::Socket(server)) = pad {
                    server.stop().await;
                }
            }
            GamepadMessage::Button {
                index,
                button,
                value,
            } => {
                if let Some(u) = map_button(button, value) {
                    self.send(index, u).await;
                }
            }
            GamepadMessage::Axis { index, axis, value } => {
                if let Some(u) = map_axis(axis, value) {
                    self.send(index, u).await;
                }
            }
        }
    }

    async fn connect(&self, index: u8) {
        let mut pads = self.pads.lock().await;
        let Some(slot) = pads.get_mut(usize::from(index)) else {
            tracing::warn!(index, "gamepad index out of range");
            return;
        };
        if slot.is_some() {
            // A reloaded page announces its pads again; keep serving the existing clients.
            return;
        }
        let created = match &self.mode {
            GamepadMode::Sockets(dir) => PadServer::start(dir, index).map(Pad::Socket),
            GamepadMode::Uinput => UinputPad::create(index).map(|p| Pad::Uinput(Box::new(p))),
        };
        match created {
            Ok(pad) => *slot = Some(pad),
            Err(e) => tracing::error!(index, "creating gamepad: {e}"),
        }
    }

    async fn send(&self, index: u8, update: JsUpdate) {
        let mut pads = self.pads.lock().await;
        match pads.get_mut(usize::from(index)) {
            Some(Some(Pad::Socket(server))) => server.send(update),
            Some(Some(Pad::Uinput(pad))) => {
                if let Err(e) = pad.send(update) {
                    tracing::warn!(index, "uinput write: {e}");
                }
            }
            _ => tracing::debug!(index, "input for a gamepad that is not connected"),
        }
    }

    /// Number of interposer clients connected to pad `index` (0 in uinput mode).
    pub async fn client_count(&self, index: u8) -> usize {
        match self.pads.lock().await.get(usize::from(index)) {
            Some(Some(Pad::Socket(server))) => server.client_count(),
            _ => 0,
        }
    }

    /// Removes every pad: sockets are closed and unlinked, virtual devices destroyed.
    pub async fn shutdown(&self) {
        let pads: Vec<Pad> = self
            .pads
            .lock()
            .await
            .iter_mut()
            .filter_map(Option::take)
            .collect();
        for pad in pads {
            if let Pad::Socket(server) = pad {
                server.stop().await;
            }
        }
    }
}
