//! The video source: the host's damage-driven MIT-SHM capture ([`selkies_x11::shm_capture`])
//! feeding an `appsrc` from a capture thread, or GStreamer's `ximagesrc` (`--capture`).
//!
//! The capture thread pushes a frame as soon as the X server reports damage, unless its
//! frame-rate slot has not come yet: then it waits for the slot and the damage that arrives
//! meanwhile is fetched with it (a burst costs one frame, at most one frame a slot). A change
//! outside the area the last frame took is captured up to half an interval before its slot,
//! taking the slot's place, so a new change behind a moving scene waits less
//! (`capture_plan.rs`; docs/benchmarks.md, "Capture: a new change goes ahead").
//! Only the damaged rows (widened to row pairs), within one span of columns
//! covering the damage, are fetched, a segment-full at a time, and converted straight from
//! the shared segment into a pooled frame in the format the encoder takes (`frame_pool.rs`;
//! NV12 for x264enc, I420 for the other software encoders, BGRx for the GPU uploads, which
//! convert themselves), so the pipeline runs no `videoconvert` on this path and no full frame
//! is copied. A static screen sends the unchanged frame every
//! [`FrameGate::keepalive`] (the browser asks for a keyframe after a longer gap: idle.rs).
//! A keyframe request reaching the encoder (a browser's PLI, a viewer or WebSocket client
//! joining, the host's own when a peer connects) wakes the capture, so on a static screen the
//! keyframe goes out within a frame interval instead of at the next keep-alive
//! (docs/benchmarks.md, "Keyframe requests on a static desktop").
//! A new WebRTC session holds the capture after its first frame (which the offer's caps come
//! from) until the peer connection is up ([`CaptureHandle::hold_until_wanted`]): frames encoded
//! before DTLS are dropped by webrtcbin anyway, and on 2 cores the encoder would share them with
//! the browser's negotiation (docs/benchmarks.md, "First frame: the capture waits for the peer").
//! Each buffer is stamped with the pipeline clock's running time when its capture began.
//! With the pointer drawn into the frames (`PointerVisible`), pointer motion makes no damage,
//! so frames then go out at the frame rate with the pointer drawn over its rows, which are
//! fetched again for the next frame.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use selkies_proto::config::CaptureMode;
use selkies_proto::encoder::registry::Upload;
use selkies_x11::shm_capture::{ShmCapture, Waker, wake_pair};
use selkies_x11::yuv::{FrameFormat, Matrix};
use tracing::{info, warn};

use super::capture_thread::CaptureThread;
use super::pipeline::MediaError;
use super::video_stages::StageBoard;
use super::x264::hints::DamageLog;

/// The source chosen for one session.
#[derive(Debug)]
pub enum VideoSource {
    Ximagesrc,
    Xshm(Box<XshmSource>),
}

/// The damage-driven capture and the frame format it pushes.
#[derive(Debug)]
pub struct XshmSource {
    capture: ShmCapture,
    format: FrameFormat,
}

impl XshmSource {
    fn new(capture: ShmCapture) -> Box<Self> {
        Box::new(Self {
            capture,
            format: FrameFormat::Bgrx,
        })
    }
}

static FALLBACK_LOGGED: AtomicBool = AtomicBool::new(false);

impl VideoSource {
    /// Pick the source for `mode`; `auto` falls back to ximagesrc with one log line per process.
    pub fn choose(mode: CaptureMode, display: Option<&str>) -> Result<Self, MediaError> {
        match mode {
            CaptureMode::Ximagesrc => Ok(Self::Ximagesrc),
            CaptureMode::Xshm => ShmCapture::open(display)
                .map(|c| Self::Xshm(XshmSource::new(c)))
                .map_err(|e| MediaError::Capture(e.to_string())),
            CaptureMode::Auto => match ShmCapture::open(display) {
                Ok(c) => Ok(Self::Xshm(XshmSource::new(c))),
                Err(e) => {
                    if !FALLBACK_LOGGED.swap(true, Ordering::Relaxed) {
                        warn!("damage-driven capture unavailable ({e}); using ximagesrc");
                    }
                    Ok(Self::Ximagesrc)
                }
            },
        }
    }

