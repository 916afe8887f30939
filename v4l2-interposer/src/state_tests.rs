//! The ioctl state machine driven the way v4l2-ctl and GStreamer's v4l2src drive a camera.

use super::*;
use selkies_v4l2_wire::abi::{BUFFER_LEN, FORMAT_LEN, FORMAT_PIX, REQBUFS_LEN};

fn device() -> Device {
    Device::new(FrameHeader {
        payload_len: 0,
        ..FrameHeader::frame(PixFmt::I420, 640, 480, 0, 0).unwrap()
    })
}

fn call(d: &mut Device, req: Request, raw: &mut [u8]) -> Outcome {
    d.ioctl(req, &mut Buf(raw))
}

fn u32_at(raw: &[u8], at: usize) -> u32 {
    Buf(&mut raw.to_vec()).u32(at)
}

fn capture_arg(len: usize) -> Vec<u8> {
    let mut raw = vec![0u8; len];
    Buf(&mut raw).set_u32(0, abi::BUF_TYPE_CAPTURE);
    raw
}

fn buffer_arg(index: u32) -> Vec<u8> {
    let mut raw = vec![0u8; BUFFER_LEN];
    let mut b = Buf(&mut raw);
    b.set_u32(buffer::INDEX, index);
    b.set_u32(buffer::TYPE, abi::BUF_TYPE_CAPTURE);
    b.set_u32(buffer::MEMORY, abi::MEMORY_MMAP);
    raw
}

fn reqbufs(d: &mut Device, count: u32) -> Outcome {
    let mut raw = vec![0u8; REQBUFS_LEN];
    let mut b = Buf(&mut raw);
    b.set_u32(0, count);
    b.set_u32(4, abi::BUF_TYPE_CAPTURE);
    b.set_u32(8, abi::MEMORY_MMAP);
    call(d, Request::ReqBufs, &mut raw)
}

#[test]
fn querycap_says_capture_streaming_and_read() {
    let mut d = device();
    let mut raw = vec![0xffu8; abi::CAPABILITY_LEN];
    assert_eq!(call(&mut d, Request::QueryCap, &mut raw), Outcome::Ret(0));
    assert!(raw.starts_with(b"selkies-webcam\0"));
    let caps = u32_at(&raw, 88);
    assert_eq!(
        caps,
        abi::CAP_VIDEO_CAPTURE | abi::CAP_STREAMING | abi::CAP_READWRITE
    );
    assert_eq!(u32_at(&raw, 92), 0, "reserved is zeroed");
}

