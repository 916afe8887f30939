//! The interposed devices of this process: which path is ours, the table of open device fds,
//! and the I/O that finishes each [`Outcome`] of the state machine (buffers in a memfd, credits
//! to the host, frames received and converted into the application's buffer, reconnects).

use std::ffi::{CString, c_int, c_void};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use selkies_v4l2_wire::abi::{Buf, Request};
use selkies_v4l2_wire::convert::convert;
use selkies_v4l2_wire::frame::{FrameHeader, PixFmt};
use selkies_v4l2_wire::scale::scale_i420;
use selkies_v4l2_wire::{DEFAULT_DEVICE, DEFAULT_SOCKET, DEVICE_ENV, SOCKET_ENV};

use crate::io::{self, Shm};
use crate::log::log;
use crate::state::{Device, Outcome};

/// How long `open` waits for the host to announce the camera's format.
const OPEN_TIMEOUT: Duration = Duration::from_secs(3);

/// One open device fd.
pub struct Dev {
    pub state: Device,
    shm: Option<Shm>,
    stride: usize,
    /// The last received payload (the feed's format) before conversion.
    scratch: Vec<u8>,
    /// `scratch` scaled to the negotiated size, when the frame came in another size.
    scaled: Vec<u8>,
    /// A converted frame for `read()`.
    out: Vec<u8>,
}

type Shared = Arc<Mutex<Dev>>;

static TABLE: Mutex<Vec<(c_int, Shared)>> = Mutex::new(Vec::new());

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic inside a hook is caught and turned into EIO; the data stays consistent enough to
    // close the fd, so a poisoned lock is recovered rather than propagated.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn env_or(name: &str, default: &str) -> Vec<u8> {
    match std::env::var_os(name) {
        Some(v) if !v.is_empty() => std::os::unix::ffi::OsStrExt::as_bytes(v.as_os_str()).to_vec(),
        _ => default.as_bytes().to_vec(),
    }
}

/// The device path this process presents.
fn device_path() -> &'static [u8] {
    static P: OnceLock<Vec<u8>> = OnceLock::new();
    P.get_or_init(|| env_or(DEVICE_ENV, DEFAULT_DEVICE))
}

fn socket_path() -> Option<CString> {
    CString::new(env_or(SOCKET_ENV, DEFAULT_SOCKET)).ok()
}

/// Whether `path` is the interposed device.
pub fn is_device(path: &[u8]) -> bool {
    path == device_path()
}

/// The minor number of the device (`/dev/video3` → 3), for `stat`.
pub fn minor() -> u32 {
    let p = device_path();
    let digits: Vec<u8> = p
        .iter()
        .rev()
        .take_while(|c| c.is_ascii_digit())
        .copied()
        .collect();
    digits.iter().rev().fold(0u32, |n, d| {
        n.saturating_mul(10).saturating_add(u32::from(d - b'0'))
    })
}

/// `/sys/dev/char/81:N/uevent` of the device: v4l2-ctl reads it to tell a video node from a
/// radio or media node, and there is no sysfs entry for a device that does not exist.
pub fn is_uevent(path: &[u8]) -> bool {
    path == format!("/sys/dev/char/81:{}/uevent", minor()).as_bytes()
}

/// An fd reading the device's uevent text (a sealed-off memfd, positioned at the start).
pub fn open_uevent() -> Result<c_int, c_int> {
    let name = device_path()
        .rsplit(|c| *c == b'/')
        .next()
        .unwrap_or(b"video0");
    let text = format!(
        "MAJOR=81\nMINOR={}\nDEVNAME={}\n",
        minor(),
        String::from_utf8_lossy(name)
    );
    // SAFETY: memfd_create with a static name; write/lseek on the fd we just created.
    unsafe {
        let fd = libc::syscall(
            libc::SYS_memfd_create,
            c"uevent".as_ptr(),
            libc::MFD_CLOEXEC as libc::c_long,
        ) as c_int;
        if fd < 0 {
            return Err(libc::ENOENT);
        }
        let n = libc::write(fd, text.as_ptr().cast(), text.len());
        if n != text.len() as isize || libc::lseek(fd, 0, libc::SEEK_SET) != 0 {
            io::close_raw(fd);
            return Err(libc::EIO);
        }
        Ok(fd)
    }
}

pub fn lookup(fd: c_int) -> Option<Shared> {
    lock(&TABLE)
        .iter()
        .find(|(f, _)| *f == fd)
        .map(|(_, d)| d.clone())
}

/// Registers `new` as another fd of the same open device as `old` (dup).
pub fn alias(old: &Shared, new: c_int) {
    let mut t = lock(&TABLE);
    t.retain(|(f, _)| *f != new);
    t.push((new, old.clone()));
}

/// Drops the fd's entry (its buffers go with the last reference).
pub fn forget(fd: c_int) {
    lock(&TABLE).retain(|(f, _)| *f != fd);
}

fn nonblocking(fd: c_int) -> bool {
    // SAFETY: F_GETFL on a valid fd.
    let fl = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    fl >= 0 && fl & libc::O_NONBLOCK != 0
}

