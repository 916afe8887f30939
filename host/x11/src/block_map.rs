//! One flag per 16×16 block (the encoder's macroblock) of a frame: which blocks the capture
//! found changed since the last pushed frame ([`crate::block_diff`]), and the same as runs of
//! pixels for the encoder's hints. Pure.

/// Pixels on a side of one block (an H.264 macroblock).
pub const BLOCK: usize = 16;

/// One flag per 16×16 block of a frame: changed since the frame was last written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockMap {
    pub(crate) width: usize,
    pub(crate) height: usize,
    columns: usize,
    changed: Vec<bool>,
}

/// A changed run of blocks in pixels, clipped to the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockRun {
    /// Left edge (a multiple of [`BLOCK`]).
    pub x: u16,
    /// Top edge (a multiple of [`BLOCK`]).
    pub y: u16,
    /// Width in pixels.
    pub width: u16,
    /// Height in pixels (at most [`BLOCK`]).
    pub height: u16,
}

impl BlockMap {
    /// No block changed, for a `width`×`height` frame.
    pub fn new(width: u16, height: u16) -> Self {
        let (width, height) = (usize::from(width), usize::from(height));
        let columns = width.div_ceil(BLOCK);
        Self {
            width,
            height,
            columns,
            changed: vec![false; columns * height.div_ceil(BLOCK)],
        }
    }

    /// Forget every mark.
    pub fn clear(&mut self) {
        self.changed.fill(false);
    }

    /// Whether any block changed.
    pub fn any(&self) -> bool {
        self.changed.contains(&true)
    }

    /// Blocks marked changed.
    pub fn count(&self) -> usize {
        self.changed.iter().filter(|c| **c).count()
    }

    /// Whether block (`column`, `row`) changed.
    pub fn is_changed(&self, column: usize, row: usize) -> bool {
        column < self.columns && self.changed.get(row * self.columns + column) == Some(&true)
    }

    /// The changed blocks as horizontal runs, one block row at a time, top to bottom.
    pub fn runs(&self) -> Vec<BlockRun> {
        let mut out = Vec::new();
        for (row, flags) in self.changed.chunks(self.columns.max(1)).enumerate() {
            let mut c = 0;
            while c < flags.len() {
                if !flags[c] {
                    c += 1;
                    continue;
                }
                let start = c;
                while c < flags.len() && flags[c] {
                    c += 1;
                }
                let (x, y) = (start * BLOCK, row * BLOCK);
                out.push(BlockRun {
                    x: clamp16(x),
                    y: clamp16(y),
                    width: clamp16((c * BLOCK).min(self.width) - x),
                    height: clamp16((y + BLOCK).min(self.height) - y),
                });
            }
        }
        out
    }

    /// The flags of block row `row` (empty past the frame).
    pub(crate) fn row_mut(&mut self, row: usize) -> &mut [bool] {
        let start = (row * self.columns).min(self.changed.len());
        let end = (start + self.columns).min(self.changed.len());
        &mut self.changed[start..end]
    }
}

fn clamp16(n: usize) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_join_neighbouring_blocks_of_a_row() {
        let mut map = BlockMap::new(64, 32);
        for (c, r) in [(0, 0), (1, 0), (3, 0), (2, 1)] {
            map.row_mut(r)[c] = true;
        }
        let runs: Vec<(u16, u16, u16, u16)> = map
            .runs()
            .iter()
            .map(|r| (r.x, r.y, r.width, r.height))
            .collect();
        assert_eq!(runs, [(0, 0, 32, 16), (48, 0, 16, 16), (32, 16, 16, 16)]);
        map.clear();
        assert!(map.runs().is_empty());
    }
}
