//! Socket glue for the signalling hub: WebSocket connections from browsers (and legacy external
//! hosts) and the host's own in-process peers share one `selkies_proto::signalling::Hub`. The hub
//! decides; this module only moves text between sockets/channels and the hub, never blocking.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::WebSocketUpgrade;
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use selkies_proto::signalling::{Action, ConnId, Hub};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

/// What the hub tells an in-process host peer.
#[derive(Debug)]
pub enum LocalEvent {
    /// A signalling text frame addressed to this peer (`SESSION_OK …`, SDP/ICE JSON, `ERROR …`).
    Text(String),
    /// The session ended (the browser left); the peer stays registered for the next one.
    Closed,
}

enum PeerTx {
    Remote(mpsc::UnboundedSender<Message>),
    Local(mpsc::UnboundedSender<LocalEvent>),
}

/// The signalling server: the pure hub plus the channels that reach each connection.
pub struct Signalling {
    hub: Mutex<Hub>,
    peers: Mutex<HashMap<ConnId, PeerTx>>,
    next_conn: AtomicU64,
}

/// A host peer's handle for talking to the hub.
#[derive(Clone)]
pub struct LocalPeer {
    pub conn: ConnId,
    signalling: Arc<Signalling>,
}

impl LocalPeer {
    /// Send a signalling frame (offer/ICE JSON) as this peer.
    pub fn send(&self, text: String) {
        self.signalling.message(self.conn, &text);
    }
}

impl Default for Signalling {
    fn default() -> Self {
        Self {
            hub: Mutex::new(Hub::new()),
            peers: Mutex::new(HashMap::new()),
            next_conn: AtomicU64::new(1),
        }
    }
}

impl Signalling {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    fn next_id(&self) -> ConnId {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// Register an in-process peer (uid "0" video, "2" audio) and return its handle and inbox.
    pub fn register_local(
        self: &Arc<Self>,
        uid: &str,
    ) -> (LocalPeer, mpsc::UnboundedReceiver<LocalEvent>) {
        let conn = self.next_id();
        let (tx, rx) = mpsc::unbounded_channel();
        lock(&self.peers).insert(conn, PeerTx::Local(tx));
        let actions = lock(&self.hub).register_local(conn, uid);
        self.apply(actions);
        (
            LocalPeer {
                conn,
                signalling: self.clone(),
            },
            rx,
        )
    }

    fn message(&self, conn: ConnId, text: &str) {
        let actions = lock(&self.hub).on_message(conn, text);
        self.apply(actions);
    }

    fn disconnect(&self, conn: ConnId) {
        lock(&self.peers).remove(&conn);
        let actions = lock(&self.hub).on_disconnect(conn);
        self.apply(actions);
    }

    /// Carry out the hub's decisions. Locks are never held while a peer reacts, because every
    /// peer is reached through an unbounded channel.
    fn apply(&self, actions: Vec<Action>) {
        let peers = lock(&self.peers);
        for action in actions {
            match action {
                Action::Send { to, text } => match peers.get(&to) {
                    Some(PeerTx::Remote(tx)) => {
                        let _ = tx.send(Message::Text(text.into()));
                    }
                    Some(PeerTx::Local(tx)) => {
                        let _ = tx.send(LocalEvent::Text(text));
                    }
                    None => debug!(to, "signalling: message for a closed connection dropped"),
                },
                Action::Close { conn, code, reason } => match peers.get(&conn) {
                    Some(PeerTx::Remote(tx)) => {
                        let _ = tx.send(Message::Close(Some(CloseFrame {
                            code,
                            reason: reason.into(),
                        })));
                    }
                    Some(PeerTx::Local(tx)) => {
                        let _ = tx.send(LocalEvent::Closed);
                    }
                    None => {}
                },
                Action::SessionEnded { conn, peer_uid } => {
                    debug!(conn, peer_uid, "session of a host peer ended");
                    if let Some(PeerTx::Local(tx)) = peers.get(&conn) {
                        let _ = tx.send(LocalEvent::Closed);
                    }
                }
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave the maps half-updated in a harmful way.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

// Legacy limit (websockets library default): 1 MiB per frame.
const MAX_FRAME: usize = 1 << 20;
const PING_EVERY: Duration = Duration::from_secs(20);

pub fn upgrade(upgrade: WebSocketUpgrade, signalling: Arc<Signalling>) -> Response {
    upgrade
        .max_frame_size(MAX_FRAME)
        .max_message_size(MAX_FRAME)
        .on_upgrade(move |socket| serve_socket(socket, signalling))
}

async fn serve_socket(socket: WebSocket, signalling: Arc<Signalling>) {
    let conn = signalling.next_id();
    let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
    lock(&signalling.peers).insert(conn, PeerTx::Remote(tx.clone()));
    info!(conn, "signalling connection opened");
    let (mut sink, mut stream) = socket.split();

    let writer = tokio::spawn(async move {
        let mut ping = tokio::time::interval(PING_EVERY);
        ping.tick().await;
        loop {
            tokio::select! {
                msg = rx.recv() => {
                    let Some(msg) = msg else { break };
                    let closing = matches!(msg, Message::Close(_));
                    if sink.send(msg).await.is_err() || closing {
                        break;
                    }
                }
                _ = ping.tick() => {
                    if sink.send(Message::Ping(Vec::new().into())).await.is_err() {
                        break;
                    }
                }
            }
        }
        let _ = sink.close().await;
    });

    while let Some(msg) = stream.next().await {
        match msg {
            Ok(Message::Text(text)) => signalling.message(conn, text.as_str()),
            Ok(Message::Close(_)) => break,
            Ok(_) => {}
            Err(e) => {
                warn!(conn, "signalling socket error: {e}");
                break;
            }
        }
        if writer.is_finished() {
            break;
        }
    }
    signalling.disconnect(conn);
    drop(tx);
    let _ = writer.await;
    info!(conn, "signalling connection closed");
}
