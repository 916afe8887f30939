//! The hook bodies both interposers share: errno handling, the no-unwind guard, the C
//! signatures of the wrapped functions, and macros that define the exported `open`, `openat`,
//! `fopen`, `close`, `ioctl` and `read` families around one crate-specific decision each ("is
//! this path/fd ours, and what is the answer"), forwarding everything else to the real function.
//!
//! Variadic C signatures (`open(path, flags, ...)`, `ioctl(fd, req, ...)`) are declared with one
//! fixed trailing word: defining C-variadic functions is unstable, and reading one more
//! argument register/stack slot than was passed is harmless on the SysV x86-64 and i386 ABIs.
//! The macros expect the invoking crate to have a `typed` module from [`crate::reals!`] with
//! the accessors they name (`OPEN`, `OPENAT`, `CLOSE`, `IOCTL`, `READ`, …).

use std::ffi::{c_char, c_int, c_ulong, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};

use libc::{FILE, mode_t, size_t, ssize_t};

/// `open`/`open64`/`__open_2`-style: `(path, flags, mode)`.
pub type OpenFn = unsafe extern "C" fn(*const c_char, c_int, mode_t) -> c_int;
/// `openat`-style: `(dirfd, path, flags, mode)`.
pub type OpenatFn = unsafe extern "C" fn(c_int, *const c_char, c_int, mode_t) -> c_int;
/// `fopen`-style.
pub type FopenFn = unsafe extern "C" fn(*const c_char, *const c_char) -> *mut FILE;
/// `close`.
pub type CloseFn = unsafe extern "C" fn(c_int) -> c_int;
/// `ioctl` (the variadic argument is always a single word).
pub type IoctlFn = unsafe extern "C" fn(c_int, c_ulong, *mut c_void) -> c_int;
/// `read`.
pub type ReadFn = unsafe extern "C" fn(c_int, *mut c_void, size_t) -> ssize_t;
/// `__read_chk`.
pub type ReadChkFn = unsafe extern "C" fn(c_int, *mut c_void, size_t, size_t) -> ssize_t;

/// Sets this thread's `errno`.
pub fn set_errno(e: c_int) {
    // SAFETY: __errno_location always returns this thread's errno slot.
    unsafe { *libc::__errno_location() = e };
}

/// Runs a hook body; a panic becomes `EIO` and `fail` instead of unwinding into C code.
pub fn guard<T>(fail: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|_| {
        set_errno(libc::EIO);
        fail
    })
}

/// The C library lacks the real function: `ENOSYS` and `fail`.
pub fn missing<T>(fail: T) -> T {
    set_errno(libc::ENOSYS);
    fail
}

/// `Ok(v)` → `v`; `Err(e)` → `errno = e`, `-1`.
pub fn or_errno(r: Result<c_int, c_int>) -> c_int {
    r.unwrap_or_else(|e| {
        set_errno(e);
        -1
    })
}

/// Calls the real `$real` with the hook's arguments, or reports `ENOSYS` and returns `$fail`
/// when the C library lacks it.
#[doc(hidden)]
#[macro_export]
macro_rules! forward {
    ($real:ident($($arg:expr),*) or $fail:expr) => {
        match typed::$real() {
            // SAFETY: forwarding the caller's arguments unchanged.
            Some(f) => unsafe { f($($arg),*) },
            None => $crate::hooks::missing($fail),
        }
    };
}

/// `Ok(n)` → `n`; `Err(e)` → `errno = e`, `-1`: the return of a `read`.
pub fn len_or_errno(r: Result<usize, c_int>) -> ssize_t {
    match r {
        Ok(n) => n as ssize_t,
        Err(e) => {
            set_errno(e);
            -1
        }
    }
}

/// The eight `open`/`openat` family hooks. `$ours` is an
/// `unsafe fn(*const c_char, c_int) -> Option<c_int>`: `Some(fd or -1 with errno set)` when it
/// handled the path (it must accept null), `None` to open the path for real.
#[macro_export]
macro_rules! open_hooks {
    ($ours:path) => {
        $crate::open_hooks!(@open $ours, open, OPEN);
        $crate::open_hooks!(@open $ours, open64, OPEN64);
        $crate::open_hooks!(@open $ours, __open_2, OPEN_2);
        $crate::open_hooks!(@open $ours, __open64_2, OPEN64_2);
        $crate::open_hooks!(@openat $ours, openat, OPENAT);
        $crate::open_hooks!(@openat $ours, openat64, OPENAT64);
        $crate::open_hooks!(@openat $ours, __openat_2, OPENAT_2);
        $crate::open_hooks!(@openat $ours, __openat64_2, OPENAT64_2);
    };
    // Both families: our path is answered by `$ours`, any other is opened for real.
    (@body $ours:path, $path:ident, $flags:ident, $real:ident($($arg:ident),*)) => {
        $crate::hooks::guard(-1, || {
            // SAFETY: `path` comes from the caller of open, which requires a C string.
            if let Some(fd) = unsafe { $ours($path, $flags) } {
                return fd;
            }
            $crate::forward!($real($($arg),*) or -1)
        })
    };
    (@open $ours:path, $name:ident, $real:ident) => {
        /// Interposed `open` family member: our path is answered, any other is opened for real.
        ///
        /// # Safety
        /// Same contract as the libc function of this name.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(
            path: *const ::std::ffi::c_char,
            flags: ::std::ffi::c_int,
            mode: ::libc::mode_t,
        ) -> ::std::ffi::c_int {
            $crate::open_hooks!(@body $ours, path, flags, $real(path, flags, mode))
        }
    };
    (@openat $ours:path, $name:ident, $real:ident) => {
        /// Interposed `openat` family member: an absolute path of ours is ours whatever `dirfd`.
        ///
        /// # Safety
        /// Same contract as the libc function of this name.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(
            dirfd: ::std::ffi::c_int,
            path: *const ::std::ffi::c_char,
            flags: ::std::ffi::c_int,
            mode: ::libc::mode_t,
        ) -> ::std::ffi::c_int {
            $crate::open_hooks!(@body $ours, path, flags, $real(dirfd, path, flags, mode))
        }
    };
}

