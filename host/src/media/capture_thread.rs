//! The damage-driven capture's thread ([`CaptureThread`]): waits for DAMAGE (or a wake-up, a
//! resize, the keep-alive), paces frames to `--framerate`, brings a pooled frame up to date by
//! fetching the stale rows within their column span and converting them in place, numbers it,
//! records its damage for the encoder's hints, and pushes it into the appsrc. The source's
//! choice, start-up and run-time controls are in `xcapture.rs`; the module header there says
//! how the capture behaves as a whole (docs/architecture.md, "Damage-driven capture").

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::glib;
use gstreamer::prelude::*;
use selkies_x11::block_diff::{BlockMap, DiffConverter, Reference};
use selkies_x11::frame_rows::{self, PointerImage};
use selkies_x11::row_set::{self, RowSet};
use selkies_x11::shm_capture::{ShmCapture, WakeReceiver};
use selkies_x11::yuv::{FrameFormat, FrameLayout, Matrix};
use tracing::{debug, info, warn};

use super::capture_plan::{
    PhaseFollow, clip_rect, column_span, early_due, hull_of, is_fresh, next_push, pacing_slot,
};
use super::frame_pool::FramePool;
use super::idle::FrameGate;
use super::x264::hints::{Damage, DamageLog, Rect};
use super::xcapture::{Shared, frame_caps};

pub(super) struct CaptureThread {
    capture: ShmCapture,
    format: FrameFormat,
    display: Option<String>,
    appsrc: glib::WeakRef<gst::Element>,
    shared: Arc<Shared>,
    wake: WakeReceiver,
    gate: FrameGate,
    timing: PushTiming,
    /// Numbers each frame handed to the pipeline (the buffer's offset), so the encoder's
    /// repeat probe can tell when one was dropped on the way (`media/repeat_frame.rs`).
    sequence: u64,
    /// The damage of each numbered frame, for the encoder's hints.
    damage_log: Arc<Mutex<DamageLog>>,
    /// Damage taken from the X server and not yet recorded under a frame's number (a take
    /// whose frame could not be pushed goes out with the next one).
    pending: Damage,
    /// The rows the pointer was drawn over in the last frame numbered.
    pointer_rows: Option<std::ops::Range<u16>>,
    /// The bounding box of the damage the last frame took: a scene that keeps repainting it
    /// waits for the next slot; a change outside it is captured early ([`early_due`]).
    last_area: Option<Rect>,
    /// Moves the frame grid to a steadily repainting scene's phase ([`PhaseFollow`]).
    phase: PhaseFollow,
    /// Converts fetched rows through a scratch buffer and finds the blocks that really
    /// changed (`selkies_x11::block_diff`), for the pool's frame size (made with the pool).
    diff: DiffConverter,
    /// The blocks found changed in the frame being written.
    blocks: BlockMap,
}

/// Whether a push may go to the encoder as a repeat picture (`media/repeat_frame.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Repeat {
    /// Nothing changed: a keep-alive.
    Yes,
    /// Only when the fetched rows hold the same pixels as the last push (the keep-alive is
    /// due).
    IfUnchanged,
    /// When the fetched rows hold the same pixels as the last push, push nothing.
    SkipIfUnchanged,
    /// Never (the first push, a keyframe request's).
    No,
}

/// What [`CaptureThread::update`] made of a pooled frame.
enum Update {
    /// The frame to push.
    Push(gst::Buffer),
    /// It holds the same pixels as the last push: nothing to push.
    Unchanged,
    /// Every pooled frame is held downstream.
    Held,
}

/// The comparison state for frames of `format` at `capture`'s screen size.
fn diff_state(format: FrameFormat, capture: &ShmCapture) -> (DiffConverter, BlockMap) {
    let (width, height) = (capture.width(), capture.height());
    let layout = FrameLayout::new(format, width, height);
    (
        DiffConverter::new(layout, Matrix::for_height(height)),
        BlockMap::new(width, height),
    )
}

/// How long to wait before retrying a push the pipeline refused (not playing yet, flushing).
const RETRY: Duration = Duration::from_millis(10);

/// Frames the pool may grow to for a push that only answers a keyframe request. When more are
/// held downstream, a frame is already on its way to the encoder and becomes the keyframe; a
/// new 1080p frame would cost 3 MiB for the rest of the session (a new session's request comes
/// while its first two frames wait for webrtcbin's transport).
const WANTED_FRAMES: usize = 2;

