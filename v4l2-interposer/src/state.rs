//! The V4L2 capture device as a pure state machine: formats, buffers, queue and streaming
//! state, and the bytes of every ioctl answer. It does no I/O: where an answer needs the socket
//! or memory (allocating buffers, granting the host credits, receiving a frame, reconnecting),
//! it returns an [`Outcome`] that [`crate::hooks`] carries out.

use std::collections::VecDeque;

use selkies_v4l2_wire::abi::{self, Buf, Request, buffer};
use selkies_v4l2_wire::convert::offered;
use selkies_v4l2_wire::frame::{FrameHeader, PixFmt};

/// Most buffers an application may request (more are clamped, as drivers do).
pub const MAX_BUFFERS: u32 = 16;
/// The frame rate the device reports (the host forwards the browser's frames as they come).
pub const REPORTED_FPS: u32 = 30;
const PAGE: u32 = 4096;

/// What the hooks must do to finish an ioctl.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Return this value.
    Ret(i32),
    /// Fail with this errno.
    Errno(i32),
    /// (Re)allocate `count` buffers of `stride` bytes each (0: free them); reconnect first when
    /// `resync` (frames granted before may still be in flight).
    Alloc {
        count: u32,
        stride: u32,
        resync: bool,
    },
    /// Grant the host this many frames, then return 0.
    Credits(u32),
    /// Receive the next frame into buffer `index`, then call [`Device::dequeued`].
    Receive { index: u32 },
    /// Reconnect to drop frames in flight, then return 0.
    Resync,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Dequeued,
    Queued,
}

/// One open device.
#[derive(Debug)]
pub struct Device {
    /// The format the host feeds (from its announcement).
    pub feed: FrameHeader,
    /// The format the application chose.
    pub format: PixFmt,
    slots: Vec<Slot>,
    queue: VecDeque<u32>,
    stride: u32,
    streaming: bool,
    sequence: u32,
    /// A frame granted for `read()` I/O is in flight.
    pub read_credit: bool,
}

impl Device {
    pub fn new(feed: FrameHeader) -> Device {
        Device {
            feed,
            format: PixFmt::Yuyv,
            slots: Vec::new(),
            queue: VecDeque::new(),
            stride: 0,
            streaming: false,
            sequence: 0,
            read_credit: false,
        }
        .with_default_format()
    }

    fn with_default_format(mut self) -> Self {
        self.format = offered(self.feed.format)[0];
        self
    }

    pub fn width(&self) -> u32 {
        self.feed.width
    }

    pub fn height(&self) -> u32 {
        self.feed.height
    }

    /// Bytes of one frame in the chosen format.
    pub fn size_image(&self) -> u32 {
        self.format
            .frame_size(self.feed.width, self.feed.height)
            .unwrap_or(0)
    }

    /// Whether buffers exist (the device is in streaming I/O mode, `read()` refused).
    pub fn has_buffers(&self) -> bool {
        !self.slots.is_empty()
    }

    pub fn streaming(&self) -> bool {
        self.streaming
    }

    /// Buffer `index`'s offset and length for `mmap`, if `offset` names one.
    pub fn mapping(&self, offset: u64) -> Option<(u32, u32)> {
        if self.stride == 0 || !offset.is_multiple_of(u64::from(self.stride)) {
            return None;
        }
        let index = u32::try_from(offset / u64::from(self.stride)).ok()?;
        ((index as usize) < self.slots.len()).then_some((index, self.stride))
    }

    /// Allocation of a REQBUFS failed: no buffers.
    pub fn alloc_failed(&mut self) {
        self.slots.clear();
        self.queue.clear();
        self.stride = 0;
    }

