//! Conversion of one I420 frame from the socket into the pixel format an application chose.
//! Sizes are checked first: a short source or destination is an error, never a panic.

use crate::frame::PixFmt;

/// Why a conversion was not done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConvertError {
    /// The source is not a whole frame of its format and size.
    ShortSource,
    /// The destination buffer is smaller than the converted frame.
    ShortDestination,
    /// No conversion between these formats.
    Unsupported,
}

impl std::fmt::Display for ConvertError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ConvertError::ShortSource => "source frame too short",
            ConvertError::ShortDestination => "destination buffer too short",
            ConvertError::Unsupported => "no such conversion",
        })
    }
}

impl std::error::Error for ConvertError {}

/// The formats a feed of `feed` can be presented as: itself, and from I420 also YUYV and NV12.
pub fn offered(feed: PixFmt) -> Vec<PixFmt> {
    match feed {
        PixFmt::I420 => PixFmt::ALL.to_vec(),
        other => vec![other],
    }
}

/// Converts a `width`×`height` frame `src` of format `from` into `dst` as `to`; returns the
/// number of bytes written.
pub fn convert(
    from: PixFmt,
    to: PixFmt,
    width: u32,
    height: u32,
    src: &[u8],
    dst: &mut [u8],
) -> Result<usize, ConvertError> {
    let (w, h) = (width as usize, height as usize);
    let src_len = from
        .frame_size(width, height)
        .ok_or(ConvertError::ShortSource)? as usize;
    let dst_len = to
        .frame_size(width, height)
        .ok_or(ConvertError::ShortDestination)? as usize;
    if src.len() < src_len {
        return Err(ConvertError::ShortSource);
    }
    if dst.len() < dst_len {
        return Err(ConvertError::ShortDestination);
    }
    if from == to {
        dst[..dst_len].copy_from_slice(&src[..src_len]);
        return Ok(dst_len);
    }
    if from != PixFmt::I420 {
        return Err(ConvertError::Unsupported);
    }
    let (y, rest) = src.split_at(w * h);
    let (u, v) = rest.split_at(w * h / 4);
    match to {
        PixFmt::Yuyv => {
            for row in 0..h {
                let yr = &y[row * w..(row + 1) * w];
                let cr = (row / 2) * (w / 2);
                let ur = &u[cr..cr + w / 2];
                let vr = &v[cr..cr + w / 2];
                let out = &mut dst[row * w * 2..(row + 1) * w * 2];
                for (i, px) in out.chunks_exact_mut(4).enumerate() {
                    px[0] = yr[2 * i];
                    px[1] = ur[i];
                    px[2] = yr[2 * i + 1];
                    px[3] = vr[i];
                }
            }
        }
        PixFmt::Nv12 => {
            dst[..w * h].copy_from_slice(y);
            let uv = &mut dst[w * h..dst_len];
            for (i, pair) in uv.chunks_exact_mut(2).enumerate() {
                pair[0] = u[i];
                pair[1] = v[i];
            }
        }
        PixFmt::I420 => return Err(ConvertError::Unsupported),
    }
    Ok(dst_len)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 4×2 I420 frame: Y 0..8, U [100, 101], V [200, 201].
    fn frame() -> Vec<u8> {
        let mut f: Vec<u8> = (0..8).collect();
        f.extend([100, 101, 200, 201]);
        f
    }

    #[test]
    fn i420_to_yuyv_and_nv12() {
        let mut out = [0u8; 16];
        assert_eq!(
            convert(PixFmt::I420, PixFmt::Yuyv, 4, 2, &frame(), &mut out),
            Ok(16)
        );
        assert_eq!(
            out,
            [
                0, 100, 1, 200, 2, 101, 3, 201, 4, 100, 5, 200, 6, 101, 7, 201
            ]
        );
        let mut out = [0u8; 12];
        assert_eq!(
            convert(PixFmt::I420, PixFmt::Nv12, 4, 2, &frame(), &mut out),
            Ok(12)
        );
        assert_eq!(out, [0, 1, 2, 3, 4, 5, 6, 7, 100, 200, 101, 201]);
        let mut out = [0u8; 12];
        assert_eq!(
            convert(PixFmt::I420, PixFmt::I420, 4, 2, &frame(), &mut out),
            Ok(12)
        );
        assert_eq!(out.to_vec(), frame());
    }

    #[test]
    fn short_buffers_and_odd_pairs_are_errors() {
        let mut out = [0u8; 15];
        assert_eq!(
            convert(PixFmt::I420, PixFmt::Yuyv, 4, 2, &frame(), &mut out),
            Err(ConvertError::ShortDestination)
        );
        let mut out = [0u8; 16];
        assert_eq!(
            convert(PixFmt::I420, PixFmt::Yuyv, 4, 2, &frame()[..11], &mut out),
            Err(ConvertError::ShortSource)
        );
        assert_eq!(
            convert(PixFmt::Yuyv, PixFmt::I420, 4, 2, &[0; 16], &mut out),
            Err(ConvertError::Unsupported)
        );
        assert_eq!(offered(PixFmt::Yuyv), vec![PixFmt::Yuyv]);
    }
}
