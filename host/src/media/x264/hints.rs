//! What the encoder knows about each frame before encoding it: which macroblocks changed since
//! the previous encoded frame (from the capture's X damage), and the QP each macroblock was last
//! coded at. Pure; used by the encoder element (`element.rs`).
//!
//! The capture records the damage of every frame it pushes under the frame's sequence number
//! (the buffer offset). The encoder asks for the damage since the last frame it encoded: a
//! frame dropped on the way (the leaky queue in front of the encoder, the rate control's own
//! skips) is covered by the union, and when a frame in between is no longer known, nothing is
//! hinted for that frame (every macroblock is analysed, as x264enc does).
//!
//! x264 trusts an "unchanged" hint only where its reference was coded at a QP no worse than
//! the current frame's, so a region coded coarsely during motion is coded again once the rate
//! control can afford a finer QP. [`MbQp`] mirrors that bookkeeping, so the host knows whether
//! a static screen has converged to its best quality or still needs a refining frame
//! (docs/architecture.md, "Own H.264 encoder").

use std::collections::VecDeque;

/// A damaged rectangle in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    pub x: u16,
    pub y: u16,
    pub width: u16,
    pub height: u16,
}

impl From<selkies_x11::block_map::BlockRun> for Rect {
    fn from(r: selkies_x11::block_map::BlockRun) -> Self {
        Self {
            x: r.x,
            y: r.y,
            width: r.width,
            height: r.height,
        }
    }
}

/// How one frame differs from the frame pushed before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Damage {
    /// Only these rectangles changed (none: a repeat of the previous frame).
    Rects(Vec<Rect>),
    /// Unknown or everything: analyse the whole frame.
    All,
}

impl Damage {
    fn extend(&mut self, other: &Damage) {
        match (&mut *self, other) {
            (Damage::All, _) => {}
            (_, Damage::All) => *self = Damage::All,
            (Damage::Rects(a), Damage::Rects(b)) => a.extend_from_slice(b),
        }
    }
}

/// Frames the log remembers: more than the pipeline holds between capture and encoder.
const LOG_FRAMES: usize = 32;
/// Rectangles a frame keeps before it counts as [`Damage::All`] (a damage storm).
const MAX_RECTS: usize = 256;

/// The damage of recently pushed frames, by sequence number.
#[derive(Debug, Default)]
pub struct DamageLog {
    frames: VecDeque<(u64, Damage)>,
}

impl DamageLog {
    /// Record frame `sequence`'s damage (sequences only grow; a smaller one restarts the log).
    pub fn record(&mut self, sequence: u64, mut damage: Damage) {
        if self.frames.back().is_some_and(|(s, _)| *s >= sequence) {
            self.frames.clear();
        }
        if matches!(&damage, Damage::Rects(r) if r.len() > MAX_RECTS) {
            damage = Damage::All;
        }
        if self.frames.len() == LOG_FRAMES {
            self.frames.pop_front();
        }
        self.frames.push_back((sequence, damage));
    }

    /// The union of the damage of frames `after + 1 ..= upto`; None when one of them is not
    /// in the log (then nothing is known about what changed).
    pub fn since(&self, after: u64, upto: u64) -> Option<Damage> {
        if upto <= after {
            return None;
        }
        let mut union = Damage::Rects(Vec::new());
        let mut next = after + 1;
        for (seq, damage) in &self.frames {
            if *seq < next {
                continue;
            }
            if *seq != next || *seq > upto {
                break;
            }
            union.extend(damage);
            next += 1;
        }
        (next == upto + 1).then_some(union)
    }
}

/// The macroblock grid of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grid {
    pub columns: usize,
    pub rows: usize,
}

impl Grid {
    /// The grid of a `width`×`height` frame (16×16 macroblocks).
    pub fn of(width: usize, height: usize) -> Self {
        Self {
            columns: width.div_ceil(16),
            rows: height.div_ceil(16),
        }
    }

