//! One WebRTC peer connection of the host: a started pipeline with its webrtcbin, and the
//! GStreamer signal plumbing around it (offer creation, ICE, the `input` data channel, bus
//! errors). Signal handlers only forward events to the owning task through a channel; they
//! never block and hold only weak references to GStreamer objects.

use selkies_proto::signalling::envelope::SdpType;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_sdp as gst_sdp;
use gstreamer_webrtc as gst_webrtc;
use tokio::sync::mpsc;
use tracing::{debug, warn};

/// Events a session's GStreamer side reports to its task.
#[derive(Debug)]
pub enum SessionEvent {
    Offer(gst_webrtc::WebRTCSessionDescription),
    IceCandidate {
        mline: u32,
        candidate: String,
    },
    DataChannelOpen,
    DataChannelMessage(String),
    DataChannelClosed,
    ConnectionState(String),
    /// The pipeline's latency changed; the task recalculates it off the streaming thread.
    Latency,
    /// The audio source failed (PulseAudio went away); the session carries on without it.
    SourceLost(String),
    /// webrtcbin's statistics as JSON, asked for by [`Session::request_stats`].
    Stats(serde_json::Value),
    Error(String),
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("pipeline state change failed: {0}")]
    State(#[from] gst::StateChangeError),
    #[error("remote SDP is not a valid answer: {0}")]
    BadAnswer(String),
    #[error("the data channel could not be created")]
    DataChannel,
    /// The browser's answer rejects a media section (port 0), typically because it cannot
    /// decode the codec offered. webrtcbin aborts the whole process on such an answer
    /// (`_connect_rtpfunnel: assertion failed`), so it is never applied.
    #[error("the browser refused the {media} stream (codec {codec})")]
    Refused { media: String, codec: String },
}

/// The first media section an answer rejects (port 0), as (media, encoding name of the offer's
/// first payload in that section, looked up in `offer`). Pure: unit-tested with real answers.
pub fn refused_media(answer: &gst_sdp::SDPMessageRef) -> Option<(String, String)> {
    answer.medias().find(|m| m.port() == 0).map(|m| {
        let media = m.media().unwrap_or("?").to_string();
        let codec = m
            .attributes()
            .filter(|a| a.key() == "rtpmap")
            .find_map(|a| a.value())
            .and_then(|v| v.split_whitespace().nth(1))
            .map(|enc| enc.split('/').next().unwrap_or(enc).to_string())
            .unwrap_or_else(|| m.format(0).unwrap_or("?").to_string());
        (media, codec)
    })
}

/// STUN/TURN servers in webrtcbin's URI form.
#[derive(Debug, Clone, Default)]
pub struct IceServers {
    pub stun: Option<String>,
    pub turn: Vec<String>,
}

/// A running peer connection.
pub struct Session {
    pipeline: gst::Pipeline,
    webrtc: gst::Element,
    data_channel: Option<gst_webrtc::WebRTCDataChannel>,
    pub events: mpsc::UnboundedReceiver<SessionEvent>,
    /// Set once the pipeline has been sent to NULL.
    stopped: AtomicBool,
    /// For replies that arrive later (statistics).
    tx: mpsc::UnboundedSender<SessionEvent>,
}

/// Options that differ between the video and the audio connection.
pub struct SessionOptions<'a> {
    /// Stream id per track (docs/testing.md G6: a shared id makes Chromium lip-sync video to audio).
    pub msid: &'a str,
    pub data_channel: bool,
    pub ice: IceServers,
    /// ULP-FEC percentage for the video transceiver; 0 disables FEC.
    pub fec_percent: u32,
    /// The RTP caps the pipeline will produce. Declaring them up front lets webrtcbin create
    /// the offer at once instead of after the first encoded frame (first-frame time).
    pub rtp_caps: Option<gst::Caps>,
}

