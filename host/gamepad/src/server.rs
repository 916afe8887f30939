//! The unix-socket servers of one pad (docs/protocol.md §7.A.5, §7.B): a js socket and an
//! event socket, any number of clients each, config record first, then the current state, then
//! every change in order.
//!
//! Back-pressure never reaches the caller: each client has a bounded queue; a client whose
//! queue is full (it stopped reading) or whose socket write stalls is dropped, and the others
//! and the data channel carry on.

use std::io;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use selkies_js_wire::event::{EV_ABS, EV_KEY, JS_EVENT_BUTTON, evdev_value};
use selkies_js_wire::{DeviceConfig, DeviceKind, DeviceRef, InputEvent, JsEvent};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::mapping::{JsUpdate, PadState};

/// Events a client may lag behind before it is considered dead.
const CLIENT_QUEUE: usize = 1024;
/// A write that makes no progress for this long means the client stopped reading.
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long to wait for the interposer's word-size byte on event sockets; an older client that
/// never sends it gets the 64-bit layout.
const WORD_TIMEOUT: Duration = Duration::from_secs(2);

/// One timestamped change, as queued to clients.
#[derive(Debug, Clone, Copy)]
struct Stamped {
    update: JsUpdate,
    time: Duration,
}

impl Stamped {
    fn now(update: JsUpdate) -> Self {
        let time = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Self { update, time }
    }

    fn encode(&self, kind: DeviceKind, config: &DeviceConfig, word: usize, out: &mut Vec<u8>) {
        let u = self.update;
        match kind {
            DeviceKind::Js => {
                // Legacy: int(epoch_ms) mod 1e9.
                let time = (self.time.as_millis() % 1_000_000_000) as u32;
                out.extend_from_slice(
                    &JsEvent {
                        time,
                        value: u.value,
                        kind: u.kind,
                        number: u.number,
                    }
                    .encode(),
                );
            }
            DeviceKind::Event => {
                let (kind, code, value) = if u.kind == JS_EVENT_BUTTON {
                    let code = config.buttons().get(usize::from(u.number)).copied();
                    (EV_KEY, code, i32::from(u.value))
                } else {
                    let code = config.axes().get(usize::from(u.number)).copied();
                    (
                        EV_ABS,
                        code.map(u16::from),
                        code.map_or(0, |c| evdev_value(c, u.value)),
                    )
                };
                let Some(code) = code else { return };
                let ev = InputEvent {
                    sec: self.time.as_secs() as i64,
                    usec: i64::from(self.time.subsec_micros()),
                    kind,
                    code,
                    value,
                };
                out.extend_from_slice(&ev.encode_with_syn(word));
            }
        }
    }
}

#[derive(Default)]
struct Shared {
    state: PadState,
    clients: Vec<mpsc::Sender<Stamped>>,
}

/// The servers of one pad; dropping it does not stop them, [`PadServer::stop`] does.
pub struct PadServer {
    index: u8,
    shared: Arc<Mutex<Shared>>,
    tasks: JoinSet<()>,
    paths: Vec<PathBuf>,
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

/// Removes `path` if it is a socket (never a regular file someone put there).
fn remove_socket(path: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() => std::fs::remove_file(path),
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} exists and is not a socket", path.display()),
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

fn bind(path: &Path) -> io::Result<UnixListener> {
    remove_socket(path)?;
    let listener = UnixListener::bind(path)?;
    // Games often run as another user than the host; the socket is the device node's stand-in.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666))?;
    Ok(listener)
}

impl PadServer {
    /// Binds `selkies_js<index>.sock` and `selkies_event100<index>.sock` in `dir` and starts
    /// accepting. Must run inside a tokio runtime.
    pub fn start(dir: &Path, index: u8) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let shared = Arc::new(Mutex::new(Shared::default()));
        let mut tasks = JoinSet::new();
        let mut paths: Vec<PathBuf> = Vec::new();
        for kind in [DeviceKind::Js, DeviceKind::Event] {
            let dref = DeviceRef { kind, index };
            let path = dir.join(dref.socket_name());
            let listener = match bind(&path) {
                Ok(l) => l,
                Err(e) => {
                    for p in &paths {
                        let _ = remove_socket(p);
                    }
                    return Err(io::Error::new(e.kind(), format!("{}: {e}", path.display())));
                }
            };
            paths.push(path);
            tasks.spawn(accept_loop(listener, dref, Arc::clone(&shared)));
        }
        tracing::info!(index, dir = %dir.display(), "gamepad sockets listening");
        Ok(Self {
            index,
            shared,
            tasks,
            paths,
        })
    }

