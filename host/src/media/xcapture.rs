//! The video source: the host's damage-driven MIT-SHM capture ([`selkies_x11::shm_capture`])
//! feeding an `appsrc` from a capture thread, or GStreamer's `ximagesrc` (`--capture`).
//!
//! The capture thread pushes a frame as soon as the X server reports damage, unless a frame
//! went out less than one frame interval ago: then it waits for the interval to end and the
//! damage that arrives meanwhile is fetched with it (a burst costs one frame, never more than
//! `--framerate`). Only the damaged rows are fetched into a persistent frame; buffers pushed
//! share its memory, which GStreamer copies only when a downstream element still holds the
//! previous frame while the next rows arrive. A static screen sends the unchanged frame every
//! [`FrameGate::keepalive`] (the browser asks for a keyframe after a longer gap: idle.rs).
//! Each buffer is stamped with the pipeline clock's running time when its capture began.
//! With the pointer drawn into the frames (`PointerVisible`), pointer motion makes no damage,
//! so frames then go out at the frame rate with the pointer drawn on a copy.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::glib;
use gstreamer::prelude::*;
use selkies_proto::config::CaptureMode;
use selkies_x11::frame_rows;
use selkies_x11::shm_capture::ShmCapture;
use tracing::{debug, info, warn};

use super::idle::FrameGate;
use super::pipeline::MediaError;

/// When a frame should next go out, given the last push, whether the screen changed since,
/// and whether frames must flow at the frame rate regardless (pointer drawn).
pub fn next_push(
    last_push: Option<Instant>,
    changed: bool,
    pointer_drawn: bool,
    interval: Duration,
    keepalive: Duration,
) -> Option<Instant> {
    let last = last_push?;
    Some(if changed || pointer_drawn {
        last + interval
    } else {
        last + keepalive
    })
}

/// The source chosen for one session.
#[derive(Debug)]
pub enum VideoSource {
    Ximagesrc,
    Xshm(Box<ShmCapture>),
}

static FALLBACK_LOGGED: AtomicBool = AtomicBool::new(false);

impl VideoSource {
    /// Pick the source for `mode`; `auto` falls back to ximagesrc with one log line per process.
    pub fn choose(mode: CaptureMode, display: Option<&str>) -> Result<Self, MediaError> {
        match mode {
            CaptureMode::Ximagesrc => Ok(Self::Ximagesrc),
            CaptureMode::Xshm => ShmCapture::open(display)
                .map(|c| Self::Xshm(Box::new(c)))
                .map_err(|e| MediaError::Capture(e.to_string())),
            CaptureMode::Auto => match ShmCapture::open(display) {
                Ok(c) => Ok(Self::Xshm(Box::new(c))),
                Err(e) => {
                    if !FALLBACK_LOGGED.swap(true, Ordering::Relaxed) {
                        warn!("damage-driven capture unavailable ({e}); using ximagesrc");
                    }
                    Ok(Self::Ximagesrc)
                }
            },
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
                caps = frame_caps(c.width(), c.height(), fps),
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
        let Self::Xshm(capture) = self else {
            return Ok(None);
        };
        let shared = Arc::new(Shared {
            fps: AtomicU32::new(fps.max(1)),
            pointer: AtomicBool::new(false),
            running: AtomicBool::new(true),
        });
        let handle = CaptureHandle {
            appsrc: appsrc.clone(),
            shared: shared.clone(),
        };
        let weak = appsrc.downgrade();
        let display = display.map(str::to_owned);
        std::thread::Builder::new()
            .name("x11-capture".into())
            .spawn(move || {
                let mut thread = CaptureThread {
                    capture: *capture,
                    display,
                    appsrc: weak,
                    shared,
                    gate: FrameGate::default(),
                };
                if let Err(e) = thread.run() {
                    warn!("screen capture stopped: {e}");
                }
                thread.shared.running.store(false, Ordering::Relaxed);
            })
            .map_err(|e| MediaError::Capture(format!("cannot start the capture thread: {e}")))?;
        info!("damage-driven MIT-SHM capture started");
        Ok(Some(handle))
    }
}

fn frame_caps(width: u16, height: u16, fps: u32) -> String {
    format!("video/x-raw,format=BGRx,width={width},height={height},framerate={fps}/1")
}

#[derive(Debug)]
struct Shared {
    fps: AtomicU32,
    pointer: AtomicBool,
    running: AtomicBool,
}

/// Run-time controls of a running capture.
#[derive(Debug, Clone)]
pub struct CaptureHandle {
    appsrc: gst::Element,
    shared: Arc<Shared>,
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
}

struct CaptureThread {
    capture: ShmCapture,
    display: Option<String>,
    appsrc: glib::WeakRef<gst::Element>,
    shared: Arc<Shared>,
    gate: FrameGate,
}

/// How long to wait before retrying a push the pipeline refused (not playing yet, flushing).
const RETRY: Duration = Duration::from_millis(10);

impl CaptureThread {
    fn run(&mut self) -> Result<(), String> {
        let mut frame = self.full_frame()?;
        let mut last_push: Option<Instant> = None;
        let mut changed = false;
        let mut played = false;
        let mut recovered: Option<Instant> = None;
        loop {
            let fps = self.shared.fps.load(Ordering::Relaxed).max(1);
            let interval = Duration::from_secs(1) / fps;
            let pointer = self.shared.pointer.load(Ordering::Relaxed);
            let now = Instant::now();
            let due = next_push(last_push, changed, pointer, interval, self.gate.keepalive);
            let wait = due.map_or(Duration::ZERO, |d| d.saturating_duration_since(now));
            if !wait.is_zero() || !changed {
                let seen = self.capture.wait(wait).map_err(|e| e.to_string())?;
                if seen.resized {
                    self.reopen()?;
                    frame = self.full_frame()?;
                    changed = true;
                    continue;
                }
                changed |= seen.damaged;
                if !wait.is_zero() && Instant::now() < due.unwrap_or(now) {
                    continue;
                }
            }
            let Some(appsrc) = self.appsrc.upgrade() else {
                return Ok(());
            };
            // Pacing counts from the start of a capture, so fetching and pushing a frame does
            // not lower the frame rate below --framerate.
            let started = Instant::now();
            let Some(pts) = running_time(&appsrc) else {
                if played && appsrc.current_state() == gst::State::Null {
                    // The session ended but a handle keeps the element alive: stop capturing.
                    return Ok(());
                }
                std::thread::sleep(RETRY);
                continue;
            };
            if changed {
                let fetched = {
                    let buf = frame.make_mut();
                    let mut map = buf.map_writable().map_err(|e| e.to_string())?;
                    self.capture.capture_damage(map.as_mut_slice())
                };
                if let Err(e) = fetched {
                    // A RandR resize can land between the damage report and the fetch, before
                    // its ConfigureNotify is read: the fetch of the old size then fails
                    // (BadMatch). Reopen at the new size once; fail only if that recurs at once.
                    if recovered.is_some_and(|t| t.elapsed() < Duration::from_secs(1)) {
                        return Err(e.to_string());
                    }
                    debug!("capture fetch failed ({e}); reopening at the current screen size");
                    recovered = Some(Instant::now());
                    self.reopen()?;
                    frame = self.full_frame()?;
                    continue;
                }
            }
            let mut out = if pointer {
                self.with_pointer(&frame)
            } else {
                frame.copy()
            };
            out.make_mut().set_pts(pts);
            match appsrc.emit_by_name::<gst::FlowReturn>("push-buffer", &[&out]) {
                gst::FlowReturn::Ok => {
                    played = true;
                    last_push = Some(started);
                    changed = false;
                }
                _ if played && appsrc.current_state() == gst::State::Null => return Ok(()),
                _ => std::thread::sleep(RETRY),
            }
        }
    }