impl Session {
    /// Wire up `webrtc` inside `pipeline` and start it. Blocks on GStreamer state changes:
    /// call it from a blocking thread (the host peers use the blocking pool).
    pub fn start(
        pipeline: gst::Pipeline,
        webrtc: gst::Element,
        opts: SessionOptions<'_>,
    ) -> Result<Session, SessionError> {
        let (tx, events) = mpsc::unbounded_channel();
        configure_webrtcbin(&webrtc, &opts);
        connect_signals(&webrtc, &tx);
        let negotiation = Negotiation::connect(&webrtc, &tx);
        watch_bus(&pipeline, tx.clone());

        // The data channel must exist before negotiation (docs/testing.md G9), so create it in READY.
        pipeline.set_state(gst::State::Ready)?;
        let data_channel = if opts.data_channel {
            Some(create_data_channel(&webrtc, &tx)?)
        } else {
            None
        };
        negotiation.arm(&webrtc, &tx);
        unsync_inputs(&webrtc);
        if let Err(e) = pipeline.set_state(gst::State::Playing) {
            let _ = pipeline.set_state(gst::State::Null);
            return Err(e.into());
        }
        Ok(Session {
            pipeline,
            webrtc,
            data_channel,
            events,
            stopped: AtomicBool::new(false),
            tx,
        })
    }

    /// The session's pipeline.
    pub fn pipeline(&self) -> &gst::Pipeline {
        &self.pipeline
    }

    /// Apply the browser's answer.
    pub fn set_answer(&self, sdp_type: SdpType, sdp: &str) -> Result<(), SessionError> {
        if sdp_type != SdpType::Answer {
            return Err(SessionError::BadAnswer(format!(
                "type is '{sdp_type:?}', the host only accepts answers"
            )));
        }
        let msg = gst_sdp::SDPMessage::parse_buffer(sdp.as_bytes())
            .map_err(|e| SessionError::BadAnswer(e.to_string()))?;
        if let Some((media, codec)) = refused_media(&msg) {
            return Err(SessionError::Refused { media, codec });
        }
        let answer =
            gst_webrtc::WebRTCSessionDescription::new(gst_webrtc::WebRTCSDPType::Answer, msg);
        self.webrtc
            .emit_by_name::<()>("set-remote-description", &[&answer, &None::<gst::Promise>]);
        Ok(())
    }

    pub fn add_ice_candidate(&self, mline: u32, candidate: &str) {
        if candidate.is_empty() {
            return;
        }
        self.webrtc
            .emit_by_name::<()>("add-ice-candidate", &[&mline, &candidate]);
    }

    /// Set our offer as the local description (after it has been sent: docs/testing.md G8).
    pub fn set_local_offer(&self, offer: &gst_webrtc::WebRTCSessionDescription) {
        self.webrtc
            .emit_by_name::<()>("set-local-description", &[offer, &None::<gst::Promise>]);
    }

    /// Send a text message on the data channel; dropped when it is not open, like legacy.
    pub fn send_data(&self, text: &str) {
        if let Some(dc) = &self.data_channel
            && dc.ready_state() == gst_webrtc::WebRTCDataChannelState::Open
            && let Err(e) = dc.send_string_full(Some(text))
        {
            debug!("data channel send failed: {e}");
        }
    }

    /// Ask webrtcbin for its statistics; they arrive as [`SessionEvent::Stats`].
    pub fn request_stats(&self) {
        let tx = self.tx.clone();
        crate::ice_report::request(&self.webrtc, move |stats| {
            let _ = tx.send(SessionEvent::Stats(stats));
        });
    }

    /// Keep webrtcbin at zero latency and redistribute the pipeline latency, as the legacy host
    /// does on every LATENCY message.
    pub fn on_latency(&self) {
        self.webrtc.set_property("latency", 0u32);
        let _ = self.pipeline.recalculate_latency();
    }
}

impl Session {
    /// Stop the pipeline now, on this thread. Blocks while GStreamer joins its streaming
    /// threads (encoders' too): call it from a blocking thread, never an async worker.
    pub fn shutdown(&mut self) {
        if let Some(dc) = self.data_channel.take() {
            dc.close();
        }
        if self.stopped.swap(true, Ordering::SeqCst) {
            return;
        }
        let _ = self.pipeline.set_state(gst::State::Null);
        debug!("session pipeline stopped");
    }
}

