//! The host's in-process signalling peers: "0" (video + data channel) and "2" (audio). Each waits
//! on its hub inbox; the hub hands it `SESSION_OK` the moment the browser's matching peer says
//! HELLO, and this task then builds the pipeline, sends the offer, relays ICE and runs the data
//! channel until the browser leaves. Then it waits for the next browser.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tracing::{debug, error, info, warn};

use tokio::sync::mpsc;

use crate::control::Controller;
use crate::desktop::DesktopEvent;
use crate::host::Host;
use crate::media::pipeline::{self, AudioParams};
use crate::media::{offer, playout_delay, stage_timing};
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
    // Desktop changes (clipboard, cursor) travel on the video connection's data channel.
    let mut desktop = match kind {
        Kind::Video => host.desktop.take_events(),
        Kind::Audio => None,
    };
    let mut active: Option<Active> = None;
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        let dc_open = active.as_ref().is_some_and(|a| a.dc_open);
        tokio::select! {
            ev = inbox.recv() => match ev {
                None => break,
                Some(LocalEvent::Text(text)) => {
                    if let Err(e) = on_signal(&host, kind, &mut active, &text).await {
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
                if let Err(e) = on_session_event(&host, kind, &peer, &mut active, ev).await {
                    error!(peer = kind.uid(), "session failed: {e}");
                    stop(&host, kind, &mut active);
                }
            }
            _ = tick.tick(), if dc_open => {
                if let Some(a) = active.as_mut()
                    && let Some(c) = a.controller.as_mut()
                {
                    for m in c.tick().await {
                        a.session.send_data(&m);
                    }
                }
            }
            ev = next_desktop_event(&mut desktop) => {
                let Some(ev) = ev else {
                    desktop = None;
                    continue;
                };
                // Cursor shapes are cached even without a browser, for the next initial burst.
                let msgs = host.desktop.messages_for(ev);
                if let Some(a) = active.as_ref().filter(|a| a.dc_open) {
                    for m in msgs {
                        a.session.send_data(&m);
                    }
                }
            }
        }
    }
}

async fn next_desktop_event(
    rx: &mut Option<mpsc::UnboundedReceiver<DesktopEvent>>,
) -> Option<DesktopEvent> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
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
    // A torn-down 1080p pipeline frees tens of MB that glibc would otherwise keep mapped.
    tokio::task::spawn_blocking(|| {
        // SAFETY: malloc_trim only returns free heap memory to the kernel.
        unsafe {
            libc::malloc_trim(0);
        }
    });
    match kind {
        Kind::Audio => host.set_audio_encoder(None),
        // The browser's gamepads belong to its session: remove their sockets with it.
        Kind::Video => {
            host.metrics.set_connected_clients(0);
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

async fn on_signal(
    host: &Arc<Host>,
    kind: Kind,
    active: &mut Option<Active>,
    text: &str,
) -> Result<(), PeerError> {
    if let Some(meta) = text.strip_prefix("SESSION_OK") {
        stop(host, kind, active);
        info!(peer = kind.uid(), "browser connected; starting session");
        if kind == Kind::Video && host.live().resize {
            fit_to_browser(meta.trim()).await;
        }
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

/// With remote resize on, size the screen and DPI to the browser named in its HELLO metadata
/// (§3.4 step 6), before the pipeline starts capturing.
async fn fit_to_browser(meta_b64: &str) {
    use base64::Engine;
    let Some(meta) = base64::engine::general_purpose::STANDARD
        .decode(meta_b64)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
    else {
        return;
    };
    let (res, scale) = crate::desktop::parse_meta(&meta);
    if let Some((w, h)) = res {
        let _ = crate::desktop::resize(w, h).await;
    }
    if let Some(scale) = scale {
        crate::desktop::set_scale(scale).await;
    }
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
            if let Some(ms) = host.settings.playout_delay_ms {
                playout_delay::install(&video.pipeline, playout_delay::PlayoutDelay::fixed(ms));
            }
            stage_timing::install(&video.pipeline, host.metrics.clone());
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
    host: &Host,
    kind: Kind,
    peer: &LocalPeer,
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
            let framerate = host.live().framerate;
            let munged = offer::munge(&text, host.encoder.spec.codec, framerate, kind.msid());
            // Send before setting the local description so no candidate overtakes the offer.
            peer.send(json!({"sdp": {"type": "offer", "sdp": munged}}).to_string());
            info!(peer = kind.uid(), "offer sent");
            a.session.set_local_offer(&offer);
        }
        SessionEvent::IceCandidate { mline, candidate } => {
            peer.send(json!({"ice": {"candidate": candidate, "sdpMLineIndex": mline}}).to_string());
        }
        SessionEvent::DataChannelOpen => {
            a.dc_open = true;
            host.metrics.set_connected_clients(1);
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
