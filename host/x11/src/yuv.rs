//! Converting captured BGRx row bands into the frame format the encoder takes (NV12 or I420,
//! 4:2:0, limited range), in place inside a persistent frame, so that only the rows the screen
//! changed are converted. Pure code: no X connection, no GStreamer.
//!
//! The frame layout is GStreamer's default for each format (the one a buffer without a video
//! meta is read with), and the matrix is the one GStreamer assumes for YUV caps without a
//! colorimetry (BT.601 up to 576 rows, BT.709 above), which the capture also states in its caps
//! so the encoder writes the same in its VUI. The fast path is `dcv-color-primitives` (SIMD:
//! AVX2/SSE2, scalar fallback inside); [`scalar`] is a plain reference used by the tests and by
//! the micro-benchmark (`examples/yuv_bench.rs`, numbers in docs/benchmarks.md).
//!
//! 4:2:0 chroma is made from 2×2 blocks, so a band must start on an even row
//! ([`crate::row_set::align_even`]); it may end on an odd row only at the bottom of an
//! odd-height frame.

use std::ops::Range;

use dcv_color_primitives as dcp;

/// The pixel format of the frames the capture pushes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameFormat {
    /// The captured pixels as they are (encoders behind their own converter: CUDA, VA).
    Bgrx,
    /// Y plane, then interleaved U/V at half resolution (x264enc's native input).
    Nv12,
    /// Y, U, V planes, chroma at half resolution (the other software encoders).
    I420,
}

impl FrameFormat {
    /// The name in GStreamer caps.
    pub fn caps_name(self) -> &'static str {
        match self {
            Self::Bgrx => "BGRx",
            Self::Nv12 => "NV12",
            Self::I420 => "I420",
        }
    }

    /// The format for a caps name, for the formats this module writes.
    pub fn from_caps_name(name: &str) -> Option<Self> {
        match name {
            "BGRx" => Some(Self::Bgrx),
            "NV12" => Some(Self::Nv12),
            "I420" => Some(Self::I420),
            _ => None,
        }
    }
}

/// The YCbCr matrix (both limited range: Y 16–235, chroma 16–240).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matrix {
    /// ITU-R BT.601.
    Bt601,
    /// ITU-R BT.709.
    Bt709,
}

impl Matrix {
    /// GStreamer's default for YUV of this height when caps carry no colorimetry (above 576
    /// rows HD, BT.709; 2160 rows and more would be BT.2020 there, which no encoder here needs:
    /// the caps then state BT.709 explicitly).
    pub fn for_height(height: u16) -> Self {
        if height > 576 {
            Self::Bt709
        } else {
            Self::Bt601
        }
    }

    /// The caps `colorimetry` value.
    pub fn colorimetry(self) -> &'static str {
        match self {
            Self::Bt601 => "bt601",
            Self::Bt709 => "bt709",
        }
    }

    /// (Kr, Kb) luma weights.
    fn weights(self) -> (f64, f64) {
        match self {
            Self::Bt601 => (0.299, 0.114),
            Self::Bt709 => (0.2126, 0.0722),
        }
    }
}

/// Where each plane of a frame lies: byte offset and stride, GStreamer's default layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameLayout {
    /// The format.
    pub format: FrameFormat,
    /// Width in pixels.
    pub width: usize,
    /// Height in rows.
    pub height: usize,
    /// (offset, stride) of each plane; unused planes are (size, 0).
    pub planes: [(usize, usize); 3],
    /// Bytes of one frame.
    pub size: usize,
}

fn round_up(n: usize, to: usize) -> usize {
    n.div_ceil(to) * to
}

impl FrameLayout {
    /// The layout of a `width`×`height` frame of `format`.
    pub fn new(format: FrameFormat, width: u16, height: u16) -> Self {
        let (w, h) = (usize::from(width), usize::from(height));
        let ch = round_up(h, 2) / 2;
        let (planes, size) = match format {
            FrameFormat::Bgrx => {
                let size = w * 4 * h;
                ([(0, w * 4), (size, 0), (size, 0)], size)
            }
            FrameFormat::Nv12 => {
                let stride = round_up(w, 4);
                let uv = stride * round_up(h, 2);
                let size = uv + stride * ch;
                ([(0, stride), (uv, stride), (size, 0)], size)
            }
            FrameFormat::I420 => {
                let ys = round_up(w, 4);
                let cs = round_up(round_up(w, 2) / 2, 4);
                let u = ys * round_up(h, 2);
                let v = u + cs * ch;
                let size = v + cs * ch;
                ([(0, ys), (u, cs), (v, cs)], size)
            }
        };
        Self {
            format,
            width: w,
            height: h,
            planes,
            size,
        }
    }
}

