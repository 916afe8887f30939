//! The browser's microphone as a desktop input (docs/microphone.md): the PulseAudio virtual
//! microphone ([`device`]) and the receiving branch of the audio session ([`receive`]). Off
//! unless `--enable_microphone`; even then the host offers to receive only to a client that
//! asks for it in its HELLO metadata (`"mic": true`), so the legacy client's audio connection is
//! negotiated exactly as before.

pub mod device;
pub mod receive;

use base64::Engine;

/// Whether the `SESSION_OK` metadata (base64 JSON, as forwarded by the signalling server) asks
/// for the microphone.
pub fn wanted(meta_b64: &str) -> bool {
    base64::engine::general_purpose::STANDARD
        .decode(meta_b64.trim())
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v.get("mic").and_then(serde_json::Value::as_bool))
        .unwrap_or(false)
}

/// Prepares the virtual microphone for a session that receives it; on failure the session
/// still receives, into nothing. Returns whether PulseAudio took the device. Blocking.
pub fn prepare(make_default: bool) -> bool {
    match device::ensure(make_default) {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(
                "microphone: no virtual microphone ({e}); the browser's audio is dropped"
            );
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opt_in_comes_from_the_hello_metadata() {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        assert!(wanted(&b64(r#"{"res":"800x600","mic":true}"#)));
        assert!(!wanted(&b64(r#"{"res":"800x600"}"#)));
        assert!(!wanted(&b64(r#"{"mic":"yes"}"#)));
        assert!(!wanted(" "));
        assert!(!wanted("!!!"));
    }
}
