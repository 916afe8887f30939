//! Which 16×16 blocks (the encoder's macroblocks) of a frame really changed when a damaged band
//! was fetched again. Pure; used by the host's capture thread.
//!
//! X damage says where a client drew, not whether the pixels differ: a video player or a game
//! puts its whole window every frame, a browser repaints whole tiles, a terminal redraws lines
//! that read the same. An encoder told that a whole 1280×720 window changed analyses its 3,600
//! macroblocks although only a ball moved in it. So a band is converted into a scratch buffer
//! first and compared with the frame it updates, a pixel row at a time: an equal row is not
//! copied at all, and a different one marks the blocks its differing pieces fall in. Once every
//! block a row crosses is marked, the rest of that block row is copied without comparing, so a
//! full-screen change costs one comparison per block row, not one per pixel row.
//! The comparison is in the encoder's format, so a change the conversion cannot see (a
//! colour that rounds to the same YUV) is no change for the encoder either
//! (docs/architecture.md, "Damage-driven capture").

use std::ops::Range;

pub use crate::block_map::{BLOCK, BlockMap, BlockRun};
use crate::row_hash::{self, RowHashes};
use crate::yuv::{BandConverter, ConvertError, FrameFormat, FrameLayout, Matrix, band_fits};

/// One plane of a band: its rows and bytes in the plane, and how many of each make a block.
struct PlaneSpan {
    plane: usize,
    rows: Range<usize>,
    bytes: Range<usize>,
    block_rows: usize,
    block_bytes: usize,
}

/// The planes `rows` × `cols` covers in a frame of `format` (chroma rows and bytes halved
/// where the format subsamples them; the last row or column of an odd frame rounds up).
fn plane_spans(format: FrameFormat, rows: &Range<u16>, cols: &Range<u16>) -> Vec<PlaneSpan> {
    let (r0, r1) = (usize::from(rows.start), usize::from(rows.end));
    let (x0, x1) = (usize::from(cols.start), usize::from(cols.end));
    let px = if format == FrameFormat::Bgrx { 4 } else { 1 };
    let luma = PlaneSpan {
        plane: 0,
        rows: r0..r1,
        bytes: x0 * px..x1 * px,
        block_rows: BLOCK,
        block_bytes: BLOCK * px,
    };
    let chroma = |plane, bytes, block_bytes| PlaneSpan {
        plane,
        rows: r0 / 2..r1.div_ceil(2),
        bytes,
        block_rows: BLOCK / 2,
        block_bytes,
    };
    match format {
        FrameFormat::Bgrx => vec![luma],
        // NV12 interleaves U and V: a pixel pair's chroma takes two bytes, as its luma does.
        FrameFormat::Nv12 => vec![luma, chroma(1, x0..x1.div_ceil(2) * 2, BLOCK)],
        FrameFormat::I420 => {
            let half = x0 / 2..x1.div_ceil(2);
            vec![
                luma,
                chroma(1, half.clone(), BLOCK / 2),
                chroma(2, half, BLOCK / 2),
            ]
        }
    }
}

/// What a band is compared with: the frame pushed last, wherever it is.
#[derive(Debug, Clone, Copy)]
pub enum Reference<'a> {
    /// The frame being written holds it (outside the rows fetched anew, and in them until they
    /// are written): rows are compared in place, and row pairs whose pixels hash as they did
    /// when last converted into it are skipped ([`crate::row_hash`]).
    InPlace,
    /// Another buffer holds it, read only: every row of the band is written.
    Other(&'a [u8]),
    /// Nothing is known: every row is written, and the marks say nothing.
    Unknown,
}

/// Converts BGRx bands like [`BandConverter`], but through a scratch buffer, writing only the
/// rows that differ from the frame and marking the blocks they differ in.
#[derive(Debug)]
pub struct DiffConverter {
    layout: FrameLayout,
    matrix: Matrix,
    scratch: Vec<u8>,
    hashes: RowHashes,
    /// Whether this frame's rows are hashed (see [`Self::begin_frame`]).
    hashing: bool,
    /// Whether a hashed pair of this frame matched.
    matched: bool,
    /// Hashed frames in a row in which no pair matched.
    misses: u32,
    /// Frames begun, for the periodic probe.
    frames: u32,
}

