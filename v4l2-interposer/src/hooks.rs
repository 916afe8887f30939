//! The exported `extern "C"` hooks of the webcam interposer: the shared prologues of
//! `selkies_interposer_rt::hooks` (guard against unwinding, forward what is not ours) around
//! this crate's answers for the device path, its sysfs uevent and the device fd; `dup`,
//! `mmap` and `stat` families are this interposer's own.
//!
//! Variadic C signatures are declared with one fixed trailing word, as the shared hooks explain.

use std::ffi::{CStr, c_char, c_int, c_ulong, c_void};

use libc::{FILE, off_t, size_t};
use selkies_interposer_rt::hooks::{guard, missing, or_errno, set_errno};
use selkies_v4l2_wire::abi::Request;

use crate::device;
use crate::real::typed;

/// # Safety
/// `path` must be null or a valid C string.
unsafe fn is_ours(path: *const c_char) -> bool {
    // SAFETY: guaranteed by the caller.
    !path.is_null() && device::is_device(unsafe { CStr::from_ptr(path) }.to_bytes())
}

/// What an `open` of `path` is: the device, its sysfs uevent, or someone else's file.
enum Target {
    Device,
    Uevent,
    Other,
}

/// # Safety
/// `path` must be null or a valid C string.
unsafe fn target(path: *const c_char) -> Target {
    if path.is_null() {
        return Target::Other;
    }
    // SAFETY: guaranteed by the caller.
    let p = unsafe { CStr::from_ptr(path) }.to_bytes();
    if device::is_device(p) {
        Target::Device
    } else if p.starts_with(b"/sys/dev/char/81:") && device::is_uevent(p) {
        Target::Uevent
    } else {
        Target::Other
    }
}

/// # Safety
/// `path` must be null or a valid C string.
unsafe fn open_ours(path: *const c_char, flags: c_int) -> Option<c_int> {
    // SAFETY: guaranteed by the caller.
    match unsafe { target(path) } {
        Target::Device => Some(or_errno(device::open_device(flags))),
        Target::Uevent => Some(or_errno(device::open_uevent())),
        Target::Other => None,
    }
}

selkies_interposer_rt::open_hooks!(open_ours);

/// The device's sysfs uevent (C++ streams open files with `fopen`, which does not go through
/// the hooked `open`).
///
/// # Safety
/// `path` must be null or a valid C string.
unsafe fn fopen_ours(path: *const c_char, _mode: *const c_char) -> Option<*mut FILE> {
    // SAFETY: guaranteed by the caller.
    let Target::Uevent = (unsafe { target(path) }) else {
        return None;
    };
    Some(match device::open_uevent() {
        // SAFETY: wrapping our fresh memfd for reading.
        Ok(fd) => unsafe { libc::fdopen(fd, c"r".as_ptr()) },
        Err(e) => {
            set_errno(e);
            std::ptr::null_mut()
        }
    })
}

selkies_interposer_rt::fopen_hooks!(fopen_ours);
// A closed fd's buffers go with it.
selkies_interposer_rt::close_hook!(device::forget);

/// Interposed `dup`: a duplicate of the device fd is the same device (GStreamer's buffer pool
/// works on a dup of v4l2src's fd).
///
/// # Safety
/// Same contract as `dup`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dup(fd: c_int) -> c_int {
    guard(-1, || {
        let Some(f) = typed::DUP() else {
            return missing(-1);
        };
        // SAFETY: forwarding the caller's argument unchanged.
        let new = unsafe { f(fd) };
        if new >= 0
            && let Some(dev) = device::lookup(fd)
        {
            device::alias(&dev, new);
        }
        new
    })
}

/// After `dup2`/`dup3` made `new` a copy of `old`: `new`'s previous device (if any) was closed
/// by the call, and `new` is now `old`'s device (if any).
fn redirected(old: c_int, new: c_int) {
    match device::lookup(old) {
        Some(dev) => device::alias(&dev, new),
        None => device::forget(new),
    }
}

/// Interposed `dup2`; see [`dup`].
///
/// # Safety
/// Same contract as `dup2`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dup2(old: c_int, new: c_int) -> c_int {
    guard(-1, || {
        let Some(f) = typed::DUP2() else {
            return missing(-1);
        };
        // SAFETY: forwarding the caller's arguments unchanged.
        let rc = unsafe { f(old, new) };
        if rc >= 0 && old != new {
            redirected(old, new);
        }
        rc
    })
}

/// Interposed `dup3`; see [`dup`].
///
/// # Safety
/// Same contract as `dup3`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dup3(old: c_int, new: c_int, flags: c_int) -> c_int {
    guard(-1, || {
        let Some(f) = typed::DUP3() else {
            return missing(-1);
        };
        // SAFETY: forwarding the caller's arguments unchanged.
        let rc = unsafe { f(old, new, flags) };
        if rc >= 0 {
            redirected(old, new);
        }
        rc
    })
}

