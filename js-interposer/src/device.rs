//! Interposed devices: connecting to the host's socket, the config handshake, the table of
//! open fds, and record-aligned reads. All socket I/O uses calls we do not hook (`recv`, `send`,
//! `poll`, raw `close`), so nothing here re-enters the hooks.

use std::ffi::{c_int, c_ulong, c_void};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use selkies_js_wire::config::{EV_CONFIG_LEN, JS_CONFIG_LEN};
use selkies_js_wire::event::{JS_EVENT_LEN, input_event_len};
use selkies_js_wire::paths::{DEFAULT_SOCKET_DIR, SOCKET_DIR_ENV};
use selkies_js_wire::{DeviceConfig, DeviceKind, DeviceRef};

use crate::log::log;

/// How long `open` waits for the host's config record: long enough for a busy host, short
/// enough that a wedged host looks like a missing device rather than a hung game.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_millis(1500);
/// How long a read waits for the rest of a record the host has started writing.
const RECORD_TIMEOUT_MS: c_int = 2000;

/// One open interposed device.
pub struct Device {
    /// Which device it is.
    pub dref: DeviceRef,
    /// The config record received at open.
    pub config: DeviceConfig,
    /// `sizeof(long)` of this process: the `input_event` layout the host was told.
    pub word: usize,
    /// Identity of the socket, to detect an fd number closed behind our back and reused.
    ino: Option<(u64, u64)>,
}

impl Device {
    /// Size of one record as the application reads it.
    pub fn record_len(&self) -> usize {
        match self.dref.kind {
            DeviceKind::Js => JS_EVENT_LEN,
            DeviceKind::Event => input_event_len(self.word),
        }
    }
}

static OPEN_COUNT: AtomicUsize = AtomicUsize::new(0);
static TABLE: Mutex<Vec<(c_int, Arc<Device>)>> = Mutex::new(Vec::new());

fn table() -> MutexGuard<'static, Vec<(c_int, Arc<Device>)>> {
    TABLE.lock().unwrap_or_else(|e| e.into_inner())
}

fn errno() -> c_int {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

fn raw_close(fd: c_int) {
    // SAFETY: closing an fd this library created; raw syscall so the `close` hook is bypassed.
    unsafe { libc::syscall(libc::SYS_close, fd) };
}

/// Identity of an open file (`statx` by fd, as a raw syscall so the library needs no glibc
/// newer than 2.17); `None` where the kernel or a seccomp filter refuses it.
fn identity(fd: c_int) -> Option<(u64, u64)> {
    let mut stx = std::mem::MaybeUninit::<libc::statx>::zeroed();
    // SAFETY: statx with AT_EMPTY_PATH on an fd writes at most one `struct statx`.
    let r = unsafe {
        libc::syscall(
            libc::SYS_statx,
            fd,
            c"".as_ptr(),
            libc::AT_EMPTY_PATH,
            libc::STATX_INO,
            stx.as_mut_ptr(),
        )
    };
    if r != 0 {
        return None;
    }
    // SAFETY: zero-initialised and filled by the kernel.
    let stx = unsafe { stx.assume_init() };
    let dev = (u64::from(stx.stx_dev_major) << 32) | u64::from(stx.stx_dev_minor);
    Some((dev, stx.stx_ino))
}

/// The socket directory (`SELKIES_INTERPOSER_SOCKET_PATH`, default `/tmp`), read once.
fn socket_dir() -> &'static [u8] {
    static DIR: OnceLock<Vec<u8>> = OnceLock::new();
    DIR.get_or_init(|| {
        use std::os::unix::ffi::OsStringExt;
        match std::env::var_os(SOCKET_DIR_ENV) {
            Some(d) if !d.is_empty() => d.into_vec(),
            _ => DEFAULT_SOCKET_DIR.as_bytes().to_vec(),
        }
    })
}

