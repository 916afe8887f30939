//! One streaming session on a WebSocket: builds the WebSocket pipelines with the session's
//! encoder, runs a writer task that drains the send queue into the socket, and a loop that
//! routes the client's text messages into the same [`Controller`] the data channel uses,
//! sends its replies and periodic messages (and the desktop's) back as text, applies what the
//! flow-control policy asks of the encoder, and closes the socket with a clear reason on bad
//! input (a binary message from the client, a message over the size limit).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::ws::{Message, WebSocket};
use futures::{SinkExt, StreamExt};
use gstreamer as gst;
use gstreamer::prelude::*;
use selkies_proto::ws_stream::request::KEYFRAME_REQUEST;
use selkies_proto::ws_stream::{
    Codec, FlowConfig, FlowControl, FrameError, FrameHeader, StreamId, StreamRequest,
};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};

use super::close_message;
use super::frames::{self, Outgoing, Queue, Request};
use crate::control::Controller;
use crate::host::Host;
use crate::media::audio_source;
use crate::media::pipeline::{AudioParams, AudioPipeline, MediaError, VideoPipeline};
use crate::media::ws_pipeline;

/// What the session gets from the per-host state.
pub struct Context {
    pub host: Arc<Host>,
    pub ws_timeout: Duration,
    /// Fires when a newer streaming session replaces this one.
    pub kicked: oneshot::Receiver<()>,
    /// Desktop messages (clipboard, cursor) for this client.
    pub desktop: mpsc::UnboundedReceiver<String>,
}

/// Close codes (RFC 6455).
const CLOSE_UNSUPPORTED: u16 = 1003;
const CLOSE_TOO_BIG: u16 = 1009;
const CLOSE_INTERNAL: u16 = 1011;

/// The largest binary message the parser looks at (the socket's own limit is 1 MiB).
const MAX_CLIENT_BINARY: usize = 1 << 20;

struct Pipelines {
    video: VideoPipeline,
    audio: AudioPipeline,
}

fn build(host: &Host, req: &StreamRequest) -> Result<Pipelines, MediaError> {
    let encoder = host.session_encoder(req.meta.codecs.as_deref())?;
    let video = ws_pipeline::build_video(
        &encoder,
        &host.rates(),
        host.settings.gpu_id,
        host.services.damage.as_ref(),
        host.settings.capture,
    )?;
    let audio = ws_pipeline::build_audio(&AudioParams {
        bitrate_bps: host.live().audio_bps,
        channels: host.settings.audio_channels,
        packetloss_percent: 0.0,
        silence_ms: host.settings.audio_silence_ms,
    })?;
    Ok(Pipelines { video, audio })
}

fn set_state(p: &gst::Pipeline, state: gst::State, what: &str) -> Result<(), String> {
    p.set_state(state)
        .map(|_| ())
        .map_err(|e| format!("{what} pipeline to {state:?}: {e}"))
}

/// A close reason within the 123 bytes a close frame allows.
fn reason(text: &str) -> String {
    let mut end = text.len().min(120);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// Why a binary message from the client ends the session.
fn binary_refusal(msg: &[u8]) -> String {
    match FrameHeader::parse(msg, MAX_CLIENT_BINARY) {
        Err(e @ FrameError::TooLarge { .. }) => format!("message too big: {e}"),
        Err(e) => format!("bad binary message: {e}"),
        Ok((h, _)) => format!("clients may not send media ({:?} frame refused)", h.stream),
    }
}

async fn writer(
    mut sink: futures::stream::SplitSink<WebSocket, Message>,
    mut rx: mpsc::UnboundedReceiver<Outgoing>,
    queue: Queue,
    timeout: Duration,
) -> &'static str {
    while let Some(o) = rx.recv().await {
        let closing = matches!(o.msg, Message::Close(_));
        let sent = tokio::time::timeout(timeout, sink.send(o.msg)).await;
        queue.sent(o.len);
        match sent {
            Ok(Ok(())) if closing => return "closed by the host",
            Ok(Ok(())) => {}
            Ok(Err(_)) => return "send failed",
            Err(_) => return "the client read nothing within --ws_timeout",
        }
    }
    "queue closed"
}