    fn full_frame(&mut self) -> Result<gst::Buffer, String> {
        let mut frame =
            gst::Buffer::with_size(self.capture.frame_len()).map_err(|e| e.to_string())?;
        {
            let buf = frame.make_mut();
            let mut map = buf.map_writable().map_err(|e| e.to_string())?;
            self.capture
                .capture_full(map.as_mut_slice())
                .map_err(|e| e.to_string())?;
        }
        Ok(frame)
    }

    /// The screen changed size: a new segment and caps of the new size.
    fn reopen(&mut self) -> Result<(), String> {
        self.capture = ShmCapture::open(self.display.as_deref()).map_err(|e| e.to_string())?;
        if let Some(appsrc) = self.appsrc.upgrade() {
            let fps = self.shared.fps.load(Ordering::Relaxed).max(1);
            let caps = frame_caps(self.capture.width(), self.capture.height(), fps);
            super::props::set(&appsrc, "caps", &caps);
        }
        info!(
            width = self.capture.width(),
            height = self.capture.height(),
            "capture follows the new screen size"
        );
        Ok(())
    }

    fn with_pointer(&self, frame: &gst::Buffer) -> gst::Buffer {
        let mut out = frame.copy_deep().unwrap_or_else(|_| frame.copy());
        if let Ok(pointer) = self.capture.pointer()
            && let Ok(mut map) = out.make_mut().map_writable()
        {
            frame_rows::draw_pointer(
                map.as_mut_slice(),
                self.capture.width(),
                self.capture.height(),
                &pointer,
            );
        }
        out
    }
}

/// The running time of the pipeline clock now; None before the element has a clock.
fn running_time(element: &gst::Element) -> Option<gst::ClockTime> {
    let now = element.clock()?.time();
    now.checked_sub(element.base_time()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn first_frame_goes_out_at_once() {
        assert_eq!(next_push(None, false, false, ms(33), ms(250)), None);
    }

    #[test]
    fn damage_goes_out_one_interval_after_the_last_frame_at_the_earliest() {
        let t = Instant::now();
        assert_eq!(
            next_push(Some(t), true, false, ms(33), ms(250)),
            Some(t + ms(33))
        );
        // Long after the last frame, the due time has passed: the change goes out at once.
        let due = next_push(Some(t), true, false, ms(33), ms(250)).expect("due");
        assert!(due <= t + ms(500));
    }

    #[test]
    fn a_static_screen_only_gets_keepalive_frames_unless_the_pointer_is_drawn() {
        let t = Instant::now();
        assert_eq!(
            next_push(Some(t), false, false, ms(33), ms(250)),
            Some(t + ms(250))
        );
        assert_eq!(
            next_push(Some(t), false, true, ms(33), ms(250)),
            Some(t + ms(33))
        );
    }

    #[test]
    fn the_ximagesrc_fragment_keeps_the_clock_ticked_capture() {
        let f = VideoSource::Ximagesrc.launch_fragment(30);
        assert!(f.contains("ximagesrc name=x11 show-pointer=false"), "{f}");
        assert!(f.contains("fpscaps caps=video/x-raw,framerate=30/1"), "{f}");
    }
}
