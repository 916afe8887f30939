//! A moving test pattern in I420 for `webcam-feed`: luma bars that scroll one step per frame,
//! a white square that moves along the diagonal, and chroma that slowly cycles, so consecutive
//! frames always differ and a reader can tell whether the picture changes.

/// Frame `n` of the pattern at `width`×`height` (both even), I420.
pub fn frame(width: u32, height: u32, n: u64) -> Vec<u8> {
    let (w, h) = (width as usize, height as usize);
    let mut out = vec![0u8; w * h * 3 / 2];
    let shift = (n as usize).wrapping_mul(4);
    let (y, uv) = out.split_at_mut(w * h);
    for row in 0..h {
        for col in 0..w {
            y[row * w + col] = (((col + shift) / 16 % 8) * 28 + 16) as u8;
        }
    }
    let side = (h / 6).max(2);
    let span_x = w.saturating_sub(side).max(1);
    let span_y = h.saturating_sub(side).max(1);
    let (x0, y0) = ((n as usize * 7) % span_x, (n as usize * 5) % span_y);
    for row in y0..(y0 + side).min(h) {
        y[row * w + x0..row * w + (x0 + side).min(w)].fill(235);
    }
    let (u, v) = uv.split_at_mut(w * h / 4);
    u.fill((128 + (n % 64) as i32 - 32) as u8);
    v.fill((128 - (n % 64) as i32 + 32) as u8);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn consecutive_frames_differ_and_have_the_i420_size() {
        let a = super::frame(64, 48, 0);
        let b = super::frame(64, 48, 1);
        assert_eq!(a.len(), 64 * 48 * 3 / 2);
        assert_ne!(a, b);
    }
}
