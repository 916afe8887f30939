//! The part of the V4L2 kernel ABI the interposer answers: ioctl numbers and the byte offsets
//! of the structures, per pointer width (`struct v4l2_format` and `struct v4l2_buffer` contain
//! pointers and `struct timeval`, so they differ between x86_64 and i686). Reading and writing
//! go through [`Buf`], which bounds-checks every access against the ioctl's buffer length.

/// The ioctl "type" byte of V4L2.
pub const V4L2_TYPE: u8 = b'V';

/// `_IOC_NR` of an ioctl request.
pub const fn ioc_nr(req: u32) -> u8 {
    (req & 0xff) as u8
}
/// `_IOC_TYPE` of an ioctl request.
pub const fn ioc_type(req: u32) -> u8 {
    ((req >> 8) & 0xff) as u8
}
/// `_IOC_SIZE` of an ioctl request.
pub const fn ioc_size(req: u32) -> usize {
    ((req >> 16) & 0x3fff) as usize
}

const PTR64: bool = cfg!(target_pointer_width = "64");

/// `sizeof(struct v4l2_capability)`.
pub const CAPABILITY_LEN: usize = 104;
/// `sizeof(struct v4l2_fmtdesc)`.
pub const FMTDESC_LEN: usize = 64;
/// `sizeof(struct v4l2_format)`: a u32 then a 200-byte union aligned to pointers.
pub const FORMAT_LEN: usize = if PTR64 { 208 } else { 204 };
/// Offset of `fmt.pix` in `struct v4l2_format`.
pub const FORMAT_PIX: usize = if PTR64 { 8 } else { 4 };
/// `sizeof(struct v4l2_requestbuffers)`.
pub const REQBUFS_LEN: usize = 20;
/// `sizeof(struct v4l2_buffer)`.
pub const BUFFER_LEN: usize = if PTR64 { 88 } else { 68 };
/// `sizeof(struct v4l2_streamparm)`.
pub const STREAMPARM_LEN: usize = 204;
/// `sizeof(struct v4l2_input)`.
pub const INPUT_LEN: usize = if PTR64 { 80 } else { 76 };
/// `sizeof(struct v4l2_frmsizeenum)`.
pub const FRMSIZE_LEN: usize = 44;
/// `sizeof(struct v4l2_frmivalenum)`.
pub const FRMIVAL_LEN: usize = 52;

/// Field offsets of `struct v4l2_buffer`.
pub mod buffer {
    use super::PTR64;
    pub const INDEX: usize = 0;
    pub const TYPE: usize = 4;
    pub const BYTESUSED: usize = 8;
    pub const FLAGS: usize = 12;
    pub const FIELD: usize = 16;
    pub const TIMESTAMP: usize = if PTR64 { 24 } else { 20 };
    pub const SEQUENCE: usize = if PTR64 { 56 } else { 44 };
    pub const MEMORY: usize = if PTR64 { 60 } else { 48 };
    pub const OFFSET: usize = if PTR64 { 64 } else { 52 };
    pub const LENGTH: usize = if PTR64 { 72 } else { 56 };
}

/// Declares `Request` and `Request::ALL` from one list, so the two cannot drift apart.
macro_rules! requests {
    ($($v:ident),* $(,)?) => {
        /// The requests the interposer answers, by `_IOC_NR` (the size is checked separately).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Request {
            $($v),*
        }

        impl Request {
            /// Every request, in declaration order.
            pub const ALL: &'static [Request] = &[$(Request::$v),*];
        }
    };
}

requests! {
    QueryCap,
    EnumFmt,
    GFmt,
    SFmt,
    TryFmt,
    ReqBufs,
    QueryBuf,
    QBuf,
    DqBuf,
    StreamOn,
    StreamOff,
    GParm,
    SParm,
    EnumInput,
    GInput,
    SInput,
    EnumFrameSizes,
    EnumFrameIntervals,
}

