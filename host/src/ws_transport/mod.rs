//! The WebSocket transport (docs/protocol.md "WebSocket streaming", docs/connectivity.md "Two
//! transports"): a signalling socket whose first frame is `WSSTREAM …` leaves the signalling hub
//! and becomes a streaming socket. The host then sends the encoded video and audio on it as
//! binary messages ([`frames`]) and speaks the data-channel grammar on it as text
//! ([`session`]). This module owns the per-host state: `--transport`, the one live streaming
//! session (a new one replaces it) and the route for desktop events (clipboard, cursor) to it.

pub mod exclusive;
pub mod frames;
pub mod session;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use selkies_proto::ws_stream::{StreamRequest, Transport};
use tokio::sync::{mpsc, oneshot};
use tracing::info;

use crate::host::Host;
use crate::sync::lock;

/// Close code of a streaming socket replaced by a newer one (the client's takeover code).
pub const CLOSE_REPLACED: u16 = 4001;
/// Close code for a request the host does not serve (policy violation).
pub const CLOSE_POLICY: u16 = 1008;
/// Close code while another browser streams (try again later).
pub const CLOSE_BUSY: u16 = 1013;

/// The live streaming session's handles.
struct Slot {
    id: u64,
    token: Option<String>,
    kick: Option<oneshot::Sender<()>>,
    desktop: mpsc::UnboundedSender<String>,
}

/// A claimed streaming slot: its id, the replacement signal, the desktop messages.
pub struct Claimed {
    id: u64,
    kicked: oneshot::Receiver<()>,
    desktop: mpsc::UnboundedReceiver<String>,
}

/// Per-host state of the WebSocket transport, kept by the signalling server.
pub struct WsStreaming {
    host: Weak<Host>,
    transport: Transport,
    ws_timeout: Duration,
    active: Mutex<Option<Slot>>,
    next_id: AtomicU64,
}

impl WsStreaming {
    pub fn new(host: &Arc<Host>, transport: Transport, ws_timeout: Duration) -> Arc<Self> {
        Arc::new(Self {
            host: Arc::downgrade(host),
            transport,
            ws_timeout,
            active: Mutex::new(None),
            next_id: AtomicU64::new(1),
        })
    }

    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// Hand desktop messages to the live streaming session; returns them when there is none.
    pub fn offer_desktop(&self, msgs: Vec<String>) -> Vec<String> {
        match lock(&self.active).as_ref() {
            Some(slot) => {
                for m in msgs {
                    let _ = slot.desktop.send(m);
                }
                Vec::new()
            }
            None => msgs,
        }
    }

    /// Whether a browser with takeover `token` may take the slot: it is free, or held by the
    /// same browser.
    fn may_claim(&self, token: Option<&str>) -> bool {
        lock(&self.active)
            .as_ref()
            .is_none_or(|live| token.is_some() && live.token.as_deref() == token)
    }

    /// A browser's WebRTC HELLO: refused while another browser streams here; the same browser's
    /// streaming session is told to end (it switched transports or reloaded).
    fn on_webrtc_hello(&self, token: Option<&str>) -> exclusive::HelloVerdict {
        let mut active = lock(&self.active);
        let Some(live) = active.as_mut() else {
            return exclusive::HelloVerdict::Free;
        };
        if token.is_none() || live.token.as_deref() != token {
            return exclusive::HelloVerdict::Busy;
        }
        if let Some(k) = live.kick.take() {
            let _ = k.send(());
        }
        exclusive::HelloVerdict::Replaced
    }

    /// Take the slot for a new session: the same browser (its takeover token) replaces the one
    /// streaming; anyone else is refused while it lives, as the signalling hub does. Called by
    /// the hub actor only ([`exclusive::claim`]).
    fn claim(&self, token: Option<String>) -> Option<Claimed> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (kick, kicked) = oneshot::channel();
        let (desktop, desktop_rx) = mpsc::unbounded_channel();
        let mut active = lock(&self.active);
        if !active
            .as_ref()
            .is_none_or(|live| token.is_some() && live.token == token)
        {
            return None;
        }
        let old = active.replace(Slot {
            id,
            token,
            kick: Some(kick),
            desktop,
        });
        drop(active);
        if let Some(mut old) = old
            && let Some(k) = old.kick.take()
        {
            let _ = k.send(());
        }
        Some(Claimed {
            id,
            kicked,
            desktop: desktop_rx,
        })
    }

    fn release(&self, id: u64) {
        let mut active = lock(&self.active);
        if active.as_ref().is_some_and(|s| s.id == id) {
            *active = None;
        }
    }
}

pub(crate) fn close_message(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

/// Serve a socket that asked for streaming (`WSSTREAM`), until it closes.
pub async fn serve(
    mut socket: WebSocket,
    streaming: Option<Arc<WsStreaming>>,
    signalling: &crate::ws::Signalling,
    req: StreamRequest,
) {
    let refuse = |why: &'static str| close_message(CLOSE_POLICY, why);
    let Some(streaming) = streaming else {
        let _ = socket
            .send(refuse("WebSocket streaming is not available on this host"))
            .await;
        return;
    };
    if !streaming.transport.allows_websocket() {
        info!("WebSocket streaming refused: --transport=webrtc");
        let _ = socket
            .send(refuse(
                "WebSocket streaming is disabled (--transport=webrtc)",
            ))
            .await;
        return;
    }
    let Some(host) = streaming.host.upgrade() else {
        return;
    };
    let Some(Claimed {
        id,
        kicked,
        desktop,
    }) = signalling.claim_stream(req.token.clone()).await
    else {
        let close = socket.send(close_message(CLOSE_BUSY, exclusive::BUSY_REASON));
        let _ = tokio::time::timeout(streaming.ws_timeout, close).await;
        return;
    };
    info!(
        session = id,
        "browser connected over the WebSocket transport"
    );
    session::run(
        session::Context {
            host,
            ws_timeout: streaming.ws_timeout,
            kicked,
            desktop,
        },
        socket,
        req,
    )
    .await;
    streaming.release(id);
    info!(session = id, "WebSocket streaming session ended");
}

/// `GET /transport`: what the client should use (`{"transport":"auto"}`), so `--transport`
/// reaches our client without touching the legacy `/turn` document.
pub fn advertise(signalling: &crate::ws::Signalling) -> axum::response::Response {
    use axum::response::IntoResponse;
    let transport = signalling
        .streaming
        .get()
        .map_or(Transport::Webrtc, |s| s.transport());
    (
        [
            (axum::http::header::CONTENT_TYPE, "application/json"),
            (axum::http::header::CACHE_CONTROL, "no-store"),
        ],
        format!("{{\"transport\":\"{}\"}}", transport.as_str()),
    )
        .into_response()
}