    /// The answer to ioctl `req` with argument `arg` (already checked to be the request's size).
    pub fn ioctl(&mut self, req: Request, arg: &mut Buf<'_>) -> Outcome {
        match req {
            Request::QueryCap => self.querycap(arg),
            Request::EnumFmt => self.enum_fmt(arg),
            Request::GFmt => self.g_fmt(arg),
            Request::SFmt => self.s_fmt(arg, true),
            Request::TryFmt => self.s_fmt(arg, false),
            Request::ReqBufs => self.reqbufs(arg),
            Request::QueryBuf => self.querybuf(arg),
            Request::QBuf => self.qbuf(arg),
            Request::DqBuf => self.dqbuf(arg),
            Request::StreamOn => self.streamon(arg),
            Request::StreamOff => self.streamoff(arg),
            Request::GParm | Request::SParm => self.parm(arg),
            Request::EnumInput => self.enum_input(arg),
            Request::GInput => {
                arg.set_u32(0, 0);
                Outcome::Ret(0)
            }
            Request::SInput => match arg.u32(0) {
                0 => Outcome::Ret(0),
                _ => Outcome::Errno(libc_errno::EINVAL),
            },
            Request::EnumFrameSizes => self.enum_sizes(arg),
            Request::EnumFrameIntervals => self.enum_intervals(arg),
        }
    }

    fn querycap(&self, arg: &mut Buf<'_>) -> Outcome {
        arg.zero(0, abi::CAPABILITY_LEN);
        arg.set_str(0, 16, "selkies-webcam");
        arg.set_str(16, 32, "Selkies Webcam");
        arg.set_str(48, 32, "platform:selkies-webcam");
        arg.set_u32(80, (6 << 16) | (1 << 8));
        let dev = abi::CAP_VIDEO_CAPTURE | abi::CAP_STREAMING | abi::CAP_READWRITE;
        arg.set_u32(84, dev | abi::CAP_DEVICE_CAPS);
        arg.set_u32(88, dev);
        Outcome::Ret(0)
    }

    fn enum_fmt(&self, arg: &mut Buf<'_>) -> Outcome {
        if arg.u32(4) != abi::BUF_TYPE_CAPTURE {
            return Outcome::Errno(libc_errno::EINVAL);
        }
        let Some(f) = offered(self.feed.format).get(arg.u32(0) as usize).copied() else {
            return Outcome::Errno(libc_errno::EINVAL);
        };
        arg.set_u32(8, 0);
        arg.set_str(12, 32, f.description());
        arg.set_u32(44, f.code());
        arg.zero(48, 16);
        Outcome::Ret(0)
    }

    fn write_pix(&self, arg: &mut Buf<'_>, format: PixFmt) {
        let p = abi::FORMAT_PIX;
        arg.zero(p, 48);
        arg.set_u32(p, self.feed.width);
        arg.set_u32(p + 4, self.feed.height);
        arg.set_u32(p + 8, format.code());
        arg.set_u32(p + 12, abi::FIELD_NONE);
        arg.set_u32(p + 16, format.bytes_per_line(self.feed.width));
        arg.set_u32(
            p + 20,
            format
                .frame_size(self.feed.width, self.feed.height)
                .unwrap_or(0),
        );
        arg.set_u32(p + 24, abi::COLORSPACE_SRGB);
    }

    fn g_fmt(&self, arg: &mut Buf<'_>) -> Outcome {
        if arg.u32(0) != abi::BUF_TYPE_CAPTURE {
            return Outcome::Errno(libc_errno::EINVAL);
        }
        self.write_pix(arg, self.format);
        Outcome::Ret(0)
    }

    /// S_FMT and TRY_FMT: the size is the feed's, the pixel format is the asked one when
    /// offered and otherwise the default, as drivers adjust rather than refuse.
    fn s_fmt(&mut self, arg: &mut Buf<'_>, set: bool) -> Outcome {
        if arg.u32(0) != abi::BUF_TYPE_CAPTURE {
            return Outcome::Errno(libc_errno::EINVAL);
        }
        let asked = arg.u32(abi::FORMAT_PIX + 8);
        let choices = offered(self.feed.format);
        let format = choices
            .iter()
            .copied()
            .find(|f| f.code() == asked)
            .unwrap_or(choices[0]);
        if set {
            if self.has_buffers() && format != self.format {
                return Outcome::Errno(libc_errno::EBUSY);
            }
            self.format = format;
        }
        self.write_pix(arg, format);
        Outcome::Ret(0)
    }

