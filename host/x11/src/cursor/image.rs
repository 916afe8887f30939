//! Pure cursor-image conversion: XFixes ARGB words → optional resize → straight-alpha RGBA →
//! PNG, plus the scaled hotspot and the "invisible cursor" test (docs/protocol.md §6.5).
//!
//! XFixes hands out 32-bit words `0xAARRGGBB` with colour premultiplied by alpha (Xcursor's
//! convention). Resampling happens on the premultiplied values, where averaging is correct, and
//! only then is alpha divided out: PNG and the browser expect straight alpha. The legacy host
//! skipped the division, which draws anti-aliased cursor edges too dark; we do not copy that.

use std::sync::Arc;

/// One cursor shape, ready for the `cursor` data-channel message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CursorImage {
    /// XFixes cursor serial: the cache key and the message's `handle`.
    pub serial: u32,
    /// PNG (RGBA, straight alpha) of `width`×`height` pixels.
    pub png: Vec<u8>,
    /// Width of the PNG after the optional resize.
    pub width: u16,
    /// Height of the PNG after the optional resize.
    pub height: u16,
    /// Hotspot x in PNG pixels (scaled with the image).
    pub xhot: u16,
    /// Hotspot y in PNG pixels (scaled with the image).
    pub yhot: u16,
    /// Every source pixel is 0: the application hid the cursor (message `override: "none"`).
    pub invisible: bool,
}

/// Largest edge accepted for `--cursor_size`; larger requests are clamped so a typo cannot
/// make every cursor change allocate and compress hundreds of megabytes.
pub const MAX_CURSOR_SIZE: u32 = 1024;

/// Converts one XFixes cursor image. `size` scales to `size`×`size` (the hotspot scaled by
/// the same factors, rounded down, as the legacy host does); `None` keeps the original size.
/// `argb` must hold `width * height` words; missing words count as transparent.
pub fn convert_cursor(
    serial: u32,
    argb: &[u32],
    (width, height): (u16, u16),
    (xhot, yhot): (u16, u16),
    size: Option<u32>,
) -> Arc<CursorImage> {
    let (w, h) = (u32::from(width.max(1)), u32::from(height.max(1)));
    let mut src = argb.to_vec();
    src.resize(w as usize * h as usize, 0);
    let invisible = src.iter().all(|&p| p == 0);
    let (nw, nh) = match size {
        Some(n) => {
            let n = n.clamp(1, MAX_CURSOR_SIZE);
            (n, n)
        }
        None => (w, h),
    };
    let pixels = if (nw, nh) == (w, h) {
        src
    } else {
        resize_premultiplied(&src, w, h, nw, nh)
    };
    let rgba = argb_to_rgba(&pixels);
    let scale = |hot: u16, from: u32, to: u32| -> u16 {
        let v = u32::from(hot) * to / from;
        u16::try_from(v.min(to - 1)).unwrap_or(u16::MAX)
    };
    Arc::new(CursorImage {
        serial,
        png: encode_png(&rgba, nw, nh),
        // nw, nh ≤ max(u16::MAX, MAX_CURSOR_SIZE) by construction.
        width: u16::try_from(nw).unwrap_or(u16::MAX),
        height: u16::try_from(nh).unwrap_or(u16::MAX),
        xhot: scale(xhot, w, nw),
        yhot: scale(yhot, h, nh),
        invisible,
    })
}

