//! What the LD_PRELOAD interposers share (the joystick one in `js-interposer/`, the webcam one in
//! `v4l2-interposer/`): lazy `dlsym(RTLD_NEXT)` resolution of the functions they wrap, the
//! hook prologues that decide "ours or real" and forward (`hooks`), and an opt-in log that
//! writes with raw syscalls so it never re-enters a hooked function. No allocation or locking
//! beyond a `OnceLock`, nothing that can unwind into C.

pub mod hooks;

use std::ffi::{CStr, CString, c_int, c_void};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicPtr, Ordering};

/// One lazily resolved symbol. Lazy (first call) rather than in a constructor, because another
/// preloaded library's constructor may call a hooked function before ours runs.
pub struct Real {
    name: &'static CStr,
    ptr: AtomicPtr<c_void>,
}

impl Real {
    pub const fn new(name: &'static CStr) -> Self {
        Self {
            name,
            ptr: AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    /// The next definition of the symbol after this library, or `None` if there is none.
    pub fn get(&self) -> Option<*mut c_void> {
        let p = self.ptr.load(Ordering::Acquire);
        if !p.is_null() {
            return Some(p);
        }
        // SAFETY: dlsym with a valid NUL-terminated name; RTLD_NEXT is always a valid handle.
        let p = unsafe { libc::dlsym(libc::RTLD_NEXT, self.name.as_ptr()) };
        if p.is_null() {
            return None;
        }
        self.ptr.store(p, Ordering::Release);
        Some(p)
    }
}

/// Declares one [`Real`] static per wrapped function and a `typed` module with an accessor per
/// function that returns it as its C signature (`None` when the C library lacks it).
///
/// Starting the list with `fd_hooks;` adds the functions the shared hooks of [`hooks`] forward
/// to (the `open`, `openat` and `fopen` families, `close`, `ioctl`, `read`, `__read_chk`).
#[macro_export]
macro_rules! reals {
    (fd_hooks; $($rest:tt)*) => {
        $crate::reals! {
            OPEN: c"open" => $crate::hooks::OpenFn;
            OPEN64: c"open64" => $crate::hooks::OpenFn;
            OPEN_2: c"__open_2" => $crate::hooks::OpenFn;
            OPEN64_2: c"__open64_2" => $crate::hooks::OpenFn;
            OPENAT: c"openat" => $crate::hooks::OpenatFn;
            OPENAT64: c"openat64" => $crate::hooks::OpenatFn;
            OPENAT_2: c"__openat_2" => $crate::hooks::OpenatFn;
            OPENAT64_2: c"__openat64_2" => $crate::hooks::OpenatFn;
            FOPEN: c"fopen" => $crate::hooks::FopenFn;
            FOPEN64: c"fopen64" => $crate::hooks::FopenFn;
            CLOSE: c"close" => $crate::hooks::CloseFn;
            IOCTL: c"ioctl" => $crate::hooks::IoctlFn;
            READ: c"read" => $crate::hooks::ReadFn;
            READ_CHK: c"__read_chk" => $crate::hooks::ReadChkFn;
            $($rest)*
        }
    };
    ($($id:ident : $name:literal => $ty:ty;)*) => {
        $(pub static $id: $crate::Real = $crate::Real::new($name);)*
        /// Typed accessors: each returns the real function or `None`.
        pub mod typed {
            use super::*;
            $(
                #[allow(non_snake_case, dead_code)]
                pub fn $id() -> Option<$ty> {
                    // SAFETY: the symbol named here has exactly this C signature in glibc.
                    super::$id
                        .get()
                        .map(|p| unsafe { std::mem::transmute::<*mut ::std::ffi::c_void, $ty>(p) })
                }
            )*
        }
    };
}

/// The opt-in diagnostics of one interposer: silent unless the environment variable `env` is
/// set (`1`/`stderr` for stderr, anything else is a file path to append to).
pub struct Logger {
    env: &'static str,
    prefix: &'static str,
    sink: OnceLock<Option<c_int>>,
}

impl Logger {
    pub const fn new(env: &'static str, prefix: &'static str) -> Self {
        Self {
            env,
            prefix,
            sink: OnceLock::new(),
        }
    }

    fn sink(&self) -> Option<c_int> {
        *self.sink.get_or_init(|| {
            let target = std::env::var_os(self.env)?;
            if target.is_empty() {
                return None;
            }
            if target == "1" || target == "stderr" {
                return Some(2);
            }
            let path =
                CString::new(std::os::unix::ffi::OsStrExt::as_bytes(target.as_os_str())).ok()?;
            let flags = libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT | libc::O_CLOEXEC;
            // SAFETY: raw openat with a valid NUL-terminated path.
            let fd = unsafe {
                libc::syscall(
                    libc::SYS_openat,
                    libc::AT_FDCWD,
                    path.as_ptr(),
                    flags,
                    0o644,
                )
            };
            (fd >= 0).then_some(fd as c_int)
        })
    }

    /// Whether logging is on (lets callers skip formatting).
    pub fn enabled(&self) -> bool {
        self.sink().is_some()
    }

    /// Writes one line, best effort.
    pub fn write_line(&self, msg: std::fmt::Arguments<'_>) {
        let Some(fd) = self.sink() else { return };
        // SAFETY: getpid has no preconditions.
        let line = format!("{}[{}]: {msg}\n", self.prefix, unsafe { libc::getpid() });
        // SAFETY: writing an owned buffer of the stated length.
        unsafe { libc::syscall(libc::SYS_write, fd, line.as_ptr(), line.len()) };
    }
}