/// Connects, reads the host's announcement and grants one frame for `read()` I/O (so that
/// `poll` before the first `read` sees data); returns the new fd.
pub fn open_device(flags: c_int) -> Result<c_int, c_int> {
    let path = socket_path().ok_or(libc::EINVAL)?;
    let fd = io::connect(&path).map_err(|e| {
        log!("connect {path:?}: errno {e}");
        // No host: the device does not exist.
        if e == libc::ECONNREFUSED {
            libc::ENOENT
        } else {
            e
        }
    })?;
    let fail = |e| {
        io::close_raw(fd);
        Err(e)
    };
    let feed = match io::wait_announcement(fd, OPEN_TIMEOUT) {
        Ok(f) => f,
        Err(e) => return fail(e),
    };
    let mut state = Device::new(feed);
    if let Err(e) = io::send_credit(fd, 1) {
        return fail(e);
    }
    state.read_credit = true;
    if flags & libc::O_NONBLOCK != 0 {
        // SAFETY: setting status flags on our own socket.
        unsafe { libc::fcntl(fd, libc::F_SETFL, libc::O_NONBLOCK) };
    }
    if flags & libc::O_CLOEXEC == 0 {
        // SAFETY: clearing FD_CLOEXEC (the socket was created with it) as the caller asked.
        unsafe { libc::fcntl(fd, libc::F_SETFD, 0) };
    }
    log!(
        "open fd {fd}: feed {}x{} {:?}",
        feed.width,
        feed.height,
        feed.format
    );
    let dev = Dev {
        state,
        shm: None,
        stride: 0,
        scratch: Vec::new(),
        scaled: Vec::new(),
        out: Vec::new(),
    };
    lock(&TABLE).push((fd, Arc::new(Mutex::new(dev))));
    Ok(fd)
}

/// Every fd of the process that is this device (the one in use and its dups).
fn aliases(shared: &Shared) -> Vec<c_int> {
    lock(&TABLE)
        .iter()
        .filter(|(_, d)| Arc::ptr_eq(d, shared))
        .map(|(f, _)| *f)
        .collect()
}

/// Replaces the connection behind `fd` and its dups with a fresh one (frames granted on the old
/// one are dropped with it), keeping the fd numbers and their flags.
fn resync(dev: &Dev, fds: &[c_int]) -> Result<(), c_int> {
    let path = socket_path().ok_or(libc::EINVAL)?;
    let new = io::connect(&path).map_err(|_| libc::EIO)?;
    let feed = match io::wait_announcement(new, OPEN_TIMEOUT) {
        Ok(f) => f,
        Err(_) => {
            io::close_raw(new);
            return Err(libc::EIO);
        }
    };
    // Another size is fine (frames are scaled to the negotiated one), another format is not.
    if feed.format != dev.state.feed.format {
        log!("the feed changed format while the device was open");
        io::close_raw(new);
        return Err(libc::EIO);
    }
    for &fd in fds {
        // SAFETY: fcntl/dup3 on fds we own; dup3 atomically replaces the connection under `fd`.
        let rc = unsafe {
            let fl = libc::fcntl(fd, libc::F_GETFL);
            let fdfl = libc::fcntl(fd, libc::F_GETFD);
            if fl >= 0 {
                libc::fcntl(new, libc::F_SETFL, fl & libc::O_NONBLOCK);
            }
            let cloexec = if fdfl >= 0 && fdfl & libc::FD_CLOEXEC != 0 {
                libc::O_CLOEXEC
            } else {
                0
            };
            // The raw syscall: the exported dup3 hook would re-register the fd.
            libc::syscall(
                libc::SYS_dup3,
                new as libc::c_long,
                fd as libc::c_long,
                cloexec as libc::c_long,
            )
        };
        if rc < 0 {
            io::close_raw(new);
            return Err(libc::EIO);
        }
    }
    io::close_raw(new);
    Ok(())
}

/// Scales `payload` (a frame of `frame`'s size) into `scaled` when its size is not the one the
/// application negotiated (`feed`); true when it did. Only I420 is scaled (what the host sends).
fn at_feed_size(
    feed: &FrameHeader,
    frame: &FrameHeader,
    payload: &[u8],
    scaled: &mut Vec<u8>,
) -> Result<bool, c_int> {
    if (frame.width, frame.height) == (feed.width, feed.height) {
        return Ok(false);
    }
    if feed.format != PixFmt::I420 {
        log!("a {:?} frame of another size cannot be scaled", feed.format);
        return Err(libc::EIO);
    }
    scale_i420(
        payload,
        (frame.width, frame.height),
        (feed.width, feed.height),
        scaled,
    )
    .map_err(|e| {
        log!("scale: {e}");
        libc::EIO
    })?;
    Ok(true)
}

