//! Pure frame bookkeeping for damage-driven capture: turning the damage rectangles the server
//! reports into the row bands worth fetching, copying fetched rows into the persistent frame,
//! and drawing the pointer into a frame. No X connection here, so all of it is unit-tested.
//!
//! Whole rows are fetched rather than rectangles: one `ShmGetImage` of a full-width band lands
//! contiguous in the shared segment and is one `memcpy` into the frame, and for the typical
//! damage (a window, a line of text, a scrolling region) a band costs little more than the
//! rectangle while many small rectangles on the same rows cost one request instead of many.

use std::ops::Range;

/// A damaged area in screen coordinates, as the server reports it (may reach off-screen).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    /// Left edge.
    pub x: i16,
    /// Top edge.
    pub y: i16,
    /// Width.
    pub width: u16,
    /// Height.
    pub height: u16,
}

/// The rows of a `screen_height`-row screen covered by `rects`, as sorted, disjoint bands.
/// Bands closer than `merge_gap` rows are joined: one request for a slightly taller band is
/// cheaper than a round trip per band.
pub fn row_bands(rects: &[Rect], screen_height: u16, merge_gap: u16) -> Vec<Range<u16>> {
    let mut spans: Vec<Range<u16>> = rects
        .iter()
        .filter(|r| r.width > 0 && r.height > 0)
        .filter_map(|r| {
            let top = i32::from(r.y).clamp(0, i32::from(screen_height));
            let bottom = (i32::from(r.y) + i32::from(r.height)).clamp(0, i32::from(screen_height));
            (bottom > top).then_some(top as u16..bottom as u16)
        })
        .collect();
    spans.sort_by_key(|s| s.start);
    let mut out: Vec<Range<u16>> = Vec::with_capacity(spans.len());
    for span in spans {
        match out.last_mut() {
            Some(last) if u32::from(span.start) <= u32::from(last.end) + u32::from(merge_gap) => {
                last.end = last.end.max(span.end);
            }
            _ => out.push(span),
        }
    }
    out
}

/// Copy `band` (rows of `stride` bytes, fetched contiguously into `fetched` from its start)
/// into the same rows of `frame`. Returns the bytes copied; 0 when the band does not fit.
pub fn copy_band(frame: &mut [u8], fetched: &[u8], stride: usize, band: Range<u16>) -> usize {
    let start = usize::from(band.start) * stride;
    let len = usize::from(band.end.saturating_sub(band.start)) * stride;
    match (frame.get_mut(start..start + len), fetched.get(..len)) {
        (Some(dst), Some(src)) => {
            dst.copy_from_slice(src);
            len
        }
        _ => 0,
    }
}

/// A pointer image: premultiplied ARGB pixels (as XFixes returns them), its size and where its
/// top-left corner lies on the screen (position minus hotspot).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PointerImage {
    /// Left edge on screen.
    pub x: i32,
    /// Top edge on screen.
    pub y: i32,
    /// Width in pixels.
    pub width: u16,
    /// Height in pixels.
    pub height: u16,
    /// Premultiplied ARGB, row-major.
    pub pixels: Vec<u32>,
}

