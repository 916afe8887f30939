//! Socket glue for the signalling hub: WebSocket connections from browsers (and legacy external
//! hosts) and the host's own in-process peers share one `selkies_proto::signalling::Hub`.
//!
//! One actor task owns the pure hub *and* every connection's sender, fed by a single channel:
//! each event is decided and its messages delivered in one step, so two connections can never
//! interleave (otherwise a new tab's `SESSION_OK` could be delivered before the old tab's
//! teardown that was decided earlier). Sockets that stop answering pings, or never say HELLO,
//! are closed after `--ws_timeout`, so a browser whose network vanished without a close frees
//! the session for the next client within that bound.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::WebSocketUpgrade;
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use axum::response::Response;
use selkies_proto::signalling::{Action, CLOSE_GOING_AWAY, ConnId, Hub};
use selkies_proto::ws_stream::StreamRequest;
use tokio::sync::mpsc;
use tracing::{debug, info};

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

enum Command {
    Open {
        conn: ConnId,
        tx: PeerTx,
    },
    RegisterLocal {
        conn: ConnId,
        uid: String,
    },
    Message {
        conn: ConnId,
        text: String,
    },
    Disconnect {
        conn: ConnId,
    },
    /// A streaming socket with this takeover token asks for the stream: decided here, in the
    /// same step as every HELLO, so WebRTC and the WebSocket never both stream (docs/protocol.md
    /// §13.1). None: another browser streams.
    ClaimStream {
        token: Option<String>,
        reply: tokio::sync::oneshot::Sender<Option<crate::ws_transport::Claimed>>,
    },
    Shutdown,
    /// Answered once every earlier command is carried out.
    #[cfg(test)]
    Flush(tokio::sync::oneshot::Sender<()>),
}

/// Default for `--ws_timeout`.
pub const DEFAULT_WS_TIMEOUT: Duration = Duration::from_secs(15);

/// The signalling server's handle: a channel into the hub actor.
pub struct Signalling {
    tx: mpsc::UnboundedSender<Command>,
    next_conn: AtomicU64,
    ws_timeout: Duration,
    /// The WebSocket transport (`WSSTREAM` sockets leave the hub for it), set once the host
    /// exists.
    pub streaming: Arc<std::sync::OnceLock<Arc<crate::ws_transport::WsStreaming>>>,
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
        self.signalling.command(Command::Message {
            conn: self.conn,
            text,
        });
    }
}

impl Signalling {
    /// Ask the hub for the stream on behalf of a WebSocket streaming socket
    /// ([`Command::ClaimStream`]); None when another browser streams.
    pub(crate) async fn claim_stream(
        &self,
        token: Option<String>,
    ) -> Option<crate::ws_transport::Claimed> {
        let (reply, claimed) = tokio::sync::oneshot::channel();
        self.command(Command::ClaimStream { token, reply });
        claimed.await.ok().flatten()
    }

    /// Starts the hub actor on the current tokio runtime.
    pub fn new() -> Arc<Self> {
        Self::with_ws_timeout(DEFAULT_WS_TIMEOUT)
    }

    /// [`Signalling::new`] with `--ws_timeout`: a socket silent that long (no frame, no pong) is
    /// closed as dead; pings go out three times per period.
    pub fn with_ws_timeout(ws_timeout: Duration) -> Arc<Self> {
        let (tx, rx) = mpsc::unbounded_channel();
        let streaming = Arc::new(std::sync::OnceLock::new());
        tokio::spawn(hub_actor(rx, streaming.clone()));
        Arc::new(Self {
            tx,
            next_conn: AtomicU64::new(1),
            ws_timeout,
            streaming,
        })
    }

