//! Which row pairs of a fetched band hold the same BGRx pixels as the frame was last given for
//! them, so their conversion can be skipped. Pure; used by [`crate::block_diff`].
//!
//! A window repainted whole every frame (a player, a game, a browser tile) is fetched whole
//! every frame, and converting it costs more than hashing it: for the moving 1280×720 scene
//! only the ~40 rows around the ball change, so the other ~680 rows need no conversion and no
//! comparison. Rows go in pairs because 4:2:0 chroma is made from two rows. The hashes are
//! 64-bit XXH3: the chance that a changed pair hashes alike is 2⁻⁶⁴ per pair, i.e. never in
//! practice, and such a pair would only stay stale until its next change.
//!
//! A hash describes what the frame holds only while the caller keeps writing the same frame:
//! it [`RowHashes::forget`]s them when it writes another buffer, when a conversion fails, and
//! when the span of columns changes.

use std::ops::Range;

/// A remembered hash that cannot match (XXH3 gives 0 to one input in 2⁶⁴: that pair is then
/// converted every time, which is merely slower).
const UNKNOWN: u64 = 0;

/// The hash of each row pair as last converted into the frame, over one span of columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowHashes {
    cols: Range<u16>,
    pairs: Vec<u64>,
}

impl RowHashes {
    /// Nothing known, for a frame `height` rows high.
    pub fn new(height: u16) -> Self {
        Self {
            cols: 0..0,
            pairs: vec![UNKNOWN; usize::from(height).div_ceil(2)],
        }
    }

    /// Forget every hash: the frame may no longer hold what they describe.
    pub fn forget(&mut self) {
        self.pairs.fill(UNKNOWN);
    }

    /// For the pairs of `rows` (an even start; `src` holds exactly those rows of the columns
    /// `cols`, 4 bytes a pixel), whether each holds what was last remembered for it; remembers
    /// the new hashes (the caller converts the pairs that differ). A span of columns other than
    /// the one remembered, or rows that do not fit, match nothing.
    pub fn check(&mut self, src: &[u8], rows: Range<u16>, cols: Range<u16>) -> Vec<bool> {
        if cols != self.cols {
            self.forget();
            self.cols = cols.clone();
        }
        let stride = usize::from(cols.end.saturating_sub(cols.start)) * 4;
        let first = usize::from(rows.start) / 2;
        let count = usize::from(rows.end.saturating_sub(rows.start)).div_ceil(2);
        let mut same = Vec::with_capacity(count);
        for k in 0..count {
            let start = 2 * k * stride;
            let end = (start + 2 * stride).min(usize::from(rows.end - rows.start) * stride);
            let (Some(pixels), Some(slot)) = (src.get(start..end), self.pairs.get_mut(first + k))
            else {
                same.push(false);
                continue;
            };
            let hash = xxhash_rust::xxh3::xxh3_64(pixels);
            same.push(hash == *slot && hash != UNKNOWN);
            *slot = hash;
        }
        same
    }
}

/// The runs of `false` in `same` as row ranges of a band starting at `start` and ending at
/// `end` (pairs of rows; the last may be one row).
pub fn changed_runs(same: &[bool], start: u16, end: u16) -> Vec<Range<u16>> {
    let mut runs = Vec::new();
    let mut k = 0;
    while k < same.len() {
        if same[k] {
            k += 1;
            continue;
        }
        let from = k;
        while k < same.len() && !same[k] {
            k += 1;
        }
        let a = start.saturating_add(u16::try_from(2 * from).unwrap_or(u16::MAX));
        let b = start.saturating_add(u16::try_from(2 * k).unwrap_or(u16::MAX));
        runs.push(a.min(end)..b.min(end));
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(w: usize, values: &[u8]) -> Vec<u8> {
        values.iter().flat_map(|v| vec![*v; w * 4]).collect()
    }

    #[test]
    fn a_pair_matches_only_what_was_remembered_for_it() {
        let mut h = RowHashes::new(8);
        let band = rows(4, &[1, 2, 3, 4, 5, 6]);
        // Nothing known yet.
        assert_eq!(h.check(&band, 2..8, 0..4), [false, false, false]);
        assert_eq!(h.check(&band, 2..8, 0..4), [true, true, true]);
        // One row of the middle pair changes.
        let band = rows(4, &[1, 2, 9, 4, 5, 6]);
        assert_eq!(h.check(&band, 2..8, 0..4), [true, false, true]);
        assert_eq!(h.check(&band, 2..8, 0..4), [true, true, true]);
        // A part of the band alone.
        assert_eq!(h.check(&band[..2 * 16], 2..4, 0..4), [true]);
    }

    #[test]
    fn another_span_or_forgetting_matches_nothing() {
        let mut h = RowHashes::new(4);
        let band = rows(4, &[1, 2, 3, 4]);
        h.check(&band, 0..4, 0..4);
        assert_eq!(h.check(&band, 0..4, 2..6), [false, false]);
        h.forget();
        assert_eq!(h.check(&band, 0..4, 2..6), [false, false]);
    }

    #[test]
    fn an_odd_last_row_is_a_pair_of_its_own() {
        let mut h = RowHashes::new(5);
        let band = rows(2, &[1, 2, 3, 4, 5]);
        assert_eq!(h.check(&band, 0..5, 0..2), [false; 3]);
        assert_eq!(h.check(&band, 0..5, 0..2), [true; 3]);
        let band = rows(2, &[1, 2, 3, 4, 6]);
        assert_eq!(h.check(&band, 0..5, 0..2), [true, true, false]);
        // Rows past the frame or a short source match nothing and do not panic.
        assert_eq!(h.check(&band, 4..8, 0..2), [false, false]);
        assert_eq!(h.check(&band[..16], 0..4, 0..2), [true, false]);
    }

    #[test]
    fn runs_of_changed_pairs_become_row_ranges() {
        assert_eq!(
            changed_runs(&[true, false, false, true, false], 10, 19),
            [12..16, 18..19]
        );
        assert!(changed_runs(&[true, true], 0, 4).is_empty());
        assert_eq!(changed_runs(&[false], 4, 6), vec![4..6]);
    }
}