impl Request {
    /// The request of a V4L2 ioctl number and the buffer size it must carry; None for every
    /// other V4L2 request (answered `ENOTTY` like a driver without it).
    pub fn decode(req: u32) -> Option<(Request, usize)> {
        if ioc_type(req) != V4L2_TYPE {
            return None;
        }
        let (r, len) = match ioc_nr(req) {
            0 => (Request::QueryCap, CAPABILITY_LEN),
            2 => (Request::EnumFmt, FMTDESC_LEN),
            4 => (Request::GFmt, FORMAT_LEN),
            5 => (Request::SFmt, FORMAT_LEN),
            64 => (Request::TryFmt, FORMAT_LEN),
            8 => (Request::ReqBufs, REQBUFS_LEN),
            9 => (Request::QueryBuf, BUFFER_LEN),
            15 => (Request::QBuf, BUFFER_LEN),
            17 => (Request::DqBuf, BUFFER_LEN),
            18 => (Request::StreamOn, 4),
            19 => (Request::StreamOff, 4),
            21 => (Request::GParm, STREAMPARM_LEN),
            22 => (Request::SParm, STREAMPARM_LEN),
            26 => (Request::EnumInput, INPUT_LEN),
            38 => (Request::GInput, 4),
            39 => (Request::SInput, 4),
            74 => (Request::EnumFrameSizes, FRMSIZE_LEN),
            75 => (Request::EnumFrameIntervals, FRMIVAL_LEN),
            _ => return None,
        };
        // A request whose encoded size is not ours (another ABI, a time64 v4l2_buffer) is not
        // answered rather than answered with the wrong layout.
        (ioc_size(req) == len).then_some((r, len))
    }
}

/// The request number of `r` on this target (`_IOC(dir, 'V', nr, size)`), for tests and
/// programs that drive the interposer directly.
pub fn encode(r: Request) -> u32 {
    let (nr, len, dir): (u32, usize, u32) = match r {
        Request::QueryCap => (0, CAPABILITY_LEN, 2),
        Request::EnumFmt => (2, FMTDESC_LEN, 3),
        Request::GFmt => (4, FORMAT_LEN, 3),
        Request::SFmt => (5, FORMAT_LEN, 3),
        Request::TryFmt => (64, FORMAT_LEN, 3),
        Request::ReqBufs => (8, REQBUFS_LEN, 3),
        Request::QueryBuf => (9, BUFFER_LEN, 3),
        Request::QBuf => (15, BUFFER_LEN, 3),
        Request::DqBuf => (17, BUFFER_LEN, 3),
        Request::StreamOn => (18, 4, 1),
        Request::StreamOff => (19, 4, 1),
        Request::GParm => (21, STREAMPARM_LEN, 3),
        Request::SParm => (22, STREAMPARM_LEN, 3),
        Request::EnumInput => (26, INPUT_LEN, 3),
        Request::GInput => (38, 4, 2),
        Request::SInput => (39, 4, 3),
        Request::EnumFrameSizes => (74, FRMSIZE_LEN, 3),
        Request::EnumFrameIntervals => (75, FRMIVAL_LEN, 3),
    };
    (dir << 30) | ((len as u32) << 16) | (u32::from(V4L2_TYPE) << 8) | nr
}

/// `V4L2_BUF_TYPE_VIDEO_CAPTURE`.
pub const BUF_TYPE_CAPTURE: u32 = 1;
/// `V4L2_MEMORY_MMAP`.
pub const MEMORY_MMAP: u32 = 1;
/// `V4L2_FIELD_NONE`.
pub const FIELD_NONE: u32 = 1;
/// `V4L2_COLORSPACE_SRGB` (what webcams report).
pub const COLORSPACE_SRGB: u32 = 8;
/// `V4L2_CAP_VIDEO_CAPTURE`.
pub const CAP_VIDEO_CAPTURE: u32 = 0x0000_0001;
/// `V4L2_CAP_READWRITE`.
pub const CAP_READWRITE: u32 = 0x0100_0000;
/// `V4L2_CAP_STREAMING`.
pub const CAP_STREAMING: u32 = 0x0400_0000;
/// `V4L2_CAP_DEVICE_CAPS`.
pub const CAP_DEVICE_CAPS: u32 = 0x8000_0000;
/// `V4L2_BUF_FLAG_MAPPED`.
pub const BUF_FLAG_MAPPED: u32 = 0x1;
/// `V4L2_BUF_FLAG_QUEUED`.
pub const BUF_FLAG_QUEUED: u32 = 0x2;
/// `V4L2_BUF_FLAG_DONE`.
pub const BUF_FLAG_DONE: u32 = 0x4;
/// `V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC`.
pub const BUF_FLAG_TIMESTAMP_MONOTONIC: u32 = 0x2000;
/// `V4L2_FRMSIZE_TYPE_DISCRETE` / `V4L2_FRMIVAL_TYPE_DISCRETE`.
pub const TYPE_DISCRETE: u32 = 1;
/// `V4L2_CAP_TIMEPERFRAME` (in `v4l2_captureparm.capability`).
pub const CAP_TIMEPERFRAME: u32 = 0x1000;
/// `V4L2_INPUT_TYPE_CAMERA`.
pub const INPUT_TYPE_CAMERA: u32 = 2;

