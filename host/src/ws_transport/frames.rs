//! From an `appsink` to the socket's send queue: each encoded buffer becomes one binary message
//! (`selkies_proto::ws_stream::frame` header + payload), and the flow-control policy
//! (`selkies_proto::ws_stream::flow`) decides on the streaming thread, before anything is
//! queued, whether it goes out. What the policy asks of the encoder (a keyframe, a bitrate) is
//! passed to the session task, which owns the pipeline handles.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::extract::ws::Message;
use gstreamer as gst;
use gstreamer::prelude::*;
use selkies_proto::ws_stream::frame::h264_has_sps;
use selkies_proto::ws_stream::{Codec, FlowControl, FrameHeader, StreamId};
use tokio::sync::mpsc;
use tracing::debug;

use crate::sync::lock;

/// One message for the writer, with the bytes it adds to the backlog.
pub struct Outgoing {
    pub msg: Message,
    pub len: usize,
}

/// What the policy asks the session task to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    Keyframe,
    Kbps(u32),
}

/// The send queue shared by the appsinks, the session task and the writer.
#[derive(Clone)]
pub struct Queue {
    tx: mpsc::UnboundedSender<Outgoing>,
    /// Bytes queued and not yet accepted by the socket.
    backlog: Arc<AtomicUsize>,
    /// Largest backlog seen, for the logs.
    peak: Arc<AtomicUsize>,
}

impl Queue {
    pub fn new() -> (Self, mpsc::UnboundedReceiver<Outgoing>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (
            Self {
                tx,
                backlog: Arc::default(),
                peak: Arc::default(),
            },
            rx,
        )
    }

    pub fn backlog(&self) -> usize {
        self.backlog.load(Ordering::Relaxed)
    }

    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    /// Queue a message; false when the writer is gone.
    pub fn push(&self, msg: Message) -> bool {
        let len = match &msg {
            Message::Binary(b) => b.len(),
            Message::Text(t) => t.len(),
            _ => 0,
        };
        let now = self.backlog.fetch_add(len, Ordering::Relaxed) + len;
        self.peak.fetch_max(now, Ordering::Relaxed);
        self.tx.send(Outgoing { msg, len }).is_ok()
    }

    /// The writer handed `len` bytes to the socket.
    pub fn sent(&self, len: usize) {
        self.backlog.fetch_sub(len, Ordering::Relaxed);
    }
}

/// Microseconds since the Unix epoch at which a buffer was captured: `age_us` ago when the
/// stage timing matched it to its encoder input, else from how long ago its running time `pts`
/// was (right for unshifted timestamps: audio, and encoders that keep the input PTS).
fn capture_us(element: &gst::Element, pts: Option<gst::ClockTime>, age_us: Option<u64>) -> u64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0);
    if let Some(age) = age_us {
        return now.saturating_sub(age);
    }
    let age = match (element.current_running_time(), pts) {
        (Some(now_rt), Some(pts)) => now_rt.saturating_sub(pts).useconds(),
        _ => 0,
    };
    now.saturating_sub(age)
}

/// Feed `sink`'s buffers into `queue` as `stream` messages under `flow`. `encoded_age`: the
/// video stage timing's age of the frame being delivered (`media::stage_timing::install`).
pub fn attach(
    sink: &gst::Element,
    stream: StreamId,
    codec: Codec,
    queue: Queue,
    flow: Arc<Mutex<FlowControl>>,
    requests: mpsc::UnboundedSender<Request>,
    encoded_age: Option<Arc<std::sync::atomic::AtomicU64>>,
) {
    let started = Instant::now();
    sink.connect("new-sample", false, move |args| {
        let sink = args.first()?.get::<gst::Element>().ok()?;
        let sample = sink.emit_by_name::<Option<gst::Sample>>("pull-sample", &[])?;
        let Some(buffer) = sample.buffer() else {
            return Some(gst::FlowReturn::Ok.to_value());
        };
        let Ok(map) = buffer.map_readable() else {
            return Some(gst::FlowReturn::Ok.to_value());
        };
        let keyframe = !buffer.flags().contains(gst::BufferFlags::DELTA_UNIT);
        let now_ms = started.elapsed().as_millis() as u64;
        let decision = {
            let mut f = lock(&flow);
            match stream {
                StreamId::Video => f.on_video(now_ms, keyframe, map.len(), queue.backlog()),
                StreamId::Audio => f.on_audio(map.len(), queue.backlog()),
            }
        };
        if decision.force_keyframe {
            let _ = requests.send(Request::Keyframe);
        }
        if let Some(k) = decision.set_kbps {
            let _ = requests.send(Request::Kbps(k));
        }
        if decision.send {
            let header = FrameHeader {
                stream,
                keyframe: stream == StreamId::Video && keyframe,
                config: codec == Codec::H264 && keyframe && h264_has_sps(&map),
                codec,
                capture_us: capture_us(
                    &sink,
                    buffer.pts(),
                    encoded_age
                        .as_ref()
                        .map(|a| a.load(std::sync::atomic::Ordering::Relaxed))
                        .filter(|&a| a != crate::media::stage_timing::NO_AGE),
                ),
            };
            if !queue.push(Message::Binary(header.message(&map).into())) {
                debug!("WebSocket writer gone; frame dropped");
                return Some(gst::FlowReturn::Flushing.to_value());
            }
        }
        Some(gst::FlowReturn::Ok.to_value())
    });
}