    /// Have the damage-driven capture push frames in the format `upload` starts from, so it
    /// converts only changed rows itself and the pipeline needs no `videoconvert` (software
    /// encoders: NV12 or I420). Hardware uploads convert on the GPU and keep BGRx.
    pub fn converting_for(mut self, upload: Upload) -> Self {
        if let Self::Xshm(x) = &mut self {
            x.format = match upload {
                Upload::System(name) => {
                    FrameFormat::from_caps_name(name).unwrap_or(FrameFormat::Bgrx)
                }
                Upload::Cuda | Upload::Va => FrameFormat::Bgrx,
            };
        }
        self
    }

    /// The conversion/upload between this source and the encoder: none (a caps check) when
    /// the capture already pushes the encoder's format, otherwise the registry's chain.
    pub fn upload_chain(&self, upload: Upload, gpu_id: u32, threads: u32) -> String {
        match (self, upload) {
            (Self::Xshm(x), Upload::System(name)) if x.format.caps_name() == name => {
                format!("capsfilter caps=video/x-raw,format={name}")
            }
            _ => super::pipeline::upload_chain(upload, gpu_id, threads),
        }
    }

    /// The launch-line fragment: the source named `x11`, then the capsfilter `fpscaps`.
    pub fn launch_fragment(&self, fps: u32) -> String {
        match self {
            Self::Ximagesrc => format!(
                "ximagesrc name=x11 show-pointer=false remote=true blocksize=16384 use-damage=false \
                 ! capsfilter name=fpscaps caps=video/x-raw,framerate={fps}/1"
            ),
            // The caps announce the nominal rate (rate control sizes frames by it); frames go
            // out only on change, so the actual rate is variable. One queued frame at most: a
            // newer capture replaces an older one the converter has not taken yet.
            Self::Xshm(c) => format!(
                "appsrc name=x11 is-live=true format=time do-timestamp=false block=false \
                 max-buffers=1 leaky-type=downstream \
                 caps=\"{caps}\" ! capsfilter name=fpscaps caps=video/x-raw",
                caps = frame_caps(c.format, c.capture.width(), c.capture.height(), fps),
            ),
        }
    }

    /// Start feeding `appsrc` (the element the fragment named `x11`); None for ximagesrc.
    pub fn start(
        self,
        appsrc: &gst::Element,
        display: Option<&str>,
        fps: u32,
    ) -> Result<Option<CaptureHandle>, MediaError> {
        let Self::Xshm(source) = self else {
            return Ok(None);
        };
        let shared = Arc::new(Shared {
            fps: AtomicU32::new(fps.max(1)),
            pointer: AtomicBool::new(false),
            running: AtomicBool::new(true),
            hold_until: Mutex::new(None),
            stages: Arc::new(StageBoard::default()),
        });
        let (waker, wake) = wake_pair()
            .map_err(|e| MediaError::Capture(format!("cannot create the capture's waker: {e}")))?;
        let damage_log = Arc::new(Mutex::new(DamageLog::default()));
        let handle = CaptureHandle {
            appsrc: appsrc.clone(),
            shared: shared.clone(),
            waker,
            damage_log: damage_log.clone(),
        };
        let weak = appsrc.downgrade();
        let display = display.map(str::to_owned);
        std::thread::Builder::new()
            .name("x11-capture".into())
            .spawn(move || {
                let XshmSource { capture, format } = *source;
                CaptureThread::new(capture, format, display, weak, shared, wake, damage_log)
                    .run_to_end();
            })
            .map_err(|e| MediaError::Capture(format!("cannot start the capture thread: {e}")))?;
        info!("damage-driven MIT-SHM capture started");
        Ok(Some(handle))
    }
}

