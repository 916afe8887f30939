//! The real libc functions behind each hook, resolved once with `dlsym(RTLD_NEXT)` and cached.
//! Lazy (first call) rather than in a constructor, because another preloaded library's
//! constructor may call `open` before ours runs. A symbol the C library lacks (`stat` before
//! glibc 2.33, `__xstat` in musl-like libcs) is `None` and its hook reports `ENOSYS`.

use std::ffi::{c_char, c_int, c_void};

use libc::{off_t, size_t};

/// `dup`.
pub type DupFn = unsafe extern "C" fn(c_int) -> c_int;
/// `dup2`.
pub type Dup2Fn = unsafe extern "C" fn(c_int, c_int) -> c_int;
/// `dup3`.
pub type Dup3Fn = unsafe extern "C" fn(c_int, c_int, c_int) -> c_int;
/// `mmap`/`mmap64`.
pub type MmapFn =
    unsafe extern "C" fn(*mut c_void, size_t, c_int, c_int, c_int, off_t) -> *mut c_void;
/// `stat`/`lstat`-style.
pub type StatFn = unsafe extern "C" fn(*const c_char, *mut libc::stat) -> c_int;
/// `stat64`/`lstat64`-style.
pub type Stat64Fn = unsafe extern "C" fn(*const c_char, *mut libc::stat64) -> c_int;
/// `__xstat`-style (glibc before 2.33 routes `stat` through these).
pub type XstatFn = unsafe extern "C" fn(c_int, *const c_char, *mut libc::stat) -> c_int;
/// `__xstat64`-style.
pub type Xstat64Fn = unsafe extern "C" fn(c_int, *const c_char, *mut libc::stat64) -> c_int;

selkies_interposer_rt::reals! {
    fd_hooks;
    DUP: c"dup" => DupFn;
    DUP2: c"dup2" => Dup2Fn;
    DUP3: c"dup3" => Dup3Fn;
    // A function and its twin of the same signature share a row.
    MMAP: c"mmap" => MmapFn;            MMAP64: c"mmap64" => MmapFn;
    STAT: c"stat" => StatFn;            LSTAT: c"lstat" => StatFn;
    STAT64: c"stat64" => Stat64Fn;      LSTAT64: c"lstat64" => Stat64Fn;
    XSTAT: c"__xstat" => XstatFn;       LXSTAT: c"__lxstat" => XstatFn;
    XSTAT64: c"__xstat64" => Xstat64Fn; LXSTAT64: c"__lxstat64" => Xstat64Fn;
}