    pub fn len(&self) -> usize {
        self.columns * self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One flag per macroblock: true where `damage` touches it.
    pub fn changed(&self, damage: &Damage) -> Vec<bool> {
        let Damage::Rects(rects) = damage else {
            return vec![true; self.len()];
        };
        let mut map = vec![false; self.len()];
        for r in rects.iter().filter(|r| r.width > 0 && r.height > 0) {
            let c0 = usize::from(r.x) / 16;
            let r0 = usize::from(r.y) / 16;
            let c1 = (usize::from(r.x) + usize::from(r.width))
                .div_ceil(16)
                .min(self.columns);
            let r1 = (usize::from(r.y) + usize::from(r.height))
                .div_ceil(16)
                .min(self.rows);
            for row in r0..r1 {
                map[row * self.columns + c0.min(c1)..row * self.columns + c1].fill(true);
            }
        }
        map
    }
}

/// The QP each macroblock was last coded at, as x264 keeps it for its "unchanged" hints.
#[derive(Debug, Clone)]
pub struct MbQp {
    qp: Vec<u8>,
    /// The QP of the last refining frame (one without change) since the last change.
    refined_at: Option<u8>,
    /// A refining frame got no finer than the one before it: the bitrate allows no better.
    stuck: bool,
}

impl MbQp {
    /// A grid of `len` macroblocks, none coded yet (worst QP).
    pub fn new(len: usize) -> Self {
        Self {
            qp: vec![u8::MAX; len],
            refined_at: None,
            stuck: false,
        }
    }

