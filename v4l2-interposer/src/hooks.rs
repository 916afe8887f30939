//! The exported `extern "C"` hooks. Each recognises the interposed path or fd and otherwise
//! forwards to the real function untouched. Every body runs inside [`guard`], so a bug here
//! becomes an `EIO` for that call instead of unwinding into C code.
//!
//! Variadic C signatures (`open(path, flags, ...)`, `ioctl(fd, req, ...)`) are declared with one
//! fixed trailing word: defining C-variadic functions is unstable, and reading one more
//! argument register/stack slot than was passed is harmless on the SysV x86-64 and i386 ABIs.

use std::ffi::{CStr, c_char, c_int, c_ulong, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};

use libc::{FILE, mode_t, off_t, size_t, ssize_t};
use selkies_v4l2_wire::abi::Request;

use crate::device;
use crate::real::typed;

fn set_errno(e: c_int) {
    // SAFETY: __errno_location always returns this thread's errno slot.
    unsafe { *libc::__errno_location() = e };
}

fn guard<T>(fail: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|_| {
        set_errno(libc::EIO);
        fail
    })
}

fn missing<T>(fail: T) -> T {
    set_errno(libc::ENOSYS);
    fail
}

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

fn or_errno(r: Result<c_int, c_int>) -> c_int {
    r.unwrap_or_else(|e| {
        set_errno(e);
        -1
    })
}

macro_rules! open_hook {
    ($name:ident, $real:ident) => {
        /// Interposed `open` family member; see the module docs.
        ///
        /// # Safety
        /// Same contract as the libc function of this name.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(path: *const c_char, flags: c_int, mode: mode_t) -> c_int {
            guard(-1, || {
                // SAFETY: `path` comes from the caller of open, which requires a C string.
                match unsafe { target(path) } {
                    Target::Device => return or_errno(device::open_device(flags)),
                    Target::Uevent => return or_errno(device::open_uevent()),
                    Target::Other => {}
                }
                match typed::$real() {
                    // SAFETY: forwarding the caller's arguments unchanged.
                    Some(f) => unsafe { f(path, flags, mode) },
                    None => missing(-1),
                }
            })
        }
    };
}

macro_rules! openat_hook {
    ($name:ident, $real:ident) => {
        /// Interposed `openat` family member: the absolute device path is ours whatever `dirfd`.
        ///
        /// # Safety
        /// Same contract as the libc function of this name.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(
            dirfd: c_int,
            path: *const c_char,
            flags: c_int,
            mode: mode_t,
        ) -> c_int {
            guard(-1, || {
                // SAFETY: `path` comes from the caller of openat, which requires a C string.
                match unsafe { target(path) } {
                    Target::Device => return or_errno(device::open_device(flags)),
                    Target::Uevent => return or_errno(device::open_uevent()),
                    Target::Other => {}
                }
                match typed::$real() {
                    // SAFETY: forwarding the caller's arguments unchanged.
                    Some(f) => unsafe { f(dirfd, path, flags, mode) },
                    None => missing(-1),
                }
            })
        }
    };
}

open_hook!(open, OPEN);
open_hook!(open64, OPEN64);
open_hook!(__open_2, OPEN_2);
open_hook!(__open64_2, OPEN64_2);
openat_hook!(openat, OPENAT);
openat_hook!(openat64, OPENAT64);
openat_hook!(__openat_2, OPENAT_2);
openat_hook!(__openat64_2, OPENAT64_2);

macro_rules! fopen_hook {
    ($name:ident, $real:ident) => {
        /// Interposed `fopen` family member, for the device's sysfs uevent (C++ streams open
        /// files with `fopen`, which does not go through the hooked `open`).
        ///
        /// # Safety
        /// Same contract as the libc function of this name.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(path: *const c_char, mode: *const c_char) -> *mut FILE {
            guard(std::ptr::null_mut(), || {
                // SAFETY: `path` comes from the caller of fopen, which requires a C string.
                if let Target::Uevent = unsafe { target(path) } {
                    return match device::open_uevent() {
                        // SAFETY: wrapping our fresh memfd for reading.
                        Ok(fd) => unsafe { libc::fdopen(fd, c"r".as_ptr()) },
                        Err(e) => {
                            set_errno(e);
                            std::ptr::null_mut()
                        }
                    };
                }
                match typed::$real() {
                    // SAFETY: forwarding the caller's arguments unchanged.
                    Some(f) => unsafe { f(path, mode) },
                    None => missing(std::ptr::null_mut()),
                }
            })
        }
    };
}

fopen_hook!(fopen, FOPEN);
fopen_hook!(fopen64, FOPEN64);

/// Interposed `close`: forget the fd (its buffers go with it), then close it for real.
///
/// # Safety
/// Same contract as `close`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn close(fd: c_int) -> c_int {
    guard(-1, || {
        device::forget(fd);
        match typed::CLOSE() {
            // SAFETY: forwarding the caller's argument unchanged.
            Some(f) => unsafe { f(fd) },
            None => missing(-1),
        }
    })
}

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

