//! Sets of screen rows as sorted, disjoint bands: which rows of a pooled frame are stale (the
//! screen changed there since the frame was last written, or the pointer was drawn into it), and
//! the even-row alignment 4:2:0 conversion needs. Pure; used by the host's capture frame pool.

use std::ops::Range;

/// Rows of one frame, kept as sorted, disjoint, non-adjacent bands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowSet {
    bands: Vec<Range<u16>>,
}

impl RowSet {
    /// No rows.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every row of a `height`-row frame.
    pub fn all(height: u16) -> Self {
        let mut set = Self::new();
        set.add(0..height);
        set
    }

    /// Whether no row is in the set.
    pub fn is_empty(&self) -> bool {
        self.bands.is_empty()
    }

    /// The bands, top to bottom.
    pub fn bands(&self) -> &[Range<u16>] {
        &self.bands
    }

    /// Number of rows in the set.
    pub fn rows(&self) -> usize {
        self.bands
            .iter()
            .map(|b| usize::from(b.end - b.start))
            .sum()
    }

    /// Add `band`'s rows, joining bands that overlap or touch.
    pub fn add(&mut self, band: Range<u16>) {
        if band.start >= band.end {
            return;
        }
        let mut merged = band;
        let mut out = Vec::with_capacity(self.bands.len() + 1);
        let mut placed = false;
        for b in self.bands.drain(..) {
            if b.end < merged.start {
                out.push(b);
            } else if b.start > merged.end {
                if !placed {
                    out.push(merged.clone());
                    placed = true;
                }
                out.push(b);
            } else {
                merged = merged.start.min(b.start)..merged.end.max(b.end);
            }
        }
        if !placed {
            out.push(merged);
        }
        self.bands = out;
    }

    /// Add every band of `other`.
    pub fn extend(&mut self, other: &RowSet) {
        for b in &other.bands {
            self.add(b.clone());
        }
    }

    /// Empty the set.
    pub fn clear(&mut self) {
        self.bands.clear();
    }
}

/// `bands` widened to start on an even row and end on an even row (or the frame's last row),
/// clipped to `height`, re-merged: the bands 4:2:0 conversion can work on, since each chroma
/// row comes from a pair of rows.
pub fn align_even(bands: &[Range<u16>], height: u16) -> RowSet {
    let mut set = RowSet::new();
    for b in bands {
        let start = b.start & !1;
        let end = (b.end.saturating_add(1) & !1).min(height);
        set.add(start.min(height)..end);
    }
    set
}

/// `band` cut into pieces of at most `max_rows` rows (an even number when `max_rows` is even,
/// so 4:2:0 pieces stay aligned): what fits the shared segment at a time.
pub fn chunks(band: Range<u16>, max_rows: u16) -> impl Iterator<Item = Range<u16>> {
    let step = max_rows.max(1);
    let end = band.end;
    (band.start..band.end)
        .step_by(usize::from(step))
        .map(move |s| s..s.saturating_add(step).min(end))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::single_range_in_vec_init)] // one-band sets are what is tested
    use super::*;

    #[test]
    fn adding_merges_overlapping_and_touching_bands() {
        let mut s = RowSet::new();
        s.add(10..20);
        s.add(30..40);
        s.add(0..2);
        assert_eq!(s.bands(), &[0..2, 10..20, 30..40]);
        s.add(20..22);
        assert_eq!(s.bands(), &[0..2, 10..22, 30..40]);
        s.add(15..35);
        assert_eq!(s.bands(), &[0..2, 10..40]);
        s.add(5..5);
        assert_eq!(s.rows(), 32);
        s.add(1..100);
        assert_eq!(s.bands(), &[0..100]);
        s.clear();
        assert!(s.is_empty());
    }

    #[test]
    fn extend_unions_two_sets() {
        let mut a = RowSet::new();
        a.add(0..4);
        let mut b = RowSet::all(10);
        b.extend(&a);
        assert_eq!(b.bands(), &[0..10]);
        let mut c = RowSet::new();
        c.add(50..60);
        a.extend(&c);
        assert_eq!(a.bands(), &[0..4, 50..60]);
    }

    #[test]
    fn alignment_widens_to_row_pairs_and_clips_to_the_frame() {
        assert_eq!(align_even(&[3..4], 1080).bands(), &[2..4]);
        assert_eq!(align_even(&[3..6, 7..8], 1080).bands(), &[2..8]);
        assert_eq!(
            align_even(&[0..1, 1079..1080], 1080).bands(),
            &[0..2, 1078..1080]
        );
        // Odd height: the last band may end on the last row.
        assert_eq!(align_even(&[1077..1079], 1079).bands(), &[1076..1079]);
        assert!(align_even(&[2000..2010], 1080).is_empty());
        for b in align_even(&[1..2, 9..12, 500..777], 1080).bands() {
            assert_eq!(b.start % 2, 0);
            assert_eq!(b.end % 2, 0);
        }
    }

    #[test]
    fn chunks_cover_the_band_in_even_pieces() {
        let pieces: Vec<_> = chunks(0..1080, 256).collect();
        assert_eq!(
            pieces,
            vec![0..256, 256..512, 512..768, 768..1024, 1024..1080]
        );
        let pieces: Vec<_> = chunks(10..15, 256).collect();
        assert_eq!(pieces, vec![10..15]);
        assert_eq!(chunks(4..4, 8).count(), 0);
    }
}
