//! The host's in-process signalling peers: "0" (video + data channel) and "2" (audio). Each waits
//! on its hub inbox; the hub hands it `SESSION_OK` the moment the browser's matching peer says
//! HELLO, and this task then builds the pipeline, sends the offer, relays ICE and runs the data
//! channel until the browser leaves. Then it waits for the next browser.

use std::sync::Arc;
use std::time::Duration;

use selkies_proto::signalling::{Envelope, HelloMeta};
use tracing::{debug, error, info, warn};

use tokio::sync::mpsc;

use crate::control::Controller;
use crate::desktop::DesktopEvent;
use crate::host::Host;
use crate::media::audio_source;
use crate::media::catalogue::Codec;
use crate::media::offer;
use crate::media::pipeline::{self, AudioParams, AudioPipeline};
use crate::session::{Session, SessionError, SessionEvent};
use crate::supervise::supervise;
use crate::ws::{LocalEvent, LocalPeer};

pub use crate::peer_open::{Opened, StartPlan, open};

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

    /// Name of this connection in the connectivity report and its log lines.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Video => "video",
            Kind::Audio => "audio",
        }
    }

    /// Stream id of this connection's track (one per track: docs/testing.md G6).
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
    /// The browser closed its side (data channel closed, connection closed or failed): errors
    /// GStreamer reports from then on are the normal end of a session, not failures.
    browser_gone: bool,
    /// The video codec this session's offer carries (the audio offer has none).
    codec: Option<Codec>,
    /// The audio pipeline, whose source is swapped while PulseAudio is away.
    audio: Option<AudioPipeline>,
    /// The task bringing PulseAudio back into the audio stream, while one runs.
    recovery: Option<tokio::task::JoinHandle<()>>,
    /// Pauses the audio capture while nothing plays (audio peer only; stops when dropped).
    idle_watch: Option<crate::media::audio_idle::Watch>,
    /// This session's claim on the host's audio-encoder handle (audio peer only).
    _audio_lease: Option<crate::media::audio_owner::Lease<gstreamer::Element>>,
}

/// What a host peer keeps across restarts of its task.
struct PeerIo {
    host: Arc<Host>,
    kind: Kind,
    peer: LocalPeer,
    inbox: mpsc::UnboundedReceiver<LocalEvent>,
    desktop: Option<mpsc::UnboundedReceiver<DesktopEvent>>,
}

/// Run one host peer forever, restarted when it panics.
pub async fn run(host: Arc<Host>, kind: Kind) {
    let (peer, inbox) = host.services.signalling.register_local(kind.uid());
    // Desktop changes (clipboard, cursor) travel on the video connection's data channel.
    let desktop = match kind {
        Kind::Video => host.services.desktop.take_events(),
        Kind::Audio => None,
    };
    let mut io = PeerIo {
        host,
        kind,
        peer,
        inbox,
        desktop,
    };
    supervise(kind.uid(), &mut io, |io| Box::pin(serve(io))).await;
}