impl Drop for Session {
    /// A session dropped without [`Session::shutdown`] (a replaced session, a panicking task)
    /// is stopped without holding up the async worker it was dropped on.
    fn drop(&mut self) {
        if let Some(dc) = self.data_channel.take() {
            dc.close();
        }
        if self.stopped.swap(true, Ordering::SeqCst) {
            return;
        }
        let pipeline = self.pipeline.clone();
        let stop = move || {
            let _ = pipeline.set_state(gst::State::Null);
            debug!("session pipeline stopped");
        };
        // Still stopped before `drop` returns (the X connection of ximagesrc closes with it),
        // but a multi-thread runtime first hands this worker's other tasks to another thread.
        match tokio::runtime::Handle::try_current() {
            Ok(rt) if rt.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(stop)
            }
            Ok(rt) => drop(rt.spawn_blocking(stop)),
            Err(_) => stop(),
        }
    }
}

/// Turns off clock sync on the `clocksync` webrtcbin puts in front of each input stream when
/// negotiation links it. Our inputs are live and already paced by the capture, so the wait does
/// nothing for them (no latency change measured); and in about 2 % of page loads the video's streaming thread was found parked in
/// that element's clock wait for good, right after the first frame, with the connection up and
/// not one RTP packet sent (docs/reliability.md "Video that never arrives").
fn unsync_inputs(webrtc: &gst::Element) {
    let Some(bin) = webrtc.downcast_ref::<gst::Bin>() else {
        return;
    };
    bin.connect_element_added(|_, element| {
        let is_clocksync = element.factory().is_some_and(|f| f.name() == "clocksync");
        if is_clocksync && element.find_property("sync").is_some() {
            element.set_property("sync", false);
        }
    });
}

/// libnice's connectivity-check pacing (Ta), in ms.
const ICE_PACING_MS: u32 = 5;

fn configure_webrtcbin(webrtc: &gst::Element, opts: &SessionOptions<'_>) {
    if let Some(stun) = &opts.ice.stun {
        webrtc.set_property("stun-server", stun);
    }
    for (i, turn) in opts.ice.turn.iter().enumerate() {
        if i == 0 {
            webrtc.set_property("turn-server", turn);
        } else {
            let _ = webrtc.emit_by_name::<bool>("add-turn-server", &[turn]);
        }
    }
    // libnice skips loopback interfaces (docs/testing.md G1); naming addresses explicitly makes it use
    // exactly these, so name every local address, loopback included.
    let ice = webrtc.property::<gst_webrtc::WebRTCICE>("ice-agent");
    for addr in local_addresses() {
        let _ = ice.emit_by_name::<bool>("add-local-ip-address", &[&addr.to_string()]);
    }
    // libnice paces connectivity checks 20 ms apart (its Ta); at 5 ms, RFC 8445's floor, the
    // check that nominates the pair follows the first success sooner and the DTLS handshake
    // starts ~45 ms earlier (docs/benchmarks.md "First frame").
    if ice.find_property("agent").is_some() {
        let agent = ice.property::<gst::glib::Object>("agent");
        if agent.find_property("stun-pacing-timer").is_some() {
            agent.set_property("stun-pacing-timer", ICE_PACING_MS);
        }
    }
    for pad in webrtc.sink_pads() {
        if pad.find_property("msid").is_some() {
            pad.set_property("msid", opts.msid);
        }
        if pad.find_property("transceiver").is_none() {
            continue;
        }
        let Some(t) = pad.property::<Option<gst_webrtc::WebRTCRTPTransceiver>>("transceiver")
        else {
            continue;
        };
        t.set_direction(gst_webrtc::WebRTCRTPTransceiverDirection::Sendonly);
        if let Some(caps) = &opts.rtp_caps {
            t.set_codec_preferences(Some(caps));
        }
        // Chromium refuses RTX (two SSRCs) on audio: NACK only for video (a sharing member's
        // connection carries both on one webrtcbin, see crate::sharing::fanout).
        let audio = t
            .property::<Option<gst::Caps>>("codec-preferences")
            .and_then(|c| {
                c.structure(0)
                    .map(|s| s.get::<&str>("media") == Ok("audio"))
            })
            .unwrap_or(false);
        if opts.data_channel && !audio {
            t.set_property("do-nack", true);
            if opts.fec_percent > 0 {
                t.set_property("fec-type", gst_webrtc::WebRTCFECType::UlpRed);
                t.set_property("fec-percentage", opts.fec_percent);
            }
        }
    }
}