/// Hashed frames without a single unchanged pair after which hashing pauses: content that
/// changes everywhere (a game, a video in full screen) would pay for hashes it never uses.
const MISSES_BEFORE_PAUSE: u32 = 2;
/// While paused, two frames in every this many are hashed to notice when rows stay alike again.
const PROBE_EVERY: u32 = 8;

impl DiffConverter {
    /// A converter into `layout` frames with `matrix` (ignored for BGRx).
    pub fn new(layout: FrameLayout, matrix: Matrix) -> Self {
        let height = u16::try_from(layout.height).unwrap_or(u16::MAX);
        Self {
            layout,
            matrix,
            scratch: Vec::new(),
            hashes: RowHashes::new(height),
            // The first frame begun starts hashing without counting a miss.
            hashing: false,
            matched: false,
            misses: 0,
            frames: 0,
        }
    }

    /// A new frame is about to be written against `reference`: the row hashes describe the
    /// frame only while the same buffer is written in place. Hashing pauses after
    /// [`MISSES_BEFORE_PAUSE`] frames in which no pair matched, except for two probing frames
    /// in every [`PROBE_EVERY`] (a pair can only match in the second of two hashed frames).
    pub fn begin_frame(&mut self, reference: &Reference<'_>) {
        if self.hashing {
            self.misses = if self.matched { 0 } else { self.misses + 1 };
        }
        self.frames = self.frames.wrapping_add(1);
        self.hashing = self.misses < MISSES_BEFORE_PAUSE || self.frames % PROBE_EVERY < 2;
        self.matched = false;
        if !self.hashing || !matches!(reference, Reference::InPlace) {
            self.hashes.forget();
        }
    }

    /// The frame layout.
    pub fn layout(&self) -> &FrameLayout {
        &self.layout
    }

    /// Convert `rows` × `cols` of BGRx pixels (`src`, stride 4 × `cols.len()`) into `frame`,
    /// as [`BandConverter::convert_cols`] does, and mark in `map` the blocks where the result
    /// differs from the `reference`. Pixels outside the band are not touched.
    pub fn convert_cols(
        &mut self,
        src: &[u8],
        rows: Range<u16>,
        cols: Range<u16>,
        frame: &mut [u8],
        reference: Reference<'_>,
        map: &mut BlockMap,
    ) -> Result<(), ConvertError> {
        let result = match reference {
            Reference::InPlace if self.hashing && rows.start.is_multiple_of(2) => {
                let same = self.hashes.check(src, rows.clone(), cols.clone());
                self.matched |= same.contains(&true);
                let stride = usize::from(cols.end.saturating_sub(cols.start)) * 4;
                let mut result = Ok(());
                for run in row_hash::changed_runs(&same, rows.start, rows.end) {
                    let a = usize::from(run.start - rows.start) * stride;
                    let b = usize::from(run.end - rows.start) * stride;
                    result = match src.get(a..b) {
                        Some(part) => self.convert_band(part, run, cols.clone(), frame, None, map),
                        None => Err(ConvertError::misfit(&self.layout, &rows, frame.len())),
                    };
                    if result.is_err() {
                        break;
                    }
                }
                result
            }
            Reference::InPlace | Reference::Unknown => {
                if self.hashing {
                    self.hashes.check(src, rows.clone(), cols.clone());
                }
                self.convert_band(src, rows, cols, frame, None, map)
            }
            Reference::Other(old) => {
                if self.hashing {
                    self.hashes.check(src, rows.clone(), cols.clone());
                }
                self.convert_band(src, rows, cols, frame, Some(old), map)
            }
        };
        if result.is_err() {
            self.hashes.forget();
        }
        result
    }