/// A bounds-checked view of an ioctl argument. Out-of-range accesses read 0 / write nothing,
/// which cannot happen once [`Request::decode`] checked the length.
pub struct Buf<'a>(pub &'a mut [u8]);

impl Buf<'_> {
    pub fn u32(&self, at: usize) -> u32 {
        self.0
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .unwrap_or(0)
    }

    pub fn set_u32(&mut self, at: usize, v: u32) {
        if let Some(b) = self.0.get_mut(at..at + 4) {
            b.copy_from_slice(&v.to_le_bytes());
        }
    }

    /// Writes a native-width signed integer (a `long` of `struct timeval`).
    pub fn set_long(&mut self, at: usize, v: i64) {
        if PTR64 {
            if let Some(b) = self.0.get_mut(at..at + 8) {
                b.copy_from_slice(&v.to_le_bytes());
            }
        } else {
            self.set_u32(at, v as i32 as u32);
        }
    }

    /// Writes a NUL-terminated string into a fixed `char[len]` field, truncating.
    pub fn set_str(&mut self, at: usize, len: usize, s: &str) {
        if let Some(b) = self.0.get_mut(at..at + len) {
            b.fill(0);
            let n = s.len().min(len.saturating_sub(1));
            b[..n].copy_from_slice(&s.as_bytes()[..n]);
        }
    }

    /// Zeroes `len` bytes from `at`.
    pub fn zero(&mut self, at: usize, len: usize) {
        if let Some(b) = self.0.get_mut(at..at + len) {
            b.fill(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_numbers_match_the_kernel_headers() {
        // From linux/videodev2.h on x86_64 (e.g. `python3 -c` with ioctl-opt, or strace).
        if cfg!(target_pointer_width = "64") {
            assert_eq!(encode(Request::QueryCap), 0x8068_5600);
            assert_eq!(encode(Request::GFmt), 0xc0d0_5604);
            assert_eq!(encode(Request::SFmt), 0xc0d0_5605);
            assert_eq!(encode(Request::ReqBufs), 0xc014_5608);
            assert_eq!(encode(Request::QueryBuf), 0xc058_5609);
            assert_eq!(encode(Request::QBuf), 0xc058_560f);
            assert_eq!(encode(Request::DqBuf), 0xc058_5611);
            assert_eq!(encode(Request::StreamOn), 0x4004_5612);
            assert_eq!(encode(Request::GParm), 0xc0cc_5615);
            assert_eq!(encode(Request::EnumFrameSizes), 0xc02c_564a);
            assert_eq!(encode(Request::EnumInput), 0xc050_561a);
        }
    }

    #[test]
    fn every_request_decodes_back_and_other_sizes_do_not() {
        for &r in Request::ALL {
            let n = encode(r);
            assert_eq!(Request::decode(n).map(|d| d.0), Some(r));
            assert_eq!(Request::decode(n ^ (1 << 16)), None);
        }
        assert_eq!(Request::decode(0x5401), None); // TCGETS
    }

    #[test]
    fn buf_accesses_are_bounded() {
        let mut raw = [0u8; 8];
        let mut b = Buf(&mut raw);
        b.set_u32(6, 7);
        assert_eq!(b.u32(6), 0);
        b.set_str(0, 4, "abcdef");
        assert_eq!(&raw[..4], b"abc\0");
    }
}