    fn reqbufs(&mut self, arg: &mut Buf<'_>) -> Outcome {
        if arg.u32(4) != abi::BUF_TYPE_CAPTURE || arg.u32(8) != abi::MEMORY_MMAP {
            return Outcome::Errno(libc_errno::EINVAL);
        }
        if self.streaming {
            return Outcome::Errno(libc_errno::EBUSY);
        }
        let count = arg.u32(0).min(MAX_BUFFERS);
        let resync = self.read_credit;
        self.read_credit = false;
        self.queue.clear();
        self.slots = vec![Slot::Dequeued; count as usize];
        self.stride = if count == 0 {
            0
        } else {
            self.size_image().div_ceil(PAGE) * PAGE
        };
        arg.set_u32(0, count);
        // capabilities: V4L2_BUF_CAP_SUPPORTS_MMAP.
        arg.set_u32(12, 1);
        Outcome::Alloc {
            count,
            stride: self.stride,
            resync,
        }
    }

    fn fill_buffer(&self, arg: &mut Buf<'_>, index: u32, flags: u32) {
        arg.zero(0, abi::BUFFER_LEN);
        arg.set_u32(buffer::INDEX, index);
        arg.set_u32(buffer::TYPE, abi::BUF_TYPE_CAPTURE);
        arg.set_u32(
            buffer::FLAGS,
            flags | abi::BUF_FLAG_MAPPED | abi::BUF_FLAG_TIMESTAMP_MONOTONIC,
        );
        arg.set_u32(buffer::FIELD, abi::FIELD_NONE);
        arg.set_u32(buffer::MEMORY, abi::MEMORY_MMAP);
        arg.set_u32(buffer::OFFSET, index * self.stride);
        arg.set_u32(buffer::LENGTH, self.stride);
    }

    /// The buffer index named by a v4l2_buffer argument, if it is a valid MMAP capture one.
    fn index_of(&self, arg: &Buf<'_>) -> Option<u32> {
        let index = arg.u32(buffer::INDEX);
        (arg.u32(buffer::TYPE) == abi::BUF_TYPE_CAPTURE && (index as usize) < self.slots.len())
            .then_some(index)
    }

    fn querybuf(&self, arg: &mut Buf<'_>) -> Outcome {
        let Some(index) = self.index_of(arg) else {
            return Outcome::Errno(libc_errno::EINVAL);
        };
        let flags = match self.slots[index as usize] {
            Slot::Queued => abi::BUF_FLAG_QUEUED,
            Slot::Dequeued => 0,
        };
        self.fill_buffer(arg, index, flags);
        Outcome::Ret(0)
    }

    fn qbuf(&mut self, arg: &mut Buf<'_>) -> Outcome {
        let Some(index) = self.index_of(arg) else {
            return Outcome::Errno(libc_errno::EINVAL);
        };
        if arg.u32(buffer::MEMORY) != abi::MEMORY_MMAP || self.slots[index as usize] == Slot::Queued
        {
            return Outcome::Errno(libc_errno::EINVAL);
        }
        self.slots[index as usize] = Slot::Queued;
        self.queue.push_back(index);
        self.fill_buffer(arg, index, abi::BUF_FLAG_QUEUED);
        if self.streaming {
            Outcome::Credits(1)
        } else {
            Outcome::Ret(0)
        }
    }

    fn dqbuf(&mut self, arg: &mut Buf<'_>) -> Outcome {
        if arg.u32(buffer::TYPE) != abi::BUF_TYPE_CAPTURE || !self.streaming {
            return Outcome::Errno(libc_errno::EINVAL);
        }
        match self.queue.front() {
            Some(&index) => Outcome::Receive { index },
            None => Outcome::Errno(libc_errno::EINVAL),
        }
    }

    /// A frame arrived in buffer `index` (the head of the queue): take it off the queue and fill
    /// the application's v4l2_buffer.
    pub fn dequeued(&mut self, arg: &mut Buf<'_>, index: u32, frame: &FrameHeader, used: u32) {
        if self.queue.front() == Some(&index) {
            self.queue.pop_front();
        }
        if let Some(s) = self.slots.get_mut(index as usize) {
            *s = Slot::Dequeued;
        }
        self.fill_buffer(arg, index, abi::BUF_FLAG_DONE);
        arg.set_u32(buffer::BYTESUSED, used);
        arg.set_u32(buffer::SEQUENCE, self.sequence);
        self.sequence = self.sequence.wrapping_add(1);
        let us = frame.timestamp_us;
        arg.set_long(buffer::TIMESTAMP, (us / 1_000_000) as i64);
        arg.set_long(
            buffer::TIMESTAMP
                + if cfg!(target_pointer_width = "64") {
                    8
                } else {
                    4
                },
            (us % 1_000_000) as i64,
        );
    }