    /// [`Self::convert_cols`] without the row hashes: compared with `reference`, or in place.
    fn convert_band(
        &mut self,
        src: &[u8],
        rows: Range<u16>,
        cols: Range<u16>,
        frame: &mut [u8],
        reference: Option<&[u8]>,
        map: &mut BlockMap,
    ) -> Result<(), ConvertError> {
        let l = self.layout;
        let frame_len = frame.len();
        let misfit = || ConvertError::misfit(&l, &rows, frame_len);
        if !band_fits(&l, &rows, &cols, src.len(), frame_len)
            || reference.is_some_and(|r| r.len() < l.size)
            || map.width != l.width
            || map.height != l.height
        {
            return Err(misfit());
        }
        let (span, band_h) = (cols.end - cols.start, rows.end - rows.start);
        let piece = FrameLayout::new(l.format, span, band_h);
        if self.scratch.len() < piece.size {
            self.scratch.resize(piece.size, 0);
        }
        BandConverter::new(piece, self.matrix).convert(
            src,
            0..band_h,
            &mut self.scratch[..piece.size],
        )?;
        for p in plane_spans(l.format, &rows, &cols) {
            let (f_off, f_stride) = l.planes[p.plane];
            let (s_off, s_stride) = piece.planes[p.plane];
            let len = p.bytes.end - p.bytes.start;
            let first_block = p.bytes.start / p.block_bytes;
            let last_block = (p.bytes.end - 1) / p.block_bytes;
            for (i, r) in p.rows.clone().enumerate() {
                let f_start = f_off + r * f_stride + p.bytes.start;
                let s_start = s_off + i * s_stride;
                let (Some(dst), Some(new)) = (
                    frame.get_mut(f_start..f_start + len),
                    self.scratch.get(s_start..s_start + len),
                ) else {
                    return Err(misfit());
                };
                let flags = map.row_mut(r / p.block_rows);
                let Some(flags) = flags.get_mut(first_block..=last_block) else {
                    return Err(misfit());
                };
                let old: &[u8] = match reference {
                    Some(frame) => &frame[f_start..f_start + len],
                    None => &*dst,
                };
                if !flags.iter().all(|c| *c) && old != new {
                    for (k, flag) in flags.iter_mut().enumerate() {
                        if *flag {
                            continue;
                        }
                        let block = first_block + k;
                        let a = (block * p.block_bytes).max(p.bytes.start) - p.bytes.start;
                        let b = ((block + 1) * p.block_bytes).min(p.bytes.end) - p.bytes.start;
                        *flag = old[a..b] != new[a..b];
                    }
                } else if reference.is_none() && old == new {
                    // Already there: a row the frame holds need not be written again.
                    continue;
                }
                dst.copy_from_slice(new);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn solid(w: u16, h: u16, bgrx: [u8; 4]) -> Vec<u8> {
        bgrx.repeat(usize::from(w) * usize::from(h))
    }

    /// Paint a `side`×`side` square of `bgrx` at (`x`, `y`) into a BGRx screen `w` wide.
    fn square(screen: &mut [u8], w: u16, x: usize, y: usize, side: usize, bgrx: [u8; 4]) {
        for row in y..y + side {
            for col in x..x + side {
                let at = (row * usize::from(w) + col) * 4;
                screen[at..at + 4].copy_from_slice(&bgrx);
            }
        }
    }

    fn rows_of(screen: &[u8], w: u16, rows: Range<u16>, cols: Range<u16>) -> Vec<u8> {
        let mut out = Vec::new();
        for r in rows {
            let start = (usize::from(r) * usize::from(w) + usize::from(cols.start)) * 4;
            out.extend_from_slice(&screen[start..start + usize::from(cols.end - cols.start) * 4]);
        }
        out
    }

    const FORMATS: [FrameFormat; 3] = [FrameFormat::Nv12, FrameFormat::I420, FrameFormat::Bgrx];

    #[test]
    fn a_repainted_window_marks_only_the_blocks_that_differ() {
        let (w, h) = (96u16, 64u16);
        for format in FORMATS {
            let layout = FrameLayout::new(format, w, h);
            let matrix = Matrix::for_height(h);
            let mut screen = solid(w, h, [40, 80, 120, 0]);
            let mut frame = vec![0u8; layout.size];
            let whole = BandConverter::new(layout, matrix);
            whole.convert(&screen, 0..h, &mut frame).unwrap();
            // A "ball" inside block (2, 1) and across blocks (4..=5, 2..=3).
            square(&mut screen, w, 36, 20, 6, [255, 255, 255, 0]);
            square(&mut screen, w, 70, 30, 8, [0, 0, 255, 0]);
            // The client repaints its whole window (rows 8..56, columns 16..90).
            let (rows, cols) = (8..56, 16..90);
            let mut diff = DiffConverter::new(layout, matrix);
            let mut map = BlockMap::new(w, h);
            let src = rows_of(&screen, w, rows.clone(), cols.clone());
            diff.convert_cols(&src, rows, cols, &mut frame, Reference::InPlace, &mut map)
                .unwrap();
            let marked: Vec<(usize, usize)> = (0..4)
                .flat_map(|r| (0..6).map(move |c| (c, r)))
                .filter(|&(c, r)| map.is_changed(c, r))
                .collect();
            assert_eq!(marked, [(2, 1), (4, 1), (4, 2)], "{format:?}");
            // And the frame now equals a whole conversion of the new screen.
            let mut expected = vec![0u8; layout.size];
            whole.convert(&screen, 0..h, &mut expected).unwrap();
            assert_eq!(frame, expected, "{format:?}");
        }
    }

    #[test]
    fn an_identical_repaint_changes_nothing_and_touches_nothing_outside() {
        let (w, h) = (64u16, 48u16);
        for format in FORMATS {
            let layout = FrameLayout::new(format, w, h);
            let matrix = Matrix::for_height(h);
            let screen = solid(w, h, [1, 2, 3, 0]);
            let mut frame = vec![7u8; layout.size];
            BandConverter::new(layout, matrix)
                .convert(&screen, 0..h, &mut frame)
                .unwrap();
            let before = frame.clone();
            let mut map = BlockMap::new(w, h);
            let mut diff = DiffConverter::new(layout, matrix);
            let src = rows_of(&screen, w, 2..30, 4..60);
            diff.convert_cols(&src, 2..30, 4..60, &mut frame, Reference::InPlace, &mut map)
                .unwrap();
            assert!(!map.any(), "{format:?}");
            assert_eq!(frame, before);
        }
    }

    #[test]
    fn a_full_change_marks_every_block_and_equals_the_whole_conversion() {
        // Odd width and height: the last block column and row are partial.
        let (w, h) = (50u16, 35u16);
        for format in FORMATS {
            let layout = FrameLayout::new(format, w, h);
            let matrix = Matrix::for_height(h);
            let mut frame = vec![0u8; layout.size];
            let old = solid(w, h, [0, 0, 0, 0]);
            BandConverter::new(layout, matrix)
                .convert(&old, 0..h, &mut frame)
                .unwrap();
            let new: Vec<u8> = (0..usize::from(w) * usize::from(h) * 4)
                .map(|i| (i * 37 % 251) as u8)
                .collect();
            let mut map = BlockMap::new(w, h);
            let mut diff = DiffConverter::new(layout, matrix);
            diff.convert_cols(&new, 0..h, 0..w, &mut frame, Reference::InPlace, &mut map)
                .unwrap();
            assert_eq!(map.count(), 4 * 3, "{format:?}");
            let mut expected = vec![0u8; layout.size];
            BandConverter::new(layout, matrix)
                .convert(&new, 0..h, &mut expected)
                .unwrap();
            assert_eq!(frame, expected, "{format:?}");
            let runs = map.runs();
            assert_eq!(runs.len(), 3);
            assert_eq!(
                runs[2],
                BlockRun {
                    x: 0,
                    y: 32,
                    width: 50,
                    height: 3
                }
            );
        }
    }

    #[test]
    fn against_a_reference_every_row_is_written_and_changes_are_judged_by_the_reference() {
        // The frame being written is older than the last pushed one (downstream still held
        // that): its rows are written whatever they held, and the blocks are those where the
        // new pixels differ from the last pushed frame.
        let (w, h) = (64u16, 32u16);
        let layout = FrameLayout::new(FrameFormat::Nv12, w, h);
        let matrix = Matrix::for_height(h);
        let whole = BandConverter::new(layout, matrix);
        let mut screen = solid(w, h, [90, 90, 90, 0]);
        let mut last = vec![0u8; layout.size];
        whole.convert(&screen, 0..h, &mut last).unwrap();
        let mut older = vec![3u8; layout.size];
        square(&mut screen, w, 40, 20, 4, [0, 255, 0, 0]);
        let mut map = BlockMap::new(w, h);
        let mut diff = DiffConverter::new(layout, matrix);
        let src = rows_of(&screen, w, 0..h, 0..w);
        diff.convert_cols(
            &src,
            0..h,
            0..w,
            &mut older,
            Reference::Other(&last),
            &mut map,
        )
        .unwrap();
        assert_eq!(map.runs().len(), 1);
        assert!(map.is_changed(2, 1));
        let mut expected = vec![0u8; layout.size];
        whole.convert(&screen, 0..h, &mut expected).unwrap();
        assert_eq!(older, expected);
    }

    #[test]
    fn in_place_a_band_fetched_again_unchanged_is_not_converted_again() {
        let (w, h) = (32u16, 32u16);
        let layout = FrameLayout::new(FrameFormat::Nv12, w, h);
        let matrix = Matrix::for_height(h);
        let mut screen = solid(w, h, [10, 20, 30, 0]);
        let mut frame = vec![0u8; layout.size];
        let mut map = BlockMap::new(w, h);
        let mut diff = DiffConverter::new(layout, matrix);
        diff.begin_frame(&Reference::InPlace);
        let src = rows_of(&screen, w, 0..h, 0..w);
        diff.convert_cols(&src, 0..h, 0..w, &mut frame, Reference::InPlace, &mut map)
            .unwrap();
        // A luma byte altered behind the converter's back shows which rows it converts again.
        frame[5 * 32 + 3] ^= 0xff;
        frame[20 * 32 + 3] ^= 0xff;
        square(&mut screen, w, 0, 20, 2, [200, 0, 0, 0]);
        let src = rows_of(&screen, w, 0..h, 0..w);
        map.clear();
        diff.convert_cols(&src, 0..h, 0..w, &mut frame, Reference::InPlace, &mut map)
            .unwrap();
        let converted = BandConverter::new(layout, matrix);
        let mut expected = vec![0u8; layout.size];
        converted.convert(&screen, 0..h, &mut expected).unwrap();
        // Row 5's pair hashed alike and was skipped; row 20's changed and was converted.
        assert_ne!(frame[5 * 32 + 3], expected[5 * 32 + 3]);
        assert_eq!(frame[20 * 32..21 * 32], expected[20 * 32..21 * 32]);
        assert_eq!(map.runs().len(), 1);
        assert!(map.is_changed(0, 1));
        // Written against another buffer, the hashes are forgotten: every row is written.
        diff.begin_frame(&Reference::Unknown);
        map.clear();
        diff.convert_cols(&src, 0..h, 0..w, &mut frame, Reference::Unknown, &mut map)
            .unwrap();
        assert_eq!(frame, expected);
    }

    #[test]
    fn hashing_pauses_while_nothing_stays_alike_and_probes_now_and_then() {
        let (w, h) = (16u16, 4u16);
        let layout = FrameLayout::new(FrameFormat::Nv12, w, h);
        let mut diff = DiffConverter::new(layout, Matrix::for_height(h));
        let mut frame = vec![0u8; layout.size];
        let mut map = BlockMap::new(w, h);
        let mut hashed = Vec::new();
        for n in 0..12u8 {
            diff.begin_frame(&Reference::InPlace);
            hashed.push(diff.hashing);
            // Every frame differs everywhere, until the screen stays alike from frame 7 on.
            let screen = solid(w, h, [n.min(7), 0, 0, 0]);
            diff.convert_cols(
                &screen,
                0..h,
                0..w,
                &mut frame,
                Reference::InPlace,
                &mut map,
            )
            .unwrap();
        }
        // Two misses pause it; frames 7 and 8 probe, the second matches, and hashing goes on.
        let on: Vec<usize> = (0..12).filter(|&i| hashed[i]).collect();
        assert_eq!(on, [0, 1, 7, 8, 9, 10, 11]);
    }

    #[test]
    fn bands_that_do_not_fit_are_refused() {
        let layout = FrameLayout::new(FrameFormat::Nv12, 32, 32);
        let mut diff = DiffConverter::new(layout, Matrix::Bt601);
        let mut frame = vec![0u8; layout.size];
        let mut map = BlockMap::new(32, 32);
        let src = vec![0u8; 32 * 32 * 4];
        for (rows, cols) in [(1..4, 0..32), (0..40, 0..32), (0..2, 3..8), (4..4, 0..32)] {
            assert!(
                diff.convert_cols(&src, rows, cols, &mut frame, Reference::Unknown, &mut map)
                    .is_err()
            );
        }
        let mut wrong = BlockMap::new(16, 32);
        assert!(
            diff.convert_cols(
                &src,
                0..2,
                0..32,
                &mut frame,
                Reference::InPlace,
                &mut wrong
            )
            .is_err()
        );
    }
}