fn sockaddr(dref: DeviceRef) -> Result<(libc::sockaddr_un, libc::socklen_t), c_int> {
    let mut path = socket_dir().to_vec();
    if path.last() != Some(&b'/') {
        path.push(b'/');
    }
    path.extend_from_slice(dref.socket_name().as_bytes());
    // SAFETY: sockaddr_un is plain old data; all-zero is a valid value.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    if path.len() >= addr.sun_path.len() || path.contains(&0) {
        return Err(libc::ENAMETOOLONG);
    }
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (dst, src) in addr.sun_path.iter_mut().zip(&path) {
        *dst = *src as libc::c_char;
    }
    let len = std::mem::size_of::<libc::sa_family_t>() + path.len() + 1;
    Ok((addr, len as libc::socklen_t))
}

/// Waits until `fd` is readable; `false` on timeout or error.
fn wait_readable(fd: c_int, timeout_ms: c_int) -> bool {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    loop {
        // SAFETY: one valid pollfd.
        let r = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
        if r < 0 && errno() == libc::EINTR {
            continue;
        }
        return r > 0;
    }
}

/// Reads exactly `buf.len()` bytes before `deadline` (the record may arrive in pieces).
fn recv_exact(fd: c_int, buf: &mut [u8], deadline: Instant) -> Result<(), c_int> {
    let mut got = 0;
    while got < buf.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || !wait_readable(fd, left.as_millis().max(1) as c_int) {
            return Err(libc::ETIMEDOUT);
        }
        let rest = &mut buf[got..];
        // SAFETY: receiving into the unfilled tail of an owned buffer.
        let n = unsafe { libc::recv(fd, rest.as_mut_ptr().cast(), rest.len(), libc::MSG_DONTWAIT) };
        match n {
            0 => return Err(libc::ECONNRESET),
            n if n > 0 => got += n as usize,
            _ if matches!(errno(), libc::EINTR | libc::EAGAIN) => {}
            _ => return Err(errno()),
        }
    }
    Ok(())
}

fn connect(dref: DeviceRef, flags: c_int) -> Result<c_int, c_int> {
    let (addr, len) = sockaddr(dref)?;
    let cloexec = if flags & libc::O_CLOEXEC != 0 {
        libc::SOCK_CLOEXEC
    } else {
        0
    };
    // SAFETY: plain socket creation.
    let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | cloexec, 0) };
    if fd < 0 {
        return Err(errno());
    }
    // A full accept backlog is transient (several games opening at once): retry briefly.
    for _ in 0..100 {
        // SAFETY: addr/len describe a valid sockaddr_un.
        let r = unsafe { libc::connect(fd, (&raw const addr).cast(), len) };
        if r == 0 {
            return Ok(fd);
        }
        match errno() {
            libc::EINTR | libc::EAGAIN => std::thread::sleep(Duration::from_millis(1)),
            e => {
                raw_close(fd);
                // No socket file ⇒ no device; anything else (stale socket, refused) ⇒ the
                // device exists but cannot be used right now.
                return Err(if e == libc::ENOENT {
                    libc::ENOENT
                } else {
                    libc::ENODEV
                });
            }
        }
    }
    raw_close(fd);
    Err(libc::ENODEV)
}

/// Opens an interposed device: connect, read the config record fully, tell event sockets our
/// word size, honour `O_NONBLOCK`, and remember the fd. Returns the fd or an errno.
pub fn open_device(dref: DeviceRef, flags: c_int) -> Result<c_int, c_int> {
    let fd = connect(dref, flags)?;
    let result = handshake(fd, dref, flags);
    match result {
        Ok(dev) => {
            log!(
                "opened {} as fd {fd} ({:?})",
                dref.device_path(),
                String::from_utf8_lossy(&dev.config.name)
            );
            let mut t = table();
            t.retain(|(f, _)| *f != fd);
            t.push((fd, Arc::new(dev)));
            OPEN_COUNT.store(t.len(), Ordering::Release);
            Ok(fd)
        }
        Err(e) => {
            log!("open {} failed: errno {e}", dref.device_path());
            raw_close(fd);
            Err(if e == libc::ENOENT { e } else { libc::ENODEV })
        }
    }
}