/// Pool frames nobody wrote for this long are freed (`FramePool::trim_idle`).
const POOL_IDLE: Duration = Duration::from_secs(2);

impl CaptureThread {
    /// A capture of `capture` into `appsrc`, in `format`, reopening `display` on a resize.
    pub(super) fn new(
        capture: ShmCapture,
        format: FrameFormat,
        display: Option<String>,
        appsrc: glib::WeakRef<gst::Element>,
        shared: Arc<Shared>,
        wake: WakeReceiver,
        damage_log: Arc<Mutex<DamageLog>>,
    ) -> Self {
        let (diff, blocks) = diff_state(format, &capture);
        Self {
            capture,
            format,
            display,
            appsrc,
            shared,
            wake,
            gate: FrameGate::default(),
            timing: PushTiming::default(),
            sequence: 0,
            damage_log,
            pending: Damage::All,
            pointer_rows: None,
            last_area: None,
            phase: PhaseFollow::default(),
            diff,
            blocks,
        }
    }

    /// Capture until the session ends or the capture fails; then say it no longer runs.
    pub(super) fn run_to_end(mut self) {
        if let Err(e) = self.run() {
            warn!("screen capture stopped: {e}");
        }
        self.shared.running.store(false, Ordering::Relaxed);
    }

    fn run(&mut self) -> Result<(), String> {
        let mut pool = self.new_pool()?;
        // The slot of the last frame captured: the grid the next one is paced from.
        let mut last_push: Option<Instant> = None;
        // The slot of the last frame pushed (a capture that found nothing new pushes nothing):
        // the keep-alive counts from it.
        let mut last_sent: Option<Instant> = None;
        let mut changed = true;
        let mut damage_seen: Option<Instant> = Some(Instant::now());
        let mut played = false;
        let mut recovered: Option<Instant> = None;
        // A frame was requested (a keyframe is due): push one at the frame interval.
        let mut wanted = false;
        // Damage was reported outside the last frame's: a new change, captured early.
        let mut fresh = false;
        loop {
            let fps = self.shared.fps.load(Ordering::Relaxed).max(1);
            let interval = Duration::from_secs(1) / fps;
            let pointer = self.shared.pointer.load(Ordering::Relaxed);
            let now = Instant::now();
            // Held after the first push (`hold_until_wanted`): nothing is due before the hold
            // ends, unless a wake releases it.
            let hold = played.then(|| self.shared.held_until(now)).flatten();
            let slot = hold.or_else(|| {
                next_push(
                    if changed || wanted || pointer {
                        last_push
                    } else {
                        last_sent
                    },
                    changed || wanted,
                    pointer,
                    interval,
                    self.gate.keepalive,
                )
            });
            let due = if hold.is_none() && changed && fresh {
                early_due(slot, interval)
            } else {
                slot
            };
            let wait = due.map_or(Duration::ZERO, |d| d.saturating_duration_since(now));
            if !wait.is_zero() || !(changed || wanted) {
                let seen = self
                    .capture
                    .wait_or_wake(wait, &self.wake)
                    .map_err(|e| e.to_string())?;
                if seen.woken {
                    self.shared.release();
                    wanted = true;
                }
                if seen.resized {
                    self.reopen()?;
                    pool = self.new_pool()?;
                    changed = true;
                    continue;
                }
                // A change seen while held waits for the peer, not for the capture.
                if seen.damaged && damage_seen.is_none() && hold.is_none() {
                    damage_seen = Some(Instant::now());
                }
                changed |= seen.damaged;
                fresh |= is_fresh(
                    seen.area,
                    self.last_area,
                    self.capture.width(),
                    self.capture.height(),
                );
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
            // Only a keyframe request, no change and no keep-alive due: no new pool frame.
            let only_wanted = wanted
                && !changed
                && !pointer
                && last_push.is_some_and(|t| started < t + self.gate.keepalive);
            let limit = if only_wanted {
                WANTED_FRAMES
            } else {
                super::frame_pool::MAX_FRAMES
            };
            let trimmed = pool.trim_idle(started, POOL_IDLE);
            if trimmed > 0 {
                debug!(
                    trimmed,
                    pooled = pool.allocated(),
                    "idle capture frames freed"
                );
            }
            // Nothing changed since the last push and no pointer is drawn: this push only
            // keeps the stream alive, and the encoder may send it as a repeat picture. A push
            // that answers a keyframe request goes to the encoder whatever it holds. A repaint
            // that changed no pixel is not pushed at all until the keep-alive is due.
            let repeat = if !played || wanted {
                Repeat::No
            } else if !changed && !pointer {
                Repeat::Yes
            } else if last_sent.is_some_and(|t| started < t + self.gate.keepalive) {
                Repeat::SkipIfUnchanged
            } else {
                Repeat::IfUnchanged
            };
            let frame = match self.update(&mut pool, changed, pointer, pts, limit, repeat) {
                Ok(Update::Push(frame)) => frame,
                Ok(Update::Unchanged) => {
                    last_push = Some(pacing_slot(slot, started, interval));
                    changed = false;
                    fresh = false;
                    damage_seen = None;
                    continue;
                }
                // A frame is held on its way to the encoder: it answers the request.
                Ok(Update::Held) if only_wanted => {
                    wanted = false;
                    continue;
                }
                // Every pooled frame is still held downstream: try again shortly.
                Ok(Update::Held) => {
                    std::thread::sleep(RETRY / 4);
                    continue;
                }
                Err(e) => {
                    // A RandR resize can land between the damage report and the fetch, before
                    // its ConfigureNotify is read: the fetch of the old size then fails
                    // (BadMatch). Reopen at the new size once; fail only if that recurs at once,
                    // before a frame went out at the new size: two resizes 0.7 s apart (a
                    // browser window dragged) each raced a fetch and stopped the capture.
                    if recovered.is_some_and(|t| t.elapsed() < Duration::from_secs(1)) {
                        return Err(e);
                    }
                    debug!("capture fetch failed ({e}); reopening at the current screen size");
                    recovered = Some(Instant::now());
                    self.reopen()?;
                    pool = self.new_pool()?;
                    changed = true;
                    continue;
                }
            };
            let fetched = started.elapsed();
            match appsrc.emit_by_name::<gst::FlowReturn>("push-buffer", &[&frame]) {
                gst::FlowReturn::Ok => {
                    played = true;
                    recovered = None;
                    let paced = pacing_slot(slot, started, interval);
                    let early = slot.is_some_and(|s| started < s);
                    changed = false;
                    wanted = false;
                    fresh = false;
                    let damage = damage_seen.take();
                    // Taken at its slot (the grid kept), with a change seen before the slot.
                    let waited = slot
                        .filter(|s| *s == paced && !early)
                        .zip(damage)
                        .map(|(s, d)| s.saturating_duration_since(d));
                    let advance = self.phase.frame(waited, interval, started);
                    last_push =
                        Some(advance.map_or(paced, |a| paced.checked_sub(a).unwrap_or(paced)));
                    last_sent = last_push;
                    if let Some(d) = damage {
                        self.shared
                            .stages
                            .change_waited(started.saturating_duration_since(d));
                    }
                    self.timing
                        .record(damage, started, fetched, pool.allocated(), early);
                }
                _ if played && appsrc.current_state() == gst::State::Null => return Ok(()),
                _ => std::thread::sleep(RETRY),
            }
        }
    }

    /// A pool of the screen's size, and the comparison state of that size.
    fn new_pool(&mut self) -> Result<FramePool, String> {
        let (diff, blocks) = diff_state(self.format, &self.capture);
        self.diff = diff;
        self.blocks = blocks;
        Ok(FramePool::new(*self.diff.layout()))
    }

    /// Bring a free pooled frame up to date with the screen: take the damage (when `changed`),
    /// fetch the frame's stale rows (plus the pointer's, when drawn) and convert them into it.
    /// Returns the frame to push, stamped `pts` (the pool keeps a reference) and marked
    /// droppable when it only `repeat`s the last push (`media/repeat_frame.rs`); nothing to
    /// push when it holds the same pixels as the last push and `repeat` says to skip those;
    /// held when all are held and `limit` frames exist.
    fn update(
        &mut self,
        pool: &mut FramePool,
        changed: bool,
        pointer: bool,
        pts: gst::ClockTime,
        limit: usize,
        repeat: Repeat,
    ) -> Result<Update, String> {
        let height = self.capture.height();
        let width = self.capture.width();
        if changed {
            let (rects, damage) = self.capture.take_damage().map_err(|e| e.to_string())?;
            let clipped: Vec<Rect> = rects
                .iter()
                .filter_map(|r| clip_rect(r, width, height))
                .collect();
            if let Some(hull) = hull_of(&clipped) {
                self.last_area = Some(hull);
            }
            let cols = column_span(clipped.iter().map(|r| r.x..r.x + r.width), width);
            pool.mark_changed(&row_set::align_even(&damage, height), cols);
            if let Damage::Rects(pending) = &mut self.pending {
                pending.extend(clipped);
            }
        }
        let Some(i) = pool.acquire_up_to(limit).map_err(|e| e.to_string())? else {
            return Ok(Update::Held);
        };
        let mut fetch = pool.stale(i);
        let mut fetch_cols = pool.stale_cols(i);
        let image = if pointer {
            self.capture.pointer().ok()
        } else {
            None
        };
        let mut drawn = RowSet::new();
        let mut drawn_cols = 0..0;
        let mut pointer_rows = None;
        if let Some(p) = &image {
            let top = p.y.clamp(0, i32::from(height)) as u16;
            let bottom = (p.y + i32::from(p.height)).clamp(0, i32::from(height)) as u16;
            let left = p.x.clamp(0, i32::from(width)) as u16;
            let right = (p.x + i32::from(p.width)).clamp(0, i32::from(width)) as u16;
            drawn = row_set::align_even(std::slice::from_ref(&(top..bottom)), height);
            drawn_cols = column_span(std::iter::once(left..right), width);
            fetch_cols = super::frame_pool::hull(&fetch, &fetch_cols, &drawn_cols);
            fetch.extend(&drawn);
            pointer_rows = Some(top..bottom);
        }
        // The buffer written last is the frame numbered last: comparing the fetched rows with
        // it says exactly which blocks differ. Written again itself, it holds that frame outside
        // its stale rows and is compared in place; otherwise it is only read (downstream may
        // still hold it) while an older buffer is written.
        let in_place = pool.is_last(i);
        let reference = if in_place { None } else { pool.last_buffer() };
        let known = !matches!(self.pending, Damage::All) && (in_place || reference.is_some());
        self.blocks.clear();
        let Some(buf) = pool.buffer_mut(i) else {
            return Ok(Update::Held);
        };
        buf.set_pts(pts);
        buf.set_offset(self.sequence);
        let fetched = {
            let last = match &reference {
                Some(b) => Some(b.map_readable().map_err(|e| e.to_string())?),
                None => None,
            };
            let against = match &last {
                _ if in_place => Reference::InPlace,
                Some(m) => Reference::Other(m.as_slice()),
                None => Reference::Unknown,
            };
            self.diff.begin_frame(&against);
            let mut map = buf.map_writable().map_err(|e| e.to_string())?;
            let frame = map.as_mut_slice();
            let cols = fetch_cols.clone();
            let (diff, blocks) = (&mut self.diff, &mut self.blocks);
            self.capture
                .fetch_rows(fetch.bands(), fetch_cols, |rows, bgrx| {
                    if let Some(p) = &image {
                        draw_pointer_rows(bgrx, &cols, &rows, p);
                    }
                    diff.convert_cols(bgrx, rows, cols.clone(), frame, against, blocks)
                })
                .map_err(|e| e.to_string())
                .and_then(|r| r.map_err(|e| e.to_string()))
        };
        if let Err(e) = fetched {
            // Nothing is known about this frame's contents any more.
            self.pending = Damage::All;
            return Err(e);
        }
        // This frame differs from the one numbered before it by the blocks found changed (and,
        // compared with another buffer, by the pointer's rows in both frames, which that one
        // may not have fetched), or, when nothing is known, by the damage taken since.
        let mut damage = std::mem::replace(&mut self.pending, Damage::Rects(Vec::new()));
        let unchanged = known
            && !self.blocks.any()
            && (in_place || (pointer_rows.is_none() && self.pointer_rows.is_none()));
        if known {
            damage = Damage::Rects(self.blocks.runs().into_iter().map(Rect::from).collect());
        }
        if let Damage::Rects(rects) = &mut damage
            && !in_place
        {
            for rows in [self.pointer_rows.clone(), pointer_rows.clone()]
                .into_iter()
                .flatten()
            {
                rects.push(Rect {
                    x: 0,
                    y: rows.start,
                    width,
                    height: rows.end - rows.start,
                });
            }
        }
        self.pointer_rows = pointer_rows;
        if unchanged && repeat == Repeat::SkipIfUnchanged {
            // Not numbered: the encoder sees no gap, and the next frame's change is the same.
            pool.written(i, drawn, drawn_cols);
            return Ok(Update::Unchanged);
        }
        crate::sync::lock(&self.damage_log).record(self.sequence, damage);
        self.sequence += 1;
        // Pooled buffers come back with the flags of their last push. A frame whose repaint
        // changed no pixel is a repeat too (a player or a terminal drawing the same again).
        if repeat == Repeat::Yes || (repeat == Repeat::IfUnchanged && unchanged) {
            buf.set_flags(gst::BufferFlags::DROPPABLE);
        } else {
            buf.unset_flags(gst::BufferFlags::DROPPABLE);
        }
        pool.written(i, drawn, drawn_cols);
        Ok(pool.share(i).map_or(Update::Held, Update::Push))
    }

    /// The screen changed size: a new segment and caps of the new size.
    fn reopen(&mut self) -> Result<(), String> {
        self.pending = Damage::All;
        self.capture = ShmCapture::open(self.display.as_deref()).map_err(|e| e.to_string())?;
        if let Some(appsrc) = self.appsrc.upgrade() {
            let fps = self.shared.fps.load(Ordering::Relaxed).max(1);
            let caps = frame_caps(
                self.format,
                self.capture.width(),
                self.capture.height(),
                fps,
            );
            super::props::set(&appsrc, "caps", &caps);
        }
        info!(
            width = self.capture.width(),
            height = self.capture.height(),
            "capture follows the new screen size"
        );
        Ok(())
    }
}

/// Draw `pointer` into `bgrx`, which holds the screen rows `rows` within the columns `cols`.
fn draw_pointer_rows(
    bgrx: &mut [u8],
    cols: &std::ops::Range<u16>,
    rows: &std::ops::Range<u16>,
    pointer: &PointerImage,
) {
    let shifted = PointerImage {
        x: pointer.x - i32::from(cols.start),
        y: pointer.y - i32::from(rows.start),
        ..pointer.clone()
    };
    frame_rows::draw_pointer(bgrx, cols.end - cols.start, rows.end - rows.start, &shifted);
}

/// Capture timings, logged at debug level every [`PushTiming::EVERY`]: how long a change
/// waited from its first DAMAGE report to the end of its push (the frame-interval wait of a
/// burst included), and how long fetching, converting and pushing took.
#[derive(Debug, Default)]
struct PushTiming {
    since: Option<Instant>,
    damage_to_push: Vec<Duration>,
    work: Vec<Duration>,
    frames: u32,
    /// Frames captured ahead of their slot ([`early_due`]).
    early: u32,
}

impl PushTiming {
    const EVERY: Duration = Duration::from_secs(10);