    /// Macroblocks x264 will analyse in a frame at `qp`: the changed ones, and those last
    /// coded at a worse QP (their hint is not trusted). The tests' plain statement of what
    /// [`Self::to_code_by_qp`] computes for every QP at once.
    #[cfg(test)]
    pub fn to_code(&self, changed: &[bool], qp: u8) -> u32 {
        let n = self
            .qp
            .iter()
            .zip(changed)
            .filter(|(q, c)| **c || **q > qp)
            .count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// Macroblocks x264 will analyse in a frame at each QP (index: the QP): the changed ones,
    /// and those last coded at a worse QP (x264 does not trust their hint); for the rate
    /// control's search.
    pub fn to_code_by_qp(&self, changed: &[bool]) -> Vec<u32> {
        let mut at = vec![0u32; 256];
        let mut always = 0u32;
        for (q, c) in self.qp.iter().zip(changed) {
            if *c {
                always += 1;
            } else if *q > 0 {
                // Coded again by every frame finer than `q`.
                at[usize::from(*q - 1)] += 1;
            }
        }
        let mut coarser = 0u32;
        for n in at.iter_mut().rev() {
            coarser += *n;
            *n = always + coarser;
        }
        at
    }

    /// The frame with these `changed` macroblocks was coded at `qp` (an IDR: all of them).
    pub fn coded(&mut self, changed: &[bool], qp: u8) {
        let any_change = changed.iter().any(|c| *c);
        for (q, c) in self.qp.iter_mut().zip(changed) {
            if *c || *q > qp {
                *q = qp;
            }
        }
        if any_change {
            self.refined_at = None;
            self.stuck = false;
        } else {
            self.stuck = self.refined_at.is_some_and(|before| qp >= before);
            self.refined_at = Some(self.refined_at.map_or(qp, |before| before.min(qp)));
        }
    }

    /// Whether another frame would not make the screen better: every macroblock was coded at
    /// `goal` or finer, or the last refining frame got no finer than the one before it.
    pub fn settled(&self, goal: u8) -> bool {
        self.stuck || self.worst() <= goal
    }

    /// The worst QP any macroblock was last coded at (`u8::MAX` before the first frame).
    pub fn worst(&self) -> u8 {
        self.qp.iter().copied().max().unwrap_or(0)
    }
}

/// The `mb_info` map for x264: unchanged macroblocks flagged constant.
pub fn mb_info(changed: &[bool], constant: u8) -> Vec<u8> {
    changed
        .iter()
        .map(|c| if *c { 0 } else { constant })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rect(x: u16, y: u16, width: u16, height: u16) -> Rect {
        Rect {
            x,
            y,
            width,
            height,
        }
    }

    #[test]
    fn damage_marks_the_macroblocks_it_touches() {
        let g = Grid::of(64, 48); // 4 × 3
        let map = g.changed(&Damage::Rects(vec![rect(15, 16, 2, 1)]));
        let set: Vec<usize> = (0..g.len()).filter(|i| map[*i]).collect();
        assert_eq!(set, [4, 5]);
        assert!(g.changed(&Damage::All).iter().all(|c| *c));
        assert!(!g.changed(&Damage::Rects(vec![])).iter().any(|c| *c));
        // Rectangles running off the frame are clipped, empty ones ignored.
        let map = g.changed(&Damage::Rects(vec![
            rect(60, 40, 500, 500),
            rect(0, 0, 0, 9),
        ]));
        assert_eq!((0..g.len()).filter(|i| map[*i]).collect::<Vec<_>>(), [11]);
    }

    #[test]
    fn a_1080p_frame_has_a_partial_last_macroblock_row() {
        let g = Grid::of(1920, 1080);
        assert_eq!((g.columns, g.rows), (120, 68));
        let map = g.changed(&Damage::Rects(vec![rect(0, 1079, 1920, 1)]));
        assert_eq!(map.iter().filter(|c| **c).count(), 120);
    }

    #[test]
    fn the_log_unions_the_frames_since_the_last_encoded_one() {
        let mut log = DamageLog::default();
        log.record(1, Damage::Rects(vec![rect(0, 0, 1, 1)]));
        log.record(2, Damage::Rects(vec![]));
        log.record(3, Damage::Rects(vec![rect(5, 5, 1, 1)]));
        assert_eq!(log.since(1, 3), Some(Damage::Rects(vec![rect(5, 5, 1, 1)])));
        assert_eq!(log.since(2, 3), Some(Damage::Rects(vec![rect(5, 5, 1, 1)])));
        assert_eq!(log.since(0, 2), Some(Damage::Rects(vec![rect(0, 0, 1, 1)])));
        // Unknown frames in between, or nothing new: no hints.
        assert_eq!(log.since(0, 4), None);
        assert_eq!(log.since(3, 3), None);
        log.record(4, Damage::All);
        assert_eq!(log.since(2, 4), Some(Damage::All));
    }

    #[test]
    fn the_log_forgets_old_frames_and_restarts_on_a_new_count() {
        let mut log = DamageLog::default();
        for s in 0..100 {
            log.record(s, Damage::Rects(vec![]));
        }
        assert_eq!(log.since(50, 99), None);
        assert!(log.since(80, 99).is_some());
        log.record(0, Damage::Rects(vec![]));
        assert_eq!(log.since(98, 99), None);
    }

    #[test]
    fn a_damage_storm_counts_as_everything() {
        let mut log = DamageLog::default();
        log.record(1, Damage::Rects(vec![rect(0, 0, 1, 1); MAX_RECTS + 1]));
        assert_eq!(log.since(0, 1), Some(Damage::All));
    }

    #[test]
    fn coarse_macroblocks_are_coded_again_at_a_finer_qp_until_settled() {
        let mut mb = MbQp::new(4);
        let all = [true; 4];
        let none = [false; 4];
        assert_eq!(mb.to_code(&none, 30), 4, "nothing coded yet");
        mb.coded(&all, 40);
        assert!(!mb.settled(18));
        assert_eq!(mb.to_code(&none, 40), 0, "same QP: hints trusted");
        assert_eq!(mb.to_code(&none, 30), 4, "finer QP: coded again");
        let part = [true, false, false, false];
        let by_qp = mb.to_code_by_qp(&part);
        for qp in [0u8, 30, 39, 40, 41, 200] {
            assert_eq!(by_qp[usize::from(qp)], mb.to_code(&part, qp), "QP {qp}");
        }
        // Refining frames get finer while the budget allows, then stop: settled there.
        mb.coded(&none, 30);
        assert_eq!(mb.worst(), 30);
        assert!(!mb.settled(18), "the next one may get finer still");
        mb.coded(&none, 26);
        assert!(!mb.settled(18));
        mb.coded(&none, 26);
        assert!(mb.settled(18), "no finer than the one before");
        // A change elsewhere: unsettled again until refined to the goal.
        mb.coded(&[true, false, false, false], 35);
        assert!(!mb.settled(18));
        mb.coded(&none, 18);
        assert!(mb.settled(18));
        assert_eq!(mb.worst(), 18);
    }

    #[test]
    fn mb_info_flags_unchanged_macroblocks() {
        assert_eq!(mb_info(&[true, false], 1), [0, 1]);
    }
}