/// Draw `pointer` over a BGRx `frame` of `width`×`height` (stride = 4 × width), clipped.
pub fn draw_pointer(frame: &mut [u8], width: u16, height: u16, pointer: &PointerImage) {
    let (w, h) = (i32::from(width), i32::from(height));
    for cy in 0..i32::from(pointer.height) {
        let y = pointer.y + cy;
        if !(0..h).contains(&y) {
            continue;
        }
        for cx in 0..i32::from(pointer.width) {
            let x = pointer.x + cx;
            if !(0..w).contains(&x) {
                continue;
            }
            let Some(&argb) = pointer
                .pixels
                .get((cy * i32::from(pointer.width) + cx) as usize)
            else {
                return;
            };
            let alpha = argb >> 24;
            if alpha == 0 {
                continue;
            }
            let at = ((y * w + x) * 4) as usize;
            let Some(px) = frame.get_mut(at..at + 3) else {
                return;
            };
            // Premultiplied "over": dst = src + dst × (1 − α). Bytes are B, G, R.
            for (i, d) in px.iter_mut().enumerate() {
                let s = (argb >> (8 * i)) & 0xff;
                *d = (s + u32::from(*d) * (255 - alpha) / 255).min(255) as u8;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(x: i16, y: i16, width: u16, height: u16) -> Rect {
        Rect {
            x,
            y,
            width,
            height,
        }
    }

    #[test]
    fn bands_are_sorted_merged_and_clipped() {
        let rects = [
            r(0, 100, 10, 10),
            r(500, 0, 5, 5),
            r(3, 104, 1, 20),
            r(0, 1070, 9, 50),
        ];
        assert_eq!(row_bands(&rects, 1080, 0), vec![0..5, 100..124, 1070..1080]);
    }

    #[test]
    fn close_bands_join_within_the_gap() {
        let rects = [r(0, 0, 1, 10), r(0, 20, 1, 10), r(0, 100, 1, 1)];
        assert_eq!(row_bands(&rects, 1080, 10), vec![0..30, 100..101]);
        assert_eq!(row_bands(&rects, 1080, 9), vec![0..10, 20..30, 100..101]);
    }

    #[test]
    fn empty_and_offscreen_rects_make_no_band() {
        let rects = [
            r(0, -50, 10, 20),
            r(0, 2000, 10, 10),
            r(0, 5, 0, 10),
            r(0, 5, 10, 0),
        ];
        assert!(row_bands(&rects, 1080, 4).is_empty());
        assert_eq!(row_bands(&[r(-5, -5, 10, 10)], 1080, 0), vec![0..5]);
    }

    #[test]
    fn copy_touches_only_the_band_rows() {
        let stride = 8;
        let mut frame = vec![0u8; stride * 6];
        let fetched = vec![7u8; stride * 2];
        assert_eq!(copy_band(&mut frame, &fetched, stride, 2..4), 16);
        assert!(frame[..16].iter().all(|&b| b == 0));
        assert!(frame[16..32].iter().all(|&b| b == 7));
        assert!(frame[32..].iter().all(|&b| b == 0));
    }

    #[test]
    fn copy_refuses_a_band_outside_the_frame() {
        let mut frame = vec![0u8; 32];
        assert_eq!(copy_band(&mut frame, &[1u8; 64], 8, 3..6), 0);
        assert_eq!(copy_band(&mut frame, &[1u8; 8], 8, 0..2), 0);
        assert!(frame.iter().all(|&b| b == 0));
    }

    /// A square pointer image of `side` pixels at (`x`, `y`).
    fn pointer_at(x: i32, y: i32, side: u16, pixels: Vec<u32>) -> PointerImage {
        PointerImage {
            x,
            y,
            width: side,
            height: side,
            pixels,
        }
    }

    #[test]
    fn pointer_blends_premultiplied_and_clips() {
        let (w, h) = (4u16, 3u16);
        let mut frame = vec![100u8; 4 * 4 * 3];
        // Opaque red, then half-transparent (premultiplied) blue; the rest is off-screen.
        let pointer = pointer_at(3, 2, 2, vec![0xff_ff_00_00, 0x80_00_00_80, 0, 0]);
        draw_pointer(&mut frame, w, h, &pointer);
        let at = (2 * 4 + 3) * 4;
        assert_eq!(&frame[at..at + 4], &[0, 0, 255, 100]);
        // Untouched elsewhere.
        assert_eq!(&frame[..4], &[100, 100, 100, 100]);
        let mut frame = vec![100u8; 4 * 4 * 3];
        draw_pointer(&mut frame, w, h, &pointer_at(0, 0, 1, vec![0x80_00_00_80]));
        // B = 128 + 100 × 127 / 255 = 177; G, R = 49.
        assert_eq!(&frame[..3], &[177, 49, 49]);
    }
}
