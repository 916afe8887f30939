//! The exported `extern "C"` hooks of the joystick interposer: the shared prologues of
//! `selkies_interposer_rt::hooks` (guard against unwinding, forward what is not ours) around
//! this crate's answers for `/dev/input/js*` and `/dev/input/event100*` paths and their fds.

use std::ffi::{CStr, c_char, c_int, c_ulong, c_void};

use libc::{FILE, size_t};
use selkies_interposer_rt::hooks::set_errno;
use selkies_js_wire::ioctl::{decode_ev, decode_js};
use selkies_js_wire::{DeviceKind, DeviceRef};

use crate::answer::{Answer, answer_ev, answer_js};
use crate::device;
use crate::log::log;
use crate::real::typed;

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

/// # Safety
/// `path` must be null or a valid C string.
unsafe fn open_ours(path: *const c_char, flags: c_int) -> Option<c_int> {
    // SAFETY: guaranteed by the caller.
    unsafe { device_of(path) }.map(|dref| open_or_errno(dref, flags))
}

selkies_interposer_rt::open_hooks!(open_ours);

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

/// # Safety
/// `path` and `mode` must be null or valid C strings.
unsafe fn fopen_ours(path: *const c_char, mode: *const c_char) -> Option<*mut FILE> {
    // SAFETY: guaranteed by the caller.
    let dref = unsafe { device_of(path) }?;
    // SAFETY: as above.
    let fd = open_or_errno(dref, unsafe { fopen_flags(mode) });
    if fd < 0 {
        return Some(std::ptr::null_mut());
    }
    // SAFETY: wrapping a valid fd with the caller's mode string.
    let file = unsafe { libc::fdopen(fd, mode) };
    if file.is_null() {
        device::forget(fd);
        // SAFETY: the fd is ours and unused by anyone else yet.
        unsafe { libc::syscall(libc::SYS_close, fd) };
    }
    Some(file)
}

selkies_interposer_rt::fopen_hooks!(fopen_ours);
selkies_interposer_rt::close_hook!(device::forget);

/// Joystick requests on js fds and evdev requests on event fds are answered from the config
/// record; everything else (`FIONBIO`, `FIONREAD`, other fds) is real.
///
/// # Safety
/// Same contract as `ioctl`: `arg` must point to a buffer as large as the request implies.
unsafe fn ioctl_ours(fd: c_int, request: c_ulong, arg: *mut c_void) -> Option<c_int> {
    let dev = device::lookup(fd)?;
    // The kernel only looks at the low 32 bits of the request.
    let req = request as u32;
    let ty = selkies_js_wire::ioctl::ioc_type(req);
    if ty != b'j' && ty != b'E' {
        return None;
    }
    let answer = match (dev.dref.kind, ty) {
        (DeviceKind::Js, b'j') => decode_js(req).map(|r| answer_js(&dev.config, r)),
        (DeviceKind::Event, b'E') => decode_ev(req).map(|r| answer_ev(&dev.config, r, dev.word)),
        _ => None,
    };
    log!("ioctl fd {fd} req {req:#010x} → {answer:?}");
    Some(match answer.unwrap_or(Answer::Errno(libc::EINVAL)) {
        Answer::Ret(r) => r,
        Answer::Errno(e) => {
            set_errno(e);
            -1
        }
        Answer::Data { data, ret } => {
            if arg.is_null() {
                set_errno(libc::EFAULT);
                return Some(-1);
            }
            // SAFETY: the request encodes the buffer size and `data` never exceeds it
            // (or, for JSIOCGCORR, the kernel's own per-axis size).
            unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), arg.cast::<u8>(), data.len()) };
            ret
        }
    })
}

selkies_interposer_rt::ioctl_hook!(ioctl_ours);

/// Whole records only on interposed fds.
///
/// # Safety
/// Same contract as `read`.
unsafe fn read_ours(fd: c_int, buf: *mut c_void, count: size_t) -> Option<Result<usize, c_int>> {
    let dev = device::lookup(fd)?;
    // SAFETY: `buf`/`count` come straight from the caller of read, which guarantees them.
    Some(unsafe { device::read_records(&dev, fd, buf, count) })
}

selkies_interposer_rt::read_hooks!(read_ours);