/// Run the session until the socket closes, the client misbehaves or a newer session starts.
pub async fn run(ctx: Context, socket: WebSocket, req: StreamRequest) {
    let Context {
        host,
        ws_timeout,
        mut kicked,
        mut desktop,
    } = ctx;
    if host.live().resize
        && let Some((w, h)) = req.meta.res
        && let Err(e) = crate::desktop::resize(w, h).await
    {
        warn!("fitting the screen to the browser: {e}");
    }
    let (sink, mut stream) = socket.split();
    let (queue, queue_rx) = Queue::new();
    let mut writer = tokio::spawn(writer(sink, queue_rx, queue.clone(), ws_timeout));

    let built = {
        let host = host.clone();
        tokio::task::spawn_blocking(move || build(&host, &req)).await
    };
    let p = match built {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => {
            warn!("WebSocket streaming: {e}");
            queue.push(close_message(CLOSE_INTERNAL, &reason(&e.to_string())));
            let _ = tokio::time::timeout(Duration::from_secs(1), &mut writer).await;
            return;
        }
        Err(e) => {
            warn!("WebSocket streaming: pipeline build task failed: {e}");
            writer.abort();
            return;
        }
    };
    let flow = Arc::new(Mutex::new(FlowControl::new(
        FlowConfig::default(),
        host.live().video_kbps,
        0,
    )));
    let (req_tx, mut requests) = mpsc::unbounded_channel();
    let video_codec = Codec::of_video(p.video.chosen.spec.codec());
    // capture → encoded, exported as for WebRTC (`selkies_host_latency_ms` on /metrics), and
    // each frame's real capture time for its header.
    let encoded_age = crate::media::stage_timing::install(
        &p.video.pipeline,
        host.services.metrics.clone(),
        None,
        p.video.stages.clone(),
    );
    // After the stage timings' probe: keep-alives of an unchanged screen as repeat pictures.
    p.video.repeat_unchanged_frames();
    frames::attach(
        &p.video.webrtc,
        StreamId::Video,
        video_codec,
        queue.clone(),
        flow.clone(),
        req_tx.clone(),
        encoded_age,
    );
    frames::attach(
        &p.audio.webrtc,
        StreamId::Audio,
        Codec::Opus,
        queue.clone(),
        flow.clone(),
        req_tx,
        None,
    );
    let mut controller = Controller::new(host.clone(), p.video.clone());
    for m in controller.on_open() {
        queue.push(Message::Text(m.into()));
    }
    // This session's claim on the `ab` handle; dropped after its pipelines stop.
    let audio_lease = host.claim_audio_encoder(p.audio.opusenc.clone());
    let started = {
        let (v, a) = (p.video.pipeline.clone(), p.audio.pipeline.clone());
        tokio::task::spawn_blocking(move || {
            set_state(&v, gst::State::Playing, "video")?;
            set_state(&a, gst::State::Playing, "audio")
        })
        .await
    };
    let mut recovery =
        (!p.audio.live_source).then(|| tokio::spawn(audio_source::recover(p.audio.clone(), false)));
    // Pauses the audio capture while nothing plays; stopped before the pipelines are.
    let idle_watch = crate::media::audio_idle::watch(&p.audio);
    let why = match started {
        Ok(Ok(())) => {
            info!(
                encoder = p.video.chosen.spec.name(),
                "WebSocket streaming started"
            );
            host.services.metrics.set_connected_clients(1);
            serve(
                &host,
                &p,
                &queue,
                &flow,
                &mut controller,
                Loop {
                    stream: &mut stream,
                    requests: &mut requests,
                    desktop: &mut desktop,
                    kicked: &mut kicked,
                    writer: &mut writer,
                    recovery: &mut recovery,
                    ws_timeout,
                },
            )
            .await
        }
        Ok(Err(e)) => {
            queue.push(close_message(CLOSE_INTERNAL, &reason(&e)));
            e
        }
        Err(e) => e.to_string(),
    };
    let (drops, dropped) = {
        let f = crate::sync::lock(&flow);
        (f.drops, f.dropped_frames)
    };
    info!(
        why,
        peak_backlog_bytes = queue.peak(),
        congestion_drops = drops,
        dropped_frames = dropped,
        "WebSocket streaming stopped"
    );
    if let Some(r) = recovery.take() {
        r.abort();
    }
    drop(idle_watch);
    host.services.metrics.set_connected_clients(0);
    // Give the writer a moment to deliver a close frame, then stop it (a finished handle may
    // already have been polled to completion by the loop: never poll it again).
    if !writer.is_finished() {
        let _ = tokio::time::timeout(Duration::from_secs(1), &mut writer).await;
        writer.abort();
    }
    let (v, a) = (p.video.pipeline.clone(), p.audio.pipeline.clone());
    drop(p);
    tokio::task::spawn_blocking(move || {
        let _ = v.set_state(gst::State::Null);
        let _ = a.set_state(gst::State::Null);
        drop(audio_lease);
        // SAFETY: malloc_trim only returns free heap memory to the kernel.
        unsafe {
            libc::malloc_trim(0);
        }
    });
    if let Some(g) = &host.services.gamepads {
        g.shutdown().await;
    }
}

/// The session loop's borrowed state.
struct Loop<'a> {
    stream: &'a mut futures::stream::SplitStream<WebSocket>,
    requests: &'a mut mpsc::UnboundedReceiver<Request>,
    desktop: &'a mut mpsc::UnboundedReceiver<String>,
    kicked: &'a mut oneshot::Receiver<()>,
    writer: &'a mut tokio::task::JoinHandle<&'static str>,
    recovery: &'a mut Option<tokio::task::JoinHandle<()>>,
    ws_timeout: Duration,
}

fn pipeline_error(p: &gst::Pipeline) -> Option<String> {
    let msg = p.bus()?.pop_filtered(&[gst::MessageType::Error])?;
    match msg.view() {
        gst::MessageView::Error(e) => Some(format!(
            "{}: {}",
            msg.src()
                .map(|s| s.path_string().to_string())
                .unwrap_or_default(),
            e.error()
        )),
        _ => None,
    }
}