    /// Counts a frame delivered through `read()`.
    pub fn read_frame(&mut self) {
        self.sequence = self.sequence.wrapping_add(1);
    }

    fn streamon(&mut self, arg: &mut Buf<'_>) -> Outcome {
        if arg.u32(0) != abi::BUF_TYPE_CAPTURE || self.slots.is_empty() {
            return Outcome::Errno(libc_errno::EINVAL);
        }
        if self.streaming {
            return Outcome::Ret(0);
        }
        self.streaming = true;
        self.sequence = 0;
        match self.queue.len() as u32 {
            0 => Outcome::Ret(0),
            n => Outcome::Credits(n),
        }
    }

    fn streamoff(&mut self, arg: &mut Buf<'_>) -> Outcome {
        if arg.u32(0) != abi::BUF_TYPE_CAPTURE {
            return Outcome::Errno(libc_errno::EINVAL);
        }
        let was = std::mem::replace(&mut self.streaming, false);
        let in_flight = was && !self.queue.is_empty();
        self.queue.clear();
        self.slots.iter_mut().for_each(|s| *s = Slot::Dequeued);
        if in_flight {
            Outcome::Resync
        } else {
            Outcome::Ret(0)
        }
    }

    fn parm(&self, arg: &mut Buf<'_>) -> Outcome {
        if arg.u32(0) != abi::BUF_TYPE_CAPTURE {
            return Outcome::Errno(libc_errno::EINVAL);
        }
        arg.zero(4, abi::STREAMPARM_LEN - 4);
        arg.set_u32(4, abi::CAP_TIMEPERFRAME);
        arg.set_u32(12, 1);
        arg.set_u32(16, REPORTED_FPS);
        arg.set_u32(24, 2);
        Outcome::Ret(0)
    }

    fn enum_input(&self, arg: &mut Buf<'_>) -> Outcome {
        if arg.u32(0) != 0 {
            return Outcome::Errno(libc_errno::EINVAL);
        }
        arg.zero(4, abi::INPUT_LEN - 4);
        arg.set_str(4, 32, "Camera");
        arg.set_u32(36, abi::INPUT_TYPE_CAMERA);
        Outcome::Ret(0)
    }

    fn offers(&self, code: u32) -> bool {
        offered(self.feed.format).iter().any(|f| f.code() == code)
    }

    fn enum_sizes(&self, arg: &mut Buf<'_>) -> Outcome {
        if arg.u32(0) != 0 || !self.offers(arg.u32(4)) {
            return Outcome::Errno(libc_errno::EINVAL);
        }
        arg.zero(8, abi::FRMSIZE_LEN - 8);
        arg.set_u32(8, abi::TYPE_DISCRETE);
        arg.set_u32(12, self.feed.width);
        arg.set_u32(16, self.feed.height);
        Outcome::Ret(0)
    }

    fn enum_intervals(&self, arg: &mut Buf<'_>) -> Outcome {
        if arg.u32(0) != 0
            || !self.offers(arg.u32(4))
            || arg.u32(8) != self.feed.width
            || arg.u32(12) != self.feed.height
        {
            return Outcome::Errno(libc_errno::EINVAL);
        }
        arg.zero(16, abi::FRMIVAL_LEN - 16);
        arg.set_u32(16, abi::TYPE_DISCRETE);
        arg.set_u32(20, 1);
        arg.set_u32(24, REPORTED_FPS);
        Outcome::Ret(0)
    }
}

/// The errno values the state machine answers with (kept here so this module needs no libc).
pub mod libc_errno {
    pub const EINVAL: i32 = 22;
    pub const EBUSY: i32 = 16;
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