/// Why a band could not be converted (a caller bug or a frame of the wrong size).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConvertError {
    /// The band starts on an odd row, ends past the frame, or the buffers are too short.
    #[error("band {start}..{end} does not fit a {width}x{height} frame of {len} bytes")]
    Misfit {
        /// Band start row.
        start: u16,
        /// Band end row.
        end: u16,
        /// Frame width.
        width: usize,
        /// Frame height.
        height: usize,
        /// Destination length.
        len: usize,
    },
    /// The conversion library refused the arguments.
    #[error("conversion failed: {0}")]
    Library(String),
}

/// Converts BGRx row bands into frames of one layout and matrix.
#[derive(Debug, Clone, Copy)]
pub struct BandConverter {
    layout: FrameLayout,
    matrix: Matrix,
}

impl BandConverter {
    /// A converter into `layout` frames with `matrix` (ignored for BGRx).
    pub fn new(layout: FrameLayout, matrix: Matrix) -> Self {
        Self { layout, matrix }
    }

    /// The frame layout written.
    pub fn layout(&self) -> &FrameLayout {
        &self.layout
    }

    /// Convert `rows` of BGRx pixels (`src` holds exactly those rows from its start, stride
    /// 4 × width) into the same rows of `frame`. Rows outside the band are not touched.
    pub fn convert(
        &self,
        src: &[u8],
        rows: Range<u16>,
        frame: &mut [u8],
    ) -> Result<(), ConvertError> {
        let width = u16::try_from(self.layout.width).unwrap_or(u16::MAX);
        self.convert_cols(src, rows, 0..width, frame)
    }

    /// [`Self::convert`] for the columns `cols` of the rows only: `src` holds those pixels,
    /// stride 4 × `cols.len()`. Subsampled formats need an even `cols.start` and an even
    /// `cols.end` unless it is the frame's width. Pixels outside the band are not touched.
    pub fn convert_cols(
        &self,
        src: &[u8],
        rows: Range<u16>,
        cols: Range<u16>,
        frame: &mut [u8],
    ) -> Result<(), ConvertError> {
        let Some(planes) = band_planes(&self.layout, &rows, &cols, src.len(), frame) else {
            return Err(self.misfit(&rows, frame.len()));
        };
        let l = &self.layout;
        let band_h = usize::from(rows.end - rows.start);
        let span = usize::from(cols.end - cols.start);
        if l.format == FrameFormat::Bgrx {
            let [y, _, _] = planes;
            for (dst, src) in y
                .chunks_mut(l.planes[0].1)
                .zip(src.chunks(span * 4))
                .take(band_h)
            {
                dst[..span * 4].copy_from_slice(src);
            }
            return Ok(());
        }
        let color_space = match self.matrix {
            Matrix::Bt601 => dcp::ColorSpace::Bt601,
            Matrix::Bt709 => dcp::ColorSpace::Bt709,
        };
        let src_format = dcp::ImageFormat {
            pixel_format: dcp::PixelFormat::Bgra,
            color_space: dcp::ColorSpace::Rgb,
            num_planes: 1,
        };
        let (pixel_format, num_planes) = match l.format {
            FrameFormat::Nv12 => (dcp::PixelFormat::Nv12, 2),
            _ => (dcp::PixelFormat::I420, 3),
        };
        let dst_format = dcp::ImageFormat {
            pixel_format,
            color_space,
            num_planes,
        };
        let [y, u, v] = planes;
        let strides = [l.planes[0].1, l.planes[1].1, l.planes[2].1];
        let mut bufs: Vec<&mut [u8]> = vec![y, u, v];
        bufs.truncate(num_planes as usize);
        dcp::convert_image(
            span as u32,
            band_h as u32,
            &src_format,
            Some(&[span * 4]),
            &[src],
            &dst_format,
            Some(&strides[..num_planes as usize]),
            &mut bufs,
        )
        .map_err(|e| ConvertError::Library(e.to_string()))
    }

    fn misfit(&self, rows: &Range<u16>, len: usize) -> ConvertError {
        ConvertError::misfit(&self.layout, rows, len)
    }
}

impl ConvertError {
    /// `rows` do not fit a frame of `layout` held in `len` bytes.
    pub(crate) fn misfit(layout: &FrameLayout, rows: &Range<u16>, len: usize) -> Self {
        Self::Misfit {
            start: rows.start,
            end: rows.end,
            width: layout.width,
            height: layout.height,
            len,
        }
    }
}

