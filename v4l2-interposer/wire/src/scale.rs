//! Nearest-neighbour scaling of one tightly packed I420 frame to another size. An application
//! keeps the size it negotiated when it opened the device (a V4L2 application cannot follow a
//! size change mid-stream), while the browser's camera may change size at any time or be a
//! placeholder of the default size until it starts: the interposer scales each frame that
//! arrives in another size to the negotiated one (docs/webcam.md, "Sizes").
//!
//! Nearest neighbour rather than a filter: the interposer runs inside the application on every
//! frame, and a size change is the exception (the next open gets the camera's own size).

use crate::convert::ConvertError;
use crate::frame::PixFmt;

/// For each destination index `0..dst`, the source index it samples (centre of the pixel).
fn sample_map(src: usize, dst: usize) -> Vec<usize> {
    (0..dst)
        .map(|i| ((2 * i + 1) * src / (2 * dst)).min(src.saturating_sub(1)))
        .collect()
}

fn scale_plane(src: &[u8], sw: usize, sh: usize, dst: &mut [u8], dw: usize, dh: usize) {
    let cols = sample_map(sw, dw);
    for (row, sy) in sample_map(sh, dh).into_iter().enumerate() {
        let line = &src[sy * sw..(sy + 1) * sw];
        for (d, &sx) in dst[row * dw..(row + 1) * dw].iter_mut().zip(&cols) {
            *d = line[sx];
        }
    }
}

/// Scales the I420 frame `src` of `sw`×`sh` into `dst` (resized) at `dw`×`dh`. All sizes must
/// be even and non-zero, as on the socket.
pub fn scale_i420(
    src: &[u8],
    (sw, sh): (u32, u32),
    (dw, dh): (u32, u32),
    dst: &mut Vec<u8>,
) -> Result<(), ConvertError> {
    let even = |n: u32| n >= 2 && n.is_multiple_of(2);
    if !(even(sw) && even(sh)) {
        return Err(ConvertError::ShortSource);
    }
    if !(even(dw) && even(dh)) {
        return Err(ConvertError::ShortDestination);
    }
    let src_len = PixFmt::I420
        .frame_size(sw, sh)
        .ok_or(ConvertError::ShortSource)? as usize;
    let dst_len = PixFmt::I420
        .frame_size(dw, dh)
        .ok_or(ConvertError::ShortDestination)? as usize;
    if src.len() < src_len {
        return Err(ConvertError::ShortSource);
    }
    dst.resize(dst_len, 0);
    let (sw, sh, dw, dh) = (sw as usize, sh as usize, dw as usize, dh as usize);
    let (sy, sc) = (sw * sh, sw * sh / 4);
    let (dy, dc) = (dw * dh, dw * dh / 4);
    scale_plane(&src[..sy], sw, sh, &mut dst[..dy], dw, dh);
    for p in 0..2 {
        let s = &src[sy + p * sc..sy + (p + 1) * sc];
        let d = &mut dst[dy + p * dc..dy + (p + 1) * dc];
        scale_plane(s, sw / 2, sh / 2, d, dw / 2, dh / 2);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An I420 frame whose luma is `col + 10 * row` and chroma planes constant `u`/`v`.
    fn frame(w: usize, h: usize, u: u8, v: u8) -> Vec<u8> {
        let mut f: Vec<u8> = (0..h)
            .flat_map(|r| (0..w).map(move |c| (c + 10 * r) as u8))
            .collect();
        f.extend(std::iter::repeat_n(u, w * h / 4));
        f.extend(std::iter::repeat_n(v, w * h / 4));
        f
    }

    #[test]
    fn halving_samples_every_other_pixel_and_keeps_chroma() {
        let src = frame(8, 4, 60, 200);
        let mut dst = Vec::new();
        scale_i420(&src, (8, 4), (4, 2), &mut dst).unwrap();
        assert_eq!(dst.len(), 4 * 2 * 3 / 2);
        // Centres of 2×2 blocks: columns 1,3,5,7 of rows 1 and 3.
        assert_eq!(&dst[..8], &[11, 13, 15, 17, 31, 33, 35, 37]);
        assert_eq!(&dst[8..10], &[60, 60]);
        assert_eq!(&dst[10..12], &[200, 200]);
    }

    #[test]
    fn doubling_repeats_pixels_and_same_size_copies() {
        let src = frame(2, 2, 1, 2);
        let mut dst = Vec::new();
        scale_i420(&src, (2, 2), (4, 4), &mut dst).unwrap();
        assert_eq!(
            &dst[..16],
            &[0, 0, 1, 1, 0, 0, 1, 1, 10, 10, 11, 11, 10, 10, 11, 11]
        );
        let big = frame(16, 8, 3, 4);
        scale_i420(&big, (16, 8), (16, 8), &mut dst).unwrap();
        assert_eq!(dst, big);
        // Aspect change (16:9 camera to a 4:3 application) fills the whole destination.
        scale_i420(&big, (16, 8), (6, 6), &mut dst).unwrap();
        assert_eq!(dst.len(), 6 * 6 * 3 / 2);
    }

    #[test]
    fn bad_sizes_and_short_input_are_errors() {
        let src = frame(4, 4, 0, 0);
        let mut dst = Vec::new();
        assert_eq!(
            scale_i420(&src[..10], (4, 4), (2, 2), &mut dst),
            Err(ConvertError::ShortSource)
        );
        assert_eq!(
            scale_i420(&src, (3, 4), (2, 2), &mut dst),
            Err(ConvertError::ShortSource)
        );
        assert_eq!(
            scale_i420(&src, (4, 4), (0, 2), &mut dst),
            Err(ConvertError::ShortDestination)
        );
    }
}