#[test]
fn formats_are_enumerated_and_the_size_is_the_feeds() {
    let mut d = device();
    let mut seen = vec![];
    for i in 0.. {
        let mut raw = vec![0u8; abi::FMTDESC_LEN];
        Buf(&mut raw).set_u32(0, i);
        Buf(&mut raw).set_u32(4, abi::BUF_TYPE_CAPTURE);
        match call(&mut d, Request::EnumFmt, &mut raw) {
            Outcome::Ret(0) => seen.push(u32_at(&raw, 44)),
            Outcome::Errno(e) => {
                assert_eq!(e, libc_errno::EINVAL);
                break;
            }
            o => panic!("{o:?}"),
        }
    }
    assert_eq!(seen, PixFmt::ALL.map(|f| f.code()).to_vec());

    // S_FMT to NV12 at 1920x1080 keeps the feed's 640x480 and takes NV12.
    let mut raw = capture_arg(FORMAT_LEN);
    let mut b = Buf(&mut raw);
    b.set_u32(FORMAT_PIX, 1920);
    b.set_u32(FORMAT_PIX + 4, 1080);
    b.set_u32(FORMAT_PIX + 8, PixFmt::Nv12.code());
    assert_eq!(call(&mut d, Request::SFmt, &mut raw), Outcome::Ret(0));
    assert_eq!(u32_at(&raw, FORMAT_PIX), 640);
    assert_eq!(u32_at(&raw, FORMAT_PIX + 4), 480);
    assert_eq!(u32_at(&raw, FORMAT_PIX + 20), 460_800);
    assert_eq!(d.format, PixFmt::Nv12);

    // An unknown format (MJPG) is adjusted to the default; TRY_FMT changes nothing.
    let mut raw = capture_arg(FORMAT_LEN);
    Buf(&mut raw).set_u32(FORMAT_PIX + 8, u32::from_le_bytes(*b"MJPG"));
    assert_eq!(call(&mut d, Request::TryFmt, &mut raw), Outcome::Ret(0));
    assert_eq!(u32_at(&raw, FORMAT_PIX + 8), PixFmt::Yuyv.code());
    assert_eq!(d.format, PixFmt::Nv12);

    let mut raw = vec![0u8; abi::FRMSIZE_LEN];
    Buf(&mut raw).set_u32(4, PixFmt::Yuyv.code());
    assert_eq!(
        call(&mut d, Request::EnumFrameSizes, &mut raw),
        Outcome::Ret(0)
    );
    assert_eq!((u32_at(&raw, 12), u32_at(&raw, 16)), (640, 480));
    Buf(&mut raw).set_u32(0, 1);
    assert_eq!(
        call(&mut d, Request::EnumFrameSizes, &mut raw),
        Outcome::Errno(22)
    );

    let mut raw = vec![0u8; abi::FRMIVAL_LEN];
    let mut b = Buf(&mut raw);
    b.set_u32(4, PixFmt::Yuyv.code());
    b.set_u32(8, 640);
    b.set_u32(12, 480);
    assert_eq!(
        call(&mut d, Request::EnumFrameIntervals, &mut raw),
        Outcome::Ret(0)
    );
    assert_eq!((u32_at(&raw, 20), u32_at(&raw, 24)), (1, REPORTED_FPS));

    let mut raw = capture_arg(abi::STREAMPARM_LEN);
    assert_eq!(call(&mut d, Request::GParm, &mut raw), Outcome::Ret(0));
    assert_eq!(u32_at(&raw, 16), REPORTED_FPS);
}