/// Whether `rows` × `cols` of `src_len` bytes of BGRx fit a frame of `l` held in `frame_len`
/// bytes: inside it, not empty, and for 4:2:0 on even rows and columns except at the frame's
/// own odd edge.
pub(crate) fn band_fits(
    l: &FrameLayout,
    rows: &Range<u16>,
    cols: &Range<u16>,
    src_len: usize,
    frame_len: usize,
) -> bool {
    let (start, end) = (usize::from(rows.start), usize::from(rows.end));
    let (x0, x1) = (usize::from(cols.start), usize::from(cols.end));
    let subsampled = l.format != FrameFormat::Bgrx;
    !(start >= end
        || end > l.height
        || x0 >= x1
        || x1 > l.width
        || (subsampled && (start % 2 == 1 || (end % 2 == 1 && end != l.height)))
        || (subsampled && (x0 % 2 == 1 || (x1 % 2 == 1 && x1 != l.width)))
        || src_len < (end - start) * (x1 - x0) * 4
        || frame_len < l.size)
}

/// The parts of `frame`'s planes that `rows` × `cols` cover (chroma: halved), as disjoint
/// slices from the band's first pixel to each plane's end; None when the band does not fit.
fn band_planes<'a>(
    l: &FrameLayout,
    rows: &Range<u16>,
    cols: &Range<u16>,
    src_len: usize,
    frame: &'a mut [u8],
) -> Option<[&'a mut [u8]; 3]> {
    if !band_fits(l, rows, cols, src_len, frame.len()) {
        return None;
    }
    let (start, x0) = (usize::from(rows.start), usize::from(cols.start));
    let subsampled = l.format != FrameFormat::Bgrx;
    let frame = &mut frame[..l.size];
    let (y_all, rest) = frame.split_at_mut(l.planes[1].0);
    let (u_all, v_all) = rest.split_at_mut(l.planes[2].0 - l.planes[1].0);
    if !subsampled {
        let y = y_all.get_mut(start * l.planes[0].1 + x0 * 4..)?;
        return Some([y, &mut [], &mut []]);
    }
    let y = y_all.get_mut(start * l.planes[0].1 + x0..)?;
    // NV12 interleaves U and V: a pixel pair's chroma takes two bytes, as a luma pair does.
    if l.format == FrameFormat::Nv12 {
        let uv = u_all.get_mut(start / 2 * l.planes[1].1 + x0..)?;
        return Some([y, uv, &mut []]);
    }
    let u = u_all.get_mut(start / 2 * l.planes[1].1 + x0 / 2..)?;
    let v = v_all.get_mut(start / 2 * l.planes[2].1 + x0 / 2..)?;
    Some([y, u, v])
}

