//! The real libc functions behind each hook, resolved once with `dlsym(RTLD_NEXT)` and cached.
//!
//! Resolution is lazy (first call) rather than in a constructor because another preloaded
//! library's constructor may call `open` before ours runs.

use std::ffi::{c_char, c_int, c_ulong, c_void};

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

selkies_interposer_rt::reals! {
    OPEN: c"open" => OpenFn;
    OPEN64: c"open64" => OpenFn;
    OPEN_2: c"__open_2" => OpenFn;
    OPEN64_2: c"__open64_2" => OpenFn;
    OPENAT: c"openat" => OpenatFn;
    OPENAT64: c"openat64" => OpenatFn;
    OPENAT_2: c"__openat_2" => OpenatFn;
    OPENAT64_2: c"__openat64_2" => OpenatFn;
    FOPEN: c"fopen" => FopenFn;
    FOPEN64: c"fopen64" => FopenFn;
    CLOSE: c"close" => CloseFn;
    IOCTL: c"ioctl" => IoctlFn;
    READ: c"read" => ReadFn;
    READ_CHK: c"__read_chk" => ReadChkFn;
}
