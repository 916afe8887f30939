//! What the two ends of a session say through the signalling server (docs/protocol.md §3.3):
//! the SDP and ICE envelopes as typed messages, and the browser's HELLO metadata as the host
//! reads it (screen size, device pixel ratio, the video codecs it decodes). The server relays
//! envelopes unchanged; only the host's peers parse and build them.

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::encoder::VideoCodec;

/// `type` of an SDP envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SdpType {
    Offer,
    Answer,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sdp {
    #[serde(rename = "type")]
    pub kind: SdpType,
    pub sdp: String,
}

/// A trickled ICE candidate. A browser also sends `sdpMid` and `usernameFragment`, which the
/// host does not use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ice {
    #[serde(default)]
    pub candidate: String,
    #[serde(rename = "sdpMLineIndex", default)]
    pub sdp_mline_index: Option<u32>,
}

/// One signalling message between the peers: `{"sdp": {…}}` or `{"ice": {…}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Envelope {
    Sdp(Sdp),
    Ice(Ice),
}

/// A frame that is neither envelope; it ends the session (docs/protocol.md §3.3, "Errors").
#[derive(Debug, thiserror::Error)]
#[error("not an SDP or ICE envelope: {0}")]
pub struct BadEnvelope(#[from] serde_json::Error);

impl Envelope {
    pub fn offer(sdp: impl Into<String>) -> Self {
        Envelope::Sdp(Sdp {
            kind: SdpType::Offer,
            sdp: sdp.into(),
        })
    }

    pub fn candidate(candidate: impl Into<String>, mline: u32) -> Self {
        Envelope::Ice(Ice {
            candidate: candidate.into(),
            sdp_mline_index: Some(mline),
        })
    }

    pub fn parse(text: &str) -> Result<Self, BadEnvelope> {
        Ok(serde_json::from_str(text)?)
    }

    pub fn to_json(&self) -> String {
        // Serialising these plain structs cannot fail; the fallback is never sent.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The part of a browser's HELLO metadata the host acts on.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HelloMeta {
    /// `"res": "WxH"`, both non-zero.
    pub res: Option<(u32, u32)>,
    /// `"scale"`: the device pixel ratio.
    pub scale: Option<f64>,
    /// `"codecs": ["H264", "video/VP8", …]`: what the browser decodes (RTCRtpReceiver
    /// capabilities); None when the client does not say (the legacy client).
    pub codecs: Option<Vec<VideoCodec>>,
    /// `"webcam": true`: the client can send its camera on the video connection when the host
    /// enables it (docs/webcam.md); absent in the legacy client.
    pub webcam: bool,
}

const ALL_CODECS: [VideoCodec; 5] = [
    VideoCodec::H264,
    VideoCodec::H265,
    VideoCodec::Vp8,
    VideoCodec::Vp9,
    VideoCodec::Av1,
];

impl HelloMeta {
    /// The metadata as forwarded in `SESSION_OK <base64 JSON>`; None when it is absent or not
    /// base64 JSON. Fields of the wrong shape are left out, never an error.
    pub fn decode(b64: &str) -> Option<Self> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .ok()?;
        let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        Some(Self::from_value(&value))
    }

    pub fn from_value(meta: &serde_json::Value) -> Self {
        let res = meta
            .get("res")
            .and_then(|r| r.as_str())
            .and_then(|r| r.split_once('x'))
            .and_then(|(w, h)| Some((w.trim().parse().ok()?, h.trim().parse().ok()?)))
            .filter(|(w, h): &(u32, u32)| *w > 0 && *h > 0);
        let scale = meta
            .get("scale")
            .and_then(|s| s.as_f64())
            .filter(|s| s.is_finite());
        let codecs = meta.get("codecs").and_then(|l| l.as_array()).map(|list| {
            let names: Vec<&str> = list.iter().filter_map(|v| v.as_str()).collect();
            ALL_CODECS
                .into_iter()
                .filter(|c| {
                    names.iter().any(|n| {
                        let n = n.strip_prefix("video/").unwrap_or(n);
                        n.eq_ignore_ascii_case(c.encoding_name())
                    })
                })
                .collect()
        });
        let webcam = meta.get("webcam").and_then(|w| w.as_bool()) == Some(true);
        HelloMeta {
            res,
            scale,
            codecs,
            webcam,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn envelopes_match_the_wire_format() {
        // docs/protocol.md §12 "SDP offer" and "ICE candidate".
        assert_eq!(
            Envelope::offer("v=0\r\n").to_json(),
            r#"{"sdp":{"type":"offer","sdp":"v=0\r\n"}}"#
        );
        assert_eq!(
            Envelope::candidate("candidate:1 1 UDP 1 10.0.0.1 5000 typ host", 0).to_json(),
            r#"{"ice":{"candidate":"candidate:1 1 UDP 1 10.0.0.1 5000 typ host","sdpMLineIndex":0}}"#
        );
        // A browser's answer and candidate, with the fields the host ignores.
        let answer = Envelope::parse(r#"{"sdp": {"type": "answer", "sdp": "v=0\r\n"}}"#);
        assert_eq!(
            answer.expect("answer"),
            Envelope::Sdp(Sdp {
                kind: SdpType::Answer,
                sdp: "v=0\r\n".into()
            })
        );
        let ice = Envelope::parse(
            r#"{"ice": {"candidate": "candidate:2", "sdpMid": "0", "sdpMLineIndex": 1, "usernameFragment": "u"}}"#,
        );
        assert_eq!(ice.expect("ice"), Envelope::candidate("candidate:2", 1));
    }

    #[test]
    fn frames_that_are_not_envelopes_are_errors() {
        for bad in [
            "not json",
            "{}",
            r#"{"bye": 1}"#,
            r#"{"sdp": {"type": "rollback", "sdp": ""}}"#,
            r#"{"sdp": {"type": "answer"}}"#,
            r#"{"ice": {"candidate": "c", "sdpMLineIndex": -1}}"#,
        ] {
            assert!(Envelope::parse(bad).is_err(), "{bad}");
        }
        let bare = Envelope::parse(r#"{"ice": {}}"#).expect("lenient ice");
        assert_eq!(
            bare,
            Envelope::Ice(Ice {
                candidate: String::new(),
                sdp_mline_index: None
            })
        );
    }

    #[test]
    fn hello_meta() {
        // docs/protocol.md §12 "browser HELLO": the metadata of `HELLO 1 eyJy…`.
        let meta = HelloMeta::decode("eyJyZXMiOiIxOTIweDEwODAiLCJzY2FsZSI6MX0=").expect("meta");
        assert_eq!(meta.res, Some((1920, 1080)));
        assert_eq!(meta.scale, Some(1.0));
        assert_eq!(meta.codecs, None);
        let meta = HelloMeta::from_value(&json!({"res": "1920x1080", "scale": 1.5}));
        assert_eq!((meta.res, meta.scale), (Some((1920, 1080)), Some(1.5)));
        let bad = HelloMeta::from_value(&json!({"res": "0x1080", "scale": "big"}));
        assert_eq!((bad.res, bad.scale), (None, None));
        assert_eq!(HelloMeta::from_value(&json!(null)), HelloMeta::default());
        assert_eq!(HelloMeta::decode("%%%"), None);
    }

    #[test]
    fn webcam_only_when_the_client_says_so() {
        // The legacy client's metadata has no "webcam": the host never offers it a camera.
        assert!(
            !HelloMeta::decode("eyJyZXMiOiIxOTIweDEwODAiLCJzY2FsZSI6MX0=")
                .expect("meta")
                .webcam
        );
        assert!(HelloMeta::from_value(&json!({"webcam": true})).webcam);
        assert!(!HelloMeta::from_value(&json!({"webcam": "true"})).webcam);
        assert!(!HelloMeta::from_value(&json!({"webcam": 1})).webcam);
    }

    #[test]
    fn codecs_from_the_hello_metadata() {
        let meta =
            HelloMeta::from_value(&json!({"res": "1x1", "codecs": ["VP8", "video/h264", "AV1X"]}));
        assert_eq!(meta.codecs, Some(vec![VideoCodec::H264, VideoCodec::Vp8]));
        assert_eq!(HelloMeta::from_value(&json!({"res": "1x1"})).codecs, None);
        assert_eq!(
            HelloMeta::from_value(&json!({"codecs": "H264"})).codecs,
            None,
            "not a list"
        );
    }
}