/// The appsrc caps; YUV states the matrix the capture converts with (the encoder writes it
/// into the stream's VUI).
pub(super) fn frame_caps(format: FrameFormat, width: u16, height: u16, fps: u32) -> String {
    let name = format.caps_name();
    let colorimetry = match format {
        FrameFormat::Bgrx => String::new(),
        FrameFormat::Nv12 | FrameFormat::I420 => {
            format!(",colorimetry={}", Matrix::for_height(height).colorimetry())
        }
    };
    format!(
        "video/x-raw,format={name},width={width},height={height},framerate={fps}/1{colorimetry}"
    )
}

#[derive(Debug)]
pub(super) struct Shared {
    pub(super) fps: AtomicU32,
    pub(super) pointer: AtomicBool,
    pub(super) running: AtomicBool,
    /// Push nothing more until then, or until a frame is wanted (`hold_until_wanted`).
    hold_until: Mutex<Option<Instant>>,
    /// Where each change's wait for its capture goes (the client's `video_stages`).
    pub(super) stages: Arc<StageBoard>,
}

impl Shared {
    /// The end of the hold in force at `now`, if one is.
    pub(super) fn held_until(&self, now: Instant) -> Option<Instant> {
        let mut hold = crate::sync::lock(&self.hold_until);
        if hold.is_some_and(|t| now >= t) {
            *hold = None;
        }
        *hold
    }

    pub(super) fn release(&self) {
        *crate::sync::lock(&self.hold_until) = None;
    }
}

/// Run-time controls of a running capture.
#[derive(Debug, Clone)]
pub struct CaptureHandle {
    appsrc: gst::Element,
    shared: Arc<Shared>,
    waker: Waker,
    damage_log: Arc<Mutex<DamageLog>>,
}

impl CaptureHandle {
    /// New frame rate: the pacing and the caps' nominal rate.
    pub fn set_framerate(&self, fps: u32) {
        let fps = fps.max(1);
        self.shared.fps.store(fps, Ordering::Relaxed);
        if let Some(mut caps) = self.appsrc.property::<Option<gst::Caps>>("caps") {
            caps.make_mut()
                .set("framerate", gst::Fraction::new(fps as i32, 1));
            self.appsrc.set_property("caps", &caps);
        }
    }

    /// Whether the capture thread still runs (it stops once its pipeline has been stopped).
    pub fn is_running(&self) -> bool {
        self.shared.running.load(Ordering::Relaxed)
    }

    /// Whether the pointer is drawn into the frames.
    pub fn set_pointer_drawn(&self, drawn: bool) {
        self.shared.pointer.store(drawn, Ordering::Relaxed);
    }

    /// Push nothing after the first frame until a frame is wanted (a keyframe request: the host
    /// asks for one when the peer connection is up, a browser's PLI, a viewer joining) or
    /// `limit` has passed. Damage seen meanwhile goes out with the wanted frame.
    pub fn hold_until_wanted(&self, limit: Duration) {
        *crate::sync::lock(&self.shared.hold_until) = Some(Instant::now() + limit);
    }

    /// The stage board the capture reports each change's wait to.
    pub fn stages(&self) -> Arc<StageBoard> {
        self.shared.stages.clone()
    }

    /// What changed in each pushed frame, by sequence number (the buffer offset), for an
    /// encoder that skips the rest (`media/x264`).
    pub fn damage_log(&self) -> Arc<Mutex<DamageLog>> {
        self.damage_log.clone()
    }

    /// Request a frame whenever a keyframe request travels upstream into `encoder`: on a static
    /// screen the encoder's next input would otherwise wait for the keep-alive (500 ms).
    pub fn follow_keyframe_requests(&self, encoder: &gst::Element) {
        let waker = self.waker.clone();
        super::first_frame::on_keyframe_request(encoder, move || waker.wake());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ximagesrc_fragment_keeps_the_clock_ticked_capture() {
        let f = VideoSource::Ximagesrc.launch_fragment(30);
        assert!(f.contains("ximagesrc name=x11 show-pointer=false"), "{f}");
        assert!(f.contains("fpscaps caps=video/x-raw,framerate=30/1"), "{f}");
    }
}
