//! `--transport` and the signalling message that turns a signalling socket into a streaming
//! one: `WSSTREAM <base64 JSON>` as the socket's first text frame, with the same metadata a
//! `HELLO` carries (`res`, `scale`, `codecs`). The legacy client never sends it, so legacy
//! sessions are unchanged.

use base64::Engine;

use crate::signalling::HelloMeta;

/// The first word of the request.
pub const REQUEST: &str = "WSSTREAM";

/// A text message only a streaming socket accepts: the client's decoder lost its reference
/// frames and needs a keyframe (the WebRTC path's PLI).
pub const KEYFRAME_REQUEST: &str = "_ws_keyframe";

/// `--transport`: how a browser gets the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transport {
    /// WebRTC; the client falls back to the WebSocket when ICE does not connect.
    #[default]
    Auto,
    /// WebRTC only: `WSSTREAM` is refused.
    Webrtc,
    /// The WebSocket only: the client does not try WebRTC.
    Websocket,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Webrtc => "webrtc",
            Self::Websocket => "websocket",
        }
    }

    /// Whether a `WSSTREAM` request is served.
    pub fn allows_websocket(self) -> bool {
        self != Self::Webrtc
    }
}

impl std::str::FromStr for Transport {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "webrtc" => Ok(Self::Webrtc),
            "websocket" | "ws" => Ok(Self::Websocket),
            _ => Err(()),
        }
    }
}

/// A parsed `WSSTREAM` request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StreamRequest {
    /// The browser's metadata; empty when it sent none or it was not base64 JSON.
    pub meta: HelloMeta,
    /// The browser's takeover token (as in a HELLO): a newer socket with the same token
    /// replaces a live one; any other is refused while one streams.
    pub token: Option<String>,
}

impl StreamRequest {
    /// `Some` when `text` is a `WSSTREAM` request (with or without metadata).
    pub fn parse(text: &str) -> Option<Self> {
        let rest = text.strip_prefix(REQUEST)?;
        if !(rest.is_empty() || rest.starts_with(' ')) {
            return None;
        }
        let value = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
        let Some(value) = value else {
            return Some(Self::default());
        };
        let token = value
            .get("token")
            .and_then(|t| t.as_str())
            .filter(|t| {
                (16..=128).contains(&t.len())
                    && t.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            })
            .map(str::to_owned);
        Some(Self {
            meta: HelloMeta::from_value(&value),
            token,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_names() {
        assert_eq!("AUTO".parse(), Ok(Transport::Auto));
        assert_eq!(" webrtc".parse(), Ok(Transport::Webrtc));
        assert_eq!("websocket".parse(), Ok(Transport::Websocket));
        assert_eq!("quic".parse::<Transport>(), Err(()));
        assert!(!Transport::Webrtc.allows_websocket());
        assert!(Transport::Auto.allows_websocket());
    }

    #[test]
    fn request_with_and_without_metadata() {
        let b64 = base64::engine::general_purpose::STANDARD
            .encode(r#"{"res":"1920x1080","scale":1,"codecs":["H264"]}"#);
        let r = StreamRequest::parse(&format!("WSSTREAM {b64}")).expect("request");
        assert_eq!(r.meta.res, Some((1920, 1080)));
        assert_eq!(r.token, None);
        let b64 =
            base64::engine::general_purpose::STANDARD.encode(r#"{"token":"0123456789abcdef0123"}"#);
        let r = StreamRequest::parse(&format!("WSSTREAM {b64}")).expect("request");
        assert_eq!(r.token.as_deref(), Some("0123456789abcdef0123"));
        let b64 = base64::engine::general_purpose::STANDARD.encode(r#"{"token":"short"}"#);
        assert_eq!(
            StreamRequest::parse(&format!("WSSTREAM {b64}")).map(|r| r.token),
            Some(None)
        );
        assert_eq!(
            StreamRequest::parse("WSSTREAM"),
            Some(StreamRequest::default())
        );
        assert_eq!(
            StreamRequest::parse("WSSTREAM !!"),
            Some(StreamRequest::default())
        );
        assert_eq!(StreamRequest::parse("WSSTREAMX"), None);
        assert_eq!(StreamRequest::parse("HELLO 1"), None);
    }
}
