//! Opt-in diagnostics: silent unless `SELKIES_WEBCAM_LOG` is set (`1`/`stderr` for stderr,
//! anything else is a file path opened for append). Writes go through raw syscalls so logging
//! never re-enters the hooked `open`/`close`.

use std::ffi::{CString, c_int};
use std::sync::OnceLock;

use selkies_v4l2_wire::LOG_ENV;

static SINK: OnceLock<Option<c_int>> = OnceLock::new();

fn sink() -> Option<c_int> {
    *SINK.get_or_init(|| {
        let target = std::env::var_os(LOG_ENV)?;
        if target.is_empty() {
            return None;
        }
        if target == "1" || target == "stderr" {
            return Some(2);
        }
        let path = CString::new(std::os::unix::ffi::OsStrExt::as_bytes(target.as_os_str())).ok()?;
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
pub fn enabled() -> bool {
    sink().is_some()
}

/// Writes one line, best effort.
pub fn write_line(msg: std::fmt::Arguments<'_>) {
    let Some(fd) = sink() else { return };
    // SAFETY: getpid has no preconditions.
    let line = format!("selkies-v4l2-interposer[{}]: {msg}\n", unsafe {
        libc::getpid()
    });
    // SAFETY: writing an owned buffer of the stated length.
    unsafe { libc::syscall(libc::SYS_write, fd, line.as_ptr(), line.len()) };
}

/// Logs a formatted line when `SELKIES_WEBCAM_LOG` is set.
macro_rules! log {
    ($($arg:tt)*) => {
        if $crate::log::enabled() {
            $crate::log::write_line(format_args!($($arg)*));
        }
    };
}
pub(crate) use log;