    /// Applies a change and queues it to every client; never waits.
    pub fn send(&self, update: JsUpdate) {
        let mut s = lock(&self.shared);
        if !s.state.apply(update) {
            return;
        }
        let ev = Stamped::now(update);
        let index = self.index;
        s.clients.retain(|tx| match tx.try_send(ev) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!(index, "gamepad client is not reading; dropping it");
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        });
    }

    /// Number of connected clients (both sockets).
    pub fn client_count(&self) -> usize {
        lock(&self.shared)
            .clients
            .iter()
            .filter(|c| !c.is_closed())
            .count()
    }

    /// Stops accepting, disconnects every client and removes the socket files.
    pub async fn stop(mut self) {
        self.tasks.shutdown().await;
        for p in &self.paths {
            if let Err(e) = remove_socket(p) {
                tracing::warn!(path = %p.display(), "removing gamepad socket: {e}");
            }
        }
        tracing::info!(index = self.index, "gamepad sockets removed");
    }
}

async fn accept_loop(listener: UnixListener, dref: DeviceRef, shared: Arc<Mutex<Shared>>) {
    let mut clients = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    clients.spawn(serve_client(stream, dref, Arc::clone(&shared)));
                }
                Err(e) => {
                    tracing::warn!(socket = dref.socket_name(), "accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = clients.join_next(), if !clients.is_empty() => {}
        }
    }
}

async fn serve_client(stream: UnixStream, dref: DeviceRef, shared: Arc<Mutex<Shared>>) {
    let (tx, rx) = mpsc::channel(CLIENT_QUEUE);
    // Snapshot and subscription under one lock: no change can fall between them.
    let snapshot: Vec<Stamped> = {
        let mut s = lock(&shared);
        s.clients.push(tx);
        s.state.snapshot().into_iter().map(Stamped::now).collect()
    };
    match client_session(stream, dref, snapshot, rx).await {
        Ok(()) => tracing::debug!(socket = dref.socket_name(), "gamepad client left"),
        Err(e) => tracing::debug!(socket = dref.socket_name(), "gamepad client dropped: {e}"),
    }
}

async fn write_timed(w: &mut tokio::net::unix::OwnedWriteHalf, buf: &[u8]) -> io::Result<()> {
    tokio::time::timeout(WRITE_TIMEOUT, w.write_all(buf))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "client stopped reading"))?
}

async fn client_session(
    stream: UnixStream,
    dref: DeviceRef,
    snapshot: Vec<Stamped>,
    mut rx: mpsc::Receiver<Stamped>,
) -> io::Result<()> {
    let (mut reader, mut writer) = stream.into_split();
    let (config, mut out, mut word) = match dref.kind {
        DeviceKind::Js => {
            let c = DeviceConfig::xpad_js();
            let rec = c.encode_js().to_vec();
            (c, rec, 8)
        }
        DeviceKind::Event => {
            let c = DeviceConfig::xpad_event(dref.index);
            let rec = c.encode_event().to_vec();
            (c, rec, 8)
        }
    };
    if dref.kind == DeviceKind::Event {
        // The record must be complete before the word size can come back.
        write_timed(&mut writer, &out).await?;
        out.clear();
        let mut b = [0u8; 1];
        match tokio::time::timeout(WORD_TIMEOUT, reader.read(&mut b)).await {
            Ok(Ok(1)) if b[0] == 4 || b[0] == 8 => word = usize::from(b[0]),
            Ok(Ok(0)) => return Ok(()),
            Ok(Err(e)) => return Err(e),
            _ => tracing::debug!(
                socket = dref.socket_name(),
                "no word size from client; assuming 8"
            ),
        }
    }
    for ev in &snapshot {
        ev.encode(dref.kind, &config, word, &mut out);
    }
    // Config (js) and initial state in one write, so even the legacy single-read interposer sees
    // a whole record (docs/protocol.md §11 item 14).
    write_timed(&mut writer, &out).await?;
    let mut sink = [0u8; 256];
    loop {
        tokio::select! {
            ev = rx.recv() => {
                let Some(ev) = ev else { return Ok(()) };
                out.clear();
                ev.encode(dref.kind, &config, word, &mut out);
                // Coalesce whatever else is already queued into the same write.
                while let Ok(more) = rx.try_recv() {
                    more.encode(dref.kind, &config, word, &mut out);
                }
                write_timed(&mut writer, &out).await?;
            }
            // Clients may write (force-feedback events, the word byte of a legacy branch
            // interposer on js sockets): read and discard, and notice when they hang up.
            n = reader.read(&mut sink) => {
                if n? == 0 {
                    return Ok(());
                }
            }
        }
    }
}