/// `fopen` and `fopen64` (glibc's `fopen` does not go through the hooked `open`). `$ours` is an
/// `unsafe fn(*const c_char, *const c_char) -> Option<*mut FILE>`: `Some` (null with errno set
/// on failure) when it handled the path, `None` to open it for real.
#[macro_export]
macro_rules! fopen_hooks {
    ($ours:path) => {
        $crate::fopen_hooks!(@one $ours, fopen, FOPEN);
        $crate::fopen_hooks!(@one $ours, fopen64, FOPEN64);
    };
    (@one $ours:path, $name:ident, $real:ident) => {
        /// Interposed `fopen` family member.
        ///
        /// # Safety
        /// Same contract as the libc function of this name.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(
            path: *const ::std::ffi::c_char,
            mode: *const ::std::ffi::c_char,
        ) -> *mut ::libc::FILE {
            $crate::hooks::guard(::std::ptr::null_mut(), || {
                // SAFETY: `path` and `mode` come from the caller of fopen.
                if let Some(file) = unsafe { $ours(path, mode) } {
                    return file;
                }
                $crate::forward!($real(path, mode) or ::std::ptr::null_mut())
            })
        }
    };
}

/// `close`: `$forget(fd)` drops the crate's state for the fd, then the fd is closed for real.
#[macro_export]
macro_rules! close_hook {
    ($forget:path) => {
        /// Interposed `close`: forget the fd, then close it for real.
        ///
        /// # Safety
        /// Same contract as `close`.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn close(fd: ::std::ffi::c_int) -> ::std::ffi::c_int {
            $crate::hooks::guard(-1, || {
                $forget(fd);
                $crate::forward!(CLOSE(fd) or -1)
            })
        }
    };
}

/// `ioctl`: `$ours` is an `unsafe fn(c_int, c_ulong, *mut c_void) -> Option<c_int>`: `Some`
/// (-1 with errno set on failure) when the fd and request are ours, `None` for the real ioctl
/// (other fds, and requests such as `FIONBIO` that act on the socket itself).
#[macro_export]
macro_rules! ioctl_hook {
    ($ours:path) => {
        /// Interposed `ioctl`: our requests on our fds are answered, the rest are real.
        ///
        /// # Safety
        /// Same contract as `ioctl`: `arg` must point to a buffer as large as the request implies.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn ioctl(
            fd: ::std::ffi::c_int,
            request: ::std::ffi::c_ulong,
            arg: *mut ::std::ffi::c_void,
        ) -> ::std::ffi::c_int {
            $crate::hooks::guard(-1, || {
                // SAFETY: the caller's arguments, under ioctl's contract.
                if let Some(r) = unsafe { $ours(fd, request, arg) } {
                    return r;
                }
                $crate::forward!(IOCTL(fd, request, arg) or -1)
            })
        }
    };
}

/// `read` and `__read_chk`: `$ours` is an `unsafe fn(c_int, *mut c_void, size_t) ->
/// Option<Result<usize, c_int>>` that reads from its fds (`Some`: bytes or errno) and returns
/// `None` for the others, which are read for real.
#[macro_export]
macro_rules! read_hooks {
    ($ours:path) => {
        /// Interposed `read`.
        ///
        /// # Safety
        /// Same contract as `read`.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn read(
            fd: ::std::ffi::c_int,
            buf: *mut ::std::ffi::c_void,
            count: ::libc::size_t,
        ) -> ::libc::ssize_t {
            $crate::hooks::guard(-1, || {
                // SAFETY: `buf`/`count` come straight from the caller of read.
                match unsafe { $ours(fd, buf, count) } {
                    Some(r) => $crate::hooks::len_or_errno(r),
                    None => $crate::forward!(READ(fd, buf, count) or -1),
                }
            })
        }

        /// Interposed `__read_chk` (what `read` becomes under `_FORTIFY_SOURCE`).
        ///
        /// # Safety
        /// Same contract as `__read_chk`.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn __read_chk(
            fd: ::std::ffi::c_int,
            buf: *mut ::std::ffi::c_void,
            count: ::libc::size_t,
            buflen: ::libc::size_t,
        ) -> ::libc::ssize_t {
            $crate::hooks::guard(-1, || {
                // Over `buflen`: let glibc report the overflow exactly as it would have.
                if count <= buflen {
                    // SAFETY: `buf`/`count` come straight from the caller, within `buflen`.
                    if let Some(r) = unsafe { $ours(fd, buf, count) } {
                        return $crate::hooks::len_or_errno(r);
                    }
                }
                $crate::forward!(READ_CHK(fd, buf, count, buflen) or -1)
            })
        }
    };
}