/// Interposed `ioctl`: V4L2 requests on the device fd are answered by the state machine
/// (unknown ones `ENOTTY`, like a driver without them); everything else is real.
///
/// # Safety
/// Same contract as `ioctl`: `arg` must point to a buffer as large as the request implies.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ioctl(fd: c_int, request: c_ulong, arg: *mut c_void) -> c_int {
    guard(-1, || {
        let Some(dev) = device::lookup(fd) else {
            return match typed::IOCTL() {
                // SAFETY: forwarding the caller's arguments unchanged.
                Some(f) => unsafe { f(fd, request, arg) },
                None => missing(-1),
            };
        };
        // The kernel only looks at the low 32 bits of the request.
        let req = request as u32;
        if selkies_v4l2_wire::abi::ioc_type(req) != selkies_v4l2_wire::abi::V4L2_TYPE {
            return match typed::IOCTL() {
                // SAFETY: FIONBIO, FIONREAD and the like act on the socket itself.
                Some(f) => unsafe { f(fd, request, arg) },
                None => missing(-1),
            };
        }
        let Some((r, len)) = Request::decode(req) else {
            set_errno(libc::ENOTTY);
            return -1;
        };
        if arg.is_null() {
            set_errno(libc::EFAULT);
            return -1;
        }
        // SAFETY: the request's encoded size is `len`, which the caller's buffer must hold.
        match unsafe { device::ioctl(&dev, fd, r, arg, len) } {
            Ok(v) => v,
            Err(e) => {
                set_errno(e);
                -1
            }
        }
    })
}

fn read_common(
    fd: c_int,
    buf: *mut c_void,
    count: size_t,
    real: impl FnOnce() -> ssize_t,
) -> ssize_t {
    let Some(dev) = device::lookup(fd) else {
        return real();
    };
    if buf.is_null() {
        set_errno(libc::EFAULT);
        return -1;
    }
    // SAFETY: `buf`/`count` come straight from the caller of read, which guarantees them.
    match unsafe { device::read(&dev, fd, buf, count) } {
        Ok(n) => n as ssize_t,
        Err(e) => {
            set_errno(e);
            -1
        }
    }
}

/// Interposed `read`: one whole frame per call on the device fd.
///
/// # Safety
/// Same contract as `read`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn read(fd: c_int, buf: *mut c_void, count: size_t) -> ssize_t {
    guard(-1, || {
        read_common(fd, buf, count, || match typed::READ() {
            // SAFETY: forwarding the caller's arguments unchanged.
            Some(f) => unsafe { f(fd, buf, count) },
            None => missing(-1),
        })
    })
}

/// Interposed `__read_chk` (what `read` becomes under `_FORTIFY_SOURCE`).
///
/// # Safety
/// Same contract as `__read_chk`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __read_chk(
    fd: c_int,
    buf: *mut c_void,
    count: size_t,
    buflen: size_t,
) -> ssize_t {
    guard(-1, || {
        let real = || match typed::READ_CHK() {
            // SAFETY: forwarding the caller's arguments unchanged.
            Some(f) => unsafe { f(fd, buf, count, buflen) },
            None => missing(-1),
        };
        if count > buflen {
            // Let glibc report the overflow exactly as it would have.
            return real();
        }
        read_common(fd, buf, count, real)
    })
}

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

macro_rules! stat_hook {
    ($name:ident, $real:ident, $st:ty) => {
        /// Interposed `stat` family member: the device path is a character device (GStreamer's
        /// v4l2src refuses anything else), whether or not a file exists there.
        ///
        /// # Safety
        /// Same contract as the libc function of this name.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(path: *const c_char, buf: *mut $st) -> c_int {
            guard(-1, || {
                // SAFETY: `path` comes from the caller, which requires a C string.
                if unsafe { is_ours(path) } && !buf.is_null() {
                    // SAFETY: the caller passes a valid stat buffer; zeroed is a valid value.
                    let st = unsafe { &mut *buf };
                    // SAFETY: stat structs are plain integers.
                    *st = unsafe { std::mem::zeroed() };
                    fill_stat(&mut st.st_mode, &mut st.st_rdev);
                    return 0;
                }
                match typed::$real() {
                    // SAFETY: forwarding the caller's arguments unchanged.
                    Some(f) => unsafe { f(path, buf) },
                    None => missing(-1),
                }
            })
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
            guard(-1, || {
                // SAFETY: `path` comes from the caller, which requires a C string.
                if unsafe { is_ours(path) } && !buf.is_null() {
                    // SAFETY: the caller passes a valid stat buffer; zeroed is a valid value.
                    let st = unsafe { &mut *buf };
                    // SAFETY: stat structs are plain integers.
                    *st = unsafe { std::mem::zeroed() };
                    fill_stat(&mut st.st_mode, &mut st.st_rdev);
                    return 0;
                }
                match typed::$real() {
                    // SAFETY: forwarding the caller's arguments unchanged.
                    Some(f) => unsafe { f(ver, path, buf) },
                    None => missing(-1),
                }
            })
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
