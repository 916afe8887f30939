//! The host's in-process signalling peers: "0" (video + data channel) and "2" (audio). Each waits
//! on its hub inbox; the hub hands it `SESSION_OK` the moment the browser's matching peer says
//! HELLO, and this task then builds the pipeline, sends the offer, relays ICE and runs the data
//! channel until the browser leaves. Then it waits for the next browser.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tracing::{debug, error, info, warn};

use selkies_proto::sdp::{ensure_msid, munge_offer};

use crate::control::Controller;
use crate::host::Host;
use crate::media::catalogue::Codec;
use crate::media::pipeline::{self, AudioParams};
use crate::session::{Session, SessionError, SessionEvent, SessionOptions};
use crate::ws::{LocalEvent, LocalPeer};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Video,
    Audio,
}

impl Kind {
    pub fn uid(self) -> &'static str {
        match self {
            Kind::Video => "0",
            Kind::Audio => "2",
        }
    }

    /// Stream id of this connection's track (one per track: e2e-notes G6).
    pub fn msid(self) -> &'static str {
        match self {
            Kind::Video => "selkies-video",
            Kind::Audio => "selkies-audio",
        }
    }
}

struct Active {
    session: Session,
    controller: Option<Controller>,
    dc_open: bool,
}

/// Run one host peer forever.
pub async fn run(host: Arc<Host>, kind: Kind) {
    let (peer, mut inbox) = host.signalling.register_local(kind.uid());
    let mut active: Option<Active> = None;
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        let dc_open = active.as_ref().is_some_and(|a| a.dc_open);
        tokio::select! {
            ev = inbox.recv() => match ev {
                None => break,
                Some(LocalEvent::Text(text)) => {
                    if let Err(e) = on_signal(&host, kind, &mut active, &text) {
                        warn!(peer = kind.uid(), "ending session: {e}");
                        stop(&host, kind, &mut active);
                    }
                }
                Some(LocalEvent::Closed) => {
                    info!(peer = kind.uid(), "browser left; session ended");
                    stop(&host, kind, &mut active);
                }
            },
            ev = next_event(&mut active) => {
                let (codec, msid) = (host.encoder.spec.codec, kind.msid());
                if let Err(e) = on_session_event(&peer, codec, msid, &mut active, ev).await {
                    error!(peer = kind.uid(), "session failed: {e}");
                    stop(&host, kind, &mut active);
                }
            }
            _ = tick.tick(), if dc_open => {
                if let Some(a) = active.as_mut()
                    && let Some(c) = a.controller.as_mut()
                {
                    for m in c.tick() {
                        a.session.send_data(&m);
                    }
                }
            }
        }
    }
}

async fn next_event(active: &mut Option<Active>) -> Option<SessionEvent> {
    match active {
        Some(a) => a.session.events.recv().await,
        None => std::future::pending().await,
    }
}