/// Finishes a V4L2 ioctl on an interposed fd. `arg` points to `len` bytes (checked non-null).
///
/// # Safety
/// `arg` must point to at least `len` writable bytes, as the request's encoded size promises.
pub unsafe fn ioctl(
    shared: &Shared,
    fd: c_int,
    req: Request,
    arg: *mut c_void,
    len: usize,
) -> Result<c_int, c_int> {
    // SAFETY: guaranteed by the caller.
    let user = unsafe { std::slice::from_raw_parts_mut(arg.cast::<u8>(), len) };
    // Work on a copy so a failed request leaves the caller's struct untouched.
    let mut copy = user.to_vec();
    let fds = aliases(shared);
    let mut guard = lock(shared);
    let dev = &mut *guard;
    let outcome = dev.state.ioctl(req, &mut Buf(&mut copy));
    log!("ioctl fd {fd} {req:?} → {outcome:?}");
    let ret = match outcome {
        Outcome::Ret(r) => r,
        Outcome::Errno(e) => return Err(e),
        Outcome::Alloc {
            count,
            stride,
            resync: again,
        } => {
            if again {
                resync(dev, &fds)?;
            }
            dev.shm = None;
            dev.stride = stride as usize;
            if count > 0 {
                match Shm::new(count as usize * stride as usize) {
                    Ok(s) => dev.shm = Some(s),
                    Err(e) => {
                        log!("buffer memory: errno {e}");
                        dev.state.alloc_failed();
                        return Err(libc::ENOMEM);
                    }
                }
            } else if !dev.state.read_credit {
                // Back to read() I/O: keep a frame granted so poll-then-read works.
                io::send_credit(fds.first().copied().unwrap_or(fd), 1)?;
                dev.state.read_credit = true;
            }
            0
        }
        Outcome::Credits(n) => {
            io::send_credit(fd, n)?;
            0
        }
        Outcome::Resync => {
            resync(dev, &fds)?;
            0
        }
        Outcome::Receive { index } => {
            let feed = dev.state.feed;
            let frame = io::receive_frame(fd, nonblocking(fd), &feed, &mut dev.scratch)?;
            let src = at_feed_size(&feed, &frame, &dev.scratch, &mut dev.scaled)?;
            let (stride, to) = (dev.stride, dev.state.format);
            let shm = dev.shm.as_mut().ok_or(libc::EINVAL)?;
            let dst = shm
                .slice(index as usize * stride, stride)
                .ok_or(libc::EINVAL)?;
            let from = if src { &dev.scaled } else { &dev.scratch };
            let used =
                convert(feed.format, to, feed.width, feed.height, from, dst).map_err(|e| {
                    log!("convert: {e}");
                    libc::EIO
                })?;
            dev.state
                .dequeued(&mut Buf(&mut copy), index, &frame, used as u32);
            0
        }
    };
    user.copy_from_slice(&copy);
    Ok(ret)
}

/// `read()` I/O: one whole frame per call (truncated to `count`), like a V4L2 driver.
///
/// # Safety
/// `buf` must point to `count` writable bytes.
pub unsafe fn read(
    shared: &Shared,
    fd: c_int,
    buf: *mut c_void,
    count: usize,
) -> Result<usize, c_int> {
    let mut guard = lock(shared);
    let dev = &mut *guard;
    if dev.state.has_buffers() {
        return Err(libc::EBUSY);
    }
    if !dev.state.read_credit {
        io::send_credit(fd, 1)?;
        dev.state.read_credit = true;
    }
    let feed = dev.state.feed;
    let frame = io::receive_frame(fd, nonblocking(fd), &feed, &mut dev.scratch)?;
    dev.state.read_credit = false;
    let scaled = at_feed_size(&feed, &frame, &dev.scratch, &mut dev.scaled)?;
    let size = dev.state.size_image() as usize;
    dev.out.resize(size, 0);
    let to = dev.state.format;
    let from = if scaled { &dev.scaled } else { &dev.scratch };
    convert(feed.format, to, feed.width, feed.height, from, &mut dev.out).map_err(|_| libc::EIO)?;
    // Grant the next frame now, so it travels while the application works on this one.
    io::send_credit(fd, 1)?;
    dev.state.read_credit = true;
    dev.state.read_frame();
    let n = count.min(size);
    // SAFETY: `buf` has `count` bytes (the caller's contract) and `n <= count`.
    unsafe { std::ptr::copy_nonoverlapping(dev.out.as_ptr(), buf.cast::<u8>(), n) };
    Ok(n)
}

/// The memfd and offset an `mmap` of `len` bytes at `offset` on the device maps, if valid.
pub fn mapping(shared: &Shared, offset: i64, len: usize) -> Result<(c_int, i64), c_int> {
    let dev = lock(shared);
    let offset_u = u64::try_from(offset).map_err(|_| libc::EINVAL)?;
    let (_, stride) = dev.state.mapping(offset_u).ok_or(libc::EINVAL)?;
    if len > stride as usize {
        return Err(libc::EINVAL);
    }
    let shm = dev.shm.as_ref().ok_or(libc::EINVAL)?;
    Ok((shm.memfd, offset))
}