/// Premultiplied `0xAARRGGBB` words → straight-alpha RGBA bytes. A colour channel larger than
/// alpha (not valid premultiplied data, but some themes ship it) saturates at 255.
pub fn argb_to_rgba(argb: &[u32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(argb.len() * 4);
    for &p in argb {
        let [a, r, g, b] = p.to_be_bytes();
        let straight = |c: u8| -> u8 {
            match a {
                0 => 0,
                255 => c,
                _ => {
                    let v = (u32::from(c) * 255 + u32::from(a) / 2) / u32::from(a);
                    u8::try_from(v.min(255)).unwrap_or(u8::MAX)
                }
            }
        };
        out.extend_from_slice(&[straight(r), straight(g), straight(b), a]);
    }
    out
}

/// Resamples premultiplied ARGB with a separable triangle (bilinear) filter whose support
/// widens with the reduction factor, so downscaling averages every source pixel instead of
/// skipping some (the same idea as Pillow's antialiased BILINEAR).
pub fn resize_premultiplied(argb: &[u32], w: u32, h: u32, nw: u32, nh: u32) -> Vec<u32> {
    let (w, h, nw, nh) = (w as usize, h as usize, nw as usize, nh as usize);
    let xw = weights(w, nw);
    let yw = weights(h, nh);
    // Horizontal pass: h rows of nw pixels, four f32 channels each.
    let mut tmp = vec![[0f32; 4]; h * nw];
    for y in 0..h {
        for (x, (start, ws)) in xw.iter().enumerate() {
            let mut acc = [0f32; 4];
            for (i, wt) in ws.iter().enumerate() {
                let p = argb[y * w + start + i].to_be_bytes();
                for c in 0..4 {
                    acc[c] += f32::from(p[c]) * wt;
                }
            }
            tmp[y * nw + x] = acc;
        }
    }
    let mut out = vec![0u32; nw * nh];
    for (y, (start, ws)) in yw.iter().enumerate() {
        for x in 0..nw {
            let mut acc = [0f32; 4];
            for (i, wt) in ws.iter().enumerate() {
                let p = tmp[(start + i) * nw + x];
                for c in 0..4 {
                    acc[c] += p[c] * wt;
                }
            }
            // Premultiplied colour can never exceed alpha; rounding must not make it so.
            let q = |v: f32| v.round().clamp(0.0, 255.0) as u8;
            let a = q(acc[0]);
            let [r, g, b] = [q(acc[1]).min(a), q(acc[2]).min(a), q(acc[3]).min(a)];
            out[y * nw + x] = u32::from_be_bytes([a, r, g, b]);
        }
    }
    out
}

/// For each output coordinate: first source index and the normalised weights from there.
fn weights(src: usize, dst: usize) -> Vec<(usize, Vec<f32>)> {
    let scale = src as f32 / dst as f32;
    let support = scale.max(1.0);
    (0..dst)
        .map(|i| {
            let center = (i as f32 + 0.5) * scale;
            let lo = ((center - support).floor().max(0.0)) as usize;
            let hi = ((center + support).ceil() as usize).min(src);
            let mut ws: Vec<f32> = (lo..hi)
                .map(|j| {
                    let d = ((j as f32 + 0.5 - center) / support).abs();
                    (1.0 - d).max(0.0)
                })
                .collect();
            let sum: f32 = ws.iter().sum();
            if sum > 0.0 {
                ws.iter_mut().for_each(|w| *w /= sum);
            } else {
                // Only reachable for degenerate sizes; fall back to the nearest pixel.
                ws = vec![0.0; hi - lo];
                let near = ((center as usize).min(src - 1)).saturating_sub(lo);
                if let Some(w) = ws.get_mut(near) {
                    *w = 1.0;
                }
            }
            (lo, ws)
        })
        .collect()
}

/// RGBA bytes → PNG. Writing to memory cannot fail for consistent dimensions, which the
/// caller guarantees; an encoder error would yield an empty PNG rather than a panic.
pub fn encode_png(rgba: &[u8], w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(rgba.len() / 2 + 128);
    let result = (|| -> Result<(), png::EncodingError> {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Fast);
        let mut writer = enc.write_header()?;
        writer.write_image_data(rgba)?;
        writer.finish()
    })();
    if let Err(e) = result {
        tracing::warn!(error = %e, "cursor PNG encoding failed");
        out.clear();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(png_bytes: &[u8]) -> (u32, u32, Vec<u8>) {
        let dec = png::Decoder::new(std::io::Cursor::new(png_bytes));
        let mut reader = dec.read_info().expect("png header");
        let mut buf = vec![0; reader.output_buffer_size().expect("size")];
        let info = reader.next_frame(&mut buf).expect("png frame");
        buf.truncate(info.buffer_size());
        (info.width, info.height, buf)
    }

    #[test]
    fn channel_order_and_unpremultiply() {
        // Opaque: bits 16-23 red, 8-15 green, 0-7 blue, 24-31 alpha (§6.5).
        assert_eq!(argb_to_rgba(&[0xFF10_2030]), [0x10, 0x20, 0x30, 0xFF]);
        // Half-transparent grey: premultiplied 0x40 at alpha 0x80 is straight 0x80.
        assert_eq!(argb_to_rgba(&[0x8040_4040]), [0x80, 0x80, 0x80, 0x80]);
        // Fully transparent words carry no colour.
        assert_eq!(argb_to_rgba(&[0x0000_0000]), [0, 0, 0, 0]);
        // Invalid premultiplied data saturates instead of wrapping.
        assert_eq!(argb_to_rgba(&[0x10FF_0000]), [0xFF, 0, 0, 0x10]);
    }

    #[test]
    fn unscaled_cursor_keeps_pixels_and_hotspot() {
        let px = [0xFF00_0000, 0xFFFF_FFFF, 0x0000_0000, 0x8080_0000];
        let img = convert_cursor(7, &px, (2, 2), (1, 0), None);
        assert_eq!((img.serial, img.width, img.height), (7, 2, 2));
        assert_eq!((img.xhot, img.yhot), (1, 0));
        assert!(!img.invisible);
        let (w, h, rgba) = decode(&img.png);
        assert_eq!((w, h), (2, 2));
        assert_eq!(
            rgba,
            [0, 0, 0, 255, 255, 255, 255, 255, 0, 0, 0, 0, 255, 0, 0, 128]
        );
    }

    #[test]
    fn invisible_cursor_is_flagged() {
        let img = convert_cursor(3, &[0; 16], (4, 4), (0, 0), Some(32));
        assert!(img.invisible);
        let (w, h, rgba) = decode(&img.png);
        assert_eq!((w, h), (32, 32));
        assert!(rgba.iter().all(|&b| b == 0));
        // One visible pixel is enough to show the cursor.
        let mut px = [0u32; 16];
        px[5] = 0x0100_0000;
        assert!(!convert_cursor(3, &px, (4, 4), (0, 0), None).invisible);
    }

    #[test]
    fn resize_scales_hotspot_like_legacy() {
        // 24×20, hotspot (5,7), --cursor_size=48: 5·48/24 = 10, 7·48/20 = 16.8 → 16.
        let img = convert_cursor(1, &[0xFF00_00FF; 480], (24, 20), (5, 7), Some(48));
        assert_eq!(
            (img.width, img.height, img.xhot, img.yhot),
            (48, 48, 10, 16)
        );
        let (_, _, rgba) = decode(&img.png);
        // A uniform image stays uniform through the filter.
        assert!(rgba.chunks(4).all(|p| p == [0, 0, 255, 255]));
        // Hotspot on the last pixel stays inside the image.
        let img = convert_cursor(1, &[0xFF00_0000; 4], (2, 2), (1, 1), Some(3));
        assert_eq!((img.xhot, img.yhot), (1, 1));
    }

    #[test]
    fn downscale_averages_premultiplied() {
        // 2×1 → 1×1: opaque white next to transparent gives half-transparent white, not grey.
        let out = resize_premultiplied(&[0xFFFF_FFFF, 0], 2, 1, 1, 1);
        assert_eq!(out, [0x8080_8080]);
        assert_eq!(argb_to_rgba(&out), [255, 255, 255, 128]);
        // Every source pixel contributes when shrinking 4× (a point sampler would drop some).
        let mut src = vec![0u32; 16];
        src[0] = 0xFF00_0000;
        let out = resize_premultiplied(&src, 16, 1, 4, 1);
        assert!(out[0] >> 24 > 0);
    }

    #[test]
    fn upscale_interpolates_between_neighbours() {
        let out = resize_premultiplied(&[0xFF00_0000, 0xFFFF_FFFF], 2, 1, 4, 1);
        let grey: Vec<u8> = out.iter().map(|p| p.to_be_bytes()[1]).collect();
        assert_eq!(grey[0], 0);
        assert_eq!(grey[3], 255);
        assert!(
            grey[1] > 0 && grey[1] < grey[2] && grey[2] < 255,
            "{grey:?}"
        );
        assert!(out.iter().all(|p| p >> 24 == 0xFF));
    }

    #[test]
    fn short_pixel_data_is_padded_transparent() {
        let img = convert_cursor(9, &[0xFFFF_0000], (2, 1), (0, 0), None);
        let (_, _, rgba) = decode(&img.png);
        assert_eq!(rgba, [255, 0, 0, 255, 0, 0, 0, 0]);
    }
}