/// Every IPv4 and IPv6 address of this machine's interfaces (link-local IPv6 excluded).
fn local_addresses() -> Vec<IpAddr> {
    let mut out = vec![IpAddr::from([127, 0, 0, 1])];
    // SAFETY: getifaddrs fills a linked list that we only read and then free exactly once.
    unsafe {
        let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
        if libc::getifaddrs(&mut head) != 0 {
            return out;
        }
        let mut cur = head;
        while !cur.is_null() {
            let ifa = &*cur;
            if !ifa.ifa_addr.is_null() {
                match i32::from((*ifa.ifa_addr).sa_family) {
                    libc::AF_INET => {
                        let sa = &*(ifa.ifa_addr as *const libc::sockaddr_in);
                        out.push(IpAddr::from(u32::from_be(sa.sin_addr.s_addr).to_be_bytes()));
                    }
                    libc::AF_INET6 => {
                        let sa = &*(ifa.ifa_addr as *const libc::sockaddr_in6);
                        let ip = std::net::Ipv6Addr::from(sa.sin6_addr.s6_addr);
                        if ip.segments()[0] & 0xffc0 != 0xfe80 {
                            out.push(IpAddr::V6(ip));
                        }
                    }
                    _ => {}
                }
            }
            cur = ifa.ifa_next;
        }
        libc::freeifaddrs(head);
    }
    out.sort();
    out.dedup();
    out
}

fn connect_signals(webrtc: &gst::Element, tx: &mpsc::UnboundedSender<SessionEvent>) {
    let tx_ice = tx.clone();
    webrtc.connect("on-ice-candidate", false, move |values| {
        let mline = values.get(1).and_then(|v| v.get::<u32>().ok());
        let candidate = values.get(2).and_then(|v| v.get::<String>().ok());
        if let (Some(mline), Some(candidate)) = (mline, candidate) {
            let _ = tx_ice.send(SessionEvent::IceCandidate { mline, candidate });
        }
        None
    });

    let tx_state = tx.clone();
    webrtc.connect_notify(Some("connection-state"), move |webrtc, _| {
        let state = webrtc.property::<gst_webrtc::WebRTCPeerConnectionState>("connection-state");
        let _ = tx_state.send(SessionEvent::ConnectionState(format!("{state:?}")));
    });

    // Channels the browser opens itself are accepted but carry nothing the host needs.
    webrtc.connect("on-data-channel", false, |values| {
        if let Some(dc) = values
            .get(1)
            .and_then(|v| v.get::<gst_webrtc::WebRTCDataChannel>().ok())
        {
            debug!(label = ?dc.label(), "browser opened a data channel");
        }
        None
    });
}

/// The one offer of a session. webrtcbin may signal negotiation-needed as soon as the
/// transceivers exist — before the data channel does — so a signal that comes early is only
/// remembered, and the offer is requested once the channel exists ([`Negotiation::arm`]).
struct Negotiation {
    armed: Arc<AtomicBool>,
    pending: Arc<AtomicBool>,
}

impl Negotiation {
    fn connect(webrtc: &gst::Element, tx: &mpsc::UnboundedSender<SessionEvent>) -> Self {
        let armed = Arc::new(AtomicBool::new(false));
        let pending = Arc::new(AtomicBool::new(false));
        let (a, p, tx) = (armed.clone(), pending.clone(), tx.clone());
        webrtc.connect("on-negotiation-needed", false, move |values| {
            let webrtc = values.first().and_then(|v| v.get::<gst::Element>().ok())?;
            if a.load(Ordering::SeqCst) {
                request_offer(&webrtc, &tx);
            } else {
                p.store(true, Ordering::SeqCst);
            }
            None
        });
        Self { armed, pending }
    }