fn handshake(fd: c_int, dref: DeviceRef, flags: c_int) -> Result<Device, c_int> {
    let deadline = Instant::now() + HANDSHAKE_TIMEOUT;
    let word = std::mem::size_of::<c_ulong>();
    let config = match dref.kind {
        DeviceKind::Js => {
            let mut rec = [0u8; JS_CONFIG_LEN];
            recv_exact(fd, &mut rec, deadline)?;
            DeviceConfig::decode_js(&rec)
        }
        DeviceKind::Event => {
            let mut rec = [0u8; EV_CONFIG_LEN];
            recv_exact(fd, &mut rec, deadline)?;
            let byte = [word as u8];
            // SAFETY: sending one byte from a local buffer.
            let n = unsafe { libc::send(fd, byte.as_ptr().cast(), 1, libc::MSG_NOSIGNAL) };
            if n != 1 {
                return Err(errno());
            }
            DeviceConfig::decode_event(&rec)
        }
    };
    if flags & libc::O_NONBLOCK != 0 {
        // SAFETY: fcntl on our own socket.
        unsafe {
            let fl = libc::fcntl(fd, libc::F_GETFL);
            libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK);
        }
    }
    let ino = identity(fd);
    Ok(Device {
        dref,
        config,
        word,
        ino,
    })
}

/// The device behind `fd`, if it is one of ours. Cheap when no device is open, which is the
/// case for nearly every `read` in a game.
pub fn lookup(fd: c_int) -> Option<Arc<Device>> {
    if OPEN_COUNT.load(Ordering::Acquire) == 0 {
        return None;
    }
    let dev = table()
        .iter()
        .find(|(f, _)| *f == fd)
        .map(|(_, d)| Arc::clone(d))?;
    if dev.ino.is_none() || identity(fd) == dev.ino {
        return Some(dev);
    }
    // The fd was closed without our `close` (e.g. `fclose`, raw syscall) and reused.
    forget(fd);
    None
}

/// Drops `fd` from the table (before the real close, so the number cannot be reused first).
pub fn forget(fd: c_int) {
    if OPEN_COUNT.load(Ordering::Acquire) == 0 {
        return;
    }
    let mut t = table();
    t.retain(|(f, _)| *f != fd);
    OPEN_COUNT.store(t.len(), Ordering::Release);
}

/// `read` on an interposed fd: never hands out part of a record, like a device node.
///
/// The host writes whole records, but a stream socket may still deliver one in two pieces
/// under back-pressure; the rest is already in flight, so we wait for it.
///
/// # Safety
/// `buf` must be valid for writes of `count` bytes.
// `is_multiple_of` would need rustc 1.87; the i686 build uses Debian's older rustc.
#[allow(clippy::manual_is_multiple_of)]
pub unsafe fn read_records(
    dev: &Device,
    fd: c_int,
    buf: *mut c_void,
    count: usize,
) -> Result<usize, c_int> {
    let rec = dev.record_len();
    if count < rec {
        return Err(libc::EINVAL);
    }
    let want = count / rec * rec;
    // SAFETY: the caller's buffer holds `count >= want` bytes.
    let n = unsafe { libc::recv(fd, buf, want, 0) };
    if n < 0 {
        return Err(errno());
    }
    let mut got = n as usize;
    if got == 0 {
        // The host closed the socket: the device is gone.
        return Err(libc::ENODEV);
    }
    while got % rec != 0 {
        if !wait_readable(fd, RECORD_TIMEOUT_MS) {
            return Err(libc::EIO);
        }
        let need = rec - got % rec;
        // SAFETY: `got + need <= want <= count`, inside the caller's buffer.
        let n = unsafe {
            libc::recv(
                fd,
                buf.cast::<u8>().add(got).cast(),
                need,
                libc::MSG_DONTWAIT,
            )
        };
        match n {
            0 => return Err(libc::ENODEV),
            n if n > 0 => got += n as usize,
            _ if matches!(errno(), libc::EINTR | libc::EAGAIN) => {}
            _ => return Err(errno()),
        }
    }
    Ok(got)
}