async fn serve(
    host: &Arc<Host>,
    p: &Pipelines,
    queue: &Queue,
    flow: &Arc<Mutex<FlowControl>>,
    controller: &mut Controller,
    l: Loop<'_>,
) -> String {
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut ping = tokio::time::interval(l.ws_timeout / 3);
    ping.tick().await;
    let mut deadline = tokio::time::Instant::now() + l.ws_timeout;
    let mut target = host.live().video_kbps;
    let rates_at = |k: u32| {
        let mut r = host.rates();
        r.video_kbps = k;
        r
    };
    let close = |code: u16, why: &str| {
        queue.push(close_message(code, &reason(why)));
        why.to_owned()
    };
    loop {
        tokio::select! {
            msg = l.stream.next() => {
                deadline = tokio::time::Instant::now() + l.ws_timeout;
                match msg {
                    Some(Ok(Message::Text(text))) if text.as_str() == KEYFRAME_REQUEST => {
                        ws_pipeline::force_keyframe(&p.video.webrtc);
                    }
                    Some(Ok(Message::Text(text))) => {
                        for r in controller.on_message(text.as_str()).await {
                            queue.push(Message::Text(r.into()));
                        }
                    }
                    Some(Ok(Message::Binary(b))) => {
                        let why = binary_refusal(&b);
                        warn!("WebSocket streaming: closing the connection: {why}");
                        let code = if why.starts_with("message too big") {
                            CLOSE_TOO_BIG
                        } else {
                            CLOSE_UNSUPPORTED
                        };
                        return close(code, &why);
                    }
                    Some(Ok(Message::Close(_))) | None => return "closed by the client".into(),
                    Some(Ok(_)) => {}
                    Some(Err(e)) => {
                        // axum hides tungstenite's error type: its text tells a message over
                        // the size limit from a connection that just went away.
                        let text = e.to_string();
                        if !text.contains("Space limit exceeded") {
                            return format!("socket error: {text}");
                        }
                        let why = format!("message too big: {text}");
                        warn!("WebSocket streaming: closing the connection: {why}");
                        return close(CLOSE_TOO_BIG, &why);
                    }
                }
            }
            r = l.requests.recv() => match r {
                Some(Request::Keyframe) => {
                    debug!("WebSocket streaming: keyframe requested");
                    ws_pipeline::force_keyframe(&p.video.webrtc);
                }
                Some(Request::Kbps(k)) => {
                    let k = p.video.set_bitrate(k, rates_at);
                    info!(kbps = k, backlog = queue.backlog(), "WebSocket congestion: video bitrate lowered");
                }
                None => {}
            },
            m = l.desktop.recv() => {
                if let Some(m) = m {
                    queue.push(Message::Text(m.into()));
                }
            }
            _ = &mut *l.kicked => {
                return close(super::CLOSE_REPLACED, "replaced by a newer streaming session");
            }
            w = &mut *l.writer => {
                return w.unwrap_or("writer task failed").to_owned();
            }
            _ = tick.tick() => {
                for m in controller.tick().await {
                    queue.push(Message::Text(m.into()));
                }
                let now_ms = started.elapsed().as_millis() as u64;
                let raised = {
                    let mut f = crate::sync::lock(flow);
                    let live = host.live().video_kbps;
                    if live != target {
                        target = live;
                        f.set_target(live);
                    }
                    f.on_tick(now_ms)
                };
                if let Some(k) = raised {
                    let k = p.video.set_bitrate(k, rates_at);
                    debug!(kbps = k, "WebSocket streaming: video bitrate raised");
                }
                if let Some(e) = pipeline_error(&p.video.pipeline) {
                    return close(CLOSE_INTERNAL, &format!("video pipeline failed: {e}"));
                }
                if let Some(e) = pipeline_error(&p.audio.pipeline) {
                    debug!("WebSocket audio source failed: {e}");
                    if let Some(r) = l.recovery.take() {
                        r.abort();
                    }
                    *l.recovery = Some(tokio::spawn(audio_source::recover(p.audio.clone(), true)));
                }
            }
            _ = ping.tick() => {
                queue.push(Message::Ping(Vec::new().into()));
            }
            _ = tokio::time::sleep_until(deadline) => {
                return close(1008, "no frame or pong within --ws_timeout");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_name_the_problem() {
        assert!(binary_refusal(&[0, 0]).contains("shorter than"));
        let mut unknown = vec![7u8; 12];
        unknown[1] = 0;
        assert!(binary_refusal(&unknown).contains("unknown stream id 7"));
        assert!(binary_refusal(&vec![0u8; MAX_CLIENT_BINARY + 1]).starts_with("message too big"));
        let media = FrameHeader {
            stream: StreamId::Audio,
            keyframe: false,
            config: false,
            codec: Codec::Opus,
            capture_us: 1,
        }
        .message(b"x");
        assert!(binary_refusal(&media).contains("may not send media"));
    }

    #[test]
    fn close_reasons_fit_a_close_frame() {
        let long = "é".repeat(100);
        let r = reason(&long);
        assert!(r.len() <= 120 && long.starts_with(&r));
    }
}