fn stop(host: &Arc<Host>, kind: Kind, active: &mut Option<Active>) {
    if active.take().is_none() {
        return;
    }
    match kind {
        Kind::Audio => host.set_audio_encoder(None),
        // The browser's gamepads belong to its session: remove their sockets with it.
        Kind::Video => {
            let host = host.clone();
            tokio::spawn(async move {
                if let Some(g) = &host.gamepads {
                    g.shutdown().await;
                }
            });
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum PeerError {
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error(transparent)]
    Media(#[from] pipeline::MediaError),
    #[error("signalling: {0}")]
    Signalling(String),
    #[error("the session's event channel closed")]
    Gone,
}

fn on_signal(
    host: &Arc<Host>,
    kind: Kind,
    active: &mut Option<Active>,
    text: &str,
) -> Result<(), PeerError> {
    if text.starts_with("SESSION_OK") {
        stop(host, kind, active);
        info!(peer = kind.uid(), "browser connected; starting session");
        *active = Some(start(host, kind)?);
        return Ok(());
    }
    if text.starts_with("ERROR") || text == "HELLO" {
        debug!(peer = kind.uid(), "signalling: {text}");
        return Ok(());
    }
    let Some(a) = active.as_ref() else {
        debug!(
            peer = kind.uid(),
            "signalling message without a session ignored"
        );
        return Ok(());
    };
    let msg: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| PeerError::Signalling(format!("unparsable JSON: {e}")))?;
    if let Some(sdp) = msg.get("sdp") {
        let sdp_type = sdp.get("type").and_then(|t| t.as_str()).unwrap_or("");
        let body = sdp.get("sdp").and_then(|t| t.as_str()).unwrap_or("");
        a.session.set_answer(sdp_type, body)?;
        debug!(peer = kind.uid(), "answer applied");
    } else if let Some(ice) = msg.get("ice") {
        let candidate = ice.get("candidate").and_then(|c| c.as_str()).unwrap_or("");
        let mline = ice
            .get("sdpMLineIndex")
            .and_then(|m| m.as_u64())
            .and_then(|m| u32::try_from(m).ok())
            .unwrap_or(0);
        a.session.add_ice_candidate(mline, candidate);
    } else {
        return Err(PeerError::Signalling("JSON without sdp or ice".into()));
    }
    Ok(())
}

fn start(host: &Arc<Host>, kind: Kind) -> Result<Active, PeerError> {
    let ice = host.rtc.webrtcbin_servers();
    match kind {
        Kind::Video => {
            let video = pipeline::build_video(
                &host.encoder,
                &host.rates(),
                host.settings.gpu_id,
                None,
                host.damage.as_ref(),
            )?;
            let session = Session::start(
                video.pipeline.clone(),
                video.webrtc.clone(),
                SessionOptions {
                    msid: Kind::Video.msid(),
                    data_channel: true,
                    ice,
                    fec_percent: host.settings.video_packetloss_percent as u32,
                    rtp_caps: video.rtp_caps(),
                },
            )?;
            Ok(Active {
                session,
                controller: Some(Controller::new(host.clone(), video)),
                dc_open: false,
            })
        }
        Kind::Audio => {
            let audio = pipeline::build_audio(&AudioParams {
                bitrate_bps: host.live().audio_bps,
                channels: host.settings.audio_channels,
                packetloss_percent: host.settings.audio_packetloss_percent,
            })?;
            host.set_audio_encoder(Some(audio.opusenc.clone()));
            let session = Session::start(
                audio.pipeline.clone(),
                audio.webrtc.clone(),
                SessionOptions {
                    msid: Kind::Audio.msid(),
                    data_channel: false,
                    ice,
                    fec_percent: 0,
                    rtp_caps: audio.rtp_caps(),
                },
            )?;
            Ok(Active {
                session,
                controller: None,
                dc_open: false,
            })
        }
    }
}

async fn on_session_event(
    peer: &LocalPeer,
    codec: Codec,
    msid: &str,
    active: &mut Option<Active>,
    ev: Option<SessionEvent>,
) -> Result<(), PeerError> {
    let Some(a) = active.as_mut() else {
        return Ok(());
    };
    match ev.ok_or(PeerError::Gone)? {
        SessionEvent::Offer(offer) => {
            let text = offer
                .sdp()
                .as_text()
                .map_err(|e| PeerError::Signalling(format!("offer to text: {e}")))?;
            // The audio offer has no video section; the video codec then changes nothing.
            let munged = ensure_msid(&munge_offer(&text, codec), msid);
            // Send before setting the local description so no candidate overtakes the offer.
            peer.send(json!({"sdp": {"type": "offer", "sdp": munged}}).to_string());
            a.session.set_local_offer(&offer);
        }
        SessionEvent::IceCandidate { mline, candidate } => {
            peer.send(json!({"ice": {"candidate": candidate, "sdpMLineIndex": mline}}).to_string());
        }
        SessionEvent::DataChannelOpen => {
            a.dc_open = true;
            if let Some(c) = a.controller.as_mut() {
                for m in c.on_open() {
                    a.session.send_data(&m);
                }
            }
        }
        SessionEvent::DataChannelMessage(text) => {
            if let Some(c) = a.controller.as_mut() {
                for m in c.on_message(&text).await {
                    a.session.send_data(&m);
                }
            }
        }
        SessionEvent::DataChannelClosed => a.dc_open = false,
        SessionEvent::ConnectionState(state) => info!(state, "peer connection state"),
        SessionEvent::Latency => a.session.on_latency(),
        SessionEvent::Error(e) => return Err(PeerError::Signalling(e)),
    }
    Ok(())
}