/// One peer's loop: sessions one after another until the hub goes away.
async fn serve(io: &mut PeerIo) {
    let PeerIo {
        host,
        kind,
        peer,
        inbox,
        desktop,
    } = io;
    let (host, kind) = (&*host, *kind);
    let mut active: Option<Active> = None;
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    // Statistics for the connectivity report: the selected pair can change at any time.
    let mut ice_tick = tokio::time::interval(ICE_STATS_PERIOD);
    ice_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        let dc_open = active.as_ref().is_some_and(|a| a.dc_open);
        tokio::select! {
            ev = inbox.recv() => match ev {
                None => break,
                Some(LocalEvent::Text(text)) => {
                    crate::supervise::injected_panic(&text);
                    if let Err(e) = on_signal(host, kind, peer, &mut active, &text).await {
                        warn!(peer = kind.uid(), "ending session: {e}");
                        stop(host, kind, &mut active);
                    }
                }
                Some(LocalEvent::Closed) => {
                    info!(peer = kind.uid(), "browser left; session ended");
                    stop(host, kind, &mut active);
                }
            },
            ev = next_event(&mut active) => {
                match on_session_event(host, kind, peer, &mut active, ev).await {
                    Ok(()) => {}
                    Err(PeerError::Left) => stop(host, kind, &mut active),
                    Err(e) => {
                        error!(peer = kind.uid(), "session failed: {e}");
                        stop(host, kind, &mut active);
                    }
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
            _ = ice_tick.tick(), if active.is_some() => {
                if let Some(a) = active.as_ref() {
                    a.session.request_stats();
                }
            }
            ev = next_desktop_event(desktop) => {
                let Some(ev) = ev else {
                    *desktop = None;
                    continue;
                };
                // Cursor shapes are cached even without a browser, for the next initial burst.
                let msgs = host.services.desktop.messages_for(ev);
                host.services.sharing.forward_desktop(&msgs);
                // A client on the WebSocket transport gets them there.
                let msgs = match host.services.signalling.streaming.get() {
                    Some(ws) => ws.offer_desktop(msgs),
                    None => msgs,
                };
                if let Some(a) = active.as_ref().filter(|a| a.dc_open) {
                    for m in msgs {
                        a.session.send_data(&m);
                    }
                }
            }
        }
    }
    stop(host, kind, &mut active);
}

/// How often a connected peer reads webrtcbin's statistics for the connectivity report.
const ICE_STATS_PERIOD: Duration = Duration::from_secs(2);

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
    let Some(mut old) = active.take() else {
        return;
    };
    host.services.metrics.connectivity().clear(kind.label());
    if let Some(r) = old.recovery.take() {
        r.abort();
    }
    // Before the pipeline goes to NULL: the watch must not change the source's state meanwhile.
    drop(old.idle_watch.take());
    // Going to NULL joins the streaming threads: on the blocking pool, never an async worker.
    tokio::task::spawn_blocking(move || {
        old.session.shutdown();
        drop(old);
        // A torn-down 1080p pipeline frees tens of MB that glibc would otherwise keep mapped.
        // SAFETY: malloc_trim only returns free heap memory to the kernel.
        unsafe {
            libc::malloc_trim(0);
        }
    });
    match kind {
        // Dropping the lease (with `old`) gives the handle back without touching a newer owner.
        Kind::Audio => {}
        // The browser's gamepads belong to its session: remove their sockets with it.
        Kind::Video => {
            host.services.metrics.set_connected_clients(0);
            host.services.sharing.owner_stopped();
            let host = host.clone();
            tokio::spawn(async move {
                if let Some(g) = &host.services.gamepads {
                    g.shutdown().await;
                }
            });
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error(transparent)]
    Media(#[from] pipeline::MediaError),
    #[error("signalling: {0}")]
    Signalling(String),
    #[error("the session's event channel closed")]
    Gone,
    #[error("the browser left")]
    Left,
}

async fn on_signal(
    host: &Arc<Host>,
    kind: Kind,
    peer: &LocalPeer,
    active: &mut Option<Active>,
    text: &str,
) -> Result<(), PeerError> {
    if let Some(meta) = text.strip_prefix("SESSION_OK") {
        stop(host, kind, active);
        info!(peer = kind.uid(), "browser connected; starting session");
        crate::milestones::start(kind.label());
        // Our client asks for the microphone in its metadata (docs/microphone.md).
        let microphone = host
            .settings
            .microphone
            .filter(|_| kind == Kind::Audio && crate::mic::wanted(meta));
        let meta = HelloMeta::decode(meta);
        if kind == Kind::Video
            && host.live().resize
            && let Some(meta) = &meta
        {
            fit_to_browser(meta).await;
        }
        // The camera comes only from a client that offers it, and only when the host enables it.
        let webcam = meta.as_ref().is_some_and(|m| m.webcam);
        let decodes = meta.and_then(|m| m.codecs);
        *active = Some(start(host.clone(), kind, decodes, microphone, webcam).await?);
        crate::milestones::mark(kind.label(), "pipeline built and playing");
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
    match Envelope::parse(text).map_err(|e| PeerError::Signalling(e.to_string()))? {
        Envelope::Sdp(sdp) => match a.session.set_answer(sdp.kind, &sdp.sdp) {
            Err(SessionError::Refused { media, codec }) => {
                if let Some(c) = a
                    .codec
                    .filter(|c| c.encoding_name().eq_ignore_ascii_case(&codec))
                {
                    host.refuse_codec(c);
                }
                let next = host
                    .session_encoder(None)
                    .map(|e| e.spec.name())
                    .unwrap_or("none");
                warn!(
                    peer = kind.uid(),
                    "the browser refused the {media} stream ({codec}); session ended, the next \
                     one uses {next}"
                );
                peer.send(format!(
                    "ERROR the browser cannot decode {codec}; reconnect to stream with {next}"
                ));
                return Err(SessionError::Refused { media, codec }.into());
            }
            other => {
                other?;
                debug!(peer = kind.uid(), "answer applied");
                crate::milestones::mark(kind.label(), "answer applied");
            }
        },
        Envelope::Ice(ice) => {
            let mline = ice.sdp_mline_index.unwrap_or(0);
            a.session.add_ice_candidate(mline, &ice.candidate);
        }
    }
    Ok(())
}

/// An error of webrtcbin's transport (SCTP association, DTLS): what a browser closing its tab or
/// losing its network looks like, often before the signalling socket closes. Not a host fault.
pub fn transport_closed(error: &str) -> bool {
    [
        "GstSctpEnc",
        "GstSctpDec",
        "GstDtlsEnc",
        "GstDtlsDec",
        "GstDtlsSrtp",
    ]
    .iter()
    .any(|t| error.contains(t))
}

/// With remote resize on, size the screen and DPI to the browser named in its HELLO metadata
/// (§3.4 step 6), before the pipeline starts capturing.
async fn fit_to_browser(meta: &HelloMeta) {
    if let Some((w, h)) = meta.res
        && let Err(e) = crate::desktop::resize(w, h).await
    {
        warn!("fitting the screen to the browser: {e}");
    }
    if let Some(scale) = meta.scale
        && let Err(e) = crate::desktop::set_scale(scale).await
    {
        debug!("browser's scale not applied: {e}");
    }
}

async fn start(
    host: Arc<Host>,
    kind: Kind,
    decodes: Option<Vec<Codec>>,
    microphone: Option<bool>,
    webcam: bool,
) -> Result<Active, PeerError> {
    let encoder = match kind {
        Kind::Video => host.session_encoder(decodes.as_deref())?,
        Kind::Audio => host.encoder.clone(),
    };
    let plan = StartPlan {
        kind,
        encoder,
        rates: host.rates(),
        gpu_id: host.settings.gpu_id,
        capture: host.settings.capture,
        damage: host.services.damage.clone(),
        ice: host.services.rtc.webrtcbin_servers(),
        video_fec_percent: host.settings.video_packetloss_percent as u32,
        audio: AudioParams {
            bitrate_bps: host.live().audio_bps,
            channels: host.settings.audio_channels,
            packetloss_percent: host.settings.audio_packetloss_percent,
            silence_ms: host.settings.audio_silence_ms,
        },
        playout_delay_ms: host.settings.playout_delay_ms,
        congestion: (host.settings.congestion_control && kind == Kind::Video).then(|| {
            let h = host.clone();
            let configured: crate::media::congestion::Configured = Arc::new(move || h.rates());
            configured
        }),
        metrics: host.services.metrics.clone(),
        microphone,
        webcam: host
            .services
            .webcam
            .clone()
            .filter(|_| webcam && kind == Kind::Audio),
    };
    let opened = open(plan).await?;
    match &opened {
        Opened::Video(video, _) => host.services.sharing.fanout.attach_video(video),
        Opened::Audio(audio, _) => host.services.sharing.fanout.attach_audio(audio),
    }
    match opened {
        Opened::Video(video, session) => Ok(Active {
            session,
            audio: None,
            recovery: None,
            idle_watch: None,
            codec: Some(video.chosen.spec.codec()),
            controller: Some(Controller::new(host.clone(), video)),
            dc_open: false,
            browser_gone: false,
            _audio_lease: None,
        }),
        Opened::Audio(audio, session) => {
            let audio_lease = Some(host.claim_audio_encoder(audio.opusenc.clone()));
            // No PulseAudio at start: keep looking for it while the session lives.
            let recovery = (!audio.live_source)
                .then(|| tokio::spawn(audio_source::recover(audio.clone(), false)));
            let idle_watch = crate::media::audio_idle::watch(&audio);
            Ok(Active {
                session,
                audio: Some(audio),
                recovery,
                idle_watch,
                controller: None,
                dc_open: false,
                browser_gone: false,
                codec: None,
                _audio_lease: audio_lease,
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
            // The audio offer has no video section; the video codec then changes nothing.
            let codec = a.codec.unwrap_or(host.encoder.spec.codec());
            let framerate = host.live().framerate;
            let munged = offer::munge(&text, codec, framerate, kind.msid());
            // Send before setting the local description so no candidate overtakes the offer.
            peer.send(Envelope::offer(munged).to_json());
            info!(peer = kind.uid(), "offer sent");
            crate::milestones::mark(kind.label(), "offer sent");
            a.session.set_local_offer(&offer);
        }
        SessionEvent::IceCandidate { mline, candidate } => {
            peer.send(Envelope::candidate(candidate, mline).to_json());
        }
        SessionEvent::DataChannelOpen => {
            a.dc_open = true;
            host.services.metrics.set_connected_clients(1);
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
        SessionEvent::DataChannelClosed => {
            a.dc_open = false;
            a.browser_gone = true;
        }
        SessionEvent::ConnectionState(state) => {
            if ["Disconnected", "Failed", "Closed"].contains(&state.as_str()) {
                a.browser_gone = true;
            }
            if state == "Connected" {
                a.session.request_stats();
                // The keyframe made before DTLS was up is gone: make the next frame one.
                if kind == Kind::Video
                    && crate::media::first_frame::request_keyframe(a.session.pipeline())
                {
                    crate::milestones::mark(kind.label(), "keyframe requested");
                }
            }
            info!(state, "peer connection state");
            crate::milestones::mark(kind.label(), &format!("peer connection {state}"));
        }
        SessionEvent::SourceLost(e) => {
            debug!(peer = kind.uid(), "audio source failed: {e}");
            if let Some(audio) = a.audio.clone() {
                if let Some(r) = a.recovery.take() {
                    r.abort();
                }
                a.recovery = Some(tokio::spawn(audio_source::recover(audio, true)));
            }
        }
        SessionEvent::Error(e) if a.browser_gone || transport_closed(&e) => {
            // What a browser leaving looks like from GStreamer's side (DTLS/SCTP closing).
            info!(
                peer = kind.uid(),
                "browser disconnected ({e}); session ended"
            );
            return Err(PeerError::Left);
        }
        SessionEvent::Latency => a.session.on_latency(),
        SessionEvent::Stats(stats) => {
            crate::ice_report::on_stats(host.services.metrics.connectivity(), kind.label(), &stats)
        }
        SessionEvent::Error(e) => return Err(PeerError::Signalling(e)),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_browser_closing_is_recognised_from_the_sctp_error() {
        // As logged by the e2e test when Chromium closes the page.
        let e = "/GstPipeline:pipeline0/GstWebRTCBin:webrtc/GstSctpEnc:sctpenc1: Could not write \
                 to resource. (SCTP association went into error state)";
        assert!(transport_closed(e));
        assert!(!transport_closed(
            "/GstPipeline:pipeline0/GstX264Enc:encoder: Internal data stream error."
        ));
    }
}