/// A plain per-pixel implementation: the reference the tests hold the fast path to.
pub mod scalar;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn solid(w: u16, h: u16, bgrx: [u8; 4]) -> Vec<u8> {
        bgrx.iter()
            .copied()
            .cycle()
            .take(usize::from(w) * usize::from(h) * 4)
            .collect()
    }

    /// A deterministic noisy image (xorshift), so SIMD and scalar paths see every value range.
    fn noise(w: u16, h: u16, seed: u32) -> Vec<u8> {
        let mut s = seed.max(1);
        (0..usize::from(w) * usize::from(h) * 4)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                (s >> 8) as u8
            })
            .collect()
    }

    /// The Y, U, V of pixel (x, y) of a frame.
    fn yuv_at(l: &FrameLayout, frame: &[u8], x: usize, y: usize) -> [u8; 3] {
        let yv = frame[l.planes[0].0 + y * l.planes[0].1 + x];
        let (cx, cy) = (x / 2, y / 2);
        match l.format {
            FrameFormat::Nv12 => {
                let at = l.planes[1].0 + cy * l.planes[1].1 + 2 * cx;
                [yv, frame[at], frame[at + 1]]
            }
            _ => [
                yv,
                frame[l.planes[1].0 + cy * l.planes[1].1 + cx],
                frame[l.planes[2].0 + cy * l.planes[2].1 + cx],
            ],
        }
    }

    fn close(a: [u8; 3], b: [u8; 3], tol: u8) -> bool {
        a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= tol)
    }

    #[test]
    fn layouts_match_gstreamer_defaults() {
        let nv12 = FrameLayout::new(FrameFormat::Nv12, 1920, 1080);
        assert_eq!(nv12.size, 1920 * 1080 * 3 / 2);
        assert_eq!(nv12.planes[1], (1920 * 1080, 1920));
        let i420 = FrameLayout::new(FrameFormat::I420, 1920, 1080);
        assert_eq!(i420.planes, [(0, 1920), (2_073_600, 960), (2_592_000, 960)]);
        assert_eq!(i420.size, 3_110_400);
        // Odd sizes: strides rounded up to 4, chroma to half the even-rounded size.
        let odd = FrameLayout::new(FrameFormat::I420, 1001, 501);
        assert_eq!(
            odd.planes,
            [(0, 1004), (1004 * 502, 504), (1004 * 502 + 504 * 251, 504)]
        );
        let odd = FrameLayout::new(FrameFormat::Nv12, 1001, 501);
        assert_eq!(odd.size, 1004 * 502 + 1004 * 251);
    }

    #[test]
    fn known_colours_convert_to_their_reference_values() {
        // (B, G, R) → (Y, Cb, Cr), limited range, from the BT.601 / BT.709 equations.
        let cases = [
            (Matrix::Bt709, [0, 0, 0], [16, 128, 128]),
            (Matrix::Bt709, [255, 255, 255], [235, 128, 128]),
            (Matrix::Bt709, [0, 0, 255], [63, 102, 240]),
            (Matrix::Bt709, [0, 255, 0], [173, 42, 26]),
            (Matrix::Bt709, [255, 0, 0], [32, 240, 118]),
            (Matrix::Bt601, [0, 0, 255], [81, 90, 240]),
            (Matrix::Bt601, [0, 255, 0], [145, 54, 34]),
            (Matrix::Bt601, [255, 0, 0], [41, 240, 110]),
            (Matrix::Bt601, [128, 128, 128], [126, 128, 128]),
        ];
        for format in [FrameFormat::Nv12, FrameFormat::I420] {
            for (m, bgr, want) in cases {
                let l = FrameLayout::new(format, 16, 4);
                let src = solid(16, 4, [bgr[0], bgr[1], bgr[2], 0xff]);
                let conv = BandConverter::new(l, m);
                for fast in [true, false] {
                    let mut frame = vec![0u8; l.size];
                    if fast {
                        conv.convert(&src, 0..4, &mut frame).unwrap();
                    } else {
                        scalar::convert(&conv, &src, 0..4, &mut frame).unwrap();
                    }
                    let got = yuv_at(&l, &frame, 5, 3);
                    assert!(
                        close(got, want, 1),
                        "{format:?} {m:?} {bgr:?}: {got:?} want {want:?} (fast {fast})"
                    );
                }
            }
        }
    }

    #[test]
    fn fast_and_scalar_agree_on_noise_within_one_or_two() {
        for (w, h) in [(64u16, 32u16), (37, 11), (1920, 8)] {
            for format in [FrameFormat::Nv12, FrameFormat::I420] {
                let l = FrameLayout::new(format, w, h);
                let conv = BandConverter::new(l, Matrix::Bt709);
                let src = noise(w, h, u32::from(w) * 7 + u32::from(h));
                let (mut a, mut b) = (vec![0u8; l.size], vec![0u8; l.size]);
                conv.convert(&src, 0..h, &mut a).unwrap();
                scalar::convert(&conv, &src, 0..h, &mut b).unwrap();
                let worst = a
                    .iter()
                    .zip(&b)
                    .map(|(x, y)| x.abs_diff(*y))
                    .max()
                    .unwrap_or(0);
                assert!(worst <= 2, "{w}x{h} {format:?}: differ by {worst}");
            }
        }
    }

    #[test]
    fn a_band_changes_only_its_rows_and_matches_a_whole_frame_conversion() {
        let (w, h) = (48u16, 20u16);
        let src = noise(w, h, 99);
        for format in [FrameFormat::Nv12, FrameFormat::I420, FrameFormat::Bgrx] {
            let l = FrameLayout::new(format, w, h);
            let conv = BandConverter::new(l, Matrix::Bt601);
            let mut whole = vec![0u8; l.size];
            conv.convert(&src, 0..h, &mut whole).unwrap();
            let mut banded = vec![0x55u8; l.size];
            let stride = usize::from(w) * 4;
            conv.convert(&src[6 * stride..], 6..10, &mut banded)
                .unwrap();
            for y in 0..usize::from(h) {
                for x in 0..usize::from(w) {
                    if format == FrameFormat::Bgrx {
                        let at = y * stride + x * 4;
                        let want = if (6..10).contains(&y) {
                            whole[at]
                        } else {
                            0x55
                        };
                        assert_eq!(banded[at], want);
                        continue;
                    }
                    let got = yuv_at(&l, &banded, x, y);
                    if (6..10).contains(&y) {
                        assert_eq!(got, yuv_at(&l, &whole, x, y), "{format:?} ({x},{y})");
                    } else {
                        assert_eq!(got, [0x55; 3], "{format:?} ({x},{y}) touched");
                    }
                }
            }
        }
    }

    #[test]
    fn a_column_span_matches_the_whole_frame_conversion_and_touches_nothing_else() {
        let (w, h) = (100u16, 12u16);
        let src = noise(w, h, 7);
        let stride = usize::from(w) * 4;
        for format in [FrameFormat::Nv12, FrameFormat::I420, FrameFormat::Bgrx] {
            for cols in [32u16..96, 0..18, 64..100, 2..4] {
                let l = FrameLayout::new(format, w, h);
                let conv = BandConverter::new(l, Matrix::Bt709);
                let mut whole = vec![0u8; l.size];
                conv.convert(&src, 0..h, &mut whole).unwrap();
                // The span's pixels of rows 4..10, packed as the capture fetches them.
                let (x0, x1) = (usize::from(cols.start), usize::from(cols.end));
                let part: Vec<u8> = (4..10)
                    .flat_map(|y| src[y * stride + x0 * 4..y * stride + x1 * 4].to_vec())
                    .collect();
                let mut spanned = vec![0x55u8; l.size];
                conv.convert_cols(&part, 4..10, cols.clone(), &mut spanned)
                    .unwrap();
                for y in 0..usize::from(h) {
                    for x in 0..usize::from(w) {
                        let inside = (4..10).contains(&y) && (x0..x1).contains(&x);
                        if format == FrameFormat::Bgrx {
                            let at = y * stride + x * 4;
                            let want = if inside { whole[at] } else { 0x55 };
                            assert_eq!(spanned[at], want, "{cols:?} ({x},{y})");
                            continue;
                        }
                        let got = yuv_at(&l, &spanned, x, y);
                        if inside {
                            assert_eq!(
                                got,
                                yuv_at(&l, &whole, x, y),
                                "{format:?} {cols:?} ({x},{y})"
                            );
                        } else if !((4..10).contains(&y) && (x0 & !1..x1 + 1).contains(&x)) {
                            assert_eq!(got, [0x55; 3], "{format:?} {cols:?} ({x},{y}) touched");
                        }
                    }
                }
            }
        }
        let conv = BandConverter::new(FrameLayout::new(FrameFormat::Nv12, 8, 4), Matrix::Bt709);
        let mut frame = vec![0u8; 8 * 4 * 3 / 2];
        let part = solid(4, 2, [1, 2, 3, 0]);
        assert!(
            conv.convert_cols(&part, 0..2, 1..5, &mut frame).is_err(),
            "odd start"
        );
        assert!(
            conv.convert_cols(&part, 0..2, 6..9, &mut frame).is_err(),
            "past the width"
        );
        assert!(
            conv.convert_cols(&part, 0..2, 4..4, &mut frame).is_err(),
            "empty"
        );
    }

    #[test]
    fn odd_starts_and_bands_past_the_frame_are_refused() {
        let l = FrameLayout::new(FrameFormat::Nv12, 8, 6);
        let conv = BandConverter::new(l, Matrix::Bt709);
        let src = solid(8, 6, [1, 2, 3, 0]);
        let mut frame = vec![0u8; l.size];
        assert!(conv.convert(&src, 1..3, &mut frame).is_err());
        assert!(conv.convert(&src, 2..5, &mut frame).is_err());
        assert!(conv.convert(&src, 4..8, &mut frame).is_err());
        assert!(conv.convert(&src[..10], 0..2, &mut frame).is_err());
        assert!(conv.convert(&src, 0..2, &mut frame[..10]).is_err());
        // The last row of an odd-height frame is a band of its own.
        let l = FrameLayout::new(FrameFormat::I420, 8, 5);
        let conv = BandConverter::new(l, Matrix::Bt709);
        let mut frame = vec![0u8; l.size];
        conv.convert(&src, 4..5, &mut frame).unwrap();
        scalar::convert(&conv, &src, 4..5, &mut frame).unwrap();
    }

    #[test]
    fn the_matrix_follows_gstreamers_default_for_the_height() {
        assert_eq!(Matrix::for_height(480), Matrix::Bt601);
        assert_eq!(Matrix::for_height(576), Matrix::Bt601);
        assert_eq!(Matrix::for_height(720), Matrix::Bt709);
        assert_eq!(Matrix::for_height(2160), Matrix::Bt709);
        assert_eq!(FrameFormat::from_caps_name("NV12"), Some(FrameFormat::Nv12));
        assert_eq!(FrameFormat::from_caps_name("Y444"), None);
    }
}
