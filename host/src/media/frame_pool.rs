//! The damage-driven capture's frames: a few pooled buffers in the encoder's format, each
//! knowing which of its rows are stale and the one span of columns they are stale in, so a
//! frame is brought up to date by fetching and converting only that part straight from the
//! shared segment (no full-frame copy, no allocation per frame).
//!
//! A buffer pushed downstream is shared (its reference count is above one) until the encoder
//! has taken it; meanwhile the next capture writes into another buffer of the pool, whose stale
//! rows are the screen changes it missed. In the usual case the encoder is done long before the
//! next change and the same buffer is written again: its stale rows are then exactly the new
//! damage. At most [`MAX_FRAMES`] buffers exist; when all are held the frame waits. Buffers a
//! burst needed (the encoder slower than the frame rate for a moment, a session's first frames
//! waiting for its transport) are freed again once unused for a while ([`FramePool::trim_idle`]):
//! each is 3 MiB at 1080p, and a static screen needs one.

use gstreamer as gst;
use selkies_x11::row_set::RowSet;
use selkies_x11::yuv::FrameLayout;

/// Buffers the pool may hold: one being written plus one in each place downstream that can
/// hold a frame (appsrc's queue, the converter or upload, the leaky queue, the encoder), and
/// one spare for an encoder that keeps its input a frame longer.
pub const MAX_FRAMES: usize = 6;

struct Slot {
    buf: gst::Buffer,
    /// Rows where this buffer differs from the screen as last fetched.
    stale: RowSet,
    /// The columns those rows differ in, at most (one span covering every change).
    cols: Range<u16>,
    /// When it was last brought up to date (None: never).
    written_at: Option<Instant>,
}

/// The pool of one capture size; a new size gets a new pool.
pub struct FramePool {
    layout: FrameLayout,
    slots: Vec<Slot>,
    /// The slot written last (the one most likely free and least stale).
    last: Option<usize>,
}

impl std::fmt::Debug for FramePool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FramePool")
            .field("layout", &self.layout)
            .field("frames", &self.slots.len())
            .finish_non_exhaustive()
    }
}

/// Whether downstream has let go of `buf` (only the pool holds it and its memory).
fn is_free(buf: &gst::Buffer) -> bool {
    buf.is_writable() && buf.is_all_memory_writable()
}

impl FramePool {
    /// An empty pool of `layout` frames.
    pub fn new(layout: FrameLayout) -> Self {
        Self {
            layout,
            slots: Vec::new(),
            last: None,
        }
    }

    /// The frame layout.
    pub fn layout(&self) -> &FrameLayout {
        &self.layout
    }

    /// Buffers allocated so far.
    pub fn allocated(&self) -> usize {
        self.slots.len()
    }

    /// A buffer downstream no longer holds, preferring the one written last; a new one (all
    /// rows stale) while fewer than [`MAX_FRAMES`] exist. None when every buffer is held.
    pub fn acquire(&mut self) -> Result<Option<usize>, glib::BoolError> {
        self.acquire_up_to(MAX_FRAMES)
    }

    /// [`Self::acquire`], allocating only while fewer than `limit` buffers exist.
    pub fn acquire_up_to(&mut self, limit: usize) -> Result<Option<usize>, glib::BoolError> {
        if let Some(i) = self.last
            && self.slots.get(i).is_some_and(|s| is_free(&s.buf))
        {
            return Ok(Some(i));
        }
        // Among the other free buffers, the least stale.
        let best = (0..self.slots.len())
            .filter(|&i| is_free(&self.slots[i].buf))
            .min_by_key(|&i| self.slots[i].stale.rows());
        if best.is_some() {
            return Ok(best);
        }
        if self.slots.len() >= limit.min(MAX_FRAMES) {
            return Ok(None);
        }
        let buf = gst::Buffer::with_size(self.layout.size)?;
        let height = u16::try_from(self.layout.height).unwrap_or(u16::MAX);
        let width = u16::try_from(self.layout.width).unwrap_or(u16::MAX);
        self.slots.push(Slot {
            buf,
            stale: RowSet::all(height),
            cols: 0..width,
            written_at: None,
        });
        Ok(Some(self.slots.len() - 1))
    }

    /// Whether buffer `i` is the one written last: it holds the last frame pushed, except
    /// where it is stale.
    pub fn is_last(&self, i: usize) -> bool {
        self.last == Some(i)
    }

    /// A reference to the buffer written last, the last frame pushed (downstream may still
    /// hold it: read it only).
    pub fn last_buffer(&self) -> Option<gst::Buffer> {
        self.last.and_then(|i| self.share(i))
    }

    /// The rows of buffer `i` that must be fetched before it shows the screen.
    pub fn stale(&self, i: usize) -> RowSet {
        self.slots
            .get(i)
            .map(|s| s.stale.clone())
            .unwrap_or_default()
    }

