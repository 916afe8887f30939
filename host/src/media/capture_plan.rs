//! The capture thread's pure decisions, apart from its I/O so they can be tested alone: when
//! the next frame is due (the frame-rate grid, the keep-alive, a new change taken half an
//! interval early) and which area a frame covers (damage clipped to the screen, its bounding
//! box, the column span fetched). docs/architecture.md, "Damage-driven capture", says how they
//! combine.

use std::time::{Duration, Instant};

use selkies_x11::frame_rows;

use super::x264::hints::Rect;

/// When a frame should next go out, given the last push, whether the screen changed since,
/// and whether frames must flow at the frame rate regardless (pointer drawn).
pub(super) fn next_push(
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

/// The time the next frame's pacing counts from, for a frame whose slot was `slot` and whose
/// capture began at `started`: the slot when the frame was taken on time (within a quarter
/// interval), so that wake-up latency does not add up and a steady scene is captured at exactly
/// the frame rate, and when it was taken early ([`early_due`]), whose capture takes the slot's
/// place; otherwise (the first change after a quiet spell, a late start) the capture's own
/// start.
pub(super) fn pacing_slot(slot: Option<Instant>, started: Instant, interval: Duration) -> Instant {
    match slot {
        Some(s) if started < s || started - s < interval / 4 => s,
        _ => started,
    }
}

/// When a new change may be captured ahead of `slot`: half an interval before it, so a change
/// outside what a moving scene keeps repainting waits a quarter interval on average instead of
/// half. Its capture takes the slot's place and the next one follows a whole interval after the
/// slot: at most one frame per slot, so the rate stays at `--framerate` over any stretch of
/// time (give or take the frame at its edge), and two frames are never closer than half an
/// interval.
pub(super) fn early_due(slot: Option<Instant>, interval: Duration) -> Option<Instant> {
    slot.map(|s| s.checked_sub(interval / 2).unwrap_or(s))
}

/// Moves the frame grid to the phase at which a steadily repainting scene (a video, a game, an
/// animation) reports its changes. The grid keeps its own phase, so a scene that repaints at the
/// frame rate a little after each capture has every repaint wait most of an interval for the
/// next slot: the moving benchmark scene waited 21–24 ms of its 33. When three frames in a row
/// were taken at their slot with a change first seen at nearly the same time before it, the grid
/// advances by that wait (less a millisecond of margin, at most half an interval, so two frames
/// are never closer than half an interval, as with a new change taken early), and slots land
/// just after the repaints. At most one advance a second: a scene painting faster than the frame
/// rate cannot pull the capture above `--framerate` by more than one frame a second.
#[derive(Debug, Default)]
pub(super) struct PhaseFollow {
    /// How long before their slots the last frames' changes were first seen, newest last.
    waits: Vec<Duration>,
    last_advance: Option<Instant>,
}

impl PhaseFollow {
    /// Waits shorter than this are not worth a shorter interval.
    const MIN_WAIT: Duration = Duration::from_millis(4);
    /// How close three waits must be to call the phase steady.
    const SPREAD: Duration = Duration::from_millis(3);
    /// The advance stops this much short of the repaint, for its jitter.
    const MARGIN: Duration = Duration::from_millis(1);
    const COOL_DOWN: Duration = Duration::from_secs(1);

    /// A frame went out at `now`. `waited` is how long before its slot the change it took was
    /// first seen, for a frame taken at its slot; None for any other frame (a keep-alive, a new
    /// change taken early, a late capture), which breaks the streak. Returns how far to move
    /// the grid back, if it should move.
    pub(super) fn frame(
        &mut self,
        waited: Option<Duration>,
        interval: Duration,
        now: Instant,
    ) -> Option<Duration> {
        let Some(w) = waited.filter(|w| *w >= Self::MIN_WAIT) else {
            self.waits.clear();
            return None;
        };
        self.waits.push(w);
        if self.waits.len() > 3 {
            self.waits.remove(0);
        }
        let (lo, hi) = (self.waits.iter().min()?, self.waits.iter().max()?);
        let steady = self.waits.len() == 3 && *hi - *lo <= Self::SPREAD;
        let cooled = self
            .last_advance
            .is_none_or(|t| now.duration_since(t) >= Self::COOL_DOWN);
        if !steady || !cooled {
            return None;
        }
        let advance = lo.saturating_sub(Self::MARGIN).min(interval / 2);
        self.waits.clear();
        self.last_advance = Some(now);
        Some(advance)
    }
}

/// Whether damage reported with the bounding box `area` reaches outside `last`, the box of the
/// damage the last frame took (both clipped to the `width` × `height` screen): a new change
/// rather than the next frame of a scene repainting the same area.
pub(super) fn is_fresh(
    area: Option<frame_rows::Rect>,
    last: Option<Rect>,
    width: u16,
    height: u16,
) -> bool {
    let Some(a) = area.and_then(|a| clip_rect(&a, width, height)) else {
        return false;
    };
    let Some(l) = last else {
        return true;
    };
    let end = |p: u16, len: u16| u32::from(p) + u32::from(len);
    a.x < l.x
        || a.y < l.y
        || end(a.x, a.width) > end(l.x, l.width)
        || end(a.y, a.height) > end(l.y, l.height)
}

/// The bounding box of `rects`; None when there are none.
pub(super) fn hull_of(rects: &[Rect]) -> Option<Rect> {
    let x0 = rects.iter().map(|r| r.x).min()?;
    let y0 = rects.iter().map(|r| r.y).min()?;
    let x1 = rects.iter().map(|r| r.x + r.width).max()?;
    let y1 = rects.iter().map(|r| r.y + r.height).max()?;
    Some(Rect {
        x: x0,
        y: y0,
        width: x1 - x0,
        height: y1 - y0,
    })
}

/// A damage rectangle clipped to the screen, in the encoder hints' terms; None when off-screen.
pub(super) fn clip_rect(r: &frame_rows::Rect, width: u16, height: u16) -> Option<Rect> {
    let x0 = i32::from(r.x).clamp(0, i32::from(width));
    let y0 = i32::from(r.y).clamp(0, i32::from(height));
    let x1 = (i32::from(r.x) + i32::from(r.width)).clamp(0, i32::from(width));
    let y1 = (i32::from(r.y) + i32::from(r.height)).clamp(0, i32::from(height));
    (x1 > x0 && y1 > y0).then(|| Rect {
        x: x0 as u16,
        y: y0 as u16,
        width: (x1 - x0) as u16,
        height: (y1 - y0) as u16,
    })
}

/// The one span of columns covering `spans` on a `width`-pixel screen, widened to 32-pixel
/// steps (the converter's vector width; subsampled formats need even edges); empty when
/// `spans` are.
pub(super) fn column_span(
    spans: impl Iterator<Item = std::ops::Range<u16>>,
    width: u16,
) -> std::ops::Range<u16> {
    let (start, end) = spans
        .filter(|s| !s.is_empty())
        .fold((u16::MAX, 0), |(a, b), s| (a.min(s.start), b.max(s.end)));
    if start >= end {
        return 0..0;
    }
    let end = (u32::from(end).div_ceil(32) * 32).min(u32::from(width)) as u16;
    (start & !31)..end
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
        let long_ago = t.checked_sub(ms(1000)).expect("a second of uptime");
        let due = next_push(Some(long_ago), true, false, ms(33), ms(250)).expect("due");
        assert!(due < t);
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
    fn the_fetched_columns_cover_every_span_in_32_pixel_steps() {
        assert_eq!(column_span([100..140, 300..301].into_iter(), 1920), 96..320);
        assert_eq!(column_span(std::iter::once(0..1), 1920), 0..32);
        assert_eq!(column_span(std::iter::once(1900..1919), 1919), 1888..1919);
        assert_eq!(column_span(std::iter::once(5..5), 1920), 0..0);
        assert_eq!(column_span(std::iter::empty(), 1920), 0..0);
    }

    #[test]
    fn pacing_counts_from_the_slot_of_a_frame_taken_on_time() {
        let interval = Duration::from_millis(40);
        let due = Instant::now();
        let late = |ms| due + Duration::from_micros(ms);
        // Woken 0.3 ms after its slot: the next frame counts from the slot, not the wake-up.
        assert_eq!(pacing_slot(Some(due), late(300), interval), due);
        // Ten such frames take exactly ten intervals.
        let mut slot = due;
        for _ in 0..10 {
            slot = pacing_slot(
                Some(slot + interval),
                slot + interval + Duration::from_micros(300),
                interval,
            );
        }
        assert_eq!(slot, due + interval * 10);
        // A change after a quiet spell (its slot long past) counts from its own capture.
        assert_eq!(pacing_slot(Some(due), late(15_000), interval), late(15_000));
        // The first frame has no slot.
        assert_eq!(pacing_slot(None, late(5), interval), late(5));
        // Taken early (a new change), the frame takes its slot's place: the next one follows a
        // whole interval after the slot, so no slot holds two frames.
        let early = early_due(Some(due), interval).unwrap();
        assert_eq!(early, due - Duration::from_millis(20));
        assert_eq!(pacing_slot(Some(due), early, interval), due);
    }

    fn rect(x: u16, y: u16, width: u16, height: u16) -> Rect {
        Rect {
            x,
            y,
            width,
            height,
        }
    }

    fn reported(x: i16, y: i16, width: u16, height: u16) -> Option<frame_rows::Rect> {
        Some(frame_rows::Rect {
            x,
            y,
            width,
            height,
        })
    }

    #[test]
    fn a_change_outside_the_last_frames_damage_is_fresh() {
        let ball = Some(rect(1500, 600, 320, 180));
        // The scene repainting its own window: not fresh, it waits for its slot.
        assert!(!is_fresh(reported(1500, 600, 320, 180), ball, 1920, 1080));
        assert!(!is_fresh(reported(1600, 650, 10, 10), ball, 1920, 1080));
        // The whole root repainted, or a change elsewhere: fresh.
        assert!(is_fresh(reported(0, 0, 1920, 1080), ball, 1920, 1080));
        assert!(is_fresh(reported(40, 40, 8, 16), ball, 1920, 1080));
        assert!(is_fresh(reported(1500, 600, 321, 180), ball, 1920, 1080));
        // Off-screen damage is nothing; with no earlier frame any change is fresh.
        assert!(!is_fresh(reported(-50, -50, 20, 20), None, 1920, 1080));
        assert!(is_fresh(reported(10, 10, 1, 1), None, 1920, 1080));
        assert!(!is_fresh(None, None, 1920, 1080));
        // Clipped to the screen before the comparison.
        let full = Some(rect(0, 0, 1920, 1080));
        assert!(!is_fresh(reported(-10, -10, 4000, 4000), full, 1920, 1080));
    }

    #[test]
    fn a_steady_repaint_phase_moves_the_grid_to_it() {
        let t = Instant::now();
        let interval = ms(33);
        let mut f = PhaseFollow::default();
        // The benchmark scene: each repaint first seen ~22 ms before its slot.
        assert_eq!(f.frame(Some(ms(22)), interval, t), None);
        assert_eq!(f.frame(Some(ms(21)), interval, t + ms(33)), None);
        // Third in a row, within 3 ms: advance by the shortest wait less the margin, capped at
        // half an interval.
        assert_eq!(
            f.frame(Some(ms(23)), interval, t + ms(66)),
            Some(ms(33) / 2)
        );
        // The remaining wait (~5 ms) is steady too, but not before a second has passed.
        for i in 3..33 {
            assert_eq!(
                f.frame(Some(ms(5)), interval, t + ms(33 * i)),
                None,
                "frame {i}"
            );
        }
        assert_eq!(f.frame(Some(ms(5)), interval, t + ms(33 * 33)), Some(ms(4)));
    }

    #[test]
    fn scattered_changes_and_short_waits_leave_the_grid_alone() {
        let t = Instant::now();
        let interval = ms(33);
        let mut f = PhaseFollow::default();
        // Typing: changes first seen at scattered times before their slots.
        for (i, w) in [20, 5, 14, 28, 9, 17].iter().enumerate() {
            assert_eq!(f.frame(Some(ms(*w)), interval, t + ms(33 * i as u64)), None);
        }
        // A scene already in phase waits less than the minimum.
        for i in 0..10 {
            assert_eq!(f.frame(Some(ms(2)), interval, t + ms(33 * i)), None);
        }
        // A keep-alive (or an early frame) in between breaks a streak.
        assert_eq!(f.frame(Some(ms(20)), interval, t), None);
        assert_eq!(f.frame(Some(ms(20)), interval, t + ms(33)), None);
        assert_eq!(f.frame(None, interval, t + ms(66)), None);
        assert_eq!(f.frame(Some(ms(20)), interval, t + ms(99)), None);
    }

    #[test]
    fn the_hull_bounds_every_rectangle() {
        assert_eq!(hull_of(&[]), None);
        assert_eq!(
            hull_of(&[rect(10, 20, 5, 5), rect(100, 0, 20, 10)]),
            Some(rect(10, 0, 110, 25))
        );
    }
}