    fn next_id(&self) -> ConnId {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    fn command(&self, cmd: Command) {
        // The actor only ends when every handle is gone, so a failed send cannot happen while
        // `self` exists.
        let _ = self.tx.send(cmd);
    }

    /// Register an in-process peer (uid "0" video, "2" audio) and return its handle and inbox.
    pub fn register_local(
        self: &Arc<Self>,
        uid: &str,
    ) -> (LocalPeer, mpsc::UnboundedReceiver<LocalEvent>) {
        let conn = self.next_id();
        let (tx, rx) = mpsc::unbounded_channel();
        self.command(Command::Open {
            conn,
            tx: PeerTx::Local(tx),
        });
        self.command(Command::RegisterLocal {
            conn,
            uid: uid.to_owned(),
        });
        (
            LocalPeer {
                conn,
                signalling: self.clone(),
            },
            rx,
        )
    }

    /// Tell every browser the host is going away (close 1001) so it does not wait for a
    /// timeout; the sockets then end on their own.
    pub fn shutdown(&self) {
        self.command(Command::Shutdown);
    }
}

/// The only owner of the hub and the senders: decides and delivers each event in one step.
async fn hub_actor(
    mut rx: mpsc::UnboundedReceiver<Command>,
    streaming: Arc<std::sync::OnceLock<Arc<crate::ws_transport::WsStreaming>>>,
) {
    let mut hub = Hub::new();
    let mut peers: HashMap<ConnId, PeerTx> = HashMap::new();
    while let Some(cmd) = rx.recv().await {
        let actions = match cmd {
            Command::Open { conn, tx } => {
                peers.insert(conn, tx);
                continue;
            }
            Command::RegisterLocal { conn, uid } => hub.register_local(conn, &uid),
            Command::Message { conn, text } => {
                match crate::ws_transport::exclusive::refuse_hello(&hub, &streaming, conn, &text) {
                    Some(refusal) => refusal,
                    None => hub.on_message(conn, &text),
                }
            }
            Command::Disconnect { conn } => {
                peers.remove(&conn);
                hub.on_disconnect(conn)
            }
            Command::ClaimStream { token, reply } => {
                let (claimed, actions) =
                    crate::ws_transport::exclusive::claim(&mut hub, &streaming, token);
                let _ = reply.send(claimed);
                actions
            }
            Command::Shutdown => {
                for tx in peers.values() {
                    if let PeerTx::Remote(tx) = tx {
                        let _ = tx.send(close_message(CLOSE_GOING_AWAY, "host shutting down"));
                    }
                }
                continue;
            }
            #[cfg(test)]
            Command::Flush(done) => {
                let _ = done.send(());
                continue;
            }
        };
        deliver(&peers, actions);
    }
}

fn close_message(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

/// Every peer is reached through an unbounded channel, so delivery never waits on a peer.
fn deliver(peers: &HashMap<ConnId, PeerTx>, actions: Vec<Action>) {
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
                    let _ = tx.send(close_message(code, &reason));
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

// Legacy limit (websockets library default): 1 MiB per frame.
const MAX_FRAME: usize = 1 << 20;

pub fn upgrade(upgrade: WebSocketUpgrade, signalling: Arc<Signalling>) -> Response {
    upgrade
        .max_frame_size(MAX_FRAME)
        .max_message_size(MAX_FRAME)
        .on_upgrade(move |socket| serve_socket(socket, signalling))
}

async fn serve_socket(mut socket: WebSocket, signalling: Arc<Signalling>) {
    let conn = signalling.next_id();
    let timeout = signalling.ws_timeout;
    let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
    signalling.command(Command::Open {
        conn,
        tx: PeerTx::Remote(tx),
    });
    debug!(conn, "signalling connection opened");
    // One task reads, writes and pings; every send is bounded by the timeout so a peer that
    // stopped reading cannot hold it.
    let mut ping = tokio::time::interval(timeout / 3);
    ping.tick().await;
    let mut deadline = tokio::time::Instant::now() + timeout;
    let mut said_hello = false;
    let mut stream_request = None;
    let why = loop {
        tokio::select! {
            msg = socket.recv() => {
                // Any frame, a pong included, proves the peer alive.
                deadline = tokio::time::Instant::now() + timeout;
                match msg {
                    Some(Ok(Message::Text(text))) => {
                        if !said_hello
                            && let Some(req) = StreamRequest::parse(text.as_str())
                        {
                            stream_request = Some(req);
                            break "switched to WebSocket streaming";
                        }
                        said_hello = true;
                        signalling.command(Command::Message {
                            conn,
                            text: text.as_str().to_owned(),
                        });
                    }
                    Some(Ok(Message::Close(_))) | None => break "closed",
                    Some(Ok(_)) => {}
                    Some(Err(_)) => break "socket error",
                }
            }
            out = rx.recv() => {
                let Some(out) = out else { break "closed by the host" };
                let closing = matches!(out, Message::Close(_));
                match tokio::time::timeout(timeout, socket.send(out)).await {
                    Ok(Ok(())) if !closing => {}
                    Ok(Ok(())) => break "closed by the host",
                    _ => break "send failed",
                }
            }
            _ = ping.tick() => {
                let ping = socket.send(Message::Ping(Vec::new().into()));
                if !matches!(tokio::time::timeout(timeout, ping).await, Ok(Ok(()))) {
                    break "send failed";
                }
            }
            _ = tokio::time::sleep_until(deadline) => {
                break if said_hello {
                    "no frame or pong within --ws_timeout"
                } else {
                    "no HELLO within --ws_timeout"
                };
            }
        }
    };
    signalling.command(Command::Disconnect { conn });
    if let Some(req) = stream_request {
        let streaming = signalling.streaming.get().cloned();
        return crate::ws_transport::serve(socket, streaming, &signalling, req).await;
    }
    if why.starts_with("no ") {
        info!(conn, "signalling connection timed out: {why}");
        let close = socket.send(close_message(1008, why));
        let _ = tokio::time::timeout(timeout, close).await;
    }
    debug!(conn, why, "signalling connection closed");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Drains a local inbox and tells whether the last event left the peer in a session.
    fn last_state(rx: &mut mpsc::UnboundedReceiver<LocalEvent>, mut in_session: bool) -> bool {
        while let Ok(ev) = rx.try_recv() {
            in_session = match ev {
                LocalEvent::Text(t) if t.starts_with("SESSION_OK") => true,
                LocalEvent::Text(_) => in_session,
                LocalEvent::Closed => false,
            };
        }
        in_session
    }

    /// Tabs replacing each other as fast as possible, from many threads: the host peer's view
    /// (its last event) must always match the hub's (a session with the surviving tab). With
    /// decision and delivery under separate locks, a `SESSION_OK` could be overtaken by an
    /// older teardown and the peer would end up idle while the browser waits forever.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn events_reach_a_host_peer_in_decision_order() {
        let signalling = Signalling::new();
        let (_peer, mut inbox) = signalling.register_local("0");
        let mut in_session = false;
        for round in 0..200u64 {
            let mut threads = Vec::new();
            for t in 0..4u64 {
                let s = signalling.clone();
                threads.push(std::thread::spawn(move || {
                    let conn = 1_000_000 + round * 10 + t;
                    let (tx, _rx) = mpsc::unbounded_channel();
                    s.command(Command::Open {
                        conn,
                        tx: PeerTx::Remote(tx),
                    });
                    s.command(Command::Message {
                        conn,
                        text: "HELLO 1".into(),
                    });
                    if t % 2 == 0 {
                        s.command(Command::Disconnect { conn });
                    }
                }));
            }
            for th in threads {
                th.join().expect("thread");
            }
            // Everyone leaves; the last thing the peer hears must be the end of its session.
            for t in 0..4u64 {
                signalling.command(Command::Disconnect {
                    conn: 1_000_000 + round * 10 + t,
                });
            }
            let (done, flushed) = tokio::sync::oneshot::channel();
            signalling.command(Command::Flush(done));
            flushed.await.expect("actor alive");
            in_session = last_state(&mut inbox, in_session);
            assert!(!in_session, "round {round}: peer thinks a session is live");
        }
    }
}
