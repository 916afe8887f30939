//! The webcam socket from the application's side: connect, grant credits, and receive whole
//! records. Everything is raw libc on the fd (never the hooked `read`), every wait has a
//! deadline once a record has started, and every failure is an errno: `EIO` for a host that
//! went away or sent bytes that do not parse, `EAGAIN` for a non-blocking fd with nothing yet.

use std::ffi::{CStr, c_int, c_void};
use std::time::{Duration, Instant};

use selkies_v4l2_wire::frame::{CREDIT_LEN, FrameHeader, HEADER_LEN, WireError, encode_credit};

use crate::log::log;

/// How long the rest of a record may take once its first byte arrived.
const RECORD_DEADLINE: Duration = Duration::from_secs(3);

fn errno() -> c_int {
    // SAFETY: __errno_location always returns this thread's errno slot.
    unsafe { *libc::__errno_location() }
}

/// Connects a stream socket to `path`; `ENOENT`/`ECONNREFUSED` when no host listens.
pub fn connect(path: &CStr) -> Result<c_int, c_int> {
    let bytes = path.to_bytes();
    // SAFETY: a zeroed sockaddr_un is valid; the path is copied in bounds below.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    if bytes.len() >= addr.sun_path.len() {
        return Err(libc::ENAMETOOLONG);
    }
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (d, s) in addr.sun_path.iter_mut().zip(bytes) {
        *d = *s as libc::c_char;
    }
    // SAFETY: plain socket creation.
    let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(errno());
    }
    let len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
    // SAFETY: `addr` is a valid sockaddr_un of `len` bytes.
    let rc = unsafe { libc::connect(fd, (&raw const addr).cast(), len) };
    if rc < 0 {
        let e = errno();
        close_raw(fd);
        return Err(e);
    }
    Ok(fd)
}

/// Closes an fd without going through the hooked `close`.
pub fn close_raw(fd: c_int) {
    // SAFETY: closing an fd this library owns.
    unsafe { libc::syscall(libc::SYS_close, fd) };
}

/// Grants the host `n` more frames.
pub fn send_credit(fd: c_int, n: u32) -> Result<(), c_int> {
    let rec = encode_credit(n);
    let mut sent = 0;
    while sent < CREDIT_LEN {
        // SAFETY: sending from an owned buffer within its length; MSG_NOSIGNAL keeps a closed
        // host from killing the application with SIGPIPE.
        let n = unsafe {
            libc::send(
                fd,
                rec[sent..].as_ptr().cast::<c_void>(),
                CREDIT_LEN - sent,
                libc::MSG_NOSIGNAL,
            )
        };
        if n < 0 {
            let e = errno();
            if e == libc::EINTR {
                continue;
            }
            if e == libc::EAGAIN {
                // A non-blocking socket with a full send buffer: wait for room (8 bytes).
                wait_fd(fd, libc::POLLOUT, Some(Instant::now() + RECORD_DEADLINE))?;
                continue;
            }
            log!("credit to fd {fd} failed: errno {e}");
            return Err(libc::EIO);
        }
        sent += n as usize;
    }
    Ok(())
}

/// Waits until `fd` has `events`; `None` waits for ever. `EIO` past the deadline.
fn wait_fd(fd: c_int, events: i16, deadline: Option<Instant>) -> Result<(), c_int> {
    loop {
        let timeout = match deadline {
            None => -1,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(libc::EIO);
                }
                left.as_millis().clamp(1, i32::MAX as u128) as c_int
            }
        };
        let mut p = libc::pollfd {
            fd,
            events,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let rc = unsafe { libc::poll(&mut p, 1, timeout) };
        if rc > 0 {
            return Ok(());
        }
        if rc < 0 && errno() != libc::EINTR {
            return Err(libc::EIO);
        }
    }
}

/// Whether `fd` is readable right now.
fn readable_now(fd: c_int) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, no wait.
    unsafe { libc::poll(&mut p, 1, 0) > 0 }
}

/// Fills `buf` from the socket. The first byte may take until `first` (None: for ever), the
/// rest must follow within [`RECORD_DEADLINE`]. EOF is `EIO`: the host went away.
fn recv_exact(fd: c_int, buf: &mut [u8], first: Option<Instant>) -> Result<(), c_int> {
    let mut got = 0;
    while got < buf.len() {
        let deadline = if got == 0 {
            first
        } else {
            Some(Instant::now() + RECORD_DEADLINE)
        };
        wait_fd(fd, libc::POLLIN, deadline)?;
        // SAFETY: receiving into the unfilled tail of an owned buffer.
        let n = unsafe {
            libc::recv(
                fd,
                buf[got..].as_mut_ptr().cast::<c_void>(),
                buf.len() - got,
                libc::MSG_DONTWAIT,
            )
        };
        if n == 0 {
            log!("fd {fd}: the host closed the webcam socket");
            return Err(libc::EIO);
        }
        if n < 0 {
            let e = errno();
            if e == libc::EINTR || e == libc::EAGAIN {
                continue;
            }
            return Err(libc::EIO);
        }
        got += n as usize;
    }
    Ok(())
}

