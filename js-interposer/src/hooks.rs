//! The exported `extern "C"` hooks. Each one recognises interposed paths/fds and otherwise
//! forwards to the real function untouched. Every body runs inside [`guard`], so a bug here
//! becomes an `EIO` for that call instead of unwinding into C code.
//!
//! Variadic C signatures (`open(path, flags, ...)`, `ioctl(fd, req, ...)`) are declared with one
//! fixed trailing word: defining C-variadic functions is unstable, and reading one more
//! argument register/stack slot than was passed is harmless on the SysV x86-64 and i386 ABIs.

use std::ffi::{CStr, c_char, c_int, c_ulong, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};

use libc::{FILE, mode_t, size_t, ssize_t};
use selkies_js_wire::ioctl::{decode_ev, decode_js};
use selkies_js_wire::{DeviceKind, DeviceRef};

use crate::answer::{Answer, answer_ev, answer_js};
use crate::device;
use crate::log::log;
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
unsafe fn device_of(path: *const c_char) -> Option<DeviceRef> {
    if path.is_null() {
        return None;
    }
    // SAFETY: guaranteed by the caller.
    let bytes = unsafe { CStr::from_ptr(path) }.to_bytes();
    DeviceRef::from_device_path(bytes)
}

fn open_or_errno(dref: DeviceRef, flags: c_int) -> c_int {
    device::open_device(dref, flags).unwrap_or_else(|e| {
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
                match unsafe { device_of(path) } {
                    Some(dref) => open_or_errno(dref, flags),
                    None => match typed::$real() {
                        // SAFETY: forwarding the caller's arguments unchanged.
                        Some(f) => unsafe { f(path, flags, mode) },
                        None => missing(-1),
                    },
                }
            })
        }
    };
}

macro_rules! openat_hook {
    ($name:ident, $real:ident) => {
        /// Interposed `openat` family member: absolute device paths are ours whatever `dirfd`.
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
                match unsafe { device_of(path) } {
                    Some(dref) => open_or_errno(dref, flags),
                    None => match typed::$real() {
                        // SAFETY: forwarding the caller's arguments unchanged.
                        Some(f) => unsafe { f(dirfd, path, flags, mode) },
                        None => missing(-1),
                    },
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

/// `fopen` mode string → `open` flags (only what matters for a device: access and cloexec).
///
/// # Safety
/// `mode` must be null or a valid C string.
unsafe fn fopen_flags(mode: *const c_char) -> c_int {
    if mode.is_null() {
        return libc::O_RDONLY;
    }
    // SAFETY: guaranteed by the caller.
    let m = unsafe { CStr::from_ptr(mode) }.to_bytes();
    let mut flags = if m.contains(&b'+') || m.first().is_some_and(|c| *c == b'w' || *c == b'a') {
        libc::O_RDWR
    } else {
        libc::O_RDONLY
    };
    if m.contains(&b'e') {
        flags |= libc::O_CLOEXEC;
    }
    flags
}

macro_rules! fopen_hook {
    ($name:ident, $real:ident) => {
        /// Interposed `fopen` family member (glibc's `fopen` does not go through `open`).
        ///
        /// # Safety
        /// Same contract as the libc function of this name.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(path: *const c_char, mode: *const c_char) -> *mut FILE {
            guard(std::ptr::null_mut(), || {
                // SAFETY: `path` comes from the caller of fopen, which requires a C string.
                match unsafe { device_of(path) } {
                    Some(dref) => {
                        // SAFETY: `mode` comes from the caller of fopen.
                        let fd = open_or_errno(dref, unsafe { fopen_flags(mode) });
                        if fd < 0 {
                            return std::ptr::null_mut();
                        }
                        // SAFETY: wrapping a valid fd with the caller's mode string.
                        let file = unsafe { libc::fdopen(fd, mode) };
                        if file.is_null() {
                            device::forget(fd);
                            // SAFETY: the fd is ours and unused by anyone else yet.
                            unsafe { libc::syscall(libc::SYS_close, fd) };
                        }
                        file
                    }
                    None => match typed::$real() {
                        // SAFETY: forwarding the caller's arguments unchanged.
                        Some(f) => unsafe { f(path, mode) },
                        None => missing(std::ptr::null_mut()),
                    },
                }
            })
        }
    };
}

fopen_hook!(fopen, FOPEN);
fopen_hook!(fopen64, FOPEN64);

/// Interposed `close`: forget the fd, then close it for real.
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

/// Interposed `ioctl`: joystick requests on js fds and evdev requests on event fds are
/// answered from the config record; everything else (`FIONBIO`, `FIONREAD`, other fds) is real.
///
/// # Safety
/// Same contract as `ioctl`: `arg` must point to a buffer as large as the request implies.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ioctl(fd: c_int, request: c_ulong, arg: *mut c_void) -> c_int {
    guard(-1, || {
        let forward = || match typed::IOCTL() {
            // SAFETY: forwarding the caller's arguments unchanged.
            Some(f) => unsafe { f(fd, request, arg) },
            None => missing(-1),
        };
        let Some(dev) = device::lookup(fd) else {
            return forward();
        };
        // The kernel only looks at the low 32 bits of the request.
        let req = request as u32;
        let ty = selkies_js_wire::ioctl::ioc_type(req);
        if ty != b'j' && ty != b'E' {
            return forward();
        }
        let answer = match (dev.dref.kind, ty) {
            (DeviceKind::Js, b'j') => decode_js(req).map(|r| answer_js(&dev.config, r)),
            (DeviceKind::Event, b'E') => {
                decode_ev(req).map(|r| answer_ev(&dev.config, r, dev.word))
            }
            _ => None,
        };
        log!("ioctl fd {fd} req {req:#010x} → {answer:?}");
        match answer.unwrap_or(Answer::Errno(libc::EINVAL)) {
            Answer::Ret(r) => r,
            Answer::Errno(e) => {
                set_errno(e);
                -1
            }
            Answer::Data { data, ret } => {
                if arg.is_null() {
                    set_errno(libc::EFAULT);
                    return -1;
                }
                // SAFETY: the request encodes the buffer size and `data` never exceeds it
                // (or, for JSIOCGCORR, the kernel's own per-axis size).
                unsafe {
                    std::ptr::copy_nonoverlapping(data.as_ptr(), arg.cast::<u8>(), data.len())
                };
                ret
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
    // SAFETY: `buf`/`count` come straight from the caller of read, which guarantees them.
    match unsafe { device::read_records(&dev, fd, buf, count) } {
        Ok(n) => n as ssize_t,
        Err(e) => {
            set_errno(e);
            -1
        }
    }
}

/// Interposed `read`: whole records only on interposed fds.
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