#[test]
fn mmap_streaming_cycle() {
    let mut d = device();
    d.read_credit = true;
    // REQBUFS after the open's read credit reconnects to drop that frame.
    let Outcome::Alloc {
        count: 4,
        stride,
        resync: true,
    } = reqbufs(&mut d, 4)
    else {
        panic!()
    };
    assert_eq!(stride % 4096, 0);
    assert!(stride >= 640 * 480 * 2);
    assert_eq!(d.mapping(u64::from(stride) * 3), Some((3, stride)));
    assert_eq!(d.mapping(u64::from(stride) * 4), None);
    assert_eq!(d.mapping(1), None);

    let mut raw = buffer_arg(2);
    assert_eq!(call(&mut d, Request::QueryBuf, &mut raw), Outcome::Ret(0));
    assert_eq!(u32_at(&raw, buffer::OFFSET), 2 * stride);
    assert_eq!(u32_at(&raw, buffer::LENGTH), stride);

    // DQBUF before STREAMON is EINVAL; queueing before STREAMON grants nothing yet.
    assert_eq!(
        call(&mut d, Request::DqBuf, &mut buffer_arg(0)),
        Outcome::Errno(22)
    );
    for i in 0..4 {
        assert_eq!(
            call(&mut d, Request::QBuf, &mut buffer_arg(i)),
            Outcome::Ret(0)
        );
    }
    assert_eq!(
        call(&mut d, Request::QBuf, &mut buffer_arg(1)),
        Outcome::Errno(22),
        "twice"
    );
    assert_eq!(
        call(&mut d, Request::QBuf, &mut buffer_arg(9)),
        Outcome::Errno(22)
    );
    let mut on = capture_arg(4);
    assert_eq!(
        call(&mut d, Request::StreamOn, &mut on),
        Outcome::Credits(4)
    );

    // Frames land in queue order; a requeued buffer grants one more frame.
    let frame = FrameHeader::frame(PixFmt::I420, 640, 480, 5, 2_500_000).unwrap();
    for expect in [0u32, 1] {
        let mut raw = buffer_arg(0);
        assert_eq!(
            call(&mut d, Request::DqBuf, &mut raw),
            Outcome::Receive { index: expect }
        );
        let used = d.size_image();
        d.dequeued(&mut Buf(&mut raw), expect, &frame, used);
        assert_eq!(u32_at(&raw, buffer::INDEX), expect);
        assert_eq!(u32_at(&raw, buffer::SEQUENCE), expect);
        assert_eq!(u32_at(&raw, buffer::BYTESUSED), 614_400);
        assert_eq!(u32_at(&raw, buffer::TIMESTAMP), 2);
        assert_ne!(u32_at(&raw, buffer::FLAGS) & abi::BUF_FLAG_DONE, 0);
    }
    assert_eq!(
        call(&mut d, Request::QBuf, &mut buffer_arg(0)),
        Outcome::Credits(1)
    );
    // Changing the format or the buffers while streaming is refused.
    assert_eq!(reqbufs(&mut d, 2), Outcome::Errno(16));
    let mut f = capture_arg(FORMAT_LEN);
    Buf(&mut f).set_u32(FORMAT_PIX + 8, PixFmt::Nv12.code());
    assert_eq!(call(&mut d, Request::SFmt, &mut f), Outcome::Errno(16));

    // STREAMOFF with frames granted reconnects; afterwards every buffer is dequeued.
    assert_eq!(call(&mut d, Request::StreamOff, &mut on), Outcome::Resync);
    assert_eq!(
        call(&mut d, Request::DqBuf, &mut buffer_arg(0)),
        Outcome::Errno(22)
    );
    let mut raw = buffer_arg(3);
    call(&mut d, Request::QueryBuf, &mut raw);
    assert_eq!(u32_at(&raw, buffer::FLAGS) & abi::BUF_FLAG_QUEUED, 0);
    assert_eq!(call(&mut d, Request::StreamOff, &mut on), Outcome::Ret(0));
    assert_eq!(
        reqbufs(&mut d, 0),
        Outcome::Alloc {
            count: 0,
            stride: 0,
            resync: false
        }
    );
    assert!(!d.has_buffers());
}

#[test]
fn bad_arguments_are_einval() {
    let mut d = device();
    let mut raw = vec![0u8; FORMAT_LEN];
    Buf(&mut raw).set_u32(0, 2); // VIDEO_OUTPUT
    assert_eq!(call(&mut d, Request::GFmt, &mut raw), Outcome::Errno(22));
    let mut raw = vec![0u8; REQBUFS_LEN];
    Buf(&mut raw).set_u32(4, abi::BUF_TYPE_CAPTURE);
    Buf(&mut raw).set_u32(8, 2); // USERPTR
    assert_eq!(call(&mut d, Request::ReqBufs, &mut raw), Outcome::Errno(22));
    assert_eq!(
        call(&mut d, Request::StreamOn, &mut capture_arg(4)),
        Outcome::Errno(22)
    );
    let Outcome::Alloc { count, .. } = reqbufs(&mut d, 1000) else {
        panic!()
    };
    assert_eq!(count, MAX_BUFFERS);
    let mut raw = vec![0u8; abi::INPUT_LEN];
    assert_eq!(call(&mut d, Request::EnumInput, &mut raw), Outcome::Ret(0));
    Buf(&mut raw).set_u32(0, 1);
    assert_eq!(
        call(&mut d, Request::EnumInput, &mut raw),
        Outcome::Errno(22)
    );
    assert_eq!(
        call(&mut d, Request::SInput, &mut [1, 0, 0, 0]),
        Outcome::Errno(22)
    );
}
