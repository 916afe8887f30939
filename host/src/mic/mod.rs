//! The browser's microphone as a desktop input (docs/microphone.md): the opt-in, the
//! PulseAudio virtual microphone ([`device`]) and the receiving branch of the audio session.
//! Off unless `--enable_microphone`; even then the host offers to receive only to a client that
//! asks for it in its HELLO metadata (`"mic": true`), so the legacy client's audio connection is
//! negotiated exactly as before.
//!
//! The receiving branch: a receive-only Opus transceiver added to the audio webrtcbin before
//! negotiation (a second audio m-line, so the desktop-audio m-line the legacy client knows stays
//! exactly as it was), and, when the browser's RTP arrives (`pad-added`),
//! `rtpopusdepay ! opusdec ! pulsesink` into the virtual microphone's sink. The sink does not
//! sync to the clock: every packet is played as soon as it is decoded, which is what keeps
//! capture-to-source latency low.

pub mod device;

use base64::Engine;
use gstreamer as gst;
use gstreamer::prelude::*;
use tracing::{info, warn};

use device::SINK;

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
            warn!("microphone: no virtual microphone ({e}); the browser's audio is dropped");
            false
        }
    }
}

/// RTP payload type offered for the microphone (the desktop audio uses 111).
pub const PAYLOAD_TYPE: i32 = 109;
/// Prefix of the names of every element of the decoding branch (errors there are not fatal).
pub const ELEMENT_PREFIX: &str = "selkiesmic";

/// The caps of the receive-only transceiver.
pub fn rtp_caps() -> gst::Caps {
    gst::Caps::builder("application/x-rtp")
        .field("media", "audio")
        .field("encoding-name", "OPUS")
        .field("payload", PAYLOAD_TYPE)
        .field("clock-rate", 48_000i32)
        .field("encoding-params", "2")
        .build()
}

/// The decoding branch; `pulse`: play into the virtual microphone, else drop (PulseAudio away).
fn branch(pulse: bool) -> String {
    let sink = if pulse {
        // 20 ms PulseAudio buffer in 5 ms periods: small, yet no underruns on a loaded CI box.
        format!(
            "pulsesink name={ELEMENT_PREFIX}sink device={SINK} sync=false async=false \
             provide-clock=false buffer-time=20000 latency-time=5000"
        )
    } else {
        format!("fakesink name={ELEMENT_PREFIX}sink sync=false async=false")
    };
    // The sink does not sync, so nothing drains a backlog faster than real time: a burst at the
    // start, or the browser's clock running a little fast against PulseAudio's, would stay in
    // front of the sink as latency for good. A 40 ms leaky queue (two Opus packets) caps it by
    // dropping the oldest audio instead.
    format!(
        "queue name={ELEMENT_PREFIX}queue leaky=downstream max-size-time=40000000 \
         max-size-buffers=0 max-size-bytes=0 \
         ! rtpopusdepay name={ELEMENT_PREFIX}depay ! opusdec name={ELEMENT_PREFIX}dec plc=true \
         ! audioconvert name={ELEMENT_PREFIX}convert ! audioresample name={ELEMENT_PREFIX}resample \
         ! {sink}"
    )
}

/// Whether a bus message from `element` comes from the microphone branch.
pub fn is_mic_element(name: &str) -> bool {
    name.starts_with(ELEMENT_PREFIX)
}

/// Adds the receive-only transceiver to `webrtc` (before the session starts negotiating) and
/// links whatever the browser sends on it into the virtual microphone.
pub fn attach(pipeline: &gst::Pipeline, webrtc: &gst::Element, pulse: bool) {
    let on_src = move |pipeline: &gst::Pipeline, pad: &gst::Pad| match link(pipeline, pad, pulse) {
        Ok(()) => info!(sink = SINK, "microphone: receiving from the browser"),
        Err(e) => warn!("microphone: cannot decode the browser's stream: {e}"),
    };
    if crate::media::receive::recvonly(pipeline, webrtc, &rtp_caps(), on_src).is_none() {
        warn!("microphone: webrtcbin gave no receive-only transceiver");
    }
}

fn link(pipeline: &gst::Pipeline, pad: &gst::Pad, pulse: bool) -> Result<(), String> {
    let bin = gst::parse::bin_from_description(&branch(pulse), true)
        .map_err(|e| format!("building the decoder: {e}"))?;
    pipeline
        .add(&bin)
        .map_err(|e| format!("adding the decoder: {e}"))?;
    let sink = bin
        .static_pad("sink")
        .ok_or_else(|| "the decoder has no sink pad".to_owned())?;
    pad.link(&sink).map_err(|e| format!("linking: {e:?}"))?;
    bin.sync_state_with_parent()
        .map_err(|e| format!("starting the decoder: {e}"))?;
    Ok(())
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

    #[test]
    fn branches_parse_with_the_installed_plugins() {
        gst::init().unwrap();
        for pulse in [false, true] {
            let bin = gst::parse::bin_from_description(&branch(pulse), true).unwrap();
            let names: Vec<String> = bin
                .children()
                .iter()
                .map(|e| e.name().to_string())
                .collect();
            assert!(names.iter().all(|n| is_mic_element(n)), "{names:?}");
        }
        let caps = rtp_caps();
        let s = caps.structure(0).unwrap();
        assert_eq!(s.get::<i32>("payload").unwrap(), PAYLOAD_TYPE);
    }
}