    /// Everything the offer must describe exists: answer a remembered signal now.
    fn arm(&self, webrtc: &gst::Element, tx: &mpsc::UnboundedSender<SessionEvent>) {
        self.armed.store(true, Ordering::SeqCst);
        if self.pending.swap(false, Ordering::SeqCst) {
            request_offer(webrtc, tx);
        }
    }
}

fn request_offer(webrtc: &gst::Element, tx: &mpsc::UnboundedSender<SessionEvent>) {
    let tx = tx.clone();
    let promise = gst::Promise::with_change_func(move |reply| {
        let event = match reply {
            Ok(Some(reply)) => match reply.value("offer") {
                Ok(v) => match v.get::<gst_webrtc::WebRTCSessionDescription>() {
                    Ok(offer) => SessionEvent::Offer(offer),
                    Err(e) => SessionEvent::Error(format!("offer has no SDP: {e}")),
                },
                Err(e) => SessionEvent::Error(format!("create-offer failed: {e}")),
            },
            other => SessionEvent::Error(format!("create-offer: {other:?}")),
        };
        let _ = tx.send(event);
    });
    webrtc.emit_by_name::<()>("create-offer", &[&None::<gst::Structure>, &promise]);
}

fn create_data_channel(
    webrtc: &gst::Element,
    tx: &mpsc::UnboundedSender<SessionEvent>,
) -> Result<gst_webrtc::WebRTCDataChannel, SessionError> {
    // Reliable and ordered (legacy used max-retransmits=0, which loses key-ups).
    let options = gst::Structure::builder("config")
        .field("ordered", true)
        .field("priority", gst_webrtc::WebRTCPriorityType::High)
        .build();
    let dc = webrtc
        .emit_by_name::<Option<gst_webrtc::WebRTCDataChannel>>(
            "create-data-channel",
            &[&"input", &options],
        )
        .ok_or(SessionError::DataChannel)?;
    let t = tx.clone();
    dc.connect_on_open(move |_| {
        let _ = t.send(SessionEvent::DataChannelOpen);
    });
    let t = tx.clone();
    dc.connect_on_close(move |_| {
        let _ = t.send(SessionEvent::DataChannelClosed);
    });
    let t = tx.clone();
    dc.connect_on_message_string(move |_, msg| {
        if let Some(msg) = msg {
            let _ = t.send(SessionEvent::DataChannelMessage(msg.to_string()));
        }
    });
    let t = tx.clone();
    dc.connect_on_error(move |_, err| {
        let _ = t.send(SessionEvent::Error(format!("data channel: {err}")));
    });
    Ok(dc)
}

fn watch_bus(pipeline: &gst::Pipeline, tx: mpsc::UnboundedSender<SessionEvent>) {
    let Some(bus) = pipeline.bus() else { return };
    // A sync handler runs on the posting thread: forward, never block.
    bus.set_sync_handler(move |_, msg| {
        use gst::MessageView;
        match msg.view() {
            MessageView::Error(err) => {
                let src = err
                    .src()
                    .map(|s| s.path_string().to_string())
                    .unwrap_or_default();
                if err
                    .src()
                    .is_some_and(|s| s.name() == crate::media::audio_source::SOURCE)
                {
                    let _ = tx.send(SessionEvent::SourceLost(format!("{src}: {}", err.error())));
                    return gst::BusSyncReply::Drop;
                }
                // The microphone's branch failing (PulseAudio gone) must not end the session.
                if err
                    .src()
                    .is_some_and(|s| crate::mic::is_mic_element(&s.name()))
                {
                    warn!("microphone: {src}: {}", err.error());
                    return gst::BusSyncReply::Drop;
                }
                let _ = tx.send(SessionEvent::Error(format!(
                    "{src}: {} ({:?})",
                    err.error(),
                    err.debug()
                )));
            }
            MessageView::Warning(w) => warn!("pipeline warning: {} ({:?})", w.error(), w.debug()),
            MessageView::Latency(_) => {
                let _ = tx.send(SessionEvent::Latency);
            }
            _ => {}
        }
        gst::BusSyncReply::Drop
    });
}