    /// The columns of [`Self::stale`] rows that must be fetched.
    pub fn stale_cols(&self, i: usize) -> Range<u16> {
        self.slots.get(i).map_or(0..0, |s| s.cols.clone())
    }

    /// The screen changed in `rows`, within the columns `cols`: every buffer is stale there.
    pub fn mark_changed(&mut self, rows: &RowSet, cols: Range<u16>) {
        if rows.rows() == 0 || cols.is_empty() {
            return;
        }
        for slot in &mut self.slots {
            slot.cols = hull(&slot.stale, &slot.cols, &cols);
            slot.stale.extend(rows);
        }
    }

    /// Buffer `i` for writing; None unless it came from [`Self::acquire`] and is still free.
    pub fn buffer_mut(&mut self, i: usize) -> Option<&mut gst::BufferRef> {
        self.slots.get_mut(i)?.buf.get_mut()
    }

    /// Buffer `i` was brought up to date, except `dirty` rows within `dirty_cols` (drawn over,
    /// e.g. the pointer).
    pub fn written(&mut self, i: usize, dirty: RowSet, dirty_cols: Range<u16>) {
        if let Some(slot) = self.slots.get_mut(i) {
            slot.stale = dirty;
            slot.cols = dirty_cols;
            slot.written_at = Some(Instant::now());
            self.last = Some(i);
        }
    }

    /// Frees the buffers downstream has let go of that nobody wrote for `idle` (never the one
    /// written last); returns how many. Indices from [`Self::acquire`] are invalid afterwards,
    /// so this runs before a frame's `acquire`, never between it and `written`.
    pub fn trim_idle(&mut self, now: Instant, idle: Duration) -> usize {
        // Runs before every frame: `retain` allocates nothing when nothing goes.
        let last = self.last.take();
        let before = self.slots.len();
        let (mut index, mut kept) = (0, 0);
        self.slots.retain(|slot| {
            let i = index;
            index += 1;
            let unused = slot
                .written_at
                .is_none_or(|t| now.saturating_duration_since(t) >= idle);
            if Some(i) != last && unused && is_free(&slot.buf) {
                return false;
            }
            if Some(i) == last {
                self.last = Some(kept);
            }
            kept += 1;
            true
        });
        before - self.slots.len()
    }

    /// A reference to buffer `i` to push downstream (the pool keeps its own).
    pub fn share(&self, i: usize) -> Option<gst::Buffer> {
        self.slots.get(i).map(|s| s.buf.clone())
    }
}

/// The columns to fetch when changes in `new` join stale `rows` (within `cols` while any are
/// stale): one span covering both.
pub(super) fn hull(rows: &RowSet, cols: &Range<u16>, new: &Range<u16>) -> Range<u16> {
    if rows.rows() == 0 || cols.is_empty() {
        new.clone()
    } else if new.is_empty() {
        cols.clone()
    } else {
        cols.start.min(new.start)..cols.end.max(new.end)
    }
}

