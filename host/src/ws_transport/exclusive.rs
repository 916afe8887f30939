//! One transport streams at a time (docs/protocol.md §13.1): the hub actor (`crate::ws`) asks
//! this module, in the same step in which it decides every `HELLO`, whether a browser may start
//! a WebRTC session while another streams over the WebSocket, and whether a streaming socket
//! may start while another browser holds the WebRTC peers. The same browser (its takeover
//! token) switching transports replaces its own older session either way, so the host never
//! runs both transports' pipelines (and their audio encoders) for one client.

use std::sync::{Arc, OnceLock};

use selkies_proto::signalling::{AUTO_SESSIONS, Action, ConnId, Hub, hello_claim};
use tracing::info;

use super::{CLOSE_BUSY, Claimed, WsStreaming};

/// The refusal a second browser gets, on either transport.
pub const BUSY_REASON: &str = "another browser is streaming from this host";

/// What a browser's WebRTC `HELLO` meets while the WebSocket transport may be streaming.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelloVerdict {
    /// Nobody streams over the WebSocket.
    Free,
    /// The same browser streamed over the WebSocket: that session is told to end (4001).
    Replaced,
    /// Another browser streams over the WebSocket.
    Busy,
}

type Streaming = Arc<OnceLock<Arc<WsStreaming>>>;

fn is_browser_uid(uid: &str) -> bool {
    AUTO_SESSIONS.iter().any(|(_, b)| *b == uid)
}

/// The actions refusing `text` from `conn` when it is a browser's `HELLO` for the WebRTC peers
/// while another browser streams over the WebSocket: the hub's `ERROR … busy` line, then close
/// 1013 with the same reason a streaming socket gets in the reverse case. None: let the hub
/// decide (not a HELLO, no WebSocket stream, or the same browser, whose stream is replaced).
pub fn refuse_hello(
    hub: &Hub,
    streaming: &Streaming,
    conn: ConnId,
    text: &str,
) -> Option<Vec<Action>> {
    if hub.uid_of(conn).is_some() {
        return None;
    }
    let (uid, token) = hello_claim(text)?;
    if !is_browser_uid(&uid) {
        return None;
    }
    match streaming.get()?.on_webrtc_hello(token.as_deref()) {
        HelloVerdict::Free => None,
        HelloVerdict::Replaced => {
            info!(
                conn,
                "WebRTC HELLO of the browser streaming over the WebSocket: it switches transports"
            );
            None
        }
        HelloVerdict::Busy => {
            info!(
                conn,
                "WebRTC session refused: another browser streams over the WebSocket"
            );
            Some(vec![
                Action::Send {
                    to: conn,
                    text: format!("ERROR peer '{uid}' busy: {BUSY_REASON} over the WebSocket"),
                },
                Action::Close {
                    conn,
                    code: CLOSE_BUSY,
                    reason: BUSY_REASON.to_owned(),
                },
            ])
        }
    }
}

/// A streaming socket with takeover `token` asks for the stream: the claimed slot and the hub
/// actions ending the same browser's WebRTC session, or None (and nothing changed) when another
/// browser streams on either transport.
pub fn claim(
    hub: &mut Hub,
    streaming: &Streaming,
    token: Option<String>,
) -> (Option<Claimed>, Vec<Action>) {
    let Some(s) = streaming.get() else {
        return (None, Vec::new());
    };
    if !s.may_claim(token.as_deref()) {
        info!("WebSocket streaming refused: another browser is streaming over the WebSocket");
        return (None, Vec::new());
    }
    let Some(actions) = hub.yield_to_stream(token.as_deref()) else {
        info!("WebSocket streaming refused: another browser has a WebRTC session");
        return (None, Vec::new());
    };
    if !actions.is_empty() {
        info!("the browser's WebRTC session ends: it switched to the WebSocket transport");
    }
    // Only the actor claims, so nothing took the slot since `may_claim`.
    (s.claim(token), actions)
}
