//! A plain per-pixel BGRx → 4:2:0 conversion (16-bit fixed point, 2×2 box chroma): the
//! reference the tests hold the fast path ([`super::BandConverter`]) to, and the baseline of the
//! micro-benchmark (`examples/yuv_bench.rs`, docs/benchmarks.md). Slow on purpose: one pixel
//! at a time, no SIMD, so it is easy to check by eye.

use super::{BandConverter, ConvertError, FrameFormat, Matrix, band_planes};
use std::ops::Range;

/// Fixed-point coefficients (× 2^16) of Y, Cb, Cr from R, G, B, limited range.
#[derive(Debug, Clone, Copy)]
struct Coeffs {
    y: [i32; 3],
    cb: [i32; 3],
    cr: [i32; 3],
}

impl Coeffs {
    fn new(m: Matrix) -> Self {
        let (kr, kb) = m.weights();
        let kg = 1.0 - kr - kb;
        let (ys, cs) = (219.0 / 255.0, 224.0 / 255.0);
        let f = |x: f64| (x * 65536.0).round() as i32;
        Self {
            y: [f(kr * ys), f(kg * ys), f(kb * ys)],
            cb: [
                f(-kr / (2.0 * (1.0 - kb)) * cs),
                f(-kg / (2.0 * (1.0 - kb)) * cs),
                f(0.5 * cs),
            ],
            cr: [
                f(0.5 * cs),
                f(-kg / (2.0 * (1.0 - kr)) * cs),
                f(-kb / (2.0 * (1.0 - kr)) * cs),
            ],
        }
    }
}

fn dot(c: [i32; 3], rgb: [i32; 3], shift: u32, offset: i32) -> u8 {
    let sum = c[0] * rgb[0] + c[1] * rgb[1] + c[2] * rgb[2];
    ((sum + (1 << (shift - 1))) >> shift)
        .saturating_add(offset)
        .clamp(0, 255) as u8
}

/// The same contract as [`BandConverter::convert`], one pixel at a time.
pub fn convert(
    conv: &BandConverter,
    src: &[u8],
    rows: Range<u16>,
    frame: &mut [u8],
) -> Result<(), ConvertError> {
    let l = *conv.layout();
    let full = 0..u16::try_from(l.width).unwrap_or(u16::MAX);
    let Some([yp, up, vp]) = band_planes(&l, &rows, &full, src.len(), frame) else {
        return Err(conv.misfit(&rows, frame.len()));
    };
    let band_h = usize::from(rows.end - rows.start);
    let w = l.width;
    let sstride = w * 4;
    if l.format == FrameFormat::Bgrx {
        yp[..band_h * sstride].copy_from_slice(&src[..band_h * sstride]);
        return Ok(());
    }
    let c = Coeffs::new(conv.matrix);
    let px = |x: usize, y: usize| -> [i32; 3] {
        let at = y * sstride + x * 4;
        [
            i32::from(src[at + 2]),
            i32::from(src[at + 1]),
            i32::from(src[at]),
        ]
    };
    let ys = l.planes[0].1;
    for y in 0..band_h {
        for x in 0..w {
            yp[y * ys + x] = dot(c.y, px(x, y), 16, 16);
        }
    }
    for cy in 0..band_h.div_ceil(2) {
        for cx in 0..w.div_ceil(2) {
            // Sum the 2×2 block (edge pixels repeated on odd sizes), then scale by 1/4.
            let mut sum = [0i32; 3];
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let p = px((2 * cx + dx).min(w - 1), (2 * cy + dy).min(band_h - 1));
                for i in 0..3 {
                    sum[i] += p[i];
                }
            }
            let (u, v) = (dot(c.cb, sum, 18, 128), dot(c.cr, sum, 18, 128));
            match l.format {
                FrameFormat::Nv12 => {
                    let at = cy * l.planes[1].1 + 2 * cx;
                    up[at] = u;
                    up[at + 1] = v;
                }
                _ => {
                    up[cy * l.planes[1].1 + cx] = u;
                    vp[cy * l.planes[2].1 + cx] = v;
                }
            }
        }
    }
    Ok(())
}