fn parse(b: &[u8]) -> Result<FrameHeader, c_int> {
    FrameHeader::parse(b).map_err(|e: WireError| {
        log!("bad record from the host: {e}");
        libc::EIO
    })
}

/// Waits up to `timeout` for the host's format announcement (the first record after connect).
pub fn wait_announcement(fd: c_int, timeout: Duration) -> Result<FrameHeader, c_int> {
    let mut h = [0u8; HEADER_LEN];
    recv_exact(fd, &mut h, Some(Instant::now() + timeout)).map_err(|e| {
        log!("no format announcement from the host within {timeout:?}");
        if e == libc::EIO { libc::ENODEV } else { e }
    })?;
    let header = parse(&h)?;
    if !header.is_announcement() {
        log!("the host sent a frame before announcing the format");
        return Err(libc::EIO);
    }
    Ok(header)
}

/// Receives the next frame into `payload` (resized to fit). Format announcements are skipped;
/// a frame of another pixel format than `expect`'s is `EIO`. Its size may differ from
/// `expect`'s (the camera changed size, or the host sends its placeholder): the caller scales.
/// With `nonblock` and nothing received yet, `EAGAIN`.
pub fn receive_frame(
    fd: c_int,
    nonblock: bool,
    expect: &FrameHeader,
    payload: &mut Vec<u8>,
) -> Result<FrameHeader, c_int> {
    loop {
        if nonblock && !readable_now(fd) {
            return Err(libc::EAGAIN);
        }
        let mut h = [0u8; HEADER_LEN];
        recv_exact(fd, &mut h, None)?;
        let header = parse(&h)?;
        if header.is_announcement() {
            continue;
        }
        if header.format != expect.format {
            log!(
                "the feed changed format from {:?} to {:?}",
                expect.format,
                header.format
            );
            return Err(libc::EIO);
        }
        payload.resize(header.payload_len as usize, 0);
        recv_exact(fd, payload, Some(Instant::now() + RECORD_DEADLINE))?;
        return Ok(header);
    }
}

/// Anonymous shared memory for the MMAP buffers: a memfd (raw syscall, so no glibc 2.27
/// symbol) that the application maps through the hooked `mmap`, plus our own mapping of it.
pub struct Shm {
    pub memfd: c_int,
    base: *mut u8,
    len: usize,
}

// SAFETY: the mapping is plain memory owned by this value; access is serialised by the
// device's mutex.
unsafe impl Send for Shm {}

impl Shm {
    pub fn new(len: usize) -> Result<Shm, c_int> {
        // SAFETY: memfd_create with a static name and MFD_CLOEXEC.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_memfd_create,
                c"selkies-webcam".as_ptr(),
                libc::MFD_CLOEXEC as libc::c_long,
            )
        } as c_int;
        if fd < 0 {
            return Err(errno());
        }
        // SAFETY: sizing our own memfd.
        if unsafe { libc::ftruncate(fd, len as libc::off_t) } < 0 {
            let e = errno();
            close_raw(fd);
            return Err(e);
        }
        // SAFETY: a fresh shared mapping of our memfd. Variadic syscall arguments are passed
        // as full words: a bare 0 would leave the offset register's upper half undefined.
        let base = unsafe {
            libc::syscall(
                libc::SYS_mmap,
                0 as libc::c_long,
                len as libc::c_long,
                (libc::PROT_READ | libc::PROT_WRITE) as libc::c_long,
                libc::MAP_SHARED as libc::c_long,
                fd as libc::c_long,
                0 as libc::c_long,
            )
        } as *mut c_void;
        if base == libc::MAP_FAILED || (base as isize) < 0 && (base as isize) > -4096 {
            close_raw(fd);
            return Err(libc::ENOMEM);
        }
        Ok(Shm {
            memfd: fd,
            base: base.cast(),
            len,
        })
    }

    /// Buffer bytes `[offset, offset + len)`, if inside the mapping.
    pub fn slice(&mut self, offset: usize, len: usize) -> Option<&mut [u8]> {
        let end = offset.checked_add(len)?;
        if end > self.len {
            return None;
        }
        // SAFETY: in bounds of our live mapping, and `&mut self` makes the borrow exclusive.
        Some(unsafe { std::slice::from_raw_parts_mut(self.base.add(offset), len) })
    }
}

impl Drop for Shm {
    fn drop(&mut self) {
        // SAFETY: unmapping our own mapping; the application's mappings keep the pages alive.
        unsafe { libc::munmap(self.base.cast(), self.len) };
        close_raw(self.memfd);
    }
}
