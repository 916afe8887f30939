//! Helpers of the preload test program: thin libc wrappers that return errno, scripted socket
//! peers, and the pass/fail tally.

use std::ffi::{CString, c_int, c_ulong, c_void};
use std::io::Write;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use selkies_js_wire::JsEvent;
use selkies_js_wire::event::JS_EVENT_BUTTON;

use super::DIR_ENV;

pub fn dir() -> PathBuf {
    PathBuf::from(std::env::var_os(DIR_ENV).expect("socket dir"))
}

pub fn errno() -> c_int {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

pub fn cpath(s: &str) -> CString {
    CString::new(s).expect("path")
}

pub fn open(path: &str, flags: c_int) -> Result<c_int, c_int> {
    let p = cpath(path);
    // SAFETY: valid C string.
    let fd = unsafe { libc::open(p.as_ptr(), flags) };
    if fd < 0 { Err(errno()) } else { Ok(fd) }
}

pub fn ioctl_buf(fd: c_int, req: u32, buf: &mut [u8]) -> Result<c_int, c_int> {
    // SAFETY: every request used here writes at most `buf.len()` bytes (checked by the callers'
    // buffer sizes, which match the encoded request sizes or exceed them).
    let r = unsafe { libc::ioctl(fd, req as c_ulong, buf.as_mut_ptr()) };
    if r < 0 { Err(errno()) } else { Ok(r) }
}

pub fn read(fd: c_int, buf: &mut [u8]) -> Result<usize, c_int> {
    // SAFETY: reading into an owned buffer of the stated length.
    let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast::<c_void>(), buf.len()) };
    if n < 0 { Err(errno()) } else { Ok(n as usize) }
}

pub fn close(fd: c_int) {
    // SAFETY: closing an fd this test opened.
    unsafe { libc::close(fd) };
}

/// Serves one connection on `name` with `script`, after (re)binding the socket.
pub fn serve(name: &str, script: impl FnOnce(UnixStream) + Send + 'static) -> JoinHandle<()> {
    let path = dir().join(name);
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path).expect("bind");
    thread::spawn(move || {
        if let Ok((stream, _)) = listener.accept() {
            script(stream);
        }
    })
}

/// Writes `bytes` in two pieces with a pause, to force a short read on the other side.
pub fn write_split(s: &mut UnixStream, bytes: &[u8], at: usize) {
    s.write_all(&bytes[..at]).expect("write");
    s.flush().expect("flush");
    thread::sleep(Duration::from_millis(30));
    s.write_all(&bytes[at..]).expect("write");
}

pub fn js_event(number: u8, value: i16) -> [u8; 8] {
    JsEvent {
        time: 1,
        value,
        kind: JS_EVENT_BUTTON,
        number,
    }
    .encode()
}

pub struct Suite {
    pub failures: usize,
}

impl Suite {
    pub fn check(&mut self, what: &str, ok: bool) {
        println!("{} {what}", if ok { "ok  " } else { "FAIL" });
        if !ok {
            self.failures += 1;
        }
    }

    pub fn eq<T: PartialEq + std::fmt::Debug>(&mut self, what: &str, got: T, want: T) {
        let ok = got == want;
        if !ok {
            println!("     got {got:?}, want {want:?}");
        }
        self.check(what, ok);
    }
}