    fn record(
        &mut self,
        damage: Option<Instant>,
        started: Instant,
        fetched: Duration,
        pool: usize,
        early: bool,
    ) {
        let now = Instant::now();
        let since = *self.since.get_or_insert(now);
        self.frames += 1;
        self.early += u32::from(early);
        if let Some(d) = damage {
            self.damage_to_push.push(now.duration_since(d));
        }
        self.work.push(now.duration_since(started).max(fetched));
        if now.duration_since(since) < Self::EVERY {
            return;
        }
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let (d50, dmax) = percentile(&mut self.damage_to_push);
        let (w50, wmax) = percentile(&mut self.work);
        debug!(
            frames = self.frames,
            early = self.early,
            changes = self.damage_to_push.len(),
            damage_to_push_p50_ms = format!("{:.2}", ms(d50)),
            damage_to_push_max_ms = format!("{:.2}", ms(dmax)),
            capture_push_p50_ms = format!("{:.2}", ms(w50)),
            capture_push_max_ms = format!("{:.2}", ms(wmax)),
            pooled_frames = pool,
            "capture timing"
        );
        *self = Self::default();
    }
}

/// (median, max) of `v`, zero when empty.
fn percentile(v: &mut [Duration]) -> (Duration, Duration) {
    v.sort_unstable();
    let mid = v.get(v.len() / 2).copied().unwrap_or_default();
    (mid, v.last().copied().unwrap_or_default())
}

/// The running time of the pipeline clock now; None before the element has a clock and a base
/// time. Going to PLAYING, a bin hands its elements the clock before their base time, so for a
/// moment the clock is there and the base time still 0, and the "running time" would be the
/// clock's absolute time (hours of uptime) followed by a real one of a few milliseconds.
fn running_time(element: &gst::Element) -> Option<gst::ClockTime> {
    let now = element.clock()?.time();
    let base = element.base_time().filter(|b| !b.is_zero())?;
    now.checked_sub(base)
}