use gstreamer::glib;
use std::ops::Range;
use std::time::{Duration, Instant};

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::single_range_in_vec_init
    )]
    use super::*;
    use selkies_x11::yuv::FrameFormat;

    fn pool() -> FramePool {
        gst::init().unwrap();
        FramePool::new(FrameLayout::new(FrameFormat::Nv12, 64, 32))
    }

    fn set(bands: &[std::ops::Range<u16>]) -> RowSet {
        let mut s = RowSet::new();
        for b in bands {
            s.add(b.clone());
        }
        s
    }

    #[test]
    fn a_free_buffer_is_reused_and_only_new_damage_is_stale() {
        let mut p = pool();
        let i = p.acquire().unwrap().unwrap();
        assert_eq!(p.stale(i).bands(), &[0..32]);
        assert_eq!(p.buffer_mut(i).unwrap().size(), 64 * 32 * 3 / 2);
        p.written(i, RowSet::new(), 0..0);
        drop(p.share(i)); // pushed and released downstream
        p.mark_changed(&set(&[4..8]), 0..64);
        assert_eq!(p.acquire().unwrap(), Some(i));
        assert_eq!(p.stale(i).bands(), &[4..8]);
        assert_eq!(p.allocated(), 1);
    }

    #[test]
    fn a_held_buffer_makes_the_next_frame_use_another_that_catches_up() {
        let mut p = pool();
        let a = p.acquire().unwrap().unwrap();
        p.written(a, RowSet::new(), 0..0);
        let held_a = p.share(a).unwrap();
        assert!(p.buffer_mut(a).is_none(), "held downstream: not writable");
        p.mark_changed(&set(&[2..4]), 0..64);
        let b = p.acquire().unwrap().unwrap();
        assert_ne!(a, b);
        assert_eq!(
            p.stale(b).bands(),
            &[0..32],
            "a new buffer is stale everywhere"
        );
        p.written(b, RowSet::new(), 0..0);
        let held_b = p.share(b).unwrap();
        // a is released: it missed the change to rows 2..4 and the next one.
        drop(held_a);
        p.mark_changed(&set(&[10..12]), 0..64);
        let next = p.acquire().unwrap().unwrap();
        assert_eq!(next, a);
        assert_eq!(p.stale(a).bands(), &[2..4, 10..12]);
        drop(held_b);
    }

    #[test]
    fn idle_free_buffers_are_freed_but_not_the_last_written_or_held_ones() {
        let mut p = pool();
        let mut held = Vec::new();
        for _ in 0..3 {
            let i = p.acquire().unwrap().unwrap();
            p.written(i, RowSet::new(), 0..0);
            held.push(p.share(i).unwrap());
        }
        assert_eq!(p.allocated(), 3);
        let now = Instant::now();
        let idle = Duration::from_secs(2);
        // Recently written, or still held: nothing goes.
        assert_eq!(p.trim_idle(now, idle), 0);
        assert_eq!(p.trim_idle(now + Duration::from_secs(3), idle), 0);
        // Released downstream and idle: all but the one written last go.
        let last_written = held.pop().unwrap();
        held.clear();
        assert_eq!(p.trim_idle(now, idle), 0, "not idle yet");
        assert_eq!(p.trim_idle(now + Duration::from_secs(3), idle), 2);
        assert_eq!(p.allocated(), 1);
        // The survivor is the last written, still known as such (reused first, nothing stale).
        drop(last_written);
        assert_eq!(p.acquire().unwrap(), Some(0));
        assert!(p.stale(0).bands().is_empty());
    }

    #[test]
    fn a_lower_limit_reuses_but_does_not_grow() {
        let mut p = pool();
        let a = p.acquire_up_to(2).unwrap().unwrap();
        p.written(a, RowSet::new(), 0..0);
        let held_a = p.share(a).unwrap();
        let b = p.acquire_up_to(2).unwrap().unwrap();
        p.written(b, RowSet::new(), 0..0);
        let held_b = p.share(b).unwrap();
        assert_eq!(p.acquire_up_to(2).unwrap(), None, "two held, limit two");
        assert_eq!(p.allocated(), 2);
        drop(held_b);
        assert_eq!(p.acquire_up_to(2).unwrap(), Some(b), "a free one is reused");
        // The ordinary limit still grows the pool.
        let held_b = p.share(b).unwrap();
        assert!(p.acquire().unwrap().is_some());
        assert_eq!(p.allocated(), 3);
        drop((held_a, held_b));
    }

    #[test]
    fn rows_drawn_over_stay_stale_and_the_pool_is_bounded() {
        let mut p = pool();
        let mut held = Vec::new();
        for _ in 0..MAX_FRAMES {
            let i = p.acquire().unwrap().unwrap();
            p.written(i, set(&[6..10]), 8..24);
            held.push(p.share(i).unwrap());
        }
        assert_eq!(
            p.acquire().unwrap(),
            None,
            "every buffer held: the frame waits"
        );
        held.pop();
        let i = p.acquire().unwrap().unwrap();
        assert_eq!(
            p.stale(i).bands(),
            &[6..10],
            "the pointer's rows are refetched"
        );
        assert_eq!(p.stale_cols(i), 8..24, "in the pointer's columns");
        assert_eq!(p.allocated(), MAX_FRAMES);
    }

    #[test]
    fn stale_columns_cover_every_change_a_buffer_missed() {
        let mut p = pool();
        let a = p.acquire().unwrap().unwrap();
        assert_eq!(p.stale_cols(a), 0..64, "a new buffer fetches whole rows");
        p.written(a, RowSet::new(), 0..0);
        let held = p.share(a).unwrap();
        p.mark_changed(&set(&[4..8]), 32..48);
        let b = p.acquire().unwrap().unwrap();
        p.written(b, RowSet::new(), 0..0);
        drop(held);
        p.mark_changed(&set(&[20..22]), 0..16);
        p.mark_changed(&set(&[24..26]), 0..0); // nothing on screen
        assert_eq!(p.stale(a).bands(), &[4..8, 20..22]);
        assert_eq!(p.stale_cols(a), 0..48, "both changes' columns");
        assert_eq!(p.stale(b).bands(), &[20..22]);
        assert_eq!(p.stale_cols(b), 0..16, "only the change it missed");
        // A span joining nothing stale is itself; nothing joining stale rows keeps their span.
        assert_eq!(hull(&RowSet::new(), &(0..16), &(40..48)), 40..48);
        assert_eq!(hull(&set(&[2..4]), &(0..16), &(5..5)), 0..16);
    }
}