/// V4L2 requests on the device fd are answered by the state machine (unknown ones `ENOTTY`,
/// like a driver without them); everything else (FIONBIO, FIONREAD and the like, which act on
/// the socket itself, and other fds) is real.
///
/// # Safety
/// Same contract as `ioctl`: `arg` must point to a buffer as large as the request implies.
unsafe fn ioctl_ours(fd: c_int, request: c_ulong, arg: *mut c_void) -> Option<c_int> {
    let dev = device::lookup(fd)?;
    // The kernel only looks at the low 32 bits of the request.
    let req = request as u32;
    if selkies_v4l2_wire::abi::ioc_type(req) != selkies_v4l2_wire::abi::V4L2_TYPE {
        return None;
    }
    let Some((r, len)) = Request::decode(req) else {
        set_errno(libc::ENOTTY);
        return Some(-1);
    };
    if arg.is_null() {
        set_errno(libc::EFAULT);
        return Some(-1);
    }
    // SAFETY: the request's encoded size is `len`, which the caller's buffer must hold.
    Some(or_errno(unsafe { device::ioctl(&dev, fd, r, arg, len) }))
}

selkies_interposer_rt::ioctl_hook!(ioctl_ours);

/// One whole frame per call on the device fd.
///
/// # Safety
/// Same contract as `read`.
unsafe fn read_ours(fd: c_int, buf: *mut c_void, count: size_t) -> Option<Result<usize, c_int>> {
    let dev = device::lookup(fd)?;
    if buf.is_null() {
        return Some(Err(libc::EFAULT));
    }
    // SAFETY: `buf`/`count` come straight from the caller of read, which guarantees them.
    Some(unsafe { device::read(&dev, fd, buf, count) })
}

selkies_interposer_rt::read_hooks!(read_ours);

macro_rules! mmap_hook {
    ($name:ident, $real:ident) => {
        /// Interposed `mmap` family member: a buffer offset on the device fd maps that buffer's
        /// part of the memfd; everything else is real.
        ///
        /// # Safety
        /// Same contract as the libc function of this name.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(
            addr: *mut c_void,
            len: size_t,
            prot: c_int,
            flags: c_int,
            fd: c_int,
            offset: off_t,
        ) -> *mut c_void {
            guard(libc::MAP_FAILED, || {
                let Some(real) = typed::$real() else {
                    return missing(libc::MAP_FAILED);
                };
                let Some(dev) = device::lookup(fd) else {
                    // SAFETY: forwarding the caller's arguments unchanged.
                    return unsafe { real(addr, len, prot, flags, fd, offset) };
                };
                match device::mapping(&dev, i64::from(offset), len) {
                    // SAFETY: mapping part of our own memfd as the caller asked.
                    Ok((memfd, off)) => unsafe {
                        real(addr, len, prot, flags, memfd, off as off_t)
                    },
                    Err(e) => {
                        set_errno(e);
                        libc::MAP_FAILED
                    }
                }
            })
        }
    };
}

mmap_hook!(mmap, MMAP);
mmap_hook!(mmap64, MMAP64);

/// `st` for the device: a character device of the V4L2 major (81), readable and writable.
fn fill_stat(st_mode: &mut libc::mode_t, st_rdev: &mut libc::dev_t) {
    *st_mode = libc::S_IFCHR | 0o666;
    *st_rdev = libc::makedev(81, device::minor());
}

/// The body of every stat hook: the device path gets a character device's stat (GStreamer's
/// v4l2src refuses anything else), whether or not a file exists there; any other path goes to
/// the real function `$real` with `$args`.
macro_rules! stat_body {
    ($path:ident, $buf:ident, $real:ident, ($($arg:expr),*)) => {
        guard(-1, || {
            // SAFETY: `path` comes from the caller, which requires a C string.
            if unsafe { is_ours($path) } && !$buf.is_null() {
                // SAFETY: the caller passes a valid stat buffer; zeroed is a valid value.
                let st = unsafe { &mut *$buf };
                // SAFETY: stat structs are plain integers.
                *st = unsafe { std::mem::zeroed() };
                fill_stat(&mut st.st_mode, &mut st.st_rdev);
                return 0;
            }
            match typed::$real() {
                // SAFETY: forwarding the caller's arguments unchanged.
                Some(f) => unsafe { f($($arg),*) },
                None => missing(-1),
            }
        })
    };
}

macro_rules! stat_hook {
    ($name:ident, $real:ident, $st:ty) => {
        /// Interposed `stat` family member (see `stat_body`).
        ///
        /// # Safety
        /// Same contract as the libc function of this name.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(path: *const c_char, buf: *mut $st) -> c_int {
            stat_body!(path, buf, $real, (path, buf))
        }
    };
}

macro_rules! xstat_hook {
    ($name:ident, $real:ident, $st:ty) => {
        /// Interposed `__xstat` family member (how glibc before 2.33 implements `stat`).
        ///
        /// # Safety
        /// Same contract as the libc function of this name.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(ver: c_int, path: *const c_char, buf: *mut $st) -> c_int {
            stat_body!(path, buf, $real, (ver, path, buf))
        }
    };
}

stat_hook!(stat, STAT, libc::stat);
stat_hook!(lstat, LSTAT, libc::stat);
stat_hook!(stat64, STAT64, libc::stat64);
stat_hook!(lstat64, LSTAT64, libc::stat64);
xstat_hook!(__xstat, XSTAT, libc::stat);
xstat_hook!(__lxstat, LXSTAT, libc::stat);
xstat_hook!(__xstat64, XSTAT64, libc::stat64);
xstat_hook!(__lxstat64, LXSTAT64, libc::stat64);
